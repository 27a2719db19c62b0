"""Manifest: hashes, stable keys, compact records; atomic, locked, byte-stable writes (an
interrupted run leaves the previous set); CSV formula neutralisation; reproduce's comparison."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ITBError
from analysis.results import result_frame
from analysis.run.manifest import (
    build_manifest,
    output_lock,
    read_manifest,
    read_results_csv,
    result_numbers,
    row_keys_digest,
    sha256_file,
    write_run,
)
from analysis.run.reproduce import compare_numbers, find_manifests


@pytest.fixture()
def results():
    return result_frame([
        {"measure": "tug", "analysis": "paired_t", "term": "post_m6 - baseline",
         "estimate": -2.5, "se": 0.5, "p_value": 0.01},
        {"measure": "tug", "analysis": "cohens_dz", "term": "post_m6 - baseline", "estimate": np.nan,
         "note": "zero variance"},
    ])


def test_sha256_matches_hashlib(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"patient_id,visit\nP01,baseline\n")
    assert sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_numbers_are_keyed_by_measure_analysis_term_column(results):
    numbers = result_numbers(results)
    assert numbers["tug |  |  | paired_t | post_m6 - baseline | estimate"] == -2.5
    assert "tug |  |  | cohens_dz | post_m6 - baseline | estimate" not in numbers  # NaN: left out
    assert len(numbers) == 3  # the non-empty numbers: estimate, se and p_value of paired_t


def test_manifest_records_inputs_relative_to_root(tmp_path, results):
    data = tmp_path / "obs.csv"
    data.write_text("x\n1\n")
    m = build_manifest(results, inputs=[data], config={"seed": 1}, seed=1, command="itb analyze",
                       root=tmp_path)
    assert m["inputs"] == [{"path": "obs.csv", "sha256": sha256_file(data), "bytes": 4}]
    assert m["versions"]["numpy"] == np.__version__
    assert set(m["git"]) == {"commit", "dirty"}
    assert "numbers" not in m  # the numbers live once, in results.parquet
    assert m["row_keys"] == {"columns": ["measure", "side", "patient_id", "analysis", "term"],
                             "sha256": row_keys_digest(results)}


def test_paths_are_relative_to_the_manifest(tmp_path, results):
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    data = project / "data" / "obs.csv"
    data.write_text("x\n1\n")
    m = build_manifest(results, inputs=[data], config={}, seed=1, command="x", root=project)
    write_run(results, m, project / "out" / "analysis")
    written = read_manifest(project / "out" / "analysis")
    assert written["root"] == "../.." and written["inputs"][0]["path"] == "data/obs.csv"
    from analysis.run.manifest import manifest_root

    moved = tmp_path / "unzipped"
    project.rename(moved)  # a compendium moved elsewhere still resolves its inputs
    manifest = moved / "out" / "analysis" / "manifest.json"
    assert (manifest_root(read_manifest(manifest), manifest) / "data/obs.csv").read_text() == "x\n1\n"


def test_write_run_is_byte_identical_and_leaves_no_temporary_files(tmp_path, results):
    m = build_manifest(results, inputs=[], config={}, seed=1, command="x", root=tmp_path)
    first = {p.name: p.read_bytes() for p in write_run(results, m, tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in write_run(results, m, tmp_path / "b")}
    assert first == second
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "manifest.json", "results.csv", "results.parquet"]
    written = json.loads(first["manifest.json"])
    assert written["files"] == {
        name: {"sha256": hashlib.sha256(first[name]).hexdigest(), "bytes": len(first[name])}
        for name in ("results.csv", "results.parquet")}
    assert read_manifest(tmp_path / "a")["n_rows"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no lock, no temporary


def test_read_manifest_missing_names_the_fix(tmp_path):
    with pytest.raises(ITBError, match="run `itb analyze` or `itb report` first"):
        read_manifest(tmp_path)
    with pytest.raises(ITBError, match="no manifest.json found"):
        find_manifests(tmp_path)


def test_compare_numbers_tolerance_and_missing_keys():
    rec = {"a": 1.0, "b": 0.0, "c": 2.0, "d": None}
    assert compare_numbers(rec, {"a": 1.0 + 5e-7, "b": 1e-13, "c": 2.0, "d": None}).empty
    diff = compare_numbers(rec, {"a": 1.0 + 1e-5, "b": 0.0, "d": 3.0})
    assert diff["key"].tolist() == ["a", "c", "d"]
    assert diff.loc[0, "rel_diff"] == pytest.approx(1e-5)
    assert diff.loc[1, "reproduced"] == "missing"


def test_infinities_survive_json_and_compare_equal(tmp_path):
    t = result_frame([{"measure": "x", "analysis": "z_cc", "term": "t", "estimate": np.inf,
                       "ci_low": -np.inf}])
    numbers = result_numbers(t)
    assert numbers["x |  |  | z_cc | t | estimate"] == "inf"
    assert numbers["x |  |  | z_cc | t | ci_low"] == "-inf"
    m = build_manifest(t, inputs=[], config={}, seed=1, command="x", root=tmp_path)
    write_run(t, m, tmp_path / "out")
    for back in (read_results_csv(tmp_path / "out" / "results.csv"),
                 pd.read_parquet(tmp_path / "out" / "results.parquet")):
        assert compare_numbers(result_numbers(back), numbers, rtol=0, atol=0).empty


def test_numbers_match_number_key_one_by_one():
    # Reference: number_key and the NaN/inf rules applied to every cell of the table.
    from analysis.results import NUMERIC_COLUMNS
    from analysis.run.manifest import number_key

    rng = np.random.default_rng(2)
    values = rng.normal(size=(30, len(NUMERIC_COLUMNS)))
    values[rng.random(values.shape) < 0.3] = np.nan
    values[0, 0], values[1, 1] = np.inf, -np.inf
    rows = [{"measure": f"m{i % 3}", "side": "LR"[i % 2], "patient_id": f"P{i}",
             "analysis": "change", "term": f"v{i} - baseline",
             **dict(zip(NUMERIC_COLUMNS, v, strict=False))} for i, v in enumerate(values)]
    table = result_frame(rows)
    expected = {}
    for column in NUMERIC_COLUMNS:
        for row in rows:
            v = row[column]
            if not np.isnan(v):
                expected[number_key(row, column)] = ("inf" if v == np.inf
                                                     else "-inf" if v == -np.inf else v)
    numbers = result_numbers(table)
    assert list(numbers.items()) == list(expected.items())
    assert all(type(v) in (float, str) for v in numbers.values())


def test_csv_neutralises_formulas_and_reads_back_exactly(tmp_path):
    evil = ["=HYPERLINK(\"http://x\",\"click\")", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\r=1",
            "'=already", "-1.5", "post_m6 - baseline", "plain"]
    t = result_frame([{"measure": "m", "analysis": "change", "patient_id": f"P{i}", "term": term,
                       "note": term, "estimate": 0.1 * i} for i, term in enumerate(evil)])
    m = build_manifest(t, inputs=[], config={}, seed=1, command="x", root=tmp_path)
    write_run(t, m, tmp_path / "out")
    raw = pd.read_csv(tmp_path / "out" / "results.csv", dtype=str, keep_default_na=False)
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    for column in ("term", "note"):
        cells = raw[column].tolist()
        assert not [c for c in cells if c.startswith(dangerous) and c != "-1.5"], cells
        assert "'=HYPERLINK(\"http://x\",\"click\")" in cells and "-1.5" in cells
    back = read_results_csv(tmp_path / "out" / "results.csv")
    pd.testing.assert_frame_equal(back, pd.read_parquet(tmp_path / "out" / "results.parquet"))
    assert back["term"].tolist() == t["term"].tolist()


def _set(tmp_path, value: float) -> tuple[pd.DataFrame, dict]:
    t = result_frame([{"measure": "m", "analysis": "change", "term": f"t{i}", "estimate": value}
                      for i in range(50)])
    return t, build_manifest(t, inputs=[], config={}, seed=1, command="x", root=tmp_path)


def _consistent(out: Path) -> float:
    """Check that the three files are one set (hashes as recorded); return its estimate."""
    manifest = read_manifest(out)
    for name, record in manifest["files"].items():
        assert sha256_file(out / name) == record["sha256"], name
    values = set(pd.read_parquet(out / "results.parquet")["estimate"])
    assert values == set(read_results_csv(out / "results.csv")["estimate"])
    return values.pop()


_SLOW_WRITER = textwrap.dedent("""
    import sys, time, pathlib
    from analysis.results import result_frame
    from analysis.run import manifest as m
    original = m._write_csv
    def slow(results, path):
        original(results, path)
        pathlib.Path(sys.argv[2]).touch()  # results.csv is written: tell the test, then wait
        time.sleep(120)
    m._write_csv = slow
    t = result_frame([{"measure": "m", "analysis": "change", "term": f"t{i}", "estimate": 2.0}
                      for i in range(50)])
    m.write_run(t, m.build_manifest(t, inputs=[], config={}, seed=1, command="x"), sys.argv[1])
