"""Scores `d2h audit` against the runtime truth of real packages (benches/truth/data/*.json).

    bash benches/truth/fetch.sh                 # once: the packages' sources, unpacked (no GPU needed)
    cargo build --release
    python3 benches/truth/score.py [-v] [--d2h target/release/d2h] [--package timm]

For each truth file it audits the same package's sources (benches/truth/.cache/src/<pkg>/<pkg>)
with `d2h audit --format json` and joins the findings with the lines that synced on the GPU:

- recall: syncing lines (the innermost package frame of a device-to-host sync) covered by a
  device-to-host finding (D2H001-D2H006) whose span [line, end_line] holds the line; "+via" also
  counts a line as found when a call site above it (a "via-call" line of the same sync) is flagged;
- precision on executed code: device-to-host findings on executed lines whose span holds a line
  that synced (innermost or via-call, device-to-host), over all such findings on executed lines;
  findings on lines that never ran are counted apart (neither right nor wrong in this run);
- severity agreement: of the syncing lines found, those whose static severity (the most severe
  covering finding) is what the frequency calls for: every iteration of a work loop -> critical;
  some iterations, or per epoch / evaluation / video -> medium; once (setup, teardown) -> low.

`-v` lists every miss, false alarm and disagreement with its source line. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
D2H_RULES = {f"D2H00{i}" for i in range(1, 7)}
SEVERITIES = ("low", "medium", "critical")
RANK = {name: i for i, name in enumerate(SEVERITIES)}


def parse_ranges(text: str) -> set:
    lines = set()
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        lines.update(range(int(first), int(last or first) + 1))
    return lines


def expected_severity(entry: dict) -> str:
    """What the frequency of one truth entry (one scenario) calls for."""
    frame = entry["phases"].get("frame")
    if frame and entry["iterations"] and frame["synced_in"] >= entry["iterations"]:
        return "critical"
    if frame or "epoch" in entry["phases"]:
        return "medium"
    return "low"


def truth_lines(truth: dict) -> dict:
    """(file, line) -> merged facts of the innermost device-to-host syncs, over all scenarios."""
    lines = {}
    for entry in truth["lines"]:
        if entry["direction"] != "d2h":
            continue
        key = (entry["file"], entry["line"])
        merged = lines.setdefault(key, {"kinds": set(), "expected": "low", "scenarios": [], "leads_to": set(), "code": entry["code"]})
        merged["kinds"].add(entry["kind"])
        merged["leads_to"].update(tuple(x) for x in entry.get("leads_to", []))
        if entry["kind"] == "innermost":
            merged["expected"] = max(merged["expected"], expected_severity(entry), key=RANK.get)
            merged["scenarios"].append(f"{entry['scenario']}: {entry['phase']} {entry['synced_in']}/{entry['iterations']} it., {entry['total']}x")
    return lines


def static_findings(report: dict) -> list:
    """The device-to-host findings, each with its file relative to the package root's parent."""
    root = report.get("root", ".")
    out = []
    for f in report["findings"]:
        if f["rule"] in D2H_RULES:
            out.append(dict(f, path=posixpath.normpath(posixpath.join(root, f["file"]))))
    return out


def score(truth: dict, report: dict) -> dict:
    """The metrics of one package, and the lists behind them."""
    synced = truth_lines(truth)
    executed = {file: parse_ranges(text) for file, text in truth["executed"].items()}
    findings = static_findings(report)
    covering = {}  # (file, line) -> findings whose span holds it
    for f in findings:
        for line in range(f["line"], f["end_line"] + 1):
            covering.setdefault((f["path"], line), []).append(f)

    innermost = {key: fact for key, fact in synced.items() if "innermost" in fact["kinds"]}
    found, found_via, missed, agree, disagree = [], [], [], [], []
    for key, fact in sorted(innermost.items()):
        if key in covering:
            severity = max((f["severity"] for f in covering[key]), key=RANK.get)
            found.append(key)
            (agree if severity == fact["expected"] else disagree).append((key, fact, severity, covering[key]))
        else:
            callers = [k for k, other in synced.items() if key in other["leads_to"] and k in covering]
            if callers:
                found_via.append((key, fact, sorted(callers)))
            else:
                missed.append((key, fact))

    right, wrong, not_run = [], [], []
    for f in findings:
        span = [(f["path"], line) for line in range(f["line"], f["end_line"] + 1)]
        if not any(line in executed.get(path, ()) for path, line in span):
            not_run.append(f)
        elif any(key in synced for key in span):
            right.append(f)
        else:
            wrong.append(f)

    n = len(innermost)
    return {
        "syncing": n,
        "found": len(found),
        "found_via": len(found_via),
        "recall": len(found) / n if n else None,
        "recall_via": (len(found) + len(found_via)) / n if n else None,
        "findings_executed": len(right) + len(wrong),
        "true": len(right),
        "precision": len(right) / (len(right) + len(wrong)) if right or wrong else None,
        "findings_not_executed": len(not_run),
        "agree": len(agree),
        "severity_agreement": len(agree) / len(found) if found else None,
        "lists": {"missed": missed, "via": found_via, "false": wrong, "disagree": disagree},
    }


def run_audit(d2h: str, src: str, package: str) -> dict:
    """`d2h audit <package> --format json`, run in the unpacked sources' folder."""
    with tempfile.TemporaryDirectory() as tmp:
        output = os.path.join(tmp, "static.json")
        command = [d2h, "audit", package, "--format", "json", "--quiet", "--output", output]
        run = subprocess.run(command, cwd=src, capture_output=True, text=True)
        if run.returncode not in (0, 1) or not os.path.exists(output):  # 1: the gate failed, no error here
            sys.exit(f"score.py: `{' '.join(command)}` (in {src}) exited {run.returncode}: {run.stderr.strip()}")
        with open(output, encoding="utf-8") as text:
            return json.load(text)


