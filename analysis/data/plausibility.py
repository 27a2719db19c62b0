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

import numpy as np

from analysis.data.codebook import Codebook
from analysis.errors import Problem

SENTINELS = (99.0, 999.0, 9999.0, -1.0, -9.0, -99.0, -999.0)
Z_LIMIT = 8.0
_TEN = (7.0, 13.0)


def _fmt(v: float) -> str:
    return f"{v:g}"


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
