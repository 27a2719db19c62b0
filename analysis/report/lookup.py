"""Numbers of the results table for the report text: one row by measure, analysis and
term (:func:`row`), formatted (:func:`num`, :func:`est_ci`, :func:`pval`, :func:`stat`).
The report documents use them as ``kit.<name>``."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.errors import RenderError
from analysis.report.formatting import (
    MISSING,
    digits_for,
    fmt_df,
    fmt_est_ci,
    fmt_num,
    fmt_p,
    fmt_stat,
)

__all__ = ["row", "has", "terms", "latest_term", "num", "est_ci", "pval", "stat"]

_INT_COLUMNS = ("n_patients", "n_obs")
_P_COLUMNS = ("p_value", "p_adjusted")


def _select(results: pd.DataFrame, measure: str, analysis: str, term: str,
            side: str | None, patient_id: str | None) -> pd.DataFrame:
    rows = results[(results["measure"] == measure) & (results["analysis"] == analysis)
                   & (results["term"] == term)]
    if side is not None:
        rows = rows[rows["side"] == side]
    if patient_id is not None:
        rows = rows[rows["patient_id"] == patient_id]
    return rows


def row(
    results: pd.DataFrame,
    measure: str,
    analysis: str,
    term: str,
    *,
    side: str | None = None,
    patient_id: str | None = None,
) -> pd.Series:
    """The one results row with this measure, analysis and term.

    ``side`` and ``patient_id`` narrow the match; left as ``None`` they must not be needed
    (exactly one row matches), except that a group row (empty side and patient) is preferred.

    Raises
    ------
    RenderError
        When no row or several rows match; the message lists what the table holds.

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> t = result_frame([{"measure": "tug", "analysis": "paired_t",
    ...                    "term": "post_m6 - baseline", "estimate": -2.5, "p_value": 0.01}])
    >>> row(t, "tug", "paired_t", "post_m6 - baseline")["estimate"]
    np.float64(-2.5)
    """
    rows = _select(results, measure, analysis, term, side, patient_id)
    if len(rows) > 1 and side is None and patient_id is None:
        group = rows[(rows["side"] == "") & (rows["patient_id"] == "")]
        rows = group if len(group) == 1 else rows
    if len(rows) == 1:
        return rows.iloc[0]
    if rows.empty:
        same = results[(results["measure"] == measure) & (results["analysis"] == analysis)]
        if same.empty:
            have = sorted(results.loc[results["measure"] == measure, "analysis"].unique())
            hint = (f"analyses of {measure!r}: {have}" if have
                    else f"measures: {sorted(results['measure'].unique())}")
        else:
            hint = f"terms of {measure!r} {analysis!r}: {sorted(same['term'].unique())}"
        raise RenderError(
            f"no results row for measure={measure!r}, analysis={analysis!r}, term={term!r}"
            f"{'' if side is None else f', side={side!r}'}"
            f"{'' if patient_id is None else f', patient_id={patient_id!r}'}; {hint}"
        )
    keys = rows[["side", "patient_id"]].drop_duplicates().to_dict("records")
    raise RenderError(
        f"{len(rows)} results rows match measure={measure!r}, analysis={analysis!r}, "
        f"term={term!r}; pass side= and/or patient_id= (they differ in {keys})"
    )


def has(results: pd.DataFrame, measure: str, analysis: str, term: str, **where: Any) -> bool:
    """True when exactly one results row matches (see :func:`row`).

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> has(result_frame([]), "tug", "paired_t", "x")
    False
    """
    try:
        row(results, measure, analysis, term, **where)
    except RenderError:
        return False
    return True


def terms(results: pd.DataFrame, measure: str, analysis: str, *,
          order: list[str] | None = None, side: str | None = None) -> list[str]:
    """The terms of a measure's rows of one analysis (group rows), in visit order.

    ``order`` is the visit order (e.g. :func:`analysis.data.derive.visit_order`); a term is
    placed by the visit before its ``" - "`` (``post_m6 - baseline`` -> ``post_m6``).

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> t = result_frame([{"measure": "x", "analysis": "paired_t", "term": f"{v} - bl"}
    ...                   for v in ("m6", "m3")])
    >>> terms(t, "x", "paired_t", order=["bl", "m3", "m6"])
    ['m3 - bl', 'm6 - bl']
    """
    rows = results[(results["measure"] == measure) & (results["analysis"] == analysis)
                   & (results["patient_id"] == "")]
    if side is not None:
        rows = rows[rows["side"] == side]
    found = list(dict.fromkeys(rows["term"]))
    if order:
        rank = {v: i for i, v in enumerate(order)}
        found.sort(key=lambda t: rank.get(t.split(" - ")[0], len(rank)))
    return found


def latest_term(results: pd.DataFrame, measure: str, analysis: str, *,
                order: list[str] | None = None, side: str | None = None) -> str | None:
    """The term of the latest visit with an estimate (see :func:`terms`), or None.

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> t = result_frame([{"measure": "x", "analysis": "paired_t", "term": "m6 - bl",
    ...                    "estimate": float("nan")},
    ...                   {"measure": "x", "analysis": "paired_t", "term": "m3 - bl",
    ...                    "estimate": 1.0}])
    >>> latest_term(t, "x", "paired_t", order=["bl", "m3", "m6"])
    'm3 - bl'
    """
    for term in reversed(terms(results, measure, analysis, order=order, side=side)):
        rows = _select(results, measure, analysis, term, side, "")
        if rows["estimate"].notna().any():
            return term
    return None


def _digits(results_row: pd.Series, digits: int | None, codebook: Any) -> int:
    if digits is not None:
        return digits
    unit = None
    if codebook is not None and results_row["measure"] in codebook:
        unit = codebook.measure(results_row["measure"]).unit
    method = str(results_row.get("method", "")).lower()
    if results_row["analysis"] == "therapeutic_window":
        return digits_for("ug/day")
    if results_row["analysis"] in ("cohens_dz", "cohens_dav", "hedges_gav", "rank_biserial",
                                   "z_cc", "nap", "tau_u", "lmm_icc", "rci"):
        return 2
    if results_row["analysis"] in ("responder", "responder_cp", "improved_one_grade") or "proportion" in method:
        return 2
    return digits_for(unit) if unit is not None else 2


def num(
    results: pd.DataFrame,
    measure: str,
    analysis: str,
    term: str,
    column: str = "estimate",
    digits: int | None = None,
    *,
    side: str | None = None,
    patient_id: str | None = None,
    codebook: Any = None,
) -> str:
    """One number of the results table, formatted for the text.

    p-values print in APA style ("p = .043", see :func:`analysis.report.formatting.fmt_p`); counts as
    integers; ``df`` as an integer or one decimal; other columns with ``digits`` decimals
    (default: from the measure's unit in ``codebook``, 2 for effect sizes, else 2).

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> t = result_frame([{"measure": "tug", "analysis": "paired_t", "term": "post_m6 - baseline",
    ...                    "estimate": -2.456, "p_value": 0.0123, "df": 9, "n_patients": 10}])
    >>> num(t, "tug", "paired_t", "post_m6 - baseline") == "\u22122.46"  # true minus sign
    True
    >>> num(t, "tug", "paired_t", "post_m6 - baseline", "p_value").replace("\xa0", " ")
    'p = .012'
    >>> num(t, "tug", "paired_t", "post_m6 - baseline", "n_patients"), \
num(t, "tug", "paired_t", "post_m6 - baseline", "df")
    ('10', '9')
    """
    r = row(results, measure, analysis, term, side=side, patient_id=patient_id)
    if column not in r.index:
        raise RenderError(f"no column {column!r} in the results table; columns: {list(r.index)}")
    value = r[column]
    if column in _P_COLUMNS:
        return fmt_p(value)
    if column in _INT_COLUMNS:
        return MISSING if pd.isna(value) else str(int(round(float(value))))
    if column == "df":
        return fmt_df(value)
    if isinstance(value, str):
        return value
    return fmt_num(value, _digits(r, digits, codebook))


def est_ci(results: pd.DataFrame, measure: str, analysis: str, term: str,
           digits: int | None = None, *, side: str | None = None,
           patient_id: str | None = None, codebook: Any = None) -> str:
    """Estimate with its 95% interval, "0.42 [0.21, 0.63]" (see :func:`num`).

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> t = result_frame([{"measure": "tug", "analysis": "cohens_dz", "term": "b - a",
    ...                    "estimate": 1.5, "ci_low": 0.5605, "ci_high": 2.4034}])
    >>> est_ci(t, "tug", "cohens_dz", "b - a").replace("\xa0", " ")
    '1.50 [0.56, 2.40]'
    """
    r = row(results, measure, analysis, term, side=side, patient_id=patient_id)
    return fmt_est_ci(r["estimate"], r["ci_low"], r["ci_high"], _digits(r, digits, codebook))


def pval(results: pd.DataFrame, measure: str, analysis: str, term: str, *,
         adjusted: bool = False, side: str | None = None, patient_id: str | None = None) -> str:
    """The (Holm-adjusted when ``adjusted``) p-value of a row, "p = .012"."""
    column = "p_adjusted" if adjusted else "p_value"
    return num(results, measure, analysis, term, column, side=side, patient_id=patient_id)


def stat(results: pd.DataFrame, measure: str, analysis: str, term: str, name: str = "t", *,
         digits: int = 2, side: str | None = None, patient_id: str | None = None) -> str:
    """A test for the text, "t(9) = 4.74, p = .001" (see :func:`analysis.report.formatting.fmt_stat`).

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> t = result_frame([{"measure": "x", "analysis": "paired_t", "term": "b - a",
    ...                    "statistic": 4.7434, "df": 9, "p_value": 0.001054}])
    >>> stat(t, "x", "paired_t", "b - a").replace("\xa0", " ")
    't(9) = 4.74, p = .001'
    """
    r = row(results, measure, analysis, term, side=side, patient_id=patient_id)
    return fmt_stat(name, r["statistic"], r["df"], r["p_value"], digits=digits)
