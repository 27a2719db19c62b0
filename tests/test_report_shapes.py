"""The reports on datasets of many shapes: the text states only what the data hold.

Fast tests build every shape of :mod:`report_shapes` (simulator output transformed), run the
pipeline and check the prose and tables of :mod:`analysis.report.narrative` and
:mod:`analysis.report.report_tables`; slow tests render both reports for a subset.
"""

from __future__ import annotations

import html
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from report_shapes import SHAPES, write_shape  # noqa: E402

from analysis.report import narrative as say  # noqa: E402
from analysis.report import report_tables as rt  # noqa: E402
from analysis.report.context import build_context  # noqa: E402
from analysis.report.doses import window_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: An internal code: a snake_case identifier (post_m6, mcid_class, towards_normal) or a model
#: coefficient name (visitpost_m12).
CODE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b|\bvisit(?:post|pre|ti|bl|m\d)\w*\b")
#: A decimal number as the reports print it: a true minus sign (U+2212) or a hyphen-minus.
FLOAT = re.compile(r"(?<![\w.])[-\u2212]?\d+\.\d+")


def _floats(text: str) -> list[str]:
    """Every decimal number of a text, with an ASCII minus (no-break spaces are spaces)."""
    return [x.replace("\u2212", "-") for x in FLOAT.findall(text.replace("\u00a0", " "))]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from analysis.run.pipeline import run_analysis

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in SHAPES:
            d = write_shape(name, tmp_path_factory.mktemp(name))
            out[name] = run_analysis(d, cache_dir=None)
    return out


def _context(run):
    ids = sorted(run.observations["patient_id"].unique())
    return build_context(run, patient=ids[0] if len(ids) == 1 else None)


def _texts(ctx) -> list[str]:
    summary = say.case_summary if ctx.patient else say.series_summary
    parts = [summary(ctx), say.design_paragraph(ctx), say.dose_paragraph(ctx),
             say.tolerability_paragraph(ctx), say.flow_paragraph(ctx),
             say.mixed_model_sentence(ctx), say.methods_paragraph(ctx), say.pgic_sentence(ctx),
             say.diagnosis_paragraph(ctx)]
    if ctx.patient:
        parts.append(say.single_case_paragraph(ctx))
    return parts


def _tables(ctx) -> list[pd.DataFrame]:
    out = [rt.measures_table(ctx), rt.reference_values_table(ctx), rt.contrasts_table(ctx),
           window_table(ctx)]
    if ctx.patient:
        out += [rt.timeline_table(ctx), rt.case_outcomes_table(ctx), rt.single_case_rows(ctx)[0]]
    else:
        out += [rt.series_outcomes_table(ctx)[0], rt.responders_table(ctx)[0],
                rt.effect_sizes_table(ctx)[0]]
    return out


def _allowed_numbers(run) -> set[str]:
    """Every number the text may cite, formatted as the reports format them."""
    values: list[float] = []
    R = run.results
    for col in ("estimate", "se", "df", "statistic", "p_value", "p_adjusted", "ci_low", "ci_high"):
        values += R[col].dropna().tolist()
    values += (R["estimate"].dropna() * 100).tolist()
    obs, ch = run.observations, run.changes
    values += obs["value"].dropna().tolist() + obs["dose_ug_day"].dropna().tolist()
    for frame, cols in ((ch, ["baseline", "value", "change"]),):
        values += frame[cols].stack().tolist()
        for _, g in frame.groupby(["measure", "side", "visit"]):
            values += g[cols].median().tolist()
    doses = obs.groupby(["patient_id", "visit"])["dose_ug_day"].first()
    for _, g in doses.groupby(level="visit"):
        values.append(g.median())
    values += [d for d in (R.loc[R["analysis"] == "therapeutic_window", "estimate"].median(),)]
    steps = np.arange(-10, 10.5, 0.5).tolist()
    out = set(re.findall(r"\d+\.\d+", " ".join(map(str, run.manifest.get("versions", {}).values()))))
    for v in values + steps:
        if v == v and np.isfinite(v):
            for dg in range(0, 4):
                out.add(f"{v:.{dg}f}".replace("-0.", "0.") if abs(v) < 10 ** -dg else f"{v:.{dg}f}")
                out.add(f"{abs(v):.{dg}f}")
    return out


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_prose_and_tables_on_every_shape(name, runs):
    run = runs[name]
    ctx = _context(run)
    texts = _texts(ctx)
    cells = [" ".join(map(str, t.astype(str).to_numpy().ravel())) for t in _tables(ctx)
             if len(t)] + [" ".join(map(str, t.columns)) for t in _tables(ctx) if len(t)]
    text = " ".join(texts)
    # no internal code anywhere (the study title and file paths are not part of these)
    found = set(CODE.findall(text + " " + " ".join(cells)))
    assert not found, f"{name}: internal codes {sorted(found)} in the text"
    assert "?@" not in text
    # no statement about an absent phase or analysis
    if not ctx.has_titration:
        assert "settled at" not in text and "doses meeting" not in text.lower()
        assert "During the continuous test infusion" not in text
    if not ctx.has_implant:
        assert "pump delivered" not in text
    if not len(ctx.rows("lmm_contrast")):
        assert "mixed model (REML)" not in text
    if not len(ctx.rows("paired_t")):
        assert "paired t(" not in text
    # the reference visit is stated in clinical words, never a name absent from the data
    assert ctx.reference in set(run.observations["visit"])
    assert f"reference visit, {ctx.labels(ctx.reference)}" in text
    # every float of the text is a number of the results table or of the data
    allowed = _allowed_numbers(run)
    stray = [x for x in _floats(text) if x not in allowed and x.lstrip("-") not in allowed]
    assert not stray, f"{name}: numbers not found in the results or the data: {stray}"


