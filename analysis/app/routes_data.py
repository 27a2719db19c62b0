"""Pages before a run: choose or upload data, check it, edit the column mapping, settings.

Every page is a plain HTML form (works without script); handlers that read data are plain
functions, which Starlette runs in a worker thread, so the server keeps answering.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from analysis.app.checks import run_check
from analysis.app.pages import page
from analysis.app.workspace import data_path, mapping_path, settings_path
from analysis.errors import ConfigError, ITBError
from analysis.paths import EXAMPLES

#: Uploads larger than this are refused (the readers' own limit, max_file_mb, applies after).
MAX_UPLOAD_BYTES = 500 << 20
EXAMPLE_NAMES = {"case_report": "one patient (case report, with gait trials)",
                 "case_series": "a case series"}


def _go(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def home(request: Request) -> Response:
    ws = request.app.state.workspace
    current = ws.current()
    return page(request, "home.html", "Data", current=current.name if current else None,
                files=_listing(current) if current else [], datasets=ws.dataset_names(),
                examples=EXAMPLE_NAMES, error=request.query_params.get("error"))


async def upload(request: Request) -> Response:
    ws = request.app.state.workspace
    async with request.form(max_files=500, max_part_size=1 << 20) as form:
        files = [f for f in form.getlist("files") if hasattr(f, "filename") and f.filename]
        if not files:
            return page(request, "home.html", "Data", status=400, error="choose at least one file",
                        current=None, files=[], datasets=ws.dataset_names(),
                        examples=EXAMPLE_NAMES)
        try:
            from analysis.app.workspace import safe_name

            names = [safe_name(f.filename) for f in files]  # every name checked before a write
            dataset = ws.new_dataset(Path(names[0]).stem)
            try:
                for f, name in zip(files, names, strict=True):
                    content = await f.read(MAX_UPLOAD_BYTES + 1)
                    if len(content) > MAX_UPLOAD_BYTES:
                        raise ITBError(f"upload {name!r}: larger than {MAX_UPLOAD_BYTES >> 20} MB")
                    ws.save(dataset, name, content)
            except BaseException:  # nothing half-written: the new dataset goes as a whole
                ws.discard(dataset)
                raise
        except ITBError as exc:
            return page(request, "home.html", "Data", status=400, error=str(exc), current=None,
                        files=[], datasets=ws.dataset_names(), examples=EXAMPLE_NAMES)
    return _go("/check")


async def choose(request: Request) -> Response:
    """A folder on this computer (copied), a bundled example (copied) or an earlier dataset."""
    ws = request.app.state.workspace
    form = await request.form()
    try:
        if form.get("example") in EXAMPLE_NAMES:
            ws.import_folder(EXAMPLES / str(form["example"]))
        elif form.get("dataset"):
            name = str(form["dataset"])
            if name not in ws.dataset_names():
                raise ITBError(f"no dataset {name!r} in the working folder")
            ws.set_current(name)
        elif str(form.get("folder", "")).strip():
            ws.import_folder(Path(str(form["folder"]).strip()))
        else:
            raise ITBError("give a folder, choose an example or an earlier dataset")
    except ITBError as exc:
        return page(request, "home.html", "Data", status=400, error=str(exc), current=None,
                    files=[], datasets=ws.dataset_names(), examples=EXAMPLE_NAMES)
    return _go("/check")


def check(request: Request) -> Response:
    ws = request.app.state.workspace
    current = ws.current()
    if current is None:
        return _go("/")
    result = run_check(current, request.app.state.codebook())
    return page(request, "check.html", "Check", check=result, current=current.name)


def mapping(request: Request) -> Response:
    return _mapping_page(request)


async def save_mapping(request: Request) -> Response:
    form = await request.form()
    return await _in_thread(_mapping_page, request, dict(form))


def _mapping_page(request: Request, form: dict | None = None) -> Response:
    from analysis.app.mapping_form import apply_edits, current_mapping
    from analysis.app.mapping_form import save_mapping as save

    ws = request.app.state.workspace
    current = ws.current()
    if current is None:
        return _go("/")
    book = request.app.state.codebook()
    error, saved, status = None, False, 200
    try:
        found = current_mapping(data_path(current), mapping_path(current), book)
        if form is not None:
            edited = apply_edits(found, form)
            try:
                save(edited, mapping_path(current), book)
                found, saved = edited, True
            except ITBError as exc:
                found, status = edited, 400
                error = str(exc).replace(f".{mapping_path(current).name}.tmp", "mapping.yaml")
    except ITBError as exc:
        return page(request, "mapping.html", "Columns", status=400, error=str(exc), mapping=None,
                    current=current.name, saved=False)
    return page(request, "mapping.html", "Columns", status=status, error=error, mapping=found,
                current=current.name, saved=saved)


def settings(request: Request) -> Response:
    return _settings_page(request)


async def save_settings(request: Request) -> Response:
    form = await request.form()
    return await _in_thread(_settings_page, request, dict(form))


def _settings_page(request: Request, form: dict | None = None) -> Response:
    from analysis.app.settings_form import (
        check as check_settings,
    )
    from analysis.app.settings_form import (
        form_values,
        read_settings,
        to_mapping,
        write_settings,
    )
    from analysis.vocabulary import DF_METHODS

    ws = request.app.state.workspace
    current = ws.current()
    if current is None:
        return _go("/")
    path = settings_path(current)
    error, saved, status = None, False, 200
    try:
        base = read_settings(path)
    except ConfigError as exc:
        base, error = {}, str(exc)
    values = form_values(base)
    result = run_check(current, request.app.state.codebook())
    if form is not None:
        values = {k: str(form.get(k, "")) for k in values}
        try:
            raw = to_mapping(values, base)
            if result.observations is None:
                raise ConfigError("the data are not valid yet: fix them on the Check page first")
            check_settings(raw, result.observations, request.app.state.codebook(),
                           source="study settings")
            write_settings(path, raw)
            saved = True
        except ConfigError as exc:
            error, status = str(exc), 400
    return page(request, "settings.html", "Settings", status=status, values=values, error=error,
                saved=saved, check=result, df_methods=DF_METHODS, current=current.name)


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
                  and not p.name.startswith("."))


async def _in_thread(func, *args):
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(func, *args)
