"""One-patient figures: titration timeline, therapeutic window, phase (AB) plot."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats

from analysis.errors import InvalidInputError
from analysis.report.escape import matplotlib_text
from analysis.report.labels import phase_word, side_word
from analysis.report.plotting._data import Names, require_columns, select
from analysis.report.plotting.theme import (
    DOSE,
    OKABE_ITO,
    PHASE_COLOURS,
    PHASE_LABELS,
    WINDOW,
    new_figure,
    use_theme,
)
from analysis.report.plotting.time_axis import thin_labels

_SIDE_STYLE = {"L": ("o", OKABE_ITO["blue"]), "R": ("s", OKABE_ITO["vermillion"]),
               "": ("o", OKABE_ITO["black"])}
_PHASE_LINE = [OKABE_ITO["black"], OKABE_ITO["blue"], OKABE_ITO["vermillion"],
               OKABE_ITO["bluish_green"]]


def _phase_label(phase: Any) -> str:
    return matplotlib_text(PHASE_LABELS.get(str(phase)) or phase_word(str(phase)).capitalize())


def _one_patient(data: pd.DataFrame, what: str) -> str:
    require_columns(data, ["patient_id"], what)
    ids = sorted(pd.unique(data["patient_id"]).tolist())
    if len(ids) != 1:
        raise InvalidInputError(f"the {what} must hold one patient, got {ids}; filter it first, "
                          "e.g. obs[obs.patient_id == 'P01']")
    return str(ids[0])


def _break_marks(ax: Axes, side: Literal["left", "right"]) -> None:
    """Diagonal marks on the x axis where the axis is broken."""
    x = 0.0 if side == "left" else 1.0
    kw = dict(transform=ax.transAxes, color="black", clip_on=False, lw=0.8)
    for dx in (-0.012, 0.012):
        ax.plot([x + dx - 0.01, x + dx + 0.01], [-0.03, 0.03], **kw)


def titration_timeline(
    obs_one_patient: pd.DataFrame, *, measures: Sequence[str], codebook: Any = None
) -> Figure:
    """Dose and outcomes of one patient over days, phases shaded.

    One panel per measure (sides drawn as separate series) and a dose panel at the bottom
    (step line, µg/day). Panels are labelled with the codebook label and unit symbol; ordinal
    scales (MAS) show their grades (0, 1, 1+, 2, 3, 4). Baseline and test-infusion days are drawn in the wide left column
    with the phases shaded; post-implant visits, often months later, go in a narrow right
    column with a broken axis, so they do not squash the titration.

    Parameters
    ----------
    obs_one_patient : DataFrame
        Tidy observations of one patient (needs day, phase, dose_ug_day).
    measures : sequence of str
        Measures to draw, top to bottom.
    codebook : Codebook, optional
        Labels, units and grades (default: the built-in codebook).

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": "P01", "measure": "tug",
    ...     "visit": ["bl", "ti_d1", "ti_d2", "post_m6"], "value": [20.0, 18, 17, 14],
    ...     "day": [-1.0, 1, 2, 180], "dose_ug_day": [0.0, 50, 100, 108],
    ...     "phase": ["baseline", "test_infusion", "test_infusion", "post_implant"]})
    >>> len(titration_timeline(obs, measures=["tug"]).axes)  # 2 rows x 2 columns
    4
    """
    measures = list(measures)
    if not measures:
        raise InvalidInputError("measures is empty; name at least one measure to draw")
    require_columns(obs_one_patient, ["measure", "value", "day", "phase", "dose_ug_day"],
                    "observations")
    _one_patient(obs_one_patient, "observations")
    data = obs_one_patient.dropna(subset=["day"])
    post = data["phase"] == "post_implant"
    parts = [data[~post]] + ([data[post]] if post.any() else [])
    if parts[0].empty:
        parts = parts[1:]
    n_rows = len(measures) + 1
    names = Names(codebook)
    with use_theme():
        fig = new_figure("page", 1.3 * n_rows + 0.5)
        ratios = [3, 1] if len(parts) == 2 else [1]
        axes = fig.subplots(n_rows, len(parts), sharex="col", sharey="row", squeeze=False,
                            gridspec_kw={"width_ratios": ratios, "wspace": 0.02})
        for c, part in enumerate(parts):
            for r, m in enumerate(measures):
                ax = axes[r, c]
                rows = select(data, measure=m, what="observations")
                rows = rows[rows.index.isin(part.index)]
                sides = pd.unique(rows["side"].fillna("")) if "side" in rows else [""]
                for s in sorted(sides):
                    one = rows if "side" not in rows else rows[rows["side"].fillna("") == s]
                    one = one.sort_values("day", kind="mergesort")
                    marker, colour = _SIDE_STYLE.get(s, ("o", OKABE_ITO["black"]))
                    ax.plot(one["day"], one["value"], marker=marker, color=colour, ms=3,
                            label=matplotlib_text(side_word(s)) if s else None)
                if c == 0:
                    ax.set_ylabel(textwrap.fill(names.axis(m), 22), fontsize=7)
                    if len(sides) > 1:
                        ax.legend(loc="best", fontsize=6)
            for r, m in enumerate(measures):
                names.grade_axis(axes[r, c], m)
            dose = part.groupby("day", sort=True)["dose_ug_day"].max()
            axes[-1, c].plot(dose.index, dose.to_numpy(float), drawstyle="steps-post",
                             color=DOSE, lw=1.2, marker=".", ms=3)
            for ax in axes[:, c]:
                _shade_phases(ax, part, top=ax is axes[0, c])
            _day_ticks(axes[-1, c], part["day"].to_numpy(float), wide=c == 0)
        axes[-1, 0].set_ylabel("Dose (\u00b5g/day)", fontsize=7)
        axes[-1, 0].set_ylim(bottom=0)
        if len(parts) == 2:
            for r in range(n_rows):
                axes[r, 0].spines["right"].set_visible(False)
                axes[r, 1].spines["left"].set_visible(False)
                axes[r, 1].tick_params(axis="y", left=False, labelleft=False)
                _break_marks(axes[r, 1], "left")
        fig.supxlabel("Day relative to the start of the test infusion", fontsize=8)
        thin_labels(fig, list(axes[-1, :]))  # close days (one tick each) must not overlap
    return fig


def _day_ticks(ax: Axes, days: np.ndarray, *, wide: bool) -> None:
    """Whole days as ticks: the days themselves when there are at most three (one visit is
    one tick, never 369.5 370.0 370.5), else a few integer ticks."""
    from matplotlib.ticker import MaxNLocator

    days = np.unique(days[np.isfinite(days)])
    if 0 < len(days) <= 3:
        ax.set_xticks(days, [f"{d:.0f}" for d in days])
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6 if wide else 3, integer=True))


def _shade_phases(ax: Axes, part: pd.DataFrame, *, top: bool) -> None:
    """Shade each phase from its first to its last day (half a day beyond each end)."""
    for phase, rows in part.groupby("phase", sort=False):
        first, last = float(rows["day"].min()), float(rows["day"].max())
        lo, hi = first - 0.5, last + 0.5
        # day 0 is the start of the test infusion (CONTRACTS): the phases meet there
        if phase == "baseline" and last < 0:
            hi = 0.0
        if phase == "test_infusion" and first >= 0:
            lo = 0.0
        ax.axvspan(lo, hi, color=PHASE_COLOURS.get(str(phase), "#F2F2F2"), zorder=0, lw=0,
                   gid=f"phase:{phase}")
        if top:
            ax.text((lo + hi) / 2, 1.02, _phase_label(phase),
                    transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=7)


def therapeutic_window_plot(window_table: pd.DataFrame, *, patient_id: str) -> Figure:
    """Spasticity and strength change against dose for one patient, the window shaded.

    Filled markers meet the criterion of their panel (``spasticity_ok``, ``strength_ok``);
    open markers do not. With a ``side`` column each side is one series (left: circles, solid;
    right: squares, dashed) and has its own window, as the rule judges each side apart. Each run of consecutive doses (in dose order) with ``in_window``
    is shaded from its lowest to its highest dose; a one-dose window is drawn as a narrow band
    of 2% of the dose range centred on that dose.

    Parameters
    ----------
    window_table : DataFrame
        Columns patient_id, dose_ug_day, spasticity_change, strength_change, spasticity_ok,
        strength_ok, in_window.
    patient_id : str

    Examples
    --------
    >>> wt = pd.DataFrame({"patient_id": "P01", "dose_ug_day": [25.0, 50, 75, 108, 150],
    ...     "spasticity_change": [0.0, -0.5, -1, -1.5, -2],
    ...     "strength_change": [0.0, 0, 0, 0, -1.0],
    ...     "spasticity_ok": [False, False, True, True, True],
    ...     "strength_ok": [True, True, True, True, False],
    ...     "in_window": [False, False, True, True, False]})
    >>> fig = therapeutic_window_plot(wt, patient_id="P01")
    >>> span = fig.axes[0].patches[0]  # the shaded window, in data coordinates
    >>> float(span.get_x()), float(span.get_x() + span.get_width())
    (75.0, 108.0)
    """
    cols = ["patient_id", "dose_ug_day", "spasticity_change", "strength_change",
            "spasticity_ok", "strength_ok", "in_window"]
    require_columns(window_table, cols, "window table")
    rows = window_table[window_table["patient_id"] == patient_id]
    if rows.empty:
        raise InvalidInputError(f"patient {patient_id!r} is not in the window table; patients: "
                          f"{sorted(window_table['patient_id'].unique().tolist())}")
    sides = (sorted(rows["side"].fillna("").astype(str).unique()) if "side" in rows else [""])
    side_of = rows["side"].fillna("").astype(str) if "side" in rows else pd.Series("", rows.index)
    pad = 0.01 * (float(np.ptp(rows["dose_ug_day"].to_numpy(float))) or 1.0)
    panels = [("spasticity_change", "spasticity_ok", "Spasticity change (MAS)",
               OKABE_ITO["vermillion"]),
              ("strength_change", "strength_ok", "Strength change (MRC)", OKABE_ITO["blue"])]
    # each side is judged apart (analysis.stats.dose.therapeutic_window): one series and one
    # shaded window per side; sides with the same window share one band and one label
    by_span: dict[tuple, list[str]] = {}
    for side in sides:
        one = rows[side_of == side].sort_values("dose_ug_day", kind="mergesort")
        spans = tuple(_runs(one["dose_ug_day"].to_numpy(float),
                            one["in_window"].fillna(False).astype(bool).to_numpy()))
        if spans:
            by_span.setdefault(spans, []).append(side)
    with use_theme():
        fig = new_figure("column", 3.6)
        axes = fig.subplots(2, 1, sharex=True)
        for ax, (col, ok, label, colour) in zip(axes, panels, strict=False):
            for spans, which in by_span.items():
                gid = "therapeutic_window" + ("" if which == [""] else "/" + "+".join(which))
                for lo, hi in spans:
                    if lo == hi:
                        lo, hi = lo - pad, hi + pad
                    ax.axvspan(lo, hi, color=WINDOW, alpha=0.3, lw=0, zorder=0, gid=gid)
            ax.axhline(0, color="black", lw=0.6)
            for side in sides:
                one = rows[side_of == side].sort_values("dose_ug_day", kind="mergesort")
                dose = one["dose_ug_day"].to_numpy(float)
                marker = _SIDE_STYLE.get(side, ("o", colour))[0]
                what = f", {matplotlib_text(side_word(side))}" if side else ""
                ax.plot(dose, one[col].to_numpy(float), color=colour, lw=0.8, zorder=2,
                        ls="--" if side == "R" else "-")
                good = one[ok].fillna(False).astype(bool).to_numpy()
                ax.scatter(dose[good], one.loc[good, col], color=colour, s=14, zorder=3,
                           marker=marker, label=f"criterion met{what}")
                ax.scatter(dose[~good], one.loc[~good, col], facecolor="white",
                           edgecolor=colour, s=14, zorder=3, marker=marker,
                           label=f"criterion not met{what}")
            ax.set_ylabel(label)
        axes[0].legend(loc="best", fontsize=6)
        if by_span:
            words = []
            for spans, which in by_span.items():
                lo, hi = spans[0]
                side_text = " and ".join(matplotlib_text(side_word(w)) for w in which if w)
                words.append(((lo + hi) / 2, "Therapeutic window"
                              + (f", {side_text}" if side_text else "")))
            for i, (x, text) in enumerate(words):
                axes[0].text(x, 1.02 + 0.09 * i, text, transform=axes[0].get_xaxis_transform(),
                             ha="center", va="bottom", fontsize=7)
        else:
            axes[0].set_title("No dose met both criteria" + (" on any side" if sides != [""]
                                                             else ""), fontsize=7)
        axes[1].set_xlabel("Dose (\u00b5g/day)")
    return fig


def _runs(dose: np.ndarray, flag: np.ndarray) -> list[tuple[float, float]]:
    """(lowest, highest) dose of each run of consecutive True flags."""
    spans, start = [], None
    for i, f in enumerate(flag):
        if f and start is None:
            start = i
        if start is not None and (not f or i == len(flag) - 1):
            end = i if f else i - 1
            spans.append((float(dose[start]), float(dose[end])))
            start = None
    return spans


def phase_plot(
    series: pd.DataFrame, *, measure: str, better: Literal["higher", "lower"],
    codebook: Any = None,
) -> Figure:
    """One patient's values by day, phases separated, with phase means and trends.

    Phases are ordered by their first day; a dashed vertical line is drawn midway between the
    last day of one phase and the first day of the next. Each phase gets its mean (dotted
    horizontal line over the phase's days) and, with two or more distinct days, its OLS trend
    (dash-dot; scipy.stats.linregress).

    Parameters
    ----------
    series : DataFrame
        Tidy observations of one patient (day, phase, value); one side only.
    measure : str
    better : {"higher", "lower"}
        Direction of improvement, stated on the y axis.
    codebook : Codebook, optional
        Label, unit symbol and grades of the measure (default: the built-in codebook).

    Examples
    --------
    >>> s = pd.DataFrame({"patient_id": "P01", "measure": "tug",
    ...     "day": [-3.0, -2, -1, 1, 2, 3], "value": [20.0, 21, 20, 17, 16, 15],
    ...     "phase": ["baseline"] * 3 + ["test_infusion"] * 3})
    >>> fig = phase_plot(s, measure="tug", better="lower")
    >>> [line.get_xdata()[0] for line in fig.axes[0].lines if line.get_gid() == "phase_change"]
    [np.float64(0.0)]
    """
    if better not in ("higher", "lower"):
        raise InvalidInputError(f"better must be 'higher' or 'lower', got {better!r}")
    require_columns(series, ["measure", "value", "day", "phase"], "series")
    rows = select(series, measure=measure, what="series").dropna(subset=["day", "value"])
    _one_patient(rows, "series")
    if "side" in rows.columns and rows["side"].fillna("").nunique() > 1:
        raise InvalidInputError(f"{measure!r} has several sides {sorted(rows['side'].unique())}; "
                          "pass one side, e.g. series[series.side == 'L']")
    first_day = rows.groupby("phase", sort=False)["day"].min().sort_values(kind="mergesort")
    phases = first_day.index.tolist()
    names = Names(codebook)
    with use_theme():
        fig = new_figure("column", 2.6)
        ax = fig.add_subplot()
        for i, ph in enumerate(phases):
            one = rows[rows["phase"] == ph].sort_values("day", kind="mergesort")
            colour = _PHASE_LINE[i % len(_PHASE_LINE)]
            d, v = one["day"].to_numpy(float), one["value"].to_numpy(float)
            ax.plot(d, v, marker="o", ms=3, color=colour, lw=0.8, gid=f"data:{ph}")
            ax.plot([d.min(), d.max()], [v.mean()] * 2, ls=":", color=colour, lw=1.2,
                    gid=f"mean:{ph}")
            if np.unique(d).size >= 2:
                fit = stats.linregress(d, v)
                ax.plot([d.min(), d.max()], fit.intercept + fit.slope * np.array([d.min(),
                        d.max()]), ls="-.", color=colour, lw=0.8, gid=f"trend:{ph}")
            ax.text((d.min() + d.max()) / 2, 1.02, _phase_label(ph),
                    transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                    color=colour, fontsize=7)
            if i > 0:
                prev = rows.loc[rows["phase"] == phases[i - 1], "day"].max()
                ax.axvline((float(prev) + d.min()) / 2, color="black", ls="--", lw=0.8,
                           gid="phase_change")
        ax.set_xlabel("Day relative to the start of the test infusion")
        ax.set_ylabel(f"{textwrap.fill(names.axis(measure), 36)}\n({better} is better)")
        names.grade_axis(ax, measure)
        ax.legend(handles=[Line2D([], [], color="grey", ls=":", lw=1.2, label="Phase mean"),
                           Line2D([], [], color="grey", ls="-.", lw=0.8,
                                  label="Phase trend (OLS)")], loc="best", fontsize=6)
    return fig
