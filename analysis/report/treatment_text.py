"""Sentences about the treatment and the design, written only from the facts
(:mod:`analysis.report.facts`): the title, the design, the doses and their changes.

Nothing here assumes a treatment course: a titration is named only when a patient had two or
more distinct continuous doses, a bolus is an amount in µg (never a rate), a reduction only when
the recorded sequence of doses falls, and a missing dose is said to be missing.
"""

from __future__ import annotations

import pandas as pd

from analysis.data.derive import visit_order
from analysis.report.escape import markdown_output
from analysis.report.facts import PatientTreatment, TitleFacts, title_facts
from analysis.report.formatting import fmt_num

__all__ = ["report_title", "plain_title", "run_title", "design_text", "patient_dose_text", "series_dose_text",
           "reduction_text", "count_words"]


def count_words(n: int, total: int, what: str = "patients") -> str:
    """"all 3 patients", "2 of 5 patients", "the patient" (one of one)."""
    if total == 1 and n == 1:
        return "the patient" if what == "patients" else f"the {what.rstrip('s')}"
    if n == total and total > 1:
        return f"all {total} {what}"
    return f"{n} of {total} {what}"


def _ug(x: float) -> str:
    return fmt_num(x, 0 if float(x).is_integer() else 1)


def _spread(values: list[float], unit: str) -> str:
    s = pd.Series(values, dtype=float)
    if s.nunique() == 1:
        return f"{_ug(s.iloc[0])} {unit}"
    return f"median {_ug(s.median())} {unit} (range {_ug(s.min())} to {_ug(s.max())})"


def _test_words(f: TitleFacts) -> str:
    """What the test phase of the data was, in words (for the title)."""
    how = {f.treatments[p].administration for p in f.tested} - {None}
    if how == {"bolus"}:
        return "intrathecal baclofen test bolus"
    if "bolus" in how or "bolus then continuous" in how:
        return "intrathecal baclofen test bolus and continuous test infusion"
    if how == {"continuous"}:
        return "continuous intrathecal baclofen test infusion"
    return "intrathecal baclofen test phase"


def _title(f: TitleFacts, patient: str | None) -> str:
    """The title from the facts (``f``: :class:`TitleFacts` or the context's StudyFacts)."""
    if f.title:
        return f.title
    implant = "post_implant" in f.phases
    if f.tested:
        what = _test_words(f) + (" and pump implantation" if implant else "")
    elif implant:
        what = "intrathecal baclofen by implanted pump"
    else:
        what = "intrathecal baclofen"
    kind = ("a case report" if patient or f.n == 1 else f"a case series of {f.n} patients")
    return f"{what[:1].upper()}{what[1:]} in hereditary spastic paraplegia: {kind}"


def plain_title(ctx) -> str:
    """The title as plain text (the document title: escaped by the renderer, which writes it
    into the metadata as a Markdown literal); :func:`report_title` is the same as prose."""
    return _title(ctx.facts, ctx.patient)


def run_title(run, *, patient: str | None = None) -> str:
    """:func:`plain_title` of ``build_context(run, patient=patient)`` without building the
    context: from :func:`analysis.report.facts.title_facts` only (the title ``itb report``
    gives Quarto before the document's kernel builds the context).

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> from analysis.run.pipeline import run_analysis
    >>> run_title(run_analysis(EXAMPLES / "case_report", cache_dir=None), patient="P01")
    'Continuous ITB test infusion and pump implantation in HSP, illustrative case report'
    """
    obs = run.observations
    patient = None if patient is None else str(patient)
    mine = obs if patient is None else obs[obs["patient_id"] == patient]
    return _title(title_facts(mine, config=run.config, order=visit_order(obs)), patient)


@markdown_output
def report_title(ctx) -> str:
    """The title: ``title`` of study.yaml when given, else from the facts.

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> from analysis.run.pipeline import run_analysis
    >>> from analysis.report.context import build_context
    >>> ctx = build_context(run_analysis(EXAMPLES / "case_report", cache_dir=None), patient="P01")
    >>> report_title(ctx)
    'Continuous ITB test infusion and pump implantation in HSP, illustrative case report'
    """
    return plain_title(ctx)


def _phase_parts(ctx) -> list[str]:
    f = ctx.facts
    parts = []
    if "baseline" in f.phases:
        parts.append(f"a baseline phase ({count_words(len(f.with_phase('baseline')), f.n)})")
    if f.tested:
        kinds: dict[str, list[str]] = {}
        for p in f.tested:
            t = f.treatments[p]
            key = _test_phase_words(t)
            kinds.setdefault(key, []).append(p)
        parts.append("a test phase (" + "; ".join(
            f"{k}: {count_words(len(v), f.n)}" for k, v in kinds.items()) + ")")
    if "post_implant" in f.phases:
        parts.append("follow-up after pump implantation "
                     f"({count_words(len(f.with_phase('post_implant')), f.n)})")
    return parts


