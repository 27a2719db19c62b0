"""Maximum likelihood for :class:`~analysis.stats.ordinal.engine.CLMMProblem`: starts, the
optimiser, a Newton polish on the numerical Hessian, and the verified optimum.

``ordinal::clmm`` minimises with ``nlminb`` on finite-difference gradients and takes the
covariance from a central-difference Hessian (``deriv12``, step 1e-4). Here BFGS runs on the
analytic gradient, then Newton steps on the Hessian (central differences of the analytic
gradient, step 1e-4) bring the gradient to about 1e-8; the covariance is the inverse of that
Hessian. A patient SD below
:data:`SINGULAR_SD` is a boundary (singular) fit: the SD is then reported as 0 and the
covariance of the other parameters is that of the model without the random intercept (where
the likelihood is flat in log SD, its Hessian row is zero and cannot be inverted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from analysis.stats.ordinal.engine import CLMMProblem

#: SD of the patient intercept (latent scale) below which a fit counts as singular.
SINGULAR_SD = 1e-4
#: Largest |gradient| of the negative log-likelihood accepted as an optimum.
GRADIENT_TOL = 1e-4
_LOG_SD_FLOOR = -12.0


@dataclass
class CLMMFit:
    """The optimum: parameters ``(thresholds, beta[, log SD])``, nll and covariance."""

    par: np.ndarray
    nll: float
    vcov: np.ndarray
    gradient: np.ndarray
    converged: bool
    singular: bool
    n_iter: int
    notes: list[str] = field(default_factory=list)


def fit_problem(problem: CLMMProblem, start: np.ndarray, *, covariance: bool = True) -> CLMMFit:
    """Minimise ``problem.nll`` from ``start``; see the module docstring. Without
    ``covariance`` (a likelihood-ratio test needs only the optimum) no Hessian is computed."""
    notes: list[str] = []

    def fun(p):
        v = problem.nll(p)[0]
        return v if np.isfinite(v) else 1e300

    def jac(p):  # non-finite where a step crosses thresholds: the line search backs off
        return np.nan_to_num(problem.gradient(p), nan=0.0, posinf=1e10, neginf=-1e10)

    res = optimize.minimize(fun, start, jac=jac, method="BFGS",
                            options={"gtol": 1e-6, "maxiter": 500})
    par = res.x
    if not np.isfinite(problem.nll(par)[0]):
        res = optimize.minimize(fun, start, method="Nelder-Mead",
                                options={"maxiter": 20000, "xatol": 1e-8, "fatol": 1e-10})
        par = res.x
        notes.append("BFGS failed; Nelder-Mead used")
    n_iter = int(res.nit)
    k_sd = problem.B_upper.shape[1] if problem.random else None
    singular = False
    if k_sd is not None and par[k_sd] < np.log(SINGULAR_SD):
        singular = True
        par = par.copy()
        par[k_sd] = _LOG_SD_FLOOR
    free = np.arange(len(par)) if not singular else np.arange(k_sd)
    if not covariance:
        grad = problem.gradient(par)
        return CLMMFit(par=par, nll=float(problem.nll(par)[0]),
                       vcov=np.full((len(par), len(par)), np.nan), gradient=grad,
                       converged=bool(np.max(np.abs(grad[free])) < GRADIENT_TOL),
                       singular=singular, n_iter=n_iter, notes=notes)
    par, H, grad = _polish(problem, par, free)
    nll = float(problem.nll(par)[0])
    vcov = np.full((len(par), len(par)), np.nan)
    Hf = H[np.ix_(free, free)]
    try:
        vcov[np.ix_(free, free)] = np.linalg.inv(Hf)
        positive = bool(np.all(np.linalg.eigvalsh(Hf) > 0))
    except np.linalg.LinAlgError:
        positive = False
    if not positive:
        notes.append("Hessian not positive definite at the optimum")
    converged = bool(positive and np.max(np.abs(grad[free])) < GRADIENT_TOL)
    return CLMMFit(par=par, nll=nll, vcov=vcov, gradient=grad, converged=converged,
                   singular=singular, n_iter=n_iter, notes=notes)


def _polish(problem: CLMMProblem, par: np.ndarray, free: np.ndarray, steps: int = 4):
    """Newton steps on the free parameters while they lower the nll; returns par, H, gradient."""
    par = par.copy()
    H = problem.hessian(par)
    grad = problem.gradient(par)
    f = problem.nll(par)[0]
    for _ in range(steps):
        if np.max(np.abs(grad[free])) < 1e-8:
            break
        try:
            step = np.linalg.solve(H[np.ix_(free, free)], grad[free])
        except np.linalg.LinAlgError:
            break
        trial = par.copy()
        trial[free] -= step
        f_trial = problem.nll(trial)[0]
        if not f_trial <= f:
            break
        par, f = trial, f_trial
        H = problem.hessian(par)
        grad = problem.gradient(par)
    return par, H, grad
