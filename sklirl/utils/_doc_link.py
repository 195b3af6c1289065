"""The "?" link to the API page in the HTML repr of sklirl's estimators (notebooks).

scikit-learn draws an estimator's HTML repr (``est._repr_html_()``, what Jupyter shows) with
a "?" icon that links to the estimator's documentation when the estimator names its
documentation through ``_doc_link_module``, ``_doc_link_template`` and
``_doc_link_url_param_generator`` (``sklearn.utils._repr_html.base``). Every public
estimator of sklirl (IRL estimators, solvers, expectation estimators, feature maps) mixes in
:class:`DocLinkMixin`, placed before ``BaseEstimator`` in its bases, so that the link points
at the page that ``docs/api.rst`` generates for it (``generated/<public path>.html``).
"""

import importlib

#: Where the built documentation is published; ``{version}`` is ``latest`` for development
#: versions (``.dev`` in ``sklirl.__version__``) and the release number otherwise.
DOCS_URL = "https://sklirl.readthedocs.io/en/{version}/"


def docs_version(version=None):
    """The documentation version the links point at (of this installation by default)."""
    if version is None:
        version = importlib.import_module("sklirl").__version__
    return "latest" if "dev" in version else version


def public_path(cls):
    """The shortest public dotted path of ``cls`` (``"sklirl.MaxEntIRL"``), or None.

    The candidates are the public prefixes of the defining module
    (``sklirl.irl._max_ent`` gives ``sklirl`` then ``sklirl.irl``); the first whose
    ``__all__`` exports ``cls`` under its own name wins. That is the module under which
    ``docs/api.rst`` lists it, so the autosummary page is ``generated/<path>.html``.
    """
    parts = cls.__module__.split(".")
    for depth in range(1, len(parts) + 1):
        if parts[depth - 1].startswith("_"):
            break
        module_name = ".".join(parts[:depth])
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # an optional dependency of a subpackage
            continue
        if (cls.__name__ in getattr(module, "__all__", ())
                and getattr(module, cls.__name__, None) is cls):
            return f"{module_name}.{cls.__name__}"
    return None


class DocLinkMixin:
    """Point the HTML repr's documentation link at sklirl's API page of the class.

    Classes that are not public (no module's ``__all__`` exports them: private helpers,
    subclasses written by users) get no link.

    Examples
    --------
    >>> from sklirl import MaxEntIRL
    >>> MaxEntIRL()._get_doc_link()
    'https://sklirl.readthedocs.io/en/.../generated/sklirl.MaxEntIRL.html'
    """

    _doc_link_module = "sklirl"
    _doc_link_template = DOCS_URL + "generated/{path}.html"

    def _doc_link_url_param_generator(self):
        return {"version": docs_version(), "path": public_path(type(self))}

    def _get_doc_link(self):
        if public_path(type(self)) is None:
            return ""
        return super()._get_doc_link()
