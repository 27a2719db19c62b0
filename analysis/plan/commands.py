"""``itb plan DESIGN.yaml``: the command-line wiring of study planning.

Writes ``OUT/power.csv``, ``OUT/power.parquet``, ``OUT/power_curve.png`` and
``OUT/sample_size.md`` (the protocol paragraph); finished scenarios are kept in
``OUT/plan_store/`` and skipped when the command is run again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.text import say


def add_commands(subparsers) -> None:
    """Add the ``plan`` subcommand to the ``itb`` parser's subparsers."""
    p = subparsers.add_parser(
        "plan", help="power and precision of a planned study, by simulation",
        description="Simulate the scenarios of a design YAML (case series, AB or titration "
        "single-case designs, one patient against controls), analyse each simulated dataset "
        "with this package's functions, and write the power table, a power-curve figure and "
        "a sample-size paragraph. Runs on local processes (--workers) or a running "
        "dask.distributed cluster (--scheduler); re-running skips finished scenarios. "
        "Design keys: see README, 'Study planning'.")
    p.add_argument("design", type=Path, help="design YAML file")
    p.add_argument("--out", type=Path, default=Path("_output/plan"),
                   help="output directory (default _output/plan)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=1,
                       help="local worker processes (joblib; default 1)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="address of a running dask.distributed scheduler, e.g. "
                       "tcp://10.0.0.5:8786 (or tls://HOST:PORT, HOST:PORT, or a scheduler "
                       "file)")
    p.add_argument("--seed", type=int, help="seed (overrides the design's `seed`)")
    p.set_defaults(func=_plan)


def _plan(args: argparse.Namespace) -> int:
    from analysis.plan.design import load_design
    from analysis.plan.estimate import describe, estimate_seconds
    from analysis.plan.scheduler import scheduler_target

    if args.scheduler:
        scheduler_target(args.scheduler)  # refused up front, before the design is read
    design = load_design(args.design, seed=args.seed)  # limits checked before the imports
    from analysis.plan.figure import save_power_curve
    from analysis.plan.protocol import sample_size_paragraph
    from analysis.plan.runner import power_simulation

    analyses = design.n_sim * sum(len(s.params["tests"]) for s in design.scenarios
                                  if s.design != "controls")
    workers = ("one worker (divide by the cluster's workers)" if args.scheduler
               else f"{args.workers} worker(s)")
    seconds = estimate_seconds(design, workers=1 if args.scheduler else args.workers)
    say(f"plan: {len(design.scenarios)} scenario(s), {analyses} simulated analyses; estimated "
          f"run time {describe(seconds)} on {workers} (from per-analysis cost constants, "
          "analysis/plan/estimate.py; a factor of 2 either way; finished scenarios are "
          "skipped)", file=sys.stderr)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    table = power_simulation(design, out=out, workers=args.workers, scheduler=args.scheduler,
                             progress=True)  # a bar on a terminal, plain lines in logs
    paths = [out / "power.csv", out / "power.parquet", out / "power_curve.png",
             out / "sample_size.md"]
    table.to_csv(paths[0], index=False, lineterminator="\n")
    table.to_parquet(paths[1], index=False)
    save_power_curve(table, paths[2], target_power=design.target_power)
    text = sample_size_paragraph(table, target_power=design.target_power, seed=design.seed)
    paths[3].write_text(text + "\n", encoding="utf-8")
    cols = ["study", "n", "test", "power", "mcse", "failed", "singular"]
    say(table[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"),
          file=sys.stderr)
    for path in paths:
        say(Path(path).resolve())  # as every command prints a written file
    return 0
