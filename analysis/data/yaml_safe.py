"""One safe YAML loader for every file a user gives (study configuration, codebook).

``yaml.safe_load`` already refuses Python objects, but it still expands aliases without limit
(a few hundred bytes of ``&a [*a, *a, ...]`` nested ten deep build a billion-element list and
hang the process), accepts recursive aliases, unbounded nesting and typed scalars such as
``!!binary``, ``!!set`` or ``!!timestamp``. :func:`load_yaml` composes the document into YAML
nodes first (linear in the file size, nothing is expanded), checks the node graph, and only then
constructs Python objects:

* at most :data:`MAX_ALIASES` alias uses, no recursive alias, and at most :data:`MAX_NODES`
  nodes once aliases are expanded;
* at most :data:`MAX_DEPTH` levels of nesting;
* only plain mappings (string, number or boolean keys), lists and scalars (text, numbers,
  booleans, null): any other tag is refused, and so are merge keys (``<<``);
* at most :data:`MAX_BYTES` bytes, UTF-8 text.

Every refusal raises the error class the caller names (``ConfigError`` for a study file,
``CodebookError`` for a codebook) with one line naming the file and the rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from analysis.errors import ITBError

MAX_ALIASES = 100
MAX_NODES = 100_000
MAX_DEPTH = 30
MAX_BYTES = 2_000_000

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}


# libyaml's parser when PyYAML was built with it (the wheels are): it composes the codebook
# ten times faster than the pure-Python parser (9 ms against 90 ms), a good part of the start-up
# of every command. The construction of values and the checks below are the same for both.
_BASE = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader


class _Loader(_BASE):  # type: ignore[misc, valid-type]
    """SafeLoader without the timestamp resolver (dates stay text, as in JSON)."""


# drop implicit timestamp resolution: "2015-03-12" stays a string
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml_text(text: str, *, source: str = "YAML", error: type[ITBError] = ITBError) -> Any:
    """Parse YAML text under the limits of this module; ``error`` is raised on any refusal.

    Examples
    --------
    >>> load_yaml_text("a: [1, 2]\\nb: {c: text, d: 2015-03-12}")
    {'a': [1, 2], 'b': {'c': 'text', 'd': '2015-03-12'}}
    >>> bomb = "a: &a [x, x]\\nb: &b [*a, *a]\\nc: &c [*b, *b]\\n" + "".join(
    ...     f"k{i}: [*c, *c, *c]\\n" for i in range(40))
    >>> load_yaml_text(bomb, source="bomb.yaml")
    Traceback (most recent call last):
    ...
    analysis.errors.ITBError: bomb.yaml: too many YAML aliases (more than 100); write the values out instead of using anchors and aliases (&name / *name)
    >>> load_yaml_text("x: !!python/object:os.system ls", source="evil.yaml")
    Traceback (most recent call last):
    ...
    analysis.errors.ITBError: evil.yaml, line 1: YAML tag '!!python/object:os.system' is not allowed; use only plain mappings, lists, text, numbers, true/false and null
    """
    if len(text) > MAX_BYTES:
        raise error(f"{source}: the file is larger than {MAX_BYTES // 1_000_000} MB; a "
                    "configuration or codebook is much smaller: check the file")
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise error(f"{source}: not valid YAML ({_one_line(exc)})") from None
        except RecursionError:
            raise error(f"{source}: the YAML is nested too deeply (more than {MAX_DEPTH} "
                        "levels)") from None
        if node is None:
            return None
        _check(node, source, error)
        try:
            return loader.construct_document(node)
        except yaml.YAMLError as exc:
            raise error(f"{source}: not valid YAML ({_one_line(exc)})") from None
    finally:
        loader.dispose()


def load_yaml(path: str | Path, *, error: type[ITBError] = ITBError, what: str = "file") -> Any:
    """Read a YAML file safely (see the module docstring); ``error`` names every refusal.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "study.yaml"
    >>> _ = f.write_text("title: My study\\n")
    >>> load_yaml(f)
    {'title': 'My study'}
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise error(f"{path}: the {what} is not a regular file")
        if size > MAX_BYTES:
            raise error(f"{path}: the {what} is larger than {MAX_BYTES // 1_000_000} MB; check "
                        "the file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except OSError as exc:
        raise error(f"{path}: the {what} cannot be read ({exc.strerror or exc})") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: the {what} is not UTF-8 text (byte {exc.start}); save it as "
                    "UTF-8") from None
    return load_yaml_text(text, source=str(path), error=error)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _check(root: yaml.Node, source: str, error: type[ITBError]) -> None:
    """Walk the node graph once per distinct node; refuse aliases, depth, tags beyond bounds."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    aliases = 0

    def where(node: yaml.Node) -> str:
        return f"{source}, line {node.start_mark.line + 1}"

    def walk(node: yaml.Node, depth: int) -> int:
        nonlocal aliases
        key = id(node)
        if key in on_path:
            raise error(f"{where(node)}: a YAML alias refers to itself (recursive anchor)")
        if key in sizes:  # a second reference to the same node: an alias use
            aliases += 1
            if aliases > MAX_ALIASES:
                raise error(f"{source}: too many YAML aliases (more than {MAX_ALIASES}); write "
                            "the values out instead of using anchors and aliases (&name / *name)")
            return sizes[key]
        if depth > MAX_DEPTH:
            raise error(f"{where(node)}: the YAML is nested more than {MAX_DEPTH} levels deep")
        if node.tag not in _PLAIN_TAGS:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise error(f"{where(node)}: YAML tag '{tag}' is not allowed; use only plain "
                        "mappings, lists, text, numbers, true/false and null")
        on_path.add(key)
        size = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.tag == "tag:yaml.org,2002:merge":
                    raise error(f"{where(k)}: YAML merge keys (<<) are not allowed; write the "
                                "keys out")
                if not isinstance(k, yaml.ScalarNode):
                    raise error(f"{where(k)}: a mapping key must be text or a number, not a "
                                "list or mapping")
                size += walk(k, depth + 1) + walk(v, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                size += walk(v, depth + 1)
        on_path.discard(key)
        sizes[key] = size
        if size > MAX_NODES:
            raise error(f"{source}: the YAML expands to more than {MAX_NODES} values (aliases "
                        "expanded); check the file")
        return size

    walk(root, 0)
