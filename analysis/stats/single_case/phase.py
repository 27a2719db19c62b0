"""Phase designs for one patient: baseline days (A) against test-infusion days (B).

Indices, each with the direction of improvement applied first (``better="lower"`` for MAS and
TUG flips the sign of every value, so that every index counts an improvement as positive):

- **NAP**, Non-overlap of All Pairs (Parker & Vannest 2009): share of (A, B) pairs in which the
  B point improves on the A point, ties counted 0.5. SE: the exactly unbiased estimator of
  Sen (1967) / Mee (1990) with the truncation constant 0.5 / (nA nB), as SingleCaseES
  ``NAP(SE = "unbiased")``. CI: Newcombe (2006) method 5 (score inversion), as SingleCaseES;
  at NAP = 1 (or 0) the interior root is taken, so complete separation of 4 baseline and 5
  treatment points gives a lower limit of 0.6115, not 1 (SingleCaseES 0.7.3 calls
  ``uniroot(f, c(0, NAP))``, whose endpoint f(1) = 0 makes it return 1). p-value: Mann-Whitney
  test (scipy), exact without ties, normal approximation with continuity correction with ties
  (as R's ``wilcox.test``).
- **Tau-U** (Parker, Vannest, Davis & Sauber 2011), variants named in ``term``:

  * ``A vs B``: Tau = (improving pairs - deteriorating pairs) / (nA nB) = S_AvsB / (nA nB);
  * ``A vs B - trend A``: (S_AvsB - S_trendA) / (nA nB), Parker's formula; it can exceed 1
    (in absolute value) because the numerator counts nA (nA - 1) / 2 more pairs than the
    denominator.

  p-value as Parker: S is Kendall's S between the values and a predictor (the phase dummy;
  for the trend-corrected variant, baseline times reversed and every B point one step after
  the baseline), tested with Kendall's variance of S corrected for ties (Kendall 1970; as R's
  ``cor.test(method = "kendall", exact = FALSE)``), z = S / SD(S) without continuity
  correction. Interval: for ``A vs B`` (= 2 NAP - 1) twice NAP's SE and limits minus 1, as
  SingleCaseES ``Tau()``; for ``A vs B - trend A`` SE = SD(S) / (nA nB) and a Wald interval
  Tau-U +/- 1.96 SE, not truncated, as the singlecaseresearch.org calculator.

  Packages disagree on the same data (Parker, Vannest & Davis 2011's 13-point series,
  A = 20 20 26 25 22 23, B = 28 25 24 27 30 30 29, S = 35 - 4 = 31): Parker's formula
  31 / 42 = 0.738 (this module, SingleCaseES ``Tau_U``); scan ``tau_u(method = "complete")``
  with Kendall tau-b, S / sqrt((n0 - ties_x)(n0 - ties_y)) = 31 / sqrt(57 * 75) = 0.474;
  S / (nA nB + nA (nA - 1) / 2) = 31 / 57 = 0.544 (scan ``"tarlow"`` / complete tau-a). The
  ``note`` of each trend-corrected result gives the two alternatives for the data at hand.
- **PND**, Percentage of Non-overlapping Data (Scruggs, Mastropieri & Casto 1987): share
  of B points better than the best A point (a proportion 0-1 by default; see :mod:`.shares`).
- **Piecewise regression**: :mod:`analysis.stats.single_case.piecewise`.

All of these assume the A and B observations are independent, which repeated measurements of
one patient rarely are: read them as descriptions of one series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.errors import InvalidInputError
from analysis.results import result_frame
from analysis.stats.numerics import join_notes, snap
from analysis.stats.single_case.piecewise import piecewise
from analysis.stats.single_case.shares import Share, check_share
from analysis.vocabulary import TAU_VARIANTS, Better, TauVariant


@dataclass(frozen=True)
class NonOverlap:
    """One non-overlap index of an AB comparison.

    Attributes
    ----------
    name : str
        ``nap``, ``tau_u`` or ``pnd``.
    term : str
        The variant (``A vs B``, ``A vs B - trend A``) or empty.
    estimate, se, ci_low, ci_high : float
        Point estimate, standard error and 95% limits (NaN only with a reason in ``note``).
    statistic, p_value : float
        Test statistic (U for NAP, S for Tau-U, count of non-overlapping points for PND)
        and its two-sided p-value.
    n_a, n_b : int
        Points in the baseline (A) and treatment (B) phases.
    method, note : str
        The method named with its variant and software path; caveats.
    """

    name: str
    term: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    n_a: int
    n_b: int
    method: str
    note: str = ""


def _check_better(better: str) -> float:
    if better not in ("higher", "lower"):
        raise InvalidInputError(
            f"better={better!r} is not supported: phase indices need a direction of "
            "improvement, 'higher' or 'lower' (use the codebook's `better`; for "
            "'towards_normal' or 'context' measures choose the direction explicitly)."
        )
    return 1.0 if better == "higher" else -1.0


def _phases(a, b, better: str, *, min_a: int = 1, min_b: int = 1) -> tuple[np.ndarray, np.ndarray]:
    sign = _check_better(better)
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size and b.size:  # values equal up to rounding are ties
        both = snap(np.r_[a, b])
        a, b = both[:a.size], both[a.size:]
    if a.size < min_a or b.size < min_b:
        raise InvalidInputError(
            f"need at least {min_a} baseline and {min_b} treatment point(s) with a value "
            f"(got {a.size} and {b.size}); add observations or drop this series."
        )
    return sign * a, sign * b


def _direction_note(better: str) -> str:
    return f"better = {better}: values {'multiplied by -1' if better == 'lower' else 'as is'} " \
        "so that the index counts improvement as positive"


# --------------------------------------------------------------------------------------- NAP
def _newcombe5(nap_: float, m: int, n: int, confidence: float) -> tuple[float, float]:
    """Newcombe (2006) method 5 limits: roots of
    m n (NAP - x)^2 (2 - x)(1 + x) = z^2 x (1 - x) (2 + h + (1 + 2h) x (1 - x)),
    h = (m + n) / 2 - 1. Hand-written (Brent root finding from scipy) because no Python
    library provides it; at NAP = 1 (0) the spurious endpoint root x = 1 (0) is divided out.
    """
    h = (m + n) / 2.0 - 1.0
    z2 = stats.norm.ppf(1.0 - (1.0 - confidence) / 2.0) ** 2

    def rhs(x):
        return z2 * (2.0 + h + (1.0 + 2.0 * h) * x * (1.0 - x))

    def f(x):
        return m * n * (nap_ - x) ** 2 * (2.0 - x) * (1.0 + x) - x * (1.0 - x) * rhs(x)

    kw = dict(xtol=1e-14, rtol=1e-14, maxiter=500)
    if nap_ <= 0.0:
        low = 0.0
        upper = optimize.brentq(
            lambda x: m * n * x * (2.0 - x) * (1.0 + x) - (1.0 - x) * rhs(x), 0.0, 1.0, **kw)
        return low, upper
    if nap_ >= 1.0:
        lower = optimize.brentq(
            lambda x: m * n * (1.0 - x) * (2.0 - x) * (1.0 + x) - x * rhs(x), 0.0, 1.0, **kw)
        return lower, 1.0
    return optimize.brentq(f, 0.0, nap_, **kw), optimize.brentq(f, nap_, 1.0, **kw)


#: NAP standard errors (SingleCaseES ``NAP(SE = ...)``).
NAP_SE = ("unbiased", "hanley", "null")


def nap(a, b, *, better: Better = "higher", confidence: float = 0.95,
        se: str = "unbiased") -> NonOverlap:
    """Non-overlap of All Pairs (Parker & Vannest 2009) with its Newcombe interval.

    Parameters
    ----------
    a, b : array-like
        Baseline (A) and treatment (B) values; NaN dropped.
    better : {"higher", "lower"}
        Direction of improvement (``"lower"`` for MAS, TUG).
    confidence : float
        Confidence level of the interval.
    se : {"unbiased", "hanley", "null"}
        Standard error: the exactly unbiased estimator (Sen 1967; Mee 1990), Hanley & McNeil's
        (1982) ``(NAP(1 - NAP) + (nB - 1) Q1 + (nA - 1) Q2) / (nA nB)``, or the variance under
        the null of no effect ``(nA + nB + 1) / (12 nA nB)`` (SingleCaseES ``SE = "unbiased"``,
        ``"Hanley"``, ``"null"``; the first two truncate NAP to [0.5/(nA nB), 1 - 0.5/(nA nB)]).

    Returns
    -------
    NonOverlap
        ``estimate`` = NAP in [0, 1]; ``statistic`` = U = improving pairs + 0.5 ties.

    Notes
    -----
    SE: SingleCaseES ``NAP(SE = "unbiased")`` (Sen 1967; Mee 1990), NaN when a phase has one
    point. CI: Newcombe (2006) method 5. p: Mann-Whitney (scipy ``mannwhitneyu``), exact
    without ties, else normal approximation with tie and continuity corrections.

    Examples
    --------
    >>> r = nap([3, 3, 2, 3], [1.5, 1, 1, 1.5, 1], better="lower")
    >>> r.estimate, round(r.ci_low, 4), r.ci_high
    (1.0, 0.6115, 1.0)
    """
    if se not in NAP_SE:
        raise InvalidInputError(f"se={se!r}; use one of {list(NAP_SE)}.")
    se_kind = se
    a, b = _phases(a, b, better)
    m, n = a.size, b.size
    q = (b[None, :] > a[:, None]) + 0.5 * (b[None, :] == a[:, None])  # m x n
    est = float(q.mean())
    trunc = 0.5 / (m * n)
    nap_t = min(max(est, trunc), 1.0 - trunc)
    q1 = np.sum(np.sum(q - est, axis=1) ** 2) / (m * n**2)
    q2 = np.sum(np.sum(q - est, axis=0) ** 2) / (m**2 * n)
    note = ""
    if se_kind == "null":
        se = float(np.sqrt((m + n + 1) / (12 * m * n)))
    elif se_kind == "hanley":
        se = float(np.sqrt((nap_t * (1 - nap_t) + (n - 1) * q1 + (m - 1) * q2) / (m * n)))
    elif m > 1 and n > 1:
        x = np.sum((q - est) ** 2) / (m * n)
        se = float(np.sqrt((nap_t * (1 - nap_t) + n * q1 + m * q2 - 2 * x) / ((m - 1) * (n - 1))))
    else:
        se = np.nan
        note = "SE not estimable with one point in a phase (unbiased estimator needs >= 2 each)"
    lo, hi = _newcombe5(est, m, n, confidence)
    ties = bool(np.any(q == 0.5)) or len(np.unique(np.r_[a, b])) < m + n
    exact = not ties and m < 50 and n < 50
    if len(np.unique(np.r_[a, b])) == 1:
        stat, p_value = float(q.sum()), np.nan
        note = join_notes(note, "all values tied: the Mann-Whitney test is undefined (its "
                          "variance is 0), p not computed")
    else:
        test = stats.mannwhitneyu(b, a, alternative="two-sided",
                                  method="exact" if exact else "asymptotic", use_continuity=True)
        stat, p_value = float(test.statistic), float(test.pvalue)
    se_name = {"unbiased": "unbiased (Sen 1967; Mee 1990, as SingleCaseES)",
               "hanley": "Hanley & McNeil (1982) (as SingleCaseES SE = 'Hanley')",
               "null": "under the null, sqrt((nA + nB + 1)/(12 nA nB)) (as SingleCaseES "
               "SE = 'null')"}[se_kind]
    method = (
        f"NAP (Parker & Vannest 2009), ties count 0.5; SE {se_name}; CI Newcombe (2006) "
        "method 5 score inversion; p Mann-Whitney "
        + ("exact" if exact else "normal approximation with continuity correction") + " (scipy)"
    )
    note = "; ".join(s for s in (note, _direction_note(better)) if s)
    return NonOverlap("nap", "", est, se, lo, hi, stat, p_value, m, n, method, note)


# ----------------------------------------------------------------------------------- Tau-U
def kendall_s_var(x, y) -> float:
    """Variance of Kendall's S under independence, corrected for ties in x and y.

    Kendall (1970) eq. 4.4; the formula of R's ``cor.test(method = "kendall", exact = FALSE)``.

    Examples
    --------
    >>> round(kendall_s_var([0, 0, 0, 0, 1, 1, 1, 1, 1], range(9)), 4)  # 4 * 5 * 10 / 3
    66.6667
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    tx = np.unique(x, return_counts=True)[1].astype(float)
    ty = np.unique(y, return_counts=True)[1].astype(float)
    v0 = n * (n - 1) * (2 * n + 5)
    vt = np.sum(tx * (tx - 1) * (2 * tx + 5))
    vu = np.sum(ty * (ty - 1) * (2 * ty + 5))
    v1 = np.sum(tx * (tx - 1)) * np.sum(ty * (ty - 1))
    v2 = np.sum(tx * (tx - 1) * (tx - 2)) * np.sum(ty * (ty - 1) * (ty - 2))
    out = (v0 - vt - vu) / 18.0 + v1 / (2.0 * n * (n - 1))
    if n > 2:
        out += v2 / (9.0 * n * (n - 1) * (n - 2))
    if out <= 1e-12 * max(v0, 1.0):  # all ties in x or y: the variance is 0, not rounding noise
        out = 0.0
    return float(out)


