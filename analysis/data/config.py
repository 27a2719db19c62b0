"""The study configuration: primary outcome, families of outcomes, and analysis options.

A study is configured by a YAML file (``study.yaml`` beside the data, or ``--config FILE``).
Every key is optional; the defaults below are what a case series without a configuration gets.

.. code-block:: yaml

    title: My ITB case series          # shown in reports
    reference_visit: baseline          # visit the contrasts and paired tests compare against
                                       # (default: inferred, see resolve_reference_visit)
    baseline: last                     # last | mean: baseline value of each patient and measure
    primary_outcome: gait_speed        # declared primary outcome (its own family unless listed)
    families:                          # Holm adjustment across the measures of each family
      primary: [gait_speed]
      secondary: [tug, six_mwt]
    measures: []                       # restrict the analysis to these measures (empty = all)
    seed: 20151                        # seed of every random step (bootstrap, Bayesian test)
    df_method: satterthwaite           # or kenward-roger: mixed-model denominator df
    lmm: {random_slope: false, covariates: []}
                                       # ordinal: [mas_knee_ext] asks for the linear mixed
                                       # model on the grade codes of these ordinal measures
                                       # (reported, labelled as asked; default: the CLMM only)
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

The configuration is checked twice, each time completely: its shape when it is read
(:func:`load_config`: unknown keys and values refused with a did-you-mean), and its measure keys
and reference visit against the codebook and the data once the data are loaded
(:func:`check_config`): a declared measure that the data do not hold is an error, never a silent
drop. :func:`resolve_primary_outcome` and :func:`resolve_reference_visit` are the one place where
the defaults for an undeclared primary outcome and reference visit are chosen; the reports state
which was used and why.
"""

from __future__ import annotations

import contextvars
import difflib
import fnmatch
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.data.codebook import Codebook
from analysis.data.derive import visit_order
from analysis.data.yaml_safe import load_yaml
from analysis.data.yaml_text import yaml_name
from analysis.errors import ConfigError
from analysis.vocabulary import (
    BASELINE_RULES,
    DF_METHODS,
    PHASES,
    BaselineRule,
    DfMethod,
    check_choice,
    did_you_mean,
)

