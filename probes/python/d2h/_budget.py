"""Sync budgets: `with budget(syncs=0):` fails when more device syncs happen inside than allowed.

One watcher (a `d2h_probe.Probe` whose events go to every open budget scope) is installed while
any scope is open, or while the pytest plugin watches a test for its session report. Each event
is attributed to a source line: the innermost stack frame inside the root (the pytest root, or
the current directory), else the innermost frame outside torch, d2h and the standard library.
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from dataclasses import dataclass

import d2h_probe

# The rule of a blocking host-to-device copy: an upload. Every other rule reads the device.
UPLOAD_RULE = "D2H007"


class BudgetError(Exception):
    """Base class of the budget's errors."""


class BudgetExceeded(BudgetError, AssertionError):
    """More syncs (or uploads) happened inside a budget than it allows.

    An `AssertionError`, so a test runner reports it as a test failure. `sites` lists every
    offending site (allowed ones are not among them) as `Site` records."""

    def __init__(self, message: str, syncs: int, uploads: int, sites: list):
        super().__init__(message)
        self.syncs = syncs
        self.uploads = uploads
        self.sites = sites


class BudgetUnobservable(BudgetError, RuntimeError):
    """The budget cannot be observed here: torch is missing or no CUDA device is available.

    Raised when a budget is entered, so that a test never passes without being watched; the
    pytest plugin turns it into a skip (or a failure, with ``--d2h-no-cuda=fail``)."""


@dataclass
class Site:
    """One source line that synced inside a budget, and how often."""

    rule: str
    file: str  # relative to the root when inside it, else absolute
    path: str  # absolute
    line: int
    code: str
    count: int = 0
    allowed_by: str | None = None  # the reason of the allow entry that exempts it

    @property
    def kind(self) -> str:
        return "upload" if self.rule == UPLOAD_RULE else "sync"

    def describe(self) -> str:
        name = d2h_probe.RULE_NAMES.get(self.rule, self.rule)
        plural = "" if self.count == 1 else "s"
        text = f"{self.file}:{self.line}: {self.rule} {name} ({self.count} {self.kind}{plural})"
        if self.code:
            text += f": {self.code}"
        if self.allowed_by is not None:
            text += f" -- allowed: {self.allowed_by}"
        return text


def cuda_unavailable_reason() -> str | None:
    """Why syncs cannot be observed on this machine, or None when they can."""
    try:
        import torch
    except ImportError:
        return "torch is not installed: device syncs cannot be observed"
    try:
        available = torch.cuda.is_available()
    except Exception as error:  # a broken driver install raises here
        return f"torch.cuda.is_available() failed ({error}): device syncs cannot be observed"
    if not available:
        return "no CUDA device (torch.cuda.is_available() is False): device syncs cannot be observed"
    return None


def _parse_allow(allow, reason):
    """`allow` as a list of (file suffix, line or None, reason, text as given)."""
    if allow is None:
        return []
    if isinstance(allow, str):
        raise TypeError(f"allow={allow!r}: give a list of sites (allow=[{allow!r}]) or a dict of site -> reason")
    if isinstance(allow, dict):
        items = list(allow.items())
        if reason is not None:
            raise TypeError("allow is a dict of site -> reason: the separate reason= is not used with it")
    else:
        items = [(site, reason) for site in allow]
    entries = []
    for site, why in items:
        if not isinstance(site, str) or not site.strip():
            raise ValueError(f"allow: {site!r} is not a site: expected 'path/to/file.py:LINE' or 'path/to/file.py'")
        if not isinstance(why, str) or not why.strip():
            raise ValueError(
                f"allow: site {site!r} has no reason: say why the sync is intended, "
                f"e.g. allow={{{site!r}: 'one scalar per epoch for the logger'}} or reason='...'"
            )
        file, sep, line = site.strip().rpartition(":")
        if sep and line.isdigit() and file:
            number = int(line)
            if number < 1:
                raise ValueError(f"allow: site {site!r} has line {number}: lines start at 1")
            entries.append((file.replace(os.sep, "/"), number, why.strip(), site))
        elif sep and not line.isdigit() and file and line.strip().lstrip("-").isdigit():
            raise ValueError(f"allow: site {site!r} has line {line!r}: lines start at 1")
        else:
            entries.append((site.strip().replace(os.sep, "/"), None, why.strip(), site))
    return entries


