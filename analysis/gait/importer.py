"""Import the C3D files of one patient visit: curves, per-cycle scalars, tidy observations.

Outputs of :func:`write_import` (``itb gait import``), all free of text from the C3D files (the
trials are numbered 1, 2, ... in the order given; file names are not copied):

``curves.parquet``
    tidy long form, columns ``patient_id, visit, side, trial, cycle, variable, pct, value``
    (degrees, 101 points per cycle).
``cycles.csv``
    one row per cycle found: ``patient_id, visit, trial, side, cycle, included, note`` and the
    cycle's scalar measures as columns (see :mod:`analysis.gait.scalars`).
``observations.csv``
    the package's tidy format (``patient_id, visit, phase, day, measure, side, value, unit,
    n_cycles``): per visit, the mean over the included cycles of every scalar (per side for
    sided measures, pooled otherwise) and, with norms, the GVS and GPS. ``itb validate``
    accepts it.
``import_notes.txt``
    what was excluded, assumed or not computed.
``gait_results.csv`` (``itb gait import``)
    rows of the results table (:mod:`analysis.gait.results`): GPS, GVS, pointwise z against
    the normative band, Crawford-Howell of each scalar against the scalar norms.

Nothing is written unless every file was read: the outputs go to temporary files renamed at
the end, so a failed import leaves no half-written folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InvalidInputError
from analysis.gait.c3d import read_c3d
from analysis.gait.cycles import find_cycles, gait_cycles
from analysis.gait.indices import movement_analysis_profile
from analysis.gait.norms import norms_from_controls, select_norms
from analysis.gait.scalars import SCALARS, SIDED, cycle_scalars
from analysis.paths import check_inside
from analysis.results import write_results_csv
from analysis.vocabulary import PHASES, check_choice

CURVE_COLUMNS = ["patient_id", "visit", "side", "trial", "cycle", "variable", "pct", "value"]
OBS_COLUMNS = ["patient_id", "visit", "phase", "day", "measure", "side", "value", "unit", "n_cycles"]
_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,19}$")
_VISIT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


@dataclass
class GaitImport:
    """Everything :func:`import_c3d` computed for one patient visit (see the module doc)."""

    curves: pd.DataFrame
    cycles: pd.DataFrame
    observations: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def import_c3d(files: Sequence[str | Path], *, patient_id: str, visit: str,
               phase: str | None = None, day: float | None = None,
               norms: pd.DataFrame | None = None, subject: str | None = None) -> GaitImport:
    """Read the C3D files of one visit and compute curves, cycle scalars and observations.

    Parameters
    ----------
    files : sequence of path
        C3D files of the visit (trials), numbered 1, 2, ... in this order.
    patient_id : str
        Pseudonymous code (``P01``): letters, digits, ``_`` or ``-``, starting with a letter.
    visit : str
        Visit label (``baseline``, ``post_m3``).
    phase : str, optional
        ``baseline``, ``test_infusion`` or ``post_implant`` (else inferred by ``itb validate``).
    day : float, optional
        Days relative to the start of the test infusion.
    norms : DataFrame, optional
        A normative table (:mod:`analysis.gait.norms`); adds GVS and GPS rows.
    subject : str, optional
        The subject to read from files holding several (``--subject``; see
        :func:`analysis.gait.c3d.read_c3d`). It is never written to an output.

    Returns
    -------
    GaitImport

    Examples
    --------
    >>> from analysis.gait.simulate import example_trial_file
    >>> imp = import_c3d([example_trial_file()], patient_id="P01", visit="baseline")
    >>> sorted(imp.curves["side"].unique()), float(imp.curves["pct"].max())
    (['L', 'R'], 100.0)
    """
    if not files:
        raise InvalidInputError("no C3D file given")
    if not _ID_RE.match(str(patient_id)) or re.search(r"\d{5,}", str(patient_id)):
        raise InvalidInputError(
            f"--patient: {patient_id!r} is not a pseudonymous code; use letters and digits "
            "such as P01 (no names, record numbers or dates)")
    if not _VISIT_RE.match(str(visit)):
        raise InvalidInputError(f"--visit: {visit!r} is not a visit label such as baseline or "
                                "post_m3 (letters, digits, _ . -)")
    if phase is not None:
        check_choice(phase, PHASES, name="--phase")
    curves, cycles, scalars, notes = [], [], [], []
    for trial_no, path in enumerate(files, start=1):
        trial = read_c3d(path, subject=subject)
        notes += [f"trial {trial_no}: {n}" for n in trial.notes]
        found = find_cycles(trial)
        c, table = gait_cycles(trial)
        s, snotes = cycle_scalars(trial, found)
        notes += [f"trial {trial_no}: {n}" for n in snotes]
        notes += [f"trial {trial_no}: cycle {r.side}{r.cycle} {r.note}"
                  for r in table.itertuples() if not r.included]
        for frame in (c, table, s):
            frame.insert(0, "trial", trial_no)
        curves.append(c)
        cycles.append(table)
        scalars.append(s)
    curves_df = pd.concat(curves, ignore_index=True)
    if curves_df.empty:
        raise InvalidInputError(f"{', '.join(Path(f).name for f in files)}: no complete gait "
                                "cycle without gaps: nothing to import")
    curves_df.insert(0, "patient_id", patient_id)
    curves_df.insert(1, "visit", visit)
    curves_df = curves_df[CURVE_COLUMNS]
    sc = pd.concat(scalars, ignore_index=True)
    fallback = sc[sc["note"].str.startswith("fallback")]
    if len(fallback):
        notes.append(f"knee_flex_lr: {len(fallback)} cycle(s) without an opposite foot off use "
                     "the 0-20 % window (flagged fallback)")
    cyc = pd.concat(cycles, ignore_index=True)
    wide = sc.pivot_table(index=["trial", "side", "cycle"], columns="measure", values="value")
    cyc = cyc.merge(wide.reset_index(), on=["trial", "side", "cycle"], how="left")
    cyc.insert(0, "patient_id", patient_id)
    cyc.insert(1, "visit", visit)
    cyc = cyc.drop(columns=["start", "end", "foot_off", "opposite_foot_off",
                            "opposite_foot_strike"])
    obs = _visit_observations(sc, patient_id=patient_id, visit=visit)
    if norms is not None:
        speed = obs.loc[obs["measure"] == "gait_lab_speed", "value"]
        rows, note = select_norms(norms, speed=float(speed.iloc[0]) if len(speed) else None)
        notes.append(note)
        profile = movement_analysis_profile(curves_df, rows)
        profile = profile.assign(patient_id=patient_id, unit="deg")
        obs = pd.concat([obs, profile[["patient_id", "visit", "measure", "side", "value", "unit",
                                       "n_cycles"]]], ignore_index=True)
        notes += [f"{r.measure} {r.side}: {r.note}".strip() for r in profile.itertuples() if r.note]
    obs["phase"] = phase if phase is not None else ""
    obs["day"] = np.nan if day is None else float(day)
    return GaitImport(curves=curves_df, cycles=cyc, observations=obs[OBS_COLUMNS], notes=notes)


def write_import(result: GaitImport, out_dir: str | Path, *,
                 results: pd.DataFrame | None = None) -> list[Path]:
    """Write ``curves.parquet``, ``cycles.csv``, ``observations.csv`` and ``import_notes.txt``
    (and ``gait_results.csv`` when ``results``, rows of the results table, are given: text
    cells a spreadsheet would run as formulas neutralised).

    Every file is written to a temporary name first and renamed when all are written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    obs = result.observations.copy()
    obs["value"] = obs["value"].round(4)
    cyc = result.cycles.copy()
    numeric = [c for c in cyc.columns if c in SCALARS]
    cyc[numeric] = cyc[numeric].round(4)
    jobs = {
        "curves.parquet": lambda p: result.curves.to_parquet(p, index=False),
        "cycles.csv": lambda p: cyc.to_csv(p, index=False, lineterminator="\n"),
        "observations.csv": lambda p: obs.to_csv(p, index=False, lineterminator="\n"),
        "import_notes.txt": lambda p: p.write_text(
            "\n".join(result.notes or ["no notes: every cycle included"]) + "\n", encoding="utf-8"),
    }
    if results is not None:
        jobs["gait_results.csv"] = lambda p: write_results_csv(results, p)
    temps = []
    try:
        for name, write in jobs.items():
            tmp = out / f".{name}.tmp"
            write(tmp)
            temps.append((tmp, out / name))
    except BaseException:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, final in temps:
        os.replace(tmp, final)
    return [final for _, final in temps]


