"""Analytic gradient (score) of the negative log marginal likelihood of a
:class:`~analysis.stats.ordinal.engine.CLMMProblem`, Laplace and adaptive Gauss-Hermite.

Why analytic: ``ordinal::clmm`` differentiates its likelihood numerically; a batched central
difference costs 2k likelihood evaluations per gradient and 2k^2 per Hessian (k parameters),
most of the fitting time at registry scale. The score costs about one evaluation, and the
Hessian becomes a central difference of scores (2k scores, one batched call).

Notation (one patient; ``e1``, ``e2`` the upper and lower linear predictors of an observation,
``l = log(F(e1) - F(e2))``, f, f', f'' the density and its derivatives at each)::

    g(u)  = sum_j l_j(e - tau u) - u^2/2         (u the standardised random intercept)
    u^    : g'(u^) = 0;  D = -g''(u^) = 1 - tau^2 sum_j dr_j
    Laplace: nll = -g(u^) + log(D) / 2

with ``r = dl/de`` along a common shift of ``e1`` and ``e2`` and ``dr = dr/de``. By the
envelope theorem ``d g(u^)/d theta = dg/dtheta``; the mode moves as
``du^/dtheta = g_u,theta / D``, so ``dD/dtheta = D_theta + D_u du^/dtheta`` needs the third
derivative of ``l`` (``dr_e1``, ``dr_e2`` below). Quadrature: ``nll = -log sum_h w_h
exp(T_h) - log K`` with nodes ``u_h = u^ + K x_h``, ``K = sqrt(2 / D)``, and
``dT_h/dtheta = dl/dtheta + (g'(u_h)) du_h/dtheta``. Every parameter enters the predictors
linearly (``e = B @ par - tau u``), so the gradient of the fixed part is one product of
per-observation weights with ``B``.

Examples
--------
>>> import numpy as np
>>> from analysis.stats.ordinal.engine import CLMMProblem
>>> y = np.array([0, 1, 2, 1, 2, 2, 0, 0, 1])
>>> B1 = np.eye(2)[np.minimum(y, 1)] * (y < 2)[:, None]
>>> B2 = np.eye(2)[np.maximum(y - 1, 0)] * (y > 0)[:, None]
>>> prob = CLMMProblem(B1, B2, top=y == 2, bottom=y == 0, patient=np.repeat([0, 1, 2], 3),
...                    starts=np.array([0, 3, 6]))
>>> par = np.array([-0.5, 0.7, np.log(0.8)])
>>> h = 1e-6
>>> numeric = [(prob.nll(par + e)[0] - prob.nll(par - e)[0]) / (2 * h)
...            for e in np.eye(3) * h]
>>> bool(np.allclose(prob.gradient(par), numeric, atol=1e-7))
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import special

if TYPE_CHECKING:
    from analysis.stats.ordinal.engine import CLMMProblem


def _density3(x: np.ndarray, link: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Density f(x), f'(x) and f''(x) of the inverse link."""
    if link == "logit":
        F = special.expit(x)
        f = F * (1 - F)
        a = 1 - 2 * F
        return f, f * a, f * (a * a - 2 * f)
    if link == "probit":
        f = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
        return f, -x * f, (x * x - 1) * f
    ex = np.exp(x)  # cloglog
    f = np.exp(x - ex)
    return f, f * (1 - ex), f * ((1 - ex) ** 2 - ex)


class _Pieces:
    """Per-observation derivatives of ``l`` at predictors ``e1``, ``e2`` (shape (m, n))."""

    def __init__(self, prob: CLMMProblem, e1: np.ndarray, e2: np.ndarray, third: bool):
        top, bottom = prob.top, prob.bottom
        with np.errstate(over="ignore", invalid="ignore"):
            f1, s1, t1 = (np.where(top, 0.0, v) for v in
                          _density3(np.where(top, 0.0, e1), prob.link))
            f2, s2, t2 = (np.where(bottom, 0.0, v) for v in
                          _density3(np.where(bottom, 0.0, e2), prob.link))
        self.logp = prob._log_prob(e1, e2)
        with np.errstate(invalid="ignore", over="ignore"):
            inv = np.exp(-self.logp)
            self.a1, self.a2 = f1 * inv, -f2 * inv   # dl/de1, dl/de2
            r = self.a1 + self.a2
            self.r = r
            if not third:
                return
            q = (s1 - s2) * inv
            self.dr = q - r * r
            self.r_e1 = (s1 - r * f1) * inv          # dr/de1, dr/de2
            self.r_e2 = (r * f2 - s2) * inv
            rr = 2 * r * r
            self.dr_e1 = (t1 - q * f1 - 2 * r * s1 + rr * f1) * inv
            self.dr_e2 = (q * f2 - t2 + 2 * r * s2 - rr * f2) * inv


