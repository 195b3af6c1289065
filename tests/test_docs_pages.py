"""The code on documentation pages that are not docstrings runs as written.

``--doctest-modules`` runs the docstrings; the ``>>>`` examples of these ``.rst`` pages are run
here, with the same option flags as the docstrings (pyproject's ``doctest_optionflags``).
"""

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# page -> the optional dependencies its examples import
PAGES = {
    "index.rst": (),
    "user_guide/coming_from_imitation.rst": ("torch", "gymnasium"),
    "user_guide/reward_transfer.rst": ("torch",),
    "user_guide/uncertainty.rst": (),
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_examples_run(page):
    for module in PAGES[page]:
        pytest.importorskip(module)
    path = DOCS / page
    text = path.read_text()
    test = doctest.DocTestParser().get_doctest(text, {}, page, str(path), 0)
    assert test.examples, f"{page} has no >>> examples"
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {page} failed"
