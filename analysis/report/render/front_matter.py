"""The author and affiliation schema of Quarto (names, ORCID, e-mail, affiliations by ``ref``
or inline, ``corresponding``), ``abstract`` and ``keywords``: written as one block under the
title in every format, as Quarto writes them.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["front_block", "normalise_authors"]


def _name(value: Any) -> str:
    if isinstance(value, dict):
        if value.get("literal"):
            return str(value["literal"])
        return " ".join(str(value[k]) for k in ("given", "family") if value.get(k))
    return str(value or "").strip()


def _affiliation_text(aff: dict[str, Any]) -> str:
    keys = ("department", "name", "address", "city", "region", "state", "postal-code", "country")
    return ", ".join(str(aff[k]) for k in keys if aff.get(k))


def normalise_authors(front: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Authors and affiliations from Quarto's author schema.

    Returns ``(authors, affiliations)``: each author a dict with ``name``, ``orcid``,
    ``email``, ``corresponding`` and ``affiliations`` (1-based numbers into the list of
    affiliation texts, numbered in order of first mention).

    Examples
    --------
    >>> front = {"author": [{"name": "Ann Lee", "orcid": "0000-0002-1825-0097",
    ...                      "affiliations": [{"ref": "u"}], "corresponding": True,
    ...                      "email": "ann@example.org"},
    ...                     "Bo Chan"],
    ...          "affiliations": [{"id": "u", "name": "Univ", "country": "UK"}]}
    >>> authors, affs = normalise_authors(front)
    >>> [(a["name"], a["affiliations"], a["corresponding"]) for a in authors], affs
    ([('Ann Lee', [1], True), ('Bo Chan', [], False)], ['Univ, UK'])
    """
    raw = front.get("author", front.get("authors"))
    if raw is None:
        return [], []
    raw = raw if isinstance(raw, list) else [raw]
    by_id: dict[str, dict[str, Any]] = {}
    for aff in front.get("affiliations") or []:
        if isinstance(aff, dict) and aff.get("id") is not None:
            by_id[str(aff["id"])] = aff
    texts: list[str] = []
    authors = []
    for entry in raw:
        entry = entry if isinstance(entry, dict) else {"name": entry}
        numbers = []
        affs = entry.get("affiliations", entry.get("affiliation")) or []
        for aff in affs if isinstance(affs, list) else [affs]:
            if isinstance(aff, dict) and "ref" in aff:
                aff = by_id.get(str(aff["ref"]), {"name": str(aff["ref"])})
            elif isinstance(aff, str) and aff in by_id:
                aff = by_id[aff]
            text = _affiliation_text(aff) if isinstance(aff, dict) else str(aff)
            if text and text not in texts:
                texts.append(text)
            if text:
                numbers.append(texts.index(text) + 1)
        attributes = entry.get("attributes") or {}
        authors.append({
            "name": _name(entry.get("name")),
            "orcid": entry.get("orcid"),
            "email": entry.get("email"),
            "corresponding": bool(entry.get("corresponding") or attributes.get("corresponding")),
            "affiliations": numbers,
        })
    return authors, texts


def _escape(text: Any) -> str:
    """Markdown-escape text from the front matter."""
    return re.sub(r"([\\`*_{}\[\]<>#|@^~$])", r"\\\1", str(text))


def front_block(front: dict[str, Any]) -> str:
    """Markdown of the authors, affiliations, corresponding author, abstract and keywords.

    Examples
    --------
    >>> print(front_block({"author": [{"name": "Ann Lee", "affiliations": ["Univ"],
    ...                                "corresponding": True, "email": "a@x.org"}],
    ...                    "abstract": "Short.", "keywords": ["a", "b"]}))
    ::: {.quarto-authors}
    Ann Lee^1,\\*^
    <BLANKLINE>
    ^1^ Univ
    <BLANKLINE>
    ^\\*^ Corresponding author: Ann Lee, <a@x.org>
    :::
    <BLANKLINE>
    ::: {.abstract}
    **Abstract**
    <BLANKLINE>
    Short.
    :::
    <BLANKLINE>
    **Keywords:** a; b
    """
    authors, affs = normalise_authors(front)
    parts = []
    if authors:
        names = []
        for a in authors:
            marks = [str(n) for n in a["affiliations"]] + (["\\*"] if a["corresponding"] else [])
            name = _escape(a["name"]) + (f"^{','.join(marks)}^" if marks and (
                len(affs) > 1 or a["corresponding"] or affs) else "")
            if a["orcid"]:
                orcid = str(a["orcid"]).strip()
                name += f" [ORCID {orcid}](https://orcid.org/{orcid})"
            names.append(name)
        block = ["::: {.quarto-authors}", ", ".join(names)]
        if affs:
            block += [""] + ["  \n".join(f"^{i}^ {_escape(t)}" for i, t in enumerate(affs, 1))]
        corr = [a for a in authors if a["corresponding"]]
        if corr:
            text = "; ".join(_escape(a["name"]) + (f", <{a['email']}>" if a["email"] else "")
                             for a in corr)
            block += ["", f"^\\*^ Corresponding author: {text}"]
        parts.append("\n".join(block + [":::"]))
    abstract = front.get("abstract")
    if abstract:
        parts.append(f"::: {{.abstract}}\n**Abstract**\n\n{str(abstract).strip()}\n:::")
    keywords = front.get("keywords")
    if keywords:
        words = keywords if isinstance(keywords, list) else [keywords]
        parts.append("**Keywords:** " + "; ".join(_escape(w) for w in words))
    return "\n\n".join(parts)