def score(prob: CLMMProblem, pars: np.ndarray) -> np.ndarray:
    """Gradient of :meth:`CLMMProblem.nll` at each row of ``pars`` (m, n_par): (m, n_par).

    NaN where the likelihood is not finite (thresholds out of order)."""
    pars = np.atleast_2d(np.asarray(pars, float))
    k = prob.B_upper.shape[1]
    B1, B2 = prob.B_upper, prob.B_lower
    fix1 = pars[:, :k] @ B1.T
    fix2 = pars[:, :k] @ B2.T
    if not prob.random:
        p = _Pieces(prob, fix1, fix2, third=False)
        return _finite(-(p.a1 @ B1 + p.a2 @ B2), p.logp.sum(axis=1))
    tau = np.exp(pars[:, k])[:, None]
    u, D, _ = prob._modes(fix1, fix2, tau)
    idx = prob.patient
    shift = (tau * u)[:, idx]
    at = _Pieces(prob, fix1 - shift, fix2 - shift, third=True)
    S_r, S_dr = prob._sum(at.r), prob._sum(at.dr)
    S_dr3 = prob._sum(at.dr_e1 + at.dr_e2)
    tau2, tau3 = tau * tau, tau * tau * tau
    D_u = tau3 * S_dr3
    # du^/dtheta and dD/dtheta of the fixed part, as per-observation weights on B1 and B2
    Dp = D[:, idx]
    du1, du2 = -tau * at.r_e1 / Dp, -tau * at.r_e2 / Dp
    dD1 = -tau2 * at.dr_e1 + D_u[:, idx] * du1
    dD2 = -tau2 * at.dr_e2 + D_u[:, idx] * du2
    # ... and of log SD (rho): tau = exp(rho), so d(tau u)/drho = tau u
    du_rho = (-tau * S_r + tau2 * u * S_dr) / D
    dD_rho = -2 * tau2 * S_dr + tau3 * u * S_dr3 + D_u * du_rho
    if prob.n_agq <= 1:
        half = (0.5 / D)[:, idx]
        w1 = -at.a1 + half * dD1
        w2 = -at.a2 + half * dD2
        g_rho = (tau * u * S_r + 0.5 * dD_rho / D).sum(axis=1)
        logp = at.logp.sum(axis=1) - 0.5 * np.log(D).sum(axis=1)
    else:
        w1, w2, g_rho, logp = _quadrature(prob, fix1, fix2, tau, u, D, du1, du2, dD1, dD2,
                                          du_rho, dD_rho)
    out = np.column_stack([w1 @ B1 + w2 @ B2, g_rho])
    return _finite(out, logp)


def _quadrature(prob, fix1, fix2, tau, u, D, du1, du2, dD1, dD2, du_rho, dD_rho):
    """Weights of the fixed part, the log-SD derivative and a finiteness check (AGQ)."""
    idx = prob.patient
    K = np.sqrt(2.0 / D)
    T, A1, A2, lp_rho, G = [], [], [], [], []
    for x, lw in zip(prob._nodes, prob._log_w, strict=True):
        uh = u + K * x
        shift = (tau * uh)[:, idx]
        p = _Pieces(prob, fix1 - shift, fix2 - shift, third=False)
        S_r = prob._sum(p.r)
        T.append(prob._sum(p.logp) + lw - 0.5 * uh * uh)
        A1.append(p.a1)
        A2.append(p.a2)
        lp_rho.append(-tau * uh * S_r)
        G.append(-tau * S_r - uh)            # g'(u_h)
    T, G, lp_rho = np.stack(T), np.stack(G), np.stack(lp_rho)
    with np.errstate(invalid="ignore"):
        pi = np.exp(T - special.logsumexp(T, axis=0))   # (H, m, groups)
    x = prob._nodes[:, None, None]
    P1 = (pi * G).sum(axis=0)
    P2 = (pi * G * x).sum(axis=0)
    c = -K / (2 * D)                                    # dK/dD
    pi_obs = pi[:, :, idx]
    a1 = (pi_obs * np.stack(A1)).sum(axis=0)
    a2 = (pi_obs * np.stack(A2)).sum(axis=0)
    P1o, P2co, halfo = P1[:, idx], (P2 * c)[:, idx], (0.5 / D)[:, idx]
    w1 = -(a1 + P1o * du1 + P2co * dD1) + halfo * dD1
    w2 = -(a2 + P1o * du2 + P2co * dD2) + halfo * dD2
    g_rho = (-((pi * lp_rho).sum(axis=0) + P1 * du_rho + P2 * c * dD_rho)
             + 0.5 * dD_rho / D).sum(axis=1)
    return w1, w2, g_rho, T.sum(axis=(0, 2))


def _finite(out: np.ndarray, check: np.ndarray) -> np.ndarray:
    """NaN rows where the likelihood is not finite."""
    return np.where(np.isfinite(check)[:, None], out, np.nan)
