"""Tables of responders, effect sizes and motion-lab gait of the case series."""

from __future__ import annotations

import pandas as pd

from analysis.report.context import ReportContext
from analysis.report.formatting import MISSING, fmt_est_ci, fmt_num, fmt_p
from analysis.report.labels import unit_symbol
from analysis.report.table_notes import Footnotes, flag
from analysis.stats.individual_change import RCI_CRITICAL

__all__ = ["responders_table", "effect_size_rows", "effect_sizes_table", "gait_table",
           "grade_steps_text"]

def _threshold_words(info) -> str:
    """The threshold the individual classification used (MCID, else MDC, else half an SD)."""
    unit = unit_symbol(getattr(info, "unit", ""))
    if info is not None and info.mcid is not None:
        value = grade_steps_text(info, info.mcid) if info.levels else f"{fmt_num(info.mcid, 2)} {unit}"
        return f"improved by at least the MCID ({value.strip()})"
    if info is not None and info.mdc is not None:
        return f"improved by at least the MDC ({fmt_num(info.mdc, 2)} {unit}; no MCID published)"
    return "improved by at least half a standard deviation (no MCID or MDC published)"


def grade_steps_text(info, value: float) -> str:
    """An MCID of an ordinal scale in its code units ("1 grade")."""
    return f"{fmt_num(value, 0 if float(value).is_integer() else 1)} grade" + (
        "" if float(value) == 1 else "s")


def _pct_ci(row) -> str:
    if row is None or pd.isna(row["ci_low"]) or pd.isna(row["ci_high"]):
        return MISSING
    return f"{fmt_num(100 * row['ci_low'], 0)} to {fmt_num(100 * row['ci_high'], 0)}"


def _visit_of(term: str) -> str:
    """The visit of a responder term ("mcid: post_m6") or a contrast ("post_m6 - baseline")."""
    term = str(term)
    return term.split(":", 1)[1].strip() if ":" in term else term.split(" - ")[0].strip()


def responders_table(ctx: ReportContext, *, ordinal: bool | None = None
                     ) -> tuple[pd.DataFrame, Footnotes]:
    """Responders of each measure at its own last visit: improved by at least the MCID (or the
    threshold used instead), reliably improved (RCI), improved by at least one grade (ordinal
    scales); n/N (%) with Wilson and Clopper-Pearson 95% intervals. An interval that collapsed
    or passes 0-100 % is flagged; criteria with no classified patient are left out.

    ``ordinal=False`` keeps the measures on interval scales, ``True`` the ordinal scales (the
    report prints the first and puts the whole table in its supplement), ``None`` all."""
    notes = Footnotes()
    rows = ctx.rows(("responder", "responder_cp", "improved_one_grade"), patient="")
    rows = rows[rows["estimate"].notna()]
    out = []
    for (m, s), g in rows.groupby(["measure", "side"], sort=True):
        info = ctx.measure_info(m)
        if ordinal is not None and bool(info is not None and info.levels) != ordinal:
            continue
        g = g.assign(_visit=g["term"].map(_visit_of))
        last = max(g["_visit"], key=ctx.visit_rank)
        g = g[g["_visit"] == last]
        for crit in ("mcid", "rci", "grade"):
            if crit == "grade":
                wil = g[g["analysis"] == "improved_one_grade"]
                cp = g.iloc[0:0]
                words = "improved by at least one grade"
            else:
                wil = g[(g["analysis"] == "responder") & g["term"].str.startswith(f"{crit}:")]
                cp = g[(g["analysis"] == "responder_cp") & g["term"].str.startswith(f"{crit}:")]
                words = (_threshold_words(info) if crit == "mcid" else
                         "reliable improvement (Reliable Change Index above "
                         f"{fmt_num(RCI_CRITICAL, 2)})")
            if wil.empty:
                continue
            w = wil.iloc[0]
            total = w["n_patients"] if pd.notna(w["n_patients"]) else w["n_obs"]
            k = w["statistic"] if pd.notna(w["statistic"]) else round(float(w["estimate"]) * float(total))
            mark = flag(w)
            mark = "" if mark.startswith("the interval reaches") else mark
            out.append({
                "Measure": ctx.label(m, s), "Visit": ctx.labels(last), "Criterion": words,
                "Responders, n/N (%)": f"{int(k)}/{int(total)} ({fmt_num(100 * float(w['estimate']), 0)}%)",
                "Wilson 95% CI (%)": _pct_ci(w) + notes.mark(mark),
                "Clopper-Pearson 95% CI (%)": _pct_ci(cp.iloc[0] if len(cp) else None),
            })
    return pd.DataFrame(out), notes


