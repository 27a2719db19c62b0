"""Simulated datasets analysed by the package's own functions (as simr does for lme4).

One *chunk* is a fixed number of simulated datasets of one scenario, drawn from one
:class:`numpy.random.SeedSequence`; :func:`simulate_chunk` returns per-test tallies that add up
over chunks (rejections, failed and singular fits, sums of estimates and interval half-widths).

Data-generating models
----------------------
- **case series**: ``y_ij = b_i + effect * [visit j is a follow-up] + e_ij``, ``b_i ~ N(0,
  sd_between^2)``, ``e_ij ~ N(0, sd_within^2)``; before each follow-up visit every patient still
  in the study drops out with probability ``dropout`` (monotone, missing completely at random).
  Analyses: :func:`analysis.stats.paired.paired_comparisons` on the patients with the tested
  visit (``paired_t``, ``wilcoxon`` = exact or conditional exact signed-rank p) and
  :func:`analysis.stats.lmm.fit_lmm_safe` (``value ~ visit + (1 | patient_id)``, REML,
  Satterthwaite df) on all observed rows, contrast of the tested visit against the reference,
  unadjusted p.
- **AB / titration**: days 1..nA+nB, ``y_t = trend * t + effect * r_t + e_t`` with ``r_t`` = 0
  in phase A and, in phase B, 1 (AB) or ``min(1, k / ramp_days)`` on the k-th B day
  (titration); ``e_t`` stationary AR(1) with SD ``sd`` and lag-1 correlation ``ar1``.
  Analyses: :func:`~analysis.stats.single_case.phase.nap` (Mann-Whitney p),
  :func:`~analysis.stats.single_case.phase.tau_u` (Kendall p, ``tau_variant``) and
  :func:`~analysis.stats.single_case.piecewise.piecewise` (``level change`` t test).

Two paths give the same numbers: the per-dataset path (``batched=False``, the reference: each
dataset through the functions above) and the default batched path, which draws every dataset
of a chunk exactly as the per-dataset path does (the same generator calls in the same order)
and analyses them together (:mod:`analysis.plan.batched`; statistics equal to 1e-8, datasets
it does not cover handed to the reference). Tables are therefore the same for any number of
workers, and the same datasets are simulated as before batching.

A test rejects when its two-sided p is below ``alpha / holm_family``: the first step of
Holm's procedure, so the power of one outcome in a Holm family of m outcomes is bounded
below by this (equal when the other outcomes have no effect). A fit that raises, does not
converge or gives no p counts as *failed* and as not rejecting.

Examples
--------
>>> import numpy as np
>>> from analysis.plan.design import parse_design
>>> d = parse_design({"n_sim": 20, "studies": [{"name": "s", "design": "ab",
...     "n_baseline": 5, "n_treatment": 5, "effect": 3, "tests": ["nap"]}]})
>>> t = simulate_chunk(d.scenarios[0], 20, np.random.SeedSequence(1))
>>> t["nap"]["n_sim"], 0 <= t["nap"]["rejections"] <= 20
(20, True)
"""

from __future__ import annotations

import contextlib
import functools
import logging
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ITBError
from analysis.plan.design import Scenario
from analysis.stats.lmm import fit_lmm_safe
from analysis.stats.paired import paired_comparisons
from analysis.stats.single_case.phase import nap, tau_u
from analysis.stats.single_case.piecewise import piecewise

#: Tally fields of one test in one chunk.
TALLY = ("n_sim", "rejections", "failed", "singular", "n_estimate", "sum_estimate",
         "n_half_width", "sum_half_width")


def _tally() -> dict:
    return {k: 0 if k in ("n_sim", "rejections", "failed", "singular", "n_estimate",
                          "n_half_width") else 0.0 for k in TALLY}


def _count(t: dict, *, p: float, threshold: float, estimate: float = np.nan,
           low: float = np.nan, high: float = np.nan, singular: bool = False) -> None:
    t["n_sim"] += 1
    if not np.isfinite(p):
        t["failed"] += 1
        return
    t["rejections"] += int(p < threshold)
    t["singular"] += int(singular)
    if np.isfinite(estimate):
        t["n_estimate"] += 1
        t["sum_estimate"] += float(estimate)
    if np.isfinite(low) and np.isfinite(high):
        t["n_half_width"] += 1
        t["sum_half_width"] += float(high - low) / 2


