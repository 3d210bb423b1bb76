#!/usr/bin/env bash
# Make a pip-installed CUDA 13 tree ($1 = .../nvidia/cu13) linkable:
#  - unversioned lib*.so symlinks (the PyPI wheels ship only lib*.so.N)
#  - lib/stubs/libcuda.so: a stub driver library (SONAME libcuda.so.1) that
#    defines every cu* entry point declared in the toolkit's cuda.h, because no
#    PyPI wheel ships the toolkit's stubs/libcuda.so.
set -euo pipefail
CU=${1:?usage: $0 /path/to/nvidia/cu13}
cd "$CU/lib"
for f in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libnvrtc.so.13 libcupti.so.13; do
  if [ -e "$f" ]; then ln -sfn "$f" "${f%%.so*}.so"; fi
done
# CUPTI ships in its own wheel (nvidia-cuda-cupti) with its libraries under lib/ as well
[ -e libcupti.so.13 ] || { echo "libcupti.so.13 missing in $CU/lib" >&2; exit 1; }
mkdir -p stubs
tmp=$(mktemp -d)
# names after macro mapping (cuMemAlloc -> cuMemAlloc_v2, ...) and the legacy names
for defs in "" "-D__CUDA_API_VERSION_INTERNAL"; do
  for h in cuda.h cudaProfiler.h; do
    if [ -f "$CU/include/$h" ]; then gcc -E -P $defs -I"$CU/include" -x c "$CU/include/$h" 2>/dev/null; fi
  done
done | tr '\n' ' ' | grep -oE '\bCUresult[[:space:]]+cu[A-Za-z0-9_]+[[:space:]]*\(' \
     | sed -E 's/^CUresult[[:space:]]+//; s/[[:space:]]*\($//' > "$tmp/names0"
# cudaProfiler.h (cuProfiler*) is not in the PyPI include dir
printf '%s\n' cuProfilerInitialize cuProfilerStart cuProfilerStop >> "$tmp/names0"
sort -u "$tmp/names0" > "$tmp/names"
awk '{print "int " $1 "(void) { return 999; }"}' "$tmp/names" > "$tmp/stub.c"
gcc -shared -fPIC -nostdlib -Wl,-soname,libcuda.so.1 -o stubs/libcuda.so "$tmp/stub.c"
echo "libcuda stub: $(wc -l < "$tmp/names") symbols -> $CU/lib/stubs/libcuda.so"
rm -rf "$tmp"
