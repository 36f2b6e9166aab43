"""Shared fixtures: an isolated cache, the real data root (skipping when absent); helpers are in helpers.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REAL_DATA = os.environ.get("ARTIFACTUAL_DATA")


@pytest.fixture(autouse=True, scope="session")
def _session_cache(tmp_path_factory: pytest.TempPathFactory):
    """Every test session caches into its own folder, so tests never read a developer's cache."""
    old = os.environ.get("ARTIFACTUAL_CACHE")
    os.environ["ARTIFACTUAL_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("ARTIFACTUAL_CACHE", None)
    else:
        os.environ["ARTIFACTUAL_CACHE"] = old


@pytest.fixture
def real_data_root() -> Path:
    if not REAL_DATA or not Path(REAL_DATA).is_dir():
        pytest.skip("real data absent: set ARTIFACTUAL_DATA to a folder holding lfw/, utkface/, orl/")
    return Path(REAL_DATA)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("ARTIFACTUAL_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow test: run `make test-slow` (ARTIFACTUAL_SLOW=1)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# --- bad and odd images, written on the fly --------------------------------------------------
