"""The limits on the work one input may cause, their defaults, and how to raise them.

Every input the tool reads is bounded before the expensive step: a file too large, a line
too long, too many columns or cells, an ``.xlsx`` whose zip directory promises too much
uncompressed data, a YAML file too deep or with too many aliases, a C3D file declaring absurd
frame or point counts, a plan of too many simulated analyses. A refusal is one line naming the
file, the limit (by its name, e.g. ``max_line_bytes``) and how to raise it.

Each limit is raised (or lowered) for one run with the command-line option ``--limit
NAME=VALUE`` (any subcommand; repeat it for several limits) or with the environment variable
``ITB_<NAME>`` in upper case (``ITB_MAX_LINE_BYTES=5000000``); the option wins over the
environment. Values are positive numbers (``1e6`` and ``1_000_000`` are accepted).

==================== ============ =========================================================
name                 default      bounds
==================== ============ =========================================================
max_file_mb          500          size of a data, patients, norms or C3D file (MB)
max_line_bytes       1000000      longest line of a delimited text file (bytes)
max_columns          16384        columns of a data file (Excel's own maximum)
max_cells            50000000     cells (rows x columns) of a data file
max_xlsx_mb          200          uncompressed size of an .xlsx workbook (MB, zip directory)
max_xlsx_ratio       100          compression ratio of a part of an .xlsx workbook over 1 MB
max_yaml_mb          2            size of a YAML file (configuration, codebook, design, ...)
max_yaml_depth       30           nesting levels of a YAML file
max_yaml_aliases     100          alias uses (``*name``) in a YAML file
max_yaml_nodes       100000       values of a YAML file once aliases are expanded
max_c3d_frames       1000000      frames a C3D header declares
max_c3d_points       1000         points (markers and model outputs) a C3D header declares
max_plan_scenarios   10000        scenarios of an ``itb plan`` design (grid combinations)
max_plan_analyses    10000000     simulated analyses of a plan (datasets x tests)
max_plan_n           10000        patients, days or controls of one simulated dataset
==================== ============ =========================================================

Examples
--------
>>> get("max_columns")
16384
>>> with overridden({"max_columns": "20000"}):
...     get("max_columns")
20000
>>> hint("max_columns")
'limit max_columns = 16384; raise it with --limit max_columns=N or ITB_MAX_COLUMNS=N'
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from analysis.errors import ITBError


class LimitError(ITBError):
    """An input exceeds one of the limits of this module; the message names the limit."""


@dataclass(frozen=True)
class Limit:
    """One limit: its ``name`` (also the option's), ``default`` and what it bounds."""

    name: str
    default: float
    what: str

    @property
    def env(self) -> str:
        """The environment variable that overrides the default."""
        return "ITB_" + self.name.upper()


LIMITS: dict[str, Limit] = {lim.name: lim for lim in (
    Limit("max_file_mb", 500, "size of a data, patients, norms or C3D file (MB)"),
    Limit("max_line_bytes", 1_000_000, "longest line of a delimited text file (bytes)"),
    Limit("max_columns", 16_384, "columns of a data file"),
    Limit("max_cells", 50_000_000, "cells (rows x columns) of a data file"),
    Limit("max_xlsx_mb", 200, "uncompressed size of an .xlsx workbook (MB)"),
    Limit("max_xlsx_ratio", 100, "compression ratio of a part of an .xlsx workbook"),
    Limit("max_yaml_mb", 2, "size of a YAML file (MB)"),
    Limit("max_yaml_depth", 30, "nesting levels of a YAML file"),
    Limit("max_yaml_aliases", 100, "alias uses in a YAML file"),
    Limit("max_yaml_nodes", 100_000, "values of a YAML file once aliases are expanded"),
    Limit("max_c3d_frames", 1_000_000, "frames declared by a C3D header"),
    Limit("max_c3d_points", 1_000, "points declared by a C3D header"),
    Limit("max_plan_scenarios", 10_000, "scenarios of an itb plan design"),
    Limit("max_plan_analyses", 10_000_000, "simulated analyses of a plan (datasets x tests)"),
    Limit("max_plan_n", 10_000, "patients, days or controls of one simulated dataset"),
)}

_OVERRIDES: dict[str, float] = {}


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _number(name: str, text: object, origin: str) -> float:
    try:
        value = float(str(text).strip().replace("_", ""))
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise LimitError(f"{origin}: {text!r} is not a positive number (limit {name})")
    return int(value) if value.is_integer() else value


def _known(name: str, origin: str) -> Limit:
    if name not in LIMITS:
        from analysis.vocabulary import did_you_mean

        raise LimitError(f"{origin}: unknown limit {name!r} (limits: {', '.join(LIMITS)})"
                         f"{did_you_mean(name, tuple(LIMITS))}")
    return LIMITS[name]


def get(name: str) -> float:
    """The value of limit ``name``: ``--limit`` option, else ``ITB_<NAME>``, else the default.

    Examples
    --------
    >>> get("max_yaml_depth")
    30
    """
    lim = _known(name, "limit")
    if name in _OVERRIDES:
        return _OVERRIDES[name]
    text = os.environ.get(lim.env)
    if text is not None and text.strip():
        return _number(name, text, lim.env)
    return lim.default


def hint(name: str) -> str:
    """The clause every refusal ends with: the limit's name, value and how to raise it.

    Examples
    --------
    >>> hint("max_plan_n")
    'limit max_plan_n = 10000; raise it with --limit max_plan_n=N or ITB_MAX_PLAN_N=N'
    """
    value = get(name)
    return (f"limit {name} = {_fmt(value)}; raise it with --limit {name}=N or "
            f"{LIMITS[name].env}=N")


def parse_option(text: str) -> tuple[str, float]:
    """Split one ``--limit NAME=VALUE`` option; a bad one raises :class:`LimitError`.

    Examples
    --------
    >>> parse_option("max_cells=1e8")
    ('max_cells', 100000000)
    """
    name, sep, value = str(text).partition("=")
    name = name.strip().lower().replace("-", "_")
    if not sep:
        raise LimitError(f"--limit {text}: write NAME=VALUE, e.g. --limit max_file_mb=1000")
    _known(name, f"--limit {text}")
    return name, _number(name, value, f"--limit {text}")


@contextlib.contextmanager
def overridden(values: Mapping[str, object]) -> Iterator[None]:
    """Set limits for the duration of a ``with`` block (the ``--limit`` options of a run).

    The values are also put in the environment (``ITB_<NAME>``), so worker processes started
    inside the block see them; both are restored afterwards.

    Examples
    --------
    >>> with overridden({"max_plan_n": 50}):
    ...     get("max_plan_n"), os.environ["ITB_MAX_PLAN_N"]
    (50, '50')
    >>> get("max_plan_n")
    10000
    """
    parsed = {name: _number(name, v, f"--limit {name}") for name, v in values.items()
              if _known(name, f"--limit {name}")}
    saved = dict(_OVERRIDES)
    saved_env = {name: os.environ.get(LIMITS[name].env) for name in parsed}
    _OVERRIDES.update(parsed)
    for name, value in parsed.items():
        os.environ[LIMITS[name].env] = _fmt(value)
    try:
        yield
    finally:
        _OVERRIDES.clear()
        _OVERRIDES.update(saved)
        for name, old in saved_env.items():
            if old is None:
                os.environ.pop(LIMITS[name].env, None)
            else:
                os.environ[LIMITS[name].env] = old


def check(name: str, value: float, where: str, what: str) -> None:
    """Raise :class:`LimitError` when ``value`` exceeds limit ``name``.

    ``where`` (the file) and ``what`` (the quantity, e.g. "the file has 20000 columns") start
    the message; :func:`hint` ends it.

    Examples
    --------
    >>> check("max_columns", 20_000, "obs.csv", "the file has 20000 columns")
    Traceback (most recent call last):
    ...
    analysis.limits.LimitError: obs.csv: the file has 20000 columns, more than 16384 (limit max_columns = 16384; raise it with --limit max_columns=N or ITB_MAX_COLUMNS=N)
    """
    limit = get(name)
    if value > limit:
        raise LimitError(f"{where}: {what}, more than {_fmt(limit)} ({hint(name)})")
