"""Tests of the report renderer (analysis.report.render) and the report documents.

The engine is tested on a small document of our own (tests/fixtures/render/demo.qmd) whose
expected numbers follow in closed form from its parameters: values = scale * i for
i = 0..n_points-1 with scale = 1.5, so the mean is 1.5 * (n - 1) / 2 and the last value
1.5 * (n - 1).
"""

from __future__ import annotations

import html
import html.parser
import re
from pathlib import Path

import pytest
import yaml

from analysis.errors import RenderError
from analysis.paths import REPORTS as REPORT_SOURCES
from analysis.report.render import project_dir, render_report
from analysis.report.render import quarto as quarto_mod
from analysis.report.render.pandoc import CrossrefWarning, resolve_crossrefs
from analysis.report.render.project import coerce_params
from analysis.report.render.qmd import inline_expressions, parse_qmd

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "fixtures" / "render" / "demo.qmd"


def expected(n_points: int, scale: float = 1.5) -> dict[str, str]:
    """The demo's numbers from its definition (closed form, not from our code)."""
    return {"mean": f"{scale * (n_points - 1) / 2:.3f}", "last": f"{scale * (n_points - 1):.2f}"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("render")
    paths = render_report(DEMO, params={"patient": "007", "n_points": "4"}, out_dir=out,
                          progress=False)
    return {p.suffix.lstrip("."): p for p in paths}


class _Refs(html.parser.HTMLParser):
    """Collect every src attribute and the href of every stylesheet link."""

    def __init__(self) -> None:
        super().__init__()
        self.srcs: list[str] = []
        self.stylesheets: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "src" in attrs:
            self.srcs.append(attrs["src"] or "")
        if tag == "link" and "stylesheet" in (attrs.get("rel") or ""):
            self.stylesheets.append(attrs.get("href") or "")
        if tag == "script":
            self.scripts += 1


def _text(html_text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html_text))


# --- parsing ------------------------------------------------------------------------------

def test_parse_cells_options_and_front_matter():
    doc = parse_qmd(DEMO.read_text(encoding="utf-8"), path=DEMO)
    assert doc.front_matter["title"] == "Render engine demo"
    code = doc.code_cells
    assert [c.label for c in code] == [None, "setup", "fig-line", "tbl-values", None, None]
    assert code[2].options["fig-cap"] == "Values over points"
    assert code[0].tags == ["parameters"]
    assert not code[2].source.startswith("#|")
    assert doc.parameter_defaults() == {"patient": "P01", "n_points": 5, "scale": 1.5}


def test_inline_expressions_found_in_order():
    assert inline_expressions("`{python} a` and `x` and `{python} f(b, 'c')`") == ["a", "f(b, 'c')"]


def test_params_stay_strings_unless_typed_by_the_parameters_cell():
    doc = parse_qmd(DEMO.read_text(encoding="utf-8"), path=DEMO)
    typed = coerce_params(doc, {"patient": "007", "n_points": "4", "scale": "2"})
    assert typed == {"patient": "007", "n_points": 4, "scale": 2.0}
    assert isinstance(typed["n_points"], int) and isinstance(typed["scale"], float)


@pytest.mark.parametrize("params, fragment", [
    ({"nonsense": "1"}, "unknown parameter"),
    ({"n_points": "four"}, "n_points"),
])
def test_bad_params_raise(params, fragment):
    doc = parse_qmd(DEMO.read_text(encoding="utf-8"), path=DEMO)
    with pytest.raises(RenderError, match=fragment):
        coerce_params(doc, params)


def test_params_without_parameters_cell_raise():
    doc = parse_qmd("```{python}\nx = 1\n```\n")
    with pytest.raises(RenderError, match="tags: \\[parameters\\]"):
        coerce_params(doc, {"x": "2"})


def test_crossrefs_resolve_and_unknown_reference_warns():
    numbers = {"fig-a": 1, "fig-b": 2, "tbl-a": 1}
    text = resolve_crossrefs("@fig-b, @tbl-a and -@fig-a; mail me@fig-a.org", numbers)
    assert "[Figure 2](#fig-b)" in text and "[Table 1](#tbl-a)" in text
    assert "[1](#fig-a)" in text and "me@fig-a.org" in text
    with pytest.warns(CrossrefWarning, match="fig-zzz"):
        assert resolve_crossrefs("see @fig-zzz", numbers) == "see **?@fig-zzz**"  # as Quarto


