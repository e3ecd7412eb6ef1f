#!/usr/bin/env bash
# pip install "$@" into the current Python. On a stock Debian 12 Python (PEP 668
# "externally managed") outside a virtualenv, pass --break-system-packages, as
# the README's one-line set-up for a fresh machine wants; inside a venv or a
# pyenv Python nothing extra is needed.
set -euo pipefail
extra=()
if python3 - <<'PY'
import os, sys, sysconfig
managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
in_venv = sys.prefix != sys.base_prefix
sys.exit(0 if managed and not in_venv else 1)
PY
then
  extra+=(--break-system-packages)
fi
exec python3 -m pip install -q --disable-pip-version-check "${extra[@]}" "$@"