def tau_u(a, b, *, better: Better = "higher", variant: TauVariant = "A vs B",
          confidence: float = 0.95) -> NonOverlap:
    """Tau (A vs B) or Tau-U with baseline-trend correction, Parker et al. (2011) formulas.

    Parameters
    ----------
    a, b : array-like
        Baseline (A) values in time order, and treatment (B) values; NaN dropped.
    better : {"higher", "lower"}
        Direction of improvement.
    variant : {"A vs B", "A vs B - trend A"}
        ``A vs B``: S_AvsB / (nA nB). ``A vs B - trend A``: (S_AvsB - S_trendA) / (nA nB),
        Parker's denominator, so it can exceed 1.
    confidence : float
        Level of the interval.

    Returns
    -------
    NonOverlap
        ``statistic`` = Kendall's S of the variant; p from Kendall's tie-corrected variance.

    Examples
    --------
    >>> r = tau_u([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29],
    ...           variant="A vs B - trend A")
    >>> r.statistic, round(r.estimate, 3)
    (31.0, 0.738)
    """
    if variant not in TAU_VARIANTS:
        raise InvalidInputError(
            f"variant={variant!r} is not a Tau-U variant; use one of {list(TAU_VARIANTS)}.")
    trend = variant == "A vs B - trend A"
    a, b = _phases(a, b, better, min_a=2 if trend else 1)
    m, n = a.size, b.size
    s_ab = float(np.sum(np.sign(b[None, :] - a[:, None])))
    i, j = np.triu_indices(m, k=1)
    s_a = float(np.sum(np.sign(a[j] - a[i])))
    y = np.r_[a, b]
    if trend:
        s = s_ab - s_a
        x = np.r_[np.arange(m, 0, -1), np.full(n, m + 1)]  # Parker: baseline time reversed
    else:
        s = s_ab
        x = np.r_[np.zeros(m), np.ones(n)]
    var_s = kendall_s_var(x, y)
    pairs = m * n
    est = s / pairs
    sd_s = np.sqrt(var_s)
    degenerate = var_s == 0
    z = s / sd_s if not degenerate else np.nan
    p = float(2 * stats.norm.sf(abs(z))) if not degenerate else np.nan
    if trend:
        se = float(sd_s / pairs) if not degenerate else np.nan
        zc = stats.norm.ppf(1 - (1 - confidence) / 2)
        lo, hi = est - zc * se, est + zc * se
        interval = "Wald CI Tau-U +/- z*SD(S)/(nA*nB), not truncated"
    else:
        # Tau (A vs B) = 2 NAP - 1: SE and interval from NAP's, as SingleCaseES ``Tau()``.
        r = nap(a, b, better="higher", confidence=confidence)  # a, b already signed
        se, lo, hi = 2 * r.se, 2 * r.ci_low - 1, 2 * r.ci_high - 1
        interval = ("SE and CI = 2 x NAP's (unbiased SE, Newcombe method 5) - 1, as "
                    "SingleCaseES Tau()")
    method = (
        f"Tau-U, variant '{variant}' (Parker, Vannest, Davis & Sauber 2011): "
        + ("(S_AvsB - S_trendA) / (nA*nB), Parker's formula, can exceed 1" if trend
           else "(improving - deteriorating pairs) / (nA*nB)")
        + "; p from Kendall's S with tie-corrected variance (Kendall rank correlation test, "
        f"normal, no continuity correction); {interval}"
    )
    notes = []
    if degenerate:
        notes.append("all values tied: Kendall's S = 0 with variance 0, so z and p are undefined"
                     + ("; SE and CI undefined" if trend else ""))
    if trend:
        n_all = m + n
        n0 = n_all * (n_all - 1) / 2
        ties_x = n * (n - 1) / 2
        ty = np.unique(y, return_counts=True)[1].astype(float)
        ties_y = float(np.sum(ty * (ty - 1) / 2))
        denom = (n0 - ties_x) * (n0 - ties_y)
        tau_b = s / np.sqrt(denom) if denom > 0 else np.nan
        tau_a = s / (pairs + m * (m - 1) / 2)
        notes.append(
            f"S_AvsB = {s_ab:g}, S_trendA = {s_a:g}; other variants on these data: scan "
            f"'complete' (Kendall tau-b) {tau_b:.3f}, S/(nA*nB + nA(nA-1)/2) (scan 'tarlow', "
            f"complete tau-a) {tau_a:.3f}")
        if abs(est) > 1:
            notes.append("|Tau-U| > 1: Parker's denominator counts fewer pairs than S")
    notes.append(_direction_note(better))
    return NonOverlap("tau_u", variant, float(est), float(se), float(lo), float(hi), s, p, m, n,
                      method, "; ".join(notes))


