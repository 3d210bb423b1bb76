"""Rule fixture: scalar-read.

Lines ending in a rule-id marker must be reported with that rule; every other line must not.
"""
import math

import numpy as np
import torch
import torch as th
from torch import Tensor

CLASS_NAMES = ["person", "car", "bicycle"]


class Stepper:
    def __init__(self):
        self.loss = torch.zeros((), device="cuda")
        self.best = float("inf")

    def improved(self) -> bool:
        return self.loss.item() < self.best  # D2H002


def explicit_reads(loss: torch.Tensor, count: torch.Tensor, flag: torch.Tensor):
    a = loss.item()  # D2H002
    b = float(loss)  # D2H002
    c = int(count)  # D2H002
    d = bool(flag)  # D2H002
    e = math.isfinite(loss)  # D2H002
    f = math.isfinite(loss.item())  # D2H002
    return a, b, c, d, e, f


def tensor_as_condition(t: torch.Tensor, u: torch.Tensor, scores: torch.Tensor):
    if t:  # D2H002
        pass
    while (scores > 0).any():  # D2H002
        scores = scores - 1
    assert t.all()  # D2H002
    assert torch.isfinite(scores).all(), "non-finite scores"  # D2H002
    both = t and u  # D2H002
    picked = scores if t else u  # D2H002
    negated = not t  # D2H002
    if (scores > 0.5).sum() > 3:  # D2H002
        pass
    return both, picked, negated


def python_builtins_over_tensors(scores: torch.Tensor):
    a = max(scores)  # D2H002
    b = min(scores)  # D2H002
    c = sum(scores)  # D2H002
    d = any(scores > 0.5)  # D2H002
    e = all(scores > 0.0)  # D2H002
    return a, b, c, d, e


def comparisons_and_indices(a: torch.Tensor, b: torch.Tensor, logits: torch.Tensor, x: torch.Tensor):
    same = torch.equal(a, b)  # D2H002
    same_alias = th.equal(a, b)  # D2H002
    name = CLASS_NAMES[logits.argmax()]  # D2H002
    n = (logits > 0).sum()
    head = x[:n]  # D2H002
    tail = x[n:]  # D2H002
    for i in range(n):  # D2H002
        head = head + i
    return same, same_alias, name, head, tail


def device_created(size: int):
    total = torch.ones(size, device="cuda").sum()
    return total.item()  # D2H002


def annotated_with_imported_name(t: Tensor) -> float:
    return t.mean().item()  # D2H002


def not_reported(t: torch.Tensor, items: list, cfg: dict, arr: np.ndarray, k: int):
    a = arr.mean().item()
    b = np.float32(3.0).item()
    host = torch.tensor([3.0])
    c = host.item()
    d = torch.zeros(2).sum().item()
    e = [key for key, value in cfg.items()]
    if t is None:
        return None
    if t is not None and items:
        pass
    if items:
        pass
    f = len(t)
    g = int(t.shape[0])
    h = float(t.numel())
    i = int(t.size(0))
    if t.shape[0] > 0 and t.numel() != 0:
        pass
    if t.is_cuda or t.requires_grad:
        pass
    if t.dtype == torch.float16:
        pass
    assert t.shape == (3,)
    assert t.device.type == "cuda"
    j = max(t.shape)
    m = max(f, g)
    n = sum(len(x) for x in items)
    o = torch.max(t)
    p = t.sum()
    q = torch.any(t > 0)
    r = torch.where(t > 0, t, torch.zeros_like(t))
    for idx in range(len(t)):
        pass
    for idx in range(t.shape[0]):
        pass
    s = t[:k]
    u = items[k]
    v = float("inf")
    w = int("3")
    z = math.isfinite(3.0)
    ok = torch.isfinite(t)
    if torch.cuda.is_available():
        pass
    return a, b, c, d, e, h, i, j, m, n, o, p, q, r, s, u, v, w, z, ok
