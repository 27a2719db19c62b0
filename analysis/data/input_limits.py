"""Checks of a data file's size and shape against :mod:`analysis.limits`, before parsing.

Each check is cheap (a ``stat``, one pass over the bytes with NumPy, the zip directory of a
workbook, the metadata of a SPSS, Stata or Parquet file) and runs before the parser that
would otherwise spend minutes or gigabytes on the file: a CSV of one 100 MB line, a header of
a million cells, a 2 MB workbook that inflates to 600 MB. A refusal raises
:class:`analysis.limits.LimitError` naming the file and the limit (``max_file_mb``,
``max_line_bytes``, ``max_columns``, ``max_cells``, ``max_xlsx_mb``, ``max_xlsx_ratio``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from analysis import limits

#: Parts of a workbook below this uncompressed size are not checked for their ratio (tiny
#: parts such as an empty sheet compress far better than data and inflate to nothing).
RATIO_FLOOR = 1_000_000


def check_size(path: str | Path, file: str | None = None) -> None:
    """Refuse a file larger than ``max_file_mb``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "o.csv"
    >>> _ = f.write_bytes(b"x" * 2000)
    >>> with limits.overridden({"max_file_mb": 0.001}):
    ...     check_size(f)
    Traceback (most recent call last):
    ...
    analysis.limits.LimitError: o.csv: the file is 0.002 MB, more than 0.001 (limit max_file_mb = 0.001; raise it with --limit max_file_mb=N or ITB_MAX_FILE_MB=N)
    """
    path = Path(path)
    size = path.stat().st_size
    limits.check("max_file_mb", size / 1_000_000, file or path.name,
                 f"the file is {size / 1_000_000:.3g} MB")


def check_lines(data: bytes, file: str) -> None:
    """Refuse text whose longest line (ended by LF or CR) exceeds ``max_line_bytes``.

    Runs on the raw bytes, before decoding and delimiter sniffing (which would take minutes
    on one line of 100 MB).

    Examples
    --------
    >>> with limits.overridden({"max_line_bytes": 10}):
    ...     check_lines(b"a,b\\n" + b"1" * 11 + b"\\n", "o.csv")
    Traceback (most recent call last):
    ...
    analysis.limits.LimitError: o.csv: line 2 is 11 bytes long, more than 10 (limit max_line_bytes = 10; raise it with --limit max_line_bytes=N or ITB_MAX_LINE_BYTES=N)
    """
    limit = limits.get("max_line_bytes")
    if len(data) <= limit:
        return
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero((raw == 10) | (raw == 13))
    bounds = np.concatenate(([-1], ends, [len(raw)]))
    lengths = np.diff(bounds) - 1
    longest = int(lengths.argmax())
    if lengths[longest] > limit:
        line = int(np.count_nonzero(raw[: bounds[longest] + 1] == 10)) + 1
        limits.check("max_line_bytes", int(lengths[longest]), file,
                     f"line {line} is {int(lengths[longest])} bytes long")


def check_shape(data: bytes, delim: str, file: str) -> None:
    """Refuse delimited text with more than ``max_columns`` cells in a line or more than
    ``max_cells`` cells in all (counted by delimiters: quoted delimiters count too).

    ``data`` is the text in an encoding where ``delim`` is one byte (UTF-8, cp1252).

    Examples
    --------
    >>> with limits.overridden({"max_columns": 3}):
    ...     check_shape(b"a,b,c,d\\n1,2,3,4\\n", ",", "o.csv")
    Traceback (most recent call last):
    ...
    analysis.limits.LimitError: o.csv: line 1 has 4 cells, more than 3 (limit max_columns = 3; raise it with --limit max_columns=N or ITB_MAX_COLUMNS=N)
    >>> check_shape(b"a,b\\n1,2\\n", ",", "o.csv")
    """
    code = delim.encode("utf-8")
    if len(code) != 1:
        return
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    if len(raw) and raw[-1] != 10:
        ends = np.append(ends, len(raw))
    delims = np.flatnonzero(raw == code[0])
    per_line = np.diff(np.searchsorted(delims, ends), prepend=0) + 1
    if len(per_line):
        widest = int(per_line.argmax())
        limits.check("max_columns", int(per_line[widest]), file,
                     f"line {widest + 1} has {int(per_line[widest])} cells")
    cells = int(per_line.sum())
    limits.check("max_cells", cells, file, f"the file has {cells} cells")


def check_table(n_rows: int, n_columns: int, file: str) -> None:
    """Refuse a table (declared by a file's metadata) beyond ``max_columns`` or ``max_cells``.

    Examples
    --------
    >>> check_table(10, 4, "o.parquet")
    >>> with limits.overridden({"max_cells": 30}):
    ...     check_table(10, 4, "o.parquet")
    Traceback (most recent call last):
    ...
    analysis.limits.LimitError: o.parquet: the file has 10 rows x 4 columns = 40 cells, more than 30 (limit max_cells = 30; raise it with --limit max_cells=N or ITB_MAX_CELLS=N)
    """
    limits.check("max_columns", n_columns, file, f"the file has {n_columns} columns")
    cells = n_rows * n_columns
    limits.check("max_cells", cells, file,
                 f"the file has {n_rows} rows x {n_columns} columns = {cells} cells")


def check_xlsx(path: str | Path, file: str | None = None) -> None:
    """Refuse a workbook whose zip directory declares more than ``max_xlsx_mb`` uncompressed
    megabytes, or a part (over 1 MB) compressed more than ``max_xlsx_ratio`` to one.

    Only the zip directory is read (sizes as the directory states them; Python's zip reader,
    which openpyxl uses, never inflates a part beyond its stated size), so a zip bomb is
    refused before any XML is parsed. A file that is not a zip is left to the reader.

    Examples
    --------
    >>> import io, tempfile, pathlib, zipfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "bomb.xlsx"
    >>> with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
    ...     z.writestr("xl/worksheets/sheet1.xml", "<c><v>1</v></c>" * 200_000)
    >>> check_xlsx(f)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analysis.limits.LimitError: bomb.xlsx: part xl/worksheets/sheet1.xml inflates 3.0 MB ...
    """
    path = Path(path)
    file = file or path.name
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return
    total = sum(i.file_size for i in infos)
    limits.check("max_xlsx_mb", total / 1_000_000, file,
                 f"the workbook inflates to {total / 1_000_000:.1f} MB")
    for info in infos:
        if info.file_size < RATIO_FLOOR:
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        limits.check("max_xlsx_ratio", ratio, file,
                     f"part {info.filename} inflates {info.file_size / 1_000_000:.1f} MB from "
                     f"{info.compress_size / 1_000_000:.3f} MB, a compression ratio of "
                     f"{ratio:.0f} (a zip bomb?)")