def _suffix_match(path: str, suffix: str) -> bool:
    """Whether `suffix` names `path` (a whole trailing run of its components)."""
    path = path.replace(os.sep, "/")
    suffix = suffix[2:] if suffix.startswith("./") else suffix
    return path == suffix or path.endswith("/" + suffix)


def _check_limit(name: str, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"budget: {name}={value!r} is not a count: expected a non-negative integer or None (no limit)")
    return value


class budget:
    """A scope that fails when more device syncs (or blocking uploads) happen inside it than
    allowed::

        with d2h.budget(syncs=0):
            model(batch)

    - ``syncs``: how many device-to-host syncs (rules D2H001-D2H006) may happen inside; ``0`` by
      default. ``None``: no limit.
    - ``uploads``: how many blocking host-to-device copies (D2H007) may happen; ``None`` (no
      limit) by default.
    - ``allow``: sites whose syncs are intended, each with a reason: ``{"utils.py:42": "why"}``,
      or a list of sites with one ``reason=``. A site is ``path:line`` or ``path`` (every line of
      the file); the path matches the end of the file's path. An allow entry covers this scope
      and the scopes nested in it.
    - ``root``: the tree that lines are attributed to (paths in messages are relative to it);
      the current directory by default.

    Scopes nest: a sync inside an inner scope counts in every scope around it too. On leaving,
    a scope that went over raises `BudgetExceeded` naming each offending line with its rule and
    count. Without torch or a CUDA device, entering raises `BudgetUnobservable`.

    After the block, ``syncs``/``uploads`` hold the counts observed (allowed sites excluded) and
    ``sites`` every site seen, allowed ones with ``allowed_by`` set.
    """

    def __init__(self, syncs=0, uploads=None, *, allow=None, reason=None, root=None):
        self.max_syncs = _check_limit("syncs", syncs)
        self.max_uploads = _check_limit("uploads", uploads)
        self.allow = _parse_allow(allow, reason)
        if reason is not None and allow is None:
            raise TypeError("budget: reason= is the reason of the allow= sites; no sites were given")
        self.root = os.path.abspath(root) if root is not None else None
        self.parent = None
        self.syncs = 0
        self.uploads = 0
        self._sites = {}
        self._watch = None

    # -- the scope ------------------------------------------------------------------------------
    @property
    def sites(self) -> list:
        return sorted(self._sites.values(), key=lambda s: (s.file, s.line, s.rule))

    def allowed(self, site: Site) -> str | None:
        """The reason this scope or one around it allows the site, or None."""
        scope = self
        while scope is not None:
            for file, line, why, _ in scope.allow:
                if (line is None or line == site.line) and (_suffix_match(site.path, file) or _suffix_match(site.file, file)):
                    return why
            scope = scope.parent
        return None

    def charge(self, rule: str, file: str, path: str, line: int, code: str) -> None:
        key = (rule, path, line)
        site = self._sites.get(key)
        if site is None:
            site = self._sites[key] = Site(rule, file, path, line, code)
            site.allowed_by = self.allowed(site)
        site.count += 1
        if site.allowed_by is None:
            if site.kind == "upload":
                self.uploads += 1
            else:
                self.syncs += 1

    def over(self) -> list:
        """What went over the budget, as phrases ("3 syncs (budget 0)")."""
        problems = []
        for kind, count, limit in (("sync", self.syncs, self.max_syncs), ("upload", self.uploads, self.max_uploads)):
            if limit is not None and count > limit:
                problems.append(f"{count} {kind}{'' if count == 1 else 's'} (budget {limit})")
        return problems

    def message(self) -> str:
        lines = [f"d2h budget exceeded: {', '.join(self.over())}"]
        counted = {"sync": self.max_syncs is not None, "upload": self.max_uploads is not None}
        offending = [s for s in self.sites if s.allowed_by is None and counted[s.kind]]
        lines += ["  " + site.describe() for site in offending]
        allowed = [s for s in self.sites if s.allowed_by is not None]
        if allowed:
            lines.append("allowed in this scope:")
            lines += ["  " + site.describe() for site in allowed]
        return "\n".join(lines)

    def __enter__(self):
        reason = cuda_unavailable_reason()
        if reason is not None:
            raise BudgetUnobservable(reason)
        self._watch = _Watch.acquire(self.root or os.getcwd())
        self.parent = self._watch.scopes[-1] if self._watch.scopes else None
        self._watch.scopes.append(self)
        return self

    def __exit__(self, exc_type, exc, tb):
        watch, self._watch = self._watch, None
        watch.scopes.remove(self)
        watch.release()
        if exc_type is None and self.over():
            offending = [s for s in self.sites if s.allowed_by is None]
            raise BudgetExceeded(self.message(), self.syncs, self.uploads, offending)
        return False


