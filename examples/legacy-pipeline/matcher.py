"""Track <-> detection association (legacy version: Hungarian matching on the host with SciPy)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from utils import box_centers, box_iou

logger = logging.getLogger(__name__)


@dataclass
class MatchResult:
    matches: np.ndarray               # (M, 2) int64: [track index, detection index]
    unmatched_detections: np.ndarray  # detection indices that start new tracks
    assignment: np.ndarray            # (T,) detection index per track, -1 when unmatched
    track_age: torch.Tensor           # (T,) frames since each track was last matched
    stale_tracks: List[int]           # tracks to drop (age > max_age)


class TrackMatcher:
    def __init__(
        self,
        device: torch.device,
        iou_weight: float = 1.0,
        distance_weight: float = 0.5,
        max_cost: float = 0.9,
        max_distance: float = 0.25,
        max_age: int = 30,
    ):
        self.device = device
        self.cost_weights = torch.tensor([iou_weight, distance_weight], device=device)  # expect: D2H007 low
        self.max_cost = max_cost
        self.max_distance = max_distance
        self.max_age = max_age
        logger.debug("matcher cost weights: %s", self.cost_weights.tolist())  # expect: D2H001 low

    def __repr__(self) -> str:
        return f"TrackMatcher(weights={self.cost_weights}, max_cost={self.max_cost})"  # expect: D2H005 low

    def compute_cost(self, track_boxes: torch.Tensor, det_boxes: torch.Tensor, frame_diag: float) -> Tuple[torch.Tensor, torch.Tensor]:
        iou = box_iou(track_boxes, det_boxes)
        dist = torch.cdist(box_centers(track_boxes), box_centers(det_boxes)) / frame_diag
        cost = self.cost_weights[0] * (1.0 - iou) + self.cost_weights[1] * dist
        return cost, dist

    def match(
        self,
        track_boxes: torch.Tensor,
        det_boxes: torch.Tensor,
        det_scores: torch.Tensor,
        track_age: torch.Tensor,
        frame_diag: float,
    ) -> MatchResult:
        num_tracks, num_dets = track_boxes.shape[0], det_boxes.shape[0]
        if num_tracks == 0 or num_dets == 0:
            return MatchResult(
                matches=np.empty((0, 2), dtype=np.int64),
                unmatched_detections=np.arange(num_dets),
                assignment=np.full(num_tracks, -1, dtype=np.int64),
                track_age=track_age + 1,
                stale_tracks=[],
            )

        # Visit detections by decreasing confidence so that ties go to the confident ones.
        order = det_scores.argsort(descending=True)
        det_order = order.detach().cpu().numpy()  # expect: D2H001 critical
        cost, dist = self.compute_cost(track_boxes, det_boxes[order], frame_diag)

        cost_matrix = cost.detach().cpu().numpy()  # expect: D2H001 critical
        rows, cols = linear_sum_assignment(cost_matrix)
        pair_dist = dist.cpu().numpy()[rows, cols]  # expect: D2H001 critical
        accepted = (cost_matrix[rows, cols] < self.max_cost) & (pair_dist < self.max_distance)
        rows, cols = rows[accepted], det_order[cols[accepted]]

        assignment = torch.full((num_tracks,), -1, dtype=torch.long, device=track_boxes.device)
        assignment[torch.from_numpy(rows).to(assignment.device)] = torch.from_numpy(cols).to(assignment.device)  # expect: D2H007 critical, D2H007 critical
        next_age = torch.where(assignment >= 0, torch.zeros_like(track_age), track_age + 1)
        stale = (next_age > self.max_age).nonzero().squeeze(1)  # expect: D2H003 critical

        return MatchResult(
            matches=np.stack([rows, cols], axis=1),
            unmatched_detections=np.setdiff1d(np.arange(num_dets), cols),
            assignment=assignment.cpu().numpy(),  # expect: D2H001 critical
            track_age=next_age,
            stale_tracks=stale.tolist(),  # expect: D2H001 critical
        )

    # ------------------------------------------------------------------ tuning / evaluation API
    def cost_summary(self, cost: torch.Tensor) -> Dict[str, float]:
        """Cost statistics for the threshold-tuning notebook."""
        return {
            "min": cost.min().item(),  # expect: D2H002 medium
            "max": cost.max().item(),  # expect: D2H002 medium
            "mean": cost.mean().item(),  # expect: D2H002 medium
        }

    def match_quality(self, result: MatchResult, cost: torch.Tensor) -> float:
        if result.matches.shape[0] == 0:
            return 0.0
        pairs = torch.as_tensor(result.matches, device=cost.device)  # expect: D2H007 medium
        return float(cost[pairs[:, 0], pairs[:, 1]].mean())  # expect: D2H002 medium

    def evaluate_assignment(self, predicted: torch.Tensor, ground_truth: torch.Tensor) -> Dict[str, float]:
        return {
            "exact": torch.equal(predicted, ground_truth),  # expect: D2H002 medium
            "accuracy": float(np.mean((predicted == ground_truth).cpu().numpy())),  # expect: D2H001 medium
        }
