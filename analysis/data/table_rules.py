"""The row rules of validation applied to a whole table at once (columns, not records).

:func:`observations` checks every row of a raw table with the rules of
:func:`analysis.data.rules.observation`: rows that break no rule and need no note (the usual
case) are checked column by column, each distinct cell text judged once; every other row goes
through :func:`~analysis.data.rules.observation` itself, in row order, which records its
problems. :func:`fill_phase_and_dose` and :func:`duplicates` follow. The kept rows, their
values and the problems (their order and text) are those of applying the per-row rules to
every row in turn (tests compare the two on many files). :func:`r_missing_text` runs first: it
reads R's ``NA`` in the optional text columns as an empty cell.

The result is a dict of equal-length numpy arrays, one per column (``patient_id, visit,
measure, value, side, unit, _row, _src, phase, day, dose_ug_day`` and the extra columns).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.data.codebook import Codebook, Measure
from analysis.data.identifiers import normalise_name
from analysis.data.missing import NA_TOKENS
from analysis.data.rules import (
    COMMA_NUMBER,
    PHASE_ALIASES,
    SIDES,
    Collector,
    fmt_number,
    infer_phase,
    observation,
)
from analysis.data.schema import PHASES
from analysis.data.visits import VISIT_SPELLINGS

Columns = dict[str, np.ndarray]


def group_codes(*arrays: np.ndarray) -> np.ndarray:
    """One integer per row naming its combination of values, numbered by first appearance.

    Examples
    --------
    >>> pid, side = np.array(["b", "a", "b", "b"]), np.array(["L", "L", "L", "R"])
    >>> group_codes(pid, side)
    array([0, 1, 0, 2])
    """
    codes = np.zeros(len(arrays[0]) if arrays else 0, dtype=np.int64)
    for a in arrays:
        c, uniq = pd.factorize(np.asarray(a), use_na_sentinel=False)
        codes, _ = pd.factorize(codes * max(len(uniq), 1) + c)
    return codes.astype(np.int64)


def _texts(raw: pd.DataFrame, name: str) -> tuple[np.ndarray, list]:
    """(code per row, distinct values as ``str()`` makes them) of a raw column; a missing
    column is all ''."""
    if name not in raw.columns:
        return np.zeros(len(raw), dtype=np.int64), [""]
    s = raw[name]
    if isinstance(s.dtype, pd.StringDtype):  # text or missing (NaN / NA): factorized by Arrow
        codes, uniq = pd.factorize(s.array, use_na_sentinel=True)
        codes = np.where(codes < 0, len(uniq), codes)
        return codes, [str(u) for u in np.asarray(uniq, dtype=object)] + [str(s.dtype.na_value)]
    codes, uniq = pd.factorize(np.array([str(x) for x in s.tolist()], dtype=object))
    return codes, list(uniq)


def _clean_value(m: Measure, text: str, decimal: str) -> float | None:
    """The value of a cell that needs no note, else None (the full rules then say why)."""
    if m.levels is not None and (text in m.levels or text in m.aliases):
        if text in m.aliases:
            return None
        v = m.code(text)
        if fmt_number(v) != text:
            return None
    else:
        if decimal == "," and COMMA_NUMBER.match(text):  # the file's own decimal comma
            text = text.replace(",", ".")
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


def _clean_number(text: str, ceiling: float | None) -> float | None:
    """day (ceiling None) or dose of a cell that needs no note: NaN when empty or missing,
    else None (as parse_number reads it: a decimal comma is read without a note here)."""
    text = text.strip()
    if not text or text.lower() in NA_TOKENS:
        return math.nan
    if COMMA_NUMBER.match(text):
        text = text.replace(",", ".")
    try:
        num = float(text)
    except ValueError:
        return None
    if not math.isfinite(num):
        return None
    if ceiling is not None and (num < 0 or (not math.isnan(ceiling) and num > ceiling)):
        return None
    return num


def observations(raw: pd.DataFrame, cb: Codebook, decimal: str, col: Collector,
                 extras: list[str], unknown: dict) -> Columns:
    """:func:`~analysis.data.rules.observation` of every row of ``raw`` as columns (rows it
    refuses left out), its problems recorded in ``col`` and unknown measures in ``unknown``,
    in row order."""
    n = len(raw)
    ok = np.ones(n, dtype=bool)
    out: Columns = {}
    for name in ("patient_id", "visit"):
        codes, uniq = _texts(raw, name)
        text = [u.strip() for u in uniq]
        good = np.array([t.lower() not in NA_TOKENS for t in text], dtype=bool)
        ok &= good[codes]
        out[name] = np.array(text, dtype=object)[codes]
    # measure, side and unit: the measure, its key and the side, or None
    parts = [_texts(raw, c) for c in ("measure", "side", "unit")]
    ids = group_codes(*(c for c, _ in parts))
    first = np.unique(ids, return_index=True)[1]
    found = [_clean_ids(cb, *(u[c[i]] for c, u in parts)) for i in first]
    ok &= np.array([f is not None for f in found], dtype=bool)[ids]
    keys = np.array([f[1] if f else "" for f in found], dtype=object)
    out["measure"] = keys[ids]
    out["side"] = np.array([f[2] if f else "" for f in found], dtype=object)[ids]
    out["unit"] = np.array([f[0].unit if f else "" for f in found], dtype=object)[ids]
    # value: judged once per distinct (measure, cell text)
    vcodes, vuniq = _texts(raw, "value")
    pair = group_codes(ids, vcodes)
    first = np.unique(pair, return_index=True)[1]
    values = np.array([math.nan if found[ids[i]] is None else
                       _clean_value(found[ids[i]][0], vuniq[vcodes[i]].strip(), decimal)
                       for i in first], dtype=object)
    value = values[pair]
    ok &= np.array([v is not None for v in values], dtype=bool)[pair]
    out["value"] = np.where(ok, value, math.nan).astype(np.float64)
    codes, uniq = _texts(raw, "phase")
    phases = [PHASE_ALIASES.get(normalise_name(t), False) if t.strip() else None
              for t in uniq]
    ok &= np.array([p is not False for p in phases], dtype=bool)[codes]
    out["phase"] = np.array([p if p is not False else None for p in phases], dtype=object)[codes]
    ceiling = (cb.columns.get("dose_ug_day") or {}).get("maximum")
    for name, top in (("day", None), ("dose_ug_day", math.nan if ceiling is None else ceiling)):
        codes, uniq = _texts(raw, name)
        nums = [_clean_number(t, top) for t in uniq]
        ok &= np.array([x is not None for x in nums], dtype=bool)[codes]
        out[name] = np.array([math.nan if x is None else x for x in nums],
                             dtype=np.float64)[codes]
    rows = raw["_row"]
    out["_row"] = (np.array(rows, dtype=np.int64) if pd.api.types.is_integer_dtype(rows.dtype)
                   else np.array([int(x) for x in rows.tolist()], dtype=np.int64))
    if "_source_column" in raw.columns:
        src = raw["_source_column"].to_numpy(object)
        out["_src"] = np.array([s or "value" for s in src], dtype=object)
    else:
        out["_src"] = np.full(n, "value", dtype=object)
    for e in extras:
        codes, uniq = _texts(raw, e)
        out[e] = np.array(uniq, dtype=object)[codes]
    keep = ok.copy()
    _careful_rows(raw, np.flatnonzero(~ok), out, keep, cb, decimal, col, extras, unknown)
    return {k: v[keep] for k, v in out.items()}


def _clean_ids(cb: Codebook, key: str, side: str, unit: str) -> tuple | None:
    """(measure, key, side) for a known measure with a valid side and its own unit, else None."""
    key = key.strip()
    if key not in cb:
        return None
    m = cb.measure(key)
    side = SIDES.get(side.strip().lower())
    if side is None or (side and not m.sided):
        return None
    u = unit.strip().replace("µ", "u").replace("μ", "u")
    if u != "" and u.lower() != m.unit.lower():
        return None
    return m, key, side


def _careful_rows(raw: pd.DataFrame, idx: np.ndarray, out: Columns, keep: np.ndarray,
                  cb: Codebook, decimal: str, col: Collector, extras: list[str],
                  unknown: dict) -> None:
    """The per-row rules on the rows ``idx`` (in order): their results written into ``out``
    and ``keep``."""
    if len(idx) == 0:
        return
    names = list(raw.columns)
    cells = [raw[c].iloc[idx].tolist() for c in names]
    for j, i in enumerate(idx):
        o = observation(dict(zip(names, (c[j] for c in cells), strict=False)), cb, decimal, col, extras,
                        unknown)
        if o is None:
            continue
        keep[i] = True
        for k, v in o.items():
            out[k][i] = v


def fill_phase_and_dose(obs: Columns, col: Collector) -> Columns:
    """An empty phase inferred from the visit (noted; refused when it cannot be), and an
    empty dose in the baseline phase set to 0 (noted)."""
    phase = obs["phase"]
    empty = pd.isna(phase)
    keep = np.ones(len(phase), dtype=bool)
    if empty.any():
        visits = obs["visit"][empty]
        inferred = {}
        for v in pd.unique(visits):  # in order of first appearance, as rows are read
            p = inferred[v] = infer_phase(v)
            if p is None:
                first = int(np.flatnonzero(visits == v)[0])
                src = str(obs["_src"][empty][first]) if "_src" in obs else "value"
                col.add(obs["_row"][empty][first], "phase", "", f"phase is empty and cannot be "
                        f"inferred from visit '{v}'" + (f" (column '{src}')" if src != "value"
                                                        else ""),
                        fix=f"fill phase with one of {', '.join(PHASES)}; or write the visit as "
                        f"a recognised name ({VISIT_SPELLINGS}), or give its phase in "
                        "mapping.yaml (itb init)")
            else:
                col.add(None, "phase", v, f"phase of visit '{v}' inferred as {p}",
                        severity="note", fix="fill the phase column")
        filled = np.array([inferred[v] for v in visits], dtype=object)
        keep[empty] = ~pd.isna(filled)
        phase = phase.copy()
        phase[empty] = filled
    obs = {k: v[keep] for k, v in {**obs, "phase": phase}.items()}
    base = (obs["phase"] == "baseline") & np.isnan(obs["dose_ug_day"])
    if base.any():
        obs["dose_ug_day"] = np.where(base, 0.0, obs["dose_ug_day"])
        col.add(None, "dose_ug_day", None, f"dose missing in the baseline phase set to 0 "
                f"({int(base.sum())} row(s)): no ITB before the test infusion", severity="note")
    return obs


def duplicates(obs: Columns, col: Collector) -> Columns:
    """Repeated (patient, visit, measure, side): dropped when the values agree (noted),
    refused when they disagree; the first row is kept."""
    key = group_codes(obs["patient_id"], obs["visit"], obs["measure"], obs["side"])
    firsts = np.unique(key, return_index=True)[1]
    dup = np.arange(len(key)) != firsts[key]
    for i in np.flatnonzero(dup):
        a, o = int(firsts[key[i]]), int(i)
        k = (obs["patient_id"][o], obs["visit"][o], obs["measure"][o], obs["side"][o])
        what = f"{k[0]} / {k[1]} / {k[2]}" + (f" / side {k[3]}" if k[3] else "")
        va, vo, ra, ro = (float(obs["value"][a]), float(obs["value"][o]), int(obs["_row"][a]),
                          int(obs["_row"][o]))
        src = obs["_src"][o]
        if math.isclose(va, vo, rel_tol=1e-12, abs_tol=1e-12):
            col.add(ro, src, fmt_number(vo), f"duplicate of row {ra} ({what}, same value): "
                    "dropped", severity="note")
            col.exclude({"_row": ro, "patient_id": k[0], "visit": k[1], "measure": k[2],
                         "side": k[3]}, src, fmt_number(vo), "dropped", f"duplicate of row {ra}")
        else:
            col.add(ro, src, fmt_number(vo), f"duplicate observations disagree: row {ra} has "
                    f"{fmt_number(va)} and row {ro} has {fmt_number(vo)} for {what}",
                    fix="keep one of the two rows, or give them different visit labels")
    return {k: v[~dup] for k, v in obs.items()}


#: Optional text columns in which R's ``write.csv`` writes ``NA`` for a missing (empty) text.
_R_NA_COLUMNS = ("side", "unit", "phase")


def r_missing_text(raw: pd.DataFrame, col: Collector) -> pd.DataFrame:
    """``raw`` with the cells ``NA`` of the optional text columns (side, unit, phase) read as
    empty, one note per column: R writes ``NA`` for an empty text (``write.csv``), and an empty
    side, unit or phase is allowed. Other missing-value spellings ("unknown", "?") are not
    blanks and are judged by the rules as before. ``raw`` itself is not changed.

    Examples
    --------
    >>> c = Collector("obs.csv", [])
    >>> t = r_missing_text(pd.DataFrame({"side": ["NA", "L"], "_row": [2, 3]}), c)
    >>> t["side"].tolist(), c.problems[0].severity
    (['', 'L'], 'note')
    """
    for name in _R_NA_COLUMNS:
        if name not in raw.columns:
            continue
        cells = raw[name].astype("str")
        hit = (cells.str.strip() == "NA").to_numpy(dtype=bool)
        if hit.any():
            rows = raw["_row"].to_numpy()[hit]
            col.add(int(rows[0]), name, "NA", f"{int(hit.sum())} cell(s) 'NA' in column "
                    f"'{name}' read as empty (R's write.csv writes NA for an empty text)",
                    severity="note", fix=f"leave {name} empty where there is none")
            raw = raw.assign(**{name: cells.mask(hit, "")})
    return raw
