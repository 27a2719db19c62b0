"""Run a design: scenarios split into chunks, on joblib processes or a dask cluster, resumable.

Reproducibility: each scenario's seed is a :class:`numpy.random.SeedSequence` with the design's
seed as entropy and the scenario's key as spawn key; its chunks (:data:`CHUNK` datasets each,
a constant) get ``spawn(n_chunks)`` of it. A chunk's numbers therefore depend on the seed and
the scenario only, never on the number of workers, the order in which chunks finish, or
which scenarios were finished before a restart; tallies are summed in chunk order.

Resume: when ``out`` is given, each finished scenario is written to
``out/plan_store/<key>.parquet`` (written to a temporary name, then renamed), and scenarios
whose file exists are not run again. The key covers the study, every parameter, the seed
and ``n_sim``, so a changed design re-runs exactly the scenarios it changed.

Examples
--------
>>> from analysis.plan.design import parse_design
>>> d = parse_design({"n_sim": 40, "studies": [{"name": "s", "design": "ab",
...     "n_baseline": 5, "n_treatment": 8, "effect": 2.0, "tests": ["nap"]}]})
>>> t = power_simulation(d, progress=False)
>>> t[["study", "n", "test", "n_sim"]].values.tolist()
[['s', 5, 'nap', 40]]
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import ITBError
from analysis.plan.closed_form import crawford_howell_power
from analysis.plan.design import N_KEY, PlanDesign, Scenario, load_design
from analysis.plan.scheduler import scheduler_target
from analysis.plan.simulate import TALLY, simulate_chunk

#: Simulated datasets per chunk (a constant: the chunks, and so the numbers, do not depend
#: on the number of workers).
CHUNK = 25
#: Chunks per task at most: one task per chunk would cost the scheduler and the client more
#: than small chunks take to compute on a two-core machine.
GROUP = 8
STORE = "plan_store"
#: Columns of the power table.
COLUMNS = ("study", "design", "scenario", "curve", "n", "test", "n_sim", "power", "mcse",
           "failed", "singular", "mean_estimate", "ci_half_width", "alpha", "threshold",
           "method", "params")

_METHODS = {
    "paired_t": "paired t-test at the follow-up visit (analysis.stats.paired.paired_comparisons)",
    "wilcoxon": "Wilcoxon signed-rank test, exact p (analysis.stats.paired.paired_comparisons)",
    "lmm": "LMM value ~ visit + (1 | patient), REML, Satterthwaite df, contrast of the visit "
           "(analysis.stats.lmm.fit_lmm_safe)",
    "nap": "NAP, Mann-Whitney p (analysis.stats.single_case.phase.nap)",
    "tau_u": "Tau-U, Kendall p (analysis.stats.single_case.phase.tau_u)",
    "piecewise": "piecewise regression, level change t test "
                 "(analysis.stats.single_case.piecewise)",
    "crawford_howell": "Crawford-Howell test, closed form (noncentral t; as singcar TD_power)",
}


def scenario_seed(seed: int, scenario: Scenario) -> np.random.SeedSequence:
    """The scenario's SeedSequence: entropy ``seed``, spawn key from the scenario key.

    Examples
    --------
    >>> from analysis.plan.design import Scenario
    >>> s = Scenario("s", "ab", {}, "00000000000a")
    >>> scenario_seed(1, s).spawn_key
    (10,)
    """
    return np.random.SeedSequence(seed, spawn_key=(int(scenario.key, 16),))


def _tasks(design: PlanDesign, todo: Iterable[Scenario], workers: int) -> list[tuple]:
    """Chunks grouped into tasks: a task runs up to :data:`GROUP` consecutive chunks of one
    scenario, fewer when that would leave fewer than four tasks per worker. Grouping changes
    the scheduling overhead only: each chunk keeps its own seed and tally."""
    per_scenario = []
    for sc in todo:
        if sc.design == "controls":
            continue
        n_chunks = math.ceil(design.n_sim / CHUNK)
        seeds = scenario_seed(design.seed, sc).spawn(n_chunks)
        per_scenario.append((sc, [(i, min(CHUNK, design.n_sim - i * CHUNK), ss)
                                  for i, ss in enumerate(seeds)]))
    total = sum(len(c) for _, c in per_scenario)
    group = max(1, min(GROUP, total // (4 * max(1, workers))))
    return [(sc, tuple(c[j:j + group])) for sc, c in per_scenario
            for j in range(0, len(c), group)]


def _run_task(task: tuple) -> list[tuple[str, int, dict]]:
    sc, chunks = task
    return [(sc.key, i, simulate_chunk(sc, size, ss)) for i, size, ss in chunks]


def _curve(design: PlanDesign, sc: Scenario) -> str:
    keys = [k for k in design.varying.get(sc.study, []) if k != N_KEY[sc.design]]
    return ", ".join(f"{k}={sc.params[k]}" for k in keys)


def _rows(design: PlanDesign, sc: Scenario, chunks: dict[int, dict]) -> pd.DataFrame:
    p = sc.params
    base = {"study": sc.study, "design": sc.design, "scenario": sc.key,
            "curve": _curve(design, sc), "n": sc.n, "alpha": p["alpha"],
            "params": json.dumps(p, sort_keys=True, default=str)}
    rows = []
    if sc.design == "controls":
        power = crawford_howell_power(p["effect"], n=p["n_controls"], alpha=p["alpha"],
                                      alternative=p["alternative"])
        rows.append({**base, "test": "crawford_howell", "n_sim": 0, "power": power,
                     "mcse": 0.0, "failed": 0.0, "singular": 0.0, "mean_estimate": np.nan,
                     "ci_half_width": np.nan, "threshold": p["alpha"],
                     "method": _METHODS["crawford_howell"] + f", {p['alternative']}"})
        return pd.DataFrame(rows, columns=list(COLUMNS))
    thr = p["alpha"] / p["holm_family"]
    for test in p["tests"]:
        tot = {k: 0 for k in TALLY}
        for i in sorted(chunks):  # fixed order: float sums do not depend on finishing order
            for k in TALLY:
                tot[k] += chunks[i][test][k]
        n = tot["n_sim"]
        power = tot["rejections"] / n
        rows.append({**base, "test": test, "n_sim": n, "power": power,
                     "mcse": math.sqrt(power * (1 - power) / n),
                     "failed": tot["failed"] / n, "singular": tot["singular"] / n,
                     "mean_estimate": (tot["sum_estimate"] / tot["n_estimate"]
                                       if tot["n_estimate"] else np.nan),
                     "ci_half_width": (tot["sum_half_width"] / tot["n_half_width"]
                                       if tot["n_half_width"] else np.nan),
                     "threshold": thr, "method": _METHODS[test]})
    return pd.DataFrame(rows, columns=list(COLUMNS))


class _Progress:
    """tqdm on a terminal; otherwise plain ``plan: k/n chunks`` lines (about every 10%);
    a chunk is :data:`CHUNK` datasets."""

    def __init__(self, total: int, enabled: bool | None):
        self.total, self.done, self.next_line = total, 0, 0.0
        tty = sys.stderr.isatty()
        self.enabled = bool(total) and (tty if enabled is None else enabled)
        self.bar = None
        self.start = time.monotonic()
        if self.enabled and tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="plan", unit="chunk", file=sys.stderr)

    def update(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
        elif self.done >= self.next_line or self.done == self.total:
            self.next_line = self.done + max(1, self.total // 10)
            print(f"plan: {self.done}/{self.total} chunks ({100 * self.done // self.total}%), "
                  f"{time.monotonic() - self.start:.0f} s", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _serial(tasks: list[tuple]) -> Iterator[list]:
    for task in tasks:
        yield _run_task(task)


def _joblib(tasks: list[tuple], workers: int) -> Iterator[list]:
    from joblib import Parallel, delayed

    yield from Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered")(
        delayed(_run_task)(t) for t in tasks)


def _dask(make_tasks: Callable[[int], list[tuple]], scheduler: str) -> Iterator[list]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ITBError(f"--scheduler needs dask.distributed ({exc})") from None
    try:
        client = Client(**scheduler_target(scheduler), timeout="20s", set_as_default=False)
    except ITBError:
        raise
    except Exception as exc:  # OSError, TimeoutError, ValueError, a bad scheduler file ...
        raise ITBError(f"--scheduler {scheduler}: cannot connect to the dask scheduler "
                       f"({type(exc).__name__}: {_one_line(exc)}); start one with `dask "
                       "scheduler` and `dask worker`") from None
    try:
        tasks = make_tasks(max(1, sum(client.nthreads().values())))
        futures = client.map(_run_task, tasks, pure=False)
        with client.as_current():
            for fut in as_completed(futures):
                try:
                    result = fut.result()
                except ITBError:
                    raise
                except (OSError, TimeoutError) as exc:  # the scheduler or a worker went away
                    raise ITBError(f"--scheduler {scheduler}: the dask cluster failed "
                                   f"({type(exc).__name__}: {_one_line(exc)}); finished "
                                   "scenarios are kept, run the command again") from None
                yield result
    finally:
        client.close()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _write_atomic(table: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    table.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def power_simulation(design: PlanDesign | str | Path, *, out: str | Path | None = None,
                     workers: int = 1, scheduler: str | None = None, seed: int | None = None,
                     progress: bool | None = None) -> pd.DataFrame:
    """Power and precision of every scenario of a design, by simulation (closed form for
    one patient against controls).

    Parameters
    ----------
    design : PlanDesign or path
        A design (:func:`analysis.plan.design.load_design`) or the path of its YAML file.
    out : path, optional
        Output directory holding the resume store (``plan_store/``); finished scenarios
        found there are not run again.
    workers : int
        Worker processes (joblib, loky backend); 1 runs in this process.
    scheduler : str, optional
        Address of a running dask.distributed scheduler (``tcp://host:8786``, or a scheduler
        file: :mod:`analysis.plan.scheduler`); overrides ``workers``.
    seed : int, optional
        Overrides the design's seed (only with a path).
    progress : bool, optional
        Show progress (a tqdm bar on a terminal, plain lines otherwise); default: when stderr
        is a terminal.

    Returns
    -------
    pandas.DataFrame
        One row per scenario and test (columns :data:`COLUMNS`): ``power`` = share of
        simulated datasets with p < ``threshold`` (alpha / holm_family), ``mcse`` =
        sqrt(power (1 - power) / n_sim), ``failed`` and ``singular`` = shares of fits,
        ``mean_estimate`` and ``ci_half_width`` = mean estimate and mean half-width of its
        (1 - alpha) interval (precision).

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> from analysis.plan.design import load_design
    >>> d = load_design(EXAMPLES / "plan" / "design.yaml")
    >>> norms = PlanDesign(d.seed, d.n_sim, d.alpha, d.target_power,
    ...                    tuple(s for s in d.scenarios if s.design == "controls"))
    >>> power_simulation(norms, progress=False)[["n", "power"]].round(3).values.tolist()[:2]
    [[5.0, 0.448], [10.0, 0.546]]
    """
    if not isinstance(design, PlanDesign):
        design = load_design(design, seed=seed)
    if workers < 1:
        raise ITBError(f"--workers must be at least 1 (got {workers})")
    if scheduler:
        scheduler_target(scheduler)  # a bad address is refused before anything is written
    store = Path(out) / STORE if out is not None else None
    done: dict[str, pd.DataFrame] = {}
    if store is not None:
        store.mkdir(parents=True, exist_ok=True)
        for sc in design.scenarios:
            f = store / f"{sc.key}.parquet"
            if f.is_file():
                done[sc.key] = pd.read_parquet(f)
    todo = [sc for sc in design.scenarios if sc.key not in done]
    for sc in todo:  # closed forms first: no tasks
        if sc.design == "controls":
            done[sc.key] = _rows(design, sc, {})
            if store is not None:
                _write_atomic(done[sc.key], store / f"{sc.key}.parquet")
    expected = {sc.key: math.ceil(design.n_sim / CHUNK) for sc in todo if sc.key not in done}
    by_key = {sc.key: sc for sc in todo}
    chunks: dict[str, dict[int, dict]] = {k: {} for k in expected}
    bar = _Progress(sum(expected.values()), progress)
    if scheduler:
        results = _dask(lambda n: _tasks(design, todo, n), scheduler)
    elif workers == 1 or sum(expected.values()) <= 1:
        results = _serial(_tasks(design, todo, 1))
    else:
        results = _joblib(_tasks(design, todo, workers), workers)
    try:
        for finished in results:
            for key, i, tally in finished:
                chunks[key][i] = tally
                bar.update()
                if len(chunks[key]) == expected[key]:
                    done[key] = _rows(design, by_key[key], chunks.pop(key))
                    if store is not None:
                        _write_atomic(done[key], store / f"{key}.parquet")
    finally:
        bar.close()
    table = pd.concat([done[sc.key] for sc in design.scenarios], ignore_index=True)
    table["n"] = table["n"].astype(int)
    table["n_sim"] = table["n_sim"].astype(int)
    return table
