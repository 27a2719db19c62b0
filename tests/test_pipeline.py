"""The pipeline on the example data: which analyses run, family-wise Holm, documented values,
no unexplained NaN, and the single-case set for one patient."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from analysis.results import ANALYSES, COLUMNS
from analysis.run.pipeline import run_analysis
from analysis.stats.multiplicity import holm

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "example"


@pytest.fixture(scope="module")
def series():
    return run_analysis(EXAMPLES / "case_series", cache_dir=None)


@pytest.fixture(scope="module")
def case():
    return run_analysis(EXAMPLES / "case_report", cache_dir=None)


@pytest.mark.parametrize("name", ["series", "case"])
def test_results_follow_the_contract(name, request):
    results = request.getfixturevalue(name).results
    assert list(results.columns) == list(COLUMNS)
    undocumented = set(results["analysis"]) - set(ANALYSES)
    assert not undocumented, f"analysis values missing from the data dictionary: {undocumented}"
    numbers = results.select_dtypes("number")
    assert not np.isinf(numbers.to_numpy()).any()
    # every empty estimate of an estimating analysis says why
    tests_without_estimate = {"wilcoxon", "wilcoxon_normal"}
    empty = results[results["estimate"].isna() & ~results["analysis"].isin(tests_without_estimate)]
    assert (empty["note"] != "").all(), empty[["measure", "analysis", "term"]].head()
    assert results.loc[results["method"] == "", "note"].ne("").all(), "rows without a method say why"


def test_case_series_runs_group_analyses(series):
    r = series.results
    contrasts = r[(r["measure"] == "gait_speed") & (r["analysis"] == "lmm_contrast")]
    assert contrasts["term"].tolist() == [f"{v} - baseline" for v in
                                          ("ti_d2", "ti_d4", "ti_d6", "post_m3", "post_m6", "post_m12")]
    assert (contrasts["df_method"] == "satterthwaite").all()
    assert {"paired_t", "wilcoxon", "cohens_dz", "hedges_gav", "rank_biserial", "responder",
            "descriptive", "missing", "dose_slope", "therapeutic_window"} <= set(r["analysis"])
    assert not r["analysis"].isin(["nap", "crawford_howell"]).any(), "single-case set is for n = 1"


def test_ordinal_visit_model_says_it_treats_codes_as_interval(series):
    r = series.results
    mas = r[(r["measure"] == "mas_knee_ext") & (r["analysis"] == "lmm_contrast")]
    gait = r[(r["measure"] == "gait_speed") & (r["analysis"] == "lmm_contrast")]
    assert len(mas) and mas["note"].str.contains("ordinal measure").all()
    assert not gait["note"].str.contains("ordinal measure").any()


def test_holm_across_the_measures_of_a_family(series):
    r = series.results
    family = series.config.families["secondary"]
    rows = r[(r["analysis"] == "paired_t") & r["measure"].isin(family)]
    assert len(rows) > len(family)
    assert np.allclose(rows["p_adjusted"], holm(rows["p_value"].to_numpy()), equal_nan=True)
    assert rows["adjustment"].str.startswith("holm: family=secondary").all()
    primary = r[(r["analysis"] == "paired_t") & (r["measure"] == "gait_speed")]
    assert np.allclose(primary["p_adjusted"], holm(primary["p_value"].to_numpy()))


def test_kenward_roger_option(tmp_path):
    run = run_analysis(EXAMPLES / "case_series", df_method="kenward-roger", cache_dir=None)
    c = run.results[(run.results["analysis"] == "lmm_contrast") & (run.results["measure"] == "tug")]
    assert (c["df_method"] == "kenward-roger").all() and c["df"].notna().all()


def test_measures_restriction_and_random_slope(tmp_path):
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump({"measures": ["gait_speed"], "lmm": {"random_slope": True}}))
    run = run_analysis(EXAMPLES / "case_series", config=config, cache_dir=None)
    assert set(run.results["measure"].unique()) - {""} == {"gait_speed"}
    fit = run.results[(run.results["analysis"] == "lmm_fit") & (run.results["term"] != "")]
    assert len(fit) >= 1


def test_one_patient_gets_the_single_case_set(case):
    r = case.results
    assert {"nap", "tau_u", "pnd", "piecewise", "crawford_howell", "bayes_single_case",
            "pct_more_extreme", "z_cc", "rci", "dose_slope", "therapeutic_window"} <= set(r["analysis"])
    assert not r["analysis"].isin(["paired_t", "lmm_contrast"]).any()
    tau = r[(r["measure"] == "gait_speed") & (r["analysis"] == "tau_u")]
    assert tau["term"].tolist() == ["A vs B", "A vs B - trend A"]


def test_case_report_window_is_around_the_settled_dose(case):
    window = case.results[case.results["analysis"] == "therapeutic_window"].iloc[0]
    assert window["estimate"] == 108
    assert window["ci_low"] <= 108 <= window["ci_high"]
    table = case.window.set_index("dose_ug_day")
    assert not table.loc[130.0, "in_window"].any(), "strength falls at 130 ug/day on each side"


def test_cache_returns_the_same_results(tmp_path):
    first = run_analysis(EXAMPLES / "case_report", cache_dir=tmp_path)
    assert [sorted(p.name for p in e.iterdir()) for e in tmp_path.iterdir() if e.is_dir()] == [
        ["changes.parquet", "entry.json", "results.parquet", "window.parquet"]]  # no pickle
    assert sorted(p.name for p in tmp_path.iterdir() if not p.is_dir()) == ["hmac.key"]
    second = run_analysis(EXAMPLES / "case_report", cache_dir=tmp_path)
    assert first.results.equals(second.results) and first.manifest == second.manifest


def test_bootstrap_option_is_seeded(tmp_path):
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump({"measures": ["tug"], "seed": 11,
                                      "bootstrap": {"enabled": True, "n_boot": 999}}))
    runs = [run_analysis(EXAMPLES / "case_series", config=config, cache_dir=None) for _ in range(2)]
    rows = [r.results[r.results["analysis"].str.endswith("_bca")] for r in runs]
    assert set(rows[0]["analysis"]) == {"mean_difference_bca", "cohens_dz_bca", "hedges_gav_bca"}
    assert rows[0].equals(rows[1])
    assert (rows[0]["ci_low"] < rows[0]["ci_high"]).all()


def test_dissociation_is_configured_and_wired(tmp_path):
    from analysis.stats.single_case.dissociations import rsdt

    spec = yaml.safe_load((EXAMPLES / "case_report" / "study.yaml").read_text())
    spec["single_case"]["controls"]["tug"] = {"mean": 6.5, "sd": 1.2, "n": 15, "source": "test"}
    spec["single_case"]["dissociations"] = [{"measures": ["gait_speed", "tug"], "r": -0.6}]
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump(spec))
    run = run_analysis(EXAMPLES / "case_report", config=config, cache_dir=None)
    rows = run.results[run.results["analysis"] == "rsdt"]
    assert rows["term"].tolist() == ["bl_d5: z(gait_speed) - z(tug)", "post_m6: z(gait_speed) - z(tug)"]
    obs = run.observations
    at = obs[(obs["visit"] == "post_m6")].set_index("measure")["value"]
    gs = spec["single_case"]["controls"]["gait_speed"]
    direct = rsdt(at["gait_speed"], at["tug"], mean_x=gs["mean"], sd_x=gs["sd"], mean_y=6.5,
                  sd_y=1.2, r_xy=-0.6, n=15, better_x="higher", better_y="lower")
    assert rows.iloc[1]["statistic"] == pytest.approx(direct.t, rel=1e-12)
    assert rows.iloc[1]["p_value"] == pytest.approx(direct.p_value, rel=1e-12)
