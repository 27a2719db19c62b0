"""The analysis pipeline: validated data -> change table -> every applicable analysis -> one
results table and its manifest.

Which analyses run depends on what the data allow:

============================  ====================================================
descriptives, missing data    always
individual change, responders  every patient with a baseline
paired comparisons            >= 2 patients with a baseline and a follow-up
mixed model over visits       >= 4 patients (a warning in ``note`` below 6)
ordinal mixed model (CLMM)    ordinal measures, >= 4 patients and >= 2 visits
single-case set               exactly one patient: phase analysis (>= 3 points per
                              phase), one patient against controls (when the
                              configuration or the codebook gives normative data)
dose titration                per patient: >= 3 test-infusion observations at >= 2
                              doses; the group dose model when >= 3 patients titrate
therapeutic window            patients with spasticity and strength measures
============================  ====================================================

The one-patient set is wired in :mod:`analysis.run.single_case`. Reports call
:func:`run_analysis`, which caches the computed tables (:mod:`analysis.run.cache`, Parquet and
JSON keyed by the hashes of the inputs, configuration, versions and source), so that the
``itb`` process and the document kernels run the analysis once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shlex
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from analysis.data import derive
from analysis.data.codebook import Codebook, Measure, load_codebook
from analysis.data.config import (
    StudyConfig,
    check_config,
    load_config,
    resolve_reference_visit,
)
from analysis.data.inputs import check_dataset
from analysis.data.validate import load_dataset
from analysis.errors import ITBError
from analysis.gait.results import dataset_gait_results, gait_input_files
from analysis.results import combine, concat_results, order_rows, result_frame
from analysis.run import cache
from analysis.run.manifest import build_manifest
from analysis.stats import descriptives, dose, paired
from analysis.stats import individual_change as individual
from analysis.stats.lmm import fit_lmm_safe
from analysis.stats.multiplicity import holm
from analysis.stats.numerics import capture_warnings, noted
from analysis.stats.ordinal import fit_clmm

#: Analyses whose p-values are Holm-adjusted across the measures of a declared family.
FAMILY_ANALYSES = ("paired_t", "wilcoxon", "wilcoxon_normal")
MIN_LMM_PATIENTS = 4
WARN_LMM_PATIENTS = 6
MIN_GROUP_DOSE_PATIENTS = 3


@dataclass(frozen=True)
class AnalysisRun:
    """Everything a report needs from one analysis run.

    Attributes
    ----------
    observations, patients : DataFrame
        The validated tidy data (see :mod:`analysis.data.validate`).
    changes : DataFrame
        Change table (:func:`analysis.data.derive.change_table`).
    results : DataFrame
        The results table (:mod:`analysis.results`).
    window : DataFrame
        Therapeutic-window table per patient and dose (:func:`analysis.stats.dose.therapeutic_window`).
    config : StudyConfig
    manifest : dict
        Inputs with SHA-256, configuration, seed, versions, git state and every number.
    notes : tuple of str
        What validation accepted and changed (converted units, matched column names...).
    """

    observations: pd.DataFrame
    patients: pd.DataFrame
    changes: pd.DataFrame
    results: pd.DataFrame
    window: pd.DataFrame
    config: StudyConfig
    manifest: dict[str, Any]
    codebook: Codebook
    notes: tuple[str, ...] = field(default=())

    def tidy(self) -> pd.DataFrame:
        """The results table (the rows of ``results.csv``)."""
        return self.results


def run_analysis(
    data: str | Path,
    *,
    config: str | Path | None = None,
    codebook: str | Path | None = None,
    df_method: str | None = None,
    cache_dir: str | Path | None = "default",
    progress: bool = False,
    follow_links: bool = False,
    mapping: str | Path | None = None,
    redcap_dictionary: str | Path | None = None,
    relax: tuple[str, ...] = (),
) -> AnalysisRun:
    """Validate a dataset, run every applicable analysis, and return the results.

    Parameters
    ----------
    data : path
        A data file, or a dataset directory (``observations.*``, optional ``patients.csv`` and
        ``study.yaml``).
    config : path, optional
        Study configuration YAML; by default ``study.yaml`` in the dataset directory, else the
        defaults of :class:`analysis.data.config.StudyConfig`.
    codebook : path, optional
        The user's own codebook YAML, added to the built-in one.
    df_method : {"satterthwaite", "kenward-roger"}, optional
        Overrides the configuration's denominator-df method.
    cache_dir : path, "default" or None
        Where the computed tables are cached (:mod:`analysis.run.cache`: Parquet and JSON,
        checksummed, keyed by inputs, configuration, versions and source); ``"default"`` is
        ``$ITB_CACHE_DIR``, else the user's cache directory (off when ``$ITB_NO_CACHE=1``);
        ``None`` disables the cache.
    progress : bool
        Show a progress bar over the measures.
    follow_links : bool
        Follow symbolic links that lead out of the dataset folder (or, for ``data`` or
        ``config`` given as a file, out of the folder holding it); refused by default, before
        anything is read (:mod:`analysis.data.inputs`). Recorded in the manifest.

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> run = run_analysis(EXAMPLES / "case_report", cache_dir=None)
    >>> window = run.results.query("analysis == 'therapeutic_window'")  # per side
    >>> [(r.side, float(r.ci_low), float(r.ci_high)) for r in window.itertuples()]
    [('L', 90.0, 108.0), ('R', 100.0, 108.0)]
    """
    # Arrow's default pool (mimalloc) keeps the pages freed after reading and validating, so
    # the analysis that follows cannot reuse them: the system allocator for this run lowers
    # the peak memory at registry scale (about 50 MB of 700 at 2,000 patients). Buffers go
    # back to the pool that made them, so restoring the previous default is safe.
    previous_pool = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        return _run_analysis(data, config=config, codebook=codebook, df_method=df_method,
                             cache_dir=cache_dir, progress=progress, follow_links=follow_links,
                             mapping=mapping, redcap_dictionary=redcap_dictionary,
                             relax=tuple(relax))
    finally:
        pa.set_memory_pool(previous_pool)


def _run_analysis(data: str | Path, *, config: str | Path | None,
                  codebook: str | Path | None, df_method: str | None,
                  cache_dir: str | Path | None, progress: bool,
                  follow_links: bool, mapping: str | Path | None = None,
                  redcap_dictionary: str | Path | None = None,
                  relax: tuple[str, ...] = ()) -> AnalysisRun:
    data = Path(data)
    check_dataset(data, extra=[config] if config is not None else [], follow_links=follow_links)
    config_path = Path(config) if config is not None else _default_config(data)
    codebook_path = Path(codebook) if codebook is not None else None
    cfg = load_config(config_path).with_df_method(df_method)
    if config_path is not None:  # recorded relative to the working directory, as the inputs are
        cfg = dataclasses.replace(cfg, source=_relative(config_path))
    book = load_codebook(extra=codebook_path)
    dataset = load_dataset(data, codebook=book, follow_links=follow_links, mapping=mapping,
                           redcap_dictionary=redcap_dictionary, relax=relax)
    check_config(cfg, book, dataset.observations)
    cfg = resolve_reference_visit(cfg, dataset.observations)
    # motion-lab gait: C3D trials in a gait/ folder beside the data (analysis.gait.results)
    gait_dir = (data if data.is_dir() else data.parent) / "gait"
    gait_inputs = gait_input_files(gait_dir, dataset.observations["patient_id"].unique(),
                                   follow_links=follow_links)
    inputs = sorted({*map(Path, dataset.report.files), *(p for p in (config_path, codebook_path) if p),
                     *gait_inputs})

    results, window, changes = _cached_analysis(
        dataset.observations, inputs=inputs, codebook=book, config=cfg, cache_dir=cache_dir,
        progress=progress, gait_dir=gait_dir if gait_inputs else None, follow_links=follow_links)
    patients = dataset.patients if dataset.patients is not None else pd.DataFrame({"patient_id": []})
    run_spec = {
        "data": _relative(data),
        "config": None if config_path is None else _relative(config_path),
        "codebook": None if codebook_path is None else _relative(codebook_path),
        "df_method": cfg.df_method,
        **({"follow_links": True} if follow_links else {}),
        **({"mapping": _relative(Path(mapping))} if mapping is not None else {}),
        **({"redcap_dictionary": _relative(Path(redcap_dictionary))}
           if redcap_dictionary is not None else {}),
        **({"relax": sorted(relax)} if relax else {}),
    }
    command = "itb analyze " + " ".join(
        shlex.quote(x) for x in [run_spec["data"]]
        + (["--config", run_spec["config"]] if run_spec["config"] else [])
        + (["--codebook", run_spec["codebook"]] if run_spec["codebook"] else [])
        + ["--df-method", cfg.df_method]
        + (["--follow-links"] if follow_links else [])
        + (["--mapping", run_spec["mapping"]] if "mapping" in run_spec else [])
        + (["--redcap-dictionary", run_spec["redcap_dictionary"]]
           if "redcap_dictionary" in run_spec else [])
        + [x for check in run_spec.get("relax", []) for x in ("--relax", check)]
    )
    manifest = build_manifest(results, inputs=inputs, config=cfg.to_dict(), seed=cfg.seed,
                              command=command, root=Path.cwd())
    manifest["run"] = run_spec
    if dataset.report.mapping is not None:  # what each column was read as
        manifest["mapping"] = dataset.report.mapping
    return AnalysisRun(
        observations=dataset.observations, patients=patients, changes=changes,
        results=results, window=window, config=cfg, manifest=manifest, codebook=book,
        notes=tuple(str(p) for p in dataset.report.problems),
    )


def analyze(
    obs: pd.DataFrame,
    *,
    codebook: Codebook,
    config: StudyConfig,
    progress: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run every applicable analysis on validated observations (no I/O).

    Returns
    -------
    results : DataFrame
        The results table. The configuration is checked against the codebook and the data
        and its reference visit resolved here when the caller has not done so.
    window : DataFrame
        The therapeutic-window table (empty when no patient titrated).
    changes : DataFrame
        The change table.

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> from analysis.data.validate import load_dataset
    >>> ds = load_dataset(EXAMPLES / "case_report")
    >>> results, window, changes = analyze(ds.observations, codebook=ds.codebook,
    ...                                    config=StudyConfig(reference_visit="bl_d5"))
    >>> sorted({"nap", "tau_u", "paired_t"} & set(results["analysis"]))  # one patient
    ['nap', 'tau_u']
    """
    if config.reference_visit is None or not config.reference_visit_reason:
        check_config(config, codebook, obs)
        config = resolve_reference_visit(config, obs)
    # One BLAS thread: the models multiply small blocks, and OpenBLAS's extra threads only
    # spin-wait between such calls (about 2x the CPU time of the mixed-model fits on 2 cores).
    # The products are the same dot products in the same order: results are bit-identical.
    with threadpool_limits(limits=1, user_api="blas"):
        return _analyze(obs, codebook=codebook, config=config, progress=progress)


