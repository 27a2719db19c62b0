"""Read observation files of any common format into the raw tidy shape, losing no row silently.

:func:`read_observations` picks the reader by extension (and by content for unknown
extensions): delimited text (:mod:`analysis.data.text_files`: CSV/TSV/``;`` with decimal commas;
UTF-8, UTF-16 with or without BOM, cp1252/Latin-1, mixed lines), Excel ``.xlsx``, SPSS ``.sav``,
Stata ``.dta`` and Parquet (:mod:`analysis.data.binary_files`). Wide spreadsheets and REDCap
exports are turned into the tidy layout by :mod:`analysis.data.wide` (a REDCap data dictionary,
when given, maps coded choices to their labels: :mod:`analysis.data.redcap`). Every value is
returned as text, exactly as written, so that :mod:`analysis.data.validate` can judge it
(``"1+"``, ``"n/a"``, ``"12,5"``, ``">30"``) and report it.

Two bookkeeping columns are added: ``_row`` (the 1-based row number as a spreadsheet shows it,
header = row 1 unless title rows sit above it; for SPSS/Stata/Parquet, case number + 1) and
``_source_column`` (the column the value came from). ``frame.attrs`` holds ``decimal`` (","
when the whole file writes decimals with a comma), ``encoding``, ``layout`` (tidy, wide or
redcap), ``format`` and ``rows_read`` (data rows below the header, kept or refused), so that
the validation report can say how many rows were read and how many kept.

Files are opened read-only and never modified. A path that is missing, a directory, a symbolic
link loop or unreadable is a problem naming the path, never an exception.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd

from analysis.data.binary_files import read_excel, read_parquet, read_spss, read_stata
from analysis.data.codebook import Codebook
from analysis.data.identifiers import find_identifiers, normalise_name
from analysis.data.input_limits import check_size
from analysis.data.mapping import Mapping
from analysis.data.mapping import finish as finish_mapping
from analysis.data.mapping_file import resolve as resolve_mapping
from analysis.data.text_files import decode, read_text
from analysis.errors import DataValidationError, MappingError, Problem
from analysis.limits import LimitError

__all__ = ["REQUIRED_COLUMNS", "TIDY_COLUMNS", "check_file", "decode", "read_observations"]

#: Columns of the tidy layout (data contracts), in order.
TIDY_COLUMNS = ["patient_id", "visit", "measure", "value", "phase", "day", "dose_ug_day",
                "side", "unit"]
REQUIRED_COLUMNS = ["patient_id", "visit", "measure", "value"]
_EXCEL = {".xlsx", ".xlsm"}
_TEXT = {".csv", ".tsv", ".txt", ".tab", ".dat"}


def check_file(path: str | Path) -> str | None:
    """Why ``path`` cannot be read as a data file (one sentence), or None when it can.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "loop").symlink_to(d / "loop")
    >>> check_file(d / "loop")
    'the path is a symbolic link that points to itself (a link loop)'
    >>> check_file(d / "nope.csv")
    'file does not exist'
    """
    path = Path(path)
    try:
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "the path is a symbolic link that points to itself (a link loop)"
        if exc.errno == errno.ENOENT:
            if path.is_symlink():
                return "the path is a symbolic link to a file that does not exist"
            return "file does not exist"
        if exc.errno == errno.EACCES:
            return "permission denied: the file cannot be read"
        return f"the file cannot be opened ({exc.strerror or exc})"
    if path.is_dir():
        return "the path is a directory, not a data file"
    if not path.is_file():
        return "the path is not a regular file (a device or pipe?)"
    if not os.access(path, os.R_OK):
        return "permission denied: the file cannot be read"
    try:
        check_size(path)
    except LimitError as exc:
        return _rule(exc, path.name)
    return None


def _rule(exc: LimitError, file: str) -> str:
    """A limit's refusal without the file name that starts it (a Problem names the file)."""
    return str(exc).removeprefix(f"{file}: ")


