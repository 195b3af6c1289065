"""Checks that an IRL estimator follows the scikit-learn conventions on ``(demos, env)`` data.

scikit-learn's :mod:`sklearn.utils.estimator_checks` fits estimators on 2-D arrays ``X, y``.
IRL estimators are fitted with ``fit(demos, env)`` instead, declare
``tags.input_tags.two_d_array = False``, and scikit-learn then yields none of its checks for
them. This module runs, for such an estimator:

- the scikit-learn checks that need no data, unchanged (:data:`SKLEARN_CHECKS`: cloning,
  ``get_params``/``set_params``, repr, tags, nothing set in ``__init__``, not-fitted errors);
- the assertions of scikit-learn's data checks, re-implemented on ``(demos, env)`` data
  (fit returns self, parameters left untouched, idempotent fit, pickling, no ``__dict__``
  change in prediction methods, demo-order invariance, empty-data and bad-input errors,
  sample weights, parameter validation, ...).

Every scikit-learn check that is neither run nor re-implemented is listed, with its reason,
in :data:`INAPPLICABLE_CHECKS`. The package's test suite keeps its other exceptions here too,
so that they are read in one place: :data:`NO_FIT_INAPPLICABLE_CHECKS` (checks left out for
solvers and expectation estimators, which have no ``fit``), :data:`CHECK_PARAMS` (estimators
checked with other than their default parameters) and :data:`ENVIRONMENT_SKIPPED_CHECKS`
(checks scikit-learn skips in an ordinary session, and where they run instead).

Use :func:`check_estimator` or :func:`parametrize_with_checks` on your own estimators as you
would scikit-learn's:

>>> from sklirl.utils.estimator_checks import check_estimator
>>> from sklirl.utils._testing_estimators import TabularBehaviorCloning
>>> results = check_estimator(TabularBehaviorCloning())  # raises on the first failure
>>> [r["check_name"] for r in results if r["status"] == "skipped"]  # no max_iter/n_rounds
['check_n_iter', 'check_sub_estimators']
"""

from __future__ import annotations

import inspect
import pickle
import warnings
from copy import deepcopy
from dataclasses import dataclass
from functools import partial

import joblib
import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks as _sk_checks
from sklearn.utils._param_validation import (
    InvalidParameterError,
    generate_invalid_param_val,
    make_constraint,
)
from sklearn.utils._testing import SkipTest, create_memmap_backed_data
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "CHECK_PARAMS",
    "CheckData",
    "ENVIRONMENT_SKIPPED_CHECKS",
    "INAPPLICABLE_CHECKS",
    "NO_FIT_INAPPLICABLE_CHECKS",
    "SKLEARN_CHECKS",
    "check_estimator",
    "estimator_checks_generator",
    "make_check_data",
    "parametrize_with_checks",
]

# ---------------------------------------------------------------------------------------
# Which of scikit-learn's checks run, and why the others cannot
# ---------------------------------------------------------------------------------------
#: scikit-learn checks that need no training data; they run unchanged on IRL estimators.
SKLEARN_CHECKS = (
    _sk_checks.check_estimator_cloneable,
    _sk_checks.check_estimator_tags_renamed,
    _sk_checks.check_valid_tag_types,
    _sk_checks.check_estimator_repr,
    _sk_checks.check_no_attributes_set_in_init,
    _sk_checks.check_mixin_order,
    _sk_checks.check_do_not_raise_errors_in_init_or_set_params,
    _sk_checks.check_parameters_default_constructible,
    _sk_checks.check_get_params_invariance,
    _sk_checks.check_set_params,
    # Calls predict/predict_proba on a 2-D array before fit; the NotFittedError comes first.
    _sk_checks.check_estimators_unfitted,
)

_ON_DEMOS = "fits on 2-D arrays X, y, not on (demos, env); "
_NO_2D = "needs 2-D array input X, which fit(demos, env) does not take; "

