"""Motion-lab gait figures: kinematic curves against a normative band, and the Movement
Analysis Profile.

Both take the tidy outputs of :func:`analysis.gait.importer.import_c3d` (curves in long form:
``patient_id, visit, side, trial, cycle, variable, pct, value``; the cycle table with each
cycle's ``stance_pct``) and the normative table of :mod:`analysis.gait.norms`, and draw them in
the package theme with clinical words: "Knee flexion (°)", "% gait cycle", visits as
"3 months after implantation".
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis.errors import InvalidInputError
from analysis.gait.spm import spm_ttest2
from analysis.report.escape import matplotlib_text
from analysis.report.formatting import fmt_p
from analysis.report.labels import side_word
from analysis.report.plotting._data import Names, require_columns
from analysis.report.plotting.theme import OKABE_ITO, new_figure, use_theme

__all__ = ["gait_curves", "map_chart", "gait_variable_label"]

#: One colour per visit, in visit order (the first visit dark, the next ones in colour).
_VISIT_COLOURS = [OKABE_ITO["black"], OKABE_ITO["vermillion"], OKABE_ITO["blue"],
                  OKABE_ITO["bluish_green"], OKABE_ITO["reddish_purple"], OKABE_ITO["orange"]]
_NORM_GREY = "#BDBDBD"
_VARIABLE_ORDER = ("pelvis_tilt", "pelvis_obliquity", "pelvis_rotation", "hip_flexion",
                   "hip_adduction", "hip_rotation", "knee_flexion", "ankle_dorsiflexion",
                   "foot_progression")


def gait_variable_label(variable: str, codebook: Any = None, *, convention: bool = True) -> str:
    """Clinical name of a gait curve variable from the codebook ("knee flexion (flexion +)").

    The codebook names curve variables in its ``gait_variable`` vocabulary, seen through the
    Gait Variable Score measures (``gvs_<variable>``); ``convention=False`` drops the sign
    convention in brackets.

    Examples
    --------
    >>> gait_variable_label("knee_flexion"), gait_variable_label("pelvis_tilt", convention=False)
    ('knee flexion (flexion +)', 'pelvic tilt')
    """
    names = Names(codebook)
    info = names.info(f"gvs_{variable}")
    text = (info.label.split(", ", 1)[1] if info is not None and ", " in info.label
            else str(variable).replace("_", " "))
    if not convention:
        text = text.split(" (", 1)[0]
    return text


def _axis_label(variable: str, codebook: Any) -> str:
    full = gait_variable_label(variable, codebook)
    name, _, rest = full.partition(" (")
    sign = rest.rstrip(")")
    return matplotlib_text(f"{name[:1].upper() + name[1:]} (°{'; ' + sign if sign else ''})")


def _visit_order(curves: pd.DataFrame, visits: Sequence[str] | None) -> list[str]:
    found = list(pd.unique(curves["visit"]))
    if visits is None:
        return found
    unknown = [v for v in visits if v not in found]
    if unknown:
        raise InvalidInputError(f"visit(s) {unknown} have no gait curves; visits: {found}")
    return list(visits)


def _cycle_matrix(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(pct, cycles x points) of the rows of one visit, variable and side."""
    keys = [k for k in ("trial", "cycle") if k in rows.columns]
    wide = rows.pivot_table(index=keys, columns="pct", values="value", aggfunc="mean")
    wide = wide.sort_index(axis=1)
    return wide.columns.to_numpy(float), wide.to_numpy(float)


