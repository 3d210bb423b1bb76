"""Runs the runtime-truth scorer's tests (benches/truth/test_score.py) with the probe's suite, so
`python3 -m unittest discover -s probes/python` covers both."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "benches", "truth"))

from test_score import ScoreTest  # noqa: E402,F401
