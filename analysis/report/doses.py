"""Dose reporting: test-infusion doses, the settled titration dose, the implanted pump dose, the
therapeutic window as the set of doses meeting its rule, and tolerability during titration.

Definitions used in the text and tables:

- test-infusion doses: the doses (µg/day) of the test-infusion visits, in visit order;
- settled titration dose: the dose of the last test-infusion visit (the ``estimate`` of the
  ``therapeutic_window`` row);
- pump dose: the dose recorded at each visit after implantation;
- therapeutic window: the tested doses at which spasticity improved by at least the threshold
  while strength fell by less than its MDC (``in_window`` of the window table); printed as a
  range only when no tested dose between its ends failed the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from analysis.report.escape import markdown_output
from analysis.report.formatting import MISSING, fmt_num
from analysis.report.labels import grade_steps
from analysis.report.statements import first_clause

__all__ = ["DoseFacts", "dose_facts", "window_doses", "window_text", "series_dose_summary",
           "tolerability", "window_table"]


@dataclass
class DoseFacts:
    """The doses of one patient (see the module docstring)."""

    test_doses: list[float] = field(default_factory=list)
    settled: float | None = None
    pump: list[tuple[str, float]] = field(default_factory=list)


def _per_visit(ctx, patient: str, phase: str) -> pd.DataFrame:
    obs = ctx.all_obs[(ctx.all_obs["patient_id"] == patient) & (ctx.all_obs["phase"] == phase)]
    obs = obs.dropna(subset=["dose_ug_day"]) if "dose_ug_day" in obs else obs.iloc[:0]
    per = obs.groupby("visit", sort=False)["dose_ug_day"].first().reset_index()
    return per.assign(_r=per["visit"].map(ctx.visit_rank)).sort_values("_r", kind="mergesort")


def dose_facts(ctx, patient: str | None) -> DoseFacts:
    """Test-infusion doses (consecutive repeats merged), settled dose and pump doses."""
    if patient is None:
        return DoseFacts()
    ti = _per_visit(ctx, patient, ctx.config.treatment_phase)
    ti = ti[ti["dose_ug_day"] > 0]
    doses = [float(d) for d in ti["dose_ug_day"]]
    merged = [d for i, d in enumerate(doses) if i == 0 or d != doses[i - 1]]
    post = _per_visit(ctx, patient, "post_implant")
    return DoseFacts(test_doses=merged, settled=doses[-1] if doses else None,
                     pump=[(str(v), float(d)) for v, d in zip(post["visit"], post["dose_ug_day"], strict=False)
                           if d > 0])


def window_doses(ctx, patient: str) -> tuple[list[float], list[float]]:
    """(doses meeting the rule, doses tested) of one patient's therapeutic-window table."""
    w = ctx.run.window
    if w is None or not len(w):
        return [], []
    mine = w[w["patient_id"] == patient].sort_values("dose_ug_day")
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
    facts = dose_facts(ctx, patient)
    if not facts.test_doses:
        return "no test infusion with a recorded dose"
    if not ctx.spasticity or not ctx.strength:
        lacking = [w for w, ok in (("spasticity (MAS)", ctx.spasticity),
                                   ("strength (MRC)", ctx.strength)) if not ok]
        return f"no {' or '.join(lacking)} measure in the data"
    return "no spasticity and strength values at the test-infusion doses"


@markdown_output
def window_text(ctx, patient: str) -> str:
    """One patient's therapeutic window in a sentence, or why there is none."""
    rows = ctx.rows("therapeutic_window", patient=patient)
    if rows.empty:
        if not ctx.has_titration:
            return ""
        return f"No therapeutic window was estimated: {_no_window_reason(ctx, patient)}."
    note = str(rows.iloc[0]["note"])
    inside, tested = window_doses(ctx, patient)
    if not inside:
        return (f"No tested dose met the therapeutic-window rule ({_rule(note)}): "
                f"{first_clause(note)}.")
    return (f"The doses meeting the therapeutic-window rule ({_rule(note)}) were "
            f"{_set_text(inside, tested)}.")


def _median_range(values: list[float]) -> str:
    s = pd.Series(values, dtype=float)
    if len(s) == 1:
        return f"{fmt_num(s.iloc[0], 0)} µg/day (one patient)"
    return (f"median {fmt_num(s.median(), 1 if s.median() % 1 else 0)} µg/day (range "
            f"{fmt_num(s.min(), 0)} to {fmt_num(s.max(), 0)}; {len(s)} patients)")


