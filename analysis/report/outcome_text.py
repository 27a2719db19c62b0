"""Sentences about the outcomes: the primary outcome's change per side (ordinal measures as
levels and level steps, never as means), small samples said plainly, and the patients who
improved, did not change or worsened on every measure, with the same weight.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.report.escape import markdown_output
from analysis.report.facts import ordinal_median
from analysis.report.formatting import CI95, fmt_est_ci, fmt_num, fmt_p, fmt_stat
from analysis.report.labels import grade_steps, with_unit
from analysis.report.statements import adjustment_words, digits_of

__all__ = ["SMALL_SAMPLE", "primary_sides", "group_change_text", "balance_text", "median_steps",
           "sign_test_text", "rating_measures", "rating_text"]

#: Up to this many complete pairs a paired test is said not to support inference.
SMALL_SAMPLE = 3


def primary_sides(ctx) -> list[str]:
    """Every side of the primary outcome in the data (a sided measure is never narrowed)."""
    sides = ctx.facts.sides.get(ctx.primary.measure, (ctx.primary.side,))
    return list(sides) or [ctx.primary.side]


def _small(n: int) -> str:
    return (f"With {n} patient{'s' if n != 1 else ''} with both values (df = {n - 1}), this "
            "paired test cannot support inference; it describes these patients only.")


def median_steps(med: float) -> str:
    """A median of level steps; one between two whole steps says so.

    Examples
    --------
    >>> median_steps(-1.0), median_steps(0.5)
    ('−1 level steps', 'between 0 and 1 level steps')
    """
    if float(med).is_integer():
        return f"{fmt_num(med, 0)} level steps"
    return f"between {fmt_num(np.floor(med), 0)} and {fmt_num(np.ceil(med), 0)} level steps"


def sign_test_text(higher: int, lower: int, zeros: int) -> str:
    """The exact sign test of level changes (``scipy.stats.binomtest`` on the signs, two-sided,
    zero changes dropped and counted).

    Examples
    --------
    >>> sign_test_text(0, 6, 2).replace("\u00a0", " ")
    'sign test on the level changes p = .031 (6 signs; 2 without change dropped)'
    """
    from scipy.stats import binomtest

    n = higher + lower
    p = binomtest(higher, n, 0.5).pvalue
    return (f"sign test on the level changes {fmt_p(p)} ({n} sign{'s' if n != 1 else ''}; "
            f"{zeros} without change dropped)")


def _split_small(text: str) -> list[str]:
    """``text`` as its change sentence and its small-sample caveat (if any)."""
    head, sep, tail = text.partition(" With ")
    return [head, sep.strip() + " " + tail] if sep and "cannot support inference" in tail \
        else [text]


def _ordinal_change(ctx, m: str, s: str, term: str) -> str:
    info = ctx.measure_info(m)
    visit = term.split(" - ")[0]
    ch = ctx.changes
    ch = ch[(ch["measure"] == m) & (ch["side"] == s) & (ch["visit"] == visit)
            & ch["change"].notna()]
    steps = [grade_steps(info, b, a) for b, a in zip(ch["baseline"], ch["value"], strict=False)]
    steps = [x for x in steps if x is not None]
    if not steps:
        return ""
    before, _ = ordinal_median(info, ch["baseline"])
    after, _ = ordinal_median(info, ch["value"])
    med = pd.Series(steps, dtype=float).median()
    lower = sum(x < 0 for x in steps)
    higher = sum(x > 0 for x in steps)
    text = (f"{ctx.label(m, s)} went from a median grade {before} at the reference visit to "
            f"{after} at {ctx.labels(visit)} (median change {median_steps(med)}"
            f"; at least one level lower in {lower}, higher in {higher} and "
            f"unchanged in {len(steps) - lower - higher} of {len(steps)} patients)")
    w = ctx.rows("wilcoxon", measure=m, side=s, patient="", term=term)
    if len(w) and pd.notna(w.iloc[0]["p_value"]):
        text += f"; Wilcoxon signed-rank on the level ranks {fmt_p(w.iloc[0]['p_value'])}"
    if lower + higher:
        text += "; " + sign_test_text(higher, lower, len(steps) - lower - higher)
    text += "."
    if len(steps) <= SMALL_SAMPLE and len(w) and pd.notna(w.iloc[0]["p_value"]):
        text += " " + _small(len(steps))
    return text


def _continuous_change(ctx, m: str, s: str, term: str) -> str:
    info = ctx.measure_info(m)
    r = ctx.rows("mean_difference", measure=m, side=s, patient="", term=term).iloc[0]
    dg = digits_of(r, info)
    unit = info.unit if info else ""
    text = (f"{ctx.label(m, s)} changed {ctx.labels.span(term)} by a mean change of "
            f"{with_unit(fmt_est_ci(r['estimate'], r['ci_low'], r['ci_high'], dg), unit)}"
            f"{f' ({CI95})' if pd.notna(r['ci_low']) else ''}, in "
            f"{int(r['n_patients'])} patients with both values")
    t = ctx.rows("paired_t", measure=m, side=s, patient="", term=term)
    tested = len(t) and pd.notna(t.iloc[0]["p_value"])
    if tested:
        t0 = t.iloc[0]
        text += f"; paired {fmt_stat('t', t0['statistic'], t0['df'], t0['p_value'])}"
        how = adjustment_words(t0["adjustment"])
        if how.startswith("no adjustment"):
            text += f" (not adjusted: {how.removeprefix('no adjustment: ')})"
        elif pd.notna(t0["p_adjusted"]):
            text += f" ({fmt_p(t0['p_adjusted'], prefix=False).strip()} after {how})"
    d = ctx.rows("cohens_dz", measure=m, side=s, patient="", term=term)
    if len(d) and pd.notna(d.iloc[0]["estimate"]):
        d0 = d.iloc[0]
        text += f"; Cohen's *d*~z~ {fmt_est_ci(d0['estimate'], d0['ci_low'], d0['ci_high'], 2)}"
    text += "."
    if tested and int(r["n_patients"]) <= SMALL_SAMPLE:
        text += " " + _small(int(r["n_patients"]))
    return text


@markdown_output
def group_change_text(ctx) -> str:
    """The primary outcome's change at its latest visit, per side: mean change and paired t for
    a continuous measure, median levels and level steps for an ordinal one."""
    m = ctx.primary.measure
    out = []
    for s in primary_sides(ctx):
        ordinal = ctx.is_ordinal(m)
        term = ctx.latest_term("median_change" if ordinal else "mean_difference", m, s)
        if term is not None:
            out.append(_ordinal_change(ctx, m, s, term) if ordinal else
                       _continuous_change(ctx, m, s, term))
    out = [x for x in out if x]
    if out:
        # the small-sample caveat once, when the sides share it
        return " ".join(dict.fromkeys(x for o in out for x in _split_small(o)))
    if m in rating_measures(ctx):  # a rating of change (PGIC): its answers, not a change
        return rating_text(ctx, m)
    if ctx.n_patients < 2:
        return "No paired comparison of the primary outcome was run: it needs at least two patients."
    n_ref = max((len(ctx.facts.with_reference.get((m, s), ())) for s in primary_sides(ctx)),
                default=0)
    return (f"No paired comparison of the primary outcome was run: {n_ref} patient(s) have a "
            "value at the reference visit, and no follow-up visit has values of at least two of "
            "them paired with it.")


def _names(ids: list[str]) -> str:
    return ", ".join(ids)


@markdown_output
def balance_text(ctx, *, primary_only: bool = False) -> str:
    """Per measure and side, the patients who improved, did not change and worsened at their
    own last visit (by the MCID, or a reliable change); worsened patients are named."""
    f = ctx.facts
    c = f.classes
    c = c[c["cls"] != ""]
    if primary_only:
        c = c[c["measure"] == ctx.primary.measure]
    if c.empty:
        return ""
    out = []
    one = ctx.patient is not None
    for (m, s), g in c.groupby(["measure", "side"], sort=True):
        by = {k: sorted(g.loc[g["cls"] == k, "patient_id"]) for k in
              ("improved", "unchanged", "worsened")}
        label = ctx.label(m, s)
        if one:
            out.append(f"{label}: {next(k for k, v in by.items() if v)}")
            continue
        words = [f"improved in {len(by['improved'])}", f"unchanged in {len(by['unchanged'])}",
                 f"worsened in {len(by['worsened'])}"
                 + (f" ({_names(by['worsened'])})" if by["worsened"] else "")]
        out.append(f"{label}: {', '.join(words)} of {len(g)}")
    head = ("At the last visit of each measure, against the MCID or a reliable change (RCI), "
            "the patient's measures were: " if one else
            "At each patient's last visit, against the MCID or a reliable change (RCI): ")
    return head + "; ".join(out) + "."


def rating_measures(ctx) -> list[str]:
    """Ordinal measures with labelled levels that no patient has at the reference visit:
    ratings of change given at follow-up only (the Patient Global Impression of Change)."""
    out = []
    for m in ctx.measures:
        info = ctx.measure_info(m)
        if (info is not None and ctx.is_ordinal(m) and getattr(info, "level_labels", None)
                and not any(ctx.facts.with_reference.get((m, s)) for s in
                            ctx.facts.sides.get(m, ("",)))):
            out.append(m)
    return out


@markdown_output
def rating_text(ctx, measure: str, *, last_only: bool = False) -> str:
    """A rating of change at each visit with answers (``last_only``: the last of them): how
    many patients gave each level (in the scale's words) and the median as a level
    ("between" two when it falls between).

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> from analysis.run.pipeline import run_analysis
    >>> from analysis.report.context import build_context
    >>> ctx = build_context(run_analysis(EXAMPLES / "case_series", cache_dir=None))
    >>> rating_text(ctx, "pgic", last_only=True)[:60]
    'Patient Global Impression of Change at 12 months after impla'

    """
    info = ctx.measure_info(measure)
    rows = ctx.obs[(ctx.obs["measure"] == measure)].dropna(subset=["value"])
    if rows.empty:
        return ""
    labels = dict(zip(info.levels, info.level_labels, strict=True))
    parts = []
    visits = sorted(rows["visit"].unique(), key=ctx.visit_rank)
    for visit in visits[-1:] if last_only else visits:
        at = rows[rows["visit"] == visit]
        values = at["value"].astype(float)
        given = [info.level_of(v) for v in values]
        counts = [(lev, given.count(lev)) for lev in info.levels if given.count(lev)]
        # the patients on the worse side of the scale's middle are named, as worsened ones are
        mid = (len(info.levels) - 1) / 2
        worse = {lev for i, lev in enumerate(info.levels)
                 if (i > mid if info.better == "lower" else i < mid
                     if info.better == "higher" else False)}
        who_worse = {lev: sorted(at.loc[[g == lev for g in given], "patient_id"].astype(str))
                     for lev in worse}
        med, is_level = ordinal_median(info, values)
        n = len(values)
        who = f"{n} patient{'s' if n != 1 else ''}"
        answers = "; ".join(f"{labels[lev]} ({lev}) {k}"
                            + (f" ({', '.join(who_worse[lev])})" if lev in who_worse
                               and ctx.patient is None else "") for lev, k in counts)
        median = (f"median {med} ({labels[med]})" if is_level else f"median {med}")
        parts.append(f"at {ctx.labels(visit)} ({who}): {answers}" + (f"; {median}" if n > 1
                                                                      else ""))
    return f"{ctx.label(measure)} " + "; ".join(parts) + "."
