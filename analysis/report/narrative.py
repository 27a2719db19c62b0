"""The sentences of the reports, each written only from what the run holds.

Every function takes a :class:`analysis.report.context.ReportContext` and returns Markdown text
(an empty string when there is nothing true to say). A sentence about an analysis is built from
that analysis's rows of the results table; when the rows are absent or empty the text says why,
with the reason taken from the row's ``note`` (or the rule of the pipeline that did not run it).
Numbers are formatted by :mod:`analysis.report.formatting`; labels come from
:mod:`analysis.report.labels`. The document cells only print what these functions return.
"""

from __future__ import annotations

import pandas as pd

from analysis.report.context import ReportContext
from analysis.report.doses import dose_facts, window_text
from analysis.report.escape import markdown_output
from analysis.report.formatting import CI95, fmt_est_ci, fmt_num, fmt_p, fmt_stat
from analysis.report.labels import grade_steps, with_unit
from analysis.report.statements import (
    adjustment_words,
    change_text,
    digits_of,
    first_clause,
)

__all__ = ["reference_sentence", "primary_sentence", "design_paragraph", "series_summary",
           "case_summary", "clinical_message", "dose_paragraph", "tolerability_paragraph",
           "flow_paragraph", "mixed_model_sentence", "single_case_paragraph", "pgic_sentence",
           "diagnosis_paragraph", "methods_paragraph"]


@markdown_output
def reference_sentence(ctx: ReportContext) -> str:
    """Which visit every change is measured from, and why.

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> from analysis.run.pipeline import run_analysis
    >>> from analysis.report.context import build_context
    >>> ctx = build_context(run_analysis(EXAMPLES / "case_series", cache_dir=None))
    >>> reference_sentence(ctx)
    'Every change is measured from the reference visit, baseline; it is declared in the study configuration.'
    """
    return (f"Every change is measured from the reference visit, {ctx.labels(ctx.reference)}; "
            f"it is {ctx.words(ctx.reference_reason)}.")


@markdown_output
def primary_sentence(ctx: ReportContext) -> str:
    """The primary outcome and how it was chosen."""
    return f"The primary outcome is {ctx.primary_label}; it is {ctx.words(ctx.primary.reason)}."


@markdown_output
def design_paragraph(ctx: ReportContext) -> str:
    """Patients, visits in clinical words, phases present."""
    visits = [ctx.labels(v) for v in ctx.order]
    phases = [p for p in ctx.phases]
    words = {"baseline": "a baseline phase", "test_infusion": "a continuous intrathecal "
             "baclofen test infusion with the dose titrated", "post_implant": "follow-up after "
             "implantation of the pump"}
    if not ctx.has_titration:
        words["test_infusion"] = "a test-infusion phase without a recorded dose above zero"
    who = ("one patient" if ctx.n_patients == 1 else f"{ctx.n_patients} patients")
    text = (f"The data hold {who}, seen at {len(visits)} visit{'s' if len(visits) != 1 else ''} "
            f"({'; '.join(visits)}).")
    if phases:
        text += " The phases recorded are " + ", ".join(words[p] for p in phases) + "."
    if not ctx.has_day:
        text += (" The data give no study day, so visits are ordered as they appear in the data"
                 " and no figure over days is drawn.")
    return text + " " + reference_sentence(ctx)


