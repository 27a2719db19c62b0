"""Row-level rules of validation: values, units, ranges, sides, phases, duplicates.

Used by :mod:`analysis.data.validate`, which documents the rules and gathers the problems. Each
function records problems (and changed or excluded rows) in a :class:`Collector` instead of
raising, so that every problem of a file is reported at once.
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
_COMMA = re.compile(r"^[-+]?\d*,\d+$")
_PHASE_ALIASES = {"baseline": "baseline", "bl": "baseline", "pre": "baseline",
                  "pre_itb": "baseline", "test_infusion": "test_infusion", "ti": "test_infusion",
                  "test": "test_infusion", "infusion": "test_infusion",
                  "post_implant": "post_implant", "post": "post_implant",
                  "implant": "post_implant", "post_implantation": "post_implant",
                  "follow_up": "post_implant", "fu": "post_implant"}
_SIDES = {"": "", "l": "L", "left": "L", "links": "L", "r": "R", "right": "R", "rechts": "R"}
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
    if _COMMA.match(s):
        s, status = s.replace(",", "."), ("ok" if decimal == "," else "comma")
    try:
        v = float(s)
    except ValueError:
        return None, ("unit" if _NUM_UNIT.match(s) else "text")
    return (v, status) if math.isfinite(v) else (None, "text")


def _fmt(v: float) -> str:
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


def _infer_phase(visit: str) -> str | None:
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
        if text in m.aliases or _fmt(code) != text:
            col.add(row, src, text, f"{m.key} level '{text}' coded {_fmt(code)}"
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
            col.add(row, src, text, f"decimal comma read as {_fmt(v)}", severity="note",
                    fix="use a decimal point, or a ';'-separated file with decimal commas throughout")
        return v
    return None


def _check_range(v: float, r, m: Measure, col: Collector, src: str, shown: str) -> bool:
    row = r["_row"]
    if m.codes is not None:
        if not any(math.isclose(v, c) for c in m.codes):
            col.add(row, src, shown, f"value out of range: {m.key} takes the levels "
                    f"{', '.join(m.levels)} (coded {', '.join(_fmt(c) for c in m.codes)})",
                    fix="correct the value")
            return False
        return True
    lo, hi = m.minimum, m.maximum
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"[{'-inf' if lo is None else _fmt(lo)}, {'inf' if hi is None else _fmt(hi)}] {m.unit}"
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
    side = _SIDES.get(side_text.lower())
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
        col.add(row, src, shown, f"converted {_fmt(v)} {u} to {_fmt(new)} {m.unit}",
                severity="note")
        col.exclude(r, src, shown, "converted", f"{_fmt(v)} {u} -> {_fmt(new)} {m.unit}")
        v = new
    if not _check_range(v, r, m, col, src, shown):
        return None
    out = {"patient_id": pid, "visit": visit, "measure": key, "value": float(v), "side": side,
           "unit": m.unit, "_row": int(row), "_src": src}
    # phase, day, dose
    ph = str(r.get("phase", "")).strip()
    if ph:
        out["phase"] = _PHASE_ALIASES.get(normalise_name(ph))
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
                col.add(row, name, text, f"dose above {_fmt(ceiling)} ug/day, unusual for "
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


def observations(raw: pd.DataFrame, cb: Codebook, decimal: str, col: Collector,
                 extras: list[str], unknown: dict) -> list[dict]:
    """:func:`observation` of every row of ``raw``, in order (None results left out).

    Rows that break no rule and need no note (the usual case) take a fast path that does
    the same checks without building a record; any other row goes through
    :func:`observation`, which records its problems. The result, the problems and their
    order are those of calling :func:`observation` on every row.
    """
    names = list(raw.columns)
    # one Python list per column: iterating a DataFrame's records is slow for many rows
    columns = [raw[c].tolist() for c in names]
    at = {c: i for i, c in enumerate(names)}
    blank = [""] * len(raw)

    def column(name: str) -> list:
        return columns[at[name]] if name in at else blank

    fast = _FastRules(cb)
    out: list[dict] = []
    zipped = zip(column("patient_id"), column("visit"), column("measure"), column("side"),
                 column("unit"), column("value"), column("phase"), column("day"),
                 column("dose_ug_day"), column("_row"), column("_source_column"),
                 zip(*(column(e) for e in extras)) if extras else iter(lambda: (), None),
                 range(len(raw)))
    for pid, visit, key, side, unit, value, ph, day, dose, row, src, extra, i in zipped:
        o = fast.observation(pid, visit, key, side, unit, value, ph, day, dose, row, src)
        if o is None:  # a problem or a note: the full rules say which
            o = observation(dict(zip(names, (c[i] for c in columns))), cb, decimal, col,
                            extras, unknown)
            if o is not None:
                out.append(o)
            continue
        for e, v in zip(extras, extra):
            o[e] = str(v)
        out.append(o)
    return out


class _FastRules:
    """:func:`observation` for rows that need no problem or note; None for any other row.

    Hand-written mirror of the checks of :func:`observation` for the clean case only, with
    the outcome of each distinct cell text cached (a row it cannot accept silently goes back
    to :func:`observation`, so no message is written here).
    """

    def __init__(self, cb: Codebook):
        self.cb = cb
        self.ceiling = (cb.columns.get("dose_ug_day") or {}).get("maximum")
        self.ids: dict[tuple, tuple | None] = {}
        self.values: dict[tuple, float | None] = {}
        self.phases: dict[str, str | None] = {}
        self.days: dict[str, float | None] = {}
        self.doses: dict[str, float | None] = {}

    def observation(self, pid, visit, key, side, unit, value, ph, day, dose, row,
                    src) -> dict | None:
        pid, visit = str(pid).strip(), str(visit).strip()
        if pid.lower() in NA_TOKENS or visit.lower() in NA_TOKENS:
            return None
        ids = (str(key), str(side), str(unit))
        found = self.ids[ids] if ids in self.ids else self.ids.setdefault(ids, self._ids(*ids))
        if found is None:
            return None
        m, key, side = found
        text = str(value).strip()
        v = self.values.get((key, text), False)
        if v is False:
            v = self.values[(key, text)] = self._value(m, text)
        if v is None:
            return None
        ph = str(ph).strip()
        if ph:
            phase = self.phases.get(ph, False)
            if phase is False:
                phase = self.phases[ph] = _PHASE_ALIASES.get(normalise_name(ph))
            if phase is None:
                return None
        else:
            phase = None
        day = str(day).strip()
        d = self.days.get(day, False)
        if d is False:
            d = self.days[day] = self._number(day, dose=False)
        dose = str(dose).strip()
        q = self.doses.get(dose, False)
        if q is False:
            q = self.doses[dose] = self._number(dose, dose=True)
        if d is None or q is None:
            return None
        return {"patient_id": pid, "visit": visit, "measure": key, "value": v, "side": side,
                "unit": m.unit, "_row": int(row), "_src": src or "value", "phase": phase,
                "day": d, "dose_ug_day": q}

    def _ids(self, key, side, unit) -> tuple | None:
        key = str(key).strip()
        if key not in self.cb:
            return None
        m = self.cb.measure(key)
        side = _SIDES.get(str(side).strip().lower())
        if side is None or (side and not m.sided):
            return None
        u = str(unit).strip().replace("µ", "u").replace("μ", "u")
        if u != "" and u.lower() != m.unit.lower():
            return None
        return m, key, side

    @staticmethod
    def _value(m: Measure, text: str) -> float | None:
        if m.levels is not None and (text in m.levels or text in m.aliases):
            if text in m.aliases:
                return None
            v = m.code(text)
            if _fmt(v) != text:
                return None
        else:
            try:
                v = float(text)  # what parse_number returns for a plain number (status "ok")
            except ValueError:
                return None
            if not math.isfinite(v):
                return None
        if m.codes is not None:
            if not any(math.isclose(v, c) for c in m.codes):
                return None
        elif ((m.minimum is not None and v < m.minimum)
              or (m.maximum is not None and v > m.maximum)
              or (m.integer and not float(v).is_integer())):
            return None
        return float(v)

    def _number(self, text: str, *, dose: bool) -> float | None:
        if not text:
            return np.nan
        try:
            num = float(text)
        except ValueError:
            return None
        if not math.isfinite(num):
            return None
        if dose and (num < 0 or (self.ceiling is not None and num > self.ceiling)):
            return None
        return num


def fill_phase_and_dose(rows: list[dict], col: Collector) -> list[dict]:
    inferred, kept = {}, []
    for o in rows:
        if o["phase"] is None:
            if o["visit"] not in inferred:
                inferred[o["visit"]] = _infer_phase(o["visit"])
                p = inferred[o["visit"]]
                if p is None:
                    col.add(o["_row"], "phase", "", f"phase is empty and cannot be inferred from "
                            f"visit '{o['visit']}'", fix=f"fill phase with one of {', '.join(PHASES)}")
                else:
                    col.add(None, "phase", o["visit"], f"phase of visit '{o['visit']}' inferred "
                            f"as {p}", severity="note", fix="fill the phase column")
            if inferred[o["visit"]] is None:
                continue
            o["phase"] = inferred[o["visit"]]
        kept.append(o)
    filled = [o for o in kept if o["phase"] == "baseline" and np.isnan(o["dose_ug_day"])]
    for o in filled:
        o["dose_ug_day"] = 0.0
    if filled:
        col.add(None, "dose_ug_day", None, f"dose missing in the baseline phase set to 0 "
                f"({len(filled)} row(s)): no ITB before the test infusion", severity="note")
    return kept


def duplicates(rows: list[dict], col: Collector) -> list[dict]:
    first: dict[tuple, dict] = {}
    kept = []
    for o in rows:
        k = (o["patient_id"], o["visit"], o["measure"], o["side"])
        if k not in first:
            first[k] = o
            kept.append(o)
            continue
        a = first[k]
        what = f"{k[0]} / {k[1]} / {k[2]}" + (f" / side {k[3]}" if k[3] else "")
        if math.isclose(a["value"], o["value"], rel_tol=1e-12, abs_tol=1e-12):
            col.add(o["_row"], o["_src"], _fmt(o["value"]), f"duplicate of row {a['_row']} "
                    f"({what}, same value): dropped", severity="note")
            col.exclude(o, o["_src"], _fmt(o["value"]), "dropped", f"duplicate of row {a['_row']}")
        else:
            col.add(o["_row"], o["_src"], _fmt(o["value"]), f"duplicate observations disagree: "
                    f"row {a['_row']} has {_fmt(a['value'])} and row {o['_row']} has "
                    f"{_fmt(o['value'])} for {what}",
                    fix="keep one of the two rows, or give them different visit labels")
    return kept


def no_baseline(obs: pd.DataFrame, col: Collector) -> pd.DataFrame:
    keys = ["patient_id", "measure", "side"]
    base = obs[obs["phase"] == "baseline"]
    measured = set(base["measure"])
    for m in sorted(set(obs["measure"]) - measured):
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
