"""The analysis cache: computed tables stored as data (Parquet + JSON), never as code.

Rendering a report runs the same analysis in the ``itb`` process and in the Jupyter kernel of
each document; the cache lets the second run read the first one's tables instead of fitting
the models again. An entry is a directory ``<cache dir>/<key>/`` holding

- ``results.parquet``, ``window.parquet``, ``changes.parquet``: the computed tables;
- ``entry.json``: the format version, the key, the configuration and the codebook fingerprint
  the tables were computed from, and the SHA-256 of each Parquet file.

Nothing in an entry can run code: JSON is parsed by :mod:`json`, Parquet by pyarrow (which
does not load pickled extension types since 14.0.1), and no other file name is ever opened.
On read every checksum is verified; an entry that is unreadable, truncated, edited or does
not match the request is discarded with a :class:`CacheWarning` and the analysis runs again.
The checksum guards against corruption, not against someone who can write to the cache
directory: ``itb reproduce`` re-runs without any cache.

The key is the SHA-256 of the inputs' names and contents, the configuration (its file path
left out, so a moved project keeps its cache), the package version and the hash of its source
files, and the versions of Python and of the numeric libraries; any change gives a new key.

Where: ``cache_dir`` given explicitly, else ``$ITB_CACHE_DIR``, else the user's cache
directory (``$XDG_CACHE_HOME/itb-analysis`` or ``~/.cache/itb-analysis``); ``$ITB_NO_CACHE=1``
(set by ``--no-cache``) turns the default off.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import analysis
from analysis.paths import sha256_file
from analysis.process import release_freed
from analysis.run.manifest import package_versions

#: Version of the entry layout; part of the key.
FORMAT = 1
ENTRY = "entry.json"
#: The tables an entry holds (file ``<name>.parquet`` each).
TABLES = ("results", "window", "changes")
#: Libraries whose version changes the numbers (part of the key).
NUMERIC_DEPENDENCIES = ("numpy", "scipy", "pandas", "statsmodels", "pingouin", "pyarrow")
ENV_DIR = "ITB_CACHE_DIR"
ENV_OFF = "ITB_NO_CACHE"


class CacheWarning(UserWarning):
    """A cache entry was discarded (the analysis runs again)."""


def default_cache_dir() -> Path:
    """``$ITB_CACHE_DIR``, else the user's cache directory for ``itb-analysis``.

    Written by hand (XDG base directories, as platformdirs does on Linux) to avoid a
    dependency for five lines.

    Examples
    --------
    >>> isinstance(default_cache_dir(), Path)
    True
    """
    given = os.environ.get(ENV_DIR)
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or (
        os.environ.get("LOCALAPPDATA") if os.name == "nt" else None)
    return Path(base or Path.home() / ".cache").expanduser() / "itb-analysis"


def resolve_cache_dir(cache_dir: str | Path | None) -> Path | None:
    """The cache directory to use: ``None`` (no cache), ``"default"``, or a path.

    Examples
    --------
    >>> resolve_cache_dir(None) is None
    True
    >>> resolve_cache_dir("/tmp/itb-cache")
    PosixPath('/tmp/itb-cache')
    """
    if cache_dir is None:
        return None
    if isinstance(cache_dir, str) and cache_dir == "default":
        if os.environ.get(ENV_OFF, "").strip().lower() in {"1", "true", "yes", "on"}:
            return None
        return default_cache_dir()
    return Path(cache_dir).expanduser()


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """SHA-256 of the package's own source and data files, so a code change invalidates the cache."""
    digest = hashlib.sha256()
    root = Path(analysis.__file__).parent
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.yaml"), *root.rglob("*.lua")]):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def dependency_versions() -> dict[str, str]:
    """Versions of Python and of the numeric libraries (part of the key)."""
    return {**package_versions(NUMERIC_DEPENDENCIES), "itb-analysis": analysis.__version__}


