"""Parametric effect sizes of one patient's AB phase design, as SingleCaseES defines them.

Each function takes the baseline (A) and treatment (B) values of one series and returns results
rows (:func:`analysis.results.result_frame`); ``better`` gives the direction of improvement
(``"lower"`` for MAS, TUG, PGIC) and every estimate is signed so that positive means improvement,
except LRRd whose convention is the reverse (negative = improvement, Pustejovsky 2018).

- :func:`smd`: within-case standardised mean difference (Gingerich 1984; Busk & Serlin 1992):
  (mean_B - mean_A) / SD, SD of the baseline (default) or pooled, Hedges' correction
  J = 1 - 3 / (4 df - 1), SE = J sqrt(1/nA + sB^2/(nB sA^2) + d^2/(2 df)) (baseline SD) or
  J sqrt(1/nA + 1/nB + d^2/(2 df)) (pooled); Wald CI (as SingleCaseES ``SMD``).
- :func:`lrr`: log response ratios LRRi and LRRd (Pustejovsky 2018): log(mean_B / mean_A) with
  the small-sample bias correction log(M) + V/(2 n M^2) per phase, SE = sqrt(sum V/(n M^2)),
  means and variances truncated below at 1/(2 D n) and 1/(D^2 n^3) for a measurement scale
  with floor constant D (count 1, rate = observation length, proportion = intervals,
  percentage = intervals / 100); Wald CI.
- :func:`lor`: log odds ratio of proportions or percentages, bias-corrected, Wald CI.
- :func:`lrm`: log ratio of medians (Bonett & Price 2020), SE from the order-statistic interval
  of each log median.
- :func:`pogo`: percent of goal obtained, 100 (mean_B - mean_A) / (goal - mean_A) (Ferron et
  al. 2020), SE as SingleCaseES / Patrona et al. (2022): 100 sqrt((VA/nA + VB/nB +
  PoGO^2 VA/nA) / (goal - mean_A)^2) (the covariance of numerator and denominator through
  mean_A is not included, as in the reference).

Hand-written: no Python library implements these (in R: SingleCaseES); checked against the
package's published test cases and the papers' examples (tests/test_single_case_effects.py).
Degenerate data (a constant baseline, a zero mean, one point in a phase) give NaN with the
reason in ``note``, never rounding noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InvalidInputError
from analysis.results import result_frame
from analysis.stats.numerics import join_notes, snap, spread
from analysis.vocabulary import Better

SCALES = ("count", "rate", "proportion", "percentage", "other")


def oriented(a, b, better: str, *, min_a: int = 1, min_b: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Finite A and B values multiplied by -1 when ``better="lower"`` (so higher = better),
    values equal up to rounding made equal.

    Examples
    --------
    >>> oriented([3, 2], [1], "lower")[1].tolist()
    [-1.0]
    """
    if better not in ("higher", "lower"):
        raise InvalidInputError(
            f"better={better!r} is not supported: phase effect sizes need a direction of "
            "improvement, 'higher' or 'lower' (the codebook's `better`).")
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size < min_a or b.size < min_b:
        raise InvalidInputError(
            f"need at least {min_a} baseline and {min_b} treatment point(s) with a value "
            f"(got {a.size} and {b.size}); add observations or drop this series.")
    both = snap(np.r_[a, b])
    sign = 1.0 if better == "higher" else -1.0
    return sign * both[:a.size], sign * both[a.size:]


