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


# ----------------------------------------------------------------- issue 21: one per defect

def _obs(rows, sides=("",)):
    import pandas as pd

    out = []
    for pid, visit, phase, day, dose, measure, values, *how in rows:
        for s, v in zip(sides if measure.startswith("mas_") else ("",), values, strict=False):
            out.append({"patient_id": pid, "visit": visit, "phase": phase, "day": day,
                        "dose_ug_day": dose, "measure": measure, "side": s, "value": v,
                        **({"administration": how[0]} if how else {})})
    return pd.DataFrame(out)


def _patients(obs):
    import pandas as pd

    return pd.DataFrame({"patient_id": sorted(obs["patient_id"].unique())})


def one_test_visit_one_dose():
    """Each patient had one test-infusion visit at one dose: no titration may be claimed."""
    rows = []
    for p in ("P01", "P02", "P03"):
        rows += [(p, "baseline", "baseline", -7, 0, "tug", [14.0 + int(p[-1])]),
                 (p, "ti_d1", "test_infusion", -3, 60, "tug", [13.0 + int(p[-1])]),
                 (p, "post_m6", "post_implant", 180, 100, "tug", [11.0 + int(p[-1])])]
    obs = _obs(rows)
    return obs, _patients(obs), "primary_outcome: tug\n"


def bolus_then_rising_doses():
    """A 50 µg bolus then 40 -> 80 -> 120 µg/day: the bolus is an amount; no reduction."""
    rows = []
    for p in ("P01", "P02", "P03", "P04", "P05"):
        k = int(p[-1])
        rows += [(p, "baseline", "baseline", -10, 0, "tug", [15.0 + k], ""),
                 (p, "ti_d1", "test_infusion", -6, 50, "tug", [14.5 + k], "bolus"),
                 (p, "ti_d2", "test_infusion", -5, 40, "tug", [14.0 + k], "continuous"),
                 (p, "ti_d3", "test_infusion", -4, 80, "tug", [13.0 + k], "continuous"),
                 (p, "ti_d4", "test_infusion", -3, 120, "tug", [12.0 + k], "continuous")]
    obs = _obs(rows)
    return obs, _patients(obs), "primary_outcome: tug\n"


def no_dose_column():
    """Every patient had a test-infusion visit, and the data have no dose column."""
    obs, pts = _series(4, measures=["tug", "gait_speed"])
    return obs.drop(columns=["dose_ug_day"]), pts, "primary_outcome: tug\n"


def one_normal_leg():
    """The right leg spastic (MAS 2 -> 1), the left leg normal (0 -> 0): judged per side."""
    rows = [("P01", "baseline", "baseline", -7, 0, "mas_knee_ext", [0.0, 2.0]),
            ("P01", "post_m6", "post_implant", 180, 100, "mas_knee_ext", [0.0, 1.0])]
    obs = _obs(rows, sides=("L", "R"))
    return obs, _patients(obs), "primary_outcome: mas_knee_ext\n"


def single_patient_worse():
    """One patient whose TUG worsened and gait speed halved while MAS improved."""
    rows = [("P01", "baseline", "baseline", -7, 0, "tug", [12.0]),
            ("P01", "baseline", "baseline", -7, 0, "gait_speed", [1.0]),
            ("P01", "baseline", "baseline", -7, 0, "mas_knee_ext", [2.0, 2.0]),
            ("P01", "post_m6", "post_implant", 180, 100, "tug", [24.0]),
            ("P01", "post_m6", "post_implant", 180, 100, "gait_speed", [0.5]),
            ("P01", "post_m6", "post_implant", 180, 100, "mas_knee_ext", [1.0, 1.0])]
    obs = _obs(rows, sides=("L", "R"))
    return obs, _patients(obs), "primary_outcome: mas_knee_ext\n"


def three_centres():
    """A ``site`` column with three centres; a study title in study.yaml."""
    obs, pts = _series(6, measures=["tug", "gait_speed"])
    sites = {p: ("Groningen", "Nijmegen", "Leiden")[i % 3]
             for i, p in enumerate(sorted(obs["patient_id"].unique()))}
    obs = obs.assign(site=obs["patient_id"].map(sites))
    return obs, pts, "title: ITB at three centres\nprimary_outcome: tug\n"


def two_patients():
    """Two patients: a paired t-test with df 1 is said not to support inference."""
    obs, pts = _series(2, seed=5, measures=["tug", "gait_speed"])
    return obs, pts, "primary_outcome: tug\n"