#: scikit-learn checks that cannot apply to ``fit(demos, env)``: ``{check name: reason}``.
#: Where the property still makes sense, the reason names the check of this module that
#: asserts it on ``(demos, env)`` data.
INAPPLICABLE_CHECKS = {
    "check_fit_score_takes_y": _ON_DEMOS + "check_fit_signature asserts that y is the second "
    "argument of fit and score and that fit(demos, None, env=env) works.",
    "check_estimators_overwrite_params": _ON_DEMOS + "re-implemented as "
    "check_estimators_overwrite_params on (demos, env).",
    "check_dont_overwrite_parameters": _ON_DEMOS + "re-implemented as "
    "check_dont_overwrite_parameters on (demos, env).",
    "check_estimators_fit_returns_self": _ON_DEMOS + "re-implemented as "
    "check_fit_returns_self on (demos, env).",
    "check_readonly_memmap_input": _ON_DEMOS + "check_readonly_memmap_input fits on "
    "read-only memory-mapped demos.",
    "check_n_features_in_after_fitting": "is a no-op for estimators without 2-D input; "
    "IRL estimators take state indices (tabular) whose number of features is not "
    "configurable.",
    "check_positive_only_tag_during_fit": _ON_DEMOS + "demos are integer state and action "
    "indices, so the positive_only tag has no meaning.",
    "check_estimators_dtypes": _ON_DEMOS + "check_estimators_dtypes fits on int32, int64, "
    "integral float64 and Python-int demos and compares the results.",
    "check_sample_weights_pandas_series": _ON_DEMOS + "sample weights are per trajectory; "
    "check_sample_weights accepts lists and arrays.",
    "check_sample_weights_not_an_array": _ON_DEMOS + "check_sample_weights fits with a "
    "list of weights.",
    "check_sample_weights_list": _ON_DEMOS + "check_sample_weights fits with a list of "
    "weights.",
    "check_all_zero_sample_weights_error": _ON_DEMOS + "check_sample_weights asserts a "
    "ValueError for all-zero weights.",
    "check_sample_weights_shape": _ON_DEMOS + "check_sample_weights asserts a ValueError for "
    "weights of the wrong shape.",
    "check_sample_weights_not_overwritten": _ON_DEMOS + "check_sample_weights asserts that "
    "the weights are not modified.",
    "check_sample_weight_equivalence_on_dense_data": _ON_DEMOS + "check_sample_weights "
    "asserts that unit weights give the same estimator as no weights.",
    "check_complex_data": _ON_DEMOS + "check_estimators_nan_inf asserts errors for "
    "non-finite and non-integer states.",
    "check_dtype_object": _ON_DEMOS + "demos are coerced by sklirl.demos.check_demos; "
    "check_estimators_nan_inf asserts its errors for bad values.",
    "check_estimators_empty_data_messages": _ON_DEMOS + "re-implemented as "
    "check_estimators_empty_data_messages (no demos: ValueError).",
    "check_pipeline_consistency": _ON_DEMOS + "re-implemented as check_pipeline_consistency "
    "with env routed to the step as a fit parameter.",
    "check_estimators_nan_inf": _ON_DEMOS + "re-implemented as check_estimators_nan_inf on "
    "demos with NaN, fractional and out-of-range states and actions.",
    "check_estimator_sparse_tag": _NO_2D + "demos are lists of trajectories, never sparse "
    "matrices.",
    "check_estimator_sparse_array": _NO_2D + "demos are never sparse arrays.",
    "check_estimator_sparse_matrix": _NO_2D + "demos are never sparse matrices.",
    "check_estimators_pickle": _ON_DEMOS + "re-implemented as check_estimators_pickle "
    "(plain and read-only memory-mapped round trips, equal predictions).",
    "check_f_contiguous_array_estimator": _NO_2D + "memory layout of a 2-D X has no "
    "counterpart in a list of trajectories.",
    "check_methods_sample_order_invariance": _ON_DEMOS + "re-implemented as "
    "check_methods_sample_order_invariance (permuted states and demos), plus "
    "check_fit_demo_order_invariance.",
    "check_methods_subset_invariance": _ON_DEMOS + "check_methods_sample_order_invariance "
    "also compares predictions on a subset of the states.",
    "check_fit2d_1sample": _NO_2D + "check_fit_one_demo fits on a single one-step demo.",
    "check_fit2d_1feature": _NO_2D + "the number of input features of a tabular env is "
    "fixed (one state index).",
    "check_dict_unchanged": _ON_DEMOS + "re-implemented as check_dict_unchanged (predict, "
    "predict_proba, predict_reward, score).",
    "check_fit_idempotent": _ON_DEMOS + "re-implemented as check_fit_idempotent.",
    "check_fit_check_is_fitted": _ON_DEMOS + "re-implemented as check_fit_check_is_fitted.",
    "check_n_features_in": _NO_2D + "tabular IRL estimators predict from state indices; "
    "n_features_in_ is set only for gymnasium envs with flat Box observations.",
    "check_fit1d": "asserts that 1-D X is rejected, but fit takes a list of trajectories; "
    "check_estimators_nan_inf asserts the errors for malformed demos.",
    "check_fit2d_predict1d": _NO_2D + "predict takes a 1-D array of state indices by "
    "design.",
    "check_array_api_input": _NO_2D + "demos are not array-API arrays.",
}


#: scikit-learn no-data checks (of :data:`SKLEARN_CHECKS`) left out for the sub-estimators
#: that have no ``fit`` (solvers, expectation estimators): ``{check name: reason}``.
NO_FIT_INAPPLICABLE_CHECKS = {
    "check_estimators_unfitted": "asserts that prediction methods raise NotFittedError "
    "before fit; solvers and expectation estimators have no fit and no prediction methods "
    "(solve and occupancy are pure functions of their parameters and the env).",
}

#: Estimators checked with other than their default parameters: ``{class name: (list of
#: parameter sets, reason)}``. scikit-learn does the same for its own estimators
#: (``sklearn.utils._test_common.instance_generator``).
CHECK_PARAMS = {
    "OneHotStates": (
        [{"handle_unknown": "ignore"}, {"handle_unknown": "ignore", "sparse_output": True}],
        "check_fit_idempotent transforms rows unseen in fit, which the default "
        "handle_unknown='error' rightly rejects; scikit-learn checks OneHotEncoder with "
        "handle_unknown='ignore' for the same reason.",
    ),
}

