"""Public API of the cumulative link mixed model: design, fit, fallback, tables.

Levels come from the codebook in code order; levels never observed are dropped (as R's
``droplevels``) and the result's ``note`` says which. Coefficients, thresholds and the patient
variance are named as ``ordinal::clmm`` names them, so the R fixtures compare by name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ITBError, ModelSpecError
from analysis.stats.multiplicity import holm
from analysis.stats.ordinal.engine import CLMMProblem, _cdf, _pdf_and_slope
from analysis.stats.ordinal.fitting import SINGULAR_SD, CLMMFit, fit_problem
from analysis.vocabulary import LINKS, Link

logger = logging.getLogger(__name__)
_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
_Z = stats.norm.ppf(0.975)


@dataclass(frozen=True)
class Design:
    """Category of each observation, its fixed-effect rows and patients (sorted by patient)."""

    y: np.ndarray
    X: np.ndarray
    levels: tuple[str, ...]
    dropped: tuple[str, ...]
    fixed_names: tuple[str, ...]
    factor: str | None
    factor_levels: tuple[str, ...]
    patient: np.ndarray
    starts: np.ndarray
    n_groups: int

    @property
    def thresholds(self) -> list[str]:
        return [f"{a}|{b}" for a, b in zip(self.levels[:-1], self.levels[1:], strict=True)]

    def problem(self, *, link: Link, n_agq: int, random: bool = True,
                nominal: bool = False) -> CLMMProblem:
        """The engine's problem: ``eta_k = theta_k - x' beta`` (nominal: per-threshold beta)."""
        n, J = len(self.y), len(self.levels)
        cols = J - 1
        Xn = np.column_stack([np.ones(n), -self.X[:, 1:]]) if nominal else -self.X[:, 1:]
        width = cols * Xn.shape[1] if nominal else cols + Xn.shape[1]
        B1, B2 = np.zeros((n, width)), np.zeros((n, width))
        rows = np.arange(n)
        for B, k in ((B1, self.y), (B2, self.y - 1)):
            ok = (k >= 0) & (k < cols)
            if nominal:
                for c in range(Xn.shape[1]):
                    B[rows[ok], k[ok] * Xn.shape[1] + c] = Xn[ok, c]
            else:
                B[rows[ok], k[ok]] = 1.0
                B[ok, cols:] = Xn[ok]
        return CLMMProblem(B1, B2, top=self.y == J - 1, bottom=self.y == 0,
                           patient=self.patient, starts=self.starts, link=link, n_agq=n_agq,
                           random=random)


@dataclass(frozen=True, eq=False)
class CLMMResult:
    """A fitted cumulative link mixed model (``ordinal::clmm``'s parameterisation).

    ``par`` holds thresholds, coefficients and log SD of the patient intercept; ``vcov`` its
    inverse Hessian (NaN where a parameter is on the boundary). ``logLik`` is the Laplace or
    quadrature approximation of the marginal log-likelihood.
    """

    design: Design
    fit: CLMMFit
    link: Link
    n_agq: int
    group: str
    formula: str
    random: bool = True
    note: str = ""
    po_test: tuple[float, int, float] | None = None  # (LR chi-square, df, p)

    # ---- quantities ------------------------------------------------------------------------
    @property
    def n_thresholds(self) -> int:
        return len(self.design.levels) - 1

    @property
    def log_lik(self) -> float:
        return -self.fit.nll

    @property
    def aic(self) -> float:
        return 2 * self.fit.nll + 2 * len(self.fit.par)

    @property
    def sd(self) -> float:
        """SD of the patient intercept on the latent scale (0 for a singular fit)."""
        if not self.random or self.fit.singular:
            return 0.0
        return float(np.exp(self.fit.par[-1]))

    def _table(self, idx: Sequence[int], names: Sequence[str]) -> pd.DataFrame:
        est = self.fit.par[list(idx)]
        se = np.sqrt(np.diag(self.fit.vcov)[list(idx)])
        z = est / se
        return pd.DataFrame({"term": list(names), "estimate": est, "se": se, "statistic": z,
                             "p_value": 2 * stats.norm.sf(np.abs(z)),
                             "ci_low": est - _Z * se, "ci_high": est + _Z * se})

    def thresholds(self) -> pd.DataFrame:
        """Thresholds ``a|b``: ``term, estimate, se, statistic (z), p_value, ci_low, ci_high``."""
        return self._table(range(self.n_thresholds), self.design.thresholds)

    def fixed(self) -> pd.DataFrame:
        """Coefficients (R's names) with Wald z tests and CIs, and their odds ratios
        (``odds_ratio``, ``or_low``, ``or_high``; logit link only, NaN otherwise)."""
        k = self.n_thresholds
        t = self._table(range(k, k + len(self.design.fixed_names)), self.design.fixed_names)
        logit = self.link == "logit"
        for col, src in (("odds_ratio", "estimate"), ("or_low", "ci_low"),
                         ("or_high", "ci_high")):
            t[col] = np.exp(t[src]) if logit else np.nan
        return t

    def contrasts(self) -> pd.DataFrame:
        """Each visit against the reference (``later - reference``): the log cumulative odds
        ratio of a higher category, as :meth:`fixed`, plus ``p_adjusted`` (Holm)."""
        if self.design.factor is None:
            return self.fixed().iloc[:0].assign(p_adjusted=[])
        ref, *others = self.design.factor_levels
        names = [f"{self.design.factor}{lev}" for lev in others]
        t = self.fixed().set_index("term").loc[names].reset_index(drop=True)
        t.insert(0, "term", [f"{lev} - {ref}" for lev in others])
        t["p_adjusted"] = holm(t["p_value"].to_numpy())
        return t

    def probabilities(self) -> pd.DataFrame:
        """Probability of each level at each visit for a patient with random effect 0
        (``visit, level, estimate, se``; delta-method SE)."""
        d, k = self.design, self.n_thresholds
        if d.factor is None:
            return pd.DataFrame(columns=["visit", "level", "estimate", "se"])
        alpha = self.fit.par[:k]
        beta = self.fit.par[k:k + len(d.fixed_names)]
        V = self.fit.vcov[:k + len(beta), :k + len(beta)]
        rows = []
        for i, lev in enumerate(d.factor_levels):
            x = np.zeros(len(beta))
            if i:
                x[d.fixed_names.index(f"{d.factor}{lev}")] = 1.0
            eta = np.concatenate([[-np.inf], alpha - x @ beta, [np.inf]])
            F = np.concatenate([[0.0], _cdf(eta[1:-1], self.link), [1.0]])
            f = np.concatenate([[0.0], _pdf_and_slope(eta[1:-1], self.link)[0], [0.0]])
            for j, level in enumerate(d.levels):
                grad = np.zeros(k + len(beta))
                if j < k:
                    grad[j] += f[j + 1]
                if j > 0:
                    grad[j - 1] -= f[j]
                grad[k:] = -x * (f[j + 1] - f[j])
                rows.append({"visit": lev, "level": level, "estimate": F[j + 1] - F[j],
                             "se": float(np.sqrt(grad @ V @ grad))})
        return pd.DataFrame(rows)

    def status_note(self) -> str:
        """Convergence, gradient, singular fit, dropped levels and any fallback, as text."""
        fit = self.fit
        parts = [("converged" if fit.converged else "NOT converged")
                 + f"; max |gradient| {np.max(np.abs(fit.gradient)):.1e}"]
        if fit.singular:
            parts.append(f"singular fit: patient SD below {SINGULAR_SD:g} (on the boundary); "
                         "estimates and SEs are those of the model without the random "
                         "intercept (as ordinal::clm)")
        if self.design.dropped:
            parts.append("level(s) never observed, dropped: " + ", ".join(self.design.dropped))
        parts += fit.notes
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)

    def method(self) -> str:
        approx = ("Laplace approximation" if self.n_agq <= 1 else
                  f"adaptive Gauss-Hermite quadrature, {self.n_agq} nodes")
        rand = f" + (1 | {self.group})" if self.random else ""
        return (f"CLMM {self.formula}{rand}, {self.link} link, ML by {approx} "
                "(analysis.stats.ordinal, as ordinal::clmm)")

    def tidy(self, measure: str = "", side: str = "") -> pd.DataFrame:
        """Results-table rows of this model (see :func:`analysis.stats.ordinal.rows.clmm_rows`).

        Examples
        --------
        >>> rng = np.random.default_rng(1)
        >>> d = pd.DataFrame({"patient_id": np.repeat([f"P{i}" for i in range(10)], 3),
        ...                   "visit": ["baseline", "m3", "m6"] * 10})
        >>> latent = np.repeat(rng.normal(size=10), 3) - (d.visit != "baseline") * 1.5
        >>> d["value"] = np.digitize(latent + rng.logistic(size=30), [-1, 0, 1]).astype(float)
        >>> res = fit_clmm(d, levels=["0", "1", "2", "3"], codes=[0, 1, 2, 3])
        >>> rows = res.tidy(measure="mrc_knee_ext")
        >>> rows.query("analysis == 'clmm_fixed'")["term"].tolist()
        ['visitm3', 'visitm6']
        >>> rows.query("analysis == 'clmm_threshold'")["term"].tolist()
        ['0|1', '1|2', '2|3']
        """
        from analysis.stats.ordinal.rows import clmm_rows  # rows import this module

        return clmm_rows(self, measure, side)

    def with_note(self, note: str) -> CLMMResult:
        return replace(self, note="; ".join(x for x in (self.note, note) if x))


def design_matrix(data: pd.DataFrame, *, levels: Sequence[str], codes: Sequence[float],
                  formula: str, group: str, reference: str | None) -> Design:
    """Categories (by code), treatment-coded fixed effects and patients of ``data``."""
    if formula.count("~") != 1:
        raise ModelSpecError(f"formula {formula!r} needs one '~', e.g. 'value ~ visit'")
    response, rhs = (s.strip() for s in formula.split("~"))
    terms = [t.strip() for t in rhs.split("+") if t.strip() and t.strip() != "1"]
    for name in [response, *terms]:
        if not _NAME.match(name) or name not in data.columns:
            raise ModelSpecError(f"term {name!r} of {formula!r} is not a column of the data "
                                 f"({list(data.columns)}); only main effects are supported")
    d = data.dropna(subset=[response, group, *terms])
    d = d.iloc[np.argsort(d[group].astype(str).to_numpy(), kind="stable")]
    codes_arr = np.asarray(codes, float)
    value = pd.to_numeric(d[response], errors="coerce").to_numpy(float)
    match = np.isclose(value[:, None], codes_arr[None, :])
    bad = ~match.any(axis=1)
    if bad.any():
        raise ModelSpecError(f"value(s) {sorted(set(value[bad]))[:5]} are not codes of the "
                             f"levels {list(levels)} ({list(codes)}); fix the data or codebook")
    cat = match.argmax(axis=1)
    seen = np.unique(cat)
    if len(seen) < 2:
        raise ModelSpecError(f"only {len(seen)} level observed: an ordinal model needs two")
    dropped = tuple(lev for i, lev in enumerate(levels) if i not in set(seen))
    y = np.searchsorted(seen, cat)
    cols, names = [np.ones(len(d))], ["(Intercept)"]
    factor, factor_levels = None, ()
    for name in terms:
        x = d[name]
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            cols.append(x.to_numpy(float))
            names.append(name)
            continue
        x = x.astype(str)
        labs = _factor_levels(x, d, first=factor is None)
        if factor is None:
            if reference is not None:
                if reference not in labs:
                    raise ModelSpecError(f"reference level {reference!r} not among the "
                                         f"levels of {name!r} ({labs})")
                labs.remove(reference)
                labs.insert(0, reference)
            factor, factor_levels = name, tuple(labs)
        for lev in labs[1:]:
            cols.append((x == lev).to_numpy(float))
            names.append(f"{name}{lev}")
    pcodes, uniques = pd.factorize(d[group].astype(str), sort=True)
    if len(uniques) < 2:
        raise ModelSpecError(f"{len(uniques)} patient(s) in {group!r}; a mixed model needs 2")
    starts = np.flatnonzero(np.r_[True, pcodes[1:] != pcodes[:-1]])
    return Design(y=y, X=np.column_stack(cols), levels=tuple(levels[i] for i in seen),
                  dropped=dropped, fixed_names=tuple(names[1:]), factor=factor,
                  factor_levels=factor_levels, patient=pcodes, starts=starts,
                  n_groups=len(uniques))


def _factor_levels(x: pd.Series, d: pd.DataFrame, *, first: bool) -> list[str]:
    """Visit order: by median ``day`` when present, else first appearance; others sorted."""
    appearance = list(dict.fromkeys(x))
    if not first:
        return sorted(appearance)
    if "day" in d:
        med = pd.to_numeric(d["day"], errors="coerce").groupby(x.to_numpy()).median()
        return sorted(appearance, key=lambda v: (np.nan_to_num(med.get(v, np.nan), nan=np.inf),
                                                 appearance.index(v)))
    return appearance


def _start(design: Design, link: Link) -> np.ndarray:
    J = len(design.levels)
    cum = np.cumsum(np.bincount(design.y, minlength=J))[:-1] / len(design.y)
    q = {"logit": stats.logistic.ppf, "probit": stats.norm.ppf,
         "cloglog": lambda p: np.log(-np.log1p(-p))}[link](cum)
    return np.concatenate([q, np.zeros(len(design.fixed_names))])


def fit_clmm(data: pd.DataFrame, *, levels: Sequence[str], codes: Sequence[float],
             formula: str = "value ~ visit", group: str = "patient_id",
             reference: str | None = None, link: Link = "logit", n_agq: int = 1,
             check_po: bool = True) -> CLMMResult:
    """Fit ``formula + (1 | group)`` by ML; falls back to no random intercept (clm) when the
    mixed model does not converge (the reason in ``note``). See
    :func:`analysis.api.ordinal_model` for the public entry point."""
    if link not in LINKS:
        raise ModelSpecError(f"link = {link!r}; use one of {', '.join(LINKS)}")
    if int(n_agq) < 1:
        raise ModelSpecError(f"quadrature_points = {n_agq!r}; use 1 (Laplace) or more")
    design = design_matrix(data, levels=levels, codes=codes, formula=formula, group=group,
                           reference=reference)
    clm = fit_problem(design.problem(link=link, n_agq=1, random=False), _start(design, link))
    problem = design.problem(link=link, n_agq=int(n_agq))
    fit = fit_problem(problem, np.append(clm.par, 0.0))
    if not fit.converged:
        retry = fit_problem(problem, np.append(clm.par, np.log(0.5)))
        fit = retry if retry.nll < fit.nll or retry.converged else fit
    res = CLMMResult(design, fit, link, int(n_agq), group, formula)
    if not fit.converged:
        note = (f"fallback: the model with (1 | {group}) did not converge; refitted without the "
                "random intercept (as ordinal::clm): SEs ignore the within-patient correlation")
        logger.warning(note)
        res = CLMMResult(design, clm, link, 1, group, formula, random=False, note=note)
    if check_po:
        res = _proportional_odds(res)
    return res


def _proportional_odds(res: CLMMResult) -> CLMMResult:
    """Likelihood-ratio test of proportional odds: nominal (threshold-specific) effects of every
    predictor against the fitted model, same random term and approximation (Laplace)."""
    d = res.design
    J, p = len(d.levels), len(d.fixed_names)
    if J < 3 or p == 0:
        return res.with_note("proportional odds not checked (two levels or no predictor)")
    k = J - 1
    base = res.fit.par if res.n_agq <= 1 else None
    problem = d.problem(link=res.link, n_agq=1, random=res.random, nominal=True)
    try:
        if base is None:
            base_fit = fit_problem(d.problem(link=res.link, n_agq=1, random=res.random),
                                   res.fit.par, covariance=False)
            base, base_nll = base_fit.par, base_fit.nll
        else:
            base_nll = res.fit.nll
        start = np.concatenate([np.column_stack([base[:k], np.tile(base[k:k + p], (k, 1))]
                                                ).ravel(), base[k + p:]])
        nominal = fit_problem(problem, start, covariance=False)
    except (ITBError, np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
        return res.with_note(f"proportional-odds check failed ({exc})")
    lr = max(2 * (base_nll - nominal.nll), 0.0)
    df = (k - 1) * p
    pv = float(stats.chi2.sf(lr, df))
    if not nominal.converged:
        return replace(res, po_test=(lr, df, pv)).with_note(
            "proportional odds not assessable: the model with nominal effects did not converge "
            f"(sparse categories at some visit); its LR chi2 = {lr:.3g}, df = {df} is unreliable")
    verdict = "rejected" if pv < 0.05 else "not rejected"
    caveat = ""
    return replace(res, po_test=(lr, df, pv)).with_note(
        f"proportional odds {verdict}: LR test against nominal effects of "
        f"{', '.join(d.fixed_names)} (Laplace), chi2 = {lr:.3g}, df = {df}, p = {pv:.3g}"
        f"{caveat}")
