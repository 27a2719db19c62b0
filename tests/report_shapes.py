"""Dataset shapes for the report tests: each built from the simulator's output, transformed.

``SHAPES[name]()`` returns ``(observations, patients, study)``: two DataFrames and the text of a
``study.yaml`` (or None). :func:`write_shape` writes one into a dataset directory.
"""

from __future__ import annotations

from pathlib import Path

from analysis.examples.simulate import simulate_series

_GAIT = ["gait_speed", "tug", "six_mwt", "sprs_total"]
_SPASTIC = ["mas_knee_ext", "mas_hip_add"]
_STRENGTH = ["mrc_knee_ext", "mrc_hip_add"]


def _series(n, seed=11, measures=None, dropout=0.0, missing_rate=0.0):
    measures = measures or [*_GAIT, "knee_flex_lr", *_SPASTIC, *_STRENGTH, "emg_soleus_rms"]
    return simulate_series(n, seed=seed, measures=measures, dropout=dropout,
                           missing_rate=missing_rate)


def no_day():
    obs, pts = _series(1, measures=["tug", "mas_knee_ext"])
    obs = obs[obs["visit"].isin(["baseline", "post_m3", "post_m6"])].drop(columns=["day"])
    return obs, pts, None


def visits_not_named_baseline():
    obs, pts = _series(6, measures=["gait_speed", "tug", "mas_knee_ext", "mrc_knee_ext"])
    obs = obs[obs["visit"].isin(["baseline", "post_m3", "post_m12"])]
    obs = obs.assign(visit=obs["visit"].map({"baseline": "pre", "post_m3": "m3", "post_m12": "m12"}))
    return obs, pts, None


def no_test_infusion():
    obs, pts = _series(1, measures=["gait_speed", "tug", "mas_knee_ext", "mrc_knee_ext"])
    return obs[obs["phase"] != "test_infusion"], pts, None


def implant_only():
    obs, pts = _series(5, measures=["gait_speed", "tug", "mas_knee_ext"])
    return obs[obs["phase"] == "post_implant"], pts, None


def one_side_only():
    obs, pts = _series(6)
    return obs[obs["side"].isin(["", "L"])], pts, None


def no_strength():
    obs, pts = _series(5)
    return obs[~obs["measure"].str.startswith("mrc_")], pts, None


def no_spasticity():
    obs, pts = _series(5, seed=2)
    return obs[~obs["measure"].str.startswith(("mas_", "emg_"))], pts, None


def ordinal_only():
    obs, pts = _series(5, seed=2, measures=[*_SPASTIC, *_STRENGTH])
    return obs, pts, None


def one_patient_two_visits():
    obs, pts = _series(1, measures=["gait_speed", "mas_knee_ext"])
    return obs[obs["visit"].isin(["baseline", "post_m6"])], pts, None


def three_patients():
    obs, pts = _series(3, seed=1)
    return obs, pts, "title: Three patients\nprimary_outcome: tug\n"


def dropouts():
    obs, pts = _series(10, seed=3, dropout=0.4, missing_rate=0.1)
    return obs, pts, None


def primary_absent_at_last_visit():
    obs, pts = _series(6)
    drop = (obs["measure"] == "gait_speed") & (obs["visit"] == "post_m12")
    return obs[~drop], pts, "primary_outcome: gait_speed\nfamilies:\n  gait: [tug, six_mwt]\n"


def different_last_visits():
    obs, pts = _series(6)
    drop = obs["measure"].isin(["six_mwt", "sprs_total"]) & (obs["visit"] == "post_m12")
    return obs[~drop], pts, None


def one_patient_vs_controls():
    obs, pts = _series(1, measures=["gait_speed", "six_mwt", "mas_knee_ext", "mrc_knee_ext"])
    study = ("primary_outcome: gait_speed\nsingle_case:\n  controls:\n"
             "    gait_speed: {mean: 1.31, sd: 0.11, n: 15, source: healthy controls}\n")
    return obs, pts, study


SHAPES = {f.__name__: f for f in (
    no_day, visits_not_named_baseline, no_test_infusion, implant_only, one_side_only,
    no_strength, no_spasticity, ordinal_only, one_patient_two_visits, three_patients, dropouts,
    primary_absent_at_last_visit, different_last_visits, one_patient_vs_controls)}


def write_shape(name: str, directory: Path) -> Path:
    """Write the shape ``name`` as a dataset directory and return it."""
    obs, pts, study = SHAPES[name]()
    directory.mkdir(parents=True, exist_ok=True)
    obs.to_csv(directory / "observations.csv", index=False)
    pts[pts["patient_id"].isin(obs["patient_id"])].to_csv(directory / "patients.csv", index=False)
    if study:
        (directory / "study.yaml").write_text(study, encoding="utf-8")
    return directory
