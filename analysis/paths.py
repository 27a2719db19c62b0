"""Where the package finds its own files, and file hashing shared by every layer.

The report sources and example datasets live in the repository (``reports/``,
``data/example/``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_ROOT.parent
EXAMPLES = PROJECT_ROOT / "data" / "example"
REPORT_SOURCES = PROJECT_ROOT / "reports"
#: report name -> (Quarto source, example dataset)
REPORTS = {
    "case-report": (REPORT_SOURCES / "case-report.qmd", EXAMPLES / "case_report"),
    "case-series": (REPORT_SOURCES / "case-series.qmd", EXAMPLES / "case_series"),
}


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as hex.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