def _analyze(obs: pd.DataFrame, *, codebook: Codebook, config: StudyConfig,
             progress: bool) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    if config.measures:
        obs = obs[obs["measure"].isin(config.measures)]
    changes = derive.change_table(
        obs, better=lambda key: codebook.measure(key).better, rule=config.baseline,
        baseline_phase=config.baseline_phase, reference=config.reference_visit,
    )
    n_patients = obs["patient_id"].nunique()
    groups = list(obs.groupby(["measure", "side"], sort=True))
    # the rows of each measure and side in the change table, found in one pass (a mask over
    # the whole table per measure is quadratic in measures); positions ascending, as a mask
    change_rows = changes.groupby(["measure", "side"], sort=False).indices
    frames: list[pd.DataFrame] = []
    for (key, side), obs_m in tqdm(groups, desc="measures", disable=not progress, leave=False):
        measure = codebook.measure(key)
        ch_m = changes.iloc[change_rows.get((key, side), np.arange(0))]
        frames += _measure_results(obs_m, ch_m, measure, config, n_patients)
    # only the columns responders() reads, of the tables that hold its rows (which it picks
    # itself): selecting columns copies nothing, and a copy of the individual rows (their
    # long notes) cost more than the counting at registry scale
    classified = [f[_RESPONDER_COLUMNS] for f in frames
                  if len(f) and f["analysis"].isin(["rci", "mcid_class"]).any()]
    if classified:
        frames.append(individual.responders(pd.concat(classified, ignore_index=True)))
    # freed before the table is built: the responders' inputs and the per-measure copies
    del classified
    groups.clear()
    # a bolus is an amount in ug given once, not a daily rate: the dose-response and the
    # therapeutic window read continuous doses only
    dosing = (obs[obs["administration"].ne("bolus").to_numpy()] if "administration" in obs
              else obs)
    window, window_rows = therapeutic_window_rows(dosing, codebook, config)
    frames.append(window_rows)
    if n_patients == 1:
        from analysis.run import single_case as single_patient  # one patient only: lazy
        frames += [single_patient.dissociation_results(obs, d, codebook, config)
                   for d in config.dissociations]
    frames.append(_ordinal_dose_note(dose.dose_response(dosing, phase=config.treatment_phase),
                                     codebook))
    frames += [_ordinal_dose_note(f, codebook) for f in _group_dose(dosing, config)]
    # combine() by hand, so that the pieces are freed before the table is sorted in place: at
    # registry scale each copy of the table is about 110 MB
    results = concat_results(frames)
    del frames
    order_rows(results)
    return _adjust_families(results, config), window, changes


