"""d2h for Python: sync budgets for tests, and the runtime probe.

    import d2h

    with d2h.budget(syncs=0):          # fails when the block reads the device back
        model(batch)

    with d2h.budget(syncs=0, allow={"utils.py:42": "one scalar per epoch for the logger"}):
        train_step(batch)

In pytest, the plugin this package registers gives ``@pytest.mark.d2h_budget(syncs=0, uploads=0)``
and ``pytest --d2h-report runtime.json`` (a ``d2h-report/1`` runtime report that ``d2h compare``
joins with the static audit). ``python -m d2h`` runs the ``d2h`` binary (``d2h audit ...``).

The runtime probe is the module ``d2h_probe`` (``python -m d2h_probe --root src -o runtime.json
script.py``); its phase markers are re-exported here: ``d2h.frame()``, ``d2h.phase("epoch")``,
``d2h.guarded()``.
"""

from __future__ import annotations

from d2h_probe import Probe, Recorder, frame, guarded, phase

from d2h._budget import (
    BudgetError,
    BudgetExceeded,
    BudgetUnobservable,
    Site,
    budget,
    cuda_unavailable_reason,
)


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover (Python < 3.8)
        return "unknown"
    try:
        return version("d2h")
    except PackageNotFoundError:  # run from a source checkout
        import d2h_probe

        return d2h_probe.VERSION


__version__ = _version()

__all__ = [
    "BudgetError",
    "BudgetExceeded",
    "BudgetUnobservable",
    "Probe",
    "Recorder",
    "Site",
    "__version__",
    "budget",
    "cuda_unavailable_reason",
    "frame",
    "guarded",
    "phase",
]
