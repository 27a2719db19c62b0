"""Non-overlap indices, the conservative dual criterion and a randomisation test of one AB series.

Every index counts improvement as positive after the direction of improvement is applied
(``better="lower"`` multiplies the values by -1), as SingleCaseES and scan do.

- :func:`tau_bc`: baseline-corrected Tau (Tarlow 2017): the baseline trend estimated by the
  Theil-Sen slope over session numbers (median of the pairwise slopes; intercept = median of
  A - slope x session) is removed from both phases, then Tau (= 2 NAP - 1) with NAP's unbiased
  SE and Newcombe interval, as SingleCaseES ``Tau_BC`` (defaults ``Kendall = FALSE``,
  ``pretest_trend = FALSE``); optionally the correction only when Kendall's test of the
  baseline trend has p <= ``pretest_trend``, and Kendall's tau-b with SE
  sqrt(2 (1 - tau^2) / (nA + nB)) (``kendall=True``).
- :func:`pem`: share of B points exceeding the baseline median, ties 0.5 (Ma 2006).
- :func:`pand`: percentage of all non-overlapping data (Parker, Hagan-Burke & Vannest 2007):
  1 - fewest points to remove so the phases do not overlap / N.

PEM and PAND are proportions (0-1) unless ``share="percent"`` (:mod:`.shares`).
- :func:`ird`: robust improvement rate difference (Parker, Vannest & Brown 2009) from PAND,
  ((N^2 PAND - nA^2 - nB^2) / (2 nA nB)), as SingleCaseES ``IRD``.
- :func:`cdc`: conservative dual criterion (Fisher, Kelley & Lomas 2003; as scan ``cdc``):
  B points beyond both the baseline mean line and the baseline OLS trend line, each shifted
  0.25 baseline SD in the direction of improvement; one-sided binomial test against 1/2.
- :func:`rand_test`: randomisation test for a randomly chosen phase start (Edgington 1975;
  as scan ``rand_test``, statistics "Mean B-A", "Median B-A", "NAP", "Slope B-A", "SMD glass",
  "SMD hedges", "T-test"): every admissible start with at least
  ``min_points`` points per phase, exact enumeration, p = share of starts whose statistic is at
  least the observed one.

These are exact counts or exact enumerations: no Monte Carlo error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InvalidInputError
from analysis.results import result_frame
from analysis.stats.numerics import join_notes, snap, spread
from analysis.stats.single_case.phase import nap
from analysis.stats.single_case.phase_effects import oriented
from analysis.stats.single_case.shares import Share, check_share
from analysis.vocabulary import Better


def _frame(rows: list[dict], measure: str, patient_id: str, side: str) -> pd.DataFrame:
    return result_frame([{"measure": measure, "patient_id": patient_id, "side": side,
                          "n_patients": 1, **r} for r in rows])


def _dir(better: str) -> str:
    return f"better = {better}: " + ("values as is" if better == "higher" else
                                     "values multiplied by -1") + ", positive = improvement"


def tau_bc(a, b, *, better: Better = "higher", pretest_trend: float | None = None,
           kendall: bool = False, confidence: float = 0.95, term: str = "B vs A",
           measure: str = "", patient_id: str = "", side: str = "") -> pd.DataFrame:
    """Baseline-corrected Tau (Tarlow 2017), as SingleCaseES ``Tau_BC``.

    Parameters
    ----------
    a, b : array-like
        Baseline and treatment values in time order (sessions 1..nA, nA+1..nA+nB).
    pretest_trend : float, optional
        Correct only when Kendall's test of the baseline trend has p <= this level.
    kendall : bool
        Kendall's tau-b of the corrected values against the phase (with SE sqrt(2 (1 - tau^2)
        / N)) instead of the NAP-based Tau.

    Examples
    --------
    Tarlow (2017): a perfectly linear series has no effect beyond the baseline trend.

    >>> t = tau_bc([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    >>> t["estimate"].tolist()
    [0.0, 1.0, 0.0]
    """
    a, b = oriented(a, b, better, min_a=2)
    m, n = a.size, b.size
    sa, sb = np.arange(1, m + 1, dtype=float), np.arange(m + 1, m + n + 1, dtype=float)
    i, j = np.triu_indices(m, k=1)
    slope = float(np.median((a[j] - a[i]) / (sa[j] - sa[i])))
    intercept = float(np.median(a - slope * sa))
    notes = [_dir(better)]
    adjust = True
    if pretest_trend is not None:
        if not 0 < pretest_trend < 1:
            raise InvalidInputError(f"pretest_trend must be in (0, 1), got {pretest_trend!r}.")
        p_trend = float(stats.kendalltau(a, sa).pvalue) if spread(a) > 0 else 1.0
        adjust = p_trend <= pretest_trend
        notes.append(f"baseline trend test (Kendall, scipy.stats.kendalltau) p = {p_trend:.4g}"
                     + ("" if adjust else ": not significant, no correction"))
    if adjust:
        a = snap(np.r_[a - intercept - slope * sa, b - intercept - slope * sb])
        a, b = a[:m], a[m:]
        notes.append(f"Theil-Sen baseline trend removed: slope {slope:.6g} per session, "
                     f"intercept {intercept:.6g} (session 1 = first baseline point)")
    method = "Tau-BC (Tarlow 2017), Theil-Sen baseline correction, "
    if kendall:
        y = np.r_[a, b]
        x = np.r_[np.zeros(m), np.ones(n)]
        if spread(y) == 0:
            tau, note = 0.0, "corrected values all equal: Tau-BC = 0 (as SingleCaseES)"
            notes.append(note)
        else:
            tau = float(stats.kendalltau(y, x).statistic)
        se = float(np.sqrt(2 / (m + n) * (1 - tau**2)))
        z = stats.norm.ppf(1 - (1 - confidence) / 2)
        lo, hi, p = tau - z * se, tau + z * se, np.nan
        method += f"Kendall's tau-b with SE sqrt(2(1 - tau^2)/N), Wald {confidence:.0%} CI"
    else:
        r = nap(a, b, better="higher", confidence=confidence)
        tau, se, lo, hi, p = 2 * r.estimate - 1, 2 * r.se, 2 * r.ci_low - 1, 2 * r.ci_high - 1, \
            r.p_value
        method += ("Tau = 2 NAP - 1 with NAP's unbiased SE and Newcombe CI (as SingleCaseES "
                   "Tau_BC, Kendall = FALSE); p Mann-Whitney on the corrected values")
        if "tied" in r.note or "one point" in r.note:
            notes.append(r.note.split("; better")[0])
    rows = [dict(analysis="tau_bc", term=term, estimate=tau, se=se, p_value=p, ci_low=lo,
                 ci_high=hi, n_obs=m + n, method=method, note=join_notes(*notes))]
    how = ("Theil-Sen baseline trend of Tau-BC (Tarlow 2017): median of the pairwise slopes "
           "of A over session numbers; intercept = median of A - slope x session")
    used = "removed from both phases" if adjust else "not removed (pretest_trend)"
    rows += [dict(analysis="baseline_trend", term=f"{what}: {term}", estimate=value, n_obs=m,
                  method=how, note=join_notes(f"{used}; session 1 = first baseline point",
                                              _dir(better)))
             for what, value in (("Theil-Sen slope per session", slope),
                                 ("Theil-Sen intercept", intercept))]
    return _frame(rows, measure, patient_id, side)


def pem(a, b, *, better: Better = "higher", term: str = "B vs A", measure: str = "",
        patient_id: str = "", side: str = "", share: Share = "proportion") -> pd.DataFrame:
    """Share of B points exceeding the median of A (ties count 0.5): a proportion (0-1, as
    SingleCaseES ``PEM``), or 0-100 with ``share="percent"``.

    Examples
    --------
    >>> float(pem([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29]).estimate.iloc[0])
    1.0
    """
    scale = check_share(share)
    a, b = oriented(a, b, better)
    med = np.median(a)
    est = scale * float(np.mean((b > med) + 0.5 * (b == med)))
    how = ("percent of B points beyond the baseline median, ties 0.5; as SingleCaseES PEM (x 100)"
           if scale == 100 else "proportion (0-1) of B points beyond the baseline median, ties "
           "0.5; as SingleCaseES PEM")
    return _frame([dict(analysis="pem", term=term, estimate=est, n_obs=a.size + b.size,
                        statistic=float(np.sum((b > med) + 0.5 * (b == med))),
                        method=f"PEM (Ma 2006): {how}",
                        note=join_notes("no SE or CI: no known sampling distribution",
                                        _dir(better)))], measure, patient_id, side)


def _pand_kept(a: np.ndarray, b: np.ndarray) -> int:
    """Most points kept when removing A points from the top and B points from the bottom
    until every kept A point is below every kept B point."""
    m, n = a.size, b.size
    x = np.r_[-np.inf, np.sort(a)]        # x[i]: highest A point kept when i are kept
    y = np.r_[np.sort(b), np.inf]         # y[j]: lowest B point kept when n - j are kept
    best = 0
    for i in range(m + 1):
        for j in range(n + 1):
            if x[i] < y[j]:
                best = max(best, i + n - j)
    return best


def pand(a, b, *, better: Better = "higher", term: str = "B vs A", measure: str = "",
         patient_id: str = "", side: str = "", share: Share = "proportion") -> pd.DataFrame:
    """Percentage of all non-overlapping data: a proportion (0-1, as SingleCaseES ``PAND``),
    or 0-100 with ``share="percent"``.

    Examples
    --------
    Parker, Vannest & Davis (2011): 2 of 13 points must go, PAND = 1 - 2/13.

    >>> round(float(pand([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29]).estimate.iloc[0]), 4)
    0.8462
    """
    scale = check_share(share)
    a, b = oriented(a, b, better)
    kept = _pand_kept(a, b)
    total = a.size + b.size
    return _frame([dict(analysis="pand", term=term, estimate=scale * kept / total,
                        statistic=float(total - kept), n_obs=total,
                        method="PAND (Parker, Hagan-Burke & Vannest 2007): "
                        + ("100 x points kept / " if scale == 100 else
                           "proportion (0-1) of points kept: kept / ") + "N after removing the fewest points that end the overlap; statistic = "
                        "points removed; as SingleCaseES PAND",
                        note=join_notes("no SE or CI", _dir(better)))], measure, patient_id, side)


def ird(a, b, *, better: Better = "higher", term: str = "B vs A", measure: str = "",
        patient_id: str = "", side: str = "") -> pd.DataFrame:
    """Robust improvement rate difference (Parker, Vannest & Brown 2009), from PAND.

    Examples
    --------
    Parker, Vannest & Davis (2011): IRD = 6/7 - 1/6.

    >>> round(float(ird([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29]).estimate.iloc[0]), 6)
    0.690476
    """
    a, b = oriented(a, b, better)
    m, n = a.size, b.size
    share = _pand_kept(a, b) / (m + n)
    est = ((m + n) ** 2 * share - m**2 - n**2) / (2 * m * n)
    return _frame([dict(analysis="ird", term=term, estimate=est, n_obs=m + n,
                        method="robust IRD (Parker, Vannest & Brown 2009) = ((N^2 PAND - nA^2 - "
                        "nB^2) / (2 nA nB)), on the -1..1 scale; as SingleCaseES IRD",
                        note=join_notes("no SE or CI", _dir(better)))], measure, patient_id, side)


def cdc(a, b, *, better: Better = "higher", times_a=None, times_b=None,
        conservative: float = 0.25, alpha: float = 0.05, term: str = "B vs A",
        measure: str = "", patient_id: str = "", side: str = "") -> pd.DataFrame:
    """Conservative dual criterion (Fisher, Kelley & Lomas 2003), as scan ``cdc`` (OLS trend).

    Parameters
    ----------
    times_a, times_b : array-like, optional
        Measurement times (days) of the points; default sessions 1..nA, nA+1..nA+nB.
    conservative : float
        Shift of both lines in baseline SDs (0.25 = CDC; 0 = the dual criterion).

    Returns
    -------
    pandas.DataFrame
        One row ``cdc``: ``estimate`` = B points beyond both lines, ``statistic`` the same
        count, ``p_value`` the one-sided binomial p against 1/2, ``note`` the verdict.

    Examples
    --------
    >>> r = cdc([3, 4, 3, 4, 3], [6, 7, 6, 7, 7, 8, 7, 8]).iloc[0]
    >>> float(r.estimate), round(float(r.p_value), 6)
    (8.0, 0.003906)
    """
    sign = 1.0 if better == "higher" else -1.0
    a, b = oriented(a, b, better, min_a=2)
    ta = (np.arange(1, a.size + 1, dtype=float) if times_a is None
          else np.asarray(times_a, dtype=float))
    tb = (np.arange(a.size + 1, a.size + b.size + 1, dtype=float) if times_b is None
          else np.asarray(times_b, dtype=float))
    if ta.size != a.size or tb.size != b.size:
        raise InvalidInputError("times_a and times_b must match the finite values of a and b.")
    base = dict(analysis="cdc", term=term, n_obs=a.size + b.size,
                method=f"conservative dual criterion (Fisher, Kelley & Lomas 2003): mean and "
                f"OLS trend lines of A shifted {conservative:g} baseline SD towards "
                f"improvement; one-sided binomial test against 1/2 (scipy); as scan cdc")
    if np.unique(ta).size < 2:
        return _frame([{**base, "note": "not estimable: the baseline needs 2 distinct times"}],
                      measure, patient_id, side)
    slope, intercept = np.polyfit(ta, a, 1)
    shift = conservative * spread(a)
    beyond = (b > intercept + slope * tb + shift) & (b > a.mean() + shift)
    k = int(beyond.sum())
    p = float(stats.binomtest(k, b.size, 0.5, alternative="greater").pvalue)
    verdict = "systematic change" if p < alpha else "no systematic change"
    return _frame([{**base, "estimate": float(k), "statistic": float(k), "p_value": p,
                    "note": join_notes(f"{verdict} ({k} of {b.size} treatment points beyond "
                                       f"both lines; alpha {alpha:g})",
                                       f"better = {better}" + (" (lines shifted down)"
                                                               if sign < 0 else ""))}],
                  measure, patient_id, side)


#: Statistics of :func:`rand_test`, each oriented so that larger = improvement (scan's name).
RAND_STATISTICS = {
    "mean": "Mean B-A", "median": "Median B-A", "nap": "NAP (0-1)", "slope": "Slope B-A",
    "smd_glass": "SMD glass", "smd_hedges": "SMD hedges", "t": "T-test",
}


def _rand_statistic(a: np.ndarray, b: np.ndarray, statistic: str) -> float:
    if statistic == "mean":
        return float(b.mean() - a.mean())
    if statistic == "median":
        return float(np.median(b) - np.median(a))
    if statistic == "nap":
        return float(np.mean((b[None, :] > a[:, None]) + 0.5 * (b[None, :] == a[:, None])))
    if statistic == "slope":
        return float(np.polyfit(np.arange(b.size), b, 1)[0] - np.polyfit(np.arange(a.size), a, 1)[0])
    if statistic == "smd_glass":
        return float((b.mean() - a.mean()) / a.std(ddof=1))
    if statistic == "smd_hedges":
        k = a.size + b.size
        pooled = np.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (k - 2))
        return float((b.mean() - a.mean()) / pooled * ((k - 3) / (k - 2.25))
                     * np.sqrt((k - 2) / k))
    return float(stats.ttest_ind(b, a, equal_var=False).statistic)  # "t"


def rand_test(values, start: int, *, better: Better = "higher", min_points: int = 3,
              statistic: str = "mean", term: str = "B vs A", measure: str = "",
              patient_id: str = "", side: str = "") -> pd.DataFrame:
    """Randomisation test of an AB design whose phase start was drawn at random.

    Parameters
    ----------
    values : array-like
        The whole series in time order (A then B).
    start : int
        Index (0-based) of the first treatment point actually used.
    better : {"higher", "lower"}
        Values are multiplied by -1 when lower is better, so every statistic counts
        improvement as positive (scan's "A-B" and "NAP decreasing" statistics).
    statistic : {"mean", "median", "nap", "slope", "smd_glass", "smd_hedges", "t"}
        mean(B) - mean(A); median(B) - median(A); NAP (0-1); OLS slope of B minus slope of A
        over sessions; Glass's delta (baseline SD); Hedges' g with scan's (Durlak) correction;
        Welch's t of B against A (scan's "Mean B-A", "Median B-A", "NAP", "Slope B-A",
        "SMD glass", "SMD hedges", "T-test").
    min_points : int
        Fewest points per phase of an admissible start (scan's ``limit``; the randomisation
        scheme of the study must have used the same set of starts).

    Examples
    --------
    >>> r = rand_test([3, 2, 3, 2, 3, 7, 8, 7, 8, 9], start=5, min_points=2).iloc[0]
    >>> float(r.p_value), float(r.n_obs)
    (0.14285714285714285, 10.0)
    """
    if statistic not in RAND_STATISTICS:
        raise InvalidInputError(f"statistic={statistic!r}; use one of {list(RAND_STATISTICS)}.")
    y, _ = oriented(values, [0.0], better)
    n = y.size
    starts = np.arange(min_points, n - min_points + 1)
    base = dict(analysis="rand_test", term=term, n_obs=n,
                method="randomisation test of a random phase start (Edgington 1975; as scan "
                f"rand_test, statistic '{RAND_STATISTICS[statistic]}'): all {starts.size} "
                f"starts with >= "
                f"{min_points} points per phase, exact enumeration, p = share of starts with a "
                "statistic >= the observed")
    if not min_points <= start <= n - min_points:
        raise InvalidInputError(
            f"start={start} is not an admissible start of a series of {n} points with "
            f">= {min_points} per phase (admissible: {min_points}..{n - min_points}).")
    dist = np.array([_rand_statistic(y[:s], y[s:], statistic) for s in starts])
    obs = _rand_statistic(y[:start], y[start:], statistic)
    p = float(np.mean(dist >= obs - 1e-12 * max(np.max(np.abs(dist)), 1e-300)))
    note = join_notes(f"{starts.size} admissible starts; the smallest possible p is "
                      f"1/{starts.size} = {1 / starts.size:.4g}",
                      f"better = {better}: statistic signed so that positive = improvement")
    return _frame([{**base, "estimate": float(obs), "statistic": float(obs), "p_value": p,
                    "note": note}], measure, patient_id, side)
