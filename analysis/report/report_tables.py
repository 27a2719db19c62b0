"""The tables of the two reports, in clinical words, with degenerate statistics flagged.

Each builder takes a :class:`analysis.report.context.ReportContext` and returns a display
DataFrame of formatted strings (and, for result tables, footnotes): labels from the codebook,
visits in words, unit symbols, ordinal values as grades. :func:`flag` marks an interval that
collapsed to a point, reaches or passes the bounds of a bounded index, or does not contain its
estimate; the footnote quotes the row's ``note``.
"""

from __future__ import annotations

import pandas as pd

from analysis.report.context import ReportContext
from analysis.report.facts import ordinal_median
from analysis.report.formatting import MISSING, fmt_df, fmt_est_ci, fmt_num, fmt_p
from analysis.report.labels import GAIT_LAB_MEASURES, grade, grade_steps, phase_word, unit_symbol
from analysis.report.outcome_text import median_steps
from analysis.report.responder_tables import (  # noqa: F401 (the qmds use rt.<name>)
    effect_size_rows,
    effect_sizes_table,
    gait_table,
    grade_steps_text,
    responders_table,
)
from analysis.report.single_case_table import single_case_label, single_case_rows  # noqa: F401
from analysis.report.statements import digits_of, first_clause
from analysis.report.table_notes import _BETTER, BOUNDS, Footnotes, flag  # noqa: F401

__all__ = ["flag", "Footnotes", "measures_table", "reference_values_table", "timeline_table",
           "case_outcomes_table", "series_outcomes_table", "contrasts_table", "single_case_rows",
           "responders_table", "effect_size_rows", "effect_sizes_table"]


def measures_table(ctx: ReportContext) -> pd.DataFrame:
    """The measures of the data: label, unit, direction of improvement, MCID, MDC, source."""
    out = []
    for key in ctx.measures:
        m = ctx.measure_info(key)
        if m is None:
            continue
        out.append({
            "Measure": m.label, "Unit": unit_symbol(m.unit) or MISSING,
            "Better": _BETTER.get(m.better, m.better),
            "MCID": fmt_num(m.mcid, 2) if m.mcid is not None else MISSING,
            "MDC": fmt_num(m.mdc, 2) if m.mdc is not None else MISSING,
            "Source": (m.mcid_source or m.source or MISSING),
        })
    return pd.DataFrame(out)


def _value(info, v) -> str:
    if info is not None and info.levels:
        return grade(info, v)
    return fmt_num(v, digits_of(None, info))


def reference_values_table(ctx: ReportContext) -> pd.DataFrame:
    """Values of the patient(s) at the reference visit (grades for ordinal measures)."""
    ref = ctx.obs[(ctx.obs["visit"] == ctx.reference)].dropna(subset=["value"])
    out = []
    for (m, s), rows in ref.groupby(["measure", "side"], sort=True):
        info = ctx.measure_info(m)
        if ctx.patient is not None:
            text = _value(info, rows["value"].iloc[-1])
        elif info is not None and info.levels:
            text = f"median {ordinal_median(info, rows['value'])[0]}"
        else:
            dg = digits_of(None, info)
            text = f"{fmt_num(rows['value'].mean(), dg)} ({fmt_num(rows['value'].std(), dg)})"
        out.append({"Measure": ctx.label(m, s), "Value": text,
                    "Unit": unit_symbol(getattr(info, "unit", "")) or MISSING,
                    **({} if ctx.patient is not None else {"n": str(rows["patient_id"].nunique())})})
    return pd.DataFrame(out)


def baseline_summary_table(ctx: ReportContext) -> pd.DataFrame:
    """Demographics of every patient, then each measure at the reference visit with its own n:
    the patients with a value there (never the number of patients in the data).

    Columns ``Characteristic`` and ``Value``.
    """
    from analysis.report.tables import baseline_table

    base = baseline_table(ctx.run.patients, ctx.all_obs, codebook=ctx.codebook,
                          baseline_visit=ctx.reference, measures=[])
    values = reference_values_table(ctx)
    have = {k: v for k, v in ctx.facts.with_reference.items() if v}
    n_ref = len(set().union(*have.values())) if have else 0
    rows = [("Patients with a value at the reference visit, n", str(n_ref))]
    for r in values.itertuples(index=False):
        unit = f" ({r.Unit})" if r.Unit != MISSING else ""
        stat = "median" if str(r.Value).startswith("median") else "mean (SD)"
        rows.append((f"{r.Measure}{unit}, {stat}", f"{str(r.Value).removeprefix('median ')}"
                     f" (n = {r.n})"))
    return pd.concat([base, pd.DataFrame(rows, columns=["Characteristic", "Value"])],
                     ignore_index=True)


