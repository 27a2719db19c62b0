"""Seeded, vectorised BCa bootstrap intervals for paired statistics.

Pairs (follow-up, baseline) are resampled together. The statistic is evaluated once on the
whole ``(n_boot, n)`` matrix of resamples (no Python loop), and the acceleration comes from the
jackknife (Efron & Tibshirani 1993, eq. 14.15). The algorithm follows
:func:`scipy.stats.bootstrap` (``method="BCa"``, ``paired=True``) step by step and draws the
same resample indices from the same seed, so the two agree exactly (tested); it is written out
here so that non-finite resampled values (e.g. d_z of a resample whose differences are all
equal) are counted and reported instead of silently turning the interval into NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

from analysis.errors import InvalidInputError
from analysis.stats.effect_sizes import hedges_j

#: A vectorised paired statistic: ``statistic(x, y)`` reduces the last axis.
PairedStatistic = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class BootstrapInterval:
    """A BCa interval.

    Attributes
    ----------
    estimate : float
        The statistic on the original data.
    ci_low, ci_high : float
        BCa limits (NaN with a reason in ``note``).
    n_boot : int
        Resamples drawn; ``n_used`` of them gave a finite statistic.
    bias_correction, acceleration : float
        z0 and a of the BCa interval.
    method, note : str
    """

    estimate: float
    ci_low: float
    ci_high: float
    n_boot: int
    n_used: int
    bias_correction: float
    acceleration: float
    method: str
    note: str = ""


def mean_difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean of x - y along the last axis (vectorised)."""
    return np.mean(x - y, axis=-1)


def cohens_dz(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d_z = mean(x - y) / SD(x - y) along the last axis (vectorised; inf/NaN if SD = 0)."""
    d = x - y
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(d, axis=-1) / np.std(d, axis=-1, ddof=1)


def hedges_gav(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """g_av = J * mean(x - y) / ((SD_x + SD_y) / 2) along the last axis (vectorised)."""
    n = x.shape[-1]
    s = (np.std(x, axis=-1, ddof=1) + np.std(y, axis=-1, ddof=1)) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return hedges_j(n) * np.mean(x - y, axis=-1) / s


def bca_interval(x, y, statistic: PairedStatistic, *, n_boot: int = 2000,
                 seed: int | np.random.Generator, confidence: float = 0.95) -> BootstrapInterval:
    """Paired BCa bootstrap interval of ``statistic(x, y)``.

    Parameters
    ----------
    x, y : array-like
        Follow-up and baseline values of the same patients.
    statistic : callable
        Vectorised: ``statistic(x, y)`` with arrays of shape ``(..., n)`` returns shape ``(...)``.
    n_boot : int
        Number of resamples.
    seed : int or numpy.random.Generator
        Seed of the resampling (required: results must be reproducible).
    confidence : float
        Confidence level.

    Returns
    -------
    BootstrapInterval

    Examples
    --------
    >>> x = [9, 7, 8, 9, 8, 9, 9, 10, 9, 9]; y = [9, 6, 7, 8, 7, 9, 8, 8, 8, 7]
    >>> r = bca_interval(x, y, mean_difference, seed=1)
    >>> r.estimate, bool(r.ci_low < 1 < r.ci_high)
    (1.0, True)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise InvalidInputError(
            f"x and y must be 1-D arrays of equal length (got shapes {x.shape} and {y.shape})."
        )
    if seed is None:
        raise InvalidInputError("seed=None: pass an integer seed so the bootstrap is reproducible.")
    if not (isinstance(n_boot, (int, np.integer)) and n_boot >= 100):
        raise InvalidInputError(f"n_boot={n_boot!r}: use an integer of at least 100.")
    n = len(x)
    method = (f"paired BCa bootstrap, {n_boot} resamples, jackknife acceleration "
              f"(vectorised; as scipy.stats.bootstrap(method='BCa', paired=True)); {confidence:.0%}")
    theta_hat = float(statistic(x, y))
    if n < 3:
        return BootstrapInterval(theta_hat, np.nan, np.nan, n_boot, 0, np.nan, np.nan, method,
                                 f"{n} pair(s): the bootstrap needs at least 3")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, (n_boot, n))  # the same draws as scipy.stats.bootstrap(paired=True)
    theta_b = np.asarray(statistic(x[idx], y[idx]), dtype=float)
    finite = np.isfinite(theta_b)
    notes = []
    if not finite.all():
        notes.append(f"{(~finite).sum()} of {n_boot} resamples gave a non-finite statistic "
                     "(e.g. all resampled differences equal) and were dropped")
        theta_b = theta_b[finite]
    if not np.isfinite(theta_hat):
        return BootstrapInterval(theta_hat, np.nan, np.nan, n_boot, int(finite.sum()), np.nan,
                                 np.nan, method, "the statistic is not finite on the data")
    # bias correction: percentile of theta_hat among the resamples (scipy's 'mean' rule)
    p0 = (np.count_nonzero(theta_b < theta_hat) + np.count_nonzero(theta_b <= theta_hat)) / (
        2 * len(theta_b))
    z0 = special.ndtri(p0)
    # acceleration from the jackknife, all leave-one-out samples in one (n, n - 1) matrix
    loo = np.array([np.delete(np.arange(n), i) for i in range(n)])
    theta_j = np.asarray(statistic(x[loo], y[loo]), dtype=float)
    u = (n - 1) * (theta_j.mean() - theta_j)
    denom = np.sum(u**2) / n**2
    a = (np.sum(u**3) / n**3) / (6 * denom**1.5) if denom > 0 else 0.0
    alpha = (1 - confidence) / 2
    za = special.ndtri(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        a1 = special.ndtr(z0 + (z0 + za) / (1 - a * (z0 + za)))
        a2 = special.ndtr(z0 + (z0 - za) / (1 - a * (z0 - za)))
    if not (np.isfinite(a1) and np.isfinite(a2) and np.isfinite(z0) and np.isfinite(a)):
        notes.append("degenerate bootstrap distribution (the statistic hardly varies across "
                     "resamples): BCa limits undefined")
        return BootstrapInterval(theta_hat, np.nan, np.nan, n_boot, len(theta_b), float(z0),
                                 float(a), method, "; ".join(notes))
    if np.ptp(theta_b) == 0:
        notes.append("every resample gave the same value: zero-width interval")
    lo, hi = np.quantile(theta_b, [a1, a2])
    return BootstrapInterval(theta_hat, float(lo), float(hi), n_boot, len(theta_b), float(z0),
                             float(a), method, "; ".join(notes))
