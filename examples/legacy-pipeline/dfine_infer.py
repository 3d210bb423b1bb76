"""D-FINE detector wrapper (legacy version: detections come back as host NumPy arrays)."""
from __future__ import annotations

import logging
from typing import Dict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

logger = logging.getLogger(__name__)


def box_cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


class DFineDetector(nn.Module):
    """Thin wrapper around a scripted D-FINE model: normalisation + resize + forward."""

    def __init__(self, model: nn.Module, device: torch.device, input_size: int = 640, num_top: int = 300):
        super().__init__()
        self.device = device
        self.model = model.to(device).eval()
        self.input_size = input_size
        self.num_top = num_top
        self.mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)  # expect: D2H007 low
        self.std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)  # expect: D2H007 low
        logger.info("D-FINE normalisation mean=%s", self.mean)  # expect: D2H005 low

    def __repr__(self) -> str:
        return f"DFineDetector(input_size={self.input_size}, mean={self.mean})"  # expect: D2H005 low

    def load_weights(self, path: str) -> None:
        state = torch.load(path, map_location=self.device)
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        if missing:
            logger.warning("missing keys: %s", missing)
        if unexpected:
            logger.warning("unexpected keys: %s", unexpected)
        first = next(iter(state.values()))
        logger.info("loaded %s (first tensor norm %.4f)", path, first.detach().float().norm().item())  # expect: D2H002 low

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        x = image.to(self.device, non_blocking=True).float().div_(255.0)
        x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std

    def forward(self, image: torch.Tensor) -> Dict[str, torch.Tensor]:
        return self.model(self.preprocess(image))

    def export_reference_outputs(self, path: str) -> None:
        """Dump reference outputs next to an ONNX export so the runtime can be parity-checked."""
        dummy = torch.randn(1, 3, self.input_size, self.input_size, device=self.device)
        with torch.no_grad():
            outputs = self.model(dummy)
        np.savez(
            path,
            logits=outputs["pred_logits"].cpu().numpy(),  # expect: D2H001 medium
            boxes=outputs["pred_boxes"].cpu().numpy(),  # expect: D2H001 medium
        )

    def class_histogram(self, outputs: Dict[str, torch.Tensor], conf_threshold: float = 0.5) -> Dict[int, int]:
        """Per-class detection counts for the offline evaluation report."""
        scores, labels = outputs["pred_logits"].sigmoid().max(-1)
        confident = labels[scores > conf_threshold]  # expect: D2H003 medium
        classes, counts = torch.unique(confident, return_counts=True)  # expect: D2H003 medium
        return dict(zip(classes.tolist(), counts.tolist()))  # expect: D2H001 medium, D2H001 medium


def postprocess_dfine(outputs: Dict[str, torch.Tensor], orig_size: torch.Tensor, num_top: int = 300) -> Dict[str, np.ndarray]:
    """Top-k over (query, class) pairs, boxes rescaled to the original image size."""
    logits = outputs["pred_logits"]
    boxes = outputs["pred_boxes"]
    num_classes = logits.shape[-1]
    prob = logits.sigmoid()
    scores, index = torch.topk(prob.flatten(1), num_top, dim=-1)
    labels = index % num_classes
    query_index = index // num_classes
    boxes = box_cxcywh_to_xyxy(boxes) * orig_size.repeat(1, 2).unsqueeze(1)
    boxes = boxes.gather(1, query_index.unsqueeze(-1).expand(-1, -1, 4))
    return {
        "boxes": boxes.cpu().numpy(),  # expect: D2H001 critical
        "scores": scores.cpu().numpy(),  # expect: D2H001 critical
        "labels": labels.cpu().numpy(),  # expect: D2H001 critical
    }


def run_dfine_detection(detector: DFineDetector, image: torch.Tensor, conf_threshold: float = 0.5) -> Dict[str, np.ndarray]:
    """Detect objects in one frame; returns host arrays filtered by confidence."""
    h, w = image.shape[-2:]
    orig_size = torch.tensor([[w, h]], dtype=torch.float32, device=detector.device)  # expect: D2H007 critical
    outputs = detector(image)
    assert torch.isfinite(outputs["pred_boxes"]).all(), "D-FINE produced non-finite boxes"  # expect: D2H002 critical
    dets = postprocess_dfine(outputs, orig_size, detector.num_top)
    boxes, scores, labels = dets["boxes"][0], dets["scores"][0], dets["labels"][0]
    keep = np.flatnonzero(scores > conf_threshold)
    return {"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]}
