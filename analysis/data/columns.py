"""Recognise what a column holds from its name, in the languages clinics write.

:func:`recognise` reads one header (``Pat-ID``, ``Alter``, ``Gehgeschwindigkeit [m/s] 6 Mo``,
``MAS Knie re bl``, ``6MWT_m6``, ``SPRS_bl``, ``Ashworth genou G T0``) into what the tidy layout
calls it: a role (``patient_id``, ``visit``, ``value``, ...), a patient attribute (``age``,
``sex``), a measure column of the wide layout (``gait_speed_post_m6``, ``mas_knee_ext_R_baseline``),
a per-visit covariate (``day_post_m6``), a free-text column to ignore, or nothing, with the
nearest known name (did-you-mean from the codebook keys, labels and the vocabulary). The
spellings are those of ``column_vocabulary.yaml``; the codebook's keys and labels are known too,
so a user's own codebook adds its measures.

Each result says how sure it is: ``high`` (every part of the name recognised), ``medium`` (a
part assumed, e.g. a bare joint name for the MAS muscle group), ``low`` (a guess).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from analysis.data.codebook import Codebook
from analysis.data.visits import Visit, parse_visit
from analysis.data.vocabulary_file import normalise_text, split_unit, vocabulary

__all__ = ["PER_VISIT_ROLES", "Recognition", "recognise", "suggest_name"]

#: roles a column may give per visit in the wide layout (``day_m6``, ``Dosis 6 Monate``)
PER_VISIT_ROLES = ("dose_ug_day", "phase", "day")


@dataclass(frozen=True)
class Recognition:
    """What one column holds.

    ``kind`` is ``role`` (a tidy column or ``site``), ``patient`` (a patient attribute),
    ``measure`` (a measure column, with its visit unless the file has a visit column),
    ``per_visit`` (day, dose or phase of one visit), ``visit`` (a bare visit name: the lower
    row of a group header), ``ignore`` (free text) or ``unknown``; ``target`` is the name the
    column is read as (for ``unknown``: the name as written, and ``hint`` the nearest name).
    """

    column: str
    kind: str
    target: str
    measure: str | None = None
    side: str = ""
    visit: Visit | None = None
    unit: str | None = None
    confidence: str = "high"
    why: str = ""
    hint: str | None = None


def _aliases(codebook: Codebook) -> list[tuple[str, str, str]]:
    """(spelling, measure key or family, origin) longest first."""
    voc = vocabulary()
    out = []
    for key, words in voc["measures"].items():
        out += [(w, key, "vocabulary") for w in words]
    for fam, words in voc["families"].items():
        out += [(w, "family:" + fam, "vocabulary") for w in words]
    for key in codebook.keys():
        out.append((normalise_text(key), key, "codebook key"))
        label = normalise_text(codebook.measure(key).label)
        if label:
            out.append((label, key, "codebook label"))
    return sorted(set(out), key=lambda t: len(t[0]), reverse=True)


_CACHE: dict[int, tuple[Codebook, list[tuple[str, str, str]]]] = {}


def _alias_table(codebook: Codebook) -> list[tuple[str, str, str]]:
    hit = _CACHE.get(id(codebook))
    if hit is None or hit[0] is not codebook:
        hit = _CACHE[id(codebook)] = (codebook, _aliases(codebook))
    return hit[1]


def _starts(s: str, word: str) -> bool:
    return s == word or s.startswith(word + " ")


def _take(rest: str, words: list[str]) -> tuple[str, str | None]:
    """Remove the longest of ``words`` found as whole words in ``rest``."""
    padded = f" {rest} "
    for w in sorted(words, key=len, reverse=True):
        if f" {w} " in padded:
            return " ".join(padded.replace(f" {w} ", " ", 1).split()), w
    return rest, None


_UNIT_LETTERS = {"d", "w", "m", "y"}


def _side(rest: str) -> tuple[str, str]:
    """(rest without the side word, "L"/"R"/""); a letter followed by a number stays (d 3)."""
    tokens = rest.split()
    sides = vocabulary()["sides"]
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if nxt.isdigit() and tok in _UNIT_LETTERS and i + 2 == len(tokens):
            continue  # "d 3" is day 3, not the right side ("d 6 mois" is right, 6 months)
        for side, words in sides.items():
            if tok in words:
                return " ".join(tokens[:i] + tokens[i + 1:]), side
    return rest, ""


def recognise(name: object, codebook: Codebook, *, visit_column: bool = False) -> Recognition:
    """What the column ``name`` holds (see the module docstring).

    Parameters
    ----------
    name : str
        The header as written (a group header combined with its lower cell: ``"A | B"``).
    codebook : Codebook
    visit_column : bool
        The file has a visit column (one row per patient and visit): measure columns carry
        no visit.

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> cb = load_codebook()
    >>> [recognise(n, cb).target for n in ("Pat-ID", "Alter", "6MWT_m6", "SPRS_bl",
    ...                                    "Gehgeschwindigkeit (m/s) | 6 Mo", "MAS Knie re T0")]
    ['patient_id', 'age', 'six_mwt_post_m6', 'sprs_total_baseline', 'gait_speed_post_m6', 'mas_knee_ext_R_baseline']
    >>> r = recognise("Gehgeschwindikeit_bl", cb)
    >>> r.kind, r.hint
    ('unknown', 'gait_speed')
    """
    column = str(name)
    s, unit = split_unit(column.replace("|", " "))
    voc = vocabulary()
    if not s:
        return Recognition(column, "unknown", column, unit=unit, confidence="low",
                           why="the name has no letters or digits")
    for role, words in voc["roles"].items():
        if s in words:
            return Recognition(column, "role", role, unit=unit, why=f"'{s}' is a name of {role}")
    for attr, words in voc["patient_level"].items():
        if s in words:
            return Recognition(column, "patient", attr, unit=unit,
                               why=f"'{s}' is a patient attribute ({attr}): read into the "
                               "patient table")
    if s in voc["ignore"]:
        return Recognition(column, "ignore", "ignore", why="free text (remarks): not read")
    aliases = dict(codebook.visit_aliases)
    if not visit_column:
        for role in PER_VISIT_ROLES:
            for w in sorted(voc["roles"][role] + [role.replace("_", " ")], key=len, reverse=True):
                if s.startswith(w + " "):
                    visit = parse_visit(s[len(w) + 1:], aliases)
                    if visit is not None:
                        return Recognition(column, "per_visit", f"{role}_{visit.code}",
                                           visit=visit, unit=unit,
                                           why=f"{role} of visit {visit.code}")
    for spelling, key, origin in _alias_table(codebook):
        if not _starts(s, spelling):
            continue
        rest = s[len(spelling):].strip()
        confidence, why = "high", f"'{spelling}' is a name of {key} ({origin})"
        if key.startswith("family:"):
            fam = key.split(":", 1)[1]
            muscles = {w: m for m, ws in voc["muscles"].items() for w in ws}
            rest, word = _take(rest, list(muscles))
            if word is None or f"{fam}_{muscles[word]}" not in codebook:
                continue
            key = f"{fam}_{muscles[word]}"
            why = f"'{spelling}' is {fam.upper()}, '{word}' the {muscles[word]} muscle group"
            if word in voc["assumed_muscles"]:
                confidence = "medium"
                why += f" (assumed from the joint name '{word}')"
        side = ""
        if codebook.measure(key).sided:
            rest, side = _side(rest)
        own_unit = normalise_text(codebook.measure(key).unit)
        if own_unit and (rest == own_unit or rest.startswith(own_unit + " ")) and (
                visit_column or parse_visit(rest, dict(codebook.visit_aliases)) is None):
            rest = rest[len(own_unit):].strip()  # "six_mwt_m": the unit written as a suffix
            unit = unit or codebook.measure(key).unit
        if visit_column:
            if rest:
                continue
            return Recognition(column, "measure", key + (f"_{side}" if side else ""),
                               measure=key, side=side, unit=unit, confidence=confidence, why=why)
        if not rest:
            return Recognition(column, "unknown", column, measure=key, side=side, unit=unit,
                               confidence="low", hint=key,
                               why=f"measure {key}, but no visit in the name")
        visit = parse_visit(rest, aliases)
        if visit is None:
            return Recognition(column, "unknown", column, measure=key, side=side, unit=unit,
                               confidence="low", hint=key,
                               why=f"measure {key}, but the visit '{rest}' is not a visit name "
                               "(accepted: bl, pre, T0, ti, 6m, m6, 6mo, 6 Monate, 6 mois, "
                               "12M, week_12, day_3)")
        target = key + (f"_{side}" if side else "") + f"_{visit.code}"
        return Recognition(column, "measure", target, measure=key, side=side, visit=visit,
                           unit=unit, confidence=confidence, why=why + f", visit {visit.code}")
    visit = parse_visit(s, aliases)
    if visit is not None:
        return Recognition(column, "visit", column, visit=visit, unit=unit,
                           why=f"a visit name ({visit.code})")
    hint = suggest_name(s, codebook)
    return Recognition(column, "unknown", column, unit=unit, confidence="low", hint=hint,
                       why="matches no known column name" + (f"; did you mean {hint}?"
                                                             if hint else ""))


def suggest_name(text: str, codebook: Codebook) -> str | None:
    """The nearest measure key, role or patient attribute to ``text`` (or to the name without
    its last words, where a visit may sit), from the codebook keys and labels and every
    spelling of the vocabulary; None when nothing is close.

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> suggest_name("gehgeschwindikeit", load_codebook()), suggest_name("xyz", load_codebook())
    ('gait_speed', None)
    """
    voc = vocabulary()
    names = {spelling: key for spelling, key, _ in _alias_table(codebook)
             if not key.startswith("family:")}
    names.update({w: k for k, ws in voc["patient_level"].items() for w in ws})
    names.update({w: k for k, ws in voc["roles"].items() for w in ws if len(w) > 3})
    tokens = normalise_text(text).split()
    for k in range(len(tokens), 0, -1):
        stem = " ".join(tokens[:k])
        hit = difflib.get_close_matches(stem, list(names), n=1, cutoff=0.75)
        if hit:
            return names[hit[0]]
    return None
