"""Derived tables: each patient's baseline and the change from it.

:func:`baseline_values` picks one baseline per patient, measure and side from the observations
of the baseline phase; :func:`change_table` joins it to every later observation and adds the
change, the percent change and the change signed so that positive means improvement
(see the data contracts, "Change table").

Visit order is by ``day`` and then by the order in which a visit first appears in the data,
so "last" means the latest dated observation of the baseline phase.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import CodebookError, DataValidationError, Problem
from analysis.vocabulary import DIRECTIONS, BaselineRule

#: Directions of improvement a codebook measure can have.
KEYS = ["patient_id", "measure", "side"]
_REQUIRED = ("patient_id", "visit", "measure", "value", "phase")


def visit_order(obs: pd.DataFrame) -> list[str]:
    """Visits ordered by their median ``day``, then by first appearance (no day: last).

    Examples
    --------
    >>> obs = pd.DataFrame({"visit": ["post_m6", "baseline", "ti_d1"], "day": [180, -7, 1]})
    >>> visit_order(obs)
    ['baseline', 'ti_d1', 'post_m6']
    """
    first = {v: i for i, v in enumerate(pd.unique(obs["visit"]))}
    day = (pd.to_numeric(obs["day"], errors="coerce") if "day" in obs
           else pd.Series(np.nan, index=obs.index))
    med = day.groupby(obs["visit"].to_numpy(), sort=False).median()
    return sorted(first, key=lambda v: (bool(np.isnan(med[v])),
                                        float(med[v]) if np.isfinite(med[v]) else 0.0, first[v]))


def _check(obs: pd.DataFrame, rule: str) -> None:
    if rule not in ("last", "mean"):
        raise ValueError(f"baseline rule {rule!r} is not known; use 'last' or 'mean'")
    missing = [c for c in _REQUIRED if c not in obs.columns]
    if missing:
        raise DataValidationError([
            Problem(file="<observations>", row=None, column=c, value=None,
                    rule="required column is missing",
                    fix="load the data with analysis.data.validate.load_dataset, which adds it")
            for c in missing
        ])


def _first_seen(visits: pd.Series) -> pd.Series:
    """Position of each row's visit in the order of first appearance."""
    if not visits.isna().any():  # factorize numbers the values in that order, in one pass
        return pd.Series(pd.factorize(visits)[0], index=visits.index)
    first_seen = {v: i for i, v in enumerate(pd.unique(visits))}
    return visits.map(first_seen)


def _ranked(visits: pd.Series, rank: dict) -> np.ndarray:
    """``visits.map(rank)`` as floats (NaN for a visit without a rank), once per visit."""
    if visits.isna().any():
        return visits.map(rank).to_numpy(dtype=float)
    codes, distinct = pd.factorize(visits)
    return np.array([rank.get(v, np.nan) for v in distinct] + [np.nan], dtype=float)[codes]


def _ordered(obs: pd.DataFrame) -> pd.DataFrame:
    """Observations with a normalised ``side`` and sorted by patient, day, visit order."""
    work = obs.copy()
    work["side"] = work["side"].fillna("").astype(str) if "side" in work else ""
    work["_visit_order"] = _first_seen(work["visit"])
    work["_row"] = np.arange(len(work))
    day = work["day"] if "day" in work else pd.Series(np.nan, index=work.index)
    work["_day"] = pd.to_numeric(day, errors="coerce")
    return work.sort_values(["_day", "_visit_order", "_row"], kind="mergesort",
                            na_position="last")


