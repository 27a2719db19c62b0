"""Publication figures in one theme (see :mod:`analysis.report.plotting.theme`).

Every figure function takes tidy data and returns a :class:`matplotlib.figure.Figure`;
:func:`save_figure` writes byte-stable PNG and SVG (or PDF) files.
"""

from analysis.errors import InvalidInputError
from analysis.report.plotting.figures import (
    EFFECT_LABELS,
    forest,
    mas_distribution,
    phase_plot,
    slope_plot,
    spaghetti,
    therapeutic_window_plot,
    titration_timeline,
    waterfall,
)
from analysis.report.plotting.theme import (
    COLUMN_WIDTH,
    OKABE_ITO,
    PAGE_WIDTH,
    new_figure,
    save_figure,
    use_theme,
)

__all__ = [
    "COLUMN_WIDTH", "PAGE_WIDTH", "OKABE_ITO", "EFFECT_LABELS", "InvalidInputError",
    "new_figure", "save_figure", "use_theme",
    "spaghetti", "slope_plot", "waterfall", "forest", "mas_distribution",
    "titration_timeline", "therapeutic_window_plot", "phase_plot",
]
