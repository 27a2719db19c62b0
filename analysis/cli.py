"""The ``itb`` command line (also ``python -m analysis``).

Every subcommand has ``--help``. Problems in the user's input (data, configuration, codebook,
manifest) print a message naming the file and the fix and exit with status 1, without a
traceback; successful commands exit 0.

Everything printed (results, errors, log lines, warnings) passes through
:func:`analysis.text.visible`: a terminal escape sequence or a bidi control in a measure name,
column header, note or file name is printed as ``<U+001B>``, never sent to the terminal.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import signal
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import analysis
from analysis import limits
from analysis.app.command import add_command as add_app_command
from analysis.data.consistency import CHECKS
from analysis.data.summary import validation_json
from analysis.errors import DataValidationError, ITBError
from analysis.gait import commands as gait_commands
from analysis.paths import REPORTS
from analysis.plan.commands import add_commands as add_plan_commands
from analysis.text import say, visible
from analysis.vocabulary import DF_METHODS, ENGINES
from analysis.vocabulary import REPORT_FORMATS as FORMATS


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0 success; 1 a problem in the input or the environment (bad data, configuration or
    codebook, unreadable or unwritable path, full or read-only disk), printed as one line
    (or, for data, one line per group of problems) without a traceback; 2 a usage error
    (argparse); 1 when interrupted (Ctrl-C or SIGTERM: the command stops through its normal
    clean-up, so temporary files and report kernels are removed and outputs are left whole or
    absent). ``ITB_DEBUG=1`` shows the traceback of an unexpected error.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_usage(sys.stderr)
        say("itb: error: give a command (itb --help lists them)", file=sys.stderr)
        return 2
    _logging(args)
    previous = _stop_on_sigterm()
    shown_warning = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        _check_out(args)
        with limits.overridden(dict(getattr(args, "limits", None) or [])):
            return int(args.func(args) or 0)
    except DataValidationError as exc:
        from analysis.data.summary import render

        say(render(exc.problems), file=sys.stderr)
        return 1
    except ITBError as exc:
        say(f"error: {_problem_lines(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        say("interrupted: nothing more was written; outputs are the previous complete set or "
              "absent", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader of our output went away (e.g. `| head`)
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 1
    except OSError as exc:
        say(f"error: {_os_message(exc)}", file=sys.stderr)
        return 1
    except RecursionError:
        say("error: the input is nested too deeply to be read", file=sys.stderr)
        return 1
    except MemoryError:  # also pyarrow's ArrowMemoryError (a native std::bad_alloc)
        say(f"error: {_MEMORY}", file=sys.stderr)
        return 1
    except Exception as exc:  # last resort: no traceback for users, unless they ask
        if os.environ.get("ITB_DEBUG"):
            raise
        if "bad_alloc" in str(exc) or "out of memory" in str(exc).lower():
            say(f"error: {_MEMORY} ({type(exc).__name__})", file=sys.stderr)
            return 1
        say(f"error: unexpected internal error ({type(exc).__name__}: {_one_line(exc)[:300]}); "
              "please report it, with ITB_DEBUG=1 set to show the traceback", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = shown_warning
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


_MEMORY = ("not enough memory for this input; check its size, or lower the limits that "
           "bound it (--limit max_cells=N, max_file_mb, max_plan_analyses: README, 'Limits')")


def _limit_option(text: str) -> tuple[str, float]:
    try:
        return limits.parse_option(text)
    except limits.LimitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_limit_option(parser: argparse.ArgumentParser) -> None:
    """``--limit NAME=VALUE`` on ``parser`` and every subcommand below it."""
    parser.add_argument("--limit", action="append", dest="limits", type=_limit_option,
                        default=argparse.SUPPRESS, metavar="NAME=VALUE",
                        help="raise (or lower) a limit on the work an input may cause, for "
                        "this run; repeatable (names and defaults: README, 'Limits'; also "
                        "ITB_<NAME> in the environment)")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                _add_limit_option(sub)


LOG = logging.getLogger("itb")


def _logging(args: argparse.Namespace) -> None:
    """Messages about progress go to stderr as log lines ("itb: ..."), whether or not stderr is
    a terminal: -q shows warnings only, -v adds details."""
    level = logging.WARNING if getattr(args, "quiet", False) else (
        logging.DEBUG if getattr(args, "verbose", 0) else logging.INFO)
    LOG.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_VisibleFormatter("itb: %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(level)
    LOG.propagate = False


class _VisibleFormatter(logging.Formatter):
    """Log lines with every hidden character written as ``<U+XXXX>`` (one record, one line)."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record))


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A Python warning (such as a discarded cache entry) printed as a log line: one line,
    through :func:`analysis.text.visible`, without the source line of the library."""
    LOG.warning("warning: %s", message)


def _written(path: str | Path) -> None:
    """Every written file is printed the same way: its absolute path, one per line (stdout)."""
    say(Path(path).resolve())


def _verbosity_options(sub: argparse._SubParsersAction) -> None:
    """-q/--quiet and -v/--verbose on every command."""
    for p in sub.choices.values():
        try:
            p.add_argument("-q", "--quiet", action="store_true",
                           help="print only warnings and errors (and the files written)")
            p.add_argument("-v", "--verbose", action="count", default=0,
                           help="print details (how each column was read, every note)")
        except argparse.ArgumentError:  # a command that defines them itself
            pass


def _stop_on_sigterm():
    """Make SIGTERM (a scheduler or `kill`) stop the command like Ctrl-C: through the clean-up
    of every ``finally`` and context manager, instead of dying half-way. Returns the previous
    handler (None when not in the main thread, where signals cannot be set)."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (e.g. called from a worker)
        return None


