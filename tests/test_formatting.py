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
    MINUS,
    MISSING,
    NBSP,
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


def _plain(text: str) -> str:
    """The text with ASCII minus and spaces (the tests below were written in ASCII)."""
    return text.replace(NBSP, " ").replace(MINUS, "-")


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
    assert _plain(fmt_p(p)) == expected


def test_fmt_p_missing_and_options():
    assert _plain(fmt_p(float("nan"))) == f"p = {MISSING}"
    assert _plain(fmt_p(None, prefix=False)) == MISSING
    assert _plain(fmt_p(pd.NA)) == f"p = {MISSING}"
    assert _plain(fmt_p(0.0004, prefix=False)) == "< .001"
    assert _plain(fmt_p(0.043, prefix=False)) == ".043"
    assert _plain(fmt_p(0.0312, digits=2)) == "p = .03"
    assert _plain(fmt_p(0.004, digits=2)) == "p < .01"
    assert _plain(fmt_p(np.float64(0.125))) == "p = .125"  # smallest exact signed-rank p, n = 4


@pytest.mark.parametrize("bad", [-0.01, 1.2, math.inf])
def test_fmt_p_rejects_impossible_values(bad):
    with pytest.raises(ITBError, match="p-value must lie in"):
        fmt_p(bad)


def test_fmt_p_rejects_bad_digits():
    with pytest.raises(ITBError, match="2 or 3"):
        fmt_p(0.5, digits=4)


def test_fmt_num():
    assert _plain(fmt_num(1.23456, 2)) == "1.23"
    assert _plain(fmt_num(1.235001, 2)) == "1.24"
    assert _plain(fmt_num(-2.5, 1)) == "-2.5"
    assert _plain(fmt_num(-0.004, 2)) == "0.00"  # no negative zero
    assert _plain(fmt_num(108, 0)) == "108"
    assert _plain(fmt_num(np.nan)) == MISSING
    assert _plain(fmt_num(None)) == MISSING
    assert _plain(fmt_num(math.inf)) == "\u221e"
    with pytest.raises(ITBError):
        fmt_num(1.0, -1)


def test_fmt_ci_and_est_ci():
    # Lakens 2013: d_z 1.50, 95% CI 0.5605 to 2.4034
    assert _plain(fmt_ci(0.5605, 2.4034)) == "[0.56, 2.40]"
    assert _plain(fmt_est_ci(1.5, 0.5605, 2.4034)) == "1.50 [0.56, 2.40]"
    assert _plain(fmt_est_ci(1.2846, 0.4146, 2.1180, 3)) == "1.285 [0.415, 2.118]"
    assert _plain(fmt_ci(np.nan, np.nan)) == MISSING
    assert _plain(fmt_ci(0.61, np.nan)) == f"[0.61, {MISSING}]"
    assert _plain(fmt_est_ci(-2.5, np.nan, np.nan, 1)) == "-2.5"
    assert _plain(fmt_est_ci(np.nan, np.nan, np.nan)) == MISSING


def test_fmt_df():
    assert _plain(fmt_df(9)) == "9"
    assert _plain(fmt_df(9.0)) == "9"
    assert _plain(fmt_df(17.0000000001)) == "17"
    assert _plain(fmt_df(17.2634)) == "17.3"
    assert _plain(fmt_df(8.96)) == "9.0"  # not integral: one decimal even when it rounds to one
    assert _plain(fmt_df(np.nan)) == MISSING


def test_fmt_n_pct_and_pct():
    assert _plain(fmt_n_pct(3, 5)) == "3 (60%)"
    assert _plain(fmt_n_pct(2, 3)) == "2 (67%)"
    assert _plain(fmt_n_pct(2, 3, digits=1)) == "2 (66.7%)"
    assert _plain(fmt_n_pct(0, 0)) == f"0 ({MISSING})"
    assert _plain(fmt_n_pct(np.nan, 4)) == MISSING
    assert _plain(fmt_pct(0.125, 1)) == "12.5%"


def test_fmt_stat():
    assert _plain(fmt_stat("t", 4.0621, 9, 0.002833)) == "t(9) = 4.06, p = .003"
    assert _plain(fmt_stat("t", -3.1, 17.26)) == "t(17.3) = -3.10"


def test_digits_for():
    class M:  # a codebook Measure stand-in
        unit = "m/s"

    assert digits_for(M()) == 2
    assert digits_for("s") == 1
    assert digits_for("grade") == 1
    assert digits_for("m") == 0
    assert digits_for("unknown", default=3) == 3
    assert digits_for(None) == 2


# ------------------------------------------------------------------ one number style (issue 14)

def test_true_minus_sign_and_no_break_spaces():
    from analysis.report.formatting import CI95, parse_num

    assert fmt_num(-2.456) == "\u22122.46" and "-" not in fmt_num(-2.456)
    assert fmt_num(-0.001) == "0.00"  # rounds to zero: no sign
    assert fmt_ci(-4.19, -0.81) == "[\u22124.19,\u00a0\u22120.81]"
    assert fmt_p(0.01) == "p\u00a0=\u00a0.010" and fmt_p(0.0001) == "p\u00a0<\u00a0.001"
    assert fmt_stat("t", 4.7434, 9, 0.001054) == "t(9)\u00a0=\u00a04.74, p\u00a0=\u00a0.001"
    assert CI95 == "95%\u00a0CI"
    assert parse_num(fmt_num(-12.345, 1)) == -12.3


@pytest.mark.parametrize(("p", "apa", "ama"), [
    (0.0004, "p < .001", "P < .001"),
    (0.0042, "p = .004", "P = .004"),
    (0.0099, "p = .010", "P = .01"),
    (0.0101, "p = .010", "P = .01"),
    (0.0432, "p = .043", "P = .04"),
    (0.5, "p = .500", "P = .50"),
    (0.9994, "p = .999", "P > .99"),
    (1.0, "p > .999", "P > .99"),
])
def test_p_value_style_switch(p, apa, ama):
    """APA 7 (6.36) and AMA Manual of Style 11th ed. (P values: two digits, three below .01,
    P < .001 the smallest, capital P)."""
    from analysis.report.formatting import get_number_style, number_style

    assert _plain(fmt_p(p)) == apa
    assert _plain(fmt_p(p, style="ama")) == ama
    with number_style("ama"):
        assert _plain(fmt_p(p)) == ama
        assert _plain(fmt_stat("t", 2.0, 9, p)).endswith(ama)
    assert get_number_style() == "apa"


def test_number_style_rejects_unknown_style():
    from analysis.report.formatting import set_number_style

    with pytest.raises(ITBError, match="number-style"):
        set_number_style("vancoover")


def test_decimals_from_codebook_resolution_and_data():
    from analysis.report.formatting import decimals_from_data

    class M:
        unit, resolution, integer = "m", 0.5, False

    class Steps:
        unit, integer = "steps", True

    assert digits_for(M()) == 1            # resolution wins over the unit
    assert digits_for(Steps()) == 0        # integer measure of an unknown unit
    assert decimals_from_data([1.25, 2.5, 3.0]) == 2
    assert decimals_from_data([276.0, 301.0]) == 0