def test_no_test_infusion_says_so(runs):
    ctx = _context(runs["no_test_infusion"])
    assert "No test infusion" in say.dose_paragraph(ctx)
    assert "No phase (AB) comparison" in say.single_case_paragraph(ctx)


def test_visits_not_named_baseline_use_the_inferred_reference(runs):
    ctx = _context(runs["visits_not_named_baseline"])
    assert ctx.reference == "pre"
    assert "last visit of the baseline phase" in say.reference_sentence(ctx)
    assert "month 12" in say.series_summary(ctx)


def test_measures_with_different_last_visits_all_in_the_outcomes_table(runs):
    ctx = _context(runs["different_last_visits"])
    table, _ = rt.series_outcomes_table(ctx)
    six = table[table["Measure"].str.startswith("Six-minute")]
    assert len(six) == 1 and six["Visit"].iloc[0] == "6 months after implantation"


def test_primary_absent_at_last_visit_reports_its_own_last_visit(runs):
    ctx = _context(runs["primary_absent_at_last_visit"])
    assert "to 6 months after implantation" in say.series_summary(ctx)


def test_dropouts_are_counted(runs):
    text = say.flow_paragraph(_context(runs["dropouts"]))
    assert "have no observation after" in text


def test_one_patient_vs_controls_reports_crawford_howell(runs):
    text = say.single_case_paragraph(_context(runs["one_patient_vs_controls"]))
    assert "Crawford-Howell" in text


def _html_text(path: Path) -> str:
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    return re.sub(r"\s+", " ", text.rsplit("Reproducibility", 1)[0])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["no_day", "visits_not_named_baseline"])
def test_reports_render_on_shapes(name, tmp_path, monkeypatch):
    from analysis.cli import main

    data = write_shape(name, tmp_path / name)
    monkeypatch.setenv("ITB_CACHE_DIR", str(tmp_path / "cache"))
    fmt = "html,pdf,docx" if name == "no_day" else "html"
    assert main(["report", "--data", str(data), "--to", fmt, "--out", str(tmp_path / "out")]) == 0
    for doc in ("case-report", "case-series"):
        html_path = tmp_path / "out" / f"{doc}.html"
        if not html_path.exists():
            continue
        text = _html_text(html_path)
        assert "?@" not in text
        found = set(CODE.findall(text))
        assert not found, f"{doc} on {name}: internal codes {sorted(found)}"


# ----------------------------------------------------------------- issue 21: one per defect

def test_one_dose_is_not_a_titration(runs):
    ctx = _context(runs["one_test_visit_one_dose"])
    text = say.dose_paragraph(ctx) + say.design_paragraph(ctx)
    assert "titrated" not in text and "settled" not in text
    assert "at one dose" in text and not len(window_table(ctx))


def test_bolus_is_an_amount_and_rising_doses_are_not_reductions(runs):
    ctx = _context(runs["bolus_then_rising_doses"])
    text = say.dose_paragraph(ctx) + " " + say.tolerability_paragraph(ctx)
    assert "50 µg/day" not in text.replace("\u00a0", " ")
    assert "test bolus" in text and "never fell" in text
    t = ctx.facts.treatments["P01"]
    assert t.boluses == (50.0,) and t.continuous == (40.0, 80.0, 120.0) and not t.reductions


