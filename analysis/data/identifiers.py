"""Refuse data that carry direct identifiers (names, record numbers, birth dates, contacts, dates).

The analysis needs pseudonymous codes (``P01``) and days relative to the test infusion, never
who a patient is or when they were seen. :func:`find_identifiers` refuses a table when

* a **column name** says it holds an identifier. Names are split into words (``_``, spaces,
  dots, hyphens, camelCase) and matched word by word, never as substrings, in English, Dutch,
  German, French, Spanish, Italian, Portuguese and the Nordic languages (``DOB``,
  ``Geburtsdatum``, ``naam``, ``nom``, ``apellido``, ``personnummer``, ...). ``name`` preceded
  by a thing (``site_name``, ``drug_name``, ``event_name``) is harmless; ``stubborn`` does not
  contain the word ``born`` and ``cell_count`` is not a phone;
* a **value** in any text column is an e-mail address, a phone number, a calendar date (ISO,
  European or US order, or with a month name), a national-id or record-number pattern (SSN,
  NHS, BSN-length digit runs, ``MRN 1234567``, letter prefix + 6 or more digits) or a person's
  name (a title such as ``Mr``/``Dr``/``Frau``/``Mevr`` before a capitalised word, a common
  first name before a capitalised surname, or ``name: X``);
* a **patient id** looks like a name (letters only, more than one letter, or words with a
  space), like a record number (six or more digits, letters + six or more digits) or like a
  date or e-mail address.

Messages name the column, the kind and the first row, never the identifying value.

Measured on the crafted set in ``tests/test_identifiers.py`` (163 identifiers: 111 column
names in 9 languages, 38 free-text values, 14 patient ids; 76 harmless items: 42 column names
such as ``site_name``, ``drug_name``, ``cell_count``, ``stubborn``, ``tug_dt``, 24 free-text
values such as ``Modified Ashworth 1+`` or ``MS Patient``, 10 pseudonymous ids): recall
163/163 = 100 %, false alarms 0/76 = 0 %. The rules were written with this set in view, so
these are upper bounds, not estimates for unseen data: free text can hide a name the screen
does not know (a surname alone, a first name outside its list of about 250). Pseudonymise
before the data reach the analysis; the screen is a safety net, not de-identification.
"""

from __future__ import annotations

import re

import pandas as pd

from analysis.data.missing import is_missing
from analysis.errors import Problem

PSEUDONYMISE = (
    "Pseudonymise before analysis: replace each patient by a code (P01, P02, ...), keep the "
    "key that links codes to people outside the project folder, and delete this column"
)
RELATIVE_DAYS = (
    "Replace calendar dates by days relative to the start of the test infusion (column "
    "'day', negative before it) and delete this column"
)
FREE_TEXT = ("Remove names, contact details, record numbers and dates from free-text cells "
             "(or delete the column) before analysis")

NAME, BIRTH, RECORD, ADDRESS, PHONE, EMAIL, DATE = (
    "a person's name", "a birth date", "a record or national identification number",
    "an address", "a phone number", "an e-mail address", "a calendar date")

