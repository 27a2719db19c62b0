"""Column widths and page orientation of the Markdown tables, per output format.

A pipe table without widths leaves the column sizes to each writer: Typst and Word then squeeze
the long text columns and wrap every interval onto two or three lines. For the PDF and Word
outputs this module measures each column (its longest unbreakable piece and its longest cell,
in characters; the parts of a statistic are joined by no-break spaces, see
:mod:`analysis.report.formatting`) and, when the table does not fit the text block at its natural
width, writes relative column widths into the separator line of the pipe table (Pandoc's rule:
when a line of the table is longer than ``--columns``, the dashes of the separator line give the
relative widths). Each column gets at least its longest unbreakable piece and shares the rest in
proportion to what it would need to be unwrapped. A PDF table whose unbreakable pieces do not fit
the portrait text block, or that would wrap heavily there, goes on a landscape page
(:func:`wide_table_pages`). HTML is left to the browser.

The measure is in characters of the table font: an estimate (a character of a proportional
font is about half its size wide), checked in the tests on the real PDF.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from analysis.report.render.trusted import raw_block

__all__ = ["PipeTable", "find_tables", "layout_tables", "needs_landscape", "table_chars",
           "PDF_TEXT_WIDTH_PT", "PDF_LANDSCAPE_WIDTH_PT", "TABLE_FONT_PT"]

#: Text block of the PDF: A4 with 20 mm side margins (170 mm), in points.
PDF_TEXT_WIDTH_PT = 170 / 25.4 * 72
#: Text block of a landscape A4 page with the same margins (257 mm).
PDF_LANDSCAPE_WIDTH_PT = 257 / 25.4 * 72
#: Font size of PDF tables (set in the Typst header of :mod:`~analysis.report.render.pandoc`).
TABLE_FONT_PT = 8.0
#: Horizontal inset of a PDF table cell, both sides together (Typst header: 3 pt each side).
CELL_INSET_PT = 6.0
#: Width of an average character of the table font, in ems (Libertinus Serif digits and
#: lower-case letters are 0.45-0.5 em; a little over, so that the estimate errs wide).
CHAR_EM = 0.5
#: Word: the text block of Pandoc's reference document (6.5 in on Letter, 6.3 in on A4) at
#: 10 pt table text, in characters.
DOCX_TEXT_CHARS = 88
#: Above this multiple of the text block at natural width, a PDF table goes on a landscape page
#: (it would wrap most of its rows on a portrait page).
LANDSCAPE_RATIO = 1.45
#: Separator lines longer than Pandoc's ``--columns`` (2000, see pandoc.convert) carry widths.
WIDTH_DASHES = 2400

_SEP = re.compile(r"^\|(?:\s*:?-+:?\s*\|)+\s*$")
_SPLIT = re.compile(r"(?<!\\)\|")


@dataclass
class PipeTable:
    """A pipe table found in Markdown text: lines ``start`` to ``end`` (exclusive)."""

    start: int
    end: int
    header: list[str]
    aligns: list[str]
    rows: list[list[str]]

    @property
    def ncol(self) -> int:
        return len(self.header)


def _cells(line: str) -> list[str]:
    parts = _SPLIT.split(line.strip())
    return [p.strip() for p in parts[1:-1]]


def find_tables(text: str) -> list[PipeTable]:
    """The pipe tables of a Markdown text (outside code fences).

    Examples
    --------
    >>> t = find_tables("x\\n\\n| A | B |\\n|:---|---:|\\n| a | 1 |\\n\\n: cap")
    >>> (t[0].header, t[0].aligns, t[0].rows)
    (['A', 'B'], [':---', '---:'], [['a', '1']])
    """
    lines = text.split("\n")
    found, i, fence = [], 0, None
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^\s*(`{3,}|~{3,})", line)
        if m:
            fence = None if fence and m.group(1).startswith(fence) else (fence or m.group(1))
            i += 1
            continue
        if (fence is None and line.startswith("|") and i + 1 < len(lines)
                and _SEP.match(lines[i + 1].strip())):
            header = _cells(line)
            aligns = _cells(lines[i + 1])
            j = i + 2
            rows = []
            while j < len(lines) and lines[j].startswith("|"):
                rows.append(_cells(lines[j]))
                j += 1
            if len(aligns) == len(header):
                found.append(PipeTable(i, j, header, aligns, rows))
            i = j
            continue
        i += 1
    return found


def _visible(cell: str) -> str:
    """The printed text of a cell: without Markdown emphasis, sub/superscript marks, escapes."""
    text = re.sub(r"\\(.)", r"\1", cell)
    text = re.sub(r"[*~^`]", "", text)
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)


def _longest_piece(text: str) -> int:
    # Lines break at spaces (never at no-break spaces) and after hyphens.
    pieces = re.split(r" |(?<=-)", _visible(text))
    return max((len(p) for p in pieces), default=0)


def table_chars(table: PipeTable) -> tuple[list[int], list[int]]:
    """Per column: the longest unbreakable piece and the preferred (unwrapped) width, in
    characters; a header may wrap onto two lines.

    Examples
    --------
    >>> t = find_tables("| Measure | p adjusted |\\n|:---|---:|\\n| Gait speed | .010 |")[0]
    >>> table_chars(t)
    ([7, 8], [10, 8])
    """
    mins, prefs = [], []
    for k in range(table.ncol):
        body = [r[k] if k < len(r) else "" for r in table.rows]
        head = table.header[k]
        lo = max([_longest_piece(c) for c in body] + [_longest_piece(head), 1])
        hi = max([len(_visible(c)) for c in body] + [math.ceil(len(_visible(head)) / 2), lo])
        mins.append(lo)
        prefs.append(hi)
    return mins, prefs


def _available(fmt: str, ncol: int, *, landscape: bool = False) -> float:
    """Characters available to the cells of a table of ``ncol`` columns."""
    if fmt == "docx":
        return DOCX_TEXT_CHARS - 1.5 * ncol
    width = PDF_LANDSCAPE_WIDTH_PT if landscape else PDF_TEXT_WIDTH_PT
    return (width - ncol * CELL_INSET_PT) / (CHAR_EM * TABLE_FONT_PT)


def needs_landscape(table: PipeTable) -> bool:
    """True when a PDF table is better on a landscape page: its unbreakable pieces do not fit
    the portrait text block, or it would wrap most rows (natural width over
    :data:`LANDSCAPE_RATIO` times the block)."""
    mins, prefs = table_chars(table)
    avail = _available("pdf", table.ncol)
    return sum(mins) > avail or sum(prefs) > LANDSCAPE_RATIO * avail


def _widths(mins: list[int], prefs: list[int], avail: float) -> list[float] | None:
    """Relative widths that fit ``avail`` characters, or None when the natural widths fit."""
    if sum(prefs) <= avail:
        return None
    slack = max(avail - sum(mins), 0.0)
    extra = [p - m for m, p in zip(mins, prefs, strict=False)]
    total_extra = sum(extra) or 1
    raw = [m + slack * e / total_extra for m, e in zip(mins, extra, strict=False)]
    return [w / sum(raw) for w in raw]


def _separator(table: PipeTable, widths: list[float]) -> str:
    parts = []
    for align, w in zip(table.aligns, widths, strict=False):
        n = max(3, round(w * WIDTH_DASHES))
        left = ":" if align.startswith(":") else ""
        right = ":" if align.endswith(":") else ""
        parts.append(left + "-" * n + right)
    return "|" + "|".join(parts) + "|"


def layout_tables(text: str, fmt: str) -> tuple[str, list[bool]]:
    """Write column widths into the pipe tables of a Markdown text for one output format.

    A PDF table that needs a landscape page is put between :func:`landscape_open` and
    :func:`landscape_close` (with its caption). Returns the text and, per table, whether it
    went on a landscape page.

    Examples
    --------
    >>> md = "| A | B |\\n|:---|---:|\\n| " + "word " * 60 + "| 1 |"
    >>> out, wide = layout_tables(md, "pdf")
    >>> max(len(line) for line in out.split("\\n")) > 2000, wide, out.endswith(landscape_close())
    (True, [True], True)
    >>> layout_tables("| A | B |\\n|:---|---:|\\n| a | 1 |", "pdf")
    ('| A | B |\\n|:---|---:|\\n| a | 1 |', [False])
    """
    tables = find_tables(text)
    if fmt not in ("pdf", "docx") or not tables:
        return text, [False] * len(tables)
    lines = text.split("\n")
    wide = []
    # from the last table to the first, so that inserted lines do not move the next ones
    for t in reversed(tables):
        landscape = fmt == "pdf" and needs_landscape(t)
        mins, prefs = table_chars(t)
        widths = _widths(mins, prefs, _available(fmt, t.ncol, landscape=landscape))
        if widths is not None:
            lines[t.start + 1] = _separator(t, widths)
        if landscape:
            end = t.end
            # the caption line (": caption") after one blank line belongs to the table
            if end + 1 < len(lines) and not lines[end].strip() and re.match(
                    r"^(?::|Table:)\s", lines[end + 1]):
                end += 2
            lines[end:end] = ["", landscape_close()]
            lines[t.start:t.start] = [landscape_open(), ""]
        wide.append(landscape)
    return "\n".join(lines), wide[::-1]


def landscape_open() -> str:
    """Raw Typst that starts a landscape page (a page break)."""
    return raw_block("typst", "#set page(flipped: true)")


def landscape_close() -> str:
    """Raw Typst that returns to portrait pages (a page break)."""
    return raw_block("typst", "#set page(flipped: false)")
