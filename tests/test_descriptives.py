"""Descriptives, missing-data table and baseline characteristics against closed forms,
R's documented quantile(type = 7) values and an independent library (pandas / statistics)."""

import statistics

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InvalidInputError
from analysis.results import COLUMNS
from analysis.stats.descriptives import (
    baseline_characteristics,
    describe,
    describe_wide,
    missing_table,
    missing_wide,
    visit_order,
)


def obs_frame():
    rows = []
    # tug: 4 patients at baseline (1, 2, 3, 4), 3 at post_m6; post_m6 listed first
    for pid, v in zip(["P1", "P2", "P3"], [0.5, 1.5, 2.0], strict=False):
        rows.append((pid, "post_m6", 180.0, "tug", "", v))
    for pid, v in zip(["P1", "P2", "P3", "P4"], [1.0, 2.0, 3.0, 4.0], strict=False):
        rows.append((pid, "baseline", -7.0, "tug", "", v))
    # MAS left and right, baseline only for P1, P2; P3 only right at ti_d1
    for pid, side, v in [("P1", "L", 2), ("P1", "R", 1.5), ("P2", "L", 3), ("P2", "R", 3)]:
        rows.append((pid, "baseline", -7.0, "mas_knee_ext", side, v))
    rows.append(("P3", "ti_d1", 1.0, "mas_knee_ext", "R", 1.0))
    return pd.DataFrame(rows, columns=["patient_id", "visit", "day", "measure", "side", "value"])


def test_visit_order_by_day():
    assert visit_order(obs_frame()) == ["baseline", "ti_d1", "post_m6"]


def test_describe_wide_closed_form():
    w = describe_wide(obs_frame())
    tug = w[(w["measure"] == "tug")]
    assert tug["visit"].tolist() == ["baseline", "post_m6"]
    b = tug.iloc[0]
    # R: quantile(c(1, 2, 3, 4)) -> 25% 1.75, 50% 2.5, 75% 3.25 (type 7)
    assert (b["q1"], b["median"], b["q3"]) == (1.75, 2.5, 3.25)
    assert b["mean"] == 2.5 and b["sd"] == pytest.approx(statistics.stdev([1, 2, 3, 4]))
    assert (b["min"], b["max"], b["n"], b["n_patients"]) == (1.0, 4.0, 4, 4)
    # cross-check every row against pandas' describe (same quantile rule, ddof = 1)
    o = obs_frame()
    for _, r in w.iterrows():
        d = o[(o.measure == r.measure) & (o.side == r.side) & (o.visit == r.visit)]["value"]
        ref = d.describe()
        assert r["mean"] == pytest.approx(ref["mean"])
        assert r["q1"] == pytest.approx(ref["25%"]) and r["q3"] == pytest.approx(ref["75%"])
        if len(d) > 1:
            assert r["sd"] == pytest.approx(ref["std"])
        else:
            assert np.isnan(r["sd"])


def test_describe_rows():
    t = describe(obs_frame())
    assert list(t.columns) == list(COLUMNS)
    assert (t["analysis"] == "descriptive").all()
    tug = t[t["measure"] == "tug"]
    assert tug["term"].tolist()[:8] == [f"{s}: baseline" for s in
                                       ["n", "mean", "sd", "median", "q1", "q3", "min", "max"]]
    row = tug[tug["term"] == "median: post_m6"].iloc[0]
    assert row["estimate"] == 1.5 and row["n_patients"] == 3 and row["n_obs"] == 3
    one = t[(t["measure"] == "mas_knee_ext") & (t["term"] == "sd: ti_d1")].iloc[0]
    assert np.isnan(one["estimate"]) and "SD undefined" in one["note"]


def test_missing_table():
    w = missing_wide(obs_frame())
    tug = w[w["measure"] == "tug"].set_index("visit")
    assert tug.loc["post_m6", "n_missing"] == 1 and tug.loc["post_m6", "n_expected"] == 4
    mas = w[w["measure"] == "mas_knee_ext"]
    # patients with any MAS observation: P1, P2, P3 (P3 only R at ti_d1)
    assert (mas["n_expected"] == 3).all()
    left = mas[mas["side"] == "L"].set_index("visit")
    assert left.loc["baseline", "n_missing"] == 1 and left.loc["ti_d1", "n_missing"] == 3
    assert mas["visit"].tolist()[:2] == ["baseline", "ti_d1"]
    t = missing_table(obs_frame(), visits=["baseline"])
    assert set(t["term"]) == {"baseline"} and (t["analysis"] == "missing").all()
    r = t[t["measure"] == "tug"].iloc[0]
    assert (r["estimate"], r["n_obs"], r["n_patients"]) == (0, 4, 4)


def test_baseline_characteristics():
    pts = pd.DataFrame({"patient_id": ["P1", "P2", "P3", "P4"], "age": [40.0, 50, 60, np.nan],
                        "sex": ["F", "M", "F", None], "genotype": ["SPG4", "SPG4", "SPG7", "SPG4"],
                        "disease_duration": [10.0, 12, 14, 16]})
    t = baseline_characteristics(pts, obs_frame(), kinds={"mas_knee_ext": "ordinal"})
    assert list(t.columns) == ["characteristic", "level", "n", "summary", "mean", "sd",
                               "median", "q1", "q3", "count", "percent"]
    age = t[t["characteristic"] == "age"].iloc[0]
    assert age["n"] == 3 and age["summary"] == "50.0 (10.0)"
    sex = t[t["characteristic"] == "sex"].set_index("level")
    assert sex.loc["F", "summary"] == "2 (67%)" and sex.loc["(missing)", "count"] == 1
    geno = t[t["characteristic"] == "genotype"]
    assert geno["level"].tolist() == ["SPG4", "SPG7"] and geno["percent"].tolist() == [75, 25]
    tug = t[t["characteristic"] == "tug"].iloc[0]
    assert tug["summary"] == "2.50 (1.29)" and tug["n"] == 4
    mas = t[t["characteristic"] == "mas_knee_ext"].set_index("level")
    assert mas.loc["L", "summary"] == "2.50 [2.25, 2.75]"
    assert baseline_characteristics(None, obs_frame())["characteristic"].tolist() == [
        "mas_knee_ext", "mas_knee_ext", "tug"]
    with pytest.raises(InvalidInputError, match="not a visit"):
        baseline_characteristics(pts, obs_frame(), baseline_visit="bl")


def test_missing_column_raises():
    with pytest.raises(InvalidInputError, match="lack column"):
        describe(obs_frame().drop(columns="value"))
