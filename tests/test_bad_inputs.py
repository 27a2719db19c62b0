"""A corpus of malformed or doubtful inputs: each is refused (exit 1) or accepted with a
warning (exit 0), with the expected word in the message, and the input files unchanged.

Every case is built inline in a temporary directory (no binary fixtures to keep in sync). All
cases run through the Python API (:func:`analysis.data.validate.validate_path`, the same call
`itb validate` makes, and the same text rendering); a sample also runs through
``python -m analysis validate`` to check the exit code and that no traceback is printed.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from analysis.data.codebook import load_codebook
from analysis.data.summary import render
from analysis.data.validate import validate_path
from analysis.errors import DataValidationError, ITBError

ROOT = Path(__file__).resolve().parents[1]
HEADER = "patient_id,visit,measure,value,phase,day,dose_ug_day,side,unit\n"
GOOD = ("P01,baseline,tug,15.2,baseline,-3,0,,s\n"
        "P01,post_m6,tug,11.8,post_implant,180,108,,s\n"
        "P02,baseline,tug,18.0,baseline,-2,0,,s\n"
        "P02,post_m6,tug,15.5,post_implant,182,90,,s\n")


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path]
    word: str
    code: int
    strict: bool = False
    dictionary: str | None = None


def csv_file(text: str, name: str = "obs.csv", encoding: str = "utf-8") -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        f = d / name
        f.write_bytes(text.encode(encoding))
        return f
    return build


def raw_file(data: bytes, name: str = "obs.csv") -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        (d / name).write_bytes(data)
        return d / name
    return build


def tidy(*lines: str, header: str = HEADER) -> Callable[[Path], Path]:
    return csv_file(header + GOOD + "".join(ln + "\n" for ln in lines))


def dataset(study: str | None = None, patients: str | None = None,
            obs: str = HEADER + GOOD) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        root = d / "study"
        root.mkdir()
        (root / "observations.csv").write_text(obs, encoding="utf-8")
        if study is not None:
            (root / "study.yaml").write_text(study, encoding="utf-8")
        if patients is not None:
            (root / "patients.csv").write_text(patients, encoding="utf-8")
        return root
    return build


def workbook(fill: Callable) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "observations"
        fill(ws)
        f = d / "obs.xlsx"
        wb.save(f)
        return f
    return build


def _rows(ws, extra=()):
    ws.append(["patient_id", "visit", "measure", "value", "phase", "day"])
    for line in GOOD.splitlines():
        c = line.split(",")
        ws.append([c[0], c[1], c[2], float(c[3]), c[4], float(c[5])])
    for r in extra:
        ws.append(list(r))


def _formula(ws):
    _rows(ws)
    ws["D3"] = "=D2*2"


def _merged(ws):
    _rows(ws)
    ws.merge_cells("A2:A3")


def _date_cell(ws):
    import datetime

    _rows(ws, [("P03", "baseline", "tug", datetime.date(2015, 1, 5), "baseline", -1)])


def _error_cell(ws):
    _rows(ws, [("P03", "baseline", "tug", "#DIV/0!", "baseline", -1)])


def _title(ws):
    ws.append(["ITB study: export of 2024"])
    ws.append([])
    _rows(ws)


def _dup_header(ws):
    ws.append(["patient_id", "visit", "measure", "value", "value"])
    ws.append(["P01", "baseline", "tug", 14.0, 15.0])


def spss(missing: bool) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        import pandas as pd
        import pyreadstat

        df = pd.DataFrame({"patient_id": ["P01", "P01", "P02", "P02"],
                           "visit": ["baseline", "post_m6"] * 2, "measure": ["tug"] * 4,
                           "value": [15.0, 999.0, 18.0, 15.5] if missing else
                           [15.0, 99.0, 18.0, 15.5]})
        f = d / "obs.sav"
        if missing:
            pyreadstat.write_sav(df, str(f), missing_ranges={"value": [999.0]})
        else:
            pyreadstat.write_sav(df, str(f), variable_value_labels={"value": {99.0: "not done"}})
        return f
    return build


REDCAP_HEADER = "record_id,redcap_event_name,tug,mas_ankle_pf_l\n"
REDCAP_RAW = REDCAP_HEADER + ("P01,baseline_arm_1,14.2,2\nP01,m6_arm_1,9.8,1\n"
                              "P02,baseline_arm_1,18.0,3\nP02,m6_arm_1,15.5,2\n")
DICTIONARY = ('"Variable / Field Name","Form Name","Field Type",'
              '"Choices, Calculations, OR Slider Labels"\n'
              'record_id,outcomes,text,\ntug,outcomes,text,\n'
              'mas_ankle_pf_l,outcomes,radio,"0, 0 | 1, 1 | 2, 1+ | 3, 2 | 4, 3 | 5, 4"\n')


def redcap(data: str, dictionary: str | None) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        (d / "export.csv").write_text(data)
        if dictionary is not None:
            (d / "dd.csv").write_text(dictionary)
        return d / "export.csv"
    return build


def symlink_loop(d: Path) -> Path:
    (d / "obs.csv").symlink_to(d / "obs.csv")
    return d / "obs.csv"


def directory_as_file(d: Path) -> Path:
    (d / "obs.csv").mkdir()
    return d / "obs.csv"


def two_observation_files(d: Path) -> Path:
    root = dataset()(d)
    (root / "observations.xlsx").write_bytes(b"PK\x03\x04")
    return root


def mixed_encoding(d: Path) -> Path:
    f = d / "obs.csv"
    data = (HEADER + "P01,contrôle,tug,15.2,baseline,-3,0,,s\n").encode("utf-8") + \
        "P02,contrôle,tug,18.0,baseline,-2,0,,s\n".encode("cp1252")
    f.write_bytes(data)
    return f


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n"
    for i in range(8))


def codebook_bomb(d: Path) -> Path:
    (d / "cb.yaml").write_text("measures:\n  x: &x {label: a}\n" + "".join(
        f"  m{i}: *x\n" for i in range(150)))
    return tidy()(d)


WIDE = "patient_id,tug_bl,tug_m6,SPRS_total_bl,10MWT_bl\nP01,15.2,11.8,20,8.1\n" \
       "P02,18.0,15.5,25,9.0\n"

CASES = [
    # ------------------------------------------------------------------ CSV structure
    Case("stray_quote", tidy('P03,baseline,tug,"14.2,baseline,-1,0,,s', "P04,baseline,tug,"
                             "12,baseline,-1,0,,s", "P05,baseline,tug,13,baseline,-1,0,,s"),
         "quote", 1),
    Case("unclosed_quote_last_row", tidy('P03,baseline,tug,14,baseline,-1,0,,"s'), "quote", 1),
    Case("duplicated_header", csv_file("patient_id,visit,measure,value,value\n"
                                       "P01,baseline,tug,14,15\n"), "more than once", 1),
    Case("unnamed_column_with_values", csv_file("patient_id,visit,measure,value,\n"
                                                "P01,baseline,tug,14,3\n"), "no name", 1),
    Case("trailing_empty_header_cells", csv_file(HEADER.strip() + ",,\n" + "".join(
        ln + ",,\n" for ln in GOOD.splitlines())), "valid", 0),
    Case("title_rows_above_header", csv_file("ITB export\nsite: Groningen\n" + HEADER + GOOD),
         "above the header", 0),
    Case("utf16_without_bom", csv_file(HEADER + GOOD, encoding="utf-16-le"), "valid", 0),
    Case("utf16_with_bom", csv_file(HEADER + GOOD, encoding="utf-16"), "valid", 0),
    Case("mixed_encodings", mixed_encoding, "mixes two text encodings", 0),
    Case("binary_in_csv", raw_file(b"\x00\x01\x02\x03garbage\x00\xff" * 50), "not text", 1),
    Case("ragged_row", tidy("P03,baseline,tug,12,baseline,-1,0,,s,extra"), "cells but the header",
         1),
    Case("empty_file", raw_file(b""), "empty", 1),
    Case("header_only", csv_file(HEADER), "empty", 1),
    Case("blank_lines_only", csv_file("\n\n  \n"), "empty", 1),
    Case("missing_required_column", csv_file("patient_id,visit,measure\nP01,baseline,tug\n"),
         "missing", 1),
    Case("decimal_comma_quoted", tidy('P03,baseline,tug,"12,5",baseline,-1,0,,s'),
         "decimal comma", 0),
    # ------------------------------------------------------------------ missing spellings
    Case("patient_id_n/a", tidy("n/a,baseline,tug,12,baseline,-1,0,,s"), "missing-value", 1),
    Case("patient_id_NA", tidy("NA,baseline,tug,12,baseline,-1,0,,s"), "missing-value", 1),
    Case("patient_id_dash", tidy("-,baseline,tug,12,baseline,-1,0,,s"), "missing-value", 1),
    Case("patient_id_None", tidy("None,baseline,tug,12,baseline,-1,0,,s"), "missing-value", 1),
    Case("visit_dot", tidy("P03,.,tug,12,baseline,-1,0,,s"), "missing-value", 1),
    Case("patient_id_empty", tidy(",baseline,tug,12,baseline,-1,0,,s"), "patient_id is empty", 1),
    Case("value_not_done", tidy("P03,baseline,tug,not done,baseline,-1,0,,s"),
         "missing value", 0),
    # ------------------------------------------------------------------ values and rules
    Case("factor_of_ten_typo", tidy("P01,post_m12,tug,155,post_implant,365,108,,s"),
         "ten times", 0),
    Case("factor_of_ten_typo_strict", tidy("P01,post_m12,tug,155,post_implant,365,108,,s"),
         "--strict", 1, strict=True),
    Case("sentinel_999", tidy("P02,post_m12,tug,999,post_implant,365,90,,s"),
         "missing-value code", 0),
    Case("sentinel_999_strict", tidy("P02,post_m12,tug,999,post_implant,365,90,,s"),
         "missing-value code", 1, strict=True),
    Case("sentinel_minus_one", tidy("P02,post_m12,tug,-1,post_implant,365,90,,s"),
         "out of range", 1),
    Case("excel_day_serial", tidy("P02,post_m12,tug,14,post_implant,42075,90,,s"),
         "date serial", 0),
    Case("unit_in_value", tidy("P03,baseline,tug,12 s,baseline,-1,0,,s"), "unit", 1),
    Case("censored_value", tidy("P03,baseline,tug,>30,baseline,-1,0,,s"), "censored", 1),
    Case("text_value", tidy("P03,baseline,tug,abc,baseline,-1,0,,s"), "text in a numeric", 1),
    Case("unknown_measure", tidy("P03,baseline,tugg,12,baseline,-1,0,,s"), "did you mean", 1),
    Case("duplicates_disagree", tidy("P01,baseline,tug,16,baseline,-3,0,,s"), "disagree", 1),
    Case("bad_side", tidy("P03,baseline,mas_knee_ext,1,baseline,-1,0,X,grade"), "side must be",
         1),
    Case("side_on_unsided", tidy("P03,baseline,tug,12,baseline,-1,0,L,s"),
         "not measured per side", 1),
    Case("unit_unconvertible", tidy("P03,baseline,tug,12,baseline,-1,0,,kg"),
         "cannot be converted", 1),
    Case("negative_dose", tidy("P03,post_m6,tug,12,post_implant,180,-5,,s"), "negative", 1),
    Case("bad_phase", tidy("P03,baseline,tug,12,before,-1,0,,s"), "phase must be", 1),
    Case("mas_out_of_levels", tidy("P03,baseline,mas_knee_ext,5,baseline,-1,0,L,grade"),
         "out of range", 1),
    Case("sprs_fraction", tidy("P03,baseline,sprs_total,12.5,baseline,-1,0,,points"),
         "whole numbers", 1),
    # ------------------------------------------------------------------ identifiers
    Case("dob_column", csv_file("patient_id,visit,measure,value,DOB\n"
                                "P01,baseline,tug,14,x\n"), "identifier", 1),
    Case("geburtsdatum_column", csv_file("patient_id,visit,measure,value,Geburtsdatum\n"
                                         "P01,baseline,tug,14,x\n"), "identifier", 1),
    Case("email_in_remarks", csv_file("patient_id,visit,measure,value,remarks\n"
                                      "P01,baseline,tug,14,mail jan@example.org\n"),
         "e-mail", 1),
    Case("phone_in_remarks", csv_file("patient_id,visit,measure,value,remarks\n"
                                      "P01,baseline,tug,14,call 06-12345678\n"), "phone", 1),
    Case("name_in_remarks", csv_file("patient_id,visit,measure,value,remarks\n"
                                     "P01,baseline,tug,14,Mrs Jansen fell\n"), "names", 1),
    Case("patient_id_is_a_name", csv_file(HEADER + "Jansen,baseline,tug,14,baseline,-1,0,,s\n"),
         "look like a name", 1),
    Case("patient_id_is_an_mrn", csv_file(HEADER + "1234567,baseline,tug,14,baseline,-1,0,,s\n"),
         "record number", 1),
    Case("date_in_visit", csv_file(HEADER + "P01,2015-03-12,tug,14,baseline,-1,0,,s\n"),
         "calendar dates", 1),
    # ------------------------------------------------------------------ Excel
    Case("excel_formula_without_value", workbook(_formula), "formula", 1),
    Case("excel_merged_cells", workbook(_merged), "merged", 0),
    Case("excel_date_cell", workbook(_date_cell), "stored as a date", 1),
    Case("excel_error_cell", workbook(_error_cell), "spreadsheet error", 1),
    Case("excel_title_row", workbook(_title), "above the header", 0),
    Case("excel_duplicated_header", workbook(_dup_header), "more than once", 1),
    Case("old_xls", raw_file(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "obs.xls"),
         "not supported", 1),
    Case("corrupt_xlsx", raw_file(b"PK\x03\x04 this is not a zip", "obs.xlsx"),
         "could not be read", 1),
    # ------------------------------------------------------------------ SPSS, REDCap
    Case("spss_user_missing_999", spss(True), "user-missing", 0),
    Case("spss_label_not_done", spss(False), "missing value", 0),
    Case("redcap_raw_codes", redcap(REDCAP_RAW, None), "raw codes", 1),
    Case("redcap_with_dictionary", redcap(REDCAP_RAW, DICTIONARY), "mapped to their labels", 0,
         dictionary="dd.csv"),
    Case("redcap_code_not_a_choice", redcap(REDCAP_RAW.replace("P02,m6_arm_1,15.5,2",
                                                               "P02,m6_arm_1,15.5,9"),
                                            DICTIONARY), "not a choice", 1, dictionary="dd.csv"),
    Case("redcap_not_a_dictionary", redcap(REDCAP_RAW, "a,b\n1,2\n"),
         "not a REDCap data dictionary", 1, dictionary="dd.csv"),
    # ------------------------------------------------------------------ paths
    Case("symlink_loop", symlink_loop, "link loop", 1),
    Case("directory_as_file", directory_as_file, "observations file", 1),
    Case("two_observation_files", two_observation_files, "observations files", 1),
    # ------------------------------------------------------------------ wide layout
    Case("wide_dropped_columns", csv_file(WIDE, "wide.csv"), "dropped", 0),
    Case("wide_typo_column", csv_file("patient_id,tug_bl,tugg_m6\nP01,15,12\n", "wide.csv"),
         "did you mean", 1),
    # ------------------------------------------------------------------ study.yaml, patients
    Case("study_malformed_yaml", dataset("title: [unclosed\n"), "not valid YAML", 1),
    Case("study_alias_bomb", dataset(BOMB), "aliases", 1),
    Case("study_deep_nesting", dataset("a: " + "[" * 60 + "]" * 60 + "\n"), "nested", 1),
    Case("study_python_tag", dataset("title: !!python/object/apply:os.system [ls]\n"),
         "not allowed", 1),
    Case("study_merge_key", dataset("base: &b {seed: 1}\nlmm:\n  <<: *b\n"), "merge keys", 1),
    Case("study_families_number", dataset("families: 5\n"), "families must be", 1),
    Case("study_section_not_mapping", dataset("lmm: 5\n"), "wrong shape", 1),
    Case("study_unknown_measure", dataset("primary_outcome: tugg\n"), "did you mean 'tug'", 1),
    Case("study_unknown_key", dataset("df_methd: satterthwaite\n"), "did you mean", 1),
    Case("patients_listed_twice", dataset(patients="patient_id,age\nP01,50\nP01,51\nP02,60\n"),
         "listed twice", 1),
    Case("patients_stray_quote", dataset(patients='patient_id,age\nP01,"50\nP02,60\nP03,1\n'),
         "quote", 1),
]


def _hashes(d: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file() and not p.is_symlink()}


def _run_api(case: Case, d: Path, target: Path) -> tuple[int, str]:
    dictionary = d / case.dictionary if case.dictionary else None
    try:
        rep = validate_path(target, strict=case.strict, redcap_dictionary=dictionary)
    except DataValidationError as exc:
        return 1, render(exc.problems)
    except ITBError as exc:
        return 1, str(exc)
    return 0, rep.summary()


def test_corpus_has_at_least_60_kinds():
    assert len(CASES) >= 60 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_through_the_api(case, tmp_path):
    target = case.build(tmp_path)
    before = _hashes(tmp_path)
    code, text = _run_api(case, tmp_path, target)
    assert code == case.code, text
    assert case.word.lower() in text.lower(), text
    assert "Traceback" not in text
    assert _hashes(tmp_path) == before, "the input files are unchanged"
    assert ("Kept: nothing" in text or "error" in text.lower()) if code else "valid" in text


SAMPLE = ["stray_quote", "duplicated_header", "utf16_without_bom", "patient_id_n/a",
          "excel_formula_without_value", "symlink_loop", "study_alias_bomb", "redcap_raw_codes",
          "factor_of_ten_typo_strict"]


@pytest.mark.parametrize("name", SAMPLE)
def test_bad_input_through_the_command_line(name, tmp_path):
    case = next(c for c in CASES if c.name == name)
    target = case.build(tmp_path)
    before = _hashes(tmp_path)
    args = [sys.executable, "-m", "analysis", "validate", str(target)]
    if case.strict:
        args.append("--strict")
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == case.code, out
    assert case.word.lower() in out.lower() and "Traceback" not in out
    assert _hashes(tmp_path) == before


def test_mixed_encodings_keep_one_visit(tmp_path):
    rep = validate_path(mixed_encoding(tmp_path))
    assert rep.observations["visit"].unique().tolist() == ["contrôle"]


def test_redcap_dictionary_maps_code_2_to_grade_1_plus(tmp_path):
    target = redcap(REDCAP_RAW, DICTIONARY)(tmp_path)
    obs = validate_path(target, redcap_dictionary=tmp_path / "dd.csv").observations
    mas = obs[obs["measure"] == "mas_ankle_pf"]
    assert mas["value"].tolist() == [1.5, 1.0, 2.0, 1.5]  # codes 2, 1, 3, 2 -> 1+, 1, 2, 1+


def test_stray_quote_names_the_row_and_the_rows_it_swallowed(tmp_path):
    f = tidy('P03,baseline,tug,"14.2,baseline,-1,0,,s', "P04,baseline,tug,12,baseline,-1,0,,s")(
        tmp_path)
    with pytest.raises(DataValidationError) as exc:
        validate_path(f)
    p = next(p for p in exc.value.problems if "quote" in p.rule)
    assert p.row == 6 and "rows 6-7" in p.rule


def test_codebook_alias_bomb_is_refused(tmp_path):
    codebook_bomb(tmp_path)
    with pytest.raises(ITBError, match="aliases"):
        load_codebook(extra=tmp_path / "cb.yaml")


def test_identical_problems_are_grouped_with_row_ranges(tmp_path):
    lines = [f"P{i:03d},baseline,sprs_total,12.5,baseline,-1,0,,points" for i in range(300)]
    f = csv_file(HEADER + "\n".join(lines) + "\n")(tmp_path)
    with pytest.raises(DataValidationError) as exc:
        validate_path(f)
    text = render(exc.value.problems)
    assert "300 rows (2-301), column 'value': sprs_total takes whole numbers only" in text
    assert len(text.splitlines()) < 10


# ---------------------------------------------------------------------- environment faults

def _main(capsys, *args: str) -> tuple[int, str]:
    from analysis.cli import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_out_that_is_a_file_is_one_line_exit_1(tmp_path, capsys):
    blocker = tmp_path / "results"
    blocker.write_text("not a directory")
    data = dataset()(tmp_path)
    code, text = _main(capsys, "analyze", str(data), "--out", str(blocker))
    assert code == 1 and "is a file, not a directory" in text and "Traceback" not in text
    code, text = _main(capsys, "validate", str(data), "--write-derived", str(blocker / "sub"))
    assert code == 1 and "is a file" in text
    assert blocker.read_text() == "not a directory"


@pytest.mark.parametrize("err, word", [(28, "disk is full"), (30, "read-only"),
                                       (13, "permission denied")])
def test_disk_full_read_only_and_permission_are_one_line(tmp_path, capsys, monkeypatch, err,
                                                         word):
    import os

    import analysis.data.validate as validate

    def fail(*args, **kwargs):
        raise OSError(err, os.strerror(err), str(tmp_path / "derived" / "x.csv"))

    monkeypatch.setattr(validate, "write_derived", fail)
    data = dataset()(tmp_path)
    code, text = _main(capsys, "validate", str(data), "--write-derived", str(tmp_path / "d"))
    assert code == 1 and word in text and "Traceback" not in text
    assert text.strip().splitlines()[-1].startswith("error: ")


def test_unexpected_error_has_no_traceback(tmp_path, capsys, monkeypatch):
    import analysis.data.validate as validate

    monkeypatch.setattr(validate, "validate_path", lambda *a, **k: 1 / 0)
    code, text = _main(capsys, "validate", str(tmp_path))
    assert code == 1 and "ZeroDivisionError" in text and "Traceback" not in text


def test_usage_error_exits_2(capsys):
    from analysis.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["validate"])
    assert exc.value.code == 2


def test_interrupt_exits_1_without_traceback(tmp_path, capsys, monkeypatch):
    import analysis.data.validate as validate

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(validate, "validate_path", interrupt)
    code, text = _main(capsys, "validate", str(tmp_path))
    assert code == 1 and "interrupted" in text and "Traceback" not in text


def test_sigterm_stops_the_command_through_its_clean_up(tmp_path, capsys, monkeypatch):
    import os
    import signal

    import analysis.data.validate as validate

    cleaned = []

    def terminated(*a, **k):
        try:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs before the next line
            raise AssertionError("SIGTERM did not stop the command")
        finally:
            cleaned.append(True)

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(validate, "validate_path", terminated)
    code, text = _main(capsys, "validate", str(tmp_path))
    assert code == 1 and "interrupted" in text and "Traceback" not in text
    assert cleaned == [True]
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is restored


def test_malformed_study_yaml_through_analyze_is_one_line(tmp_path, capsys):
    data = dataset("title: [unclosed\n")(tmp_path)
    code, text = _main(capsys, "analyze", str(data), "--config", str(data / "study.yaml"),
                       "--out", str(tmp_path / "out"))
    lines = [ln for ln in text.strip().splitlines() if not ln.startswith("itb: ")]  # progress
    assert code == 1 and "not valid YAML" in text and len(lines) == 1
    assert not (tmp_path / "out").exists()
