"""Dose titration during the test infusion: outcome against dose, and the therapeutic window.

- :func:`dose_response`: per patient (and side), the OLS slope of the value on
  ``dose_ug_day`` over the test-infusion observations (closed form, vectorised over the
  patients), in the unit of the
  measure per ug/day, with its t interval. It treats repeated measurements of one patient as
  independent, and the dose is confounded with time on the infusion: read it as a description.
- :func:`dose_group_model`: ``value ~ dose_ug_day + (1 + dose_ug_day | patient_id)`` by REML
  (:func:`analysis.stats.lmm.fit_lmm`), fitted when at least 3 patients titrate (>= 2 doses each).
- :func:`therapeutic_window`: for each dose of a patient's titration, the mean change from
  baseline of the spasticity measures and of the strength measures (over the listed muscles,
  sides and observations at that dose); the window is the doses at which spasticity improves
  by at least its threshold (MCID or MDC, with its source) while strength falls by less than
  its MDC (analysis plan, section 6).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.data.derive import baseline_values
from analysis.errors import InvalidInputError, ITBError
from analysis.results import result_frame
from analysis.vocabulary import BaselineRule, Better, DfMethod

DOSE = "dose_ug_day"



def _require(obs: pd.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in obs]
    if missing:
        raise InvalidInputError(
            f"observations lack column(s) {missing}; dose analyses need tidy observations "
            "with patient_id, measure, value, phase and dose_ug_day (load them with "
            "analysis.data.validate.load_dataset).")


def _sides(obs: pd.DataFrame) -> pd.Series:
    return obs["side"].fillna("").astype(str) if "side" in obs else pd.Series("", obs.index)


def _judged_sides(changes: pd.DataFrame) -> pd.DataFrame:
    """The changes of each patient under the sides they are judged on: a sided row under its
    own side, an unsided row (a measure without sides) under every side of its patient (or
    under "" when the patient has no sided rows). A spastic leg and a normal one are judged
    apart: averaging them would hide the spastic leg's improvement.

    Examples
    --------
    >>> ch = pd.DataFrame({"patient_id": "P1", "side": ["L", "R", ""],
    ...                    "change": [-2.0, 0.0, 0.5]})
    >>> _judged_sides(ch)[["side", "change"]].values.tolist()
    [['L', -2.0], ['R', 0.0], ['L', 0.5], ['R', 0.5]]
    """
    sided = changes[changes["side"] != ""]
    unsided = changes[changes["side"] == ""]
    if sided.empty or unsided.empty:
        return changes
    sides = sided[["patient_id", "side"]].drop_duplicates()
    spread = unsided.drop(columns="side").merge(sides, on="patient_id", how="left")
    spread["side"] = spread["side"].fillna("")
    return pd.concat([sided, spread[changes.columns]], ignore_index=True)


# ------------------------------------------------------------------------ per-patient slope
def dose_response(obs: pd.DataFrame, *, phase: str = "test_infusion",
                  confidence: float = 0.95) -> pd.DataFrame:
    """OLS slope of the value on dose per patient, measure and side (``dose_slope`` rows).

    Parameters
    ----------
    obs : pandas.DataFrame
        Tidy observations (one or more patients and measures); only rows of ``phase`` with a
        value and a dose are used.
    phase : str
        The titration phase.
    confidence : float
        Level of the t interval.

    Returns
    -------
    pandas.DataFrame
        Results rows, analysis ``dose_slope``, term ``dose_ug_day``, one per patient, measure
        and side; ``estimate`` in the unit of the measure per ug/day, df = n - 2.

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": "P01", "measure": "mas_knee_ext", "side": "L",
    ...                     "phase": "test_infusion", "dose_ug_day": [25, 50, 75, 100],
    ...                     "value": [3, 2.5, 2.5, 1.5]})
    >>> r = dose_response(obs)
    >>> float(round(r.loc[0, "estimate"], 6)), float(r.loc[0, "df"])
    (-0.018, 2.0)
    """
    _require(obs, ("patient_id", "measure", "value", "phase", DOSE))
    work = obs[(obs["phase"] == phase)].copy()
    work["side"] = _sides(work)
    work = work[np.isfinite(work["value"].astype(float)) & np.isfinite(work[DOSE].astype(float))]
    method = (f"OLS slope of value on {DOSE} over the {phase} observations of one patient "
              "(closed form); unit of the measure per ug/day; t CI on n - 2 df; observations "
              "treated as independent and dose is confounded with time on the infusion")
    if work.empty:
        return result_frame([])
    fits = _simple_regressions(work, ["patient_id", "measure", "side"])
    n, n_doses = fits["n"].to_numpy(), fits["n_doses"].to_numpy()
    estimable = (n_doses >= 2) & (n >= 3)
    constant = estimable & (fits["value_range"].to_numpy() == 0)
    # the residual sum of squares of an exact line is rounding error only
    exact = estimable & ~constant & (fits["ssr"].to_numpy() <= 1e-24 * fits["syy"].to_numpy())
    tested = estimable & ~constant & ~exact
    slope, se, df = (fits[c].to_numpy() for c in ("slope", "se", "df"))
    tq = stats.t.ppf(0.5 + confidence / 2, np.where(tested, df, np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.where(tested, slope / se, np.nan)
    notes = [
        f"not estimable: needs >= 3 observations at >= 2 doses (got {k} at {d})" if not e
        else f"value constant ({v0:g}) over {d} doses: slope 0, no test (zero residual variance)"
        if c else "values lie exactly on a line: slope exact, no test (zero residual variance)"
        if x else f"{d} doses from {lo:g} to {hi:g} ug/day"
        for k, d, e, c, x, v0, lo, hi in zip(
            n, n_doses, estimable, constant, exact, fits["value_first"], fits["dose_min"],
            fits["dose_max"], strict=False)
    ]
    nan = np.full(len(fits), np.nan)
    rows = pd.DataFrame({
        "measure": fits["measure"].to_numpy(), "side": fits["side"].to_numpy(),
        "patient_id": fits["patient_id"].to_numpy(), "analysis": "dose_slope", "term": DOSE,
        "estimate": np.where(constant, 0.0, np.where(exact | tested, slope, nan)),
        "se": np.where(tested, se, nan), "df": np.where(tested, df, nan),
        "df_method": np.where(tested, "residual", ""),
        "statistic": statistic,
        "p_value": np.where(tested, 2 * stats.t.sf(np.abs(statistic), df), nan),
        "ci_low": np.where(tested, slope - tq * se, nan),
        "ci_high": np.where(tested, slope + tq * se, nan),
        "n_patients": 1.0, "n_obs": n.astype(float), "method": method, "note": notes,
    })
    return result_frame(rows)


def _simple_regressions(work: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Least-squares line of ``value`` on ``dose_ug_day`` within each group of ``keys``.

    Hand-written closed form (slope = Sxy / Sxx, SE = sqrt(SSR / (n - 2) / Sxx)) from grouped
    sums on centred data: one statsmodels fit per patient, measure and side took seconds on
    a few thousand patients. Returns one row per group (sorted by ``keys``) with ``n``,
    ``n_doses``, ``dose_min``, ``dose_max``, ``value_range``, ``value_first``, ``syy``,
    ``slope``, ``ssr``, ``se`` and ``df`` (n - 2); slope and SE are NaN where undefined.
    """
    x = work[DOSE].to_numpy(float)
    y = work["value"].to_numpy(float)
    frame = work[keys].assign(_x=x, _y=y)
    grouped = frame.groupby(keys, sort=True)
    dx = x - grouped["_x"].transform("mean").to_numpy()
    dy = y - grouped["_y"].transform("mean").to_numpy()
    frame = frame.assign(_xx=dx * dx, _xy=dx * dy, _yy=dy * dy)
    grouped = frame.groupby(keys, sort=True)
    fits = grouped.agg(n=("_x", "size"), n_doses=("_x", "nunique"), dose_min=("_x", "min"),
                       dose_max=("_x", "max"), value_min=("_y", "min"),
                       value_max=("_y", "max"), value_first=("_y", "first"),
                       sxx=("_xx", "sum"), sxy=("_xy", "sum"), syy=("_yy", "sum"))
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (fits["sxy"] / fits["sxx"]).where(fits["sxx"] > 0)
        per_row = slope.reindex(pd.MultiIndex.from_frame(frame[keys])).to_numpy()
        frame["_rr"] = (dy - per_row * dx) ** 2
        ssr = frame.groupby(keys, sort=True)["_rr"].sum(min_count=1)
        df = fits["n"] - 2.0
        se = np.sqrt(ssr / df.where(df > 0) / fits["sxx"])
    fits = fits.assign(value_range=fits["value_max"] - fits["value_min"], slope=slope,
                       ssr=ssr, se=se, df=df)
    return fits.reset_index()


