"""Security review, items 5 and 6: C3D sanity checks and a cache that cannot be poisoned silently.

C3D files are built inline with ezc3d from a simulated trial (:mod:`analysis.gait.simulate`).
Every refusal is checked for its message word, exit status 1 and no traceback on the command
line, and every input is checked byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.errors import InvalidInputError
from analysis.gait.c3d import read_c3d
from analysis.gait.importer import import_c3d
from analysis.gait.results import dataset_gait_results
from analysis.gait.simulate import simulate_trial
from analysis.run import cache
from analysis.run.pipeline import run_analysis

ROOT = Path(__file__).resolve().parents[1]
SERIES = ROOT / "data" / "example" / "case_series"
CACHED_EXAMPLE = SERIES  # the example of the cache fixtures (conftest.py)
VICON = Path("/work/shared/reference/gait/vicon_pig_small.c3d")
ANGLES = ("KneeAngles", "HipAngles", "AnkleAngles", "PelvisAngles", "FootProgressAngles")


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------------------------
# Building C3D files
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A simulated baseline trial (2 cycles per side), never modified by the tests."""
    return simulate_trial(tmp_path_factory.mktemp("c3d") / "base.c3d", n_cycles=2, seed=3)


def _parts(path: Path) -> dict:
    """Labels, points, residuals, events and start frame of a C3D file (read with ezc3d)."""
    import ezc3d

    c = ezc3d.c3d(str(path))
    p = c["parameters"]
    ev = p["EVENT"]
    n = int(np.ravel(ev["USED"]["value"])[0])
    times = np.asarray(ev["TIMES"]["value"], dtype=float)
    return {"labels": list(p["POINT"]["LABELS"]["value"]),
            "points": np.asarray(c["data"]["points"], dtype=float),
            "residuals": np.asarray(c["data"]["meta_points"]["residuals"], dtype=float),
            "events": [(float(times[1, k]), ev["CONTEXTS"]["value"][k], ev["LABELS"]["value"][k])
                       for k in range(n)],
            "first": int(c["header"]["points"]["first_frame"]),
            "start": list(np.ravel(p["TRIAL"]["ACTUAL_START_FIELD"]["value"]).astype(int))}


def _write(path: Path, parts: dict, *, subjects: list[tuple[str, str]] = (),
           event_subject=None, angle_units: str | None = "deg") -> Path:
    """Write a C3D file from :func:`_parts`-like content.

    ``subjects``: (name, label prefix) written to SUBJECTS; ``event_subject(k)`` the subject
    name of event k.
    """
    import ezc3d

    labels, points = parts["labels"], parts["points"]
    n = points.shape[2]
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = np.array([100.0])
    c["parameters"]["POINT"]["LABELS"]["value"] = labels
    c["parameters"]["POINT"]["DESCRIPTIONS"]["value"] = [""] * len(labels)
    c["data"]["points"] = points
    c["data"]["meta_points"]["residuals"] = parts["residuals"]
    c["data"]["meta_points"]["camera_masks"] = np.zeros((7, len(labels), n), dtype=bool)
    c.add_parameter("POINT", "UNITS", ["mm"])
    if angle_units is not None:
        c.add_parameter("POINT", "ANGLE_UNITS", [angle_units])
    c.add_parameter("TRIAL", "ACTUAL_START_FIELD", parts["start"])
    if subjects:
        c.add_parameter("SUBJECTS", "USED", [len(subjects)])
        c.add_parameter("SUBJECTS", "NAMES", [s for s, _ in subjects])
        c.add_parameter("SUBJECTS", "LABEL_PREFIXES", [f"{p}:" if p else "" for _, p in subjects])
        c.add_parameter("SUBJECTS", "USES_PREFIXES", [int(any(p for _, p in subjects))])
    c["header"]["points"]["first_frame"] = parts["first"]
    for k, (t, ctx, label) in enumerate(parts["events"]):
        c.add_event([0, t], context=ctx, label=label,
                    subject=event_subject(k) if event_subject else "")
    c.write(str(path))
    return path


