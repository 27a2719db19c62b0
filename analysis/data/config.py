"""The study configuration: primary outcome, families of outcomes, and analysis options.

A study is configured by a YAML file (``study.yaml`` beside the data, or ``--config FILE``).
Every key is optional; the defaults below are what a case series without a configuration gets.

.. code-block:: yaml

    title: My ITB case series          # shown in reports
    reference_visit: baseline          # visit the contrasts and paired tests compare against
    baseline: last                     # last | mean: baseline value of each patient and measure
    primary_outcome: gait_speed        # declared primary outcome (its own family unless listed)
    families:                          # Holm adjustment across the measures of each family
      primary: [gait_speed]
      secondary: [tug, six_mwt]
    measures: []                       # restrict the analysis to these measures (empty = all)
    seed: 20151                        # seed of every random step (bootstrap, Bayesian test)
    df_method: satterthwaite           # or kenward-roger: mixed-model denominator df
    lmm: {random_slope: false, covariates: []}
    bootstrap: {enabled: false, n_boot: 2000}
    therapeutic_window:                # doses where spasticity improves by >= its threshold
      spasticity: [mas_knee_ext]       # while strength falls by < its MDC
      strength: [mrc_knee_ext]
      spasticity_threshold: 1          # default: the codebook MCID (else MDC) of the first
      strength_mdc: 1                  # default: the codebook MDC, else one grade
    single_case:
      baseline_phase: baseline
      treatment_phase: test_infusion
      controls:                        # normative samples for one-patient tests
        gait_speed: {mean: 1.31, sd: 0.11, n: 20, source: "..."}
        six_mwt: {mean: 600, sd: 80, n: 20, source: "..."}
      dissociations:                   # RSDT: two measures, their correlation in controls
        - {measures: [gait_speed, six_mwt], r: 0.7, source: "..."}
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from analysis.errors import ConfigError

DfMethod = Literal["satterthwaite", "kenward-roger"]
BaselineRule = Literal["last", "mean"]
DF_METHODS: tuple[str, ...] = ("satterthwaite", "kenward-roger")
BASELINE_RULES: tuple[str, ...] = ("last", "mean")


@dataclass(frozen=True)
class Controls:
    """A control or normative sample given as summary statistics."""

    mean: float
    sd: float
    n: int
    source: str = ""


@dataclass(frozen=True)
class Dissociation:
    """Two measures compared in one patient with the RSDT, and their correlation in controls."""

    measure_x: str
    measure_y: str
    r: float
    source: str = ""


@dataclass(frozen=True)
class StudyConfig:
    """Validated study configuration (see the module docstring for the YAML keys).

    Examples
    --------
    >>> cfg = StudyConfig.from_mapping({"primary_outcome": "tug", "families": {"gait": ["tug"]}})
    >>> cfg.family_of("tug"), cfg.family_of("six_mwt")
    ('gait', None)
    >>> cfg.df_method
    'satterthwaite'
    """

    title: str = "ITB study"
    reference_visit: str = "baseline"
    baseline: BaselineRule = "last"
    primary_outcome: str | None = None
    families: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    measures: tuple[str, ...] = ()
    seed: int = 20151
    df_method: DfMethod = "satterthwaite"
    random_slope: bool = False
    covariates: tuple[str, ...] = ()
    bootstrap: bool = False
    n_boot: int = 2000
    window_spasticity: tuple[str, ...] = ()
    window_strength: tuple[str, ...] = ()
    window_spasticity_threshold: float | None = None
    window_strength_mdc: float | None = None
    baseline_phase: str = "baseline"
    treatment_phase: str = "test_infusion"
    controls: Mapping[str, Controls] = field(default_factory=dict)
    dissociations: tuple[Dissociation, ...] = ()
    source: str = "defaults"

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, source: str = "mapping") -> StudyConfig:
        """Validate a parsed YAML mapping; unknown keys and bad values raise ConfigError."""
        raw = dict(raw or {})
        _check_keys(raw, _TOP_KEYS, source, "")
        lmm = dict(raw.get("lmm") or {})
        _check_keys(lmm, {"random_slope", "covariates"}, source, "lmm.")
        boot = dict(raw.get("bootstrap") or {})
        _check_keys(boot, {"enabled", "n_boot"}, source, "bootstrap.")
        window = dict(raw.get("therapeutic_window") or {})
        _check_keys(window, {"spasticity", "strength", "spasticity_threshold", "strength_mdc"},
                    source, "therapeutic_window.")
        single = dict(raw.get("single_case") or {})
        _check_keys(single, {"baseline_phase", "treatment_phase", "controls", "dissociations"},
                    source, "single_case.")

        df_method = str(raw.get("df_method", "satterthwaite")).lower()
        _check_choice(df_method, DF_METHODS, source, "df_method")
        baseline = str(raw.get("baseline", "last")).lower()
        _check_choice(baseline, BASELINE_RULES, source, "baseline")

        families = {}
        for name, members in (raw.get("families") or {}).items():
            families[str(name)] = _str_tuple(members, source, f"families.{name}")
        primary = raw.get("primary_outcome")
        if primary is not None and not any(primary in m for m in families.values()):
            families = {"primary": (str(primary),), **families}

        controls = {}
        for measure, spec in (single.get("controls") or {}).items():
            spec = dict(spec or {})
            _check_keys(spec, {"mean", "sd", "n", "source"}, source, f"single_case.controls.{measure}.")
            try:
                controls[str(measure)] = Controls(
                    mean=float(spec["mean"]), sd=float(spec["sd"]), n=int(spec["n"]),
                    source=str(spec.get("source", "")),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(
                    f"{source}: single_case.controls.{measure} needs numbers mean, sd and n "
                    f"(got {spec!r})"
                ) from exc
            if controls[str(measure)].sd <= 0 or controls[str(measure)].n < 2:
                raise ConfigError(
                    f"{source}: single_case.controls.{measure}: sd must be > 0 and n >= 2 "
                    f"(got sd={spec['sd']!r}, n={spec['n']!r})"
                )
        dissociations = tuple(
            _dissociation(spec, source, f"single_case.dissociations[{i}]")
            for i, spec in enumerate(single.get("dissociations") or [])
        )
        try:
            seed = int(raw.get("seed", 20151))
            n_boot = int(boot.get("n_boot", 2000))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: seed and bootstrap.n_boot must be integers ({exc})") from exc
        return cls(
            title=str(raw.get("title", "ITB study")),
            reference_visit=str(raw.get("reference_visit", "baseline")),
            baseline=baseline,  # type: ignore[arg-type]
            primary_outcome=None if primary is None else str(primary),
            families=families,
            measures=_str_tuple(raw.get("measures"), source, "measures"),
            seed=seed,
            df_method=df_method,  # type: ignore[arg-type]
            random_slope=bool(lmm.get("random_slope", False)),
            covariates=_str_tuple(lmm.get("covariates"), source, "lmm.covariates"),
            bootstrap=bool(boot.get("enabled", False)),
            n_boot=n_boot,
            window_spasticity=_str_tuple(window.get("spasticity"), source, "therapeutic_window.spasticity"),
            window_strength=_str_tuple(window.get("strength"), source, "therapeutic_window.strength"),
            window_spasticity_threshold=_optional_float(window.get("spasticity_threshold"), source,
                                                        "therapeutic_window.spasticity_threshold"),
            window_strength_mdc=_optional_float(window.get("strength_mdc"), source,
                                                "therapeutic_window.strength_mdc"),
            baseline_phase=str(single.get("baseline_phase", "baseline")),
            treatment_phase=str(single.get("treatment_phase", "test_infusion")),
            controls=controls,
            dissociations=dissociations,
            source=source,
        )

    def family_of(self, measure: str) -> str | None:
        """Name of the first family that lists ``measure``, or None."""
        for name, members in self.families.items():
            if measure in members:
                return name
        return None

    def with_df_method(self, df_method: str | None) -> StudyConfig:
        """A copy with another denominator-df method (None keeps the current one)."""
        if df_method is None:
            return self
        _check_choice(df_method, DF_METHODS, "--df-method", "df_method")
        return StudyConfig(**{**self.__dict__, "df_method": df_method})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (tuples as lists, stable key order), as in the manifest."""
        data = asdict(self)
        return json.loads(json.dumps(data, sort_keys=True, default=list))


