"""Reliable change indices and clinically significant change (Jacobson & Truax 1991 and the
variants collected by the R package clinicalsignificance).

With pre-test SD s, reliability r_xx, SE of measurement SE = s sqrt(1 - r_xx), S_diff =
sqrt(2) SE and SE of prediction SE_p = s sqrt(1 - r_xx^2):

- ``JT`` (Jacobson & Truax 1991): (post - pre) / S_diff.
- ``GLN`` (Gulliksen-Lord-Novick; Hsu 1989): ((post - M_pre) - r_xx (pre - M_pre)) / SE_p.
- ``HLL`` (Hsu-Linn-Lord; Hsu 1989): ((post - M_post) - r_xx (pre - M_pre)) / SE_p.
- ``EN`` (Edwards-Nunnally; Speer 1992's reformulation): (post - (r_xx (pre - M_pre) +
  M_pre)) / SE.
- ``NK`` (Nunnally & Kotsch 1983): (post - (r_xx (pre - M_pre) + M_pre)) /
  sqrt(r_xx^2 s^2 (1 - r_xx) + s^2 (1 - r_post)).
- ``HA`` (Hageman & Arrindell 1999): reliability of the differences r_dd from the pre and post
  SDs and their correlation, RC_indiv = ((post - pre) r_dd + (M_post - M_pre)(1 - r_dd)) /
  (sqrt(r_dd) S_diff); critical value z at one-sided alpha (1.645), as clinicalsignificance.

Reliable change when |index| > z_(1 - alpha/2) (1.96) in the better direction (``better =
"lower"`` for MAS, TUG, PGIC). Clinically significant change cut-offs (Jacobson & Truax 1991):
a = M_clin +/- 2 SD_clin (beyond the dysfunctional range), b = M_func -/+ 2 SD_func (into the
functional range), c = (SD_clin M_func + SD_func M_clin) / (SD_clin + SD_func).

Hand-written (no Python library offers them); checked against clinicalsignificance's published
results on the Claus et al. (2020) data (tests/test_reliable_change.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InvalidInputError
from analysis.results import result_frame
from analysis.stats.numerics import snap

RCI_METHODS = ("JT", "GLN", "HLL", "EN", "NK", "HA")
_NAMES = {"JT": "Jacobson & Truax (1991)", "GLN": "Gulliksen-Lord-Novick (Hsu 1989)",
          "HLL": "Hsu-Linn-Lord (Hsu 1989)", "EN": "Edwards-Nunnally (Speer 1992)",
          "NK": "Nunnally & Kotsch (1983)", "HA": "Hageman & Arrindell (1999)"}


def _need(method: str, **values) -> None:
    missing = [k for k, v in values.items() if v is None]
    if missing:
        raise InvalidInputError(f"RCI method {method!r} needs {', '.join(missing)}.")


def rci(pre, post, *, method: str = "JT", reliability: float, sd_pre: float | None = None,
        m_pre: float | None = None, m_post: float | None = None, sd_post: float | None = None,
        reliability_post: float | None = None, better: str = "higher", alpha: float = 0.05,
        patient_ids=None, measure: str = "", side: str = "") -> pd.DataFrame:
    """Reliable change index of each patient, by one of the methods in :data:`RCI_METHODS`.

    Parameters
    ----------
    pre, post : array-like
        Scores of the same patients before and after.
    method : {"JT", "GLN", "HLL", "EN", "NK", "HA"}
    reliability : float
        Reliability r_xx of the measure (test-retest or internal consistency).
    sd_pre, m_pre, m_post, sd_post : float, optional
        Reference statistics; default: from ``pre`` and ``post`` (as clinicalsignificance).
    reliability_post : float, optional
        Reliability at post-test (``NK`` only).
    better : {"higher", "lower"}
    alpha : float
        Two-sided level of the criterion (one-sided for ``HA``, as clinicalsignificance).

    Returns
    -------
    pandas.DataFrame
        One row ``rci`` per patient, term ``<method>: post - pre``; ``statistic`` = the index,
        ``note`` starts with the class (reliable improvement / deterioration / no reliable
        change).

    Examples
    --------
    Jacobson & Truax (1991): SD 7.5, reliability .80 -> S_diff = 4.74; a gain of 10 is reliable.

    >>> t = rci([50.0], [60.0], sd_pre=7.5, reliability=0.8)
    >>> round(float(t.statistic[0]), 3), t.note[0].split(";")[0]
    (2.108, 'reliable improvement')
    """
    method = method.upper()
    if method not in RCI_METHODS:
        raise InvalidInputError(f"method={method!r}; use one of {list(RCI_METHODS)}.")
    if better not in ("higher", "lower"):
        raise InvalidInputError(f"better={better!r}; use 'higher' or 'lower'.")
    if not 0 < reliability < 1:
        raise InvalidInputError(f"reliability must lie in (0, 1), got {reliability!r}.")
    pre = np.asarray(pre, dtype=float).ravel()
    post = np.asarray(post, dtype=float).ravel()
    if pre.shape != post.shape:
        raise InvalidInputError("pre and post must have the same length (the same patients).")
    ok = np.isfinite(pre) & np.isfinite(post)
    ids = (np.asarray(patient_ids, dtype=str) if patient_ids is not None
           else np.array([f"{i + 1}" for i in range(pre.size)]))
    pre, post, ids = pre[ok], post[ok], ids[ok]
    sd_pre = float(np.std(pre, ddof=1)) if sd_pre is None and pre.size > 1 else sd_pre
    m_pre = float(pre.mean()) if m_pre is None and pre.size else m_pre
    m_post = float(post.mean()) if m_post is None and post.size else m_post
    sd_post = float(np.std(post, ddof=1)) if sd_post is None and post.size > 1 else sd_post
    _need(method, sd_pre=sd_pre)
    if not sd_pre > 0:
        raise InvalidInputError("sd_pre must be positive (a constant pre-test gives no SEM).")
    r = reliability
    se = sd_pre * np.sqrt(1 - r)
    s_diff = np.sqrt(2) * se
    se_pred = sd_pre * np.sqrt(1 - r**2)
    crit = stats.norm.ppf(1 - alpha / 2)
    extra = ""
    if method == "JT":
        index, denom = (post - pre) / s_diff, f"S_diff = {s_diff:.4g}"
    elif method == "GLN":
        index, denom = ((post - m_pre) - r * (pre - m_pre)) / se_pred, f"SE_pred = {se_pred:.4g}"
    elif method == "HLL":
        index, denom = ((post - m_post) - r * (pre - m_pre)) / se_pred, f"SE_pred = {se_pred:.4g}"
    elif method == "EN":
        index, denom = (post - (r * (pre - m_pre) + m_pre)) / se, f"SEM = {se:.4g}"
    elif method == "NK":
        _need(method, reliability_post=reliability_post)
        d = np.sqrt(r**2 * sd_pre**2 * (1 - r) + sd_pre**2 * (1 - reliability_post))
        index, denom = (post - (r * (pre - m_pre) + m_pre)) / d, f"denominator {d:.4g}"
    else:  # HA
        _need(method, sd_post=sd_post)
        r1 = (sd_pre**2 - se**2) / sd_pre**2
        r2 = (sd_post**2 - se**2) / sd_post**2
        rho = float(np.corrcoef(pre, post)[0, 1])
        r_dd = ((sd_pre**2 * r1 + sd_post**2 * r2 - 2 * sd_pre * sd_post * rho)
                / (sd_pre**2 + sd_post**2 - 2 * sd_pre * sd_post * rho))
        if not r_dd > 0:
            raise InvalidInputError(f"the reliability of the differences is {r_dd:.3g} <= 0: "
                                    "the HA index is undefined for these data.")
        index = ((post - pre) * r_dd + (m_post - m_pre) * (1 - r_dd)) / (np.sqrt(r_dd) * s_diff)
        denom, crit = f"r_dd = {r_dd:.4g}", stats.norm.ppf(1 - alpha)
        extra = f"; pre-post correlation {rho:.4g}"
    index = snap(index)
    sign = 1.0 if better == "higher" else -1.0
    rows = []
    for pid, a, b, z in zip(ids, pre, post, index, strict=False):
        cls = ("reliable improvement" if sign * z > crit else
               "reliable deterioration" if sign * z < -crit else "no reliable change")
        rows.append({"measure": measure, "side": side, "patient_id": pid, "analysis": "rci",
                     "term": f"{method}: post - pre", "estimate": b - a, "statistic": z,
                     "n_patients": 1.0, "n_obs": 2.0,
                     "method": f"RCI {_NAMES[method]}; {denom}; reliability {r:g}; critical "
                     f"|z| {crit:.3f}{extra}",
                     "note": f"{cls}; better = {better}; estimate = raw change"})
    return result_frame(rows)


def cs_cutoffs(*, m_clinical: float, sd_clinical: float, m_functional: float | None = None,
               sd_functional: float | None = None, better: str = "higher",
               measure: str = "") -> pd.DataFrame:
    """Jacobson & Truax (1991) cut-offs a, b, c of clinically significant change.

    Returns
    -------
    pandas.DataFrame
        Rows ``cs_cutoff`` with terms ``a``, ``b``, ``c`` (``b`` and ``c`` only with
        functional norms); ``estimate`` = the cut-off in the unit of the measure.

    Examples
    --------
    >>> t = cs_cutoffs(m_clinical=30, sd_clinical=5, m_functional=10, sd_functional=5,
    ...                better="lower")
    >>> t["estimate"].tolist()
    [20.0, 20.0, 20.0]
    """
    if better not in ("higher", "lower"):
        raise InvalidInputError(f"better={better!r}; use 'higher' or 'lower'.")
    sign = 1.0 if better == "higher" else -1.0
    rows = [("a", m_clinical + sign * 2 * sd_clinical,
             "2 SD beyond the clinical (dysfunctional) mean, towards better")]
    if m_functional is not None and sd_functional is not None:
        rows.append(("b", m_functional - sign * 2 * sd_functional,
                     "within 2 SD of the functional (normal) mean"))
        rows.append(("c", (sd_clinical * m_functional + sd_functional * m_clinical)
                     / (sd_clinical + sd_functional),
                     "weighted midpoint between the clinical and functional means"))
    return result_frame([{"measure": measure, "analysis": "cs_cutoff", "term": t,
                          "estimate": v, "method": f"Jacobson & Truax (1991) cut-off {t}: {how}",
                          "note": f"better = {better}"} for t, v, how in rows])
