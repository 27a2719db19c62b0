"""``itb reproduce``: check a run's files against its manifest and every number against a re-run.

For each manifest (:mod:`analysis.run.manifest`):

1. ``results.csv`` and ``results.parquet`` are hashed and compared with the SHA-256 the
   manifest records: a missing, replaced or hand-edited file is named.
2. The recorded inputs (paths relative to the manifest's ``root``, so any working directory
   works) are hashed: a missing or changed input is named.
3. The analysis is re-run from the recorded inputs without any cache, and every number of
   ``results.parquet`` is compared with the re-run. A ``results.csv`` with its recorded hash
   holds the same numbers (both files are written from one table, and their hashes recorded
   together); one that was edited is read and every cell that differs from
   ``results.parquet`` is named with its row.
4. Installed versions that differ from the recorded ones are listed.

Tolerances (:data:`TOLERANCES`)
-------------------------------
A number agrees when ``|recorded - reproduced| <= atol + rtol * |recorded|``; NaN matches NaN
and an infinity the same infinity. The tolerances separate platform noise from real change:

- ``closed_form`` (descriptives, tests, effect sizes, intervals, single-case statistics,
  per-patient OLS; everything not below): ``rtol = 1e-6``, ``atol = 1e-10``. These numbers
  are a short chain of floating-point operations and special functions; across platforms
  (BLAS summation order, libm, numpy/scipy versions) they differ by a few units in the last
  place amplified by the conditioning of the chain. ``benchmarks/tolerance_spread.py``
  measures that amplification by perturbing every non-integer input value by 1e-13 (relative,
  ~450 ulp) and re-running: the largest relative change of a closed-form number was 1.5e-10
  (``benchmarks/RESULTS.md``; rank statistics left out, whose jumps come from ties the
  perturbation breaks, which a platform reading the same data does not). ``1e-6`` leaves four
  orders of magnitude of margin above it, and sits three below the 0.1 % change a reader
  could notice.
- ``iterative`` (mixed models: rows whose ``analysis`` starts with ``lmm_`` or whose
  ``df_method`` is ``satterthwaite`` or ``kenward-roger``, such as the group dose model):
  ``rtol = 1e-4``, ``atol = 1e-8``. A REML fit stops when its optimiser's convergence test
  passes, so two platforms may stop at different iterates, and Satterthwaite/Kenward-Roger df are numerical derivatives of the
  fit. The same 1e-13 input perturbation moved mixed-model numbers by up to 1.5e-6 (a
  variance component of the group dose model), and issue 11 observed 1.8e-6 between Python
  3.11/numpy 1 and Python 3.12/numpy 2. ``1e-4`` is fifty times that spread and ten times
  below the smallest change that is flagged as real (1e-3).

The absolute parts only matter for numbers that are zero up to rounding (a difference of two
equal means, a p-value underflowing). ``--rtol`` replaces the relative tolerance of every
statistic (smaller tightens; ``--rtol 0`` asks for exact equality within ``atol``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import ITBError
from analysis.results import KEY_COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS
from analysis.run.manifest import (
    MANIFEST,
    RESULT_FILES,
    manifest_root,
    package_versions,
    read_manifest,
    read_results_csv,
    result_numbers,
    row_keys,
    sha256_file,
)
from analysis.vocabulary import DF_METHODS

#: statistic class -> (rtol, atol); see the module docstring for how they were chosen.
TOLERANCES: dict[str, tuple[float, float]] = {
    "closed_form": (1e-6, 1e-10),
    "iterative": (1e-4, 1e-8),
}
DIFFERENCE_COLUMNS = ["file", "row", "key", "column", "recorded", "reproduced", "rel_diff"]


@dataclass(frozen=True)
class Reproduction:
    """Outcome of reproducing one manifest.

    Attributes
    ----------
    manifest : Path
        The manifest file checked.
    file_problems : DataFrame
        Results files missing, unreadable or not the ones the manifest records (file, problem).
    changed_inputs : DataFrame
        Inputs missing or whose SHA-256 differs from the record (path, recorded, actual).
    differences : DataFrame
        Numbers (and text cells) that differ beyond tolerance or exist on one side only
        (file, row: 1-based data row of the file, key, column, recorded, reproduced, rel_diff).
    version_changes : DataFrame
        Packages whose installed version differs from the record (package, recorded, installed).
    n_compared : int
        How many numbers were compared with the re-run.
    max_rel_diff : float
        Largest relative difference among the numbers that agree within tolerance.
    rtol : float or None
        The ``--rtol`` override, or None for the per-statistic defaults.
    """

    manifest: Path
    file_problems: pd.DataFrame
    changed_inputs: pd.DataFrame
    differences: pd.DataFrame
    version_changes: pd.DataFrame
    n_compared: int
    max_rel_diff: float = 0.0
    rtol: float | None = None
    notes: tuple[str, ...] = field(default=())
    rerun: bool = True

    @property
    def ok(self) -> bool:
        """True when the files are the recorded ones, the inputs unchanged and every number agrees."""
        return self.file_problems.empty and self.changed_inputs.empty and self.differences.empty

    def summary(self) -> str:
        """One line: "all N numbers agree within ..." or "N numbers changed ..."."""
        if not self.rerun:
            return "not re-run: the numbers were not compared (restore the missing inputs)"
        tolerance = ("platform tolerance" if self.rtol is None
                     else f"relative tolerance {self.rtol:g}")
        if self.differences.empty:
            return (f"all {self.n_compared} numbers agree within {tolerance} "
                    f"(max relative difference {self.max_rel_diff:.2g})")
        n = len(self.differences)
        return (f"{n} number{'s' if n != 1 else ''} changed beyond {tolerance} "
                f"(of {self.n_compared} compared)")

    def report(self, max_rows: int = 40) -> str:
        """A plain-text account of what was checked and what differs."""
        lines = [f"{self.manifest}:"]
        if not self.version_changes.empty:
            lines.append("  warning: installed versions differ from the manifest:")
            lines += [f"    {r.package}: recorded {r.recorded}, installed {r.installed}"
                      for r in self.version_changes.itertuples()]
        lines += [f"  {r.file}: {r.problem}" for r in self.file_problems.itertuples()]
        for r in self.changed_inputs.itertuples():
            if r.actual == "missing":
                lines.append(f"  input missing: {r.path} (recorded in the manifest; restore it "
                             "to reproduce)")
            else:
                lines.append(f"  input changed: {r.path} (SHA-256 recorded {r.recorded[:12]}..., "
                             f"now {r.actual[:12]}...)")
        lines += [f"  note: {n}" for n in self.notes]
        lines.append("  " + self.summary() + (":" if not self.differences.empty else ""))
        if not self.differences.empty:
            shown = self.differences.head(max_rows).copy()
            shown["row"] = shown["row"].map(lambda r: "" if pd.isna(r) else f"row {int(r)}")
            with pd.option_context("display.max_colwidth", 80, "display.width", 250):
                text = shown.to_string(index=False)
            lines += ["    " + line for line in text.splitlines()]
            if len(self.differences) > max_rows:
                lines.append(f"    ... and {len(self.differences) - max_rows} more")
        return "\n".join(lines)


def find_manifests(path: str | Path) -> list[Path]:
    """The manifest file at ``path``, or every ``manifest.json`` below a directory, sorted
    (hidden directories, such as what an interrupted run left, are not searched)."""
    path = Path(path)
    if path.is_file():
        return [path]
    found = sorted(p for p in path.rglob(MANIFEST)
                   if not any(part.startswith(".") for part in p.relative_to(path).parts[:-1])
                   ) if path.is_dir() else []
    if not found:
        raise ITBError(f"{path}: no manifest.json found; run `itb analyze` or `itb report` first")
    return found


def tolerances(results: pd.DataFrame, *, rtol: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Relative and absolute tolerance of every row of a results table (:data:`TOLERANCES`).

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> t = result_frame([{"measure": "m", "analysis": "lmm_contrast", "term": "a"},
    ...                   {"measure": "m", "analysis": "paired_t", "term": "a"}])
    >>> tolerances(t)[0].tolist()
    [0.0001, 1e-06]
    """
    iterative = (results["analysis"].astype(str).str.startswith("lmm_")
                 | results["df_method"].astype(str).isin(DF_METHODS)).to_numpy()
    (r_it, a_it), (r_cf, a_cf) = TOLERANCES["iterative"], TOLERANCES["closed_form"]
    rel = np.where(iterative, r_it, r_cf) if rtol is None else np.full(len(results), float(rtol))
    return rel.astype(float), np.where(iterative, a_it, a_cf).astype(float)