def gait_curves(
    curves: pd.DataFrame,
    *,
    variable: str = "knee_flexion",
    sides: str | Sequence[str] = ("L", "R"),
    norms: pd.DataFrame | None = None,
    cycles: pd.DataFrame | None = None,
    visits: Sequence[str] | None = None,
    spm: bool = True,
    alpha: float = 0.05,
    seed: int = 2015,
    codebook: Any = None,
    labels: Callable[[str], str] | None = None,
) -> Figure:
    """Kinematic curves: mean ± SD of the cycles of each visit, against the normative band.

    One panel per side. Each visit is drawn as its mean curve over the included cycles with a
    band of ± 1 SD; the normative mean ± 1 SD is shaded grey; the mean foot off of each visit
    (its cycles' mean stance %) is a dotted vertical line; when exactly two visits have at
    least 2 cycles each, the significant clusters of a two-sample permutation SPM t test of
    the second visit against the first (:func:`analysis.gait.spm.spm_ttest2`, two-tailed,
    ``alpha``, seeded) are marked by a bar along the top of the panel with their p-value.

    Parameters
    ----------
    curves : DataFrame
        Long-form curves (``visit, side, trial, cycle, variable, pct, value``) of one patient.
    variable : str, default "knee_flexion"
        A gait curve variable (the codebook's ``gait_variable`` vocabulary).
    sides : str or sequence of str, default ("L", "R")
        Sides to draw, one panel each (sides without curves are left out).
    norms : DataFrame, optional
        Normative table (``variable, pct, mean, sd``; one speed class, see
        :func:`analysis.gait.norms.select_norms`).
    cycles : DataFrame, optional
        The import's cycle table (``visit, side, included, stance_pct``), for foot off.
    visits : sequence of str, optional
        Visits to draw, in this order (default: as they appear in ``curves``).
    spm : bool, default True
        Test the two visits and mark the clusters.
    alpha, seed : float, int
        Of the SPM test.
    codebook, labels : optional
        Codebook (variable names) and visit code -> words.

    Returns
    -------
    Figure
        Lines carry gids ``mean:<visit>/<side>``, ``foot_off:<visit>/<side>``; norm bands
        ``norm/<side>``; cluster bars ``cluster/<side>/<start>-<end>`` (in % cycle).

    Examples
    --------
    >>> pct = np.linspace(0, 100, 101)
    >>> rows = [pd.DataFrame({"visit": v, "side": "L", "trial": 1, "cycle": c,
    ...                       "variable": "knee_flexion", "pct": pct,
    ...                       "value": 30 * np.sin(np.pi * pct / 100) + k + c})
    ...         for v, k in (("bl_d5", 0.0), ("post_m3", 10.0)) for c in range(4)]
    >>> fig = gait_curves(pd.concat(rows), sides="L")
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('% gait cycle', 'Knee flexion (°; flexion +)')
    """
    require_columns(curves, ["visit", "side", "variable", "pct", "value"], "gait curves")
    rows = curves[curves["variable"] == variable]
    if rows.empty:
        raise InvalidInputError(f"no gait curves of {variable!r}; variables: "
                                f"{sorted(curves['variable'].unique().tolist())}")
    sides = [sides] if isinstance(sides, str) else list(sides)
    sides = [s for s in sides if (rows["side"] == s).any()]
    if not sides:
        raise InvalidInputError(f"no gait curves of {variable!r} on the side(s) asked for")
    visit_list = _visit_order(rows, visits)
    names = Names(codebook, labels)
    colours = {v: _VISIT_COLOURS[i % len(_VISIT_COLOURS)] for i, v in enumerate(visit_list)}
    norm = None
    if norms is not None:
        require_columns(norms, ["variable", "pct", "mean", "sd"], "normative table")
        norm = norms[(norms["variable"] == variable) & norms["pct"].notna()].sort_values("pct")
        norm = norm if len(norm) else None
    with use_theme():
        fig = new_figure("page" if len(sides) > 1 else "column", 2.9)
        axes = fig.subplots(1, len(sides), sharey=True, squeeze=False)[0]
        n_cycles: dict[str, dict[str, int]] = {}
        any_cluster = False
        for ax, side in zip(axes, sides, strict=False):
            if norm is not None:
                x, m, sd = (norm[c].to_numpy(float) for c in ("pct", "mean", "sd"))
                ax.fill_between(x, m - sd, m + sd, color=_NORM_GREY, alpha=0.45, lw=0,
                                zorder=0, gid=f"norm/{side}")
            mats = {}
            for v in visit_list:
                one = rows[(rows["visit"] == v) & (rows["side"] == side)]
                if one.empty:
                    continue
                pct, mat = _cycle_matrix(one)
                mats[v] = (pct, mat)
                n_cycles.setdefault(v, {})[side] = len(mat)
                mean = mat.mean(axis=0)
                sd = mat.std(axis=0, ddof=1) if len(mat) > 1 else np.zeros_like(mean)
                ax.fill_between(pct, mean - sd, mean + sd, color=colours[v], alpha=0.18, lw=0,
                                zorder=1)
                ax.plot(pct, mean, color=colours[v], lw=1.3, zorder=3, gid=f"mean:{v}/{side}")
                off = _foot_off(cycles, v, side)
                if off is not None:
                    ax.axvline(off, color=colours[v], ls=":", lw=1.0, zorder=2,
                               gid=f"foot_off:{v}/{side}")
            if spm and len(mats) == 2 and all(len(m[1]) >= 2 for m in mats.values()):
                (pa, a), (pb, b) = mats.values()
                if len(pa) == len(pb) and np.allclose(pa, pb):
                    any_cluster |= _mark_clusters(ax, side, pa, a, b, alpha=alpha, seed=seed)
            ax.set_xlim(0, 100)
            ax.set_xlabel("% gait cycle")
            ax.set_title(matplotlib_text(side_word(side)).capitalize(), fontsize=8)
        axes[0].set_ylabel(_axis_label(variable, codebook))
        handles = [Line2D([], [], color=colours[v], lw=1.3,
                          label=f"{names.visit(v)} (mean ± SD, {_count(n_cycles[v])})")
                   for v in visit_list if v in n_cycles]
        if norm is not None:
            handles.append(Patch(color=_NORM_GREY, alpha=0.45, label="Normative mean ± SD"))
        if cycles is not None and "stance_pct" in cycles.columns:
            handles.append(Line2D([], [], color="grey", ls=":", lw=1.0, label="Foot off (mean)"))
        if any_cluster:
            handles.append(Line2D([], [], color="black", lw=3,
                                  label=f"Difference between visits (SPM, p < {alpha:g})"))
        fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=6)
    return fig