#: Checks that scikit-learn skips in an ordinary session: ``{check name: reason and where it
#: runs instead}``.
ENVIRONMENT_SKIPPED_CHECKS = {
    "check_array_api_input": "scikit-learn skips it unless SCIPY_ARRAY_API=1 is set before "
    "scipy is imported; setting it for a whole test session would change scipy's behaviour "
    "for every other test, so the package's tests run it for the feature maps in a "
    "subprocess with the variable set (tests/test_common.py).",
}


def _check_name(check):
    func = check.func if isinstance(check, partial) else check
    return func.__name__


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckData:
    """The ``(demos, env)`` data the checks fit on.

    Attributes
    ----------
    demos : list of Trajectory
        Training demonstrations.
    env : TabularMDP
    test_demos : list of Trajectory
        Held-out demonstrations for ``score``.
    states : ndarray of shape (n,)
        States to predict on.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.datasets import make_expert_demos
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.utils.estimator_checks import CheckData
    >>> env = GridWorld(4, gamma=0.9)
    >>> demos, _ = make_expert_demos(env, 10, horizon=6, random_state=0)
    >>> data = CheckData(demos[:8], env, demos[8:], states=np.arange(env.n_states))
    >>> len(data.demos), len(data.test_demos), data.states.shape
    (8, 2, (16,))
    """

    demos: list
    env: object
    test_demos: list
    states: np.ndarray


def make_check_data(data=None):
    """Build the :class:`CheckData` of the checks.

    Parameters
    ----------
    data : CheckData or (demos, env) tuple, default=None
        None gives 12 soft-optimal demonstrations of 8 steps in a 3 x 3 ``GridWorld``
        (gamma = 0.9). A tuple ``(demos, env)`` of a tabular env predicts on all its states
        and scores on the training demos.

    Returns
    -------
    data : CheckData

    Examples
    --------
    >>> from sklirl.utils.estimator_checks import make_check_data
    >>> data = make_check_data()
    >>> len(data.demos), len(data.test_demos), data.env.n_states
    (12, 4, 9)
    >>> data.states.tolist()
    [0, 1, 2, 3, 4, 5, 6, 7, 8]
    """
    if isinstance(data, CheckData):
        return data
    from ..datasets import make_expert_demos
    from ..demos import check_demos
    from ..envs import GridWorld

    if data is None:
        env = GridWorld(3, gamma=0.9)
        demos, _ = make_expert_demos(env, 16, horizon=8, random_state=0)
        return CheckData(demos[:12], env, demos[12:], np.arange(env.n_states))
    demos, env = data
    demos = check_demos(demos)
    n_states = getattr(env, "n_states", None)
    if n_states is None:
        raise ValueError("make_check_data builds states only for tabular envs; pass a CheckData.")
    return CheckData(list(demos), env, list(demos), np.arange(n_states))


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------
_PREDICT_METHODS = ("predict", "predict_proba", "predict_reward")


def _set_random_state(estimator, seed=0):
    """Fix every ``random_state`` parameter, nested ones included, to an integer seed."""
    params = estimator.get_params(deep=True)
    keys = [k for k in params if k == "random_state" or k.endswith("__random_state")]
    # Shallow keys first so that a nested estimator replaced by set_params is not targeted.
    for key in sorted(keys, key=lambda k: k.count("__")):
        estimator.set_params(**{key: seed})
    return estimator


