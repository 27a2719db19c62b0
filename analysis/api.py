"""One-call functions for notebooks, in pingouin's spirit.

Each function takes a tidy DataFrame of observations (columns ``patient_id, visit, measure,
value`` and optionally ``side, phase, day, dose_ug_day``) or plain arrays, and returns rows with
the results table's columns (:data:`analysis.results.COLUMNS`), the same rows ``itb analyze``
writes for the same data. They are thin: the statistics live in :mod:`analysis.stats` and this
module only selects the data, fills the codebook's defaults and calls them.

The functions are reached as ``analysis.<name>`` (imported lazily by ``analysis/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.data import derive
from analysis.data.codebook import Codebook, load_codebook
from analysis.data.config import StudyConfig, load_config, resolve_reference_visit
from analysis.data.validate import Dataset, ValidationReport, validate_path
from analysis.data.validate import load_dataset as _load_dataset
from analysis.errors import InvalidInputError
from analysis.results import combine
from analysis.stats import descriptives, dose, paired
from analysis.stats import individual_change as _individual
from analysis.stats.lmm import LMMResult, fit_lmm_safe
from analysis.stats.ordinal import CLMMResult, fit_clmm
from analysis.stats.single_case import controls as _controls
from analysis.stats.single_case import dissociations as _dissociations
from analysis.stats.single_case import phase as _phase
from analysis.stats.single_case.shares import Share
from analysis.vocabulary import Alternative, Better, DfMethod, Kind, Link, check_choice

__all__ = [
    "analyze", "bayes_single_case", "crawford_howell", "describe", "dose_response",
    "effect_sizes", "individual_change", "load_dataset", "mixed_model", "ordinal_model",
    "paired_test",
    "phase_analysis", "responders", "rsdt", "therapeutic_window", "validate",
]

#: ``analysis`` values of the effect-size rows that :func:`paired_test` leaves to
#: :func:`effect_sizes`.
EFFECT_SIZE_ANALYSES = ("cohens_dz", "cohens_dav", "hedges_gav", "rank_biserial",
                        "cohens_dz_bca", "hedges_gav_bca")


# ----------------------------------------------------------------------------- load, validate
def load_dataset(path: str | Path, *, codebook: str | Path | None = None,
                 follow_links: bool = False, mapping: str | Path | None = None,
                 redcap_dictionary: str | Path | None = None,
                 relax: Sequence[str] = ()) -> Dataset:
    """Read and validate a data file or dataset directory (what ``itb validate`` checks).

    Parameters
    ----------
    path : str or Path
        A data file (CSV, TSV, Excel, SPSS, Stata, Parquet, REDCap export, wide layout) or a
        directory holding ``observations.*``, optionally ``patients.csv`` and ``study.yaml``.
    codebook : str or Path, optional
        Your own codebook YAML, added to the built-in one.
    follow_links : bool
        Follow symbolic links that lead out of the dataset folder (refused by default; a file
        given alone is judged against the folder holding it).
    mapping : str or Path, optional
        Column mapping file (default: ``mapping.yaml`` beside the data; see ``itb init``).
    redcap_dictionary : str or Path, optional
        REDCap data dictionary (default: ``<PROJECT>_DataDictionary_<date>.csv`` beside the data).
    relax : sequence of str
        Consistency checks reported as warnings, not errors
        (:data:`analysis.data.consistency.CHECKS`; ``itb validate --relax``).

    Returns
    -------
    Dataset
        ``.observations`` (validated tidy data), ``.patients``, ``.report``, ``.codebook``.

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_series")
    >>> ds.observations["patient_id"].nunique()
    20
    """
    return _load_dataset(path, extra_codebook=codebook, follow_links=follow_links,
                         mapping=mapping, redcap_dictionary=redcap_dictionary, relax=relax)


def validate(path: str | Path, *, codebook: str | Path | None = None,
             follow_links: bool = False, mapping: str | Path | None = None,
             redcap_dictionary: str | Path | None = None,
             relax: Sequence[str] = ()) -> ValidationReport:
    """Validate a data file or directory; raises ``DataValidationError`` listing every problem.

    ``follow_links=True`` follows symbolic links that lead out of the dataset folder (refused by
    default, as by ``itb validate`` without ``--follow-links``); ``mapping`` and
    ``redcap_dictionary`` and ``relax`` as in :func:`load_dataset`.

    Examples
    --------
    >>> import analysis
    >>> report = analysis.validate(analysis.EXAMPLES / "case_report")
    >>> report.observations["patient_id"].nunique()
    1
    """
    return validate_path(path, extra_codebook=codebook, follow_links=follow_links,
                         mapping=mapping, redcap_dictionary=redcap_dictionary, relax=relax)


def propose_mapping(path: str | Path, *, codebook: str | Path | None = None,
                    redcap_dictionary: str | Path | None = None,
                    follow_links: bool = False) -> Any:
    """What each column of a data file is read as (what ``itb init`` writes to mapping.yaml).

    Returns an :class:`analysis.data.mapping.Mapping`: ``.columns`` (column, ``as_``, kind,
    confidence, why), ``.visits``, ``.questions``, ``.header_row``; ``.to_yaml()`` is the
    ``mapping.yaml`` text and ``.to_dict()`` its JSON form (the README describes the format).

    Examples
    --------
    >>> import tempfile, pathlib, analysis
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "klinik.csv"
    >>> _ = f.write_text("Pat-ID;Alter;TUG bl;TUG 6 Monate\\nA1;51;14,2;11,0\\n")
    >>> [c.as_ for c in analysis.propose_mapping(f).columns]
    ['patient_id', 'age', 'tug_baseline', 'tug_post_m6']
    """
    from analysis.data.intake import propose_for

    mapping, _ = propose_for(path, codebook=load_codebook(extra=codebook),
                             redcap_dictionary=redcap_dictionary, follow_links=follow_links)
    return mapping


def analyze(data: str | Path, *, config: str | Path | None = None,
            codebook: str | Path | None = None,
            df_method: DfMethod | None = None,
            follow_links: bool = False, mapping: str | Path | None = None,
            redcap_dictionary: str | Path | None = None,
            relax: Sequence[str] = ()) -> tuple[pd.DataFrame, Any]:
    """Run the whole pipeline, as ``itb analyze`` does, without writing files.

    Parameters
    ----------
    data : str or Path
        Data file or dataset directory (its ``study.yaml`` is used unless ``config`` is given).
    config, codebook : str or Path, optional
        Study configuration and your own codebook.
    df_method : {"satterthwaite", "kenward-roger"}, optional
        Overrides the configuration's mixed-model df method.
    follow_links : bool
        Follow symbolic links that lead out of the dataset folder (refused by default).
    mapping, redcap_dictionary : str or Path, optional
        Column mapping file and REDCap data dictionary (as in :func:`load_dataset`).
    relax : sequence of str
        Consistency checks reported as warnings (as in :func:`load_dataset`).

    Returns
    -------
    results : DataFrame
        The results table (the same rows as ``results.csv``).
    run : AnalysisRun
        The validated data, change table, therapeutic-window table, resolved configuration,
        codebook and manifest; ``run.tidy()`` is ``results``.

    Examples
    --------
    >>> import analysis
    >>> results, run = analysis.analyze(analysis.EXAMPLES / "case_report")
    >>> results.equals(run.tidy()), run.config.reference_visit
    (True, 'bl_d5')
    """
    from analysis.run.pipeline import run_analysis  # the run layer: only needed here

    run = run_analysis(data, config=config, codebook=codebook, df_method=df_method, cache_dir=None,
                       follow_links=follow_links, mapping=mapping,
                       redcap_dictionary=redcap_dictionary, relax=tuple(relax))
    return run.results, run


# ------------------------------------------------------------------------------ group statistics
def describe(data: pd.DataFrame, *, measure: str | None = None,
             side: str | None = None) -> pd.DataFrame:
    """Descriptive statistics (n, mean, SD, median, quartiles, range) per measure and visit.

    Examples
    --------
    >>> import pandas as pd, analysis
    >>> obs = pd.DataFrame({"patient_id": ["P1", "P2", "P3"], "visit": "baseline",
    ...                     "measure": "tug", "value": [12.0, 15.0, 21.0]})
    >>> rows = analysis.describe(obs)
    >>> rows.loc[rows["term"] == "mean: baseline", "estimate"].item()
    16.0
    """
    obs = _observations(data, measure=measure, side=side, require_one=False)
    return combine([descriptives.describe(one) for _, one in obs.groupby(["measure", "side"])])


def paired_test(data: pd.DataFrame | Sequence[float], after: Sequence[float] | None = None, *,
                measure: str | None = None, side: str | None = None, visit: str | None = None,
                reference: str | None = None, kind: Kind | None = None,
                codebook: Codebook | None = None, bootstrap: bool = False,
                n_boot: int = 2000, seed: int = 20151) -> pd.DataFrame:
    """Paired comparison of follow-up against the reference visit: mean difference, paired t,
    Wilcoxon signed-rank (exact and normal); for ordinal measures median change and the share
    improved by one grade.

    Parameters
    ----------
    data : DataFrame or array
        Tidy observations, or the values before (with ``after`` the values after, same order).
    after : array, optional
        Values after, when ``data`` is the array of values before.
    measure, side : str, optional
        Which measure and side (needed when the data hold several).
    visit : str, optional
        Only this follow-up visit (default: every visit after the reference).
    reference : str, optional
        The reference visit (default: the visit named ``baseline``, else the last visit of the
        baseline phase, else the first visit).
    kind : {"continuous", "ordinal"}, optional
        Default: the codebook's kind of the measure (continuous for arrays).
    codebook : Codebook, optional
        Default: the built-in codebook.
    bootstrap, n_boot, seed
        Add seeded BCa bootstrap intervals.

    Returns
    -------
    DataFrame
        Results rows; effect sizes are returned by :func:`effect_sizes`.

    Examples
    --------
    >>> import analysis
    >>> rows = analysis.paired_test([10.1, 12.0, 9.5, 11.0], [8.0, 11.5, 9.0, 9.2])
    >>> rows.set_index("analysis").loc["paired_t", ["statistic", "df"]].round(3).tolist()
    [-2.896, 3.0]
    """
    rows = _paired_rows(data, after, measure=measure, side=side, visit=visit,
                        reference=reference, kind=kind, codebook=codebook, bootstrap=bootstrap,
                        n_boot=n_boot, seed=seed)
    return rows[~rows["analysis"].isin(EFFECT_SIZE_ANALYSES)].reset_index(drop=True)


def effect_sizes(data: pd.DataFrame | Sequence[float], after: Sequence[float] | None = None, *,
                 measure: str | None = None, side: str | None = None, visit: str | None = None,
                 reference: str | None = None, kind: Kind | None = None,
                 codebook: Codebook | None = None, bootstrap: bool = False,
                 n_boot: int = 2000, seed: int = 20151) -> pd.DataFrame:
    """Paired effect sizes with intervals: Cohen's d_z, d_av, Hedges' g_av, rank-biserial
    (ordinal measures: rank-biserial only). Arguments as :func:`paired_test`.

    Examples
    --------
    >>> import analysis
    >>> rows = analysis.effect_sizes([10.1, 12.0, 9.5, 11.0], [8.0, 11.5, 9.0, 9.2])
    >>> rows["analysis"].tolist()
    ['cohens_dz', 'cohens_dav', 'hedges_gav', 'rank_biserial']
    """
    rows = _paired_rows(data, after, measure=measure, side=side, visit=visit,
                        reference=reference, kind=kind, codebook=codebook, bootstrap=bootstrap,
                        n_boot=n_boot, seed=seed)
    return rows[rows["analysis"].isin(EFFECT_SIZE_ANALYSES)].reset_index(drop=True)


def mixed_model(data: pd.DataFrame, *, measure: str | None = None, side: str | None = None,
                formula: str = "value ~ visit", random: str = "1",
                reference: str | None = None, df_method: DfMethod = "satterthwaite",
                covariates: Sequence[str] = ()) -> LMMResult:
    """Linear mixed model by REML, as lme4 + lmerTest (+ pbkrtest for Kenward-Roger df).

    A random-slope model that fails, does not converge or is singular is refitted with a
    random intercept only, and the result says so in ``note`` (as ``itb analyze`` does).

    Returns
    -------
    LMMResult
        ``.tidy()`` (results rows, with the measure and side), ``.fixed()``, ``.emmeans()``,
        ``.contrasts()`` (with the results table's ``df_method``, ``adjustment``, ``method``,
        ``note``).

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_series")
    >>> fit = analysis.mixed_model(ds.observations, measure="gait_speed")
    >>> fit.contrasts()[["term", "df_method"]].iloc[0].tolist()
    ['ti_d2 - baseline', 'satterthwaite']
    >>> fit.tidy()["measure"].unique().tolist()
    ['gait_speed']
    """
    check_choice(df_method, DfMethod, name="df_method")
    obs = _observations(data, measure=measure, side=side)
    reference = _reference(obs, reference) if "visit" in formula else None
    fit = fit_lmm_safe(obs, formula=formula, random=random, reference=reference,
                       df_method=df_method, covariates=covariates)
    return replace(fit, measure=str(obs["measure"].iloc[0]), side=str(obs["side"].iloc[0]))


def ordinal_model(data: pd.DataFrame, *, measure: str, side: str | None = None,
                  formula: str = "value ~ visit", random: str = "1",
                  reference: str | None = None, link: Link = "logit",
                  quadrature_points: int = 1,
                  codebook: Codebook | None = None) -> CLMMResult:
    """Cumulative link mixed model of an ordinal measure, by ML, as ``ordinal::clmm``.

    ``P(Y <= k) = F(theta_k - x' beta - b_patient)``, ``b ~ N(0, SD^2)``: thresholds for each
    pair of adjacent levels, visit effects (positive: higher categories), one random intercept
    per patient. The levels are the codebook's, in code order; levels never observed are
    dropped and ``note`` says so.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy observations; ``value`` holds the codebook codes (MAS ``1+`` is 1.5).
    measure : str
        An ordinal measure of the codebook (e.g. ``mas_knee_ext``, ``mrc_hip_flex``, ``pgic``).
    side : str, optional
        ``L`` or ``R`` for a sided measure (needed when the data hold both).
    formula : str
        ``value ~ visit`` (main effects of columns).
    random : str
        ``"1"``: a random patient intercept (the only form supported).
    reference : str, optional
        Reference visit (default: the study's, else the first visit).
    link : {"logit", "probit", "cloglog"}
    quadrature_points : int
        1: Laplace approximation; more: adaptive Gauss-Hermite quadrature with that many nodes
        (clmm's ``nAGQ``).
    codebook : Codebook, optional
        Where the levels come from (default: the built-in codebook).

    Returns
    -------
    CLMMResult
        ``.tidy()`` (rows ``clmm_threshold``, ``clmm_fixed``, ``clmm_odds_ratio``,
        ``clmm_contrast``, ``clmm_probability``, ``clmm_random``, ``clmm_fit``),
        ``.contrasts()`` (Holm), ``.probabilities()``, ``.thresholds()``, ``.fixed()``.

    Notes
    -----
    Written here because no Python library fits cumulative link *mixed* models. It agrees
    with ``ordinal::clmm`` (fixtures in ``tests/r/clmm_fixtures.R``). A likelihood-ratio test
    against nominal (threshold-specific) visit effects checks proportional odds (``note`` and
    a ``clmm_fit`` row). A singular fit (patient SD below 1e-4) reports the estimates of the
    model without the random intercept; a fit that does not converge falls back to it.

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_series")
    >>> fit = analysis.ordinal_model(ds.observations, measure="mas_knee_ext", side="L")
    >>> fit.fixed()["term"].iloc[0]
    'visitti_d2'
    >>> rows = fit.tidy()
    >>> sorted(rows["analysis"].unique())[:3]
    ['clmm_contrast', 'clmm_fit', 'clmm_fixed']
    """
    check_choice(link, Link, name="link")
    if random.replace(" ", "") != "1":
        raise InvalidInputError(f"random = {random!r}: only '1' (a random patient intercept) "
                                "is supported by the ordinal model")
    spec = (codebook or load_codebook()).measure(measure)
    if spec.kind != "ordinal" or spec.levels is None:
        raise InvalidInputError(f"measure {measure!r} is {spec.kind}, not ordinal; use "
                                "mixed_model()")
    obs = _observations(data, measure=measure, side=side)
    reference = _reference(obs, reference) if "visit" in formula else None
    return fit_clmm(obs, levels=spec.levels, codes=spec.codes, formula=formula,
                    reference=reference, link=link, n_agq=int(quadrature_points))


def individual_change(data: pd.DataFrame, *, measure: str | None = None,
                      side: str | None = None, reference: str | None = None,
                      better: Better | None = None, mcid: float | None = None,
                      mdc: float | None = None, sd: float | None = None,
                      sem: float | None = None, reliability: float | None = None,
                      codebook: Codebook | None = None) -> pd.DataFrame:
    """Change, Reliable Change Index and MCID class of every patient at every follow-up.

    Parameters
    ----------
    data : DataFrame
        Tidy observations.
    measure, side : str, optional
        Which measure and side (needed when the data hold several).
    reference : str, optional
        The reference visit (default as :func:`paired_test`).
    better : {"lower", "higher"}, optional
        Direction of improvement (default: the codebook's).
    mcid, mdc : float, optional
        Minimal clinically important difference and minimal detectable change (default: the
        codebook's).
    sd, sem, reliability : float, optional
        Reference SD, standard error of measurement and test-retest reliability of the RCI
        (default: the codebook's; a measure outside the codebook needs ``better`` and ``sd``
        with ``reliability``, or ``sem``).
    codebook : Codebook, optional
        Default: the built-in codebook.

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_series")
    >>> rows = analysis.individual_change(ds.observations, measure="tug")
    >>> sorted(rows["analysis"].unique())
    ['change', 'mcid_class', 'rci']
    """
    obs = _observations(data, measure=measure, side=side)
    book = codebook or load_codebook()
    key = str(obs["measure"].iloc[0])
    given = {k: v for k, v in dict(better=better, mcid=mcid, mdc=mdc, sd=sd, sem=sem,
                                   reliability=reliability).items() if v is not None}
    if key not in book and better is None:
        raise InvalidInputError(f"measure {key!r} is not in the codebook: give better= (and "
                                "mcid=, sd= with reliability=, or sem=)")
    info = book.measure(key) if key in book else None
    for value, source in ((mcid, "mcid_source"), (mdc, "mdc_source"), (sd, "sd_source"),
                          (reliability if reliability is not None else sem,
                           "reliability_source")):
        if value is not None:
            given[source] = "given in the call"
    changes, reference = _changes(obs, reference, book, better=better)
    return _individual.individual_change(changes, measure=info, reference=reference, **given)


def responders(data: pd.DataFrame, *, measure: str | None = None, side: str | None = None,
               reference: str | None = None, codebook: Codebook | None = None) -> pd.DataFrame:
    """Share of patients improved beyond the MCID and reliably (RCI), Wilson and
    Clopper-Pearson intervals; ``data`` is observations or :func:`individual_change` rows.

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_series")
    >>> rows = analysis.responders(ds.observations, measure="tug")
    >>> rows["analysis"].unique().tolist()
    ['responder', 'responder_cp']
    """
    if "analysis" in data.columns:
        return _individual.responders(data)
    return _individual.responders(individual_change(data, measure=measure, side=side,
                                                    reference=reference, codebook=codebook))


def dose_response(data: pd.DataFrame, *, phase: str = "test_infusion") -> pd.DataFrame:
    """Per-patient dose-response slope over the test infusion (OLS of value on dose).

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_report")
    >>> rows = analysis.dose_response(ds.observations)
    >>> rows["analysis"].unique().tolist()
    ['dose_slope']
    """
    return dose.dose_response(data, phase=phase)


def therapeutic_window(data: pd.DataFrame, *, config: str | Path | StudyConfig | None = None,
                       codebook: Codebook | None = None) -> pd.DataFrame:
    """Doses at which spasticity improved by its threshold while strength held, per patient.

    The measures and thresholds come from the study configuration (``therapeutic_window``)
    or, by default, every MAS and MRC measure and the codebook's MCID and MDC.

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_report")
    >>> cfg = analysis.load_config(analysis.EXAMPLES / "case_report" / "study.yaml")
    >>> rows = analysis.therapeutic_window(ds.observations, config=cfg)  # one row per side
    >>> [(r.side, float(r.ci_low), float(r.ci_high), float(r.estimate)) for r in rows.itertuples()]
    [('L', 90.0, 108.0, 108.0), ('R', 100.0, 108.0, 108.0)]
    """
    from analysis.run.pipeline import (
        therapeutic_window_rows,  # shares the pipeline's rule
    )

    cfg = config if isinstance(config, StudyConfig) else load_config(config)
    _, rows = therapeutic_window_rows(data, codebook or load_codebook(), cfg)
    return rows


# -------------------------------------------------------------------------------- one patient
def crawford_howell(x: float, controls: Sequence[float] | None = None, *,
                    mean: float | None = None, sd: float | None = None, n: int | None = None,
                    alternative: Alternative = "two-sided", better: Better | None = None,
                    measure: str = "", share: Share = "proportion") -> pd.DataFrame:
    """Crawford & Howell's (1998) test of one patient against controls, with the share of
    controls more extreme and Z_CC with their intervals (as singcar's ``TD``).

    Give the controls' values, or their ``mean``, ``sd`` and ``n``. The share of controls
    (row ``pct_more_extreme``) is a proportion (0-1), as in results.csv; ``share="percent"``
    gives 0-100 (:mod:`analysis.stats.single_case.shares`).

    Examples
    --------
    >>> import analysis
    >>> rows = analysis.crawford_howell(0.52, mean=1.31, sd=0.11, n=15, better="higher")
    >>> rows["analysis"].tolist()[:2]
    ['crawford_howell', 'crawford_howell']
    >>> dff = analysis.crawford_howell(-1.754857, mean=0, sd=1, n=28)  # singcar's patient DF
    >>> r = dff.set_index("analysis").loc["pct_more_extreme"]
    >>> round(float(r["estimate"]), 4), round(float(r["p_value"]), 4)  # median; singcar: p 0.048
    (0.0413, 0.048)
    """
    mean, sd, n = _control_summary(controls, mean, sd, n)
    return _controls.crawford_howell(x, mean=mean, sd=sd, n=n, alternative=alternative,
                                     better=better).tidy(measure=measure, share=share)


def bayes_single_case(x: float, controls: Sequence[float] | None = None, *,
                      mean: float | None = None, sd: float | None = None, n: int | None = None,
                      alternative: Alternative = "two-sided", better: Better | None = None,
                      n_sim: int = 100_000, seed: int = 20070101,
                      measure: str = "", share: Share = "proportion") -> pd.DataFrame:
    """Crawford & Garthwaite's (2007) Bayesian test of one patient against controls (seeded
    Monte Carlo, as singcar's ``BTD``); the share of controls beyond the patient is a
    proportion (0-1) unless ``share="percent"``.

    Examples
    --------
    >>> import analysis
    >>> rows = analysis.bayes_single_case(0.52, mean=1.31, sd=0.11, n=15, n_sim=10_000)
    >>> rows["analysis"].unique().tolist()
    ['bayes_single_case']
    """
    mean, sd, n = _control_summary(controls, mean, sd, n)
    return _controls.bayes_single_case(x, mean=mean, sd=sd, n=n, alternative=alternative,
                                       better=better, n_sim=n_sim, seed=seed).tidy(
        measure=measure, share=share)


def rsdt(x: float, y: float, *, mean_x: float, sd_x: float, mean_y: float, sd_y: float,
         r_xy: float, n: int, alternative: str = "two-sided", better_x: Better | None = None,
         better_y: Better | None = None, label_x: str = "x",
         label_y: str = "y", share: Share = "proportion") -> pd.DataFrame:
    """Revised Standardized Difference Test (Crawford & Garthwaite 2005) of a dissociation
    between two measures in one patient: the test row (``p_value`` for ``alternative``), the
    patient's z on each measure (``z_score``) and the share of controls more extreme (a
    proportion 0-1 unless ``share="percent"``).

    Examples
    --------
    >>> import analysis
    >>> rows = analysis.rsdt(-3.0, -1.0, mean_x=0, sd_x=1, mean_y=0, sd_y=1, r_xy=0.6, n=20)
    >>> rows["analysis"].iloc[0]
    'rsdt'
    """
    return _dissociations.rsdt(x, y, mean_x=mean_x, sd_x=sd_x, mean_y=mean_y, sd_y=sd_y,
                               r_xy=r_xy, n=n, better_x=better_x, better_y=better_y,
                               label_x=label_x, label_y=label_y,
                               alternative=alternative).tidy(share=share)


def phase_analysis(data: pd.DataFrame, *, measure: str | None = None, side: str | None = None,
                   better: Better | None = None, baseline_phase: str = "baseline",
                   treatment_phase: str = "test_infusion",
                   codebook: Codebook | None = None,
                   share: Share = "proportion") -> pd.DataFrame:
    """NAP, Tau-U, PND and piecewise regression of one patient's baseline against treatment.

    ``better`` defaults to the codebook's direction of improvement of the measure. PND is a
    proportion (0-1), as NAP and as in results.csv; ``share="percent"`` gives 0-100
    (:mod:`analysis.stats.single_case.shares`).

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_report")
    >>> rows = analysis.phase_analysis(ds.observations, measure="gait_speed")
    >>> sorted(set(rows["analysis"]) & {"nap", "tau_u", "pnd"})
    ['nap', 'pnd', 'tau_u']
    """
    obs = _observations(data, measure=measure, side=side)
    if obs["patient_id"].nunique() != 1:
        raise InvalidInputError(f"phase_analysis is for one patient; the data hold "
                                f"{obs['patient_id'].nunique()}: select one patient_id first")
    if better is None:
        better = _better(codebook or load_codebook(), str(obs["measure"].iloc[0]))
    return _phase.phase_analysis(obs, better=better, baseline_phase=baseline_phase,
                                 treatment_phase=treatment_phase, share=share)


# ------------------------------------------------------------------------------------ helpers
def _observations(data: pd.DataFrame, *, measure: str | None, side: str | None,
                  require_one: bool = True) -> pd.DataFrame:
    """The rows of one measure and side (or all, ``require_one=False``), with a ``side``."""
    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError(f"expected a tidy DataFrame of observations, got {type(data).__name__}")
    missing = {"patient_id", "measure", "value"} - set(data.columns)
    if missing:
        raise InvalidInputError(f"the data lack column(s) {sorted(missing)}: pass tidy "
                                "observations (patient_id, visit, measure, value, ...)")
    obs = data.assign(side=data["side"].fillna("").astype(str)) if "side" in data else data.assign(side="")
    if measure is not None:
        if measure not in set(obs["measure"]):
            raise InvalidInputError(f"measure {measure!r} is not in the data (measures: "
                                    f"{', '.join(sorted(map(str, obs['measure'].unique())))})")
        obs = obs[obs["measure"] == measure]
    if side is not None:
        obs = obs[obs["side"] == side]
    if require_one:
        pairs = sorted(set(zip(obs["measure"].astype(str), obs["side"], strict=True)))
        if len(pairs) != 1:
            shown = ", ".join(f"{m} {s}".strip() for m, s in pairs) or "none"
            raise InvalidInputError(f"choose one measure and side with measure= and side= "
                                    f"(the data hold: {shown})")
    return obs.reset_index(drop=True)


def _reference(obs: pd.DataFrame, reference: str | None) -> str:
    visits = obs if "phase" in obs else obs.assign(phase="")
    cfg = resolve_reference_visit(StudyConfig(reference_visit=reference), visits)
    return str(cfg.reference_visit)


def _better(book: Codebook, key: str) -> Better:
    better = book.measure(key).better if key in book else "higher"
    if better not in ("lower", "higher"):
        raise InvalidInputError(f"the direction of improvement of {key} is {better!r} in the "
                                "codebook: pass better='lower' or better='higher'")
    return better


def _changes(obs: pd.DataFrame, reference: str | None, book: Codebook,
             better: str | None = None) -> tuple[pd.DataFrame, str]:
    """Change table against the reference visit, by the pipeline's baseline rule (data without
    a ``phase`` column: the reference visit's observations are the baseline)."""
    reference = _reference(obs, reference)
    work = obs if "phase" in obs else obs.assign(phase="")
    key = str(obs["measure"].iloc[0])
    direction = better or (book.measure(key).better if key in book else "higher")
    return derive.change_table(work, better={key: direction}, reference=reference), reference


def _paired_rows(data, after, *, measure, side, visit, reference, kind, codebook, bootstrap,
                 n_boot, seed) -> pd.DataFrame:
    book = codebook or load_codebook()
    if after is not None:
        before = np.asarray(data, dtype=float)
        later = np.asarray(after, dtype=float)
        if before.shape != later.shape or before.ndim != 1:
            raise InvalidInputError(f"before and after must be 1-D arrays of equal length (got "
                                    f"{before.shape} and {later.shape})")
        changes = pd.DataFrame({"patient_id": [f"{i + 1}" for i in range(len(before))],
                                "visit": "after", "measure": measure or "", "side": "",
                                "value": later, "baseline": before, "change": later - before})
        reference, info = "before", None
    else:
        obs = _observations(data, measure=measure, side=side)
        changes, reference = _changes(obs, reference, book)
        key = str(obs["measure"].iloc[0])
        info = book.measure(key) if key in book else None
    kind = kind or (info.kind if info is not None else "continuous")
    check_choice(kind, Kind, name="kind")
    rows = paired.paired_comparisons(
        changes, kind=kind, reference=reference,
        levels=getattr(info, "levels", None), codes=getattr(info, "codes", None),
        bootstrap=bootstrap, n_boot=n_boot, seed=seed)
    if visit is not None:
        rows = rows[rows["term"].astype(str).str.startswith(f"{visit} - ")]
        if rows.empty:
            raise InvalidInputError(f"no paired comparison for visit {visit!r} (visits after "
                                    f"{reference}: {', '.join(pd.unique(changes['visit']))})")
    return rows.reset_index(drop=True)


def _control_summary(controls, mean, sd, n) -> tuple[float, float, int]:
    if controls is not None:
        values = np.asarray(controls, dtype=float)
        values = values[np.isfinite(values)]
        return float(values.mean()), float(values.std(ddof=1)), int(values.size)
    if mean is None or sd is None or n is None:
        raise InvalidInputError("give the controls' values, or their mean, sd and n")
    return float(mean), float(sd), int(n)
