"""Tests of the probe's report building (no torch needed)."""

import json
import os
import sys
import traceback
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import d2h_probe  # noqa: E402


class ClassifyTest(unittest.TestCase):
    def test_lines_map_to_rules(self):
        self.assertEqual(d2h_probe.classify("x = boxes.cpu().numpy()"), "D2H001")
        self.assertEqual(d2h_probe.classify("ms = latency.item()"), "D2H002")
        self.assertEqual(d2h_probe.classify("idx = mask.nonzero()"), "D2H003")
        self.assertEqual(d2h_probe.classify("torch.cuda.synchronize()"), "D2H004")
        self.assertEqual(d2h_probe.classify("print(scores)"), "D2H005")
        self.assertEqual(d2h_probe.classify("r, c = linear_sum_assignment(cost)"), "D2H006")
        self.assertEqual(d2h_probe.classify("t = torch.tensor([0], device=dev)"), "D2H007")
        self.assertEqual(d2h_probe.classify("y = op(x)", default="D2H004"), "D2H004")


class RecorderTest(unittest.TestCase):
    def setUp(self):
        self.rec = d2h_probe.Recorder(root="/proj")
        self.rec.record("D2H001", "a.py", 3, "setup_model", "w.cpu()")
        self.rec.phase = "frame"
        for _ in range(4):
            self.rec.frames += 1
            self.rec.record("D2H002", "b.py", 10, "process_frame", "  t.item()  ", nbytes=4)
            self.rec.guarded = True
            self.rec.record("D2H005", "b.py", 12, "process_frame", "print(t)")
            self.rec.guarded = False

    def test_report_follows_the_schema(self):
        report = self.rec.report()
        self.assertEqual(report["schema"], "d2h-report/1")
        self.assertEqual(report["origin"], "runtime")
        self.assertEqual(report["summary"]["total"], len(report["findings"]))
        keys = [(f["file"], f["line"]) for f in report["findings"]]
        self.assertEqual(keys, sorted(keys))
        for finding in report["findings"]:
            for name in ("rule", "name", "severity", "file", "symbol", "code", "reason", "fingerprint", "phase"):
                self.assertIsInstance(finding[name], str)
            for name in ("line", "column", "end_line", "end_column", "count", "bytes"):
                self.assertIsInstance(finding[name], int)
        json.dumps(report)

    def test_counts_rates_and_severities(self):
        by_line = {f["line"]: f for f in self.rec.report()["findings"]}
        self.assertEqual((by_line[3]["severity"], by_line[3]["phase"], by_line[3]["per_frame"]), ("low", "setup", 0.0))
        read = by_line[10]
        self.assertEqual((read["severity"], read["count"], read["bytes"], read["per_frame"]), ("critical", 4, 16, 1.0))
        self.assertEqual(read["code"], "t.item()")
        logged = by_line[12]
        self.assertEqual((logged["severity"], logged["guarded"]), ("low", True))
        summary = self.rec.report()["summary"]
        self.assertEqual((summary["critical"], summary["low"]), (1, 2))


class AttributionTest(unittest.TestCase):
    def test_innermost_frame_inside_the_root(self):
        here = os.path.dirname(os.path.abspath(__file__))
        stack = traceback.extract_stack()
        site = d2h_probe._attribute(stack, here)
        self.assertIsNotNone(site)
        file, line, symbol, code = site
        self.assertEqual(file, "test_d2h_probe.py")
        self.assertEqual(symbol, "test_innermost_frame_inside_the_root")
        self.assertIn("extract_stack", code)
        self.assertIsNone(d2h_probe._attribute(stack, os.path.join(here, "no-such-dir")))


if __name__ == "__main__":
    unittest.main()
