"""Patient ids and visit codes: safe characters, one Unicode form, no look-alike twins.

Ids and visit codes name folders and files downstream (``gait/<patient_id>/``, report files)
and are read by people, so :func:`check_labels` applies these rules to the distinct values of
the ``patient_id`` and ``visit`` columns (each distinct value judged once, as the other rules
of :mod:`analysis.data.table_rules` are):

* a value is put in Unicode normal form NFC (``unicodedata``), so that ``contrôle`` typed with a
  combining accent (NFD) and with a precomposed ``ô`` (NFC) are one visit, with a note;
* a value holding a path separator (``/`` or ``\\``), ``..``, a control character, an invisible
  (zero-width) character (U+200B-U+200D, U+2060, U+FEFF, a soft hyphen, ...) or a bidirectional
  text control (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C) is an error; the message
  writes such a character as ``<U+200B>`` (:func:`analysis.text.visible`);
* a value starting with ``=``, ``+``, ``@`` or ``-`` (but a negative number) is an error: a
  spreadsheet program would run it as a formula when results.csv is opened;
* two values that differ only in case (``P01``, ``p01``) or only in look-alike characters
  (Latin ``P01``, Cyrillic ``Р01``) are an error naming both, with their rows.

Look-alikes are found by comparing skeletons (:func:`skeleton`), after Unicode TR39.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.data.missing import NA_TOKENS
from analysis.data.rules import Collector
from analysis.text import BIDI_CONTROLS, ZERO_WIDTH, hidden, visible

__all__ = ["check_labels", "label_problem", "skeleton"]

_WHAT = {"patient_id": "patient id", "visit": "visit code"}
_LIKE = {"patient_id": "P01", "visit": "bl_m6"}

# Python's standard library has no table of confusable characters, and the maintained PyPI
# packages that carry Unicode's confusables.txt would be a new dependency for one check. This is
# a deliberate, documented subset of TR39's confusables.txt: the Cyrillic and Greek letters (and
# a few digits and symbols) that look like Latin letters or ASCII digits, the confusions a
# pseudonymous code such as P01 or a visit code such as bl_m6 can suffer. NFKC already folds
# full-width and other compatibility forms; case is folded before this map is applied.
_CONFUSABLE = str.maketrans({
    # Cyrillic, lower case (the map is applied after casefold, so upper case maps too)
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "ё": "e", "һ": "h", "н": "h", "і": "i",
    "ї": "i", "ј": "j", "к": "k", "ӏ": "l", "м": "m", "о": "o", "р": "p", "ԛ": "q", "ѕ": "s",
    "т": "t", "у": "y", "ү": "y", "х": "x", "ԝ": "w", "ь": "b", "з": "3", "ч": "4", "б": "6",
    # Greek, lower case, mapped as their upper-case forms look (Η like H, Μ like M, ...)
    "α": "a", "β": "b", "ε": "e", "ζ": "z", "η": "h", "ι": "i", "κ": "k", "μ": "m", "ν": "n",
    "ο": "o", "ρ": "p", "τ": "t", "υ": "y", "χ": "x", "ϲ": "c", "ϳ": "j",
    # Latin and ASCII look-alikes (TR39 maps 0 to O and 1 to l), dashes and low lines
    "0": "o", "1": "l", "ı": "i", "ſ": "f", "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-",
    "―": "-", "−": "-",
})


def label_problem(text: str) -> str | None:
    """Why ``text`` cannot be a patient id or visit code, or None.

    Examples
    --------
    >>> label_problem("../../tmp/x")
    "holds a path separator ('/' or '\\\\'), which could lead out of a folder"
    >>> label_problem("bl..m6")
    "holds '..', which names the parent folder in a path"
    >>> label_problem("P\\u200b01"), label_problem("P01")
    ('holds an invisible (zero-width) character', None)
    >>> label_problem('=HYPERLINK("x")')[:15], label_problem("-3")
    ("starts with '='", None)
    """
    if "/" in text or "\\" in text:
        return "holds a path separator ('/' or '\\'), which could lead out of a folder"
    if ".." in text:
        return "holds '..', which names the parent folder in a path"
    if any(c in BIDI_CONTROLS for c in text):
        return "holds a bidirectional-text control character, which can reorder what is shown"
    if any(c in ZERO_WIDTH or unicodedata.category(c) == "Cf" for c in text):
        return "holds an invisible (zero-width) character"
    if any(hidden(c) for c in text):
        return "holds a control character"
    if text[:1] in ("=", "+", "@") or (text[:1] == "-" and not text[1:2].isdigit()):
        return (f"starts with '{text[0]}', which a spreadsheet program runs as a formula when "
                "results.csv or the workbook is opened")
    return None


def skeleton(text: str) -> str:
    """The form two look-alike texts share: NFKC, case folded, confusables mapped to Latin.

    A documented subset of Unicode TR39's skeleton (see ``_CONFUSABLE``).

    Examples
    --------
    >>> skeleton("P01") == skeleton("\\u0420O1") == skeleton("p01") == skeleton("Ｐ01")
    True
    >>> skeleton("P01") == skeleton("P02")
    False
    """
    return unicodedata.normalize("NFKC", text).casefold().translate(_CONFUSABLE)


def check_labels(table: pd.DataFrame, col: Collector, *, rows: pd.Series | None = None,
                 columns: Sequence[str] = ("patient_id", "visit")) -> pd.DataFrame:
    """``table`` with its id and visit columns in NFC; every broken rule recorded in ``col``.

    Parameters
    ----------
    table : pandas.DataFrame
        Raw text columns (values as read), with ``_row`` unless ``rows`` is given.
    col : Collector
        Receives the errors and notes (see the module docstring).
    rows : pandas.Series, optional
        Spreadsheet row of each row of ``table`` (default: ``table["_row"]``).
    columns : sequence of str
        The columns to check (those missing from ``table`` are skipped).

    Returns
    -------
    pandas.DataFrame
        ``table`` itself when every value is in NFC, else a copy with the values normalised.

    Examples
    --------
    >>> c = Collector("obs.csv", [])
    >>> t = pd.DataFrame({"patient_id": ["P01", "\\u042001", "../../tmp/x"],
    ...                   "visit": ["contro\\u0302le", "contr\\u00f4le", "bl"], "_row": [2, 3, 4]})
    >>> out = check_labels(t, c)
    >>> out["visit"].tolist() == ["contr\u00f4le", "contr\u00f4le", "bl"]
    True
    >>> [(p.row, p.severity) for p in c.problems]
    [(4, 'error'), (3, 'error'), (2, 'note')]
    >>> print(c.problems[1].rule)  # doctest: +NORMALIZE_WHITESPACE
    patient ids 'P01' (row 2) and 'Р01' (row 3) differ only in look-alike characters
    ('P' U+0050 and 'Р' U+0420): they would be taken for one patient
    """
    rows = table["_row"] if rows is None else rows
    for name in columns:
        if name not in table.columns:
            continue
        codes, texts = _distinct(table[name])
        first = np.asarray(rows)[_first_positions(codes)]
        normal = [unicodedata.normalize("NFC", t) for t in texts]
        _characters(name, normal, first, col)
        _twins(name, normal, first, col)
        changed = [i for i, (t, n) in enumerate(zip(texts, normal, strict=False)) if t != n]
        if changed:
            table = _normalised(table, name, codes, normal, [int(first[i]) for i in changed], col)
    return table


def _distinct(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """(code per row, -1 when missing; distinct values in order of first appearance)."""
    values = (column.array if isinstance(column.dtype, pd.StringDtype)  # factorized by Arrow
              else column.to_numpy(dtype=object))
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    return codes, [str(u) for u in np.asarray(uniq, dtype=object)]


def _first_positions(codes: np.ndarray) -> np.ndarray:
    """Where each code first appears (codes are numbered by first appearance, -1 missing).

    Examples
    --------
    >>> _first_positions(np.array([-1, 0, 0, 1, -1, 0, 2]))
    array([1, 3, 6])
    """
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    top = np.maximum.accumulate(codes)
    return np.flatnonzero(codes > np.concatenate(([-1], top[:-1])))


def _characters(name: str, values: list[str], first: np.ndarray, col: Collector) -> None:
    for v, row in zip(values, first, strict=False):
        why = label_problem(v.strip())
        if why is not None:
            col.add(row, name, visible(v), f"the {_WHAT.get(name, name)} {why}",
                    fix=f"use letters, digits, '_' or '-' only in {name} (such as "
                    f"{_LIKE.get(name, 'P01')})")


def _twins(name: str, values: list[str], first: np.ndarray, col: Collector) -> None:
    """Values that differ only in case or in look-alike characters."""
    seen: dict[str, tuple[str, int]] = {}
    what = _WHAT.get(name, name) + "s"
    for v, row in sorted(zip(values, first, strict=False), key=lambda x: x[1]):
        text = v.strip()
        if not text or text.lower() in NA_TOKENS:  # refused by the row rules already
            continue
        key = skeleton(text)
        if key not in seen:
            seen[key] = (text, int(row))
            continue
        other, other_row = seen[key]
        if other == text:  # the same value once normalised: noted by _normalised
            continue
        how = ("only in case" if other.casefold() == text.casefold() else
               "only in look-alike characters" + _differing(other, text))
        col.add(row, name, visible(text), f"{what} '{visible(other)}' (row {other_row}) and "
                f"'{visible(text)}' (row {int(row)}) differ {how}: they would be taken for one "
                f"{'patient' if name == 'patient_id' else 'visit'}",
                fix=f"write each {_WHAT.get(name, name)} one way, in plain letters and digits")


def _differing(a: str, b: str) -> str:
    """`` ('P' U+0050 and 'Р' U+0420)``: the first pair of characters that differ."""
    for x, y in zip(a, b, strict=False):
        if x != y:
            return f" ('{visible(x)}' U+{ord(x):04X} and '{visible(y)}' U+{ord(y):04X})"
    return ""


def _normalised(table: pd.DataFrame, name: str, codes: np.ndarray, normal: list[str],
                rows: list[int], col: Collector) -> pd.DataFrame:
    values = np.array(normal + [None], dtype=object)[codes]  # code -1 (missing) -> None
    col.add(rows[0], name, None, f"{len(rows)} {_WHAT.get(name, name)}(s) written in a "
            "decomposed Unicode form (NFD) read in the composed form (NFC), so that one label "
            "typed two ways is one " + ("patient" if name == "patient_id" else "visit"),
            severity="note", fix=f"save {name} in one Unicode form")
    return table.assign(**{name: pd.array(values, dtype=table[name].dtype)})
