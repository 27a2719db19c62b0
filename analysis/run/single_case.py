"""The one-patient part of the pipeline: which single-case analyses a measure gets.

For a study of one patient, :mod:`analysis.run.pipeline` calls :func:`single_case_results` for each
measure (phase indices for the baseline against the infusion days, and the patient against
normative controls at baseline and at the last follow-up) and :func:`dissociation_results` for
each dissociation declared in the study configuration (RSDT).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.data.codebook import Codebook, Measure
from analysis.data.config import StudyConfig
from analysis.errors import InvalidInputError
from analysis.results import combine, result_frame
from analysis.stats.single_case import controls as singlecase
from analysis.stats.single_case import controls_bayes, phase
from analysis.stats.single_case import dissociations as dissociation
from analysis.stats.single_case import phase_effects as effects
from analysis.stats.single_case import phase_overlap as effects_overlap
from analysis.stats.single_case.shares import RESULTS_SHARE  # shares 0-1 in results.csv

#: Fewest observations per phase for the phase indices.
MIN_PHASE_POINTS = 3


def single_case_results(obs_m: pd.DataFrame, ch_m: pd.DataFrame, measure: Measure,
                 config: StudyConfig) -> list[pd.DataFrame]:
    """Phase analysis and comparison against controls for a one-patient study."""
    frames = []
    pid = obs_m["patient_id"].iloc[0]
    side = obs_m["side"].iloc[0]
    base = obs_m[obs_m["phase"] == config.baseline_phase].sort_values("day")
    better = _direction(measure, float(base["value"].iloc[-1]) if not base.empty else None)
    if better is None:
        return [result_frame([{
            "measure": measure.key, "side": side, "patient_id": pid, "analysis": "nap",
            "term": f"{config.treatment_phase} vs {config.baseline_phase}", "n_patients": 1,
            "note": f"single-case indices not computed: the direction of improvement of "
                    f"{measure.key} is '{measure.better}' (codebook) and no norm decides it",
        }])]
    series = obs_m[obs_m["phase"].isin([config.baseline_phase, config.treatment_phase])]
    counts = series["phase"].value_counts()
    n_a, n_b = (int(counts.get(p, 0)) for p in (config.baseline_phase, config.treatment_phase))
    term = f"{config.treatment_phase} vs {config.baseline_phase}"
    if n_a >= MIN_PHASE_POINTS and n_b >= MIN_PHASE_POINTS:
        rows = phase.phase_analysis(
            series, better=better, baseline_phase=config.baseline_phase,
            treatment_phase=config.treatment_phase, measure=measure.key, patient_id=pid,
            share=RESULTS_SHARE,
        )
        frames.append(rows.assign(side=side))
        frames.append(_phase_effects(series, config, better, measure.key, pid, side, term))
    elif n_a or n_b:
        why = (f"not computed: {n_a} {config.baseline_phase} and {n_b} {config.treatment_phase} "
               f"observation(s); the phase analysis needs >= {MIN_PHASE_POINTS} in each phase")
        frames.append(result_frame([
            {"measure": measure.key, "side": side, "patient_id": pid, "analysis": name,
             "term": t, "n_patients": 1, "n_obs": n_a + n_b, "note": why}
            for name, t in [("nap", term), ("tau_u", "A vs B"), ("tau_u", "A vs B - trend A"),
                            ("pnd", term)] + [(n, term) for n in PHASE_EFFECTS]]))
    controls = _controls(measure, config)
    if controls is not None:
        for visit, value in _timepoints(obs_m, ch_m, config):
            common = dict(mean=controls.mean, sd=controls.sd, n=controls.n, better=better)
            for result in (singlecase.crawford_howell(value, **common),
                           singlecase.bayes_single_case(value, **common, seed=config.seed)):
                rows = result.tidy(measure=measure.key, patient_id=pid, side=side,
                                   share=RESULTS_SHARE)
                rows["term"] = [f"{visit}: {t}" if t else visit for t in rows["term"]]
                rows["method"] = rows["method"] + f"; controls: {controls.source or 'configuration'}"
                frames.append(rows)
    return frames


#: Phase effect sizes added to the phase analysis of one patient (analysis names).
PHASE_EFFECTS = ("tau_bc", "smd", "lrr", "lrm", "pem", "pand", "ird", "cdc")


def _phase_effects(series: pd.DataFrame, config: StudyConfig, better: str, key: str, pid: str,
                   side: str, term: str) -> pd.DataFrame:
    """Tau-BC, SMD, LRRi/LRRd, LRM, PEM, PAND, IRD and the CDC of one AB series (values in time
    order; the CDC's trend line over days). Each that the data do not allow gets a row with the
    reason (e.g. a zero mean for the log ratios)."""
    s = series.sort_values("day", kind="mergesort")
    is_a = (s["phase"] == config.baseline_phase).to_numpy()
    y = s["value"].to_numpy(float)
    days = s["day"].to_numpy(float)
    a, b = y[is_a], y[~is_a]
    ids = dict(better=better, term=term, measure=key, patient_id=pid, side=side)
    jobs = {
        "tau_bc": lambda: effects_overlap.tau_bc(a, b, **ids),
        "smd": lambda: effects.smd(a, b, **ids),
        "lrr": lambda: effects.lrr(a, b, **ids),
        "lrm": lambda: effects.lrm(a, b, **ids),
        "pem": lambda: effects_overlap.pem(a, b, **ids, share=RESULTS_SHARE),
        "pand": lambda: effects_overlap.pand(a, b, **ids, share=RESULTS_SHARE),
        "ird": lambda: effects_overlap.ird(a, b, **ids),
        "cdc": lambda: effects_overlap.cdc(a, b, times_a=days[is_a], times_b=days[~is_a], **ids),
    }
    frames = []
    for name, job in jobs.items():
        try:
            frames.append(job())
        except InvalidInputError as err:
            frames.append(result_frame([{"measure": key, "side": side, "patient_id": pid,
                                         "analysis": name, "term": term, "n_patients": 1,
                                         "note": f"not estimable: {err}"}]))
    return pd.concat(frames, ignore_index=True)


def _direction(measure: Measure, baseline: float | None) -> str | None:
    """``lower``/``higher``; for a ``towards_normal`` measure, towards the norm from baseline."""
    if measure.better in ("lower", "higher"):
        return measure.better
    if measure.better == "towards_normal" and measure.norm_mean is not None and baseline is not None:
        return "higher" if baseline < measure.norm_mean else "lower"
    return None


def _controls(measure: Measure, config: StudyConfig) -> Any:
    """Normative controls of a measure: the configuration's, else the codebook's, else None."""
    controls = config.controls.get(measure.key)
    if controls is None and None not in (measure.norm_mean, measure.norm_sd, measure.norm_n):
        controls = _Norm(measure.norm_mean, measure.norm_sd, measure.norm_n, measure.norm_source)
    return controls


def dissociation_results(obs: pd.DataFrame, spec: Any, codebook: Codebook, config: StudyConfig) -> pd.DataFrame:
    """RSDT of one patient at baseline and at the last visit where both measures were taken."""
    mx, my = codebook.measure(spec.measure_x), codebook.measure(spec.measure_y)
    cx, cy = _controls(mx, config), _controls(my, config)
    base = {"measure": "", "patient_id": str(obs["patient_id"].iloc[0]), "analysis": "rsdt",
            "n_patients": 1, "method": "Revised Standardized Difference Test (Crawford & Garthwaite 2005)"}
    pair = obs[obs["measure"].isin([mx.key, my.key]) & (obs["side"] == "")]
    wide = pair.pivot_table(index=["visit", "phase", "day"], columns="measure", values="value").dropna()
    wide = wide.reset_index().sort_values("day")
    if cx is None or cy is None or wide.empty or mx.key not in wide or my.key not in wide:
        why = ("no normative controls for " + " and ".join(k.key for k, c in ((mx, cx), (my, cy)) if c is None)
               if cx is None or cy is None else "the two measures were never taken at the same visit (without side)")
        return result_frame([{**base, "term": f"z({mx.key}) - z({my.key})", "note": why}])
    points = []
    baseline = wide[wide["phase"] == config.baseline_phase]
    if not baseline.empty:
        points.append(baseline.iloc[-1])
    later = wide[wide["phase"] != config.baseline_phase]
    if not later.empty:
        points.append(later.iloc[-1])
    frames = []
    for row in points:
        result = dissociation.rsdt(
            row[mx.key], row[my.key], mean_x=cx.mean, sd_x=cx.sd, mean_y=cy.mean, sd_y=cy.sd,
            r_xy=spec.r, n=min(cx.n, cy.n), better_x=_direction(mx, None),
            better_y=_direction(my, None), label_x=mx.key, label_y=my.key,
        )
        rows = [result.tidy(patient_id=base["patient_id"], share=RESULTS_SHARE)]
        common = dict(mean_x=cx.mean, sd_x=cx.sd, mean_y=cy.mean, sd_y=cy.sd, r_xy=spec.r,
                      n=min(cx.n, cy.n), label_x=mx.key, label_y=my.key,
                      patient_id=base["patient_id"], share=RESULTS_SHARE)
        x, y = _oriented(row[mx.key], mx, cx), _oriented(row[my.key], my, cy)
        rows.append(controls_bayes.bsdt(x, y, **common, seed=config.seed)
                    .assign(method=lambda f: f["method"] + _orient_note(mx, my)))
        if mx.unit and mx.unit == my.unit and _direction(mx, None) == _direction(my, None):
            rows.append(dissociation.udt(row[mx.key], row[my.key], **common))
        rows = pd.concat(rows, ignore_index=True)
        rows["term"] = f"{row['visit']}: " + rows["term"]
        rows["method"] = rows["method"] + (f"; r from {spec.source}" if spec.source else "") + (
            f"; controls n = min({cx.n}, {cy.n})")
        frames.append(rows)
    return combine(frames)


def _oriented(value: float, measure: Measure, controls: Any) -> float:
    """The score mirrored about the control mean when lower is better, so that the BSDT's
    standardised difference is positive when the patient is relatively better on x (as the
    RSDT rows with better_x/better_y)."""
    return 2 * controls.mean - value if _direction(measure, None) == "lower" else value


def _orient_note(mx: Measure, my: Measure) -> str:
    if _direction(mx, None) is None or _direction(my, None) is None:
        return "; z = (score - mean)/SD"
    return "; scores mirrored about the control mean where lower is better (positive = better)"


@dataclass(frozen=True)
class _Norm:
    mean: float
    sd: float
    n: int
    source: str


def _timepoints(obs_m: pd.DataFrame, ch_m: pd.DataFrame,
                            config: StudyConfig) -> list[tuple[str, float]]:
    """The patient's baseline value and last follow-up value (the visits compared with norms)."""
    points = []
    base = obs_m[obs_m["phase"] == config.baseline_phase].sort_values("day")
    if not base.empty:
        points.append(("baseline", float(base["value"].iloc[-1])))
    if not ch_m.empty:
        last = ch_m.sort_values("day").iloc[-1]
        points.append((str(last["visit"]), float(last["value"])))
    return points