@markdown_output
def design_text(ctx) -> str:
    """Patients, centres, visits (with their days when recorded) and the phases of the data."""
    f = ctx.facts
    who = "one patient" if f.n == 1 else f"{f.n} patients"
    if len(f.centres) > 1:
        who += (f" from {len(f.centres)} centres ("
                + "; ".join(f"{c}: {n}" for c, n in f.centres.items()) + ")")
    elif len(f.centres) == 1:
        who += f" from one centre ({next(iter(f.centres))})"
    visits = []
    for v in ctx.order:
        day = f.visit_days.get(v)
        visits.append(ctx.labels(v) + (f", day {fmt_num(day, 0)}" if day is not None else ""))
    text = (f"The data hold {who}, seen at {len(visits)} visit{'s' if len(visits) != 1 else ''} "
            f"({'; '.join(visits)}).")
    if f.visit_days:
        text += " Days are median days of the visit over patients, as recorded in the data."
    parts = _phase_parts(ctx)
    if parts:
        text += " The phases recorded are " + ", ".join(parts) + "."
    if not f.doses_recorded and f.tested:
        text += " No dose is recorded outside the baseline phase."
    return text


@markdown_output
def patient_dose_text(ctx, t: PatientTreatment) -> str:
    """One patient's test-phase and pump doses, as recorded."""
    parts = []
    if not t.has_test:
        parts.append("No test infusion is in the data.")
    else:
        n = len(t.test_visits)
        if t.dose_state == "none":
            parts.append(f"The test phase ({n} visit{'s' if n != 1 else ''}) has no recorded "
                         "dose.")
        elif t.dose_state == "zero":
            parts.append("Every recorded dose of the test phase is 0 µg.")
        if t.boluses:
            amounts = " then ".join(_ug(b) for b in t.boluses)  # in visit order
            parts.append(f"A test bolus of {amounts} µg was given (an amount given once, not a "
                         "daily rate)." if len(t.boluses) == 1 else
                         f"Test boluses of {amounts} µg were given, in this order (amounts, not "
                         "daily rates).")
        if t.titrated:
            steps = []
            if t.increases:
                steps.append(f"{t.increases} increase{'s' if t.increases != 1 else ''}")
            cuts = sum(b < a for a, b in zip(t.continuous, t.continuous[1:], strict=False))
            if cuts:
                steps.append(f"{cuts} reduction{'s' if cuts != 1 else ''}")
            parts.append("During the continuous test infusion the dose went through "
                         + ", ".join(_ug(d) for d in t.continuous) + " µg/day in visit order ("
                         + " and ".join(steps) + f"); the titration settled at {_ug(t.settled)}"
                         " µg/day (the dose of the last test-infusion visit).")
        elif t.continuous:
            parts.append(f"The continuous test infusion ran at {_ug(t.continuous[0])} µg/day "
                         "(one dose, no titration).")
        if t.dose_state == "partial":
            parts.append("Some test-phase visits have no recorded dose.")
    if t.pump:
        parts.append("After implantation the pump delivered "
                     + "; ".join(f"{_ug(d)} µg/day at {ctx.labels(v)}" for v, d in t.pump) + ".")
    elif "post_implant" in t.phases:
        parts.append("No pump dose is recorded after implantation.")
    return " ".join(parts)


