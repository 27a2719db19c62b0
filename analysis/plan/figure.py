"""Power curves: power against n, one panel per study, one line per test and setting.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"study": "s", "curve": "", "test": "paired_t", "n": [5, 10],
...                   "power": [0.3, 0.7], "mcse": [0.05, 0.05], "n_sim": 100})
>>> fig = power_curve_figure(t, target_power=0.8)
>>> len(fig.axes)
1
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no global state, no backend switch

_X_LABEL = {"case_series": "patients enrolled", "ab": "baseline days",
            "titration": "baseline days", "controls": "control sample size"}


def power_curve_figure(table: pd.DataFrame, *, target_power: float = 0.8):
    """A matplotlib figure of power against n, with +/- 2 Monte Carlo SE bars.

    Parameters
    ----------
    table : pandas.DataFrame
        Power table (:func:`analysis.plan.runner.power_simulation`).
    target_power : float
        Drawn as a dashed horizontal line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    studies = list(dict.fromkeys(table["study"]))
    fig = Figure(figsize=(4.2 * len(studies), 3.4), layout="constrained")
    axes = fig.subplots(1, len(studies), squeeze=False)
    for ax, study in zip(axes[0], studies, strict=True):
        rows = table[table["study"] == study]
        for (curve, test), g in rows.groupby(["curve", "test"], sort=False):
            g = g.sort_values("n")
            label = f"{test}{', ' + curve if curve else ''}"
            ax.errorbar(g["n"], g["power"], yerr=2 * g["mcse"], marker="o", ms=3,
                        capsize=2, lw=1.2, label=label)
        ax.axhline(target_power, ls="--", lw=0.8, color="0.4")
        ax.set_ylim(0, 1.02)
        design = rows["design"].iloc[0] if "design" in rows else ""
        ax.set_xlabel(_X_LABEL.get(design, "n"))
        ax.set_ylabel("power")
        ax.set_title(study, fontsize=9)
        ax.legend(fontsize=6, frameon=False)
    return fig


def save_power_curve(table: pd.DataFrame, path: str | Path, *,
                     target_power: float = 0.8) -> Path:
    """Write :func:`power_curve_figure` to ``path`` (PNG, SVG or PDF by suffix)."""
    fig = power_curve_figure(table, target_power=target_power)
    path = Path(path)
    fig.savefig(path, dpi=150)
    return path
