"""Number formatting for every table, figure label and inline number in the reports.

One module, so that a p-value or an interval reads the same everywhere. Conventions:

- Missing values (``None``, NaN, ``pd.NA``) print as :data:`MISSING`, an en dash ("–"),
  the usual typographic mark for "not available" in journal tables. It is one character, never
  mistaken for a number, and survives Markdown, HTML, DOCX and PDF output.
- Negative numbers use the ASCII hyphen-minus ("-") so that copied numbers parse; a value that
  rounds to zero prints without a sign ("0.00", not "-0.00").
- p-values follow APA 7: no leading zero (a p-value cannot exceed 1), three decimals by default
  (two on request), "< .001" below the smallest printable value and "> .999" when the value
  would round to 1.
- Rounding is Python's ``format`` (correctly rounded decimal of the binary value).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import pandas as pd

from analysis.errors import InvalidInputError

#: Text printed for a missing or undefined number (en dash).
MISSING = "\u2013"



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
    """Drop the sign of a number that rounds to zero ("-0.00" -> "0.00")."""
    if text.startswith("-") and float(text) == 0:
        return text[1:]
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
        return "\u221e" if x > 0 else "-\u221e"
    return _signless_zero(f"{x:.{digits}f}")


def fmt_p(p: Any, *, digits: Literal[2, 3] = 3, prefix: bool = True) -> str:
    """Format a p-value in journal (APA 7) style.

    Parameters
    ----------
    p : float
        The p-value, in [0, 1]; missing gives :data:`MISSING` (with the prefix, "p = –").
    digits : {3, 2}
        Decimals. Values below ``10**-digits`` print as "< .001" (or "< .01").
    prefix : bool, default True
        Prepend "p " (inline text); ``False`` for table cells ("< .001", ".043").

    Examples
    --------
    >>> fmt_p(0.0004)
    'p < .001'
    >>> fmt_p(0.04321)
    'p = .043'
    >>> fmt_p(0.05)
    'p = .050'
    >>> fmt_p(1.0)
    'p > .999'
    >>> fmt_p(0.0312, digits=2, prefix=False)
    '.03'
    >>> fmt_p(float("nan"))
    'p = –'
    """
    if digits not in (2, 3):
        raise InvalidInputError(f"fmt_p digits must be 2 or 3 (APA), got {digits!r}")
    lead = "p " if prefix else ""
    eq = "= " if prefix else ""
    if is_missing(p):
        return f"{lead}{eq}{MISSING}"
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise InvalidInputError(f"a p-value must lie in [0, 1], got {p!r}; check the column passed")
    smallest = 10.0**-digits
    if p < smallest:
        return f"{lead}< .{'0' * (digits - 1)}1"
    text = f"{p:.{digits}f}"
    if float(text) >= 1.0:
        return f"{lead}> .{'9' * digits}"
    return f"{lead}{eq}{text[1:]}"  # drop the leading zero: "0.043" -> ".043"


def fmt_ci(lo: Any, hi: Any, digits: int = 2) -> str:
    """Format an interval as "[lo, hi]".

    Both limits missing give :data:`MISSING`; one missing limit prints as the dash inside the
    brackets (a one-sided interval).

    Examples
    --------
    >>> fmt_ci(0.5605, 2.4034)
    '[0.56, 2.40]'
    >>> fmt_ci(float("nan"), float("nan"))
    '–'
    >>> fmt_ci(0.61, float("nan"))
    '[0.61, –]'
    """
    if is_missing(lo) and is_missing(hi):
        return MISSING
    return f"[{fmt_num(lo, digits)}, {fmt_num(hi, digits)}]"


def fmt_est_ci(est: Any, lo: Any, hi: Any, digits: int = 2) -> str:
    """Format an estimate with its interval, "1.50 [0.56, 2.40]".

    Without an interval, only the estimate is printed.

    Examples
    --------
    >>> fmt_est_ci(1.5, 0.5605, 2.4034)
    '1.50 [0.56, 2.40]'
    >>> fmt_est_ci(-2.5, float("nan"), float("nan"), 1)
    '-2.5'
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
    """Format a test for running text, "t(9) = 4.74, p = .001".

    Examples
    --------
    >>> fmt_stat("t", 4.7434, 9, 0.001054)
    't(9) = 4.74, p = .001'
    >>> fmt_stat("V", 40, p=0.01953, digits=0)
    'V = 40, p = .020'
    """
    df_text = "" if is_missing(df) else f"({fmt_df(df)})"
    text = f"{name}{df_text} = {fmt_num(statistic, digits)}"
    if not is_missing(p):
        text += f", {fmt_p(p)}"
    return text


#: Default decimals by codebook unit (resolution of the instrument, plus one where usual).
UNIT_DIGITS: dict[str, int] = {
    "m/s": 2,
    "s": 1,
    "m": 0,
    "deg": 1,
    "grade": 1,
    "points": 1,
    "uV": 1,
    "%": 1,
    "ug/day": 0,
}


def digits_for(measure_unit: Any, *, default: int = 2) -> int:
    """Default number of decimals for a measure, from its unit.

    Parameters
    ----------
    measure_unit : str or object with a ``unit`` attribute (a codebook ``Measure``)
        The unit, e.g. ``"m/s"``; unknown units give ``default``.
    default : int, default 2

    Examples
    --------
    >>> digits_for("m/s"), digits_for("s"), digits_for("m"), digits_for("furlong")
    (2, 1, 0, 2)
    """
    unit = getattr(measure_unit, "unit", measure_unit)
    if not isinstance(unit, str):
        return default
    return UNIT_DIGITS.get(unit.strip(), default)
