"""Gait Variable Scores, Gait Profile Score and Movement Analysis Profile (Baker et al. 2009).

Baker R, McGinley JL, Schwartz MH, et al. The Gait Profile Score and Movement Analysis Profile.
Gait Posture 2009;30:265-9 (MCID of the GPS 1.6 deg: Baker et al., Gait Posture 2012;35:612-5).

- GVS of a variable and cycle: the root mean square, over the cycle sampled every 2 % (51
  points: 0, 2, ..., 100 %), of the difference between the patient's curve and the normative
  mean curve. A visit's GVS is the mean of its cycles' GVS (declared in the output ``method``).
- GPS of a limb: the root mean square of that limb's GVS over the 9 variables (pelvic tilt,
  obliquity and rotation; hip flexion, adduction and rotation; knee flexion; ankle dorsiflexion;
  foot progression). The pelvic variables are counted on the left limb only (Baker's
  convention), so the right-limb GPS uses 6 variables.
- Overall GPS: the root mean square of the 15 GVS (3 pelvic + 6 left + 6 right).
- MAP: the visit's GVS per variable and side, with the GPS (a bar chart of these numbers).

A variable missing from the file or the norms is left out and named in ``note``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.gait.c3d import VARIABLES

PELVIS = ("pelvis_tilt", "pelvis_obliquity", "pelvis_rotation")
#: The 2 %-step grid of Baker et al. (51 points).
GPS_PCT = np.linspace(0.0, 100.0, 51)


def gait_variable_scores(curves: pd.DataFrame, norms: pd.DataFrame) -> pd.DataFrame:
    """GVS of every cycle, variable and side of ``curves`` against the normative mean curve.

    Parameters
    ----------
    curves : DataFrame
        Columns ``side, variable, pct, value`` plus the cycle keys (``trial``, ``cycle``, and
        optionally ``patient_id``, ``visit``).
    norms : DataFrame
        Normative mean curves: columns ``variable, pct, mean`` (one speed class; see
        :func:`analysis.gait.norms.select_norms`).

    Returns
    -------
    DataFrame
        The cycle keys, ``side, variable, gvs`` (degrees).

    Examples
    --------
    >>> pct = np.linspace(0, 100, 101)
    >>> curves = pd.DataFrame({"trial": 1, "cycle": 1, "side": "L", "variable": "knee_flexion",
    ...                        "pct": pct, "value": 3.0})
    >>> norms = pd.DataFrame({"variable": "knee_flexion", "pct": pct, "mean": 0.0})
    >>> gait_variable_scores(curves, norms)["gvs"].tolist()
    [3.0]
    """
    keys = [k for k in ("patient_id", "visit", "trial", "cycle") if k in curves.columns]
    ref = {v: g.sort_values("pct") for v, g in norms.groupby("variable")}
    rows = []
    for key, g in curves.groupby(keys + ["side", "variable"], sort=True):
        var = key[-1]
        if var not in ref:
            continue
        g = g.sort_values("pct")
        patient = np.interp(GPS_PCT, g["pct"].to_numpy(float), g["value"].to_numpy(float))
        norm = np.interp(GPS_PCT, ref[var]["pct"].to_numpy(float), ref[var]["mean"].to_numpy(float))
        rows.append(dict(zip(keys + ["side", "variable"], key, strict=False),
                         gvs=float(np.sqrt(np.mean((patient - norm) ** 2)))))
    return pd.DataFrame(rows, columns=keys + ["side", "variable", "gvs"])


def movement_analysis_profile(curves: pd.DataFrame, norms: pd.DataFrame) -> pd.DataFrame:
    """Per visit: GVS of each variable and side (mean over cycles), limb GPS and overall GPS.

    Returns
    -------
    DataFrame
        Columns ``visit, measure, side, value, n_cycles, note`` with ``measure`` one of
        ``gvs_<variable>`` (side L/R), ``gps_limb`` (side L/R) and ``gps`` (side empty), in
        degrees. ``visit`` is empty when ``curves`` has no visit column.

    Examples
    --------
    >>> pct = np.linspace(0, 100, 101)
    >>> rows = [pd.DataFrame({"trial": 1, "cycle": 1, "side": s, "variable": v, "pct": pct,
    ...                       "value": 2.0}) for s in "LR" for v in VARIABLES]
    >>> norms = pd.DataFrame({"variable": np.repeat(list(VARIABLES), 101),
    ...                       "pct": np.tile(pct, 9), "mean": 0.0})
    >>> m = movement_analysis_profile(pd.concat(rows), norms)
    >>> m.loc[m.measure == "gps", "value"].item()
    2.0
    """
    gvs = gait_variable_scores(curves, norms)
    if "visit" not in gvs.columns:
        gvs["visit"] = ""
    out = []
    for visit, g in gvs.groupby("visit", sort=False):
        per = g.groupby(["side", "variable"], sort=False)["gvs"].agg(["mean", "size"])
        used = {}
        for (side, var), r in per.iterrows():
            if side == "R" and var in PELVIS:
                continue
            used[(side, var)] = float(r["mean"])
            out.append({"visit": visit, "measure": f"gvs_{var}", "side": side,
                        "value": float(r["mean"]), "n_cycles": int(r["size"]), "note": ""})
        for side in ("L", "R"):
            vals = [v for (s, _), v in used.items() if s == side]
            expected = [v for v in VARIABLES if not (side == "R" and v in PELVIS)]
            missing = [v for v in expected if (side, v) not in used]
            if vals:
                out.append({"visit": visit, "measure": "gps_limb", "side": side,
                            "value": float(np.sqrt(np.mean(np.square(vals)))),
                            "n_cycles": int(per.loc[side, "size"].max()) if side in per.index else 0,
                            "note": "without " + ", ".join(missing) if missing else ""})
        if used:
            missing = [f"{v} ({s})" for s in ("L", "R") for v in VARIABLES
                       if not (s == "R" and v in PELVIS) and (s, v) not in used]
            out.append({"visit": visit, "measure": "gps", "side": "",
                        "value": float(np.sqrt(np.mean(np.square(list(used.values()))))),
                        "n_cycles": int(per["size"].max()),
                        "note": "without " + ", ".join(missing) if missing else ""})
    return pd.DataFrame(out, columns=["visit", "measure", "side", "value", "n_cycles", "note"])
