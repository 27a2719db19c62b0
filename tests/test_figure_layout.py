"""Figure layout on generated datasets (issue 21): visits placed by their time, and no two
tick labels or annotations of a rendered figure overlap; data text is drawn as written.

Figures are rendered on the Agg canvas (``fig.canvas.draw()``) and the window extents of
their texts compared (``Text.get_window_extent``).
"""

from __future__ import annotations

import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

sys.path.insert(0, str(Path(__file__).parent))
from report_datasets import BOOK, datasets  # noqa: E402

from analysis.report.plotting import (  # noqa: E402
    mas_distribution,
    phase_plot,
    spaghetti,
    therapeutic_window_plot,
    titration_timeline,
    waterfall,
)

#: A figure whose decorations crowd out its axes is broken even when no labels overlap.
pytestmark = pytest.mark.filterwarnings("error:constrained_layout not applied")

SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                database=None)


def _texts(fig: Figure) -> list:
    """The visible, non-empty x tick labels and annotations of a figure."""
    out = []
    for ax in fig.axes:
        out += [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text().strip()]
        out += [t for t in ax.texts if t.get_visible() and t.get_text().strip()]
    return out


def overlaps(fig: Figure) -> list[tuple[str, str]]:
    """Pairs of texts (tick labels, annotations) whose rendered extents overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _texts(fig)]
    return [(a, b) for (a, ba), (b, bb) in combinations(boxes, 2)
            if ba.width > 0 and bb.width > 0 and ba.overlaps(bb)]


def _figures(obs: pd.DataFrame, labels=None) -> dict[str, Figure]:
    figs = {}
    for m in ("tug", "gait_speed", "mas_knee_ext"):
        rows = obs[obs["measure"] == m]
        if rows.empty:
            continue
        side = str(rows["side"].iloc[0])
        figs[f"spaghetti/{m}"] = spaghetti(obs, measure=m, side=side, codebook=BOOK,
                                           labels=labels)
        if m == "mas_knee_ext":
            figs["mas"] = mas_distribution(obs, measure=m, codebook=BOOK, labels=labels,
                                           levels=list(BOOK.measure(m).levels),
                                           codes=list(BOOK.measure(m).codes))
    one = obs[obs["patient_id"] == obs["patient_id"].iloc[0]]
    if one["day"].notna().all():
        shown = [m for m in ("tug", "mas_knee_ext") if (one["measure"] == m).any()]
        if shown and "dose_ug_day" in one:
            figs["timeline"] = titration_timeline(one.fillna({"dose_ug_day": 0.0}),
                                                  measures=shown, codebook=BOOK)
    return figs


@settings(max_examples=20, **SETTINGS)
@given(datasets(max_patients=12))
def test_no_label_overlaps_on_generated_datasets(spec):
    for name, fig in _figures(spec.obs).items():
        found = overlaps(fig)
        assert not found, f"{name}: {found[:3]}"


def _stress(n_visits: int, close: bool, long_labels: bool, seed: int) -> pd.DataFrame:
    """Many visits, close days (test-infusion days 0, 1, 2, ... then follow-ups months
    later) and long visit labels."""
    rng = np.random.default_rng(seed)
    days = [-7.0] + [float(i) for i in range(n_visits // 2)] if close else \
        [-7.0] + [30.0 * i for i in range(1, n_visits // 2 + 1)]
    days += [182.625 * (i + 1) for i in range(n_visits - len(days))]
    rows = []
    for p in range(6):
        for k, d in enumerate(days):
            visit = f"v{k:02d}"
            for side in ("L", "R"):
                rows.append({"patient_id": f"P{p + 1:02d}", "visit": visit, "day": d,
                             "measure": "mas_knee_ext", "side": side,
                             "value": float(rng.choice([0.0, 1.0, 1.5, 2.0, 3.0])),
                             "phase": "baseline" if d < 0 else
                             "test_infusion" if d < 60 else "post_implant",
                             "dose_ug_day": 0.0 if d < 0 else 50.0 + k})
            rows.append({"patient_id": f"P{p + 1:02d}", "visit": visit, "day": d,
                         "measure": "tug", "side": "", "value": 15 + rng.normal(),
                         "phase": "baseline" if d < 0 else
                         "test_infusion" if d < 60 else "post_implant",
                         "dose_ug_day": 0.0 if d < 0 else 50.0 + k})
    return pd.DataFrame(rows)


def _long(v: str) -> str:
    return f"Follow-up examination number {v[1:]} at the outpatient spasticity clinic"


@settings(max_examples=12, **SETTINGS)
@given(st.integers(1, 14), st.booleans(), st.booleans(), st.integers(0, 100))
def test_no_label_overlaps_with_many_visits_long_labels_close_days(n_visits, close,
                                                                   long_labels, seed):
    obs = _stress(n_visits, close, long_labels, seed)
    labels = _long if long_labels else None
    for name, fig in _figures(obs, labels).items():
        found = overlaps(fig)
        assert not found, f"{name}: {found[:3]}"


def test_visits_by_time_with_a_broken_axis_and_without_day_evenly_spaced():
    obs = _stress(8, close=True, long_labels=False, seed=1)
    fig = spaghetti(obs, measure="tug", codebook=BOOK)
    left, right = fig.axes[:2]
    assert list(left.get_xticks()) == [-7.0, 0.0, 1.0, 2.0, 3.0]
    np.testing.assert_allclose(right.get_xticks(), [6.0, 12.0, 18.0])  # months
    assert [a.get_gid() for a in fig.artists if a.get_gid()] == ["axis_break"] * 4
    even = spaghetti(obs.drop(columns="day"), measure="tug", codebook=BOOK)
    assert len(even.axes) == 1
    assert list(even.axes[0].get_xticks()) == list(range(8))


def test_a_single_visit_has_one_tick_at_its_own_time():
    obs = _stress(8, close=True, long_labels=False, seed=1)
    one = obs[obs["visit"] == "v07"]  # day 548
    fig = spaghetti(one, measure="tug", codebook=BOOK)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert len(ax.get_xticks()) == 1
    assert [t.get_text().split("\n")[-1] for t in ax.get_xticklabels()] == ["month 18"]


HOSTILE = "$\\alpha$ P$1$"


def _no_mathtext(fig: Figure) -> None:
    fig.canvas.draw()
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "_preprocess_math"))]
    shown = [t for t in texts if "alpha" in t.get_text()]
    assert shown, "the hostile label is not drawn"
    for t in shown:
        s, math = t._preprocess_math(t.get_text())
        assert "$\\alpha$" in s, s  # drawn as written
        if math:  # the figure's own symbols may make a label mathtext: the data part stays literal
            assert "\\$\\alpha\\$" in t.get_text()


def test_hostile_labels_are_drawn_as_written():
    obs = _stress(4, close=True, long_labels=False, seed=2)
    hostile = obs.assign(patient_id=obs["patient_id"] + HOSTILE, phase=obs["phase"] + HOSTILE)
    apart = _stress(3, close=False, long_labels=False, seed=2)  # room for names on the ticks
    _no_mathtext(spaghetti(apart, measure="tug", codebook=BOOK, labels=lambda v: HOSTILE + v))
    _no_mathtext(spaghetti(obs.drop(columns="day"), measure="tug", codebook=BOOK,
                           labels=lambda v: HOSTILE + v))
    _no_mathtext(mas_distribution(obs, measure="mas_knee_ext", codebook=BOOK,
                                  labels=lambda v: HOSTILE + v))
    ch = pd.DataFrame({"patient_id": ["P1" + HOSTILE, "P2"], "visit": "v02", "measure": "tug",
                       "value": [15.0, 19.0], "baseline": [20.0, 18.0], "change": [-5.0, 1.0],
                       "improvement": [5.0, -1.0], "side": ""})
    _no_mathtext(waterfall(ch, measure="tug", visit="v02", better="lower", codebook=BOOK))
    one = hostile[hostile["patient_id"] == hostile["patient_id"].iloc[0]]
    _no_mathtext(titration_timeline(one, measures=["tug"], codebook=BOOK))
    _no_mathtext(phase_plot(one[one["measure"] == "tug"], measure="tug", better="lower",
                            codebook=BOOK))
    wt = pd.DataFrame({"patient_id": "P01", "dose_ug_day": [25.0, 50.0],
                       "spasticity_change": [0.0, -1.0], "strength_change": [0.0, 0.0],
                       "spasticity_ok": [False, True], "strength_ok": [True, True],
                       "in_window": [False, True], "side": "L" + HOSTILE})
    _no_mathtext(therapeutic_window_plot(wt, patient_id="P01"))


@pytest.mark.parametrize("n", [1, 2])
def test_overlap_check_finds_overlaps(n):
    """The check itself: two texts drawn at one place overlap."""
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for _ in range(n):
        ax.text(0.5, 0.5, "same place")
    assert bool(overlaps(fig)) == (n == 2)
