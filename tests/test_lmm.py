"""analysis.stats.lmm against R: lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, emmeans 1.8.4-1.

Fixtures come from tests/r/lmm_fixtures.R (run `Rscript tests/r/lmm_fixtures.R` from the repo
root); the tests do not need R. Tolerances (relative unless said otherwise):
- fixed effects, emmeans, contrast estimates and SEs, CI limits: 1e-5;
- REML deviance: 1e-7 absolute; theta and sigma: 1e-4 (1e-5 absolute for a theta at 0);
- denominator df (Satterthwaite and Kenward-Roger): 1e-4;
- p-values (raw and Holm): 1e-4 relative, and 1e-12 absolute for tiny p (a p of 1e-40 moves
  by 1e-3 relative when t moves by 1e-7, so its relative error says nothing).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ITBError
from analysis.results import COLUMNS
from analysis.stats.lmm import ModelSpecError, fit_lmm, fit_lmm_safe

FIX = Path(__file__).parent / "fixtures" / "lmm"
RTOL_EST = 1e-5
RTOL_DF = 1e-4
ATOL_P = 1e-12

#: dataset -> keyword arguments reproducing the R model of tests/r/lmm_fixtures.R
MODELS = {
    "hsp": dict(formula="score ~ visit", group="patient", random="1"),
    "sleepstudy": dict(formula="Reaction ~ Days", group="Subject", random="1 + Days"),
    "sim_cov": dict(formula="value ~ visit", group="patient_id", random="1",
                    covariates=("age", "sex")),
    "sim_slope": dict(formula="value ~ visit", group="patient_id", random="1 + day"),
    "singular": dict(formula="value ~ visit", group="patient_id", random="1"),
    "singular_slope": dict(formula="value ~ visit", group="patient_id", random="1 + day"),
    "dose": dict(formula="value ~ dose", group="patient_id", random="1 + dose"),
}
DDF = {"Satterthwaite": "satterthwaite", "Kenward-Roger": "kenward-roger"}
CASES = [(name, ddf) for name in MODELS for ddf in DDF]


def _ref(kind: str, name: str, ddf: str | None = None) -> pd.DataFrame:
    ref = pd.read_csv(FIX / f"{kind}.csv")
    ref = ref[ref["dataset"] == name]
    if ddf is not None:
        ref = ref[ref["ddf"] == ddf]
    return ref.reset_index(drop=True)


_CACHE: dict = {}


def _fit(name: str, ddf: str):
    key = (name, ddf)
    if key not in _CACHE:
        data = pd.read_csv(FIX / f"data_{name}.csv")
        _CACHE[key] = fit_lmm(data, df_method=DDF[ddf], **MODELS[name])
    return _CACHE[key]


def _close(got, want, rtol, atol=0.0):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=rtol,
                               atol=atol)


@pytest.mark.parametrize("name", list(MODELS))
def test_fit_matches_lme4(name):
    res = _fit(name, "Satterthwaite")
    ref = _ref("fit", name).set_index("key")["value"]
    assert res.deviance == pytest.approx(ref["deviance"], abs=1e-7)
    theta_ref = ref[[k for k in ref.index if k.startswith("theta")]].to_numpy()
    _close(res.theta, theta_ref, rtol=1e-4, atol=1e-5)
    assert res.sigma == pytest.approx(ref["sigma"], rel=1e-4)
    assert res.singular == bool(ref["singular"])
    assert res.converged
    assert res.n_obs == ref["nobs"] and res.n_groups == ref["ngroups"]
    vc = res.variance_components()["estimate"].to_numpy()
    vc_ref = ref[[k for k in ref.index if k.startswith("vc:")]].to_numpy()
    # R orders: var intercept, var slope, cov, residual; ours: var, var, cov, residual
    _close(vc, vc_ref, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("name,ddf", CASES)
def test_fixed_effects_match_lmertest(name, ddf):
    got = _fit(name, ddf).fixed()
    ref = _ref("fixed", name, ddf)
    assert got["term"].tolist() == ref["term"].tolist()
    _close(got["estimate"], ref["estimate"], RTOL_EST)
    _close(got["se"], ref["se"], RTOL_EST)
    _close(got["df"], ref["df"], RTOL_DF)
    _close(got["statistic"], ref["t"], RTOL_EST)
    _close(got["p_value"], ref["p"], RTOL_DF, ATOL_P)


EMM_CASES = [(n, d) for n, d in CASES if n not in ("sleepstudy", "dose")]


@pytest.mark.parametrize("name,ddf", EMM_CASES)
def test_emmeans_match_r(name, ddf):
    got = _fit(name, ddf).emmeans("visit")
    ref = _ref("emmeans", name, ddf)
    assert got["term"].tolist() == ref["visit"].tolist()
    _close(got["estimate"], ref["emmean"], RTOL_EST)
    _close(got["se"], ref["se"], RTOL_EST)
    _close(got["df"], ref["df"], RTOL_DF)
    _close(got["ci_low"], ref["lower"], RTOL_EST)
    _close(got["ci_high"], ref["upper"], RTOL_EST)


@pytest.mark.parametrize("name,ddf", EMM_CASES)
def test_contrasts_match_r(name, ddf):
    got = _fit(name, ddf).contrasts("visit")
    ref = _ref("contrasts", name, ddf)
    assert got["term"].tolist() == ref["contrast"].tolist()
    _close(got["estimate"], ref["estimate"], RTOL_EST)
    _close(got["se"], ref["se"], RTOL_EST)
    _close(got["df"], ref["df"], RTOL_DF)
    _close(got["statistic"], ref["t"], RTOL_EST)
    _close(got["p_value"], ref["p"], RTOL_DF, ATOL_P)
    _close(got["p_adjusted"], ref["p_holm"], RTOL_DF, ATOL_P)
    # unadjusted 95% CIs: confint(contrast(emm, "trt.vs.ctrl", adjust = "none"))
    _close(got["ci_low"], ref["lower"], RTOL_EST)
    _close(got["ci_high"], ref["upper"], RTOL_EST)


@pytest.mark.parametrize("name", ["hsp", "sim_slope", "singular"])
def test_tidy_rows(name):
    res = _fit(name, "Satterthwaite")
    rows = res.tidy(measure="score", side="")
    assert list(rows.columns) == list(COLUMNS)
    counts = rows["analysis"].value_counts()
    ref_con = _ref("contrasts", name, "Satterthwaite")
    assert counts["lmm_contrast"] == len(ref_con)
    assert counts["lmm_fixed"] == len(_ref("fixed", name, "Satterthwaite"))
    assert counts["lmm_icc"] == 1 and counts["lmm_fit"] == 1
    con = rows[rows["analysis"] == "lmm_contrast"]
    _close(con["p_adjusted"], ref_con["p_holm"], RTOL_DF, ATOL_P)
    assert (con["df_method"] == "satterthwaite").all()
    assert con["adjustment"].str.startswith("holm").all()
    assert con["method"].str.contains("unadjusted").all()
    fixed = rows[rows["analysis"] == "lmm_fixed"]
    assert fixed["term"].iloc[0] == "(Intercept)"
    assert fixed["term"].iloc[1].startswith("visit")
    # ICC from R's variance components: intercept variance / (that + residual)
    vc = _ref("fit", name).set_index("key")["value"]
    v_int = vc[[k for k in vc.index if k.startswith("vc:") and k.endswith(":(Intercept):NA")]]
    icc = v_int.iloc[0] / (v_int.iloc[0] + vc["vc:Residual:NA:NA"])
    assert rows.loc[rows["analysis"] == "lmm_icc", "estimate"].iloc[0] == pytest.approx(
        icc, rel=1e-4, abs=1e-8)
    fit_row = rows[rows["analysis"] == "lmm_fit"].iloc[0]
    assert fit_row["estimate"] == pytest.approx(vc["deviance"], abs=1e-7)
    assert ("singular fit" in fit_row["note"]) == bool(vc["singular"])
    if name == "sim_slope":
        assert "day = 0" in rows.loc[rows["analysis"] == "lmm_icc", "note"].iloc[0]


@pytest.mark.parametrize("name", list(MODELS))
def test_optimum_is_verified_and_not_worse_than_lme4(name):
    """Both optimizers ran, the projected gradient is small, and lme4's theta is no better."""
    res = _fit(name, "Satterthwaite")
    assert res.gradient_norm < 1e-3
    assert "disagree" not in res.fit_note
    ref = _ref("fit", name).set_index("key")["value"]
    theta_r = ref[[k for k in ref.index if k.startswith("theta")]].to_numpy()
    data = pd.read_csv(FIX / f"data_{name}.csv")
    # the criterion of our engine evaluated at lme4's optimum equals lme4's REMLcrit
    from analysis.stats.lmm.engine import REMLProblem
    problem = _problem(res, data)
    assert problem.deviance(theta_r) == pytest.approx(ref["deviance"], abs=1e-7)
    assert res.deviance <= problem.deviance(theta_r) + 1e-9
    assert isinstance(problem, REMLProblem)


