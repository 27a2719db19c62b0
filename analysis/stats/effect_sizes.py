"""Paired (within-patient) effect sizes with their confidence intervals.

Every function takes the follow-up values ``x`` and the baseline values ``y`` of the same
patients (pairs in the same order) and returns an :class:`EffectSize` signed in the direction
of ``x - y`` (``post_m6 - baseline``).

Variants, named so that they are never confused:

- **Cohen's d_z** = mean(x - y) / SD(x - y); exact interval by inverting the noncentral t
  distribution of the paired t statistic (Cumming & Finch 2001; Lakens 2013).
- **Cohen's d_av** = mean(x - y) / ((SD_x + SD_y) / 2) (Lakens 2013, eq. 10). Its interval is
  the Algina & Keselman (2003) interval for dependent samples: the noncentral-t limits of the
  paired t's noncentrality parameter, multiplied by SD(x - y) / (sqrt(n) * standardizer).
  The same construction with Cumming's standardizer sqrt((SD_x^2 + SD_y^2) / 2)
  (``standardizer="rms"``) reproduces the published example (Lakens movie data: 1.1259,
  0.4207 to 1.8040), which validates the construction; d_av uses it unchanged with the
  averaged SDs.
- **Hedges' g_av** = d_av * J, J = 1 - 3 / (4(n - 1) - 1) (Lakens 2013, eq. 4 with df = n - 1);
  its interval is d_av's interval multiplied by J.
- **Matched-pairs rank-biserial correlation** (King & Minium; Kerby 2014):
  r = (W+ - W-) / (n(n + 1) / 2) over the non-zero differences (zeros dropped, as R's
  ``wilcox.test`` and ``effectsize::rank_biserial(paired = TRUE)``), tied absolute differences
  given mid-ranks. Interval: Fisher z with SE = sqrt((2n^3 + 3n^2 + n) / 6) / (n(n + 1) / 2),
  n = number of non-zero differences, as current effectsize (0.8.3's ``paired = TRUE`` path
  counts n on the raw x instead; it agrees when no value or difference is zero).

These are hand-written because pingouin's paired ``"cohen"`` is d_av without the name, its
Hedges correction uses the wrong df and its paired interval is approximate; scipy provides the
noncentral t distribution used for the exact limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.errors import InvalidInputError
from analysis.stats.noncentral import noncentral_t_limits
from analysis.stats.numerics import snap, spread
from analysis.vocabulary import Standardizer


@dataclass(frozen=True)
class EffectSize:
    """One effect size with its interval.

    Attributes
    ----------
    name : str
        ``cohens_dz``, ``cohens_dav``, ``hedges_gav`` or ``rank_biserial``.
    estimate, ci_low, ci_high : float
        Point estimate and confidence limits (NaN only with a reason in ``note``).
    n : int
        Number of pairs used (for the rank-biserial: pairs with a non-zero difference).
    method : str
        Name of the variant and of the interval.
    note : str
        Caveats, and the reason for any NaN.
    """

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    note: str = ""

    def __post_init__(self) -> None:
        for name in ("estimate", "ci_low", "ci_high"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "n", int(self.n))


def _pairs(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise InvalidInputError(
            f"x and y must be 1-D arrays of equal length (got shapes {x.shape} and "
            f"{y.shape}); pass the follow-up and baseline values of the same patients."
        )
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def cohens_dz(x, y, *, confidence: float = 0.95) -> EffectSize:
    """Cohen's d_z of paired data: mean(x - y) / SD(x - y), exact noncentral-t interval.

    Examples
    --------
    >>> movie1 = [9, 7, 8, 9, 8, 9, 9, 10, 9, 9]
    >>> movie2 = [9, 6, 7, 8, 7, 9, 8, 8, 8, 7]
    >>> es = cohens_dz(movie1, movie2)    # Lakens (2013): 1.50, 0.5605 to 2.4034
    >>> round(es.estimate, 4), round(es.ci_low, 4), round(es.ci_high, 4)
    (1.5, 0.5605, 2.4034)
    """
    x, y = _pairs(x, y)
    n = len(x)
    method = f"Cohen's d_z (mean difference / SD of differences); exact noncentral-t {confidence:.0%} CI"
    if n < 2:
        return EffectSize("cohens_dz", np.nan, np.nan, np.nan, n, method,
                          f"{n} pair(s): the SD of the differences needs at least 2")
    d = snap(x - y)
    sd = spread(d)
    if sd == 0:
        what = ("all differences are zero (0/0)" if not np.any(d) else
                "all differences are equal up to rounding (SD of differences = 0, relative "
                "tolerance 1e-12)")
        return EffectSize("cohens_dz", np.nan, np.nan, np.nan, n, method,
                          f"{what}: d_z = mean / SD is undefined")
    dz = d.mean() / sd
    lo, hi = noncentral_t_limits(dz * np.sqrt(n), n - 1, confidence=confidence)
    return EffectSize("cohens_dz", dz, lo / np.sqrt(n), hi / np.sqrt(n), n, method)


def cohens_dav(x, y, *, standardizer: Standardizer = "average",
               confidence: float = 0.95) -> EffectSize:
    """Cohen's d_av of paired data with the Algina-Keselman (2003) interval.

    Parameters
    ----------
    x, y : array-like
        Follow-up and baseline values of the same patients.
    standardizer : {"average", "rms"}
        ``"average"``: (SD_x + SD_y) / 2, Lakens' (2013) d_av (the default and what the
        results table reports); ``"rms"``: sqrt((SD_x^2 + SD_y^2) / 2), Cumming's d_av.
    confidence : float
        Confidence level.

    Notes
    -----
    With t = mean(d) / (SD(d) / sqrt(n)) and [lam_L, lam_U] the noncentral-t limits of its
    noncentrality (df = n - 1), the limits are lam * SD(d) / (sqrt(n) * standardizer), i.e. the
    d_z limits multiplied by d_av / d_z (Algina & Keselman 2003, dependent samples).

    Examples
    --------
    >>> movie1 = [9, 7, 8, 9, 8, 9, 9, 10, 9, 9]
    >>> movie2 = [9, 6, 7, 8, 7, 9, 8, 8, 8, 7]
    >>> round(cohens_dav(movie1, movie2).estimate, 4)   # Lakens (2013): 1.1287
    1.1287
    >>> es = cohens_dav(movie1, movie2, standardizer="rms")   # 1.1259, 0.4207 to 1.8040
    >>> round(es.estimate, 4), round(es.ci_low, 4), round(es.ci_high, 4)
    (1.1259, 0.4207, 1.804)
    """
    if standardizer not in ("average", "rms"):
        raise InvalidInputError(
            f"standardizer={standardizer!r} is not known; use 'average' (Lakens' d_av) or "
            "'rms' (Cumming's d_av)."
        )
    x, y = _pairs(x, y)
    n = len(x)
    label = ("(SD_followup + SD_baseline) / 2 (Lakens 2013)" if standardizer == "average"
             else "sqrt((SD_followup^2 + SD_baseline^2) / 2) (Cumming)")
    method = (f"Cohen's d_av = mean difference / {label}; Algina-Keselman (2003) "
              f"noncentral-t {confidence:.0%} CI")
    if n < 2:
        return EffectSize("cohens_dav", np.nan, np.nan, np.nan, n, method,
                          f"{n} pair(s): SDs need at least 2")
    sx, sy = spread(x), spread(y)
    s = (sx + sy) / 2 if standardizer == "average" else np.sqrt((sx**2 + sy**2) / 2)
    d = snap(x - y)
    sd_d = spread(d)
    if s == 0:
        what = "0/0: no change and " if not np.any(d) else ""
        return EffectSize("cohens_dav", np.nan, np.nan, np.nan, n, method,
                          f"{what}baseline and follow-up values are each constant up to "
                          "rounding (both SDs 0, relative tolerance 1e-12): d_av = mean "
                          "difference / average SD is undefined")
    dav = d.mean() / s
    if sd_d == 0:
        return EffectSize("cohens_dav", dav, np.nan, np.nan, n, method,
                          "all differences are equal (SD of differences = 0): the "
                          "Algina-Keselman interval is undefined")
    lo, hi = noncentral_t_limits(d.mean() / sd_d * np.sqrt(n), n - 1, confidence=confidence)
    scale = sd_d / (np.sqrt(n) * s)
    return EffectSize("cohens_dav", dav, lo * scale, hi * scale, n, method)


def hedges_j(n: int) -> float:
    """Small-sample correction J = 1 - 3 / (4(n - 1) - 1) for n pairs (Lakens 2013).

    Examples
    --------
    >>> round(hedges_j(10), 6)
    0.914286
    """
    return 1.0 - 3.0 / (4.0 * (n - 1) - 1.0)


def hedges_gav(x, y, *, confidence: float = 0.95) -> EffectSize:
    """Hedges' g_av = d_av * J with d_av's Algina-Keselman interval multiplied by J.

    Examples
    --------
    >>> movie1 = [9, 7, 8, 9, 8, 9, 9, 10, 9, 9]
    >>> movie2 = [9, 6, 7, 8, 7, 9, 8, 8, 8, 7]
    >>> round(hedges_gav(movie1, movie2).estimate, 4)   # 1.1287 * (1 - 3/35)
    1.032
    """
    dav = cohens_dav(x, y, confidence=confidence)
    n = dav.n
    method = ("Hedges' g_av = d_av * J, J = 1 - 3 / (4(n - 1) - 1) (Lakens 2013); "
              f"CI = d_av's Algina-Keselman {confidence:.0%} CI * J")
    if n <= 2:
        return EffectSize("hedges_gav", np.nan, np.nan, np.nan, n, method,
                          f"{n} pair(s): J = 1 - 3 / (4(n - 1) - 1) is not positive for n <= 2")
    j = hedges_j(n)
    return EffectSize("hedges_gav", dav.estimate * j, dav.ci_low * j, dav.ci_high * j, n,
                      method, dav.note)


def signed_ranks(d) -> np.ndarray:
    """Signed mid-ranks of the non-zero values of ``d`` (zeros dropped, as R's wilcox.test).

    Examples
    --------
    >>> signed_ranks([0.5, -1.0, 0.0, 1.0]).tolist()
    [1.0, -2.5, 2.5]
    """
    d = snap(np.asarray(d, dtype=float))  # ties and zeros up to rounding are ties and zeros
    d = d[np.isfinite(d) & (d != 0)]
    return np.sign(d) * stats.rankdata(np.abs(d), method="average")


def rank_biserial(x, y, *, confidence: float = 0.95) -> EffectSize:
    """Matched-pairs rank-biserial correlation of ``x - y`` with its Fisher-z interval.

    Examples
    --------
    >>> x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    >>> y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    >>> round(rank_biserial(x, y).estimate, 4)   # (40 - 5) / 45
    0.7778
    """
    x, y = _pairs(x, y)
    r_signed = signed_ranks(x - y)
    n = len(r_signed)
    method = ("matched-pairs rank-biserial correlation (W+ - W-) / (n(n+1)/2), zeros dropped "
              f"(Kerby 2014; as effectsize::rank_biserial(paired = TRUE)); Fisher-z {confidence:.0%} CI")
    if n == 0:
        return EffectSize("rank_biserial", np.nan, np.nan, np.nan, 0, method,
                          "all differences are zero: nothing to rank")
    total = n * (n + 1) / 2
    r = (r_signed[r_signed > 0].sum() + r_signed[r_signed < 0].sum()) / total
    se = np.sqrt((2 * n**3 + 3 * n**2 + n) / 6) / total
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    with np.errstate(divide="ignore"):
        zr = np.arctanh(r)
    lo, hi = np.tanh(zr - z * se), np.tanh(zr + z * se)
    note = ""
    if abs(r) == 1:
        note = (f"all non-zero differences have the same sign (r = {r:+.0f}): the Fisher-z "
                "interval collapses to that point (as effectsize returns)")
    return EffectSize("rank_biserial", float(r), float(lo), float(hi), n, method, note)
