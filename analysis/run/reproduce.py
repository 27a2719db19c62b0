"""``itb reproduce``: re-run a recorded analysis and compare every number with its manifest.

Each manifest records how it was made (``run``: data path, configuration file, codebook,
df method), the SHA-256 of every input, the versions used and every number. Reproduction
checks the inputs, re-runs the analysis without any cache, and compares each number at a
stated relative tolerance (default 1e-9).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.errors import ITBError
from analysis.run.manifest import package_versions, read_manifest, sha256_file


@dataclass(frozen=True)
class Reproduction:
    """Outcome of reproducing one manifest.

    Attributes
    ----------
    manifest : Path
        The manifest file checked.
    changed_inputs : DataFrame
        Inputs whose SHA-256 differs from the record (columns path, recorded, actual).
    differences : DataFrame
        Numbers that differ or appear on one side only (columns key, recorded, reproduced,
        rel_diff).
    version_changes : DataFrame
        Packages whose installed version differs from the record (package, recorded, installed).
    n_compared : int
        How many numbers were compared.
    """

    manifest: Path
    changed_inputs: pd.DataFrame
    differences: pd.DataFrame
    version_changes: pd.DataFrame
    n_compared: int
    rtol: float
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when every input is unchanged and every number agrees."""
        return self.changed_inputs.empty and self.differences.empty

    def report(self, max_rows: int = 40) -> str:
        """A plain-text account of what was checked and what differs."""
        lines = [f"{self.manifest}:"]
        if not self.version_changes.empty:
            lines.append("  warning: installed versions differ from the manifest:")
            lines += [f"    {r.package}: recorded {r.recorded}, installed {r.installed}"
                      for r in self.version_changes.itertuples()]
        for r in self.changed_inputs.itertuples():
            lines.append(f"  input changed: {r.path} (SHA-256 recorded {r.recorded[:12]}..., now {r.actual[:12]}...)")
        lines += [f"  note: {n}" for n in self.notes]
        if self.differences.empty:
            lines.append(f"  all {self.n_compared} numbers agree (relative tolerance {self.rtol:g})")
        else:
            lines.append(f"  {len(self.differences)} of {self.n_compared} numbers differ "
                         f"(relative tolerance {self.rtol:g}):")
            shown = self.differences.head(max_rows).to_string(index=False)
            lines += ["    " + line for line in shown.splitlines()]
            if len(self.differences) > max_rows:
                lines.append(f"    ... and {len(self.differences) - max_rows} more")
        return "\n".join(lines)


def find_manifests(path: str | Path) -> list[Path]:
    """The manifest file at ``path``, or every ``manifest.json`` below a directory, sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    found = sorted(path.rglob("manifest.json")) if path.is_dir() else []
    if not found:
        raise ITBError(f"{path}: no manifest.json found; run `itb analyze` or `itb report` first")
    return found


def compare_numbers(recorded: dict[str, Any], reproduced: dict[str, Any], *, rtol: float = 1e-9,
                    atol: float = 1e-12) -> pd.DataFrame:
    """Numbers that differ beyond ``atol + rtol * |recorded|`` or exist on one side only.

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


def reproduce_manifest(path: str | Path, *, rtol: float = 1e-9, root: str | Path = ".") -> Reproduction:
    """Re-run the analysis recorded in one manifest and compare (see module docstring)."""
    # Imported here: the pipeline imports every model module, which the other commands
    # of the command line do not need.
    from analysis.run.pipeline import run_analysis

    path = Path(path)
    manifest = read_manifest(path)
    root = Path(root)
    changed = []
    for item in manifest["inputs"]:
        file = root / item["path"]
        if not file.exists():
            raise ITBError(f"{item['path']}: input recorded in {path} is missing; restore it to reproduce")
        actual = sha256_file(file)
        if actual != item["sha256"]:
            changed.append({"path": item["path"], "recorded": item["sha256"], "actual": actual})

    installed = package_versions()
    versions = [
        {"package": k, "recorded": v, "installed": installed.get(k, "not installed")}
        for k, v in sorted(manifest.get("versions", {}).items())
        if installed.get(k, "not installed") != v
    ]
    run = manifest.get("run") or {}
    if "data" not in run:
        raise ITBError(f"{path}: the manifest does not record how it was made (no 'run' entry)")
    rerun = run_analysis(
        root / run["data"],
        config=None if run.get("config") is None else root / run["config"],
        codebook=None if run.get("codebook") is None else root / run["codebook"],
        df_method=run.get("df_method"),
        cache_dir=None,
    )
    reproduced = rerun.manifest["numbers"]
    differences = compare_numbers(manifest["numbers"], reproduced, rtol=rtol)
    return Reproduction(
        manifest=path if path.is_file() else path / "manifest.json",
        changed_inputs=pd.DataFrame(changed, columns=["path", "recorded", "actual"]),
        differences=differences,
        version_changes=pd.DataFrame(versions, columns=["package", "recorded", "installed"]),
        n_compared=len(set(manifest["numbers"]) | set(reproduced)),
        rtol=rtol,
    )
