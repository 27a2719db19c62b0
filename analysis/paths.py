"""Where the package finds its own files, and file hashing shared by every layer.

In the repository, the report sources, their Quarto project file and the example datasets are
``reports/``, ``_quarto.yml`` and ``data/example/``. An installed wheel carries copies of them
under ``analysis/_bundled/`` (symlinks in the repository, see ``pyproject.toml``), used when the
repository is not beside the package, so that ``itb report`` works from a plain install.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
_REPOSITORY = PACKAGE_ROOT.parent
#: The folder holding ``_quarto.yml``, ``reports/`` and the example data: the repository when
#: the package runs from a checkout, else the copies inside the installed package.
PROJECT_ROOT = (_REPOSITORY if (_REPOSITORY / "_quarto.yml").is_file()
                and (_REPOSITORY / "reports").is_dir() else PACKAGE_ROOT / "_bundled")
EXAMPLES = (_REPOSITORY / "data" / "example" if PROJECT_ROOT == _REPOSITORY
            else PROJECT_ROOT / "example")
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
