"""The worked example of docs/pytest-plugin.md: a detector head whose post-processing keeps
everything on the device, and a legacy variant that reads the device back in the frame path."""

import torch


class Detector(torch.nn.Module):
    def __init__(self, channels: int = 64, classes: int = 8):
        super().__init__()
        self.backbone = torch.nn.Sequential(
            torch.nn.Conv2d(3, channels, 3, stride=2, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(channels, channels, 3, stride=2, padding=1),
            torch.nn.ReLU(),
        )
        self.head = torch.nn.Conv2d(channels, classes, 1)

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(frame)).sigmoid()


def postprocess(scores: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Per-class peak scores, zeroed under the threshold: on the device, no sync."""
    peaks = scores.amax(dim=(-2, -1))
    return torch.where(peaks > threshold, peaks, torch.zeros_like(peaks))


def postprocess_legacy(scores: torch.Tensor, threshold: float = 0.5) -> list:
    """The same, the legacy way: a host read per class and a data-dependent mask."""
    peaks = scores.amax(dim=(-2, -1))
    kept = []
    for value in peaks.flatten():
        if value.item() > threshold:
            kept.append(value)
    hot = peaks[peaks > threshold]
    return kept + [hot]
