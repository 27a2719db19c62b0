"""Profiled REML for linear mixed models with one grouping factor, as lme4 computes it.

The model is ``y = X beta + Z b + e`` with independent groups (patients), ``b_i ~ N(0,
sigma^2 T T')`` for a ``q x q`` lower-triangular relative covariance factor ``T(theta)``
(lme4's Lambda block; ``q`` = 1 for a random intercept, 2 with a random slope) and ``e ~ N(0,
sigma^2 I)``. Fixed effects and ``sigma`` are profiled out, so the REML criterion is a function
of ``theta`` alone (Bates et al. 2015, J Stat Softw 67(1), eq. 41):

    d(theta) = log|L_theta|^2 + log|R_X|^2 + (n - p) (1 + log(2 pi r^2 / (n - p)))

with ``|L_theta|^2 = prod_i |I + T' Z_i' Z_i T|``, ``R_X' R_X = X' V^-1 X`` and
``r^2 = (y - X beta)' V^-1 (y - X beta)``, ``V = I + Z T T' Z'``.

Why hand-written: statsmodels' MixedLM can report convergence at a false optimum and flags
boundary fits with an absolute threshold (see the analysis plan). Every quantity here is a sum
over patients of ``q x q`` and ``q x p`` blocks (Woodbury identity), computed for all patients at
once with batched numpy linear algebra, so one evaluation costs O(m q^2 p^2) for m patients.
The optimisation and the verification of its optimum are in :mod:`analysis.stats.lmm.fitting`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from analysis.errors import ModelSpecError
from analysis.stats.lmm.fitting import (  # noqa: F401  (re-exported)
    AGREEMENT_TOL,
    GRADIENT_TOL,
    SINGULAR_TOL,
    Fit,
    fit_reml,
)


@dataclass(frozen=True, eq=False)
class Solution:
    """Everything the REML criterion computes at one ``theta``.

    Attributes
    ----------
    beta : ndarray (p,)
        Generalised least squares estimate of the fixed effects given ``theta``.
    xtvx : ndarray (p, p)
        ``X' V^-1 X`` (``V`` relative to ``sigma^2``).
    r2 : float
        Penalised weighted residual sum of squares ``(y - X beta)' V^-1 (y - X beta)``.
    logdet_l, logdet_rx : float
        ``log|L_theta|^2`` and ``log|R_X|^2``.
    """

    beta: np.ndarray
    xtvx: np.ndarray
    r2: float
    logdet_l: float
    logdet_rx: float


class REMLProblem:
    """Sufficient statistics of one model and the functions of ``theta`` built on them.

    Parameters
    ----------
    y : ndarray (n,)
    X : ndarray (n, p)
        Fixed-effects design, full column rank.
    Z : ndarray (n, q)
        Random-effects design of each observation (columns: intercept, slope variable).
    groups : ndarray (n,) of int
        Group code 0..m-1 of each observation.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(10), 4)
    >>> y = 5 + rng.normal(size=10)[g] + rng.normal(size=40)
    >>> prob = REMLProblem(y, np.ones((40, 1)), np.ones((40, 1)), g)
    >>> fit = prob.fit()
    >>> fit.converged, round(float(fit.solution.beta[0]), 6) == round(float(y.mean()), 6)
    (True, True)
    """

    def __init__(self, y: np.ndarray, X: np.ndarray, Z: np.ndarray, groups: np.ndarray):
        y = np.asarray(y, dtype=float)
        X = np.asarray(X, dtype=float)
        Z = np.asarray(Z, dtype=float)
        groups = np.asarray(groups, dtype=np.intp)
        self.n, self.p = X.shape
        self.q = Z.shape[1]
        self.m = int(groups.max()) + 1
        if self.n <= self.p:
            raise ModelSpecError(
                f"{self.n} observations for {self.p} fixed effects; the model needs more "
                "observations than fixed effects (drop covariates or visits)"
            )
        if np.linalg.matrix_rank(X) < self.p:
            raise ModelSpecError(
                "the fixed-effects design is rank deficient (a level or covariate is "
                "confounded with others); drop the redundant covariate or sparse visit"
            )
        self.y, self.X, self.Z, self.groups = y, X, Z, groups
        # work with the OLS residuals of y: r^2 and the REML criterion are unchanged
        # (beta absorbs X b_ols), and y'y no longer dwarfs r^2, so less cancellation
        self.beta_ols = np.linalg.lstsq(X, y, rcond=None)[0]
        resid = y - X @ self.beta_ols
        if np.all(np.abs(resid) <= 1e-12 * max(1.0, float(np.abs(y).max()))):
            raise ModelSpecError(
                "the fixed effects fit the response exactly (zero residual variance); "
                "a mixed model needs variation left within patients"
            )
        Xy = np.column_stack([X, resid])
        # per-group cross products, summed with np.add.at (no Python loop over groups)
        self.ztz = np.zeros((self.m, self.q, self.q))
        np.add.at(self.ztz, groups, Z[:, :, None] * Z[:, None, :])
        self.ztxy = np.zeros((self.m, self.q, self.p + 1))
        np.add.at(self.ztxy, groups, Z[:, :, None] * Xy[:, None, :])
        self.xyxy = Xy.T @ Xy
        self._ztxy_side, self._ztz_side = _side_by_side(self.ztxy), _side_by_side(self.ztz)
        self.n_theta = self.q * (self.q + 1) // 2
        rows, cols = np.tril_indices(self.q)
        # lme4 orders theta column-wise through the lower triangle: (1,1), (2,1), (2,2)
        order = np.lexsort((rows, cols))
        self._tri = (rows[order], cols[order])
        self.diag_index = np.array([i for i, (r, c) in enumerate(zip(*self._tri, strict=False)) if r == c])

    # ---- theta ---------------------------------------------------------------------------
    def factor(self, theta: np.ndarray) -> np.ndarray:
        """Relative covariance factor ``T`` (lower triangular) from ``theta``."""
        T = np.zeros((self.q, self.q))
        T[self._tri] = theta
        return T

    def lower_bounds(self) -> list[tuple[float | None, float | None]]:
        """Bounds of theta as lme4 sets them: 0 on the diagonal, free below it."""
        return [(0.0, None) if i in self.diag_index else (None, None)
                for i in range(self.n_theta)]

    # ---- criterion -----------------------------------------------------------------------
    @contextmanager
    def remembering(self) -> Iterator[None]:
        """Inside the block, :meth:`solve` keeps its solution of every ``theta`` and returns
        it again for the same ``theta`` (numerical derivatives over ``(theta, sigma)`` ask
        for the same ``theta`` many times: every step in ``sigma`` alone)."""
        self._memo: dict[bytes, Solution] | None = {}
        try:
            yield
        finally:
            self._memo = None

    def solve(self, theta: np.ndarray) -> Solution:
        """Profile out beta (and sigma) at ``theta``."""
        memo = getattr(self, "_memo", None)
        if memo is not None:
            key = np.asarray(theta, dtype=float).tobytes()
            if key not in memo:
                memo[key] = self._solve(theta)
            return memo[key]
        return self._solve(theta)

    def _solve(self, theta: np.ndarray) -> Solution:
        T = self.factor(np.asarray(theta, dtype=float))
        if self.q == 1:
            # closed form for scalar blocks (the common random-intercept case, fastest):
            # sum_i B_i' M_i^-1 B_i = theta^2 sum_i z_i'[X y]_i' z_i'[X y]_i / (1 + theta^2 z_i'z_i)
            t2 = T[0, 0] ** 2
            M = 1.0 + t2 * self.ztz[:, 0, 0]
            logdet_l = float(np.log(M).sum())
            A = self.ztxy[:, 0, :]
            gram = self.xyxy - (A * (t2 / M)[:, None]).T @ A
        else:
            # B_i = T' Z_i' [X_i y_i]; M_i = I + T' Z_i' Z_i T; batched over patients
            B = _left(T.T, self.ztxy, self._ztxy_side)
            M = _right(_left(T.T, self.ztz, self._ztz_side), T) + np.eye(self.q)
            logdet_l, Minv = _logdet_inverse(M)
            S = Minv @ B
            k = self.p + 1
            gram = self.xyxy - B.reshape(-1, k).T @ S.reshape(-1, k)
            # kept for gradient() at the same theta (optimisers ask for both at each point)
            self._blocks = (T.tobytes(), B, Minv, S, gram)
        p = self.p
        xtvx = gram[:p, :p]
        rx = np.linalg.cholesky(xtvx)
        beta = np.linalg.solve(xtvx, gram[:p, p])
        r2 = float(gram[p, p] - gram[:p, p] @ beta)
        beta = beta + self.beta_ols
        logdet_rx = float(2.0 * np.log(np.diag(rx)).sum())
        return Solution(beta=beta, xtvx=xtvx, r2=r2, logdet_l=logdet_l, logdet_rx=logdet_rx)

    def deviance(self, theta: np.ndarray) -> float:
        """Profiled REML criterion (lme4's ``REMLcrit``) at ``theta``."""
        return self._criterion(self.solve(theta))

    def _criterion(self, s: Solution) -> float:
        dof = self.n - self.p
        return s.logdet_l + s.logdet_rx + dof * (1.0 + np.log(2.0 * np.pi * s.r2 / dof))

    def deviance_vp(self, varpar: np.ndarray) -> float:
        """REML criterion as a function of ``(theta, sigma)`` (lmerTest's ``devfun_vp``)."""
        theta, sigma2 = varpar[:-1], varpar[-1] ** 2
        s = self.solve(theta)
        return (s.logdet_l + s.r2 / sigma2 + (self.n - self.p) * np.log(2.0 * np.pi * sigma2)
                + s.logdet_rx)

    def vcov_vp(self, varpar: np.ndarray) -> np.ndarray:
        """``vcov(beta) = sigma^2 (X' V^-1 X)^-1`` as a function of ``(theta, sigma)``."""
        s = self.solve(varpar[:-1])
        return varpar[-1] ** 2 * np.linalg.inv(s.xtvx)

    def sigma(self, theta: np.ndarray) -> float:
        """REML estimate of the residual SD at ``theta``."""
        return float(np.sqrt(self.solve(theta).r2 / (self.n - self.p)))

    # ---- optimisation --------------------------------------------------------------------
    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """Analytic gradient of the profiled REML criterion.

        With ``G(theta) = [X y]' V^-1 [X y]`` (Woodbury, per patient) and ``u = (-beta, 1)``:
        ``d/dtheta_k = sum_i tr(M_i^-1 dM_i) + tr((X'V^-1X)^-1 dG_xx) + (n - p) u'dG u / r^2``.
        """
        theta = np.asarray(theta, dtype=float)
        T = self.factor(theta)
        k1 = self.p + 1
        cached = getattr(self, "_blocks", None)
        if cached is not None and cached[0] == T.tobytes():
            _, B, Minv, S, gram = cached  # the very arrays solve() computed at this theta
        else:
            B = _left(T.T, self.ztxy, self._ztxy_side)
            M = _right(_left(T.T, self.ztz, self._ztz_side), T) + np.eye(self.q)
            Minv = _logdet_inverse(M)[1]
            S = Minv @ B
            gram = self.xyxy - B.reshape(-1, k1).T @ S.reshape(-1, k1)
        if getattr(self, "_d_blocks", None) is None:  # E_k' Z'[X y] and E_k' Z'Z: no theta
            self._d_blocks = []
            for k in range(self.n_theta):
                E = self.factor(np.eye(self.n_theta)[k])
                self._d_blocks.append((E.T @ self.ztxy, E.T @ self.ztz))
        xtvx = gram[:-1, :-1]
        xtvx_inv = np.linalg.inv(xtvx)
        beta = xtvx_inv @ gram[:-1, -1]
        u = np.append(-beta, 1.0)
        r2 = float(u @ gram @ u)
        grad = np.empty(self.n_theta)
        for k in range(self.n_theta):
            dB, Et_ztz = self._d_blocks[k]
            dM = _right(Et_ztz, T)
            dM = dM + np.swapaxes(dM, 1, 2)
            cross = dB.reshape(-1, k1).T @ S.reshape(-1, k1)
            dG = -(cross + cross.T - S.reshape(-1, k1).T @ (dM @ S).reshape(-1, k1))
            grad[k] = (np.sum(Minv * dM) + np.sum(xtvx_inv * dG[:-1, :-1])
                       + (self.n - self.p) * (u @ dG @ u) / r2)
        return grad

    def projected_gradient_norm(self, theta: np.ndarray) -> float:
        """Norm of the gradient with components pushing into an active bound removed."""
        g = self.gradient(theta)
        for i in self.diag_index:
            if theta[i] <= 1e-10 and g[i] > 0:
                g[i] = 0.0
        return float(np.linalg.norm(g))

    def fit(self) -> Fit:
        """The verified REML optimum (:func:`analysis.stats.lmm.fitting.fit_reml`)."""
        return fit_reml(self)


def _left(A: np.ndarray, blocks: np.ndarray, side: np.ndarray | None = None) -> np.ndarray:
    """``A @ blocks`` for a ``q x q`` matrix and a stack of ``q x k`` blocks, as one 2-D
    product: the same BLAS dot products (bit for bit) as the broadcast product, without its
    per-block overhead (3x faster for thousands of patients). ``side`` is
    :func:`_side_by_side` of ``blocks`` when the caller keeps it."""
    m, q, k = blocks.shape
    flat = A @ (_side_by_side(blocks) if side is None else side)
    return np.ascontiguousarray(flat.reshape(A.shape[0], m, k).transpose(1, 0, 2))


def _side_by_side(blocks: np.ndarray) -> np.ndarray:
    """The ``q x k`` blocks of a stack side by side: one ``q x (m k)`` matrix."""
    m, q, k = blocks.shape
    return np.ascontiguousarray(blocks.transpose(1, 0, 2).reshape(q, m * k))


def _right(blocks: np.ndarray, A: np.ndarray) -> np.ndarray:
    """``blocks @ A`` for a stack of ``r x q`` blocks and a ``q x s`` matrix (see :func:`_left`)."""
    m, r, q = blocks.shape
    return (blocks.reshape(m * r, q) @ A).reshape(m, r, A.shape[1])


def _logdet_inverse(M: np.ndarray) -> tuple[float, np.ndarray]:
    """Sum of log-determinants and inverses of a stack of symmetric positive-definite blocks.

    2 x 2 blocks (a random slope) in closed form: numpy's batched Cholesky and solve spend
    most of their time on per-block overhead at this size. Larger blocks: Cholesky.
    """
    if M.shape[1] == 2:
        a, b, d = M[:, 0, 0], M[:, 0, 1], M[:, 1, 1]
        det = a * d - b * b
        if np.any(det <= 0):
            raise np.linalg.LinAlgError("a patient's block is not positive definite")
        inv = np.empty_like(M)
        inv[:, 0, 0], inv[:, 1, 1] = d / det, a / det
        inv[:, 0, 1] = inv[:, 1, 0] = -b / det
        return float(np.log(det).sum()), inv
    L = np.linalg.cholesky(M)
    return float(2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum()), np.linalg.inv(M)
