"""The column mapping: what each column of a data file is read as, proposed and editable.

:func:`propose_mapping` recognises every column of a table (:mod:`analysis.data.columns`):
``Pat-ID`` is ``patient_id``, ``Alter`` goes to the patient table as ``age``,
``Gehgeschwindigkeit (m/s) | 6 Mo`` is ``gait_speed_post_m6``, ``Bemerkung`` is ignored; it lists
the visits with their phase and time after implantation, and the open questions (columns not
recognised, assumptions). ``itb init DATA`` writes it as ``mapping.yaml``
(:meth:`Mapping.to_yaml`); ``validate``, ``analyze``, ``report`` and the API read a
``mapping.yaml`` beside the data (or ``--mapping FILE``; :mod:`analysis.data.mapping_file`),
so a user fixes
one column by editing its ``as:``. Without a mapping file the proposal is used as it is.
The format is documented in the README ("Column mapping").

:func:`apply_mapping` renames the columns to what they are read as, drops the ignored ones,
and moves patient attributes to ``table.attrs["patients"]`` (one row per patient).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.data.codebook import Codebook
from analysis.data.columns import Recognition, recognise
from analysis.data.identifiers import normalise_name
from analysis.data.visits import parse_visit
from analysis.errors import Problem

__all__ = ["MAPPING_FILE", "MAPPING_VERSION", "ColumnMap", "Mapping", "apply_mapping", "finish",
           "looks_like_values", "propose_mapping"]

MAPPING_FILE = "mapping.yaml"
MAPPING_VERSION = 1
_TIDY = {"patient_id", "visit", "measure", "value", "phase", "day", "dose_ug_day", "side",
         "unit", "dose_mg_day", "record_id", "redcap_event_name", "site"}
_NUMBER = r"^\s*[-+]?(\d+([.,]\d*)?|[.,]\d+)\s*$"
_PATIENT_ATTRS = ("age", "sex", "genotype", "disease_duration")


@dataclass(frozen=True)
class ColumnMap:
    """One column: what it is read as (``as_``: a tidy name, ``ignore``, or the name as written
    when it is left to the validation rules), how sure, and why."""

    column: str
    as_: str
    kind: str
    confidence: str = "high"
    why: str = ""
    unit: str | None = None
    rename: bool = True   # False: the name is read by the naming rule already (notes kept)


@dataclass(frozen=True)
class Mapping:
    """What every column of ``file`` is read as; ``source`` is the mapping file (None when
    proposed and not written)."""

    file: str
    columns: tuple[ColumnMap, ...]
    visits: dict[str, dict] = field(default_factory=dict)
    questions: tuple[str, ...] = ()
    layout: str = "tidy"
    header_row: int | None = None
    group_header_row: int | None = None
    header_reason: str = ""
    source: str | None = None

    def column(self, name: str) -> ColumnMap | None:
        """The entry of column ``name`` (None when the mapping does not list it)."""
        return next((c for c in self.columns if c.column == name), None)

    def visit_phases(self) -> dict[str, str]:
        """Visit code -> phase, for visits whose phase is known."""
        return {v: str(d["phase"]) for v, d in self.visits.items() if d.get("phase")}

    def to_dict(self) -> dict:
        """JSON-ready form (the manifest records it)."""
        return {"mapping_version": MAPPING_VERSION, "file": self.file, "source": self.source,
                "layout": self.layout, "header_row": self.header_row,
                "group_header_row": self.group_header_row,
                "columns": {c.column: {"as": c.as_, "kind": c.kind, "confidence": c.confidence,
                                       "why": c.why, **({"unit": c.unit} if c.unit else {})}
                            for c in self.columns},
                "visits": self.visits, "questions": list(self.questions)}

    def to_yaml(self) -> str:
        """The mapping as ``mapping.yaml`` text: one line per column, commented.

        Examples
        --------
        >>> m = Mapping("obs.csv", (ColumnMap("Pat-ID", "patient_id", "role"),))
        >>> print(m.to_yaml().splitlines()[-3])
          "Pat-ID": {as: patient_id, kind: role, confidence: high, why: ""}
        """
        q = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731 - YAML double-quoted
        lines = [
            f"# Column mapping of {self.file}, proposed by `itb init`.",
            "# Each column is read as its `as:` value. To fix one, edit its `as:` and run again:",
            "#   a tidy column (patient_id, visit, measure, value, side, day, dose_ug_day, phase,",
            "#   unit, site), a patient attribute (age, sex, genotype, disease_duration), a wide",
            "#   measure column <measure>[_<side>]_<visit> (e.g. gait_speed_post_m6,",
            "#   mas_knee_ext_R_baseline), day_<visit> / dose_ug_day_<visit> / phase_<visit>,",
            "#   or ignore. `kind`, `confidence` and `why` are for you to read; they are not used.",
            "# visits: edit a `phase` (baseline, test_infusion, post_implant, or null = unknown).",
            "# The format is described in the README (Column mapping).",
            f"mapping_version: {MAPPING_VERSION}",
            f"file: {q(self.file)}",
            f"layout: {self.layout}",
            f"header_row: {self.header_row if self.header_row is not None else 'null'}",
            f"group_header_row: "
            f"{self.group_header_row if self.group_header_row is not None else 'null'}",
            f"header_reason: {q(self.header_reason)}",
            "columns:",
        ]
        for c in self.columns:
            unit = f", unit: {q(c.unit)}" if c.unit else ""
            lines.append(f"  {q(c.column)}: {{as: {q(c.as_) if _needs_quote(c.as_) else c.as_},"
                         f" kind: {c.kind}, confidence: {c.confidence}{unit}, why: {q(c.why)}}}")
        lines.append("visits:" + ("" if self.visits else " {}"))
        for code, d in self.visits.items():
            months = d.get("months")
            lines.append(f"  {q(code)}: {{phase: {d.get('phase') or 'null'}, months: "
                         f"{'null' if months is None else _num(months)}, written: "
                         f"{q(list(d.get('written', [])))}}}")
        lines.append("questions:" + ("" if self.questions else " []"))
        lines += [f"  - {q(x)}" for x in self.questions]
        return "\n".join(lines) + "\n"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _needs_quote(s: str) -> bool:
    return not s.replace("_", "").isalnum()


def looks_like_values(values: pd.Series) -> bool:
    """Whether at least half the filled cells of a text column are numbers."""
    text = values[values.str.strip() != ""]
    return len(text) > 0 and text.str.match(_NUMBER).mean() >= 0.5


def _entry(col: str, r: Recognition, table: pd.DataFrame, codebook: Codebook,
           visit_column: bool, redcap: bool) -> ColumnMap:
    from analysis.data.wide import parse_column

    norm = normalise_name(col)
    if norm in _TIDY or norm.startswith("redcap_") or redcap and norm.endswith("_complete"):
        kind = "role" if norm in _TIDY else "bookkeeping"
        return ColumnMap(col, col, kind, why="a column name of the tidy layout" if kind == "role"
                         else "REDCap bookkeeping (dropped)")
    if r.kind == "measure" and r.unit:
        unit = _unit_of(r, codebook)
    elif r.unit and r.target.startswith("dose_ug_day"):
        unit = r.unit   # "Dosis (mg/Tag)": converted to ug/day when applied
    else:
        unit = None
    old = parse_column(col, codebook, with_visit=not visit_column)
    if old is not None:
        side = f"_{old[1]}" if old[1] else ""
        same = old[0] + side + (f"_{old[2]}" if old[2] else "")
        if r.kind == "measure" and r.target != same:
            return ColumnMap(col, r.target, r.kind, r.confidence, r.why, unit)
        if r.kind == "measure":
            return ColumnMap(col, r.target, "measure", r.confidence, r.why, unit, rename=False)
        return ColumnMap(col, col, "measure", "medium", f"read by the naming rule as {same}",
                         unit)
    if r.kind == "role" and r.target == "value" and not looks_like_values(table[col]):
        return ColumnMap(col, col, "unknown", "low", f"named like '{r.target}' but its cells are "
                         "not values (numbers)")
    if r.kind in ("role", "patient", "per_visit", "measure"):
        return ColumnMap(col, r.target, r.kind, r.confidence, r.why, unit)
    if r.kind == "ignore":
        return ColumnMap(col, "ignore", "ignore", r.confidence, r.why)
    if (table[col].str.strip() == "").all():
        return ColumnMap(col, "ignore", "ignore", "high", "the column is empty")
    return ColumnMap(col, col, "unknown", "low", r.why
                     + ("" if not r.hint or "did you mean" in r.why else f"; did you mean "
                        f"{r.hint}?"))


def _unit_of(r: Recognition, codebook: Codebook) -> str | None:
    """The unit of a header (``[m/s]``) when it is not the codebook's own."""
    unit = str(r.unit).replace("µ", "u").replace("μ", "u").strip()
    m = codebook.measure(r.measure) if r.measure else None
    if m is None or unit.lower() == m.unit.lower():
        return None
    return unit


