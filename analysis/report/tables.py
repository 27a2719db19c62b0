"""The baseline table and the two table renderers.

The result tables of the reports, in clinical words, are built by
:mod:`analysis.report.report_tables`. A display table (formatted strings; a missing value is an
en dash) is rendered with :func:`to_markdown` (a Pandoc pipe table, the one Markdown writer of
the package, right for HTML, PDF and DOCX) or :func:`to_great_table` (HTML).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import InvalidInputError
from analysis.report.escape import markdown_prose
from analysis.report.formatting import (
    MISSING,
    digits_for,
    fmt_ci,
    fmt_n_pct,
    fmt_num,
    is_missing,
)


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
    >>> [v.replace("\xa0", " ") for v in baseline_table(pts, obs).to_dict("list")["Value"]]
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


_NUMERIC_CELL = re.compile(r"^(?:[<>]\s*)?[-+\u2212\[]?[.\d]")
_FOOTNOTE_MARK = re.compile(r"\s*\^[a-z]\^")


def _right_aligned(col: pd.Series) -> bool:
    """A column is right-aligned when every non-missing cell is a number, possibly with an
    interval, a percentage or a footnote mark ("1.50 [0.56, 2.40]", "3/5 (60%)", "< .001");
    text that starts with a number ("12 months after implantation") stays left-aligned."""
    cells = [_FOOTNOTE_MARK.sub("", str(v)) for v in col if str(v) not in (MISSING, "", "nan")]
    return bool(cells) and all(_NUMERIC_CELL.match(c) and not re.search(r"[A-Za-z]", c)
                               for c in cells)


def _cell(value: Any) -> str:
    # Collapse line breaks and runs of spaces, but keep no-break spaces (str.split would not);
    # then the one boundary between data and documents (pipes included).
    text = MISSING if is_missing(value) else str(value)
    return markdown_prose(re.sub(r"[ \t\r\n]+", " ", text).strip())


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
        cap = markdown_prose(" ".join(caption.split()))
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
