#!/usr/bin/env bash
# Install everything the tests need (Debian packages and Python packages), then
# run the whole suite. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-system-deps.sh --test
./scripts/pip-install.sh -e '.[test]'
# -p no:cacheprovider keeps a read-only checkout clean; the timeout bounds every test.
python3 -m pytest -q -p no:cacheprovider "$@"