def case_series_draw(p: dict, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The draws of one simulated case series: values (n, k) and present (n, k), in the order
    :func:`case_series_data` has always made them (the batched path draws the same numbers)."""
    n, k = int(p["n"]), len(p["visits"])
    b = rng.normal(0.0, p["sd_between"], size=n)
    e = rng.normal(0.0, p["sd_within"], size=(n, k))
    y = b[:, None] + e + p["effect"] * (np.arange(k) > 0)[None, :]
    # monotone dropout: a patient lost before visit j misses j and every later visit
    lost = rng.random(size=(n, k - 1)) < p["dropout"]
    present = np.c_[np.ones(n, bool), np.cumsum(lost, axis=1) == 0]
    return y, present


def case_series_frame(p: dict, y: np.ndarray, present: np.ndarray) -> pd.DataFrame:
    """The long data frame (patient_id, visit, day, value) of drawn values, dropouts removed."""
    visits = list(p["visits"])
    n, k = y.shape
    ids = np.array([f"P{i + 1:04d}" for i in range(n)])
    frame = pd.DataFrame({"patient_id": np.repeat(ids, k), "visit": np.tile(visits, n),
                          "day": np.tile(np.arange(k, dtype=float), n), "value": y.ravel()})
    return frame[present.ravel()].reset_index(drop=True)


def case_series_data(p: dict, rng: np.random.Generator) -> pd.DataFrame:
    """One simulated case series (long: patient_id, visit, day, value), dropouts removed.

    Examples
    --------
    >>> p = {"n": 3, "visits": ["baseline", "m6"], "effect": 1.0, "sd_between": 1.0,
    ...      "sd_within": 0.5, "dropout": 0.0}
    >>> case_series_data(p, np.random.default_rng(1)).shape
    (6, 4)
    """
    return case_series_frame(p, *case_series_draw(p, rng))


#: A test's result on one dataset: (p, estimate, low, high, singular); p NaN = failed.
FAILED = (np.nan, np.nan, np.nan, np.nan, False)


def analyse_case_series(data: pd.DataFrame, p: dict, tests) -> dict:
    """The reference analyses of one simulated case series (the package's own functions).

    Returns
    -------
    dict
        test -> (p, estimate, low, high, singular) (:data:`FAILED` when it gives no p).
    """
    ref, visit = p["visits"][0], p["visit"]
    conf = 1 - p["alpha"]
    out = {}
    if "paired_t" in tests or "wilcoxon" in tests:
        wide = data.pivot(index="patient_id", columns="visit", values="value")
        pairs = wide[[ref, visit]].dropna() if visit in wide else wide.iloc[:0]
        changes = pd.DataFrame({"patient_id": pairs.index, "visit": visit,
                                "measure": "y", "side": "",
                                "value": pairs[visit].to_numpy(float) if len(pairs) else [],
                                "baseline": pairs[ref].to_numpy(float) if len(pairs) else []})
        rows = (paired_comparisons(changes, reference=ref, confidence=conf)
                .set_index("analysis") if len(pairs) else pd.DataFrame())
        for test in ("paired_t", "wilcoxon"):
            if test not in tests:
                continue
            r = rows.loc[test] if test in rows.index else None
            pval = float(r["p_value"]) if r is not None else np.nan
            if test == "paired_t" and r is not None:
                out[test] = (pval, float(r["estimate"]), float(r["ci_low"]),
                             float(r["ci_high"]), False)
            else:
                out[test] = (pval, np.nan, np.nan, np.nan, False)
    if "lmm" in tests:
        result = FAILED
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = fit_lmm_safe(data, formula="value ~ visit", reference=ref)
            if res.converged:
                con = res.contrasts().set_index("term").loc[f"{visit} - {ref}"]
                pval, est = float(con["p_value"]), float(con["estimate"])
                half = float(con["se"]) * _t_quantile(float(con["df"]), conf)
                result = (pval, est, est - half, est + half, bool(res.singular))
        except (ITBError, np.linalg.LinAlgError, KeyError, ValueError):
            pass
        out["lmm"] = result
    return out


def _tally_results(tests, results: list[dict], thr: float) -> dict:
    out = {t: _tally() for t in tests}
    for res in results:  # dataset order: the float sums are the per-dataset path's
        for t in tests:
            pval, est, lo, hi, sing = res[t]
            _count(out[t], p=pval, threshold=thr, estimate=est, low=lo, high=hi,
                   singular=sing)
    return out


def _case_series(p: dict, n_sim: int, rng: np.random.Generator, batched: bool = True) -> dict:
    tests = p["tests"]
    thr = p["alpha"] / p["holm_family"]
    draws = [case_series_draw(p, rng) for _ in range(n_sim)]
    if not batched:
        results = [analyse_case_series(case_series_frame(p, y, pr), p, tests)
                   for y, pr in draws]
        return _tally_results(tests, results, thr)
    return _tally_results(tests, batched_case_series(p, draws), thr)


def batched_case_series(p: dict, draws: list[tuple[np.ndarray, np.ndarray]]) -> list[dict]:
    """Results of every dataset of a chunk (as :func:`analyse_case_series`), computed
    together (:mod:`analysis.plan.batched`); datasets it does not cover go to the reference."""
    from analysis.plan.batched import sub_batches

    n, k = draws[0][0].shape if draws else (0, 0)
    results: list[dict] = []
    for part in sub_batches(len(draws), 8.0 * n * (k + 1)):  # bounded memory
        results += _batched_case_series(p, draws[part])
    return results


def _batched_case_series(p: dict, draws: list[tuple[np.ndarray, np.ndarray]]) -> list[dict]:
    from analysis.plan.batched import lmm_contrast, paired_tests

    tests = p["tests"]
    visits = list(p["visits"])
    j = visits.index(p["visit"])
    conf = 1 - p["alpha"]
    y = np.stack([d[0] for d in draws])
    present = np.stack([d[1] for d in draws])
    B = len(draws)
    results: list[dict] = [{} for _ in range(B)]
    missing: dict[int, list[str]] = {}
    if "paired_t" in tests or "wilcoxon" in tests:
        keep = present[:, :, j]  # baseline is always present
        base = np.where(keep, y[:, :, 0], np.nan)
        follow = np.where(keep, y[:, :, j], np.nan)
        got = paired_tests(base, follow, conf=conf, want_t="paired_t" in tests,
                           want_w="wilcoxon" in tests)
        for i in range(B):
            if "paired_t" in got:
                pv, est, lo, hi, cov = (a[i] for a in got["paired_t"])
                if cov:
                    results[i]["paired_t"] = (float(pv), float(est), float(lo), float(hi), False)
                else:
                    missing.setdefault(i, []).append("paired_t")
            if "wilcoxon" in got:
                pv, cov = got["wilcoxon"][0][i], got["wilcoxon"][1][i]
                if cov:
                    results[i]["wilcoxon"] = (float(pv), np.nan, np.nan, np.nan, False)
                else:
                    missing.setdefault(i, []).append("wilcoxon")
    if "lmm" in tests:
        fit = lmm_contrast(y, present, j, conf=conf)
        for i in range(B):
            if fit["covered"][i]:
                results[i]["lmm"] = (float(fit["p"][i]), float(fit["estimate"][i]),
                                     float(fit["low"][i]), float(fit["high"][i]),
                                     bool(fit["singular"][i]))
            else:
                missing.setdefault(i, []).append("lmm")
    for i, todo in missing.items():  # the reference for what the batched path does not cover
        results[i].update(analyse_case_series(case_series_frame(p, *draws[i]), p, todo))
    return results


def _t_quantile(df: float, conf: float) -> float:
    """t quantile of a two-sided ``conf`` interval (the contrasts table gives 95% limits)."""
    if not np.isfinite(df) or df <= 0:
        return np.nan
    return float(stats.t.ppf(0.5 + conf / 2, df))


def single_case_series(p: dict, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray,
                                                                     np.ndarray]:
    """(days, values, phase) of one simulated AB or titration series.

    Examples
    --------
    >>> p = {"n_baseline": 3, "n_treatment": 4, "effect": 10.0, "sd": 1e-9, "ar1": 0.0,
    ...      "trend": 0.0, "ramp_days": 2}
    >>> (np.round(single_case_series(p, np.random.default_rng(0))[1], 3) + 0.0).tolist()
    [0.0, 0.0, 0.0, 5.0, 10.0, 10.0, 10.0]
    """
    na, nb = int(p["n_baseline"]), int(p["n_treatment"])
    days = np.arange(1, na + nb + 1, dtype=float)
    phase = (days > na).astype(float)
    k = np.clip(days - na, 0, None)
    ramp = int(p.get("ramp_days", 0) or 0)
    response = phase if ramp <= 0 else np.minimum(1.0, k / ramp)
    phi, sd = float(p["ar1"]), float(p["sd"])
    z = rng.normal(size=days.size)
    e = np.empty(days.size)
    e[0] = sd * z[0]
    scale = sd * np.sqrt(1.0 - phi ** 2)
    for t in range(1, days.size):  # stationary AR(1): every e_t has SD sd
        e[t] = phi * e[t - 1] + scale * z[t]
    y = p["trend"] * days + p["effect"] * response + e
    return days, y, phase


def analyse_single_case(days: np.ndarray, y: np.ndarray, phase: np.ndarray, p: dict,
                        tests) -> dict:
    """The reference analyses of one AB or titration series (the package's own functions).

    Returns
    -------
    dict
        test -> (p, estimate, low, high, singular=False).
    """
    conf = 1 - p["alpha"]
    a, b = y[phase == 0], y[phase == 1]
    out = {}
    if "nap" in tests:
        r = nap(a, b, confidence=conf)
        out["nap"] = (r.p_value, r.estimate, r.ci_low, r.ci_high, False)
    if "tau_u" in tests:
        r = tau_u(a, b, variant=p["tau_variant"], confidence=conf)
        out["tau_u"] = (r.p_value, r.estimate, r.ci_low, r.ci_high, False)
    if "piecewise" in tests:
        rows = piecewise(days, y, phase, confidence=conf).set_index("term")
        r = rows.loc["level change"]
        out["piecewise"] = (float(r["p_value"]), float(r["estimate"]), float(r["ci_low"]),
                            float(r["ci_high"]), False)
    return out


def batched_single_case(p: dict, days: np.ndarray, Y: np.ndarray, phase: np.ndarray
                        ) -> list[dict]:
    """Results of every series of a chunk (rows of ``Y``), as :func:`analyse_single_case`
    gives them (:mod:`analysis.plan.batched`); rows it does not cover go to the reference."""
    from analysis.plan.batched import piecewise_level_change, rank_results, sub_batches

    parts = sub_batches(len(Y), 8.0 * Y.shape[1])
    if len(parts) > 1:  # bounded memory
        return [r for part in parts for r in batched_single_case(p, days, Y[part], phase)]
    tests = p["tests"]
    conf = 1 - p["alpha"]
    a, b = Y[:, phase == 0], Y[:, phase == 1]
    results: list[dict] = [{} for _ in range(len(Y))]
    missing: dict[int, list[str]] = {}
    for test in ("nap", "tau_u"):
        if test not in tests:
            continue
        variant = p["tau_variant"] if test == "tau_u" else ""
        reference = (functools.partial(nap, confidence=conf) if test == "nap" else
                     functools.partial(tau_u, variant=variant, confidence=conf))
        for i, r in enumerate(rank_results(test, variant, a, b, conf, reference)):
            if r is None:
                missing.setdefault(i, []).append(test)
            else:
                results[i][test] = (*r, False)
    if "piecewise" in tests:
        fit = piecewise_level_change(days, Y, phase, conf=conf)
        for i in range(len(Y)):
            if fit is not None and fit["covered"][i]:
                results[i]["piecewise"] = (float(fit["p"][i]), float(fit["estimate"][i]),
                                           float(fit["low"][i]), float(fit["high"][i]), False)
            else:
                missing.setdefault(i, []).append("piecewise")
    for i, todo in missing.items():
        results[i].update(analyse_single_case(days, Y[i], phase, p, todo))
    return results


def _single_case(p: dict, n_sim: int, rng: np.random.Generator, batched: bool = True) -> dict:
    tests = p["tests"]
    thr = p["alpha"] / p["holm_family"]
    series = [single_case_series(p, rng) for _ in range(n_sim)]
    if not series:
        return _tally_results(tests, [], thr)
    days, phase = series[0][0], series[0][2]
    if not batched:
        results = [analyse_single_case(d, y, ph, p, tests) for d, y, ph in series]
    else:
        results = batched_single_case(p, days, np.stack([s[1] for s in series]), phase)
    return _tally_results(tests, results, thr)


def simulate_chunk(scenario: Scenario, n_sim: int, seed: np.random.SeedSequence, *,
                   batched: bool = True) -> dict:
    """Simulate and analyse ``n_sim`` datasets of one scenario.

    Parameters
    ----------
    scenario : Scenario
        A case-series, AB or titration scenario (controls are closed form).
    n_sim : int
        Datasets in this chunk.
    seed : numpy.random.SeedSequence
        The chunk's seed (spawned from the scenario's).
    batched : bool
        Analyse the chunk's datasets together (:mod:`analysis.plan.batched`; the same
        simulated datasets, statistics equal to 1e-8) rather than one by one with the
        analysis's functions (the reference path).

    Returns
    -------
    dict
        test -> tally (keys :data:`TALLY`).
    """
    rng = np.random.default_rng(seed)
    if scenario.design not in ("case_series", "ab", "titration"):
        raise ITBError(f"scenario {scenario.key}: design {scenario.design!r} is not simulated")
    with _quiet(logging.getLogger("analysis.stats.lmm.model")):  # fallbacks are tallied
        if scenario.design == "case_series":
            return _case_series(scenario.params, n_sim, rng, batched)
        return _single_case(scenario.params, n_sim, rng, batched)


@contextlib.contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """``logger`` shows errors only inside the block, and its own level again after it (the
    caller's logging, e.g. a test's, is left as it was).

    Examples
    --------
    >>> log = logging.getLogger("analysis.example")
    >>> with _quiet(log):
    ...     log.level == logging.ERROR
    True
    >>> log.level == logging.NOTSET
    True
    """
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
