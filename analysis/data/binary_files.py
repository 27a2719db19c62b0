"""Read Excel, SPSS, Stata and Parquet files into text tables, naming every doubtful cell.

Excel (``.xlsx``/``.xlsm``): the data sheet is ``observations`` (or ``data``, else the first);
a formula cell without a saved value is refused (its value is unknown until the workbook is
opened and saved by a spreadsheet program); error values (``#DIV/0!``) are refused; merged
cells below the header are filled with the value of their top-left cell (warned, naming the
range); cells stored as dates or times are refused (a calendar date identifies a patient, and a
number typed as ``1-5`` or ``12.5`` is often turned into a date by the spreadsheet); title rows
above the header are skipped with a warning.

SPSS/Stata: declared user-missing codes (SPSS missing values and ranges, Stata ``.a``-``.z``)
become empty cells with a note naming the code and the rows; value labels are applied
(``2`` -> ``"1+"``), so a label such as ``"not done"`` is read as a missing-value spelling.

Limits (:mod:`analysis.limits`): a workbook's zip directory is checked (``max_xlsx_mb``,
``max_xlsx_ratio``) before openpyxl parses it; the columns and cells of every table
(``max_columns``, ``max_cells``) from the file's metadata (SPSS, Stata, Parquet) or the grid
read (Excel) before the cells are converted.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd

from analysis.data.header import choose_sheet
from analysis.data.identifiers import identifier_kind
from analysis.data.input_limits import check_table, check_xlsx
from analysis.data.tables import column_letter, excel_error_cells, table_from_records
from analysis.errors import Problem

DATE_FIX = ("Replace calendar dates by days relative to the start of the test infusion (column "
            "'day'); if the cell was meant to hold a number (e.g. 1.5 typed as 1-5), format the "
            "column as Number or Text and enter it again")


def cell_text(v: object) -> str:
    """A cell as text: '' for missing, shortest round-trip text for floats.

    Examples
    --------
    >>> cell_text(14.0), cell_text(0.1 + 0.2), cell_text(None), cell_text(" a ")
    ('14', '0.30000000000000004', '', 'a')
    """
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat(sep=" ") if hasattr(v, "hour") and hasattr(v, "day") else v.isoformat()
    return str(v).strip()


def read_excel(path: Path, file: str, problems: list[Problem]):
    """Read the data sheet of a workbook (see the module docstring)."""
    import openpyxl

    check_xlsx(path, file)  # the zip directory's sizes, before any XML is parsed
    # two passes: formulas and merged ranges (full mode), then the saved values
    wb_f = openpyxl.load_workbook(path, read_only=False, data_only=False)
    try:
        title = choose_sheet([(n, wb_f[n].max_row * wb_f[n].max_column * (
            wb_f[n].max_row > 1)) for n in wb_f.sheetnames])  # legend sheets are not data
        if len(wb_f.sheetnames) > 1:
            problems.append(Problem(file, None, None, title, f"the workbook has "
                                    f"{len(wb_f.sheetnames)} sheets; read sheet '{title}'",
                                    severity="note", fix="Name the data sheet 'observations'"))
        ws = wb_f[title]
        formulas = {(c.row, c.column) for row in ws.iter_rows() for c in row
                    if c.data_type == "f" or (isinstance(c.value, str) and c.value.startswith("="))}
        merged = [(r.min_row, r.min_col, r.max_row, r.max_col, str(r.coord))
                  for r in ws.merged_cells.ranges]
    finally:
        wb_f.close()
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        grid = [list(r) for r in wb[title].iter_rows(values_only=True)]
    finally:
        wb.close()
    check_table(len(grid), max(map(len, grid), default=0), file)
    # merged ranges: fill from the top-left cell (below the header; see module docstring)
    header_index = None
    texts = [[cell_text(v) if not isinstance(v, (dt.date, dt.time, dt.timedelta)) else "date"
              for v in r] for r in grid]
    from analysis.data.tables import find_header

    nonblank = [(i + 1, r) for i, r in enumerate(texts) if any(r)]
    if nonblank:
        header_index = nonblank[find_header(nonblank)][0]
    for r0, c0, r1, c1, coord in merged:
        if header_index is not None and r0 <= header_index:
            continue
        top = grid[r0 - 1][c0 - 1] if r0 - 1 < len(grid) and c0 - 1 < len(grid[r0 - 1]) else None
        for r in range(r0, r1 + 1):
            while len(grid) < r:
                grid.append([])
            row = grid[r - 1]
            while len(row) < c1:
                row.append(None)
            for c in range(c0, c1 + 1):
                row[c - 1] = top
        problems.append(Problem(file, r0, coord, None, f"cells {coord} are merged: the value of "
                                f"the first cell is used for each of rows {r0}-{r1}",
                                severity="warning", fix="Unmerge the cells and fill each one"))
    header = [cell_text(v) for v in grid[header_index - 1]] if header_index else []
    records = []
    for i, row in enumerate(grid, start=1):
        cells = []
        for j, v in enumerate(row):
            name = header[j] if j < len(header) and i > (header_index or 0) else ""
            if (i, j + 1) in formulas and v is None:
                problems.append(Problem(file, i, name or column_letter(j), None, "a formula cell "
                                        "has no saved value (the workbook was written by a "
                                        "program that does not compute formulas)",
                                        fix="Open the workbook in Excel or LibreOffice and save "
                                        "it, or enter the value instead of the formula"))
                cells.append("")
                continue
            if isinstance(v, (dt.date, dt.time, dt.timedelta)) and header_index and i > header_index:
                if identifier_kind(name) is None:
                    what = "a time" if isinstance(v, (dt.time, dt.timedelta)) else "a date"
                    problems.append(Problem(file, i, name or column_letter(j), None,
                                            f"the cell is stored as {what}, which is refused "
                                            "(its value is not shown)", fix=DATE_FIX))
                    cells.append("")
                    continue
            cells.append(cell_text(v))
        records.append((i, cells))
    table = table_from_records(records, file=file, problems=problems)
    if table is None:
        return None, {}
    problems.extend(excel_error_cells(table, file=file))
    return table, {"decimal": "."}


def _labelled(df: pd.DataFrame, meta, file: str, problems: list[Problem], kind: str):
    """Apply declared user-missing codes and value labels (see the module docstring)."""
    ranges = getattr(meta, "missing_ranges", None) or {}
    letters = getattr(meta, "missing_user_values", None) or {}
    labels = getattr(meta, "variable_value_labels", None) or {}
    out = {}
    for col in df.columns:
        values = df[col].tolist()
        missing_rows: dict[str, list[int]] = {}
        cells = []
        for i, v in enumerate(values):
            code = None
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not (
                    isinstance(v, float) and math.isnan(v)):
                if any(r["lo"] <= v <= r["hi"] for r in ranges.get(col, [])
                       if isinstance(r.get("lo"), (int, float))):
                    code = cell_text(v)
            elif isinstance(v, str) and col in letters and v in letters[col]:
                code = "." + v
            if code is not None:
                missing_rows.setdefault(code, []).append(i + 2)
                cells.append("")
                continue
            lab = labels.get(col, {})
            if v in lab:
                cells.append(str(lab[v]).strip())
            else:
                cells.append(cell_text(v))
        for code, rows in missing_rows.items():
            shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
            problems.append(Problem(file, rows[0], str(col), code, f"{kind} user-missing code "
                                    f"{code} read as missing ({len(rows)} row(s): {shown})",
                                    severity="note"))
        out[str(col).strip()] = cells
    table = pd.DataFrame(out, dtype="str")
    blank = (table == "").all(axis=1) if len(table.columns) else pd.Series(dtype=bool)
    rows_read = len(table)
    table = table[~blank] if len(table.columns) else table
    table["_row"] = [i + 2 for i in table.index]
    table.attrs["rows_read"] = rows_read
    return table.reset_index(drop=True)


def read_spss(path: Path, file: str, problems: list[Problem]):
    """Read an SPSS ``.sav``/``.zsav`` file (user-missing codes and value labels applied)."""
    import pyreadstat

    _, head = pyreadstat.read_sav(str(path), metadataonly=True)
    check_table(head.number_rows or 0, head.number_columns or 0, file)
    df, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, user_missing=True)
    return _labelled(df, meta, file, problems, "SPSS"), {"decimal": "."}


def read_stata(path: Path, file: str, problems: list[Problem]):
    """Read a Stata ``.dta`` file (extended missing values and value labels applied)."""
    import pyreadstat

    _, head = pyreadstat.read_dta(str(path), metadataonly=True)
    check_table(head.number_rows or 0, head.number_columns or 0, file)
    df, meta = pyreadstat.read_dta(str(path), apply_value_formats=False, user_missing=True)
    return _labelled(df, meta, file, problems, "Stata"), {"decimal": "."}


def read_parquet(path: Path, file: str, problems: list[Problem]):
    """Read a Parquet file (every column as text, floats at full precision)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    check_table(meta.num_rows, meta.num_columns, file)
    df = pd.read_parquet(path)
    table = pd.DataFrame({str(c).strip(): [cell_text(v) for v in df[c]] for c in df.columns},
                         dtype="str")
    rows_read = len(table)
    if len(table.columns):
        table = table[(table != "").any(axis=1)]
    table["_row"] = [i + 2 for i in table.index]
    table.attrs["rows_read"] = rows_read
    return table.reset_index(drop=True), {"decimal": "."}
