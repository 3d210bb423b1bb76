"""Which operations torch's sync debug mode reports, and how many times each.

The probe trusts `torch.cuda.set_sync_debug_mode("warn")` for most events and wraps what it
does not report. This script measures that split on the machine at hand: each operation runs
once under the mode, with the warnings counted (no probe involved). Needs a CUDA device.

    python3 probes/python/demo/sync_debug_coverage.py
"""

from __future__ import annotations

import sys
import warnings

import torch


def operations(dev):
    t = torch.arange(6, dtype=torch.float32, device=dev)
    empty = t[:0]
    mask = t > 2
    event = torch.cuda.Event()
    event.record()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    end.record()
    torch.cuda.synchronize()
    host = torch.ones(6)
    return [
        ("t[0].item()", lambda: t[0].item()),
        ("t.cpu()", lambda: t.cpu()),
        ("t.tolist()", lambda: t.tolist()),
        ("empty.cpu()  (0 elements)", lambda: empty.cpu()),
        ("empty.tolist()  (0 elements)", lambda: empty.tolist()),
        ("t.to('cpu', non_blocking=True)", lambda: t.to("cpu", non_blocking=True)),
        ("bool(t.any())  (`if t.any():`)", lambda: bool(t.any())),
        ("t[mask]  (boolean index)", lambda: t[mask]),
        ("t.nonzero()", lambda: t.nonzero()),
        ("torch.unique(t)", lambda: torch.unique(t)),
        ("torch.tensor([1., 2.], device=cuda)", lambda: torch.tensor([1.0, 2.0], device=dev)),
        ("host.to(cuda)  (pageable)", lambda: host.to(dev)),
        ("host.pin_memory().to(cuda, non_blocking=True)", lambda: host.pin_memory().to(dev, non_blocking=True)),
        ("t.new_tensor([1., 2.])", lambda: t.new_tensor([1.0, 2.0])),
        ("t[0] = 1.5  (Python scalar into a device tensor)", lambda: t.__setitem__(0, 1.5)),
        ("repr(t)  (formatting a CUDA tensor)", lambda: repr(t)),
        ("f'{t[0]:.2f}'  (formatting a 0-dim CUDA tensor)", lambda: f"{t[0]:.2f}"),
        ("torch.cuda.synchronize()", lambda: torch.cuda.synchronize()),
        ("event.synchronize()", lambda: event.synchronize()),
        ("torch.cuda.current_stream().synchronize()", lambda: torch.cuda.current_stream().synchronize()),
        ("torch.cuda.empty_cache()", lambda: torch.cuda.empty_cache()),
        ("torch.cuda.mem_get_info()", lambda: torch.cuda.mem_get_info(dev)),
        ("start.elapsed_time(end)", lambda: start.elapsed_time(end)),
        ("end.query()", lambda: end.query()),
    ]


def main():
    if not torch.cuda.is_available():
        print("sync_debug_coverage: needs a CUDA device", file=sys.stderr)
        return 2
    dev = torch.device("cuda")
    rows = []
    for name, op in operations(dev):
        torch.cuda.synchronize()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                op()
                error = ""
            except Exception as exc:  # noqa: BLE001 - report, go on
                error = f"{type(exc).__name__}: {exc}"
            finally:
                torch.cuda.set_sync_debug_mode("default")
        syncs = sum("synchroniz" in str(w.message) for w in caught)
        rows.append((name, syncs, error))
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name(dev)}")
    print(f"{'operation':<52} {'reported syncs':>14}")
    for name, syncs, error in rows:
        print(f"{name:<52} {syncs:>14}  {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
