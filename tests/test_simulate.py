"""Tests of analysis.examples.simulate: determinism, shapes, ranges, and the example data on disk."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.errors import ConfigError
from analysis.examples.bundled import (
    example_files,
    observations_csv,
    simulate_case_report,
    write_example_data,
)
from analysis.examples.simulate import (
    COLUMNS,
    DEFAULT_MEASURES,
    MAS_CODES,
    simulate_series,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example"


@pytest.fixture(scope="module")
def series():
    return simulate_series(30, seed=7)


@pytest.fixture(scope="module")
def case():
    return simulate_case_report()


# --- determinism -----------------------------------------------------------------------------

def test_same_seed_same_frames_and_bytes():
    a, pa = simulate_series(12, seed=3)
    b, pb = simulate_series(12, seed=3)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(pa, pb)
    assert observations_csv(a) == observations_csv(b)
    c, _ = simulate_case_report(seed=5)
    d, _ = simulate_case_report(seed=5)
    assert observations_csv(c) == observations_csv(d)


def test_different_seed_differs():
    a, _ = simulate_series(12, seed=3)
    b, _ = simulate_series(12, seed=4)
    assert not a.equals(b)
    c, _ = simulate_case_report(seed=5)
    d, _ = simulate_case_report(seed=6)
    assert not c["value"].equals(d["value"])


def test_measure_streams_do_not_depend_on_other_measures():
    full, _ = simulate_series(10, seed=11)
    sub, _ = simulate_series(10, seed=11, measures=["tug"])
    pd.testing.assert_frame_equal(full[full.measure == "tug"].reset_index(drop=True), sub)


# --- shape and ranges ------------------------------------------------------------------------

def test_columns_and_dtypes(series):
    obs, pts = series
    assert list(obs.columns) == COLUMNS
    for col in ("day", "dose_ug_day", "value"):
        assert obs[col].dtype == "float64"
    assert set(obs["measure"]) == set(DEFAULT_MEASURES)
    assert set(obs["phase"]) == {"baseline", "test_infusion", "post_implant"}
    assert not obs.duplicated(["patient_id", "visit", "measure", "side"]).any()
    assert obs["value"].notna().all()
    assert list(pts.columns) == ["patient_id", "age", "sex", "genotype", "disease_duration"]
    assert pts["patient_id"].tolist() == [f"P{i:02d}" for i in range(1, 31)]
    assert pts["age"].between(35, 70).all()
    assert set(pts["sex"]) <= {"M", "F"}
    assert set(pts["genotype"]) <= {"SPG4", "SPG3A", "SPG7", "unknown"}
    assert (pts["disease_duration"] > 0).all()
    assert (pts["disease_duration"] <= pts["age"]).all()


def test_value_ranges(series):
    obs, _ = series
    by = dict(tuple(obs.groupby("measure")))
    mas = pd.concat([v for k, v in by.items() if k.startswith("mas_")])
    assert set(mas["value"]) <= set(MAS_CODES)
    assert 1.5 in set(mas["value"])
    mrc = pd.concat([v for k, v in by.items() if k.startswith("mrc_")])
    assert mrc["value"].between(0, 5).all() and (mrc["value"] % 1 == 0).all()
    for key in ("gait_speed", "tug", "six_mwt", "emg_soleus_rms"):
        assert (by[key]["value"] > 0).all(), key
    assert by["gait_speed"]["value"].between(0.05, 3).all()
    assert by["sprs_total"]["value"].between(0, 52).all()
    assert by["pgic"]["value"].isin(range(1, 8)).all()
    assert "baseline" not in set(by["pgic"]["phase"])
    assert set(by["knee_flex_lr"]["phase"]) == {"baseline", "post_implant"}
    sided = obs["side"] != ""
    assert set(obs.loc[sided, "side"]) == {"L", "R"}
    assert set(obs.loc[sided, "measure"].str.split("_").str[0]) == {"mas", "mrc", "knee", "emg"}


def test_against_codebook(series):
    from analysis.data import codebook

    cb = codebook.load_codebook()
    obs, _ = series
    for key, rows in obs.groupby("measure"):
        m = cb.measure(key)
        assert set(rows["unit"]) == {m.unit}, key
        assert (rows["side"] != "").all() == m.sided, key
        if m.minimum is not None:
            assert (rows["value"] >= m.minimum).all(), key
        if m.maximum is not None:
            assert (rows["value"] <= m.maximum).all(), key
        if m.codes is not None:
            assert set(rows["value"]) <= set(m.codes), key


def test_doses(series):
    obs, _ = series
    visit_dose = obs.drop_duplicates(["patient_id", "visit"]).pivot(
        index="patient_id", columns="visit", values="dose_ug_day")
    assert (visit_dose["baseline"] == 0).all()
    ti = visit_dose[["ti_d2", "ti_d4", "ti_d6"]].dropna()
    assert (ti.diff(axis=1).iloc[:, 1:] > 0).all().all()
    post = visit_dose[["post_m3", "post_m6", "post_m12"]]
    settled = post.max(axis=1)
    assert settled.between(50, 150).all()
    assert (post.nunique(axis=1) == 1).all()  # the settled dose is kept after implantation
    assert (ti["ti_d6"] < settled[ti.index]).all()


def test_missing_data_present(series):
    obs, pts = series
    n_visits, n = 7, len(pts)
    per_visit = obs.groupby("measure")["patient_id"].size()
    assert per_visit["gait_speed"] < n * n_visits
    has_lab = set(obs.loc[obs.measure == "knee_flex_lr", "patient_id"])
    assert 0 < len(has_lab) < n
    last = obs.groupby("patient_id")["day"].max()
    assert (last < 300).any()  # someone dropped out before 12 months
    none, _ = simulate_series(30, seed=7, missing_rate=0, dropout=0)
    assert len(none) > len(obs)


def test_population_matches_clinical_inputs():
    # Baseline comfortable speed in HSP 0.88 +/- 0.26 m/s (clinical.md, van de Venis) and a
    # positive mean gain after implantation; spasticity lower at the highest test dose.
    obs, _ = simulate_series(2000, seed=1, measures=["gait_speed", "mas_knee_ext"],
                             missing_rate=0, dropout=0)
    g = obs[obs.measure == "gait_speed"].pivot(index="patient_id", columns="visit",
                                               values="value")
    assert g["baseline"].mean() == pytest.approx(0.88, abs=0.03)
    assert g["baseline"].std() == pytest.approx(0.26, abs=0.03)
    gain = g["post_m6"] - g["baseline"]
    assert 0.08 < gain.mean() < 0.2
    # within-patient noise: the SD of ti_d2 - baseline differences is about sqrt(2) * SEM
    assert (g["ti_d2"] - g["baseline"]).std() == pytest.approx(np.sqrt(2) * 0.06, abs=0.02)
    mas = obs[obs.measure == "mas_knee_ext"].groupby("visit")["value"].mean()
    assert mas["ti_d6"] < mas["ti_d2"] < mas["baseline"]


def test_bad_arguments():
    with pytest.raises(ConfigError, match="mas_elbow"):
        simulate_series(3, measures=["mas_elbow"])
    with pytest.raises(ConfigError, match="dropout"):
        simulate_series(3, dropout=1.5)
    with pytest.raises(ConfigError, match="n_patients"):
        simulate_series(0)


# --- the case report -------------------------------------------------------------------------

def test_case_report_titration(case):
    obs, pts = case
    days = obs.drop_duplicates("visit")
    ti = days[days.phase == "test_infusion"]
    assert ti["dose_ug_day"].iloc[-1] == 108
    assert (ti["dose_ug_day"].iloc[-3:] == 108).all()
    assert ti["dose_ug_day"].iloc[0] <= 30
    assert (days.loc[days.phase == "baseline", "dose_ug_day"] == 0).all()
    assert (days.loc[days.phase == "post_implant", "dose_ug_day"] == 108).all()
    assert days["day"].is_monotonic_increasing
    assert (days.loc[days.phase == "baseline", "day"] < 0).all()
    assert pts.loc[0, "age"] == 49 and pts.loc[0, "sex"] == "M"
    assert "simulated" in pts.loc[0, "note"]


def _value(obs, visit, measure, side=""):
    row = obs[(obs.visit == visit) & (obs.measure == measure) & (obs.side == side)]
    assert len(row) == 1, (visit, measure, side)
    return row["value"].iloc[0]


def test_case_report_outcomes(case):
    obs, _ = case
    base = "bl_d5"  # last baseline day
    ratio = _value(obs, "post_m6", "gait_speed") / _value(obs, base, "gait_speed")
    assert 1.8 <= ratio <= 2.2
    assert _value(obs, "post_m6", "tug") < _value(obs, base, "tug") - 2.9  # beyond the MDC
    for side in "LR":
        assert 3 <= _value(obs, base, "knee_flex_lr", side) <= 7
        assert 13 <= _value(obs, "post_m6", "knee_flex_lr", side) <= 17
    assert _value(obs, "post_m6", "sprs_total") < _value(obs, base, "sprs_total")
    assert _value(obs, "post_m3", "pgic") in (1, 2) and _value(obs, "post_m6", "pgic") in (1, 2)


def test_case_report_therapeutic_window(case):
    # Window rule of the analysis plan, applied here independently: every spasticity measure
    # improves by >= 1 MAS grade (codes) and no strength measure falls by >= 1 MRC grade.
    obs, _ = case
    spas = [f"mas_{m}" for m in ("knee_ext", "hip_add", "ankle_pf")]
    strength = [f"mrc_{m}" for m in ("knee_ext", "hip_add", "ankle_pf")]
    base = obs[obs.visit == "bl_d5"].set_index(["measure", "side"])["value"]
    ti = obs[obs.phase == "test_infusion"]
    ok = {}
    for dose, rows in ti.groupby("dose_ug_day"):
        change = rows.set_index(["measure", "side"])["value"] - base
        ok[dose] = bool((change[spas] <= -1).all() and (change[strength] > -1).all())
    window = [d for d, good in ok.items() if good]
    assert 108 in window
    assert 130 not in window
    assert min(window) >= 80
    assert not ok[20] and not ok[50]


# --- example files on disk -------------------------------------------------------------------

def test_example_files_on_disk_match_code():
    for rel, text in example_files().items():
        path = EXAMPLE / rel
        assert path.exists(), f"{path} missing: run analysis.examples.bundled.write_example_data()"
        assert path.read_bytes() == text.encode("utf-8"), (
            f"{rel} differs from the simulator: rerun write_example_data()")


def test_write_example_data(tmp_path):
    paths = write_example_data(tmp_path)
    assert len(paths) == 8
    assert {p.relative_to(tmp_path).as_posix() for p in paths} == set(example_files())


def test_csv_round_trip_and_labels():
    files = example_files()
    raw = pd.read_csv(io.StringIO(files["case_series/observations.csv"]), dtype=str,
                      keep_default_na=False)
    assert list(raw.columns) == COLUMNS
    mas = raw[raw.measure.str.startswith("mas_")]
    assert "1+" in set(mas["value"]) and "1.5" not in set(mas["value"])
    mrc = raw[raw.measure.str.startswith("mrc_")]
    assert mrc["value"].str.fullmatch(r"[0-5]").all()
    obs, _ = simulate_series(20, seed=2015)
    back = raw["value"].replace("1+", "1.5").astype(float)
    assert np.allclose(back.to_numpy(), obs["value"].to_numpy(), atol=1e-9)
    assert np.allclose(raw["day"].astype(float), obs["day"])


def test_readmes_and_study_yaml():
    files = example_files()
    assert ("illustrative values, not the published patient's data; the abstract gives no "
            "per-visit numbers") in " ".join(files["case_report/README.md"].split())
    for name in ("case_report", "case_series"):
        study = yaml.safe_load(files[f"{name}/study.yaml"])
        assert study["primary_outcome"] == "gait_speed"
        assert study["families"]["primary"] == ["gait_speed"]
        controls = study["single_case"]["controls"]["gait_speed"]
        assert (controls["mean"], controls["sd"], controls["n"]) == (1.31, 0.11, 15)
        from analysis.data import config

        cfg = config.load_config(EXAMPLE / name / "study.yaml")
        assert cfg.primary_outcome == "gait_speed"
