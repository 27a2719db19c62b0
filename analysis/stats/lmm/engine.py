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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from analysis.errors import ModelSpecError, NonConvergenceError

#: lme4's rule for a singular fit: a diagonal element of theta below this (isSingular tol).
SINGULAR_TOL = 1e-4
#: Largest scaled gradient ``sqrt(g' H^-1 g)`` of the REML criterion accepted as an optimum
#: (:meth:`REMLProblem.curvature_check`; a Newton step would gain at most 5e-7 in deviance).
GRADIENT_TOL = 1e-3
#: Smallest REML-criterion gain that counts as an improvement (between starts and optimizers):
#: below it two points are the same optimum and the better-verified one is kept.
AGREEMENT_TOL = 1e-6


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
        self.diag_index = np.array([i for i, (r, c) in enumerate(zip(*self._tri)) if r == c])

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

    def theta_start(self) -> np.ndarray:
        """lme4's starting value: identity factor."""
        start = np.zeros(self.n_theta)
        start[self.diag_index] = 1.0
        return start

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

    # ---- optimisation coordinates and starts ----------------------------------------------
    def theta_scale(self) -> np.ndarray:
        """Scale of each theta in the optimiser's coordinates: ``theta = scale * phi``.

        Element ``(r, c)`` of ``T`` multiplies column ``r`` of ``Z``, so its natural size is
        1 / (size of that column): 1 for the intercept's row, about 1 / RMS(z) for a slope
        variable's row (a dose in ug/day: about 1/128). Optimising ``phi`` is optimising the
        model with the slope variable divided by that power of two, whose theta are all of
        order one, so the start, the boundary probes, the Nelder-Mead simplex and the
        curvature steps mean the same thing whatever the units of the slope variable. The
        scales are powers of two: ``scale * phi`` and ``theta / scale`` are exact in floating
        point, so nothing is transformed back approximately: every criterion is evaluated
        on the original data at exactly the theta that is reported. A random intercept's
        scale is 1 (its optimisation is unchanged).
        """
        rms = np.sqrt(np.mean(self.Z ** 2, axis=0))
        safe = np.where(np.isfinite(rms) & (rms > 0), rms, 1.0)
        rows = 2.0 ** -np.round(np.log2(safe))
        return rows[self._tri[0]]

    def moment_start(self, scale: np.ndarray) -> np.ndarray | None:
        """A start (in ``phi = theta / scale``) from per-patient least squares, or None.

        Method of moments: each patient's OLS coefficients ``b_i`` of the OLS residuals on
        ``Z_i`` have covariance ``D + sigma^2 (Z_i'Z_i)^-1``; ``D / sigma^2 = T T'`` with
        ``sigma^2`` the pooled within-patient residual variance. Eigenvalues are floored (in
        the scaled coordinates) so the start lies off the boundary, where the criterion is
        flat in the diagonal theta. Patients whose ``Z_i`` has no residual df or is
        ill-conditioned are left out; None when fewer than ``q + 2`` patients remain.
        """
        q = self.q
        resid = self.y - self.X @ self.beta_ols
        counts = np.bincount(self.groups, minlength=self.m)
        rr = np.bincount(self.groups, weights=resid * resid, minlength=self.m)
        zr = self.ztxy[:, :, -1]
        s = scale[self.diag_index]  # the scale of each row of T (diagonal element)
        ztz = self.ztz * s[None, :, None] * s[None, None, :]  # Z'Z of the rescaled Z
        with np.errstate(all="ignore"):
            cond = np.linalg.cond(ztz)
        ok = (counts > q) & np.isfinite(cond) & (cond < 1e8)
        if ok.sum() < q + 2:
            return None
        inv = np.linalg.inv(ztz[ok])
        zrs = zr[ok] * s[None, :]
        b = np.einsum("ijk,ik->ij", inv, zrs)
        s2 = float((rr[ok] - np.einsum("ij,ij->i", b, zrs)).sum() / (counts[ok] - q).sum())
        if not np.isfinite(s2) or s2 <= 0:
            return None
        rel = (np.cov(b, rowvar=False) - s2 * inv.mean(axis=0)) / s2
        w, V = np.linalg.eigh((rel + rel.T) / 2)
        if not np.all(np.isfinite(w)):
            return None
        w = np.maximum(w, 1e-2 * max(float(w.max()), 1.0))
        L = np.linalg.cholesky((V * w) @ V.T)
        return L[self._tri]

    def _starts(self, scale: np.ndarray) -> list[np.ndarray]:
        """Starts of L-BFGS-B in ``phi``, the lowest criterion first: lme4's identity factor
        (in the rescaled coordinates) and, with a random slope, the moment start."""
        identity = np.zeros(self.n_theta)
        identity[self.diag_index] = 1.0
        starts = [identity]
        if self.q > 1:
            moment = self.moment_start(scale)
            if moment is not None:
                starts.append(moment)
        if len(starts) > 1:
            dev = [self.deviance(s * scale) for s in starts]
            starts = [starts[i] for i in np.argsort(dev, kind="stable")]
        return starts

    def _escape_boundary(self, phi: np.ndarray, dev: float,
                         scale: np.ndarray) -> np.ndarray | None:
        """A point off the boundary with a lower criterion than ``phi``, or None."""
        size = max(1.0, float(np.max(phi[self.diag_index])))
        for k in self.diag_index:
            if phi[k] * scale[k] >= SINGULAR_TOL and phi[k] >= SINGULAR_TOL:
                continue
            for delta in (1e-3, 1e-2, 1e-1, 1.0):
                probe = phi.copy()
                probe[k] = delta * size
                if self.deviance(probe * scale) < dev - 1e-9:
                    return probe
        return None

    def projected_gradient_norm(self, theta: np.ndarray) -> float:
        """Norm of the gradient with components pushing into an active bound removed."""
        g = self.gradient(theta)
        for i in self.diag_index:
            if theta[i] <= 1e-10 and g[i] > 0:
                g[i] = 0.0
        return float(np.linalg.norm(g))

    def curvature_check(self, theta: np.ndarray, scale: np.ndarray | None = None
                        ) -> tuple[float, bool]:
        """Scale-free convergence check at ``theta``: ``(scaled gradient, positive definite)``.

        The scaled gradient is ``sqrt(g' H^-1 g)`` over the free parameters (a diagonal theta
        at 0 whose gradient pushes into the bound is held), with ``g`` and ``H`` the gradient
        and Hessian of the REML criterion (``H`` by central differences of the analytic
        gradient, in the rescaled coordinates of :meth:`theta_scale`). It is the Newton
        decrement: a Newton step would lower the criterion by half its square, whatever the
        units of the slope variable (lme4 checks ``solve(chol(H), g)`` likewise, with
        tolerance 0.002). ``positive definite`` is False (and the scaled gradient NaN) when
        ``H`` of the free parameters is not: a saddle or a flat ridge, not a strict minimum.
        """
        scale = self.theta_scale() if scale is None else scale
        theta = np.asarray(theta, dtype=float)
        phi = theta / scale
        g = self.gradient(theta) * scale
        held = np.zeros(self.n_theta, dtype=bool)
        held[self.diag_index] = (phi[self.diag_index] <= 0) & (g[self.diag_index] >= 0)
        free = np.flatnonzero(~held)
        if free.size == 0:
            return 0.0, True
        H = np.empty((free.size, free.size))
        is_diag = np.isin(np.arange(self.n_theta), self.diag_index)
        for j, i in enumerate(free):
            h = 1e-4 * max(abs(phi[i]), 0.1)
            e = np.zeros(self.n_theta)
            e[i] = h
            if is_diag[i] and phi[i] - h <= 0:  # forward difference inside the bound
                col = (self.gradient((phi + e) * scale) * scale - g) / h
            else:
                col = (self.gradient((phi + e) * scale) * scale
                       - self.gradient((phi - e) * scale) * scale) / (2 * h)
            H[:, j] = col[free]
        try:
            L = np.linalg.cholesky((H + H.T) / 2)
        except np.linalg.LinAlgError:
            return float("nan"), False
        z = np.linalg.solve(L, g[free])
        return float(np.sqrt(z @ z)), True

    def _lbfgsb(self, start: np.ndarray, scale: np.ndarray, notes: list[str]
                ) -> tuple[np.ndarray, float, optimize.OptimizeResult]:
        """L-BFGS-B in ``phi`` from ``start``, restarted off the boundary while that helps;
        returns ``phi`` (theta below 1e-12 in size set to 0), its criterion and the result."""
        def fun(phi):
            return self.deviance(phi * scale)

        def jac(phi):
            return self.gradient(phi * scale) * scale

        bounds = self.lower_bounds()
        for _ in range(4):
            res = optimize.minimize(fun, start, jac=jac, method="L-BFGS-B", bounds=bounds,
                                    options={"ftol": 1e-14, "gtol": 1e-8, "maxiter": 500})
            # A diagonal theta at 0 has zero derivative (theta enters squared), so
            # L-BFGS-B can stop there at a saddle; probe off the bound and restart.
            start = self._escape_boundary(res.x, res.fun, scale)
            if start is None:
                break
            note = ("L-BFGS-B restarted off the boundary (theta = 0 was a saddle, not a "
                    "minimum)")
            if note not in notes:
                notes.append(note)
        phi, dev = _snap(res.x, scale), float(res.fun)
        if not np.array_equal(phi, res.x):
            dev = fun(phi)
        return phi, dev, res

    def fit(self) -> Fit:
        """Minimise the criterion with L-BFGS-B (in the coordinates of :meth:`theta_scale`)
        and verify the optimum; Nelder-Mead only where it is not verified.

        Starts: lme4's identity factor in the rescaled coordinates, and with a random slope
        also :meth:`moment_start`; the start with the lower criterion is used first, the
        other too when the first optimum is not a verified strict interior minimum, and the
        lowest criterion is kept. An optimum is verified when no theta is on the boundary
        (not singular) and :meth:`curvature_check` finds a positive-definite Hessian and a
        scaled gradient below :data:`GRADIENT_TOL`: a strict local minimum, which a simplex
        search can only move by rounding (to points of larger gradient). Otherwise (a
        boundary or singular fit, a saddle, a gradient not small) bounded Nelder-Mead starts
        from the best point as a second opinion; its point is kept only when it lowers the
        criterion by more than :data:`AGREEMENT_TOL`, and L-BFGS-B then restarts from it.

        Returns
        -------
        Fit
            ``converged`` is True when the scaled gradient at the optimum kept is below
            :data:`GRADIENT_TOL` and the Hessian of the free parameters is positive definite
            (a singular fit is judged on the parameters off the boundary);
            ``deviance_neldermead`` is NaN when Nelder-Mead was not needed.
        """
        notes: list[str] = []
        scale = self.theta_scale()
        try:
            starts = self._starts(scale)
            runs = []
            for start in starts:
                phi, dev, res = self._lbfgsb(start, scale, notes)
                check = self.curvature_check(phi * scale, scale)
                runs.append((dev, phi, res, check))
                if self._verified(phi * scale, check):
                    break
            # lowest criterion; within AGREEMENT_TOL the verified (then the first) run
            low = min(r[0] for r in runs)
            close = [r for r in runs if r[0] <= low + AGREEMENT_TOL]
            dev, phi, res, check = next((r for r in close if self._verified(r[1] * scale, r[3])),
                                        close[0])
            if len(runs) > 1 and max(r[0] for r in runs) > low + AGREEMENT_TOL:
                notes.append(f"best of {len(runs)} starts kept (the other optimum's REML "
                             f"deviance is {max(r[0] for r in runs) - low:.2e} higher)")
            lbfgsb_dev, polished = dev, np.nan
            if not self._verified(phi * scale, check):
                phi, dev, res, check, polished = self._polish(phi, dev, res, check, scale,
                                                              notes)
        except (np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
            raise NonConvergenceError(f"REML optimisation failed: {exc}") from exc
        best = phi * scale
        solution = self._solve(best)  # once: deviance, sigma and the gradient check reuse it
        dev = self._criterion(solution)
        gnorm = self.projected_gradient_norm(best)
        scaled, positive = check
        converged = bool(positive and scaled < GRADIENT_TOL)
        if not converged:
            if not res.success:
                notes.append(f"L-BFGS-B: {res.message}")
            notes.append(f"scaled gradient {scaled:.2e} >= {GRADIENT_TOL:g}" if positive else
                         "Hessian of the REML criterion not positive definite at the optimum "
                         "(a saddle or a flat ridge, not a strict minimum)")
        singular = bool(np.any(best[self.diag_index] < SINGULAR_TOL))
        sigma = float(np.sqrt(solution.r2 / (self.n - self.p)))
        return Fit(theta=best, sigma=sigma, deviance=float(dev),
                   solution=solution, converged=converged, singular=singular,
                   gradient_norm=gnorm, scaled_gradient=scaled,
                   deviance_lbfgsb=float(lbfgsb_dev), deviance_neldermead=polished,
                   note="; ".join(notes))

    def _verified(self, theta: np.ndarray, check: tuple[float, bool]) -> bool:
        """A strict interior local minimum: off the boundary, positive-definite Hessian,
        scaled gradient below :data:`GRADIENT_TOL`."""
        scaled, positive = check
        return bool(positive and scaled < GRADIENT_TOL
                    and np.all(theta[self.diag_index] >= SINGULAR_TOL))

    def _polish(self, phi, dev, res, check, scale, notes):
        """Bounded Nelder-Mead from ``phi``; its point replaces ``phi`` only when it lowers
        the criterion by more than :data:`AGREEMENT_TOL` (then L-BFGS-B restarts from it)."""
        nm_bounds = [(lo if lo is not None else -np.inf, hi if hi is not None else np.inf)
                     for lo, hi in self.lower_bounds()]
        second = optimize.minimize(lambda v: self.deviance(v * scale), phi,
                                   method="Nelder-Mead", bounds=nm_bounds,
                                   options={"xatol": 1e-9,
                                            "fatol": 1e-10 * max(1.0, abs(dev)),
                                            "maxiter": 2000,
                                            "initial_simplex": _simplex(phi, nm_bounds)})
        polished = float(second.fun)
        if polished >= dev - AGREEMENT_TOL:
            return phi, dev, res, check, polished
        notes.append(f"Nelder-Mead lowered the REML deviance by {dev - polished:.2e} from "
                     "L-BFGS-B's point; L-BFGS-B restarted there")
        nm_phi = _snap(second.x, scale)
        nm_dev = self.deviance(nm_phi * scale)
        phi2, dev2, res2 = self._lbfgsb(nm_phi, scale, notes)
        if dev2 <= nm_dev + AGREEMENT_TOL:
            return phi2, dev2, res2, self.curvature_check(phi2 * scale, scale), polished
        return (nm_phi, nm_dev, second, self.curvature_check(nm_phi * scale, scale),
                polished)


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


def _snap(phi: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``phi`` with every theta below 1e-12 in size set to exactly 0."""
    return np.where(np.abs(phi * scale) < 1e-12, 0.0, phi)


def _simplex(x0: np.ndarray, bounds: list[tuple[float, float]]) -> np.ndarray:
    """A small initial simplex around ``x0`` kept inside the bounds."""
    k = x0.size
    simplex = np.tile(x0, (k + 1, 1))
    for i in range(k):
        step = 0.05 * max(abs(x0[i]), 0.1)
        lo, hi = bounds[i]
        simplex[i + 1, i] = x0[i] + step if x0[i] + step <= hi else x0[i] - step
        simplex[i + 1, i] = min(max(simplex[i + 1, i], lo), hi)
    return simplex


@dataclass(frozen=True, eq=False)
class Fit:
    """The verified REML optimum of one :class:`REMLProblem`."""

    theta: np.ndarray
    sigma: float
    deviance: float
    solution: Solution
    converged: bool
    singular: bool
    gradient_norm: float
    scaled_gradient: float
    deviance_lbfgsb: float
    deviance_neldermead: float
    note: str
