"""Host <-> device helpers (GPU-resident version).

The emergency host spill is kept for safety, but only on the error path: it runs when the
device snapshot actually fails with an out-of-memory error, and it logs a warning.
"""
from __future__ import annotations

import logging
from typing import Dict, Optional

import torch

logger = logging.getLogger(__name__)


def sync_device(device: Optional[torch.device] = None) -> None:
    """Block the host until all queued work on `device` is done."""
    torch.cuda.synchronize(device)  # expect: D2H004 medium


def setup_device(device: torch.device) -> None:
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    # Grow the caching allocator once so the first frames do not pay for cudaMalloc.
    warm = torch.empty(64 << 20, dtype=torch.uint8, device=device)
    del warm
    torch.cuda.synchronize(device)  # expect: D2H004 low


class DeviceTransfer:
    def __init__(self, device: torch.device):
        self.device = device
        self.cpu_device = torch.device("cpu")
        self.fallback_count = 0
        # Touch the device early so that CUDA initialisation errors surface here.
        probe = torch.ones(1, device=device)
        assert probe.sum().item() == 1.0  # expect: D2H002 low

    def ensure_on_device(self, frame: torch.Tensor) -> torch.Tensor:
        if not frame.is_cuda:
            frame = frame.pin_memory().to(self.device, non_blocking=True)
        return frame

    def offload_if_low_memory(self, t: torch.Tensor) -> torch.Tensor:
        """Keep a device snapshot of `t` between frames; spill to the host only if that OOMs."""
        try:
            return t.clone()
        except torch.cuda.OutOfMemoryError:
            self.fallback_count += 1
            logger.warning(
                "emergency host fallback #%d: OOM while snapshotting a %s tensor",
                self.fallback_count,
                tuple(t.shape),
            )
            return t.to(self.cpu_device)  # expect: D2H001 low

    def memory_report(self) -> Dict[str, float]:
        sync_device(self.device)  # expect: D2H004 medium
        return {
            "allocated_mb": torch.cuda.memory_allocated(self.device) / 2**20,
            "reserved_mb": torch.cuda.memory_reserved(self.device) / 2**20,
            "fallbacks": float(self.fallback_count),
        }
