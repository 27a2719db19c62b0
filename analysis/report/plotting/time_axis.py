"""Visits placed on the x axis by their time (the ``day`` column), with a broken axis across a
long gap, and tick labels that never overlap.

When every visit of a figure has a day (its median ``day``, as :mod:`analysis.report.facts`
gives each visit's day), the visits are drawn at their time: in days for a panel spanning at
most :data:`DAYS_PANEL` days, else in months (day / 30.4375). A long gap (test-infusion days
followed by follow-ups months later) breaks the axis into two panels with diagonal break marks,
so the close early visits are not squashed (:func:`time_panels`). Without ``day`` the visits
stay evenly spaced categories (:func:`analysis.report.plotting._data.visit_ticks`).

Each visit is one tick labelled with its name and time ("6 months after implantation\\nmonth
6"), so a single visit has one tick at its own day, never "369.5 370.0 370.5". After a draw,
a label that would overlap an earlier one is hidden and its visit named under the x label
(:func:`thin_labels`).

Hand-written: matplotlib has broken axes only as two axes with marks (its own "broken axis"
example), and no label thinning by extents.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.report.escape import matplotlib_text
from analysis.report.labels import phase_word

__all__ = ["DAYS_PANEL", "Panel", "axis_title", "label_visits", "panel_phases", "positions",
           "thin_labels", "time_axes", "time_panels", "visit_days"]

#: A panel spanning at most this many days is drawn in days, a longer one in months.
DAYS_PANEL = 60.0
#: Longest visit name on a tick (longer ones are shortened with "…"; the tables name them).
TICK_CHARS = 40
#: Longest visit name on a vertical tick label.
VERTICAL_CHARS = 28
#: Days in a month (365.25 / 12).
MONTH = 30.4375
#: A gap breaks the axis when it exceeds this many days and twice the span before it.
BREAK_DAYS = 30.0


@dataclass(frozen=True)
class Panel:
    """One panel of a time axis: its visits (in time order), their days and its unit."""

    visits: tuple[str, ...]
    days: tuple[float, ...]

    @property
    def months(self) -> bool:
        """True when the panel is drawn in months: it spans more than :data:`DAYS_PANEL` days
        or starts later than that (follow-ups after a break)."""
        return max(self.days) - min(self.days) > DAYS_PANEL or min(self.days) > DAYS_PANEL

    def x(self, day: float) -> float:
        """The x coordinate of ``day`` in this panel's unit."""
        return day / MONTH if self.months else day

    def when(self, day: float) -> str:
        """``"day 3"`` or ``"month 6"`` (months to one decimal unless nearly whole)."""
        if not self.months:
            return f"day {day:.0f}"
        m = day / MONTH
        # day 180 is "month 6" (within 0.15 month, 4.6 days, of a whole month)
        return f"month {m:.0f}" if abs(m - round(m)) < 0.15 else f"month {m:.1f}"


def visit_days(rows: pd.DataFrame, visits: Sequence[str]) -> pd.Series | None:
    """The median ``day`` of each visit, or None when the rows have no ``day`` or a visit has
    none (the figure then keeps evenly spaced visits).

    Examples
    --------
    >>> rows = pd.DataFrame({"visit": ["bl", "m6", "m6"], "day": [-7.0, 180.0, 184.0]})
    >>> visit_days(rows, ["bl", "m6"]).tolist()
    [-7.0, 182.0]
    >>> visit_days(rows.drop(columns="day"), ["bl", "m6"]) is None
    True
    """
    if "day" not in rows.columns:
        return None
    day = rows.groupby("visit", sort=False)["day"].median().reindex(list(visits))
    return None if day.isna().any() else day.astype(float)


def time_panels(days: pd.Series) -> list[Panel]:
    """Split the visits (index) at their days into one panel, or two across a long gap: the
    first gap of more than :data:`BREAK_DAYS` days and more than twice the span of the two or
    more visits before it.

    Examples
    --------
    >>> days = pd.Series([-7.0, 0, 3, 7, 183, 365],
    ...                  index=["bl", "ti1", "ti3", "ti7", "m6", "m12"])
    >>> [(p.visits, p.months) for p in time_panels(days)]
    [(('bl', 'ti1', 'ti3', 'ti7'), False), (('m6', 'm12'), True)]
    >>> [p.visits for p in time_panels(pd.Series([-7.0, 90, 180], index=["bl", "m3", "m6"]))]
    [('bl', 'm3', 'm6')]
    """
    days = days.sort_values(kind="mergesort")
    values = days.to_numpy(float)
    for i in range(2, len(values)):
        gap, before = values[i] - values[i - 1], values[i - 1] - values[0]
        if gap > BREAK_DAYS and gap > 2 * before:
            return [Panel(tuple(days.index[:i]), tuple(map(float, values[:i]))),
                    Panel(tuple(days.index[i:]), tuple(map(float, values[i:])))]
    return [Panel(tuple(days.index), tuple(map(float, values)))]


