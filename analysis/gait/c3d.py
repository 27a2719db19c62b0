"""Read a motion-lab C3D file (with ezc3d) into the arrays the gait analysis needs.

What is read, and nothing else
------------------------------
- joint-angle model outputs (Plug-in Gait names ``LKneeAngles``, ``RHipAngles``, ...), in
  degrees: ``POINT:ANGLE_UNITS`` is checked (``deg`` kept, ``rad`` converted, anything else
  refused); angles are never scaled by ``POINT:UNITS`` (the marker unit, usually mm);
- the heel markers (``LHEE``/``RHEE``) in metres, scaled by ``POINT:UNITS``, for stride length;
- gait events of the ``EVENT`` group (``Foot Strike`` / ``Foot Off`` with context ``Left`` /
  ``Right``). Vicon Nexus stores event times from the first frame of the uncropped capture; the
  file's first frame is ``TRIAL:ACTUAL_START_FIELD`` (1-based), so an event at time ``t`` lies at
  the 0-based sample position ``t * rate + 1 - first_frame``. Without that parameter the header's
  first frame is used, with a note.

Text parameters (subject names, descriptions, the ``EVENT:SUBJECTS`` field, file names ...) are
never read into the result: the subject name of one public test file is a birth date plus a sex
code, so every C3D text field is treated as a possible identifier. Markers named with a subject
prefix (``Name:LKneeAngles``) are matched on the part after the colon; the prefix is discarded.

Samples whose residual is negative (a gap in Vicon's convention) are NaN.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis.errors import InvalidInputError
from analysis.gait.c3d_limits import check_c3d_counts

#: Gait variable -> (Plug-in Gait output without the side letter, component 0/1/2).
#: Sign conventions are Plug-in Gait's (flexion, adduction, internal rotation, dorsiflexion,
#: anterior tilt positive).
VARIABLES: dict[str, tuple[str, int]] = {
    "pelvis_tilt": ("PelvisAngles", 0),
    "pelvis_obliquity": ("PelvisAngles", 1),
    "pelvis_rotation": ("PelvisAngles", 2),
    "hip_flexion": ("HipAngles", 0),
    "hip_adduction": ("HipAngles", 1),
    "hip_rotation": ("HipAngles", 2),
    "knee_flexion": ("KneeAngles", 0),
    "ankle_dorsiflexion": ("AnkleAngles", 0),
    "foot_progression": ("FootProgressAngles", 2),
}
#: Variables a file must hold on both sides to be imported.
REQUIRED = ("knee_flexion",)
SIDES = ("L", "R")
_CONTEXT = {"left": "L", "right": "R"}
_KIND = {"foot strike": "foot_strike", "foot off": "foot_off"}
_LENGTH_TO_M = {"mm": 0.001, "cm": 0.01, "m": 1.0}
_DEG_PER = {"deg": 1.0, "degree": 1.0, "degrees": 1.0, "rad": 180.0 / math.pi, "radian": 180.0 / math.pi,
            "radians": 180.0 / math.pi}


@dataclass(frozen=True)
class GaitEvent:
    """One gait event: ``side`` L/R, ``kind`` foot_strike/foot_off, ``position`` in samples
    (0-based, fractional when the event lies between frames) and ``time`` in seconds from the
    file's first sample."""

    side: str
    kind: str
    position: float
    time: float


@dataclass
class Trial:
    """The content of one C3D file used by the gait analysis (no text from the file).

    Attributes
    ----------
    rate : float
        Sampling rate of the points (Hz).
    n_frames : int
        Number of samples.
    angles : dict
        ``(variable, side) -> array (n_frames,)`` in degrees (NaN in gaps).
    heels : dict
        ``side -> array (n_frames, 3)`` heel-marker position in metres (absent without markers).
    events : list of GaitEvent
        Sorted by position; events outside the recorded frames are dropped (see ``notes``).
    notes : list of str
        What was assumed or dropped while reading.
    """

    rate: float
    n_frames: int
    angles: dict[tuple[str, str], np.ndarray]
    heels: dict[str, np.ndarray]
    events: list[GaitEvent]
    notes: list[str] = field(default_factory=list)
    source: str = ""


