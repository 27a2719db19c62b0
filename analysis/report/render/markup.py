"""The Quarto Markdown the built-in renderer understands beyond Pandoc's own, and what it refuses.

Supported, rendered as Quarto renders them:

- section numbers (``number-sections: true``) and ``@sec-`` cross-references ("Section 2.1";
  without numbering, the section's title); a heading with ``{.appendix}`` starts the
  appendices, whose top-level sections are lettered ("Appendix A", "A.1");
- the author and affiliation schema, ``abstract`` and ``keywords``
  (:mod:`analysis.report.render.front_matter`);
- callouts ``::: {.callout-note}`` (also ``tip``, ``warning``, ``caution``, ``important``), as
  framed boxes with a title (the first heading inside, a ``title="..."`` attribute, or the type);
- ``{{< pagebreak >}}``.

Refused with an error naming the construct and the line (rather than printed literally): every
other shortcode (``{{< embed >}}``, ``{{< include >}}``...), unknown callout types, Quarto's
layout divs and options (``.panel-*``, ``.column-*``, ``layout-ncol``...), figure and table
divs (``::: {#fig-x}``), conditional content (``.content-visible``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from analysis.errors import RenderError
from analysis.report.render.trusted import raw_block

__all__ = [
    "CrossrefWarning",
    "CALLOUT_TYPES",
    "SectionNumbers",
    "check_markdown",
    "check_cell_options",
    "render_callouts",
    "resolve_section_refs",
    "pagebreaks",
]

class CrossrefWarning(UserWarning):
    """A cross-reference names a label that no figure, table or section carries."""


#: Callout types and their default titles (as Quarto's).
CALLOUT_TYPES = {"note": "Note", "tip": "Tip", "warning": "Warning", "caution": "Caution",
                 "important": "Important"}
#: Colours of the callout frames (Okabe-Ito, as in the figures).
_CALLOUT_COLOURS = {"note": "#0072B2", "tip": "#009E73", "warning": "#E69F00",
                    "caution": "#D55E00", "important": "#CC79A7"}

_SHORTCODE = re.compile(r"\{\{<\s*([\w-]+)([^>]*)>\}\}")
_DIV_OPEN = re.compile(r"^(?P<colons>:{3,})\s*(?:\{(?P<attrs>[^}]*)\}|(?P<word>[\w-]+))\s*$")
_DIV_CLOSE = re.compile(r"^:{3,}\s*$")
_CODE_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.*?)(?:\s+\{(?P<attrs>[^}]*)\})?\s*$")
_SEC_REF = re.compile(r"(?<![\w@\-])(-?)@(sec-[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*)")

#: Quarto-only classes and attributes of divs that the built-in renderer does not lay out.
_REFUSED_DIV = re.compile(r"(?:^|\s)\.(panel-[\w-]+|column-[\w-]+|content-visible|content-hidden|"
                          r"page-columns|callout(?:-[\w-]+)?|cell-output[\w-]*)\b")
_REFUSED_DIV_ATTR = re.compile(r"(?:^|\s)(layout(?:-ncol|-nrow|-align|-valign)?)\s*=")
_REFUSED_DIV_ID = re.compile(r"(?:^|\s)#((?:fig|tbl|lst|eq|thm|lem)-[\w-]+)")
#: Cell options for Quarto's figure layout, which the built-in renderer does not do.
REFUSED_CELL_OPTIONS = ("layout", "layout-ncol", "layout-nrow", "layout-align", "fig-subcap",
                        "tbl-subcap", "column", "fig-column", "tbl-column", "panel", "lightbox")


def _lines_outside_code(text: str):
    """Yield (index, line) of the lines that are not inside a fenced code block."""
    fence = None
    for i, line in enumerate(text.splitlines()):
        m = _CODE_FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)[0] * len(m.group(1))
            continue
        if fence is not None:
            if line.strip().startswith(fence) and line.strip().strip(fence[0]) == "":
                fence = None
            continue
        yield i, line


def _callout_type(attrs: str) -> str | None:
    m = re.search(r"(?:^|\s)\.callout-([\w-]+)", attrs)
    return m.group(1) if m else None


def check_markdown(text: str, *, where: str, first_line: int = 1) -> None:
    """Refuse the Quarto constructs the built-in renderer does not render.

    Parameters
    ----------
    text : str
        Markdown of one cell (or one cell output).
    where : str
        The document name, for the message.
    first_line : int
        File line of the text's first line (0 when the text is a cell's output).

    Raises
    ------
    RenderError
        Naming the construct and its line.

    Examples
    --------
    >>> check_markdown("::: {.callout-tip}\\nok\\n:::\\n{{< pagebreak >}}", where="a.qmd")
    >>> check_markdown("text\\n{{< embed nb.ipynb#fig >}}", where="a.qmd", first_line=10)
    Traceback (most recent call last):
    ...
    analysis.errors.RenderError: a.qmd, line 11: the Quarto shortcode {{< embed >}} is not supported by the built-in renderer; render with Quarto (itb report --engine quarto) or remove it
    """

    def at(i: int) -> str:
        return f"{where}, line {first_line + i}" if first_line else where

    for i, line in _lines_outside_code(text):
        for m in _SHORTCODE.finditer(line):
            if m.group(1) != "pagebreak":
                raise RenderError(
                    f"{at(i)}: the Quarto shortcode {{{{< {m.group(1)} >}}}} is not supported by "
                    "the built-in renderer; render with Quarto (itb report --engine quarto) or "
                    "remove it")
        opened = _DIV_OPEN.match(line)
        if not opened:
            continue
        attrs = opened.group("attrs") or f".{opened.group('word')}"
        kind = _callout_type(attrs)
        if kind is not None:
            if kind not in CALLOUT_TYPES:
                raise RenderError(
                    f"{at(i)}: unknown callout type '.callout-{kind}'; use one of "
                    + ", ".join(f".callout-{k}" for k in CALLOUT_TYPES))
            continue
        for pattern, what in ((_REFUSED_DIV, "class"), (_REFUSED_DIV_ATTR, "attribute"),
                              (_REFUSED_DIV_ID, "figure/table div")):
            m = pattern.search(attrs)
            if m:
                shown = f".{m.group(1)}" if what == "class" else m.group(1)
                hint = ("give the figure or table by a code cell with '#| label:' and "
                        "'#| fig-cap:'/'#| tbl-cap:' instead" if what == "figure/table div"
                        else "render with Quarto (itb report --engine quarto) or remove it")
                raise RenderError(
                    f"{at(i)}: the Quarto div {what} '{shown}' ({line.strip()}) is not supported "
                    f"by the built-in renderer; {hint}")


def check_cell_options(options: dict[str, Any], *, where: str) -> None:
    """Refuse Quarto layout options on a code cell.

    Examples
    --------
    >>> check_cell_options({"label": "fig-a", "fig-alt": "x"}, where="a.qmd, line 3")
    >>> check_cell_options({"layout-ncol": 2}, where="a.qmd, line 3")
    Traceback (most recent call last):
    ...
    analysis.errors.RenderError: a.qmd, line 3: the cell option 'layout-ncol' (Quarto figure layout) is not supported by the built-in renderer; draw one figure per cell (or use subplots) or render with Quarto
    """
    for key in REFUSED_CELL_OPTIONS:
        if key in options:
            raise RenderError(
                f"{where}: the cell option '{key}' (Quarto figure layout) is not supported by the "
                "built-in renderer; draw one figure per cell (or use subplots) or render with "
                "Quarto")


# --- callouts and page breaks ------------------------------------------------------------------

def _callout_open(fmt: str, kind: str, title: str) -> list[str]:
    colour = _CALLOUT_COLOURS[kind]
    if fmt == "html":
        return [f"::::: {{.callout .callout-{kind}}}", "::: {.callout-title}", title, ":::", ""]
    if fmt == "docx":
        return ['::::: {custom-style="Callout"}', f"**{title}**", ""]
    return [raw_block("typst", f'#block(width: 100%, inset: 8pt, radius: 2pt, breakable: false, '
                      f'fill: rgb("{colour}").lighten(90%), stroke: (left: 2.5pt + rgb("{colour}")))['),
            "", f"**{title}**", ""]


def _callout_close(fmt: str) -> list[str]:
    if fmt in ("html", "docx"):
        return ["", ":::::"]
    return ["", raw_block("typst", "]")]


def render_callouts(text: str, fmt: str) -> str:
    """Rewrite callout divs as boxes for one output format ("html", "docx" or "pdf").

    The title is the ``title`` attribute, else the first heading inside (which is then not a
    section of the document, as in Quarto), else the type ("Note").

    Examples
    --------
    >>> print(render_callouts("::: {.callout-tip}\\n## Read me\\nBody.\\n:::", "docx"))
    ::::: {custom-style="Callout"}
    **Read me**
    <BLANKLINE>
    Body.
    <BLANKLINE>
    :::::
    """
    lines = text.splitlines()
    out: list[str] = []
    stack: list[bool] = []  # for each open div: is it a callout
    outside = {i for i, _ in _lines_outside_code(text)}
    i = 0
    while i < len(lines):
        line = lines[i]
        opened = _DIV_OPEN.match(line) if i in outside else None
        if opened and opened.group("attrs") is not None and _callout_type(opened.group("attrs")):
            attrs = opened.group("attrs")
            kind = _callout_type(attrs)
            t = re.search(r'title\s*=\s*"([^"]*)"', attrs)
            title = t.group(1) if t else None
            if title is None:
                j = i + 1
                while j < len(lines) and not lines[j].strip():
                    j += 1
                heading = _HEADING.match(lines[j]) if j < len(lines) else None
                if heading:
                    title = heading.group("title")
                    i = j
            out += _callout_open(fmt, kind, title or CALLOUT_TYPES.get(kind, kind.title()))
            stack.append(True)
        elif opened:
            out.append(line)
            stack.append(False)
        elif i in outside and _DIV_CLOSE.match(line) and stack:
            out += _callout_close(fmt) if stack.pop() else [line]
        else:
            out.append(line)
        i += 1
    return "\n".join(out)


_PAGEBREAK = {
    "html": ("html", '<div style="page-break-after: always;"></div>'),
    "docx": ("openxml", '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'),
    "pdf": ("typst", "#pagebreak()"),
}


def pagebreaks(text: str, fmt: str) -> str:
    """Replace ``{{< pagebreak >}}`` by the format's page break.

    Examples
    --------
    >>> pagebreaks("a\\n\\n{{< pagebreak >}}\\n\\nb", "pdf").splitlines()[3]
    '#pagebreak()'
    """
    return re.sub(r"\{\{<\s*pagebreak\s*>\}\}", lambda m: raw_block(*_PAGEBREAK[fmt]), text)


# --- sections ----------------------------------------------------------------------------------

@dataclass
class SectionNumbers:
    """Number headings in document order; ``labels`` maps ``sec-`` ids to their numbers.

    Numbering starts at the shallowest heading level of the document (``top``). After a heading
    with the class ``appendix`` the top-level sections are lettered (A, B...).

    Examples
    --------
    >>> s = SectionNumbers(top=2, enabled=True)
    >>> s.heading("## Methods {#sec-methods}")
    '## 1 Methods {#sec-methods}'
    >>> s.heading("### Models")
    '### 1.1 Models'
    >>> s.heading("## Data {.appendix #sec-data}")
    '## Appendix A: Data {.appendix #sec-data}'
    >>> s.labels
    {'sec-methods': '1', 'sec-data': 'A'}
    """

    top: int = 1
    enabled: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    counters: list[int] = field(default_factory=lambda: [0] * 6)
    appendix: bool = False

    def heading(self, line: str) -> str:
        m = _HEADING.match(line)
        if not m:
            return line
        attrs = m.group("attrs") or ""
        level = len(m.group("hashes")) - self.top
        title = m.group("title")
        classes = re.findall(r"(?:^|\s)\.([\w-]+)", attrs)
        ident = re.search(r"(?:^|\s)#([\w-]+)", attrs)
        if "appendix" in classes and not self.appendix:
            self.appendix = True
            self.counters = [0] * 6
        numbered = (self.enabled or self.appendix) and level >= 0 and not (
            "unnumbered" in classes or re.search(r"(?:^|\s)-(?:\s|$)", attrs))
        number = ""
        if numbered:
            self.counters[level] += 1
            self.counters[level + 1:] = [0] * (5 - level)
            parts = [str(c) for c in self.counters[: level + 1]]
            if self.appendix:
                parts[0] = chr(ord("A") + self.counters[0] - 1)
            number = ".".join(parts)
        if ident:
            self.titles[ident.group(1)] = title
            if number:
                self.labels[ident.group(1)] = number
        if not number:
            return line
        shown = f"Appendix {number}: {title}" if self.appendix and level == 0 else f"{number} {title}"
        suffix = f" {{{attrs}}}" if m.group("attrs") is not None else ""
        return f"{m.group('hashes')} {shown}{suffix}"

    def number_text(self, text: str) -> str:
        """Number every heading of a Markdown text (code blocks left alone)."""
        lines = text.splitlines()
        for i, _ in list(_lines_outside_code(text)):
            lines[i] = self.heading(lines[i])
        return "\n".join(lines)


def heading_levels(text: str) -> list[int]:
    """Levels of the ATX headings of a Markdown text, outside code blocks."""
    return [len(m.group("hashes")) for _, line in _lines_outside_code(text)
            if (m := _HEADING.match(line))]


def resolve_section_refs(text: str, sections: SectionNumbers, *, where: str = "") -> str:
    """Replace ``@sec-x`` by a link: "Section 2.1" (numbered), "Appendix A", or the title.

    Examples
    --------
    >>> s = SectionNumbers(labels={"sec-a": "2.1"}, titles={"sec-a": "Data", "sec-b": "Notes"})
    >>> resolve_section_refs("See @sec-a and @sec-b.", s)
    'See [Section 2.1](#sec-a) and [Notes](#sec-b).'
    """

    def repl(m: re.Match) -> str:
        bare, label = m.group(1), m.group(2)
        if label in sections.labels:
            num = sections.labels[label]
            word = "Appendix" if num[0].isalpha() else "Section"
            return f"[{num if bare else f'{word} {num}'}](#{label})"
        if label in sections.titles:
            return f"[{sections.titles[label]}](#{label})"
        warnings.warn(f"{where}unresolved cross-reference @{label}; give the heading "
                      f"{{#{label}}} or fix the reference", CrossrefWarning, stacklevel=2)
        return f"**?@{label}**"

    return _SEC_REF.sub(repl, text)
