"""The one boundary between text from the data and the documents: literal text, per target.

Every string that comes from the data or from a user's files (patient ids, visit and measure
labels, titles, sources, codebook text, notes, file names) reaches a report only through the
functions of this module:

- :func:`markdown_prose` for the Markdown that Pandoc (built-in engine) or Quarto reads. It
  backslash-escapes every character that Pandoc's Markdown or Quarto gives a meaning to (``\\``
  ``*`` ``_`` `````` ``{`` ``}`` ``[`` ``]`` ``<`` ``>`` ``#`` ``!`` ``|`` ``~`` ``^`` ``$``
  ``&`` ``@`` ``:`` ``=`` and a list or line-block marker at the start of a line), so that no
  image, link, raw attribute, raw HTML/TeX/Typst, span or div attribute, shortcode
  (``{{< ... >}}``), math, footnote, citation, entity or code can arise from data. Only four
  kinds of token that the reports' own code writes are left as markup, each matched whole:
  citations of the bundled bibliography (``[@holm1979]``), cross-references (``@tbl-x``,
  ``@fig-x``, ``@sec-x``), table-footnote marks (``^a^``) and the italic symbols of
  statistics (``*d*~z~``, ``*r*~rb~``). It is idempotent (an escaped
  character stays escaped), so text already made literal may pass through it again.
  Invisible, direction-changing and control characters are written visibly as ``<U+202E>``
  (:func:`analysis.text.visible`, the rule the command line's messages follow too); tab and
  line feed are kept.
- :func:`markdown_literal` for a string that is data and nothing else (no token kept, one
  line).
- :func:`typst_string` for a Typst string literal (alt text in the PDF).
- :func:`matplotlib_text` for text drawn in a figure (tick labels, axis labels, legends,
  annotations): matplotlib reads a pair of ``$`` as mathtext, so data ``$x$`` would be typeset
  (and a malformed one would stop the figure); every ``$`` is escaped.

Typst and Word receive text, never markup: Pandoc's writers escape the text nodes this Markdown
becomes. :class:`Markdown` marks text that has passed the boundary; :func:`markdown_output`
applies it to the return value of a function that writes report text.

Why hand-written: Pandoc has no "escape this string" entry point and a round trip through its
AST per string (``pandoc -t json``) would cost a process per label; the escaping below is the
Markdown spec's own (any ASCII punctuation may be backslash-escaped), applied to every
significant character, and is checked by rendering payloads through Pandoc in
``tests/test_security_render.py``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analysis.text import visible

__all__ = ["Markdown", "markdown_prose", "markdown_literal", "markdown_output",
           "matplotlib_text", "typst_string"]


class Markdown(str):
    """Markdown that has passed the boundary (made by this module, never by data)."""

    __slots__ = ()


#: Characters escaped wherever they appear.
_ALWAYS = set("\\`*_{}[]<>#!|~^$&@:=")
#: Characters escaped at the start of a line (list, line-block and title-block markers).
_LINE_START = set("-+%")


def _plain(text: Any) -> str:
    """``text`` in NFC with its lines kept and every hidden character written as ``<U+XXXX>``.

    Examples
    --------
    >>> _plain("P01\\u202egnp.exe\\x1b[2J")
    'P01<U+202E>gnp.exe<U+001B>[2J'
    """
    return visible(unicodedata.normalize("NFC", str(text)), line_breaks=True)


@functools.lru_cache(maxsize=1)
def _bibliography_keys() -> frozenset[str]:
    """Keys of the bibliography the bundled reports cite (the only citations kept as markup)."""
    from analysis.report.render.citations import bib_keys

    here = Path(__file__).resolve().parents[2]
    for path in (here / "reports" / "references.bib",
                 Path(__file__).resolve().parents[1] / "_bundled" / "reports" / "references.bib"):
        if path.is_file():
            return frozenset(bib_keys(path))
    return frozenset()


_CITATION = re.compile(r"\[-?@([A-Za-z][\w]*)((?:;\s*-?@[A-Za-z][\w]*)*)\]")
_XREF = re.compile(r"-?@(?:tbl|fig|sec)-[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*(?![\w-])")
_NOTE_MARK = re.compile(r"\^[a-z]\^")
_STAT_SYMBOL = re.compile(r"\*[A-Za-z]{1,3}\*(?:~[a-z0-9]{1,4}~)?")
_ESCAPED = re.compile(r"\\[!-/:-@\[-`{-~]")
_ORDERED = re.compile(r"(\d{1,9})([.)])")


def _token(text: str, i: int, at_word_start: bool) -> str | None:
    """The trusted token (or already-escaped pair) that starts at ``text[i]``, if any."""
    ch = text[i]
    if ch == "\\":
        m = _ESCAPED.match(text, i)
        return m.group(0) if m else None
    if ch == "[":
        m = _CITATION.match(text, i)
        if m:
            keys = re.findall(r"@([A-Za-z][\w]*)", m.group(0))
            if keys and all(k in _bibliography_keys() for k in keys):
                return m.group(0)
        return None
    if ch in "-@" and at_word_start:
        m = _XREF.match(text, i)
        return m.group(0) if m else None
    if ch == "^":
        m = _NOTE_MARK.match(text, i)
        return m.group(0) if m else None
    if ch == "*":
        m = _STAT_SYMBOL.match(text, i)
        return m.group(0) if m else None
    return None


def _escape_line(line: str) -> str:
    line = line.lstrip(" \t")  # four leading spaces would start a code block
    out: list[str] = []
    i, n = 0, len(line)
    if n and line[0] in _LINE_START:
        out.append("\\" + line[0])
        i = 1
    elif (m := _ORDERED.match(line)) and (m.end() == n or line[m.end()] in " \t"):
        out.append(m.group(1) + "\\" + m.group(2))  # "1. " would start an ordered list
        i = m.end()
    while i < n:
        ch = line[i]
        if ch in _ALWAYS or ch == "-":
            tok = _token(line, i, i == 0 or not (line[i - 1].isalnum() or line[i - 1] in "_\\"))
            if tok is not None:
                out.append(tok)
                i += len(tok)
                continue
            if ch == "-":
                out.append(ch)
            else:
                out.append("\\" + ch)
        else:
            out.append(ch)
        i += 1
    text = "".join(out)
    # a trailing backslash or two trailing spaces would be a hard line break
    return text.rstrip(" ")


def markdown_prose(text: Any) -> Markdown:
    """Report text as Pandoc Markdown in which nothing from the data can be markup.

    Keeps the lines (paragraphs) of ``text`` and the reports' own tokens: citations of the
    bundled bibliography, ``@tbl-``/``@fig-``/``@sec-`` cross-references, ``^a^`` footnote
    marks and statistics' symbols (``*d*~z~``). Everything else that Markdown gives a meaning to is escaped (see the module).
    Idempotent; a :class:`Markdown` value is returned unchanged.

    Examples
    --------
    >>> print(markdown_prose("Visit m3 ![](/etc/passwd) and `<b>`{=html} in @tbl-outcomes."))
    Visit m3 \\!\\[\\](/etc/passwd) and \\`\\<b\\>\\`\\{\\=html\\} in @tbl-outcomes.
    >>> print(markdown_prose("Holm-adjusted [@holm1979]; {{< include x >}} ^a^"))
    Holm-adjusted [@holm1979]; \\{\\{\\< include x \\>\\}\\} ^a^
    >>> markdown_prose(markdown_prose("a_b [x]")) == markdown_prose("a_b [x]")
    True
    """
    if isinstance(text, Markdown):
        return text
    return Markdown("\n".join(_escape_line(line) for line in _plain(text).split("\n")))


def markdown_literal(text: Any) -> Markdown:
    """A data string as literal Markdown text on one line: every significant character escaped,
    no token kept.

    Examples
    --------
    >>> print(markdown_literal("[@holm1979]\\n# x"))
    \\[\\@holm1979\\] \\# x
    """
    one_line = " ".join(_plain(text).split())
    out = []
    for i, ch in enumerate(one_line):
        if ch in _ALWAYS or (ch in _LINE_START and i == 0):
            out.append("\\" + ch)
        else:
            out.append(ch)
    line = "".join(out)
    m = _ORDERED.match(line)
    if m and (m.end() == len(line) or line[m.end()] == " "):
        line = m.group(1) + "\\" + line[len(m.group(1)):]
    return Markdown(line)


def markdown_output(func: Callable[..., Any]) -> Callable[..., Markdown]:
    """Decorate a function that returns report text so that its text passes the boundary
    (:func:`markdown_prose`).

    Examples
    --------
    >>> @markdown_output
    ... def sentence(visit):
    ...     return f"The last visit was {visit}."
    >>> print(sentence("<script>x</script>"))
    The last visit was \\<script\\>x\\</script\\>.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Markdown:
        return markdown_prose(func(*args, **kwargs))

    return wrapper


