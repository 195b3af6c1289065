"""Sphinx configuration of the sklirl documentation.

Build with ``docs/build.sh`` (``sphinx-build -W``: warnings are errors). Gallery examples
whose file name matches ``SKLIRL_GALLERY_PATTERN`` (default: all of them) are executed, the
slow ones in their reduced mode (``SKLIRL_EXAMPLE_FAST=1``) unless ``SKLIRL_GALLERY_FULL=1``;
the others are rendered without running them.
"""

import importlib
import os
import re
import sys
from datetime import date

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("MPLBACKEND", "Agg")

import sklirl  # noqa: E402

project = "sklirl"
author = "the sklirl developers"
copyright = f"{date.today().year}, {author}"
release = sklirl.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5", "auto_examples/*.json"]
root_doc = "index"

# -- autodoc / autosummary / numpydoc ---------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Parameter types are free-form ("array-like of shape (S, A)", "(n_features_in_,)"): let
# numpydoc escape them token by token (so ``n_features_in_`` or ``*obs_shape`` are not read as
# reStructuredText markup) and link only the names it knows.
import numpydoc.xref  # noqa: E402

# numpydoc's default aliases point into the numpy and python inventories, which offline
# builds do not have; keep only our own.
numpydoc.xref.DEFAULT_LINKS.clear()
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
numpydoc_xref_aliases = {
    "TabularMDP": "sklirl.envs.TabularMDP",
    "TabularPolicy": "sklirl.policies.TabularPolicy",
    "Trajectory": "sklirl.Trajectory",
}
# Every object the API reference lists has a docstring (GL08; autodoc leaves out members
# without one). The Examples sections of the public objects are checked by
# tests/test_docstrings.py: EX01 here would demand them of every method too, inherited
# scikit-learn ones included (88 warnings).
numpydoc_validation_checks = {"GL08"}


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn's metadata-routing and output plumbing (set_{fit,score,...}_request,
    # get_metadata_routing, set_output): their docstrings point into scikit-learn's own docs
    # and say nothing specific to sklirl.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    if name in ("get_metadata_routing", "set_output"):
        return True
    return None


_FIELD = re.compile(r"^(\s*[\w*, ]+ : )(.*)$")


def _escape_field_types(app, what, name, obj, options, lines):
    # Types of numpydoc fields are reStructuredText: "(n_iter_,)" would be a reference and
    # "(n, *obs_shape)" an unfinished emphasis. Escape both before numpydoc parses the fields.
    for i, line in enumerate(lines):
        match = _FIELD.match(line)
        if match:
            head, types = match.groups()
            types = re.sub(r"(?<![\\`])\b(\w+)_\b", r"\1\\_", types)
            types = re.sub(r"(?<![\\`])\*(\w)", r"\\*\1", types)
            lines[i] = head + types


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    # before numpydoc (priority 500) turns the sections into fields
    app.connect("autodoc-process-docstring", _escape_field_types, priority=100)

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "matplotlib": ("https://matplotlib.org/stable", None),
}
# The CI machine may be offline: intersphinx then only warns, which -W would make fatal.
if os.environ.get("SKLIRL_DOCS_OFFLINE", "1") == "1":
    intersphinx_mapping = {}

# -- sphinx-gallery ----------------------------------------------------------------------------
# Every example is executed. The fast ones (seconds on 2 cores) run as written; the long ones
# (GAIL with PPO, the EVD sweep) run in their reduced mode (SKLIRL_EXAMPLE_FAST=1: smaller
# worlds, fewer demo counts and rounds), which their text describes, so their pages have
# figures too. SKLIRL_GALLERY_FULL=1 runs the long ones in full (minutes).
FAST_EXAMPLES = (
    "plot_quickstart",  # draws the landing page's figure (index.rst): always run it
    "plot_grid_search_custom_features",
    "plot_frozenlake",
    "plot_load_external_demos",
    "plot_apprenticeship_gridworld",
)
# The run mode of each example is set by _gallery_modes.example_mode (a module next to this
# file, named by a string so that the configuration pickles).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _gallery_modes import SLOW_EXAMPLES  # noqa: E402

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": os.environ.get(
        "SKLIRL_GALLERY_PATTERN",
        "/(" + "|".join(FAST_EXAMPLES + SLOW_EXAMPLES) + r")\.py",
    ),
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "plot_gallery": "True",
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib", "seaborn", "_gallery_modes.example_mode"),
    "reset_modules_order": "both",
    # The execution-times pages load jQuery and DataTables from a CDN; the pages must work
    # offline, and build.sh prints the times anyway.
    "write_computation_times": False,
}

# -- Math: MathJax shipped with the build ------------------------------------------------------
# The pages must render their equations offline (a cluster node, the built HTML opened from
# disk), so MathJax is not loaded from a CDN: the sphinx-mathjax-offline package (docs extra)
# bundles MathJax 3 with its fonts, and its files are copied to _static/mathjax.
try:
    _mathjax_pkg = importlib.import_module("sphinx-mathjax-offline")
except ImportError as exc:
    raise ImportError("the docs need sphinx-mathjax-offline, which bundles MathJax for offline "
                      "pages: pip install -e \".[docs]\"") from exc
_MATHJAX_STATIC = os.path.join(os.path.dirname(_mathjax_pkg.__file__), "static")
mathjax_path = "mathjax/tex-chtml.js"

# -- HTML --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklirl {release}"
html_static_path = [_MATHJAX_STATIC, "_static"]
html_css_files = ["sklirl.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
}
html_sidebars = {"index": [], "install": [], "benchmarks": []}
