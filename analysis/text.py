"""Characters a reader cannot see, written so that they can be seen: one rule for every output.

Text from the data (patient ids, visit codes, measure names, column headers, notes, file names)
reaches people in two places: the documents (through :mod:`analysis.report.escape`) and the
messages of the command line and of the validation report (:mod:`analysis.errors`,
:mod:`analysis.data.summary`, :mod:`analysis.cli`). Both write every character of
:func:`hidden` as ``<U+XXXX>`` with :func:`visible`, so that a zero-width space in a patient id
is seen, a right-to-left override cannot reorder what is shown, and a terminal escape sequence
(``ESC ] 0 ; ... BEL``, ``ESC [ 2 J``, the one-byte CSI U+009B) is printed as text instead of
reaching the terminal.

Hidden characters are those of the Unicode categories Cc (controls, C0 and C1), Cf (format:
bidi controls, zero-width joiners, soft hyphen, tags, ...), Zl and Zp (line and paragraph
separators), Co (private use), Cn (unassigned) and Cs (lone surrogates, as ``surrogateescape``
makes of undecodable bytes in file names), plus the characters that are letters or marks to
Unicode but print as nothing (:data:`ZERO_WIDTH`: Hangul fillers, Khmer inherent vowels,
variation selectors).

Why hand-written: the standard library has ``str.isprintable`` (which also refuses ordinary
spaces such as U+00A0 and says nothing about which character is the problem) and no list of
invisible letters; the rule is a few lines over ``unicodedata``.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Any, TextIO

__all__ = ["BIDI_CONTROLS", "ZERO_WIDTH", "hidden", "say", "visible"]

#: Bidirectional-text controls: they reorder the characters around them as shown.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")
#: Characters shown as nothing (zero-width, fillers, invisible operators, variation selectors).
ZERO_WIDTH = frozenset("\u00ad\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d"
                       "\u2060\u2061\u2062\u2063\u2064\u3164\ufeff\uffa0"
                       + "".join(map(chr, range(0xFE00, 0xFE10))))
_CATEGORIES = frozenset(("Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs"))
#: ZERO_WIDTH characters that str.isprintable() accepts (letters and marks to Unicode).
_PRINTABLE_HIDDEN = re.compile("[" + "".join(c for c in sorted(ZERO_WIDTH) if c.isprintable())
                               + "]")


def hidden(char: str) -> bool:
    """Whether ``char`` (one character) is written as ``<U+XXXX>`` by :func:`visible`.

    Examples
    --------
    >>> hidden("\\x1b"), hidden("\\u202e"), hidden("\\u3164"), hidden("\\u00a0"), hidden("P")
    (True, True, True, False, False)
    """
    return (unicodedata.category(char) in _CATEGORIES or char in ZERO_WIDTH
            or char in BIDI_CONTROLS)


def visible(text: Any, *, line_breaks: bool = False) -> str:
    """``text`` with every :func:`hidden` character written as ``<U+XXXX>``.

    Parameters
    ----------
    text : object
        Converted with ``str``.
    line_breaks : bool
        Keep tab and line feed as they are (carriage returns read as line feeds), for text of
        several lines; by default they too are written as ``<U+0009>`` and ``<U+000A>``, so that
        a value stays on its line.

    Returns
    -------
    str
        The text; unchanged when it holds no hidden character (so applying it twice changes
        nothing more than once).

    Examples
    --------
    >>> visible("P\\u200b01"), visible("bl\\u202e6m"), visible("P01")
    ('P<U+200B>01', 'bl<U+202E>6m', 'P01')
    >>> visible("gait\\x1b]0;pwned\\x07 speed\\n")
    'gait<U+001B>]0;pwned<U+0007> speed<U+000A>'
    >>> visible("two\\r\\nlines\\x9b2J", line_breaks=True)
    'two\\nlines<U+009B>2J'
    """
    text = str(text)
    keep = ""
    if line_breaks:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        keep = "\t\n"
    if text.isprintable() and not _PRINTABLE_HIDDEN.search(text):  # the usual case, fast
        return text
    return "".join(f"<U+{ord(c):04X}>" if c not in keep and hidden(c) else c for c in text)


def say(text: Any, *, file: TextIO | None = None, end: str = "\n") -> None:
    """Print ``text`` for people (stdout unless ``file``), through :func:`visible` with its
    line breaks kept: every line the command line prints passes here (its log lines and
    warnings through the same :func:`visible`, in :mod:`analysis.cli`).

    Examples
    --------
    >>> say("measure 'gait\x1b[2J' is not in the codebook")
    measure 'gait<U+001B>[2J' is not in the codebook
    """
    print(visible(text, line_breaks=True), file=sys.stdout if file is None else file, end=end)
