"""Frame orchestrator: D-FINE detection -> MobileSAM segmentation -> tracking (legacy host-bound version)."""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

import numpy as np
import torch

from cpu_to_gpu import DeviceTransfer, setup_device
from dfine_infer import DFineDetector, run_dfine_detection
from matcher import MatchResult, TrackMatcher
from predictor import MobileSamPredictor


@dataclass
class ResultPacket:
    frame_index: int
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    track_ids: np.ndarray
    latency_ms: float


class Orchestrator:
    def __init__(
        self,
        detector: DFineDetector,
        predictor: MobileSamPredictor,
        matcher: TrackMatcher,
        transfer: DeviceTransfer,
        conf_threshold: float = 0.5,
        enable_detailed_logging: bool = False,
    ):
        self.detector = detector
        self.predictor = predictor
        self.matcher = matcher
        self.transfer = transfer
        self.device = detector.device
        self.conf_threshold = conf_threshold
        self.enable_detailed_logging = enable_detailed_logging
        self.logger = logging.getLogger("pipeline.orchestrator")

        self.frame_idx = 0
        self.track_boxes = torch.zeros((0, 4), device=self.device)
        self.track_age = torch.zeros(0, dtype=torch.long, device=self.device)
        self.track_ids = np.zeros(0, dtype=np.int64)
        self._next_track_id = 0
        self.prev_features: Optional[torch.Tensor] = None
        self._debug_scores: Optional[torch.Tensor] = None

        self.latency_history = torch.zeros(256, device=self.device)
        self._latency_writes = 0
        self._latency_count = 0
        self._prev_events: Optional[Tuple[torch.cuda.Event, torch.cuda.Event]] = None

    # ------------------------------------------------------------------ frame path
    def _record_latency(self) -> None:
        """Store the previous frame's GPU latency once its end event has completed (non-blocking)."""
        if self._prev_events is None:
            return
        start_evt, end_evt = self._prev_events
        if not end_evt.query():
            return
        capacity = self.latency_history.numel()
        self.latency_history[self._latency_writes % capacity] = start_evt.elapsed_time(end_evt)  # expect: D2H007 critical
        self._latency_writes += 1
        self._latency_count = min(self._latency_writes, capacity)

    def _update_tracks(self, result: MatchResult, det_boxes: torch.Tensor) -> np.ndarray:
        """Host-side track bookkeeping driven by the matcher's NumPy output."""
        track_boxes = self.track_boxes
        if result.matches.shape[0] > 0:
            rows = torch.from_numpy(result.matches[:, 0]).to(self.device)  # expect: D2H007 critical
            cols = torch.from_numpy(result.matches[:, 1]).to(self.device)  # expect: D2H007 critical
            track_boxes = track_boxes.index_copy(0, rows, det_boxes[cols])

        new_dets = result.unmatched_detections
        new_ids = np.arange(self._next_track_id, self._next_track_id + len(new_dets), dtype=np.int64)
        self._next_track_id += len(new_dets)
        spawn = torch.from_numpy(new_dets).to(self.device)  # expect: D2H007 critical
        track_boxes = torch.cat([track_boxes, det_boxes[spawn]], dim=0)
        track_age = torch.cat([result.track_age, torch.zeros(len(new_dets), dtype=torch.long, device=self.device)])
        track_ids = np.concatenate([self.track_ids, new_ids])

        stale = set(result.stale_tracks)
        keep = [i for i in range(len(track_ids)) if i not in stale]
        keep_t = torch.tensor(keep, dtype=torch.long, device=self.device)  # expect: D2H007 critical
        self.track_boxes = track_boxes[keep_t]
        self.track_age = track_age[keep_t]
        self.track_ids = track_ids[keep]
        return self.track_ids

    def process_frame(self, frame: torch.Tensor) -> ResultPacket:
        start_evt = torch.cuda.Event(enable_timing=True)
        end_evt = torch.cuda.Event(enable_timing=True)
        start_evt.record()
        t0 = time.perf_counter()

        frame = self.transfer.ensure_on_device(frame)
        det = run_dfine_detection(self.detector, frame, self.conf_threshold)
        det_boxes = torch.from_numpy(det["boxes"]).to(self.device)  # expect: D2H007 critical
        det_scores = torch.from_numpy(det["scores"]).to(self.device)  # expect: D2H007 critical

        self.predictor.set_image(frame)
        self.prev_features = self.transfer.offload_if_low_memory(self.predictor.features)
        sam = self.predictor.predict_sam(det_boxes)

        frame_diag = math.hypot(frame.shape[-1], frame.shape[-2])
        result = self.matcher.match(self.track_boxes, det_boxes, det_scores, self.track_age, frame_diag)
        track_ids = self._update_tracks(result, det_boxes)

        end_evt.record()
        self._record_latency()
        self._prev_events = (start_evt, end_evt)
        rolling_ms = self.latency_history[: max(self._latency_count, 1)].mean().item()  # expect: D2H002 critical
        self.logger.info("frame %d: %d detections, rolling GPU latency %.2f ms", self.frame_idx, det_boxes.shape[0], rolling_ms)

        # Kept for the score overlay of the debug viewer.
        self._debug_scores = det_scores.detach().cpu()  # expect: D2H001 critical
        if self.enable_detailed_logging:
            self.logger.debug("track boxes after update: %s", self.track_boxes)  # expect: D2H005 low
            self.logger.debug("track ages: %s", self.track_age.tolist())  # expect: D2H001 low

        packet = ResultPacket(
            frame_index=self.frame_idx,
            boxes=det["boxes"],
            scores=det["scores"],
            labels=det["labels"],
            masks=sam["masks"],
            track_ids=track_ids,
            latency_ms=(time.perf_counter() - t0) * 1000.0,
        )
        self.frame_idx += 1
        return packet

    def run(self, video: Iterable[torch.Tensor]) -> List[ResultPacket]:
        packets = []
        for frame in video:
            try:
                packets.append(self.process_frame(frame))
            except torch.cuda.OutOfMemoryError:
                self.logger.warning("OOM on frame %d; live track boxes %s", self.frame_idx, self.track_boxes)  # expect: D2H005 low
                torch.cuda.empty_cache()  # expect: D2H004 low
                self.frame_idx += 1
        return packets

    # ------------------------------------------------------------------ offline / status API
    def benchmark(self, frame: torch.Tensor, iters: int = 50, warmup: int = 5) -> dict:
        """Offline throughput measurement (not used on the serving path)."""
        for _ in range(warmup):
            self.process_frame(frame)
        torch.cuda.empty_cache()  # expect: D2H004 medium
        torch.cuda.synchronize()  # expect: D2H004 medium
        t0 = time.perf_counter()
        for _ in range(iters):
            self.process_frame(frame)
        torch.cuda.synchronize()  # expect: D2H004 medium
        elapsed = time.perf_counter() - t0
        return {
            "fps": iters / elapsed,
            "gpu_ms": self.latency_history[: max(self._latency_count, 1)].mean().item(),  # expect: D2H002 medium
        }

    def summarize_tracks(self) -> List[dict]:
        """Track table for the status endpoint."""
        boxes = self.track_boxes.tolist()  # expect: D2H001 medium
        ages = self.track_age.tolist()  # expect: D2H001 medium
        return [{"id": int(tid), "box": box, "age": age} for tid, box, age in zip(self.track_ids.tolist(), boxes, ages)]


def build_pipeline(dfine_path: str, sam_path: str, device: torch.device, enable_detailed_logging: bool = False) -> Orchestrator:
    setup_device(device)
    detector = DFineDetector(torch.jit.load(dfine_path, map_location=device), device)
    predictor = MobileSamPredictor(torch.jit.load(sam_path, map_location=device), device)
    return Orchestrator(
        detector,
        predictor,
        TrackMatcher(device),
        DeviceTransfer(device),
        enable_detailed_logging=enable_detailed_logging,
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the detection -> segmentation -> tracking pipeline")
    parser.add_argument("--dfine", required=True)
    parser.add_argument("--sam", required=True)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    dev = torch.device("cuda")
    orch = build_pipeline(args.dfine, args.sam, dev, enable_detailed_logging=args.verbose)
    clip = torch.rand(args.frames, 1, 3, 720, 1280, device=dev)
    packets = orch.run(clip)
    print("clip checksum:", clip.sum())  # expect: D2H005 low
    print(f"processed {len(packets)} frames, {len(orch.track_ids)} live tracks")
