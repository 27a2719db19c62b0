"""Dose reporting: test-infusion doses, the settled titration dose, the implanted pump dose, the
therapeutic window as the set of doses meeting its rule, and tolerability during titration.

Definitions used in the text and tables:

- test-infusion doses: the doses (µg/day) of the test-infusion visits, in visit order;
- settled titration dose: the dose of the last test-infusion visit (the ``estimate`` of the
  ``therapeutic_window`` row);
- pump dose: the dose recorded at each visit after implantation;
- therapeutic window: the tested doses at which spasticity improved by at least the threshold
  while strength fell by less than its MDC (``in_window`` of the window table), judged on each
  side apart (a spastic leg beside a normal one: the sides are never averaged); printed as a
  range only when no tested dose between its ends failed the rule.
"""

from __future__ import annotations

import re

import pandas as pd

from analysis.report.escape import markdown_output
from analysis.report.formatting import MISSING, fmt_num
from analysis.report.labels import grade_steps, side_word
from analysis.report.statements import first_clause

__all__ = ["window_doses", "window_text", "series_dose_summary",
           "tolerability", "window_table"]


def window_doses(ctx, patient: str, side: str | None = None) -> tuple[list[float], list[float]]:
    """(doses meeting the rule, doses tested) of one patient's therapeutic-window table, on one
    side when ``side`` is given (each side is judged on its own)."""
    w = ctx.run.window
    if w is None or not len(w):
        return [], []
    mine = w[w["patient_id"] == patient].sort_values("dose_ug_day")
    if side is not None and "side" in mine:
        mine = mine[mine["side"].fillna("") == side]
    return ([float(d) for d in mine.loc[mine["in_window"].astype(bool), "dose_ug_day"]],
            [float(d) for d in mine["dose_ug_day"]])


def _set_text(inside: list[float], tested: list[float]) -> str:
    """"100 to 108 µg/day" when contiguous among the tested doses, else "55 and 80 µg/day"."""
    inside = sorted(set(inside))
    tested = sorted(set(tested))
    if len(inside) == 1:
        return f"{fmt_num(inside[0], 0)} µg/day"
    lo, hi = tested.index(inside[0]), tested.index(inside[-1])
    if tested[lo:hi + 1] == inside:
        return f"{fmt_num(inside[0], 0)} to {fmt_num(inside[-1], 0)} µg/day"
    listed = ", ".join(fmt_num(d, 0) for d in inside[:-1]) + f" and {fmt_num(inside[-1], 0)}"
    gaps = [d for d in tested[lo:hi + 1] if d not in inside]
    return (f"{listed} µg/day (not a continuous range: "
            + ", ".join(fmt_num(d, 0) for d in gaps) + " µg/day between them did not qualify)")


def _rule(note: str) -> str:
    th = re.search(r"spasticity threshold ([\d.]+)", note)
    mdc = re.search(r"strength MDC ([\d.]+)", note)
    if th and mdc:
        return (f"spasticity improved by at least {th[1]} grade while strength fell by less than "
                f"{mdc[1]} grade")
    return "spasticity improved by at least its threshold while strength fell by less than its MDC"


def _no_window_reason(ctx, patient: str) -> str:
    """Why a patient has no therapeutic-window row."""
    t = ctx.facts.treatments.get(patient)
    if t is None or not t.continuous:
        return "no continuous test infusion with a recorded dose"
    if not t.titrated:
        return "one continuous dose only (no titration)"
    if not ctx.spasticity or not ctx.strength:
        lacking = [w for w, ok in (("spasticity (MAS)", ctx.spasticity),
                                   ("strength (MRC)", ctx.strength)) if not ok]
        return f"no {' or '.join(lacking)} measure in the data"
    return "no spasticity and strength values at the test-infusion doses"


def _sides(rows: pd.DataFrame) -> list[str]:
    """The sides of a patient's therapeutic-window rows ("" for an unsided judgement)."""
    return sorted(rows["side"].fillna("").astype(str).unique()) if "side" in rows else [""]


def _side_window(ctx, patient: str, side: str, note: str) -> str:
    """The doses meeting the rule on one side, or why none did."""
    inside, tested = window_doses(ctx, patient, side)
    if inside:
        return _set_text(inside, tested)
    return f"none ({first_clause(note)})"


@markdown_output
def window_text(ctx, patient: str) -> str:
    """One patient's therapeutic window in a sentence, or why there is none; with sides, the
    window of each side (sides are judged apart, never averaged)."""
    rows = ctx.rows("therapeutic_window", patient=patient)
    if rows.empty:
        if not ctx.has_titration:
            return ""
        return f"No therapeutic window was estimated: {_no_window_reason(ctx, patient)}."
    note = str(rows.iloc[0]["note"])
    sides = _sides(rows)
    if sides != [""]:
        notes = {str(r["side"]): str(r["note"]) for _, r in rows.iterrows()}
        each = "; ".join(f"{side_word(s)}, {_side_window(ctx, patient, s, notes[s])}"
                         for s in sides)
        return (f"The therapeutic-window rule ({_rule(note)}) was judged on each side apart "
                f"(the sides are not averaged). Doses meeting it: {each}.")
    inside, tested = window_doses(ctx, patient)
    if not inside:
        return (f"No tested dose met the therapeutic-window rule ({_rule(note)}): "
                f"{first_clause(note)}.")
    return (f"The doses meeting the therapeutic-window rule ({_rule(note)}) were "
            f"{_set_text(inside, tested)}.")


