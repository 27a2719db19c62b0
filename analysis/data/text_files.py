"""Read delimited text files (CSV, TSV, ``;`` with decimal commas) without losing a row.

Encodings: UTF-8 (with or without BOM), UTF-16 with a BOM, UTF-16 without a BOM (recognised by
its zero bytes), cp1252/Latin-1, and files mixing UTF-8 and cp1252 lines (each line decoded on
its own, with a warning naming the cp1252 rows, so ``Münster`` is one visit, not two).

Quotes: a quote opened and never closed makes a CSV parser swallow every following line into
one cell; such a record is refused, naming the row where the quote opens and the rows it joined.
Row numbers are the physical line numbers a text editor (and a spreadsheet) shows.

Limits (:mod:`analysis.limits`, checked before any parsing): file size ``max_file_mb``,
longest line ``max_line_bytes``, cells in a line ``max_columns`` and in the file ``max_cells``.

A plain UTF-8 file (header in row 1, every row as wide as the header, no quotes but around
whole cells, no blank rows) is read in one vectorised pass (:mod:`analysis.data.plain_text`);
any other file record by record with Python's csv module. Both give the same table.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

import pandas as pd

from analysis.data.input_limits import check_lines, check_shape, check_size
from analysis.data.plain_text import read_plain
from analysis.data.tables import table_from_records
from analysis.errors import Problem

_COMMA_DECIMAL = re.compile(r"^[-+]?\d*,\d+$")
_POINT_DECIMAL = re.compile(r"^[-+]?\d*\.\d+$")
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|"
                             rb"[\xf0-\xf4][\x80-\xbf]{3}")


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when zero bytes sit at odd / even offsets (ASCII-heavy text)."""
    head = data[:4000]
    if len(head) < 4 or b"\x00" not in head:
        return None
    odd = head[1::2].count(0) / max(len(head[1::2]), 1)
    even = head[0::2].count(0) / max(len(head[0::2]), 1)
    if odd > 0.3 and even < 0.05:
        return "utf-16-le"
    if even > 0.3 and odd < 0.05:
        return "utf-16-be"
    return None


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes: UTF-8 (with or without BOM), UTF-16 (with or without BOM), else
    cp1252 / Latin-1; a file mixing UTF-8 and cp1252 lines is decoded line by line
    (encoding ``"mixed"``).

    Examples
    --------
    >>> decode("Müller".encode("latin-1"))
    ('Müller', 'cp1252')
    >>> decode(b"\\xef\\xbb\\xbfP01")
    ('P01', 'utf-8-sig')
    >>> decode("patient_id\\nP01\\n".encode("utf-16-le"))
    ('patient_id\\nP01\\n', 'utf-16-le')
    >>> decode("Münster\\n".encode("utf-8") + "Münster\\n".encode("cp1252"))
    ('Münster\\nMünster\\n', 'mixed')
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    bomless = _utf16_without_bom(data)
    if bomless is not None:
        return data.decode(bomless), bomless
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _UTF8_MULTIBYTE.search(data):
        return "".join(_decode_line(line)[0] for line in data.splitlines(keepends=True)), "mixed"
    return _decode_single(data)


