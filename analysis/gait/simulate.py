"""Simulated motion-lab C3D files (written with ezc3d) for the examples, tests and doctests.

The curves are smooth periodic templates (sums of wrapped Gaussian bumps and sines) with seeded
cycle-to-cycle variation; they look like Plug-in Gait outputs but are **illustrative, not
measured**. Presets:

``baseline``
    the example patient before ITB: slow (about 0.48 m/s), stiff-knee gait with little knee
    flexion in the loading response (about 4-5 deg) and reduced swing flexion;
``post_implant``
    after implantation: speed about doubled (about 0.93 m/s) and more knee flexion in the loading
    response (about 13 deg), as reported for the published case (Arch Phys Med Rehabil 2015);
``control``
    a typical adult at comfortable speed, for a simulated normative set (about 1.3 m/s).

Files follow Vicon Nexus conventions: event times count from the uncropped capture (the file's
first frame, ``TRIAL:ACTUAL_START_FIELD``, is 101), ``POINT:UNITS`` mm, ``POINT:ANGLE_UNITS`` deg.
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class GaitPreset:
    """Parameters of a simulated walker (speeds in m/s, angles in degrees, stance in %)."""

    stride_length: float
    stride_time: float
    stance_pct: float
    knee_ic: float
    knee_lr: float      # height of the loading-response knee bump above knee_ic
    knee_swing: float   # height of the swing knee bump
    hip_range: float
    ankle_range: float


PRESETS: dict[str, GaitPreset] = {
    "baseline": GaitPreset(0.70, 1.46, 67.0, 2.0, 3.0, 36.0, 30.0, 12.0),
    "post_implant": GaitPreset(1.05, 1.13, 63.0, 3.0, 11.0, 48.0, 38.0, 18.0),
    "control": GaitPreset(1.40, 1.08, 61.0, 4.0, 15.0, 58.0, 44.0, 25.0),
}
RATE = 100.0
FIRST_FRAME = 101  # 1-based frame of the uncropped capture at which the file starts


def _bump(p: np.ndarray, centre: float, width: float) -> np.ndarray:
    d = (p - centre + 50.0) % 100.0 - 50.0  # periodic distance in % of the cycle
    return np.exp(-0.5 * (d / width) ** 2)


def _templates(p: np.ndarray, g: GaitPreset, jitter: np.ndarray) -> dict[str, np.ndarray]:
    w = 2 * np.pi * p / 100.0
    knee = (g.knee_ic + g.knee_lr * jitter[0] * _bump(p, 13.0, 6.0)
            + g.knee_swing * jitter[1] * _bump(p, 72.0, 11.0))
    return {
        "KneeAngles": np.stack([knee, 2 * np.sin(w), 5 * np.cos(w)]),
        "HipAngles": np.stack([10 + 0.5 * g.hip_range * np.cos(w - 0.3) * jitter[2],
                               4 * np.sin(w), 3 + 2 * np.cos(w)]),
        "AnkleAngles": np.stack([2 + 0.5 * g.ankle_range * np.sin(w - 1.2), np.zeros_like(p),
                                 -5 + 2 * np.sin(w)]),
        "PelvisAngles": np.stack([10 + 1.5 * np.sin(2 * w), 4 * np.sin(w), 5 * np.cos(w)]),
        "FootProgressAngles": np.stack([np.zeros_like(p), np.zeros_like(p), -8 + 2 * np.sin(w)]),
    }


def simulate_trial(path: str | Path, *, preset: str = "baseline", n_cycles: int = 3,
                   seed: int = 1, subject: str = "", gap: tuple[str, int, int] | None = None,
                   omit_side: str | None = None, drop_first_start: bool = False) -> Path:
    """Write one simulated walking trial as a C3D file and return its path.

    Parameters
    ----------
    path : path
        Output file.
    preset : str
        A key of :data:`PRESETS`.
    n_cycles : int
        Complete cycles per side.
    seed : int
        Seed of the cycle-to-cycle variation and noise.
    subject : str
        Text written to ``SUBJECTS:NAMES`` and ``EVENT:SUBJECTS`` (tests check it never leaks).
    gap : (label, first, last), optional
        Mark frames ``first..last`` (0-based) of point ``label`` as a gap (residual -1).
    omit_side : "Left" or "Right", optional
        Write no events of that side (a malformed file for tests).
    drop_first_start : bool
        Omit ``TRIAL:ACTUAL_START_FIELD`` (the reader then uses the header's first frame).

    Examples
    --------
    >>> import tempfile
    >>> p = simulate_trial(Path(tempfile.mkdtemp()) / "t.c3d", preset="post_implant")
    >>> p.stat().st_size > 0
    True
    """
    import ezc3d

    g = PRESETS[preset]
    rng = np.random.default_rng(seed)
    stride = g.stride_time
    lead = 0.3  # seconds before the first left foot strike
    duration = lead + (n_cycles + 0.6) * stride
    n = int(round(duration * RATE))
    t = np.arange(n) / RATE
    # cycle-to-cycle variation: one factor set per cycle, interpolated smoothly in time
    n_knots = n_cycles + 3
    jit = 1 + 0.04 * rng.standard_normal((3, n_knots))
    labels, data = [], []
    for side, offset in (("L", 0.0), ("R", 0.5)):
        cycle_pos = (t - lead) / stride - offset
        p = (cycle_pos % 1.0) * 100.0
        knots = np.arange(n_knots) - 1.0
        jitter = np.stack([np.interp(cycle_pos, knots, jit[k]) for k in range(3)])
        for name, arr in _templates(p, g, jitter).items():
            labels.append(side + name)
            data.append(arr + 0.05 * rng.standard_normal(arr.shape))
        speed = g.stride_length / stride
        x = speed * t * 1000.0 + 60.0 * np.sin(2 * np.pi * cycle_pos)
        labels.append(side + "HEE")
        data.append(np.stack([x, np.full(n, 100.0 if side == "L" else -100.0),
                              50 + 40 * _bump(p, 75.0, 10.0)]))
    points = np.ones((4, len(labels), n))
    points[:3] = np.stack(data, axis=1)
    residuals = np.zeros((1, len(labels), n))
    if gap is not None:
        label, a, b = gap
        i = labels.index(label)
        points[:3, i, a:b + 1] = np.nan
        residuals[0, i, a:b + 1] = -1

    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = np.array([RATE])
    c3d["parameters"]["POINT"]["LABELS"]["value"] = labels
    c3d["parameters"]["POINT"]["DESCRIPTIONS"]["value"] = [""] * len(labels)
    c3d["data"]["points"] = points
    c3d["data"]["meta_points"]["residuals"] = residuals
    c3d["data"]["meta_points"]["camera_masks"] = np.zeros((7, len(labels), n), dtype=bool)
    c3d.add_parameter("POINT", "UNITS", ["mm"])
    c3d.add_parameter("POINT", "ANGLE_UNITS", ["deg"])
    if not drop_first_start:
        c3d.add_parameter("TRIAL", "ACTUAL_START_FIELD", [FIRST_FRAME, 0])
        c3d.add_parameter("TRIAL", "ACTUAL_END_FIELD", [FIRST_FRAME + n - 1, 0])
    c3d.add_parameter("SUBJECTS", "NAMES", [subject or "walker"])
    c3d["header"]["points"]["first_frame"] = FIRST_FRAME - 1
    events = []
    for side, offset in (("Left", 0.0), ("Right", 0.5)):
        if side == omit_side:
            continue
        for k in range(-1, n_cycles + 1):
            strike = lead + (k + offset) * stride
            off = strike + g.stance_pct / 100.0 * stride
            for time, label in ((strike, "Foot Strike"), (off, "Foot Off")):
                frame_time = round(time * RATE) / RATE  # events on frames, as Nexus marks them
                if 0 <= frame_time <= t[-1]:
                    events.append((frame_time, side, label))
    for time, side, label in sorted(events):
        absolute = time + (FIRST_FRAME - 1) / RATE  # Nexus: from the uncropped capture
        c3d.add_event([0, absolute], context=side, label=label, subject=subject)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    c3d.write(str(path))
    return path


@functools.lru_cache(maxsize=1)
def example_trial_file() -> Path:
    """A simulated baseline trial (2 cycles per side) in a temporary folder, for doctests.

    Examples
    --------
    >>> example_trial_file().suffix
    '.c3d'
    """
    return simulate_trial(Path(tempfile.mkdtemp(prefix="itb-gait-")) / "example.c3d",
                          n_cycles=2, seed=7)


#: Example visits of the case-report patient: visit -> (preset, phase, day), as in
#: data/example/case_report/observations.csv (bl_d5 last baseline day, post_m3 after implantation).
EXAMPLE_VISITS = {"bl_d5": ("baseline", "baseline", -1), "post_m3": ("post_implant", "post_implant", 105)}


def write_example_gait(out_dir: str | Path, *, n_trials: int = 2, n_controls: int = 8,
                       seed: int = 108) -> list[Path]:
    """Write the example patient's simulated C3D trials and a simulated normative table.

    ``out_dir/<visit>_trial<k>.c3d`` for the visits of :data:`EXAMPLE_VISITS` and
    ``out_dir/norms.parquet`` built (with :func:`analysis.gait.importer.build_norms`) from
    ``n_controls`` simulated controls, which are not kept. Illustrative data, not measurements.

    Examples
    --------
    >>> import tempfile
    >>> paths = write_example_gait(Path(tempfile.mkdtemp()), n_trials=1, n_controls=2)
    >>> sorted(p.name for p in paths)
    ['bl_d5_trial1.c3d', 'norms.parquet', 'post_m3_trial1.c3d']
    """
    from analysis.gait.importer import build_norms

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for v, (visit, (preset, _, _)) in enumerate(EXAMPLE_VISITS.items()):
        for k in range(1, n_trials + 1):
            paths.append(simulate_trial(out / f"{visit}_trial{k}.c3d", preset=preset,
                                        seed=seed + 10 * v + k))
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(1, n_controls + 1):
            simulate_trial(Path(tmp) / f"control{k:02d}.c3d", preset="control", seed=seed + 100 + k)
        norms = build_norms(tmp)
    norms.to_parquet(out / "norms.parquet", index=False)
    return paths + [out / "norms.parquet"]