# single words (after splitting the column name into words)
_WORDS: dict[str, set[str]] = {
    NAME: {"name", "names", "surname", "surnames", "firstname", "lastname", "fullname",
           "forename", "forenames", "givenname", "familyname", "maidenname", "initials",
           "patientname", "naam", "voornaam", "achternaam", "familienaam", "roepnaam",
           "meisjesnaam", "vorname", "nachname", "familienname", "patientenname", "nom",
           "prenom", "prénom", "nombre", "apellido", "apellidos", "cognome", "nome",
           "sobrenome", "efternamn", "fornavn", "etternavn", "navn", "fornamn", "imie",
           "nazwisko", "voorletters", "naamgegevens"},
    BIRTH: {"dob", "birthdate", "birthday", "birthdt", "geboortedatum", "geburtsdatum",
            "gebdat", "gebdatum", "geburtstag", "naissance", "nacimiento", "nascita",
            "nascimento", "fodelsedatum", "fødselsdato", "geboren", "born", "geburtsort", "geboorteplaats"},
    RECORD: {"mrn", "bsn", "ssn", "nhs", "nhsno", "nhsnumber", "medicare", "medicaid",
             "burgerservicenummer", "patientnummer", "patientnumber", "ziekenhuisnummer",
             "zisnummer", "zis", "umcnummer", "versichertennummer", "krankenversichertennummer",
             "svnr", "ahv", "nir", "insee", "dni", "nie", "nif", "nss", "cpf", "cpr",
             "personnummer", "fødselsnummer", "henkilotunnus", "hetu", "pesel", "passport",
             "reisepass", "paspoort", "mrnumber", "codicefiscale", "steuernummer", "ehrid",
             "emrid", "umrn", "ihi", "nhi", "ahvn", "ahvnr"},
    ADDRESS: {"address", "addresses", "adres", "adresse", "anschrift", "direccion",
              "dirección", "indirizzo", "endereco", "street", "straat", "strasse", "straße",
              "calle", "postcode", "postalcode", "postleitzahl", "plz", "zip",
              "zipcode", "huisnummer", "hausnummer", "woonplaats", "wohnort", "domicile",
              "domicilio"},
    PHONE: {"phone", "phones", "telephone", "tel", "telno", "mobile", "mobiel", "telefoon",
            "telefoonnummer", "telefon", "telefonnummer", "telefonnr", "telnr", "telefono", "teléfono", "gsm",
            "cellphone", "fax", "phonenumber", "celular", "cellulare",
            "movil", "móvil"},
    EMAIL: {"email", "emails", "mail", "emailaddress", "courriel", "correo", "mailadres"},
    DATE: {"date", "dates", "datum", "fecha", "timestamp", "datetime",
           "admissiondate", "dod", "visitdate", "datetest", "testdatum", "onderzoeksdatum",
           "untersuchungsdatum", "opnamedatum"},
}
# word sequences (joined by "_")
_PHRASES: dict[str, tuple[str, ...]] = {
    NAME: ("first_name", "last_name", "given_name", "family_name", "full_name", "maiden_name",
           "middle_name", "patient_name", "nom_de_famille", "nom_patient", "nom_du_patient",
           "nombre_paciente", "nome_paziente", "name_des_patienten"),
    BIRTH: ("date_of_birth", "birth_date", "birth_day", "birth_place", "place_of_birth",
            "year_of_birth", "birth_year", "date_naissance", "date_de_naissance",
            "fecha_de_nacimiento", "fecha_nacimiento", "data_di_nascita", "data_nascita",
            "geb_datum", "dat_naiss"),
    RECORD: ("medical_record", "record_number", "record_no", "hospital_number", "hospital_no",
             "hospital_id", "patient_number", "social_security", "insurance_number",
             "insurance_no", "national_id", "id_number", "id_no", "chi_number", "chi_no",
             "nhs_no", "nhs_number", "mr_number", "case_number", "chart_number", "numero_patient",
             "numero_secu", "numéro_de_sécurité", "codice_fiscale", "tessera_sanitaria",
             "ahv_nr", "sv_nummer", "national_insurance", "health_card", "cedula"),
    ADDRESS: ("postal_code", "zip_code", "house_number", "street_address", "home_address",
              "code_postal", "codigo_postal"),
    PHONE: ("cell_phone", "phone_number", "mobile_number", "contact_number", "tel_nr",
            "tel_no"),
    EMAIL: ("e_mail", "mail_address", "e_mail_address"),
    DATE: ("visit_date", "test_date", "date_of_visit", "date_of_test", "admission_date",
           "discharge_date", "date_of_death", "implant_date", "surgery_date", "op_datum"),
}
# "name" after these words is not a person's name
_THING_NAMES = {
    "site", "drug", "measure", "event", "visit", "test", "unit", "center", "centre", "study",
    "scale", "form", "instrument", "muscle", "file", "sheet", "variable", "field", "group",
    "arm", "phase", "device", "pump", "product", "brand", "medication", "med", "trial",
    "protocol", "item", "column", "hospital", "clinic", "ward", "department", "sponsor",
    "country", "catheter", "score", "outcome", "task", "condition", "diagnosis", "gene",
    "genotype", "mutation", "lab", "sample", "batch", "model", "software", "version",
    "project", "redcap", "repeat", "questionnaire", "domain", "subscale", "region", "joint",
    "side", "session", "dataset", "package", "method", "analysis", "institution", "city",
    "town", "code", "display", "short", "long", "friendly", "label", "category"}