def test_project_dir_is_the_folder_with_quarto_yml():
    assert project_dir(ROOT / "reports" / "case-report.qmd") == ROOT


# --- the engine on the demo document --------------------------------------------------------

def test_html_is_self_contained(rendered):
    page = rendered["html"].read_text(encoding="utf-8")
    refs = _Refs()
    refs.feed(page)
    assert refs.srcs, "the figure should be an <img>"
    for ref in refs.srcs + refs.stylesheets:
        assert not ref.startswith(("http://", "https://", "//")), ref
    assert all(s.startswith("data:") for s in refs.srcs)
    assert any(s.startswith("data:image/svg+xml") for s in refs.srcs)  # vector figures
    assert "<math" in page  # MathML, no MathJax from a CDN
    assert "mathjax" not in page.lower()


def test_html_has_crossrefs_inline_values_and_table(rendered):
    text = _text(rendered["html"].read_text(encoding="utf-8"))
    want = expected(4)
    assert "see Figure 1 and Table 1" in text
    assert "Figure 1: Values over points" in text
    assert "Table 1: The values, one row per point" in text
    assert f"The mean of 4 points is {want['mean']}" in text
    assert f"the last value is {want['last']}" in text
    assert "@fig-" not in text and "@tbl-" not in text and "{python}" not in text
    assert "stdout line 4" in text  # printed output of an echoed cell
    assert "numbered too: Table 2" in text and "Table 2: Second table" in text
    page = rendered["html"].read_text(encoding="utf-8")
    code = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert 'print("stdout line", n_points)' in code  # the echoed cell's source


def test_project_options_apply_under_the_document(rendered):
    # _quarto.yml at the repository root sets toc: true and warning: false (as Quarto merges
    # project options); the demo's own `echo: false` and its cell's `echo: true` still win.
    page = rendered["html"].read_text(encoding="utf-8")
    assert 'id="TOC"' in page
    assert "_quarto.yml (warning: false) hides" not in page
    assert "import warnings" not in page  # echo: false from the front matter


def test_string_parameter_keeps_leading_zeros(rendered):
    text = _text(rendered["html"].read_text(encoding="utf-8"))
    assert "Results for patient 007" in text


def test_pdf_has_text_and_pages(rendered):
    from pypdf import PdfReader

    reader = PdfReader(rendered["pdf"])
    assert len(reader.pages) >= 1
    text = " ".join(p.extract_text() for p in reader.pages)
    text = re.sub(r"\s+", " ", text)
    assert "Render engine demo" in text
    assert "Figure 1: Values over points" in text
    assert "Table 1: The values" in text
    assert expected(4)["mean"] in text
    assert "patient 007" in text
    assert "Figure 1: Figure 1" not in text  # Typst must not number captions again
    # The figure is vector (Typst draws the SVG): no raster image, many path operators.
    assert not any(p.images for p in reader.pages)
    assert sum(p.get_contents().get_data().count(b" l\n") for p in reader.pages) > 20


