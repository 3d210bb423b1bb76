"""Host <-> device helpers (legacy version, with an emergency host spill on the frame path)."""
from __future__ import annotations

import logging
from typing import Dict, Optional

import numpy as np
import torch

logger = logging.getLogger(__name__)


def free_memory_fraction(device: torch.device) -> float:
    free, total = torch.cuda.mem_get_info(device)
    return free / total


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


def tensor_to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu").numpy()  # expect: D2H001 medium


def to_cpu_dict(tensors: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    return {name: t.detach().to(device="cpu") for name, t in tensors.items()}  # expect: D2H001 medium


class DeviceTransfer:
    def __init__(self, device: torch.device, min_free_fraction: float = 0.05):
        self.device = device
        self.cpu_device = torch.device("cpu")
        self.min_free_fraction = min_free_fraction
        self.fallback_count = 0
        # Touch the device early so that CUDA initialisation errors surface here.
        probe = torch.ones(1, device=device)
        assert probe.sum().item() == 1.0  # expect: D2H002 low

    def ensure_on_device(self, frame: torch.Tensor) -> torch.Tensor:
        if not frame.is_cuda:
            frame = frame.pin_memory().to(self.device, non_blocking=True)
        return frame

    def offload_if_low_memory(self, t: torch.Tensor) -> torch.Tensor:
        """Keep a snapshot of `t` between frames; spill it to the host when VRAM runs short."""
        if free_memory_fraction(self.device) < self.min_free_fraction:
            self.fallback_count += 1
            return t.to(self.cpu_device)  # expect: D2H001 critical
        try:
            return t.clone()
        except torch.cuda.OutOfMemoryError:
            self.fallback_count += 1
            logger.warning("OOM while snapshotting a %s tensor; spilling it to the host", tuple(t.shape))
            return t.cpu()  # expect: D2H001 low

    def memory_report(self) -> Dict[str, float]:
        sync_device(self.device)  # expect: D2H004 medium
        return {
            "allocated_mb": torch.cuda.memory_allocated(self.device) / 2**20,
            "reserved_mb": torch.cuda.memory_reserved(self.device) / 2**20,
            "fallbacks": float(self.fallback_count),
        }

    def release_cache(self) -> None:
        torch.cuda.empty_cache()  # expect: D2H004 medium
