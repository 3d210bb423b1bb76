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

    def test_syncs_on_logging_lines(self):
        # a sync reported by torch on a logging line is the read, not the formatting (wrapped)
        line = 'logger.debug("weights: %s", self.cost_weights.tolist())'
        self.assertEqual(d2h_probe.classify(line), "D2H005")
        self.assertEqual(d2h_probe.classify(line, formatting_first=False), "D2H001")
        self.assertEqual(d2h_probe.classify('print("ms %.2f" % t)', formatting_first=False), "D2H005")


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



FAKE_TORCH = """
import types, warnings

class Tensor:
    is_cuda = True
    def element_size(self):
        return 4
    def nelement(self):
        return 3
    def __repr__(self):
        # torch's sync debug mode reports the reads that formatting a CUDA tensor does
        warnings.warn("called a synchronizing CUDA operation")
        warnings.warn("called a synchronizing CUDA operation")
        return "tensor([1., 2., 3.], device='cuda:0')"
    def __format__(self, spec):
        return repr(self)
    def new_tensor(self, data):
        warnings.warn("called a synchronizing CUDA operation")
        return Tensor()

class Event:
    def synchronize(self):
        pass

class Stream(Event):
    pass

cuda = types.ModuleType("torch.cuda")
cuda.Event, cuda.Stream = Event, Stream
cuda.set_sync_debug_mode = lambda mode: None
cuda.is_available = lambda: True
cuda.synchronize = lambda device=None: None
cuda.empty_cache = lambda: None
"""

SCRIPT = """
import sys

import torch
import d2h_probe

t = torch.Tensor()
assert d2h_probe.Probe.current is not None, "the script imported a second copy of the probe"
torch.cuda.empty_cache()
for _ in range(2):
    with d2h_probe.frame():
        torch.cuda.synchronize()
        text = f"{t}"
        scale = t.new_tensor([1.0])
sys.exit(3)
"""


class CommandLineTest(unittest.TestCase):
    """`python d2h_probe.py ... script.py` end to end, with a stand-in torch."""

    def test_script_sees_the_running_probe(self):
        import subprocess
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            fake, root = os.path.join(tmp, "fake"), os.path.join(tmp, "project")
            os.makedirs(os.path.join(fake, "torch"))
            os.makedirs(root)
            with open(os.path.join(fake, "torch", "__init__.py"), "w") as out:
                out.write(FAKE_TORCH)
            with open(os.path.join(root, "script.py"), "w") as out:
                out.write(SCRIPT)
            output = os.path.join(tmp, "runtime.json")
            probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "d2h_probe.py")
            env = dict(os.environ, PYTHONPATH=fake)
            run = subprocess.run(
                [sys.executable, probe, "--root", root, "--output", output, os.path.join(root, "script.py")],
                env=env,
                cwd=tmp,
            )
            self.assertEqual(run.returncode, 3)  # the script's `sys.exit(3)`, and the report written
            with open(output) as report:
                findings = {f["line"]: f for f in json.load(report)["findings"]}
        lines = SCRIPT.splitlines()
        line = lambda text: next(i for i, code in enumerate(lines, 1) if text in code)  # noqa: E731
        self.assertEqual(sorted(findings), sorted(line(t) for t in ("empty_cache", "synchronize", 'f"{t}"', "new_tensor")))
        setup = findings[line("empty_cache")]
        self.assertEqual((setup["rule"], setup["phase"], setup["severity"]), ("D2H004", "setup", "low"))
        for text, rule in (("synchronize", "D2H004"), ('f"{t}"', "D2H005"), ("new_tensor", "D2H007")):
            site = findings[line(text)]
            # one event per call, in the frame phase: the script's `d2h_probe.frame()` saw the probe
            self.assertEqual((site["rule"], site["count"], site["per_frame"], site["severity"]), (rule, 2, 1.0, "critical"), text)


if __name__ == "__main__":
    unittest.main()
