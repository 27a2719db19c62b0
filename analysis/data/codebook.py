"""The codebook: what each measure is, its unit, range, direction and published thresholds.

The canonical file is ``data/codebook.yaml`` (``analysis/data/codebook.yaml`` is a symlink to it,
so the package ships one source). Users add measures with their own YAML file of the same
format, ``load_codebook(extra=path)``. Every entry is checked when it is loaded; a bad entry
raises :class:`~analysis.errors.CodebookError` naming the file, the entry and the field.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.data.yaml_safe import load_yaml
from analysis.data.yaml_text import yaml_name
from analysis.errors import CodebookError
from analysis.vocabulary import DIRECTIONS as BETTER
from analysis.vocabulary import KINDS

#: The built-in codebook (a symlink to ``data/codebook.yaml`` in the source tree).
BUILTIN_PATH = Path(__file__).resolve().parent / "codebook.yaml"

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")
# number field -> the field that must say where it comes from
_SOURCE_OF = {
    "mcid": "mcid_source", "mdc": "mdc_source", "sem": "reliability_source",
    "reliability": "reliability_source", "sd_ref": "sd_ref_source",
    "norm_mean": "norm_source", "norm_sd": "norm_source", "norm_n": "norm_source",
    "mcid_pct": "mcid_pct_source", "mdc_pct": "mdc_pct_source",
}


@dataclass(frozen=True)
class Measure:
    """One measure of the codebook (see ``data/codebook.yaml`` for the meaning of fields).

    Examples
    --------
    >>> m = load_codebook().measure("mas_knee_ext")
    >>> m.code("1+"), m.level_of(1.5), m.sided
    (1.5, '1+', True)
    """

    key: str
    label: str
    unit: str
    kind: str
    minimum: float | None
    maximum: float | None
    levels: tuple[str, ...] | None
    codes: tuple[float, ...] | None
    better: str
    sided: bool
    mcid: float | None
    mcid_source: str
    mdc: float | None
    mdc_source: str
    sem: float | None
    reliability: float | None
    reliability_source: str
    sd_ref: float | None
    norm_mean: float | None
    norm_sd: float | None
    norm_n: int | None
    norm_source: str
    conversions: Mapping[str, float] = field(hash=False)
    source: str
    # additions to the contract (all optional)
    sd_ref_source: str = ""
    mcid_pct: float | None = None
    mcid_pct_source: str = ""
    mdc_pct: float | None = None
    mdc_pct_source: str = ""
    integer: bool = False
    aliases: Mapping[str, str] = field(default_factory=dict, hash=False)
    level_labels: tuple[str, ...] | None = None
    family: str = ""          # template key the measure was expanded from, e.g. "mas_{muscle_group}"
    origin: str = ""          # "built-in", or the user's file the entry came from

    def code(self, level: str) -> float:
        """Numeric code of an ordinal level or alias (``"1+"`` -> 1.5); KeyError if unknown."""
        if self.levels is None or self.codes is None:
            raise KeyError(level)
        text = self.aliases.get(level, level)
        if text not in self.levels:
            raise KeyError(level)
        return self.codes[self.levels.index(text)]

    def level_of(self, code: float) -> str:
        """Level label of a numeric code (``1.5`` -> ``"1+"``); KeyError if not a code."""
        for lev, c in zip(self.levels or (), self.codes or (), strict=False):
            if math.isclose(c, code):
                return lev
        raise KeyError(code)


class Codebook:
    """The measures known to the package (built-in plus the user's own).

    Examples
    --------
    >>> cb = load_codebook()
    >>> "gait_speed" in cb, cb.measure("tug").unit
    (True, 's')
    >>> cb.suggest("gait_sped")
    'gait_speed'
    >>> len([k for k in cb.keys() if k.startswith("mas_")])
    8
    """

    def __init__(self, measures: Mapping[str, Measure], *, columns: Mapping[str, Any] | None = None,
                 visit_aliases: Mapping[str, str] | None = None,
                 files: tuple[str, ...] = ()) -> None:
        self._measures = dict(measures)
        self.columns = dict(columns or {})
        self.visit_aliases = dict(visit_aliases or {})
        self.files = files

    def measure(self, key: str) -> Measure:
        """The measure called ``key``; CodebookError (naming the nearest key) if unknown."""
        try:
            return self._measures[key]
        except (KeyError, TypeError):
            hint = self.suggest(str(key))
            did = f"; did you mean '{hint}'?" if hint else ""
            raise CodebookError(
                f"unknown measure '{key}'{did} Known measures are listed by `itb dictionary`; "
                "add your own with a YAML file (load_codebook(extra=path))."
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self._measures

    def __iter__(self):
        return iter(self._measures)

    def __len__(self) -> int:
        return len(self._measures)

    def keys(self) -> list[str]:
        """Measure keys in codebook order."""
        return list(self._measures)

    def suggest(self, key: str) -> str | None:
        """Nearest known key (difflib ratio >= 0.6 after normalising case and spaces), or None."""
        norm = re.sub(r"[\s\-]+", "_", str(key).strip().lower())
        if norm in self._measures:
            return norm
        hits = difflib.get_close_matches(norm, self.keys(), n=1, cutoff=0.6)
        return hits[0] if hits else None

    def to_frame(self) -> pd.DataFrame:
        """One row per measure, every field as a column (levels and conversions as text)."""
        rows = []
        for m in self._measures.values():
            row = {}
            for f in fields(m):
                v = getattr(m, f.name)
                if isinstance(v, Mapping):
                    v = "; ".join(f"{k}={x:g}" if isinstance(x, float) else f"{k}={x}"
                                  for k, x in v.items())
                elif isinstance(v, tuple):
                    v = ", ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v)
                row[f.name] = v
            rows.append(row)
        return pd.DataFrame(rows, columns=[f.name for f in fields(Measure)])

    def __repr__(self) -> str:
        return f"Codebook({len(self)} measures from {', '.join(self.files) or 'memory'})"


# ---------------------------------------------------------------- loading and validation

def load_codebook(extra: str | Path | None = None) -> Codebook:
    """Load the built-in codebook, plus the user's own YAML file when ``extra`` is given.

    Parameters
    ----------
    extra : str or Path, optional
        A YAML file in the format of ``data/codebook.yaml`` (``measures:`` and optionally
        ``vocabularies:`` and ``visit_aliases:``). An entry whose key is already built in must
        say ``replaces: true``.

    Returns
    -------
    Codebook

    Examples
    --------
    >>> cb = load_codebook()
    >>> cb.measure("gait_speed").conversions["cm/s"]
    0.01
    >>> cb.measure("mas_ankle_pf").levels
    ('0', '1', '1+', '2', '3', '4')
    """
    base = _builtin()
    if extra is None:  # a fresh object over the cached, frozen measures
        return Codebook(base._measures, columns=base.columns,
                        visit_aliases=base.visit_aliases, files=base.files)
    path = Path(extra)
    doc = _read_yaml(path)
    vocab = {**_builtin_vocab(), **(doc.get("vocabularies") or {})}
    measures = dict(base._measures)
    for key, m in _parse_measures(doc, str(path), vocab).items():
        if key in measures and not (doc["measures"].get(m.family or key) or {}).get("replaces"):
            raise CodebookError(
                f"codebook {path}, entry '{m.family or key}': measure '{key}' is already in the "
                "built-in codebook. Use another key, or add `replaces: true` to replace it."
            )
        measures[key] = m
    aliases = {**base.visit_aliases, **_visit_aliases(doc, path)}
    columns = {**base.columns, **(doc.get("columns") or {})}
    return Codebook(measures, columns=columns, visit_aliases=aliases,
                    files=base.files + (str(path),))


def _visit_aliases(doc: dict, path: Path) -> dict[str, str]:
    """The ``visit_aliases`` of a codebook: visit names are text (never None, True, 1000.0)."""
    aliases = doc.get("visit_aliases") or {}
    if not isinstance(aliases, dict):
        raise CodebookError(f"codebook {path}: visit_aliases must be a mapping of visit names")
    where = f"codebook {path}"
    return {yaml_name(k, where=where, key=f"visit_aliases ({k!r})", error=CodebookError):
            yaml_name(v, where=where, key=f"visit_aliases.{k}", error=CodebookError)
            for k, v in aliases.items()}


@functools.lru_cache(maxsize=1)
def _builtin() -> Codebook:
    doc = _read_yaml(BUILTIN_PATH)
    measures = _parse_measures(doc, str(BUILTIN_PATH), doc.get("vocabularies") or {},
                               origin="built-in")
    return Codebook(measures, columns=doc.get("columns") or {},
                    visit_aliases=doc.get("visit_aliases") or {}, files=(str(BUILTIN_PATH),))


def _builtin_vocab() -> dict:
    return dict(_read_yaml(BUILTIN_PATH).get("vocabularies") or {})


def _read_yaml(path: Path) -> dict:
    if not path.exists() and not path.is_symlink():
        raise CodebookError(f"codebook file {path} does not exist. Check the path.")
    # aliases, depth, tags and size bounded (analysis.data.yaml_safe)
    doc = load_yaml(path, error=CodebookError, what="codebook")
    if not isinstance(doc, dict) or not isinstance(doc.get("measures"), dict):
        raise CodebookError(
            f"codebook {path}: expected a mapping with a `measures:` section "
            "(see data/codebook.yaml for the format)."
        )
    return doc


_FIELDS = {f.name for f in fields(Measure)} - {"key", "family", "origin"}
_ALLOWED = _FIELDS | {"replaces"} | {k for k in _SOURCE_OF.values()}


def _parse_measures(doc: dict, file: str, vocab: Mapping[str, Mapping[str, str]],
                    origin: str | None = None) -> dict:
    out: dict[str, Measure] = {}
    for template, entry in doc["measures"].items():
        template = yaml_name(template, where=f"codebook {file}", key=f"measures ({template!r})",
                             error=CodebookError)

        def bad(fld: str, why: str, template: str = template) -> CodebookError:
            return CodebookError(f"codebook {file}, entry '{template}', field '{fld}': {why}")

        if not isinstance(entry, dict):
            raise bad("(entry)", "expected a mapping of fields")
        unknown = set(entry) - _ALLOWED
        if unknown:
            f0 = sorted(unknown)[0]
            near = difflib.get_close_matches(f0, sorted(_ALLOWED), n=1)
            raise bad(f0, "unknown field" + (f"; did you mean '{near[0]}'?" if near else ""))
        names = _PLACEHOLDER_RE.findall(template)
        for n in names:
            if n not in vocab:
                raise bad("(key)", f"placeholder {{{n}}} names no vocabulary; known: "
                          f"{sorted(vocab)}")
        combos = itertools.product(*[list(vocab[n].items()) for n in names]) if names else [()]
        for combo in combos:
            key, label = template, str(entry.get("label", ""))
            for n, (k, text) in zip(names, combo, strict=False):
                key = key.replace("{" + n + "}", str(k))
                label = label.replace("{" + n + "}", str(text))
            if not _KEY_RE.match(key):
                raise bad("(key)", f"key '{key}' must be lower case letters, digits and _")
            out[key] = _make_measure(key, label, entry, bad, family=template if names else "",
                                     origin=file if origin is None else origin)
    return out


def _num(entry: dict, name: str, bad, *, positive: bool = False) -> float | None:
    v = entry.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise bad(name, f"expected a number or null, got {v!r}")
    if positive and v <= 0:
        raise bad(name, f"must be > 0, got {v!r}")
    return float(v)


def _make_measure(key: str, label: str, e: dict, bad, *, family: str, origin: str) -> Measure:
    for req in ("label", "unit", "kind", "better"):
        if req not in e:
            raise bad(req, "required field is missing")
    if not label.strip():
        raise bad("label", "must not be empty")
    if e["kind"] not in KINDS:
        raise bad("kind", f"must be one of {KINDS}, got {e['kind']!r}")
    if e["better"] not in BETTER:
        raise bad("better", f"must be one of {BETTER}, got {e['better']!r}")
    sided = e.get("sided", False)
    if not isinstance(sided, bool):
        raise bad("sided", f"must be true or false, got {sided!r}")
    lo, hi = _num(e, "minimum", bad), _num(e, "maximum", bad)
    if lo is not None and hi is not None and lo > hi:
        raise bad("maximum", f"maximum {hi:g} is below minimum {lo:g}")
    levels, codes = e.get("levels"), e.get("codes")
    if (levels is None) != (codes is None):
        raise bad("codes" if codes is None else "levels", "levels and codes go together")
    if e["kind"] == "ordinal" and levels is None:
        raise bad("levels", "an ordinal measure needs `levels` and `codes`")
    if levels is not None:
        if not isinstance(levels, list) or not isinstance(codes, list) or len(levels) != len(codes):
            raise bad("codes", "levels and codes must be lists of the same length")
        levels = tuple(str(x) for x in levels)
        try:
            codes = tuple(float(c) for c in codes)
        except (TypeError, ValueError):
            raise bad("codes", f"codes must be numbers, got {codes!r}") from None
        if any(b <= a for a, b in zip(codes, codes[1:], strict=False)):
            raise bad("codes", f"codes must increase with the levels, got {list(codes)}")
        if len(set(levels)) != len(levels):
            raise bad("levels", "levels must be distinct")
    aliases = e.get("aliases") or {}
    if not isinstance(aliases, dict):
        raise bad("aliases", "expected a mapping of text -> level")
    for a, lev in aliases.items():
        if levels is None or str(lev) not in levels:
            raise bad("aliases", f"alias {a!r} maps to {lev!r}, which is not a level")
    conv = e.get("conversions") or {}
    if not isinstance(conv, dict):
        raise bad("conversions", "expected a mapping of unit -> factor")
    for u, fac in conv.items():
        if isinstance(fac, bool) or not isinstance(fac, (int, float)) or not fac > 0:
            raise bad("conversions", f"factor for {u!r} must be a positive number, got {fac!r}")
    nums = {n: _num(e, n, bad, positive=n in ("sem", "sd_ref", "norm_sd", "mdc", "mcid"))
            for n in _SOURCE_OF}
    rel = nums["reliability"]
    if rel is not None and not 0 <= rel <= 1:
        raise bad("reliability", f"must lie in [0, 1], got {rel:g}")
    if nums["norm_n"] is not None and (nums["norm_n"] != int(nums["norm_n"]) or nums["norm_n"] < 2):
        raise bad("norm_n", f"must be a whole number >= 2, got {e['norm_n']!r}")
    for n, src in _SOURCE_OF.items():
        if nums[n] is not None and not str(e.get(src) or "").strip():
            raise bad(src, f"`{n}` is given, so `{src}` must name its source and population")
    ll = e.get("level_labels")
    if ll is not None and (levels is None or len(ll) != len(levels)):
        raise bad("level_labels", "needs one label per level")
    return Measure(
        key=key, label=label, unit=str(e["unit"]), kind=e["kind"], minimum=lo, maximum=hi,
        levels=levels, codes=codes, better=e["better"], sided=sided,
        mcid=nums["mcid"], mcid_source=str(e.get("mcid_source") or ""),
        mdc=nums["mdc"], mdc_source=str(e.get("mdc_source") or ""),
        sem=nums["sem"], reliability=rel, reliability_source=str(e.get("reliability_source") or ""),
        sd_ref=nums["sd_ref"], norm_mean=nums["norm_mean"], norm_sd=nums["norm_sd"],
        norm_n=None if nums["norm_n"] is None else int(nums["norm_n"]),
        norm_source=str(e.get("norm_source") or ""),
        conversions={str(k): float(v) for k, v in conv.items()},
        source=str(e.get("source") or ""), sd_ref_source=str(e.get("sd_ref_source") or ""),
        mcid_pct=nums["mcid_pct"], mcid_pct_source=str(e.get("mcid_pct_source") or ""),
        mdc_pct=nums["mdc_pct"], mdc_pct_source=str(e.get("mdc_pct_source") or ""),
        integer=bool(e.get("integer", False)),
        aliases={str(k): str(v) for k, v in aliases.items()},
        level_labels=None if ll is None else tuple(str(x) for x in ll),
        family=family, origin=origin,
    )
