"""Execute a parsed ``.qmd`` document once, in a fresh Jupyter kernel, and collect its outputs.

This is what Quarto's Jupyter engine does with ``execute: daemon: false``: the code cells run
in order in one new kernel (``python3`` of the running interpreter, so it works in a fresh
virtual environment without a registered kernel), the cell tagged ``parameters`` is followed by
an injected cell that overrides its assignments, and each inline expression is evaluated in the
same kernel right after the cells before it.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from analysis.errors import RenderError
from analysis.report.render.project import coerce_params
from analysis.report.render.qmd import (
    Cell,
    QmdDocument,
    inline_expressions,
)

__all__ = ["Output", "ExecutedCell", "ExecutedDocument", "execute_document", "KERNEL_NAME",
           "DEFAULT_DPI"]

#: Resolution of the PNG figures (``fig-dpi`` in the front matter overrides it).
DEFAULT_DPI = 300
#: Name of the kernel spec written to a temporary directory for each render.
KERNEL_NAME = "itb-python3"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_INLINE_MARK = "__itb_inline__"

_SETUP = """\
# Set up as Quarto's Jupyter engine does: inline figures of the document's size and dpi, here
# both as PNG (for Word) and SVG (vector, for HTML and PDF).
try:
    import matplotlib as _itb_mpl
    get_ipython().run_line_magic("config", "InlineBackend.rc = {{}}")
    get_ipython().run_line_magic("config", "InlineBackend.figure_formats = ['png', 'svg']")
    get_ipython().run_line_magic("matplotlib", "inline")
    _itb_mpl.rcParams.update({{"figure.figsize": ({w}, {h}), "figure.dpi": {dpi},
                               "savefig.dpi": {dpi}, "savefig.bbox": "tight"}})
except ImportError:
    pass