def read_observations(path: str | Path, *, codebook: Codebook,
                      redcap_dictionary: str | Path | None = None,
                      mapping: str | Path | Mapping | None = None, mapping_found: bool = False,
                      dictionary_found: bool = False) -> tuple[pd.DataFrame, list[Problem]]:
    """Read an observation file into the raw tidy layout (values as text).

    Parameters
    ----------
    path : str or Path
        A ``.csv``/``.tsv``/``.txt``, ``.xlsx``, ``.sav``, ``.dta`` or ``.parquet`` file in tidy,
        wide or REDCap layout.
    codebook : Codebook
        Used to recognise measures in wide and REDCap column names.
    redcap_dictionary : str or Path, optional
        The REDCap data dictionary (CSV) of a REDCap export with raw coded values.
    mapping : str, Path or Mapping, optional
        A column mapping (``mapping.yaml``, :mod:`analysis.data.mapping`) over the proposed one;
        ``mapping_found``: it was found beside the data (used only when it names this file).
        The mapping used is ``frame.attrs["mapping"]``, patient attributes of the sheet
        ``frame.attrs["patients"]``.
    dictionary_found : bool
        The dictionary was found beside the data (not warned when the file is not REDCap).

    Returns
    -------
    frame : pandas.DataFrame
        Text columns named as in the data contracts where recognised (other columns passed
        through), plus ``_row`` and ``_source_column``.
    problems : list of Problem
        Notes (encoding, renamed columns, wide columns not recognised), warnings (title rows,
        merged cells, mixed encodings) and errors (direct identifiers, malformed rows,
        unreadable files).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from analysis.data.codebook import load_codebook
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "obs.csv").write_text("patient_id;visit;measure;value\\nP01;baseline;tug;12,5\\n")
    >>> frame, problems = read_observations(d / "obs.csv", codebook=load_codebook())
    >>> frame.loc[0, "value"], frame.attrs["decimal"], int(frame.loc[0, "_row"])
    ('12,5', ',', 2)
    >>> frame.attrs["rows_read"]
    1
    """
    path = Path(path)
    file = path.name
    why = check_file(path)
    if why is not None:
        return _empty(), [Problem(file, None, None, None, why, fix=f"Check the path {path}")]
    problems: list[Problem] = []
    if redcap_dictionary is not None:
        why = check_file(redcap_dictionary)
        if why is not None:
            return _empty(), [Problem(Path(redcap_dictionary).name, None, None, None,
                                      f"REDCap data dictionary: {why}",
                                      fix=f"Check the path {redcap_dictionary}")]
    try:
        fmt = _format(path)
        table, attrs = _READERS[fmt](path, file, problems)
    except LimitError as exc:  # bounded work: refused before the parser (analysis.limits)
        return _empty(), problems + [Problem(file, None, None, None, _rule(exc, file),
                                             fix="Check the file, or raise the limit")]
    except MemoryError:
        return _empty(), [Problem(file, None, None, None, "the file is too large to read",
                                  fix="Split it or remove unused columns")]
    except Exception as exc:  # any reader failure becomes a problem naming the file
        what = " ".join(str(exc).split())[:200]
        return _empty(), problems + [Problem(
            file, None, None, None, f"the file could not be read as {_FORMAT_NAMES.get(fmt, fmt)}"
            f": {type(exc).__name__}: {what}", fix="Save it again as UTF-8 CSV or .xlsx")]
    has_error = any(p.severity == "error" for p in problems)
    if table is None or len(table) == 0 or len(table.columns) <= 1 and "_row" in table.columns:
        if not has_error:
            problems.append(Problem(file, None, None, None, "the file is empty (no data rows)",
                                    fix="Check that the right file (or sheet) was given"))
        out = _empty()
        out.attrs["rows_read"] = 0 if table is None else int(table.attrs.get("rows_read", 0))
        return out, problems
    rows_read = int(table.attrs.get("rows_read", len(table)))
    found = find_identifiers(table.drop(columns="_row"), file=file, rows=table["_row"])
    if found:  # refuse: nothing else is checked, so no message can echo an identifying value
        out = _empty()
        out.attrs["rows_read"] = rows_read
        return out, problems + found
    table = _canonical_names(table, file, problems)
    from analysis.data.wide import (  # avoid an import cycle
        detect_layout,
        from_redcap,
        from_wide,
    )

    labelled = False  # REDCap codes become labels under the export's own field names
    if detect_layout(table) == "redcap" and redcap_dictionary is not None:
        from analysis.data.redcap import apply_dictionary

        try:
            table = apply_dictionary(table, redcap_dictionary, file=file, problems=problems)
        except DataValidationError as exc:  # the dictionary itself is unusable
            return _empty(), problems + list(exc.problems)
        labelled = True
    try:
        table, used = resolve_mapping(table, codebook=codebook, file=file, mapping=mapping,
                                      problems=problems, found=mapping_found)
    except MappingError as exc:
        return _empty(), problems + [Problem(Path(str(mapping)).name, None, None, None, line,
                                             fix="Correct the mapping file")
                                     for line in exc.items]
    patients = table.attrs.get("patients")
    layout = detect_layout(table)
    if layout == "redcap":
        try:
            table = from_redcap(table, codebook=codebook, file=file, problems=problems,
                                dictionary=None if labelled else redcap_dictionary,
                                labelled=labelled)
        except DataValidationError as exc:  # the dictionary itself is unusable
            return _empty(), problems + list(exc.problems)
    elif layout == "wide":
        table = from_wide(table, codebook=codebook, file=file, problems=problems)
    elif redcap_dictionary is not None and not dictionary_found:
        problems.append(Problem(file, None, None, None, "a REDCap data dictionary was given but "
                                "the file is not a REDCap export (no redcap_event_name column); "
                                "the dictionary was not used", severity="warning"))
    if "_source_column" not in table.columns:
        table["_source_column"] = "value"
    table = finish_mapping(table.reset_index(drop=True), used, patients=patients,
                           problems=problems, file=file)
    table.attrs.update(attrs, layout=layout, format=fmt, rows_read=rows_read)
    return table, problems


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in REQUIRED_COLUMNS + ["_row"]})


