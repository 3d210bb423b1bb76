"""Rule fixture: host-library.

Lines ending in a rule-id marker must be reported with that rule; every other line must not.
"""
import math

import cv2
import matplotlib.pyplot as plt
import numpy as np
import scipy.ndimage
import torch
from PIL import Image
from scipy import ndimage
from scipy.optimize import linear_sum_assignment
from scipy.optimize import linear_sum_assignment as lsa


class Assigner:
    def __init__(self):
        self.cost = torch.zeros(8, 8, device="cuda")

    def solve(self):
        return linear_sum_assignment(self.cost)  # D2H006


def numpy_functions(t: torch.Tensor, path: str):
    a = np.mean(t)  # D2H006
    b = np.clip(t, 0.0, 1.0)  # D2H006
    c = np.percentile(t, [50, 90, 99])  # D2H006
    d, _ = np.histogram(t, bins=10)  # D2H006
    np.save(path, t)  # D2H006
    e = np.argsort(t.flatten())  # D2H006
    f = np.linalg.norm(t)  # D2H006
    return a, b, c, d, e, f


def scipy_functions(cost: torch.Tensor, mask: torch.Tensor):
    rows, cols = linear_sum_assignment(cost)  # D2H006
    r2, c2 = lsa(cost.T)  # D2H006
    labels, n = ndimage.label(mask)  # D2H006
    dist = scipy.ndimage.distance_transform_edt(mask)  # D2H006
    return rows, cols, r2, c2, labels, n, dist


def image_libraries(frame: torch.Tensor, mask: torch.Tensor, path: str):
    small = cv2.resize(frame, (320, 240))  # D2H006
    contours, _ = cv2.findContours(  # D2H006
        mask,
        cv2.RETR_EXTERNAL,
        cv2.CHAIN_APPROX_SIMPLE,
    )
    Image.fromarray(frame).save(path)  # D2H006
    return small, contours


def plotting_libraries(scores: torch.Tensor, heatmap: torch.Tensor):
    plt.plot(scores)  # D2H006
    plt.hist(scores.flatten(), bins=50)  # D2H006
    plt.imshow(heatmap.sigmoid())  # D2H006


def model_output_to_numpy(model: torch.nn.Module, x: torch.Tensor):
    logits = model(x)
    return np.max(logits)  # D2H006


def not_reported(t: torch.Tensor, arr: np.ndarray, path: str):
    a = np.mean(arr)
    b = np.clip(arr, 0.0, 1.0)
    cost_np = np.random.rand(4, 4)
    rows, cols = lsa(cost_np)
    c = np.prod(t.shape)
    d = np.zeros(t.shape[0])
    e = np.arange(len(t))
    f = np.float32(3.0)
    img = cv2.imread(path)
    g = cv2.resize(img, (320, 240))
    pil = Image.open(path)
    plt.plot([1.0, 2.0, 3.0])
    plt.title(f"{len(t)} samples")
    h = torch.clip(t, 0.0, 1.0)
    i = t.clamp(0.0, 1.0)
    host = torch.tensor([1.0, 2.0, 3.0])
    j = np.mean(host)
    k = math.sqrt(len(t))
    return a, b, rows, cols, c, d, e, f, g, pil, h, i, j, k
