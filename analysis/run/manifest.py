"""Results manifest and the atomic writing of a run's outputs.

The manifest records what went in (files with SHA-256, configuration, seed, versions, git
commit), how the run was made, and what came out: the SHA-256 and size of ``results.csv`` and
``results.parquet``, the number of rows and a digest of their row keys. The numbers themselves
live once, in ``results.parquet`` (and the same, as text, in ``results.csv``); ``itb reproduce``
checks both files against these hashes and every number against a re-run.

Paths in the manifest are relative to its ``root``, itself recorded relative to the manifest's
own directory, so a reviewer can reproduce from any working directory of a moved, cloned or
unzipped compendium.

:func:`write_run` writes the three files into a temporary directory beside the output
directory and renames it into place, holding a lock on the output; an interrupted or failed run
leaves the previous complete set, or nothing. Two runs on the same inputs write byte-identical
files: no timestamps, sorted keys, rows in the stable order of :func:`analysis.results.combine`.

Text cells of ``results.csv`` that a spreadsheet would read as a formula (beginning with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return, and not a number) are prefixed with a single
quote, as OWASP recommends against CSV injection; :func:`read_results_csv` removes it again.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from analysis.errors import ITBError
from analysis.paths import sha256_file
from analysis.results import (  # noqa: F401 - neutralise/restore re-exported here
    COLUMNS,
    KEY_COLUMNS,
    NUMERIC_COLUMNS,
    TEXT_COLUMNS,
    neutralise_formulas,
    restore_formulas,
    write_results_csv,
)

#: Distributions whose versions are recorded (and compared by ``itb reproduce``).
TRACKED_PACKAGES = (
    "itb-analysis", "numpy", "scipy", "pandas", "statsmodels", "pingouin", "matplotlib",
    "seaborn", "pyarrow", "great-tables", "nbclient", "ipykernel", "pypandoc-binary",
    "typst",
)
MANIFEST_VERSION = 2
#: The files of one run (the manifest is written last).
RESULT_FILES = ("results.csv", "results.parquet")
MANIFEST = "manifest.json"
KEY_SEPARATOR = " | "


def package_versions(names: Iterable[str] | None = None) -> dict[str, str]:
    """Installed versions of Python and of ``names`` (default: the tracked packages)."""
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES if names is None else names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_state(path: str | Path = ".") -> dict[str, Any]:
    """The git commit of the working tree at ``path`` and whether it has uncommitted changes.

    Untracked and ignored files (outputs, caches) do not make the tree dirty.
    """
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(path), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def number_key(row: Mapping[str, Any], column: str) -> str:
    """Stable identifier of one number: measure, side, patient, analysis, term and column.

    Examples
    --------
    >>> number_key({"measure": "tug", "side": "", "patient_id": "", "analysis": "paired_t",
    ...             "term": "post_m6 - baseline"}, "p_value")
    'tug |  |  | paired_t | post_m6 - baseline | p_value'
    """
    return KEY_SEPARATOR.join([*(str(row[c]) for c in KEY_COLUMNS), column])


def result_numbers(results: pd.DataFrame) -> dict[str, float | str]:
    """Every reported number of a results table keyed by :func:`number_key`.

    Version-1 manifests stored this dictionary (every number a second time, as JSON text);
    ``itb reproduce`` still compares it when it reads one.

    Empty cells (NaN) are left out: they are not reported numbers, and a number that becomes
    empty (or appears) shows in ``itb reproduce`` as present on one side only. Infinities are
    written as the strings ``"inf"`` and ``"-inf"`` (JSON has neither).
    """
    # Vectorised (one Python call per number took a second on large studies).
    prefix = results[KEY_COLUMNS[0]].astype(str)
    for column in KEY_COLUMNS[1:]:
        prefix = prefix + KEY_SEPARATOR + results[column].astype(str)
    prefix = (prefix + KEY_SEPARATOR).to_numpy(dtype=object)
    numbers: dict[str, float | str] = {}
    for column in NUMERIC_COLUMNS:
        values = results[column].to_numpy(dtype=float)
        keep = ~np.isnan(values)
        json_values = values[keep].astype(object)  # Python floats
        json_values[values[keep] == np.inf] = "inf"
        json_values[values[keep] == -np.inf] = "-inf"
        numbers.update(zip((prefix[keep] + column).tolist(), json_values.tolist(), strict=False))
    return numbers


def row_keys(results: pd.DataFrame) -> pd.Series:
    """The key of every row (:data:`analysis.results.KEY_COLUMNS` joined by " | "), in order.

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> row_keys(result_frame([{"measure": "tug", "analysis": "paired_t", "term": "t"}])).tolist()
    ['tug |  |  | paired_t | t']
    """
    key = results[KEY_COLUMNS[0]].astype(str)
    for column in KEY_COLUMNS[1:]:
        key = key + KEY_SEPARATOR + results[column].astype(str)
    return key.reset_index(drop=True)


def row_keys_digest(results: pd.DataFrame) -> str:
    """SHA-256 of the row keys in order (unit and record separators between fields and rows).

    The UTF-8 text hashed is ``"\\x1e".join("\\x1f".join(key fields) for each row)``, built
    by Arrow's string kernels in one buffer (a Python string per row took 0.17 s at
    registry scale; ``tests/test_manifest.py`` checks both give the same digest).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    fields = results[KEY_COLUMNS].astype(str)
    text = pa.large_string()
    columns = [pa.array(fields[c], type=text) for c in KEY_COLUMNS]
    rows = pc.binary_join_element_wise(*columns, pa.scalar("\x1f", text))
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    whole = pa.LargeListArray.from_arrays(pa.array([0, len(rows)], pa.int64()), rows)
    joined = pc.binary_join(whole, pa.scalar("\x1e", text))[0]
    return hashlib.sha256(joined.as_buffer()).hexdigest()


