"""analysis.stats.lmm.fitting: rescaled coordinates, starts, scale-free verification, and when
the Nelder-Mead polish runs (only where L-BFGS-B's optimum is not a verified strict interior
minimum; its point kept only for a real gain). References: closed forms and brute-force
profiles of the criterion; the R comparisons are in test_lmm.py and test_lmm_dose_scale.py."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from analysis.stats.lmm import fitting
from analysis.stats.lmm.engine import REMLProblem


def _problem(seed: int, sd_patient: float, slope: bool = False, unit: float = 1.0,
             sd_slope: float = 0.0) -> REMLProblem:
    rng = np.random.default_rng(seed)
    m, k = 40, 5
    g = np.repeat(np.arange(m), k)
    x = np.tile(np.arange(k, dtype=float), m) * unit
    X = np.column_stack([np.ones(m * k), x])
    y = (3 + (0.5 + rng.normal(0, sd_slope, m)[g]) * x / unit
         + rng.normal(0, sd_patient, m)[g] + rng.normal(0, 1, m * k))
    Z = X if slope else np.ones((m * k, 1))
    return REMLProblem(y, X, Z, g)


def _polished(prob: REMLProblem, fit) -> float:
    """The criterion after an unconditional Nelder-Mead polish from the fit."""
    bounds = [(lo if lo is not None else -np.inf, np.inf) for lo, _ in prob.lower_bounds()]
    nm = optimize.minimize(prob.deviance, fit.theta, method="Nelder-Mead", bounds=bounds,
                           options={"xatol": 1e-9, "fatol": 1e-10 * abs(fit.deviance)})
    return float(nm.fun)


def test_interior_minimum_skips_the_polish_and_nothing_better_exists():
    prob = _problem(1, sd_patient=1.5)
    fit = prob.fit()
    assert np.isnan(fit.deviance_neldermead) and fit.converged and not fit.singular
    assert fit.scaled_gradient < 1e-6 and fit.deviance == fit.deviance_lbfgsb
    assert _polished(prob, fit) >= fit.deviance - 1e-9 * abs(fit.deviance)
    for t in fit.theta[0] * np.array([0.999, 0.9999, 1.0001, 1.001]):
        assert prob.deviance(np.array([t])) >= fit.deviance - 1e-9


def test_boundary_fit_is_verified_on_the_bound():
    prob = _problem(2, sd_patient=0.0)  # no patient variance: theta on its bound
    fit = prob.fit()
    assert fit.singular and fit.converged and fit.theta[0] == 0.0
    assert fit.scaled_gradient == 0.0 and np.isnan(fit.deviance_neldermead)
    # nothing off the bound is lower (a profile), nor does a simplex find anything lower
    for t in (1e-4, 1e-3, 1e-2, 0.1, 0.5):
        assert prob.deviance(np.array([t])) > fit.deviance
    assert _polished(prob, fit) >= fit.deviance - 1e-9 * abs(fit.deviance)


def test_singular_random_slope_is_confirmed_from_both_starts():
    prob = _problem(9, sd_patient=1.0, slope=True, unit=100.0, sd_slope=0.0)
    fit = prob.fit()
    assert fit.singular and fit.converged
    assert _polished(prob, fit) >= fit.deviance - 1e-9 * abs(fit.deviance)
    scale = fitting.theta_scale(prob)
    for start in fitting._starts(prob, scale):
        phi, dev, _ = fitting._lbfgsb(prob, start, scale, [])
        assert dev >= fit.deviance - fitting.AGREEMENT_TOL


def test_random_slope_minimum_is_verified_without_polish():
    prob = _problem(3, sd_patient=1.0, slope=True, sd_slope=0.3)
    fit = prob.fit()
    assert np.isnan(fit.deviance_neldermead) and fit.converged and not fit.singular
    assert _polished(prob, fit) >= fit.deviance - 1e-9 * abs(fit.deviance)


def test_theta_scale_is_an_exact_power_of_two_per_row():
    prob = _problem(4, sd_patient=1.0, slope=True, unit=100.0, sd_slope=0.3)
    scale = fitting.theta_scale(prob)
    assert scale[0] == 1.0 and scale[1] == scale[2]
    assert np.log2(scale[1]) == np.round(np.log2(scale[1])) and scale[1] < 1 / 100
    theta = np.array([1.234567891234, -0.00123456789, 0.00987654321])
    assert np.array_equal((theta / scale) * scale, theta)
    assert fitting.theta_scale(_problem(4, sd_patient=1.0)).tolist() == [1.0]


@pytest.mark.parametrize("unit", [0.01, 1.0, 100.0, 1000.0])
def test_units_of_the_slope_variable_change_neither_optimum_nor_verdict(unit):
    """The same data with the slope variable in other units: theta of its row / unit, the
    criterion shifted by 2 log(unit) (log|R_X|^2 of the rescaled X), the same status."""
    base = _problem(5, sd_patient=1.0, slope=True, sd_slope=0.3).fit()
    fit = _problem(5, sd_patient=1.0, slope=True, unit=unit, sd_slope=0.3).fit()
    np.testing.assert_allclose(fit.theta, base.theta / np.array([1, unit, unit]), rtol=1e-5,
                               atol=1e-9)
    assert fit.deviance == pytest.approx(base.deviance + 2 * np.log(unit), abs=1e-6)
    assert fit.converged and not fit.singular and fit.scaled_gradient < 1e-5


def test_curvature_check_is_zero_at_the_minimum_and_large_away_from_it():
    prob = _problem(6, sd_patient=1.0, slope=True, unit=50.0, sd_slope=0.3)
    fit = prob.fit()
    scaled, positive = fitting.curvature_check(prob, fit.theta)
    assert positive and scaled < 1e-5
    # a Newton decrement: half its square is about the gain of a Newton step
    off = fit.theta * np.array([1.05, 1.0, 0.95])
    s_off, pos_off = fitting.curvature_check(prob, off)
    gain = prob.deviance(off) - fit.deviance
    assert pos_off and s_off ** 2 / 2 == pytest.approx(gain, rel=0.2)


def test_moment_start_needs_patients_with_their_own_regression():
    prob = _problem(7, sd_patient=1.0, slope=True, unit=100.0, sd_slope=0.3)
    scale = fitting.theta_scale(prob)
    start = fitting.moment_start(prob, scale)
    assert start is not None and np.all(start[prob.diag_index] > 0)
    # its criterion is close to the optimum's (far closer than the identity start's)
    best = prob.fit().deviance
    identity = np.array([1.0, 0.0, 1.0])
    assert prob.deviance(start * scale) - best < prob.deviance(identity * scale) - best
    g = np.repeat(np.arange(3), 2)  # two observations per patient: no residual df
    x = np.tile([1.0, 2.0], 3)
    X = np.column_stack([np.ones(6), x])
    few = REMLProblem(np.array([1.0, 2.5, 0.5, 1.0, 2.0, 4.5]), X, X, g)
    assert fitting.moment_start(few, fitting.theta_scale(few)) is None
