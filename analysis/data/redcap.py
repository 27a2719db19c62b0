"""REDCap coded choices: read the data dictionary, map codes to labels, refuse unmapped codes.

A REDCap export in "raw" mode writes the code of each radio/dropdown choice, not its label:
for a Modified Ashworth field with choices ``0, 0 | 1, 1 | 2, 1+ | 3, 2 | 4, 3 | 5, 4``, code
``2`` means grade ``1+`` and code ``5`` grade ``4``. Read as grades, every such value is wrong.

* With the data dictionary (the CSV REDCap gives under "Data Dictionary", columns
  ``Variable / Field Name`` and ``Choices, Calculations, OR Slider Labels``),
  :func:`apply_dictionary` replaces every code by its label, which is then checked against the
  codebook's levels like any other value; a code that is not a choice is an error naming the
  row and column. Fields the dictionary marks as identifiers (``Identifier? = y``) are refused.
* Without it, :func:`refuse_coded_ordinals` refuses the ordinal columns of an export that shows
  no sign of holding labels (no cell anywhere is a non-numeric level such as ``1+``), with a
  message saying to export labels or pass the dictionary.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from analysis.data.codebook import Codebook
from analysis.data.identifiers import normalise_name
from analysis.data.text_files import decode
from analysis.errors import DataValidationError, Problem

DICTIONARY_FIX = ("Export the data from REDCap with 'labels' (not raw codes), or give the REDCap "
                  "data dictionary: `itb validate DATA --redcap-dictionary FILE.csv`, or put it "
                  "beside the data as <name>_DataDictionary.csv")


def read_dictionary(path: str | Path) -> tuple[dict[str, dict[str, str]], set[str]]:
    """``({field: {code: label}}, identifier fields)`` from a REDCap data dictionary CSV.

    Raises DataValidationError naming the file when it is not a data dictionary.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "dd.csv"
    >>> _ = f.write_text('"Variable / Field Name","Form Name","Field Type",'
    ...     '"Choices, Calculations, OR Slider Labels","Identifier?"\\n'
    ...     'mas_ankle_pf_l,outcomes,radio,"0, 0 | 1, 1 | 2, 1+ | 3, 2 | 4, 3 | 5, 4",\\n'
    ...     'name,demo,text,,y\\n')
    >>> choices, ids = read_dictionary(f)
    >>> choices["mas_ankle_pf_l"]["2"], ids
    ('1+', {'name'})
    """
    path = Path(path)
    name = path.name
    try:
        text, _ = decode(path.read_bytes())
    except OSError as exc:
        raise DataValidationError([Problem(name, None, None, None, "the REDCap data dictionary "
                                           f"cannot be read ({exc.strerror or exc})",
                                           fix=f"Check the path {path}")]) from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        rows = [[]]
    header = [normalise_name(h) for h in rows[0]]
    field_col = next((i for i, h in enumerate(header) if "field_name" in h or h == "variable"),
                     None)
    choice_col = next((i for i, h in enumerate(header) if h.startswith("choices")), None)
    ident_col = next((i for i, h in enumerate(header) if h.startswith("identifier")), None)
    if field_col is None or choice_col is None:
        raise DataValidationError([Problem(
            name, 1, None, None, "not a REDCap data dictionary: it needs the columns 'Variable / "
            "Field Name' and 'Choices, Calculations, OR Slider Labels'",
            fix="Download it from REDCap: Project Setup > Data Dictionary")])
    choices: dict[str, dict[str, str]] = {}
    identifiers: set[str] = set()
    for n, row in enumerate(rows[1:], start=2):
        if len(row) <= max(field_col, choice_col):
            continue
        field = normalise_name(row[field_col])
        if ident_col is not None and ident_col < len(row) and row[ident_col].strip().lower() == "y":
            identifiers.add(field)
        spec = row[choice_col].strip()
        if not spec or "|" not in spec and "," not in spec:
            continue
        mapping = {}
        for part in spec.split("|"):
            code, sep, label = part.partition(",")
            if not sep:
                raise DataValidationError([Problem(
                    name, n, row[field_col], part.strip(), "a choice is not written "
                    "'code, label'", fix="Download the dictionary from REDCap again")])
            mapping[code.strip()] = label.strip()
        choices[field] = mapping
    return choices, identifiers


def apply_dictionary(table: pd.DataFrame, dictionary: str | Path, *, file: str,
                     problems: list[Problem]) -> pd.DataFrame:
    """Replace coded choices by their labels (see the module docstring).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "dd.csv"
    >>> _ = f.write_text('Variable / Field Name,"Choices, Calculations, OR Slider Labels"\\n'
    ...                  'mas_ankle_pf_l,"0, 0 | 1, 1 | 2, 1+ | 3, 2 | 4, 3 | 5, 4"\\n')
    >>> t = pd.DataFrame({"record_id": ["P01", "P01"], "mas_ankle_pf_l": ["2", "9"],
    ...                   "_row": [2, 3]})
    >>> probs = []
    >>> apply_dictionary(t, f, file="r.csv", problems=probs)["mas_ankle_pf_l"].tolist()
    ['1+', '9']
    >>> probs[0].row, probs[0].rule
    (3, "code '9' is not a choice of field 'mas_ankle_pf_l' in the data dictionary")
    """
    choices, identifiers = read_dictionary(dictionary)
    table = table.copy()
    mapped = []
    for col in table.columns:
        norm = normalise_name(col)
        if norm in identifiers:
            problems.append(Problem(file, None, str(col), None, f"the REDCap data dictionary "
                                    f"marks field '{col}' as an identifier; the data are refused",
                                    fix="Export without identifiers (REDCap: remove tagged "
                                    "identifier fields / de-identify)"))
            continue
        if norm not in choices:
            continue
        mapping = choices[norm]
        out = []
        for r, v in zip(table["_row"], table[col], strict=False):
            text = str(v).strip()
            if text == "" or text in mapping:
                out.append(mapping.get(text, ""))
            else:
                problems.append(Problem(file, int(r), str(col), text, f"code '{text}' is not a "
                                        f"choice of field '{norm}' in the data dictionary",
                                        fix="Check the value, or use the dictionary of the same "
                                        "project version"))
                out.append(text)
        table[col] = out
        mapped.append(str(col))
    if mapped:
        problems.append(Problem(file, None, None, None, "REDCap codes mapped to their labels with "
                                f"the data dictionary {Path(dictionary).name}: "
                                + ", ".join(mapped), severity="note"))
    return table


def refuse_coded_ordinals(frame: pd.DataFrame, *, codebook: Codebook, file: str,
                          problems: list[Problem]) -> pd.DataFrame:
    """Refuse ordinal columns of a REDCap export that shows no sign of holding labels.

    ``frame`` is in the raw tidy layout (``measure``, ``value``, ``_source_column``).

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> f = pd.DataFrame({"measure": ["mas_ankle_pf", "tug"], "value": ["2", "14"],
    ...                   "_source_column": ["mas_ankle_pf_l", "tug"], "_row": [2, 2]})
    >>> probs = []
    >>> len(refuse_coded_ordinals(f, codebook=load_codebook(), file="r.csv", problems=probs))
    1
    >>> probs[0].column, "labels" in probs[0].fix
    ('mas_ankle_pf_l', True)
    """
    if frame.empty or "measure" not in frame.columns:
        return frame
    ordinal = frame["measure"].map(lambda k: k in codebook and codebook.measure(k).levels
                                   is not None)
    if not ordinal.any():
        return frame
    values = frame.loc[ordinal, "value"].astype(str).str.strip()
    labelled = ~values.str.fullmatch(r"-?\d+(\.0+)?") & (values != "")
    if labelled.any():  # the export holds labels (e.g. "1+"): nothing to refuse
        return frame
    for src, rows in frame.loc[ordinal].groupby("_source_column", sort=False)["_row"]:
        measure = frame.loc[ordinal & (frame["_source_column"] == src), "measure"].iloc[0]
        levels = ", ".join(codebook.measure(measure).levels or ())
        problems.append(Problem(file, int(rows.iloc[0]), str(src), None, f"REDCap export with "
                                f"raw codes: the codes of this ordinal field are not necessarily "
                                f"its levels ({measure} levels: {levels}; REDCap code 2 may mean "
                                "'1+'), so the column is refused", fix=DICTIONARY_FIX))
    return frame.loc[~ordinal]
