"""Every option list of the package, defined once (pyfixest's ``literals.py`` pattern).

Each option is a ``Literal`` type used in signatures; :func:`choices` gives its values and
:func:`check_choice` validates a user's value once, at the entry point (configuration, command
line or function), raising :class:`~analysis.errors.InvalidInputError` (or the error class
passed) with the allowed values and a did-you-mean.

Examples
--------
>>> check_choice("kenward-roger", DfMethod, name="df_method")
'kenward-roger'
>>> check_choice("kenward", DfMethod, name="df_method")
Traceback (most recent call last):
...
analysis.errors.InvalidInputError: df_method: 'kenward' is not one of satterthwaite, kenward-roger; did you mean 'kenward-roger'?
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, Literal, get_args

from analysis.errors import InvalidInputError, ITBError

#: Direction in which a test or index counts a change as improvement.
Better = Literal["lower", "higher"]
#: Direction of improvement of a measure in the codebook (``context``: no fixed direction).
Direction = Literal["lower", "higher", "towards_normal", "context"]
#: Measurement level of a measure.
Kind = Literal["continuous", "ordinal"]
#: Denominator degrees of freedom of mixed-model tests.
DfMethod = Literal["satterthwaite", "kenward-roger"]
#: Link function of cumulative link (ordinal) models.
Link = Literal["logit", "probit", "cloglog"]
#: Baseline value of a patient and measure from several baseline observations.
BaselineRule = Literal["last", "mean"]
#: Alternative hypothesis of one-patient tests (a tail, or a clinical direction).
Alternative = Literal["two-sided", "less", "greater", "worse", "better"]
#: One tail of a score distribution.
Tail = Literal["less", "greater"]
#: Tau-U variants (Parker et al. 2011).
TauVariant = Literal["A vs B", "A vs B - trend A"]
#: Standardiser of d_av (mean of the two SDs, or root mean square).
Standardizer = Literal["average", "rms"]
#: Phases of an ITB course.
Phase = Literal["baseline", "test_infusion", "post_implant"]
#: Body side ("" for measures without a side).
Side = Literal["L", "R", ""]
#: Layouts of an input table.
Layout = Literal["tidy", "wide", "redcap"]
#: Report output formats.
ReportFormat = Literal["html", "pdf", "docx"]
#: Report rendering engines.
Engine = Literal["auto", "quarto", "builtin"]
#: Figure file formats.
FigureFormat = Literal["png", "svg", "pdf"]
#: Figure widths (a journal column or the full page).
Width = Literal["column", "page"]

DF_METHODS = get_args(DfMethod)
LINKS = get_args(Link)
BASELINE_RULES = get_args(BaselineRule)
DIRECTIONS = get_args(Direction)
KINDS = get_args(Kind)
PHASES = get_args(Phase)
SIDES = get_args(Side)
TAU_VARIANTS = get_args(TauVariant)
ALTERNATIVES = get_args(Alternative)
REPORT_FORMATS = get_args(ReportFormat)
ENGINES = get_args(Engine)


def choices(option: Any) -> tuple[str, ...]:
    """The allowed values of a ``Literal`` option (or of a tuple of values).

    Examples
    --------
    >>> choices(Better)
    ('lower', 'higher')
    """
    values = get_args(option) if get_args(option) else tuple(option)
    return tuple(values)


def did_you_mean(value: Any, allowed: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest allowed value, or ``""``.

    Examples
    --------
    >>> did_you_mean("gait_sped", ["gait_speed", "tug"])
    "; did you mean 'gait_speed'?"
    """
    near = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1, cutoff=0.6)
    return f"; did you mean '{near[0]}'?" if near else ""


def check_choice(value: Any, option: Any, *, name: str, source: str | None = None,
                 error: type[ITBError] = InvalidInputError) -> str:
    """Return ``value`` if it is one of the option's values, else raise ``error``.

    Parameters
    ----------
    value
        The value given by the user.
    option
        A ``Literal`` type of this module, or a tuple of allowed values.
    name
        The argument or configuration key, echoed in the message.
    source
        Where the value came from (a file name), put before the message.
    error
        Error class raised (``InvalidInputError`` for functions, ``ConfigError`` for files).

    Examples
    --------
    >>> check_choice("lower", Better, name="better")
    'lower'
    """
    allowed = choices(option)
    if value in allowed:
        return value
    prefix = f"{source}: " if source else ""
    raise error(f"{prefix}{name}: {value!r} is not one of {', '.join(map(str, allowed))}"
                f"{did_you_mean(value, allowed)}")
