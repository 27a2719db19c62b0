"""Seeded simulator of ITB case series (also used by the tests and benchmarks).

:func:`simulate_series` draws a case series (baseline, three test-infusion visits at rising
doses, three visits after pump implantation). The one-patient case report and the writer of
``data/example/`` are in :mod:`analysis.examples.bundled`. Values are illustrative; the
parameters are hard-coded here (not read from the codebook) with their published sources cited
beside them.

Every random draw comes from a ``numpy`` Generator seeded with ``[seed, stream]``; each measure
has its own stream (CRC-32 of its key), so the values of a measure do not change when other
measures are added or removed.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import ConfigError

COLUMNS = ["patient_id", "visit", "phase", "day", "dose_ug_day", "measure", "side", "value",
           "unit"]
#: MAS levels and their codes (Bohannon & Smith 1987; "1+" coded 1.5 as in the codebook).
MAS_LEVELS = ("0", "1", "1+", "2", "3", "4")
MAS_CODES = (0.0, 1.0, 1.5, 2.0, 3.0, 4.0)


@dataclass(frozen=True)
class Visit:
    """A scheduled visit: its label, phase, nominal day, dose as a fraction of the patient's
    settled dose, and the SD (days) of the scheduling jitter."""

    name: str
    phase: str
    day: float
    dose_fraction: float
    day_sd: float = 0.0


DEFAULT_VISITS: tuple[Visit, ...] = (
    Visit("baseline", "baseline", -7, 0.0),
    Visit("ti_d2", "test_infusion", 2, 0.25),
    Visit("ti_d4", "test_infusion", 4, 0.50),
    Visit("ti_d6", "test_infusion", 6, 0.75),
    Visit("post_m3", "post_implant", 90, 1.0, 7),
    Visit("post_m6", "post_implant", 180, 1.0, 10),
    Visit("post_m12", "post_implant", 365, 1.0, 14),
)
MUSCLES = ("knee_ext", "knee_flex", "hip_add", "ankle_pf")
DEFAULT_MEASURES: tuple[str, ...] = (
    "gait_speed", "tug", "six_mwt", "knee_flex_lr", "sprs_total", "pgic",
    *(f"mas_{m}" for m in MUSCLES), *(f"mrc_{m}" for m in MUSCLES), "emg_soleus_rms",
)
# Mean latent MAS (0-4 scale) and MRC (0-5) per muscle group at baseline: illustrative for
# mild-to-moderate HSP (spasticity and weakness predominate distally and in the adductors).
_MAS_MEAN = {"knee_ext": 1.8, "knee_flex": 0.9, "hip_add": 1.7, "ankle_pf": 1.9,
             "hip_flex": 1.0, "hip_ext": 0.8, "hip_abd": 0.8, "ankle_df": 0.6}
_MRC_MEAN = {"knee_ext": 4.6, "knee_flex": 4.1, "hip_add": 4.3, "ankle_pf": 4.4,
             "hip_flex": 3.8, "hip_ext": 4.2, "hip_abd": 4.2, "ankle_df": 4.3}
_PHASE_WEIGHT = {"baseline": 0.0, "test_infusion": 0.35, "post_implant": 1.0}
_GAIT_LAB = ("baseline", "post_implant")  # motion lab and full SPRS rating: not during the TI


def _spec(key: str) -> tuple[str, bool, tuple[str, ...] | None, int]:
    """Unit, sided, phases measured (None = all) and decimals of a simulated measure."""
    fixed = {"gait_speed": ("m/s", False, None, 2), "tug": ("s", False, None, 1),
             "six_mwt": ("m", False, None, 0), "knee_flex_lr": ("deg", True, _GAIT_LAB, 1),
             "sprs_total": ("points", False, _GAIT_LAB, 0),
             "pgic": ("points", False, ("test_infusion", "post_implant"), 0)}
    if key in fixed:
        return fixed[key]
    family, _, muscle = key.partition("_")
    if family in ("mas", "mrc") and muscle in _MAS_MEAN:
        return ("grade", True, None, 1 if family == "mas" else 0)
    if family == "emg" and key.endswith("_rms"):
        return ("uV", True, None, 1)
    raise ConfigError(
        f"cannot simulate measure {key!r}; use one of {', '.join(DEFAULT_MEASURES)} "
        f"(mas_/mrc_ take the muscle groups {', '.join(_MAS_MEAN)}; emg_<muscle>_rms any muscle)")


def mas_from_latent(latent: np.ndarray) -> np.ndarray:
    """Round a latent spasticity (0-4) to the nearest MAS code (0, 1, 1.5, 2, 3, 4).

    Examples
    --------
    >>> mas_from_latent(np.array([-0.3, 0.9, 1.4, 1.8, 2.6, 5.0])).tolist()
    [0.0, 1.0, 1.5, 2.0, 3.0, 4.0]
    """
    codes = np.asarray(MAS_CODES)
    cuts = (codes[1:] + codes[:-1]) / 2
    return codes[np.searchsorted(cuts, latent)]


def _rng(seed: int, stream: str | int) -> np.random.Generator:
    tag = stream if isinstance(stream, int) else zlib.crc32(stream.encode())
    return np.random.default_rng([seed, tag])


def _patients(n: int, seed: int) -> pd.DataFrame:
    rng = _rng(seed, 0)
    width = max(2, len(str(n)))
    age = np.clip(np.round(rng.normal(52, 9, n)), 35, 70).astype(int)
    # SPG4 is the commonest genotype in autosomal-dominant HSP; many stay unexplained.
    genotype = rng.choice(["SPG4", "SPG3A", "SPG7", "unknown"], n, p=[0.55, 0.1, 0.1, 0.25])
    duration = np.round(np.minimum(rng.gamma(4.0, 4.0, n), age - 18), 1)
    return pd.DataFrame({
        "patient_id": [f"P{i:0{width}d}" for i in range(1, n + 1)],
        "age": age, "sex": rng.choice(["M", "F"], n, p=[0.6, 0.4]),
        "genotype": genotype, "disease_duration": duration.astype("float64"),
    })


def simulate_series(
    n_patients: int = 20,
    *,
    seed: int = 2015,
    measures: Sequence[str] | None = None,
    visits: Sequence[Visit] = DEFAULT_VISITS,
    missing_rate: float = 0.08,
    dropout: float = 0.1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate an ITB case series: (observations, patients).

    Parameters
    ----------
    n_patients : int
        Number of patients (``P01``, ``P02``, ...).
    seed : int
        Seed of every random draw; the same seed gives identical frames.
    measures : sequence of str, optional
        Codebook keys to simulate (default :data:`DEFAULT_MEASURES`).
    visits : sequence of Visit
        Visit schedule (default :data:`DEFAULT_VISITS`); a visit's dose is ``dose_fraction``
        times the patient's settled dose (50-150 ug/day), rounded to 5 ug/day during the test
        infusion.
    missing_rate : float
        Probability that a measure is missing at a visit (half of it at baseline).
    dropout : float
        Share of patients who drop out after implantation (all later visits missing).

    Returns
    -------
    observations : pandas.DataFrame
        Tidy observations (data contracts) with the columns of :data:`COLUMNS`, MAS coded
        0, 1, 1.5, 2, 3, 4; missing observations are absent rows.
    patients : pandas.DataFrame
        ``patient_id``, ``age``, ``sex``, ``genotype``, ``disease_duration``.

    Notes
    -----
    Gait speed at baseline is drawn from 0.88 +/- 0.26 m/s (HSP, van de Venis thesis) with
    measurement noise SD 0.06 m/s (SEM, Andersen & Kristensen); the gain after implantation
    is 0.15 +/- 0.08 m/s (around the 0.10-0.20 m/s MCID range). TUG and 6MWT follow the latent
    speed with noise of about 7% (TUG SEM 1.05 s, Flansbjer 2005) and 4.7% (SRD 13%).
    Spasticity falls with dose along a Hill curve (patient ED50 around 55 ug/day); strength
    is kept except for about a third of the patients, who weaken above 75 ug/day.

    Examples
    --------
    >>> obs, pts = simulate_series(4, seed=1)
    >>> sorted(obs["phase"].unique())
    ['baseline', 'post_implant', 'test_infusion']
    >>> pts["patient_id"].tolist()
    ['P01', 'P02', 'P03', 'P04']
    """
    if n_patients < 1:
        raise ConfigError(f"n_patients must be at least 1, got {n_patients}")
    for name, p in (("missing_rate", missing_rate), ("dropout", dropout)):
        if not 0 <= p < 1:
            raise ConfigError(f"{name} must be in [0, 1), got {p}")
    keys = list(DEFAULT_MEASURES if measures is None else measures)
    specs = {k: _spec(k) for k in keys}
    n, nv = n_patients, len(visits)
    patients = _patients(n, seed)
    rng = _rng(seed, 1)
    # Patient-level traits (one draw per patient, in a fixed order).
    settled = np.clip(np.round(rng.normal(100, 25, n)), 50, 150)
    ed50 = 55 * np.exp(rng.normal(0, 0.3, n))
    speed0 = np.clip(rng.normal(0.88, np.sqrt(0.26**2 - 0.06**2), n), 0.25, None)
    gain = rng.normal(0.15, 0.08, n)
    dropped = rng.random(n) < dropout
    post_idx = [j for j, v in enumerate(visits) if v.phase == "post_implant"] or [nv]
    first_missing = np.where(dropped, rng.choice(post_idx[1:] or post_idx, n), nv)
    no_lab = rng.random(n) < 0.15  # some patients never reach the motion lab
    day_noise = rng.normal(0, 1, (n, nv))

    phase = np.array([v.phase for v in visits])
    frac = np.array([v.dose_fraction for v in visits])
    day = np.round(np.array([v.day for v in visits]) + day_noise * [v.day_sd for v in visits])
    dose = settled[:, None] * frac
    dose = np.where(phase == "test_infusion", np.round(dose / 5) * 5, np.round(dose))
    hill = dose**2 / (dose**2 + ed50[:, None] ** 2)
    rel = hill / (settled**2 / (settled**2 + ed50**2))[:, None]  # 1 at the settled dose
    weight = np.array([_PHASE_WEIGHT.get(p, 1.0) for p in phase])
    years = np.clip(day, 0, None) / 365
    # Latent speed: baseline + ITB gain - slow progression (illustrative 0.02 m/s per year).
    speed = np.clip(speed0[:, None] + gain[:, None] * rel * weight - 0.02 * years, 0.1, None)
    benefit = np.clip(gain[:, None] / 0.15 * rel * weight, -1, 3)

    blocks = []
    for mi, key in enumerate(keys):
        unit, sided, phases, decimals = specs[key]
        r = _rng(seed, key)
        ns = 2 if sided else 1
        shape = (n, nv, ns)
        fam = key.split("_")[0]
        if key == "gait_speed":
            val = speed[..., None] + r.normal(0, 0.06, shape)
            val = np.clip(val, 0.05, None)
        elif key == "tug":
            val = (3.5 + 9 / speed[..., None]) * np.exp(r.normal(0, 0.1, (n, 1, 1))
                                                        + r.normal(0, 0.07, shape))
        elif key == "six_mwt":
            val = 330 * speed[..., None] * np.exp(r.normal(0, 0.08, (n, 1, 1))
                                                  + r.normal(0, 0.047, shape))
        elif key == "knee_flex_lr":  # stiff-knee gait: little flexion at loading response
            k0 = np.clip(r.normal(8, 4, (n, 1, 1)) + r.normal(0, 1.5, (n, 1, ns)), 0, 20)
            val = k0 + r.normal(5, 3, (n, 1, 1)) * (rel * weight)[..., None]
            val = val + r.normal(0, 2, shape)
        elif key == "sprs_total":  # Schule 2006, 0-52; progression ~0.9 points/year
            s0 = np.clip(r.normal(18, 6, (n, 1, 1)), 3, 45)
            val = s0 - r.normal(3, 1.5, (n, 1, 1)) * (rel * weight)[..., None] + 0.9 * years[
                ..., None] + r.normal(0, 1.0, shape)
            val = np.clip(np.round(val), 0, 52)
        elif key == "pgic":  # 1 very much improved .. 7 very much worse
            val = np.clip(np.round(4 - 1.8 * benefit[..., None] + r.normal(0, 0.6, shape)), 1, 7)
        elif fam == "mas":
            muscle = key[4:]
            latent = (_MAS_MEAN[muscle] + r.normal(0, 0.5, (n, 1, 1))
                      + r.normal(0, 0.25, (n, 1, ns))
                      - np.clip(r.normal(1.6, 0.5, (n, 1, 1)), 0.2, None) * hill[..., None]
                      + r.normal(0, 0.35, shape))
            val = mas_from_latent(latent)
        elif fam == "mrc":
            muscle = key[4:]
            weak = np.where(r.random((n, 1, 1)) < 0.3, r.uniform(0.3, 0.9, (n, 1, 1)), 0.0)
            latent = (_MRC_MEAN[muscle] + r.normal(0, 0.35, (n, 1, 1))
                      + r.normal(0, 0.15, (n, 1, ns))
                      - weak * np.clip(dose - 75, 0, None)[..., None] / 50
                      + r.normal(0, 0.25, shape))
            val = np.clip(np.round(latent), 0, 5)
        else:  # surface EMG amplitude during stretch: falls with spasticity
            e0 = 50 * np.exp(r.normal(0, 0.4, (n, 1, 1)) + r.normal(0, 0.15, (n, 1, ns)))
            val = e0 * (1 - 0.5 * hill[..., None]) * np.exp(r.normal(0, 0.15, shape))
        val = np.round(np.broadcast_to(val, shape).astype("float64"), decimals)
        miss = r.random((n, nv, 1)) < np.where(phase == "baseline", missing_rate / 2,
                                               missing_rate)[None, :, None]
        keep = ~miss & (np.arange(nv)[None, :, None] < first_missing[:, None, None])
        if phases is not None:
            keep &= np.isin(phase, phases)[None, :, None]
        if key == "knee_flex_lr":
            keep &= ~no_lab[:, None, None]
        keep = np.broadcast_to(keep, shape)
        pi, vi, si = np.nonzero(keep)
        blocks.append((pi, vi, np.full(pi.size, mi), si + (0 if sided else 2), val[keep]))
    pi, vi, mi, si, val = (np.concatenate(parts) for parts in zip(*blocks, strict=False))
    order = np.lexsort((si, mi, vi, pi))
    pi, vi, mi, si, val = pi[order], vi[order], mi[order], si[order], val[order]
    obs = pd.DataFrame({
        "patient_id": patients["patient_id"].to_numpy()[pi],
        "visit": np.array([v.name for v in visits])[vi],
        "phase": phase[vi],
        "day": day[pi, vi].astype("float64"),
        "dose_ug_day": dose[pi, vi].astype("float64"),
        "measure": np.array(keys)[mi],
        "side": np.array(["L", "R", ""])[si],
        "value": val,
        "unit": np.array([specs[k][0] for k in keys])[mi],
    })
    return obs, patients


#: Case-report titration (ug/day per test-infusion day): gradual rise to 108, a one-day step to
#: 130 (invented, to show the window's upper edge: every MRC grade falls by one), back to 108.
