"""Citations: find the bibliography and CSL style, check every ``@key`` against it.

Pandoc's citeproc formats the citations and the reference list (as Quarto does); this module
only finds the files and refuses what citeproc would print as "(key?)" with a warning: a
citation whose key is not in the bibliography, or citations without a bibliography. Files are
local only (no network at render time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.errors import RenderError

__all__ = ["Bibliography", "find_bibliography", "citation_keys", "check_citations", "bib_keys"]

# Pandoc's citation syntax: "@key" after a non-word character (so "me@x.org" is not one);
# keys start with a letter, digit or _ and may hold internal punctuation :.#$%&-+?<>~/
_CITE = re.compile(r"(?<![\w@\\])-?@([A-Za-z0-9_](?:[\w:.#$%&\-+?<>~/]*[A-Za-z0-9_])?)")
_CROSSREF = re.compile(r"^(?:fig|tbl|sec|eq|lst|thm|lem)-")
_BIB_ENTRY = re.compile(r"@(\w+)\s*[{(]\s*([^,\s]+)\s*,")
_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_FENCED = re.compile(r"^(`{3,}|~{3,}).*?^\1\s*$", re.S | re.M)


@dataclass(frozen=True)
class Bibliography:
    """The bibliography files, their keys and the CSL style (``None``: Pandoc's default)."""

    files: tuple[Path, ...]
    keys: frozenset[str]
    csl: Path | None


def bib_keys(path: Path) -> set[str]:
    """The entry keys of a BibTeX/BibLaTeX file (``@comment``/``@string``/``@preamble`` skipped).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "r.bib"
    >>> _ = p.write_text("@article{holm1979,\\n title={T}}\\n@string{x = 1}\\n@book{efron:93, t={x}}")
    >>> sorted(bib_keys(p))
    ['efron:93', 'holm1979']
    """
    text = Path(path).read_text(encoding="utf-8")
    return {key for kind, key in _BIB_ENTRY.findall(text)
            if kind.lower() not in {"comment", "string", "preamble"}}


def _locate(value: str, *, doc_dir: Path, root: Path, what: str, name: str) -> Path:
    if re.match(r"^[a-z]+://", value):
        raise RenderError(f"{name}: {what} {value!r} is a web address; give a local file (the "
                          "renderer does not use the network)")
    for base in (doc_dir, root):
        path = (base / value).resolve()
        if path.is_file():
            return path
    raise RenderError(f"{name}: {what} {value!r} not found beside the document ({doc_dir}) or "
                      f"in the project ({root})")


def find_bibliography(front: dict[str, Any], *, doc_dir: Path, root: Path,
                      name: str) -> Bibliography | None:
    """The document's ``bibliography`` and ``csl``, resolved beside the document, then in the
    project directory (as Quarto resolves them relative to the document or project)."""
    value = front.get("bibliography")
    if not value:
        return None
    values = value if isinstance(value, list) else [value]
    files = tuple(_locate(str(v), doc_dir=doc_dir, root=root, what="bibliography", name=name)
                  for v in values)
    for f in files:
        if f.suffix.lower() not in {".bib", ".bibtex"}:
            raise RenderError(f"{name}: bibliography {f.name}: only BibTeX (.bib) files are "
                              "supported by the built-in renderer")
    keys: set[str] = set()
    for f in files:
        keys |= bib_keys(f)
    csl = front.get("csl")
    csl_path = _locate(str(csl), doc_dir=doc_dir, root=root, what="csl style",
                       name=name) if csl else None
    return Bibliography(files, frozenset(keys), csl_path)


def citation_keys(text: str) -> list[tuple[int, str]]:
    """``(line index, key)`` of the citations in Markdown (code and cross-references skipped).

    Examples
    --------
    >>> citation_keys("As [@holm1979; see @efron:93, p. 3] and @fig-a; me@x.org.\\n`@code`")
    [(0, 'holm1979'), (0, 'efron:93')]
    """
    blank = _FENCED.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    blank = _CODE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), blank)
    # Links and e-mail autolinks are not citations.
    blank = re.sub(r"<[^>\s]+@[^>\s]+>", " ", blank)
    found = []
    for i, line in enumerate(blank.splitlines()):
        for m in _CITE.finditer(line):
            if not _CROSSREF.match(m.group(1)):
                found.append((i, m.group(1)))
    return found


def check_citations(text: str, bib: Bibliography | None, *, where: str,
                    first_line: int = 0) -> bool:
    """Refuse citations that citeproc could not resolve; True when the text cites anything.

    Examples
    --------
    >>> bib = Bibliography((), frozenset({"holm1979"}), None)
    >>> check_citations("See [@holm1979].", bib, where="a.qmd", first_line=4)
    True
    >>> check_citations("See [@nobody2020].", bib, where="a.qmd", first_line=4)
    Traceback (most recent call last):
    ...
    analysis.errors.RenderError: a.qmd, line 4: citation @nobody2020 is not in the bibliography (keys: holm1979); add it to the .bib file or fix the key
    """
    found = citation_keys(text)
    for i, key in found:
        at = f"{where}, line {first_line + i}" if first_line else where
        if bib is None:
            raise RenderError(f"{at}: citation @{key} but the document has no bibliography; add "
                              "'bibliography: references.bib' to the front matter (or escape "
                              "the @ as \\@)")
        if key not in bib.keys:
            known = ", ".join(sorted(bib.keys)[:20]) or "none"
            raise RenderError(f"{at}: citation @{key} is not in the bibliography (keys: {known}); "
                              "add it to the .bib file or fix the key")
    return bool(found)
