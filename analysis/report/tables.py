"""Publication tables from the results table (and the data), and their renderers.

Every builder returns a display DataFrame of formatted strings (numbers formatted by
:mod:`analysis.report.formatting`; a missing value is an en dash). Render it with :func:`to_markdown`
(a Pandoc pipe table, right for PDF and DOCX) or :func:`to_great_table` (HTML).
Rows keep the order of the results table (which :func:`analysis.results.combine` makes stable).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import InvalidInputError
from analysis.report.formatting import (
    MISSING,
    digits_for,
    fmt_ci,
    fmt_df,
    fmt_est_ci,
    fmt_n_pct,
    fmt_num,
    fmt_p,
    is_missing,
)

Digits = int | Mapping[str, int]

#: Display names of analyses in tables.
ANALYSIS_LABELS: dict[str, str] = {
    "crawford_howell": "Crawford-Howell t", "pct_more_extreme": "% controls more extreme",
    "z_cc": "Z_CC", "bayes_single_case": "Bayesian single case (% more extreme)",
    "rsdt": "RSDT", "nap": "NAP", "tau_u": "Tau-U", "pnd": "PND (%)",
    "piecewise": "Piecewise regression", "rci": "RCI", "change": "Change",
    "therapeutic_window": "Therapeutic window (ug/day)", "dose_slope": "Dose slope",
}
SINGLE_CASE_ANALYSES = ("crawford_howell", "pct_more_extreme", "z_cc", "bayes_single_case",
                        "rsdt", "nap", "tau_u", "pnd", "piecewise", "rci",
                        "therapeutic_window")



def _rows(results: pd.DataFrame, analyses: Sequence[str], what: str) -> pd.DataFrame:
    needed = ["measure", "side", "patient_id", "analysis", "term", "estimate", "ci_low",
              "ci_high"]
    missing = [c for c in needed if c not in results.columns]
    if missing:
        raise InvalidInputError(f"the results table lacks column(s) {missing}; build it with "
                         "analysis.results.result_frame")
    rows = results[results["analysis"].isin(list(analyses))]
    if rows.empty:
        raise InvalidInputError(f"no rows of {list(analyses)} in the results table; run the {what} "
                         "analyses first")
    return rows


def _digits(digits: Digits, measure: str) -> int:
    return int(digits.get(measure, 2)) if isinstance(digits, Mapping) else int(digits)


def _measure_label(measure: str, side: str) -> str:
    return f"{measure} ({side})" if side else measure


def _stat(x: Any, digits: int) -> str:
    """A test statistic: integer-valued ones (V, counts) without decimals."""
    if not is_missing(x) and float(x).is_integer():
        return fmt_num(x, 0)
    return fmt_num(x, digits)


def baseline_table(
    patients: pd.DataFrame | None,
    obs: pd.DataFrame,
    *,
    codebook: Any = None,
    baseline_visit: str | None = None,
    measures: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Baseline characteristics: demographics and baseline values of each measure.

    Age: mean (SD); sex and genotype: n (%); disease duration: median [IQR]. Baseline
    measures use the last observation of the baseline phase (or ``baseline_visit``):
    mean (SD) for continuous measures, median [IQR] for ordinal ones (codebook ``kind``;
    without a codebook, unit ``grade`` means ordinal). Quartiles are numpy's default (R type 7).

    Returns
    -------
    DataFrame
        Columns ``Characteristic`` and ``Value``.

    Examples
    --------
    >>> pts = pd.DataFrame({"patient_id": ["P1", "P2"], "age": [49.0, 55.0],
    ...                     "sex": ["M", "F"], "genotype": ["SPG4", "SPG4"],
    ...                     "disease_duration": [10.0, 20.0]})
    >>> obs = pd.DataFrame({"patient_id": ["P1", "P2"], "visit": "baseline",
    ...     "measure": "tug", "value": [20.0, 16.0], "phase": "baseline", "day": -1.0,
    ...     "side": "", "unit": "s"})
    >>> baseline_table(pts, obs).to_dict("list")["Value"]
    ['2', '52.0 (4.2)', '1 (50%)', '1 (50%)', '2 (100%)', '15.0 [12.5, 17.5]', '18.0 (2.8)']
    """
    n_total = obs["patient_id"].nunique()
    out: list[tuple[str, str]] = [("Patients, n", str(n_total))]
    if patients is not None and len(patients):
        n_total = len(patients)
        out[0] = ("Patients, n", str(n_total))
        if "age" in patients:
            a = patients["age"].astype(float)
            out.append(("Age (years), mean (SD)",
                        f"{fmt_num(a.mean(), 1)} ({fmt_num(a.std(), 1)})"))
        if "sex" in patients:
            for code, name in (("M", "male"), ("F", "female")):
                out.append((f"Sex, {name}, n (%)",
                            fmt_n_pct(int((patients["sex"] == code).sum()), n_total)))
        if "genotype" in patients:
            counts = patients["genotype"].fillna("unknown").value_counts().sort_index()
            for g, k in counts.items():
                out.append((f"Genotype {g}, n (%)", fmt_n_pct(int(k), n_total)))
        if "disease_duration" in patients:
            d = patients["disease_duration"].astype(float).dropna()
            q1, q3 = np.percentile(d, [25, 75]) if len(d) else (np.nan, np.nan)
            out.append(("Disease duration (years), median [IQR]",
                        f"{fmt_num(d.median(), 1)} {fmt_ci(q1, q3, 1)}"))
    base = _baseline_values(obs, baseline_visit)
    if measures is not None:
        base = base[base["measure"].isin(list(measures))]
    for (m, side), rows in base.groupby(["measure", "side"], sort=False):
        info = codebook.measure(m) if codebook is not None else None
        unit = getattr(info, "unit", None) or (rows["unit"].iloc[0] if "unit" in rows else "")
        ordinal = (info.kind == "ordinal") if info is not None else unit == "grade"
        dg = digits_for(unit)
        v = rows["value"].astype(float)
        label = getattr(info, "label", None) or m
        label += f" {side}" if side else ""
        label += f" ({unit})" if unit else ""
        if ordinal:
            q1, q3 = np.percentile(v, [25, 75])
            text, stat = f"{fmt_num(v.median(), dg)} {fmt_ci(q1, q3, dg)}", "median [IQR]"
        else:
            text, stat = f"{fmt_num(v.mean(), dg)} ({fmt_num(v.std(), dg)})", "mean (SD)"
        if len(v) < n_total:
            text += f" (n = {len(v)})"
        out.append((f"{label}, {stat}", text))
    return pd.DataFrame(out, columns=["Characteristic", "Value"])


