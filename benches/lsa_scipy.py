#!/usr/bin/env python3
"""Checks the GPU assignment kernel's answers against scipy and times scipy on
the same batch (run on the GPU machine after the `lsa_gpu` bench).

    python3 benches/lsa_scipy.py OUT_DIR

OUT_DIR holds what `lsa_gpu OUT_DIR` wrote: bench.bin (the timed batch),
sample.bin (problems of varied shapes, ties and forbidden pairs) and
bench.json (the kernel's timings). For every problem the kernel's assignment
must use as many allowed pairs as scipy's and have the same total allowed cost
(forbidden pairs cost 1e6 and are reported unassigned by the kernel). Prints a
JSON line with the check counts, scipy's time for the batch (best of 3, one
linear_sum_assignment call per problem, as a user would) and the ratio.
"""

import json
import struct
import sys
import time

import numpy as np
from scipy.optimize import linear_sum_assignment

FORBIDDEN = 1.0e6


def problems(path):
    with open(path, "rb") as f:
        data = f.read()
    at = 0
    while at < len(data):
        rows, cols = struct.unpack_from("<II", data, at)
        at += 8
        costs = np.frombuffer(data, dtype="<f4", count=rows * cols, offset=at).reshape(rows, cols)
        at += 4 * rows * cols
        answer = np.frombuffer(data, dtype="<i8", count=rows, offset=at)
        at += 8 * rows
        yield costs, answer


def allowed(costs, rows, cols):
    keep = costs[rows, cols] < FORBIDDEN
    return int(keep.sum()), float(costs[rows, cols][keep].astype(np.float64).sum())


def check(costs, answer):
    r = np.nonzero(answer >= 0)[0]
    c = answer[r]
    assert len(set(c.tolist())) == len(c), "a column assigned twice"
    gpu_pairs, gpu_total = allowed(costs, r, c)
    assert gpu_pairs == len(r), "a forbidden pair reported as assigned"
    sr, sc = linear_sum_assignment(costs.astype(np.float64))
    scipy_pairs, scipy_total = allowed(costs, sr, sc)
    ok = gpu_pairs == scipy_pairs and abs(gpu_total - scipy_total) <= 1e-6 * max(1.0, abs(scipy_total))
    return ok, gpu_total, scipy_total


def main(out_dir):
    bench = json.load(open(f"{out_dir}/bench.json"))
    checked = failed = 0
    worst = None
    for name in ("bench.bin", "sample.bin"):
        for costs, answer in problems(f"{out_dir}/{name}"):
            ok, gpu_total, scipy_total = check(costs, answer)
            checked += 1
            if not ok:
                failed += 1
                worst = worst or {"file": name, "gpu": gpu_total, "scipy": scipy_total, "shape": costs.shape}
    batch = [costs.astype(np.float64) for costs, _ in problems(f"{out_dir}/bench.bin")]
    times = []
    for _ in range(3):
        start = time.perf_counter()
        for costs in batch:
            linear_sum_assignment(costs)
        times.append((time.perf_counter() - start) * 1e3)
    scipy_ms = min(times)
    result = {
        "checked": checked,
        "failed": failed,
        "first_failure": str(worst) if worst else None,
        "batch": len(batch),
        "shape": list(batch[0].shape),
        "scipy_ms_best_of_3": round(scipy_ms, 2),
        "gpu_ms_median": bench["gpu_ms_median"],
        "speedup": round(scipy_ms / bench["gpu_ms_median"], 1),
        "scipy": __import__("scipy").__version__,
    }
    print(json.dumps(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
