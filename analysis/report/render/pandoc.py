"""Convert assembled Markdown (:mod:`~analysis.report.render.assemble`) to HTML, PDF and DOCX.

Citations are formatted by Pandoc's citeproc from the document's bibliography and CSL style,
as Quarto does.

Formats: HTML is one self-contained file (images as data URIs, math as MathML, our own small
stylesheet embedded, nothing loaded from the web); DOCX holds real Word tables, captions numbered by
Word SEQ fields and cross-references as REF fields (:mod:`~analysis.report.render.docx_fields`),
callouts in a framed "Callout" paragraph style; the PDF is made by Typst from Pandoc's Typst
output (Typst ships its own fonts).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Literal

from analysis.errors import RenderError
from analysis.report.escape import typst_string
from analysis.report.render.assemble import (
    assemble_markdown,
    number_labels,
    resolve_crossrefs,
)
from analysis.report.render.citations import Bibliography
from analysis.report.render.docx_fields import callout_reference_docx, caption_fields
from analysis.report.render.markup import CrossrefWarning
from analysis.report.render.supplement import (
    extract_supplement,
    supplement_path,
    write_supplement,
)
from analysis.report.render.trusted import READER, gate

__all__ = ["CrossrefWarning", "Format", "assemble_markdown", "number_labels", "resolve_crossrefs",
           "convert", "pandoc_path", "STYLE_CSS"]

Format = Literal["html", "pdf", "docx"]


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
figure img { display: block; }
.quarto-authors { margin: 0.5rem 0 1rem; } .quarto-authors p { margin: 0.3rem 0; }
.abstract { margin: 1rem 0; padding: 0.6rem 1rem; background: #f7f7f7; }
.callout { margin: 1rem 0; padding: 0.5rem 1rem; border-left: 4px solid #0072B2;
           background: #eef5fb; }
.callout-title { font-weight: bold; margin: 0.2rem 0; }
.callout-tip { border-color: #009E73; background: #eaf7f2; }
.callout-warning { border-color: #E69F00; background: #fdf5e6; }
.callout-caution { border-color: #D55E00; background: #fcefe6; }
.callout-important { border-color: #CC79A7; background: #faf0f6; }
.references .csl-entry { margin: 0.3rem 0; }
pre { background: #f6f8fa; padding: 0.6rem; overflow-x: auto; font-size: 0.85rem; }
pre.stderr, .stderr pre { background: #fff8e6; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
"""

#: Typst header: we number figures and tables ourselves, so Typst must not number them again;
#: long tables (wrapped in figures by Pandoc) must be able to break across pages, with the
#: caption above the table and never left alone at the foot of a page (a sticky block stays with
#: the block after it); table text is set ragged-right (justified narrow columns open wide gaps:
#: "Patient   Global   Impression"), not hyphenated, at the size that
#: :mod:`~analysis.report.render.table_layout` measures columns with.
_TYPST_HEADER = """\
#set figure(numbering: none)
#show figure: set block(breakable: true)
#show figure.where(kind: table): set figure.caption(position: top)
#show figure.caption.where(kind: table): it => block(sticky: true, width: 100%, it)
#set table(inset: (x: 3pt, y: 2.5pt))
#show table: set text(size: 8pt, hyphenate: false)
#show table: set par(justify: false)
"""

