"""Bayesian tests of one patient against controls: BSDT, BTD_cov and BSDT_cov.

- :func:`bsdt`: Bayesian Standardised Difference Test (Crawford & Garthwaite 2007) for a
  dissociation between two measures. Sigma is drawn from its posterior under the "calibrated"
  prior of Berger & Sun (2008) used by singcar's default: inverse-Wishart draws with n - 2 df
  and scale (n - 2) A / (n - 1) (A = the controls' SSCP matrix), each kept with probability
  sqrt(1 - rho^2) (rejection step); ``prior="standard"`` uses the inverse-Wishart with n df and
  scale A (Crawford & Garthwaite 2007). Then mu ~ N(means, Sigma / n) and
  z* = (z_x* - z_y*) / sqrt(2 - 2 rho*); p = Phi(z*) (one tail) or 2 Phi(-|z*|).
- :func:`btd_cov`: Bayesian test of deficit with covariates (Crawford, Garthwaite & Ryan 2011):
  the task regressed on the covariates in the controls; sigma^2 = SS_resid / chi2(n - m - 1),
  the case's conditional mean mu ~ N(x' B_hat, sigma^2 x'(X'X)^-1 x) (the marginal of
  B ~ N(B_hat, sigma^2 (X'X)^-1) at the case's covariates x = (1, covariates)), and
  z* = (y - mu) / sigma. Point estimate Z_CCC = (y - x' B_hat) / sqrt(SS_resid / (n - 1)), as
  singcar.
- :func:`bsdt_cov`: the two-task version with the calibrated prior (df n - m - 2).

Monte Carlo: ``n_sim`` posterior draws from :func:`numpy.random.default_rng` (``seed``); the
simulation error of the p-value (SD of the per-draw p / sqrt(n_sim)) is reported in ``se``.
Hand-written (in R these are singcar's BSDT, BTD_cov, BSDT_cov); checked against singcar's
README output for patient DF (tests/test_single_case_controls_extra.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InvalidInputError
from analysis.results import result_frame

ALTS = ("two-sided", "less", "greater")


def _check_alt(alternative: str) -> None:
    if alternative not in ALTS:
        raise InvalidInputError(f"alternative={alternative!r}; use one of {list(ALTS)}.")


def _inv_wishart(rng: np.random.Generator, df: float, scale: np.ndarray, size: int) -> np.ndarray:
    """``size`` draws (size, p, p) of the inverse-Wishart(df, scale) (Bartlett decomposition of
    the Wishart(df, scale^-1), inverted)."""
    p = scale.shape[0]
    chol = np.linalg.cholesky(np.linalg.inv(scale))
    a = np.zeros((size, p, p))
    for i in range(p):
        a[:, i, i] = np.sqrt(rng.chisquare(df - i, size=size))
        for j in range(i):
            a[:, i, j] = rng.standard_normal(size)
    la = chol @ a                       # Wishart draw W = (L A)(L A)'
    w = la @ np.swapaxes(la, 1, 2)
    return np.linalg.inv(w)


def _calibrated(rng: np.random.Generator, df: float, scale: np.ndarray, n_sim: int) -> np.ndarray:
    """Inverse-Wishart draws kept with probability sqrt(1 - rho^2) until ``n_sim`` remain."""
    kept: list[np.ndarray] = []
    total = 0
    while total < n_sim:
        draws = _inv_wishart(rng, df, scale, max(n_sim - total, 1000) * 2)
        rho = draws[:, 0, 1] / np.sqrt(draws[:, 0, 0] * draws[:, 1, 1])
        ok = rng.uniform(size=len(draws)) ** 2 <= 1 - rho**2
        kept.append(draws[ok])
        total += int(ok.sum())
    return np.concatenate(kept)[:n_sim]


def _p(z: np.ndarray, alternative: str) -> np.ndarray:
    if alternative == "less":
        return stats.norm.cdf(z)
    if alternative == "greater":
        return stats.norm.sf(z)
    return 2 * stats.norm.sf(np.abs(z))


def _rows(analysis: str, term: str, estimate: float, draws: np.ndarray, pvals: np.ndarray,
          alternative: str, conf_level: float, n: int, method: str, ids: dict,
          extra: str = "") -> pd.DataFrame:
    alpha = 1 - conf_level
    p_est = float(pvals.mean())
    mc = float(pvals.std(ddof=1) / np.sqrt(len(pvals)))
    lo, hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
    share = pvals / 2 if alternative == "two-sided" else pvals
    s_lo, s_hi = 100 * np.quantile(share, [alpha / 2, 1 - alpha / 2])
    side = ("below" if estimate < 0 else "above") if alternative == "two-sided" else (
        "below" if alternative == "less" else "above")
    base = {**ids, "analysis": analysis, "n_patients": 1.0, "n_obs": float(n + 1),
            "method": method}
    return result_frame([
        {**base, "term": term, "estimate": estimate, "se": mc, "p_value": p_est,
         "ci_low": float(lo), "ci_high": float(hi),
         "note": f"p_value {alternative}; se = Monte Carlo error of p ({len(pvals)} draws); "
         f"{conf_level:.0%} credible interval of the effect from the draws" + extra},
        {**base, "term": f"percentage of controls {side}", "estimate": 100 * float(share.mean()),
         "se": 100 * float(share.std(ddof=1) / np.sqrt(len(share))), "ci_low": float(s_lo),
         "ci_high": float(s_hi),
         "note": "se = Monte Carlo error; credible interval from the draws"},
    ])


def bsdt(x: float, y: float, *, mean_x: float, sd_x: float, mean_y: float, sd_y: float,
         r_xy: float, n: int, alternative: str = "two-sided", prior: str = "standard",
         n_sim: int = 100_000, seed: int = 20070101, conf_level: float = 0.95,
         label_x: str = "x", label_y: str = "y", measure: str = "", patient_id: str = "",
         side: str = "") -> pd.DataFrame:
    """Bayesian Standardised Difference Test (Crawford & Garthwaite 2007), seeded Monte Carlo.

    ``prior="standard"`` (the default, as singcar's ``BSDT(calibrated = FALSE)`` and Crawford &
    Garthwaite's program) or ``"calibrated"`` (Berger & Sun's calibrated prior).

    Returns
    -------
    pandas.DataFrame
        Rows ``bsdt``: term ``z_dcc: <x> - <y>`` (estimate Z_DCC from the sample statistics,
        credible interval, p-value and its Monte Carlo error) and ``percentage of controls``.

    Examples
    --------
    >>> t = bsdt(-1.7548574, -0.7836956, mean_x=0, sd_x=1, mean_y=0, sd_y=1, r_xy=0.5840643,
    ...          n=28, n_sim=20000, seed=1)
    >>> round(float(t.estimate[0]), 4), abs(float(t.p_value[0]) - 0.3067) < 0.01
    (-1.0648, True)
    """
    _check_alt(alternative)
    if prior not in ("calibrated", "standard"):
        raise InvalidInputError(f"prior={prior!r}; use 'calibrated' or 'standard'.")
    if not (sd_x > 0 and sd_y > 0 and -1 < r_xy < 1 and int(n) == n and n >= 4):
        raise InvalidInputError("BSDT needs positive SDs, -1 < r < 1 and n >= 4 controls.")
    n = int(n)
    a = (n - 1) * np.array([[sd_x**2, sd_x * sd_y * r_xy], [sd_x * sd_y * r_xy, sd_y**2]])
    rng = np.random.default_rng(seed)
    if prior == "calibrated":
        sigma = _calibrated(rng, n - 2, (n - 2) * a / (n - 1), int(n_sim))
    else:
        sigma = _inv_wishart(rng, n, a, int(n_sim))
    chol = np.linalg.cholesky(sigma)
    mu = np.array([mean_x, mean_y]) + (chol @ rng.standard_normal((len(sigma), 2, 1)))[..., 0] / np.sqrt(n)
    sx, sy = np.sqrt(sigma[:, 0, 0]), np.sqrt(sigma[:, 1, 1])
    rho = sigma[:, 0, 1] / (sx * sy)
    z = ((x - mu[:, 0]) / sx - (y - mu[:, 1]) / sy) / np.sqrt(2 - 2 * rho)
    z_dcc = ((x - mean_x) / sd_x - (y - mean_y) / sd_y) / np.sqrt(2 - 2 * r_xy)
    method = (f"Bayesian Standardised Difference Test (Crawford & Garthwaite 2007), {prior} "
              f"prior{' (Berger & Sun 2008)' if prior == 'calibrated' else ' (as singcar default)'}"
              f"; {len(sigma)} Monte Carlo draws, seed {seed} (numpy)")
    return _rows("bsdt", f"z_dcc: {label_x} - {label_y}", float(z_dcc), z, _p(z, alternative),
                 alternative, conf_level, n, method,
                 dict(measure=measure, patient_id=patient_id, side=side))


def _regression(task: np.ndarray, covar: np.ndarray, case_covar: np.ndarray):
    n = task.shape[0]
    x = np.column_stack([np.ones(n), covar])
    xtx_inv = np.linalg.inv(x.T @ x)
    b_hat = xtx_inv @ x.T @ task
    resid = task - x @ b_hat
    ss = resid.T @ resid
    xc = np.r_[1.0, case_covar]
    return b_hat, ss, xc, float(xc @ xtx_inv @ xc)


def _inputs(case_covar, control_covar, n: int) -> tuple[np.ndarray, np.ndarray]:
    case_covar = np.atleast_1d(np.asarray(case_covar, dtype=float))
    control_covar = np.asarray(control_covar, dtype=float).reshape(n, -1)
    if control_covar.shape[1] != case_covar.size:
        raise InvalidInputError(
            f"{case_covar.size} case covariate(s) but {control_covar.shape[1]} control "
            "covariate column(s).")
    if n - case_covar.size - 2 < 1:
        raise InvalidInputError(f"{n} controls are too few for {case_covar.size} covariate(s).")
    return case_covar, control_covar


def btd_cov(case: float, case_covar, control_task, control_covar, *,
            alternative: str = "less", n_sim: int = 100_000, seed: int = 20110101,
            conf_level: float = 0.95, measure: str = "", patient_id: str = "",
            side: str = "") -> pd.DataFrame:
    """Bayesian test of deficit with covariates (Crawford, Garthwaite & Ryan 2011).

    Parameters
    ----------
    case : float
        The patient's score on the task.
    case_covar : float or array-like
        The patient's covariate value(s) (e.g. age).
    control_task, control_covar : array-like
        The controls' task scores (n) and covariates (n x m).

    Examples
    --------
    Crawford, Garthwaite & Ryan's program on 18 controls (task mean 100, SD 15; covariate
    mean 13, SD 3; r = 0.65), case 78 with covariate 13: p = 0.04362 (one-sided).

    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((18, 2)); z -= z.mean(0)
    >>> z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z.T))).T
    >>> x = z @ np.linalg.cholesky([[225, 29.25], [29.25, 9]]).T + [100, 13]
    >>> t = btd_cov(78, 13, x[:, 0], x[:, 1], seed=1)
    >>> abs(float(t.p_value[0]) - 0.04362) < 0.001
    True
    """
    _check_alt(alternative)
    task = np.asarray(control_task, dtype=float).ravel()
    n = task.size
    case_covar, covar = _inputs(case_covar, control_covar, n)
    m = case_covar.size
    b_hat, ss, xc, c = _regression(task, covar, case_covar)
    df = n - m - 1
    rng = np.random.default_rng(seed)
    sigma2 = ss / rng.chisquare(df, size=int(n_sim))
    mu = xc @ b_hat + np.sqrt(c * sigma2) * rng.standard_normal(int(n_sim))
    z = (case - mu) / np.sqrt(sigma2)
    z_ccc = float((case - xc @ b_hat) / np.sqrt(ss / (n - 1)))
    method = (f"Bayesian test of deficit with {m} covariate(s) (Crawford, Garthwaite & Ryan "
              f"2011): sigma^2 = SS_resid/chi2({df}), conditional mean ~ N(x'B, sigma^2 "
              f"x'(X'X)^-1 x); {int(n_sim)} Monte Carlo draws, seed {seed} (numpy); Z_CCC point "
              "estimate with SS_resid/(n - 1) as singcar")
    return _rows("btd_cov", "z_ccc: patient - controls with the same covariates", z_ccc, z,
                 _p(z, alternative), alternative, conf_level, n, method,
                 dict(measure=measure, patient_id=patient_id, side=side))


def bsdt_cov(case_tasks, case_covar, control_tasks, control_covar, *,
             alternative: str = "two-sided", n_sim: int = 100_000, seed: int = 20110102,
             conf_level: float = 0.95, label_x: str = "x", label_y: str = "y",
             measure: str = "", patient_id: str = "", side: str = "") -> pd.DataFrame:
    """Bayesian standardised difference test with covariates (Crawford, Garthwaite & Ryan
    2011), calibrated prior (as singcar's default).

    Parameters
    ----------
    case_tasks : array-like of 2
        The patient's two task scores.
    control_tasks : array-like (n x 2)
        The controls' two task scores.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> covar = rng.normal(50, 10, 20)
    >>> tasks = np.column_stack([covar, covar]) * 0.2 + rng.normal(0, 1, (20, 2))
    >>> t = bsdt_cov([6.0, 12.0], 50, tasks, covar, n_sim=20_000, seed=1)
    >>> t["analysis"].iloc[0], bool(t["p_value"].iloc[0] < 0.05)
    ('bsdt_cov', True)
    """
    _check_alt(alternative)
    y_case = np.asarray(case_tasks, dtype=float).ravel()
    tasks = np.asarray(control_tasks, dtype=float)
    if y_case.size != 2 or tasks.ndim != 2 or tasks.shape[1] != 2:
        raise InvalidInputError("bsdt_cov needs 2 case task scores and n x 2 control scores.")
    n = tasks.shape[0]
    case_covar, covar = _inputs(case_covar, control_covar, n)
    m = case_covar.size
    if n - m - 2 < 2:
        raise InvalidInputError(f"{n} controls are too few for {m} covariate(s) and 2 tasks.")
    b_hat, ss, xc, c = _regression(tasks, covar, case_covar)
    rng = np.random.default_rng(seed)
    sigma = _calibrated(rng, n - m - 2, (n - m - 2) * ss / (n - m - 1), int(n_sim))
    chol = np.linalg.cholesky(sigma)
    mu = xc @ b_hat + np.sqrt(c) * (chol @ rng.standard_normal((len(sigma), 2, 1)))[..., 0]
    s1, s2 = np.sqrt(sigma[:, 0, 0]), np.sqrt(sigma[:, 1, 1])
    rho = sigma[:, 0, 1] / (s1 * s2)
    z = ((y_case[0] - mu[:, 0]) / s1 - (y_case[1] - mu[:, 1]) / s2) / np.sqrt(2 - 2 * rho)
    cov = ss / (n - 1)
    mu_hat = xc @ b_hat
    r_hat = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    z_dccc = float(((y_case[0] - mu_hat[0]) / np.sqrt(cov[0, 0])
                    - (y_case[1] - mu_hat[1]) / np.sqrt(cov[1, 1])) / np.sqrt(2 - 2 * r_hat))
    method = (f"Bayesian standardised difference test with {m} covariate(s) (Crawford, "
              "Garthwaite & Ryan 2011), calibrated prior (df n - m - 2, rejection step); "
              f"{len(sigma)} Monte Carlo draws, seed {seed} (numpy)")
    return _rows("bsdt_cov", f"z_dccc: {label_x} - {label_y}", z_dccc, z, _p(z, alternative),
                 alternative, conf_level, n, method,
                 dict(measure=measure, patient_id=patient_id, side=side))