def all_non_responders():
    """Six patients whose every value after baseline equals their baseline value."""
    obs, pts = _series(6, measures=["tug", "gait_speed"])
    keys = ["patient_id", "measure", "side"]
    base = obs[obs["visit"] == "baseline"].set_index(keys)["value"]
    obs = obs.assign(value=base.reindex(obs.set_index(keys).index).to_numpy())
    return obs, pts, "primary_outcome: tug\n"


def only_five_years():
    """Baseline and a single follow-up five years after implantation."""
    obs, pts = _series(5, measures=["tug", "gait_speed"])
    obs = obs[obs["visit"].isin(["baseline", "post_m12"])]
    obs = obs.assign(visit=obs["visit"].replace({"post_m12": "post_y5"}),
                     day=obs["day"].where(obs["visit"] == "baseline", 1825.0))
    return obs, pts, "primary_outcome: tug\n"


def week_visits():
    """Visits numbered in weeks: week_0 (baseline), week_12, week_52."""
    obs, pts = _series(5, measures=["tug", "gait_speed"])
    names = {"baseline": "week_0", "post_m3": "week_12", "post_m12": "week_52"}
    obs = obs[obs["visit"].isin(list(names))]
    return obs.assign(visit=obs["visit"].map(names)), pts, "primary_outcome: tug\n"


#: German visit names of a clinic's sheet (no codebook labels for them).
GERMAN = {"baseline": "Ausgangsbefund", "ti_d2": "Testinfusion_Tag2", "ti_d4": "Testinfusion_Tag4",
          "post_m3": "Kontrolle_3Monate", "post_m12": "Kontrolle_12Monate"}


def german_visits():
    """German visit names throughout."""
    obs, pts = _series(5, measures=["tug", "gait_speed"])
    obs = obs[obs["visit"].isin(list(GERMAN))]
    return obs.assign(visit=obs["visit"].map(GERMAN)), pts, "primary_outcome: tug\n"


def patient_without_baseline():
    """Six patients; P01 has no baseline visit (no reference value of any measure)."""
    obs, pts = _series(6, measures=["tug", "gait_speed"])
    obs = obs[~((obs["patient_id"] == "P01") & (obs["visit"] == "baseline"))]
    return obs, pts, "primary_outcome: tug\nreference_visit: baseline\n"


def escalating_boluses():
    """Two test boluses each (50 then 75 µg, upper-case BOLUS), a sided MAS, pump doses:
    every bolus named, no titration, no dose slope or therapeutic window on amounts."""
    rows = []
    for k, p in enumerate(("H1", "H2", "H3")):
        rows += [(p, "baseline", "baseline", -3, 0, "mas_hip_add", [3, 2], ""),
                 (p, "bolus50", "test_infusion", 0, 50, "mas_hip_add", [2, 1], "BOLUS"),
                 (p, "bolus50", "test_infusion", 0, 50, "mrc_hip_add", [4, 4], "BOLUS"),
                 (p, "bolus75", "test_infusion", 2, 75, "mas_hip_add", [1, 1], "Bolus"),
                 (p, "bolus75", "test_infusion", 2, 75, "mrc_hip_add", [4, 3], "Bolus"),
                 (p, "m6", "post_implant", 180, 150 - 30 * (k == 2), "mas_hip_add", [1, 1], "")]
    obs = _obs(rows, sides=("R", "L"))
    return obs, _patients(obs), "primary_outcome: mas_hip_add\n"


def pgic_primary():
    """PGIC (rated at follow-up only) as the primary outcome; one patient rates much worse."""
    rows = []
    for k, p in enumerate(("Q1", "Q2", "Q3", "Q4")):
        rows += [(p, "baseline", "baseline", -2, 0, "sprs_total", [20.0]),
                 (p, "post_m6", "post_implant", 180, 120, "sprs_total", [18.0]),
                 (p, "post_m6", "post_implant", 180, 120, "pgic", [(2, 3, 2, 6)[k]])]
    obs = _obs(rows)
    return obs, _patients(obs), "primary_outcome: pgic\n"


ISSUE_21 = {f.__name__: f for f in (
    one_test_visit_one_dose, bolus_then_rising_doses, no_dose_column, one_normal_leg,
    single_patient_worse, three_centres, two_patients, all_non_responders, only_five_years,
    week_visits, german_visits, patient_without_baseline, escalating_boluses, pgic_primary)}
SHAPES.update(ISSUE_21)
