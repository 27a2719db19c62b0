"""Tests of analysis.data.derive against small frames computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data.derive import baseline_values, change_table
from analysis.errors import CodebookError, DataValidationError

BETTER = {"tug": "lower", "gait_speed": "higher", "mas_knee_ext": "lower",
          "knee_flex_lr": "towards_normal", "emg_soleus_rms": "context"}


def frame(rows):
    cols = ["patient_id", "visit", "phase", "day", "measure", "side", "value"]
    return pd.DataFrame(rows, columns=cols).astype({"day": "float64", "value": "float64"})


@pytest.fixture
def obs():
    # Rows deliberately not in time order; P02 has no tug baseline; bl_d3 of P01 is missing.
    return frame([
        ("P01", "bl_d2", "baseline", -2, "tug", "", 14.0),
        ("P01", "post_m6", "post_implant", 180, "tug", "", 10.0),
        ("P01", "bl_d1", "baseline", -3, "tug", "", 16.0),
        ("P01", "bl_d3", "baseline", -1, "tug", "", np.nan),
        ("P01", "ti_d1", "test_infusion", 1, "tug", "", 12.0),
        ("P01", "bl_d2", "baseline", -2, "mas_knee_ext", "L", 2.0),
        ("P01", "bl_d2", "baseline", -2, "mas_knee_ext", "R", 1.5),
        ("P01", "ti_d1", "test_infusion", 1, "mas_knee_ext", "L", 1.0),
        ("P01", "ti_d1", "test_infusion", 1, "mas_knee_ext", "R", 1.0),
        ("P02", "ti_d1", "test_infusion", 1, "tug", "", 20.0),
        ("P02", "bl_d1", "baseline", -3, "gait_speed", "", 0.50),
        ("P02", "post_m6", "post_implant", 180, "gait_speed", "", 0.80),
    ])


def test_last_baseline_is_latest_day_not_last_row(obs):
    base = baseline_values(obs)
    tug = base[(base.patient_id == "P01") & (base.measure == "tug")].iloc[0]
    # bl_d3 (day -1) is missing, so the last observed is bl_d2 (day -2) = 14, not bl_d1 (row
    # after it in the file) = 16.
    assert tug["baseline"] == 14.0
    assert tug["baseline_visit"] == "bl_d2"
    assert tug["n_baseline"] == 2


def test_mean_baseline(obs):
    base = baseline_values(obs, rule="mean")
    tug = base[(base.patient_id == "P01") & (base.measure == "tug")].iloc[0]
    assert tug["baseline"] == pytest.approx((14.0 + 16.0) / 2)
    assert tug["baseline_visit"] == "bl_d1+bl_d2"


def test_ties_in_day_follow_first_appearance():
    obs = frame([
        ("P01", "bl_b", "baseline", -1, "tug", "", 11.0),
        ("P01", "bl_a", "baseline", -1, "tug", "", 12.0),
        ("P01", "bl_b", "baseline", -1, "gait_speed", "", 0.7),
    ])
    base = baseline_values(obs).set_index("measure")
    assert base.loc["tug", "baseline"] == 12.0  # bl_a appears after bl_b: later in visit order


def test_baseline_per_side_and_sorted(obs):
    base = baseline_values(obs)
    assert list(base.columns) == ["patient_id", "measure", "side", "baseline",
                                  "baseline_visit", "n_baseline"]
    mas = base[base.measure == "mas_knee_ext"].set_index("side")["baseline"]
    assert mas.to_dict() == {"L": 2.0, "R": 1.5}
    assert base[["patient_id", "measure", "side"]].apply(tuple, axis=1).is_monotonic_increasing


def test_change_table_hand_values(obs):
    t = change_table(obs, better=BETTER)
    got = {(r.patient_id, r.visit, r.measure, r.side): r for r in t.itertuples()}
    # P02 has no tug baseline -> absent; baseline rows are not in the table.
    assert ("P02", "ti_d1", "tug", "") not in got
    assert set(t["phase"]) == {"test_infusion", "post_implant"}
    r = got[("P01", "post_m6", "tug", "")]
    assert (r.baseline, r.change, r.improvement) == (14.0, -4.0, 4.0)
    assert r.pct_change == pytest.approx(-400 / 14)
    r = got[("P01", "ti_d1", "mas_knee_ext", "R")]
    assert (r.baseline, r.change, r.improvement) == (1.5, -0.5, 0.5)
    r = got[("P02", "post_m6", "gait_speed", "")]
    assert r.change == pytest.approx(0.30)
    assert r.improvement == pytest.approx(0.30)
    assert r.pct_change == pytest.approx(60.0)
    assert r.improvement_note == ""
    assert len(t) == 5


def test_change_table_keeps_input_order_and_columns(obs):
    obs = obs.assign(dose_ug_day=np.arange(len(obs), dtype=float), extra="x")
    t = change_table(obs, better=BETTER)
    expected = obs[(obs.phase != "baseline") & ~((obs.patient_id == "P02")
                                                & (obs.measure == "tug"))]
    assert t["dose_ug_day"].tolist() == expected["dose_ug_day"].tolist()
    assert (t["extra"] == "x").all()
    for col in ("baseline", "change", "pct_change", "improvement"):
        assert t[col].dtype == "float64"


def test_change_table_mean_rule(obs):
    t = change_table(obs, better=BETTER, rule="mean")
    r = t[(t.patient_id == "P01") & (t.visit == "post_m6")].iloc[0]
    assert r["baseline"] == 15.0 and r["change"] == -5.0


def test_towards_normal_and_zero_baseline_notes():
    obs = frame([
        ("P01", "baseline", "baseline", -7, "knee_flex_lr", "L", 5.0),
        ("P01", "post_m6", "post_implant", 180, "knee_flex_lr", "L", 15.0),
        ("P01", "baseline", "baseline", -7, "mas_knee_ext", "L", 0.0),
        ("P01", "post_m6", "post_implant", 180, "mas_knee_ext", "L", 1.0),
    ])
    t = change_table(obs, better=lambda k: BETTER[k]).set_index("measure")
    assert t.loc["knee_flex_lr", "improvement"] == 10.0
    assert "towards_normal" in t.loc["knee_flex_lr", "improvement_note"]
    assert np.isnan(t.loc["mas_knee_ext", "pct_change"])
    assert t.loc["mas_knee_ext", "improvement"] == -1.0
    assert t.loc["mas_knee_ext", "improvement_note"] == "pct_change undefined: baseline is 0"


def test_missing_side_column_and_nan_side():
    obs = frame([
        ("P01", "baseline", "baseline", -7, "tug", None, 10.0),
        ("P01", "post_m6", "post_implant", 180, "tug", "", 8.0),
    ])
    assert change_table(obs, better=BETTER)["change"].tolist() == [-2.0]
    t = change_table(obs.drop(columns=["side"]), better=BETTER)
    assert t["side"].tolist() == [""]


def test_errors(obs):
    with pytest.raises(CodebookError, match="tug"):
        change_table(obs, better={"gait_speed": "higher", "mas_knee_ext": "lower"})
    with pytest.raises(CodebookError, match="sideways"):
        change_table(obs, better=lambda k: "sideways")
    with pytest.raises(DataValidationError, match="phase"):
        baseline_values(obs.drop(columns=["phase"]))
    with pytest.raises(ValueError, match="median"):
        baseline_values(obs, rule="median")


def test_no_baseline_rows_gives_empty_tables(obs):
    post = obs[obs.phase != "baseline"]
    assert baseline_values(post).empty
    assert change_table(post, better=BETTER).empty


def test_with_codebook_object(obs):
    from analysis.data import codebook

    cb = codebook.load_codebook()
    a = change_table(obs, better=cb)
    b = change_table(obs, better=lambda k: cb.measure(k).better)
    pd.testing.assert_frame_equal(a, b)
    assert a["improvement"].tolist() == change_table(obs, better=BETTER)["improvement"].tolist()


def test_changes_are_against_the_reference_visit_they_are_labelled_with():
    """A declared reference visit outside the baseline phase is the baseline itself, and one
    inside it takes no later baseline day: the term `visit - reference` is then true."""
    obs = pd.DataFrame({
        "patient_id": ["P01"] * 4 + ["P02"] * 4,
        "visit": ["bl_d1", "bl_d2", "ti_d2", "post_m6"] * 2,
        "phase": ["baseline", "baseline", "test_infusion", "post_implant"] * 2,
        "day": [-2.0, -1.0, 2.0, 180.0] * 2, "measure": "tug", "side": "",
        "value": [20.0, 18.0, 15.0, 12.0, 30.0, 29.0, 26.0, 20.0]})
    wide = obs.pivot(index="patient_id", columns="visit", values="value")
    for reference in ("ti_d2", "bl_d1", "bl_d2"):
        t = change_table(obs, better={"tug": "lower"}, reference=reference)
        assert reference not in set(t["visit"])
        got = t[t["visit"] == "post_m6"].set_index("patient_id")["change"]
        expected = wide["post_m6"] - wide[reference]
        pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)
