"""The REML engine's stacked block products (analysis.stats.lmm.engine._left/_right) are the
broadcast products bit for bit: the speed-up of issue 16 must not change any number."""

import numpy as np
import pytest

from analysis.stats.lmm import engine


@pytest.mark.parametrize("q", [1, 2, 3])
def test_stacked_products_equal_broadcast_matmul_exactly(q):
    rng = np.random.default_rng(16 + q)
    for _ in range(30):
        m, k = int(rng.integers(1, 2500)), int(rng.integers(2, 8))
        ztz = rng.normal(size=(m, q, q)) * rng.lognormal(0, 3)
        ztxy = rng.normal(size=(m, q, k)) * rng.lognormal(0, 3)
        T = np.tril(rng.normal(size=(q, q)) * rng.lognormal(0, 2))
        assert np.array_equal(engine._left(T.T, ztxy), T.T @ ztxy)
        assert np.array_equal(engine._right(engine._left(T.T, ztz), T), T.T @ ztz @ T)
        assert engine._left(T.T, ztxy).flags["C_CONTIGUOUS"]


def test_gradient_same_with_and_without_the_blocks_of_solve():
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(40), 5)
    day = np.tile(np.arange(5.0), 40)
    y = 3 + rng.normal(size=40)[g] + (0.5 + 0.2 * rng.normal(size=40)[g]) * day \
        + rng.normal(size=200)
    X = np.column_stack([np.ones(200), day])
    prob = engine.REMLProblem(y, X, np.column_stack([np.ones(200), day]), g)
    theta = np.array([0.9, 0.1, 0.3])
    cold = prob.gradient(theta)  # no blocks of solve() at this theta yet
    prob.solve(theta)
    assert np.array_equal(prob.gradient(theta), cold)
    fresh = engine.REMLProblem(y, X, np.column_stack([np.ones(200), day]), g)
    fresh.solve(np.array([1.0, 0.0, 1.0]))  # blocks of another theta must not be used
    assert np.array_equal(fresh.gradient(theta), cold)
