"""The `itb` command line end to end: validate, analyze, reproduce, help, and error handling.

Every run works on a copy of the example data in a temporary directory (the working directory
of the run), so the manifest's relative paths and the raw files' hashes can be checked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.results import NUMERIC_COLUMNS
from analysis.run.manifest import sha256_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "example"
SUBCOMMANDS = ["validate", "analyze", "report", "reproduce", "codebook", "dictionary", "simulate",
               "init", "app"]
#: The analysis cache of these runs (not the user's cache directory).
CACHE = Path(tempfile.mkdtemp(prefix="itb-test-cache-"))


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m analysis ARGS`` in a fresh process (exit code, stdout, stderr)."""
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, env={**os.environ, "ITB_CACHE_DIR": str(CACHE)})


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A working directory holding a copy of both example datasets."""
    root = tmp_path_factory.mktemp("work")
    shutil.copytree(EXAMPLES, root / "data")
    return root


@pytest.fixture(scope="module")
def analyzed(workdir):
    """`itb analyze` run twice on the case series (for the determinism check)."""
    hashes = {p: sha256_file(p) for p in (workdir / "data" / "case_series").iterdir()}
    for out in ("out1", "out2"):
        proc = run_cli("analyze", "data/case_series", "--out", out, cwd=workdir)
        assert proc.returncode == 0, proc.stderr
    return workdir, hashes


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command):
    proc = run_cli(command, "--help")
    assert proc.returncode == 0
    assert f"usage: itb {command}" in proc.stdout


def test_console_script_and_module_agree():
    itb = Path(sys.executable).with_name("itb")
    assert itb.exists(), "the console script `itb` is installed beside the interpreter"
    assert subprocess.run([str(itb), "--version"], capture_output=True, text=True).stdout == \
        run_cli("--version").stdout


@pytest.mark.parametrize("dataset, patients", [("case_report", 1), ("case_series", 20)])
def test_validate_examples_exit_0_with_summary(dataset, patients):
    before = {p: sha256_file(p) for p in (EXAMPLES / dataset).rglob("*") if p.is_file()}
    proc = run_cli("validate", str(EXAMPLES / dataset))
    assert proc.returncode == 0, proc.stderr
    assert f"{patients} patient(s)" in proc.stdout and "valid" in proc.stdout
    assert before == {p: sha256_file(p) for p in (EXAMPLES / dataset).rglob("*") if p.is_file()}


def test_validate_json(tmp_path):
    proc = run_cli("validate", str(EXAMPLES / "case_series"), "--format", "json")
    report = json.loads(proc.stdout)
    assert report["valid"] is True and report["counts"]["patients"] == 20


def test_bad_input_exits_1_naming_every_problem_without_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,visit,measure,value,phase,day\n"
                   "P01,baseline,mas_knee_ext,5,baseline,-1\n"
                   "P01,baseline,tug,-3,baseline,-1\n")
    before = sha256_file(bad)
    proc = run_cli("validate", str(bad))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "bad.csv, row 2, column 'value'" in proc.stderr
    assert "bad.csv, row 3, column 'value'" in proc.stderr
    json_proc = run_cli("validate", str(bad), "--format", "json")
    problems = json.loads(json_proc.stdout)["errors"]
    assert json_proc.returncode == 1 and {p["row"] for p in problems} >= {2, 3}
    assert sha256_file(bad) == before


def test_missing_path_and_bad_config_exit_1_without_traceback(tmp_path):
    proc = run_cli("validate", str(tmp_path / "nope.csv"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "nope.csv" in proc.stderr
    config = tmp_path / "study.yaml"
    config.write_text("df_methd: satterthwaite\n")
    proc = run_cli("analyze", str(EXAMPLES / "case_series"), "--config", str(config), "--out",
                   str(tmp_path / "out"))
    assert proc.returncode == 1 and "did you mean 'df_method'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists(), "nothing is written when the input is invalid"


def test_analyze_writes_results_and_manifest(analyzed):
    workdir, hashes = analyzed
    out = workdir / "out1"
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "results.csv", "results.parquet"]
    manifest = json.loads((out / "manifest.json").read_text())
    inputs = {i["path"]: i["sha256"] for i in manifest["inputs"]}
    assert inputs == {str(p.relative_to(workdir).as_posix()): h for p, h in hashes.items()
                      if p.suffix in (".csv", ".yaml")}
    assert manifest["seed"] == manifest["config"]["seed"]
    assert manifest["run"] == {"data": "data/case_series", "config": "data/case_series/study.yaml",
                               "codebook": None, "df_method": "satterthwaite"}
    assert manifest["root"] == ".."  # paths are relative to the directory the run was made in
    assert "numbers" not in manifest  # the numbers live once, in results.parquet (hashed)
    assert set(manifest["files"]) == {"results.csv", "results.parquet"}
    assert {"numpy", "pandas", "scipy", "statsmodels", "python"} <= set(manifest["versions"])
    results = pd.read_csv(out / "results.csv", keep_default_na=False, na_values=[""])
    assert len(results) == manifest["n_rows"]
    parquet = pd.read_parquet(out / "results.parquet")
    for column in NUMERIC_COLUMNS:  # the CSV carries every float exactly
        assert np.array_equal(parquet[column].to_numpy(float), results[column].to_numpy(float),
                              equal_nan=True), column
    # raw files unchanged
    assert hashes == {p: sha256_file(p) for p in hashes}


def test_two_runs_are_byte_identical(analyzed):
    workdir, _ = analyzed
    for name in ("results.csv", "manifest.json", "results.parquet"):
        assert (workdir / "out1" / name).read_bytes() == (workdir / "out2" / name).read_bytes(), name


def test_reproduce_passes_then_fails_naming_file_and_number(analyzed, tmp_path):
    workdir, _ = analyzed
    proc = run_cli("reproduce", "out1", cwd=workdir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "numbers agree within platform tolerance (max relative difference 0)" in proc.stdout

    # A copy of the project whose raw data has one changed value.
    copy = tmp_path / "copy"
    shutil.copytree(workdir / "data", copy / "data")
    shutil.copytree(workdir / "out1", copy / "out1")
    obs = copy / "data" / "case_series" / "observations.csv"
    lines = obs.read_text().splitlines(keepends=True)
    i = next(k for k, line in enumerate(lines) if ",gait_speed," in line and "P01,baseline" in line)
    fields = lines[i].rstrip("\n").split(",")
    fields[7] = f"{float(fields[7]) + 0.2:.2f}"
    lines[i] = ",".join(fields) + "\n"
    obs.write_text("".join(lines))
    proc = run_cli("reproduce", "out1", cwd=copy)
    assert proc.returncode == 1
    assert "input changed: data/case_series/observations.csv" in proc.stdout
    named = [line for line in proc.stdout.splitlines()
             if "gait_speed |  |  | descriptive | mean: baseline" in line]
    assert named and "estimate" in named[0]  # the number is named by its key and column
    assert "numbers changed beyond platform tolerance" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_reproduce_reports_a_changed_version(analyzed, tmp_path):
    workdir, _ = analyzed
    copy = tmp_path / "v"
    shutil.copytree(workdir / "data", copy / "data")
    shutil.copytree(workdir / "out1", copy / "out1")
    manifest = json.loads((copy / "out1" / "manifest.json").read_text())
    manifest["versions"]["numpy"] = "0.0.1"
    (copy / "out1" / "manifest.json").write_text(json.dumps(manifest))
    proc = run_cli("reproduce", "out1", cwd=copy)
    assert proc.returncode == 0
    assert "numpy: recorded 0.0.1, installed" in proc.stdout


def test_reproduce_missing_input_names_it(analyzed, tmp_path):
    workdir, _ = analyzed
    shutil.copytree(workdir / "out1", tmp_path / "out1")
    proc = run_cli("reproduce", "out1", cwd=tmp_path)
    assert proc.returncode == 1
    assert "input missing: data/case_series/observations.csv" in proc.stdout
    assert "not re-run" in proc.stdout and "Traceback" not in proc.stderr


def test_reproduce_names_an_edited_results_csv_from_another_directory(analyzed, tmp_path):
    workdir, _ = analyzed
    shutil.copytree(workdir / "data", tmp_path / "c" / "data")
    shutil.copytree(workdir / "out1", tmp_path / "c" / "out1")
    path = tmp_path / "c" / "out1" / "results.csv"
    lines = path.read_text().splitlines(keepends=True)
    i = next(k for k, line in enumerate(lines) if ',"paired_t",' in line)
    fields = lines[i].split(",")
    fields[5] = str(float(fields[5]) + 1)
    lines[i] = ",".join(fields)
    path.write_text("".join(lines))
    (tmp_path / "elsewhere").mkdir()
    proc = run_cli("reproduce", str(tmp_path / "c" / "out1"), cwd=tmp_path / "elsewhere")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "results.csv: edited or replaced since the run" in proc.stdout
    assert f"results.csv row {i}" in proc.stdout


def test_two_concurrent_analyses_into_one_directory(workdir):
    first = subprocess.Popen([sys.executable, "-m", "analysis", "analyze", "data/case_series",
                              "--out", "both", "--no-cache"], cwd=workdir, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lock = workdir / ".both.lock"
    while not lock.exists() and first.poll() is None:
        time.sleep(0.05)
    second = run_cli("analyze", "data/case_series", "--out", "both", "--no-cache", cwd=workdir)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 1 and "Traceback" not in second.stderr
    assert "another itb run is writing this output directory" in second.stderr
    assert sorted(p.name for p in (workdir / "both").iterdir()) == [
        "manifest.json", "results.csv", "results.parquet"]


def test_codebook_and_dictionary_print_tables():
    proc = run_cli("codebook")
    assert proc.returncode == 0 and "gait_speed" in proc.stdout
    proc = run_cli("dictionary", "--format", "json")
    names = {row["name"] for row in json.loads(proc.stdout)}
    assert {"estimate", "p_adjusted", "lmm_contrast", "tau_u", "therapeutic_window"} <= names


def test_simulate_writes_a_valid_dataset(tmp_path):
    assert main(["simulate", "--patients", "5", "--seed", "3", "--out", str(tmp_path)]) == 0
    proc = run_cli("validate", str(tmp_path))
    assert proc.returncode == 0 and "5 patient(s)" in proc.stdout
