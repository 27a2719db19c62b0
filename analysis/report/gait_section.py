"""The "Gait analysis" section of the case report (Markdown), or nothing without gait data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.data.codebook import load_codebook
from analysis.gait.importer import import_c3d
from analysis.gait.norms import read_norms, select_norms
from analysis.report.escape import Markdown, markdown_literal, markdown_prose
from analysis.report.labels import measure_label, side_word, visit_labels

_ROWS = [("knee_flex_ic", "Knee flexion at initial contact (°)"),
         ("knee_flex_lr", "Peak knee flexion, loading response (°)"),
         ("knee_flex_swing_peak", "Peak knee flexion, swing (°)"),
         ("gait_lab_speed", "Walking speed (m/s)"),
         ("cadence", "Cadence (steps/min)"),
         ("stride_length", "Stride length (m)"),
         ("stance_pct", "Stance (% of cycle)"),
         ("gps", "Gait Profile Score (°)")]


@dataclass
class GaitData:
    """What the case report shows of the motion-lab data of one patient (see :func:`gait_data`)."""

    visits: list[str]
    curves: pd.DataFrame
    cycles: pd.DataFrame
    observations: pd.DataFrame
    norms: pd.DataFrame | None
    profile: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _trial_visit(path: Path) -> str:
    return path.name.split("_trial")[0]


def gait_data(gait_dir: str | Path, *, patient_id: str,
              visits: list[str] | None = None) -> GaitData | None:
    """Import every ``<visit>_trial*.c3d`` file of ``gait_dir`` (None when there is none).

    Norms are used when ``norms.parquet`` lies beside the files (speed-matched per visit when
    they carry speed classes); ``profile`` is then the Movement Analysis Profile of each visit.

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> gd = gait_data(EXAMPLES / "case_report" / "gait", patient_id="P01")
    >>> gd.visits, sorted(gd.profile["visit"].unique())
    (['bl_d5', 'post_m3'], ['bl_d5', 'post_m3'])
    >>> gait_data(EXAMPLES / "case_report", patient_id="P01") is None
    True
    """
    folder = Path(gait_dir)
    files = sorted(folder.glob("*.c3d")) if folder.is_dir() else []
    if not files:
        return None
    found = list(dict.fromkeys(_trial_visit(f) for f in files))
    visits = visits or found
    norms_path = folder / "norms.parquet"
    norms = read_norms(norms_path) if norms_path.is_file() else None
    parts, label = [], visit_labels()
    notes: list[str] = []
    norm_rows = None
    for visit in visits:
        trials = [f for f in files if _trial_visit(f) == visit]
        imp = import_c3d(trials, patient_id=patient_id, visit=visit, norms=norms)
        parts.append(imp)
        notes += [f"{label(visit)}: {n}" for n in imp.notes]
    if norms is not None:
        speed = pd.concat([p.observations for p in parts])
        speed = speed.loc[speed["measure"] == "gait_lab_speed", "value"]
        norm_rows, _ = select_norms(norms, speed=float(speed.mean()) if len(speed) else None)
    curves = pd.concat([p.curves for p in parts], ignore_index=True)
    obs = pd.concat([p.observations for p in parts], ignore_index=True)
    profile = obs[obs["measure"].str.startswith(("gvs_", "gps"))][
        ["visit", "measure", "side", "value"]].reset_index(drop=True)
    return GaitData(visits=list(visits), curves=curves,
                    cycles=pd.concat([p.cycles for p in parts], ignore_index=True),
                    observations=obs, norms=norm_rows, profile=profile, notes=notes)


def _clinical_note(note: str, codebook: Any) -> str:
    """A note of the importer with measure keys replaced by their codebook labels."""
    def swap(m: re.Match) -> str:
        key = m.group(0)
        return measure_label(codebook, key) if key in codebook else key.replace("_", " ")

    return re.sub(r"\b[a-z]+_[a-z0-9_]+\b|\bgps\b", swap, note)


def gait_section(gait_dir: str | Path, *, patient_id: str, visits: list[str] | None = None,
                 data: GaitData | None = None, cite: str = "", heading: str = "Gait analysis",
                 level: int = 2) -> Markdown:
    """Markdown of a "Gait analysis" section from ``<visit>_trial*.c3d`` files in ``gait_dir``.

    Returns ``""`` when the folder holds no C3D file. Norms are used when ``norms.parquet`` lies
    beside the files. Values are means over the included gait cycles (per side when sided).
    ``data`` (from :func:`gait_data`) saves reading the files again; ``cite`` (a sentence
    citing the figures) ends the first paragraph; ``heading`` and ``level`` give the section's
    title. Text from the files (visit labels, notes) passes the boundary of
    :mod:`analysis.report.escape`.

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> md = gait_section(EXAMPLES / "case_report" / "gait", patient_id="P01")
    >>> md.splitlines()[0]
    '## Gait analysis'
    >>> gait_section(EXAMPLES / "case_report", patient_id="P01")
    ''
    """
    gd = data if data is not None else gait_data(gait_dir, patient_id=patient_id, visits=visits)
    if gd is None:
        return ""
    visits, norms, notes, label = gd.visits, gd.norms, gd.notes, visit_labels()
    table = {v: gd.observations[gd.observations["visit"] == v].set_index(["measure", "side"])["value"]
             for v in visits}
    lines = [f"{'#' * level} {markdown_literal(heading)}", "",
             markdown_prose("Instrumented gait analysis (C3D files, Plug-in Gait angles); values "
                            "are means over the included gait cycles (foot strike to foot "
                            "strike of the same side)." + (f" {cite.strip()}" if cite.strip() else "")),
             "",
             markdown_prose("Every value below is from the gait laboratory (C3D files); a "
                            "measure also on the clinical sheet is shown with that source in "
                            "the outcomes table, and the two are never mixed (see the methods)."),
             "",
             "| Measure (gait lab, C3D) | Side | " + " | ".join(markdown_literal(label(v)) for v in visits) + " |",
             "|---|---|" + "---:|" * len(visits)]
    for key, text in _ROWS:
        sides = sorted({s for v in visits for (m, s) in table[v].index if m == key})
        for side in sides:
            cells = []
            for v in visits:
                value = table[v].get((key, side))
                cells.append("" if value is None or pd.isna(value) else f"{value:.2f}")
            lines.append(f"| {markdown_literal(text)} | {markdown_literal(side_word(side) or 'both')} | "
                         + " | ".join(cells) + " |")
    if norms is None:
        lines += ["", "No normative curves were supplied: GVS and GPS are not computed."]
    if notes:
        book = load_codebook()
        lines += ["", markdown_prose("Notes: " + "; ".join(sorted({_clinical_note(n, book)
                                                                  for n in notes})) + ".")]
    return Markdown("\n".join(lines) + "\n")