def _baseline_values(obs: pd.DataFrame, baseline_visit: str | None) -> pd.DataFrame:
    data = obs.assign(side=obs["side"].fillna("") if "side" in obs else "")
    if baseline_visit is not None:
        data = data[data["visit"] == baseline_visit]
    elif "phase" in data:
        data = data[data["phase"] == "baseline"]
    else:
        raise InvalidInputError("observations have no 'phase' column; pass baseline_visit='baseline'")
    data = data.dropna(subset=["value"])
    if "day" in data:
        data = data.sort_values("day", kind="mergesort")
    return data.groupby(["patient_id", "measure", "side"], sort=False).tail(1)


def descriptives_table(results: pd.DataFrame, *, digits: Digits = 2) -> pd.DataFrame:
    """Per measure and visit: n, mean (SD), median [IQR], range, from ``descriptive`` rows.

    Parameters
    ----------
    results : DataFrame
        Results table with ``descriptive`` rows (``term`` = "statistic: visit").
    digits : int or mapping of measure to int, default 2

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> res = result_frame([{"measure": "tug", "analysis": "descriptive",
    ...     "term": f"{s}: baseline", "estimate": v} for s, v in
    ...     [("n", 5), ("mean", 20.0), ("sd", 2.5), ("median", 19.5), ("q1", 18), ("q3", 21),
    ...      ("min", 16), ("max", 24)]])
    >>> descriptives_table(res, digits=1).iloc[0].tolist()
    ['tug', 'baseline', '5', '20.0 (2.5)', '19.5 [18.0, 21.0]', '16.0 to 24.0']
    """
    rows = _rows(results, ["descriptive"], "descriptive").copy()
    parts = rows["term"].str.split(":", n=1, expand=True)
    if parts.shape[1] < 2 or parts[1].isna().any():
        bad = rows.loc[parts[1].isna() if parts.shape[1] > 1 else rows.index, "term"].tolist()
        raise InvalidInputError(f"descriptive terms {bad[:3]} do not read 'statistic: visit'")
    rows["_stat"], rows["_visit"] = parts[0].str.strip(), parts[1].str.strip()
    out = []
    for (m, side, visit), g in rows.groupby(["measure", "side", "_visit"], sort=False):
        s = dict(zip(g["_stat"], g["estimate"]))
        dg = _digits(digits, m)
        rng = (MISSING if is_missing(s.get("min")) else
               f"{fmt_num(s.get('min'), dg)} to {fmt_num(s.get('max'), dg)}")
        out.append({
            "Measure": _measure_label(m, side), "Visit": visit,
            "n": fmt_num(s.get("n"), 0),
            "Mean (SD)": f"{fmt_num(s.get('mean'), dg)} ({fmt_num(s.get('sd'), dg)})",
            "Median [IQR]": f"{fmt_num(s.get('median'), dg)} "
                            f"{fmt_ci(s.get('q1'), s.get('q3'), dg)}".strip(),
            "Range": rng,
        })
    return pd.DataFrame(out)


