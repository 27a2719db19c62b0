"""Runs: start one (analysis, or analysis and reports), follow it, download and preview its
files, and check it with ``itb reproduce``; files served only from inside the working folder."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from analysis.app.checks import run_check
from analysis.app.jobs import OUT, RunBusyError
from analysis.app.pages import page
from analysis.app.security import FILE_CSP
from analysis.app.workspace import data_path, mapping_path, settings_path
from analysis.errors import ITBError

FORMATS = ("html", "pdf", "docx")
#: Files offered for download, by suffix (figures and the render's cache are not).
DOWNLOADS = {".html": "HTML report", ".pdf": "PDF report", ".docx": "Word report",
             ".xlsx": "supplementary workbook", ".csv": "results table (results.csv)",
             ".json": "manifest (manifest.json)", ".parquet": "results table (Parquet)"}


def run_form(request: Request) -> Response:
    ws, jobs = request.app.state.workspace, request.app.state.jobs
    current = ws.current()
    result = run_check(current, request.app.state.codebook()) if current else None
    return page(request, "run.html", "Run", current=current.name if current else None,
                check=result, runs=jobs.list(), going=jobs.running(),
                error=request.query_params.get("error"))


async def start(request: Request) -> Response:
    form = await request.form()
    ws, jobs = request.app.state.workspace, request.app.state.jobs
    current = ws.current()
    if current is None:
        return RedirectResponse("/", status_code=303)
    formats = [f for f in FORMATS if form.get(f"to_{f}")]
    report = str(form.get("report", "auto"))
    patient = str(form.get("patient", "")).strip()
    try:
        args = _common(current)
        if not formats:
            run = jobs.start("analyze", [str(data_path(current)), "--out", "{out}", *args],
                             dataset=current.name, steps=2)
        else:
            extra = []
            if report in ("case-report", "case-series"):
                extra += ["--report", report]
            if report == "case-report" and patient:
                extra += ["--patient", patient]
            run = jobs.start("report", ["--data", str(data_path(current)), "--out", "{out}",
                                        "--to", ",".join(formats), *extra, *args],
                             dataset=current.name, steps=3 + len(formats))
    except RunBusyError as exc:
        return page(request, "run.html", "Run", status=409, error=str(exc),
                    current=current.name, check=None, runs=jobs.list(), going=jobs.running())
    except ITBError as exc:
        return page(request, "run.html", "Run", status=400, error=str(exc),
                    current=current.name, check=None, runs=jobs.list(), going=jobs.running())
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


def _common(dataset: Path) -> list[str]:
    """The options the dataset's own files give: its settings and its column mapping."""
    args = []
    if settings_path(dataset).is_file():
        args += ["--config", str(settings_path(dataset))]
    if mapping_path(dataset).is_file():
        args += ["--mapping", str(mapping_path(dataset))]
    return args


def show(request: Request) -> Response:
    jobs = request.app.state.jobs
    run = jobs.get(request.path_params["run_id"])
    if run is None:
        return PlainTextResponse("no such run", status_code=404)
    folder = jobs.folder(run.id)
    files = _outputs(folder / OUT[run.kind]) if run.state == "done" and run.kind in OUT else []
    root = request.app.state.workspace.root
    links = [(label, "/files/" + p.relative_to(root).as_posix(), p.name) for label, p in files]
    reports = [link for link in links if link[2].endswith(".html")]
    return page(request, "run_page.html", f"Run {run.id}", run=run, links=links,
                reports=reports, log=jobs.log(run.id), going=jobs.running())


def status(request: Request) -> Response:
    run = request.app.state.jobs.get(request.path_params["run_id"])
    if run is None:
        return JSONResponse({"error": "no such run"}, status_code=404)
    return JSONResponse({"id": run.id, "state": run.state, "percent": run.percent,
                         "step": run.step, "steps": run.steps, "message": run.message})


async def reproduce(request: Request) -> Response:
    jobs = request.app.state.jobs
    run = jobs.get(request.path_params["run_id"])
    if run is None or run.kind not in OUT:
        return PlainTextResponse("no such run", status_code=404)
    target = jobs.folder(run.id) / OUT[run.kind]
    try:
        new = jobs.start("reproduce", [str(target)], dataset=run.dataset, steps=1, of_run=run.id)
    except RunBusyError as exc:
        return RedirectResponse(f"/run?error={_quote(str(exc))}", status_code=303)
    return RedirectResponse(f"/runs/{new.id}", status_code=303)


def serve_file(request: Request) -> Response:
    """A file of the working folder; anything outside it (``..``, links out) is 404."""
    ws = request.app.state.workspace
    rel = request.path_params["path"]
    path = ws.inside(ws.root / rel)
    if path is None or not path.is_file() or ".." in Path(rel).parts:
        return PlainTextResponse("not found", status_code=404)
    inline = path.suffix.lower() in (".html", ".png", ".svg", ".jpg", ".jpeg", ".pdf")
    response = FileResponse(path, filename=None if inline else path.name)
    response.headers["content-security-policy"] = FILE_CSP
    return response


def _outputs(folder: Path) -> list[tuple[str, Path]]:
    if not folder.is_dir():
        return []
    found = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in DOWNLOADS
             and not any(part.startswith(("_", ".")) or part == "figures"
                         for part in p.relative_to(folder).parts)]
    order = list(DOWNLOADS)
    return [(DOWNLOADS[p.suffix], p) for p in sorted(found, key=lambda p: (order.index(p.suffix),
                                                                          str(p)))]


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text[:300])
