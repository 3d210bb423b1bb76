"""The worked example of docs/pytest-plugin.md: run with `pytest --d2h-report runtime.json`."""

import pytest
import torch

import d2h
from tracker import Detector, postprocess, postprocess_legacy


@pytest.fixture(scope="module")
def model():
    detector = Detector().cuda().eval()
    with torch.no_grad():  # warm-up (cuDNN, cuBLAS), outside every budget
        detector(torch.rand(1, 3, 128, 128, device="cuda"))
    return detector


@pytest.fixture
def frame():
    return torch.rand(1, 3, 128, 128, device="cuda")


@pytest.mark.d2h_budget(syncs=0, uploads=0)
def test_resident_postprocess_never_syncs(model, frame):
    with torch.no_grad():
        kept = postprocess(model(frame))
    assert kept.shape == (1, 8)


@pytest.mark.d2h_budget(syncs=0)
def test_legacy_postprocess_syncs(model, frame):
    with torch.no_grad():
        postprocess_legacy(model(frame))


def test_logging_is_allowed_with_a_reason(model, frame):
    with torch.no_grad():
        scores = model(frame)
    with d2h.budget(syncs=0, allow={"test_tracker.py:41": "one scalar per epoch for the logger"}):
        mean = postprocess(scores).mean()
        print(f"mean peak {mean.item():.3f}")
