"""Marginal likelihood of a cumulative link mixed model with one random intercept per patient.

The model (Agresti 2010, ch. 10; Christensen 2019, the ``ordinal`` package for R)::

    P(Y_ij <= k | b_i) = F(theta_k - x_ij' beta - b_i),    b_i = tau * u_i,  u_i ~ N(0, 1)

with F the inverse link (logistic, standard normal, complementary log-log). Each observation's
probability is ``F(eta_upper) - F(eta_lower)``, both linear predictors linear in the parameters
(``eta = B @ par - tau * u``), so a nominal-effects model uses the same code with other design
matrices.

The integral over ``u_i`` is approximated as ``ordinal::clmm`` does: for each patient the mode
``u_i`` of ``g_i(u) = sum_j log p_ij(u) - u^2 / 2`` is found by Newton's method, with
``D_i = -g_i''(u_i)``; the Laplace approximation is ``g_i(u_i) - log(D_i) / 2`` and adaptive
Gauss-Hermite quadrature (``nAGQ > 1``) places the nodes at ``u_i + sqrt(2 / D_i) x_h``. The
parameters are ``(thresholds, beta, log tau)``, as in clmm.

Why hand-written: no Python library fits cumulative link *mixed* models (statsmodels'
``OrderedModel`` has no random effects; its GEE ordinal model has no patient variance or
likelihood). Every evaluation is vectorised over patients and over a batch of parameter vectors;
the gradient is analytic (:mod:`analysis.stats.ordinal.score`) and the Hessian a batched central
difference of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from analysis.stats.ordinal.score import score
from analysis.vocabulary import Link

_INNER_TOL = 1e-10   # Newton on each patient's mode: max |gradient| (clmm's gradTol, tighter)
_INNER_MAX = 60
_LOG_2PI = float(np.log(2 * np.pi))


def _cdf(x: np.ndarray, link: Link) -> np.ndarray:
    if link == "logit":
        return special.expit(x)
    if link == "probit":
        return special.ndtr(x)
    return -np.expm1(-np.exp(x))  # cloglog


def _sf(x: np.ndarray, link: Link) -> np.ndarray:
    if link == "logit":
        return special.expit(-x)
    if link == "probit":
        return special.ndtr(-x)
    return np.exp(-np.exp(x))


def _pdf_and_slope(x: np.ndarray, link: Link) -> tuple[np.ndarray, np.ndarray]:
    """Density f(x) and its derivative f'(x)."""
    if link == "logit":
        p = special.expit(x)
        f = p * (1 - p)
        return f, f * (1 - 2 * p)
    if link == "probit":
        f = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
        return f, -x * f
    ex = np.exp(x)
    f = np.exp(x - ex)
    return f, f * (1 - ex)