_RESPONDER_COLUMNS = ["measure", "side", "term", "analysis", "estimate", "note"]


def _measure_results(obs_m: pd.DataFrame, ch_m: pd.DataFrame, measure: Measure,
                     config: StudyConfig, n_patients: int) -> list[pd.DataFrame]:
    """Every per-measure analysis the data allow, for one measure and side.

    Warnings raised by numpy, scipy or an optimiser inside an analysis are captured into the
    ``note`` of that analysis's rows (never printed); an analysis the plan calls for but the
    data do not allow (the mixed model below 4 patients) gets a row saying why.
    """
    def guarded(run, *args, **kwargs):
        with capture_warnings() as caught:
            out = run(*args, **kwargs)
        if isinstance(out, list):
            return [noted(f, caught) for f in out]
        return [noted(out, caught)]

    n_m = obs_m["patient_id"].nunique()
    frames = guarded(descriptives.describe, obs_m) + guarded(descriptives.missing_table, obs_m)
    if not ch_m.empty:
        frames += guarded(individual.individual_change, ch_m, measure=measure,
                          reference=config.reference_visit)
    if n_m >= 2 and not ch_m.empty:
        frames += guarded(
            paired.paired_comparisons,
            ch_m, kind=measure.kind, levels=measure.levels, codes=measure.codes,
            reference=config.reference_visit,
            bootstrap=config.bootstrap, n_boot=config.n_boot, seed=config.seed,
        )
    if n_m >= MIN_LMM_PATIENTS:
        frames += guarded(_visit_model, obs_m, measure, config)
    elif obs_m["visit"].nunique() >= 2:
        frames.append(result_frame([{
            "measure": measure.key, "side": obs_m["side"].iloc[0], "analysis": "lmm_fit",
            "term": "value ~ visit", "n_patients": n_m, "n_obs": len(obs_m),
            "method": "LMM REML value ~ visit + (1 | patient_id) (analysis.stats.lmm)",
            "note": f"model not fitted: {n_m} patient(s); the mixed model over visits needs "
                    f">= {MIN_LMM_PATIENTS} (analysis plan)"
                    + ("; see the single-case analyses" if n_m == 1 else
                       "; see the paired comparisons"),
        }]))
    if measure.kind == "ordinal" and n_m >= MIN_LMM_PATIENTS and obs_m["visit"].nunique() >= 2:
        frames += guarded(_ordinal_model, obs_m, measure, config)
    if n_patients == 1:
        from analysis.run import single_case as single_patient  # one patient only: lazy
        frames += guarded(single_patient.single_case_results, obs_m, ch_m, measure, config)
    return frames


