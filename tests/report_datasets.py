"""Generated valid datasets for the report invariants (hypothesis strategies).

:func:`datasets` draws a dataset across the dimensions of issue 21: 1-60 patients, 1-8 visits,
with or without day, dose, site, test infusion (continuous, one dose or titrated; bolus; bolus
then continuous), implantation; ordinal (MAS, sided) and continuous primary outcomes; improving,
unchanged and worsening patients; missing reference values and losses to follow-up.
:func:`build_run` analyses one without I/O (:func:`analysis.run.pipeline.analyze`) and returns an
:class:`analysis.run.pipeline.AnalysisRun`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from analysis.data.codebook import load_codebook
from analysis.data.config import StudyConfig
from analysis.data.schema import check_observations

BOOK = load_codebook()
#: Measures drawn, with sides.
MEASURES = {"gait_speed": ("",), "tug": ("",), "mas_knee_ext": ("L", "R"),
            "mrc_knee_ext": ("L", "R")}


@dataclass
class Spec:
    """What was drawn (the tests compare the report with it)."""

    obs: pd.DataFrame
    config: dict
    primary: str
    trends: dict


def _value(measure: str, base: float, trend: int, k: int, rng: np.random.Generator) -> float:
    m = BOOK.measure(measure)
    if m.codes:
        codes = sorted(m.codes)
        i = codes.index(min(codes, key=lambda c: abs(c - base)))
        # better = lower for MAS, higher for MRC; trend +1 improves by one level per visit
        step = -trend if m.better == "lower" else trend
        return float(codes[int(np.clip(i + step * min(k, 2), 0, len(codes) - 1))])
    scale = {"gait_speed": 0.15, "tug": -2.5}[measure]
    v = base + trend * scale * min(k, 2) + rng.normal(0, abs(scale) * 0.05)
    return float(round(max(v, 0.05), 2))


@st.composite
def datasets(draw, max_patients: int = 60) -> Spec:
    n = draw(st.integers(1, max_patients))
    test = draw(st.sampled_from(["none", "one_dose", "titrated", "bolus", "bolus_then_cont"]))
    implant = draw(st.booleans())
    n_post = draw(st.integers(1 if implant or test == "none" else 0, 3))
    doses = draw(st.sampled_from(["recorded", "absent", "zero"]))
    has_day, has_site = draw(st.booleans()), draw(st.booleans())
    primary = draw(st.sampled_from(sorted(MEASURES)))
    others = draw(st.lists(st.sampled_from(sorted(MEASURES)), max_size=2, unique=True))
    measures = list(dict.fromkeys([primary, *others]))
    one_side = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    visits = [("baseline", "baseline", -7.0)]
    n_test = {"none": 0, "one_dose": draw(st.integers(1, 2)), "titrated": draw(st.integers(2, 3)),
              "bolus": draw(st.integers(1, 2)), "bolus_then_cont": 2}[test]
    visits += [(f"ti_d{i + 1}", "test_infusion", -30.0 + i) for i in range(n_test)]
    post_days = draw(st.sampled_from([(90, 180, 365), (1825,), (28, 56, 84)]))
    if implant or test == "none":
        names = {90: "post_m3", 180: "post_m6", 365: "post_m12", 1825: "post_y5", 28: "post_w4",
                 56: "post_w8", 84: "post_w12"}
        visits += [(names[d], "post_implant", float(d)) for d in post_days[:max(n_post, 1)]]
    visits = visits[:8]
    titr = sorted(draw(st.lists(st.sampled_from([40.0, 60.0, 80.0, 120.0]), min_size=2,
                                max_size=2, unique=True)))
    trends = {}
    rows = []
    for p in range(n):
        pid = f"P{p + 1:02d}"
        trend = draw(st.sampled_from([-1, 0, 1]))
        trends[pid] = trend
        n_seen = len(visits) - (draw(st.integers(0, len(visits) - 1))
                                if draw(st.integers(0, 4)) == 0 else 0)
        no_ref = draw(st.integers(0, 6)) == 0
        site = draw(st.sampled_from(["Groningen", "Nijmegen", "Leiden"]))
        for k, (visit, phase, day) in enumerate(visits[:n_seen]):
            if k == 0 and no_ref and n > 1:
                continue
            if phase == "test_infusion":
                i = k - 1
                dose = {"one_dose": 60.0, "titrated": titr[min(i, 1)] + 20.0 * max(i - 1, 0),
                        "bolus": 50.0 + 25.0 * i, "bolus_then_cont": 50.0 if i == 0 else 100.0}[test]
                how = "bolus" if test == "bolus" or (test == "bolus_then_cont" and i == 0) \
                    else "continuous"
            elif phase == "post_implant":
                dose, how = 150.0 + 10 * (k % 2), ""
            else:
                dose, how = 0.0, ""
            if doses == "absent":
                dose = np.nan if phase != "baseline" else 0.0
            elif doses == "zero":
                dose = 0.0
            for m in measures:
                sides = MEASURES[m][:1] if one_side and MEASURES[m] != ("",) else MEASURES[m]
                for s in sides:
                    m_info = BOOK.measure(m)
                    base = {"gait_speed": 0.8, "tug": 14.0}.get(m, 2.0 if m.startswith("mas")
                                                                  else 4.0)
                    # one leg normal: MAS 0 throughout on the left when the patient improves
                    if m.startswith("mas") and s == "L" and trend == 1 and p % 2:
                        base = 0.0
                    v = _value(m, base, trend, k if phase != "baseline" else 0, rng)
                    if m_info.codes and base == 0.0:
                        v = 0.0
                    rows.append({"patient_id": pid, "visit": visit, "measure": m, "value": v,
                                 "phase": phase, "day": day if has_day else np.nan,
                                 "dose_ug_day": dose, "side": s, "unit": m_info.unit or "",
                                 "administration": how, "site": site})
    obs = pd.DataFrame(rows)
    if not has_site:
        obs = obs.drop(columns="site")
    if test not in ("bolus", "bolus_then_cont"):
        obs = obs.drop(columns="administration")
    obs = obs.astype({"value": "float64", "day": "float64", "dose_ug_day": "float64"})
    check_observations(obs)
    config = {"primary_outcome": primary, "reference_visit": "baseline",
              **({"title": "A drawn study"} if draw(st.booleans()) else {})}
    if obs[obs["visit"] == "baseline"].empty or obs["visit"].nunique() < 1:
        config.pop("reference_visit")
    return Spec(obs=obs, config=config, primary=primary, trends=trends)


def build_run(spec: Spec, *, lmm: bool = True, clmm: bool | None = None):
    """Analyse a drawn dataset without I/O and return the run (the linear mixed model fitted
    when ``lmm``, the ordinal one when ``clmm``, by default as ``lmm``)."""
    from analysis.run import pipeline
    from analysis.run.pipeline import AnalysisRun, analyze

    cfg = StudyConfig.from_mapping(spec.config)
    # the mixed models' fits are nearly all of the time of a draw (an ordinal fit up to ~40 s)
    originals = pipeline._visit_model, pipeline._ordinal_model
    if not lmm:
        pipeline._visit_model = lambda *a, **k: []
    if not (lmm if clmm is None else clmm):
        pipeline._ordinal_model = lambda *a, **k: []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results, window, changes = analyze(spec.obs, codebook=BOOK, config=cfg)
    finally:
        pipeline._visit_model, pipeline._ordinal_model = originals
    from analysis.data.config import resolve_reference_visit

    if cfg.reference_visit is None or not cfg.reference_visit_reason:
        cfg = resolve_reference_visit(cfg, spec.obs)
    pts = pd.DataFrame({"patient_id": sorted(spec.obs["patient_id"].unique())})
    return AnalysisRun(observations=spec.obs, patients=pts, changes=changes, results=results,
                       window=window, config=cfg, manifest={"versions": {}}, codebook=BOOK)
