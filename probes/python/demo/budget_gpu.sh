#!/usr/bin/env bash
# The GPU run behind docs/pytest-plugin.md: the d2h wheel installed on a CUDA machine, the
# plugin's test suite (probes/python/tests: the CPU stand-in tests and the real-device test),
# then the worked example (demo/budget) with `--d2h-report`, audited and compared.
#
#   probes/python/demo/budget_gpu.sh DIR   # DIR holds d2h-*.whl (and pytest wheels, used only
#                                          # where pytest is missing); results in $OUT
# Run from the folder that holds probes/ (a checkout, or a copy of the files it needs).
set -u
wheels=$(cd "${1:?usage: budget_gpu.sh WHEEL_DIR}" && pwd)
here=$(pwd)
OUT=${OUT:-$here/gpu-out/budget}
work=$(mktemp -d)
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
site="$work/site"
python3 -m pip install -q --no-index --no-deps --no-compile --target "$site" "$wheels"/d2h-*.whl
if ! python3 -c "import pytest" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target "$site" \
    "$wheels"/pytest-*.whl "$wheels"/pluggy-*.whl "$wheels"/iniconfig-*.whl "$wheels"/packaging-*.whl
fi
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" PATH="$site/bin:$PATH"

{ date -u +%FT%TZ
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c 'import sys, torch, pytest; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "pytest", pytest.__version__)'
  d2h --version; python3 -m d2h --version
  python3 -c 'import d2h; print("import d2h:", d2h.__file__, d2h.__version__)'
} 2>&1 | tee "$work/machine.txt"

echo "== 1. the plugin's test suite"
start=$SECONDS
python3 -m pytest "$here/probes/python/tests" -v -rs -p no:cacheprovider 2>&1 | tee "$work/suite.txt"
suite=${PIPESTATUS[0]}
suite_s=$((SECONDS - start))

echo "== 2. the worked example (one test must fail: it syncs inside syncs=0)"
start=$SECONDS
(cd "$here/probes/python/demo/budget" && python3 -m pytest -v -rs -p no:cacheprovider --d2h-report "$work/runtime.json") 2>&1 | tee "$work/example.txt"
example=${PIPESTATUS[0]}
example_s=$((SECONDS - start))

echo "== 3. the session report joined with the static audit"
(cd "$here/probes/python/demo/budget" && d2h audit . --format json --output "$work/static.json" --quiet; \
  d2h compare "$work/static.json" "$work/runtime.json") 2>&1 | tee "$work/compare.txt"

tar -C "$work" -czf "$OUT/budget-gpu.tar.gz" machine.txt suite.txt example.txt compare.txt runtime.json static.json
echo
echo "| run | exit | seconds | result |"
echo "|---|---|---|---|"
outcome() { grep -E '^=+ .*(passed|failed|skipped)' "$1" | tail -n 1 | tr -d '=' | xargs; }
echo "| plugin test suite | $suite | $suite_s | $(outcome "$work/suite.txt") |"
echo "| worked example | $example | $example_s | $(outcome "$work/example.txt") |"
rm -rf "$work"