def build_norms(controls_dir: str | Path, *, speed_bins: Sequence[float] = (),
                follow_links: bool = False) -> pd.DataFrame:
    """Normative table from a folder of control C3D files (format: :mod:`analysis.gait.norms`).

    Each sub-folder is one control (all its ``.c3d`` files); each ``.c3d`` file directly in the
    folder is one control. Controls are numbered, never named. A file that a symbolic link leads
    out of ``controls_dir`` is refused (:func:`analysis.paths.check_inside`) unless
    ``follow_links``.

    Examples
    --------
    >>> import tempfile, shutil
    >>> from analysis.gait.simulate import example_trial_file
    >>> d = Path(tempfile.mkdtemp())
    >>> for i in range(3):
    ...     _ = shutil.copy(example_trial_file(), d / f"c{i}.c3d")
    >>> n = build_norms(d)
    >>> int(n["n"].max()), sorted(n["speed_class"].unique())
    (3, ['all'])
    """
    root = Path(controls_dir)
    if not root.is_dir():
        raise InvalidInputError(f"{root}: controls folder not found")
    groups = [[p] for p in sorted(root.glob("*.c3d"), key=lambda p: p.name)]
    groups += [sorted(d.rglob("*.c3d")) for d in sorted(root.iterdir()) if d.is_dir()]
    groups = [g for g in groups if g]
    check_inside([f for g in groups for f in g], root, follow_links=follow_links)
    if len(groups) < 2:
        raise InvalidInputError(f"{root}: normative data need at least 2 controls (C3D files or "
                                f"sub-folders); found {len(groups)}")
    curves, scalars = [], []
    for k, files in enumerate(groups, start=1):
        imp = import_c3d(files, patient_id=f"C{k:03d}", visit="control")
        curves.append(imp.curves.assign(control=k))
        scalars.append(imp.observations.assign(control=k))
    return norms_from_controls(pd.concat(curves), pd.concat(scalars), speed_bins=speed_bins)


def _visit_observations(sc: pd.DataFrame, *, patient_id: str, visit: str) -> pd.DataFrame:
    rows = []
    for measure in SCALARS:
        sub = sc[sc["measure"] == measure]
        if sub.empty:
            continue
        groups = sub.groupby("side", sort=True) if measure in SIDED else [("", sub)]
        for side, g in groups:
            rows.append({"patient_id": patient_id, "visit": visit, "measure": measure,
                         "side": side, "value": float(g["value"].mean()),
                         "unit": SCALARS[measure], "n_cycles": len(g)})
    return pd.DataFrame(rows, columns=["patient_id", "visit", "measure", "side", "value", "unit",
                                       "n_cycles"])
