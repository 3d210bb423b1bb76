"""Runs one package's driver scenarios under the d2h probe and writes the package's truth file.

Each driver (benches/truth/drivers/<pkg>.py) ends with ``harness.main(PACKAGE, [scenario, ...])``;
a scenario is a function ``scenario(ctx)`` that builds what it needs (setup phase), runs
``ctx.frames`` iterations of its work loop each inside ``d2h_probe.frame()``, its end-of-loop work
(metrics' compute, evaluation) inside ``d2h_probe.phase("epoch")`` and its clean-up inside
``d2h_probe.phase("teardown")``. The package is imported only once the probe runs, so its
import-time lines count as executed.

    python3 benches/truth/drivers/timm.py --frames 20 --output benches/truth/data/timm.json
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import time
import traceback
import warnings
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
# A driver is named after its package (drivers/timm.py): its folder must not shadow the package.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.join(HERE, "drivers")]
sys.path.insert(0, os.path.join(HERE, "..", "..", "probes", "python"))
import d2h_probe  # noqa: E402


def main(package: str, scenarios, argv=None) -> int:
    parser = argparse.ArgumentParser(description=f"runtime truth of {package}")
    parser.add_argument("--frames", type=int, default=20, help="iterations of each scenario's work loop")
    parser.add_argument("--epochs", type=int, default=2, help="end-of-loop blocks, where a scenario has them")
    parser.add_argument("--output", "-o", required=True, help="the truth file to write (JSON)")
    parser.add_argument("--device", default=None, help="default: cuda when available, else cpu (coverage only)")
    parser.add_argument("--only", action="append", default=[], help="run only this scenario (repeatable)")
    parser.add_argument("--no-ops", action="store_true", help="no dispatch mode: direction from the source line")
    options = parser.parse_args(argv)

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        parser.error(f"package {package!r} is not installed (benches/truth/fetch.sh, then pip install the wheels)")
    package_dir = list(spec.submodule_search_locations)[0]

    import torch

    device = options.device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    noise = []
    warnings.showwarning = lambda message, *rest, **kw: noise.append(str(message)[:200])  # library warnings: counted, not printed
    truth = d2h_probe.Truth(package_dir, watch_ops=not options.no_ops)
    failed, timings = {}, {}
    with d2h_probe.Probe(None, truth):
        for run in scenarios:
            name = run.__name__
            if options.only and name not in options.only:
                continue
            ctx = SimpleNamespace(device=torch.device(device), frames=options.frames, epochs=options.epochs)
            start = time.perf_counter()
            with d2h_probe.scenario(name):
                try:
                    run(ctx)
                except Exception:  # one broken scenario must not cost the others their run
                    failed[name] = traceback.format_exc(limit=-8)
                    print(f"{package}: scenario {name} failed:\n{failed[name]}", file=sys.stderr)
            timings[name] = round(time.perf_counter() - start, 2)
            print(f"{package}: {name} done in {timings[name]} s", file=sys.stderr)

    meta = {
        "package": package,
        "version": importlib.metadata.version(package),
        "device": device,
        "gpu": torch.cuda.get_device_name() if device.startswith("cuda") else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python3", os.path.relpath(sys.argv[0])] + (argv if argv is not None else sys.argv[1:])),
        "frames": options.frames,
        "direction_from": "source line" if options.no_ops else "aten op in progress (else source line)",
        "failed_scenarios": failed,
        "seconds": timings,
        "library_warnings": len(noise),
    }
    report = truth.report(**meta)
    os.makedirs(os.path.dirname(os.path.abspath(options.output)), exist_ok=True)
    with open(options.output, "w", encoding="utf-8") as out:
        json.dump(report, out, indent=1)
        out.write("\n")
    innermost = sum(1 for line in report["lines"] if line["kind"] == "innermost")
    print(
        f"{package} {meta['version']}: {len(report['scenarios'])} scenarios, {report['events']['total']} sync events "
        f"({report['events']['outside']} outside the package), {innermost} innermost syncing lines, "
        f"{sum(len(d2h_probe.parse_ranges(r)) for r in report['executed'].values())} executed lines in "
        f"{len(report['executed'])} files; failed: {sorted(failed) or 'none'} -> {options.output}",
        file=sys.stderr,
    )
    return 1 if failed else 0
