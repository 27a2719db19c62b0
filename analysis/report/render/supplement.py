"""Supplementary tables: long tables written to a workbook beside the report, not into it.

A document cell marks a table as supplementary with :func:`supplement_block` (through
:func:`analysis.report.kit.show_supplement`): the table's values travel in the cell's
Markdown output as CSV in a raw block of the format ``itb-supplement`` (a raw block of a format
no writer knows is left out of every output, by Pandoc and by Quarto alike), so that frozen
outputs keep them. :func:`extract_supplement` takes the blocks out of the assembled
Markdown before Pandoc sees it and :func:`write_supplement` writes them, one sheet per table, to
``<out>/<report>-supplement.xlsx``. Numbers are written as numbers; text is always text (a cell
starting with "=" is never a formula).
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from pathlib import Path

import pandas as pd

from analysis.errors import RenderError
from analysis.paths import file_umask

__all__ = ["supplement_block", "extract_supplement", "write_supplement", "supplement_path"]

_BLOCK = re.compile(
    r"^(?P<fence>`{3,})\{=itb-supplement\}\nsheet: (?P<sheet>[^\n]+)\n(?P<csv>.*?)\n(?P=fence)[ \t]*$",
    re.S | re.M)


def supplement_block(df: pd.DataFrame, sheet: str) -> str:
    """Markdown carrying a supplementary table (hidden in every output).

    Examples
    --------
    >>> text = supplement_block(pd.DataFrame({"a": [1.5], "b": ["x"]}), "Sheet 1")
    >>> extract_supplement(text)
    ('', [('Sheet 1', 'a,b\\n1.5,x')])
    """
    name = re.sub(r"[\[\]:*?/\\\"\n]", " ", str(sheet)).strip()[:31] or "Table"
    body = df.to_csv(index=False, lineterminator="\n").rstrip("\n")
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", body)), default=0) + 1)
    return f"{ticks}{{=itb-supplement}}\nsheet: {name}\n{body}\n{ticks}"


def extract_supplement(markdown: str) -> tuple[str, list[tuple[str, str]]]:
    """The Markdown without its supplementary blocks, and the blocks as ``(sheet, csv)``."""
    found = [(m.group("sheet"), m.group("csv")) for m in _BLOCK.finditer(markdown)]
    return _BLOCK.sub("", markdown).strip("\n") + ("\n" if markdown.endswith("\n") else ""), found


def supplement_path(out: Path) -> Path:
    """``<folder of out>/<stem of out>-supplement.xlsx``."""
    out = Path(out)
    return out.with_name(f"{out.stem}-supplement.xlsx")


def _value(text: str):
    try:
        number = float(text)
    except ValueError:
        return text
    return number if text.strip() and text.strip().lower() not in ("nan", "inf", "-inf") else text


def write_supplement(sheets: list[tuple[str, str]], path: Path) -> Path | None:
    """Write the supplementary tables to one workbook (atomically); None when there are none."""
    if not sheets:
        return None
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    seen: set[str] = set()
    for sheet, text in sheets:
        name, k = sheet, 2
        while name in seen:
            name, k = f"{sheet[:28]} {k}", k + 1
        seen.add(name)
        ws = wb.create_sheet(name)
        for i, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            for j, field in enumerate(row, start=1):
                value = field if i == 1 else _value(field)
                cell = ws.cell(row=i, column=j, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text stays text: never a formula
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".xlsx.part")
    os.close(fd)
    try:
        wb.save(tmp)
        os.chmod(tmp, 0o666 & ~file_umask())  # mkstemp makes 0600: same mode as every output
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise RenderError(f"could not write the supplementary tables to {path}: {exc}") from None
    return path
