"""Study planning: power and precision by simulation with the analysis's own models.

Modules: :mod:`~analysis.plan.design` (the design YAML, every key documented there),
:mod:`~analysis.plan.simulate` (data-generating models and the analyses of each dataset),
:mod:`~analysis.plan.closed_form` (Crawford-Howell power), :mod:`~analysis.plan.runner`
(seeded, resumable execution on joblib or dask), :mod:`~analysis.plan.protocol` (the
sample-size paragraph), :mod:`~analysis.plan.figure` (power curves) and
:mod:`~analysis.plan.commands` (``itb plan``).

Examples
--------
>>> from analysis.plan import crawford_howell_power, load_design, power_simulation
"""

from analysis.plan.closed_form import crawford_howell_power
from analysis.plan.design import load_design, parse_design
from analysis.plan.runner import power_simulation

__all__ = ["crawford_howell_power", "load_design", "parse_design", "power_simulation"]
