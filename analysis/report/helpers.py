"""Helpers used inside the report documents (``reports/*.qmd``).

Reports read results; they do not fit models. :func:`load` runs (or reads from the cache) the
analysis pipeline, and every number printed in the text comes from the results table through
:func:`num`, :func:`est_ci`, :func:`pval` or :func:`stat`, formatted by
:mod:`analysis.report.formatting`, never typed by hand. Tables go out as Markdown pipe tables with a
caption (:func:`show_table`) so that they look the same in HTML, PDF and Word.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.errors import RenderError
from analysis.report.escape import Markdown, markdown_literal, markdown_prose
from analysis.report.formatting import (
    MISSING,
    digits_for,
    fmt_df,
    fmt_est_ci,
    fmt_num,
    fmt_p,
    fmt_stat,
)
from analysis.report.tables import to_markdown

__all__ = ["out", "literal", "load", "row", "has", "terms", "latest_term", "num", "est_ci", "pval", "stat", "show_table",
           "show_supplement", "show_figure", "reproducibility_tables", "use_number_style"]

_INT_COLUMNS = ("n_patients", "n_obs")
_P_COLUMNS = ("p_value", "p_adjusted")


def out(text: str) -> None:
    """Print report text in an ``output: asis`` cell, through the one boundary between data and
    documents (:func:`analysis.report.escape.markdown_prose`): citations, ``@tbl-``/``@fig-``
    cross-references and ``^a^`` marks stay markup; nothing from the data can be.

    Examples
    --------
    >>> out("Visit ![](/etc/passwd) is in @tbl-outcomes.")
    Visit \\!\\[\\](/etc/passwd) is in @tbl-outcomes.
    """
    print(markdown_prose(text))


def set_title(text: object) -> None:
    """Make ``text`` (plain text) the document title: the built-in renderer writes it into the
    metadata as a Markdown literal (:func:`analysis.report.escape.markdown_literal`), so nothing
    in it is markup. Quarto ignores this display; ``itb report`` gives Quarto the same title
    with ``--metadata``. Prints nothing.
    """
    from IPython.display import display

    from analysis.report.render.execute import TITLE_MIME

    display({TITLE_MIME: {"title": str(text)}}, raw=True)


def literal(text: object) -> Markdown:
    """A data value as literal Markdown text (every significant character escaped), for a
    cell that writes its own markup around it (``f"*{kit.literal(note)}*"``).

    Examples
    --------
    >>> print(literal("*not bold* [@key]"))
    \\*not bold\\* \\[\\@key\\]
    """
    return markdown_literal(text)


def load(params: Mapping[str, Any] | None = None, **kwargs: Any):
    """Run the analysis for a report, or read its tables from the cache the ``itb`` process
    filled (:mod:`analysis.run.cache`: Parquet and JSON, checksummed, never code; the kernel
    inherits ``$ITB_CACHE_DIR`` / ``$ITB_NO_CACHE`` from ``itb report``).

    Parameters
    ----------
    params : mapping
        The document's parameters: ``data`` (dataset directory or file, required), and
        optionally ``config``, ``codebook``, ``df_method`` and ``follow_links``; empty values
        are ignored.
    **kwargs
        The same, as keywords (they override ``params``).

    Returns
    -------
    analysis.run.pipeline.AnalysisRun
    """
    from analysis.run.pipeline import run_analysis

    given = {**dict(params or {}), **kwargs}
    data = given.get("data")
    if not data:
        raise RenderError("the report needs the parameter 'data' (a dataset directory or file)")
    options = {k: given[k] for k in ("config", "codebook", "df_method", "follow_links")
               if given.get(k)}
    return run_analysis(Path(str(data)), cache_dir=given.get("cache_dir", "default"), **options)


def _select(results: pd.DataFrame, measure: str, analysis: str, term: str,
            side: str | None, patient_id: str | None) -> pd.DataFrame:
    rows = results[(results["measure"] == measure) & (results["analysis"] == analysis)
                   & (results["term"] == term)]
    if side is not None:
        rows = rows[rows["side"] == side]
    if patient_id is not None:
        rows = rows[rows["patient_id"] == patient_id]
    return rows


def row(
    results: pd.DataFrame,
    measure: str,
    analysis: str,
    term: str,
    *,
    side: str | None = None,
    patient_id: str | None = None,
) -> pd.Series:
    """The one results row with this measure, analysis and term.

    ``side`` and ``patient_id`` narrow the match; left as ``None`` they must not be needed
    (exactly one row matches), except that a group row (empty side and patient) is preferred.

    Raises
    ------
    RenderError
        When no row or several rows match; the message lists what the table holds.

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> t = result_frame([{"measure": "tug", "analysis": "paired_t",
    ...                    "term": "post_m6 - baseline", "estimate": -2.5, "p_value": 0.01}])
    >>> row(t, "tug", "paired_t", "post_m6 - baseline")["estimate"]
    np.float64(-2.5)
    """
    rows = _select(results, measure, analysis, term, side, patient_id)
    if len(rows) > 1 and side is None and patient_id is None:
        group = rows[(rows["side"] == "") & (rows["patient_id"] == "")]
        rows = group if len(group) == 1 else rows
    if len(rows) == 1:
        return rows.iloc[0]
    if rows.empty:
        same = results[(results["measure"] == measure) & (results["analysis"] == analysis)]
        if same.empty:
            have = sorted(results.loc[results["measure"] == measure, "analysis"].unique())
            hint = (f"analyses of {measure!r}: {have}" if have
                    else f"measures: {sorted(results['measure'].unique())}")
        else:
            hint = f"terms of {measure!r} {analysis!r}: {sorted(same['term'].unique())}"
        raise RenderError(
            f"no results row for measure={measure!r}, analysis={analysis!r}, term={term!r}"
            f"{'' if side is None else f', side={side!r}'}"
            f"{'' if patient_id is None else f', patient_id={patient_id!r}'}; {hint}"
        )
    keys = rows[["side", "patient_id"]].drop_duplicates().to_dict("records")
    raise RenderError(
        f"{len(rows)} results rows match measure={measure!r}, analysis={analysis!r}, "
        f"term={term!r}; pass side= and/or patient_id= (they differ in {keys})"
    )


def has(results: pd.DataFrame, measure: str, analysis: str, term: str, **where: Any) -> bool:
    """True when exactly one results row matches (see :func:`row`).

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> has(result_frame([]), "tug", "paired_t", "x")
    False
    """
    try:
        row(results, measure, analysis, term, **where)
    except RenderError:
        return False
    return True


def terms(results: pd.DataFrame, measure: str, analysis: str, *,
          order: list[str] | None = None, side: str | None = None) -> list[str]:
    """The terms of a measure's rows of one analysis (group rows), in visit order.

    ``order`` is the visit order (e.g. :func:`analysis.data.derive.visit_order`); a term is
    placed by the visit before its ``" - "`` (``post_m6 - baseline`` -> ``post_m6``).

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> t = result_frame([{"measure": "x", "analysis": "paired_t", "term": f"{v} - bl"}
    ...                   for v in ("m6", "m3")])
    >>> terms(t, "x", "paired_t", order=["bl", "m3", "m6"])
    ['m3 - bl', 'm6 - bl']
    """
    rows = results[(results["measure"] == measure) & (results["analysis"] == analysis)
                   & (results["patient_id"] == "")]
    if side is not None:
        rows = rows[rows["side"] == side]
    found = list(dict.fromkeys(rows["term"]))
    if order:
        rank = {v: i for i, v in enumerate(order)}
        found.sort(key=lambda t: rank.get(t.split(" - ")[0], len(rank)))
    return found


def latest_term(results: pd.DataFrame, measure: str, analysis: str, *,
                order: list[str] | None = None, side: str | None = None) -> str | None:
    """The term of the latest visit with an estimate (see :func:`terms`), or None.

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> t = result_frame([{"measure": "x", "analysis": "paired_t", "term": "m6 - bl",
    ...                    "estimate": float("nan")},
    ...                   {"measure": "x", "analysis": "paired_t", "term": "m3 - bl",
    ...                    "estimate": 1.0}])
    >>> latest_term(t, "x", "paired_t", order=["bl", "m3", "m6"])
    'm3 - bl'
    """
    for term in reversed(terms(results, measure, analysis, order=order, side=side)):
        rows = _select(results, measure, analysis, term, side, "")
        if rows["estimate"].notna().any():
            return term
    return None


def _digits(results_row: pd.Series, digits: int | None, codebook: Any) -> int:
    if digits is not None:
        return digits
    unit = None
    if codebook is not None and results_row["measure"] in codebook:
        unit = codebook.measure(results_row["measure"]).unit
    method = str(results_row.get("method", "")).lower()
    if results_row["analysis"] == "therapeutic_window":
        return digits_for("ug/day")
    if results_row["analysis"] in ("cohens_dz", "cohens_dav", "hedges_gav", "rank_biserial",
                                   "z_cc", "nap", "tau_u", "lmm_icc", "rci"):
        return 2
    if results_row["analysis"] in ("responder", "responder_cp", "improved_one_grade") or "proportion" in method:
        return 2
    return digits_for(unit) if unit is not None else 2


def num(
    results: pd.DataFrame,
    measure: str,
    analysis: str,
    term: str,
    column: str = "estimate",
    digits: int | None = None,
    *,
    side: str | None = None,
    patient_id: str | None = None,
    codebook: Any = None,
) -> str:
    """One number of the results table, formatted for the text.

    p-values print in APA style ("p = .043", see :func:`analysis.report.formatting.fmt_p`); counts as
    integers; ``df`` as an integer or one decimal; other columns with ``digits`` decimals
    (default: from the measure's unit in ``codebook``, 2 for effect sizes, else 2).

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> t = result_frame([{"measure": "tug", "analysis": "paired_t", "term": "post_m6 - baseline",
    ...                    "estimate": -2.456, "p_value": 0.0123, "df": 9, "n_patients": 10}])
    >>> num(t, "tug", "paired_t", "post_m6 - baseline") == "\u22122.46"  # true minus sign
    True
    >>> num(t, "tug", "paired_t", "post_m6 - baseline", "p_value").replace("\xa0", " ")
    'p = .012'
    >>> num(t, "tug", "paired_t", "post_m6 - baseline", "n_patients"), \
num(t, "tug", "paired_t", "post_m6 - baseline", "df")
    ('10', '9')
    """
    r = row(results, measure, analysis, term, side=side, patient_id=patient_id)
    if column not in r.index:
        raise RenderError(f"no column {column!r} in the results table; columns: {list(r.index)}")
    value = r[column]
    if column in _P_COLUMNS:
        return fmt_p(value)
    if column in _INT_COLUMNS:
        return MISSING if pd.isna(value) else str(int(round(float(value))))
    if column == "df":
        return fmt_df(value)
    if isinstance(value, str):
        return value
    return fmt_num(value, _digits(r, digits, codebook))


def est_ci(results: pd.DataFrame, measure: str, analysis: str, term: str,
           digits: int | None = None, *, side: str | None = None,
           patient_id: str | None = None, codebook: Any = None) -> str:
    """Estimate with its 95% interval, "0.42 [0.21, 0.63]" (see :func:`num`).

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> t = result_frame([{"measure": "tug", "analysis": "cohens_dz", "term": "b - a",
    ...                    "estimate": 1.5, "ci_low": 0.5605, "ci_high": 2.4034}])
    >>> est_ci(t, "tug", "cohens_dz", "b - a").replace("\xa0", " ")
    '1.50 [0.56, 2.40]'
    """
    r = row(results, measure, analysis, term, side=side, patient_id=patient_id)
    return fmt_est_ci(r["estimate"], r["ci_low"], r["ci_high"], _digits(r, digits, codebook))


def pval(results: pd.DataFrame, measure: str, analysis: str, term: str, *,
         adjusted: bool = False, side: str | None = None, patient_id: str | None = None) -> str:
    """The (Holm-adjusted when ``adjusted``) p-value of a row, "p = .012"."""
    column = "p_adjusted" if adjusted else "p_value"
    return num(results, measure, analysis, term, column, side=side, patient_id=patient_id)


def stat(results: pd.DataFrame, measure: str, analysis: str, term: str, name: str = "t", *,
         digits: int = 2, side: str | None = None, patient_id: str | None = None) -> str:
    """A test for the text, "t(9) = 4.74, p = .001" (see :func:`analysis.report.formatting.fmt_stat`).

    Examples
    --------
    >>> from analysis.results import result_frame
    >>> t = result_frame([{"measure": "x", "analysis": "paired_t", "term": "b - a",
    ...                    "statistic": 4.7434, "df": 9, "p_value": 0.001054}])
    >>> stat(t, "x", "paired_t", "b - a").replace("\xa0", " ")
    't(9) = 4.74, p = .001'
    """
    r = row(results, measure, analysis, term, side=side, patient_id=patient_id)
    return fmt_stat(name, r["statistic"], r["df"], r["p_value"], digits=digits)


def use_number_style(style: str | None) -> str:
    """Set the journal style of the numbers of a report ("apa", the default, or "ama"), from
    the document's ``number_style`` parameter; returns the style in use.

    Examples
    --------
    >>> use_number_style(None)
    'apa'
    """
    from analysis.report.formatting import get_number_style, set_number_style

    set_number_style(style)
    return get_number_style()


def show_table(df: pd.DataFrame, caption: str | None = None):
    """Display a table as Markdown (a pipe table with its caption) from a document cell.

    The table is written by :func:`analysis.report.tables.to_markdown`, the package's one
    Markdown table writer. Give the cell ``#| label: tbl-...``; the renderer numbers the
    caption.
    """
    from IPython.display import Markdown

    return Markdown(to_markdown(df, caption))


def show_supplement(df: pd.DataFrame, sheet: str):
    """Put a long table into the supplementary workbook written beside the report
    (``<out>/<report>-supplement.xlsx``, one sheet per table) instead of the document.

    Give the raw values (numbers as numbers); cite the workbook and sheet in the text. See
    :mod:`analysis.report.render.supplement`.
    """
    from IPython.display import Markdown

    from analysis.report.render.supplement import supplement_block

    return Markdown(supplement_block(df, sheet))


def show_figure(fig) -> None:
    """Display a matplotlib figure once in a document cell and close it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)