# ------------------------------------------------------------------------------------- PND
def pnd(a, b, *, better: Better = "higher", share: Share = "proportion") -> NonOverlap:
    """Percentage of Non-overlapping Data (Scruggs, Mastropieri & Casto 1987).

    Share of treatment points better than the best baseline point (above the highest for
    ``better="higher"``, below the lowest for ``"lower"``): a proportion (0-1), or 0-100 with
    ``share="percent"`` (see :mod:`.shares`). No SE or interval: PND has no known sampling
    distribution.

    Examples
    --------
    >>> pnd([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29]).estimate  # 5 of 7
    0.7142857142857143
    >>> pnd([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29], share="percent").estimate
    71.42857142857143
    """
    scale = check_share(share)
    a, b = _phases(a, b, better)
    k = int(np.sum(b > a.max()))
    note = "no SE or CI: PND has no known sampling distribution; " + _direction_note(better)
    unit = "percent" if scale == 100 else "proportion (0-1)"
    return NonOverlap("pnd", "", scale * k / b.size, np.nan, np.nan, np.nan, float(k), np.nan,
                      a.size, b.size, f"PND (Scruggs, Mastropieri & Casto 1987), {unit} of "
                      "treatment points beyond the best baseline point", note)


# ----------------------------------------------------------------------------- frame level
def _single(series: pd.DataFrame, col: str, given: str) -> str:
    if given or col not in series:
        return given
    vals = series[col].dropna().astype(str).unique()
    if len(vals) > 1:
        raise InvalidInputError(
            f"the series mixes {len(vals)} values of '{col}' ({sorted(vals)[:5]}); pass one "
            f"patient, one measure and one side at a time (group by {col} first).")
    return vals[0] if len(vals) else ""


