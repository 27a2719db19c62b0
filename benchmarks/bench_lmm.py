"""Time and peak memory of analysis.stats.lmm on simulated data (not run in CI).

Usage: ``python benchmarks/bench_lmm.py`` from the repository root. For 20, 200 and 2,000
patients x 6 visits (one measure), prints the time of the whole chain (REML fit + df for all
fixed effects + emmeans + contrasts + results rows) and its peak Python memory (tracemalloc),
for a random intercept (Satterthwaite and Kenward-Roger) and a random slope over day.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.stats.lmm import fit_lmm  # noqa: E402

VISITS = ["baseline", "ti_d1", "ti_d3", "post_m1", "post_m3", "post_m6"]
DAYS = [-7.0, 1, 3, 30, 90, 180]


def simulate(n_patients: int, seed: int = 1) -> pd.DataFrame:
    """Six visits per patient, random intercept and slope, 5% missing at random."""
    rng = np.random.default_rng(seed)
    pid = np.repeat([f"P{i:04d}" for i in range(n_patients)], len(VISITS))
    visit = np.tile(VISITS, n_patients)
    day = np.tile(DAYS, n_patients)
    b0 = np.repeat(rng.normal(0, 2, n_patients), len(VISITS))
    b1 = np.repeat(rng.normal(0, 0.01, n_patients), len(VISITS))
    effect = np.tile([0, -1, -2, -3, -3.5, -3.2], n_patients)
    value = 20 + effect + b0 + b1 * day + rng.normal(0, 1.5, pid.size)
    data = pd.DataFrame({"patient_id": pid, "visit": visit, "day": day, "value": value})
    drop = (rng.random(len(data)) < 0.05) & (data["visit"] != "baseline")
    return data[~drop].reset_index(drop=True)


def run(data: pd.DataFrame, **kwargs) -> pd.DataFrame:
    return fit_lmm(data, **kwargs).tidy(measure="bench")


def main() -> None:
    configs = [("random intercept, Satterthwaite", {}),
               ("random intercept, Kenward-Roger", {"df_method": "kenward-roger"}),
               ("random slope (1 + day), Satterthwaite", {"random": "1 + day"})]
    print(f"{'patients':>8} {'obs':>6}  {'model':<40} {'seconds':>8} {'peak MiB':>9}")
    for n in (20, 200, 2000):
        data = simulate(n)
        for label, kwargs in configs:
            run(data, **kwargs)  # warm-up (imports, caches)
            tracemalloc.start()
            start = time.perf_counter()
            run(data, **kwargs)
            elapsed = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"{n:>8} {len(data):>6}  {label:<40} {elapsed:>8.3f} {peak / 2**20:>9.1f}")


if __name__ == "__main__":
    main()
