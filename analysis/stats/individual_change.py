"""Individual change: change from baseline, Reliable Change Index, MCID classes, responders.

Section 3 of the analysis plan. Every patient's change is reported three ways: the raw change
(``change``), the Reliable Change Index of Jacobson & Truax (1991) (``rci``), and its class
against the minimal clinically important difference (``mcid_class``). :func:`responders`
turns the classes into proportions with Wilson and Clopper-Pearson intervals
(statsmodels' ``proportion_confint``).

Measure settings (direction of improvement, MCID, MDC, SEM, reliability, reference SD) are
plain arguments, or are read from any object with the codebook ``Measure`` attributes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from analysis.errors import InvalidInputError
from analysis.results import result_frame
from analysis.stats.numerics import wilson_interval
from analysis.vocabulary import Direction

#: Leading words of the ``note`` of an ``rci`` row (read back by :func:`responders`).
RELIABLE_IMPROVEMENT = "reliable improvement"
RELIABLE_DETERIORATION = "reliable deterioration"
NO_RELIABLE_CHANGE = "no reliable change"
RELIABLE_UNCLASSIFIED = "reliable change, direction not classified"
#: Critical |RCI| for reliable change at the 5% level (Jacobson & Truax 1991).
RCI_CRITICAL = 1.96
#: Absolute tolerance when comparing a change with the MCID (changes such as 0.9 - 0.8 are
#: not exact in floating point; a change equal to the MCID counts as reaching it).
_TOL = 1e-9



@dataclass(frozen=True)
class ReliableChange:
    """Result of :func:`rci`: the index, the SEM and S_diff it used, and the verdict."""

    change: float
    rci: float
    sem: float
    s_diff: float
    reliable: bool
    critical: float = RCI_CRITICAL


def rci(
    change: float,
    *,
    sd: float | None = None,
    reliability: float | None = None,
    sem: float | None = None,
) -> ReliableChange:
    """Reliable Change Index of Jacobson & Truax (1991).

    ``SEM = SD * sqrt(1 - r_xx)``, ``S_diff = sqrt(2) * SEM``, ``RCI = change / S_diff``;
    the change is reliable when ``|RCI| > 1.96``. Give either ``sd`` and ``reliability`` or
    ``sem``. The RCI keeps the sign of the change (``later - earlier``).

    Examples
    --------
    >>> r = rci(-6.0, sd=7.5, reliability=0.88)
    >>> round(r.sem, 4), round(r.s_diff, 4), round(r.rci, 4), r.reliable
    (2.5981, 3.6742, -1.633, False)
    >>> rci(0.2, sem=0.06).reliable
    True
    """
    if sem is None:
        if sd is None or reliability is None:
            raise InvalidInputError(
                "rci needs sem=, or both sd= and reliability= "
                f"(got sd={sd!r}, reliability={reliability!r}, sem={sem!r})."
            )
        if not (np.isfinite(sd) and sd > 0):
            raise InvalidInputError(f"sd must be a positive number, got {sd!r}.")
        if not (np.isfinite(reliability) and 0 <= reliability < 1):
            raise InvalidInputError(
                f"reliability must lie in [0, 1), got {reliability!r} (an ICC or test-retest r)."
            )
        sem = sd * math.sqrt(1.0 - reliability)
    elif not (np.isfinite(sem) and sem > 0):
        raise InvalidInputError(f"sem must be a positive number, got {sem!r}.")
    s_diff = math.sqrt(2.0) * sem
    index = change / s_diff
    return ReliableChange(change=float(change), rci=float(index), sem=float(sem),
                          s_diff=float(s_diff), reliable=bool(abs(index) > RCI_CRITICAL))


def _from_measure(measure: Any, name: str, value: Any, attr: str | None = None) -> Any:
    if value is not None or measure is None:
        return value
    return getattr(measure, attr or name, None)


def _improvement(change: np.ndarray, value: np.ndarray, baseline: np.ndarray,
                 better: str, norm_mean: float | None) -> np.ndarray | None:
    """Change signed so that positive means better; None when it cannot be signed."""
    if better == "lower":
        return -change
    if better == "higher":
        return change
    if better == "towards_normal" and norm_mean is not None:
        return np.abs(baseline - norm_mean) - np.abs(value - norm_mean)
    return None


def individual_change(
    changes: pd.DataFrame,
    *,
    measure: Any = None,
    better: Direction | None = None,
    mcid: float | None = None,
    mcid_source: str | None = None,
    mdc: float | None = None,
    mdc_source: str | None = None,
    sd: float | None = None,
    sd_source: str | None = None,
    sem: float | None = None,
    reliability: float | None = None,
    reliability_source: str | None = None,
    norm_mean: float | None = None,
    reference: str = "baseline",
) -> pd.DataFrame:
    """Change, RCI and MCID class of every patient at every visit of one measure.

    Parameters
    ----------
    changes : pandas.DataFrame
        Change table of one measure (``analysis.data.derive.change_table``): columns
        ``patient_id``, ``visit``, ``measure``, ``value``, ``baseline``, ``change`` and
        optionally ``side``.
    measure : codebook ``Measure`` or None
        Supplies any option left as None (``better``, ``mcid``, ``mdc``, ``sem``,
        ``reliability``, their sources, ``sd_ref`` for ``sd``, ``norm_mean``); when
        ``changes`` holds several measures, only ``measure.key`` is used.
    better : {"lower", "higher", "towards_normal", "context"}
        Direction of improvement (lower is better for MAS, TUG, SPRS and PGIC).
    mcid, mdc : float or None
        Thresholds for the class; without an MCID the MDC is used, and without either
        half the baseline SD (Norman et al. 2003), each said in ``note``.
    sd, sem, reliability : float or None
        Reference SD and test-retest reliability (or the SEM directly) for the RCI. Without
        a reference SD the sample's baseline SD is used and ``method`` says so; without a
        reliability or SEM the RCI is left empty with the reason in ``note``.
    *_source : str or None
        Where each number comes from (printed in ``method`` and ``note``).
    norm_mean : float or None
        Normal value for ``better="towards_normal"``.
    reference : str
        Name of the reference visit used in ``term`` (``visit - reference``).

    Returns
    -------
    pandas.DataFrame
        Results rows (:func:`analysis.results.result_frame`) ``change``, ``rci`` and
        ``mcid_class`` per patient, side and visit.

    Examples
    --------
    >>> ch = pd.DataFrame({"patient_id": ["P1", "P2"], "visit": "post_m6",
    ...     "measure": "tug", "value": [12.0, 20.5], "baseline": [18.0, 20.0],
    ...     "change": [-6.0, 0.5]})
    >>> t = individual_change(ch, better="lower", mcid=2.9, mcid_source="Flansbjer 2005",
    ...                       sd=7.5, reliability=0.88, reliability_source="example")
    >>> t[["patient_id", "analysis", "estimate"]].round(3).values.tolist()[:3]
    [['P1', 'change', -6.0], ['P1', 'rci', -1.633], ['P1', 'mcid_class', 1.0]]
    >>> [note.split(" (")[0] for note in t.loc[t["analysis"] == "rci", "note"]]
    ['no reliable change', 'no reliable change']
    """
    need = {"patient_id", "visit", "value", "baseline", "change"}
    missing = need - set(changes.columns)
    if missing:
        raise InvalidInputError(
            f"the change table lacks column(s) {sorted(missing)}; build it with "
            "analysis.data.derive.change_table."
        )
    data = changes
    if "measure" in data.columns and data["measure"].nunique() > 1:
        key = getattr(measure, "key", None)
        if key is None:
            raise InvalidInputError(
                f"the change table holds several measures {sorted(data['measure'].unique())}; "
                "call individual_change once per measure (or pass measure=)."
            )
        data = data[data["measure"] == key]
    better = _from_measure(measure, "better", better)
    if better not in ("lower", "higher", "towards_normal", "context"):
        raise InvalidInputError(
            f"better must be 'lower', 'higher', 'towards_normal' or 'context', got {better!r}."
        )
    mcid = _from_measure(measure, "mcid", mcid)
    mcid_source = _from_measure(measure, "mcid_source", mcid_source) or "not given"
    mdc = _from_measure(measure, "mdc", mdc)
    mdc_source = _from_measure(measure, "mdc_source", mdc_source) or "not given"
    sem = _from_measure(measure, "sem", sem)
    reliability = _from_measure(measure, "reliability", reliability)
    rel_source = _from_measure(measure, "reliability_source", reliability_source) or "not given"
    sd = _from_measure(measure, "sd", sd, "sd_ref")
    sd_source = sd_source or (rel_source if sd is not None else "")
    norm_mean = _from_measure(measure, "norm_mean", norm_mean)

    # only the columns read below: sorting every column of the change table copied them all
    used = ("patient_id", "visit", "value", "baseline", "change", "side", "measure", "day")
    data = data[[c for c in data.columns if c in used]]
    if "side" not in data.columns:
        data["side"] = ""
    data["side"] = data["side"].fillna("").astype(str)
    if "measure" in data.columns:
        data["mkey"] = data["measure"].astype(str)
    else:
        data["mkey"] = str(getattr(measure, "key", "") or "")

    # sample baseline SD: one baseline per patient and side
    base = data.drop_duplicates(["patient_id", "side"])["baseline"].dropna()
    sample_sd = float(base.std(ddof=1)) if len(base) >= 2 else float("nan")

    # how the RCI is scaled (said in `method`)
    rci_reason = ""
    if sem is not None:
        s_diff = math.sqrt(2) * sem
        rci_method = f"codebook SEM {sem:g} ({rel_source})"
    elif reliability is not None and sd is not None:
        s_diff = rci(0.0, sd=sd, reliability=reliability).s_diff
        rci_method = f"codebook SD {sd:g} ({sd_source}) and r_xx {reliability:g} ({rel_source})"
    elif reliability is not None and np.isfinite(sample_sd) and sample_sd > 0:
        s_diff = rci(0.0, sd=sample_sd, reliability=reliability).s_diff
        rci_method = (f"sample (baseline SD {sample_sd:.4g} of {len(base)} baselines, "
                      f"r_xx {reliability:g} from {rel_source})")
    else:
        s_diff = float("nan")
        rci_method = ""
        rci_reason = ("no RCI: no SEM or reliability for this measure in the codebook; pass "
                      "sem= or reliability=" if reliability is None else
                      "no RCI: reliability given but no reference SD and fewer than 2 "
                      "baselines to estimate it; pass sd=")

    # threshold for the class
    if mcid is not None:
        threshold, thr_note = float(mcid), f"MCID {mcid:g} ({mcid_source})"
    elif mdc is not None:
        threshold, thr_note = float(mdc), f"no MCID: MDC {mdc:g} used ({mdc_source})"
    elif sd is None and np.isfinite(sample_sd) and not sample_sd > 1e-8 * max(
            1.0, float(np.nanmax(np.abs(base))) if len(base) else 1.0):
        # every baseline equal (up to rounding, judged relative to their size): half of a
        # zero SD would call every unchanged patient "improved"
        threshold, thr_note = float("nan"), ("no MCID or MDC, and every baseline value is the "
                                             "same (SD 0): no threshold to classify against")
    elif np.isfinite(sample_sd):
        threshold = 0.5 * (sd if sd is not None else sample_sd)
        thr_note = f"no MCID or MDC: half the {'reference' if sd else 'baseline'} SD " \
                   f"({threshold:.4g}) used"
    else:
        threshold, thr_note = float("nan"), "no MCID, MDC or SD to classify against"

    # visits stay in the change table's order (by `day` when the column is there)
    order = ["mkey", "side", "patient_id"] + (["day"] if "day" in data.columns else [])
    data = data.sort_values(order, kind="mergesort")
    change = data["change"].to_numpy(float)
    improvement = _improvement(change, data["value"].to_numpy(float),
                               data["baseline"].to_numpy(float), better, norm_mean)
    # Vectorised over the patients and visits (a loop over rows took seconds on thousands of
    # patients); each record gives three rows, interleaved as change, rci, mcid_class. Text
    # columns are codes into a short list of distinct texts, turned into one Arrow string
    # array at the end: building pandas' string columns from an object array per column took
    # most of this function's time at registry scale.
    n = len(data)
    nan = np.full(n, np.nan)
    finite = np.isfinite(change)
    text = _Texts()
    change_rows = {
        "analysis": text("change"), "estimate": change, "se": nan, "statistic": nan,
        "method": text("value - baseline"),
        "note": np.where(finite, text(""), text("change missing (value or baseline missing)")),
    }
    # RCI
    has_rci = finite & np.isfinite(s_diff)
    with np.errstate(invalid="ignore"):
        index = np.where(has_rci, change / s_diff, np.nan)
    reliable = f" (|RCI| > {RCI_CRITICAL} is reliable)"  # the verdict's note is verdict + this
    if improvement is None:
        directed = np.full(n, text(f"{RELIABLE_UNCLASSIFIED} (better = {better}){reliable}"))
    else:
        directed = np.where(improvement > 0, text(RELIABLE_IMPROVEMENT + reliable),
                            text(RELIABLE_DETERIORATION + reliable))
    verdict = np.where(np.abs(index) <= RCI_CRITICAL, text(NO_RELIABLE_CHANGE + reliable),
                       directed)
    rci_rows = {
        "analysis": text("rci"), "estimate": index, "se": np.where(has_rci, s_diff, np.nan),
        "statistic": index,
        "method": np.where(has_rci, text(f"Jacobson & Truax 1991 RCI = change / (sqrt(2) SEM), "
                                         f"S_diff {s_diff:.4g}; {rci_method}"),
                           text("Jacobson & Truax 1991 RCI")),
        "note": np.where(has_rci, verdict, text(rci_reason or "no RCI: change missing")),
    }
    # MCID class
    if improvement is None:
        mcid_rows = {
            "analysis": text("mcid_class"), "estimate": nan, "se": nan, "statistic": nan,
            "method": text("change against the MCID"),
            "note": text(f"not classified: better = {better!r}"
                         + (" needs norm_mean" if better == "towards_normal" else "")),
        }
    else:
        imp = improvement.astype(float)
        classified = np.isfinite(imp) & np.isfinite(threshold)
        with np.errstate(invalid="ignore"):
            cls = np.where(imp >= threshold - _TOL, 1.0,
                           np.where(imp <= -threshold + _TOL, -1.0, 0.0))
        words = np.where(cls == 1, text(f"improved; {thr_note}"),
                         np.where(cls == -1, text(f"worsened; {thr_note}"),
                                  text(f"unchanged; {thr_note}")))
        mcid_rows = {
            "analysis": text("mcid_class"), "estimate": np.where(classified, cls, np.nan),
            "se": nan, "statistic": nan,
            "method": np.where(classified, text("change against the MCID (better = "
                               f"{better}; at least the threshold in the better direction = "
                               "improved)"), text("change against the MCID")),
            "note": np.where(classified, words,
                             text(thr_note if not np.isfinite(threshold) else
                                  "not classified: change missing")),
        }
    columns: dict[str, Any] = {}
    parts = (change_rows, rci_rows, mcid_rows)
    for col in ("analysis", "estimate", "se", "statistic", "method", "note"):
        numeric = col in ("estimate", "se", "statistic")
        stacked = np.empty((n, 3), dtype=float if numeric else np.intp)
        for k, part in enumerate(parts):
            stacked[:, k] = part[col]
        columns[col] = stacked.ravel() if numeric else text.array(stacked.ravel())
    each = np.repeat(np.arange(n), 3)
    columns["measure"] = _strings(data["mkey"], keep_missing=True).take(each)
    columns["side"] = _strings(data["side"], keep_missing=True).take(each)
    columns["patient_id"] = _strings(data["patient_id"]).take(each)
    visit_codes, visits = pd.factorize(data["visit"], use_na_sentinel=False)
    columns["term"] = pd.array([f"{_plain(v)} - {reference}" for v in visits],
                               dtype="str").take(np.repeat(visit_codes, 3))
    columns["n_patients"] = 1.0
    columns["n_obs"] = 2.0
    return result_frame(pd.DataFrame(columns, index=pd.RangeIndex(3 * n)))


class _Texts:
    """Distinct texts, each given a code when first seen; :meth:`array` turns codes into a
    pandas string array (``f"{x}"`` per row without a Python object per row)."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}

    def __call__(self, value: str) -> int:
        return self._codes.setdefault(value, len(self._codes))

    def array(self, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
        return pd.array(list(self._codes), dtype="str").take(codes)


def _plain(value: Any) -> Any:
    """A value as ``Series.tolist()`` gives it (missing text is NaN there, pd.NA in arrays)."""
    return np.nan if value is pd.NA else value


def _strings(column: pd.Series, *, keep_missing: bool = False
             ) -> pd.api.extensions.ExtensionArray:
    """``str(x)`` of every value as a pandas string array, one conversion per distinct value;
    missing values as ``str(nan)``, or left missing with ``keep_missing``."""
    codes, distinct = pd.factorize(column, use_na_sentinel=False)
    texts = [None if keep_missing and pd.isna(v) else str(_plain(v)) for v in distinct]
    return pd.array(texts, dtype="str").take(codes)


def responders(
    class_table: pd.DataFrame,
    *,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Proportion of patients improved, by MCID and reliably by RCI, per measure and visit.

    Parameters
    ----------
    class_table : pandas.DataFrame
        Results rows from :func:`individual_change` (its ``mcid_class`` and ``rci`` rows
        are used; rows with an empty estimate are left out of the denominator).
    conf_level : float
        Level of the intervals.

    Returns
    -------
    pandas.DataFrame
        Results rows ``responder`` (Wilson interval; Clopper-Pearson in ``note``) and
        ``responder_cp`` (Clopper-Pearson interval), ``term`` ``mcid: <visit>`` or
        ``rci: <visit>``; ``statistic`` holds the number improved.

    Examples
    --------
    >>> ch = pd.DataFrame({"patient_id": ["P1", "P2", "P3"], "visit": "post_m6",
    ...     "measure": "tug", "value": [12.0, 20.5, 14.0], "baseline": [18.0, 20.0, 18.0],
    ...     "change": [-6.0, 0.5, -4.0]})
    >>> cls = individual_change(ch, better="lower", mcid=2.9, sem=1.0)
    >>> r = responders(cls)
    >>> r[["analysis", "term", "estimate"]].round(4)
           analysis           term  estimate
    0     responder  mcid: post_m6    0.6667
    1  responder_cp  mcid: post_m6    0.6667
    2     responder   rci: post_m6    0.6667
    3  responder_cp   rci: post_m6    0.6667
    """
    if not 0 < conf_level < 1:
        raise InvalidInputError(f"conf_level must be between 0 and 1, got {conf_level!r}.")
    needed = {"analysis", "measure", "side", "term", "estimate", "note"}
    if not needed <= set(class_table.columns):
        raise InvalidInputError(
            "responders needs the results rows of individual_change (columns "
            f"{sorted(needed)}); got columns {list(class_table.columns)}."
        )
    alpha = 1 - conf_level
    rows: list[dict[str, Any]] = []
    # Flags and codes of the whole columns, then the rows of interest as plain arrays: copying
    # those rows (and their long notes) cost more than the counting at registry scale.
    keep = class_table["analysis"].isin(["mcid_class", "rci"]).to_numpy()
    if not keep.any():
        return result_frame(rows)
    # the visit of each term ("post_m6 - baseline" -> "post_m6"), split once per distinct term
    term_codes, terms = pd.factorize(class_table["term"], use_na_sentinel=False)
    visit_codes, visit_names = pd.factorize(
        np.array([str(t).split(" - ")[0] for t in terms], dtype=object))
    measure_codes, measure_names = pd.factorize(class_table["measure"])
    side_codes, side_names = pd.factorize(class_table["side"])
    keep = keep & (measure_codes >= 0) & (side_codes >= 0)  # groupby leaves missing keys out
    # counts per measure, side and visit from per-row flags (no per-group row filtering)
    is_mcid = (class_table["analysis"] == "mcid_class").to_numpy()
    valid = class_table["estimate"].notna().to_numpy()
    one = (class_table["estimate"] == 1).to_numpy()
    improved = (class_table["note"].str.startswith(RELIABLE_IMPROVEMENT).fillna(False)
                .to_numpy(bool))
    counts = pd.DataFrame({
        "measure": measure_codes[keep], "side": side_codes[keep],
        "_visit": visit_codes[term_codes[keep]],
        "n_mcid_class": (is_mcid & valid)[keep],
        "k_mcid_class": (is_mcid & valid & one)[keep],
        "n_rci": (~is_mcid & valid)[keep],
        "k_rci": (~is_mcid & valid & improved)[keep],
    }).groupby(["measure", "side", "_visit"], sort=False).sum()
    counts.index = pd.MultiIndex.from_arrays([
        np.asarray(measure_names, dtype=object)[counts.index.get_level_values(0)],
        np.asarray(side_names, dtype=object)[counts.index.get_level_values(1)],
        np.asarray(visit_names, dtype=object)[counts.index.get_level_values(2)]])
    for (meas, side, visit), count in zip(counts.index, counts.to_dict("records"), strict=False):
        for kind, label in (("mcid_class", "mcid"), ("rci", "rci")):
            ids = {"measure": meas, "side": side, "term": f"{label}: {visit}"}
            if kind == "mcid_class":
                what = "improved by at least the MCID (or the threshold in mcid_class notes)"
            else:
                what = f"reliably improved (|RCI| > {RCI_CRITICAL} in the better direction)"
            k, n = int(count[f"k_{kind}"]), int(count[f"n_{kind}"])
            if n == 0:
                reason = "no classified patients (see the notes of the individual rows)"
                rows.append({**ids, "analysis": "responder", "n_patients": 0.0,
                             "n_obs": 0.0, "method": what, "note": reason})
                rows.append({**ids, "analysis": "responder_cp", "n_patients": 0.0,
                             "n_obs": 0.0, "method": what, "note": reason})
                continue
            w_lo, w_hi = wilson_interval(k, n, alpha=alpha)
            c_lo, c_hi = proportion_confint(k, n, alpha=alpha, method="beta")
            c_lo, c_hi = (0.0 if k == 0 else float(c_lo)), (1.0 if k == n else float(c_hi))
            common = {**ids, "estimate": k / n, "statistic": float(k),
                      "n_patients": float(n), "n_obs": float(n)}
            rows.append({**common, "analysis": "responder", "ci_low": float(w_lo),
                         "ci_high": float(w_hi),
                         "method": f"{what}; {k} of {n}; Wilson score interval "
                         "(statsmodels proportion_confint, method='wilson')",
                         "note": f"Clopper-Pearson {c_lo:.4f} to {c_hi:.4f}"})
            rows.append({**common, "analysis": "responder_cp", "ci_low": float(c_lo),
                         "ci_high": float(c_hi),
                         "method": f"{what}; {k} of {n}; Clopper-Pearson exact interval "
                         "(statsmodels proportion_confint, method='beta')", "note": ""})
    return result_frame(rows)
