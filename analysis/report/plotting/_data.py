"""Small data helpers shared by the figure modules (selection, visit order, labels)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis.errors import InvalidInputError


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


def axis_label(rows: pd.DataFrame, measure: str, prefix: str = "") -> str:
    """Axis label "prefix measure (unit)" using the ``unit`` column when there is one."""
    label = f"{prefix}{measure}"
    if "unit" in rows.columns:
        units = [u for u in pd.unique(rows["unit"].fillna("")) if u]
        if len(units) == 1:
            label += f" ({units[0]})"
    return label


def side_suffix(side: str | None) -> str:
    """" (L)" for a side, "" otherwise."""
    return f" ({side})" if side else ""
