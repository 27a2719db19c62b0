"""The counts a C3D header declares, bounded before ezc3d reads (and allocates for) the data.

The first 512 bytes of a C3D file declare the number of points (word 2), the analog samples
per frame (word 3) and the first and last frame (words 4 and 5), in the byte order of the
processor named in the parameter section. :func:`check_c3d_counts` refuses a file declaring
more than ``max_c3d_points`` points or ``max_c3d_frames`` frames, or larger than
``max_file_mb`` (:mod:`analysis.limits`), before the file is read.
"""

from __future__ import annotations

import struct
from pathlib import Path

from analysis import limits


def declared_counts(path: str | Path) -> tuple[int, int] | None:
    """(points, frames) the header of a C3D file declares, or None when it has no header.

    Examples
    --------
    >>> from analysis.gait.simulate import example_trial_file
    >>> points, frames = declared_counts(example_trial_file())
    >>> points > 0 and frames > 0
    True
    """
    with open(path, "rb") as handle:
        head = handle.read(512)
        if len(head) < 512 or head[1] != 0x50 or head[0] < 2:
            return None
        handle.seek((head[0] - 1) * 512)
        param_head = handle.read(4)
    order = ">" if len(param_head) == 4 and param_head[3] == 86 else "<"  # 86: MIPS
    words = struct.unpack(order + "5H", head[:10])
    points, first, last = words[1], words[3], words[4]
    return points, max(0, last - first + 1)


def check_c3d_counts(path: str | Path, name: str | None = None) -> None:
    """Refuse a C3D file whose size or declared counts exceed the limits (see module docstring).

    Examples
    --------
    >>> from analysis.gait.simulate import example_trial_file
    >>> check_c3d_counts(example_trial_file())
    >>> with limits.overridden({"max_c3d_points": 1}):
    ...     check_c3d_counts(example_trial_file(), "trial.c3d")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analysis.limits.LimitError: trial.c3d: the header declares ... points, more than 1 (limit max_c3d_points = 1; ...)
    """
    path = Path(path)
    name = name or path.name
    size = path.stat().st_size
    limits.check("max_file_mb", size / 1_000_000, name, f"the file is {size / 1_000_000:.3g} MB")
    counts = declared_counts(path)
    if counts is None:
        return  # not a C3D header: the reader says so
    points, frames = counts
    limits.check("max_c3d_points", points, name, f"the header declares {points} points")
    limits.check("max_c3d_frames", frames, name, f"the header declares {frames} frames")
