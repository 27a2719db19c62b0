"""The design file of ``itb plan``: what to simulate, read from YAML and checked once.

A design lists one or more *studies*; every study key given as a list (except ``visits`` and
``tests``) is a grid dimension, and the grid's every combination is one *scenario*.

.. code-block:: yaml

    seed: 2024                 # optional; every simulated dataset follows from it (--seed wins)
    n_sim: 1000                # simulated datasets per scenario (default 1000)
    alpha: 0.05                # two-sided level of every test (default 0.05; a study may override)
    target_power: 0.8          # power the protocol paragraph looks for (default 0.8)
    studies:
      - name: gait speed case series
        design: case_series    # case_series | ab | titration | controls
        n: [8, 12, 16, 20]     # patients enrolled
        visits: [baseline, post_m3, post_m6]   # in time order, the first is the reference
        visit: post_m6         # follow-up visit tested (default: the last)
        effect: 0.15           # mean change from baseline at every follow-up visit (units)
        sd_between: 0.20       # between-patient SD (random intercept)
        sd_within: 0.10        # within-patient (residual) SD
        # or: icc: 0.8 and sd: 0.22 (total SD); sd_between = sd*sqrt(icc), sd_within = sd*sqrt(1-icc)
        dropout: 0.05          # share of the remaining patients lost before each follow-up visit
        holm_family: 3         # tests in the Holm family of this outcome (1 = none)
        tests: [paired_t, wilcoxon, lmm]   # default: all three
      - name: baseline days before the test infusion
        design: ab             # ab (step change) | titration (change builds up over ramp_days)
        n_baseline: [5, 7, 10] # days in phase A
        n_treatment: 10        # days in phase B
        effect: 1.0            # level change at full effect (units)
        sd: 1.0                # SD of the day-to-day values (stationary)
        ar1: 0.2               # lag-1 autocorrelation of the day-to-day values, in (-1, 1)
        trend: 0.0             # slope per day in both phases (units per day)
        ramp_days: 0           # titration: days until the full effect (default n_treatment / 2)
        tau_variant: A vs B - trend A   # or "A vs B"
        tests: [nap, tau_u, piecewise]  # default: all three
      - name: patient against published norms
        design: controls
        n_controls: [10, 20, 50]
        effect: -2.0           # patient's expected deviation from the control mean, in control SDs
        alternative: less      # less | greater | two-sided (Crawford-Howell test; closed form)

Keys of a study that do not belong to its design, unknown designs, tests and alternatives are
refused with a :class:`~analysis.errors.ConfigError` naming the file, the study and a
did-you-mean; nothing is simulated until the whole file is valid. Names (``name``, ``visits``,
``visit``) are text: an unquoted ``null``, ``yes`` or ``1e3`` is refused.

The work is bounded before anything is simulated (:mod:`analysis.limits`, each raised with
``--limit NAME=VALUE``): at most ``max_plan_scenarios`` scenarios (counted before the grid is
expanded), ``max_plan_n`` patients, days or controls in one dataset, and
``max_plan_analyses`` simulated analyses (``n_sim`` x scenarios x tests).

Examples
--------
>>> d = parse_design({"n_sim": 50, "studies": [{"name": "s", "design": "controls",
...                   "n_controls": [10, 20], "effect": -2}]})
>>> [(s.study, s.params["n_controls"]) for s in d.scenarios]
[('s', 10), ('s', 20)]
>>> parse_design({"studies": [{"name": "s", "design": "control"}]})
Traceback (most recent call last):
...
analysis.errors.ConfigError: design: studies[0] (s): design: 'control' is not one of case_series, ab, titration, controls; did you mean 'controls'?
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from analysis import limits
from analysis.data.yaml_safe import load_yaml
from analysis.data.yaml_text import yaml_name
from analysis.errors import ConfigError
from analysis.vocabulary import TAU_VARIANTS, check_choice, did_you_mean

#: Study designs of ``itb plan``.
Design = Literal["case_series", "ab", "titration", "controls"]
#: Tests of a case series.
SeriesTest = Literal["paired_t", "wilcoxon", "lmm"]
#: Tests of a single-case (AB or titration) design.
SingleCaseTest = Literal["nap", "tau_u", "piecewise"]
#: Tails of the Crawford-Howell test.
ControlsAlternative = Literal["less", "greater", "two-sided"]

DESIGNS = get_args(Design)
TOP_KEYS = ("seed", "n_sim", "alpha", "target_power", "studies")
DEFAULT_SEED = 2024

#: Keys of each design with their defaults (``None``: required or derived).
DESIGN_KEYS: dict[str, dict[str, Any]] = {
    "case_series": {"n": None, "visits": ["baseline", "follow_up"], "visit": None,
                    "effect": None, "sd_between": None, "sd_within": None, "icc": None,
                    "sd": None, "dropout": 0.0, "holm_family": 1, "alpha": None,
                    "tests": list(get_args(SeriesTest))},
    "ab": {"n_baseline": None, "n_treatment": None, "effect": None, "sd": 1.0, "ar1": 0.0,
           "trend": 0.0, "ramp_days": 0, "holm_family": 1, "alpha": None,
           "tau_variant": "A vs B - trend A", "tests": list(get_args(SingleCaseTest))},
    "controls": {"n_controls": None, "effect": None, "alternative": "less", "alpha": None},
}
DESIGN_KEYS["titration"] = {**DESIGN_KEYS["ab"], "ramp_days": None}
#: The study key reported in the ``n`` column of the power table.
N_KEY = {"case_series": "n", "ab": "n_baseline", "titration": "n_baseline",
         "controls": "n_controls"}
_LIST_KEYS = {"visits", "tests"}  # lists that are values, not grid dimensions


@dataclass(frozen=True)
class Scenario:
    """One combination of a study's parameters.

    Attributes
    ----------
    study, design : str
        The study's ``name`` and ``design``.
    params : dict
        Every key of the design with its value (defaults filled in, SDs resolved).
    key : str
        12 hex digits naming the scenario (SHA-256 of study, params, seed and n_sim): the
        name of its file in the resume store and the source of its random seed.
    """

    study: str
    design: str
    params: dict
    key: str

    @property
    def n(self) -> int:
        """The sample size shown in the ``n`` column (patients, baseline days, controls)."""
        return int(self.params[N_KEY[self.design]])


@dataclass(frozen=True)
class PlanDesign:
    """A validated design: global settings and the expanded scenarios."""

    seed: int
    n_sim: int
    alpha: float
    target_power: float
    scenarios: tuple[Scenario, ...]
    source: str = "design"
    varying: dict = field(default_factory=dict)


def _fail(where: str, text: str) -> ConfigError:
    return ConfigError(f"{where}: {text}")


def _number(value: Any, where: str, name: str, *, low: float | None = None,
            high: float | None = None, integer: bool = False, open_low: bool = False,
            open_high: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer:
        ok = float(value).is_integer()
    if ok and low is not None:
        ok = value > low if open_low else value >= low
    if ok and high is not None:
        ok = value < high if open_high else value <= high
    if not ok:
        kind = "an integer" if integer else "a number"
        lo = "" if low is None else f" {'>' if open_low else '>='} {low:g}"
        hi = "" if high is None else f" {'<' if open_high else '<='} {high:g}"
        rng = f"{lo}{' and' if lo and hi else ''}{hi}"
        raise _fail(where, f"{name}: {value!r} is not {kind}{rng}")
    return int(value) if integer else float(value)


def _check_study(raw: Mapping, where: str, alpha: float) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise _fail(where, f"each study is a mapping of keys (got {type(raw).__name__})")
    design = check_choice(raw.get("design"), Design, name="design", source=where,
                          error=ConfigError)
    allowed = DESIGN_KEYS[design]
    for key in raw:
        if key not in allowed and key not in ("name", "design"):
            raise _fail(where, f"key {key!r} is not a key of a {design} study (keys: "
                        f"{', '.join(allowed)}){did_you_mean(key, allowed)}")
    spec = {k: raw.get(k, v) for k, v in allowed.items()}
    spec["alpha"] = alpha if spec.get("alpha") is None else spec["alpha"]
    required = [k for k, v in spec.items() if v is None and k not in (
        "visit", "sd_between", "sd_within", "icc", "sd", "ramp_days")]
    if required:
        raise _fail(where, f"a {design} study needs {', '.join(required)}")
    return spec


def _tests(value: Any, option: Any, where: str) -> list[str]:
    tests = value if isinstance(value, list) else [value]
    if not tests:
        raise _fail(where, f"tests: name at least one of {', '.join(get_args(option))}")
    return list(dict.fromkeys(check_choice(t, option, name="tests", source=where,
                                           error=ConfigError) for t in tests))


def _check_scalar(design: str, p: dict, where: str) -> dict:
    """Check one scenario's values (lists already expanded); returns them, derived SDs added."""
    p = dict(p)
    p["alpha"] = _number(p["alpha"], where, "alpha", low=0, high=1, open_low=True, open_high=True)
    p["effect"] = _number(p["effect"], where, "effect")
    if design == "controls":
        p["n_controls"] = _number(p["n_controls"], where, "n_controls", low=2, integer=True)
        p["alternative"] = check_choice(p["alternative"], ControlsAlternative,
                                        name="alternative", source=where, error=ConfigError)
        return p
    p["holm_family"] = _number(p["holm_family"], where, "holm_family", low=1, integer=True)
    if design == "case_series":
        p["n"] = _number(p["n"], where, "n", low=2, integer=True)
        visits = p["visits"]
        if (not isinstance(visits, list) or len(visits) < 2
                or len(set(map(str, visits))) != len(visits)):
            raise _fail(where, f"visits: {visits!r} must list at least 2 distinct visits, "
                        "the reference (baseline) first")
        p["visits"] = [yaml_name(v, where=where, key="visits") for v in visits]
        p["visit"] = (p["visits"][-1] if p["visit"] is None
                      else yaml_name(p["visit"], where=where, key="visit"))
        check_choice(p["visit"], tuple(p["visits"][1:]), name="visit", source=where,
                     error=ConfigError)
        by_sd = p["sd_between"] is not None or p["sd_within"] is not None
        by_icc = p["icc"] is not None or p["sd"] is not None
        if by_sd == by_icc:
            raise _fail(where, "give either sd_between and sd_within, or icc and sd (the "
                        "total SD)")
        if by_icc:
            if p["icc"] is None or p["sd"] is None:
                raise _fail(where, "icc and sd go together (sd is the total SD)")
            icc = _number(p["icc"], where, "icc", low=0, high=1, open_high=True)
            sd = _number(p["sd"], where, "sd", low=0, open_low=True)
            p["sd_between"], p["sd_within"] = sd * math.sqrt(icc), sd * math.sqrt(1 - icc)
        else:
            if p["sd_between"] is None or p["sd_within"] is None:
                raise _fail(where, "sd_between and sd_within go together")
            p["sd_between"] = _number(p["sd_between"], where, "sd_between", low=0)
            p["sd_within"] = _number(p["sd_within"], where, "sd_within", low=0, open_low=True)
            tot = p["sd_between"] ** 2 + p["sd_within"] ** 2
            p["icc"], p["sd"] = p["sd_between"] ** 2 / tot, math.sqrt(tot)
        p["dropout"] = _number(p["dropout"], where, "dropout", low=0, high=1, open_high=True)
        p["tests"] = _tests(p["tests"], SeriesTest, where)
        return p
    # ab / titration
    p["n_baseline"] = _number(p["n_baseline"], where, "n_baseline", low=3, integer=True)
    p["n_treatment"] = _number(p["n_treatment"], where, "n_treatment", low=3, integer=True)
    p["sd"] = _number(p["sd"], where, "sd", low=0, open_low=True)
    p["ar1"] = _number(p["ar1"], where, "ar1", low=-1, high=1, open_low=True, open_high=True)
    p["trend"] = _number(p["trend"], where, "trend")
    if p["ramp_days"] is None:
        p["ramp_days"] = max(1, p["n_treatment"] // 2)
    p["ramp_days"] = _number(p["ramp_days"], where, "ramp_days", low=0, integer=True)
    if design == "titration" and p["ramp_days"] < 1:
        raise _fail(where, "ramp_days: a titration design builds its effect up over >= 1 day "
                    "(use design: ab for a step change)")
    p["tau_variant"] = check_choice(p["tau_variant"], TAU_VARIANTS, name="tau_variant",
                                    source=where, error=ConfigError)
    p["tests"] = _tests(p["tests"], SingleCaseTest, where)
    return p


def scenario_key(study: str, design: str, params: Mapping, *, seed: int, n_sim: int) -> str:
    """12 hex digits identifying a scenario and its simulation settings.

    Examples
    --------
    >>> scenario_key("s", "controls", {"n_controls": 10}, seed=1, n_sim=10)
    'b05a495ba0f2'
    """
    text = json.dumps({"study": study, "design": design, "params": dict(params), "seed": seed,
                       "n_sim": n_sim}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def parse_design(raw: Any, *, source: str = "design", seed: int | None = None) -> PlanDesign:
    """Check a design (the parsed YAML) and expand its grids into scenarios.

    Parameters
    ----------
    raw : mapping
        The design, as :func:`analysis.data.yaml_safe.load_yaml` gives it (keys in the module
        docstring).
    source : str
        Name of the file, put before every error message.
    seed : int, optional
        Overrides the design's ``seed``.

    Returns
    -------
    PlanDesign
    """
    if not isinstance(raw, Mapping):
        raise _fail(source, "the design is a mapping with a `studies` list (see `itb plan "
                    "--help`)")
    for key in raw:
        if key not in TOP_KEYS:
            raise _fail(source, f"unknown key {key!r} (keys: {', '.join(TOP_KEYS)})"
                        f"{did_you_mean(key, TOP_KEYS)}")
    seed = raw.get("seed", DEFAULT_SEED) if seed is None else seed
    seed = _number(seed, source, "seed", low=0, integer=True)
    n_sim = _number(raw.get("n_sim", 1000), source, "n_sim", low=1, integer=True)
    alpha = _number(raw.get("alpha", 0.05), source, "alpha", low=0, high=1, open_low=True,
                    open_high=True)
    target = _number(raw.get("target_power", 0.8), source, "target_power", low=0, high=1,
                     open_low=True, open_high=True)
    studies = raw.get("studies")
    if not isinstance(studies, list) or not studies:
        raise _fail(source, "studies: give a list of one or more studies")
    scenarios: list[Scenario] = []
    varying: dict[str, list[str]] = {}
    names: set[str] = set()
    _check_grid_size(studies, source)
    for i, study in enumerate(studies):
        name = (yaml_name(study.get("name", f"study {i + 1}"), where=f"{source}: studies[{i}]",
                          key="name") if isinstance(study, Mapping) else "")
        where = f"{source}: studies[{i}] ({name})" if name else f"{source}: studies[{i}]"
        if name in names:
            raise _fail(where, f"name {name!r} is used twice; give each study its own name")
        names.add(name)
        spec = _check_study(study, where, alpha)
        design = str(study["design"])
        grid = {k: v for k, v in spec.items() if isinstance(v, list) and k not in _LIST_KEYS}
        for k, v in grid.items():
            if not v:
                raise _fail(where, f"{k}: an empty list gives no scenario")
        varying[name] = list(grid)
        for combo in itertools.product(*grid.values()):
            p = _check_scalar(design, {**spec, **dict(zip(grid, combo, strict=True))}, where)
            _check_n(design, p, where)
            key = scenario_key(name, design, p, seed=seed, n_sim=n_sim)
            scenarios.append(Scenario(name, design, p, key))
    analyses = n_sim * sum(len(sc.params["tests"]) for sc in scenarios
                           if sc.design != "controls")
    limits.check("max_plan_analyses", analyses, source,
                 f"the plan runs {analyses} simulated analyses (n_sim {n_sim} x scenarios x "
                 "tests)")
    return PlanDesign(seed=seed, n_sim=n_sim, alpha=alpha, target_power=target,
                      scenarios=tuple(scenarios), source=source, varying=varying)


def _check_grid_size(studies: list, source: str) -> None:
    """Refuse more than ``max_plan_scenarios`` scenarios before the grids are expanded."""
    total = 0
    for study in studies:
        if isinstance(study, Mapping):
            total += math.prod(len(v) for k, v in study.items()
                               if isinstance(v, list) and k not in _LIST_KEYS)
    limits.check("max_plan_scenarios", total, source,
                 f"the design's grids make {total} scenarios")


def _check_n(design: str, p: Mapping, where: str) -> None:
    """Refuse a dataset of more than ``max_plan_n`` patients, days or controls."""
    n = (p["n_baseline"] + p["n_treatment"] if design in ("ab", "titration")
         else p[N_KEY[design]])
    what = {"case_series": "patients", "controls": "controls"}.get(design, "days")
    limits.check("max_plan_n", n, where, f"one simulated dataset has {n} {what}")


def load_design(path: str | Path, *, seed: int | None = None) -> PlanDesign:
    """Read and check a design YAML file (keys in the module docstring).

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> d = load_design(EXAMPLES / "plan" / "design.yaml")
    >>> sorted({s.design for s in d.scenarios})
    ['ab', 'case_series', 'controls']
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such design file")
    # size, nesting, aliases and tags bounded (analysis.data.yaml_safe): a billion-laughs
    # design is refused before anything is expanded
    raw = load_yaml(path, error=ConfigError, what="design file")
    return parse_design(raw, source=str(path), seed=seed)
