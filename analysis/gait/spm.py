"""Pointwise curve statistics with nonparametric (permutation) SPM-style cluster inference.

Two sets of curves (for example one patient's cycles before and after treatment), ``a`` of shape
``(n_a, Q)`` and ``b`` of shape ``(n_b, Q)``:

1. the statistic at every point is the two-sample t with pooled variance (``b`` minus ``a``);
2. the labels are permuted: every distinct split of the ``n_a + n_b`` curves into groups of
   ``n_a`` and ``n_b`` when there are at most ``n_permutations`` of them (exact), else a seeded
   random sample of ``n_permutations`` splits that includes the observed one;
3. two-tailed: the critical threshold ``t*`` is the ``1 - alpha`` quantile (linear
   interpolation, numpy's default) of the permutation distribution of ``max |t|`` over points;
4. clusters are runs of consecutive points with ``|t| > t*`` and the same sign; a cluster's
   size is its integral above the threshold, ``trapezoid(|t| - t*)`` over its points (the
   excess of the point itself for a one-point cluster);
5. a cluster's p-value is the share of permutations whose largest cluster integral (at the same
   ``t*``) is at least the cluster's.

This follows the nonparametric method of Nichols & Holmes (2002) as applied to 1-D curves by
Pataky et al. (2015, J Biomech 48:1277-85). It is written here rather than imported because
spm1d, the reference implementation, is GPL-3; the tests compare both on the same data.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from analysis.errors import InvalidInputError


@dataclass(frozen=True)
class Cluster:
    """A supra-threshold cluster: points ``start..end`` (inclusive indices), sign +1 / -1,
    integral above the threshold, p-value."""

    start: int
    end: int
    sign: int
    integral: float
    p_value: float


@dataclass
class SPMResult:
    """Result of :func:`spm_ttest2`: the t curve, threshold, clusters and how it was computed."""

    t: np.ndarray
    threshold: float
    clusters: list[Cluster]
    n_permutations: int
    exact: bool
    alpha: float
    seed: int | None
    max_stat: np.ndarray = field(repr=False)


def ttest2_curve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pointwise pooled-variance two-sample t of ``b - a`` (rows are curves).

    Examples
    --------
    >>> a = np.array([[0.0, 1.0], [2.0, 1.0], [1.0, 4.0]])
    >>> b = np.array([[3.0, 2.0], [5.0, 2.0], [4.0, 5.0]])
    >>> ttest2_curve(a, b).round(4).tolist()
    [3.6742, 0.7071]
    """
    na, nb = len(a), len(b)
    diff = b.mean(axis=0) - a.mean(axis=0)
    ss = ((a - a.mean(axis=0)) ** 2).sum(axis=0) + ((b - b.mean(axis=0)) ** 2).sum(axis=0)
    sp2 = ss / (na + nb - 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return diff / np.sqrt(sp2 * (1 / na + 1 / nb))


def spm_ttest2(a: np.ndarray, b: np.ndarray, *, alpha: float = 0.05,
               n_permutations: int = 10000, seed: int = 2015) -> SPMResult:
    """Two-sample permutation SPM test of curves ``b`` against ``a`` (two-tailed).

    Parameters
    ----------
    a, b : array (n curves, Q points)
        The two groups of time-normalised curves (same Q).
    alpha : float
        Family-wise error rate over the whole curve.
    n_permutations : int
        Largest number of permutations; all of them are used when there are not more.
    seed : int
        Seed of the random permutations (not used when the test is exact).

    Returns
    -------
    SPMResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(0, 1, (5, 30))
    >>> b = rng.normal(0, 1, (5, 30)); b[:, 10:20] += 4
    >>> r = spm_ttest2(a, b)
    >>> r.exact, r.n_permutations, [(c.start, c.end, c.sign) for c in r.clusters]
    (True, 252, [(10, 13, 1), (15, 17, 1), (19, 19, 1)])
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise InvalidInputError("spm_ttest2: a and b must be 2-D arrays (curves x points) with "
                                "the same number of points")
    if len(a) < 2 or len(b) < 2 or not np.isfinite(a).all() or not np.isfinite(b).all():
        raise InvalidInputError("spm_ttest2: each group needs at least 2 curves without gaps")
    if not 0 < alpha < 1:
        raise InvalidInputError(f"spm_ttest2: alpha must lie in (0, 1), got {alpha!r}")
    y = np.vstack([a, b])
    na, n = len(a), len(a) + len(b)
    total = math.comb(n, na)
    exact = total <= n_permutations
    if exact:
        splits = [np.array(c) for c in itertools.combinations(range(n), na)]
    else:
        rng = np.random.default_rng(seed)
        splits = [np.arange(na)] + [np.sort(rng.permutation(n)[:na])
                                    for _ in range(n_permutations - 1)]
    fields_ = []
    for idx in splits:
        mask = np.zeros(n, bool)
        mask[idx] = True
        fields_.append(ttest2_curve(y[mask], y[~mask]))
    fields_arr = np.array(fields_)
    max_stat = np.abs(fields_arr).max(axis=1)
    threshold = float(np.percentile(max_stat, 100 * (1 - alpha)))
    t = ttest2_curve(a, b)
    null_cluster = np.array([max((c[3] for c in _signed_clusters(f, threshold)), default=0.0)
                             for f in fields_arr])
    clusters = []
    for sign, start, end, integral in _signed_clusters(t, threshold):
        p = float(np.mean(null_cluster >= integral - 1e-12))
        clusters.append(Cluster(start, end, sign, integral, p))
    clusters.sort(key=lambda c: c.start)
    return SPMResult(t=t, threshold=threshold, clusters=clusters, n_permutations=len(splits),
                     exact=exact, alpha=alpha, seed=None if exact else seed, max_stat=max_stat)


def _signed_clusters(t: np.ndarray, threshold: float) -> list[tuple[int, int, int, float]]:
    """Clusters of ``t > threshold`` (sign +1) and ``t < -threshold`` (sign -1)."""
    return [(sign, *c) for sign in (1, -1)
            for c in _clusters(np.where(np.sign(t) == sign, np.abs(t), 0.0), threshold)]


def _clusters(z: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """Runs of ``z > threshold``: (start, end inclusive, integral of z - threshold)."""
    above = z > threshold
    out, i, q = [], 0, len(z)
    while i < q:
        if not above[i]:
            i += 1
            continue
        j = i
        while j + 1 < q and above[j + 1]:
            j += 1
        excess = z[i:j + 1] - threshold
        integral = float(excess[0]) if j == i else float(np.trapezoid(excess))
        out.append((i, j, integral))
        i = j + 1
    return out