"""


#: The MIME type of a cell's display that sets the document title (``kit.set_title``): the
#: front matter's ``title`` cannot be computed, a cell can. Quarto ignores it (``itb report``
#: gives Quarto the same title with ``--metadata``).
TITLE_MIME = "application/vnd.itb.title+json"


@dataclass(frozen=True)
class Output:
    """One output of a code cell.

    ``kind`` is ``"markdown"`` (``text/markdown`` or ``output: asis`` text, passed through),
    ``"image"`` (``content`` is the image path relative to the working directory, without its
    extension; ``formats`` lists the files written, e.g. ``("svg", "png")``), ``"text"``
    (stdout or a plain-text result, shown as a code block), ``"stderr"`` (warnings) or
    ``"title"`` (the document title a cell gave, :data:`TITLE_MIME`: plain text, escaped as a
    Markdown literal when it is written into the metadata).
    """

    kind: Literal["markdown", "image", "text", "stderr", "title"]
    content: str
    formats: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExecutedCell:
    """A document cell with what executing it produced.

    ``outputs`` holds a code cell's outputs (empty when hidden); ``inline`` holds the values of
    a Markdown cell's inline expressions, in order.
    """

    cell: Cell
    outputs: tuple[Output, ...] = ()
    inline: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExecutedDocument:
    """The result of :func:`execute_document`: the cells and their outputs, and ``workdir``,
    the directory that image paths are relative to."""

    doc: QmdDocument
    cells: tuple[ExecutedCell, ...]
    workdir: Path


def _kernel_manager(spec_dir: Path) -> AsyncKernelManager:
    """A kernel manager for the running interpreter (``sys.executable -m ipykernel``).

    Written to a temporary kernel spec so that rendering never depends on which kernels the
    user has registered (a fresh virtual environment on CI has none that point at it).
    """
    kdir = spec_dir / "kernels" / KERNEL_NAME
    kdir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (itb)",
        "language": "python",
    }
    (kdir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    ksm = KernelSpecManager(kernel_dirs=[str(spec_dir / "kernels")])
    return AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=ksm)


def _injected_source(params: dict[str, Any]) -> str:
    lines = ["# Injected parameters"]
    lines += [f"{name} = {value!r}" for name, value in params.items()]
    return "\n".join(lines)


def _flag(cell: Cell, doc: QmdDocument, key: str, default: Any) -> Any:
    return cell.options.get(key, doc.option(key, default))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "cell"


def _collect(
    nbcell: Any, cell: Cell, doc: QmdDocument, workdir: Path, figdir: Path
) -> tuple[Output, ...]:
    """Turn a code cell's Jupyter outputs into :class:`Output` items."""
    if _flag(cell, doc, "include", True) is False:
        return ()
    shown = _flag(cell, doc, "output", True)
    if shown is False:
        return ()
    asis = shown == "asis"
    warnings_shown = _flag(cell, doc, "warning", True) is not False
    outputs: list[Output] = []
    n_images = 0
    for out in nbcell.get("outputs", []):
        if out["output_type"] == "stream":
            text = _ANSI.sub("", out.get("text", ""))
            if out.get("name") == "stderr":
                if warnings_shown and text.strip():
                    outputs.append(Output("stderr", text))
            elif text.strip():
                outputs.append(Output("markdown" if asis else "text", text))
        elif out["output_type"] in ("display_data", "execute_result"):
            data = out.get("data", {})
            if TITLE_MIME in data:
                value = data[TITLE_MIME]
                value = value.get("title", "") if isinstance(value, dict) else value
                outputs.append(Output("title", str(value)))
            elif "text/markdown" in data:
                outputs.append(Output("markdown", data["text/markdown"]))
            elif "image/png" in data or "image/svg+xml" in data:
                n_images += 1
                stem = _slug(f"{doc.path.stem if doc.path else 'doc'}-"
                             f"{cell.label or f'cell-{cell.number}'}-{n_images}")
                figdir.mkdir(parents=True, exist_ok=True)
                formats = []
                if "image/svg+xml" in data:
                    (figdir / f"{stem}.svg").write_text(data["image/svg+xml"], encoding="utf-8")
                    formats.append("svg")
                if "image/png" in data:
                    (figdir / f"{stem}.png").write_bytes(base64.b64decode(data["image/png"]))
                    formats.append("png")
                outputs.append(Output("image", (figdir / stem).relative_to(workdir).as_posix(),
                                      tuple(formats)))
            elif "text/plain" in data:
                text = _ANSI.sub("", data["text/plain"])
                outputs.append(Output("markdown" if asis else "text", text))
    return tuple(outputs)


def _error_message(exc: Exception) -> str:
    if isinstance(exc, CellExecutionError):
        ename = getattr(exc, "ename", "") or "Error"
        evalue = _ANSI.sub("", getattr(exc, "evalue", "") or "")
        return f"{ename}: {evalue}".strip()
    if isinstance(exc, CellTimeoutError):
        return "the cell did not finish within the time limit (timeout)"
    if isinstance(exc, DeadKernelError):
        return "the Python kernel died (out of memory or a crash in compiled code)"
    return f"{type(exc).__name__}: {exc}"