def read_c3d(path: str | Path) -> Trial:
    """Read one C3D file into a :class:`Trial`; refuse unusable files with a clear message.

    Parameters
    ----------
    path : str or Path
        The C3D file.

    Returns
    -------
    Trial

    Raises
    ------
    InvalidInputError
        Not a C3D file, truncated, no gait events, events of one side only, no knee angles,
        unknown angle unit, or a cropped trial (no complete cycle inside the recorded frames);
        the message names the file and the problem.

    Examples
    --------
    >>> from analysis.gait.simulate import example_trial_file
    >>> t = read_c3d(example_trial_file())
    >>> t.rate, sorted({e.side for e in t.events})
    (100.0, ['L', 'R'])
    """
    path = Path(path)
    name = path.name

    def bad(problem: str) -> InvalidInputError:
        return InvalidInputError(f"{name}: {problem}")

    _check_header(path, bad)
    check_c3d_counts(path, name)  # declared points and frames bounded (analysis.limits)
    import ezc3d  # imported here: the rest of the package does not need it

    try:
        c3d = ezc3d.c3d(str(path))
    except Exception as exc:  # ezc3d raises OSError/RuntimeError with its own wording
        raise bad(f"not a readable C3D file ({type(exc).__name__}: {exc})") from None
    params = c3d["parameters"]
    points = np.asarray(c3d["data"]["points"], dtype=float)  # (4, n_points, n_frames)
    notes: list[str] = []

    rate = _first(params, "POINT", "RATE")
    if rate is None or not float(rate) > 0:
        raise bad("POINT:RATE is missing or not positive")
    rate = float(rate)
    header = c3d["header"]["points"]
    n_frames = points.shape[2]
    scale = _first(params, "POINT", "SCALE")
    expected = _declared_frames(path, is_float=scale is None or float(scale) < 0)
    # ezc3d shortens a truncated file's frame count silently: compare with the raw header
    if expected is not None and n_frames < expected:
        raise bad(f"truncated file: {n_frames} of the {expected} frames it declares are present")

    labels = [_strip_prefix(str(x)) for x in _values(params, "POINT", "LABELS")]
    index = {lab: i for i, lab in enumerate(labels)}
    residuals = np.asarray(c3d["data"]["meta_points"]["residuals"], dtype=float)[0]
    xyz = points[:3].copy()
    xyz[:, residuals < 0] = np.nan

    unit = _first(params, "POINT", "ANGLE_UNITS")
    if unit is None:
        factor = 1.0
        notes.append("POINT:ANGLE_UNITS is missing: angles taken as degrees")
    else:
        key = str(unit).strip().lower()
        if key not in _DEG_PER:
            raise bad(f"POINT:ANGLE_UNITS is {unit!r}; expected deg or rad")
        factor = _DEG_PER[key]
        if factor != 1.0:
            notes.append(f"angles converted from {unit} to degrees")
    angles: dict[tuple[str, str], np.ndarray] = {}
    for var, (output, comp) in VARIABLES.items():
        for side in SIDES:
            i = index.get(side + output)
            if i is not None:
                angles[(var, side)] = xyz[comp, i, :] * factor
    for var in REQUIRED:
        missing = [s for s in SIDES if (var, s) not in angles]
        if missing:
            outputs = " and ".join(s + VARIABLES[var][0] for s in missing)
            raise bad(f"no {outputs} in the file: export the model outputs (Plug-in Gait angles)")

    length = str(_first(params, "POINT", "UNITS") or "mm").strip().lower()
    heels: dict[str, np.ndarray] = {}
    if length in _LENGTH_TO_M:
        for side in SIDES:
            i = index.get(side + "HEE")
            if i is not None:
                heels[side] = xyz[:, i, :].T * _LENGTH_TO_M[length]
    else:
        notes.append(f"POINT:UNITS {length!r} is not a length unit: stride length not computed")

    first = _frame_number(_values(params, "TRIAL", "ACTUAL_START_FIELD"))
    if first is None:
        first = int(header["first_frame"]) + 1  # ezc3d's header first frame is 0-based
        notes.append("TRIAL:ACTUAL_START_FIELD is missing: event times taken from the header's "
                     "first frame")
    events = _events(params, rate=rate, first_frame=int(first), n_frames=n_frames, bad=bad,
                     notes=notes)
    return Trial(rate=rate, n_frames=n_frames, angles=angles, heels=heels, events=events,
                 notes=notes, source=name)


def _check_header(path: Path, bad) -> None:
    if not path.is_file():
        raise bad("file not found")
    with open(path, "rb") as handle:
        head = handle.read(512)
    # Byte 2 of every C3D file is 0x50 (the C3D "key"); byte 1 points at the parameter block.
    if len(head) < 512 or head[1] != 0x50 or head[0] < 2:
        raise bad("not a C3D file (the header's key byte 0x50 is missing)")
    size = path.stat().st_size
    if size < (head[0] - 1) * 512 + 4:
        raise bad("truncated file: it ends before its parameter section")
    with open(path, "rb") as handle:
        handle.seek((head[0] - 1) * 512)
        param_head = handle.read(4)
    order = ">" if param_head[3] == 86 else "<"  # processor 86: MIPS (big-endian)
    data_start = struct.unpack(order + "H", head[16:18])[0]
    if size < (data_start - 1) * 512:
        raise bad("truncated file: it ends before its data section")


