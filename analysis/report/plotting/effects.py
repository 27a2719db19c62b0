"""Forest plot of effect sizes from the results table."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.errors import InvalidInputError
from analysis.report.plotting._data import Names, require_columns
from analysis.report.plotting.theme import OKABE_ITO, new_figure, use_theme

#: Display names of effect-size variants (the variant is always named).
EFFECT_LABELS: dict[str, str] = {
    "cohens_dz": "Cohen's $d_z$",
    "cohens_dav": "Cohen's $d_{av}$",
    "hedges_gav": "Hedges' $g_{av}$",
    "rank_biserial": "Rank-biserial $r$",
    "z_cc": "$Z_{CC}$",
}



def forest(
    results: pd.DataFrame,
    *,
    analyses: Sequence[str] = ("cohens_dz", "hedges_gav"),
    visit: str | None = None,
    codebook: Any = None,
    labels: Callable[[str], str] | None = None,
) -> Figure:
    """Effect sizes with 95% CIs per measure (rows of the results table).

    One row per measure, side, term and variant, labelled in clinical words (the codebook
    label of the measure, the side, the comparison in visit words); the variant is named in
    each row's label (and the comparison too when several are drawn; a single one goes in the
    x label). A vertical line marks 0. To draw each measure at its own last visit, pass only
    those rows.

    Parameters
    ----------
    results : DataFrame
        Results table.
    analyses : sequence of str
        Effect-size analyses to draw (see ``analysis.results.ANALYSES``).
    visit : str, optional
        Keep only terms ``"<visit> - ..."``.
    codebook, labels : optional
        Codebook (labels) and visit code -> words (default: the codebook's visit labels).

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> res = result_frame([{"measure": "tug", "analysis": "cohens_dz",
    ...     "term": "post_m6 - baseline", "estimate": -1.5, "ci_low": -2.4, "ci_high": -0.56}])
    >>> [t.get_text() for t in forest(res).axes[0].get_yticklabels()]
    ["Timed Up and Go: Cohen's $d_z$"]
    """
    require_columns(results, ["measure", "side", "analysis", "term", "estimate", "ci_low",
                              "ci_high"], "results table")
    analyses = list(analyses)
    rows = results[results["analysis"].isin(analyses)].copy()
    if visit is not None:
        rows = rows[rows["term"].str.split(" - ").str[0].str.strip() == visit]
    if rows.empty:
        raise InvalidInputError(f"no rows of {analyses}"
                          f"{'' if visit is None else f' at visit {visit!r}'} in the results")
    rows["_a"] = rows["analysis"].map({a: i for i, a in enumerate(analyses)})
    rows = rows.sort_values(["measure", "side", "term", "_a"], kind="mergesort")
    names = Names(codebook, labels)
    colours = {a: c for a, c in zip(analyses, [OKABE_ITO["blue"], OKABE_ITO["vermillion"],
                                               OKABE_ITO["bluish_green"], OKABE_ITO["orange"],
                                               OKABE_ITO["reddish_purple"]] * 3, strict=False)}
    markers = dict(zip(analyses, ["o", "s", "D", "^", "v"] * 3, strict=False))
    n = len(rows)
    one_term = rows["term"].nunique() == 1
    texts = []
    for _, r in rows.iterrows():
        measure = names.name(r["measure"], r["side"])
        term = "" if one_term else f", {names.visit(str(r['term']).split(' - ')[0])}"
        variant = EFFECT_LABELS.get(r["analysis"], "effect size")
        texts.append(f"{measure}{term}: {variant}")  # not wrapped: it would split mathtext
    long_labels = max(len(t) for t in texts) > 34
    with use_theme():
        fig = new_figure("page" if long_labels or n > 16 else "column", 0.7 + 0.2 * n)
        ax = fig.add_subplot()
        y = np.arange(n)[::-1]
        for yi, (_, r) in zip(y, rows.iterrows(), strict=False):
            a = r["analysis"]
            est, lo, hi = float(r["estimate"]), float(r["ci_low"]), float(r["ci_high"])
            xerr = None if np.isnan(lo) or np.isnan(hi) else [[est - lo], [hi - est]]
            ax.errorbar([est], [yi], xerr=xerr, fmt=markers[a], color=colours[a], ms=3.5,
                        lw=1.0)
        ax.axvline(0, color="black", lw=0.7, ls="-", zorder=0)
        ax.set_yticks(y, texts)
        ax.set_ylim(-0.7, n - 0.3)
        # each row names its variant, so no legend is needed
        ax.set_xlabel(textwrap.fill("Effect size (95% CI)" + (
            f", {names.term(rows['term'].iloc[0])}" if one_term else ""), 60))
    return fig
