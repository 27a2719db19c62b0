"""Refuse data that carries direct identifiers (names, record numbers, birth dates, dates).

The analysis needs pseudonymous codes (``P01``) and days relative to the test infusion,
never who a patient is or when they were seen. :func:`find_identifiers` looks at column
names and at the values (calendar dates, e-mail addresses); its messages name the column and
the first row but never print the identifying values themselves.
"""

from __future__ import annotations

import re

import pandas as pd

from analysis.errors import Problem

PSEUDONYMISE = (
    "Pseudonymise before analysis: replace each patient by a code (P01, P02, ...), keep the "
    "key that links codes to people outside the project folder, and delete this column"
)
RELATIVE_DAYS = (
    "Replace calendar dates by days relative to the start of the test infusion (column "
    "'day', negative before it) and delete this column"
)

# (what, regex on the normalised column name: lower case, words joined by "_")
_NAME_RULES: list[tuple[str, str]] = [
    ("a person's name", r"(^|_)(first|last|given|family|full|patient|sur|maiden|middle)?_?name(s)?(_|$)"
                        r"|(^|_)(surname|initials|naam|voornaam|achternaam|vorname|nachname|nom|prenom)(_|$)"),
    ("a birth date", r"(^|_)(dob|birth|birthdate|birthday|date_of_birth|geboortedatum|"
                     r"geburtsdatum|gebdat)(_|$)|born"),
    ("a record or national identification number",
     r"(^|_)(mrn|bsn|ssn|nhs|nhs_no|nhs_number|chi|medical_record|record_number|"
     r"hospital_number|hospital_id|burgerservicenummer|patientnummer|patient_number|"
     r"zis|zisnummer|social_security|insurance_number|passport)(_|$)"),
    ("an address", r"(^|_)(address|adres|adresse|street|straat|postcode|postal_code|"
                   r"zip|zipcode|zip_code|house_number|huisnummer)(_|$)"),
    ("a phone number", r"(^|_)(phone|telephone|tel|mobile|telefoon|telefon|gsm|cell)(_|$)"),
    ("an e-mail address", r"(^|_)(e_?mail|mail)(_|$)"),
    ("a calendar date", r"(^|_)(date|datum|dt|visit_date|timestamp)(_|$)"),
]

_DATE_VALUE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})"  # 2015-03-12, 12-03-2015
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*$"
)
_EMAIL_VALUE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
# columns produced by export tools that contain "name" but are not identifiers
_SAFE = {"redcap_event_name", "redcap_repeat_instrument", "measure_name", "event_name",
         "visit_name", "measure", "phase", "visit", "unit", "side", "value"}


def normalise_name(name: object) -> str:
    """Column name in lower case with runs of spaces, dots and hyphens replaced by ``_``.

    Examples
    --------
    >>> normalise_name(" Date of Birth ")
    'date_of_birth'
    """
    return re.sub(r"[\s.\-/]+", "_", str(name).strip().lower()).strip("_")


def identifier_kind(column: object) -> str | None:
    """What a column name suggests it identifies, or None.

    Examples
    --------
    >>> identifier_kind("Last name"), identifier_kind("DOB"), identifier_kind("tug_m6")
    ("a person's name", 'a birth date', None)
    """
    norm = normalise_name(column)
    if norm in _SAFE:
        return None
    for what, pattern in _NAME_RULES:
        if re.search(pattern, norm):
            return what
    return None


def find_identifiers(table: pd.DataFrame, *, file: str,
                     rows: pd.Series | None = None) -> list[Problem]:
    """Problems (severity ``"error"``) for every column that looks like a direct identifier.

    Parameters
    ----------
    table : pandas.DataFrame
        The table as read (before any conversion), values as text or numbers.
    file : str
        File name for the messages.
    rows : pandas.Series, optional
        Spreadsheet row number of each row (default: index + 2, header = row 1).

    Returns
    -------
    list of Problem
        One per column; ``value`` is always None so identifying values are never printed.

    Examples
    --------
    >>> t = pd.DataFrame({"patient_id": ["P01"], "name": ["x"], "seen": ["2015-03-12"]})
    >>> [p.column for p in find_identifiers(t, file="obs.csv")]
    ['name', 'seen']
    """
    if rows is None:
        rows = pd.Series(range(2, len(table) + 2), index=table.index)
    problems: list[Problem] = []
    for col in table.columns:
        if str(col).startswith("_"):
            continue
        what = identifier_kind(col)
        if what is not None:
            fix = RELATIVE_DAYS if what in ("a calendar date",) else PSEUDONYMISE
            problems.append(Problem(
                file=file, row=None, column=str(col), value=None,
                rule=f"column '{col}' looks like a direct identifier ({what}); its values are "
                     "not shown and the data are refused", fix=fix))
            continue
        values = table[col]
        if pd.api.types.is_datetime64_any_dtype(values):
            hit = values.notna()
            kind = "calendar dates"
        else:
            text = values.astype("string").fillna("")
            # each distinct value is matched once (columns repeat their values many times)
            distinct = pd.Series(text.unique(), dtype="string")
            dates = text.isin(distinct[distinct.str.match(_DATE_VALUE).astype(bool)])
            emails = text.isin(distinct[distinct.str.match(_EMAIL_VALUE).astype(bool)])
            hit = dates | emails
            kind = "calendar dates" if dates.any() else "e-mail addresses"
        if hit.any():
            first = int(rows[hit].iloc[0])
            problems.append(Problem(
                file=file, row=first, column=str(col), value=None,
                rule=f"column '{col}' holds {kind} (first at row {first}), which identify "
                     "patients; the values are not shown and the data are refused",
                fix=RELATIVE_DAYS if kind == "calendar dates" else PSEUDONYMISE))
    return problems
