"""Fixtures shared by the test modules.

The analysis cache (``test_cache``, ``test_security_c3d_cache``): a module names the example
dataset its cache tests analyse in ``CACHED_EXAMPLE``; :func:`reference` is that dataset analysed
without a cache, :func:`filled` a cache directory holding its one entry (built once per module),
:func:`cache_copy` a copy of it that a test may damage, and :func:`same_run` the check that a run
read back (or recomputed) is the reference.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from analysis.run.pipeline import run_analysis


@pytest.fixture(scope="module")
def cached_example(request) -> Path:
    """The example dataset of the module's cache tests (its ``CACHED_EXAMPLE``)."""
    return request.module.CACHED_EXAMPLE


@pytest.fixture(scope="module")
def reference(cached_example):
    """The example analysed without any cache."""
    return run_analysis(cached_example, cache_dir=None)


@pytest.fixture(scope="module")
def filled(tmp_path_factory, reference, cached_example) -> tuple[Path, Path]:
    """A cache directory holding the example's entry; returns (directory, entry)."""
    directory = tmp_path_factory.mktemp("cache")
    run_analysis(cached_example, cache_dir=directory)
    (entry,) = [p for p in directory.iterdir() if p.is_dir()]
    return directory, entry


@pytest.fixture
def cache_copy(filled, tmp_path) -> tuple[Path, Path]:
    """A copy of :func:`filled` in the test's own folder, to damage; (directory, entry)."""
    directory, entry = filled
    shutil.copytree(directory, tmp_path / "cache")
    return tmp_path / "cache", tmp_path / "cache" / entry.name


@pytest.fixture
def same_run(reference) -> Callable[..., None]:
    """Assert that a run has the reference's tables (exactly) and, unless ``manifest=False``,
    its manifest."""
    def check(run, *, manifest: bool = True) -> None:
        for name in ("results", "window", "changes"):
            pd.testing.assert_frame_equal(getattr(run, name), getattr(reference, name),
                                          check_exact=True)
        if manifest:
            assert run.manifest == reference.manifest
    return check
