"""What one analysis run holds, for the report text: the facts every sentence is conditional on.

:func:`build_context` reads an :class:`analysis.run.pipeline.AnalysisRun` once (optionally for one
patient) and records what exists: phases, titration, implantation, sides, kinds of measure, the
number of patients, the primary outcome and the reference visit with the reasons they were
chosen. :mod:`analysis.report.narrative` writes sentences only from these facts and from rows of
the results table, so a sentence about an analysis that did not run cannot be written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis.data.config import PrimaryOutcome, resolve_primary_outcome
from analysis.data.derive import visit_order
from analysis.errors import RenderError
from analysis.report.facts import StudyFacts, study_facts
from analysis.report.labels import VisitLabels, measure_label, visit_labels

__all__ = ["ReportContext", "build_context"]


@dataclass
class ReportContext:
    """Facts of one run (see :func:`build_context`)."""

    run: Any
    results: pd.DataFrame
    obs: pd.DataFrame
    all_obs: pd.DataFrame
    codebook: Any
    config: Any
    labels: VisitLabels
    patient: str | None
    primary: PrimaryOutcome
    order: list[str]
    reference: str
    reference_reason: str
    n_patients: int
    phases: tuple[str, ...]
    has_day: bool
    has_titration: bool
    has_implant: bool
    has_baseline_phase: bool
    sides: tuple[str, ...]
    kinds: tuple[str, ...]
    measures: tuple[str, ...]
    spasticity: tuple[str, ...] = field(default=())
    strength: tuple[str, ...] = field(default=())
    facts: StudyFacts | None = None
    has_test: bool = False

    @property
    def changes(self) -> pd.DataFrame:
        """The change table (of the patient, for a case report)."""
        ch = self.run.changes
        return ch if self.patient is None else ch[ch["patient_id"] == self.patient]

    def is_ordinal(self, measure: str) -> bool:
        """True for a measure on an ordinal scale (levels in the codebook)."""
        info = self.measure_info(measure)
        return bool(info is not None and (info.levels or info.kind == "ordinal"))

    def linear_asked(self, measure: str) -> bool:
        """True when study.yaml asks for the linear mixed model on this ordinal measure's
        grade codes (``lmm.ordinal``): its rows are reported, labelled as asked."""
        return self.is_ordinal(measure) and measure in self.run.config.lmm_ordinal

    # ------------------------------------------------------------------ lookups
    def rows(self, analysis: str | tuple[str, ...], *, measure: str | None = None,
             side: str | None = None, patient: str | None = None,
             term: str | None = None) -> pd.DataFrame:
        """Rows of the results table (``patient=""`` for group rows)."""
        R = self.results
        keep = R["analysis"].isin([analysis] if isinstance(analysis, str) else list(analysis))
        for col, value in (("measure", measure), ("side", side), ("patient_id", patient),
                           ("term", term)):
            if value is not None:
                keep &= R[col] == value
        return R[keep]

    def has(self, analysis: str, **where: Any) -> bool:
        """True when a row of ``analysis`` with an estimate or p-value exists."""
        rows = self.rows(analysis, **where)
        return bool(len(rows) and (rows["estimate"].notna() | rows["p_value"].notna()).any())

    def label(self, measure: str, side: str = "", *, unit: bool = False) -> str:
        """The codebook label of a measure (and side)."""
        return measure_label(self.codebook, measure, side, unit=unit)

    @property
    def primary_label(self) -> str:
        return self.label(self.primary.measure, self.primary.side)

    def visit_rank(self, visit: str) -> int:
        return self.order.index(visit) if visit in self.order else len(self.order)

    def latest_term(self, analysis: str, measure: str, side: str, *,
                    patient: str = "") -> str | None:
        """The term of the latest visit (against the reference visit) with an estimate."""
        rows = self.rows(analysis, measure=measure, side=side, patient=patient)
        rows = rows[rows["term"].str.endswith(f" - {self.reference}")
                    & (rows["estimate"].notna() | rows["p_value"].notna())]
        if rows.empty:
            return None
        return max(rows["term"], key=lambda t: self.visit_rank(t.split(" - ")[0]))

    def words(self, text: str) -> str:
        """``text`` with measure keys replaced by their labels and phase codes by words."""
        from analysis.report.statements import first_clause

        for key in sorted(self.codebook.keys(), key=len, reverse=True):
            if key in text:
                text = re.sub(rf"\b{re.escape(key)}\b", self.label(key), text)
        return first_clause(text) if ";" not in text else text

    def measure_info(self, key: str) -> Any:
        return self.codebook.measure(key) if key in self.codebook else None


def build_context(run: Any, *, patient: str | None = None) -> ReportContext:
    """The facts of a run, for the whole series or for one patient (``patient``).

    Raises
    ------
    RenderError
        When ``patient`` is not in the data.

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> from analysis.run.pipeline import run_analysis
    >>> ctx = build_context(run_analysis(EXAMPLES / "case_report", cache_dir=None), patient="P01")
    >>> ctx.reference, ctx.has_titration, ctx.has_implant, ctx.primary.measure
    ('bl_d5', True, True, 'gait_speed')
    """
    all_obs = run.observations
    ids = sorted(all_obs["patient_id"].astype(str).unique())
    if patient is not None and str(patient) not in ids:
        raise RenderError(f"patient {patient!r} is not in the data; patients: {ids}")
    obs = all_obs if patient is None else all_obs[all_obs["patient_id"] == str(patient)]
    cfg = run.config
    phases = tuple(p for p in ("baseline", "test_infusion", "post_implant")
                   if "phase" in obs and (obs["phase"] == p).any())
    order = visit_order(all_obs)
    reference = str(cfg.reference_visit)
    changes = run.changes if patient is None else run.changes[
        run.changes["patient_id"] == str(patient)]
    facts = study_facts(obs, changes=changes, results=run.results, codebook=run.codebook,
                        config=cfg, order=order, reference=reference)
    measures = tuple(sorted(obs["measure"].astype(str).unique()))
    book = run.codebook
    kinds = tuple(sorted({book.measure(m).kind for m in measures if m in book}))
    spasticity = tuple(m for m in measures if m in (cfg.window_spasticity or ())) or tuple(
        m for m in measures if m.startswith("mas_"))
    strength = tuple(m for m in measures if m in (cfg.window_strength or ())) or tuple(
        m for m in measures if m.startswith("mrc_"))
    return ReportContext(
        run=run, results=run.results, obs=obs, all_obs=all_obs, codebook=book, config=cfg,
        labels=visit_labels(book), patient=None if patient is None else str(patient),
        primary=resolve_primary_outcome(cfg, all_obs), order=order,
        reference=reference, reference_reason=cfg.reference_visit_reason,
        n_patients=len(ids), phases=phases,
        has_day="day" in obs and bool(obs["day"].notna().any()),
        has_titration=bool(facts.titrated), has_implant="post_implant" in phases,
        has_test=bool(facts.tested), facts=facts,
        has_baseline_phase="baseline" in phases,
        sides=tuple(sorted(s for s in obs["side"].astype(str).unique() if s)) if "side" in obs else (),
        kinds=kinds, measures=measures, spasticity=spasticity, strength=strength,
    )