def _decode_single(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # bytes undefined in cp1252 (0x81, 0x8d, ...): Latin-1 takes all
        return data.decode("latin-1"), "latin-1"


def _decode_line(line: bytes) -> tuple[str, str]:
    try:
        return line.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return _decode_single(line)


def delimiter(text: str, suffix: str) -> str:
    """The field delimiter: tab for ``.tsv``, else sniffed among ``, ; tab |``.

    Examples
    --------
    >>> delimiter("a;b;c\\n1;2;3\\n", ".csv")
    ';'
    """
    if suffix in (".tsv", ".tab"):
        return "\t"
    head = text[:1 << 16].splitlines()  # the first 60 lines, complete when 61 are seen
    lines = [ln for ln in (head if len(head) > 60 else text.splitlines())[:60] if ln.strip()]
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:  # one column, or irregular: the candidate most frequent in most lines
        counts = {d: sum(ln.count(d) for ln in lines) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _records(text: str, delim: str, file: str, problems: list[Problem]):
    """(first line, cells) of every CSV record; unmatched quotes refused with their rows."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    out, prev, refused = [], 0, 0
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(file, reader.line_num, None, None, f"the line cannot be "
                                    f"read as {delim!r}-separated text ({exc})",
                                    fix="Save the file again as CSV (UTF-8)"))
            refused += reader.line_num - prev
            prev = reader.line_num
            continue
        start, prev = prev + 1, reader.line_num
        if prev == start and (not rec or ("\n" not in rec[-1] and "\r" not in rec[-1])):
            out.append((start, rec))  # the usual case: one line, no line break in a cell
            continue
        if any(c.endswith(("\n", "\r")) for c in rec):  # a quote left open up to the end
            problems.append(Problem(
                file, start, None, None, f"a quote (\") opened in this row is never closed: "
                f"rows {start}-{prev} are not read", fix="Remove the stray quote, or close it"))
            refused += prev - start + 1
            continue
        if prev > start and any("\n" in c or "\r" in c for c in rec):
            joined = next(c for c in rec if "\n" in c or "\r" in c)
            swallowed = any(delim in ln for ln in joined.splitlines()[1:])
            if swallowed or reader.line_num - start > 3:
                problems.append(Problem(
                    file, start, None, None, f"a quote (\") opened in this row is not closed, "
                    f"so rows {start}-{prev} were read as one cell: none of them is read",
                    fix="Remove the stray quote, or close it"))
                refused += prev - start + 1
                continue
        out.append((start, rec))
    return out, refused


def read_text(path: Path, file: str, problems: list[Problem], *, fast: bool = True):
    """Read a delimited text file into a text table plus attributes (encoding, delimiter,
    decimal); see the module docstring.

    A plain UTF-8 file is read in one vectorised pass (:func:`analysis.data.plain_text.
    read_plain`, the same table); any other file, or every file with ``fast=False``, record
    by record.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "o.csv"
    >>> _ = f.write_bytes(b'patient_id,visit,measure,value\\nP01,bl,tug,"12\\nP02,bl,tug,13\\n')
    >>> probs = []
    >>> t, attrs = read_text(f, "o.csv", probs)
    >>> len(t), t.attrs["rows_read"], probs[0].row
    (0, 2, 2)
    """
    check_size(path, file)  # limits (analysis.limits) before the parser: size, lines, cells
    with path.open("rb") as fh:  # read-only
        data = fh.read()
    check_lines(data, file)
    if b"\x00" in data[:4000] and _utf16_without_bom(data) is None and not data.startswith(
            (b"\xff\xfe", b"\xfe\xff")):
        problems.append(Problem(file, None, None, None, "the file is not text (it holds binary "
                                "bytes)", fix="Give a CSV, Excel, SPSS, Stata or Parquet file"))
        return None, {}
    text, encoding = decode(data)
    if encoding == "mixed":
        lines = data.splitlines()
        bad = [i for i, ln in enumerate(lines, start=1) if _decode_line(ln)[1] != "utf-8"]
        shown = ", ".join(map(str, bad[:10])) + (", ..." if len(bad) > 10 else "")
        problems.append(Problem(file, bad[0] if bad else None, None, None, f"the file mixes two "
                                f"text encodings: row(s) {shown} read as Windows cp1252, the "
                                "others as UTF-8; check accented names (visits, measures) in "
                                "those rows", severity="warning", fix="Save the file as UTF-8"))
    elif encoding not in ("utf-8", "utf-8-sig"):
        problems.append(Problem(file, None, None, encoding, f"the file is not UTF-8; read as "
                                f"{encoding}", severity="note",
                                fix="Save it as UTF-8 to be sure accented letters are kept"))
    text = text.replace("\x00", "")
    delim = delimiter(text, path.suffix.lower())
    check_shape(data if encoding in ("utf-8", "utf-8-sig", "cp1252", "latin-1", "mixed")
                else text.encode("utf-8"), delim, file)
    table = read_plain(text, delim) if fast and encoding in ("utf-8", "utf-8-sig") else None
    if table is not None:
        return table, {"encoding": encoding, "delimiter": delim,
                       "decimal": _decimal(table, delim)}
    limit = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        records, refused = _records(text, delim, file, problems)
    finally:
        csv.field_size_limit(limit)
    table = table_from_records(records, file=file, problems=problems, delimiter=delim)
    if table is None:
        return None, {}
    table.attrs["rows_read"] += refused
    return table, {"encoding": encoding, "delimiter": delim, "decimal": _decimal(table, delim)}


def _decimal(table: pd.DataFrame, delim: str) -> str:
    """"," when the file writes every decimal number with a comma (``;``/tab files only)."""
    if delim == "," or len(table) == 0:
        return "."
    values = pd.Series(table.drop(columns="_row").to_numpy().ravel(), dtype="str")
    comma = values.str.match(_COMMA_DECIMAL).sum()
    point = values.str.match(_POINT_DECIMAL).sum()
    return "," if comma > 0 and point == 0 else "."
