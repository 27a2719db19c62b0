"""Descriptive statistics, missing data and baseline characteristics (analysis plan, section 2).

- :func:`describe` / :func:`describe_wide`: n, mean, SD, median, quartiles, min and max of every
  measure, side and visit (visits ordered by ``day``).
- :func:`missing_table` / :func:`missing_wide`: how many patients were observed and missing at
  each visit, relative to the patients with any observation of the measure.
- :func:`baseline_characteristics`: age, sex, genotype, disease duration and each measure at
  baseline, as a tidy table for the report's "Table 1".

Conventions: SD with n - 1 in the denominator (NaN for one value, with a note; exactly 0
when the values are equal up to rounding, :func:`analysis.stats.numerics.spread`); quartiles by
linear interpolation between order statistics (numpy's default, R's ``quantile(type = 7)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.data.derive import visit_order
from analysis.errors import InvalidInputError
from analysis.results import TEXT_COLUMNS, result_frame
from analysis.stats.numerics import is_constant, spread

STATS = ("n", "mean", "sd", "median", "q1", "q3", "min", "max")
_KEYS = ["measure", "side", "visit"]
_METHOD = ("descriptive statistics of the observations; SD with n - 1; quartiles by linear "
           "interpolation (numpy default = R quantile type 7)")


def _prepare(obs: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("patient_id", "visit", "measure", "value") if c not in obs.columns]
    if missing:
        raise InvalidInputError(
            f"the observations lack column(s) {missing}; load them with "
            "analysis.data.validate.load_dataset.")
    # the columns read here and by visit_order(): copying and filtering every column of the
    # observations cost more than the statistics at registry scale
    work = obs[[c for c in obs.columns if c in ("patient_id", "visit", "measure", "value",
                                                 "side", "day")]]
    work["side"] = work["side"].fillna("").astype(str) if "side" in work else ""
    work["value"] = pd.to_numeric(work["value"], errors="coerce").astype("float64")
    return work


def describe_wide(obs: pd.DataFrame) -> pd.DataFrame:
    """One row per measure, side and visit with n, mean, sd, median, q1, q3, min, max.

    Returns
    -------
    pandas.DataFrame
        Columns measure, side, visit, n (observations), n_patients, mean, sd, median, q1, q3,
        min, max; rows ordered by measure, side, then visit order (:func:`visit_order`).

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": ["P1", "P2", "P3"], "visit": "baseline",
    ...     "measure": "tug", "side": "", "day": -7.0, "value": [12.0, 15.0, 21.0]})
    >>> describe_wide(obs)[["n", "mean", "median", "q1", "q3"]].to_dict("records")
    [{'n': 3, 'mean': 16.0, 'median': 15.0, 'q1': 13.5, 'q3': 18.0}]
    """
    work = _prepare(obs)
    work = work[work["value"].notna()]
    order = {v: i for i, v in enumerate(visit_order(work))} if len(work) else {}
    out = []
    for (measure, side, visit), g in work.groupby(_KEYS, sort=False):
        v = g["value"].to_numpy()
        q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
        out.append(dict(measure=measure, side=side, visit=visit, n=len(v),
                        n_patients=g["patient_id"].nunique(), mean=_mean(v),
                        sd=spread(v), median=med, q1=q1, q3=q3,
                        min=v.min(), max=v.max()))
    cols = _KEYS + ["n", "n_patients", "mean", "sd", "median", "q1", "q3", "min", "max"]
    wide = pd.DataFrame(out, columns=cols)
    if wide.empty:
        return wide
    wide["_o"] = wide["visit"].map(order)
    wide = wide.sort_values(["measure", "side", "_o"], kind="mergesort")
    return wide.drop(columns="_o").reset_index(drop=True)


def describe(obs: pd.DataFrame) -> pd.DataFrame:
    """Descriptive statistics as results rows (analysis ``descriptive``).

    One row per measure, side, visit and statistic; ``term`` = ``"<stat>: <visit>"`` for
    n, mean, sd, median, q1, q3, min, max; ``estimate`` holds the value, ``n_patients`` the
    number of patients and ``n_obs`` the number of observations.

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": ["P1", "P2"], "visit": "baseline",
    ...     "measure": "tug", "side": "", "day": -7.0, "value": [12.0, 16.0]})
    >>> t = describe(obs)
    >>> t.loc[t["term"] == "mean: baseline", "estimate"].item()
    14.0
    """
    rows = []
    blank = {c: "" for c in TEXT_COLUMNS}
    for rec in describe_wide(obs).to_dict("records"):
        for stat in STATS:
            note = "one observation: SD undefined" if stat == "sd" and rec["n"] < 2 else ""
            rows.append(blank | dict(measure=rec["measure"], side=rec["side"],
                                     analysis="descriptive", term=f"{stat}: {rec['visit']}",
                                     estimate=rec[stat], n_patients=rec["n_patients"],
                                     n_obs=rec["n"], method=_METHOD, note=note))
    return result_frame(rows)


def missing_wide(obs: pd.DataFrame, *, visits: Sequence[str] | None = None) -> pd.DataFrame:
    """Observed and missing patients per measure, side and visit.

    The denominator (``n_expected``) is the number of patients with any observation of the
    measure (any side, any visit). ``visits`` defaults to the visits at which the measure was
    observed at least once, in :func:`visit_order`.

    Returns
    -------
    pandas.DataFrame
        Columns measure, side, visit, n_expected, n_observed, n_missing, pct_missing.

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": ["P1", "P2", "P1"],
    ...     "visit": ["baseline", "baseline", "post_m6"], "measure": "tug", "side": "",
    ...     "day": [-7.0, -7.0, 180.0], "value": [12.0, 16.0, 10.0]})
    >>> missing_wide(obs)[["visit", "n_observed", "n_missing"]].to_dict("records")
    [{'visit': 'baseline', 'n_observed': 2, 'n_missing': 0}, {'visit': 'post_m6', 'n_observed': 1, 'n_missing': 1}]
    """
    work = _prepare(obs)
    work = work[work["value"].notna()]
    order = visit_order(work) if len(work) else []
    out = []
    for measure, g in work.groupby("measure", sort=True):
        n_expected = len(pd.unique(g["patient_id"]))
        present = set(pd.unique(g["visit"]))  # once, not once per visit
        these = list(visits) if visits is not None else [v for v in order if v in present]
        # patients seen per side and visit (every one of them is expected)
        seen = g.drop_duplicates(["side", "visit", "patient_id"]).groupby(
            ["side", "visit"], sort=False).size().to_dict()
        for side in sorted(pd.unique(g["side"])):
            for visit in these:
                n_obs = int(seen.get((side, visit), 0))
                out.append(dict(measure=measure, side=side, visit=visit,
                                n_expected=n_expected, n_observed=n_obs,
                                n_missing=n_expected - n_obs,
                                pct_missing=100.0 * (n_expected - n_obs) / n_expected))
    return pd.DataFrame(out, columns=["measure", "side", "visit", "n_expected", "n_observed",
                                      "n_missing", "pct_missing"])


def missing_table(obs: pd.DataFrame, *, visits: Sequence[str] | None = None) -> pd.DataFrame:
    """Missing-data table as results rows (analysis ``missing``).

    ``term`` = visit, ``estimate`` = number of patients missing, ``n_obs`` = observed,
    ``n_patients`` = patients with any observation of the measure (the denominator).

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": ["P1", "P2", "P1"],
    ...     "visit": ["baseline", "baseline", "post_m6"], "measure": "tug", "side": "",
    ...     "day": [-7.0, -7.0, 180.0], "value": [12.0, 16.0, 10.0]})
    >>> missing_table(obs)[["term", "estimate", "n_obs"]].values.tolist()
    [['baseline', 0.0, 2.0], ['post_m6', 1.0, 1.0]]
    """
    blank = {c: "" for c in TEXT_COLUMNS}
    rows = [blank | dict(measure=r["measure"], side=r["side"], analysis="missing",
                         term=r["visit"], estimate=r["n_missing"], n_obs=r["n_observed"],
                         n_patients=r["n_expected"],
                         method="patients without an observation at the visit, of the "
                         "patients with any observation of the measure",
                         note=f"{r['n_missing']} of {r['n_expected']} missing "
                         f"({r['pct_missing']:.0f}%)")
            for r in missing_wide(obs, visits=visits).to_dict("records")]
    return result_frame(rows)


def _mean(v: np.ndarray) -> float:
    """Mean; the common value itself when the values are equal up to rounding (the mean of
    six copies of 0.1 is not exactly 0.1 in floating point)."""
    return float(v[0]) if len(v) and is_constant(v) else float(v.mean())


def _decimals(x: float) -> int:
    x = abs(x) if np.isfinite(x) else 0.0
    return 1 if x >= 10 else 2 if x >= 1 else 3


def _numeric_row(name: str, level: str, v: np.ndarray, ordinal: bool,
                 digits: int | None) -> dict:
    v = v[np.isfinite(v)]
    n = len(v)
    row = dict(characteristic=name, level=level, n=n, summary="", mean=np.nan, sd=np.nan,
               median=np.nan, q1=np.nan, q3=np.nan, count=np.nan, percent=np.nan)
    if n == 0:
        row["summary"] = "no data"
        return row
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    sd = spread(v)
    row.update(mean=_mean(v), sd=sd, median=med, q1=q1, q3=q3)
    k = digits if digits is not None else _decimals(med if ordinal else v.mean())
    if ordinal:
        row["summary"] = f"{med:.{k}f} [{q1:.{k}f}, {q3:.{k}f}]"
    else:
        row["summary"] = f"{v.mean():.{k}f} ({sd:.{k}f})" if n > 1 else f"{v.mean():.{k}f} (-)"
    return row


def _categorical_rows(name: str, s: pd.Series) -> list[dict]:
    known = s.dropna().astype(str)
    known = known[known.str.strip() != ""]
    n = len(known)
    counts = known.value_counts()
    levels = sorted(counts.index, key=lambda lv: (-counts[lv], lv))
    rows = [dict(characteristic=name, level=lv, n=n, count=int(counts[lv]),
                 percent=100.0 * counts[lv] / n,
                 summary=f"{counts[lv]} ({100.0 * counts[lv] / n:.0f}%)") for lv in levels]
    n_missing = len(s) - n
    if n_missing:
        rows.append(dict(characteristic=name, level="(missing)", n=len(s), count=n_missing,
                         percent=100.0 * n_missing / len(s),
                         summary=f"{n_missing} ({100.0 * n_missing / len(s):.0f}%)"))
    return rows


def baseline_characteristics(
    patients: pd.DataFrame | None,
    obs: pd.DataFrame,
    *,
    baseline_visit: str = "baseline",
    kinds: Mapping[str, str] | None = None,
    digits: int | None = None,
) -> pd.DataFrame:
    """Baseline characteristics table ("Table 1").

    Parameters
    ----------
    patients : pandas.DataFrame or None
        One row per patient: patient_id, age, sex, genotype, disease_duration (each optional).
    obs : pandas.DataFrame
        Tidy observations; the measures at ``baseline_visit`` are summarised (repeated values
        of a patient at that visit are averaged first).
    baseline_visit : str
        Visit label of baseline.
    kinds : mapping, optional
        Measure key -> ``"continuous"`` or ``"ordinal"``; ordinal measures are summarised as
        median [q1, q3], everything else as mean (SD).
    digits : int, optional
        Decimals of the summaries (default: 1 for |x| >= 10, 2 for >= 1, 3 below).

    Returns
    -------
    pandas.DataFrame
        Columns characteristic, level, n, summary, mean, sd, median, q1, q3, count, percent.
        Numeric characteristics fill mean..q3; categorical ones count and percent (of the
        patients with a known value; a ``(missing)`` level counts the rest, of all patients).
        Measures: characteristic = measure key, level = side.

    Examples
    --------
    >>> pts = pd.DataFrame({"patient_id": ["P1", "P2"], "age": [41.0, 57.0], "sex": ["F", "M"]})
    >>> obs = pd.DataFrame({"patient_id": ["P1", "P2"], "visit": "baseline",
    ...     "measure": "tug", "side": "", "day": -7.0, "value": [12.0, 16.0]})
    >>> t = baseline_characteristics(pts, obs)
    >>> t[["characteristic", "level", "summary"]].values.tolist()
    [['age', '', '49.0 (11.3)'], ['sex', 'F', '1 (50%)'], ['sex', 'M', '1 (50%)'], ['tug', '', '14.0 (2.8)']]
    """
    work = _prepare(obs)
    if baseline_visit not in set(work["visit"]):
        raise InvalidInputError(
            f"baseline_visit={baseline_visit!r} is not a visit in the data; visits are "
            f"{visit_order(work)}. Pass the label of the baseline visit.")
    rows: list[dict] = []
    if patients is not None:
        for name, categorical in (("age", False), ("sex", True), ("genotype", True),
                                  ("disease_duration", False)):
            if name not in patients.columns:
                continue
            if categorical:
                rows += _categorical_rows(name, patients[name])
            else:
                v = pd.to_numeric(patients[name], errors="coerce").to_numpy(dtype=float)
                rows.append(_numeric_row(name, "", v, False, digits))
    base = work[(work["visit"] == baseline_visit) & work["value"].notna()]
    per_patient = base.groupby(["measure", "side", "patient_id"], sort=True)["value"].mean()
    for (measure, side), v in per_patient.groupby(level=["measure", "side"], sort=True):
        ordinal = (kinds or {}).get(measure) == "ordinal"
        rows.append(_numeric_row(measure, side, v.to_numpy(dtype=float), ordinal, digits))
    cols = ["characteristic", "level", "n", "summary", "mean", "sd", "median", "q1", "q3",
            "count", "percent"]
    table = pd.DataFrame(rows, columns=cols)
    table["n"] = table["n"].astype("int64")
    return table
