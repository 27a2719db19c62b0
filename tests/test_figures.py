"""Figures: each function on small hand-built data, checked through its artists (data
coordinates of lines, bars and spans), plus byte-stable saving."""

from __future__ import annotations

import re

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.text import Text

from analysis.report.plotting import (
    COLUMN_WIDTH,
    PAGE_WIDTH,
    InvalidInputError,
    forest,
    mas_distribution,
    phase_plot,
    save_figure,
    slope_plot,
    spaghetti,
    therapeutic_window_plot,
    titration_timeline,
    use_theme,
    waterfall,
)
from analysis.report.plotting.theme import IMPROVED, UNCHANGED, WORSENED
from analysis.results import result_frame

VISITS = [("post_m6", 180.0), ("baseline", -7.0), ("ti_d3", 3.0)]  # deliberately out of order


@pytest.fixture
def obs() -> pd.DataFrame:
    rng = np.random.default_rng(20261124)
    rows = []
    for p in range(5):
        for v, d in VISITS:
            rows.append({"patient_id": f"P{p + 1}", "visit": v, "measure": "tug",
                         "value": 20 - d / 30 + rng.normal(), "day": d, "side": "",
                         "unit": "s", "phase": "baseline" if d < 0 else "test_infusion",
                         "dose_ug_day": 0.0 if d < 0 else 100.0})
    return pd.DataFrame(rows)


@pytest.fixture
def changes() -> pd.DataFrame:
    base = np.array([20.0, 18.0, 25.0, 22.0])
    value = np.array([15.0, 19.0, 25.0, 21.0])
    ch = value - base
    return pd.DataFrame({"patient_id": ["P1", "P2", "P3", "P4"], "visit": "post_m6",
                         "measure": "tug", "value": value, "baseline": base, "change": ch,
                         "improvement": -ch, "side": "", "unit": "s"})


def test_spaghetti_one_line_per_patient_and_emmeans(obs):
    em = result_frame([{"measure": "tug", "analysis": "lmm_emmean", "term": v,
                        "estimate": 20 - d / 30, "ci_low": 19 - d / 30, "ci_high": 21 - d / 30}
                       for v, d in VISITS])
    fig = spaghetti(obs, measure="tug", emmeans=em)
    assert isinstance(fig, Figure)
    # with day: visits at their time, the axis broken between day 3 and month 6
    left, right = fig.axes[:2]
    grey = [ln for ln in left.get_lines() if str(ln.get_gid()).startswith("patient:")]
    assert [ln.get_gid() for ln in grey] == [f"patient:P{i}" for i in range(1, 6)]
    assert [t.get_text() for t in left.get_xticklabels()] == ["baseline\nday -7",
                                                               "test infusion\nday 3\nday 3"]
    assert [t.get_text() for t in right.get_xticklabels()] == [
        "6 months after\nimplantation\nmonth 6"]
    np.testing.assert_allclose(left.get_xticks(), [-7, 3])
    np.testing.assert_allclose(right.get_xticks(), [180 / 30.4375])
    p1 = obs[obs.patient_id == "P1"].set_index("visit")["value"]
    np.testing.assert_allclose(grey[0].get_xdata(), [-7, 3])
    np.testing.assert_allclose(grey[0].get_ydata(), p1[["baseline", "ti_d3"]])
    # estimated marginal means at their visit's time, in their panel
    np.testing.assert_allclose(left.containers[0].lines[0].get_data()[0], [-7, 3])
    x, y = right.containers[0].lines[0].get_data()
    np.testing.assert_allclose(x, [180 / 30.4375])
    np.testing.assert_allclose(y, [20 - 6])
    # without day: evenly spaced categories in day order, as before
    fig = spaghetti(obs.drop(columns="day"), measure="tug", emmeans=em)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "6 months after\nimplantation", "baseline", "test infusion\nday 3"]
    container = ax.containers[0]
    x, y = container.lines[0].get_data()
    np.testing.assert_allclose(x, [0, 1, 2])  # post_m6, baseline, ti_d3: first appearance
    np.testing.assert_allclose(y, [20 - 6, 20 + 7 / 30, 20 - 0.1])
    seg = container.lines[2][0].get_segments()[1]  # baseline
    np.testing.assert_allclose(seg[:, 1], [19 + 7 / 30, 21 + 7 / 30])
    assert fig.get_size_inches()[0] == COLUMN_WIDTH


