"""Where the package finds its own files, and file hashing shared by every layer.

In the repository, the report sources, their Quarto project file and the example datasets are
``reports/``, ``_quarto.yml`` and ``data/example/``. An installed wheel carries copies of them
under ``analysis/_bundled/`` (symlinks in the repository, see ``pyproject.toml``), used when the
repository is not beside the package, so that ``itb report`` works from a plain install.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from analysis.errors import DataValidationError, Problem

PACKAGE_ROOT = Path(__file__).resolve().parent
_REPOSITORY = PACKAGE_ROOT.parent
#: The folder holding ``_quarto.yml``, ``reports/`` and the example data: the repository when
#: the package runs from a checkout, else the copies inside the installed package.
PROJECT_ROOT = (_REPOSITORY if (_REPOSITORY / "_quarto.yml").is_file()
                and (_REPOSITORY / "reports").is_dir() else PACKAGE_ROOT / "_bundled")
EXAMPLES = (_REPOSITORY / "data" / "example" if PROJECT_ROOT == _REPOSITORY
            else PROJECT_ROOT / "example")
REPORT_SOURCES = PROJECT_ROOT / "reports"
#: report name -> (Quarto source, example dataset)
REPORTS = {
    "case-report": (REPORT_SOURCES / "case-report.qmd", EXAMPLES / "case_report"),
    "case-series": (REPORT_SOURCES / "case-series.qmd", EXAMPLES / "case_series"),
}


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as hex.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------- links

#: How to override the link rule, for messages.
FOLLOW_LINKS_FIX = ("Copy the file into the dataset folder, or follow such links on purpose with "
                    "--follow-links (Python: follow_links=True)")
_LINK_RULE = "symbolic links that leave the dataset folder are refused"


class OutsideDatasetError(DataValidationError):
    """An input reached through a symbolic link that leaves its dataset folder; ``problems``
    has one problem per such input, and ``str()`` is one line per problem."""

    def __str__(self) -> str:
        return "\n".join(map(str, self.problems))


def _shown(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (POSIX style) when it lies below it, else as given."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def outside_link(path: str | Path, root: str | Path) -> Problem | None:
    """The problem with ``path`` when it resolves outside the folder ``root``, else None.

    ``path`` is lexically below ``root`` (``root / "gait" / "P01" / "bl_trial1.c3d"``); the
    problem names the first symbolic link on the way down from ``root``, where it points, and
    the rule. A link that stays inside ``root`` (``latest.csv -> v2.csv``), a broken link and a
    link loop pass (the readers report the last two).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d, out = (pathlib.Path(tempfile.mkdtemp()) for _ in range(2))
    >>> _ = (out / "obs.csv").write_text("x")
    >>> (d / "observations.csv").symlink_to(out / "obs.csv")
    >>> p = outside_link(d / "observations.csv", d)
    >>> p.file, "outside the dataset folder" in p.rule
    ('observations.csv', True)
    >>> (d / "same.csv").symlink_to("observations.csv")  # inside, but leads outside in turn
    >>> outside_link(d / "same.csv", d).rule.startswith("symbolic link 'same.csv'")
    True
    >>> _ = (d / "v2.csv").write_text("x"); (d / "latest.csv").symlink_to("v2.csv")
    >>> outside_link(d / "latest.csv", d) is None
    True
    """
    path, root = Path(path), Path(root)
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    if real == real_root or real_root in real.parents:
        return None
    link = next((p for p in _down(path, root) if p.is_symlink()), path)
    try:
        target = os.readlink(link)
    except OSError:
        target = str(real)
    return Problem(_shown(path, root), None, None, None,
                   f"symbolic link '{_shown(link, root)}' points to '{target}' "
                   f"({os.path.realpath(link)}), "
                   f"outside the dataset folder {real_root}: {_LINK_RULE}", fix=FOLLOW_LINKS_FIX)


def _down(path: Path, root: Path) -> list[Path]:
    """The paths from ``root`` down to ``path`` (each a step longer), or ``[path]``."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return [path]
    return [root.joinpath(*parts[:i]) for i in range(1, len(parts) + 1)]


def check_inside(paths: Iterable[str | Path], root: str | Path, *,
                 follow_links: bool = False) -> None:
    """Refuse inputs that a symbolic link leads out of their dataset folder ``root``.

    Parameters
    ----------
    paths : iterable of path
        Files to be read, each lexically below ``root``.
    root : path
        The dataset folder (for a file given alone: the folder holding it).
    follow_links : bool
        Follow such links (the user asked for it): nothing is checked.

    Raises
    ------
    OutsideDatasetError
        One problem per input (one per link), naming the file, the link, where it points, the
        rule and the option that overrides it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d, out = (pathlib.Path(tempfile.mkdtemp()) for _ in range(2))
    >>> (d / "study.yaml").symlink_to(out / "study.yaml")
    >>> try:
    ...     check_inside([d / "study.yaml"], d)
    ... except OutsideDatasetError as exc:
    ...     print(str(exc).split(":")[0], "--follow-links" in str(exc))
    study.yaml True
    >>> check_inside([d / "study.yaml"], d, follow_links=True)
    """
    if follow_links:
        return
    problems, links = [], set()
    for path in paths:
        p = outside_link(path, root)
        if p is not None and p.rule not in links:  # one problem per link
            links.add(p.rule)
            problems.append(p)
    if problems:
        raise OutsideDatasetError(problems)


def check_file_inside(path: str | Path, *, follow_links: bool = False) -> Path:
    """``path`` (a file given alone), refused when it is a symbolic link that leads out of the
    folder holding it (:func:`check_inside`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> check_file_inside(d / "obs.csv").name
    'obs.csv'
    """
    path = Path(path)
    check_inside([path], path.parent, follow_links=follow_links)
    return path


def file_umask() -> int:
    """The process umask (read without changing it for longer than a call), so that files
    written through a temporary file (``mkstemp`` makes them 0600) get the mode every other
    output gets: 0644 under the usual umask 022."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
