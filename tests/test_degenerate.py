"""Degenerate data: every statistic either gives a number that means something or NaN with the
reason in ``note``; never rounding noise, never a warning on stderr, never a traceback.

Checked on the shapes a new user produces (issue 12): 1 and 2 patients, all differences equal
(exactly and up to rounding), a constant measure, the same start and the same gain, a patient
with only a baseline, a constant AB series, constant within phases, complete non-overlap, all
ties; through the statistics directly and through ``analysis.run.pipeline.analyze``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.data.codebook import load_codebook
from analysis.data.config import StudyConfig
from analysis.run.pipeline import analyze
from analysis.stats import descriptives, effect_sizes, paired
from analysis.stats.lmm import fit_lmm_safe
from analysis.stats.numerics import wilson_interval
from analysis.stats.single_case import phase
from analysis.stats.single_case.piecewise import piecewise

BOOK = load_codebook()
#: Analyses that are tests: a missing p needs a reason.
TESTS = {"paired_t", "wilcoxon", "wilcoxon_normal", "nap", "tau_u", "tau_bc", "piecewise",
         "lmm_fixed", "lmm_contrast", "crawford_howell", "udt", "rsdt", "cdc", "rand_test"}


def check_rows(t: pd.DataFrame) -> None:
    """No undocumented NaN, no |statistic| or |estimate| > 1e8, no 0 < SE < 1e-8."""
    assert len(t)
    est_nan = t["estimate"].isna() & (t["note"] == "")
    assert not est_nan.any(), t.loc[est_nan, ["analysis", "term"]].to_string()
    tests = t["analysis"].isin(TESTS)
    p_nan = tests & t["p_value"].isna() & (t["note"] == "")
    assert not p_nan.any(), t.loc[p_nan, ["analysis", "term"]].to_string()
    for col in ("statistic", "estimate", "ci_low", "ci_high"):
        big = t[col].abs() > 1e8
        assert not big.any(), t.loc[big, ["analysis", "term", col]].to_string()
    tiny = (t["se"] > 0) & (t["se"] < 1e-8)
    assert not tiny.any(), t.loc[tiny, ["analysis", "term", "se"]].to_string()


@pytest.fixture(autouse=True)
def _no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ------------------------------------------------------------------ paired, effect sizes
def _changes(base, follow):
    n = len(base)
    return pd.DataFrame({"patient_id": [f"P{i}" for i in range(n)], "visit": "post_m6",
                         "measure": "gait_speed", "side": "", "day": 180.0,
                         "value": follow, "baseline": base, "better": "higher"})


BASE = np.round([0.52, 0.61, 0.47, 0.83, 0.75, 0.66, 0.58, 0.91], 2)


@pytest.mark.parametrize("follow", [BASE + 1.0, np.round(BASE + 0.10, 2)],
                         ids=["exact", "rounding"])
def test_all_differences_equal(follow):
    t = paired.paired_comparisons(_changes(BASE, follow)).set_index("analysis")
    check_rows(t.reset_index())
    assert np.isnan(t.loc["paired_t", "statistic"]) and "equal" in t.loc["paired_t", "note"]
    assert t.loc["mean_difference", "se"] == 0.0
    assert np.isnan(t.loc["cohens_dz", "estimate"]) and "rounding" in t.loc["cohens_dz", "note"] \
        or "equal" in t.loc["cohens_dz", "note"]
    assert t.loc["wilcoxon", "p_value"] == pytest.approx(2 ** (1 - 8))  # 8 positive ties


def test_same_start_and_same_gain():
    """Every patient 0.5 -> 0.6: d_av and g_av are 0/0-like (SDs 0), not 1.6e15."""
    t = paired.paired_comparisons(_changes(np.full(6, 0.5), np.full(6, 0.6)))
    check_rows(t)
    t = t.set_index("analysis")
    for name in ("cohens_dz", "cohens_dav", "hedges_gav"):
        assert np.isnan(t.loc[name, "estimate"]) and "undefined" in t.loc[name, "note"]


def test_no_change_is_zero_over_zero():
    es = effect_sizes.cohens_dav([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    assert np.isnan(es.estimate) and "0/0" in es.note


def test_one_pair():
    t = paired.paired_comparisons(_changes(BASE[:1], BASE[:1] + 0.1))
    check_rows(t)


def test_descriptive_sd_of_equal_values_is_exactly_zero():
    obs = pd.DataFrame({"patient_id": [f"P{i}" for i in range(6)], "visit": "baseline",
                        "measure": "gait_speed", "side": "", "day": 0.0, "value": 0.1})
    d = descriptives.describe(obs).set_index("term")["estimate"]
    assert d["sd: baseline"] == 0.0 and d["mean: baseline"] == 0.1


def test_wilson_limits_exact_at_the_bounds():
    assert wilson_interval(0, 7) [0] == 0.0 and wilson_interval(7, 7)[1] == 1.0


# ----------------------------------------------------------------------------- mixed model
def test_mixed_model_refuses_an_exact_common_gain():
    d = pd.DataFrame({"patient_id": np.repeat([f"P{i}" for i in range(8)], 2),
                      "visit": ["baseline", "post"] * 8,
                      "value": np.ravel(np.column_stack([BASE, np.round(BASE + 0.1, 2)]))})
    with pytest.raises(analysis.errors.ModelSpecError, match="not fitted"):
        fit_lmm_safe(d)


def test_mixed_model_refuses_a_constant_measure():
    d = pd.DataFrame({"patient_id": np.repeat(list("ABCD"), 2), "visit": ["baseline", "m6"] * 4,
                      "value": 3.0})
    with pytest.raises(analysis.errors.ModelSpecError, match="constant"):
        fit_lmm_safe(d)


# --------------------------------------------------------------------------- phase designs
AB = {
    "constant": ([3, 3, 3, 3, 3], [3, 3, 3, 3, 3, 3]),
    "constant within phases": ([3, 3, 3, 3, 3], [1, 1, 1, 1, 1, 1]),
    "complete non-overlap": ([3, 3, 2, 3], [1.5, 1, 1, 1.5, 1]),
    "all ties": ([2, 2, 2], [2, 2, 2, 2]),
}


@pytest.mark.parametrize("name", list(AB))
def test_phase_analysis_of_degenerate_series(name):
    a, b = AB[name]
    s = pd.DataFrame({"phase": ["baseline"] * len(a) + ["test_infusion"] * len(b),
                      "day": np.arange(len(a) + len(b), dtype=float), "value": a + b})
    t = phase.phase_analysis(s, better="lower", measure="mas_knee_ext", patient_id="P01")
    check_rows(t)
    pw = t[t["analysis"] == "piecewise"]
    if name.startswith("constant"):
        assert pw["p_value"].isna().all() and pw["note"].str.contains("perfect fit").all()
    for f in (analysis.tau_bc, analysis.smd, analysis.lrr, analysis.lrm, analysis.pem,
              analysis.pand, analysis.ird, analysis.cdc):
        check_rows(f(a, b, better="lower"))


def test_tau_u_all_ties_is_explained():
    for v in ("A vs B", "A vs B - trend A"):
        r = phase.tau_u([2, 2, 2], [2, 2, 2, 2], variant=v)
        assert np.isnan(r.p_value) and "tied" in r.note
        assert not (0 < r.se < 1e-8)


def test_piecewise_perfect_fit_of_two_lines():
    t = piecewise(range(10), [1, 2, 3, 4, 5, 8, 9, 10, 11, 12], [0] * 5 + [1] * 5)
    check_rows(t)
    assert t["p_value"].isna().all() and t["note"].str.contains("perfect fit").all()
    assert t["estimate"].tolist() == pytest.approx([1.0, 2.0, 0.0])


# ------------------------------------------------------------------------ whole pipeline
def _obs(values: dict[str, list[tuple[float, float]]], measure: str = "gait_speed"):
    rows = []
    for pid, pairs in values.items():
        for (visit, day, phase_), v in zip([("baseline", -7.0, "baseline"),
                                            ("post_m6", 180.0, "post_implant")], pairs, strict=False):
            if v is not None:
                rows.append(dict(patient_id=pid, visit=visit, measure=measure, value=v,
                                 phase=phase_, day=day, dose_ug_day=0.0, side="", unit="m/s"))
    return pd.DataFrame(rows)


PIPELINE_CASES = {
    "1 patient": {"P1": (0.5, 0.6)},
    "2 patients": {"P1": (0.5, 0.6), "P2": (0.7, 0.75)},
    "equal gains, rounding": {f"P{i}": (b, round(b + 0.1, 2)) for i, b in enumerate(BASE)},
    "constant measure": {f"P{i}": (0.5, 0.5) for i in range(5)},
    "same start, same gain": {f"P{i}": (0.5, 0.6) for i in range(5)},
    "a patient with only a baseline": {"P1": (0.5, 0.6), "P2": (0.7, 0.8), "P3": (0.6, None),
                                       "P4": (0.55, 0.7), "P5": (0.66, 0.71)},
}


@pytest.mark.parametrize("name", list(PIPELINE_CASES))
def test_pipeline_on_degenerate_datasets(name):
    obs = _obs(PIPELINE_CASES[name])
    results, _, _ = analyze(obs, codebook=BOOK, config=StudyConfig())
    check_rows(results[results["analysis"] != "descriptive"])
    lmm = results[results["analysis"].str.startswith("lmm")]
    assert len(lmm), "a row must say why the mixed model was (not) fitted"
    n = len(PIPELINE_CASES[name])
    if n < 4:
        assert lmm["note"].str.contains(">= 4").all()
    if name in ("equal gains, rounding", "constant measure", "same start, same gain"):
        assert (lmm["analysis"] == "lmm_fit").all() and lmm["note"].str.contains(
            "not fitted").all()


def test_one_patient_with_too_few_phase_points_gets_rows():
    obs = pd.DataFrame({"patient_id": "P1", "visit": ["bl1", "bl2", "ti1", "ti2"],
                        "measure": "tug", "value": [20.0, 21.0, 15.0, 14.0],
                        "phase": ["baseline", "baseline", "test_infusion", "test_infusion"],
                        "day": [-2.0, -1.0, 1.0, 2.0], "dose_ug_day": [0, 0, 50, 50],
                        "side": "", "unit": "s"})
    results, _, _ = analyze(obs, codebook=BOOK, config=StudyConfig(reference_visit="bl2"))
    nap = results[results["analysis"] == "nap"]
    assert len(nap) == 1 and "needs >= 3" in nap["note"].iloc[0]
