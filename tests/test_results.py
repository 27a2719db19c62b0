"""Tests of analysis/results.py: result_frame from row mappings and from a DataFrame of rows.

Reference: the definition of the contract (numbers float64 with NaN for None/NA, text with
"" for None/NA/NaN, unknown columns refused), checked element by element.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.results import COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS, result_frame

ROWS = [
    {"measure": "tug", "analysis": "paired_t", "term": "post_m6 - baseline", "estimate": -2.5,
     "df": np.int64(11), "p_value": np.float64(0.01), "note": None},
    {"measure": "gait_speed", "side": np.nan, "analysis": "change", "estimate": None,
     "n_obs": pd.NA, "patient_id": 7, "method": pd.NA},
    {"measure": "mas_knee_ext", "side": "L", "analysis": "nap", "term": "B vs A",
     "estimate": True, "ci_low": "0.25"},
]


def _expected(rows):
    def number(v):
        return np.nan if v is None or v is pd.NA else float(v)

    def text(v):
        return "" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v)

    return {c: [number(r.get(c)) if c in NUMERIC_COLUMNS else text(r.get(c)) for r in rows]
            for c in COLUMNS}


@pytest.mark.parametrize("as_frame", [False, True])
def test_result_frame_fills_and_converts_each_cell(as_frame):
    rows = pd.DataFrame(ROWS) if as_frame else ROWS
    t = result_frame(rows)
    assert list(t.columns) == list(COLUMNS)
    # a DataFrame of rows is read as its records (the frame's own dtypes apply: 7 -> 7.0)
    expected = _expected(rows.to_dict("records") if as_frame else ROWS)
    for c in NUMERIC_COLUMNS:
        assert t[c].dtype == np.float64
        np.testing.assert_array_equal(t[c].to_numpy(), np.array(expected[c]))
    for c in TEXT_COLUMNS:
        assert t[c].tolist() == expected[c], c


def test_frame_and_records_give_the_same_table():
    frame = pd.DataFrame({"measure": pd.array(["tug", None], dtype="string"),
                          "analysis": ["change", "rci"], "estimate": [1.0, np.nan],
                          "n_obs": pd.array([2, None], dtype="Int64"), "note": ["a", None]})
    from_frame = result_frame(frame)
    from_records = result_frame([{"measure": "tug", "analysis": "change", "estimate": 1.0,
                                  "n_obs": 2, "note": "a"},
                                 {"analysis": "rci", "estimate": None}])
    pd.testing.assert_frame_equal(from_frame, from_records)


def test_unknown_columns_are_refused_in_both_forms():
    with pytest.raises(KeyError, match="estimat"):
        result_frame([{"measure": "tug"}, {"estimat": 1.0}])
    with pytest.raises(KeyError, match="estimat"):
        result_frame(pd.DataFrame({"estimat": [1.0]}))


def test_empty_input_and_bad_numbers():
    assert list(result_frame([]).columns) == list(COLUMNS) and len(result_frame([])) == 0
    assert len(result_frame(pd.DataFrame(columns=["measure", "estimate"]))) == 0
    with pytest.raises(ValueError):
        result_frame([{"estimate": "not a number"}])
    # arrays are not numbers (float() refuses them), even when numpy could stack them
    with pytest.raises(TypeError):
        result_frame([{"estimate": np.array([1.5])}, {"estimate": np.array([2.5])}])


def _sorted_by_pandas(table: pd.DataFrame) -> pd.DataFrame:
    """The order combine() promises, by pandas' multi-column stable sort (the reference)."""
    from analysis.results import ANALYSES

    table = table.copy()
    table["_order"] = np.arange(len(table))
    rank = {name: i for i, name in enumerate(ANALYSES)}
    table["_rank"] = table["analysis"].map(rank).fillna(len(rank))
    table = table.sort_values(["measure", "side", "patient_id", "_rank", "_order"],
                              kind="mergesort")
    return table.drop(columns=["_order", "_rank"]).reset_index(drop=True)


def test_order_rows_matches_a_stable_multi_column_sort():
    from analysis.results import order_rows

    rng = np.random.default_rng(7)
    n = 3000
    names = ["gait_speed", "tug", "Ätna", "émg", "b", "B", "z_9", ""]
    table = result_frame(pd.DataFrame({
        "measure": rng.choice(names, n), "side": rng.choice(["", "L", "R"], n),
        "patient_id": rng.choice([f"P{i:03d}" for i in range(40)] + [""], n),
        "analysis": rng.choice(["change", "rci", "paired_t", "not_an_analysis", "descriptive"],
                               n),
        "term": [f"t{i}" for i in range(n)], "estimate": rng.normal(size=n)}))
    expected = _sorted_by_pandas(table)
    order_rows(table)
    pd.testing.assert_frame_equal(table, expected, check_exact=True)


def test_duplicate_keys_are_found_like_pandas_duplicated():
    from analysis.results import KEY_COLUMNS, _duplicated, _sorted_codes, combine

    rng = np.random.default_rng(3)
    table = result_frame(pd.DataFrame({
        "measure": rng.choice(["a", "b"], 400), "side": rng.choice(["", "L"], 400),
        "patient_id": rng.choice(["P1", "P2", "P3"], 400),
        "analysis": rng.choice(["change", "rci"], 400),
        "term": rng.choice([f"t{i}" for i in range(30)], 400)}))
    expected = table.duplicated(KEY_COLUMNS, keep=False).to_numpy()
    assert expected.any()
    got = _duplicated([_sorted_codes(table[c]) for c in KEY_COLUMNS])
    assert (got == expected).all()
    # codes too large for one integer key take the row-wise path
    big = [np.array([0, 2**40, 0, 5]), np.array([2**40, 1, 2**40, 1]), np.array([9, 9, 9, 9])]
    assert _duplicated(big).tolist() == [True, False, True, False]
    with pytest.raises(ValueError, match="duplicate result keys"):
        combine([table])
