"""The validation shown on the Check page: the command line's validation, grouped as
``itb validate`` groups it (:func:`analysis.data.summary.group_problems`), with a preview of the
sheet whose problem cells are marked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from analysis.app.sheet_preview import Preview, preview
from analysis.app.workspace import data_path, mapping_path
from analysis.errors import DataValidationError, ITBError, Problem

#: Section titles, in the order of ``itb validate``'s text report.
SECTIONS = (("error", "Errors: the data are refused until these are fixed"),
            ("dropped", "Columns dropped or not recognised: their data are not analysed"),
            ("warning", "Warnings: doubtful values, check them"),
            ("note", "Notes: accepted, changed or excluded"))


@dataclass(frozen=True)
class Check:
    """The outcome of validating one dataset."""

    valid: bool
    summary: str = ""
    message: str = ""                     # a problem that is not one of the data (mapping...)
    sections: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    preview: Preview | None = None
    patients: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    visits: tuple[str, ...] = ()
    observations: object = field(default=None, repr=False, compare=False)


def run_check(dataset: Path, codebook) -> Check:
    """Validate the dataset folder as ``itb validate`` does (with its mapping.yaml)."""
    from analysis.data.summary import group_problems
    from analysis.data.validate import validate_path

    try:
        data = data_path(dataset)
    except ITBError as exc:
        return Check(False, message=str(exc))
    mapping = mapping_path(dataset)
    try:
        report = validate_path(data, codebook=codebook,
                               mapping=mapping if mapping.is_file() else None)
    except DataValidationError as exc:
        problems: tuple[Problem, ...] = tuple(exc.problems)
        return Check(False, summary=f"NOT valid: {sum(p.severity == 'error' for p in problems)} "
                     "error(s)", sections=_sections(group_problems(problems)),
                     preview=_preview(data, problems))
    except ITBError as exc:
        return Check(False, message=str(exc))
    obs = report.observations
    return Check(True, summary=report.summary().splitlines()[0],
                 sections=_sections(group_problems(report.problems)),
                 preview=_preview(data, report.problems),
                 patients=tuple(sorted(map(str, obs["patient_id"].unique()))),
                 measures=tuple(sorted(map(str, obs["measure"].unique()))),
                 visits=tuple(report.visit_order), observations=obs)


def _sections(grouped: list[tuple[str, str]]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    return tuple((key, title, tuple(text for s, text in grouped if s == key))
                 for key, title in SECTIONS if any(s == key for s, _ in grouped))


def _preview(data: Path, problems) -> Preview | None:
    sheet = data
    if data.is_dir():
        found = [p for p in sorted(data.iterdir()) if p.stem == "observations"]
        if not found:
            return None
        sheet = found[0]
    try:
        return preview(sheet, problems)
    except Exception:  # noqa: BLE001 - the preview is a help; the problems are listed anyway
        return None
