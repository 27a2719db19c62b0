"""`itb plan` against the same simulation in R, and one against two dask workers (not in CI).

Usage: ``python benchmarks/bench_plan.py [--reps 3] [--write]`` from the repository root
(needs Rscript with lme4 and lmerTest). For each design (a case series: paired t, exact
Wilcoxon, random-intercept LMM with Satterthwaite df, dropout; an AB and a titration design:
NAP, Tau-U, piecewise regression), runs ``itb plan`` and ``Rscript benchmarks/bench_plan.R``
alternately, ``--reps`` times each, and reports the median CPU seconds (user + system of the
whole process, start-up included: the machine is shared, so CPU time, not wall time) per 1,000
simulated datasets on each side and their ratio. Then times ``itb plan --scheduler`` on a grid
of 8 case-series scenarios against a local dask cluster of one and of two single-threaded
worker processes (wall time: the speed-up of parallel workers is a wall-time quantity; noisy
on a shared machine). ``--write`` replaces the "itb plan" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
R_SCRIPT = ROOT / "benchmarks" / "bench_plan.R"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"

CASE_SERIES = """seed: 1
n_sim: {n_sim}
studies:
  - name: bench case series
    design: case_series
    n: 10
    visits: [baseline, m3, m6]
    effect: 0.3
    sd_between: 0.5
    sd_within: 0.4
    dropout: 0.05
    tests: [paired_t, wilcoxon, lmm]
"""
SINGLE_CASE = """seed: 1
n_sim: {n_sim}
studies:
  - name: bench {kind}
    design: {kind}
    n_baseline: 7
    n_treatment: 7
    effect: -1.0
    sd: 0.5
    ar1: 0.3
{ramp}    tests: [nap, tau_u, piecewise]
"""
GRID = """seed: 3
n_sim: 500
studies:
  - name: bench grid
    design: case_series
    n: [150, 200, 250, 300]
    visits: [baseline, m3, m6, m12]
    effect: [0.1, 0.2]
    sd_between: 1.0
    sd_within: 0.8
    dropout: 0.05
    tests: [paired_t, wilcoxon, lmm]
"""
#: design -> datasets simulated per run (the same on both sides)
N_SIM = {"case_series": 300, "ab": 1000, "titration": 1000}


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _cpu(cmd: list[str]) -> tuple[float, str]:
    """CPU seconds (user + system) of a child process and its stdout+stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
            done.stdout + done.stderr)


def _design_text(kind: str, n_sim: int) -> str:
    if kind == "case_series":
        return CASE_SERIES.format(n_sim=n_sim)
    ramp = "    ramp_days: 4\n" if kind == "titration" else ""
    return SINGLE_CASE.format(n_sim=n_sim, kind=kind, ramp=ramp)


def throughput(kind: str, reps: int, tmp: Path) -> dict:
    n_sim = N_SIM[kind]
    design = tmp / f"{kind}.yaml"
    design.write_text(_design_text(kind, n_sim))
    py, r = [], []
    for rep in range(reps):  # alternately, so load from other jobs hits both sides alike
        out = tmp / f"{kind}_{rep}"
        shutil.rmtree(out, ignore_errors=True)
        cpu, _ = _cpu([sys.executable, "-m", "analysis", "plan", str(design), "--out", str(out)])
        py.append(cpu)
        cpu, text = _cpu(["Rscript", str(R_SCRIPT), kind, str(n_sim), str(rep + 1)])
        r.append(cpu)
        print(f"  {kind} rep {rep + 1}: itb plan {py[-1]:.2f} s CPU, R {r[-1]:.2f} s CPU "
              f"({text.strip()})", flush=True)
    py_k = statistics.median(py) / n_sim * 1000
    r_k = statistics.median(r) / n_sim * 1000
    return {"design": kind, "n_sim": n_sim, "python": py_k, "r": r_k, "ratio": r_k / py_k}


