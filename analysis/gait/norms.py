"""Normative gait references: the file format, building it from control C3D files, choosing a
speed-matched class.

File format (Parquet or CSV, one row per variable, speed class and % cycle)
---------------------------------------------------------------------------
========== ==========================================================================
column     meaning
========== ==========================================================================
variable   a gait variable (``knee_flexion``, ... : vocabulary ``gait_variable`` of the
           codebook) for curves, or a scalar measure key (``knee_flex_lr``, ...)
speed_class ``all`` (every control), or a walking-speed class written ``lo-hi m/s``
           (lo inclusive, hi exclusive; ``0.00-0.80 m/s``)
pct        % of the gait cycle, 0-100 (curves); empty for scalar measures
mean       normative mean (degrees for curves; the codebook unit for scalars)
sd         between-control standard deviation (n - 1 denominator)
n          number of controls contributing
========== ==========================================================================

Each control contributes one value per point: the mean of all their included cycles, both
sides pooled (Plug-in Gait expresses both sides in the same convention). A control is a
sub-folder of the controls folder (all its C3D files), or a single C3D file lying directly in it.
The controls' names never enter the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InvalidInputError

COLUMNS = ["variable", "speed_class", "pct", "mean", "sd", "n"]
ALL = "all"


def speed_class(speed: float, bins: Sequence[float]) -> str:
    """Label of the walking-speed class holding ``speed`` (m/s) for class limits ``bins``.

    Examples
    --------
    >>> speed_class(0.9, [0.8, 1.2])
    '0.80-1.20 m/s'
    >>> speed_class(0.5, [0.8, 1.2]), speed_class(1.5, [0.8, 1.2])
    ('0.00-0.80 m/s', '1.20-inf m/s')
    """
    edges = [0.0, *sorted(float(b) for b in bins), float("inf")]
    for lo, hi in zip(edges, edges[1:], strict=False):
        if lo <= speed < hi:
            return f"{lo:.2f}-{hi:.2f} m/s" if np.isfinite(hi) else f"{lo:.2f}-inf m/s"
    raise InvalidInputError(f"walking speed {speed!r} m/s is not a positive number")


def norms_from_controls(curves: pd.DataFrame, scalars: pd.DataFrame | None = None, *,
                        speed_bins: Sequence[float] = ()) -> pd.DataFrame:
    """Normative table from per-control curves (and scalars), in the documented format.

    Parameters
    ----------
    curves : DataFrame
        Columns ``control, variable, pct, value`` (any number of cycles per control).
    scalars : DataFrame, optional
        Columns ``control, measure, value``; ``gait_lab_speed`` is needed for speed classes.
    speed_bins : sequence of float
        Walking-speed class limits (m/s); empty: only the class ``all``.

    Examples
    --------
    >>> c = pd.DataFrame({"control": ["a", "a", "b", "b"], "variable": "knee_flexion",
    ...                   "pct": [0.0, 100.0] * 2, "value": [1.0, 3.0, 3.0, 5.0]})
    >>> norms_from_controls(c)[["pct", "mean", "sd", "n"]].to_numpy().tolist()
    [[0.0, 2.0, 1.4142135623730951, 2.0], [100.0, 4.0, 1.4142135623730951, 2.0]]
    """
    per = curves.groupby(["control", "variable", "pct"], sort=True)["value"].mean().reset_index()
    sc = None
    if scalars is not None and len(scalars):
        sc = scalars.groupby(["control", "measure"], sort=True)["value"].mean().reset_index()
    classes = {ALL: sorted(per["control"].unique())}
    if speed_bins:
        if sc is None or "gait_lab_speed" not in set(sc["measure"]):
            raise InvalidInputError("speed classes need the controls' walking speed "
                                    "(gait_lab_speed), which no control file gave")
        speed = sc[sc["measure"] == "gait_lab_speed"].set_index("control")["value"]
        for control, v in speed.items():
            classes.setdefault(speed_class(v, speed_bins), []).append(control)
    frames = []
    for label, members in classes.items():
        sub = per[per["control"].isin(members)]
        g = sub.groupby(["variable", "pct"], sort=True)["value"]
        t = g.agg(mean="mean", sd="std", n="size").reset_index()
        t.insert(1, "speed_class", label)
        frames.append(t)
        if sc is not None:
            s = sc[sc["control"].isin(members)].groupby("measure", sort=True)["value"]
            t = s.agg(mean="mean", sd="std", n="size").reset_index().rename(
                columns={"measure": "variable"})
            t.insert(1, "speed_class", label)
            t.insert(2, "pct", np.nan)
            frames.append(t)
    out = pd.concat(frames, ignore_index=True)[COLUMNS]
    out["n"] = out["n"].astype(float)
    return out


def read_norms(path: str | Path) -> pd.DataFrame:
    """Read and check a normative file (Parquet or CSV) in the documented format.

    Raises
    ------
    InvalidInputError
        Missing file or column, SD negative, n below 2, or % cycle outside 0-100.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path.name}: normative file not found")
    try:
        table = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # pyarrow/pandas wording varies
        raise InvalidInputError(f"{path.name}: not a readable normative table ({exc})") from None
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise InvalidInputError(f"{path.name}: normative table lacks column(s) "
                                f"{', '.join(missing)}; expected {', '.join(COLUMNS)}")
    table = table[COLUMNS].copy()
    table["speed_class"] = table["speed_class"].fillna(ALL).astype(str)
    curves = table[table["pct"].notna()]
    if ((curves["pct"] < 0) | (curves["pct"] > 100)).any():
        raise InvalidInputError(f"{path.name}: column pct must lie in 0-100")
    if (table["sd"] < 0).any():
        raise InvalidInputError(f"{path.name}: column sd has negative values")
    return table


def select_norms(norms: pd.DataFrame, *, speed: float | None = None) -> tuple[pd.DataFrame, str]:
    """The rows of one speed class: the patient's class when the norms carry classes and the
    speed is known (and the class has at least 2 controls), else ``all``; with a note.

    Examples
    --------
    >>> n = pd.DataFrame({"variable": "knee_flexion", "speed_class": ["all", "0.00-0.80 m/s"],
    ...                   "pct": 0.0, "mean": [5.0, 2.0], "sd": 1.0, "n": [10, 4]})
    >>> rows, note = select_norms(n, speed=0.5)
    >>> rows["mean"].item(), note
    (2.0, 'speed-matched norms: class 0.00-0.80 m/s (n = 4)')
    """
    classes = [c for c in norms["speed_class"].unique() if c != ALL]
    if classes and speed is not None and np.isfinite(speed):
        for c in classes:
            lo, hi = (float(x) for x in c.replace(" m/s", "").split("-"))
            if lo <= speed < hi:
                rows = norms[norms["speed_class"] == c]
                n = int(rows["n"].min())
                if n >= 2:
                    return rows, f"speed-matched norms: class {c} (n = {n})"
                break
        note = f"no speed class with 2 or more controls for {speed:.2f} m/s: all controls used"
    elif classes:
        note = "walking speed unknown: norms of all controls used, not speed-matched"
    else:
        note = "norms without speed classes: not speed-matched"
    rows = norms[norms["speed_class"] == ALL]
    if rows.empty:
        raise InvalidInputError("the normative table has no rows of speed class 'all'")
    return rows, note
