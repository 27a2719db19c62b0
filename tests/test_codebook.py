"""Tests of analysis.data.codebook: the built-in file, its validation and users' extra files."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from analysis.data.codebook import BUILTIN_PATH, Codebook, Measure, load_codebook
from analysis.errors import CodebookError

ROOT = Path(__file__).resolve().parent.parent
MUSCLES = ["hip_flex", "hip_ext", "hip_add", "hip_abd", "knee_ext", "knee_flex",
           "ankle_pf", "ankle_df"]
EMG_MUSCLES = ["soleus", "gastrocnemius", "tibialis_anterior", "rectus_femoris",
               "vastus_lateralis", "biceps_femoris", "semitendinosus", "adductor_longus"]


def test_package_copy_is_a_symlink_to_data_codebook():
    link = ROOT / "analysis" / "data" / "codebook.yaml"
    assert link.is_symlink()
    assert link.resolve() == (ROOT / "data" / "codebook.yaml").resolve()
    assert BUILTIN_PATH.resolve() == (ROOT / "data" / "codebook.yaml").resolve()


def test_contract_keys_present():
    cb = load_codebook()
    for key in ["gait_speed", "gait_speed_fast", "tug", "six_mwt", "knee_flex_lr",
                "sprs_total", "pgic"]:
        assert key in cb
    for m in MUSCLES:
        assert cb.measure(f"mas_{m}").sided and cb.measure(f"mrc_{m}").sided
    for m in EMG_MUSCLES:
        for s in ["rms", "mav", "iemg", "cocontraction"]:
            assert f"emg_{m}_{s}" in cb
    assert "dose_ug_day" not in cb
    assert cb.columns["dose_ug_day"]["conversions"] == {"mg/day": 1000.0}


def test_mas_levels_and_codes():
    mas = load_codebook().measure("mas_knee_ext")
    assert mas.kind == "ordinal" and mas.better == "lower"
    assert mas.levels == ("0", "1", "1+", "2", "3", "4")
    assert mas.codes == (0.0, 1.0, 1.5, 2.0, 3.0, 4.0)
    assert mas.code("1+") == 1.5 and mas.level_of(1.5) == "1+"
    assert "1.5" in mas.source and "ordinal" in mas.source
    with pytest.raises(KeyError):
        mas.code("5")


def test_mrc_aliases_map_to_integer_grades():
    mrc = load_codebook().measure("mrc_ankle_df")
    assert mrc.levels == tuple("012345") and mrc.better == "higher"
    assert mrc.code("4+") == 4.0 and mrc.code("4-") == 4.0


def test_units_and_conversions_are_correct():
    cb = load_codebook()
    gs = cb.measure("gait_speed")
    assert gs.unit == "m/s" and gs.conversions["cm/s"] == 0.01
    # 3.6 km/h is exactly 1 m/s (closed form)
    assert math.isclose(3.6 * gs.conversions["km/h"], 1.0, rel_tol=1e-15)
    assert cb.measure("six_mwt").conversions["ft"] == 0.3048  # international foot, exact
    assert cb.measure("tug").unit == "s" and cb.measure("tug").better == "lower"
    assert cb.measure("pgic").better == "lower" and cb.measure("pgic").minimum == 1
    assert cb.measure("sprs_total").maximum == 52 and cb.measure("sprs_total").integer


def test_published_numbers_match_clinical_notes():
    # values transcribed from /work/shared/clinical.md; each must carry its population
    cb = load_codebook()
    gs = cb.measure("gait_speed")
    assert (gs.mcid, gs.mdc, gs.sem, gs.reliability) == (0.10, 0.17, 0.06, 0.97)
    assert "Bohannon & Glenney" in gs.mcid_source and "neurological" in gs.mdc_source
    tug = cb.measure("tug")
    assert tug.mdc == 2.9 and "stroke" in tug.mdc_source
    # SEM derived from the SRD: SRD = 1.96 * sqrt(2) * SEM
    assert math.isclose(tug.sem, 2.9 / (1.96 * math.sqrt(2)), abs_tol=0.005)
    assert cb.measure("six_mwt").mcid == 19.7
    assert cb.measure("sprs_total").reliability == 0.99


def test_every_null_number_says_why_and_every_number_has_a_source():
    df = load_codebook().to_frame()
    pairs = {"mcid": "mcid_source", "mdc": "mdc_source", "reliability": "reliability_source",
             "sd_ref": "sd_ref_source", "norm_mean": "norm_source"}
    for src in pairs.values():
        empty = df[src].str.strip() == ""
        assert not empty.any(), df.loc[empty, "key"].tolist()


def test_suggest_and_unknown_key_message():
    cb = load_codebook()
    assert cb.suggest("gait_sped") == "gait_speed"
    assert cb.suggest("Gait Speed") == "gait_speed"
    assert cb.suggest("MAS knee ext") == "mas_knee_ext"
    assert cb.suggest("zzzzzz") is None
    with pytest.raises(CodebookError, match="did you mean 'tug'"):
        cb.measure("tugg")


def test_to_frame_one_row_per_measure():
    cb = load_codebook()
    df = cb.to_frame()
    assert len(df) == len(cb.keys()) == 7 + 2 * 8 + 4 * 8 + 8 + 9  # + gait: 8 scalars, 9 GVS
    assert df["key"].is_unique
    assert df.loc[df.key == "mas_hip_add", "codes"].item() == "0, 1, 1.5, 2, 3, 4"


def _write(tmp_path, doc) -> Path:
    p = tmp_path / "extra.yaml"
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return p


GOOD = {"label": "Berg Balance Scale", "unit": "points", "kind": "continuous",
        "minimum": 0, "maximum": 56, "better": "higher", "mcid": 5,
        "mcid_source": "stroke, some paper"}


def test_extra_codebook_adds_measures(tmp_path):
    p = _write(tmp_path, {"measures": {"bbs": GOOD}, "visit_aliases": {"w2": "post_w2"}})
    cb = load_codebook(extra=p)
    assert "bbs" in cb and cb.measure("bbs").mcid == 5.0 and cb.measure("bbs").origin == str(p)
    assert cb.visit_aliases["w2"] == "post_w2" and "gait_speed" in cb
    assert "bbs" not in load_codebook()  # the built-in is not changed


def test_extra_codebook_template_expands_over_builtin_vocabulary(tmp_path):
    entry = {"label": "Tardieu angle, {muscle_group}", "unit": "deg", "kind": "continuous",
             "better": "higher", "sided": True}
    cb = load_codebook(extra=_write(tmp_path, {"measures": {"tardieu_{muscle_group}": entry}}))
    assert cb.measure("tardieu_knee_flex").label == "Tardieu angle, knee flexors"


@pytest.mark.parametrize("change, field", [
    ({"kind": "nominal"}, "kind"),
    ({"better": "up"}, "better"),
    ({"minimum": 10, "maximum": 5}, "maximum"),
    ({"mcid_source": ""}, "mcid_source"),
    ({"reliability": 1.4, "reliability_source": "x"}, "reliability"),
    ({"conversions": {"ft": -1}}, "conversions"),
    ({"unitt": "m"}, "unitt"),
    ({"kind": "ordinal"}, "levels"),
    ({"kind": "ordinal", "levels": ["a", "b"], "codes": [2, 1]}, "codes"),
])
def test_invalid_entry_names_entry_and_field(tmp_path, change, field):
    p = _write(tmp_path, {"measures": {"bbs": {**GOOD, **change}}})
    with pytest.raises(CodebookError) as exc:
        load_codebook(extra=p)
    assert "entry 'bbs'" in str(exc.value) and f"field '{field}'" in str(exc.value)
    assert str(p) in str(exc.value)


def test_missing_required_field(tmp_path):
    entry = {k: v for k, v in GOOD.items() if k != "unit"}
    with pytest.raises(CodebookError, match="field 'unit': required"):
        load_codebook(extra=_write(tmp_path, {"measures": {"bbs": entry}}))


def test_redefining_builtin_needs_replaces(tmp_path):
    entry = {**GOOD, "label": "my TUG", "unit": "s", "better": "lower", "maximum": None}
    with pytest.raises(CodebookError, match="already in the built-in codebook"):
        load_codebook(extra=_write(tmp_path, {"measures": {"tug": entry}}))
    cb = load_codebook(extra=_write(tmp_path, {"measures": {"tug": {**entry, "replaces": True}}}))
    assert cb.measure("tug").label == "my TUG"


def test_unknown_placeholder_and_bad_yaml(tmp_path):
    with pytest.raises(CodebookError, match="placeholder"):
        load_codebook(extra=_write(tmp_path, {"measures": {"x_{nope}": GOOD}}))
    bad = tmp_path / "bad.yaml"
    bad.write_text("measures: [unclosed", encoding="utf-8")
    with pytest.raises(CodebookError, match="not valid YAML"):
        load_codebook(extra=bad)
    with pytest.raises(CodebookError, match="does not exist"):
        load_codebook(extra=tmp_path / "missing.yaml")


def test_measure_and_codebook_types():
    cb = load_codebook()
    assert isinstance(cb, Codebook) and isinstance(cb.measure("tug"), Measure)
