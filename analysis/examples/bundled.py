"""The bundled example datasets: one patient modelled on the published case, and a simulated
case series (:func:`analysis.examples.simulate.simulate_series`), written to ``data/example/``.

:func:`simulate_case_report` builds one patient modelled on the published case (Arch Phys Med
Rehabil 2015, doi:10.1016/j.apmr.2015.01.012); :func:`write_example_data` writes both datasets
byte-stably. Values are illustrative and say so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.examples.simulate import (
    COLUMNS,
    MAS_CODES,
    MAS_LEVELS,
    _rng,
    _spec,
    simulate_series,
)

CASE_DOSES = (20, 30, 40, 50, 60, 70, 80, 90, 100, 108, 130, 108, 108, 108)
# Dose from which each MAS (muscle, side) falls from 2 to 1+ and from 1+ to 1 (illustrative;
# at 108 every one is 1 grade lower than at baseline, the case's "spasticity decreased").
_CASE_MAS = {("knee_ext", "L"): (60, 80), ("knee_ext", "R"): (70, 90),
             ("hip_add", "L"): (50, 80), ("hip_add", "R"): (60, 80),
             ("ankle_pf", "L"): (70, 90), ("ankle_pf", "R"): (80, 100),
             ("knee_flex", "L"): (0, 80), ("knee_flex", "R"): (0, 80)}
_CASE_MRC = {"knee_ext": 5, "knee_flex": 4, "hip_add": 4, "ankle_pf": 5}
CASE_NOTE = ("Illustrative patient modelled on the published case (Arch Phys Med Rehabil 2015, "
             "doi:10.1016/j.apmr.2015.01.012): age and sex as published; genotype and disease "
             "duration not reported; every measurement is simulated, not the patient's data.")


def simulate_case_report(*, seed: int = 108) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One patient modelled on the published case report: (observations, patients).

    Five baseline days (``bl_d1``..``bl_d5``, days -5..-1), fourteen test-infusion days
    (``ti_d1``..``ti_d14``, doses :data:`CASE_DOSES`, ending at 108 ug/day) and two visits after
    implantation (``post_m3``, ``post_m6`` at 108 ug/day). MAS and MRC follow a fixed design
    (every spasticity grade one lower at 80-108 ug/day, strength kept at 108 and one grade lower
    at the transient 130); gait speed, TUG and EMG add seeded noise. Gait speed doubles after
    implantation and knee flexion at loading response rises from about 5 to 15 degrees.

    Examples
    --------
    >>> obs, pts = simulate_case_report()
    >>> obs.loc[obs["phase"] == "test_infusion", "dose_ug_day"].iloc[-1]
    np.float64(108.0)
    >>> pts[["patient_id", "age", "sex"]].values.tolist()
    [['P01', 49, 'M']]
    """
    rng = _rng(seed, 2)
    rows: list[tuple] = []
    last_baseline = 0.45
    visits = [(f"bl_d{i}", "baseline", float(i - 6), 0.0) for i in range(1, 6)]
    visits += [(f"ti_d{i}", "test_infusion", float(i), float(d))
               for i, d in enumerate(CASE_DOSES, start=1)]
    visits += [("post_m3", "post_implant", 105.0, 108.0), ("post_m6", "post_implant", 196.0,
                                                           108.0)]
    for visit, phase, day, dose in visits:
        post = phase == "post_implant"

        def add(measure, value, unit, side="", visit=visit, phase=phase, day=day, dose=dose):
            rows.append(("P01", visit, phase, day, dose, measure, side, float(value), unit))

        # Speed 0.45 m/s at baseline, a little faster at effective test doses, doubled after
        # implantation; noise SD 0.04 m/s (MDC95 0.10-0.15 m/s at 0.4-0.8 m/s, Lewek 2019).
        # After implantation the speed is set to 1.9 and 2.0 times the last baseline value.
        effect = min(max((dose - 40) / 68, 0), 1)
        speed = 0.45 + 0.12 * effect - (0.05 if dose > 110 else 0)
        observed = round(speed + rng.normal(0, 0.04), 2)
        if post:
            speed = (1.9 if visit == "post_m3" else 2.0) * last_baseline
            observed = round(speed + rng.normal(0, 0.01), 2)
        elif phase == "baseline":
            last_baseline = observed
        add("gait_speed", observed, "m/s")
        add("tug", round((3.5 + 7 / speed) * np.exp(rng.normal(0, 0.05)), 1), "s")
        for (muscle, side), (to_1p, to_1) in _CASE_MAS.items():
            base = 1.5 if muscle == "knee_flex" else 2.0
            if post or dose >= to_1:
                mas = 1.0
            elif dose >= to_1p and dose > 0:
                mas = 1.5
            else:
                mas = base
            add(f"mas_{muscle}", mas, "grade", side)
        for muscle, mrc in _CASE_MRC.items():
            for side in "LR":
                add(f"mrc_{muscle}", mrc - (dose > 110), "grade", side)
        for side, e0 in (("L", 48.0), ("R", 53.0)):
            emg = e0 * (1 - 0.45 * dose**2 / (dose**2 + 75**2)) * np.exp(rng.normal(0, 0.1))
            add("emg_soleus_rms", round(emg, 1), "uV", side)
        if visit in ("bl_d5", "post_m3", "post_m6"):  # motion lab and SPRS
            for side in "LR":
                knee = {"bl_d5": 5.0, "post_m3": 14.0, "post_m6": 15.0}[visit]
                add("knee_flex_lr", round(knee + rng.normal(0, 1.0), 1), "deg", side)
            add("sprs_total", {"bl_d5": 21, "post_m3": 17, "post_m6": 16}[visit], "points")
        if visit in ("ti_d14", "post_m3", "post_m6"):
            add("pgic", {"ti_d14": 3, "post_m3": 2, "post_m6": 1}[visit], "points")
    obs = pd.DataFrame(rows, columns=COLUMNS)
    patients = pd.DataFrame({"patient_id": ["P01"], "age": [49], "sex": ["M"],
                             "genotype": ["unknown"], "disease_duration": [np.nan],
                             "note": [CASE_NOTE]})
    return obs, patients