def _count(per_side: dict[str, int]) -> str:
    """ "6 cycles per side", or "cycles: left 6, right 5"."""
    counts = set(per_side.values())
    if len(per_side) > 1 and len(counts) == 1:
        return f"{counts.pop()} cycles per side"
    if len(per_side) == 1:
        n = next(iter(per_side.values()))
        return f"{n} cycle{'s' if n != 1 else ''}"
    return "cycles: " + ", ".join(f"{matplotlib_text(side_word(s))} {n}"
                                  for s, n in per_side.items())


def _foot_off(cycles: pd.DataFrame | None, visit: str, side: str) -> float | None:
    if cycles is None or "stance_pct" not in cycles.columns:
        return None
    rows = cycles[(cycles["visit"] == visit) & (cycles["side"] == side)]
    if "included" in rows.columns:
        rows = rows[rows["included"].astype(bool)]
    value = rows["stance_pct"].astype(float).mean()
    return None if pd.isna(value) else float(value)


def _mark_clusters(ax: Any, side: str, pct: np.ndarray, a: np.ndarray, b: np.ndarray, *,
                   alpha: float, seed: int) -> bool:
    """Bars along the top of the panel over each cluster with p < alpha (the points where the
    t curve crosses the threshold, nothing else), labelled with p and the cluster's extent in
    % of the cycle."""
    result = spm_ttest2(a, b, alpha=alpha, seed=seed)
    drawn = False
    for c in result.clusters:
        if not c.p_value < alpha:
            continue
        lo, hi = float(pct[c.start]), float(pct[c.end])
        ax.plot([lo, hi], [0.97, 0.97], transform=ax.get_xaxis_transform(), color="black",
                lw=3, solid_capstyle="butt", gid=f"cluster/{side}/{lo:g}-{hi:g}")
        extent = f"{lo:.0f}–{hi:.0f}%, {hi - lo:.0f}% of the cycle"
        ax.text((lo + hi) / 2, 0.93, f"{fmt_p(c.p_value)}\n{extent}",
                transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize=6,
                gid=f"cluster-text/{side}/{lo:g}-{hi:g}")
        drawn = True
    return drawn


