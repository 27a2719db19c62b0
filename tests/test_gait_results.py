"""Gait results rows (analysis.gait.results), their wiring into itb gait import / itb analyze,
and reproduce with C3D inputs."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.gait.importer import import_c3d
from analysis.gait.norms import read_norms
from analysis.gait.results import gait_results, spm_rows
from analysis.gait.spm import spm_ttest2
from analysis.paths import EXAMPLES
from analysis.results import ANALYSES, COLUMNS, KEY_COLUMNS
from analysis.run.manifest import read_manifest, read_results_csv, write_run

GAIT = EXAMPLES / "case_report" / "gait"
VISITS = ("bl_d5", "post_m3")
GAIT_ANALYSES = {"gps", "gvs", "spm_test", "spm_cluster", "gait_norm_z", "gdi"}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def imports():
    return {v: import_c3d(sorted(GAIT.glob(f"{v}_trial*.c3d")), patient_id="P01", visit=v)
            for v in VISITS}


@pytest.fixture(scope="module")
def norms():
    return read_norms(GAIT / "norms.parquet")


@pytest.fixture(scope="module")
def rows(imports, norms):
    return gait_results(imports, norms, seed=7)


def _matrix(curves, variable, side):
    g = curves[(curves["variable"] == variable) & (curves["side"] == side)]
    return g.pivot_table(index=["trial", "cycle"], columns="pct", values="value").to_numpy()


def test_rows_present_documented_and_keyed(rows):
    assert list(rows.columns) == list(COLUMNS)
    assert GAIT_ANALYSES <= set(rows["analysis"])
    assert set(rows["analysis"]) <= set(ANALYSES)
    assert not rows.duplicated(KEY_COLUMNS).any()
    assert (rows["patient_id"] == "P01").all()
    gps = rows[(rows["analysis"] == "gps") & (rows["measure"] == "gps")].set_index("term")
    assert set(gps.index) == {"bl_d5", "post_m3", "post_m3 - bl_d5"}
    assert gps.loc["post_m3 - bl_d5", "estimate"] == pytest.approx(
        gps.loc["post_m3", "estimate"] - gps.loc["bl_d5", "estimate"], rel=1e-12)
    assert gps.loc["bl_d5", "method"].count("norms.parquet") == 1
    assert "not speed-matched" in gps.loc["bl_d5", "method"]
    gvs = rows[rows["analysis"] == "gvs"]
    assert {"L", "R"} == set(gvs["side"]) and gvs["term"].isin(VISITS).all()
    gdi = rows[rows["analysis"] == "gdi"]
    assert len(gdi) == 1 and gdi["estimate"].isna().all() and "per-control" in gdi["note"].item()


def test_gps_rows_equal_the_import_profile(rows, imports, norms):
    imp = import_c3d(sorted(GAIT.glob("bl_d5_trial*.c3d")), patient_id="P01", visit="bl_d5",
                     norms=norms)
    obs = imp.observations.set_index(["measure", "side"])["value"]
    got = rows[rows["analysis"].isin(["gps", "gvs"]) & (rows["term"] == "bl_d5")]
    assert len(got) == sum(obs.index.get_level_values(0).str.startswith(("gps", "gvs")))
    for r in got.itertuples():
        assert r.estimate == pytest.approx(obs[(r.measure, r.side)], rel=1e-12)


def test_crawford_howell_against_closed_form(rows, imports, norms):
    scalar = norms[norms["pct"].isna()].set_index("variable")
    ch = rows[(rows["analysis"] == "crawford_howell") & rows["term"].str.endswith("two-sided")]
    assert len(ch) >= 4
    for r in ch.itertuples():
        visit = r.term.split(" ")[0]
        obs = imports[visit].observations
        x = obs[(obs["measure"] == r.measure) & (obs["side"] == r.side)]["value"].item()
        m, s, n = (float(scalar.loc[r.measure, c]) for c in ("mean", "sd", "n"))
        t = (x - m) / (s * math.sqrt((n + 1) / n))
        assert r.statistic == pytest.approx(t, rel=1e-12)
        assert r.df == n - 1
        assert r.p_value == pytest.approx(2 * stats.t.sf(abs(t), n - 1), rel=1e-9)
        assert r.estimate == pytest.approx(x - m, rel=1e-12)
    # controls without spread (the simulated speeds) give a row saying why, not a number
    zero = rows[(rows["analysis"] == "crawford_howell") & (rows["measure"] == "cadence")]
    assert zero["statistic"].isna().all() and zero["note"].str.startswith("not computed").all()


def test_spm_rows_equal_spm_ttest2(rows, imports):
    a = _matrix(imports["bl_d5"].curves, "knee_flexion", "L")
    b = _matrix(imports["post_m3"].curves, "knee_flexion", "L")
    ref = spm_ttest2(a, b, seed=7)
    test = rows[(rows["analysis"] == "spm_test") & (rows["side"] == "L")
                & (rows["term"] == "knee_flexion: post_m3 - bl_d5")].iloc[0]
    assert test["statistic"] == pytest.approx(ref.threshold, rel=1e-12)
    assert test["estimate"] == pytest.approx(np.abs(ref.t).max(), rel=1e-12)
    assert test["p_value"] == pytest.approx(np.mean(ref.max_stat >= np.abs(ref.t).max() - 1e-12))
    assert f"all {ref.n_permutations} splits" in test["method"]
    clusters = rows[(rows["analysis"] == "spm_cluster") & (rows["side"] == "L")
                    & rows["term"].str.startswith("knee_flexion:")]
    assert len(clusters) == len(ref.clusters) >= 1
    for r, c in zip(clusters.itertuples(), ref.clusters, strict=False):
        assert r.term.endswith(f": {c.start:g}-{c.end:g} %")  # 101 points: index = % cycle
        assert r.statistic == pytest.approx(c.integral, rel=1e-12)
        assert r.p_value == pytest.approx(c.p_value, abs=0)
        assert r.estimate == pytest.approx((b.mean(0) - a.mean(0))[c.start:c.end + 1].mean())


def test_spm_test_row_without_cluster_and_seeded_sampling():
    rng = np.random.default_rng(3)
    pct = np.linspace(0, 100, 101)

    def visit(name, n):
        return pd.concat([pd.DataFrame({"visit": name, "side": "R", "trial": 1, "cycle": c,
                                        "variable": "knee_flexion", "pct": pct,
                                        "value": rng.normal(0, 1, 101)}) for c in range(n)])

    before, after = visit("bl", 9), visit("post", 9)  # C(18, 9) = 48620 > 500: sampled
    one = spm_rows(before, after, seed=11, n_permutations=500)
    again = spm_rows(before, after, seed=11, n_permutations=500)
    other = spm_rows(before, after, seed=12, n_permutations=500)
    pd.testing.assert_frame_equal(one, again)
    assert one["statistic"].iloc[0] != other["statistic"].iloc[0]
    test = one[one["analysis"] == "spm_test"]
    assert len(test) == 1 and "seed 11" in test["method"].item()
    if (one["analysis"] == "spm_cluster").sum() == 0:
        assert test["note"].item() == "no supra-threshold cluster"


def test_deterministic_with_the_seed(imports, norms, rows):
    pd.testing.assert_frame_equal(rows, gait_results(imports, norms, seed=7))


def test_norm_band_z_by_hand(rows, imports, norms):
    r = rows[(rows["analysis"] == "gait_norm_z") & (rows["side"] == "R")
             & (rows["term"] == "hip_adduction: post_m3")].iloc[0]
    mean = _matrix(imports["post_m3"].curves, "hip_adduction", "R").mean(axis=0)
    ref = norms[(norms["variable"] == "hip_adduction")].sort_values("pct")
    z = (mean - ref["mean"].to_numpy()) / ref["sd"].to_numpy()
    assert r["estimate"] == pytest.approx(100 * np.mean(np.abs(z) > 1.96))
    assert r["statistic"] == pytest.approx(z[np.argmax(np.abs(z))])
    assert "no curve-level inference" in r["note"]


def test_without_norms_only_spm_and_a_note(imports):
    r = gait_results(imports, None, seed=1)
    assert set(r["analysis"]) == {"gps", "spm_test", "spm_cluster"}
    assert r.loc[r["analysis"] == "gps", "note"].str.startswith("not computed").all()


def _dataset(tmp_path: Path, *, gait: bool) -> Path:
    d = tmp_path / ("with" if gait else "without")
    d.mkdir()
    for name in ("observations.csv", "patients.csv", "study.yaml"):
        shutil.copy(EXAMPLES / "case_report" / name, d / name)
    if gait:
        shutil.copytree(GAIT, d / "gait", ignore=shutil.ignore_patterns("README.md"))
    return d


def test_pipeline_includes_gait_rows_only_with_a_gait_folder_and_reproduces(tmp_path,
                                                                            monkeypatch):
    from analysis.run.pipeline import run_analysis
    from analysis.run.reproduce import reproduce_manifest

    monkeypatch.chdir(tmp_path)
    without = run_analysis(_dataset(tmp_path, gait=False), cache_dir=None)
    assert not set(without.results["analysis"]) & GAIT_ANALYSES
    data = _dataset(tmp_path, gait=True)
    run = run_analysis(data, cache_dir=None)
    gait_rows = run.results[run.results["analysis"].isin(GAIT_ANALYSES)]
    assert GAIT_ANALYSES <= set(gait_rows["analysis"])
    assert (gait_rows["patient_id"] == "P01").all()
    recorded = {i["path"] for i in run.manifest["inputs"]}
    assert {f"with/gait/{f.name}" for f in (data / "gait").iterdir()} <= recorded
    # the rest of the table is untouched by the gait rows
    rest = run.results[~run.results["patient_id"].eq("P01") | ~run.results["term"].str.contains(
        "gait-lab norms")]
    rest = rest[~rest["analysis"].isin(GAIT_ANALYSES)].reset_index(drop=True)
    pd.testing.assert_frame_equal(rest, without.results)
    out = tmp_path / "out"
    write_run(run.results, run.manifest, out)
    assert reproduce_manifest(out).ok
    # a changed C3D file is named
    trial = data / "gait" / "post_m3_trial2.c3d"
    trial.write_bytes(trial.read_bytes()[:-1] + b"\x01")
    changed = reproduce_manifest(out).changed_inputs
    assert changed["path"].tolist() == ["with/gait/post_m3_trial2.c3d"]
    assert read_manifest(out)["inputs"]


def test_gait_import_writes_neutralised_gait_results(tmp_path):
    out = tmp_path / "imp"
    cmd = [sys.executable, "-m", "analysis", "gait", "import",
           *map(str, sorted(GAIT.glob("post_m3_trial*.c3d"))), "--patient", "P01",
           "--visit", "post_m3", "--norms", str(GAIT / "norms.parquet"), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    table = read_results_csv(out / "gait_results.csv")
    assert {"gps", "gvs", "crawford_howell", "gait_norm_z"} <= set(table["analysis"])
    imports = {"post_m3": import_c3d(sorted(GAIT.glob("post_m3_trial*.c3d")),
                                     patient_id="P01", visit="post_m3")}
    expect = gait_results(imports, read_norms(GAIT / "norms.parquet"), norms_name="norms.parquet")
    pd.testing.assert_frame_equal(table, expect, check_dtype=False)


def test_write_results_csv_neutralises_formulas(tmp_path):
    from analysis.results import result_frame, write_results_csv

    rows = result_frame([{"measure": "m", "analysis": "gps", "term": "=cmd|' /C calc'!A0",
                          "note": "@SUM(1)", "estimate": -1.0}])
    write_results_csv(rows, tmp_path / "r.csv")
    text = (tmp_path / "r.csv").read_text()
    assert "'=cmd" in text and "'@SUM" in text and ",-1," in text
    pd.testing.assert_frame_equal(read_results_csv(tmp_path / "r.csv"), rows)


def test_gait_table_needs_two_patients_with_gait_rows(rows):
    from types import SimpleNamespace

    from analysis.report.report_tables import gait_table

    two = pd.concat([rows, rows.assign(patient_id="P02")], ignore_index=True)
    table = gait_table(SimpleNamespace(results=two, labels=str))
    assert table["Patient"].tolist() == ["P01", "P02"]
    gps = rows[(rows["analysis"] == "gps") & (rows["measure"] == "gps")].set_index("term")
    # negative numbers print with the true minus sign (U+2212), as everywhere in the reports
    assert table["Change (°)"].iloc[0] == (
        f"{gps.loc['post_m3 - bl_d5', 'estimate']:.1f}".replace("-", "\u2212"))
    assert "0-100 %" in table["Knee flexion clusters (SPM)"].iloc[0]
    assert gait_table(SimpleNamespace(results=rows, labels=str)).empty