def _two_subjects(base: Path, path: Path, *, prefixes: bool = True,
                  names=("Alice", "Bob")) -> Path:
    """Alice's and Bob's points in one file; Bob's knee is 10 degrees more flexed, and Bob's
    events are shifted by 0.05 s so that a mix of both would show."""
    parts = _parts(base)
    bob = parts["points"].copy()
    for i, label in enumerate(parts["labels"]):
        if label.endswith("KneeAngles"):
            bob[0, i] += 10.0
    a, b = names
    if prefixes:
        labels = [f"{a}:{x}" for x in parts["labels"]] + [f"{b}:{x}" for x in parts["labels"]]
        points = np.concatenate([parts["points"], bob], axis=1)
        residuals = np.concatenate([parts["residuals"]] * 2, axis=1)
    else:
        labels, points, residuals = parts["labels"], parts["points"], parts["residuals"]
    events = parts["events"] + [(t + 0.05, ctx, lab) for t, ctx, lab in parts["events"]]
    n = len(parts["events"])
    both = {**parts, "labels": labels, "points": points, "residuals": residuals,
            "events": events}
    return _write(path, both, subjects=[(a, a if prefixes else ""), (b, b if prefixes else "")],
                  event_subject=lambda k: a if k < n else b)


def _radians(base: Path, path: Path, *, unit: str | None = "deg") -> Path:
    """The base trial with every angle output in radians, labelled ``unit``."""
    parts = _parts(base)
    points = parts["points"].copy()
    for i, label in enumerate(parts["labels"]):
        if label[1:] in ANGLES:
            points[:3, i] = np.deg2rad(points[:3, i])
    return _write(path, {**parts, "points": points}, angle_units=unit)


def _duplicate_event(base: Path, path: Path) -> tuple[Path, float]:
    parts = _parts(base)
    t, ctx, label = next(e for e in parts["events"] if e[1:] == ("Left", "Foot Strike"))
    return _write(path, {**parts, "events": [*parts["events"], (t, ctx, label)]}), t


def _zero_frames(base: Path, path: Path) -> Path:
    """The base trial with its header saying no frame and no data section."""
    raw = bytearray(base.read_bytes())
    words = struct.unpack("<10H", raw[:20])
    struct.pack_into("<H", raw, 8, words[3] - 1)  # last frame = first frame - 1
    path.write_bytes(bytes(raw[:(words[8] - 1) * 512]))
    return path


def _import_cli(files, tmp_path, *extra) -> tuple[int, Path]:
    out = tmp_path / "out"
    status = main(["gait", "import", *map(str, files), "--patient", "P01", "--visit", "bl",
                   "--out", str(out), *extra])
    return status, out


def _refused_cli(path: Path, tmp_path: Path, capsys, words: list[str], *extra) -> str:
    before = _sha(path)
    status, out = _import_cli([path], tmp_path, *extra)
    err = capsys.readouterr().err
    assert status == 1, err
    assert err.startswith(f"error: {path.name}: "), err
    assert len(err.strip().splitlines()) == 1, err  # one line
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)
    assert not out.exists()  # nothing written
    assert _sha(path) == before  # input unchanged
    return err


# --------------------------------------------------------------------------------------------
# Item 5: C3D sanity
# --------------------------------------------------------------------------------------------

def test_radians_labelled_degrees_are_refused_naming_point_unit_and_range(base, tmp_path, capsys):
    path = _radians(base, tmp_path / "rad_as_deg.c3d")
    parts = _parts(path)
    knees = {lab: parts["points"][0, parts["labels"].index(lab)] for lab in ("LKneeAngles",
                                                                             "RKneeAngles")}
    label, knee = max(knees.items(), key=lambda kv: np.ptp(kv[1]))
    assert -math.pi < knee.min() and knee.max() < math.pi
    _refused_cli(path, tmp_path, capsys, ["radians labelled as degrees", f"point '{label}'",
                                          "declared unit 'deg' (POINT:ANGLE_UNITS)",
                                          f"{knee.min():.3g} to {knee.max():.3g}",
                                          "Refused, not converted"])


def test_radians_without_a_declared_unit_are_refused_too(base, tmp_path):
    path = _radians(base, tmp_path / "rad_no_unit.c3d", unit=None)
    with pytest.raises(InvalidInputError, match="no POINT:ANGLE_UNITS, so degrees"):
        read_c3d(path)


def test_radians_declared_as_radians_are_converted(base, tmp_path):
    path = _radians(base, tmp_path / "rad.c3d", unit="rad")
    trial, ref = read_c3d(path), read_c3d(base)
    np.testing.assert_allclose(trial.angles[("knee_flexion", "L")],
                               ref.angles[("knee_flexion", "L")], rtol=1e-5, atol=1e-4)
    assert any("converted from rad" in n for n in trial.notes)


def test_degrees_declared_as_radians_are_refused(base, tmp_path):
    parts = _parts(base)
    path = _write(tmp_path / "deg_as_rad.c3d", parts, angle_units="rad")
    with pytest.raises(InvalidInputError, match="'rad'.*degrees labelled as radians"):
        read_c3d(path)


