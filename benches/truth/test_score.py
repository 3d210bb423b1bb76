"""Tests of the scorer's join and metrics on a tiny synthetic truth file and d2h report.

    python3 -m unittest discover -s benches/truth     (also run by `discover -s probes/python`)
"""

import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import score  # noqa: E402


def entry(line, kind="innermost", direction="d2h", phases=None, iterations=10, scenario="loop", leads_to=None):
    phases = phases or {"frame": {"synced_in": iterations, "total": iterations}}
    out = {
        "file": "pkg/post.py", "line": line, "code": "", "symbol": "f", "kind": kind, "direction": direction,
        "rule": "D2H001", "scenario": scenario, "phase": next(iter(phases)), "iterations": iterations, "epochs": 1,
        "synced_in": phases.get("frame", {}).get("synced_in", 0), "total": 1, "phases": phases,
    }
    if leads_to is not None:
        out["leads_to"] = leads_to
    return out


TRUTH = {
    "schema": "d2h-truth/1", "package": "pkg", "version": "1.0",
    "lines": [
        entry(10),  # every frame: critical; found, critical -> agrees
        entry(20, phases={"frame": {"synced_in": 3, "total": 3}}),  # some frames: medium; found critical -> disagrees
        entry(30, phases={"epoch": {"synced_in": 1, "total": 1}}),  # per epoch: medium; missed
        entry(40, phases={"setup": {"synced_in": 1, "total": 1}}),  # setup: low; found low (multi-line finding 39-41)
        entry(50, direction="h2d"),  # an upload: not in the device-to-host recall
        entry(60),  # missed itself, but its call site at 70 is flagged
        entry(70, kind="via-call", leads_to=[["pkg/post.py", 60]]),
        # one line in two scenarios: the most frequent use decides (critical)
        entry(80, scenario="a", phases={"setup": {"synced_in": 1, "total": 1}}),
        entry(80, scenario="b"),
    ],
    "executed": {"pkg/post.py": "1-45,50-80,90", "pkg/other.py": "5"},
}


def finding(line, severity="critical", rule="D2H001", end_line=None, file="post.py"):
    return {"rule": rule, "severity": severity, "file": file, "line": line, "end_line": end_line or line, "reason": "r", "code": ""}


REPORT = {
    "root": "pkg",
    "findings": [
        finding(10),
        finding(20),
        finding(39, severity="low", end_line=41),
        finding(70, rule="D2H004", severity="medium"),
        finding(80, severity="medium"),
        finding(80, severity="critical"),  # two findings on one line: the most severe counts
        finding(50, rule="D2H001"),  # on an executed line that only uploaded: a false alarm
        finding(55, rule="D2H005", severity="low"),  # executed, never synced: a false alarm
        finding(95),  # never executed: counted apart
        finding(5, file="other.py", rule="D2H007"),  # uploads are not device-to-host findings
    ],
}


class ScoreTest(unittest.TestCase):
    def setUp(self):
        self.result = score.score(TRUTH, REPORT)

    def test_expected_severity(self):
        lines = score.truth_lines(TRUTH)
        expected = {line: lines[("pkg/post.py", line)]["expected"] for line in (10, 20, 30, 40, 60, 80)}
        self.assertEqual(expected, {10: "critical", 20: "medium", 30: "medium", 40: "low", 60: "critical", 80: "critical"})
        self.assertNotIn(("pkg/post.py", 50), lines)

    def test_recall(self):
        r = self.result
        # innermost d2h lines: 10, 20, 30, 40, 60, 80; found 10, 20, 40, 80; 60 via its caller
        self.assertEqual((r["syncing"], r["found"], r["found_via"]), (6, 4, 1))
        self.assertAlmostEqual(r["recall"], 4 / 6)
        self.assertAlmostEqual(r["recall_via"], 5 / 6)
        self.assertEqual([key for key, _ in r["lists"]["missed"]], [("pkg/post.py", 30)])

    def test_precision_on_executed_code(self):
        r = self.result
        # executed d2h findings: 10, 20, 39-41, 70 (via-call line), 80, 80, 50, 55 -> 6 right, 2 wrong
        self.assertEqual((r["findings_executed"], r["true"], r["findings_not_executed"]), (8, 6, 1))
        self.assertEqual(sorted(f["line"] for f in r["lists"]["false"]), [50, 55])
        self.assertAlmostEqual(r["precision"], 6 / 8)

    def test_severity_agreement(self):
        r = self.result
        self.assertEqual(r["agree"], 3)  # 10 critical, 40 low, 80 critical (the worst finding)
        self.assertEqual([(key[1], severity) for key, _, severity, _ in r["lists"]["disagree"]], [(20, "critical")])
        self.assertAlmostEqual(r["severity_agreement"], 3 / 4)

    def test_total(self):
        overall = score.total([self.result, self.result])
        self.assertEqual((overall["syncing"], overall["found"]), (12, 8))
        self.assertAlmostEqual(overall["recall"], 4 / 6)

    def test_command_line(self):
        """The whole script, with a stand-in d2h that writes the synthetic report."""
        with tempfile.TemporaryDirectory() as tmp:
            truth_dir, src = os.path.join(tmp, "data"), os.path.join(tmp, "src", "pkg")
            os.makedirs(truth_dir)
            os.makedirs(os.path.join(src, "pkg"))
            with open(os.path.join(truth_dir, "pkg.json"), "w") as out:
                json.dump(TRUTH, out)
            with open(os.path.join(src, ".version"), "w") as out:
                out.write("1.0\n")
            with open(os.path.join(src, "pkg", "post.py"), "w") as out:
                out.write("".join(f"line_{n} = {n}\n" for n in range(1, 100)))
            fake = os.path.join(tmp, "d2h")
            with open(fake, "w") as out:
                out.write(f"#!{sys.executable}\nimport json, sys\n")
                out.write("assert sys.argv[1:3] == ['audit', 'pkg'] and '--format' in sys.argv\n")
                out.write(f"json.dump({REPORT!r}, open(sys.argv[sys.argv.index('--output') + 1], 'w'))\nsys.exit(1)\n")
            os.chmod(fake, os.stat(fake).st_mode | stat.S_IEXEC)
            script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "score.py")
            common = [sys.executable, script, "--d2h", fake, "--truth", truth_dir, "--src", os.path.dirname(src)]
            run = subprocess.run(common + ["-v", "--json", os.path.join(tmp, "n.json")], capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertIn("pkg/post.py:30 [medium] line_30 = 30", run.stdout)  # a miss, with its source
            with open(os.path.join(tmp, "n.json")) as numbers:
                self.assertAlmostEqual(json.load(numbers)["overall"]["precision"], 6 / 8)
            os.remove(os.path.join(src, ".version"))
            run = subprocess.run(common, capture_output=True, text=True)
            self.assertNotEqual(run.returncode, 0)
            self.assertIn("fetch.sh", run.stderr)


if __name__ == "__main__":
    unittest.main()
