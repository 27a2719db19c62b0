"""The tables of the two reports, in clinical words, with degenerate statistics flagged.

Each builder takes a :class:`analysis.report.context.ReportContext` and returns a display
DataFrame of formatted strings (and, for result tables, footnotes): labels from the codebook,
visits in words, unit symbols, ordinal values as grades. :func:`flag` marks an interval that
collapsed to a point, reaches or passes the bounds of a bounded index, or does not contain its
estimate; the footnote quotes the row's ``note``.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from analysis.report.context import ReportContext
from analysis.report.escape import Markdown, markdown_prose
from analysis.report.facts import ordinal_median
from analysis.report.formatting import MISSING, fmt_df, fmt_est_ci, fmt_num, fmt_p, fmt_stat
from analysis.report.labels import GAIT_LAB_MEASURES, grade, grade_steps, phase_word, unit_symbol
from analysis.report.statements import digits_of, first_clause
from analysis.stats.individual_change import RCI_CRITICAL

__all__ = ["flag", "Footnotes", "measures_table", "reference_values_table", "timeline_table",
           "case_outcomes_table", "series_outcomes_table", "contrasts_table", "single_case_rows",
           "responders_table", "effect_size_rows", "effect_sizes_table"]

#: Bounds of bounded indices (estimate and interval).
BOUNDS = {"nap": (0.0, 1.0), "tau_u": (-1.0, 1.0), "rank_biserial": (-1.0, 1.0),
          "pct_more_extreme": (0.0, 100.0),
          "pnd": (0.0, 100.0), "responder": (0.0, 1.0), "improved_one_grade": (0.0, 1.0)}

_BETTER = {"higher": "higher", "lower": "lower", "towards_normal": "towards the normal range",
           "context": "depends on the clinical context"}


def flag(row: pd.Series) -> str:
    """Why an interval of a results row needs a comment, or "".

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
    med = steps.median()
    return f"median {fmt_num(med, 0 if med % 1 == 0 else 1)} steps"


def _clmm_term(ctx: ReportContext, term: str, reference: str) -> str:
    """A cumulative link model's term ``visit<code>`` as "<visit> against <reference>"."""
    visit = term[len("visit"):] if term.startswith("visit") else term
    if term.startswith("visit") and reference:
        return f"{ctx.labels(visit)} against {ctx.labels(reference)}"
    return ctx.words(term)


def contrasts_table(ctx: ReportContext) -> pd.DataFrame:
    """Mixed-model contrasts of the primary outcome, visits in words."""
    m, s = ctx.primary.measure, ctx.primary.side
    if ctx.is_ordinal(m):
        # no linear model of level codes: the cumulative link model's rows when present
        clmm = ctx.rows("clmm_fixed", measure=m, patient="")
        ref = ctx.run.config.reference_visit or ""
        return pd.DataFrame([{
            **({"Side": ctx.label(m, r["side"]).rsplit(", ", 1)[-1]} if r["side"] else {}),
            "Term": _clmm_term(ctx, str(r["term"]), ref),
            "Estimate [95% CI] (log odds)": fmt_est_ci(r["estimate"], r["ci_low"], r["ci_high"], 2),
            "p": fmt_p(r["p_value"], prefix=False)} for _, r in clmm.iterrows()])
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
    its estimate is; a percentage whose (mean) point estimate lies outside its equal-tailed
    interval is flagged."""
    notes = Footnotes()
    m, s = ctx.primary.measure, ctx.primary.side
    rows = ctx.rows(tuple(_SC_NAMES), measure=m, side=s, patient=ctx.patient or "")
    rows = rows[rows["estimate"].notna() | rows["p_value"].notna()]
    info = ctx.measure_info(m)
    out = []
    for _, r in rows.iterrows():
        dg = 2
        est, lo, hi = r["estimate"], r["ci_low"], r["ci_high"]
        what = first_clause(r["term"]).replace("dose_ug_day", "dose")
        mark = flag(r)
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
            if str(r["analysis"]) in ("pct_more_extreme", "bayes_single_case") and \
                    pd.notna(est) and pd.notna(lo) and pd.notna(hi) and not lo <= est <= hi:
                mark = ("the point estimate (the mean, as Crawford & Garthwaite define it) lies "
                        "outside the equal-tailed interval: the distribution of the percentage "
                        "is very skewed at so extreme a score")
        out.append({
            "Analysis": single_case_label(str(r["analysis"]), str(r["term"])), "What": what,
            "Estimate [95% CI]": (text if text is not None else fmt_est_ci(est, lo, hi, dg))
            + notes.mark(mark),
            "p": fmt_p(r["p_value"], prefix=False),
        })
    return pd.DataFrame(out), notes


# ------------------------------------------------------------ responders and effect sizes

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
