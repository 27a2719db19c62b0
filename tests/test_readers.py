"""Tests of analysis.data.readers and analysis.data.wide: every format and layout into the tidy shape.

Each test writes its input (or uses a committed fixture under tests/fixtures/input/) and checks
that the input file's SHA-256 is unchanged after reading.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from analysis.data.codebook import load_codebook
from analysis.data.readers import decode, read_observations
from analysis.data.validate import validate_path
from analysis.data.wide import detect_layout, parse_column
from analysis.errors import DataValidationError

FIXTURES = Path(__file__).parent / "fixtures" / "input"
CB = load_codebook()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read(path: Path):
    before = sha(path)
    frame, problems = read_observations(path, codebook=CB)
    assert sha(path) == before
    return frame, problems


def validate(path: Path):
    before = sha(path)
    try:
        return validate_path(path)
    finally:
        assert sha(path) == before


def errors(path: Path):
    before = sha(path)
    with pytest.raises(DataValidationError) as exc:
        validate_path(path)
    assert sha(path) == before
    return [p for p in exc.value.problems if p.severity == "error"]


TIDY = ("patient_id,visit,measure,value,phase,day,dose_ug_day,side,unit\n"
        "P01,baseline,tug,14.2,baseline,-3,0,,s\n"
        "P01,post_m6,tug,9.8,post_implant,180,108,,s\n"
        "P01,baseline,mas_knee_ext,1+,baseline,-3,0,L,grade\n"
        "P01,post_m6,mas_knee_ext,1,post_implant,180,108,L,grade\n")
EXPECTED = [("P01", "baseline", "tug", "", 14.2), ("P01", "post_m6", "tug", "", 9.8),
            ("P01", "baseline", "mas_knee_ext", "L", 1.5),
            ("P01", "post_m6", "mas_knee_ext", "L", 1.0)]


def tidy_tuples(obs: pd.DataFrame) -> list[tuple]:
    return [tuple(r) for r in obs[["patient_id", "visit", "measure", "side", "value"]]
            .itertuples(index=False)]


# ------------------------------------------------------------------------ text files

def test_csv_rows_are_spreadsheet_rows_despite_blank_lines(tmp_path):
    f = tmp_path / "obs.csv"
    lines = TIDY.splitlines()
    f.write_text("\n".join(lines[:2] + ["", ",,,,,,,,"] + lines[2:]) + "\n")
    frame, problems = read(f)
    assert frame["_row"].tolist() == [2, 5, 6, 7]
    assert frame.attrs["layout"] == "tidy" and frame.attrs["delimiter"] == ","
    assert frame["value"].tolist() == ["14.2", "9.8", "1+", "1"]  # text, as written
    assert not problems


def test_latin1_file_with_accented_text_reads(tmp_path):
    f = FIXTURES / "latin1.csv"
    raw = f.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is not UTF-8
    rep = validate(f)
    assert rep.observations["site"].tolist()[0] == "Hôpital Saint-Éloi"
    assert "Müller übernimmt" in rep.observations["rater_note"].tolist()
    note = [p for p in rep.problems if "not UTF-8" in p.rule]
    assert note and note[0].severity == "note" and note[0].file == "latin1.csv"


def test_semicolon_file_with_decimal_commas_throughout(tmp_path):
    f = FIXTURES / "semicolon_decimal_comma.csv"
    frame, _ = read(f)
    assert frame.attrs["delimiter"] == ";" and frame.attrs["decimal"] == ","
    rep = validate(f)
    gs = rep.observations.set_index(["measure", "visit"])["value"]
    assert gs[("gait_speed", "baseline")] == 0.45 and gs[("knee_flex_lr", "post_m6")] == 12.25
    # comma-decimal throughout: no per-row decimal-comma note
    assert not [p for p in rep.problems if "decimal comma" in p.rule]
    # column names differing only in case are accepted with a note each
    renamed = [p for p in rep.problems if "differs only in case" in p.rule]
    assert {p.column for p in renamed} >= {"Patient_ID", "Value", "Dose_ug_day"}


def test_utf8_bom_and_tab_separated(tmp_path):
    f = tmp_path / "obs.tsv"
    f.write_bytes(b"\xef\xbb\xbf" + TIDY.replace(",", "\t").encode("utf-8"))
    frame, problems = read(f)
    assert list(frame.columns[:2]) == ["patient_id", "visit"]  # no BOM in the first name
    assert frame.attrs["encoding"] == "utf-8-sig" and not problems
    assert tidy_tuples(validate(f).observations) == EXPECTED


def test_utf16_excel_unicode_text(tmp_path):
    f = tmp_path / "obs.txt"
    f.write_bytes(TIDY.replace(",", "\t").encode("utf-16"))
    assert tidy_tuples(validate(f).observations) == EXPECTED


def test_decode_falls_back_to_cp1252_then_latin1():
    assert decode("naïve ’".encode("cp1252")) == ("naïve ’", "cp1252")
    assert decode(b"\x81abc")[1] == "latin-1"  # 0x81 is undefined in cp1252


def test_unknown_extension_sniffed_as_text(tmp_path):
    f = tmp_path / "export.data"
    f.write_text(TIDY.replace(",", "|"))
    assert tidy_tuples(validate(f).observations) == EXPECTED


def test_ragged_row_is_reported_with_its_row(tmp_path):
    f = tmp_path / "obs.csv"
    f.write_text(TIDY + "P02,baseline,tug,12,baseline,-1,0,,s,extra\n")
    errs = errors(f)
    assert errs[0].row == 6 and "10 cells" in errs[0].rule and errs[0].file == "obs.csv"


# ------------------------------------------------------------------------ binary formats

def test_excel(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "observations"
    for line in TIDY.splitlines():
        cells = line.split(",")
        ws.append([float(c) if c.replace(".", "").replace("-", "").isdigit() and c else c
                   for c in cells])
    wb.create_sheet("notes").append(["free text"])
    f = tmp_path / "obs.xlsx"
    wb.save(f)
    rep = validate(f)
    assert tidy_tuples(rep.observations) == EXPECTED
    assert any("2 sheets" in p.rule for p in rep.problems)


def test_excel_date_cells_are_refused_without_showing_them(tmp_path):
    import datetime

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["patient_id", "visit", "measure", "value", "assessed"])
    ws.append(["P01", "baseline", "tug", 14.2, datetime.date(2015, 3, 12)])
    f = tmp_path / "obs.xlsx"
    wb.save(f)
    errs = errors(f)
    assert errs[0].column == "assessed" and errs[0].row == 2 and errs[0].value is None
    assert "2015" not in str(errs[0]) and "days relative" in errs[0].fix


def _labelled_frame():
    return pd.DataFrame({"patient_id": ["P01", "P01", "P02", "P02"],
                         "visit": ["baseline", "post_m6"] * 2,
                         "measure": [1.0, 1.0, 2.0, 2.0],
                         "value": [14.2, 9.8, 1.5, 1.0],
                         "side": ["", "", "L", "L"]})


_LABELS = {"measure": {1.0: "tug", 2.0: "mas_knee_ext"}}


def test_spss_value_labels_applied(tmp_path):
    import pyreadstat

    f = tmp_path / "obs.sav"
    pyreadstat.write_sav(_labelled_frame(), str(f), variable_value_labels=_LABELS)
    obs = validate(f).observations
    assert obs["measure"].tolist() == ["tug", "tug", "mas_knee_ext", "mas_knee_ext"]
    assert obs["value"].tolist() == [14.2, 9.8, 1.5, 1.0]


def test_stata_value_labels_applied(tmp_path):
    import pyreadstat

    df = _labelled_frame().assign(measure=[1, 1, 2, 2])
    f = tmp_path / "obs.dta"
    pyreadstat.write_dta(df, str(f), variable_value_labels={"measure": {1: "tug",
                                                                         2: "mas_knee_ext"}})
    obs = validate(f).observations
    assert obs["measure"].tolist() == ["tug", "tug", "mas_knee_ext", "mas_knee_ext"]
    assert obs["side"].tolist() == ["", "", "L", "L"]


def test_parquet_keeps_full_precision(tmp_path):
    df = _labelled_frame().assign(measure=["tug", "tug", "mas_knee_ext", "mas_knee_ext"])
    df.loc[0, "value"] = 0.1 + 0.2  # not representable as a short decimal
    f = tmp_path / "obs.parquet"
    df.to_parquet(f)
    obs = validate(f).observations
    assert obs["value"].iloc[0] == 0.1 + 0.2  # exact round trip


def test_old_xls_is_refused_with_a_fix(tmp_path):
    f = tmp_path / "obs.xls"
    f.write_bytes(b"\xd0\xcf\x11\xe0 not really")
    errs = errors(f)
    assert "could not be read" in errs[0].rule and ".xlsx" in errs[0].fix


# ------------------------------------------------------------------------ wide and REDCap

def test_parse_column_longest_first_and_aliases():
    assert parse_column("gait_speed_fast_m6", CB) == ("gait_speed_fast", "", "post_m6")
    assert parse_column("gait_speed_m6", CB) == ("gait_speed", "", "post_m6")
    assert parse_column("MAS_Knee_Ext_R_FU12", CB) == ("mas_knee_ext", "R", "post_m12")
    assert parse_column("emg_soleus_rms_ti_d3", CB) == ("emg_soleus_rms", "", "ti_d3")
    assert parse_column("emg_soleus_rms_L_bl", CB) == ("emg_soleus_rms", "L", "baseline")
    assert parse_column("age", CB) is None
    assert parse_column("tug", CB) is None  # no visit


def test_wide_fixture(tmp_path):
    f = FIXTURES / "wide.csv"
    frame, problems = read(f)
    assert frame.attrs["layout"] == "wide"
    rep = validate(f)
    obs = rep.observations.set_index(["patient_id", "visit", "measure", "side"])
    assert obs.loc[("P01", "post_m6", "tug", ""), "value"] == 9.8
    assert obs.loc[("P02", "post_m6", "mas_knee_ext", "L"), "value"] == 1.5
    assert obs.loc[("P01", "post_m6", "tug", ""), "day"] == 180
    assert obs.loc[("P02", "post_m6", "gait_speed", ""), "dose_ug_day"] == 90
    assert ("P02", "post_m6", "tug", "") not in obs.index  # empty cell: no observation
    # patient attributes go to the patient table; free text is ignored, said why
    cols = {p.column: p for p in rep.problems}
    assert "age" in cols and "patient table" in cols["age"].rule
    assert frame.attrs["patients"]["age"].tolist()[:1] == ["52"] or "age" in frame.attrs["patients"]
    assert "remarks" in cols and "free text" in cols["remarks"].rule
    # messages point at the wide cell
    mas = [p for p in rep.problems if p.rule.startswith("mas_knee_ext level")]
    assert (mas[0].row, mas[0].column) == (2, "mas_knee_ext_L_baseline")


def test_wide_typo_column_is_an_error(tmp_path):
    f = tmp_path / "wide.csv"
    f.write_text("patient_id,tug_bl,tugg_m6\nP01,14,9\n")
    errs = errors(f)
    assert errs[0].column == "tugg_m6" and "did you mean 'tug'" in errs[0].rule


def test_wide_with_visit_column(tmp_path):
    f = tmp_path / "wide.csv"
    f.write_text("patient_id,visit,day,tug,mrc_knee_ext_l\nP01,bl,-2,14,4+\nP01,m6,180,9,5\n")
    rep = validate(f)
    assert tidy_tuples(rep.observations) == [
        ("P01", "bl", "tug", "", 14.0), ("P01", "bl", "mrc_knee_ext", "L", 4.0),
        ("P01", "m6", "tug", "", 9.0), ("P01", "m6", "mrc_knee_ext", "L", 5.0)]
    assert any("4+" in str(p.value) and "grade 4" in p.rule for p in rep.problems)


def test_redcap_fixture():
    f = FIXTURES / "redcap_export.csv"
    frame, problems = read(f)
    assert frame.attrs["layout"] == "redcap"
    assert any("redcap_repeat_instrument" in p.rule and "outcomes_complete" in p.rule
               for p in problems)
    rep = validate(f)
    obs = rep.observations
    assert sorted(obs["visit"].unique()) == ["baseline", "post_m6"]  # _arm_1 stripped, aliases
    assert not obs.columns.str.startswith("redcap").any()
    sel = obs[(obs.patient_id == "P01") & (obs.measure == "mas_ankle_pf") & (obs.side == "R")]
    assert sel["value"].tolist() == [1.5, 1.0]
    assert rep.counts == {"patients": 2, "visits": 2, "measures": 3, "rows": 15,
                          "notes": len(rep.problems), "excluded": 0, "rows_read": 4,
                          "warnings": 0}


def test_detect_layout():
    assert detect_layout(pd.DataFrame(columns=["patient_id", "visit", "measure", "value"])) \
        == "tidy"
    assert detect_layout(pd.DataFrame(columns=["record_id", "redcap_repeat_instance"])) \
        == "redcap"


def test_empty_file(tmp_path):
    for content in ["", "\n\n", "patient_id,visit,measure,value\n"]:
        f = tmp_path / "obs.csv"
        f.write_text(content)
        errs = errors(f)
        assert len(errs) == 1 and "empty" in errs[0].rule and errs[0].file == "obs.csv"


def test_missing_file_is_a_problem(tmp_path):
    frame, problems = read_observations(tmp_path / "nope.csv", codebook=CB)
    assert problems[0].rule == "file does not exist" and len(frame) == 0


def test_values_stay_text_until_validation(tmp_path):
    f = tmp_path / "obs.csv"
    f.write_text("patient_id,visit,measure,value\nP01,baseline,tug,>30\nP01,post_m6,tug,n/a\n")
    frame, _ = read(f)
    assert frame["value"].tolist() == [">30", "n/a"]
    assert not pd.api.types.is_numeric_dtype(frame["value"])


def test_identifier_values_found_at_their_first_row_among_repeats():
    # Reference: the first row (spreadsheet numbering) holding a date or an e-mail, found by
    # matching each cell with the documented patterns one by one.
    import re

    from analysis.data.identifiers import _DATE_VALUE, _EMAIL, find_identifiers

    notes = ["ok", "12", "", "x@y"] * 50
    notes[137], notes[151] = "2015-03-12", "12-03-2015 10:30"
    mails = ["a", "b"] * 100
    mails[88] = "jan@example.org"
    table = pd.DataFrame({"patient_id": "P01", "remark": notes, "contact_info": mails})
    found = {p.column: p for p in find_identifiers(table, file="obs.csv")}
    assert set(found) == {"remark", "contact_info"}
    first = next(i for i, v in enumerate(notes) if re.match(_DATE_VALUE, v))
    assert found["remark"].row == first + 2 and "calendar dates" in found["remark"].rule
    first = next(i for i, v in enumerate(mails) if re.search(_EMAIL, v))
    assert found["contact_info"].row == first + 2 and "e-mail" in found["contact_info"].rule
    assert all(p.value is None for p in found.values())


def test_blank_lines_and_padded_cells_are_stripped(tmp_path):
    f = tmp_path / "obs.csv"
    f.write_text("patient_id, visit ,measure,value\n , , ,\n P01 ,baseline , tug,14.2\n"
                 "\nP02,baseline,tug\n", encoding="utf-8")
    frame, problems = read_observations(f, codebook=load_codebook())
    assert list(frame.columns[:4]) == ["patient_id", "visit", "measure", "value"]
    assert frame[["patient_id", "visit", "measure", "value"]].values.tolist() == [
        ["P01", "baseline", "tug", "14.2"], ["P02", "baseline", "tug", ""]]
    assert frame["_row"].tolist() == [3, 5]


def test_wide_column_differing_in_case_is_read_and_noted():
    from analysis.data.codebook import load_codebook
    from analysis.data.wide import from_wide

    problems = []
    table = pd.DataFrame({"patient_id": ["P01"], "TUG_baseline": ["14"], "tug_m6": ["9.5"],
                          "_row": [2]})
    long = from_wide(table, codebook=load_codebook(), file="w.csv", problems=problems)
    assert long["measure"].tolist() == ["tug", "tug"]
    notes = [p for p in problems if p.column == "TUG_baseline"]
    assert len(notes) == 1 and notes[0].severity == "note" and "case or spacing" in notes[0].rule
    assert not [p for p in problems if p.column == "tug_m6"]
