"""`itb reproduce`: files checked against their hashes, every number against a re-run, within
per-statistic platform tolerances; from any working directory."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.results import NUMERIC_COLUMNS, result_frame
from analysis.run.manifest import (
    manifest_root,
    read_manifest,
    read_results_csv,
    write_run,
)
from analysis.run.reproduce import (
    TOLERANCES,
    compare_tables,
    reproduce_manifest,
    tolerances,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "example"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ITB_NO_CACHE": "1"}
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True,
                          text=True, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A compendium: data/case_report analysed into out/ (run from the project directory)."""
    root = tmp_path_factory.mktemp("compendium")
    shutil.copytree(EXAMPLES / "case_report", root / "data" / "case_report")
    proc = run_cli("analyze", "data/case_report", "--out", "out", "--no-cache", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture()
def copy(project, tmp_path):
    """A fresh copy of the compendium (tests edit it)."""
    shutil.copytree(project, tmp_path / "c")
    return tmp_path / "c"


def _rewrite(out: Path, change) -> None:
    """Rewrite the set in ``out`` as another platform would have written it: every number
    changed by ``change``, files and manifest consistent (the hashes are those of the new files)."""
    manifest = read_manifest(out)
    manifest["root"] = str(manifest_root(manifest, out / "manifest.json"))
    results = pd.read_parquet(out / "results.parquet")
    for column in NUMERIC_COLUMNS:
        results[column] = change(results[column].to_numpy(dtype=float))
    write_run(results, manifest, out)


def test_reproduce_from_another_working_directory(project, tmp_path):
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    proc = run_cli("reproduce", str(project / "out"), cwd=elsewhere)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "numbers agree within platform tolerance (max relative difference 0)" in proc.stdout
    assert "reproduced: every file is the recorded one" in proc.stdout


def test_a_hand_edited_results_csv_fails_naming_the_file_and_row(copy, monkeypatch, tmp_path):
    path = copy / "out" / "results.csv"
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    row = next(i for i, r in enumerate(rows) if r[3] == "therapeutic_window")
    assert rows[row][5] == "108"
    rows[row][5] = "999"
    with open(path, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    monkeypatch.chdir(tmp_path)  # not the project directory
    outcome = reproduce_manifest(copy / "out")
    assert not outcome.ok
    assert outcome.file_problems["file"].tolist() == ["results.csv"]
    assert "edited or replaced" in outcome.file_problems["problem"].iloc[0]
    (edit,) = outcome.differences.itertuples()
    assert (edit.file, edit.row, edit.column, edit.recorded, edit.reproduced) == (
        "results.csv", row, "estimate", 999.0, 108.0)  # data row (the header is not counted)
    report = outcome.report()
    assert "results.csv: edited or replaced since the run" in report
    assert f"results.csv row {row}" in report and "therapeutic_window" in report
    assert "1 number changed" in report


def test_an_edited_parquet_and_a_missing_file_are_named(copy):
    out = copy / "out"
    results = pd.read_parquet(out / "results.parquet")
    results.loc[3, "estimate"] = 12345.0
    results.to_parquet(out / "results.parquet", index=False)
    (out / "results.csv").unlink()
    outcome = reproduce_manifest(out)
    problems = dict(zip(outcome.file_problems["file"], outcome.file_problems["problem"], strict=False))
    assert problems["results.csv"].startswith("missing")
    assert problems["results.parquet"].startswith("edited or replaced")
    assert outcome.differences[["file", "row", "column"]].values.tolist() == [
        ["results.parquet", 4, "estimate"]]


def test_a_directory_mixed_by_an_interruption_fails(copy, tmp_path):
    # results.csv of another run beside this run's manifest (the old one-file-at-a-time writes)
    other = tmp_path / "other"
    shutil.copytree(copy / "out", other)
    _rewrite(other, lambda x: x * 1.01)
    shutil.copy(other / "results.csv", copy / "out" / "results.csv")
    outcome = reproduce_manifest(copy / "out")
    assert not outcome.ok and outcome.file_problems["file"].tolist() == ["results.csv"]
    assert set(outcome.differences["file"]) == {"results.csv"}


def test_a_platform_difference_of_1e7_passes_and_1e3_fails(copy):
    out = copy / "out"
    _rewrite(out, lambda x: x * (1 + 1e-7))
    outcome = reproduce_manifest(out)
    assert outcome.ok, outcome.report()
    assert outcome.max_rel_diff == pytest.approx(1e-7, rel=1e-3)
    assert "agree within platform tolerance (max relative difference 1e-07)" in outcome.report()

    tight = reproduce_manifest(out, rtol=1e-9)  # --rtol tightens
    assert not tight.ok and "changed beyond relative tolerance 1e-09" in tight.summary()

    _rewrite(out, lambda x: x / (1 + 1e-7) * (1 + 1e-3))
    outcome = reproduce_manifest(out)
    assert not outcome.ok and outcome.file_problems.empty
    table = pd.read_parquet(out / "results.parquet")
    large = sum(int((np.abs(table[c]) > 1e-6).sum()) for c in NUMERIC_COLUMNS)
    nonzero = sum(int((np.abs(table[c]) > 0).sum()) for c in NUMERIC_COLUMNS)
    assert large <= len(outcome.differences) <= nonzero  # every number not ~0 is flagged
    assert f"{len(outcome.differences)} numbers changed beyond platform tolerance" in outcome.report()


def test_tolerances_per_statistic_and_override():
    t = result_frame([
        {"measure": "m", "analysis": "lmm_contrast", "term": "a", "df_method": "satterthwaite"},
        {"measure": "m", "analysis": "dose_slope", "term": "dose", "df_method": "kenward-roger"},
        {"measure": "m", "analysis": "paired_t", "term": "a", "df_method": "n-1"},
        {"measure": "m", "analysis": "nap", "term": "A vs B"},
    ])
    rel, absolute = tolerances(t)
    assert rel.tolist() == [TOLERANCES["iterative"][0]] * 2 + [TOLERANCES["closed_form"][0]] * 2
    assert absolute.tolist() == [TOLERANCES["iterative"][1]] * 2 + [TOLERANCES["closed_form"][1]] * 2
    assert tolerances(t, rtol=1e-12)[0].tolist() == [1e-12] * 4
    # the defaults sit between platform noise (1e-7 must pass) and real change (1e-3 must fail)
    for rtol, atol in TOLERANCES.values():
        assert 1e-7 < rtol < 1e-3 and atol < 1e-6


def test_compare_tables_on_the_example_results(project):
    recorded = pd.read_parquet(project / "out" / "results.parquet")
    assert read_results_csv(project / "out" / "results.csv").equals(recorded)
    noisy = recorded.copy()
    for column in NUMERIC_COLUMNS:
        noisy[column] = noisy[column] * (1 + 1e-7)
    differences, n, worst = compare_tables(recorded, noisy)
    assert differences.empty and n > 1000 and worst == pytest.approx(1e-7, rel=1e-6)
    # a row only on one side, and a changed note, are both reported
    shorter = noisy.iloc[1:].copy()
    shorter.loc[shorter.index[0], "note"] = "changed"
    differences, _, _ = compare_tables(recorded, shorter)
    assert differences[["row", "column", "reproduced"]].values.tolist() == [
        [1, "", "missing"], [2, "note", "changed"]]
