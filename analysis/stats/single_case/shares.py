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

**The rows ``itb analyze`` writes are proportions too** (:data:`RESULTS_SHARE`): results.csv
holds ``pnd``, ``pem``, ``pand``, ``pct_more_extreme`` and the shares of controls of the
Bayesian and multivariate tests on 0-1, and says so in the results dictionary (``itb
dictionary``). Only the printed reports show percentages: the one-patient table
(:func:`analysis.report.single_case_table.single_case_rows`) multiplies those rows by 100
before formatting them as "PND (%)" and "% of controls ...", and judges their intervals against
the bounds of :data:`analysis.report.table_notes.BOUNDS` scaled the same way.
"""

from __future__ import annotations

from typing import Literal

from analysis.errors import InvalidInputError

Share = Literal["proportion", "percent"]

#: The scale of the share rows in results.csv (``itb analyze``): that of the API.
RESULTS_SHARE: Share = "proportion"


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
