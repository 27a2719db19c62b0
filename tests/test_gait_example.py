"""The bundled example gait files equal what the simulator writes, and show the seed's finding."""

from __future__ import annotations

import pandas as pd

from analysis.gait.importer import import_c3d
from analysis.gait.norms import read_norms
from analysis.gait.simulate import write_example_gait
from analysis.paths import EXAMPLES

GAIT = EXAMPLES / "case_report" / "gait"


def test_example_gait_files_equal_what_the_code_writes(tmp_path):
    for path in write_example_gait(tmp_path):
        bundled = GAIT / path.name
        if path.suffix == ".c3d":
            assert path.read_bytes() == bundled.read_bytes(), path.name
        else:
            pd.testing.assert_frame_equal(pd.read_parquet(path), pd.read_parquet(bundled))


def test_example_reproduces_more_knee_flexion_in_loading_response_after_implantation():
    norms = read_norms(GAIT / "norms.parquet")
    values = {}
    for visit in ("bl_d5", "post_m3"):
        imp = import_c3d(sorted(GAIT.glob(f"{visit}_trial*.c3d")), patient_id="P01", visit=visit,
                         norms=norms)
        values[visit] = imp.observations.set_index(["measure", "side"])["value"]
    for side in "LR":
        assert values["post_m3"][("knee_flex_lr", side)] - values["bl_d5"][("knee_flex_lr", side)] > 5
    ratio = values["post_m3"][("gait_lab_speed", "")] / values["bl_d5"][("gait_lab_speed", "")]
    assert 1.7 < ratio < 2.3  # walking speed about doubled
    assert values["post_m3"][("gps", "")] < values["bl_d5"][("gps", "")]
