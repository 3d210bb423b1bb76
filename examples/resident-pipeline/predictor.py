"""MobileSAM box-prompted predictor (GPU-resident version: outputs stay on the device)."""
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
        # Prompt state for re-prompting on the next frame, kept on the device.
        self.prompt_cache: Dict[str, torch.Tensor] = {}
        self.prev_low_res_logits: Optional[torch.Tensor] = None
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
        # Filled on the device (new_full, slice assignment): no host list is uploaded.
        scale = boxes.new_full((4,), nw / ow)
        scale[1::2] = nh / oh
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

    def predict_sam(
        self,
        boxes: torch.Tensor,
        multimask_output: bool = False,
        return_gpu_tensor: bool = True,
    ) -> Dict[str, torch.Tensor]:
        """Segment every box prompt; all outputs are device tensors with one row per box.

        Rows of padded / invalid boxes are computed too (fixed shape) and ignored downstream.
        """
        if not return_gpu_tensor:
            raise ValueError("host outputs were removed from the frame path; call sam_outputs_to_host() instead")
        if self.features is None:
            raise RuntimeError("call set_image() before predict_sam()")
        box_prompts = self._transform_boxes(boxes.to(self.device))

        mask_inputs = None
        if self.prev_low_res_logits is not None and self.prev_low_res_logits.shape[0] == boxes.shape[0]:
            mask_inputs = self.prev_low_res_logits

        sparse_embeddings, dense_embeddings = self.model.prompt_encoder(points=None, boxes=box_prompts, masks=mask_inputs)
        prompt_embeddings = self.model.prompt_encoder.get_dense_pe()
        self.prompt_cache = {
            "prompt_embeddings": prompt_embeddings,
            "dense_embeddings": dense_embeddings,
            "sparse_embeddings": sparse_embeddings,
        }
        if mask_inputs is not None:
            self.prompt_cache["mask_inputs"] = mask_inputs

        try:
            low_res_logits, iou_pred = self.model.mask_decoder(
                image_embeddings=self.features,
                image_pe=prompt_embeddings,
                sparse_prompt_embeddings=sparse_embeddings,
                dense_prompt_embeddings=dense_embeddings,
                multimask_output=multimask_output,
            )
        except torch.cuda.OutOfMemoryError:
            logger.error("mask decoder OOM for %d box prompts", box_prompts.shape[0])
            raise

        if multimask_output:
            best = iou_pred.argmax(dim=1)
            index = torch.arange(best.shape[0], device=best.device)
            low_res_logits = low_res_logits[index, best].unsqueeze(1)
            iou_pred = iou_pred[index, best].unsqueeze(1)

        masks = self._upscale_masks(low_res_logits) > self.mask_threshold
        areas = masks.flatten(1).sum(dim=1)
        empty = areas == 0

        if self.debug:
            logger.debug("iou_pred=%s", iou_pred)  # expect: D2H005 low
            logger.debug("empty masks: %s", empty.sum())  # expect: D2H005 low

        self.prev_low_res_logits = low_res_logits
        return {"masks": masks, "iou_pred": iou_pred, "low_res_logits": low_res_logits, "areas": areas, "empty": empty}

    # ------------------------------------------------------------------ on-demand API
    def embedding_stats(self) -> Dict[str, float]:
        """Image-embedding statistics for the drift dashboard (called on demand)."""
        if self.features is None:
            return {}
        mean, std = torch.stack([self.features.mean(), self.features.std()]).tolist()  # expect: D2H001 medium
        return {"mean": mean, "std": std}


def sam_outputs_to_host(result: Dict[str, torch.Tensor]) -> Dict[str, np.ndarray]:
    """Explicit, opt-in host copy for exporters and tests; never called on the frame path."""
    return {
        "masks": result["masks"].cpu().numpy(),  # expect: D2H001 medium
        "iou_pred": result["iou_pred"].cpu().numpy(),  # expect: D2H001 medium
        "low_res_logits": result["low_res_logits"].cpu().numpy(),  # expect: D2H001 medium
    }
