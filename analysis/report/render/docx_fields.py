"""Word output: captions numbered by fields, cross-references as fields, a callout style.

Pandoc writes figure and table captions ("Figure 1: ...", in the "Image Caption" and "Table
Caption" styles, both based on Word's "Caption") and cross-references (internal links "Figure
1") as fixed text. Here the number of each caption becomes a ``SEQ Figure``/``SEQ Table`` field
inside a bookmark, and each cross-reference a ``REF`` field to that bookmark, as Word's own
Insert Caption and Cross-reference do, so that after reordering, "Update field" (F9) renumbers
captions and references together. The fields carry the current numbers as their results, so
the document reads correctly before any update. Pandoc has no option for this (its docx writer
writes captions as text), hence this post-processing of ``word/document.xml``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from lxml import etree

__all__ = ["caption_fields", "callout_reference_docx", "W"]

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_NS = {"w": W}
_CAPTION_STYLES = {"ImageCaption": "Figure", "TableCaption": "Table"}
_LABEL_PREFIX = {"Figure": "fig-", "Table": "tbl-"}
_NUMBER = re.compile(r"^(Figure|Table) (\d+)(: ?)?")


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def _run(text: str) -> etree._Element:
    r = etree.Element(_w("r"))
    t = etree.SubElement(r, _w("t"))
    t.text = text
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    return r


def _field(instr: str, result: str) -> etree._Element:
    fld = etree.Element(_w("fldSimple"))
    fld.set(_w("instr"), instr)
    r = _run(result)
    rpr = etree.Element(_w("rPr"))
    etree.SubElement(rpr, _w("noProof"))
    r.insert(0, rpr)
    fld.append(r)
    return fld


def bookmark_name(label: str) -> str:
    """Word bookmark for a caption number: ``_Ref`` + label (letters, digits, _; <= 40 chars).

    Examples
    --------
    >>> bookmark_name("fig-primary-outcome")
    '_Ref_fig_primary_outcome'
    """
    return ("_Ref_" + re.sub(r"\W", "_", label))[:40]


def _strip_prefix(runs: list[etree._Element], n: int) -> None:
    """Remove the first ``n`` characters of text from a sequence of runs."""
    for r in runs:
        for t in r.findall("w:t", _NS):
            if n <= 0:
                return
            text = t.text or ""
            cut = min(n, len(text))
            t.text = text[cut:]
            t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            n -= cut


def _rewrite(xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    ids = [int(b.get(_w("id"))) for b in root.iter(_w("bookmarkStart")) if b.get(_w("id"), "").isdigit()]
    next_id = max(ids, default=0) + 1
    last_label = None
    numbered: dict[str, str] = {}
    for el in list(root.iter(_w("bookmarkStart"), _w("p"))):
        if el.tag == _w("bookmarkStart"):
            name = el.get(_w("name"), "")
            if name.startswith(("fig-", "tbl-")):
                last_label = name
            continue
        style = el.find("w:pPr/w:pStyle", _NS)
        kind = _CAPTION_STYLES.get(style.get(_w("val")) if style is not None else "")
        if kind is None or last_label is None or not last_label.startswith(_LABEL_PREFIX[kind]):
            continue
        runs = el.findall("w:r", _NS)
        text = "".join(t.text or "" for r in runs for t in r.findall("w:t", _NS))
        m = _NUMBER.match(text)
        if not m or m.group(1) != kind:
            continue
        _strip_prefix(runs, m.end())
        mark = bookmark_name(last_label)
        new = [_run(f"{kind} ")]
        start = etree.Element(_w("bookmarkStart"))
        start.set(_w("id"), str(next_id))
        start.set(_w("name"), mark)
        end = etree.Element(_w("bookmarkEnd"))
        end.set(_w("id"), str(next_id))
        next_id += 1
        new += [start, _field(f" SEQ {kind} \\* ARABIC ", m.group(2)), end]
        if m.group(3):
            new.append(_run(m.group(3)))
        ppr = el.find("w:pPr", _NS)
        at = 1 if ppr is not None else 0
        for k, node in enumerate(new):
            el.insert(at + k, node)
        numbered[last_label] = mark
        last_label = None
    for link in list(root.iter(_w("hyperlink"))):
        label = link.get(_w("anchor"), "")
        if label not in numbered:
            continue
        text = "".join(t.text or "" for t in link.iter(_w("t")))
        m = re.match(r"^(?:(Figure|Table) )?(\d+)$", text)
        if not m:
            continue
        parent = link.getparent()
        at = parent.index(link)
        new = ([_run(f"{m.group(1)} ")] if m.group(1) else []) + [
            _field(f" REF {numbered[label]} \\h ", m.group(2))]
        parent.remove(link)
        for k, node in enumerate(new):
            parent.insert(at + k, node)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def caption_fields(docx: Path) -> Path:
    """Turn the caption numbers and cross-references of a Pandoc ``.docx`` into Word fields.

    The file is rewritten in place (through a temporary copy, so a failure leaves it whole).
    """
    docx = Path(docx)
    with tempfile.TemporaryDirectory(prefix="itb-docx-") as tmp:
        fixed = Path(tmp) / docx.name
        with zipfile.ZipFile(docx) as zin, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in zin.infolist():
                data = zin.read(item.filename)
                if item.filename == "word/document.xml":
                    data = _rewrite(data)
                zout.writestr(item, data)
        shutil.move(str(fixed), docx)
    return docx


def callout_reference_docx(path: Path, *, pandoc: str) -> Path:
    """Pandoc's default reference document plus a framed, shaded "Callout" paragraph style
    (used by callouts) and left-aligned "Compact" table text (never justified)."""
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import parse_xml

    path = Path(path)
    if path.is_file():
        return path
    proc = subprocess.run([pandoc, "-o", str(path), "--print-default-data-file", "reference.docx"],
                          capture_output=True)
    if proc.returncode != 0:  # pragma: no cover - Pandoc always has its reference.docx
        raise RuntimeError(proc.stderr.decode(errors="replace"))
    document = docx.Document(str(path))
    styles = document.styles
    style = styles.add_style("Callout", WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = styles["Normal"]
    ppr = style.element.get_or_add_pPr()
    ppr.append(parse_xml(
        f'<w:pBdr xmlns:w="{W}">'
        '<w:top w:val="single" w:sz="4" w:space="4" w:color="0072B2"/>'
        '<w:left w:val="single" w:sz="18" w:space="4" w:color="0072B2"/>'
        '<w:bottom w:val="single" w:sz="4" w:space="4" w:color="0072B2"/>'
        '<w:right w:val="single" w:sz="4" w:space="4" w:color="0072B2"/></w:pBdr>'))
    ppr.append(parse_xml(f'<w:shd xmlns:w="{W}" w:val="clear" w:color="auto" w:fill="EEF5FB"/>'))
    style.paragraph_format.left_indent = docx.shared.Pt(6)
    style.paragraph_format.right_indent = docx.shared.Pt(6)
    if "Compact" in [s.name for s in styles]:
        styles["Compact"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    document.save(str(path))
    return path
