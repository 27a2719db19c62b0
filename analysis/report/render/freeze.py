"""Freeze: reuse a document's executed outputs while nothing they depend on has changed.

Like Quarto's ``execute: freeze: auto``, but keyed by content rather than by the source file:
the key is a SHA-256 over

- the code: every code cell (source and options) and every inline expression, in order;
- the parameters as the document will see them (the given values over the defaults of the
  parameters cell) and the content of every file or folder a parameter names (the data, the
  study configuration, a codebook...);
- the configuration of the execution: the document's and project's ``execute`` options and
  figure size and resolution;
- the source of the ``analysis`` package (every file of it) and the versions of Python and the
  numerical libraries.

Prose is not in the key: editing text without inline expressions re-uses the outputs (the
document is still assembled and converted afresh). Any change in the key re-executes the whole
document: cells share one kernel's state, which cannot be restored without pickling it (never
done here), so there is no partial re-execution.

Outputs are stored as JSON (text, Markdown, inline values) and the figures' own SVG/PNG files,
in ``<out_dir>/_freeze/<document>/``; nothing is pickled and nothing stored is ever executed.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from analysis.report.render.execute import ExecutedCell, ExecutedDocument, Output
from analysis.report.render.project import coerce_params
from analysis.report.render.qmd import QmdDocument, inline_expressions

__all__ = ["freeze_key", "load_frozen", "store_frozen", "freeze_enabled", "FREEZE_FORMAT"]

#: Version of the stored layout; bump it when what is stored changes.
FREEZE_FORMAT = 1
_LIBRARIES = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "seaborn", "ipykernel")
_SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", "_freeze", ".pytest_cache"}


def freeze_enabled(doc: QmdDocument) -> bool:
    """Whether the document asks for freezing (``execute: freeze: auto`` or ``true``).

    ``true`` is treated as ``auto``: outputs are re-used only while the key matches (Quarto's
    ``true`` never re-executes, which could show results of other data).

    Examples
    --------
    >>> from analysis.report.render.qmd import parse_qmd
    >>> freeze_enabled(parse_qmd("---\\nexecute:\\n  freeze: auto\\n---\\n"))
    True
    """
    value = doc.option("freeze", False)
    return value is True or str(value).lower() == "auto"


def _hash_path(h: Any, path: Path) -> None:
    if path.is_file():
        h.update(b"F" + path.name.encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            file = Path(root) / name
            h.update(b"P" + file.relative_to(path).as_posix().encode())
            _hash_path(h, file)


def package_digest() -> str:
    """SHA-256 of every file of the ``analysis`` package (its source and bundled data)."""
    import analysis

    h = hashlib.sha256()
    _hash_path(h, Path(analysis.__file__).resolve().parent)
    return h.hexdigest()


def freeze_key(doc: QmdDocument, *, params: dict[str, Any] | None, cwd: Path,
               fig: tuple[Any, Any, Any]) -> str:
    """The content key of a document's execution (see the module notes)."""
    h = hashlib.sha256()

    def add(tag: str, value: Any) -> None:
        h.update(tag.encode() + b"\0" + json.dumps(value, sort_keys=True, default=str).encode()
                 + b"\0")

    add("format", FREEZE_FORMAT)
    for cell in doc.cells:
        if cell.kind == "code":
            add("code", [cell.source, cell.options])
        else:
            add("inline", inline_expressions(cell.source))
    typed = coerce_params(doc, params)
    effective = {**doc.parameter_defaults(), **typed}
    add("params", typed)
    for name, value in sorted(effective.items()):
        if isinstance(value, (str, os.PathLike)) and str(value):
            path = Path(value) if Path(value).is_absolute() else Path(cwd) / value
            try:
                exists = path.exists()
            except OSError:
                exists = False
            if exists:
                add("input", name)
                _hash_path(h, path.resolve())
    add("execute", doc.front_matter.get("execute"))
    add("figure", list(fig))
    add("cwd", str(Path(cwd).resolve()))
    add("package", package_digest())
    versions = {}
    for lib in _LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    add("environment", [platform.python_version(), versions])
    return h.hexdigest()


def _folder(freeze_dir: Path, doc: QmdDocument) -> Path:
    return Path(freeze_dir) / (doc.path.stem if doc.path else "document")


def store_frozen(executed: ExecutedDocument, key: str, freeze_dir: Path) -> Path:
    """Store an execution's outputs (JSON and figure files) under its key; returns the folder.

    The folder is replaced whole (written beside it, then renamed), so a failed write never
    leaves a half-written freeze.
    """
    folder = _folder(freeze_dir, executed.doc)
    folder.parent.mkdir(parents=True, exist_ok=True)
    code, inline = [], []
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
    for done in executed.cells:
        if done.cell.kind == "code":
            outs = []
            for o in done.outputs:
                outs.append({"kind": o.kind, "content": o.content, "formats": list(o.formats)})
                for ext in o.formats:
                    src = executed.workdir / f"{o.content}.{ext}"
                    dest = tmp / f"{o.content}.{ext}"
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dest)
            code.append(outs)
        else:
            inline.extend(done.inline)
    record = {"format": FREEZE_FORMAT, "key": key, "code_cells": code, "inline": inline}
    (tmp / "freeze.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder


def load_frozen(doc: QmdDocument, key: str, freeze_dir: Path,
                workdir: Path) -> ExecutedDocument | None:
    """The stored execution of ``doc`` when its key matches ``key`` (figures copied into
    ``workdir``), else None."""
    folder = _folder(freeze_dir, doc)
    try:
        record = json.loads((folder / "freeze.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("key") != key or record.get("format") != FREEZE_FORMAT:
        return None
    code = iter(record["code_cells"])
    inline = iter(record["inline"])
    cells = []
    try:
        for cell in doc.cells:
            if cell.kind == "code":
                outs = []
                for o in next(code):
                    out = Output(o["kind"], o["content"], tuple(o["formats"]))
                    for ext in out.formats:
                        dest = Path(workdir) / f"{out.content}.{ext}"
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(folder / f"{out.content}.{ext}", dest)
                    outs.append(out)
                cells.append(ExecutedCell(cell, tuple(outs)))
            else:
                n = len(inline_expressions(cell.source))
                cells.append(ExecutedCell(cell, (), tuple(next(inline) for _ in range(n))))
    except (StopIteration, OSError, KeyError):
        return None
    return ExecutedDocument(doc, tuple(cells), Path(workdir))
