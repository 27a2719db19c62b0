"""The pandera schema of validated tidy observations (data contracts).

:mod:`analysis.data.validate` checks every row with messages for people; this schema is the last,
machine check that the frame it hands on has the contracted columns and dtypes. Extra columns
are allowed (they are passed through).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.vocabulary import PHASES, SIDES

_text = pa.Check.str_length(min_value=1)

OBSERVATIONS = pa.DataFrameSchema(
    {
        "patient_id": pa.Column(str, _text),
        "visit": pa.Column(str, _text),
        "measure": pa.Column(str, _text),
        "value": pa.Column("float64", pa.Check(lambda s: np.isfinite(s), element_wise=False)),
        "phase": pa.Column(str, pa.Check.isin(PHASES)),
        "day": pa.Column("float64", nullable=True),
        "dose_ug_day": pa.Column("float64", pa.Check.ge(0), nullable=True),
        "side": pa.Column(str, pa.Check.isin(SIDES)),
        "unit": pa.Column(str),
    },
    strict=False,
    ordered=False,
    unique=["patient_id", "visit", "measure", "side"],
    name="tidy observations",
)


def check_observations(frame: pd.DataFrame) -> pd.DataFrame:
    """Validate a tidy observations frame against :data:`OBSERVATIONS` (all failures at once).

    Raises ``pandera.errors.SchemaErrors`` on failure; :mod:`analysis.data.validate` turns them into
    problems.

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": ["P01"], "visit": ["baseline"], "measure": ["tug"],
    ...     "value": [12.0], "phase": ["baseline"], "day": [-3.0], "dose_ug_day": [0.0],
    ...     "side": [""], "unit": ["s"]})
    >>> len(check_observations(obs))
    1
    """
    return OBSERVATIONS.validate(frame, lazy=True)