def baseline_values(
    obs: pd.DataFrame,
    *,
    rule: BaselineRule = "last",
    baseline_phase: str = "baseline",
    reference: str | None = None,
) -> pd.DataFrame:
    """Each patient's baseline value per measure and side.

    Parameters
    ----------
    obs : pandas.DataFrame
        Tidy observations (data contracts): at least ``patient_id``, ``visit``, ``measure``,
        ``value`` and ``phase``; ``day`` and ``side`` are used when present.
    rule : {"last", "mean"}
        ``"last"``: the last non-missing observation of the baseline phase, by ``day`` and then
        visit order; ``"mean"``: the mean of the non-missing baseline-phase observations.
    baseline_phase : str
        Value of ``phase`` that marks baseline observations.
    reference : str, optional
        The reference visit the changes are labelled against (``post_m6 - <reference>``), so
        that the label is true: with ``rule="last"`` no baseline-phase observation after the
        reference visit is taken, and a reference visit outside the baseline phase is the
        baseline itself (its own observations, averaged if repeated). None: the whole baseline
        phase, as the rule says.

    Returns
    -------
    pandas.DataFrame
        One row per patient, measure and side with columns ``patient_id``, ``measure``,
        ``side`` ("" for totals), ``baseline`` (float64), ``baseline_visit`` (the visit used, or
        the visits averaged joined by "+") and ``n_baseline`` (observations available),
        sorted by patient, measure and side.

    Examples
    --------
    >>> obs = pd.DataFrame({
    ...     "patient_id": ["P01"] * 3, "visit": ["bl_d2", "bl_d1", "ti_d1"],
    ...     "phase": ["baseline", "baseline", "test_infusion"], "day": [-1.0, -2.0, 1.0],
    ...     "measure": ["tug"] * 3, "side": [""] * 3, "value": [12.0, 14.0, 10.0]})
    >>> baseline_values(obs)[["baseline", "baseline_visit", "n_baseline"]].to_dict("records")
    [{'baseline': 12.0, 'baseline_visit': 'bl_d2', 'n_baseline': 2}]
    >>> float(baseline_values(obs, rule="mean")["baseline"].iloc[0])
    13.0
    >>> baseline_values(obs, reference="bl_d1")["baseline_visit"].tolist()
    ['bl_d1']
    >>> baseline_values(obs, reference="ti_d1")["baseline"].tolist()
    [10.0]
    """
    _check(obs, rule)
    # the columns read below (sorting every column of the observations cost more than the rest)
    work = _ordered(obs[[c for c in obs.columns if c in (*KEYS, "visit", "value", "phase",
                                                         "day")]])
    work = work[work["value"].notna()]
    in_phase = work["phase"] == baseline_phase
    if reference is not None and reference not in set(obs.loc[obs["phase"] == baseline_phase,
                                                               "visit"]):
        work, rule = work[work["visit"] == reference], "mean"
    elif reference is not None and rule == "last":
        rank = {v: i for i, v in enumerate(visit_order(obs))}
        work = work[in_phase & (_ranked(work["visit"], rank) <= rank.get(reference, -1))]
    else:
        work = work[in_phase]
    cols = KEYS + ["baseline", "baseline_visit", "n_baseline"]
    if work.empty:
        out = pd.DataFrame({c: pd.Series(dtype="str") for c in cols})
        return out.astype({"baseline": "float64", "n_baseline": "int64"})
    groups = work.groupby(KEYS, sort=True)
    if rule == "last":
        out = groups.tail(1)[KEYS + ["value", "visit"]].rename(
            columns={"value": "baseline", "visit": "baseline_visit"})
        out = out.merge(groups.size().rename("n_baseline").reset_index(), on=KEYS)
    else:
        out = groups.agg(baseline=("value", "mean"),
                         baseline_visit=("visit", lambda v: "+".join(map(str, v))),
                         n_baseline=("value", "size")).reset_index()
    out["baseline"] = out["baseline"].astype("float64")
    out["n_baseline"] = out["n_baseline"].astype("int64")
    return out.sort_values(KEYS, kind="mergesort").reset_index(drop=True)[cols]


def _direction_lookup(
    better: Mapping[str, str] | Callable[[str], str] | Any,
) -> Callable[[str], str]:
    if hasattr(better, "measure") and not isinstance(better, Mapping):  # a Codebook
        return lambda key: better.measure(key).better
    if isinstance(better, Mapping):
        def lookup(key: str) -> str:
            if key not in better:
                raise CodebookError(
                    f"measure {key!r} has no direction of improvement in `better`; "
                    f"add it (one of {', '.join(DIRECTIONS)})")
            return better[key]
        return lookup
    if callable(better):
        return better
    raise TypeError(f"`better` must be a mapping or a callable, not {type(better).__name__}")