def compare_tables(recorded: pd.DataFrame, reproduced: pd.DataFrame, *, rtol: float | None = None,
                   exact: bool = False, file: str = "results.parquet") -> tuple[pd.DataFrame, int, float]:
    """Differences between a recorded results table and a reproduced one, matched by row key.

    Returns ``(differences, n_compared, max_rel_diff)``: the cells beyond tolerance (numbers)
    or not equal (text), rows present on one side only, and the largest relative difference
    among the numbers within tolerance. ``exact`` compares numbers for equality (two files of
    one run). ``row`` is the 1-based data row of ``recorded`` (the header is not a row).

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> a = result_frame([{"measure": "m", "analysis": "paired_t", "term": "t", "estimate": 2.0}])
    >>> b = a.assign(estimate=2.0 * (1 + 1e-7))
    >>> d, n, worst = compare_tables(a, b)
    >>> d.empty, n, round(worst, 9)
    (True, 1, 1e-07)
    >>> compare_tables(a, a.assign(estimate=2.002))[0][["row", "column"]].values.tolist()
    [[1, 'estimate']]
    """
    recorded, reproduced = recorded.reset_index(drop=True), reproduced.reset_index(drop=True)
    frames: list[pd.DataFrame] = []
    if _aligned(recorded, reproduced):  # the usual case: same rows in the same order
        a, b, row_numbers = recorded, reproduced, np.arange(1, len(recorded) + 1)
    else:
        rec_keys, rep_keys = row_keys(recorded), row_keys(reproduced)
        duplicated = rec_keys.duplicated().to_numpy()
        frames.append(_rows(file, np.flatnonzero(duplicated) + 1, rec_keys[duplicated], "",
                            "duplicate row", ""))
        rec = recorded.assign(_row=np.arange(1, len(recorded) + 1))[~duplicated]
        rec = rec.set_axis(rec_keys[~duplicated])
        rep = reproduced.set_axis(rep_keys)
        rep = rep[~rep.index.duplicated()]
        only = rec.index.difference(rep.index, sort=False)
        frames.append(_rows(file, rec.loc[only, "_row"].to_numpy(), only, "", "row", "missing"))
        extra = rep.index.difference(rec.index, sort=False)
        frames.append(_rows(file, np.full(len(extra), np.nan), extra, "", "missing", "row"))
        common = rec.index.intersection(rep.index, sort=False)
        a, b = rec.loc[common].reset_index(drop=True), rep.loc[common].reset_index(drop=True)
        row_numbers = a.pop("_row").to_numpy()
    rel_tol, abs_tol = tolerances(b, rtol=rtol)
    if exact:
        rel_tol, abs_tol = np.zeros(len(b)), np.zeros(len(b))
    n_compared, worst = 0, 0.0
    for column in NUMERIC_COLUMNS:
        x, y = a[column].to_numpy(dtype=float), b[column].to_numpy(dtype=float)
        both_nan = np.isnan(x) & np.isnan(y)
        n_compared += int((~both_nan).sum())
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            diff = np.abs(x - y)
            same = (x == y) | both_nan
            close = np.isfinite(x) & np.isfinite(y) & (diff <= abs_tol + rel_tol * np.abs(x))
            rel = np.where(x != 0, diff / np.abs(x), np.where(diff == 0, 0.0, np.inf))
        agree = same | close
        if (agree & ~same).any():
            worst = max(worst, float(np.nanmax(np.where(agree & ~same, rel, 0.0))))
        bad = np.flatnonzero(~agree)
        if len(bad):
            finite = np.isfinite(x[bad]) & np.isfinite(y[bad])
            frames.append(_rows(file, row_numbers[bad], row_keys(a.iloc[bad]), column,
                                _shown(x[bad]), _shown(y[bad]), np.where(finite, rel[bad], np.nan)))
    for column in (c for c in TEXT_COLUMNS if c not in KEY_COLUMNS):
        x, y = a[column].astype(str).to_numpy(), b[column].astype(str).to_numpy()
        bad = np.flatnonzero(x != y)
        if len(bad):
            frames.append(_rows(file, row_numbers[bad], row_keys(a.iloc[bad]), column, x[bad], y[bad]))
    frames = [f for f in frames if len(f)]
    differences = (pd.concat(frames, ignore_index=True) if frames
                   else pd.DataFrame(columns=DIFFERENCE_COLUMNS))
    differences = differences.sort_values(["row", "key"], kind="stable", na_position="last")
    return differences.reset_index(drop=True), n_compared, worst