def _primary_group_change(ctx: ReportContext) -> str:
    m, s = ctx.primary.measure, ctx.primary.side
    info = ctx.measure_info(m)
    for analysis in ("mean_difference", "median_change"):
        term = ctx.latest_term(analysis, m, s)
        if term is None:
            continue
        r = ctx.rows(analysis, measure=m, side=s, patient="", term=term).iloc[0]
        dg = digits_of(r, info)
        what = "mean change" if analysis == "mean_difference" else "median change"
        text = (f"{ctx.primary_label} changed {ctx.labels.span(term)} by a {what} of "
                f"{with_unit(fmt_est_ci(r['estimate'], r['ci_low'], r['ci_high'], dg), info.unit if info else '')}"
                f"{f' ({CI95})' if pd.notna(r['ci_low']) else ''}, in "
                f"{int(r['n_patients'])} patients with both values")
        t = ctx.rows("paired_t", measure=m, side=s, patient="", term=term)
        if len(t) and pd.notna(t.iloc[0]["p_value"]):
            t0 = t.iloc[0]
            text += f"; paired {fmt_stat('t', t0['statistic'], t0['df'], t0['p_value'])}"
            if pd.notna(t0["p_adjusted"]):
                text += f" ({fmt_p(t0['p_adjusted'], prefix=False).strip()} after "
                text += f"{adjustment_words(t0['adjustment'])})"
        d = ctx.rows("cohens_dz", measure=m, side=s, patient="", term=term)
        if len(d) and pd.notna(d.iloc[0]["estimate"]):
            d0 = d.iloc[0]
            text += f"; Cohen's *d*~z~ {fmt_est_ci(d0['estimate'], d0['ci_low'], d0['ci_high'], 2)}"
        return text + "."
    n_ref = ctx.all_obs[(ctx.all_obs["measure"] == m) & (ctx.all_obs["side"] == s)
                        & (ctx.all_obs["visit"] == ctx.reference)]["patient_id"].nunique()
    if ctx.n_patients < 2:
        return ("No paired comparison of the primary outcome was run: it needs at least two "
                "patients.")
    return (f"No paired comparison of the primary outcome was run: {n_ref} patient(s) have a "
            f"value at the reference visit, and no follow-up visit has values of at least two of "
            f"them paired with it.")


@markdown_output
def series_summary(ctx: ReportContext) -> str:
    """The summary of the case series: primary outcome, its change, the clinical message."""
    parts = [primary_sentence(ctx), reference_sentence(ctx), _primary_group_change(ctx)]
    message = clinical_message(ctx)
    if message:
        parts.append(message)
    return " ".join(parts)


@markdown_output
def case_summary(ctx: ReportContext) -> str:
    """The summary of a case report: the patient's primary-outcome change and the message."""
    m, s = ctx.primary.measure, ctx.primary.side
    parts = [primary_sentence(ctx), reference_sentence(ctx)]
    term = ctx.latest_term("change", m, s, patient=ctx.patient or "")
    if term is None:
        parts.append(f"The patient has no follow-up value of {ctx.primary_label} to compare with "
                     "the reference visit.")
    else:
        parts.append(f"{ctx.primary_label} changed {change_text(ctx, m, s, term)}.")
    facts = dose_facts(ctx, ctx.patient)
    if facts and facts.settled is not None:
        parts.append(f"The test infusion settled at {fmt_num(facts.settled, 0)} µg/day.")
    message = clinical_message(ctx)
    if message:
        parts.append(message)
    return " ".join(parts)


def _last_changes(ctx: ReportContext, measures: tuple[str, ...]) -> pd.DataFrame:
    """The change rows of ``measures`` at each measure's latest visit against the reference."""
    ch = ctx.run.changes
    ch = ch[ch["measure"].isin(measures) & ch["change"].notna()]
    if ctx.patient is not None:
        ch = ch[ch["patient_id"] == ctx.patient]
    if ch.empty:
        return ch
    ch = ch.assign(_rank=ch["visit"].map(ctx.visit_rank))
    last = ch.groupby("measure")["_rank"].transform("max")
    return ch[ch["_rank"] == last]


