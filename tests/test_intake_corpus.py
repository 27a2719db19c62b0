"""A corpus of clinic files as clinics keep them, each read right at the first attempt or refused
with its cause named (issue 22).

Every file is made here (openpyxl, pandas, pyreadstat): several languages, title rows, merged
group-header rows, wide and long layouts, REDCap exports with their dictionary named as REDCap
names it, SPSS and Stata, and files that must be refused. A file read right is one that
``validate_path`` accepts at once and whose tidy table (patient, visit, measure, side, value,
phase) equals the expected one; a refused file names the column or rows and the rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from analysis.data.validate import load_dataset, validate_path
from analysis.errors import DataValidationError
from analysis.paths import sha256_file

Row = tuple[str, str, str, str, float, str]   # patient, visit, measure, side, value, phase


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path]
    expected: list[Row] | None = None          # None: refused
    refused: tuple[str, ...] = ()              # words of the error (rule or column)
    patients: dict[str, dict] = field(default_factory=dict)   # patient -> attributes


@dataclass(frozen=True)
class Sheets:
    """An Excel workbook: sheet name -> rows, and the merged ranges of each sheet."""

    sheets: dict[str, list[list]]
    merges: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """A table saved as SPSS (``.sav``, with its value labels) or Stata (``.dta``)."""

    frame: pd.DataFrame
    value_labels: dict[str, dict] = field(default_factory=dict)


def written(files: dict[str, Any], read: str | None = None,
            encoding: str = "utf-8") -> Callable[[Path], Path]:
    """The builder of a case: writes ``files`` (name -> text, :class:`Sheets` or :class:`Table`)
    into the test's folder and returns what is read: ``read`` (``"."``: the folder), else the
    first file."""
    def build(d: Path) -> Path:
        for name, content in files.items():
            _write(d / name, content, encoding)
        return d / (read or next(iter(files)))
    return build


def _write(path: Path, content: Any, encoding: str) -> None:
    if isinstance(content, Sheets):
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for name, rows in content.sheets.items():
            ws = wb.create_sheet(name)
            for r in rows:
                ws.append(r)
            for rng in content.merges.get(name, []):
                ws.merge_cells(rng)
        wb.save(path)
    elif isinstance(content, Table) and path.suffix == ".sav":
        import pyreadstat

        pyreadstat.write_sav(content.frame, str(path),
                             variable_value_labels=content.value_labels)
    elif isinstance(content, Table):
        content.frame.to_stata(path, write_index=False, version=118)
    else:
        path.write_bytes(content.encode(encoding))


def rows(table: str) -> list[Row]:
    """Expected tidy rows, one a line: ``patient | visit | measure | side (- none) | value |
    phase``."""
    out = []
    for line in table.strip().splitlines():
        patient, visit, measure, side, value, phase = (c.strip() for c in line.split("|"))
        out.append((patient, visit, measure, "" if side == "-" else side, float(value), phase))
    return out


# ------------------------------------------------------------------ the files

#: The workbook of the issue: merged title, merged group header, header in row 3, German
#: names, decimal commas as text, 6MWT_*, SPRS_bl, a remark column, a legend sheet first.
ISSUE_WORKBOOK = Sheets({
    "Legende": [["bl = Baseline"], ["6 Mo = 6 Monate nach Implantation"]],
    "Tabelle1": [
        ["ITB-Studie HSP, Klinik Musterstadt, Stand 03/2024"],
        ["", "", "", "Gehgeschwindigkeit (m/s)", "", "TUG (s)", "", "", "", ""],
        ["Pat-ID", "Alter", "Geschlecht", "baseline", "6 Mo", "bl", "6 Mo", "6MWT_m6",
         "SPRS_bl", "Bemerkung"],
        ["HSP01", 49, "m", "0,45", "0,91", 14.2, 9.5, 310, 22, "gut vertragen"],
        ["HSP02", 55, "w", "0,60", "0,75", 12.0, 10.1, 280, 18, None],
    ]}, {"Tabelle1": ["A1:J1", "D2:E2", "F2:G2"]})
ISSUE_ROWS = rows("""
    HSP01 | baseline | gait_speed | - | 0.45 | baseline
    HSP01 | post_m6  | gait_speed | - | 0.91 | post_implant
    HSP01 | baseline | tug        | - | 14.2 | baseline
    HSP01 | post_m6  | tug        | - | 9.5  | post_implant
    HSP01 | post_m6  | six_mwt    | - | 310  | post_implant
    HSP01 | baseline | sprs_total | - | 22   | baseline
    HSP02 | baseline | gait_speed | - | 0.6  | baseline
    HSP02 | post_m6  | gait_speed | - | 0.75 | post_implant
    HSP02 | baseline | tug        | - | 12   | baseline
    HSP02 | post_m6  | tug        | - | 10.1 | post_implant
    HSP02 | post_m6  | six_mwt    | - | 280  | post_implant
    HSP02 | baseline | sprs_total | - | 18   | baseline
