"""Figure files for submission: every figure of a report as SVG, PDF and 600-dpi PNG.

Journals ask for each figure as a separate vector file (PDF/EPS/SVG) or a 300-600 dpi raster.
The SVG the kernel wrote is the source; Typst (already used for the PDF report) converts it to
PDF (vector, text as outlines as in the SVG) and to PNG at :data:`SUBMISSION_DPI` with Pillow
writing the resolution into the file, so that the PNG opens at its print size.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

from analysis.errors import RenderError
from analysis.report.plotting.theme import SUBMISSION_DPI
from analysis.report.render.execute import ExecutedDocument

__all__ = ["export_figures", "SUBMISSION_DPI"]

_PAGE = "#set page(width: auto, height: auto, margin: 0pt)\n#image(\"{name}\")\n"


def _convert(svg: Path, pdf: Path, png: Path, dpi: int) -> None:
    import typst
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="itb-fig-") as tmp:
        shutil.copyfile(svg, Path(tmp) / "figure.svg")
        page = Path(tmp) / "page.typ"
        page.write_text(_PAGE.format(name="figure.svg"), encoding="utf-8")
        try:
            typst.compile(str(page), output=str(pdf), root=tmp)
            raster = typst.compile(str(page), format="png", ppi=dpi, root=tmp)
        except Exception as exc:  # typst raises its own error type
            raise RenderError(f"figure {svg.name}: Typst could not convert it: {exc}") from None
    with Image.open(io.BytesIO(raster)) as im:
        im.save(png, dpi=(dpi, dpi))


def export_figures(executed: ExecutedDocument, folder: Path, *,
                   dpi: int = SUBMISSION_DPI) -> list[Path]:
    """Write each figure of an executed document to ``folder`` as ``.svg``, ``.pdf`` and ``.png``.

    Files are named ``<document>-<cell label>-<n>``. A figure whose SVG is unchanged since the
    last export is not converted again.

    Returns
    -------
    list of pathlib.Path
        The files, three per figure (figures only in PNG are copied as they are).
    """
    folder = Path(folder)
    written: list[Path] = []
    for done in executed.cells:
        for out in done.outputs:
            if out.kind != "image":
                continue
            folder.mkdir(parents=True, exist_ok=True)
            stem = Path(out.content).name
            src = Path(executed.workdir) / out.content
            if "svg" not in out.formats:
                for ext in out.formats:
                    shutil.copyfile(f"{src}.{ext}", folder / f"{stem}.{ext}")
                    written.append(folder / f"{stem}.{ext}")
                continue
            svg, pdf, png = (folder / f"{stem}.{ext}" for ext in ("svg", "pdf", "png"))
            new = Path(f"{src}.svg").read_bytes()
            fresh = not (svg.is_file() and pdf.is_file() and png.is_file()
                         and svg.read_bytes() == new)
            if fresh:
                _convert(Path(f"{src}.svg"), pdf, png, dpi)
                svg.write_bytes(new)
            written += [svg, pdf, png]
    return written
