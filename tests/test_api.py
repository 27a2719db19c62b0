"""The notebook API: every public function runs on the example data, gives the same rows as
the command line, and agrees with pingouin (an independent implementation) where pingouin has
the statistic."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats

import analysis
from analysis.errors import InvalidInputError
from analysis.stats.effect_sizes import cohens_dav

SERIES = analysis.EXAMPLES / "case_series"
REPORT = analysis.EXAMPLES / "case_report"
#: every function the architecture issue asks for
REQUIRED = {"load_dataset", "validate", "analyze", "paired_test", "effect_sizes", "mixed_model",
            "individual_change", "responders", "crawford_howell", "bayes_single_case", "rsdt",
            "phase_analysis", "dose_response", "therapeutic_window"}
KEYS = ["measure", "side", "patient_id", "analysis", "term"]


@pytest.fixture(scope="module")
def run():
    return analysis.analyze(SERIES)


@pytest.fixture(scope="module")
def obs():
    return analysis.load_dataset(SERIES).observations


def test_all_lists_the_api_and_each_name_resolves():
    assert REQUIRED <= set(analysis.__all__)
    for name in analysis.__all__:
        assert getattr(analysis, name) is not None
        if callable(getattr(analysis, name)):
            assert getattr(analysis, name).__doc__, name
    with pytest.raises(AttributeError):
        analysis.no_such_function  # noqa: B018


def test_import_is_lazy():
    """`import analysis` loads no numeric library (the timing is in benchmarks/bench_import.py)."""
    code = ("import sys, analysis; heavy = [m for m in ('pandas', 'numpy', 'scipy', "
            "'statsmodels', 'matplotlib') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _same_rows(api_rows: pd.DataFrame, results: pd.DataFrame) -> None:
    merged = api_rows.merge(results, on=KEYS, suffixes=("_api", "_cli"), how="left",
                            validate="one_to_one")
    assert len(merged) == len(api_rows) > 0
    for col in ("estimate", "se", "df", "statistic", "p_value", "ci_low", "ci_high"):
        a, c = merged[f"{col}_api"].astype(float), merged[f"{col}_cli"].astype(float)
        assert np.allclose(a, c, rtol=1e-12, atol=0, equal_nan=True), col


def test_paired_test_and_effect_sizes_equal_the_results_table(run, obs):
    results, _ = run
    for measure in ("gait_speed", "tug"):
        tests = analysis.paired_test(obs, measure=measure)
        sizes = analysis.effect_sizes(obs, measure=measure)
        assert set(tests["analysis"]) >= {"mean_difference", "paired_t", "wilcoxon"}
        assert set(sizes["analysis"]) == {"cohens_dz", "cohens_dav", "hedges_gav", "rank_biserial"}
        # p_adjusted differs on purpose: the pipeline adjusts across each declared family
        _same_rows(pd.concat([tests, sizes]), results)


def test_ordinal_measure_uses_the_codebook_kind(obs):
    rows = analysis.paired_test(obs, measure="mas_knee_ext", side="L")
    assert "median_change" in set(rows["analysis"]) and "paired_t" not in set(rows["analysis"])


def test_mixed_model_equals_the_results_table(run, obs):
    results, _ = run
    fit = analysis.mixed_model(obs, measure="gait_speed")
    _same_rows(fit.tidy(measure="gait_speed"), results)
    assert len(fit.emmeans()) == obs.loc[obs["measure"] == "gait_speed", "visit"].nunique()
    assert fit.contrasts()["term"].str.endswith(" - baseline").all()


def test_individual_change_responders_dose_and_window_equal_the_results_table(run, obs):
    results, _ = run
    _same_rows(analysis.individual_change(obs, measure="tug"), results)
    _same_rows(analysis.responders(obs, measure="tug"), results)
    _same_rows(analysis.dose_response(obs), results)
    cfg = analysis.load_config(SERIES / "study.yaml")
    _same_rows(analysis.therapeutic_window(obs, config=cfg), results)


def test_one_patient_functions_equal_the_results_table():
    results, run = analysis.analyze(REPORT)
    obs = run.observations
    # results.csv holds shares (PND) as proportions, as the API (analysis.stats.single_case.shares)
    _same_rows(analysis.phase_analysis(obs, measure="gait_speed").assign(side=""), results)
    pnd_rows = results.query("analysis == 'pnd' and measure == 'gait_speed'")
    assert len(pnd_rows) and pnd_rows["estimate"].between(0, 1).all()
    ch = analysis.crawford_howell(0.48, mean=1.31, sd=0.11, n=15, better="higher")
    t = (0.48 - 1.31) / (0.11 * np.sqrt(16 / 15))  # Crawford & Howell (1998), closed form
    assert ch.loc[0, "statistic"] == pytest.approx(t, rel=1e-12)
    assert ch.loc[0, "p_value"] == pytest.approx(2 * stats.t.sf(abs(t), 14), rel=1e-9)
    bayes = analysis.bayes_single_case(0.48, mean=1.31, sd=0.11, n=15, better="higher")
    assert abs(bayes["estimate"].iloc[0] - ch.query("analysis == 'pct_more_extreme'")["estimate"].iloc[0]) < 1e-4
    assert analysis.rsdt(-3.0, -1.0, mean_x=0, sd_x=1, mean_y=0, sd_y=1, r_xy=0.6, n=20)["p_value"].iloc[0] < 0.1


def test_crawford_howell_from_control_values_equals_summary():
    controls = np.array([1.2, 1.4, 1.3, 1.25, 1.45, 1.35, 1.1])
    a = analysis.crawford_howell(0.9, controls)
    b = analysis.crawford_howell(0.9, mean=controls.mean(), sd=controls.std(ddof=1), n=7)
    pd.testing.assert_frame_equal(a, b)


# ----------------------------------------------------------------- pingouin as a cross-check
def test_paired_t_and_wilcoxon_agree_with_pingouin():
    rng = np.random.default_rng(11)
    before = rng.normal(20, 4, 12).round(1)
    after = (before - rng.normal(2, 2, 12)).round(1)
    rows = analysis.paired_test(before, after).set_index("analysis")
    ref = pg.ttest(after, before, paired=True)
    assert rows.loc["paired_t", "statistic"] == pytest.approx(ref["T"].iloc[0], rel=1e-10)
    assert rows.loc["paired_t", "p_value"] == pytest.approx(ref["p_val"].iloc[0], rel=1e-10)
    assert rows.loc["mean_difference", "ci_low"] == pytest.approx(
        (after - before).mean() - (after - before).std(ddof=1) / np.sqrt(12) * 2.200985160082949, rel=1e-9)
    w = pg.wilcoxon(after, before, method="exact")
    assert rows.loc["wilcoxon", "p_value"] == pytest.approx(w["p_val"].iloc[0], rel=1e-10)


def test_effect_sizes_agree_with_pingouin():
    rng = np.random.default_rng(5)
    before = rng.normal(1.0, 0.2, 15)
    after = before + rng.normal(0.1, 0.1, 15)
    rows = analysis.effect_sizes(before, after).set_index("analysis")
    # pingouin's paired "cohen" standardises by the root mean square of the two SDs: our d_av
    # with standardizer="rms" (the default d_av of Lakens 2013 uses their plain mean)
    rms = cohens_dav(after, before, standardizer="rms")
    assert rms.estimate == pytest.approx(
        pg.compute_effsize(after, before, paired=True, eftype="cohen"), rel=1e-10)
    mean_sd = (after.std(ddof=1) + before.std(ddof=1)) / 2
    assert rows.loc["cohens_dav", "estimate"] == pytest.approx((after - before).mean() / mean_sd, rel=1e-12)
    d = after - before
    assert rows.loc["cohens_dz", "estimate"] == pytest.approx(d.mean() / d.std(ddof=1), rel=1e-12)


# ---------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, message", [
    (lambda o: analysis.paired_test(o), "choose one measure and side"),
    (lambda o: analysis.paired_test(o, measure="gait_sped"), "'gait_sped' is not in the data"),
    (lambda o: analysis.paired_test(o, measure="gait_speed", visit="m99"), "no paired comparison for visit 'm99'"),
    (lambda o: analysis.paired_test([1, 2], [1]), "equal length"),
    (lambda o: analysis.mixed_model(o, measure="tug", df_method="kenward"), "did you mean 'kenward-roger'"),
    (lambda o: analysis.phase_analysis(o, measure="tug"), "one patient"),
    (lambda o: analysis.crawford_howell(1.0), "mean, sd and n"),
])
def test_bad_arguments_are_named(obs, call, message):
    with pytest.raises(InvalidInputError, match=message):
        call(obs)


# ------------------------------------------------------------ one consistent API (issue 23)
PUBLIC = [name for name in analysis.__all__ if callable(getattr(analysis, name))
          and not isinstance(getattr(analysis, name), type)]
#: old names of one concept that no public function may use any more
RETIRED = {"r_ab", "mean_a", "mean_b", "sd_a", "sd_b", "case_a", "case_b", "sample_size",
           "conf_level_pct", "options"}


def test_dir_shows_only_the_api():
    shown = set(dir(analysis))
    assert shown == set(analysis.__all__) | {"__version__"}
    assert not shown & {"Any", "importlib", "logging", "annotations"}


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_function_is_documented_keyword_only_and_named_alike(name):
    import inspect

    fn = getattr(analysis, name)
    doc = inspect.getdoc(fn) or ""
    assert "Examples" in doc and ">>>" in doc, f"{name}: no runnable example"
    params = inspect.signature(fn).parameters
    assert not RETIRED & set(params), f"{name} uses retired names {RETIRED & set(params)}"
    assert not any(p.kind is p.VAR_KEYWORD for p in params.values()), f"{name} hides its options"
    if "alternative" in params:
        assert params["alternative"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("name, call", [
    ("crawford_howell", lambda alt: analysis.crawford_howell(-1.754857, mean=0, sd=1, n=28,
                                                             alternative=alt)),
    ("rsdt", lambda alt: analysis.rsdt(-1.7548574, -0.7836956, mean_x=0, sd_x=1, mean_y=0,
                                       sd_y=1, r_xy=0.584065, n=28, alternative=alt)),
    ("udt", lambda alt: analysis.udt(0.028149, 0.100127, mean_x=0.1646236, sd_x=0.0777695,
                                     mean_y=0.1794426, sd_y=0.1012070, r_xy=0.5840643, n=28,
                                     alternative=alt)),
])
def test_alternative_is_the_first_row(name, call):
    two, less, greater = (float(call(a)["p_value"].iloc[0])
                          for a in ("two-sided", "less", "greater"))
    assert less < 0.5 < greater  # each patient is below the controls
    assert two == pytest.approx(2 * less, rel=1e-9)
    assert less + greater == pytest.approx(1, rel=1e-9)


@pytest.mark.parametrize("name", ["nap", "tau_u", "pnd", "pand", "pem", "piecewise"])
def test_phase_statistics_take_two_arrays_and_equal_phase_analysis(name):
    results, run = analysis.analyze(REPORT)
    obs = run.observations
    one = obs[(obs["measure"] == "gait_speed") & obs["phase"].isin(["baseline", "test_infusion"])]
    one = one.sort_values("day")
    a = one.loc[one["phase"] == "baseline", "value"].to_numpy()
    b = one.loc[one["phase"] == "test_infusion", "value"].to_numpy()
    rows = getattr(analysis, name)(a, b)
    assert list(rows.columns) == list(analysis.phase_analysis(obs, measure="gait_speed").columns)
    if name in ("nap", "tau_u", "pnd"):
        ref = analysis.phase_analysis(obs, measure="gait_speed")
        ref = ref[ref["analysis"] == name].iloc[0]
        for col in ("estimate", "se", "p_value", "ci_low", "ci_high"):
            assert rows[col].iloc[0] == pytest.approx(ref[col], rel=1e-12, nan_ok=True)


def test_mixed_model_carries_measure_and_contrasts_have_results_columns(obs):
    fit = analysis.mixed_model(obs, measure="gait_speed")
    assert set(fit.tidy()["measure"]) == {"gait_speed"}
    con = fit.contrasts()
    assert {"df_method", "adjustment", "method", "note"} <= set(con.columns)
    tidy = fit.tidy().query("analysis == 'lmm_contrast'").reset_index(drop=True)
    for col in ("term", "adjustment", "method", "note", "df_method"):
        assert con[col].tolist() == tidy[col].tolist(), col


def test_numbers_are_rows_not_only_text():
    r = analysis.rsdt(-3.0, -1.0, mean_x=0, sd_x=1, mean_y=0, sd_y=1, r_xy=0.6, n=20)
    assert r.set_index("term").loc["z(x)", "estimate"] == -3.0
    assert "pct_more_extreme" in set(r["analysis"])
    t = analysis.tau_bc([1, 3, 2, 4, 5], [9, 8, 10, 9, 11])
    assert "baseline_trend" in set(t["analysis"])


def test_individual_change_outside_the_codebook():
    obs = pd.DataFrame({"patient_id": ["P1", "P1", "P2", "P2"],
                        "visit": ["baseline", "post", "baseline", "post"],
                        "measure": "my_score", "value": [10.0, 14.0, 12.0, 11.0]})
    rows = analysis.individual_change(obs, better="higher", mcid=2, sd=3, reliability=0.9)
    rci = rows[rows["analysis"] == "rci"]["statistic"].to_numpy()
    assert rci == pytest.approx(np.array([4.0, -1.0]) / (np.sqrt(2) * 3 * np.sqrt(0.1)))
    with pytest.raises(InvalidInputError, match="not in the codebook"):
        analysis.individual_change(obs)


# ------------------------------------------------------------------ one scale for shares
SHARE_CALLS = {
    "pnd": lambda **kw: analysis.pnd([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29], **kw),
    "pem": lambda **kw: analysis.pem([20, 20, 26, 25, 22, 23], [28, 25, 24, 22, 30, 30, 29], **kw),
    "pand": lambda **kw: analysis.pand([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29],
                                       **kw),
    "crawford_howell": lambda **kw: analysis.crawford_howell(-1.754857, mean=0, sd=1, n=28, **kw)
    .query("analysis == 'pct_more_extreme'"),
    "bayes_single_case": lambda **kw: analysis.bayes_single_case(
        -1.754857, mean=0, sd=1, n=28, n_sim=2000, **kw).iloc[[0]],
    "rsdt": lambda **kw: analysis.rsdt(-3.0, -1.0, mean_x=0, sd_x=1, mean_y=0, sd_y=1, r_xy=0.6,
                                       n=20, **kw).query("analysis == 'pct_more_extreme'"),
    "udt": lambda **kw: analysis.udt(-3.0, -1.0, mean_x=0, sd_x=1, mean_y=0, sd_y=1, r_xy=0.6,
                                     n=20, **kw).iloc[[2]],
    "bsdt": lambda **kw: analysis.bsdt(-3.0, -1.0, mean_x=0, sd_x=1, mean_y=0, sd_y=1, r_xy=0.6,
                                       n=20, n_sim=2000, **kw).iloc[[1]],
    "btd_cov": lambda **kw: analysis.btd_cov(78, 13, mean=100, sd=15, covar_mean=13, covar_sd=3,
                                             cor=0.65, n=18, n_sim=2000, **kw).iloc[[1]],
    "bsdt_cov": lambda **kw: analysis.bsdt_cov(
        [80, 110], 13, mean=[100, 100], sd=[15, 15], covar_mean=13, covar_sd=3,
        cor=[[1, 0.6, 0.5], [0.6, 1, 0.5], [0.5, 0.5, 1]], n=20, n_sim=2000, **kw).iloc[[1]],
}


@pytest.mark.parametrize("name", sorted(SHARE_CALLS))
def test_shares_are_proportions_unless_percent_is_asked(name):
    """One scale: every share the API returns is a proportion (0-1) with the unit said in
    `method`, `term` or `note`; share="percent" gives exactly 100 times it."""
    prop, pct = SHARE_CALLS[name](), SHARE_CALLS[name](share="percent")
    assert len(prop) == 1
    row = prop.iloc[0]
    assert 0 <= row["estimate"] <= 1
    said = " ".join(str(row[c]) for c in ("term", "method", "note")).lower()
    assert "proportion" in said and "percent" not in said
    for col in ("estimate", "ci_low", "ci_high"):
        assert pct[col].iloc[0] == pytest.approx(100 * row[col], rel=1e-12, nan_ok=True)
    with pytest.raises(InvalidInputError):
        SHARE_CALLS[name](share="fraction")


def test_nap_and_pnd_share_a_scale_in_phase_analysis():
    _, run = analysis.analyze(REPORT)
    rows = analysis.phase_analysis(run.observations, measure="gait_speed").set_index("analysis")
    assert 0 <= rows.loc["nap", "estimate"] <= 1 and 0 <= rows.loc["pnd", "estimate"] <= 1


# ------------------------------------------------------------------------------ figures
def test_plot_functions_return_figures_and_name_bad_arguments(obs):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = analysis.plot_changes(obs, measure="tug", style="slope")
    assert isinstance(fig, Figure)
    plt.close(fig)
    with pytest.raises(InvalidInputError, match="patient_id="):
        analysis.plot_timeline(obs)
    with pytest.raises(InvalidInputError, match="style="):
        analysis.plot_changes(obs, measure="tug", style="bars")
    with pytest.raises(InvalidInputError, match="no change"):
        analysis.plot_changes(obs, measure="tug", visit="m99")
    one = analysis.plot_timeline(obs, patient_id=str(obs["patient_id"].iloc[0]),
                                 measures=["tug"])
    assert isinstance(one, Figure)
    plt.close(one)
