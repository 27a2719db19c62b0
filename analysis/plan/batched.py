"""Batched analyses of a chunk of simulated case series: every dataset of a chunk at once.

The per-dataset path (:func:`analysis.plan.simulate.analyse_case_series`, the package's own
functions on one data frame) is the reference; this module computes the same statistics for
all datasets of a chunk with array operations and agrees with it to 1e-8 (tests/test_plan.py,
random designs). A dataset (and test) it does not cover is handed back to the reference.

- **paired t**: mean and SD of the snapped differences (as
  :func:`analysis.stats.paired.paired_comparisons`), t on n - 1 df. Constant differences or
  fewer than 2 pairs: reference.
- **Wilcoxon**: ranks of |d| per dataset (argsort), V = sum of the positive ranks, exact
  two-sided p ``min(1, 2 min(P(V <= v), P(V >= v)))`` from the null distribution of V for m
  distinct ranks (built once per m by convolution, as scipy's exact test). Zeros or ties
  after snapping, or m > 400: reference.
- **LMM** ``value ~ visit + (1 | patient)``, REML, Satterthwaite df: with cell-means fixed
  effects (the same REML optimum and contrasts as treatment coding) every quantity of the
  profiled REML criterion is a sum over patients of rank-one terms in ``u = theta^2``;
  Newton's method on ``u`` runs for all datasets together (a converged dataset is frozen), with
  analytic first and second derivatives, the boundary ``u = 0`` taken when the derivative
  there is >= 0. A balanced dataset converges to the closed form (``u`` from the two-way ANOVA
  mean squares) in a few steps; an unbalanced one (dropout) is handled the same way. The
  Satterthwaite df are in closed form for one variance component: ``2 V^2 / (g' A g)`` with
  ``V = s c'(X'V^-1X)^-1 c`` (``s = sigma^2``), ``g = dV/d(u, s)`` and ``A = 2 H^-1``, ``H``
  the Hessian of the (unprofiled) REML criterion in ``(u, s)`` (lmerTest's df do not depend
  on the parametrisation at an interior optimum); at the boundary ``df = N - p``, as
  lmerTest's pseudo-inverse gives. A visit with no observations, a Newton run that does not
  converge or a non-positive-definite ``X'V^-1X``: reference.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import stats

#: Newton iterations of the batched REML fit before a dataset is handed to the reference.
MAX_NEWTON = 60
#: lme4's singular-fit rule on theta (as :data:`analysis.stats.lmm.fitting.SINGULAR_TOL`).
SINGULAR_TOL = 1e-4
#: Bytes of one array of a batch: chunks are split into sub-batches of datasets so that no
#: array of the batched path exceeds this (each holds at most ~20 such arrays at once), which
#: keeps the peak memory of a worker under 1 GB for any design within the limits.
BATCH_BYTES = 16 * 2 ** 20


def sub_batches(n_rows: int, bytes_per_row: float) -> list[slice]:
    """Consecutive slices of ``n_rows`` datasets, each under :data:`BATCH_BYTES` per array
    (at least one dataset each). Depends on the design only, never on the machine."""
    size = max(1, int(BATCH_BYTES // max(bytes_per_row, 1.0)))
    return [slice(i, min(i + size, n_rows)) for i in range(0, n_rows, size)]


def snap_rows(d: np.ndarray, digits: int = 12) -> np.ndarray:
    """:func:`analysis.stats.numerics.snap` of each row of ``d`` (NaN ignored)."""
    scale = np.where(np.isfinite(d), np.abs(d), 0.0).max(axis=1) if d.size else np.zeros(len(d))
    out = d.copy()
    ok = np.isfinite(scale) & (scale > 0)
    if not ok.any():
        return out
    dec = digits - 1 - np.floor(np.log10(scale[ok])).astype(int)
    for value in np.unique(dec):  # np.round per distinct decimals: the reference's arithmetic
        rows = np.flatnonzero(ok)[dec == value]
        out[rows] = np.round(d[rows], int(value))
    return out + 0.0


@functools.lru_cache(maxsize=64)  # at most 64 x 2 x 80,000 floats (m <= 400): 82 MB
def _signed_rank_cdf(m: int) -> tuple[np.ndarray, np.ndarray]:
    """(P(V <= v), P(V >= v)) for v = 0..m(m+1)/2 under the null with m distinct ranks."""
    dist = np.zeros(m * (m + 1) // 2 + 1)
    dist[0] = 1.0
    for k in range(1, m + 1):
        dist[k:] = dist[k:] + dist[:-k].copy()
        dist *= 0.5
    return np.cumsum(dist), np.cumsum(dist[::-1])[::-1]


def paired_tests(base: np.ndarray, follow: np.ndarray, *, conf: float, want_t: bool,
                 want_w: bool) -> dict:
    """Paired t and exact Wilcoxon for each row (NaN = pair missing).

    Returns
    -------
    dict
        ``paired_t``: (p, estimate, low, high, covered) and ``wilcoxon``: (p, covered), arrays
        over rows; ``covered`` False sends the row to the reference.
    """
    d = snap_rows(follow - base)
    ok = np.isfinite(d)
    n = ok.sum(axis=1)
    out = {}
    if want_t:
        dz = np.where(ok, d, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = dz.sum(axis=1) / n
            var = np.where(ok, (d - mean[:, None]) ** 2, 0.0).sum(axis=1) / (n - 1)
            se = np.sqrt(var / n)
            tstat = mean / se
        dmax = np.where(ok, d, -np.inf).max(axis=1)
        dmin = np.where(ok, d, np.inf).min(axis=1)
        scale = np.where(ok, np.abs(d), 0.0).max(axis=1)
        constant = (dmax - dmin) <= 1e-12 * np.where(scale > 0, scale, 1.0)
        covered = (n >= 2) & ~constant & (var > 0)
        df = np.maximum(n - 1, 1)
        p = 2 * stats.t.sf(np.abs(tstat), df)
        half = stats.t.ppf(0.5 + conf / 2, df) * se
        out["paired_t"] = (p, mean, mean - half, mean + half, covered)
    if want_w:
        nz = ok & (d != 0)
        m = nz.sum(axis=1)
        absd = np.where(nz, np.abs(d), np.inf)
        order = np.argsort(absd, axis=1, kind="stable")
        sorted_abs = np.take_along_axis(absd, order, axis=1)
        ties = np.any((sorted_abs[:, 1:] == sorted_abs[:, :-1]) & np.isfinite(sorted_abs[:, 1:]),
                      axis=1)
        ranks = np.empty_like(absd)
        np.put_along_axis(ranks, order, np.arange(1, d.shape[1] + 1, dtype=float)[None, :]
                          .repeat(d.shape[0], 0), axis=1)
        v = np.where(nz & (d > 0), ranks, 0.0).sum(axis=1)
        zeros = (ok & (d == 0)).any(axis=1)
        covered = (m >= 1) & ~ties & ~zeros & (m <= 400)
        p = np.full(d.shape[0], np.nan)
        for row in np.flatnonzero(covered):
            low, high = _signed_rank_cdf(int(m[row]))
            k = int(round(v[row]))
            p[row] = min(1.0, 2 * min(low[k], high[k]))
        out["wilcoxon"] = (p, covered)
    return out


def lmm_contrast(y: np.ndarray, present: np.ndarray, visit: int, *, conf: float) -> dict:
    """REML random-intercept fit of every dataset, contrast of visit ``visit`` against visit 0.

    Parameters
    ----------
    y : ndarray (B, n, k)
        Values (anything where not present).
    present : ndarray (B, n, k) of bool
        Observed cells; every patient has visit 0.
    visit : int
        Column of the tested visit.

    Returns
    -------
    dict
        Arrays over datasets: p, estimate, low, high, singular, covered.
    """
    B, n, k = y.shape
    covered = np.all(present.any(axis=1), axis=1) & (present.sum(axis=(1, 2)) > k)
    # a dataset left to the reference is replaced by a harmless complete one (no singular
    # matrices in the batch); its results are not used
    present = np.where(covered[:, None, None], present, True)
    y = np.where(covered[:, None, None], y, np.arange(n * k, dtype=float).reshape(n, k) % 3)
    M = present.astype(float)
    counts = M.sum(axis=1)  # (B, k)
    safe = np.where(counts > 0, counts, 1.0)
    mu = (np.where(present, y, 0.0)).sum(axis=1) / safe  # visit means = OLS fit
    R = np.where(present, y - mu[:, None, :], 0.0)
    n_i = M.sum(axis=2)  # (B, n)
    A = np.concatenate([M, R.sum(axis=2)[:, :, None]], axis=2)  # (B, n, k+1)
    At = np.ascontiguousarray(A.transpose(0, 2, 1))
    G0 = np.zeros((B, k + 1, k + 1))
    G0[:, np.arange(k), np.arange(k)] = counts
    G0[:, k, k] = (R ** 2).sum(axis=(1, 2))
    N = M.sum(axis=(1, 2))
    dof = N - k
    c = np.zeros(k)
    c[visit], c[0] = 1.0, -1.0

    def gram(weights):  # sum_i weights_i a_i a_i' per dataset, without an (n, k+1, k+1) array
        return At @ (A * weights[:, :, None])

    def parts(u):
        den = 1.0 + u[:, None] * n_i
        w, w1, w2 = u[:, None] / den, 1.0 / den ** 2, -2.0 * n_i / den ** 3
        G = G0 - gram(w)
        dG = -gram(w1)
        d2G = -gram(w2)
        Gxx = G[:, :k, :k]
        Ginv = np.linalg.inv(Gxx)
        beta = np.einsum("bxy,by->bx", Ginv, G[:, :k, k])
        v = np.concatenate([-beta, np.ones((B, 1))], axis=1)
        r2 = G[:, k, k] - np.einsum("bx,bx->b", G[:, :k, k], beta)
        r1 = np.einsum("bx,bxy,by->b", v, dG, v)
        q = np.einsum("bxy,by->bx", dG, v)[:, :k]
        r2dd = np.einsum("bx,bxy,by->b", v, d2G, v) - 2 * np.einsum("bx,bxy,by->b", q, Ginv, q)
        GdG = Ginv @ dG[:, :k, :k]
        ld1 = (n_i / den).sum(axis=1) + np.trace(GdG, axis1=1, axis2=2)
        ld2 = (-(n_i / den) ** 2).sum(axis=1) + np.einsum("bxy,byx->b", Ginv, d2G[:, :k, :k]) \
            - np.einsum("bxy,byx->b", GdG, GdG)
        return dict(den=den, Ginv=Ginv, GdG=GdG, beta=beta, r2=r2, r1=r1, r2dd=r2dd,
                    ld1=ld1, ld2=ld2)

    def derivs(u):
        with np.errstate(all="ignore"):
            P = parts(u)
            f1 = P["ld1"] + dof * P["r1"] / P["r2"]
            f2 = P["ld2"] + dof * (P["r2dd"] / P["r2"] - (P["r1"] / P["r2"]) ** 2)
        return f1, f2, P

    u = np.ones(B)
    done = ~covered
    u_fixed = u.copy()
    for _ in range(MAX_NEWTON):
        live = ~done
        if not live.any():
            break
        f1, f2, _ = derivs(np.where(live, u, 1.0))
        step = np.where(f2 > 0, -f1 / np.where(f2 > 0, f2, 1.0), np.where(f1 > 0, -0.5 * u, u))
        new = u + step
        new = np.where(new <= 0, np.where(u < 1e-12, 0.0, u / 10), new)
        conv = live & (np.abs(new - u) <= 1e-10 * np.maximum(u, 1e-3)) & (f2 > 0)
        at_zero = live & (u <= 1e-10) & (f1 > 0)
        u = np.where(live, new, u)
        u_fixed = np.where(conv, new, u_fixed)
        done |= conv
        if at_zero.any():  # boundary: optimum at u = 0 when the derivative there is >= 0
            f1z, _, _ = derivs(np.zeros(B))
            zero = at_zero & (f1z >= 0)
            u_fixed = np.where(zero, 0.0, u_fixed)
            done |= zero
            u = np.where(zero, 0.0, u)
    converged = done & covered
    u = np.where(converged, u_fixed, 1.0)
    covered = converged & np.isfinite(u)
    f1, f2, P = derivs(u)
    with np.errstate(all="ignore"):
        s = P["r2"] / dof
        h = np.einsum("x,bxy,y->b", c, P["Ginv"], c)
        var = s * h
        est = (mu @ c) + P["beta"] @ c
        se = np.sqrt(var)
        interior = u > 0
        # Satterthwaite: Hessian of the REML criterion in (u, s) and dV/d(u, s)
        Huu = P["ld2"] + P["r2dd"] / s
        Hus = -P["r1"] / s ** 2
        Hss = dof / s ** 2
        h1 = -np.einsum("x,bxy,y->b", c, P["GdG"] @ P["Ginv"], c)
        gu, gs = s * h1, h
        det = Huu * Hss - Hus ** 2
        quad = 2 * (gu ** 2 * Hss - 2 * gu * gs * Hus + gs ** 2 * Huu) / det
        df = np.where(interior, 2 * var ** 2 / quad, dof)
        tstat = est / se
        p = 2 * stats.t.sf(np.abs(tstat), df)
        half = se * stats.t.ppf(0.5 + conf / 2, df)
    covered &= np.isfinite(p) & np.isfinite(df) & (df > 0) & (~interior | (det > 0))
    return dict(p=p, estimate=est, low=est - half, high=est + half,
                singular=np.sqrt(u) < SINGULAR_TOL, covered=covered, df=df, se=se, u=u)


# ------------------------------------------------------------------ AB and titration designs
#: (test, variant, statistic, m, n, confidence) -> (p, estimate, low, high) of the reference.
_RANK_CACHE: dict = {}


def rank_results(test: str, variant: str, a: np.ndarray, b: np.ndarray, conf: float,
                 reference) -> dict:
    """NAP or Tau-U of each row of ``a`` (B, m) against ``b`` (B, n), with the reference's own
    numbers: without ties, NAP's p and Newcombe interval depend on U (improving pairs) alone,
    and Tau-U's p and interval on S alone (Kendall's variance has no tie correction), so the
    reference function is run once per distinct statistic (at most m n + 1 values; kept for
    the process) and its result copied to every row with that statistic. Rows with ties
    (after snapping, as the reference) are returned as None: the caller runs the reference.

    Returns
    -------
    list
        Per row: (p, estimate, low, high) or None.
    """
    both = snap_rows(np.concatenate([a, b], axis=1))
    m, n = a.shape[1], b.shape[1]
    a, b = both[:, :m], both[:, m:]
    order = np.argsort(both, axis=1, kind="stable")
    srt = np.take_along_axis(both, order, axis=1)
    tied = np.any(srt[:, 1:] == srt[:, :-1], axis=1)
    # without ties: U = rank sum of B - n(n+1)/2 and S_AvsB = 2U - mn (memory O(m + n))
    ranks = np.empty(both.shape)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(1.0, m + n + 1), both.shape),
                      axis=1)
    s_ab = 2 * (ranks[:, m:].sum(axis=1) - n * (n + 1) / 2) - m * n
    if test == "tau_u" and variant == "A vs B - trend A":
        s_a = np.zeros(len(a))
        if m <= 300:  # Kendall S of A against time, all pairs, in bounded sub-batches
            i, j = np.triu_indices(m, k=1)
            for part in sub_batches(len(a), 8.0 * i.size):
                s_a[part] = np.sign(a[part][:, j] - a[part][:, i]).sum(axis=1)
        else:  # O(m log m): S = tau * m (m - 1) / 2 without ties
            for row in np.flatnonzero(~tied):
                tau = stats.kendalltau(np.arange(m), a[row]).statistic
                s_a[row] = np.rint(tau * m * (m - 1) / 2)
        stat = s_ab - s_a
    else:
        stat = s_ab
    out: list = []
    for row in range(len(a)):
        if tied[row]:
            out.append(None)
            continue
        key = (test, variant, int(stat[row]), m, b.shape[1], conf)
        if key not in _RANK_CACHE:
            r = reference(a[row], b[row])
            _RANK_CACHE[key] = (float(r.p_value), float(r.estimate), float(r.ci_low),
                                float(r.ci_high))
        out.append(_RANK_CACHE[key])
    return out


def piecewise_level_change(days: np.ndarray, Y: np.ndarray, phase: np.ndarray, *,
                           conf: float) -> dict | None:
    """OLS piecewise regression of every row of ``Y`` on one design (Huitema & McKean 2000),
    the ``level change`` term: arrays p, estimate, low, high, covered (False: a perfect fit, for
    the reference). None when the design is not estimable (the reference explains why)."""
    d = phase.astype(float)
    if np.sum(d == 0) < 2 or np.sum(d == 1) < 2 or days.size < 5:
        return None
    t0 = days[d == 1].min()
    X = np.column_stack([np.ones_like(days), days, d, (days - t0) * d])
    if np.linalg.matrix_rank(X) < 4:
        return None
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = Y @ (X @ xtx_inv)  # (B, 4)
    resid = Y - beta @ X.T
    dof = days.size - 4
    s2 = (resid ** 2).sum(axis=1) / dof
    se = np.sqrt(s2 * xtx_inv[2, 2])
    est = beta[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.t.sf(np.abs(est / se), dof)
    half = stats.t.ppf(1 - (1 - conf) / 2, dof) * se
    scale = np.abs(Y).max(axis=1)
    # a margin over the reference's 1e-10 (a near-perfect fit goes to the reference)
    perfect = np.abs(resid).max(axis=1) <= 1e-8 * np.where(scale > 0, scale, 1.0)
    return dict(p=p, estimate=est, low=est - half, high=est + half,
                covered=~perfect & np.isfinite(p))