def propose_mapping(table: pd.DataFrame, codebook: Codebook, *, file: str) -> Mapping:
    """Recognise every column of a raw text table (see the module docstring).

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> t = pd.DataFrame({"Pat-ID": ["A1"], "Alter": ["51"], "6MWT_m6": ["310"],
    ...                   "Bemerkung": ["gut"], "_row": [2]})
    >>> m = propose_mapping(t, load_codebook(), file="x.csv")
    >>> [(c.column, c.as_) for c in m.columns]
    [('Pat-ID', 'patient_id'), ('Alter', 'age'), ('6MWT_m6', 'six_mwt_post_m6'), ('Bemerkung', 'ignore')]
    >>> m.visits
    {'post_m6': {'phase': 'post_implant', 'months': 6.0, 'written': ['m6']}}
    """
    from analysis.data.wide import detect_layout

    cols = [c for c in table.columns if not str(c).startswith("_")]
    redcap = detect_layout(table) == "redcap"
    recs = {c: recognise(c, codebook) for c in cols}
    visit_column = redcap or any(r.kind == "role" and r.target == "visit" for r in recs.values())
    if visit_column:
        recs = {c: recognise(c, codebook, visit_column=True) for c in cols}
    entries, seen, questions = [], {}, []
    for c in cols:
        e = _entry(c, recs[c], table, codebook, visit_column, redcap)
        if e.as_ not in ("ignore", c) and e.as_ in seen:
            questions.append(f"columns '{seen[e.as_]}' and '{c}' are both read as {e.as_}: "
                             f"'{c}' is left as written; set the `as:` of one of them")
            e = ColumnMap(c, c, "unknown", "low", f"{e.as_} is already given by '{seen[e.as_]}'")
        seen.setdefault(e.as_, c)
        entries.append(e)
        if e.kind == "unknown":
            questions.append(f"column '{c}': {e.why}")
        elif e.confidence == "medium":
            questions.append(f"column '{c}' read as {e.as_}: {e.why}; check it")
    visits: dict[str, dict] = {}
    for c in cols:
        r = recs[c]
        if r.visit is not None and r.kind in ("measure", "per_visit"):
            d = visits.setdefault(r.visit.code, {"phase": r.visit.phase, "months": r.visit.months,
                                                 "written": []})
            written = _visit_text(c, r)
            if written and written not in d["written"]:
                d["written"].append(written)
            if r.visit.inferred and not any("inferred" in q and r.visit.code in q
                                            for q in questions):
                questions.append(f"visit {r.visit.code}: phase inferred as {r.visit.phase} from "
                                 "the number (no phase column); edit `visits:` if wrong")
    vcol = next((e.column for e in entries if e.as_ == "visit" or e.column == "visit"), None)
    if vcol is not None and not redcap:
        for label in pd.unique(table[vcol].str.strip()):
            if not label or label in visits:
                continue
            v = parse_visit(label, dict(codebook.visit_aliases))
            if v is not None:
                visits[label] = {"phase": v.phase, "months": v.months, "written": [label]}
    layout = "redcap" if redcap else ("tidy" if {"measure", "value"} <= {e.as_ for e in entries}
                                      else "wide")
    return Mapping(file, tuple(entries), visits, tuple(questions), layout,
                   table.attrs.get("header_row"), table.attrs.get("group_row"),
                   str(table.attrs.get("header_reason", "")))