""")

SEMICOLON_TITLE = ("ITB Auswertung Stand 03/2024\n"
                   "Pat.-Nr.;Alter;Geschlecht;TUG_bl;TUG_3_Monate;Gehgeschwindigkeit [m/s] bl;"
                   "Gehgeschwindigkeit [m/s] 3 Monate\n"
                   "A-01;61;weiblich;15,2;13,0;0,52;0,64\n"
                   "A-02;44;männlich;11,8;11,1;0,80;0,86\n")
SEMICOLON_ROWS = rows("""
    A-01 | baseline | tug        | - | 15.2 | baseline
    A-01 | post_m3  | tug        | - | 13   | post_implant
    A-01 | baseline | gait_speed | - | 0.52 | baseline
    A-01 | post_m3  | gait_speed | - | 0.64 | post_implant
    A-02 | baseline | tug        | - | 11.8 | baseline
    A-02 | post_m3  | tug        | - | 11.1 | post_implant
    A-02 | baseline | gait_speed | - | 0.8  | baseline
    A-02 | post_m3  | gait_speed | - | 0.86 | post_implant
""")

FRENCH = ("Code patient,sexe,Âge,TUG T0,TUG 6 mois,Ashworth genou G T0,Ashworth genou D T0,"
          "Ashworth genou G 6 mois,Ashworth genou D 6 mois\n"
          "LY01,F,52,16.0,12.5,2,1+,1,1\n"
          "LY02,M,47,13.1,12.0,3,2,1+,1+\n")
FRENCH_ROWS = rows("""
    LY01 | baseline | tug          | - | 16   | baseline
    LY01 | post_m6  | tug          | - | 12.5 | post_implant
    LY01 | baseline | mas_knee_ext | L | 2    | baseline
    LY01 | baseline | mas_knee_ext | R | 1.5  | baseline
    LY01 | post_m6  | mas_knee_ext | L | 1    | post_implant
    LY01 | post_m6  | mas_knee_ext | R | 1    | post_implant
    LY02 | baseline | tug          | - | 13.1 | baseline
    LY02 | post_m6  | tug          | - | 12   | post_implant
    LY02 | baseline | mas_knee_ext | L | 3    | baseline
    LY02 | baseline | mas_knee_ext | R | 2    | baseline
    LY02 | post_m6  | mas_knee_ext | L | 1.5  | post_implant
    LY02 | post_m6  | mas_knee_ext | R | 1.5  | post_implant
""")

DUTCH_WORKBOOK = Sheets({"Blad1": [
    ["Patiëntnummer", "leeftijd", "geslacht", "loopsnelheid bl", "loopsnelheid 12M",
     "6MWT (m) bl", "6MWT (m) 12M"],
    ["UMCG-1", 49, "man", 0.5, 1.0, 250, 390],
    ["UMCG-2", 58, "vrouw", 0.7, 0.8, 300, 320],
]})
DUTCH_ROWS = rows("""
    UMCG-1 | baseline | gait_speed | - | 0.5 | baseline
    UMCG-1 | post_m12 | gait_speed | - | 1   | post_implant
    UMCG-1 | baseline | six_mwt    | - | 250 | baseline
    UMCG-1 | post_m12 | six_mwt    | - | 390 | post_implant
    UMCG-2 | baseline | gait_speed | - | 0.7 | baseline
    UMCG-2 | post_m12 | gait_speed | - | 0.8 | post_implant
    UMCG-2 | baseline | six_mwt    | - | 300 | baseline
    UMCG-2 | post_m12 | six_mwt    | - | 320 | post_implant
""")

LONG_ENGLISH = ("Patient,Visit,Test,Side,Result\n"
                "P1,baseline,tug,,14\nP1,m6,tug,,11\n"
                "P1,baseline,mas_knee_ext,L,2\nP1,m6,mas_knee_ext,L,1\n")
LONG_ENGLISH_ROWS = rows("""
    P1 | baseline | tug          | - | 14 | baseline
    P1 | m6       | tug          | - | 11 | post_implant
    P1 | baseline | mas_knee_ext | L | 2  | baseline
    P1 | m6       | mas_knee_ext | L | 1  | post_implant
