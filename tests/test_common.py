"""scikit-learn conformance of every public estimator.

- Feature maps (array-native transformers) pass scikit-learn's full ``check_estimator``
  suite, nothing excused.
- Solvers and expectation estimators have no ``fit``: they pass scikit-learn's checks that
  need no data, and ``solve``/``occupancy`` validate their parameters like ``fit`` does.
- IRL estimators (``fit(demos, env)``, ``two_d_array=False``) pass scikit-learn's no-data
  checks and ``sklirl.utils.estimator_checks``, which re-runs the data checks' assertions
  on ``(demos, env)``; the scikit-learn checks that cannot apply are listed, with reasons,
  in ``INAPPLICABLE_CHECKS`` (and nowhere else).
"""

import importlib
import inspect
import pickle
import re
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.preprocessing import PolynomialFeatures
from sklearn.utils import estimator_checks as sk_checks
from sklearn.utils.estimator_checks import (
    parametrize_with_checks as sk_parametrize_with_checks,
)

from sklirl import features as features_module
from sklirl.envs import GridWorld
from sklirl.expectations import ExactExpectation, MonteCarloExpectation
from sklirl.features import OneHotStates
from sklirl.solvers import SoftValueIteration, ValueIteration
from sklirl.utils import estimator_checks as irl_checks
from sklirl.utils._testing_estimators import FeatureMatchingIRL, TabularBehaviorCloning

# Deliberately tiny fits (few iterations) do not converge; that is not what is checked here.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# ---------------------------------------------------------------------------------------
# Feature maps: the full scikit-learn suite
# ---------------------------------------------------------------------------------------
# OneHotStates, like OneHotEncoder in scikit-learn's own suite, is checked with
# handle_unknown="ignore": check_fit_idempotent transforms rows unseen in fit, which the
# default handle_unknown="error" rightly rejects.
_FEATURE_MAP_PARAMS = {OneHotStates: [{"handle_unknown": "ignore"},
                                      {"handle_unknown": "ignore", "sparse_output": True}]}


def _public_classes(module, method):
    names = getattr(module, "__all__", dir(module))
    for name in names:
        obj = getattr(module, name)
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator) and hasattr(obj, method):
            yield obj


def _feature_maps():
    for cls in _public_classes(features_module, "transform"):
        for params in _FEATURE_MAP_PARAMS.get(cls, [{}]):
            yield cls(**params)


FEATURE_MAPS = list(_feature_maps())


def test_every_feature_map_is_checked():
    assert {type(f) for f in FEATURE_MAPS} >= {OneHotStates}


@sk_parametrize_with_checks(FEATURE_MAPS)
def test_feature_maps_pass_sklearn_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------------------
# Solvers and expectation estimators: no fit, so the no-data checks plus validation
# ---------------------------------------------------------------------------------------
# check_estimators_unfitted is left out: it checks prediction methods, which these have not.
SUB_ESTIMATOR_CHECKS = [c for c in irl_checks.SKLEARN_CHECKS
                        if c is not sk_checks.check_estimators_unfitted]

SUB_ESTIMATORS = [
    ValueIteration(),
    SoftValueIteration(temperature=0.5),
    ExactExpectation(),
    MonteCarloExpectation(n_episodes=5, random_state=0),
]


def _tiny_env():
    return GridWorld(2, gamma=0.5)


def _use(estimator, env=None):
    """Call the estimator's main method on a tiny env: solve() or occupancy()."""
    env = _tiny_env() if env is None else env
    if hasattr(estimator, "solve"):
        return estimator.solve(env, env.reward).probs
    return estimator.occupancy(env, np.full((env.n_states, env.n_actions), 0.25))


@pytest.mark.parametrize("estimator", SUB_ESTIMATORS, ids=repr)
@pytest.mark.parametrize("check", SUB_ESTIMATOR_CHECKS, ids=irl_checks._check_name)
def test_sub_estimators_pass_sklearn_no_data_checks(estimator, check):
    check(type(estimator).__name__, estimator)


@pytest.mark.parametrize("estimator", SUB_ESTIMATORS, ids=repr)
def test_sub_estimators_validate_parameters(estimator):
    irl_checks._assert_param_validation(type(estimator).__name__, estimator, _use)


@pytest.mark.parametrize("estimator", SUB_ESTIMATORS, ids=repr)
def test_sub_estimators_are_pure(estimator):
    # Using a sub-estimator changes none of its parameters and gives the same answer twice;
    # it pickles and clones to an equivalent object.
    params = joblib.hash(estimator.get_params(deep=True))
    first = _use(estimator)
    assert joblib.hash(estimator.get_params(deep=True)) == params
    np.testing.assert_array_equal(_use(estimator), first)
    np.testing.assert_array_equal(_use(pickle.loads(pickle.dumps(estimator))), first)
    np.testing.assert_array_equal(_use(clone(estimator)), first)


# ---------------------------------------------------------------------------------------
# IRL estimators: scikit-learn's no-data checks and the (demos, env) harness
# ---------------------------------------------------------------------------------------
# Small settings so that the whole suite runs in seconds; the real estimators are added
# when their modules exist.
_REAL_ESTIMATORS = {
    "MaxEntIRL": ("sklirl.irl._max_ent", [
        {"max_iter": 5},
        {"max_iter": 5, "features": PolynomialFeatures(2)},
    ]),
    "MaxMarginIRL": ("sklirl.irl._max_margin", [
        {"max_iter": 5},
        {"max_iter": 3, "solver": SoftValueIteration(temperature=0.5),
         "expectation": MonteCarloExpectation(n_episodes=10)},
    ]),
    "GAIL": ("sklirl.irl._gail", [
        {"n_rounds": 3, "hidden_layer_sizes": (8,), "disc_batch_size": 32},
    ]),
}