def speedup(reps: int, tmp: Path) -> dict:
    from dask.distributed import LocalCluster

    design = tmp / "grid.yaml"
    design.write_text(GRID)
    times: dict[int, list[float]] = {1: [], 2: []}
    for rep in range(reps):
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                out = tmp / f"grid_{workers}_{rep}"
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "analysis", "plan", str(design), "--out",
                                str(out), "--scheduler", cluster.scheduler_address], cwd=ROOT,
                               env=_env(), capture_output=True, check=True)
                times[workers].append(time.perf_counter() - start)
            print(f"  grid rep {rep + 1}, {workers} worker(s): {times[workers][-1]:.2f} s wall",
                  flush=True)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    return {"one": one, "two": two, "speedup": one / two}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.*)", text).group(1)
    except (OSError, AttributeError):
        pass
    r = subprocess.run(["Rscript", "--version"], capture_output=True, text=True).stderr.strip()
    return (f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, Python "
            f"{platform.python_version()}, {r.splitlines()[0] if r else 'R'}; shared with other "
            "jobs")


def section(rows: list[dict], grid: dict | None, reps: int) -> str:
    lines = ["## itb plan against R (`benchmarks/bench_plan.py`)", "",
             f"{time.strftime('%Y-%m-%d')}, {machine()}. CPU seconds (user + system, whole "
             f"process, start-up and package loading included on both sides) per 1,000 "
             f"simulated datasets, median of {reps} runs, `itb plan` and "
             "`Rscript benchmarks/bench_plan.R` run alternately; the same designs and number of "
             "datasets on both sides.", "",
             "| design | tests | datasets per run | itb plan (CPU s / 1000) | R (CPU s / 1000) "
             "| R / itb plan |", "|---|---|---:|---:|---:|---:|"]
    tests = {"case_series": "paired t, exact Wilcoxon, LMM (Satterthwaite), 5% dropout",
             "ab": "NAP, Tau-U, piecewise", "titration": "NAP, Tau-U, piecewise"}
    for r in rows:
        lines.append(f"| {r['design']} | {tests[r['design']]} | {r['n_sim']} | "
                     f"{r['python']:.2f} | {r['r']:.2f} | {r['ratio']:.1f} |")
    lines += ["", "R: lme4 + lmerTest (`summary(lmer(...))`, Satterthwaite), `t.test`, "
              "`wilcox.test(exact = TRUE)`, NAP with the `wilcox.test` p, Tau-U from "
              "`cor.test(method = 'kendall', exact = FALSE)` on Parker's time coding, `lm` for "
              "the piecewise regression (no NAP interval: SingleCaseES is not installed; itb "
              "plan computes it). Start-up counts: about 1.5 s of CPU for `itb plan` (Python, "
              "numpy, scipy, pandas, the figure) and about 2 s for R loading lme4."]
    if grid:
        lines += ["", f"Grid of 8 case-series scenarios (n 150-300 patients, 4 visits, 500 "
                  f"datasets each) on a local dask cluster (`itb plan --scheduler`), wall time, "
                  f"median of {reps}: one worker {grid['one']:.1f} s, two workers "
                  f"{grid['two']:.1f} s, speed-up {grid['speedup']:.2f} (2 cores shared with "
                  "other jobs; wall time because the speed-up of parallel workers is one)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--designs", nargs="+", default=list(N_SIM), choices=list(N_SIM))
    parser.add_argument("--no-grid", action="store_true")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [throughput(kind, args.reps, Path(tmp)) for kind in args.designs]
        grid = None if args.no_grid else speedup(args.reps, Path(tmp))
    text = section(rows, grid, args.reps)
    print(text)
    if args.write:
        old = RESULTS.read_text()
        head = "## itb plan against R"
        if head in old:
            start = old.index(head)
            nxt = old.find("\n## ", start + 1)
            old = old[:start] + (old[nxt + 1:] if nxt >= 0 else "")
        RESULTS.write_text(old.rstrip("\n") + "\n\n" + text)


if __name__ == "__main__":
    main()
