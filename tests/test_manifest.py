"""Manifest: hashes, stable keys, atomic byte-stable writes; reproduce's comparison."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from analysis.errors import ITBError
from analysis.results import result_frame
from analysis.run.manifest import (
    build_manifest,
    read_manifest,
    result_numbers,
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


def test_write_run_is_byte_identical_and_leaves_no_temporary_files(tmp_path, results):
    m = build_manifest(results, inputs=[], config={}, seed=1, command="x", root=tmp_path)
    first = {p.name: p.read_bytes() for p in write_run(results, m, tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in write_run(results, m, tmp_path / "b")}
    assert first == second
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "manifest.json", "results.csv", "results.parquet"]
    assert json.loads(first["manifest.json"])["numbers"] == m["numbers"]
    assert read_manifest(tmp_path / "a")["n_rows"] == 2


def test_read_manifest_missing_names_the_fix(tmp_path):
    with pytest.raises(ITBError, match="run `itb analyze` or `itb report` first"):
        read_manifest(tmp_path)
    with pytest.raises(ITBError, match="no manifest.json found"):
        find_manifests(tmp_path)


def test_compare_numbers_tolerance_and_missing_keys():
    rec = {"a": 1.0, "b": 0.0, "c": 2.0, "d": None}
    assert compare_numbers(rec, {"a": 1.0 + 5e-10, "b": 1e-13, "c": 2.0, "d": None}).empty
    diff = compare_numbers(rec, {"a": 1.0 + 1e-6, "b": 0.0, "d": 3.0})
    assert diff["key"].tolist() == ["a", "c", "d"]
    assert diff.loc[0, "rel_diff"] == pytest.approx(1e-6)
    assert diff.loc[1, "reproduced"] == "missing"


def test_infinities_survive_json_and_compare_equal(tmp_path):
    t = result_frame([{"measure": "x", "analysis": "z_cc", "term": "t", "estimate": np.inf,
                       "ci_low": -np.inf}])
    numbers = result_numbers(t)
    assert numbers["x |  |  | z_cc | t | estimate"] == "inf"
    assert numbers["x |  |  | z_cc | t | ci_low"] == "-inf"
    m = build_manifest(t, inputs=[], config={}, seed=1, command="x", root=tmp_path)
    write_run(t, m, tmp_path)
    assert compare_numbers(read_manifest(tmp_path)["numbers"], numbers).empty


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
             **dict(zip(NUMERIC_COLUMNS, v))} for i, v in enumerate(values)]
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