@markdown_output
def clinical_message(ctx: ReportContext) -> str:
    """The study's message when the data show it: spasticity reduced with strength kept, and
    the change of gait speed and knee flexion in loading response at the last follow-up.

    Only what the data show is said: nothing when the measures are absent.
    """
    out = []
    spas = _last_changes(ctx, ctx.spasticity)
    stre = _last_changes(ctx, ctx.strength)
    if len(spas):
        steps = [grade_steps(ctx.measure_info(r.measure), r.baseline, r.value)
                 for r in spas.itertuples()]
        steps = [x for x in steps if x is not None]
        if steps and pd.Series(steps).median() < 0:
            visit = ctx.labels(ctx.order[int(spas["_rank"].max())])
            text = (f"At {visit} the Modified Ashworth grades were lower than at the reference "
                    f"visit in {sum(x < 0 for x in steps)} of {len(steps)} muscle-side "
                    f"assessments (median change {fmt_num(pd.Series(steps).median(), 1)} grade steps)")
            if len(stre):
                ssteps = [grade_steps(ctx.measure_info(r.measure), r.baseline, r.value)
                          for r in stre.itertuples()]
                ssteps = [x for x in ssteps if x is not None]
                lost = sum(x < 0 for x in ssteps)
                text += (f", while MRC strength was kept in {len(ssteps) - lost} of {len(ssteps)} "
                         "muscle-side assessments" if ssteps else "")
            out.append(text + ".")
    for key in ("gait_speed", "knee_flex_lr"):
        rows = _last_changes(ctx, (key,))
        if rows.empty:
            continue
        info = ctx.measure_info(key)
        dg = digits_of(None, info)
        for s, part in rows.groupby("side", sort=True):
            visit = ctx.labels(ctx.order[int(part["_rank"].max())])
            before, after = part["baseline"].median(), part["value"].median()
            who = "" if ctx.patient else "a median of "
            text = (f"{ctx.label(key, s)} went from {who}{with_unit(fmt_num(before, dg), info.unit)}"
                    f" at the reference visit to {with_unit(fmt_num(after, dg), info.unit)} at {visit}")
            if key == "gait_speed" and before > 0 and after / before >= 1.9:
                text += " (about doubled)"
            out.append(text + ".")
    return " ".join(out)


@markdown_output
def dose_paragraph(ctx: ReportContext) -> str:
    """Test-infusion doses, settled titration dose, implanted pump dose, therapeutic window."""
    if not ctx.has_titration and not ctx.has_implant:
        return "No intrathecal baclofen dose is recorded in the data."
    if ctx.patient is not None:
        f = dose_facts(ctx, ctx.patient)
        parts = []
        if f.test_doses:
            parts.append("During the continuous test infusion the dose was "
                         + ("raised " if f.test_doses == sorted(f.test_doses) else "changed ")
                         + "through " + ", ".join(fmt_num(d, 0) for d in f.test_doses)
                         + " µg/day (in the order given).")
            parts.append(f"The titration settled at {fmt_num(f.settled, 0)} µg/day (the dose of "
                         "the last test-infusion day).")
        else:
            parts.append("No test infusion with a recorded dose is in the data.")
        if f.pump:
            parts.append("After implantation the pump delivered "
                         + "; ".join(f"{fmt_num(d, 0)} µg/day at {ctx.labels(v)}" for v, d in f.pump)
                         + ".")
        elif ctx.has_implant:
            parts.append("No pump dose is recorded after implantation.")
        win = window_text(ctx, ctx.patient)
        if win:
            parts.append(win)
        return " ".join(parts)
    from analysis.report.doses import series_dose_summary

    return series_dose_summary(ctx)


@markdown_output
def tolerability_paragraph(ctx: ReportContext) -> str:
    """Adverse effects seen in the data: strength losses during the titration, dose reductions."""
    from analysis.report.doses import tolerability

    return tolerability(ctx)


@markdown_output
def flow_paragraph(ctx: ReportContext) -> str:
    """Participant flow: patients with any observation at each visit, and dropouts."""
    seen = ctx.all_obs.groupby("visit")["patient_id"].nunique()
    parts = [f"{int(seen.get(v, 0))} at {ctx.labels(v)}" for v in ctx.order]
    text = f"Patients with at least one observation: {'; '.join(parts)}."
    last = ctx.all_obs.assign(_r=ctx.all_obs["visit"].map(ctx.visit_rank)).groupby(
        "patient_id")["_r"].max()
    final = len(ctx.order) - 1
    gone = last[last < final]
    if len(gone):
        by = gone.map(lambda r: ctx.labels(ctx.order[r])).value_counts()
        text += (f" {len(gone)} of {ctx.n_patients} patients have no observation after some "
                 "visit before the last one (last visit seen: "
                 + "; ".join(f"{v}, {n}" for v, n in by.items()) + ").")
    else:
        text += " Every patient has an observation at the last visit."
    return text


