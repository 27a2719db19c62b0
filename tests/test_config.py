"""Study configuration: defaults, validation messages, families."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.data.codebook import load_codebook
from analysis.data.config import (
    PrimaryOutcome,
    StudyConfig,
    check_config,
    load_config,
    resolve_primary_outcome,
    resolve_reference_visit,
)
from analysis.errors import ConfigError


def test_defaults_are_documented_values():
    cfg = load_config(None)
    assert (cfg.reference_visit, cfg.baseline, cfg.df_method, cfg.seed) == (
        None, "last", "satterthwaite", 20151)
    assert cfg.families == {} and cfg.family_of("tug") is None


def test_primary_outcome_gets_its_own_family_when_not_listed():
    cfg = StudyConfig.from_mapping({"primary_outcome": "gait_speed", "families": {"sec": ["tug"]}})
    assert cfg.family_of("gait_speed") == "primary"
    assert cfg.family_of("tug") == "sec"


def test_unknown_key_names_the_key_and_suggests(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("primary_outcom: tug\n")
    with pytest.raises(ConfigError, match=r"study.yaml: unknown configuration key 'primary_outcom'; did you mean 'primary_outcome'"):
        load_config(path)


@pytest.mark.parametrize("text, message", [
    ("df_method: kenward\n", "df_method: 'kenward' is not one of satterthwaite, kenward-roger; "
                             "did you mean 'kenward-roger'"),
    ("baseline: first\n", "baseline: 'first' is not one of last, mean"),
    ("single_case: {treatment_phase: infusion}\n", "single_case.treatment_phase: 'infusion' is not one of"),
    ("families: 5\n", "families must be a mapping"),
    ("seed: abc\n", "seed and bootstrap.n_boot must be integers"),
    ("single_case: {controls: {tug: {mean: 8, sd: 0, n: 20}}}\n", "sd must be > 0"),
    ("single_case: {controls: {tug: {mean: 8}}}\n", "needs numbers mean, sd and n"),
    ("- a\n- b\n", "must be a mapping"),
    ("a: [\n", "not valid YAML"),
])
def test_bad_values_are_named(tmp_path, text, message):
    path = tmp_path / "study.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_df_method_override_and_round_trip():
    cfg = StudyConfig.from_mapping({"lmm": {"random_slope": True}, "seed": 7})
    assert cfg.with_df_method("kenward-roger").df_method == "kenward-roger"
    assert cfg.with_df_method(None) is cfg
    with pytest.raises(ConfigError):
        cfg.with_df_method("residual")
    d = cfg.to_dict()
    assert d["random_slope"] is True and d["seed"] == 7


# --------------------------------------------------------------- checked against codebook and data
def _obs(**columns):
    base = {"patient_id": ["P1", "P1", "P2", "P2"], "visit": ["pre", "m3", "pre", "m3"],
            "measure": "gait_speed", "value": [0.5, 0.6, 0.7, 0.8], "side": "",
            "phase": ["baseline", "post_implant"] * 2, "day": [-3.0, 90.0, -2.0, 91.0]}
    return pd.DataFrame({**base, **columns})


def test_typo_in_primary_outcome_is_an_error_with_did_you_mean():
    cfg = StudyConfig.from_mapping({"primary_outcome": "gait_sped"}, source="study.yaml")
    with pytest.raises(ConfigError, match=r"(?s)study.yaml: 1 problem.*primary_outcome: unknown "
                                          r"measure 'gait_sped'; did you mean 'gait_speed'\?"):
        check_config(cfg, load_codebook(), _obs())


def test_every_declared_measure_absent_from_the_data_is_named():
    cfg = StudyConfig.from_mapping({
        "families": {"secondary": ["tug"]}, "measures": ["gait_speed", "six_mwt"],
        "therapeutic_window": {"spasticity": ["mas_*"]},
        "single_case": {"controls": {"sprs_total": {"mean": 5, "sd": 2, "n": 20}},
                        "dissociations": [{"measures": ["gait_speed", "tug"], "r": 0.5}]},
        "reference_visit": "baseline", "lmm": {"covariates": ["age"]}})
    with pytest.raises(ConfigError) as info:
        check_config(cfg, load_codebook(), _obs())
    text = str(info.value)
    assert "6 problem(s)" in text
    for fragment in ("families.secondary: 'tug' is declared but the data hold no observation",
                     "measures: 'six_mwt' is declared",
                     "therapeutic_window.spasticity: the pattern 'mas_*' matches no measure",
                     "single_case.controls: 'sprs_total' is declared",
                     "reference_visit: 'baseline' is not a visit of the data",
                     "lmm.covariates: 'age' is not a column"):
        assert fragment in text


@pytest.mark.parametrize("visits, phases, expected, reason", [
    (["baseline", "m3"], ["baseline", "post_implant"], "baseline", "the visit named baseline"),
    (["pre", "m3"], ["baseline", "post_implant"], "pre", "the last visit of the baseline phase"),
    (["m1", "m3"], ["post_implant", "post_implant"], "m1", "the first visit"),
])
def test_reference_visit_is_inferred_and_the_reason_recorded(visits, phases, expected, reason):
    obs = _obs(visit=visits * 2, phase=phases * 2)
    cfg = resolve_reference_visit(StudyConfig(), obs)
    assert cfg.reference_visit == expected
    assert cfg.reference_visit_reason.startswith(reason)


def test_primary_outcome_declared_or_default():
    obs = pd.concat([_obs(), _obs(measure="tug")])
    assert resolve_primary_outcome(StudyConfig(), obs) == PrimaryOutcome(
        "gait_speed", "", False, resolve_primary_outcome(StudyConfig(), obs).reason)
    declared = resolve_primary_outcome(StudyConfig(primary_outcome="tug"), obs)
    assert (declared.measure, declared.declared) == ("tug", True)
    only_mas = _obs(measure="mas_knee_ext", side="L")
    chosen = resolve_primary_outcome(StudyConfig(), only_mas)
    assert (chosen.measure, chosen.side) == ("mas_knee_ext", "L")
    assert "alphabetical" in chosen.reason
