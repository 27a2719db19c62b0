"""Cold vs warm render of a report with freeze (execute: freeze: auto in _quarto.yml).

Renders one report twice into a fresh output folder with the built-in engine: the first render
executes every cell (cold; the analysis cache is warmed beforehand so that only the rendering
is compared), the second finds its inputs unchanged and re-uses the frozen outputs (warm). Prints
both times and their ratio.

Usage::

    PYTHONPATH=$PWD python benchmarks/bench_render.py [--report case-series] [--to html,pdf,docx]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from analysis.paths import REPORTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", default="case-series", choices=sorted(REPORTS))
    parser.add_argument("--to", default="html,pdf,docx")
    args = parser.parse_args()
    formats = args.to.split(",")
    qmd, data = REPORTS[args.report]
    params = {"data": str(data)}
    if args.report == "case-report":
        params["patient"] = "P01"
    with tempfile.TemporaryDirectory(prefix="itb-bench-render-") as tmp:
        os.environ["ITB_CACHE_DIR"] = str(Path(tmp) / "cache")
        from analysis.report.render import render_report
        from analysis.run.pipeline import run_analysis

        run_analysis(data)  # the analysis cache the documents use: not what is compared here
        times = []
        for _ in range(2):
            start = time.perf_counter()
            render_report(qmd, formats=formats, params=params, out_dir=Path(tmp) / "out",
                          engine="builtin", progress=False)
            times.append(time.perf_counter() - start)
    cold, warm = times
    print(f"{args.report} ({args.to}): cold {cold:.1f} s, warm {warm:.1f} s, "
          f"warm/cold {warm / cold:.2f}")


if __name__ == "__main__":
    main()
