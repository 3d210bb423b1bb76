"""Box helpers shared by the pipeline stages, plus offline evaluation utilities."""
from __future__ import annotations

from typing import Dict, List

import numpy as np
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


# ---------------------------------------------------------------------- offline evaluation
def check_finite(t: torch.Tensor, name: str) -> None:
    if torch.isnan(t).any():  # expect: D2H002 medium
        raise ValueError(f"{name} contains NaN values")


def mask_areas(masks: torch.Tensor) -> List[int]:
    return masks.flatten(1).sum(dim=1).tolist()  # expect: D2H001 medium


def latency_percentiles(latencies_ms: torch.Tensor) -> Dict[str, float]:
    p50, p90, p99 = np.percentile(latencies_ms, [50, 90, 99])  # expect: D2H006 medium
    return {"p50": float(p50), "p90": float(p90), "p99": float(p99)}


def summarize_detections(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor) -> Dict[str, object]:
    if len(scores) == 0:
        return {"count": 0}
    return {
        "count": len(scores),
        "max_score": max(scores),  # expect: D2H002 medium
        "classes": labels.unique().tolist(),  # expect: D2H003 medium, D2H001 medium
        "mean_area": box_area(boxes).mean().item(),  # expect: D2H002 medium
    }
