"""A wheel built from the project runs `itb report` on its bundled example data and reports."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                    "--no-build-isolation", "--quiet", "-w", str(out)], check=True,
                   capture_output=True)
    return next(out.glob("itb_analysis-*.whl"))


def test_wheel_carries_reports_examples_and_codebook(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("analysis/_bundled/_quarto.yml", "analysis/_bundled/reports/case-report.qmd",
                 "analysis/_bundled/reports/case-series.qmd",
                 "analysis/_bundled/example/case_series/observations.csv",
                 "analysis/_bundled/example/case_report/study.yaml",
                 "analysis/data/codebook.yaml", "analysis/data/column_vocabulary.yaml"):
        assert name in names, name
    for path in (ROOT / "data" / "example").rglob("*"):
        if path.is_file():
            assert f"analysis/_bundled/example/{path.relative_to(ROOT / 'data' / 'example')}" in names


@pytest.mark.slow
def test_installed_wheel_renders_a_report(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    work = tmp_path / "elsewhere"
    work.mkdir()
    proc = subprocess.run([sys.executable, "-m", "analysis", "report", "--report", "case-report",
                           "--to", "html", "--engine", "builtin", "--out", "out"],
                          cwd=work, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (work / "out" / "case-report.html").stat().st_size > 10_000
    assert str(target) in subprocess.run(
        [sys.executable, "-c", "import analysis.paths as p; print(p.REPORT_SOURCES)"],
        cwd=work, env=env, capture_output=True, text=True).stdout