def build_manifest(
    results: pd.DataFrame,
    *,
    inputs: Iterable[str | Path],
    config: Mapping[str, Any],
    seed: int,
    command: str,
    root: str | Path = ".",
) -> dict[str, Any]:
    """Assemble the manifest of one analysis run (without the output files' hashes).

    ``inputs`` are recorded relative to ``root`` (with ``..`` when outside it) with their
    SHA-256; ``root`` is kept as an absolute path until :func:`write_run` records it relative
    to the manifest's directory.
    """
    root = Path(root).resolve()
    files = []
    for path in sorted({Path(p).resolve() for p in inputs}):
        files.append({"path": _relpath(path, root), "sha256": sha256_file(path),
                      "bytes": path.stat().st_size})
    return {
        "manifest_version": MANIFEST_VERSION,
        "command": command,
        "root": root.as_posix(),
        "inputs": files,
        "config": dict(config),
        "seed": int(seed),
        "versions": package_versions(),
        "git": git_state(root),
        "n_rows": int(len(results)),
        "columns": list(results.columns),
        "row_keys": {"columns": list(KEY_COLUMNS), "sha256": row_keys_digest(results)},
    }


def manifest_root(manifest: Mapping[str, Any], manifest_path: str | Path) -> Path:
    """The directory the manifest's paths are relative to (its ``root`` from its own folder)."""
    folder = Path(manifest_path).resolve().parent
    return (folder / manifest.get("root", ".")).resolve() if manifest.get("root") else folder


