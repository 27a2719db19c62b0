"""Spellings of a missing value, shared by the row rules and the identifier screen.

Compared in lower case after stripping. A value spelled like this is a missing observation
(noted and excluded); a patient id or visit spelled like this is an error, never a patient or
a visit.
"""

from __future__ import annotations

NA_TOKENS = frozenset({
    "", "na", "n/a", "n.a.", "nan", "null", "none", "-", "--", ".", "missing", "nd", "n.d.",
    "#n/a", "not done", "not tested", "not assessed", "unknown", "nt", "n.t.", "?", "\u2013",
    "\u2014", "niet gedaan", "onbekend", "nicht durchgeführt", "unbekannt", "non fait",
    "inconnu", "no realizado", "desconocido", "missing value", "<na>", "nil", "void", "empty",
    "blank", "sysmis"})


def is_missing(text: object) -> bool:
    """True when ``text`` is a missing-value spelling.

    Examples
    --------
    >>> is_missing(" N/A "), is_missing("None"), is_missing("P01")
    (True, True, False)
    """
    return str(text).strip().lower() in NA_TOKENS