def test_spaghetti_errors(obs):
    with pytest.raises(InvalidInputError, match="no rows of measure 'gait'"):
        spaghetti(obs, measure="gait")
    em = result_frame([{"measure": "tug", "analysis": "lmm_emmean", "term": "post_m12",
                        "estimate": 1.0}])
    with pytest.raises(InvalidInputError, match="post_m12"):
        spaghetti(obs, measure="tug", emmeans=em)
    with pytest.raises(InvalidInputError, match="no lmm_emmean"):
        spaghetti(obs, measure="tug", emmeans=result_frame([]))
    assert spaghetti(obs, measure="tug", width="page").get_size_inches()[0] == PAGE_WIDTH


def test_spaghetti_sides_make_separate_lines(obs):
    two = pd.concat([obs.assign(side="L"), obs.assign(side="R")], ignore_index=True)
    gids = [ln.get_gid() for ln in spaghetti(two, measure="tug").axes[0].get_lines()]
    assert len(gids) == 10 and gids[:2] == ["patient:P1/L", "patient:P1/R"]
    assert len(spaghetti(two, measure="tug", side="L").axes[0].get_lines()) == 5


def test_slope_plot_colours_by_direction(changes):
    ax = slope_plot(changes, measure="tug", visit="post_m6").axes[0]
    lines = ax.get_lines()
    assert len(lines) == 4
    # lower is better for TUG: P1 improved (-5), P2 worsened (+1), P3 unchanged, P4 improved
    assert [to_hex(ln.get_color()).upper() for ln in lines] == [
        IMPROVED.upper(), WORSENED.upper(), UNCHANGED.upper(), IMPROVED.upper()]
    np.testing.assert_allclose(lines[0].get_ydata(), [20.0, 15.0])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Improved (n = 2)", "Unchanged (n = 1)", "Worsened (n = 1)"]


def test_waterfall_sorted_bars_and_mcid_lines(changes):
    fig = waterfall(changes, measure="tug", visit="post_m6", mcid=2.0, better="lower")
    ax = fig.axes[0]
    heights = [b.get_height() for b in ax.patches]
    assert heights == sorted(changes["change"], reverse=True)  # [1, 0, -1, -5]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["P2", "P3", "P4", "P1"]
    # lower is better: the improvement MCID line sits at -2, the worsening one at +2
    dashed = {ln.get_label(): ln.get_ydata()[0] for ln in ax.get_lines()
              if ln.get_linestyle() == "--"}
    assert dashed == {"MCID: improved": -2.0, "MCID: worsened": 2.0}
    texts = [t.get_text() for t in ax.texts]
    assert "MCID: improved (-2.00)" in texts and "MCID: worsened (+2.00)" in texts
    # only P1 (change -5) passes the MCID; -1 and +1 are within it
    colours = [to_hex(b.get_facecolor()).upper() for b in ax.patches]
    assert colours == [UNCHANGED.upper()] * 3 + [IMPROVED.upper()]


def test_waterfall_rejects_bad_options(changes):
    with pytest.raises(InvalidInputError, match="towards_normal"):
        waterfall(changes, measure="tug", visit="post_m6", better="towards_normal")
    with pytest.raises(InvalidInputError, match="mcid must be a positive"):
        waterfall(changes, measure="tug", visit="post_m6", mcid=-1)
    with pytest.raises(InvalidInputError, match="post_m3"):
        waterfall(changes, measure="tug", visit="post_m3")