def _declared_frames(path: Path, *, is_float: bool) -> int | None:
    """Frames the raw header declares, when the file is too short to hold them all, the number
    of complete frames it does hold is smaller (None when the header cannot tell)."""
    with open(path, "rb") as handle:
        head = handle.read(512)
        handle.seek((head[0] - 1) * 512)
        param_head = handle.read(4)
    order = ">" if len(param_head) == 4 and param_head[3] == 86 else "<"  # 86: MIPS (big-endian)
    words = struct.unpack(order + "10H", head[:20])
    n_points, n_analog, first, last, data_start = words[1], words[2], words[3], words[4], words[8]
    if last < first or last >= 65535 or data_start < 2:
        return None
    frames = last - first + 1
    per_frame = (n_points * 4 + n_analog) * (4 if is_float else 2)
    if per_frame == 0:
        return None
    available = (path.stat().st_size - (data_start - 1) * 512) // per_frame
    return frames if available < frames else None


def _events(params: dict, *, rate: float, first_frame: int, n_frames: int, bad,
            notes: list[str]) -> list[GaitEvent]:
    group = params.get("EVENT")
    used = _first(params, "EVENT", "USED") if group else None
    if not group or not used:
        raise bad("no gait events (the EVENT group is missing or empty): mark Foot Strike and "
                  "Foot Off events for both sides before export")
    n = int(used)
    contexts = [str(x).strip().lower() for x in _values(params, "EVENT", "CONTEXTS")][:n]
    kinds = [str(x).strip().lower() for x in _values(params, "EVENT", "LABELS")][:n]
    times = np.asarray(_values(params, "EVENT", "TIMES"), dtype=float)
    if times.ndim != 2 or times.shape[1] < n or len(contexts) < n or len(kinds) < n:
        raise bad("the EVENT group is malformed (TIMES, CONTEXTS and LABELS do not match USED)")
    seconds = times[0, :n] * 60.0 + times[1, :n]  # row 0 minutes, row 1 seconds (C3D standard)
    events, outside = [], 0
    for ctx, kind, t in zip(contexts, kinds, seconds):
        if ctx not in _CONTEXT or kind not in _KIND:
            continue  # general events (e.g. "Event") play no part in the cycles
        pos = t * rate + 1 - first_frame
        if pos < -1e-6 or pos > n_frames - 1 + 1e-6:
            outside += 1
            continue
        pos = min(max(pos, 0.0), n_frames - 1.0)
        events.append(GaitEvent(_CONTEXT[ctx], _KIND[kind], pos, pos / rate))
    if outside:
        notes.append(f"{outside} event(s) lie outside the recorded frames and were ignored")
    strikes = {e.side for e in events if e.kind == "foot_strike"}
    if not events:
        raise bad("cropped trial or misplaced events: no Foot Strike/Foot Off event with context "
                  "Left/Right lies inside the recorded frames")
    if strikes != set(SIDES):
        have = ", ".join(sorted(strikes)) or "no side"
        raise bad(f"foot strikes of one side only ({have}): both sides are needed for the gait "
                  "cycles and loading response")
    complete = [s for s in SIDES if sum(e.side == s and e.kind == "foot_strike" for e in events) >= 2]
    if not complete:
        raise bad("cropped trial: no side has two foot strikes inside the recorded frames, so no "
                  "complete gait cycle")
    return sorted(events, key=lambda e: (e.position, e.side, e.kind))


def _values(params: dict, group: str, name: str) -> list:
    try:
        value = params[group][name]["value"]
    except (KeyError, TypeError):
        return []
    if isinstance(value, np.ndarray):
        return value.tolist() if value.ndim else [value.item()]
    return list(value)


def _first(params: dict, group: str, name: str):
    values = _values(params, group, name)
    while values and isinstance(values, list) and isinstance(values[0], list):
        values = values[0]
    return values[0] if values else None


def _frame_number(words: list) -> int | None:
    """A frame number stored as two signed 16-bit words (low, high), as Nexus writes
    ``TRIAL:ACTUAL_START_FIELD``; one word is taken as the number itself."""
    flat = np.asarray(words, dtype=float).ravel()
    if flat.size == 0:
        return None
    low = int(flat[0]) % 65536
    high = int(flat[1]) % 65536 if flat.size > 1 else 0
    return low + 65536 * high


def _strip_prefix(label: str) -> str:
    return label.split(":")[-1].strip()