# ------------------------------------------------------------------------------ group model
def dose_group_model(obs: pd.DataFrame, *, measure: str, side: str = "",
                     phase: str = "test_infusion", min_patients: int = 3,
                     df_method: DfMethod = "satterthwaite") -> pd.DataFrame:
    """Group dose-response: ``value ~ dose_ug_day + (1 + dose_ug_day | patient_id)`` (REML).

    Fitted with :func:`analysis.stats.lmm.fit_lmm_safe` when at least ``min_patients`` patients
    titrate (>= 2 distinct doses in ``phase``): a random-slope fit that fails, does not converge
    or is singular is refitted with a random intercept only, and the rows say so in ``note``. The fixed dose
    coefficient is returned as a ``dose_slope`` row (``patient_id`` empty); the model's other
    rows (intercept, variance components, fit) keep their ``lmm_*`` analyses, with terms
    prefixed ``dose model: `` (e.g. ``dose model: (Intercept)``).

    Parameters
    ----------
    obs : pandas.DataFrame
        Tidy observations.
    measure : str
        The measure to model.
    side : str
        The side to model ("" for totals); sided measures must be modelled one side at a time
        (or averaged over sides by the caller first).
    phase : str
        The titration phase.
    min_patients : int
        Fewer titrating patients give one ``dose_slope`` row with the reason in ``note``.
    df_method : {"satterthwaite", "kenward-roger"}
        Denominator df of the model's tests (``df_method`` column of every row).

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": "P01", "measure": "tug", "side": "",
    ...                     "phase": "test_infusion", "dose_ug_day": [25.0, 50.0],
    ...                     "value": [14.0, 12.0]})
    >>> dose_group_model(obs, measure="tug")["note"].iloc[0]
    'group model not fitted: 1 patient(s) titrate (>= 2 doses), it needs >= 3'
    """
    _require(obs, ("patient_id", "measure", "value", "phase", DOSE))
    work = obs[(obs["measure"] == measure) & (obs["phase"] == phase)].copy()
    work["side"] = _sides(work)
    work = work[(work["side"] == side) & work["value"].notna() & work[DOSE].notna()]
    titrating = work.groupby("patient_id")[DOSE].nunique()
    n_tit = int((titrating >= 2).sum())
    if n_tit < min_patients:
        return result_frame([{
            "measure": measure, "side": side, "analysis": "dose_slope", "term": DOSE,
            "n_patients": n_tit, "n_obs": len(work),
            "df_method": df_method,
            "method": "LMM value ~ dose_ug_day + (1 + dose_ug_day | patient_id), REML",
            "note": f"group model not fitted: {n_tit} patient(s) titrate (>= 2 doses), it "
                    f"needs >= {min_patients}"}])
    from analysis.stats.lmm import (
        fit_lmm_safe,  # imported here: not needed by one patient
    )

    # per row rather than isin() over the patients' IDs (pyarrow scalars one by one)
    data = work[(work.groupby("patient_id")[DOSE].transform("nunique") >= 2).to_numpy()]
    try:
        result = fit_lmm_safe(data, formula=f"value ~ {DOSE}", random=f"1 + {DOSE}",
                              reference=None, df_method=df_method)
    except ITBError as exc:
        return result_frame([{
            "measure": measure, "side": side, "analysis": "dose_slope", "term": DOSE,
            "n_patients": float(data["patient_id"].nunique()), "n_obs": float(len(data)),
            "df_method": df_method, "method": "group dose model value ~ dose + (1 + dose | "
            "patient) (analysis.stats.lmm)", "note": f"group model not fitted: {exc}"}])
    table = result.tidy(measure=measure, side=side).copy()
    table["df_method"] = df_method
    is_dose = (table["analysis"] == "lmm_fixed") & (table["term"] == DOSE)
    table.loc[is_dose, "analysis"] = "dose_slope"
    table.loc[is_dose, "method"] = (
        "group dose slope: " + table.loc[is_dose, "method"].astype(str))
    # The model's other rows share analysis names with the visit model of the same measure:
    # their terms say which model they belong to, so result keys stay unique.
    table.loc[~is_dose, "term"] = "dose model: " + table.loc[~is_dose, "term"].astype(str)
    return result_frame(table.to_dict("records"))