def test_every_bolus_is_named_and_no_dose_analysis_reads_an_amount(runs):
    run = runs["escalating_boluses"]
    ctx = _context(run)
    text = " ".join(_texts(ctx)).replace("\u00a0", " ")
    assert "50 then 75 µg each" in text  # not "of 50 µg": the second bolus is not lost
    assert "titrat" not in say.dose_paragraph(ctx) + say.design_paragraph(ctx)
    assert "regressed on the" not in say.methods_paragraph(ctx)
    dosed = run.results[run.results["analysis"].isin(["dose_slope", "therapeutic_window"])]
    assert dosed.empty  # bolus amounts (µg) are not daily rates
    t = ctx.facts.treatments["H1"]
    assert t.boluses == (50.0, 75.0) and t.continuous == () and not t.titrated


def test_an_unknown_administration_is_refused_with_its_row(tmp_path):
    from analysis.data.validate import load_dataset
    from analysis.errors import DataValidationError

    obs, pts, _ = SHAPES["escalating_boluses"]()
    obs.loc[3, "administration"] = "infusion pump"
    d = tmp_path / "d"
    d.mkdir()
    obs.to_csv(d / "observations.csv", index=False)
    with pytest.raises(DataValidationError) as err:
        load_dataset(d)
    problem = next(p for p in err.value.problems if p.column == "administration")
    assert problem.row == 5 and problem.value == "infusion pump"  # header is row 1
    assert "bolus or continuous" in problem.rule


def test_a_rating_of_change_as_primary_gives_its_answers_and_names_the_worse(runs):
    ctx = _context(runs["pgic_primary"])
    text = say.series_summary(ctx).replace("\\", "")
    assert "much improved (2) 2; minimally improved (3) 1; much worse (6) 1 (Q4)" in text
    assert "median between 2 and 3" in text and "No paired comparison" not in text


def test_no_dose_column_keeps_the_test_infusion(runs):
    ctx = _context(runs["no_dose_column"])
    text = " ".join(_texts(ctx))
    assert ctx.facts.tested and "No test infusion is in the data" not in text
    assert "No dose is recorded outside the baseline phase" in text


def test_a_normal_leg_is_not_averaged_with_the_spastic_one(runs):
    ctx = _context(runs["one_normal_leg"])
    text = say.case_summary(ctx)
    assert "right" in text and "left" in text  # both sides of the primary outcome
    assert ctx.facts.classified("mas_knee_ext", "R", "improved") == ["P01"]
    assert ctx.facts.classified("mas_knee_ext", "L", "unchanged") == ["P01"]


def test_a_single_patient_who_worsened_is_said_to_have_worsened(runs):
    ctx = _context(runs["single_patient_worse"])
    text = say.case_summary(ctx).replace("\\:", ":")
    assert "Timed Up and Go: worsened" in text
    assert "worsened" in text.split("Gait speed")[1]
    table = rt.case_outcomes_table(ctx)
    assert {"tug", "gait_speed"} <= set(ctx.facts.sides) and len(table) == 4


def test_centres_and_study_title(runs):
    ctx = _context(runs["three_centres"])
    assert "3 centres" in say.design_paragraph(ctx)
    assert say.report_title(ctx) == "ITB at three centres"


def test_two_patients_said_not_to_support_inference(runs):
    text = say.series_summary(_context(runs["two_patients"])).replace("\\", "")
    assert "cannot support inference" in text and "df = 1" in text


def test_ordinal_primary_has_no_linear_model(runs):
    ctx = _context(runs["ordinal_only"])
    table = rt.contrasts_table(ctx)
    # only the cumulative link model's contrasts (log odds, visits in words), never a linear one
    assert not len(table) or ("Estimate [95% CI] (log odds)" in table.columns
                              and table["Term"].str.contains(" against ").all())
    assert "no linear" in say.mixed_model_sentence(ctx).lower()