def _visit_text(column: str, r: Recognition) -> str:
    """The part of a column name that spells its visit (for the mapping's ``written``)."""
    text = column.split("|")[-1].strip() if "|" in column else column
    if r.measure and "|" not in column:
        parts = text.replace("-", "_").replace(" ", "_").split("_")
        text = parts[-1] if parts else text
        for k in range(len(parts) - 1, 0, -1):
            if parse_visit("_".join(parts[k:])) is not None:
                text = "_".join(parts[k:])
                break
    return text


# ------------------------------------------------------------------ applying

def apply_mapping(table: pd.DataFrame, mapping: Mapping, *, file: str,
                  problems: list[Problem]) -> pd.DataFrame:
    """Rename, drop and move the columns of ``table`` as ``mapping`` says (module docstring).

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> t = pd.DataFrame({"Pat-ID": ["A1"], "Alter": ["51"], "6MWT_m6": ["310"], "_row": [2]})
    >>> out = apply_mapping(t, propose_mapping(t, load_codebook(), file="x.csv"), file="x.csv",
    ...                     problems=[])
    >>> list(out.columns), out.attrs["patients"].values.tolist()
    (['patient_id', 'six_mwt_post_m6', '_row'], [['A1', '51', 2]])
    """
    rename, drop, attrs = {}, [], []
    for c in mapping.columns:
        if c.column not in table.columns:
            continue
        if c.as_ == "ignore":
            drop.append(c.column)
            problems.append(Problem(file, None, c.column, None, "column not read: "
                                    + (c.why or "ignore in the mapping"), severity="note"))
        elif c.as_ in _PATIENT_ATTRS:
            attrs.append((c.column, c.as_))
            problems.append(Problem(file, None, c.column, None, f"patient attribute read as "
                                    f"{c.as_} into the patient table (one value per patient)",
                                    severity="note", fix="or give it in patients.csv"))
        elif c.as_ != c.column and c.rename:
            rename[c.column] = c.as_
            if c.confidence != "high" or c.kind in ("role", "per_visit"):
                problems.append(Problem(file, None, c.column, None, f"column read as {c.as_} "
                                        f"({c.why})" if c.why else f"column read as {c.as_}",
                                        severity="note"))
    if mapping.source is not None:
        missing = [c.column for c in mapping.columns if c.column not in table.columns
                   and c.confidence == "user"]
        for name in missing:
            problems.append(Problem(file, None, name, None, f"the mapping file "
                                    f"{Path(mapping.source).name} names column '{name}', which "
                                    "the file does not have", fix="Correct the column name in "
                                    "the mapping file, or delete its line"))
    for c in mapping.columns:  # a dose column whose header says mg/day: converted to ug/day
        target = rename.get(c.column, c.column)
        if c.column in table.columns and c.unit and "mg" in c.unit.lower() and (
                target == "dose_ug_day" or target.startswith("dose_ug_day_")):
            table = table.assign(**{c.column: _mg_to_ug(table[c.column])})
            problems.append(Problem(file, None, c.column, c.unit, "dose given in mg/day: "
                                    "converted to ug/day (x1000)", severity="note"))
    pid = next((c for c in table.columns if rename.get(c, c) == "patient_id"), None)
    patients = None
    if attrs and pid is not None:
        patients = pd.DataFrame({"patient_id": table[pid].str.strip()})
        for col, attr in attrs:
            patients[attr] = table[col].str.strip()
        patients["_row"] = table["_row"].to_numpy()
        patients = patients[patients["patient_id"] != ""]
    table = table.drop(columns=drop + [c for c, _ in attrs]).rename(columns=rename)
    if patients is not None:
        table.attrs["patients"] = patients.reset_index(drop=True)
    return table


