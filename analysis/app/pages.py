"""Server-rendered pages: Jinja2 templates with autoescape (every text from data is escaped for
HTML, and shown with its invisible characters made visible by
:func:`analysis.report.escape.visible`, the package's one escape for text from data)."""

from __future__ import annotations

from pathlib import Path

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from analysis.text import visible

TEMPLATES = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True))
TEMPLATES.env.filters["visible"] = visible
#: The steps, in the order a clinician takes them: (path, title).
STEPS = (("/", "Data"), ("/check", "Check"), ("/mapping", "Columns"), ("/settings", "Settings"),
         ("/run", "Run"))


def page(request: Request, template: str, title: str, *, status: int = 200, **context) -> Response:
    """Render ``template`` with the navigation, the working folder and ``context``."""
    return TEMPLATES.TemplateResponse(request, template, {
        "title": title, "steps": STEPS, "workspace": str(request.app.state.workspace.root),
        **context}, status_code=status)
