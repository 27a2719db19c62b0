"""Case-series and single-case statistics for intrathecal baclofen (ITB) studies.

The pipeline reads top to bottom: load and validate (:mod:`analysis.data.readers`,
:mod:`analysis.data.validate`) -> derive (:mod:`analysis.data.derive`) -> models (one module per
family) -> one results table (:mod:`analysis.results`) -> figures and tables -> reports.
"""

__version__ = "0.1.0"
