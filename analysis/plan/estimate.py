"""A rough run time of a plan, printed before it starts.

The estimate multiplies the simulated analyses of every scenario by a per-analysis cost
constant (:data:`SECONDS`: CPU seconds to simulate one dataset and run one test on it on the
batched path, :mod:`analysis.plan.batched`, measured on one core of a 2-core AMD EPYC machine,
2026-12, at small sizes) times ``1 + size / SIZE[design]`` (size: patients x visits / 3, or
days; NAP and Tau-U grow faster because the per-statistic cache of
:func:`analysis.plan.batched.rank_results` misses more often), adds the start-up
of the command (:data:`STARTUP`) and divides the simulation by the workers. It is not a timing
of this machine: expect a factor of two either way (more when many datasets fall back to the
per-dataset path: ties in rounded data, m > 400 Wilcoxon pairs).
"""

from __future__ import annotations

from analysis.plan.design import PlanDesign

#: CPU seconds per simulated dataset and test (one core, batched path), at small sizes.
#: (The per-dataset path cost about 0.015, 0.025, 0.06, 0.004, 0.002 and 0.004 s.)
SECONDS = {"paired_t": 4e-5, "wilcoxon": 4e-5, "lmm": 1e-4, "nap": 4e-5, "tau_u": 4e-5,
           "piecewise": 2e-5}
#: Size (patients x visits / 3, or days) at which the cost of a dataset has doubled.
SIZE = {"case_series": 300.0, "ab": 15.0, "titration": 15.0}
#: CPU seconds of starting ``itb plan`` (Python, numpy, scipy, pandas) and writing its files.
STARTUP = 2.0


def estimate_seconds(design: PlanDesign, *, workers: int = 1) -> float:
    """Estimated wall time (seconds) of a plan on ``workers`` processes (see module docstring).

    Examples
    --------
    >>> from analysis.plan.design import parse_design
    >>> d = parse_design({"n_sim": 1000, "studies": [{"name": "s", "design": "ab",
    ...     "n_baseline": 5, "n_treatment": 8, "effect": 2.0, "tests": ["nap", "tau_u"]}]})
    >>> round(estimate_seconds(d), 2)    # 2 s start-up + 1000 x (4e-5 + 4e-5) x (1 + 13/15) s
    2.15
    """
    total = 0.0
    for sc in design.scenarios:
        if sc.design == "controls":
            continue
        size = (sc.params["n_baseline"] + sc.params["n_treatment"]
                if sc.design in ("ab", "titration")
                else sc.params["n"] * len(sc.params["visits"]) / 3)
        scale = 1.0 + size / SIZE[sc.design]
        total += design.n_sim * scale * sum(SECONDS[t] for t in sc.params["tests"])
    return STARTUP + total / max(1, workers)


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
