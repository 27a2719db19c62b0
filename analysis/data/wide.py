"""Turn wide spreadsheets and REDCap exports into the tidy layout.

Wide layout (one row per patient, one column per measure and visit, as clinicians keep them)::

    patient_id, tug_baseline, tug_m6, mas_knee_ext_L_baseline, mas_knee_ext_L_m6, day_m6, ...

Naming rule: ``<measure>[_<side>]_<visit>``, case-insensitive. ``measure`` is matched
longest-first against the codebook keys (so ``gait_speed_fast_m6`` is ``gait_speed_fast``, not
``gait_speed``), ``side`` is ``L`` or ``R`` (sided measures only), and ``visit`` is any label,
translated by the codebook's ``visit_aliases`` (``bl`` -> ``baseline``, ``m6`` -> ``post_m6``,
``fu12`` -> ``post_m12``, ...). Columns ``day_<visit>``, ``dose_ug_day_<visit>`` and
``phase_<visit>`` give those values for every observation of that visit.

When the file also has a ``visit`` column (one row per patient and visit), measure columns are
named ``<measure>[_<side>]`` and ``day``/``dose_ug_day``/``phase`` columns apply to the row.

REDCap export: ``record_id`` -> ``patient_id``; ``redcap_event_name`` -> ``visit`` with the
``_arm_N`` suffix removed and the visit aliases applied; ``redcap_repeat_*``,
``redcap_data_access_group`` and ``<form>_complete`` columns are dropped; then as above.

Empty cells are not observations. Columns that match nothing are reported: as an error when
the name is close to a codebook key (a likely typo), otherwise as a note (the column is not read).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.data.codebook import Codebook
from analysis.data.identifiers import normalise_name
from analysis.data.redcap import apply_dictionary, refuse_coded_ordinals
from analysis.errors import Problem
from analysis.vocabulary import Layout

_VISIT_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_PER_VISIT = ("dose_ug_day", "phase", "day")  # longest first
_CARRIED = ("site",)  # columns of a wide row copied to each of its observations
_PATIENT_LEVEL = {"age", "sex", "genotype", "disease_duration", "gender", "spg"}
NAMING_RULE = ("name wide columns <measure>[_<side>]_<visit> (e.g. tug_m6, "
               "mas_knee_ext_L_baseline) with measure a codebook key")


def detect_layout(table: pd.DataFrame) -> Layout:
    """Which layout a table is in, from its column names.

    Examples
    --------
    >>> detect_layout(pd.DataFrame(columns=["record_id", "redcap_event_name", "tug"]))
    'redcap'
    >>> detect_layout(pd.DataFrame(columns=["patient_id", "tug_baseline", "tug_m6"]))
    'wide'
    """
    cols = {normalise_name(c) for c in table.columns}
    if "redcap_event_name" in cols or ("record_id" in cols and any(c.startswith("redcap_")
                                                                   for c in cols)):
        return "redcap"
    if "measure" in cols or "value" in cols:
        return "tidy"
    if "patient_id" in cols:
        return "wide"
    return "tidy"


def visit_label(token: str, codebook: Codebook) -> str:
    """Visit label of a column suffix or event name (aliases applied, ``_arm_N`` removed).

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> visit_label("m6", load_codebook()), visit_label("Baseline_arm_1", load_codebook())
    ('post_m6', 'baseline')
    """
    token = re.sub(r"_arm_\d+$", "", normalise_name(token))
    return codebook.visit_aliases.get(token, token)


def parse_column(name: str, codebook: Codebook, *, with_visit: bool = True
                 ) -> tuple[str, str, str | None] | None:
    """``(measure, side, visit)`` of a wide column name, or None when it matches no measure.

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> cb = load_codebook()
    >>> parse_column("mas_knee_ext_L_baseline", cb)
    ('mas_knee_ext', 'L', 'baseline')
    >>> parse_column("gait_speed_fast_m6", cb)
    ('gait_speed_fast', '', 'post_m6')
    >>> parse_column("mrc_hip_flex_r", cb, with_visit=False)
    ('mrc_hip_flex', 'R', None)
    """
    norm = normalise_name(name)
    for key in sorted(codebook.keys(), key=len, reverse=True):
        sided = codebook.measure(key).sided
        if not with_visit:
            if norm == key:
                return key, "", None
            if sided and norm in (key + "_l", key + "_r"):
                return key, norm[-1].upper(), None
            continue
        if not norm.startswith(key + "_"):
            continue
        rest, side = norm[len(key) + 1:], ""
        if sided and rest[:2] in ("l_", "r_"):
            side, rest = rest[0].upper(), rest[2:]
        if _VISIT_RE.match(rest):
            return key, side, visit_label(rest, codebook)
    return None


def _unmatched(col: str, codebook: Codebook, file: str, problems: list[Problem]) -> None:
    norm = normalise_name(col)
    if norm in _PATIENT_LEVEL:
        problems.append(Problem(file, None, col, None, "patient-level column not read with the "
                                "observations", severity="note",
                                fix="put age, sex, genotype and disease_duration in patients.csv"))
        return
    parts = norm.split("_")
    stems = ["_".join(parts[:k]) for k in range(len(parts) - 1, max(len(parts) - 4, 0), -1)]
    hint = next((h for h in map(codebook.suggest, stems) if h), None)
    if hint is None:  # labels, aliases and names in other languages (column vocabulary)
        from analysis.data.columns import suggest_name

        hint = suggest_name(str(col), codebook)
        hint = hint if hint in codebook else None
    if hint is not None:
        problems.append(Problem(file, None, col, None, f"column matches no codebook measure; "
                                f"did you mean '{hint}'?", fix=NAMING_RULE + "; or add the "
                                "measure with your own codebook YAML (--codebook), or delete "
                                "the column"))
    else:
        problems.append(Problem(file, None, col, None, "column matches no codebook measure and "
                                "was not read", severity="note", fix=NAMING_RULE))


def from_wide(table: pd.DataFrame, *, codebook: Codebook, file: str,
              problems: list[Problem]) -> pd.DataFrame:
    """Melt a wide table (see the module docstring) into raw tidy rows.

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> t = pd.DataFrame({"patient_id": ["P01"], "tug_bl": ["14"], "tug_m6": ["9.5"],
    ...                   "_row": [2]})
    >>> long = from_wide(t, codebook=load_codebook(), file="w.csv", problems=[])
    >>> long[["patient_id", "visit", "measure", "value", "_source_column"]].values.tolist()
    [['P01', 'baseline', 'tug', '14', 'tug_bl'], ['P01', 'post_m6', 'tug', '9.5', 'tug_m6']]
    """
    with_visit = "visit" not in table.columns
    carried = [c for c in _CARRIED if c in table.columns]   # per row, e.g. the site
    fixed = {"patient_id", "_row", *carried} | ({"visit"} if not with_visit else set())
    measure_cols: dict[str, tuple[str, str, str | None]] = {}
    per_visit: dict[tuple[str, str], str] = {}   # (covariate, visit) -> column
    row_cov = [c for c in _PER_VISIT if c in table.columns] if not with_visit else []
    for col in table.columns:
        if col in fixed or col in row_cov:
            continue
        norm = normalise_name(col)
        cov = next((c for c in _PER_VISIT if with_visit and norm.startswith(c + "_")), None)
        if cov is not None:
            per_visit[(cov, visit_label(norm[len(cov) + 1:], codebook))] = col
            continue
        parsed = parse_column(col, codebook, with_visit=with_visit)
        if parsed is None:
            _unmatched(col, codebook, file, problems)
        else:
            measure_cols[col] = parsed
            if not str(col).startswith(parsed[0]):  # e.g. "TUG_baseline", "Gait speed_m6"
                problems.append(Problem(
                    file, None, str(col), None, f"column name differs from the codebook key "
                    f"'{parsed[0]}' in case or spacing; read as {parsed[0]}"
                    + (f" ({parsed[1]})" if parsed[1] else ""), severity="note"))
    out = []
    for _, rec in table.iterrows():
        for col, (measure, side, visit) in measure_cols.items():
            value = rec[col]
            if value is None or str(value).strip() == "":
                continue
            visit = rec["visit"] if visit is None else visit
            row = {"patient_id": rec["patient_id"], "visit": visit, "measure": measure,
                   "side": side, "value": value}
            for cov in _PER_VISIT:
                if (cov, visit) in per_visit:
                    row[cov] = rec[per_visit[(cov, visit)]]
                elif cov in row_cov:
                    row[cov] = rec[cov]
            for c in carried:
                row[c] = rec[c]
            row["_row"] = rec["_row"]
            row["_source_column"] = col
            out.append(row)
    cols = ["patient_id", "visit", "measure", "side", "value", *_PER_VISIT, *carried, "_row",
            "_source_column"]
    frame = pd.DataFrame(out, columns=cols)
    present = [c for c in _PER_VISIT if c in row_cov or any(k[0] == c for k in per_visit)]
    frame = frame.drop(columns=[c for c in _PER_VISIT if c not in present])
    for c in frame.columns:
        if c != "_row":
            frame[c] = frame[c].fillna("").astype("str")
    return frame


def from_redcap(table: pd.DataFrame, *, codebook: Codebook, file: str,
                problems: list[Problem], dictionary: str | Path | None = None,
                labelled: bool = False) -> pd.DataFrame:
    """Convert a REDCap export (see the module docstring) into raw tidy rows.

    With ``dictionary`` (the project's data dictionary CSV) coded choices are replaced by their
    labels; without it, ordinal columns of an export holding raw codes are refused
    (:mod:`analysis.data.redcap`), unless ``labelled`` (the dictionary was applied already).

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> t = pd.DataFrame({"record_id": ["P01", "P01"],
    ...                   "redcap_event_name": ["baseline_arm_1", "m6_arm_1"],
    ...                   "redcap_repeat_instrument": ["", ""], "tug": ["14", "9"],
    ...                   "tests_complete": ["2", "2"], "_row": [2, 3]})
    >>> long = from_redcap(t, codebook=load_codebook(), file="r.csv", problems=[])
    >>> long[["patient_id", "visit", "measure", "value"]].values.tolist()
    [['P01', 'baseline', 'tug', '14'], ['P01', 'post_m6', 'tug', '9']]
    """
    if dictionary is not None:
        table = apply_dictionary(table, dictionary, file=file, problems=problems)
    names = {normalise_name(c): c for c in table.columns}
    drop = [c for n, c in names.items()
            if n.startswith("redcap_") and n != "redcap_event_name" or n.endswith("_complete")]
    if drop:
        problems.append(Problem(file, None, None, None, "REDCap bookkeeping columns dropped: "
                                + ", ".join(drop), severity="note"))
    table = table.drop(columns=drop)
    rename = {}
    if "record_id" in names:
        rename[names["record_id"]] = "patient_id"
    if "redcap_event_name" in names:
        rename[names["redcap_event_name"]] = "visit"
    table = table.rename(columns=rename)
    if "visit" in table.columns:
        table["visit"] = [visit_label(v, codebook) if str(v).strip() else ""
                          for v in table["visit"]]
    if "patient_id" not in table.columns:
        problems.append(Problem(file, None, "record_id", None, "a REDCap export needs a "
                                "record_id column", fix="export the record_id field too"))
        return table
    if "visit" not in table.columns:
        problems.append(Problem(file, None, "redcap_event_name", None, "a REDCap export needs "
                                "the event name to know the visit",
                                fix="export a longitudinal project with redcap_event_name"))
        return table
    frame = from_wide(table, codebook=codebook, file=file, problems=problems)
    if dictionary is None and not labelled:
        frame = refuse_coded_ordinals(frame, codebook=codebook, file=file, problems=problems)
    return frame
