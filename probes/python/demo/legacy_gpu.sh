#!/bin/sh
# The GPU run behind docs/probe-legacy-gpu.md: examples/legacy-pipeline under the d2h probe.
# Run from the repository root on a machine with a CUDA GPU and torch; writes into $OUT
# (default gpu-probe/out). Then, where the d2h binary is:
#   d2h audit examples/legacy-pipeline --format json -o static.json --max-critical 100000
#   d2h compare static.json $OUT/runtime.json --format markdown
set -u
OUT=${OUT:-gpu-probe/out}
FRAMES=${FRAMES:-100}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PROBE="python3 probes/python/d2h_probe.py --root examples/legacy-pipeline"
DRIVER=probes/python/demo/run_legacy.py

{ date -u +%FT%TZ; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c 'import sys, torch, numpy, scipy; print(sys.version.split()[0], torch.__version__, torch.version.cuda, torch.cuda.get_device_name(), numpy.__version__, scipy.__version__)'
} 2>&1 | tee "$OUT/machine.txt"

# 1. the frame loop alone (the comparison in the doc); 2. the same plus the offline/status API
# after the loop; 3. the frame loop without the probe (the probe's overhead).
timeout 240 $PROBE --output "$OUT/runtime.json" $DRIVER --frames "$FRAMES" \
  --log-file "$OUT/pipeline.log" --summary "$OUT/summary.json" || echo "run 1 FAILED"
timeout 240 $PROBE --output "$OUT/runtime-offline.json" $DRIVER --frames "$FRAMES" --offline \
  --log-file "$OUT/pipeline.log" --summary "$OUT/summary-offline.json" || echo "run 2 FAILED"
timeout 240 python3 $DRIVER --frames "$FRAMES" --log-file "$OUT/pipeline.log" \
  --summary "$OUT/summary-noprobe.json" || echo "run 3 FAILED"

python3 - "$OUT/runtime.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print(f"{'site':<22} {'rule':<7} {'phase':<6} {'sev':<8} {'count':>6} {'/frame':>6}  code")
for f in report["findings"]:
    site = f"{f['file']}:{f['line']}"
    print(f"{site:<22} {f['rule']:<7} {f['phase']:<6} {f['severity']:<8} {f['count']:>6} {f['per_frame']:>6.2f}  {f['code'][:60]}")
print("summary:", report["summary"])
PY
