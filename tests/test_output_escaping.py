"""Text from the data is never live markup in a rendered report (issue 10, item 6).

The built-in engine reads Markdown with no raw markup at all and Quarto without raw HTML or TeX
(``_quarto.yml``); text from the data passes :mod:`analysis.report.escape` in both. The full
payload corpus is in tests/test_security_render.py.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import analysis
from analysis.report.render.pandoc import CSP_META, QUARTO_READER, convert

PAYLOAD = "<script>alert(1)</script>"
VISIT_PAYLOAD = "<img src=x onerror=alert(1)>"
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("fmt", ["html", "docx"])
def test_html_in_markdown_text_is_escaped(tmp_path, fmt):
    md = f"# Results\n\nVisit {PAYLOAD} and <img src=x onerror=alert(2)>.\n"
    out = convert(md, fmt, out=tmp_path / f"r.{fmt}", workdir=tmp_path)
    if fmt == "html":
        html = out.read_text(encoding="utf-8")
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    else:
        import docx

        text = "\n".join(p.text for p in docx.Document(out).paragraphs)
        assert PAYLOAD in text  # shown as text, not dropped


def test_quarto_reads_markdown_without_raw_html_or_tex():
    project = yaml.safe_load((ROOT / "_quarto.yml").read_text())
    for fmt in ("html", "typst", "docx"):
        assert project["format"][fmt]["from"] == QUARTO_READER
    assert project["format"]["html"]["include-in-header"]["text"].strip() == CSP_META


@pytest.mark.slow
def test_visit_name_with_markup_is_text_in_the_html_report(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(analysis.EXAMPLES / "case_report", data, ignore=shutil.ignore_patterns("gait"))
    obs = pd.read_csv(data / "observations.csv", dtype=str, keep_default_na=False)
    # no '/' (a visit code holding one is refused as a path): the tag is still live HTML
    obs.loc[obs["visit"] == "post_m3", "visit"] = VISIT_PAYLOAD
    obs.to_csv(data / "observations.csv", index=False)
    proc = subprocess.run([sys.executable, "-m", "analysis", "report", "--data", str(data),
                           "--report", "case-report", "--to", "html", "--engine", "builtin",
                           "--out", str(tmp_path / "out"), "--no-cache"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "out" / "case-report.html").read_text(encoding="utf-8")
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