def _aligned(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Both tables hold the same row keys in the same order."""
    if len(a) != len(b):
        return False
    return all(np.array_equal(a[c].astype(str).to_numpy(), b[c].astype(str).to_numpy())
               for c in KEY_COLUMNS)


def _rows(file: str, rows: Any, keys: Any, column: str, recorded: Any, reproduced: Any,
          rel_diff: Any = np.nan) -> pd.DataFrame:
    """Difference rows (vectorised: a large change gives millions)."""
    n = len(keys)
    return pd.DataFrame({
        "file": [file] * n, "row": pd.array(np.asarray(rows, dtype=float), dtype="Int64"), "key": np.asarray(keys, dtype=object),
        "column": [column] * n,
        "recorded": np.broadcast_to(np.asarray(recorded, dtype=object), (n,)),
        "reproduced": np.broadcast_to(np.asarray(reproduced, dtype=object), (n,)),
        "rel_diff": np.broadcast_to(np.asarray(rel_diff, dtype=float), (n,)),
    }, columns=DIFFERENCE_COLUMNS)


def compare_numbers(recorded: Mapping[str, Any], reproduced: Mapping[str, Any], *,
                    rtol: float = TOLERANCES["closed_form"][0],
                    atol: float = TOLERANCES["closed_form"][1]) -> pd.DataFrame:
    """Numbers of two ``{key: number}`` records (version-1 manifests) that differ beyond
    ``atol + rtol * |recorded|`` or exist on one side only.

    Examples
    --------
    >>> compare_numbers({"a": 1.0, "b": None}, {"a": 1.0 + 1e-12, "b": None}).empty
    True
    >>> compare_numbers({"a": 1.0}, {"a": 1.1})["key"].tolist()
    ['a']
    """
    rows = []
    for key in sorted(set(recorded) | set(reproduced)):
        a, b = recorded.get(key, "missing"), reproduced.get(key, "missing")
        if a == b:  # also None (NaN) and "inf" on both sides
            continue
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if abs(a - b) <= atol + rtol * abs(a):
                continue
            rel = abs(a - b) / abs(a) if a else math.inf
        else:
            rel = math.nan
        rows.append({"key": key, "recorded": a, "reproduced": b, "rel_diff": rel})
    return pd.DataFrame(rows, columns=["key", "recorded", "reproduced", "rel_diff"])


def check_files(manifest: Mapping[str, Any], folder: Path) -> tuple[list[dict[str, str]], dict[str, pd.DataFrame]]:
    """Hash ``results.csv`` and ``results.parquet`` and read what must be compared:
    (problems, tables).

    ``results.parquet`` is always read (its numbers are compared with the re-run). ``results.csv``
    is read only when its SHA-256 is not the recorded one (or the Parquet file is missing or
    unreadable): with its recorded hash it is, byte for byte, the file written beside that
    Parquet file from the same table, so its numbers are the Parquet file's.
    """
    problems, tables, intact = [], {}, {}
    recorded = manifest.get("files") or {}
    for name in RESULT_FILES:
        path = folder / name
        if not path.exists():
            problems.append({"file": name, "problem": "missing (the manifest records it)"})
            continue
        actual = sha256_file(path)
        expected = (recorded.get(name) or {}).get("sha256")
        intact[name] = actual == expected
        if expected is None:
            problems.append({"file": name, "problem": "no SHA-256 recorded in the manifest"})
        elif actual != expected:
            problems.append({"file": name, "problem": "edited or replaced since the run "
                             f"(SHA-256 recorded {expected[:12]}..., now {actual[:12]}...)"})
    for name in reversed(RESULT_FILES):  # the Parquet file first
        if name not in intact or (name == "results.csv" and intact[name]
                                  and "results.parquet" in tables):
            continue
        try:
            tables[name] = (read_results_csv(folder / name) if name.endswith(".csv")
                            else pd.read_parquet(folder / name))
        except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, not raised
            problems.append({"file": name, "problem": f"cannot be read as a results table ({exc})"})
    return problems, tables


def reproduce_manifest(path: str | Path, *, rtol: float | None = None) -> Reproduction:
    """Check one manifest's files and inputs, re-run its analysis and compare (module docstring)."""
    # Imported here: the pipeline imports every model module, which the other commands
    # of the command line do not need.
    from analysis.run.pipeline import run_analysis

    path = Path(path)
    path = path / MANIFEST if path.is_dir() else path
    manifest = read_manifest(path)
    root = manifest_root(manifest, path)
    version = manifest.get("manifest_version", 1)
    notes: list[str] = []

    changed = []
    for item in manifest.get("inputs", []):
        file = root / item["path"]
        actual = sha256_file(file) if file.is_file() else "missing"
        if actual != item["sha256"]:
            changed.append({"path": item["path"], "recorded": item["sha256"], "actual": actual})
    installed = package_versions()
    versions = [
        {"package": k, "recorded": v, "installed": installed.get(k, "not installed")}
        for k, v in sorted(manifest.get("versions", {}).items())
        if installed.get(k, "not installed") != v
    ]
    if version >= 2:
        problems, tables = check_files(manifest, path.parent)
    else:
        problems, tables = [], {}
        notes.append("a version-1 manifest records no hashes of the results files: they were "
                     "not checked; the numbers it holds were compared")
    run = manifest.get("run") or {}
    if "data" not in run:
        raise ITBError(f"{path}: the manifest does not record how it was made (no 'run' entry)")

    differences = pd.DataFrame(columns=DIFFERENCE_COLUMNS)
    n_compared, worst = 0, 0.0
    rerun_possible = not any(c["actual"] == "missing" for c in changed)
    if rerun_possible:
        rerun = run_analysis(
            root / run["data"],
            config=None if run.get("config") is None else root / run["config"],
            codebook=None if run.get("codebook") is None else root / run["codebook"],
            df_method=run.get("df_method"),
            cache_dir=None,
            follow_links=bool(run.get("follow_links", False)),
            **{k: root / run[k] for k in ("mapping", "redcap_dictionary") if run.get(k)},
            relax=tuple(run.get("relax", ())),
        ).results
        if version < 2:
            reproduced = result_numbers(rerun)
            found = compare_numbers(manifest.get("numbers", {}), reproduced,
                                    rtol=TOLERANCES["iterative"][0] if rtol is None else rtol)
            differences = found.assign(file=MANIFEST, row=math.nan, column="")[DIFFERENCE_COLUMNS]
            n_compared = len(set(manifest.get("numbers", {})) | set(reproduced))
        else:
            differences, n_compared, worst = compare_files(tables, rerun, rtol=rtol)
    return Reproduction(
        manifest=path,
        file_problems=pd.DataFrame(problems, columns=["file", "problem"]),
        changed_inputs=pd.DataFrame(changed, columns=["path", "recorded", "actual"]),
        differences=differences,
        version_changes=pd.DataFrame(versions, columns=["package", "recorded", "installed"]),
        n_compared=n_compared, max_rel_diff=worst, rtol=rtol, notes=tuple(notes),
        rerun=rerun_possible,
    )


def compare_files(tables: Mapping[str, pd.DataFrame], rerun: pd.DataFrame, *,
                   rtol: float | None) -> tuple[pd.DataFrame, int, float]:
    """The Parquet file (else the CSV) against the re-run; the CSV against the Parquet file,
    cell by cell, so that a hand edit of the CSV is named with its row."""
    csv, parquet = tables.get("results.csv"), tables.get("results.parquet")
    primary, name = (parquet, "results.parquet") if parquet is not None else (csv, "results.csv")
    if primary is None:
        return pd.DataFrame(columns=DIFFERENCE_COLUMNS), 0, 0.0
    differences, n_compared, worst = compare_tables(primary, rerun, rtol=rtol, file=name)
    if csv is not None and parquet is not None:
        edits, _, _ = compare_tables(csv, parquet, exact=True, file="results.csv")
        if not edits.empty:  # show the re-run's value beside the edited cell
            rerun_values = rerun.set_axis(row_keys(rerun))
            edits["reproduced"] = [
                _shown(rerun_values.at[k, c]) if c and k in rerun_values.index else r
                for k, c, r in zip(edits["key"], edits["column"], edits["reproduced"], strict=False)]
            differences = pd.concat([edits, differences], ignore_index=True)
    return differences, n_compared, worst


def _shown(values: Any) -> Any:
    """Numbers as floats, NaN as "empty" (scalars or arrays)."""
    values = np.asarray(values)
    if values.dtype.kind != "f":
        return values if values.ndim else values.item()
    shown = values.astype(object)
    shown[np.isnan(values)] = "empty"
    return shown if values.ndim else shown.item()
