"""Debug overlays and latency plots (offline tooling, never on the frame path)."""
from __future__ import annotations

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

PALETTE = np.random.default_rng(0).integers(0, 255, size=(256, 3))


def draw_tracks(frame: torch.Tensor, boxes: torch.Tensor, track_ids: np.ndarray) -> np.ndarray:
    """Render track boxes and ids on a (1, 3, H, W) frame in [0, 1]."""
    image = frame[0].permute(1, 2, 0).mul(255).clamp(0, 255).byte().cpu().numpy()  # expect: D2H001 low
    image = np.ascontiguousarray(image[:, :, ::-1])
    for box, tid in zip(boxes.round().int().tolist(), track_ids):  # expect: D2H001 low
        color = tuple(int(c) for c in PALETTE[int(tid) % len(PALETTE)])
        x0, y0, x1, y1 = box
        cv2.rectangle(image, (x0, y0), (x1, y1), color, 2)
        cv2.putText(image, str(tid), (x0, max(y0 - 4, 0)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1)
    return image


def plot_latency(latencies_ms: torch.Tensor, path: str) -> None:
    plt.figure(figsize=(8, 3))
    plt.plot(latencies_ms, linewidth=0.8)  # expect: D2H006 low
    plt.xlabel("frame")
    plt.ylabel("GPU latency (ms)")
    plt.tight_layout()
    plt.savefig(path, dpi=120)
    plt.close()
