"""Make ``tests/`` importable so test modules can share ``strategies`` (pytest runs with
``--import-mode=importlib``, which does not put test directories on ``sys.path``)."""

import os
import sys
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


def pytest_collection_modifyitems(config, items):
    """``slow`` tests (accuracy tables that take minutes) run only with SKLIRL_SLOW_TESTS=1."""
    if os.environ.get("SKLIRL_SLOW_TESTS", "0") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set SKLIRL_SLOW_TESTS=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
