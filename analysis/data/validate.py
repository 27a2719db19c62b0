"""Validate observations against the codebook and hand on tidy data (data contracts).

Every rule is checked on every row and every problem is collected before anything is raised:
errors end in one :class:`~analysis.errors.DataValidationError` listing all of them; notes
(accepted changes: a converted unit, ``1+`` coded 1.5, a decimal comma, a dropped duplicate)
are kept in the :class:`ValidationReport`, and changed or excluded rows are logged in
``report.excluded``.

Rules, in the order they are checked: the file is readable and not empty, and its structure is
sound (quotes, header cells, encodings, Excel formulas, merged and date cells: the readers,
:mod:`analysis.data.readers`); no column is a direct identifier (:mod:`analysis.data.identifiers`);
required columns are present (case and spacing ignored, with a note); patient id and visit are
filled and not a missing-value spelling (:mod:`analysis.data.missing`), in NFC, free of path
separators and invisible or bidi characters, and no two differ only in case or look-alike
characters (:mod:`analysis.data.labels`); every measure is a codebook key (nearest key suggested);
side is L/R/empty and only for sided measures; the unit is the codebook unit or converts to it; the
value is a number or an ordinal level (``n/a``/``NA``/empty = missing, noted and excluded; ``12,5``
read as 12.5; ``>30`` refused as censored); the value lies in the codebook range (an ordinal value
must be a level); duplicates that agree are dropped, those that disagree refused; phase, day and
dose are valid; doubtful values are warned (:mod:`analysis.data.plausibility`; errors with
``strict=True``). Patients without a baseline observation of a measure are listed
(``report.no_baseline``): they are kept, but paired and individual-change analyses skip them. For a
dataset directory, ``study.yaml`` is checked too (:func:`validate_path`); before anything is read,
inputs a symbolic link leads out of the dataset folder are refused (:mod:`analysis.data.inputs`).
The text report is written by :mod:`analysis.data.summary`; ``report.counts`` holds the data rows
read (``rows_read``) beside the observations kept (``rows``).
"""

from __future__ import annotations

import difflib
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.codebook import Codebook, load_codebook
from analysis.data.config import check_config, load_config
from analysis.data.consistency import consistency_problems
from analysis.data.identifiers import normalise_name
from analysis.data.inputs import check_dataset, dictionary_file, observations_file
from analysis.data.labels import check_labels
from analysis.data.mapping import looks_like_values as _looks_like_values
from analysis.data.mapping_file import find_mapping
from analysis.data.patients import contradictions, read_patients, sheet_patients
from analysis.data.plausibility import plausibility_problems
from analysis.data.readers import (
    REQUIRED_COLUMNS,
    TIDY_COLUMNS,
    check_file,
    read_observations,
)
from analysis.data.rules import (
    EXCLUDED_COLUMNS,
    Collector,
    no_baseline,
    parse_number,
)
from analysis.data.schema import ContractError, check_observations
from analysis.data.summary import ROWS_READ, render
from analysis.data.table_rules import (
    duplicates,
    fill_phase_and_dose,
    observations,
    r_missing_text,
)
from analysis.errors import CodebookError, ConfigError, DataValidationError, Problem
from analysis.paths import OutsideDatasetError, file_umask, sha256_file

__all__ = ["Dataset", "ValidationReport", "load_dataset", "parse_number",
           "validate_observations", "validate_path", "write_derived"]


@dataclass(frozen=True)
class ValidationReport:
    """Validated tidy observations with everything that was accepted, changed or excluded.

    Attributes
    ----------
    observations : DataFrame   tidy, validated (data contracts); extra columns passed through
    problems : tuple of Problem   notes (accepted changes); errors are raised instead
    excluded : DataFrame   rows excluded or changed: file, row, patient_id, visit, measure,
        side, column, value (as written), action ("excluded", "converted", "dropped"), reason
    files : mapping   input path -> SHA-256 of its bytes
    counts : mapping   patients, visits, measures, rows (observations), notes, excluded
    no_baseline : DataFrame   patient_id, measure, side without a baseline observation
    visit_order : tuple of str   visits by median day, then first appearance
    mapping : mapping or None   the column mapping used (what each column was read as)
    """

    observations: pd.DataFrame
    problems: tuple[Problem, ...]
    excluded: pd.DataFrame
    files: Mapping[str, str]
    counts: Mapping[str, int]
    no_baseline: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["patient_id", "measure", "side"]))
    visit_order: tuple[str, ...] = ()
    mapping: Mapping | None = None   # the column mapping used (analysis.data.mapping.to_dict)

    def summary(self) -> str:
        """The text report: sections in the order errors, dropped columns, warnings, notes,
        identical problems grouped, and a last line saying what was kept
        (:func:`analysis.data.summary.render`)."""
        measures = sorted(self.observations["measure"].unique().tolist()) if len(
            self.observations) else []
        return render(self.problems, counts=self.counts, files=self.files, measures=measures)

    def to_dict(self) -> dict:
        """JSON-ready dictionary (NaN as None)."""
        def records(df: pd.DataFrame) -> list[dict]:
            return json.loads(df.to_json(orient="records"))
        return {"files": dict(self.files), "counts": dict(self.counts),
                "visits": list(self.visit_order),
                "measures": sorted(self.observations["measure"].unique().tolist()),
                "notes": [asdict(p) for p in self.problems],
                "excluded": records(self.excluded), "no_baseline": records(self.no_baseline)}


