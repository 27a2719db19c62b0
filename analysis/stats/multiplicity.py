"""Multiple-comparison adjustment shared by every analysis module."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def holm(p: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values, as R's ``p.adjust(p, "holm")``.

    NaN entries are left NaN and do not count as tests (R's default for ``NA``).

    Parameters
    ----------
    p : array-like of float
        Unadjusted p-values in [0, 1] (NaN allowed).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order: ``min(1, cummax((n - i + 1) p_(i)))`` over the
        sorted p-values.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(4).tolist()
    [0.03, 0.06, 0.06]
    >>> holm([0.02, float("nan")]).tolist()
    [0.02, nan]
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    n = int(ok.sum())
    if n == 0:
        return out
    vals = p[ok]
    order = np.argsort(vals, kind="mergesort")
    scaled = (n - np.arange(n)) * vals[order]
    adjusted = np.minimum(1.0, np.maximum.accumulate(scaled))
    res = np.empty(n)
    res[order] = adjusted
    out[ok] = res
    return out