def timeline_table(ctx: ReportContext) -> pd.DataFrame:
    """Phases of one patient: visits, days (when recorded) and doses."""
    out = []
    obs = ctx.obs
    for phase in ctx.phases:
        part = obs[obs["phase"] == phase]
        visits = sorted(part["visit"].unique(), key=ctx.visit_rank)
        rec = {"Phase": phase_word(phase).capitalize(),
               "Visits": (ctx.labels(visits[0]) if len(visits) == 1 else
                          f"{ctx.labels(visits[0])} to {ctx.labels(visits[-1])} ({len(visits)})")}
        if ctx.has_day:
            rec["Days"] = f"{fmt_num(part['day'].min(), 0)} to {fmt_num(part['day'].max(), 0)}"
        d = part["dose_ug_day"].dropna() if "dose_ug_day" in part else pd.Series(dtype=float)
        rec["Dose (µg/day)"] = (MISSING if d.empty else fmt_num(d.min(), 0) if d.min() == d.max()
                                else f"{fmt_num(d.min(), 0)} to {fmt_num(d.max(), 0)}")
        out.append(rec)
    return pd.DataFrame(out)


def case_outcomes_table(ctx: ReportContext) -> pd.DataFrame:
    """One patient, every measure at its own last visit against the reference visit; a measure
    the gait laboratory also gives is labelled "(clinical sheet)", its source here."""
    out = []
    ch = ctx.run.changes
    ch = ch[(ch["patient_id"] == ctx.patient) & ch["change"].notna()]
    for (m, s), rows in ch.groupby(["measure", "side"], sort=True):
        last = rows.assign(_r=rows["visit"].map(ctx.visit_rank)).sort_values("_r").iloc[-1]
        info = ctx.measure_info(m)
        term = f"{last['visit']} - {ctx.reference}"
        steps = grade_steps(info, last["baseline"], last["value"]) if info is not None else None
        change = (f"{steps:+d} step{'s' if abs(steps) != 1 else ''}" if steps is not None
                  else fmt_num(last["change"], digits_of(None, info)))
        rci = ctx.rows("rci", measure=m, side=s, patient=ctx.patient, term=term)
        cls = ctx.rows("mcid_class", measure=m, side=s, patient=ctx.patient, term=term)
        out.append({
            "Measure": ctx.label(m, s, unit=True)
            + (" (clinical sheet)" if m in GAIT_LAB_MEASURES else ""),
            "Visit": ctx.labels(last["visit"]),
            "Reference": _value(info, last["baseline"]), "Follow-up": _value(info, last["value"]),
            "Change": change,
            "RCI": fmt_num(rci.iloc[0]["estimate"], 2) if len(rci) else MISSING,
            "Against the MCID": first_clause(cls.iloc[0]["note"]) if len(cls) else MISSING,
        })
    return pd.DataFrame(out)


def series_outcomes_table(ctx: ReportContext) -> tuple[pd.DataFrame, Footnotes]:
    """Every measure at its own last visit with a paired comparison against the reference."""
    notes = Footnotes()
    out = []
    keys = ctx.results[ctx.results["analysis"].isin(["mean_difference", "median_change"])
                       & (ctx.results["patient_id"] == "")][["measure", "side"]].drop_duplicates()
    for m, s in keys.itertuples(index=False):
        info = ctx.measure_info(m)
        kind = "mean_difference" if ctx.has("mean_difference", measure=m, side=s) else "median_change"
        term = ctx.latest_term(kind, m, s)
        if term is None:
            continue
        r = ctx.rows(kind, measure=m, side=s, patient="", term=term).iloc[0]
        dg = digits_of(r, info)
        test = "paired_t" if kind == "mean_difference" else "wilcoxon"
        t = ctx.rows(test, measure=m, side=s, patient="", term=term)
        es = ctx.rows("cohens_dz" if kind == "mean_difference" else "rank_biserial",
                      measure=m, side=s, patient="", term=term)
        e = es.iloc[0] if len(es) else None
        change = fmt_est_ci(r["estimate"], r["ci_low"], r["ci_high"], dg) + notes.mark(flag(r))
        if info is not None and info.levels:
            change = _median_steps(ctx, m, s, term.split(" - ")[0], info)
        out.append({
            "Measure": ctx.label(m, s, unit=True), "Visit": ctx.labels(term.split(" - ")[0]),
            "n": fmt_num(r["n_patients"], 0),
            "Change [95% CI]": change,
            "Test": ("paired t" if test == "paired_t" else "Wilcoxon") if len(t) else MISSING,
            "p": fmt_p(t.iloc[0]["p_value"], prefix=False) if len(t) else MISSING,
            "p adjusted": fmt_p(t.iloc[0]["p_adjusted"], prefix=False) if len(t) else MISSING,
            "Effect size [95% CI]": MISSING if e is None or pd.isna(e["estimate"]) else
            ("*d*~z~ " if kind == "mean_difference" else "*r*~rb~ ")
            + fmt_est_ci(e["estimate"], e["ci_low"], e["ci_high"], 2) + notes.mark(flag(e)),
        })
    return pd.DataFrame(out), notes