def _problem_lines(exc: BaseException) -> str:
    """The message; one that lists problems ("- ..." lines) keeps one problem per line."""
    lines = [ln.rstrip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if len(lines) > 1 and all(ln.lstrip().startswith("- ") for ln in lines[1:]):
        return "\n".join([lines[0]] + ["  " + ln.lstrip() for ln in lines[1:]])
    return _one_line(exc)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if "\n" not in text else text.splitlines()[0] + " " + " ".join(
        ln.strip() for ln in text.splitlines()[1:])


_OS_HINTS = {
    errno.ENOSPC: "the disk is full: free some space and run again",
    errno.EDQUOT: "the disk quota is exceeded: free some space and run again",
    errno.EROFS: "the disk is read-only: choose another output directory (--out)",
    errno.EACCES: "permission denied: choose a path you may read or write",
    errno.EPERM: "permission denied: choose a path you may read or write",
    errno.EEXIST: "a file is in the way: the output path must be a directory",
    errno.ENOTDIR: "a file is in the way: a part of the path is a file, not a directory",
    errno.EISDIR: "the path is a directory, not a file",
    errno.ELOOP: "the path is a symbolic link loop",
    errno.ENOENT: "no such file or directory",
    errno.ENAMETOOLONG: "the path is too long",
}


def _os_message(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else ""
    hint = _OS_HINTS.get(exc.errno or -1, exc.strerror or str(exc))
    return f"{where}: {hint}" if where else hint


def _check_out(args: argparse.Namespace) -> None:
    """An output directory that is an existing file (or below one) is a one-line error."""
    for name in ("out", "write_derived"):
        out = getattr(args, name, None)
        if not isinstance(out, Path):
            continue
        flag = "--" + name.replace("_", "-")
        for part in (out, *out.parents):
            if part.exists() and not part.is_dir():
                raise ITBError(f"{flag} {out}: {part} is a file, not a directory; give a "
                               "directory")
            if part.exists():
                break


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="itb",
        description="Case-series and single-case statistics for intrathecal baclofen studies.",
    )
    parser.add_argument("--version", action="version", version=f"itb {analysis.__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("validate", help="check a data file or dataset directory",
                       description="Validate data against the codebook: exit 0 with a summary, "
                       "or 1 with every problem (file, row, column, value, rule).")
    p.add_argument("path", type=Path, help="data file (CSV, TSV, Excel, SPSS, Stata, Parquet, "
                   "REDCap export, wide layout) or dataset directory")
    p.add_argument("--codebook", type=Path, help="your own codebook YAML (added to the built-in one)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="report format")
    p.add_argument("--write-derived", type=Path, metavar="DIR", nargs="?", const=Path("data/derived"),
                   help="also write the validated tidy data and the exclusions log (default data/derived)")
    p.add_argument("--strict", action="store_true",
                   help="treat plausibility warnings (sentinel codes such as 999, values ten times "
                   "the patient's others, outliers) as errors")
    p.add_argument("--redcap-dictionary", type=Path, metavar="FILE",
                   help="REDCap data dictionary (CSV) mapping coded choices to labels "
                   "(default: *DataDictionary*.csv beside the data)")
    _relax_option(p)
    _mapping_option(p)
    _follow_links_option(p)
    p.set_defaults(func=_validate)

    p = sub.add_parser("init", help="propose how each column of a data file is read (mapping.yaml)",
                       description="Read a data file (or dataset directory), recognise every "
                       "column (patient id, visits, measures, patient attributes; several "
                       "languages) and write mapping.yaml beside it (or to --out): what each "
                       "column is read as and how sure, the visits with their phase, the "
                       "columns ignored and why, and the open questions. validate, analyze and "
                       "report then read it; edit one line to fix one column.")
    p.add_argument("path", type=Path, help="data file or dataset directory")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="where to write the mapping (default: mapping.yaml beside the data)")
    p.add_argument("--force", action="store_true", help="replace an existing mapping file")
    p.add_argument("--codebook", type=Path, help="your own codebook YAML (added to the built-in one)")
    _redcap_option(p)
    _follow_links_option(p)
    p.set_defaults(func=_init)

    p = sub.add_parser("analyze", help="run every applicable analysis and write the results table",
                       description="Write DIR/results.csv, DIR/results.parquet and DIR/manifest.json.")
    p.add_argument("path", type=Path, help="data file or dataset directory")
    _analysis_options(p)
    _cache_options(p)
    p.add_argument("--out", type=Path, required=True,
                   help="output directory (replaced as a set; holds nothing else)")
    p.set_defaults(func=_analyze)

    p = sub.add_parser("report", help="render the reports (HTML, PDF, Word)",
                       description="Render Quarto reports with the Quarto CLI when it is on PATH, "
                       "else with the built-in engine (Jupyter + Pandoc + Typst). Without --data, "
                       "renders both reports on the bundled example data.")
    p.add_argument("--data", type=Path, help="your data file or dataset directory")
    _analysis_options(p)
    p.add_argument("--report", choices=sorted(REPORTS), action="append",
                   help="which report(s); default: both for the examples, else chosen by the "
                   "number of patients (one: case-report)")
    p.add_argument("--patient", help="patient_id for the case report (default: the only or first patient)")
    p.add_argument("--to", default=",".join(FORMATS), help="formats, comma-separated (html,pdf,docx)")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="rendering engine (auto: Quarto if installed)")
    _cache_options(p)
    p.add_argument("--out", type=Path, default=Path("_output"), help="output directory")
    p.set_defaults(func=_report)

    p = sub.add_parser("reproduce", help="re-run recorded analyses and compare every number",
                       description="For each manifest.json under DIR: check results.csv and "
                       "results.parquet against the SHA-256 it records, check the inputs, re-run "
                       "the analysis without cache and compare every number within platform "
                       "tolerance (per statistic; see analysis/run/reproduce.py). Works from any "
                       "working directory. Exit 0 when all agree, 1 otherwise.")
    p.add_argument("dir", type=Path, nargs="?", default=Path("_output"),
                   help="a manifest.json or a directory searched for them (default _output)")
    p.add_argument("--rtol", type=float, default=None,
                   help="relative tolerance for every number, replacing the per-statistic "
                   "platform tolerances (1e-6 closed form, 1e-4 mixed models); smaller tightens")
    p.set_defaults(func=_reproduce)

    p = sub.add_parser("codebook", help="print the codebook of measures",
                       description="Print the codebook (built-in plus --codebook) as CSV or JSON.")
    p.add_argument("--codebook", type=Path, help="your own codebook YAML")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.set_defaults(func=_codebook)

    p = sub.add_parser("dictionary", help="print the results data dictionary",
                       description="Every column of the results table and every value of "
                       "its `analysis` column, with its meaning.")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.set_defaults(func=_dictionary)

    p = sub.add_parser("simulate", help="write a simulated dataset (seeded)",
                       description="Write observations.csv and patients.csv of a simulated series.")
    p.add_argument("--patients", type=int, default=20)
    p.add_argument("--seed", type=int, default=2015)
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.set_defaults(func=_simulate)

    gait_commands.add_commands(sub)
    add_app_command(sub)
    add_plan_commands(sub)
    _add_limit_option(parser)
    _verbosity_options(sub)
    return parser


