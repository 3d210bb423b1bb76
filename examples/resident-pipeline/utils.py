"""Box helpers shared by the pipeline stages (all device-side, no host reads)."""
from __future__ import annotations

from typing import Dict

import torch


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU between (N, 4) and (M, 4) xyxy boxes -> (N, M)."""
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return inter / union.clamp(min=1e-6)


def box_centers(boxes: torch.Tensor) -> torch.Tensor:
    return torch.stack([(boxes[:, 0] + boxes[:, 2]) * 0.5, (boxes[:, 1] + boxes[:, 3]) * 0.5], dim=-1)


def nan_flags(t: torch.Tensor) -> torch.Tensor:
    """0-d bool tensor, true when `t` holds a NaN; the caller decides when to read it."""
    return torch.isnan(t).any()


def latency_percentiles(latencies_ms: torch.Tensor) -> torch.Tensor:
    q = torch.tensor([0.5, 0.9, 0.99], device=latencies_ms.device)  # expect: D2H007 medium
    return torch.quantile(latencies_ms.float(), q)


def summarize_detections(boxes: torch.Tensor, scores: torch.Tensor, valid: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Device-side summary; every value is a 0-d tensor that a reporter may read later in one batch."""
    weight = valid.float()
    count = weight.sum()
    return {
        "count": count,
        "max_score": scores.masked_fill(~valid, 0.0).max(),
        "mean_area": (box_area(boxes) * weight).sum() / count.clamp(min=1.0),
    }