_SAFE = {"redcap_event_name", "redcap_repeat_instrument", "measure_name", "event_name",
         "visit_name", "measure", "phase", "visit", "unit", "side", "value", "patient_id",
         "record_id", "day", "dose_ug_day", "dose_mg_day"}
# "birth" followed by these words is not a birth date
_BIRTH_OK = {"weight", "order", "length", "control", "rank", "defect", "defects"}
_STEMS: dict[str, tuple[str, ...]] = {  # compound words: the token ends with these
    NAME: ("surname", "firstname", "lastname", "familyname", "achternaam", "voornaam",
           "nachname", "vorname", "patientname"),
    BIRTH: ("dateofbirth", "birthdate", "geburtsdat", "geboortedat", "geburtstag"),
    PHONE: ("telephone", "telefon", "phonenumber"),
    EMAIL: ("email",),
    ADDRESS: ("address", "adresse", "postcode", "zipcode"),
    RECORD: ("patientnummer", "patientnumber", "versicherungsnummer", "versichertennummer"),
}

_MONTHS = (r"jan(uary|uari|uar|vier)?|feb(ruary|ruari|ruar|rier)?|f[ée]v(rier)?|mar(ch|s)?|"
           r"m[äa]rz|maart|apr(il)?|avr(il)?|may|mai|mei|jun(e|i)?|juin|jul(y|i)?|juil(let)?|"
           r"aug(ust|ustus)?|ao[uû]t|sep(t|tember|tembre)?|o[ck]t(ober|obre)?|nov(ember|embre)?|"
           r"de[cz](ember|embre)?|d[ée]c(embre)?|enero|febrero|marzo|abril|mayo|junio|julio|"
           r"agosto|septiembre|octubre|noviembre|diciembre")
