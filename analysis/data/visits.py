"""Visit names as clinics write them, read into the visit codes of the tidy layout.

``bl``, ``pre``, ``T0``, ``Ausgangswert`` -> ``baseline``; ``ti`` -> ``test_infusion`` (``ti d3``
-> ``ti_d3``); a number of months in any order and language (``6m``, ``m6``, ``6mo``,
``6_monate``, ``6 mois``, ``12M``, ``3 Monate nach Implantation``, ``FU6``) -> ``post_m6``;
years -> months (``1 Jahr`` -> ``post_m12``); weeks and days keep their unit (``week_12``,
``day_3``): a week or day 0 is the baseline, a later one is read as after implantation unless
a test infusion is named, and the inference is said in the mapping. The words are those of
``visit_words`` in ``column_vocabulary.yaml``; the codebook's ``visit_aliases`` come first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analysis.data.vocabulary_file import normalise_text, vocabulary

__all__ = ["VISIT_SPELLINGS", "Visit", "parse_visit"]

#: Examples of visit names that are recognised, for messages.
VISIT_SPELLINGS = "bl, pre, T0, ti, ti_d3, 6m, m6, 6mo, 6 Monate, 6 mois, 12M, FU12, week_12"


@dataclass(frozen=True)
class Visit:
    """A recognised visit: its code, phase (None when unknown) and time after implantation."""

    code: str
    phase: str | None
    months: float | None = None
    inferred: bool = False   # the phase was inferred from a week or day number


def _words(kind: str) -> list[str]:
    return sorted(vocabulary()["visit_words"][kind], key=len, reverse=True)


def _strip_words(text: str, words: list[str]) -> tuple[str, bool]:
    found = False
    for w in words:
        new = re.sub(rf"(?:(?<=\s)|^){re.escape(w)}(?=\s|$)", " ", text)
        if new != text:
            found, text = True, new
    return " ".join(text.split()), found


def _number_unit(text: str) -> tuple[float, str] | None:
    """(number, unit word) of "6 m", "m 6", "6m", "m6", "6 monate", "monate 6"."""
    text = re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", text)
    m = re.fullmatch(r"(\d+(?:[.,]\d+)?) ([a-z ]+)|([a-z ]+) (\d+(?:[.,]\d+)?)", text)
    if not m:
        return None
    num = m.group(1) or m.group(4)
    word = (m.group(2) or m.group(3)).strip()
    return float(num.replace(",", ".")), word


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x).replace(".", "_")


def parse_visit(text: str, aliases: dict[str, str] | None = None) -> Visit | None:
    """The visit a name (column suffix or visit cell) stands for, or None.

    Examples
    --------
    >>> [parse_visit(t).code for t in ("bl", "T0", "6m", "m6", "6mo", "6_monate", "6 mois",
    ...                                 "12M", "3 Monate nach Implantation", "FU12", "1 Jahr")]
    ['baseline', 'baseline', 'post_m6', 'post_m6', 'post_m6', 'post_m6', 'post_m6', 'post_m12', 'post_m3', 'post_m12', 'post_m12']
    >>> parse_visit("week_12"), parse_visit("Gehgeschwindigkeit") is None
    (Visit(code='week_12', phase='post_implant', months=None, inferred=True), True)
    """
    norm = normalise_text(text)
    if not norm:
        return None
    key = norm.replace(" ", "_")
    if aliases and key in aliases:
        code = aliases[key]
        return Visit(code, _phase_of_code(code), _months_of_code(code))
    base, _ = _strip_words(norm, _words("baseline"))
    if not base and norm:
        return Visit("baseline", "baseline", 0.0)
    split = re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", norm)
    rest, post = _strip_words(split, _words("post"))
    ti_rest, ti = _strip_words(rest, _words("test_infusion"))
    if ti and not ti_rest:
        return Visit("test_infusion", "test_infusion")
    if ti:
        nu = _number_unit(ti_rest)
        if nu and nu[1] in _words("day"):
            return Visit(f"ti_d{_fmt(nu[0])}", "test_infusion")
        if re.fullmatch(r"\d+", ti_rest):
            return Visit(f"ti_d{ti_rest}", "test_infusion")
        return None
    if post and re.fullmatch(r"\d+", rest):  # "FU12", "post 6": months after implantation
        return Visit(f"post_m{rest}", "post_implant", float(rest))
    nu = _number_unit(rest)
    if nu is None:
        return None
    num, word = nu
    if word in _words("month"):
        if num == 0:
            return Visit("baseline", "baseline", 0.0)
        return Visit(f"post_m{_fmt(num)}", "post_implant", num)
    if word in _words("year"):
        return Visit(f"post_m{_fmt(num * 12)}", "post_implant", num * 12)
    for unit in ("week", "day"):
        if word in _words(unit):
            phase = "baseline" if num == 0 else "post_implant"
            return Visit(f"{unit}_{_fmt(num)}", phase, None, inferred=not post)
    return None


def _phase_of_code(code: str) -> str | None:
    if code == "baseline" or code.startswith("bl"):
        return "baseline"
    if code.startswith(("test_infusion", "ti")):
        return "test_infusion"
    if code.startswith("post"):
        return "post_implant"
    return None


def _months_of_code(code: str) -> float | None:
    m = re.fullmatch(r"post_m(\d+)", code)
    return float(m.group(1)) if m else (0.0 if code == "baseline" else None)