def _break_marks(ax: Axes, side: str) -> None:
    """Diagonal marks on the x axis where it is broken."""
    x = 0.0 if side == "left" else 1.0
    for dx in (-0.012, 0.012):  # figure artists: ax.lines stays the data
        ax.figure.add_artist(Line2D([x + dx - 0.01, x + dx + 0.01], [-0.03, 0.03],
                             transform=ax.transAxes, color="black", clip_on=False, lw=0.8,
                             gid="axis_break"))


def time_axes(fig: Figure, panels: list[Panel]) -> list[Axes]:
    """One axes per panel, sharing y, the break marked between them (wider for more visits)."""
    if len(panels) == 1:
        return [fig.add_subplot()]
    ratios = [max(len(p.visits), 1) + 1 for p in panels]
    axes = list(fig.subplots(1, len(panels), sharey=True,
                             gridspec_kw={"width_ratios": ratios, "wspace": 0.04}))
    axes[0].spines["right"].set_visible(False)
    axes[1].spines["left"].set_visible(False)
    axes[1].tick_params(axis="y", left=False, labelleft=False)
    _break_marks(axes[0], "right")
    _break_marks(axes[1], "left")
    return axes


def label_visits(ax: Axes, panel: Panel, names: Sequence[str]) -> None:
    """Ticks at the panel's visits, labelled with their names (escaped for matplotlib) and
    times; x limits padded so a single visit sits in the middle of its panel."""
    x = [panel.x(d) for d in panel.days]
    labels = [matplotlib_text(textwrap.fill(textwrap.shorten(n, TICK_CHARS, placeholder="…"),
                                            16)) + "\n" + panel.when(d)
              for n, d in zip(names, panel.days, strict=True)]
    crowded = len(x) > 3
    ax.set_xticks(x, labels, rotation=90 if crowded else 0, fontsize=6, ha="center",
                  va="top")
    span = max(x) - min(x)
    pad = 0.08 * span if span > 0 else (1.0 if not panel.months else 0.5)
    ax.set_xlim(min(x) - pad, max(x) + pad)


def axis_title(panels: list[Panel], phases: Sequence[str] = ()) -> str:
    """The common x label: the time unit of each panel, and each panel's phases in words when
    ``phases`` (one text per panel, e.g. "baseline, test infusion") are given.

    Examples
    --------
    >>> days = pd.Series([-7.0, 2, 4, 183], index=["bl", "t2", "t4", "m6"])
    >>> axis_title(time_panels(days), ["baseline, test infusion", "after pump implantation"])
    'Time from day 0 of the data: days (baseline, test infusion), then months after the break (after pump implantation)'
    """
    units = [("months" if p.months else "days") for p in panels]
    words = [f" ({w})" if w else "" for w in phases] if len(phases) == len(panels) else [""] * len(panels)
    if len(panels) == 1:
        return f"Time from day 0 of the data: {units[0]}{words[0]}"
    return (f"Time from day 0 of the data: {units[0]}{words[0]}, then {units[1]} after the "
            f"break{words[1]}")


