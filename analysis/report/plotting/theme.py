"""The one figure theme, figure sizes, and byte-stable saving.

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas (never pyplot), so
they need no display, are never registered with pyplot, and never call ``plt.show``.
The theme is seaborn's ``ticks`` style and ``paper`` context with the Okabe-Ito palette
(Okabe & Ito 2008; distinguishable with every common colour-vision deficiency) and DejaVu Sans,
which ships with matplotlib, so rendering needs no system fonts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import matplotlib as mpl
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis.errors import InvalidInputError

#: Width of a single journal column, inches (89 mm: the single-column width of most journals).
COLUMN_WIDTH = 3.5
#: Width of a full page (two columns), inches (170 mm: the text width of the PDF reports, within
#: the 170-190 mm full-width limit of most journals), so that figures print at their own size and
#: their smallest text stays at 7 pt.
PAGE_WIDTH = 170 / 25.4
#: Smallest font size of the theme at print size, points (journals ask for 6-8 pt at least).
MIN_FONT_PT = 7
#: Resolution of the submission PNG files (journals ask for 300-600 dpi for line art with text).
SUBMISSION_DPI = 600

#: Okabe-Ito palette, in its published order.
OKABE_ITO: dict[str, str] = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}
PALETTE: list[str] = list(OKABE_ITO.values())

#: Colours with a meaning, used the same way in every figure.
IMPROVED = OKABE_ITO["blue"]
WORSENED = OKABE_ITO["vermillion"]
UNCHANGED = "#999999"
PATIENT_GREY = "#8C8C8C"
ESTIMATE = OKABE_ITO["black"]
DOSE = OKABE_ITO["bluish_green"]
WINDOW = OKABE_ITO["sky_blue"]
PHASE_COLOURS: dict[str, str] = {
    "baseline": "#EDEDED",
    "test_infusion": "#D9ECF7",  # light tint of sky blue
    "post_implant": "#FBE9D0",  # light tint of orange
}
PHASE_LABELS: dict[str, str] = {
    "baseline": "Baseline",
    "test_infusion": "Test infusion",
    "post_implant": "After implantation",
}

#: Salt for SVG element ids, so that SVG files are byte-identical run to run.
SVG_HASHSALT = "itb-analysis"



def theme_rc() -> dict[str, Any]:
    """The rcParams of the theme (seaborn ``ticks``/``paper`` plus our overrides).

    Examples
    --------
    >>> rc = theme_rc()
    >>> rc["font.sans-serif"][0], rc["svg.hashsalt"]
    ('DejaVu Sans', 'itb-analysis')
    """
    rc: dict[str, Any] = {}
    rc.update(sns.axes_style("ticks"))
    rc.update(sns.plotting_context("paper"))
    rc.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": ["DejaVu Sans"],
            "mathtext.fontset": "dejavusans",
            "font.size": 8,
            "axes.titlesize": 8,
            "axes.labelsize": 8,
            "xtick.labelsize": 7,
            "ytick.labelsize": 7,
            "legend.fontsize": 7,
            "legend.title_fontsize": 7,
            "legend.frameon": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": mpl.cycler(color=PALETTE),
            "lines.linewidth": 1.0,
            "lines.markersize": 3.5,
            "errorbar.capsize": 2,
            # No "figure.dpi": the figure's resolution is the environment's (the renderer sets
            # 300 dpi; a notebook keeps its own). Setting it here reset the renderer's value.
            "savefig.dpi": 300,
            "savefig.facecolor": "white",
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "svg.hashsalt": SVG_HASHSALT,
            "svg.fonttype": "path",
            "pdf.fonttype": 42,
            "image.cmap": "cividis",
        }
    )
    return rc


class use_theme:  # noqa: N801 - used like a function (setter or context manager)
    """Apply the theme: as a setter, ``use_theme()``; scoped, ``with use_theme(): ...``.

    Called on its own, the theme stays in force. Used in a ``with`` block, the previous values
    of the changed rcParams come back at the end of the block.

    Examples
    --------
    >>> import matplotlib as mpl
    >>> before = mpl.rcParams["svg.hashsalt"]
    >>> with use_theme():
    ...     mpl.rcParams["svg.hashsalt"]
    'itb-analysis'
    >>> mpl.rcParams["svg.hashsalt"] == before
    True
    """

    def __init__(self) -> None:
        rc = theme_rc()
        self._saved = {key: mpl.rcParams[key] for key in rc}
        mpl.rcParams.update(rc)

    def __enter__(self) -> use_theme:
        return self

    def __exit__(self, *exc: object) -> None:
        mpl.rcParams.update(self._saved)


Width = Literal["column", "page"]


def figure_width(width: Width | float) -> float:
    """Width in inches for ``"column"``, ``"page"``, or a number of inches.

    Examples
    --------
    >>> figure_width("column"), round(figure_width("page"), 2), figure_width(5)
    (3.5, 6.69, 5.0)
    """
    if isinstance(width, (int, float)) and not isinstance(width, bool):
        if width <= 0:
            raise InvalidInputError(f"width must be positive inches, got {width!r}")
        return float(width)
    sizes = {"column": COLUMN_WIDTH, "page": PAGE_WIDTH}
    if width not in sizes:
        raise InvalidInputError(f"width must be 'column', 'page' or inches, got {width!r}")
    return sizes[width]


def new_figure(width: Width | float = "column", height: float | None = None) -> Figure:
    """A themed, constrained-layout figure on the Agg canvas (call inside ``use_theme``).

    Examples
    --------
    >>> with use_theme():
    ...     fig = new_figure("page", 3.0)
    >>> [round(float(v), 2) for v in fig.get_size_inches()]
    [6.69, 3.0]
    """
    w = figure_width(width)
    h = w * 0.75 if height is None else float(height)
    fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


#: Metadata written into each format; dates and versions are left out so files are byte-stable.
_METADATA: dict[str, Mapping[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}

Format = Literal["png", "svg", "pdf"]


def save_figure(
    fig: Figure,
    stem: str | Path,
    *,
    formats: Iterable[Format] = ("png", "svg"),
    dpi: int = 300,
) -> list[Path]:
    """Save a figure as raster and vector files with byte-stable content.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    stem : path
        File path without extension; ``stem.png``, ``stem.svg``... are written (folders
        are created).
    formats : iterable of {"png", "svg", "pdf"}, default ("png", "svg")
    dpi : int, default 300
        Resolution of raster formats.

    Returns
    -------
    list of Path
        The files written, in the order of ``formats``.

    Examples
    --------
    >>> import tempfile
    >>> with use_theme():
    ...     fig = new_figure()
    ...     _ = fig.add_subplot().plot([0, 1], [0, 1])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [p.name for p in save_figure(fig, Path(d) / "line")]
    ['line.png', 'line.svg']
    """
    stem = Path(stem)
    formats = list(formats)
    unknown = [f for f in formats if f not in _METADATA]
    if unknown or not formats:
        raise InvalidInputError(
            f"unsupported figure format(s) {unknown or formats!r}; use some of {list(_METADATA)}"
        )
    stem.parent.mkdir(parents=True, exist_ok=True)
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    paths = []
    with use_theme():
        for fmt in formats:
            path = stem.parent / f"{stem.name}.{fmt}"
            fig.savefig(path, format=fmt, dpi=dpi, metadata=dict(_METADATA[fmt]))
            paths.append(path)
    return paths
