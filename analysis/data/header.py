"""Find the header row of a sheet by scoring rows, and a group-header row above it.

Clinic spreadsheets put a title, a note or a merged group-header row above the real header. Each
of the first rows is scored by its cells: a cell recognised as a column (a role, a patient
attribute, a measure, a visit; :func:`analysis.data.columns.recognise`) counts for it, a number
disqualifies the row (headers hold names, data rows hold numbers), and a row followed by a row
of numbers gains. The best-scoring row is the header; rows above it are titles or notes.

A merged group header (``Gehgeschwindigkeit (m/s)`` over ``baseline | 6 Mo``) is the row just
above the header whose cells name measures over header cells that are bare visit names; each
such header cell is read as ``<group> | <visit>``. Cells of the group row over a blank header
cell (a name merged down over both rows) give that column's name.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from analysis.data.identifiers import normalise_name

__all__ = ["HeaderChoice", "choose_header", "choose_sheet", "combine_group"]

_NUMBER = re.compile(r"^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?$")
_MAX_ROWS = 20
#: Column names that mark the header row of an observations table (the rule before scoring).
HEADER_WORDS = {"patient_id", "patient", "record_id", "subject_id", "visit", "measure", "value",
                "redcap_event_name", "patientid", "pid", "id"}


@dataclass(frozen=True)
class HeaderChoice:
    """Index (in the records) of the header row, of the group-header row (or None), and why."""

    index: int
    group: int | None
    reason: str


@functools.lru_cache(maxsize=1)
def _codebook():
    from analysis.data.codebook import load_codebook

    return load_codebook()


@functools.lru_cache(maxsize=4096)
def _kind(cell: str) -> tuple[str, bool]:
    """(recognised kind, names a measure) of a header cell."""
    from analysis.data.columns import recognise

    r = recognise(cell, _codebook())
    return r.kind, r.measure is not None


def _score(cells: Sequence[str]) -> tuple[float, int]:
    score, known = 0.0, 0
    for c in cells:
        if not c:
            continue
        if _NUMBER.match(c):
            return float("-inf"), 0
        kind, measure = _kind(c)
        if kind in ("role", "patient", "measure", "per_visit") or measure:
            score, known = score + 3, known + 1
        elif kind in ("visit", "ignore"):
            score, known = score + 1, known + 1
    return score, known


def _numeric_share(cells: Sequence[str]) -> float:
    filled = [c for c in cells if c]
    return sum(bool(_NUMBER.match(c)) for c in filled) / len(filled) if filled else 0.0


def _legacy(records: Sequence[tuple[int, list[str]]]) -> int | None:
    """The rule before scoring: the first row naming a tidy column, rows above it sparse."""
    for i, (_, cells) in enumerate(records[:_MAX_ROWS]):
        if {normalise_name(c) for c in cells if c.strip()} & HEADER_WORDS:
            width = sum(bool(c.strip()) for c in cells)
            if all(sum(bool(c.strip()) for c in above) <= max(1, width // 2)
                   for _, above in records[:i]):
                return i
            return None
    return None


def _group_fits(group: list[str], header: list[str]) -> bool:
    """A group row names measures over at least two header cells that are bare visits."""
    hits, current = 0, ""
    for j, cell in enumerate(header):
        g = group[j] if j < len(group) else ""
        if not cell or _kind(cell)[0] != "visit":
            current = ""
            continue
        current = g or current
        if current and _kind(current)[1]:
            hits += 1
    return hits >= 2


def combine_group(group: list[str], header: list[str]) -> list[str]:
    """Header names with the group row above them (see the module docstring).

    Examples
    --------
    >>> combine_group(["", "Gehgeschwindigkeit (m/s)", "", "TUG (s)", ""],
    ...               ["Pat-ID", "baseline", "6 Mo", "baseline", "6 Mo"])
    ['Pat-ID', 'Gehgeschwindigkeit (m/s) | baseline', 'Gehgeschwindigkeit (m/s) | 6 Mo', 'TUG (s) | baseline', 'TUG (s) | 6 Mo']
    """
    out, current = [], ""
    width = max(len(group), len(header))
    for j in range(width):
        cell = header[j] if j < len(header) else ""
        g = group[j] if j < len(group) else ""
        if cell and _kind(cell)[0] == "visit":
            current = g or current
            out.append(f"{current} | {cell}" if current else cell)
        else:
            current = ""
            out.append(cell or g)
    return out


def choose_header(records: Sequence[tuple[int, list[str]]]) -> HeaderChoice:
    """The header row of ``records`` (``(row number, cells)``, blank rows removed).

    Examples
    --------
    >>> rows = [(1, ["Studie ITB 2024", "", ""]), (2, ["Pat-ID", "Alter", "TUG_bl"]),
    ...         (3, ["A1", "50", "12,5"])]
    >>> c = choose_header(rows)
    >>> c.index, c.group
    (1, None)
    >>> print(c.reason)
    row 2 taken as the header: 3 of 3 names recognised (Pat-ID, Alter, TUG_bl), the row below holds numbers; row 1 above it skipped (a title or note)
    """
    if not records:
        return HeaderChoice(0, None, "")
    head = records[:_MAX_ROWS]
    scored = []
    for i, (_, cells) in enumerate(head):
        score, known = _score(cells)
        if i + 1 < len(head) and score > 0 and _numeric_share(head[i + 1][1]) > 0.2:
            score += 2
        scored.append((score, known))
    legacy = _legacy(records)
    filled = [sum(bool(c) for c in cells) for _, cells in head]
    # rows above a header are titles, notes or a group header: sparser than the header itself
    # (a data row below an unrecognised header is not taken for the header)
    eligible = [i for i in range(len(head))
                if all(f <= max(1, filled[i] // 2) for f in filled[:i])]
    best = max(eligible, key=lambda i: (scored[i][0], -i))
    if legacy is not None and scored[legacy][0] >= scored[best][0]:
        best = legacy
    if scored[best][1] == 0:  # nothing recognised: the rule before scoring, else row 1
        best = legacy if legacy is not None else 0
    group = None
    if best > 0 and records[best - 1][0] == records[best][0] - 1 and _group_fits(
            records[best - 1][1], records[best][1]):
        group = best - 1
    elif best + 1 < len(records) and records[best + 1][0] == records[best][0] + 1 and \
            _group_fits(records[best][1], records[best + 1][1]):
        best, group = best + 1, best
    cells = records[best][1]
    if group is not None:
        cells = combine_group(records[group][1], cells)
    names = [c for c in cells if c]
    known = [c for c in names if _score([c])[1]]
    reason = (f"row {records[best][0]} taken as the header: {len(known)} of {len(names)} names "
              f"recognised ({', '.join(known[:4])}{', ...' if len(known) > 4 else ''})")
    if best + 1 < len(records) and _numeric_share(records[best + 1][1]) > 0.2:
        reason += ", the row below holds numbers"
    if group is not None:
        reason += (f"; row {records[group][0]} is a group header, combined with the visit "
                   "names below it")
    above = [str(n) for n, _ in records[:best] if group is None or n != records[group][0]]
    if above:
        reason += (f"; row{'s' if len(above) > 1 else ''} {', '.join(above)} above it skipped "
                   "(a title or note)")
    return HeaderChoice(best, group, reason)


_LEGEND = ("legend", "legende", "legenda", "codes", "codebook", "kodierung", "notes", "notizen",
           "info", "readme", "erlauterung", "erklarung", "explication", "toelichting", "lookup",
           "dictionary", "dictionnaire", "variablen")


def choose_sheet(sheets: Sequence[tuple[str, int]]) -> str:
    """The data sheet of a workbook from ``(name, filled cells)``: one named ``observations``
    or ``data``; else the fullest sheet whose name is not a legend, note or code list.

    Examples
    --------
    >>> choose_sheet([("Legende", 40), ("Tabelle1", 300), ("Tabelle2", 0)])
    'Tabelle1'
    """
    by_name = {n.lower(): n for n, _ in sheets}
    for wanted in ("observations", "data"):
        if wanted in by_name:
            return by_name[wanted]
    from analysis.data.vocabulary_file import normalise_text

    data = [(n, size) for n, size in sheets
            if not any(w in normalise_text(n).replace(" ", "") for w in _LEGEND)]
    return max(data or sheets, key=lambda t: t[1])[0]