_TOP_KEYS = {
    "title", "reference_visit", "baseline", "primary_outcome", "families", "measures", "seed",
    "df_method", "lmm", "bootstrap", "therapeutic_window", "single_case",
}


def load_config(path: str | Path | None) -> StudyConfig:
    """Read a study configuration YAML file; ``None`` gives the defaults.

    Examples
    --------
    >>> load_config(None).reference_visit
    'baseline'
    """
    if path is None:
        return StudyConfig()
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: configuration file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if raw is not None and not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: the configuration must be a mapping of keys to values")
    return StudyConfig.from_mapping(raw or {}, source=str(path))


def _check_keys(raw: Mapping[str, Any], allowed: set[str], source: str, prefix: str) -> None:
    for key in raw:
        if key not in allowed:
            near = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f"; did you mean '{prefix}{near[0]}'?" if near else ""
            raise ConfigError(
                f"{source}: unknown configuration key '{prefix}{key}'{hint} "
                f"(allowed: {', '.join(sorted(allowed))})"
            )


def _check_choice(value: str, choices: tuple[str, ...], source: str, key: str) -> None:
    if value not in choices:
        raise ConfigError(f"{source}: {key} must be one of {', '.join(choices)} (got {value!r})")


def _dissociation(spec: Any, source: str, key: str) -> Dissociation:
    spec = dict(spec or {})
    _check_keys(spec, {"measures", "r", "source"}, source, key + ".")
    measures = _str_tuple(spec.get("measures"), source, key + ".measures")
    try:
        r = float(spec["r"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {key}.r must be the controls' correlation (got "
                          f"{spec.get('r')!r})") from exc
    if len(measures) != 2 or not -1 < r < 1:
        raise ConfigError(f"{source}: {key} needs two measures and -1 < r < 1 "
                          f"(got {list(measures)}, r = {r:g})")
    return Dissociation(measures[0], measures[1], r, str(spec.get("source", "")))


def _optional_float(value: Any, source: str, key: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {key} must be a number (got {value!r})") from exc
    if not number > 0:
        raise ConfigError(f"{source}: {key} must be positive (got {value!r})")
    return number


def _str_tuple(value: Any, source: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{source}: {key} must be a list of measure keys (got {value!r})")
    return tuple(str(v) for v in value)
