"""Public API of the linear mixed models: fit, tables, results rows and the fallback chain."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from analysis.errors import ITBError, ModelSpecError
from analysis.results import result_frame
from analysis.stats.lmm.ddf import KenwardRoger, Satterthwaite, make_ddf
from analysis.stats.lmm.emmeans import Term, contrast_table, estimate_table, grid_rows
from analysis.stats.lmm.engine import REMLProblem
from analysis.stats.numerics import (
    capture_warnings,
    is_constant,
    is_perfect_fit,
    join_notes,
)
from analysis.vocabulary import DfMethod

logger = logging.getLogger(__name__)

_DF_LABEL = {"satterthwaite": "Satterthwaite df (as lmerTest)",
             "kenward-roger": "Kenward-Roger df and adjusted covariance (as pbkrtest/lmerTest)"}
_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


@dataclass(frozen=True, eq=False)
class LMMResult:
    """A fitted linear mixed model (REML) with its df calculator.

    Attributes
    ----------
    formula : str
        lme4-style formula, e.g. ``"value ~ visit + (1 | patient_id)"``.
    fixed_names : tuple of str
        Coefficient names as lme4 gives them (``(Intercept)``, ``visitpost_m6``, ``day``).
    beta, vcov : ndarray
        Fixed effects and the covariance used for SEs (Kenward-Roger adjusted when
        ``df_method == "kenward-roger"``); ``vcov_unadjusted`` is ``sigma^2 (X'V^-1X)^-1``.
    theta, sigma, deviance : lme4's ``getME(m, "theta")``, ``sigma(m)``, ``REMLcrit(m)``.
    converged, singular, gradient_norm, scaled_gradient : verified-optimum status (see
        ``fit_note``): ``converged`` is judged on the scaled gradient ``sqrt(g' H^-1 g)``,
        which does not depend on the units of a slope variable; ``gradient_norm`` is the
        projected gradient norm in theta (it does).
    note : str
        Fallback taken (empty when none).
    """

    formula: str
    response: str
    group: str
    random: str
    df_method: DfMethod
    terms: tuple[Term, ...]
    fixed_names: tuple[str, ...]
    random_names: tuple[str, ...]
    beta: np.ndarray
    vcov: np.ndarray
    vcov_unadjusted: np.ndarray
    theta: np.ndarray
    sigma: float
    deviance: float
    converged: bool
    singular: bool
    gradient_norm: float
    scaled_gradient: float
    fit_note: str
    n_obs: int
    n_groups: int
    note: str = ""
    calc: Satterthwaite | KenwardRoger | None = field(default=None, repr=False)
    measure: str = ""
    side: str = ""

    # ---- tables --------------------------------------------------------------------------
    def fixed(self) -> pd.DataFrame:
        """Fixed effects: ``term, estimate, se, df, statistic, p_value, ci_low, ci_high``."""
        return estimate_table(list(self.fixed_names), np.eye(len(self.beta)), self.beta,
                              self.calc)

    def emmeans(self, factor: str = "visit") -> pd.DataFrame:
        """Marginal mean of each level of ``factor`` (columns as :meth:`fixed`)."""
        levels, L = grid_rows(self.terms, len(self.beta), factor)
        return estimate_table(levels, L, self.beta, self.calc)

    def contrasts(self, factor: str = "visit") -> pd.DataFrame:
        """Each level of ``factor`` minus its reference, Holm-adjusted: ``term, estimate, se,
        df, statistic, p_value, ci_low, ci_high, p_adjusted`` and, as in the results table,
        ``df_method, adjustment, method, note``."""
        levels, L = grid_rows(self.terms, len(self.beta), factor)
        con = contrast_table(levels, L, self.beta, self.calc)
        caveat = self.singular or not self.converged or bool(self.note)
        return con.assign(
            df_method=self.df_method,
            adjustment=[f"holm: {len(con)} contrasts of {factor} against "
                        f"{t.split(' - ')[-1]}" for t in con["term"]],
            method=self._contrast_method(),
            note=self.status_note() if caveat else "")

    def _contrast_method(self) -> str:
        engine = f"LMM REML {self.formula}, profiled engine (analysis.stats.lmm)"
        return (f"{engine}, contrast of marginal means (as emmeans trt.vs.ctrl), "
                f"{_DF_LABEL[self.df_method]}; CI unadjusted 95% t interval (emmeans would "
                "give Bonferroni CIs with adjust='holm')")

    def variance_components(self) -> pd.DataFrame:
        """``term, estimate`` (variances and covariance of the random effects, residual)."""
        T = _factor_from_theta(self.theta, len(self.random_names))
        D = self.sigma ** 2 * T @ T.T
        rows = [(f"var: {n} | {self.group}", D[i, i]) for i, n in enumerate(self.random_names)]
        if len(self.random_names) == 2:
            a, b = self.random_names
            rows.append((f"cov: {a}, {b} | {self.group}", D[1, 0]))
        rows.append(("var: Residual", self.sigma ** 2))
        return pd.DataFrame(rows, columns=["term", "estimate"])

    # ---- results rows --------------------------------------------------------------------
    def tidy(self, measure: str | None = None, side: str | None = None) -> pd.DataFrame:
        """Results-table rows (``analysis.results.result_frame``) of this model.

        ``measure`` and ``side`` default to the model's (``analysis.mixed_model`` sets them).

        Rows: ``lmm_fixed`` per coefficient, ``lmm_emmean`` and ``lmm_contrast`` per level of
        the first factor (when there is one), ``lmm_variance``, ``lmm_icc`` and ``lmm_fit``.

        Examples
        --------
        >>> rng = np.random.default_rng(5)
        >>> d = pd.DataFrame({"patient_id": np.repeat([f"P{i}" for i in range(6)], 3),
        ...                   "visit": ["baseline", "post_m3", "post_m6"] * 6})
        >>> d["value"] = np.repeat(rng.normal(size=6), 3) + rng.normal(size=18)
        >>> rows = fit_lmm(d).tidy(measure="gait_speed")
        >>> rows["analysis"].unique().tolist()
        ['lmm_fixed', 'lmm_emmean', 'lmm_contrast', 'lmm_variance', 'lmm_icc', 'lmm_fit']
        >>> rows.query("analysis == 'lmm_contrast'")["term"].tolist()
        ['post_m3 - baseline', 'post_m6 - baseline']
        """
        measure = self.measure if measure is None else measure
        side = self.side if side is None else side
        base = {"measure": measure, "side": side, "n_patients": self.n_groups,
                "n_obs": self.n_obs}
        engine = f"LMM REML {self.formula}, profiled engine (analysis.stats.lmm)"
        dfm = _DF_LABEL[self.df_method]
        status = self.status_note()
        caveat = self.singular or not self.converged or bool(self.note)
        rows = []
        for r in self.fixed().itertuples(index=False):
            rows.append({**base, **_stat(r), "analysis": "lmm_fixed", "df_method": self.df_method,
                         "method": f"{engine}, {dfm}; t test, unadjusted 95% t CI",
                         "note": status if caveat else ""})
        factor = next((t.name for t in self.terms if t.kind == "factor"), None)
        if factor is not None:
            for r in self.emmeans(factor).itertuples(index=False):
                rows.append({**base, **_stat(r), "analysis": "lmm_emmean",
                             "df_method": self.df_method,
                             "method": f"{engine}, estimated marginal mean (as emmeans), "
                                       f"{dfm}; 95% t CI"})
            con = self.contrasts(factor)
            for r in con.itertuples(index=False):
                rows.append({**base, **_stat(r), "analysis": "lmm_contrast",
                             "df_method": self.df_method, "p_adjusted": r.p_adjusted,
                             "adjustment": r.adjustment, "method": r.method})
        vc = self.variance_components()
        sing = "singular fit (a random-effect variance on the boundary)" if self.singular else ""
        for r in vc.itertuples(index=False):
            rows.append({**base, "analysis": "lmm_variance", "term": r.term,
                         "estimate": r.estimate, "method": f"{engine}, REML variance component",
                         "note": sing})
        var_int = vc["estimate"].iloc[0]
        icc_note = "; ".join(x for x in [
            sing, "random slope model: ICC at day = 0 (random-intercept variance / (that + "
            "residual))" if len(self.random_names) == 2 else ""] if x)
        rows.append({**base, "analysis": "lmm_icc", "term": "ICC",
                     "estimate": var_int / (var_int + self.sigma ** 2),
                     "method": f"{engine}, random-intercept variance / (that + residual)",
                     "note": icc_note})
        rows.append({**base, "analysis": "lmm_fit", "term": "REML deviance",
                     "estimate": self.deviance, "method": engine, "note": status})
        for row in rows:  # every row of the model names its df method, and a fit's caveats
            row["df_method"] = self.df_method  # reach the means and contrasts a report quotes
            if row["analysis"] in ("lmm_emmean", "lmm_contrast") and caveat:
                row["note"] = status
        return result_frame(rows)

    def status_note(self) -> str:
        """Convergence, gradient, optimizers, theta, singular fit and any fallback, as text."""
        parts = [("converged" if self.converged else "NOT converged")
                 + f"; scaled gradient {self.scaled_gradient:.1e}, projected gradient norm "
                 f"{self.gradient_norm:.1e}",
                 "theta = " + ", ".join(f"{t:.6g}" for t in self.theta),
                 "singular fit (theta on the boundary, lme4 rule theta < 1e-4)" if self.singular
                 else "not singular"]
        if getattr(self.calc, "n_negative_eigen", 0):
            parts.append("Hessian of the REML criterion in (theta, sigma) has negative "
                         "eigenvalue(s): Satterthwaite df uncertain (lmerTest warns likewise)")
        parts += [x for x in (self.fit_note, self.note) if x]
        return "; ".join(parts)


def _stat(r) -> dict:
    return {"term": r.term, "estimate": r.estimate, "se": r.se, "df": r.df,
            "statistic": r.statistic, "p_value": r.p_value, "ci_low": r.ci_low,
            "ci_high": r.ci_high}


def _factor_from_theta(theta: np.ndarray, q: int) -> np.ndarray:
    rows, cols = np.tril_indices(q)
    order = np.lexsort((rows, cols))
    T = np.zeros((q, q))
    T[rows[order], cols[order]] = theta
    return T


def _parse(formula: str, random: str, covariates: Sequence[str]) -> tuple[str, list, list]:
    if formula.count("~") != 1:
        raise ModelSpecError(f"formula {formula!r} needs one '~', e.g. 'value ~ visit'")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    fixed = [t.strip() for t in rhs.split("+") if t.strip() and t.strip() != "1"]
    fixed += [c for c in covariates if c not in fixed]
    rand = [t.strip() for t in random.split("+") if t.strip()]
    if not rand or rand[0] != "1" or len(rand) > 2:
        raise ModelSpecError(f"random = {random!r} is not supported; use '1' or '1 + day' "
                             "(one slope variable)")
    for name in [lhs, *fixed, *rand[1:]]:
        if not _NAME.match(name):
            raise ModelSpecError(
                f"term {name!r} in {formula!r} is not a column name; only main effects of "
                "columns are supported (no interactions or transformations)")
    return lhs, fixed, rand[1:]


def _levels(x: pd.Series, data: pd.DataFrame, first: bool
            ) -> tuple[list[str], dict[str, np.ndarray]]:
    """Levels of ``x`` in model order, and which rows hold each level (from one factorisation:
    a comparison of every row per level cost more than the model's set-up)."""
    codes, uniques = pd.factorize(x)
    appearance = [str(v) for v in uniques]  # in order of first appearance
    rows = {v: codes == i for i, v in enumerate(appearance)}
    if first and "day" in data:
        med = data["day"].groupby(codes, sort=False).median()
        return sorted(appearance, key=lambda v: (
            np.nan_to_num(med.get(appearance.index(v), np.nan), nan=np.inf),
            appearance.index(v))), rows
    return (appearance if first else sorted(appearance)), rows


def fit_lmm(data: pd.DataFrame, *, formula: str = "value ~ visit", group: str = "patient_id",
            random: str = "1", reference: str | None = "baseline",
            df_method: DfMethod = "satterthwaite",
            covariates: Sequence[str] = ()) -> LMMResult:
    """Fit ``formula + (random | group)`` by REML and prepare small-sample inference.

    Parameters
    ----------
    data : pandas.DataFrame
        Long data, one row per observation. Rows with a missing value in any column used are
        dropped (as lme4's ``na.omit``).
    formula : str
        ``response ~ term + term``: main effects of columns; text columns are factors with
        treatment coding (the first factor's levels ordered by median ``day`` when the data
        have ``day``, else by first appearance; other factors sorted, as R does), numeric
        columns enter as they are.
    group : str
        Column identifying patients.
    random : str
        ``"1"`` (random intercept) or ``"1 + <numeric column>"`` (correlated random intercept
        and slope, unstructured 2x2 covariance).
    reference : str or None
        Reference level of the first factor (None: its first level).
    df_method : {"satterthwaite", "kenward-roger"}
    covariates : sequence of str
        Extra columns added to the fixed effects.

    Returns
    -------
    LMMResult

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> d = pd.DataFrame({"patient_id": np.repeat([f"P{i}" for i in range(8)], 3),
    ...                   "visit": ["baseline", "m3", "m6"] * 8})
    >>> d["value"] = (10 + np.repeat(rng.normal(size=8), 3) - (d.visit != "baseline")
    ...               + rng.normal(scale=0.5, size=24))
    >>> res = fit_lmm(d)
    >>> res.fixed_names
    ('(Intercept)', 'visitm3', 'visitm6')
    >>> res.contrasts()["term"].tolist()
    ['m3 - baseline', 'm6 - baseline']
    """
    if df_method not in _DF_LABEL:
        raise ModelSpecError(f"df_method = {df_method!r}; use 'satterthwaite' or "
                             "'kenward-roger'")
    response, fixed, slope = _parse(formula, random, covariates)
    used = list(dict.fromkeys([response, group, *fixed, *slope]))
    missing = [c for c in used if c not in data.columns]
    if missing:
        raise ModelSpecError(f"column(s) {missing} not in the data (columns: "
                             f"{list(data.columns)}); fix the formula, group or random")
    # only the columns the model reads (and day, which orders the visits): dropping rows of
    # every column of the caller's frame costs more than the rest of the set-up
    kept = used + (["day"] if "day" in data.columns and "day" not in used else [])
    d = data[kept].dropna(subset=used).reset_index(drop=True)
    y = pd.to_numeric(d[response], errors="raise").to_numpy(float)
    cols, names = [np.ones(len(d))], ["(Intercept)"]
    terms = [Term("(Intercept)", "intercept", columns=(0,))]
    seen_factor = False
    for name in fixed:
        x = d[name]
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            terms.append(Term(name, "numeric", columns=(len(cols),), mean=float(x.mean())))
            cols.append(x.to_numpy(float))
            names.append(name)
            continue
        x = x.astype(str)
        levels, rows = _levels(x, d, first=not seen_factor)
        if not seen_factor and reference is not None:
            if reference not in levels:
                raise ModelSpecError(f"reference level {reference!r} not among the levels of "
                                     f"{name!r} ({levels}); set reference= to one of them")
            levels.remove(reference)
            levels.insert(0, reference)
        seen_factor = True
        idx = tuple(range(len(cols), len(cols) + len(levels) - 1))
        for lev in levels[1:]:
            cols.append(rows[lev].astype(float))
            names.append(f"{name}{lev}")
        terms.append(Term(name, "factor", tuple(levels), idx))
    X = np.column_stack(cols)
    Z = np.column_stack([np.ones(len(d))] + [d[s].to_numpy(float) for s in slope])
    codes, uniques = pd.factorize(d[group].astype(str), sort=True)
    if len(uniques) < 2:
        raise ModelSpecError(f"{len(uniques)} patient(s) in column {group!r}; a mixed model "
                             "needs at least 2 (use the single-case analyses)")
    _refuse_degenerate(y, X, codes, response)
    with capture_warnings() as caught:
        problem = REMLProblem(y, X, Z, codes)
        fit = problem.fit()
        calc = make_ddf(df_method, problem, fit)
    if caught:
        fit = replace(fit, note=join_notes(fit.note, "warning captured: " + " | ".join(caught)))
    vcov = calc.vcov_adj if isinstance(calc, KenwardRoger) else calc.vcov
    rand_text = " + ".join(["1", *slope])
    return LMMResult(
        formula=f"{response} ~ {' + '.join(fixed) or '1'} + ({rand_text} | {group})",
        response=response, group=group, random=rand_text, df_method=df_method,
        terms=tuple(terms), fixed_names=tuple(names),
        random_names=tuple(["(Intercept)", *slope]), beta=fit.solution.beta, vcov=vcov,
        vcov_unadjusted=calc.vcov, theta=fit.theta, sigma=fit.sigma, deviance=fit.deviance,
        converged=fit.converged, singular=fit.singular, gradient_norm=fit.gradient_norm,
        scaled_gradient=fit.scaled_gradient, fit_note=fit.note, n_obs=len(d),
        n_groups=len(uniques), calc=calc)


def _refuse_degenerate(y: np.ndarray, X: np.ndarray, codes: np.ndarray, response: str) -> None:
    """Refuse data a mixed model cannot describe: a constant response, or one that the fixed
    effects plus one intercept per patient reproduce exactly (no residual variance; e.g. every
    patient gains exactly the same amount). REML would "converge" to rounding noise (df 1e-5,
    intervals of 1e142); lme4 likewise fails on such data. Judged by relative tolerance."""
    if is_constant(y):
        raise ModelSpecError(
            f"{response} is constant (all {len(y)} values equal up to rounding): there is no "
            "variance to model; see the descriptive rows")
    # The residuals of y on [X, one dummy per patient] are those of the within-patient
    # deviations of y on the within-patient deviations of X (Frisch-Waugh-Lovell): the same
    # projection without an n x patients dense design (quadratic in patients at registry scale).
    counts = np.bincount(codes).astype(float)
    y_within = y - (np.bincount(codes, weights=y) / counts)[codes]
    X_within = X - (np.stack([np.bincount(codes, weights=col) for col in X.T], axis=1)
                    / counts[:, None])[codes]
    coef, *_ = np.linalg.lstsq(X_within, y_within, rcond=None)
    if is_perfect_fit(y, y_within - X_within @ coef, rel_tol=1e-9):
        raise ModelSpecError(
            "the fixed effects and one level per patient reproduce every value exactly "
            "(residual variance 0 up to rounding; e.g. every patient changes by exactly the "
            "same amount): a mixed model is not identifiable, so it was not fitted; the change "
            "is exact and is reported by the paired rows")


def fit_lmm_safe(data: pd.DataFrame, *, fallback_on_singular: bool = True,
                 **kwargs) -> LMMResult:
    """:func:`fit_lmm` with the fallback chain: random slope -> random intercept.

    A random-slope model that raises, does not reach a verified optimum, or (when
    ``fallback_on_singular``) is a singular fit is refitted with a random intercept only; the
    reason is logged (``logging.WARNING``) and kept in ``note`` of the result (and of its
    ``lmm_fit`` row). Random-intercept models are returned as :func:`fit_lmm` gives them.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> d = pd.DataFrame({"patient_id": np.repeat(list("ABCDEF"), 4), "day": [0.0, 1, 2, 3] * 6})
    >>> d["value"] = d.day + np.repeat(rng.normal(size=6), 4) + rng.normal(0, 0.3, 24)
    >>> res = fit_lmm_safe(d, formula="value ~ day", random="1 + day")
    >>> res.random, res.note.startswith("fallback")
    ('1', True)
    """
    random = kwargs.get("random", "1")
    try:
        res = fit_lmm(data, **kwargs)
        reason = ("did not converge" if not res.converged
                  else "is a singular fit" if res.singular and fallback_on_singular else "")
    except (ITBError, np.linalg.LinAlgError) as exc:
        if random.replace(" ", "") == "1":
            raise
        res, reason = None, f"failed ({exc})"
    if not reason or random.replace(" ", "") == "1":
        return res
    note = (f"fallback: the model with random = ({random} | {kwargs.get('group', 'patient_id')})"
            f" {reason}; refitted with a random intercept only")
    logger.warning(note)
    simple = fit_lmm(data, **{**kwargs, "random": "1"})
    return replace(simple, note=note)
