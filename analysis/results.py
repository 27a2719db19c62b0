"""The one results table every analysis returns, and its data dictionary.

Every analysis module returns rows built with :func:`result_frame`; the pipeline concatenates
them with :func:`combine`, which sorts them into a stable order. Reports take every number they
print from this table. The columns and the values of ``analysis`` are documented in
:data:`COLUMNS` and :data:`ANALYSES` (rendered by ``itb dictionary`` and in the reports).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.process import release_freed

#: Columns of the results table, in order, with their meaning.
COLUMNS: dict[str, str] = {
    "measure": "Codebook key of the measure (e.g. `gait_speed`, `mas_knee_ext`); empty for "
    "analyses that span measures.",
    "side": "`L`, `R`, or empty for a total, bilateral or side-pooled score.",
    "patient_id": "Pseudonymous patient identifier for individual and single-case analyses; "
    "empty for group analyses.",
    "analysis": "What was computed; one of the values documented in the `analysis` dictionary.",
    "term": "What the row estimates. Contrasts and changes are written `later - earlier` "
    "(e.g. `post_m6 - baseline`), in the direction of the subtraction; model coefficients use "
    "lme4's names (`(Intercept)`, `visitpost_m6`, `dose`).",
    "estimate": "Point estimate in the unit of the measure unless `method` says otherwise.",
    "se": "Standard error of the estimate.",
    "df": "Degrees of freedom of the test statistic (denominator df for mixed models).",
    "df_method": "How `df` was obtained: `satterthwaite`, `kenward-roger`, `residual`, "
    "`n-1`, or empty; every row of a mixed model carries the model's method.",
    "statistic": "Test statistic (t, V, z, Tau, ...; `method` names it).",
    "p_value": "Unadjusted p-value (two-sided unless `method` says otherwise).",
    "p_adjusted": "p-value after the adjustment named in `adjustment` (Holm within the family).",
    "adjustment": "Adjustment applied to `p_adjusted`, e.g. `holm: family=primary (3 tests)`.",
    "ci_low": "Lower limit of the 95% confidence (or credible) interval.",
    "ci_high": "Upper limit of the 95% confidence (or credible) interval.",
    "n_patients": "Number of patients contributing to the row.",
    "n_obs": "Number of observations (or pairs, or phase points) contributing to the row.",
    "method": "Name of the method, its variant, and the software path used.",
    "note": "Warnings and caveats (small n, ties, singular fit, fallback taken, ...).",
}

#: Values of the ``analysis`` column, with their meaning.
ANALYSES: dict[str, str] = {
    # descriptives
    "descriptive": "Summary of a measure at a visit; `term` names the statistic and visit "
    "(`mean: baseline`, `sd: baseline`, `median: ...`, `q1`, `q3`, `min`, `max`, `n`).",
    "missing": "Observed and missing counts of a measure at a visit (`term` = visit; "
    "`estimate` = number missing, `n_obs` = observed).",
    # paired comparisons
    "mean_difference": "Mean of the paired differences with its t interval (the test is the "
    "`paired_t` row).",
    "paired_t": "Paired t-test of follow-up against baseline.",
    "wilcoxon": "Wilcoxon signed-rank test; exact p when possible, permutation p otherwise "
    "(`method` says which); `statistic` is V, the sum of positive ranks; `estimate` empty (the "
    "test has no point estimate: see `median_change` and `rank_biserial`).",
    "wilcoxon_normal": "Wilcoxon signed-rank test, normal approximation without continuity "
    "correction (SPSS's default and what small published series quote); `statistic` is z; "
    "`estimate` empty.",
    "cohens_dz": "Cohen's d_z = mean difference / SD of differences, exact noncentral-t CI.",
    "cohens_dav": "Cohen's d_av = mean difference / mean of the two SDs (Lakens 2013), "
    "Algina-Keselman noncentral-t CI.",
    "hedges_gav": "Hedges' g_av = d_av * J, J = 1 - 3 / (4(n - 1) - 1) (Lakens 2013), interval "
    "as d_av's multiplied by J.",
    "rank_biserial": "Matched-pairs rank-biserial correlation for the signed-rank test, "
    "with its Fisher-z interval.",
    "mean_difference_bca": "Mean difference with a seeded paired BCa bootstrap interval "
    "(option `bootstrap.enabled`).",
    "cohens_dz_bca": "Cohen's d_z with a seeded paired BCa bootstrap interval.",
    "hedges_gav_bca": "Hedges' g_av with a seeded paired BCa bootstrap interval.",
    "median_change": "Median of the paired differences (ordinal measures).",
    "improved_one_grade": "Share of patients improved by at least one grade (ordinal measures), "
    "Wilson interval.",
    # mixed models
    "lmm_fixed": "Fixed-effect coefficient of the linear mixed model (REML).",
    "lmm_emmean": "Estimated marginal mean of a visit (as emmeans).",
    "lmm_contrast": "Contrast of a visit against baseline from the estimated marginal means, "
    "Holm-adjusted across the visits of the measure.",
    "lmm_variance": "Variance component of the mixed model (`term` names it); `estimate` is the "
    "variance, `se` empty.",
    "lmm_icc": "Intraclass correlation: random-intercept variance / (that + residual variance).",
    "lmm_fit": "Fit status: `estimate` = REML deviance; `note` gives convergence, gradient "
    "norm, singular fit and any fallback.",
    # ordinal mixed model (analysis.stats.ordinal, as ordinal::clmm)
    "clmm_threshold": "Threshold of the cumulative link mixed model between two adjacent "
    "levels (`term` `a|b` in level labels, e.g. `1|1+`), latent scale, Wald SE and CI.",
    "clmm_fixed": "Coefficient of the cumulative link mixed model (`term` R's name, e.g. "
    "`visitpost_m6`): log cumulative odds (logit link; probit: latent SD units) of a higher "
    "category; Wald z test (`statistic`) and CI.",
    "clmm_odds_ratio": "Cumulative odds ratio exp(coefficient) of a `clmm_fixed` row with its "
    "Wald CI (logit link only); above 1: higher categories.",
    "clmm_contrast": "Visit against the reference visit from the cumulative link mixed model "
    "(`term` `post_m6 - baseline`), log cumulative odds, Holm-adjusted across the visits.",
    "clmm_probability": "Probability of a level at a visit (`term` `visit: level`) for a "
    "patient with random effect 0, delta-method SE.",
    "clmm_random": "Patient random intercept of the cumulative link mixed model: `term` "
    "`patient_id (Intercept)` is its variance, `patient_id (Intercept) SD` its SD (latent "
    "scale).",
    "clmm_fit": "Fit of the cumulative link mixed model: `term` `logLik` or `AIC` "
    "(`estimate`), or `proportional odds LR test` (`statistic` chi-square, `df`, `p_value`, "
    "against nominal visit effects); `note` gives convergence, singular fit, dropped levels and "
    "any fallback.",
    # individual change
    "change": "Change from baseline of one patient (`term` = `visit - baseline`).",
    "rci": "Reliable Change Index of one patient: Jacobson & Truax (1991) in the pipeline; "
    "`analysis.rci(method=...)` also gives the Gulliksen-Lord-Novick, Hsu-Linn-Lord, "
    "Edwards-Nunnally, Nunnally-Kotsch and Hageman-Arrindell variants (`term` starts with the "
    "method: `GLN: post - pre`); `statistic` is the index, `note` the class.",
    "cs_cutoff": "Jacobson & Truax (1991) cut-off of clinically significant change (`term` a, "
    "b or c), in the unit of the measure.",
    "mcid_class": "Change classified against the MCID (`estimate` 1 improved, 0 unchanged, "
    "-1 worsened; `note` says the class and the source of the MCID).",
    "responder": "Proportion of patients improved by at least the MCID (or reliably, "
    "`term` says which), Wilson interval in ci_low/ci_high and Clopper-Pearson in `note`.",
    "responder_cp": "The same proportion with its Clopper-Pearson interval.",
    # one patient against controls
    "crawford_howell": "Crawford-Howell modified t-test of one patient against controls; "
    "`term` says the tail.",
    "pct_more_extreme": "Estimated share of the control population more extreme than the "
    "patient, with its interval (Crawford & Garthwaite 2002) "
    "(a proportion 0-1, in results.csv as from the API; `share='percent'` in the API gives 0-100).",
    "z_cc": "Z_CC effect size of the patient against controls with its interval.",
    "bayes_single_case": "Bayesian test of Crawford & Garthwaite 2007 (seeded Monte Carlo); "
    "`estimate` = share of controls more extreme, credible interval "
    "(a proportion 0-1, in results.csv as from the API; `share='percent'` in the API gives 0-100).",
    "rsdt": "Revised Standardized Difference Test (Crawford & Garthwaite 2005) for a "
    "dissociation between two measures.",
    "z_score": "The patient's score on one measure standardised on the controls, "
    "(score - mean) / SD (`term` `z(<measure>)`), as the RSDT uses it.",
    "measurement_error": "Standard error of measurement and what follows from it (`term` "
    "`SEM`, `S_diff` = sqrt(2) SEM, `SE_pred`, `MDC95`, `r_dd` for the Hageman-Arrindell RCI), "
    "in the unit of the measure.",
    "udt": "Unstandardised Difference Test (Crawford & Garthwaite 2005) for two measures on the "
    "same scale: the t test row, Z_DCC with its exact interval, and the share of controls "
    "more extreme "
    "(a proportion 0-1, in results.csv as from the API; `share='percent'` in the API gives 0-100).",
    "bsdt": "Bayesian Standardised Difference Test (Crawford & Garthwaite 2007; standard or "
    "calibrated prior), seeded Monte Carlo: Z_DCC with credible interval and p (`se` = "
    "simulation error), "
    "and the share of controls more extreme "
    "(a proportion 0-1, in results.csv as from the API; `share='percent'` in the API gives 0-100).",
    "btd_cov": "Bayesian test of deficit with covariates (Crawford, Garthwaite & Ryan 2011), "
    "seeded Monte Carlo: Z_CCC, credible interval, p and its simulation error; the share of "
    "controls below "
    "(a proportion 0-1, in results.csv as from the API; `share='percent'` in the API gives 0-100); from the controls' values or summary statistics.",
    "bsdt_cov": "Bayesian standardised difference test with covariates (Crawford, Garthwaite & "
    "Ryan 2011), seeded Monte Carlo, calibrated or standard prior: Z_DCCC, p and the share of "
    "controls beyond the patient "
    "(a proportion 0-1, in results.csv as from the API; `share='percent'` in the API gives 0-100); from the controls' values or summary "
    "statistics.",
    "mtd": "Multivariate Test of Deficit (Huizenga et al. 2007; singcar `MTD`): Hotelling's "
    "T^2 of the patient's Mahalanobis distance from the controls with its F test, the distance "
    "and index with intervals, and the share of controls with a larger distance (Elfadaly, "
    "Garthwaite & Crawford 2016) "
    "(a proportion 0-1, in results.csv as from the API; `share='percent'` in the API gives 0-100).",
    "td_power": "Power of the Crawford-Howell test of deficit for given population values and "
    "control sample size (closed form, noncentral t).",
    "udt_power": "Power of the Unstandardised Difference Test (closed form, noncentral t).",
    "rsdt_power": "Power of the RSDT by seeded Monte Carlo; `se` = simulation error.",
    # phase designs
    "nap": "Non-overlap of All Pairs (Parker & Vannest 2009) with its CI.",
    "tau_u": "Tau-U; `term` names the variant (`A vs B`, `A vs B - trend A`; "
    "`analysis.tau_u(variant=..., method=...)` also gives `trend A`, `trend B`, "
    "`A vs B + trend B` and the full `A vs B + trend B - trend A`, with scan's methods).",
    "baseline_trend": "Theil-Sen baseline trend of Tau-BC (`term` `Theil-Sen slope per "
    "session: ...` or `Theil-Sen intercept: ...`), oriented as the index.",
    "pnd": "Percentage of Non-overlapping Data "
    "(a proportion 0-1, in results.csv as from the API; `share='percent'` in the API gives 0-100).",
    "tau_bc": "Baseline-corrected Tau (Tarlow 2017): Theil-Sen baseline trend removed, then "
    "Tau = 2 NAP - 1 with NAP's SE and interval.",
    "smd": "Within-case standardised mean difference (baseline SD, Hedges-corrected) with its "
    "SE and Wald interval (as SingleCaseES).",
    "lrr": "Log response ratio (Pustejovsky 2018), bias-corrected, SE and Wald interval; `term` "
    "`LRRi: ...` (positive = improvement) or `LRRd: ...` (negative = improvement).",
    "lor": "Log odds ratio of a percentage or proportion outcome, bias-corrected (as "
    "SingleCaseES).",
    "lrm": "Log ratio of medians (Bonett & Price 2020) with its SE and Wald interval.",
    "pogo": "Percent of goal obtained (Ferron et al. 2020), SE as SingleCaseES.",
    "pem": "Percentage of treatment points beyond the baseline median (ties 0.5) "
    "(a proportion 0-1, in results.csv as from the API; `share='percent'` in the API gives 0-100).",
    "pand": "Percentage of all non-overlapping data (Parker et al. 2007) "
    "(a proportion 0-1, in results.csv as from the API; `share='percent'` in the API gives 0-100); "
    "`statistic` = points removed.",
    "ird": "Robust improvement rate difference (Parker, Vannest & Brown 2009), from PAND.",
    "cdc": "Conservative dual criterion (Fisher, Kelley & Lomas 2003): `estimate` = treatment "
    "points beyond both shifted baseline lines, one-sided binomial p; verdict in `note`.",
    "rand_test": "Randomisation test of a randomly chosen phase start (Edgington 1975): "
    "statistic mean(B) - mean(A) (positive = improvement), exact p over all admissible starts.",
    "piecewise": "Piecewise regression of one patient (`term`: `level change`, "
    "`slope change`, `baseline slope`); autocorrelation caveat in `method`.",
    # dose titration
    "dose_slope": "Slope of the outcome against dose (per patient: OLS; group: mixed model "
    "`value ~ dose + (1 + dose | patient)`).",
    "therapeutic_window": "Therapeutic window of one patient: `ci_low`/`ci_high` hold the "
    "lowest and highest dose of the window, `estimate` the dose the titration settled at.",
    # motion-lab gait (analysis.gait.results)
    "gps": "Gait Profile Score (Baker et al. 2009) of one patient's motion-lab visit against "
    "the normative mean curves: measure `gps` (overall) or `gps_limb` (side L/R), `term` = "
    "visit, degrees; `term` `later - first` is the change of the overall GPS. `method` names "
    "the norms and whether they were speed-matched.",
    "gvs": "Gait Variable Score (Baker et al. 2009) of a curve variable (measure "
    "`gvs_<variable>`) and side at a visit (`term`), degrees; `method` names the norms and "
    "whether speed-matched.",
    "spm_test": "Permutation SPM two-sample t test of one patient's gait cycles at a later "
    "visit against the first, per curve variable (`term` `variable: later - first`) and side: "
    "`statistic` = critical threshold t*, `estimate` = largest |t| over the cycle, `p_value` = "
    "share of permutations with a largest |t| at least as large; `method` gives the "
    "permutations and seed; present also when no cluster is found.",
    "spm_cluster": "Supra-threshold cluster of a `spm_test`: `term` adds its % cycle range, "
    "`statistic` = cluster integral of |t| - t*, `estimate` = mean difference of the visit "
    "means over the cluster (degrees), `p_value` = cluster p (permutation).",
    "gait_norm_z": "A visit's mean gait curve against the normative band (`term` `variable: "
    "visit`): pointwise z = (patient - normative mean) / normative SD; `estimate` = % of the "
    "cycle with |z| > 1.96, `statistic` = the z of largest magnitude; no curve-level inference "
    "(the norms hold no per-control curves).",
    "gdi": "Gait Deviation Index (Schwartz & Rozumalski 2008); computed only from per-control "
    "normative curves, otherwise one row whose `note` says why not.",
}

#: Columns that hold numbers (the rest hold text).
NUMERIC_COLUMNS = [
    "estimate", "se", "df", "statistic", "p_value", "p_adjusted",
    "ci_low", "ci_high", "n_patients", "n_obs",
]
TEXT_COLUMNS = [c for c in COLUMNS if c not in NUMERIC_COLUMNS]
#: Columns that identify a row; unique within one results table.
KEY_COLUMNS = ["measure", "side", "patient_id", "analysis", "term"]


def result_frame(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Build a results table from row dictionaries (or a DataFrame of rows).

    Missing columns are filled (NaN for numbers, empty text for text); unknown keys raise,
    so a typo in a column name cannot silently create a new column.

    Parameters
    ----------
    rows : iterable of mapping, or pandas.DataFrame
        One mapping per row, with keys from :data:`COLUMNS`; or a DataFrame whose columns
        are a subset of :data:`COLUMNS` (one row per result row; the fast way to build many
        rows at once).

    Returns
    -------
    pandas.DataFrame
        Columns exactly :data:`COLUMNS`, in that order.

    Examples
    --------
    >>> t = result_frame([{"measure": "tug", "analysis": "paired_t",
    ...                    "term": "post_m6 - baseline", "estimate": -2.5}])
    >>> list(t.columns) == list(COLUMNS)
    True
    >>> t.loc[0, "estimate"]
    np.float64(-2.5)
    >>> f = result_frame(pd.DataFrame({"measure": ["tug", None], "estimate": [1.0, None]}))
    >>> f["measure"].tolist(), f["estimate"].tolist()
    (['tug', ''], [1.0, nan])
    """
    if isinstance(rows, pd.DataFrame):
        unknown = set(rows.columns) - _COLUMN_SET
        if unknown:
            raise KeyError(f"unknown results column(s): {sorted(unknown)}")
        n = len(rows)
        columns = {col: _frame_column(rows[col], numeric=col in NUMERIC_COLUMNS)
                   for col in rows.columns}
    else:
        rows = list(rows)
        unknown = set().union(*rows) - _COLUMN_SET
        if unknown:
            raise KeyError(f"unknown results column(s): {sorted(unknown)}")
        n = len(rows)
        present = set().union(*rows)
        columns = {col: [row.get(col) for row in rows] for col in COLUMNS if col in present}
    # Built column by column from plain lists: constructing from records and then casting
    # each column costs milliseconds per call, and the pipeline makes tens of thousands of rows.
    data: dict[str, Any] = {}
    for col in NUMERIC_COLUMNS:
        values = columns.get(col)
        data[col] = (np.full(n, np.nan) if values is None else
                     values if isinstance(values, np.ndarray) else _numbers(values))
    for col in TEXT_COLUMNS:
        values = columns.get(col)
        data[col] = ([""] * n if values is None else
                     values if isinstance(values, pd.api.extensions.ExtensionArray) else
                     _texts(values))
    return pd.DataFrame(data, columns=list(COLUMNS))


