"""BCa bootstrap against scipy.stats.bootstrap on the same resamples, and closed forms.

scipy.stats.bootstrap(paired=True) draws rng.integers(0, n, (n_resamples, n)) from the same
Generator, so with one batch the resamples are identical and the limits must agree to 1e-12.
"""

import numpy as np
import pytest
from scipy import stats

from analysis.errors import InvalidInputError
from analysis.stats import bootstrap as boot

SLEEP1 = np.array([0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0])
SLEEP2 = np.array([1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4])


@pytest.mark.parametrize("statistic", [boot.mean_difference, boot.cohens_dz, boot.hedges_gav])
@pytest.mark.parametrize("seed", [1, 2024])
def test_matches_scipy_bca(statistic, seed):
    ours = boot.bca_interval(SLEEP2, SLEEP1, statistic, n_boot=1000, seed=seed)
    ref = stats.bootstrap((SLEEP2, SLEEP1), lambda a, b, axis=-1: statistic(a, b),
                          paired=True, vectorized=True, n_resamples=1000, method="BCa",
                          rng=np.random.default_rng(seed))
    assert ours.ci_low == pytest.approx(ref.confidence_interval.low, rel=1e-12)
    assert ours.ci_high == pytest.approx(ref.confidence_interval.high, rel=1e-12)


def test_vectorised_statistics_closed_form():
    d = SLEEP2 - SLEEP1
    assert boot.mean_difference(SLEEP2, SLEEP1) == pytest.approx(d.mean())
    assert boot.cohens_dz(SLEEP2, SLEEP1) == pytest.approx(d.mean() / d.std(ddof=1))
    g = (1 - 3 / 35) * d.mean() / ((SLEEP2.std(ddof=1) + SLEEP1.std(ddof=1)) / 2)
    assert boot.hedges_gav(SLEEP2, SLEEP1) == pytest.approx(g)
    m = np.vstack([SLEEP2, SLEEP1])   # vectorised over rows
    assert boot.cohens_dz(m, m[::-1]).shape == (2,)


def test_symmetric_case_close_to_t_interval():
    # mean difference of a large symmetric sample: BCa is close to the t interval
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    x = y + rng.normal(0.5, 1.0, size=200)
    r = boot.bca_interval(x, y, boot.mean_difference, n_boot=4000, seed=5)
    t = stats.ttest_rel(x, y).confidence_interval()
    assert r.ci_low == pytest.approx(t.low, abs=0.03)
    assert r.ci_high == pytest.approx(t.high, abs=0.03)


def test_seeded_and_degenerate():
    a = boot.bca_interval(SLEEP2, SLEEP1, boot.cohens_dz, seed=9)
    b = boot.bca_interval(SLEEP2, SLEEP1, boot.cohens_dz, seed=9)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    r = boot.bca_interval([1.0, 2.0], [0.0, 0.0], boot.mean_difference, seed=1)
    assert np.isnan(r.ci_low) and "at least 3" in r.note
    # n = 5: some resamples repeat one pair, so d_z is not finite there; they are counted
    x = np.array([1.0, 2.0, 3.5, 4.0, 6.0])
    y = np.zeros(5)
    r = boot.bca_interval(x, y, boot.cohens_dz, n_boot=2000, seed=3)
    assert r.n_used < 2000 and "non-finite" in r.note and np.isfinite(r.ci_low)
    r = boot.bca_interval([1.0, 1.0, 1.0], [0.0, 0.0, 0.0], boot.mean_difference, seed=1)
    assert (r.ci_low, r.ci_high) == (1.0, 1.0) and "same value" in r.note


def test_bad_input():
    with pytest.raises(InvalidInputError, match="seed"):
        boot.bca_interval(SLEEP2, SLEEP1, boot.mean_difference, seed=None)
    with pytest.raises(InvalidInputError, match="equal length"):
        boot.bca_interval(SLEEP2, SLEEP1[:3], boot.mean_difference, seed=1)