_ILLUSTRATIVE = ("illustrative values, not the published patient's data; the abstract gives "
                 "no per-visit numbers")
_CONTROLS = """single_case:
  baseline_phase: baseline
  treatment_phase: test_infusion
  controls:   # normative data for one-patient comparisons (mean, sd, n, source)
    gait_speed: {mean: 1.31, sd: 0.11, n: 15, source: "van de Venis (Radboud University thesis, ch. 6): comfortable treadmill speed of 15 healthy controls aged 49 +/- 11 years"}
"""
_FAMILIES = """families:
  primary: [gait_speed]
  secondary: [tug, %sknee_flex_lr, sprs_total]
  spasticity: [mas_knee_ext, mas_knee_flex, mas_hip_add, mas_ankle_pf]
  strength: [mrc_knee_ext, mrc_knee_flex, mrc_hip_add, mrc_ankle_pf]
seed: 20150112
df_method: satterthwaite
therapeutic_window: {spasticity: [mas_knee_ext, mas_hip_add, mas_ankle_pf], strength: [mrc_knee_ext, mrc_hip_add, mrc_ankle_pf]}
"""
_STUDY = {
    "case_series": "# case_series/study.yaml (written by analysis.examples.bundled.write_example_data)\n"
    "title: Simulated ITB case series (illustrative)\nreference_visit: baseline\nbaseline: last\n"
    "primary_outcome: gait_speed\n" + _FAMILIES % "six_mwt, " + _CONTROLS,
    "case_report": "# case_report/study.yaml (written by analysis.examples.bundled.write_example_data)\n"
    "title: Continuous ITB test infusion and pump implantation in HSP, illustrative case "
    "report\nreference_visit: bl_d5\nbaseline: last\nprimary_outcome: gait_speed\n"
    + _FAMILIES % "" + _CONTROLS,
}
_README = {
    "case_series": """# Simulated ITB case series (illustrative)

Simulated data, no real patients: {n} patients with hereditary spastic paraplegia seen at
baseline (day -7), on three test-infusion days at rising doses (`ti_d2`, `ti_d4`, `ti_d6`:
a quarter, half and three quarters of the settled dose) and 3, 6 and 12 months after pump
implantation at the settled dose (50-150 ug/day). Written by
`analysis.examples.bundled.write_example_data()` from `simulate_series(n_patients={n}, seed={seed})`;
`tests/test_simulate.py` checks that these files equal what the code produces.

Values are illustrative, drawn around published figures (see `analysis/examples/simulate.py`): baseline
comfortable gait speed 0.88 +/- 0.26 m/s (HSP, van de Venis), noise at the codebook SEM,
spasticity falling with dose, strength mostly kept. Missing data are deliberate: random missing
measures ({missing:.0%} of visits), dropout after implantation ({dropout:.0%} of patients), and
patients without motion-lab gait analysis (`knee_flex_lr`).
""",
    "case_report": """# Illustrative case report: continuous ITB test infusion in HSP

One patient modelled on the published case (Arch Phys Med Rehabil 2015,
doi:10.1016/j.apmr.2015.01.012): a 49-year-old man with HSP whose spasticity did not respond to
oral spasmolytics; continuous ITB test infusion raised gradually to 108 ug/day; at 108 ug/day
spasticity decreased while strength was kept; after pump implantation walking speed doubled and
knee flexion at loading response increased.

**These are {illustrative}.** They only reproduce the reported direction of the findings.
The one-day step to 130 ug/day (`ti_d11`), at which strength falls one MRC grade in every muscle group,
is invented to show the upper edge of the therapeutic window.

Visits: `bl_d1`..`bl_d5` (days -5..-1, no ITB), `ti_d1`..`ti_d14` (daily during the test
infusion, 20 -> 108 ug/day), `post_m3` and `post_m6` after implantation (108 ug/day). Written by
`analysis.examples.bundled.write_example_data()` from `simulate_case_report(seed={seed})`;
`tests/test_simulate.py` checks that these files equal what the code produces.
""",
}
_FILES = """
Files: `observations.csv` (tidy, one row per observation: patient_id, visit, phase, day
relative to the start of the test infusion, dose_ug_day, measure, side L/R or empty, value,
unit; `,`-separated, `.` decimal, UTF-8; MAS written as clinicians record it, `1+` included;
missing observations are absent rows), `patients.csv` (age, sex, genotype, disease duration in
years), `study.yaml` (primary outcome, families, therapeutic-window measures, normative
controls for one-patient tests).
"""
SERIES_ARGS = {"n_patients": 20, "seed": 2015, "missing_rate": 0.08, "dropout": 0.1}
CASE_SEED = 108


