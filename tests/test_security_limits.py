"""Bounded work for every input, and errors instead of tracebacks (issue 20, items 4 and 7).

Every case runs the command line in this process (``analysis.cli.main``) on a small crafted
input with the limit lowered (``--limit NAME=VALUE`` or ``ITB_<NAME>``), and checks: exit 1,
one message naming the limit, no traceback, the input byte-identical afterwards, nothing
written; then the same input with the limit raised gets past it. A few cases run the real
``python -m analysis`` in a subprocess (a traceback would show there).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import shutil
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from analysis import limits
from analysis.cli import main
from analysis.data.input_limits import check_lines, check_shape, check_xlsx
from analysis.data.yaml_safe import load_yaml_text
from analysis.errors import ConfigError, ITBError
from analysis.gait.simulate import example_trial_file
from analysis.limits import LimitError

ROOT = Path(__file__).resolve().parents[1]
HEADER = "patient_id,visit,measure,value\n"
ROWS = "P01,baseline,tug,12.5\nP01,post_m6,tug,10.1\nP02,baseline,tug,14\nP02,post_m6,tug,12\n"


@pytest.fixture(autouse=True)
def _lmm_logger_level():
    """`itb plan` run in this process quiets the LMM logger (simulate_chunk); restore it for
    the modules that check its messages."""
    logger = logging.getLogger("analysis.stats.lmm.model")
    level = logger.level
    yield
    logger.setLevel(level)


def digest(paths) -> dict[str, str]:
    return {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


def run(argv: list[str], capsys, inputs=(), word: str | None = None) -> str:
    """Run the CLI in this process; assert exit 1, `word` in stderr, no traceback, inputs
    unchanged. Returns stderr."""
    before = digest(inputs)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    if word is not None:
        assert word in err, err
    assert digest(inputs) == before
    return err


def passes(argv: list[str], capsys, word: str) -> str:
    """The run gets past limit `word` (it may still fail for other reasons, never this one)."""
    main(argv)
    err = capsys.readouterr().err
    assert f"limit {word}" not in err, err
    assert "Traceback" not in err
    return err


# ----------------------------------------------------------------- the limits module

def test_limit_values_env_option_and_bad_values(monkeypatch):
    assert limits.get("max_columns") == 16_384
    monkeypatch.setenv("ITB_MAX_COLUMNS", "20_000")
    assert limits.get("max_columns") == 20_000
    with limits.overridden({"max_columns": 30_000}):  # the option wins over the environment
        assert limits.get("max_columns") == 30_000
    assert limits.get("max_columns") == 20_000
    monkeypatch.setenv("ITB_MAX_COLUMNS", "lots")
    with pytest.raises(LimitError, match="ITB_MAX_COLUMNS"):
        limits.get("max_columns")
    with pytest.raises(LimitError, match="did you mean 'max_cells'"):
        limits.parse_option("max_cels=5")
    with pytest.raises(LimitError, match="positive"):
        limits.parse_option("max_cells=-1")


def test_every_limit_is_documented_in_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, lim in limits.LIMITS.items():
        assert f"`{name}`" in readme, name
        assert lim.env in readme or "ITB_<NAME>" in readme


def test_bad_limit_option_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(tmp_path), "--limit", "max_lines=3"])
    assert exc.value.code == 2
    assert "unknown limit 'max_lines'" in capsys.readouterr().err


# ----------------------------------------------------------------- data files

@pytest.fixture
def obs(tmp_path) -> Path:
    f = tmp_path / "obs.csv"
    f.write_text(HEADER + ROWS, encoding="utf-8")
    return f


def test_file_size_limit(obs, tmp_path, capsys):
    size_mb = obs.stat().st_size / 1e6
    argv = ["validate", str(obs), "--write-derived", str(tmp_path / "out")]
    run(argv + ["--limit", f"max_file_mb={size_mb / 2}"], capsys, [obs], "max_file_mb")
    assert not (tmp_path / "out").exists()
    passes(argv + ["--limit", f"max_file_mb={size_mb * 1.01}"], capsys, "max_file_mb")


def test_long_line_refused_quickly(tmp_path, capsys):
    f = tmp_path / "long.csv"
    f.write_bytes(HEADER.encode() + b"P01,baseline,tug," + b"1" * 5_000_000 + b"\n")
    start = time.perf_counter()
    err = run(["validate", str(f)], capsys, [f], "max_line_bytes")
    assert time.perf_counter() - start < 10
    assert "line 2" in err


def test_line_limit_override(obs, capsys):
    longest = max(len(x) for x in obs.read_bytes().splitlines())
    run(["validate", str(obs), "--limit", f"max_line_bytes={longest - 1}"], capsys, [obs],
        "max_line_bytes")
    passes(["validate", str(obs), "--limit", f"max_line_bytes={longest}"], capsys,
           "max_line_bytes")


def test_line_limit_counts_cr_only_line_ends():
    check_lines(b"a,b\r" + b"1,2\r" * 1000, "mac.csv")  # many short lines, not one long one
    with limits.overridden({"max_line_bytes": 3}), pytest.raises(LimitError):
        check_lines(b"a,b\r1,23\r", "mac.csv")


def test_wide_header_refused_with_a_message(tmp_path, capsys):
    """A header of 100,000 cells (a million aborted in native code before) is refused."""
    f = tmp_path / "wide.csv"
    f.write_text(",".join(f"c{i}" for i in range(100_000)) + "\n" + "1," * 99_999 + "1\n")
    run(["validate", str(f), "--limit", "max_line_bytes=10000000"], capsys, [f], "max_columns")


def test_columns_and_cells_overrides(obs, capsys):
    run(["validate", str(obs), "--limit", "max_columns=3"], capsys, [obs], "max_columns")
    passes(["validate", str(obs), "--limit", "max_columns=4"], capsys, "max_columns")
    run(["validate", str(obs), "--limit", "max_cells=19"], capsys, [obs], "max_cells")
    passes(["validate", str(obs), "--limit", "max_cells=20"], capsys, "max_cells")


def test_limits_from_the_environment(obs, capsys, monkeypatch):
    monkeypatch.setenv("ITB_MAX_COLUMNS", "3")
    run(["validate", str(obs)], capsys, [obs], "max_columns")
    passes(["validate", str(obs), "--limit", "max_columns=4"], capsys, "max_columns")


def test_shape_counts_every_line():
    with limits.overridden({"max_columns": 3}), pytest.raises(LimitError, match="line 3"):
        check_shape(b"a,b\n1,2\n1,2,3,4\n", ",", "o.csv")


def test_patients_file_is_bounded(tmp_path, capsys):
    d = tmp_path / "ds"
    d.mkdir()
    (d / "observations.csv").write_text(HEADER + ROWS)
    (d / "patients.csv").write_text("patient_id,age," + ",".join(f"x{i}" for i in range(50))
                                    + "\nP01,40" + ",1" * 50 + "\n")
    files = [d / "observations.csv", d / "patients.csv"]
    run(["validate", str(d), "--limit", "max_columns=10"], capsys, files, "max_columns")


def _xlsx_bomb(path: Path, mb: float) -> None:
    """An .xlsx whose sheet is `mb` MB of repeated cells (compresses ~1000:1)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "observations"
    for row in (HEADER + ROWS).splitlines():
        ws.append(row.split(","))
    wb.save(path)
    cell = '<c r="A1" t="inlineStr"><is><t>x</t></is></c>'
    filler = cell * int(mb * 1e6 / len(cell))
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":  # padding after the sheet data
                data = data.replace(b"</worksheet>", b"<!--" + filler.encode() + b"--></worksheet>")
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    tmp.replace(path)


