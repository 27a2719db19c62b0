"""The phase statistics on two arrays (baseline A, treatment B), as results rows.

The notebook face of :mod:`.phase` and :mod:`.piecewise`: ``nap(a, b)``, ``tau_u(a, b)``,
``pnd(a, b)`` and ``piecewise(a, b)`` return the same rows as
:func:`analysis.phase_analysis` gives for a tidy series (as :func:`.phase_overlap.pand` and
:func:`.phase_overlap.pem` always did), so one call on two arrays and the pipeline agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.results import result_frame
from analysis.stats.single_case import phase as _phase
from analysis.stats.single_case import piecewise as _piecewise
from analysis.stats.single_case.phase_effects import raw_phases
from analysis.stats.single_case.shares import Share
from analysis.stats.single_case.tau_variants import tau_u_table
from analysis.vocabulary import TAU_VARIANTS, Better

__all__ = ["nap", "piecewise", "pnd", "tau_u"]


def _rows(r: _phase.NonOverlap, term: str, measure: str, patient_id: str,
          side: str) -> pd.DataFrame:
    return result_frame([{"measure": measure, "side": side, "patient_id": patient_id,
                          "analysis": r.name, "term": term, "estimate": r.estimate, "se": r.se,
                          "statistic": r.statistic, "p_value": r.p_value, "ci_low": r.ci_low,
                          "ci_high": r.ci_high, "n_patients": 1, "n_obs": r.n_a + r.n_b,
                          "method": r.method, "note": r.note}])


def nap(a, b, *, better: Better = "higher", se: str = "unbiased", confidence: float = 0.95,
        term: str = "B vs A", measure: str = "", patient_id: str = "",
        side: str = "") -> pd.DataFrame:
    """Non-overlap of All Pairs (Parker & Vannest 2009) of two phases, one results row.

    Parameters
    ----------
    a, b : array-like
        Baseline (A) and treatment (B) values.
    better : {"higher", "lower"}
        Direction of improvement.
    se : {"unbiased", "hanley", "null"}
        Standard error (SingleCaseES ``NAP(SE = ...)``); the CI is Newcombe's method 5.
    confidence : float
        Level of the interval.
    term, measure, patient_id, side : str
        Copied into the row.

    Returns
    -------
    pandas.DataFrame
        One row ``nap`` (estimate 0-1, ``statistic`` U).

    Examples
    --------
    >>> import analysis
    >>> row = analysis.nap([3, 3, 2, 3], [1.5, 1, 1, 1.5, 1], better="lower").iloc[0]
    >>> float(row["estimate"]), round(float(row["ci_low"]), 4)
    (1.0, 0.6115)
    """
    r = _phase.nap(a, b, better=better, confidence=confidence, se=se)
    return _rows(r, term, measure, patient_id, side)


def tau_u(a, b, *, better: Better = "higher", variant: str = "A vs B",
          method: str = "parker", confidence: float = 0.95, measure: str = "",
          patient_id: str = "", side: str = "") -> pd.DataFrame:
    """Tau-U of two phases, one results row per variant (``term`` = the variant).

    Parameters
    ----------
    a, b : array-like
        Baseline values in time order, and treatment values.
    better : {"higher", "lower"}
    variant : str or "all"
        ``A vs B``, ``trend A``, ``trend B``, ``A vs B - trend A``, ``A vs B + trend B``,
        ``A vs B + trend B - trend A`` (the full Tau-U), or ``"all"``.
    method : {"parker", "tarlow", "complete"}
        The denominator (scan ``tau_u(method = ...)``; see
        :mod:`analysis.stats.single_case.tau_variants`).

    Returns
    -------
    pandas.DataFrame
        Rows ``tau_u``. ``A vs B`` and ``A vs B - trend A`` with ``method="parker"`` are the
        rows of :func:`analysis.phase_analysis` (NAP-based SE and CI for ``A vs B``, Wald CI
        for the trend-corrected one); the other variants and methods follow scan (SE = Tau / z,
        Fisher-z CI).

    Examples
    --------
    >>> import analysis
    >>> a, b = [20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29]
    >>> round(float(analysis.tau_u(a, b, variant="A vs B - trend A").estimate[0]), 3)
    0.738
    >>> analysis.tau_u(a, b, variant="all", method="complete")["estimate"].round(3).tolist()
    [0.843, 0.276, 0.39, 0.474, 0.626, 0.51]
    """
    ids = dict(measure=measure, patient_id=patient_id, side=side)
    if variant in TAU_VARIANTS and method == "parker":
        r = _phase.tau_u(a, b, better=better, variant=variant, confidence=confidence)
        return _rows(r, variant, **ids)
    variants = None if variant == "all" else [variant]
    kw = {} if variants is None else {"variants": variants}
    return tau_u_table(a, b, better=better, method=method, confidence=confidence, **kw, **ids)


def pnd(a, b, *, better: Better = "higher", term: str = "B vs A", measure: str = "",
        patient_id: str = "", side: str = "", share: Share = "proportion") -> pd.DataFrame:
    """Percentage of Non-overlapping Data (Scruggs, Mastropieri & Casto 1987), one row: a
    proportion (0-1) unless ``share="percent"`` (:mod:`analysis.stats.single_case.shares`).

    Examples
    --------
    >>> import analysis
    >>> a, b = [20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29]
    >>> round(float(analysis.pnd(a, b).estimate[0]), 4)
    0.7143
    >>> round(float(analysis.pnd(a, b, share="percent").estimate[0]), 2)
    71.43
    """
    return _rows(_phase.pnd(a, b, better=better, share=share), term, measure, patient_id, side)


def piecewise(a, b, *, days_a=None, days_b=None, confidence: float = 0.95, measure: str = "",
              patient_id: str = "", side: str = "") -> pd.DataFrame:
    """Piecewise regression (Huitema & McKean 2000) of two phases: baseline slope, level
    change, slope change (raw units, per day or session).

    Parameters
    ----------
    a, b : array-like
        Baseline and treatment values in time order.
    days_a, days_b : array-like, optional
        Their days; default sessions 1..nA and nA+1..nA+nB.

    Examples
    --------
    >>> import analysis
    >>> t = analysis.piecewise([10, 11, 12, 13], [20, 22, 24, 26])
    >>> [round(float(v), 6) + 0 for v in t["estimate"]]
    [1.0, 6.0, 1.0]
    """
    a, b = raw_phases(a, b)
    days_a = np.arange(1.0, a.size + 1) if days_a is None else np.asarray(days_a, float)
    days_b = (np.arange(a.size + 1.0, a.size + b.size + 1) if days_b is None
              else np.asarray(days_b, float))
    return _piecewise.piecewise(np.r_[days_a, days_b], np.r_[a, b],
                                np.r_[np.zeros(a.size), np.ones(b.size)],
                                confidence=confidence, measure=measure, patient_id=patient_id,
                                side=side)