def test_forest_rows_ci_and_labels():
    res = result_frame([
        {"measure": "tug", "analysis": "cohens_dz", "term": "post_m6 - baseline",
         "estimate": -1.5, "ci_low": -2.4, "ci_high": -0.56},
        {"measure": "tug", "analysis": "hedges_gav", "term": "post_m6 - baseline",
         "estimate": -1.0, "ci_low": -1.8, "ci_high": -0.4},
        {"measure": "tug", "analysis": "paired_t", "term": "post_m6 - baseline",
         "statistic": 4.0},
        {"measure": "gait_speed", "analysis": "cohens_dz", "term": "post_m3 - baseline",
         "estimate": 0.8, "ci_low": 0.1, "ci_high": 1.5},
    ])
    ax = forest(res).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Gait speed, 10-metre walk test, comfortable pace, 3 months after "
                      "implantation: Cohen's $d_z$",
                      "Timed Up and Go, 6 months after implantation: Cohen's $d_z$",
                      "Timed Up and Go, 6 months after implantation: Hedges' $g_{av}$"]
    assert len(ax.containers) == 3
    seg = ax.containers[1].lines[2][0].get_segments()[0]  # tug d_z
    np.testing.assert_allclose(seg[:, 0], [-2.4, -0.56])
    zero = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [0, 0]]
    assert len(zero) == 1
    one = forest(res, visit="post_m6").axes[0]
    assert [t.get_text() for t in one.get_yticklabels()] == [
        "Timed Up and Go: Cohen's $d_z$", "Timed Up and Go: Hedges' $g_{av}$"]
    assert one.get_xlabel() == ("Effect size (95% CI), 6 months after implantation against\n"
                                "baseline")
    with pytest.raises(InvalidInputError):
        forest(res, visit="post_m12")


