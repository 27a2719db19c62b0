"""Consistency of the observations as a whole: doses, days, phases and visits agree.

Each rule is an error naming its rows (a check named in ``relax`` is reported as a warning
instead; ``itb validate --relax NAME``):

* ``dose_unit``: a dose above 0 and below :data:`MIN_DOSE_UG_DAY` ug/day is not an intrathecal
  baclofen dose in ug/day (continuous ITB runs at tens to hundreds of ug/day; the published case
  reached 108 ug/day): the column is most likely in mg/day.
* ``dose_in_baseline``: a dose above 0 in the baseline phase (before any ITB).
* ``visit_phases``: one visit label in two phases.
* ``age_over_89`` (:mod:`analysis.data.patients`): an age over 89; relaxed, it is aggregated to
  the category "90 or over" (age 90) with a note.
* ``administration`` (optional column; never relaxed): ``bolus`` (the dose column holds an
  amount in ug given once) or ``continuous`` (a rate in ug/day), in any case, or empty
  (continuous); any other value is an error.
* ``chronology``: study days against phases and visits, per patient: a baseline day after day 0
  (the start of the test infusion), a post-implant day before the test infusion's last day (or
  before day 0), a visit ``post_m<N>`` earlier than a visit ``post_m<K>`` with ``K < N``.

Every rule is computed column-wise (group-bys), never row by row in Python.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from analysis.data.summary import row_ranges
from analysis.errors import Problem

__all__ = ["CHECKS", "MIN_DOSE_UG_DAY", "consistency_problems"]

#: Smallest plausible continuous ITB dose in ug/day: below it, a dose is taken to be in mg/day.
MIN_DOSE_UG_DAY = 5.0
#: The checks, by the name ``relax`` takes.
CHECKS = ("dose_unit", "dose_in_baseline", "visit_phases", "chronology", "age_over_89")


def _rows(frame: pd.DataFrame) -> list[int]:
    return sorted(int(r) for r in frame["_row"])


def consistency_problems(obs: pd.DataFrame, *, file: str,
                         relax: Iterable[str] = ()) -> list[Problem]:
    """Problems of the rules above on validated rows (columns patient_id, visit, phase, day,
    dose_ug_day, _row).

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": ["P1", "P1"], "visit": ["baseline", "post_m6"],
    ...                     "phase": ["baseline", "post_implant"], "day": [400.0, 180.0],
    ...                     "dose_ug_day": [50.0, 0.1], "_row": [2, 3]})
    >>> for p in consistency_problems(obs, file="o.csv"):
    ...     print(p.row, p.column, p.rule[:50])
    3 dose_ug_day a dose of 0.1 ug/day is too small for continuous i
    2 dose_ug_day a dose above 0 in the baseline phase (no ITB is gi
    2 day baseline on day 400, after the start of the test i
    """
    relax = set(relax)
    out: list[Problem] = []

    def add(check: str, frame: pd.DataFrame, column: str, value, rule: str, fix: str) -> None:
        rows = _rows(frame)
        where = f" (rows {row_ranges(rows)})" if len(rows) > 1 else ""
        out.append(Problem(file, rows[0] if rows else None, column,
                           None if value is None else str(value), rule + where,
                           "warning" if check in relax else "error",
                           fix + f" (or relax this check: --relax {check})"))

    if not len(obs):
        return out
    if "administration" in obs:
        out += _administration(obs, file)
    obs = obs.assign(day=pd.to_numeric(obs["day"], errors="coerce"),
                     dose_ug_day=pd.to_numeric(obs["dose_ug_day"], errors="coerce"))
    dose = obs["dose_ug_day"].to_numpy(dtype="float64")
    small = (dose > 0) & (dose < MIN_DOSE_UG_DAY)
    if small.any():
        bad = obs[small]
        add("dose_unit", bad, "dose_ug_day", None,
            f"a dose of {bad['dose_ug_day'].iloc[0]:g} ug/day is too small for continuous "
            f"intrathecal baclofen (below {MIN_DOSE_UG_DAY:g} ug/day): the doses look like "
            "mg/day", "Give doses in ug/day, or name the column dose_mg_day (converted x1000)")
    base = (obs["phase"] == "baseline").to_numpy() & (dose > 0)
    if base.any():
        add("dose_in_baseline", obs[base], "dose_ug_day", None,
            "a dose above 0 in the baseline phase (no ITB is given before the test infusion)",
            "Correct the phase or the dose")
    phases = obs.groupby("visit", sort=False)["phase"].nunique()
    for visit in phases.index[phases > 1]:
        rows = obs[obs["visit"] == visit]
        names = ", ".join(sorted(rows["phase"].unique()))
        add("visit_phases", rows, "phase", visit, f"visit '{visit}' is in two phases ({names})",
            "Give each visit one phase, or name the visits apart")
    out += _chronology(obs, add)
    return out


#: Values of the optional ``administration`` column (read case-insensitively; empty: continuous).
ADMINISTRATIONS = ("bolus", "continuous")


def _administration(obs: pd.DataFrame, file: str) -> list[Problem]:
    how = obs["administration"].fillna("").astype(str).str.strip().str.lower()
    bad = ~how.isin(["", *ADMINISTRATIONS])
    out = []
    for value, rows in obs[bad].groupby(obs.loc[bad, "administration"].astype(str), sort=True):
        r = _rows(rows)
        where = f" (rows {row_ranges(r)})" if len(r) > 1 else ""
        out.append(Problem(file, r[0], "administration", value,
                           "administration must be bolus or continuous (or empty: continuous)"
                           + where, "error",
                           "write bolus (an amount in ug given once) or continuous (a daily "
                           "rate in ug/day)"))
    return out


def _chronology(obs: pd.DataFrame, add) -> list[Problem]:
    day = obs["day"]
    if day.isna().all():
        return []
    base = obs[(obs["phase"] == "baseline") & (day > 0)]
    if len(base):
        add("chronology", base, "day", None, f"baseline on day {base['day'].iloc[0]:g}, after the "
            "start of the test infusion (day 0)", "Days count from the start of the test "
            "infusion (negative before it); correct the day or the phase")
    ti_end = obs[obs["phase"] == "test_infusion"].groupby("patient_id")["day"].max()
    post = obs[obs["phase"] == "post_implant"]
    limit = pd.to_numeric(post["patient_id"].map(ti_end), errors="coerce").fillna(0.0).to_numpy()
    early = post[post["day"] < limit]
    if len(early):
        add("chronology", early, "day", None, f"patient {early['patient_id'].iloc[0]}: a "
            f"post-implant visit on day {early['day'].iloc[0]:g}, before the test infusion ended",
            "Correct the day or the phase")
    months = obs["visit"].astype(str).str.extract(r"^post_m(\d+)$")[0].astype("float64")
    timed = obs.assign(_m=months)[months.notna() & day.notna()]
    if len(timed):
        per = timed.groupby(["patient_id", "_m"])["day"].agg(["min", "max"]).reset_index()
        per = per.sort_values(["patient_id", "_m"])
        per["prev"] = per.groupby("patient_id")["max"].cummax().groupby(per["patient_id"]).shift()
        for _, r in per[per["min"] < per["prev"]].iterrows():  # one row per wrong visit
            rows = timed[(timed["patient_id"] == r["patient_id"]) & (timed["_m"] == r["_m"])]
            add("chronology", rows, "day", None, f"patient {r['patient_id']}: visit "
                f"post_m{int(r['_m'])} on day {r['min']:g}, before the day of an earlier "
                f"visit ({r['prev']:g})", "Correct the day or the visit")
    return []