def map_chart(
    profile: pd.DataFrame,
    *,
    visits: Sequence[str] | None = None,
    codebook: Any = None,
    labels: Callable[[str], str] | None = None,
) -> Figure:
    """The Movement Analysis Profile: Gait Variable Scores per variable and side, and the GPS.

    Bars grouped by variable (pelvic angles on the left limb only, Baker's convention), then
    the limb Gait Profile Scores and the overall GPS; one colour per visit, the right side
    lighter and hatched.

    Parameters
    ----------
    profile : DataFrame
        :func:`analysis.gait.indices.movement_analysis_profile` output (``visit, measure,
        side, value``), one or several visits.
    visits : sequence of str, optional
        Visits to draw, in this order.
    codebook, labels : optional
        Codebook (variable names) and visit code -> words.

    Examples
    --------
    >>> prof = pd.DataFrame({"visit": "bl_d5", "measure": ["gvs_knee_flexion"] * 2 + ["gps"],
    ...                      "side": ["L", "R", ""], "value": [10.0, 12.0, 8.0]})
    >>> fig = map_chart(prof)
    >>> [round(float(p.get_height()), 1) for p in fig.axes[0].patches]
    [10.0, 12.0, 8.0]
    """
    require_columns(profile, ["visit", "measure", "side", "value"], "movement analysis profile")
    if profile.empty:
        raise InvalidInputError("the movement analysis profile is empty; it needs norms")
    visit_list = _visit_order(profile, visits)
    names = Names(codebook, labels)
    present = set(profile["measure"])
    groups: list[tuple[str, str, list[str]]] = []  # (label, measure, sides)
    for var in _VARIABLE_ORDER:
        key = f"gvs_{var}"
        if key in present:
            sides = [s for s in ("L", "R") if ((profile["measure"] == key)
                                                & (profile["side"] == s)).any()]
            groups.append((gait_variable_label(var, codebook, convention=False).capitalize(),
                           key, sides))
    if "gps_limb" in present:
        groups.append(("GPS, each limb", "gps_limb", ["L", "R"]))
    if "gps" in present:
        groups.append(("GPS, overall", "gps", [""]))
    if not groups:
        raise InvalidInputError("no Gait Variable Score or GPS rows in the profile")
    n_bars = len(visit_list) * 2
    width = 0.8 / n_bars
    colours = {v: _VISIT_COLOURS[i % len(_VISIT_COLOURS)] for i, v in enumerate(visit_list)}
    with use_theme():
        fig = new_figure("page", 3.0)
        ax = fig.add_subplot()
        for gi, (_, key, sides) in enumerate(groups):
            for vi, v in enumerate(visit_list):
                for si, side in enumerate(("L", "R") if sides != [""] else ("",)):
                    r = profile[(profile["visit"] == v) & (profile["measure"] == key)
                                & (profile["side"] == side)]
                    if r.empty:
                        continue
                    slot = vi * 2 + (si if side else 0.5)
                    x = gi - 0.4 + width * (slot + 0.5)
                    ax.bar(x, float(r["value"].iloc[0]), width=width * 0.95,
                           color=colours[v], alpha=1.0 if side != "R" else 0.5,
                           hatch="////" if side == "R" else None, edgecolor="white", lw=0.3,
                           gid=f"bar:{key}/{side}/{v}")
        ax.set_xticks(range(len(groups)), [matplotlib_text(textwrap.fill(
                                               g[0], 11, break_long_words=False,
                                               break_on_hyphens=False)) for g in groups],
                      fontsize=6)
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_ylabel("Gait Variable Score (°)")
        handles = []
        for v in visit_list:
            handles.append(Patch(color=colours[v], label=f"{names.visit(v)}, left"))
            handles.append(Patch(facecolor=colours[v], alpha=0.5, hatch="////",
                                 edgecolor="white", label=f"{names.visit(v)}, right"))
        ax.legend(handles=handles, loc="upper left", ncols=len(visit_list), fontsize=6)
    return fig