_PAIRED_COLUMNS: list[tuple[str, str, str]] = [
    # (analysis, kind, column header)
    ("mean_difference", "est_ci", "Mean difference [95% CI]"),
    ("median_change", "est", "Median change"),
    ("paired_t", "test", "t"),
    ("wilcoxon", "test", "V"),
    ("wilcoxon_normal", "test", "z"),
    ("cohens_dz", "est_ci", "d_z [95% CI]"),
    ("cohens_dav", "est_ci", "d_av [95% CI]"),
    ("hedges_gav", "est_ci", "g_av [95% CI]"),
    ("rank_biserial", "est_ci", "r_rb [95% CI]"),
]
_TEST_NAMES = {"paired_t": "t", "wilcoxon": "Wilcoxon", "wilcoxon_normal": "z"}


def _wide(rows: pd.DataFrame, spec: list[tuple[str, str, str]], digits: Digits,
          keys: list[str]) -> pd.DataFrame:
    """One display row per key, one or more columns per analysis present in ``spec``."""
    present = [s for s in spec if s[0] in set(rows["analysis"])]
    adjusted = {a for a, kind, _ in present if kind == "test"
                and rows.loc[rows["analysis"] == a, "p_adjusted"].notna().any()}
    out = []
    for key, g in rows.groupby(keys, sort=False):
        key = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        dg = _digits(digits, key.get("measure", ""))
        rec: dict[str, str] = {"Measure": _measure_label(key["measure"], key["side"])}
        if "patient_id" in key and key["patient_id"]:
            rec = {"Patient": key["patient_id"], **rec}
        rec["Comparison"] = key["term"]
        n = g["n_obs"].dropna()
        rec["n"] = fmt_num(n.iloc[0], 0) if len(n) else MISSING
        for a, kind, header in present:
            r = g[g["analysis"] == a]
            r = r.iloc[0] if len(r) else None
            get = (lambda c: np.nan) if r is None else r.get  # noqa: E731
            if kind == "est_ci":
                rec[header] = fmt_est_ci(get("estimate"), get("ci_low"), get("ci_high"), dg)
            elif kind == "est":
                rec[header] = fmt_num(get("estimate"), dg)
            else:
                df = get("df")
                rec[header] = _stat(get("statistic"), dg) + ("" if is_missing(df)
                                                              else f" ({fmt_df(df)})")
                rec[f"p ({_TEST_NAMES[a]})"] = fmt_p(get("p_value"), prefix=False)
                if a in adjusted:
                    rec[f"p adj. ({_TEST_NAMES[a]})"] = fmt_p(get("p_adjusted"), prefix=False)
        out.append(rec)
    return pd.DataFrame(out)


def paired_table(results: pd.DataFrame, *, digits: Digits = 2) -> pd.DataFrame:
    """Baseline against each follow-up: mean difference, tests and effect sizes.

    One row per measure, side and comparison (``term``). Columns appear only for analyses
    present: mean difference [95% CI], median change, t (df) and p, Wilcoxon V and p, z and p,
    d_z, d_av, g_av and r_rb with 95% CIs; adjusted p-values when any row has one.

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> res = result_frame([
    ...   {"measure": "x", "analysis": "paired_t", "term": "post - pre", "statistic": 4.7434,
    ...    "df": 9, "p_value": 0.001054, "n_obs": 10},
    ...   {"measure": "x", "analysis": "cohens_dz", "term": "post - pre", "estimate": 1.5,
    ...    "ci_low": 0.5605, "ci_high": 2.4034, "n_obs": 10}])
    >>> paired_table(res).iloc[0].tolist()
    ['x', 'post - pre', '10', '4.74 (9)', '.001', '1.50 [0.56, 2.40]']
    """
    rows = _rows(results, [a for a, _, _ in _PAIRED_COLUMNS], "paired-comparison")
    return _wide(rows, _PAIRED_COLUMNS, digits, ["measure", "side", "term"])


