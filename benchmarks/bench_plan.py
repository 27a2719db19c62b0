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
n_sim: {n_sim}
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
#: design -> (small, large) datasets simulated per run; the difference of CPU time between the
#: two sizes is the marginal cost (start-up cancels). R runs the sizes in R_SIM, itb plan those
#: in PY_SIM: larger, because its marginal cost must stand out of its start-up's noise.
R_SIM = {"case_series": (100, 600), "ab": (200, 5000), "titration": (200, 5000)}
PY_SIM = {"case_series": (100, 20000), "ab": (200, 50000), "titration": (200, 50000)}
N_SIM = R_SIM


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
    cpu: dict = {}
    for rep in range(reps):  # alternately, so load from other jobs hits both sides alike
        for size in (0, 1):
            n_py, n_r = PY_SIM[kind][size], R_SIM[kind][size]
            design = tmp / f"{kind}_{n_py}.yaml"
            design.write_text(_design_text(kind, n_py))
            out = tmp / f"{kind}_{n_py}_{rep}"
            shutil.rmtree(out, ignore_errors=True)
            py, _ = _cpu([sys.executable, "-m", "analysis", "plan", str(design), "--out",
                          str(out)])
            r, text = _cpu(["Rscript", str(R_SCRIPT), kind, str(n_r), str(rep + 1)])
            cpu.setdefault(("py", size), []).append(py)
            cpu.setdefault(("r", size), []).append(r)
            print(f"  {kind} rep {rep + 1}: itb plan {n_py} datasets {py:.2f} s CPU, R {n_r} "
                  f"datasets {r:.2f} s CPU ({text.strip()})", flush=True)
    med = {k: statistics.median(v) for k, v in cpu.items()}
    row = {"design": kind, "py_sizes": PY_SIM[kind], "r_sizes": R_SIM[kind]}
    for side, sizes in (("py", PY_SIM[kind]), ("r", R_SIM[kind])):
        small, large = sizes
        row[f"{side}_whole"] = med[side, 1] / large * 1000
        row[f"{side}_marginal"] = (med[side, 1] - med[side, 0]) / (large - small) * 1000
        row[f"{side}_startup"] = med[side, 0] - small * row[f"{side}_marginal"] / 1000
    # whole-process ratio at R's large size: itb plan's start-up + R's number of datasets
    py_same = row["py_startup"] + R_SIM[kind][1] * row["py_marginal"] / 1000
    row["py_whole"] = py_same / R_SIM[kind][1] * 1000
    row["ratio_whole"] = med["r", 1] / py_same
    row["ratio_marginal"] = row["r_marginal"] / row["py_marginal"]
    return row


#: datasets per scenario of the speed-up grid: 20,000 (160,000 in all, about 80 s on one
#: worker), so that the simulation and not the fixed cost of a run (about 8 s here: starting
#: `itb plan` and connecting, each worker importing the package, the power-curve figure)
#: decides the wall time; at 2,000 the fixed cost caps the speed-up near 1.3
GRID_N_SIM = int(os.environ.get("BENCH_PLAN_GRID_N_SIM", "20000"))


def speedup(reps: int, tmp: Path) -> dict:
    from dask.distributed import LocalCluster

    design = tmp / "grid.yaml"
    design.write_text(GRID.format(n_sim=GRID_N_SIM))
    from dask.distributed import Client

    times: dict[int, list[float]] = {1: [], 2: []}
    busy: dict[int, list[float]] = {1: [], 2: []}
    for rep in range(reps):
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, \
                    Client(cluster, set_as_default=False) as client:
                before = client.run(_worker_cpu)
                out = tmp / f"grid_{workers}_{rep}"
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "analysis", "plan", str(design), "--out",
                                str(out), "--scheduler", cluster.scheduler_address], cwd=ROOT,
                               env=_env(), capture_output=True, check=True)
                times[workers].append(time.perf_counter() - start)
                after = client.run(_worker_cpu)
            # CPU seconds the workers got per wall second: the cores they actually had
            busy[workers].append(sum(after[w] - before[w] for w in after)
                                 / times[workers][-1])
            print(f"  grid rep {rep + 1}, {workers} worker(s): {times[workers][-1]:.2f} s wall, "
                  f"workers busy {busy[workers][-1]:.2f} cores", flush=True)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    return {"one": one, "two": two, "speedup": one / two,
            "busy_one": statistics.median(busy[1]), "busy_two": statistics.median(busy[2]),
            "load": os.getloadavg()[0]}


