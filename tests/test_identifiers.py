"""Identifier screening measured on a crafted set: recall on identifiers, false alarms on
harmless columns and values (the numbers stated in analysis/data/identifiers.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.data.identifiers import find_identifiers, identifier_kind, patient_id_kind

# ---- identifiers: column names in several languages (values harmless)
ID_COLUMNS = [
    # names
    "name", "Name", "Patient name", "patient_name", "PatientName", "first_name", "FirstName",
    "last name", "LastName", "surname", "Surname", "full_name", "given_name", "family_name",
    "maiden_name", "initials", "naam", "Naam patiënt", "voornaam", "achternaam", "Vorname",
    "Nachname", "Patientenname", "nom", "Nom", "prénom", "prenom", "nombre", "apellido",
    "cognome", "nome", "efternamn", "fornavn", "nazwisko", "nom_de_famille",
    "Name des Patienten",
    # birth
    "DOB", "dob", "date_of_birth", "Date of birth", "DateOfBirth", "birth_date", "birthdate",
    "Birthday", "Geburtsdatum", "geboortedatum", "date_naissance", "fecha_de_nacimiento",
    "data_di_nascita", "Geb. Datum", "year_of_birth", "place_of_birth", "born", "Geburtsort",
    # record and national numbers
    "MRN", "mrn", "BSN", "SSN", "NHS number", "nhs_no", "hospital_number",
    "medical_record_number", "record_number", "Patientnummer", "zisnummer",
    "Versichertennummer", "insurance_number", "national_id", "personnummer", "CHI",
    "passport", "codice_fiscale", "social_security_number", "DNI", "PESEL",
    # address
    "address", "Adresse", "adres", "street", "Straße", "postcode", "zip_code", "postal_code",
    "Postleitzahl", "house_number", "woonplaats", "HomeAddress",
    # phone and e-mail
    "phone", "telephone", "tel", "Telefon", "telefoonnummer", "mobile", "GSM", "cell_phone",
    "phone_number", "fax", "email", "E-mail", "e_mail", "mail", "EmailAddress", "courriel",
    # calendar dates
    "date", "visit_date", "Datum", "fecha", "test date", "timestamp", "admission_date",
    "date_of_death",
]
# ---- identifiers in free text (a 'remarks' column)
ID_TEXT = [
    "contact: jan.jansen@example.org", "mail sent to p.devries@umcg.nl", "tel 06-12345678",
    "+31 6 1234 5678", "0612345678", "call (555) 123-4567", "555-123-4567", "+49 30 12345678",
    "0044 20 7946 0958", "seen on 12-03-2015", "2015-03-12", "visit 3/12/2015",
    "12 March 2015", "March 12, 2015", "12. März 2015", "le 3 janvier 2016",
    "born 14.07.1962", "MRN 1234567", "mrn: 00123456", "BSN 123456789", "123-45-6789",
    "NHS 943 476 5919", "ID AB1234567", "patient nr 5551234", "pnr 650312-1234",
    "NIR 1 65 03 75 123 456 78", "Mrs Jansen called", "Dr. Müller agreed", "Frau Schmidt fell",
    "mevrouw de Vries belde", "Anna Jansen fell", "Pieter van Dijk walked", "mother: Maria",
    "naam: Jansen", "Mr J. Smith", "spoke with Sophie Martin", "Dhr. Bakker", "Mme Dubois",
]
# ---- identifiers as patient ids
ID_PATIENTS = ["Jansen", "Maria", "JD", "A.B.", "de Vries", "Anna Jansen", "1234567",
               "MRN1234567", "AB1234567", "12345678", "jan@example.org", "1965-03-12",
               "12-03-1965", "Müller"]

# ---- harmless
SAFE_COLUMNS = [
    "site_name", "drug_name", "cell_count", "stubborn", "measure_name", "event_name",
    "visit_name", "test_name", "pump_name", "scale_name", "instrument_name", "muscle_name",
    "gene_name", "birth_weight", "center", "pump_model", "dose_ug_day", "day", "tug_m6",
    "gait_speed_baseline", "mas_knee_ext_L_m6", "remarks", "opmerking", "bemerkung",
    "comments", "notes", "genotype", "age", "sex", "disease_duration", "catheter_tip_level",
    "updated", "mobility_aid", "telemetry", "nominal_dose", "addressed_goal", "tug_dt",
    "candidate", "validated", "mandate_ok", "sitename", "drugname",
]
SAFE_TEXT = [
    "Modified Ashworth 1+", "walks with Rollator", "Test Infusion went well", "dose 100 ug/day",
    "fell twice, no injury", "TUG 12.5 s", "10MWT 0.8 m/s", "pump refill 20 ml",
    "catheter at T10", "Baclofen 50 ug", "score 3/5", "ratio 1:2", "Lioresal Intrathecal",
    "Medtronic SynchroMed II", "Patient Global Impression", "Penn Spasm Frequency",
    "ITB 2x daily", "SPRS 15 of 52", "Berg Balance Scale", "Ashworth 1+ -> 1", "v2.1.0",
    "MS Patient", "HR Monitor used", "Max Walking speed",
]
SAFE_PATIENTS = ["P01", "HSP-003", "ITB12", "7", "A", "case1", "pt-04", "S001", "X", "P 12"]


def _column_flagged(name: str) -> bool:
    table = pd.DataFrame({"patient_id": ["P01", "P02"], name: ["1", "2"]})
    return any(p.column == name for p in find_identifiers(table, file="t.csv"))


def _text_flagged(text: str) -> bool:
    table = pd.DataFrame({"patient_id": ["P01"], "remarks": [text]})
    return bool(find_identifiers(table, file="t.csv"))


def _patient_flagged(pid: str) -> bool:
    table = pd.DataFrame({"patient_id": [pid], "value": ["1"]})
    return bool(find_identifiers(table, file="t.csv"))


def test_crafted_set_sizes():
    assert len(ID_COLUMNS) + len(ID_TEXT) + len(ID_PATIENTS) >= 100
    assert len(SAFE_COLUMNS) + len(SAFE_TEXT) + len(SAFE_PATIENTS) >= 50


def test_recall_and_false_alarm_rate():
    missed = ([c for c in ID_COLUMNS if not _column_flagged(c)]
              + [t for t in ID_TEXT if not _text_flagged(t)]
              + [p for p in ID_PATIENTS if not _patient_flagged(p)])
    alarms = ([c for c in SAFE_COLUMNS if _column_flagged(c)]
              + [t for t in SAFE_TEXT if _text_flagged(t)]
              + [p for p in SAFE_PATIENTS if _patient_flagged(p)])
    n_id = len(ID_COLUMNS) + len(ID_TEXT) + len(ID_PATIENTS)
    n_safe = len(SAFE_COLUMNS) + len(SAFE_TEXT) + len(SAFE_PATIENTS)
    recall, false_alarm = 1 - len(missed) / n_id, len(alarms) / n_safe
    print(f"recall {n_id - len(missed)}/{n_id}, false alarms {len(alarms)}/{n_safe}")
    # the numbers stated in the docstring of analysis/data/identifiers.py and the README
    assert (missed, alarms) == ([], [])
    assert recall == 1.0 and false_alarm == 0.0


def test_messages_never_show_the_identifying_value():
    table = pd.DataFrame({"patient_id": ["P01", "Jansen"], "remarks": ["ok", "Mrs Jansen"],
                          "DOB": ["x", "y"]})
    problems = find_identifiers(table, file="t.csv")
    assert {p.column for p in problems} == {"patient_id", "remarks", "DOB"}
    for p in problems:
        assert p.value is None and "Jansen" not in str(p)
    first = {p.column: p.row for p in problems}
    assert first["patient_id"] == 3 and first["remarks"] == 3


@pytest.mark.parametrize("name, kind", [("Geburtsdatum", "a birth date"),
                                        ("Telefon", "a phone number"),
                                        ("naam", "a person's name"),
                                        ("visit_date", "a calendar date")])
def test_kind_is_named(name, kind):
    assert identifier_kind(name) == kind


def test_patient_id_kinds():
    assert patient_id_kind("P01") is None
    assert patient_id_kind("MRN1234567") == "a record number"
    assert patient_id_kind("Anna Jansen").startswith("a name")