def _format(path: Path) -> str:
    ext = path.suffix.lower()
    with path.open("rb") as fh:
        head = fh.read(8)
    if ext in _EXCEL or head.startswith(b"PK\x03\x04"):
        return "excel"
    if ext == ".xls" or head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if ext in (".sav", ".zsav"):
        return "spss"
    if ext == ".dta":
        return "stata"
    if ext in (".parquet", ".pq") or head.startswith(b"PAR1"):
        return "parquet"
    return "text"


def _read_xls(path: Path, file: str, problems: list[Problem]):
    raise ValueError("the old .xls format (or a password-protected workbook) is not supported")


_READERS = {"text": read_text, "excel": read_excel, "spss": read_spss,
            "stata": read_stata, "parquet": read_parquet, "xls": _read_xls}
_FORMAT_NAMES = {"text": "text (CSV)", "excel": "Excel (.xlsx)", "spss": "SPSS (.sav)",
                 "stata": "Stata (.dta)", "parquet": "Parquet", "xls": "Excel"}


# ------------------------------------------------------------------ column names

def _canonical_names(table: pd.DataFrame, file: str, problems: list[Problem]) -> pd.DataFrame:
    """Rename columns that differ from a contract name only in case or spacing (with a note);
    ``dose_mg_day`` becomes ``dose_ug_day`` (x1000, noted)."""
    known = set(TIDY_COLUMNS) | {"dose_mg_day"}
    rename = {}
    for col in table.columns:
        norm = normalise_name(col)
        if col != norm and norm in known:
            rename[col] = norm
            problems.append(Problem(file, None, col, None, f"column name '{col}' read as "
                                    f"'{norm}' (differs only in case or spacing)",
                                    severity="note", fix=f"Rename the column to '{norm}'"))
    table = table.rename(columns=rename)
    dup = table.columns[table.columns.duplicated()].unique().tolist()
    for col in dup:
        problems.append(Problem(file, None, col, None, f"more than one column is named "
                                f"'{col}' (after matching case and spacing)",
                                fix="Keep one of them"))
    table = table.loc[:, ~table.columns.duplicated()]
    if "dose_mg_day" in table.columns and "dose_ug_day" not in table.columns:
        text = table["dose_mg_day"].str.replace(",", ".", regex=False)
        num = pd.to_numeric(text, errors="coerce")
        bad = num.isna() & (text.str.strip() != "")
        table["dose_ug_day"] = [("" if pd.isna(x) else repr(float(x) * 1000.0)) if not b else t
                                for x, b, t in zip(num, bad, table["dose_mg_day"], strict=False)]
        table = table.drop(columns="dose_mg_day")
        problems.append(Problem(file, None, "dose_mg_day", None, "dose given in mg/day: "
                                "converted to ug/day (x1000) in column 'dose_ug_day'",
                                severity="note", fix="Give the dose as dose_ug_day"))
    return table
