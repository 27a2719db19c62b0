"""Assemble an executed document into Pandoc Markdown and convert it to HTML, PDF and DOCX.

Plain Pandoc has no cross-references, so this module numbers labelled figures (``fig-``) and
tables (``tbl-``) in order of appearance, writes "Figure 1: caption" into their captions and
replaces ``@fig-x`` / ``@tbl-x`` with "Figure 1" / "Table 2" linked to the target (``-@fig-x``
gives the bare number), as Quarto's crossref filter does. It is done here in Python rather than
in a Lua filter so that the numbering can be tested directly and shared by every format.

Formats: HTML is one self-contained file (images as data URIs, math as MathML, our own small
stylesheet embedded, nothing loaded from the web); DOCX holds real Word tables; the PDF is made
by Typst from Pandoc's Typst output (Typst ships its own fonts).
"""

from __future__ import annotations

import datetime as _dt
import re
import subprocess
import warnings
from pathlib import Path
from typing import Literal

import yaml

from analysis.errors import RenderError
from analysis.report.render.execute import ExecutedDocument
from analysis.report.render.qmd import INLINE_RE, Cell

__all__ = ["CrossrefWarning", "Format", "assemble_markdown", "number_labels", "resolve_crossrefs", "convert",
           "pandoc_path", "STYLE_CSS"]

Format = Literal["html", "pdf", "docx"]


class CrossrefWarning(UserWarning):
    """A cross-reference names a label that no figure or table carries."""


EXTENSIONS = {"html": "html", "pdf": "pdf", "docx": "docx"}

#: The stylesheet embedded in every HTML report (no web fonts, no CDN).
STYLE_CSS = """\
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       line-height: 1.5; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
header#title-block-header { margin-bottom: 2rem; border-bottom: 1px solid #ddd; }
h1, h2, h3 { line-height: 1.2; } h2 { margin-top: 2rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.92rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #ddd; text-align: left; }
thead th { border-bottom: 2px solid #555; }
caption, figcaption { caption-side: top; text-align: left; font-style: italic; margin: 0.4rem 0; }
figure { margin: 1.5rem 0; } img { max-width: 100%; height: auto; }
pre { background: #f6f8fa; padding: 0.6rem; overflow-x: auto; font-size: 0.85rem; }
pre.stderr, .stderr pre { background: #fff8e6; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
"""

#: Typst header: we number figures and tables ourselves, so Typst must not number them again;
#: long tables (wrapped in figures by Pandoc) must be able to break across pages.
_TYPST_HEADER = """\
#set figure(numbering: none)
#show figure: set block(breakable: true)
#set table(inset: (x: 4pt, y: 3pt))
#show table: set text(size: 8.5pt)
"""

_PREFIX = {"fig": "Figure", "tbl": "Table"}
_REF = re.compile(r"(?<![\w@\-])(-?)@((?:fig|tbl)-[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*)")
_MD_FIG = re.compile(r"!\[(?P<cap>[^\]]*)\]\((?P<src>[^)]*)\)\{#(?P<id>fig-[\w-]+)(?P<rest>[^}]*)\}")
_MD_TBL = re.compile(r"^(?P<lead>:|Table:)\s*(?P<cap>.*?)\s*\{#(?P<id>tbl-[\w-]+)(?P<rest>[^}]*)\}\s*$",
                     re.M)
_CAPTION_LINE = re.compile(r"^(?::|Table:)\s+(?P<cap>.+?)\s*(?:\{(?P<attr>[^}]*)\})?\s*$", re.M)


def pandoc_path() -> str:
    """Path of the Pandoc binary shipped by ``pypandoc-binary`` (or Pandoc on PATH)."""
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except (ImportError, OSError) as exc:  # pragma: no cover - depends on installation
        raise RenderError(
            f"Pandoc was not found ({exc}); install the 'pypandoc-binary' package"
        ) from None


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

    for done in executed.cells:
        cell = done.cell
        if cell.kind == "markdown":
            found = [(m.start(), m.group("id")) for m in _MD_FIG.finditer(cell.source)]
            found += [(m.start(), m.group("id")) for m in _MD_TBL.finditer(cell.source)]
            for _, label in sorted(found):
                add(label)
        else:
            if cell.label and cell.label.startswith("fig-") and any(
                    o.kind == "image" for o in done.outputs):
                add(cell.label)
            elif cell.label and cell.label.startswith("tbl-") and done.outputs:
                add(cell.label)
            # captions written by the code itself, e.g. analysis.report.tables.to_markdown(label=...)
            for out in done.outputs:
                if out.kind == "markdown":
                    found = [(m.start(), m.group("id")) for m in _MD_FIG.finditer(out.content)]
                    found += [(m.start(), m.group("id")) for m in _MD_TBL.finditer(out.content)]
                    for _, label in sorted(found):
                        add(label)
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


