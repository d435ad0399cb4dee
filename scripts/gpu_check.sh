#!/usr/bin/env bash
# On a machine with a CUDA GPU: the device tests, then 2 minutes of training of each model kind on the GPU against
# the CPU, generation from the result on both (the same seed must give the same audio within 1e-4), and 8-hit kit
# times. Appends its table to benchmarks/RESULTS.md. Extra arguments go to benchmarks/device_check.py.
# Not yet run on a GPU by the project (no GPU machine was available when it was written): see README.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  # a CUDA build of torch: the project's CPU pin would give no GPU
  DRUMGEN_TORCH="${DRUMGEN_TORCH:-torch}" bash scripts/install.sh --test
fi
.venv/bin/python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else \
  'no CUDA GPU visible to torch ' + torch.__version__ + ': install a CUDA build (DRUMGEN_TORCH=torch)')"
.venv/bin/python -m pytest -q tests/test_devices.py tests/test_gan.py -k "device or ddp"
.venv/bin/python benchmarks/device_check.py --device cuda --seconds 120 "$@"
