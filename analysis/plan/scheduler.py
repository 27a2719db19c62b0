"""The ``--scheduler`` address of ``itb plan``, checked before anything runs.

Accepted: ``tcp://HOST:PORT``, ``tls://HOST:PORT``, ``ucx://HOST:PORT``, ``ws://HOST:PORT``,
``wss://HOST:PORT`` (HOST a name, an IPv4 address or ``[IPv6]``; PORT 1-65535), ``HOST:PORT``
(TCP), ``inproc://...`` (a scheduler in this process), or the path of an existing scheduler
file (JSON, written by ``dask scheduler --scheduler-file``). Anything else is refused with
one line naming the forms; a scheduler that cannot be reached is one line too
(:func:`analysis.plan.runner.power_simulation`).
"""

from __future__ import annotations

import re
from pathlib import Path

from analysis.errors import ITBError

_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}" \
        r"[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])"
_ADDRESS = re.compile(rf"^(?:(?:tcp|tls|ucx|ws|wss)://)?{_HOST}:(?P<port>\d{{1,5}})$")
_INPROC = re.compile(r"^inproc://[\w.\-/]+$")
FORMS = ("tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786), tls://HOST:PORT, HOST:PORT, or the path "
         "of a scheduler file written by `dask scheduler --scheduler-file FILE`")


def scheduler_target(address: str) -> dict[str, str]:
    """The keyword arguments of ``dask.distributed.Client`` for ``address``, or ITBError.

    Examples
    --------
    >>> scheduler_target("tcp://10.0.0.5:8786")
    {'address': 'tcp://10.0.0.5:8786'}
    >>> scheduler_target("::not@an//address")
    Traceback (most recent call last):
    ...
    analysis.errors.ITBError: --scheduler '::not@an//address' is not a dask scheduler address; give tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786), tls://HOST:PORT, HOST:PORT, or the path of a scheduler file written by `dask scheduler --scheduler-file FILE`
    """
    text = str(address).strip()
    match = _ADDRESS.match(text)
    if match and 1 <= int(match["port"]) <= 65535:
        return {"address": text}
    if _INPROC.match(text):
        return {"address": text}
    if "://" not in text and Path(text).is_file():
        return {"scheduler_file": text}
    raise ITBError(f"--scheduler {address!r} is not a dask scheduler address; give {FORMS}")
