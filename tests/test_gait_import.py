"""C3D import on two real public files, checked against an independent reader (the pure-Python
``c3d`` package, test-only), plus malformed files, identifiers and the command line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.errors import InvalidInputError
from analysis.gait.c3d import read_c3d
from analysis.gait.cycles import find_cycles, gait_cycles, normalise
from analysis.gait.importer import import_c3d, write_import
from analysis.gait.scalars import cycle_scalars
from analysis.gait.simulate import simulate_trial

c3d = pytest.importorskip("c3d")

FIXTURES = Path(__file__).parent / "fixtures" / "gait"
VICON = FIXTURES / "vicon_pig_small.c3d"
TREADMILL = FIXTURES / "treadmill_events.c3d"
SUBJECT = "19290829m"  # the subject-name field of VICON: a birth date plus a sex code
TOL = 0.15  # degrees


def _reference(path: Path) -> dict:
    """Events and knee angles read with the `c3d` package, cycles computed by hand."""
    with open(path, "rb") as handle:
        r = c3d.Reader(handle)
        labels = [label.strip() for label in r.point_labels]
        frames = [p for _, p, _ in r.read_frames()]
        first = int(r.get("TRIAL:ACTUAL_START_FIELD").int16_array[0])
        rate = float(r.point_rate)
        times = r.get("EVENT:TIMES").float_array
        contexts = [s.strip() for s in r.get("EVENT:CONTEXTS").string_array]
        kinds = [s.strip() for s in r.get("EVENT:LABELS").string_array]
    knee = {s: np.array([f[labels.index(s + "KneeAngles"), 0] for f in frames]) for s in "LR"}
    # 0-based sample index = round(t * rate) + 1 - first frame (Nexus times count from the
    # uncropped capture, whose frame 1 is at t = 0)
    events = sorted((int(round((m * 60 + sec) * rate)) + 1 - first, ctx[0], kind)
                    for (m, sec), ctx, kind in zip(times, contexts, kinds, strict=False))
    out = {"knee": knee, "events": events, "cycles": []}
    for side in "LR":
        strikes = [f for f, s, k in events if s == side and k == "Foot Strike"]
        for a, b in zip(strikes, strikes[1:], strict=False):
            off = [f for f, s, k in events if s == side and k == "Foot Off" and a < f < b][0]
            out["cycles"].append({"side": side, "ic": knee[side][a],
                                  "swing": knee[side][off:b + 1].max(), "a": a, "b": b})
    return out


@pytest.mark.parametrize("path, n_events, n_cycles", [(VICON, 13, 2), (TREADMILL, 43, 10)])
def test_events_and_cycle_counts(path, n_events, n_cycles):
    trial = read_c3d(path)
    ref = _reference(path)
    assert len(trial.events) == n_events
    mine = sorted((int(round(e.position)), e.side, e.kind) for e in trial.events)
    theirs = sorted((f, s, {"Foot Strike": "foot_strike", "Foot Off": "foot_off"}[k])
                    for f, s, k in ref["events"])
    assert mine == theirs
    cycles = find_cycles(trial)
    for side in "LR":
        assert sum(c.included and c.side == side for c in cycles) == n_cycles


@pytest.mark.parametrize("path", [VICON, TREADMILL])
def test_knee_at_initial_contact_and_peak_swing_match_an_independent_reader(path):
    ref = _reference(path)
    scalars, _ = cycle_scalars(read_c3d(path))
    wide = scalars.pivot_table(index=["side", "cycle"], columns="measure", values="value")
    for side in "LR":
        cycles = [c for c in ref["cycles"] if c["side"] == side]
        got = wide.loc[side]
        assert len(got) == len(cycles)
        for number, c in enumerate(cycles, start=1):
            assert abs(got.loc[number, "knee_flex_ic"] - c["ic"]) < TOL
            assert abs(got.loc[number, "knee_flex_swing_peak"] - c["swing"]) < TOL


def test_event_offset_agrees_with_the_force_plate_contact():
    """The model's ground reaction force starts (is no longer a gap) at the foot strike."""
    import ezc3d

    trial = read_c3d(VICON)
    raw = ezc3d.c3d(str(VICON))
    labels = list(raw["parameters"]["POINT"]["LABELS"]["value"])
    for side, first_contact in (("L", 94), ("R", 41)):
        grf = raw["data"]["points"][0, labels.index(side + "GroundReactionForce"), :]
        assert int(np.flatnonzero(~np.isnan(grf))[0]) == first_contact
        strikes = [e.position for e in trial.events if e.side == side and e.kind == "foot_strike"]
        assert round(strikes[0]) == first_contact


