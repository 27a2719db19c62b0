"""The validation of observations as it was before the vectorised rules (issue 16), kept as
the reference the tests compare the new code with: every row through
:func:`analysis.data.rules.observation` as a list of records, then phase and dose filling,
duplicates and plausibility record by record (copied from commit 61ad213)."""

# ruff: noqa: E501
from __future__ import annotations

import difflib
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.data.codebook import Codebook
from analysis.data.consistency import consistency_problems
from analysis.data.identifiers import normalise_name
from analysis.data.labels import check_labels
from analysis.data.plausibility import SENTINELS, Z_LIMIT
from analysis.data.readers import REQUIRED_COLUMNS, TIDY_COLUMNS
from analysis.data.rules import (
    EXCLUDED_COLUMNS,
    Collector,
    no_baseline,
    observation,
)
from analysis.data.rules import (
    fmt_number as _fmt,
)
from analysis.data.rules import (
    infer_phase as _infer_phase,
)
from analysis.data.schema import PHASES, check_observations
from analysis.data.validate import ValidationReport
from analysis.data.visits import VISIT_SPELLINGS
from analysis.errors import DataValidationError, Problem

_TEN = (7.0, 13.0)


def observations(raw, cb, decimal, col, extras, unknown):
    names = list(raw.columns)
    columns = [raw[c].tolist() for c in names]
    out = []
    for i in range(len(raw)):
        o = observation(dict(zip(names, (c[i] for c in columns), strict=False)), cb, decimal, col, extras,
                        unknown)
        if o is not None:
            out.append(o)
    return out


def fill_phase_and_dose(rows: list[dict], col: Collector) -> list[dict]:
    inferred, kept = {}, []
    for o in rows:
        if o["phase"] is None:
            if o["visit"] not in inferred:
                inferred[o["visit"]] = _infer_phase(o["visit"])
                p = inferred[o["visit"]]
                if p is None:
                    src = str(o.get("_src") or "value")
                    col.add(o["_row"], "phase", "", f"phase is empty and cannot be inferred from "
                            f"visit '{o['visit']}'" + (f" (column '{src}')" if src != "value"
                                                       else ""),
                            fix=f"fill phase with one of {', '.join(PHASES)}; or write the visit "
                            f"as a recognised name ({VISIT_SPELLINGS}), or give its phase in "
                            "mapping.yaml (itb init)")
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


