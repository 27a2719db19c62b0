"""Results rows (:mod:`analysis.results`) of a :class:`~analysis.stats.ordinal.model.CLMMResult`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.results import result_frame
from analysis.stats.ordinal.model import CLMMResult


def clmm_rows(res: CLMMResult, measure: str = "", side: str = "") -> pd.DataFrame:
    """Rows ``clmm_threshold``, ``clmm_fixed``, ``clmm_odds_ratio`` (logit link),
    ``clmm_contrast`` (Holm), ``clmm_probability``, ``clmm_random`` and ``clmm_fit``; every row
    has ``method`` and ``note`` (the fit's status)."""
    base = {"measure": measure, "side": side, "n_patients": res.design.n_groups,
            "n_obs": len(res.design.y)}
    method, note = res.method(), res.status_note()
    wald = f"{method}; Wald z test, 95% Wald CI"

    def stat(r) -> dict:
        return {"term": r.term, "estimate": r.estimate, "se": r.se, "statistic": r.statistic,
                "p_value": r.p_value, "ci_low": r.ci_low, "ci_high": r.ci_high}

    rows = [{**base, **stat(r), "analysis": "clmm_threshold", "p_value": np.nan,
             "method": f"{method}; threshold (latent scale), 95% Wald CI", "note": note}
            for r in res.thresholds().itertuples(index=False)]
    fixed = res.fixed()
    rows += [{**base, **stat(r), "analysis": "clmm_fixed", "method": wald, "note": note}
             for r in fixed.itertuples(index=False)]
    if res.link == "logit":
        rows += [{**base, "analysis": "clmm_odds_ratio", "term": r.term,
                  "estimate": r.odds_ratio, "statistic": r.statistic, "p_value": r.p_value,
                  "ci_low": r.or_low, "ci_high": r.or_high,
                  "method": f"{wald}; cumulative odds ratio exp(coefficient) of a higher "
                            "category", "note": note}
                 for r in fixed.itertuples(index=False)]
    con = res.contrasts()
    factor = res.design.factor
    rows += [{**base, **stat(r), "analysis": "clmm_contrast", "p_adjusted": r.p_adjusted,
              "adjustment": f"holm: {len(con)} contrasts of {factor} against "
                            f"{res.design.factor_levels[0]}",
              "method": f"{wald}; log cumulative odds of a higher category, visit against "
                        "the reference (positive: higher categories)", "note": note}
             for r in con.itertuples(index=False)]
    rows += [{**base, "analysis": "clmm_probability", "term": f"{r.visit}: {r.level}",
              "estimate": r.estimate, "se": r.se,
              "method": f"{method}; probability of the level at the visit for a patient with "
                        "random effect 0, delta-method SE", "note": note}
             for r in res.probabilities().itertuples(index=False)]
    rand = f"{res.group} (Intercept)"
    rows += [{**base, "analysis": "clmm_random", "term": rand, "estimate": res.sd ** 2,
              "method": f"{method}; variance of the patient intercept (latent scale)",
              "note": note},
             {**base, "analysis": "clmm_random", "term": f"{rand} SD", "estimate": res.sd,
              "method": f"{method}; SD of the patient intercept (latent scale)", "note": note}]
    rows += [{**base, "analysis": "clmm_fit", "term": "logLik", "estimate": res.log_lik,
              "method": method, "note": note},
             {**base, "analysis": "clmm_fit", "term": "AIC", "estimate": res.aic,
              "method": method, "note": note}]
    if res.po_test is not None:
        lr, df, p = res.po_test
        rows.append({**base, "analysis": "clmm_fit", "term": "proportional odds LR test",
                     "statistic": lr, "df": df, "p_value": p,
                     "method": f"{method}; likelihood-ratio test against nominal "
                               "(threshold-specific) effects, Laplace", "note": note})
    return result_frame(rows)