_DATE_VALUE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})"  # 2015-03-12, 12-03-2015
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*$"
)
_FREE_DATE = re.compile(
    r"(?<![\d.])((19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](19|20)?\d{2})"
    r"(?![\d.]*\d)|\b\d{1,2}(st|nd|rd|th)?\.?\s+(" + _MONTHS + r")\.?,?\s+(19|20)\d{2}\b|"
    r"\b(" + _MONTHS + r")\.?\s+\d{1,2}(st|nd|rd|th)?,?\s+(19|20)\d{2}\b", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(
    r"(?<![\w.,])(\+|00)\d{1,3}[\s./-]?(\(0\)\s?)?\d{1,4}([\s./-]?\d{2,4}){2,4}(?![\w.,])|"  # +31 6 1234 5678
    r"(?<![\w.,])\(?0\d{1,4}\)?[\s./-]\d{2,4}([\s./-]?\d{2,4}){1,3}(?![\w.,])|"              # 020-1234567
    r"(?<![\w.,])\(\d{3}\)\s?\d{3}[\s.-]\d{4}(?![\w.,])|"                                    # (555) 123-4567
    r"(?<![\w.,])\d{3}[.-]\d{3}[.-]\d{4}(?![\w.,])|"                                         # 555-123-4567
    r"(?<![\w.,])0\d{9,10}(?![\w.,])")                                                       # 0612345678
_RECORD = re.compile(
    r"(?<![\w.,])\d{3}-\d{2}-\d{4}(?![\w.,])|"                      # US SSN
    r"(?<![\w.,])\d{3}\s\d{3}\s\d{4}(?![\w.,])|"                    # NHS number
    r"\b(mrn|mr|nhs|bsn|ssn|chi|zis|pid|id|nr|no|nummer|number)\.?\s*[:#]?\s*\d{5,}\b|"  # MRN 1234567
    r"(?<![\w.,])[A-Za-z]{1,3}-?\d{6,}(?![\w.,])|"                  # AB1234567
    r"(?<![\w.,-])\d{7,}(?![\w.,])|"                                # a 7+ digit number
    r"(?<![\w.,])\d{6}[-+]\d{4}(?![\w.,])|"                         # Nordic personal number
    r"(?<![\w.,])[12]\s?\d{2}\s?\d{2}\s?\d{2}\s?\d{3}\s?\d{3}(\s?\d{2})?(?![\w.,])",  # French NIR
    re.IGNORECASE)
_FIRST_NAMES = {
    "anna", "anne", "maria", "marie", "mary", "john", "jan", "johannes", "peter", "piet",
    "pieter", "paul", "hans", "klaus", "karl", "michael", "thomas", "david", "daniel", "james",
    "robert", "william", "richard", "joseph", "charles", "christopher", "george",
    "stefan", "andreas", "wolfgang", "jürgen", "juergen", "sabine", "petra", "monika",
    "ursula", "elisabeth", "elizabeth", "sarah", "sara", "emma", "sophie", "sophia", "julia",
    "laura", "lisa", "linda", "susan", "karen", "nancy", "helen", "margaret", "patricia",
    "jennifer", "barbara", "jessica", "ingrid", "inge", "els", "ellen", "eva", "marco", "luca",
    "giuseppe", "giovanni", "francesco", "antonio", "alessandro", "jose", "josé", "juan",
    "carlos", "luis", "manuel", "francisco", "pedro", "jean", "pierre", "michel", "philippe",
    "alain", "nicolas", "françois", "francois", "claire", "isabelle", "nathalie", "catherine",
    "sandrine", "lars", "erik", "anders", "nils", "olaf", "henrik", "mette", "kirsten",
    "jens", "ahmed", "mohamed", "mohammed", "ali", "fatima", "wim", "kees", "henk", "gerrit",
    "bart", "joost", "sander", "thijs", "bram", "ruben", "sanne", "femke", "lotte", "fleur",
    "anouk", "lieke", "marloes", "maarten", "jeroen", "martijn", "niels", "tom", "tim",
    "jacob", "jakob", "lukas", "felix", "moritz", "leon", "noah", "liam", "oliver",
    "harry", "jack", "charlie", "emily", "olivia", "amelia", "isla", "ava", "mia", "grace",
    "kevin", "brian", "steven", "edward", "ronald", "anthony", "matthew", "andrew", "joshua",
    "kenneth", "donna", "carol", "ruth", "sharon", "michelle", "dorothy", "betty", "helga",
    "gisela", "renate", "heike", "birgit", "jutta", "dirk", "uwe", "jörg", "joerg",
    "bernd", "rolf", "gerhard", "heinz", "walter", "willem", "hendrik", "cornelis", "gert",
    "johan", "marc", "luc", "koen", "dries", "tine", "griet", "hilde", "rita", "rosa",
    "carmen", "lucia", "dolores", "pilar", "elena", "paola", "giulia", "chiara", "francesca",
    "sofia", "astrid", "karin", "birgitta", "annika", "sven", "olle", "bjorn", "björn"}
_NAME_PAIR = re.compile(r"\b([A-ZÀ-Þ][a-zß-ÿ]+)\s+((van|de|der|den|von|le|la|di|da|du|del|ter|"
                        r"ten|van der|van den|von der)\s+)?([A-ZÀ-Þ][a-zß-ÿ'-]{2,})")
_TITLED = re.compile(r"\b(Mr|Mrs|Ms|Miss|Dr|Prof|Dhr|Mevr|Mw|Herr|Frau|Hr|Mme|Mlle|Monsieur|"
                     r"Madame|Sr|Sra|Srta|Señor|Señora|Signor|Signora|[Mm]evrouw|[Mm]eneer|"
                     r"[Dd]e heer)\.?\s+([A-ZÀ-Þ]\.\s*)*((van|de|der|den|von|le|la|di|da|du|"
                     r"del|ter|ten)\s+)*[A-ZÀ-Þ][a-zß-ÿ'-]+")
_LABELLED_NAME = re.compile(r"\b(?i:name|naam|nom|vorname|nachname|mother|father|moeder|vader|"
                            r"mutter|vater|contact|husband|wife|son|daughter|echtgeno[ot]t?e?)"
                            r"\s*[:=]\s*[A-ZÀ-Þ][a-zß-ÿ]+")


def normalise_name(name: object) -> str:
    """Column name in lower case with runs of spaces, dots and hyphens replaced by ``_``.

    Examples
    --------
    >>> normalise_name(" Date of Birth ")
    'date_of_birth'
    """
    return re.sub(r"[\s.\-/]+", "_", str(name).strip().lower()).strip("_")


def _words(column: object) -> list[str]:
    text = re.sub(r"([a-zß-ÿ])([A-ZÀ-Þ])", r"\1_\2", str(column).strip())
    text = re.sub(r"([A-Za-z])(\d)|(\d)([A-Za-z])", lambda m: "_".join(g for g in m.groups()
                                                                      if g), text)
    return [w for w in re.split(r"[^0-9a-zß-ÿ]+", text.lower()) if w]


def identifier_kind(column: object) -> str | None:
    """What a column name suggests it identifies, or None (word by word, several languages).

    Examples
    --------
    >>> identifier_kind("Last name"), identifier_kind("DOB"), identifier_kind("tug_m6")
    ("a person's name", 'a birth date', None)
    >>> identifier_kind("Geburtsdatum"), identifier_kind("site_name"), identifier_kind("stubborn")
    ('a birth date', None, None)
    >>> identifier_kind("cell_count"), identifier_kind("PatientName"), identifier_kind("nom")
    (None, "a person's name", "a person's name")
    """
    if normalise_name(column) in _SAFE:
        return None
    words = _words(column)
    joined = "_".join(words)
    for what, phrases in _PHRASES.items():
        for ph in phrases:
            if re.search(r"(^|_)" + re.escape(ph) + r"(_|$)", joined):
                return what
    for i, w in enumerate(words):
        for what, vocab in _WORDS.items():
            if w not in vocab:
                continue
            if w in ("name", "names", "nom", "nome", "navn", "naam", "nombre") and i > 0 \
                    and words[i - 1] in _THING_NAMES:
                break
            if w in ("data",) and len(words) > 1:  # "data" alone is Italian/Portuguese "date"
                break
            if w == "born" and len(words) > 1:
                break
            return what
        if w == "birth" and not (i + 1 < len(words) and words[i + 1] in _BIRTH_OK):
            return BIRTH
        if w == "chi" and len(words) == 1:
            return RECORD
        for what, stems in _STEMS.items():
            if len(w) > 4 and any(w.endswith(s) for s in stems):
                return what
    return None


def _free_text_kind(text: str) -> str | None:
    """The kind of identifier a cell's text holds, or None (see the module docstring)."""
    if _EMAIL.search(text):
        return "e-mail addresses"
    if _DATE_VALUE.match(text) or _FREE_DATE.search(text):
        return "calendar dates"
    if _PHONE.search(text):
        return "phone numbers"
    if _RECORD.search(text):
        return "record or national identification numbers"
    if _TITLED.search(text) or _LABELLED_NAME.search(text):
        return "names of people"
    for m in _NAME_PAIR.finditer(text):
        if m.group(1).lower() in _FIRST_NAMES:
            return "names of people"
    return None


def _plain_number(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?\d{1,6}([.,]\d+)?([eE][-+]?\d+)?", text.strip()))


def patient_id_kind(pid: str) -> str | None:
    """Why a patient id looks like a direct identifier, or None for a pseudonymous code.

    Examples
    --------
    >>> [patient_id_kind(p) for p in ["P01", "HSP-003", "7", "A", "pt12"]]
    [None, None, None, None, None]
    >>> patient_id_kind("Jansen"), patient_id_kind("JD"), patient_id_kind("1234567")
    ('a name or initials', 'a name or initials', 'a record number')
    """
    s = str(pid).strip()
    if is_missing(s):  # a missing spelling: refused by the row rules with its own message
        return None
    if _EMAIL.search(s):
        return "an e-mail address"
    if _DATE_VALUE.match(s) or _FREE_DATE.search(s):
        return "a date"
    letters_only = re.fullmatch(r"[A-Za-zÀ-ÿ'.\- ]+", s)
    if letters_only and len(re.sub(r"[^A-Za-zÀ-ÿ]", "", s)) > 1:
        return "a name or initials"
    if re.search(r"[A-Za-zÀ-ÿ]{2,}\s+[A-Za-zÀ-ÿ]{2,}", s):
        return "a name"
    digits = re.sub(r"\D", "", s)
    if re.fullmatch(r"[A-Za-z]{0,3}[-\s]?\d{6,}", s) or len(digits) >= 8 or _RECORD.fullmatch(s):
        return "a record number"
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
    >>> t = pd.DataFrame({"patient_id": ["P01"], "name": ["x"], "seen": ["2015-03-12"],
    ...                   "remarks": ["called Mrs Jansen"]})
    >>> [(p.column, p.row) for p in find_identifiers(t, file="obs.csv")]
    [('name', None), ('seen', 2), ('remarks', 2)]
    """
    if rows is None:
        rows = pd.Series(range(2, len(table) + 2), index=table.index)
    problems: list[Problem] = []
    for col in table.columns:
        if str(col).startswith("_"):
            continue
        what = identifier_kind(col)
        if what is not None:
            fix = RELATIVE_DAYS if what in (DATE,) else PSEUDONYMISE
            problems.append(Problem(
                file=file, row=None, column=str(col), value=None,
                rule=f"column '{col}' looks like a direct identifier ({what}); its values are "
                     "not shown and the data are refused", fix=fix))
            continue
        values = table[col]
        if pd.api.types.is_datetime64_any_dtype(values):
            hit = values.notna()
            kinds = {"calendar dates"}
        else:
            text = values.astype("string").fillna("")
            distinct = [v for v in text.unique() if v.strip()]
            is_pid = normalise_name(col) in ("patient_id", "record_id")
            found = {}
            for v in distinct:
                if is_pid:
                    kind = patient_id_kind(v)
                    kind = None if kind is None else f"patient ids that look like {kind}"
                elif _plain_number(v):
                    continue
                else:
                    kind = _free_text_kind(v)
                if kind is not None:
                    found[v] = kind
            hit = text.isin(list(found))
            kinds = set(found.values())
        if hit.any():
            first = int(rows[hit].iloc[0])
            kind = " and ".join(sorted(kinds))
            if kind.startswith("patient ids"):
                rule = (f"{kind} (first at row {first}); the values are not shown and the data "
                        "are refused")
                fix = PSEUDONYMISE.replace("and delete this column", "and use the codes here")
            else:
                rule = (f"column '{col}' holds {kind} (first at row {first}), which identify "
                        "patients; the values are not shown and the data are refused")
                fix = RELATIVE_DAYS if kinds == {"calendar dates"} else (
                    FREE_TEXT if len(kinds) > 0 and str(col) not in ("value",) else PSEUDONYMISE)
            problems.append(Problem(file=file, row=first, column=str(col), value=None,
                                    rule=rule, fix=fix))
    return problems
