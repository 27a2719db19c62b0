"""One scale for shares (PND, PEM, PAND, NAP, the percentage of controls beyond a patient).

**Proportions (0-1) are the scale of the API.** A share is a probability or a fraction of
points, and the rest of the results table already holds such numbers on 0-1: NAP, Tau, the
responder and improved-by-one-grade shares, every p-value. A statistician reading a results
table expects one scale for one kind of number (a PND of 71.4 next to a NAP of 0.89 invites a
factor-100 slip when the two are compared or pooled), and the R packages the methods are
checked against return proportions too (SingleCaseES ``PND``, ``PEM``, ``PAND``, ``NAP``).
Where the scale could be doubted, ``method`` says "proportion (0-1)" (or "percentage (0-100)").

Every function that returns a share therefore takes ``share="proportion"`` (the default) or
``share="percent"``.

**The rows ``itb analyze`` writes keep percentages** (:data:`RESULTS_SHARE`): the reports print
the ``pnd`` and ``pct_more_extreme`` rows (and the Bayesian percentage of controls) as
percentages, so results.csv stays as it was until the report reads proportions. To switch, set
:data:`RESULTS_SHARE` to ``"proportion"`` and, in ``analysis/report/report_tables.py``:

- ``BOUNDS``: ``"pct_more_extreme": (0.0, 1.0)`` and ``"pnd": (0.0, 1.0)``;
- :func:`single_case_rows`: multiply ``est, lo, hi`` by 100 for the ``pnd`` and
  ``pct_more_extreme`` rows and the ``bayes_single_case`` row whose term says "of controls"
  (the printed "PND (%)" and "% of controls more extreme" stay as they are).
"""

from __future__ import annotations

from typing import Literal

from analysis.errors import InvalidInputError

Share = Literal["proportion", "percent"]

#: The scale of the share rows in results.csv (``itb analyze``); the API's default is
#: ``"proportion"``.
RESULTS_SHARE: Share = "percent"


def check_share(share: str) -> float:
    """The factor from a proportion to ``share`` (1 or 100); refuses other values.

    >>> check_share("proportion"), check_share("percent")
    (1.0, 100.0)
    """
    if share not in ("proportion", "percent"):
        raise InvalidInputError(f"share={share!r}; use 'proportion' (0-1) or 'percent' (0-100).")
    return 100.0 if share == "percent" else 1.0


def share_word(share: str) -> str:
    """``"proportion (0-1)"`` or ``"percentage (0-100)"``."""
    return "percentage (0-100)" if check_share(share) == 100 else "proportion (0-1)"