def cache_key(inputs: Iterable[str | Path], *, config: Mapping[str, Any],
              codebook: Mapping[str, Any]) -> str:
    """The key of an analysis: SHA-256 over inputs, configuration, codebook, versions and source.

    ``inputs`` are files; their names and contents count, not their directories.
    """
    spec = {
        "format": FORMAT,
        "inputs": sorted([Path(p).name, sha256_file(p)] for p in inputs),
        "config": {k: v for k, v in config.items() if k != "source"},
        "codebook": dict(codebook),
        "versions": dependency_versions(),
        "source": source_digest(),
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def read_entry(cache_dir: str | Path, key: str, *, expect: Mapping[str, Any]) -> dict[str, pd.DataFrame] | None:
    """The tables cached under ``key``, or None (absent, or discarded with a warning).

    ``expect`` holds the fields ``entry.json`` must carry unchanged (configuration, codebook).
    """
    entry = Path(cache_dir) / key
    if not entry.is_dir():
        return None
    try:
        return _read_verified(entry, key, expect)
    except Exception as exc:  # noqa: BLE001 - whatever is wrong, the entry is not trusted
        warnings.warn(f"cache entry {entry} discarded ({exc}); running the analysis again",
                      CacheWarning, stacklevel=2)
        shutil.rmtree(entry, ignore_errors=True)
        return None


def write_entry(cache_dir: str | Path, key: str, tables: Mapping[str, pd.DataFrame],
                *, meta: Mapping[str, Any]) -> Path | None:
    """Store ``tables`` under ``key`` (atomically: a temporary directory renamed into place).

    A table that would not read back identical is not cached (returns None, with a warning).
    """
    root = Path(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / key
    tmp = Path(tempfile.mkdtemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=root))
    try:
        checksums = {}
        for name in TABLES:
            path = tmp / f"{name}.parquet"
            tables[name].to_parquet(path)
            release_freed()  # the writer's buffers, before the table is read back
            if not _survives(path, tables[name]):
                warnings.warn(f"table {name!r} does not survive Parquet unchanged; not cached",
                              CacheWarning, stacklevel=2)
                return None
            checksums[f"{name}.parquet"] = sha256_file(path)
        record = {"format": FORMAT, "key": key, **dict(meta), "files": checksums}
        (tmp / ENTRY).write_text(json.dumps(record, sort_keys=True, indent=1), encoding="utf-8")
        try:
            os.rename(tmp, final)
        except OSError:  # another process stored the same entry first
            return final if final.is_dir() else None
        return final
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _read_verified(entry: Path, key: str, expect: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    record = json.loads((entry / ENTRY).read_text(encoding="utf-8"))
    if not isinstance(record, dict):
        raise ValueError(f"{ENTRY} is not a JSON object")
    if record.get("format") != FORMAT or record.get("key") != key:
        raise ValueError("format or key does not match")
    for field, value in expect.items():
        if record.get(field) != json.loads(json.dumps(value, default=str)):
            raise ValueError(f"{field!r} does not match the request")
    files = record.get("files")
    wanted = {f"{name}.parquet" for name in TABLES}
    if not isinstance(files, dict) or set(files) != wanted:
        raise ValueError("the list of files is not the expected one")
    present = {p.name for p in entry.iterdir()}
    if present != wanted | {ENTRY}:
        raise ValueError(f"unexpected files {sorted(present - wanted - {ENTRY})}")
    tables = {}
    for name in TABLES:
        path = entry / f"{name}.parquet"
        if sha256_file(path) != files[path.name]:
            raise ValueError(f"{path.name}: checksum does not match")
        table = pq.read_table(path)
        if any(isinstance(f.type, pa.ExtensionType) for f in table.schema):
            raise ValueError(f"{path.name}: extension types are not accepted")
        tables[name] = table.to_pandas()
    return tables


def _survives(path: Path, frame: pd.DataFrame) -> bool:
    """Whether the Parquet file at ``path`` reads back as ``frame``: the same columns in the
    same order, index, dtypes and values (NaN where NaN), exactly.

    Read and compared one column at a time with ``Series.equals`` (exact, dtype-strict): a
    whole second copy of the results table and ``assert_frame_equal`` cost 110 MB and 0.7 s at
    registry scale.
    """
    names = [n for n in pq.read_schema(path).names if not n.startswith("__index_level_")]
    if names != [str(c) for c in frame.columns] or len(set(names)) != len(names):
        return False
    for column in frame.columns:
        back = pq.read_table(path, columns=[str(column)]).to_pandas()
        if not (back.index.equals(frame.index) and type(back.index) is type(frame.index)
                and back.columns.tolist() == [column]
                and back[column].dtype == frame[column].dtype
                and back[column].equals(frame[column])):
            return False
        del back
        release_freed()
    return True
