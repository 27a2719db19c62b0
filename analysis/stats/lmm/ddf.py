"""Denominator degrees of freedom for linear contrasts of the fixed effects.

- :class:`Satterthwaite` follows lmerTest 3.1 (Kuznetsova et al. 2017, J Stat Softw 82(13)):
  the covariance of the variance parameters ``(theta, sigma)`` is twice the (pseudo-)inverse
  of the Hessian of the REML criterion, the gradient of ``L' vcov(beta) L`` comes from the
  Jacobian of ``vcov(beta)`` in the same parameters, both by Richardson-extrapolated central
  differences with numDeriv's default steps; ``df = 2 (L'CL)^2 / (g' A g)``.
- :class:`KenwardRoger` follows pbkrtest 0.5 (``vcovAdj`` and ``Lb_ddf``; Halekoh & Hojsgaard
  2014, J Stat Softw 59(9)): the adjusted covariance ``Phi_A`` is used for standard errors and
  the df come from ``Lb_ddf`` with one-row ``L``, as lmerTest and emmeans use them.

Both are computed once per fit and cached; each contrast then costs a few small products.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from analysis.stats.lmm.engine import Fit, REMLProblem


def richardson_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, *,
                        d: float = 1e-4, eps: float = 1e-4, r: int = 4) -> np.ndarray:
    """Jacobian of a vector (or array) function by Richardson extrapolation (as numDeriv).

    Step ``h_i = d |x_i| + eps`` where ``|x_i|`` is tiny, halved ``r - 1`` times; central
    differences extrapolated in powers of ``h^2``. Returns shape ``(*f(x).shape, len(x))``.

    Examples
    --------
    >>> J = richardson_jacobian(lambda v: np.array([v[0] ** 2 * v[1]]), np.array([2.0, 3.0]))
    >>> np.round(J, 8).tolist()
    [[12.0, 4.0]]
    """
    x = np.asarray(x, dtype=float)
    h0 = _steps(x, d, eps)
    cols = []
    for i in range(x.size):
        estimates = []
        for k in range(r):
            e = np.zeros_like(x)
            e[i] = h0[i] / 2 ** k
            estimates.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * e[i]))
        cols.append(_extrapolate(estimates))
    return np.stack(cols, axis=-1)


def richardson_hessian(f: Callable[[np.ndarray], float], x: np.ndarray, *,
                       d: float = 0.1, eps: float = 1e-4, r: int = 4) -> np.ndarray:
    """Hessian of a scalar function by Richardson-extrapolated central differences.

    Steps as numDeriv's ``hessian`` (``d = 0.1``, ``eps = 1e-4``, ``r = 4``, halving).

    Examples
    --------
    >>> H = richardson_hessian(lambda v: v[0] ** 2 * v[1] + v[1] ** 3, np.array([1.0, 2.0]))
    >>> np.round(H, 6).tolist()
    [[4.0, 2.0], [2.0, 12.0]]
    """
    x = np.asarray(x, dtype=float)
    k = x.size
    h0 = _steps(x, d, eps)
    f0 = f(x)
    H = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            estimates = []
            for step in range(r):
                hi, hj = h0[i] / 2 ** step, h0[j] / 2 ** step
                ei = np.zeros(k)
                ei[i] = hi
                if i == j:
                    val = (f(x + ei) - 2 * f0 + f(x - ei)) / hi ** 2
                else:
                    ej = np.zeros(k)
                    ej[j] = hj
                    val = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej)
                           + f(x - ei - ej)) / (4 * hi * hj)
                estimates.append(val)
            H[i, j] = H[j, i] = _extrapolate(estimates)
    return H


def _steps(x: np.ndarray, d: float, eps: float) -> np.ndarray:
    zero_tol = np.sqrt(np.finfo(float).eps / 7e-7)
    return d * np.abs(x) + eps * (np.abs(x) < zero_tol)


def _extrapolate(estimates: list) -> np.ndarray:
    """Richardson table for errors in h^2, h^4, ... with step ratio 2."""
    table = [np.asarray(e, dtype=float) for e in estimates]
    for m in range(1, len(table)):
        factor = 4.0 ** m
        table = [(factor * table[i + 1] - table[i]) / (factor - 1) for i in range(len(table) - 1)]
    return table[0]


class Satterthwaite:
    """lmerTest's Satterthwaite df for ``L beta``, cached per fit.

    Attributes
    ----------
    vcov : ndarray (p, p)
        Unadjusted ``vcov(beta)``, used for standard errors.
    vcov_varpar : ndarray (k, k)
        Asymptotic covariance of ``(theta, sigma)``: 2 x pseudo-inverse of the Hessian.
    jacobian : ndarray (p, p, k)
        Derivative of ``vcov(beta)`` with respect to each of ``(theta, sigma)``.
    """

    name = "satterthwaite"

    def __init__(self, problem: REMLProblem, fit: Fit):
        varpar = np.append(fit.theta, fit.sigma)
        self.vcov = problem.vcov_vp(varpar)
        hess = richardson_hessian(problem.deviance_vp, varpar)
        # pseudo-inverse over eigenvalues > 1e-8, as lmerTest (a singular fit has a flat
        # direction in theta; it then adds nothing to the df)
        vals, vecs = np.linalg.eigh((hess + hess.T) / 2)
        pos = vals > 1e-8
        self.vcov_varpar = 2 * (vecs[:, pos] / vals[pos]) @ vecs[:, pos].T
        self.n_negative_eigen = int(np.sum(vals < -1e-8))
        self.jacobian = richardson_jacobian(problem.vcov_vp, varpar)

    def se_df(self, L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Standard errors and df of each row of ``L`` (shape (r, p))."""
        L = np.atleast_2d(L)
        var = np.einsum("ri,ij,rj->r", L, self.vcov, L)
        grad = np.einsum("ri,ijk,rj->rk", L, self.jacobian, L)
        denom = np.einsum("rk,kl,rl->r", grad, self.vcov_varpar, grad)
        with np.errstate(divide="ignore", invalid="ignore"):
            df = 2 * var ** 2 / denom
        return np.sqrt(var), df


