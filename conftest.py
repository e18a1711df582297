"""Project-wide pytest set-up: nbval's sanitizer file and notebook timings."""

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
NOTEBOOK_SECONDS = {}
# Test data (a demo pset's generated check files) is read by tests, not imported.
collect_ignore_glob = ["tests/data/*"]   # lecture path -> seconds spent executing it under nbval

os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_configure(config):
    # An absolute path, so that pytest works from any directory.
    if getattr(config.option, "nbval_sanitize_with", "unset") is None:
        config.option.nbval_sanitize_with = str(ROOT / "tests" / "nbval_sanitize.cfg")


def pytest_runtest_call(item):
    item._mc_started = time.perf_counter()


def pytest_runtest_teardown(item):
    path = Path(str(item.fspath))
    if path.suffix == ".ipynb" and hasattr(item, "_mc_started"):
        NOTEBOOK_SECONDS[path] = NOTEBOOK_SECONDS.get(path, 0.0) + time.perf_counter() - item._mc_started


@pytest.fixture
def notebook_seconds():
    """{lecture path: seconds its fresh execution took under nbval in this session}."""
    return NOTEBOOK_SECONDS
