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

Sanity checks (each refusal names the file, what is wrong, the value and the rule):

- several subjects in one file (point-label prefixes ``Alice:``/``Bob:``, or ``SUBJECTS:USED``
  above 1 with ``SUBJECTS:NAMES``/``LABEL_PREFIXES``) are refused unless ``subject=`` (CLI
  ``--subject``) chooses one; the message lists the subjects found (the names are shown to the
  user, never written to an output). Only the chosen subject's points, and the events whose
  ``EVENT:SUBJECTS`` names it, are read. One subject, prefixed or not, needs no choice;
- radians labelled as degrees: when every knee, hip and ankle sagittal angle of the whole trial
  lies within +-pi although the file says degrees (knee flexion spans about 50-70 degrees over
  a gait cycle, and even a stiff knee more than 10), the file is **refused, not converted**. A
  unit that contradicts the data means the export is not what the lab thinks it is; converting
  would hide that and guess which of the two is wrong, and a wrong guess gives plausible but
  false curves. The fix is at the source (``POINT:ANGLE_UNITS`` ``rad``, which is converted,
  or angles exported in degrees). Likewise angles declared ``rad`` beyond +-2 pi are refused;
- a gait event marked twice (same context, label and time, within half a sample) is refused
  rather than giving zero-length cycles;
- a file with no frames is refused.

Samples whose residual is negative (a gap in Vicon's convention) are NaN.
"""

from __future__ import annotations

import itertools
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis.errors import InvalidInputError

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


def read_c3d(path: str | Path, *, subject: str | None = None) -> Trial:
    """Read one C3D file into a :class:`Trial`; refuse unusable files with a clear message.

    Parameters
    ----------
    path : str or Path
        The C3D file.
    subject : str, optional
        The subject to read from a file holding several (its ``SUBJECTS:NAMES`` entry or its
        point-label prefix); needed only then. When given, the file must hold that subject.

    Returns
    -------
    Trial

    Raises
    ------
    InvalidInputError
        Not a C3D file, truncated, no frames, several subjects and none chosen, no gait events,
        events of one side only, a duplicated event, no knee angles, unknown angle unit or
        angles whose range contradicts their unit, or a cropped trial (no complete cycle inside
        the recorded frames); the message names the file and the problem.

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
    _check_frames(path, bad)
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
    if n_frames == 0:
        raise bad("no frames: the file holds no samples (POINT data of 0 frames); export the "
                  "trial again with its frames")

    index, event_subject = _subject_points(params, subject, bad)
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
    _check_angle_range(angles, unit=unit, factor=factor, bad=bad)
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
                     notes=notes, subject=event_subject)
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


def _check_frames(path: Path, bad) -> None:
    """Refuse a file without frames before ezc3d reads it (ezc3d fails with its own words)."""
    with open(path, "rb") as handle:
        head = handle.read(512)
        handle.seek((head[0] - 1) * 512)
        param_head = handle.read(4)
    order = ">" if len(param_head) == 4 and param_head[3] == 86 else "<"  # 86: MIPS
    first, last, data_start = (struct.unpack(order + "10H", head[:20])[k] for k in (3, 4, 8))
    if last + 1 == first:
        raise bad(f"no frames: the header's frames run from {first} to {last}; export the trial "
                  "again with its frames")
    if data_start >= 2 and path.stat().st_size <= (data_start - 1) * 512:
        raise bad("no frames: the data section is empty; export the trial again with its frames")


def _subject_points(params: dict, subject: str | None, bad) -> tuple[dict[str, int], str | None]:
    """Point label (prefix removed) -> index, of the chosen (or only) subject, and the name its
    events carry in ``EVENT:SUBJECTS`` (None: every event is the subject's)."""
    raw = [str(x) for x in _values(params, "POINT", "LABELS")]
    subjects = _subjects(params, raw)
    if subject is None:
        if len(subjects) > 1:
            raise bad(f"the file holds {len(subjects)} subjects ({_listing(subjects)}): choose "
                      "one with --subject NAME (itb gait import; subject= in Python) or export "
                      "one subject per file")
        name, prefix = subjects[0] if subjects else ("", "")
    else:
        matches = [s for s in subjects if subject.strip() in s]
        if not matches:
            raise bad(f"--subject {subject!r} is not in the file; subjects found: "
                      f"{_listing(subjects) or 'none (no SUBJECTS:NAMES, no label prefixes)'}")
        name, prefix = matches[0]
    if len(subjects) > 1 and sum(p == prefix for _, p in subjects) > 1:
        raise bad(f"the file holds {len(subjects)} subjects ({_listing(subjects)}) but their "
                  "point labels carry no subject prefix, so their angles cannot be told apart; "
                  "export one subject per file")
    index: dict[str, int] = {}
    for i, label in enumerate(raw):
        own, base = _split_label(label)
        if own == prefix:
            index[base] = i
        elif own == "":
            index.setdefault(base, i)  # points without a prefix (none of the subject's own)
    return index, (name or prefix) if len(subjects) > 1 else None


