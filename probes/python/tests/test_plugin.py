"""The pytest plugin on the CPU: budgets, nesting, allow-lists, the skip path and the session
report, against a stand-in `torch` whose CUDA tensors warn the way torch's sync debug mode does
(`torch.cuda.set_sync_debug_mode("warn")`), so the plugin's real path (warning -> event -> line
-> budget or report) runs without a GPU. test_plugin_gpu.py runs the same on a real device."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import textwrap

import pytest

PROBES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(PROBES))

# A stand-in for torch: CUDA tensors whose reads and uploads warn under the "warn" sync debug
# mode, as torch's do. `FAKE_CUDA=0` makes `torch.cuda.is_available()` False.
FAKE_TORCH = '''
import warnings

from . import cuda


def _synced():
    if cuda._mode == "warn":
        warnings.warn("called a synchronizing CUDA operation", UserWarning)


class Tensor:
    def __init__(self, value, device="cpu"):
        self.value = value
        self.device = device

    @property
    def is_cuda(self):
        return self.device == "cuda"

    def element_size(self):
        return 4

    def nelement(self):
        return 1

    def item(self):
        if self.is_cuda:
            _synced()
        return self.value

    def cpu(self):
        if self.is_cuda:
            _synced()
        return Tensor(self.value)

    def __add__(self, other):
        return Tensor(self.value + getattr(other, "value", other), self.device)

    def __format__(self, spec):
        return format(self.value, spec)

    def __repr__(self):
        return f"tensor({self.value})"


def tensor(value, device="cpu"):
    if device == "cuda":
        _synced()  # a blocking upload from pageable memory
    return Tensor(value, device)
'''

FAKE_CUDA = '''
import os

_mode = "default"


def is_available():
    return os.environ.get("FAKE_CUDA", "1") == "1"


def set_sync_debug_mode(mode):
    global _mode
    _mode = mode


def synchronize():
    pass


def empty_cache():
    pass


class Event:
    def synchronize(self):
        pass


class Stream:
    def synchronize(self):
        pass
'''


def _entry_point_installed() -> bool:
    try:
        points = importlib.metadata.entry_points(group="pytest11")
    except TypeError:  # Python < 3.10
        points = importlib.metadata.entry_points().get("pytest11", [])
    return any(point.value == "d2h.pytest_plugin" for point in points)


def line_of(path, needle: str) -> int:
    """The 1-based line of the first line of `path` that contains `needle`."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} is not in {path}")


@pytest.fixture
def run(pytester, monkeypatch):
    """Runs pytest in a subprocess over pytester's directory, with the stand-in torch."""
    package = pytester.mkpydir("torch")
    (package / "__init__.py").write_text(FAKE_TORCH)
    (package / "cuda.py").write_text(FAKE_CUDA)
    plugin = []
    if not _entry_point_installed():  # from a checkout: the plugin is not registered
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [PROBES, os.environ.get("PYTHONPATH")])))
        plugin = ["-p", "d2h.pytest_plugin"]

    def runner(*args, cuda=True):
        monkeypatch.setenv("FAKE_CUDA", "1" if cuda else "0")
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", *plugin, *args)

    return runner


def write(pytester, name: str, source: str, **lines):
    """Writes a test file; `{NAME}` placeholders become the line of the text after `NAME=`."""
    source = textwrap.dedent(source)
    numbered = source.splitlines()
    for key, needle in lines.items():
        number = next(i for i, line in enumerate(numbered, start=1) if needle in line)
        source = source.replace("{" + key + "}", str(number))
    path = pytester.path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path


# -- budgets -----------------------------------------------------------------------------------


def test_a_sync_inside_a_zero_budget_fails_naming_its_line_rule_and_count(run, pytester):
    path = write(
        pytester,
        "test_model.py",
        """
        import pytest
        import torch


        @pytest.mark.d2h_budget(syncs=0)
        def test_reads_back():
            x = torch.tensor(2.0, device="cuda")
            for _ in range(3):
                x.item()


        @pytest.mark.d2h_budget(syncs=0)
        def test_stays_on_the_device():
            x = torch.tensor(2.0, device="cuda")
            y = x + x
        """,
    )
    result = run("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_reads_back FAILED*",
            "*test_stays_on_the_device PASSED*",
            "*d2h budget exceeded: 3 syncs (budget 0)",
            f"*test_model.py:{line_of(path, 'x.item()')}: D2H002 scalar-read (3 syncs): x.item()",
        ]
    )
    # the upload on the line before is not a sync, and uploads have no limit by default
    assert "D2H007" not in result.stdout.str()