class KenwardRoger:
    """pbkrtest's Kenward-Roger adjusted covariance and df for ``L beta``, cached per fit.

    The variance parameters are the elements of the random-effects covariance matrix (lower
    triangle) and the residual variance; the derivative matrices ``G_r`` of ``Sigma`` are
    ``Z E_r Z'`` and ``I``. Per-patient blocks are padded to the largest patient (padded rows
    have zero design rows and a zero residual derivative, so they add nothing) and handled as
    one batched array.

    Attributes
    ----------
    vcov : ndarray (p, p)
        Unadjusted ``vcov(beta)`` (``Phi``).
    vcov_adj : ndarray (p, p)
        Kenward-Roger adjusted covariance ``Phi_A`` (pbkrtest's ``vcovAdj``), used for SEs.
    """

    name = "kenward-roger"

    def __init__(self, problem: REMLProblem, fit: Fit):
        sigma2 = fit.sigma ** 2
        T = problem.factor(fit.theta)
        D = sigma2 * T @ T.T
        q, p = problem.q, problem.p
        groups = problem.groups
        order = np.argsort(groups, kind="stable")
        counts = np.bincount(groups, minlength=problem.m)
        nmax = int(counts.max())
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        pos = np.arange(problem.n) - np.repeat(starts, counts)
        g_sorted = groups[order]
        Xp = np.zeros((problem.m, nmax, p))
        Zp = np.zeros((problem.m, nmax, q))
        mask = np.zeros((problem.m, nmax))
        Xp[g_sorted, pos] = problem.X[order]
        Zp[g_sorted, pos] = problem.Z[order]
        mask[g_sorted, pos] = 1.0
        eye = np.eye(nmax)
        Sigma = np.einsum("mia,ab,mjb->mij", Zp, D, Zp) + sigma2 * eye
        Sinv = np.linalg.inv(Sigma)
        # derivative matrices: lower triangle of D (column-wise, as pbkrtest), then residual
        G = []
        for c in range(q):
            for r in range(c, q):
                E = np.zeros((q, q))
                E[r, c] = E[c, r] = 1.0
                G.append(np.einsum("mia,ab,mjb->mij", Zp, E, Zp))
        G.append(mask[:, :, None] * eye)
        k = len(G)
        Phi = np.linalg.inv(np.einsum("mia,mij,mjb->ab", Xp, Sinv, Xp))
        TT = Sinv @ Xp
        HH = [g @ Sinv for g in G]
        OO = [h @ Xp for h in HH]
        PP = [-np.einsum("mia,mib->ab", o, TT) for o in OO]
        QQ = {(r, s): np.einsum("mia,mij,mjb->ab", OO[r], Sinv, OO[s])
              for r in range(k) for s in range(r, k)}
        IE2 = np.empty((k, k))
        for r in range(k):
            for s in range(r, k):
                ktrace = np.einsum("mji,mij->", HH[r], HH[s])
                IE2[r, s] = IE2[s, r] = (ktrace - 2 * np.sum(Phi * QQ[r, s])
                                         + np.sum((Phi @ PP[r]) * (PP[s] @ Phi)))
        condi = np.min(np.abs(np.linalg.eigvalsh(IE2)))
        W = 2 * (np.linalg.inv(IE2) if condi > 1e-10 else np.linalg.pinv(IE2))
        U = np.zeros((p, p))
        for r in range(k - 1):
            for s in range(r + 1, k):
                U += W[r, s] * (QQ[r, s] - PP[r] @ Phi @ PP[s])
        U = U + U.T
        for r in range(k):
            U += W[r, r] * (QQ[r, r] - PP[r] @ Phi @ PP[r])
        self.vcov = Phi
        self.vcov_adj = Phi + 2 * Phi @ U @ Phi
        self.P = PP
        self.W = W

    def df(self, L: np.ndarray) -> float:
        """pbkrtest ``Lb_ddf(L, vcov, vcovAdj)`` for one contrast matrix ``L`` (rows = q)."""
        L = np.atleast_2d(L)
        V0 = self.vcov
        Theta = L.T @ np.linalg.solve(L @ V0 @ L.T, L)
        ThetaV0 = Theta @ V0
        k = len(self.P)
        A1 = A2 = 0.0
        u = [ThetaV0 @ self.P[i] @ V0 for i in range(k)]
        for i in range(k):
            for j in range(i, k):
                e = 1 if i == j else 2
                A1 += e * self.W[i, j] * np.trace(u[i]) * np.trace(u[j])
                A2 += e * self.W[i, j] * np.sum(u[i] * u[j].T)
        q = L.shape[0]
        B = (A1 + 6 * A2) / (2 * q)
        g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
        c1 = g / (3 * q + 2 * (1 - g))
        c2 = (q - g) / (3 * q + 2 * (1 - g))
        c3 = (q + 2 - g) / (3 * q + 2 * (1 - g))
        v0 = 1 + c1 * B
        v1 = 1 - c2 * B
        v2 = 1 - c3 * B
        v0 = 0.0 if abs(v0) < 1e-10 else v0
        ratio = 1.0 if abs(1 - A2 / q) < 1e-14 and abs(v1) < 1e-14 else (1 - A2 / q) / v1
        rho = ratio ** 2 * v0 / (q * v2)
        return float(4 + (q + 2) / (q * rho - 1))

    def se_df(self, L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Adjusted standard errors and KR df of each row of ``L`` (shape (r, p))."""
        L = np.atleast_2d(L)
        var = np.einsum("ri,ij,rj->r", L, self.vcov_adj, L)
        df = np.array([self.df(row) for row in L])
        return np.sqrt(var), df


def make_ddf(method: str, problem: REMLProblem, fit: Fit) -> Satterthwaite | KenwardRoger:
    """The df calculator for ``method`` ("satterthwaite" or "kenward-roger")."""
    with problem.remembering():  # the same solutions, each theta solved once
        return (Satterthwaite(problem, fit) if method == "satterthwaite"
                else KenwardRoger(problem, fit))