# -- the watcher -------------------------------------------------------------------------------

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_STDLIB = os.path.abspath(sysconfig.get_paths()["stdlib"])


def _foreign(path: str) -> bool:
    """Frames never blamed for a sync: torch itself, d2h, the standard library."""
    if path.startswith("<"):
        return True
    path = os.path.abspath(path)
    parts = path.split(os.sep)
    return (
        "torch" in parts[:-1]
        or path.startswith(_PACKAGE_DIR + os.sep)
        or os.path.basename(path) == "d2h_probe.py"
        or path.startswith(_STDLIB + os.sep)
    )


class _Watch(d2h_probe.Probe):
    """The probe behind budgets: one per process, installed while anyone needs it."""

    current: "_Watch | None" = None

    def __init__(self, root: str, recorder: "d2h_probe.Recorder | None" = None):
        super().__init__(root)
        if recorder is not None:
            self.recorder = recorder
        self.root_dir = os.path.abspath(root)
        self.scopes = []
        self.users = 0

    @classmethod
    def acquire(cls, root: str, recorder: "d2h_probe.Recorder | None" = None) -> "_Watch":
        watch = cls.current
        if watch is None:
            watch = cls(root, recorder)
            watch.__enter__()
            cls.current = watch
        elif recorder is not None:
            watch.recorder = recorder
        watch.users += 1
        return watch

    def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            _Watch.current = None
            self.__exit__(None, None, None)

    def __enter__(self):
        super().__enter__()
        import torch

        if torch.cuda.is_available():
            # Each syncing aten op tells its direction (upload or read) by itself.
            try:
                watcher = d2h_probe._op_watcher(self)
            except ImportError:
                watcher = None
            if watcher is not None:
                watcher.__enter__()
                self._ops = watcher
        return self

    def __exit__(self, *exc):
        if self._ops is not None:
            self._ops.__exit__(None, None, None)
            self._ops = None
        return super().__exit__(*exc)

    def locate(self, stack):
        """(file as shown, absolute path, line, function, code) of the frame to blame."""
        fallback = None
        for frame in reversed(stack):
            if _foreign(frame.filename):
                continue
            path = os.path.abspath(frame.filename)
            if path.startswith(self.root_dir + os.sep):
                shown = os.path.relpath(path, self.root_dir).replace(os.sep, "/")
                return shown, path, frame.lineno, frame.name, (frame.line or "").strip(), True
            if fallback is None:
                fallback = (path, path, frame.lineno, frame.name, (frame.line or "").strip(), False)
        return fallback

    def _event(self, default_rule: str, nbytes: int = 0, rule: str | None = None, direction: str | None = None) -> None:
        found = self.locate(traceback.extract_stack()[:-2])
        if found is None:
            return
        shown, path, line, symbol, code, inside = found
        rule = rule or d2h_probe.classify(code, default_rule, formatting_first=False)
        if direction == "h2d":
            rule = UPLOAD_RULE
        elif direction == "d2h" and rule == UPLOAD_RULE:
            rule = default_rule
        if inside:
            self.recorder.record(rule, shown, line, symbol, code, nbytes)
        for scope in self.scopes:
            scope.charge(rule, shown, path, line, code)
