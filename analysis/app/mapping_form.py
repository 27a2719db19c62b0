"""The column mapping (``itb init``) as an editable table, saved as ``mapping.yaml``.

The proposal is :func:`analysis.data.intake.propose_for` (what ``itb init`` writes); a saved
``mapping.yaml`` is laid over it as the readers lay it (:func:`analysis.data.mapping_file.merge`).
An edit is written as ``itb init`` writes (:meth:`analysis.data.mapping.Mapping.to_yaml`) to a
temporary file, read back with the command line's reader (:func:`load_mapping`: every problem,
one per line) and only then put in place, so a refused edit leaves the saved mapping as it was.
"""

from __future__ import annotations

import os
from collections.abc import Mapping as FormData
from dataclasses import replace
from pathlib import Path

from analysis.data.intake import propose_for
from analysis.data.mapping import Mapping
from analysis.data.mapping_file import load_mapping, merge


def current_mapping(data: Path, mapping_file: Path, codebook) -> Mapping:
    """The proposal for ``data`` with the saved ``mapping_file`` (when present) over it."""
    proposed, _ = propose_for(data, codebook=codebook)
    if mapping_file.is_file():
        return merge(proposed, load_mapping(mapping_file, codebook))
    return proposed


def apply_edits(mapping: Mapping, form: FormData) -> Mapping:
    """``mapping`` with the ``as_<i>`` and ``unit_<i>`` fields of the form (row ``i``).

    Examples
    --------
    >>> from analysis.data.mapping import ColumnMap
    >>> m = Mapping("x.csv", (ColumnMap("Gangtempo bl", "Gangtempo bl", "unknown", "low"),))
    >>> apply_edits(m, {"as_0": "gait_speed_baseline", "unit_0": ""}).columns[0].as_
    'gait_speed_baseline'
    """
    columns = []
    for i, c in enumerate(mapping.columns):
        target = str(form.get(f"as_{i}", c.as_) or "").strip() or c.as_
        unit = str(form.get(f"unit_{i}", c.unit or "") or "").strip() or None
        if target != c.as_ or unit != c.unit:
            c = replace(c, as_=target, unit=unit, confidence="user", why="set in the app")
        columns.append(c)
    return replace(mapping, columns=tuple(columns))


def save_mapping(mapping: Mapping, out: Path, codebook) -> Path:
    """Write ``mapping`` to ``out`` if the command line's reader accepts it (MappingError
    listing every problem otherwise; ``out`` unchanged)."""
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(mapping.to_yaml(), encoding="utf-8")
    try:
        load_mapping(tmp, codebook)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    return out
