"""Time `import analysis`, `itb --help` and `itb validate` in fresh processes.

Run from the repository root: ``.venv/bin/python benchmarks/bench_import.py``; prints the
median of 15 cold starts.
The targets: under 0.5 s for `import analysis` (architecture issue); `itb validate` starting in
under 0.5 s (issue 16): its start-up is the interpreter, the imports of the command and the
codebook, i.e. everything before the data file is opened.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def median_seconds(code: str, runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    base = median_seconds("pass")
    for label, code in [("import analysis", "import analysis"),
                        ("itb --help", "from analysis.cli import main; main(['--help'])"),
                        ("itb validate: start-up (imports, codebook)",
                         "import analysis.cli, analysis.data.validate; "
                         "from analysis.data.codebook import load_codebook; load_codebook()"),
                        ("itb validate data/example/case_series (whole command)",
                         "import sys; from analysis.cli import main; "
                         "sys.exit(main(['validate', 'data/example/case_series']))"),
                        ("analysis.paired_test (first use)",
                         "import analysis; analysis.paired_test([1.0, 2.0, 3.5], [1.5, 2.9, 3.0])")]:
        print(f"{label:56s} {median_seconds(code):.3f} s (interpreter alone {base:.3f} s)")
