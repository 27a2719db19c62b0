"""The hand-written data contract (analysis.data.schema) against the same contract written as a
pandera schema (the reference; pandera is a test dependency only): same verdict, same failing
columns, on the validated example data and on seeded random corruptions of it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from analysis.data.codebook import load_codebook
from analysis.data.schema import (
    KEY,
    ContractError,
    check_observations,
    contract_failures,
)
from analysis.data.validate import validate_path
from analysis.paths import EXAMPLES
from analysis.vocabulary import PHASES, SIDES

_text = pa.Check.str_length(min_value=1)
REFERENCE = pa.DataFrameSchema(
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


def _reference_columns(frame: pd.DataFrame) -> set[str] | None:
    """Columns pandera names as failing (None when the frame passes)."""
    try:
        REFERENCE.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        names = set()
        for column, check, case in zip(cases["column"], cases["check"], cases["failure_case"], strict=False):
            if check == "multiple_fields_uniqueness":
                names.add(",".join(KEY))
            elif check == "column_in_dataframe":
                names.add(str(case))  # the missing column
            else:
                names.add(str(column))
        return names
    return None


def _ours(frame: pd.DataFrame) -> set[str] | None:
    failures = contract_failures(frame)
    return set(failures["column"]) if len(failures) else None


@pytest.fixture(scope="module")
def valid() -> pd.DataFrame:
    report = validate_path(EXAMPLES / "case_series", codebook=load_codebook())
    return report.observations


def test_valid_example_passes_both(valid):
    assert _reference_columns(valid) is None
    assert _ours(valid) is None
    assert check_observations(valid) is valid


def _corrupt(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    out = frame.sample(n=40, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
    kind = rng.integers(9)
    i = int(rng.integers(len(out)))
    if kind == 0:
        out.loc[i, "value"] = rng.choice([np.inf, -np.inf, np.nan])
    elif kind == 1:
        out.loc[i, "phase"] = rng.choice(["pump", "Baseline", ""])
    elif kind == 2:
        out.loc[i, "side"] = rng.choice(["left", "B", "x"])
    elif kind == 3:
        out.loc[i, "dose_ug_day"] = -float(rng.integers(1, 50))
    elif kind == 4:
        out.loc[i, rng.choice(["patient_id", "visit", "measure"])] = ""
    elif kind == 5:
        out = pd.concat([out, out.iloc[[i]]], ignore_index=True)  # a duplicated key
    elif kind == 6:
        out = out.drop(columns=rng.choice(["unit", "day", "value", "side"]))
    elif kind == 7:
        out["day"] = out["day"].astype("str")  # wrong dtype
    # kind 8: unchanged (must pass)
    return out


def test_random_corruptions_same_verdict_and_columns(valid):
    rng = np.random.default_rng(16)
    failed = 0
    for _ in range(120):
        frame = _corrupt(valid, rng)
        expected, got = _reference_columns(frame), _ours(frame)
        assert (expected is None) == (got is None), frame
        if expected is not None:
            failed += 1
            assert expected == got, (expected, got)
    assert failed > 80  # most corruptions break the contract


def test_check_raises_with_every_failure(valid):
    frame = valid.head(5).copy()
    frame.loc[0, "value"] = np.nan
    frame.loc[1, "phase"] = "pump"
    with pytest.raises(ContractError) as err:
        check_observations(frame)
    cases = err.value.failure_cases
    assert set(cases["column"]) == {"value", "phase"}
    assert cases.loc[cases["column"] == "phase", "failure_case"].tolist() == ["pump"]