def contrasts_table(results: pd.DataFrame, *, digits: Digits = 2) -> pd.DataFrame:
    """Mixed-model contrasts against baseline (``lmm_contrast`` rows).

    Columns: Measure, Contrast, Estimate [95% CI], SE, df, df method, t, p, p (Holm).

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> res = result_frame([{"measure": "tug", "analysis": "lmm_contrast",
    ...     "term": "post_m6 - baseline", "estimate": -2.5, "se": 0.8, "df": 17.26,
    ...     "df_method": "satterthwaite", "statistic": -3.125, "p_value": 0.0061,
    ...     "p_adjusted": 0.0122, "ci_low": -4.19, "ci_high": -0.81}])
    >>> contrasts_table(res).iloc[0].tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['tug', 'post_m6 - baseline', '-2.50 [-4.19, -0.81]', '0.80', '17.3', 'Satterthwaite',
     '-3.12', '.006', '.012']
    """
    rows = _rows(results, ["lmm_contrast"], "mixed-model")
    out = []
    for _, r in rows.iterrows():
        dg = _digits(digits, r["measure"])
        out.append({
            "Measure": _measure_label(r["measure"], r["side"]), "Contrast": r["term"],
            "Estimate [95% CI]": fmt_est_ci(r["estimate"], r["ci_low"], r["ci_high"], dg),
            "SE": fmt_num(r["se"], dg), "df": fmt_df(r["df"]),
            "df method": r["df_method"].capitalize() if r["df_method"] else MISSING,
            "t": fmt_num(r["statistic"], 2), "p": fmt_p(r["p_value"], prefix=False),
            "p (Holm)": fmt_p(r["p_adjusted"], prefix=False),
        })
    return pd.DataFrame(out)


def responders_table(results: pd.DataFrame) -> pd.DataFrame:
    """Responder proportions with Wilson and Clopper-Pearson 95% CIs (in %).

    Uses ``responder`` (Wilson), ``responder_cp`` (Clopper-Pearson) and
    ``improved_one_grade`` (Wilson) rows; responders = ``statistic`` (the count) when given,
    else round(estimate * n_patients); an empty estimate gives an empty cell.

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> res = result_frame([
    ...   {"measure": "gait_speed", "analysis": "responder", "term": "post_m6: MCID",
    ...    "estimate": 0.6, "ci_low": 0.2307, "ci_high": 0.8824, "n_patients": 5},
    ...   {"measure": "gait_speed", "analysis": "responder_cp", "term": "post_m6: MCID",
    ...    "estimate": 0.6, "ci_low": 0.1466, "ci_high": 0.9473, "n_patients": 5}])
    >>> responders_table(res).iloc[0].tolist()
    ['gait_speed', 'post_m6: MCID', '3/5 (60%)', '[23, 88]', '[15, 95]']
    """
    rows = _rows(results, ["responder", "responder_cp", "improved_one_grade"], "responder")
    rows = rows.assign(_crit=np.where(rows["analysis"] == "improved_one_grade",
                                      rows["term"] + ": improved \u2265 1 grade", rows["term"]))
    out = []
    for (m, side, crit), g in rows.groupby(["measure", "side", "_crit"], sort=False):
        first = g.iloc[0]
        total = first["n_patients"] if not is_missing(first["n_patients"]) else first["n_obs"]
        if not is_missing(first["statistic"]):  # responder rows carry the count here
            k = float(first["statistic"])
        elif is_missing(total) or is_missing(first["estimate"]):
            k = np.nan
        else:
            k = round(float(first["estimate"]) * float(total))
        wil = g[g["analysis"].isin(["responder", "improved_one_grade"])]
        cp = g[g["analysis"] == "responder_cp"]
        out.append({
            "Measure": _measure_label(m, side), "Criterion": crit,
            "Responders, n/N (%)": MISSING if is_missing(k) else
            f"{int(k)}/{int(total)} ({fmt_num(100 * float(first['estimate']), 0)}%)",
            "Wilson 95% CI (%)": MISSING if wil.empty else
            fmt_ci(100 * wil["ci_low"].iloc[0], 100 * wil["ci_high"].iloc[0], 0),
            "Clopper-Pearson 95% CI (%)": MISSING if cp.empty else
            fmt_ci(100 * cp["ci_low"].iloc[0], 100 * cp["ci_high"].iloc[0], 0),
        })
    return pd.DataFrame(out)


