"""Gait cycles: from one foot strike to the next of the same side, time-normalised to 0-100 %.

A cycle of side S runs from a foot strike of S to the next foot strike of S. Inside it the
analysis expects, in order: the opposite foot off (end of the loading response), the opposite
foot strike, and the foot off of S (end of stance). A cycle is **excluded, with a note**, when
the foot off of S is missing between its two strikes, or when an angle of the cycle has a gap
(NaN samples). A missing opposite foot off does not exclude the cycle; the loading-response
scalar then falls back to a flagged window (see :mod:`analysis.gait.scalars`).

Curves are sampled at ``n_points`` equally spaced instants from 0 to 100 % of the cycle
(101 points: every 1 %) by linear interpolation between the recorded samples, the event
positions themselves being fractional sample positions (:mod:`analysis.gait.c3d`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.gait.c3d import SIDES, VARIABLES, Trial

_OTHER = {"L": "R", "R": "L"}


@dataclass(frozen=True)
class Cycle:
    """One gait cycle of one side (positions in samples, 0-based, fractional).

    ``foot_off`` is this side's foot off, ``opposite_foot_off`` / ``opposite_foot_strike`` the
    other side's events inside the cycle (NaN when not marked). ``included`` is False for an
    excluded cycle, whose ``note`` says why.
    """

    side: str
    number: int
    start: float
    end: float
    foot_off: float
    opposite_foot_off: float
    opposite_foot_strike: float
    included: bool
    note: str


def find_cycles(trial: Trial) -> list[Cycle]:
    """Every cycle of both sides, in order (side L first), with inclusion and notes.

    Examples
    --------
    >>> from analysis.gait.c3d import read_c3d
    >>> from analysis.gait.simulate import example_trial_file
    >>> cycles = find_cycles(read_c3d(example_trial_file()))
    >>> [(c.side, c.number, c.included) for c in cycles][:2]
    [('L', 1, True), ('L', 2, True)]
    """
    out = []
    for side in SIDES:
        strikes = [e.position for e in trial.events if e.side == side and e.kind == "foot_strike"]
        for number, (a, b) in enumerate(zip(strikes, strikes[1:], strict=False), start=1):
            def inside(s: str, kind: str, a: float = a, b: float = b) -> list[float]:
                return [e.position for e in trial.events
                        if e.side == s and e.kind == kind and a < e.position < b]

            off = inside(side, "foot_off")
            opp_off = inside(_OTHER[side], "foot_off")
            opp_strike = inside(_OTHER[side], "foot_strike")
            notes = []
            if len(off) != 1:
                notes.append(f"{len(off)} foot-off events of side {side} between its foot strikes "
                             "(expected 1)")
            gaps = [var for (var, s), y in sorted(trial.angles.items())
                    if s == side and _has_gap(y, a, b)]
            if gaps:
                notes.append("gap in " + ", ".join(gaps))
            out.append(Cycle(
                side=side, number=number, start=a, end=b,
                foot_off=off[0] if len(off) == 1 else float("nan"),
                opposite_foot_off=opp_off[0] if opp_off else float("nan"),
                opposite_foot_strike=opp_strike[0] if opp_strike else float("nan"),
                included=not notes,
                note="excluded: " + "; ".join(notes) if notes else "",
            ))
    return out


def normalise(y: np.ndarray, start: float, end: float, *, n_points: int = 101) -> np.ndarray:
    """Values of ``y`` (one per sample) at ``n_points`` instants from ``start`` to ``end``.

    Linear interpolation between samples; ``start`` and ``end`` are fractional sample positions.

    Examples
    --------
    >>> normalise(np.array([0.0, 10.0, 20.0, 30.0]), 0.5, 2.5, n_points=3)
    array([ 5., 15., 25.])
    """
    x = np.linspace(start, end, n_points)
    return np.interp(x, np.arange(len(y), dtype=float), y)


def gait_cycles(trial: Trial, *, n_points: int = 101) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Time-normalised curves of the included cycles, and the table of every cycle.

    Parameters
    ----------
    trial : Trial
        From :func:`analysis.gait.c3d.read_c3d`.
    n_points : int, default 101
        Points per cycle (101: 0, 1, ..., 100 %).

    Returns
    -------
    curves : DataFrame
        Columns ``side, cycle, variable, pct, value`` (degrees), included cycles only.
    cycles : DataFrame
        One row per cycle: ``side, cycle, start, end, foot_off, opposite_foot_off,
        opposite_foot_strike`` (sample positions), ``included``, ``note``.

    Examples
    --------
    >>> from analysis.gait.c3d import read_c3d
    >>> from analysis.gait.simulate import example_trial_file
    >>> curves, cycles = gait_cycles(read_c3d(example_trial_file()))
    >>> float(curves["pct"].max()), int(cycles["included"].sum())
    (100.0, 4)
    """
    pct = np.linspace(0.0, 100.0, n_points)
    frames = []
    found = find_cycles(trial)
    for c in found:
        if not c.included:
            continue
        for var in VARIABLES:
            y = trial.angles.get((var, c.side))
            if y is None:
                continue
            frames.append(pd.DataFrame({
                "side": c.side, "cycle": c.number, "variable": var, "pct": pct,
                "value": normalise(y, c.start, c.end, n_points=n_points),
            }))
    columns = ["side", "cycle", "variable", "pct", "value"]
    curves = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    table = pd.DataFrame([{
        "side": c.side, "cycle": c.number, "start": c.start, "end": c.end,
        "foot_off": c.foot_off, "opposite_foot_off": c.opposite_foot_off,
        "opposite_foot_strike": c.opposite_foot_strike, "included": c.included, "note": c.note,
    } for c in found])
    return curves[columns], table


def _has_gap(y: np.ndarray, a: float, b: float) -> bool:
    lo, hi = int(np.floor(a)), int(np.ceil(b))
    return bool(np.isnan(y[lo:hi + 1]).any())
