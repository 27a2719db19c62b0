"""The reproducibility appendix of the reports: software, data files and configuration of
a run (``kit.reproducibility_tables``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.report.formatting import (
    MISSING,
)

__all__ = ["reproducibility_tables"]


def reproducibility_tables(run) -> dict[str, pd.DataFrame]:
    """The tables of a reproducibility appendix, in words (no configuration keys or paths).

    ``inputs`` (file, SHA-256, bytes: file names relative to the dataset folder), ``versions``
    (package, version), ``run`` (seed, git commit, uncommitted changes, rows, how to reproduce)
    and ``config`` (setting, value: measures by their codebook labels, phases and visits in
    words), from the run's manifest. The exact command and paths stay in ``manifest.json``.
    """
    from analysis.report.labels import measure_label, phase_word, visit_labels

    m = run.manifest
    inputs = pd.DataFrame(m.get("inputs", []), columns=["path", "sha256", "bytes"])
    parents = [Path(str(x)).parent for x in inputs["path"]]
    common = Path(*_common_parts(parents)) if parents else Path()
    inputs = pd.DataFrame({"file": [Path(str(x)).relative_to(common).as_posix()
                                    if Path(str(x)).is_relative_to(common) else Path(str(x)).name
                                    for x in inputs["path"]],
                           "sha256": inputs["sha256"], "bytes": inputs["bytes"]})
    versions = pd.DataFrame(sorted(m.get("versions", {}).items()), columns=["package", "version"])
    git = m.get("git", {}) or {}
    dirty = git.get("dirty")
    facts = [
        ("seed", str(m.get("seed", MISSING))),
        ("git commit", git.get("commit") or "none recorded (not a git checkout, or no commit yet)"),
        ("uncommitted changes", MISSING if dirty is None else ("yes" if dirty else "no")),
        ("results rows", str(m.get("n_rows", len(run.results)))),
        ("to reproduce", "itb reproduce on the output folder (the command and paths are in "
                         "manifest.json)"),
    ]
    book = getattr(run, "codebook", None)
    visit = visit_labels(book)

    def measures(keys: Any) -> str:
        keys = [keys] if isinstance(keys, str) else list(keys or [])
        return "; ".join(measure_label(book, str(k)) for k in keys) or "none"

    cfg = dict(m.get("config") or {})
    rows: list[tuple[str, str]] = []
    for key, label, show in _CONFIG_ROWS:
        if key not in cfg:
            continue
        value = cfg[key]
        if show == "measures":
            text = measures(value) if value else ("all in the data" if key == "measures" else "none")
        elif show == "families":
            text = " | ".join(f"{name}: {measures(keys)}" for name, keys in (value or {}).items()) \
                or "none declared"
        elif show == "phase":
            text = phase_word(str(value))
        elif show == "visit":
            text = visit(str(value)) if value else "inferred"
        elif show == "controls":
            text = " | ".join(f"{measures(k)}: mean {v.get('mean')}, SD {v.get('sd')}, n {v.get('n')}"
                              + (f" ({v['source']})" if v.get("source") else "")
                              for k, v in (value or {}).items()) or "none"
        elif show == "dissociations":
            text = " | ".join(f"{measures(d.get('measure_x'))} against {measures(d.get('measure_y'))},"
                              f" r = {d.get('r')}" for d in (value or [])) or "none"
        elif show == "file":
            text = Path(str(value)).name if value and value != "defaults" else "none (defaults)"
        elif show == "df":
            text = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger"}.get(
                str(value), str(value))
        elif show == "yesno":
            text = "yes" if value else "no"
        else:
            text = _config_value(value)
        rows.append((label, text))
    config = pd.DataFrame(rows, columns=["setting", "value"])
    return {"inputs": inputs, "versions": versions,
            "run": pd.DataFrame(facts, columns=["item", "value"]), "config": config}


#: Study-configuration keys as the appendix shows them: (key, words, how to show the value).
_CONFIG_ROWS = [
    ("title", "title", "text"),
    ("source", "configuration file", "file"),
    ("primary_outcome", "primary outcome", "measures"),
    ("families", "families of outcomes (Holm adjustment)", "families"),
    ("measures", "measures analysed", "measures"),
    ("reference_visit", "reference visit", "visit"),
    ("reference_visit_reason", "reference visit chosen as", "text"),
    ("baseline", "baseline value from several baseline observations", "text"),
    ("baseline_phase", "baseline phase", "phase"),
    ("treatment_phase", "treatment phase of the single-case analyses", "phase"),
    ("df_method", "mixed-model denominator degrees of freedom", "df"),
    ("random_slope", "random slope over days in the mixed model", "yesno"),
    ("covariates", "mixed-model covariates", "text"),
    ("bootstrap", "bootstrap intervals", "yesno"),
    ("n_boot", "bootstrap resamples", "text"),
    ("seed", "seed", "text"),
    ("window_spasticity", "therapeutic window: spasticity measures", "measures"),
    ("window_strength", "therapeutic window: strength measures", "measures"),
    ("window_spasticity_threshold", "therapeutic window: spasticity threshold", "text"),
    ("window_strength_mdc", "therapeutic window: strength MDC", "text"),
    ("controls", "control samples for one-patient tests", "controls"),
    ("dissociations", "dissociations tested (RSDT)", "dissociations"),
]


def _common_parts(paths: list[Path]) -> tuple[str, ...]:
    parts = [p.parts for p in paths]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return tuple(common) or (".",)


def _config_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_config_value(v)}" for k, v in value.items()) or MISSING
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or MISSING
    return MISSING if value is None else str(value)
