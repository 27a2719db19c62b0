"""Tests of analysis.data.validate: one test per rule, each asserting on the message (file, row,
column, value, rule) and that the input file is unchanged (SHA-256)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.data.codebook import load_codebook
from analysis.data.validate import (
    ValidationReport,
    load_dataset,
    parse_number,
    validate_observations,
    validate_path,
    write_derived,
)
from analysis.errors import CodebookError, DataValidationError, Problem

HEADER = "patient_id,visit,measure,value,phase,day,dose_ug_day,side,unit\n"
GOOD = [
    "P01,baseline,tug,14.2,baseline,-3,0,,s",
    "P01,post_m6,tug,9.8,post_implant,180,108,,s",
    "P02,baseline,tug,18.0,baseline,-2,0,,s",
    "P02,post_m6,tug,15.5,post_implant,182,90,,s",
]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(tmp_path: Path, lines: list[str], header: str = HEADER, name: str = "obs.csv") -> Path:
    f = tmp_path / name
    f.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return f


def ok(path: Path) -> ValidationReport:
    before = sha(path)
    rep = validate_path(path)
    assert sha(path) == before
    return rep


def fail(path: Path) -> tuple[list[Problem], DataValidationError]:
    before = sha(path)
    with pytest.raises(DataValidationError) as exc:
        validate_path(path)
    assert sha(path) == before
    return [p for p in exc.value.problems if p.severity == "error"], exc.value


def one(problems: list[Problem], **where) -> Problem:
    hits = [p for p in problems if all(getattr(p, k) == v for k, v in where.items())]
    assert len(hits) == 1, (where, [str(p) for p in problems])
    return hits[0]


# --------------------------------------------------------------------------- good data

def test_good_file_gives_contract_frame(tmp_path):
    rep = ok(write(tmp_path, GOOD))
    obs = rep.observations
    assert list(obs.columns) == ["patient_id", "visit", "measure", "value", "phase", "day",
                                 "dose_ug_day", "side", "unit"]
    assert obs["value"].dtype == "float64" and obs["day"].dtype == "float64"
    assert obs["value"].tolist() == [14.2, 9.8, 18.0, 15.5]
    assert rep.counts == {"patients": 2, "visits": 2, "measures": 1, "rows": 4, "notes": 0,
                          "excluded": 0, "rows_read": 4, "warnings": 0}
    assert rep.visit_order == ("baseline", "post_m6")
    assert list(rep.files.values()) == [sha(tmp_path / "obs.csv")]
    assert rep.summary().startswith("obs.csv: valid. 2 patient(s), 2 visit(s), 1 measure(s), "
                                    "4 observation(s); 0 warning(s), 0 note(s)")
    json.dumps(rep.to_dict())  # JSON-ready


def test_visit_order_by_day_then_first_appearance(tmp_path):
    lines = ["P01,post_m6,tug,9,post_implant,180,108,,s", "P01,ti_d3,tug,12,test_infusion,3,50,,s",
             "P01,baseline,tug,14,baseline,-3,0,,s", "P01,extra,tug,13,post_implant,,,,s"]
    assert ok(write(tmp_path, lines)).visit_order == ("baseline", "ti_d3", "post_m6", "extra")


# --------------------------------------------------------------------------- columns

def test_missing_required_column_with_rename_hint(tmp_path):
    f = write(tmp_path, ["P01,baseline,tug,14"], header="pateint_id,visit,measure,value\n")
    errs, _ = fail(f)
    p = one(errs, column="patient_id")
    assert p.file == "obs.csv" and p.row is None and "required column" in p.rule
    assert "rename column 'pateint_id' to 'patient_id'" in p.fix.lower()


def test_a_patient_column_in_another_language_is_read_with_a_note(tmp_path):
    f = write(tmp_path, ["P01,baseline,tug,14"], header="Pat.-Nr.,visit,measure,value\n")
    rep = ok(f)
    assert rep.observations["patient_id"].tolist() == ["P01"]
    assert any(p.column == "Pat.-Nr." and "patient_id" in p.rule for p in rep.problems)


def test_a_column_is_proposed_as_value_only_when_its_cells_are_values(tmp_path):
    f = write(tmp_path, ["P01,baseline,tug,52"], header="patient_id,visit,measure,Alter\n")
    errs, _ = fail(f)
    assert not any("to 'value'" in p.fix for p in errs)


def test_column_differing_in_case_and_spacing_is_accepted_with_note(tmp_path):
    f = write(tmp_path, ["P01,baseline,tug,14"], header=" Patient ID ,VISIT,Measure,value\n")
    rep = ok(f)
    p = one(list(rep.problems), column="Patient ID")
    assert p.severity == "note" and "read as 'patient_id'" in p.rule


def test_direct_identifiers_refused_without_values(tmp_path):
    f = write(tmp_path, ["P01,baseline,tug,14,Jan Jansen,1966-04-01,j.jansen@example.org,12345"],
              header="patient_id,visit,measure,value,name,dob,contact,mrn\n")
    errs, exc = fail(f)
    assert {p.column for p in errs} == {"name", "dob", "contact", "mrn"}
    text = str(exc)
    for secret in ["Jansen", "1966", "example.org", "12345"]:
        assert secret not in text
    name = one(errs, column="name")
    assert "looks like a direct identifier" in name.rule and "P01, P02" in name.fix
    assert "outside the project" in name.fix
    assert "e-mail" in one(errs, column="contact").rule


def test_calendar_date_values_refused(tmp_path):
    f = write(tmp_path, ["P01,2015-03-12,tug,14"], header="patient_id,visit,measure,value\n")
    errs, exc = fail(f)
    p = one(errs, column="visit")
    assert p.row == 2 and p.value is None and "calendar dates" in p.rule
    assert "days relative to the start of the test infusion" in p.fix
    assert "2015-03-12" not in str(exc)


# --------------------------------------------------------------------------- measures

def test_unknown_measure_suggests_nearest_key(tmp_path):
    f = write(tmp_path, GOOD + ["P03,baseline,gait_sped,0.5,baseline,-1,0,,m/s",
                                "P03,post_m6,gait_sped,0.7,post_implant,170,80,,m/s"])
    errs, _ = fail(f)
    p = one(errs, column="measure")
    assert (p.row, p.value) == (6, "gait_sped") and "unknown measure" in p.rule
    assert "also rows 7" in p.rule and "Did you mean 'gait_speed'? Use a key" in p.fix


def test_measure_in_other_case_is_accepted(tmp_path):
    rep = ok(write(tmp_path, ["P01,baseline,TUG,14,baseline,-3,0,,s"]))
    assert rep.observations["measure"].tolist() == ["tug"]


@pytest.mark.parametrize("line, column, value, words", [
    ("P01,baseline,mas_knee_ext,5,baseline,-3,0,L,", "value", "5", "levels 0, 1, 1+, 2, 3, 4"),
    ("P01,baseline,mrc_knee_ext,6,baseline,-3,0,L,", "value", "6", "levels 0, 1, 2, 3, 4, 5"),
    ("P01,baseline,mas_knee_ext,2.5,baseline,-3,0,L,", "value", "2.5", "out of range"),
    ("P01,baseline,tug,-3,baseline,-3,0,,s", "value", "-3", "must lie in [0, inf] s"),
    ("P01,baseline,sprs_total,60,baseline,-3,0,,", "value", "60", "[0, 52]"),
    ("P01,baseline,sprs_total,20.5,baseline,-3,0,,", "value", "20.5", "whole numbers"),
])
def test_value_out_of_range(tmp_path, line, column, value, words):
    errs, _ = fail(write(tmp_path, [line]))
    p = one(errs, column=column)
    assert (p.file, p.row, p.value) == ("obs.csv", 2, value)
    assert "out of range" in p.rule or "whole numbers" in p.rule
    assert words in p.rule


def test_mas_one_plus_coded_1_5_with_note(tmp_path):
    rep = ok(write(tmp_path, ["P01,baseline,mas_ankle_pf,1+,baseline,-3,0,R,grade",
                              "P01,post_m6,mas_ankle_pf,1.5,post_implant,180,100,R,grade"]))
    assert rep.observations["value"].tolist() == [1.5, 1.5]
    p = one(list(rep.problems), row=2)
    assert p.severity == "note" and p.value == "1+" and "coded 1.5" in p.rule


@pytest.mark.parametrize("token", ["n/a", "NA", "", "-"])
def test_missing_tokens_excluded_with_note(tmp_path, token):
    rep = ok(write(tmp_path, GOOD + [f"P03,baseline,tug,{token},baseline,-1,0,,s"]))
    assert len(rep.observations) == 4
    p = one(list(rep.problems), row=6)
    assert p.severity == "note" and "missing value" in p.rule and p.value == token
    assert rep.excluded[["row", "action", "reason"]].values.tolist() == \
        [[6, "excluded", "missing value"]]


def test_decimal_comma_in_comma_file_is_read_with_note(tmp_path):
    rep = ok(write(tmp_path, ['P01,baseline,tug,"12,5",baseline,-3,0,,s']))
    assert rep.observations["value"].tolist() == [12.5]
    p = one(list(rep.problems), row=2)
    assert p.severity == "note" and p.value == "12,5" and "decimal comma read" in p.rule


def test_decimal_commas_give_one_line_per_column(tmp_path):
    rep = ok(write(tmp_path, ['P01,baseline,tug,"12,5",baseline,-3,0,,s',
                              'P02,baseline,tug,"13,5",baseline,-3,0,,s']))
    lines = [ln for ln in rep.summary().splitlines() if "decimal comma" in ln]
    assert len(lines) == 1 and "2 rows (2-3)" in lines[0]


def test_censored_value_refused_with_fix(tmp_path):
    errs, _ = fail(write(tmp_path, GOOD + ["P03,baseline,tug,>30,baseline,-1,0,,s"]))
    p = one(errs, row=6)
    assert (p.column, p.value) == ("value", ">30") and "censored" in p.rule
    assert p.fix == "Enter the value or leave empty and note the censoring"


@pytest.mark.parametrize("text, words", [("fast", "text in a numeric column"),
                                         ("12 s", "unit written with the number")])
def test_text_in_numeric_column(tmp_path, text, words):
    errs, _ = fail(write(tmp_path, [f"P01,baseline,tug,{text},baseline,-3,0,,"]))
    p = one(errs, row=2)
    assert p.value == text and words in p.rule


def test_every_problem_is_collected(tmp_path):
    lines = ["P01,baseline,tug,>30,baseline,-3,0,,s", "P01,post_m6,mas_knee_ext,5,post_implant,"
             "180,100,L,", "P01,post_m6,tugg,9,post_implant,180,100,,s",
             "P01,post_m6,gait_speed,80,post_implant,180,100,,ft/s"]
    errs, exc = fail(write(tmp_path, lines))
    assert [p.row for p in errs] == [2, 3, 4, 5]
    assert str(exc).startswith("4 problem(s) in the data:")


# --------------------------------------------------------------------------- duplicates

def test_duplicates_that_disagree_name_both_rows(tmp_path):
    errs, _ = fail(write(tmp_path, GOOD + ["P01,baseline,tug,15.0,baseline,-3,0,,s"]))
    p = one(errs, row=6)
    assert "row 2 has 14.2 and row 6 has 15" in p.rule and "P01 / baseline / tug" in p.rule


def test_duplicates_that_agree_are_dropped_with_note(tmp_path):
    rep = ok(write(tmp_path, GOOD + ["P01,baseline,tug,14.20,baseline,-3,0,,s"]))
    assert len(rep.observations) == 4
    p = one(list(rep.problems), row=6)
    assert p.severity == "note" and "duplicate of row 2" in p.rule
    assert rep.excluded["action"].tolist() == ["dropped"]


# --------------------------------------------------------------------------- units

def test_convertible_unit_converted_with_note_per_row(tmp_path):
    rep = ok(write(tmp_path, ["P01,baseline,gait_speed,45,baseline,-3,0,,cm/s",
                              "P01,post_m6,gait_speed,3.24,post_implant,180,100,,km/h"]))
    assert np.allclose(rep.observations["value"], [0.45, 0.9], rtol=1e-12)
    assert rep.observations["unit"].tolist() == ["m/s", "m/s"]
    notes = [p for p in rep.problems if "converted" in p.rule]
    assert [(p.row, p.value) for p in notes] == [(2, "45"), (3, "3.24")]
    assert "45 cm/s to 0.45 m/s" in notes[0].rule
    assert rep.excluded["action"].tolist() == ["converted", "converted"]


def test_unconvertible_unit_refused(tmp_path):
    errs, _ = fail(write(tmp_path, ["P01,baseline,gait_speed,3,baseline,-3,0,,ft/s"]))
    p = one(errs, row=2)
    assert (p.column, p.value) == ("unit", "ft/s") and "cannot be converted to m/s" in p.rule
    assert "cm/s" in p.fix


def test_dose_in_mg_per_day_converted(tmp_path):
    f = write(tmp_path, ["P01,ti_d3,tug,12,test_infusion,3,0.108"],
              header="patient_id,visit,measure,value,phase,day,dose_mg_day\n")
    rep = ok(f)
    assert rep.observations["dose_ug_day"].tolist() == [108.0]
    assert any(p.column == "dose_mg_day" and "x1000" in p.rule for p in rep.problems)


# --------------------------------------------------------------------------- other rules

def test_implausible_dose_is_noted(tmp_path):
    rep = ok(write(tmp_path, ["P01,ti_d3,tug,12,test_infusion,3,108000,,s"]))
    p = one(list(rep.problems), row=2, column="dose_ug_day")
    assert p.severity == "note" and p.value == "108000" and "above 2000 ug/day" in p.rule


def test_side_rules(tmp_path):
    errs, _ = fail(write(tmp_path, ["P01,baseline,tug,14,baseline,-3,0,L,s",
                                    "P01,baseline,mas_knee_ext,2,baseline,-3,0,middle,"]))
    assert "not measured per side" in one(errs, row=2).rule
    assert one(errs, row=3).value == "middle"


def test_side_words_normalised(tmp_path):
    rep = ok(write(tmp_path, ["P01,baseline,mas_knee_ext,2,baseline,-3,0,left,",
                              "P01,baseline,mas_knee_ext,3,baseline,-3,0,r,"]))
    assert rep.observations["side"].tolist() == ["L", "R"]


def test_patient_without_baseline_is_noted_and_listed(tmp_path):
    rep = ok(write(tmp_path, GOOD + ["P03,post_m6,tug,11,post_implant,175,80,,s",
                                     "P01,post_m6,pgic,2,post_implant,180,108,,"]))
    assert rep.no_baseline.values.tolist() == [["P03", "tug", ""]]
    p = [p for p in rep.problems if "P03 has no baseline" in p.rule][0]
    assert p.severity == "note" and "excluded from paired" in p.rule
    assert (p.column, p.value) == ("patient_id", "P03") and "observation of tug:" in p.rule
    assert any("'pgic' has no baseline" in p.rule for p in rep.problems)
    assert "P03" in rep.observations["patient_id"].tolist()  # kept


def test_no_baseline_note_lists_measures_and_sides_per_patient(tmp_path):
    rep = ok(write(tmp_path, ["P01,baseline,tug,14,baseline,-3,0,,s",
                              "P01,post_m6,tug,9,post_implant,180,100,,s",
                              "P02,post_m6,tug,9,post_implant,180,100,,s",
                              "P01,baseline,mas_knee_ext,2,baseline,-3,0,L,",
                              "P02,post_m6,mas_knee_ext,2,post_implant,180,100,L,",
                              "P02,post_m6,mas_knee_ext,1,post_implant,180,100,R,"]))
    assert rep.no_baseline.values.tolist() == [["P02", "tug", ""], ["P02", "mas_knee_ext", "L"],
                                               ["P02", "mas_knee_ext", "R"]]
    p = one(list(rep.problems), value="P02")
    assert "no baseline observation of tug, mas_knee_ext (L, R):" in p.rule


def test_phase_inferred_and_dose_zero_at_baseline(tmp_path):
    rep = ok(write(tmp_path, ["P01,baseline,tug,14", "P01,ti_d2,tug,13", "P01,post_m6,tug,9"],
                   header="patient_id,visit,measure,value\n"))
    assert rep.observations["phase"].tolist() == ["baseline", "test_infusion", "post_implant"]
    assert rep.observations["dose_ug_day"].tolist()[0] == 0.0
    assert np.isnan(rep.observations["dose_ug_day"].tolist()[1])


def test_phase_not_inferable_and_bad_day(tmp_path):
    errs, _ = fail(write(tmp_path, ["P01,visit_x,tug,14,,-3,0,,s",
                                    "P01,baseline,tug,14,baseline,three,0,,s",
                                    "P01,post_m6,tug,9,post_implant,180,-5,,s"]))
    assert "cannot be inferred from visit 'visit_x'" in one(errs, row=2).rule
    assert (one(errs, row=3).column, one(errs, row=3).value) == ("day", "three")
    assert one(errs, row=4).column == "dose_ug_day"


def test_empty_observations_file(tmp_path):
    f = tmp_path / "obs.csv"
    f.write_text(HEADER)
    errs, _ = fail(f)
    assert len(errs) == 1 and "empty" in errs[0].rule


def test_validate_observations_direct():
    raw = pd.DataFrame({"patient_id": ["P01"], "visit": ["baseline"], "measure": ["tug"],
                        "value": ["14"]})
    rep = validate_observations(raw, codebook=load_codebook(), file="memory")
    assert rep.observations["value"].tolist() == [14.0]


def test_parse_number():
    assert parse_number("1e2") == (100.0, "ok")
    assert parse_number("inf") == (None, "text")
    assert parse_number("≥ 30") == (None, "censored")


# --------------------------------------------------------------------------- datasets

def test_dataset_directory_with_patients(tmp_path):
    write(tmp_path, GOOD, name="observations.csv")
    (tmp_path / "patients.csv").write_text(
        "patient_id,age,sex,genotype,disease_duration\nP01,49,m,SPG4,12\nP02,55,F,SPG7,8\n"
        "P09,60,F,SPG4,3\n")
    (tmp_path / "study.yaml").write_text("primary: tug\n")
    ds = load_dataset(tmp_path)
    assert ds.patients["sex"].tolist() == ["M", "F", "F"]
    assert ds.patients["age"].dtype == "float64"
    assert ds.study_path == tmp_path / "study.yaml"
    assert set(Path(p).name for p in ds.files) == {"observations.csv", "patients.csv"}
    assert any("P09" in p.rule and "no observations" in p.rule for p in ds.report.problems)


def test_patients_file_with_identifier_refused(tmp_path):
    write(tmp_path, GOOD, name="observations.csv")
    pat = tmp_path / "patients.csv"
    pat.write_text("patient_id,Last name,age,sex\nP01,Jansen,49,X\n")
    before = sha(pat)
    with pytest.raises(DataValidationError) as exc:
        load_dataset(tmp_path)
    assert sha(pat) == before
    errs = [p for p in exc.value.problems if p.severity == "error"]
    assert {(p.file, p.column) for p in errs} == {("patients.csv", "last_name"),
                                                  ("patients.csv", "sex")}
    assert "Jansen" not in str(exc.value)


def test_dataset_directory_needs_one_observations_file(tmp_path):
    with pytest.raises(DataValidationError, match="no observations file"):
        load_dataset(tmp_path)


def test_extra_codebook(tmp_path):
    cbf = tmp_path / "mine.yaml"
    cbf.write_text(yaml.safe_dump({"measures": {"bbs": {
        "label": "Berg Balance Scale", "unit": "points", "kind": "continuous", "minimum": 0,
        "maximum": 56, "better": "higher"}}}))
    f = write(tmp_path, ["P01,baseline,bbs,40", "P01,post_m6,bbs,57"],
              header="patient_id,visit,measure,value\n")
    with pytest.raises(DataValidationError) as exc:
        validate_path(f, extra_codebook=cbf)
    assert "[0, 56]" in str(exc.value)
    with pytest.raises(CodebookError, match="either"):
        load_dataset(f, codebook=load_codebook(), extra_codebook=cbf)


def test_write_derived_atomic_and_round_trips(tmp_path):
    rep = ok(write(tmp_path, GOOD + ["P03,baseline,tug,n/a,baseline,-1,0,,s"]))
    out = tmp_path / "derived"
    tidy = write_derived(rep, out_dir=out)
    assert tidy == out / "observations_tidy.csv"
    assert sorted(p.name for p in out.iterdir()) == ["exclusions.csv", "observations_tidy.csv",
                                                     "validation.json"]  # no temp files left
    back = pd.read_csv(tidy, keep_default_na=False)
    assert back["value"].tolist() == rep.observations["value"].tolist()
    assert pd.read_csv(out / "exclusions.csv")["reason"].tolist() == ["missing value"]
    assert json.loads((out / "validation.json").read_text())["counts"]["rows"] == 4
    write_derived(rep, out_dir=out)  # overwrite in place
    assert len(list(out.iterdir())) == 3


# ----------------------------------------------------- fast path of the row rules
ROW_VARIANTS = {
    "patient_id": ["P01", " P02 ", "", "P03"],
    "visit": ["baseline", "ti_d2", "", "post_m6", "week 1"],
    "measure": ["tug", "gait_speed", "mas_knee_ext", "MAS_Knee_Ext", "tugg", "mrc_knee_ext"],
    "value": ["14.2", "1+", "2", "1", "12,5", ">30", "n/a", "abc", "12 s", "-3", "inf",
              "2.0", "1.50", "7", "0.9", "1e1", "nan"],
    "phase": ["baseline", "test_infusion", "", "TI", "Post Implant", "bogus"],
    "day": ["-3", "", "2", "x", "1,5", "nan"],
    "dose_ug_day": ["0", "", "50", "-5", "5000", "abc"],
    "side": ["", "L", "right", "X"],
    "unit": ["", "s", "m/s", "cm/s", "µV", "grade", "furlongs"],
    "extra": ["a", ""],
}


def test_fast_row_rules_agree_with_the_full_rules_on_every_row():
    # Reference: rules.observation applied to every record (the rules as written); the
    # vectorised entry point must give the same rows, problems, log and unknown measures.
    from analysis.data.rules import Collector, observation
    from analysis.data.table_rules import observations

    rng = np.random.default_rng(5)
    n = 3000
    # earlier variants more often, so that clean rows are common
    weights = {c: 0.6 ** np.arange(len(v)) for c, v in ROW_VARIANTS.items()}
    raw = pd.DataFrame({c: rng.choice(v, n, p=weights[c] / weights[c].sum())
                        for c, v in ROW_VARIANTS.items()}, dtype="str")
    raw["_row"] = np.arange(2, n + 2)
    raw["_source_column"] = "value"
    cb = load_codebook()
    for decimal in (".", ","):
        fast_col, slow_col = Collector("obs.csv", []), Collector("obs.csv", [])
        fast_unknown: dict = {}
        slow_unknown: dict = {}
        columns = observations(raw, cb, decimal, fast_col, ["extra"], fast_unknown)
        fast = [dict(zip(columns, values, strict=False))
                for values in zip(*(v.tolist() for v in columns.values()), strict=False)]
        slow = [o for r in raw.to_dict("records")
                if (o := observation(r, cb, decimal, slow_col, ["extra"], slow_unknown))
                is not None]
        assert len(fast) > 100 and len(slow_col.problems) > 1000  # both paths exercised
        assert len(fast) == len(slow)
        for a, b in zip(fast, slow, strict=False):
            assert a.keys() == b.keys()
            for k in a:
                assert (a[k] == b[k]) or (a[k] != a[k] and b[k] != b[k]), (k, a, b)
                assert type(a[k]) is type(b[k]), (k, a, b)
        assert fast_col.problems == slow_col.problems
        assert fast_col.log == slow_col.log
        assert list(fast_unknown.items()) == list(slow_unknown.items())


def test_r_write_csv_na_in_optional_text_columns_reads_as_empty(tmp_path):
    """R's write.csv quotes text and writes NA (unquoted) for an empty side, unit or phase:
    the file is read as the same data as with empty cells, with one note per column."""
    header = '"patient_id","visit","measure","value","phase","day","dose_ug_day","side","unit"\n'
    r_style = ['"P01","baseline","tug",14.2,"baseline",-3,0,NA,"s"',
               '"P01","post_m6","tug",9.8,"post_implant",180,108,NA,NA',
               '"P02","baseline","tug",18,NA,-2,0,NA,"s"',
               '"P02","post_m6","tug",15.5,"post_implant",182,90,NA,"s"',
               '"P02","post_m6","mas_knee_ext","1+","post_implant",182,90,"L","grade"']
    blank = ["P01,baseline,tug,14.2,baseline,-3,0,,s", "P01,post_m6,tug,9.8,post_implant,180,108,,",
             "P02,baseline,tug,18,,-2,0,,s", "P02,post_m6,tug,15.5,post_implant,182,90,,s",
             "P02,post_m6,mas_knee_ext,1+,post_implant,182,90,L,grade"]
    rep = ok(write(tmp_path, r_style, header=header, name="r.csv"))
    ref = ok(write(tmp_path, blank, name="blank.csv"))
    pd.testing.assert_frame_equal(rep.observations, ref.observations)
    notes = [p for p in rep.problems if "R's write.csv" in p.rule]
    assert sorted((p.column, p.row) for p in notes) == [("phase", 4), ("side", 2), ("unit", 3)]
    assert "4 cell(s) 'NA' in column 'side'" in one(notes, column="side").rule
    # other missing-value spellings are not blanks: an unknown side is still refused
    errors, _ = fail(write(tmp_path, ["P01,baseline,mas_knee_ext,1,baseline,-1,0,unknown,grade"],
                           name="unknown.csv"))
    assert one(errors, column="side").value == "unknown"
