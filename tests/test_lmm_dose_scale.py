"""Random-slope REML fits with a slope variable in large units (dose in ug/day), against R.

The data (tests/fixtures/lmm/data_dose_scale.csv) are the titration observations of 200
simulated patients (``simulate_series(200, seed=10)``, the registry's six visits; dose > 0,
patients with >= 2 doses), regenerated and compared with the file below. Reference:
tests/r/lmm_dose_scale_fixtures.R (lme4 1.1-31 + lmerTest 3.1-3, pbkrtest 0.5.2): lme4's
default fit, then bobyqa with rhoend = 1e-12 from it and from a fit on dose / 64, the lower
REML criterion kept (a tight optimum: lme4's default stops early on these models).

Why these models (the two faults of the engine before it optimised in rescaled theta):
- ``mrc_knee_ext`` R: L-BFGS-B from lme4's identity start (a slope theta of 1 per ug/day)
  ends at theta = (0, -0.0137, 0), a singular point 63 units of REML deviance above the
  regular optimum R finds;
- ``six_mwt`` and ``tug``: the optimum is regular, but a Nelder-Mead polish from it gains
  ~1e-11 in deviance while raising the projected gradient above 1e-3, which was reported
  as "did not converge".

Tolerances (relative): REML deviance 1e-7 absolute; theta, sigma 1e-4; fixed effects and
SEs 1e-5; Satterthwaite and Kenward-Roger df 1e-4.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from analysis.stats.lmm import fit_lmm, fit_lmm_safe
from analysis.stats.lmm.engine import GRADIENT_TOL

FIX = Path(__file__).parent / "fixtures" / "lmm"
DATA = FIX / "data_dose_scale.csv"
MODELS = {"mrc_knee_ext_R": ("mrc_knee_ext", "R"), "six_mwt": ("six_mwt", ""),
          "tug": ("tug", "")}
DDF = {"Satterthwaite": "satterthwaite", "Kenward-Roger": "kenward-roger"}
KW = dict(formula="value ~ dose_ug_day", random="1 + dose_ug_day", reference=None)


def simulated() -> pd.DataFrame:
    """The fixture's data, from the project's simulator."""
    from analysis.examples.simulate import DEFAULT_VISITS, simulate_series
    obs, _ = simulate_series(200, seed=10, measures=["mrc_knee_ext", "six_mwt", "tug"],
                             visits=DEFAULT_VISITS[:6])
    obs["side"] = obs["side"].fillna("").astype(str)
    t = obs[(obs["phase"] == "test_infusion") & (obs["dose_ug_day"] > 0)
            & obs["value"].notna()]
    t = t[t.groupby(["measure", "side", "patient_id"])["dose_ug_day"].transform("nunique") >= 2]
    t = t[[(m, s) in MODELS.values() for m, s in zip(t["measure"], t["side"], strict=False)]]
    return (t[["patient_id", "measure", "side", "dose_ug_day", "value"]]
            .sort_values(["measure", "side", "patient_id", "dose_ug_day"], kind="stable")
            .reset_index(drop=True))


def _data(name: str) -> pd.DataFrame:
    d = pd.read_csv(DATA, keep_default_na=False, dtype={"patient_id": str, "side": str})
    measure, side = MODELS[name]
    return d[(d["measure"] == measure) & (d["side"] == side)].reset_index(drop=True)


def _ref(kind: str, name: str) -> pd.DataFrame:
    ref = pd.read_csv(FIX / f"dose_scale_{kind}.csv")
    return ref[ref["dataset"] == name].reset_index(drop=True)


_CACHE: dict = {}


def _fit(name: str, ddf: str = "Satterthwaite"):
    if (name, ddf) not in _CACHE:
        _CACHE[name, ddf] = fit_lmm(_data(name), df_method=DDF[ddf], **KW)
    return _CACHE[name, ddf]


def test_fixture_data_are_the_simulators():
    got = pd.read_csv(DATA, keep_default_na=False, dtype={"patient_id": str, "side": str})
    pd.testing.assert_frame_equal(got, simulated(), check_dtype=False)
    assert got.groupby(["measure", "side"])["patient_id"].nunique().min() >= 190


@pytest.mark.parametrize("name", list(MODELS))
def test_fit_matches_lme4_at_a_tight_optimum(name):
    res = _fit(name)
    ref = _ref("fit", name).set_index("key")["value"]
    assert res.deviance == pytest.approx(ref["deviance"], abs=1e-7)
    assert res.deviance <= ref["deviance"] + 1e-9
    theta_r = ref[["theta1", "theta2", "theta3"]].to_numpy()
    np.testing.assert_allclose(res.theta, theta_r, rtol=1e-4)
    assert res.sigma == pytest.approx(ref["sigma"], rel=1e-4)
    vc = res.variance_components()["estimate"].to_numpy()
    vc_ref = ref[[k for k in ref.index if k.startswith("vc:")]].to_numpy()
    np.testing.assert_allclose(vc, vc_ref, rtol=1e-4)
    # regular optimum, as R says: converged (scale-free check), not singular
    assert not ref["singular"] and not res.singular
    assert res.converged and res.scaled_gradient < GRADIENT_TOL
    assert "disagree" not in res.fit_note


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("ddf", list(DDF))
def test_fixed_effects_match_lmertest(name, ddf):
    got = _fit(name, ddf).fixed()
    ref = _ref("fixed", name)
    ref = ref[ref["ddf"] == ddf].reset_index(drop=True)
    assert got["term"].tolist() == ref["term"].tolist()
    np.testing.assert_allclose(got["estimate"], ref["estimate"], rtol=1e-5)
    np.testing.assert_allclose(got["se"], ref["se"], rtol=1e-5)
    np.testing.assert_allclose(got["df"], ref["df"], rtol=1e-4)
    np.testing.assert_allclose(got["statistic"], ref["t"], rtol=1e-5)
    np.testing.assert_allclose(got["p_value"], ref["p"], rtol=1e-4, atol=1e-12)


@pytest.mark.parametrize("name", list(MODELS))
def test_safe_fit_keeps_the_random_slope(name):
    res = fit_lmm_safe(_data(name), **KW)
    assert res.random == "1 + dose_ug_day" and res.note == ""


def _problem(name):
    from analysis.stats.lmm.engine import REMLProblem
    d = _data(name)
    dose = d["dose_ug_day"].to_numpy(float)
    X = np.column_stack([np.ones(len(d)), dose])
    return REMLProblem(d["value"].to_numpy(float), X, X, pd.factorize(d["patient_id"])[0])


def test_the_identity_start_in_ug_per_day_is_a_trap():
    """Finding 1: unscaled L-BFGS-B from lme4's start ends singular, far above R's optimum."""
    prob = _problem("mrc_knee_ext_R")
    ref = _ref("fit", "mrc_knee_ext_R").set_index("key")["value"]
    stuck = optimize.minimize(prob.deviance, np.array([1.0, 0.0, 1.0]), jac=prob.gradient,
                              method="L-BFGS-B", bounds=prob.lower_bounds(),
                              options={"ftol": 1e-14, "gtol": 1e-8, "maxiter": 500})
    assert stuck.x[0] < 1e-4 and stuck.fun > ref["deviance"] + 10
    assert _fit("mrc_knee_ext_R").deviance == pytest.approx(ref["deviance"], abs=1e-7)


@pytest.mark.parametrize("name", list(MODELS))
def test_a_verified_optimum_is_not_polished(name):
    """Finding 2: L-BFGS-B's optimum is verified (scale-free), so no Nelder-Mead polish moves
    it by rounding to a point of larger gradient."""
    prob = _problem(name)
    fit = prob.fit()
    assert np.isnan(fit.deviance_neldermead) and fit.deviance == fit.deviance_lbfgsb
    assert fit.converged and fit.scaled_gradient < 1e-5


@pytest.mark.parametrize("name", list(MODELS))
def test_convergence_does_not_depend_on_the_units_of_dose(name):
    """The same model with dose in mg/day: the same optimum (the slope's theta x 1000, the
    criterion shifted by the constant 2 log 1000 of log|R_X|^2) and the same verdict, while
    the raw gradient norm moves by orders of magnitude."""
    d = _data(name)
    ug = _fit(name)
    mg = fit_lmm(d.assign(dose_ug_day=d["dose_ug_day"] / 1000), **KW)
    np.testing.assert_allclose(mg.theta * [1, 1e-3, 1e-3], ug.theta, rtol=1e-5)
    assert mg.deviance == pytest.approx(ug.deviance - 2 * np.log(1000), abs=1e-6)
    assert mg.converged and ug.converged and not mg.singular
    assert mg.scaled_gradient < 1e-5 and ug.scaled_gradient < 1e-5
    np.testing.assert_allclose(mg.fixed()["df"], ug.fixed()["df"], rtol=1e-4)


if __name__ == "__main__":  # writes the fixture's data (then run the R script)
    simulated().to_csv(DATA, index=False)
    print("wrote", DATA)
