"""Manifest size and reproduce's checking cost at the scale of a 1,000,000-row input.

Not part of the tests. Run with ``.venv/bin/python benchmarks/bench_manifest.py [--rows N]``.

Running every analysis on a million input rows takes many minutes on a shared machine, so the
results table is synthetic: the example case series' results (run once) replicated, each copy
with its own patient ids, to the size the issue reported for 1,000,000 input rows
(results.csv of 540 MB; ``--rows`` sets the number of results rows instead). On that table:

- the version-1 manifest (every number again as JSON text) is measured (to a few bytes) chunk by
  chunk, as :func:`analysis.run.manifest.result_numbers` and ``json.dumps(indent=2)`` write it;
- the current manifest is written by :func:`analysis.run.manifest.write_run` and measured;
- the time of ``write_run`` and of reproduce's own checks (hash both files, read the Parquet
  file, compare every number and text cell with a re-run's table; an intact results.csv is
  not parsed) are measured; the re-run itself is an ``analyze``.

Appends its table to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from analysis.paths import EXAMPLES
from analysis.run.manifest import build_manifest, result_numbers, write_run
from analysis.run.pipeline import run_analysis
from analysis.run.reproduce import check_files, compare_files

ISSUE_CSV_BYTES = 540e6  # results.csv of 1,000,000 input rows (issue 11)


def synthetic(base: pd.DataFrame, rows: int) -> pd.DataFrame:
    """``base`` replicated to ``rows`` rows, each copy with its own patient ids (unique keys)."""
    copies = math.ceil(rows / len(base))
    frames = []
    for i in range(copies):
        part = base.copy()
        part["patient_id"] = part["patient_id"].where(part["patient_id"] == "",
                                                      part["patient_id"] + f"-{i}")
        part["measure"] = part["measure"] + ("" if i == 0 else f"-{i}")
        frames.append(part)
    return pd.concat(frames, ignore_index=True).iloc[:rows].reset_index(drop=True)


def v1_manifest_bytes(results: pd.DataFrame, head: dict, chunk: int = 200_000) -> int:
    """Exact size of the version-1 manifest (``head`` plus every number), chunk by chunk."""
    size = len(json.dumps({**head, "numbers": {}}, indent=2, sort_keys=True)) + 1
    for start in range(0, len(results), chunk):
        part = result_numbers(results.iloc[start:start + chunk])
        # each entry: '    "key": value,\n' (indent 2 inside the top-level object)
        size += len(json.dumps(part, indent=2)) - 4 + 2 * len(part)  # minus braces, plus indent
    return size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, help="results rows (default: the issue's 540 MB CSV)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = run_analysis(EXAMPLES / "case_series", cache_dir=None)
        write_run(run.results, run.manifest, tmp / "example")
        per_row = (tmp / "example" / "results.csv").stat().st_size / len(run.results)
        rows = args.rows or int(ISSUE_CSV_BYTES / per_row)
        big = synthetic(run.results, rows)
        manifest = build_manifest(big, inputs=[], config=run.manifest["config"], seed=1,
                                  command=run.manifest["command"], root=tmp)
        manifest["inputs"] = run.manifest["inputs"]
        manifest["run"] = run.manifest["run"]
        head = {k: v for k, v in manifest.items() if k not in ("row_keys", "columns", "root")}
        old = v1_manifest_bytes(big, head)

        start = time.perf_counter()
        write_run(big, manifest, tmp / "big")
        t_write = time.perf_counter() - start
        new = (tmp / "big" / "manifest.json").stat().st_size
        csv_mb = (tmp / "big" / "results.csv").stat().st_size / 1e6
        parquet_mb = (tmp / "big" / "results.parquet").stat().st_size / 1e6

        start = time.perf_counter()
        written = json.loads((tmp / "big" / "manifest.json").read_text())
        problems, tables = check_files(written, tmp / "big")
        differences, n_compared, _ = compare_files(tables, big, rtol=None)
        t_check = time.perf_counter() - start
        assert not problems and differences.empty, (problems, differences.head())

    lines = [
        "",
        "# Benchmark: manifest size and reproduce's checks (`benchmarks/bench_manifest.py`)",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, {sys.platform}. "
        f"Synthetic results table of {rows:,} rows (the example case series' results "
        "replicated), the size of results.csv that issue 11 reported for 1,000,000 input rows.",
        "",
        "| | value |",
        "|---|---:|",
        f"| results rows | {rows:,} |",
        f"| results.csv (MB) | {csv_mb:,.1f} |",
        f"| results.parquet (MB) | {parquet_mb:,.1f} |",
        f"| manifest.json, version 1 (every number as JSON; MB) | {old / 1e6:,.1f} |",
        f"| manifest.json, version 2 (hashes, inputs, configuration, versions, row-key digest; kB) | {new / 1e3:,.1f} |",
        f"| version 2 / version 1 | {new / old:.2e} ({100 * new / old:.4f} %) |",
        f"| write_run: results.csv + results.parquet + manifest (s) | {t_write:.1f} |",
        f"| reproduce's checks: hash both files, read the Parquet file, compare {n_compared:,} numbers and every text cell (s) | {t_check:.1f} |",
        "",
        "The re-run that `itb reproduce` compares against is an `itb analyze` without cache; its "
        "own checks above come on top of it.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    results_md = Path(__file__).with_name("RESULTS.md")
    results_md.write_text(results_md.read_text() + text)


if __name__ == "__main__":
    main()
