"""Read observation files of any common format into the raw tidy shape.

:func:`read_observations` picks the reader by extension (and by content for unknown
extensions): delimited text (CSV/TSV/``;`` with decimal commas; UTF-8, UTF-8 with BOM, UTF-16
or Latin-1/cp1252), Excel ``.xlsx``, SPSS ``.sav``, Stata ``.dta`` (value labels applied) and
Parquet. Wide spreadsheets and REDCap exports are turned into the tidy layout by
:mod:`analysis.data.wide`. Every value is returned as text, exactly as written, so that
:mod:`analysis.data.validate` can judge it (``"1+"``, ``"n/a"``, ``"12,5"``, ``">30"``) and report it.

Two bookkeeping columns are added: ``_row`` (the 1-based row number as a spreadsheet shows it,
header = row 1; for SPSS/Stata/Parquet, case number + 1) and ``_source_column`` (the column the
value came from). ``frame.attrs`` holds ``decimal`` ("," when the whole file writes decimals
with a comma), ``encoding``, ``layout`` (tidy, wide or redcap) and ``format``.

Files are opened read-only and never modified.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import pandas as pd

from analysis.data.codebook import Codebook
from analysis.data.identifiers import find_identifiers, normalise_name
from analysis.errors import Problem

#: Columns of the tidy layout (data contracts), in order.
TIDY_COLUMNS = ["patient_id", "visit", "measure", "value", "phase", "day", "dose_ug_day",
                "side", "unit"]
REQUIRED_COLUMNS = ["patient_id", "visit", "measure", "value"]
_EXCEL = {".xlsx", ".xlsm"}
_TEXT = {".csv", ".tsv", ".txt", ".tab", ".dat"}
_COMMA_DECIMAL = re.compile(r"^[-+]?\d*,\d+$")
_POINT_DECIMAL = re.compile(r"^[-+]?\d*\.\d+$")


def read_observations(path: str | Path, *, codebook: Codebook) -> tuple[pd.DataFrame, list[Problem]]:
    """Read an observation file into the raw tidy layout (values as text).

    Parameters
    ----------
    path : str or Path
        A ``.csv``/``.tsv``/``.txt``, ``.xlsx``, ``.sav``, ``.dta`` or ``.parquet`` file in tidy,
        wide or REDCap layout.
    codebook : Codebook
        Used to recognise measures in wide and REDCap column names.

    Returns
    -------
    frame : pandas.DataFrame
        Text columns named as in the data contracts where recognised (other columns passed
        through), plus ``_row`` and ``_source_column``.
    problems : list of Problem
        Notes (encoding, renamed columns, wide columns not recognised) and errors (direct
        identifiers, malformed rows, unreadable files).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from analysis.data.codebook import load_codebook
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "obs.csv").write_text("patient_id;visit;measure;value\\nP01;baseline;tug;12,5\\n")
    >>> frame, problems = read_observations(d / "obs.csv", codebook=load_codebook())
    >>> frame.loc[0, "value"], frame.attrs["decimal"], int(frame.loc[0, "_row"])
    ('12,5', ',', 2)
    """
    path = Path(path)
    file = path.name
    if not path.is_file():
        return _empty(), [Problem(file, None, None, None, "file does not exist",
                                  fix=f"check the path {path}")]
    fmt = _format(path)
    problems: list[Problem] = []
    try:
        table, attrs = _READERS[fmt](path, file, problems)
    except Exception as exc:  # any reader failure becomes a problem naming the file
        return _empty(), [Problem(file, None, None, None, f"the file could not be read as "
                                  f"{fmt}: {type(exc).__name__}: {exc}",
                                  fix="save it again as UTF-8 CSV or .xlsx")]
    if table is None or table.empty or len(table.columns) <= 1 and "_row" in table.columns:
        problems.append(Problem(file, None, None, None, "the file is empty (no data rows)",
                                fix="check that the right file (or sheet) was given"))
        return _empty(), problems
    found = find_identifiers(table.drop(columns="_row"), file=file, rows=table["_row"])
    if found:  # refuse: nothing else is checked, so no message can echo an identifying value
        return _empty(), problems + found
    table = _canonical_names(table, file, problems)
    from analysis.data.wide import (  # avoid an import cycle
        detect_layout,
        from_redcap,
        from_wide,
    )

    layout = detect_layout(table)
    if layout == "redcap":
        table = from_redcap(table, codebook=codebook, file=file, problems=problems)
    elif layout == "wide":
        table = from_wide(table, codebook=codebook, file=file, problems=problems)
    if "_source_column" not in table.columns:
        table["_source_column"] = "value"
    table.attrs.update(attrs, layout=layout, format=fmt)
    return table.reset_index(drop=True), problems


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in REQUIRED_COLUMNS + ["_row"]})


def _format(path: Path) -> str:
    ext = path.suffix.lower()
    if ext in _TEXT:
        return "text"
    if ext in _EXCEL:
        return "excel"
    if ext == ".xls":
        return "xls"
    if ext in (".sav", ".zsav"):
        return "spss"
    if ext == ".dta":
        return "stata"
    if ext in (".parquet", ".pq"):
        return "parquet"
    with path.open("rb") as fh:  # unknown extension: look at the first bytes
        head = fh.read(4)
    if head.startswith(b"PK"):
        return "excel"
    if head == b"PAR1":
        return "parquet"
    return "text"


# ------------------------------------------------------------------------------ text

def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (with or without BOM), UTF-16 (BOM), else cp1252 / Latin-1.

    Examples
    --------
    >>> decode("Müller".encode("latin-1"))
    ('Müller', 'cp1252')
    >>> decode(b"\\xef\\xbb\\xbfP01")
    ('P01', 'utf-8-sig')
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # bytes undefined in cp1252 (0x81, 0x8d, ...): Latin-1 takes all
        return data.decode("latin-1"), "latin-1"


def _delimiter(text: str, suffix: str) -> str:
    if suffix in (".tsv", ".tab"):
        return "\t"
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:  # one column, or irregular: take the most frequent candidate in the header
        header = next((ln for ln in text.splitlines() if ln.strip()), "")
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _read_text(path: Path, file: str, problems: list[Problem]):
    with path.open("rb") as fh:  # read-only
        text, encoding = decode(fh.read())
    if encoding not in ("utf-8", "utf-8-sig"):
        problems.append(Problem(file, None, None, encoding, f"the file is not UTF-8; read as "
                                f"{encoding}", severity="note",
                                fix="save it as UTF-8 to be sure accented letters are kept"))
    delim = _delimiter(text, path.suffix.lower())
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    # rows with any non-blank cell (joined once rather than stripping each cell)
    numbered = [(n, r) for n, r in enumerate(records, start=1) if "".join(r).strip()]
    if not numbered:
        return None, {}
    (_, header), body = numbered[0], numbered[1:]
    width = len(header)
    rows, line_numbers = [], []
    for n, rec in body:
        if len(rec) > width and any(c.strip() for c in rec[width:]):
            problems.append(Problem(file, n, None, None, f"the row has {len(rec)} cells but the "
                                    f"header has {width}", fix="check for a stray delimiter "
                                    f"({delim!r}) or a missing header"))
            continue
        if len(rec) != width:
            rec = (rec + [""] * width)[:width]
        rows.append(list(map(str.strip, rec)))  # cells stripped
        line_numbers.append(n)
    table = pd.DataFrame(rows, columns=[h.strip() for h in header], dtype="str")
    table["_row"] = line_numbers
    return table, {"encoding": encoding, "delimiter": delim, "decimal": _decimal(table, delim)}


def _decimal(table: pd.DataFrame, delim: str) -> str:
    """"," when the file writes every decimal number with a comma (``;``/tab files only)."""
    if delim == ",":
        return "."
    values = pd.Series(table.drop(columns="_row").to_numpy().ravel(), dtype="str")
    comma = values.str.match(_COMMA_DECIMAL).sum()
    point = values.str.match(_POINT_DECIMAL).sum()
    return "," if comma > 0 and point == 0 else "."


# ------------------------------------------------------------------ binary formats

def _cell_text(v: object) -> str:
    """A cell as text: '' for missing, shortest round-trip text for floats."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()
    return str(v).strip()