""")

LONG_GERMAN_VISITS = ("patient_id,visit,measure,value\n"
                      "K1,Baseline,tug,15\nK1,6 Monate,tug,12\nK1,12 Monate,tug,11\n")
LONG_GERMAN_ROWS = rows("""
    K1 | Baseline  | tug | - | 15 | baseline
    K1 | 6 Monate  | tug | - | 12 | post_implant
    K1 | 12 Monate | tug | - | 11 | post_implant
""")

WEEKS_WIDE = "patient_id,tug_week_0,tug_week_12,tug_week_52\nW1,15,13,12\nW2,12,11,11.5\n"
WEEKS_WIDE_ROWS = rows("""
    W1 | week_0  | tug | - | 15   | baseline
    W1 | week_12 | tug | - | 13   | post_implant
    W1 | week_52 | tug | - | 12   | post_implant
    W2 | week_0  | tug | - | 12   | baseline
    W2 | week_12 | tug | - | 11   | post_implant
    W2 | week_52 | tug | - | 11.5 | post_implant
""")

WEEKS_LONG = ("patient_id,visit,measure,value\n"
              "W1,week_0,six_mwt,300\nW1,week_12,six_mwt,330\n")
WEEKS_LONG_ROWS = rows("""
    W1 | week_0  | six_mwt | - | 300 | baseline
    W1 | week_12 | six_mwt | - | 330 | post_implant
""")

VISIT_COLUMN_GERMAN = ("Pat-ID;Zeitpunkt;TUG (s);Gehgeschwindigkeit (m/s);MAS Knie re;MAS Knie li\n"
                       "Z1;bl;14,0;0,50;2;1+\nZ1;6m;11,0;0,70;1;1\n")
VISIT_COLUMN_ROWS = rows("""
    Z1 | bl | tug          | - | 14  | baseline
    Z1 | bl | gait_speed   | - | 0.5 | baseline
    Z1 | bl | mas_knee_ext | R | 2   | baseline
    Z1 | bl | mas_knee_ext | L | 1.5 | baseline
    Z1 | 6m | tug          | - | 11  | post_implant
    Z1 | 6m | gait_speed   | - | 0.7 | post_implant
    Z1 | 6m | mas_knee_ext | R | 1   | post_implant
    Z1 | 6m | mas_knee_ext | L | 1   | post_implant
""")

#: Empty separator columns and a note row under the data.
SEPARATOR_COLUMNS = Sheets({"Sheet1": [
    ["Patient", "TUG bl", None, "TUG 6m", None, "SPRS bl", "SPRS 6m"],
    ["S1", 13, None, 10, None, 20, 17],
    ["S2", 15, None, 14, None, 25, 24],
    [],
    ["Quelle: KIS-Export, nicht bearbeiten"],
]})
SEPARATOR_ROWS = rows("""
    S1 | baseline | tug        | - | 13 | baseline
    S1 | post_m6  | tug        | - | 10 | post_implant
    S1 | baseline | sprs_total | - | 20 | baseline
    S1 | post_m6  | sprs_total | - | 17 | post_implant
    S2 | baseline | tug        | - | 15 | baseline
    S2 | post_m6  | tug        | - | 14 | post_implant
    S2 | baseline | sprs_total | - | 25 | baseline
    S2 | post_m6  | sprs_total | - | 24 | post_implant
""")

DAYS_AND_DOSES = ("Patient;Tag bl;Tag 6 Mo;Dosis (µg/Tag) 6 Mo;TUG bl;TUG 6 Mo\n"
                  "D1;-3;180;120;14;10\n")
DAYS_ROWS = rows("""
    D1 | baseline | tug | - | 14 | baseline
    D1 | post_m6  | tug | - | 10 | post_implant
""")

TSV_ENGLISH = ("Subject ID\tAge\tSex\tTUG_pre\tTUG_post_6m\tSPRS_pre\tSPRS_post_6m\n"
               "E1\t38\tF\t9.5\t8.0\t14\t12\n")
TSV_ROWS = rows("""
    E1 | baseline | tug        | - | 9.5 | baseline
    E1 | post_m6  | tug        | - | 8   | post_implant
    E1 | baseline | sprs_total | - | 14  | baseline
    E1 | post_m6  | sprs_total | - | 12  | post_implant
