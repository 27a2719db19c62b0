"""Plausibility checks beyond the hard ranges: values possible for the measure but doubtful.

A TUG of 155 s lies in the codebook range [0, inf) but is a typo for 15.5 when the patient's
other TUGs are 14-17 s; an SPSS ``999`` that was never declared missing is read as 999 s. Such
values are not refused (a real extreme value must stay possible) but named, row by row, as
warnings (``itb validate --strict`` makes them errors). For continuous measures only (ordinal
levels are checked exactly by the codebook):

* **sentinel**: 99, 999, 9999, -1, -9, -99 or -999 that lies far from the other values of the
  measure (at least three times their median, or negative where every other value is
  positive): a missing-value code read as a measurement;
* **factor of ten**: a value 7-13 times (or 1/13-1/7 of) the median of the same patient's
  other values of the measure and side, or, for a patient with one value, of every patient's
  values, and more than three robust SDs of the measure (1.4826 x MAD over all its values)
  away from it (so 0.5 against 5 degrees, near zero, is not flagged): a misplaced decimal
  point or unit;
* **within-patient outlier**: a robust z (distance from the patient's median in the same
  phase, in units of 1.4826 x MAD) above :data:`Z_LIMIT`, with at least five values of the
  patient in that phase (so a treatment effect between phases is not an outlier);
* **day**: a ``day`` beyond ten years, which is usually an Excel date serial (days since 1900).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis.data.codebook import Codebook
from analysis.data.rules import fmt_number
from analysis.data.table_rules import group_codes
from analysis.errors import Problem

SENTINELS = (99.0, 999.0, 9999.0, -1.0, -9.0, -99.0, -999.0)
Z_LIMIT = 8.0
_TEN = (7.0, 13.0)


Columns = Mapping[str, np.ndarray]


def _columns(rows: list[dict] | Columns | pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns the checks use, as numpy arrays, from records or columns."""
    if isinstance(rows, list):
        get = {"phase": None, "day": np.nan}
        return {k: np.array([r.get(k, get.get(k)) if k in get else r[k] for r in rows],
                            dtype=np.float64 if k in ("value", "day") else object)
                for k in ("patient_id", "measure", "side", "value", "day", "phase", "_row",
                          "_src")}
    out = {k: np.asarray(rows[k]) for k in ("patient_id", "measure", "side", "value", "_row",
                                             "_src")}
    n = len(out["value"])
    out["value"] = out["value"].astype(np.float64)
    out["day"] = (np.asarray(rows["day"], dtype=np.float64) if "day" in rows
                  else np.full(n, np.nan))
    out["phase"] = np.asarray(rows["phase"]) if "phase" in rows else np.full(n, None)
    return out


def _sorted_groups(codes: np.ndarray, values: np.ndarray):
    """(order, start of each group, size of each group): ``values[order]`` sorted by group,
    then value."""
    order = np.lexsort((values, codes))
    size = np.bincount(codes)
    start = np.concatenate(([0], np.cumsum(size)[:-1]))
    return order, start, size