_EFFECTS = (("cohens_dz", "*d*~z~ [95% CI]"), ("cohens_dav", "*d*~av~ [95% CI]"),
            ("hedges_gav", "*g*~av~ [95% CI]"))


def effect_size_rows(ctx: ReportContext) -> pd.DataFrame:
    """Rows of the results table behind :func:`effect_sizes_table` (and the forest plot):
    d_z, d_av and g_av of each measure and side at its own last visit against the reference."""
    picked = []
    rows = ctx.rows(tuple(a for a, _ in _EFFECTS), patient="")
    rows = rows[rows["estimate"].notna() & rows["term"].str.endswith(f" - {ctx.reference}")]
    for (_, _), g in rows.groupby(["measure", "side"], sort=True):
        last = max(g["term"], key=lambda t: ctx.visit_rank(t.split(" - ")[0]))
        picked.append(g[g["term"] == last])
    return pd.concat(picked) if picked else rows.iloc[0:0]


def effect_sizes_table(ctx: ReportContext) -> tuple[pd.DataFrame, Footnotes]:
    """Standardised mean changes of each measure at its own last visit: Cohen's d_z (change
    over the SD of the changes), d_av (change over the mean of the two visits' SDs) and Hedges'
    g_av (d_av with the small-sample correction), with 95% intervals; degenerate ones flagged."""
    notes = Footnotes()
    rows = effect_size_rows(ctx)
    out = []
    for (m, s, term), g in rows.groupby(["measure", "side", "term"], sort=True):
        rec = {"Measure": ctx.label(m, s), "Visit": ctx.labels(term.split(" - ")[0]),
               "n": fmt_num(g["n_obs"].max(), 0)}
        for analysis, header in _EFFECTS:
            r = g[g["analysis"] == analysis]
            rec[header] = MISSING if r.empty else (
                fmt_est_ci(r.iloc[0]["estimate"], r.iloc[0]["ci_low"], r.iloc[0]["ci_high"], 2)
                + notes.mark(flag(r.iloc[0])))
        out.append(rec)
    return pd.DataFrame(out), notes


def gait_table(ctx: ReportContext) -> pd.DataFrame:
    """Motion-lab gait of each patient with gait results rows (:mod:`analysis.gait.results`):
    Gait Profile Score at the first and last gait visit and its change, and the knee flexion
    clusters of the permutation SPM (last gait visit against the first). Empty unless at least
    two patients have gait rows (a case series; the case report has its own gait section).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from analysis.results import result_frame
    >>> R = result_frame([{"patient_id": p, "measure": "gps", "analysis": "gps", "term": t,
    ...                    "estimate": e} for p in ("P01", "P02")
    ...                   for t, e in (("bl", 6.0), ("post", 4.5), ("post - bl", -1.5))])
    >>> ctx = SimpleNamespace(results=R, labels=lambda v: v.upper())
    >>> gait_table(ctx).iloc[0].tolist()
    ['P01', 'BL → POST', '6.0', '4.5', '−1.5', 'none']
    """
    from analysis.report.labels import (
        side_word,  # local: this file's imports are not ours
    )

    R = ctx.results
    gps = R[(R["analysis"] == "gps") & (R["measure"] == "gps") & (R["patient_id"] != "")]
    if gps["patient_id"].nunique() < 2:
        return pd.DataFrame()
    out = []
    for pid, g in gps.groupby("patient_id", sort=True):
        change = g[g["term"].str.contains(" - ", regex=False)]
        if change.empty:
            continue
        later, first = change["term"].iloc[-1].split(" - ")
        value = g.set_index("term")["estimate"]
        spm = R[(R["analysis"] == "spm_cluster") & (R["patient_id"] == pid)
                & R["term"].str.startswith(f"knee_flexion: {later} - {first}: ")
                & (R["p_value"] < 0.05)]
        clusters = "; ".join(f"{side_word(r.side) or r.side} {r.term.rsplit(': ', 1)[1]} "
                             f"({fmt_p(r.p_value)})" for r in spm.itertuples()) or "none"
        out.append({"Patient": pid, "Visits": f"{ctx.labels(first)} → {ctx.labels(later)}",
                    "GPS first (°)": fmt_num(value.get(first), 1),
                    "GPS last (°)": fmt_num(value.get(later), 1),
                    "Change (°)": fmt_num(value.get(f"{later} - {first}"), 1),
                    "Knee flexion clusters (SPM)": clusters})
    return pd.DataFrame(out)
