"""The app's working folder: where uploads, copies of chosen folders, mappings, settings and runs
live, so that the user's own files are never modified.

Layout::

    <root>/datasets/<name>/   one folder per upload or imported folder (C3D trials in gait/)
    <root>/runs/<id>/          one folder per run (see :mod:`analysis.app.jobs`)
    <root>/current             the name of the dataset being worked on (plain text)

Upload names are reduced to a safe base name or refused (:func:`safe_name`); a file is served
only when its resolved path is inside the working folder (:meth:`Workspace.inside`).
"""

from __future__ import annotations

import re
import shutil
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from analysis.errors import ITBError

#: What a dataset folder may receive (data, REDCap dictionary, patients, settings, gait trials).
UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".sav", ".zsav", ".dta", ".parquet",
                   ".pq", ".yaml", ".yml", ".c3d")
_DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".sav", ".zsav", ".dta", ".parquet",
                  ".pq")
_NOT_DATA = ("patients.csv", "study.yaml", "mapping.yaml")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class UploadNameError(ITBError):
    """An upload whose name could write outside its folder, or is not a data file."""


def safe_name(name: str) -> str:
    """The base name an upload is saved under, or :class:`UploadNameError`.

    Refused, not repaired: a path (``/`` or ``\\``), ``..``, an absolute or drive path, a
    control character, a leading dot or dash, and a suffix that is not a data, settings or C3D
    file. The name is NFC-normalised.

    Examples
    --------
    >>> safe_name("ITB Auswertung.xlsx")
    'ITB Auswertung.xlsx'
    >>> try:
    ...     safe_name("../../etc/passwd.csv")
    ... except UploadNameError as exc:
    ...     print(str(exc).split(":")[0])
    upload '../../etc/passwd.csv'
    """
    text = unicodedata.normalize("NFC", str(name or "")).strip()
    shown = repr(text[:80])
    if not text:
        raise UploadNameError("an upload has no file name")
    if "/" in text or "\\" in text or ".." in text or re.match(r"^[A-Za-z]:", text):
        raise UploadNameError(f"upload {shown}: a file name may not hold a folder ('/' or '\\') "
                              "or '..'; upload the file itself")
    if _CONTROL.search(text) or text[0] in ".-~" or len(text.encode()) > 200:
        raise UploadNameError(f"upload {shown}: the file name has control characters, starts "
                              "with '.', '-' or '~', or is too long; rename the file")
    if Path(text).suffix.lower() not in UPLOAD_SUFFIXES:
        raise UploadNameError(f"upload {shown}: not a file the app reads; give CSV, TSV, XLSX, "
                              "SAV, DTA, Parquet, a REDCap export with its dictionary (CSV), "
                              "study.yaml or C3D gait trials")
    return text


