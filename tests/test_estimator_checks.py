"""The (demos, env) checks of sklirl.utils.estimator_checks catch the bugs they are for.

Each broken estimator below violates one convention; the matching check must fail on it
while the correct estimator passes (tests/test_common.py runs every check on it).
"""

import numpy as np
import pytest

from sklirl.utils import estimator_checks as checks
from sklirl.utils._testing_estimators import TabularBehaviorCloning

_STATE = {"fits": 0}


class MutatesParam(TabularBehaviorCloning):
    def _fit(self, demos, env, sample_weight):
        super()._fit(demos, env, sample_weight)
        self.alpha = float(self.alpha) + 1.0  # a new object: fit changes a parameter


class PublicAttribute(TabularBehaviorCloning):
    def _fit(self, demos, env, sample_weight):
        super()._fit(demos, env, sample_weight)
        self.counts = 1  # public attribute set in fit


class CachesInPredict(TabularBehaviorCloning):
    def predict_proba(self, states):
        self._last_states = states  # predict changes __dict__
        return super().predict_proba(states)


class NotIdempotent(TabularBehaviorCloning):
    def _fit(self, demos, env, sample_weight):
        _STATE["fits"] += 1
        self.alpha_used_ = self.alpha + _STATE["fits"]
        counts = np.zeros((env.n_states, env.n_actions)) + self.alpha_used_
        for t in demos:
            np.add.at(counts, (t.states[: len(t)], t.actions), 1.0)
        from sklirl.expectations import policy_from_occupancy

        self.policy_ = policy_from_occupancy(counts)
        self.reward_ = np.array(self.policy_.log_probs)


class FirstDemoOnly(TabularBehaviorCloning):
    def _fit(self, demos, env, sample_weight):
        w = None if sample_weight is None else sample_weight[:1]
        return super()._fit(demos[:1], env, w)


class UnitWeightsDiffer(TabularBehaviorCloning):
    def _fit(self, demos, env, sample_weight):
        if sample_weight is not None:  # any weights at all: (wrongly) add more smoothing
            sample_weight = None
            demos = demos[: len(demos) // 2]
        return super()._fit(demos, env, sample_weight)


class NoConstraints(TabularBehaviorCloning):
    _parameter_constraints: dict = {}


class MutatesDemos(TabularBehaviorCloning):
    def fit(self, demos, y=None, *, env=None, sample_weight=None):
        for states, _ in demos:
            if isinstance(states, np.ndarray) and states.flags.writeable:
                states[0] = 0
        return super().fit(demos, y, env=env, sample_weight=sample_weight)


class UnpicklableState(TabularBehaviorCloning):
    def _fit(self, demos, env, sample_weight):
        super()._fit(demos, env, sample_weight)
        self.scale_ = lambda x: x  # lambdas do not pickle


class PredictWithoutFitCheck(TabularBehaviorCloning):
    def predict_reward(self, states, actions=None):
        return np.zeros((len(states), 4))


@pytest.fixture(scope="module")
def data():
    return checks.make_check_data()


@pytest.mark.parametrize(
    "broken, check, error, match",
    [
        (MutatesParam(), checks.check_dont_overwrite_parameters, AssertionError, "changed"),
        (MutatesParam(), checks.check_estimators_overwrite_params, AssertionError, "alpha"),
        (PublicAttribute(), checks.check_dont_overwrite_parameters, AssertionError, "counts"),
        (CachesInPredict(), checks.check_dict_unchanged, AssertionError, "predict"),
        (NotIdempotent(), checks.check_fit_idempotent, AssertionError, "refitted"),
        (FirstDemoOnly(), checks.check_fit_demo_order_invariance, AssertionError, "permuted"),
        (UnitWeightsDiffer(), checks.check_sample_weights, AssertionError, "unit"),
        (NoConstraints(), checks.check_param_validation, AssertionError, "Mismatch"),
        (MutatesDemos(), checks.check_inputs_not_mutated, AssertionError, "demos"),
        (UnpicklableState(), checks.check_estimators_pickle, Exception, "lambda|pickle"),
        (PredictWithoutFitCheck(), checks.check_estimators_unfitted, AssertionError,
         "NotFittedError"),
    ],
    ids=lambda x: x.__name__ if callable(x) and not hasattr(x, "get_params") else None,
)
def test_check_catches_violation(broken, check, error, match, data):
    check("TabularBehaviorCloning", TabularBehaviorCloning(), data=data)  # the correct one
    with pytest.raises(error, match=match):
        check(type(broken).__name__, broken, data=data)


def test_check_estimator_reports_every_check(data):
    results = checks.check_estimator(TabularBehaviorCloning(), data=data)
    names = [r["check_name"] for r in results]
    assert len(names) == len(checks.SKLEARN_CHECKS) + len(checks.DATA_CHECKS)
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped == {"check_n_iter", "check_sub_estimators"}  # it has neither


def test_check_estimator_raises_on_failure(data):
    with pytest.raises(AssertionError, match="parameters \\['alpha'\\]"):
        checks.check_estimator(MutatesParam(), data=data)


class Rounds(TabularBehaviorCloning):
    """A GAIL-style estimator: n_rounds, not max_iter, bounds n_iter_."""

    _parameter_constraints: dict = {**TabularBehaviorCloning._parameter_constraints,
                                    "n_rounds": [int]}

    def __init__(self, alpha=1.0, n_rounds=2, extra_rounds=0):
        super().__init__(alpha=alpha)
        self.n_rounds = n_rounds
        self.extra_rounds = extra_rounds

    def _fit(self, demos, env, sample_weight):
        super()._fit(demos, env, sample_weight)
        self.n_iter_ = self.n_rounds + self.extra_rounds


def test_check_n_iter_bounds_n_iter_by_n_rounds(data):
    checks.check_n_iter("Rounds", Rounds(), data=data)
    with pytest.raises(AssertionError, match="n_rounds=2"):
        checks.check_n_iter("Rounds", Rounds(extra_rounds=1), data=data)


def test_make_check_data_from_tuple(data):
    own = checks.make_check_data((data.demos[:3], data.env))
    assert len(own.demos) == 3 and own.env is data.env
    np.testing.assert_array_equal(own.states, np.arange(data.env.n_states))
    assert checks.make_check_data(own) is own


def test_demo_order_flag_skips_with_reason(data):
    class Shuffles(TabularBehaviorCloning):
        _demo_order_invariant = False

    with pytest.raises(checks.SkipTest, match="random order"):
        checks.check_fit_demo_order_invariance("Shuffles", Shuffles(), data=data)


@checks.parametrize_with_checks([TabularBehaviorCloning(alpha=0.5)])
def test_parametrize_with_checks(estimator, check):
    try:
        check(estimator)
    except checks.SkipTest as exc:
        pytest.skip(str(exc))
