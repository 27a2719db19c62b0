"""Text from the data never reaches the terminal as control sequences.

A measure name, a column header, a note or a file name may hold a terminal escape sequence (an
OSC that retitles the window, ``ESC ] 0 ; ... BEL``; a CSI that clears the screen, ``ESC [ 2 J``,
or its one-character form U+009B). ``itb validate`` and ``itb analyze``, run as the user runs
them, print such text as ``<U+001B>`` (:func:`analysis.text.visible`): on stdout and stderr, in
errors, log lines and the paths of written files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OSC = "\x1b]0;pwned\x07"
CSI = "\x1b[2J"
C1_CSI = "\x9b2J"
HEADER = "patient_id,visit,measure,value,phase,day,dose_ug_day,side,unit,note"
ROWS = ["P01,baseline,tug,15.2,baseline,-3,0,,s,",
        f"P01,post_m6,tug,11.8,post_implant,180,108,,s,walked {CSI}well{C1_CSI}",
        "P02,baseline,tug,18.0,baseline,-2,0,,s,",
        f"P02,post_m6,tug,15.5,post_implant,182,90,,s,{OSC}"]


def _folder(tmp_path: Path, header: str, rows: list[str]) -> Path:
    """A dataset folder whose own name holds a CSI sequence."""
    root = tmp_path / f"study{CSI}"
    root.mkdir()
    (root / "observations.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return root


CASES = {
    # valid data: progress lines and written paths name the folder
    "valid": (lambda d: _folder(d, HEADER, ROWS), 0, "study<U+001B>[2J"),
    "measure": (lambda d: _folder(d, HEADER, [*ROWS, f"P01,post_m6,gait{OSC}speed,1.0,"
                                             "post_implant,180,108,,m/s,"]),
                1, "gait<U+001B>]0;pwned<U+0007>speed"),
    "header": (lambda d: _folder(d, HEADER.replace(",note", f",DOB{OSC}"), ROWS),
               1, "column 'DOB<U+001B>]0;pwned<U+0007>'"),
}


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITB_")}
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True,
                          cwd=cwd, env={**env, "PYTHONPATH": str(ROOT)}, check=False)


@pytest.mark.parametrize("command", ["validate", "analyze"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_escape_sequences_from_the_data_are_shown_not_sent(tmp_path, case, command):
    build, status, shown = CASES[case]
    data = build(tmp_path)
    before = (data / "observations.csv").read_bytes()
    extra = ["--out", str(data / "out"), "--no-cache"] if command == "analyze" else ["-v"]
    proc = _run(command, str(data), *extra, cwd=tmp_path)
    both = proc.stdout + proc.stderr
    assert proc.returncode == status, both.decode("utf-8", "replace")
    for byte in (b"\x1b", b"\x07", "\x9b".encode()):
        assert byte not in both, (byte, both)
    text = both.decode("utf-8")
    assert shown in text and "Traceback" not in text
    assert (data / "observations.csv").read_bytes() == before
    if command == "analyze":
        assert (data / "out" / "results.csv").exists() == (status == 0)
        if status == 0:  # the written files are named, with the folder shown
            assert f"study<U+001B>[2J{os.sep}out{os.sep}results.csv" in proc.stdout.decode()


def test_a_warning_naming_a_hostile_path_is_one_visible_log_line(tmp_path):
    data = _folder(tmp_path, HEADER, ROWS)
    blocked = tmp_path / f"cache{OSC}"
    blocked.write_text("a file where the cache directory should be")
    proc = _run("analyze", str(data), "--out", str(tmp_path / "out"), "--cache-dir", str(blocked),
                cwd=tmp_path)
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 0, err
    assert b"\x1b" not in proc.stderr and b"\x07" not in proc.stderr
    warning = [ln for ln in err.splitlines() if "not cached" in ln]
    assert len(warning) == 1 and warning[0].startswith("itb: warning: "), err
    assert "cache<U+001B>]0;pwned<U+0007>" in warning[0]
