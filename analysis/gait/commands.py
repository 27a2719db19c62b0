"""The ``itb gait`` commands (argparse wiring; :mod:`analysis.cli` calls :func:`add_commands`).

``itb gait import FILE.c3d ... --patient ID --visit VISIT [--phase PHASE] [--day DAY]
[--norms NORMS] [--subject NAME] [--out DIR]`` and ``itb gait norms build CONTROLS_DIR --out norms.parquet
[--speed-classes 0.8,1.2]``. Problems in the files raise :class:`~analysis.errors.ITBError`
subclasses, which the command line prints without a traceback (exit status 1).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from analysis.errors import InvalidInputError
from analysis.text import say
from analysis.vocabulary import PHASES


def add_commands(subparsers) -> None:
    """Add ``gait`` and its subcommands to the ``itb`` subparsers.

    Examples
    --------
    >>> p = argparse.ArgumentParser(prog="itb")
    >>> add_commands(p.add_subparsers())
    >>> p.parse_args(["gait", "import", "a.c3d", "--patient", "P01", "--visit", "bl"]).visit
    'bl'
    """
    gait = subparsers.add_parser("gait", help="motion-lab gait: import C3D files, build norms",
                                 description="Import C3D gait trials (ezc3d) into gait-cycle "
                                 "curves and tidy observations, or build normative curves.")
    sub = gait.add_subparsers(title="gait commands", metavar="COMMAND")
    gait.set_defaults(func=lambda args: (gait.print_help(), 0)[1])

    p = sub.add_parser("import", help="C3D files of one visit -> curves.parquet, observations.csv",
                       description="Read the C3D trials of one patient visit; write "
                       "curves.parquet, cycles.csv, observations.csv, import_notes.txt and "
                       "gait_results.csv (rows of the results table) to "
                       "--out. No text from the C3D files (subject names, descriptions) is "
                       "copied.")
    p.add_argument("files", type=Path, nargs="+", metavar="FILE.c3d", help="C3D trials")
    p.add_argument("--patient", required=True, help="pseudonymous patient code (e.g. P01)")
    p.add_argument("--visit", required=True, help="visit label (e.g. baseline, post_m3)")
    p.add_argument("--phase", choices=PHASES, help="phase of the visit")
    p.add_argument("--day", type=float, help="days relative to the start of the test infusion")
    p.add_argument("--norms", type=Path, help="normative table (adds GVS and GPS)")
    p.add_argument("--subject", metavar="NAME",
                   help="the subject to read from C3D files holding several (its SUBJECTS:NAMES "
                   "entry or point-label prefix); never written to an output")
    p.add_argument("--out", type=Path, default=Path("gait"), help="output directory (default gait)")
    p.add_argument("--seed", type=int, default=2015,
                   help="seed of the permutation statistics in gait_results.csv (default 2015)")
    _follow_links(p)
    p.set_defaults(func=_import)

    norms = sub.add_parser("norms", help="normative references",
                           description="Build normative gait curves.")
    nsub = norms.add_subparsers(title="norms commands", metavar="COMMAND")
    norms.set_defaults(func=lambda args: (norms.print_help(), 0)[1])
    p = nsub.add_parser("build", help="build norms.parquet from a folder of control C3D files",
                        description="Each sub-folder of CONTROLS_DIR is one control (all its "
                        "C3D files); each C3D file directly in it is one control.")
    p.add_argument("controls", type=Path, metavar="CONTROLS_DIR")
    p.add_argument("--out", type=Path, required=True, help="output file (.parquet or .csv)")
    p.add_argument("--speed-classes", default="", metavar="V1,V2",
                   help="walking-speed class limits in m/s, comma-separated (default: none)")
    _follow_links(p)
    p.set_defaults(func=_norms_build)


def _follow_links(p: argparse.ArgumentParser) -> None:
    p.add_argument("--follow-links", action="store_true",
                   help="follow symbolic links that lead out of the folder holding the files "
                   "(refused by default)")


def _import(args: argparse.Namespace) -> int:
    from analysis.gait.importer import import_c3d, write_import
    from analysis.gait.norms import read_norms
    from analysis.gait.results import gait_results
    from analysis.paths import check_file_inside

    for f in [*args.files, *([args.norms] if args.norms else [])]:
        check_file_inside(f, follow_links=args.follow_links)
    norms = read_norms(args.norms) if args.norms else None
    result = import_c3d(args.files, patient_id=args.patient, visit=args.visit, phase=args.phase,
                        day=args.day, norms=norms, subject=args.subject)
    rows = gait_results({args.visit: result}, norms, seed=args.seed,
                        norms_name=args.norms.name if args.norms else "--norms")
    for path in write_import(result, args.out, results=rows):
        say(Path(path).resolve())  # as every command prints a written file
    for note in result.notes:
        say(f"note: {note}", file=sys.stderr)
    return 0


def _norms_build(args: argparse.Namespace) -> int:
    from analysis.gait.importer import build_norms

    try:
        bins = [float(x) for x in args.speed_classes.split(",") if x.strip()]
    except ValueError:
        raise InvalidInputError(f"--speed-classes: {args.speed_classes!r} is not a comma-separated "
                                "list of speeds in m/s (e.g. 0.8,1.2)") from None
    if args.out.suffix.lower() not in (".parquet", ".csv"):
        raise InvalidInputError(f"--out: {args.out.name} must end in .parquet or .csv")
    table = build_norms(args.controls, speed_bins=bins, follow_links=args.follow_links)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    if args.out.suffix.lower() == ".parquet":
        table.to_parquet(tmp, index=False)
    else:
        table.to_csv(tmp, index=False, lineterminator="\n")
    os.replace(tmp, args.out)
    say(args.out.resolve())  # as every command prints a written file
    return 0