def plausibility_problems(rows: list[dict], *, codebook: Codebook, file: str) -> list[Problem]:
    """Warnings for doubtful values (see the module docstring), at most one per row.

    Parameters
    ----------
    rows : list of dict
        Validated observations with ``patient_id, measure, side, value, day, _row, _src``.

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> rows = [{"patient_id": "P01", "measure": "tug", "side": "", "value": v, "day": d,
    ...          "_row": r, "_src": "value"} for r, (v, d) in enumerate(
    ...          [(15.2, -3), (14.8, 30), (155.0, 180)], start=2)]
    >>> [(p.row, p.rule.split(":")[0]) for p in plausibility_problems(
    ...     rows, codebook=load_codebook(), file="obs.csv")]
    [(4, 'about ten times the other values of this patient')]
    """
    if not rows:
        return []
    # plain lists and numpy per group: pandas calls per value are too slow for large files
    measure = [r["measure"] for r in rows]
    value = np.array([float(r["value"]) for r in rows])
    out: dict[int, Problem] = {}

    def warn(i: int, column: str, shown: float, rule: str, fix: str) -> None:
        r = int(rows[i]["_row"])
        if r not in out:
            out[r] = Problem(file, r, column, _fmt(shown), rule, "warning", fix)

    by_measure: dict[str, list[int]] = {}
    for i, key in enumerate(measure):
        if key in codebook and codebook.measure(key).levels is None:
            by_measure.setdefault(key, []).append(i)
    sentinels = np.array(SENTINELS)
    for key, idx in by_measure.items():
        unit = codebook.measure(key).unit
        vals = value[idx]
        is_sentinel = np.isin(vals, sentinels)
        plain = vals[~is_sentinel]
        for j in np.flatnonzero(is_sentinel):
            if len(plain) == 0:
                continue
            v, med = float(vals[j]), float(np.median(plain))
            if (v > 0 and med > 0 and v >= 3 * med) or (v < 0 and bool((plain > 0).all())):
                warn(idx[j], rows[idx[j]]["_src"], v, f"{_fmt(v)} is a common missing-value "
                     f"code: far from the other values of {key} (median {_fmt(med)} {unit})",
                     "If it means 'missing', leave the cell empty (or declare the code as "
                     "missing in SPSS/Stata); else check the value")
        overall = float(np.median(vals)) if len(vals) >= 5 else math.nan
        # spread of the measure between all observations (robust SD): a jump must exceed
        # three of them, so values near zero (0.5 vs 5 degrees) are not flagged
        spread = 1.4826 * float(np.median(np.abs(vals - np.median(vals))))
        groups: dict[tuple, list[int]] = {}
        for i in idx:
            groups.setdefault((rows[i]["patient_id"], rows[i]["side"]), []).append(i)
        for members in groups.values():
            pv = value[members]
            plist = pv.tolist()
            for j, i in enumerate(members):
                v = plist[j]
                others = plist[:j] + plist[j + 1:]
                ref = statistics.median(others) if others else overall
                whose = ("the other values of this patient" if len(others) else
                         f"the values of {key} in all patients")
                if not (ref > 0 and v > 0):
                    continue
                if len(others) == 1 and overall > 0:  # a pair: warn on the one further out
                    if abs(math.log(v / overall)) <= abs(math.log(ref / overall)):
                        continue
                ratio = v / ref
                if abs(v - ref) <= 3 * spread:
                    continue
                if _TEN[0] <= ratio <= _TEN[1] or _TEN[0] <= 1 / ratio <= _TEN[1]:
                    warn(i, rows[i]["_src"], v, f"about {'ten times' if ratio > 1 else 'a tenth of'}"
                         f" {whose}: {key} {_fmt(v)} {unit} against a median of {_fmt(ref)}",
                         "Check for a misplaced decimal point or a unit error "
                         f"({_fmt(v / 10) if ratio > 1 else _fmt(v * 10)}?)")
            phases: dict[object, list[int]] = {}
            for j, i in enumerate(members):
                phases.setdefault(rows[i].get("phase") or "", []).append(j)
            for js in phases.values():
                if len(js) < 5:
                    continue
                sub = pv[js]
                med = float(np.median(sub))
                mad = 1.4826 * float(np.median(np.abs(sub - med)))
                if mad <= 1e-12 * max(abs(med), 1.0):
                    continue
                z = (sub - med) / mad
                for k in np.flatnonzero(np.abs(z) > Z_LIMIT):
                    i = members[js[k]]
                    warn(i, rows[i]["_src"], float(sub[k]), f"far from this patient's other "
                         f"values of {key} in the same phase (robust z = {z[k]:.1f}, median "
                         f"{_fmt(med)} {unit})", "Check the value")
    day = np.array([float(r.get("day", np.nan)) for r in rows])
    for i in np.flatnonzero(np.abs(np.nan_to_num(day)) > 3650):
        warn(int(i), "day", float(day[i]), "day lies more than ten years from the test "
             "infusion: an Excel date serial (days since 1900)?", "Give days relative to the "
             "start of the test infusion")
    return [out[r] for r in sorted(out)]


def _visit_order(obs: pd.DataFrame) -> tuple[str, ...]:
    first = {v: i for i, v in enumerate(pd.unique(obs["visit"]))}
    day = obs.groupby("visit", sort=False)["day"].median()
    return tuple(sorted(first, key=lambda v: (math.isnan(day[v]), day[v] if not math.isnan(day[v])
                                              else 0.0, first[v])))


