"""Inputs stay inside the dataset (issue 20, item 3).

* Symbolic links under a dataset folder (the data file, patients.csv, study.yaml, a REDCap data
  dictionary, gait/ C3D trials and norms) that resolve outside it are refused, naming the link;
  ``--follow-links`` / ``follow_links=True`` follows them; a link that stays inside is fine; a
  data file given alone is judged against the folder holding it.
* Patient ids and visit codes: path separators, ``..``, control, zero-width and bidi characters
  are errors (shown as ``<U+200B>``); two that differ only in case or look-alike characters are
  an error naming both; NFD and NFC spellings of one visit are one visit.

Every case runs through the Python API and a sample through ``python -m analysis validate``
(exit code, no traceback); the input files are byte-identical afterwards. The cases are built
with the helpers of ``tests/test_bad_inputs.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.data.labels import check_labels, label_problem, skeleton
from analysis.data.rules import Collector
from analysis.data.summary import render
from analysis.data.validate import validate_path
from analysis.errors import DataValidationError
from analysis.paths import EXAMPLES, OutsideDatasetError
from analysis.report.escape import markdown_literal
from analysis.text import visible

sys.path.insert(0, str(Path(__file__).parent))
from test_bad_inputs import (  # noqa: E402
    DICTIONARY,
    GOOD,
    HEADER,
    REDCAP_RAW,
    Case,
    _hashes,
    csv_file,
    dataset,
    tidy,
)

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = "outside the dataset folder"


# ---------------------------------------------------------------------- builders: links

def _outside(d: Path, name: str, data: bytes | str) -> Path:
    """A file ``name`` in ``d/elsewhere`` (outside every dataset folder built here)."""
    where = d / "elsewhere"
    where.mkdir(exist_ok=True)
    f = where / name
    f.write_bytes(data.encode() if isinstance(data, str) else data)
    return f


def data_file_outside(d: Path) -> Path:
    root = dataset()(d)
    (root / "observations.csv").unlink()
    (root / "observations.csv").symlink_to(_outside(d, "obs.csv", HEADER + GOOD))
    return root


def single_file_outside(d: Path) -> Path:
    (d / "mine").mkdir()
    (d / "mine" / "obs.csv").symlink_to(_outside(d, "obs.csv", HEADER + GOOD))
    return d / "mine" / "obs.csv"


def single_file_relative_outside(d: Path) -> Path:
    _outside(d, "obs.csv", HEADER + GOOD)
    (d / "mine").mkdir()
    (d / "mine" / "obs.csv").symlink_to("../elsewhere/obs.csv")
    return d / "mine" / "obs.csv"


def single_file_inside(d: Path) -> Path:
    f = csv_file(HEADER + GOOD, "obs_v2.csv")(d)
    (d / "obs.csv").symlink_to(f.name)
    return d / "obs.csv"


def data_link_inside(d: Path) -> Path:
    root = dataset()(d)
    (root / "versions").mkdir()
    (root / "observations.csv").rename(root / "versions" / "v2.csv")
    (root / "observations.csv").symlink_to("versions/v2.csv")
    return root


def study_outside(d: Path) -> Path:
    root = dataset()(d)
    (root / "study.yaml").symlink_to(_outside(d, "study.yaml", "title: x\n"))
    return root


def patients_outside(d: Path) -> Path:
    root = dataset()(d)
    (root / "patients.csv").symlink_to(_outside(d, "patients.csv", "patient_id,age\nP01,50\n"))
    return root


def dictionary_outside(d: Path) -> Path:
    root = d / "study"
    root.mkdir()
    (root / "observations.csv").write_text(REDCAP_RAW)
    (root / "ITB_DataDictionary.csv").symlink_to(_outside(d, "dd.csv", DICTIONARY))
    return root


def redcap_given_dictionary_outside(d: Path) -> Path:
    (d / "mine").mkdir()
    (d / "mine" / "export.csv").write_text(REDCAP_RAW)
    (d / "mine" / "dd.csv").symlink_to(_outside(d, "dd.csv", DICTIONARY))
    return d / "mine" / "export.csv"


def _trial() -> Path:
    return min((EXAMPLES / "case_report" / "gait").glob("*_trial1.c3d"))


def c3d_outside(d: Path) -> Path:
    root = dataset()(d)
    (root / "gait" / "P01").mkdir(parents=True)
    (root / "gait" / "P01" / "baseline_trial1.c3d").symlink_to(
        _outside(d, "t.c3d", _trial().read_bytes()))
    return root


def gait_folder_outside(d: Path) -> Path:
    root = dataset()(d)
    _outside(d, "baseline_trial1.c3d", _trial().read_bytes())
    (root / "gait").symlink_to(d / "elsewhere", target_is_directory=True)
    return root


def norms_outside(d: Path) -> Path:
    root = dataset()(d)
    (root / "gait").mkdir()
    (root / "gait" / "norms.parquet").symlink_to(_outside(d, "norms.parquet", b"PAR1"))
    return root


def c3d_link_inside(d: Path) -> Path:
    root = dataset()(d)
    (root / "gait" / "P01").mkdir(parents=True)
    shutil.copy(_trial(), root / "gait" / "baseline_trial1.c3d")
    (root / "gait" / "P01" / "baseline_trial1.c3d").symlink_to("../baseline_trial1.c3d")
    return root


# ---------------------------------------------------------------------- builders: labels

def patients_file(text: str) -> Callable[[Path], Path]:
    return dataset(patients="patient_id,age\n" + text)


LINK_CASES = [
    Case("link_data_file_outside", data_file_outside, OUTSIDE, 1),
    Case("link_single_file_outside", single_file_outside, OUTSIDE, 1),
    Case("link_single_file_relative_outside", single_file_relative_outside, OUTSIDE, 1),
    Case("link_single_file_inside", single_file_inside, "valid", 0),
    Case("link_data_inside_dataset", data_link_inside, "valid", 0),
    Case("link_study_yaml_outside", study_outside, OUTSIDE, 1),
    Case("link_patients_outside", patients_outside, OUTSIDE, 1),
    Case("link_redcap_dictionary_outside", dictionary_outside, OUTSIDE, 1),
    Case("link_redcap_given_dictionary_outside", redcap_given_dictionary_outside, OUTSIDE, 1,
         dictionary="mine/dd.csv"),
    Case("link_c3d_outside", c3d_outside, OUTSIDE, 1),
    Case("link_gait_folder_outside", gait_folder_outside, OUTSIDE, 1),
    Case("link_norms_outside", norms_outside, OUTSIDE, 1),
    Case("link_c3d_inside", c3d_link_inside, "valid", 0),
]
ROW = ",tug,12,baseline,-1,0,,s"
LABEL_CASES = [
    Case("id_parent_path", tidy("../../tmp/x,baseline" + ROW), "path separator", 1),
    Case("id_slash", tidy("P/03,baseline" + ROW), "path separator", 1),
    Case("id_backslash", tidy("P\\03,baseline" + ROW), "path separator", 1),
    Case("visit_dot_dot", tidy("P03,bl..1" + ROW), "'..'", 1),
    Case("id_control_character", tidy("P0\x073,baseline" + ROW), "<U+0007>", 1),
    Case("id_zero_width_space", tidy("P\u200b03,baseline" + ROW), "<U+200B>", 1),
    Case("id_zero_width_joiner", tidy("P0\u200d3,baseline" + ROW), "zero-width", 1),
    Case("id_word_joiner", tidy("P0\u20603,baseline" + ROW), "<U+2060>", 1),
    Case("id_inner_bom", tidy("P0\ufeff3,baseline" + ROW), "<U+FEFF>", 1),
    Case("id_bidi_override", tidy("P\u202e30,baseline" + ROW), "bidirectional", 1),
    Case("visit_bidi_isolate", tidy("P03,base\u2066line" + ROW), "<U+2066>", 1),
    Case("visit_lrm", tidy("P03,baseline\u200e" + ROW), "bidirectional", 1),
    Case("visit_arabic_letter_mark", tidy("P03,base\u061cline" + ROW), "<U+061C>", 1),
    Case("id_cyrillic_twin", tidy("\u042001,post_m12,tug,12,post_implant,365,108,,s"),
         "look-alike", 1),
    Case("id_greek_twin", tidy("\u03a101,post_m12,tug,12,post_implant,365,108,,s"),
         "look-alike", 1),
    Case("id_fullwidth_twin", tidy("\uff3001,post_m12,tug,12,post_implant,365,108,,s"),
         "look-alike", 1),
    Case("id_case_twin", tidy("p01,post_m12,tug,12,post_implant,365,108,,s"), "only in case", 1),
    Case("visit_case_twin", tidy("P01,Post_M6,tug,12,post_implant,180,108,,s"), "only in case",
         1),
    Case("visit_cyrillic_twin", tidy("P03,p\u043est_m6,tug,12,post_implant,180,108,,s"),
         "look-alike", 1),
    Case("visit_nfd_and_nfc_are_one_visit",
         tidy("P03,contr\u00f4le" + ROW, "P04,contro\u0302le" + ROW), "(NFC)", 0),
    Case("patients_id_zero_width", patients_file("P01,50\nP\u200b02,60\n"), "<U+200B>", 1),
    Case("patients_id_case_twin", patients_file("P01,50\np01,60\nP02,55\n"), "only in case", 1),
    Case("id_formula", tidy('=HYPERLINK("http:x"),baseline' + ROW), "formula", 1),
    Case("visit_formula_at", tidy("P03,@SUM(1)" + ROW), "formula", 1),
    Case("visit_formula_minus", tidy("P03,-cmd" + ROW), "formula", 1),
    Case("wide_id_parent_path", csv_file("patient_id,tug_bl,tug_m6\n../x,15,12\n", "wide.csv"),
         "path separator", 1),
]
CASES = LINK_CASES + LABEL_CASES


def _api(case: Case, d: Path, target: Path, **kw) -> tuple[int, str]:
    dictionary = d / case.dictionary if case.dictionary else None
    try:
        rep = validate_path(target, redcap_dictionary=dictionary, **kw)
    except DataValidationError as exc:
        return 1, render(exc.problems)
    return 0, rep.summary()


def _cli(case: Case, d: Path, target: Path, *extra: str) -> tuple[int, str]:
    args = [sys.executable, "-m", "analysis", "validate", str(target), *extra]
    if case.dictionary:
        args += ["--redcap-dictionary", str(d / case.dictionary)]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=120,
                          check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_through_the_api(case, tmp_path):
    target = case.build(tmp_path)
    before = _hashes(tmp_path)
    code, text = _api(case, tmp_path, target)
    assert code == case.code, text
    assert case.word.lower() in text.lower(), text
    assert "Traceback" not in text
    assert _hashes(tmp_path) == before, "the input files are unchanged"


SAMPLE = ["link_data_file_outside", "link_single_file_outside", "link_study_yaml_outside",
          "link_redcap_dictionary_outside", "link_redcap_given_dictionary_outside",
          "link_c3d_outside", "link_gait_folder_outside", "link_norms_outside",
          "link_c3d_inside", "link_data_inside_dataset", "id_parent_path", "id_zero_width_space",
          "id_bidi_override", "id_cyrillic_twin", "id_case_twin", "visit_nfd_and_nfc_are_one_visit",
          "patients_id_zero_width"]


@pytest.mark.parametrize("name", SAMPLE)
def test_through_the_command_line(name, tmp_path):
    case = next(c for c in CASES if c.name == name)
    target = case.build(tmp_path)
    before = _hashes(tmp_path)
    code, out = _cli(case, tmp_path, target)
    assert code == case.code, out
    assert case.word.lower() in out.lower() and "Traceback" not in out, out
    assert _hashes(tmp_path) == before


@pytest.mark.parametrize("case", [c for c in LINK_CASES if c.code == 1],
                         ids=[c.name for c in LINK_CASES if c.code == 1])
def test_follow_links_accepts_them(case, tmp_path):
    target = case.build(tmp_path)
    before = _hashes(tmp_path)
    code, text = _api(case, tmp_path, target, follow_links=True)
    assert code == 0, text
    assert _hashes(tmp_path) == before


@pytest.mark.parametrize("name", ["link_data_file_outside", "link_c3d_outside",
                                  "link_redcap_given_dictionary_outside"])
def test_follow_links_option_on_the_command_line(name, tmp_path):
    case = next(c for c in CASES if c.name == name)
    target = case.build(tmp_path)
    code, out = _cli(case, tmp_path, target, "--follow-links")
    assert code == 0 and "valid" in out and "Traceback" not in out, out


def test_message_names_the_file_the_link_its_target_the_rule_and_the_option(tmp_path):
    root = gait_folder_outside(tmp_path)
    with pytest.raises(OutsideDatasetError) as exc:
        validate_path(root)
    (p,) = exc.value.problems
    line = str(exc.value)
    assert "\n" not in line
    assert p.file == "gait/baseline_trial1.c3d"
    assert "symbolic link 'gait'" in p.rule and str(tmp_path / "elsewhere") in p.rule
    assert OUTSIDE in p.rule and "refused" in p.rule and "--follow-links" in line


def test_nothing_outside_is_read(tmp_path, monkeypatch):
    """The link check comes before any reader: study.yaml outside is never parsed."""
    from analysis.data import validate

    root = study_outside(tmp_path)
    called = []
    monkeypatch.setattr(validate, "load_config", lambda *a, **k: called.append(a))
    with pytest.raises(OutsideDatasetError):
        validate_path(root)
    assert called == []


def test_python_api_keyword(tmp_path):
    root = data_file_outside(tmp_path)
    with pytest.raises(OutsideDatasetError, match=OUTSIDE):
        analysis.load_dataset(root)
    with pytest.raises(OutsideDatasetError):
        analysis.validate(root)
    assert analysis.load_dataset(root, follow_links=True).report.counts["patients"] == 2
    assert analysis.validate(root, follow_links=True).counts["rows"] == 4


def _main(capsys, *args: str) -> tuple[int, str]:
    from analysis.cli import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_analyze_and_report_refuse_links_outside(tmp_path, capsys):
    root = c3d_outside(tmp_path)
    before = _hashes(tmp_path)
    code, text = _main(capsys, "analyze", str(root), "--out", str(tmp_path / "out"),
                       "--no-cache")
    assert code == 1 and OUTSIDE in text and "Traceback" not in text
    assert not (tmp_path / "out").exists()
    code, text = _main(capsys, "report", "--data", str(root), "--out", str(tmp_path / "r"),
                       "--no-cache", "--to", "html")
    assert code == 1 and OUTSIDE in text and "Traceback" not in text
    assert _hashes(tmp_path) == before


def test_analyze_refuses_a_config_file_linked_out_of_its_folder(tmp_path, capsys):
    root = dataset()(tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "study.yaml").symlink_to(_outside(tmp_path, "s.yaml", "title: x\n"))
    code, text = _main(capsys, "analyze", str(root), "--out", str(tmp_path / "out"),
                       "--no-cache", "--config", str(tmp_path / "configs" / "study.yaml"))
    assert code == 1 and OUTSIDE in text and "Traceback" not in text


def test_analyze_follows_links_when_asked(tmp_path, capsys):
    root = data_file_outside(tmp_path)
    out = tmp_path / "out"
    code, text = _main(capsys, "analyze", str(root), "--out", str(out), "--no-cache",
                       "--follow-links")
    assert code == 0, text
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["run"]["follow_links"] is True and "--follow-links" in manifest["command"]


def test_report_helper_passes_follow_links(tmp_path):
    from analysis.report.kit import load

    root = data_file_outside(tmp_path)
    with pytest.raises(OutsideDatasetError):
        load({"data": str(root)}, cache_dir=None)
    assert load({"data": str(root), "follow_links": True}, cache_dir=None).observations.shape[0]


# ---------------------------------------------------------------------- the label rules

def test_invisible_characters_are_shown_by_code_point():
    assert visible("P\u200b01\u202e") == "P<U+200B>01<U+202E>"
    # one rule for ids, messages and documents: controls, format, separators, fillers
    hostile = "a\x1b\x07\x9b\u2028\u3164\ufe0f\ue000\u00adb"
    shown = "a<U+001B><U+0007><U+009B><U+2028><U+3164><U+FE0F><U+E000><U+00AD>b"
    assert visible(hostile) == shown
    assert markdown_literal(hostile) == shown.replace("<", "\\<").replace(">", "\\>")
    assert visible("a\tb\nc") == "a<U+0009>b<U+000A>c"
    assert visible("a\tb\r\nc", line_breaks=True) == "a\tb\nc"
    assert visible(visible(hostile)) == visible(hostile)
    assert visible("contrôle P01 \u00a0x") == "contrôle P01 \u00a0x"
    assert label_problem("bl_m6") is None and label_problem("contrôle") is None


def test_skeletons_of_confusables():
    assert skeleton("P01") == skeleton("\u0420\u041e1")  # Cyrillic Er and O
    assert skeleton("bl") == skeleton("b1")  # TR39: 1 looks like l
    assert skeleton("P01") != skeleton("P02") and skeleton("m6") != skeleton("m3")


def test_twin_message_names_both_values_and_rows(tmp_path):
    f = tidy("\u042001,post_m12,tug,12,post_implant,365,108,,s")(tmp_path)
    with pytest.raises(DataValidationError) as exc:
        validate_path(f)
    p = next(p for p in exc.value.problems if "look-alike" in p.rule)
    assert p.row == 6 and "'P01' (row 2)" in p.rule and "'Р01' (row 6)" in p.rule
    assert "U+0420" in p.rule


def test_nfd_and_nfc_visits_are_one_visit(tmp_path):
    f = tidy("P03,contr\u00f4le" + ROW, "P04,contro\u0302le" + ROW)(tmp_path)
    rep = validate_path(f)
    visits = rep.observations["visit"].unique().tolist()
    assert "contr\u00f4le" in visits and "contro\u0302le" not in visits
    assert any("NFC" in p.rule for p in rep.problems)


def test_nfc_ids_keep_their_dtype_and_missing_cells():
    raw = pd.DataFrame({"patient_id": pd.array(["P01", None, "Pe\u0301"], dtype="string"),
                        "_row": [2, 3, 4]})
    c = Collector("o.csv", [])
    out = check_labels(raw, c)
    assert out["patient_id"].dtype == raw["patient_id"].dtype
    assert out["patient_id"].isna().tolist() == [False, True, False]
    assert out["patient_id"][2] == "P\u00e9" and c.problems[0].row == 4


def test_label_check_judges_distinct_values_only():
    """A 144,000-row registry (2,000 patients, 12 visits): checked in well under a second."""
    rng = np.random.default_rng(1)
    n = 144_000
    raw = pd.DataFrame({
        "patient_id": pd.array([f"P{i:04d}" for i in rng.integers(0, 2000, n)], dtype="string"),
        "visit": pd.array([f"m{i}" for i in rng.integers(0, 12, n)], dtype="string"),
        "_row": np.arange(2, n + 2)})
    c = Collector("o.csv", [])
    start = time.perf_counter()
    out = check_labels(raw, c)
    assert time.perf_counter() - start < 1.0
    assert out is raw and c.problems == []


# ---------------------------------------------------------------------- gait commands

def test_gait_import_refuses_a_trial_linked_out_of_its_folder(tmp_path, capsys):
    (tmp_path / "lab").mkdir()
    link = tmp_path / "lab" / "bl_trial1.c3d"
    link.symlink_to(_outside(tmp_path, "t.c3d", _trial().read_bytes()))
    before = _hashes(tmp_path)
    code, text = _main(capsys, "gait", "import", str(link), "--patient", "P01", "--visit",
                       "baseline", "--out", str(tmp_path / "out"))
    assert code == 1 and OUTSIDE in text and "bl_trial1.c3d" in text
    assert "Traceback" not in text and not (tmp_path / "out").exists()
    assert _hashes(tmp_path) == before
    code, text = _main(capsys, "gait", "import", str(link), "--patient", "P01", "--visit",
                       "baseline", "--out", str(tmp_path / "out"), "--follow-links")
    assert code == 0, text


def test_gait_norms_build_refuses_a_control_linked_out_of_the_folder(tmp_path):
    from analysis.gait.importer import build_norms

    controls = tmp_path / "controls"
    controls.mkdir()
    shutil.copy(_trial(), controls / "c1.c3d")
    (controls / "c2.c3d").symlink_to(_outside(tmp_path, "c2.c3d", _trial().read_bytes()))
    with pytest.raises(OutsideDatasetError, match="symbolic link 'c2.c3d'"):
        build_norms(controls)
    assert int(build_norms(controls, follow_links=True)["n"].max()) == 2


def test_analyze_with_gait_trials_linked_out_follows_them_when_asked(tmp_path):
    from analysis.run.pipeline import run_analysis

    root = dataset(obs=HEADER + "P01,baseline,tug,15.2,baseline,-3,0,,s\n"
                   "P01,post_m6,tug,11.8,post_implant,180,108,,s\n")(tmp_path)
    (root / "gait").mkdir()
    (root / "gait" / "baseline_trial1.c3d").symlink_to(
        _outside(tmp_path, "t.c3d", _trial().read_bytes()))
    with pytest.raises(OutsideDatasetError, match="baseline_trial1.c3d"):
        run_analysis(root, cache_dir=None)
    run = run_analysis(root, cache_dir=None, follow_links=True)
    assert "gps" in set(run.results["analysis"])  # the gait rows were computed
    # the manifest records the file that was read: where the link points
    assert any(f["path"].endswith("elsewhere/t.c3d") for f in run.manifest["inputs"])
    assert run.manifest["run"]["follow_links"] is True


def test_missing_spellings_are_not_reported_as_case_twins(tmp_path):
    f = tidy("NA,baseline" + ROW, "na,post_m6,tug,12,post_implant,180,108,,s")(tmp_path)
    with pytest.raises(DataValidationError) as exc:
        validate_path(f)
    rules = [p.rule for p in exc.value.problems]
    assert any("missing-value spelling" in r for r in rules)
    assert not any("only in case" in r for r in rules)
