"""The d2h pytest plugin (registered through the `pytest11` entry point).

- ``@pytest.mark.d2h_budget(syncs=0, uploads=0, allow=..., reason=...)`` runs the test's call
  inside ``d2h.budget(...)``: the test fails when more device syncs (or blocking uploads) happen
  than allowed, naming each offending line with its rule and count.
- Where syncs cannot be observed (torch missing, no CUDA device) a budgeted test is skipped with
  that reason; ``--d2h-no-cuda=fail`` (or ``d2h_no_cuda = fail`` in the ini file) fails it
  instead. A ``with d2h.budget():`` inside a test body follows the same setting.
- ``--d2h-report PATH`` writes the ``d2h-report/1`` runtime report of every sync seen during the
  session's tests (setup, call and teardown), attributed to lines under the pytest root, for
  ``d2h compare static.json PATH``.
"""

from __future__ import annotations

import contextlib
import json
import os

import pytest

import d2h_probe
from d2h._budget import BudgetUnobservable, _Watch, budget, cuda_unavailable_reason

POLICIES = ("skip", "fail")


class _State:
    def __init__(self, config):
        self.root = str(config.rootpath)
        self.policy = config.getoption("d2h_no_cuda") or config.getini("d2h_no_cuda") or "skip"
        if self.policy not in POLICIES:
            raise pytest.UsageError(f"d2h_no_cuda = {self.policy!r}: expected one of {', '.join(POLICIES)}")
        self.report = config.getoption("d2h_report")
        self.recorder = d2h_probe.Recorder(root=self.root) if self.report else None
        self._unavailable = False  # not yet known
        if self.report:
            self.report = os.path.abspath(self.report)
            parent = os.path.dirname(self.report)
            if not os.path.isdir(parent):
                raise pytest.UsageError(f"--d2h-report {self.report}: the directory {parent} does not exist")

    def unavailable(self) -> str | None:
        """Why syncs cannot be observed here (asked once per session), or None."""
        if self._unavailable is False:
            self._unavailable = cuda_unavailable_reason()
        return self._unavailable

    def unobservable(self, reason: str):
        if self.policy == "fail":
            pytest.fail(f"d2h budget: {reason} (d2h_no_cuda = fail)", pytrace=False)
        pytest.skip(f"d2h budget: {reason}")

    @contextlib.contextmanager
    def watching(self):
        """Feeds the session report while a test phase runs (a no-op without --d2h-report)."""
        if self.recorder is None or self.unavailable() is not None:
            yield
            return
        watch = _Watch.acquire(self.root, self.recorder)
        try:
            yield
        finally:
            watch.release()


_STATE = pytest.StashKey()


def pytest_addoption(parser):
    group = parser.getgroup("d2h", "d2h: device syncs")
    group.addoption(
        "--d2h-report",
        metavar="PATH",
        default=None,
        help="write the d2h-report/1 runtime report of the syncs seen in the session's tests to PATH "
        "(for `d2h compare static.json PATH`)",
    )
    group.addoption(
        "--d2h-no-cuda",
        choices=POLICIES,
        default=None,
        help="where syncs cannot be observed (no torch, no CUDA device): skip budgeted tests (default) or fail them",
    )
    parser.addini("d2h_no_cuda", "skip or fail: what a d2h budget does without a CUDA device (default skip)", default="skip")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "d2h_budget(syncs=0, uploads=None, allow=None, reason=None): fail the test when its call makes more "
        "device syncs (D2H001-D2H006) or blocking uploads (D2H007) than allowed; allow= names intended "
        "sites ('file.py:LINE') with a reason",
    )
    config.stash[_STATE] = _State(config)


def _budget_for(item, state):
    marker = item.get_closest_marker("d2h_budget")
    if marker is None:
        return None
    if marker.args:
        pytest.fail(
            f"{item.nodeid}: d2h_budget takes keyword arguments only (syncs=, uploads=, allow=, reason=), got {marker.args!r}",
            pytrace=False,
        )
    kwargs = dict(marker.kwargs)
    kwargs.setdefault("root", state.root)
    try:
        return budget(**kwargs)
    except (TypeError, ValueError) as error:
        pytest.fail(f"{item.nodeid}: @pytest.mark.d2h_budget: {error}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    state = item.config.stash[_STATE]
    if item.get_closest_marker("d2h_budget") is not None and state.policy == "skip":
        reason = state.unavailable()
        if reason is not None:  # skipped before its fixtures are built
            state.unobservable(reason)
    with state.watching():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    state = item.config.stash[_STATE]
    scope = _budget_for(item, state)
    if scope is not None and state.unavailable() is not None:
        state.unobservable(state.unavailable())  # fails (d2h_no_cuda = fail): the body never runs
    unobservable = None
    with state.watching():
        try:
            if scope is None:
                return (yield)
            scope.__enter__()
            try:
                result = yield
            except BaseException as error:
                scope.__exit__(type(error), error, error.__traceback__)
                raise
            try:
                scope.__exit__(None, None, None)
            except AssertionError as error:
                exceeded = str(error)
            else:
                return result
        except BudgetUnobservable as error:  # a `with d2h.budget():` in the test body
            unobservable = str(error)
    if unobservable is not None:
        state.unobservable(unobservable)
    pytest.fail(exceeded, pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    state = item.config.stash[_STATE]
    with state.watching():
        return (yield)


def pytest_sessionfinish(session, exitstatus):
    state = session.config.stash.get(_STATE, None)
    if state is None or state.recorder is None:
        return
    with open(state.report, "w", encoding="utf-8") as out:
        json.dump(state.recorder.report(), out, indent=2)
        out.write("\n")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config.stash.get(_STATE, None)
    if state is None or state.recorder is None:
        return
    report = state.recorder.report()
    line = f"d2h: runtime report {state.report}: {report['summary']['total']} sites"
    reason = state.unavailable()
    if reason is not None:
        line += f" (none observed: {reason})"
    terminalreporter.write_line(line)
