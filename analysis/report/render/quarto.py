"""Render with the Quarto CLI when it is installed.

Where Quarto writes: inside a project (a folder above the document holds ``_quarto.yml``),
``quarto render reports/a.qmd --output-dir OUT`` writes ``OUT/reports/a.html``: the output
directory mirrors the document's folder relative to the project. Outside a project it writes
``OUT/a.html``. :func:`render_with_quarto` returns those paths (and checks they exist).

Parameters are written to a YAML file passed with ``--execute-params`` rather than given as
``-P key:value``: Quarto reads ``-P`` values as YAML, so ``-P patient:007`` would arrive as the
number 7. They are typed first exactly as the built-in engine types them
(:func:`analysis.report.render.project.coerce_params`), so both paths see the same values.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from analysis.errors import RenderError
from analysis.report.escape import markdown_literal
from analysis.report.render.project import coerce_params, project_dir
from analysis.report.render.qmd import read_qmd

__all__ = ["quarto_available", "render_with_quarto", "quarto_command", "quarto_outputs",
           "QUARTO_FORMATS"]

#: Our format names -> Quarto's (the PDF is made by Quarto's ``typst`` format).
QUARTO_FORMATS = {"html": "html", "pdf": "typst", "docx": "docx"}


def quarto_available() -> bool:
    """True when the ``quarto`` command is on PATH.

    Examples
    --------
    >>> isinstance(quarto_available(), bool)
    True
    """
    return shutil.which("quarto") is not None


def quarto_command(
    qmd: Path, *, formats: Sequence[str], params_file: Path | None, out_dir: Path,
    metadata: dict[str, str] | None = None,
) -> list[str]:
    """The ``quarto render`` command line (without running it). ``metadata`` values (plain
    text, e.g. the study's title) are given with ``--metadata key:value`` as Markdown literals
    (Pandoc parses metadata strings as Markdown) quoted as YAML strings.

    Examples
    --------
    >>> quarto_command(Path("reports/a.qmd"), formats=["html", "pdf"], params_file=None,
    ...                out_dir=Path("_output"))[:5]
    ['quarto', 'render', 'reports/a.qmd', '--to', 'html,typst']
    >>> quarto_command(Path("a.qmd"), formats=["html"], params_file=None, out_dir=Path("o"),
    ...                metadata={"title": "![](/etc/passwd) <b>"})[-2:]
    ['--metadata', 'title:"\\\\\\\\!\\\\\\\\[\\\\\\\\](/etc/passwd) \\\\\\\\<b\\\\\\\\>"']
    """
    cmd = ["quarto", "render", str(qmd), "--to", ",".join(QUARTO_FORMATS[f] for f in formats),
           "--output-dir", str(out_dir), "--no-execute-daemon"]
    if params_file is not None:
        cmd += ["--execute-params", str(params_file)]
    for key, value in (metadata or {}).items():
        cmd += ["--metadata", f"{key}:{json.dumps(str(markdown_literal(' '.join(value.split()))))}"]
    return cmd


def quarto_outputs(qmd: Path, *, formats: Sequence[str], out_dir: Path) -> list[Path]:
    """The files ``quarto render`` writes for a document, one per format (see module notes).

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "_quarto.yml").write_text("project: {type: default}")
    >>> (root / "reports").mkdir()
    >>> [p.relative_to(root).as_posix() for p in quarto_outputs(
    ...     root / "reports" / "a.qmd", formats=["html", "pdf"], out_dir=root / "_output")]
    ['_output/reports/a.html', '_output/reports/a.pdf']
    """
    qmd = Path(qmd).resolve()
    root = project_dir(qmd)
    folder = out_dir
    if (root / "_quarto.yml").is_file():
        folder = Path(out_dir) / qmd.parent.relative_to(root)
    ext = {"html": "html", "pdf": "pdf", "docx": "docx"}
    return [Path(folder) / f"{qmd.stem}.{ext[f]}" for f in formats]


def render_with_quarto(
    qmd: str | Path,
    *,
    formats: Sequence[str] = ("html", "pdf", "docx"),
    params: dict[str, Any] | None = None,
    out_dir: str | Path = "_output",
    metadata: dict[str, str] | None = None,
) -> list[Path]:
    """Render a report with ``quarto render`` into ``out_dir`` (``metadata``: plain-text values
    over the front matter's, e.g. the study's title; see :func:`quarto_command`).

    Returns
    -------
    list of pathlib.Path
        The output files, one per format, where Quarto wrote them (:func:`quarto_outputs`).

    Raises
    ------
    RenderError
        When Quarto is missing or fails (the message holds the end of its output).
    """
    if not quarto_available():
        raise RenderError("the 'quarto' command is not on PATH; install Quarto or use "
                          "engine='builtin'")
    qmd = Path(qmd)
    doc = read_qmd(qmd)
    typed = coerce_params(doc, params)
    out_dir = Path(out_dir).resolve()
    with tempfile.TemporaryDirectory(prefix="itb-quarto-") as tmp:
        params_file = None
        if typed:
            params_file = Path(tmp) / "params.yml"
            params_file.write_text(yaml.safe_dump(typed, sort_keys=False), encoding="utf-8")
        cmd = quarto_command(qmd, formats=formats, params_file=params_file, out_dir=out_dir,
                             metadata=metadata)
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise RenderError(f"{qmd.name}: quarto render failed:\n{tail}")
    paths = quarto_outputs(qmd, formats=formats, out_dir=out_dir)
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise RenderError(f"{qmd.name}: quarto render succeeded but did not write {missing}")
    return paths
