"""Scalar gait measures of each cycle (definitions as in the codebook, ``data/codebook.yaml``).

Per included cycle of side S (``start`` = foot strike = initial contact, ``end`` = next foot
strike of S, positions in samples):

``knee_flex_ic``
    knee flexion at initial contact: the knee angle at ``start`` (linear interpolation between
    samples when the event lies between frames).
``knee_flex_lr``
    peak knee flexion in the loading response: the maximum of the knee angle from initial
    contact to the opposite foot off (the recorded samples in the window and the interpolated
    values at its two ends). When the opposite foot off is not marked inside the cycle, the
    window 0-20 % of the cycle is used instead and the row's note says ``fallback``.
``knee_flex_swing_peak``
    peak knee flexion in swing: the maximum from S's foot off to ``end``.
``stance_pct``
    stance phase, % of the cycle: ``(foot_off - start) / (end - start) * 100``.
``cadence``
    steps per minute: ``120 / stride time`` (a stride is two steps).
``stride_length``
    distance (m) between S's heel-marker positions at the two foot strikes.
``gait_lab_speed``
    walking speed (m/s): stride length / stride time (Vicon Nexus's definition).

Stride length and speed are not computed (with a note) when the heel markers are missing or
hardly move between the foot strikes (< 0.2 m: a treadmill trial, whose belt speed is not in
the C3D file).

The maxima are taken on the recorded samples, not on the time-normalised curve, so that a
peak between two of the 101 points is not lost.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.gait.c3d import Trial
from analysis.gait.cycles import Cycle, find_cycles

#: Scalar measure -> unit (keys are codebook measures).
SCALARS: dict[str, str] = {
    "knee_flex_ic": "deg",
    "knee_flex_lr": "deg",
    "knee_flex_swing_peak": "deg",
    "stance_pct": "%",
    "cadence": "steps/min",
    "stride_length": "m",
    "gait_lab_speed": "m/s",
}
#: Measures reported per side (the others are pooled over both sides per visit).
SIDED = {"knee_flex_ic", "knee_flex_lr", "knee_flex_swing_peak", "stance_pct", "stride_length"}
#: Fraction of the cycle used for the loading response when the opposite foot off is missing.
LR_FALLBACK = 0.20
#: Heel displacement (m) below which a trial counts as stationary (treadmill).
MIN_STRIDE_M = 0.2


def cycle_scalars(trial: Trial, cycles: list[Cycle] | None = None
                  ) -> tuple[pd.DataFrame, list[str]]:
    """One row per included cycle and scalar measure, and notes on what was not computed.

    Returns
    -------
    scalars : DataFrame
        Columns ``side, cycle, measure, value, unit, note``.
    notes : list of str

    Examples
    --------
    >>> from analysis.gait.c3d import read_c3d
    >>> from analysis.gait.simulate import example_trial_file
    >>> s, notes = cycle_scalars(read_c3d(example_trial_file()))
    >>> sorted(s["measure"].unique())[:3]
    ['cadence', 'gait_lab_speed', 'knee_flex_ic']
    """
    cycles = find_cycles(trial) if cycles is None else cycles
    rows, notes = [], []
    for c in cycles:
        if not c.included:
            continue
        knee = trial.angles[("knee_flexion", c.side)]

        def add(measure: str, value: float, note: str = "", c: Cycle = c) -> None:
            if math.isfinite(value):
                rows.append({"side": c.side, "cycle": c.number, "measure": measure,
                             "value": float(value), "unit": SCALARS[measure], "note": note})

        add("knee_flex_ic", _at(knee, c.start))
        if math.isfinite(c.opposite_foot_off):
            add("knee_flex_lr", window_max(knee, c.start, c.opposite_foot_off))
        else:
            add("knee_flex_lr", window_max(knee, c.start, c.start + LR_FALLBACK * (c.end - c.start)),
                "fallback: opposite foot off not marked; loading response taken as 0-20 % of the cycle")
        add("knee_flex_swing_peak", window_max(knee, c.foot_off, c.end))
        duration = (c.end - c.start) / trial.rate
        add("stance_pct", (c.foot_off - c.start) / (c.end - c.start) * 100.0)
        add("cadence", 120.0 / duration)
        heel = trial.heels.get(c.side)
        if heel is not None:
            a = np.array([_at(heel[:, k], c.start) for k in range(3)])
            b = np.array([_at(heel[:, k], c.end) for k in range(3)])
            length = float(np.linalg.norm(b - a))
            if not math.isfinite(length):
                notes.append(f"cycle {c.side}{c.number}: heel marker missing at a foot strike: "
                             "stride length and walking speed not computed")
                continue
            if length < MIN_STRIDE_M:
                notes.append(f"cycle {c.side}{c.number}: stride length and walking speed not "
                             "computed: the heel hardly moves between foot strikes (treadmill "
                             "trial; the belt speed is not in the C3D file)")
                continue
            add("stride_length", length)
            add("gait_lab_speed", length / duration)
        elif c.side not in trial.heels:
            notes.append(f"cycle {c.side}{c.number}: no {c.side}HEE marker: stride length and "
                         "walking speed not computed")
    return pd.DataFrame(rows, columns=["side", "cycle", "measure", "value", "unit", "note"]), notes


def window_max(y: np.ndarray, a: float, b: float) -> float:
    """Maximum of ``y`` over the positions ``a..b``: samples inside plus interpolated ends.

    Examples
    --------
    >>> window_max(np.array([0.0, 4.0, 2.0, 1.0]), 0.5, 2.5)
    4.0
    >>> window_max(np.array([0.0, 4.0, 2.0, 1.0]), 1.5, 2.5)
    3.0
    """
    inside = y[int(np.ceil(a)): int(np.floor(b)) + 1]
    return float(np.max(np.concatenate([inside, [_at(y, a), _at(y, b)]])))


def _at(y: np.ndarray, x: float) -> float:
    return float(np.interp(x, np.arange(len(y), dtype=float), y))