def test_uploads_are_counted_apart_and_limits_are_counts(run, pytester):
    path = write(
        pytester,
        "test_counts.py",
        """
        import pytest
        import torch


        @pytest.mark.d2h_budget(syncs=0, uploads=0)
        def test_uploads():
            x = torch.tensor(2.0, device="cuda")


        @pytest.mark.d2h_budget(syncs=2)
        def test_two_of_two():
            x = torch.tensor(2.0, device="cuda")
            x.item()
            x.cpu()


        @pytest.mark.d2h_budget(syncs=1)
        def test_two_of_one():
            x = torch.tensor(2.0, device="cuda")
            x.item()
            x.cpu()
        """,
    )
    result = run("-v")
    result.assert_outcomes(passed=1, failed=2)
    upload = line_of(path, 'x = torch.tensor(2.0, device="cuda")')
    result.stdout.fnmatch_lines(
        [
            "*d2h budget exceeded: 1 upload (budget 0)",
            f'*test_counts.py:{upload}: D2H007 blocking-upload (1 upload): x = torch.tensor(2.0, device="cuda")',
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*d2h budget exceeded: 2 syncs (budget 1)",
            "*test_counts.py:*: D2H002 scalar-read (1 sync): x.item()",
            "*test_counts.py:*: D2H001 explicit-copy (1 sync): x.cpu()",
        ]
    )


def test_allowed_sites_need_a_reason_and_cover_their_line_only(run, pytester):
    write(
        pytester,
        "test_allow.py",
        """
        import pytest
        import torch


        @pytest.mark.d2h_budget(syncs=0, allow={"test_allow.py:{ALLOWED}": "one scalar for the progress bar"})
        def test_allowed():
            x = torch.tensor(2.0, device="cuda")
            x.item()  # ALLOWED


        @pytest.mark.d2h_budget(syncs=0, allow={"test_allow.py:{SECOND}": "one scalar for the progress bar"})
        def test_other_line():
            x = torch.tensor(2.0, device="cuda")
            x.item()  # SECOND
            x.cpu()  # COPY


        @pytest.mark.d2h_budget(syncs=0, allow=["test_allow.py:{ALLOWED}"])
        def test_no_reason():
            pass


        @pytest.mark.d2h_budget(syncs=0, allow=["test_allow.py"], reason="the whole file is a benchmark")
        def test_whole_file():
            x = torch.tensor(2.0, device="cuda")
            x.item()
            x.cpu()
        """,
        ALLOWED="x.item()  # ALLOWED",
        SECOND="x.item()  # SECOND",
    )
    result = run("-v")
    result.assert_outcomes(passed=2, failed=2)
    text = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*d2h budget exceeded: 1 sync (budget 0)",
            "*test_allow.py:*: D2H001 explicit-copy (1 sync): x.cpu()  # COPY",
            "allowed in this scope:",
            "*test_allow.py:*: D2H002 scalar-read (1 sync): x.item()  # SECOND -- allowed: one scalar for the progress bar",
        ]
    )
    assert "has no reason: say why the sync is intended" in text
    assert "test_whole_file PASSED" in text and "test_allowed PASSED" in text


