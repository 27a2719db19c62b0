"""The sentences of the reports, each written only from what the run holds.

Every function takes a :class:`analysis.report.context.ReportContext` and returns Markdown text
(an empty string when there is nothing true to say). A sentence about an analysis is built from
that analysis's rows of the results table; when the rows are absent or empty the text says why,
with the reason taken from the row's ``note`` (or the rule of the pipeline that did not run it).
Numbers are formatted by :mod:`analysis.report.formatting`; labels come from
:mod:`analysis.report.labels`. The document cells only print what these functions return.
"""

from __future__ import annotations

from analysis.report.context import ReportContext
from analysis.report.doses import window_text
from analysis.report.escape import markdown_output
from analysis.report.formatting import fmt_est_ci, fmt_num, fmt_stat
from analysis.report.labels import GAIT_LAB_MEASURES, side_word
from analysis.report.outcome_text import (
    balance_text,
    group_change_text,
    primary_sides,
    rating_measures,
    rating_text,
)
from analysis.report.statements import (
    change_text,
    first_clause,
)
from analysis.report.treatment_text import design_text, patient_dose_text, plain_title, report_title

__all__ = ["report_title", "plain_title", "reference_sentence", "primary_sentence", "design_paragraph", "series_summary",
           "case_summary", "dose_paragraph", "tolerability_paragraph",
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
    """The primary outcome and how it was chosen; a sided measure with data on both sides is
    named with both (the summary reports each side)."""
    sides = [s for s in primary_sides(ctx) if s]
    if len(sides) > 1:
        both = " and ".join(side_word(s) for s in sides)
        return (f"The primary outcome is {ctx.label(ctx.primary.measure)}, on each side "
                f"({both}), reported side by side; it is {ctx.words(ctx.primary.reason)}.")
    return f"The primary outcome is {ctx.primary_label}; it is {ctx.words(ctx.primary.reason)}."


@markdown_output
def design_paragraph(ctx: ReportContext) -> str:
    """Patients, centres, visits in clinical words (with days), the phases present."""
    text = design_text(ctx)
    if not ctx.has_day:
        text += (" The data give no study day, so visits are ordered as they appear in the data"
                 " and no figure over days is drawn.")
    return text


@markdown_output
def series_summary(ctx: ReportContext) -> str:
    """The summary of the case series: primary outcome, its change per side, and who improved,
    did not change or worsened on every measure."""
    parts = [primary_sentence(ctx), reference_sentence(ctx), group_change_text(ctx)]
    balance = balance_text(ctx)
    if balance:
        parts.append(balance)
    parts += [rating_text(ctx, m, last_only=True) for m in rating_measures(ctx)
              if m != ctx.primary.measure]
    return " ".join(p for p in parts if p)


@markdown_output
def case_summary(ctx: ReportContext) -> str:
    """The summary of a case report: the patient's primary-outcome change (every side), the
    settled dose of a titration, and every measure's verdict."""
    m = ctx.primary.measure
    parts = [primary_sentence(ctx), reference_sentence(ctx)]
    for s in primary_sides(ctx):
        term = ctx.latest_term("change", m, s, patient=ctx.patient or "")
        if term is None:
            parts.append(f"The patient has no follow-up value of {ctx.label(m, s)} to compare "
                         "with the reference visit.")
        else:
            parts.append(f"{ctx.label(m, s)} changed {change_text(ctx, m, s, term)}.")
    t = ctx.facts.treatments.get(ctx.patient or "")
    if t is not None and t.settled is not None:
        parts.append(f"The titration of the continuous test infusion settled at "
                     f"{fmt_num(t.settled, 0)} µg/day.")
    balance = balance_text(ctx)
    if balance:
        parts.append(balance)
    return " ".join(parts)


@markdown_output
def dose_paragraph(ctx: ReportContext) -> str:
    """Test-phase doses (bolus amounts, continuous doses, titration), pump doses, therapeutic
    window: only what the facts hold."""
    if ctx.patient is None:
        from analysis.report.doses import series_dose_summary

        return series_dose_summary(ctx)
    t = ctx.facts.treatments[ctx.patient]
    if not t.has_test and "post_implant" not in t.phases:
        return "No intrathecal baclofen dose is recorded in the data."
    text = patient_dose_text(ctx, t)
    win = window_text(ctx, ctx.patient)
    return f"{text} {win}".strip()


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
    if ctx.linear_asked(m):
        clmm = len(ctx.rows("clmm_fixed", measure=m, patient=""))
        return (("The ordinal primary outcome was modelled by a cumulative link mixed model; "
                 if clmm else "") + "a linear mixed model on its grade codes is also reported, "
                "as requested in study.yaml; grades are not distances, so its estimates are "
                "differences of codes, not of amounts of spasticity or strength.")
    if ctx.is_ordinal(m):
        if len(ctx.rows("clmm_fixed", measure=m, patient="")):
            return ("The ordinal primary outcome was modelled by a cumulative link mixed model; "
                    "no linear model of its level codes is reported.")
        return ("No linear mixed model of the primary outcome is reported: it is an ordinal "
                "scale, whose level codes are not interval measurements.")
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
           f"{v.get('python', '')}" + (f" ({soft})" if soft else "") + ". Every change is "
           "measured from the reference visit named in the summary."]
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
        zeros = int(w["note"].str.contains(r"\d+ zero difference\(s\) dropped").sum())
        ties = int(w["note"].str.contains("tied").sum())
        out.append("Ordinal and continuous measures were also compared with the Wilcoxon "
                   "signed-rank test (exact conditional p given mid-ranks), with the matched-pairs "
                   "rank-biserial correlation; zero differences were dropped (as R's "
                   f"wilcox.test) in {zeros} of {len(w)} tests and tied differences took "
                   f"mid-ranks in {ties}. Changes on ordinal scales are counted in steps of the "
                   "scale (MAS 1+ to 1 is one step).")
    lmm = ctx.rows("lmm_contrast")
    asked = sorted({x for x in lmm["measure"] if ctx.linear_asked(x)}) if len(lmm) else []
    lmm = lmm[~lmm["measure"].map(ctx.is_ordinal)] if len(lmm) else lmm
    if asked:
        out.append("As requested in study.yaml, a linear mixed model was also fitted on the "
                   "grade codes of " + ", ".join(ctx.label(x) for x in asked)
                   + "; grades are not distances, so these estimates are differences of codes.")
    if len(lmm):
        methods = sorted({str(x).replace("kenward-roger", "Kenward-Roger [@kenward1997]").replace(
            "satterthwaite", "Satterthwaite [@satterthwaite1946]") for x in lmm["df_method"] if x})
        out.append("Each measure on an interval scale with at least four patients was modelled "
                   "over all visits by a "
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
                      "[@crawford2007]. The percentage of controls beyond the patient is "
                      "estimated by the median of the distribution that gives its interval (the "
                      "50% point of the noncentral-t inversion [@crawford2002], the posterior "
                      "median for the Bayesian test), so the estimate always lies inside its "
                      "interval; the one-sided p, which singcar reports as the estimate, is given "
                      "as the test's p" if "crawford_howell" in present else "") + ".")
    if ctx.patient and set(ctx.measures) & GAIT_LAB_MEASURES:
        out.append("A gait measure recorded both on the clinical sheet (the data file) and by "
                   "the gait laboratory (its C3D files) is never mixed between the two: the "
                   "tables of outcomes and every statistic use the clinical-sheet value, the "
                   "gait-analysis section the gait-lab value (the mean over its gait cycles), "
                   "and each is labelled with its source.")
    slopes = ctx.results[(ctx.results["analysis"] == "dose_slope")
                         & ctx.results["estimate"].notna()]
    ordinal = slopes["note"].fillna("").str.startswith("ordinal measure")
    if len(slopes[~ordinal]):
        pooled = slopes.loc[~ordinal, "patient_id"].fillna("").astype(str).eq("")
        how = (["per patient by ordinary least squares"] if (~pooled).any() else []) + (
            ["over patients by a mixed model with a random dose slope, as at least three "
             "patients titrated"] if pooled.any() else [])
        bolus = any(t.boluses for t in ctx.facts.treatments.values())
        out.append(f"Measures on an interval scale were regressed on the continuous "
                   f"test-infusion dose ({'; '.join(how)})"
                   + ("; test boluses, amounts rather than rates, were left out" if bolus else "")
                   + ".")
    if ordinal.any():
        out.append("The results table's dose slopes of ordinal scales are lines through grade "
                   "codes, not models of the grades; this report does not interpret them.")
    miss = ctx.rows("missing")
    if len(miss):
        total = int(miss["estimate"].fillna(0).sum())
        out.append(f"Over all measures and visits, {total} expected observations are missing; "
                   "none was imputed.")
    mult = multiplicity_text(ctx)
    if mult:
        out.append(mult)
    return " ".join(out)
