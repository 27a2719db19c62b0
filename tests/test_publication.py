"""Publication-grade output of the renderer, checked by opening the outputs.

One small fixture (tests/fixtures/render/publication.qmd) with authors, affiliations, abstract,
keywords, citations, callouts, fig-alt, numbered sections and an appendix is rendered once to
HTML, PDF and Word; the files are opened with pypdf, python-docx/lxml and an HTML parser.
Freeze is checked by counting executions, never by timing.
"""

from __future__ import annotations

import html
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from analysis.errors import RenderError
from analysis.report.render import check_document, render_report
from analysis.report.render import quarto as quarto_mod
from analysis.report.render.qmd import parse_qmd

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "render"
PUB = FIXTURES / "publication.qmd"
ALT = "Line chart rising steadily from 0 at point 0 to 3 at point 3."
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def pub(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pub")
    paths = render_report(PUB, out_dir=out, progress=False, freeze=False)
    found = {p.suffix.lstrip("."): p for p in paths}
    found["out"] = out
    return found


def _text(page: str) -> str:
    """The visible text of an HTML page: no style or script, inline tags joined."""
    page = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"</?(a|span|sup|sub|em|strong|code)\b[^>]*>", "", page)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(path).pages))


def _docx_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("word/document.xml").decode("utf-8")


# --- figures -----------------------------------------------------------------------------------

def test_theme_keeps_fonts_readable_and_leaves_dpi_to_the_renderer():
    from analysis.report.plotting.theme import MIN_FONT_PT, PAGE_WIDTH, theme_rc

    rc = theme_rc()
    assert "figure.dpi" not in rc  # it used to reset the renderer's dpi to 100
    sizes = [rc[k] for k in ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize",
                             "ytick.labelsize", "legend.fontsize", "legend.title_fontsize")]
    assert min(sizes) >= MIN_FONT_PT
    assert PAGE_WIDTH == pytest.approx(170 / 25.4)  # the PDF text width: printed at own size


def test_html_figure_is_vector_with_alt_text_at_readable_width(pub):
    page = pub["html"].read_text(encoding="utf-8")
    imgs = re.findall(r"<img [^>]*>", page)
    assert len(imgs) == 1
    img = imgs[0]
    assert 'src="data:image/svg+xml' in img
    assert f'alt="{ALT}"' in img  # the fig-alt text, not the caption
    width = int(re.search(r'width="(\d+)"', img).group(1))
    assert width >= 450  # 1.5 x the print size of a 3.5-inch column figure, in CSS px


def test_pdf_has_no_raster_images(pub):
    from pypdf import PdfReader

    # Every figure is vector (SVG drawn by Typst): there is no bitmap whose ppi could be low.
    assert not [img.name for page in PdfReader(pub["pdf"]).pages for img in page.images]


def test_docx_images_print_at_300_ppi_or_more_with_alt_text(pub):
    import docx
    from PIL import Image

    document = docx.Document(str(pub["docx"]))
    assert document.inline_shapes
    for shape in document.inline_shapes:
        blip = shape._inline.graphic.graphicData.pic.blipFill.blip
        part = document.part.related_parts[blip.embed]
        with Image.open(__import__("io").BytesIO(part.blob)) as im:
            px_wide = im.size[0]
        ppi = px_wide / shape.width.inches
        assert ppi >= 300, ppi
        assert shape.width.inches <= 6.7  # fits the text block at print size
        assert shape._inline.docPr.get("descr") == ALT


def test_submission_figure_files(pub):
    from PIL import Image

    from analysis.report.render.assemble import figure_size

    folder = pub["out"] / "figures"
    stem = folder / "publication-fig-line-1"
    for ext in ("svg", "pdf", "png"):
        assert (folder / f"{stem.name}.{ext}").is_file(), ext
    width_in, height_in = figure_size(stem.with_suffix(".svg"))
    with Image.open(stem.with_suffix(".png")) as im:
        assert im.info["dpi"][0] == pytest.approx(600, abs=0.01)
        assert im.size[0] == pytest.approx(width_in * 600, abs=3)
        assert im.size[1] == pytest.approx(height_in * 600, abs=3)
    assert stem.with_suffix(".pdf").read_bytes().startswith(b"%PDF")


