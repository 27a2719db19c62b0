"""Study configuration: defaults, validation messages, families."""

from __future__ import annotations

import pytest

from analysis.data.config import StudyConfig, load_config
from analysis.errors import ConfigError


def test_defaults_are_documented_values():
    cfg = load_config(None)
    assert (cfg.reference_visit, cfg.baseline, cfg.df_method, cfg.seed) == (
        "baseline", "last", "satterthwaite", 20151)
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
    ("df_method: kenward\n", "df_method must be one of satterthwaite, kenward-roger"),
    ("baseline: first\n", "baseline must be one of last, mean"),
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
