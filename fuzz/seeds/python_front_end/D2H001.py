"""Rule fixture: explicit-copy.

Lines ending in a rule-id marker must be reported with that rule; every other line must not.
"""
import logging

import numpy as np
import numpy as onp
import pandas as pd
import torch
import torch as th
from torch import Tensor

logger = logging.getLogger(__name__)

CPU = torch.device("cpu")


class FeatureBank:
    def __init__(self, device: torch.device):
        self.device = device
        self.cpu_device = torch.device("cpu")
        self.buf = torch.zeros(4, device="cuda")
        self.history = []

    def snapshot(self):
        return self.buf.cpu()  # D2H001

    def snapshot_to_held_device(self):
        return self.buf.to(self.cpu_device)  # D2H001

    def snapshot_list(self):
        return self.buf.tolist()  # D2H001

    def upload(self, arr: np.ndarray) -> torch.Tensor:
        # Host -> device uploads are not device-to-host copies.
        t = torch.from_numpy(arr).to(self.device)  # D2H007
        u = torch.as_tensor(arr, device=self.device)  # D2H007
        self.buf = self.buf.to(self.device, non_blocking=True)
        return t + u


def every_copy_form(x: torch.Tensor):
    a = x.cpu()  # D2H001
    b = x.to("cpu")  # D2H001
    c = x.to(device="cpu")  # D2H001
    d = x.to(torch.device("cpu"))  # D2H001
    e = x.to(CPU)  # D2H001
    f = x.numpy()  # D2H001
    g = x.tolist()  # D2H001
    h = np.asarray(x)  # D2H001
    i = np.array(x)  # D2H001
    j = x.to("cpu", non_blocking=True)  # D2H001
    k = x.to(device="cpu", dtype=torch.float16)  # D2H001
    m = x.to(th.device("cpu"))  # D2H001
    n = onp.asarray(x)  # D2H001
    return a, b, c, d, e, f, g, h, i, j, k, m, n


def chains_are_one_finding(x: torch.Tensor):
    arr = x.detach().cpu().numpy()  # D2H001
    lst = x.float().cpu().tolist()  # D2H001
    arr2 = x.cpu().detach().numpy()  # D2H001
    arr3 = x.detach().to("cpu").numpy()  # D2H001
    return arr, lst, arr2, arr3


def tensor_results_of_tensor_methods(logits: torch.Tensor):
    probs = logits.softmax(-1)
    top = probs.argmax(-1)
    labels = top.tolist()  # D2H001
    masks = (probs > 0.5).cpu()  # D2H001
    return labels, masks


def model_outputs(model: torch.nn.Module, images: torch.Tensor):
    outputs = model(images)
    boxes = outputs["pred_boxes"].cpu().numpy()  # D2H001
    return boxes


def created_on_device(n: int):
    buf = torch.zeros(n, device="cuda")
    ids = torch.arange(n, device=torch.device("cuda"))
    host_buf = buf.cpu()  # D2H001
    host_ids = ids.tolist()  # D2H001
    return host_buf, host_ids


def annotated_with_imported_name(t: Tensor):
    return t.tolist()  # D2H001


def multi_line_calls(x: torch.Tensor, path: str):
    boxes = np.asarray(  # D2H001
        x,
        dtype=np.float32,
    )
    np.save(
        path,
        x.detach().cpu().numpy(),  # D2H001
    )
    arr = x.detach().cpu(  # D2H001
        memory_format=torch.contiguous_format,
    ).numpy()
    payload = {
        "boxes": x.cpu().numpy(),  # D2H001
        "count": len(x),
    }
    return boxes, arr, payload


def name_used_with_tensor_only_methods(feats):
    normed = feats.sigmoid().permute(0, 2, 1)
    return normed.cpu()  # D2H001


def not_reported(x: torch.Tensor, values: list, frame_df: pd.DataFrame, device: torch.device):
    arr = np.zeros(3)
    a = arr.tolist()
    b = np.asarray([0.1, 0.2, 0.3])
    c = np.array(values)
    d = np.asarray(x.shape)
    e = np.array([len(x), x.shape[0], x.ndim])
    f = x.to(device)
    g = x.to("cuda:0")
    h = x.to(torch.float16)
    i = x.to(dtype=torch.bfloat16)
    j = x.cuda()
    host = torch.tensor([1.0, 2.0])
    k = host.numpy()
    m = host.tolist()
    n = torch.zeros(3).tolist()
    cfg = {"lr": 1e-3, "epochs": 2}
    o = [key for key, _ in cfg.items()]
    p = frame_df.to_numpy()
    q = list(x.shape)
    r = torch.cuda.is_available()
    s = x.device.type == "cpu"
    u = x.numel()
    logger.info("device=%s dtype=%s", x.device, x.dtype)
    return a, b, c, d, e, f, g, h, i, j, k, m, n, o, p, q, r, s, u
