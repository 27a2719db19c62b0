"""Exact confidence limits for the noncentrality parameter of a t statistic.

Used by the paired effect sizes (d_z, d_av: :mod:`analysis.stats.effect_sizes`) and the one-patient tests
(Z_CC: :mod:`analysis.stats.single_case.controls`). Hand-written because scipy offers the noncentral t CDF
(:func:`scipy.special.nctdtr`) but not the inversion for the noncentrality parameter at a fixed
t (``nctdtrinc`` loses accuracy in the tails); the limits are found by Brent's method to 1e-12
rather than on a grid (singcar searches a 0.01 grid).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special


def noncentral_t_limits(t: float, df: float, *, confidence: float = 0.95) -> tuple[float, float]:
    """Confidence limits for the noncentrality parameter of an observed t.

    Finds ``lam_low`` with P(T <= t | lam_low) = (1 + confidence) / 2 and ``lam_high`` with
    P(T <= t | lam_high) = (1 - confidence) / 2 (Cumming & Finch 2001). Returns NaNs when
    ``t`` is not finite or ``df <= 0``.

    Examples
    --------
    >>> lo, hi = noncentral_t_limits(4.743416, 9)   # Lakens 2013 movie data, d_z = t / sqrt(10)
    >>> round(lo / 10 ** 0.5, 4), round(hi / 10 ** 0.5, 4)
    (0.5605, 2.4034)
    >>> lo, hi = noncentral_t_limits(0.0, 1e6)
    >>> round(lo, 4), round(hi, 4)
    (-1.96, 1.96)
    """
    if not (np.isfinite(t) and df > 0):
        return (np.nan, np.nan)
    alpha = 1.0 - confidence
    return (_ncp_at(t, df, 1 - alpha / 2), _ncp_at(t, df, alpha / 2))


def noncentral_t_median(t: float, df: float) -> float:
    """The median-unbiased estimate of the noncentrality parameter of an observed t: the
    ``lam`` with P(T <= t | lam) = 0.5, the 50% point of the same inversion that gives
    :func:`noncentral_t_limits` (so it always lies between the limits).

    Examples
    --------
    >>> round(noncentral_t_median(0.0, 1e6), 6)
    0.0
    >>> lo, hi = noncentral_t_limits(-9.0, 27)
    >>> lo < noncentral_t_median(-9.0, 27) < hi
    True
    """
    if not (np.isfinite(t) and df > 0):
        return np.nan
    return _ncp_at(t, df, 0.5)


def _ncp_at(t: float, df: float, p: float) -> float:
    """The noncentrality ``lam`` with P(T <= t | lam) = p (T noncentral t on ``df``)."""

    def cdf(lam: float) -> float:
        value = float(special.nctdtr(df, lam, t))
        if np.isnan(value):
            # nctdtr gives NaN far in a tail, where the CDF at t is 0 (lam far above t) or 1.
            return 0.0 if lam > t else 1.0
        return value

    f = lambda lam: cdf(lam) - p  # noqa: E731 - decreasing in lam
    # The noncentral t's SD is about sqrt(1 + t^2 / (2 df)): bracket on that scale.
    width = 2.0 * np.sqrt(1.0 + t * t / (2.0 * df))
    lo, hi = t - width, t + width
    while f(lo) < 0:
        lo -= width
        width *= 2
    while f(hi) > 0:
        hi += width
        width *= 2
    return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=500))
