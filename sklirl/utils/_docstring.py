"""Parameter descriptions shared by several estimators, written once.

Write ``{features}`` (alone on its line, indented like the other parameters) in a class
docstring's Parameters section and decorate the class with :func:`fill_doc`; the marker is
replaced by the shared description, re-indented to match. Only the markers named in
:data:`SHARED_PARAMETERS` are replaced, so other braces in a docstring are left alone.

Examples
--------
>>> from sklirl.utils._docstring import fill_doc
>>> @fill_doc
... class Estimator:
...     '''An estimator.
...
...     Parameters
...     ----------
...     {random_state}
...     '''
>>> print(Estimator.__doc__.splitlines()[4])
    random_state : int, RandomState instance or None, default=None
"""

from __future__ import annotations

import re

__all__ = ["SHARED_PARAMETERS", "fill_doc"]

#: Shared numpydoc parameter entries, first line unindented, the rest indented by 4.
SHARED_PARAMETERS = {
    "features": """features : transformer, default=None
    Feature map from the env's state descriptors to reward features (any scikit-learn
    transformer or Pipeline; its parameters are tunable as ``features__<name>``). None
    means :class:`~sklirl.features.OneHotStates`, one reward weight per state.""",
    "solver": """solver : solver, default=None
    Planner or RL algorithm with ``solve(env, reward) -> policy``; cloned into
    ``solver_`` before use, its parameters tunable as ``solver__<name>``.""",
    "expectation": """expectation : expectation estimator, default=None
    How the feature expectations of a policy are computed
    (:class:`~sklirl.expectations.ExactExpectation` or
    :class:`~sklirl.expectations.MonteCarloExpectation`); cloned into ``expectation_``.""",
    "random_state": """random_state : int, RandomState instance or None, default=None
    Seed of every random choice in ``fit`` (sampling, initialisation, sub-estimators
    without their own seed). Pass an int for reproducible results on any number of jobs
    or machines.""",
    "verbose": """verbose : int, default=0
    Progress output during ``fit``: 0 silent, 1 a progress line, 2 a line per
    iteration.""",
    "n_jobs": """n_jobs : int, default=None
    Number of joblib workers for independent work inside ``fit``. None means 1 unless
    in a :func:`joblib.parallel_config` context; -1 means all processors. Results do not
    depend on it.""",
}

_MARKER = re.compile(r"^(?P<indent>[ \t]*)\{(?P<name>\w+)\}[ \t]*$", re.MULTILINE)


def fill_doc(obj):
    """Replace ``{name}`` marker lines of ``obj.__doc__`` by the shared parameter docs."""

    def substitute(match):
        name = match.group("name")
        if name not in SHARED_PARAMETERS:
            return match.group(0)
        indent = match.group("indent")
        return "\n".join(indent + line for line in SHARED_PARAMETERS[name].splitlines())

    if obj.__doc__:
        obj.__doc__ = _MARKER.sub(substitute, obj.__doc__)
    return obj
