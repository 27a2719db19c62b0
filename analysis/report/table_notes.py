"""Footnotes of the report tables, and :func:`flag`: why an interval of a results row
needs a comment (collapsed to a point, at or past the bounds of a bounded index, or not
containing its estimate)."""

from __future__ import annotations

import math

import pandas as pd

from analysis.report.escape import Markdown, markdown_prose
from analysis.report.formatting import fmt_num
from analysis.report.statements import first_clause

__all__ = ["BOUNDS", "flag", "Footnotes"]

#: Bounds of bounded indices (estimate and interval), on the scale of results.csv (shares of
#: controls and PND are proportions: :mod:`analysis.stats.single_case.shares`).
BOUNDS = {"nap": (0.0, 1.0), "tau_u": (-1.0, 1.0), "rank_biserial": (-1.0, 1.0),
          "pct_more_extreme": (0.0, 1.0),
          "pnd": (0.0, 1.0), "responder": (0.0, 1.0), "improved_one_grade": (0.0, 1.0)}

_BETTER = {"higher": "higher", "lower": "lower", "towards_normal": "towards the normal range",
           "context": "depends on the clinical context"}


def flag(row: pd.Series, *, scale: float = 1.0) -> str:
    """Why an interval of a results row needs a comment, or "".

    ``scale`` is the factor by which the row's numbers were multiplied for display (100 for a
    share shown in percent); the bounds of the index are scaled alike.

    Examples
    --------
    >>> flag(pd.Series({"analysis": "rank_biserial", "estimate": -1.0, "ci_low": -1.0,
    ...                 "ci_high": -1.0, "note": "all differences negative"}))
    'the interval collapsed to a single point at the bound of the index (all differences negative)'
    >>> flag(pd.Series({"analysis": "tau_u", "estimate": 0.9, "ci_low": 0.4, "ci_high": 1.37,
    ...                 "note": ""})).replace("\u2212", "-")
    'the interval passes the bound of the index (-1 to 1); read it as truncated there'
    """
    lo, hi, est = row.get("ci_low"), row.get("ci_high"), row.get("estimate")
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return ""
    note = first_clause(row.get("note", ""))
    tail = f" ({note})" if note else ""
    bounds = BOUNDS.get(str(row.get("analysis")))
    if bounds is not None:
        bounds = (bounds[0] * scale, bounds[1] * scale)
    if math.isclose(float(lo), float(hi), rel_tol=1e-9, abs_tol=1e-12):
        at = bounds is not None and any(math.isclose(float(lo), b, abs_tol=1e-12) for b in bounds)
        return ("the interval collapsed to a single point" + (" at the bound of the index" if at
                                                               else "") + tail)
    if bounds is not None and (float(lo) < bounds[0] - 1e-9 or float(hi) > bounds[1] + 1e-9):
        return (f"the interval passes the bound of the index ({fmt_num(bounds[0], 0)} to "
                f"{fmt_num(bounds[1], 0)}); read it as truncated there" + tail)
    if est is not None and pd.notna(est) and not float(lo) - 1e-9 <= float(est) <= float(hi) + 1e-9:
        return "the estimate lies outside its interval" + tail
    if bounds is not None and (math.isclose(float(lo), bounds[0], abs_tol=1e-12)
                               or math.isclose(float(hi), bounds[1], abs_tol=1e-12)):
        return "the interval reaches the bound of the index" + tail
    return ""


class Footnotes:
    """Collects footnotes and returns their markers ("a", "b", ...)."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def mark(self, text: str) -> str:
        if not text:
            return ""
        if text not in self.notes:
            self.notes.append(text)
        return f" ^{chr(ord('a') + self.notes.index(text))}^"

    def markdown(self) -> Markdown:
        """The footnotes as paragraphs, through the boundary of :mod:`analysis.report.escape`."""
        return markdown_prose("\n\n".join(f"^{chr(ord('a') + i)}^ {t[:1].upper() + t[1:]}."
                                            for i, t in enumerate(self.notes)))
