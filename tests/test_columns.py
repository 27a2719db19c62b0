"""The column vocabulary: every spelling of column_vocabulary.yaml is recognised as what it
names (one test per entry), visit spellings read into visit codes, and the header finder."""

from __future__ import annotations

import pytest

from analysis.data.codebook import load_codebook
from analysis.data.columns import recognise, suggest_name
from analysis.data.header import choose_header, choose_sheet
from analysis.data.visits import parse_visit
from analysis.data.vocabulary_file import VOCABULARY_PATH, vocabulary
from analysis.data.yaml_safe import load_yaml

CB = load_codebook()
RAW = load_yaml(VOCABULARY_PATH)


def _entries(section: str) -> list[tuple[str, str]]:
    return [(key, spelling) for key, words in RAW[section].items() for spelling in words]


@pytest.mark.parametrize("role, spelling", _entries("roles"))
def test_every_role_spelling_is_recognised(role, spelling):
    r = recognise(spelling, CB)
    assert (r.kind, r.target) == ("role", role), r


@pytest.mark.parametrize("attr, spelling", _entries("patient_level"))
def test_every_patient_attribute_spelling_goes_to_the_patient_table(attr, spelling):
    r = recognise(spelling, CB)
    assert (r.kind, r.target) == ("patient", attr), r


@pytest.mark.parametrize("spelling", RAW["ignore"])
def test_every_free_text_spelling_is_ignored_with_a_reason(spelling):
    r = recognise(spelling, CB)
    assert r.kind == "ignore" and r.why


@pytest.mark.parametrize("measure, spelling", _entries("measures"))
def test_every_measure_spelling_with_a_visit_is_a_wide_column(measure, spelling):
    r = recognise(f"{spelling} bl", CB)
    assert (r.kind, r.measure, r.target) == ("measure", measure, f"{measure}_baseline"), r
    r = recognise(spelling, CB, visit_column=True)
    assert (r.kind, r.target) == ("measure", measure), r


@pytest.mark.parametrize("family, spelling", _entries("families"))
def test_every_family_spelling_with_a_muscle_and_side(family, spelling):
    r = recognise(f"{spelling} hip flexors li 6 Mo", CB)
    assert r.target == f"{family}_hip_flex_L_post_m6", r


@pytest.mark.parametrize("muscle, spelling", _entries("muscles"))
def test_every_muscle_spelling(muscle, spelling):
    r = recognise(f"MAS {spelling} re bl", CB)
    assert (r.kind, r.target) == ("measure", f"mas_{muscle}_R_baseline"), r
    assumed = spelling in vocabulary()["assumed_muscles"] or spelling in RAW["assumed_muscles"]
    assert (r.confidence == "medium") == assumed


@pytest.mark.parametrize("side, spelling", [e for e in _entries("sides") if " " not in e[1]])
def test_every_side_spelling(side, spelling):
    r = recognise(f"MAS Kniestrecker {spelling} T0", CB)
    assert (r.measure, r.side) == ("mas_knee_ext", side), r


@pytest.mark.parametrize("word", RAW["visit_words"]["baseline"])
def test_every_baseline_word(word):
    assert parse_visit(word).code == "baseline"


@pytest.mark.parametrize("word", RAW["visit_words"]["test_infusion"])
def test_every_test_infusion_word(word):
    assert parse_visit(word).code == "test_infusion"


@pytest.mark.parametrize("kind, code", [("month", "post_m6"), ("year", "post_m72"),
                                        ("week", "week_6"), ("day", "day_6")])
def test_every_unit_word_of_time(kind, code):
    for word in RAW["visit_words"][kind]:
        assert parse_visit(f"6 {word}").code == code, word
        assert parse_visit(f"{word}6").code == code, word


@pytest.mark.parametrize("word", RAW["visit_words"]["post"])
def test_every_after_implantation_word(word):
    assert parse_visit(f"3 Monate {word}").code == "post_m3"


@pytest.mark.parametrize("text, code", [
    ("bl", "baseline"), ("pre", "baseline"), ("T0", "baseline"), ("6m", "post_m6"),
    ("m6", "post_m6"), ("6mo", "post_m6"), ("6_monate", "post_m6"), ("6 mois", "post_m6"),
    ("12M", "post_m12"), ("3 Monate nach Implantation", "post_m3"), ("FU6", "post_m6"),
    ("ti d3", "ti_d3"), ("week_0", "week_0"), ("Woche 12", "week_12")])
def test_visit_spellings_of_the_issue(text, code):
    assert parse_visit(text).code == code


def test_weeks_and_days_have_inferred_phases_and_no_test_infusion():
    assert parse_visit("week_0").phase == "baseline"
    assert parse_visit("week_12").phase == "post_implant" and parse_visit("week_12").inferred


@pytest.mark.parametrize("name, target", [
    ("Pat-ID", "patient_id"), ("Patient", "patient_id"), ("Pat.-Nr.", "patient_id"),
    ("Code patient", "patient_id"), ("Patiëntnummer", "patient_id"), ("Alter", "age"),
    ("Geschlecht", "sex"), ("sexe", "sex"), ("Gehgeschwindigkeit [m/s] bl", "gait_speed_baseline"),
    ("6MWT (m) 6m", "six_mwt_post_m6"), ("6-Minuten-Gehtest 12M", "six_mwt_post_m12"),
    ("MAS Knie re bl", "mas_knee_ext_R_baseline"), ("Ashworth genou G 6 mois",
                                                    "mas_knee_ext_L_post_m6"),
    ("gait_speed_6m", "gait_speed_post_m6"), ("tug_3_monate", "tug_post_m3"),
    ("SPRS_bl", "sprs_total_baseline"), ("6MWT_m6", "six_mwt_post_m6"),
    ("Tag 6 Monate", "day_post_m6"), ("Dosis (µg/Tag) 6 Mo", "dose_ug_day_post_m6")])
def test_names_of_the_issue(name, target):
    assert recognise(name, CB).target == target


def test_an_unknown_column_gets_a_did_you_mean_from_labels_and_aliases():
    assert recognise("Gehgeschwindikeit_bl", CB).hint == "gait_speed"
    assert suggest_name("timed up an go", CB) == "tug"
    assert recognise("xyz", CB).hint is None


def test_ten_metre_walk_is_not_taken_for_a_speed():
    assert recognise("10MWT_bl", CB).kind == "unknown"   # often a time in seconds


def test_header_found_below_titles_and_group_header_combined():
    rows = [(1, ["ITB Studie", "", "", ""]), (2, ["", "TUG (s)", "", ""]),
            (3, ["Pat-ID", "bl", "6 Mo", "Bemerkung"]), (4, ["P1", "14", "11", "ok"])]
    c = choose_header(rows)
    assert (c.index, c.group) == (2, 1)
    assert "row 3 taken as the header" in c.reason and "row 2 is a group header" in c.reason


def test_a_data_row_with_measure_names_is_not_taken_for_the_header():
    rows = [(1, ["pid_x", "visit_x", "what", "v"]), (2, ["P01", "baseline", "tug", "12"])]
    assert choose_header(rows).index == 0


def test_a_data_row_without_numbers_below_an_unknown_header_is_not_the_header():
    rows = [(1, ["pid", "when", "what", "result"]), (2, ["P01", "baseline", "mas_knee_ext", "1+"])]
    assert choose_header(rows).index == 0


def test_legend_sheets_are_not_data():
    assert choose_sheet([("Legende", 400), ("Daten", 40)]) == "Daten"
    assert choose_sheet([("Codes", 10), ("observations", 1)]) == "observations"