""")

REDCAP_EXPORT = ("record_id,redcap_event_name,redcap_repeat_instrument,tug,mas_knee_ext_l,"
                 "assessment_complete\n"
                 "R1,baseline_arm_1,,14,3,2\nR1,m6_arm_1,,10,2,2\n")
REDCAP_DICTIONARY = (
    '"Variable / Field Name","Form Name","Field Type","Field Label",'
    '"Choices, Calculations, OR Slider Labels","Identifier?"\n'
    'record_id,assessment,text,Record ID,,\n'
    'tug,assessment,text,TUG (s),,\n'
    'mas_knee_ext_l,assessment,radio,MAS knee left,"0, 0 | 1, 1 | 2, 1+ | 3, 2 | 4, 3 | 5, 4",\n')
REDCAP_ROWS = rows("""
    R1 | baseline | tug          | - | 14  | baseline
    R1 | baseline | mas_knee_ext | L | 2   | baseline
    R1 | post_m6  | tug          | - | 10  | post_implant
    R1 | post_m6  | mas_knee_ext | L | 1.5 | post_implant
""")

REDCAP = {"HSP_DATA_2024-03-10_1130.csv": REDCAP_EXPORT,
          "HSP_DataDictionary_2024-03-10.csv": REDCAP_DICTIONARY}
REDCAP_LABELS = ("record_id,redcap_event_name,tug,six_mwt_m\nR2,Baseline_arm_1,12,300\n"
                 "R2,fu12_arm_1,10,340\n")
REDCAP_LABELS_ROWS = rows("""
    R2 | baseline | tug     | - | 12  | baseline
    R2 | post_m12 | tug     | - | 10  | post_implant
    R2 | baseline | six_mwt | - | 300 | baseline
    R2 | post_m12 | six_mwt | - | 340 | post_implant
""")

SPSS = Table(pd.DataFrame({"PatID": ["B1", "B2"], "Alter": [45.0, 61.0], "sex": [1.0, 2.0],
                          "TUG_bl": [13.5, 16.0], "TUG_m6": [11.0, 15.5]}),
             {"sex": {1.0: "männlich", 2.0: "weiblich"}})
SPSS_ROWS = rows("""
    B1 | baseline | tug | - | 13.5 | baseline
    B1 | post_m6  | tug | - | 11   | post_implant
    B2 | baseline | tug | - | 16   | baseline
    B2 | post_m6  | tug | - | 15.5 | post_implant
""")

STATA = Table(pd.DataFrame({"pid": ["C1", "C2"], "age": [50, 39], "gait_speed_bl": [0.6, 0.9],
                           "gait_speed_m12": [0.8, 1.0], "sprs_bl": [20, 12],
                           "sprs_m12": [18, 12]}))
STATA_ROWS = rows("""
    C1 | baseline | gait_speed | - | 0.6 | baseline
    C1 | post_m12 | gait_speed | - | 0.8 | post_implant
    C1 | baseline | sprs_total | - | 20  | baseline
    C1 | post_m12 | sprs_total | - | 18  | post_implant
    C2 | baseline | gait_speed | - | 0.9 | baseline
    C2 | post_m12 | gait_speed | - | 1   | post_implant
    C2 | baseline | sprs_total | - | 12  | baseline
    C2 | post_m12 | sprs_total | - | 12  | post_implant
""")

DATASET = {"observations.csv": "patient_id,visit,measure,value,phase,day,dose_ug_day\n"
                               "P1,bl,tug,14,baseline,-2,0\n"
                               "P1,ti_d2,tug,12,test_infusion,2,75\n"
                               "P1,m6,tug,10,post_implant,180,110\n",
           "patients.csv": "patient_id,age,sex\nP1,49,M\n"}
DATASET_ROWS = rows("""
    P1 | bl    | tug | - | 14 | baseline
    P1 | ti_d2 | tug | - | 12 | test_infusion
    P1 | m6    | tug | - | 10 | post_implant