def thin_labels(fig: Figure, axes: Sequence[Axes], title: str | None = None) -> list[str]:
    """Make the x tick labels of ``axes`` not overlap: after a draw, on a time axis (``title``
    given) keep only the time of each label ("day 2", "month 6") when two overlap; then slant
    them to vertical when two still overlap; then hide every label that still overlaps one kept before it and name
    the hidden ones under the x label. ``title``: the figure's common x label (else the x
    label of the last axes is kept). Returns the hidden labels' texts."""
    if title is not None:
        fig.supxlabel(title, fontsize=7)
    if title is not None and _overlapping(fig, axes):
        for ax in axes:  # on a time axis the time alone ("day 2", "month 6") names the visit
            texts = [t.get_text().rpartition("\n")[2] for t in ax.get_xticklabels()]
            size = ax.get_xticklabels()[0].get_fontsize() if texts else None
            ax.set_xticks(ax.get_xticks(), texts, rotation=0, ha="center", fontsize=size)
    if _overlapping(fig, axes):
        for ax in axes:  # vertical, on one line (a wrapped label turned on its side is wide)
            texts = [_one_line(t.get_text()) for t in ax.get_xticklabels()]
            size = ax.get_xticklabels()[0].get_fontsize() if texts else None
            ax.set_xticks(ax.get_xticks(), texts, rotation=90, ha="center",
                          rotation_mode="default", fontsize=size)
        # the figure grows by the labels' height, so the vertical labels do not squash the axes
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        tallest = max((t.get_window_extent(renderer).height for ax in axes
                       for t in _labels(ax)), default=0.0) / fig.dpi
        fig.set_figheight(fig.get_figheight() + tallest)
    kept, hidden = [], []
    if _overlapping(fig, axes):
        renderer = fig.canvas.get_renderer()
        for ax in axes:
            for label in _labels(ax):
                box = label.get_window_extent(renderer)
                if any(box.overlaps(k) for k in kept):
                    label.set_visible(False)
                    hidden.append(label.get_text())
                else:
                    kept.append(box)
    if hidden:
        # at most three lines as wide as the figure (7 pt: about 0.5 em a character), each
        # hidden label shortened: a long list must not crowd out the axes
        width = max(30, int(fig.get_figwidth() * 72 / 3.8))
        names = "; ".join(textwrap.shorten(" ".join(h.split()), 30, placeholder="…")
                          for h in hidden)
        note = textwrap.fill(textwrap.shorten(
            f"{len(hidden)} tick(s) without a label (too close to another): {names}",
            3 * width - 6, placeholder=" …"), width)
        if title is not None:
            fig.supxlabel(title + "\n" + note, fontsize=7)
        else:
            axes[-1].set_xlabel(axes[-1].get_xlabel() + "\n" + note)
    return hidden


def _one_line(text: str) -> str:
    """A wrapped tick label on one line, its last line (a time or a count) after a comma:
    ``"test infusion\\nday 2"`` -> ``"test infusion day 2"``, ``"baseline\\nday -7"`` ->
    ``"baseline, day -7"`` when the last line is the time."""
    head, sep, last = text.rpartition("\n")
    if not sep:
        return textwrap.shorten(text, VERTICAL_CHARS, placeholder="…")
    # shortened: a long label on its side would crowd out the axes
    head = textwrap.shorten(" ".join(head.split()), VERTICAL_CHARS, placeholder="…")
    return head + (" " if last.startswith("(") else ", ") + last


def _labels(ax: Axes) -> list:
    return [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]


def _overlapping(fig: Figure, axes: Sequence[Axes]) -> bool:
    """True when two visible x tick labels of ``axes`` overlap (after a draw)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for ax in axes for t in _labels(ax)]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def positions(panels: list[Panel]) -> dict[str, tuple[int, float]]:
    """Visit -> (panel index, x) for drawing data in the right panel."""
    return {v: (i, p.x(d)) for i, p in enumerate(panels)
            for v, d in zip(p.visits, p.days, strict=True)}


def panel_phases(rows: pd.DataFrame, panels: list[Panel]) -> list[str]:
    """Each panel's phases in words, in the order of the phases ("" without a phase column),
    for :func:`axis_title`.

    Examples
    --------
    >>> rows = pd.DataFrame({"visit": ["bl", "t2", "m6"],
    ...                      "phase": ["baseline", "test_infusion", "post_implant"]})
    >>> panels = time_panels(pd.Series([-7.0, 2, 183], index=["bl", "t2", "m6"]))
    >>> panel_phases(rows, panels)
    ['baseline, test infusion', 'after pump implantation']
    """
    if "phase" not in rows.columns:
        return [""] * len(panels)
    order = {"baseline": 0, "test_infusion": 1, "post_implant": 2}
    out = []
    for panel in panels:
        found = rows.loc[rows["visit"].isin(panel.visits), "phase"].dropna().astype(str)
        found = sorted(set(found) - {""}, key=lambda p: (order.get(p, 9), p))
        out.append(matplotlib_text(", ".join(phase_word(p) for p in found)))
    return out