def _from_frame(df: pd.DataFrame):
    table = pd.DataFrame({str(c).strip(): [_cell_text(v) for v in df[c]] for c in df.columns},
                         dtype="str")
    table = table[(table != "").any(axis=1)] if len(table.columns) else table
    table["_row"] = [i + 2 for i in table.index]
    return table


def _read_excel(path: Path, file: str, problems: list[Problem]):
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        names = {n.lower(): n for n in wb.sheetnames}
        sheet = wb[names.get("observations", names.get("data", wb.sheetnames[0]))]
        if len(wb.sheetnames) > 1:
            problems.append(Problem(file, None, None, sheet.title, f"the workbook has "
                                    f"{len(wb.sheetnames)} sheets; read sheet '{sheet.title}'",
                                    severity="note", fix="name the data sheet 'observations'"))
        rows = [(i, r) for i, r in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        wb.close()
    rows = [(i, [_cell_text(v) for v in r]) for i, r in rows]
    rows = [(i, r) for i, r in rows if any(r)]
    if not rows:
        return None, {}
    (_, header), body = rows[0], rows[1:]
    while header and header[-1] == "":
        header = header[:-1]
    width = len(header)
    table = pd.DataFrame([(r + [""] * width)[:width] for _, r in body], columns=header,
                         dtype="str")
    table["_row"] = [i for i, _ in body]
    return table, {"decimal": "."}


def _read_spss(path: Path, file: str, problems: list[Problem]):
    import pyreadstat

    df, _ = pyreadstat.read_sav(str(path), apply_value_formats=True)
    return _from_frame(df), {"decimal": "."}


def _read_stata(path: Path, file: str, problems: list[Problem]):
    import pyreadstat

    df, _ = pyreadstat.read_dta(str(path), apply_value_formats=True)
    return _from_frame(df), {"decimal": "."}


def _read_parquet(path: Path, file: str, problems: list[Problem]):
    return _from_frame(pd.read_parquet(path)), {"decimal": "."}


def _read_xls(path: Path, file: str, problems: list[Problem]):
    raise ValueError("the old .xls format is not supported")


_READERS = {"text": _read_text, "excel": _read_excel, "spss": _read_spss,
            "stata": _read_stata, "parquet": _read_parquet, "xls": _read_xls}


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
                                    severity="note", fix=f"rename the column to '{norm}'"))
    table = table.rename(columns=rename)
    dup = table.columns[table.columns.duplicated()].unique().tolist()
    for col in dup:
        problems.append(Problem(file, None, col, None, f"more than one column is named "
                                f"'{col}' (after matching case and spacing)",
                                fix="keep one of them"))
    table = table.loc[:, ~table.columns.duplicated()]
    if "dose_mg_day" in table.columns and "dose_ug_day" not in table.columns:
        text = table["dose_mg_day"].str.replace(",", ".", regex=False)
        num = pd.to_numeric(text, errors="coerce")
        bad = num.isna() & (text.str.strip() != "")
        table["dose_ug_day"] = [("" if pd.isna(x) else repr(float(x) * 1000.0)) if not b else t
                                for x, b, t in zip(num, bad, table["dose_mg_day"])]
        table = table.drop(columns="dose_mg_day")
        problems.append(Problem(file, None, "dose_mg_day", None, "dose given in mg/day: "
                                "converted to ug/day (x1000) in column 'dose_ug_day'",
                                severity="note", fix="give the dose as dose_ug_day"))
    return table