@dataclass(frozen=True)
class Dataset:
    """A validated dataset: observations, optional patient table and where they came from."""

    observations: pd.DataFrame
    patients: pd.DataFrame | None
    report: ValidationReport
    codebook: Codebook
    path: Path
    study_path: Path | None = None

    @property
    def files(self) -> dict[str, str]:
        """Data files read (observations, patients) -> SHA-256."""
        return dict(self.report.files)


def _visit_order(obs: pd.DataFrame) -> tuple[str, ...]:
    first = {v: i for i, v in enumerate(pd.unique(obs["visit"]))}
    day = obs.groupby("visit", sort=False)["day"].median()
    return tuple(sorted(first, key=lambda v: (math.isnan(day[v]), day[v] if not math.isnan(day[v])
                                              else 0.0, first[v])))


def validate_observations(raw: pd.DataFrame, *, codebook: Codebook, file: str,
                          problems: Sequence[Problem] = (),
                          files: Mapping[str, str] | None = None,
                          strict: bool = False, relax: Sequence[str] = ()) -> ValidationReport:
    """Check raw observations (as :func:`analysis.data.readers.read_observations` returns them).

    Parameters
    ----------
    raw : pandas.DataFrame
        Text columns in the tidy layout plus ``_row`` (and optionally ``_source_column``);
        ``raw.attrs["decimal"]`` is "," when the file writes decimals with commas throughout.
    codebook : Codebook
    file : str
        File name for the messages.
    problems : sequence of Problem
        Problems found while reading, merged into the result.
    files : mapping, optional
        Input path -> SHA-256, recorded in the report.
    strict : bool
        Plausibility warnings (:mod:`analysis.data.plausibility`) become errors.
    relax : sequence of str
        Consistency checks (:mod:`analysis.data.consistency`) reported as warnings, not errors.

    Returns
    -------
    ValidationReport

    Raises
    ------
    DataValidationError
        Listing every error (and the notes) when any rule is broken.

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> raw = pd.DataFrame({"patient_id": ["P01", "P01"], "visit": ["baseline", "post_m6"],
    ...     "measure": ["mas_knee_ext"] * 2, "side": ["L", "L"], "value": ["1+", "1"],
    ...     "_row": [2, 3]})
    >>> rep = validate_observations(raw, codebook=load_codebook(), file="obs.csv")
    >>> rep.observations["value"].tolist(), rep.observations["phase"].tolist()
    ([1.5, 1.0], ['baseline', 'post_implant'])
    >>> print([p for p in rep.problems if p.row == 2][0])
    obs.csv, row 2, column 'value': mas_knee_ext level '1+' coded 1.5 (value: '1+')
    """
    col = Collector(file, problems)
    if "_row" not in raw.columns:
        raw = raw.assign(_row=np.arange(2, len(raw) + 2))
    if len(raw) == 0 and not any(p.severity == "error" for p in col.problems):
        col.add(None, None, None, "the file is empty (no observations)",
                fix="check that the right file was given")
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    for c in missing:
        others = [x for x in raw.columns if not str(x).startswith("_")]
        near = difflib.get_close_matches(c, [normalise_name(x) for x in others], n=1, cutoff=0.6)
        hint = next((x for x in others if normalise_name(x) == near[0]), None) if near else None
        if hint is not None and c == "value" and not _looks_like_values(raw[hint]):
            hint = None  # never advise renaming a column of text or ages to 'value' blindly
        col.add(None, c, None, f"required column '{c}' is missing", fix=(
            f"rename column '{hint}' to '{c}'" if hint else
            f"a tidy file needs the columns {', '.join(REQUIRED_COLUMNS)}; a wide file needs "
            "patient_id and columns named <measure>[_<side>]_<visit>"))
    rows: dict[str, np.ndarray] = {}  # the kept rows, column by column
    extras = [c for c in raw.columns if c not in TIDY_COLUMNS and not str(c).startswith("_")]
    if not missing and len(raw):
        raw = check_labels(r_missing_text(raw, col), col)
        decimal = raw.attrs.get("decimal", ".")
        unknown: dict[str, list[int]] = {}
        rows = observations(raw, codebook, decimal, col, extras, unknown)
        for text, where in unknown.items():
            hint = codebook.suggest(text)
            more = f" (also rows {', '.join(map(str, where[1:6]))}" + (", ..." if len(where) > 6
                                                                       else "") + ")"
            col.add(where[0], "measure", text, "unknown measure" + (more if len(where) > 1 else ""),
                    fix=(f"did you mean '{hint}'? Use" if hint else "use") + " a key listed by "
                    "`itb codebook`, or add the measure with your own codebook YAML (--codebook)")
        rows = fill_phase_and_dose(rows, col)
        rows = duplicates(rows, col)
        for p in plausibility_problems(rows, codebook=codebook, file=file):
            col.problems.append(replace(p, severity="error", rule=p.rule + " (refused by "
                                        "--strict)") if strict else p)
    text = ["patient_id", "visit", "measure", "phase", "side", "unit", *extras]
    obs = pd.DataFrame({c: pd.array(rows.get(c, []), dtype="str" if c in text else "float64")
                        for c in TIDY_COLUMNS + extras})
    if len(obs) and "_row" in rows and not any(p.severity == "error" for p in col.problems):
        col.problems += consistency_problems(obs.assign(_row=rows["_row"]), file=file,
                                             relax=relax)
        if "site" in obs.columns:
            sites = sorted(s for s in obs["site"].unique() if s)
            col.add(None, "site", None, f"data from {len(sites)} site(s): {', '.join(sites)}",
                    severity="note")
    if not missing and "day" not in raw.columns and len(obs):
        col.add(None, "day", None, "no 'day' column: visits are ordered by first appearance",
                severity="note", fix="add days relative to the start of the test infusion")
    no_base = no_baseline(obs, col) if len(obs) else pd.DataFrame(
        columns=["patient_id", "measure", "side"])
    errors = [p for p in col.problems if p.severity == "error"]
    order = lambda p: (p.severity != "error", p.row is not None, p.row or 0)  # noqa: E731
    if errors:
        raise DataValidationError(sorted(col.problems, key=order))
    obs = obs.reset_index(drop=True)
    if "administration" in obs:  # checked above (consistency): read in any case
        obs["administration"] = obs["administration"].str.strip().str.lower()
    try:
        check_observations(obs)
    except ContractError as exc:  # a bug in the rules above, said plainly
        raise DataValidationError([Problem(file, None, None, None, "internal schema check "
                                           f"failed: {exc.failure_cases.head().to_dict('records')}",
                                           fix="please report this")]) from None
    notes = tuple(sorted(col.problems, key=order))
    excluded = pd.DataFrame(col.log, columns=EXCLUDED_COLUMNS)
    counts = {"patients": int(obs["patient_id"].nunique()), "visits": int(obs["visit"].nunique()),
              "measures": int(obs["measure"].nunique()), "rows": len(obs), "notes": len(notes),
              "excluded": len(excluded),
              "rows_read": int(raw.attrs.get("rows_read", raw["_row"].nunique())),
              "warnings": sum(p.severity == "warning" for p in notes)}
    return ValidationReport(obs, notes, excluded, dict(files or {}), counts, no_base,
                            _visit_order(obs) if len(obs) else ())


