"""Paired comparisons against R (tests/r/paired_fixtures.R), published values and closed forms.

Tolerances: 1e-6 relative for estimates, statistics and p-values; 1e-4 absolute for interval
limits found by root finding.
"""

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InvalidInputError
from analysis.stats.paired import exact_signed_rank_p, paired_comparisons

FIX = Path(__file__).parent / "fixtures" / "paired"
DATA = pd.read_csv(FIX / "data.csv")
REF = pd.read_csv(FIX / "results.csv")
DATASETS = sorted(DATA["dataset"].unique())
EST = dict(rel=1e-6, abs=1e-12)
CI = dict(abs=1e-4)
MAS_LEVELS = ("0", "1", "1+", "2", "3", "4")
MAS_CODES = (0, 1, 1.5, 2, 3, 4)


def ref(name, quantity):
    row = REF[(REF["dataset"] == name) & (REF["quantity"] == quantity)]
    assert len(row) == 1, (name, quantity)
    return float(row["value"].iloc[0])


def changes(x, y, *, visit="post_m6", day=180.0, better="lower", measure="m"):
    x, y = np.asarray(x, float), np.asarray(y, float)
    sign = -1 if better == "lower" else 1
    return pd.DataFrame({
        "patient_id": [f"P{i + 1:02d}" for i in range(len(x))], "visit": visit,
        "measure": measure, "side": "", "day": day, "value": x, "baseline": y,
        "change": x - y, "improvement": sign * (x - y), "better": better})


def fixture_changes(name):
    d = DATA[DATA["dataset"] == name].sort_values("pair")
    return changes(d["x"], d["y"])


def rows(name, kind="continuous"):
    kw = dict(levels=MAS_LEVELS, codes=MAS_CODES) if kind == "ordinal" else {}
    return paired_comparisons(fixture_changes(name), kind=kind, **kw).set_index("analysis")


@pytest.mark.parametrize("name", DATASETS)
def test_t_vs_r(name):
    r = rows(name)
    md, t = r.loc["mean_difference"], r.loc["paired_t"]
    assert md["estimate"] == pytest.approx(ref(name, "mean_difference"), **EST)
    assert md["se"] == pytest.approx(ref(name, "md_se"), **EST)
    assert md["ci_low"] == pytest.approx(ref(name, "md_ci_low"), **EST)
    assert md["ci_high"] == pytest.approx(ref(name, "md_ci_high"), **EST)
    assert t["statistic"] == pytest.approx(ref(name, "t"), **EST)
    assert t["df"] == ref(name, "t_df")
    assert t["p_value"] == pytest.approx(ref(name, "t_p"), **EST)
    assert t["term"] == "post_m6 - baseline"


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("kind", ["continuous", "ordinal"])
def test_wilcoxon_vs_r(name, kind):
    r = rows(name, kind) if kind == "continuous" or name == "random_mas" else rows(name)
    w, wn = r.loc["wilcoxon"], r.loc["wilcoxon_normal"]
    assert w["statistic"] == pytest.approx(ref(name, "V"), **EST)
    # conditional exact p (coin) equals wilcox.test's exact p when there are no ties/zeros
    assert w["p_value"] == pytest.approx(ref(name, "w_exact_cond_p"), **EST)
    if (REF.query("dataset == @name")["quantity"] == "w_exact_p").any():
        assert w["p_value"] == pytest.approx(ref(name, "w_exact_p"), **EST)
        assert "scipy.stats.wilcoxon(method='exact')" in w["method"]
    else:
        assert "conditional exact" in w["method"]
    assert wn["statistic"] == pytest.approx(ref(name, "w_normal_z"), **EST)
    assert wn["p_value"] == pytest.approx(ref(name, "w_normal_p"), **EST)


@pytest.mark.parametrize("name", DATASETS)
def test_effect_sizes_vs_r(name):
    r = rows(name)
    for analysis, key in [("cohens_dz", "dz"), ("cohens_dav", "dav"), ("hedges_gav", "gav"),
                          ("rank_biserial", "rb")]:
        assert r.loc[analysis, "estimate"] == pytest.approx(ref(name, key), **EST), analysis
        assert r.loc[analysis, "ci_low"] == pytest.approx(ref(name, key + "_ci_low"), **CI)
        assert r.loc[analysis, "ci_high"] == pytest.approx(ref(name, key + "_ci_high"), **CI)