def reproducibility_tables(run) -> dict[str, pd.DataFrame]:
    """The tables of a reproducibility appendix, in words (no configuration keys or paths).

    ``inputs`` (file, SHA-256, bytes: file names relative to the dataset folder), ``versions``
    (package, version), ``run`` (seed, git commit, uncommitted changes, rows, how to reproduce)
    and ``config`` (setting, value: measures by their codebook labels, phases and visits in
    words), from the run's manifest. The exact command and paths stay in ``manifest.json``.
    """
    from analysis.report.labels import measure_label, phase_word, visit_labels

    m = run.manifest
    inputs = pd.DataFrame(m.get("inputs", []), columns=["path", "sha256", "bytes"])
    parents = [Path(str(x)).parent for x in inputs["path"]]
    common = Path(*_common_parts(parents)) if parents else Path()
    inputs = pd.DataFrame({"file": [Path(str(x)).relative_to(common).as_posix()
                                    if Path(str(x)).is_relative_to(common) else Path(str(x)).name
                                    for x in inputs["path"]],
                           "sha256": inputs["sha256"], "bytes": inputs["bytes"]})
    versions = pd.DataFrame(sorted(m.get("versions", {}).items()), columns=["package", "version"])
    git = m.get("git", {}) or {}
    dirty = git.get("dirty")
    facts = [
        ("seed", str(m.get("seed", MISSING))),
        ("git commit", git.get("commit") or "none recorded (not a git checkout, or no commit yet)"),
        ("uncommitted changes", MISSING if dirty is None else ("yes" if dirty else "no")),
        ("results rows", str(m.get("n_rows", len(run.results)))),
        ("to reproduce", "itb reproduce on the output folder (the command and paths are in "
                         "manifest.json)"),
    ]
    book = getattr(run, "codebook", None)
    visit = visit_labels(book)

    def measures(keys: Any) -> str:
        keys = [keys] if isinstance(keys, str) else list(keys or [])
        return "; ".join(measure_label(book, str(k)) for k in keys) or "none"

    cfg = dict(m.get("config") or {})
    rows: list[tuple[str, str]] = []
    for key, label, show in _CONFIG_ROWS:
        if key not in cfg:
            continue
        value = cfg[key]
        if show == "measures":
            text = measures(value) if value else ("all in the data" if key == "measures" else "none")
        elif show == "families":
            text = " | ".join(f"{name}: {measures(keys)}" for name, keys in (value or {}).items()) \
                or "none declared"
        elif show == "phase":
            text = phase_word(str(value))
        elif show == "visit":
            text = visit(str(value)) if value else "inferred"
        elif show == "controls":
            text = " | ".join(f"{measures(k)}: mean {v.get('mean')}, SD {v.get('sd')}, n {v.get('n')}"
                              + (f" ({v['source']})" if v.get("source") else "")
                              for k, v in (value or {}).items()) or "none"
        elif show == "dissociations":
            text = " | ".join(f"{measures(d.get('measure_x'))} against {measures(d.get('measure_y'))},"
                              f" r = {d.get('r')}" for d in (value or [])) or "none"
        elif show == "file":
            text = Path(str(value)).name if value and value != "defaults" else "none (defaults)"
        elif show == "df":
            text = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger"}.get(
                str(value), str(value))
        elif show == "yesno":
            text = "yes" if value else "no"
        else:
            text = _config_value(value)
        rows.append((label, text))
    config = pd.DataFrame(rows, columns=["setting", "value"])
    return {"inputs": inputs, "versions": versions,
            "run": pd.DataFrame(facts, columns=["item", "value"]), "config": config}


