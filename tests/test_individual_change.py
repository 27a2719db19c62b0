"""Tests of analysis.stats.individual_change (RCI, MCID classes, responder proportions).

Sources
-------
- Jacobson & Truax (1991) J Consult Clin Psychol 59:12: SEM = SD sqrt(1 - r_xx),
  S_diff = sqrt(2 SEM^2), RC = (x2 - x1) / S_diff, reliable when |RC| > 1.96 (closed form).
- Published consistency check (shared/clinical.md, Andersen & Kristensen for gait speed):
  SEM 0.06 m/s gives MDC95 = 1.96 sqrt(2) 0.06 = 0.166, quoted as 0.17 m/s.
- Newcombe (1998) Stat Med 17:857, Table I, Wilson score interval (method 3): 81/263
  0.2553-0.3662; 15/148 0.0624-0.1605; 0/20 0-0.1611; 1/29 0.0061-0.1718.
- R 4.2 fixture (tests/r/singlecase_fixtures.R -> tests/fixtures/singlecase/
  proportions_r.csv): binom.test() Clopper-Pearson and prop.test(correct = FALSE) Wilson.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.errors import ITBError
from analysis.results import COLUMNS
from analysis.stats.individual_change import (
    RELIABLE_DETERIORATION,
    RELIABLE_IMPROVEMENT,
    individual_change,
    rci,
    responders,
)

FIX = Path(__file__).parent / "fixtures" / "singlecase"


def _changes(values, baselines, measure="tug", visit="post_m6", side=None):
    values, baselines = np.asarray(values, float), np.asarray(baselines, float)
    frame = pd.DataFrame({
        "patient_id": [f"P{i + 1:03d}" for i in range(len(values))],
        "visit": visit, "measure": measure, "value": values, "baseline": baselines,
        "change": values - baselines,
    })
    if side is not None:
        frame["side"] = side
    return frame


def _rows(table, analysis):
    return table[table["analysis"] == analysis].reset_index(drop=True)


# ------------------------------------------------------------------ rci()
def test_rci_closed_form():
    sd, r_xx, change = 7.6, 0.95, -5.0
    res = rci(change, sd=sd, reliability=r_xx)
    sem = sd * math.sqrt(1 - r_xx)
    assert res.sem == pytest.approx(sem, rel=1e-14)
    assert res.s_diff == pytest.approx(math.sqrt(2 * sem**2), rel=1e-14)
    assert res.rci == pytest.approx(change / math.sqrt(2 * sem**2), rel=1e-14)
    assert res.reliable is (abs(res.rci) > 1.96)
    assert rci(change, sem=sem).rci == pytest.approx(res.rci, rel=1e-14)


def test_rci_matches_published_mdc_for_gait_speed():
    # SEM 0.06 m/s -> MDC95 0.17 m/s (Andersen & Kristensen): 0.17 is reliable, 0.16 is not
    assert 1.96 * rci(1.0, sem=0.06).s_diff == pytest.approx(0.17, abs=0.005)
    assert rci(0.17, sem=0.06).reliable
    assert not rci(0.16, sem=0.06).reliable
    assert rci(-0.17, sem=0.06).rci < -1.96  # sign follows the change


@pytest.mark.parametrize("kwargs", [{"sd": 5.0}, {"sd": 5.0, "reliability": 1.0},
                                    {"sem": -1.0}, {"sd": 0.0, "reliability": 0.9}])
def test_rci_bad_inputs(kwargs):
    with pytest.raises(ITBError):
        rci(1.0, **kwargs)


# ------------------------------------------------------------------ individual_change()
def test_codebook_scaling_and_direction_lower_is_better():
    ch = _changes([9.0, 21.0, 17.0], [18.0, 17.0, 18.0])  # TUG: -9, +4, -1 s
    t = individual_change(ch, better="lower", mcid=2.9, mcid_source="Flansbjer 2005",
                          sd=7.5, reliability=0.88, reliability_source="Test 2020")
    assert list(t.columns) == list(COLUMNS)
    s_diff = math.sqrt(2) * 7.5 * math.sqrt(1 - 0.88)
    r = _rows(t, "rci")
    np.testing.assert_allclose(r["estimate"], np.array([-9.0, 4.0, -1.0]) / s_diff,
                               rtol=1e-13)
    assert r["term"].eq("post_m6 - baseline").all()
    assert r["method"].str.contains("codebook SD 7.5").all()
    assert r["method"].str.contains("Test 2020").all()
    # S_diff = 3.674: -9 -> -2.45, lower is better, so a reliable improvement; +4 -> 1.09
    assert r.loc[0, "note"].startswith(RELIABLE_IMPROVEMENT)
    assert r.loc[1, "note"].startswith("no reliable change")
    c = _rows(t, "mcid_class")
    assert c["estimate"].tolist() == [1.0, -1.0, 0.0]
    assert c["note"].str.contains("Flansbjer 2005").all()
    assert _rows(t, "change")["estimate"].tolist() == [-9.0, 4.0, -1.0]


def test_higher_is_better_and_float_edge_at_mcid():
    ch = _changes([1.0, 0.7, 0.95], [0.9, 0.9, 0.9], measure="gait_speed")
    t = individual_change(ch, better="higher", mcid=0.1, sem=0.06)
    # 1.0 - 0.9 is 0.09999999999999998 in floating point: it still reaches the MCID of 0.1
    assert _rows(t, "mcid_class")["estimate"].tolist() == [1.0, -1.0, 0.0]
    r = _rows(t, "rci")
    assert r.loc[1, "note"].startswith(RELIABLE_DETERIORATION)  # -0.2 / 0.0849 = -2.36


def test_sample_sd_fallback_is_named():
    base = [18.0, 17.0, 22.0, 25.0]
    ch = _changes([12.0, 21.0, 17.0, 24.0], base)
    t = individual_change(ch, better="lower", mcid=2.9, reliability=0.9,
                          reliability_source="Flansbjer 2005")
    sd = float(np.std(base, ddof=1))
    r = _rows(t, "rci")
    assert r["se"].iloc[0] == pytest.approx(math.sqrt(2) * sd * math.sqrt(0.1), rel=1e-12)
    assert r["method"].str.contains("sample (baseline SD", regex=False).all()
    assert r["method"].str.contains("Flansbjer 2005").all()


def test_missing_reliability_gives_reason_not_bare_nan():
    t = individual_change(_changes([12.0, 21.0], [18.0, 17.0]), better="lower", mcid=2.9)
    r = _rows(t, "rci")
    assert r["estimate"].isna().all()
    assert r["note"].str.startswith("no RCI").all()


def test_threshold_fallbacks_mdc_then_half_sd():
    ch = _changes([12.0, 17.5], [18.0, 17.0])
    t = individual_change(ch, better="lower", mdc=2.9, mdc_source="Flansbjer", sem=1.0)
    c = _rows(t, "mcid_class")
    assert c["note"].str.contains("no MCID: MDC 2.9").all()
    assert c["estimate"].tolist() == [1.0, 0.0]
    t2 = individual_change(ch, better="lower", sem=1.0)
    half = 0.5 * float(np.std([18.0, 17.0], ddof=1))  # 0.354: +0.5 s is worse than that
    assert _rows(t2, "mcid_class")["estimate"].tolist() == [1.0, -1.0]
    assert f"{half:.4g}" in _rows(t2, "mcid_class")["note"].iloc[0]


def test_measure_like_object_and_towards_normal():
    m = SimpleNamespace(key="knee_flex_lr", better="towards_normal", mcid=3.0,
                        mcid_source="example", mdc=None, mdc_source="", sem=2.0,
                        reliability=None, reliability_source="example", sd_ref=None,
                        norm_mean=17.0)
    ch = pd.concat([_changes([15.0, 5.0], [5.0, 12.0], measure="knee_flex_lr"),
                    _changes([1.0], [2.0], measure="tug")])
    t = individual_change(ch, measure=m)
    assert set(t["measure"]) == {"knee_flex_lr"}
    # |5 - 17| - |15 - 17| = 10 closer to normal: improved; 12 -> 5 is 7 further: worsened
    assert _rows(t, "mcid_class")["estimate"].tolist() == [1.0, -1.0]
    no_norm = individual_change(ch[ch["measure"] == "tug"], better="context", sem=1.0)
    c = _rows(no_norm, "mcid_class")
    assert c["estimate"].isna().all() and c["note"].str.contains("context").all()
    with pytest.raises(ITBError, match="several measures"):
        individual_change(ch, better="lower", sem=1.0)


def test_sides_are_kept_apart():
    ch = pd.concat([_changes([2.0, 1.0], [3.0, 3.0], measure="mas_knee_ext", side="L"),
                    _changes([3.0, 3.0], [3.0, 3.0], measure="mas_knee_ext", side="R")])
    t = individual_change(ch, better="lower", mcid=1.0, sem=0.3)
    c = _rows(t, "mcid_class")
    assert c.groupby("side")["estimate"].sum().to_dict() == {"L": 2.0, "R": 0.0}
    assert not t.duplicated(["measure", "side", "patient_id", "analysis", "term"]).any()


# ------------------------------------------------------------------ responders()
def _class_table(k, n):
    values = np.r_[np.full(k, 10.0), np.full(n - k, 15.0)]
    return individual_change(_changes(values, np.full(n, 15.0)), better="lower",
                             mcid=2.0, sem=1.0)


NEWCOMBE_WILSON = [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605),
                   (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)]


@pytest.mark.parametrize("k, n, lo, hi", NEWCOMBE_WILSON)
def test_wilson_against_newcombe_1998(k, n, lo, hi):
    r = responders(_class_table(k, n))
    row = r[(r["analysis"] == "responder") & (r["term"] == "mcid: post_m6")].iloc[0]
    assert row["estimate"] == pytest.approx(k / n)
    assert row["ci_low"] == pytest.approx(lo, abs=5e-5)  # published to 4 decimals
    assert row["ci_high"] == pytest.approx(hi, abs=5e-5)
    rci_row = r[(r["analysis"] == "responder") & (r["term"] == "rci: post_m6")].iloc[0]
    assert rci_row["statistic"] == k  # -5 / sqrt(2) = -3.54: all MCID responders reliable


@pytest.mark.parametrize("row", pd.read_csv(FIX / "proportions_r.csv").to_dict("records"))
def test_intervals_against_r(row):
    k, n = int(row["k"]), int(row["n"])
    r = responders(_class_table(k, n))
    w = r[(r["analysis"] == "responder") & (r["term"] == "mcid: post_m6")].iloc[0]
    cp = r[(r["analysis"] == "responder_cp") & (r["term"] == "mcid: post_m6")].iloc[0]
    assert w["ci_low"] == pytest.approx(row["wilson_lo"], abs=1e-10)
    assert w["ci_high"] == pytest.approx(row["wilson_hi"], abs=1e-10)
    assert cp["ci_low"] == pytest.approx(row["cp_lo"], abs=1e-8)
    assert cp["ci_high"] == pytest.approx(row["cp_hi"], abs=1e-8)
    assert f"{row['cp_lo']:.4f}" in w["note"]


def test_wilson_and_cp_closed_forms():
    k, n, z = 7, 11, stats.norm.ppf(0.975)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    r = responders(_class_table(k, n))
    w = r[(r["analysis"] == "responder") & (r["term"] == "mcid: post_m6")].iloc[0]
    assert (w["ci_low"], w["ci_high"]) == pytest.approx((centre - half, centre + half),
                                                         abs=1e-12)
    cp = r[(r["analysis"] == "responder_cp") & (r["term"] == "mcid: post_m6")].iloc[0]
    assert cp["ci_low"] == pytest.approx(stats.beta.ppf(0.025, k, n - k + 1), abs=1e-12)
    assert cp["ci_high"] == pytest.approx(stats.beta.ppf(0.975, k + 1, n - k), abs=1e-12)


def test_responders_without_classifiable_patients_say_why():
    t = individual_change(_changes([1.0, 2.0], [2.0, 2.0]), better="context")
    r = responders(t)
    assert set(r["term"]) == {"mcid: post_m6", "rci: post_m6"}
    assert r["estimate"].isna().all()
    assert (r["note"] != "").all()
    with pytest.raises(ITBError, match="columns"):
        responders(pd.DataFrame({"x": [1]}))


def test_rows_per_record_in_order_with_missing_changes_and_sides():
    # Reference: the rules of individual_change written out for each record by hand:
    # change, rci, mcid_class per patient and visit, ordered by side, patient and day.
    ch = pd.DataFrame({
        "patient_id": ["P2", "P1", "P1", "P2", "P1"], "side": ["L", "R", "L", "L", "L"],
        "visit": ["post_m6", "post_m6", "post_m6", "post_m3", "post_m3"],
        "day": [180.0, 180, 180, 90, 90], "measure": "mas_knee_ext",
        "value": [1.0, np.nan, 3.0, 2.0, 1.0], "baseline": [3.0, 2.0, 2.0, 2.0, 2.0]})
    ch["change"] = ch["value"] - ch["baseline"]
    t = individual_change(ch, better="lower", mcid=1.0, mcid_source="one grade", sem=0.5)
    s_diff = math.sqrt(2) * 0.5
    expected = [  # (side, patient, visit, change)
        ("L", "P1", "post_m3", -1.0), ("L", "P1", "post_m6", 1.0),
        ("L", "P2", "post_m3", 0.0), ("L", "P2", "post_m6", -2.0), ("R", "P1", "post_m6", np.nan)]
    assert len(t) == 3 * len(expected)
    for i, (side, pid, visit, d) in enumerate(expected):
        rows = t.iloc[3 * i: 3 * i + 3]
        assert rows["analysis"].tolist() == ["change", "rci", "mcid_class"]
        assert (rows["side"] == side).all() and (rows["patient_id"] == pid).all()
        assert (rows["term"] == f"{visit} - baseline").all()
        change, rc, cls = (rows.iloc[k] for k in range(3))
        if np.isnan(d):
            assert np.isnan(change["estimate"]) and change["note"].startswith("change missing")
            assert np.isnan(rc["estimate"]) and rc["note"] == "no RCI: change missing"
            assert np.isnan(cls["estimate"]) and cls["note"] == "not classified: change missing"
            continue
        assert change["estimate"] == d and change["note"] == ""
        assert rc["estimate"] == pytest.approx(d / s_diff) and rc["se"] == pytest.approx(s_diff)
        verdict = ("no reliable change" if abs(d / s_diff) <= 1.96 else
                   RELIABLE_IMPROVEMENT if d < 0 else RELIABLE_DETERIORATION)
        assert rc["note"].startswith(verdict + " (")
        word = "improved" if -d >= 1 else "worsened" if -d <= -1 else "unchanged"
        assert cls["estimate"] == {"improved": 1, "unchanged": 0, "worsened": -1}[word]
        assert cls["note"] == f"{word}; MCID 1 (one grade)"


def test_equal_baselines_give_no_half_sd_threshold():
    """Every baseline the same (SD 0, or rounding-sized): half of it is no threshold, so an
    unchanged patient is not called improved (a shape seen on MRC grades at 4)."""
    for base in (4.0, 4.0 + 1e-12):
        changes = pd.DataFrame({
            "patient_id": ["P1", "P2", "P3"], "visit": "m12", "measure": "strength_x",
            "baseline": [4.0, 4.0, base], "value": [4.0, 5.0, 3.0]})
        changes["change"] = changes["value"] - changes["baseline"]
        out = individual_change(changes, better="higher")
        cls = out[out["analysis"] == "mcid_class"]
        assert cls["estimate"].isna().all()
        assert cls["note"].str.contains("SD 0").all()
    changes["baseline"] = [4.0, 3.0, 5.0]  # a real spread: half its SD is the threshold
    changes["change"] = changes["value"] - changes["baseline"]
    cls = individual_change(changes, better="higher").query("analysis == 'mcid_class'")
    assert cls["estimate"].tolist() == [0.0, 1.0, -1.0]
