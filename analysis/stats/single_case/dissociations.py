"""Dissociation between two measures in one patient: the Revised Standardized Difference Test.

RSDT (Crawford & Garthwaite 2005): is the difference between the patient's standardized scores
on two measures (e.g. spasticity against strength) unusual given the controls' means, SDs and
the correlation between the measures? Hand-written (no Python library offers it; in R it is
singcar::RSDT), checked against singcar's published output and the root condition of the test
(tests/test_single_case_controls.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InvalidInputError
from analysis.results import result_frame
from analysis.stats.noncentral import noncentral_t_limits, noncentral_t_median
from analysis.stats.single_case.controls import _check_controls
from analysis.stats.single_case.shares import Share, check_share
from analysis.vocabulary import Better


@dataclass(frozen=True)
class RSDT:
    """Result of :func:`rsdt`. ``t`` carries the sign of ``z_dcc`` (the published statistic
    is its absolute value); ``pct_more_extreme`` = one-sided p * 100 on the side of the
    patient's difference; ``p_value`` is for ``alternative``."""

    z_x: float
    z_y: float
    z_dcc: float
    r_xy: float
    n: int
    t: float
    df: int
    p_value: float
    pct_more_extreme: float
    oriented: bool
    label_x: str
    label_y: str
    alternative: str = "two-sided"

    def tidy(self, *, measure: str = "", patient_id: str = "", side: str = "",
             share: Share = "proportion") -> pd.DataFrame:
        """Results rows: ``rsdt`` (estimate = Z_DCC, statistic = signed t, p for
        ``alternative``), then ``z_score`` for each measure and ``pct_more_extreme`` (a
        proportion 0-1, or 0-100 with ``share="percent"``: :mod:`.shares`)."""
        percent = check_share(share) == 100
        pct = self.pct_more_extreme if percent else self.pct_more_extreme / 100
        how = "z oriented so positive = better" if self.oriented else "z = (score - mean)/SD"
        ids = {"measure": measure, "patient_id": patient_id, "side": side, "n_patients": 1.0,
               "n_obs": float(self.n + 1)}
        row = {
            "measure": measure, "patient_id": patient_id, "side": side, "analysis": "rsdt",
            "term": f"z({self.label_x}) - z({self.label_y})", "estimate": self.z_dcc,
            "df": float(self.df), "df_method": "n-1", "statistic": self.t,
            "p_value": self.p_value, "n_patients": 1.0, "n_obs": float(self.n + 1),
            "method": "Revised Standardized Difference Test (Crawford & Garthwaite 2005), "
            f"{self.alternative}, exact root of psi = c; estimate = Z_DCC; {how}; "
            f"r = {self.r_xy:g}; scipy.stats.t",
            "note": f"z_x = {self.z_x:.4f}, z_y = {self.z_y:.4f}; "
            + (f"percentage of controls with a more extreme difference = {pct:.2f}" if percent
               else f"proportion of controls with a more extreme difference = {pct:.4f}")
            + "; no interval (the RSDT "
            "is only approximately t-distributed)",
        }
        tail = "below" if self.t < 0 else "above"
        parts = [
            {**ids, "analysis": "z_score", "term": f"z({label})", "estimate": z,
             "method": f"patient's score standardised on the controls; {how}", "note": ""}
            for label, z in ((self.label_x, self.z_x), (self.label_y, self.z_y))]
        parts.append({**ids, "analysis": "pct_more_extreme",
                      "term": f"controls {tail} the patient's difference "
                      f"z({self.label_x}) - z({self.label_y})",
                      "estimate": pct,
                      "method": ("one-sided RSDT p x 100" if percent else "proportion (0-1) = "
                                 "one-sided RSDT p") + " on the side of the patient's difference "
                      "(Crawford & Garthwaite 2005)",
                      "note": "no interval (the RSDT is only approximately t-distributed)"})
        return result_frame([row, *parts])


def rsdt_abs_t(diff, r, n: int):
    """|t| of the RSDT from ``z_x - z_y``, the controls' correlation(s) ``r`` and ``n``
    (vectorised over ``diff`` and ``r``): the root of ``psi(c) = c``, a quadratic in ``c^2``.

    Examples
    --------
    >>> round(float(rsdt_abs_t(-1.7548574 + 0.7836956, 0.584065, 28)), 3)
    1.015
    """
    diff = np.asarray(diff, dtype=float)
    r = np.asarray(r, dtype=float)
    a = (1 + r) * (1 - r**2)
    b = (1 - r) * (4 * (n - 1) ** 2 + 4 * (1 + r) * (n - 1) + (1 + r) * (5 + r))
    c = -2 * diff**2 * (n * (n - 1) ** 2 / (n + 1))
    return np.sqrt((-b + np.sqrt(b * b - 4 * a * c)) / (2 * a))


