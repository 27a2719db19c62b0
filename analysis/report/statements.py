"""Small pieces of report sentences: adjustments in words, one patient's change, notes.

Shared by :mod:`analysis.report.narrative`, :mod:`analysis.report.doses` and the tables.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from analysis.report.formatting import digits_for, fmt_num
from analysis.report.labels import grade, grade_steps, with_unit

__all__ = ["adjustment_words", "first_clause", "digits_of", "change_text"]

_ADJ = re.compile(r"^holm: (?P<kind>family|measure)=(?P<name>[^(]+?) \((?P<n>\d+) tests?\)$")


def adjustment_words(adjustment: Any) -> str:
    """The ``adjustment`` column in words.

    Examples
    --------
    >>> adjustment_words("holm: family=primary (3 tests)")
    "Holm adjustment across the 3 tests of the declared family 'primary'"
    >>> adjustment_words("holm: measure=emg_soleus_rms (12 tests)")
    'Holm adjustment across the 12 tests of this measure (its visits and sides; it is in no declared family)'
    >>> adjustment_words("holm: measure=tug (1 tests)")
    'no adjustment: the only test of this measure'
    >>> adjustment_words("holm: 6 contrasts of visit against baseline")
    'Holm adjustment across the 6 contrasts of the model'
    """
    text = str(adjustment or "")
    m = _ADJ.match(text)
    if m and m["n"] == "1":
        return "no adjustment: the only test of " + (
            f"the declared family '{m['name']}'" if m["kind"] == "family" else "this measure")
    if m and m["kind"] == "family":
        return f"Holm adjustment across the {m['n']} tests of the declared family '{m['name']}'"
    if m:
        return (f"Holm adjustment across the {m['n']} tests of this measure (its visits and sides;"
                " it is in no declared family)")
    c = re.match(r"^holm: (\d+) contrasts", text)
    if c:
        return f"Holm adjustment across the {c[1]} contrasts of the model"
    return "adjustment" if not text else "Holm adjustment" if text.startswith("holm") else text


def first_clause(note: Any) -> str:
    """The first clause of a row's note (up to the first semicolon), without code names.

    Examples
    --------
    >>> first_clause("no dose qualifies: spasticity never improved; strength MDC 1")
    'no dose qualifies: spasticity never improved'
    >>> first_clause("p_value = the one-sided p; singcar")
    'p = the one-sided p'
    >>> first_clause("not classified: better = 'context'")
    'not classified: the direction of improvement depends on the clinical context'
    """
    text = str(note or "").split(";")[0].strip()
    text = text.replace("better = 'context'", "the direction of improvement depends on the "
                        "clinical context").replace("better = 'towards_normal'",
                        "improvement means moving towards the normal range")
    text = re.sub(r"\bp_value\b", "p", text)  # a note naming its row's column
    text = re.sub(r"\btest_infusion\b", "test infusion", text)
    text = re.sub(r"\bpost_implant\b", "after implantation", text)
    return text


def digits_of(row: pd.Series | None, info: Any) -> int:
    """Decimals for a value of a measure (from its unit; 2 without one)."""
    return digits_for(getattr(info, "unit", None)) if info is not None else 2


def change_text(ctx: Any, measure: str, side: str, term: str) -> str:
    """One patient's change in words: "from 0.48 to 0.97 m/s (+0.49 m/s) from A to B".

    Ordinal measures are given as grades ("from grade 2 to 1+, one step lower"); the Reliable
    Change Index follows when it was computed, else its note.
    """
    info = ctx.measure_info(measure)
    ch = ctx.run.changes
    ch = ch[(ch["patient_id"] == ctx.patient) & (ch["measure"] == measure) & (ch["side"] == side)
            & (ch["visit"] == term.split(" - ")[0])]
    r = ctx.rows("change", measure=measure, side=side, patient=ctx.patient, term=term)
    est = r.iloc[0]["estimate"] if len(r) else float("nan")
    dg = digits_of(None, info)
    if len(ch) and info is not None and info.levels:
        b, a = ch.iloc[0]["baseline"], ch.iloc[0]["value"]
        steps = grade_steps(info, b, a)
        move = ("unchanged" if steps == 0 else f"{abs(steps)} step{'s' if abs(steps) != 1 else ''} "
                + ("lower" if steps < 0 else "higher")) if steps is not None else ""
        text = f"from grade {grade(info, b)} to {grade(info, a)}" + (f" ({move})" if move else "")
    elif len(ch):
        b, a = ch.iloc[0]["baseline"], ch.iloc[0]["value"]
        sign = "+" if est > 0 else ""
        text = (f"from {with_unit(fmt_num(b, dg), info.unit if info else '')} to "
                f"{with_unit(fmt_num(a, dg), info.unit if info else '')} "
                f"({sign}{with_unit(fmt_num(est, dg), info.unit if info else '')})")
    else:
        text = f"by {with_unit(fmt_num(est, dg), info.unit if info else '')}"
    text += " " + ctx.labels.span(term)
    rci = ctx.rows("rci", measure=measure, side=side, patient=ctx.patient, term=term)
    if len(rci) and pd.notna(rci.iloc[0]["estimate"]):
        text += f" (Reliable Change Index {fmt_num(rci.iloc[0]['estimate'], 2)})"
    return text


def multiplicity_text(ctx: Any) -> str:
    """The multiplicity adjustment exactly as applied, read from the ``adjustment`` column."""
    rows = ctx.results[ctx.results["analysis"].isin(["paired_t", "wilcoxon", "wilcoxon_normal"])
                       & ctx.results["adjustment"].str.startswith("holm")]
    if rows.empty:
        return ""
    fam = rows["adjustment"].str.extract(r"family=([^(]+?) \(")[0].dropna().unique()
    own = rows.loc[rows["adjustment"].str.contains("measure="), "measure"].unique()
    parts = []
    for name in sorted(fam):
        members = [ctx.label(m) for m in ctx.config.families.get(name, ()) if m in ctx.measures]
        parts.append(f"'{name}' ({'; '.join(members)})")
    text = "Paired-test p-values were Holm-adjusted [@holm1979]"
    if parts:
        text += " across the measures, visits and sides of each declared family: " + ", ".join(parts)
    if len(own):
        who = ("the one measure" if len(own) == 1 else f"each of the {len(own)} measures")
        text += ("; " if parts else " ") + (f"{who} in no declared family was adjusted across "
                                            "its own visits and sides")
    text += "."
    if len(ctx.rows("lmm_contrast")):
        text += (" Mixed-model contrasts were Holm-adjusted across the visits of their model. "
                 "Other p-values are unadjusted.")
    return text
