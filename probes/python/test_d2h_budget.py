"""Tests of the sync budget's bookkeeping (no torch needed): allow-lists, counting, messages.
The plugin and the watcher are tested with pytest in tests/ (pytester)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import d2h  # noqa: E402
from d2h import _budget  # noqa: E402


class AllowTest(unittest.TestCase):
    def test_sites_take_a_reason_each_or_one_for_all(self):
        self.assertEqual(
            _budget._parse_allow({"utils.py:42": " logged once "}, None),
            [("utils.py", 42, "logged once", "utils.py:42")],
        )
        self.assertEqual(
            _budget._parse_allow(["a/b.py", "c.py:7"], "a benchmark"),
            [("a/b.py", None, "a benchmark", "a/b.py"), ("c.py", 7, "a benchmark", "c.py:7")],
        )

    def test_bad_entries_name_the_site(self):
        with self.assertRaisesRegex(ValueError, r"site 'utils.py:42' has no reason"):
            _budget._parse_allow(["utils.py:42"], None)
        with self.assertRaisesRegex(ValueError, r"site 'utils.py:0' has line 0"):
            _budget._parse_allow({"utils.py:0": "why"}, None)
        with self.assertRaisesRegex(TypeError, r"allow='utils.py:42': give a list"):
            _budget._parse_allow("utils.py:42", "why")
        with self.assertRaisesRegex(ValueError, r"'' is not a site"):
            _budget._parse_allow({"": "why"}, None)
        with self.assertRaisesRegex(TypeError, "no sites were given"):
            d2h.budget(syncs=0, reason="why")
        with self.assertRaisesRegex(ValueError, r"syncs=1.5 is not a count"):
            d2h.budget(syncs=1.5)
        with self.assertRaisesRegex(ValueError, r"uploads=True is not a count"):
            d2h.budget(uploads=True)

    def test_paths_match_whole_trailing_components(self):
        self.assertTrue(_budget._suffix_match("/repo/pkg/utils.py", "utils.py"))
        self.assertTrue(_budget._suffix_match("/repo/pkg/utils.py", "pkg/utils.py"))
        self.assertTrue(_budget._suffix_match("pkg/utils.py", "./pkg/utils.py"))
        self.assertFalse(_budget._suffix_match("/repo/pkg/myutils.py", "utils.py"))


class CountingTest(unittest.TestCase):
    def test_counts_limits_and_the_message(self):
        scope = d2h.budget(syncs=1, uploads=0, allow={"pkg/log.py:9": "one scalar per epoch"})
        for _ in range(2):
            scope.charge("D2H002", "pkg/model.py", "/r/pkg/model.py", 12, "loss.item()")
        scope.charge("D2H007", "pkg/model.py", "/r/pkg/model.py", 3, "torch.tensor(x, device=d)")
        scope.charge("D2H005", "pkg/log.py", "/r/pkg/log.py", 9, "print(loss)")
        self.assertEqual((scope.syncs, scope.uploads), (2, 1))
        self.assertEqual(scope.over(), ["2 syncs (budget 1)", "1 upload (budget 0)"])
        self.assertEqual(
            scope.message().splitlines(),
            [
                "d2h budget exceeded: 2 syncs (budget 1), 1 upload (budget 0)",
                "  pkg/model.py:3: D2H007 blocking-upload (1 upload): torch.tensor(x, device=d)",
                "  pkg/model.py:12: D2H002 scalar-read (2 syncs): loss.item()",
                "allowed in this scope:",
                "  pkg/log.py:9: D2H005 host-format (1 sync): print(loss) -- allowed: one scalar per epoch",
            ],
        )

    def test_unlimited_kinds_are_not_listed(self):
        scope = d2h.budget(syncs=0)
        scope.charge("D2H007", "m.py", "/r/m.py", 3, "x.cuda()")
        self.assertEqual(scope.over(), [])
        scope.charge("D2H001", "m.py", "/r/m.py", 4, "x.cpu()")
        self.assertNotIn("D2H007", scope.message())


class UnobservableTest(unittest.TestCase):
    def test_entering_without_cuda_raises(self):
        reason = d2h.cuda_unavailable_reason()
        if reason is None:
            self.skipTest("a CUDA device is available here")
        with self.assertRaises(d2h.BudgetUnobservable) as raised:
            with d2h.budget(syncs=0):
                self.fail("the body must not run unobserved")
        self.assertEqual(str(raised.exception), reason)


if __name__ == "__main__":
    unittest.main()