def _mg_to_ug(text: pd.Series) -> pd.Series:
    """Doses written in mg/day as ug/day text (x1000); text that is no number stays as it is."""
    num = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce") * 1000.0
    return text.where(num.isna(), num.map(lambda x: repr(float(x))))


def finish(frame: pd.DataFrame, mapping: Mapping, *, patients: pd.DataFrame | None,
           problems: list[Problem], file: str) -> pd.DataFrame:
    """After the layout is tidy: units named in headers, phases of visits the mapping knows
    and the rules cannot infer, the patient table and the mapping in ``frame.attrs``."""
    from analysis.data.rules import infer_phase

    if len(frame) and "_source_column" in frame.columns:
        units = {c.column: c.unit for c in mapping.columns if c.unit and c.kind == "measure"}
        renamed = {c.as_: c.unit for c in mapping.columns if c.unit and c.kind == "measure"}
        units.update(renamed)
        if units:
            unit = frame["_source_column"].map(units)
            if "unit" not in frame.columns:
                frame["unit"] = ""
            frame["unit"] = frame["unit"].where(unit.isna() | (frame["unit"] != ""), unit)
    phases = mapping.visit_phases()
    if len(frame) and phases and "visit" in frame.columns:
        user = {v for v, d in mapping.visits.items() if mapping.source is not None}
        todo = {v: p for v, p in phases.items() if v in user or infer_phase(v) is None}
        if todo:
            if "phase" not in frame.columns:
                frame["phase"] = ""
            fill = frame["visit"].map(todo)
            empty = frame["phase"].str.strip() == ""
            frame["phase"] = frame["phase"].where(~empty | fill.isna(), fill)
            for v in sorted(set(frame.loc[empty & fill.notna(), "visit"])):
                problems.append(Problem(file, None, "phase", v, f"phase of visit '{v}' read as "
                                        f"{todo[v]} from the visit name (there is no phase)",
                                        severity="note", fix="Give a phase column, or set the "
                                        "phase of the visit in mapping.yaml"))
    if patients is not None:
        frame.attrs["patients"] = patients
    frame.attrs["mapping"] = mapping
    return frame