def old_validate_observations(raw: pd.DataFrame, *, codebook: Codebook, file: str,
                          problems: Sequence[Problem] = (),
                          files: Mapping[str, str] | None = None,
                          strict: bool = False) -> ValidationReport:
    col = Collector(file, problems)
    if "_row" not in raw.columns:
        raw = raw.assign(_row=np.arange(2, len(raw) + 2))
    if len(raw) == 0 and not any(p.severity == "error" for p in col.problems):
        col.add(None, None, None, "the file is empty (no observations)",
                fix="check that the right file was given")
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    for c in missing:
        others = [x for x in raw.columns if not str(x).startswith("_")]
        near = difflib.get_close_matches(c, [normalise_name(x) for x in others], n=1, cutoff=0.6)
        hint = next((x for x in others if normalise_name(x) == near[0]), None) if near else None
        col.add(None, c, None, f"required column '{c}' is missing", fix=(
            f"rename column '{hint}' to '{c}'" if hint else
            f"a tidy file needs the columns {', '.join(REQUIRED_COLUMNS)}; a wide file needs "
            "patient_id and columns named <measure>[_<side>]_<visit>"))
    rows: list[dict] = []
    extras = [c for c in raw.columns if c not in TIDY_COLUMNS and not str(c).startswith("_")]
    if not missing and len(raw):
        raw = check_labels(raw, col)  # ids and visit codes (issue 20): shared with the new path
        decimal = raw.attrs.get("decimal", ".")
        unknown: dict[str, list[int]] = {}
        rows = observations(raw, codebook, decimal, col, extras, unknown)
        for text, where in unknown.items():
            hint = codebook.suggest(text)
            more = f" (also rows {', '.join(map(str, where[1:6]))}" + (", ..." if len(where) > 6
                                                                       else "") + ")"
            col.add(where[0], "measure", text, "unknown measure" + (more if len(where) > 1 else ""),
                    fix=(f"did you mean '{hint}'? Use" if hint else "use") + " a key listed by "
                    "`itb codebook`, or add the measure with your own codebook YAML (--codebook)")
        rows = fill_phase_and_dose(rows, col)
        rows = duplicates(rows, col)
        for p in plausibility_problems(rows, codebook=codebook, file=file):
            col.problems.append(replace(p, severity="error", rule=p.rule + " (refused by "
                                        "--strict)") if strict else p)
    obs = pd.DataFrame(rows, columns=TIDY_COLUMNS + extras + ["_row", "_src"])
    for c in ["patient_id", "visit", "measure", "phase", "side", "unit", *extras]:
        obs[c] = obs[c].astype("str")
    for c in ["value", "day", "dose_ug_day"]:
        obs[c] = obs[c].astype("float64")
    if len(obs) and not any(p.severity == "error" for p in col.problems):  # as the new path
        col.problems += consistency_problems(obs, file=file)
        if "site" in obs.columns:
            sites = sorted(s for s in obs["site"].unique() if s)
            col.add(None, "site", None, f"data from {len(sites)} site(s): {', '.join(sites)}",
                    severity="note")
    if not missing and "day" not in raw.columns and len(obs):
        col.add(None, "day", None, "no 'day' column: visits are ordered by first appearance",
                severity="note", fix="add days relative to the start of the test infusion")
    no_base = no_baseline(obs, col) if len(obs) else pd.DataFrame(
        columns=["patient_id", "measure", "side"])
    errors = [p for p in col.problems if p.severity == "error"]
    order = lambda p: (p.severity != "error", p.row is not None, p.row or 0)  # noqa: E731
    if errors:
        raise DataValidationError(sorted(col.problems, key=order))
    obs = obs.drop(columns=["_row", "_src"]).reset_index(drop=True)
    try:
        check_observations(obs)
    except pa.errors.SchemaErrors as exc:  # a bug in the rules above, said plainly
        raise DataValidationError([Problem(file, None, None, None, "internal schema check "
                                           f"failed: {exc.failure_cases.head().to_dict('records')}",
                                           fix="please report this")]) from None
    notes = tuple(sorted(col.problems, key=order))
    excluded = pd.DataFrame(col.log, columns=EXCLUDED_COLUMNS)
    counts = {"patients": int(obs["patient_id"].nunique()), "visits": int(obs["visit"].nunique()),
              "measures": int(obs["measure"].nunique()), "rows": len(obs), "notes": len(notes),
              "excluded": len(excluded),
              "rows_read": int(raw.attrs.get("rows_read", raw["_row"].nunique())),
              "warnings": sum(p.severity == "warning" for p in notes)}
    return ValidationReport(obs, notes, excluded, dict(files or {}), counts, no_base,
                            _visit_order(obs) if len(obs) else ())


