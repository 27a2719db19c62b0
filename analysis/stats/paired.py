"""Baseline against each follow-up visit: paired tests and paired effect sizes.

:func:`paired_comparisons` takes the change table of one measure and side (CONTRACTS.md,
"Change table") and returns results rows per follow-up visit, terms written
``<visit> - <reference>`` and every estimate signed in that direction (follow-up minus
baseline). Software paths: :func:`scipy.stats.ttest_rel` (paired t and the t interval),
:func:`scipy.stats.wilcoxon` (exact p without ties or zeros), :mod:`analysis.stats.effect_sizes`
(effect sizes), :func:`statsmodels.stats.proportion.proportion_confint` (Wilson interval).

Signed-rank conventions (as R's ``wilcox.test(paired = TRUE)``): zero differences are dropped
("wilcox" zero method), tied absolute differences get mid-ranks, ``statistic`` is V, the sum of
the ranks of the positive differences. With ties or zeros the exact p is the conditional exact
p given the mid-ranks, i.e. over all 2^n sign assignments (as
``coin::wilcoxsign_test(distribution = "exact", zero.method = "Wilcoxon")``); it is computed
here by a small dynamic programme over the doubled ranks because scipy's exact distribution
assumes untied ranks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.data.derive import visit_order
from analysis.errors import InvalidInputError
from analysis.results import TEXT_COLUMNS, result_frame
from analysis.stats import bootstrap as boot
from analysis.stats import effect_sizes as effsize
from analysis.stats.numerics import is_constant, snap, spread, wilson_interval
from analysis.vocabulary import Kind

_REQUIRED = ("patient_id", "visit", "measure", "value", "baseline")


def exact_signed_rank_p(d) -> tuple[float, float]:
    """V and the exact two-sided signed-rank p, conditional on the (mid-)ranks, zeros dropped.

    The null distribution of V puts probability 2^-n on each of the 2^n sign assignments of
    the n non-zero ranks; mid-ranks are multiples of 1/2, so the distribution of 2V is built on
    an integer grid. p = min(1, 2 * min(P(V <= v), P(V >= v))) (R's rule; the distribution is
    symmetric).

    Examples
    --------
    >>> exact_signed_rank_p([1.0, 2.0, 3.0, 4.0, 5.0])   # smallest p for n = 5: 2^(1-5)
    (15.0, 0.0625)
    """
    r = effsize.signed_ranks(d)
    n = len(r)
    v = float(r[r > 0].sum())
    if n == 0:
        return v, 1.0
    twice = np.rint(2 * np.abs(r)).astype(int)
    dist = np.zeros(twice.sum() + 1)
    dist[0] = 1.0
    for k in twice:  # convolve with the two-point distribution {0, k} (weights 1/2)
        shifted = dist[:-k].copy()
        dist[k:] += shifted
        dist *= 0.5
    grid = np.arange(len(dist))
    k = int(round(2 * v))
    p_low, p_high = dist[grid <= k].sum(), dist[grid >= k].sum()
    return v, float(min(1.0, 2 * min(p_low, p_high)))


def _signed_rank_normal(d) -> tuple[float, float, float]:
    """(V, z, p) of the normal approximation without continuity correction, tie-corrected."""
    r = effsize.signed_ranks(d)
    n = len(r)
    v = float(r[r > 0].sum())
    _, counts = np.unique(np.abs(r), return_counts=True)
    var = n * (n + 1) * (2 * n + 1) / 24 - np.sum(counts**3 - counts) / 48
    if n == 0 or var <= 0:
        return v, np.nan, np.nan
    z = (v - n * (n + 1) / 4) / np.sqrt(var)
    return v, float(z), float(2 * stats.norm.sf(abs(z)))


def _small_n_note(n_nonzero: int) -> str:
    if n_nonzero >= 6:
        return ""
    floor = 2.0 ** (1 - n_nonzero) if n_nonzero else 1.0
    return (f"only {n_nonzero} non-zero difference(s): the exact two-sided p cannot be below "
            f"2^(1-n) = {floor:.4g} (0.0625 for 5, 0.03125 for 6)")


def _check(changes: pd.DataFrame, kind: str, reference: str) -> pd.DataFrame:
    if kind not in ("continuous", "ordinal"):
        raise InvalidInputError(f"kind={kind!r} is not known; use 'continuous' or 'ordinal'.")
    missing = [c for c in _REQUIRED if c not in changes.columns]
    if missing:
        raise InvalidInputError(
            f"the change table lacks column(s) {missing}; build it with "
            "analysis.data.derive.change_table.")
    # the columns read by the comparisons (copying and filtering every column of the change
    # table per visit cost more than the tests at registry scale)
    used = (*_REQUIRED, "side", "day", "better", "improvement")
    work = changes[[c for c in changes.columns if c in used]]
    work["side"] = work["side"].fillna("").astype(str) if "side" in work else ""
    groups = work[["measure", "side"]].drop_duplicates()
    if len(groups) > 1:
        raise InvalidInputError(
            f"paired_comparisons takes one measure and side; got {len(groups)}: "
            f"{groups.to_dict('records')}. Call it once per measure and side (groupby).")
    work = work[work["visit"] != reference]
    work = work[np.isfinite(work["value"].astype(float)) & np.isfinite(work["baseline"].astype(float))]
    dup = work.duplicated(["patient_id", "visit"], keep=False)
    if dup.any():
        first = work.loc[dup, ["patient_id", "visit"]].iloc[0].to_dict()
        raise InvalidInputError(
            f"{int(dup.sum())} rows share a patient and visit (first: {first}); keep one "
            "observation per patient and visit (e.g. average repeated trials) before pairing.")
    return work


def _continuous_rows(x, y, base: dict, confidence: float) -> list[dict]:
    n = len(x)
    d = snap(x - y)  # equal up to rounding -> equal (R: "data are essentially constant")
    rows = []
    if n >= 2 and not is_constant(d):
        res = stats.ttest_1samp(d, 0.0)
        ci = res.confidence_interval(confidence)
        se = float(spread(d) / np.sqrt(n))
        rows.append(base | dict(analysis="mean_difference", estimate=d.mean(), se=se,
                                df=n - 1, df_method="n-1", ci_low=ci.low, ci_high=ci.high,
                                method="mean of paired differences, t interval "
                                "(scipy.stats.ttest_1samp on the differences)"))
        rows.append(base | dict(analysis="paired_t", estimate=d.mean(), se=se, df=n - 1,
                                df_method="n-1", statistic=res.statistic, p_value=res.pvalue,
                                ci_low=ci.low, ci_high=ci.high,
                                method="paired t-test, two-sided, statistic t "
                                "(scipy.stats.ttest_1samp on the differences)"))
    else:
        why = (f"{n} pair(s): the SD of the differences needs at least 2" if n < 2 else
               "all differences are equal (SD 0 up to rounding, relative tolerance 1e-12; R: "
               "'data are essentially constant'): the t interval has zero width and t is "
               "undefined")
        se = 0.0 if n >= 2 else np.nan
        lo = hi = d.mean() if n >= 2 else np.nan
        rows.append(base | dict(analysis="mean_difference", estimate=d.mean() if n else np.nan,
                                se=se, df=n - 1 if n >= 2 else np.nan,
                                df_method="n-1" if n >= 2 else "", ci_low=lo, ci_high=hi,
                                method="mean of paired differences, t interval", note=why))
        rows.append(base | dict(analysis="paired_t", estimate=d.mean() if n else np.nan,
                                method="paired t-test, two-sided", note=why + "; no test"))
    return rows


def _wilcoxon_rows(x, y, base: dict) -> list[dict]:
    d = snap(x - y)  # zero and tied differences up to rounding are zeros and ties
    nz = d[d != 0]
    m = len(nz)
    zeros = int((d == 0).sum())
    ties = len(np.unique(np.abs(nz))) < m
    small = _small_n_note(m)
    if m == 0:
        exact_p, v = 1.0, 0.0
        method = "Wilcoxon signed-rank test, two-sided, statistic V"
        note = "all differences are zero: nothing to rank, p = 1"
    elif m <= 50 and not ties and zeros == 0:
        v = float(effsize.signed_ranks(d)[effsize.signed_ranks(d) > 0].sum())
        exact_p = float(stats.wilcoxon(d, method="exact").pvalue)
        method = ("Wilcoxon signed-rank test, exact p (no ties, no zeros; "
                  "scipy.stats.wilcoxon(method='exact')), two-sided, statistic V")
        note = ""
    elif m > 400:  # the exact distribution's grid grows as m^2; case series never get here
        v, _, exact_p = _signed_rank_normal(d)
        method = ("Wilcoxon signed-rank test, normal approximation (more than 400 non-zero "
                  "differences with ties or zeros), two-sided, statistic V")
        note = ""
    else:
        v, exact_p = exact_signed_rank_p(d)
        method = ("Wilcoxon signed-rank test, conditional exact p given the mid-ranks "
                  "(all 2^n sign assignments; as coin::wilcoxsign_test(distribution='exact', "
                  "zero.method='Wilcoxon')), two-sided, statistic V")
        note = ""
    extra = []
    if zeros:
        extra.append(f"{zeros} zero difference(s) dropped (as R's wilcox.test)")
    if ties:
        extra.append("tied absolute differences given mid-ranks")
    if small:
        extra.append(small)
    note = "; ".join([s for s in [note] + extra if s])
    _, z, p_norm = _signed_rank_normal(d)
    norm_note = "; ".join(extra) if m else "all differences are zero: z undefined"
    if 0 < m < 10:
        norm_note = "; ".join(s for s in [norm_note, "the normal approximation is rough below "
                                          "10 non-zero differences: prefer the exact p"] if s)
    return [
        base | dict(analysis="wilcoxon", statistic=v, p_value=exact_p, n_obs=len(d),
                    method=method, note=note),
        base | dict(analysis="wilcoxon_normal", statistic=z, p_value=p_norm, n_obs=len(d),
                    method="Wilcoxon signed-rank test, normal approximation without continuity "
                    "correction, tie-corrected variance, zeros dropped (SPSS's default; as "
                    "wilcox.test(exact = FALSE, correct = FALSE)); statistic z, signed as the term",
                    note=norm_note),
    ]


def _es_row(es: effsize.EffectSize, base: dict, analysis: str) -> dict:
    return base | dict(analysis=analysis, estimate=es.estimate, ci_low=es.ci_low,
                       ci_high=es.ci_high, method=es.method, note=es.note)


def _grade_steps(values: np.ndarray, codes: Sequence[float]) -> np.ndarray:
    codes = np.asarray(codes, dtype=float)
    idx = np.searchsorted(codes, values)
    ok = (idx < len(codes)) & np.isclose(codes[np.minimum(idx, len(codes) - 1)], values)
    if not ok.all():
        bad = sorted(set(values[~ok].tolist()))
        raise InvalidInputError(
            f"value(s) {bad} are not among the codes {codes.tolist()}; pass the measure's "
            "`codes` (and `levels`) from the codebook.")
    return idx


def _ordinal_rows(sub: pd.DataFrame, x, y, base: dict, levels, codes) -> list[dict]:
    d = x - y
    n = len(d)
    rows = [base | dict(analysis="median_change", estimate=np.median(d) if n else np.nan,
                        method="median of the paired differences of the numeric codes "
                        "(MAS 1+ coded 1.5)", note="" if n else "no pairs")]
    if "better" in sub:
        better = sub["better"].astype(str).to_numpy()
    elif "improvement" in sub:  # improvement = -change exactly when lower is better
        better = np.where(sub["improvement"].to_numpy(dtype=float) * d < 0, "lower", "higher")
    else:
        raise InvalidInputError("the change table has neither `better` nor `improvement`; "
                                 "build it with analysis.data.derive.change_table.")
    sign = np.where(better == "lower", -1, 1)
    if codes is not None:
        if levels is not None and len(levels) != len(codes):
            raise InvalidInputError(
                f"levels {tuple(levels)} and codes {tuple(codes)} differ in length.")
        order = np.argsort(np.asarray(codes, dtype=float))
        steps = _grade_steps(x, np.asarray(codes, float)[order]) - _grade_steps(
            y, np.asarray(codes, float)[order])
        how = "grade steps counted through the ordered levels"
        if levels is not None:
            how += f" ({', '.join(map(str, levels))})"
    else:
        steps = d
        how = "no levels given: one grade = 1 unit of the numeric code"
    improved = int(np.sum(sign * steps >= 1))
    note = ""
    if n:
        lo, hi = wilson_interval(improved, n)
    else:
        lo = hi = np.nan
        note = "no pairs"
    if np.isin(better, ["towards_normal", "context"]).any():
        note = "; ".join(s for s in [note, "direction of improvement not defined for this "
                                     "measure: 'improved' counts increases"] if s)
    rows.append(base | dict(analysis="improved_one_grade", estimate=improved / n if n else np.nan,
                            ci_low=lo, ci_high=hi,
                            method=f"share of patients improved by >= 1 grade ({how}); "
                            "Wilson 95% CI (statsmodels proportion_confint)",
                            note="; ".join(s for s in [note, f"{improved} of {n} improved"] if s)))
    return rows


def _bootstrap_rows(x, y, base: dict, seed: int, n_boot: int,
                    confidence: float) -> list[dict]:
    rows = []
    for name, stat in (("mean_difference_bca", boot.mean_difference),
                       ("cohens_dz_bca", boot.cohens_dz), ("hedges_gav_bca", boot.hedges_gav)):
        r = boot.bca_interval(x, y, stat, n_boot=n_boot, seed=seed, confidence=confidence)
        rows.append(base | dict(analysis=name, estimate=r.estimate, ci_low=r.ci_low,
                                ci_high=r.ci_high, method=r.method + f"; seed {seed}",
                                note=r.note))
    return rows


def paired_comparisons(
    changes: pd.DataFrame,
    *,
    kind: Kind = "continuous",
    reference: str = "baseline",
    levels: Sequence[str] | None = None,
    codes: Sequence[float] | None = None,
    bootstrap: bool = False,
    seed: int | None = None,
    n_boot: int = 2000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Paired comparisons of each follow-up visit against baseline for one measure and side.

    Parameters
    ----------
    changes : pandas.DataFrame
        Change table of one measure and side (``analysis.data.derive.change_table``): columns
        patient_id, visit, measure, value, baseline (and side, day, better, improvement).
        The pairs are (baseline, value) per patient and visit.
    kind : {"continuous", "ordinal"}
        Continuous: mean_difference, paired_t, wilcoxon, wilcoxon_normal, cohens_dz,
        cohens_dav, hedges_gav, rank_biserial. Ordinal (MAS, MRC): wilcoxon, wilcoxon_normal,
        rank_biserial, median_change, improved_one_grade.
    reference : str
        Label of the baseline in the terms (``post_m6 - baseline``); rows of this visit are
        ignored.
    levels, codes : sequence, optional
        Ordered levels of an ordinal measure and their numeric codes (codebook
        ``Measure.levels`` / ``Measure.codes``): one grade is one step through the levels
        (MAS 1 -> 1+ is one grade although the codes differ by 0.5).
    bootstrap : bool
        Add BCa bootstrap intervals (continuous only): analyses ``mean_difference_bca``,
        ``cohens_dz_bca``, ``hedges_gav_bca``.
    seed : int, optional
        Seed of the bootstrap (required when ``bootstrap=True``).
    n_boot : int
        Bootstrap resamples.
    confidence : float
        Level of the t, noncentral-t, Fisher-z and BCa intervals (the Wilson interval is 95%).

    Returns
    -------
    pandas.DataFrame
        Results rows (:func:`analysis.results.result_frame`), visits ordered by day
        (:func:`analysis.data.derive.visit_order`); ``n_patients`` = ``n_obs`` = pairs.

    Notes
    -----
    For ordinal measures the signed-rank test and the rank-biserial correlation rank the
    differences of the numeric codes (MAS 1+ = 1.5), as R does on the coded data; the
    one-grade share counts steps through the ordered levels. A note warns when fewer than 6
    differences are non-zero (the exact two-sided p cannot be below 2^(1-n)).

    Examples
    --------
    >>> ch = pd.DataFrame({"patient_id": [f"P{i}" for i in range(1, 11)], "visit": "post_m6",
    ...     "measure": "movie", "side": "", "day": 180.0,
    ...     "value": [9, 7, 8, 9, 8, 9, 9, 10, 9, 9], "baseline": [9, 6, 7, 8, 7, 9, 8, 8, 8, 7]})
    >>> r = paired_comparisons(ch).set_index("analysis")
    >>> round(float(r.loc["paired_t", "statistic"]), 4), r.loc["cohens_dz", "term"]
    (4.7434, 'post_m6 - baseline')
    """
    work = _check(changes, kind, reference)
    if bootstrap and seed is None:
        raise InvalidInputError("bootstrap=True needs seed=<int> (the study's seed) so the "
                                 "intervals are reproducible.")
    if work.empty:
        return result_frame([])
    measure = str(work["measure"].iloc[0])
    side = str(work["side"].iloc[0])
    rows: list[dict] = []
    for visit in visit_order(work):
        sub = work[work["visit"] == visit].sort_values("patient_id", kind="mergesort")
        x = sub["value"].to_numpy(dtype=float)
        y = sub["baseline"].to_numpy(dtype=float)
        n = len(x)
        base = {c: "" for c in TEXT_COLUMNS} | dict(measure=measure, side=side, term=f"{visit} - {reference}",
                    n_patients=n, n_obs=n)
        if kind == "continuous":
            rows += _continuous_rows(x, y, base, confidence)
        rows += _wilcoxon_rows(x, y, base)
        if kind == "continuous":
            rows.append(_es_row(effsize.cohens_dz(x, y, confidence=confidence), base,
                                "cohens_dz"))
            rows.append(_es_row(effsize.cohens_dav(x, y, confidence=confidence), base,
                                "cohens_dav"))
            rows.append(_es_row(effsize.hedges_gav(x, y, confidence=confidence), base,
                                "hedges_gav"))
        rb = effsize.rank_biserial(x, y, confidence=confidence)
        row = _es_row(rb, base, "rank_biserial")
        row["note"] = "; ".join(s for s in [row["note"], f"{rb.n} non-zero difference(s) "
                                            "ranked"] if s)
        rows.append(row)
        if kind == "ordinal":
            rows += _ordinal_rows(sub, x, y, base, levels, codes)
        if bootstrap and kind == "continuous":
            rows += _bootstrap_rows(x, y, base, seed, n_boot, confidence)
    return result_frame(rows)
