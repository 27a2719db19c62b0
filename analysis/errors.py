"""Error classes: one base class, each error names what went wrong and how to fix it.

The command line catches :class:`ITBError`, prints its message and exits with status 1,
so users never see a traceback for a problem in their input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analysis.text import visible


class ITBError(Exception):
    """Base class of every error this package raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    Attributes
    ----------
    file, row, column, value, rule
        Where the problem is and which rule it breaks. ``row`` is the 1-based line number in
        the file as a spreadsheet shows it (header = row 1), or ``None`` for file-level problems.
    severity
        ``"error"`` (the data cannot be used) or ``"note"`` (accepted and changed, e.g. a
        converted unit or a column name matched case-insensitively).
    fix
        What the user can do about it.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str
    severity: str = "error"
    fix: str = ""

    def __str__(self) -> str:
        """One line; text from the data with its hidden characters written as ``<U+XXXX>``.

        Examples
        --------
        >>> print(Problem("obs.csv", 3, "measure", "gait\\x1b[2J", "not in the codebook"))
        obs.csv, row 3, column 'measure': not in the codebook (value: 'gait<U+001B>[2J')
        """
        where = visible(self.file)
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{visible(self.column)}'"
        text = f"{where}: {visible(self.rule)}"
        if self.value is not None:
            text += f" (value: {visible(self.value)!r})"
        if self.fix:
            text += f". {visible(self.fix)}"
        return text


@dataclass
class DataValidationError(ITBError):
    """The data broke one or more rules; ``problems`` lists every one of them."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        errors = [p for p in self.problems if p.severity == "error"]
        lines = [f"{len(errors)} problem(s) in the data:"]
        lines += [f"  - {p}" for p in errors]
        return "\n".join(lines)


class InvalidInputError(ITBError, ValueError):
    """Arguments to an analysis function are unusable (wrong shape, unknown option, missing
    column); the message names the value and the fix."""


class ConfigError(ITBError):
    """The study configuration file is invalid."""


class CodebookError(ITBError):
    """The codebook (built-in or user-supplied) is invalid."""


class ModelSpecError(ITBError):
    """A model cannot be fitted to these data as specified (rank, size, names)."""


class NonConvergenceError(ITBError):
    """A model did not reach a verified optimum."""


class InputChangedError(ITBError):
    """An input recorded in a manifest no longer has the recorded SHA-256."""


class RenderError(ITBError):
    """A report failed to render; the message names the report, the cell and the error."""


class MappingError(ITBError):
    """A column mapping file (``mapping.yaml``) is invalid; ``items`` lists every problem."""

    def __init__(self, message: str, items: tuple[str, ...] = ()):
        super().__init__(message)
        self.items = tuple(items) or (message,)