def source_line(src: str, file: str, line: int) -> str:
    try:
        with open(os.path.join(src, file), encoding="utf-8") as text:
            for number, code in enumerate(text, 1):
                if number == line:
                    return code.strip()
    except OSError:
        pass
    return "?"


def fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def total(results: list) -> dict:
    keys = ("syncing", "found", "found_via", "findings_executed", "true", "findings_not_executed", "agree")
    sums = {k: sum(r[k] for r in results) for k in keys}
    sums["recall"] = sums["found"] / sums["syncing"] if sums["syncing"] else None
    sums["recall_via"] = (sums["found"] + sums["found_via"]) / sums["syncing"] if sums["syncing"] else None
    sums["precision"] = sums["true"] / sums["findings_executed"] if sums["findings_executed"] else None
    sums["severity_agreement"] = sums["agree"] / sums["found"] if sums["found"] else None
    return sums


def print_table(rows: list) -> None:
    header = f"{'package':<24} {'syncing':>7} {'found':>5} {'recall':>6} {'+via':>5} {'on-exec':>7} {'true':>5} {'precision':>9} {'not-run':>7} {'severity':>8}"
    print(header)
    print("-" * len(header))
    for name, r in rows:
        print(
            f"{name:<24} {r['syncing']:>7} {r['found']:>5} {fmt(r['recall']):>6} {fmt(r['recall_via']):>5} "
            f"{r['findings_executed']:>7} {r['true']:>5} {fmt(r['precision']):>9} {r['findings_not_executed']:>7} {fmt(r['severity_agreement']):>8}"
        )


def print_lists(name: str, result: dict, src: str) -> None:
    lists = result["lists"]
    print(f"\n## {name}")
    print(f"\nmissed ({len(lists['missed'])}): syncing lines with no device-to-host finding")
    for (file, line), fact in lists["missed"]:
        print(f"  {file}:{line} [{fact['expected']}] {source_line(src, file, line)}\n      ran: {'; '.join(fact['scenarios'])}")
    print(f"\nfound only at a call site above ({len(lists['via'])})")
    for (file, line), fact, callers in lists["via"]:
        print(f"  {file}:{line} {source_line(src, file, line)}\n      flagged caller: {', '.join(f'{f}:{n}' for f, n in callers[:3])}")
    print(f"\nfalse alarms ({len(lists['false'])}): findings on executed lines that never synced")
    for f in lists["false"]:
        print(f"  {f['path']}:{f['line']} {f['rule']} [{f['severity']}] {source_line(src, f['path'], f['line'])}\n      why: {f['reason']}")
    print(f"\nseverity disagreements ({len(lists['disagree'])})")
    for (file, line), fact, severity, covering in lists["disagree"]:
        reason = max(covering, key=lambda f: RANK[f["severity"]])["reason"]
        print(
            f"  {file}:{line} static {severity}, runtime calls for {fact['expected']}: {source_line(src, file, line)}\n"
            f"      ran: {'; '.join(fact['scenarios'])}\n      why {severity}: {reason}"
        )


def default_d2h() -> str:
    for build in ("release", "debug"):
        path = os.path.join(REPO, "target", build, "d2h")
        if os.path.exists(path):
            return path
    return os.path.join(REPO, "target", "release", "d2h")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--d2h", default=default_d2h(), help="the d2h binary (default: target/release/d2h, else target/debug/d2h)")
    parser.add_argument("--truth", default=os.path.join(HERE, "data"), help="folder of truth files (default: benches/truth/data)")
    parser.add_argument("--src", default=os.path.join(HERE, ".cache", "src"), help="unpacked sources, one folder per package (fetch.sh)")
    parser.add_argument("--package", action="append", default=[], help="score only this package (repeatable)")
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss, false alarm and disagreement")
    options = parser.parse_args(argv)

    if not os.access(options.d2h, os.X_OK):
        sys.exit(f"score.py: no d2h binary at {options.d2h} (cargo build --release, or --d2h PATH)")
    names = sorted(f[:-5] for f in os.listdir(options.truth) if f.endswith(".json"))
    names = [n for n in names if not options.package or n in options.package]
    if not names:
        sys.exit(f"score.py: no truth files in {options.truth}" + (f" for {options.package}" if options.package else ""))
    rows, results = [], {}
    for name in names:
        with open(os.path.join(options.truth, name + ".json"), encoding="utf-8") as text:
            truth = json.load(text)
        src = os.path.join(options.src, truth["package"])
        try:
            with open(os.path.join(src, ".version")) as text:
                version = text.read().strip()
        except OSError:
            sys.exit(f"score.py: no sources of {truth['package']} in {src}: run `bash benches/truth/fetch.sh` first")
        if version != truth["version"]:
            sys.exit(f"score.py: {src} holds {truth['package']} {version}, the truth file {truth['version']}: run benches/truth/fetch.sh")
        result = score(truth, run_audit(options.d2h, src, truth["package"]))
        results[name] = (result, src)
        rows.append((f"{truth['package']} {truth['version']}", result))
    overall = total([r for r, _ in results.values()])
    print_table(rows + [("overall", overall)])
    if options.verbose:
        for name, (result, src) in results.items():
            print_lists(name, result, src)
    if options.json:
        numbers = {name: {k: v for k, v in r.items() if k != "lists"} for name, (r, _) in results.items()}
        numbers["overall"] = overall
        with open(options.json, "w", encoding="utf-8") as out:
            json.dump(numbers, out, indent=2)
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