def test_angles_in_degrees_not_scaled_as_millimetres():
    trial = read_c3d(VICON)
    knee = trial.angles[("knee_flexion", "L")]
    assert 40 < np.nanmax(knee) < 90  # peak swing flexion in degrees, not 0.06 (mm -> m)
    assert np.allclose(knee, _reference(VICON)["knee"]["L"], atol=1e-4)


def test_curves_101_points_linear_interpolation_from_the_raw_samples():
    trial = read_c3d(VICON)
    curves, table = gait_cycles(trial)
    ref = _reference(VICON)
    c = [x for x in ref["cycles"] if x["side"] == "R"][0]
    got = curves[(curves.side == "R") & (curves.cycle == 1) & (curves.variable == "knee_flexion")]
    assert got["pct"].tolist() == list(np.linspace(0, 100, 101))
    x = np.linspace(c["a"], c["b"], 101)  # by hand, from the other reader's samples
    expected = np.interp(x, np.arange(len(ref["knee"]["R"])), ref["knee"]["R"])
    assert np.max(np.abs(got["value"].to_numpy() - expected)) < TOL
    assert set(curves["variable"]) >= {"knee_flexion", "hip_flexion", "ankle_dorsiflexion",
                                       "pelvis_tilt"}
    assert table["included"].all()


def test_loading_response_uses_the_opposite_foot_off():
    trial = read_c3d(VICON)
    ref = _reference(VICON)
    scalars, _ = cycle_scalars(trial)
    knee = ref["knee"]["L"]
    events = ref["events"]
    strikes = [f for f, s, k in events if s == "L" and k == "Foot Strike"]
    a = strikes[0]
    opp = [f for f, s, k in events if s == "R" and k == "Foot Off" and f > a][0]
    got = scalars[(scalars.side == "L") & (scalars.cycle == 1) & (scalars.measure == "knee_flex_lr")]
    assert abs(got["value"].item() - knee[a:opp + 1].max()) < TOL
    assert got["note"].item() == ""


def test_treadmill_trial_has_no_stride_length_but_a_note():
    scalars, notes = cycle_scalars(read_c3d(TREADMILL))
    assert "stride_length" not in set(scalars["measure"])
    assert any("treadmill" in n for n in notes)
    vicon, _ = cycle_scalars(read_c3d(VICON))
    speed = vicon[vicon.measure == "gait_lab_speed"]["value"]
    assert 0.8 < speed.mean() < 1.6


def test_no_identifier_reaches_any_output(tmp_path):
    named = tmp_path / "Jane_Doe_19290829.c3d"
    shutil.copy(VICON, named)
    result = import_c3d([named], patient_id="P01", visit="baseline", phase="baseline")
    paths = write_import(result, tmp_path / "out")
    assert sorted(p.name for p in paths) == ["curves.parquet", "cycles.csv", "import_notes.txt",
                                             "observations.csv"]
    for p in paths:
        text = p.read_bytes()
        for secret in (SUBJECT.encode(), b"19290829", b"Jane", b"Doe"):
            assert secret not in text, (p.name, secret)
    curves = pd.read_parquet(tmp_path / "out" / "curves.parquet")
    assert list(curves.columns) == ["patient_id", "visit", "side", "trial", "cycle", "variable",
                                    "pct", "value"]
    assert set(curves["trial"]) == {1}