def _analysis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="study configuration YAML (default: study.yaml beside the data)")
    p.add_argument("--codebook", type=Path, help="your own codebook YAML (added to the built-in one)")
    p.add_argument("--df-method", choices=DF_METHODS, help="mixed-model denominator df (default from the configuration: satterthwaite)")
    _mapping_option(p)
    _redcap_option(p)
    _relax_option(p)
    _follow_links_option(p)


def _relax_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--relax", action="append", choices=CHECKS, default=[], metavar="CHECK",
                   help="report a consistency check as a warning instead of an error (an age "
                   "over 89: aggregated to '90 or over'); repeat for several: "
                   + ", ".join(CHECKS))


def _mapping_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mapping", type=Path, metavar="FILE",
                   help="column mapping (default: mapping.yaml beside the data; see itb init)")


def _redcap_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--redcap-dictionary", type=Path, metavar="FILE",
                   help="REDCap data dictionary (CSV) mapping coded choices to labels "
                   "(default: <PROJECT>_DataDictionary_<date>.csv beside the data)")


def _follow_links_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--follow-links", action="store_true",
                   help="follow symbolic links that lead out of the dataset folder (a data file "
                   "given alone: out of its folder); refused by default")


def _cache_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", type=Path, metavar="DIR",
                   help="where computed tables are cached (default: $ITB_CACHE_DIR, else the "
                   "user cache directory, ~/.cache/itb-analysis)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")