def test_linear_model_on_an_ordinal_primary_only_as_asked_and_labelled(tmp_path):
    """Issue 21: study.yaml's ``lmm: {ordinal: [...]}`` asks for the linear mixed model on an
    ordinal measure's grade codes; the report shows it, labelled as asked (grades are not
    distances), beside the cumulative link model. Without the request it is absent
    (test_ordinal_primary_has_no_linear_model)."""
    from report_shapes import _series

    from analysis.run.pipeline import run_analysis

    obs, pts = _series(5, seed=2, measures=["mas_knee_ext", "mrc_knee_ext"])
    d = tmp_path / "asked"
    d.mkdir()
    obs.to_csv(d / "observations.csv", index=False)
    pts.to_csv(d / "patients.csv", index=False)
    (d / "study.yaml").write_text("primary_outcome: mas_knee_ext\nlmm:\n  ordinal: "
                                  "[mas_knee_ext]\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_analysis(d, cache_dir=None)
    ctx = _context(run)
    table = rt.contrasts_table(ctx)
    asked = table[table["Model"].str.startswith("Linear mixed model on grade codes")]
    assert len(asked) and asked["Model"].str.contains(
        "as requested in study.yaml; grades are not distances").all()
    lmm = run.results.query("analysis == 'lmm_contrast' and measure == 'mas_knee_ext'")
    assert len(asked) == len(lmm[lmm["side"] == ctx.primary.side])
    assert lmm["note"].str.contains("as requested in study.yaml").all()
    sentence = say.mixed_model_sentence(ctx)
    assert "as requested in study.yaml" in sentence and "grades are not distances" in sentence
    assert "as requested in study.yaml" in say.methods_paragraph(ctx).lower()
    # the cumulative link model's rows stay, named as such
    if ctx.rows("clmm_fixed", measure="mas_knee_ext", patient="").shape[0]:
        assert table["Model"].str.startswith("Cumulative link mixed model").any()
    for text in [sentence, *table.astype(str).to_numpy().ravel()]:
        assert not CODE.search(text), text


def test_linear_model_asked_on_a_continuous_measure_is_refused(tmp_path):
    from analysis.data.codebook import load_codebook
    from analysis.data.config import StudyConfig, check_config
    from analysis.errors import ConfigError

    obs = pd.DataFrame({"patient_id": "P1", "visit": ["baseline"], "measure": ["tug"],
                        "value": [12.0], "phase": ["baseline"]})
    with pytest.raises(ConfigError, match="lmm.ordinal: 'tug' is not an ordinal measure"):
        check_config(StudyConfig.from_mapping({"lmm": {"ordinal": ["tug"]}}), load_codebook(),
                     obs)


def test_all_non_responders_none_said_to_improve(runs):
    ctx = _context(runs["all_non_responders"])
    text = say.series_summary(ctx).replace("\\", "")
    assert not re.search(r"improved in [1-9]", text) and "worsened in 0" not in text.replace(
        "worsened in 0 of", "")
    assert "improved in 0" in text or "unchanged" in text
    table, _ = rt.responders_table(ctx)
    assert len(table) and not table.astype(str).apply(
        lambda c: c.str.match(r"^[1-9]\d* of ")).any().any()


def test_only_a_five_year_follow_up(runs):
    ctx = _context(runs["only_five_years"])
    text = say.series_summary(ctx) + say.design_paragraph(ctx)
    assert "5 years after implantation" in text
    assert "month" not in text.lower().replace("months", "").replace("month ", "")


def test_week_numbered_visits(runs):
    ctx = _context(runs["week_visits"])
    assert ctx.reference == "week_0"
    text = say.series_summary(ctx)
    assert "week 52" in text and "week_" not in text
    assert "week 12" in " ".join(rt.series_outcomes_table(ctx)[0]["Visit"]) + " ".join(
        " ".join(_texts(ctx)).split())


def test_german_visit_names(runs):
    from report_shapes import GERMAN

    ctx = _context(runs["german_visits"])
    assert ctx.reference == "Ausgangsbefund"
    text = " ".join(_texts(ctx))
    assert "Kontrolle 12Monate" in text and "Kontrolle_12Monate" not in text
    visits = set(rt.series_outcomes_table(ctx)[0]["Visit"])
    assert visits <= {v.replace("_", " ") for v in GERMAN.values()}


def test_patient_without_baseline_counted(runs):
    ctx = _context(runs["patient_without_baseline"])
    ref = rt.reference_values_table(ctx)
    assert set(ref["n"].astype(int)) == {5}
    for ids in ctx.facts.with_reference.values():
        assert "P01" not in ids and len(ids) == 5
    assert "P01" in " ".join(" ".join(v) for v in ctx.facts.without_reference.values())


def test_baseline_table_counts_patients_with_a_reference_value(runs):
    ctx = _context(runs["patient_without_baseline"])
    table = rt.baseline_summary_table(ctx)
    value = dict(zip(table["Characteristic"], table["Value"], strict=True))
    assert value["Patients, n"] == "6"
    assert value["Patients with a value at the reference visit, n"] == "5"
    measures = table[table["Characteristic"].str.contains(", (?:mean|median)", regex=True)
                     & ~table["Characteristic"].str.startswith(("Age", "Disease"))]
    assert len(measures) and measures["Value"].str.endswith("(n = 5)").all()


def test_ordinal_change_has_a_sign_test_and_whole_or_between_steps(runs):
    ctx = _context(runs["ordinal_only"])
    text = say.series_summary(ctx) if not ctx.patient else say.case_summary(ctx)
    if "level steps" in text:
        assert re.search(r"median change (?:−?\d+|between −?\d+ and −?\d+) level steps", text)
    if re.search(r"lower in [1-9]|higher in [1-9]", text):
        assert "sign test on the level changes" in text and "without change dropped" in text
