"""Make ``tests/`` importable so test modules can share ``strategies`` (pytest runs with
``--import-mode=importlib``, which does not put test directories on ``sys.path``)."""

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
