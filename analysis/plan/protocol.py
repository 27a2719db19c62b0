"""The sample-size paragraph of a protocol, written from the power table's numbers.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"study": "s", "design": "controls", "curve": "", "n": [10, 20],
...     "test": "crawford_howell", "n_sim": 0, "power": [0.55, 0.81], "mcse": 0.0,
...     "failed": 0.0, "singular": 0.0, "alpha": 0.05, "threshold": 0.05,
...     "ci_half_width": float("nan"),
...     "params": ['{"effect": -2.0, "alternative": "less"}'] * 2})
>>> print(sample_size_paragraph(t, target_power=0.8, seed=1))  # doctest: +NORMALIZE_WHITESPACE
Sample size. s: the Crawford-Howell test of one patient against a control sample (one-sided,
less, alpha = 0.05) for a patient 2 control SDs from the control mean has power 0.81 with 20
controls (closed form, noncentral t; Crawford & Garthwaite 2006), the smallest of the sizes
considered (10 to 20) reaching 0.80.
"""

from __future__ import annotations

import json

import pandas as pd

_TEST_TEXT = {
    "paired_t": "the paired t-test",
    "wilcoxon": "the Wilcoxon signed-rank test",
    "lmm": "the mixed-model contrast (REML, Satterthwaite df)",
    "nap": "NAP (Mann-Whitney p)",
    "tau_u": "Tau-U (Kendall p)",
    "piecewise": "the piecewise-regression level change",
}


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _study_text(study: str, rows: pd.DataFrame, target: float) -> str:
    design = rows["design"].iloc[0]
    p = json.loads(rows["params"].iloc[0])
    n_sim = int(rows["n_sim"].max())
    parts = []
    for (curve, test), g in rows.groupby(["curve", "test"], sort=False):
        g = g.sort_values("n")
        hit = g[g["power"] >= target]
        lo, hi = int(g["n"].min()), int(g["n"].max())
        what = _TEST_TEXT.get(test, test)
        cond = f" ({curve})" if curve else ""
        if hit.empty:
            best = g.iloc[-1]
            reach = (f"does not reach {target:.2f} in the sizes considered ({lo} to {hi}); "
                     f"power at {hi} is {best['power']:.2f}")
        else:
            r = hit.iloc[0]
            se = f" (Monte Carlo SE {r['mcse']:.3f})" if r["n_sim"] else ""
            reach = f"reaches {r['power']:.2f}{se} at n = {int(r['n'])}"
            if design != "controls" and r["n_sim"] and r["failed"] > 0:
                reach += f", with {100 * r['failed']:.1f}% failed fits"
        parts.append(f"{what}{cond} {reach}")
    alpha = float(rows["alpha"].iloc[0])
    thr = float(rows["threshold"].iloc[0])
    level = (f"two-sided alpha = {_fmt(alpha)}" if thr == alpha else
             f"two-sided alpha = {_fmt(alpha)} / {round(alpha / thr)} = {_fmt(thr)} (first "
             f"step of Holm's procedure for {round(alpha / thr)} outcomes, a lower bound of "
             "its power)")
    if design == "controls":
        g = rows.sort_values("n")
        hit = g[g["power"] >= target]
        lo, hi = int(g["n"].min()), int(g["n"].max())
        side = "two-sided" if p["alternative"] == "two-sided" else f"one-sided, {p['alternative']}"
        head = (f"{study}: the Crawford-Howell test of one patient against a control sample "
                f"({side}, alpha = {_fmt(alpha)}) for a patient {abs(p['effect']):g} control "
                "SDs from the control mean")
        if hit.empty:
            return (f"{head} does not reach power {target:.2f} with up to {hi} controls (power "
                    f"{g['power'].iloc[-1]:.2f} at {hi}; closed form, noncentral t; Crawford "
                    "& Garthwaite 2006).")
        r = hit.iloc[0]
        return (f"{head} has power {r['power']:.2f} with {int(r['n'])} controls (closed form, "
                f"noncentral t; Crawford & Garthwaite 2006), the smallest of the sizes "
                f"considered ({lo} to {hi}) reaching {target:.2f}.")
    if design == "case_series":
        setting = (f"a mean change of {_fmt(p['effect'])} from {p['visits'][0]} to "
                   f"{p['visit']}, between-patient SD {_fmt(p['sd_between'])} and "
                   f"within-patient SD {_fmt(p['sd_within'])} (ICC {p['icc']:.2f}), "
                   f"{100 * p['dropout']:.0f}% dropout before each of the "
                   f"{len(p['visits']) - 1} follow-up visit(s)")
        unit = "n = patients enrolled"
    else:
        kind = ("a step change" if design == "ab" else
                f"a change building up over {p['ramp_days']} days (titration)")
        setting = (f"{kind} of {_fmt(p['effect'])} after {p['n_treatment']} treatment days, "
                   f"day-to-day SD {_fmt(p['sd'])}, lag-1 autocorrelation {_fmt(p['ar1'])}, "
                   f"trend {_fmt(p['trend'])} per day")
        unit = "n = baseline days"
    return (f"{study}: assuming {setting}, with {level} and {n_sim} simulated datasets per "
            f"scenario analysed with this package's own functions ({unit}), "
            + "; ".join(parts) + ".")


def sample_size_paragraph(table: pd.DataFrame, *, target_power: float = 0.8,
                          seed: int | None = None) -> str:
    """A paragraph for a protocol's sample-size section, from a power table.

    Parameters
    ----------
    table : pandas.DataFrame
        The table of :func:`analysis.plan.runner.power_simulation`.
    target_power : float
        Power sought (the smallest n reaching it is quoted).
    seed : int, optional
        The seed, quoted so that the numbers can be reproduced.

    Returns
    -------
    str
    """
    texts = [_study_text(study, rows, target_power)
             for study, rows in table.groupby("study", sort=False)]
    tail = ""
    if (table["n_sim"] > 0).any():
        tail = (f" Simulations were seeded ({seed}) and can be re-run with `itb plan`; "
                "power is the share of simulated datasets in which the test rejected, with its "
                "Monte Carlo SE sqrt(p(1 - p) / n_sim).") if seed is not None else ""
    return "Sample size. " + " ".join(texts) + tail