def test_xlsx_zip_bomb_refused_before_parsing(tmp_path, capsys):
    f = tmp_path / "bomb.xlsx"
    _xlsx_bomb(f, 3)
    assert f.stat().st_size < 100_000
    err = run(["validate", str(f)], capsys, [f], "max_xlsx_ratio")
    assert "zip bomb" in err
    run(["validate", str(f), "--limit", "max_xlsx_ratio=100000", "--limit", "max_xlsx_mb=2"],
        capsys, [f], "max_xlsx_mb")
    passes(["validate", str(f), "--limit", "max_xlsx_ratio=100000", "--limit", "max_xlsx_mb=4"],
           capsys, "max_xlsx")


def test_xlsx_directory_is_read_not_inflated(tmp_path):
    """The check reads the zip directory only: a 600 MB part is refused in milliseconds."""
    f = tmp_path / "huge.xlsx"
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"")
    # rewrite the sizes in the central directory to claim 600 MB (never inflated)
    data = bytearray(f.read_bytes())
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, 600_000_000)
    f.write_bytes(bytes(data))
    start = time.perf_counter()
    with pytest.raises(LimitError, match="max_xlsx_mb"):
        check_xlsx(f)
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize("fmt", ["parquet", "dta"])
def test_binary_tables_bounded_from_metadata(tmp_path, capsys, fmt):
    import pandas as pd

    frame = pd.DataFrame([r.split(",") for r in ROWS.splitlines()],
                         columns=HEADER.strip().split(","))
    f = tmp_path / f"obs.{fmt}"
    if fmt == "parquet":
        frame.to_parquet(f)
    else:
        frame.to_stata(f, write_index=False)
    run(["validate", str(f), "--limit", "max_cells=15"], capsys, [f], "max_cells")
    passes(["validate", str(f), "--limit", "max_cells=16"], capsys, "max_cells")