def _cache_dir(args: argparse.Namespace) -> str | Path | None:
    if args.no_cache:
        return None
    return args.cache_dir.resolve() if args.cache_dir else "default"


def _validate(args: argparse.Namespace) -> int:
    from analysis.data.codebook import load_codebook
    from analysis.data.validate import validate_path, write_derived

    book = load_codebook(extra=args.codebook)
    try:
        LOG.info("validating %s", args.path)
        report = validate_path(args.path, codebook=book, strict=args.strict,
                               redcap_dictionary=args.redcap_dictionary,
                               follow_links=args.follow_links, mapping=args.mapping,
                               relax=args.relax)
    except DataValidationError as exc:
        if args.format == "json":
            say(json.dumps(validation_json(exc.problems), indent=2, default=str))
            return 1
        raise
    for name, spec in ((report.mapping or {}).get("columns") or {}).items():
        LOG.debug("column %r read as %s (%s, %s)", name, spec["as"], spec["kind"],
                  spec["confidence"])
    if args.format == "json":
        say(json.dumps(validation_json(report.problems, report), indent=2, default=str))
    elif not args.quiet:
        say(report.summary())
    if args.write_derived is not None:
        path = write_derived(report, out_dir=args.write_derived)
        for name in (path.name, "exclusions.csv", "validation.json"):
            _written(path.parent / name)
    return 0


