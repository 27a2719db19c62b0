"""Clinical words for what the data store as codes: visits, measures, sides, units and grades.

Every label the reports print goes through this module, so that no visit code (``post_m6``),
measure key (``gait_speed``) or unit code (``uV``) reaches a reader:

- visits: the ``visit_labels`` map of the codebook (the built-in one and the user's own,
  ``--codebook``), else the rules of :func:`default_visit_label` (``post_m6`` -> "6 months after
  implantation", ``bl_d5`` -> "baseline day 5", ``ti_d3`` -> "test infusion day 3");
- measures: the codebook ``label``; sides "left"/"right";
- units: proper symbols (``uV`` -> "µV", ``deg`` -> "°", ``ug/day`` -> "µg/day");
- ordinal grades: the level of the code (MAS 1.5 -> "1+"), changes counted in steps of the scale.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from analysis.data.yaml_safe import load_yaml
from analysis.errors import ITBError
from analysis.report.formatting import fmt_num

__all__ = ["UNIT_SYMBOLS", "unit_symbol", "with_unit", "default_visit_label", "visit_labels",
           "VisitLabels", "side_word", "measure_label", "grade", "grade_steps", "phase_word"]

#: The measures of the gait-lab table, which a clinical sheet may hold too (labelled by source).
GAIT_LAB_MEASURES = frozenset({"knee_flex_ic", "knee_flex_lr", "knee_flex_swing_peak",
                               "gait_lab_speed", "cadence", "stride_length", "stance_pct", "gps"})

#: Unit codes of the codebook and their printed symbols.
UNIT_SYMBOLS: dict[str, str] = {"uV": "µV", "deg": "°", "ug/day": "µg/day", "mg/day": "mg/day",
                                "grade": "grade", "points": "points", "%": "%"}

_PHASE_WORDS = {"baseline": "baseline", "test_infusion": "test infusion",
                "post_implant": "after pump implantation"}


def unit_symbol(unit: Any) -> str:
    """The printed symbol of a codebook unit.

    Examples
    --------
    >>> unit_symbol("uV"), unit_symbol("deg"), unit_symbol("m/s"), unit_symbol(None)
    ('µV', '°', 'm/s', '')
    """
    if unit is None or unit != unit:  # None or NaN
        return ""
    return UNIT_SYMBOLS.get(str(unit).strip(), str(unit).strip())


def with_unit(text: str, unit: Any) -> str:
    """A formatted number followed by its unit ("12.5°", "0.48 m/s", "2 grades").

    Examples
    --------
    >>> with_unit("12.5", "deg"), with_unit("0.48", "m/s"), with_unit("-1", "grade")
    ('12.5°', '0.48 m/s', '-1 grade')
    """
    symbol = unit_symbol(unit)
    if not symbol:
        return text
    if symbol in ("°", "%"):
        return f"{text}{symbol}"
    if symbol in ("grade", "point") and text.lstrip("-+") not in ("1", "1.0"):
        symbol += "s"
    return f"{text} {symbol}"


def phase_word(phase: str) -> str:
    """Clinical words for a phase code.

    Examples
    --------
    >>> phase_word("post_implant")
    'after pump implantation'
    """
    return _PHASE_WORDS.get(phase, str(phase).replace("_", " "))


def _plural(n: str, word: str) -> str:
    return f"{int(n)} {word}{'' if int(n) == 1 else 's'}"


_RULES: list[tuple[re.Pattern, Any]] = [
    (re.compile(r"^(?:baseline|base|bl)$"), lambda m: "baseline"),
    (re.compile(r"^(?:baseline|base|bl)_?d(?:ay)?_?(\d+)$"), lambda m: f"baseline day {int(m[1])}"),
    (re.compile(r"^(?:pre|t0|screening)$"), lambda m: f"before treatment ({m[0]})"),
    (re.compile(r"^(?:ti|test_infusion)$"), lambda m: "test infusion"),
    (re.compile(r"^(?:ti|test_infusion)_?d(?:ay)?_?(\d+)$"), lambda m: f"test infusion day {int(m[1])}"),
    (re.compile(r"^post(?:_implant)?$"), lambda m: "after implantation"),
    (re.compile(r"^post_?(?:m|month_?)(\d+)$"), lambda m: f"{_plural(m[1], 'month')} after implantation"),
    (re.compile(r"^post_?(?:w|week_?)(\d+)$"), lambda m: f"{_plural(m[1], 'week')} after implantation"),
    (re.compile(r"^post_?(?:d|day_?)(\d+)$"), lambda m: f"{_plural(m[1], 'day')} after implantation"),
    (re.compile(r"^post_?(?:y|year_?)(\d+)$"), lambda m: f"{_plural(m[1], 'year')} after implantation"),
    (re.compile(r"^(?:m|month_?|fu)(\d+)$"), lambda m: f"month {int(m[1])}"),
    (re.compile(r"^(?:w|week_?)(\d+)$"), lambda m: f"week {int(m[1])}"),
    (re.compile(r"^(?:y|year_?)(\d+)$"), lambda m: f"year {int(m[1])}"),
    (re.compile(r"^(?:v|visit_?)(\d+)$"), lambda m: f"visit {int(m[1])}"),
]


def default_visit_label(visit: str) -> str:
    """Clinical words for a visit code by the built-in rules (case-insensitive).

    Examples
    --------
    >>> [default_visit_label(v) for v in ("post_m6", "post_m1", "bl_d5", "ti_d3", "m12", "pre")]
    ['6 months after implantation', '1 month after implantation', 'baseline day 5', \
'test infusion day 3', 'month 12', 'before treatment (pre)']
    >>> default_visit_label("follow_up_A")
    'follow up A'
    """
    text = str(visit).strip()
    for pattern, make in _RULES:
        m = pattern.match(text.lower())
        if m:
            return make(m)
    return text.replace("_", " ")


@functools.lru_cache(maxsize=16)
def _file_labels(files: tuple[str, ...]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for name in files:
        try:
            doc = load_yaml(name) or {}  # bounded (analysis.data.yaml_safe)
        except ITBError:
            continue
        found = doc.get("visit_labels") if isinstance(doc, Mapping) else None
        if isinstance(found, Mapping):
            labels.update({str(k): str(v) for k, v in found.items()})
    return labels


class VisitLabels:
    """Visit code -> clinical words: the codebook's ``visit_labels``, else the default rules.

    Examples
    --------
    >>> lab = VisitLabels({"v0": "inclusion"})
    >>> lab("v0"), lab("post_m6"), lab.term("post_m6 - v0")
    ('inclusion', '6 months after implantation', '6 months after implantation against inclusion')
    """

    def __init__(self, labels: Mapping[str, str] | None = None) -> None:
        self.labels = dict(labels or {})

    def __call__(self, visit: Any) -> str:
        visit = str(visit)
        return self.labels.get(visit) or default_visit_label(visit)

    def term(self, term: str) -> str:
        """A contrast ``later - earlier`` as "later against earlier"."""
        later, sep, earlier = str(term).partition(" - ")
        return f"{self(later)} against {self(earlier)}" if sep else self(later)

    def span(self, term: str) -> str:
        """A change ``later - earlier`` as "from earlier to later"."""
        later, sep, earlier = str(term).partition(" - ")
        return f"from {self(earlier)} to {self(later)}" if sep else self(later)


def visit_labels(codebook: Any = None) -> VisitLabels:
    """The visit labels of a codebook (its files' ``visit_labels`` sections) over the defaults.

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> visit_labels(load_codebook())("post_m12")
    '12 months after implantation'
    """
    files = tuple(getattr(codebook, "files", ()) or ())
    if not files:
        from analysis.data.codebook import load_codebook

        files = tuple(load_codebook().files)
    return VisitLabels(_file_labels(files))


def side_word(side: Any) -> str:
    """"left", "right" or "" for ``L``, ``R`` or empty.

    Examples
    --------
    >>> side_word("L"), side_word("")
    ('left', '')
    """
    return {"L": "left", "R": "right"}.get(str(side or ""), str(side or ""))


def measure_label(codebook: Any, key: str, side: Any = "", *, unit: bool = False) -> str:
    """The codebook label of a measure, with its side ("…, left") and unit on request.

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> measure_label(load_codebook(), "emg_soleus_rms", "L", unit=True)
    'Surface EMG, soleus, root mean square amplitude, left (µV)'
    """
    m = codebook.measure(key) if codebook is not None and key in codebook else None
    text = m.label if m is not None and m.label else str(key).replace("_", " ")
    if side:
        text += f", {side_word(side)}"
    if unit and m is not None and unit_symbol(m.unit):
        text += f" ({unit_symbol(m.unit)})"
    return text


def grade(measure: Any, code: Any, digits: int = 1) -> str:
    """An ordinal code as its level ("1+" for MAS 1.5); other values as numbers.

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> grade(load_codebook().measure("mas_knee_ext"), 1.5)
    '1+'
    """
    levels = getattr(measure, "levels", None)
    if levels and code == code and code is not None:
        try:
            return measure.level_of(float(code))
        except (KeyError, TypeError, ValueError):
            pass
    return fmt_num(code, digits)


def grade_steps(measure: Any, before: Any, after: Any) -> int | None:
    """Change from ``before`` to ``after`` in steps of an ordinal scale (MAS 1+ -> 1: -1).

    None when a value is not a level of the scale.

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> mas = load_codebook().measure("mas_knee_ext")
    >>> grade_steps(mas, 1.5, 1.0), grade_steps(mas, 2.0, 1.0)
    (-1, -2)
    """
    levels = getattr(measure, "levels", None)
    if not levels:
        return None
    try:
        a = levels.index(measure.level_of(float(before)))
        b = levels.index(measure.level_of(float(after)))
    except (KeyError, TypeError, ValueError):
        return None
    return b - a
