"""The Quarto project around a document: the options of ``_quarto.yml`` merged under its front
matter, the project folder, and the parameters checked and typed against the document's
parameters cell (both render paths use them, so both see the same values).
"""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path
from typing import Any

from analysis.data.yaml_safe import load_yaml
from analysis.errors import RenderError
from analysis.report.render.qmd import QmdDocument, parse_qmd  # noqa: F401 (doctests)

__all__ = ["coerce_params", "with_project", "project_dir"]


def _coerce(name: str, value: Any, default: Any) -> Any:
    if not isinstance(value, str) or default is None or isinstance(default, str):
        return value
    text = value.strip()
    try:
        if isinstance(default, bool):
            lowered = text.lower()
            if lowered in {"true", "yes", "1"}:
                return True
            if lowered in {"false", "no", "0"}:
                return False
            raise ValueError(text)
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, (list, tuple, dict)):
            parsed = ast.literal_eval(text)
            if not isinstance(parsed, type(default)):
                raise ValueError(text)
            return parsed
    except (ValueError, SyntaxError):
        raise RenderError(
            f"parameter '{name}': {value!r} is not a {type(default).__name__} like its "
            f"default {default!r}; give a value of that type"
        ) from None
    return value


def coerce_params(doc: QmdDocument, params: dict[str, Any] | None) -> dict[str, Any]:
    """Check parameters against the document's parameters cell and type them.

    Parameters given as strings (as from the command line) stay strings, unless the default in
    the parameters cell is a bool, int, float, list or dict, in which case they are converted to
    that type. So ``patient=007`` stays ``"007"`` (Quarto's ``-P`` would read it as YAML and
    make it 7). Values that are not strings are passed through unchanged.

    Raises
    ------
    RenderError
        When the document has no parameters cell, a name is not one of its parameters, or a
        value cannot be converted to its default's type.

    Examples
    --------
    >>> doc = parse_qmd("```{python}\\n#| tags: [parameters]\\nn = 3\\npid = None\\n```\\n")
    >>> coerce_params(doc, {"n": "5", "pid": "007"})
    {'n': 5, 'pid': '007'}
    """
    params = dict(params or {})
    if not params:
        return {}
    defaults = doc.parameter_defaults()
    if doc.parameters_cell() is None:
        raise RenderError(
            f"{doc.name}: parameters {sorted(params)} were given but the document has no cell "
            "tagged parameters; add '#| tags: [parameters]' to the cell that sets them"
        )
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise RenderError(
            f"{doc.name}: unknown parameter(s) {unknown}; the parameters cell defines "
            f"{sorted(defaults)}"
        )
    return {k: _coerce(k, v, defaults[k]) for k, v in params.items()}


def _deep_merge(base: dict, over: dict) -> dict:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def with_project(doc: QmdDocument, project_yml: Path | None) -> QmdDocument:
    """Merge a Quarto project's ``_quarto.yml`` options under the document's front matter.

    As in Quarto, the document's own options win; ``execute`` and ``format`` are merged key by
    key. The ``project`` section itself is not a document option and is left out.

    Examples
    --------
    >>> import tempfile
    >>> yml = Path(tempfile.mkdtemp()) / "_quarto.yml"
    >>> _ = yml.write_text("project: {type: default}\\nexecute: {echo: false, warning: false}")
    >>> doc = with_project(parse_qmd("---\\nexecute:\\n  echo: true\\n---\\n"), yml)
    >>> doc.front_matter["execute"]
    {'echo': True, 'warning': False}
    """
    if project_yml is None or not Path(project_yml).is_file():
        return doc
    try:
        project = load_yaml(project_yml, error=RenderError, what="Quarto project file") or {}
    except RenderError as exc:
        raise RenderError(f"{project_yml}: not valid YAML: {exc}") from None
    if not isinstance(project, dict):
        raise RenderError(f"{project_yml}: must be a mapping of key: value")
    project = {k: v for k, v in project.items() if k != "project"}
    return replace(doc, front_matter=_deep_merge(project, doc.front_matter))


def project_dir(qmd: Path) -> Path:
    """The Quarto project directory of a document: the nearest folder above it that holds
    ``_quarto.yml``, else the document's own folder.

    Examples
    --------
    >>> project_dir(Path("/nonexistent/dir/report.qmd"))
    PosixPath('/nonexistent/dir')
    """
    qmd = Path(qmd).resolve()
    for folder in qmd.parents:
        if (folder / "_quarto.yml").is_file():
            return folder
    return qmd.parent