#: The note of a linear mixed model that study.yaml asked for on an ordinal measure.
ASKED_LINEAR_NOTE = ("linear mixed model on grade codes, as requested in study.yaml "
                     "(lmm.ordinal); grades are not distances")


def _ordinal_model(obs_m: pd.DataFrame, measure: Measure, config: StudyConfig) -> pd.DataFrame:
    """Cumulative link mixed model ``value ~ visit + (1 | patient)``, logit link, Laplace."""
    side = obs_m["side"].iloc[0]
    n = obs_m["patient_id"].nunique()
    try:
        fit = fit_clmm(obs_m, levels=measure.levels, codes=measure.codes,
                       formula="value ~ visit", reference=config.reference_visit)
        rows = fit.tidy(measure=measure.key, side=side)
    except ITBError as exc:
        return result_frame([{
            "measure": measure.key, "side": side, "analysis": "clmm_fit", "term": "logLik",
            "n_patients": n, "n_obs": len(obs_m),
            "method": "CLMM value ~ visit + (1 | patient_id), logit link, Laplace "
                      "(analysis.stats.ordinal)",
            "note": f"model not fitted: {exc}",
        }])
    if n < WARN_LMM_PATIENTS:
        warning = (f"only {n} patients: mixed-model inference is fragile below "
                   f"{WARN_LMM_PATIENTS}")
        rows["note"] = [f"{warning}; {x}" if x else warning for x in rows["note"]]
    return rows


