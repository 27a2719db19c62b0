"""Tables: builders hold the right formatted numbers in clinical words (expected strings rounded
by hand from the inputs), and the renderers produce valid Pandoc pipe tables and great_tables
HTML."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.report.formatting import MISSING
from analysis.report.tables import (
    InvalidInputError,
    baseline_table,
    to_great_table,
    to_markdown,
)
from analysis.results import result_frame


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
    t = {k: _plain(v) for k, v in t.items()}
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


def _plain(text):
    """Cell text with ASCII minus and spaces (the expected values below are written in ASCII)."""
    return str(text).replace("\u00a0", " ").replace("\u2212", "-")


def _plain_records(table):
    return [{k: _plain(v) for k, v in r.items()} for r in table.to_dict("records")]


def test_to_markdown_pipe_table_caption_and_escaping():
    df = pd.DataFrame({"Measure": ["a|b", "multi\nline"], "p": [".043", "< .001"],
                       "Estimate [95% CI]": ["1.50 [0.56, 2.40]", MISSING]})
    md = to_markdown(df, caption="Paired  tests", label="paired")
    lines = md.splitlines()
    # cells pass the boundary of analysis.report.escape: brackets, pipes and < are escaped
    assert lines[0] == r"| Measure | p | Estimate \[95% CI\] |"
    assert lines[1] == "|:---|---:|---:|"
    assert lines[2] == r"| a\|b | .043 | 1.50 \[0.56, 2.40\] |"
    assert lines[3] == rf"| multi line | \< .001 | {MISSING} |"
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


def test_to_great_table_html():
    table = pd.DataFrame({"Contrast": ["6 months after implantation against baseline"],
                          "Estimate [95% CI]": ["-2.50 [-4.19, -0.81]"]})
    html = to_great_table(table, title="Contrasts", source_note="REML").as_raw_html()
    assert "Contrasts" in html and "-2.50 [-4.19, -0.81]" in html and "REML" in html


def test_show_table_uses_the_one_markdown_writer():
    from analysis.report import kit

    df = pd.DataFrame({"Measure": ["a|b"], "p": [".043"]})
    assert kit.show_table(df, "Cap").data == to_markdown(df, "Cap")
    assert not hasattr(kit, "pipe_table")


# ----------------------------------------- responders and effect sizes, in clinical words

def _context(results: pd.DataFrame):
    from analysis.data.codebook import load_codebook
    from analysis.report.context import ReportContext
    from analysis.report.labels import visit_labels

    book = load_codebook()
    order = ["baseline", "post_m3", "post_m6"]
    return ReportContext(
        run=None, results=results, obs=None, all_obs=None, codebook=book, config=None,
        labels=visit_labels(book), patient=None, primary=None, order=order,
        reference="baseline", reference_reason="", n_patients=5, phases=(), has_day=True,
        has_titration=False, has_implant=True, has_baseline_phase=True, sides=(), kinds=(),
        measures=())


def test_responders_table_last_visit_words_and_intervals():
    from analysis.report.report_tables import responders_table

    res = result_frame([
        # an earlier visit: left out (each measure at its own last visit)
        {"measure": "gait_speed", "analysis": "responder", "term": "mcid: post_m3",
         "estimate": 0.2, "statistic": 1, "ci_low": 0.036, "ci_high": 0.62, "n_patients": 5},
        # 3 of 5: Wilson [0.2307, 0.8824], Clopper-Pearson [0.1466, 0.9473]
        {"measure": "gait_speed", "analysis": "responder", "term": "mcid: post_m6",
         "estimate": 0.6, "statistic": 3, "ci_low": 0.2307, "ci_high": 0.8824, "n_patients": 5},
        {"measure": "gait_speed", "analysis": "responder_cp", "term": "mcid: post_m6",
         "estimate": 0.6, "statistic": 3, "ci_low": 0.1466, "ci_high": 0.9473, "n_patients": 5},
        {"measure": "gait_speed", "analysis": "responder", "term": "rci: post_m6",
         "estimate": 0.4, "statistic": 2, "ci_low": 0.1176, "ci_high": 0.7693, "n_patients": 5},
        # no classified patient: left out
        {"measure": "tug", "analysis": "responder", "term": "mcid: post_m6", "n_patients": 0,
         "note": "no patient with both values"},
        # 4 of 4 improved by a grade: Wilson [0.5101, 1.0]
        {"measure": "mas_knee_ext", "side": "L", "analysis": "improved_one_grade",
         "term": "post_m6 - baseline", "estimate": 1.0, "ci_low": 0.5101, "ci_high": 1.0,
         "n_patients": 4},
        {"measure": "mas_knee_ext", "side": "R", "analysis": "improved_one_grade",
         "term": "post_m6 - baseline", "estimate": 1.0, "ci_low": 1.0, "ci_high": 1.0,
         "n_patients": 4, "note": "all improved"},
    ])
    table, notes = responders_table(_context(res))
    rows = table.to_dict("records")
    assert len(rows) == 4
    assert rows[0] == {
        "Measure": "Gait speed, 10-metre walk test, comfortable pace",
        "Visit": "6 months after implantation",
        "Criterion": "improved by at least the MCID (0.10 m/s)",
        "Responders, n/N (%)": "3/5 (60%)", "Wilson 95% CI (%)": "23 to 88",
        "Clopper-Pearson 95% CI (%)": "15 to 95"}
    assert rows[1]["Criterion"].startswith("reliable improvement")
    assert rows[1]["Responders, n/N (%)"] == "2/5 (40%)"
    assert rows[1]["Clopper-Pearson 95% CI (%)"] == MISSING
    assert rows[2]["Measure"] == "Modified Ashworth Scale, knee extensors, left"
    assert rows[2]["Criterion"] == "improved by at least one grade"
    assert rows[2]["Responders, n/N (%)"] == "4/4 (100%)"
    assert rows[2]["Wilson 95% CI (%)"] == "51 to 100"  # reaching 100 % is no fault
    assert rows[3]["Wilson 95% CI (%)"] == "100 to 100 ^a^"  # collapsed: flagged
    assert notes.notes[0].startswith("the interval collapsed")


def test_effect_sizes_table_each_measure_at_its_last_visit():
    from analysis.report.report_tables import effect_size_rows, effect_sizes_table

    post6, post3 = "post_m6 - baseline", "post_m3 - baseline"
    res = result_frame([
        {"measure": "tug", "analysis": "cohens_dz", "term": post3, "estimate": -0.5,
         "ci_low": -1.0, "ci_high": 0.0, "n_obs": 10},
        {"measure": "tug", "analysis": "cohens_dz", "term": post6, "estimate": -1.5,
         "ci_low": -2.4034, "ci_high": -0.5605, "n_obs": 10},
        {"measure": "tug", "analysis": "cohens_dav", "term": post6, "estimate": -1.1,
         "ci_low": -1.8, "ci_high": -0.4, "n_obs": 10},
        {"measure": "tug", "analysis": "hedges_gav", "term": post6, "estimate": -1.0335,
         "ci_low": -1.652, "ci_high": -0.385, "n_obs": 10},
        # six_mwt was last measured at month 3
        {"measure": "six_mwt", "analysis": "hedges_gav", "term": post3, "estimate": 0.61,
         "ci_low": 0.2, "ci_high": 1.0, "n_obs": 8},
    ])
    ctx = _context(res)
    table, notes = effect_sizes_table(ctx)
    assert _plain_records(table) == [
        {"Measure": "Six-minute walk distance", "Visit": "3 months after implantation",
         "n": "8", "*d*~z~ [95% CI]": MISSING, "*d*~av~ [95% CI]": MISSING,
         "*g*~av~ [95% CI]": "0.61 [0.20, 1.00]"},
        {"Measure": "Timed Up and Go", "Visit": "6 months after implantation", "n": "10",
         "*d*~z~ [95% CI]": "-1.50 [-2.40, -0.56]", "*d*~av~ [95% CI]": "-1.10 [-1.80, -0.40]",
         "*g*~av~ [95% CI]": "-1.03 [-1.65, -0.39]"}]
    assert not notes.notes
    assert sorted(effect_size_rows(ctx)["term"].unique()) == [post3, post6]
