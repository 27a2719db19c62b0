"""The fast path of the text reader: a plain delimited file read in one vectorised pass.

Most observation files are plain: UTF-8, the header in row 1, every row with the header's
number of cells, no quotes (or only quotes around a whole cell without a delimiter, quote or
line break inside), no blank rows. :func:`read_plain` checks this cheaply on the text and,
when it holds, reads the cells with Arrow's CSV parser (as text, no type inference, nothing
read as missing); it returns None for any other file, which the careful reader
(:func:`analysis.data.text_files.read_text`) then reads record by record. Whenever it accepts
a file, the table is the one the careful reader makes: the same columns, text values (cells
stripped of surrounding white space), ``_row`` numbers and attributes (tests compare them on
many tricky files).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from analysis.data.tables import find_header

#: Every character ``str.strip()`` removes (``str.isspace``; a test checks the list).
SPACES = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
          "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
# those a plain file may hold at a cell edge only as a line end or delimiter (checked apart)
_OTHER_SPACE = re.compile("[" + re.escape("".join(c for c in SPACES if c not in " \n\r")) + "]")


def _unquote(text: str, delim: str) -> str | None:
    """The text with quotes around whole cells removed, or None when a quote is used any
    other way (a delimiter, quote or line break inside quotes, a quote inside a cell): only
    then is the result read the way Python's csv module reads the quoted text."""
    d = re.escape(delim)
    cell = re.compile(rf'(?<![^{d}\n])"([^"{d}\r\n]*)"(?=[{d}\r\n]|\Z)')
    out = cell.sub(r"\1", text)
    return None if '"' in out else out


def _needs_strip(text: str, delim: str) -> bool:
    """False when no cell starts or ends with white space (so stripping changes nothing)."""
    if text.isascii():  # the usual case: bytes are faster to scan than a regex
        other = b"".join(c.encode() for c in SPACES if c.isascii() and c not in " \n\r" + delim)
        data = text.encode("ascii")
        if len(data.translate(None, other)) != len(data):
            return True
    elif _OTHER_SPACE.search(text.replace(delim, "") if delim.isspace() else text):
        return True
    if " " not in text:
        return False
    return (text.startswith(" ") or text.endswith(" ")
            or any(s in text for s in (" " + delim, delim + " ", " \n", "\n ", " \r")))


def read_plain(text: str, delim: str) -> pd.DataFrame | None:
    """The text table of a plain delimited file (see the module docstring), or None.

    ``text`` is the decoded file (UTF-8) and ``delim`` its delimiter. The table has the
    stripped cells as text columns named by the header (row 1), ``_row`` (line numbers from
    2) and ``attrs`` ``rows_read`` and ``header_row``, as
    :func:`analysis.data.tables.table_from_records` makes them.

    Examples
    --------
    >>> t = read_plain("patient_id;value\\nP01; 12,5\\nP02;\\n", ";")
    >>> t.to_dict("list")
    {'patient_id': ['P01', 'P02'], 'value': ['12,5', ''], '_row': [2, 3]}
    >>> t.attrs
    {'rows_read': 2, 'header_row': 1}
    >>> read_plain("patient_id;value\\n\\nP01;12\\n", ";") is None  # a blank row
    True
    """
    if not text or "\x00" in text or len(delim) != 1 or delim in '"\r\n':
        return None
    if text.count("\r") != text.count("\r\n"):  # a lone CR ends a line for the csv module
        return None
    if '"' in text:
        text = _unquote(text, delim)
        if text is None:
            return None
    head = [(n, line.removesuffix("\r").split(delim))
            for n, line in enumerate(text.split("\n", 25)[:25], start=1)]
    header = [c.strip() for c in head[0][1]]
    width = len(header)
    # header in row 1, every name given once (rows below are checked for blanks later)
    if width < 2 or not all(header) or len(set(header)) < width or find_header(head) != 0:
        return None
    data = text.encode("utf-8")
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == ord("\n"))
    if not data.endswith(b"\n"):
        ends = np.append(ends, len(data))
    per_line = np.diff(np.searchsorted(np.flatnonzero(raw == ord(delim)), ends), prepend=0)
    if len(ends) < 2 or (per_line != width - 1).any():  # a ragged or blank row
        return None
    parsed = pa_csv.read_csv(
        pa.BufferReader(data),
        read_options=pa_csv.ReadOptions(use_threads=False, autogenerate_column_names=True,
                                        skip_rows=1, block_size=max(1 << 20, len(data) + 1)),
        parse_options=pa_csv.ParseOptions(delimiter=delim, quote_char=False,
                                          double_quote=False, escape_char=False,
                                          newlines_in_values=False, ignore_empty_lines=False),
        convert_options=pa_csv.ConvertOptions(
            column_types={f"f{j}": pa.string() for j in range(width)},
            strings_can_be_null=False, quoted_strings_can_be_null=False))
    if parsed.num_rows != len(ends) - 1 or parsed.num_columns != width:
        return None
    table = parsed.to_pandas()
    table.columns = header
    if _needs_strip(text, delim):
        for c in header:  # Python's strip, as the careful reader (Arrow's trims fewer spaces)
            table[c] = pd.array([s.strip() for s in table[c].to_numpy(object)], dtype="str")
    if (table == "").all(axis=1).any():  # an empty row: the careful reader skips it
        return None
    table["_row"] = np.arange(2, len(table) + 2, dtype=np.int64)
    table.attrs["rows_read"] = len(table)
    table.attrs["header_row"] = 1
    return table
