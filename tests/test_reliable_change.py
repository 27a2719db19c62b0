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
    assert t["statistic"].tolist() == pytest.approx([-8 / s_diff, 8 / s_diff])


def test_cutoffs_jacobson_truax():
    t = analysis.cs_cutoffs(m_clinical=40, sd_clinical=8, m_functional=20, sd_functional=4,
                            better="lower").set_index("term")["estimate"]
    assert t["a"] == 24 and t["b"] == 28
    assert t["c"] == pytest.approx((8 * 20 + 4 * 40) / 12)
