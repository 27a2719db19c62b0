"""``itb plan --scheduler`` on a real multi-process dask cluster on 127.0.0.1.

Starts ``dask scheduler`` and two ``dask worker`` processes (no nanny: one process each, so
killing one is a real worker death) on free ports, runs ``itb plan --scheduler tcp://...`` as
a subprocess, checks its table is identical to the one-worker (in-process) table, kills one
worker mid-run and still gets the identical table, and shuts everything down. The speed-up of
two workers over one is measured in benchmarks/bench_plan.py (RESULTS.md), never asserted here:
performance is measured in benchmarks, not as timing assertions in tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from analysis.plan.design import load_design
from analysis.plan.runner import power_simulation

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")

#: 8 scenarios, heavy enough (a few seconds on one worker) to kill a worker mid-run.
DESIGN = """seed: 7
n_sim: 500
studies:
  - name: cluster case series
    design: case_series
    n: [200, 240, 280, 320]
    visits: [baseline, m3, m6, m12]
    effect: [0.1, 0.2]
    sd_between: 1.0
    sd_within: 0.8
    dropout: 0.05
    tests: [paired_t, wilcoxon, lmm]
"""

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not DASK.exists(), reason="the dask command is not installed")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}


def _start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([str(DASK), *args], cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb"))  # noqa: SIM115


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


def _plan(design: Path, out: Path, address: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "analysis", "plan", str(design), "--out",
                             str(out), "--scheduler", address], cwd=ROOT, env=_env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_plan_on_a_scheduler_and_two_worker_processes(tmp_path):
    from dask.distributed import Client

    design = tmp_path / "design.yaml"
    design.write_text(DESIGN)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _start(["scheduler", "--host", "127.0.0.1", "--port", str(port),
                        "--no-dashboard"], tmp_path / "scheduler.log")
    workers = []
    try:
        client = None
        deadline = time.monotonic() + 60
        while client is None:
            try:
                client = Client(address, timeout="2s", set_as_default=False)
            except OSError:
                assert scheduler.poll() is None, (tmp_path / "scheduler.log").read_text()
                assert time.monotonic() < deadline, "the scheduler did not start"
                time.sleep(0.3)
        for i in range(2):
            workers.append(_start(["worker", address, "--nthreads", "1", "--no-nanny",
                                   "--no-dashboard", "--host", "127.0.0.1",
                                   "--memory-limit", "0", "--name", f"w{i}"],
                                  tmp_path / f"worker{i}.log"))
        client.wait_for_workers(2, timeout=60)
        client.close()

        # the one-worker table, in this process
        one = power_simulation(load_design(design), workers=1, progress=False)
        assert len(one) == 8 * 3

        # 1. the same table from the cluster
        run = _plan(design, tmp_path / "two", address)
        out, err = run.communicate(timeout=240)
        assert run.returncode == 0, err
        pd.testing.assert_frame_equal(one, pd.read_parquet(tmp_path / "two" / "power.parquet"))

        # 2. one worker killed mid-run: its tasks are recomputed on the other, same table
        run = _plan(design, tmp_path / "killed", address)
        lines = []
        for line in run.stderr:  # progress lines: "plan: k/n chunks (p%), s"
            lines.append(line)
            if line.startswith("plan: ") and "chunks (" in line:
                done, total = line.split()[1].split("/")
                assert int(done) < int(total), "the run finished before a worker was killed"
                workers[0].kill()  # SIGKILL: no goodbye to the scheduler
                workers[0].wait(timeout=10)
                break
        rest = run.stderr.read()
        run.wait(timeout=240)
        assert workers[0].returncode == -signal.SIGKILL
        assert run.returncode == 0, "".join(lines) + rest
        pd.testing.assert_frame_equal(one,
                                      pd.read_parquet(tmp_path / "killed" / "power.parquet"))
    finally:
        # 3. clean shutdown: the surviving worker, then the scheduler, exit on SIGTERM
        codes = [_stop(w) for w in workers] + [_stop(scheduler)]
    assert workers[1].returncode is not None and scheduler.returncode is not None
    assert all(c in (0, -signal.SIGTERM, -signal.SIGKILL) for c in codes), codes
    assert codes[1] in (0, -signal.SIGTERM) and codes[2] in (0, -signal.SIGTERM), codes
    with socket.socket() as s:  # nothing listens on the scheduler's port any more
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine
        s.bind(("127.0.0.1", port))
