"""Assemble an executed document into Pandoc Markdown for one output format.

Plain Pandoc has no cross-references, so this module numbers labelled figures (``fig-``) and
tables (``tbl-``) in order of appearance, writes "Figure 1: caption" into their captions and
replaces ``@fig-x`` / ``@tbl-x`` with "Figure 1" / "Table 2" linked to the target (``-@fig-x``
gives the bare number), as Quarto's crossref filter does; sections, callouts, the author block
and page breaks come from :mod:`~analysis.report.render.markup`. It is done here in Python
rather than in Lua filters so that it can be tested directly and shared by every format.

Figures: HTML and PDF get the SVG (vector; Typst draws SVG natively), Word the PNG (300 dpi;
Word's SVG support needs a PNG fallback that Pandoc can only make with ``rsvg-convert``).
In PDF and Word a figure is placed at its own size, so that its fonts print at the size the
theme gives them (>= 7 pt); in HTML at 1.5 times its size, capped at the text width.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import warnings
from pathlib import Path

import yaml

from analysis.report.escape import markdown_literal
from analysis.report.render.citations import Bibliography, check_citations
from analysis.report.render.execute import ExecutedDocument, Output
from analysis.report.render.front_matter import front_block, normalise_authors
from analysis.report.render.markup import (
    CrossrefWarning,
    SectionNumbers,
    check_markdown,
    heading_levels,
    pagebreaks,
    render_callouts,
    resolve_section_refs,
)
from analysis.report.render.qmd import INLINE_RE, Cell
from analysis.report.render.table_layout import landscape_close, layout_tables

__all__ = ["CrossrefWarning", "assemble_markdown", "number_labels", "resolve_crossrefs",
           "figure_size", "HTML_FIGURE_SCALE"]

#: HTML shows figures at this multiple of their print size (capped at the text width).
HTML_FIGURE_SCALE = 1.5

_PREFIX = {"fig": "Figure", "tbl": "Table"}
_REF = re.compile(r"(?<![\w@\-])(-?)@((?:fig|tbl)-[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*)")
_MD_FIG = re.compile(r"!\[(?P<cap>[^\]]*)\]\((?P<src>[^)]*)\)\{#(?P<id>fig-[\w-]+)(?P<rest>[^}]*)\}")
_MD_TBL = re.compile(r"^(?P<lead>:|Table:)\s*(?P<cap>.*?)\s*\{#(?P<id>tbl-[\w-]+)(?P<rest>[^}]*)\}\s*$",
                     re.M)
_CAPTION_LINE = re.compile(r"^(?::|Table:)\s+(?P<cap>.+?)\s*(?:\{(?P<attr>[^}]*)\})?\s*$", re.M)
_SVG_SIZE = re.compile(r'<svg[^>]*?\swidth="([\d.]+)(pt|px|in)?"[^>]*?\sheight="([\d.]+)(pt|px|in)?"',
                       re.S)
_PER_INCH = {"pt": 72.0, "px": 96.0, "in": 1.0, None: 96.0}


def figure_size(path: Path) -> tuple[float, float] | None:
    """Width and height in inches of an SVG (matplotlib writes them in points), else None.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "f.svg"
    >>> _ = p.write_text('<svg xmlns="x" width="252pt" height="180pt" viewBox="0 0 252 180">')
    >>> figure_size(p)
    (3.5, 2.5)
    """
    if path.suffix != ".svg" or not path.is_file():
        return None
    with open(path, encoding="utf-8") as f:
        head = f.read(4000)
    m = _SVG_SIZE.search(head)
    if not m:
        return None
    return (round(float(m.group(1)) / _PER_INCH[m.group(2)], 3),
            round(float(m.group(3)) / _PER_INCH[m.group(4)], 3))


def _png_print_width(path: Path) -> float | None:
    """Print width in inches of a PNG at its own resolution, rounded down (so that it prints
    at no less than that resolution; Pandoc's own reading of the dpi rounds 299.9994 to 299)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            dpi = im.info.get("dpi", (0, 0))[0]
            width = im.size[0]
    except OSError:
        return None
    if not dpi:
        return None
    return math.floor(width / round(dpi) * 10000) / 10000


def number_labels(executed: ExecutedDocument) -> dict[str, int]:
    """Number the labelled figures and tables in order of appearance.

    Labels come from code cells (``#| label: fig-x`` with an image output, ``tbl-x`` with any
    output) and from Markdown (``![cap](img){#fig-x}``, a ``: cap {#tbl-x}`` caption line).
    Figures and tables are numbered separately.

    Returns
    -------
    dict
        ``{"fig-x": 1, "tbl-y": 1, ...}``.
    """
    numbers: dict[str, int] = {}
    counts = {"fig": 0, "tbl": 0}

    def add(label: str) -> None:
        kind = label.split("-", 1)[0]
        if label not in numbers and kind in counts:
            counts[kind] += 1
            numbers[label] = counts[kind]

    def scan(text: str) -> None:
        found = [(m.start(), m.group("id")) for m in _MD_FIG.finditer(text)]
        found += [(m.start(), m.group("id")) for m in _MD_TBL.finditer(text)]
        for _, label in sorted(found):
            add(label)

    for done in executed.cells:
        cell = done.cell
        if cell.kind == "markdown":
            scan(cell.source)
        else:
            if cell.label and cell.label.startswith("fig-") and any(
                    o.kind == "image" for o in done.outputs):
                add(cell.label)
            elif cell.label and cell.label.startswith("tbl-") and done.outputs:
                add(cell.label)
            # captions written by the code itself, e.g. analysis.report.tables.to_markdown(label=...)
            for out in done.outputs:
                if out.kind == "markdown":
                    scan(out.content)
    return numbers


def resolve_crossrefs(text: str, numbers: dict[str, int], *, where: str = "") -> str:
    """Replace ``@fig-x``/``@tbl-x`` by linked "Figure 1"/"Table 2" (``-@fig-x``: "1").

    A reference to a label that no figure or table carries prints as ``**?@label**`` with a
    :class:`CrossrefWarning`, as in Quarto.

    Examples
    --------
    >>> resolve_crossrefs("See @fig-a and @tbl-b; -@fig-a.", {"fig-a": 1, "tbl-b": 2})
    'See [Figure 1](#fig-a) and [Table 2](#tbl-b); [1](#fig-a).'
    """

    def repl(match: re.Match) -> str:
        bare, label = match.group(1), match.group(2)
        if label not in numbers:
            # As Quarto does: warn and print "?@label" in bold rather than fail the render
            # (a figure a report draws only when the data allow it may be absent).
            known = ", ".join(sorted(numbers)) or "none"
            warnings.warn(
                f"{where}unresolved cross-reference @{label}; labelled figures and tables: "
                f"{known}. Give the cell '#| label: ...' (with fig-cap/tbl-cap) or fix the "
                "reference", CrossrefWarning, stacklevel=2)
            return f"**?@{label}**"
        num = numbers[label]
        text_ = str(num) if bare else f"{_PREFIX[label.split('-', 1)[0]]} {num}"
        return f"[{text_}](#{label})"

    return _REF.sub(repl, text)


def _fence(text: str, cls: str = "") -> str:
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return f"{ticks}{cls}\n{text.rstrip()}\n{ticks}"


def _with_table_caption(markdown: str, label: str, number: int | None, caption: str | None) -> str:
    """Give a table output its numbered caption and id (replacing a caption it already has)."""
    prefix = f"Table {number}: " if number else ""
    existing = _CAPTION_LINE.search(markdown)
    if existing:
        cap = caption or existing.group("cap")
        line = f": {prefix}{cap} {{#{label}}}"
        return markdown[: existing.start()] + line + markdown[existing.end():]
    if caption or number:
        return f"{markdown.rstrip()}\n\n: {prefix}{caption or ''} {{#{label}}}\n"
    return markdown


def _attr_value(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _image(out: Output, fmt: str, workdir: Path, *, cap: str, ident: str, alt: str | None) -> str:
    """Markdown of one figure for one format: which file, at what size, with what alt text."""
    formats = out.formats or (Path(out.content).suffix.lstrip("."),)
    stem = out.content.rsplit(".", 1)[0] if not out.formats else out.content
    wanted = ("png", "svg") if fmt == "docx" else ("svg", "png")
    ext = next((e for e in wanted if e in formats), formats[0])
    src = f"{stem}.{ext}"
    attrs = [f"#{ident}"] if ident else []
    size = figure_size(workdir / f"{stem}.svg") if "svg" in formats else None
    if size and fmt == "html":
        attrs.append(f"width={round(size[0] * 96 * HTML_FIGURE_SCALE)}px")
    elif size and ext == "svg":
        attrs.append(f"width={size[0]}in")
    elif ext == "png":
        width = _png_print_width(workdir / src)
        if width:
            attrs.append(f"width={width}in")
    if alt:
        attrs.append(f'alt="{_attr_value(alt)}"')
    return f"![{cap}]({src})" + (f"{{{' '.join(attrs)}}}" if attrs else "")


def _code_cell(done, numbers: dict[str, int], echo_default: bool, name: str, fmt: str,
               workdir: Path) -> list[tuple[str, bool]]:
    """Pieces of a code cell's output: ``(markdown, is_prose)``."""
    cell: Cell = done.cell
    if cell.options.get("include", True) is False:
        return []
    parts: list[tuple[str, bool]] = []
    if cell.options.get("echo", echo_default) is True:
        parts.append((_fence(cell.source, "python"), False))
    label = cell.label or ""
    where = f"{name}, output of {cell.describe()}: "
    fig_cap = resolve_crossrefs(str(cell.options.get("fig-cap") or ""), numbers, where=where)
    tbl_cap = cell.options.get("tbl-cap")
    alt = cell.options.get("fig-alt")
    first_image = True
    markdown_idx = [i for i, o in enumerate(done.outputs) if o.kind == "markdown"]
    for i, out in enumerate(done.outputs):
        if out.kind == "image":
            if first_image and label.startswith("fig-"):
                cap = f"Figure {numbers[label]}: {fig_cap}".rstrip(": ")
                parts.append((_image(out, fmt, workdir, cap=cap, ident=label, alt=alt), True))
            elif first_image and fig_cap:
                parts.append((_image(out, fmt, workdir, cap=fig_cap, ident="", alt=alt), True))
            else:
                parts.append((_image(out, fmt, workdir, cap="", ident="", alt=None), True))
            first_image = False
        elif out.kind == "markdown":
            text = out.content
            check_markdown(text, where=f"{name}, output of {cell.describe()}", first_line=0)
            if label.startswith("tbl-") and markdown_idx and i == markdown_idx[-1]:
                text = _with_table_caption(text, label, numbers.get(label), tbl_cap)
            else:
                text = _number_captions(text, numbers)
            # Markdown written by code (output: asis) is text like any other: resolve its refs.
            text = resolve_crossrefs(text, numbers, where=where)
            parts.append((text.strip("\n"), True))
        elif out.kind == "text":
            parts.append((_fence(out.content), False))
        elif out.kind == "stderr":
            parts.append((_fence(out.content, " {.stderr}"), False))
    return parts


def _number_captions(text: str, numbers: dict[str, int]) -> str:
    """Write "Figure N: " / "Table N: " into Markdown captions that carry a fig-/tbl- id."""

    def fig(m: re.Match) -> str:
        num = numbers.get(m.group("id"))
        return f"![Figure {num}: {m.group('cap')}]({m.group('src')}){{#{m.group('id')}{m.group('rest')}}}"

    def tbl(m: re.Match) -> str:
        num = numbers.get(m.group("id"))
        return f": Table {num}: {m.group('cap')} {{#{m.group('id')}{m.group('rest')}}}"

    return _MD_TBL.sub(tbl, _MD_FIG.sub(fig, text))


def _markdown_cell(done, numbers: dict[str, int], name: str) -> str:
    cell: Cell = done.cell
    values = iter(done.inline)
    text = _number_captions(INLINE_RE.sub(lambda m: next(values, ""), cell.source), numbers)
    return resolve_crossrefs(text, numbers, where=f"{name}, text from line {cell.line}: ")


def cell_title(executed: ExecutedDocument) -> str | None:
    """The last title a cell gave (``kit.set_title``), plain text; None when none did."""
    found = [o.content for d in executed.cells for o in d.outputs if o.kind == "title"]
    return found[-1] if found and found[-1].strip() else None


def _metadata(front: dict, fmt: str, title: str | None = None) -> dict:
    """Pandoc metadata; ``title`` (plain text from a cell) replaces the front matter's, as a
    Markdown literal: Pandoc parses YAML metadata strings as Markdown."""
    # Authors, abstract and keywords are written into the body by front_matter.front_block (the same
    # in every format); the templates' own fields would show the author schema as "true" and
    # Pandoc 3.9's Typst template writes keywords unquoted, which Typst rejects.
    meta = {k: front[k] for k in ("title", "subtitle", "date", "lang") if k in front}
    if title is not None:
        meta["title"] = str(markdown_literal(" ".join(title.split())))
    if str(meta.get("date", "")).strip() in {"today", "now", "last-modified"}:
        meta["date"] = _dt.date.today().isoformat()
    elif isinstance(meta.get("date"), (_dt.date, _dt.datetime)):
        meta["date"] = meta["date"].isoformat()

    names = [a["name"] for a in normalise_authors(front)[0] if a["name"]]
    if names and fmt == "html":
        meta["author-meta"] = names
    if fmt == "pdf":
        # A 170 mm text block on A4: figures of the theme's page width print at their own size.
        meta["margin"] = {"x": "20mm", "y": "22mm"}
    return meta


def number_sections(front: dict, fmt: str) -> bool:
    """The ``number-sections`` option (per-format value first, as in Quarto)."""
    key = {"pdf": "typst"}.get(fmt, fmt)
    fmt_opts = front.get("format") if isinstance(front.get("format"), dict) else {}
    opts = fmt_opts.get(key) if isinstance(fmt_opts.get(key), dict) else {}
    return bool(opts.get("number-sections", front.get("number-sections", False)))


_FOOTNOTES = re.compile(r"^\^[a-z]\^ ")


def _lay_out_tables(pieces: list[tuple[str, bool]], fmt: str) -> list[tuple[str, bool]]:
    """Column widths of the tables for this format; a wide PDF table on a landscape page, with
    the footnotes printed right after it (:mod:`~analysis.report.render.table_layout`)."""
    out: list[tuple[str, bool]] = []
    close = landscape_close()
    for text, prose in pieces:
        if prose:
            text, _ = layout_tables(text, fmt)
            if (_FOOTNOTES.match(text) and out and out[-1][1]
                    and out[-1][0].rstrip().endswith(close)):
                out[-1] = (out[-1][0].rstrip()[: -len(close)].rstrip(), True)
                text = f"{text.rstrip()}\n\n{close}"
        out.append((text, prose))
    return out


def _references_block(level: int) -> str:
    return f"{'#' * level} References {{.unnumbered}}\n\n::: {{#refs}}\n:::"


def assemble_markdown(executed: ExecutedDocument, fmt: str = "html", *,
                      bibliography: Bibliography | None = None) -> str:
    """Pandoc Markdown of an executed document for one format ("html", "pdf" or "docx").

    Metadata block; authors, abstract and keywords; text with inline values and resolved
    cross-references; numbered sections; callouts as boxes; code (when echoed), figures and
    captioned tables; the reference list (before the appendices) when anything is cited.
    """
    doc = executed.doc
    workdir = Path(executed.workdir)
    numbers = number_labels(executed)
    echo_default = bool(doc.option("echo", True))
    pieces: list[tuple[str, bool]] = []
    cites = False
    for done in executed.cells:
        if done.cell.kind == "markdown":
            pieces.append((_markdown_cell(done, numbers, doc.name), True))
        else:
            for text, prose in _code_cell(done, numbers, echo_default, doc.name, fmt, workdir):
                if prose:
                    cites |= check_citations(text, bibliography,
                                             where=f"{doc.name}, output of {done.cell.describe()}")
                pieces.append((text, prose))
    cites |= any(check_citations(d.cell.source, bibliography, where=doc.name,
                                 first_line=d.cell.line)
                 for d in executed.cells if d.cell.kind == "markdown")

    pieces = [(pagebreaks(render_callouts(t, fmt), fmt) if prose else t, prose)
              for t, prose in pieces]
    levels = [lv for t, prose in pieces if prose for lv in heading_levels(t)]
    top = min(levels, default=1)
    if cites and not any("{#refs}" in t for t, _ in pieces):
        at = next((k for k, (t, prose) in enumerate(pieces)
                   if prose and re.search(r"^#{1,6} .*\{[^}]*\.appendix", t, re.M)), len(pieces))
        pieces.insert(at, (_references_block(top), True))
    sections = SectionNumbers(top=top, enabled=number_sections(doc.front_matter, fmt))
    pieces = [(sections.number_text(t) if prose else t, prose) for t, prose in pieces]
    pieces = [(resolve_section_refs(t, sections, where=f"{doc.name}: ") if prose else t, prose)
              for t, prose in pieces]

    pieces = _lay_out_tables(pieces, fmt)

    parts = []
    meta = _metadata(doc.front_matter, fmt, cell_title(executed))
    if meta:
        parts.append("---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---")
    parts.append(front_block(doc.front_matter))
    parts.extend(t for t, _ in pieces)
    return "\n\n".join(p for p in parts if p.strip()) + "\n"