# ------------------------------------------------------------------------ therapeutic window
def _match(measures: pd.Series, patterns: Sequence[str]) -> pd.Series:
    # Matched once per distinct measure key, not once per row.
    codes, distinct = pd.factorize(measures)
    hit = np.array([any(fnmatch.fnmatchcase(m, p) for p in patterns) for m in distinct]
                   + [False], dtype=bool)  # [-1]: a missing measure matches nothing
    return pd.Series(hit[codes], index=measures.index)


def _improvement(change: pd.Series, better: str) -> pd.Series:
    return -change if better == "lower" else change


def therapeutic_window(
    obs: pd.DataFrame,
    *,
    spasticity_measures: Sequence[str],
    strength_measures: Sequence[str],
    spasticity_threshold: float,
    spasticity_threshold_source: str,
    strength_mdc: float,
    strength_mdc_source: str,
    spasticity_better: Better = "lower",
    strength_better: Better = "higher",
    baseline: BaselineRule = "last",
    baseline_phase: str = "baseline",
    phase: str = "test_infusion",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Doses of the titration at which spasticity improves while strength is kept.

    Parameters
    ----------
    obs : pandas.DataFrame
        Tidy observations (``patient_id``, ``visit``, ``measure``, ``value``, ``phase``,
        ``day``, ``dose_ug_day``, ``side``).
    spasticity_measures, strength_measures : sequence of str
        Measure keys or shell patterns (``"mas_*"``, ``"mrc_knee_*"``).
    spasticity_threshold : float
        Improvement required (MCID or MDC of the spasticity measure, e.g. 1 MAS grade).
    spasticity_threshold_source, strength_mdc_source : str
        Where the thresholds come from (printed in ``note``).
    strength_mdc : float
        Smallest detectable change of the strength measure; a fall of this size or more
        excludes a dose.
    spasticity_better, strength_better : {"lower", "higher"}
        Directions of improvement (MAS lower, MRC higher).
    baseline : {"last", "mean"}
        Baseline per measure and side (:func:`analysis.data.derive.baseline_values`).
    baseline_phase, phase : str
        Phases of the baseline and of the titration.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        (a) one row per patient, side and dose (``dose_ug_day`` > 0): ``patient_id``,
        ``dose_ug_day``, ``spasticity_change`` and ``strength_change`` (mean change from
        baseline over the listed measures and observations of that side at that dose, raw
        sign), ``spasticity_ok`` (improvement >= threshold), ``strength_ok`` (fall < MDC),
        ``in_window``, ``n_spasticity`` and ``n_strength`` (observations averaged), ``side``;
        (b) results rows ``therapeutic_window`` per patient and side: ``ci_low``/``ci_high``
        = lowest and highest dose in the window (not a confidence interval), ``estimate`` =
        the dose the titration settled at (dose of the last test-infusion observation).

        Each side is judged on its own (a measure without sides counts for every side): a
        spastic leg beside a normal one has its window, the normal leg none; the sides are
        never averaged.

    Examples
    --------
    >>> obs = pd.DataFrame({
    ...     "patient_id": "P01", "visit": ["bl", "bl", "t1", "t1", "t2", "t2"],
    ...     "phase": ["baseline"] * 2 + ["test_infusion"] * 4, "day": [-1, -1, 1, 1, 2, 2],
    ...     "dose_ug_day": [0, 0, 50, 50, 100, 100], "side": "L",
    ...     "measure": ["mas_knee_ext", "mrc_knee_ext"] * 3, "value": [3, 4, 2, 4, 1, 3]})
    >>> doses, rows = therapeutic_window(
    ...     obs, spasticity_measures=["mas_*"], strength_measures=["mrc_*"],
    ...     spasticity_threshold=1, spasticity_threshold_source="1 MAS grade",
    ...     strength_mdc=1, strength_mdc_source="assumed")
    >>> doses["in_window"].tolist()
    [True, False]
    >>> rows[["estimate", "ci_low", "ci_high"]].iloc[0].tolist()
    [100.0, 50.0, 50.0]
    """
    _require(obs, ("patient_id", "visit", "measure", "value", "phase", DOSE))
    for name, val in (("spasticity_better", spasticity_better),
                      ("strength_better", strength_better)):
        if val not in ("lower", "higher"):
            raise InvalidInputError(f"{name}={val!r}: use 'lower' or 'higher'.")
    for name, val in (("spasticity_threshold", spasticity_threshold),
                      ("strength_mdc", strength_mdc)):
        if not (np.isfinite(val) and val > 0):
            raise InvalidInputError(f"{name}={val!r} must be a positive number (with its source).")
    # the columns read here and by baseline_values() (every column of the observations was
    # copied, filtered and merged at registry scale)
    work = obs[[c for c in obs.columns if c in (
        "patient_id", "visit", "measure", "value", "phase", "day", DOSE, "side")]]
    work["side"] = _sides(work)
    is_sp = _match(work["measure"].astype(str), spasticity_measures)
    is_st = _match(work["measure"].astype(str), strength_measures)
    if not is_sp.any() or not is_st.any():
        raise InvalidInputError(
            f"no observations match spasticity_measures={list(spasticity_measures)} "
            f"({int(is_sp.sum())} rows) or strength_measures={list(strength_measures)} "
            f"({int(is_st.sum())} rows); give codebook keys or patterns such as 'mas_*'.")
    work["family"] = np.where(is_sp, "spasticity", np.where(is_st, "strength", ""))
    work = work[work["family"] != ""]
    bl = baseline_values(work, rule=baseline, baseline_phase=baseline_phase)
    keys = ["patient_id", "measure", "side"]
    tit = work[(work["phase"] == phase) & (work[DOSE] > 0) & work["value"].notna()]
    tit = tit.merge(bl[keys + ["baseline"]], on=keys, how="left")
    no_bl = tit["baseline"].isna()
    dropped = tit.loc[no_bl].groupby("patient_id").size()
    patients = sorted(tit["patient_id"].astype(str).unique())
    tit = tit.assign(change=tit["value"] - tit["baseline"])[~no_bl]
    tit = _judged_sides(tit)
    per = (tit.groupby(["patient_id", "side", DOSE, "family"])["change"].agg(["mean", "size"])
           .unstack("family"))
    table = pd.DataFrame({
        "spasticity_change": per.get(("mean", "spasticity"), np.nan),
        "strength_change": per.get(("mean", "strength"), np.nan),
        "n_spasticity": per.get(("size", "spasticity"), 0),
        "n_strength": per.get(("size", "strength"), 0),
    }, index=per.index).reset_index()
    eps = 1e-9  # float tolerance for "at least the threshold"
    table["spasticity_ok"] = (_improvement(table["spasticity_change"], spasticity_better)
                              >= spasticity_threshold - eps)
    fall = -_improvement(table["strength_change"], strength_better)
    table["strength_ok"] = fall < strength_mdc - eps
    table["in_window"] = table["spasticity_ok"] & table["strength_ok"]
    table = table.fillna({"n_spasticity": 0, "n_strength": 0}).astype(
        {"n_spasticity": "int64", "n_strength": "int64", DOSE: "float64"})
    table = table[["patient_id", DOSE, "spasticity_change", "strength_change", "spasticity_ok",
                   "strength_ok", "in_window", "n_spasticity", "n_strength", "side"]]
    table = table.sort_values(["patient_id", "side", DOSE], kind="mergesort").reset_index(drop=True)

    sp_list, st_list = ", ".join(spasticity_measures), ", ".join(strength_measures)
    method = (
        f"Therapeutic window: doses of the {phase} (dose > 0) at which the mean change from "
        f"baseline ({baseline} {baseline_phase} observation{'s' if baseline == 'mean' else ''}"
        f") over {sp_list} improves by >= {spasticity_threshold:g} and the mean "
        f"change over {st_list} falls by < {strength_mdc:g}, judged per side (a side's "
        "measures with the unsided ones; sides are never averaged); estimate = dose the titration "
        "settled at (last test-infusion observation); ci_low/ci_high = lowest/highest dose "
        "in the window (a range, not a confidence interval)")
    thresholds = (f"spasticity threshold {spasticity_threshold:g} ({spasticity_threshold_source}"
                  f"); strength MDC {strength_mdc:g} ({strength_mdc_source})")
    # Positions grouped once and plain arrays in the loop: filtering frames per patient made
    # this quadratic in the number of patients.
    positions = table.groupby(["patient_id", "side"], sort=False).indices
    sides_of = {pid: sorted({s for p, s in positions if p == pid}) or [""] for pid in patients}
    dose_col, in_window = table[DOSE].to_numpy(float), table["in_window"].to_numpy(bool)
    incomplete = ((table["n_spasticity"] == 0) | (table["n_strength"] == 0)).to_numpy()
    titrated = work[(work["phase"] == phase) & work[DOSE].notna()]
    if "day" in titrated:  # stable: observations on the same day keep their file order
        titrated = titrated.sort_values(["patient_id", "day"], kind="mergesort")
    settled_dose = titrated.groupby("patient_id", sort=False)[DOSE].last()
    rows = []
    for pid, side in ((p, s) for p in patients for s in sides_of[p]):
        at = positions.get((pid, side), np.array([], dtype=int))
        settled = float(settled_dose[pid]) if pid in settled_dose.index else np.nan
        all_doses, qualifies = dose_col[at], in_window[at]
        window = all_doses[qualifies]
        notes = []
        if window.size:
            notes.append("window doses " + ", ".join(f"{d:g}" for d in window) + " ug/day")
            inside = (all_doses >= window.min()) & (all_doses <= window.max())
            if not qualifies[inside].all():
                notes.append("window not contiguous: some doses between its limits do not "
                             "qualify")
            if np.isfinite(settled) and settled not in set(window):
                notes.append(f"settled dose {settled:g} is outside the window")
        else:
            notes.append("no dose qualifies: spasticity never improved by the threshold "
                         "while strength fell by less than its MDC")
        missing = all_doses[incomplete[at]]
        if missing.size:
            notes.append("doses without both families measured (cannot qualify): "
                         + ", ".join(f"{d:g}" for d in missing))
        n_nobl = int(dropped.get(pid, 0))
        if n_nobl:
            notes.append(f"{n_nobl} {phase} observation(s) without a baseline for their "
                         "measure and side dropped")
        notes.append(thresholds)
        notes.append("MAS and MRC are ordinal: the mean change is a summary, not an interval "
                     "measure")
        rows.append({
            "measure": "", "side": side, "patient_id": pid, "analysis": "therapeutic_window",
            "term": DOSE, "estimate": settled,
            "ci_low": window.min() if window.size else np.nan,
            "ci_high": window.max() if window.size else np.nan,
            "n_patients": 1, "n_obs": len(at), "method": method,
            "note": "; ".join(notes),
        })
    return table, result_frame(rows)
