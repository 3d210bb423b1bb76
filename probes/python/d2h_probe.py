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


class Probe:
    """Installs the sync detector and wrappers; use as a context manager."""

    current: "Probe | None" = None

    def __init__(self, root: str):
        self.recorder = Recorder(root=os.path.abspath(root))
        self._restore = []
        # Depth of wrapped calls in progress: the syncs that torch's debug mode reports inside
        # them (formatting a CUDA tensor reads it with several `.item()`s) belong to the one
        # event the wrapper already recorded.
        self._inside = 0

    # -- events -------------------------------------------------------------------------------
    def _event(self, default_rule: str, nbytes: int = 0, rule: str | None = None) -> None:
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
        Probe.current = self
        return self

    def __exit__(self, *exc):
        import torch

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


@contextlib.contextmanager
def frame():
    """Marks one frame of the program's loop (a no-op when no probe is installed)."""
    probe = Probe.current
    if probe is None:
        yield
        return
    previous = probe.recorder.phase
    probe.recorder.phase = "frame"
    probe.recorder.frames += 1
    try:
        yield
    finally:
        probe.recorder.phase = previous


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