""")


def _start_slow_writer(out: Path, flag: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(out), str(flag)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not flag.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the writer never reached results.csv"
        time.sleep(0.05)
    return proc


@pytest.mark.parametrize("previous", [True, False])
def test_sigterm_after_results_csv_leaves_the_previous_set_or_nothing(tmp_path, previous):
    out = tmp_path / "out"
    if previous:
        write_run(*_set(tmp_path, 1.0), out)
    proc = _start_slow_writer(out, tmp_path / "csv-written")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGTERM
    if previous:
        assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "results.csv",
                                                         "results.parquet"]
        assert _consistent(out) == 1.0  # the previous complete set, untouched
    else:
        assert not out.exists()  # nothing
    write_run(*_set(tmp_path, 3.0), out)  # the next run completes and cleans the leftovers
    assert _consistent(out) == 3.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csv-written", "out"]


def test_a_concurrent_run_is_refused_with_a_clear_message(tmp_path):
    out = tmp_path / "out"
    write_run(*_set(tmp_path, 1.0), out)
    proc = _start_slow_writer(out, tmp_path / "csv-written")
    try:
        with pytest.raises(ITBError, match="another itb run is writing this output directory"):
            write_run(*_set(tmp_path, 5.0), out)
        assert _consistent(out) == 1.0
    finally:
        proc.kill()
        proc.wait()
    write_run(*_set(tmp_path, 5.0), out)  # a killed holder's lock is released by the system
    assert _consistent(out) == 5.0


def test_an_interruption_between_the_renames_is_restored(tmp_path):
    out = tmp_path / "out"
    write_run(*_set(tmp_path, 1.0), out)
    os.rename(out, tmp_path / ".out.old-abc")  # as if killed after moving the old set aside
    with output_lock(out):
        assert _consistent(out) == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_output_directory_with_other_files_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(ITBError, match="holds other files \\(notes.txt\\)"):
        write_run(*_set(tmp_path, 1.0), tmp_path / "out")
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_a_failed_write_leaves_the_previous_set(tmp_path, monkeypatch):
    from analysis.run import manifest as module

    out = tmp_path / "out"
    write_run(*_set(tmp_path, 1.0), out)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_run(*_set(tmp_path, 2.0), out)
    monkeypatch.undo()
    assert _consistent(out) == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert module.MANIFEST == "manifest.json"


def test_find_manifests_skips_what_an_interrupted_run_left(tmp_path):
    for folder in ("a", "b/c", ".a.tmp-x"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "manifest.json").write_text("{}")
    assert [p.relative_to(tmp_path).as_posix() for p in find_manifests(tmp_path)] == [
        "a/manifest.json", "b/c/manifest.json"]


def test_row_keys_digest_hashes_the_joined_keys():
    """The Arrow-built digest is the SHA-256 of the keys joined in Python (its definition)."""
    import hashlib

    from analysis.results import KEY_COLUMNS, result_frame

    rows = [{"measure": "gait_speed", "side": "", "patient_id": "P01", "analysis": "change",
             "term": "post_m6 - baseline"},
            {"measure": "émg", "side": "L", "patient_id": "", "analysis": "rci",
             "term": "Woche 2 − Ausgangswert"},
            {"measure": "x", "side": "R", "patient_id": "P02", "analysis": "lmm_fixed",
             "term": ""}]
    for table in (result_frame(rows), result_frame(rows[:1]), result_frame([])):
        keys = table[KEY_COLUMNS].astype(str).to_numpy().tolist()
        expected = hashlib.sha256("\x1e".join("\x1f".join(k) for k in keys)
                                  .encode("utf-8")).hexdigest()
        assert row_keys_digest(table) == expected