@markdown_output
def series_dose_text(ctx) -> str:
    """Doses over the series: what each patient's test phase was, settled doses of the
    titrations, bolus amounts, pump doses by follow-up."""
    f = ctx.facts
    if not f.tested and "post_implant" not in f.phases:
        return "No intrathecal baclofen dose is recorded in the data."
    parts = []
    if not f.tested:
        parts.append("No test infusion is in the data.")
    else:
        parts.append(f"{count_words(len(f.tested), f.n).capitalize()} had a test phase.")
        tr = [f.treatments[p] for p in f.titrated]
        if tr:
            parts.append(f"The continuous dose was titrated (two or more distinct doses) in "
                         f"{count_words(len(tr), len(f.tested))} with a test phase; the "
                         "titration settled (dose of the last test-infusion visit) at "
                         f"{_spread([t.settled for t in tr], 'µg/day')}.")
        one = [f.treatments[p] for p in f.tested
               if not f.treatments[p].titrated and f.treatments[p].continuous]
        if one:
            parts.append(f"A continuous test infusion at one dose, without titration, was given "
                         f"to {count_words(len(one), len(f.tested))} with a test phase, at "
                         f"{_spread([t.continuous[0] for t in one], 'µg/day')}.")
        bol = [f.treatments[p] for p in f.tested if f.treatments[p].boluses]
        if bol:
            parts.append(_bolus_sentence([t.boluses for t in bol], len(f.tested)))
        none = [p for p in f.tested if f.treatments[p].administration is None]
        if none:
            parts.append(f"No dose above 0 is recorded in the test phase of "
                         f"{count_words(len(none), len(f.tested))} with a test phase.")
    pump = f.pump_by_visit()
    if pump:
        parts.append("The implanted pump delivered " + "; ".join(
            f"{_spread(d, 'µg/day')} at {ctx.labels(v)} ({len(d)} patient"
            f"{'s' if len(d) != 1 else ''})" for v, d in pump.items()) + ".")
    elif "post_implant" in f.phases:
        parts.append("No pump dose is recorded after implantation.")
    return " ".join(parts)


def _test_phase_words(t: PatientTreatment) -> str:
    """One patient's test phase in words: boluses (how many), then the continuous infusion."""
    n = len(t.boluses)
    bolus = ("" if not n else "a test bolus" if n == 1
             else f"{n} test boluses")
    infusion = ("a titrated continuous test infusion (two or more doses)" if t.titrated
                else "a continuous test infusion at one dose" if t.continuous else "")
    if bolus and infusion:
        return f"{bolus} then {infusion}"
    if bolus:
        return f"{bolus} only"
    if infusion:
        return infusion
    return ("a test phase with every recorded dose 0" if t.dose_state == "zero"
            else "a test phase without a recorded dose")


def _bolus_sentence(sequences: list[tuple[float, ...]], tested: int) -> str:
    """Every bolus of the series: each patient's amounts in order, grouped by sequence
    (a summary by range when more than three sequences differ)."""
    who = count_words(len(sequences), tested)
    several = any(len(s) > 1 for s in sequences)
    head = (f"Test boluses (amounts given once, not daily rates) were given to {who} with a "
            "test phase" if several else
            f"A test bolus (an amount given once, not a daily rate) was given to {who} with a "
            "test phase")
    groups: dict[tuple[float, ...], int] = {}
    for s in sequences:
        groups[s] = groups.get(s, 0) + 1
    def words(s: tuple[float, ...]) -> str:
        return " then ".join(_ug(b) for b in s) + " µg"
    if len(groups) == 1:
        (seq,) = groups
        each = " each" if len(sequences) > 1 and several else ""
        return f"{head}: {words(seq)}{each}."
    if len(groups) <= 3:
        return f"{head}: " + "; ".join(
            f"{words(s)} ({n} patient{'s' if n != 1 else ''})"
            for s, n in sorted(groups.items(), key=lambda g: (-g[1], g[0]))) + "."
    amounts = [b for s in sequences for b in s]
    counts = [len(s) for s in sequences]
    many = (f"{min(counts)} to {max(counts)} boluses" if min(counts) != max(counts)
            else f"{counts[0]} bolus{'es' if counts[0] != 1 else ''}")
    return (f"{head}: {many} per patient, of {_ug(min(amounts))} to {_ug(max(amounts))} µg.")


@markdown_output
def reduction_text(ctx) -> str:
    """Falls of the recorded dose (during the test infusion or from it to the pump), read from
    the sequence of doses; nothing is said without recorded doses."""
    f = ctx.facts
    dosed = [p for p, t in f.treatments.items() if t.continuous or t.pump]
    if not dosed:
        return ""
    if ctx.patient is not None:
        t = f.treatments[ctx.patient]
        if not (t.continuous or t.pump):
            return ""
        if t.reductions:
            return "The recorded dose fell: " + "; ".join(
                f"from {_ug(a)} to {_ug(b)} µg/day" for a, b in t.reductions) + "."
        return "The recorded daily dose never fell from one visit to the next."
    cut = [p for p in dosed if f.treatments[p].reductions]
    if not cut:
        return (f"The recorded daily dose never fell from one visit to the next in any of the "
                f"{len(dosed)} patient{'s' if len(dosed) != 1 else ''} with recorded doses.")
    return (f"The recorded daily dose fell at least once (from one visit to the next) in "
            f"{count_words(len(cut), len(dosed))} with recorded doses.")
