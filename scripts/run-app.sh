#!/usr/bin/env bash
# Installs drumgen (first run only) and starts the drum machine on the default checkpoints:
# open http://127.0.0.1:8000. Extra arguments go to `drumgen serve` (e.g. --port 8001).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/drumgen serve "$@"
