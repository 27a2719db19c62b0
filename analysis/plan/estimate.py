"""A rough run time of a plan, printed before it starts.

The estimate multiplies the simulated analyses of every scenario by a per-analysis cost
constant (:data:`SECONDS`: seconds to simulate one dataset and run one test on it, measured
on one core of a 2-core machine, 2026; they hold up to about 100 patients or days and grow in
proportion beyond) and divides by the workers. It is not a timing of this machine: expect a
factor of two either way.
"""

from __future__ import annotations

from analysis.plan.design import PlanDesign

#: Seconds per simulated dataset and test (one core), at up to :data:`SIZE` patients or days.
SECONDS = {"paired_t": 0.015, "wilcoxon": 0.025, "lmm": 0.06, "nap": 0.004, "tau_u": 0.002,
           "piecewise": 0.004}
SIZE = 100


def estimate_seconds(design: PlanDesign, *, workers: int = 1) -> float:
    """Estimated wall time (seconds) of a plan on ``workers`` processes (see module docstring).

    Examples
    --------
    >>> from analysis.plan.design import parse_design
    >>> d = parse_design({"n_sim": 1000, "studies": [{"name": "s", "design": "ab",
    ...     "n_baseline": 5, "n_treatment": 8, "effect": 2.0, "tests": ["nap", "tau_u"]}]})
    >>> round(estimate_seconds(d), 1)
    6.0
    """
    total = 0.0
    for sc in design.scenarios:
        if sc.design == "controls":
            continue
        size = (sc.params["n_baseline"] + sc.params["n_treatment"]
                if sc.design in ("ab", "titration") else sc.params["n"])
        scale = max(1.0, size / SIZE)
        total += design.n_sim * scale * sum(SECONDS[t] for t in sc.params["tests"])
    return total / max(1, workers)


def describe(seconds: float) -> str:
    """Seconds as a rough duration.

    Examples
    --------
    >>> describe(42), describe(600), describe(7200), describe(3 * 86400)
    ('42 s', '10 min', '2.0 h', '3.0 days')
    """
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200 - 1:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