def execute_document(
    doc: QmdDocument,
    *,
    params: dict[str, Any] | None = None,
    workdir: Path,
    cwd: Path | None = None,
    timeout: int = 1200,
    on_cell: Callable[[int, int], None] | None = None,
) -> ExecutedDocument:
    """Execute a document's code cells and inline expressions in a fresh kernel.

    Parameters
    ----------
    doc : QmdDocument
        The parsed document.
    params : dict, optional
        Parameter values; they override the assignments of the cell tagged ``parameters``
        (typed as described in :func:`analysis.report.render.project.coerce_params`).
    workdir : pathlib.Path
        Directory where figures are written (under ``figures/``).
    cwd : pathlib.Path, optional
        Working directory of the kernel (default: the document's directory).
    timeout : int
        Seconds each cell may run.
    on_cell : callable, optional
        Called as ``on_cell(done, total)`` after each executed cell.

    Returns
    -------
    ExecutedDocument

    Raises
    ------
    RenderError
        When a cell or inline expression fails; the message names the report, the cell (label
        or number, line and first line of code) and the error, without a traceback.

    Examples
    --------
    >>> from analysis.report.render.qmd import parse_qmd
    >>> import tempfile
    >>> doc = parse_qmd("```{python}\\nx = 20 + 1\\nprint(x)\\n```\\nx is `{python} x`.\\n")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     done = execute_document(doc, workdir=Path(d))
    >>> done.cells[0].outputs[0].content.strip(), done.cells[1].inline
    ('21', ('21',))
    """
    params = coerce_params(doc, params)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    figdir = workdir / "figures"
    cwd = Path(cwd) if cwd else (doc.path.parent if doc.path else workdir)
    fig_w, fig_h = doc.front_matter.get("fig-width", 7), doc.front_matter.get("fig-height", 5)
    # 300 dpi: the PNG (used in Word) prints at >= 300 ppi, as journals ask; HTML and PDF use
    # the SVG. The figure theme leaves figure.dpi alone so that this value holds.
    dpi = doc.front_matter.get("fig-dpi", DEFAULT_DPI)

    # One notebook cell per thing to run, with what it belongs to.
    plan: list[tuple[str, Any, str]] = [("setup", None, _SETUP.format(w=fig_w, h=fig_h, dpi=dpi))]
    for cell in doc.cells:
        if cell.kind == "code":
            if _flag(cell, doc, "eval", True) is False:
                continue
            plan.append(("code", cell, cell.source))
            if params and "parameters" in cell.tags:
                plan.append(("params", cell, _injected_source(params)))
        else:
            for k, expr in enumerate(inline_expressions(cell.source)):
                code = f"{_INLINE_MARK} = ({expr}\n)\nprint(str({_INLINE_MARK}), end='')"
                plan.append(("inline", (cell, k, expr), code))

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for _, _, src in plan]

    outputs: dict[int, tuple[Output, ...]] = {}
    inline: dict[int, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="itb-kernel-") as spec_dir:
        client = NotebookClient(
            nb,
            km=_kernel_manager(Path(spec_dir)),
            timeout=timeout,
            allow_errors=False,
            resources={"metadata": {"path": str(cwd)}},
        )
        # The kernel's own log (e.g. ipykernel's TCP notice) is not the report's output.
        with client.setup_kernel(cleanup_kc=True, stderr=subprocess.DEVNULL):
            for index, (what, owner, _) in enumerate(plan):
                nbcell = nb.cells[index]
                try:
                    client.execute_cell(nbcell, index)
                except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
                    raise RenderError(_failure(doc, what, owner, exc, params)) from None
                if what == "code":
                    outputs[id(owner)] = _collect(nbcell, owner, doc, workdir, figdir)
                elif what == "inline":
                    cell, _, _ = owner
                    text = "".join(
                        o.get("text", "") for o in nbcell.outputs
                        if o["output_type"] == "stream" and o.get("name") == "stdout"
                    )
                    inline.setdefault(id(cell), []).append(text)
                if on_cell:
                    on_cell(index + 1, len(plan))

    cells = tuple(
        ExecutedCell(c, outputs.get(id(c), ()), tuple(inline.get(id(c), ())))
        for c in doc.cells
    )
    return ExecutedDocument(doc, cells, workdir)


def _failure(doc: QmdDocument, what: str, owner: Any, exc: Exception, params: dict) -> str:
    error = _error_message(exc)
    if what == "setup":
        return f"{doc.name}: the Python kernel could not be set up: {error}"
    if what == "params":
        return f"{doc.name}: the parameters {sorted(params)} could not be set: {error}"
    if what == "inline":
        cell, _, expr = owner
        return (f"{doc.name}: inline expression `{expr}` (in the text from line {cell.line}) "
                f"failed: {error}")
    return f"{doc.name}: {owner.describe()} failed: {error}"