def test_public_files_pass_the_unit_check():
    if not VICON.is_file():
        pytest.skip("reference C3D files not available")
    trial = read_c3d(VICON)
    assert np.nanmax(trial.angles[("knee_flexion", "L")]) > 50


def test_two_subjects_are_refused_listing_them(base, tmp_path, capsys):
    path = _two_subjects(base, tmp_path / "two.c3d")
    err = _refused_cli(path, tmp_path, capsys, ["2 subjects", "Alice", "Bob", "--subject"])
    assert "subject=" in err


def test_subject_option_chooses_points_and_events(base, tmp_path, capsys):
    path = _two_subjects(base, tmp_path / "two.c3d")
    before = _sha(path)
    ref = import_c3d([base], patient_id="P01", visit="bl")
    alice = import_c3d([path], patient_id="P01", visit="bl", subject="Alice")
    pd.testing.assert_frame_equal(alice.curves, ref.curves, rtol=1e-6)
    bob = read_c3d(path, subject="Bob")
    ref_trial = read_c3d(base)
    np.testing.assert_allclose(bob.angles[("knee_flexion", "L")],
                               ref_trial.angles[("knee_flexion", "L")] + 10.0, rtol=1e-6)
    assert [round(e.time - r.time, 6) for e, r in zip(bob.events, ref_trial.events, strict=False)] \
        == [0.05] * len(ref_trial.events)
    # command line: --subject chooses; no subject name in any output
    status, out = _import_cli([path], tmp_path, "--subject", "Bob")
    assert status == 0, capsys.readouterr().err
    for f in out.iterdir():
        data = f.read_bytes()
        assert b"Bob" not in data and b"Alice" not in data, f.name
    assert _sha(path) == before


def test_an_unknown_subject_is_refused_listing_the_subjects(base, tmp_path, capsys):
    path = _two_subjects(base, tmp_path / "two.c3d")
    _refused_cli(path, tmp_path, capsys, ["'Carol' is not in the file", "Alice", "Bob"],
                 "--subject", "Carol")


def test_one_prefixed_subject_needs_no_choice(base, tmp_path):
    parts = _parts(base)
    labels = [f"Alice:{x}" for x in parts["labels"]]
    path = _write(tmp_path / "alice.c3d", {**parts, "labels": labels},
                  subjects=[("Alice", "Alice")], event_subject=lambda k: "Alice")
    ref = import_c3d([base], patient_id="P01", visit="bl")
    pd.testing.assert_frame_equal(import_c3d([path], patient_id="P01", visit="bl").curves,
                                  ref.curves, rtol=1e-6)


def test_prefixes_without_a_subjects_group_count_as_subjects(base, tmp_path):
    parts = _parts(base)
    labels = [f"Alice:{x}" for x in parts["labels"]] + [f"Bob:{x}" for x in parts["labels"]]
    both = {**parts, "labels": labels,
            "points": np.concatenate([parts["points"]] * 2, axis=1),
            "residuals": np.concatenate([parts["residuals"]] * 2, axis=1)}
    path = _write(tmp_path / "prefixes.c3d", both)
    with pytest.raises(InvalidInputError, match="2 subjects \\(Alice, Bob\\)"):
        read_c3d(path)
    trial = read_c3d(path, subject="Alice")
    assert any("EVENT:SUBJECTS is missing" in n for n in trial.notes)


def test_two_subjects_without_prefixes_cannot_be_told_apart(base, tmp_path):
    path = _two_subjects(base, tmp_path / "noprefix.c3d", prefixes=False)
    with pytest.raises(InvalidInputError, match="cannot be told apart"):
        read_c3d(path, subject="Alice")


def test_dataset_gait_folder_refuses_a_two_subject_file(base, tmp_path):
    gait = tmp_path / "gait"
    gait.mkdir()
    path = _two_subjects(base, gait / "bl_trial1.c3d")
    before = _tree_hashes(gait)
    obs = pd.DataFrame({"patient_id": ["P01"], "visit": ["bl"], "day": [0.0]})
    with pytest.raises(InvalidInputError, match="2 subjects.*Alice, Bob.*one subject per file"):
        dataset_gait_results(gait, obs)
    assert _tree_hashes(gait) == before and path.is_file()