# --- Quarto syntax -----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["html", "pdf", "docx"])
def test_no_literal_quarto_markup_in_any_output(pub, fmt):
    if fmt == "html":
        text = _text(pub["html"].read_text(encoding="utf-8"))
    elif fmt == "pdf":
        text = _pdf_text(pub["pdf"])
    else:
        text = html.unescape(re.sub(r"<[^>]+>", "", _docx_xml(pub["docx"])))
    for literal in ("@fig-", "@tbl-", "@sec-", "[@", "{{<", "?@", "callout-", "{python}", "true"):
        assert literal not in text, (fmt, literal)


def test_citations_resolve_to_a_numbered_reference_list(pub):
    text = _text(pub["html"].read_text(encoding="utf-8"))
    # Vancouver: numbered in order of first citation; Jacobson is cited first.
    assert "reliable by the RCI (1), with Holm’s correction (1,2)" in text
    assert "References 1. Jacobson NS, Truax P. Clinical significance" in text
    assert "2. Holm S. A simple sequentially rejective multiple test procedure. Scand J Stat. " \
           "1979;6(2):65–70." in text
    pdf = _pdf_text(pub["pdf"])
    assert "References 1. Jacobson NS, Truax P." in pdf and "(1,2)" in pdf
    xml = _docx_xml(pub["docx"])
    assert 'w:val="Bibliography"' in xml and "Jacobson NS, Truax P." in xml


def test_authors_affiliations_abstract_keywords_in_every_format(pub):
    texts = {"html": _text(pub["html"].read_text(encoding="utf-8")), "pdf": _pdf_text(pub["pdf"]),
             "docx": html.unescape(re.sub(r"<[^>]+>", "", _docx_xml(pub["docx"])))}
    for fmt, text in texts.items():
        assert "Ann Lee" in text and "Bo Chan" in text, fmt
        assert "ORCID 0000-0002-1825-0097" in text, fmt
        assert "Department of Neurology, Example Hospital, York, UK" in text, fmt
        assert "Statistics Unit, Leeds, UK" in text, fmt
        assert "Corresponding author: Ann Lee" in text and "ann.lee@example.org" in text, fmt
        assert "A short abstract of the demonstration." in text, fmt
        assert "intrathecal baclofen; case series" in text, fmt
    page = pub["html"].read_text(encoding="utf-8")
    assert 'href="https://orcid.org/0000-0002-1825-0097"' in page
    assert "Ann Lee<sup>1,*</sup>" in page and "Bo Chan<sup>1,2</sup>" in page


def test_sections_are_numbered_and_referenced(pub):
    text = _text(pub["html"].read_text(encoding="utf-8"))
    assert "1 Methods" in text and "2 Results" in text and "2.1 Numbers" in text
    assert "Results are in Section 2 and Figure 1; the data in Appendix A." in text
    assert "Appendix A: Data" in text and "(Section 1)" in text
    pdf = _pdf_text(pub["pdf"])
    assert "Results are in Section 2 and Figure 1" in pdf and "Appendix A: Data" in pdf


def test_callouts_are_boxes_not_headings(pub):
    page = pub["html"].read_text(encoding="utf-8")
    assert re.search(r'<div class="callout callout-note">\s*<div class="callout-title">\s*'
                     r'<p>Reading the figure</p>', page)
    assert '<div class="callout callout-warning">' in page
    assert not re.search(r"<h\d[^>]*>[^<]*Reading the figure", page)
    xml = _docx_xml(pub["docx"])
    assert xml.count('w:val="Callout"') >= 4  # the callouts' paragraphs in the framed style
    import docx

    styles = docx.Document(str(pub["docx"])).styles
    assert "w:pBdr" in styles["Callout"].element.xml  # framed
    typ_text = _pdf_text(pub["pdf"])
    assert "Reading the figure Each point is one of 4 values." in typ_text


