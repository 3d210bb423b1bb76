#!/usr/bin/env bash
# Runs every driver on the GPU machine and leaves the truth files and the log under $OUT.
# Called there, from the repository root, with .whl carried (see README.md):
#   bash benches/truth/gpu.sh [FRAMES] [PACKAGE...]
set -uo pipefail
: "${OUT:?OUT must name the folder the results go to}"
frames=${1:-20}
shift || true
packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(timm torchmetrics diffusers transformers)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c 'import sys, torch, numpy; print(sys.version.split()[0], torch.__version__, numpy.__version__, torch.cuda.get_device_name())'
status=0
for pkg in "${packages[@]}"; do
  start=$(date +%s)
  python3 benches/truth/drivers/"$pkg".py --frames "$frames" --epochs 2 --output "$OUT/$pkg.json" || status=1
  echo "== $pkg: $(($(date +%s) - start)) s (exit status so far: $status)"
done
exit $status
