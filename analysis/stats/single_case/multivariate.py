"""Multivariate Test of Deficit (MTD): is a patient's profile on k measures abnormal?

Huizenga, Smeding, Grasman & Schmand (2007, Cortex 43:743) test the patient's Mahalanobis
distance from the controls' means with Hotelling's T^2 for a single case:

- Mahalanobis index ``lambda = (x - mean)' S^-1 (x - mean)`` (S the controls' covariance
  matrix, n - 1 denominator), distance ``sqrt(lambda)``;
- ``T^2 = n / (n + 1) lambda`` and ``F = (n - k) / ((n - 1) k) T^2 ~ F(k, n - k)`` under the
  null hypothesis that the patient comes from the control population; ``p`` = P(F > F_obs).

The share of the control population with a larger Mahalanobis distance than the patient
(abnormality) is estimated as in Elfadaly, Garthwaite & Crawford (2016, Stat Med 35:3418),
singcar's ``MTD(method = ...)``:

- ``"pd"`` (default): the population index lambda_d is estimated median-unbiasedly from
  ``n (n - k) / ((n - 1) k) lambda ~ F(k, n - k, ncp = n lambda_d)`` (noncentral F, inverted
  by root finding; 0 when the observed F is below the median of the central F); the share is
  P(chi2_k > lambda_d). The interval inverts the same noncentral F at the two tails.
- ``"pchi"``: P(chi2_k > n / (n - 1) lambda);
- ``"pf"``: the p-value of the F test;
- ``"pmd"``: Elfadaly et al.'s modified estimate, Bayesian: the prior of the patient's
  population index is that of a control, lambda_d ~ chi2_k, and the likelihood is the
  noncentral F density of the observed statistic, so the posterior is proportional to
  ``dchisq(lambda_d, k) * df(F0; k, n - k, ncp = n lambda_d)``. Its median estimates the
  index (share = P(chi2_k > median)) and its (1 -/+ level)/2 quantiles give the interval.

``"pchi"`` and ``"pf"`` share the interval of ``"pd"``. For ``"pmd"`` the posterior is
normalised and its quantiles found by adaptive quadrature (scipy ``quad``, relative tolerance
1e-11, on the distance sqrt(lambda_d), which removes the singularity of the chi2_1 density at 0)
and root finding; singcar sums the Poisson series of the noncentral F to 170 terms and
integrates with R's default tolerance (1e-4), so the two agree to about 1e-4 (a high-precision
R computation of the same posterior agrees to 1e-8: tests/r/mtd_pmd_reference.R).

Summary input: the distance itself with ``k`` and ``n`` (singcar's ``mahalanobis_dist``).
Checked against singcar 0.1.5 (tests/r/singcar_fixtures.R, tests/test_single_case_singcar.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import integrate, optimize, stats

from analysis.errors import InvalidInputError
from analysis.results import result_frame
from analysis.stats.single_case.shares import Share, check_share

__all__ = ["mtd"]

METHODS = ("pd", "pchi", "pf", "pmd")


_ESTIMATE_NOTE = {"pd": "", "pchi": "observed {}", "pf": "observed {}",
                  "pmd": "posterior median {}; interval: posterior quantiles"}


def _ncp(f0: float, k: int, df2: int, q: float) -> float:
    """Noncentrality at which P(F(k, df2, ncp) <= f0) = q (0 if the central F already gives
    less than q: the cdf falls as the noncentrality grows)."""
    def gap(ncp: float) -> float:
        return float(stats.ncf.cdf(f0, k, df2, ncp)) - q if ncp > 0 else float(
            stats.f.cdf(f0, k, df2)) - q

    if gap(0.0) <= 0:
        return 0.0
    hi = max(1.0, 2 * f0 * k)
    while gap(hi) > 0:
        hi *= 2
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-12, rtol=1e-14, maxiter=500))


def _posterior_quantiles(f0: float, k: int, n: int, qs: tuple[float, ...]) -> list[float]:
    """Quantiles of lambda_d under the "pmd" posterior (module notes), as indices."""
    df2 = n - k

    def dens(t: float) -> float:  # posterior of the distance t = sqrt(lambda_d), unnormalised
        lam = t * t
        like = stats.ncf.pdf(f0, k, df2, n * lam) if lam > 0 else stats.f.pdf(f0, k, df2)
        return float(2 * t * stats.chi2.pdf(lam, k) * like) if t > 0 else (
            float(np.sqrt(2 / np.pi) * like) if k == 1 else 0.0)

    def mass(a: float, b: float) -> float:
        return integrate.quad(dens, a, b, epsabs=0.0, epsrel=1e-11, limit=200)[0]

    # the posterior lies below the prior times the largest likelihood: beyond `top` the prior
    # chi2_k leaves less than 1e-16 of its mass
    top = float(np.sqrt(stats.chi2.isf(1e-16, k)))
    mid = min(np.sqrt(f0 * k * (n - 1) / (n * df2)), top)  # the observed distance
    cuts = sorted({0.0, mid / 2, mid, (mid + top) / 2, top})
    pieces = np.cumsum([mass(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True)])
    total = pieces[-1]
    out = []
    for q in qs:
        i = int(np.searchsorted(pieces, q * total))
        below = pieces[i - 1] if i else 0.0
        lo, hi, goal = cuts[i], cuts[i + 1], q * total - below
        t = optimize.brentq(lambda x, lo=lo, goal=goal: mass(lo, x) - goal, lo, hi,
                            xtol=1e-13, rtol=1e-13)
        out.append(float(t * t))
    return out


def mtd(case=None, controls=None, *, mahalanobis_dist: float | None = None,
        k: int | None = None, n: int | None = None, method: str = "pd",
        conf_level: float = 0.95, labels=None, measure: str = "", patient_id: str = "",
        side: str = "", share: Share = "proportion") -> pd.DataFrame:
    """Multivariate Test of Deficit (Huizenga et al. 2007), as singcar's ``MTD``.

    Parameters
    ----------
    case : array-like of k
        The patient's scores on the k measures.
    controls : array-like (n x k)
        The controls' scores (rows: controls; columns: the measures, in the order of ``case``).
    mahalanobis_dist, k, n : optional
        Or the patient's Mahalanobis distance from the controls, the number of measures and of
        controls (summary statistics).
    method : {"pd", "pchi", "pf", "pmd"}
        Estimate of the share of controls more abnormal (see the module notes).
    conf_level : float
        Level of the intervals of the distance, the index and the share.
    labels : list of str, optional
        Names of the measures (in ``term``; default x1..xk).
    share : {"proportion", "percent"}
        Scale of the share of controls (:mod:`.shares`).

    Returns
    -------
    pandas.DataFrame
        Rows ``mtd``: Hotelling's T^2 (``statistic``, F's denominator df in ``df``, p-value),
        the Mahalanobis distance and index (``"pd"``: median-unbiased estimates) with
        intervals, and the share of controls with a larger distance.

    Examples
    --------
    A patient's two scores against 8 controls (singcar's ``MTD`` gives the same; fixture
    ``doc_*`` of tests/r/singcar_fixtures.R):

    >>> controls = [[0.2, 0.22], [0.1, 0.15], [0.15, 0.12], [0.3, 0.28], [0.18, 0.2],
    ...             [0.12, 0.1], [0.22, 0.3], [0.05, 0.09]]
    >>> t = mtd([0.0, 0.25], controls)
    >>> t["term"].tolist()
    ['hotelling_t2: x1, x2', 'mahalanobis distance', 'mahalanobis index', 'proportion of controls with a larger distance']
    >>> round(float(t.statistic[0]), 4), round(float(t.p_value[0]), 4)
    (32.8828, 0.0054)
    """
    if method not in METHODS:
        raise InvalidInputError(f"method={method!r}; use one of {list(METHODS)}.")
    scale = check_share(share)
    if not 0 < conf_level < 1:
        raise InvalidInputError(f"conf_level must be between 0 and 1, got {conf_level!r}.")
    if mahalanobis_dist is not None:
        if case is not None or controls is not None:
            raise InvalidInputError("give the case and controls, or mahalanobis_dist with k "
                                    "and n, not both.")
        if k is None or n is None or int(k) != k or int(n) != n:
            raise InvalidInputError("mahalanobis_dist needs whole numbers k (measures) and n "
                                    "(controls).")
        if not (np.isfinite(mahalanobis_dist) and mahalanobis_dist >= 0):
            raise InvalidInputError(f"mahalanobis_dist must be >= 0, got {mahalanobis_dist!r}.")
        k, n, lam = int(k), int(n), float(mahalanobis_dist) ** 2
    else:
        if case is None or controls is None:
            raise InvalidInputError("give the case's scores and the controls' scores, or "
                                    "mahalanobis_dist with k and n.")
        x = np.atleast_1d(np.asarray(case, dtype=float)).ravel()
        c = np.asarray(controls, dtype=float)
        if c.ndim != 2 or c.shape[1] != x.size:
            raise InvalidInputError(f"controls must be n x {x.size} (one column per measure of "
                                    f"the case), got shape {c.shape}.")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(c))):
            raise InvalidInputError("the scores must be finite (drop missing controls).")
        k, n = x.size, c.shape[0]
        cov = np.atleast_2d(np.cov(c.T, ddof=1))
        if n > k and np.any(np.linalg.eigvalsh(cov) <= 1e-12 * np.max(np.diag(cov))):
            raise InvalidInputError("the controls' covariance matrix is singular.")
        d = x - c.mean(axis=0)
        lam = float(d @ np.linalg.solve(cov, d)) if n > k else np.nan
    if k < 1 or n - k < 1:
        raise InvalidInputError(f"{n} controls are too few for {k} measures (n > k).")
    lam = max(lam, 1e-20)  # singcar sets a zero distance to 1e-10
    labels = list(labels) if labels is not None else [f"x{i + 1}" for i in range(k)]
    if len(labels) != k:
        raise InvalidInputError(f"{len(labels)} labels for {k} measures.")
    df2 = n - k
    t2 = n / (n + 1) * lam
    f_obs = df2 / ((n - 1) * k) * t2
    p = float(stats.f.sf(f_obs, k, df2))
    f0 = n * df2 / ((n - 1) * k) * lam
    a = 1 - conf_level
    if method == "pmd":
        est, lam_lo, lam_hi = _posterior_quantiles(f0, k, n, (0.5, a / 2, 1 - a / 2))
    else:
        lam_lo, lam_hi = _ncp(f0, k, df2, 1 - a / 2) / n, _ncp(f0, k, df2, a / 2) / n
    if method == "pmd":
        share_est = float(stats.chi2.sf(est, k))
        how = ("posterior median of the population index (prior chi2_k, noncentral F "
               "likelihood); share = P(chi2_k > index); interval: posterior quantiles")
    elif method == "pd":
        est = _ncp(f0, k, df2, 0.5) / n
        share_est = float(stats.chi2.sf(est, k))
        how = ("median-unbiased estimate of the population index (noncentral F inverted); "
               "share = P(chi2_k > index)")
    else:
        est = lam
        share_est = (float(stats.chi2.sf(n / (n - 1) * lam, k)) if method == "pchi" else p)
        how = ("share = P(chi2_k > n/(n-1) index)" if method == "pchi"
               else "share = the p-value of the F test")
    share_lo, share_hi = float(stats.chi2.sf(lam_hi, k)), float(stats.chi2.sf(lam_lo, k))
    base = {"measure": measure, "patient_id": patient_id, "side": side, "analysis": "mtd",
            "n_patients": 1.0, "n_obs": float(n + 1)}
    method_text = (f"Multivariate Test of Deficit (Huizenga et al. 2007), abnormality '{method}' "
                   f"(Elfadaly, Garthwaite & Crawford 2016; as singcar MTD): {how}; "
                   f"{conf_level:.0%} intervals from the noncentral F; scipy.stats")
    word = "percentage" if scale == 100 else "proportion"
    return result_frame([
        {**base, "term": f"hotelling_t2: {', '.join(labels)}", "estimate": t2,
         "statistic": t2, "df": float(df2), "df_method": "F(k, n-k)", "p_value": p,
         "method": method_text,
         "note": f"T^2 = n/(n+1) x Mahalanobis index; F = (n-k)/((n-1)k) T^2 = {f_obs:.6g} on "
         f"{k} and {df2} df; n = {n} controls, k = {k} measures"},
        {**base, "term": "mahalanobis distance", "estimate": float(np.sqrt(est)),
         "ci_low": float(np.sqrt(lam_lo)), "ci_high": float(np.sqrt(lam_hi)),
         "method": method_text, "note": _ESTIMATE_NOTE[method].format("distance")},
        {**base, "term": "mahalanobis index", "estimate": float(est), "ci_low": lam_lo,
         "ci_high": lam_hi, "method": method_text,
         "note": _ESTIMATE_NOTE[method].format("index")},
        {**base, "term": f"{word} of controls with a larger distance",
         "estimate": scale * share_est, "ci_low": scale * share_lo,
         "ci_high": scale * share_hi, "method": method_text,
         "note": "percentage (0-100)" if scale == 100 else "proportion (0-1)"},
    ])
