"""Row-level rules of validation: values, units, ranges, sides, phases, patients without a
baseline.

Used by :mod:`analysis.data.validate`, which documents the rules and gathers the problems, and by
:mod:`analysis.data.table_rules`, which applies :func:`observation` to whole tables (and holds the
rules on phase filling and duplicates). Each function records problems (and changed or
excluded rows) in a :class:`Collector` instead of raising, so that every problem of a file is
reported at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from analysis.data.codebook import Codebook, Measure
from analysis.data.identifiers import normalise_name
from analysis.data.missing import NA_TOKENS
from analysis.data.schema import PHASES
from analysis.errors import Problem

_CENSORED = re.compile(r"^(<=?|>=?|≤|≥)\s*[-+]?[\d.,]+\s*$")
_NUM_UNIT = re.compile(r"^[-+]?\d+([.,]\d+)?\s*[^\d\s.,]+.*$")
#: A number written with a decimal comma (``12,5``).
COMMA_NUMBER = re.compile(r"^[-+]?\d*,\d+$")
PHASE_ALIASES = {"baseline": "baseline", "bl": "baseline", "pre": "baseline",
                 "pre_itb": "baseline", "test_infusion": "test_infusion", "ti": "test_infusion",
                 "test": "test_infusion", "infusion": "test_infusion",
                 "post_implant": "post_implant", "post": "post_implant",
                 "implant": "post_implant", "post_implantation": "post_implant",
                 "follow_up": "post_implant", "fu": "post_implant"}
SIDES = {"": "", "l": "L", "left": "L", "links": "L", "r": "R", "right": "R", "rechts": "R"}
EXCLUDED_COLUMNS = ["file", "row", "patient_id", "visit", "measure", "side", "column", "value",
                    "action", "reason"]


# ---------------------------------------------------------------------------- values

def parse_number(text: str, *, decimal: str = ".") -> tuple[float | None, str]:
    """A number from text: ``(value, status)``, status ``ok``, ``missing``, ``comma`` (decimal
    comma read as a point), ``censored``, ``unit`` (a unit written with the number) or ``text``.

    Examples
    --------
    >>> parse_number("12,5"), parse_number("12,5", decimal=","), parse_number(">30")
    ((12.5, 'comma'), (12.5, 'ok'), (None, 'censored'))
    >>> parse_number("n/a"), parse_number("12 s"), parse_number("abc")
    ((None, 'missing'), (None, 'unit'), (None, 'text'))
    """
    s = str(text).strip()
    if s.lower() in NA_TOKENS:
        return None, "missing"
    if _CENSORED.match(s):
        return None, "censored"
    status = "ok"
    if COMMA_NUMBER.match(s):
        s, status = s.replace(",", "."), ("ok" if decimal == "," else "comma")
    try:
        v = float(s)
    except ValueError:
        return None, ("unit" if _NUM_UNIT.match(s) else "text")
    return (v, status) if math.isfinite(v) else (None, "text")


def fmt_number(v: float) -> str:
    """A number as messages show it (``%g``).

    Examples
    --------
    >>> fmt_number(1.5), fmt_number(0.1 + 0.2), fmt_number(1e7)
    ('1.5', '0.3', '1e+07')
    """
    return f"{v:g}"


# ---------------------------------------------------------------------------- the rows

class Collector:
    """Problems and the exclusions log of one file."""

    def __init__(self, file: str, problems: Sequence[Problem]):
        self.file, self.log = file, []
        self.problems = [replace(p, fix=p.fix[:1].upper() + p.fix[1:]) for p in problems]

    def add(self, row, column, value, rule, *, severity="error", fix=""):
        fix = fix[:1].upper() + fix[1:]
        self.problems.append(Problem(self.file, None if row is None else int(row), column,
                                     None if value is None else str(value), rule, severity, fix))

    def exclude(self, r: Mapping, column: str, value, action: str, reason: str):
        self.log.append({"file": self.file, "row": int(r["_row"]),
                         "patient_id": str(r.get("patient_id", "")), "visit": str(r.get("visit", "")),
                         "measure": str(r.get("measure", "")), "side": str(r.get("side", "")),
                         "column": column, "value": str(value), "action": action, "reason": reason})


def infer_phase(visit: str) -> str | None:
    """The phase a visit label names (``bl`` baseline, ``ti_day2`` test infusion, ``m6`` post
    implant), or None.

    Examples
    --------
    >>> infer_phase("Baseline 2"), infer_phase("TI day 2"), infer_phase("m6"), infer_phase("x")
    ('baseline', 'test_infusion', 'post_implant', None)
    """
    v = normalise_name(visit)
    if re.match(r"^(baseline|bl|pre|screen|t0)", v):
        return "baseline"
    if re.match(r"^(ti|test)", v):
        return "test_infusion"
    if re.match(r"^(post|fu|follow|implant|m\d|y\d)", v):
        return "post_implant"
    return None


def _value(r: Mapping, m: Measure, decimal: str, col: Collector, src: str) -> float | None:
    text = str(r["value"]).strip()
    row = r["_row"]
    if m.levels is not None and (text in m.levels or text in m.aliases):
        code = m.code(text)
        if text in m.aliases or fmt_number(code) != text:
            col.add(row, src, text, f"{m.key} level '{text}' coded {fmt_number(code)}"
                    + (f" (recorded as grade {m.aliases[text]})" if text in m.aliases else ""),
                    severity="note")
        return code
    v, status = parse_number(text, decimal=decimal)
    if status == "missing":
        col.add(row, src, text, "missing value: row excluded", severity="note",
                fix="leave the cell empty for a missing observation")
        col.exclude(r, src, text, "excluded", "missing value")
    elif status == "censored":
        col.add(row, src, text, "censored value (a limit, not a measurement)",
                fix="enter the value or leave empty and note the censoring")
    elif status == "unit":
        col.add(row, src, text, "text in a numeric column (a unit written with the number)",
                fix="enter only the number; give the unit in the 'unit' column")
    elif status == "text":
        what = f"; levels are {', '.join(m.levels)}" if m.levels else ""
        col.add(row, src, text, f"text in a numeric column{what}",
                fix="enter a number, or leave the cell empty if the value is missing")
    else:
        if status == "comma":
            # one rule text for every cell, so the report groups them: one line per column
            col.add(row, src, text, "decimal comma read as a decimal point", severity="note",
                    fix="use a decimal point, or a ';'-separated file with decimal commas throughout")
        return v
    return None


def _check_range(v: float, r, m: Measure, col: Collector, src: str, shown: str) -> bool:
    row = r["_row"]
    if m.codes is not None:
        if not any(math.isclose(v, c) for c in m.codes):
            col.add(row, src, shown, f"value out of range: {m.key} takes the levels "
                    f"{', '.join(m.levels)} (coded {', '.join(fmt_number(c) for c in m.codes)})",
                    fix="correct the value")
            return False
        return True
    lo, hi = m.minimum, m.maximum
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"[{'-inf' if lo is None else fmt_number(lo)}, {'inf' if hi is None else fmt_number(hi)}] {m.unit}"
        col.add(row, src, shown, f"value out of range: {m.key} must lie in {rng}",
                fix="correct the value, or check its unit")
        return False
    if m.integer and not float(v).is_integer():
        col.add(row, src, shown, f"{m.key} takes whole numbers only", fix="correct the value")
        return False
    return True


def _unit_factor(r, m: Measure, col: Collector) -> float | None:
    u = str(r.get("unit", "")).strip().replace("µ", "u").replace("μ", "u")
    if u == "" or u.lower() == m.unit.lower():
        return 1.0
    conv = {k.lower(): f for k, f in m.conversions.items()}
    if u.lower() in conv:
        return conv[u.lower()]
    known = ", ".join(m.conversions) or "none"
    col.add(r["_row"], "unit", u, f"unit '{u}' cannot be converted to {m.unit} for {m.key}",
            fix=f"give the value in {m.unit} (convertible units: {known})")
    return None


def observation(r: Mapping, cb: Codebook, decimal: str, col: Collector, extras: list[str],
         unknown: dict) -> dict | None:
    row, src = r["_row"], r.get("_source_column") or "value"
    pid, visit = str(r["patient_id"]).strip(), str(r["visit"]).strip()
    ok = True
    for name, text in (("patient_id", pid), ("visit", visit)):
        if not text:
            col.add(row, name, "", f"{name} is empty", fix=f"fill in {name}")
            ok = False
        elif text.lower() in NA_TOKENS:
            col.add(row, name, text, f"{name} is a missing-value spelling, not a "
                    f"{'patient' if name == 'patient_id' else 'visit'}",
                    fix=f"fill in the real {name}, or delete the row")
            ok = False
    key = str(r["measure"]).strip()
    if key not in cb and normalise_name(key) in cb:
        key = normalise_name(key)
    if key not in cb:
        unknown.setdefault(str(r["measure"]), []).append(row)
        return None
    m = cb.measure(key)
    side_text = str(r.get("side", "")).strip()
    side = SIDES.get(side_text.lower())
    if side is None:
        col.add(row, "side", side_text, "side must be L, R or empty", fix="write L or R")
        ok = False
    elif side and not m.sided:
        col.add(row, "side", side_text, f"{key} is not measured per side",
                fix="leave side empty for this measure")
        ok = False
    factor = _unit_factor(r, m, col)
    v = _value(r, m, decimal, col, src)
    if v is None or factor is None or not ok:
        return None
    shown = str(r["value"]).strip()
    if factor != 1.0:
        u = str(r["unit"]).strip()
        new = v * factor
        col.add(row, src, shown, f"converted {fmt_number(v)} {u} to {fmt_number(new)} {m.unit}",
                severity="note")
        col.exclude(r, src, shown, "converted", f"{fmt_number(v)} {u} -> {fmt_number(new)} {m.unit}")
        v = new
    if not _check_range(v, r, m, col, src, shown):
        return None
    out = {"patient_id": pid, "visit": visit, "measure": key, "value": float(v), "side": side,
           "unit": m.unit, "_row": int(row), "_src": src}
    # phase, day, dose
    ph = str(r.get("phase", "")).strip()
    if ph:
        out["phase"] = PHASE_ALIASES.get(normalise_name(ph))
        if out["phase"] is None:
            col.add(row, "phase", ph, f"phase must be one of {', '.join(PHASES)}",
                    fix="correct the phase")
            return None
    else:
        out["phase"] = None
    for name in ("day", "dose_ug_day"):
        text = str(r.get(name, "")).strip()
        num, status = parse_number(text, decimal=decimal) if text else (None, "missing")
        if status in ("ok", "comma"):
            if name == "dose_ug_day" and num < 0:
                col.add(row, name, text, "dose must not be negative", fix="correct the dose")
                return None
            ceiling = (cb.columns.get("dose_ug_day") or {}).get("maximum")
            if name == "dose_ug_day" and ceiling is not None and num > ceiling:
                col.add(row, name, text, f"dose above {fmt_number(ceiling)} ug/day, unusual for "
                        "intrathecal baclofen: accepted", severity="note",
                        fix="check the unit: the column is in ug/day (dose_mg_day is converted)")
            out[name] = num
        elif status == "missing":
            out[name] = np.nan
        else:
            col.add(row, name, text, f"{name} must be a number", fix="enter a number or leave "
                    "the cell empty")
            return None
    for e in extras:
        out[e] = str(r.get(e, ""))
    return out


def no_baseline(obs: pd.DataFrame, col: Collector) -> pd.DataFrame:
    keys = ["patient_id", "measure", "side"]
    base = obs[obs["phase"] == "baseline"]
    measured = set(base["measure"].unique().tolist())
    for m in sorted(set(obs["measure"].unique().tolist()) - measured):
        col.add(None, "measure", m, f"measure '{m}' has no baseline observation in any patient "
                "(expected for a rating of change such as PGIC); it enters no comparison with "
                "baseline", severity="note")
    cand = obs.loc[obs["measure"].isin(measured), keys].drop_duplicates()
    # candidates without a baseline row, in order of first appearance (a left merge keeps it)
    found = cand.merge(base[keys].drop_duplicates(), on=keys, how="left", indicator=True)
    missing = list(map(tuple, cand[(found["_merge"] == "left_only").to_numpy()]
                       .to_numpy().tolist()))
    by_patient: dict[str, dict[str, list[str]]] = {}
    for pid, m, side in missing:  # one note per patient: "tug, mas_knee_ext (L, R)"
        by_patient.setdefault(pid, {}).setdefault(m, []).append(side)
    for pid, measures in by_patient.items():
        what = ", ".join(m + (f" ({', '.join(s for s in sides if s)})" if any(sides) else "")
                         for m, sides in measures.items())
        col.add(None, "patient_id", pid, f"patient {pid} has no baseline observation of {what}: "
                "kept, but excluded from paired and individual-change analyses of "
                + ("that measure" if len(measures) == 1 else "those measures"),
                severity="note", fix="add the baseline observations if they exist")
    return pd.DataFrame(missing, columns=keys)
