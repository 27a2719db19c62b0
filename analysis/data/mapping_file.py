"""Reading a column mapping file (``mapping.yaml``) and putting it over the proposed mapping.

A mapping file is read with the bounded YAML loader (:mod:`analysis.data.yaml_safe`); every
problem is reported at once, one per line (:func:`load_mapping`). :func:`resolve` proposes a
mapping for a table (:func:`analysis.data.mapping.propose_mapping`), puts the user's entries
over it and applies it. The format is described in the README ("Column mapping").
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from analysis.data.codebook import Codebook
from analysis.data.columns import PER_VISIT_ROLES
from analysis.data.mapping import (
    MAPPING_FILE,
    MAPPING_VERSION,
    ColumnMap,
    Mapping,
    apply_mapping,
    propose_mapping,
)
from analysis.data.vocabulary_file import vocabulary
from analysis.data.yaml_safe import load_yaml
from analysis.errors import MappingError, Problem

__all__ = ["find_mapping", "load_mapping", "merge", "resolve"]


def find_mapping(data: str | Path) -> Path | None:
    """``mapping.yaml`` in a dataset folder, or beside a data file (None when absent)."""
    data = Path(data)
    path = (data if data.is_dir() else data.parent) / MAPPING_FILE
    return path if path.is_file() else None


def _targets(codebook: Codebook) -> set[str]:
    voc = vocabulary()
    return set(voc["roles"]) | set(voc["patient_level"]) | {"ignore"}


def _valid_target(name: str, codebook: Codebook) -> bool:
    from analysis.data.wide import parse_column

    if name in _targets(codebook):
        return True
    for role in PER_VISIT_ROLES:
        if name.startswith(role + "_"):
            return True
    return parse_column(name, codebook) is not None or parse_column(
        name, codebook, with_visit=False) is not None


def load_mapping(path: str | Path, codebook: Codebook) -> Mapping:
    """Read a ``mapping.yaml`` (bounded YAML loader); every problem in one MappingError, one line
    each, naming the column and the accepted values.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from analysis.data.codebook import load_codebook
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "mapping.yaml"
    >>> _ = f.write_text('mapping_version: 1\\nfile: x.csv\\ncolumns:\\n'
    ...                  '  Alter: {as: age}\\n  Gang: {as: gang_m6}\\n')
    >>> try:
    ...     load_mapping(f, load_codebook())
    ... except Exception as exc:
    ...     print(str(exc).splitlines()[1])
    - column 'Gang': as: 'gang_m6' is not a tidy column, patient attribute, measure column (<measure>[_<side>]_<visit>) or ignore
    """
    path = Path(path)
    doc = load_yaml(path, error=MappingError, what="mapping file")
    errors: list[str] = []
    if not isinstance(doc, dict):
        raise MappingError(f"{path}: expected a mapping with `columns:` (see the README, Column "
                           "mapping)")
    if doc.get("mapping_version", MAPPING_VERSION) != MAPPING_VERSION:
        errors.append(f"mapping_version {doc.get('mapping_version')!r} is not supported "
                      f"(this version reads {MAPPING_VERSION})")
    cols = doc.get("columns") or {}
    if not isinstance(cols, dict):
        errors.append("`columns:` must map each column name to {as: ...}")
        cols = {}
    entries = []
    for name, spec in cols.items():
        target = spec.get("as") if isinstance(spec, dict) else spec
        if not isinstance(target, str) or not target.strip():
            errors.append(f"column {str(name)!r}: `as:` is missing (give a tidy name or ignore)")
            continue
        target = target.strip()
        if target != str(name) and not _valid_target(target, codebook):
            errors.append(f"column {str(name)!r}: as: {target!r} is not a tidy column, patient "
                          "attribute, measure column (<measure>[_<side>]_<visit>) or ignore")
            continue
        kind = spec.get("kind", "user") if isinstance(spec, dict) else "user"
        unit = spec.get("unit") if isinstance(spec, dict) else None
        entries.append(ColumnMap(str(name), target, str(kind), "user",
                                 "set in the mapping file", None if unit is None else str(unit)))
    visits = doc.get("visits") or {}
    if not isinstance(visits, dict):
        errors.append("`visits:` must map each visit to {phase: ...}")
        visits = {}
    clean = {}
    for code, d in visits.items():
        d = d if isinstance(d, dict) else {"phase": d}
        phase = d.get("phase")
        if phase not in (None, "baseline", "test_infusion", "post_implant"):
            errors.append(f"visit {str(code)!r}: phase {phase!r} is not baseline, test_infusion, "
                          "post_implant or null")
        clean[str(code)] = {"phase": phase, "months": d.get("months"),
                            "written": list(d.get("written") or [])}
    if errors:
        raise MappingError(f"{path}: {len(errors)} problem(s) in the mapping file\n"
                           + "\n".join(f"- {e}" for e in errors), items=tuple(errors))
    return Mapping(str(doc.get("file", "")), tuple(entries), clean,
                   tuple(str(q) for q in doc.get("questions") or []), str(doc.get("layout", "")),
                   doc.get("header_row"), doc.get("group_header_row"),
                   str(doc.get("header_reason", "")), source=str(path))


def merge(proposed: Mapping, user: Mapping) -> Mapping:
    """The proposal with the user's entries (and visit phases) in place of its own."""
    cols = tuple(user.column(c.column) or c for c in proposed.columns)
    visits = {**proposed.visits, **{k: {**proposed.visits.get(k, {}), **v}
                                   for k, v in user.visits.items()}}
    return replace(proposed, columns=cols, visits=visits, source=user.source)


def resolve(table: pd.DataFrame, *, codebook: Codebook, file: str,
            mapping: str | Path | Mapping | None, problems: list[Problem],
            found: bool = False) -> tuple[pd.DataFrame, Mapping]:
    """Propose a mapping for ``table``, put the user's mapping (a file or a Mapping) over it,
    and apply it. A mapping file found beside the data (``found``) that names another data
    file is not used (warned)."""
    proposed = propose_mapping(table, codebook, file=file)
    used = proposed
    if mapping is not None:
        user = mapping if isinstance(mapping, Mapping) else load_mapping(mapping, codebook)
        if found and user.file and user.file != file:
            problems.append(Problem(file, None, None, None, f"{MAPPING_FILE} beside the data is "
                                    f"for '{user.file}', not this file: not used",
                                    severity="warning", fix="Give --mapping FILE, or run "
                                    "`itb init` for this file with --out"))
        else:
            used = merge(proposed, user)
    return apply_mapping(table, used, file=file, problems=problems), used
