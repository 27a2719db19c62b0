"""Study planning: power and precision by simulation with the analysis's own models.

Modules: :mod:`~analysis.plan.design` (the design YAML, every key documented there),
:mod:`~analysis.plan.simulate` (data-generating models and the analyses of each dataset),
:mod:`~analysis.plan.closed_form` (Crawford-Howell power), :mod:`~analysis.plan.runner`
(seeded, resumable execution on joblib or dask), :mod:`~analysis.plan.protocol` (the
sample-size paragraph), :mod:`~analysis.plan.figure` (power curves) and
:mod:`~analysis.plan.commands` (``itb plan``).

The names below are imported on first use, so that ``itb --help`` (which imports
:mod:`~analysis.plan.commands`) loads no numeric library.

Examples
--------
>>> from analysis.plan import crawford_howell_power, load_design, power_simulation
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {"crawford_howell_power": "analysis.plan.closed_form",
          "load_design": "analysis.plan.design", "parse_design": "analysis.plan.design",
          "power_simulation": "analysis.plan.runner"}
__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'analysis.plan' has no attribute {name!r}")