def test_scopes_nest(run, pytester):
    write(
        pytester,
        "test_nest.py",
        """
        import d2h
        import pytest
        import torch


        def test_a_sync_counts_in_every_scope_around_it():
            x = torch.tensor(2.0, device="cuda")
            with pytest.raises(d2h.BudgetExceeded) as failed:
                with d2h.budget(syncs=0) as outer:
                    with d2h.budget(syncs=1) as inner:
                        x.item()
            assert (inner.syncs, outer.syncs, failed.value.syncs) == (1, 1, 1)
            assert [site.rule for site in failed.value.sites] == ["D2H002"]


        def test_an_outer_allow_covers_the_scopes_inside():
            x = torch.tensor(2.0, device="cuda")
            with d2h.budget(syncs=0, allow={"test_nest.py:{OUTER}": "logged once per epoch"}):
                with d2h.budget(syncs=0) as inner:
                    x.item()  # OUTER
            assert inner.syncs == 0
            assert [site.allowed_by for site in inner.sites] == ["logged once per epoch"]


        def test_an_inner_allow_does_not_cover_the_scope_around_it():
            x = torch.tensor(2.0, device="cuda")
            with pytest.raises(d2h.BudgetExceeded, match="1 sync [(]budget 0[)]"):
                with d2h.budget(syncs=0) as outer:
                    with d2h.budget(syncs=0, allow={"test_nest.py:{INNER}": "only the inner scope allows it"}):
                        x.item()  # INNER
            assert outer.syncs == 1


        def test_after_the_scopes_nothing_is_counted():
            x = torch.tensor(2.0, device="cuda")
            with d2h.budget(syncs=0) as scope:
                pass
            x.item()
            assert (scope.syncs, scope.sites) == (0, [])
            assert d2h._budget._Watch.current is None
        """,
        OUTER="x.item()  # OUTER",
        INNER="x.item()  # INNER",
    )
    result = run("-v")
    result.assert_outcomes(passed=4)


def test_bad_marker_arguments_fail_with_the_value(run, pytester):
    write(
        pytester,
        "test_bad.py",
        """
        import pytest


        @pytest.mark.d2h_budget(syncs=-1)
        def test_negative():
            pass


        @pytest.mark.d2h_budget(0)
        def test_positional():
            pass


        @pytest.mark.d2h_budget(syncs=0, allow="test_bad.py:3", reason="a string, not a list")
        def test_allow_string():
            pass
        """,
    )
    result = run()
    result.assert_outcomes(failed=3)
    text = result.stdout.str()
    assert "syncs=-1 is not a count" in text
    assert "d2h_budget takes keyword arguments only" in text
    assert "allow='test_bad.py:3': give a list of sites" in text


# -- without CUDA ------------------------------------------------------------------------------

NO_CUDA_TESTS = """
import d2h
import pytest
import torch


@pytest.mark.d2h_budget(syncs=0)
def test_marked():
    raise AssertionError("a budgeted test must not run unobserved")


def test_with_a_scope():
    with d2h.budget(syncs=0):
        raise AssertionError("a budget scope must not run unobserved")


def test_unbudgeted():
    pass
"""


def test_without_cuda_budgets_skip_with_the_reason(run, pytester):
    write(pytester, "test_cpu.py", NO_CUDA_TESTS)
    result = run(cuda=False)
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(
        ["SKIPPED * d2h budget: no CUDA device (torch.cuda.is_available() is False): device syncs cannot be observed"]
    )


def test_without_cuda_budgets_can_fail_instead(run, pytester):
    write(pytester, "test_cpu.py", NO_CUDA_TESTS)
    result = run("--d2h-no-cuda=fail", cuda=False)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*d2h budget: no CUDA device * (d2h_no_cuda = fail)"])
    assert "must not run unobserved" not in result.stdout.str()
    # the same from the ini file
    pytester.makeini("[pytest]\nd2h_no_cuda = fail\n")
    run(cuda=False).assert_outcomes(passed=1, failed=2)
    pytester.makeini("[pytest]\nd2h_no_cuda = sometimes\n")
    result = run(cuda=False)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*d2h_no_cuda = 'sometimes': expected one of skip, fail"])


def test_without_torch_budgets_skip_saying_so(run, pytester):
    (pytester.path / "torch" / "__init__.py").write_text('raise ImportError("No module named \'torch\'")\n')
    write(pytester, "test_cpu.py", NO_CUDA_TESTS.replace("import torch\n", ""))
    result = run()
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["SKIPPED * d2h budget: torch is not installed: device syncs cannot be observed"])


# -- the session report ------------------------------------------------------------------------

MODEL = """
import d2h
import torch


def forward(x):
    y = x + x
    return y.item()


def upload(value):
    return torch.tensor(value, device="cuda")
"""

