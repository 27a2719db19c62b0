"""Tests of analysis/stats/single_case/phase.py (NAP, Tau-U, PND, piecewise regression of one patient).

References:
- Parker & Vannest (2009), Behavior Therapy 40:357-367: NAP example, A = 4 3 4 3 4 7 5 2 3 2,
  B = 5 9 7 9 7 5 9 11 11 10 9; 110 pairs, 2 overlapping and 4 tied -> NAP = 106/110 (96%).
- Parker, Vannest & Davis (2011), Behavior Modification 35:303-322: A = 20 20 26 25 22 23,
  B = 28 25 24 27 30 30 29: NAP = 38.5/42, PND = 5/7, Tau = (38 - 3)/42 (SingleCaseES test
  file tests/testthat/test-parker-vannest-davis-2011.R), Tau-U (A vs B - trend A) =
  0.7380952 (SingleCaseES ?Tau_U example output), 0.474 by scan "complete", 0.544 "tarlow"
  (analysis plan, section 7).
- Parker, Vannest, Davis & Sauber (2011), Behavior Therapy 42:284-299, the Tau-U example as
  reproduced in scan's ?tau_u ("Replicate tau-U calculation from Parker et al. (2011)"):
  A = 2 3 5 3, B = 4 5 5 7 6: 17 improving, 1 deteriorating, 2 tied pairs -> S_AvsB = 16,
  Tau = 16/20; baseline pairs 4 up, 1 down, 1 tie -> S_trendA = 3, Tau-U = 13/20.
- SingleCaseES tests (same file), example 2: A = 3 3 4 5, B = 4 5 6 7 7: Tau = 16/20,
  Tau-U = 11/20.
- Analysis plan: NAP = 1 with 4 baseline and 5 treatment points has 95% lower limit 0.6115.
- R (tests/r/phase_fixtures.R -> tests/fixtures/phase/phase_r.json): a transcription of
  SingleCaseES 0.7.3 calc_NAP (SE, Newcombe CI), wilcox.test, cor.test(kendall), lm().
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InvalidInputError
from analysis.stats.single_case.phase import (
    kendall_s_var,
    nap,
    phase_analysis,
    pnd,
    tau_u,
)
from analysis.stats.single_case.piecewise import piecewise

FIXTURE = Path(__file__).parent / "fixtures" / "phase" / "phase_r.json"
R = json.loads(FIXTURE.read_text())
TOL = 1e-9  # R fixtures are written with full precision; root finding to 1e-13

PV2009 = ([4, 3, 4, 3, 4, 7, 5, 2, 3, 2], [5, 9, 7, 9, 7, 5, 9, 11, 11, 10, 9])
PVD2011 = ([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29])
PVDS2011 = ([2, 3, 5, 3], [4, 5, 5, 7, 6])


def brute_nap(a, b, better="higher"):
    """NAP by explicit pair counting (closed form)."""
    total = 0.0
    for x in a:
        for y in b:
            better_pair = y > x if better == "higher" else y < x
            total += 1.0 if better_pair else (0.5 if y == x else 0.0)
    return total / (len(a) * len(b))


def brute_s(a, b, better="higher"):
    """S_AvsB and S_trendA by explicit loops."""
    sg = 1 if better == "higher" else -1
    s_ab = sum(np.sign(sg * (y - x)) for x in a for y in b)
    s_a = sum(np.sign(sg * (a[j] - a[i])) for i in range(len(a)) for j in range(i + 1, len(a)))
    return float(s_ab), float(s_a)


# ------------------------------------------------------------------ published worked examples
def test_nap_parker_vannest_2009():
    r = nap(*PV2009)
    assert r.estimate == pytest.approx(106 / 110, abs=1e-12)
    assert round(100 * r.estimate) == 96  # as published
    assert r.statistic == pytest.approx(106)


def test_parker_vannest_davis_2011_indices():
    a, b = PVD2011
    assert nap(a, b).estimate == pytest.approx(38.5 / 42, abs=1e-12)
    assert pnd(a, b).estimate == pytest.approx(5 / 7, abs=1e-12)
    assert pnd(a, b, share="percent").estimate == pytest.approx(100 * 5 / 7, abs=1e-12)
    assert tau_u(a, b).estimate == pytest.approx((38 - 3) / 42, abs=1e-12)
    r = tau_u(a, b, variant="A vs B - trend A")
    assert r.estimate == pytest.approx(0.7380952, abs=1e-7)  # SingleCaseES Tau_U()
    assert r.statistic == 31
    # the other variants quoted in the plan, documented in the note
    assert "0.474" in r.note and "0.544" in r.note


def test_tau_u_parker_2011_example():
    a, b = PVDS2011
    assert tau_u(a, b).estimate == pytest.approx(16 / 20, abs=1e-12)
    r = tau_u(a, b, variant="A vs B - trend A")
    assert r.statistic == 13
    assert r.estimate == pytest.approx(13 / 20, abs=1e-12)


def test_tau_u_singlecasees_example_2():
    a, b = [3, 3, 4, 5], [4, 5, 6, 7, 7]
    assert tau_u(a, b).estimate == pytest.approx(16 / 20, abs=1e-12)
    assert tau_u(a, b, variant="A vs B - trend A").estimate == pytest.approx(11 / 20, abs=1e-12)


def test_nap_complete_separation_lower_limit():
    # plan: NAP = 1 with 4 and 5 points has 95% lower limit 0.6115 (not 1)
    r = nap([1, 2, 3, 4], [5, 6, 7, 8, 9])
    assert r.estimate == 1.0
    assert r.ci_low == pytest.approx(0.6115, abs=5e-5)
    assert r.ci_high == 1.0
    # same data with lower = better and the order reversed: NAP = 0, mirrored interval
    r0 = nap([1, 2, 3, 4], [5, 6, 7, 8, 9], better="lower")
    assert r0.estimate == 0.0 and r0.ci_low == 0.0
    assert r0.ci_high == pytest.approx(1 - r.ci_low, abs=1e-10)


def test_newcombe_limits_solve_the_score_equation():
    # closed form: each interior limit is a root of Newcombe's method-5 equation
    a, b = PVD2011
    r = nap(a, b)
    m, n, h, z = 6, 7, 6 / 2 + 7 / 2 - 1, 1.959963984540054
    for x in (r.ci_low, r.ci_high):
        lhs = m * n * (r.estimate - x) ** 2 * (2 - x) * (1 + x)
        rhs = z**2 * x * (1 - x) * (2 + h + (1 + 2 * h) * x * (1 - x))
        assert lhs == pytest.approx(rhs, rel=1e-8)


# ------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("better", ["higher", "lower"])
def test_nap_and_s_by_brute_force(seed, better):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 6, size=7).astype(float)   # small integers: many ties
    b = rng.integers(1, 8, size=9).astype(float)
    assert nap(a, b, better=better).estimate == pytest.approx(brute_nap(a, b, better), abs=1e-12)
    s_ab, s_a = brute_s(list(a), list(b), better)
    assert tau_u(a, b, better=better).statistic == s_ab
    assert tau_u(a, b, better=better, variant="A vs B - trend A").statistic == s_ab - s_a
    assert tau_u(a, b, better=better).estimate == pytest.approx(s_ab / 63, abs=1e-12)


def test_trend_s_is_kendall_s_of_recoded_time():
    # Parker's trick: S_AvsB - S_trendA = Kendall's S between y and (nA..1, nA+1 x nB)
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=5), rng.normal(size=6)
    x = np.r_[np.arange(5, 0, -1), np.full(6, 6)]
    y = np.r_[a, b]
    i, j = np.triu_indices(11, k=1)
    s_kendall = np.sum(np.sign(x[j] - x[i]) * np.sign(y[j] - y[i]))
    assert tau_u(a, b, variant="A vs B - trend A").statistic == s_kendall


def test_kendall_variance_without_ties_is_mann_whitney():
    # no ties in y: Var(S) = nA nB (N + 1) / 3 (4 x the Mann-Whitney U variance)
    x = [0] * 4 + [1] * 6
    assert kendall_s_var(x, np.arange(10.0)) == pytest.approx(4 * 6 * 11 / 3, rel=1e-12)


def test_tau_u_can_exceed_one():
    r = tau_u([5, 4, 3, 2, 1], [6, 7], variant="A vs B - trend A")
    assert r.estimate == pytest.approx((10 + 10) / 10)
    assert "> 1" in r.note


def test_direction_is_applied_consistently():
    a, b = np.array([3.0, 3, 2, 3, 2]), np.array([2.0, 2, 1.5, 1.5, 1, 1, 1.5])
    for f in (nap, pnd):
        assert f(a, b, better="lower").estimate == pytest.approx(f(-a, -b).estimate)
    for v in ("A vs B", "A vs B - trend A"):
        lo = tau_u(a, b, better="lower", variant=v)
        hi = tau_u(-a, -b, variant=v)
        assert (lo.estimate, lo.p_value) == pytest.approx((hi.estimate, hi.p_value))
        assert lo.estimate > 0   # MAS fell: improvement is positive


# -------------------------------------------------------------------------------- against R
@pytest.mark.parametrize("name", sorted(R))
def test_nonoverlap_against_r(name):
    ref = R[name]
    a, b, better = ref["a"], ref["b"], ref["better"]
    r = nap(a, b, better=better)
    assert r.estimate == pytest.approx(ref["nap"]["est"], abs=TOL)
    assert r.se == pytest.approx(ref["nap"]["se"], abs=TOL)
    assert r.ci_low == pytest.approx(ref["nap"]["ci_low"], abs=1e-8)
    assert r.ci_high == pytest.approx(ref["nap"]["ci_high"], abs=1e-8)
    assert r.statistic == pytest.approx(ref["wilcox_w"], abs=TOL)
    assert r.p_value == pytest.approx(ref["wilcox_p"], rel=1e-7)
    assert ("exact" in r.method and "approximation" not in r.method) == ref["wilcox_exact"]
    for variant, key in (("A vs B", "kendall_ab"), ("A vs B - trend A", "kendall_trend")):
        t = tau_u(a, b, better=better, variant=variant)
        m, n = len(a), len(b)
        x = np.r_[np.zeros(m), np.ones(n)] if variant == "A vs B" else \
            np.r_[np.arange(m, 0, -1), np.full(n, m + 1)]
        sg = 1 if better == "higher" else -1
        z = t.statistic / np.sqrt(kendall_s_var(x, sg * np.r_[a, b]))
        assert z == pytest.approx(ref[f"{key}_z"], rel=1e-9)
        assert t.p_value == pytest.approx(ref[f"{key}_p"], rel=1e-7)
    # Tau (A vs B) interval = 2 x NAP's - 1 (SingleCaseES Tau)
    t = tau_u(a, b, better=better)
    assert t.ci_low == pytest.approx(2 * ref["nap"]["ci_low"] - 1, abs=1e-8)
    assert t.se == pytest.approx(2 * ref["nap"]["se"], abs=TOL)


@pytest.mark.parametrize("name", sorted(R))
def test_piecewise_against_r_lm(name):
    ref = R[name]
    days = ref["day_a"] + ref["day_b"]
    values = ref["a"] + ref["b"]
    phase = [0] * len(ref["a"]) + [1] * len(ref["b"])
    t = piecewise(days, values, phase)
    assert t["term"].tolist() == ["baseline slope", "level change", "slope change"]
    for col, key in (("estimate", "lm_estimate"), ("se", "lm_se"), ("statistic", "lm_t"),
                     ("ci_low", "lm_ci_low"), ("ci_high", "lm_ci_high")):
        np.testing.assert_allclose(t[col], ref[key], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(t["p_value"], ref["lm_p"], rtol=1e-6)
    assert (t["df"] == ref["lm_df"]).all()
    note = t.loc[0, "note"]
    assert f"lag-1 autocorrelation of residuals {ref['resid_acf1']:.3f}" in note
    assert f"Durbin-Watson {ref['durbin_watson']:.3f}" in note
    assert "autocorrelation" in t.loc[0, "method"] and "type I error" in t.loc[0, "method"]


def test_piecewise_against_lstsq_closed_form():
    rng = np.random.default_rng(11)
    days = np.r_[np.sort(rng.choice(np.arange(-20, 0), 7, replace=False)),
                 np.sort(rng.choice(np.arange(1, 30), 10, replace=False))].astype(float)
    d = (days > 0).astype(float)
    y = 5 + 0.1 * days - 2 * d - 0.2 * (days - days[d == 1].min()) * d + rng.normal(0, 0.5, 17)
    x = np.column_stack([np.ones(17), days, d, (days - days[d == 1].min()) * d])
    beta, rss, *_ = np.linalg.lstsq(x, y, rcond=None)
    sigma2 = rss[0] / (17 - 4)
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(x.T @ x)))
    t = piecewise(days, y, d)
    np.testing.assert_allclose(t["estimate"], beta[1:], rtol=1e-9)
    np.testing.assert_allclose(t["se"], se[1:], rtol=1e-9)


def test_piecewise_known_by_construction():
    t = piecewise([1, 2, 3, 4, 5, 6, 7, 8], [10, 11, 12, 13, 20, 22, 24, 26], [0] * 4 + [1] * 4)
    np.testing.assert_allclose(t["estimate"], [1.0, 6.0, 1.0], atol=1e-10)


# ------------------------------------------------------------------------- frame level
def _series():
    ref = R["mas_ties"]
    return pd.DataFrame({
        "patient_id": "P01", "measure": "mas_knee_ext", "side": "L",
        "phase": ["baseline"] * 5 + ["test_infusion"] * 7 + ["post_implant"],
        "day": ref["day_a"] + ref["day_b"] + [60],
        "value": ref["a"] + ref["b"] + [0.0],
    })


def test_phase_analysis_rows():
    t = phase_analysis(_series().sample(frac=1, random_state=3), better="lower")
    assert t[["analysis", "term"]].values.tolist() == [
        ["nap", "test_infusion vs baseline"], ["tau_u", "A vs B"],
        ["tau_u", "A vs B - trend A"], ["pnd", "test_infusion vs baseline"],
        ["piecewise", "baseline slope"], ["piecewise", "level change"],
        ["piecewise", "slope change"]]
    assert set(t["patient_id"]) == {"P01"} and set(t["measure"]) == {"mas_knee_ext"}
    assert set(t["side"]) == {"L"}
    ref = R["mas_ties"]
    assert t.loc[0, "estimate"] == pytest.approx(ref["nap"]["est"], abs=TOL)
    assert (t.loc[:3, "estimate"] > 0).all()            # MAS fell: improvement positive
    assert t.loc[5, "estimate"] < 0                       # raw level change: MAS went down
    np.testing.assert_allclose(t.loc[4:, "estimate"], ref["lm_estimate"], rtol=1e-8)
    assert (t["n_obs"] == 12).all()                       # post_implant row ignored
    assert t["method"].str.len().min() > 0
    assert "Tau-U, variant 'A vs B - trend A'" in t.loc[2, "method"]


def test_phase_analysis_too_few_points_gives_reasons():
    s = _series()
    s = s[(s["phase"] != "baseline") | (s["day"] == -1)]    # one baseline point
    t = phase_analysis(s, better="lower")
    trend = t[(t["analysis"] == "tau_u") & (t["term"] == "A vs B - trend A")]
    assert trend["estimate"].isna().all() and trend["note"].str.contains("not estimable").all()
    pw = t[t["analysis"] == "piecewise"]
    assert pw["estimate"].isna().all() and pw["note"].str.contains("not estimable").all()
    row = t[t["analysis"] == "nap"].iloc[0]
    assert np.isnan(row["se"]) and "SE not estimable" in row["note"]
    assert np.isfinite(row["ci_low"])


def test_errors():
    s = _series()
    with pytest.raises(InvalidInputError, match="towards_normal"):
        phase_analysis(s, better="towards_normal")
    two = pd.concat([s, s.assign(patient_id="P02")])
    with pytest.raises(InvalidInputError, match="patient_id"):
        phase_analysis(two, better="lower")
    with pytest.raises(InvalidInputError, match="'day'"):
        phase_analysis(s.drop(columns="day"), better="lower")
    with pytest.raises(InvalidInputError, match="variant"):
        tau_u([1, 2], [3, 4], variant="A vs B + trend B")
    with pytest.raises(InvalidInputError, match="at least"):
        nap([], [1, 2])
