"""Noncentral-t limits: published values, the defining equations, and large t and df."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.stats.noncentral import noncentral_t_limits


def test_lakens_2013_movie_data():
    # Lakens (2013) Front Psychol 4:863, movie ratings: d_z 1.50, 95% CI 0.5605 to 2.4034.
    lo, hi = noncentral_t_limits(4.743416, 9)
    assert (lo / np.sqrt(10), hi / np.sqrt(10)) == pytest.approx((0.5605, 2.4034), abs=5e-5)


@pytest.mark.parametrize("t, df", [(-25.0, 199), (30.0, 199), (-60.0, 1999), (40.0, 17),
                                   (0.3, 3), (-4.0, 1)])
def test_limits_solve_the_defining_equations(t, df):
    # Large |t| with large df made scipy's nctdtr return NaN inside the old bracket.
    lo, hi = noncentral_t_limits(t, df)
    assert lo < t < hi or lo < hi
    assert stats.nct.cdf(t, df, lo) == pytest.approx(0.975, abs=1e-9)
    assert stats.nct.cdf(t, df, hi) == pytest.approx(0.025, abs=1e-9)


def test_undefined_inputs_give_nan():
    assert np.isnan(noncentral_t_limits(np.inf, 9)).all()
    assert np.isnan(noncentral_t_limits(1.0, 0)).all()
