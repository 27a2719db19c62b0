"""analysis.stats.multiplicity.holm against R's p.adjust (tests/r/lmm_fixtures.R writes holm.csv)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats.multiplicity import holm

FIX = Path(__file__).parent / "fixtures" / "lmm" / "holm.csv"


def test_holm_matches_r_p_adjust_with_na():
    ref = pd.read_csv(FIX)  # p.adjust(p, "holm"), NA kept and not counted
    got = holm(ref["p"].to_numpy())
    np.testing.assert_allclose(got, ref["holm"].to_numpy(), rtol=1e-12, equal_nan=True)


def test_holm_closed_form():
    # Holm by hand: sorted 0.01, 0.02, 0.5 -> 3*0.01, 2*0.02, 1*0.5
    assert holm([0.5, 0.01, 0.02]) == pytest.approx([0.5, 0.03, 0.04])


def test_holm_edge_cases():
    assert holm([]).size == 0
    assert np.isnan(holm([np.nan])).all()
    assert holm([0.9, 0.8]).tolist() == [1.0, 1.0]