@markdown_output
def series_dose_summary(ctx) -> str:
    """Doses over the series (:func:`analysis.report.treatment_text.series_dose_text`) and the
    therapeutic windows found among the titrated patients."""
    from analysis.report.treatment_text import count_words, series_dose_text

    parts = [series_dose_text(ctx)]
    titrated = ctx.facts.titrated
    if titrated:
        rows = ctx.rows("therapeutic_window", patient=None)
        judged = sorted(set(rows["patient_id"]) & set(titrated))
        found = sum(bool(window_doses(ctx, p)[0]) for p in judged)
        sided = bool(len(rows)) and "side" in rows and rows["side"].fillna("").ne("").any()
        tail = ("; the doses and, when none was found, the reason are given per patient"
                + (" and side" if sided else "") + " in @tbl-window.")
        if not judged:
            reasons = sorted({_no_window_reason(ctx, p) for p in titrated})
            parts.append("No therapeutic window could be judged in the patients with a "
                         f"titration ({'; '.join(reasons)})" + tail)
        else:
            rest = len(titrated) - len(judged)
            parts.append("A therapeutic window (doses meeting the rule"
                         + (" on at least one side, each side judged apart" if sided else "")
                         + f") was found in {count_words(found, len(judged))} with a titration"
                         + (f" and values to judge it ({rest} other titrated patient"
                            f"{'s' if rest != 1 else ''} could not be judged)" if rest else "")
                         + tail)
    return " ".join(parts)


def window_table(ctx) -> pd.DataFrame:
    """Per titrated patient: test-infusion doses, settled dose, window doses (or the reason
    none was found), and the pump dose at the last visit after implantation."""
    out = []
    for p in ctx.facts.titrated:
        f = ctx.facts.treatments[p]
        rows = ctx.rows("therapeutic_window", patient=p)
        if rows.empty:
            window = f"none estimated: {_no_window_reason(ctx, p)}"
        else:
            parts = []
            for _, r in rows.sort_values("side", kind="mergesort").iterrows():
                side = str(r["side"]) if pd.notna(r["side"]) else ""
                inside, tested = window_doses(ctx, p, side)
                text = (_set_text(inside, tested).replace(" µg/day", "") if inside
                        else f"none found: {first_clause(r['note'])}")
                parts.append(f"{side_word(side)}: {text}" if side else text)
            window = "; ".join(parts)
        out.append({
            "Patient": p,
            "Test-infusion doses": ", ".join(fmt_num(d, 0) for d in f.continuous)
            + (" (and visits without a recorded dose)" if f.dose_state == "partial" else ""),
            "Settled dose": fmt_num(f.settled, 0),
            "Doses meeting the rule": window,
            "Pump dose, last follow-up": fmt_num(f.pump[-1][1], 0) if f.pump else MISSING,
        })
    return pd.DataFrame(out)


@markdown_output
def tolerability(ctx) -> str:
    """Strength losses during the test phase and falls of the recorded dose, from the facts."""
    from analysis.report.treatment_text import count_words, reduction_text

    f = ctx.facts
    if not f.tested:
        return ("No test infusion is in the data, so no tolerability of a test phase can be "
                "reported; adverse events are not recorded in the data.")
    ch = ctx.changes
    ch = ch[(ch["phase"] == ctx.config.treatment_phase) & ch["measure"].isin(ctx.strength)]
    losses = []
    for r in ch.itertuples():
        steps = grade_steps(ctx.measure_info(r.measure), r.baseline, r.value)
        if steps is not None and steps < 0:
            losses.append(r)
    parts = []
    if not ctx.strength:
        parts.append("Strength was not measured, so a loss of strength during the test phase "
                     "cannot be assessed.")
    elif ctx.patient is not None:
        if losses:
            doses = sorted({float(r.dose_ug_day) for r in losses if r.dose_ug_day == r.dose_ug_day})
            at = (" at " + ", ".join(fmt_num(d, 0) for d in doses) + " µg/day" if doses
                  and f.treatments[ctx.patient].continuous else "")
            parts.append("MRC strength fell below its reference grade during the test phase"
                         + at + " ("
                         + "; ".join(sorted({ctx.label(r.measure, r.side) for r in losses})) + ").")
        else:
            parts.append("MRC strength never fell below its reference grade during the test "
                         "phase.")
    else:
        who = sorted({r.patient_id for r in losses})
        parts.append(f"{count_words(len(who), len(f.tested))} with a test phase lost at least "
                     "one MRC grade in some muscle during it"
                     + (f" ({', '.join(who)})." if who else "."))
    cut = reduction_text(ctx)
    if cut:
        parts.append(cut)
    parts.append("Other adverse events are not recorded in the data.")
    return " ".join(parts)
