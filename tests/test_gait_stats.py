"""Curve statistics (permutation SPM), GVS/GPS/MAP and normative tables."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from analysis.gait.c3d import VARIABLES
from analysis.gait.indices import gait_variable_scores, movement_analysis_profile
from analysis.gait.norms import norms_from_controls, select_norms
from analysis.gait.spm import spm_ttest2, ttest2_curve


def _brute_force(a, b, alpha):
    """Every split by itertools, t by scipy, clusters by a plain loop."""
    from scipy import stats

    y = np.vstack([a, b])
    n, na = len(y), len(a)
    fields = []
    for idx in itertools.combinations(range(n), na):
        mask = np.zeros(n, bool)
        mask[list(idx)] = True
        fields.append(stats.ttest_ind(y[~mask], y[mask], axis=0).statistic)
    fields = np.array(fields)
    z = np.abs(fields).max(axis=1)
    z_sorted = np.sort(z)
    h = (len(z) - 1) * (1 - alpha)  # linear-interpolation quantile (Hyndman & Fan type 7)
    thr = z_sorted[int(math.floor(h))] + (h - math.floor(h)) * (
        z_sorted[min(int(math.floor(h)) + 1, len(z) - 1)] - z_sorted[int(math.floor(h))])

    def clusters(t):
        out = []
        for sign in (1, -1):
            run = []
            for q, v in enumerate(t):
                if sign * v > thr:
                    run.append(q)
                elif run:
                    out.append((sign, run))
                    run = []
            if run:
                out.append((sign, run))
        res = []
        for sign, run in out:
            ex = sign * t[run] - thr
            res.append((sign, run[0], run[-1],
                        ex[0] if len(ex) == 1 else float(np.sum((ex[1:] + ex[:-1]) / 2))))
        return res

    null = [max([c[3] for c in clusters(f)], default=0.0) for f in fields]
    t = stats.ttest_ind(b, a, axis=0).statistic
    return thr, [(s, i, j, m, np.mean(np.array(null) >= m - 1e-12)) for s, i, j, m in clusters(t)]


@pytest.mark.parametrize("na, nb, seed", [(4, 4, 1), (3, 5, 2), (5, 5, 3)])
def test_spm_matches_brute_force_enumeration(na, nb, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, (na, 25))
    b = rng.normal(0, 1, (nb, 25))
    b[:, 8:15] += 3.0
    b[:, 20:23] -= 2.5
    r = spm_ttest2(a, b, alpha=0.05)
    thr, clusters = _brute_force(a, b, 0.05)
    assert r.exact and r.n_permutations == math.comb(na + nb, na)
    assert r.threshold == pytest.approx(thr, rel=1e-10)
    got = [(c.sign, c.start, c.end, c.integral, c.p_value) for c in r.clusters]
    assert len(got) == len(clusters)
    for g, e in zip(sorted(got), sorted(clusters), strict=False):
        assert g[:3] == e[:3]
        assert g[3] == pytest.approx(e[3], rel=1e-10)
        assert g[4] == pytest.approx(e[4], abs=1e-12)


def test_spm_random_permutations_are_seeded():
    rng = np.random.default_rng(5)
    a, b = rng.normal(0, 1, (10, 20)), rng.normal(0.8, 1, (10, 20))
    r1 = spm_ttest2(a, b, n_permutations=500, seed=9)
    r2 = spm_ttest2(a, b, n_permutations=500, seed=9)
    assert not r1.exact and r1.n_permutations == 500
    assert r1.threshold == r2.threshold and r1.clusters == r2.clusters


def test_spm_agrees_with_spm1d_nonparametric():
    """spm1d (GPL-3, test-only): same t curve; threshold and clusters agree up to spm1d's use of
    half the permutations in two-tailed tests and its interpolated cluster endpoints."""
    spm1d = pytest.importorskip("spm1d")
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (6, 40))
    b = rng.normal(0, 1, (6, 40))
    b[:, 12:24] += 3.0
    r = spm_ttest2(a, b, alpha=0.05)
    ref = spm1d.stats.nonparam.ttest2(b, a).inference(alpha=0.05, two_tailed=True, iterations=-1)
    assert np.allclose(r.t, ref.z, atol=1e-10)
    assert r.threshold == pytest.approx(ref.zstar, rel=0.02)
    assert len(r.clusters) == len(ref.clusters) >= 1
    for mine, theirs in zip(r.clusters, ref.clusters, strict=False):
        lo, hi = theirs.endpoints
        assert abs(mine.start - lo) <= 1 and abs(mine.end - hi) <= 1
        assert (mine.p_value < 0.05) == (theirs.P < 0.05)


def test_ttest2_curve_equals_scipy():
    from scipy import stats

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 7)), rng.normal(size=(6, 7))
    assert np.allclose(ttest2_curve(a, b), stats.ttest_ind(b, a, axis=0).statistic)


def _curves(offsets: dict[str, float], n_cycles: int = 2) -> pd.DataFrame:
    pct = np.linspace(0, 100, 101)
    rows = []
    for side in "LR":
        for cycle in range(1, n_cycles + 1):
            for var in VARIABLES:
                rows.append(pd.DataFrame({"visit": "bl", "trial": 1, "cycle": cycle,
                                          "side": side, "variable": var, "pct": pct,
                                          "value": np.sin(pct / 10) + offsets.get(var, 0.0)}))
    return pd.concat(rows, ignore_index=True)


def test_gvs_gps_closed_form():
    pct = np.linspace(0, 100, 101)
    norms = pd.DataFrame({"variable": np.repeat(list(VARIABLES), 101),
                          "pct": np.tile(pct, len(VARIABLES)),
                          "mean": np.tile(np.sin(pct / 10), len(VARIABLES))})
    offsets = {"knee_flexion": 6.0, "pelvis_tilt": 3.0}
    m = movement_analysis_profile(_curves(offsets), norms).set_index(["measure", "side"])["value"]
    assert m[("gvs_knee_flexion", "L")] == pytest.approx(6.0)
    assert m[("gvs_pelvis_tilt", "L")] == pytest.approx(3.0)
    assert ("gvs_pelvis_tilt", "R") not in m.index  # pelvis counted on the left only
    assert m[("gps_limb", "L")] == pytest.approx(math.sqrt((36 + 9) / 9))
    assert m[("gps_limb", "R")] == pytest.approx(math.sqrt(36 / 6))
    assert m[("gps", "")] == pytest.approx(math.sqrt((36 + 9 + 36) / 15))


def test_gvs_uses_51_points_every_2_percent():
    pct = np.linspace(0, 100, 101)
    curve = np.where(np.arange(101) % 2 == 1, 10.0, 0.0)  # non-zero only at odd percents
    c = pd.DataFrame({"trial": 1, "cycle": 1, "side": "L", "variable": "knee_flexion",
                      "pct": pct, "value": curve})
    n = pd.DataFrame({"variable": "knee_flexion", "pct": pct, "mean": 0.0})
    assert gait_variable_scores(c, n)["gvs"].item() == 0.0


def test_norms_speed_classes_and_selection():
    pct = np.array([0.0, 50.0, 100.0])
    curves = pd.concat([pd.DataFrame({"control": k, "variable": "knee_flexion", "pct": pct,
                                      "value": float(k)}) for k in range(1, 7)])
    speeds = pd.DataFrame({"control": range(1, 7), "measure": "gait_lab_speed",
                           "value": [0.5, 0.6, 0.7, 1.2, 1.3, 1.4]})
    n = norms_from_controls(curves, speeds, speed_bins=[1.0])
    knee = n[(n.variable == "knee_flexion") & (n.pct == 0)].set_index("speed_class")
    assert knee.loc["all", "mean"] == 3.5 and knee.loc["all", "n"] == 6
    assert knee.loc["0.00-1.00 m/s", "mean"] == 2.0
    assert knee.loc["0.00-1.00 m/s", "sd"] == pytest.approx(1.0)
    rows, note = select_norms(n, speed=1.25)
    assert set(rows["speed_class"]) == {"1.00-inf m/s"} and "speed-matched" in note
    rows, note = select_norms(n)
    assert set(rows["speed_class"]) == {"all"} and "not speed-matched" in note
