"""Rule fixture: data-dependent-shape.

Lines ending in a rule-id marker must be reported with that rule; every other line must not.
"""
import numpy as np
import torch
import torch as th
import torchvision
from torch import nonzero
from torchvision.ops import batched_nms, nms


class Filter:
    def __init__(self, threshold: float):
        self.threshold = threshold
        self.anchors = torch.zeros(100, 4, device="cuda")

    def keep_anchors(self, scores: torch.Tensor) -> torch.Tensor:
        return self.anchors[scores > self.threshold]  # D2H003


def index_producers(mask: torch.Tensor, x: torch.Tensor):
    a = torch.nonzero(mask)  # D2H003
    b = mask.nonzero()  # D2H003
    c = torch.where(mask)  # D2H003
    d = nonzero(mask)  # D2H003
    e = th.nonzero(mask, as_tuple=True)  # D2H003
    f = torch.argwhere(x > 0)  # D2H003
    g = x.argwhere()  # D2H003
    return a, b, c, d, e, f, g


def selections(x: torch.Tensor, scores: torch.Tensor, raw):
    a = torch.masked_select(x, x > 0)  # D2H003
    b = x.masked_select(scores > 0.5)  # D2H003
    keep = scores > 0.5
    c = x[keep]  # D2H003
    d = x[raw.bool()]  # D2H003
    e = x[torch.isnan(x)]  # D2H003
    f = x[~torch.isfinite(x)]  # D2H003
    g = x[(scores > 0.1) & (scores < 0.9)]  # D2H003
    h = x[:, scores > 0.5]  # D2H003
    return a, b, c, d, e, f, g, h


def uniques_and_repeats(labels: torch.Tensor, counts: torch.Tensor, feats: torch.Tensor):
    a = torch.unique(labels)  # D2H003
    b = labels.unique(return_counts=True)  # D2H003
    c = torch.unique_consecutive(labels)  # D2H003
    d = labels.unique_consecutive()  # D2H003
    e = torch.repeat_interleave(feats, counts, dim=0)  # D2H003
    f = feats.repeat_interleave(counts, dim=0)  # D2H003
    g = counts.repeat_interleave(counts)  # D2H003
    return a, b, c, d, e, f, g


def suppression(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor):
    a = torchvision.ops.nms(boxes, scores, 0.5)  # D2H003
    b = torchvision.ops.batched_nms(boxes, scores, idxs, 0.5)  # D2H003
    c = nms(boxes, scores, iou_threshold=0.7)  # D2H003
    d = batched_nms(  # D2H003
        boxes,
        scores,
        idxs,
        0.6,
    )
    return a, b, c, d


def not_reported(x: torch.Tensor, scores: torch.Tensor, counts: torch.Tensor, arr: np.ndarray, n: int, k: int):
    a = torch.where(scores > 0.5, x, torch.zeros_like(x))
    b = x.masked_fill(scores < 0.5, 0.0)
    c = x.repeat_interleave(counts, dim=0, output_size=n)
    d = torch.repeat_interleave(x, counts, output_size=n)
    top_scores, top_idx = scores.topk(k)
    e = x[top_idx]
    best = scores.argmax(dim=-1)
    f = x[best]
    order = scores.argsort(descending=True)
    g = x[order]
    h = x[:, 0]
    i = x[..., :2]
    j = x[None]
    m = x[1:k]
    valid = scores > 0.5
    o = scores.masked_fill(~valid, float("-inf")).topk(k).indices
    p = np.nonzero(arr)
    q = arr[arr > 0]
    r = np.unique(arr)
    s = np.where(arr > 0)
    u = torchvision.ops.box_iou(x, x)
    v = valid.float() * scores
    w = torch.gather(x, 0, order.unsqueeze(-1).expand_as(x))
    return a, b, c, d, top_scores, e, f, g, h, i, j, m, o, p, q, r, s, u, v, w
