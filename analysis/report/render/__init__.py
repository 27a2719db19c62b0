"""Render the Quarto reports to HTML, PDF and Word.

With the Quarto CLI on PATH, :func:`render_report` calls ``quarto render``. Without it (Quarto
cannot be installed from PyPI), the same ``.qmd`` sources are rendered here on the engines
Quarto itself uses: Jupyter executes the cells (:mod:`~analysis.report.render.execute`), Pandoc converts
(:mod:`~analysis.report.render.pandoc`) and Typst makes the PDF. The document is executed once and
converted to each format from that one execution.

Parameters
----------
Reports take parameters through the cell tagged ``parameters`` (``#| tags: [parameters]``),
as Quarto's Jupyter engine requires; given values are injected in a cell right after it.
Parameters are strings unless the default in the parameters cell is a bool, number, list or
dict (then they are converted to that type): ``patient=007`` stays ``"007"``, whereas Quarto's
own ``-P patient:007`` reads YAML and gives 7 (the Quarto path here passes a typed YAML file
instead of ``-P``).

Project options
---------------
Options in the project's ``_quarto.yml`` (``execute``, ``format``...) apply under the
document's own front matter, as in Quarto.

Quarto syntax
-------------
Besides cells, inline expressions and parameters, the built-in engine renders the Quarto
features the reports use, as Quarto renders them: cross-references to figures, tables and
sections (``@fig-``, ``@tbl-``, ``@sec-``), citations with a bibliography and CSL style
(``bibliography:``, ``csl:``; Pandoc citeproc), the author and affiliation schema, abstract and
keywords, callouts, ``fig-alt``, ``number-sections`` and appendices. Anything else
Quarto-specific is refused with an error naming it and its line
(:mod:`~analysis.report.render.markup`).

Figures
-------
Figures are SVG in HTML and PDF and 300-dpi PNG in Word, placed at their own size; each is also
written to ``<out_dir>/figures/`` as SVG, PDF and 600-dpi PNG for submission.

Freeze
------
With ``execute: freeze: auto`` (set in the project's ``_quarto.yml``), outputs are re-used
while the code, parameters, input files, configuration and package source are unchanged
(:mod:`~analysis.report.render.freeze`); they are stored in ``<out_dir>/_freeze/``.

Working directory
-----------------
Code runs in the project directory (the nearest folder above the document holding
``_quarto.yml``; ``execute-dir: project`` in Quarto), else in the document's folder. Give
parameters as absolute paths, or relative to that directory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from analysis.errors import RenderError
from analysis.report.render.citations import (
    Bibliography,
    check_citations,
    find_bibliography,
)
from analysis.report.render.execute import DEFAULT_DPI, execute_document
from analysis.report.render.figures import export_figures
from analysis.report.render.freeze import (
    freeze_enabled,
    freeze_key,
    load_frozen,
    store_frozen,
)
from analysis.report.render.markup import check_cell_options, check_markdown
from analysis.report.render.pandoc import EXTENSIONS, assemble_markdown, convert
from analysis.report.render.project import project_dir, with_project
from analysis.report.render.qmd import QmdDocument, read_qmd
from analysis.report.render.quarto import quarto_available, render_with_quarto
from analysis.vocabulary import REPORT_FORMATS, Engine

__all__ = ["render_report", "project_dir", "quarto_available", "check_document", "Engine",
           "FORMATS"]

FORMATS = REPORT_FORMATS


def check_document(doc: QmdDocument, bibliography: Bibliography | None = None) -> None:
    """Refuse, before anything runs, the Quarto constructs the built-in engine cannot render:
    in the text (shortcodes, unknown callouts, layout divs, citations not in the
    ``bibliography``) and in cell options (figure layout). The error names the construct and
    its line.

    Examples
    --------
    >>> from analysis.report.render.qmd import parse_qmd
    >>> check_document(parse_qmd("# A\\n\\n{{< include other.qmd >}}\\n"))
    Traceback (most recent call last):
    ...
    analysis.errors.RenderError: <string>, line 3: the Quarto shortcode {{< include >}} is not supported by the built-in renderer; render with Quarto (itb report --engine quarto) or remove it
    """
    for cell in doc.cells:
        if cell.kind == "markdown":
            check_markdown(cell.source, where=doc.name, first_line=cell.line)
            check_citations(cell.source, bibliography, where=doc.name, first_line=cell.line)
        else:
            check_cell_options(cell.options, where=f"{doc.name}, line {cell.line}")


def render_report(
    qmd: str | Path,
    *,
    formats: Sequence[str] = FORMATS,
    params: dict[str, Any] | None = None,
    out_dir: str | Path = "_output",
    engine: Engine = "auto",
    progress: bool = True,
    timeout: int = 1200,
    freeze: bool | None = None,
    metadata: dict[str, str] | None = None,
) -> list[Path]:
    """Render one report to the given formats.

    Parameters
    ----------
    qmd : path
        The ``.qmd`` source.
    formats : sequence of {"html", "pdf", "docx"}
        Output formats; the document is executed once for all of them.
    params : dict, optional
        Values for the document's parameters (see the module notes on typing).
    out_dir : path
        Where ``<name>.html``, ``<name>.pdf`` and ``<name>.docx`` are written.
    engine : {"auto", "quarto", "builtin"}
        ``auto`` uses Quarto when it is on PATH, else the built-in engine.
    progress : bool
        Show a progress bar over the steps (execute, then each format).
    timeout : int
        Seconds each cell may run (built-in engine).
    metadata : dict, optional
        Plain-text metadata over the front matter's under Quarto (``itb report`` gives the
        study's title); the built-in engine takes the title from the document's cells
        (``kit.set_title``). Escaped as Markdown literals.
    freeze : bool, optional
        Re-use stored outputs while their inputs are unchanged (built-in engine); default: the
        document's ``execute: freeze`` option.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of ``formats`` (with Quarto, where Quarto writes them:
        ``out_dir/<folder of the document in the project>/<name>.<ext>``).

    Raises
    ------
    RenderError
        When a cell fails (naming the report, the cell and the error), a parameter is unknown
        or mistyped, or a converter fails.

    Examples
    --------
    >>> render_report("reports/x.qmd", formats=["odt"])
    Traceback (most recent call last):
    ...
    analysis.errors.RenderError: unknown format(s) ['odt']; choose from html, pdf, docx
    """
    formats = list(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in EXTENSIONS]
    if unknown or not formats:
        raise RenderError(f"unknown format(s) {unknown}; choose from {', '.join(FORMATS)}")
    if engine not in ("auto", "quarto", "builtin"):
        raise RenderError(f"unknown engine {engine!r}; use 'auto', 'quarto' or 'builtin'")
    qmd = Path(qmd)
    out_dir = Path(out_dir)
    if engine == "quarto" or (engine == "auto" and quarto_available()):
        return render_with_quarto(qmd, formats=formats, params=params, out_dir=out_dir,
                                  metadata=metadata)

    root = project_dir(qmd)
    doc = with_project(read_qmd(qmd), root / "_quarto.yml")
    bibliography = find_bibliography(doc.front_matter, doc_dir=qmd.resolve().parent, root=root,
                                     name=doc.name)
    check_document(doc, bibliography)
    frozen = freeze_enabled(doc) if freeze is None else bool(freeze)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tqdm(total=1 + len(formats), desc=qmd.stem, unit="step", disable=not progress,
              leave=False) as bar, tempfile.TemporaryDirectory(prefix="itb-render-") as tmp:
        workdir = Path(tmp)
        executed = None
        if frozen:
            front = doc.front_matter
            fig = (front.get("fig-width", 7), front.get("fig-height", 5),
                   front.get("fig-dpi", DEFAULT_DPI))
            key = freeze_key(doc, params=params, cwd=root, fig=fig)
            executed = load_frozen(doc, key, out_dir / "_freeze", workdir)
        if executed is None:
            bar.set_postfix_str("execute")
            executed = execute_document(
                doc, params=params, workdir=workdir, cwd=root, timeout=timeout,
                on_cell=lambda done, total: bar.set_postfix_str(f"execute {done}/{total}"))
            if frozen:
                store_frozen(executed, key, out_dir / "_freeze")
        export_figures(executed, out_dir / "figures")
        bar.update()
        for fmt in formats:
            bar.set_postfix_str(fmt)
            target = out_dir / f"{qmd.stem}.{EXTENSIONS[fmt]}"
            markdown = assemble_markdown(executed, fmt, bibliography=bibliography)
            written.append(convert(markdown, fmt, out=target, workdir=workdir,
                                   front_matter=doc.front_matter, name=qmd.name,
                                   bibliography=bibliography))
            bar.update()
    return written