def test_a_duplicated_event_is_named(base, tmp_path, capsys):
    path, t = _duplicate_event(base, tmp_path / "dup.c3d")
    _refused_cli(path, tmp_path, capsys, ["duplicate event", "Left Foot Strike", f"{t:.3f} s",
                                          "2 times"])


def test_zero_frames_refused_in_our_words(base, tmp_path, capsys):
    path = _zero_frames(base, tmp_path / "empty.c3d")
    err = _refused_cli(path, tmp_path, capsys, ["no frames"])
    assert "Data::frame" not in err and "ezc3d" not in err.lower()


def test_existing_files_still_import(base):
    trial = read_c3d(base)
    assert trial.n_frames > 0 and len(trial.events) >= 8


# --------------------------------------------------------------------------------------------
# Item 6: the cache (fixtures reference, filled, cache_copy, same_run: conftest.py)
# --------------------------------------------------------------------------------------------

def _poison(entry: Path) -> tuple[int, float]:
    """The attack: change a paired-t estimate to 42 and recompute the checksum the entry
    records, as someone who can write to the cache directory (but not read the key) can."""
    path = entry / "results.parquet"
    table = pd.read_parquet(path)
    row = table.index[table["analysis"] == "paired_t"][0]
    original = float(table.loc[row, "estimate"])
    table.loc[row, "estimate"] = 42.0
    table.to_parquet(path)
    record = json.loads((entry / cache.ENTRY).read_text())
    record["files"][path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    (entry / cache.ENTRY).write_text(json.dumps(record, sort_keys=True, indent=1))
    return row, original


def test_key_file_is_private_and_entries_are_signed(filled):
    directory, entry = filled
    key = directory / cache.SECRET
    assert key.is_file() and not key.is_symlink()
    if os.name != "nt":
        assert key.stat().st_mode & 0o777 == 0o600
        assert key.stat().st_uid == os.getuid()
    assert len(key.read_bytes()) == cache.SECRET_BYTES
    record = json.loads((entry / cache.ENTRY).read_text())
    assert len(record["hmac"]) == 64


def test_a_poisoned_entry_with_its_checksum_recomputed_is_discarded(cache_copy, same_run):
    directory, entry = cache_copy
    inputs = _tree_hashes(SERIES)
    row, original = _poison(entry)
    # the checksum the entry records now matches the poisoned table
    record = json.loads((entry / cache.ENTRY).read_text())
    assert record["files"]["results.parquet"] == _sha(entry / "results.parquet")
    with pytest.warns(cache.CacheWarning, match=f"cache entry .*{entry.name}.* discarded.*HMAC"):
        run = run_analysis(SERIES, cache_dir=directory)
    assert run.results.loc[row, "estimate"] == original != 42.0
    same_run(run)
    # the poisoned entry was replaced by a verified one
    stored = pd.read_parquet(entry / "results.parquet")
    assert stored.loc[row, "estimate"] == original
    with warnings.catch_warnings():
        warnings.simplefilter("error", cache.CacheWarning)
        same_run(run_analysis(SERIES, cache_dir=directory))
    assert _tree_hashes(SERIES) == inputs


def test_a_forged_signature_is_discarded(cache_copy, same_run):
    directory, entry = cache_copy
    _poison(entry)
    record = json.loads((entry / cache.ENTRY).read_text())
    guess = cache.hmac.new(b"\0" * 32, digestmod=hashlib.sha256)
    for name in cache.TABLES:
        cache._feed(guess, f"{name}.parquet", (entry / f"{name}.parquet").read_bytes())
    cache._feed(guess, cache.ENTRY, cache._canonical(record))
    record["hmac"] = guess.hexdigest()
    (entry / cache.ENTRY).write_text(json.dumps(record))
    with pytest.warns(cache.CacheWarning, match="HMAC"):
        same_run(run_analysis(SERIES, cache_dir=directory))


def test_an_entry_signed_with_another_key_is_discarded(cache_copy, same_run):
    directory, _ = cache_copy
    (directory / cache.SECRET).unlink()  # a new key is made: old entries no longer verify
    with pytest.warns(cache.CacheWarning, match="HMAC"):
        same_run(run_analysis(SERIES, cache_dir=directory))


def test_cli_results_csv_unchanged_by_a_poisoned_cache(cache_copy, tmp_path):
    directory, entry = cache_copy
    _poison(entry)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITB_")}
    runs = {}
    for name, extra in (("poisoned", ["--cache-dir", str(directory)]), ("clean", ["--no-cache"])):
        proc = subprocess.run([sys.executable, "-m", "analysis", "analyze", str(SERIES),
                               "--out", str(tmp_path / name), *extra],
                              capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
        assert proc.returncode == 0, proc.stderr
        runs[name] = proc
    assert "discarded" in runs["poisoned"].stderr and "HMAC" in runs["poisoned"].stderr
    assert "Traceback" not in runs["poisoned"].stderr
    assert (tmp_path / "poisoned" / "results.csv").read_bytes() \
        == (tmp_path / "clean" / "results.csv").read_bytes()


def _unsafe_key(directory: Path, how: str) -> None:
    key = directory / cache.SECRET
    if how == "group readable":
        key.chmod(0o640)
    elif how == "symlink":
        target = directory.parent / "elsewhere.key"
        target.write_bytes(key.read_bytes())
        target.chmod(0o600)
        key.unlink()
        key.symlink_to(target)
    elif how == "hard link":
        os.link(key, directory.parent / "second-name.key")
    elif how == "other owner":
        os.chown(key, 54321, -1)
    elif how == "short":
        key.write_bytes(b"abc")


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes and owners")
@pytest.mark.parametrize("how, word", [("group readable", "group or others"),
                                       ("symlink", "symbolic link"),
                                       ("hard link", "hard links"),
                                       ("other owner", "not by this user"),
                                       ("short", "holds 3 bytes")])
def test_an_unsafe_key_file_is_refused_and_the_cache_not_used(cache_copy, same_run, how, word):
    if how == "other owner" and os.getuid() != 0:
        pytest.skip("chown to another user needs root")
    directory, entry = cache_copy
    _unsafe_key(directory, how)
    key_state = os.lstat(directory / cache.SECRET)
    with pytest.warns(cache.CacheWarning, match=f"not used.*{word}.*delete it"):
        run = run_analysis(SERIES, cache_dir=directory)
    same_run(run, manifest=False)  # tables only, as this test compared before conftest.py
    assert entry.is_dir()  # entries are kept (not verifiable, not deleted)
    after = os.lstat(directory / cache.SECRET)
    assert (after.st_mode, after.st_uid, after.st_size) == \
        (key_state.st_mode, key_state.st_uid, key_state.st_size)  # the key file is left alone


def test_a_new_cache_directory_and_key_are_private(tmp_path):
    directory = tmp_path / "new" / "cache"
    tables = {name: pd.DataFrame({"estimate": [0.1125]}) for name in cache.TABLES}
    assert cache.write_entry(directory, "k", tables, meta={"config": {}}) == directory / "k"
    if os.name != "nt":
        assert directory.stat().st_mode & 0o077 == 0
        assert (directory / cache.SECRET).stat().st_mode & 0o777 == 0o600
    got = cache.read_entry(directory, "k", expect={"config": {}})
    assert got["results"]["estimate"].tolist() == [0.1125]


def test_the_key_is_never_replaced_once_made(tmp_path):
    first = cache.cache_secret(tmp_path)
    cache._create_secret(tmp_path / cache.SECRET)  # a second creator loses the O_EXCL race
    assert cache.cache_secret(tmp_path) == first


def test_itb_analyze_refuses_a_two_subject_file_in_the_gait_folder(base, tmp_path, capsys):
    data = tmp_path / "case_report"
    shutil.copytree(ROOT / "data" / "example" / "case_report", data)
    _two_subjects(base, data / "gait" / "bl_d5_trial1.c3d")
    before = _tree_hashes(data)
    status = main(["analyze", str(data), "--out", str(tmp_path / "out"), "--no-cache"])
    err = capsys.readouterr().err
    assert status == 1, err
    problems = [ln for ln in err.strip().splitlines() if not ln.startswith("itb: ")]
    assert "Traceback" not in err and len(problems) == 1, err  # progress lines aside
    assert "bl_d5_trial1.c3d: the file holds 2 subjects (Alice, Bob)" in err
    assert _tree_hashes(data) == before
    assert not (tmp_path / "out" / "results.csv").exists()


def test_a_subject_without_events_is_named(base, tmp_path):
    path = _two_subjects(base, tmp_path / "two.c3d")
    parts = _parts(path)  # every event given to Alice
    import ezc3d

    c = ezc3d.c3d(str(path))
    c["parameters"]["EVENT"]["SUBJECTS"]["value"] = ["Alice"] * len(parts["events"])
    c.write(str(tmp_path / "alice_events.c3d"))
    with pytest.raises(InvalidInputError, match="no event of subject 'Bob'"):
        read_c3d(tmp_path / "alice_events.c3d", subject="Bob")
