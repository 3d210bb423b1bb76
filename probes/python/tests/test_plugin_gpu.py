"""The pytest plugin on a real CUDA device (skipped without one): a test that syncs inside a
`syncs=0` budget fails naming its lines, a clean one passes, uploads are told from reads by the
op that synced, an allowed site passes, and the session report joins the static audit.

Recorded run: docs/pytest-plugin.md."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from test_plugin import _entry_point_installed, line_of, write

PROBES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device: the plugin's GPU tests need one", allow_module_level=True)

GPU_TESTS = """
import pytest
import torch

import d2h


@pytest.fixture(autouse=True, scope="module")
def warm_up():
    # CUDA context, cuBLAS handle: created once, outside every budget
    x = torch.randn(512, 512, device="cuda")
    torch.relu(x @ x)


@pytest.mark.d2h_budget(syncs=0, uploads=0)
def test_stays_on_the_device():
    x = torch.randn(512, 512, device="cuda")
    y = torch.relu(x @ x)
    keep = torch.where(y > 0, y, torch.zeros_like(y))
    assert keep.shape == (512, 512)


@pytest.mark.d2h_budget(syncs=0)
def test_reads_back():
    x = torch.randn(512, 512, device="cuda")
    loss = (x @ x).mean()
    for _ in range(2):
        if loss.item() > 1e9:
            break
    picked = x[x > 0]
    assert picked.numel() > 0


@pytest.mark.d2h_budget(syncs=0, uploads=0)
def test_uploads():
    x = torch.randn(4, device="cuda")
    offsets = torch.arange(4, dtype=torch.float32)
    y = x + offsets.to("cuda")


@pytest.mark.d2h_budget(syncs=0, allow={"test_gpu.py:{LOGGED}": "one scalar per epoch for the logger"})
def test_allowed_read():
    x = torch.randn(512, 512, device="cuda")
    mean = (x @ x).mean().item()
    assert mean == mean


def test_scope_in_the_body():
    x = torch.randn(512, 512, device="cuda")
    with d2h.budget(syncs=0) as scope:
        y = x.sum()
    print(y.item())
    assert scope.syncs == 0
"""


@pytest.fixture
def run(pytester, monkeypatch):
    plugin = []
    if not _entry_point_installed():
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [PROBES, os.environ.get("PYTHONPATH")])))
        plugin = ["-p", "d2h.pytest_plugin"]

    def runner(*args):
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", *plugin, *args)

    return runner


def test_budgets_on_a_real_device(run, pytester):
    path = write(pytester, "test_gpu.py", GPU_TESTS, LOGGED="(x @ x).mean().item()")
    result = run("-v", "--d2h-report", "runtime.json")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_stays_on_the_device PASSED*",
            "*test_reads_back FAILED*",
            "*test_uploads FAILED*",
            "*test_allowed_read PASSED*",
            "*test_scope_in_the_body PASSED*",
        ]
    )
    item = line_of(path, "if loss.item() > 1e9:")
    mask = line_of(path, "picked = x[x > 0]")
    upload = line_of(path, 'y = x + offsets.to("cuda")')
    result.stdout.fnmatch_lines(
        [
            "*d2h budget exceeded: 3 syncs (budget 0)",
            f"*test_gpu.py:{item}: D2H002 scalar-read (2 syncs): if loss.item() > 1e9:",
        ]
    )
    text = result.stdout.str()
    masked = [line for line in text.splitlines() if f"test_gpu.py:{mask}: D2H00" in line]
    assert masked and masked[0].endswith("(1 sync): picked = x[x > 0]"), masked
    result.stdout.fnmatch_lines(
        [
            "*d2h budget exceeded: 1 upload (budget 0)",
            f'*test_gpu.py:{upload}: D2H007 blocking-upload (1 upload): y = x + offsets.to("cuda")',
        ]
    )
    report = json.loads((pytester.path / "runtime.json").read_text())
    sites = {(f["line"], f["rule"]): f["count"] for f in report["findings"] if f["file"] == "test_gpu.py"}
    assert sites[(item, "D2H002")] == 2
    assert sites[(upload, "D2H007")] == 1
    logged = line_of(path, "(x @ x).mean().item()")
    assert sites[(logged, "D2H002")] == 1  # allowed in the budget, still in the report
    printed = line_of(path, "print(y.item())")
    assert (printed, "D2H002") in sites or (printed, "D2H005") in sites  # outside the scope

    d2h = os.environ.get("D2H_BIN") or shutil.which("d2h")
    if d2h is None:
        pytest.skip("no d2h binary to run `d2h compare` with")
    static = pytester.path / "static.json"
    subprocess.run([d2h, "audit", ".", "--format", "json", "--output", str(static), "--quiet"], cwd=pytester.path)
    compared = subprocess.run(
        [d2h, "compare", str(static), "runtime.json", "--format", "json"], cwd=pytester.path, capture_output=True, text=True
    )
    assert compared.returncode == 0, compared.stderr
    joined = json.loads(compared.stdout)
    confirmed = {(site["line"], site["rule"]) for site in joined["confirmed"] if site["file"].endswith("test_gpu.py")}
    assert (item, "D2H002") in confirmed, joined
    print(subprocess.run([d2h, "compare", str(static), "runtime.json"], cwd=pytester.path, capture_output=True, text=True).stdout)
