"""Tables: builders hold the right formatted numbers (expected strings rounded by hand from the
inputs), and the renderers produce valid Pandoc pipe tables and great_tables HTML."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.report.formatting import MISSING
from analysis.report.tables import (
    InvalidInputError,
    baseline_table,
    contrasts_table,
    descriptives_table,
    paired_table,
    responders_table,
    single_case_table,
    to_great_table,
    to_markdown,
)
from analysis.results import result_frame

TERM = "post_m6 - baseline"


@pytest.fixture
def results() -> pd.DataFrame:
    # Lakens 2013 movie data (n = 10) and R's sleep data, values as published
    rows = [
        {"measure": "movie", "analysis": "mean_difference", "term": TERM, "estimate": 1.0,
         "ci_low": 0.5231, "ci_high": 1.4769, "n_obs": 10, "n_patients": 10},
        {"measure": "movie", "analysis": "paired_t", "term": TERM, "statistic": 4.7434,
         "df": 9, "p_value": 0.001054, "p_adjusted": 0.002108, "n_obs": 10},
        {"measure": "movie", "analysis": "wilcoxon", "term": TERM, "statistic": 36.0,
         "p_value": 0.0078, "n_obs": 10},
        {"measure": "movie", "analysis": "cohens_dz", "term": TERM, "estimate": 1.5,
         "ci_low": 0.5605, "ci_high": 2.4034, "n_obs": 10},
        {"measure": "movie", "analysis": "hedges_gav", "term": TERM, "estimate": 1.0335,
         "ci_low": 0.385, "ci_high": 1.652, "n_obs": 10},
        {"measure": "sleep", "side": "L", "analysis": "paired_t", "term": TERM,
         "statistic": 4.0621, "df": 9, "p_value": 0.002833, "p_adjusted": 0.002833,
         "n_obs": 10},
        {"measure": "sleep", "side": "L", "analysis": "cohens_dz", "term": TERM,
         "estimate": 1.2846, "ci_low": 0.4146, "ci_high": 2.1180, "n_obs": 10},
        {"measure": "tug", "analysis": "lmm_contrast", "term": TERM, "estimate": -2.5,
         "se": 0.8, "df": 17.2634, "df_method": "kenward-roger", "statistic": -3.125,
         "p_value": 0.00612, "p_adjusted": 0.01224, "ci_low": -4.1857, "ci_high": -0.8143},
        {"measure": "tug", "analysis": "lmm_contrast", "term": "post_m3 - baseline",
         "estimate": -1.0, "se": 0.8, "df": 18.0, "df_method": "satterthwaite",
         "statistic": -1.25, "p_value": 0.2273, "p_adjusted": 0.2273, "ci_low": -2.681,
         "ci_high": 0.681},
        # 3 of 5 responders: Wilson [0.2307, 0.8824], Clopper-Pearson [0.1466, 0.9473]
        {"measure": "gait_speed", "analysis": "responder", "term": "post_m6: MCID",
         "estimate": 0.6, "ci_low": 0.2307, "ci_high": 0.8824, "n_patients": 5},
        {"measure": "gait_speed", "analysis": "responder_cp", "term": "post_m6: MCID",
         "estimate": 0.6, "ci_low": 0.1466, "ci_high": 0.9473, "n_patients": 5},
        {"measure": "mas_knee_ext", "analysis": "improved_one_grade", "term": TERM,
         "estimate": 0.25, "ci_low": 0.0456, "ci_high": 0.6994, "n_patients": 4},
        {"measure": "gait_speed", "patient_id": "P01", "analysis": "crawford_howell",
         "term": "two-tailed", "estimate": -3.1, "statistic": -2.95, "df": 19,
         "p_value": 0.0083},
        {"measure": "tug", "patient_id": "P01", "analysis": "nap", "term": "A vs B",
         "estimate": 1.0, "ci_low": 0.6115, "ci_high": 1.0},
    ]
    for stat, value in [("n", 5), ("mean", 20.04), ("sd", 2.456), ("median", 19.5),
                        ("q1", 18.25), ("q3", 21.75), ("min", 16.0), ("max", 24.0)]:
        rows.append({"measure": "tug", "analysis": "descriptive", "term": f"{stat}: baseline",
                     "estimate": value})
    rows.append({"measure": "tug", "analysis": "descriptive", "term": "n: post_m6",
                 "estimate": 4})
    return result_frame(rows)


def test_paired_table(results):
    t = paired_table(results)
    assert list(t.columns) == ["Measure", "Comparison", "n", "Mean difference [95% CI]", "t",
                               "p (t)", "p adj. (t)", "V", "p (Wilcoxon)", "d_z [95% CI]",
                               "g_av [95% CI]"]
    movie = t.iloc[0].to_dict()
    assert movie == {"Measure": "movie", "Comparison": TERM, "n": "10",
                     "Mean difference [95% CI]": "1.00 [0.52, 1.48]", "t": "4.74 (9)",
                     "p (t)": ".001", "p adj. (t)": ".002", "V": "36",
                     "p (Wilcoxon)": ".008", "d_z [95% CI]": "1.50 [0.56, 2.40]",
                     "g_av [95% CI]": "1.03 [0.39, 1.65]"}
    sleep = t.iloc[1]
    assert sleep["Measure"] == "sleep (L)"
    assert (sleep["t"], sleep["p (t)"], sleep["d_z [95% CI]"]) == (
        "4.06 (9)", ".003", "1.28 [0.41, 2.12]")
    assert sleep["V"] == MISSING and sleep["Mean difference [95% CI]"] == MISSING
    # 0.5605 is stored as 0.56049999...: correctly rounded to 3 decimals it is 0.560
    assert paired_table(results, digits={"movie": 3}).iloc[0]["d_z [95% CI]"] == \
        "1.500 [0.560, 2.403]"


def test_contrasts_table(results):
    t = contrasts_table(results)
    assert t.to_dict("records") == [
        {"Measure": "tug", "Contrast": TERM, "Estimate [95% CI]": "-2.50 [-4.19, -0.81]",
         "SE": "0.80", "df": "17.3", "df method": "Kenward-roger", "t": "-3.12",
         "p": ".006", "p (Holm)": ".012"},
        {"Measure": "tug", "Contrast": "post_m3 - baseline",
         "Estimate [95% CI]": "-1.00 [-2.68, 0.68]", "SE": "0.80", "df": "18",
         "df method": "Satterthwaite", "t": "-1.25", "p": ".227", "p (Holm)": ".227"}]


def test_descriptives_table(results):
    t = descriptives_table(results, digits={"tug": 1})
    base = t.iloc[0].to_dict()
    assert base == {"Measure": "tug", "Visit": "baseline", "n": "5",
                    "Mean (SD)": "20.0 (2.5)", "Median [IQR]": "19.5 [18.2, 21.8]",
                    "Range": "16.0 to 24.0"}
    post = t.iloc[1]
    assert (post["Visit"], post["n"], post["Range"]) == ("post_m6", "4", MISSING)
    bad = result_frame([{"measure": "x", "analysis": "descriptive", "term": "mean"}])
    with pytest.raises(InvalidInputError, match="statistic: visit"):
        descriptives_table(bad)


def test_responders_table(results):
    t = responders_table(results)
    assert t.to_dict("records") == [
        {"Measure": "gait_speed", "Criterion": "post_m6: MCID",
         "Responders, n/N (%)": "3/5 (60%)", "Wilson 95% CI (%)": "[23, 88]",
         "Clopper-Pearson 95% CI (%)": "[15, 95]"},
        {"Measure": "mas_knee_ext", "Criterion": f"{TERM}: improved \u2265 1 grade",
         "Responders, n/N (%)": "1/4 (25%)", "Wilson 95% CI (%)": "[5, 70]",
         "Clopper-Pearson 95% CI (%)": MISSING}]


def test_single_case_table(results):
    t = single_case_table(results)
    assert list(t.columns) == ["Patient", "Measure", "Analysis", "Term", "Estimate [95% CI]",
                               "Statistic", "df", "p"]
    assert t.iloc[0].tolist() == ["P01", "gait_speed", "Crawford-Howell t", "two-tailed",
                                  "-3.10", "-2.95", "19", ".008"]
    assert t.iloc[1].tolist() == ["P01", "tug", "NAP", "A vs B", "1.00 [0.61, 1.00]",
                                  MISSING, MISSING, MISSING]


def test_builders_name_missing_analyses():
    empty = result_frame([{"measure": "x", "analysis": "change", "term": TERM}])
    for build in (paired_table, contrasts_table, responders_table, descriptives_table):
        with pytest.raises(InvalidInputError, match="no rows of"):
            build(empty)


def test_baseline_table():
    patients = pd.DataFrame({"patient_id": ["P1", "P2", "P3"], "age": [40.0, 50.0, 60.0],
                             "sex": ["M", "M", "F"], "genotype": ["SPG4", "SPG3A", "SPG4"],
                             "disease_duration": [5.0, 10.0, 30.0]})
    obs = pd.DataFrame({
        "patient_id": ["P1", "P1", "P2", "P3", "P1", "P2", "P1"],
        "visit": ["bl1", "bl2", "bl2", "bl2", "bl2", "bl2", "post_m6"],
        "measure": ["gait_speed"] * 4 + ["mas_knee_ext"] * 2 + ["gait_speed"],
        "value": [0.40, 0.50, 0.60, 0.70, 2.0, 1.5, 1.0],
        "phase": ["baseline"] * 6 + ["post_implant"], "day": [-9.0, -1, -1, -1, -1, -1, 180],
        "side": ["", "", "", "", "L", "L", ""],
        "unit": ["m/s"] * 4 + ["grade"] * 2 + ["m/s"]})
    t = baseline_table(patients, obs).set_index("Characteristic")["Value"].to_dict()
    assert t == {
        "Patients, n": "3",
        "Age (years), mean (SD)": "50.0 (10.0)",
        "Sex, male, n (%)": "2 (67%)", "Sex, female, n (%)": "1 (33%)",
        "Genotype SPG3A, n (%)": "1 (33%)", "Genotype SPG4, n (%)": "2 (67%)",
        # median 10, quartiles (type 7) 7.5 and 20
        "Disease duration (years), median [IQR]": "10.0 [7.5, 20.0]",
        # last baseline observation: 0.50, 0.60, 0.70 -> mean 0.60, SD 0.10
        "gait_speed (m/s), mean (SD)": "0.60 (0.10)",
        # ordinal: median of 2 and 1.5 = 1.75 -> "1.8" at 1 decimal (grade), n = 2 of 3
        "mas_knee_ext L (grade), median [IQR]": "1.8 [1.6, 1.9] (n = 2)",
    }


def test_to_markdown_pipe_table_caption_and_escaping():
    df = pd.DataFrame({"Measure": ["a|b", "multi\nline"], "p": [".043", "< .001"],
                       "Estimate [95% CI]": ["1.50 [0.56, 2.40]", MISSING]})
    md = to_markdown(df, caption="Paired  tests", label="paired")
    lines = md.splitlines()
    assert lines[0] == "| Measure | p | Estimate [95% CI] |"
    assert lines[1] == "|:---|---:|---:|"
    assert lines[2] == r"| a\|b | .043 | 1.50 [0.56, 2.40] |"
    assert lines[3] == f"| multi line | < .001 | {MISSING} |"
    assert lines[4] == ""
    assert lines[5] == ": Paired tests {#tbl-paired}"
    # every row has the same number of unescaped cell separators
    counts = {line.replace(r"\|", "").count("|") for line in lines[:4]}
    assert counts == {4}
    assert to_markdown(df, "x", label="tbl-x").endswith(": x {#tbl-x}")
    assert "\n\n:" not in to_markdown(df)
    with pytest.raises(InvalidInputError, match="needs a caption"):
        to_markdown(df, label="x")


def test_to_markdown_is_read_by_pandoc_as_a_table():
    import pypandoc

    md = to_markdown(pd.DataFrame({"A": ["x|y"], "B": ["1.0"]}), caption="Cap", label="t")
    html = pypandoc.convert_text(md, "html", format="markdown")
    assert "<table" in html and "x|y" in html and "Cap" in html


def test_to_great_table_html(results):
    gt = to_great_table(contrasts_table(results), title="Contrasts", source_note="REML")
    html = gt.as_raw_html()
    assert "Contrasts" in html and "-2.50 [-4.19, -0.81]" in html and "REML" in html


def test_responders_table_empty_estimate_and_count_from_statistic():
    res = result_frame([
        {"measure": "tug", "analysis": "responder", "term": "mcid: post_m6", "n_patients": 0,
         "note": "no patient with both values"},
        {"measure": "six_mwt", "analysis": "responder", "term": "mcid: post_m6", "estimate": 2 / 7,
         "statistic": 2, "ci_low": 0.0822, "ci_high": 0.6411, "n_patients": 7},
    ])
    table = responders_table(res)
    assert table.iloc[0]["Responders, n/N (%)"] == MISSING
    assert table.iloc[1]["Responders, n/N (%)"] == "2/7 (29%)"