def _problem(res, data):
    """Rebuild the REMLProblem of a fitted model from its terms (for criterion checks)."""
    from analysis.stats.lmm.engine import REMLProblem
    d = data.dropna(subset=[res.response]).reset_index(drop=True)
    cols = []
    for t in res.terms:
        if t.kind == "intercept":
            cols.append(np.ones(len(d)))
        elif t.kind == "numeric":
            cols.append(d[t.name].to_numpy(float))
        else:
            cols += [(d[t.name].astype(str) == lev).to_numpy(float) for lev in t.levels[1:]]
    Z = np.column_stack([np.ones(len(d))] + [d[v].to_numpy(float) for v in res.random_names[1:]])
    groups = pd.factorize(d[res.group].astype(str))[0]
    return REMLProblem(d[res.response].to_numpy(float), np.column_stack(cols), Z, groups)


def _slope_data(seed: int) -> pd.DataFrame:
    # no slope variance by construction (identical slopes, patient offsets only)
    rng = np.random.default_rng(seed)
    pid = np.repeat([f"P{i}" for i in range(10)], 5)
    day = np.tile([0.0, 1, 2, 3, 4], 10)
    value = 5 + np.repeat(rng.normal(size=10), 5) + 0.5 * day + rng.normal(0, 0.3, 50)
    return pd.DataFrame({"patient_id": pid, "day": day, "value": value})


