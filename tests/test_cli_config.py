"""The study configuration reaches every analysis, and its mistakes stop the command."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

import analysis

SERIES = analysis.EXAMPLES / "case_series"


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True,
                          text=True, cwd=cwd)


@pytest.fixture()
def series(tmp_path):
    shutil.copytree(SERIES, tmp_path / "data")
    return tmp_path / "data"


def test_typo_in_primary_outcome_exits_1_naming_the_measure(series, tmp_path):
    study = series / "study.yaml"
    study.write_text(study.read_text().replace("primary_outcome: gait_speed",
                                               "primary_outcome: gait_sped"))
    proc = run_cli("analyze", str(series), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert "primary_outcome: unknown measure 'gait_sped'; did you mean 'gait_speed'?" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_declared_measure_absent_from_the_data_exits_1(series, tmp_path):
    study = series / "study.yaml"
    study.write_text(study.read_text().replace("secondary: [tug,", "secondary: [emg_biceps_femoris_rms, tug,"))
    proc = run_cli("analyze", str(series), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert "families.secondary: 'emg_biceps_femoris_rms' is declared but the data hold no observation" in proc.stderr


def test_bad_df_method_is_a_usage_error(series, tmp_path):
    proc = run_cli("analyze", str(series), "--df-method", "kenward", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "kenward-roger" in proc.stderr


@pytest.mark.slow
def test_kenward_roger_reaches_every_mixed_model_row():
    results, _ = analysis.analyze(SERIES, df_method="kenward-roger")
    # linear mixed-model rows (the cumulative link model's "CLMM" rows are Wald z tests: no df)
    mixed = results[(results["analysis"].str.startswith("lmm_")
                     | results["method"].str.contains("LMM", na=False))
                    & ~results["analysis"].str.startswith("clmm_")]
    assert len(mixed) > 100
    assert set(mixed["df_method"]) == {"kenward-roger"}
    dose_slopes = results[(results["analysis"] == "dose_slope") & (results["patient_id"] == "")]
    assert len(dose_slopes) and set(dose_slopes["df_method"]) == {"kenward-roger"}
