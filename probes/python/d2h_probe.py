"""d2h runtime probe for PyTorch programs.

Runs a script (or code in a ``with`` block) under ``torch.cuda.set_sync_debug_mode("warn")``,
catches every synchronising CUDA operation with its Python stack, also wraps what that mode
does not report (``torch.cuda.synchronize``, ``Event.synchronize``, ``Stream.synchronize``,
``torch.cuda.empty_cache``, formatting of CUDA tensors), attributes each event to the first
stack frame inside the audited tree, and writes a ``d2h-report/1`` runtime report that
``d2h compare`` joins with the static audit.

    python -m d2h_probe --root src/ --output runtime.json my_pipeline.py --frames 50

Inside the program, mark the frame loop so per-frame rates and severities mean something::

    import d2h_probe
    for frame in video:
        with d2h_probe.frame():
            pipeline.process_frame(frame)

For the runtime-truth benchmark (benches/truth/), ``Truth`` records per iteration which lines
of one package synced (the innermost package frame, and every package frame above it as "via
call"), in which phase (``frame()``, ``phase("epoch")``, setup, teardown) and in which direction
(device to host, or a blocking host-to-device copy), plus the package's line coverage::

    truth = d2h_probe.Truth("/site/timm")
    with d2h_probe.Probe(root=None, truth=truth):
        with d2h_probe.scenario("train"):
            for batch in loader:
                with d2h_probe.frame():
                    step(batch)
            with d2h_probe.phase("epoch"):
                evaluate()

Only the standard library is needed to build reports; torch is imported when a probe is
installed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import linecache
import os
import re
import runpy
import sys
import traceback
import warnings
from dataclasses import dataclass, field

SCHEMA = "d2h-report/1"
VERSION = "0.1.0"

RULE_NAMES = {
    "D2H001": "explicit-copy",
    "D2H002": "scalar-read",
    "D2H003": "data-dependent-shape",
    "D2H004": "explicit-sync",
    "D2H005": "host-format",
    "D2H006": "host-library",
    "D2H007": "blocking-upload",
}

# Source patterns that tell which rule a synchronising line breaks, most specific first.
_LINE_RULES = [
    ("D2H004", r"\.synchronize\(|empty_cache\(|\bbarrier\("),
    ("D2H003", r"nonzero|masked_select|\bunique|argwhere|repeat_interleave|\bnms\(|torch\.where\("),
    ("D2H007", r"torch\.tensor\(|as_tensor\(|from_numpy\(|\.new_tensor\(|\.cuda\(|device="),
    ("D2H005", r"\bprint\(|logger\.|logging\.|\bf[\"']|\.format\(|\bstr\(|\brepr\("),
    ("D2H002", r"\.item\(|\b(float|int|bool)\(|^\s*(if|elif|while|assert)\b|\b(and|or|not)\b"),
    ("D2H006", r"\bnp\.|\bnumpy\.|scipy|\bcv2\.|linear_sum_assignment"),
    ("D2H001", r"\.cpu\(|\.numpy\(|\.tolist\(|\.to\("),
]
_LINE_RULES = [(rule, re.compile(pattern)) for rule, pattern in _LINE_RULES]
# For a sync that torch's debug mode reports: formatting a CUDA tensor is caught (and its inner
# reads absorbed) by the `__format__` / `__repr__` wrappers, so on a logging line such as
# `logger.debug("%s", t.tolist())` the sync is the `.tolist()`, not the formatting.
_SYNC_RULES = [entry for entry in _LINE_RULES if entry[0] != "D2H005"] + [
    entry for entry in _LINE_RULES if entry[0] == "D2H005"
]


def classify(code: str, default: str = "D2H001", formatting_first: bool = True) -> str:
    """The rule a synchronising source line most likely breaks."""
    for rule, pattern in _LINE_RULES if formatting_first else _SYNC_RULES:
        if pattern.search(code):
            return rule
    return default


@dataclass
class Site:
    rule: str
    file: str
    line: int
    symbol: str
    code: str
    phase: str
    guarded: bool
    count: int = 0
    bytes: int = 0


@dataclass
class Recorder:
    """Collects transfer events and turns them into a runtime report (no torch needed)."""

    root: str
    sites: dict = field(default_factory=dict)
    frames: int = 0
    phase: str = "setup"
    guarded: bool = False

    def record(self, rule: str, file: str, line: int, symbol: str, code: str, nbytes: int = 0) -> None:
        key = (rule, file, line, self.phase, self.guarded)
        site = self.sites.get(key)
        if site is None:
            site = Site(rule, file, line, symbol, code.strip(), self.phase, self.guarded)
            self.sites[key] = site
        site.count += 1
        site.bytes += nbytes

    def severity(self, site: Site) -> tuple[str, str]:
        if site.phase == "frame" and not site.guarded:
            return "critical", "frame phase, unguarded"
        if site.guarded:
            return "low", "guarded by detailed logging"
        if site.phase == "epoch":
            return "medium", "epoch phase (per epoch, evaluation or video)"
        return "low", f"{site.phase} phase"

    def report(self) -> dict:
        findings = []
        for site in sorted(self.sites.values(), key=lambda s: (s.file, s.line, s.rule, s.phase)):
            severity, reason = self.severity(site)
            per_frame = site.count / self.frames if site.phase == "frame" and self.frames else 0.0
            findings.append(
                {
                    "rule": site.rule,
                    "name": RULE_NAMES.get(site.rule, site.rule),
                    "severity": severity,
                    "file": site.file,
                    "line": site.line,
                    "column": 1,
                    "end_line": site.line,
                    "end_column": 1,
                    "symbol": site.symbol,
                    "code": site.code,
                    "reason": reason,
                    "fingerprint": f"{abs(hash((site.rule, site.file, site.line, site.phase))) & 0xFFFFFFFFFFFFFFFF:016x}",
                    "count": site.count,
                    "bytes": site.bytes,
                    "per_frame": per_frame,
                    "phase": site.phase,
                    "guarded": site.guarded,
                }
            )
        counts = {s: sum(1 for f in findings if f["severity"] == s) for s in ("critical", "medium", "low")}
        return {
            "schema": SCHEMA,
            "origin": "runtime",
            "tool": {"name": "d2h-probe", "version": VERSION},
            "root": self.root,
            "summary": {"total": len(findings), **counts, "files_scanned": 0, "files_with_errors": 0},
            "findings": findings,
            "errors": [],
        }


def _attribute(stack, root: str):
    """The innermost stack frame inside `root`, as (relative path, line, function, code)."""
    root = os.path.abspath(root)
    for frame in reversed(stack):
        if frame.filename.startswith("<"):
            continue  # frozen modules, exec'd strings
        path = os.path.abspath(frame.filename)
        if path.startswith(root + os.sep) and os.path.basename(path) != "d2h_probe.py":
            code = frame.line or linecache.getline(frame.filename, frame.lineno)
            return os.path.relpath(path, root).replace(os.sep, "/"), frame.lineno, frame.name, code or ""
    return None



# -- runtime truth ---------------------------------------------------------------------------


def ranges(lines) -> str:
    """Line numbers as compact ranges: {1, 2, 3, 7} -> "1-3,7"."""
    out, start, prev = [], None, None
    for n in sorted(set(lines)):
        if prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            out.append(f"{start}-{prev}" if prev != start else str(start))
        start = prev = n
    if start is not None:
        out.append(f"{start}-{prev}" if prev != start else str(start))
    return ",".join(out)


def parse_ranges(text: str) -> set:
    """The inverse of `ranges`."""
    lines = set()
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        lines.update(range(int(first), int(last or first) + 1))
    return lines


def _device_type(value):
    device = getattr(value, "device", value)
    kind = getattr(device, "type", None)
    if kind is None and isinstance(device, str):
        kind = device.split(":")[0]
    return kind


def op_direction(func, args=(), kwargs=None) -> str:
    """Which way the synchronising aten op `func` moves data: "h2d" for a blocking upload (a copy
    from host memory into a device tensor, a device op given a host tensor of elements),
    else "d2h" (a read of device memory: `.item()`, `.cpu()`, `nonzero`, a boolean mask...)."""
    kwargs = kwargs or {}
    schema = getattr(func, "_schema", None)
    name = getattr(schema, "name", None) or str(func)
    if name.endswith("::copy_") and len(args) >= 2:
        dst, src = args[0], args[1]
        return "h2d" if _device_type(src) == "cpu" and _device_type(dst) not in (None, "cpu") else "d2h"
    if name.endswith("::_to_copy") and args:
        target = kwargs.get("device")
        if _device_type(args[0]) == "cpu" and target is not None and _device_type(target) != "cpu":
            return "h2d"
        return "d2h"
    if name.endswith(("::index", "::index_put_", "::index_put")) and len(args) >= 2:
        masks = [i for i in args[1] if i is not None and str(getattr(i, "dtype", "")) in ("torch.bool", "torch.uint8")]
        if any(_device_type(m) != "cpu" for m in masks):
            return "d2h"  # a boolean mask on the device: its count is read back (nonzero)
    tensors = []
    for arg in list(args) + list(kwargs.values()):
        for item in arg if isinstance(arg, (list, tuple)) else (arg,):
            if hasattr(item, "device") and hasattr(item, "dim"):
                tensors.append(item)
    kinds = {_device_type(t) for t in tensors if _device_type(t) != "cpu" or t.dim() > 0}
    return "h2d" if "cpu" in kinds and len(kinds) > 1 else "d2h"


class Truth:
    """What one package's lines do at run time: which synced, how often, in which phase and
    direction, and which ran at all (line coverage). Paths are relative to the package's parent
    (`transformers/models/detr/modeling_detr.py`)."""

    PHASES = ("frame", "epoch", "setup", "teardown")

    def __init__(self, package_dir: str, watch_ops: bool = True):
        self.package_dir = os.path.realpath(package_dir)
        self.base = os.path.dirname(self.package_dir)
        self.watch_ops = watch_ops
        self.scenario = "main"
        self.phase = "setup"
        self.unit = 0
        self.scenarios = {}  # name -> {"iterations": frames, "epochs": epoch blocks}
        self.lines = {}  # (scenario, file, line, kind, direction) -> entry
        self.executed = {}  # file -> set of executed lines
        self.events = {"total": 0, "outside": 0, "direction_from_op": 0}
        self.outside = {}  # "file:line" of the innermost frame outside torch -> events with no package frame
        self._relative = {}
        self._coverage = None

    def relative(self, filename: str):
        rel = self._relative.get(filename, 0)
        if rel == 0:
            rel = None
            if not filename.startswith("<"):
                path = os.path.realpath(filename)
                if path.startswith(self.package_dir + os.sep):
                    rel = os.path.relpath(path, self.base).replace(os.sep, "/")
            self._relative[filename] = rel
        return rel

    def counts(self) -> dict:
        return self.scenarios.setdefault(self.scenario, {"iterations": 0, "epochs": 0})

    def enter(self, phase: str):
        """Starts a phase; returns what `leave` restores."""
        saved = (self.phase, self.unit)
        counts = self.counts()
        if phase == "frame":
            counts["iterations"] += 1
            self.unit = counts["iterations"]
        elif phase == "epoch":
            counts["epochs"] += 1
            self.unit = counts["epochs"]
        else:
            self.unit = 0
        self.phase = phase
        return saved

    def leave(self, saved):
        self.phase, self.unit = saved

    def record(self, frames, rule=None, default_rule="D2H001", direction=None, direction_from_op=False):
        """One synchronising event; `frames` are (filename, line, function) pairs, innermost first."""
        self.events["total"] += 1
        inside = [(rel, line, name) for filename, line, name in frames if (rel := self.relative(filename))]
        if not inside:
            self.events["outside"] += 1
            torch_dir = os.sep + "torch" + os.sep
            where = next((f"{f}:{n}" for f, n, _ in frames if torch_dir not in f and not f.endswith("d2h_probe.py")), "?")
            self.outside[where] = self.outside.get(where, 0) + 1
            return
        self.events["direction_from_op"] += bool(direction_from_op)
        self.counts()
        first_code = linecache.getline(os.path.join(self.base, inside[0][0]), inside[0][1]).strip()
        rule = rule or classify(first_code, default_rule, formatting_first=False)
        if direction is None:
            direction = "h2d" if rule == "D2H007" else "d2h"
        elif (rule == "D2H007") != (direction == "h2d"):  # the op knows better than the line
            rule = "D2H007" if direction == "h2d" else default_rule
        seen = set()
        for depth, (rel, line, name) in enumerate(inside):
            if (rel, line) in seen:
                continue  # recursion: one event counts once per line
            seen.add((rel, line))
            kind = "innermost" if depth == 0 else "via-call"
            key = (self.scenario, rel, line, kind, direction)
            entry = self.lines.get(key)
            if entry is None:
                code = first_code if depth == 0 else linecache.getline(os.path.join(self.base, rel), line).strip()
                entry = self.lines[key] = {"symbol": name, "code": code, "rule": rule, "phases": {}, "leads_to": set()}
            if depth:  # a call site: which innermost line its sync came from
                entry["leads_to"].add(inside[0][:2])
            phase = entry["phases"].setdefault(self.phase, [set(), 0])
            phase[0].add(self.unit)
            phase[1] += 1

    # -- line coverage --------------------------------------------------------------------------
    def start_coverage(self):
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is not None:  # Python >= 3.12: one event per line location, then disabled
            tool = monitoring.COVERAGE_ID
            monitoring.use_tool_id(tool, "d2h-truth")

            def on_line(code, line):
                rel = self.relative(code.co_filename)
                if rel is not None:
                    self.executed.setdefault(rel, set()).add(line)
                return monitoring.DISABLE

            monitoring.register_callback(tool, monitoring.events.LINE, on_line)
            monitoring.set_events(tool, monitoring.events.LINE)
            monitoring.restart_events()
            self._coverage = ("monitoring", tool)
        else:  # older Pythons: a tracer on the package's frames only

            def local(frame, event, arg):
                if event == "line":
                    self.executed.setdefault(self.relative(frame.f_code.co_filename), set()).add(frame.f_lineno)
                return local

            def tracer(frame, event, arg):
                return local if self.relative(frame.f_code.co_filename) is not None else None

            self._coverage = ("settrace", sys.gettrace())
            sys.settrace(tracer)

    def stop_coverage(self):
        if self._coverage is None:
            return
        how, saved = self._coverage
        if how == "monitoring":
            sys.monitoring.set_events(saved, 0)
            sys.monitoring.register_callback(saved, sys.monitoring.events.LINE, None)
            sys.monitoring.free_tool_id(saved)
        else:
            sys.settrace(saved)
        self._coverage = None

    # -- the truth file -------------------------------------------------------------------------
    def report(self, **meta) -> dict:
        lines = []
        for (scenario, file, line, kind, direction), entry in sorted(self.lines.items(), key=lambda kv: kv[0][1:] + (kv[0][0],)):
            phases = {
                name: {"synced_in": len(units), "total": total}
                for name in self.PHASES
                if name in entry["phases"]
                for units, total in [entry["phases"][name]]
            }
            counts = self.scenarios.get(scenario, {"iterations": 0, "epochs": 0})
            lines.append(
                {
                    "file": file,
                    "line": line,
                    "code": entry["code"],
                    "symbol": entry["symbol"],
                    "kind": kind,
                    "direction": direction,
                    "rule": entry["rule"],
                    "scenario": scenario,
                    "phase": next(name for name in self.PHASES if name in phases),
                    "iterations": counts["iterations"],
                    "epochs": counts["epochs"],
                    "synced_in": phases.get("frame", {}).get("synced_in", 0),
                    "total": sum(p["total"] for p in phases.values()),
                    "phases": phases,
                    **({"leads_to": sorted(entry["leads_to"])} if kind == "via-call" else {}),
                }
            )
        return {
            "schema": "d2h-truth/1",
            **meta,
            "scenarios": [{"name": name, **counts} for name, counts in self.scenarios.items()],
            "events": dict(self.events),
            "outside": dict(sorted(self.outside.items(), key=lambda kv: -kv[1])[:20]),
            "lines": lines,
            "executed": {file: ranges(found) for file, found in sorted(self.executed.items())},
        }


class Probe:
    """Installs the sync detector and wrappers; use as a context manager."""

    current: "Probe | None" = None

    def __init__(self, root: str | None, truth: Truth | None = None):
        self.root = root
        self.recorder = Recorder(root=os.path.abspath(root) if root else "")
        self.truth = truth
        self._ops = None  # the dispatch mode that catches syncing aten ops (a truth's watch_ops)
        self._restore = []
        # Depth of wrapped calls in progress: the syncs that torch's debug mode reports inside
        # them (formatting a CUDA tensor reads it with several `.item()`s) belong to the one
        # event the wrapper already recorded.
        self._inside = 0

    # -- events -------------------------------------------------------------------------------
    def _event(self, default_rule: str, nbytes: int = 0, rule: str | None = None, direction: str | None = None) -> None:
        if self.truth is not None:
            frames, caller = [], sys._getframe(1)
            while caller is not None:
                frames.append((caller.f_code.co_filename, caller.f_lineno, caller.f_code.co_qualname if hasattr(caller.f_code, "co_qualname") else caller.f_code.co_name))
                caller = caller.f_back
            self.truth.record(frames, rule, default_rule, direction, direction_from_op=direction is not None)
        if not self.root:
            return
        site = _attribute(traceback.extract_stack()[:-2], self.recorder.root)
        if site is None:
            return
        file, line, symbol, code = site
        rule = rule or classify(code, default_rule, formatting_first=False)
        self.recorder.record(rule, file, line, symbol, code, nbytes)

    def _showwarning(self, message, category, filename, lineno, file=None, line=None):
        if "synchroniz" in str(message):
            if not self._inside:
                self._event("D2H001")
        elif self._previous_showwarning is not None:
            self._previous_showwarning(message, category, filename, lineno, file, line)

    # -- installation -------------------------------------------------------------------------
    def _wrap(self, owner, name, rule):
        original = getattr(owner, name)
        probe = self

        def wrapper(*args, **kwargs):
            probe._event(rule, rule=rule)
            probe._inside += 1
            try:
                return original(*args, **kwargs)
            finally:
                probe._inside -= 1

        setattr(owner, name, wrapper)
        self._restore.append((owner, name, original))

    def __enter__(self):
        import torch

        self._previous_showwarning = warnings.showwarning
        warnings.showwarning = self._showwarning
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("always")
        warnings.showwarning = self._showwarning
        if torch.cuda.is_available():  # (on a machine without one: coverage only, no events)
            torch.cuda.set_sync_debug_mode("warn")
        self._wrap(torch.cuda, "synchronize", "D2H004")
        self._wrap(torch.cuda.Event, "synchronize", "D2H004")
        self._wrap(torch.cuda.Stream, "synchronize", "D2H004")
        self._wrap(torch.cuda, "empty_cache", "D2H004")  # frees cached blocks: cudaFree waits for the device
        probe = self
        for name in ("__format__", "__repr__"):
            original = getattr(torch.Tensor, name)

            def formatter(tensor, *args, _original=original, **kwargs):
                if not tensor.is_cuda or probe._inside:
                    return _original(tensor, *args, **kwargs)
                probe._event("D2H005", tensor.element_size() * tensor.nelement(), rule="D2H005")
                probe._inside += 1
                try:
                    return _original(tensor, *args, **kwargs)
                finally:
                    probe._inside -= 1

            setattr(torch.Tensor, name, formatter)
            self._restore.append((torch.Tensor, name, original))
        if self.truth is not None:
            if self.truth.watch_ops and torch.cuda.is_available():
                self._ops = _op_watcher(self)
                self._ops.__enter__()
            self.truth.start_coverage()
        Probe.current = self
        return self

    def __exit__(self, *exc):
        import torch

        if self.truth is not None:
            self.truth.stop_coverage()
            if self._ops is not None:
                self._ops.__exit__(None, None, None)
                self._ops = None
        if torch.cuda.is_available():
            torch.cuda.set_sync_debug_mode("default")
        for owner, name, original in reversed(self._restore):
            setattr(owner, name, original)
        self._warnings.__exit__(*exc)
        warnings.showwarning = self._previous_showwarning
        Probe.current = None
        return False

    def write(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(self.recorder.report(), out, indent=2)
            out.write("\n")


def _op_watcher(probe):
    """A torch dispatch mode that finds the aten ops that synchronise, so each event gets its
    direction from the op (`op_direction`), not from the source line. Torch's debug-mode warning
    reaches Python only once the outermost call returns, too late to know the op; so each op runs
    first with the debug mode set to "error": one that raises is recorded, then run again with the
    mode off (the check comes before any data moves or any input is written)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    set_mode = torch.cuda.set_sync_debug_mode

    class OpWatcher(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if probe._inside:  # inside a wrapped call, whose one event is already recorded
                return func(*args, **kwargs)
            set_mode("error")
            try:
                return func(*args, **kwargs)
            except RuntimeError as error:
                if "synchroniz" not in str(error):
                    raise
            finally:
                set_mode("warn")
            probe._event("D2H001", direction=op_direction(func, args, kwargs))
            set_mode("default")
            try:
                return func(*args, **kwargs)
            finally:
                set_mode("warn")

    return OpWatcher()


@contextlib.contextmanager
def phase(name: str):
    """Marks a phase of the program: "frame" (one iteration of the work loop; see `frame()`),
    "epoch" (per epoch, evaluation or video: end-of-loop work), "setup" or "teardown"."""
    if name not in Truth.PHASES:
        raise ValueError(f"unknown phase {name!r}: expected one of {', '.join(Truth.PHASES)}")
    probe = Probe.current
    if probe is None:
        yield
        return
    previous = probe.recorder.phase
    probe.recorder.phase = name
    if name == "frame":
        probe.recorder.frames += 1
    saved = probe.truth.enter(name) if probe.truth is not None else None
    try:
        yield
    finally:
        probe.recorder.phase = previous
        if probe.truth is not None:
            probe.truth.leave(saved)


def frame():
    """Marks one frame of the program's loop (a no-op when no probe is installed)."""
    return phase("frame")


@contextlib.contextmanager
def scenario(name: str):
    """Names the scenario that the enclosed work belongs to (truth files count iterations per
    scenario); it starts in the setup phase."""
    probe = Probe.current
    truth = probe.truth if probe is not None else None
    if truth is None:
        yield
        return
    saved = (truth.scenario, truth.phase, truth.unit)
    truth.scenario, truth.phase, truth.unit = name, "setup", 0
    truth.counts()
    try:
        yield
    finally:
        truth.scenario, truth.phase, truth.unit = saved


@contextlib.contextmanager
def guarded():
    """Marks a detailed-logging block: its transfers are reported low."""
    probe = Probe.current
    if probe is None:
        yield
        return
    previous = probe.recorder.guarded
    probe.recorder.guarded = True
    try:
        yield
    finally:
        probe.recorder.guarded = previous


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="d2h_probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="the audited tree; events are attributed to files in it")
    parser.add_argument("--output", "-o", required=True, help="where to write the runtime report (JSON)")
    parser.add_argument("script", help="the Python script to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    options = parser.parse_args(argv)
    # Run as `python d2h_probe.py` or `python -m d2h_probe`, this module is `__main__`: make the
    # script's `import d2h_probe` find it, not load a second copy whose `frame()` sees no probe.
    sys.modules["d2h_probe"] = sys.modules[__name__]
    probe = Probe(options.root)
    sys.argv = [options.script, *options.args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(options.script)))
    status = 0
    try:
        with probe:
            runpy.run_path(options.script, run_name="__main__")
    except SystemExit as exit:  # `sys.exit(main())` ends most scripts: still write the report
        if isinstance(exit.code, int) or exit.code is None:
            status = exit.code or 0
        else:
            print(exit.code, file=sys.stderr)
            status = 1
    finally:
        probe.write(options.output)
    return status


if __name__ == "__main__":
    sys.exit(main())
