"""Write docs/api.md: the notebook API (``analysis.__all__``) grouped by pipeline stage.

Run ``python docs/make_api.py``; ``tests/test_docs.py`` checks that the page is up to date.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import analysis

PAGE = Path(__file__).with_name("api.md")
#: Stages in pipeline order; a name is placed by the first stage whose test accepts it.
STAGES = [
    ("Load and validate", {"EXAMPLES", "load_codebook", "load_config", "load_dataset", "validate",
                           "propose_mapping"}),
    ("The whole pipeline", {"analyze"}),
    ("Group statistics", {"describe", "paired_test", "effect_sizes", "mixed_model",
                          "individual_change", "responders", "dose_response",
                          "therapeutic_window"}),
]
PREFIXES = [  # by the module that defines the name, for names not listed above
    ("One patient (single-case methods)", ("analysis.stats.single_case", "analysis.api")),
    ("Gait (motion lab)", ("analysis.gait",)),
    ("Study planning", ("analysis.plan",)),
    ("Figures", ("analysis.plots",)),
    ("Group statistics", ("analysis.stats",)),
    ("Other", ("analysis",)),
]


def stage_of(name: str) -> str:
    for stage, names in STAGES:
        if name in names:
            return stage
    module = analysis._API[name]
    return next(stage for stage, prefixes in PREFIXES if module.startswith(prefixes))


def page() -> str:
    lines = ["# The notebook API", "",
             "`import analysis` gives these names (imported on first use). Each function takes "
             "tidy observations (or arrays) and returns rows with the results table's columns "
             "(`itb dictionary` explains them), or a result object with `.tidy()`. Written by "
             "`python docs/make_api.py` from the docstrings; run `help(analysis.<name>)` for the "
             "parameters and an example.", ""]
    order = [s for s, _ in STAGES] + [s for s, _ in PREFIXES]
    groups: dict[str, list[str]] = {}
    for name in analysis.__all__:
        groups.setdefault(stage_of(name), []).append(name)
    for stage in dict.fromkeys(order):
        if stage not in groups:
            continue
        lines += [f"## {stage}", "", "| name | what it does |", "|---|---|"]
        for name in sorted(groups[stage]):
            obj = getattr(analysis, name)
            if callable(obj):
                doc = inspect.getdoc(obj) or ""
                summary = " ".join(doc.split("\n\n")[0].split())
                lines.append(f"| `analysis.{name}{_signature(obj)}` | {summary} |")
            else:
                lines.append(f"| `analysis.{name}` | the bundled example datasets (`data/example/`) |")
        lines.append("")
    return "\n".join(lines)


def _signature(obj) -> str:
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return "(...)"
    shown = [p.name for p in params.values()
             if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(shown) < len(params):
        shown.append("...")
    return f"({', '.join(shown)})"


if __name__ == "__main__":
    PAGE.write_text(page(), encoding="utf-8")
    sys.exit(0)
