"""``itb init``: propose the column mapping of a data file and write it as ``mapping.yaml``.

The file is read as ``itb validate`` reads it (header found, title and group-header rows,
REDCap dictionary beside it), every column recognised (:mod:`analysis.data.mapping`), and the
proposal written beside the data (or to ``out``), atomically and with the mode every output
gets. An existing mapping is kept unless ``force``: it may hold the user's corrections.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from analysis.data.codebook import Codebook
from analysis.data.inputs import check_dataset, dictionary_file, observations_file
from analysis.data.mapping import MAPPING_FILE, Mapping
from analysis.data.readers import read_observations
from analysis.errors import DataValidationError, ITBError, Problem
from analysis.paths import file_umask

__all__ = ["propose_for", "write_mapping"]


def propose_for(path: str | Path, *, codebook: Codebook,
                redcap_dictionary: str | Path | None = None,
                follow_links: bool = False) -> tuple[Mapping, list[Problem]]:
    """The proposed mapping of a data file or dataset directory, and the reading problems.

    Raises DataValidationError when the file cannot be read at all (nothing to map).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from analysis.data.codebook import load_codebook
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "klinik.csv"
    >>> _ = f.write_text("Studie ITB\\nPat-ID;Alter;TUG_bl;TUG_6m\\nA1;51;14,2;11,0\\n")
    >>> m, _ = propose_for(f, codebook=load_codebook())
    >>> m.header_row, [c.as_ for c in m.columns]
    (2, ['patient_id', 'age', 'tug_baseline', 'tug_post_m6'])
    """
    path = Path(path)
    check_dataset(path, extra=[redcap_dictionary] if redcap_dictionary else [],
                  follow_links=follow_links)
    obs = observations_file(path) if path.is_dir() else path
    found = False
    if redcap_dictionary is None and obs.parent.is_dir():
        redcap_dictionary = dictionary_file(obs.parent, beside=obs)
        found = redcap_dictionary is not None
    frame, problems = read_observations(obs, codebook=codebook,
                                        redcap_dictionary=redcap_dictionary,
                                        dictionary_found=found)
    mapping = frame.attrs.get("mapping")
    if mapping is None:
        raise DataValidationError([p for p in problems if p.severity == "error"] or problems)
    return mapping, problems


def default_out(path: str | Path) -> Path:
    """``mapping.yaml`` in a dataset directory, or beside a data file."""
    path = Path(path)
    return (path if path.is_dir() else path.parent) / MAPPING_FILE


def write_mapping(mapping: Mapping, out: str | Path, *, force: bool = False) -> Path:
    """Write ``mapping.to_yaml()`` to ``out`` atomically (mode 0644 under umask 022)."""
    out = Path(out)
    if out.is_dir():
        out = out / MAPPING_FILE
    if out.exists() and not force:
        raise ITBError(f"{out} exists (it may hold your corrections): give --force to replace "
                       "it, or --out another file")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(mapping.to_yaml())
        os.chmod(tmp, 0o666 & ~file_umask())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
