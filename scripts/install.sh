#!/usr/bin/env bash
# Install voicebridge and what it needs to run (Debian's espeak-ng, the Python package).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-system-deps.sh
./scripts/pip-install.sh .