def test_fallback_from_singular_random_slope(caplog):
    data = _slope_data(1)  # this draw gives a boundary fit: theta[2] == 0
    slope = fit_lmm(data, formula="value ~ day", random="1 + day")
    assert slope.singular and slope.theta[2] < 1e-4
    # on the model's own logger: another test's (or a power simulation's) level on it is
    # overridden here and restored after
    with caplog.at_level("WARNING", logger="analysis.stats.lmm.model"):
        res = fit_lmm_safe(data, formula="value ~ day", random="1 + day")
    assert res.random == "1"
    assert res.note.startswith("fallback") and "singular" in res.note
    assert "fallback" in caplog.text
    assert "fallback" in res.tidy().query("analysis == 'lmm_fit'")["note"].iloc[0]
    # the fallback is the plain random-intercept fit
    plain = fit_lmm(data, formula="value ~ day", random="1")
    assert res.deviance == plain.deviance
    kept = fit_lmm_safe(data, formula="value ~ day", random="1 + day",
                        fallback_on_singular=False)
    assert kept.random == "1 + day" and kept.note == ""


def test_no_fallback_when_random_slope_fits():
    data = _slope_data(6)  # this draw gives an interior optimum
    res = fit_lmm_safe(data, formula="value ~ day", random="1 + day")
    assert not res.singular and res.random == "1 + day" and res.note == ""


def test_errors_name_the_value():
    data = pd.read_csv(FIX / "data_hsp.csv")
    with pytest.raises(ModelSpecError, match="'post_m6'"):
        fit_lmm(data, formula="score ~ visit", group="patient", reference="post_m6")
    with pytest.raises(ITBError, match="not in the data"):
        fit_lmm(data, formula="score ~ visit", group="patient_id")
    with pytest.raises(ITBError, match="df_method"):
        fit_lmm(data, formula="score ~ visit", group="patient", df_method="wald")
    with pytest.raises(ITBError, match="random"):
        fit_lmm(data, formula="score ~ visit", group="patient", random="day")
    with pytest.raises(ITBError, match="interactions"):
        fit_lmm(data, formula="score ~ visit * MAS", group="patient")


def test_failed_verification_is_reported_and_falls_back(monkeypatch):
    """A fit whose gradient check fails is flagged, and a random slope falls back."""
    import analysis.stats.lmm.fitting as fitting

    monkeypatch.setattr(fitting, "GRADIENT_TOL", 0.0)  # no optimum can pass now
    data = _slope_data(6)
    res = fit_lmm(data, formula="value ~ day", random="1 + day")
    assert not res.converged
    assert "NOT converged" in res.tidy().query("analysis == 'lmm_fit'")["note"].iloc[0]
    safe = fit_lmm_safe(data, formula="value ~ day", random="1 + day")
    assert safe.random == "1" and "did not converge" in safe.note
