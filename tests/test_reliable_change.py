"""RCI variants and clinically significant change cut-offs.

Reference: clinicalsignificance's published results (tests/testthat/_snaps/cs_distribution.md)
on the Claus et al. (2020) data bundled with that package (HAMD, pre = time 1, post = time 4,
reliability 0.80, NK with post reliability 0.50, lower is better): the counts of improved /
unchanged / deteriorated patients for JT, EN, HLL, GLN, NK and HA agree exactly. Data:
tests/fixtures/singlecase/claus_2020.csv (extracted from the package's claus_2020.rda).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis

FIX = Path(__file__).parent / "fixtures" / "singlecase"
EXPECTED = {"JT": (29, 10, 1), "EN": (32, 5, 3), "HLL": (12, 16, 12), "GLN": (29, 10, 1),
            "NK": (28, 11, 1), "HA": (32, 7, 1)}


@pytest.fixture(scope="module")
def hamd():
    d = pd.read_csv(FIX / "claus_2020.csv")
    return d.pivot_table(index="id", columns="time", values="hamd").dropna(subset=[1.0, 4.0])


@pytest.mark.parametrize("method", list(EXPECTED))
def test_clinicalsignificance_counts(hamd, method):
    t = analysis.rci(hamd[1.0], hamd[4.0], method=method, reliability=0.8,
                     reliability_post=0.5, better="lower")
    cls = t["note"].str.split(";").str[0].value_counts()
    got = (cls.get("reliable improvement", 0), cls.get("no reliable change", 0),
           cls.get("reliable deterioration", 0))
    assert got == EXPECTED[method]


def test_jacobson_truax_formula():
    t = analysis.rci([10.0, 20.0], [2.0, 28.0], sd_pre=5, reliability=0.8)
    s_diff = np.sqrt(2 * (5 * np.sqrt(0.2)) ** 2)
    rci = t[t["analysis"] == "rci"]
    assert rci["statistic"].tolist() == pytest.approx([-8 / s_diff, 8 / s_diff])
    # the denominators are numbers in rows, not only text in `method`
    err = t[t["analysis"] == "measurement_error"].set_index("term")["estimate"]
    assert err["SEM"] == pytest.approx(5 * np.sqrt(0.2), rel=1e-12)
    assert err["S_diff"] == pytest.approx(s_diff, rel=1e-12)
    assert err["SE_pred"] == pytest.approx(5 * np.sqrt(1 - 0.64), rel=1e-12)
    assert err["MDC95"] == pytest.approx(1.959963984540054 * s_diff, rel=1e-12)


def test_mdc_closed_form_and_published_sem():
    # Jacobson & Truax (1991): SD 7.5, r_xx .80 -> S_diff = 4.74
    t = analysis.mdc(sd=7.5, reliability=0.8).set_index("term")["estimate"]
    assert round(t["S_diff"], 2) == 4.74
    # MDC90 from a published SEM: 1.645 x sqrt(2) x SEM
    t = analysis.mdc(sem=0.05, confidence=0.90).set_index("term")["estimate"]
    assert list(t.index) == ["SEM", "S_diff", "MDC90"]
    assert t["MDC90"] == pytest.approx(1.6448536269514722 * np.sqrt(2) * 0.05, rel=1e-12)


def test_ha_reports_r_dd(hamd):
    t = analysis.rci(hamd[1.0], hamd[4.0], method="HA", reliability=0.8, better="lower")
    row = t[(t["analysis"] == "measurement_error") & (t["term"] == "r_dd")]
    method = t.loc[t["analysis"] == "rci", "method"].iloc[0]
    assert len(row) == 1 and f"r_dd = {row['estimate'].iloc[0]:.4g}" in method


def test_cutoffs_jacobson_truax():
    t = analysis.cs_cutoffs(m_clinical=40, sd_clinical=8, m_functional=20, sd_functional=4,
                            better="lower").set_index("term")["estimate"]
    assert t["a"] == 24 and t["b"] == 28
    assert t["c"] == pytest.approx((8 * 20 + 4 * 40) / 12)