def rsdt(
    x: float,
    y: float,
    *,
    mean_x: float,
    sd_x: float,
    mean_y: float,
    sd_y: float,
    r_xy: float,
    n: int,
    better_x: Better | None = None,
    better_y: Better | None = None,
    label_x: str = "x",
    label_y: str = "y",
    alternative: str = "two-sided",
) -> RSDT:
    """Revised Standardized Difference Test for a dissociation (Crawford & Garthwaite 2005).

    With ``z_x, z_y`` the patient's scores standardised on the controls, Garthwaite &
    Crawford's (2004) statistic ``psi(c) = (z_x - z_y) / sqrt(((n+1)/n)((2 - 2r) +
    2(1 - r^2)/(n - 1) + (5 + c^2)(1 - r^2)/(2(n - 1)^2) + r(1 + c^2)(1 - r^2)/(2(n - 1)^2)))``
    is compared with the critical value ``c``; solving ``psi(c) = c`` (a quadratic in ``c^2``)
    gives the exact statistic ``|t|`` on ``n - 1`` df. ``Z_DCC = (z_x - z_y) / sqrt(2 - 2r)``.

    Parameters
    ----------
    x, y : float
        The patient's scores on the two measures.
    mean_x, sd_x, mean_y, sd_y : float
        Control means and SDs.
    r_xy : float
        Correlation between the measures in the controls.
    n : int
        Control sample size.
    better_x, better_y : {"lower", "higher"} or None
        When both are given, each z is signed so that positive means better (a positive
        Z_DCC then means the patient is relatively better on x than on y).
    label_x, label_y : str
        Names used in ``term`` (e.g. the codebook keys).
    alternative : {"two-sided", "less", "greater"}
        Tail of the test of ``z_x - z_y`` (as singcar ``RSDT``'s ``alternative``).

    Returns
    -------
    RSDT

    Examples
    --------
    >>> r = rsdt(-1.7548574, -0.7836956, mean_x=0, sd_x=1, mean_y=0, sd_y=1,
    ...          r_xy=0.584065, n=28)
    >>> round(abs(r.t), 3), round(r.p_value, 4)
    (1.015, 0.3191)
    """
    _check_controls(mean_x, sd_x, n, "controls on x")
    _check_controls(mean_y, sd_y, n, "controls on y")
    if not (np.isfinite(r_xy) and -1 < r_xy < 1):
        raise InvalidInputError(f"r_xy must lie strictly between -1 and 1, got {r_xy!r}.")
    if (better_x is None) != (better_y is None):
        raise InvalidInputError(
            "give both better_x and better_y (to orient both z scores) or neither; got "
            f"better_x={better_x!r}, better_y={better_y!r}."
        )
    for b in (better_x, better_y):
        if b not in (None, "lower", "higher"):
            raise InvalidInputError(f"better_x/better_y must be 'lower' or 'higher', got {b!r}.")
    if alternative not in ("two-sided", "less", "greater"):
        raise InvalidInputError(f"alternative={alternative!r}; use 'two-sided', 'less' or "
                                "'greater' (a dissociation has no better tail).")
    n, r = int(n), float(r_xy)
    z_x = (x - mean_x) / sd_x
    z_y = (y - mean_y) / sd_y
    oriented = better_x is not None
    if oriented:
        z_x = -z_x if better_x == "lower" else z_x
        z_y = -z_y if better_y == "lower" else z_y
    diff = z_x - z_y
    z_dcc = diff / math.sqrt(2 - 2 * r)
    t_abs = float(rsdt_abs_t(diff, r, n))
    df = n - 1
    p_one = float(stats.t.sf(t_abs, df))
    t = float(math.copysign(t_abs, diff))
    p = {"two-sided": min(1.0, 2 * p_one), "less": float(stats.t.cdf(t, df)),
         "greater": float(stats.t.sf(t, df))}[alternative]
    return RSDT(
        z_x=float(z_x), z_y=float(z_y), z_dcc=float(z_dcc), r_xy=r, n=n, t=t, df=df,
        p_value=p, pct_more_extreme=100 * p_one, oriented=oriented, label_x=label_x,
        label_y=label_y, alternative=alternative,
    )


