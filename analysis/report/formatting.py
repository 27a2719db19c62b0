"""Number formatting for every table, figure label and inline number in the reports.

One module, so that a p-value or an interval reads the same everywhere. Conventions:

- Missing values (``None``, NaN, ``pd.NA``) print as :data:`MISSING`, an en dash ("–"),
  the usual typographic mark for "not available" in journal tables. It is one character, never
  mistaken for a number, and survives Markdown, HTML, DOCX and PDF output.
- Negative numbers use the true minus sign (U+2212, :data:`MINUS`), as typeset journals do, in
  every output format; a value that rounds to zero prints without a sign ("0.00", not "−0.00").
  :func:`parse_num` reads such text back.
- The parts of a statistic that must stay on one line are joined by no-break spaces (U+00A0,
  :data:`NBSP`): "p = .010", "t(9) = 4.74", the two limits of an interval "[0.56, 2.40]" and
  "95% CI" (:data:`CI95`).
- p-values follow the journal style of the report (:func:`number_style`, default ``"apa"``):

  * ``"apa"`` (APA 7): "p = .043", no leading zero (a p-value cannot exceed 1), three decimals
    (two on request), "p < .001" below the smallest printable value, "p > .999" when it would
    round to 1;
  * ``"ama"`` (AMA 11th edition, also used by Vancouver-style journals): "P = .04", capital P,
    two decimals, three between .001 and .01, "P < .001", "P > .99".

- Rounding is Python's ``format`` (correctly rounded decimal of the binary value).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any, Literal

import pandas as pd

from analysis.errors import InvalidInputError

#: Text printed for a missing or undefined number (en dash).
MISSING = "\u2013"

#: The minus sign of negative numbers (U+2212).
MINUS = "\u2212"

#: No-break space, between the parts of a statistic that must not be split across lines.
NBSP = "\u00a0"

#: "95% CI" that never breaks across lines.
CI95 = f"95%{NBSP}CI"

#: Journal styles of p-values (see :func:`number_style`).
NumberStyle = Literal["apa", "ama"]
NUMBER_STYLES: tuple[str, ...] = ("apa", "ama")

_STYLE: dict[str, str] = {"style": "apa"}


def get_number_style() -> str:
    """The journal style in use ("apa" unless set by :func:`set_number_style`).

    Examples
    --------
    >>> get_number_style()
    'apa'
    """
    return _STYLE["style"]


def set_number_style(style: str | None) -> str:
    """Set the journal style of p-values for every later call; returns the previous style.

    ``None`` or an empty string keeps the current style (a report parameter left unset).

    Examples
    --------
    >>> old = set_number_style("ama"); fmt_p(0.0432).replace(NBSP, " ")
    'P = .04'
    >>> _ = set_number_style(old); fmt_p(0.0432).replace(NBSP, " ")
    'p = .043'
    """
    old = _STYLE["style"]
    if style:
        from analysis.vocabulary import check_choice

        _STYLE["style"] = check_choice(str(style).strip().lower(), NUMBER_STYLES,
                                       name="number-style")
    return old


@contextlib.contextmanager
def number_style(style: str | None) -> Iterator[str]:
    """Use a journal style of p-values within a ``with`` block.

    Examples
    --------
    >>> with number_style("ama"):
    ...     [fmt_p(p, prefix=False) for p in (0.0004, 0.0049, 0.0123, 0.996)]
    ['<\xa0.001', '.005', '.01', '>\xa0.99']
    """
    old = set_number_style(style)
    try:
        yield get_number_style()
    finally:
        _STYLE["style"] = old


def parse_num(text: str) -> float:
    """Read back a number printed by this module (true minus sign, no-break spaces).

    Examples
    --------
    >>> parse_num("\u22122.46"), parse_num("0.5")
    (-2.46, 0.5)
    """
    return float(str(text).replace(MINUS, "-").replace(NBSP, "").strip())



def is_missing(x: Any) -> bool:
    """True for ``None``, NaN and ``pd.NA``.

    Examples
    --------
    >>> is_missing(float("nan")), is_missing(None), is_missing(0.0)
    (True, True, False)
    """
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _signless_zero(text: str) -> str:
    """Drop the sign of a number that rounds to zero ("-0.00" -> "0.00"); a true minus else."""
    if text.startswith("-"):
        return text[1:] if float(text) == 0 else MINUS + text[1:]
    return text


def fmt_num(x: Any, digits: int = 2) -> str:
    """Format a number with a fixed number of decimals.

    Parameters
    ----------
    x : float
        The number; missing values give :data:`MISSING`.
    digits : int, default 2
        Decimals to print (0 or more).

    Examples
    --------
    >>> fmt_num(1.23456)
    '1.23'
    >>> fmt_num(-2.456) == "\u22122.46"   # true minus sign
    True
    >>> fmt_num(-0.001, 2)
    '0.00'
    >>> fmt_num(108, 0)
    '108'
    >>> fmt_num(float("nan"))
    '–'
    """
    if digits < 0:
        raise InvalidInputError(f"digits must be 0 or more, got {digits!r}; pass e.g. digits=2")
    if is_missing(x):
        return MISSING
    x = float(x)
    if math.isinf(x):
        return "\u221e" if x > 0 else MINUS + "\u221e"
    return _signless_zero(f"{x:.{digits}f}")


def fmt_p(p: Any, *, digits: Literal[2, 3] | None = None, prefix: bool = True,
          style: str | None = None) -> str:
    """Format a p-value in the journal style of the report.

    Parameters
    ----------
    p : float
        The p-value, in [0, 1]; missing gives :data:`MISSING` (with the prefix, "p = –").
    digits : {3, 2}, optional
        Decimals. APA: 3 unless given; values below ``10**-digits`` print as "< .001" (or
        "< .01"). AMA: 2, or 3 below .01, unless given.
    prefix : bool, default True
        Prepend "p = " (inline text); ``False`` for table cells ("< .001", ".043").
    style : {"apa", "ama"}, optional
        The journal style; default the one set by :func:`number_style`.

    The sign, the relation and the value are joined by no-break spaces (:data:`NBSP`).

    Examples
    --------
    >>> fmt_p(0.0004).replace(NBSP, " ")
    'p < .001'
    >>> fmt_p(0.04321).replace(NBSP, " ")
    'p = .043'
    >>> fmt_p(0.05).replace(NBSP, " ")
    'p = .050'
    >>> fmt_p(1.0).replace(NBSP, " ")
    'p > .999'
    >>> fmt_p(0.0312, digits=2, prefix=False)
    '.03'
    >>> fmt_p(0.0312, style="ama").replace(NBSP, " "), fmt_p(0.0043, style="ama").replace(NBSP, " ")
    ('P = .03', 'P = .004')
    >>> fmt_p(float("nan")).replace(NBSP, " ")
    'p = –'
    """
    style = get_number_style() if style is None else style
    if style not in NUMBER_STYLES:
        from analysis.vocabulary import check_choice

        style = check_choice(style, NUMBER_STYLES, name="number-style")
    if digits is not None and digits not in (2, 3):
        raise InvalidInputError(f"fmt_p digits must be 2 or 3 (APA), got {digits!r}")
    letter = "P" if style == "ama" else "p"
    lead = f"{letter}{NBSP}" if prefix else ""
    eq = f"={NBSP}" if prefix else ""
    if is_missing(p):
        return f"{lead}{eq}{MISSING}"
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise InvalidInputError(f"a p-value must lie in [0, 1], got {p!r}; check the column passed")
    if digits is None:
        # AMA: two decimals, three when the value would round below .01 (AMA Manual 11th ed.)
        digits = 3 if style == "apa" or float(f"{p:.3f}") < 0.01 else 2
    smallest = 10.0**-(3 if style == "ama" else digits)
    if p < smallest:
        return f"{lead}<{NBSP}.{'0' * (round(-math.log10(smallest)) - 1)}1"
    text = f"{p:.{digits}f}"
    if float(text) >= 1.0:
        return f"{lead}>{NBSP}.{'9' * digits}"
    return f"{lead}{eq}{text[1:]}"  # drop the leading zero: "0.043" -> ".043"


def fmt_ci(lo: Any, hi: Any, digits: int = 2) -> str:
    """Format an interval as "[lo, hi]".

    Both limits missing give :data:`MISSING`; one missing limit prints as the dash inside the
    brackets (a one-sided interval).

    Examples
    --------
    >>> fmt_ci(0.5605, 2.4034).replace(NBSP, " ")
    '[0.56, 2.40]'
    >>> fmt_ci(float("nan"), float("nan"))
    '–'
    >>> fmt_ci(0.61, float("nan")).replace(NBSP, " ")
    '[0.61, –]'
    """
    if is_missing(lo) and is_missing(hi):
        return MISSING
    return f"[{fmt_num(lo, digits)},{NBSP}{fmt_num(hi, digits)}]"


def fmt_est_ci(est: Any, lo: Any, hi: Any, digits: int = 2) -> str:
    """Format an estimate with its interval, "1.50 [0.56, 2.40]".

    Without an interval, only the estimate is printed.

    Examples
    --------
    >>> fmt_est_ci(1.5, 0.5605, 2.4034).replace(NBSP, " ")
    '1.50 [0.56, 2.40]'
    >>> fmt_est_ci(-2.5, float("nan"), float("nan"), 1) == MINUS + "2.5"
    True
    """
    ci = fmt_ci(lo, hi, digits)
    est_text = fmt_num(est, digits)
    return est_text if ci == MISSING else f"{est_text} {ci}"


def fmt_df(df: Any) -> str:
    """Format degrees of freedom: an integer when integral, else one decimal.

    Examples
    --------
    >>> fmt_df(9.0)
    '9'
    >>> fmt_df(17.2634)
    '17.3'
    >>> fmt_df(None)
    '–'
    """
    if is_missing(df):
        return MISSING
    df = float(df)
    if math.isfinite(df) and abs(df - round(df)) < 1e-8:
        return str(int(round(df)))
    return fmt_num(df, 1)


def fmt_n_pct(n: Any, total: Any, *, digits: int = 0) -> str:
    """Format a count with its percentage of a total, "3 (60%)".

    Examples
    --------
    >>> fmt_n_pct(3, 5)
    '3 (60%)'
    >>> fmt_n_pct(1, 3, digits=1)
    '1 (33.3%)'
    >>> fmt_n_pct(0, 0)
    '0 (–)'
    """
    if is_missing(n):
        return MISSING
    count = int(round(float(n)))
    if is_missing(total) or float(total) == 0:
        return f"{count} ({MISSING})"
    return f"{count} ({fmt_num(100.0 * count / float(total), digits)}%)"


def fmt_pct(x: Any, digits: int = 0) -> str:
    """Format a proportion (0-1) as a percentage, "60%".

    Examples
    --------
    >>> fmt_pct(0.6)
    '60%'
    >>> fmt_pct(float("nan"))
    '–'
    """
    return MISSING if is_missing(x) else f"{fmt_num(100.0 * float(x), digits)}%"


def fmt_stat(
    name: str, statistic: Any, df: Any = None, p: Any = None, *, digits: int = 2
) -> str:
    """Format a test for running text, "t(9) = 4.74, p = .001" (no-break spaces inside each part).

    Examples
    --------
    >>> fmt_stat("t", 4.7434, 9, 0.001054).replace(NBSP, " ")
    't(9) = 4.74, p = .001'
    >>> fmt_stat("V", 40, p=0.01953, digits=0).replace(NBSP, " ")
    'V = 40, p = .020'
    """
    df_text = "" if is_missing(df) else f"({fmt_df(df)})"
    text = f"{name}{df_text}{NBSP}={NBSP}{fmt_num(statistic, digits)}"
    if not is_missing(p):
        text += f", {fmt_p(p)}"
    return text


# decimals by unit and by data (re-exported: callers import them from here)
from analysis.report.digits import (  # noqa: E402,F401
    UNIT_DIGITS,
    decimals_from_data,
    decimals_of_step,
    digits_for,
)