def phase_analysis(series: pd.DataFrame, *, better: Better, baseline_phase: str = "baseline",
                   treatment_phase: str = "test_infusion", measure: str = "",
                   patient_id: str = "", share: Share = "proportion") -> pd.DataFrame:
    """NAP, Tau-U (both variants), PND and piecewise regression of one patient's series.

    Parameters
    ----------
    series : pandas.DataFrame
        Tidy observations of one patient, one measure and one side, with columns ``phase``,
        ``day`` and ``value`` (other columns ignored; ``patient_id``, ``measure``, ``side``
        are read when present). Ordered by ``day``.
    better : {"higher", "lower"}
        Direction of improvement, applied to NAP, Tau-U and PND.
    baseline_phase, treatment_phase : str
        The ``phase`` values of A and B; other phases are ignored.
    measure, patient_id : str
        Override the values read from the series.
    share : {"proportion", "percent"}
        Scale of PND (NAP and Tau-U are proportions and correlations either way).

    Returns
    -------
    pandas.DataFrame
        Results rows: ``nap``, ``tau_u`` (terms ``A vs B`` and ``A vs B - trend A``), ``pnd``
        (terms ``<treatment> vs <baseline>``) and ``piecewise`` (three terms).

    Examples
    --------
    >>> s = pd.DataFrame({"phase": ["baseline"] * 4 + ["test_infusion"] * 5,
    ...                   "day": [-6, -4, -2, -1, 1, 2, 3, 4, 5],
    ...                   "value": [3, 3, 2, 3, 1.5, 1, 1, 1.5, 1]})
    >>> t = phase_analysis(s, better="lower", measure="mas_knee_ext", patient_id="P01")
    >>> t[["analysis", "term"]].values.tolist()[:3]
    [['nap', 'test_infusion vs baseline'], ['tau_u', 'A vs B'], ['tau_u', 'A vs B - trend A']]
    >>> float(round(t.loc[0, "ci_low"], 4))
    0.6115
    """
    for col in ("phase", "day", "value"):
        if col not in series:
            raise InvalidInputError(f"series has no column '{col}'; phase analysis needs "
                                   "phase, day and value (tidy observations).")
    _check_better(better)
    patient_id = _single(series, "patient_id", patient_id)
    measure = _single(series, "measure", measure)
    side = _single(series, "side", "")
    s = series[series["phase"].isin([baseline_phase, treatment_phase])]
    s = s[np.isfinite(s["value"].astype(float)) & np.isfinite(s["day"].astype(float))]
    s = s.sort_values("day", kind="mergesort")
    a = s.loc[s["phase"] == baseline_phase, "value"].to_numpy(float)
    b = s.loc[s["phase"] == treatment_phase, "value"].to_numpy(float)
    term = f"{treatment_phase} vs {baseline_phase}"
    base = dict(measure=measure, side=side, patient_id=patient_id, n_patients=1,
                n_obs=a.size + b.size)
    caveat = "A and B points treated as independent (rarely true within one patient)"
    rows = []
    jobs = [("nap", term, lambda: nap(a, b, better=better))]
    jobs += [("tau_u", v, lambda v=v: tau_u(a, b, better=better, variant=v)) for v in TAU_VARIANTS]
    jobs += [("pnd", term, lambda: pnd(a, b, better=better, share=share))]
    for name, row_term, job in jobs:
        try:
            r = job()
        except InvalidInputError as err:
            rows.append({**base, "analysis": name, "term": row_term,
                         "note": f"not estimable: {err}"})
            continue
        rows.append({**base, "analysis": name, "term": row_term, "estimate": r.estimate,
                     "se": r.se, "statistic": r.statistic, "p_value": r.p_value,
                     "ci_low": r.ci_low, "ci_high": r.ci_high, "method": r.method,
                     "note": "; ".join(x for x in (r.note, caveat) if x)})
    pw = piecewise(s["day"].to_numpy(float), s["value"].to_numpy(float),
                   (s["phase"] == treatment_phase).to_numpy(), measure=measure,
                   patient_id=patient_id, side=side)
    return pd.concat([result_frame(rows), pw], ignore_index=True)
