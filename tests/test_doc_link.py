"""The HTML repr of every public estimator links to its page of the API reference.

The estimators are collected from the ``__all__`` of every public module of sklirl (walked,
not listed), so an estimator added later is covered without editing this file; its link
must name the page that ``docs/api.rst`` generates for it.
"""

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from sklearn.base import BaseEstimator

import sklirl
from sklirl.utils._doc_link import DOCS_URL, docs_version, public_path

API_RST = Path(__file__).resolve().parents[1] / "docs" / "api.rst"


def _public_modules():
    yield "sklirl"
    for info in pkgutil.walk_packages(sklirl.__path__, prefix="sklirl."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            yield info.name


def _public_estimators():
    found = {}
    for module_name in _public_modules():
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # an optional dependency that is not installed
            continue
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return sorted(found.values(), key=lambda cls: cls.__name__)


ESTIMATORS = _public_estimators()


def _documented_paths():
    """``module.name`` of every entry of the autosummary tables in docs/api.rst."""
    paths, module, in_table = set(), None, False
    for line in API_RST.read_text().splitlines():
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = match.group(1)
        elif line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and (match := re.match(r"   ([A-Za-z_]\w*)$", line)):
            paths.add(f"{module}.{match.group(1)}")
        elif in_table and line and not line.startswith(" "):
            in_table = False
    return paths


def test_the_public_estimators_are_found():
    names = {cls.__name__ for cls in ESTIMATORS}
    assert {"MaxMarginIRL", "MaxEntIRL", "GAIL", "SoftValueIteration", "ValueIteration",
            "OneHotStates", "ExactExpectation", "MonteCarloExpectation"} <= names


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_html_repr_links_to_the_api_page(cls):
    path = public_path(cls)
    assert path is not None, f"{cls.__name__} is exported but has no public path"
    assert path in _documented_paths(), f"docs/api.rst has no page for {path}"
    url = DOCS_URL.format(version=docs_version()) + f"generated/{path}.html"
    html = cls()._repr_html_()
    assert f'href="{url}"' in html, f"{cls.__name__}'s HTML repr does not link to {url}"


def test_classes_without_a_page_get_no_link():
    from sklirl import MaxEntIRL

    class MyIRL(MaxEntIRL):  # a user's subclass, not exported by sklirl
        pass

    assert public_path(MyIRL) is None
    assert MyIRL()._get_doc_link() == ""
    assert "generated/" not in MyIRL()._repr_html_()


@pytest.mark.parametrize("version, expected", [("0.1.0.dev0", "latest"), ("0.2.0", "0.2.0")])
def test_docs_version(version, expected):
    assert docs_version(version) == expected
