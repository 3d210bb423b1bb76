#!/usr/bin/env python3
"""Real-repository sweep: audit popular ML packages from the package index with d2h.

For each package: download its newest wheel (pure or for this interpreter's
platform; no dependencies, nothing built or installed) with pip, unpack it under
benches/corpus/sweep/ (git-ignored), audit it with the release `d2h` and
report files, findings, parse errors and wall time. Then parse every Python
file that d2h audited with CPython's own `ast.parse` and compare the two sets of
files that fail to parse: they must match, and any difference is listed with
both parsers' messages so it can be explained (syntax newer than the CPython
used, an encoding declaration, a nesting limit).

Not run in CI: it needs the network and minutes. See benches/sweep-pypi.sh.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_PACKAGES = [
    "transformers",
    "ultralytics",
    "timm",
    "torchvision",
    "diffusers",
    "lightning",
    "mmdet",
    "supervision",
    "segment-anything",
    "sam2",
    "kornia",
    "accelerate",
    "torchmetrics",
    "peft",
]


def fetch(name: str, wheels: Path) -> Path | None:
    """The newest wheel of `name` in `wheels` (downloaded if missing), or None."""
    dest = wheels / name
    dest.mkdir(parents=True, exist_ok=True)
    found = sorted(dest.glob("*.whl"))
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
               "-d", str(dest), name]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"  {name}: no wheel ({result.stderr.strip().splitlines()[-1:]})", file=sys.stderr)
            return None
        found = sorted(dest.glob("*.whl"))
    return found[-1] if found else None


def unpack(wheel: Path, trees: Path) -> Path:
    dest = trees / wheel.stem
    if not dest.is_dir():
        tmp = dest.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        with zipfile.ZipFile(wheel) as z:
            z.extractall(tmp)
        # Audit every file, as CPython will parse every file: no default excludes.
        (tmp / "d2h.toml").write_text("exclude = []\n")
        tmp.rename(dest)
    return dest


def python_files(tree: Path) -> list[Path]:
    """The `.py` files d2h walks: hidden files and directories are skipped."""
    files = []
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            if f.endswith(".py") and not f.startswith("."):
                files.append(Path(dirpath) / f)
    return files


def cpython_failures(tree: Path, files: list[Path]) -> dict[str, str]:
    failures = {}
    for path in files:
        rel = path.relative_to(tree).as_posix()
        data = path.read_bytes()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(data, filename=rel)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
            where = f"{err.lineno}:{err.offset}: " if isinstance(err, SyntaxError) and err.lineno else ""
            failures[rel] = f"{type(err).__name__}: {where}{getattr(err, 'msg', None) or err}"
    return failures


def audit(d2h: Path, tree: Path, threads: int | None) -> tuple[dict, float]:
    cmd = [str(d2h), "audit", ".", "--format", "json"]
    if threads:
        cmd += ["--threads", str(threads)]
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=tree, capture_output=True)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"d2h failed on {tree} ({result.returncode}): {result.stderr.decode()[-2000:]}")
    return json.loads(result.stdout), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", help=f"default: {' '.join(DEFAULT_PACKAGES)}")
    parser.add_argument("--d2h", type=Path, default=ROOT / "target" / "release" / "d2h")
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus" / "sweep")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--tree", type=Path, action="append", default=[],
                        help="also audit this directory as it is (no download); repeatable")
    args = parser.parse_args()
    if not args.packages and not args.tree:
        args.packages = DEFAULT_PACKAGES

    wheels, trees = args.corpus / "wheels", args.corpus / "trees"
    trees.mkdir(parents=True, exist_ok=True)
    rows, mismatches = [], []
    jobs = [(name, None) for name in args.packages]
    jobs += [(str(t), t.resolve()) for t in args.tree]
    for name, given in jobs:
        if given is None:
            wheel = fetch(name, wheels)
            if wheel is None:
                rows.append({"package": name, "skipped": "no wheel on the index"})
                continue
            tree, version = unpack(wheel, trees), wheel.name.split("-")[1]
        else:
            tree, version = given, "(tree)"
        report, seconds = audit(args.d2h, tree, args.threads)
        files = python_files(tree)
        rel_files = {p.relative_to(tree).as_posix() for p in files}
        d2h_errors = {e["file"]: e["message"] for e in report["errors"]}
        cpython = cpython_failures(tree, files)
        only_d2h = sorted(set(d2h_errors) - set(cpython))
        only_cpython = sorted(set(cpython) - set(d2h_errors))
        s = report["summary"]
        rows.append({
            "package": name, "version": version, "files": s["files_scanned"], "py_files": len(rel_files),
            "lines": sum(p.read_bytes().count(b"\n") for p in files),
            "findings": s["total"], "critical": s["critical"], "medium": s["medium"], "low": s["low"],
            "d2h_errors": len(d2h_errors), "cpython_errors": len(cpython), "sets_match": not only_d2h and not only_cpython,
            "seconds": round(seconds, 3),
        })
        for f in only_d2h:
            mismatches.append((name, f, "d2h only", d2h_errors[f], ""))
        for f in only_cpython:
            mismatches.append((name, f, "CPython only", "", cpython[f]))
        for f in sorted(set(d2h_errors) & set(cpython)):
            mismatches.append((name, f, "both", d2h_errors[f], cpython[f]))
        print(f"  {name} {version}: {s['files_scanned']} files, {s['total']} findings, "
              f"{len(d2h_errors)} d2h errors, {len(cpython)} CPython errors, {seconds:.2f} s", file=sys.stderr)

    py = f"CPython {platform.python_version()}"
    print(f"| package | version | .py files | lines | findings (crit/med/low) | d2h parse errors | {py} errors | sets match | time (s) |")
    print("|---|---|---:|---:|---|---:|---:|---|---:|")
    total = {"files": 0, "lines": 0, "findings": 0, "seconds": 0.0}
    for r in rows:
        if "skipped" in r:
            print(f"| {r['package']} | – | – | – | – | – | – | – | skipped: {r['skipped']} |")
            continue
        for k in total:
            total[k] += r[k]
        print(f"| {r['package']} | {r['version']} | {r['files']} | {r['lines']} | {r['findings']} "
              f"({r['critical']}/{r['medium']}/{r['low']}) | {r['d2h_errors']} | {r['cpython_errors']} | "
              f"{'yes' if r['sets_match'] else '**no**'} | {r['seconds']:.2f} |")
    print(f"| **total** | | {total['files']} | {total['lines']} | {total['findings']} | | | | {total['seconds']:.2f} |")
    if mismatches:
        print("\nFiles that fail to parse (d2h message / CPython message):\n")
        for name, f, side, ours, theirs in mismatches:
            print(f"- {name} `{f}` ({side}): d2h: {ours or '–'}; CPython: {theirs or '–'}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if all(r.get("sets_match", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
