"""From rows of cells (as a spreadsheet shows them) to a table with a checked header.

Shared by the text and Excel readers. :func:`table_from_records` finds the header row (title
rows above it are skipped and named), refuses duplicated column names and unnamed columns
that hold values, refuses rows with more cells than the header, and numbers every kept row
as the spreadsheet does (``_row``, header = its own row number). Nothing is dropped silently:
every skipped or refused row is named in a problem, and ``attrs["rows_read"]`` counts the data
rows below the header.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from analysis.data.header import HEADER_WORDS, choose_header, combine_group
from analysis.errors import Problem

__all__ = ["HEADER_WORDS", "column_letter", "excel_error_cells", "find_header",
           "table_from_records"]


def column_letter(index: int) -> str:
    """Spreadsheet letter of a 0-based column index.

    Examples
    --------
    >>> column_letter(0), column_letter(25), column_letter(27)
    ('A', 'Z', 'AB')
    """
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def find_header(records: Sequence[tuple[int, list[str]]]) -> int:
    """Index (in ``records``) of the header row, chosen by scoring the first rows
    (:func:`analysis.data.header.choose_header`); the first row when nothing is recognised.

    Examples
    --------
    >>> find_header([(1, ["ITB study export"]), (2, ["", ""]), (3, ["patient_id", "tug_bl"])])
    2
    """
    keep = [i for i, (_, c) in enumerate(records) if any(x.strip() for x in c)]
    if not keep:
        return 0
    return keep[choose_header([records[i] for i in keep]).index]


def table_from_records(records: Sequence[tuple[int, list[str]]], *, file: str,
                       problems: list[Problem], delimiter: str | None = None) -> pd.DataFrame | None:
    """A text table from ``(row number, cells)`` records; problems appended to ``problems``.

    Returns None when there is no header. ``attrs["rows_read"]`` is the number of non-blank
    rows below the header (kept or refused).

    Examples
    --------
    >>> probs = []
    >>> t = table_from_records([(1, ["Export 2024"]), (2, ["patient_id", "value", "", ""]),
    ...                         (3, ["P01", "12", "", ""])], file="x.csv", problems=probs)
    >>> list(t.columns), t["_row"].tolist(), t.attrs["rows_read"]
    (['patient_id', 'value', '_row'], [3], 1)
    >>> print(probs[0])
    x.csv, row 1: row above the header skipped (a title or note?) and ignored. Delete it, so the header is the first row
    """
    # cells are text (the readers make them so); rows with no text at all are blank
    records = [(n, [c.strip() for c in cells]) for n, cells in records if "".join(cells).strip()]
    if not records:
        return None
    choice = choose_header(records)
    h = choice.index
    group_row = records[choice.group][0] if choice.group is not None else None
    for n, _ in records[:h]:
        if n == group_row:
            continue
        problems.append(Problem(file, n, None, None, "row above the header skipped (a title "
                                "or note?) and ignored", severity="warning",
                                fix="Delete it, so the header is the first row"))
    header_row, header = records[h]
    if group_row is not None:
        header = combine_group(records[choice.group][1], header)
    if h > 0:
        problems.append(Problem(file, header_row, None, None, choice.reason, severity="note"))
    body = records[h + 1:]
    width = len(header)
    filled = [False] * width
    for _, cells in body:  # which columns hold a value in any row
        if not all(filled):
            for j, c in enumerate(cells[:width]):
                if c:
                    filled[j] = True
    keep: list[int] = []
    names: list[str] = []
    seen: dict[str, int] = {}
    for j, name in enumerate(header):
        if not name:
            if filled[j]:
                first = next(n for n, c in body if j < len(c) and c[j])
                problems.append(Problem(
                    file, first, f"column {column_letter(j)}", None, f"column {column_letter(j)} "
                    f"holds values but has no name in the header (row {header_row})",
                    fix="Name the column, or delete it"))
            continue  # an empty column without a name (spreadsheet export padding): ignored
        key = name
        if key in seen:
            problems.append(Problem(
                file, header_row, name, None, f"column name '{name}' appears more than once "
                f"(columns {column_letter(seen[key])} and {column_letter(j)}): which one holds "
                "the data is ambiguous", fix="Rename or delete one of them"))
            k = 2
            while f"{name} ({k})" in seen:
                k += 1
            key = f"{name} ({k})"
        seen[key] = j
        keep.append(j)
        names.append(key)
    rows, numbers = [], []
    for n, cells in body:
        if len(cells) > width and any(cells[width:]):
            where = f"delimiter ({delimiter!r})" if delimiter else "cell"
            problems.append(Problem(file, n, column_letter(width), None,
                                    f"the row has {len(cells)} cells but the header has {width}: "
                                    "the values beyond the last named column are not read",
                                    fix=f"Check for a stray {where} or a missing header name"))
            continue
        if len(cells) == width and len(keep) == width:
            rows.append(cells)
        else:
            rows.append([cells[j] if j < len(cells) else "" for j in keep])
        numbers.append(n)
    table = pd.DataFrame(rows, columns=names, dtype="str") if names else pd.DataFrame(
        index=range(len(rows)))
    table["_row"] = numbers
    table.attrs["rows_read"] = len(body)
    table.attrs["header_row"] = header_row
    if h > 0:  # (a header in row 1 needs no explanation; the fast text path sets none)
        table.attrs["group_row"] = group_row
        table.attrs["header_reason"] = choice.reason
    return table


_EXCEL_ERRORS = re.compile(r"^#(DIV/0!|VALUE!|REF!|NAME\?|NUM!|NULL!|SPILL!|CALC!|GETTING_DATA)$",
                           re.IGNORECASE)


def excel_error_cells(table: pd.DataFrame, *, file: str) -> list[Problem]:
    """Errors for cells holding a spreadsheet error value (``#DIV/0!``, ``#REF!``, ...).

    Examples
    --------
    >>> t = pd.DataFrame({"value": ["1", "#DIV/0!"], "_row": [2, 3]})
    >>> [(p.row, p.column) for p in excel_error_cells(t, file="x.csv")]
    [(3, 'value')]
    """
    out = []
    for col in table.columns:
        if str(col).startswith("_"):
            continue
        text = table[col].astype("str")
        for i in text.index[text.str.match(_EXCEL_ERRORS)]:
            out.append(Problem(file, int(table.at[i, "_row"]), str(col), str(text[i]),
                               "the cell holds a spreadsheet error, not a value",
                               fix="Correct the formula in the spreadsheet, or enter the value"))
    return out
