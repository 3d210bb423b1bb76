#!/usr/bin/env bash
# Builds `d2h` with the `cuda` feature (release) and leaves a stripped binary ready to carry to a
# GPU machine in gpu-out/ (git-ignored). Runs scripts/cuda-toolkit.sh first if the toolkit is
# missing. The CUDA objects live in their own target directory (target-cuda/ unless
# CARGO_TARGET_DIR says otherwise) so the CPU build's is never invalidated.
#
#   scripts/build-cuda.sh                 # the d2h binary -> gpu-out/d2h
#   scripts/build-cuda.sh --tests         # also the GPU test and bench binaries -> gpu-out/tests/
#
# Every pipeline/src/**/*.cu is compiled with NVRTC first (scripts/check-kernels.py), as the
# pipeline compiles them on the GPU machine.
#
# A clean build takes about 13 minutes on 2 cores (candle-kernels' nvcc step is 10 of them);
# incremental ones take seconds to a minute. The binary needs libcuda.so.1 (the driver) and the
# CUDA 13 libraries at run time: it cannot start on a machine without them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/cuda-toolkit.sh"
eval "$("$root/scripts/cuda-toolkit.sh" --env)"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target-cuda}
out="$root/gpu-out"
mkdir -p "$out"

# The pipeline's own kernels compile with NVRTC on the GPU machine, at first use: check them here.
python3 "$root/scripts/check-kernels.py"
cargo build --locked --release --features cuda --bin d2h
strip -o "$out/d2h" "$CARGO_TARGET_DIR/release/d2h"
echo "built $out/d2h ($(du -h "$out/d2h" | cut -f1))" >&2

if [ "${1:-}" = "--tests" ]; then
  mkdir -p "$out/tests"
  # The pipeline's GPU tests and benches (their paths come from the JSON messages); the CPU tests
  # run in CI and are not rebuilt here (each test binary links candle with LTO: minutes apiece).
  cargo test --locked --release --features cuda -p d2h-pipeline --test gpu --bench lsa_gpu --bench graph_interleaved --no-run --message-format json \
    | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-message" and m["message"]["level"] == "error":
        print(m["message"]["rendered"], file=sys.stderr)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] != ["bin"]:
        print(m["target"]["name"], m["executable"])
' | while read -r name exe; do
      strip -o "$out/tests/$name" "$exe"
      echo "built $out/tests/$name" >&2
    done
fi
