"""Gait results as rows of the one results table (:mod:`analysis.results`).

:func:`gait_results` turns the imports of one patient's motion-lab visits (and a normative
table) into rows; :func:`dataset_gait_results` finds the C3D files of a dataset's ``gait/``
folder and does it for every patient (``itb analyze`` calls it). The ``analysis`` values:

``gps``, ``gvs``
    Gait Profile Score (overall, measure ``gps``; per limb, ``gps_limb``) and Gait Variable
    Scores (``gvs_<variable>``) of each visit (``term`` = visit) against the normative mean
    (:mod:`analysis.gait.indices`), speed-matched when the norms carry speed classes (``method``
    says which class); GPS changes are ``gps`` rows with ``term`` = ``later - first``.
``spm_test``, ``spm_cluster``
    The first visit's cycles against each later visit's (:func:`analysis.gait.spm.spm_ttest2`),
    per curve variable and side: one ``spm_test`` row (``statistic`` = the critical threshold
    t*, ``estimate`` = the largest |t| over the cycle, ``p_value`` = share of permutations whose
    largest |t| is at least as large), and one ``spm_cluster`` row per supra-threshold cluster
    (``term`` = ``variable: later - first: lo-hi %``, ``statistic`` = cluster integral,
    ``estimate`` = mean difference of the visit means over the cluster, in degrees,
    ``p_value`` = cluster p).
``gait_norm_z``
    The visit's mean curve against the normative band, pointwise ``z = (patient - mean) / SD``:
    ``estimate`` = % of the cycle with ``|z| > 1.96``, ``statistic`` = the z of largest
    magnitude. No curve-level inference: the norm format holds mean, SD and n per % cycle, not
    per-control curves, so no one-sample SPM against controls (said in ``note``).
``crawford_howell``, ``pct_more_extreme``, ``z_cc``
    Each scalar measure of each visit against the scalar norms (``term`` starts with
    ``<visit> (gait-lab norms):``), by :func:`analysis.stats.single_case.controls.crawford_howell`.
``gdi``
    Gait Deviation Index: not computed (one row saying why) because the norms hold no
    per-control curves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.codebook import load_codebook
from analysis.errors import InvalidInputError
from analysis.gait.importer import GaitImport, import_c3d
from analysis.gait.indices import movement_analysis_profile
from analysis.gait.norms import read_norms, select_norms
from analysis.gait.spm import spm_ttest2
from analysis.paths import check_inside
from analysis.results import combine, result_frame
from analysis.stats.single_case.controls import crawford_howell
from analysis.stats.single_case.shares import RESULTS_SHARE

#: File names of trials in a gait folder: ``<visit>_trial<k>.c3d``.
TRIAL_GLOB = "*_trial*.c3d"
NORMS_FILE = "norms.parquet"
#: |z| beyond which a point lies outside the two-sided 95 % normative band.
Z_BAND = 1.96
_BAKER = ("Baker et al. (2009): RMS over 51 points (2 % steps) of the difference from the "
          "normative mean curve, mean over the visit's cycles")
_NO_CURVES = ("the norms hold the mean, SD and n per % cycle, not per-control curves")


def gait_results(imports_by_visit: Mapping[str, GaitImport], norms: pd.DataFrame | None, *,
                 seed: int = 2015, n_permutations: int = 10000, alpha: float = 0.05,
                 norms_name: str = NORMS_FILE) -> pd.DataFrame:
    """Results rows of one patient's gait visits (see the module doc for every ``analysis``).

    Parameters
    ----------
    imports_by_visit : mapping of visit -> GaitImport
        :func:`analysis.gait.importer.import_c3d` of each visit of one patient, in visit order
        (the first is the reference of the SPM comparisons and GPS changes).
    norms : DataFrame or None
        Normative table (:mod:`analysis.gait.norms`); without it only the SPM rows and a note.
    seed, n_permutations, alpha : int, int, float
        Of the permutation SPM (the seed is unused when all splits are enumerated).
    norms_name : str
        How ``method`` names the norms.

    Returns
    -------
    DataFrame
        Results rows (:func:`analysis.results.combine` order).

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> folder = EXAMPLES / "case_report" / "gait"
    >>> imps = {v: import_c3d(sorted(folder.glob(f"{v}_trial*.c3d")), patient_id="P01",
    ...                       visit=v) for v in ("bl_d5", "post_m3")}
    >>> r = gait_results(imps, read_norms(folder / "norms.parquet"), seed=1)
    >>> gps = r[(r.analysis == "gps") & (r.measure == "gps")]
    >>> gps["term"].tolist()
    ['bl_d5', 'post_m3', 'post_m3 - bl_d5']
    >>> sorted(set(r.analysis))  # doctest: +NORMALIZE_WHITESPACE
    ['crawford_howell', 'gait_norm_z', 'gdi', 'gps', 'gvs', 'pct_more_extreme', 'spm_cluster',
     'spm_test', 'z_cc']
    """
    visits = list(imports_by_visit)
    if not visits:
        return result_frame([])
    first = imports_by_visit[visits[0]]
    patient = str(first.curves["patient_id"].iloc[0]) if len(first.curves) else ""
    frames = []
    for later in visits[1:]:
        frames.append(spm_rows(first.curves, imports_by_visit[later].curves, patient_id=patient,
                               seed=seed, n_permutations=n_permutations, alpha=alpha))
    if norms is None:
        frames.append(result_frame([{
            "measure": "gps", "patient_id": patient, "analysis": "gps", "term": v,
            "n_patients": 1, "method": _BAKER,
            "note": f"not computed: no normative table ({norms_name}) was given"}
            for v in visits]))
    else:
        gps = {}
        for visit in visits:
            imp = imports_by_visit[visit]
            speed = imp.observations.loc[imp.observations["measure"] == "gait_lab_speed", "value"]
            rows, how = select_norms(norms, speed=float(speed.iloc[0]) if len(speed) else None)
            basis = f"norms: {norms_name}, {how}"
            profile = _profile_rows(imp.curves, rows, visit=visit, patient_id=patient,
                                    basis=basis)
            frames.append(profile)
            total = profile[profile["measure"] == "gps"]
            if len(total):
                gps[visit] = (float(total["estimate"].iloc[0]), how)
            frames.append(_band_rows(imp.curves, rows, visit=visit, patient_id=patient,
                                     basis=basis))
            frames.append(_scalar_rows(imp.observations, rows, visit=visit, patient_id=patient,
                                       basis=basis))
        frames.append(_gps_changes(gps, visits, patient_id=patient, norms_name=norms_name))
        frames.append(result_frame([{
            "measure": "", "patient_id": patient, "analysis": "gdi", "term": "all visits",
            "n_patients": 1, "method": "Gait Deviation Index (Schwartz & Rozumalski 2008): "
            "needs per-control curves (features from their singular value decomposition, "
            "control mean and SD of the log distance)",
            "note": f"not computed: {_NO_CURVES}"}]))
    return combine(frames)


def spm_rows(before: pd.DataFrame, after: pd.DataFrame, *, patient_id: str = "",
             seed: int = 2015, n_permutations: int = 10000,
             alpha: float = 0.05) -> pd.DataFrame:
    """``spm_test`` and ``spm_cluster`` rows: the cycles of visit ``after`` against ``before``,
    per variable and side (long-form curves as written by ``itb gait import``).

    Examples
    --------
    >>> pct = np.linspace(0, 100, 101)
    >>> def visit(v, shift):
    ...     return pd.concat([pd.DataFrame({"visit": v, "side": "L", "trial": 1, "cycle": c,
    ...         "variable": "knee_flexion", "pct": pct,
    ...         "value": 20 * np.sin(np.pi * pct / 100) + shift * (pct < 30) + 0.3 * c * (-1) ** c})
    ...         for c in range(4)])
    >>> r = spm_rows(visit("bl", 0.0), visit("post", 8.0))
    >>> r[["analysis", "term"]].values.tolist()
    [['spm_test', 'knee_flexion: post - bl'], ['spm_cluster', 'knee_flexion: post - bl: 0-29 %']]
    """
    v_before, v_after = str(before["visit"].iloc[0]), str(after["visit"].iloc[0])
    rows = []
    pairs = sorted(set(map(tuple, before[["variable", "side"]].drop_duplicates().to_numpy()))
                   & set(map(tuple, after[["variable", "side"]].drop_duplicates().to_numpy())))
    for variable, side in pairs:
        term = f"{variable}: {v_after} - {v_before}"
        pa, a = _cycle_matrix(before[(before["variable"] == variable) & (before["side"] == side)])
        pb, b = _cycle_matrix(after[(after["variable"] == variable) & (after["side"] == side)])
        base = {"measure": "", "side": side, "patient_id": patient_id, "n_patients": 1,
                "n_obs": len(a) + len(b)}
        if len(a) < 2 or len(b) < 2 or len(pa) != len(pb) or not np.allclose(pa, pb):
            rows.append({**base, "analysis": "spm_test", "term": term,
                         "method": "two-sample permutation SPM t (analysis.gait.spm)",
                         "note": f"not computed: {len(a)} and {len(b)} complete cycles; the "
                                 "test needs at least 2 per visit on the same % cycle grid"})
            continue
        r = spm_ttest2(a, b, alpha=alpha, n_permutations=n_permutations, seed=seed)
        how = (f"exact: all {r.n_permutations} splits" if r.exact else
               f"{r.n_permutations} random splits (observed included), seed {seed}")
        method = (f"two-sample permutation SPM t (pooled variance; {v_after} - {v_before}), "
                  f"two-tailed, alpha {alpha:g}, {how}; Nichols & Holmes 2002, Pataky et al. "
                  "2015 (analysis.gait.spm)")
        max_t = float(np.nanmax(np.abs(r.t)))
        p_max = float(np.mean(r.max_stat >= max_t - 1e-12))
        rows.append({**base, "analysis": "spm_test", "term": term, "estimate": max_t,
                     "statistic": r.threshold, "p_value": p_max, "df": len(a) + len(b) - 2,
                     "df_method": "", "method": method + "; statistic = critical threshold "
                     "t*, estimate = largest |t| over the cycle, p = share of permutations "
                     "whose largest |t| is at least as large",
                     "note": (f"{len(r.clusters)} supra-threshold cluster(s)" if r.clusters
                              else "no supra-threshold cluster")})
        diff = b.mean(axis=0) - a.mean(axis=0)
        for c in r.clusters:
            lo, hi = float(pa[c.start]), float(pa[c.end])
            rows.append({**base, "analysis": "spm_cluster",
                         "term": f"{term}: {lo:g}-{hi:g} %",
                         "estimate": float(diff[c.start:c.end + 1].mean()),
                         "statistic": c.integral, "p_value": c.p_value,
                         "df": len(a) + len(b) - 2,
                         "method": method + "; statistic = cluster integral of |t| - t* "
                         f"(t* = {r.threshold:.4g}), estimate = mean difference of the visit "
                         "means over the cluster (deg)",
                         "note": f"{v_after} {'above' if c.sign > 0 else 'below'} {v_before}"})
    return result_frame(rows)


def dataset_gait_results(gait_dir: str | Path, observations: pd.DataFrame, *,
                         seed: int = 2015, follow_links: bool = False) -> pd.DataFrame:
    """Gait rows of every patient with C3D files in ``gait_dir`` (empty without any).

    Layout: ``gait/<visit>_trial<k>.c3d`` when the dataset has one patient, else
    ``gait/<patient_id>/<visit>_trial<k>.c3d``; norms in ``norms.parquet`` in the patient's
    folder, else in ``gait/``. Visits are ordered by their first day in ``observations``
    (then by name). A file that a symbolic link leads out of the dataset folder (the folder
    holding ``gait_dir``) is refused unless ``follow_links`` (:func:`gait_files`).

    Examples
    --------
    >>> from analysis.paths import EXAMPLES
    >>> obs = pd.DataFrame({"patient_id": ["P01"], "visit": ["bl_d5"], "day": [-1.0]})
    >>> r = dataset_gait_results(EXAMPLES / "case_report" / "gait", obs, seed=1)
    >>> sorted(r["patient_id"].unique())
    ['P01']
    >>> len(dataset_gait_results(EXAMPLES / "case_report" / "no_such_folder", obs))
    0
    """
    found = gait_files(gait_dir, observations["patient_id"].unique(), follow_links=follow_links)
    if not found:
        return result_frame([])
    days = observations.groupby("visit")["day"].min() if "day" in observations else pd.Series()
    frames = []
    for patient, (by_visit, norms_path) in found.items():
        order = sorted(by_visit, key=lambda v: (days.get(v, np.inf), v))
        imports = {v: import_c3d(by_visit[v], patient_id=patient, visit=v) for v in order}
        norms = read_norms(norms_path) if norms_path is not None else None
        name = norms_path.name if norms_path is not None else NORMS_FILE
        frames.append(gait_results(imports, norms, seed=seed, norms_name=name))
    return combine(frames)


def gait_files(gait_dir: str | Path, patient_ids: Sequence[str], *,
               follow_links: bool = False
               ) -> dict[str, tuple[dict[str, list[Path]], Path | None]]:
    """Patient -> ({visit: trial files}, norms file or None) found in ``gait_dir``.

    Raises
    ------
    InvalidInputError
        C3D files directly in the folder while the dataset has several patients, or a
        sub-folder named for no patient of the dataset.
    analysis.paths.OutsideDatasetError
        A file that a symbolic link leads out of the dataset folder (the folder holding
        ``gait_dir``), unless ``follow_links``.
    """
    root = Path(gait_dir)
    if not root.is_dir():
        return {}
    patients = sorted(map(str, patient_ids))
    shared = root / NORMS_FILE if (root / NORMS_FILE).is_file() else None
    out = {}
    direct = sorted(root.glob(TRIAL_GLOB))
    if direct:
        if len(patients) != 1:
            raise InvalidInputError(
                f"{root}: C3D trials lie directly in the gait folder but the dataset has "
                f"{len(patients)} patients; put each patient's files in {root.name}/<patient_id>/")
        out[patients[0]] = (_by_visit(direct), shared)
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(sub.glob(TRIAL_GLOB))
        if not files:
            continue
        if sub.name not in patients or sub.name in out:
            raise InvalidInputError(
                f"{sub}: gait sub-folder {sub.name!r} is not a patient of the dataset "
                f"({', '.join(patients)}), or that patient's trials also lie in {root.name}/")
        own = sub / NORMS_FILE
        out[sub.name] = (_by_visit(files), own if own.is_file() else shared)
    check_inside(_read_files(out), root.parent, follow_links=follow_links)
    return out


def gait_input_files(gait_dir: str | Path, patient_ids: Sequence[str], *,
                     follow_links: bool = False) -> list[Path]:
    """Every file :func:`dataset_gait_results` reads (C3D trials and norms), for the manifest."""
    return _read_files(gait_files(gait_dir, patient_ids, follow_links=follow_links))


def _read_files(found: dict[str, tuple[dict[str, list[Path]], Path | None]]) -> list[Path]:
    files = []
    for by_visit, norms in found.values():
        files += [f for trials in by_visit.values() for f in trials]
        files += [norms] if norms is not None else []
    return sorted(set(files))


def _by_visit(files: list[Path]) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for f in files:
        out.setdefault(f.name.split("_trial")[0], []).append(f)
    return out


def _cycle_matrix(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(pct, cycles x points) of one visit, variable and side; cycles with a gap dropped."""
    if rows.empty:
        return np.array([]), np.empty((0, 0))
    wide = rows.pivot_table(index=["trial", "cycle"], columns="pct", values="value",
                            aggfunc="mean", dropna=False).sort_index(axis=1)
    mat = wide.to_numpy(float)
    return wide.columns.to_numpy(float), mat[np.isfinite(mat).all(axis=1)]


