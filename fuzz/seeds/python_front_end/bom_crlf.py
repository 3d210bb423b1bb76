import torch

def step(t: torch.Tensor):
    return t.item() if t else t.tolist()
