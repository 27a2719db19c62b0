"""Power of the tests of one patient against controls: TD (Crawford-Howell), UDT and RSDT.

- :func:`td_power` and :func:`udt_power` are closed forms (as singcar ``TD_power``,
  ``UDT_power``): with the population parameters given, the test statistic is noncentral t on
  n - 1 df with noncentrality delta = (case - mean) / (sd sqrt((n + 1) / n)) (TD) or the
  difference of deviations over sqrt((sd_a^2 + sd_b^2 - 2 r sd_a sd_b)(n + 1)/n) (UDT); power =
  P(T <= t_alpha) (less), P(T >= t_1-alpha) (greater), or both tails at alpha / 2.
- :func:`rsdt_power` is a seeded Monte Carlo (as singcar ``RSDT_power``): each replicate draws
  n + 1 bivariate normal observations from the population, the first shifted to the case's
  deviations, runs the RSDT on the sample statistics of the other n, and counts p < alpha;
  the simulation error sqrt(power (1 - power) / n_sim) is reported in ``se``.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InvalidInputError
from analysis.results import result_frame
from analysis.stats.single_case.dissociations import rsdt_abs_t

ALTS = ("two-sided", "less", "greater")


def renamed_keywords(**old_to_new: str):
    """Accept the old keyword names (singcar's ``case_a``, ``mean_a``, ``r_ab``,
    ``sample_size``) with a DeprecationWarning; the names are those of :func:`udt` and
    :func:`crawford_howell` (``x``, ``mean_x``, ``r_xy``, ``n``)."""
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise InvalidInputError(f"give {new}= only ({old}= is its old name)")
                    warnings.warn(f"{fn.__name__}({old}=...) is deprecated: use {new}=",
                                  DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)
        return inner
    return wrap


def _t_power(delta: float, df: int, alternative: str, alpha: float) -> float:
    if alternative == "less":
        return float(stats.nct.cdf(stats.t.ppf(alpha, df), df, delta))
    if alternative == "greater":
        return float(stats.nct.sf(stats.t.ppf(1 - alpha, df), df, delta))
    q = stats.t.ppf(alpha / 2, df)
    return float(stats.nct.cdf(q, df, delta) + stats.nct.sf(-q, df, delta))


def _check(n: int, alpha: float, alternative: str) -> None:
    if alternative not in ALTS:
        raise InvalidInputError(f"alternative={alternative!r}; use one of {list(ALTS)}.")
    if int(n) != n or n < 2:
        raise InvalidInputError(f"n (control sample size) must be an integer >= 2, got {n!r}.")
    if not 0 < alpha < 1:
        raise InvalidInputError(f"alpha must lie in (0, 1), got {alpha!r}.")


def _row(analysis: str, power: float, n: int, alternative: str, alpha: float, method: str,
         se: float = np.nan, note: str = "") -> pd.DataFrame:
    return result_frame([{"analysis": analysis, "term": f"power: {alternative}, alpha {alpha:g}",
                          "estimate": power, "se": se, "df": float(n - 1), "df_method": "n-1",
                          "n_obs": float(n), "method": method, "note": note}])


@renamed_keywords(case="x", sample_size="n")
def td_power(x: float, *, mean: float = 0.0, sd: float = 1.0, n: int,
             alternative: str = "less", alpha: float = 0.05) -> pd.DataFrame:
    """Power of the Crawford-Howell test of deficit (closed form, as singcar ``TD_power``).

    Examples
    --------
    singcar README: ``TD_power(case = 70, sample_size = 10, mean = 100, sd = 15,
    alternative = "less", alpha = 0.1)`` = 0.7039033 (singcar's ``case``, ``sample_size`` are
    ``x``, ``n`` here, as in :func:`crawford_howell`; the old names still work with a
    DeprecationWarning).

    >>> round(float(td_power(70, mean=100, sd=15, n=10, alpha=0.1).estimate[0]), 7)
    0.7039033
    """
    _check(n, alpha, alternative)
    n = int(n)
    delta = (x - mean) / (sd * np.sqrt((n + 1) / n))
    return _row("td_power", _t_power(delta, n - 1, alternative, alpha), n, alternative, alpha,
                f"power of the Crawford-Howell t, closed form: noncentral t on {n - 1} df, "
                f"ncp {delta:.4g} (scipy.stats.nct; as singcar TD_power)")


_XY = dict(case_a="x", case_b="y", mean_a="mean_x", mean_b="mean_y", sd_a="sd_x",
           sd_b="sd_y", r_ab="r_xy", sample_size="n")


@renamed_keywords(**_XY)
def udt_power(x: float, y: float, *, mean_x: float = 0.0, mean_y: float = 0.0,
              sd_x: float = 1.0, sd_y: float = 1.0, r_xy: float = 0.5, n: int,
              alternative: str = "two-sided", alpha: float = 0.05) -> pd.DataFrame:
    """Power of the Unstandardised Difference Test (closed form, as singcar ``UDT_power``).

    Examples
    --------
    >>> round(float(udt_power(-3, -1, n=20).estimate[0]), 4)
    0.4575
    """
    _check(n, alpha, alternative)
    n = int(n)
    delta = ((x - mean_x) - (y - mean_y)) / np.sqrt(
        (sd_x**2 + sd_y**2 - 2 * sd_x * sd_y * r_xy) * (n + 1) / n)
    return _row("udt_power", _t_power(delta, n - 1, alternative, alpha), n, alternative, alpha,
                f"power of the UDT, closed form: noncentral t on {n - 1} df, ncp {delta:.4g} "
                "(scipy.stats.nct; as singcar UDT_power)")


@renamed_keywords(**_XY)
def rsdt_power(x: float, y: float, *, mean_x: float = 0.0, mean_y: float = 0.0,
               sd_x: float = 1.0, sd_y: float = 1.0, r_xy: float = 0.5, n: int,
               alternative: str = "two-sided", alpha: float = 0.05, n_sim: int = 10_000,
               seed: int = 20050101) -> pd.DataFrame:
    """Power of the RSDT by seeded Monte Carlo (as singcar ``RSDT_power``).

    Notes
    -----
    singcar's test suite checks that with r = 0.5 (so Z_DCC equals the deficit z) the RSDT's
    power is within 6% of TD_power's; so does tests/test_single_case_controls_extra.py. The
    value printed in singcar's README for ``RSDT_power(70, 20, mean_a = 100, mean_b = 25,
    sd_a = 15, sd_b = 10, sample_size = 10)`` (0.5689) is not reproduced: that case has
    Z_DCC = -1.5, whose TD power at n = 10 is 0.249, and this function gives 0.24 (the README
    output predates the package's current RSDT_power).

    Examples
    --------
    >>> r = rsdt_power(-2, 0, r_xy=0.5, n=15, alternative="less")
    >>> round(float(r.estimate[0]), 2), round(float(td_power(-2, n=15).estimate[0]), 2)
    (0.55, 0.58)
    """
    _check(n, alpha, alternative)
    if not -1 < r_xy < 1:
        raise InvalidInputError(f"r_xy must lie strictly between -1 and 1, got {r_xy!r}.")
    n, n_sim = int(n), int(n_sim)
    rng = np.random.default_rng(seed)
    cov = np.array([[sd_x**2, r_xy * sd_x * sd_y], [r_xy * sd_x * sd_y, sd_y**2]])
    draws = rng.multivariate_normal([mean_x, mean_y], cov, size=(n_sim, n + 1))
    case = draws[:, 0, :] + np.array([x - mean_x, y - mean_y])
    controls = draws[:, 1:, :]
    m = controls.mean(axis=1)
    s = controls.std(axis=1, ddof=1)
    dev = controls - m[:, None, :]
    r = (dev[:, :, 0] * dev[:, :, 1]).sum(axis=1) / ((n - 1) * s[:, 0] * s[:, 1])
    diff = (case[:, 0] - m[:, 0]) / s[:, 0] - (case[:, 1] - m[:, 1]) / s[:, 1]
    t = np.sign(diff) * rsdt_abs_t(diff, r, n)
    if alternative == "two-sided":
        p = 2 * stats.t.sf(np.abs(t), n - 1)
    elif alternative == "less":
        p = stats.t.cdf(t, n - 1)
    else:
        p = stats.t.sf(t, n - 1)
    power = float(np.mean(p < alpha))
    se = float(np.sqrt(power * (1 - power) / n_sim))
    return _row("rsdt_power", power, n, alternative, alpha,
                f"power of the RSDT by Monte Carlo: {n_sim} simulated control samples and "
                f"cases, seed {seed} (numpy); as singcar RSDT_power", se=se,
                note=f"se = simulation error sqrt(power (1 - power) / {n_sim})")