_COLUMN_SET = frozenset(COLUMNS)


def _frame_column(column: pd.Series, *, numeric: bool) -> Any:
    """A column of a DataFrame of rows, converted without a Python loop where the dtype allows."""
    if numeric and pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype="float64", na_value=np.nan)
    if not numeric and isinstance(column.dtype, pd.StringDtype):
        return column.fillna("").astype(_STR).array
    return column.tolist()


_STR = pd.Series([""]).dtype  # the dtype pandas gives a column of Python strings


def _numbers(values: list[Any]) -> np.ndarray:
    """A float64 array of ``values``; None and pd.NA become NaN."""
    array = None
    # numpy turns None into NaN itself; text and complex numbers (which numpy would parse or
    # truncate its own way), pd.NA and anything numpy refuses go through float() one by one
    if not any(isinstance(v, (str, bytes, complex)) for v in values):
        try:
            array = np.array(values, dtype="float64")
        except (TypeError, ValueError):
            array = None
    if array is None or array.shape != (len(values),):  # e.g. one-element arrays as values
        array = np.array([_number(v) for v in values], dtype="float64")
    return array


def _number(value: Any) -> float:
    return np.nan if value is None or value is pd.NA else float(value)


def _text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _texts(values: list[Any]) -> list[str]:
    return [v if type(v) is str else _text(v) for v in values]