def change_table(
    obs: pd.DataFrame,
    *,
    better: Mapping[str, str] | Callable[[str], str],
    rule: BaselineRule = "last",
    baseline_phase: str = "baseline",
    reference: str | None = None,
) -> pd.DataFrame:
    """Observations after baseline with their change from baseline.

    Parameters
    ----------
    obs : pandas.DataFrame
        Tidy observations (see :func:`baseline_values`).
    better : mapping or callable
        Direction of improvement of each measure key: ``"lower"``, ``"higher"``,
        ``"towards_normal"`` or ``"context"``; a mapping, a function of the key (the pipeline
        passes ``lambda k: codebook.measure(k).better``) or a codebook object.
    rule : {"last", "mean"}
        Baseline rule, see :func:`baseline_values`.
    baseline_phase : str
        Value of ``phase`` that marks baseline observations.
    reference : str, optional
        The reference visit (see :func:`baseline_values`); its own observations are never a
        change.

    Returns
    -------
    pandas.DataFrame
        The non-missing observations outside the baseline phase (and not at the reference
        visit), in their input order, with
        every input column and added columns ``baseline``, ``change`` (= value - baseline),
        ``pct_change`` (= 100 * change / baseline; NaN when the baseline is 0), ``improvement``
        (change signed so that positive is better: -change for "lower", change otherwise),
        ``better`` (the direction used) and ``improvement_note`` (why ``improvement`` or
        ``pct_change`` needs care; empty otherwise). Patients without a baseline for a
        measure and side are absent.

    Notes
    -----
    For "towards_normal" (e.g. knee flexion at loading response) and "context" measures
    (e.g. EMG) the sign of a change does not say whether it is better; ``improvement`` then
    equals ``change`` and ``improvement_note`` says so.

    Examples
    --------
    >>> obs = pd.DataFrame({
    ...     "patient_id": ["P01", "P01", "P01"], "visit": ["baseline", "post_m6", "post_m6"],
    ...     "phase": ["baseline", "post_implant", "post_implant"], "day": [-7.0, 180, 180],
    ...     "measure": ["tug", "tug", "gait_speed"], "side": ["", "", ""],
    ...     "value": [15.0, 12.0, 0.9]})
    >>> t = change_table(obs, better={"tug": "lower", "gait_speed": "higher"})
    >>> t[["measure", "baseline", "change", "pct_change", "improvement"]].to_dict("records")
    [{'measure': 'tug', 'baseline': 15.0, 'change': -3.0, 'pct_change': -20.0, 'improvement': 3.0}]
    """
    _check(obs, rule)
    direction = _direction_lookup(better)
    base = baseline_values(obs, rule=rule, baseline_phase=baseline_phase, reference=reference)
    work = obs.copy()
    work["side"] = work["side"].fillna("").astype(str) if "side" in work else ""
    work = work[(work["phase"] != baseline_phase) & (work["visit"] != reference)
                & work["value"].notna()]
    out = work.merge(base[KEYS + ["baseline"]], on=KEYS, how="inner", sort=False)
    out["baseline"] = out["baseline"].astype("float64")
    value = out["value"].astype("float64")
    out["change"] = value - out["baseline"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * out["change"] / out["baseline"]
    out["pct_change"] = pct.where(out["baseline"] != 0, np.nan).astype("float64")

    dirs = {key: direction(key) for key in pd.unique(out["measure"])}
    bad = {k: d for k, d in dirs.items() if d not in DIRECTIONS}
    if bad:
        raise CodebookError(
            f"unknown direction(s) of improvement {bad}; use one of {', '.join(DIRECTIONS)}")
    out["better"] = out["measure"].map(dirs).astype(str)
    sign = np.where(out["better"] == "lower", -1.0, 1.0)
    out["improvement"] = (sign * out["change"]).astype("float64")
    # The note depends only on the direction and on whether the baseline is 0: written once
    # per such pair and spread to the rows by their codes (text built row by row took longer
    # than the rest of the table).
    codes, directions = pd.factorize(out["better"])
    zero = (out["baseline"] == 0).to_numpy()
    pair = 2 * codes + zero
    notes = []
    for d in directions:
        for z in (False, True):
            note = (f"direction '{d}': improvement = change, its sign does not say better or "
                    "worse") if d in ("towards_normal", "context") else ""
            if z:
                note += "; pct_change undefined: baseline is 0"
            notes.append(note.lstrip("; "))
    out["improvement_note"] = pd.Series(
        pd.array(notes, dtype="str").take(pair), index=out.index)
    return out.reset_index(drop=True)
