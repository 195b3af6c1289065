"""Every public object has a numpydoc docstring with a runnable Examples section.

The doctests themselves run through ``--doctest-modules`` (pyproject's addopts); this file
checks that they exist: every name in the ``__all__`` of the public modules has an
``Examples`` section with at least one ``>>>`` line, and is listed in ``docs/api.rst``.
The public methods that the public classes define themselves (not those inherited from
scikit-learn) have a ``Parameters`` section when they take arguments, and a ``Returns``
section otherwise.
"""

import importlib
import inspect
import re
from pathlib import Path

import pytest

MODULES = (
    "sklirl",
    "sklirl.envs",
    "sklirl.features",
    "sklirl.solvers",
    "sklirl.policies",
    "sklirl.irl",
    "sklirl.expectations",
    "sklirl.datasets",
    "sklirl.metrics",
    "sklirl.plotting",
    "sklirl.demos",
    "sklirl.utils.estimator_checks",
    "sklirl.base",
    "sklirl.quickstart",
)
API_RST = Path(__file__).resolve().parents[1] / "docs" / "api.rst"

# Public objects whose docstrings another change still has to write; an entry is
# "module.name" (or "defining_module.Class.method" for the methods test) and says why.
# Remove an entry once its docstring is written (the xfail is strict, so a pass fails).
PENDING: dict[str, str] = {}

# Data (not functions or classes) whose docstring is a comment in the source.
DATA_OK = (list, tuple, dict, frozenset, set, str)


def _public_names():
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if not name.startswith("__"):  # __version__
                yield module_name, name, getattr(module, name)


PUBLIC = list(_public_names())


def _param(qualname, *values):
    """A parametrize case, a strict xfail when ``qualname`` is PENDING."""
    marks = ()
    if qualname in PENDING:
        marks = pytest.mark.xfail(strict=True, reason=PENDING[qualname])
    return pytest.param(*values, id=qualname, marks=marks)


def _examples_section(doc):
    """The text of the numpydoc ``Examples`` section, or None."""
    match = re.search(r"^\s*Examples\n\s*-{8,}\n(.*?)(?=^\s*\w[\w ]*\n\s*-{3,}\n|\Z)",
                      doc, flags=re.M | re.S)
    return None if match is None else match.group(1)


@pytest.mark.parametrize("module_name, name, obj",
                         [_param(f"{m}.{n}", m, n, obj) for m, n, obj in PUBLIC])
def test_public_object_has_runnable_examples(module_name, name, obj):
    if isinstance(obj, DATA_OK):
        return  # constants (INAPPLICABLE_CHECKS, ...) are documented in the module
    doc = inspect.getdoc(obj) or ""
    examples = _examples_section(doc)
    assert examples is not None, f"{module_name}.{name} has no Examples section"
    assert ">>>" in examples, f"{module_name}.{name}: its Examples section has no doctest"


def _public_methods():
    seen = set()
    for _, _, obj in PUBLIC:
        if not inspect.isclass(obj) or obj in seen:
            continue
        seen.add(obj)
        for attr, member in vars(obj).items():
            if attr.startswith("_") or not callable(member):
                continue
            if attr.startswith("set_") and attr.endswith("_request"):
                continue  # scikit-learn's metadata-routing plumbing
            yield f"{obj.__module__}.{obj.__qualname__}.{attr}", member


METHODS = list(_public_methods())


@pytest.mark.parametrize("qualname, method", [_param(q, q, m) for q, m in METHODS])
def test_public_method_documents_its_signature(qualname, method):
    doc = inspect.getdoc(method) or ""
    assert doc, f"{qualname} has no docstring"
    params = [p for p in inspect.signature(method).parameters if p not in ("self", "cls")]
    has_returns = re.search(r"^\s*(Returns|Yields)\n\s*-{3,}", doc, flags=re.M)
    has_params = re.search(r"^\s*Parameters\n\s*-{3,}", doc, flags=re.M)
    if params:
        assert has_params, f"{qualname} takes {params} but has no Parameters section"
    assert has_returns or has_params, f"{qualname} has neither Parameters nor Returns"


def test_every_public_name_is_in_the_api_reference():
    text = API_RST.read_text()
    listed = set(re.findall(r"^\s{3}(\w+)\s*$", text, flags=re.M))
    missing = [f"{m}.{n}" for m, n, _ in PUBLIC if n not in listed]
    assert not missing, f"not in docs/api.rst: {missing}"
