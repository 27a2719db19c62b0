"""The validation report as text a clinician can act on.

Order: errors first (what must be fixed), then every column that was dropped or not
recognised (so a measure that silently went missing is seen), then warnings (doubtful values),
then notes (accepted changes). Identical problems are grouped into one line with their rows
written as ranges (``288 rows (1165-1452): sprs_total takes whole numbers only``). The last line
says what was kept: measures, patients, observations out of the data rows read, and what was
dropped. Text from the data (file and column names, values, measure names in rules) is written
through :func:`analysis.text.visible`, so a control or bidi character shows as ``<U+001B>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from analysis.errors import Problem
from analysis.text import visible

#: Rule prefix of the bookkeeping note that records how many data rows a file had.
ROWS_READ = "data rows read: "
_SECTIONS = (("error", "Errors (the data are refused until these are fixed)"),
             ("dropped", "Columns dropped or not recognised (their data are not analysed)"),
             ("warning", "Warnings (doubtful values: check them; --strict refuses them)"),
             ("note", "Notes (accepted, changed or excluded)"))


def row_ranges(rows: Iterable[int], *, limit: int = 12) -> str:
    """Sorted row numbers written as ranges.

    Examples
    --------
    >>> row_ranges([5, 2, 3, 4, 9, 11, 12])
    '2-5, 9, 11-12'
    >>> row_ranges(range(2, 80, 2), limit=3)
    '2, 4, 6, ... (39 rows)'
    """
    rows = sorted(set(rows))
    spans: list[list[int]] = []
    for r in rows:
        if spans and r == spans[-1][1] + 1:
            spans[-1][1] = r
        else:
            spans.append([r, r])
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in spans]
    if len(text) > limit:
        return ", ".join(text[:limit]) + f", ... ({len(rows)} rows)"
    return ", ".join(text)


def is_dropped_column(p: Problem) -> bool:
    """A note saying a column was not read or was dropped.

    Examples
    --------
    >>> is_dropped_column(Problem("w.csv", None, "10MWT_bl", None,
    ...     "column matches no codebook measure and was not read", severity="note"))
    True
    """
    rule = p.rule.lower()
    return p.severity != "error" and ("not read" in rule or "columns dropped" in rule
                                      or "column dropped" in rule)


def _kind(p: Problem) -> str:
    if p.severity == "error":
        return "error"
    if is_dropped_column(p):
        return "dropped"
    return "warning" if p.severity == "warning" else "note"


def group_problems(problems: Sequence[Problem]) -> list[tuple[str, str]]:
    """``(section, line)`` for every group of identical problems, in section order.

    Examples
    --------
    >>> ps = [Problem("o.csv", r, "value", "12.5", "sprs_total takes whole numbers only",
    ...               fix="Correct the value") for r in range(1165, 1453)]
    >>> group_problems(ps)[0][1]
    "o.csv, 288 rows (1165-1452), column 'value': sprs_total takes whole numbers only (value: '12.5'). Correct the value"
    """
    groups: dict[tuple, list[Problem]] = {}
    for p in problems:
        if p.rule.startswith(ROWS_READ):
            continue
        groups.setdefault((_kind(p), p.file, p.column, p.rule, p.fix), []).append(p)
    out = []
    for section, _ in _SECTIONS:
        for (kind, file, column, rule, fix), ps in groups.items():
            if kind != section:
                continue
            rows = [p.row for p in ps if p.row is not None]
            where = visible(file)
            if len(set(rows)) == 1:
                where += f", row {rows[0]}"
            elif rows:
                where += f", {len(set(rows))} rows ({row_ranges(rows)})"
            if column is not None:
                where += f", column '{visible(column)}'"
            text = f"{where}: {visible(rule)}"
            values = list(dict.fromkeys(visible(p.value) for p in ps if p.value is not None))
            if len(values) == 1:
                text += f" (value: {values[0]!r})"
            elif values:
                shown = ", ".join(repr(v) for v in values[:4])
                text += f" (values: {shown}{', ...' if len(values) > 4 else ''})"
            if fix:
                text += f". {visible(fix[:1].upper() + fix[1:])}"
            out.append((section, text))
    return out


def render(problems: Sequence[Problem], *, counts: Mapping[str, int] | None = None,
           files: Iterable[str] = (), measures: Sequence[str] = ()) -> str:
    """The whole text report (see the module docstring); ``counts`` None means refused.

    Examples
    --------
    >>> ps = [Problem("o.csv", 3, "value", "x", "text in a numeric column"),
    ...       Problem("o.csv", None, "SPRS_bl", None, "column matches no codebook measure and "
    ...               "was not read", severity="note"),
    ...       Problem("o.csv", None, None, None, ROWS_READ + "12", severity="note")]
    >>> print(render(ps))
    o.csv: NOT valid: 1 error(s).
    Errors (the data are refused until these are fixed):
      - o.csv, row 3, column 'value': text in a numeric column (value: 'x')
    Columns dropped or not recognised (their data are not analysed):
      - o.csv, column 'SPRS_bl': column matches no codebook measure and was not read
    Kept: nothing, the data are refused (12 data row(s) read in o.csv); dropped columns: SPRS_bl.
    """
    names = [visible(n) for n in [Path(f).name for f in files]
             or list(dict.fromkeys(p.file for p in problems))]
    lines = []
    grouped = group_problems(problems)
    n_err = sum(p.severity == "error" for p in problems)
    if counts is None:
        lines.append(f"{', '.join(names) or 'data'}: NOT valid: {n_err} error(s).")
    else:
        c = counts
        lines.append(f"{', '.join(names) or 'data'}: valid. {c['patients']} patient(s), "
                     f"{c['visits']} visit(s), {c['measures']} measure(s), {c['rows']} "
                     f"observation(s); {c.get('warnings', 0)} warning(s), {c['notes']} note(s), "
                     f"{c['excluded']} row(s) excluded or changed.")
    for section, title in _SECTIONS:
        items = [text for s, text in grouped if s == section]
        if items:
            lines.append(f"{title}:")
            lines += [f"  - {t}" for t in items]
    read = {visible(p.file): visible(p.rule[len(ROWS_READ):]) for p in problems
            if p.rule.startswith(ROWS_READ)}
    read_text = "; ".join(f"{n} data row(s) read in {f}" for f, n in read.items())
    dropped = list(dict.fromkeys(visible(p.column) for p in problems if is_dropped_column(p)
                                 and p.column))
    dropped_text = f"; dropped columns: {', '.join(dropped)}" if dropped else ""
    if counts is None:
        lines.append("Kept: nothing, the data are refused"
                     + (f" ({read_text})" if read_text else "") + f"{dropped_text}.")
    else:
        c = counts
        rows_read = f" from {c['rows_read']} data row(s) read" if "rows_read" in c else ""
        which = f" ({', '.join(map(visible, measures))})" if measures else ""
        excluded = f"; {c['excluded']} row(s) excluded or changed" if c["excluded"] else ""
        lines.append(f"Kept: {c['measures']} measure(s){which}, {c['patients']} patient(s), "
                     f"{c['rows']} observation(s){rows_read}{excluded}{dropped_text}.")
    return "\n".join(lines)


#: Name and version of the JSON layout of ``itb validate --format json`` (README: Validation
#: report as JSON). The same keys whatever the verdict; a new key raises the minor version.
VALIDATION_SCHEMA = "itb-validation"
VALIDATION_SCHEMA_VERSION = "1.0"


def validation_json(problems: Sequence[Problem], report=None) -> dict:
    """The validation report as one JSON-ready dictionary (one layout for valid and refused).

    Keys: ``schema``, ``schema_version``, ``valid``, ``counts`` (null when refused), ``errors``,
    ``warnings``, ``notes`` (each a list of problems: file, row, column, value, rule, severity,
    fix), ``files``, ``visits``, ``measures``, ``mapping`` (what each column was read as, or
    null), ``excluded`` and ``no_baseline`` (lists of rows).

    Examples
    --------
    >>> out = validation_json([Problem("o.csv", 3, "value", "x", "text in a numeric column")])
    >>> out["valid"], out["counts"], out["errors"][0]["row"], sorted(out)[:4]
    (False, None, 3, ['counts', 'errors', 'excluded', 'files'])
    """
    import json
    from dataclasses import asdict

    def of(severity: str) -> list[dict]:
        return [asdict(p) for p in problems if p.severity == severity]

    def records(df) -> list[dict]:
        return json.loads(df.to_json(orient="records")) if df is not None else []

    valid = report is not None
    return {
        "schema": VALIDATION_SCHEMA, "schema_version": VALIDATION_SCHEMA_VERSION,
        "valid": valid, "counts": dict(report.counts) if valid else None,
        "errors": of("error"), "warnings": of("warning"), "notes": of("note"),
        "files": dict(report.files) if valid else {},
        "visits": list(report.visit_order) if valid else [],
        "measures": sorted(report.observations["measure"].unique().tolist()) if valid else [],
        "mapping": report.mapping if valid else None,
        "excluded": records(report.excluded) if valid else [],
        "no_baseline": records(report.no_baseline) if valid else [],
    }