def _subjects(params: dict, labels: list[str]) -> list[tuple[str, str]]:
    """The subjects of a file as ``(name, label prefix)``, from ``SUBJECTS`` and the labels."""
    used = _first(params, "SUBJECTS", "USED")
    n = int(used) if used is not None else 0
    names = [str(x).strip() for x in _values(params, "SUBJECTS", "NAMES")][:n]
    declared = [str(x).strip().rstrip(":").strip()
                for x in _values(params, "SUBJECTS", "LABEL_PREFIXES")][:n]
    prefixes = list(dict.fromkeys(p for p, _ in map(_split_label, labels) if p))
    out: list[tuple[str, str]] = []
    for k, name in enumerate(names):
        prefix = declared[k] if k < len(declared) else ""
        if not prefix and name in prefixes:
            prefix = name
        if name or prefix:
            out.append((name or prefix, prefix))
    out += [(p, p) for p in prefixes if p not in {q for _, q in out}]
    return list(dict.fromkeys(out))


def _listing(subjects: list[tuple[str, str]]) -> str:
    return ", ".join(name if prefix in ("", name) else f"{name} (prefix {prefix}:)"
                     for name, prefix in subjects)


def _split_label(label: str) -> tuple[str, str]:
    """``"Alice:LKneeAngles"`` -> ``("Alice", "LKneeAngles")``; no prefix -> ``("", label)``."""
    prefix, _, base = label.rpartition(":")
    return prefix.strip(), base.strip()


#: Sagittal angles whose range over a walking trial tells degrees from radians.
_RANGE_CHECKED = ("knee_flexion", "hip_flexion", "ankle_dorsiflexion")


def _check_angle_range(angles: dict[tuple[str, str], np.ndarray], *, unit, factor: float,
                       bad) -> None:
    """Refuse angles whose values contradict their declared unit (see the module doc)."""
    seen = {key: angles[key][np.isfinite(angles[key])] for key in angles
            if key[0] in _RANGE_CHECKED}
    seen = {key: v for key, v in seen.items() if v.size}
    knees = [key for key in seen if key[0] == "knee_flexion"]
    if not knees:
        return
    declared = (f"declared unit {unit!r} (POINT:ANGLE_UNITS)" if unit is not None
                else "no POINT:ANGLE_UNITS, so degrees")
    knee = max(knees, key=lambda k: np.ptp(seen[k]))
    label = knee[1] + VARIABLES[knee[0]][0]
    raw = seen[knee] / factor
    observed = f"{raw.min():.3g} to {raw.max():.3g}"
    if factor == 1.0 and all(np.abs(v).max() <= math.pi + 1e-3 for v in seen.values()):
        raise bad(f"point '{label}': {declared}, but its flexion spans only {observed} over the "
                  "whole trial and every knee, hip and ankle angle lies within +-pi: radians "
                  "labelled as degrees (knee flexion spans about 50-70 degrees over a gait "
                  "cycle). Refused, not converted: set POINT:ANGLE_UNITS to rad or export the "
                  "angles in degrees")
    if factor != 1.0 and np.abs(raw).max() > 2 * math.pi + 1e-3:
        raise bad(f"point '{label}': {declared}, but its flexion spans {observed} over the whole "
                  "trial, beyond +-2 pi: degrees labelled as radians. Refused, not converted: "
                  "set POINT:ANGLE_UNITS to deg")


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
            notes: list[str], subject: str | None = None) -> list[GaitEvent]:
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
    keep = _subject_events(params, subject, n, notes, bad)
    contexts, kinds, seconds = ([x for x, k in zip(seq, keep, strict=False) if k]
                                for seq in (contexts, kinds, seconds))
    _check_duplicates(contexts, kinds, seconds, rate=rate, bad=bad)
    events, outside = [], 0
    for ctx, kind, t in zip(contexts, kinds, seconds, strict=False):
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


def _subject_events(params: dict, subject: str | None, n: int, notes: list[str],
                    bad) -> list[bool]:
    """Which of the ``n`` events belong to ``subject`` (all when None or not recorded)."""
    if subject is None:
        return [True] * n
    owners = [str(x).strip() for x in _values(params, "EVENT", "SUBJECTS")][:n]
    if len(owners) < n or not any(owners):
        notes.append("EVENT:SUBJECTS is missing: every event taken as the chosen subject's")
        return [True] * n
    keep = [owner == subject for owner in owners]
    if not any(keep):
        raise bad(f"no event of subject {subject!r}: EVENT:SUBJECTS names only "
                  f"{', '.join(sorted(set(owners) - {''}))}; mark the subject's gait events")
    return keep


def _check_duplicates(contexts: list[str], kinds: list[str], seconds, *, rate: float,
                      bad) -> None:
    """Refuse a gait event marked twice (same context and label within half a sample)."""
    marked: dict[tuple[str, str], list[float]] = {}
    for ctx, kind, t in zip(contexts, kinds, seconds, strict=False):
        if ctx in _CONTEXT and kind in _KIND:
            marked.setdefault((ctx, kind), []).append(float(t))
    for (ctx, kind), ts in marked.items():
        ts = sorted(ts)
        for a, b in itertools.pairwise(ts):
            if (b - a) * rate < 0.5:
                copies = sum(abs(t - a) * rate < 0.5 for t in ts)
                raise bad(f"duplicate event: {ctx.title()} {kind.title()} at {a:.3f} s "
                          f"(EVENT:TIMES) is marked {copies} times; each gait event must be "
                          "marked once (a copy gives a zero-length cycle): delete the copy and "
                          "export again")


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