def _profile_rows(curves: pd.DataFrame, norms: pd.DataFrame, *, visit: str, patient_id: str,
                  basis: str) -> pd.DataFrame:
    prof = movement_analysis_profile(curves, norms)
    return result_frame([{
        "measure": r.measure, "side": r.side, "patient_id": patient_id,
        "analysis": "gvs" if r.measure.startswith("gvs_") else "gps", "term": visit,
        "estimate": r.value, "n_patients": 1, "n_obs": r.n_cycles,
        "method": f"{_BAKER}; {basis}", "note": r.note} for r in prof.itertuples()])


def _gps_mcid() -> str:
    """The GPS MCID as the codebook gives it, with its source (never typed here)."""
    gps = load_codebook().measure("gps")
    return (gps.mcid_source or (f"MCID {gps.mcid:g} deg" if gps.mcid is not None
                                else "no MCID")).rstrip(".")


def _gps_changes(gps: dict[str, tuple[float, str]], visits: list[str], *, patient_id: str,
                 norms_name: str) -> pd.DataFrame:
    if visits[0] not in gps:
        return result_frame([])
    ref, how_ref = gps[visits[0]]
    rows = []
    for v in visits[1:]:
        if v not in gps:
            continue
        value, how = gps[v]
        rows.append({"measure": "gps", "patient_id": patient_id, "analysis": "gps",
                     "term": f"{v} - {visits[0]}", "estimate": value - ref, "n_patients": 1,
                     "method": f"change of the overall GPS; {_gps_mcid()}; norms: {norms_name}",
                     "note": "" if how == how_ref else
                     f"the visits use different norm classes ({how_ref}; {how})"})
    return result_frame(rows)


