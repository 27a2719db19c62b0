"""The data contract of validated tidy observations: the last, machine check of the frame that
:mod:`analysis.data.validate` hands on.

:mod:`analysis.data.validate` checks every row with messages for people; this check only makes
sure that the frame it hands on has the contracted columns, dtypes and values. Extra columns are
allowed (they are passed through). A failure here is a bug in the rules, not a data problem.

Written by hand rather than as a pandera schema: importing pandera (with pydantic and typeguard)
took 0.17-0.3 s, a third of the start-up of ``itb validate`` (issue 16 asks for under 0.5 s),
while the checks are a few vectorised pandas expressions. The same contract written as a pandera
schema is the reference in ``tests/test_schema.py``, which requires both to give the same verdict
and name the same failing columns on valid and broken frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.vocabulary import PHASES, SIDES

__all__ = ["CONTRACT", "KEY", "ContractError", "check_observations", "contract_failures"]

#: Column -> (dtype, nullable, value rule). Text columns hold the pandas ``str`` dtype.
CONTRACT: dict[str, tuple[str, bool, str | None]] = {
    "patient_id": ("str", False, "not empty"),
    "visit": ("str", False, "not empty"),
    "measure": ("str", False, "not empty"),
    "value": ("float64", False, "finite"),
    "phase": ("str", False, "one of the phases"),
    "day": ("float64", True, None),
    "dose_ug_day": ("float64", True, ">= 0"),
    "side": ("str", False, "one of the sides"),
    "unit": ("str", False, None),
}
#: Columns whose values identify one observation (no two rows share them).
KEY = ["patient_id", "visit", "measure", "side"]

_FAILURE_COLUMNS = ["column", "check", "index", "failure_case"]


class ContractError(ValueError):
    """The frame breaks the contract; ``failure_cases`` lists every failure (columns
    ``column, check, index, failure_case``)."""

    def __init__(self, failure_cases: pd.DataFrame):
        self.failure_cases = failure_cases
        super().__init__(f"{len(failure_cases)} contract failure(s): "
                         f"{failure_cases.head().to_dict('records')}")


def _is_text(series: pd.Series) -> bool:
    return isinstance(series.dtype, pd.StringDtype) or (
        series.dtype == object and bool(series.map(lambda v: isinstance(v, str) or v is None
                                                   or v is np.nan).all()))


def contract_failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Every failure of ``frame`` against :data:`CONTRACT` and :data:`KEY` (empty when none).

    Returns
    -------
    pandas.DataFrame
        Columns ``column`` (the column, or the key columns joined by ``,``), ``check`` (the
        rule broken), ``index`` (the row label, or None for a column-level failure) and
        ``failure_case`` (the offending value or dtype).

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": ["P01"], "visit": ["baseline"], "measure": ["tug"],
    ...     "value": [np.inf], "phase": ["baseline"], "day": [-3.0], "dose_ug_day": [0.0],
    ...     "side": [""], "unit": ["s"]})
    >>> contract_failures(obs)[["column", "check"]].to_dict("records")
    [{'column': 'value', 'check': 'finite'}]
    """
    out: list[tuple] = []
    for column, (dtype, nullable, rule) in CONTRACT.items():
        if column not in frame.columns:
            out.append((column, "column present", None, column))
            continue
        series = frame[column]
        if dtype == "str" and not _is_text(series) or dtype != "str" and series.dtype != dtype:
            out.append((column, f"dtype {dtype}", None, str(series.dtype)))
            continue
        missing = series.isna()
        if not nullable:
            out += [(column, "not null", i, None) for i in series.index[missing]]
        present = series[~missing]
        if rule == "not empty":
            bad = present.str.len() < 1
        elif rule == "finite":
            bad = ~np.isfinite(present.to_numpy(dtype=float))
        elif rule == ">= 0":
            bad = present < 0
        elif rule == "one of the phases":
            bad = ~present.isin(PHASES)
        elif rule == "one of the sides":
            bad = ~present.isin(SIDES)
        else:
            continue
        bad = np.asarray(bad, dtype=bool)
        out += [(column, rule, i, v) for i, v in zip(present.index[bad], present[bad], strict=False)]
    if all(c in frame.columns for c in KEY):
        dup = frame.duplicated(KEY, keep=False)
        out += [(",".join(KEY), "unique", i, None) for i in frame.index[dup]]
    return pd.DataFrame(out, columns=_FAILURE_COLUMNS)


def check_observations(frame: pd.DataFrame) -> pd.DataFrame:
    """Check a tidy observations frame against the contract (all failures at once).

    Returns the frame unchanged; raises :class:`ContractError` on any failure
    (:mod:`analysis.data.validate` turns it into a problem).

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": ["P01"], "visit": ["baseline"], "measure": ["tug"],
    ...     "value": [12.0], "phase": ["baseline"], "day": [-3.0], "dose_ug_day": [0.0],
    ...     "side": [""], "unit": ["s"]})
    >>> len(check_observations(obs))
    1
    """
    failures = contract_failures(frame)
    if len(failures):
        raise ContractError(failures)
    return frame
