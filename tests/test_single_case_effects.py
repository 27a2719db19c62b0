"""Phase effect sizes and non-overlap extras against the published examples.

References: Parker, Vannest & Davis (2011) series (PAND = 1 - 2/13, PEM = 7/7, IRD = 6/7 - 1/6,
as SingleCaseES's test-parker-vannest-davis-2011.R), Tarlow (2017) (Tau-BC of a linear series
= 0), Bonett & Price (2020) example 1 (LRM), Ferron et al. (2020) / SingleCaseES test-PoGO.R
(PoGO), Pustejovsky (2018) (LRR formulas), Fisher, Kelley & Lomas (2003) (CDC binomial rule).
Tolerances: exact counts 1e-12; closed forms 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import analysis
from analysis.errors import InvalidInputError

A = [20, 20, 26, 25, 22, 23]
B = [28, 25, 24, 27, 30, 30, 29]


def one(t, col="estimate"):
    return float(t[col].iloc[0])


def test_parker_vannest_davis_2011():
    assert one(analysis.pand(A, B)) == pytest.approx(1 - 2 / 13, abs=1e-12)
    assert one(analysis.pem(A, B)) == pytest.approx(1.0, abs=1e-12)
    assert one(analysis.pand(A, B, share="percent")) == pytest.approx(100 * (1 - 2 / 13),
                                                                       abs=1e-12)
    assert one(analysis.pem(A, B, share="percent")) == pytest.approx(100.0, abs=1e-12)
    assert one(analysis.ird(A, B)) == pytest.approx(6 / 7 - 1 / 6, abs=1e-12)


def test_direction_of_improvement_mirrors():
    lo = [-x for x in A], [-x for x in B]
    for f in (analysis.pand, analysis.pem, analysis.ird, analysis.smd, analysis.tau_bc):
        assert one(f(*lo, better="lower")) == pytest.approx(one(f(A, B)), abs=1e-12)


def test_tarlow_2017_tau_bc_linear_series_is_zero():
    t = analysis.tau_bc([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert one(t) == 0.0
    k = analysis.tau_bc([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], kendall=True)
    assert one(k) == 0.0 and one(k, "se") == pytest.approx(np.sqrt(2 / 10))


def test_tau_bc_without_trend_equals_tau():
    a, b = [4, 5, 4, 5, 4], [6, 7, 5, 8, 7]   # Theil-Sen baseline slope 0, intercept 4
    nap = analysis.stats.single_case.phase.nap(a, b)
    t = analysis.tau_bc(a, b)
    assert one(t) == pytest.approx(2 * nap.estimate - 1)
    assert one(t, "se") == pytest.approx(2 * nap.se)


def test_smd_formula_singlecasees():
    t = analysis.smd(A, B)
    sa2, sb2 = np.var(A, ddof=1), np.var(B, ddof=1)
    j = 1 - 3 / (4 * 5 - 1)
    d = j * (np.mean(B) - np.mean(A)) / np.sqrt(sa2)
    se = j * np.sqrt(1 / 6 + sb2 / (7 * sa2) + d**2 / (2 * 5))
    assert one(t) == pytest.approx(d, rel=1e-10) and one(t, "se") == pytest.approx(se, rel=1e-10)


def test_lrr_pustejovsky_2018_formulas():
    a, b = np.array([12.0, 9, 14, 11]), np.array([4.0, 6, 3, 5, 2])
    t = analysis.lrr(a, b, better="lower", scale="count").set_index("term")
    bc = [np.log(x.mean()) + x.var(ddof=1) / (2 * x.size * x.mean() ** 2) for x in (a, b)]
    se = np.sqrt(sum(x.var(ddof=1) / (x.size * x.mean() ** 2) for x in (a, b)))
    assert t.loc["LRRd: B vs A", "estimate"] == pytest.approx(bc[1] - bc[0], rel=1e-10)
    assert t.loc["LRRi: B vs A", "estimate"] == pytest.approx(bc[0] - bc[1], rel=1e-10)
    assert t.loc["LRRd: B vs A", "se"] == pytest.approx(se, rel=1e-10)


def test_lrr_zero_mean_is_explained():
    t = analysis.lrr([0, 0, 0], [1, 2, 1])
    assert t["estimate"].isna().all() and t["note"].str.contains("0 or negative").all()


def test_lrm_bonett_price_2020_example_1():
    a = [21, 14, 11, 27, 19, 32, 21, 23, 18, 26, 24, 23]
    b = [34, 19, 26, 31, 39, 42, 27, 14, 25, 29, 33, 36]
    t = analysis.lrm(a, b)
    # order statistics o1 = round(6 - sqrt(12)) = 3, o2 = 10; z0 = qnorm(1 - pbinom(2, 12, .5))
    z0 = stats.norm.ppf(1 - stats.binom.cdf(2, 12, 0.5))
    se = np.sqrt(sum(((np.log(np.sort(x)[9]) - np.log(np.sort(x)[2])) / (2 * z0)) ** 2
                     for x in (a, b)))
    assert one(t) == pytest.approx(np.log(30 / 22), rel=1e-12)
    assert one(t, "se") == pytest.approx(se, rel=1e-12)


def test_pogo_singlecasees():
    t = analysis.pogo(A, B, goal=25)
    assert one(t) == pytest.approx(100 * (np.mean(B) - np.mean(A)) / (25 - np.mean(A)))
    assert np.isnan(one(analysis.pogo([25, 25], [26, 27], goal=25)))


def test_lor_percentages():
    t = analysis.lor([20, 30, 25], [60, 70, 65], bias_correct=False)
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    assert one(t) == pytest.approx(logit(0.65) - logit(0.25), rel=1e-12)
    assert np.isnan(one(analysis.lor([1, 2], [3, 4], scale="other")))


def test_cdc_binomial_rule():
    t = analysis.cdc([3, 4, 3, 4, 3], [6, 7, 6, 7, 7, 8, 7, 8])
    assert one(t) == 8 and one(t, "p_value") == pytest.approx(0.5**8)
    none = analysis.cdc([3, 4, 3, 4, 3], [3, 4, 3, 4])
    assert one(none) == 2 and "no systematic" in none["note"].iloc[0]  # 2 of 4: p = 0.6875


def test_rand_test_exact_enumeration():
    y = [3, 2, 3, 2, 3, 7, 8, 7, 8, 9]
    t = analysis.rand_test(y, start=5, min_points=2)
    assert one(t, "p_value") == pytest.approx(1 / 7)
    assert one(analysis.rand_test([-v for v in y], start=5, min_points=2, better="lower"),
               "p_value") == pytest.approx(1 / 7)
    with pytest.raises(InvalidInputError):
        analysis.rand_test(y, start=1, min_points=2)
