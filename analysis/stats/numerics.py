"""Numerical guards shared by the statistics: constancy and perfect fits judged by relative
tolerance, and warnings turned into notes.

Near-zero is not zero. Eight patients who each gain exactly +0.10 m/s, recorded at two
decimals, have differences that vary only by rounding (SD ~ 5e-17); a t statistic computed from
that SD is 1e15 and means nothing. R refuses such data ("data are essentially constant":
``t.test`` compares the SD of the differences with ``10 * .Machine$double.eps`` times the
largest absolute mean). The rule here is the same in spirit: a spread below
:data:`REL_TOL` (1e-12) of the data's scale is zero.

- :func:`is_constant`: values equal up to rounding.
- :func:`spread`: the SD (ddof=1) with rounding noise snapped to exactly 0.
- :func:`snap`: values rounded to 12 significant digits of their scale, so that ties and zero
  differences created by floating-point rounding (0.3 - 0.2 != 0.1) are ties and zeros.
- :func:`is_perfect_fit`: residuals negligible relative to the response.
- :func:`capture_warnings`: a context manager collecting numpy/scipy/optimiser warnings so they
  reach the row's ``note`` instead of stderr; :func:`noted` appends them to a results frame.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

#: Relative tolerance below which a spread (or a residual) counts as zero.
REL_TOL = 1e-12


def scale_of(x) -> float:
    """The scale against which a spread is judged: the largest absolute value (at least the
    smallest positive normal number, so that all-zero data have a positive scale).

    Examples
    --------
    >>> scale_of([0.1, -0.3])
    0.3
    """
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float(np.finfo(float).tiny)
    return float(max(np.max(np.abs(x)), np.finfo(float).tiny))


def is_constant(x, *, rel_tol: float = REL_TOL) -> bool:
    """True when the finite values of ``x`` are equal up to ``rel_tol`` of their scale.

    Examples
    --------
    >>> d = [0.3 - 0.2, 0.1, 0.5 - 0.4, 0.7 - 0.6]      # rounding noise around 0.1
    >>> float(np.std(d)) > 0, is_constant(d)
    (True, True)
    >>> is_constant([1.0, 1.0 + 1e-6])
    False
    """
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return True
    return bool(np.ptp(x) <= rel_tol * scale_of(x))


def spread(x, *, ddof: int = 1) -> float:
    """SD of the finite values of ``x`` (``ddof``), exactly 0 when they are constant up to
    rounding, NaN when fewer than ``ddof + 1`` values.

    Examples
    --------
    >>> spread([0.1] * 6) == 0.0, float(np.std([0.1] * 6, ddof=1)) > 0
    (True, True)
    """
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size <= ddof:
        return float("nan")
    if is_constant(x):
        return 0.0
    return float(np.std(x, ddof=ddof))


def snap(x, *, digits: int = 12) -> np.ndarray:
    """``x`` rounded to ``digits`` significant digits of its scale (the largest absolute
    value), so values equal up to rounding become equal and near-zero values become 0.

    Examples
    --------
    >>> snap([0.3 - 0.2, 0.1, 1e-17]).tolist()
    [0.1, 0.1, 0.0]
    """
    x = np.asarray(x, dtype=float)
    finite = x[np.isfinite(x)]
    if finite.size == 0 or not np.any(finite):
        return x.copy()
    decimals = digits - 1 - int(np.floor(np.log10(scale_of(finite))))
    out = np.round(x, decimals)
    return out + 0.0  # no negative zeros


def is_perfect_fit(y, resid, *, rel_tol: float = 1e-10) -> bool:
    """True when the residuals are negligible relative to the response (the fit is exact up
    to rounding, so its standard errors are rounding noise).

    Examples
    --------
    >>> is_perfect_fit([3, 3, 1, 1], [1e-16, -1e-16, 0, 2e-16])
    True
    """
    y = np.asarray(y, dtype=float)
    resid = np.asarray(resid, dtype=float)
    scale = max(scale_of(y), scale_of(y - np.mean(y)))
    return bool(np.max(np.abs(resid), initial=0.0) <= rel_tol * scale)


@contextmanager
def capture_warnings() -> Iterator[list[str]]:
    """Collect every warning raised inside the block (numpy floating-point errors included)
    as text, instead of printing it on stderr.

    Examples
    --------
    >>> with capture_warnings() as caught:
    ...     _ = np.log(np.array([0.0]))
    >>> caught
    ['RuntimeWarning: divide by zero encountered in log']
    """
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as records, np.errstate(all="warn"):
        warnings.simplefilter("always")
        yield caught
    seen = set()
    for w in records:
        text = f"{w.category.__name__}: {w.message}"
        if text not in seen:
            seen.add(text)
            caught.append(text)


def join_notes(*parts: str) -> str:
    """Non-empty parts joined by ``"; "`` (duplicates dropped, order kept).

    Examples
    --------
    >>> join_notes("a", "", "b", "a")
    'a; b'
    """
    out: list[str] = []
    for p in parts:
        if p and p not in out:
            out.append(p)
    return "; ".join(out)


def noted(frame: pd.DataFrame, caught: list[str]) -> pd.DataFrame:
    """``frame`` with the captured warnings appended to the ``note`` of every row.

    Examples
    --------
    >>> f = pd.DataFrame({"note": ["", "x"]})
    >>> noted(f, ["RuntimeWarning: y"])["note"].tolist()
    ['warning captured: RuntimeWarning: y', 'x; warning captured: RuntimeWarning: y']
    """
    if not caught or frame is None or not len(frame):
        return frame
    text = "warning captured: " + " | ".join(caught)
    frame = frame.copy()
    frame["note"] = [join_notes(str(n), text) for n in frame["note"]]
    return frame


def wilson_interval(k: int, n: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of ``k`` successes in ``n`` (statsmodels ``proportion_confint``)
    with the limits at the bounds exactly 0 (k = 0) and 1 (k = n), not rounding noise.

    Examples
    --------
    >>> wilson_interval(0, 20)[0], wilson_interval(5, 5)[1]
    (0.0, 1.0)
    """
    from statsmodels.stats.proportion import proportion_confint

    if n <= 0:
        return float("nan"), float("nan")
    lo, hi = proportion_confint(k, n, alpha=alpha, method="wilson")
    lo = 0.0 if k == 0 else float(min(max(lo, 0.0), 1.0))
    hi = 1.0 if k == n else float(min(max(hi, 0.0), 1.0))
    return lo, hi