def test_docx_holds_the_table(rendered):
    import docx

    document = docx.Document(str(rendered["docx"]))
    assert len(document.tables) == 2
    cells = [[c.text for c in r.cells] for r in document.tables[0].rows]
    assert cells[0] == ["point", "value"]
    assert [r[1] for r in cells[1:]] == [f"{1.5 * i:.2f}" for i in range(4)]
    # Caption numbers are Word fields (python-docx's .text leaves field results out).
    paragraphs = " ".join("".join(t.text or "" for t in p._p.iter(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t"))
        for p in document.paragraphs)
    assert "Table 1: The values, one row per point" in paragraphs
    assert f"The mean of 4 points is {expected(4)['mean']}" in paragraphs
    assert document.inline_shapes, "the figure should be embedded"


def test_defaults_apply_without_params(tmp_path):
    (path,) = render_report(DEMO, formats=["html"], out_dir=tmp_path, progress=False)
    text = _text(path.read_text(encoding="utf-8"))
    assert "Results for patient P01" in text
    assert f"The mean of 5 points is {expected(5)['mean']}" in text


FAILING = """\
---
title: Failing
---

```{python}
x = 1
```

Text.

```{python}
#| label: bad-cell
y = x / 0
```
"""


def test_failing_cell_names_report_and_cell(tmp_path):
    qmd = tmp_path / "broken.qmd"
    qmd.write_text(FAILING, encoding="utf-8")
    with pytest.raises(RenderError) as info:
        render_report(qmd, formats=["html"], out_dir=tmp_path / "out", progress=False)
    message = str(info.value)
    assert "broken.qmd" in message
    assert "cell 'bad-cell'" in message and "y = x / 0" in message
    assert "ZeroDivisionError" in message
    assert "Traceback" not in message and "\x1b[" not in message
    assert not (tmp_path / "out" / "broken.html").exists()


def test_failing_unlabelled_cell_and_inline_expression(tmp_path):
    qmd = tmp_path / "broken2.qmd"
    qmd.write_text("```{python}\nx = 1\n```\n\n```{python}\nundefined_name + 1\n```\n",
                   encoding="utf-8")
    with pytest.raises(RenderError, match=r"cell 2 \(line 5: undefined_name \+ 1\).*NameError"):
        render_report(qmd, formats=["html"], out_dir=tmp_path, progress=False)
    qmd.write_text("Value: `{python} 1 / 0`.\n", encoding="utf-8")
    with pytest.raises(RenderError, match=r"inline expression `1 / 0`.*ZeroDivisionError"):
        render_report(qmd, formats=["html"], out_dir=tmp_path, progress=False)


def test_unknown_format_raises():
    with pytest.raises(RenderError, match="odt"):
        render_report(DEMO, formats=["odt"], progress=False)


# --- the Quarto path (Quarto is not installed here: check the command we would run) ------

def test_quarto_path_passes_typed_params_as_yaml(monkeypatch, tmp_path):
    seen = {}

    def fake_run(cmd, **kwargs):
        seen["cmd"] = cmd
        params_file = Path(cmd[cmd.index("--execute-params") + 1])
        seen["params"] = yaml.safe_load(params_file.read_text(encoding="utf-8"))
        # Quarto mirrors the document's folder in the project under --output-dir.
        folder = Path(cmd[cmd.index("--output-dir") + 1]) / "tests" / "fixtures" / "render"
        folder.mkdir(parents=True, exist_ok=True)
        for ext in ("html", "pdf", "docx"):
            (folder / f"demo.{ext}").write_text("x")

        class Done:
            returncode, stdout, stderr = 0, "", ""
        return Done()

    monkeypatch.setattr(quarto_mod.shutil, "which", lambda name: "/usr/bin/quarto")
    monkeypatch.setattr(quarto_mod.subprocess, "run", fake_run)
    paths = render_report(DEMO, params={"patient": "007", "n_points": "4"}, out_dir=tmp_path,
                          engine="auto", progress=False)
    assert seen["params"] == {"patient": "007", "n_points": 4}
    cmd = seen["cmd"]
    assert cmd[:3] == ["quarto", "render", str(DEMO)]
    assert cmd[cmd.index("--to") + 1] == "html,typst,docx"
    assert "--no-execute-daemon" in cmd
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        f"tests/fixtures/render/demo.{ext}" for ext in ("html", "pdf", "docx")]


def test_quarto_project_config():
    config = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    assert config["project"]["output-dir"] == "_output"
    assert config["execute"]["daemon"] is False
    assert config["format"]["html"]["embed-resources"] is True
    assert config["format"]["html"]["html-math-method"] == "mathml"
    assert {"html", "typst", "docx"} <= set(config["format"])


# --- the real reports on the bundled example data ----------------------------------------

REPORTS = {
    "case-series": ROOT / "data" / "example" / "case_series",
    "case-report": ROOT / "data" / "example" / "case_report",
}


def _primary_number(name: str, data: Path, cache: Path) -> str:
    """The primary outcome's change at the last follow-up as the results table holds it,
    printed by Python's own format with 2 decimals (gait speed is reported to 0.01 m/s), not
    by our formatting code: "est [lo, hi]" of the group mean difference (case series) or
    "changed by est" of the patient's change (case report)."""
    from analysis.run.pipeline import run_analysis
    from analysis.stats.descriptives import visit_order

    run = run_analysis(data, cache_dir=cache)
    res, ref = run.results, run.config.reference_visit
    primary = run.config.primary_outcome
    order = visit_order(run.observations)
    analysis = "mean_difference" if name == "case-series" else "change"
    rows = res[(res["measure"] == primary) & (res["analysis"] == analysis)
               & res["estimate"].notna() & res["term"].str.endswith(f" - {ref}")]
    if name == "case-series":
        rows = rows[rows["patient_id"] == ""]
    rows = rows.assign(_rank=rows["term"].str.split(" - ").str[0].map(order.index))
    last = rows.sort_values("_rank").iloc[-1]
    if name == "case-series":
        return f"{last['estimate']:.2f} [{last['ci_low']:.2f}, {last['ci_high']:.2f}]"
    return f"(+{last['estimate']:.2f} m/s)" if last["estimate"] > 0 else f"({last['estimate']:.2f} m/s)"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REPORTS))