def _visit_model(obs_m: pd.DataFrame, measure: Measure, config: StudyConfig) -> pd.DataFrame:
    """``value ~ visit + (1 | patient)`` (random slope over day as an option)."""
    side = obs_m["side"].iloc[0]
    n = obs_m["patient_id"].nunique()
    try:
        fit = fit_lmm_safe(
            obs_m, formula="value ~ visit", random="1 + day" if config.random_slope else "1",
            reference=config.reference_visit, df_method=config.df_method,
            covariates=config.covariates,
        )
        rows = fit.tidy(measure=measure.key, side=side)
    except ITBError as exc:
        return result_frame([{
            "measure": measure.key, "side": side, "analysis": "lmm_fit", "term": "value ~ visit",
            "n_patients": n, "n_obs": len(obs_m), "df_method": config.df_method,
            "method": "LMM REML (analysis.stats.lmm)",
            "note": f"model not fitted: {exc}",
        }])
    warnings = []
    if n < WARN_LMM_PATIENTS:
        warnings.append(f"only {n} patients: mixed-model inference is fragile below "
                        f"{WARN_LMM_PATIENTS}")
    if measure.kind == "ordinal" and measure.key in config.lmm_ordinal:
        warnings.append(ASKED_LINEAR_NOTE)
    elif measure.kind == "ordinal":
        warnings.append("ordinal measure: this model treats the codes as interval values; the "
                        "ordinal analysis is the per-visit signed-rank test against baseline "
                        "(Holm-adjusted)")
    if warnings:
        warning = "; ".join(warnings)
        rows["note"] = [f"{warning}; {x}" if x else warning for x in rows["note"]]
    return rows


