"""The study settings form: ``study.yaml`` as fields, checked as the command line checks it.

The form's text is turned into the configuration mapping, read by
:meth:`analysis.data.config.StudyConfig.from_mapping` (unknown values refused with a
did-you-mean) and :func:`analysis.data.config.check_config` against the codebook and the data
(unknown or absent measures, a reference visit that is not a visit, each with a did-you-mean):
the same two checks ``itb analyze`` makes, so a settings file saved here is one the command line
accepts. Keys of an existing ``study.yaml`` that the form does not show are kept.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from analysis.data.yaml_safe import load_yaml
from analysis.errors import ConfigError

#: Form fields, in page order.
FIELDS = ("title", "primary_outcome", "families", "reference_visit", "df_method", "controls")


def read_settings(path: Path) -> dict[str, Any]:
    """The raw mapping of ``study.yaml`` (empty when absent)."""
    if not path.is_file():
        return {}
    raw = load_yaml(path, error=ConfigError, what="configuration file")
    return dict(raw) if isinstance(raw, Mapping) else {}


def form_values(raw: Mapping[str, Any]) -> dict[str, str]:
    """The form's text for a configuration mapping.

    Examples
    --------
    >>> form_values({"families": {"gait": ["tug", "gait_speed"]}, "df_method": "kenward-roger"})["families"]
    'gait: tug, gait_speed'
    """
    families = raw.get("families") or {}
    controls = (raw.get("single_case") or {}).get("controls") or {}
    return {
        "title": str(raw.get("title", "") or ""),
        "primary_outcome": str(raw.get("primary_outcome", "") or ""),
        "families": "\n".join(f"{k}: {', '.join(map(str, v or []))}" for k, v in families.items()),
        "reference_visit": str(raw.get("reference_visit", "") or ""),
        "df_method": str(raw.get("df_method", "satterthwaite") or "satterthwaite"),
        "controls": "\n".join(
            f"{k}: {c.get('mean')}, {c.get('sd')}, {c.get('n')}"
            + (f", {c.get('source')}" if c.get("source") else "")
            for k, c in controls.items() if isinstance(c, Mapping)),
    }


def to_mapping(form: Mapping[str, str], base: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration mapping of the form's text over ``base`` (other keys kept).

    ``families``: one line ``name: measure, measure``; ``controls``: one line
    ``measure: mean, sd, n[, source]``. A line that cannot be read raises ConfigError naming it.

    Examples
    --------
    >>> to_mapping({"primary_outcome": "tug", "families": "gait: tug, gait_speed",
    ...             "controls": "gait_speed: 1.31, 0.11, 20, Bohannon 2011"}, {})["single_case"]
    {'controls': {'gait_speed': {'mean': 1.31, 'sd': 0.11, 'n': 20, 'source': 'Bohannon 2011'}}}
    """
    raw = dict(base)
    for key in ("title", "primary_outcome", "reference_visit", "df_method"):
        value = str(form.get(key, "") or "").strip()
        if value:
            raw[key] = value
        else:
            raw.pop(key, None)
    families: dict[str, list[str]] = {}
    for n, line in enumerate(_lines(form.get("families")), 1):
        name, sep, members = line.partition(":")
        if not sep or not name.strip():
            raise ConfigError(f"families, line {n} ({line!r}): write 'name: measure, measure'")
        families[name.strip()] = [m.strip() for m in members.split(",") if m.strip()]
    if families:
        raw["families"] = families
    else:
        raw.pop("families", None)
    controls: dict[str, dict[str, Any]] = {}
    for n, line in enumerate(_lines(form.get("controls")), 1):
        name, sep, rest = line.partition(":")
        parts = [p.strip() for p in rest.split(",", 3)]
        try:
            if not sep or len(parts) < 3:
                raise ValueError
            entry: dict[str, Any] = {"mean": float(parts[0]), "sd": float(parts[1]),
                                     "n": int(parts[2])}
        except ValueError:
            raise ConfigError(f"controls, line {n} ({line!r}): write 'measure: mean, sd, n' "
                              "(numbers; n a whole number), optionally ', source'") from None
        if len(parts) > 3 and parts[3]:
            entry["source"] = parts[3]
        controls[name.strip()] = entry
    single = dict(raw.get("single_case") or {})
    if controls:
        single["controls"] = controls
    else:
        single.pop("controls", None)
    if single:
        raw["single_case"] = single
    else:
        raw.pop("single_case", None)
    return raw


def check(raw: Mapping[str, Any], observations, codebook, *, source: str) -> None:
    """The command line's checks of a configuration (ConfigError listing every problem)."""
    from analysis.data.config import StudyConfig, check_config

    try:
        config = StudyConfig.from_mapping(raw, source=source)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{source}: a section has the wrong shape ({exc})") from None
    check_config(config, codebook, observations)


def write_settings(path: Path, raw: Mapping[str, Any]) -> Path:
    """Write the configuration as YAML, atomically (a failed write leaves the old file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    text = ("# Study settings, saved by the itb app (the same file `itb analyze --config` "
            "reads).\n" + yaml.safe_dump(dict(raw), sort_keys=False, allow_unicode=True))
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _lines(text: str | None) -> list[str]:
    return [ln.strip() for ln in str(text or "").splitlines() if ln.strip()]