def _init(args: argparse.Namespace) -> int:
    from analysis.data.codebook import load_codebook
    from analysis.data.intake import default_out, propose_for, write_mapping

    mapping, problems = propose_for(args.path, codebook=load_codebook(extra=args.codebook),
                                    redcap_dictionary=args.redcap_dictionary,
                                    follow_links=args.follow_links)
    LOG.info("%s", mapping.header_reason or "header in row 1")
    for c in mapping.columns:
        LOG.debug("%s -> %s (%s, %s)", c.column, c.as_, c.kind, c.confidence)
    for q in mapping.questions:
        LOG.warning("question: %s", q)
    _written(write_mapping(mapping, args.out or default_out(args.path), force=args.force))
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from analysis.process import tune_for_batch

    tune_for_batch()  # before numpy is imported
    from analysis.run.manifest import output_lock, write_run
    from analysis.run.pipeline import run_analysis

    with output_lock(args.out):  # held for the whole run: a concurrent run is refused at once
        LOG.info("analysing %s", args.path)
        run = run_analysis(args.path, config=args.config, codebook=args.codebook,
                           df_method=args.df_method, cache_dir=_cache_dir(args),
                           progress=sys.stderr.isatty() and not args.quiet,
                           follow_links=args.follow_links, mapping=args.mapping,
                           redcap_dictionary=args.redcap_dictionary, relax=tuple(args.relax))
        LOG.info("writing %s", args.out)
        paths = write_run(run.results, run.manifest, args.out)
    for path in paths:
        _written(path)
    return 0