def observations_csv(obs: pd.DataFrame) -> str:
    """The observations as CSV text with fixed number formatting (byte-stable).

    MAS is written as its label (``1+`` for 1.5), as clinicians record it; other values with
    the decimals of the measure; ``day`` and ``dose_ug_day`` with ``%g``.

    Examples
    --------
    >>> obs, _ = simulate_case_report()
    >>> observations_csv(obs).splitlines()[0]
    'patient_id,visit,phase,day,dose_ug_day,measure,side,value,unit'
    """
    out = obs[COLUMNS].copy()
    text = []
    label = dict(zip(MAS_CODES, MAS_LEVELS, strict=False))
    for key, value in zip(out["measure"], out["value"], strict=False):
        if key.startswith("mas_"):
            text.append(label[value])
        else:
            text.append(f"{value:.{_spec(key)[3]}f}")
    out["value"] = text
    for col in ("day", "dose_ug_day"):
        out[col] = [f"{x:g}" for x in out[col]]
    return out.to_csv(index=False, lineterminator="\n")


def patients_csv(patients: pd.DataFrame) -> str:
    """The patients table as CSV text (disease duration with one decimal)."""
    return patients.to_csv(index=False, lineterminator="\n", float_format="%.1f")


def example_files() -> dict[str, str]:
    """Relative path -> text of every file :func:`write_example_data` writes."""
    series, series_pts = simulate_series(**SERIES_ARGS)
    case, case_pts = simulate_case_report(seed=CASE_SEED)
    fmt = {"n": SERIES_ARGS["n_patients"], "seed": SERIES_ARGS["seed"],
           "missing": SERIES_ARGS["missing_rate"], "dropout": SERIES_ARGS["dropout"]}
    return {
        "case_report/observations.csv": observations_csv(case),
        "case_report/patients.csv": patients_csv(case_pts),
        "case_report/README.md": _README["case_report"].format(
            illustrative=_ILLUSTRATIVE, seed=CASE_SEED) + _FILES,
        "case_report/study.yaml": _STUDY["case_report"],
        "case_series/observations.csv": observations_csv(series),
        "case_series/patients.csv": patients_csv(series_pts),
        "case_series/README.md": _README["case_series"].format(**fmt) + _FILES,
        "case_series/study.yaml": _STUDY["case_series"],
    }


def write_example_data(root: Path = Path("data/example")) -> list[Path]:
    """Write the example datasets (UTF-8, ``,``-separated, ``.`` decimal) under ``root``.

    Returns the paths written: ``case_report/`` and ``case_series/``, each with
    ``observations.csv``, ``patients.csv``, ``README.md`` and ``study.yaml``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_example_data(Path(tmp))
    ...     sorted(p.relative_to(tmp).as_posix() for p in paths)[:2]
    ['case_report/README.md', 'case_report/observations.csv']
    """
    written = []
    for rel, text in example_files().items():
        path = Path(root) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written