def test_real_report_renders_in_all_formats(name, tmp_path, monkeypatch):
    import docx
    from pypdf import PdfReader

    cache = tmp_path / "cache"
    monkeypatch.setenv("ITB_CACHE_DIR", str(cache))
    data = REPORTS[name]
    params = {"data": str(data)}
    if name == "case-report":
        params["patient"] = "P01"
    paths = render_report(ROOT / "reports" / f"{name}.qmd", params=params,
                          out_dir=tmp_path / "out", engine="builtin", progress=False)
    assert [p.suffix for p in paths] == [".html", ".pdf", ".docx"]
    number = _primary_number(name, data, cache)

    page = paths[0].read_text(encoding="utf-8")
    refs = _Refs()
    refs.feed(page)
    assert all(not r.startswith(("http://", "https://", "//")) for r in refs.srcs + refs.stylesheets)
    text = _text(page)
    assert number in text, f"{number} (from the results table) not in the HTML"
    assert "Figure 1" in text and "Table 1" in text
    assert "{python}" not in text and "?@" not in text

    pdf_text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(paths[1]).pages))
    assert number in pdf_text
    assert len(PdfReader(paths[1]).pages) >= 2

    document = docx.Document(str(paths[2]))
    assert len(document.tables) >= 3
    # no-break spaces inside intervals (analysis.report.formatting.NBSP) read as spaces
    assert number in re.sub(r"\s+", " ", " ".join(p.text for p in document.paragraphs))


