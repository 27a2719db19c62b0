"""Case-series and single-case statistics for intrathecal baclofen (ITB) studies.

The pipeline reads top to bottom: load and validate (:mod:`analysis.data.readers`,
:mod:`analysis.data.validate`) -> derive (:mod:`analysis.data.derive`) -> models (one module per
family) -> one results table (:mod:`analysis.results`) -> figures and tables -> reports.
"""

__version__ = "0.1.0"

import importlib as _importlib

#: Public one-call functions, loaded on first use: name -> module that defines it.
_API: dict[str, str] = {
    "udt": "analysis.stats.single_case.dissociations",
    "bsdt": "analysis.stats.single_case.controls_bayes",
    "btd_cov": "analysis.stats.single_case.controls_bayes",
    "bsdt_cov": "analysis.stats.single_case.controls_bayes",
    "td_power": "analysis.stats.single_case.controls_power",
    "udt_power": "analysis.stats.single_case.controls_power",
    "rsdt_power": "analysis.stats.single_case.controls_power",
    "rci": "analysis.stats.single_case.reliable_change",
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
}


def __getattr__(name: str):
    """Load a public function of :data:`_API` on first use (keeps ``import analysis`` light)."""
    if name in _API:
        return getattr(_importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_API))