def combine(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate results tables and sort them into a stable order.

    Rows are ordered by measure, side, patient, then the order of :data:`ANALYSES`, then the
    order in which each analysis produced its terms. Duplicate keys raise ``ValueError``.

    Examples
    --------
    >>> a = result_frame([{"measure": "tug", "analysis": "paired_t", "term": "x"}])
    >>> b = result_frame([{"measure": "gait_speed", "analysis": "paired_t", "term": "x"}])
    >>> combine([a, b])["measure"].tolist()
    ['gait_speed', 'tug']
    """
    table = concat_results(frames)
    order_rows(table)
    return table


def concat_results(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The results tables one after the other, empty ones left out (unsorted: see
    :func:`combine`).

    Examples
    --------
    >>> len(concat_results([result_frame([{"measure": "tug"}]), None, result_frame([])]))
    1
    """
    frames = [f for f in frames if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else result_frame([])


def order_rows(table: pd.DataFrame) -> None:
    """Sort a results table into the stable order of :func:`combine`, in place.

    Columns are replaced one at a time, so that at most one column is copied at a time (a
    copy of the whole table was the peak of memory at registry scale). The order is computed
    on integer codes of the sorted distinct values (text by code point). Duplicate keys raise
    ``ValueError``.

    Examples
    --------
    >>> t = pd.concat([result_frame([{"measure": "tug", "analysis": "paired_t", "term": "x"}]),
    ...                result_frame([{"measure": "gait_speed", "analysis": "paired_t",
    ...                               "term": "x"}])], ignore_index=True)
    >>> order_rows(t)
    >>> t["measure"].tolist(), t.index.tolist()
    (['gait_speed', 'tug'], [0, 1])
    """
    rank = {name: i for i, name in enumerate(ANALYSES)}
    codes, names = pd.factorize(table["analysis"])  # map() would make a Python str per row
    analysis_rank = np.array([rank.get(n, len(rank)) for n in names], dtype=np.int64)[codes]
    order = np.lexsort((analysis_rank, _sorted_codes(table["patient_id"]),
                        _sorted_codes(table["side"]), _sorted_codes(table["measure"])))
    if not np.array_equal(order, np.arange(len(order))):
        for column in table.columns:
            table[column] = table[column].array.take(order)
            release_freed()  # the column's old pieces, before the next column is copied
    table.index = pd.RangeIndex(len(table))
    dup = _duplicated([_sorted_codes(table[c]) for c in KEY_COLUMNS])
    if dup.any():
        raise ValueError(
            "duplicate result keys:\n" + table.loc[dup, KEY_COLUMNS].to_string(index=False)
        )


def _sorted_codes(values: pd.Series) -> np.ndarray:
    """Rank of each value among the sorted distinct values; missing values rank last (as in
    ``sort_values``)."""
    codes, uniques = pd.factorize(values, sort=True)
    return np.where(codes < 0, len(uniques), codes)


def _duplicated(codes: list[np.ndarray]) -> np.ndarray:
    """True for every row whose codes equal another row's (``duplicated(keep=False)``)."""
    sizes = [int(c.max()) + 1 if len(c) else 1 for c in codes]
    if np.prod([float(s) for s in sizes]) < 2.0**62:  # one integer key per row (mixed radix)
        key = np.zeros(len(codes[0]), dtype=np.int64)
        for c, size in zip(codes, sizes, strict=True):
            key = key * size + c
    else:  # too many distinct keys for one integer: the codes of each row, compared row-wise
        key = np.unique(np.column_stack(codes), axis=0, return_inverse=True)[1].ravel()
    order = np.argsort(key, kind="stable")
    same = key[order][1:] == key[order][:-1]
    dup = np.zeros(len(key), dtype=bool)
    dup[order[1:][same]] = True
    dup[order[:-1][same]] = True
    return dup


def dictionary() -> pd.DataFrame:
    """The results data dictionary as a tidy table (``kind``, ``name``, ``meaning``).

    Examples
    --------
    >>> d = dictionary()
    >>> sorted(d["kind"].unique())
    ['analysis', 'column']
    """
    rows = [("column", k, v) for k, v in COLUMNS.items()]
    rows += [("analysis", k, v) for k, v in ANALYSES.items()]
    return pd.DataFrame(rows, columns=["kind", "name", "meaning"])


#: A text cell a spreadsheet would take for a formula (optionally behind our own quotes).
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")


def neutralise_formulas(values: pd.Series) -> pd.Series:
    """Prefix a single quote to text a spreadsheet would run as a formula (OWASP).

    A cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR (possibly behind quotes) that is
    not a number gets one more leading quote; :func:`restore_formulas` undoes it exactly.

    Examples
    --------
    >>> s = pd.Series(["=HYPERLINK(1)", "-1.5", "post - baseline", "'=x", "+", "@me"])
    >>> neutralise_formulas(s).tolist()
    ["'=HYPERLINK(1)", '-1.5', 'post - baseline', "''=x", "'+", "'@me"]
    >>> restore_formulas(neutralise_formulas(s)).equals(s)
    True
    """
    values = values.astype(str)
    hits = values.str.match(_FORMULA)
    if not hits.any():
        return values
    candidates = values[hits]
    numeric = pd.to_numeric(candidates.str.strip(), errors="coerce").notna()
    fix = candidates[~numeric]
    values = values.copy()
    values.loc[fix.index] = "'" + fix
    return values


def restore_formulas(values: pd.Series) -> pd.Series:
    """Undo :func:`neutralise_formulas` (remove the one quote it added)."""
    values = values.astype(str)
    hits = values.str.match(_ESCAPED)
    if not hits.any():
        return values
    values = values.copy()
    values.loc[hits] = values.loc[hits].str.slice(1)
    return values


def write_results_csv(results: pd.DataFrame, path: str | Path) -> None:
    """Write a results table as CSV, formula-like text cells neutralised.

    Through pyarrow's writer: ten times faster than pandas' on large tables, with the shortest
    repr of every float (exact round trip); text quoted where needed. Read it back with
    :func:`analysis.run.manifest.read_results_csv`.
    """
    import pyarrow as pa  # imported here: the core module stays light to import
    import pyarrow.csv as pa_csv

    safe = results.copy(deep=False)
    for column in TEXT_COLUMNS:
        if column in safe:
            safe[column] = neutralise_formulas(safe[column])
    table = pa.Table.from_pandas(safe, preserve_index=False)
    pa_csv.write_csv(table, str(path), pa_csv.WriteOptions(quoting_style="needed"))