def _report(args: argparse.Namespace) -> int:
    formats = tuple(f.strip() for f in args.to.split(",") if f.strip())
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ITBError(f"--to: unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    jobs = _report_jobs(args)
    out = args.out.resolve()
    LOG.info("rendering %s", ", ".join(name for name, _ in jobs))
    # The documents' kernels inherit this environment and so use the same cache as this
    # process: one analysis per input.
    cache_dir = _cache_dir(args)
    saved = {k: os.environ.get(k) for k in ("ITB_NO_CACHE", "ITB_CACHE_DIR")}
    if cache_dir is None:
        os.environ["ITB_NO_CACHE"] = "1"
    elif cache_dir != "default":
        os.environ["ITB_CACHE_DIR"] = str(cache_dir)
    try:
        return _render_jobs(args, jobs, formats, out, cache_dir)
    finally:  # main() may be called in a notebook or a test: leave its environment as it was
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _render_jobs(args: argparse.Namespace, jobs: list[tuple[str, Path]], formats: tuple[str, ...],
                 out: Path, cache_dir: str | Path | None) -> int:
    from analysis.report.render import render_report
    from analysis.report.treatment_text import run_title
    from analysis.run.manifest import write_run
    from analysis.run.pipeline import run_analysis

    for name, data in jobs:
        LOG.info("analysing %s", data)
        run = run_analysis(data, config=args.config, codebook=args.codebook,
                           df_method=args.df_method, cache_dir=cache_dir,
                           follow_links=args.follow_links, mapping=args.mapping,
                           redcap_dictionary=args.redcap_dictionary, relax=tuple(args.relax))
        for path in write_run(run.results, run.manifest, out / name):
            _written(path)
        params = {"data": str(Path(data).resolve())}
        if args.mapping:
            params["mapping"] = str(args.mapping.resolve())
        if args.redcap_dictionary:
            params["redcap_dictionary"] = str(args.redcap_dictionary.resolve())
        if args.relax:
            params["relax"] = ",".join(args.relax)
        if args.config:
            params["config"] = str(args.config.resolve())
        if args.codebook:
            params["codebook"] = str(args.codebook.resolve())
        if args.df_method:
            params["df_method"] = args.df_method
        if args.follow_links:
            params["follow_links"] = True
        if name == "case-report":
            _check_patient(args, run.observations)
            params["patient"] = args.patient or str(sorted(run.observations["patient_id"].unique())[0])
        qmd = REPORTS[name][0]
        LOG.info("rendering %s (%s)", name, ", ".join(formats))
        # the study's title for Quarto (the built-in engine takes it from the document's cell),
        # from the few facts it needs: the document's kernel builds the whole context once
        title = run_title(run, patient=params.get("patient"))
        for path in render_report(qmd, formats=formats, params=params, out_dir=out,
                                  engine=args.engine,
                                  progress=sys.stderr.isatty() and not args.quiet,
                                  metadata={"title": title}):
            _written(path)
    return 0


def _report_jobs(args: argparse.Namespace) -> list[tuple[str, Path]]:
    if args.data is None:
        names = args.report or sorted(REPORTS)
        return [(name, REPORTS[name][1]) for name in names]
    if args.report and args.patient is None:
        return [(name, args.data) for name in args.report]
    from analysis.data.codebook import load_codebook
    from analysis.data.validate import validate_path

    report = validate_path(args.data, codebook=load_codebook(extra=args.codebook),
                           follow_links=args.follow_links, mapping=args.mapping,
                           redcap_dictionary=args.redcap_dictionary, relax=args.relax)
    _check_patient(args, report.observations)
    if args.report:
        return [(name, args.data) for name in args.report]
    n = report.observations["patient_id"].nunique()
    return [("case-report" if n == 1 else "case-series", args.data)]


def _check_patient(args: argparse.Namespace, observations) -> None:
    """A --patient that is not in the data is refused before anything is rendered."""
    if args.patient is None:
        return
    ids = sorted(map(str, observations["patient_id"].unique()))
    if args.patient not in ids:
        import difflib

        near = difflib.get_close_matches(args.patient, ids, n=1)
        raise ITBError(f"--patient {args.patient}: no such patient in the data"
                       + (f"; did you mean {near[0]}?" if near else "")
                       + f" (patients: {', '.join(ids[:10])}{', ...' if len(ids) > 10 else ''})")


def _reproduce(args: argparse.Namespace) -> int:
    from analysis.run.reproduce import find_manifests, reproduce_manifest

    if args.rtol is not None and not args.rtol >= 0:
        raise ITBError(f"--rtol must be a number >= 0 (got {args.rtol})")
    failed = []
    for manifest in find_manifests(args.dir):
        outcome = reproduce_manifest(manifest, rtol=args.rtol)
        say(outcome.report())
        if not outcome.ok:
            failed.append(str(outcome.manifest))
    if failed:
        say(f"NOT reproduced ({len(failed)} manifest(s)): see the files, inputs and numbers "
              "named above")
        return 1
    say("reproduced: every file is the recorded one and every number agrees")
    return 0


def _codebook(args: argparse.Namespace) -> int:
    from analysis.data.codebook import load_codebook

    table = load_codebook(extra=args.codebook).to_frame()
    _print_table(table, args.format)
    return 0


def _dictionary(args: argparse.Namespace) -> int:
    from analysis.results import dictionary

    _print_table(dictionary(), args.format)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from analysis.examples.simulate import simulate_series

    if args.patients < 1:
        raise ITBError(f"--patients must be at least 1 (got {args.patients})")
    obs, patients = simulate_series(args.patients, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    obs.to_csv(args.out / "observations.csv", index=False, lineterminator="\n")
    patients.to_csv(args.out / "patients.csv", index=False, lineterminator="\n")
    _written(args.out / "observations.csv")
    _written(args.out / "patients.csv")
    return 0


def _print_table(table, fmt: str) -> None:
    if fmt == "json":
        say(table.to_json(orient="records", indent=2))
    else:
        say(table.to_csv(index=False, lineterminator="\n"), end="")