# ----------------------------------------------------------------- YAML

def _laughs(levels: int = 9) -> str:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    names = "abcdefghijklmnop"
    for p, c in itertools.pairwise(names[:levels]):
        lines.append(f"{c}: &{c} [" + ", ".join([f"*{p}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_design_refused_quickly(tmp_path, capsys):
    f = tmp_path / "design.yaml"
    f.write_text(_laughs() + "n_sim: 10\nstudies: *i\n")
    start = time.perf_counter()
    run(["plan", str(f), "--out", str(tmp_path / "out")], capsys, [f], "max_yaml_")
    assert time.perf_counter() - start < 5
    assert not (tmp_path / "out").exists()


def test_yaml_limits_named_and_overridable():
    text = "a: &a [1, 2]\n" + "".join(f"k{i}: *a\n" for i in range(5))
    with limits.overridden({"max_yaml_aliases": 4}), pytest.raises(ITBError,
                                                                   match="max_yaml_aliases"):
        load_yaml_text(text)
    with limits.overridden({"max_yaml_aliases": 5}):
        assert load_yaml_text(text)["k4"] == [1, 2]
    deep = "a: " + "[" * 12 + "]" * 12
    with limits.overridden({"max_yaml_depth": 10}), pytest.raises(ITBError,
                                                                 match="max_yaml_depth"):
        load_yaml_text(deep)
    with limits.overridden({"max_yaml_depth": 13}):
        load_yaml_text(deep)
    with limits.overridden({"max_yaml_mb": 1e-5}), pytest.raises(ITBError, match="max_yaml_mb"):
        load_yaml_text("x" * 20)
    with limits.overridden({"max_yaml_nodes": 5}), pytest.raises(ITBError,
                                                                match="max_yaml_nodes"):
        load_yaml_text("a: [1, 2, 3]")
    with limits.overridden({"max_yaml_nodes": 6}):
        load_yaml_text("a: [1, 2, 3]")


def test_study_yaml_size_limit(tmp_path, capsys):
    d = tmp_path / "ds"
    d.mkdir()
    (d / "observations.csv").write_text(HEADER + ROWS)
    (d / "study.yaml").write_text("title: x\n# " + "pad " * 1000 + "\n")
    files = [d / "observations.csv", d / "study.yaml"]
    run(["analyze", str(d), "--out", str(tmp_path / "out"), "--no-cache", "--limit",
         "max_yaml_mb=0.001"], capsys, files, "max_yaml_mb")
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------- itb plan

PLAN = """n_sim: {n_sim}
studies:
  - name: {name}
    design: ab
    n_baseline: {nb}
    n_treatment: 5
    effect: 1
    tests: [nap]
"""


def _design(tmp_path, **kw) -> Path:
    values = {"n_sim": 10, "name": "s", "nb": 5, **kw}
    f = tmp_path / "design.yaml"
    f.write_text(PLAN.format(**values))
    return f


def test_plan_n_sim_absurd(tmp_path, capsys):
    f = _design(tmp_path, n_sim=10**12)
    run(["plan", str(f), "--out", str(tmp_path / "out")], capsys, [f], "max_plan_analyses")
    assert not (tmp_path / "out").exists()


def test_plan_grid_absurd_refused_before_expansion(tmp_path, capsys):
    f = tmp_path / "design.yaml"
    grid = "[" + ", ".join(str(i) for i in range(3, 103)) + "]"
    f.write_text(f"n_sim: 1\nstudies:\n  - {{name: s, design: ab, n_baseline: {grid}, "
                 f"n_treatment: {grid}, effect: {grid}, tests: [nap]}}\n")
    start = time.perf_counter()
    run(["plan", str(f), "--out", str(tmp_path / "out")], capsys, [f], "max_plan_scenarios")
    assert time.perf_counter() - start < 3


def test_plan_n_absurd(tmp_path, capsys):
    f = _design(tmp_path, nb=10**8)
    run(["plan", str(f), "--out", str(tmp_path / "out")], capsys, [f], "max_plan_n")


def test_plan_limits_override_and_estimate(tmp_path, capsys):
    f = _design(tmp_path, n_sim=4, nb=6)  # 4 analyses, 11 days
    out = tmp_path / "out"
    run(["plan", str(f), "--out", str(out), "--limit", "max_plan_analyses=3"], capsys, [f],
        "max_plan_analyses")
    run(["plan", str(f), "--out", str(out), "--limit", "max_plan_n=10"], capsys, [f],
        "max_plan_n")
    run(["plan", str(f), "--out", str(out), "--limit", "max_plan_scenarios=0.5"], capsys,
        [f], "max_plan_scenarios")
    assert main(["plan", str(f), "--out", str(out), "--limit", "max_plan_analyses=4",
                 "--limit", "max_plan_n=11", "--limit", "max_plan_scenarios=1"]) == 0
    err = capsys.readouterr().err
    assert "estimated run time" in err and "cost constants" in err
    assert (out / "power.csv").is_file()


@pytest.mark.parametrize("address", ["::not@an//address", "tcp://host", "http://x:1",
                                     "tcp://h:99999", "tcp://a b:1"])
def test_plan_bad_scheduler_address(tmp_path, capsys, address):
    f = _design(tmp_path)
    run(["plan", str(f), "--out", str(tmp_path / "out"), "--scheduler", address], capsys, [f],
        "is not a dask scheduler address")
    assert not (tmp_path / "out").exists()


def test_plan_scheduler_connection_failure_is_one_line(tmp_path, capsys):
    f = _design(tmp_path)
    sched = tmp_path / "scheduler.json"
    sched.write_text("{ not json")
    err = run(["plan", str(f), "--out", str(tmp_path / "out"), "--scheduler", str(sched)],
              capsys, [f, sched], "cannot connect to the dask scheduler")
    assert err.count("\n") <= 2  # the estimate line and the error


def test_plan_scheduler_address_subprocess(tmp_path):
    f = _design(tmp_path)
    before = digest([f])
    proc = subprocess.run([sys.executable, "-m", "analysis", "plan", str(f), "--scheduler",
                           "::not@an//address", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "--scheduler" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert digest([f]) == before


# ----------------------------------------------------------------- names that YAML retypes

@pytest.mark.parametrize("value", ["null", "yes", "1.0e+3", "~", "off", "12"])
def test_design_study_named_by_a_non_string(tmp_path, capsys, value):
    f = _design(tmp_path, name=value)
    run(["plan", str(f), "--out", str(tmp_path / "out")], capsys, [f], "in quotes")
    assert not (tmp_path / "out").exists()
    f.write_text(PLAN.format(n_sim=2, name=f'"{value}"', nb=5))
    assert main(["plan", str(f), "--out", str(tmp_path / "out")]) == 0
    assert f"{value}," in (tmp_path / "out" / "power.csv").read_text()


def test_design_name_1e3_is_text(tmp_path):
    """PyYAML (YAML 1.1) reads an unquoted 1e3 as text, never as 1000.0."""
    f = _design(tmp_path, name="1e3", n_sim=2)
    assert main(["plan", str(f), "--out", str(tmp_path / "out")]) == 0
    assert "\n1e3," in (tmp_path / "out" / "power.csv").read_text()


def test_design_visit_named_by_a_non_string(tmp_path, capsys):
    f = tmp_path / "design.yaml"
    f.write_text("n_sim: 2\nstudies:\n  - {name: s, design: case_series, n: 5, effect: 1, "
                 "sd_between: 1, sd_within: 1, visits: [baseline, yes], tests: [paired_t]}\n")
    run(["plan", str(f), "--out", str(tmp_path / "out")], capsys, [f], "visits")


@pytest.mark.parametrize("yaml_line", ["title: null", "title: yes", "reference_visit: yes",
                                       "primary_outcome: 1.0e+3", "measures: [tug, 12]",
                                       "families: {yes: [tug]}", "families: {a: [null]}",
                                       "single_case: {baseline_phase: no}",
                                       "single_case: {controls: {1.0e+3: {mean: 1, sd: 1, n: 5}}}"])
def test_study_yaml_names_must_be_text(tmp_path, capsys, yaml_line):
    d = tmp_path / "ds"
    d.mkdir()
    (d / "observations.csv").write_text(HEADER + ROWS)
    (d / "study.yaml").write_text(yaml_line + "\n")
    files = [d / "observations.csv", d / "study.yaml"]
    err = run(["analyze", str(d), "--out", str(tmp_path / "out"), "--no-cache"], capsys,
              files, "in quotes")
    assert "study.yaml" in err
    assert not (tmp_path / "out").exists()


def test_study_title_quoted_is_read_as_text(tmp_path):
    from analysis.data.config import load_config

    f = tmp_path / "study.yaml"
    f.write_text('title: "null"\nreference_visit: "yes"\n')
    cfg = load_config(f)
    assert (cfg.title, cfg.reference_visit) == ("null", "yes")


def test_codebook_keys_and_visit_aliases_must_be_text(tmp_path):
    from analysis.data.codebook import load_codebook

    f = tmp_path / "cb.yaml"
    f.write_text("measures: {}\nvisit_aliases: {yes: post_m6}\n")
    with pytest.raises(ITBError, match="visit_aliases"):
        load_codebook(extra=f)
    f.write_text("measures:\n  null: {label: x, unit: s, kind: continuous}\n")
    with pytest.raises(ITBError, match="in quotes"):
        load_codebook(extra=f)


def test_design_names_refused_by_the_api():
    from analysis.plan.design import parse_design

    with pytest.raises(ConfigError, match="name"):
        parse_design({"studies": [{"name": None, "design": "controls", "n_controls": 5,
                                   "effect": -2}]})


# ----------------------------------------------------------------- C3D

def _c3d_copy(tmp_path: Path, points: int | None = None, frames: int | None = None) -> Path:
    f = tmp_path / "trial.c3d"
    shutil.copy(example_trial_file(), f)
    data = bytearray(f.read_bytes())
    param = (data[0] - 1) * 512
    order = ">" if data[param + 3] == 86 else "<"
    if points is not None:
        struct.pack_into(order + "H", data, 2, points)
    if frames is not None:
        first = struct.unpack_from(order + "H", data, 6)[0]
        struct.pack_into(order + "H", data, 8, first + frames - 1)
    f.write_bytes(bytes(data))
    return f


def test_c3d_absurd_point_count(tmp_path, capsys):
    f = _c3d_copy(tmp_path, points=60_000)
    run(["gait", "import", str(f), "--patient", "P01", "--visit", "baseline", "--out",
         str(tmp_path / "out")], capsys, [f], "max_c3d_points")
    assert not (tmp_path / "out").exists()


def test_c3d_frame_and_point_overrides(tmp_path, capsys):
    from analysis.gait.c3d_limits import declared_counts

    f = _c3d_copy(tmp_path)
    points, frames = declared_counts(f)
    argv = ["gait", "import", str(f), "--patient", "P01", "--visit", "baseline", "--out",
            str(tmp_path / "out")]
    run(argv + ["--limit", f"max_c3d_frames={frames - 1}"], capsys, [f], "max_c3d_frames")
    run(argv + ["--limit", f"max_c3d_points={points - 1}"], capsys, [f], "max_c3d_points")
    assert main(argv + ["--limit", f"max_c3d_frames={frames}", "--limit",
                        f"max_c3d_points={points}"]) == 0
    capsys.readouterr()


# ----------------------------------------------------------------- native failures

def _problem_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if not line.startswith("itb: ")]


def test_memory_errors_are_one_line(monkeypatch, tmp_path, capsys, obs):
    from analysis.data import validate

    def boom(*a, **k):
        raise MemoryError

    monkeypatch.setattr(validate, "validate_path", boom)
    err = run(["validate", str(obs)], capsys, [obs], "not enough memory")
    assert len(_problem_lines(err)) == 1  # progress lines ("itb: ...") aside

    def native(*a, **k):
        raise RuntimeError("std::bad_alloc")

    monkeypatch.setattr(validate, "validate_path", native)
    err = run(["validate", str(obs)], capsys, [obs], "not enough memory")
    assert len(_problem_lines(err)) == 1  # progress lines ("itb: ...") aside


def test_long_line_subprocess_no_traceback(tmp_path):
    f = tmp_path / "long.csv"
    f.write_bytes(HEADER.encode() + b"P01,baseline,tug," + b"9" * 2_000_000 + b"\n")
    before = digest([f])
    proc = subprocess.run([sys.executable, "-m", "analysis", "validate", str(f)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert proc.returncode == 1
    assert "max_line_bytes" in proc.stderr and "Traceback" not in proc.stderr
    assert digest([f]) == before