def _code_cell(done, numbers: dict[str, int], echo_default: bool, name: str) -> list[str]:
    cell: Cell = done.cell
    if cell.options.get("include", True) is False:
        return []
    parts: list[str] = []
    if cell.options.get("echo", echo_default) is True:
        parts.append(_fence(cell.source, "python"))
    label = cell.label or ""
    fig_cap = cell.options.get("fig-cap")
    tbl_cap = cell.options.get("tbl-cap")
    first_image = True
    markdown_idx = [i for i, o in enumerate(done.outputs) if o.kind == "markdown"]
    for i, out in enumerate(done.outputs):
        if out.kind == "image":
            if first_image and label.startswith("fig-"):
                cap = f"Figure {numbers[label]}: {fig_cap or ''}".rstrip(": ")
                parts.append(f"![{cap}]({out.content}){{#{label}}}")
            elif first_image and fig_cap:
                parts.append(f"![{fig_cap}]({out.content})")
            else:
                parts.append(f"![]({out.content})")
            first_image = False
        elif out.kind == "markdown":
            text = out.content
            if label.startswith("tbl-") and markdown_idx and i == markdown_idx[-1]:
                text = _with_table_caption(text, label, numbers.get(label), tbl_cap)
            else:
                text = _number_captions(text, numbers)
            # Markdown written by code (output: asis) is text like any other: resolve its refs.
            text = resolve_crossrefs(text, numbers, where=f"{name}, output of {cell.describe()}: ")
            parts.append(text.strip("\n"))
        elif out.kind == "text":
            parts.append(_fence(out.content))
        elif out.kind == "stderr":
            parts.append(_fence(out.content, " {.stderr}"))
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


def _metadata(front: dict) -> dict:
    # Not "keywords": Pandoc 3.9's Typst template writes them unquoted, which Typst rejects.
    meta = {k: front[k] for k in ("title", "subtitle", "author", "date", "abstract", "lang")
            if k in front}
    if str(meta.get("date", "")).strip() in {"today", "now", "last-modified"}:
        meta["date"] = _dt.date.today().isoformat()
    elif isinstance(meta.get("date"), (_dt.date, _dt.datetime)):
        meta["date"] = meta["date"].isoformat()
    return meta


def assemble_markdown(executed: ExecutedDocument) -> str:
    """Pandoc Markdown of an executed document: metadata block, text with inline values and
    resolved cross-references, code (when echoed), figures and captioned tables."""
    doc = executed.doc
    numbers = number_labels(executed)
    echo_default = bool(doc.option("echo", True))
    parts = []
    meta = _metadata(doc.front_matter)
    if meta:
        parts.append("---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---")
    for done in executed.cells:
        if done.cell.kind == "markdown":
            parts.append(_markdown_cell(done, numbers, doc.name))
        else:
            parts.extend(_code_cell(done, numbers, echo_default, doc.name))
    return "\n\n".join(p for p in parts if p.strip()) + "\n"


def _run(args: list[str], *, cwd: Path, what: str) -> None:
    proc = subprocess.run([pandoc_path(), *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(f"{what}: Pandoc failed: {proc.stderr.strip()[-2000:]}")


def _toc(front: dict, fmt: str) -> bool:
    fmt_opts = (front.get("format") or {}) if isinstance(front.get("format"), dict) else {}
    opts = fmt_opts.get("typst" if fmt == "pdf" else fmt) or {}
    return bool(opts.get("toc", front.get("toc", False))) if isinstance(opts, dict) else False


def convert(
    markdown: str,
    fmt: Format,
    *,
    out: Path,
    workdir: Path,
    front_matter: dict | None = None,
    name: str = "report",
) -> Path:
    """Convert assembled Markdown to one output format.

    Parameters
    ----------
    markdown : str
        Output of :func:`assemble_markdown`.
    fmt : {"html", "pdf", "docx"}
        Output format.
    out : pathlib.Path
        Output file.
    workdir : pathlib.Path
        Directory holding the figures (image paths in ``markdown`` are relative to it).
    front_matter : dict, optional
        The document's front matter (for ``toc`` and the page title).
    name : str
        Name of the report, for error messages.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    if fmt not in EXTENSIONS:
        raise RenderError(f"unknown format {fmt!r}; use one of {sorted(EXTENSIONS)}")
    front = front_matter or {}
    workdir = Path(workdir).resolve()
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    source = workdir / "document.md"
    source.write_text(markdown, encoding="utf-8")
    # Citations are off: cross-references are resolved already, and a stray "@word" must not
    # become a citation that Typst then fails to find in a bibliography.
    # --columns: pipe tables wider than this get relative column widths from the dashes of
    # their separator line (equal widths here); a large value lets each writer size columns
    # to their content.
    common = [source.name, "-f", "markdown-citations", "--resource-path", str(workdir),
              "--columns", "2000"]
    if _toc(front, fmt):
        common.append("--toc")
    what = f"{name} ({fmt})"
    if fmt == "html":
        (workdir / "style.css").write_text(STYLE_CSS, encoding="utf-8")
        args = [*common, "-t", "html5", "--standalone", "--embed-resources", "--mathml",
                "--css", "style.css", "-o", str(out)]
        if "title" not in front:
            args += ["--metadata", f"pagetitle={Path(name).stem}"]
        _run(args, cwd=workdir, what=what)
    elif fmt == "docx":
        _run([*common, "-t", "docx", "-o", str(out)], cwd=workdir, what=what)
    else:
        (workdir / "header.typ").write_text(_TYPST_HEADER, encoding="utf-8")
        typ = workdir / "document.typ"
        _run([*common, "-t", "typst", "--standalone", "--include-in-header", "header.typ",
              "-V", "papersize=a4", "-V", "fontsize=10.5pt",
              "-o", typ.name], cwd=workdir, what=what)
        try:
            import typst

            typst.compile(str(typ), output=str(out), root=str(workdir))
        except ImportError:  # pragma: no cover - typst is a dependency
            raise RenderError("the 'typst' package is needed for PDF output; install it") from None
        except Exception as exc:  # typst raises its own error type with the Typst diagnostics
            raise RenderError(f"{what}: Typst failed: {str(exc)[-2000:]}") from None
    return out