# ---------------------------------------------------------------------------- datasets

def load_dataset(path: str | Path, *, codebook: Codebook | None = None,
                 extra_codebook: str | Path | None = None,
                 redcap_dictionary: str | Path | None = None,
                 strict: bool = False, follow_links: bool = False,
                 mapping: str | Path | None = None, relax: Sequence[str] = ()) -> Dataset:
    """Read and validate a data file or a dataset directory.

    Parameters
    ----------
    path : str or Path
        An observations file (any format :func:`analysis.data.readers.read_observations` reads), or
        a directory holding ``observations.*`` and optionally ``patients.csv`` and ``study.yaml``.
    codebook : Codebook, optional
        Default: the built-in codebook plus ``extra_codebook``.
    extra_codebook : str or Path, optional
        The user's own codebook YAML, added to the built-in one (give this or ``codebook``,
        not both).
    redcap_dictionary : str or Path, optional
        The REDCap data dictionary of a REDCap export (default: a file named as REDCap names
        it, ``<PROJECT>_DataDictionary_<date>.csv``, in the dataset directory or beside the
        data file).
    strict : bool
        Plausibility warnings are errors.
    follow_links : bool
        Follow symbolic links that lead out of the dataset folder (refused by default:
        :mod:`analysis.data.inputs`).
    mapping : str or Path, optional
        A column mapping file (default: ``mapping.yaml`` in the dataset directory or beside the
        data file, when it names this file; :mod:`analysis.data.mapping`).
    relax : sequence of str
        Consistency checks reported as warnings instead of errors
        (:data:`analysis.data.consistency.CHECKS`).

    Returns
    -------
    Dataset

    Raises
    ------
    DataValidationError
        Listing every problem of the observations and the patient table (inputs a symbolic
        link leads out of the dataset folder: before anything is read).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "observations.csv").write_text(
    ...     "patient_id,visit,measure,value,phase,day\\n"
    ...     "P01,baseline,tug,14.2,baseline,-2\\nP01,post_m6,tug,9.8,post_implant,180\\n")
    >>> ds = load_dataset(d)
    >>> ds.observations[["visit", "value", "dose_ug_day"]].values.tolist()
    [['baseline', 14.2, 0.0], ['post_m6', 9.8, nan]]
    >>> ds.report.counts["rows"], ds.patients is None
    (2, True)
    """
    if codebook is not None and extra_codebook is not None:
        raise CodebookError("give either codebook= or extra_codebook=, not both "
                            "(load_codebook(extra=...) builds a codebook with your measures)")
    cb = codebook if codebook is not None else load_codebook(extra=extra_codebook)
    path = Path(path)
    check_dataset(path, extra=[f for f in (redcap_dictionary, mapping) if f],
                  follow_links=follow_links)
    root = path if path.is_dir() else path.parent
    obs_path = observations_file(path) if path.is_dir() else path
    files = {str(obs_path): sha256_file(obs_path)} if check_file(obs_path) is None else {}
    dictionary_found = mapping_found = False
    if redcap_dictionary is None and root.is_dir():
        redcap_dictionary = dictionary_file(root, beside=obs_path)
        dictionary_found = redcap_dictionary is not None
    if mapping is None:
        mapping = find_mapping(path)
        mapping_found = mapping is not None
    if dictionary_found or mapping_found:
        check_dataset(path, extra=[f for f in (redcap_dictionary, mapping) if f],
                      follow_links=follow_links)
    raw, problems = read_observations(obs_path, codebook=cb, redcap_dictionary=redcap_dictionary,
                                      mapping=mapping, mapping_found=mapping_found,
                                      dictionary_found=dictionary_found)
    if redcap_dictionary is not None and check_file(redcap_dictionary) is None and (
            not dictionary_found or raw.attrs.get("layout") == "redcap"):
        files[str(redcap_dictionary)] = sha256_file(redcap_dictionary)
    used = raw.attrs.get("mapping")
    if used is not None and used.source is not None and check_file(used.source) is None:
        files[used.source] = sha256_file(used.source)
    read_note = [Problem(obs_path.name, None, None, None,
                         ROWS_READ + str(int(raw.attrs.get("rows_read", 0))), severity="note")
                 ] if "rows_read" in raw.attrs else []
    pat_path = root / "patients.csv" if path.is_dir() else None
    study = root / "study.yaml" if path.is_dir() and (root / "study.yaml").is_file() else None
    try:
        report = validate_observations(raw, codebook=cb, file=obs_path.name, problems=problems,
                                       files=files, strict=strict, relax=relax)
        err = None
    except DataValidationError as exc:
        report, err = None, DataValidationError(exc.problems + read_note)
    patients = None
    sheet = raw.attrs.get("patients")
    if pat_path is None and obs_path.parent.joinpath("patients.csv").is_file() and sheet is not None:
        pat_path = obs_path.parent / "patients.csv"
    if pat_path is not None and pat_path.is_file() or sheet is not None:
        col = Collector(pat_path.name if pat_path is not None and pat_path.is_file()
                        else obs_path.name, [])
        obs_now = report.observations if report else raw
        from_sheet = None if sheet is None else sheet_patients(sheet, obs_path.name, col,
                                                               relax=relax)
        if pat_path is not None and pat_path.is_file():
            patients = read_patients(pat_path, obs_now, col, relax=relax)
            files[str(pat_path)] = sha256_file(pat_path)
            if from_sheet is not None:
                contradictions(patients, from_sheet, col, files=(pat_path.name, obs_path.name))
        else:
            patients = from_sheet
        patients.attrs.pop("rows", None)  # the rows named in messages; not part of the table
        pat_errors = [p for p in col.problems if p.severity == "error"]
        if err is not None or pat_errors:
            raise DataValidationError((err.problems if err else []) + col.problems)
        report = replace(report, problems=report.problems + tuple(col.problems),
                         counts={**report.counts,
                                 "notes": len(report.problems) + len(col.problems)})
    elif err is not None:
        raise err
    report = replace(report, files=files,
                     mapping=used.to_dict() if used is not None else None)
    return Dataset(report.observations, patients, report, cb, path, study)


