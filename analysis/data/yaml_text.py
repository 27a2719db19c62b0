"""Names read from YAML are text: an unquoted ``null``, ``yes`` or ``1e3`` is refused.

YAML reads an unquoted ``null`` or ``~`` as nothing, ``yes``/``no``/``true``/``on`` as
booleans and ``1e3`` or ``06`` as numbers, so a study named ``null`` or a visit named ``yes``
would be written as ``None`` or ``True``, and a measure named ``1e3`` as ``1000.0``. Where a
name is expected (a study, visit, measure, family, phase or title), :func:`yaml_name`
accepts text only and names the key and the fix (quotes) otherwise.
"""

from __future__ import annotations

from typing import Any

from analysis.errors import ConfigError, ITBError

_READ_AS = {type(None): "null (nothing)", bool: "true/false", int: "a number",
            float: "a number"}


def yaml_name(value: Any, *, where: str, key: str,
              error: type[ITBError] = ConfigError) -> str:
    """``value`` when it is text, else ``error`` naming the file (``where``) and ``key``.

    Examples
    --------
    >>> yaml_name("baseline", where="study.yaml", key="reference_visit")
    'baseline'
    >>> yaml_name(True, where="study.yaml", key="reference_visit")
    Traceback (most recent call last):
    ...
    analysis.errors.ConfigError: study.yaml: reference_visit: YAML reads this unquoted value as true/false (True), not as a name; write the name in quotes, e.g. "yes", "null" or "1e3"
    """
    if isinstance(value, str):
        return value
    kind = _READ_AS.get(type(value))
    if kind is None:
        raise error(f"{where}: {key}: a name is text, not a {type(value).__name__} "
                    f"({value!r})")
    raise error(f"{where}: {key}: YAML reads this unquoted value as {kind} ({value!r}), not "
                "as a name; write the name in quotes, e.g. \"yes\", \"null\" or \"1e3\"")
