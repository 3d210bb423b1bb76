"""Tests of the d2h pytest plugin, with pytester. They run against the installed wheel (whose
`pytest11` entry point loads the plugin) or, from a checkout, against probes/python."""

import os
import sys

pytest_plugins = ["pytester"]

PROBES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if not any(os.path.abspath(p or ".") == PROBES for p in sys.path):
    try:
        import d2h  # noqa: F401  (installed)
    except ImportError:
        sys.path.insert(0, PROBES)
