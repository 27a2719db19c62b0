"""Registry-scale benchmark: the whole ``itb analyze`` against R on the same visit models.

Not part of the tests (timings are never asserted). Run from the repository root:

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_registry.py \
        [--patients 2000] [--measures 10] [--repeats 2] [--scaling 200 2000 20000]

What it does:

1. generates a seeded registry (``analysis.examples.simulate.simulate_series``) of N patients x
   6 visits x 10 measures (observations.csv + patients.csv, as a user would give them);
2. runs ``itb analyze`` on it in a child process and reads that child's CPU time (user +
   system) and peak resident memory from ``os.wait4`` (``resource`` rusage of that child only,
   started from a small launcher so that this process's own memory is not counted);
3. when ``Rscript`` with lme4, lmerTest and emmeans is installed, runs R on the same visit
   models (``value ~ visit + (1 | patient_id)``, REML, lmerTest Satterthwaite df for the fixed
   effects, emmeans marginal means and trt.vs.ctrl contrasts with Satterthwaite df) for every
   measure and side that ``itb analyze`` fitted a visit model to, reading the same CSV, the
   two alternating ``--repeats`` times; prints the medians and the CPU-time ratio, and the
   largest difference between R's and itb's contrast estimates (a check that the same models
   were fitted);
4. with ``--scaling``, times ``itb analyze`` alone at each size (cost against patients);
5. with ``--compare-source DIR``, also times ``itb analyze`` from another source tree (an
   earlier commit: ``git archive COMMIT | tar -x -C DIR``) in the same alternation, and says
   whether both wrote the same results table.

Every ``itb analyze`` runs with ``--no-cache`` (a cached run only reads its tables back).

``itb analyze`` does more than R's script (validation, descriptives, paired tests, effect sizes,
individual change, dose models, therapeutic window, manifest); the ratio compares the whole
command with R's visit models only, which is the comparison of issue 16.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pandas as pd

from analysis.examples.simulate import DEFAULT_VISITS, simulate_series

TEN = ("gait_speed", "tug", "six_mwt", "knee_flex_lr", "sprs_total", "pgic",
       "mas_knee_ext", "mrc_knee_ext", "mas_ankle_pf", "emg_soleus_rms")
SIX_VISITS = DEFAULT_VISITS[:6]

R_SCRIPT = textwrap.dedent("""
    args <- commandArgs(trailingOnly = TRUE)
    suppressPackageStartupMessages({library(lme4); library(lmerTest); library(emmeans)})
    emm_options(lmerTest.limit = Inf, pbkrtest.limit = Inf)
    obs <- read.csv(args[1], stringsAsFactors = FALSE, na.strings = c("", "NA"))
    obs$side[is.na(obs$side)] <- ""
    todo <- read.csv(args[2], stringsAsFactors = FALSE, na.strings = character(0))
    visits <- c(%s)
    out <- list()
    for (i in seq_len(nrow(todo))) {
      d <- obs[obs$measure == todo$measure[i] & obs$side == todo$side[i] & !is.na(obs$value), ]
      d$visit <- factor(d$visit, levels = intersect(visits, unique(d$visit)))
      m <- lmerTest::lmer(value ~ visit + (1 | patient_id), data = d, REML = TRUE)
      fx <- summary(m, ddf = "Satterthwaite")$coefficients
      emm <- emmeans(m, ~ visit, lmer.df = "satterthwaite")
      con <- as.data.frame(contrast(emm, method = "trt.vs.ctrl", adjust = "holm"))
      out[[i]] <- data.frame(measure = todo$measure[i], side = todo$side[i],
                             term = as.character(con$contrast), estimate = con$estimate,
                             df = con$df)
    }
    write.csv(do.call(rbind, out), args[3], row.names = FALSE)