def _band_rows(curves: pd.DataFrame, norms: pd.DataFrame, *, visit: str, patient_id: str,
               basis: str) -> pd.DataFrame:
    ref = {v: g.sort_values("pct") for v, g in norms[norms["pct"].notna()].groupby("variable")}
    rows = []
    for (variable, side), g in curves.groupby(["variable", "side"], sort=True):
        if variable not in ref:
            continue
        pct, mat = _cycle_matrix(g)
        if len(mat) == 0:
            continue
        mean = mat.mean(axis=0)
        r = ref[variable]
        m = np.interp(pct, r["pct"].to_numpy(float), r["mean"].to_numpy(float))
        sd = np.interp(pct, r["pct"].to_numpy(float), r["sd"].to_numpy(float))
        # near-zero is not zero: an SD below 1e-9 of the curve's scale counts as none
        ok = sd > 1e-9 * max(1.0, float(np.nanmax(np.abs(m))))
        note = (f"pointwise z only, no curve-level inference: {_NO_CURVES}, so no one-sample "
                "SPM against the controls")
        if not ok.any():
            rows.append({"measure": "", "side": side, "patient_id": patient_id,
                         "analysis": "gait_norm_z", "term": f"{variable}: {visit}",
                         "n_patients": 1, "n_obs": len(mat), "method": basis,
                         "note": "not computed: the normative SD is zero at every point"})
            continue
        z = (mean[ok] - m[ok]) / sd[ok]
        k = int(np.argmax(np.abs(z)))
        if not ok.all():
            note += f"; {int((~ok).sum())} point(s) with zero normative SD left out"
        rows.append({"measure": "", "side": side, "patient_id": patient_id,
                     "analysis": "gait_norm_z", "term": f"{variable}: {visit}",
                     "estimate": 100.0 * float(np.mean(np.abs(z) > Z_BAND)),
                     "statistic": float(z[k]), "n_patients": 1, "n_obs": len(mat),
                     "method": "z = (mean of the visit's cycles - normative mean) / normative "
                     f"SD at each % cycle; estimate = % of the cycle with |z| > {Z_BAND}, "
                     f"statistic = z of largest magnitude (at {pct[ok][k]:g} % cycle); {basis}",
                     "note": note})
    return result_frame(rows)


