"""Case-series and single-case statistics for intrathecal baclofen (ITB) studies.

The package reads as its pipeline, one subpackage per stage:

- :mod:`analysis.data`: readers, codebook, validation, study configuration, derived tables;
- :mod:`analysis.stats`: descriptives, paired tests, effect sizes, individual change, dose,
  mixed models (:mod:`analysis.stats.lmm`), single-case methods
  (:mod:`analysis.stats.single_case`);
- :mod:`analysis.run`: the whole pipeline, its manifest and reproduction;
- :mod:`analysis.report`: formatting, tables, figures and rendering;
- :mod:`analysis.examples`: the simulator and the bundled example data;
- :mod:`analysis.cli`: the ``itb`` command line.

For notebooks, the functions in ``__all__`` are one call each (pingouin's spirit): they take a
tidy DataFrame (or arrays) and return rows with the results table's columns, or a result
object with ``.tidy()``; the ``plot_*`` functions return the reports' figures as matplotlib
Figures. Shares (PND, PEM, PAND, NAP, the proportion of controls beyond a patient) are
proportions (0-1); ``share="percent"`` gives the 0-100 that results.csv holds. They are imported on first use, so ``import analysis`` is fast.

Examples
--------
>>> import analysis
>>> ds = analysis.load_dataset(analysis.EXAMPLES / "case_series")
>>> rows = analysis.paired_test(ds.observations, measure="gait_speed", visit="post_m6")
>>> row = rows.iloc[0]
>>> row["analysis"], row["term"], int(row["n_patients"])
('mean_difference', 'post_m6 - baseline', 14)
"""

import importlib as _importlib
import logging as _logging

__version__ = "0.1.0"

# A library logs; the application decides what is shown. Without this, Python's last-resort
# handler would print the fallback warnings of the model fits on stderr, although every one is
# also in the `note` of the rows it concerns (the standard library's advice for libraries).
_logging.getLogger(__name__).addHandler(_logging.NullHandler())

#: Public name -> module that defines it (imported lazily by :func:`__getattr__`).
_API: dict[str, str] = {
    # load and validate
    "EXAMPLES": "analysis.paths",
    "load_codebook": "analysis.data.codebook",
    "load_config": "analysis.data.config",
    "load_dataset": "analysis.api",
    "validate": "analysis.api",
    "propose_mapping": "analysis.api",
    # the whole pipeline
    "analyze": "analysis.api",
    # group statistics
    "describe": "analysis.api",
    "paired_test": "analysis.api",
    "effect_sizes": "analysis.api",
    "mixed_model": "analysis.api",
    "ordinal_model": "analysis.api",
    "individual_change": "analysis.api",
    "responders": "analysis.api",
    "dose_response": "analysis.api",
    "therapeutic_window": "analysis.api",
    # one patient
    "crawford_howell": "analysis.api",
    "bayes_single_case": "analysis.api",
    "rsdt": "analysis.api",
    "phase_analysis": "analysis.api",
    "udt": "analysis.stats.single_case.dissociations",
    "bsdt": "analysis.stats.single_case.controls_bayes",
    "btd_cov": "analysis.stats.single_case.controls_bayes",
    "bsdt_cov": "analysis.stats.single_case.controls_bayes",
    "mtd": "analysis.stats.single_case.multivariate",
    "td_power": "analysis.stats.single_case.controls_power",
    "udt_power": "analysis.stats.single_case.controls_power",
    "rsdt_power": "analysis.stats.single_case.controls_power",
    "nap": "analysis.stats.single_case.phase_rows",
    "tau_u": "analysis.stats.single_case.phase_rows",
    "pnd": "analysis.stats.single_case.phase_rows",
    "piecewise": "analysis.stats.single_case.phase_rows",
    "rci": "analysis.stats.single_case.reliable_change",
    "mdc": "analysis.stats.single_case.reliable_change",
    "cs_cutoffs": "analysis.stats.single_case.reliable_change",
    "tau_bc": "analysis.stats.single_case.phase_overlap",
    "smd": "analysis.stats.single_case.phase_effects",
    "lrr": "analysis.stats.single_case.phase_effects",
    "lor": "analysis.stats.single_case.phase_effects",
    "lrm": "analysis.stats.single_case.phase_effects",
    "pogo": "analysis.stats.single_case.phase_effects",
    "pem": "analysis.stats.single_case.phase_overlap",
    "pand": "analysis.stats.single_case.phase_overlap",
    "ird": "analysis.stats.single_case.phase_overlap",
    "cdc": "analysis.stats.single_case.phase_overlap",
    "rand_test": "analysis.stats.single_case.phase_overlap",
    # figures (matplotlib Figures, the reports' theme)
    "plot_timeline": "analysis.plots",
    "plot_phases": "analysis.plots",
    "plot_changes": "analysis.plots",
    "plot_trajectories": "analysis.plots",
    "plot_effect_sizes": "analysis.plots",
    "plot_mas": "analysis.plots",
    "plot_therapeutic_window": "analysis.plots",
    "plot_gait_curves": "analysis.plots",
    "plot_gait_profile": "analysis.plots",
    # motion-lab gait
    "read_c3d": "analysis.gait.c3d",
    "import_c3d": "analysis.gait.importer",
    "gait_cycles": "analysis.gait.cycles",
    "build_norms": "analysis.gait.importer",
    "gait_variable_scores": "analysis.gait.indices",
    "movement_analysis_profile": "analysis.gait.indices",
    "spm_ttest2": "analysis.gait.spm",
    # study planning
    "load_design": "analysis.plan.design",
    "power_simulation": "analysis.plan.runner",
    "crawford_howell_power": "analysis.plan.closed_form",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> object:
    if name in _API:
        value = getattr(_importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API only (``__all__`` and ``__version__``): no imported helpers, no
    subpackages (reach those as ``analysis.stats`` ...)."""
    return [*__all__, "__version__"]
