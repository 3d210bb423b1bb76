#!/usr/bin/env bash
# Installs the pinned CUDA 13.0 toolkit pieces that `cargo build --features cuda` needs, from PyPI,
# outside the repository (about 1.3 GB), and makes them linkable. Idempotent: a finished install is
# recognised by its stamp file and left alone.
#
#   scripts/cuda-toolkit.sh            # installs into ${D2H_CUDA_TOOLKIT:-~/.cache/d2h-cuda13}
#   eval "$(scripts/cuda-toolkit.sh --env)"   # prints the environment for the build
#
# Every package is pinned: nvcc 13.0.88 depends on nvvm/crt/runtime without pins, and pip would pull
# 13.5.x, whose PTX the CUDA 13.0 driver of the lent H100 cannot load.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TK=${D2H_CUDA_TOOLKIT:-${XDG_CACHE_HOME:-$HOME/.cache}/d2h-cuda13}
CU="$TK/nvidia/cu13"

env_lines() {
  echo "export CUDA_HOME='$CU'"
  echo "export PATH='$CU/bin':\"\$PATH\""
  # No nvidia-smi on the build machine: name the H100's compute capability (cudaforge turns 90 into sm_90a).
  echo "export CUDA_COMPUTE_CAP=\${CUDA_COMPUTE_CAP:-90}"
}

if [ "${1:-}" = "--env" ]; then
  [ -f "$TK/.d2h-complete" ] || { echo "toolkit not installed at $TK: run $0 first" >&2; exit 1; }
  env_lines
  exit 0
fi

if [ -f "$TK/.d2h-complete" ]; then
  echo "CUDA toolkit already installed at $TK" >&2
  exit 0
fi

python3 -m pip install --no-cache-dir --quiet --target "$TK" \
  nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
  nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 nvidia-cuda-nvrtc==13.0.88 \
  nvidia-cublas==13.1.0.3 nvidia-curand==10.4.0.35 nvidia-cuda-cupti==13.0.85
"$here/cuda-link-shims.sh" "$CU"
"$CU/bin/nvcc" --version | tail -1 >&2
touch "$TK/.d2h-complete"
echo "CUDA toolkit installed at $TK" >&2
