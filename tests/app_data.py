"""Files the app's tests upload: a messy clinic sheet that needs one mapping edit, and a
malformed one (shared by tests/test_app.py and tests/test_app_browser.py)."""

from __future__ import annotations

from pathlib import Path

#: Title row, German names, decimal commas, a remark column; 'Gangtempo bl' is recognised by
#: no rule, so gait speed has no baseline until its mapping line says gait_speed_baseline.
MESSY = ("ITB Auswertung Klinik, Stand 03/2024\n"
         "Pat-ID;Alter;Geschlecht;TUG_bl;TUG_6m;Gangtempo bl;Gehgeschwindigkeit 6m;Bemerkung\n"
         "A1;51;m;14,0;11,0;0,40;0,55;gut\n"
         "A2;47;w;12,0;10,5;0,60;0,70;\n"
         "A3;39;w;16,5;12,0;0,35;0,52;Pumpe ok\n"
         "A4;62;m;13,2;12,9;0,52;0,58;\n"
         "A5;55;w;18,0;14,1;0,30;0,41;\n")
#: The line the user edits, and what to.
EDIT = ("Gangtempo bl", "gait_speed_baseline")

#: A tidy file with a text value, an unknown measure and a missing patient id.
MALFORMED = ("patient_id,visit,measure,value\n"
             "P01,baseline,tug,14.2\n"
             "P01,post_m6,tug,fast\n"
             ",baseline,tug,12.0\n"
             "P02,baseline,tugg,12.0\n")


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
