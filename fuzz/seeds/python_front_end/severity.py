"""Severity fixture.

Each line ending in `# <rule id> <severity>` must be reported with that rule and severity;
every other line must not be reported at all.
"""
import logging

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F

logger = logging.getLogger(__name__)

DEVICE = torch.device("cuda")
ANCHORS = torch.zeros(16, 4, device=DEVICE)

# Module-level code runs once at import.
print("anchors ready:", ANCHORS.sum())  # D2H005 low
ANCHOR_LIST = ANCHORS.tolist()  # D2H001 low


class Detector(nn.Module):
    def __init__(self, debug: bool = False):
        super().__init__()
        self.backbone = nn.Conv2d(3, 8, 3)
        self.head = nn.Linear(8, 4)
        self.enable_detailed_logging = debug
        self.scale = torch.ones(1, device=DEVICE)
        logger.info("initial scale %.3f", self.scale.item())  # D2H002 low

    def __repr__(self):
        return f"Detector(scale={self.scale})"  # D2H005 low

    def __str__(self):
        return "Detector with scale %s" % self.scale  # D2H005 low

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.backbone(x)
        peak = feats.amax().item()  # D2H002 critical
        if self.enable_detailed_logging:
            logger.debug("feature peak %s", feats.amax())  # D2H005 low
        return self.head(feats.mean(dim=(2, 3))) / peak

    def export_head_weights(self):
        return self.head.weight.detach().cpu()  # D2H001 medium

    def release_gpu(self):
        self.backbone.cpu()  # D2H001 low

    def load_weights(self, path: str):
        state = torch.load(path, map_location=DEVICE)
        self.load_state_dict(state)
        logger.info("head norm after load: %.4f", self.head.weight.detach().norm().item())  # D2H002 low


class Postprocessor:
    def __call__(self, logits: torch.Tensor):
        return logits.softmax(-1).cpu()  # D2H001 critical


class Tracker:
    def __init__(self):
        self.state = torch.zeros(32, device=DEVICE)

    def update_tracks(self, boxes):
        alive = int((self.state > 0).sum())  # D2H002 critical
        return alive

    def track_table(self):
        return self.state.tolist()  # D2H001 medium


class Pipeline:
    def __init__(self, model: nn.Module, verbose: bool = False):
        self.model = model
        self.verbose = verbose
        self.enable_detailed_logging = verbose
        self.tracker = Tracker()

    def process_frame(self, frame: torch.Tensor, debug: bool = False):
        out = self.model(frame)
        boxes = self._convert(out)
        self.tracker.update_tracks(boxes)
        for i in range(out.shape[0]):
            score = out[i].max().item()  # D2H002 critical
        try:
            norms = out.norm(dim=-1)
        except RuntimeError:
            logger.exception("frame failed, outputs %s", out)  # D2H005 low
            raise
        if self.enable_detailed_logging:
            logger.debug("norms %s", norms)  # D2H005 low
        if self.verbose:
            logger.info("max norm %.3f", norms.max().item())  # D2H002 low
        if debug:
            print("raw outputs", out)  # D2H005 low
        if logger.isEnabledFor(logging.DEBUG):
            snapshot = out.cpu()  # D2H001 low
            logger.debug("outputs copied for inspection: %s", tuple(snapshot.shape))
        return boxes

    def _convert(self, out: torch.Tensor):
        return self._to_host(out.sigmoid())

    def _to_host(self, t: torch.Tensor):
        return t.cpu().numpy()  # D2H001 critical

    def serve(self, source):
        while source.has_next():
            frame = source.next_frame()
            out = self.model(frame)
            self.latest = out.cpu()  # D2H001 critical


def predict(model: nn.Module, x: torch.Tensor):
    return model(x).argmax(-1).tolist()  # D2H001 critical


def predict_boxes(boxes: torch.Tensor):
    return boxes.round().int().tolist()  # D2H001 critical


def infer(x: torch.Tensor):
    return float(x.mean())  # D2H002 critical


def infer_batch(xs: torch.Tensor):
    return xs.sum(dim=0).cpu()  # D2H001 critical


def postprocess(logits: torch.Tensor):
    keep = logits.sigmoid() > 0.5
    return logits[keep]  # D2H003 critical


def postprocess_masks(masks: torch.Tensor):
    torch.cuda.synchronize()  # D2H004 critical
    return masks


class LitDetector:
    def __init__(self, model: nn.Module):
        self.model = model
        self.last_loss = 0.0

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self.model(x), y)
        self.last_loss = loss.item()  # D2H002 critical
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        acc = (self.model(x).argmax(-1) == y).float().mean()
        print(f"val acc {acc}")  # D2H005 critical

    def step(self, loss: torch.Tensor):
        if torch.isnan(loss):  # D2H002 critical
            return
        loss.backward()


@torch.no_grad()
def evaluate_batch(model: nn.Module, x: torch.Tensor):
    return model(x).cpu()  # D2H001 critical


@torch.inference_mode()
def encode(model: nn.Module, x: torch.Tensor):
    return model(x).tolist()  # D2H001 critical


@torch.compile
def fused_norm(x: torch.Tensor):
    return x / x.norm().item()  # D2H002 critical


class Evaluator:
    def __init__(self, model: nn.Module):
        self.model = model

    def evaluate(self, loader):
        correct = 0
        for x, y in loader:
            out = self.model(x)
            correct += (out.argmax(-1) == y).sum().item()  # D2H002 critical
        torch.cuda.synchronize()  # D2H004 medium
        return correct


def calibrate(model: nn.Module, batches):
    for batch in batches:
        logits = model(batch)
        print("batch max", logits.max())  # D2H005 critical


def replay(pipeline: Pipeline, frames: torch.Tensor):
    for i in range(frames.shape[0]):
        pipeline.process_frame(frames[i])
        seen = frames[i].mean().item()  # D2H002 critical
    return frames.shape[0]


def compute_stats(t: torch.Tensor):
    return {"mean": t.mean().item()}  # D2H002 medium


def loop_without_model(values: torch.Tensor):
    out = []
    for i in range(values.shape[0]):
        out.append(values[i].item())  # D2H002 medium
    return out


def plot_scores(scores: torch.Tensor):
    plt.plot(scores)  # D2H006 low


def visualize_masks(masks: torch.Tensor):
    plt.imshow(masks[0].float().cpu().numpy())  # D2H001 low


def draw_boxes(boxes: torch.Tensor):
    return [tuple(b) for b in boxes.tolist()]  # D2H001 low


def save_predictions(preds: torch.Tensor, path: str):
    torch.save(preds.cpu(), path)  # D2H001 low


def checkpoint_state(model: nn.Module, step_loss: torch.Tensor):
    return {"weights": model.state_dict(), "loss": step_loss.item()}  # D2H002 low


def setup_buffers(n: int):
    buf = torch.empty(n, device=DEVICE)
    torch.cuda.synchronize()  # D2H004 low
    return buf


def test_postprocess_keeps_confident_logits():
    logits = torch.full((4,), 3.0, device=DEVICE)
    kept = postprocess(logits)
    assert torch.equal(kept, logits)  # D2H002 low


if __name__ == "__main__":
    sample = torch.randn(2, 3, 32, 32, device=DEVICE)
    Pipeline(Detector()).process_frame(sample)
    print("sample mean", sample.mean())  # D2H005 low
