"""Tests of analysis.report.formatting against the APA 7 rules (Publication Manual, 7th ed., 6.36:
no leading zero for values that cannot exceed 1; exact p to two or three decimals; p < .001
for smaller values) and hand-rounded numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ITBError
from analysis.report.formatting import (
    MISSING,
    digits_for,
    fmt_ci,
    fmt_df,
    fmt_est_ci,
    fmt_n_pct,
    fmt_num,
    fmt_p,
    fmt_pct,
    fmt_stat,
)


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.0004, "p < .001"),
        (0.0, "p < .001"),
        (0.000999, "p < .001"),
        (0.001, "p = .001"),
        (0.001054, "p = .001"),  # Lakens 2013 movie data paired t
        (0.002833, "p = .003"),  # R sleep data paired t
        (0.04321, "p = .043"),
        (0.05, "p = .050"),
        (0.0499, "p = .050"),
        (0.5, "p = .500"),
        (0.9994, "p = .999"),
        (0.9996, "p > .999"),
        (1.0, "p > .999"),
    ],
)
def test_fmt_p_apa(p, expected):
    assert fmt_p(p) == expected


def test_fmt_p_missing_and_options():
    assert fmt_p(float("nan")) == f"p = {MISSING}"
    assert fmt_p(None, prefix=False) == MISSING
    assert fmt_p(pd.NA) == f"p = {MISSING}"
    assert fmt_p(0.0004, prefix=False) == "< .001"
    assert fmt_p(0.043, prefix=False) == ".043"
    assert fmt_p(0.0312, digits=2) == "p = .03"
    assert fmt_p(0.004, digits=2) == "p < .01"
    assert fmt_p(np.float64(0.125)) == "p = .125"  # smallest exact signed-rank p, n = 4


@pytest.mark.parametrize("bad", [-0.01, 1.2, math.inf])
def test_fmt_p_rejects_impossible_values(bad):
    with pytest.raises(ITBError, match="p-value must lie in"):
        fmt_p(bad)


def test_fmt_p_rejects_bad_digits():
    with pytest.raises(ITBError, match="2 or 3"):
        fmt_p(0.5, digits=4)


def test_fmt_num():
    assert fmt_num(1.23456, 2) == "1.23"
    assert fmt_num(1.235001, 2) == "1.24"
    assert fmt_num(-2.5, 1) == "-2.5"
    assert fmt_num(-0.004, 2) == "0.00"  # no negative zero
    assert fmt_num(108, 0) == "108"
    assert fmt_num(np.nan) == MISSING
    assert fmt_num(None) == MISSING
    assert fmt_num(math.inf) == "\u221e"
    with pytest.raises(ITBError):
        fmt_num(1.0, -1)


def test_fmt_ci_and_est_ci():
    # Lakens 2013: d_z 1.50, 95% CI 0.5605 to 2.4034
    assert fmt_ci(0.5605, 2.4034) == "[0.56, 2.40]"
    assert fmt_est_ci(1.5, 0.5605, 2.4034) == "1.50 [0.56, 2.40]"
    assert fmt_est_ci(1.2846, 0.4146, 2.1180, 3) == "1.285 [0.415, 2.118]"
    assert fmt_ci(np.nan, np.nan) == MISSING
    assert fmt_ci(0.61, np.nan) == f"[0.61, {MISSING}]"
    assert fmt_est_ci(-2.5, np.nan, np.nan, 1) == "-2.5"
    assert fmt_est_ci(np.nan, np.nan, np.nan) == MISSING


def test_fmt_df():
    assert fmt_df(9) == "9"
    assert fmt_df(9.0) == "9"
    assert fmt_df(17.0000000001) == "17"
    assert fmt_df(17.2634) == "17.3"
    assert fmt_df(8.96) == "9.0"  # not integral: one decimal even when it rounds to one
    assert fmt_df(np.nan) == MISSING


def test_fmt_n_pct_and_pct():
    assert fmt_n_pct(3, 5) == "3 (60%)"
    assert fmt_n_pct(2, 3) == "2 (67%)"
    assert fmt_n_pct(2, 3, digits=1) == "2 (66.7%)"
    assert fmt_n_pct(0, 0) == f"0 ({MISSING})"
    assert fmt_n_pct(np.nan, 4) == MISSING
    assert fmt_pct(0.125, 1) == "12.5%"


def test_fmt_stat():
    assert fmt_stat("t", 4.0621, 9, 0.002833) == "t(9) = 4.06, p = .003"
    assert fmt_stat("t", -3.1, 17.26) == "t(17.3) = -3.10"


def test_digits_for():
    class M:  # a codebook Measure stand-in
        unit = "m/s"

    assert digits_for(M()) == 2
    assert digits_for("s") == 1
    assert digits_for("grade") == 1
    assert digits_for("m") == 0
    assert digits_for("unknown", default=3) == 3
    assert digits_for(None) == 2