def write_run(results: pd.DataFrame, manifest: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Write ``results.csv``, ``results.parquet`` and ``manifest.json`` into ``out_dir``, as a set.

    The files are written into a temporary directory beside ``out_dir`` which then replaces
    ``out_dir`` by two renames; an interruption or error at any point leaves the previous
    complete set (or nothing, between the renames; the next run restores the previous set).
    The manifest records both results files' SHA-256. A lock on ``out_dir`` refuses a
    concurrent run. ``out_dir`` must hold nothing but these files.
    """
    out = Path(out_dir).absolute()
    with output_lock(out):
        _check_only_ours(out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        try:
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; results are for sharing
            _write_csv(results, tmp / "results.csv")
            results.to_parquet(tmp / "results.parquet", index=False)
            record = dict(manifest)
            record["root"] = _relpath(Path(manifest.get("root", ".")).resolve(), out.resolve())
            record["files"] = {name: {"sha256": sha256_file(tmp / name),
                                      "bytes": (tmp / name).stat().st_size}
                               for name in RESULT_FILES}
            (tmp / MANIFEST).write_text(
                json.dumps(record, indent=2, sort_keys=True, allow_nan=False) + "\n",
                encoding="utf-8")
            for name in (*RESULT_FILES, MANIFEST):
                os.chmod(tmp / name, 0o666 & ~_umask())
                _fsync(tmp / name)
            _swap_into_place(tmp, out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return [out / name for name in (*RESULT_FILES, MANIFEST)]


_HELD: dict[Path, int] = {}


@contextlib.contextmanager
def output_lock(out_dir: str | Path) -> Iterator[Path]:
    """Hold the lock of an output directory (``.<name>.lock`` beside it) for the block.

    A second process asking for the same lock gets an :class:`ITBError` at once; the operating
    system releases the lock when its holder exits, however it exits. Re-entrant in one process.
    On entry, leftovers of an interrupted run are cleaned (or the previous set restored).
    """
    out = Path(out_dir).absolute()
    if out in _HELD:
        yield out
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = out.parent / f".{out.name}.lock"
    fd = _acquire(lock, out)
    _HELD[out] = fd
    try:
        _recover(out)
        yield out
    finally:
        del _HELD[out]
        with contextlib.suppress(OSError):
            lock.unlink()
        os.close(fd)


def _acquire(lock: Path, out: Path) -> int:
    try:
        import fcntl
    except ImportError:  # Windows: an exclusive create (a crashed run leaves it to remove)
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
        except FileExistsError:
            raise ITBError(_busy(out, lock, lock.read_text(errors="replace").strip())) from None
        os.write(fd, _holder().encode())
        return fd
    while True:
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 200).decode(errors="replace").strip()
            os.close(fd)
            raise ITBError(_busy(out, lock, holder)) from None
        try:  # the holder before us may have removed the file we opened: lock the new one
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, _holder().encode())
            return fd
        os.close(fd)


def _holder() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


def _busy(out: Path, lock: Path, holder: str) -> str:
    return (f"{out}: another itb run is writing this output directory ({holder or 'unknown'}); "
            f"wait for it to finish, or give another --out. (Lock file: {lock}; a lock left by "
            f"a run that no longer exists is released by the system.)")


def _recover(out: Path) -> None:
    """Clean what an interrupted run left beside ``out``; restore its previous set if missing."""
    olds = sorted(out.parent.glob(f".{_glob_escape(out.name)}.old-*"), key=os.path.getmtime)
    if not out.exists() and olds:
        os.rename(olds.pop(), out)
    for leftover in [*olds, *out.parent.glob(f".{_glob_escape(out.name)}.tmp-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def _glob_escape(name: str) -> str:
    """``name`` with glob metacharacters escaped (for :meth:`pathlib.Path.glob`)."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _check_only_ours(out: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise ITBError(f"{out}: --out must be a directory (this is a file)")
    others = sorted(p.name for p in out.iterdir() if p.name not in (*RESULT_FILES, MANIFEST))
    if others:
        shown = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
        raise ITBError(f"{out}: holds other files ({shown}); give --out a directory of its own "
                       "(the results are replaced as a set, so that an interrupted run never "
                       "leaves files of two runs)")


def _swap_into_place(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.rename(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rmdir(old)
    os.rename(out, old)
    os.rename(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def _fsync(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _relpath(path: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(path, start)).as_posix()
    except ValueError:  # another drive (Windows)
        return path.as_posix()


def _write_csv(results: pd.DataFrame, path: str | Path) -> None:
    """Results as CSV (:func:`analysis.results.write_results_csv`: formula-like text
    neutralised)."""
    write_results_csv(results, path)


def read_results_csv(path: str | Path) -> pd.DataFrame:
    """Read a ``results.csv`` as written by :func:`write_run` (floats exactly, text as text,
    empty numbers as NaN, neutralised formulas restored).

    Raises
    ------
    ITBError
        When the file is not a results table (unreadable, or its header differs).
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            header = next(csv.reader(handle), [])
    except OSError as exc:
        raise ITBError(f"{path}: cannot be read ({exc})") from exc
    if header != list(COLUMNS):
        raise ITBError(f"{path}: the header is not that of a results table "
                       f"(expected {','.join(COLUMNS)})")
    types = {c: pa.float64() if c in NUMERIC_COLUMNS else pa.string() for c in header}
    try:
        table = pa_csv.read_csv(str(path), convert_options=pa_csv.ConvertOptions(
            column_types=types, strings_can_be_null=False, null_values=[""]))
    except (pa.ArrowInvalid, OSError) as exc:
        raise ITBError(f"{path}: not a readable results table ({exc})") from exc
    frame = table.to_pandas()
    for column in TEXT_COLUMNS:
        frame[column] = restore_formulas(frame[column].fillna(""))
    return frame


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read ``manifest.json`` (``path`` is the file or its directory)."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ITBError(f"{path}: no manifest here; run `itb analyze` or `itb report` first") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ITBError(f"{path}: not a valid manifest ({exc})") from exc
    if not isinstance(manifest, dict):
        raise ITBError(f"{path}: not a valid manifest (not a JSON object)")
    return manifest
