#!/usr/bin/env bash
# Installs drumgen with its test tools (and Debian's chromium, when run as root) and runs the whole test suite,
# browser tests included. Extra arguments go to pytest (e.g. -k midi, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
exec .venv/bin/python -m pytest "$@"
