"""The column mapping (mapping.yaml): proposed by `itb init`, read beside the data or with
--mapping, fixed by editing one line, recorded in the manifest; and the command-line
conventions around it (-q/-v, exit 2 without a command, paths and file modes, JSON layout)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from analysis.cli import _parser, main
from analysis.data.codebook import load_codebook
from analysis.data.mapping_file import load_mapping
from analysis.data.validate import load_dataset, validate_path
from analysis.errors import DataValidationError, MappingError

WIDE = ("ITB Auswertung\n"
        "Pat-ID;Alter;Geschlecht;TUG_bl;TUG_6m;Gangtempo bl;Bemerkung\n"
        "A1;51;m;14,0;11,0;0,4;gut\nA2;47;w;12,0;10,5;0,6;\n")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    f = tmp_path / "klinik.csv"
    f.write_text(WIDE)
    return f


def test_init_writes_the_mapping_beside_the_data(data, capsys):
    assert main(["init", str(data)]) == 0
    out = data.parent / "mapping.yaml"
    assert capsys.readouterr().out.strip() == str(out.resolve())
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~_umask()
    text = out.read_text()
    assert '"Pat-ID": {as: patient_id' in text and '"Alter": {as: age' in text
    assert "header_row: 2" in text and "questions:" in text and "Gangtempo bl" in text
    m = load_mapping(out, load_codebook())
    assert m.column("TUG_6m").as_ == "tug_post_m6" and m.column("Bemerkung").as_ == "ignore"
    assert m.visits["post_m6"]["phase"] == "post_implant"
    assert main(["init", str(data)]) == 1          # an existing mapping is kept
    assert "--force" in capsys.readouterr().err
    assert main(["init", str(data), "--force", "-q"]) == 0


def test_editing_one_line_fixes_one_column(data):
    rep = validate_path(data)   # 'Gangtempo bl' is not recognised: dropped with a note
    assert "gait_speed" not in set(rep.observations["measure"])
    assert main(["init", str(data)]) == 0
    path = data.parent / "mapping.yaml"
    lines = path.read_text().splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith('  "Gangtempo bl"'))
    lines[i] = '  "Gangtempo bl": {as: gait_speed_baseline}'
    path.write_text("\n".join(lines) + "\n")
    ds = load_dataset(data)
    assert "gait_speed" in set(ds.observations["measure"])
    assert str(path) in ds.report.files
    assert ds.report.mapping["columns"]["Gangtempo bl"]["as"] == "gait_speed_baseline"


def test_a_mapping_given_with_mapping_option(data, tmp_path):
    other = tmp_path / "elsewhere.yaml"
    other.write_text("mapping_version: 1\nfile: klinik.csv\ncolumns:\n"
                     "  Gangtempo bl: {as: gait_speed_baseline}\n")
    rep = validate_path(data, mapping=other)
    assert "gait_speed" in set(rep.observations["measure"])


def test_a_mapping_beside_the_data_for_another_file_is_not_used(data):
    (data.parent / "mapping.yaml").write_text(
        "mapping_version: 1\nfile: other.xlsx\ncolumns:\n  Gangtempo bl: {as: gait_speed_baseline}\n")
    rep = validate_path(data)
    assert "gait_speed" not in set(rep.observations["measure"])
    assert any("not this file" in p.rule for p in rep.problems)


def test_every_problem_of_a_mapping_file_at_once(data, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("mapping_version: 1\nfile: klinik.csv\ncolumns:\n"
                   "  Alter: {as: agee}\n  TUG_bl: {as: tugg_bl}\n"
                   "visits:\n  post_m6: {phase: later}\n")
    with pytest.raises(MappingError) as exc:
        load_mapping(bad, load_codebook())
    assert str(exc.value).count("\n- ") == 3
    with pytest.raises(DataValidationError) as exc:
        validate_path(data, mapping=bad)
    assert len([p for p in exc.value.problems if p.file == "bad.yaml"]) == 3


def test_mapping_is_recorded_in_the_manifest(tmp_path):
    d = tmp_path / "ds"
    d.mkdir()
    (d / "observations.csv").write_text(
        "Pat-ID,TUG bl,TUG 6m\n" + "".join(f"P{i},{14 + i % 3},{11 + i % 2}\n" for i in range(6)))
    from analysis.api import analyze

    _, run = analyze(d)
    assert run.manifest["mapping"]["columns"]["Pat-ID"]["as"] == "patient_id"


def test_redcap_dictionary_option_on_every_command():
    parser = _parser()
    for argv in (["analyze", "x", "--out", "o"], ["report", "--data", "x"], ["init", "x"],
                 ["validate", "x"]):
        args = parser.parse_args(argv + ["--redcap-dictionary", "d.csv", "--mapping", "m.yaml"]
                                 if argv[0] != "init" else argv + ["--redcap-dictionary", "d.csv"])
        assert args.redcap_dictionary == Path("d.csv")


def test_quiet_and_verbose_on_every_command():
    parser = _parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        opts = {o for a in p._actions for o in a.option_strings}
        assert {"-q", "-v"} <= opts, name


def test_itb_alone_prints_usage_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err


def test_quiet_validate_prints_nothing_on_success(data, capsys):
    assert main(["validate", str(data), "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "validating" not in captured.err


def test_validation_json_has_one_layout_whatever_the_verdict(data, tmp_path, capsys):
    assert main(["validate", str(data), "--format", "json"]) == 0
    good = json.loads(capsys.readouterr().out)
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,visit,measure,value\nP1,bl,tug,-3\n")
    assert main(["validate", str(bad), "--format", "json"]) == 1
    refused = json.loads(capsys.readouterr().out)
    assert good.keys() == refused.keys()
    assert (good["schema"], good["schema_version"], good["valid"]) == ("itb-validation", "1.0",
                                                                       True)
    assert refused["valid"] is False and refused["errors"][0]["row"] == 2


def test_a_wrong_patient_is_refused_before_any_rendering(data, tmp_path, capsys):
    code = main(["report", "--data", str(data), "--patient", "A3", "--out", str(tmp_path / "o")])
    assert code == 1 and "no such patient" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_derived_files_are_printed_and_readable_by_others(data, tmp_path, capsys):
    out = tmp_path / "derived"
    assert main(["validate", str(data), "-q", "--write-derived", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert len(printed) == 3 and all(Path(p).is_absolute() for p in printed)
    for p in printed:
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_every_configuration_problem_in_one_pass_one_per_line(data, tmp_path, capsys):
    d = tmp_path / "ds"
    d.mkdir()
    (d / "observations.csv").write_text(data.read_text())
    (d / "study.yaml").write_text("df_methd: x\nbaseline: first2\nlmm: {slope: 1}\n")
    assert main(["analyze", str(d), "--out", str(tmp_path / "out")]) == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("itb: ")]
    assert "3 problem(s)" in err[0] and len(err) == 4
    assert any("df_method" in ln for ln in err) and any("lmm.slope" in ln for ln in err)


def test_a_measure_in_two_holm_families_is_refused(data, tmp_path):
    d = tmp_path / "ds"
    d.mkdir()
    (d / "observations.csv").write_text(data.read_text())
    (d / "study.yaml").write_text("families: {gait: [tug], mobility: [tug]}\n")
    with pytest.raises(DataValidationError) as exc:
        validate_path(d)
    assert any("two families" in p.rule for p in exc.value.problems)


def test_relaxed_ages_are_aggregated_and_relax_reaches_analyze(tmp_path):
    d = tmp_path / "ds"
    d.mkdir()
    (d / "observations.csv").write_text(
        "Pat-ID,Alter,TUG bl,TUG 6m\n" + "".join(f"P{i},{50 + 10 * i},{14 + i % 3},{11 + i % 2}\n"
                                                for i in range(5)))
    with pytest.raises(DataValidationError):
        validate_path(d)
    ds = load_dataset(d, relax=["age_over_89"])
    assert ds.patients.set_index("patient_id").loc["P4", "age"] == 90.0
    from analysis.api import analyze

    _, run = analyze(d, relax=["age_over_89"])
    assert run.manifest["run"]["relax"] == ["age_over_89"]
    assert "--relax age_over_89" in run.manifest["command"]
