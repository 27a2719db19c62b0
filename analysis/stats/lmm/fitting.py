"""Finding and verifying the REML optimum of a :class:`~analysis.stats.lmm.engine.REMLProblem`.

- Coordinates (:func:`theta_scale`): the optimiser works on ``phi = theta / scale``, where the
  scale of a row of the covariance factor is the power of two nearest 1 / RMS of its column of
  ``Z``. A slope variable in large units (a dose in ug/day) otherwise puts lme4's identity
  start, the boundary probes and the simplex steps two orders of magnitude off (the slope's
  theta is about 0.005 per ug/day), and L-BFGS-B can stop at a singular point far above the
  optimum (lme4 warns "Rescale variables?" for the same reason).
- Starts (:func:`moment_start`): lme4's identity factor (in ``phi``) and, with a random slope,
  a method-of-moments start from per-patient least squares; the lower criterion goes first,
  the other runs too when the first optimum is not a verified interior minimum (a singular
  optimum is confirmed from both starts), and the lowest is kept.
- Verification (:func:`curvature_check`): the scaled gradient ``sqrt(g' H^-1 g)`` (Newton
  decrement) with a positive-definite Hessian, which does not depend on the units of the
  slope variable, instead of a raw gradient norm, which does.
- Polish: bounded Nelder-Mead only when L-BFGS-B's optimum is not verified (on the parameters
  off the boundary; one on it has passed the boundary probes), and its point kept only when it
  lowers the criterion by more than :data:`AGREEMENT_TOL` (a simplex started at a strict
  minimum only moves theta by rounding, to points of larger gradient).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize

from analysis.errors import NonConvergenceError

if TYPE_CHECKING:
    from analysis.stats.lmm.engine import REMLProblem, Solution

#: lme4's rule for a singular fit: a diagonal element of theta below this (isSingular tol).
SINGULAR_TOL = 1e-4
#: Largest scaled gradient ``sqrt(g' H^-1 g)`` of the REML criterion accepted as an optimum
#: (:func:`curvature_check`; a Newton step from there would gain at most 5e-7 in deviance).
GRADIENT_TOL = 1e-3
#: Smallest REML-criterion gain that counts as an improvement (between starts and optimizers):
#: below it two points are the same optimum and the better-verified one is kept.
AGREEMENT_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class Fit:
    """The verified REML optimum of one :class:`~analysis.stats.lmm.engine.REMLProblem`.

    ``gradient_norm`` is the projected gradient norm in theta (it depends on the units of a
    slope variable); ``scaled_gradient`` is :func:`curvature_check`'s (it does not; NaN when
    the Hessian is not positive definite); ``deviance_neldermead`` is NaN when Nelder-Mead
    was not needed.
    """

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


def theta_scale(prob: REMLProblem) -> np.ndarray:
    """Scale of each theta in the optimiser's coordinates: ``theta = scale * phi``.

    Element ``(r, c)`` of ``T`` multiplies column ``r`` of ``Z``, so its natural size is
    1 / (size of that column): 1 for the intercept's row, about 1 / RMS(z) for a slope
    variable's row (a dose of tens to hundreds of ug/day: 1/64). Optimising ``phi`` is
    optimising the model with the slope variable divided by that power of two. Powers of two
    make ``scale * phi`` and ``theta / scale`` exact in floating point: nothing is transformed
    back approximately, every criterion is evaluated on the original data at exactly the
    theta reported, and a random intercept's optimisation (scale 1) is unchanged.

    Examples
    --------
    >>> from analysis.stats.lmm.engine import REMLProblem
    >>> g = np.repeat(np.arange(4), 3)
    >>> dose = np.tile([25.0, 50.0, 100.0], 4)
    >>> X = np.column_stack([np.ones(12), dose])
    >>> y = np.arange(12.0) % 5
    >>> theta_scale(REMLProblem(y, X, X, g)).tolist()
    [1.0, 0.015625, 0.015625]
    """
    rms = np.sqrt(np.mean(prob.Z ** 2, axis=0))
    safe = np.where(np.isfinite(rms) & (rms > 0), rms, 1.0)
    rows = 2.0 ** -np.round(np.log2(safe))
    return rows[prob._tri[0]]


def moment_start(prob: REMLProblem, scale: np.ndarray) -> np.ndarray | None:
    """A start (in ``phi = theta / scale``) from per-patient least squares, or None.

    Method of moments: each patient's OLS coefficients ``b_i`` of the OLS residuals on
    ``Z_i`` (rescaled) have covariance ``D + sigma^2 (Z_i'Z_i)^-1``; ``D / sigma^2 = T T'``
    with ``sigma^2`` the pooled within-patient residual variance. Eigenvalues are floored at
    1% of the largest (at least 0.01) so the start lies off the boundary, where the criterion
    is flat in the diagonal theta. Patients whose ``Z_i`` leaves no residual df or is
    ill-conditioned are left out; None when fewer than ``q + 2`` patients remain.
    """
    q = prob.q
    resid = prob.y - prob.X @ prob.beta_ols
    counts = np.bincount(prob.groups, minlength=prob.m)
    rr = np.bincount(prob.groups, weights=resid * resid, minlength=prob.m)
    s = scale[prob.diag_index]  # the scale of each row of T
    ztz = prob.ztz * s[None, :, None] * s[None, None, :]
    zr = prob.ztxy[:, :, -1] * s[None, :]  # Z_i' r_i of the rescaled Z
    with np.errstate(all="ignore"):
        cond = np.linalg.cond(ztz)
    ok = (counts > q) & np.isfinite(cond) & (cond < 1e8)
    if ok.sum() < q + 2:
        return None
    inv = np.linalg.inv(ztz[ok])
    b = np.einsum("ijk,ik->ij", inv, zr[ok])
    s2 = float((rr[ok] - np.einsum("ij,ij->i", b, zr[ok])).sum() / (counts[ok] - q).sum())
    if not np.isfinite(s2) or s2 <= 0:
        return None
    rel = (np.cov(b, rowvar=False) - s2 * inv.mean(axis=0)) / s2
    w, V = np.linalg.eigh((rel + rel.T) / 2)
    if not np.all(np.isfinite(w)):
        return None
    w = np.maximum(w, 1e-2 * max(float(w.max()), 1.0))
    L = np.linalg.cholesky((V * w) @ V.T)
    return L[prob._tri]


def curvature_check(prob: REMLProblem, theta: np.ndarray, scale: np.ndarray | None = None
                    ) -> tuple[float, bool]:
    """Scale-free convergence check at ``theta``: ``(scaled gradient, positive definite)``.

    The scaled gradient is ``sqrt(g' H^-1 g)`` over the free parameters (a diagonal theta at
    0 whose gradient pushes into the bound is held there), with ``g`` and ``H`` the gradient
    and Hessian of the REML criterion (``H`` by central differences of the analytic gradient
    in the coordinates of :func:`theta_scale`). It is the Newton decrement: a Newton step
    would lower the criterion by half its square, whatever the units of the slope variable
    (lme4 checks ``solve(chol(H), g)`` against 0.002 likewise). ``positive definite`` is
    False (and the scaled gradient NaN) when ``H`` of the free parameters is not: a saddle or
    a flat ridge, not a strict minimum.

    Examples
    --------
    >>> from analysis.stats.lmm.engine import REMLProblem
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(30), 4)
    >>> y = rng.normal(size=30)[g] + rng.normal(size=120)
    >>> prob = REMLProblem(y, np.ones((120, 1)), np.ones((120, 1)), g)
    >>> fit = prob.fit()
    >>> scaled, positive = curvature_check(prob, fit.theta)
    >>> bool(positive), bool(scaled < 1e-6), bool(curvature_check(prob, fit.theta * 1.1)[0] > 0.01)
    (True, True, True)
    """
    scale = theta_scale(prob) if scale is None else scale
    theta = np.asarray(theta, dtype=float)
    phi = theta / scale
    g = prob.gradient(theta) * scale
    held = np.zeros(prob.n_theta, dtype=bool)
    held[prob.diag_index] = (phi[prob.diag_index] <= 0) & (g[prob.diag_index] >= 0)
    free = np.flatnonzero(~held)
    if free.size == 0:
        return 0.0, True
    is_diag = np.isin(np.arange(prob.n_theta), prob.diag_index)
    H = np.empty((free.size, free.size))
    for j, i in enumerate(free):
        h = 1e-4 * max(abs(phi[i]), 0.1)
        e = np.zeros(prob.n_theta)
        e[i] = h
        if is_diag[i] and phi[i] - h <= 0:  # forward difference inside the bound
            col = (prob.gradient((phi + e) * scale) * scale - g) / h
        else:
            col = (prob.gradient((phi + e) * scale) * scale
                   - prob.gradient((phi - e) * scale) * scale) / (2 * h)
        H[:, j] = col[free]
    try:
        L = np.linalg.cholesky((H + H.T) / 2)
    except np.linalg.LinAlgError:
        return float("nan"), False
    z = np.linalg.solve(L, g[free])
    return float(np.sqrt(z @ z)), True


def fit_reml(prob: REMLProblem) -> Fit:
    """Minimise the REML criterion of ``prob`` and verify the optimum (see the module).

    Returns
    -------
    Fit
        ``converged`` is True when the scaled gradient at the optimum kept is below
        :data:`GRADIENT_TOL` and the Hessian of the free parameters is positive definite (a
        singular fit is judged on the parameters off the boundary).
    """
    notes: list[str] = []
    scale = theta_scale(prob)
    try:
        runs = []
        for start in _starts(prob, scale):
            phi, dev, res = _lbfgsb(prob, start, scale, notes)
            runs.append((dev, phi, res, curvature_check(prob, phi * scale, scale)))
            if _verified(runs[-1][3]) and not _singular(prob, phi * scale):
                break  # a strict interior minimum: no other start needed
        # the lowest criterion; within AGREEMENT_TOL of it the verified (else the first) run
        low, high = min(r[0] for r in runs), max(r[0] for r in runs)
        close = [r for r in runs if r[0] <= low + AGREEMENT_TOL]
        dev, phi, res, check = next((r for r in close if _verified(r[3])), close[0])
        if high > low + AGREEMENT_TOL:
            notes.append(f"best of {len(runs)} starts kept (the other optimum's REML "
                         f"deviance is {high - low:.2e} higher)")
        lbfgsb_dev, polished = dev, np.nan
        if not _verified(check):
            phi, dev, res, check, polished = _polish(prob, phi, dev, res, check, scale, notes)
    except (np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
        raise NonConvergenceError(f"REML optimisation failed: {exc}") from exc
    best = phi * scale
    solution = prob._solve(best)  # once: deviance, sigma and the gradient check reuse it
    scaled, positive = check
    converged = bool(positive and scaled < GRADIENT_TOL)
    if not converged:
        if not res.success:
            notes.append(f"L-BFGS-B: {res.message}")
        notes.append(f"scaled gradient {scaled:.2e} >= {GRADIENT_TOL:g}" if positive else
                     "Hessian of the REML criterion not positive definite at the optimum (a "
                     "saddle or a flat ridge, not a strict minimum)")
    return Fit(theta=best, sigma=float(np.sqrt(solution.r2 / (prob.n - prob.p))),
               deviance=float(prob._criterion(solution)), solution=solution,
               converged=converged,
               singular=_singular(prob, best),
               gradient_norm=prob.projected_gradient_norm(best), scaled_gradient=scaled,
               deviance_lbfgsb=float(lbfgsb_dev), deviance_neldermead=polished,
               note="; ".join(notes))


def _starts(prob: REMLProblem, scale: np.ndarray) -> list[np.ndarray]:
    """Starts in ``phi``, the lowest criterion first: lme4's identity factor (in the rescaled
    coordinates) and, with a random slope, :func:`moment_start`."""
    identity = np.zeros(prob.n_theta)
    identity[prob.diag_index] = 1.0
    starts = [identity]
    if prob.q > 1:
        moment = moment_start(prob, scale)
        if moment is not None:
            starts.append(moment)
    if len(starts) > 1:
        dev = [prob.deviance(s * scale) for s in starts]
        starts = [starts[i] for i in np.argsort(dev, kind="stable")]
    return starts


def _escape_boundary(prob: REMLProblem, phi: np.ndarray, dev: float,
                     scale: np.ndarray) -> np.ndarray | None:
    """A point off the boundary with a lower criterion than ``phi``, or None."""
    size = max(1.0, float(np.max(phi[prob.diag_index])))
    for k in prob.diag_index:
        if phi[k] * scale[k] >= SINGULAR_TOL and phi[k] >= SINGULAR_TOL:
            continue
        for delta in (1e-3, 1e-2, 1e-1, 1.0):
            probe = phi.copy()
            probe[k] = delta * size
            if prob.deviance(probe * scale) < dev - 1e-9:
                return probe
    return None


def _lbfgsb(prob: REMLProblem, start: np.ndarray, scale: np.ndarray, notes: list[str]
            ) -> tuple[np.ndarray, float, optimize.OptimizeResult]:
    """L-BFGS-B in ``phi`` from ``start``, restarted off the boundary while that helps;
    returns ``phi`` (a theta below 1e-12 in size set to 0), its criterion and the result."""
    def fun(phi):
        return prob.deviance(phi * scale)

    def jac(phi):
        return prob.gradient(phi * scale) * scale

    for _ in range(4):
        res = optimize.minimize(fun, start, jac=jac, method="L-BFGS-B",
                                bounds=prob.lower_bounds(),
                                options={"ftol": 1e-14, "gtol": 1e-8, "maxiter": 500})
        # A diagonal theta at 0 has zero derivative (theta enters squared), so L-BFGS-B can
        # stop there at a saddle; probe off the bound and restart.
        start = _escape_boundary(prob, res.x, res.fun, scale)
        if start is None:
            break
        note = "L-BFGS-B restarted off the boundary (theta = 0 was a saddle, not a minimum)"
        if note not in notes:
            notes.append(note)
    phi, dev = _snap(res.x, scale), float(res.fun)
    if not np.array_equal(phi, res.x):
        dev = fun(phi)
    return phi, dev, res


def _verified(check: tuple[float, bool]) -> bool:
    """:func:`curvature_check` passed: positive-definite Hessian of the free parameters and a
    scaled gradient below :data:`GRADIENT_TOL` (a parameter on its bound has passed
    :func:`_escape_boundary`'s probes already)."""
    scaled, positive = check
    return bool(positive and scaled < GRADIENT_TOL)


def _singular(prob: REMLProblem, theta: np.ndarray) -> bool:
    return bool(np.any(theta[prob.diag_index] < SINGULAR_TOL))


def _polish(prob, phi, dev, res, check, scale, notes):
    """Bounded Nelder-Mead from ``phi``; its point replaces ``phi`` only when it lowers the
    criterion by more than :data:`AGREEMENT_TOL` (L-BFGS-B then restarts from it)."""
    bounds = [(lo if lo is not None else -np.inf, hi if hi is not None else np.inf)
              for lo, hi in prob.lower_bounds()]
    second = optimize.minimize(lambda v: prob.deviance(v * scale), phi, method="Nelder-Mead",
                               bounds=bounds,
                               options={"xatol": 1e-9, "fatol": 1e-10 * max(1.0, abs(dev)),
                                        "maxiter": 2000,
                                        "initial_simplex": _simplex(phi, bounds)})
    polished = float(second.fun)
    if polished >= dev - AGREEMENT_TOL:
        return phi, dev, res, check, polished
    notes.append(f"Nelder-Mead lowered the REML deviance by {dev - polished:.2e} from "
                 "L-BFGS-B's point; L-BFGS-B restarted there")
    nm_phi = _snap(second.x, scale)
    nm_dev = prob.deviance(nm_phi * scale)
    phi2, dev2, res2 = _lbfgsb(prob, nm_phi, scale, notes)
    if dev2 <= nm_dev + AGREEMENT_TOL:
        return phi2, dev2, res2, curvature_check(prob, phi2 * scale, scale), polished
    return nm_phi, nm_dev, second, curvature_check(prob, nm_phi * scale, scale), polished


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
