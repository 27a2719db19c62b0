"""The patient table: ``patients.csv`` and the patient attributes of a data sheet.

Columns: ``patient_id``, ``age``, ``sex``, ``genotype``, ``disease_duration``. Ages and durations
are numbers of years >= 0; sex is M or F (``m``, ``male``, ``männlich``, ``homme``, ``f``,
``female``, ``weiblich``, ``w``, ``femme``, ``vrouw`` ... are read so). An age over 89 is refused:
with a handful of patients it identifies one (HIPAA safe harbour aggregates ages over 89); write
``90+`` (also ``>89``, ``>=90``) and it is read as the category "90 or over" (age 90, noted);
``relax=["age_over_89"]`` (``--relax age_over_89``) aggregates such ages so, with a note.

Patient attributes of a data sheet (``Alter``, ``Geschlecht`` of a wide sheet, moved there by the
column mapping, :mod:`analysis.data.mapping`) form the patient table when there is no
``patients.csv``; when there is one, a value of the sheet that contradicts it is refused, naming
both files and rows (:func:`contradictions`). Checks are column-wise (one pass per column).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.identifiers import find_identifiers, normalise_name
from analysis.data.labels import check_labels
from analysis.data.rules import NA_TOKENS, Collector, parse_number
from analysis.data.text_files import read_text
from analysis.errors import Problem

__all__ = ["MAX_AGE", "contradictions", "read_patients", "sheet_patients"]

#: Oldest age written as a number; older ages are aggregated to "90 or over".
MAX_AGE = 89
_TOP_AGE = re.compile(r"^\s*(90\s*\+|>\s*89|>=\s*90|≥\s*90|90 or over|90 und älter)\s*$", re.I)
_SEX = {"m": "M", "male": "M", "man": "M", "f": "F", "female": "F", "woman": "F", "v": "F",
        "vrouw": "F", "w": "F", "mannlich": "M", "maennlich": "M", "männlich": "M",
        "weiblich": "F", "homme": "M", "femme": "F", "masculin": "M", "feminin": "F",
        "féminin": "F", "man.": "M", "weibl.": "F", "männl.": "M"}


def _check(table: pd.DataFrame, rows: pd.Series, *, file: str, col: Collector,
           obs: pd.DataFrame | None, relax: Iterable[str] = ()) -> pd.DataFrame:
    """Check the columns of a patient table (see the module docstring)."""
    bad = lambda r, c, v, rule, fix: col.problems.append(  # noqa: E731
        Problem(file, r, c, v, rule, "error", fix))
    rows = pd.Series(np.asarray(rows), index=table.index)
    if "patient_id" not in table.columns:
        bad(None, "patient_id", None, "required column 'patient_id' is missing",
            "Add the pseudonymous patient codes used in the observations")
        return table
    for c in ("age", "disease_duration"):
        if c in table.columns:
            nums = []
            for r, v in zip(rows, table[c], strict=True):
                if c == "age" and _TOP_AGE.match(str(v)):
                    col.add(int(r), c, v, "age read as the category '90 or over' (age 90)",
                            severity="note")
                    nums.append(90.0)
                    continue
                x, status = parse_number(v)
                if status not in ("ok", "comma", "missing") or (x is not None and x < 0):
                    bad(int(r), c, v, f"{c} must be a number of years >= 0", "Correct the value")
                elif c == "age" and x is not None and x > MAX_AGE and "age_over_89" in relax:
                    col.add(int(r), c, v, "age over 89 aggregated to the category '90 or over' "
                            "(age 90)", severity="note")
                    x = 90.0
                elif c == "age" and x is not None and x > MAX_AGE:
                    bad(int(r), c, v, f"an age over {MAX_AGE} identifies a patient in a small "
                        "series and is refused", "Write 90+ (read as the category '90 or "
                        "over'), or relax this check: --relax age_over_89")
                nums.append(np.nan if x is None else x)
            table[c] = np.asarray(nums, dtype="float64")
    if "sex" in table.columns:
        sexes = []
        for r, v in zip(rows, table["sex"], strict=True):
            s = _SEX.get(v.strip().lower(), "" if v.strip().lower() in NA_TOKENS else None)
            if s is None:
                bad(int(r), "sex", v, "sex must be M or F (or empty)", "Write M or F")
            sexes.append(s or "")
        table["sex"] = sexes
    dup = table["patient_id"][table["patient_id"].duplicated()]
    for i, v in dup.items():
        bad(int(rows[i]), "patient_id", v, "patient listed twice", "Keep one row per patient")
    listed = set(pd.unique(table["patient_id"]))
    seen = set(pd.unique(obs["patient_id"])) if obs is not None and len(obs) and \
        "patient_id" in obs else set()
    for pid in sorted(seen - listed):
        col.add(None, "patient_id", pid, f"patient {pid} has observations but no row in "
                f"{file}", severity="note")
    for pid in sorted(listed - seen) if seen else []:
        col.add(None, "patient_id", pid, f"patient {pid} in {file} has no observations",
                severity="note")
    out = table.reset_index(drop=True)
    out.attrs["rows"] = dict(zip(table["patient_id"], (int(r) for r in rows), strict=False))
    return out


def read_patients(path: Path, obs: pd.DataFrame, col: Collector,
                  relax: Iterable[str] = ()) -> pd.DataFrame:
    """Read and check ``patients.csv`` (see the module docstring)."""
    read_problems: list[Problem] = []
    table, _ = read_text(path, path.name, read_problems)
    col.problems += read_problems
    if table is None:
        table = pd.DataFrame({"patient_id": pd.Series(dtype="str"), "_row": []})
    rows = table.pop("_row")
    table.columns = [normalise_name(c) for c in table.columns]
    table = table.loc[:, ~table.columns.duplicated()]
    if any(p.severity == "error" for p in read_problems):
        return table
    col.problems += find_identifiers(table, file=path.name, rows=rows)
    table = check_labels(table, col, rows=rows, columns=("patient_id",))
    return _check(table, rows, file=path.name, col=col, obs=obs, relax=relax)


def sheet_patients(sheet: pd.DataFrame, file: str, col: Collector,
                   relax: Iterable[str] = ()) -> pd.DataFrame:
    """The patient table of the attributes of a data sheet: one row per patient; a patient
    with two different values of one attribute is refused, naming the rows.

    Examples
    --------
    >>> sheet = pd.DataFrame({"patient_id": ["A1", "A1", "A2"], "age": ["51", "51", "95"],
    ...                       "_row": [2, 3, 4]})
    >>> col = Collector("x.csv", [])
    >>> sheet_patients(sheet, "x.csv", col)["age"].tolist()
    [51.0, 95.0]
    >>> print(col.problems[0])
    x.csv, row 4, column 'age': an age over 89 identifies a patient in a small series and is refused (value: '95'). Write 90+ (read as the category '90 or over'), or relax this check: --relax age_over_89
    """
    attrs = [c for c in sheet.columns if c not in ("patient_id", "_row")]
    filled = sheet.copy()
    for c in attrs:
        filled[c] = filled[c].fillna("").astype(str).str.strip()
    for c in attrs:
        vals = filled[filled[c] != ""]
        n = vals.groupby("patient_id")[c].nunique()
        for pid in n.index[n > 1]:
            where = vals[vals["patient_id"] == pid]
            shown = ", ".join(f"'{v}' (row {r})" for v, r in
                              where.drop_duplicates(c)[[c, "_row"]].itertuples(index=False))
            col.add(int(where["_row"].iloc[0]), c, None, f"patient {pid} has two values of "
                    f"{c}: {shown}", fix="Give one value per patient")
    first = filled.drop_duplicates("patient_id").reset_index(drop=True)
    for c in attrs:  # the first filled value of each patient
        known = filled[filled[c] != ""].drop_duplicates("patient_id").set_index("patient_id")[c]
        first[c] = first["patient_id"].map(known).fillna("")
    rows = first.pop("_row")
    return _check(first, rows, file=file, col=col, obs=None, relax=relax)


def contradictions(listed: pd.DataFrame, sheet: pd.DataFrame, col: Collector, *,
                   files: tuple[str, str]) -> None:
    """Refuse patient attributes of the data sheet that contradict ``patients.csv``."""
    if "patient_id" not in listed.columns:
        return
    both = listed.merge(sheet, on="patient_id", suffixes=("", "__sheet"))
    for c in ("age", "sex", "genotype", "disease_duration"):
        if c not in listed.columns or c + "__sheet" not in both.columns:
            continue
        a, b = both[c], both[c + "__sheet"]
        if a.dtype.kind == "f":
            differ = a.notna() & b.notna() & ~np.isclose(a.fillna(0), b.fillna(0))
        else:
            a, b = a.astype(str).str.strip(), b.astype(str).str.strip()
            differ = (a != "") & (b != "") & (a.str.lower() != b.str.lower())
        rows_a, rows_b = listed.attrs.get("rows", {}), sheet.attrs.get("rows", {})
        for _, r in both[differ].iterrows():  # one line per contradicting patient
            pid = r["patient_id"]
            where = (f" (row {rows_a[pid]} of {files[0]}, row {rows_b[pid]} of {files[1]})"
                     if pid in rows_a and pid in rows_b else "")
            col.add(rows_b.get(pid), c, str(r[c + "__sheet"]), f"patient {pid}: {c} is "
                    f"'{r[c]}' in {files[0]} but '{r[c + '__sheet']}' in {files[1]}{where}",
                    fix="Correct one of the two files")
