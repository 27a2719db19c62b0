"""Decimals of a measure: by its unit (:data:`UNIT_DIGITS`, :func:`digits_for`) or from its
data (:func:`decimals_from_data`)."""

from __future__ import annotations

import math
from typing import Any


def _is_missing(x: Any) -> bool:
    from analysis.report.formatting import is_missing  # formatting re-exports this module

    return is_missing(x)


__all__ = ["UNIT_DIGITS", "digits_for", "decimals_of_step", "decimals_from_data"]


#: Default decimals by codebook unit (resolution of the instrument, plus one where usual).
UNIT_DIGITS: dict[str, int] = {
    "m/s": 2,
    "s": 1,
    "m": 0,
    "deg": 1,
    "grade": 1,
    "points": 1,
    "uV": 1,
    "%": 1,
    "ug/day": 0,
}


def digits_for(measure_unit: Any, *, default: int = 2) -> int:
    """Default number of decimals for a measure, from its unit.

    Parameters
    ----------
    measure_unit : str or object with a ``unit`` attribute (a codebook ``Measure``)
        The unit, e.g. ``"m/s"``; unknown units give ``default`` (or 0 for an ``integer``
        measure); a ``resolution`` attribute, when present, wins.
    default : int, default 2

    Examples
    --------
    >>> digits_for("m/s"), digits_for("s"), digits_for("m"), digits_for("furlong")
    (2, 1, 0, 2)

    A codebook entry with a ``resolution`` (the instrument's step) gives the decimals of that
    step; an ``integer`` measure of an unknown unit prints without decimals.
    """
    resolution = getattr(measure_unit, "resolution", None)
    if resolution is not None and not _is_missing(resolution) and float(resolution) > 0:
        return decimals_of_step(float(resolution))
    unit = getattr(measure_unit, "unit", measure_unit)
    if isinstance(unit, str) and unit.strip() in UNIT_DIGITS:
        return UNIT_DIGITS[unit.strip()]
    if getattr(measure_unit, "integer", False) is True:
        return 0
    return default


def decimals_of_step(step: float) -> int:
    """Decimals needed to print multiples of a measurement step (0.1 -> 1, 0.05 -> 2, 5 -> 0).

    Examples
    --------
    >>> decimals_of_step(0.1), decimals_of_step(0.05), decimals_of_step(5.0)
    (1, 2, 0)
    """
    for dg in range(0, 7):
        if math.isclose(round(step, dg), step, rel_tol=1e-9, abs_tol=1e-12):
            return dg
    return 6


def decimals_from_data(values: Any, *, default: int = 2, cap: int = 3) -> int:
    """Decimals recorded in the data: the smallest that prints every value exactly (at most
    ``cap``); ``default`` when there are no values.

    For measures whose unit gives no precision (:func:`digits_for`), the resolution the data
    were recorded with is the honest precision of their summaries.

    Examples
    --------
    >>> decimals_from_data([12.5, 13.0, 14.25]), decimals_from_data([276, 301]), decimals_from_data([])
    (2, 0, 2)
    """
    vals = [float(v) for v in values if not _is_missing(v) and math.isfinite(float(v))]
    if not vals:
        return default
    return max(min(decimals_of_step(abs(v) % 1 or 1.0), cap) for v in vals)
