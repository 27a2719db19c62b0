"""The facts of the treatment and the design, computed once from the data, for every sentence.

:func:`study_facts` reads validated observations, the change table, the results table and the
configuration, and records what the data hold (nothing is assumed about a treatment course):

- the phases present, per patient and for the series;
- for the test phase: the administration (``bolus``: an amount in µg given once, not a rate;
  ``continuous``: a rate in µg/day), taken from the optional ``administration`` column; the
  continuous doses in visit order (consecutive repeats merged), whether the dose was titrated
  (two or more distinct continuous doses), the increases and reductions read from that
  sequence, and the settled dose (the last continuous dose, only when titrated);
- whether doses are recorded at all (``dose_state``: ``"none"`` when no test-phase dose is
  recorded, ``"zero"`` when every recorded one is 0, ``"partial"`` when some are missing,
  ``"recorded"``);
- the pump doses by follow-up visit;
- each visit's median day (the ``day`` column is relative to implantation or to the reference);
- the sides and kind of each measure; the patients with and without a reference value;
- the patients lost before each visit (last observation earlier);
- the centres when a ``site`` column exists;
- per measure and side, each patient's class at their own last visit against the reference
  (improved, unchanged, worsened) by the codebook's MCID rule or a reliable change (RCI).

Examples
--------
>>> obs = pd.DataFrame({"patient_id": "P1", "visit": ["bl", "ti1", "ti2", "ti3"],
...     "phase": ["baseline", "test_infusion", "test_infusion", "test_infusion"],
...     "dose_ug_day": [0.0, 40.0, 80.0, 120.0], "measure": "tug", "side": "", "value": 1.0})
>>> t = patient_treatment(obs, "P1", order=["bl", "ti1", "ti2", "ti3"])
>>> t.continuous, t.titrated, t.increases, t.reductions, t.settled
((40.0, 80.0, 120.0), True, 2, (), 120.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.data.consistency import ADMINISTRATIONS
from analysis.stats.individual_change import RELIABLE_DETERIORATION, RELIABLE_IMPROVEMENT

__all__ = ["ADMINISTRATIONS", "PatientTreatment", "StudyFacts", "TitleFacts", "patient_treatment",
           "study_facts", "title_facts", "outcome_classes", "ordinal_median"]

#: The configuration's default title: a title equal to it was not given.
DEFAULT_TITLE = "ITB study"


@dataclass(frozen=True)
class PatientTreatment:
    """The treatment of one patient as recorded (see the module docstring)."""

    patient: str
    phases: tuple[str, ...]
    test_visits: tuple[str, ...] = ()
    boluses: tuple[float, ...] = ()
    continuous: tuple[float, ...] = ()
    dose_state: str = "none"
    pump: tuple[tuple[str, float], ...] = ()

    @property
    def has_test(self) -> bool:
        return bool(self.test_visits)

    @property
    def titrated(self) -> bool:
        """Two or more distinct continuous doses."""
        return len(set(self.continuous)) >= 2

    @property
    def increases(self) -> int:
        return sum(b > a for a, b in zip(self.continuous, self.continuous[1:], strict=False))

    @property
    def reductions(self) -> tuple[tuple[float, float], ...]:
        """(from, to) of every fall of the continuous dose, then of the pump dose."""
        seq = list(self.continuous) + [d for _, d in self.pump]
        seq = [d for i, d in enumerate(seq) if i == 0 or d != seq[i - 1]]
        return tuple((a, b) for a, b in zip(seq, seq[1:], strict=False) if b < a)

    @property
    def settled(self) -> float | None:
        """The last continuous dose of a titration (None without one)."""
        return self.continuous[-1] if self.titrated else None

    @property
    def administration(self) -> str | None:
        """"bolus", "continuous", "bolus then continuous" or None (no dose recorded)."""
        if self.boluses and self.continuous:
            return "bolus then continuous"
        return "bolus" if self.boluses else "continuous" if self.continuous else None


def _merged(values: list[float]) -> tuple[float, ...]:
    return tuple(float(d) for i, d in enumerate(values) if i == 0 or d != values[i - 1])


def patient_treatment(obs: pd.DataFrame, patient: str, *, order: list[str],
                      test_phase: str = "test_infusion") -> PatientTreatment:
    """The recorded treatment of ``patient`` (one dose per visit: its first non-empty one)."""
    mine = obs[obs["patient_id"] == patient]
    return treatments_of(mine, order=order, test_phase=test_phase)[str(patient)]


def _visit_doses(obs: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """One row per patient and visit, in visit order: ``patient_id, visit, phase, dose, how``
    (the first non-empty dose and administration of the visit)."""
    cols = ["patient_id", "visit", "phase"] + [c for c in ("dose_ug_day", "administration")
                                               if c in obs]
    per = obs[cols].copy()
    per["patient_id"] = per["patient_id"].astype(str)
    if "dose_ug_day" not in per:
        per["dose_ug_day"] = np.nan
    if "administration" not in per:
        per["administration"] = ""
    per["administration"] = per["administration"].fillna("").astype(str).str.strip().str.lower()
    bad = ~per["administration"].isin(["", *ADMINISTRATIONS])
    if bad.any():
        from analysis.errors import InvalidInputError

        patient = per.loc[bad, "patient_id"].iloc[0]
        values = sorted(set(per.loc[bad & (per["patient_id"] == patient), "administration"]))
        raise InvalidInputError(f"column 'administration' of patient {patient!r} holds {values}; "
                                f"use one of {', '.join(ADMINISTRATIONS)} (or leave it empty)")
    keys = ["patient_id", "visit"]
    g = per.groupby(keys, sort=False)
    out = g.agg(phase=("phase", "first"), dose=("dose_ug_day", "first"))
    how = per[per["administration"] != ""].groupby(keys, sort=False)["administration"].first()
    out["how"] = how.reindex(out.index).fillna("").to_numpy()
    out = out.reset_index()
    rank = {v: i for i, v in enumerate(order)}
    out["_r"] = out["visit"].map(lambda v: rank.get(v, len(rank)))
    return out.sort_values("_r", kind="mergesort")


def treatments_of(obs: pd.DataFrame, *, order: list[str],
                  test_phase: str = "test_infusion") -> dict[str, PatientTreatment]:
    """The recorded treatment of every patient of ``obs`` (see :func:`patient_treatment`),
    from one pass over the observations."""
    per = _visit_doses(obs, order)
    seen = obs.groupby(obs["patient_id"].astype(str))["phase"].agg(set) if "phase" in obs \
        else {}
    out = {}
    for pid, rows in per.groupby("patient_id", sort=True):
        have = seen.get(pid, set()) if len(seen) else set()
        phases = tuple(p for p in ("baseline", test_phase, "post_implant") if p in have)
        recs = list(zip(rows["visit"], rows["phase"], rows["dose"], rows["how"], strict=True))
        test = [r for r in recs if r[1] == test_phase]
        doses = [d for _, _, d, _ in test]
        known = [d for d in doses if pd.notna(d)]
        state = ("none" if not known else "zero" if all(d == 0 for d in known)
                 else "partial" if len(known) < len(doses) else "recorded")
        given = [r for r in test if pd.notna(r[2]) and r[2] > 0]
        post = [(str(v), float(d)) for v, ph, d, _ in recs
                if ph == "post_implant" and pd.notna(d) and d > 0]
        out[str(pid)] = PatientTreatment(
            patient=str(pid), phases=phases, test_visits=tuple(r[0] for r in test),
            boluses=tuple(float(r[2]) for r in given if r[3] == "bolus"),
            continuous=_merged([r[2] for r in given if r[3] != "bolus"]), dose_state=state,
            pump=tuple(post))
    return out


def ordinal_median(info: Any, values: Any) -> tuple[str, bool]:
    """The median of ordinal codes as a level of the scale: ``(text, is_level)``; a median
    between two levels says so ("between 1 and 1+").

    Examples
    --------
    >>> from analysis.data.codebook import load_codebook
    >>> mas = load_codebook().measure("mas_knee_ext")
    >>> ordinal_median(mas, [1.0, 1.5, 2.0]), ordinal_median(mas, [1.0, 1.5])
    (('1+', True), ('between 1 and 1+', False))
    """
    levels = list(info.levels)
    idx = []
    for v in values:
        try:
            idx.append(levels.index(info.level_of(float(v))))
        except (KeyError, TypeError, ValueError):
            continue
    if not idx:
        return "–", False
    med = float(np.median(idx))
    if med.is_integer():
        return levels[int(med)], True
    return f"between {levels[int(np.floor(med))]} and {levels[int(np.ceil(med))]}", False


def outcome_classes(changes: pd.DataFrame, results: pd.DataFrame, *, order: list[str],
                    reference: str) -> pd.DataFrame:
    """Each patient's class per measure and side at their own last visit with a change:
    columns ``measure, side, patient_id, visit, improvement, mcid_class, rci_verdict, cls``
    (``cls`` "improved", "unchanged", "worsened" or "" when neither rule could classify).

    Worsened: worse by at least the MCID, or a reliable deterioration (RCI); improved: better by
    at least the MCID, or a reliable improvement, and not worsened by the other rule."""
    ch = changes[changes["change"].notna()]
    if ch.empty:
        return pd.DataFrame(columns=["measure", "side", "patient_id", "visit", "improvement",
                                     "mcid_class", "rci_verdict", "cls"])
    rank = {v: i for i, v in enumerate(order)}
    ch = ch.assign(_r=ch["visit"].map(lambda v: rank.get(v, len(rank))))
    last = ch.sort_values("_r", kind="mergesort").groupby(
        ["measure", "side", "patient_id"], sort=True).tail(1)
    R = results[results["analysis"].isin(["mcid_class", "rci"]) & (results["patient_id"] != "")]
    R = R.assign(visit=R["term"].str.rsplit(" - ", n=1).str[0])
    keys = ["measure", "side", "patient_id", "visit"]
    mc = R[R["analysis"] == "mcid_class"].drop_duplicates(keys).set_index(keys)["estimate"]
    rc = R[R["analysis"] == "rci"].drop_duplicates(keys).set_index(keys)["note"]
    out = last[keys + ["improvement"]].copy()
    idx = pd.MultiIndex.from_frame(out[keys])
    out["mcid_class"] = mc.reindex(idx).to_numpy()
    out["rci_verdict"] = rc.reindex(idx).fillna("").astype(str).to_numpy()
    worse = (out["mcid_class"] == -1) | out["rci_verdict"].str.startswith(RELIABLE_DETERIORATION)
    better = ((out["mcid_class"] == 1) | out["rci_verdict"].str.startswith(RELIABLE_IMPROVEMENT))
    known = out["mcid_class"].notna() | out["rci_verdict"].str.startswith(
        (RELIABLE_DETERIORATION, RELIABLE_IMPROVEMENT, "no reliable change"))
    out["cls"] = np.where(worse, "worsened", np.where(better, "improved",
                                                        np.where(known, "unchanged", "")))
    return out.reset_index(drop=True)


@dataclass
class StudyFacts:
    """The facts of one dataset (series, or one patient): see the module docstring."""

    patients: tuple[str, ...]
    phases: tuple[str, ...]
    treatments: dict[str, PatientTreatment]
    visit_days: dict[str, float]
    sides: dict[str, tuple[str, ...]]
    kinds: dict[str, str]
    with_reference: dict[tuple[str, str], tuple[str, ...]]
    without_reference: dict[tuple[str, str], tuple[str, ...]]
    lost_before: dict[str, int]
    seen_at: dict[str, int]
    centres: dict[str, int]
    classes: pd.DataFrame
    title: str | None = None
    doses_recorded: bool = True
    order: list[str] = field(default_factory=list)

    # --------------------------------------------------------------- series views
    @property
    def n(self) -> int:
        return len(self.patients)

    def with_phase(self, phase: str) -> list[str]:
        return [p for p, t in self.treatments.items() if phase in t.phases]

    @property
    def tested(self) -> list[str]:
        return [p for p, t in self.treatments.items() if t.has_test]

    @property
    def titrated(self) -> list[str]:
        return [p for p, t in self.treatments.items() if t.titrated]

    @property
    def reduced(self) -> list[str]:
        return [p for p, t in self.treatments.items() if t.reductions]

    def pump_by_visit(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for t in self.treatments.values():
            for v, d in t.pump:
                out.setdefault(v, []).append(d)
        return {v: out[v] for v in sorted(out, key=lambda v: self.order.index(v)
                                          if v in self.order else len(self.order))}

    def classified(self, measure: str, side: str, cls: str) -> list[str]:
        c = self.classes
        return sorted(c.loc[(c["measure"] == measure) & (c["side"] == side) & (c["cls"] == cls),
                            "patient_id"])


@dataclass(frozen=True)
class TitleFacts:
    """The facts a report's title is written from (:func:`title_facts`); :class:`StudyFacts`
    holds the same attributes."""

    patients: tuple[str, ...]
    phases: tuple[str, ...]
    treatments: dict[str, PatientTreatment]
    title: str | None = None

    @property
    def n(self) -> int:
        return len(self.patients)

    @property
    def tested(self) -> list[str]:
        return [p for p, t in self.treatments.items() if t.has_test]


def title_facts(obs: pd.DataFrame, *, config: Any, order: list[str]) -> TitleFacts:
    """The patients, phases and treatments of ``obs`` and the study's own title (None when the
    configuration keeps its default): what the title says, from one pass over the observations
    (without the change table and results that :func:`study_facts` also reads).

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": ["P1", "P1"], "visit": ["bl", "ti1"],
    ...     "phase": ["baseline", "test_infusion"], "dose_ug_day": [0.0, 50.0]})
    >>> f = title_facts(obs, config=None, order=["bl", "ti1"])
    >>> f.n, f.phases, f.tested, f.treatments["P1"].administration, f.title
    (1, ('baseline', 'test_infusion'), ['P1'], 'continuous', None)
    """
    test_phase = getattr(config, "treatment_phase", "test_infusion")
    title = getattr(config, "title", None)
    return TitleFacts(
        patients=tuple(sorted(obs["patient_id"].astype(str).unique())),
        phases=tuple(ph for ph in ("baseline", test_phase, "post_implant")
                     if (obs["phase"] == ph).any()),
        treatments=treatments_of(obs, order=order, test_phase=test_phase),
        title=None if not title or title == DEFAULT_TITLE else str(title))


def study_facts(obs: pd.DataFrame, *, changes: pd.DataFrame, results: pd.DataFrame,
                codebook: Any, config: Any, order: list[str], reference: str) -> StudyFacts:
    """The facts of ``obs`` (all patients in it); see the module docstring.

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> from analysis.run.pipeline import run_analysis
    >>> from analysis.data.derive import visit_order
    >>> run = run_analysis(EXAMPLES / "case_report", cache_dir=None)
    >>> f = study_facts(run.observations, changes=run.changes, results=run.results,
    ...                 codebook=run.codebook, config=run.config,
    ...                 order=visit_order(run.observations), reference="bl_d5")
    >>> t = f.treatments["P01"]
    >>> t.titrated, t.administration, t.settled == t.continuous[-1], f.n
    (True, 'continuous', True, 1)
    """
    basic = title_facts(obs, config=config, order=order)
    days: dict[str, float] = {}
    if "day" in obs and obs["day"].notna().any():
        med = obs.dropna(subset=["day"]).groupby("visit")["day"].median()
        days = {v: float(med[v]) for v in order if v in med.index}
    sides = {m: tuple(sorted(set(g.astype(str)))) for m, g in obs.groupby("measure")["side"]}
    kinds = {m: codebook.measure(m).kind for m in sides if m in codebook}
    ref = obs[(obs["visit"] == reference) & obs["value"].notna()]
    with_ref, without_ref = {}, {}
    for (m, s), g in obs.groupby(["measure", "side"], sort=True):
        have = set(ref.loc[(ref["measure"] == m) & (ref["side"] == s), "patient_id"])
        every = set(g["patient_id"])
        with_ref[(m, s)] = tuple(sorted(have))
        without_ref[(m, s)] = tuple(sorted(every - have))
    rank = {v: i for i, v in enumerate(order)}
    last = obs.groupby("patient_id")["visit"].agg(lambda s: max(rank.get(v, -1) for v in s))
    lost = {v: int((last < rank[v]).sum()) for v in order}
    seen = obs.groupby("visit")["patient_id"].nunique()
    centres: dict[str, int] = {}
    if "site" in obs:
        site = obs.drop_duplicates("patient_id")["site"].fillna("").astype(str).str.strip()
        centres = {k: int(v) for k, v in site[site != ""].value_counts().sort_index().items()}
    dose_col = "dose_ug_day" in obs and bool(
        (obs["dose_ug_day"].notna() & (obs["phase"] != "baseline")).any())
    return StudyFacts(
        patients=basic.patients, phases=basic.phases, treatments=basic.treatments,
        visit_days=days, sides=sides,
        kinds=kinds, with_reference=with_ref, without_reference=without_ref, lost_before=lost,
        seen_at={v: int(seen.get(v, 0)) for v in order}, centres=centres,
        classes=outcome_classes(changes, results, order=order, reference=reference),
        title=basic.title, doses_recorded=dose_col, order=list(order))
