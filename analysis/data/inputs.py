"""Inputs stay inside the dataset: the files of a dataset that are read, and the link rule.

A symbolic link under a dataset folder (the observations file, ``patients.csv``,
``study.yaml``, ``mapping.yaml``, a REDCap data dictionary, the C3D trials and ``norms.parquet`` under ``gait/``)
that resolves outside that folder is refused before anything is read, naming the link and where
it points (:func:`analysis.paths.check_inside`); ``follow_links=True`` (``--follow-links``)
follows such links. A data file given alone is judged against the folder holding it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from analysis.errors import DataValidationError, Problem
from analysis.paths import OutsideDatasetError, check_inside

__all__ = ["check_dataset", "dataset_inputs", "dictionary_file", "observations_file"]

#: Files of a dataset folder read besides the observations file.
_BESIDE = ("patients.csv", "study.yaml", "mapping.yaml")
_GAIT_FILES = ("*.c3d", "norms.parquet")
_OBS_EXT = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".sav", ".zsav", ".dta", ".parquet", ".pq")


def _present(path: Path) -> bool:
    return path.is_symlink() or path.exists()


def _gait_files(folder: Path) -> list[Path]:
    return [p for pattern in _GAIT_FILES for p in sorted(folder.glob(pattern))]


def observations_file(root: Path) -> Path:
    """The one ``observations.*`` file of a dataset directory (DataValidationError otherwise).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "observations.xlsx").write_text("")
    >>> observations_file(d).name
    'observations.xlsx'
    """
    found = sorted(p for p in root.iterdir() if p.stem == "observations" and
                   p.suffix.lower() in _OBS_EXT)
    if len(found) != 1:
        what = "no observations file" if not found else \
            f"{len(found)} observations files ({', '.join(p.name for p in found)})"
        raise DataValidationError([Problem(str(root), None, None, None, f"the dataset directory "
                                           f"has {what}", fix="give exactly one file named "
                                           "observations.csv (or .xlsx, .sav, .dta, .parquet)")])
    return found[0]


def _is_dictionary(path: Path) -> bool:
    return path.suffix.lower() == ".csv" and "datadictionary" in path.stem.lower().replace(
        "_", "").replace(" ", "")


def dictionary_file(root: Path, *, beside: Path | None = None) -> Path | None:
    """A REDCap data dictionary in a dataset directory (name contains 'datadictionary', as
    REDCap names it: ``<PROJECT>_DataDictionary_<date>.csv``); with several, the one whose
    project prefix the export ``beside`` shares (``<PROJECT>_DATA_<date>_<time>.csv``).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "ITB_DataDictionary_2024.csv").write_text("")
    >>> dictionary_file(d).name
    'ITB_DataDictionary_2024.csv'
    >>> _ = (d / "HSP_DataDictionary_2024-03-10.csv").write_text("")
    >>> dictionary_file(d, beside=d / "HSP_DATA_2024-03-10_1130.csv").name
    'HSP_DataDictionary_2024-03-10.csv'
    """
    found = sorted(p for p in Path(root).iterdir() if _is_dictionary(p))
    if beside is not None and len(found) > 1:
        stem = beside.stem.lower()
        return max(found, key=lambda p: len(os.path.commonprefix([stem, p.stem.lower()])))
    return found[0] if found else None


def dataset_inputs(root: str | Path) -> list[Path]:
    """Every file of the dataset folder ``root`` that the analysis may read.

    ``observations.*``, ``patients.csv``, ``study.yaml``, REDCap data dictionaries
    (``*DataDictionary*.csv``) and, under ``gait/`` and its sub-folders, the ``.c3d`` trials
    and ``norms.parquet``; links among them are listed, not followed out.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> (d / "gait" / "P01").mkdir(parents=True)
    >>> for name in ("observations.csv", "study.yaml", "notes.txt", "gait/P01/bl_trial1.c3d"):
    ...     _ = (d / name).write_text("")
    >>> [p.relative_to(d).as_posix() for p in dataset_inputs(d)]
    ['observations.csv', 'study.yaml', 'gait/P01/bl_trial1.c3d']
    """
    root = Path(root)
    found = [p for p in sorted(root.iterdir()) if p.stem == "observations" or _is_dictionary(p)]
    found += [root / name for name in _BESIDE if _present(root / name)]
    gait = root / "gait"
    if gait.is_dir():
        found += _gait_files(gait)
        for sub in sorted(p for p in gait.iterdir() if p.is_dir()):
            found += _gait_files(sub) or ([sub] if sub.is_symlink() else [])
    return found


def check_dataset(path: str | Path, *, extra: Iterable[str | Path] = (),
                  follow_links: bool = False) -> None:
    """Refuse a dataset (folder or file) whose inputs a symbolic link leads out of it.

    Parameters
    ----------
    path : path
        A dataset folder (every file of :func:`dataset_inputs` is checked) or a data file
        (checked against the folder holding it).
    extra : iterable of path
        Files given apart from the dataset (a REDCap data dictionary, a study configuration),
        each checked against the folder holding it.
    follow_links : bool
        Follow links that leave the folder instead of refusing them.

    Raises
    ------
    analysis.paths.OutsideDatasetError
        Naming every such input, its link and where it points.

    Examples
    --------
    >>> import tempfile
    >>> d, out = (Path(tempfile.mkdtemp()) for _ in range(2))
    >>> _ = (d / "observations.csv").write_text("")
    >>> (d / "gait").symlink_to(out)
    >>> _ = (out / "bl_trial1.c3d").write_text("")
    >>> try:
    ...     check_dataset(d)
    ... except Exception as exc:
    ...     print(exc.problems[0].file, "'gait'" in exc.problems[0].rule)
    gait/bl_trial1.c3d True
    >>> check_dataset(d, follow_links=True)
    """
    if follow_links:
        return
    path = Path(path)
    if path.is_dir():
        problems = _problems(dataset_inputs(path), path)
    else:
        problems = _problems([path], path.parent)
    for f in extra:
        problems += _problems([Path(f)], Path(f).parent)
    if problems:
        raise OutsideDatasetError(problems)


def _problems(paths: list[Path], root: Path) -> list[Problem]:
    try:
        check_inside(paths, root)
    except OutsideDatasetError as exc:
        return list(exc.problems)
    return []