@dataclass
class CLMMProblem:
    """The data of one model: predictors ``eta = B @ par`` and the patient of each row.

    ``B_upper`` and ``B_lower`` are (n, k_fixed); ``top`` and ``bottom`` mark observations in the
    highest and lowest category (whose upper and lower bound is +inf and -inf). Rows are sorted
    by patient (``starts`` gives the first row of each). ``n_agq`` is 1 (Laplace) or the number
    of adaptive Gauss-Hermite nodes. ``random=False`` fits the model without the patient
    intercept (as ``ordinal::clm``).
    """

    B_upper: np.ndarray
    B_lower: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    patient: np.ndarray
    starts: np.ndarray
    link: Link = "logit"
    n_agq: int = 1
    random: bool = True

    def __post_init__(self) -> None:
        self.n_groups = len(self.starts)
        self.n_par = self.B_upper.shape[1] + int(self.random)
        self._u = np.zeros(self.n_groups)
        nodes, weights = np.polynomial.hermite.hermgauss(max(self.n_agq, 1))
        self._nodes = nodes
        self._log_w = np.log(weights) + nodes ** 2

    # ---- per-observation pieces --------------------------------------------------------
    def _log_prob(self, e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
        """log(F(e1) - F(e2)), accurate in both tails; e1 is the upper predictor."""
        top, bottom = self.top, self.bottom
        e1 = np.where(top, 0.0, e1)
        e2 = np.where(bottom, 0.0, e2)
        lower_half = e2 <= 0
        F1 = np.where(top, 1.0, _cdf(e1, self.link))
        F2 = np.where(bottom, 0.0, _cdf(e2, self.link))
        S1 = np.where(top, 0.0, _sf(e1, self.link))
        S2 = np.where(bottom, 1.0, _sf(e2, self.link))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(np.where(lower_half, F1 - F2, S2 - S1))

    def _derivs(self, e1: np.ndarray, e2: np.ndarray, logp: np.ndarray):
        """d log p / d eta-shift and its derivative (eta = eta_fix - tau u; per unit of shift)."""
        f1, s1 = _pdf_and_slope(np.where(self.top, 0.0, e1), self.link)
        f2, s2 = _pdf_and_slope(np.where(self.bottom, 0.0, e2), self.link)
        f1 = np.where(self.top, 0.0, f1)
        s1 = np.where(self.top, 0.0, s1)
        f2 = np.where(self.bottom, 0.0, f2)
        s2 = np.where(self.bottom, 0.0, s2)
        p = np.exp(logp)
        r = (f1 - f2) / p
        return r, (s1 - s2) / p - r * r

    def _sum(self, x: np.ndarray) -> np.ndarray:
        return np.add.reduceat(x, self.starts, axis=-1)

    # ---- the objective ---------------------------------------------------------------------
    def nll(self, pars: np.ndarray) -> np.ndarray:
        """Negative log-likelihood of each row of ``pars`` (m, n_par): (m,)."""
        pars = np.atleast_2d(pars)
        k = self.B_upper.shape[1]
        fix1 = pars[:, :k] @ self.B_upper.T
        fix2 = pars[:, :k] @ self.B_lower.T
        if not self.random:
            out = -self._log_prob(fix1, fix2).sum(axis=1)
            return np.where(np.isnan(out), np.inf, out)
        tau = np.exp(pars[:, k])[:, None]
        u, D, gval = self._modes(fix1, fix2, tau)
        if self.n_agq <= 1:
            with np.errstate(invalid="ignore"):
                out = (-gval + 0.5 * np.log(D)).sum(axis=1)
            return np.where(np.isnan(out), np.inf, out)
        K = np.sqrt(2.0 / D)
        terms = []
        for x, lw in zip(self._nodes, self._log_w, strict=True):
            uh = u + K * x
            shift = (tau * uh)[:, self.patient]
            lp = self._sum(self._log_prob(fix1 - shift, fix2 - shift))
            terms.append(lp + lw - 0.5 * uh * uh)
        with np.errstate(invalid="ignore"):
            log_int = special.logsumexp(np.stack(terms), axis=0)
            out = (-(log_int + np.log(K)) + 0.5 * _LOG_2PI).sum(axis=1)
        return np.where(np.isnan(out), np.inf, out)

    def _modes(self, fix1, fix2, tau):
        """Newton (with step halving) on each patient's mode; returns u, D and g(u)."""
        m = fix1.shape[0]
        u = np.broadcast_to(self._u, (m, self.n_groups)).copy()
        g, grad, hess = self._g(u, fix1, fix2, tau)
        impossible = ~np.isfinite(g)  # crossing thresholds: p < 0 whatever u (nll = inf)
        grad = np.where(impossible, 0.0, grad)
        for _ in range(_INNER_MAX):
            if np.max(np.abs(grad)) < _INNER_TOL:
                break
            step = grad / hess
            t = np.ones_like(u)
            for _halving in range(40):
                u_new = u - t * step
                g_new, grad_new, hess_new = self._g(u_new, fix1, fix2, tau)
                worse = ~(g_new >= g - 1e-12 * np.abs(g)) & ~impossible
                if not worse.any():
                    break
                t = np.where(worse, t / 2, t)
            u, g, hess = u_new, g_new, hess_new
            grad = np.where(impossible, 0.0, grad_new)
        self._u = np.where(impossible[0], 0.0, u[0])
        return u, hess, np.where(impossible, -np.inf, g)

    def _g(self, u, fix1, fix2, tau):
        """g(u) = sum log p - u^2/2 per patient, its gradient and -(second derivative)."""
        shift = (tau * u)[:, self.patient]
        e1, e2 = fix1 - shift, fix2 - shift
        logp = self._log_prob(e1, e2)
        r, dr = self._derivs(e1, e2, logp)
        g = self._sum(logp) - 0.5 * u * u
        grad = tau * self._sum(r) + u        # gradient of -g
        hess = -tau * tau * self._sum(dr) + 1.0  # -g''
        return g, grad, hess

    # ---- derivatives ---------------------------------------------------------------------
    def gradient(self, par: np.ndarray) -> np.ndarray:
        """Analytic gradient of the nll (:func:`analysis.stats.ordinal.score.score`)."""
        return score(self, par)[0]

    def hessian(self, par: np.ndarray, h: float = 1e-4) -> np.ndarray:
        """Central differences of the analytic gradient (2k gradients, one batched call),
        symmetrised; ordinal's ``deriv12`` takes second differences of the likelihood instead."""
        n = len(par)
        E = np.eye(n) * h
        G = score(self, np.vstack([par + E, par - E]))
        H = (G[:n] - G[n:]) / (2 * h)
        return (H + H.T) / 2
