"""Estimated marginal means and contrasts against a reference level, as emmeans computes them.

The reference grid follows emmeans' defaults: every level of the factor of interest, other
factors averaged with equal weights over their levels, numeric covariates at their mean over
the observations used in the fit. Contrasts are each level minus the reference level
(emmeans' ``"trt.vs.ctrl"`` with ``ref = 1``); p-values are Holm-adjusted across them.

Confidence intervals: ``ci_low``/``ci_high`` of contrasts are *unadjusted* 95% t intervals
(emmeans' ``confint(contrast(..., adjust = "none"))``). emmeans itself would switch to
Bonferroni intervals when asked for ``adjust = "holm"``, because Holm has no simultaneous
interval; we keep the per-contrast interval and say so in ``method``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ModelSpecError
from analysis.stats.multiplicity import holm


@dataclass(frozen=True)
class Term:
    """One fixed-effect term of the design.

    Attributes
    ----------
    name : str
        Column of the data.
    kind : {"intercept", "factor", "numeric"}
    levels : tuple of str
        Factor levels, reference first (empty for numeric terms).
    columns : tuple of int
        Columns of X that code the term (for factors, one per non-reference level).
    mean : float
        Mean of a numeric term over the rows used (emmeans' reference value).
    """

    name: str
    kind: Literal["intercept", "factor", "numeric"]
    levels: tuple[str, ...] = ()
    columns: tuple[int, ...] = ()
    mean: float = float("nan")


def grid_rows(terms: tuple[Term, ...], p: int, factor: str) -> tuple[list[str], np.ndarray]:
    """Rows of the linear functions giving the marginal mean of each level of ``factor``.

    Examples
    --------
    >>> terms = (Term("(Intercept)", "intercept", columns=(0,)),
    ...          Term("visit", "factor", ("baseline", "m6"), (1,)),
    ...          Term("sex", "factor", ("F", "M"), (2,)),
    ...          Term("age", "numeric", columns=(3,), mean=40.0))
    >>> levels, L = grid_rows(terms, 4, "visit")
    >>> levels, L.tolist()
    (['baseline', 'm6'], [[1.0, 0.0, 0.5, 40.0], [1.0, 1.0, 0.5, 40.0]])
    """
    target = next((t for t in terms if t.kind == "factor" and t.name == factor), None)
    if target is None:
        names = [t.name for t in terms if t.kind == "factor"]
        raise ModelSpecError(
            f"no factor {factor!r} among the fixed effects (factors: {names}); "
            "ask for the marginal means of one of these"
        )
    base = np.zeros(p)
    for t in terms:
        if t.kind == "intercept":
            base[t.columns[0]] = 1.0
        elif t.kind == "numeric":
            base[t.columns[0]] = t.mean
        elif t is not target:
            base[list(t.columns)] = 1.0 / len(t.levels)
    L = np.tile(base, (len(target.levels), 1))
    for i, col in enumerate(target.columns, start=1):
        L[i, col] = 1.0
    return list(target.levels), L


def estimate_table(labels: list[str], L: np.ndarray, beta: np.ndarray, calc) -> pd.DataFrame:
    """Estimates, SEs, df, t, two-sided p and unadjusted 95% CIs of ``L beta``.

    ``calc`` is a df calculator from :mod:`analysis.stats.lmm.ddf` (its ``se_df`` gives SEs from the
    covariance it uses, adjusted for Kenward-Roger, and the df).

    Returns
    -------
    pandas.DataFrame
        Columns ``term, estimate, se, df, statistic, p_value, ci_low, ci_high``.
    """
    est = L @ beta
    se, df = calc.se_df(L)
    tstat = est / se
    p = 2 * stats.t.sf(np.abs(tstat), df)
    half = stats.t.ppf(0.975, df) * se
    return pd.DataFrame({"term": labels, "estimate": est, "se": se, "df": df,
                         "statistic": tstat, "p_value": p, "ci_low": est - half,
                         "ci_high": est + half})


def contrast_table(levels: list[str], L: np.ndarray, beta: np.ndarray, calc) -> pd.DataFrame:
    """Each level minus the first (reference) level, Holm-adjusted across the contrasts.

    Returns
    -------
    pandas.DataFrame
        Columns of :func:`estimate_table` plus ``p_adjusted`` (Holm); ``term`` reads
        ``"level - reference"``.
    """
    C = L[1:] - L[0]
    labels = [f"{lev} - {levels[0]}" for lev in levels[1:]]
    table = estimate_table(labels, C, beta, calc)
    table["p_adjusted"] = holm(table["p_value"].to_numpy())
    return table
