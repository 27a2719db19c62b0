"""The column vocabulary (``column_vocabulary.yaml``): loaded once, and the text normalisation
every spelling in it is compared after.

Examples
--------
>>> normalise_text("Gehgeschwindigkeit [m/s]"), normalise_text("Patiëntnummer")
('gehgeschwindigkeit m s', 'patientnummer')
>>> split_unit("6MWT (m)")
('6mwt', 'm')
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path
from typing import Any

from analysis.data.yaml_safe import load_yaml
from analysis.errors import CodebookError

__all__ = ["VOCABULARY_PATH", "normalise_text", "split_unit", "vocabulary"]

VOCABULARY_PATH = Path(__file__).with_name("column_vocabulary.yaml")
_UNIT = re.compile(r"[\[(]\s*([^\[\]()]{1,12}?)\s*[\])]")


def normalise_text(text: object) -> str:
    """Lower case, accents removed, every run of other characters one space."""
    s = str(text).replace("ß", "ss").replace("ẞ", "SS")
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii").lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", s).split())


def split_unit(text: object) -> tuple[str, str | None]:
    """(normalised name, unit) of a header such as ``Gehgeschwindigkeit [m/s]``."""
    raw = str(text)
    m = _UNIT.search(raw)
    unit = None
    if m:
        unit = m.group(1).strip()
        raw = raw[:m.start()] + " " + raw[m.end():]
    return normalise_text(raw), unit


@functools.lru_cache(maxsize=1)
def vocabulary() -> dict[str, Any]:
    """The parsed vocabulary, spellings normalised (read through the bounded YAML loader)."""
    doc = load_yaml(VOCABULARY_PATH, error=CodebookError, what="column vocabulary")

    def norm(items):
        return [normalise_text(x) for x in items]

    out: dict[str, Any] = {"version": doc["version"]}
    for section in ("roles", "patient_level", "measures", "families", "muscles", "sides",
                    "visit_words"):
        out[section] = {str(k): norm(v) for k, v in doc[section].items()}
    out["ignore"] = norm(doc["ignore"])
    out["assumed_muscles"] = norm(doc["assumed_muscles"])
    return out
