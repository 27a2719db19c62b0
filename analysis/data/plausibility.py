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
  values: a misplaced decimal point or unit;
* **within-patient outlier**: a robust z (distance from the patient's median in the same
  phase, in units of 1.4826 x MAD) above :data:`Z_LIMIT`, with at least five values of the
  patient in that phase (so a treatment effect between phases is not an outlier);
* **day**: a ``day`` beyond ten years, which is usually an Excel date serial (days since 1900).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

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
    frame = pd.DataFrame(rows)
    out: dict[int, Problem] = {}

    def warn(i: int, column: str, value: str, rule: str, fix: str) -> None:
        r = int(frame.at[i, "_row"])
        if r not in out:
            out[r] = Problem(file, r, column, value, rule, "warning", fix)

    continuous = frame["measure"].map(lambda k: k in codebook and codebook.measure(k).levels
                                      is None)
    for measure, group in frame[continuous].groupby("measure", sort=False):
        values = group["value"].astype(float)
        unit = codebook.measure(measure).unit
        for i, v in values.items():
            if v not in SENTINELS:
                continue
            others = values.drop(index=i)
            others = others[~others.isin(SENTINELS)]
            if len(others) == 0:
                continue
            med = float(others.median())
            if (v > 0 and med > 0 and v >= 3 * med) or (v < 0 and (others > 0).all()):
                warn(i, group.at[i, "_src"], _fmt(v), f"{_fmt(v)} is a common missing-value "
                     f"code: far from the other values of {measure} (median {_fmt(med)} {unit})",
                     "if it means 'missing', leave the cell empty (or declare the code as "
                     "missing in SPSS/Stata); else check the value")
        overall = float(values.median()) if len(values) >= 5 else math.nan
        for (_, _), pg in group.groupby(["patient_id", "side"], sort=False):
            pv = pg["value"].astype(float)
            for i, v in pv.items():
                others = pv.drop(index=i)
                ref, whose = ((float(others.median()), "the other values of this patient")
                              if len(others) else (overall, f"the values of {measure} in all "
                                                   "patients"))
                if not (ref > 0 and v > 0):
                    continue
                if len(others) == 1 and overall > 0:  # a pair: warn on the one further out
                    if abs(math.log(v / overall)) <= abs(math.log(ref / overall)):
                        continue
                ratio = v / ref
                if _TEN[0] <= ratio <= _TEN[1] or _TEN[0] <= 1 / ratio <= _TEN[1]:
                    warn(i, pg.at[i, "_src"], _fmt(v), f"about {'ten times' if ratio > 1 else 'a tenth of'} "
                         f"{whose}: {measure} {_fmt(v)} {unit} against a median of {_fmt(ref)}",
                         "check for a misplaced decimal point or a unit error "
                         f"({_fmt(v / 10) if ratio > 1 else _fmt(v * 10)}?)")
            phases = pg["phase"] if "phase" in pg.columns else pd.Series("", index=pg.index)
            for _, idx in pv.groupby(phases.fillna(""), sort=False).groups.items():
                sub = pv.loc[idx]
                if len(sub) < 5:
                    continue
                med = float(sub.median())
                mad = 1.4826 * float((sub - med).abs().median())
                if mad > 1e-12 * max(abs(med), 1.0):
                    z = (sub - med) / mad
                    for i in z.index[z.abs() > Z_LIMIT]:
                        warn(i, pg.at[i, "_src"], _fmt(sub[i]), f"far from this patient's other "
                             f"values of {measure} in the same phase (robust z = {z[i]:.1f}, "
                             f"median {_fmt(med)} {unit})", "check the value")
    if "day" in frame.columns:
        day = frame["day"].astype(float)
        for i in day.index[np.abs(day.fillna(0.0)) > 3650]:
            warn(i, "day", _fmt(day[i]), "day lies more than ten years from the test infusion: "
                 "an Excel date serial (days since 1900)?", "give days relative to the start "
                 "of the test infusion")
    return [out[r] for r in sorted(out)]