def pandoc_path() -> str:
    """Path of the Pandoc binary shipped by ``pypandoc-binary`` (or Pandoc on PATH)."""
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except (ImportError, OSError) as exc:  # pragma: no cover - depends on installation
        raise RenderError(
            f"Pandoc was not found ({exc}); install the 'pypandoc-binary' package"
        ) from None



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
    bibliography: Bibliography | None = None,
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
    bibliography : Bibliography, optional
        The bibliography and CSL style (citations are formatted by Pandoc's citeproc).

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
    # Long tables marked supplementary go to <out>/<name>-supplement.xlsx, not into the document.
    markdown, sheets = extract_supplement(markdown)
    write_supplement(sheets, supplement_path(out))
    source = workdir / "document.md"
    source.write_text(markdown, encoding="utf-8")
    what = f"{name} ({fmt})"
    # Read with no raw markup of any kind, check the AST (trusted.gate: the renderer's own raw
    # blocks by their key, images only from this render's folder, links only to anchors and
    # web addresses), then write the format from the checked AST.
    # --columns: pipe tables wider than this get relative column widths from the dashes of
    # their separator line (equal widths here); a large value lets each writer size columns
    # to their content. The reader applies it, so it is given here.
    _run([source.name, "-f", MARKDOWN_READER, "--columns", "2000", "-t", "json",
          "-o", "document.json"], cwd=workdir, what=what)
    ast = json.loads((workdir / "document.json").read_text(encoding="utf-8"))
    (workdir / "document.json").write_text(json.dumps(gate(ast, workdir=workdir, where=what)),
                                           encoding="utf-8")
    # Cross-references are resolved already; every remaining citation was checked against the
    # bibliography (assemble.check_citations), so citeproc finds them all.
    # HTML tags, raw attributes and TeX written in the Markdown (by an author, or in a label,
    # title or id that came from the data) are text, escaped in every output, never live markup;
    # the renderer's own raw output is trusted.raw_block, keyed. _quarto.yml gives Quarto
    # QUARTO_READER.
    common = ["document.json", "-f", "json", "--resource-path", str(workdir),
              "--columns", "2000"]
    if bibliography is not None:
        common += ["--citeproc", "-M", "link-citations=true"]
        for bib in bibliography.files:
            common += ["--bibliography", str(bib)]
        if bibliography.csl is not None:
            common += ["--csl", str(bibliography.csl)]
    if _toc(front, fmt):
        common.append("--toc")
    if fmt == "html":
        (workdir / "style.css").write_text(STYLE_CSS, encoding="utf-8")
        (workdir / "csp.html").write_text(CSP_META + "\n", encoding="utf-8")
        args = [*common, "-t", "html5", "--standalone", "--embed-resources", "--mathml",
                "--css", "style.css", "--include-in-header", "csp.html", "-o", str(out)]
        if "title" not in front:
            args += ["--metadata", f"pagetitle={Path(name).stem}"]
        _run(args, cwd=workdir, what=what)
    elif fmt == "docx":
        reference = callout_reference_docx(workdir / "reference.docx", pandoc=pandoc_path())
        _run([*common, "-t", "docx", "--reference-doc", str(reference), "-o", str(out)],
             cwd=workdir, what=what)
        caption_fields(out)
    else:
        (workdir / "header.typ").write_text(_TYPST_HEADER, encoding="utf-8")
        typ = workdir / "document.typ"
        _run([*common, "-t", "typst", "--standalone", "--include-in-header", "header.typ",
              "-V", "papersize=a4", "-V", "fontsize=10.5pt",
              "-o", typ.name], cwd=workdir, what=what)
        _typst_alt_text(typ, markdown)
        try:
            import typst

            typst.compile(str(typ), output=str(out), root=str(workdir))
        except ImportError:  # pragma: no cover - typst is a dependency
            raise RenderError("the 'typst' package is needed for PDF output; install it") from None
        except Exception as exc:  # typst raises its own error type with the Typst diagnostics
            raise RenderError(f"{what}: Typst failed: {str(exc)[-2000:]}") from None
    return out


#: Pandoc's Markdown reader of the built-in engine: no raw markup (:mod:`.trusted`).
MARKDOWN_READER = READER
#: Quarto's reader (``from:`` in _quarto.yml): no raw HTML or TeX; raw attributes stay on for
#: Quarto's own engine output, and text from the data cannot form one (every backtick and brace
#: of it is escaped by :mod:`analysis.report.escape`).
QUARTO_READER = "markdown-raw_html-raw_tex"
#: Content-Security-Policy of every HTML report: no script at all, nothing loaded from anywhere
#: (images, fonts and styles are embedded in the file).
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
       "base-uri 'none'; form-action 'none'")
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'

_MD_ALT = re.compile(r'!\[[^\]]*\]\((?P<src>[^)\s]+)\)\{[^}]*?\balt="(?P<alt>(?:[^"\\]|\\.)*)"')


def _typst_alt_text(typ: Path, markdown: str) -> None:
    """Give Typst's images the alt text of the Markdown (Pandoc's Typst writer drops it)."""
    alts = {m.group("src"): m.group("alt").replace('\\"', '"') for m in _MD_ALT.finditer(markdown)}
    if not alts:
        return
    text = typ.read_text(encoding="utf-8")

    def repl(m: re.Match) -> str:
        alt = alts.get(m.group(1))
        return m.group(0) if alt is None else f'image("{m.group(1)}", alt: {typst_string(alt)}'

    typ.write_text(re.sub(r'image\("([^"]+)"', repl, text), encoding="utf-8")
