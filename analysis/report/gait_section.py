"""The "Gait analysis" section of the case report (Markdown), or nothing without gait data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.gait.importer import import_c3d
from analysis.gait.norms import read_norms
from analysis.report.labels import side_word, visit_labels

_ROWS = [("knee_flex_ic", "Knee flexion at initial contact (°)"),
         ("knee_flex_lr", "Peak knee flexion, loading response (°)"),
         ("knee_flex_swing_peak", "Peak knee flexion, swing (°)"),
         ("gait_lab_speed", "Walking speed (m/s)"),
         ("cadence", "Cadence (steps/min)"),
         ("stride_length", "Stride length (m)"),
         ("stance_pct", "Stance (% of cycle)"),
         ("gps", "Gait Profile Score (°)")]


def gait_section(gait_dir: str | Path, *, patient_id: str, visits: list[str] | None = None) -> str:
    """Markdown of a "Gait analysis" section from ``<visit>_trial*.c3d`` files in ``gait_dir``.

    Returns ``""`` when the folder holds no C3D file. Norms are used when ``norms.parquet`` lies
    beside the files. Values are means over the included gait cycles (per side when sided).

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> md = gait_section(EXAMPLES / "case_report" / "gait", patient_id="P01")
    >>> md.splitlines()[0]
    '## Gait analysis'
    >>> gait_section(EXAMPLES / "case_report", patient_id="P01")
    ''
    """
    folder = Path(gait_dir)
    files = sorted(folder.glob("*.c3d")) if folder.is_dir() else []
    if not files:
        return ""
    found = sorted({f.name.split("_trial")[0] for f in files}, key=lambda v: files.index(
        next(f for f in files if f.name.startswith(v))))
    visits = visits or found
    norms_path = folder / "norms.parquet"
    norms = read_norms(norms_path) if norms_path.is_file() else None
    table, notes, label = {}, [], visit_labels()
    for visit in visits:
        trials = [f for f in files if f.name.split("_trial")[0] == visit]
        imp = import_c3d(trials, patient_id=patient_id, visit=visit, norms=norms)
        table[visit] = imp.observations.set_index(["measure", "side"])["value"]
        notes += [f"{label(visit)}: {n}" for n in imp.notes]
    lines = ["## Gait analysis", "",
             "Instrumented gait analysis (C3D files, Plug-in Gait angles); values are means over "
             "the included gait cycles (foot strike to foot strike of the same side).", "",
             "| Measure | Side | " + " | ".join(label(v) for v in visits) + " |",
             "|---|---|" + "---:|" * len(visits)]
    for key, text in _ROWS:
        sides = sorted({s for v in visits for (m, s) in table[v].index if m == key})
        for side in sides:
            cells = []
            for v in visits:
                value = table[v].get((key, side))
                cells.append("" if value is None or pd.isna(value) else f"{value:.2f}")
            lines.append(f"| {text} | {side_word(side) or 'both'} | " + " | ".join(cells) + " |")
    if norms is None:
        lines += ["", "No normative curves were supplied: GVS and GPS are not computed."]
    if notes:
        lines += ["", "Notes: " + "; ".join(sorted(set(notes))) + "."]
    return "\n".join(lines) + "\n"
