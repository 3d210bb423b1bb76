"""Tests of the probe's runtime-truth recorder (`Truth`): per-iteration counts, phases,
innermost vs via-call attribution, direction and line coverage. A stand-in torch, no GPU."""

import os
import sys
import tempfile
import textwrap
import types
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import d2h_probe  # noqa: E402
from test_d2h_probe import FAKE_TORCH  # noqa: E402

PACKAGE = {
    "__init__.py": "",
    "ops.py": textwrap.dedent(
        """
        import warnings

        import torch


        def read(x):
            warnings.warn("called a synchronizing CUDA operation")  # a scalar read, as torch reports it
            return x


        def upload(x):
            return torch.tensor(x, device="cuda")


        def step(i):
            y = read(i)
            if i % 2:
                torch.cuda.synchronize()
            return y


        def never_called():
            return 0
        """
    ),
}


class FakeTensor:
    def __init__(self, device, dim=1, dtype="torch.float32"):
        self.device = types.SimpleNamespace(type=device)
        self.dtype = dtype
        self._dim = dim

    def dim(self):
        return self._dim


class FakeOp:
    def __init__(self, name):
        self._schema = types.SimpleNamespace(name=name)


class TruthTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        pkg = os.path.join(self.tmp.name, "fakepkg")
        os.makedirs(pkg)
        for name, text in PACKAGE.items():
            with open(os.path.join(pkg, name), "w") as out:
                out.write(text)
        torch = types.ModuleType("torch")
        exec(FAKE_TORCH, torch.__dict__)

        def tensor(data, device=None):
            warnings.warn("called a synchronizing CUDA operation")  # a blocking upload, as torch reports it
            return data

        torch.tensor = tensor
        torch.cuda.Event, torch.cuda.Stream = torch.Event, torch.Stream
        saved = {name: sys.modules.get(name) for name in ("torch", "fakepkg", "fakepkg.ops")}
        sys.modules["torch"], sys.modules["torch.cuda"] = torch, torch.cuda
        sys.modules.pop("fakepkg", None), sys.modules.pop("fakepkg.ops", None)
        sys.path.insert(0, self.tmp.name)

        def restore():
            sys.path.remove(self.tmp.name)
            sys.modules.pop("torch.cuda", None)
            for name, module in saved.items():
                if module is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module

        self.addCleanup(restore)
        self.truth = d2h_probe.Truth(pkg, watch_ops=False)
        with d2h_probe.Probe(None, self.truth):
            with d2h_probe.scenario("loop"):
                import fakepkg.ops as ops

                ops.upload([1.0])  # setup
                for i in range(4):
                    with d2h_probe.frame():
                        ops.step(i)
                with d2h_probe.phase("epoch"):
                    ops.read(0)
                with d2h_probe.phase("teardown"):
                    ops.upload([2.0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ops.read(1)  # after the probe: not recorded
        self.report = self.truth.report(package="fakepkg")
        self.source = PACKAGE["ops.py"].splitlines()

    def line(self, text):
        return next(i for i, code in enumerate(self.source, 1) if text in code)

    def entries(self, text, kind="innermost"):
        return [e for e in self.report["lines"] if e["line"] == self.line(text) and e["kind"] == kind]

    def test_scenario_counts(self):
        self.assertEqual(self.report["scenarios"], [{"name": "loop", "iterations": 4, "epochs": 1}])
        self.assertEqual(self.report["events"]["outside"], 0)
        for entry in self.report["lines"]:
            self.assertEqual(entry["file"][:8], "fakepkg/")

    def test_innermost_counts_per_phase(self):
        (read,) = self.entries('warnings.warn("called a synchronizing CUDA operation")  # a scalar')
        self.assertEqual(read["phase"], "frame")
        self.assertEqual((read["iterations"], read["synced_in"], read["total"]), (4, 4, 5))
        self.assertEqual(read["phases"], {"frame": {"synced_in": 4, "total": 4}, "epoch": {"synced_in": 1, "total": 1}})
        self.assertEqual((read["direction"], read["symbol"]), ("d2h", "read"))
        (sync,) = self.entries("torch.cuda.synchronize()")
        self.assertEqual((sync["rule"], sync["synced_in"], sync["total"]), ("D2H004", 2, 2))

    def test_call_sites_are_via_call(self):
        (call,) = self.entries("y = read(i)", kind="via-call")
        self.assertEqual((call["synced_in"], call["total"], call["phase"]), (4, 4, "frame"))
        self.assertEqual(self.entries("y = read(i)"), [])
        self.assertEqual(call["leads_to"], [("fakepkg/ops.py", self.line("# a scalar read"))])

    def test_uploads_are_h2d_outside_the_loop(self):
        (upload,) = self.entries("return torch.tensor(x")
        self.assertEqual((upload["direction"], upload["rule"]), ("h2d", "D2H007"))
        self.assertEqual(upload["phases"], {"setup": {"synced_in": 1, "total": 1}, "teardown": {"synced_in": 1, "total": 1}})
        self.assertEqual((upload["phase"], upload["synced_in"]), ("setup", 0))

    def test_coverage(self):
        executed = d2h_probe.parse_ranges(self.report["executed"]["fakepkg/ops.py"])
        self.assertIn(self.line("y = read(i)"), executed)
        self.assertIn(self.line("torch.cuda.synchronize()"), executed)
        self.assertNotIn(self.line("return 0"), executed)


class HelpersTest(unittest.TestCase):
    def test_ranges_round_trip(self):
        self.assertEqual(d2h_probe.ranges([7, 1, 2, 3, 9, 10]), "1-3,7,9-10")
        self.assertEqual(d2h_probe.ranges([]), "")
        self.assertEqual(d2h_probe.parse_ranges("1-3,7,9-10"), {1, 2, 3, 7, 9, 10})

    def test_op_direction(self):
        cuda, cpu = FakeTensor("cuda"), FakeTensor("cpu")
        self.assertEqual(d2h_probe.op_direction(FakeOp("aten::copy_"), (cuda, cpu)), "h2d")
        self.assertEqual(d2h_probe.op_direction(FakeOp("aten::copy_"), (cpu, cuda)), "d2h")
        self.assertEqual(d2h_probe.op_direction(FakeOp("aten::_to_copy"), (cpu,), {"device": "cuda:0"}), "h2d")
        self.assertEqual(d2h_probe.op_direction(FakeOp("aten::_to_copy"), (cuda,), {"device": "cpu"}), "d2h")
        self.assertEqual(d2h_probe.op_direction(FakeOp("aten::_local_scalar_dense"), (cuda,)), "d2h")
        self.assertEqual(d2h_probe.op_direction(FakeOp("aten::index"), (cuda, [cpu])), "h2d")
        self.assertEqual(d2h_probe.op_direction(FakeOp("aten::index"), (cuda, [FakeTensor("cuda")])), "d2h")
        # a boolean mask on the device is read back, whatever the value written
        mask = FakeTensor("cuda", dtype="torch.bool")
        self.assertEqual(d2h_probe.op_direction(FakeOp("aten::index_put_"), (cuda, [mask], cpu)), "d2h")
        # a 0-dim host tensor is a scalar argument, not an upload
        self.assertEqual(d2h_probe.op_direction(FakeOp("aten::mul"), (cuda, FakeTensor("cpu", dim=0))), "d2h")

    def test_phase_names_are_checked(self):
        with self.assertRaises(ValueError):
            with d2h_probe.phase("warmup"):
                pass


if __name__ == "__main__":
    warnings.simplefilter("default")
    unittest.main()