MODEL_TESTS = """
import d2h
import torch

from pkg.model import forward, upload


def test_setup_like():
    x = upload(1.0)
    forward(x)
    forward(x)


def test_frames():
    x = upload(2.0)
    for _ in range(3):
        with d2h.frame():
            forward(x)
"""


def test_the_session_report_is_a_runtime_report_that_compare_joins(run, pytester):
    write(pytester, "pkg/__init__.py", "")
    model = write(pytester, "pkg/model.py", MODEL)
    write(pytester, "tests/test_model.py", MODEL_TESTS)
    result = run("--d2h-report", "runtime.json")
    result.assert_outcomes(passed=2)
    report = json.loads((pytester.path / "runtime.json").read_text())
    assert (report["schema"], report["origin"]) == ("d2h-report/1", "runtime")
    assert os.path.realpath(report["root"]) == os.path.realpath(str(pytester.path))
    read, sent = line_of(model, "return y.item()"), line_of(model, "torch.tensor(value")
    found = {(f["file"], f["line"], f["rule"], f["phase"]): f for f in report["findings"]}
    assert sorted(found) == [
        ("pkg/model.py", read, "D2H002", "frame"),
        ("pkg/model.py", read, "D2H002", "setup"),
        ("pkg/model.py", sent, "D2H007", "setup"),
    ]
    frame = found[("pkg/model.py", read, "D2H002", "frame")]
    assert (frame["count"], frame["per_frame"], frame["severity"]) == (3, 1.0, "critical")
    assert found[("pkg/model.py", read, "D2H002", "setup")]["count"] == 2
    assert found[("pkg/model.py", sent, "D2H007", "setup")]["count"] == 2
    assert report["summary"]["total"] == 3
    result.stdout.fnmatch_lines(["d2h: runtime report *runtime.json: 3 sites"])

    d2h = os.environ.get("D2H_BIN") or shutil.which("d2h")
    if d2h is None:
        pytest.skip("no d2h binary (set D2H_BIN or put d2h on PATH) to run `d2h compare` with")
    static = pytester.path / "static.json"
    subprocess.run([d2h, "audit", ".", "--format", "json", "--output", str(static), "--quiet"], cwd=pytester.path)
    compared = subprocess.run(
        [d2h, "compare", str(static), str(pytester.path / "runtime.json"), "--format", "json"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
    )
    assert compared.returncode == 0, compared.stderr
    joined = json.loads(compared.stdout)
    # paths as compare prints them: joined with each report's root (here the absolute one)
    confirmed = {
        (os.path.relpath(os.path.join(pytester.path, site["file"]), pytester.path), site["line"], site["rule"])
        for site in joined["confirmed"]
    }
    assert ("pkg/model.py", read, "D2H002") in confirmed
    assert ("pkg/model.py", sent, "D2H007") in confirmed
    assert joined["runtime_only"] == []


def test_without_cuda_the_report_says_why_it_is_empty(run, pytester):
    write(pytester, "pkg/__init__.py", "")
    write(pytester, "pkg/model.py", MODEL)
    write(pytester, "tests/test_model.py", MODEL_TESTS)
    result = run("--d2h-report", "runtime.json", cuda=False)
    result.assert_outcomes(passed=2)
    report = json.loads((pytester.path / "runtime.json").read_text())
    assert report["findings"] == [] and report["schema"] == "d2h-report/1"
    result.stdout.fnmatch_lines(["d2h: runtime report *runtime.json: 0 sites (none observed: no CUDA device *)"])


def test_a_report_in_a_missing_directory_is_a_usage_error(run, pytester):
    write(pytester, "test_nothing.py", "def test_nothing():\n    pass\n")
    result = run("--d2h-report", "missing/runtime.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--d2h-report *missing/runtime.json: the directory *missing does not exist"])


# -- the installed wheel -----------------------------------------------------------------------


def test_the_installed_wheel_registers_the_plugin(pytester):
    try:
        importlib.metadata.distribution("d2h")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("d2h is not installed (a source checkout): the entry point is the wheel's")
    assert _entry_point_installed()
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--d2h-report=PATH*", "*--d2h-no-cuda=*"])