@markdown_output
def mixed_model_sentence(ctx: ReportContext) -> str:
    """Whether the mixed model of the primary outcome was fitted, and why not."""
    from analysis.run.pipeline import MIN_LMM_PATIENTS

    m, s = ctx.primary.measure, ctx.primary.side
    fit = ctx.rows("lmm_fit", measure=m, side=s, patient="")
    fit = fit[~fit["term"].str.startswith("dose model")]
    n = ctx.all_obs[(ctx.all_obs["measure"] == m)]["patient_id"].nunique()
    if fit.empty:
        return (f"No mixed model of the primary outcome was fitted: it needs at least "
                f"{MIN_LMM_PATIENTS} patients, and {n} have values.")
    note = str(fit.iloc[0]["note"])
    if note.startswith("model not fitted"):
        return f"The mixed model of the primary outcome could not be fitted ({first_clause(note)})."
    if ctx.rows("lmm_contrast", measure=m, side=s, patient="").empty:
        return "The mixed model of the primary outcome was fitted but gave no contrast."
    return ""


@markdown_output
def single_case_paragraph(ctx: ReportContext) -> str:
    """Phase (AB) and control comparisons of the primary outcome, or why they were not run."""
    m, s, p = ctx.primary.measure, ctx.primary.side, ctx.patient or ""
    out = []
    nap = ctx.rows("nap", measure=m, side=s, patient=p)
    if len(nap) and nap["estimate"].notna().any():
        r = nap[nap["estimate"].notna()].iloc[0]
        out.append(f"Comparing the baseline days with the test-infusion days (an AB phase design), "
                   f"the non-overlap of all pairs (NAP) of {ctx.primary_label} was "
                   f"{fmt_est_ci(r['estimate'], r['ci_low'], r['ci_high'], 2)}.")
    elif len(nap):
        out.append(f"No phase (AB) comparison was made ({first_clause(nap.iloc[0]['note'])}).")
    elif ctx.n_patients == 1:
        missing = [w for w, ok in (("baseline", ctx.has_baseline_phase),
                                   ("test-infusion", ctx.has_titration)) if not ok]
        out.append("No phase (AB) comparison was made: "
                   + (f"the data have no {' or '.join(missing)} phase." if missing else
                      "a phase needs at least 3 observations of the primary outcome."))
    ch = ctx.rows("crawford_howell", measure=m, side=s, patient=p)
    ch = ch[ch["term"].str.contains("two-sided") & ch["p_value"].notna()]
    for r in ch.itertuples():
        visit = ctx.labels(r.term.split(":")[0].strip())
        out.append(f"Against the healthy controls of the study configuration ({visit}), "
                   f"the Crawford-Howell test gave {fmt_stat('t', r.statistic, r.df, r.p_value)}"
                   " (two-sided).")
    if not len(ch) and m not in ctx.config.controls:
        out.append("No comparison with healthy controls was made: the study configuration "
                   "gives no control sample for the primary outcome.")
    return " ".join(out)


@markdown_output
def pgic_sentence(ctx: ReportContext) -> str:
    """The patient's global impression of change at the last visit with one."""
    rows = ctx.obs[ctx.obs["measure"] == "pgic"].dropna(subset=["value"])
    if rows.empty:
        return ""
    last = rows.assign(_r=rows["visit"].map(ctx.visit_rank)).sort_values("_r").iloc[-1]
    return (f"Patient Global Impression of Change at {ctx.labels(last['visit'])}: "
            f"{fmt_num(last['value'], 0)} (1 = very much improved, 7 = very much worse).")


@markdown_output
def diagnosis_paragraph(ctx: ReportContext) -> str:
    """What the data say about the diagnosis (genotypes), for JBI items 2-4."""
    pts = ctx.run.patients
    if pts is None or "genotype" not in pts or pts.empty:
        return ("The data do not record how hereditary spastic paraplegia was diagnosed or "
                "confirmed (no genotype column).")
    counts = pts["genotype"].fillna("unknown").astype(str).value_counts().sort_index()
    return ("Genotypes recorded: " + ", ".join(f"{g} {n}" for g, n in counts.items())
            + f" (of {len(pts)} patients).")



