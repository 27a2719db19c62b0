"""Gait figures: kinematic curves (mean ± SD per visit, normative band, foot off, SPM clusters)
and the Movement Analysis Profile, on the example patient's C3D files; clinical labels only;
nothing drawn without gait data."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from analysis.errors import InvalidInputError
from analysis.gait.spm import spm_ttest2
from analysis.paths import EXAMPLES
from analysis.report.gait_section import gait_data, gait_section
from analysis.report.plotting.gait import gait_curves, gait_variable_label, map_chart

GAIT = EXAMPLES / "case_report" / "gait"
CODE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b|\buV\b|\bdeg\b|\bug/day\b")


@pytest.fixture(scope="module")
def gd():
    return gait_data(GAIT, patient_id="P01")


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text().strip()]


def test_curves_mean_sd_norms_foot_off_and_clusters(gd):
    fig = gait_curves(gd.curves, variable="knee_flexion", norms=gd.norms, cycles=gd.cycles)
    left, right = fig.axes
    assert left.get_xlabel() == "% gait cycle" and left.get_ylabel() == "Knee flexion (°; flexion +)"
    assert [left.get_title(), right.get_title()] == ["Left", "Right"]
    lines = {ln.get_gid(): ln for ln in left.get_lines() if ln.get_gid()}
    # the mean curve of each visit is the mean of its cycles at every % of the cycle
    for visit in ("bl_d5", "post_m3"):
        rows = gd.curves[(gd.curves["visit"] == visit) & (gd.curves["side"] == "L")
                         & (gd.curves["variable"] == "knee_flexion")]
        expected = rows.groupby("pct")["value"].mean().to_numpy()
        np.testing.assert_allclose(lines[f"mean:{visit}/L"].get_ydata(), expected, rtol=1e-12)
        # foot off at the mean stance % of the visit's included cycles
        cyc = gd.cycles[(gd.cycles["visit"] == visit) & (gd.cycles["side"] == "L")]
        assert lines[f"foot_off:{visit}/L"].get_xdata()[0] == pytest.approx(cyc["stance_pct"].mean())
    # the normative band is mean ± SD of the norms
    band = next(c for c in left.collections if c.get_gid() == "norm/L")
    norm = gd.norms[gd.norms["variable"] == "knee_flexion"].sort_values("pct")
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.max() == pytest.approx((norm["mean"] + norm["sd"]).max())
    assert ys.min() == pytest.approx((norm["mean"] - norm["sd"]).min())
    # clusters: those of spm_ttest2 on the same cycles, p < .05
    a = _matrix(gd.curves, "bl_d5", "L")
    b = _matrix(gd.curves, "post_m3", "L")
    result = spm_ttest2(a, b, seed=2015)
    expected = [f"cluster/L/{c.start:g}-{c.end:g}" for c in result.clusters if c.p_value < 0.05]
    drawn = [g for g in lines if g.startswith("cluster/L/")]
    assert drawn == expected and drawn  # the simulated increase of knee flexion is found
    # each bar covers only supra-threshold points, and its extent in % of the cycle is printed
    pct = np.sort(gd.curves["pct"].unique())
    for c in (c for c in result.clusters if c.p_value < 0.05):
        assert (np.abs(result.t[c.start:c.end + 1]) > result.threshold).all()
        lo, hi = pct[c.start], pct[c.end]
        assert any(f"{lo:.0f}–{hi:.0f}%, {hi - lo:.0f}% of the cycle" in t for t in _texts(fig))
    texts = _texts(fig)
    assert any("3 months after implantation" in t for t in texts)
    assert "Normative mean ± SD" in texts


def _matrix(curves, visit, side):
    rows = curves[(curves["visit"] == visit) & (curves["side"] == side)
                  & (curves["variable"] == "knee_flexion")]
    return rows.pivot_table(index=["trial", "cycle"], columns="pct", values="value").to_numpy()


def test_curves_without_norms_cycles_or_second_visit(gd):
    one = gd.curves[gd.curves["visit"] == "bl_d5"]
    fig = gait_curves(one, sides="R")
    assert len(fig.axes) == 1
    gids = [ln.get_gid() for ln in fig.axes[0].get_lines()]
    assert gids == ["mean:bl_d5/R"]  # no band, foot off or cluster without their data
    assert not [c for c in fig.axes[0].collections if c.get_gid() == "norm/R"]
    with pytest.raises(InvalidInputError, match="no gait curves"):
        gait_curves(one, variable="elbow_flexion")


def test_map_bars_are_the_profile(gd):
    fig = map_chart(gd.profile)
    ax = fig.axes[0]
    bars = {p.get_gid(): p.get_height() for p in ax.patches if p.get_gid()}
    prof = gd.profile.set_index(["measure", "side", "visit"])["value"]
    assert len(bars) == len(prof)
    for (m, s, v), value in prof.items():
        assert bars[f"bar:{m}/{s}/{v}"] == pytest.approx(value)
    assert ax.get_ylabel() == "Gait Variable Score (°)"
    ticks = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
    assert ticks[0] == "Pelvic tilt" and "Knee flexion" in ticks and ticks[-1] == "GPS, overall"


@pytest.mark.parametrize("which", ["curves", "map"])
def test_gait_figure_texts_are_clinical(gd, which):
    fig = (gait_curves(gd.curves, norms=gd.norms, cycles=gd.cycles) if which == "curves"
           else map_chart(gd.profile))
    for text in _texts(fig):
        assert not CODE.search(text), f"internal code in {text!r}"


def test_nothing_without_gait_data(tmp_path):
    assert gait_data(tmp_path, patient_id="P01") is None
    assert gait_section(tmp_path, patient_id="P01") == ""
    assert gait_data(EXAMPLES / "case_series", patient_id="P01") is None
    with pytest.raises(InvalidInputError, match="empty"):
        map_chart(pd.DataFrame(columns=["visit", "measure", "side", "value"]))


def test_section_cites_the_figure_and_has_no_codes(gd):
    md = gait_section(GAIT, patient_id="P01", data=gd, cite="@fig-gait shows the curves.")
    assert "@fig-gait shows the curves." in md.split("\n\n")[1]
    body = re.sub(r"@fig-[\w-]+", "", md)
    assert not CODE.search(body), CODE.search(body)


def test_variable_labels_from_the_codebook():
    assert gait_variable_label("ankle_dorsiflexion") == "ankle dorsiflexion (dorsiflexion +)"
    assert gait_variable_label("foot_progression", convention=False) == "foot progression angle"