def _ordinal_dose_note(rows: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Dose slopes of an ordinal measure say that they treat the codes as interval values."""
    if not len(rows):
        return rows
    kinds = {k: codebook.measure(k).kind for k in rows["measure"].unique() if k}
    ordinal = rows["measure"].map(kinds).eq("ordinal").to_numpy()
    if ordinal.any():
        warning = ("ordinal measure: this slope treats the codes as interval values (a "
                   "description of the titration, not a model of the grades)")
        rows = rows.copy()
        rows.loc[ordinal, "note"] = [f"{warning}; {x}" if isinstance(x, str) and x else warning
                                     for x in rows.loc[ordinal, "note"]]
    return rows


def _group_dose(obs: pd.DataFrame, config: StudyConfig) -> list[pd.DataFrame]:
    """``value ~ dose + (1 + dose | patient)`` for measures where >= 3 patients titrate."""
    frames = []
    # the columns the group model reads (filtering every column of the observations cost
    # more than the grouping)
    titration = obs.loc[(obs["phase"] == config.treatment_phase) & (obs["dose_ug_day"] > 0),
                        [c for c in obs.columns if c in ("patient_id", "measure", "side",
                                                         "value", "phase", "dose_ug_day")]]
    for (key, side), one in titration.groupby(["measure", "side"], sort=True):
        doses = one.groupby("patient_id")["dose_ug_day"].nunique()
        if (doses >= 2).sum() >= MIN_GROUP_DOSE_PATIENTS:
            frames.append(dose.dose_group_model(one, measure=key, side=side,
                                                phase=config.treatment_phase,
                                                min_patients=MIN_GROUP_DOSE_PATIENTS,
                                                df_method=config.df_method))
    return frames


def therapeutic_window_rows(obs: pd.DataFrame, codebook: Codebook,
                            config: StudyConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Therapeutic window per patient from the configured (or all) MAS and MRC measures.

    Returns the window table (one row per patient and dose) and its results rows; both empty
    when the data hold no titration or no spasticity and strength measures.
    """
    present = sorted(obs["measure"].unique())
    spasticity = list(config.window_spasticity) or [k for k in present if k.startswith("mas_")]
    strength = list(config.window_strength) or [k for k in present if k.startswith("mrc_")]
    spasticity = [k for k in spasticity if k in present]
    strength = [k for k in strength if k in present]
    titrated = obs[(obs["phase"] == config.treatment_phase) & (obs["dose_ug_day"] > 0)]
    if not spasticity or not strength or titrated.empty:
        return pd.DataFrame(), pd.DataFrame()
    first_spasticity, first_strength = codebook.measure(spasticity[0]), codebook.measure(strength[0])
    threshold, threshold_source = _first_given(
        (config.window_spasticity_threshold, "study configuration"),
        (first_spasticity.mcid, f"MCID, codebook: {first_spasticity.mcid_source}"),
        (first_spasticity.mdc, f"MDC, codebook: {first_spasticity.mdc_source}"),
        (1.0, "one grade (no MCID or MDC in the codebook or configuration)"),
    )
    strength_mdc, strength_source = _first_given(
        (config.window_strength_mdc, "study configuration"),
        (first_strength.mdc, f"MDC, codebook: {first_strength.mdc_source}"),
        (1.0, "one grade: no MDC is published for this strength measure (codebook), so a "
              "fall of one full grade counts as a loss"),
    )
    return dose.therapeutic_window(
        obs, spasticity_measures=spasticity, strength_measures=strength,
        spasticity_threshold=threshold, spasticity_threshold_source=threshold_source,
        strength_mdc=strength_mdc, strength_mdc_source=strength_source,
        spasticity_better=first_spasticity.better, strength_better=first_strength.better,
        baseline=config.baseline, baseline_phase=config.baseline_phase,
        phase=config.treatment_phase,
    )


def _first_given(*candidates: tuple[float | None, str]) -> tuple[float, str]:
    """The first candidate whose value is not None, with its source."""
    return next((float(v), s) for v, s in candidates if v is not None)


def _adjust_families(results: pd.DataFrame, config: StudyConfig) -> pd.DataFrame:
    """Holm adjustment of the paired tests across the measures of each declared family.

    A measure in no family is adjusted across its own visits and sides. Mixed-model contrasts
    keep their Holm adjustment across the visits of their model (as emmeans does).
    """
    # The new values are set in arrays and the two columns replaced once: each .loc
    # assignment into a text column rebuilt the whole column (340,000 rows at registry scale),
    # once per family.
    p_adjusted = results["p_adjusted"].to_numpy(dtype=float, copy=True)
    p_values = results["p_value"].to_numpy(dtype=float)
    adjustment = None
    analysis = results["analysis"]
    for analysis_name in FAMILY_ANALYSES:
        positions = np.flatnonzero((analysis == analysis_name).to_numpy())
        if not len(positions):
            continue
        if adjustment is None:
            adjustment = results["adjustment"].to_numpy(dtype=object, copy=True)
        measures = results["measure"].iloc[positions].tolist()
        family = pd.Series([config.family_of(m) or f"measure={m}" for m in measures],
                           index=positions, dtype=object)
        for name, index in family.groupby(family).groups.items():
            label = name if name.startswith("measure=") else f"family={name}"
            index = np.asarray(index)
            p = p_values[index]
            p_adjusted[index] = holm(p)
            adjustment[index] = f"holm: {label} ({int(np.isfinite(p).sum())} tests)"
    results = results.copy(deep=False)  # the caller's fresh table: no second deep copy
    results["p_adjusted"] = p_adjusted
    if adjustment is not None:
        results["adjustment"] = pd.array(adjustment, dtype=results["adjustment"].dtype)
    return results


def _default_config(data: Path) -> Path | None:
    candidate = (data if data.is_dir() else data.parent) / "study.yaml"
    return candidate if candidate.exists() else None


def _relative(path: Path) -> str:
    """``path`` relative to the working directory (with ``..`` when outside it), POSIX style:
    the manifest's root is this directory, so a moved or unzipped compendium still resolves."""
    try:
        return Path(os.path.relpath(Path(path).resolve(), Path.cwd().resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(path).resolve().as_posix()


def _cached_analysis(obs: pd.DataFrame, *, inputs: list[Path], codebook: Codebook,
                     config: StudyConfig, cache_dir: str | Path | None,
                     progress: bool, gait_dir: Path | None = None, follow_links: bool = False
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`analyze` (with the gait rows of ``gait_dir``, whose files are among ``inputs``),
    or its tables read from the cache (:mod:`analysis.run.cache`).

    The manifest is not cached: it is rebuilt on every call (it records where the run is made).
    """
    def compute() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        results, window, changes = analyze(obs, codebook=codebook, config=config,
                                           progress=progress)
        if gait_dir is not None:
            results = combine([results, dataset_gait_results(gait_dir, obs, seed=config.seed,
                                                             follow_links=follow_links)])
        return results, window, changes

    directory = cache.resolve_cache_dir(cache_dir)
    if directory is None:
        return compute()
    config_dict = {k: v for k, v in config.to_dict().items() if k != "source"}
    book = {"sha256": hashlib.sha256(codebook.to_frame().to_csv(index=False).encode()).hexdigest()}
    key = cache.cache_key(inputs, config=config_dict, codebook=book)
    meta = {"config": config_dict, "codebook": book}
    tables = cache.read_entry(directory, key, expect=meta)
    if tables is not None:
        return tables["results"], tables["window"], tables["changes"]
    results, window, changes = compute()
    try:
        cache.write_entry(directory, key, {"results": results, "window": window, "changes": changes},
                          meta=meta)
    except OSError as exc:  # a read-only or full cache directory must not fail the analysis
        warnings.warn(f"analysis not cached in {directory}: {exc}", cache.CacheWarning, stacklevel=2)
    return results, window, changes
