"""The analysis cache: computed tables stored as data (Parquet + JSON), never as code.

Rendering a report runs the same analysis in the ``itb`` process and in the Jupyter kernel of
each document; the cache lets the second run read the first one's tables instead of fitting
the models again. An entry is a directory ``<cache dir>/<key>/`` holding

- ``results.parquet``, ``window.parquet``, ``changes.parquet``: the computed tables;
- ``entry.json``: the format version, the key, the configuration and the codebook fingerprint
  the tables were computed from, the SHA-256 of each Parquet file, and ``hmac``: an
  HMAC-SHA256 over the bytes of every Parquet file and the rest of ``entry.json``.

Nothing in an entry can run code: JSON is parsed by :mod:`json`, Parquet by pyarrow (which
does not load pickled extension types since 14.0.1), and no other file name is ever opened.

Entries are authenticated, not only checksummed. A checksum alone cannot stop someone who can
write to the cache directory from storing another valid table and recomputing the checksum
(results.csv would then change silently). The HMAC key is a random secret that only this user
can read: ``hmac.key`` in the cache directory, created once with mode 0600 (``O_EXCL``, never
through a symbolic link). A key file that is a symbolic link, not a regular file, not owned by
this user, readable or writable by group or others, or hard-linked elsewhere is refused: the
cache is then not used (with a :class:`CacheWarning` saying why) until the file is deleted.
On read every checksum and the HMAC are verified before any Parquet byte is parsed; an entry
that is unreadable, truncated, edited, signed with another key or does not match the request
is discarded with a :class:`CacheWarning` naming the entry and the reason, and the analysis
runs again (and replaces it). ``itb reproduce`` re-runs without any cache.

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
import hmac
import json
import os
import secrets
import shutil
import stat
import tempfile
import time
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
FORMAT = 2
ENTRY = "entry.json"
#: The secret key file (HMAC-SHA256 key) in the cache directory.
SECRET = "hmac.key"
SECRET_BYTES = 32
#: The tables an entry holds (file ``<name>.parquet`` each).
TABLES = ("results", "window", "changes")
#: Libraries whose version changes the numbers (part of the key).
NUMERIC_DEPENDENCIES = ("numpy", "scipy", "pandas", "statsmodels", "pingouin", "pyarrow")
ENV_DIR = "ITB_CACHE_DIR"
ENV_OFF = "ITB_NO_CACHE"


class CacheWarning(UserWarning):
    """A cache entry was discarded (the analysis runs again)."""


class CacheSecretError(OSError):
    """The cache's key file is unsafe or unreadable: the cache is not used."""


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
    Checksums and the HMAC (:func:`cache_secret`) are verified before any table is parsed.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> t = {name: pd.DataFrame({"x": [0.1125]}) for name in TABLES}
    >>> _ = write_entry(d, "k1", t, meta={"config": {}})
    >>> float(read_entry(d, "k1", expect={"config": {}})["results"]["x"].iloc[0])
    0.1125
    """
    entry = Path(cache_dir) / key
    if not entry.is_dir():
        return None
    try:
        secret = cache_secret(cache_dir)
    except OSError as exc:
        warnings.warn(f"cache in {cache_dir} not used: {exc}", CacheWarning, stacklevel=2)
        return None
    try:
        return _read_verified(entry, key, expect, secret)
    except Exception as exc:  # noqa: BLE001 - whatever is wrong, the entry is not trusted
        warnings.warn(f"cache entry {entry} discarded ({exc}); running the analysis again",
                      CacheWarning, stacklevel=2)
        shutil.rmtree(entry, ignore_errors=True)
        return None


def write_entry(cache_dir: str | Path, key: str, tables: Mapping[str, pd.DataFrame],
                *, meta: Mapping[str, Any]) -> Path | None:
    """Store ``tables`` under ``key`` (atomically: a temporary directory renamed into place).

    The entry is signed with the cache's key (:func:`cache_secret`). A table that would not
    read back identical is not cached, nor is anything when the key file is unsafe (returns
    None, with a warning).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> entry = write_entry(d, "k1", {n: pd.DataFrame({"x": [1.0]}) for n in TABLES}, meta={})
    >>> sorted(p.name for p in entry.iterdir()), (d / SECRET).is_file()
    (['changes.parquet', 'entry.json', 'results.parquet', 'window.parquet'], True)
    """
    root = Path(cache_dir)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        secret = cache_secret(root)
    except CacheSecretError as exc:
        warnings.warn(f"analysis not cached in {root}: {exc}", CacheWarning, stacklevel=2)
        return None
    final = root / key
    tmp = Path(tempfile.mkdtemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=root))
    try:
        checksums, mac = {}, hmac.new(secret, digestmod=hashlib.sha256)
        for name in TABLES:
            path = tmp / f"{name}.parquet"
            tables[name].to_parquet(path)
            release_freed()  # the writer's buffers, before the table is read back
            if not _survives(path, tables[name]):
                warnings.warn(f"table {name!r} does not survive Parquet unchanged; not cached",
                              CacheWarning, stacklevel=2)
                return None
            data = path.read_bytes()
            checksums[path.name] = hashlib.sha256(data).hexdigest()
            _feed(mac, path.name, data)
            del data
        record = {"format": FORMAT, "key": key, **dict(meta), "files": checksums}
        record = json.loads(json.dumps(record, sort_keys=True))  # as it will read back
        _feed(mac, ENTRY, _canonical(record))
        record["hmac"] = mac.hexdigest()
        (tmp / ENTRY).write_text(json.dumps(record, sort_keys=True, indent=1), encoding="utf-8")
        try:
            os.rename(tmp, final)
        except OSError:  # another process stored the same entry first
            return final if final.is_dir() else None
        return final
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def cache_secret(cache_dir: str | Path) -> bytes:
    """The cache's HMAC key: ``<cache_dir>/hmac.key``, created once (random, mode 0600).

    The file is created with ``O_EXCL`` (two processes cannot both create it; the second reads
    the first one's key) and opened without following symbolic links.

    Raises
    ------
    CacheSecretError
        The key file is a symbolic link, not a regular file, not owned by this user, readable
        or writable by group or others, hard-linked, or not 32 bytes long; the message names
        the file, what is wrong and the fix (delete it: a new key is made and every entry is
        computed again).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> key = cache_secret(d)
    >>> len(key), key == cache_secret(d), oct((d / SECRET).stat().st_mode & 0o777)
    (32, True, '0o600')
    >>> (d / SECRET).chmod(0o644)
    >>> try:
    ...     cache_secret(d)
    ... except CacheSecretError as exc:
    ...     print(str(exc).split(": ", 1)[1].split(";")[0])
    the cache key file is readable or writable by group or others (mode 0o644)
    """
    path, data = Path(cache_dir) / SECRET, b""
    for attempt in range(5):
        try:
            data = _read_secret(path)
        except FileNotFoundError:
            _create_secret(path)
            continue
        if len(data) == SECRET_BYTES:
            return data
        time.sleep(0.01 * (attempt + 1))  # another process may be writing it right now
    raise _unsafe(path, f"holds {len(data)} bytes, not {SECRET_BYTES}")


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


def _unsafe(path: Path, what: str) -> CacheSecretError:
    return CacheSecretError(f"{path}: the cache key file {what}; delete it (a new key is made "
                            "and the cached analyses are computed again)")


def _read_secret(path: Path) -> bytes:
    if path.is_symlink():
        raise _unsafe(path, "is a symbolic link")
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError as exc:  # ELOOP: replaced by a symbolic link since the check above
        raise _unsafe(path, f"cannot be opened safely ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        _check_secret_file(path, os.fstat(handle.fileno()))
        return handle.read(SECRET_BYTES + 1)


def _check_secret_file(path: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise _unsafe(path, "is not a regular file")
    if os.name == "nt":  # no POSIX owner or mode bits; the user profile's ACLs apply
        return
    if st.st_uid != os.getuid():
        raise _unsafe(path, f"is owned by uid {st.st_uid}, not by this user (uid {os.getuid()})")
    if st.st_mode & 0o077:
        raise _unsafe(path, "is readable or writable by group or others "
                      f"(mode {oct(stat.S_IMODE(st.st_mode))})")
    if st.st_nlink != 1:
        raise _unsafe(path, f"has {st.st_nlink} hard links (it must be this cache's own file)")


def _create_secret(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    except FileExistsError:  # created by another process (or a link planted): read checks it
        return
    with os.fdopen(fd, "wb") as handle:
        if hasattr(os, "fchmod"):
            os.fchmod(handle.fileno(), 0o600)  # whatever the umask
        handle.write(secrets.token_bytes(SECRET_BYTES))
        handle.flush()
        os.fsync(handle.fileno())


def _feed(mac: hmac.HMAC, name: str, data: bytes) -> None:
    """Add one named file to the HMAC (name and length first, so no two entries collide)."""
    mac.update(name.encode() + b"\0" + len(data).to_bytes(8, "big"))
    mac.update(data)


def _canonical(record: Mapping[str, Any]) -> bytes:
    """``entry.json`` without its ``hmac`` field, in one fixed serialisation."""
    body = {k: v for k, v in record.items() if k != "hmac"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _read_verified(entry: Path, key: str, expect: Mapping[str, Any],
                   secret: bytes) -> dict[str, pd.DataFrame]:
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
    mac, blobs = hmac.new(secret, digestmod=hashlib.sha256), {}
    for name in TABLES:
        path = entry / f"{name}.parquet"
        data = _read_file(path)
        if hashlib.sha256(data).hexdigest() != files[path.name]:
            raise ValueError(f"{path.name}: checksum does not match")
        _feed(mac, path.name, data)
        blobs[name] = data
    _feed(mac, ENTRY, _canonical(record))
    if not hmac.compare_digest(mac.hexdigest(), str(record.get("hmac", ""))):
        raise ValueError("HMAC signature does not match: the entry was changed after it was "
                         f"written, or signed with another key than {SECRET}")
    tables = {}
    for name in TABLES:
        table = pq.read_table(pa.BufferReader(blobs.pop(name)))
        if any(isinstance(f.type, pa.ExtensionType) for f in table.schema):
            raise ValueError(f"{name}.parquet: extension types are not accepted")
        tables[name] = table.to_pandas()
    return tables


def _read_file(path: Path) -> bytes:
    """The bytes of a regular file of an entry (never through a symbolic link)."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ValueError(f"{path.name} is not a regular file")
        return handle.read()


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
