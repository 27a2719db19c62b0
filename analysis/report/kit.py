"""The kit the report documents (``reports/*.qmd``) call: load a run, print numbers and tables.

Reports read results; they do not fit models. :func:`load` runs (or reads from the cache) the
analysis pipeline, and every number printed in the text comes from the results table through
:func:`num`, :func:`est_ci`, :func:`pval` or :func:`stat`, formatted by
:mod:`analysis.report.formatting`, never typed by hand. Tables go out as Markdown pipe tables with a
caption (:func:`show_table`) so that they look the same in HTML, PDF and Word.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.errors import RenderError
from analysis.report.escape import Markdown, markdown_literal, markdown_prose
from analysis.report.lookup import (  # noqa: F401 (kit.<name> in the report documents)
    est_ci,
    has,
    latest_term,
    num,
    pval,
    row,
    stat,
    terms,
)
from analysis.report.reproducibility import reproducibility_tables  # noqa: F401
from analysis.report.tables import to_markdown

__all__ = ["out", "literal", "load", "row", "has", "terms", "latest_term", "num", "est_ci", "pval", "stat", "show_table",
           "show_supplement", "show_figure", "reproducibility_tables", "use_number_style"]



def out(text: str) -> None:
    """Print report text in an ``output: asis`` cell, through the one boundary between data and
    documents (:func:`analysis.report.escape.markdown_prose`): citations, ``@tbl-``/``@fig-``
    cross-references and ``^a^`` marks stay markup; nothing from the data can be.

    Examples
    --------
    >>> out("Visit ![](/etc/passwd) is in @tbl-outcomes.")
    Visit \\!\\[\\](/etc/passwd) is in @tbl-outcomes.
    """
    print(markdown_prose(text))


def set_title(text: object) -> None:
    """Make ``text`` (plain text) the document title: the built-in renderer writes it into the
    metadata as a Markdown literal (:func:`analysis.report.escape.markdown_literal`), so nothing
    in it is markup. Quarto ignores this display; ``itb report`` gives Quarto the same title
    with ``--metadata``. Prints nothing.
    """
    from IPython.display import display

    from analysis.report.render.execute import TITLE_MIME

    display({TITLE_MIME: {"title": str(text)}}, raw=True)


def literal(text: object) -> Markdown:
    """A data value as literal Markdown text (every significant character escaped), for a
    cell that writes its own markup around it (``f"*{kit.literal(note)}*"``).

    Examples
    --------
    >>> print(literal("*not bold* [@key]"))
    \\*not bold\\* \\[\\@key\\]
    """
    return markdown_literal(text)


def load(params: Mapping[str, Any] | None = None, **kwargs: Any):
    """Run the analysis for a report, or read its tables from the cache the ``itb`` process
    filled (:mod:`analysis.run.cache`: Parquet and JSON, checksummed, never code; the kernel
    inherits ``$ITB_CACHE_DIR`` / ``$ITB_NO_CACHE`` from ``itb report``).

    Parameters
    ----------
    params : mapping
        The document's parameters: ``data`` (dataset directory or file, required), and
        optionally ``config``, ``codebook``, ``df_method`` and ``follow_links``; empty values
        are ignored.
    **kwargs
        The same, as keywords (they override ``params``).

    Returns
    -------
    analysis.run.pipeline.AnalysisRun
    """
    from analysis.run.pipeline import run_analysis

    given = {**dict(params or {}), **kwargs}
    data = given.get("data")
    if not data:
        raise RenderError("the report needs the parameter 'data' (a dataset directory or file)")
    options = {k: given[k] for k in ("config", "codebook", "df_method", "follow_links",
                                     "mapping", "redcap_dictionary") if given.get(k)}
    if given.get("relax"):  # a comma-separated list, as document parameters are text
        options["relax"] = tuple(str(given["relax"]).split(","))
    return run_analysis(Path(str(data)), cache_dir=given.get("cache_dir", "default"), **options)


def use_number_style(style: str | None) -> str:
    """Set the journal style of the numbers of a report ("apa", the default, or "ama"), from
    the document's ``number_style`` parameter; returns the style in use.

    Examples
    --------
    >>> use_number_style(None)
    'apa'
    """
    from analysis.report.formatting import get_number_style, set_number_style

    set_number_style(style)
    return get_number_style()


def show_table(df: pd.DataFrame, caption: str | None = None):
    """Display a table as Markdown (a pipe table with its caption) from a document cell.

    The table is written by :func:`analysis.report.tables.to_markdown`, the package's one
    Markdown table writer. Give the cell ``#| label: tbl-...``; the renderer numbers the
    caption.
    """
    from IPython.display import Markdown

    return Markdown(to_markdown(df, caption))


def show_supplement(df: pd.DataFrame, sheet: str):
    """Put a long table into the supplementary workbook written beside the report
    (``<out>/<report>-supplement.xlsx``, one sheet per table) instead of the document.

    Give the raw values (numbers as numbers); cite the workbook and sheet in the text. See
    :mod:`analysis.report.render.supplement`.
    """
    from IPython.display import Markdown

    from analysis.report.render.supplement import supplement_block

    return Markdown(supplement_block(df, sheet))


def show_figure(fig) -> None:
    """Display a matplotlib figure once in a document cell and close it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)