def test_docx_captions_and_references_are_word_fields(pub):
    from lxml import etree

    root = etree.fromstring(_docx_xml(pub["docx"]).encode("utf-8"))
    fields = [f.get(f"{W}instr").strip() for f in root.iter(f"{W}fldSimple")]
    assert "SEQ Figure \\* ARABIC" in fields and "SEQ Table \\* ARABIC" in fields
    assert "REF _Ref_fig_line \\h" in fields and "REF _Ref_tbl_values \\h" in fields
    marks = {b.get(f"{W}name") for b in root.iter(f"{W}bookmarkStart")}
    assert {"_Ref_fig_line", "_Ref_tbl_values"} <= marks
    # The field results hold the current numbers, so the text reads right before an update.
    for para in root.iter(f"{W}p"):
        style = para.find(f"{W}pPr/{W}pStyle")
        if style is not None and style.get(f"{W}val") == "ImageCaption":
            assert "".join(t.text or "" for t in para.iter(f"{W}t")).startswith("Figure 1: Values")


REFUSED = [
    ("Text.\n\n{{< embed notebook.ipynb#fig-x >}}\n", "line 3", "{{< embed >}}"),
    ("Text.\n\n{{< include other.qmd >}}\n", "line 3", "{{< include >}}"),
    ("::: {.callout-danger}\nx\n:::\n", "line 1", ".callout-danger"),
    ("a\n\n::: {.panel-tabset}\nx\n:::\n", "line 3", ".panel-tabset"),
    ("::: {#fig-pair layout-ncol=2}\nx\n:::\n", "line 1", "layout-ncol"),
    ("```{python}\n#| layout-ncol: 2\nx = 1\n```\n", "line 1", "layout-ncol"),
    ("As shown [@nobody2020].\n", "line 1", "@nobody2020"),
]


@pytest.mark.parametrize("source, line, construct", REFUSED)
def test_unsupported_quarto_syntax_is_refused_with_its_line(tmp_path, source, line, construct):
    qmd = tmp_path / "odd.qmd"
    qmd.write_text(source, encoding="utf-8")
    with pytest.raises(RenderError) as info:
        render_report(qmd, formats=["html"], out_dir=tmp_path / "out", progress=False)
    message = str(info.value)
    assert f"odd.qmd, {line}" in message and construct in message
    assert not (tmp_path / "out" / "odd.html").exists()


def test_unknown_citation_key_is_refused_naming_line():
    doc = parse_qmd("---\ntitle: x\n---\n\nFine.\n\nSee [@holm1979; @missing2].\n")
    from analysis.report.render.citations import Bibliography

    bib = Bibliography((), frozenset({"holm1979"}), None)
    with pytest.raises(RenderError, match=r"line 7: citation @missing2 is not in the bibliography"):
        check_document(doc, bib)
    check_document(parse_qmd("Mail me@example.org; `@x`; \\@home.\n"), None)  # not citations


# --- freeze ------------------------------------------------------------------------------------

FROZEN = """\
---
title: Frozen
execute:
  freeze: auto
---

```{python}
#| tags: [parameters]
data = "values.csv"
```

```{python}
import analysis
values = [float(v) for v in open(data).read().split()]
print("sum", sum(values))
```

Total `{python} sum(values)`. Prose line one.
"""


@pytest.fixture()
def counted(monkeypatch):
    import analysis.report.render as render_mod

    calls = []
    real = render_mod.execute_document

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(render_mod, "execute_document", counting)
    return calls


