"""Parse a Quarto (``.qmd``) document into front matter, cells and inline expressions.

Only the parts of the Quarto format the reports use are understood: YAML front matter, Python
code cells (```` ```{python} ````) with ``#|`` options, the Markdown between them, inline
expressions (`` `{python} expr` ``) and the cell tagged ``parameters``. Whatever Quarto would
do with these, :mod:`analysis.report.render` does the same, so one source renders with Quarto or with
the built-in engine.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from analysis.data.yaml_safe import load_yaml_text
from analysis.errors import RenderError

__all__ = [
    "Cell",
    "QmdDocument",
    "parse_qmd",
    "read_qmd",
    "inline_expressions",
    "INLINE_RE",
]

#: An inline expression: `` `{python} expr` `` (Quarto 1.4+ syntax).
INLINE_RE = re.compile(r"`\{python\}\s+([^`]+?)\s*`")

_FENCE_OPEN = re.compile(r"^(?P<fence>`{3,})\s*\{(?P<lang>[A-Za-z0-9_]+)(?P<rest>[^}]*)\}\s*$")
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_OPTION = re.compile(r"^#\|\s?(.*)$")


@dataclass(frozen=True)
class Cell:
    """One cell of a document.

    Attributes
    ----------
    kind : {"code", "markdown"}
        A Python code cell or the Markdown between code cells.
    source : str
        The code without its ``#|`` option lines, or the Markdown text.
    options : dict
        The cell's ``#|`` options parsed as YAML (code cells only).
    number : int
        1-based number of the code cell in the document (0 for Markdown).
    line : int
        1-based line of the cell's first line in the file.
    """

    kind: Literal["code", "markdown"]
    source: str
    options: dict[str, Any] = field(default_factory=dict)
    number: int = 0
    line: int = 1

    @property
    def label(self) -> str | None:
        """The cell's ``label`` option, if any."""
        label = self.options.get("label")
        return str(label) if label is not None else None

    @property
    def tags(self) -> list[str]:
        """The cell's ``tags`` option as a list."""
        tags = self.options.get("tags") or []
        return [str(t) for t in (tags if isinstance(tags, list) else [tags])]

    def describe(self) -> str:
        """Name the cell for an error message: label or number, and its first line.

        Examples
        --------
        >>> Cell("code", "x = 1\\ny = 2", {"label": "setup"}, 3, 10).describe()
        "cell 'setup' (line 10: x = 1)"
        >>> Cell("code", "x = 1", {}, 3, 10).describe()
        'cell 3 (line 10: x = 1)'
        """
        first = next((ln.strip() for ln in self.source.splitlines() if ln.strip()), "")
        name = f"cell '{self.label}'" if self.label else f"cell {self.number}"
        return f"{name} (line {self.line}: {first[:60]})"


@dataclass(frozen=True)
class QmdDocument:
    """A parsed ``.qmd`` document.

    Attributes
    ----------
    front_matter : dict
        The YAML front matter (empty when there is none).
    cells : tuple of Cell
        Code and Markdown cells in order.
    path : pathlib.Path or None
        Where the document was read from.
    """

    front_matter: dict[str, Any]
    cells: tuple[Cell, ...]
    path: Path | None = None

    @property
    def name(self) -> str:
        """The document's file name, or ``"<string>"``."""
        return self.path.name if self.path else "<string>"

    @property
    def code_cells(self) -> list[Cell]:
        """The code cells in order."""
        return [c for c in self.cells if c.kind == "code"]

    def parameters_cell(self) -> Cell | None:
        """The code cell tagged ``parameters`` (as Quarto and papermill require), or None."""
        return next((c for c in self.code_cells if "parameters" in c.tags), None)

    def parameter_defaults(self) -> dict[str, Any]:
        """Names and default values assigned in the parameters cell.

        Values that are not Python literals (e.g. ``Path("x")``) are returned as ``None``;
        parameters given for them are passed through as strings.

        Examples
        --------
        >>> doc = parse_qmd("```{python}\\n#| tags: [parameters]\\nn = 3\\nname = 'a'\\n```\\n")
        >>> doc.parameter_defaults()
        {'n': 3, 'name': 'a'}
        """
        cell = self.parameters_cell()
        if cell is None:
            return {}
        try:
            tree = ast.parse(cell.source)
        except SyntaxError as exc:
            raise RenderError(
                f"{self.name}: the parameters {cell.describe()} is not valid Python: {exc.msg}"
            ) from None
        defaults: dict[str, Any] = {}
        for node in tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and node.value is not None:
                        try:
                            defaults[target.id] = ast.literal_eval(node.value)
                        except ValueError:
                            defaults[target.id] = None
        return defaults

    def option(self, key: str, default: Any = None) -> Any:
        """A document-level execution option from ``execute:`` in the front matter.

        Examples
        --------
        >>> parse_qmd("---\\nexecute:\\n  echo: false\\n---\\n").option("echo", True)
        False
        """
        execute = self.front_matter.get("execute") or {}
        return execute.get(key, default) if isinstance(execute, dict) else default