@dataclass(frozen=True)
class Workspace:
    """The working folder (created on first use).

    Examples
    --------
    >>> import tempfile
    >>> ws = Workspace(Path(tempfile.mkdtemp()))
    >>> ds = ws.new_dataset("upload")
    >>> _ = ws.save(ds, "observations.csv", b"patient_id,visit,measure,value\\n")
    >>> ws.inside(ds / "observations.csv") is not None, ws.inside(Path("/etc/passwd"))
    (True, None)
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).expanduser().resolve())
        for sub in ("datasets", "runs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def new_dataset(self, label: str) -> Path:
        """A new, empty dataset folder named for ``label`` and the time; made current."""
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", unicodedata.normalize("NFKD", label)).strip("-")
        stem = (stem or "data")[:40]
        base = f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}"
        folder, n = self.datasets / base, 1
        while folder.exists():
            n += 1
            folder = self.datasets / f"{base}-{n}"
        folder.mkdir(parents=True)
        self.set_current(folder.name)
        return folder

    def save(self, dataset: Path, name: str, content: bytes) -> Path:
        """Write one upload into ``dataset`` (C3D trials into ``gait/``) under its safe name."""
        name = safe_name(name)
        gait = name.lower().endswith(".c3d") or name.lower() == "norms.parquet"
        folder = dataset / "gait" if gait else dataset
        folder.mkdir(exist_ok=True)
        target = folder / name
        if self.inside(target) is None or target.parent.resolve() != folder.resolve():
            raise UploadNameError(f"upload {name!r}: would be written outside the working folder")
        target.write_bytes(content)
        return target

    def import_folder(self, source: Path) -> Path:
        """Copy the data files of a folder on this computer (read only) into a new dataset."""
        source = Path(source).expanduser()
        if not source.is_dir():
            raise ITBError(f"{source}: no such folder; give the folder holding the data files")
        files = [p for p in sorted(source.iterdir()) if p.is_file() and not p.is_symlink()
                 and p.suffix.lower() in UPLOAD_SUFFIXES and not p.name.startswith(".")]
        gait = source / "gait"
        trials = ([p for p in sorted(gait.iterdir()) if p.is_file() and not p.is_symlink()]
                  if gait.is_dir() and not gait.is_symlink() else [])
        if not files:
            raise ITBError(f"{source}: holds no data file (CSV, XLSX, SAV, DTA, Parquet)")
        dataset = self.new_dataset(source.name)
        for p in files:
            shutil.copy2(p, dataset / p.name)
        if trials:
            (dataset / "gait").mkdir()
            for p in trials:
                shutil.copy2(p, dataset / "gait" / p.name)
        return dataset

    def discard(self, dataset: Path) -> None:
        """Remove a dataset folder made by this app (an upload that failed half-way)."""
        if self.inside(dataset) is not None and dataset.parent == self.datasets:
            shutil.rmtree(dataset, ignore_errors=True)
            marker = self.root / "current"
            if marker.is_file() and marker.read_text(encoding="utf-8").strip() == dataset.name:
                marker.unlink()

    def set_current(self, name: str) -> None:
        (self.root / "current").write_text(name, encoding="utf-8")

    def current(self) -> Path | None:
        """The dataset folder being worked on, or None."""
        marker = self.root / "current"
        if not marker.is_file():
            return None
        folder = self.datasets / marker.read_text(encoding="utf-8").strip()
        return folder if folder.is_dir() and self.inside(folder) is not None else None

    def dataset_names(self) -> list[str]:
        return sorted((p.name for p in self.datasets.iterdir() if p.is_dir()), reverse=True)

    def inside(self, path: Path) -> Path | None:
        """``path`` resolved (links followed) when it is inside the working folder, else None."""
        try:
            resolved = Path(path).resolve()
        except (OSError, RuntimeError):
            return None
        return resolved if resolved.is_relative_to(self.root) else None


def data_path(dataset: Path) -> Path:
    """What the analysis is given: the folder when it holds ``observations.*``, else its one
    data file (a REDCap dictionary, patients.csv and settings files aside).

    Raises ITBError naming the files when there is none or more than one.
    """
    if any(p.stem == "observations" and p.suffix.lower() in _DATA_SUFFIXES
           for p in dataset.iterdir()):
        return dataset
    data = [p for p in sorted(dataset.iterdir()) if p.is_file()
            and p.suffix.lower() in _DATA_SUFFIXES and p.name not in _NOT_DATA
            and "datadictionary" not in p.stem.lower().replace("_", "").replace(" ", "")]
    if len(data) == 1:
        return data[0]
    if not data:
        raise ITBError("this dataset holds no data file yet: upload a CSV, XLSX, SAV, DTA or "
                       "Parquet file")
    raise ITBError(f"this dataset holds {len(data)} data files ({', '.join(p.name for p in data)})"
                   ": upload one data file per dataset, or name it observations.csv")


def mapping_path(dataset: Path) -> Path:
    return dataset / "mapping.yaml"


def settings_path(dataset: Path) -> Path:
    return dataset / "study.yaml"
