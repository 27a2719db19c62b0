"""One patient against a control or normative sample given as mean, SD and n.

Crawford & Howell's (1998) modified t-test with the point and interval estimates of the
percentage of the control population more extreme than the patient and of the effect size
Z_CC (Crawford & Garthwaite 2002; Crawford, Garthwaite & Porter 2010), the Bayesian test of
Crawford & Garthwaite (2007). The Revised Standardized Difference Test for a dissociation
between two measures is in :mod:`analysis.stats.single_case.dissociations`.

No Python library offers these tests (in R they are in singcar); they are hand-written here on
top of scipy's t, noncentral t and chi-square distributions, and checked against singcar's
published output, R, and closed forms (tests/test_singlecase.py).

Direction of improvement
------------------------
``alternative`` may name a tail of the score (``"less"``, ``"greater"``) or a clinical
direction (``"worse"``, ``"better"``) that ``better`` turns into a tail: with ``better="lower"``
(MAS, TUG, SPRS, PGIC) ``"worse"`` is ``"greater"``; with ``better="higher"`` (gait speed, MRC)
``"worse"`` is ``"less"``. Effect sizes (Z_CC, Z_DCC) keep the sign of ``patient - controls``
unless ``better`` is given to :func:`rsdt`, which then orients each measure so that positive
means better and says so in ``method``.
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
from analysis.stats.single_case.shares import Share, check_share
from analysis.vocabulary import ALTERNATIVES, Alternative, Better, Tail


# --------------------------------------------------------------------------- helpers
def _check_controls(mean: float, sd: float, n: int, what: str = "controls") -> None:
    if not np.isfinite(mean):
        raise InvalidInputError(f"{what} mean must be a finite number, got {mean!r}.")
    if not (np.isfinite(sd) and sd > 0):
        raise InvalidInputError(f"{what} SD must be a positive number, got {sd!r}.")
    if int(n) != n or n < 2:
        raise InvalidInputError(
            f"{what} n must be an integer >= 2 (the test has n - 1 df), got {n!r}."
        )


def _resolve_tail(alternative: str, better: str | None, sign: float) -> tuple[str, Tail]:
    """Return (two-sided or one-sided, tail of the score) for an alternative.

    For ``"two-sided"`` the tail is the side the patient falls on (``sign`` of x - mean).
    """
    if alternative not in ALTERNATIVES:
        raise InvalidInputError(
            f"alternative must be one of {ALTERNATIVES}, got {alternative!r}."
        )
    if alternative in ("worse", "better"):
        if better not in ("lower", "higher"):
            raise InvalidInputError(
                f"alternative={alternative!r} needs better='lower' or 'higher' "
                f"(got better={better!r}); or give alternative='less'/'greater'."
            )
        worse_tail: Tail = "greater" if better == "lower" else "less"
        if alternative == "worse":
            return "one-sided", worse_tail
        return "one-sided", "less" if worse_tail == "greater" else "greater"
    if better is not None and better not in ("lower", "higher"):
        raise InvalidInputError(
            f"better must be 'lower', 'higher' or None, got {better!r}; measures whose "
            "better is 'towards_normal' or 'context' have no better tail: pass None."
        )
    if alternative == "two-sided":
        return "two-sided", "less" if sign < 0 else "greater"
    return "one-sided", alternative  # type: ignore[return-value]


def _tail_word(tail: Tail, better: str | None) -> str:
    if better is None:
        return "below" if tail == "less" else "above"
    worse = (tail == "greater") == (better == "lower")
    return ("below" if tail == "less" else "above") + (" (worse)" if worse else " (better)")


def _scaler(share: str):
    """Maps a percentage (the result objects' fields) to ``share``'s scale (unchanged for
    ``"percent"``, so the results rows keep their exact values)."""
    factor = check_share(share)
    return (lambda v: v) if factor == 100 else (lambda v: v / 100)


# --------------------------------------------------------------------------- Crawford-Howell
@dataclass(frozen=True)
class CrawfordHowell:
    """Result of :func:`crawford_howell` (percentages on 0-100; ``tail`` is the score tail
    that ``p_one_sided`` and ``pct_more_extreme`` refer to)."""

    x: float
    mean: float
    sd: float
    n: int
    alternative: str
    better: str | None
    tail: Tail
    t: float
    df: int
    se: float
    p_one_sided: float
    p_two_sided: float
    p_value: float
    pct_more_extreme: float
    pct_ci: tuple[float, float]
    z_cc: float
    z_cc_ci: tuple[float, float]
    conf_level: float

    def tidy(self, *, measure: str = "", patient_id: str = "", side: str = "",
             share: Share = "proportion") -> pd.DataFrame:
        """Results rows ``crawford_howell`` (the requested test first, then the other one:
        two-sided and one-sided), ``pct_more_extreme`` (a proportion 0-1, or 0-100 with
        ``share="percent"``: :mod:`.shares`) and ``z_cc``.

        Examples
        --------
        >>> r = crawford_howell(-1.754857, mean=0, sd=1, n=28, alternative="less")
        >>> rows = r.tidy()
        >>> rows["term"].iloc[0], round(float(rows["p_value"].iloc[0]), 5)
        ('patient - controls: one-sided (less)', 0.04804)
        """
        pct = _scaler(share)
        base = {"measure": measure, "patient_id": patient_id, "side": side,
                "n_patients": 1.0, "n_obs": float(self.n + 1)}
        where = _tail_word(self.tail, self.better)
        ctrl = f"controls (mean {self.mean:g}, SD {self.sd:g}, n {self.n})"
        tests = [
            {**base, "analysis": "crawford_howell", "term": "patient - controls: two-sided",
             "estimate": self.x - self.mean, "se": self.se, "df": float(self.df),
             "df_method": "n-1", "statistic": self.t, "p_value": self.p_two_sided,
             "method": f"Crawford-Howell (1998) modified t, two-sided, against {ctrl}; "
             "scipy.stats.t",
             "note": "estimate = patient - control mean; se = SD*sqrt((n+1)/n); interval: "
             "see z_cc and pct_more_extreme"},
            {**base, "analysis": "crawford_howell",
             "term": f"patient - controls: one-sided ({self.tail})",
             "estimate": self.x - self.mean, "se": self.se, "df": float(self.df),
             "df_method": "n-1", "statistic": self.t, "p_value": self.p_one_sided,
             "method": f"Crawford-Howell (1998) modified t, one-sided ({self.tail}: patient "
             f"{where} controls), against {ctrl}; scipy.stats.t",
             "note": "interval: see z_cc and pct_more_extreme"},
        ]
        if self.alternative != "two-sided":  # the requested test first: ``p_value[0]`` is it
            tests.reverse()
        rows = [
            *tests,
            {**base, "analysis": "pct_more_extreme", "term": f"controls {where} patient",
             "estimate": pct(self.pct_more_extreme), "ci_low": pct(self.pct_ci[0]),
             "ci_high": pct(self.pct_ci[1]), "p_value": self.p_one_sided,
             "method": ("percentage (0-100)" if share == "percent" else "proportion (0-1)")
             + " of the control population beyond the patient: median-unbiased estimate "
             "Phi(delta_0.5/sqrt(n)) and interval Phi(delta limits/sqrt(n)) from the exact "
             "inversion of the noncentral t (Crawford & Garthwaite 2002); scipy.special.nctdtr "
             "+ brentq",
             "note": "p_value = the one-sided Crawford-Howell p (the test's p, which singcar "
             "reports as the point estimate)"},
            {**base, "analysis": "z_cc", "term": "patient - controls",
             "estimate": self.z_cc, "ci_low": self.z_cc_ci[0], "ci_high": self.z_cc_ci[1],
             "method": "Z_CC = (patient - mean)/SD (Crawford, Garthwaite & Porter 2010); "
             "interval = noncentral-t ncp limits / sqrt(n) (Crawford & Garthwaite 2002)",
             "note": ""},
        ]
        return result_frame(rows)


def crawford_howell(
    x: float,
    *,
    mean: float,
    sd: float,
    n: int,
    alternative: Alternative = "two-sided",
    better: Better | None = None,
    conf_level: float = 0.95,
) -> CrawfordHowell:
    """Crawford-Howell modified t-test of one patient against a control sample.

    ``t = (x - mean) / (sd * sqrt((n + 1) / n))`` on ``n - 1`` df. The interval of
    ``Z_CC = (x - mean) / sd`` comes from the noncentral t: ``Z_CC * sqrt(n)`` is noncentral t
    on ``n - 1`` df with noncentrality ``delta = sqrt(n) * (x - mu) / sigma``, inverted exactly
    (Crawford & Garthwaite 2002); the proportion of the control population beyond the patient is
    ``Phi(delta / sqrt(n))`` (or ``1 - Phi``), its interval that of the limits of ``delta``.

    Point estimate of that proportion: ``Phi(delta_0.5 / sqrt(n))``, where ``delta_0.5`` is the
    50% point of the same inversion (the median-unbiased estimate), so the estimate always lies
    inside its own interval. Crawford & Garthwaite (2006) and singcar use the one-sided p, which
    is mean-unbiased but, at extreme scores (Z_CC about -7.5), lies outside the equal-tailed
    interval (e.g. 1.94e-4 against [2e-23, 1.10e-4]); the one-sided p is kept as the test's p
    (``p_one_sided``, and ``p_value`` of the ``pct_more_extreme`` row). At moderate scores the
    two differ little (singcar's 4.80% against 4.88% for patient DF of singcar's README).

    Parameters
    ----------
    x : float
        The patient's score.
    mean, sd, n : float, float, int
        Control (normative) sample mean, SD (n - 1 denominator) and size.
    alternative : {"two-sided", "less", "greater", "worse", "better"}
        Tail of the test; ``"worse"``/``"better"`` need ``better`` (see the module notes).
        With ``"two-sided"`` the one-sided p and the percentage refer to the side the
        patient falls on.
    better : {"lower", "higher"} or None
        Direction of improvement of the measure; labels the tail as worse or better.
    conf_level : float
        Level of the intervals.

    Returns
    -------
    CrawfordHowell
        Frozen dataclass; ``.tidy(measure=..., patient_id=...)`` gives results rows.

    Examples
    --------
    Patient DF against 28 controls in singcar's README (Z_CC = -1.754857):

    >>> r = crawford_howell(-1.754857, mean=0, sd=1, n=28, alternative="less")
    >>> round(r.t, 4), r.df, round(r.p_value, 5)
    (-1.7243, 27, 0.04804)
    >>> [round(v, 2) for v in r.z_cc_ci]
    [-2.34, -1.15]
    """
    _check_controls(mean, sd, n)
    if not np.isfinite(x):
        raise InvalidInputError(f"patient score x must be a finite number, got {x!r}.")
    if not 0 < conf_level < 1:
        raise InvalidInputError(f"conf_level must be between 0 and 1, got {conf_level!r}.")
    n = int(n)
    df = n - 1
    se = sd * math.sqrt((n + 1) / n)
    t = (x - mean) / se
    kind, tail = _resolve_tail(alternative, better, t)
    p_less = float(stats.t.cdf(t, df))
    p_greater = float(stats.t.sf(t, df))
    p_one = p_less if tail == "less" else p_greater
    p_two = float(min(1.0, 2.0 * min(p_less, p_greater)))
    z_cc = (x - mean) / sd
    d_lo, d_hi = noncentral_t_limits(z_cc * math.sqrt(n), df, confidence=conf_level)
    z_lo, z_hi = d_lo / math.sqrt(n), d_hi / math.sqrt(n)
    z_mid = noncentral_t_median(z_cc * math.sqrt(n), df) / math.sqrt(n)
    beyond = stats.norm.cdf if tail == "less" else stats.norm.sf
    pct_mid = 100 * float(beyond(z_mid))
    pct_ci = tuple(sorted((100 * float(beyond(z_lo)), 100 * float(beyond(z_hi)))))
    return CrawfordHowell(
        x=float(x), mean=float(mean), sd=float(sd), n=n, alternative=alternative,
        better=better, tail=tail, t=float(t), df=df, se=float(se), p_one_sided=p_one,
        p_two_sided=p_two, p_value=p_two if kind == "two-sided" else p_one,
        pct_more_extreme=pct_mid, pct_ci=(pct_ci[0], pct_ci[1]),
        z_cc=float(z_cc), z_cc_ci=(float(z_lo), float(z_hi)), conf_level=conf_level,
    )


# --------------------------------------------------------------------------- Bayesian
@dataclass(frozen=True)
class BayesSingleCase:
    """Result of :func:`bayes_single_case` (percentages on 0-100)."""

    x: float
    mean: float
    sd: float
    n: int
    alternative: str
    better: str | None
    tail: Tail
    p_one_sided: float
    p_two_sided: float
    p_value: float
    pct_more_extreme: float
    pct_ci: tuple[float, float]
    z_cc: float
    z_cc_ci: tuple[float, float]
    mc_se: float
    n_sim: int
    seed: int
    conf_level: float

    def tidy(self, *, measure: str = "", patient_id: str = "", side: str = "",
             share: Share = "proportion") -> pd.DataFrame:
        """Results rows ``bayes_single_case`` (the share of controls more extreme: a proportion
        0-1, or 0-100 with ``share="percent"``; and Z_CC)."""
        pct = _scaler(share)
        where = _tail_word(self.tail, self.better)
        method = (f"Bayesian test of Crawford & Garthwaite (2007): {self.n_sim} Monte Carlo "
                  f"draws (seed {self.seed}) of sigma^2 = (n-1)s^2/chi2(n-1), mu ~ N(mean, "
                  "sigma^2/n); credible interval from quantiles; numpy")
        base = {"measure": measure, "patient_id": patient_id, "side": side,
                "n_patients": 1.0, "n_obs": float(self.n + 1), "df": float(self.n - 1),
                "df_method": "n-1", "method": method}
        rows = [
            {**base, "analysis": "bayes_single_case",
             "term": f"{'percentage' if share == 'percent' else 'proportion'} of controls "
             f"{where} patient",
             "estimate": pct(self.pct_more_extreme), "se": pct(100 * self.mc_se),
             "p_value": self.p_value, "ci_low": pct(self.pct_ci[0]),
             "ci_high": pct(self.pct_ci[1]),
             "note": "estimate = posterior median (inside its credible interval); se = Monte "
             "Carlo error of the posterior mean, which is the one-sided p; p_value is "
             f"{'two-sided (doubled)' if self.alternative == 'two-sided' else 'one-sided'}"},
            {**base, "analysis": "bayes_single_case", "term": "z_cc: patient - controls",
             "estimate": self.z_cc, "ci_low": self.z_cc_ci[0], "ci_high": self.z_cc_ci[1],
             "note": "point estimate = (patient - mean)/SD; credible interval from draws"},
        ]
        return result_frame(rows)


def bayes_single_case(
    x: float,
    *,
    mean: float,
    sd: float,
    n: int,
    alternative: Alternative = "two-sided",
    better: Better | None = None,
    n_sim: int = 100_000,
    seed: int = 20070101,
    conf_level: float = 0.95,
) -> BayesSingleCase:
    """Bayesian test of one patient against controls (Crawford & Garthwaite 2007).

    Each draw: ``sigma^2 = (n - 1) s^2 / chi2_{n-1}``, ``mu = mean + z sqrt(sigma^2 / n)``,
    ``z* = (x - mu) / sigma``, ``p = Phi(z*)`` (or ``1 - Phi``) for the tail. The posterior
    median of ``p`` is the point estimate of the proportion of controls beyond the patient and
    the 2.5% and 97.5% quantiles of ``p`` and ``z*`` are the credible intervals, so the estimate
    always lies inside its interval (the posterior mean, singcar's estimate, does not at extreme
    scores). The posterior mean of ``p`` converges to the Crawford-Howell one-sided p and is
    the test's p (``p_one_sided``); the two-sided p doubles it.

    Parameters
    ----------
    x, mean, sd, n, alternative, better, conf_level
        As in :func:`crawford_howell`.
    n_sim : int
        Number of Monte Carlo draws (vectorised).
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    BayesSingleCase

    Examples
    --------
    >>> b = bayes_single_case(-1.754857, mean=0, sd=1, n=28, alternative="less", seed=1)
    >>> abs(b.p_value - 0.04804) < 0.002
    True
    """
    _check_controls(mean, sd, n)
    if int(n_sim) < 1000:
        raise InvalidInputError(f"n_sim must be at least 1000, got {n_sim!r}.")
    n, n_sim = int(n), int(n_sim)
    kind, tail = _resolve_tail(alternative, better, x - mean)
    rng = np.random.default_rng(seed)
    sigma2 = (n - 1) * sd**2 / rng.chisquare(n - 1, size=n_sim)
    mu = mean + rng.standard_normal(n_sim) * np.sqrt(sigma2 / n)
    z_star = (x - mu) / np.sqrt(sigma2)
    p = stats.norm.cdf(z_star) if tail == "less" else stats.norm.sf(z_star)
    alpha = 1 - conf_level
    p_one = float(p.mean())
    q_lo, q_hi = np.quantile(p, [alpha / 2, 1 - alpha / 2])
    z_lo, z_hi = np.quantile(z_star, [alpha / 2, 1 - alpha / 2])
    p_two = min(1.0, 2 * p_one)
    return BayesSingleCase(
        x=float(x), mean=float(mean), sd=float(sd), n=n, alternative=alternative,
        better=better, tail=tail, p_one_sided=p_one, p_two_sided=p_two,
        p_value=p_two if kind == "two-sided" else p_one,
        pct_more_extreme=100 * float(np.median(p)),
        pct_ci=(100 * float(q_lo), 100 * float(q_hi)), z_cc=float((x - mean) / sd),
        z_cc_ci=(float(z_lo), float(z_hi)), mc_se=float(p.std(ddof=1) / math.sqrt(n_sim)),
        n_sim=n_sim, seed=int(seed), conf_level=conf_level,
    )
