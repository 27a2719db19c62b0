"""The fast paths of the per-measure analyses (issue 16) against the row-by-row definitions.

Each test rebuilds, one row at a time as the code once did, what a vectorised path produces,
on inputs chosen to reach every branch (missing changes, unclassifiable directions, zero
baselines, non-text identifiers, factor levels out of day order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data.derive import change_table
from analysis.stats.individual_change import (
    NO_RELIABLE_CHANGE,
    RCI_CRITICAL,
    RELIABLE_DETERIORATION,
    RELIABLE_IMPROVEMENT,
    RELIABLE_UNCLASSIFIED,
    individual_change,
)
from analysis.stats.lmm import fit_lmm


def _changes(ids):
    rng = np.random.default_rng(4)
    n = 36
    ch = pd.DataFrame({"patient_id": [ids[i % len(ids)] for i in range(n)],
                       "visit": rng.choice(["m3", "m6", "m12"], n), "measure": "tug",
                       "value": rng.normal(10, 3, n), "baseline": rng.normal(10, 3, n)})
    ch["change"] = ch["value"] - ch["baseline"]
    ch.loc[[2, 9], "change"] = np.nan
    return ch


@pytest.mark.parametrize("ids", [[f"P{i}" for i in range(7)], list(range(1, 8))])
@pytest.mark.parametrize("kwargs", [
    dict(better="lower", mcid=2.0, mcid_source="x", sem=1.0),
    dict(better="higher", reliability=0.8),
    dict(better="context"),
    dict(better="towards_normal"),
])
def test_individual_change_text_columns_row_by_row(ids, kwargs):
    ch = _changes(ids)
    t = individual_change(ch, **kwargs)
    ordered = ch.sort_values("patient_id", kind="mergesort", key=lambda s: s.astype(str))
    assert t["patient_id"].tolist() == [str(p) for p in ordered["patient_id"] for _ in range(3)]
    assert t["term"].tolist() == [f"{v} - baseline" for v in ordered["visit"] for _ in range(3)]
    assert t["analysis"].tolist() == ["change", "rci", "mcid_class"] * len(ch)
    assert (t["measure"] == "tug").all() and (t["side"] == "").all()
    assert str(t["note"].dtype) == "str" and str(t["method"].dtype) == "str"
    rci = t[t["analysis"] == "rci"]
    change = ordered["change"].to_numpy()
    for note, est, c in zip(rci["note"], rci["estimate"], change, strict=False):
        if not np.isfinite(est):
            assert note.startswith("no RCI")
            continue
        better = kwargs["better"]
        word = (NO_RELIABLE_CHANGE if abs(est) <= RCI_CRITICAL else
                f"{RELIABLE_UNCLASSIFIED} (better = {better})" if better not in ("lower", "higher")
                else RELIABLE_IMPROVEMENT if (-c if better == "lower" else c) > 0
                else RELIABLE_DETERIORATION)
        assert note == f"{word} (|RCI| > {RCI_CRITICAL} is reliable)"
    missing = t[(t["analysis"] == "change") & t["estimate"].isna()]
    assert (missing["note"] == "change missing (value or baseline missing)").all()


def test_change_table_notes_row_by_row():
    obs = pd.DataFrame({
        "patient_id": ["P1"] * 4 + ["P2"] * 4,
        "visit": ["bl", "m6"] * 4, "phase": ["baseline", "post"] * 4,
        "day": [-1.0, 180.0] * 4,
        "measure": ["knee", "knee", "tug", "tug"] * 2, "side": "",
        "value": [0.0, 5.0, 12.0, 10.0, 3.0, 4.0, 0.0, 1.0]})
    better = {"knee": "towards_normal", "tug": "lower"}
    t = change_table(obs, better=better)
    for row in t.itertuples():
        note = (f"direction '{row.better}': improvement = change, its sign does not say better "
                "or worse" if row.better in ("towards_normal", "context") else "")
        if row.baseline == 0:
            note = note + "; pct_change undefined: baseline is 0"
        assert row.improvement_note == note.lstrip("; ")
    assert str(t["improvement_note"].dtype) == "str"
    assert set(t["improvement_note"]) >= {"pct_change undefined: baseline is 0", ""}


def test_visit_dummies_follow_levels_not_day_order_of_rows():
    rng = np.random.default_rng(2)
    visits = ["m6", "baseline", "m3"]
    d = pd.DataFrame({"patient_id": np.repeat([f"P{i}" for i in range(8)], 3),
                      "visit": visits * 8, "day": [180.0, 0.0, 90.0] * 8})
    d["value"] = np.repeat(rng.normal(size=8), 3) + rng.normal(size=24) + d["day"] / 90
    res = fit_lmm(d)
    assert res.fixed_names == ("(Intercept)", "visitm3", "visitm6")
    # the same model with the dummies made by hand, as numeric covariates
    d2 = d.assign(m3=(d["visit"] == "m3").astype(float), m6=(d["visit"] == "m6").astype(float))
    hand = fit_lmm(d2, formula="value ~ m3 + m6")
    np.testing.assert_array_equal(res.beta, hand.beta)
    assert res.deviance == hand.deviance


def test_baseline_rank_and_order_with_repeated_and_unordered_visits():
    from analysis.data.derive import baseline_values
    obs = pd.DataFrame({
        "patient_id": ["P1"] * 5 + ["P2"] * 4,
        "visit": ["bl2", "bl1", "bl3", "m6", "bl1", "bl1", "bl2", "bl3", "m6"],
        "phase": ["baseline"] * 3 + ["post", "baseline"] + ["baseline"] * 3 + ["post"],
        "day": [-2.0, -3.0, -1.0, 180.0, -3.0, -3.0, -2.0, -1.0, 180.0],
        "measure": "tug", "side": "", "value": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        "unit": "s"})
    last = baseline_values(obs, reference="bl2")
    # by day, the last baseline observation on or before bl2 (bl1 and bl2 only)
    assert last["baseline_visit"].tolist() == ["bl2", "bl2"]
    assert last["baseline"].tolist() == [1.0, 7.0]
    assert baseline_values(obs)["baseline_visit"].tolist() == ["bl3", "bl3"]


def test_therapeutic_window_patterns_and_group_dose_patients():
    from analysis.stats.dose import _match, dose_group_model
    m = pd.Series(["mas_knee", "mrc_hip", "mas_hip", "tug"], dtype="str")
    assert _match(m, ["mas_*"]).tolist() == [True, False, True, False]
    assert _match(m, ["mrc_hip", "tug"]).tolist() == [False, True, False, True]
    rng = np.random.default_rng(0)
    rows = []
    for i in range(8):  # P7 has one dose only: not in the model
        doses = [25.0, 50.0, 75.0] if i < 7 else [50.0, 50.0, 50.0]
        rows += [{"patient_id": f"P{i}", "measure": "tug", "side": "", "phase": "test_infusion",
                  "dose_ug_day": d, "value": 20 - 0.05 * d + rng.normal()} for d in doses]
    t = dose_group_model(pd.DataFrame(rows), measure="tug")
    assert (t["n_patients"] == 7).all() and (t["n_obs"] == 21).all()


def test_responders_counts_row_by_row_on_unfiltered_tables():
    from analysis.stats.individual_change import responders
    ch = _changes([f"P{i}" for i in range(9)])
    ch["measure"] = np.where(np.arange(len(ch)) % 3 == 0, "mas", "tug")
    t = pd.concat([individual_change(g, better="lower", mcid=1.0, sem=0.8)
                   for _, g in ch.groupby("measure")], ignore_index=True)
    t.loc[t.index % 11 == 0, "note"] = np.nan  # a missing note counts as not improved
    r = responders(t).set_index(["measure", "analysis", "term"])
    for (measure, term), rows in t[t["analysis"] != "change"].groupby(
            ["measure", t["term"].str.split(" - ").str[0]]):
        mc = rows[(rows["analysis"] == "mcid_class") & rows["estimate"].notna()]
        rc = rows[(rows["analysis"] == "rci") & rows["estimate"].notna()]
        k_rci = rc["note"].fillna("").str.startswith("reliable improvement").sum()
        got = r.loc[(measure, "responder", f"mcid: {term}")]
        assert (got["statistic"], got["n_obs"]) == ((mc["estimate"] == 1).sum(), len(mc))
        got = r.loc[(measure, "responder", f"rci: {term}")]
        assert (got["statistic"], got["n_obs"]) == (k_rci, len(rc))
    # the rows of other analyses in the table change nothing
    pd.testing.assert_frame_equal(responders(t), responders(t[t["analysis"] != "change"]))
