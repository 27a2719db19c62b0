"""The report's figures for notebooks: each function returns a :class:`matplotlib.figure.Figure`.

Thin wrappers around :mod:`analysis.report.plotting` (the figures the reports draw, in their
theme): they take the tidy observations (or a results table) as the other API functions do,
select the patient, measure and side, fill the codebook's defaults, and draw. Save a figure
with ``fig.savefig(...)`` or, byte-stable as the reports do,
``analysis.report.plotting.save_figure``.

Reached as ``analysis.plot_<name>`` (imported on first use, so ``import analysis`` does not load
matplotlib).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from matplotlib.figure import Figure

from analysis.data.codebook import Codebook, load_codebook
from analysis.errors import InvalidInputError
from analysis.report import plotting as _plotting
from analysis.report.plotting import gait as _gait_plots
from analysis.vocabulary import Better

__all__ = ["plot_changes", "plot_effect_sizes", "plot_gait_curves", "plot_gait_profile",
           "plot_mas", "plot_phases", "plot_therapeutic_window", "plot_timeline",
           "plot_trajectories"]


def _one_patient(data: pd.DataFrame, patient_id: str | None) -> pd.DataFrame:
    ids = list(pd.unique(data["patient_id"].astype(str)))
    if patient_id is not None:
        if patient_id not in ids:
            raise InvalidInputError(f"patient_id {patient_id!r} is not in the data "
                                    f"(patients: {', '.join(ids[:10])})")
        return data[data["patient_id"].astype(str) == patient_id]
    if len(ids) != 1:
        raise InvalidInputError(f"the data hold {len(ids)} patients: choose one with "
                                "patient_id=")
    return data


def _better(book: Codebook, measure: str, better: str | None) -> Better:
    if better is not None:
        return better  # type: ignore[return-value]
    found = book.measure(measure).better if measure in book else "higher"
    return found if found in ("higher", "lower") else "higher"  # type: ignore[return-value]


def plot_timeline(data: pd.DataFrame, *, patient_id: str | None = None,
                  measures: Sequence[str] | None = None,
                  codebook: Codebook | None = None) -> Figure:
    """Dose and outcomes of one patient over days, the phases shaded (the case report's
    timeline figure).

    Parameters
    ----------
    data : DataFrame
        Tidy observations with ``day``, ``phase`` and ``dose_ug_day``.
    patient_id : str, optional
        The patient (needed when the data hold several).
    measures : list of str, optional
        Measures to draw, top to bottom (default: every measure of the patient, in the order
        of the data).
    codebook : Codebook, optional
        Labels, units and grades (default: the built-in codebook).

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_report")
    >>> fig = analysis.plot_timeline(ds.observations, measures=["gait_speed", "mas_knee_ext"])
    >>> type(fig).__name__, len(fig.axes) >= 3
    ('Figure', True)
    """
    obs = _one_patient(data, patient_id)
    shown = list(measures) if measures is not None else list(pd.unique(obs["measure"]))
    return _plotting.titration_timeline(obs, measures=shown, codebook=codebook)


def plot_phases(data: pd.DataFrame, *, measure: str, side: str | None = None,
                patient_id: str | None = None, better: Better | None = None,
                codebook: Codebook | None = None) -> Figure:
    """One patient's values by day in each phase, with phase means and trends (the figure of
    :func:`analysis.phase_analysis`).

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_report")
    >>> fig = analysis.plot_phases(ds.observations, measure="gait_speed")
    >>> fig.axes[0].get_xlabel() != ""
    True
    """
    from analysis.api import _observations

    obs = _observations(_one_patient(data, patient_id), measure=measure, side=side)
    book = codebook or load_codebook()
    return _plotting.phase_plot(obs, measure=measure, better=_better(book, measure, better),
                                codebook=book)


def plot_changes(data: pd.DataFrame, *, measure: str, visit: str | None = None,
                 side: str | None = None, reference: str | None = None,
                 style: Literal["waterfall", "slope"] = "waterfall",
                 mcid: float | None = None, better: Better | None = None,
                 codebook: Codebook | None = None) -> Figure:
    """Each patient's change from the reference visit to one follow-up: a waterfall of bars
    sorted by change, the MCID marked (the case series' figure), or a slope plot.

    Parameters
    ----------
    data : DataFrame
        Tidy observations.
    measure, side : str
        The measure (and side, when it has sides).
    visit : str, optional
        The follow-up visit (default: the last visit with changes).
    reference : str, optional
        The reference visit (default as :func:`analysis.paired_test`).
    style : {"waterfall", "slope"}
    mcid : float, optional
        Default: the codebook's.
    better : {"higher", "lower"}, optional
        Default: the codebook's direction of improvement.

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_series")
    >>> fig = analysis.plot_changes(ds.observations, measure="tug", visit="post_m6")
    >>> len(fig.axes[0].patches) > 0  # one bar per patient
    True
    >>> fig = analysis.plot_changes(ds.observations, measure="tug", style="slope")
    """
    from analysis.api import _changes, _observations

    if style not in ("waterfall", "slope"):
        raise InvalidInputError(f"style={style!r}; use 'waterfall' or 'slope'.")
    book = codebook or load_codebook()
    obs = _observations(data, measure=measure, side=side)
    direction = _better(book, measure, better)
    changes, reference = _changes(obs, reference, book, better=direction)
    changes = changes[changes["change"].notna()]
    if changes.empty:
        raise InvalidInputError(f"no change from {reference} for {measure}")
    visits = list(pd.unique(changes["visit"]))
    if visit is None:
        visit = visits[-1]
    elif visit not in visits:
        raise InvalidInputError(f"visit {visit!r} has no change from {reference} (visits: "
                                f"{', '.join(visits)})")
    sided = str(obs["side"].iloc[0]) or None
    if style == "slope":
        return _plotting.slope_plot(changes, measure=measure, visit=visit, side=sided,
                                    reference=reference, codebook=book)
    if mcid is None and measure in book:
        mcid = book.measure(measure).mcid
    return _plotting.waterfall(changes, measure=measure, visit=visit, mcid=mcid,
                               better=direction, side=sided, codebook=book)


def plot_trajectories(data: pd.DataFrame, *, measure: str, side: str | None = None,
                      emmeans: Any = None, codebook: Codebook | None = None) -> Figure:
    """Each patient's measure over visits (spaghetti plot), with the mixed model's estimated
    marginal means when given.

    Parameters
    ----------
    emmeans : DataFrame or LMMResult, optional
        A results table (its ``lmm_emmean`` rows of the measure) or the result of
        :func:`analysis.mixed_model`.

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_series")
    >>> fit = analysis.mixed_model(ds.observations, measure="gait_speed")
    >>> fig = analysis.plot_trajectories(ds.observations, measure="gait_speed", emmeans=fit)
    >>> type(fig).__name__
    'Figure'
    """
    if emmeans is not None and not isinstance(emmeans, pd.DataFrame):
        emmeans = emmeans.tidy()
    return _plotting.spaghetti(data, measure=measure, side=side, emmeans=emmeans,
                               codebook=codebook)


def plot_effect_sizes(results: pd.DataFrame, *,
                      analyses: Sequence[str] = ("cohens_dz", "hedges_gav"),
                      visit: str | None = None, codebook: Codebook | None = None) -> Figure:
    """Effect sizes with their 95% CIs per measure (forest plot) from results rows.

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_series")
    >>> rows = analysis.effect_sizes(ds.observations, measure="tug")
    >>> type(analysis.plot_effect_sizes(rows)).__name__
    'Figure'
    """
    return _plotting.forest(results, analyses=analyses, visit=visit, codebook=codebook)


def plot_mas(data: pd.DataFrame, *, measure: str, codebook: Codebook | None = None) -> Figure:
    """Share (%) of each Modified Ashworth grade by visit, stacked (sides pooled).

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_series")
    >>> type(analysis.plot_mas(ds.observations, measure="mas_knee_ext")).__name__
    'Figure'
    """
    book = codebook or load_codebook()
    kw = {}
    if measure in book and book.measure(measure).levels:
        kw = dict(levels=list(book.measure(measure).levels),
                  codes=list(book.measure(measure).codes))
    return _plotting.mas_distribution(data, measure=measure, codebook=book, **kw)


def plot_therapeutic_window(data: pd.DataFrame, *, patient_id: str | None = None,
                            config: Any = None, codebook: Codebook | None = None) -> Figure:
    """Spasticity and strength change against dose for one patient, the therapeutic window
    shaded (the rule of :func:`analysis.therapeutic_window`).

    Examples
    --------
    >>> import analysis
    >>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_report")
    >>> cfg = analysis.load_config(analysis.EXAMPLES / "case_report" / "study.yaml")
    >>> type(analysis.plot_therapeutic_window(ds.observations, config=cfg)).__name__
    'Figure'
    """
    from analysis.data.config import StudyConfig, load_config
    from analysis.run.pipeline import therapeutic_window_rows

    obs = _one_patient(data, patient_id)
    cfg = config if isinstance(config, StudyConfig) else load_config(config)
    table, _ = therapeutic_window_rows(obs, codebook or load_codebook(), cfg)
    if table.empty:
        raise InvalidInputError("no therapeutic window: the data hold no titration with "
                                "spasticity (MAS) and strength (MRC) measures")
    return _plotting.therapeutic_window_plot(table, patient_id=str(obs["patient_id"].iloc[0]))


def _gait(gait: Any, patient_id: str) -> Any:
    if isinstance(gait, (str, Path)):
        from analysis.report.gait_section import gait_data

        found = gait_data(gait, patient_id=patient_id)
        if found is None:
            raise InvalidInputError(f"no C3D files in {gait}")
        return found
    return gait


def plot_gait_curves(gait: Any, *, variable: str = "knee_flexion",
                     sides: str | Sequence[str] = ("L", "R"), norms: pd.DataFrame | None = None,
                     cycles: pd.DataFrame | None = None, visits: Sequence[str] | None = None,
                     spm: bool = True, alpha: float = 0.05, seed: int = 2015,
                     patient_id: str = "P01", codebook: Codebook | None = None) -> Figure:
    """Kinematic curves over the gait cycle: mean ± SD of each visit's cycles against the
    normative band, stretches where two visits differ (permutation SPM) marked.

    Parameters
    ----------
    gait : str, Path, DataFrame or GaitData
        A folder of ``<visit>_trial*.c3d`` files (with ``norms.parquet`` beside them, used
        when present), the ``curves`` table of :func:`analysis.import_c3d`, or imported gait
        data with ``curves``, ``norms`` and ``cycles``.
    norms, cycles : DataFrame, optional
        Normative curves and cycle events, when ``gait`` is a curves table.

    Examples
    --------
    >>> import analysis
    >>> fig = analysis.plot_gait_curves(analysis.EXAMPLES / "case_report" / "gait",
    ...                                 spm=False)
    >>> len(fig.axes)
    2
    """
    data = _gait(gait, patient_id)
    if not isinstance(data, pd.DataFrame):
        norms = data.norms if norms is None else norms
        cycles = data.cycles if cycles is None else cycles
        data = data.curves
    return _gait_plots.gait_curves(data, variable=variable, sides=sides, norms=norms, cycles=cycles,
                             visits=visits, spm=spm, alpha=alpha, seed=seed, codebook=codebook)


def plot_gait_profile(gait: Any, *, visits: Sequence[str] | None = None,
                      patient_id: str = "P01", codebook: Codebook | None = None) -> Figure:
    """The Movement Analysis Profile: Gait Variable Scores per variable and side, and the Gait
    Profile Score, per visit.

    ``gait`` is a folder of C3D files with ``norms.parquet``, imported gait data with a
    ``profile``, or the profile table (visit, measure, side, value of the ``gvs_*``/``gps``
    rows).

    Examples
    --------
    >>> import analysis
    >>> fig = analysis.plot_gait_profile(analysis.EXAMPLES / "case_report" / "gait")
    >>> type(fig).__name__
    'Figure'
    """
    data = _gait(gait, patient_id)
    profile = data if isinstance(data, pd.DataFrame) else data.profile
    return _gait_plots.map_chart(profile, visits=visits, codebook=codebook)