def test_freeze_reuses_outputs_and_invalidates_what_it_must(tmp_path, counted, monkeypatch):
    from analysis.report.render import freeze as freeze_mod

    qmd = tmp_path / "frozen.qmd"
    qmd.write_text(FROZEN, encoding="utf-8")
    data = tmp_path / "values.csv"
    data.write_text("1 2 3", encoding="utf-8")
    out = tmp_path / "out"

    def render() -> str:
        (path,) = render_report(qmd, formats=["html"], out_dir=out, progress=False)
        return _text(path.read_text(encoding="utf-8"))

    assert "Total 6.0" in render() and len(counted) == 1
    assert "Total 6.0" in render() and len(counted) == 1  # unchanged: frozen
    stored = [p for p in (out / "_freeze").rglob("*") if p.is_file()]
    assert stored and all(p.suffix in {".json", ".svg", ".png"} for p in stored)  # never pickle

    qmd.write_text(FROZEN.replace("Prose line one.", "Prose edited."), encoding="utf-8")
    assert "Prose edited." in render() and len(counted) == 1  # prose is not in the key

    data.write_text("1 2 3 4", encoding="utf-8")
    assert "Total 10.0" in render() and len(counted) == 2  # the data changed

    qmd.write_text(FROZEN.replace("freeze: auto", "freeze: auto\n  warning: false"),
                   encoding="utf-8")
    render()
    assert len(counted) == 3  # the execution configuration changed

    monkeypatch.setattr(freeze_mod, "package_digest", lambda: "edited package source")
    render()
    assert len(counted) == 4  # the package source changed
    render()
    assert len(counted) == 4

    qmd.write_text(FROZEN.replace("freeze: auto", "freeze: auto\n  warning: false")
                   .replace('print("sum"', 'print("total"'), encoding="utf-8")
    render()
    assert len(counted) == 5  # a cell's code changed

    (path,) = render_report(qmd, formats=["html"], out_dir=out, progress=False, freeze=False)
    assert len(counted) == 6  # freeze=False always executes


def test_freeze_key_follows_parameter_files(tmp_path):
    from analysis.report.render.freeze import freeze_key

    doc = parse_qmd(FROZEN)
    (tmp_path / "a.csv").write_text("1", encoding="utf-8")
    (tmp_path / "b.csv").write_text("1", encoding="utf-8")
    fig = (7, 5, 300)
    key_a = freeze_key(doc, params={"data": "a.csv"}, cwd=tmp_path, fig=fig)
    assert key_a == freeze_key(doc, params={"data": "a.csv"}, cwd=tmp_path, fig=fig)
    assert key_a != freeze_key(doc, params={"data": "b.csv"}, cwd=tmp_path, fig=fig)
    (tmp_path / "a.csv").write_text("2", encoding="utf-8")
    assert key_a != freeze_key(doc, params={"data": "a.csv"}, cwd=tmp_path, fig=fig)
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "study.yaml").write_text("x: 1", encoding="utf-8")
    key_dir = freeze_key(doc, params={"data": "data"}, cwd=tmp_path, fig=fig)
    (folder / "study.yaml").write_text("x: 2", encoding="utf-8")  # configuration beside the data
    assert key_dir != freeze_key(doc, params={"data": "data"}, cwd=tmp_path, fig=fig)


# --- the Quarto path ---------------------------------------------------------------------------

def test_quarto_command_and_output_paths(tmp_path):
    root = tmp_path / "project"
    (root / "reports").mkdir(parents=True)
    (root / "_quarto.yml").write_text("project:\n  type: default\n", encoding="utf-8")
    qmd = root / "reports" / "a.qmd"
    cmd = quarto_mod.quarto_command(qmd, formats=["html", "pdf", "docx"],
                                    params_file=tmp_path / "p.yml", out_dir=root / "_output")
    assert cmd == ["quarto", "render", str(qmd), "--to", "html,typst,docx", "--output-dir",
                   str(root / "_output"), "--no-execute-daemon", "--execute-params",
                   str(tmp_path / "p.yml")]
    assert quarto_mod.quarto_outputs(qmd, formats=["html", "docx"], out_dir=root / "_output") == [
        root / "_output" / "reports" / "a.html", root / "_output" / "reports" / "a.docx"]
    alone = tmp_path / "alone" / "b.qmd"  # no _quarto.yml above: no mirrored folder
    alone.parent.mkdir()
    assert quarto_mod.quarto_outputs(alone, formats=["pdf"], out_dir=tmp_path / "o") == [
        tmp_path / "o" / "b.pdf"]