def validate_path(path: str | Path, *, codebook: Codebook | None = None,
                  extra_codebook: str | Path | None = None,
                  redcap_dictionary: str | Path | None = None, strict: bool = False,
                  check_study: bool = True, follow_links: bool = False,
                  mapping: str | Path | None = None, relax: Sequence[str] = ()) -> ValidationReport:
    """Validate a data file or dataset directory; DataValidationError lists every problem.

    For a directory, ``study.yaml`` (when present) is validated too: its shape
    (:func:`analysis.data.config.load_config`) always, and its measure keys and reference visit
    against the codebook and the data (:func:`analysis.data.config.check_config`) once the data
    are valid; every configuration problem is reported with the data problems. Symbolic links
    leading out of the dataset folder are refused unless ``follow_links``
    (:mod:`analysis.data.inputs`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "obs.csv"
    >>> _ = f.write_text("patient_id,visit,measure,value\\nP01,baseline,tug,-3\\n")
    >>> try:
    ...     validate_path(f)
    ... except DataValidationError as exc:
    ...     print(exc.problems[0])
    obs.csv, row 2, column 'value': value out of range: tug must lie in [0, inf] s (value: '-3'). Correct the value, or check its unit
    """
    try:
        ds = load_dataset(path, codebook=codebook, extra_codebook=extra_codebook,
                          redcap_dictionary=redcap_dictionary, strict=strict,
                          follow_links=follow_links, mapping=mapping, relax=relax)
    except OutsideDatasetError:  # nothing was read, study.yaml included
        raise
    except DataValidationError as exc:
        study = Path(path) / "study.yaml"
        if check_study and Path(path).is_dir() and study.is_file():
            extra = _study_problems(study, None, None)
            if extra:
                raise DataValidationError(exc.problems + extra) from None
        raise
    if check_study and ds.study_path is not None:
        extra = _study_problems(ds.study_path, ds.codebook, ds.observations)
        if extra:
            raise DataValidationError(extra + list(ds.report.problems))
    return ds.report