def single_case_table(
    results: pd.DataFrame,
    *,
    analyses: Sequence[str] = SINGLE_CASE_ANALYSES,
    digits: Digits = 2,
) -> pd.DataFrame:
    """One-patient analyses: one row per result, columns left out when empty for every row.

    Columns: Patient, Measure, Analysis, Term, Estimate [95% CI], Statistic, df, p.

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> res = result_frame([{"measure": "tug", "patient_id": "P01", "analysis": "nap",
    ...     "term": "A vs B", "estimate": 1.0, "ci_low": 0.6115, "ci_high": 1.0}])
    >>> single_case_table(res).iloc[0].tolist()
    ['P01', 'tug', 'NAP', 'A vs B', '1.00 [0.61, 1.00]']
    """
    rows = _rows(results, analyses, "single-case")
    out = []
    for _, r in rows.iterrows():
        dg = _digits(digits, r["measure"])
        out.append({
            "Patient": r["patient_id"] or MISSING,
            "Measure": _measure_label(r["measure"], r["side"]) or MISSING,
            "Analysis": ANALYSIS_LABELS.get(r["analysis"], r["analysis"]),
            "Term": r["term"] or MISSING,
            "Estimate [95% CI]": fmt_est_ci(r["estimate"], r["ci_low"], r["ci_high"], dg),
            "Statistic": _stat(r["statistic"], dg), "df": fmt_df(r["df"]),
            "p": fmt_p(r["p_value"], prefix=False),
        })
    table = pd.DataFrame(out)
    keep = [c for c in table.columns if (table[c] != MISSING).any()]
    return table[keep]


_NUMERIC_CELL = re.compile(r"^(?:[<>]\s*)?[-+\[]?[.\d]")


def _right_aligned(col: pd.Series) -> bool:
    """A column is right-aligned when every non-missing cell starts like a number."""
    cells = [str(v) for v in col if str(v) not in (MISSING, "", "nan")]
    return bool(cells) and all(_NUMERIC_CELL.match(c) for c in cells)


def _cell(value: Any) -> str:
    text = MISSING if is_missing(value) else str(value)
    return " ".join(text.split()).replace("|", r"\|")


def to_markdown(df: pd.DataFrame, caption: str | None = None, *,
                label: str | None = None) -> str:
    """Render a display table as a Pandoc pipe table (with a Quarto caption and label).

    Parameters
    ----------
    df : DataFrame
        Display table (the index is not printed).
    caption : str, optional
        Written after the table as ``: caption {#tbl-label}``.
    label : str, optional
        Cross-reference id; ``tbl-`` is prefixed when missing (Quarto needs it).

    Examples
    --------
    >>> t = pd.DataFrame({"Measure": ["a|b"], "p": [".043"]})
    >>> print(to_markdown(t, "Tests", label="tests"))
    | Measure | p |
    |:---|---:|
    | a\\|b | .043 |
    <BLANKLINE>
    : Tests {#tbl-tests}
    """
    if df.shape[1] == 0:
        raise InvalidInputError("the table has no columns; nothing to render")
    header = "| " + " | ".join(_cell(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---:" if _right_aligned(df[c]) else ":---" for c in df.columns) + "|"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |"
            for row in df.itertuples(index=False, name=None)]
    text = "\n".join([header, rule, *body])
    if label and caption is None:
        raise InvalidInputError(f"label {label!r} needs a caption (Quarto cross-references "
                         "captioned tables only)")
    if caption is not None:
        cap = " ".join(caption.split())
        if label:
            cap += f" {{#{label if label.startswith('tbl-') else 'tbl-' + label}}}"
        text += f"\n\n: {cap}"
    return text


def to_great_table(df: pd.DataFrame, title: str | None = None, *,
                   subtitle: str | None = None, source_note: str | None = None) -> Any:
    """Render a display table as a great_tables ``GT`` (for HTML output).

    Examples
    --------
    >>> gt = to_great_table(pd.DataFrame({"Measure": ["tug"], "p": [".043"]}), "Tests")
    >>> ".043" in gt.as_raw_html()
    True
    """
    from great_tables import GT

    gt = GT(df.reset_index(drop=True))
    if title is not None:
        gt = gt.tab_header(title=title, subtitle=subtitle)
    right = [c for c in df.columns if _right_aligned(df[c])]
    if right:
        gt = gt.cols_align(align="right", columns=right)
    if source_note:
        gt = gt.tab_source_note(source_note)
    return gt