def typst_string(text: Any) -> str:
    """A Typst string literal holding ``text`` as text (quotes and backslashes escaped, line
    breaks and invisible characters made visible).

    Examples
    --------
    >>> print(typst_string('a "b" \\\\ #show'))
    "a \\"b\\" \\\\ #show"
    """
    body = " ".join(_plain(text).split())
    return '"' + body.replace("\\", "\\\\").replace('"', '\\"') + '"'


def matplotlib_text(text: Any) -> str:
    """A data string as literal figure text: invisible characters made visible and every ``$``
    escaped, so that matplotlib draws it as written and never as mathtext (a figure's own
    symbols, such as ``Cohen's $d_z$``, are written by the code around it, not by data).

    Why not ``Text.set_parse_math(False)``: the figures mix their own mathtext with data in one
    label, and tick labels are created by matplotlib; escaping the data part is the one place.
    Wrap text (``textwrap``) before escaping it, so no line break falls inside ``\\$``.

    Examples
    --------
    >>> print(matplotlib_text("cost $x^2$ and $y$"))
    cost \\$x^2\\$ and \\$y\\$
    >>> from matplotlib.text import Text
    >>> Text()._preprocess_math(matplotlib_text("$x_2$ P01"))  # drawn as written, no math
    ('$x_2$ P01', False)
    """
    return _plain(text).replace("$", "\\$")
