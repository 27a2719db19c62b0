"""pyproject.toml, environment.yml and requirements.lock name the same packages and versions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# Conda-only entries: the interpreter, pip itself, and the Quarto CLI (not on PyPI in a usable form).
CONDA_ONLY = {"python", "pip", "quarto"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject_packages() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = meta["dependencies"] + meta["optional-dependencies"]["test"]
    return {_norm(re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0]) for r in reqs}


def _environment_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins: dict[str, str] = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            name, _, version = item.partition("=")  # conda `pkg=1.0`, pip `pkg==1.0`
            pins[_norm(name)] = version.lstrip("=")
    return pins


def _lock_pins() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    return {_norm(m.group(1)): m.group(2) for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==(\S+)", text, re.M)}


def test_environment_names_the_same_packages_as_pyproject():
    env = set(_environment_pins()) - CONDA_ONLY
    assert env == _pyproject_packages()


def test_environment_versions_equal_the_lock():
    lock = _lock_pins()
    for name, version in _environment_pins().items():
        if name in CONDA_ONLY:
            continue
        assert name in lock, f"{name} is in environment.yml but not pinned in requirements.lock"
        assert version == lock[name], f"{name}: environment.yml {version} != lock {lock[name]}"


def test_lock_pins_every_package_with_hashes():
    text = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", text)
    pinned = [b for b in blocks if re.match(r"[A-Za-z0-9_.\-]+==", b)]
    assert len(pinned) > 20
    for block in pinned:
        assert "--hash=sha256:" in block, block.splitlines()[0]
    assert set(_pyproject_packages()) <= set(_lock_pins())
