"""The renderer's own raw output, and the gate every built-in render passes before a writer.

The built-in engine reads Markdown with ``raw_html``, ``raw_attribute`` and ``raw_tex`` off
(:data:`READER`): nothing written in the Markdown, by an author or in a value from the data, can
become raw HTML, Typst, OpenXML or TeX. The few raw pieces the renderer needs itself (page
breaks, callout boxes in Typst, landscape pages) are written by :func:`raw_block` as fenced code
blocks carrying a key drawn afresh for every process (never written to an output, never seen
by the kernel that runs the document's code); :func:`gate` turns exactly those into raw blocks in
Pandoc's AST and refuses anything else that could reach outside the text:

- a raw block or inline that the reader produced, or a code block claiming to be the
  renderer's with another key;
- an image whose source is not a file of the render's own folder (no absolute path, no
  ``..``, no URL, no symbolic link out of it): a figure can only be one the document drew;
- a link to anything but an anchor of the document (``#...``) or a web or mail address.

Why hand-written: Pandoc filters would do the same in Lua, but the rules are security rules
and are kept where they are tested directly (``tests/test_security_render.py``).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from analysis.errors import RenderError

__all__ = ["READER", "raw_block", "gate", "RAW_FORMATS"]

#: Pandoc's Markdown reader of the built-in engine: no raw markup of any kind.
READER = "markdown-raw_html-raw_attribute-raw_tex"
#: Raw formats the renderer writes (Pandoc's names).
RAW_FORMATS = ("html", "typst", "openxml")
_CLASS = "itb-raw"
_KEY = secrets.token_hex(16)
_LINK_OK = re.compile(r"^(#[^\s]*|https?://[^\s]+|mailto:[^\s]+)$", re.I)


def raw_block(fmt: str, text: str) -> str:
    """Markdown of one raw block of the renderer's own (``fmt``: html, typst or openxml).

    Examples
    --------
    >>> raw_block("typst", "#pagebreak()").splitlines()[1]
    '#pagebreak()'
    """
    if fmt not in RAW_FORMATS:
        raise ValueError(f"unknown raw format {fmt!r}")
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return f'{ticks}{{.{_CLASS} format="{fmt}" key="{_KEY}"}}\n{text}\n{ticks}'


def _shown(text: str, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _image_ok(src: str, workdir: Path) -> bool:
    if not src or "\\" in src or re.match(r"^[A-Za-z][\w+.-]*:", src) or src.startswith(("/", "~")):
        return False
    path = workdir / src
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return resolved.is_relative_to(workdir) and resolved.is_file() and not path.is_symlink()


def gate(ast: dict[str, Any], *, workdir: Path, where: str) -> dict[str, Any]:
    """Check a document's Pandoc AST (JSON) and turn the renderer's own blocks into raw blocks.

    Parameters
    ----------
    ast : dict
        Pandoc's JSON of the document, as read with :data:`READER`.
    workdir : pathlib.Path
        The render's folder: the only place images may come from.
    where : str
        The document and format, for messages.

    Returns
    -------
    dict
        The AST, with the renderer's raw blocks in place.

    Raises
    ------
    RenderError
        Naming what was refused (as literal text).

    Examples
    --------
    >>> import tempfile
    >>> block = {"t": "CodeBlock", "c": [["", ["itb-raw"], [["format", "typst"],
    ...          ["key", _KEY]]], "#pagebreak()"]}
    >>> gate({"blocks": [block], "meta": {}}, workdir=Path(tempfile.mkdtemp()),
    ...      where="x")["blocks"][0]
    {'t': 'RawBlock', 'c': ['typst', '#pagebreak()']}
    >>> gate({"blocks": [{"t": "RawBlock", "c": ["html", "<script>"]}], "meta": {}},
    ...      workdir=Path("."), where="r.html")
    Traceback (most recent call last):
    ...
    analysis.errors.RenderError: r.html: raw html markup '<script>' is not the renderer's own; text from the data or the document is never raw markup
    """
    root = Path(workdir).resolve()

    def visit(node: Any) -> Any:
        if isinstance(node, list):
            return [visit(x) for x in node]
        if not isinstance(node, dict):
            return node
        kind = node.get("t")
        if kind in ("RawBlock", "RawInline"):
            fmt, text = node["c"]
            raise RenderError(f"{where}: raw {fmt} markup {_shown(text)} is not the renderer's "
                              "own; text from the data or the document is never raw markup")
        if kind == "CodeBlock":
            (_, classes, attrs), text = node["c"]
            if _CLASS in classes:
                kv = dict(attrs)
                if kv.get("key") != _KEY or kv.get("format") not in RAW_FORMATS:
                    raise RenderError(f"{where}: a block claims to be the renderer's raw output "
                                      "without its key; refused")
                return {"t": "RawBlock", "c": [kv["format"], text]}
            return node
        if kind == "Image":
            src = node["c"][2][0]
            if not _image_ok(src, root):
                raise RenderError(f"{where}: image {_shown(src)} is not a figure of this render "
                                  "(images come only from the render's own figures)")
        elif kind == "Link":
            target = node["c"][2][0]
            if not _LINK_OK.match(target):
                raise RenderError(f"{where}: link target {_shown(target)} refused (only anchors "
                                  "of the document and web or mail addresses)")
        return {k: (visit(v) if k == "c" else v) for k, v in node.items()}

    out = dict(ast)
    out["blocks"] = visit(ast.get("blocks", []))
    out["meta"] = {k: visit(v) for k, v in (ast.get("meta") or {}).items()}
    return out
