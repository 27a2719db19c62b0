"""Study planning (``analysis.plan``, ``itb plan``): power against closed forms and published
values, the mixed-model power against a brute-force loop, identical tables for any number of
joblib or dask workers, resume, design errors and the command line.

Simulation sizes are small; every Monte Carlo comparison uses a tolerance of a few Monte Carlo
SEs (sqrt(p (1 - p) / n_sim)), so a failure is a real discrepancy with probability > 0.999.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import TTestPower

import analysis
from analysis.cli import main
from analysis.errors import ConfigError, InvalidInputError
from analysis.plan import runner
from analysis.plan.closed_form import crawford_howell_power
from analysis.plan.design import parse_design
from analysis.plan.protocol import sample_size_paragraph
from analysis.plan.runner import CHUNK, power_simulation, scenario_seed
from analysis.plan.simulate import (
    analyse_case_series,
    analyse_single_case,
    batched_case_series,
    batched_single_case,
    case_series_data,
    case_series_draw,
    case_series_frame,
    simulate_chunk,
    single_case_series,
)
from analysis.stats.lmm import fit_lmm


def _design(study: dict, n_sim: int, seed: int = 11, **top) -> object:
    return parse_design({"seed": seed, "n_sim": n_sim, **top, "studies": [study]})


# --------------------------------------------------------------------- closed forms
def test_paired_t_power_matches_statsmodels_closed_form():
    # SD of the differences = sd_within * sqrt(2) = 1, so Cohen's d_z = effect.
    n, effect, n_sim = 10, 0.8, 160
    d = _design({"name": "t", "design": "case_series", "n": n, "visits": ["baseline", "m6"],
                 "effect": effect, "sd_between": 0.7, "sd_within": 1 / math.sqrt(2),
                 "tests": ["paired_t"]}, n_sim)
    row = power_simulation(d, progress=False).iloc[0]
    exact = TTestPower().power(effect_size=effect, nobs=n, alpha=0.05,
                               alternative="two-sided")
    se = math.sqrt(exact * (1 - exact) / n_sim)
    assert abs(row["power"] - exact) < 3.5 * se, (row["power"], exact)
    assert row["failed"] == 0 and row["n_sim"] == n_sim
    assert abs(row["mean_estimate"] - effect) < 3.5 / math.sqrt(n * n_sim)


def test_crawford_howell_power_matches_crawford_garthwaite_2006_as_singcar():
    # singcar tests/testthat/test-power_functions.R: TD_power(-2 or -3, sample_size = n)
    # against Crawford & Garthwaite (2006), whose table was simulated (hence 2e-3).
    published = {(-2, 5): .4483, (-2, 10): .5463, (-2, 20): .5946, (-2, 50): .6206,
                 (-2, 100): .6300, (-3, 5): .7280, (-3, 10): .8387, (-3, 20): .8788,
                 (-3, 50): .9011, (-3, 100): .9073}
    for (effect, n), value in published.items():
        assert crawford_howell_power(effect, n=n) == pytest.approx(value, abs=2e-3)
    # singcar: with n = 1000 the test is a z test, pnorm(qnorm(0.05), mean = -2)
    from scipy import stats
    assert crawford_howell_power(-2, n=1000) == pytest.approx(
        stats.norm.cdf(stats.norm.ppf(0.05) + 2), abs=1e-3)
    # two-sided = the two tails; "greater" mirrors "less"
    two = crawford_howell_power(-2, n=15, alternative="two-sided")
    assert two > crawford_howell_power(-2, n=15, alpha=0.025)
    assert crawford_howell_power(2, n=15, alternative="greater") == pytest.approx(
        crawford_howell_power(-2, n=15))


def test_controls_scenarios_are_closed_form_in_the_table():
    d = _design({"name": "c", "design": "controls", "n_controls": [5, 20], "effect": -3},
                n_sim=10)
    t = power_simulation(d, progress=False)
    assert t["test"].tolist() == ["crawford_howell"] * 2
    assert t["power"].round(3).tolist() == [0.727, 0.880]
    assert (t["mcse"] == 0).all() and (t["n_sim"] == 0).all()


# --------------------------------------------------------------------- mixed model
def test_mixed_model_power_equals_a_brute_force_loop():
    n_sim = 12
    study = {"name": "m", "design": "case_series", "n": [5, 8],
             "visits": ["baseline", "m3", "m6"], "effect": 0.6, "sd_between": 0.5,
             "sd_within": 0.5, "dropout": 0.1, "tests": ["lmm"]}
    d = _design(study, n_sim)
    table = power_simulation(d, progress=False)
    for sc, (_, row) in zip(d.scenarios, table.iterrows(), strict=True):
        rejected = fitted = 0
        for i, ss in enumerate(scenario_seed(d.seed, sc).spawn(math.ceil(n_sim / CHUNK))):
            rng = np.random.default_rng(ss)
            for _ in range(min(CHUNK, n_sim - i * CHUNK)):
                data = case_series_data(sc.params, rng)
                res = fit_lmm(data, formula="value ~ visit")
                con = res.contrasts().set_index("term").loc["m6 - baseline"]
                fitted += 1
                rejected += bool(con["p_value"] < 0.05)
        assert row["n"] == sc.n and row["n_sim"] == fitted == n_sim
        assert row["power"] == rejected / n_sim
        assert row["mcse"] == pytest.approx(math.sqrt(row["power"] * (1 - row["power"]) / n_sim))


def test_case_series_data_has_the_designed_dropout_and_effect():
    p = {"n": 4000, "visits": ["baseline", "m3", "m6"], "effect": 1.0, "sd_between": 1.0,
         "sd_within": 0.5, "dropout": 0.2}
    d = case_series_data(p, np.random.default_rng(3))
    kept = d.groupby("visit")["patient_id"].nunique()
    assert kept["baseline"] == 4000
    assert kept["m3"] / 4000 == pytest.approx(0.8, abs=0.03)
    assert kept["m6"] / 4000 == pytest.approx(0.64, abs=0.03)
    wide = d.pivot(index="patient_id", columns="visit", values="value").dropna()
    diff = wide["m6"] - wide["baseline"]
    assert diff.mean() == pytest.approx(1.0, abs=0.05)
    assert diff.std() == pytest.approx(0.5 * math.sqrt(2), rel=0.05)
    # monotone: nobody seen at m6 missed m3
    assert set(d.loc[d.visit == "m6", "patient_id"]) <= set(d.loc[d.visit == "m3", "patient_id"])


# --------------------------------------------------------------------- batched path
def _random_case_series(rng: np.random.Generator) -> dict:
    k = int(rng.integers(2, 5))
    visits = ["baseline"] + [f"v{i}" for i in range(1, k)]
    return dict(n=int(rng.integers(3, 16)), visits=visits, visit=visits[int(rng.integers(1, k))],
                effect=float(rng.normal()), sd_between=float(rng.uniform(0.0, 1.5)),
                sd_within=float(rng.uniform(0.3, 1.0)), dropout=float(rng.choice([0, 0.1, 0.3])),
                alpha=float(rng.choice([0.05, 0.1])), holm_family=1,
                tests=["paired_t", "wilcoxon", "lmm"])


def _assert_agree(batched: dict, reference: dict, p: dict, *, lmm_loose: list) -> None:
    for test in p["tests"]:
        b, r = batched[test], reference[test]
        assert b[4] == r[4], (test, b, r)  # singular flag
        got, want = np.array(b[:4], float), np.array(r[:4], float)
        assert np.array_equal(np.isnan(got), np.isnan(want)), (test, b, r)
        ok = np.isfinite(want)
        err = np.abs(got[ok] - want[ok]) / np.maximum(1.0, np.abs(want[ok]))
        if test == "lmm" and err.size and err.max() >= 1e-8:
            lmm_loose.append(float(err.max()))
            assert err.max() < 1e-6, (test, b, r)
        else:
            assert err.size == 0 or err.max() < 1e-8, (test, b, r, p)


def test_batched_case_series_agrees_with_the_per_dataset_path_on_random_designs():
    # Paired t and Wilcoxon agree to 1e-8 everywhere. The mixed model agrees to 1e-8 except
    # where the reference's own optimiser stopped short of the REML optimum (its L-BFGS-B
    # tolerance, seen at large variance ratios): there its REML criterion is never below the
    # batched optimum's, and the statistics agree to 1e-6.
    from analysis.stats.lmm.engine import REMLProblem

    rng = np.random.default_rng(20261206)
    loose: list = []
    checked = 0
    for trial in range(8):
        p = _random_case_series(rng)
        draw_rng = np.random.default_rng(trial)
        draws = [case_series_draw(p, draw_rng) for _ in range(10)]
        batched = batched_case_series(p, draws)
        for (y, present), b in zip(draws, batched, strict=True):
            data = case_series_frame(p, y, present)
            ref = analyse_case_series(data, p, p["tests"])
            before = len(loose)
            _assert_agree(b, ref, p, lmm_loose=loose)
            checked += 1
            if len(loose) > before:  # the batched optimum is at least as good
                wide = np.where(present, y, np.nan)
                obs = np.isfinite(wide)
                k = y.shape[1]
                X = np.eye(k)[np.nonzero(obs)[1]]
                groups = np.nonzero(obs)[0]
                prob = REMLProblem(wide[obs], X, np.ones((obs.sum(), 1)), groups)
                ref_fit = prob.fit()
                from analysis.plan.batched import lmm_contrast
                u = lmm_contrast(y[None], present[None], p["visits"].index(p["visit"]),
                                 conf=0.95)["u"][0]
                assert prob.deviance(np.array([math.sqrt(u)])) <= ref_fit.deviance + 1e-9
    assert checked == 80
    assert len(loose) <= 8, loose  # rare


def test_batched_path_falls_back_for_ties_zeros_and_empty_visits():
    p = {"n": 5, "visits": ["baseline", "m3", "m6"], "visit": "m6", "effect": 0.5,
         "sd_between": 1.0, "sd_within": 0.5, "dropout": 0.0, "alpha": 0.05,
         "holm_family": 1, "tests": ["paired_t", "wilcoxon", "lmm"]}
    rng = np.random.default_rng(4)
    draws = [case_series_draw(p, rng) for _ in range(6)]
    draws = [(np.round(y, 0), pr) for y, pr in draws]  # ties and zero differences
    y0, pr0 = draws[0]
    draws[1] = (y0, pr0 & np.array([True, True, False]))  # nobody at m6
    draws[2] = (np.tile(y0[:, :1], 3) + np.array([0, 1, 1.0]), pr0)  # constant differences
    for (y, pr), b in zip(draws, batched_case_series(p, draws), strict=True):
        ref = analyse_case_series(case_series_frame(p, y, pr), p, p["tests"])
        _assert_agree(b, ref, p, lmm_loose=[])
        if not pr[:, 2].any():
            assert all(np.isnan(b[t][0]) for t in p["tests"])  # failed, as the reference


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_batched_chunk_tallies_equal_the_per_dataset_chunk(dropout):
    d = _design({"name": "b", "design": "case_series", "n": 9, "visits": ["baseline", "m3", "m6"],
                 "effect": 0.4, "sd_between": 0.6, "sd_within": 0.5, "dropout": dropout,
                 "holm_family": 2}, CHUNK)
    sc = d.scenarios[0]
    ss = scenario_seed(d.seed, sc).spawn(1)[0]
    fast = simulate_chunk(sc, CHUNK, ss)
    slow = simulate_chunk(sc, CHUNK, ss, batched=False)
    for test in sc.params["tests"]:
        for key, value in slow[test].items():
            assert fast[test][key] == pytest.approx(value, rel=1e-9, abs=1e-12), (test, key)


def test_batched_ab_and_titration_agree_with_the_per_dataset_path_on_random_designs():
    # NAP and Tau-U copy the reference's numbers per statistic (exact); piecewise is OLS on
    # one design for all series (1e-8); tied series (values rounded) go to the reference.
    rng = np.random.default_rng(77)
    for trial in range(12):
        p = dict(n_baseline=int(rng.integers(2, 12)), n_treatment=int(rng.integers(2, 12)),
                 effect=float(rng.normal()), sd=float(rng.uniform(0.2, 2)),
                 ar1=float(rng.uniform(-0.5, 0.8)), trend=float(rng.choice([0, 0.1])),
                 ramp_days=int(rng.choice([0, 3])), alpha=float(rng.choice([0.05, 0.1])),
                 holm_family=1, tau_variant=str(rng.choice(["A vs B", "A vs B - trend A"])),
                 tests=["nap", "tau_u", "piecewise"])
        draw_rng = np.random.default_rng(trial)
        series = [single_case_series(p, draw_rng) for _ in range(15)]
        if trial % 3 == 0:
            series = [(d, np.round(y, 1), ph) for d, y, ph in series]
        days, phase = series[0][0], series[0][2]
        batched = batched_single_case(p, days, np.stack([s[1] for s in series]), phase)
        for (d, y, ph), b in zip(series, batched, strict=True):
            _assert_agree(b, analyse_single_case(d, y, ph, p, p["tests"]), p, lmm_loose=[])


@pytest.mark.parametrize("design", ["ab", "titration"])
def test_batched_single_case_chunk_tallies_equal_the_per_dataset_chunk(design):
    d = _design({"name": "s", "design": design, "n_baseline": 6, "n_treatment": 8,
                 "effect": 1.0, "ar1": 0.3, "ramp_days": 3}, CHUNK)
    sc = d.scenarios[0]
    ss = scenario_seed(d.seed, sc).spawn(1)[0]
    fast = simulate_chunk(sc, CHUNK, ss)
    slow = simulate_chunk(sc, CHUNK, ss, batched=False)
    for test in sc.params["tests"]:
        for key, value in slow[test].items():
            assert fast[test][key] == pytest.approx(value, rel=1e-9, abs=1e-12), (test, key)


# --------------------------------------------------------------------- execution
SMALL = {"n_sim": 2 * CHUNK, "seed": 5, "studies": [
    {"name": "ab", "design": "ab", "n_baseline": [4, 6], "n_treatment": 6, "effect": 1.0,
     "ar1": 0.3, "tests": ["nap", "tau_u"]},
    {"name": "norms", "design": "controls", "n_controls": 10, "effect": -2}]}


def test_same_table_with_one_or_two_joblib_or_dask_workers():
    from dask.distributed import LocalCluster

    d = parse_design(SMALL)
    one = power_simulation(d, workers=1, progress=False)
    pd.testing.assert_frame_equal(one, power_simulation(d, workers=2, progress=False))
    for n_workers in (1, 2):
        with LocalCluster(n_workers=n_workers, processes=False, threads_per_worker=1,
                          dashboard_address=None) as cluster:
            got = power_simulation(d, scheduler=cluster.scheduler_address, progress=False)
        pd.testing.assert_frame_equal(one, got)
    assert one["n_sim"].tolist() == [50, 50, 50, 50, 0]


def test_resume_skips_finished_scenarios(tmp_path, monkeypatch):
    d = parse_design(SMALL)
    first = power_simulation(d, out=tmp_path, progress=False)
    store = sorted((tmp_path / runner.STORE).glob("*.parquet"))
    assert len(store) == len(d.scenarios)
    calls = []
    real = runner._run_task
    monkeypatch.setattr(runner, "_run_task", lambda task: calls.append(task[0].key) or real(task))
    pd.testing.assert_frame_equal(first, power_simulation(d, out=tmp_path, progress=False))
    assert calls == []
    (tmp_path / runner.STORE / f"{d.scenarios[1].key}.parquet").unlink()
    pd.testing.assert_frame_equal(first, power_simulation(d, out=tmp_path, progress=False))
    assert set(calls) == {d.scenarios[1].key} and len(calls) == 2


def test_progress_lines_when_not_on_a_terminal(capsys):
    d = parse_design({**SMALL, "studies": SMALL["studies"][:1]})
    power_simulation(d, progress=True)
    err = capsys.readouterr().err
    assert "plan: 4/4 chunks (100%)" in err


# --------------------------------------------------------------------- design and CLI
@pytest.mark.parametrize("study, message", [
    ({"name": "x", "design": "ab", "n_baseline": 5, "n_treatment": 5, "efect": 1},
     "key 'efect' is not a key of a ab study"),
    ({"name": "x", "design": "case_series", "n": 5, "effect": 1, "sd_between": 1,
      "sd_within": 1, "tests": ["paired-t"]}, "did you mean 'paired_t'?"),
    ({"name": "x", "design": "case_series", "n": 5, "effect": 1, "icc": 0.5,
      "sd_between": 1}, "give either sd_between and sd_within, or icc and sd"),
    ({"name": "x", "design": "ab", "n_baseline": 5, "n_treatment": 5, "effect": 1,
      "ar1": 1.0}, "ar1: 1.0 is not a number > -1 and < 1"),
    ({"name": "x", "design": "controls", "n_controls": 10}, "a controls study needs effect"),
])
def test_design_errors_name_the_study_and_the_fix(study, message):
    with pytest.raises(ConfigError, match="studies\\[0\\] \\(x\\)") as err:
        parse_design({"studies": [study]}, source="d.yaml")
    assert message in str(err.value)


def test_icc_and_total_sd_give_the_variance_components():
    d = _design({"name": "i", "design": "case_series", "n": 5, "effect": 1, "icc": 0.64,
                 "sd": 2.0}, 10)
    p = d.scenarios[0].params
    assert p["sd_between"] == pytest.approx(1.6) and p["sd_within"] == pytest.approx(1.2)


def test_itb_plan_writes_table_figure_and_paragraph(tmp_path, capsys):
    design = tmp_path / "design.yaml"
    design.write_text("n_sim: 25\nseed: 3\nstudies:\n"
                      "  - {name: sc, design: titration, n_baseline: [4, 6], n_treatment: 6,"
                      " effect: 2, ramp_days: 3, tests: [piecewise]}\n"
                      "  - {name: norms, design: controls, n_controls: [10, 40], effect: -3}\n")
    assert main(["plan", str(design), "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    assert "plan: 2/2 chunks (100%)" in captured.err  # progress lines when not on a terminal
    out = captured.out.split()
    assert [p.rsplit("/", 1)[-1] for p in out] == ["power.csv", "power.parquet",
                                                   "power_curve.png", "sample_size.md"]
    table = pd.read_csv(tmp_path / "o" / "power.csv")
    assert table["test"].tolist() == ["piecewise"] * 2 + ["crawford_howell"] * 2
    text = (tmp_path / "o" / "sample_size.md").read_text()
    assert "titration" in text and "Crawford-Howell" in text and "seeded (3)" in text
    assert (tmp_path / "o" / "power_curve.png").stat().st_size > 1000


def test_itb_plan_bad_design_exits_1_without_traceback(tmp_path, capsys):
    design = tmp_path / "design.yaml"
    design.write_text("studies:\n  - {name: a, design: case-series}\n")
    assert main(["plan", str(design), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "did you mean 'case_series'?" in err and "Traceback" not in err
    assert main(["plan", str(tmp_path / "missing.yaml")]) == 1


def test_paragraph_quotes_the_smallest_n_reaching_the_target():
    t = pd.DataFrame({"study": "s", "design": "ab", "curve": "", "n": [3, 5, 7],
                      "test": "nap", "n_sim": 400, "power": [0.5, 0.82, 0.9],
                      "mcse": [0.025, 0.019, 0.015], "failed": 0.0, "singular": 0.0,
                      "alpha": 0.05, "threshold": 0.05, "ci_half_width": 0.2,
                      "params": ['{"effect": 1.0, "n_treatment": 7, "sd": 0.5, "ar1": 0.3, '
                                 '"trend": 0.0, "ramp_days": 0}'] * 3})
    text = sample_size_paragraph(t, target_power=0.8, seed=9)
    assert "NAP (Mann-Whitney p) reaches 0.82 (Monte Carlo SE 0.019) at n = 5" in text
    assert "lag-1 autocorrelation 0.3" in text


def test_crawford_howell_power_old_names_warn_and_agree_with_td_power():
    new = crawford_howell_power(-2, n=15)
    with pytest.warns(DeprecationWarning, match="n_controls"):
        assert crawford_howell_power(-2, n_controls=15) == new
    with pytest.warns(DeprecationWarning, match="effect"):
        assert crawford_howell_power(effect=-2, n=15) == new
    with pytest.raises(InvalidInputError, match="give n= only"):
        crawford_howell_power(-2, n=15, n_controls=15)
    with pytest.raises(TypeError):
        crawford_howell_power(-2, n=15, sample=3)
    td = analysis.td_power(70, mean=100, sd=15, n=10, alpha=0.1)
    assert crawford_howell_power(70, mean=100, sd=15, n=10, alpha=0.1) == pytest.approx(
        float(td["estimate"].iloc[0]), rel=1e-12)