def raw_phases(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Finite A and B values, not oriented (for ratios, which need the raw scale)."""
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    return a[np.isfinite(a)], b[np.isfinite(b)]


def _wald(est: float, se: float, confidence: float) -> tuple[float, float]:
    if not (np.isfinite(est) and np.isfinite(se)):
        return np.nan, np.nan
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    return est - z * se, est + z * se


def _frame(rows: list[dict], **ids) -> pd.DataFrame:
    return result_frame([{**ids, "n_patients": 1, **r} for r in rows])


def _ids(measure: str, patient_id: str, side: str) -> dict:
    return dict(measure=measure, patient_id=patient_id, side=side)


def smd(a, b, *, better: Better = "higher", std_dev: str = "baseline", bias_correct: bool = True,
        confidence: float = 0.95, term: str = "B vs A", measure: str = "", patient_id: str = "",
        side: str = "") -> pd.DataFrame:
    """Within-case standardised mean difference with its SE (SingleCaseES ``SMD``).

    Parameters
    ----------
    a, b : array-like
        Baseline and treatment values.
    better : {"higher", "lower"}
        Direction of improvement; the sign is set so that positive = improvement.
    std_dev : {"baseline", "pool"}
        Standardiser: the baseline SD (df = nA - 1) or the pooled SD (df = nA + nB - 2).
    bias_correct : bool
        Hedges' small-sample correction J.

    Examples
    --------
    Parker et al. (2011) series (SingleCaseES vignette data):

    >>> r = smd([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29]).iloc[0]
    >>> round(float(r.estimate), 4), round(float(r.se), 4)
    (1.6499, 0.6341)
    """
    if std_dev not in ("baseline", "pool"):
        raise InvalidInputError(f"std_dev={std_dev!r}; use 'baseline' or 'pool'.")
    a, b = oriented(a, b, better)
    na, nb = a.size, b.size
    va, vb = spread(a) ** 2, spread(b) ** 2
    if std_dev == "baseline":
        df, s2 = na - 1, va
        sv1 = 1 / na + (vb / (nb * va) if va > 0 else np.nan)
    else:
        df = na + nb - 2
        s2 = (np.nansum([(na - 1) * va, (nb - 1) * vb]) / df) if df > 0 else np.nan
        sv1 = 1 / na + 1 / nb
    j = 1 - 3 / (4 * df - 1) if bias_correct and df > 0 else 1.0
    method = (f"within-case SMD (mean_B - mean_A) / {std_dev} SD"
              + (", Hedges' J" if bias_correct else "") + f", df {df}; SE as SingleCaseES SMD; "
              f"Wald {confidence:.0%} CI")
    note = ""
    if not np.isfinite(s2) or s2 == 0:
        est = se = np.nan
        note = ("the standardiser is 0 (constant values up to rounding) or needs 2 points: "
                "SMD = difference / 0 is undefined")
    else:
        est = j * (b.mean() - a.mean()) / np.sqrt(s2)
        se = j * np.sqrt(sv1 + est**2 / (2 * df)) if np.isfinite(sv1) else np.nan
    lo, hi = _wald(est, se, confidence)
    return _frame([dict(analysis="smd", term=term, estimate=est, se=se, df=df,
                        df_method="n-1" if std_dev == "baseline" else "residual", ci_low=lo,
                        ci_high=hi, n_obs=na + nb, method=method,
                        note=join_notes(note, f"better = {better}: positive = improvement"))],
                  **_ids(measure, patient_id, side))


def _trunc_constant(scale: str, observation_length: float | None,
                    intervals: float | None) -> float:
    if scale not in SCALES:
        raise InvalidInputError(f"scale={scale!r}; use one of {list(SCALES)}.")
    if scale == "count":
        return 1.0
    if scale == "rate":
        return float(observation_length) if observation_length else np.inf
    if scale == "proportion":
        return float(intervals) if intervals else np.inf
    if scale == "percentage":
        return float(intervals) / 100 if intervals else np.inf
    return np.inf


def lrr(a, b, *, better: Better = "higher", scale: str = "other",
        observation_length: float | None = None, intervals: float | None = None,
        d_const: float | None = None, bias_correct: bool = True, confidence: float = 0.95,
        term: str = "B vs A", measure: str = "", patient_id: str = "",
        side: str = "") -> pd.DataFrame:
    """Log response ratios LRRi (positive = improvement) and LRRd (negative = improvement).

    For percentages and proportions with ``better`` opposite to the ratio's sense, the means
    are complemented (100 - M, 1 - M) as in SingleCaseES; otherwise LRRd = -LRRi.

    Examples
    --------
    >>> t = lrr([5, 6, 7], [2, 3, 4], better="lower", scale="count")
    >>> t["term"].tolist()
    ['LRRi: B vs A', 'LRRd: B vs A']
    >>> round(float(t.estimate[1]), 4)   # log(3/6) + bias correction
    -0.6793
    """
    a, b = raw_phases(a, b)
    rows = []
    for which in ("i", "d"):
        increase_is_good = better == "higher"
        # LRRi: improvement = increase in the (possibly complemented) mean, sign + for better
        improvement = "increase" if increase_is_good else "decrease"
        rows.append(_lrr_one(a, b, which, improvement, scale, observation_length, intervals,
                             d_const, bias_correct, confidence, term))
    return _frame(rows, **_ids(measure, patient_id, side))


def _lrr_one(a, b, which, improvement, scale, observation_length, intervals, d_const,
             bias_correct, confidence, term) -> dict:
    na, nb = a.size, b.size
    method = (f"LRR{which} (Pustejovsky 2018): log(mean_B / mean_A)"
              + (" with bias correction V/(2 n M^2)" if bias_correct else "")
              + f"; scale {scale}; SE sqrt(sum V/(n M^2)); Wald {confidence:.0%} CI; "
              "as SingleCaseES LRR" + which)
    base = dict(analysis="lrr", term=f"LRR{which}: {term}", n_obs=na + nb, method=method)
    if na < 1 or nb < 1:
        return {**base, "note": "not estimable: a phase has no values"}
    m = np.array([a.mean(), b.mean()])
    v = np.array([spread(a) if na > 1 else np.nan, spread(b) if nb > 1 else np.nan]) ** 2
    n = np.array([na, nb], dtype=float)
    if scale in ("percentage", "proportion"):
        top = 100.0 if scale == "percentage" else 1.0
        if (which == "i") == (improvement == "decrease"):
            m = top - m
    dc = float(d_const) if d_const is not None else _trunc_constant(scale, observation_length,
                                                                     intervals)
    if dc > 0 and np.isfinite(dc):
        m = np.maximum(1 / (2 * dc * n), m)
        v = np.maximum(1 / (dc**2 * n**3), v)
    notes = []
    if np.any(m <= 0):
        return {**base, "note": "not estimable: a phase mean is 0 or negative, so the log "
                "ratio is undefined (give the measurement scale so the mean is truncated at "
                "1/(2 D n), or use the SMD)"}
    if np.any(~np.isfinite(v)):
        notes.append("a phase has one point: its variance and the SE are undefined")
    val = np.log(m) + (v / (2 * n * m**2) if bias_correct else 0.0)
    est = float(val[1] - val[0]) if np.all(np.isfinite(val)) or not bias_correct else np.nan
    if not np.isfinite(est):
        est = float(np.log(m[1]) - np.log(m[0]))
        notes.append("bias correction not applied (needs a variance in both phases)")
    flip = (which == "i" and improvement == "decrease") or (which == "d" and improvement == "increase")
    if flip and scale not in ("percentage", "proportion"):
        est = -est
    se = float(np.sqrt(np.sum(v / (n * m**2))))
    lo, hi = _wald(est, se, confidence)
    notes.append("positive = improvement" if which == "i" else "negative = improvement")
    return {**base, "estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
            "note": join_notes(*notes)}


def lor(a, b, *, better: Better = "higher", scale: str = "percentage",
        intervals: float | None = None, d_const: float | None = None, bias_correct: bool = True,
        confidence: float = 0.95, term: str = "B vs A", measure: str = "",
        patient_id: str = "", side: str = "") -> pd.DataFrame:
    """Log odds ratio of a percentage or proportion outcome (SingleCaseES ``LOR``).

    Examples
    --------
    >>> r = lor([20, 30, 25], [60, 70, 65], bias_correct=False).iloc[0]
    >>> round(float(r.estimate), 4)       # logit(0.65) - logit(0.25)
    1.7177
    """
    a, b = raw_phases(a, b)
    ids = _ids(measure, patient_id, side)
    method = ("LOR: logit(mean_B) - logit(mean_A)" + (" bias-corrected" if bias_correct else "")
              + f"; SE sqrt(sum V/(n M^2 (1-M)^2)); Wald {confidence:.0%} CI; as SingleCaseES LOR")
    base = dict(analysis="lor", term=term, n_obs=a.size + b.size, method=method)
    if scale not in ("percentage", "proportion"):
        return _frame([{**base, "note": f"not estimable: LOR needs a percentage or proportion "
                        f"outcome (scale = {scale!r})"}], **ids)
    if a.size < 1 or b.size < 1:
        return _frame([{**base, "note": "not estimable: a phase has no values"}], **ids)
    top = 100.0 if scale == "percentage" else 1.0
    allv = np.r_[a, b]
    if np.any((allv < 0) | (allv > top)):
        raise InvalidInputError(f"{scale} values must lie in [0, {top:g}].")
    a, b = a / top, b / top
    dc = float(d_const) if d_const is not None else _trunc_constant(scale, None, intervals)
    if scale == "percentage":
        dc = dc * 100
    n = np.array([a.size, b.size], dtype=float)
    m = np.array([a.mean(), b.mean()])
    v = np.array([spread(a) if a.size > 1 else np.nan, spread(b) if b.size > 1 else np.nan]) ** 2
    if dc > 0 and np.isfinite(dc):
        lower = 1 / (2 * dc * n)
        m = np.minimum(1 - lower, np.maximum(lower, m))
        v = np.maximum(1 / (dc**2 * n**3), v)
    if np.any((m <= 0) | (m >= 1)):
        return _frame([{**base, "note": "not estimable: a phase mean is 0% or 100%, so its log "
                        "odds are infinite (give `intervals` so the mean is truncated)"}], **ids)
    logit = np.log(m) - np.log1p(-m)
    if bias_correct:
        logit = logit - (2 * m - 1) * v / (2 * n * m**2 * (1 - m) ** 2)
    est = float(logit[1] - logit[0])
    if better == "lower":
        est = -est
    se = float(np.sqrt(np.sum(v / (n * m**2 * (1 - m) ** 2))))
    lo, hi = _wald(est, se, confidence)
    note = "" if np.isfinite(est) else "a phase has one point: variance undefined"
    return _frame([{**base, "estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
                    "note": join_notes(note, "positive = improvement")}], **ids)


def _log_median_stats(x: np.ndarray) -> tuple[float, float]:
    n = x.size
    med = float(np.median(x))
    o1 = max(int(np.round(n / 2 - np.sqrt(n))), 1)  # half to even, as R's round()
    o2 = n - o1 + 1
    y = np.sort(x)
    lo, hi = y[o1 - 1], y[o2 - 1]
    if med <= 0 or lo <= 0:
        return np.nan, np.nan
    if n < 2:
        return float(np.log(med)), np.nan
    z0 = stats.norm.ppf(1 - stats.binom.cdf(o1 - 1, n, 0.5))
    return float(np.log(med)), float(((np.log(hi) - np.log(lo)) / (2 * z0)) ** 2)


def lrm(a, b, *, better: Better = "higher", confidence: float = 0.95, term: str = "B vs A",
        measure: str = "", patient_id: str = "", side: str = "") -> pd.DataFrame:
    """Log ratio of medians with the Bonett & Price (2020) SE (SingleCaseES ``LRM``).

    Examples
    --------
    Bonett & Price (2020), example 1 (A and B samples of 12):

    >>> a = [21, 14, 11, 27, 19, 32, 21, 23, 18, 26, 24, 23]
    >>> b = [34, 19, 26, 31, 39, 42, 27, 14, 25, 29, 33, 36]
    >>> r = lrm(a, b).iloc[0]
    >>> round(float(np.exp(r.estimate)), 4)    # median 30 / median 22
    1.3636
    """
    a, b = raw_phases(a, b)
    ids = _ids(measure, patient_id, side)
    method = ("LRM = log(median_B / median_A) (Bonett & Price 2020); SE from the order-statistic "
              f"interval of each log median; Wald {confidence:.0%} CI; as SingleCaseES LRM")
    base = dict(analysis="lrm", term=term, n_obs=a.size + b.size, method=method)
    if a.size < 1 or b.size < 1:
        return _frame([{**base, "note": "not estimable: a phase has no values"}], **ids)
    la, va = _log_median_stats(a)
    lb, vb = _log_median_stats(b)
    if not (np.isfinite(la) and np.isfinite(lb)):
        return _frame([{**base, "note": "not estimable: a median (or the order statistic of "
                        "its interval) is 0 or negative, so its log is undefined"}], **ids)
    est = lb - la
    if better == "lower":
        est = -est
    se = float(np.sqrt(va + vb))
    lo, hi = _wald(est, se, confidence)
    note = "" if np.isfinite(se) else "a phase has one point: SE undefined"
    return _frame([{**base, "estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
                    "note": join_notes(note, "positive = improvement")}], **ids)


def pogo(a, b, *, goal: float, better: Better = "higher", confidence: float = 0.95,
         term: str = "B vs A", measure: str = "", patient_id: str = "",
         side: str = "") -> pd.DataFrame:
    """Percent of goal obtained (Ferron et al. 2020) with its SE (SingleCaseES ``PoGO``).

    The direction of improvement is implicit in ``goal`` (a goal below the baseline mean means
    lower is better); ``better`` is checked against it and reported.

    Examples
    --------
    >>> r = pogo([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29], goal=25).iloc[0]
    >>> round(float(r.estimate), 2)     # 100 (27.571 - 22.667) / (25 - 22.667)
    210.2
    """
    a, b = raw_phases(a, b)
    ids = _ids(measure, patient_id, side)
    method = ("PoGO = 100 (mean_B - mean_A) / (goal - mean_A) (Ferron, Goldstein, Olszewski & "
              "Rohrer 2020); SE as SingleCaseES / Patrona et al. 2022; Wald "
              f"{confidence:.0%} CI; goal {goal:g}")
    base = dict(analysis="pogo", term=term, n_obs=a.size + b.size, method=method)
    if a.size < 1 or b.size < 1:
        return _frame([{**base, "note": "not estimable: a phase has no values"}], **ids)
    ma, mb = a.mean(), b.mean()
    gap = goal - ma
    if abs(gap) <= 1e-12 * max(abs(goal), abs(ma), np.finfo(float).tiny):
        return _frame([{**base, "note": "not estimable: the baseline mean already equals the "
                        "goal (0/0)"}], **ids)
    est = 100 * (mb - ma) / gap
    va = spread(a) ** 2 if a.size > 1 else np.nan
    vb = spread(b) ** 2 if b.size > 1 else np.nan
    var = (va / a.size + vb / b.size + (est / 100) ** 2 * va / a.size) / gap**2
    se = float(100 * np.sqrt(var))
    lo, hi = _wald(est, se, confidence)
    notes = [] if np.isfinite(se) else ["a phase has one point: SE undefined"]
    if (gap > 0) != (better == "higher"):
        notes.append(f"the goal lies on the {'lower' if gap < 0 else 'higher'} side of the "
                     f"baseline mean although better = {better}")
    return _frame([{**base, "estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
                    "note": join_notes(*notes)}], **ids)
