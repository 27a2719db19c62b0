"""A preview of the data sheet as the spreadsheet shows it, with the cells of problems marked.

The validation names each problem by its spreadsheet row (header = row 1, title rows counted)
and its column name; the preview shows the first rows and the rows of problems, numbered the
same way, and marks the named cell so that a clinician finds it in their own file. The raw
cells are read here (``csv`` and ``openpyxl``, as the readers use them) because the readers
return the tidy data, not the grid as typed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from analysis.data.tables import column_letter
from analysis.errors import Problem

_TEXT = (".csv", ".tsv", ".txt")
_MAX_READ = 5000          # rows read from the file for the preview
_HEAD = 6                 # first rows always shown
_MAX_SHOWN = 80           # rows shown at most
_MAX_COLS = 40


@dataclass(frozen=True)
class Preview:
    """``rows``: (spreadsheet row number or None for a gap, cells); ``marked``: the
    (row, column index) of problem cells, with the problem text; ``columns``: letters."""

    file: str
    columns: tuple[str, ...]
    rows: tuple[tuple[int | None, tuple[str, ...]], ...]
    marked: dict[tuple[int, int], str]


def read_grid(path: Path) -> list[list[str]]:
    """The first rows of a sheet as text cells (row 1 first).

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = f.write_text("Pat-ID;TUG_bl\\nA1;14,2\\n")
    >>> read_grid(f)
    [['Pat-ID', 'TUG_bl'], ['A1', '14,2']]
    """
    suffix = path.suffix.lower()
    if suffix in _TEXT:
        raw = path.read_bytes()[: 4 << 20]
        text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else \
            raw.decode("utf-8-sig", errors="replace")
        first = text[:4000]
        delimiter = max(("\t", ";", ","), key=first.count) if suffix != ".tsv" else "\t"
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        return [row[:_MAX_COLS] for _, row in zip(range(_MAX_READ), reader, strict=False)]
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = max(book.worksheets, key=lambda s: (s.max_row or 0) * (s.max_column or 0))
            return [["" if v is None else str(v) for v in row[:_MAX_COLS]]
                    for _, row in zip(range(_MAX_READ), sheet.iter_rows(values_only=True),
                                      strict=False)]
        finally:
            book.close()
    import pandas as pd

    if suffix in (".sav", ".zsav"):
        frame = pd.read_spss(path)
    elif suffix == ".dta":
        frame = pd.read_stata(path)
    else:
        frame = pd.read_parquet(path)
    frame = frame.head(_MAX_READ).iloc[:, :_MAX_COLS]
    return [list(map(str, frame.columns))] + [["" if pd.isna(v) else str(v) for v in r]
                                               for r in frame.itertuples(index=False)]


def preview(path: Path, problems: Sequence[Problem]) -> Preview:
    """The preview of ``path`` with the cells of ``problems`` (those naming this file) marked."""
    grid = read_grid(path)
    mine = [p for p in problems if Path(p.file).name == path.name and p.row is not None]
    marked: dict[tuple[int, int], str] = {}
    for p in mine:
        col = _column_index(grid, p.column) if p.column else None
        if col is not None and p.row <= len(grid):
            marked.setdefault((p.row, col), p.rule)
    wanted = set(range(1, min(_HEAD, len(grid)) + 1))
    for p in mine:
        if len(wanted) >= _MAX_SHOWN:
            break
        wanted.update(r for r in (p.row - 1, p.row, p.row + 1) if 1 <= r <= len(grid))
    rows: list[tuple[int | None, tuple[str, ...]]] = []
    last = 0
    for r in sorted(wanted):
        if r != last + 1:
            rows.append((None, ()))
        rows.append((r, tuple(grid[r - 1])))
        last = r
    width = max((len(g) for g in grid[:_MAX_READ]), default=0)
    return Preview(path.name, tuple(column_letter(i) for i in range(width)), tuple(rows), marked)


def _column_index(grid: list[list[str]], column: str) -> int | None:
    """The index of the header cell spelling ``column`` (a group header ``"G | v"`` by ``v``)."""
    names = [column, column.split(" | ")[-1]]
    for name in names:
        for row in grid[:12]:
            cells = [c.strip() for c in row]
            if name.strip() in cells:
                return cells.index(name.strip())
    return None