def _scalar_rows(obs: pd.DataFrame, norms: pd.DataFrame, *, visit: str, patient_id: str,
                 basis: str) -> pd.DataFrame:
    ref = norms[norms["pct"].isna()].set_index("variable")
    frames = []
    for r in obs.itertuples():
        if r.measure not in ref.index or pd.isna(r.value):
            continue
        n = ref.loc[r.measure]
        prefix = f"{visit} (gait-lab norms): "
        try:
            rows = crawford_howell(float(r.value), mean=float(n["mean"]), sd=float(n["sd"]),
                                   n=int(n["n"])).tidy(measure=r.measure, patient_id=patient_id,
                                                       side=r.side, share=RESULTS_SHARE)
        except InvalidInputError as exc:
            frames.append(result_frame([{
                "measure": r.measure, "side": r.side, "patient_id": patient_id,
                "analysis": "crawford_howell", "term": prefix + "patient - controls",
                "n_patients": 1, "method": f"Crawford-Howell (1998) modified t; {basis}",
                "note": f"not computed: {exc}"}]))
            continue
        rows["term"] = prefix + rows["term"]
        rows["method"] = rows["method"] + f"; patient value = mean of {r.n_cycles} cycles; {basis}"
        frames.append(rows)
    return pd.concat(frames, ignore_index=True) if frames else result_frame([])
