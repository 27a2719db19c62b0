"""``itb app``: the local web app (the command line's work, from a browser page)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_command(sub: argparse._SubParsersAction) -> None:
    """Add ``itb app [DATA] [--port N] [--host HOST] [--no-browser] [--workdir DIR]``."""
    p = sub.add_parser("app", help="open the local web app (no terminal needed after this)",
                       description="Start a web page on this computer that does what the "
                       "command line does: upload or choose data, check it, edit the column "
                       "mapping and the study settings, run the analysis and the reports, "
                       "download them, and reproduce a run. Nothing leaves this computer: the "
                       "page is served on 127.0.0.1 only and needs the printed link (it holds "
                       "a token that changes at every start). Your files are copied into the "
                       "working folder and never modified.")
    p.add_argument("data", type=Path, nargs="?", help="a data file or dataset folder to start "
                   "with (copied into the working folder)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; another free "
                   "one when taken; 0 = any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1: this computer only; another prints a warning)")
    p.add_argument("--no-browser", action="store_true", help="print the address instead of "
                   "opening the browser")
    p.add_argument("--workdir", type=Path, default=Path("~/itb-app"), help="working folder for "
                   "uploads, settings and runs (default ~/itb-app)")
    p.set_defaults(func=_app)


def _app(args: argparse.Namespace) -> int:
    from analysis.app.server import serve

    try:
        serve(args.workdir, host=args.host, port=args.port, open_browser=not args.no_browser,
              data_path=args.data)
    except KeyboardInterrupt:
        print("itb app: stopped")
    return 0
