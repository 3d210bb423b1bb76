"""MobileSAM box-prompted predictor (legacy version: every output is converted to NumPy)."""
from __future__ import annotations

import logging
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

logger = logging.getLogger(__name__)


class MobileSamPredictor:
    def __init__(
        self,
        sam_model: nn.Module,
        device: torch.device,
        image_size: int = 1024,
        mask_threshold: float = 0.0,
        debug: bool = False,
    ):
        self.model = sam_model.to(device).eval()
        self.device = device
        self.image_size = image_size
        self.mask_threshold = mask_threshold
        self.debug = debug
        self.pixel_mean = torch.tensor([123.675, 116.28, 103.53], device=device).view(-1, 1, 1)  # expect: D2H007 low
        self.pixel_std = torch.tensor([58.395, 57.12, 57.375], device=device).view(-1, 1, 1)  # expect: D2H007 low
        self.features: Optional[torch.Tensor] = None
        self.features_cache: Optional[np.ndarray] = None
        self.prompt_cache: Dict[str, np.ndarray] = {}
        self.prev_low_res_logits: Optional[np.ndarray] = None
        self.original_size: Tuple[int, int] = (0, 0)
        self.input_size: Tuple[int, int] = (0, 0)

    def load_checkpoint(self, path: str) -> None:
        state = torch.load(path, map_location=self.device)
        self.model.load_state_dict(state)
        checksum = sum(p.detach().double().sum().item() for p in self.model.mask_decoder.parameters())  # expect: D2H002 low
        logger.info("loaded %s (mask decoder checksum %.6f)", path, checksum)

    # ------------------------------------------------------------------ geometry
    def _resize_longest_side(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        scale = self.image_size / max(h, w)
        new_h, new_w = int(h * scale + 0.5), int(w * scale + 0.5)
        return F.interpolate(image, size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=True)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        return F.pad(x, (0, self.image_size - w, 0, self.image_size - h))

    def _transform_boxes(self, boxes: torch.Tensor) -> torch.Tensor:
        oh, ow = self.original_size
        nh, nw = self.input_size
        scale = boxes.new_tensor([nw / ow, nh / oh, nw / ow, nh / oh])  # expect: D2H007 critical
        return boxes * scale

    def _upscale_masks(self, low_res_logits: torch.Tensor) -> torch.Tensor:
        masks = F.interpolate(low_res_logits, (self.image_size, self.image_size), mode="bilinear", align_corners=False)
        masks = masks[..., : self.input_size[0], : self.input_size[1]]
        return F.interpolate(masks, self.original_size, mode="bilinear", align_corners=False)

    # ------------------------------------------------------------------ frame path
    def set_image(self, image: torch.Tensor) -> None:
        self.original_size = tuple(image.shape[-2:])
        x = self._resize_longest_side(image.to(self.device).float())
        self.input_size = tuple(x.shape[-2:])
        x = (x - self.pixel_mean) / self.pixel_std
        self.features = self.model.image_encoder(self._pad(x))
        # Cached on the host so the tracker can re-prompt without re-encoding.
        self.features_cache = self.features.cpu().numpy()  # expect: D2H001 critical

    def predict_sam(self, boxes: torch.Tensor, multimask_output: bool = False) -> Dict[str, object]:
        if self.features is None:
            raise RuntimeError("call set_image() before predict_sam()")
        box_prompts = self._transform_boxes(boxes.to(self.device))

        mask_inputs = None
        if self.prev_low_res_logits is not None and self.prev_low_res_logits.shape[0] == boxes.shape[0]:
            mask_inputs = torch.from_numpy(self.prev_low_res_logits).to(self.device)  # expect: D2H007 critical

        sparse_embeddings, dense_embeddings = self.model.prompt_encoder(points=None, boxes=box_prompts, masks=mask_inputs)
        prompt_embeddings = self.model.prompt_encoder.get_dense_pe()
        self.prompt_cache = {
            "prompt_embeddings": prompt_embeddings.cpu().numpy(),  # expect: D2H001 critical
            "dense_embeddings": dense_embeddings.cpu().numpy(),  # expect: D2H001 critical
            "sparse_embeddings": sparse_embeddings.cpu().numpy(),  # expect: D2H001 critical
        }
        if mask_inputs is not None:
            self.prompt_cache["mask_inputs"] = mask_inputs.cpu().numpy()  # expect: D2H001 critical

        try:
            low_res_logits, iou_pred = self.model.mask_decoder(
                image_embeddings=self.features,
                image_pe=prompt_embeddings,
                sparse_prompt_embeddings=sparse_embeddings,
                dense_prompt_embeddings=dense_embeddings,
                multimask_output=multimask_output,
            )
        except torch.cuda.OutOfMemoryError:
            logger.error("mask decoder OOM for box prompts %s", box_prompts)  # expect: D2H005 low
            raise

        if multimask_output:
            best = iou_pred.argmax(dim=1)
            index = torch.arange(best.shape[0], device=best.device)
            low_res_logits = low_res_logits[index, best].unsqueeze(1)
            iou_pred = iou_pred[index, best].unsqueeze(1)

        masks = self._upscale_masks(low_res_logits) > self.mask_threshold
        empty = ~masks.flatten(1).any(dim=1)
        if empty.any():  # expect: D2H002 critical
            logger.warning("MobileSAM returned empty masks for some boxes")
        areas = masks.flatten(1).sum(dim=1).tolist()  # expect: D2H001 critical

        if self.debug:
            logger.debug("iou_pred=%s", iou_pred)  # expect: D2H005 low

        masks_np = masks.cpu().numpy()  # expect: D2H001 critical
        iou_np = iou_pred.cpu().numpy()  # expect: D2H001 critical
        low_res_np = low_res_logits.cpu().numpy()  # expect: D2H001 critical
        self.prev_low_res_logits = low_res_np
        return {"masks": masks_np, "iou_pred": iou_np, "low_res_logits": low_res_np, "areas": areas}

    # ------------------------------------------------------------------ on-demand API
    def embedding_stats(self) -> Dict[str, float]:
        """Image-embedding statistics for the drift dashboard (called on demand)."""
        if self.features is None:
            return {}
        return {
            "mean": self.features.mean().item(),  # expect: D2H002 medium
            "std": self.features.std().item(),  # expect: D2H002 medium
        }

    def mask_coverage_histogram(self, masks: torch.Tensor, bins: int = 10) -> np.ndarray:
        coverage = masks.flatten(1).float().mean(dim=1)
        hist, _ = np.histogram(coverage, bins=bins, range=(0.0, 1.0))  # expect: D2H006 medium
        return hist

    def mask_iou(self, a: torch.Tensor, b: torch.Tensor) -> float:
        inter = (a & b).sum()
        union = (a | b).sum()
        return float(inter) / max(float(union), 1.0)  # expect: D2H002 medium, D2H002 medium


def summarize_masks(masks: torch.Tensor) -> Dict[str, float]:
    """Mask statistics for the evaluation report."""
    areas = masks.flatten(1).float().sum(dim=1)
    return {
        "count": int(masks.shape[0]),
        "mean_area": areas.mean().item(),  # expect: D2H002 medium
        "nonempty": torch.nonzero(areas).shape[0],  # expect: D2H003 medium
    }
