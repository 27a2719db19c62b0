"""Cumulative link mixed models (ordinal outcomes), as ``ordinal::clmm``.

Modules: :mod:`~analysis.stats.ordinal.engine` (marginal likelihood: Laplace and adaptive
Gauss-Hermite quadrature), :mod:`~analysis.stats.ordinal.fitting` (optimum and covariance),
:mod:`~analysis.stats.ordinal.model` (design, fallback, tables),
:mod:`~analysis.stats.ordinal.rows` (results rows).

Examples
--------
>>> from analysis.stats.ordinal import CLMMResult, fit_clmm
"""

from analysis.stats.ordinal.model import CLMMResult, fit_clmm

__all__ = ["CLMMResult", "fit_clmm"]