def _study_problems(study: Path, codebook: Codebook | None,
                    observations: pd.DataFrame | None) -> list[Problem]:
    """Problems of study.yaml: shape, then (with data) its keys against codebook and data."""
    try:
        config = load_config(study)
        if codebook is not None and observations is not None:
            check_config(config, codebook, observations)
    except ConfigError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        items = [ln[2:] for ln in lines[1:] if ln.startswith("- ")] or [lines[0]]
        prefix = f"{study}: "
        return [Problem(study.name, None, None, None,
                        (it[len(prefix):] if it.startswith(prefix) else it),
                        fix="Correct the study configuration") for it in items]
    return []


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~file_umask())  # mkstemp makes 0600; outputs are 0644
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_derived(report: ValidationReport, out_dir: str | Path = Path("data/derived")) -> Path:
    """Write the validated tidy observations, the exclusions log and the report (atomically).

    Files: ``observations_tidy.csv``, ``exclusions.csv`` and ``validation.json`` in
    ``out_dir``; each is written to a temporary file in the same directory and moved into
    place with :func:`os.replace`, so a reader never sees a half-written file.

    Returns
    -------
    Path
        The tidy observations CSV.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tidy = out / "observations_tidy.csv"
    _atomic_write(tidy, report.observations.to_csv(index=False, lineterminator="\n"))
    _atomic_write(out / "exclusions.csv", report.excluded.to_csv(index=False, lineterminator="\n"))
    _atomic_write(out / "validation.json", json.dumps(report.to_dict(), indent=2, default=str)
                  + "\n")
    return tidy