def _parse_options(lines: list[str], *, where: str) -> dict[str, Any]:
    if not lines:
        return {}
    try:
        options = load_yaml_text("\n".join(lines), source=where, error=RenderError) or {}
    except RenderError as exc:
        raise RenderError(f"{where}: the '#|' cell options are not valid YAML: {exc}") from None
    if not isinstance(options, dict):
        raise RenderError(f"{where}: '#|' cell options must be 'key: value' lines")
    return options


def parse_qmd(text: str, *, path: Path | None = None) -> QmdDocument:
    """Parse the text of a ``.qmd`` document.

    Parameters
    ----------
    text : str
        The document.
    path : pathlib.Path, optional
        Where it came from (used in error messages).

    Returns
    -------
    QmdDocument

    Examples
    --------
    >>> doc = parse_qmd('''---
    ... title: Demo
    ... ---
    ... Some text `{python} 1 + 1`.
    ...
    ... ```{python}
    ... #| label: fig-a
    ... #| fig-cap: "A figure"
    ... print(1)
    ... ```
    ... ''')
    >>> doc.front_matter["title"]
    'Demo'
    >>> [c.kind for c in doc.cells]
    ['markdown', 'code']
    >>> doc.cells[1].options["fig-cap"], doc.cells[1].source
    ('A figure', 'print(1)')
    """
    name = path.name if path else "<string>"
    front: dict[str, Any] = {}
    body_start_line = 1
    match = _FRONT.match(text)
    if match:
        try:
            front = load_yaml_text(match.group(1), source=name, error=RenderError) or {}
        except RenderError as exc:
            raise RenderError(f"{name}: the YAML front matter is not valid: {exc}") from None
        if not isinstance(front, dict):
            raise RenderError(f"{name}: the YAML front matter must be a mapping of key: value")
        body_start_line = text[: match.end()].count("\n") + 1
        text = text[match.end():]

    cells: list[Cell] = []
    lines = text.splitlines()
    markdown: list[str] = []
    md_line = body_start_line
    number = 0
    i = 0

    def flush_markdown(next_line: int) -> None:
        nonlocal markdown, md_line
        if "".join(markdown).strip():
            # The cell's line is that of its first non-blank line (the text is stripped).
            lead = next(k for k, text in enumerate(markdown) if text.strip())
            cells.append(Cell("markdown", "\n".join(markdown[lead:]).rstrip("\n"),
                              line=md_line + lead))
        markdown = []
        md_line = next_line

    while i < len(lines):
        opened = _FENCE_OPEN.match(lines[i])
        if not opened or opened.group("lang") != "python":
            markdown.append(lines[i])
            i += 1
            continue
        fence = opened.group("fence")
        start = i
        flush_markdown(start + body_start_line)
        i += 1
        body: list[str] = []
        while i < len(lines) and not (
            lines[i].strip().startswith(fence) and lines[i].strip().strip("`") == ""
        ):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise RenderError(
                f"{name}, line {start + body_start_line}: the code cell is never closed; "
                f"add a line with {fence}"
            )
        i += 1
        option_lines = []
        while body and _OPTION.match(body[0]):
            option_lines.append(_OPTION.match(body.pop(0)).group(1))
        number += 1
        where = f"{name}, line {start + body_start_line}"
        cells.append(
            Cell(
                "code",
                "\n".join(body).strip("\n"),
                _parse_options(option_lines, where=where),
                number,
                start + body_start_line,
            )
        )
        md_line = i + body_start_line
    flush_markdown(len(lines) + body_start_line)
    return QmdDocument(front, tuple(cells), path)


def read_qmd(path: str | Path) -> QmdDocument:
    """Read and parse a ``.qmd`` file (see :func:`parse_qmd`)."""
    path = Path(path)
    if not path.is_file():
        raise RenderError(f"report not found: {path}; give the path of a .qmd file")
    return parse_qmd(path.read_text(encoding="utf-8"), path=path)


def inline_expressions(markdown: str) -> list[str]:
    """The inline Python expressions of a Markdown cell, in order.

    Examples
    --------
    >>> inline_expressions("a `{python} x + 1` b `{python} f('s')` c `code`")
    ['x + 1', "f('s')"]
    """
    return [m.group(1) for m in INLINE_RE.finditer(markdown)]