def test_published_values():
    # /work/shared/reference/README.md: sleep t = 4.0621, df 9, p = 0.002833 (R's t.test)
    t = rows("sleep").loc["paired_t"]
    assert (round(t["statistic"], 4), t["df"], round(t["p_value"], 6)) == (4.0621, 9, 0.002833)
    # Lakens (2013) movie data: t = 4.7434, p = 0.001054
    t = rows("movie").loc["paired_t"]
    assert round(t["statistic"], 4) == 4.7434 and round(t["p_value"], 6) == 0.001054
    # Hollander & Wolfe (1973): V = 40, one-sided exact p = 0.01953 -> two-sided 0.0390625;
    # paired t = 3.0354, df 8, p = 0.01618
    r = rows("hollander_wolfe")
    assert r.loc["wilcoxon", "statistic"] == 40
    assert r.loc["wilcoxon", "p_value"] == pytest.approx(2 * 0.01953, abs=1e-5)
    assert round(r.loc["paired_t", "statistic"], 4) == 3.0354
    assert round(r.loc["paired_t", "p_value"], 5) == 0.01618


def brute_force_p(d):
    """Enumerate all 2^n sign flips of the mid-ranks (independent closed form)."""
    d = np.asarray(d, float)
    d = d[d != 0]
    from scipy.stats import rankdata
    ranks = rankdata(np.abs(d))
    v = ranks[d > 0].sum()
    sums = np.array([np.dot(s, ranks) for s in itertools.product([0, 1], repeat=len(d))])
    return v, min(1.0, 2 * min(np.mean(sums <= v + 1e-9), np.mean(sums >= v - 1e-9)))


@pytest.mark.parametrize("name", ["random_ties", "random_mas", "hollander_wolfe", "random_n5"])
def test_exact_dp_vs_enumeration(name):
    d = DATA[DATA["dataset"] == name]
    v, p = exact_signed_rank_p(d["x"] - d["y"])
    bv, bp = brute_force_p(d["x"] - d["y"])
    assert v == bv and p == pytest.approx(bp, rel=1e-12)


def test_smallest_exact_p_and_small_n_note():
    # smallest exact two-sided p is 2^(1-n): 0.0625 for n = 5
    r = paired_comparisons(changes([2, 3, 4, 5, 6.5], [1, 1, 1, 1, 1])).set_index("analysis")
    assert r.loc["wilcoxon", "p_value"] == 0.0625
    assert "cannot be below" in r.loc["wilcoxon", "note"]
    r = paired_comparisons(changes(np.arange(7) + 2.0, np.zeros(7))).set_index("analysis")
    assert r.loc["wilcoxon", "p_value"] == pytest.approx(2.0**-6)
    assert "cannot be below" not in r.loc["wilcoxon", "note"]


def test_visits_ordered_by_day_and_terms():
    a = changes([1, 2, 3.5], [0, 0, 0], visit="post_m12", day=365)
    b = changes([1, 2.5, 3], [0, 0, 0], visit="ti_d3", day=3)
    base = changes([9, 9, 9], [9, 9, 9], visit="baseline", day=-7)
    out = paired_comparisons(pd.concat([a, b, base]))
    assert list(pd.unique(out["term"])) == ["ti_d3 - baseline", "post_m12 - baseline"]
    assert (out["measure"] == "m").all() and (out["n_patients"] == 3).all()


def test_sign_follows_term():
    r = rows("sleep")
    assert r.loc["mean_difference", "estimate"] > 0
    for a in ["cohens_dz", "cohens_dav", "hedges_gav", "rank_biserial", "wilcoxon_normal"]:
        value = r.loc[a, "statistic" if a == "wilcoxon_normal" else "estimate"]
        assert value > 0, a


