"""The package's layers import downwards only (an ``ast`` walk, no new dependency).

core (errors, process, results, vocabulary, paths) < data < stats < run < report < api,
app < cli (the web app runs the command line as a child process, never imports it).
``examples`` may use data and stats; ``gait`` and ``plan`` sit beside run. Nothing but the
package's ``__main__`` imports ``cli``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "analysis"

#: layer -> layers it must not import
FORBIDDEN = {
    "core": {"data", "stats", "run", "report", "examples", "gait", "plan", "api", "cli", "app"},
    "data": {"stats", "run", "report", "examples", "gait", "plan", "api", "cli", "app"},
    "stats": {"run", "report", "examples", "gait", "plan", "api", "cli", "app"},
    "examples": {"run", "report", "gait", "plan", "api", "cli", "app"},
    "gait": {"run", "report", "plan", "api", "cli", "app"},
    "plan": {"run", "report", "api", "cli", "app"},
    "run": {"report", "api", "cli", "app"},
    "report": {"api", "cli", "app"},
    "api": {"cli", "app"},
    "app": {"cli"},
    "cli": set(),
}
CORE = {"errors", "process", "results", "vocabulary", "paths", "__init__"}


def layer_of(module: str) -> str:
    """Layer of a dotted module name inside the package (``analysis.stats.paired`` -> stats)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "core"
    first = parts[1]
    if first in CORE:
        return "core"
    return first


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every ``analysis...`` module imported by a source file, with its line (all scopes)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "analysis"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "analysis":
                if node.module == "analysis":  # from analysis import x: x is a submodule or name
                    found += [(node.lineno, f"analysis.{a.name}") for a in node.names]
                else:
                    found.append((node.lineno, node.module))
    return found


def violations(root: Path = PACKAGE) -> list[str]:
    """``file:line imports module`` for every import that breaks the layer order."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        module = ".".join(rel.parts)
        if module.endswith(".__init__"):
            module = module[: -len(".__init__")]
        if module in ("analysis", "analysis.__main__"):
            continue  # the lazy API table and `python -m analysis`
        mine = layer_of(module)
        for line, target in imported_modules(path):
            theirs = layer_of(target)
            if theirs in FORBIDDEN.get(mine, set()) or (theirs == "cli" and mine != "cli"):
                bad.append(f"{path.relative_to(root.parent)}:{line} ({mine}) imports {target} ({theirs})")
    return bad


def test_layers_import_downwards_only():
    assert violations() == []


@pytest.mark.parametrize("layer_file, forbidden", [
    ("data/evil.py", "from analysis.stats import paired\n"),
    ("stats/evil.py", "import analysis.run.pipeline\n"),
    ("stats/evil.py", "def f():\n    from analysis.report import tables\n"),
    ("data/evil.py", "from analysis import cli\n"),
    ("run/evil.py", "from analysis.cli import main\n"),
])
def test_a_forbidden_import_is_caught(tmp_path, layer_file, forbidden):
    fake = tmp_path / "analysis"
    (fake / layer_file).parent.mkdir(parents=True)
    (fake / layer_file).write_text(forbidden)
    assert len(violations(fake)) == 1