""")

# files that must be refused, with the cause named
TIDY_HEAD = "patient_id,visit,measure,value,phase,day,dose_ug_day\n"

CASES = [
    Case("issue_workbook_de", written({"ITB_Auswertung.xlsx": ISSUE_WORKBOOK}), ISSUE_ROWS,
         patients={"HSP01": {"age": 49.0, "sex": "M"}, "HSP02": {"age": 55.0, "sex": "F"}}),
    Case("semicolon_title_de", written({"klinik.csv": SEMICOLON_TITLE}, encoding="cp1252"),
         SEMICOLON_ROWS, patients={"A-01": {"age": 61.0, "sex": "F"}}),
    Case("french_cp1252", written({"donnees.csv": FRENCH}, encoding="cp1252"), FRENCH_ROWS,
         patients={"LY02": {"sex": "M", "age": 47.0}}),
    Case("dutch_workbook", written({"gegevens.xlsx": DUTCH_WORKBOOK}), DUTCH_ROWS,
         patients={"UMCG-2": {"sex": "F"}}),
    Case("long_english_names", written({"long.csv": LONG_ENGLISH}), LONG_ENGLISH_ROWS),
    Case("long_german_visits", written({"long.csv": LONG_GERMAN_VISITS}), LONG_GERMAN_ROWS),
    Case("weeks_wide_no_phase", written({"weeks.csv": WEEKS_WIDE}), WEEKS_WIDE_ROWS),
    Case("weeks_long_no_phase", written({"weeks.csv": WEEKS_LONG}), WEEKS_LONG_ROWS),
    Case("visit_column_german", written({"verlauf.csv": VISIT_COLUMN_GERMAN}), VISIT_COLUMN_ROWS),
    Case("separator_columns", written({"export.xlsx": SEPARATOR_COLUMNS}), SEPARATOR_ROWS),
    Case("days_and_doses_de", written({"tage.csv": DAYS_AND_DOSES}), DAYS_ROWS),
    Case("tsv_english", written({"series.tsv": TSV_ENGLISH}), TSV_ROWS,
         patients={"E1": {"age": 38.0, "sex": "F"}}),
    Case("redcap_dictionary_beside", written(REDCAP), REDCAP_ROWS),
    Case("redcap_two_dictionaries", written({**REDCAP, "OTHER_DataDictionary_2023-01-01.csv":
         REDCAP_DICTIONARY.replace("1, 1 | 2, 1+", "1, 1+ | 2, 1")}), REDCAP_ROWS),
    Case("redcap_labels", written({"export_labels.csv": REDCAP_LABELS}), REDCAP_LABELS_ROWS),
    Case("spss_value_labels", written({"studie.sav": SPSS}), SPSS_ROWS,
         patients={"B1": {"sex": "M", "age": 45.0}}),
    Case("stata", written({"itb.dta": STATA}), STATA_ROWS, patients={"C2": {"age": 39.0}}),
    Case("dataset_with_patients", written(DATASET, read="."), DATASET_ROWS),
    # ---------------------------------------------------------------- refused, cause named
    Case("name_column", written({"namen.csv": "Pat-ID,Name,TUG bl\nP1,Erika Muster,14\n"}),
         refused=("Name",)),
    Case("typo_measure", written({"typo.csv": "Pat-ID,Gehgeschwindikeit_bl,TUG bl\nP1,0.5,14\n"}),
         refused=("Gehgeschwindikeit_bl", "did you mean 'gait_speed'")),
    Case("age_over_89", written({"alt.csv": "Pat-ID,Alter,TUG bl\nP1,93,14\n"}),
         refused=("age", "over 89")),
    Case("sex_contradicts_patients", written({
         "observations.csv": "Pat-ID,Geschlecht,TUG bl,TUG 6m\nP1,w,14,11\n",
         "patients.csv": "patient_id,sex\nP1,M\n"}, read="."),
         refused=("sex", "row 2 of patients.csv", "row 2 of observations.csv")),
    Case("dose_in_mg", written({"mg.csv": TIDY_HEAD + "P1,bl,tug,14,baseline,-2,0\n"
                              "P1,m6,tug,10,post_implant,180,0.11\n"}), refused=("mg/day",)),
    Case("dose_in_baseline", written({"bl.csv": TIDY_HEAD + "P1,bl,tug,14,baseline,-2,50\n"
                                    "P1,m6,tug,10,post_implant,180,110\n"}),
         refused=("baseline phase",)),
    Case("baseline_after_day_0", written({"d.csv": TIDY_HEAD + "P1,bl,tug,14,baseline,400,0\n"
                                        "P1,m6,tug,10,post_implant,180,110\n"}),
         refused=("day 400",)),
    Case("post_implant_before_ti", written({"d.csv": TIDY_HEAD + "P1,ti,tug,14,test_infusion,3,50\n"
                                          "P1,m6,tug,10,post_implant,-5,110\n"}),
         refused=("before the test infusion",)),
    Case("visits_out_of_order", written({"d.csv": TIDY_HEAD + "P1,bl,tug,14,baseline,-2,0\n"
                                       "P1,post_m3,tug,12,post_implant,200,100\n"
                                       "P1,post_m6,tug,10,post_implant,100,110\n"}),
         refused=("post_m6", "before the day of an earlier visit")),
    Case("visit_in_two_phases", written({"d.csv": TIDY_HEAD + "P1,v2,tug,14,baseline,-2,0\n"
                                       "P2,v2,tug,12,post_implant,90,100\n"}),
         refused=("two phases",)),
]


def _tidy(obs: pd.DataFrame) -> list[Row]:
    return sorted((str(r.patient_id), str(r.visit), str(r.measure), str(r.side),
                   round(float(r.value), 6), str(r.phase)) for r in obs.itertuples())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_clinic_file_is_read_right_at_the_first_attempt_or_refused_with_its_cause(case, tmp_path):
    target = case.build(tmp_path)
    before = {p: sha256_file(p) for p in tmp_path.rglob("*") if p.is_file()}
    if case.expected is None:
        with pytest.raises(DataValidationError) as exc:
            validate_path(target)
        errors = [p for p in exc.value.problems if p.severity == "error"]
        text = "\n".join(str(p) for p in errors)
        assert errors and all(w in text for w in case.refused), text
    else:
        try:
            ds = load_dataset(target)
        except DataValidationError as exc:
            pytest.fail(str(exc))
        assert _tidy(ds.observations) == sorted((p, v, m, s, round(x, 6), ph)
                                                for p, v, m, s, x, ph in case.expected)
        for pid, attrs in case.patients.items():
            row = ds.patients.set_index("patient_id").loc[pid]
            assert {k: row[k] for k in attrs} == attrs
    assert {p: sha256_file(p) for p in before} == before   # inputs never modified


def test_the_corpus_is_large_and_varied():
    assert len([c for c in CASES if c.expected]) >= 15 and len(CASES) >= 20
    assert len([c for c in CASES if c.expected is None]) >= 8


def test_refused_consistency_cases_name_their_rows(tmp_path):
    f = written({"d.csv": TIDY_HEAD + "P1,bl,tug,14,baseline,-2,50\nP1,bl2,tug,13,baseline,-1,60\n"
               "P1,m6,tug,10,post_implant,180,110\n"})(tmp_path)
    with pytest.raises(DataValidationError) as exc:
        validate_path(f)
    p = next(p for p in exc.value.problems if "baseline phase" in p.rule)
    assert p.row == 2 and "rows 2-3" in p.rule and p.column == "dose_ug_day"


def test_a_relaxed_consistency_check_is_a_warning(tmp_path):
    f = written({"d.csv": TIDY_HEAD + "P1,bl,tug,14,baseline,-2,50\n"
               "P1,m6,tug,10,post_implant,180,110\n"})(tmp_path)
    rep = validate_path(f, relax=["dose_in_baseline"])
    assert any(p.severity == "warning" and "baseline phase" in p.rule for p in rep.problems)


def test_a_dose_header_in_mg_per_day_is_converted(tmp_path):
    f = written({"mg.csv": "Patient;Tag bl;Tag 6 Mo;Dosis (mg/Tag) 6 Mo;TUG bl;TUG 6 Mo\n"
               "D1;-3;180;0,12;14;10\n"})(tmp_path)
    obs = validate_path(f).observations.set_index("visit")
    assert obs.loc["post_m6", "dose_ug_day"] == 120.0


def test_an_unknown_visit_names_its_column_and_the_accepted_spellings(tmp_path):
    f = written({"v.csv": "patient_id,tug_bl,tug_spaeter\nP1,14,12\n"})(tmp_path)
    with pytest.raises(DataValidationError) as exc:
        validate_path(f)
    p = next(p for p in exc.value.problems if "phase is empty" in p.rule)
    assert "tug_spaeter" in p.rule and "6 Monate" in p.fix and "mapping.yaml" in p.fix


def test_a_site_column_of_a_wide_sheet_is_kept_and_named(tmp_path):
    f = written({"sites.csv": "Pat-ID;Zentrum;TUG bl;TUG 6m\nA1;Groningen;14;11\nB1;Ulm;12;10\n"})(tmp_path)
    rep = validate_path(f)
    assert sorted(rep.observations["site"].unique()) == ["Groningen", "Ulm"]
    assert any("2 site(s): Groningen, Ulm" in p.rule for p in rep.problems)