def test_degenerate_cases_have_notes():
    for x, y in [([1.0], [0.0]), ([1.0, 2.0], [0.0, 1.0]), ([2.0, 3.0, 4.0], [1.0, 2.0, 3.0]),
                 ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), ([1.0, 3.0], [0.0, 1.0])]:
        out = paired_comparisons(changes(x, y))
        for _, row in out.iterrows():
            if row[["estimate", "p_value", "statistic"]].isna().all():
                assert row["note"], (x, y, row["analysis"])
    out = paired_comparisons(changes([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])).set_index("analysis")
    assert out.loc["mean_difference", "estimate"] == 1 and out.loc["mean_difference", "se"] == 0
    assert "SD 0" in out.loc["paired_t", "note"]
    assert out.loc["wilcoxon", "p_value"] == 0.25   # 3 positive differences: 2^(1-3)
    out = paired_comparisons(changes([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])).set_index("analysis")
    assert out.loc["wilcoxon", "p_value"] == 1 and "all differences are zero" in out.loc["wilcoxon", "note"]


def test_ordinal_rows_and_grade_steps():
    # MAS, lower is better: 1+ -> 1 and 2 -> 1+ are one-grade improvements although the codes
    # move by 0.5; 2 -> 2 unchanged; 1 -> 1+ worse; 3 -> 1 improved
    x = [1, 1.5, 2, 1.5, 1]
    y = [1.5, 2, 2, 1, 3]
    out = paired_comparisons(changes(x, y), kind="ordinal", levels=MAS_LEVELS,
                             codes=MAS_CODES).set_index("analysis")
    assert set(out.index) == {"wilcoxon", "wilcoxon_normal", "rank_biserial", "median_change",
                              "improved_one_grade"}
    imp = out.loc["improved_one_grade"]
    assert imp["estimate"] == pytest.approx(3 / 5)
    # Wilson interval, closed form (Wilson 1927), k = 3, n = 5, z = 1.959964
    z, n, p = 1.959963984540054, 5, 0.6
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert imp["ci_low"] == pytest.approx(centre - half, rel=1e-9)
    assert imp["ci_high"] == pytest.approx(centre + half, rel=1e-9)
    assert out.loc["median_change", "estimate"] == pytest.approx(np.median(np.subtract(x, y)))
    # without levels: one grade = 1 code unit, so only 3 -> 1 counts
    out2 = paired_comparisons(changes(x, y), kind="ordinal").set_index("analysis")
    assert out2.loc["improved_one_grade", "estimate"] == pytest.approx(1 / 5)
    with pytest.raises(InvalidInputError, match="not among the codes"):
        paired_comparisons(changes([1.2], [1.0]), kind="ordinal", codes=MAS_CODES)


def test_ordinal_higher_is_better():
    # MRC, higher is better, codes 0..5
    out = paired_comparisons(changes([4, 5, 3], [3, 5, 4], better="higher"), kind="ordinal",
                             codes=(0, 1, 2, 3, 4, 5)).set_index("analysis")
    assert out.loc["improved_one_grade", "estimate"] == pytest.approx(1 / 3)


def test_bootstrap_rows():
    ch = fixture_changes("sleep")
    with pytest.raises(InvalidInputError, match="seed"):
        paired_comparisons(ch, bootstrap=True)
    a = paired_comparisons(ch, bootstrap=True, seed=3, n_boot=500).set_index("analysis")
    b = paired_comparisons(ch, bootstrap=True, seed=3, n_boot=500).set_index("analysis")
    for name in ["mean_difference_bca", "cohens_dz_bca", "hedges_gav_bca"]:
        assert a.loc[name, "ci_low"] == b.loc[name, "ci_low"]   # seeded
        assert a.loc[name, "ci_low"] < a.loc[name, "estimate"] < a.loc[name, "ci_high"]
    assert a.loc["cohens_dz_bca", "estimate"] == pytest.approx(a.loc["cohens_dz", "estimate"])


def test_bad_input():
    ch = pd.concat([changes([1, 2], [0, 0]), changes([1, 2], [0, 0], measure="other")])
    with pytest.raises(InvalidInputError, match="one measure and side"):
        paired_comparisons(ch)
    with pytest.raises(InvalidInputError, match="share a patient and visit"):
        paired_comparisons(pd.concat([changes([1, 2], [0, 0]), changes([1], [0])]))
    with pytest.raises(InvalidInputError, match="kind"):
        paired_comparisons(changes([1, 2], [0, 0]), kind="nominal")
    with pytest.raises(InvalidInputError, match="lacks column"):
        paired_comparisons(changes([1, 2], [0, 0]).drop(columns="baseline"))
