"""Speed of the cumulative link mixed model against R's ordinal::clmm (not run in CI).

Usage: ``PYTHONPATH=$PWD python benchmarks/bench_clmm.py [--reps 5]`` from the repository root
(needs ``Rscript`` with the ordinal package). Two datasets: mas_knee_ext (L) of the bundled
case series (20 patients x 7 visits) and a simulated 200-patient registry (MAS, 6 visits, 5%
missing). For each, logit link, Laplace and 10-point AGQ, runs alternate: itb's fit
(``fit_clmm``, in this process, without and with the proportional-odds check) and R's
``clmm`` (default control, timed inside one R process, so R's start-up is not counted).
Prints the median seconds and the ratio itb / R.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import analysis  # noqa: E402
from analysis.data.codebook import load_codebook  # noqa: E402
from analysis.stats.ordinal import fit_clmm  # noqa: E402

R_FIT = """
suppressPackageStartupMessages(library(ordinal))
a <- commandArgs(TRUE)
d <- read.csv(a[1], stringsAsFactors = FALSE)
lev <- c("0", "1", "1+", "2", "3", "4"); codes <- c(0, 1, 1.5, 2, 3, 4)
d$y <- droplevels(factor(lev[match(d$value, codes)], levels = lev, ordered = TRUE))
d$visit <- factor(d$visit, levels = unique(d$visit))
t0 <- proc.time()[["elapsed"]]
m <- clmm(y ~ visit + (1 | patient_id), data = d, link = "logit", nAGQ = as.integer(a[2]))
cat(proc.time()[["elapsed"]] - t0, "\\n")
"""


def registry(n: int = 200, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    visits = ["baseline", "ti_d3", "post_m1", "post_m3", "post_m6", "post_m12"]
    effect = np.array([0, -1.0, -1.5, -1.6, -1.4, -1.3])
    pid = np.repeat([f"R{i:04d}" for i in range(n)], len(visits))
    latent = np.tile(effect, n) + np.repeat(rng.normal(0, 1.0, n), len(visits))
    k = np.digitize(latent + rng.logistic(size=pid.size), [-1.5, -0.5, 0.3, 1.2, 2.5])
    d = pd.DataFrame({"patient_id": pid, "visit": np.tile(visits, n),
                      "value": np.array([0, 1, 1.5, 2, 3, 4])[k]})
    drop = (rng.random(len(d)) < 0.05) & (d["visit"] != "baseline")
    return d[~drop].reset_index(drop=True)


def example() -> pd.DataFrame:
    obs = analysis.load_dataset(analysis.EXAMPLES / "case_series").observations
    one = obs[(obs["measure"] == "mas_knee_ext") & (obs["side"] == "L")]
    return one[["patient_id", "visit", "value"]].reset_index(drop=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    m = load_codebook().measure("mas_knee_ext")
    print("| data | nAGQ | itb (s) | itb + PO check (s) | R clmm (s) | itb / R |")
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "fit.R"
        script.write_text(R_FIT)
        for name, data in (("case series, mas_knee_ext L", example()),
                           ("registry, 200 patients", registry())):
            path = Path(tmp) / "data.csv"
            data.to_csv(path, index=False)
            for nagq in (1, 10):
                ours, ours_po, theirs = [], [], []
                for _ in range(args.reps):  # alternating
                    t0 = time.perf_counter()
                    fit_clmm(data, levels=m.levels, codes=m.codes, reference="baseline",
                             n_agq=nagq, check_po=False)
                    ours.append(time.perf_counter() - t0)
                    out = subprocess.run(["Rscript", str(script), str(path), str(nagq)],
                                         capture_output=True, text=True, check=True)
                    theirs.append(float(out.stdout.split()[-1]))
                    t0 = time.perf_counter()
                    fit_clmm(data, levels=m.levels, codes=m.codes, reference="baseline",
                             n_agq=nagq)
                    ours_po.append(time.perf_counter() - t0)
                a, b, r = (statistics.median(x) for x in (ours, ours_po, theirs))
                print(f"| {name} | {nagq} | {a:.3f} | {b:.3f} | {r:.3f} | {a / r:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