#: The primary outcome when none is declared: the first of these that the data hold, else the
#: first measure in alphabetical order.
DEFAULT_PRIMARY = ("gait_speed", "tug", "six_mwt", "sprs_total")


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
    reference_visit: str | None = None
    baseline: BaselineRule = "last"
    primary_outcome: str | None = None
    families: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    measures: tuple[str, ...] = ()
    seed: int = 20151
    df_method: DfMethod = "satterthwaite"
    random_slope: bool = False
    covariates: tuple[str, ...] = ()
    lmm_ordinal: tuple[str, ...] = ()
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
    #: How the reference visit was chosen (set by :func:`resolve_reference_visit`).
    reference_visit_reason: str = ""

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, source: str = "mapping") -> StudyConfig:
        """Validate a parsed YAML mapping; unknown keys and bad values raise one ConfigError
        listing every problem found (one per line)."""
        pending: list[str] = []
        token = _PENDING.set(pending)
        try:
            config = cls._from_mapping(raw, source=source)
        except ConfigError as exc:
            _PENDING.reset(token)
            token = None
            text = str(exc)
            pending.append(text[len(source) + 2:] if text.startswith(f"{source}: ") else text)
        finally:
            if token is not None:
                _PENDING.reset(token)
        if pending:
            if len(pending) == 1:
                raise ConfigError(f"{source}: {pending[0]}")
            raise ConfigError(f"{source}: {len(pending)} problem(s) in the study configuration:\n"
                              + "\n".join(f"  - {p}" for p in pending))
        return config

    @classmethod
    def _from_mapping(cls, raw: Mapping[str, Any], *, source: str) -> StudyConfig:
        raw = dict(raw or {})
        _check_keys(raw, _TOP_KEYS, source, "")
        lmm = dict(raw.get("lmm") or {})
        _check_keys(lmm, {"random_slope", "covariates", "ordinal"}, source, "lmm.")
        boot = dict(raw.get("bootstrap") or {})
        _check_keys(boot, {"enabled", "n_boot"}, source, "bootstrap.")
        window = dict(raw.get("therapeutic_window") or {})
        _check_keys(window, {"spasticity", "strength", "spasticity_threshold", "strength_mdc"},
                    source, "therapeutic_window.")
        single = dict(raw.get("single_case") or {})
        _check_keys(single, {"baseline_phase", "treatment_phase", "controls", "dissociations"},
                    source, "single_case.")

        df_method = _choice(str(raw.get("df_method", "satterthwaite")).lower(), DF_METHODS,
                            source, "df_method")
        baseline = _choice(str(raw.get("baseline", "last")).lower(), BASELINE_RULES, source,
                           "baseline")
        for key in ("baseline_phase", "treatment_phase"):
            if key in single:
                _choice(yaml_name(single[key], where=source, key=f"single_case.{key}"), PHASES,
                        source, f"single_case.{key}")
        if not isinstance(raw.get("families") or {}, Mapping):
            raise ConfigError(f"{source}: families must be a mapping of family names to lists of "
                              f"measure keys (got {raw.get('families')!r})")

        families = {}
        for name, members in (raw.get("families") or {}).items():
            name = yaml_name(name, where=source, key=f"families ({name!r})")
            families[name] = _str_tuple(members, source, f"families.{name}")
        primary = raw.get("primary_outcome")
        if primary is not None:
            primary = yaml_name(primary, where=source, key="primary_outcome")
        if primary is not None and not any(primary in m for m in families.values()):
            families = {"primary": (str(primary),), **families}

        controls = {}
        for measure, spec in (single.get("controls") or {}).items():
            measure = yaml_name(measure, where=source, key=f"single_case.controls ({measure!r})")
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
            title=yaml_name(raw.get("title", "ITB study"), where=source, key="title"),
            reference_visit=(None if raw.get("reference_visit") is None
                             else yaml_name(raw["reference_visit"], where=source,
                                            key="reference_visit")),
            baseline=baseline,  # type: ignore[arg-type]
            primary_outcome=None if primary is None else str(primary),
            families=families,
            measures=_str_tuple(raw.get("measures"), source, "measures"),
            seed=seed,
            df_method=df_method,  # type: ignore[arg-type]
            random_slope=bool(lmm.get("random_slope", False)),
            covariates=_str_tuple(lmm.get("covariates"), source, "lmm.covariates"),
            lmm_ordinal=_str_tuple(lmm.get("ordinal"), source, "lmm.ordinal"),
            bootstrap=bool(boot.get("enabled", False)),
            n_boot=n_boot,
            window_spasticity=_str_tuple(window.get("spasticity"), source, "therapeutic_window.spasticity"),
            window_strength=_str_tuple(window.get("strength"), source, "therapeutic_window.strength"),
            window_spasticity_threshold=_optional_float(window.get("spasticity_threshold"), source,
                                                        "therapeutic_window.spasticity_threshold"),
            window_strength_mdc=_optional_float(window.get("strength_mdc"), source,
                                                "therapeutic_window.strength_mdc"),
            baseline_phase=single.get("baseline_phase", "baseline"),
            treatment_phase=single.get("treatment_phase", "test_infusion"),
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
        check_choice(df_method, DF_METHODS, name="--df-method", error=ConfigError)
        return StudyConfig(**{**self.__dict__, "df_method": df_method})

    def declared_measures(self) -> dict[str, list[str]]:
        """Every measure key (or pattern) the configuration names, by the key that names it."""
        named: dict[str, list[str]] = {}
        if self.primary_outcome is not None:
            named["primary_outcome"] = [self.primary_outcome]
        for name, members in self.families.items():
            named[f"families.{name}"] = list(members)
        named["measures"] = list(self.measures)
        named["lmm.ordinal"] = list(self.lmm_ordinal)
        named["therapeutic_window.spasticity"] = list(self.window_spasticity)
        named["therapeutic_window.strength"] = list(self.window_strength)
        named["single_case.controls"] = list(self.controls)
        for i, d in enumerate(self.dissociations):
            named[f"single_case.dissociations[{i}].measures"] = [d.measure_x, d.measure_y]
        return {k: v for k, v in named.items() if v}

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
    >>> load_config(None).df_method
    'satterthwaite'
    """
    if path is None:
        return StudyConfig()
    path = Path(path)
    # aliases, nesting, tags and size are bounded; any refusal is a one-line ConfigError
    raw = load_yaml(path, error=ConfigError, what="configuration file")
    if raw is not None and not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: the configuration must be a mapping of keys to values")
    try:
        return StudyConfig.from_mapping(raw or {}, source=str(path))
    except (TypeError, ValueError, AttributeError) as exc:  # e.g. `lmm: 5`: a section not a mapping
        raise ConfigError(f"{path}: a section has the wrong shape ({exc}); each section "
                          "(lmm, bootstrap, therapeutic_window, single_case) is a mapping of "
                          "keys to values, and families a mapping of names to lists") from None


#: Problems found so far while one configuration is read (every one is reported at once).
_PENDING: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("pending",
                                                                            default=None)


def _report(exc: ConfigError, source: str) -> None:
    """Collect ``exc`` while a configuration is read (else raise it)."""
    pending = _PENDING.get()
    if pending is None:
        raise exc
    text = str(exc)
    pending.append(text[len(source) + 2:] if text.startswith(f"{source}: ") else text)


def _check_keys(raw: Mapping[str, Any], allowed: set[str], source: str, prefix: str) -> None:
    for key in raw:
        if key not in allowed:
            near = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f"; did you mean '{prefix}{near[0]}'?" if near else ""
            _report(ConfigError(
                f"{source}: unknown configuration key '{prefix}{key}'{hint} "
                f"(allowed: {', '.join(sorted(allowed))})"
            ), source)


def _choice(value: str, choices: tuple[str, ...], source: str, key: str) -> str:
    try:
        return check_choice(value, choices, name=key, source=source, error=ConfigError)
    except ConfigError as exc:
        _report(exc, source)
        return choices[0]  # a placeholder: the configuration is refused below


def check_config(config: StudyConfig, codebook: Codebook, observations: pd.DataFrame) -> None:
    """Check every measure key and the reference visit against the codebook and the data.

    Every problem is reported at once (one line each), with a did-you-mean: a key the codebook
    does not know, a declared measure the data do not hold, a pattern matching no measure, a
    reference visit that is not a visit of the data, a covariate that is not a column.

    Raises
    ------
    ConfigError

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> obs = pd.DataFrame({"patient_id": ["P1"], "visit": ["baseline"], "measure": ["gait_speed"],
    ...                     "value": [0.5], "phase": ["baseline"]})
    >>> check_config(StudyConfig(primary_outcome="gait_sped"), load_codebook(), obs)
    Traceback (most recent call last):
    ...
    analysis.errors.ConfigError: defaults: 1 problem(s) in the study configuration:
      - primary_outcome: unknown measure 'gait_sped'; did you mean 'gait_speed'?
    """
    present = sorted(observations["measure"].astype(str).unique())
    problems, seen = [], set()
    for key, names in config.declared_measures().items():
        for name in names:
            if name in seen:  # the primary outcome is also in its family: one message
                continue
            seen.add(name)
            if any(ch in name for ch in "*?["):
                if not any(fnmatch.fnmatchcase(m, name) for m in present):
                    problems.append(f"{key}: the pattern '{name}' matches no measure of the data "
                                    f"(measures: {', '.join(present)})")
            elif name not in codebook:
                hint = codebook.suggest(name)
                problems.append(f"{key}: unknown measure '{name}'"
                                + (f"; did you mean '{hint}'?" if hint else
                                   "; add it to your codebook (--codebook) or correct the key"))
            elif name not in present:
                problems.append(f"{key}: '{name}' is declared but the data hold no observation of "
                                f"it (measures in the data: {', '.join(present)}); remove it or "
                                "add its data")
    owner: dict[str, str] = {}
    for fam, members in config.families.items():  # Holm adjusts within one family only
        for name in members:
            if name in owner and owner[name] != fam:
                problems.append(f"families: '{name}' is in two families ({owner[name]} and "
                                f"{fam}); a measure belongs to one Holm family: remove it from "
                                "one of them")
            owner.setdefault(name, fam)
    visits = [str(v) for v in pd.unique(observations["visit"])]
    if config.reference_visit is not None and config.reference_visit not in visits:
        problems.append(f"reference_visit: '{config.reference_visit}' is not a visit of the data"
                        f"{did_you_mean(config.reference_visit, visits)} (visits: "
                        f"{', '.join(visit_order(observations))})")
    for name in config.lmm_ordinal:
        info = codebook.measure(name) if name in codebook else None
        if info is not None and not (info.levels or info.kind == "ordinal"):
            problems.append(f"lmm.ordinal: '{name}' is not an ordinal measure (its linear mixed "
                            "model is reported anyway); list only ordinal measures there")
    for covariate in config.covariates:
        if covariate not in observations.columns:
            problems.append(f"lmm.covariates: '{covariate}' is not a column of the data"
                            f"{did_you_mean(covariate, observations.columns)}")
    if problems:
        raise ConfigError(f"{config.source}: {len(problems)} problem(s) in the study configuration:\n"
                          + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class PrimaryOutcome:
    """The primary outcome of a study, and how it was chosen.

    Attributes
    ----------
    measure, side
        Codebook key and side ("" for a total or unsided measure, else the first side).
    declared
        True when the study configuration names it.
    reason
        A sentence for the report: declared, or the documented default.
    """

    measure: str
    side: str
    declared: bool
    reason: str


def resolve_primary_outcome(config: StudyConfig, observations: pd.DataFrame) -> PrimaryOutcome:
    """The declared primary outcome, or the documented default (:data:`DEFAULT_PRIMARY`).

    Examples
    --------
    >>> obs = pd.DataFrame({"measure": ["tug", "mas_knee_ext"], "side": ["", "L"]})
    >>> resolve_primary_outcome(StudyConfig(), obs).measure
    'tug'
    >>> resolve_primary_outcome(StudyConfig(primary_outcome="mas_knee_ext"), obs).side
    'L'
    """
    present = sorted(observations["measure"].astype(str).unique())
    if not present:
        raise ConfigError("the data hold no measure: there is no primary outcome")
    if config.primary_outcome is not None:
        if config.primary_outcome not in present:
            raise ConfigError(f"{config.source}: primary_outcome '{config.primary_outcome}' is not "
                              f"in the data{did_you_mean(config.primary_outcome, present)}")
        measure, declared = config.primary_outcome, True
        reason = "declared in the study configuration"
    else:
        measure = next((k for k in DEFAULT_PRIMARY if k in present), present[0])
        declared = False
        reason = ("not declared in the study configuration: by default the first of "
                  f"{', '.join(DEFAULT_PRIMARY)} that the data hold"
                  if measure in DEFAULT_PRIMARY else
                  "not declared in the study configuration, and the data hold none of "
                  f"{', '.join(DEFAULT_PRIMARY)}: by default the first measure in alphabetical order")
    sides = sorted(observations.loc[observations["measure"] == measure, "side"].astype(str).unique()
                   if "side" in observations else [""])
    return PrimaryOutcome(measure, "" if "" in sides else sides[0], declared, reason)


def resolve_reference_visit(config: StudyConfig, observations: pd.DataFrame) -> StudyConfig:
    """A copy of ``config`` with the reference visit set, and the reason recorded.

    Declared (it must be a visit of the data), else inferred: the visit named ``baseline``,
    else the last visit of the baseline phase (by day, then order of appearance), else the
    first visit (by day, then order of appearance).

    Examples
    --------
    >>> obs = pd.DataFrame({"visit": ["pre", "pre", "m3"], "phase": ["baseline"] * 2 + ["post_implant"],
    ...                     "day": [-2.0, -2.0, 90.0]})
    >>> cfg = resolve_reference_visit(StudyConfig(), obs)
    >>> cfg.reference_visit, cfg.reference_visit_reason
    ('pre', 'the last visit of the baseline phase (no visit is named baseline)')
    """
    visits = [str(v) for v in pd.unique(observations["visit"])]
    if config.reference_visit is not None:
        if config.reference_visit not in visits:
            raise ConfigError(f"{config.source}: reference_visit '{config.reference_visit}' is not "
                              f"a visit of the data{did_you_mean(config.reference_visit, visits)}")
        return replace(config, reference_visit_reason="declared in the study configuration")
    if not visits:
        raise ConfigError("the data hold no visit: there is no reference visit")
    if "baseline" in visits:
        visit, reason = "baseline", "the visit named baseline"
    else:
        base = (observations[observations["phase"] == config.baseline_phase]
                if "phase" in observations else observations.iloc[:0])
        if len(base):
            visit = visit_order(base)[-1]
            reason = "the last visit of the baseline phase (no visit is named baseline)"
        else:
            visit = visit_order(observations)[0]
            reason = ("the first visit (no visit is named baseline and no observation is in the "
                      "baseline phase)")
    return replace(config, reference_visit=visit, reference_visit_reason=reason)


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
    return tuple(yaml_name(v, where=source, key=key) for v in value)
