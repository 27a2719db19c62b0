"""The app: Starlette routes behind the token guard, and ``serve`` (uvicorn on one socket).

Starlette + uvicorn + Jinja2 rather than Shiny: server-rendered forms work without script and
with the keyboard, every asset is a file of this package (no CDN), and pages are tested with
Starlette's TestClient and a real browser; the analysis itself runs as the ``itb`` command
(:mod:`analysis.app.jobs`). See the README, "Web app (no terminal)".
"""

from __future__ import annotations

import functools
import ipaddress
import secrets
import socket
import sys
import threading
import webbrowser
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from analysis.app import routes_data as data
from analysis.app import routes_runs as runs
from analysis.app.jobs import Jobs
from analysis.app.security import TokenGuard
from analysis.app.workspace import Workspace

DEFAULT_WORKDIR = Path("~/itb-app")


def create_app(workdir: str | Path, token: str, *, data_path: str | Path | None = None) -> TokenGuard:
    """The ASGI app for ``workdir``, guarded by ``token``; ``data_path`` (a folder or file of
    the user's) is copied into the working folder and made current.

    Examples
    --------
    >>> import tempfile
    >>> from starlette.testclient import TestClient
    >>> client = TestClient(create_app(tempfile.mkdtemp(), "t0ken"))
    >>> client.get("/").status_code, client.get("/?token=t0ken").status_code
    (403, 200)
    """
    workspace = Workspace(Path(workdir))
    if data_path is not None:
        source = Path(data_path).expanduser()
        if source.is_file():
            dataset = workspace.new_dataset(source.stem)
            workspace.save(dataset, source.name, source.read_bytes())
        else:
            workspace.import_folder(source)
    app = Starlette(routes=[
        Route("/", data.home),
        Route("/upload", data.upload, methods=["POST"]),
        Route("/choose", data.choose, methods=["POST"]),
        Route("/check", data.check),
        Route("/mapping", data.mapping),
        Route("/mapping", data.save_mapping, methods=["POST"]),
        Route("/settings", data.settings),
        Route("/settings", data.save_settings, methods=["POST"]),
        Route("/run", runs.run_form),
        Route("/run", runs.start, methods=["POST"]),
        Route("/runs/{run_id}", runs.show),
        Route("/runs/{run_id}/status", runs.status),
        Route("/runs/{run_id}/reproduce", runs.reproduce, methods=["POST"]),
        Route("/files/{path:path}", runs.serve_file),
        Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
    ])
    app.state.workspace = workspace
    app.state.jobs = Jobs(workspace.runs)
    app.state.codebook = functools.cache(_codebook)
    return TokenGuard(app, token)


def _codebook():
    from analysis.data.codebook import load_codebook

    return load_codebook()


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, localhost).

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(workdir: str | Path, *, host: str = "127.0.0.1", port: int = 8765,
          open_browser: bool = True, data_path: str | Path | None = None) -> None:
    """Start the app and block until Ctrl-C; prints (and opens) the address with its token."""
    import uvicorn

    token = secrets.token_urlsafe(24)
    app = create_app(Path(workdir).expanduser(), token, data_path=data_path)
    if not is_loopback(host):
        print(f"itb app: WARNING: listening on {host}: other computers that can reach this one "
              "can open the app (with the link and its token). Use the default 127.0.0.1 unless "
              "you mean it.", file=sys.stderr)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        if port == 0:
            raise
        sock.bind((host, 0))  # the port is taken (another app): any free one
    sock.listen(64)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/?token={token}"
    print(f"itb app: open {url}\nitb app: working folder {app.app.state.workspace.root}\n"
          "itb app: press Ctrl-C to stop", flush=True)
    if open_browser:
        threading.Timer(0.3, webbrowser.open, args=(url,)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    try:
        server.run(sockets=[sock])
    finally:
        app.app.state.jobs.stop_all()
        sock.close()
