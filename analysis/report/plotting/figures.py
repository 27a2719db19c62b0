"""Group figures: patients over visits, individual change, effect sizes, MAS distribution.

Each takes tidy data (observations, change or results table; see CONTRACTS) and returns a
themed :class:`matplotlib.figure.Figure`, neither shown nor saved (``theme.save_figure``); the
one-patient figures (:mod:`analysis.report.plotting.single_case`) are re-exported here."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.errors import InvalidInputError
from analysis.report.escape import matplotlib_text
from analysis.report.formatting import fmt_num
from analysis.report.labels import grade_steps, side_word
from analysis.report.plotting import time_axis
from analysis.report.plotting._data import (
    Names,
    emmean_rows,
    line_keys,
    require_columns,
    select,
    visit_order,
    visit_ticks,
)
from analysis.report.plotting.effects import EFFECT_LABELS, forest
from analysis.report.plotting.single_case import (
    phase_plot,
    therapeutic_window_plot,
    titration_timeline,
)
from analysis.report.plotting.theme import (
    ESTIMATE,
    IMPROVED,
    PATIENT_GREY,
    UNCHANGED,
    WORSENED,
    Width,
    new_figure,
    use_theme,
)
from analysis.report.plotting.time_axis import (
    axis_title,
    label_visits,
    panel_phases,
    thin_labels,
    time_axes,
    time_panels,
    visit_days,
)

__all__ = [
    "spaghetti", "slope_plot", "waterfall", "forest", "mas_distribution",
    "titration_timeline", "therapeutic_window_plot", "phase_plot", "EFFECT_LABELS",
]


def spaghetti(
    obs: pd.DataFrame,
    *,
    measure: str,
    side: str | None = None,
    emmeans: pd.DataFrame | None = None,
    width: Width | float = "column",
    codebook: Any = None,
    labels: Callable[[str], str] | None = None,
) -> Figure:
    """Each patient's measure over visits, with the model's estimated marginal means.

    Parameters
    ----------
    obs : DataFrame
        Tidy observations (patient_id, visit, measure, value, day; side and unit optional).
    measure : str
        Codebook key to draw.
    side : str, optional
        ``"L"``, ``"R"`` or ``""``; when omitted and the measure has sides, each patient-side
        is one line.
    emmeans : DataFrame, optional
        Results table; its ``lmm_emmean`` rows of ``measure`` (term = visit, estimate,
        ci_low, ci_high) are drawn as black points with 95% CI bars.
    width : {"column", "page"} or float
    codebook : Codebook, optional
        Labels, unit symbols and grades of the measures (default: the built-in codebook).
    labels : callable, optional
        Visit code -> clinical words (default: the codebook's visit labels).

    Returns
    -------
    Figure
        Visits on the x axis at their time when every visit has a ``day`` (days or months
        from day 0, the axis broken across a long gap: :mod:`.time_axis`), else in ``day``
        order as evenly spaced categories; named in clinical words, tick labels never
        overlapping; the y axis is the codebook label with its unit symbol (ordinal scales as
        grades, "1+");
        one thin grey line per patient
        (gid ``"patient:<id>"``, or ``"patient:<id>/<side>"``).

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": ["P1", "P1", "P2", "P2"],
    ...     "visit": ["baseline", "post_m6"] * 2, "measure": "tug",
    ...     "value": [20.0, 15.0, 18.0, 16.0], "day": [-7.0, 180.0] * 2})
    >>> fig = spaghetti(obs, measure="tug")
    >>> [line.get_gid() for line in fig.axes[0].get_lines()]
    ['patient:P1', 'patient:P2']
    """
    require_columns(obs, ["patient_id", "visit", "measure", "value"], "observations")
    rows = select(obs, measure=measure, side=side, what="observations")
    visits = visit_order(rows)
    names = Names(codebook, labels)
    days = visit_days(rows, visits)
    panels = time_panels(days) if days is not None else None
    # x of each visit: (panel, time) by day, else (0, rank) evenly spaced
    pos = (time_axis.positions(panels) if panels is not None
           else {v: (0, float(i)) for i, v in enumerate(visits)})
    em = None
    if emmeans is not None:
        em = emmean_rows(emmeans, measure=measure, side=side)
        unknown = sorted(set(em["term"]) - set(pos))
        if unknown:
            raise InvalidInputError(
                f"lmm_emmean terms {unknown} of {measure!r} are not visits of the "
                f"observations ({visits}); pass the results of the same data"
            )
    with use_theme():
        fig = new_figure(width)
        axes = time_axes(fig, panels) if panels is not None else [fig.add_subplot()]
        keys = line_keys(rows)
        for key, one in rows.groupby(keys, sort=True):
            at = one["visit"].map(pos)
            one = one.assign(_p=[p for p, _ in at], _x=[x for _, x in at])
            for p, part in one.groupby("_p", sort=True):
                part = part.sort_values("_x", kind="mergesort")
                axes[p].plot(part["_x"], part["value"], color=PATIENT_GREY, lw=0.7, alpha=0.8,
                             marker="o", ms=2, zorder=1,
                             gid="patient:" + "/".join(map(str, key)))
        handles = [Line2D([], [], color=PATIENT_GREY, lw=0.7, marker="o", ms=2,
                          label="Patients")]
        if em is not None:
            at = em["term"].map(pos)
            for p in sorted({q for q, _ in at}):
                mine = em[[q == p for q, _ in at]]
                x = np.array([pos[t][1] for t in mine["term"]], float)
                y = mine["estimate"].to_numpy(float)
                err = np.vstack([y - mine["ci_low"].to_numpy(float),
                                 mine["ci_high"].to_numpy(float) - y])
                axes[p].errorbar(x, y, yerr=err, fmt="o", color=ESTIMATE, ms=4, lw=1.2,
                                 zorder=3, label="Model mean (95% CI)")
            handles.append(Line2D([], [], color=ESTIMATE, marker="o", ms=4, lw=1.2,
                                  label="Model mean (95% CI)"))
        axes[0].set_ylabel(textwrap.fill(names.axis(measure, side), 40))
        names.grade_axis(axes[0], measure)
        if len(axes) > 1:  # above the panels: inside, it would hide one panel's data
            fig.legend(handles=handles, loc="outside upper center", ncol=len(handles),
                       frameon=False)
        else:
            axes[0].legend(handles=handles, loc="best")
        if panels is None:
            visit_ticks(axes[0], names, visits)
            axes[0].set_xlabel("Visit")
            thin_labels(fig, axes)
        else:
            for ax, panel in zip(axes, panels, strict=True):
                label_visits(ax, panel, [names.raw_visit(v) for v in panel.visits])
            thin_labels(fig, axes, axis_title(panels, panel_phases(rows, panels)))
    return fig


def _change_rows(changes: pd.DataFrame, measure: str, visit: str,
                 side: str | None) -> pd.DataFrame:
    require_columns(changes, ["patient_id", "visit", "measure", "value", "baseline", "change"],
                    "change table")
    rows = select(changes, measure=measure, side=side, what="change table")
    rows = rows[rows["visit"] == visit]
    if rows.empty:
        raise InvalidInputError(f"no changes of {measure!r} at visit {visit!r}; visits: "
                          f"{sorted(changes['visit'].unique().tolist())}")
    return rows


def _direction(improvement: float, threshold: float = 0.0) -> str:
    if improvement > threshold:
        return "improved"
    if improvement < -threshold:
        return "worsened"
    return "unchanged"


_CLASS_COLOURS = {"improved": IMPROVED, "worsened": WORSENED, "unchanged": UNCHANGED}


def slope_plot(
    changes: pd.DataFrame, *, measure: str, visit: str, side: str | None = None,
    reference: str | None = None, codebook: Any = None,
    labels: Callable[[str], str] | None = None,
) -> Figure:
    """Reference visit to one follow-up visit, one line per patient, coloured by direction.

    Parameters
    ----------
    changes : DataFrame
        Change table (patient_id, visit, measure, value, baseline, change, improvement).
    measure, visit : str
        The measure and the follow-up visit.
    side : str, optional
    reference : str, optional
        The reference visit (named on the axis; "Reference visit" when not given).
    codebook, labels : optional
        As for :func:`spaghetti`.

    Examples
    --------
    >>> ch = pd.DataFrame({"patient_id": ["P1", "P2"], "visit": "post_m6", "measure": "tug",
    ...     "value": [15.0, 19.0], "baseline": [20.0, 18.0], "change": [-5.0, 1.0],
    ...     "improvement": [5.0, -1.0]})
    >>> [l.get_color() for l in slope_plot(ch, measure="tug", visit="post_m6").axes[0].lines]
    ['#0072B2', '#D55E00']
    """
    rows = _change_rows(changes, measure, visit, side)
    require_columns(rows, ["improvement"], "change table")
    names = Names(codebook, labels)
    with use_theme():
        fig = new_figure("column", 3.0)
        ax = fig.add_subplot()
        counts: dict[str, int] = {"improved": 0, "unchanged": 0, "worsened": 0}
        for _, r in rows.sort_values(line_keys(rows), kind="mergesort").iterrows():
            cls = _direction(float(r["improvement"]))
            counts[cls] += 1
            ax.plot([0, 1], [r["baseline"], r["value"]], color=_CLASS_COLOURS[cls],
                    marker="o", ms=3, lw=1.0, alpha=0.9)
        ax.set_xticks([0, 1], [matplotlib_text(textwrap.fill(names.raw_visit(reference), 18))
                               if reference else "Reference visit",
                               matplotlib_text(textwrap.fill(names.raw_visit(visit), 18))])
        ax.set_xlim(-0.25, 1.25)
        ax.set_ylabel(textwrap.fill(names.axis(measure, side), 40))
        names.grade_axis(ax, measure)
        handles = [Line2D([], [], color=_CLASS_COLOURS[c], marker="o", ms=3,
                          label=f"{c.capitalize()} (n = {n})")
                   for c, n in counts.items() if n]
        ax.legend(handles=handles, loc="best")
    return fig


def waterfall(
    changes: pd.DataFrame,
    *,
    measure: str,
    visit: str,
    mcid: float | None = None,
    better: Literal["higher", "lower"] = "higher",
    side: str | None = None,
    codebook: Any = None,
    labels: Callable[[str], str] | None = None,
) -> Figure:
    """Individual change from the reference visit, sorted, as bars, with the MCID marked.

    Bars show ``change`` (follow-up - reference, in the unit of the measure; for an ordinal
    scale such as the MAS, in steps of the scale, so 1+ -> 1 is one step), sorted from the
    largest increase to the largest decrease. Colours: improved by at least the MCID (or by
    any amount when no MCID is given), worsened by at least it, or in between. The MCID is
    drawn at ``+mcid`` and ``-mcid``, each line labelled with the direction it stands for.

    Examples
    --------
    >>> ch = pd.DataFrame({"patient_id": ["P1", "P2", "P3"], "visit": "post_m6",
    ...     "measure": "gait_speed", "value": [0.9, 0.5, 0.6],
    ...     "baseline": [0.5, 0.55, 0.6], "change": [0.4, -0.05, 0.0]})
    >>> fig = waterfall(ch, measure="gait_speed", visit="post_m6", mcid=0.1)
    >>> [round(float(p.get_height()), 2) for p in fig.axes[0].patches]
    [0.4, 0.0, -0.05]
    """
    if better not in ("higher", "lower"):
        raise InvalidInputError(f"better must be 'higher' or 'lower', got {better!r}; a waterfall "
                          "needs a direction (plot 'towards_normal' measures as a change)")
    if mcid is not None and not (np.isfinite(mcid) and mcid > 0):
        raise InvalidInputError(f"mcid must be a positive number, got {mcid!r}")
    rows = _change_rows(changes, measure, visit, side)
    keys = line_keys(rows)
    rows = rows.sort_values(keys, kind="mergesort")
    names = Names(codebook, labels)
    info = names.info(measure)
    unit_text = None
    if names.levels(measure) is not None:
        steps = [grade_steps(info, b, a) for b, a in zip(rows["baseline"], rows["value"], strict=False)]
        if all(x is not None for x in steps):
            rows = rows.assign(change=[float(x) for x in steps])
            unit_text = "steps of the scale"
    rows = rows.sort_values("change", ascending=False, kind="mergesort").reset_index(drop=True)
    sign = 1.0 if better == "higher" else -1.0
    threshold = 0.0 if mcid is None else float(mcid)
    classes = [_direction(sign * c, threshold) if mcid is not None else _direction(sign * c)
               for c in rows["change"]]
    ticks = [matplotlib_text(" ".join(side_word(r[k]) if k == "side" else str(r[k])
                                      for k in keys if r[k] != ""))
             for _, r in rows.iterrows()]
    with use_theme():
        fig = new_figure("column", 2.8)
        ax = fig.add_subplot()
        ax.bar(np.arange(len(rows)), rows["change"].to_numpy(float),
               color=[_CLASS_COLOURS[c] for c in classes], width=0.75)
        ax.axhline(0, color="black", lw=0.6)
        if mcid is not None:
            for y, text in ((sign * mcid, "MCID: improved"), (-sign * mcid, "MCID: worsened")):
                ax.axhline(y, color="black", ls="--", lw=0.7, label=text)
                ax.annotate(f"{text} ({'+' if y > 0 else '-'}{fmt_num(mcid, 2)})",
                            xy=(1.0, y), xycoords=("axes fraction", "data"),
                            xytext=(-2, 2 if y > 0 else -2), textcoords="offset points",
                            ha="right", va="bottom" if y > 0 else "top", fontsize=6)
            lo, hi = ax.get_ylim()  # room for the labels outside the MCID lines
            ax.set_ylim(min(lo, -1.35 * mcid), max(hi, 1.35 * mcid))
        ax.set_xticks(np.arange(len(rows)), ticks, rotation=90 if len(rows) > 6 else 0)
        ax.set_xlabel("Patient")
        ax.set_ylabel(textwrap.fill(names.axis(measure, side, prefix="Change in ",
                                               unit=unit_text), 40))
        names = ({"improved": "Improved \u2265 MCID", "unchanged": "Within MCID",
                  "worsened": "Worsened \u2265 MCID"} if mcid is not None else
                 {"improved": "Improved", "unchanged": "No change", "worsened": "Worsened"})
        handles = [Line2D([], [], color=_CLASS_COLOURS[c], lw=5, label=names[c])
                   for c in ("improved", "unchanged", "worsened") if c in classes]
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                  ncols=len(handles), fontsize=6, handlelength=1.0)
    return fig


def mas_distribution(
    obs: pd.DataFrame,
    *,
    measure: str,
    levels: Sequence[str] = ("0", "1", "1+", "2", "3", "4"),
    codes: Sequence[float] = (0, 1, 1.5, 2, 3, 4),
    codebook: Any = None,
    labels: Callable[[str], str] | None = None,
) -> Figure:
    """Stacked bars of the share (%) of each MAS level by visit (sides pooled).

    Values are matched to ``codes`` (tolerance 1e-9) and shown under ``levels``; a value
    matching no code raises. Each visit's label gives its number of observations ("(n = 12)"
    under it); visits are named in clinical words (``codebook``, ``labels`` as for :func:`spaghetti`).

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": ["P1", "P2", "P1", "P2"],
    ...     "visit": ["baseline", "baseline", "post_m6", "post_m6"],
    ...     "measure": "mas_knee_ext", "value": [2.0, 1.5, 1.0, 1.0],
    ...     "day": [-7.0, -7.0, 180.0, 180.0]})
    >>> ax = mas_distribution(obs, measure="mas_knee_ext").axes[0]
    >>> [round(float(p.get_height())) for p in ax.containers[3]]  # level "2"
    [50, 0]
    """
    if len(levels) != len(codes):
        raise InvalidInputError(f"levels {tuple(levels)} and codes {tuple(codes)} differ in length")
    require_columns(obs, ["visit", "measure", "value"], "observations")
    rows = select(obs, measure=measure, what="observations").dropna(subset=["value"])
    code_arr = np.asarray(codes, float)
    idx = np.full(len(rows), -1)
    values = rows["value"].to_numpy(float)
    for i, c in enumerate(code_arr):
        idx[np.isclose(values, c, rtol=0, atol=1e-9)] = i
    if (idx < 0).any():
        bad = sorted(set(values[idx < 0].tolist()))
        raise InvalidInputError(f"values {bad} of {measure!r} match none of the codes {tuple(codes)}; "
                          "pass the levels and codes of the codebook")
    visits = visit_order(rows)
    names = Names(codebook, labels)
    table = pd.crosstab(pd.Categorical(rows["visit"], categories=visits),
                        pd.Categorical(idx, categories=range(len(codes))), dropna=False)
    totals = table.sum(axis=1).to_numpy(float)
    share = 100.0 * table.to_numpy(float) / np.where(totals == 0, np.nan, totals)[:, None]
    share = np.nan_to_num(share)
    cmap = colormaps["cividis"]
    colours = [cmap(v) for v in np.linspace(0.95, 0.1, len(levels))]
    with use_theme():
        fig = new_figure("column", 2.8)
        ax = fig.add_subplot()
        bottom = np.zeros(len(visits))
        x = np.arange(len(visits))
        for i, lev in enumerate(levels):
            ax.bar(x, share[:, i], bottom=bottom, color=colours[i], width=0.7,
                   label=matplotlib_text(lev),
                   edgecolor="white", linewidth=0.4)
            bottom += share[:, i]
        # the count of each bar under its visit label: labels are kept apart by thin_labels
        visit_ticks(ax, names, visits, under=[f"(n = {int(n)})" for n in totals])
        ax.set_ylim(0, 100)
        ax.set_yticks([0, 25, 50, 75, 100])
        ax.set_ylabel("Share of observations (%)")
        ax.set_xlabel("Visit")
        handles, texts = ax.get_legend_handles_labels()
        ax.legend(handles[::-1], texts[::-1], title="Grade", loc="center left",
                  bbox_to_anchor=(1.0, 0.5))
        thin_labels(fig, [ax])
    return fig
