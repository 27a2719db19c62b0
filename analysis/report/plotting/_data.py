"""Small data helpers shared by the figure modules: selection, visit order, and the clinical
words every axis, tick, legend and title uses (:class:`Names`)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import InvalidInputError
from analysis.report.escape import matplotlib_text
from analysis.report.labels import measure_label, unit_symbol, visit_labels


def require_columns(data: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise :class:`InvalidInputError` naming the missing columns of ``data``."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise InvalidInputError(
            f"{what} lacks column(s) {missing}; it has {list(data.columns)}. Pass the tidy "
            "observations, change table or results table the function documents."
        )


def select(
    data: pd.DataFrame, *, measure: str, side: str | None = None, what: str = "data"
) -> pd.DataFrame:
    """Rows of one measure (and side, when given); raise when there are none."""
    require_columns(data, ["measure"], what)
    rows = data[data["measure"] == measure]
    if rows.empty:
        known = sorted(data["measure"].dropna().unique().tolist())
        raise InvalidInputError(f"no rows of measure {measure!r} in the {what}; measures: {known}")
    if side is not None:
        if "side" not in rows.columns:
            raise InvalidInputError(f"side={side!r} given but the {what} has no 'side' column")
        rows = rows[rows["side"].fillna("") == side]
        if rows.empty:
            raise InvalidInputError(f"no rows of measure {measure!r} with side {side!r} in the {what}")
    return rows


def visit_order(obs: pd.DataFrame) -> list[str]:
    """Visits ordered by their median ``day``, ties (and missing days) by first appearance.

    Examples
    --------
    >>> obs = pd.DataFrame({"visit": ["post_m6", "baseline", "ti_d3"],
    ...                     "day": [180.0, -7.0, 3.0]})
    >>> visit_order(obs)
    ['baseline', 'ti_d3', 'post_m6']
    """
    visits = pd.unique(obs["visit"])
    first = {v: i for i, v in enumerate(visits)}
    if "day" in obs.columns:
        day = obs.groupby("visit", sort=False)["day"].median()
    else:
        day = pd.Series(np.nan, index=visits)
    return sorted(
        visits, key=lambda v: (np.inf if pd.isna(day.get(v)) else float(day[v]), first[v])
    )


def line_keys(rows: pd.DataFrame) -> list[str]:
    """Columns that identify one line: the patient, and the side when several are present."""
    if "side" in rows.columns and rows["side"].fillna("").nunique() > 1:
        return ["patient_id", "side"]
    return ["patient_id"]


# ---------------------------------------------------------------- clinical words on figures

class Names:
    """Clinical words for the codes a figure draws: measure labels with unit symbols, visits,
    sides and ordinal grades (see :mod:`analysis.report.labels`). Every word it returns has
    passed :func:`analysis.report.escape.matplotlib_text` (data are drawn as written, never as
    mathtext); :meth:`raw_visit` is the unescaped visit label, for wrapping before escaping.

    Parameters
    ----------
    codebook : Codebook, optional
        Where labels, units and levels come from (default: the built-in codebook).
    labels : callable, optional
        Visit code -> words (default: :func:`analysis.report.labels.visit_labels` of the
        codebook), e.g. ``ReportContext.labels``.

    Examples
    --------
    >>> names = Names()
    >>> names.axis("gait_speed"), names.visit("post_m6"), names.axis("emg_soleus_rms", "L")
    ('Gait speed, 10-metre walk test, comfortable pace (m/s)', '6 months after implantation', \
'Surface EMG, soleus, root mean square amplitude, left (µV)')
    """

    def __init__(self, codebook: Any = None, labels: Callable[[str], str] | None = None) -> None:
        if codebook is None:
            from analysis.data.codebook import load_codebook

            codebook = load_codebook()
        self.codebook = codebook
        self.raw_visit = labels if labels is not None else visit_labels(codebook)

    def visit(self, visit: str) -> str:
        """A visit in clinical words, as figure text."""
        return matplotlib_text(self.raw_visit(visit))

    def info(self, measure: str) -> Any:
        """The codebook entry of ``measure`` or None."""
        return self.codebook.measure(measure) if measure in self.codebook else None

    def name(self, measure: str, side: str | None = None) -> str:
        """The codebook label of a measure (and side), without unit."""
        return matplotlib_text(measure_label(self.codebook, measure, side or ""))

    def unit(self, measure: str) -> str:
        """The unit symbol of a measure ("µV", "°"), or ""."""
        return matplotlib_text(unit_symbol(getattr(self.info(measure), "unit", None)))

    def axis(self, measure: str, side: str | None = None, *, prefix: str = "",
             unit: str | None = None) -> str:
        """Axis label: the codebook label (and side) with the unit symbol in brackets.

        ``prefix`` ("Change in ") lower-cases the first letter of the label after it (unless
        it starts with an abbreviation); ``unit`` replaces the codebook unit.
        """
        text = self.name(measure, side)
        if prefix:
            text = prefix + (text[:1].lower() + text[1:] if not text[:2].isupper() else text)
        symbol = self.unit(measure) if unit is None else matplotlib_text(unit)
        return f"{text} ({symbol})" if symbol else text

    def term(self, term: str) -> str:
        """A contrast ``later - earlier`` in words."""
        later, sep, earlier = str(term).partition(" - ")
        return f"{self.visit(later)} against {self.visit(earlier)}" if sep else self.visit(later)

    def ticks(self, visits: Sequence[str], width: int = 14) -> list[str]:
        """Visit labels wrapped to ``width`` characters per line, for tick labels."""
        from analysis.report.plotting.time_axis import TICK_CHARS

        return [matplotlib_text(textwrap.fill(textwrap.shorten(self.raw_visit(v), TICK_CHARS,
                                                               placeholder="…"), width))
                for v in visits]

    def levels(self, measure: str) -> tuple[tuple[float, ...], tuple[str, ...]] | None:
        """``(codes, levels)`` of an ordinal measure (MAS: 0, 1, 1.5, ... -> 0, 1, 1+, ...)."""
        info = self.info(measure)
        if info is None or not getattr(info, "levels", None):
            return None
        return tuple(float(c) for c in info.codes), tuple(matplotlib_text(x) for x in info.levels)

    def grade_axis(self, ax: Any, measure: str, axis: str = "y") -> None:
        """Ticks of an ordinal measure at its codes, labelled with its grades ("1+")."""
        found = self.levels(measure)
        if found is None:
            return
        codes, levels = found
        lo, hi = (ax.get_ylim() if axis == "y" else ax.get_xlim())
        keep = [(c, lev) for c, lev in zip(codes, levels, strict=False) if lo - 1e-9 <= c <= hi + 1e-9]
        if not keep:
            return
        setter = ax.set_yticks if axis == "y" else ax.set_xticks
        setter([c for c, _ in keep], [lev for _, lev in keep])


def visit_ticks(ax: Any, names: Names, visits: Sequence[str],
                under: Sequence[str] | None = None) -> None:
    """Categorical x axis of visits in clinical words (slanted when there are many; call
    :func:`analysis.report.plotting.time_axis.thin_labels` once the figure is complete, so
    that no two labels overlap). ``under``: a line under each label, such as its count."""
    many = len(visits) > 4
    labels = names.ticks(visits, 20 if many else 16)
    if under is not None:  # a line under each label, e.g. "(n = 12)"
        labels = [f"{t}\n{u}" for t, u in zip(labels, under, strict=True)]
    ax.set_xticks(range(len(visits)), labels,
                  rotation=40 if many else 0, ha="right" if many else "center",
                  rotation_mode="anchor" if many else "default", fontsize=6 if many else None)
    ax.set_xlim(-0.4, len(visits) - 0.6)


def emmean_rows(results: pd.DataFrame, *, measure: str, side: str | None) -> pd.DataFrame:
    """The ``lmm_emmean`` rows of one measure (and side) of a results table, or an error
    saying how to get them."""
    require_columns(results, ["measure", "analysis", "term", "estimate", "ci_low", "ci_high"],
                    "results table")
    em = results[(results["analysis"] == "lmm_emmean") & (results["measure"] == measure)]
    if side is not None and "side" in em.columns:
        em = em[em["side"].fillna("") == side]
    if em.empty:
        raise InvalidInputError(
            f"no lmm_emmean rows of measure {measure!r}"
            f"{'' if side is None else f' side {side!r}'} in the results; fit the mixed "
            "model first or call without emmeans"
        )
    return em