def _worker_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.*)", text).group(1)
    except (OSError, AttributeError):
        pass
    done = subprocess.run(["Rscript", "--version"], capture_output=True, text=True)
    r = (done.stdout + done.stderr).strip()
    return (f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, Python "
            f"{platform.python_version()}, {r.splitlines()[0] if r else 'R'}; shared with other "
            "jobs")


def section(rows: list[dict], grid: dict | None, reps: int) -> str:
    lines = ["## itb plan against R (`benchmarks/bench_plan.py`)", "",
             f"{time.strftime('%Y-%m-%d')}, {machine()}. CPU seconds (user + system of the "
             "whole process; CPU, not wall time, because the machine is shared) per 1,000 "
             f"simulated datasets, medians of {reps} runs, `itb plan` and "
             "`Rscript benchmarks/bench_plan.R` run alternately on the same designs "
             "(numbers of datasets below). *Marginal*: the CPU time between a small and a large run, "
             "per 1,000 datasets (start-up cancels: the throughput of the simulation itself); "
             "*whole*: the large R run's total CPU time, start-up included, per 1,000, against "
             "itb plan's start-up plus its marginal cost for the same number of datasets. "
             "itb plan runs more datasets than R (its marginal cost would otherwise be lost in "
             "the noise of its start-up).", "",
             "| design | tests | datasets itb plan; R | itb plan marginal | R marginal | "
             "R / itb plan, marginal | itb plan whole | R whole | R / itb plan, whole |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    tests = {"case_series": "paired t, exact Wilcoxon, LMM (Satterthwaite), 5% dropout",
             "ab": "NAP, Tau-U, piecewise", "titration": "NAP, Tau-U, piecewise"}
    for r in rows:
        lines.append(f"| {r['design']} | {tests[r['design']]} | {r['py_sizes'][0]}, "
                     f"{r['py_sizes'][1]}; {r['r_sizes'][0]}, {r['r_sizes'][1]} | "
                     f"{r['py_marginal']:.3f} | {r['r_marginal']:.2f} | "
                     f"**{r['ratio_marginal']:.0f}** | {r['py_whole']:.2f} | "
                     f"{r['r_whole']:.2f} | {r['ratio_whole']:.1f} |")
    starts = ", ".join(f"{r['design']}: itb plan {r['py_startup']:.1f} s, R {r['r_startup']:.1f} s"
                       for r in rows)
    lines += ["", f"Start-up (CPU s, intercept of the two sizes): {starts}.", "",
              "Designs: case series of 10 patients, 3 visits, 5% dropout per follow-up; AB and "
              "titration (ramp 4 days) of 7 + 7 days, AR(1) 0.3. R: lme4 + lmerTest "
              "(`summary(lmer(...))`, Satterthwaite), `t.test`, `wilcox.test(exact = TRUE)`, "
              "NAP with the `wilcox.test` p, Tau-U from `cor.test(method = 'kendall', exact = "
              "FALSE)` on Parker's time coding, `lm` for the piecewise regression (no NAP "
              "interval in R: SingleCaseES is not installed; itb plan computes it). itb plan "
              "uses the batched path (analysis/plan/batched.py)."]
    if grid:
        lines += ["", f"Grid of 8 case-series scenarios (n 150-300 patients, 4 visits, "
                  f"{GRID_N_SIM:,} datasets each) on a local dask cluster (`itb plan "
                  f"--scheduler`, worker processes with one thread), wall time, median of "
                  f"{reps}: one worker {grid['one']:.1f} s, two workers {grid['two']:.1f} s, "
                  f"speed-up **{grid['speedup']:.2f}**; the workers got {grid['busy_one']:.2f} "
                  f"and {grid['busy_two']:.2f} cores (their CPU seconds per wall second; 2 "
                  f"cores shared with other jobs, load average {grid['load']:.1f} at the end). "
                  "Wall time because the speed-up of parallel workers is one; the start-up of "
                  "`itb plan` is included."]
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