def test_mas_distribution_shares():
    obs = pd.DataFrame({
        "patient_id": ["P1", "P2", "P3", "P4"] * 2,
        "visit": ["baseline"] * 4 + ["post_m6"] * 4, "day": [-1.0] * 4 + [180.0] * 4,
        "measure": "mas_knee_ext", "value": [2, 2, 1.5, 3, 1, 1, 0, 1.5]})
    ax = mas_distribution(obs, measure="mas_knee_ext").axes[0]
    assert len(ax.containers) == 6  # one bar series per level
    share = np.array([[p.get_height() for p in c] for c in ax.containers])  # level x visit
    np.testing.assert_allclose(share.sum(axis=0), [100, 100])
    np.testing.assert_allclose(share[:, 0], [0, 0, 25, 50, 25, 0])  # baseline: 1+, 2, 2, 3
    np.testing.assert_allclose(share[:, 1], [25, 50, 25, 0, 0, 0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["4", "3", "2", "1+", "1",
                                                                   "0"]
    assert ax.get_legend().get_title().get_text() == "Grade"
    # the count of each bar under its visit (labels kept apart, not annotations over bars)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "baseline\n(n = 4)", "6 months after\nimplantation\n(n = 4)"]
    with pytest.raises(InvalidInputError, match="match none of the codes"):
        mas_distribution(obs.assign(value=2.5), measure="mas_knee_ext")


def _one_patient() -> pd.DataFrame:
    days = [-7.0, -1.0, 1.0, 2.0, 3.0, 4.0, 120.0, 180.0]
    dose = [0.0, 0.0, 25.0, 50.0, 75.0, 108.0, 108.0, 120.0]
    phase = ["baseline"] * 2 + ["test_infusion"] * 4 + ["post_implant"] * 2
    rows = []
    for d, q, ph in zip(days, dose, phase, strict=False):
        rows.append({"patient_id": "P01", "visit": f"d{d:g}", "measure": "tug",
                     "value": 20 - q / 20, "day": d, "dose_ug_day": q, "phase": ph,
                     "side": "", "unit": "s"})
        for s in "LR":
            rows.append({"patient_id": "P01", "visit": f"d{d:g}", "measure": "mas_knee_ext",
                         "value": 2.0 if q < 50 else 1.0, "day": d, "dose_ug_day": q,
                         "phase": ph, "side": s, "unit": "grade"})
    return pd.DataFrame(rows)


def test_titration_timeline_panels_dose_and_phases():
    one = _one_patient()
    fig = titration_timeline(one, measures=["tug", "mas_knee_ext"])
    axes = np.array(fig.axes).reshape(3, 2)  # (tug, mas, dose) x (titration, post-implant)
    dose_left = axes[2, 0].get_lines()[0]
    assert dose_left.get_drawstyle() == "steps-post"
    np.testing.assert_allclose(dose_left.get_xdata(), [-7, -1, 1, 2, 3, 4])
    np.testing.assert_allclose(dose_left.get_ydata(), [0, 0, 25, 50, 75, 108])
    np.testing.assert_allclose(axes[2, 1].get_lines()[0].get_ydata(), [108, 120])
    assert len(axes[1, 0].get_lines()) == 2  # sides L and R
    # post-implant days live only in the right column, so the titration is not squashed
    assert axes[0, 0].get_xlim()[1] < 10 and axes[0, 1].get_xlim()[0] > 100
    spans = {p.get_gid(): (p.get_x(), p.get_x() + p.get_width()) for p in axes[0, 0].patches}
    assert spans["phase:baseline"] == pytest.approx((-7.5, 0.0))
    assert spans["phase:test_infusion"] == pytest.approx((0.0, 4.5))
    texts = [t.get_text() for t in axes[0, 0].texts] + [t.get_text() for t in axes[0, 1].texts]
    assert texts == ["Baseline", "Test infusion", "After implantation"]
    with pytest.raises(InvalidInputError, match="one patient"):
        titration_timeline(pd.concat([one, one.assign(patient_id="P02")]), measures=["tug"])


def test_titration_timeline_without_post_implant():
    one = _one_patient()
    fig = titration_timeline(one[one.phase != "post_implant"], measures=["tug"])
    assert len(fig.axes) == 2


def test_therapeutic_window_span_in_data_coordinates():
    wt = pd.DataFrame({
        "patient_id": ["P01"] * 5 + ["P02"],
        "dose_ug_day": [150.0, 25, 50, 75, 108, 50],  # unsorted on purpose
        "spasticity_change": [-2.0, 0, -0.5, -1, -1.5, 0],
        "strength_change": [-1.0, 0, 0, 0, 0, 0],
        "spasticity_ok": [True, False, False, True, True, False],
        "strength_ok": [False, True, True, True, True, True],
        "in_window": [False, False, False, True, True, False]})
    fig = therapeutic_window_plot(wt, patient_id="P01")
    for ax in fig.axes:
        spans = [p for p in ax.patches if p.get_gid() == "therapeutic_window"]
        assert len(spans) == 1
        assert (spans[0].get_x(), spans[0].get_x() + spans[0].get_width()) == (75.0, 108.0)
    top = fig.axes[0]
    filled, hollow = top.collections[0], top.collections[1]
    np.testing.assert_allclose(filled.get_offsets()[:, 0], [75, 108, 150])
    np.testing.assert_allclose(hollow.get_offsets()[:, 0], [25, 50])
    assert "Therapeutic window" in [t.get_text() for t in top.texts]
    # no dose in the window: no span, and the figure says so
    none = therapeutic_window_plot(wt.assign(in_window=False), patient_id="P01")
    assert not [p for p in none.axes[0].patches if p.get_gid() == "therapeutic_window"]
    assert none.axes[0].get_title() == "No dose met both criteria"
    with pytest.raises(InvalidInputError, match="P09"):
        therapeutic_window_plot(wt, patient_id="P09")


def test_phase_plot_separator_means_and_trends():
    s = pd.DataFrame({"patient_id": "P01", "measure": "tug",
                      "day": [-5.0, -3, -1, 2, 4, 6, 8],
                      "value": [20.0, 21, 22, 17, 16, 15, 14],
                      "phase": ["baseline"] * 3 + ["test_infusion"] * 4})
    ax = phase_plot(s, measure="tug", better="lower").axes[0]
    by_gid = {ln.get_gid(): ln for ln in ax.get_lines()}
    assert by_gid["phase_change"].get_xdata()[0] == pytest.approx(0.5)  # (-1 + 2) / 2
    np.testing.assert_allclose(by_gid["mean:baseline"].get_ydata(), [21, 21])
    np.testing.assert_allclose(by_gid["mean:test_infusion"].get_ydata(), [15.5, 15.5])
    # trend of the infusion phase: slope -0.5 per day through (2, 17) and (8, 14)
    np.testing.assert_allclose(by_gid["trend:test_infusion"].get_ydata(), [17, 14])
    np.testing.assert_allclose(by_gid["trend:baseline"].get_ydata(), [20, 22])
    assert "lower is better" in ax.get_ylabel()
    with pytest.raises(InvalidInputError, match="higher"):
        phase_plot(s, measure="tug", better="towards_normal")


def test_save_figure_png_svg_byte_stable(tmp_path, changes):
    fig = slope_plot(changes, measure="tug", visit="post_m6")
    first = save_figure(fig, tmp_path / "a" / "slope")
    again = save_figure(slope_plot(changes, measure="tug", visit="post_m6"),
                        tmp_path / "b" / "slope")
    assert [p.name for p in first] == ["slope.png", "slope.svg"]
    for x, y in zip(first, again, strict=False):
        assert x.read_bytes() == y.read_bytes()
    assert first[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = first[1].read_text()
    assert svg.lstrip().startswith("<?xml") and "<dc:date>" not in svg
    pdf = save_figure(fig, tmp_path / "c" / "slope", formats=("pdf",))
    assert pdf[0].read_bytes()[:5] == b"%PDF-"
    assert pdf[0].read_bytes() == save_figure(fig, tmp_path / "d" / "slope",
                                              formats=("pdf",))[0].read_bytes()
    with pytest.raises(InvalidInputError, match="unsupported"):
        save_figure(fig, tmp_path / "x", formats=("gif",))


def test_theme_is_scoped_and_figures_do_not_leak_rcparams(changes):
    before = dict(mpl.rcParams)
    slope_plot(changes, measure="tug", visit="post_m6")
    assert dict(mpl.rcParams) == before
    with use_theme():
        assert mpl.rcParams["font.sans-serif"][0] == "DejaVu Sans"
    assert dict(mpl.rcParams) == before


# ------------------------------------------------ clinical words on every text of every figure

#: A snake_case code (post_m6, gait_speed, mcid_class), a model coefficient name, or a unit code.
_CODE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b|\bvisit(?:post|pre|ti|bl|m\d)\w*\b")
_UNIT_CODE = re.compile(r"\buV\b|\bdeg\b|\bug/day\b")


def figure_texts(fig: Figure) -> list[str]:
    """Every text drawn in a figure: axis labels, tick labels, legends, titles, annotations."""
    texts = [t.get_text() for t in fig.findobj(Text)]
    return [t for t in texts if t.strip()]


def assert_clinical(fig: Figure, what: str) -> None:
    for text in figure_texts(fig):
        plain = re.sub(r"\$[^$]*\$", "", text)  # mathtext (d_z, g_{av}) is typeset, not printed
        assert not _CODE.search(plain), f"{what}: internal code in {text!r}"
        assert not _UNIT_CODE.search(plain), f"{what}: unit code in {text!r}"


def _all_figures(run, codebook):
    """Every figure function on a run, as the reports call them (one patient for the
    one-patient figures)."""
    from analysis.report.context import build_context

    ctx = build_context(run)
    obs, m, side = run.observations, ctx.primary.measure, ctx.primary.side
    labels = ctx.labels
    figs = {}
    has_emm = len(ctx.rows("lmm_emmean", measure=m, side=side, patient=""))
    figs["spaghetti"] = spaghetti(obs, measure=m, side=side, codebook=codebook, labels=labels,
                                  emmeans=run.results if has_emm else None)
    ch = run.changes[(run.changes["measure"] == m) & (run.changes["side"] == side)
                     & run.changes["change"].notna()]
    last = max(ch["visit"], key=ctx.visit_rank)
    figs["slope"] = slope_plot(run.changes, measure=m, visit=last, side=side,
                               reference=ctx.reference, codebook=codebook, labels=labels)
    figs["waterfall"] = waterfall(run.changes, measure=m, visit=last, side=side, mcid=0.1,
                                  codebook=codebook, labels=labels)
    es = run.results[run.results["analysis"].isin(["cohens_dz", "hedges_gav"])
                     & (run.results["patient_id"] == "") & run.results["estimate"].notna()]
    if len(es):
        figs["forest"] = forest(es, codebook=codebook, labels=labels)
        figs["forest_one_visit"] = forest(es, visit=last, codebook=codebook, labels=labels)
    for key in ("mas_knee_ext", "mas_hip_add", "mas_ankle_pf"):
        if (obs["measure"] == key).any():
            figs["mas"] = mas_distribution(obs, measure=key, codebook=codebook, labels=labels)
            mas_change = run.changes[(run.changes["measure"] == key) & run.changes["change"].notna()]
            s = mas_change["side"].iloc[0]
            figs["waterfall_mas"] = waterfall(run.changes, measure=key, side=s, better="lower",
                                              visit=mas_change["visit"].iloc[-1],
                                              codebook=codebook, labels=labels)
            break
    pid = sorted(obs["patient_id"].unique())[0]
    one = obs[obs["patient_id"] == pid]
    if "day" in one and one["day"].notna().any() and "dose_ug_day" in one:
        shown = [k for k in (m, "mas_knee_ext", "mrc_knee_ext", "emg_soleus_rms")
                 if (one["measure"] == k).any()]
        figs["timeline"] = titration_timeline(one, measures=shown, codebook=codebook)
        series = one[(one["measure"] == m) & (one["side"] == side)]
        if series["phase"].nunique() >= 2:
            figs["phase"] = phase_plot(series, measure=m, better="higher", codebook=codebook)
    if run.window is not None and len(run.window):
        figs["window"] = therapeutic_window_plot(run.window,
                                                 patient_id=run.window["patient_id"].iloc[0])
    return figs


@pytest.fixture(scope="module")
def example_runs(tmp_path_factory):
    import sys
    import warnings
    from pathlib import Path

    from analysis.paths import EXAMPLES
    from analysis.run.pipeline import run_analysis

    sys.path.insert(0, str(Path(__file__).parent))
    from report_shapes import write_shape

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("case_series", "case_report"):
            out[name] = run_analysis(EXAMPLES / name, cache_dir=None)
        d = write_shape("visits_not_named_baseline", tmp_path_factory.mktemp("shape"))
        out["visits_not_named_baseline"] = run_analysis(d, cache_dir=None)
    return out


@pytest.mark.parametrize("name", ["case_series", "case_report", "visits_not_named_baseline"])
def test_every_figure_text_is_in_clinical_words(name, example_runs):
    run = example_runs[name]
    figs = _all_figures(run, run.codebook)
    assert {"spaghetti", "waterfall"} <= set(figs)
    assert ("forest" in figs) == (name != "case_report")
    for what, fig in figs.items():
        assert_clinical(fig, f"{name}/{what}")
    texts = " ".join(" ".join(figure_texts(figs["spaghetti"])).split())
    if name == "visits_not_named_baseline":
        assert "before treatment" in texts and "month 12" in texts
    else:
        assert "after pump implantation" in texts  # the phases of each panel, in the axis title


def test_units_and_grades_on_axes(example_runs):
    run = example_runs["case_series"]
    obs = run.observations
    emg = spaghetti(obs, measure="emg_soleus_rms", side="L").axes[0].get_ylabel()
    assert "(µV)" in emg and "Surface EMG" in emg
    knee = spaghetti(obs, measure="knee_flex_lr", side="L").axes[0].get_ylabel()
    assert "(°)" in knee
    ax = spaghetti(obs, measure="mas_knee_ext", side="L").axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert "1+" in ticks and set(ticks) <= {"0", "1", "1+", "2", "3", "4"}
    one = obs[obs["patient_id"] == "P01"]
    fig = titration_timeline(one, measures=["gait_speed", "mas_knee_ext"])
    assert "Dose (µg/day)" in figure_texts(fig)
    assert {"left", "right"} <= set(figure_texts(fig))
    # MAS change in steps of the scale: 1+ -> 1 is one step
    ch = pd.DataFrame({"patient_id": ["P1", "P2"], "visit": "post_m6", "measure": "mas_knee_ext",
                       "value": [1.0, 1.0], "baseline": [1.5, 3.0], "change": [-0.5, -2.0],
                       "side": "L"})
    ax = waterfall(ch, measure="mas_knee_ext", visit="post_m6", better="lower").axes[0]
    assert sorted(p.get_height() for p in ax.patches) == [-3.0, -1.0]  # 3 -> 1: 3, 2, 1+, 1
    assert "steps of the scale" in ax.get_ylabel()


def test_titration_timeline_single_visit_has_one_whole_day_tick():
    one = _one_patient()
    last = one[one.phase == "post_implant"]["day"].max()
    one = one[(one.phase != "post_implant") | (one.day == last)]
    fig = titration_timeline(one, measures=["tug"])
    axes = np.array(fig.axes).reshape(2, 2)
    fig.canvas.draw()
    labels = [t.get_text() for t in axes[1, 1].get_xticklabels() if t.get_text()]
    assert labels == [f"{last:.0f}"]
    left = [t.get_text().replace("\u2212", "-") for t in axes[1, 0].get_xticklabels()]
    assert all(re.fullmatch(r"-?\d+", x) for x in left if x)
