"""The analysis cache stores data (Parquet + JSON), verifies it, and never runs code from disk."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from analysis.run import cache
from analysis.run.pipeline import run_analysis

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "data" / "example" / "case_report"
CACHED_EXAMPLE = CASE  # the example of the cache fixtures (conftest.py)
NAMES = (cache.ENTRY, *(f"{t}.parquet" for t in cache.TABLES))


class _Payload:
    """Unpickling this creates the marker file: proof that a pickle was loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_entry_is_parquet_and_json_only_and_reads_back_identical(filled, same_run):
    directory, entry = filled
    assert sorted(p.name for p in entry.iterdir()) == sorted(NAMES)
    assert not list(directory.rglob("*.pickle")) and not list(directory.rglob("*.pkl"))
    record = json.loads((entry / cache.ENTRY).read_text())
    assert record["key"] == entry.name and set(record["files"]) == set(NAMES) - {cache.ENTRY}
    with warnings.catch_warnings():
        warnings.simplefilter("error", cache.CacheWarning)  # a hit, nothing discarded
        same_run(run_analysis(CASE, cache_dir=directory))


def test_the_payload_would_run_if_unpickled(tmp_path):
    # The check of the test itself: the planted bytes do execute when unpickled.
    marker = tmp_path / "executed"
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()


@pytest.mark.parametrize("name", NAMES)
def test_a_pickle_planted_under_any_name_is_never_loaded(cache_copy, same_run, tmp_path, name):
    directory, entry = cache_copy
    marker = tmp_path / "executed"
    (entry / name).write_bytes(pickle.dumps(_Payload(marker)))
    # and under every name an older cache used, beside the entry
    for legacy in (entry.name[:32] + ".pickle", entry.name + ".pickle", "run.pkl"):
        (directory / legacy).write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.warns(cache.CacheWarning, match="discarded"):
        run = run_analysis(CASE, cache_dir=directory)
    assert not marker.exists(), "a pickle from the cache was executed"
    same_run(run)
    assert sorted(p.name for p in entry.iterdir()) == sorted(NAMES)  # rewritten, verified


