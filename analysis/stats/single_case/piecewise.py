"""Piecewise regression of one patient's series (an AB phase design).

Huitema & McKean (2000): y = b0 + b1 day + b2 phase +
b3 (day - first B day) phase by OLS (statsmodels): ``baseline slope`` b1 (per day),
``level change`` b2 (B line minus extrapolated A line at the first B day) and
``slope change`` b3 (per day), t intervals on n - 4 df. In the unit of the measure, signed
as the raw values (not direction-adjusted). OLS assumes independent errors; serial
autocorrelation in single-case data inflates the type I error, so the lag-1
autocorrelation of the residuals and the Durbin-Watson statistic are given in ``note``.

A series fitted exactly (constant, or two straight lines through every point; residuals 0 up to
rounding, :func:`analysis.stats.numerics.is_perfect_fit`) has no residual variance: its
coefficients are reported with SE, t, p and CI left empty and "perfect fit" in ``note``
(statsmodels would report rounding noise such as p = 4e-100).

"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.stattools import durbin_watson
from statsmodels.tsa.stattools import acf

from analysis.errors import InvalidInputError
from analysis.results import result_frame
from analysis.stats.numerics import (
    capture_warnings,
    is_constant,
    is_perfect_fit,
    join_notes,
    noted,
    scale_of,
)

PIECEWISE_TERMS = ("baseline slope", "level change", "slope change")


def piecewise(days, values, phase, *, confidence: float = 0.95, measure: str = "",
              patient_id: str = "", side: str = "") -> pd.DataFrame:
    """Piecewise regression of one series (Huitema & McKean 2000) by OLS.

    Parameters
    ----------
    days, values : array-like
        Time (days) and value of each observation; rows with NaN are dropped.
    phase : array-like of bool or 0/1
        1 (True) for treatment-phase observations, 0 for baseline.
    confidence : float
        Level of the t intervals.
    measure, patient_id, side : str
        Copied into the results rows.

    Returns
    -------
    pandas.DataFrame
        Results rows (analysis ``piecewise``), terms ``baseline slope``, ``level change``,
        ``slope change``; slopes per day, in the unit of the measure, raw sign.

    Examples
    --------
    >>> d = [1, 2, 3, 4, 5, 6, 7, 8]
    >>> y = [10, 11, 12, 13, 20, 22, 24, 26]     # level +6 at day 5, slope 1 -> 2
    >>> t = piecewise(d, y, [0, 0, 0, 0, 1, 1, 1, 1])
    >>> [round(v, 6) + 0 for v in t["estimate"]]
    [1.0, 6.0, 1.0]
    """
    t = np.asarray(days, dtype=float).ravel()
    y = np.asarray(values, dtype=float).ravel()
    d = np.asarray(phase).astype(float).ravel()
    if not (t.size == y.size == d.size):
        raise InvalidInputError(
            f"days, values and phase must have equal lengths (got {t.size}, {y.size}, "
            f"{d.size}).")
    if not np.all(np.isin(d[np.isfinite(d)], (0.0, 1.0))):
        raise InvalidInputError("phase must be 0/1 or boolean (1 = treatment phase).")
    keep = np.isfinite(t) & np.isfinite(y) & np.isfinite(d)
    t, y, d = t[keep], y[keep], d[keep]
    n_a, n_b = int(np.sum(d == 0)), int(np.sum(d == 1))
    base = dict(measure=measure, side=side, patient_id=patient_id, analysis="piecewise",
                n_patients=1, n_obs=t.size)
    if n_a < 2 or n_b < 2 or t.size < 5:
        why = (f"not estimable: piecewise regression needs >= 2 baseline and >= 2 treatment "
               f"points and >= 5 in all (got {n_a} and {n_b})")
        return result_frame([{**base, "term": term, "method": "OLS piecewise regression "
                              "(Huitema & McKean 2000)", "note": why} for term in PIECEWISE_TERMS])
    t0 = t[d == 1].min()
    if t[d == 0].max() >= t0:
        raise InvalidInputError(
            "baseline observations must precede the treatment phase in time (a baseline "
            f"day {t[d == 0].max():g} is not before the first treatment day {t0:g}).")
    x = np.column_stack([np.ones_like(t), t, d, (t - t0) * d])
    if np.linalg.matrix_rank(x) < 4:
        why = "not estimable: the design matrix is rank deficient (too few distinct days)"
        return result_frame([{**base, "term": term, "note": why} for term in PIECEWISE_TERMS])
    with capture_warnings() as caught:
        fit = OLS(y, x).fit()
        ci = fit.conf_int(alpha=1 - confidence)
        resid = fit.resid
        perfect = is_perfect_fit(y, resid)
        if not perfect:
            r1 = float(acf(resid, nlags=1, fft=False)[1])
            dw = float(durbin_watson(resid))
    method = (
        "Piecewise regression (Huitema & McKean 2000) y = b0 + b1*day + b2*phase + "
        "b3*(day - first treatment day)*phase; OLS (statsmodels), t CI on n - 4 df; assumes "
        "independent errors: serial autocorrelation in single-case data inflates type I error"
    )
    units = (f"slopes per day, raw units (not direction-adjusted); first treatment day {t0:g}")
    if perfect:
        what = ("constant series: every coefficient is 0" if is_constant(y) else
                "the lines pass through every point")
        note = join_notes(f"perfect fit ({what}; residuals 0 up to rounding): SE, t, p and CI "
                          "are undefined", units)
        # coefficients that are rounding noise relative to the data's scale are exactly 0
        span = np.array([1.0, max(np.ptp(t), 1.0), 1.0, max(np.ptp(t), 1.0)])
        params = np.where(np.abs(fit.params) * span <= 1e-10 * scale_of(y), 0.0, fit.params)
        rows = [{**base, "term": term, "estimate": params[k], "df": fit.df_resid,
                 "df_method": "residual", "method": method, "note": note}
                for k, term in enumerate(PIECEWISE_TERMS, start=1)]
        return noted(result_frame(rows), caught)
    note = join_notes(f"lag-1 autocorrelation of residuals {r1:.3f}, Durbin-Watson {dw:.3f}",
                      units)
    rows = []
    for k, term in enumerate(PIECEWISE_TERMS, start=1):
        rows.append({**base, "term": term, "estimate": fit.params[k], "se": fit.bse[k],
                     "df": fit.df_resid, "df_method": "residual", "statistic": fit.tvalues[k],
                     "p_value": fit.pvalues[k], "ci_low": ci[k, 0], "ci_high": ci[k, 1],
                     "method": method, "note": note})
    return noted(result_frame(rows), caught)