def _median_steps(ctx: ReportContext, m: str, s: str, visit: str, info) -> str:
    """Median change of an ordinal measure in steps of its scale (MAS 1+ -> 1 is one step)."""
    ch = ctx.run.changes
    ch = ch[(ch["measure"] == m) & (ch["side"] == s) & (ch["visit"] == visit) & ch["change"].notna()]
    steps = [grade_steps(info, b, a) for b, a in zip(ch["baseline"], ch["value"], strict=False)]
    steps = pd.Series([x for x in steps if x is not None], dtype=float)
    if steps.empty:
        return MISSING
    return "median " + median_steps(steps.median()).replace(" level", "")


def _clmm_term(ctx: ReportContext, term: str, reference: str) -> str:
    """A cumulative link model's term ``visit<code>`` as "<visit> against <reference>"."""
    visit = term[len("visit"):] if term.startswith("visit") else term
    if term.startswith("visit") and reference:
        return f"{ctx.labels(visit)} against {ctx.labels(reference)}"
    return ctx.words(term)


#: How the reports name a linear mixed model that study.yaml asked for on an ordinal measure.
ASKED_LINEAR_LABEL = ("Linear mixed model on grade codes, as requested in study.yaml; grades "
                      "are not distances")


def contrasts_table(ctx: ReportContext) -> pd.DataFrame:
    """Mixed-model contrasts of the primary outcome, visits in words."""
    m, s = ctx.primary.measure, ctx.primary.side
    if ctx.is_ordinal(m):
        # no linear model of level codes: the cumulative link model's rows when present
        clmm = ctx.rows("clmm_fixed", measure=m, patient="")
        ref = ctx.run.config.reference_visit or ""
        table = pd.DataFrame([{
            **({"Side": ctx.label(m, r["side"]).rsplit(", ", 1)[-1]} if r["side"] else {}),
            "Term": _clmm_term(ctx, str(r["term"]), ref),
            "Estimate [95% CI] (log odds)": fmt_est_ci(r["estimate"], r["ci_low"], r["ci_high"], 2),
            "p": fmt_p(r["p_value"], prefix=False)} for _, r in clmm.iterrows()])
        if not ctx.linear_asked(m):
            return table
        # asked for in study.yaml: the linear model of the grade codes, labelled as asked
        lmm = ctx.rows("lmm_contrast", measure=m, side=s, patient="")
        asked = pd.DataFrame([{
            "Model": ASKED_LINEAR_LABEL, "Term": ctx.labels.term(r["term"]),
            "Estimate [95% CI]": fmt_est_ci(r["estimate"], r["ci_low"], r["ci_high"], 2),
            "p": fmt_p(r["p_value"], prefix=False)} for _, r in lmm.iterrows()])
        if table.empty:
            return asked
        table = table.rename(columns={"Estimate [95% CI] (log odds)": "Estimate [95% CI]"})
        table.insert(0, "Model", "Cumulative link mixed model (log odds)")
        return pd.concat([table, asked], ignore_index=True).fillna("")
    rows = ctx.rows("lmm_contrast", measure=m, side=s, patient="")
    info = ctx.measure_info(m)
    dg = digits_of(None, info)
    return pd.DataFrame([{
        "Contrast": ctx.labels.term(r["term"]),
        "Estimate [95% CI]": fmt_est_ci(r["estimate"], r["ci_low"], r["ci_high"], dg),
        "df": fmt_df(r["df"]), "p": fmt_p(r["p_value"], prefix=False),
        "p (Holm)": fmt_p(r["p_adjusted"], prefix=False),
    } for _, r in rows.sort_values("term", key=lambda t: t.map(
        lambda x: ctx.visit_rank(x.split(' - ')[0]))).iterrows()])
