"""The one-patient table of the case report: phase (AB) analyses, dose slope and the
comparisons with controls, each labelled with its statistic, sidedness, norms and what its
estimate is."""

from __future__ import annotations

import re

import pandas as pd

from analysis.report.context import ReportContext
from analysis.report.formatting import fmt_est_ci, fmt_num, fmt_p, fmt_stat
from analysis.report.labels import side_word, unit_symbol
from analysis.report.outcome_text import primary_sides
from analysis.report.statements import first_clause
from analysis.report.table_notes import Footnotes, flag

__all__ = ["single_case_label", "single_case_rows"]

_SC_NAMES = {"crawford_howell": "Crawford-Howell t", "pct_more_extreme": "% of controls beyond",
             "z_cc": "Z-CC", "bayes_single_case": "Bayesian",
             "rsdt": "Revised standardised difference test", "nap": "NAP", "tau_u": "Tau-U",
             "pnd": "PND (%)", "piecewise": "Piecewise regression", "dose_slope": "Dose slope"}


def _sided(term: str) -> str:
    """"two-sided" or "one-sided, lower"/"one-sided, higher" from a Crawford-Howell term."""
    t = str(term)
    if "two-sided" in t:
        return "two-sided"
    if "one-sided" in t:
        tail = t.rsplit("one-sided", 1)[1]
        return "one-sided, " + ("lower" if "less" in tail else "higher" if "greater" in tail
                                else tail.strip(" ()") or "one tail")
    return ""


def _beyond(term: str) -> str:
    """"below" / "above" (worse/better) of a percentage term ("controls below (worse) patient")."""
    m = re.search(r"controls (below|above)(?: \((worse|better)\))?", str(term))
    if not m:
        return "beyond"
    return m[1] + (f" ({m[2]})" if m[2] else "")


def _source(term: str) -> str:
    """The norms a comparison used ("gait-lab norms") from the visit part of its term."""
    m = re.search(r"\(([^)]*norms[^)]*)\)", str(term).split(":")[0])
    return m[1] if m else "controls"


def _pct(value: float) -> str:
    """A percentage of controls: two decimals, "< 0.01" below (never a rounded 0.00)."""
    return "< 0.01" if pd.notna(value) and 0 <= value < 0.005 else fmt_num(value, 2)


def _is_share(analysis: str, term: str) -> bool:
    """A share of points or of controls (a proportion in results.csv, printed in percent)."""
    return analysis in ("pnd", "pct_more_extreme") or (
        analysis == "bayes_single_case" and "of controls" in str(term))


def single_case_label(analysis: str, term: str) -> str:
    """What a one-patient row is: its statistic and sidedness, or what its estimate measures.

    Examples
    --------
    >>> single_case_label("crawford_howell", "baseline: patient - controls: one-sided (less)")
    'Crawford-Howell t (one-sided, lower)'
    >>> single_case_label("bayes_single_case", "baseline: z_cc: patient - controls")
    'Bayesian Z-CC (patient - control mean)/SD, credible interval'
    >>> single_case_label("bayes_single_case",
    ...                   "baseline: percentage of controls below (worse) patient")
    'Bayesian % of controls below (worse) the patient'
    """
    if analysis == "crawford_howell":
        return f"Crawford-Howell t ({_sided(term)})" if _sided(term) else "Crawford-Howell t"
    if analysis == "pct_more_extreme":
        return f"% of controls {_beyond(term)} the patient (Crawford-Howell)"
    if analysis == "z_cc":
        return "Z-CC (patient - control mean)/SD, confidence interval"
    if analysis == "bayes_single_case":
        if "z_cc" in str(term):
            return "Bayesian Z-CC (patient - control mean)/SD, credible interval"
        return f"Bayesian % of controls {_beyond(term)} the patient"
    return _SC_NAMES[analysis]


def single_case_rows(ctx: ReportContext) -> tuple[pd.DataFrame, Footnotes]:
    """One-patient analyses of the primary outcome, bounded and degenerate ones flagged; a
    small dose slope is shown per 100 µg/day. Each comparison with controls is labelled with
    its statistic and sidedness (a t statistic as "t(df) = ..."), the norms it used, and what
    its estimate is (a percentage of controls: the median of the distribution that gives its
    interval, so inside it; the one-sided p is in the p column)."""
    notes = Footnotes()
    m, sides = ctx.primary.measure, primary_sides(ctx)
    rows = pd.concat([ctx.rows(tuple(_SC_NAMES), measure=m, side=s, patient=ctx.patient or "")
                      for s in sides])
    rows = rows[rows["estimate"].notna() | rows["p_value"].notna()]
    info = ctx.measure_info(m)
    if getattr(info, "kind", "") == "ordinal":  # a line through grade codes: not reported
        rows = rows[rows["analysis"] != "dose_slope"]
    out = []
    for _, r in rows.iterrows():
        dg = 2
        scale = 100.0 if _is_share(str(r["analysis"]), str(r["term"])) else 1.0
        if scale != 1.0:  # proportions in results.csv, printed as percentages
            r = r.copy()
            r[["estimate", "ci_low", "ci_high"]] = r[["estimate", "ci_low", "ci_high"]] * scale
        est, lo, hi = r["estimate"], r["ci_low"], r["ci_high"]
        what = first_clause(r["term"]).replace("dose_ug_day", "dose")
        mark = flag(r, scale=scale)
        text = None
        if r["analysis"] == "dose_slope":
            unit = unit_symbol(getattr(info, "unit", ""))
            if pd.notna(est) and abs(est) < 0.01:
                est, lo, hi = est * 100, lo * 100, hi * 100
                what = f"{unit} per 100 µg/day"
            else:
                what = f"{unit} per µg/day"
            dg = 3
        elif r["analysis"] in ("crawford_howell", "pct_more_extreme", "bayes_single_case",
                               "z_cc"):
            visit = str(r["term"]).split(":")[0].split("(")[0].strip()
            what = f"{ctx.labels(visit)}, against {_source(r['term'])}"
            if r["analysis"] == "crawford_howell":
                text = fmt_stat("t", r["statistic"], r["df"], None).split(",")[0]
            elif "%" in single_case_label(str(r["analysis"]), str(r["term"])):
                text = f"{_pct(est)} [{_pct(lo)}, {_pct(hi)}]" if pd.notna(lo) else _pct(est)
        out.append({
            **({"Side": side_word(r["side"])} if len(sides) > 1 else {}),
            "Analysis": single_case_label(str(r["analysis"]), str(r["term"])), "What": what,
            "Estimate [95% CI]": (text if text is not None else fmt_est_ci(est, lo, hi, dg))
            + notes.mark(mark),
            "p": fmt_p(r["p_value"], prefix=False),
        })
    return pd.DataFrame(out), notes
