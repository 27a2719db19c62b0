"""Closed-form power: the Crawford-Howell test of one patient against a control sample.

The patient's score is drawn around ``mean + effect * sd`` with the controls' SD, so
``x - xbar ~ N(effect * sd, sd^2 (n + 1) / n)`` and the Crawford-Howell statistic
``t = (x - xbar) / (s sqrt((n + 1) / n))`` is noncentral t on ``n - 1`` df with noncentrality
``effect / sqrt((n + 1) / n)`` (Crawford & Garthwaite 2006; the formula of singcar's
``TD_power``). Power is read off scipy's noncentral t; there is no Monte Carlo error.

Examples
--------
>>> round(crawford_howell_power(-2, n=20), 4)    # Crawford & Garthwaite (2006): 0.5946
0.5936
"""

from __future__ import annotations

import math

from scipy import stats

from analysis.errors import InvalidInputError
from analysis.stats.single_case.controls_power import renamed_keywords


@renamed_keywords(effect="x", n_controls="n")
def crawford_howell_power(x: float | None = None, *, mean: float = 0.0, sd: float = 1.0,
                          n: int | None = None, alpha: float = 0.05,
                          alternative: str = "less") -> float:
    """Power of the Crawford-Howell test given the control sample size.

    The names are those of :func:`analysis.td_power` and :func:`analysis.crawford_howell`
    (``x``, ``mean``, ``sd``, ``n``); the old ``effect=`` and ``n_controls=`` still work with
    a DeprecationWarning (``effect`` is ``x`` with the default ``mean=0, sd=1``).

    Parameters
    ----------
    x : float
        The patient's expected score; with the defaults ``mean=0``, ``sd=1`` it is the
        expected deviation from the control mean in control SDs (``(case - mean) / sd`` of
        singcar's ``TD_power``).
    mean, sd : float
        The control population's mean and SD.
    n : int
        Size of the control sample (>= 2).
    alpha : float
        Type I error rate.
    alternative : {"less", "greater", "two-sided"}
        Tail of the test.

    Returns
    -------
    float
        The power (:func:`analysis.td_power` gives the same as a results row).

    Examples
    --------
    >>> round(crawford_howell_power(-2, n=1000), 3)   # about the z test's 0.639
    0.638
    >>> round(crawford_howell_power(70, mean=100, sd=15, n=10, alpha=0.1), 7)  # singcar README
    0.7039033
    """
    if x is None or n is None:
        raise InvalidInputError("crawford_howell_power needs x (the patient's expected score) "
                                "and n (the control sample size)")
    if not sd > 0:
        raise InvalidInputError(f"sd must be positive (got {sd}).")
    effect, n_controls = (x - mean) / sd, n
    if n_controls < 2:
        raise InvalidInputError(f"n must be at least 2 (got {n_controls}).")
    if not 0 < alpha < 1:
        raise InvalidInputError(f"alpha must be between 0 and 1 (got {alpha}).")
    df = n_controls - 1
    ncp = effect / math.sqrt((n_controls + 1) / n_controls)
    if alternative == "less":
        return float(stats.nct.cdf(stats.t.ppf(alpha, df), df, ncp))
    if alternative == "greater":
        return float(stats.nct.sf(stats.t.ppf(1 - alpha, df), df, ncp))
    if alternative == "two-sided":
        crit = stats.t.ppf(1 - alpha / 2, df)
        return float(stats.nct.cdf(-crit, df, ncp) + stats.nct.sf(crit, df, ncp))
    raise InvalidInputError(f"alternative={alternative!r}; use 'less', 'greater' or "
                            "'two-sided'.")