""")


def _registry(root: Path, n: int, n_measures: int, seed: int) -> Path:
    obs, patients = simulate_series(n, seed=seed, measures=TEN[:n_measures], visits=SIX_VISITS)
    root.mkdir(parents=True, exist_ok=True)
    obs.to_csv(root / "observations.csv", index=False)
    patients.to_csv(root / "patients.csv", index=False)
    return root


# The command is started by a small launcher process that forks and waits for it. Started
# directly, its peak RSS would be at least this process's: Linux carries the peak RSS of the
# memory image a process replaces at exec into its own (subprocess starts children with vfork,
# which shares this process's image), so every child would report >= this process's peak.
_LAUNCHER = textwrap.dedent("""
    import os, sys
    pid = os.fork()
    if pid == 0:
        os.execvp(sys.argv[2], sys.argv[2:])
    _, status, usage = os.wait4(pid, 0)
    with open(sys.argv[1], "w") as fh:
        fh.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_utime + usage.ru_stime} "
                 f"{usage.ru_maxrss}")
""")


def child_cost(cmd: list[str], **kw) -> tuple[float, float, float]:
    """(CPU seconds user + system, peak RSS in MB, wall seconds) of one child process."""
    with tempfile.NamedTemporaryFile("r", suffix=".usage") as record:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _LAUNCHER, record.name, *cmd],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
        wall = time.perf_counter() - start
        code, cpu, maxrss = record.read().split()
    if proc.returncode != 0 or int(code) != 0:
        err = proc.stderr.decode(errors="replace")
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}):\n{err[-2000:]}")
    return float(cpu), int(maxrss) / 1024, wall  # Linux: ru_maxrss in KB


def _itb(data: Path, out: Path, source: Path | None = None) -> tuple[float, float, float]:
    """``itb analyze`` without the cache (a cached run would only read tables back), from this
    repository or from another source tree (``--compare-source``)."""
    root = source if source is not None else Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(Path(root).resolve())}
    # started in a neutral directory: ``python -m`` puts the working directory first on
    # sys.path, ahead of PYTHONPATH, so from a source tree it would run that tree's code
    return child_cost([sys.executable, "-m", "analysis", "analyze", str(Path(data).resolve()),
                       "--no-cache", "--out", str(Path(out).resolve())], env=env,
                      cwd=tempfile.gettempdir())


def _r_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "for (p in c('lme4','lmerTest','emmeans')) "
                            "if (!requireNamespace(p, quietly = TRUE)) quit(status = 1)"],
                           capture_output=True)
    return probe.returncode == 0


def _machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 ** 2:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    r = ""
    if shutil.which("Rscript"):
        r = subprocess.run(["Rscript", "--version"], capture_output=True, text=True)
        r = "; " + (r.stdout or r.stderr).strip().splitlines()[0]
    return (f"{cpu or platform.processor()}, {os.cpu_count()} cores{mem}; Python "
            f"{platform.python_version()}, {platform.system()} {platform.release()}{r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--measures", type=int, default=10, choices=range(1, len(TEN) + 1),
                    metavar="1-10")
    ap.add_argument("--repeats", type=int, default=2, help="alternating itb/R pairs")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--scaling", type=int, nargs="*", default=[],
                    help="also time itb analyze alone at these numbers of patients")
    ap.add_argument("--compare-source", type=Path, default=None, metavar="DIR",
                    help="also time itb analyze from this source tree (e.g. an earlier commit "
                         "exported with git archive), alternating with this one and R")
    args = ap.parse_args()
    print(f"machine: {_machine()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = _registry(tmp / "registry", args.patients, args.measures, args.seed)
        n_rows = sum(1 for _ in open(data / "observations.csv")) - 1
        print(f"registry: {args.patients} patients x 6 visits x {args.measures} measures, "
              f"{n_rows} rows", flush=True)
        have_r = _r_available()
        if not have_r:
            print("Rscript with lme4, lmerTest and emmeans not found: timing itb only")
        itb_runs, r_runs, other_runs = [], [], []
        script = tmp / "visit_models.R"
        script.write_text(R_SCRIPT % ", ".join(f'"{v.name}"' for v in SIX_VISITS))
        for rep in range(args.repeats):
            if args.compare_source is not None:
                other_runs.append(_itb(data, tmp / "out_other", args.compare_source))
                print(f"run {rep + 1}: itb analyze from {args.compare_source}  CPU "
                      f"{other_runs[-1][0]:7.2f} s, peak {other_runs[-1][1]:7.0f} MB, wall "
                      f"{other_runs[-1][2]:6.1f} s", flush=True)
            itb_runs.append(_itb(data, tmp / "out"))
            print(f"run {rep + 1}: itb analyze  CPU {itb_runs[-1][0]:7.2f} s, peak "
                  f"{itb_runs[-1][1]:7.0f} MB, wall {itb_runs[-1][2]:6.1f} s", flush=True)
            if have_r:
                res = pd.read_csv(tmp / "out" / "results.csv", keep_default_na=False,
                                  na_values=[""], low_memory=False)
                con = res[(res["analysis"] == "lmm_contrast")
                          & res["term"].str.endswith(" - baseline")]
                todo = con[["measure", "side"]].drop_duplicates()
                todo.to_csv(tmp / "todo.csv", index=False)
                r_runs.append(child_cost(["Rscript", str(script), str(data / "observations.csv"),
                                          str(tmp / "todo.csv"), str(tmp / "r_contrasts.csv")]))
                print(f"run {rep + 1}: R visit models CPU {r_runs[-1][0]:7.2f} s, peak "
                      f"{r_runs[-1][1]:7.0f} MB, wall {r_runs[-1][2]:6.1f} s "
                      f"({len(todo)} measure/side models)", flush=True)
        med = [statistics.median(x[k] for x in itb_runs) for k in range(3)]
        print(f"itb analyze: median CPU {med[0]:.2f} s, peak {med[1]:.0f} MB")
        if other_runs:
            omed = [statistics.median(x[k] for x in other_runs) for k in range(3)]
            print(f"itb analyze from {args.compare_source}: median CPU {omed[0]:.2f} s, peak "
                  f"{omed[1]:.0f} MB")
            same = pd.read_parquet(tmp / "out_other" / "results.parquet").equals(
                pd.read_parquet(tmp / "out" / "results.parquet"))
            print(f"results.parquet identical to this tree's: {same}")
        if have_r:
            rmed = [statistics.median(x[k] for x in r_runs) for k in range(3)]
            rc = pd.read_csv(tmp / "r_contrasts.csv", keep_default_na=False, na_values=[""])
            rc["term"] = rc["term"].str.replace(r"^visit", "", regex=True).str.replace(
                " - visit", " - ", regex=False)
            both = rc.merge(con, on=["measure", "side", "term"], suffixes=("_r", "_itb"))
            diff = (both["estimate_r"] - both["estimate_itb"]).abs().max()
            ddf = ((both["df_r"] - both["df_itb"]).abs() / both["df_r"]).max()
            print(f"R visit models: median CPU {rmed[0]:.2f} s, peak {rmed[1]:.0f} MB")
            print(f"ratio itb / R: CPU {med[0] / rmed[0]:.2f}, peak memory "
                  f"{med[1] / rmed[1]:.2f}")
            print(f"same models: {len(both)} of {len(rc)} contrasts matched; largest "
                  f"|estimate difference| {diff:.2e}, largest relative df difference {ddf:.2e}")
        for n in args.scaling:
            d = _registry(tmp / f"scale{n}", n, args.measures, args.seed)
            cpu, peak, wall = _itb(d, tmp / f"out{n}")
            print(f"scaling: {n:>6} patients: itb analyze CPU {cpu:8.2f} s, peak {peak:7.0f} MB,"
                  f" wall {wall:7.1f} s ({cpu / n * 1000:.2f} ms CPU per patient)", flush=True)
            shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