def test_a_pickle_planted_in_the_kernel_cache_is_not_loaded_by_a_report(cache_copy, tmp_path):
    # The report documents' load() in a fresh process (as a Jupyter kernel runs it).
    directory, entry = cache_copy
    marker = tmp_path / "executed"
    for name in NAMES:
        (entry / name).write_bytes(pickle.dumps(_Payload(marker)))
    code = ("from analysis.report.kit import load; import sys; "
            f"run = load(data={str(CASE)!r}); print(len(run.results))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "ITB_CACHE_DIR": str(directory)})
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    assert "discarded" in proc.stderr


def test_a_number_edited_in_the_cache_is_discarded(cache_copy, same_run):
    directory, entry = cache_copy
    path = entry / "results.parquet"
    table = pd.read_parquet(path)
    window = table["analysis"] == "therapeutic_window"
    assert table.loc[window, "estimate"].tolist() == [108.0, 108.0]  # left and right
    table.loc[window, "estimate"] = 999.0
    table.to_parquet(path)
    with pytest.warns(cache.CacheWarning, match="checksum"):
        run = run_analysis(CASE, cache_dir=directory)
    assert run.results.loc[run.results["analysis"] == "therapeutic_window",
                           "estimate"].tolist() == [108.0, 108.0]
    same_run(run)


@pytest.mark.parametrize("damage", ["truncate", "bad json", "missing file", "extra file", "wrong key"])
def test_a_damaged_entry_is_discarded_with_a_note(cache_copy, same_run, damage):
    directory, entry = cache_copy
    if damage == "truncate":
        data = (entry / "changes.parquet").read_bytes()
        (entry / "changes.parquet").write_bytes(data[: len(data) // 2])
    elif damage == "bad json":
        (entry / cache.ENTRY).write_text("{not json")
    elif damage == "missing file":
        (entry / "window.parquet").unlink()
    elif damage == "extra file":
        (entry / "results.pickle").write_bytes(b"x")
    else:
        record = json.loads((entry / cache.ENTRY).read_text())
        record["key"] = "0" * 64
        (entry / cache.ENTRY).write_text(json.dumps(record))
    with pytest.warns(cache.CacheWarning, match="discarded"):
        run = run_analysis(CASE, cache_dir=directory)
    same_run(run)


def test_key_changes_with_inputs_configuration_versions_and_source(tmp_path, monkeypatch):
    data = tmp_path / "obs.csv"
    data.write_text("a\n1\n")
    base = cache.cache_key([data], config={"seed": 1, "source": "x.yaml"}, codebook={"sha256": "c"})
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copy(data, moved / "obs.csv")
    assert cache.cache_key([moved / "obs.csv"], config={"seed": 1, "source": "y.yaml"},
                           codebook={"sha256": "c"}) == base  # location-independent
    assert cache.cache_key([data], config={"seed": 2}, codebook={"sha256": "c"}) != base
    assert cache.cache_key([data], config={"seed": 1}, codebook={"sha256": "d"}) != base
    data.write_text("a\n2\n")
    assert cache.cache_key([data], config={"seed": 1}, codebook={"sha256": "c"}) != base
    data.write_text("a\n1\n")
    versions = cache.dependency_versions()
    assert {"python", "numpy", "scipy", "pandas", "statsmodels", "itb-analysis"} <= set(versions)
    monkeypatch.setattr(cache, "dependency_versions", lambda: {**versions, "scipy": "99.0"})
    assert cache.cache_key([data], config={"seed": 1}, codebook={"sha256": "c"}) != base
    monkeypatch.undo()
    monkeypatch.setattr(cache, "source_digest", lambda: "another commit")
    assert cache.cache_key([data], config={"seed": 1}, codebook={"sha256": "c"}) != base


def test_location_defaults_and_switches(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.ENV_DIR, raising=False)
    monkeypatch.delenv(cache.ENV_OFF, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    assert cache.resolve_cache_dir("default") == tmp_path / "xdg" / "itb-analysis"
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path / "mine"))
    assert cache.resolve_cache_dir("default") == tmp_path / "mine"
    monkeypatch.setenv(cache.ENV_OFF, "1")
    assert cache.resolve_cache_dir("default") is None
    assert cache.resolve_cache_dir(tmp_path / "given") == tmp_path / "given"  # explicit wins
    assert cache.resolve_cache_dir(None) is None


def test_cli_cache_options(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITB_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")

    def analyze(*extra: str) -> None:
        proc = subprocess.run([sys.executable, "-m", "analysis", "analyze", str(CASE), *extra],
                              capture_output=True, text=True, cwd=tmp_path, env=env)
        assert proc.returncode == 0, proc.stderr

    analyze("--out", "a", "--no-cache")
    assert not (tmp_path / "xdg").exists() and not (tmp_path / ".cache").exists()
    analyze("--out", "b", "--cache-dir", "mycache")
    assert len([p for p in (tmp_path / "mycache").iterdir() if p.is_dir()]) == 1
    analyze("--out", "c")  # default: the user cache directory, not ./.cache
    default = tmp_path / "xdg" / "itb-analysis"
    assert len([p for p in default.iterdir() if p.is_dir()]) == 1  # one entry (+ hmac.key)
    assert not (tmp_path / ".cache").exists()
    for name in ("results.csv", "results.parquet"):  # cached or not, the same files
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "c" / name).read_bytes()


def test_parquet_round_trip_is_checked_before_caching(tmp_path):
    frame = pd.DataFrame({"x": [1.0, float("nan")], "t": ["a", ""]})
    entry = cache.write_entry(tmp_path, "k" * 64, {"results": frame, "window": pd.DataFrame(),
                                                   "changes": frame}, meta={"config": {}})
    assert entry is not None and pq.read_table(entry / "results.parquet").num_rows == 2
    tables = cache.read_entry(tmp_path, "k" * 64, expect={"config": {}})
    pd.testing.assert_frame_equal(tables["results"], frame)
    with pytest.warns(cache.CacheWarning, match="'config' does not match"):
        assert cache.read_entry(tmp_path, "k" * 64, expect={"config": {"seed": 1}}) is None
    assert not (tmp_path / ("k" * 64)).exists()


def test_a_table_is_cached_only_when_parquet_gives_it_back_exactly(tmp_path):
    from analysis.run.cache import _survives

    same = pd.DataFrame({"a": pd.array(["x", "é", ""], dtype="str"),
                         "b": [1.0, float("nan"), -0.0], "c": [1, 2, 3]})
    path = tmp_path / "t.parquet"
    same.to_parquet(path)
    assert _survives(path, same)
    for changed in (pd.DataFrame({"a": same["a"], "b": same["b"], "c": [1, 2, 4]}),
                    same.astype({"c": "float64"}), same[["b", "a", "c"]],
                    same.set_axis([5, 6, 7])):
        assert not _survives(path, changed)
    mixed = pd.DataFrame({"a": pd.Series([1, 2, 3], dtype=object)})  # object ints: int64 back
    mixed.to_parquet(path)
    assert not _survives(path, mixed)
