"""Results manifest: what went in (files, SHA-256, configuration, seed, versions, commit) and
every number that came out, keyed by a stable identifier.

Two runs on the same inputs write byte-identical ``results.csv`` and ``manifest.json``: the
manifest holds no timestamps, keys are sorted, and rows are in the stable order of
:func:`analysis.results.combine`.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from analysis.errors import ITBError
from analysis.paths import sha256_file
from analysis.results import KEY_COLUMNS, NUMERIC_COLUMNS

#: Distributions whose versions are recorded (and compared by ``itb reproduce``).
TRACKED_PACKAGES = (
    "itb-analysis", "numpy", "scipy", "pandas", "statsmodels", "pingouin", "matplotlib",
    "seaborn", "pandera", "pyarrow", "great-tables", "nbclient", "ipykernel", "pypandoc-binary",
    "typst",
)
MANIFEST_VERSION = 1
KEY_SEPARATOR = " | "


def package_versions() -> dict[str, str]:
    """Installed versions of the tracked packages and of Python itself."""
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
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
        numbers.update(zip((prefix[keep] + column).tolist(), json_values.tolist()))
    return numbers


def build_manifest(
    results: pd.DataFrame,
    *,
    inputs: Iterable[str | Path],
    config: Mapping[str, Any],
    seed: int,
    command: str,
    root: str | Path = ".",
) -> dict[str, Any]:
    """Assemble the manifest of one analysis run.

    ``inputs`` are recorded relative to ``root`` when they lie under it (so a clone elsewhere
    reproduces), with their SHA-256.
    """
    root = Path(root).resolve()
    files = []
    for path in sorted({Path(p).resolve() for p in inputs}):
        try:
            shown = path.relative_to(root).as_posix()
        except ValueError:
            shown = path.as_posix()
        files.append({"path": shown, "sha256": sha256_file(path), "bytes": path.stat().st_size})
    return {
        "manifest_version": MANIFEST_VERSION,
        "command": command,
        "inputs": files,
        "config": dict(config),
        "seed": int(seed),
        "versions": package_versions(),
        "git": git_state(root),
        "n_rows": int(len(results)),
        "numbers": result_numbers(results),
    }


def write_run(results: pd.DataFrame, manifest: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Write ``results.csv``, ``results.parquet`` and ``manifest.json`` into ``out_dir``.

    Each file is written to a temporary file in the same directory and moved into place, so
    an interrupted run never leaves a half-written file.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writers = {
        "results.csv": lambda p: _write_csv(results, p),
        "results.parquet": lambda p: results.to_parquet(p, index=False),
        "manifest.json": lambda p: Path(p).write_text(
            json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8"
        ),
    }
    written = []
    for name, write in writers.items():
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
        os.close(fd)
        try:
            write(tmp)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are for sharing
            os.replace(tmp, out / name)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        written.append(out / name)
    return written


def _write_csv(results: pd.DataFrame, path: str | Path) -> None:
    """Results as CSV through pyarrow's writer: ten times faster than pandas' on large tables,
    with the shortest repr of every float (exact round trip); text quoted where needed."""
    table = pa.Table.from_pandas(results, preserve_index=False)
    pa_csv.write_csv(table, str(path), pa_csv.WriteOptions(quoting_style="needed"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read ``manifest.json`` (``path`` is the file or its directory)."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ITBError(f"{path}: no manifest here; run `itb analyze` or `itb report` first") from exc
    except json.JSONDecodeError as exc:
        raise ITBError(f"{path}: not a valid manifest ({exc})") from exc