def _group_medians(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Median of each group (as numpy's median computes it: mean of the two middle values)."""
    order, start, size = _sorted_groups(codes, values)
    s = values[order]
    hi = s[start + size // 2]
    lo = s[start + np.maximum(size - 1, 0) // 2]
    return np.where(size % 2 == 1, hi, (lo + hi) / 2)


def _leave_one_out_medians(codes: np.ndarray, values: np.ndarray,
                           overall: float) -> np.ndarray:
    """Median of the other values of each value's group (``overall`` when it has none)."""
    order, start, size = _sorted_groups(codes, values)
    s = values[order]
    g = codes[order]
    rank = np.arange(len(s)) - start[g]
    r = size[g] - 1  # how many others

    def other(k):  # k-th smallest of the others (the value itself left out)
        k = np.clip(k, 0, None)
        return s[np.minimum(start[g] + k + (k >= rank), len(s) - 1)]

    m = r // 2
    ref = np.where(r % 2 == 1, other(m), (other(m - 1) + other(m)) / 2)
    ref = np.where(r == 0, overall, ref)
    out = np.empty(len(s))
    out[order] = ref
    return out


def _candidate_groups(codes: np.ndarray, vals: np.ndarray, phase: np.ndarray, overall: float,
                      spread: float) -> set[int]:
    """Groups (patient and side) where a factor-of-ten or outlier warning may be due: a
    quick screen with loosened limits; the exact checks then run on these groups only."""
    loose = 1e-9
    ref = _leave_one_out_medians(codes, vals, overall)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = vals / ref
        ten = ((ref > 0) & (vals > 0) & (np.abs(vals - ref) >= 3 * spread * (1 - loose))
               & (((ratio >= _TEN[0] * (1 - loose)) & (ratio <= _TEN[1] * (1 + loose)))
                  | ((1 / ratio >= _TEN[0] * (1 - loose)) & (1 / ratio <= _TEN[1] * (1 + loose)))))
    found = set(np.unique(codes[ten]).tolist())
    sub = group_codes(codes, phase)
    size = np.bincount(sub)
    big = size[sub] >= 5
    if big.any():
        med = _group_medians(sub, vals)[sub]
        dev = np.abs(vals - med)
        mad = 1.4826 * _group_medians(sub, dev)[sub]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = dev / mad
        far = big & (mad > 0.5e-12 * np.maximum(np.abs(med), 1.0)) & (z > Z_LIMIT * (1 - loose))
        found |= set(np.unique(codes[far]).tolist())
    return found


def plausibility_problems(rows: list[dict] | Columns, *, codebook: Codebook,
                          file: str) -> list[Problem]:
    """Warnings for doubtful values (see the module docstring), at most one per row.

    Parameters
    ----------
    rows : list of dict, or mapping of column name to array
        Validated observations with ``patient_id, measure, side, value, day, phase, _row,
        _src`` (``day`` and ``phase`` optional).

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
    cols = _columns(rows)
    value = cols["value"]
    if len(value) == 0:
        return []
    src, rownum = cols["_src"], cols["_row"]
    phase = np.array([p or "" for p in cols["phase"]], dtype=object)
    out: dict[int, Problem] = {}

    def warn(i: int, column: str, shown: float, rule: str, fix: str) -> None:
        r = int(rownum[i])
        if r not in out:
            out[r] = Problem(file, r, column, fmt_number(shown), rule, "warning", fix)

    mcodes, keys = pd.factorize(cols["measure"])  # measures in order of first appearance
    sentinels = np.array(SENTINELS)
    for code, key in enumerate(keys):
        if key not in codebook or codebook.measure(key).levels is not None:
            continue
        idx = np.flatnonzero(mcodes == code)
        unit = codebook.measure(key).unit
        vals = value[idx]
        is_sentinel = np.isin(vals, sentinels)
        plain = vals[~is_sentinel]
        for j in np.flatnonzero(is_sentinel):
            if len(plain) == 0:
                continue
            v, med = float(vals[j]), float(np.median(plain))
            if (v > 0 and med > 0 and v >= 3 * med) or (v < 0 and bool((plain > 0).all())):
                warn(idx[j], src[idx[j]], v, f"{fmt_number(v)} is a common missing-value "
                     f"code: far from the other values of {key} (median {fmt_number(med)} "
                     f"{unit})", "If it means 'missing', leave the cell empty (or declare the "
                     "code as missing in SPSS/Stata); else check the value")
        overall = float(np.median(vals)) if len(vals) >= 5 else math.nan
        # spread of the measure between all observations (robust SD): a jump must exceed
        # three of them, so values near zero (0.5 vs 5 degrees) are not flagged
        spread = 1.4826 * float(np.median(np.abs(vals - np.median(vals))))
        groups = group_codes(cols["patient_id"][idx], cols["side"][idx])
        # groups by first appearance, as the rows are read; only those the screen names
        for g in sorted(_candidate_groups(groups, vals, phase[idx], overall, spread)):
            members = idx[groups == g].tolist()
            _group_warnings(members, value, phase, src, key, unit, overall, spread, warn)
    day = cols["day"]
    for i in np.flatnonzero(np.abs(np.nan_to_num(day)) > 3650):
        warn(int(i), "day", float(day[i]), "day lies more than ten years from the test "
             "infusion: an Excel date serial (days since 1900)?", "Give days relative to the "
             "start of the test infusion")
    return [out[r] for r in sorted(out)]


def _group_warnings(members: list[int], value: np.ndarray, phase: np.ndarray, src: np.ndarray,
                    key: str, unit: str, overall: float, spread: float, warn) -> None:
    """Factor-of-ten and within-patient outlier warnings of one patient's values of a measure
    and side (``members``: their row indices, in order)."""
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
            warn(i, src[i], v, f"about {'ten times' if ratio > 1 else 'a tenth of'}"
                 f" {whose}: {key} {fmt_number(v)} {unit} against a median of "
                 f"{fmt_number(ref)}", "Check for a misplaced decimal point or a unit error "
                 f"({fmt_number(v / 10) if ratio > 1 else fmt_number(v * 10)}?)")
    phases: dict[object, list[int]] = {}
    for j, i in enumerate(members):
        phases.setdefault(phase[i], []).append(j)
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
            warn(i, src[i], float(sub[k]), f"far from this patient's other values of {key} "
                 f"in the same phase (robust z = {z[k]:.1f}, median {fmt_number(med)} {unit})",
                 "Check the value")
