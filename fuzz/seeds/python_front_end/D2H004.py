"""Rule fixture: explicit-sync.

Lines ending in a rule-id marker must be reported with that rule; every other line must not.
"""
import threading

import torch
import torch as th
import torch.distributed as dist
from torch.cuda import synchronize


def hard_sync(device=None):
    torch.cuda.synchronize(device)  # D2H004


def free_cached_blocks():
    torch.cuda.empty_cache()  # D2H004


class StreamWorker:
    def __init__(self, device: torch.device):
        self.device = device
        self.stream = torch.cuda.Stream(device=device)
        self.done = torch.cuda.Event()

    def _wait(self):
        self.stream.synchronize()  # D2H004

    def flush(self):
        self._wait()  # D2H004
        self.done.synchronize()  # D2H004

    def launch(self, x: torch.Tensor) -> torch.Tensor:
        with torch.cuda.stream(self.stream):
            y = x * 2
        self.done.record(self.stream)
        torch.cuda.current_stream().wait_stream(self.stream)
        return y


def direct_syncs(device: torch.device):
    torch.cuda.synchronize()  # D2H004
    torch.cuda.synchronize(device)  # D2H004
    th.cuda.synchronize()  # D2H004
    synchronize()  # D2H004
    torch.cuda.current_stream().synchronize()  # D2H004
    torch.cuda.default_stream(device).synchronize()  # D2H004
    torch.cuda.empty_cache()  # D2H004


def stream_and_event_objects():
    side = torch.cuda.Stream()
    side.synchronize()  # D2H004
    evt = torch.cuda.Event(enable_timing=True)
    evt.record()
    evt.synchronize()  # D2H004


def barriers():
    torch.distributed.barrier()  # D2H004
    dist.barrier()  # D2H004


def calls_to_project_helpers():
    hard_sync()  # D2H004
    free_cached_blocks()  # D2H004
    hard_sync(  # D2H004
        torch.device("cuda:0"),
    )


def not_reported(x: torch.Tensor):
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    y = x @ x.T
    end.record()
    ready = end.query()
    s = torch.cuda.Stream()
    s.wait_event(end)
    torch.cuda.current_stream().wait_stream(s)
    available = torch.cuda.is_available()
    n = torch.cuda.device_count()
    used = torch.cuda.memory_allocated()
    torch.cuda.set_device(0)
    torch.cuda.manual_seed(0)
    if dist.is_available() and dist.is_initialized():
        rank = dist.get_rank()
        dist.all_reduce(y)
    stop = threading.Event()
    stop.set()
    gate = threading.Barrier(1)
    gate.wait()
    return y, ready, available, n, used
