"""Sphinx configuration of the sklirl documentation.

Build with ``docs/build.sh`` (``sphinx-build -W``: warnings are errors). Gallery examples
whose file name matches ``SKLIRL_GALLERY_PATTERN`` (default: the fast ones) are executed; the
others are rendered without running them. ``SKLIRL_GALLERY_PATTERN=.`` runs them all.
"""

import os
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
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Our docstrings use free-form types ("TabularMDP", "array-like of shape (S, A)"); do not
# turn every word of them into a cross-reference that cannot resolve.
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

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
# Fast examples (seconds on 2 cores) run on every build; the long ones (GAIL with PPO, EVD
# sweeps) are rendered from their source with their text but without output figures.
FAST_EXAMPLES = (
    "plot_quickstart",
    "plot_grid_search_custom_features",
    "plot_frozenlake",
    "plot_load_external_demos",
    "plot_apprenticeship_gridworld",
)
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": os.environ.get(
        "SKLIRL_GALLERY_PATTERN", "/(" + "|".join(FAST_EXAMPLES) + r")\.py"
    ),
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "plot_gallery": "True",
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "reference_url": {"sklirl": None},
}

# -- HTML --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklirl {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
}
html_sidebars = {"index": [], "install": [], "benchmarks": []}