#: Study-configuration keys as the appendix shows them: (key, words, how to show the value).
_CONFIG_ROWS = [
    ("title", "title", "text"),
    ("source", "configuration file", "file"),
    ("primary_outcome", "primary outcome", "measures"),
    ("families", "families of outcomes (Holm adjustment)", "families"),
    ("measures", "measures analysed", "measures"),
    ("reference_visit", "reference visit", "visit"),
    ("reference_visit_reason", "reference visit chosen as", "text"),
    ("baseline", "baseline value from several baseline observations", "text"),
    ("baseline_phase", "baseline phase", "phase"),
    ("treatment_phase", "treatment phase of the single-case analyses", "phase"),
    ("df_method", "mixed-model denominator degrees of freedom", "df"),
    ("random_slope", "random slope over days in the mixed model", "yesno"),
    ("covariates", "mixed-model covariates", "text"),
    ("bootstrap", "bootstrap intervals", "yesno"),
    ("n_boot", "bootstrap resamples", "text"),
    ("seed", "seed", "text"),
    ("window_spasticity", "therapeutic window: spasticity measures", "measures"),
    ("window_strength", "therapeutic window: strength measures", "measures"),
    ("window_spasticity_threshold", "therapeutic window: spasticity threshold", "text"),
    ("window_strength_mdc", "therapeutic window: strength MDC", "text"),
    ("controls", "control samples for one-patient tests", "controls"),
    ("dissociations", "dissociations tested (RSDT)", "dissociations"),
]


def _common_parts(paths: list[Path]) -> tuple[str, ...]:
    parts = [p.parts for p in paths]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return tuple(common) or (".",)


def _config_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_config_value(v)}" for k, v in value.items()) or MISSING
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or MISSING
    return MISSING if value is None else str(value)
