"""Runs examples/legacy-pipeline on synthetic CUDA frames, for the d2h runtime probe.

The example's `Orchestrator` expects a scripted D-FINE and a MobileSAM; this driver builds
tiny random torch modules with the same interfaces instead (no weights needed), wires the
example's classes as its `build_pipeline` does, and runs `Orchestrator.process_frame` on
synthetic uint8 frames on the device, each frame inside `with d2h_probe.frame():`. The example's files are
imported as they are (via `sys.path`), never copied or edited.

From the repository root, on a machine with a CUDA GPU:

    python3 probes/python/d2h_probe.py --root examples/legacy-pipeline --output runtime.json \\
        probes/python/demo/run_legacy.py --frames 100
    d2h audit examples/legacy-pipeline --format json -o static.json --max-critical 100000
    d2h compare static.json runtime.json --format markdown

Without the probe the driver runs the same frames (`frame()` is then a no-op). `--offline`
also calls the example's status / offline API once after the frame loop (phase `offline`).

The stand-ins are deterministic (seeded) and cheap; what matters is that they return what
the real models return, with shapes that drive every branch of the frame path:

- D-FINE: `model(x)` -> {"pred_logits": (1, 300, 80), "pred_boxes": (1, 300, 4) cxcywh in
  [0, 1]}. Eight fixed objects are always confident; four more "flicker": their confidence
  follows the frame's brightness, so the number of detections changes from frame to frame
  (new tracks, matched tracks, tracks that go stale after 30 frames, SAM prompts with and
  without the previous frame's mask logits).
- MobileSAM: `image_encoder` (1, 3, 1024, 1024) -> (1, 256, 64, 64); `prompt_encoder(points=,
  boxes=, masks=)` -> sparse (N, 2, 256), dense (N, 256, 64, 64) and `get_dense_pe()`;
  `mask_decoder(image_embeddings=, image_pe=, sparse_prompt_embeddings=,
  dense_prompt_embeddings=, multimask_output=)` -> low-res logits (N, 1|3, 256, 256), IoU
  (N, 1|3).

Nothing in these modules synchronises with the host (no `.item()`, no boolean indexing):
every event the probe records comes from the example's own code.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
EXAMPLE = os.path.join(REPO, "examples", "legacy-pipeline")

sys.path.insert(0, os.path.dirname(HERE))  # d2h_probe
sys.path.insert(0, EXAMPLE)  # cpu_to_gpu, dfine_infer, matcher, orchestrator, predictor, utils

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import d2h_probe  # noqa: E402

# The ImageNet normalisation that `DFineDetector.preprocess` applies to `frame / 255`.
DFINE_MEAN = (0.485, 0.456, 0.406)
DFINE_STD = (0.229, 0.224, 0.225)


class TinyDFine(nn.Module):
    """A stand-in for a scripted D-FINE: fixed objects plus input-dependent jitter."""

    def __init__(self, num_queries=300, num_classes=80, objects=8, flicker=(0.30, 0.45, 0.60, 0.75)):
        super().__init__()
        self.num_queries, self.num_classes = num_queries, num_classes
        self.backbone = nn.Sequential(
            nn.Conv2d(3, 16, 8, stride=8),
            nn.ReLU(),
            nn.Conv2d(16, 32, 4, stride=4),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.logit_head = nn.Linear(32, num_queries * num_classes)
        self.box_head = nn.Linear(32, num_queries * 4)
        nn.init.normal_(self.logit_head.weight, std=0.01)
        nn.init.zeros_(self.logit_head.bias)

        base_logits = torch.full((num_queries, num_classes), -8.0)
        classes = torch.randint(0, num_classes, (objects + len(flicker),))
        for q in range(objects):
            base_logits[q, classes[q]] = 4.0
        # Flicker queries: logit = gain * (brightness - threshold), brightness read from the input;
        # a dense one-hot map places them, so the forward pass needs no indexing (and no upload).
        flicker_map = torch.zeros(num_queries, num_classes, len(flicker))
        for j in range(len(flicker)):
            base_logits[objects + j, classes[objects + j]] = 0.0
            flicker_map[objects + j, classes[objects + j], j] = 1.0
        self.register_buffer("base_logits", base_logits)
        self.register_buffer("flicker_map", flicker_map)
        self.register_buffer("flicker_threshold", torch.tensor(flicker))
        self.register_buffer("norm_mean", torch.tensor(DFINE_MEAN).view(1, 3, 1, 1))
        self.register_buffer("norm_std", torch.tensor(DFINE_STD).view(1, 3, 1, 1))

        centers = 0.15 + 0.7 * torch.rand(num_queries, 2)
        sizes = 0.05 + 0.15 * torch.rand(num_queries, 2)
        self.register_buffer("base_boxes", torch.cat([centers, sizes], dim=1))

    def forward(self, x):
        batch = x.shape[0]
        feature = self.backbone(x)
        logits = self.base_logits + self.logit_head(feature).view(batch, self.num_queries, self.num_classes)
        # Mean pixel of uniform noise is half the frame's brightness (x is normalised 0-1 input).
        brightness = 2.0 * (x * self.norm_std + self.norm_mean).mean(dim=(1, 2, 3))
        flicker = 40.0 * (brightness[:, None] - self.flicker_threshold[None, :])
        logits = logits + torch.einsum("bf,qcf->bqc", flicker, self.flicker_map)
        jitter = 0.005 * torch.tanh(self.box_head(feature)).view(batch, self.num_queries, 4)
        boxes = (self.base_boxes + jitter).clamp(0.0, 1.0)
        return {"pred_logits": logits, "pred_boxes": boxes}


class TinyImageEncoder(nn.Module):
    def __init__(self, dim=256):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 16, stride=16)

    def forward(self, x):
        return self.patch(x)


class TinyPromptEncoder(nn.Module):
    def __init__(self, dim=256, grid=64, image_size=1024):
        super().__init__()
        self.dim, self.grid, self.image_size = dim, grid, image_size
        self.box_embed = nn.Linear(4, 2 * dim)
        self.no_mask_embed = nn.Parameter(0.02 * torch.randn(dim))
        self.mask_downscale = nn.Sequential(nn.Conv2d(1, 16, 4, stride=4), nn.GELU(), nn.Conv2d(16, dim, 1))
        self.dense_pe = nn.Parameter(0.02 * torch.randn(1, dim, grid, grid))

    def get_dense_pe(self):
        return self.dense_pe

    def forward(self, points=None, boxes=None, masks=None):
        n = boxes.shape[0]
        sparse = self.box_embed(boxes / self.image_size).view(n, 2, self.dim)
        if masks is not None:
            dense = self.mask_downscale(masks)
        else:
            dense = self.no_mask_embed.view(1, self.dim, 1, 1).expand(n, self.dim, self.grid, self.grid)
        return sparse, dense


class TinyMaskDecoder(nn.Module):
    def __init__(self, dim=256, num_masks=4):
        super().__init__()
        self.dim, self.num_masks = dim, num_masks
        self.tokens = nn.Linear(dim, dim * num_masks)
        self.iou_head = nn.Linear(dim, 1)

    def forward(self, image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings, multimask_output):
        n = sparse_prompt_embeddings.shape[0]
        src = image_embeddings + image_pe + dense_prompt_embeddings
        tokens = self.tokens(sparse_prompt_embeddings.mean(dim=1)).view(n, self.num_masks, self.dim)
        logits = torch.einsum("nmc,nchw->nmhw", tokens, src) / math.sqrt(self.dim)
        logits = F.interpolate(logits, scale_factor=4, mode="bilinear", align_corners=False)
        iou = self.iou_head(tokens).squeeze(-1).sigmoid()
        if multimask_output:
            return logits[:, 1:], iou[:, 1:]
        return logits[:, :1], iou[:, :1]


class TinySam(nn.Module):
    def __init__(self):
        super().__init__()
        self.image_encoder = TinyImageEncoder()
        self.prompt_encoder = TinyPromptEncoder()
        self.mask_decoder = TinyMaskDecoder()


def build(device, detailed_logging=False):
    """The example's `build_pipeline`, with the stand-ins instead of `torch.jit.load`.

    The stand-ins are moved to the device here, as `torch.jit.load(..., map_location=device)`
    would load them, so the example's own `model.to(device)` finds them there already.
    """
    from cpu_to_gpu import DeviceTransfer, setup_device
    from dfine_infer import DFineDetector
    from matcher import TrackMatcher
    from orchestrator import Orchestrator
    from predictor import MobileSamPredictor

    setup_device(device)
    detector = DFineDetector(TinyDFine().to(device), device)
    predictor = MobileSamPredictor(TinySam().to(device), device)
    return Orchestrator(
        detector,
        predictor,
        TrackMatcher(device),
        DeviceTransfer(device),
        enable_detailed_logging=detailed_logging,
    )


def brightness(i, period=50):
    """Frame i's brightness in (0.05, 0.95): a slow sine, so flicker objects come and go."""
    return 0.5 + 0.45 * math.sin(2.0 * math.pi * i / period)