def _fitted(estimator_orig, data, seed=0, demos=None, **fit_params):
    est = _set_random_state(clone(estimator_orig), seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of deliberately tiny fits
        est.fit(data.demos if demos is None else demos, data.env, **fit_params)
    return est


def _predictions(est, data, demos=None):
    """Outputs of every prediction method (and ``score``) of a fitted estimator."""
    out = {}
    for method in _PREDICT_METHODS:
        if hasattr(est, method):
            out[method] = np.asarray(getattr(est, method)(data.states))
    if hasattr(est, "predict_reward"):
        actions = np.arange(len(data.states)) % data.env.n_actions
        out["predict_reward(states, actions)"] = np.asarray(
            est.predict_reward(data.states, actions)
        )
    if hasattr(est, "score"):
        out["score"] = np.asarray(est.score(data.test_demos if demos is None else demos))
    return out


def _assert_same_predictions(a, b, what, rtol=1e-7, atol=1e-9):
    assert a.keys() == b.keys(), f"{what}: different prediction methods {a.keys()} {b.keys()}"
    for method in a:
        np.testing.assert_allclose(
            a[method], b[method], rtol=rtol, atol=atol, err_msg=f"{what}: {method} differs"
        )


def _as_pairs(demos, states_dtype=None, actions_dtype=None):
    return [
        (np.array(t.states, dtype=states_dtype), np.array(t.actions, dtype=actions_dtype))
        for t in demos
    ]


# ---------------------------------------------------------------------------------------
# The checks on (demos, env) data. Each takes (name, estimator_orig, data).
# ---------------------------------------------------------------------------------------
def check_fit_returns_self(name, estimator_orig, data=None):
    """``fit(demos, env)`` and ``fit(demos, env=env)`` return the estimator itself."""
    data = make_check_data(data)
    est = _set_random_state(clone(estimator_orig))
    assert est.fit(data.demos, data.env) is est, f"{name}.fit(demos, env) must return self"
    assert est.fit(data.demos, env=data.env) is est, f"{name}.fit(demos, env=env) must return self"


def check_fit_signature(name, estimator_orig, data=None):
    """``y`` is the second argument of fit and score (Pipeline passes it as None)."""
    data = make_check_data(data)
    est = _set_random_state(clone(estimator_orig))
    for method in ("fit", "score"):
        args = list(inspect.signature(getattr(est, method)).parameters)
        assert args[:2] == ["demos", "y"] or args[1] == "y", (
            f"{name}.{method} must take (demos, y=None, *, env=None); got arguments {args}"
        )
        assert "env" in args, f"{name}.{method} must accept env= as a keyword"
    assert est.fit(data.demos, None, env=data.env) is est
    reference = est.score(data.test_demos)
    assert est.score(data.test_demos, None) == reference
    assert est.score(data.test_demos, data.env) == reference
    assert est.score(data.test_demos, env=data.env) == reference
    # An equal copy of the env (as a joblib or Dask worker unpickles it) is the same env.
    copy = pickle.loads(pickle.dumps(data.env))
    np.testing.assert_allclose(est.score(data.test_demos, env=copy), reference, rtol=1e-9)


def check_requires_env(name, estimator_orig, data=None):
    """A missing or invalid environment is a TypeError that says how to pass one."""
    data = make_check_data(data)
    est = clone(estimator_orig)
    # An estimator that can learn from the demos alone (BehavioralCloning with a scikit-learn
    # estimator) says so with _requires_env = False.
    if getattr(est, "_requires_env", True):
        with _raises(TypeError, "env"):
            est.fit(data.demos)
    with _raises(TypeError, "env"):
        est.fit(data.demos, np.arange(len(data.demos)))
    with _raises(TypeError, "env"):
        est.fit(data.demos, env="GridWorld")
    with _raises(TypeError):
        est.fit(data.demos, data.env, env=deepcopy(data.env))
    if not getattr(est, "_accepts_gymnasium", False):
        try:
            import gymnasium
        except ImportError:
            return
        gym_env = gymnasium.make("FrozenLake-v1")
        with _raises(TypeError, "from_gymnasium"):
            est.fit(data.demos, gym_env)


def check_estimators_overwrite_params(name, estimator_orig, data=None):
    """fit neither replaces nor mutates any parameter (joblib.hash of each is unchanged)."""
    data = make_check_data(data)
    est = _set_random_state(clone(estimator_orig))
    before = {k: joblib.hash(v) for k, v in est.get_params(deep=True).items()}
    est.fit(data.demos, data.env)
    after = {k: joblib.hash(v) for k, v in est.get_params(deep=True).items()}
    changed = sorted(k for k in before if before[k] != after.get(k))
    assert not changed, f"{name}.fit changed or mutated the parameters {changed}"


def check_dont_overwrite_parameters(name, estimator_orig, data=None):
    """fit adds only private or trailing-underscore attributes and changes no public one."""
    data = make_check_data(data)
    est = _set_random_state(clone(estimator_orig))
    before = dict(vars(est))
    est.fit(data.demos, data.env)
    public = [k for k in vars(est) if not (k.startswith("_") or k.endswith("_"))]
    added = [k for k in public if k not in before]
    assert not added, f"{name}.fit added public attributes {added}"
    changed = [k for k in public if vars(est)[k] is not before[k]]
    assert not changed, f"{name}.fit changed public attributes {changed}"


def check_fit_idempotent(name, estimator_orig, data=None):
    """Fitting twice gives the same predictions as fitting once."""
    data = make_check_data(data)
    est = _fitted(estimator_orig, data)
    first = _predictions(est, data)
    _set_random_state(est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(data.demos, data.env)
    _assert_same_predictions(first, _predictions(est, data), f"{name} refitted")


def check_fit_check_is_fitted(name, estimator_orig, data=None):
    """``check_is_fitted`` fails before fit and passes after it."""
    data = make_check_data(data)
    est = clone(estimator_orig)
    with _raises(NotFittedError):
        check_is_fitted(est)
    check_is_fitted(_fitted(est, data))


def check_estimators_unfitted(name, estimator_orig, data=None):
    """Every prediction method and score raise NotFittedError before fit."""
    data = make_check_data(data)
    est = clone(estimator_orig)
    for method in _PREDICT_METHODS:
        if hasattr(est, method):
            with _raises(NotFittedError):
                getattr(est, method)(data.states)
    if hasattr(est, "score"):
        with _raises(NotFittedError):
            est.score(data.test_demos, data.env)


def check_estimators_pickle(name, estimator_orig, data=None):
    """A fitted estimator survives pickling (and a read-only memory map) with equal output."""
    data = make_check_data(data)
    est = _fitted(estimator_orig, data)
    expected = _predictions(est, data)
    restored = pickle.loads(pickle.dumps(est))
    _assert_same_predictions(expected, _predictions(restored, data), f"unpickled {name}")
    mapped = create_memmap_backed_data(est)
    _assert_same_predictions(expected, _predictions(mapped, data), f"memory-mapped {name}")


def check_dict_unchanged(name, estimator_orig, data=None):
    """Prediction methods and score leave the estimator's ``__dict__`` as it was."""
    data = make_check_data(data)
    est = _fitted(estimator_orig, data)
    calls = {m: partial(getattr(est, m), data.states) for m in _PREDICT_METHODS if hasattr(est, m)}
    if hasattr(est, "score"):
        calls["score"] = partial(est.score, data.test_demos)
        calls["score(env)"] = partial(est.score, data.test_demos, data.env)
    for method, call in calls.items():
        before = dict(vars(est))
        call()
        after = vars(est)
        assert after.keys() == before.keys(), f"{name}.{method} added or removed attributes"
        changed = [k for k in before if after[k] is not before[k]]
        assert not changed, f"{name}.{method} changed the attributes {changed}"


def check_methods_sample_order_invariance(name, estimator_orig, data=None):
    """Predictions follow a permutation (or a subset) of the states; score ignores demo order."""
    data = make_check_data(data)
    est = _fitted(estimator_orig, data)
    rng = np.random.RandomState(0)
    perm = rng.permutation(len(data.states))
    subset = perm[: max(1, len(perm) // 2)]
    for method in _PREDICT_METHODS:
        if hasattr(est, method):
            full = np.asarray(getattr(est, method)(data.states))
            for idx, what in ((perm, "permuted"), (subset, "a subset of")):
                np.testing.assert_allclose(
                    np.asarray(getattr(est, method)(data.states[idx])), full[idx],
                    rtol=1e-9, atol=1e-12, err_msg=f"{name}.{method} on {what} states",
                )
    if hasattr(est, "score"):
        order = rng.permutation(len(data.test_demos))
        np.testing.assert_allclose(
            est.score([data.test_demos[i] for i in order]), est.score(data.test_demos),
            rtol=1e-9, err_msg=f"{name}.score depends on the order of the demos",
        )


def check_fit_demo_order_invariance(name, estimator_orig, data=None):
    """Fitting on the demos in another order gives the same estimator."""
    if not getattr(estimator_orig, "_demo_order_invariant", True):
        raise SkipTest(
            f"{name} visits demo steps in a random order (_demo_order_invariant = False)."
        )
    data = make_check_data(data)
    order = np.random.RandomState(1).permutation(len(data.demos))
    a = _predictions(_fitted(estimator_orig, data), data)
    b = _predictions(_fitted(estimator_orig, data, demos=[data.demos[i] for i in order]), data)
    _assert_same_predictions(a, b, f"{name} fitted on permuted demos", rtol=1e-6, atol=1e-8)


def check_estimators_empty_data_messages(name, estimator_orig, data=None):
    """No demos is a ValueError."""
    data = make_check_data(data)
    with _raises(ValueError):
        clone(estimator_orig).fit([], data.env)


def check_estimators_nan_inf(name, estimator_orig, data=None):
    """NaN, fractional and out-of-range states or actions are ValueErrors naming the step."""
    data = make_check_data(data)
    S, A = data.env.n_states, data.env.n_actions
    first = data.demos[0]
    states = np.array(first.states, dtype=np.float64)
    actions = np.array(first.actions)
    bad = {
        "NaN state": (np.where(np.arange(len(states)) == 1, np.nan, states), actions),
        "infinite state": (np.where(np.arange(len(states)) == 1, np.inf, states), actions),
        "fractional state": (states + (np.arange(len(states)) == 1) * 0.5, actions),
        "state out of range": (np.where(np.arange(len(states)) == 1, S, states), actions),
        "negative action": (states, np.where(np.arange(len(actions)) == 1, -1, actions)),
        "action out of range": (states, np.where(np.arange(len(actions)) == 1, A, actions)),
    }
    for what, pair in bad.items():
        with _raises(ValueError, "step 1", err_msg=f"{name}.fit with a {what}"):
            clone(estimator_orig).fit([pair, *data.demos[1:]], data.env)


def check_estimators_dtypes(name, estimator_orig, data=None):
    """int32, int64, integral float64 and Python-int demos give the same estimator."""
    data = make_check_data(data)
    reference = _predictions(_fitted(estimator_orig, data), data)
    variants = {
        "int32": _as_pairs(data.demos, np.int32, np.int32),
        "float64": _as_pairs(data.demos, np.float64, np.float64),
        "Python lists": [(t.states.tolist(), t.actions.tolist()) for t in data.demos],
        "dicts": [{"obs": t.states, "acts": t.actions} for t in data.demos],
    }
    for what, demos in variants.items():
        other = _predictions(_fitted(estimator_orig, data, demos=demos), data)
        _assert_same_predictions(reference, other, f"{name} fitted on {what} demos")


def check_readonly_memmap_input(name, estimator_orig, data=None):
    """Fitting on read-only memory-mapped demos (as joblib workers see them) works."""
    data = make_check_data(data)
    demos = create_memmap_backed_data(_as_pairs(data.demos))
    est = _set_random_state(clone(estimator_orig))
    assert est.fit(demos, data.env) is est


def check_inputs_not_mutated(name, estimator_orig, data=None):
    """fit changes neither the demos nor the env."""
    data = make_check_data(data)
    demos = _as_pairs(data.demos)
    demos_hash, env_hash = joblib.hash(demos), joblib.hash(data.env)
    est = _fitted(estimator_orig, data, demos=demos)
    if hasattr(est, "score"):
        est.score(demos)
    assert joblib.hash(demos) == demos_hash, f"{name}.fit modified the demos"
    assert joblib.hash(data.env) == env_hash, f"{name}.fit modified the env"


def check_sample_weights(name, estimator_orig, data=None):
    """Per-trajectory sample weights: validated, never modified, and ones equal no weights."""
    data = make_check_data(data)
    params = inspect.signature(estimator_orig.fit).parameters
    if "sample_weight" not in params:
        raise SkipTest(f"{name}.fit takes no sample_weight.")
    n = len(data.demos)
    reference = _predictions(_fitted(estimator_orig, data), data)
    weights = np.ones(n)
    unit = _predictions(_fitted(estimator_orig, data, sample_weight=weights), data)
    _assert_same_predictions(reference, unit, f"{name} with unit sample weights")
    assert np.array_equal(weights, np.ones(n)), f"{name}.fit modified sample_weight"
    as_list = _predictions(_fitted(estimator_orig, data, sample_weight=[1.0] * n), data)
    _assert_same_predictions(reference, as_list, f"{name} with a list of unit weights")
    if "sample_weight" in inspect.signature(estimator_orig.score).parameters:
        est = _fitted(estimator_orig, data)
        test = data.test_demos
        np.testing.assert_allclose(
            est.score(test, sample_weight=np.ones(len(test))), est.score(test),
            err_msg=f"{name}.score with unit sample weights",
        )
        # Weight 2 on a demo counts it twice.
        weights = np.r_[2.0, np.ones(len(test) - 1)]
        np.testing.assert_allclose(
            est.score(test, sample_weight=weights), est.score([test[0], *test]),
            err_msg=f"{name}.score with weight 2 differs from the duplicated demo",
        )
    for what, bad in {
        "wrong shape": np.ones(n + 1),
        "all zero": np.zeros(n),
        "negative": np.r_[-1.0, np.ones(n - 1)],
        "NaN": np.r_[np.nan, np.ones(n - 1)],
    }.items():
        with _raises(ValueError, "sample_weight", err_msg=f"{name}: {what} sample_weight"):
            clone(estimator_orig).fit(data.demos, data.env, sample_weight=bad)


def check_pipeline_consistency(name, estimator_orig, data=None):
    """In a Pipeline (env routed as ``<step>__env``) the estimator predicts as on its own."""
    data = make_check_data(data)
    est = _fitted(estimator_orig, data)
    pipe = make_pipeline(_set_random_state(clone(estimator_orig)))
    step = pipe.steps[-1][0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(data.demos, **{f"{step}__env": data.env})
    for method in ("predict", "predict_proba"):
        if hasattr(est, method):
            np.testing.assert_allclose(
                getattr(pipe, method)(data.states), getattr(est, method)(data.states),
                rtol=1e-7, atol=1e-9, err_msg=f"Pipeline({name}).{method}",
            )
    if hasattr(est, "score"):
        np.testing.assert_allclose(pipe.score(data.test_demos), est.score(data.test_demos))


def check_param_validation(name, estimator_orig, data=None):
    """Every parameter has a constraint; fit rejects invalid types and values informatively.

    scikit-learn's ``check_param_validation`` with ``fit(demos, env)`` in place of
    ``fit(X, y)``.
    """
    data = make_check_data(data)
    _assert_param_validation(
        name, estimator_orig, lambda est: est.fit(data.demos, data.env)
    )


def check_fit_one_demo(name, estimator_orig, data=None):
    """A single one-step demonstration either fits or is an informative ValueError."""
    data = make_check_data(data)
    t = data.demos[0]
    est = _set_random_state(clone(estimator_orig))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit([(t.states[:2], t.actions[:1])], data.env)
    except ValueError as exc:
        assert str(exc), f"{name} raised a ValueError without a message on one demo"
        return
    _predictions(est, data)


def check_prediction_consistency(name, estimator_orig, data=None):
    """Shapes and consistency of predict, predict_proba, predict_reward and score."""
    data = make_check_data(data)
    est = _fitted(estimator_orig, data)
    n, A = len(data.states), data.env.n_actions
    if hasattr(est, "predict_proba"):
        proba = np.asarray(est.predict_proba(data.states))
        assert proba.shape == (n, A), f"{name}.predict_proba shape {proba.shape} != {(n, A)}"
        assert np.all(proba >= 0), f"{name}.predict_proba has negative entries"
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
        if hasattr(est, "predict"):
            pred = np.asarray(est.predict(data.states))
            assert pred.shape == (n,)
            chosen = proba[np.arange(n), pred]
            np.testing.assert_allclose(chosen, proba.max(axis=1), err_msg=f"{name}.predict")
    if hasattr(est, "predict_reward"):
        table = np.asarray(est.predict_reward(data.states))
        assert table.shape == (n, A), f"{name}.predict_reward shape {table.shape} != {(n, A)}"
        actions = np.arange(n) % A
        np.testing.assert_allclose(
            est.predict_reward(data.states, actions), table[np.arange(n), actions],
            err_msg=f"{name}.predict_reward(states, actions) disagrees with the table",
        )
    if hasattr(est, "score"):
        score = est.score(data.test_demos)
        assert isinstance(score, float), f"{name}.score returned {type(score).__name__}"
        assert not np.isnan(score) and score <= 0, f"{name}.score = {score} is no log-likelihood"


#: The parameters that bound ``n_iter_``, in the order check_n_iter looks for them.
_ITERATION_PARAMS = ("max_iter", "n_rounds")


def check_n_iter(name, estimator_orig, data=None):
    """Estimators with ``max_iter`` (or GAIL-style ``n_rounds``) report ``n_iter_`` in
    [1, max_iter] after a fresh fit."""
    data = make_check_data(data)
    params = estimator_orig.get_params(deep=False)
    param = next((p for p in _ITERATION_PARAMS if p in params), None)
    if param is None:
        raise SkipTest(f"{name} has no {' or '.join(_ITERATION_PARAMS)} parameter.")
    est = _fitted(estimator_orig, data)
    bound = getattr(est, param)
    assert 1 <= np.max(est.n_iter_) <= bound, f"{name}.n_iter_ = {est.n_iter_}, {param}={bound}"


def check_clone_fitted(name, estimator_orig, data=None):
    """clone of a fitted estimator has equal parameters and is not fitted."""
    data = make_check_data(data)
    est = _fitted(estimator_orig, data)
    copy = clone(est)
    assert joblib.hash(copy.get_params(deep=False)) == joblib.hash(est.get_params(deep=False))
    with _raises(NotFittedError):
        check_is_fitted(copy)


def check_sub_estimators(name, estimator_orig, data=None):
    """Sub-estimator parameters are exposed by get_params(deep=True) and cloned, not shared."""
    data = make_check_data(data)
    est = clone(estimator_orig)
    subs = {k: v for k, v in est.get_params(deep=False).items() if isinstance(v, BaseEstimator)}
    if not subs:
        raise SkipTest(f"{name} has no sub-estimator parameters set.")
    deep = est.get_params(deep=True)
    for key, sub in subs.items():
        for sub_key, value in sub.get_params(deep=True).items():
            assert deep[f"{key}__{sub_key}"] is value, f"{name}: {key}__{sub_key} not exposed"
    copy = clone(est)
    for key, sub in subs.items():
        assert copy.get_params(deep=False)[key] is not sub, f"clone shared {name}.{key}"
    fitted = _fitted(est, data)
    for key in subs:
        fitted_sub = getattr(fitted, key + "_", None)
        if fitted_sub is not None:
            assert fitted_sub is not fitted.get_params(deep=False)[key], (
                f"{name}.{key}_ must be a clone of the {key} parameter, not the object itself"
            )


#: The checks of this module, in the order they run.
DATA_CHECKS = (
    check_fit_returns_self,
    check_fit_signature,
    check_requires_env,
    check_estimators_overwrite_params,
    check_dont_overwrite_parameters,
    check_fit_idempotent,
    check_fit_check_is_fitted,
    check_estimators_unfitted,
    check_estimators_pickle,
    check_dict_unchanged,
    check_methods_sample_order_invariance,
    check_fit_demo_order_invariance,
    check_estimators_empty_data_messages,
    check_estimators_nan_inf,
    check_estimators_dtypes,
    check_readonly_memmap_input,
    check_inputs_not_mutated,
    check_sample_weights,
    check_pipeline_consistency,
    check_param_validation,
    check_fit_one_demo,
    check_prediction_consistency,
    check_n_iter,
    check_clone_fitted,
    check_sub_estimators,
)


# ---------------------------------------------------------------------------------------
# Parameter validation (shared with the solver and expectation checks of the test suite)
# ---------------------------------------------------------------------------------------
def _assert_param_validation(name, estimator_orig, call):
    """scikit-learn's check_param_validation assertions with ``call(estimator)`` as fit."""
    params = estimator_orig.get_params(deep=False)
    constraints = getattr(estimator_orig, "_parameter_constraints", {})
    missing = set(params) - set(constraints)
    unexpected = set(constraints) - set(params)
    assert not missing and not unexpected, (
        f"Mismatch between _parameter_constraints and the parameters of {name}: missing "
        f"{sorted(missing)}, unexpected {sorted(unexpected)}"
    )
    bad_type = type("BadType", (), {})()
    for param in params:
        if constraints[param] == "no_validation":
            continue
        match = rf"The '{param}' parameter of {name} must be .* Got .* instead."
        est = clone(estimator_orig).set_params(**{param: bad_type})
        with _raises(InvalidParameterError, match, err_msg=f"{name}: {param} of a bad type"):
            call(est)
        for constraint in map(make_constraint, constraints[param]):
            try:
                bad_value = generate_invalid_param_val(constraint)
            except NotImplementedError:
                continue
            est = clone(estimator_orig).set_params(**{param: bad_value})
            with _raises(
                InvalidParameterError, match, err_msg=f"{name}: {param}={bad_value!r}"
            ):
                call(est)


class _raises:
    """Context manager asserting an exception of a type (and a message substring/regex)."""

    def __init__(self, expected, match=None, err_msg=None):
        self.expected, self.match, self.err_msg = expected, match, err_msg

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        import re

        what = self.err_msg or f"expected {self.expected.__name__}"
        if exc_type is None:
            raise AssertionError(f"{what}: no {self.expected.__name__} was raised")
        if not issubclass(exc_type, self.expected):
            raise AssertionError(
                f"{what}: got {exc_type.__name__}({exc}) instead of {self.expected.__name__}"
            ) from exc
        if self.match is not None and not re.search(self.match, str(exc)):
            raise AssertionError(f"{what}: message {str(exc)!r} does not match {self.match!r}")
        return True


# ---------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------
def estimator_checks_generator(estimator, *, data=None):
    """Yield ``(estimator, check)`` pairs; call ``check(estimator)`` to run one.

    Parameters
    ----------
    estimator : BaseIRL
        An estimator instance fitted with ``fit(demos, env)``.
    data : CheckData or (demos, env) tuple, default=None
        The data the checks fit on (see :func:`make_check_data`).

    Yields
    ------
    estimator, check : estimator and callable

    Examples
    --------
    >>> from sklirl.utils.estimator_checks import estimator_checks_generator
    >>> from sklirl.utils._testing_estimators import TabularBehaviorCloning
    >>> pairs = list(estimator_checks_generator(TabularBehaviorCloning()))
    >>> for estimator, check in pairs[:3]:
    ...     check(estimator)  # raises if the estimator fails the check
    ...     print(check.func.__name__)
    check_estimator_cloneable
    check_estimator_tags_renamed
    check_valid_tag_types
    """
    data = make_check_data(data)
    name = type(estimator).__name__
    for check in SKLEARN_CHECKS:
        yield estimator, partial(check, name)
    for check in DATA_CHECKS:
        yield estimator, partial(check, name, data=data)


def parametrize_with_checks(estimators, *, data=None):
    """pytest decorator running every check on each estimator (like scikit-learn's).

    Parameters
    ----------
    estimators : list of estimators
    data : CheckData or (demos, env) tuple, default=None

    Returns
    -------
    decorator : ``pytest.mark.parametrize("estimator, check", ...)``

    Examples
    --------
    >>> from sklirl.utils.estimator_checks import parametrize_with_checks
    >>> from sklirl.utils._testing_estimators import TabularBehaviorCloning
    >>> @parametrize_with_checks([TabularBehaviorCloning()])
    ... def test_sklearn_compatible(estimator, check):
    ...     check(estimator)
    """
    import pytest

    data = make_check_data(data)
    pairs = [pair for est in estimators for pair in estimator_checks_generator(est, data=data)]

    def ids(obj):
        return _check_name(obj) if callable(obj) and not isinstance(obj, BaseEstimator) else repr(
            obj
        )

    return pytest.mark.parametrize("estimator, check", pairs, ids=ids)


def check_estimator(estimator, *, data=None):
    """Run every check on ``estimator``; raise the first failure.

    Parameters
    ----------
    estimator : BaseIRL
    data : CheckData or (demos, env) tuple, default=None

    Returns
    -------
    results : list of dict
        ``{"check_name", "status" ("passed" or "skipped"), "reason"}`` per check.

    Examples
    --------
    >>> from sklirl.utils.estimator_checks import check_estimator
    >>> from sklirl.utils._testing_estimators import TabularBehaviorCloning
    >>> results = check_estimator(TabularBehaviorCloning())
    >>> sorted({r["status"] for r in results})
    ['passed', 'skipped']
    >>> results[0]
    {'check_name': 'check_estimator_cloneable', 'status': 'passed', 'reason': None}
    """
    results = []
    for est, check in estimator_checks_generator(estimator, data=data):
        try:
            check(est)
        except SkipTest as exc:
            results.append({"check_name": _check_name(check), "status": "skipped",
                            "reason": str(exc)})
        else:
            results.append({"check_name": _check_name(check), "status": "passed",
                            "reason": None})
    return results
