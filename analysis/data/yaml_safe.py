"""One safe YAML loader for every file a user gives (study configuration, codebook).

``yaml.safe_load`` already refuses Python objects, but it still expands aliases without limit
(a few hundred bytes of ``&a [*a, *a, ...]`` nested ten deep build a billion-element list and
hang the process), accepts recursive aliases, unbounded nesting and typed scalars such as
``!!binary``, ``!!set`` or ``!!timestamp``. :func:`load_yaml` composes the document into YAML
nodes first (linear in the file size, nothing is expanded), checks the node graph, and only then
constructs Python objects:

* at most ``max_yaml_aliases`` alias uses, no recursive alias, and at most ``max_yaml_nodes``
  nodes once aliases are expanded;
* at most ``max_yaml_depth`` levels of nesting;
* only plain mappings (string, number or boolean keys), lists and scalars (text, numbers,
  booleans, null): any other tag is refused, and so are merge keys (``<<``);
* at most ``max_yaml_mb`` megabytes, UTF-8 text.

The limits (defaults :data:`MAX_ALIASES`, :data:`MAX_NODES`, :data:`MAX_DEPTH`,
:data:`MAX_BYTES`) are those of :mod:`analysis.limits`, raised with ``--limit NAME=VALUE`` or
``ITB_<NAME>``; each refusal names its limit.

Every refusal raises the error class the caller names (``ConfigError`` for a study file or
a plan design, ``CodebookError`` for a codebook) with one line naming the file and the rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from analysis import limits
from analysis.errors import ITBError

MAX_ALIASES = int(limits.LIMITS["max_yaml_aliases"].default)
MAX_NODES = int(limits.LIMITS["max_yaml_nodes"].default)
MAX_DEPTH = int(limits.LIMITS["max_yaml_depth"].default)
MAX_BYTES = int(limits.LIMITS["max_yaml_mb"].default * 1_000_000)

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
    analysis.errors.ITBError: bomb.yaml: too many YAML aliases (more than 100); write the values out instead of using anchors and aliases (&name / *name) (limit max_yaml_aliases = 100; raise it with --limit max_yaml_aliases=N or ITB_MAX_YAML_ALIASES=N)
    >>> load_yaml_text("x: !!python/object:os.system ls", source="evil.yaml")
    Traceback (most recent call last):
    ...
    analysis.errors.ITBError: evil.yaml, line 1: YAML tag '!!python/object:os.system' is not allowed; use only plain mappings, lists, text, numbers, true/false and null
    """
    max_bytes = limits.get("max_yaml_mb") * 1_000_000
    if len(text) > max_bytes:
        raise error(f"{source}: the file is larger than {_mb(max_bytes)} MB; a configuration, "
                    f"codebook or design is much smaller: check the file "
                    f"({limits.hint('max_yaml_mb')})")
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise error(f"{source}: not valid YAML ({_one_line(exc)})") from None
        except RecursionError:
            raise error(f"{source}: the YAML is nested too deeply (more than "
                        f"{limits.get('max_yaml_depth')} levels; "
                        f"{limits.hint('max_yaml_depth')})") from None
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
        max_bytes = limits.get("max_yaml_mb") * 1_000_000
        if size > max_bytes:
            raise error(f"{path}: the {what} is larger than {_mb(max_bytes)} MB; check the "
                        f"file ({limits.hint('max_yaml_mb')})")
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


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 1_000_000:g}"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _check(root: yaml.Node, source: str, error: type[ITBError]) -> None:
    """Walk the node graph once per distinct node; refuse aliases, depth, tags beyond bounds."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    aliases = 0
    max_aliases = limits.get("max_yaml_aliases")
    max_depth = limits.get("max_yaml_depth")
    max_nodes = limits.get("max_yaml_nodes")

    def where(node: yaml.Node) -> str:
        return f"{source}, line {node.start_mark.line + 1}"

    def walk(node: yaml.Node, depth: int) -> int:
        nonlocal aliases
        key = id(node)
        if key in on_path:
            raise error(f"{where(node)}: a YAML alias refers to itself (recursive anchor)")
        if key in sizes:  # a second reference to the same node: an alias use
            aliases += 1
            if aliases > max_aliases:
                raise error(f"{source}: too many YAML aliases (more than {max_aliases}); write "
                            "the values out instead of using anchors and aliases (&name / *name)"
                            f" ({limits.hint('max_yaml_aliases')})")
            return sizes[key]
        if depth > max_depth:
            raise error(f"{where(node)}: the YAML is nested more than {max_depth} levels deep "
                        f"({limits.hint('max_yaml_depth')})")
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
        if size > max_nodes:
            raise error(f"{source}: the YAML expands to more than {max_nodes} values (aliases "
                        f"expanded); check the file ({limits.hint('max_yaml_nodes')})")
        return size

    walk(root, 0)
