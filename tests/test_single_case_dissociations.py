"""Tests of analysis.stats.single_case.dissociations (RSDT) against published output and the test's root condition.

Sources
-------
- singcar README (Rittmo & McIntosh, github.com/jorittmo/singcar, README.md), patient DF
  against 28 controls (Hassan et al. 2020): RSDT() approx. abs. t = 1.015, df = 27,
  p = 0.3191, z_a = -1.7548574, z_b = -0.7836956, Z_DCC = -1.0647889, proportion more
  extreme 15.9560625%.
- Crawford & Garthwaite (2005) Neuropsychology 19:318 (RSDT, psi = c).
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

from analysis.errors import ITBError
from analysis.stats.single_case.dissociations import rsdt


def test_rsdt_singcar_readme_published_output():
    za, zb, zdcc = -1.7548574, -0.7836956, -1.0647889
    r_ab = 1 - ((za - zb) / zdcc) ** 2 / 2  # recovered from Z_DCC = (za - zb)/sqrt(2 - 2r)
    r = rsdt(za, zb, mean_x=0, sd_x=1, mean_y=0, sd_y=1, r_xy=r_ab, n=28)
    assert abs(r.t) == pytest.approx(1.015, abs=5e-4)
    assert r.t < 0 and r.df == 27
    assert r.p_value == pytest.approx(0.3191, abs=5e-5)
    assert r.z_dcc == pytest.approx(zdcc, abs=1e-7)
    assert r.pct_more_extreme == pytest.approx(15.9560625, abs=5e-4)


@pytest.mark.parametrize("zx, zy, r_xy, n", [(-3.857, -1.875, 0.68, 20), (1.2, -2.0, 0.1, 6),
                                             (-0.5, 0.4, -0.3, 50)])
def test_rsdt_solves_psi_equals_c(zx, zy, r_xy, n):
    res = rsdt(zx, zy, mean_x=0, sd_x=1, mean_y=0, sd_y=1, r_xy=r_xy, n=n)
    c = abs(res.t)
    k = (1 - r_xy**2) / (2 * (n - 1) ** 2)
    denom = math.sqrt((n + 1) / n * ((2 - 2 * r_xy) + 2 * (1 - r_xy**2) / (n - 1)
                                     + (5 + c**2) * k + r_xy * (1 + c**2) * k))
    psi = abs(zx - zy) / denom  # Garthwaite & Crawford (2004) with critical value c
    assert psi == pytest.approx(c, rel=1e-10)
    assert res.p_value == pytest.approx(2 * stats.t.sf(c, n - 1), rel=1e-12)


def test_rsdt_raw_scores_and_orientation():
    # raw scores standardise to the same z; orienting by `better` flips the lower-is-better z
    raw = rsdt(2.0, 3.0, mean_x=1.0, sd_x=0.5, mean_y=4.0, sd_y=0.5, r_xy=0.3, n=15)
    z = rsdt(2.0, -2.0, mean_x=0, sd_x=1, mean_y=0, sd_y=1, r_xy=0.3, n=15)
    assert raw.t == pytest.approx(z.t, rel=1e-12)
    # x = MAS (lower better), y = MRC (higher better)
    o = rsdt(2.0, 3.0, mean_x=1.0, sd_x=0.5, mean_y=4.0, sd_y=0.5, r_xy=0.3, n=15,
             better_x="lower", better_y="higher", label_x="mas_knee_ext",
             label_y="mrc_knee_ext")
    assert o.z_x == pytest.approx(-2.0) and o.z_y == pytest.approx(-2.0)
    assert o.t == pytest.approx(0.0, abs=1e-12) and o.p_value == pytest.approx(1.0)
    row = o.tidy(patient_id="P01")
    assert row["term"].iloc[0] == "z(mas_knee_ext) - z(mrc_knee_ext)"
    assert "positive = better" in row["method"].iloc[0]
    with pytest.raises(ITBError, match="r_xy"):
        rsdt(1, 1, mean_x=0, sd_x=1, mean_y=0, sd_y=1, r_xy=1.0, n=10)