def offline_calls(orch):
    """The example's status / offline API, once each (never on the frame path)."""
    results = {}
    results["summarize_tracks"] = len(orch.summarize_tracks())
    results["memory_report"] = orch.transfer.memory_report()
    results["embedding_stats"] = orch.predictor.embedding_stats()
    boxes = orch.track_boxes
    cost, _ = orch.matcher.compute_cost(boxes, boxes, 1000.0)
    results["cost_summary"] = orch.matcher.cost_summary(cost)
    orch.transfer.release_cache()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-level", default="INFO", help="the example's __main__ logs at INFO")
    parser.add_argument("--log-file", help="write the pipeline's log here instead of stderr")
    parser.add_argument("--offline", action="store_true", help="call the status / offline API after the loop")
    parser.add_argument("--summary", help="write a JSON summary of the run here")
    args = parser.parse_args(argv)

    logging.basicConfig(level=getattr(logging, args.log_level.upper()), filename=args.log_file)
    if not torch.cuda.is_available():
        print("run_legacy: the example needs a CUDA device (torch.cuda.Event, mem_get_info)", file=sys.stderr)
        return 2
    device = torch.device("cuda")
    torch.manual_seed(args.seed)
    generator = torch.Generator(device=device).manual_seed(args.seed)

    detections, live_tracks, wall_ms = [], [], []
    with torch.no_grad():
        orch = build(device)
        for i in range(args.frames):
            # A decoded camera frame: uint8 on the device, brightness varying slowly.
            frame = torch.rand(1, 3, args.height, args.width, device=device, generator=generator)
            frame = frame.mul_(256.0 * brightness(i)).to(torch.uint8)
            t0 = time.perf_counter()
            with d2h_probe.frame():
                packet = orch.process_frame(frame)
            wall_ms.append((time.perf_counter() - t0) * 1000.0)
            detections.append(len(packet.boxes))
            live_tracks.append(len(packet.track_ids))
        offline = None
        if args.offline:
            probe = d2h_probe.Probe.current
            if probe is not None:
                probe.recorder.phase = "offline"
            offline = offline_calls(orch)
    torch.cuda.synchronize()

    steady = sorted(wall_ms[min(5, len(wall_ms) - 1) :]) or [0.0]
    summary = {
        "device": torch.cuda.get_device_name(device),
        "torch": torch.__version__,
        "frames": args.frames,
        "frame": [args.height, args.width],
        "detections_min_max": [min(detections), max(detections)],
        "live_tracks_last": live_tracks[-1],
        "live_tracks_max": max(live_tracks),
        "next_track_id": orch._next_track_id,
        "host_fallbacks": orch.transfer.fallback_count,
        "wall_ms_median_after_5": steady[len(steady) // 2],
        "offline": offline,
        "probe": d2h_probe.Probe.current is not None,
    }
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as out:
            json.dump(summary, out, indent=2, default=str)
            out.write("\n")
    print("run_legacy:", json.dumps(summary, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
