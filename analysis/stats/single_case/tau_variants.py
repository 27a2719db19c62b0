"""Every Tau-U variant of one AB series, as scan's ``tau_u`` tabulates them.

Each variant is Kendall's S between the series and a predictor (Parker, Vannest, Davis &
Sauber 2011): with y = (A, B) in time order,

===============================  =================================================
variant                          predictor (A points, B points)
===============================  =================================================
``A vs B``                       (0, ..., 0), (1, ..., 1)
``trend A``                      A alone against 1..nA
``trend B``                      B alone against 1..nB
``A vs B - trend A``             (nA, ..., 1), (nA + 1, ..., nA + 1)
``A vs B + trend B``             (0, ..., 0), (nA + 1, ..., nA + nB)
``A vs B + trend B - trend A``   (nA, ..., 1), (nA + 1, ..., nA + nB)  (the full Tau-U)
===============================  =================================================

Tau = S / D, where D depends on ``method`` (scan 0.67's three):

- ``"parker"``: D = the pairs compared, nA nB for ``A vs B - trend A`` (Parker's formula,
  which can exceed 1; SingleCaseES ``Tau_U``) and N (N - 1) / 2 for the full Tau-U;
- ``"tarlow"``: D = every pair the variant counts (Kendall's tau-a; Tarlow 2017's
  calculator), nA nB + nA (nA - 1) / 2 for ``A vs B - trend A``;
- ``"complete"``: Kendall's tau-b, D = sqrt((n0 - ties_x)(n0 - ties_y)), and for ``A vs B``
  nA nB - ties / 2 (scan's default).

z = S / SD(S) with Kendall's tie-corrected variance (Kendall 1970; R's ``cor.test(method =
"kendall", exact = FALSE)``), with ``tarlow`` a continuity correction (|S| - 1); p two-sided
normal. CI: Fisher's z of Tau with SE 1 / sqrt(n - 3) back-transformed (scan's default
``ci_method = "z"``), n the points of the variant. Checked against scan 0.67.1 sourced from its
GitHub snapshot (tests/r/tau_variants_fixtures.R; tests/test_single_case_tau.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InvalidInputError
from analysis.results import result_frame
from analysis.stats.single_case.phase import kendall_s_var
from analysis.stats.single_case.phase_effects import oriented

#: The variants, in scan's order.
TAU_U_VARIANTS = ("A vs B", "trend A", "trend B", "A vs B - trend A", "A vs B + trend B",
                  "A vs B + trend B - trend A")
#: How Tau is scaled (scan ``tau_u(method = ...)``).
TAU_U_METHODS = ("parker", "tarlow", "complete")


def _s(x: np.ndarray, y: np.ndarray) -> float:
    i, j = np.triu_indices(x.size, k=1)
    return float(np.sum(np.sign(x[j] - x[i]) * np.sign(y[j] - y[i])))


def _ties(v: np.ndarray) -> float:
    t = np.unique(v, return_counts=True)[1].astype(float)
    return float(np.sum(t * (t - 1) / 2))


def tau_u_table(a, b, *, better: str = "higher", method: str = "parker",
                confidence: float = 0.95, variants=TAU_U_VARIANTS, measure: str = "",
                patient_id: str = "", side: str = "") -> pd.DataFrame:
    """The Tau-U variants of one AB series (results rows ``tau_u``, ``term`` = variant).

    Parameters
    ----------
    a, b : array-like
        Baseline and treatment values in time order (at least 2 each for the trends).
    better : {"higher", "lower"}
        Direction of improvement (``"lower"`` multiplies the values by -1).
    method : {"parker", "tarlow", "complete"}
        The denominator (see the module notes).
    variants : sequence of str
        A subset of :data:`TAU_U_VARIANTS`.

    Returns
    -------
    pandas.DataFrame
        One row per variant: ``estimate`` Tau, ``statistic`` S, ``se`` = Tau / z (as scan),
        ``p_value``, Fisher-z CI; ``df`` empty.

    Examples
    --------
    Parker, Vannest & Davis (2011), 6 + 7 points: the three published values of the
    baseline-corrected Tau-U.

    >>> a, b = [20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29]
    >>> [round(float(tau_u_table(a, b, method=m, variants=["A vs B - trend A"]).estimate[0]), 3)
    ...  for m in TAU_U_METHODS]
    [0.738, 0.544, 0.474]
    """
    if method not in TAU_U_METHODS:
        raise InvalidInputError(f"method={method!r}; use one of {list(TAU_U_METHODS)}.")
    bad = [v for v in variants if v not in TAU_U_VARIANTS]
    if bad:
        raise InvalidInputError(f"variant(s) {bad} unknown; use {list(TAU_U_VARIANTS)}.")
    a, b = oriented(a, b, better, min_a=2, min_b=2)
    m, n = a.size, b.size
    ab = np.r_[a, b]
    big = m + n
    zc = stats.norm.ppf(1 - (1 - confidence) / 2)
    design = {
        "A vs B": (ab, np.r_[np.zeros(m), np.ones(n)], m * n, m * n),
        "trend A": (a, np.arange(1.0, m + 1), m * (m - 1) / 2, m * (m - 1) / 2),
        "trend B": (b, np.arange(1.0, n + 1), n * (n - 1) / 2, n * (n - 1) / 2),
        "A vs B - trend A": (ab, np.r_[np.arange(m, 0, -1.0), np.full(n, m + 1.0)],
                             m * n, m * n + m * (m - 1) / 2),
        "A vs B + trend B": (ab, np.r_[np.zeros(m), np.arange(m + 1.0, big + 1)],
                             m * n + n * (n - 1) / 2, m * n + n * (n - 1) / 2),
        "A vs B + trend B - trend A": (ab, np.r_[np.arange(m, 0, -1.0),
                                                 np.arange(m + 1.0, big + 1)],
                                       big * (big - 1) / 2,
                                       m * n + m * (m - 1) / 2 + n * (n - 1) / 2),
    }
    rows = []
    for variant in variants:
        y, x, parker_pairs, all_pairs = design[variant]
        s = _s(x, y)
        k = y.size
        if method == "parker":
            d = parker_pairs
        elif method == "tarlow":
            d = all_pairs
        elif variant == "A vs B":
            d = m * n - float(np.sum(a[:, None] == b[None, :])) / 2
        else:
            n0 = k * (k - 1) / 2
            d = float(np.sqrt((n0 - _ties(x)) * (n0 - _ties(y))))
        tau = s / d if d > 0 else np.nan
        var_s = kendall_s_var(x, y)
        num = np.sign(s) * (abs(s) - 1) if method == "tarlow" else s
        z = num / np.sqrt(var_s) if var_s > 0 else np.nan
        p = float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan
        if np.isfinite(tau) and abs(tau) <= 1 and k > 3:  # |Tau| = 1: the limits are +/-1
            with np.errstate(divide="ignore"):
                fz = np.arctanh(tau)
            lo, hi = np.tanh(fz - zc / np.sqrt(k - 3)), np.tanh(fz + zc / np.sqrt(k - 3))
        else:
            lo = hi = np.nan
        note = [f"better = {better}: " + ("values as is" if better == "higher" else
                                          "values multiplied by -1"),
                f"S = {s:g} over D = {d:g}"]
        if np.isfinite(tau) and abs(tau) > 1:
            note.append("|Tau| > 1: Parker's denominator counts fewer pairs than S")
        if not np.isfinite(lo):
            note.append("no CI: |Tau| > 1 or fewer than 4 points (Fisher z undefined)")
        rows.append({"measure": measure, "patient_id": patient_id, "side": side,
                     "analysis": "tau_u", "term": variant, "estimate": tau,
                     "se": tau / z if np.isfinite(z) and z != 0 else np.nan,
                     "statistic": s, "p_value": p, "ci_low": lo, "ci_high": hi,
                     "n_patients": 1, "n_obs": k,
                     "method": f"Tau-U '{variant}', method '{method}' (Parker, Vannest, Davis "
                     "& Sauber 2011; as scan tau_u): S / D; z from Kendall's tie-corrected "
                     "variance of S" + (" with continuity correction" if method == "tarlow"
                                        else "") + "; se = Tau / z; Fisher-z CI, SE "
                     "1/sqrt(n - 3)",
                     "note": "; ".join(note)})
    return result_frame(rows)
