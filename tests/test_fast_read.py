"""The fast paths of reading and validation give exactly what the careful paths give.

Reading: :func:`analysis.data.text_files.read_text` with ``fast=True`` (a plain file read by
:func:`analysis.data.plain_text.read_plain`) and ``fast=False`` (record by record) must make the
same table (columns, dtypes, values, ``_row``, attrs), attributes and problems on every file;
the fast path may decline a file, and the tests also check that it accepts the plain ones.

Validation: :func:`analysis.data.validate.validate_observations` (rules column by column) is
compared with the record-by-record pipeline it replaced (``tests/old_validation.py``, copied
from commit 61ad213) on the bad-input corpus, on the example data and on randomly corrupted
copies of a small file (seeded); :func:`analysis.data.plausibility.plausibility_problems` with
the old one on random observations.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.data.codebook import load_codebook
from analysis.data.plain_text import SPACES, read_plain
from analysis.data.plausibility import plausibility_problems
from analysis.data.readers import read_observations
from analysis.data.text_files import decode, delimiter, read_text
from analysis.data.validate import validate_observations
from analysis.errors import DataValidationError

sys.path.insert(0, str(Path(__file__).parent))
import old_validation  # noqa: E402
from test_bad_inputs import CASES  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CB = load_codebook()
HEADER = "patient_id,visit,measure,value,phase,day,dose_ug_day,side,unit"
ROWS = ["P01,baseline,tug,15.2,baseline,-3,0,,s",
        "P01,post_m6,tug,11.8,post_implant,180,108,,s",
        "P01,baseline,mas_knee_ext,1+,baseline,-3,0,L,",
        "P01,post_m6,mas_knee_ext,1,post_implant,180,108,L,",
        "P02,baseline,tug,18.0,baseline,-2,0,,s",
        "P02,post_m6,tug,15.5,post_implant,182,90,,s",
        "P02,baseline,gait_speed,0.82,baseline,-2,0,,m/s",
        "P02,post_m6,gait_speed,0.95,post_implant,182,90,,m/s"]


def _read_both(path: Path):
    fast_problems, slow_problems = [], []
    fast = read_text(path, path.name, fast_problems, fast=True)
    slow = read_text(path, path.name, slow_problems, fast=False)
    return fast, slow, fast_problems, slow_problems


def _assert_same_read(path: Path) -> None:
    (ft, fa), (st, sa), fp, sp = _read_both(path)
    assert fp == sp
    assert fa == sa
    if st is None:
        assert ft is None
        return
    pd.testing.assert_frame_equal(ft, st, check_exact=True, check_column_type=True)
    assert ft.columns.dtype == st.columns.dtype
    assert list(ft.dtypes) == list(st.dtypes)
    assert ft.attrs == st.attrs
    assert [type(x) for x in ft.iloc[:, :-1].to_numpy().ravel()] == \
        [type(x) for x in st.iloc[:, :-1].to_numpy().ravel()]


def _accepted(path: Path) -> bool:
    text, encoding = decode(path.read_bytes())
    return encoding.startswith("utf-8") and read_plain(
        text, delimiter(text, path.suffix.lower())) is not None


PLAIN = {  # files the fast path reads
    "comma": HEADER + "\n" + "\n".join(ROWS) + "\n",
    "crlf": HEADER + "\r\n" + "\r\n".join(ROWS) + "\r\n",
    "no_final_newline": HEADER + "\n" + "\n".join(ROWS),
    "bom": "\ufeff" + HEADER + "\n" + "\n".join(ROWS) + "\n",
    "semicolon_decimal_comma": (HEADER + "\n" + "\n".join(ROWS) + "\n").replace(",", ";")
    .replace("15.2", "15,2").replace("0.82", "0,82").replace("0.95", "0,95")
    .replace("11.8", "11,8").replace("18.0", "18,0").replace("15.5", "15,5"),
    "tabs": (HEADER + "\n" + "\n".join(ROWS) + "\n").replace(",", "\t"),
    "pipes": (HEADER + "\n" + "\n".join(ROWS) + "\n").replace(",", "|"),
    "spaces_in_cells": HEADER.replace(",", " , ") + "\n" + "\n".join(
        " " + r.replace(",", " ,  ") + "  " for r in ROWS) + "\n",
    "tab_padding_in_a_comma_file": HEADER + "\n" + "\n".join(
        r.replace(",", ",\t", 2) for r in ROWS) + "\n",
    "empty_cells": HEADER + "\n" + "\n".join(r.replace(",s", ",") for r in ROWS) + "\n",
    "quoted_cells": HEADER + "\n" + "\n".join(
        ",".join(f'"{c}"' for c in r.split(",")) for r in ROWS) + "\n",
    "quoted_spaces": HEADER + "\n" + "\n".join(
        ",".join(f'" {c} "' if c else c for c in r.split(",")) for r in ROWS) + "\n",
    "nbsp_and_unicode_spaces": HEADER + "\n" + "\n".join(
        r.replace(",tug,", ",\xa0tug\u2003,").replace("P0", "\u3000P0") for r in ROWS) + "\n",
    "unicode_text": HEADER + "\n" + "\n".join(
        r.replace("post_m6", "contrôle_münster_6") for r in ROWS) + "\n",
    "missing_spellings": HEADER + "\n" + "\n".join(
        r.replace("15.2", "NA").replace("18.0", "nan").replace("0.95", "n/a") for r in ROWS)
    + "\n",
    "extra_columns": HEADER + ",note,site\n" + "\n".join(r + ",a b,1" for r in ROWS) + "\n",
    "case_in_header": HEADER.replace("patient_id", "Patient ID") + "\n" + "\n".join(ROWS) + "\n",
    "one_row": HEADER + "\n" + ROWS[0] + "\n",
    "no_header_word": "a,b,c\n1,2,3\n",  # the first row is then the header
}

DECLINED = {  # files the fast path leaves to the careful reader
    "blank_line": HEADER + "\n" + "\n".join(ROWS[:3]) + "\n\n" + "\n".join(ROWS[3:]) + "\n",
    "blank_lines_at_end": HEADER + "\n" + "\n".join(ROWS) + "\n\n\n",
    "space_only_line": HEADER + "\n" + "\n".join(ROWS[:3]) + "\n   \n" + "\n".join(ROWS[3:]),
    "empty_cells_row": HEADER + "\n" + "\n".join(ROWS) + "\n,,,,,,,,\n",
    "title_rows": "ITB export 2024\n\n" + HEADER + "\n" + "\n".join(ROWS) + "\n",
    "title_row_with_delimiters": "ITB export,,,,,,,,\n" + HEADER + "\n" + "\n".join(ROWS) + "\n",
    "short_row": HEADER + "\n" + "\n".join(ROWS) + "\nP03,baseline,tug,12\n",
    "long_row": HEADER + "\n" + "\n".join(ROWS) + "\nP03,baseline,tug,12,baseline,-1,0,,s,x\n",
    "long_empty_row": HEADER + "\n" + "\n".join(ROWS) + "\nP03,baseline,tug,12,baseline,-1,0,,s,\n",
    "ragged_equal_total": HEADER + "\n" + ROWS[0] + ",x\n" + ROWS[1][:-2] + "\n",
    "duplicate_header": HEADER.replace("unit", "value") + "\n" + "\n".join(ROWS) + "\n",
    "empty_header_name": HEADER + ",\n" + "\n".join(r + "," for r in ROWS) + "\n",
    "empty_header_name_with_values": HEADER + ",\n" + "\n".join(r + ",x" for r in ROWS) + "\n",
    "quoted_delimiter": HEADER + "\n" + "\n".join(ROWS) + '\nP03,baseline,tug,"12,5",,,,,\n',
    "quoted_quote": HEADER + "\n" + "\n".join(ROWS) + '\nP03,"base""line",tug,12,,,,,\n',
    "quoted_newline": HEADER + "\n" + "\n".join(ROWS) + '\nP03,"base\nline",tug,12,,,,,\n',
    "stray_quote": HEADER + "\n" + "\n".join(ROWS) + '\nP03,baseline,tug,"12,,,,,\nP04,x\n',
    "quote_inside_cell": HEADER + "\n" + "\n".join(ROWS) + '\nP03,base"line",tug,12,,,,,\n',
    "quote_after_space": HEADER + "\n" + "\n".join(ROWS) + '\nP03, "baseline",tug,12,,,,,\n',
    "text_after_quote": HEADER + "\n" + "\n".join(ROWS) + '\nP03,"base"line,tug,12,,,,,\n',
    "lone_cr": HEADER + "\r" + "\r".join(ROWS) + "\r",
    "cr_inside_line": HEADER + "\n" + "\n".join(ROWS) + "\nP03,base\rline,tug,12,,,,,\n",
    "header_only": HEADER + "\n",
    "single_column": "patient_id\nP01\nP02\n",
    "nul": HEADER + "\n" + "\n".join(ROWS).replace("P02", "P\x0002") + "\n",
}


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_files_take_the_fast_path_and_read_the_same(name, tmp_path):
    f = tmp_path / ("obs.tsv" if name == "tabs" else "obs.csv")
    f.write_bytes(PLAIN[name].encode("utf-8"))
    assert _accepted(f)
    _assert_same_read(f)


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_other_files_read_the_same(name, tmp_path):
    f = tmp_path / "obs.csv"
    f.write_bytes(DECLINED[name].encode("utf-8"))
    if name not in ("nul",):
        assert not _accepted(f)
    _assert_same_read(f)


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "utf-16-le"])
def test_other_encodings_read_the_same(encoding, tmp_path):
    f = tmp_path / "obs.csv"
    f.write_bytes(PLAIN["unicode_text"].encode(encoding))
    _assert_same_read(f)


def test_spaces_are_those_str_strip_removes():
    assert SPACES == "".join(chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace())


TOKENS = ["P01", "tug", "1+", "12,5", " 14.2", "14.2 ", "\t3", "a b", "", "", "x\xa0", '"q"',
          '" q "', '"a,b"', '"', 'a"b', "NA", "\u2003", "é", ";", "|", "\x0b", "\x1c", "5"]


@pytest.mark.parametrize("seed", range(60))
def test_random_files_read_the_same(seed, tmp_path):
    rng = np.random.default_rng(seed)
    delim = rng.choice([",", ";", "\t", "|"])
    end = rng.choice(["\n", "\r\n", "\n", "\r"], p=[0.45, 0.35, 0.15, 0.05])
    width = int(rng.integers(2, 6))
    header = ["patient_id", "visit", "measure", "value", "side"][:width]
    lines = [delim.join(header)]
    clean = rng.random() < 0.5  # half the files plain: the fast path must accept some
    for _ in range(int(rng.integers(1, 15))):
        n = width if clean or rng.random() < 0.9 else int(rng.integers(0, width + 2))
        pool = TOKENS[:3] + ["7", "x y"] if clean else TOKENS
        lines.append(delim.join(str(rng.choice(pool)) for _ in range(n)))
    text = end.join(lines) + (end if rng.random() < 0.8 else "")
    f = tmp_path / "obs.csv"
    f.write_bytes(("\ufeff" if rng.random() < 0.2 else "").encode() + text.encode("utf-8"))
    _assert_same_read(f)


# ------------------------------------------------------------------------- validation

def _validate_both(raw, problems, file="obs.csv", strict=False):
    out = []
    for fn in (validate_observations, old_validation.old_validate_observations):
        try:
            out.append(fn(raw.copy(), codebook=CB, file=file, problems=problems, strict=strict))
        except DataValidationError as exc:
            out.append(exc.problems)
    return out


def _assert_same_validation(new, old) -> None:
    if isinstance(old, list):
        assert isinstance(new, list), "the old path refused the data, the new one accepted it"
        assert new == old
        return
    assert not isinstance(new, list), new
    pd.testing.assert_frame_equal(new.observations, old.observations, check_exact=True)
    assert new.problems == old.problems
    pd.testing.assert_frame_equal(new.excluded, old.excluded, check_exact=True)
    pd.testing.assert_frame_equal(new.no_baseline, old.no_baseline, check_exact=True)
    assert new.counts == old.counts
    assert new.visit_order == old.visit_order


def _observation_file(path: Path) -> Path | None:
    if path.is_dir():
        found = [p for p in path.iterdir() if p.stem == "observations"]
        return found[0] if len(found) == 1 else None
    return path


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_corpus_validates_the_same(case, tmp_path):
    path = _observation_file(case.build(tmp_path))
    if path is None or not path.is_file():
        return
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        _assert_same_read(path)
    dictionary = tmp_path / case.dictionary if case.dictionary else None
    raw, problems = read_observations(path, codebook=CB, redcap_dictionary=dictionary)
    for strict in (False, True):
        _assert_same_validation(*_validate_both(raw, problems, path.name, strict))


@pytest.mark.parametrize("name", ["case_series", "case_report"])
def test_examples_validate_the_same(name):
    path = ROOT / "data" / "example" / name / "observations.csv"
    if not path.is_file():
        pytest.skip("example data not written")
    _assert_same_read(path)
    raw, problems = read_observations(path, codebook=CB)
    _assert_same_validation(*_validate_both(raw, problems))


SMALL = [HEADER] + ROWS + [
    "P01,ti_d2,tug,13.0,test_infusion,2,50,,s",
    "P01,post_m12,tug,10.9,post_implant,365,110,,s",
    "P02,ti_d2,tug,16.0,test_infusion,2,50,,s",
    "P02,post_m12,tug,14.9,post_implant,365,95,,s",
    "P03,baseline,tug,21.0,baseline,-5,,,s",
    "P03,post_m6,tug,17.5,,181,100,,s",
    "P03,baseline,mas_knee_ext,2,baseline,-5,0,R,",
    "P03,post_m6,mas_knee_ext,1+,post_implant,181,100,R,",
    "P03,baseline,gait_speed,70,baseline,-5,0,,cm/s",
    "P03,post_m6,gait_speed,0.74,post_implant,181,100,,m/s"]
CORRUPT = {  # column -> replacement cells
    0: ["", "n/a", " P04 ", "P01", "NA"],
    1: ["", "unknown", "m6", "week 1", "baseline", "post_m6", " ti_d2"],
    2: ["tugg", "TUG", "Gait Speed", "", "mas_knee_ext", "sprs_total"],
    3: ["", "n/a", "12,5", ">30", "abc", "12 s", "-3", "999", "150", "1.5", "1+", "4", "inf",
        " 14.0 ", "1e1", "0", "99"],
    4: ["", "bogus", "TI", "post", "baseline", "Post Implant"],
    5: ["", "x", "1,5", "40000", "-3", "nan", "inf", "1e999"],
    6: ["", "-5", "5000", "abc", "0", "1,5", "-inf", "1_0"],
    7: ["", "L", "R", "X", "left"],
    8: ["", "s", "cm/s", "m/s", "furlongs", "µV"],
}

NOTED = {  # replacements accepted with a note, or without one
    0: ["P04", "P05"], 1: ["m6", "week 1", "bl"], 2: ["TUG", "gait speed"],
    3: ["12,5", "n/a", "14.0", "1+", "0", "150", "1.5", "9.9"], 4: ["", "TI", "post"],
    5: ["", "1,5", "40000"], 6: ["", "5000", "1,5"], 7: ["", "left"], 8: ["", "cm/s"],
}


def _corrupted(rng) -> str:
    lines = [ln.split(",") for ln in SMALL]
    body = lines[1:]
    for _ in range(int(rng.choice([0, 0, 1, 1, 2, 5]))):  # mostly accepted files
        row = body[int(rng.integers(len(body)))]
        c = int(rng.integers(9))
        row[c] = str(rng.choice(CORRUPT[c] if rng.random() < 0.5 else NOTED[c]))
    for _ in range(int(rng.choice([0, 0, 1, 2]))):  # duplicates, agreeing or not
        row = list(body[int(rng.integers(len(body)))])
        if rng.random() < 0.5:
            row[3] = str(rng.choice(["14.2", "1", "0.9"]))
        body.insert(int(rng.integers(len(body) + 1)), row)
    if rng.random() < 0.2:  # ten times a value, or a far outlier
        row = body[int(rng.integers(len(body)))]
        row[3] = row[3] + "0"
    if rng.random() < 0.15:  # phases inferred from the visits
        for row in body:
            row[4] = ""
    if rng.random() < 0.1:
        del body[int(rng.integers(len(body)))][-1]  # a short row
    text = "\n".join(",".join(r) for r in [lines[0]] + body) + "\n"
    if rng.random() < 0.1:
        text = text.replace("\n", "\n\n", 1)  # a blank row
    if rng.random() < 0.2:
        text = text.replace(",", ";").replace(".", ",")
    return text


@pytest.mark.parametrize("seed", range(100))
def test_randomly_corrupted_files_validate_the_same(seed, tmp_path):
    rng = np.random.default_rng(1000 + seed)
    f = tmp_path / "obs.csv"
    f.write_text(_corrupted(rng), encoding="utf-8")
    _assert_same_read(f)
    raw, problems = read_observations(f, codebook=CB)
    _assert_same_validation(*_validate_both(raw, problems, strict=bool(seed % 2)))


def test_wide_file_with_repeated_rows_validates_the_same(tmp_path):
    f = tmp_path / "wide.csv"
    f.write_text("patient_id,tug_bl,tug_ti,tug_m6,tug_m12,gait_speed_bl,gait_speed_m6\n"
                 "P01,15.2,14,152,11,0.8,0.9\nP02,18,17,15.5,16,0.7,7.5\nP03,999,20,19,18,,\n"
                 "P01,15.2,14,15,11,0.8,0.9\n")
    raw, problems = read_observations(f, codebook=CB)
    _assert_same_validation(*_validate_both(raw, problems, "wide.csv"))


@pytest.mark.parametrize("seed", range(200))
def test_plausibility_agrees_with_the_record_by_record_checks(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 120))
    measures = ["tug", "gait_speed", "mas_knee_ext", "knee_flex_lr", "six_mwt"]
    rows = []
    for i in range(n):
        m = str(rng.choice(measures))
        base = {"tug": 15.0, "gait_speed": 0.9, "mas_knee_ext": 1.0, "knee_flex_lr": 5.0,
                "six_mwt": 400.0}[m]
        v = float(np.round(base * rng.lognormal(0, 0.15), int(rng.integers(0, 3))))
        r = rng.random()
        if r < 0.05:
            v *= 10
        elif r < 0.1:
            v /= 10
        elif r < 0.13:
            v = float(rng.choice([99.0, 999.0, -1.0, -9.0]))
        elif r < 0.16:
            v = base * 3
        elif r < 0.18:
            v = 0.0
        rows.append({"patient_id": f"P{int(rng.integers(1, 5))}", "measure": m,
                     "side": str(rng.choice(["", "L", "R"])) if m == "knee_flex_lr" else "",
                     "value": v, "day": float(rng.choice([-3.0, 2.0, 180.0, 40000.0],
                                                         p=[0.4, 0.3, 0.28, 0.02])),
                     "phase": str(rng.choice(["baseline", "test_infusion", "post_implant"],
                                             p=[0.6, 0.2, 0.2])),
                     # rows of a wide file share their spreadsheet row
                     "_row": int(rng.integers(2, 2 + max(n // 3, 1))) if seed % 3 == 0 else i + 2,
                     "_src": "value"})
    old = old_validation.plausibility_problems(rows, codebook=CB, file="obs.csv")
    columns = {k: np.array([r[k] for r in rows], dtype=np.float64 if k in ("value", "day")
                           else object) for k in rows[0]}
    assert plausibility_problems(columns, codebook=CB, file="obs.csv") == old
    assert plausibility_problems(rows, codebook=CB, file="obs.csv") == old


def test_every_single_cell_corruption_validates_the_same(tmp_path):
    lines = [ln.split(",") for ln in SMALL]
    k = 0
    for c in range(9):
        for token in CORRUPT[c] + NOTED[c]:
            body = [list(r) for r in lines[1:]]
            body[k % len(body)][c] = token
            k += 1
            f = tmp_path / f"obs{k}.csv"
            f.write_text("\n".join(",".join(r) for r in [lines[0]] + body) + "\n")
            raw, problems = read_observations(f, codebook=CB)
            _assert_same_validation(*_validate_both(raw, problems, f.name))