def test_quarto_project_freezes_and_numbers():
    config = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    assert config["execute"]["freeze"] == "auto"


@pytest.mark.skipif(shutil.which("quarto") is None, reason="the Quarto CLI is not on PATH")
def test_real_quarto_renders_where_it_says(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(FIXTURES, project / "docs")
    (project / "_quarto.yml").write_text("project:\n  type: default\n", encoding="utf-8")
    shutil.copy(ROOT / "reports" / "vancouver.csl", project / "docs" / "vancouver.csl")
    qmd = project / "docs" / "publication.qmd"
    qmd.write_text(qmd.read_text(encoding="utf-8").replace("../../../reports/vancouver.csl",
                                                           "vancouver.csl"), encoding="utf-8")
    paths = render_report(qmd, formats=["html"], out_dir=project / "_output", engine="quarto",
                          progress=False)
    assert paths == [project / "_output" / "docs" / "publication.html"]
    built = _text(paths[0].read_text(encoding="utf-8"))
    ours = _text(render_report(qmd, formats=["html"], out_dir=tmp_path / "ours", engine="builtin",
                               progress=False)[0].read_text(encoding="utf-8"))
    # The same text and numbers from both paths.
    for phrase in ("Figure 1", "Table 1", "Jacobson NS", "Ann Lee", "Each point is one of 4 values"):
        assert phrase in built and phrase in ours


# ------------------------------------------------------------------ tables that fit (issue 14)

def _table_document() -> list[str]:
    """The pieces (as the assembler gives them) of a document with a narrow table, a wide one (long labels, intervals) and a supplement."""
    import pandas as pd

    from analysis.report.formatting import fmt_est_ci, fmt_num, fmt_p, fmt_stat
    from analysis.report.render.supplement import supplement_block
    from analysis.report.tables import to_markdown

    labels = ["Modified Ashworth Scale, ankle plantar flexors, left (grade)",
              "Surface EMG, soleus, root mean square amplitude, right (µV)",
              "Gait speed, 10-metre walk test, comfortable pace (m/s)"] * 4
    wide = pd.DataFrame({
        "Measure": labels,
        "Visit": ["12 months after implantation"] * len(labels),
        "n": ["18"] * len(labels),
        "Change [95% CI]": [fmt_est_ci(-20.5 - i, -31.55, -10.61, 2) for i in range(len(labels))],
        "Test": ["Wilcoxon signed-rank"] * len(labels),
        "p": [fmt_p(0.0004, prefix=False)] * len(labels),
        "p adjusted (Holm)": [fmt_p(0.0123, prefix=False)] * len(labels),
        "Effect size [95% CI]": ["r_rb " + fmt_est_ci(-0.91, -1.0, -0.55, 2)] * len(labels),
        "Against the MCID": ["improved by at least the MCID (0.10 m/s), clinically relevant"]
        * len(labels),
    })
    narrow = pd.DataFrame({"Visit": ["baseline", "post"], "Observed": ["20", "19"]})
    return [
        "# Tables",
        f"A change of {fmt_num(-2.456)} m/s, {fmt_stat('t', -4.7434, 9, 0.010)}.",
        to_markdown(narrow, "Observed values", label="narrow"),
        to_markdown(wide, "Every measure against the reference visit", label="wide"),
        "^a^ A footnote of the wide table.",
        supplement_block(pd.DataFrame({"a": [1.5, -2.0], "b": ["=HYPERLINK(1)", "x"]}),
                         "Responders"),
        "After the tables.",
    ]


@pytest.fixture(scope="module")
def table_outputs(tmp_path_factory) -> dict[str, Path]:
    from analysis.report.render.assemble import _lay_out_tables
    from analysis.report.render.pandoc import convert

    out = {}
    for fmt in ("pdf", "docx", "html"):
        work = tmp_path_factory.mktemp(f"tables-{fmt}")
        text = "\n\n".join(t for t, _ in _lay_out_tables(
            [(p, True) for p in _table_document()], fmt)) + "\n"
        out[fmt] = convert(text, fmt, out=work / "out" / f"tables.{EXTENSION[fmt]}", workdir=work,
                           name="tables")
    return out


EXTENSION = {"pdf": "pdf", "docx": "docx", "html": "html"}


def test_no_pdf_table_wider_than_the_text_block(table_outputs):
    """Every glyph of the PDF lies inside the text block of its page (20 mm side margins, on
    portrait and landscape pages alike): no table runs into the margin or off the page."""
    from pypdf import PdfReader

    reader = PdfReader(str(table_outputs["pdf"]))
    margin = 20 / 25.4 * 72 - 1.0
    landscape = 0
    for page in reader.pages:
        width = float(page.mediabox.width)
        landscape += width > float(page.mediabox.height)
        xs: list[tuple[float, str]] = []

        def visit(text, cm, tm, font, size, xs=xs):
            if text.strip():
                xs.append((tm[4] * cm[0] + cm[4], text))

        page.extract_text(visitor_text=visit)
        assert xs
        for x, text in xs:
            assert margin <= x <= width - margin, (x, text)
        # the right edge: the longest line of the page ends inside the block (at most 0.5 em
        # per character, the measure of analysis.report.render.table_layout)
    assert landscape >= 1, "the wide table should be on a landscape page"
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "A footnote of the wide table" in text


def test_pdf_table_cells_keep_intervals_on_one_line(table_outputs):
    from pypdf import PdfReader

    reader = PdfReader(str(table_outputs["pdf"]))
    lines = "\n".join(p.extract_text() for p in reader.pages).splitlines()
    # an interval is never split after its comma
    assert not [ln for ln in lines if re.search(r"\[\S+,\s*$", ln)]
    # the caption is on the same page as (and above) its table
    for page in reader.pages:
        t = page.extract_text()
        if "Every measure against the reference visit" in t:
            assert t.index("Every measure against") < t.index("Measure")


def test_minus_sign_and_no_break_spaces_in_every_format(table_outputs):
    from pypdf import PdfReader

    pdf = " ".join(p.extract_text() for p in PdfReader(str(table_outputs["pdf"])).pages)
    docx_xml = _docx_xml(table_outputs["docx"])
    page = table_outputs["html"].read_text(encoding="utf-8")
    html_text = html.unescape(page)
    for name, text in (("pdf", pdf), ("docx", docx_xml), ("html", html_text)):
        assert "\u22122.46" in text, name
        assert not re.search(r"(?<![\w\-])-\d+\.\d", _text(text) if name == "html" else text), name
    for name, text in (("docx", docx_xml), ("html", html_text)):
        assert "p\u00a0=\u00a0.010" in text and "t(9)\u00a0=\u00a0\u22124.74" in text, name
        assert "[\u221231.55,\u00a0\u221210.61]" in text, name


def test_long_tables_go_to_the_supplementary_workbook(table_outputs):
    from openpyxl import load_workbook

    for fmt, path in table_outputs.items():
        book = path.with_name("tables-supplement.xlsx")
        assert book.is_file(), fmt
        ws = load_workbook(book)["Responders"]
        assert [c.value for c in ws[1]] == ["a", "b"]
        assert ws["A2"].value == 1.5 and ws["A3"].value == -2.0
        assert ws["B2"].value == "=HYPERLINK(1)" and ws["B2"].data_type == "s"  # never a formula
    assert "HYPERLINK" not in table_outputs["html"].read_text(encoding="utf-8")


def test_docx_wide_table_has_column_widths(table_outputs):
    xml = _docx_xml(table_outputs["docx"])
    grids = re.findall(r"<w:tblGrid>(.*?)</w:tblGrid>", xml, re.S)
    widths = [[int(w) for w in re.findall(r'w:w="(\d+)"', g)] for g in grids]
    wide = max(widths, key=len)
    assert len(wide) == 9 and max(wide) > 2 * min(wide)  # sized to content, not equal