# ----------------------------------------------------------------------------------- UDT
def udt(
    x: float,
    y: float,
    *,
    mean_x: float,
    sd_x: float,
    mean_y: float,
    sd_y: float,
    r_xy: float,
    n: int,
    alternative: str = "two-sided",
    conf_level: float = 0.95,
    label_x: str = "x",
    label_y: str = "y",
    measure: str = "",
    patient_id: str = "",
    side: str = "",
    share: Share = "proportion",
) -> pd.DataFrame:
    """Unstandardised Difference Test (Crawford & Garthwaite 2005) for two measures on the
    same scale.

    ``t = ((x - mean_x) - (y - mean_y)) / sqrt((sd_x^2 + sd_y^2 - 2 r sd_x sd_y)(n + 1)/n)`` on
    ``n - 1`` df. Z_DCC = (z_x - z_y) / sqrt(2 - 2r) with the exact noncentral-t interval of
    Crawford & Garthwaite (2002) (singcar searches the noncentrality on a 0.01 grid; the
    limits here are exact roots, so they differ from singcar's in the second decimal at most),
    and the share of controls beyond the patient's difference with its interval (a proportion
    0-1, or 0-100 with ``share="percent"``: :mod:`.shares`). That share's point estimate is the
    median-unbiased ``Phi(delta_0.5 / sqrt(n))`` of the same inversion, so it lies inside its
    interval; the one-sided p (singcar's estimate) is its ``p_value``.

    Returns
    -------
    pandas.DataFrame
        Rows ``udt`` with terms ``<x> - <y>`` (t test; estimate = the patient's difference of
        deviations from the control means), ``z_dcc`` and ``proportion of controls more
        extreme`` (``percentage ...`` with ``share="percent"``).

    Examples
    --------
    singcar README (patient DF, size-weight illusion, 28 controls): t = -0.6667, p = 0.5106.

    >>> t = udt(0.028149, 0.100127, mean_x=0.1646236, sd_x=0.0777695, mean_y=0.1794426,
    ...         sd_y=0.1012070, r_xy=0.5840643, n=28)
    >>> round(float(t.statistic[0]), 4), round(float(t.p_value[0]), 4)
    (-0.6667, 0.5106)
    """
    _check_controls(mean_x, sd_x, n, "controls on x")
    _check_controls(mean_y, sd_y, n, "controls on y")
    if not (np.isfinite(r_xy) and -1 < r_xy < 1):
        raise InvalidInputError(f"r_xy must lie strictly between -1 and 1, got {r_xy!r}.")
    if alternative not in ("two-sided", "less", "greater"):
        raise InvalidInputError(f"alternative={alternative!r}; use 'two-sided', 'less' or "
                                "'greater' (a dissociation has no better tail).")
    scale = check_share(share)
    n = int(n)
    df = n - 1
    diff = (x - mean_x) - (y - mean_y)
    se = math.sqrt((sd_x**2 + sd_y**2 - 2 * sd_x * sd_y * r_xy) * (n + 1) / n)
    t = diff / se
    p_less, p_greater = float(stats.t.cdf(t, df)), float(stats.t.sf(t, df))
    p = {"less": p_less, "greater": p_greater,
         "two-sided": min(1.0, 2 * min(p_less, p_greater))}[alternative]
    tail = alternative if alternative != "two-sided" else ("less" if t < 0 else "greater")
    z_dcc = ((x - mean_x) / sd_x - (y - mean_y) / sd_y) / math.sqrt(2 - 2 * r_xy)
    lo, hi = noncentral_t_limits(z_dcc * math.sqrt(n), df, confidence=conf_level)
    z_lo, z_hi = lo / math.sqrt(n), hi / math.sqrt(n)
    # point estimate: the median-unbiased one of the same inversion (inside the interval;
    # the one-sided p, singcar's estimate, is kept in p_value: see crawford_howell)
    z_mid = noncentral_t_median(z_dcc * math.sqrt(n), df) / math.sqrt(n)
    beyond = stats.norm.cdf if tail == "less" else stats.norm.sf
    pct = scale * float(beyond(z_mid))
    pct_ci = tuple(sorted((scale * float(beyond(z_lo)), scale * float(beyond(z_hi)))))
    p_tail = p_less if tail == "less" else p_greater
    base = {"measure": measure, "patient_id": patient_id, "side": side, "analysis": "udt",
            "n_patients": 1.0, "n_obs": float(n + 1)}
    ctrl = (f"controls n {n}, r = {r_xy:g}")
    return result_frame([
        {**base, "term": f"{label_x} - {label_y}", "estimate": diff, "se": se, "df": df,
         "df_method": "n-1", "statistic": t, "p_value": p,
         "method": f"Unstandardised Difference Test (Crawford & Garthwaite 2005), {alternative}; "
         f"{ctrl}; scipy.stats.t",
         "note": "estimate = (x - mean_x) - (y - mean_y), in the unit of the measures"},
        {**base, "term": f"z_dcc: {label_x} - {label_y}", "estimate": z_dcc, "ci_low": z_lo,
         "ci_high": z_hi,
         "method": "Z_DCC = (z_x - z_y)/sqrt(2 - 2r); exact noncentral-t interval (Crawford & "
         "Garthwaite 2002) by root finding, not singcar's 0.01 grid",
         "note": ""},
        {**base, "term": f"{'percentage' if scale == 100 else 'proportion'} of controls "
         f"{'below' if tail == 'less' else 'above'}",
         "estimate": pct, "ci_low": pct_ci[0], "ci_high": pct_ci[1], "p_value": p_tail,
         "method": ("percentage (0-100)" if scale == 100 else "proportion (0-1)")
         + " on the patient's side: median-unbiased estimate Phi(delta_0.5/sqrt(n)) and "
         "interval from Z_DCC's noncentral-t inversion",
         "note": "p_value = the one-sided p on the patient's side (singcar's point estimate)"},
    ])