@pytest.mark.slow
def test_case_series_on_users_data_without_configuration(tmp_path, monkeypatch):
    # A user's own dataset, no study.yaml: the primary outcome defaults to gait speed (not the
    # alphabetically first measure, here a per-side EMG measure), as `itb report --data` does.
    from analysis.cli import main
    from analysis.examples.simulate import simulate_series

    obs, patients = simulate_series(6, seed=5)
    data = tmp_path / "mine"
    data.mkdir()
    obs.to_csv(data / "observations.csv", index=False)
    patients.to_csv(data / "patients.csv", index=False)
    monkeypatch.setenv("ITB_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["report", "--data", str(data), "--to", "html", "--out", str(tmp_path / "out")]) == 0
    text = html.unescape(re.sub(r"<[^>]+>", "", (tmp_path / "out" / "case-series.html").read_text()))
    assert "The primary outcome is Gait speed, 10-metre walk test" in text
    assert (tmp_path / "out" / "case-series" / "manifest.json").exists()


# --- the document title a cell gives (kit.set_title), escaped -----------------------------

HOSTILE_TITLE = "![](/etc/passwd) <script>alert(1)</script> *x* [@munn2020]"
TITLED = f"""---
title: "Front-matter title"
---

```{{python}}
from analysis.report import kit
kit.set_title({HOSTILE_TITLE!r})
```

Body text.
"""


def test_title_from_a_cell_is_literal_text_in_every_format(tmp_path):
    import zipfile

    from pypdf import PdfReader

    qmd = tmp_path / "titled.qmd"
    qmd.write_text(TITLED, encoding="utf-8")
    paths = render_report(qmd, formats=["html", "pdf", "docx"], out_dir=tmp_path / "out",
                          engine="builtin", progress=False)
    page = paths[0].read_text(encoding="utf-8")
    assert "Front-matter title" not in page
    assert "<script" not in page and "<img" not in page and "<em>x" not in page
    shown = html.unescape(re.sub(r"<[^>]+>", "", re.search(
        r"<h1 class=\"title\">(.*?)</h1>", page, re.S).group(1)))
    assert shown == HOSTILE_TITLE
    assert html.unescape(re.search(r"<title>(.*?)</title>", page, re.S).group(1)) == HOSTILE_TITLE
    text = " ".join(p.extract_text() for p in PdfReader(paths[1]).pages)
    assert "/etc/passwd" in text and "<script>" in text and "Front-matter" not in text
    xml = zipfile.ZipFile(paths[2]).read("word/document.xml").decode("utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in xml and "Front-matter" not in xml


def test_quarto_gets_the_title_as_escaped_metadata(monkeypatch, tmp_path):
    seen = {}

    def fake_run(cmd, **kwargs):
        seen["cmd"] = cmd
        folder = Path(cmd[cmd.index("--output-dir") + 1]) / "tests" / "fixtures" / "render"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "demo.html").write_text("x")

        class Done:
            returncode, stdout, stderr = 0, "", ""
        return Done()

    monkeypatch.setattr(quarto_mod.shutil, "which", lambda name: "/usr/bin/quarto")
    monkeypatch.setattr(quarto_mod.subprocess, "run", fake_run)
    render_report(DEMO, formats=["html"], out_dir=tmp_path, engine="quarto", progress=False,
                  metadata={"title": HOSTILE_TITLE})
    cmd = seen["cmd"]
    key, _, value = cmd[cmd.index("--metadata") + 1].partition(":")
    assert key == "title"
    escaped = yaml.safe_load(value)
    assert "<script>" not in escaped and "![" not in escaped and "\\<script\\>" in escaped


@pytest.mark.parametrize("name", sorted(REPORT_SOURCES))
def test_every_parameter_itb_report_passes_is_defined_by_the_document(name):
    """`itb report --mapping/--redcap-dictionary/--relax` reach the document (they were refused
    as unknown parameters before the web app passed --mapping)."""
    text = REPORT_SOURCES[name][0].read_text(encoding="utf-8")
    cell = text.split("#| tags: [parameters]", 1)[1].split("```", 1)[0]
    defined = set(re.findall(r"^(\w+) = ", cell, re.M))
    assert {"data", "config", "codebook", "df_method", "patient", "follow_links", "mapping",
            "redcap_dictionary", "relax"} <= defined
    load = text.split("kit.load(", 1)[1].split(")", 1)[0]
    assert all(f"{k}={k}" in load for k in ("mapping", "redcap_dictionary", "relax"))

# --- itb report: the title Quarto gets, without a second report context ---------------------

#: The bundled reports' titles (their study.yaml `title`), as Quarto received them before.
BUNDLED_TITLES = {
    "case-report": "Continuous ITB test infusion and pump implantation in HSP, illustrative "
                   "case report",
    "case-series": "Simulated ITB case series (illustrative)",
}


def test_itb_report_titles_without_building_the_context_twice(monkeypatch, tmp_path):
    import analysis.report.context as context
    import analysis.report.render as render
    from analysis.cli import main
    from analysis.paths import REPORTS

    built, rendered = [], []
    real = context.build_context
    monkeypatch.setattr(context, "build_context",
                        lambda *a, **k: built.append(k.get("patient")) or real(*a, **k))
    monkeypatch.setattr(render, "render_report",
                        lambda qmd, **k: rendered.append((Path(qmd).stem, k["metadata"])) or [])
    assert main(["report", "--to", "html", "--no-cache", "--out", str(tmp_path), "-q"]) == 0
    assert dict((name, meta["title"]) for name, meta in rendered) == BUNDLED_TITLES
    assert built == []  # the parent builds no context: the document's kernel builds it once
    for name in BUNDLED_TITLES:
        assert REPORTS[name][0].read_text(encoding="utf-8").count("build_context(") == 1
    # the same title as the document's own cell writes (kit.set_title(say.plain_title(ctx)))
    from analysis.report.treatment_text import plain_title
    from analysis.run.pipeline import run_analysis

    run = run_analysis(REPORTS["case-report"][1], cache_dir=None)
    assert plain_title(real(run, patient="P01")) == BUNDLED_TITLES["case-report"]