@markdown_output
def series_dose_summary(ctx) -> str:
    """Doses over the series: settled titration dose, pump dose per follow-up, windows."""
    ids = sorted(ctx.all_obs["patient_id"].unique())
    facts = {p: dose_facts(ctx, p) for p in ids}
    parts = []
    settled = [f.settled for f in facts.values() if f.settled is not None]
    if settled:
        parts.append(f"{len(settled)} of {len(ids)} patients had a continuous test infusion with "
                     "the dose titrated; the titration settled (dose of the last test-infusion "
                     f"visit) at {_median_range(settled)}.")
    else:
        parts.append("No patient has a test infusion with a recorded dose.")
    if ctx.has_implant:
        by_visit: dict[str, list[float]] = {}
        for f in facts.values():
            for v, d in f.pump:
                by_visit.setdefault(v, []).append(d)
        if by_visit:
            parts.append("The implanted pump delivered " + "; ".join(
                f"{_median_range(by_visit[v])} at {ctx.labels(v)}"
                for v in sorted(by_visit, key=ctx.visit_rank)) + ".")
        else:
            parts.append("No pump dose is recorded after implantation.")
    if settled:
        rows = ctx.rows("therapeutic_window", patient=None)
        found = sum(bool(window_doses(ctx, p)[0]) for p in rows["patient_id"])
        parts.append(f"A therapeutic window (doses meeting the rule) was found in {found} of "
                     f"{len(settled)} titrated patients; the doses and, when none was found, the "
                     "reason are given per patient in @tbl-window.")
    return " ".join(parts)


def window_table(ctx) -> pd.DataFrame:
    """Per titrated patient: test-infusion doses, settled dose, window doses (or the reason
    none was found), and the pump dose at the last visit after implantation."""
    out = []
    for p in sorted(ctx.all_obs["patient_id"].unique()):
        f = dose_facts(ctx, p)
        if not f.test_doses:
            continue
        rows = ctx.rows("therapeutic_window", patient=p)
        inside, tested = window_doses(ctx, p)
        if rows.empty:
            window = f"none estimated: {_no_window_reason(ctx, p)}"
        elif inside:
            window = _set_text(inside, tested).replace(" µg/day", "")
        else:
            window = f"none found: {first_clause(rows.iloc[0]['note'])}"
        out.append({
            "Patient": p,
            "Test-infusion doses": ", ".join(fmt_num(d, 0) for d in f.test_doses),
            "Settled dose": fmt_num(f.settled, 0),
            "Doses meeting the rule": window,
            "Pump dose, last follow-up": fmt_num(f.pump[-1][1], 0) if f.pump else MISSING,
        })
    return pd.DataFrame(out)


@markdown_output
def tolerability(ctx) -> str:
    """Strength losses during the titration and dose reductions, from the data."""
    if not ctx.has_titration:
        return ("No test infusion is in the data, so no tolerability of a titration can be "
                "reported; adverse events are not recorded in the data.")
    ch = ctx.run.changes
    ch = ch[(ch["phase"] == ctx.config.treatment_phase) & ch["measure"].isin(ctx.strength)]
    if ctx.patient is not None:
        ch = ch[ch["patient_id"] == ctx.patient]
    losses = []
    for r in ch.itertuples():
        steps = grade_steps(ctx.measure_info(r.measure), r.baseline, r.value)
        if steps is not None and steps < 0:
            losses.append(r)
    ids = [ctx.patient] if ctx.patient else sorted(ctx.all_obs["patient_id"].unique())
    reductions = []
    for p in ids:
        f = dose_facts(ctx, p)
        cuts = [(a, b) for a, b in zip(f.test_doses, f.test_doses[1:], strict=False) if b < a]
        if f.pump and f.settled is not None and f.pump[0][1] < f.settled:
            cuts.append((f.settled, f.pump[0][1]))
        if cuts:
            reductions.append((p, cuts))
    parts = []
    if not ctx.strength:
        parts.append("Strength was not measured, so a loss of strength during the titration "
                     "cannot be assessed.")
    elif ctx.patient is not None:
        if losses:
            doses = sorted({float(r.dose_ug_day) for r in losses})
            parts.append("MRC strength fell below its reference grade during the test infusion at "
                         + ", ".join(fmt_num(d, 0) for d in doses) + " µg/day ("
                         + "; ".join(sorted({ctx.label(r.measure, r.side) for r in losses})) + ").")
        else:
            parts.append("MRC strength never fell below its reference grade during the test "
                         "infusion.")
    else:
        who = sorted({r.patient_id for r in losses})
        parts.append(f"{len(who)} of {len(ids)} patients lost at least one MRC grade in some "
                     "muscle during the test infusion" + (
                         f" (lowest dose with a loss: median {fmt_num(pd.Series([min(float(r.dose_ug_day) for r in losses if r.patient_id == p) for p in who]).median(), 0)} µg/day)."
                         if who else "."))
    if ctx.patient is not None:
        if reductions:
            parts.append("The dose was reduced: " + "; ".join(
                f"from {fmt_num(a, 0)} to {fmt_num(b, 0)} µg/day" for a, b in reductions[0][1]) + ".")
        else:
            parts.append("The dose was never reduced.")
    else:
        parts.append(f"The dose was reduced at least once (during the titration or at "
                     f"implantation) in {len(reductions)} of {len(ids)} patients.")
    parts.append("Other adverse events are not recorded in the data.")
    return " ".join(parts)
