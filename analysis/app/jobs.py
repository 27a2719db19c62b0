"""Runs started from the page: the ``itb`` command line itself, in a child process.

The app does not re-implement ``itb analyze``, ``itb report`` or ``itb reproduce``: it runs them
(``python -m analysis ...``, the same interpreter and package), so the outputs, manifest and
``results.csv`` are those of the command line byte for byte. A child process also keeps the
server answering while the analysis uses the processor, and is stopped cleanly with the server.

Every run has a folder ``runs/<id>/`` holding ``status.json`` (written atomically at each step),
``log.txt`` (what the command printed) and its outputs, so reloading the page, or restarting
the app, never loses a run. One run at a time: a second is refused with a message, as the
command line refuses a second run on the same output folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from analysis.errors import ITBError
from analysis.paths import PACKAGE_ROOT

STATUS = "status.json"
LOG = "log.txt"
#: Where each kind of run writes its outputs, inside its run folder.
OUT = {"analyze": "results", "report": "report"}


class RunBusyError(ITBError):
    """A run is going: a second one is refused."""


@dataclass(frozen=True)
class Run:
    """What the page shows of one run (``status.json``)."""

    id: str
    kind: str                       # analyze | report | reproduce
    dataset: str
    command: tuple[str, ...]
    state: str = "running"          # running | done | failed | interrupted
    step: int = 0
    steps: int = 1
    message: str = "starting"
    started: float = field(default_factory=time.time)
    finished: float | None = None
    returncode: int | None = None
    pid: int | None = None
    of_run: str | None = None       # reproduce: the run it checks

    @property
    def percent(self) -> int:
        return 100 if self.state == "done" else int(100 * self.step / max(self.steps, 1))


class Jobs:
    """Start, follow and list runs in ``runs_dir``.

    Examples
    --------
    >>> import tempfile
    >>> jobs = Jobs(Path(tempfile.mkdtemp()))
    >>> jobs.list()
    []
    """

    def __init__(self, runs_dir: Path) -> None:
        self.dir = Path(runs_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._active: str | None = None
        for run in self.list():  # a run whose process is gone (the app was stopped) stopped
            if run.state == "running" and not _alive(run.pid):
                self._save(replace(run, state="interrupted", finished=time.time(),
                                   message="interrupted: the app was stopped during the run"))

    # ------------------------------------------------------------------ reading
    def get(self, run_id: str) -> Run | None:
        if not run_id.isalnum():
            return None
        path = self.dir / run_id / STATUS
        if not path.is_file():
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["command"] = tuple(raw["command"])
        return Run(**raw)

    def list(self) -> list[Run]:
        runs = [self.get(p.name) for p in self.dir.iterdir() if p.is_dir()]
        return sorted((r for r in runs if r), key=lambda r: r.started, reverse=True)

    def folder(self, run_id: str) -> Path:
        return self.dir / run_id

    def log(self, run_id: str) -> str:
        path = self.dir / run_id / LOG
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""

    def running(self) -> Run | None:
        return next((r for r in self.list() if r.state == "running" and _alive(r.pid)), None)

    # ------------------------------------------------------------------ starting
    def start(self, kind: str, args: list[str], *, dataset: str, steps: int,
              of_run: str | None = None) -> Run:
        """Start ``itb <kind> ARGS`` (``{out}`` in ARGS is the run's output folder).

        Raises RunBusyError when a run is going (in this app or another on the same folder).
        """
        if not self._lock.acquire(blocking=False):
            raise RunBusyError(_BUSY)
        try:
            going = self.running()
            if going is not None:
                raise RunBusyError(f"{_BUSY} (run {going.id}: {going.message})")
            run_id = time.strftime("%Y%m%d%H%M%S") + f"{int(time.time() * 1000) % 1000:03d}"
            folder = self.dir / run_id
            folder.mkdir()
            out = str(folder / OUT.get(kind, "out"))
            command = ("itb", kind, *[a.replace("{out}", out) for a in args])
            run = Run(run_id, kind, dataset, command, steps=steps, of_run=of_run)
            log = open(folder / LOG, "w", encoding="utf-8")  # noqa: SIM115 - closed by _follow
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                [str(PACKAGE_ROOT.parent), *filter(None, [os.environ.get("PYTHONPATH")])])}
            proc = subprocess.Popen([sys.executable, "-m", "analysis", *command[1:]],
                                    cwd=folder, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, encoding="utf-8", errors="replace")
            run = replace(run, pid=proc.pid)
            self._save(run)
            self._active = run_id
        except BaseException:
            self._lock.release()
            raise
        threading.Thread(target=self._follow, args=(run, proc, log), daemon=True).start()
        return run

    def _follow(self, run: Run, proc: subprocess.Popen, log) -> None:
        try:
            with log:
                for line in proc.stdout:
                    log.write(line)
                    log.flush()
                    step, message = _progress(run, line.rstrip("\n"))
                    if step != run.step or message != run.message:
                        run = replace(run, step=step, message=message)
                        self._save(run)
            code = proc.wait()
            state = "done" if code == 0 else "failed"
            message = "finished" if code == 0 else _last_problem(self.log(run.id))
            self._save(replace(run, state=state, returncode=code, finished=time.time(),
                               step=run.steps if code == 0 else run.step, message=message))
        finally:
            self._active = None
            self._lock.release()

    def stop_all(self) -> None:
        """Stop a run still going (the app is closing): it ends through its clean-up."""
        run = self.running()
        if run is not None and run.pid:
            try:
                os.kill(run.pid, 15)
            except OSError:
                pass

    def _save(self, run: Run) -> None:
        path = self.dir / run.id / STATUS
        tmp = path.with_name(f".{STATUS}.tmp")
        tmp.write_text(json.dumps(asdict(run), indent=1), encoding="utf-8")
        os.replace(tmp, path)


_BUSY = ("a run is going: wait for it to finish (its progress is on the Run page); one run at "
         "a time, as on the command line")


def _progress(run: Run, line: str) -> tuple[int, str]:
    """The step reached after one printed line: log lines ("itb: ...") name the step, written
    files (absolute paths) complete one."""
    step, message = run.step, run.message
    if line.startswith("itb: "):
        message = line[5:][:200]
        if message.startswith(("analysing", "rendering", "validating")):
            step = min(run.steps - 1, step + 1) if message.startswith("rendering") else step
    elif line.startswith("/") and Path(line).suffix in (".csv", ".html", ".pdf", ".docx"):
        step = min(run.steps - 1, step + 1)
        message = f"written {Path(line).name}"
    return step, message


def _last_problem(log: str) -> str:
    lines = [ln for ln in log.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:") or "NOT valid" in ln
              or ln.startswith("NOT reproduced")]
    return (errors[-1] if errors else (lines[-1] if lines else "failed"))[:300]


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a finished child not yet reaped is a zombie: count it as gone
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True
