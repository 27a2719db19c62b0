"""Linear mixed models (REML) with Satterthwaite and Kenward-Roger df, as lme4/lmerTest/pbkrtest.

Modules: :mod:`~analysis.stats.lmm.engine` (profiled REML), :mod:`~analysis.stats.lmm.fitting`
(optimum: rescaled coordinates, starts, verification), :mod:`~analysis.stats.lmm.ddf` (denominator
df), :mod:`~analysis.stats.lmm.emmeans` (marginal means and contrasts), :mod:`~analysis.stats.lmm.model`
(public API and results rows).

Examples
--------
>>> from analysis.stats.lmm import fit_lmm, fit_lmm_safe, LMMResult
"""

from analysis.errors import ModelSpecError
from analysis.stats.lmm.model import LMMResult, fit_lmm, fit_lmm_safe

__all__ = ["LMMResult", "ModelSpecError", "fit_lmm", "fit_lmm_safe"]