def test_observations_pass_itb_validate(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["gait", "import", str(VICON), "--patient", "P01", "--visit", "baseline",
                 "--phase", "baseline", "--day", "-3", "--out", str(out)]) == 0
    assert main(["validate", str(out / "observations.csv")]) == 0
    assert "valid" in capsys.readouterr().out
    obs = pd.read_csv(out / "observations.csv")
    assert {"knee_flex_ic", "knee_flex_lr", "knee_flex_swing_peak", "gait_lab_speed", "cadence",
            "stride_length", "stance_pct"} <= set(obs["measure"])


def test_identifier_as_patient_code_is_refused():
    with pytest.raises(InvalidInputError, match="pseudonymous"):
        import_c3d([VICON], patient_id="19290829m", visit="baseline")


def _malformed(tmp_path: Path, case: str) -> tuple[Path, str]:
    import ezc3d

    raw = VICON.read_bytes()
    if case == "not a C3D":
        p = tmp_path / "notes.c3d"
        p.write_text("patient,visit\nP01,baseline\n")
        return p, "not a C3D file"
    if case == "truncated":
        p = tmp_path / "truncated.c3d"
        p.write_bytes(raw[:700_000])
        return p, "truncated file"
    if case == "header only":
        p = tmp_path / "header_only.c3d"
        p.write_bytes(raw[:3000])
        return p, "truncated|not a readable C3D"
    if case == "one side":
        return simulate_trial(tmp_path / "one_side.c3d", omit_side="Right"), "one side only"
    c = ezc3d.c3d(str(VICON))
    if case == "no events":
        del c["parameters"]["EVENT"]
        message = "no gait events"
    else:  # cropped: the file starts after the last event of the capture
        c.add_parameter("TRIAL", "ACTUAL_START_FIELD", [5000, 0])
        message = "cropped trial"
    p = tmp_path / f"{case.replace(' ', '_')}.c3d"
    c.write(str(p))
    return p, message


@pytest.mark.parametrize("case", ["not a C3D", "truncated", "header only", "one side",
                                  "no events", "cropped"])
def test_malformed_files_refused_cleanly(tmp_path, capsys, case):
    path, message = _malformed(tmp_path, case)
    out = tmp_path / "out"
    status = main(["gait", "import", str(path), "--patient", "P01", "--visit", "bl", "--out",
                   str(out)])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"error: {path.name}: ")
    assert re.search(message, err)
    assert "Traceback" not in err
    assert not out.exists()  # nothing half-written


def test_a_bad_file_among_good_ones_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.c3d"
    bad.write_bytes(VICON.read_bytes()[:700_000])
    out = tmp_path / "out"
    assert main(["gait", "import", str(VICON), str(bad), "--patient", "P01", "--visit", "bl",
                 "--out", str(out)]) == 1
    assert not out.exists()


def test_cycle_with_a_gap_is_excluded_with_a_note(tmp_path):
    path = simulate_trial(tmp_path / "gap.c3d", gap=("LKneeAngles", 200, 205))
    trial = read_c3d(path)
    cycles = find_cycles(trial)
    bad = [c for c in cycles if not c.included]
    assert len(bad) == 1 and bad[0].side == "L" and "gap in knee_flexion" in bad[0].note
    result = import_c3d([path], patient_id="P01", visit="bl")
    assert any("gap in knee_flexion" in n for n in result.notes)


def test_missing_start_field_falls_back_to_the_header(tmp_path):
    path = simulate_trial(tmp_path / "nostart.c3d", drop_first_start=True)
    trial = read_c3d(path)
    assert any("ACTUAL_START_FIELD" in n for n in trial.notes)
    assert sum(c.included for c in find_cycles(trial)) == 6


def test_normalise_endpoints_are_the_event_values():
    y = np.arange(10.0) ** 2
    v = normalise(y, 2.0, 7.0)
    assert v[0] == 4.0 and v[-1] == 49.0 and len(v) == 101