@markdown_output
def methods_paragraph(ctx: ReportContext) -> str:
    """Statistical methods as applied in this run: software, models, df method, missing data,
    ties and zeros, multiplicity; every clause written only for analyses with rows."""
    from analysis.report.statements import multiplicity_text

    v = ctx.run.manifest.get("versions", {}) or {}
    soft = ", ".join(f"{name} {v[key]}" for key, name in (
        ("numpy", "NumPy"), ("scipy", "SciPy"), ("pandas", "pandas"),
        ("statsmodels", "statsmodels")) if key in v)
    out = [f"Analyses were run with itb-analysis {v.get('itb-analysis', '')} in Python "
           f"{v.get('python', '')}" + (f" ({soft})" if soft else "") + ". "
           + reference_sentence(ctx)]
    present = set(ctx.results.loc[ctx.results["estimate"].notna()
                                  | ctx.results["p_value"].notna(), "analysis"])
    if "paired_t" in present:
        out.append("Each follow-up visit was compared with the reference visit in the patients "
                   "with both values (complete pairs): mean difference with its t interval and a "
                   "paired t-test; Cohen's *d*~z~ = mean difference / SD of the differences and "
                   "*d*~av~ = mean difference / [(SD at the follow-up + SD at the reference) / 2], "
                   "with noncentral-t intervals [@lakens2013].")
    if "wilcoxon" in present:
        w = ctx.rows("wilcoxon")
        zeros = int(w["note"].str.contains("zero difference").sum())
        ties = int(w["note"].str.contains("tied").sum())
        out.append("Ordinal and continuous measures were also compared with the Wilcoxon "
                   "signed-rank test (exact conditional p given mid-ranks), with the matched-pairs "
                   "rank-biserial correlation; zero differences were dropped (as R's "
                   f"wilcox.test) in {zeros} of {len(w)} tests and tied differences took "
                   f"mid-ranks in {ties}. Changes on ordinal scales are counted in steps of the "
                   "scale (MAS 1+ to 1 is one step).")
    lmm = ctx.rows("lmm_contrast")
    if len(lmm):
        methods = sorted({str(x).replace("kenward-roger", "Kenward-Roger [@kenward1997]").replace(
            "satterthwaite", "Satterthwaite [@satterthwaite1946]") for x in lmm["df_method"] if x})
        out.append("Each measure with at least four patients was modelled over all visits by a "
                   "linear mixed model (REML) with a fixed effect of visit and a random intercept "
                   f"per patient, denominator degrees of freedom by {' and '.join(methods)}; "
                   "contrasts of each visit against the reference visit come from the estimated "
                   "marginal means. The model uses every observation, which is valid when data "
                   "are missing at random; the paired analyses use complete pairs only.")
    if "rci" in present:
        out.append("Individual change was judged by the Reliable Change Index (Jacobson and "
                   "Truax [@jacobson1991]) where the codebook gives a reliability or SEM, and against the MCID "
                   "with the published source named in @tbl-measures.")
    if present & {"nap", "tau_u", "crawford_howell"}:
        out.append("For the single patient, the baseline and test-infusion phases were compared "
                   "by non-overlap indices (NAP, Tau-U [@parker2011], PND) and piecewise "
                   "regression"
                   + (", and the patient was compared with healthy controls by the "
                      "Crawford-Howell test [@crawford1998] and its Bayesian counterpart "
                      "[@crawford2007]" if "crawford_howell"
                      in present else "") + ".")
    if "dose_slope" in present:
        out.append("The outcome was regressed on the test-infusion dose (per patient by ordinary "
                   "least squares; over patients by a mixed model with a random dose slope "
                   "when at least three patients titrated).")
    miss = ctx.rows("missing")
    if len(miss):
        total = int(miss["estimate"].fillna(0).sum())
        out.append(f"Over all measures and visits, {total} expected observations are missing; "
                   "none was imputed.")
    mult = multiplicity_text(ctx)
    if mult:
        out.append(mult)
    return " ".join(out)
