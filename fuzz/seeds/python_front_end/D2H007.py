"""D2H007 blocking-upload: host data copied to the device synchronously."""
import numpy as np
import torch
from torch import nn

DEVICE = torch.device("cuda")


class Head(nn.Module):
    def __init__(self, device):
        super().__init__()
        self.device = device
        self.offsets = torch.tensor([0.0, 1.0], device=device)  # D2H007
        self.register_buffer("scale", torch.tensor([2.0, 2.0]))
        self.staging = torch.empty(1024, pin_memory=True)
        self.zeros = torch.zeros(4, device=device)

    def uploads(self, arr: np.ndarray, x: torch.Tensor, n: int):
        a = torch.tensor(arr, device=self.device)  # D2H007
        b = torch.as_tensor(arr, device=x.device)  # D2H007
        c = torch.from_numpy(arr).to(self.device)  # D2H007
        d = torch.from_numpy(arr).cuda()  # D2H007
        e = torch.as_tensor(  # D2H007
            arr.tolist(),  # multi-line: the site starts on the line above
            device=self.device,
        )
        f = torch.tensor([1, 2, 3]).to(x.device, non_blocking=True)  # D2H007
        host = torch.arange(n)
        g = x[host]  # D2H007
        h = x[[0, 2]]  # D2H007
        x[torch.tensor([1])] = 0.0  # D2H007
        return a, b, c, d, e, f, g, h

    def not_uploads(self, arr: np.ndarray, x: torch.Tensor, n: int):
        a = torch.zeros(n, device=self.device)
        b = torch.arange(n, device=x.device)
        c = torch.full((n,), 3.0, device=x.device)
        d = torch.empty(n, device=DEVICE)
        e = torch.as_tensor(x, device=x.device)
        pinned = torch.from_numpy(arr).pin_memory()
        f = pinned.to(self.device, non_blocking=True)
        g = self.staging.to(self.device, non_blocking=True)
        h = self.staging[:n].to(self.device, non_blocking=True)
        i = x[b]
        j = x[0]
        k = x[:n]
        m = torch.tensor([1.0, 2.0]).to(torch.float16)
        cpu = torch.tensor([1.0]).to("cpu")
        return a, b, c, d, e, f, g, h, i, j, k, m, cpu


def element_writes(buf: torch.Tensor, x: torch.Tensor, i: int, value: float, t: torch.Tensor):
    buf[i] = value  # D2H007
    buf[3] = 1.5  # D2H007
    buf[i] = t.sum()  # D2H002
    x[:, 0] = 2.0
    x[1:3] = value
    scale = x.new_tensor([1.0, 2.0])  # D2H007
    fill = x.new_full((4,), value)
    return scale, fill