def _real_estimators():
    for name, (module, param_sets) in _REAL_ESTIMATORS.items():
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            yield pytest.param(None, marks=pytest.mark.skip(reason=f"{name}: {exc}"), id=name)
            continue
        for i, params in enumerate(param_sets):
            yield pytest.param(cls(**params), id=name if i == 0 else f"{name}-{i}")


def _irl_estimators():
    yield pytest.param(TabularBehaviorCloning(), id="TabularBehaviorCloning")
    yield pytest.param(FeatureMatchingIRL(max_iter=3), id="FeatureMatchingIRL")
    yield pytest.param(
        FeatureMatchingIRL(
            features=PolynomialFeatures(2), solver=SoftValueIteration(temperature=0.5),
            expectation=MonteCarloExpectation(n_episodes=10), max_iter=3,
        ),
        id="FeatureMatchingIRL-sub-estimators",
    )
    yield from _real_estimators()


IRL_ESTIMATORS = list(_irl_estimators())
_CHECKS = [*irl_checks.SKLEARN_CHECKS, *irl_checks.DATA_CHECKS]

# Checks known to fail, keyed by (estimator, check), with the reason. Keep it empty: an entry
# here is a bug to fix, never a way to excuse an inapplicable check (see INAPPLICABLE_CHECKS).
KNOWN_FAILURES: dict = {}


@pytest.fixture(scope="module")
def check_data():
    return irl_checks.make_check_data()


@pytest.mark.parametrize("estimator", IRL_ESTIMATORS)
@pytest.mark.parametrize("check", _CHECKS, ids=irl_checks._check_name)
def test_irl_estimators(estimator, check, check_data, request):
    name = type(estimator).__name__
    reason = KNOWN_FAILURES.get((name, irl_checks._check_name(check)))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sk_checks.SkipTestWarning)
        if check in irl_checks.DATA_CHECKS:
            try:
                check(name, estimator, data=check_data)
            except sk_checks.SkipTest as exc:
                pytest.skip(str(exc))
        else:
            check(name, estimator)


def _checks_sklearn_would_run(estimator):
    """Names of the checks scikit-learn yields for the estimator were its input 2-D."""
    cls = type(estimator)

    class As2D(cls):
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.input_tags.two_d_array = True
            return tags

    As2D.__name__ = cls.__name__
    twin = As2D(**estimator.get_params(deep=False))
    return {sk_checks._check_name(c) for c in sk_checks._yield_all_checks(twin, legacy=True)}


@pytest.mark.parametrize("estimator", IRL_ESTIMATORS)
def test_every_sklearn_check_is_run_or_listed_inapplicable(estimator):
    # scikit-learn yields nothing beyond the clone check for non-2-D estimators ...
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sk_checks.SkipTestWarning)
        assert list(sk_checks._yield_all_checks(estimator, legacy=True)) == []
    # ... so every check it would run on 2-D data is either run here unchanged or listed
    # in INAPPLICABLE_CHECKS with its reason (and the list holds nothing else).
    run = {irl_checks._check_name(c) for c in irl_checks.SKLEARN_CHECKS}
    listed = set(irl_checks.INAPPLICABLE_CHECKS)
    would_run = _checks_sklearn_would_run(estimator) | {"check_estimator_cloneable"}
    assert not run & listed
    assert would_run - run - listed == set(), "new scikit-learn checks to run or list"


def test_inapplicable_checks_are_checks_sklearn_would_run():
    would_run = set()
    for param in IRL_ESTIMATORS:
        if param.values[0] is not None:
            would_run |= _checks_sklearn_would_run(param.values[0])
    assert set(irl_checks.INAPPLICABLE_CHECKS) - would_run == set()


def test_inapplicable_checks_have_reasons_and_replacements():
    data_checks = {c.__name__ for c in irl_checks.DATA_CHECKS}
    for check, reason in irl_checks.INAPPLICABLE_CHECKS.items():
        assert hasattr(sk_checks, check), check
        assert len(reason) > 40, check
        # A reason that points to a replacement names a check that exists.
        for word in re.findall(r"check_\w+", reason):
            if word != check and word not in (
                "check_demos",  # sklirl.demos.check_demos, named as the validator
            ):
                assert word in data_checks, f"{check}: {word} is not a harness check"


def test_n_features_in_is_the_observation_size_of_gymnasium_envs():
    gymnasium = pytest.importorskip("gymnasium")

    class ObservationIRL(TabularBehaviorCloning):
        _accepts_gymnasium = True

        def _fit(self, demos, env, sample_weight):
            self.policy_ = None

    cartpole = gymnasium.make("CartPole-v1")
    est = ObservationIRL().fit([(np.zeros((3, 4)), np.array([0, 1]))], cartpole)
    assert est.n_features_in_ == 4
    # Tabular envs take state indices, not features: refitting on one removes it.
    est.fit([([0, 1, 2], [1, 1])], GridWorld(2))
    assert not hasattr(est, "n_features_in_")
