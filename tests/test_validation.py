"""The catalogue of bad inputs: every public entry point rejects each one with the documented
exception type and a message that names the argument (trajectory and step) and the allowed
range; inputs are never modified.

Each row of a table is ``(id, bad input, expected exception, message fragment)``. The demo
table runs through :func:`sklirl.demos.check_demos` and through ``fit`` of every estimator
(one validation layer); the prediction table runs against every fitted estimator.
"""

from __future__ import annotations

import copy
import functools
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from sklirl import (
    AIRL,
    GAIL,
    BayesianIRL,
    BehavioralCloning,
    MaxEntIRL,
    MaxMarginIRL,
    Trajectory,
)
from sklirl.datasets import make_expert_demos, sample_trajectories
from sklirl.demos import check_demos, load_demos
from sklirl.envs import GridWorld, ObjectWorld, TabularMDP
from sklirl.expectations import (
    ExactExpectation,
    MonteCarloExpectation,
    empirical_occupancy,
    feature_expectations,
    occupancy_feature_expectations,
    occupancy_measure,
)
from sklirl.features import OneHotStates, fit_feature_matrix, state_action_features
from sklirl.metrics import (
    epic_distance,
    expected_value_difference,
    feature_expectation_gap,
    log_likelihood,
)
from sklirl.solvers import (
    SoftValueIteration,
    TabularPolicy,
    ValueIteration,
    soft_bellman_backup,
    soft_value_iteration,
    value_iteration,
)

pytest.importorskip("torch")  # GAIL is in every table

ENV = GridWorld(3, gamma=0.9)  # S = 9, A = 4
S, A = ENV.n_states, ENV.n_actions
P_OK = np.full((2, 2, 2), 0.5)


def _estimators():
    return {
        "MaxEntIRL": MaxEntIRL(max_iter=5),
        "MaxMarginIRL": MaxMarginIRL(max_iter=5),
        "GAIL": GAIL(max_iter=2, hidden_layer_sizes=(8,), random_state=0),
        "BayesianIRL": BayesianIRL(n_samples=20, burn_in=20, random_state=0),
        "AIRL": AIRL(max_iter=2, potential_hidden_layer_sizes=(8,), random_state=0),
    }


ESTIMATORS = list(_estimators())


@functools.cache
def _demos():
    demos, _ = make_expert_demos(ENV, 6, horizon=6, random_state=0)
    return demos


@functools.cache
def _fitted(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _estimators()[name].fit(_demos(), ENV)


# -- bad demonstrations (check_demos and every estimator's fit) ------------------------------
class _Obj:
    """An imitation-style trajectory object (obs/acts attributes)."""

    def __init__(self, obs, acts):
        self.obs, self.acts = obs, acts


BAD_DEMOS = [
    ("empty list", [], ValueError, "demos is empty"),
    ("empty trajectory", [([0], [])], ValueError, "trajectory 0 has 0 actions; at least 1"),
    ("state out of range", [([0, 1, 2], [1, 1]), ([0, 9], [1])], ValueError,
     "trajectory 1, step 1: state 9 is outside [0, 9)"),
    ("negative state", [([0, -1], [1])], ValueError, "step 1: state -1 is outside [0, 9)"),
    ("action out of range", [([0, 1], [4])], ValueError, "step 0: action 4 is outside [0, 4)"),
    ("negative action", [([0, 1, 2], [0, -2])], ValueError,
     "step 1: action -2 is outside [0, 4)"),
    ("NaN state", [([0.0, np.nan], [1])], ValueError,
     "trajectory 0, step 1: states contain NaN or infinity"),
    ("inf action", [([0, 1], [np.inf])], ValueError, "step 0: actions contain NaN or infinity"),
    ("fractional state", [([0, 1.5], [1])], ValueError, "step 1: state 1.5 is not an integer"),
    ("fractional action", [([0, 1], [0.25])], ValueError,
     "step 0: action 0.25 is not an integer"),
    ("2-D states", [(np.zeros((2, 2)), [1])], ValueError,
     "states must be 1-D integer indices for a tabular environment, got shape (2, 2)"),
    ("too many states", [([0, 1, 2, 3], [1])], ValueError,
     "trajectory 0: 4 states for 1 actions"),
    ("too few states", [([0], [1, 1, 1])], ValueError, "trajectory 0: 1 states for 3 actions"),
    ("string states", [(["a", "b"], [1])], TypeError, "states must be numeric, got dtype <U1"),
    ("bytes actions", [([0, 1], [b"x"])], TypeError, "actions must be numeric"),
    ("complex actions", [([0, 1], [1j])], TypeError, "actions must be numeric, got dtype complex"),
    ("boolean actions", [([0, 1], [True])], TypeError, "actions must be integer indices, got "
                                                      "booleans"),
    ("ragged states", [([[0], [1, 2]], [1])], ValueError, "trajectory 0: states are ragged"),
    ("None in states", [([0, None], [1])], ValueError, "non-numeric values"),
    ("integer overflow", [([0, 2**70], [1])], ValueError, "non-numeric values"),
    ("scalar states", [(3, [1])], ValueError, "trajectory 0: states must be a sequence"),
    ("not a sequence", 5, TypeError, "demos must be a list of trajectories, got int"),
    ("None", None, TypeError, "demos must be a list of trajectories, got NoneType"),
    ("a string", "abc", TypeError, "demos must be a list of trajectories"),
    ("a single Trajectory", Trajectory([0, 1], [1]), TypeError,
     "demos must be a list of trajectories"),
    ("a bare array", np.zeros((3, 2), dtype=int), TypeError,
     "demos must be a list of trajectories"),
    ("item of wrong type", [([0, 1], [1]), 3], TypeError, "demos[1] has type int"),
    ("item a triple", [([0, 1], [1], [0.5])], TypeError, "demos[0] has type tuple"),
    ("dict without keys", [{"s": [0, 1], "a": [1]}], TypeError,
     "demos[0] is a dict without 'states'/'actions'"),
    ("obs/acts object out of range", [_Obj([0, 1], [7])], ValueError,
     "step 0: action 7 is outside [0, 4)"),
    ("terminal flag not a bool", [Trajectory([0, 1], [1]), {"states": [0, 1], "actions": [1],
                                                            "terminal": "yes"}],
     TypeError, "trajectory 1: terminal must be a bool"),
    ("terminations and truncations on one step",
     [{"observations": [0, 1, 2], "actions": [1, 1], "terminations": np.array([False, True]),
       "truncations": np.array([False, True])}],
     ValueError, "trajectory 0, step 1: both terminations and truncations are set"),
    ("terminations not bools",
     [{"observations": [0, 1], "actions": [1], "terminations": np.array([1])}],
     TypeError, "trajectory 0: terminations must be a 1-D array of bools"),
    ("termination before the end",
     [{"observations": [0, 1, 2], "actions": [1, 1], "terminations": np.array([True, False])}],
     ValueError, "trajectory 0, step 0: terminations is set before the last step"),
    ("state-only demo", [Trajectory([0, 1, 2])], ValueError,
     "trajectory 0 has no actions (a state-only demonstration); this estimator needs"),
]


def _check_demos_tabular(demos):
    return check_demos(demos, n_states=S, n_actions=A)


def _fit_on(name):
    def fit(demos):
        return _estimators()[name].fit(demos, ENV)

    fit.__name__ = f"{name}.fit"
    return fit


DEMO_TARGETS = [("check_demos", _check_demos_tabular)] + [
    (name, _fit_on(name)) for name in ESTIMATORS
] + [("BehavioralCloning.fit", lambda demos: BehavioralCloning().fit(demos, ENV))]


@pytest.mark.parametrize("target_name, target", DEMO_TARGETS, ids=[t[0] for t in DEMO_TARGETS])
@pytest.mark.parametrize("case, demos, exc, fragment", BAD_DEMOS, ids=[c[0] for c in BAD_DEMOS])
def test_bad_demos(case, demos, exc, fragment, target_name, target):
    with pytest.raises(exc, match=re.escape(fragment)):
        target(demos)


# -- bad environments --------------------------------------------------------------------------
def _ragged_P():
    return [[[1.0, 0.0]], [[1.0]]]


BAD_ENVS = [
    ("absorbing state not absorbing", lambda: TabularMDP(P_OK, absorbing_state=0), ValueError,
     "absorbing_state=0 is not absorbing: action 0 leaves it with probability 0.5"),
    ("absorbing state out of range", lambda: TabularMDP(P_OK, absorbing_state=2), ValueError,
     "absorbing_state=2 is outside [0, 2)"),
    ("absorbing state a float", lambda: TabularMDP(P_OK, absorbing_state=1.0), TypeError,
     "absorbing_state must be None or an int, got float"),
    ("P 2-D", lambda: TabularMDP(np.eye(2)), ValueError,
     "dense transitions must have shape (S, A, S), got (2, 2)"),
    ("P not square", lambda: TabularMDP(np.full((2, 2, 3), 1 / 3)), ValueError,
     "must have shape (S, A, S), got (2, 2, 3)"),
    ("P empty", lambda: TabularMDP(np.zeros((0, 2, 0))), ValueError, "got (0, 2, 0)"),
    ("P strings", lambda: TabularMDP("abc"), TypeError, "transitions must be numeric"),
    ("P None", lambda: TabularMDP(None), TypeError, "transitions must be numeric"),
    ("P ragged", lambda: TabularMDP(_ragged_P()), ValueError, "transitions are ragged"),
    ("P negative", lambda: TabularMDP(np.array([[[1.5, -0.5]] * 2] * 2)), ValueError,
     "negative probabilities"),
    ("P NaN", lambda: TabularMDP(np.full((2, 2, 2), np.nan)), ValueError,
     "transitions contain NaN or infinity"),
    ("P rows do not sum to 1", lambda: TabularMDP(np.full((2, 2, 2), 0.4)), ValueError,
     "from state 0, action 0 sum to 0.8, not 1"),
    ("sparse P without n_actions", lambda: TabularMDP(sp.csr_matrix(np.eye(2))), ValueError,
     "n_actions is required with sparse transitions"),
    ("sparse P wrong n_actions", lambda: TabularMDP(sp.csr_matrix(np.eye(2)), n_actions=3),
     ValueError, "sparse transitions must have shape (S * A, S)"),
    ("n_actions a float", lambda: TabularMDP(sp.csr_matrix(np.eye(2)), n_actions=1.0),
     TypeError, "n_actions must be an int"),
    ("gamma above 1", lambda: TabularMDP(P_OK, gamma=1.5), ValueError,
     "gamma must be in [0, 1], got 1.5"),
    ("gamma negative", lambda: TabularMDP(P_OK, gamma=-0.1), ValueError,
     "gamma must be in [0, 1]"),
    ("gamma NaN", lambda: TabularMDP(P_OK, gamma=np.nan), ValueError, "gamma must be in [0, 1]"),
    ("gamma 1 discounted", lambda: TabularMDP(P_OK, gamma=1.0), ValueError,
     "gamma must be < 1 for a discounted infinite-horizon MDP"),
    ("gamma a string", lambda: TabularMDP(P_OK, gamma="0.9"), TypeError,
     "gamma must be a float"),
    ("horizon 0", lambda: TabularMDP(P_OK, horizon=0), ValueError, "horizon must be >= 1"),
    ("horizon a float", lambda: TabularMDP(P_OK, horizon=2.5), TypeError,
     "horizon must be None or an int"),
    ("mu0 wrong shape", lambda: TabularMDP(P_OK, initial_state_distribution=[1.0]), ValueError,
     "initial_state_distribution must have shape (2,), got (1,)"),
    ("mu0 does not sum to 1", lambda: TabularMDP(P_OK, initial_state_distribution=[0.3, 0.3]),
     ValueError, "initial_state_distribution sums to 0.6, not 1"),
    ("mu0 negative", lambda: TabularMDP(P_OK, initial_state_distribution=[1.5, -0.5]),
     ValueError, "initial_state_distribution must be finite and non-negative"),
    ("mu0 strings", lambda: TabularMDP(P_OK, initial_state_distribution=["a", "b"]), TypeError,
     "initial_state_distribution must be an array of numbers"),
    ("state_features wrong rows", lambda: TabularMDP(P_OK, state_features=np.ones((3, 2))),
     ValueError, "state_features must have shape (2, d), got (3, 2)"),
    ("state_features NaN", lambda: TabularMDP(P_OK, state_features=[[np.nan], [1.0]]),
     ValueError, "state_features contains NaN or infinity"),
    ("state_features strings", lambda: TabularMDP(P_OK, state_features=[["a"], ["b"]]),
     TypeError, "state_features must be an array of numbers"),
    ("reward wrong shape", lambda: TabularMDP(P_OK, reward=[1.0, 2.0, 3.0]), ValueError,
     "reward must have shape (2,) or (2, 2), got (3,)"),
    ("reward infinite", lambda: TabularMDP(P_OK, reward=[1.0, np.inf]), ValueError,
     "reward contains NaN or infinity"),
    ("GridWorld size 0", lambda: GridWorld(0), ValueError, "size must be positive"),
    ("GridWorld slip 2", lambda: GridWorld(3, slip=2), ValueError, "slip must be in [0, 1]"),
    ("ObjectWorld determinism 2", lambda: ObjectWorld(4, determinism=2.0), ValueError,
     "determinism must be in [0, 1]"),
]


@pytest.mark.parametrize("case, make, exc, fragment", BAD_ENVS, ids=[c[0] for c in BAD_ENVS])
def test_bad_envs(case, make, exc, fragment):
    with pytest.raises(exc, match=re.escape(fragment)):
        make()


BAD_FIT_ENVS = [
    ("a string", "env", TypeError, "got str as its second argument, which is not an environment"),
    ("an array", np.eye(3), TypeError, "got ndarray as its second argument"),
    ("missing", None, TypeError, "requires an environment: fit(demos, env)"),
]


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("case, env, exc, fragment", BAD_FIT_ENVS,
                         ids=[c[0] for c in BAD_FIT_ENVS])
def test_fit_rejects_non_envs(case, env, exc, fragment, name):
    with pytest.raises(exc, match=re.escape(fragment)):
        _estimators()[name].fit(_demos(), env)


def test_tabular_estimators_reject_gymnasium_envs_with_a_hint():
    gymnasium = pytest.importorskip("gymnasium")
    env = gymnasium.make("CartPole-v1")
    with pytest.raises(TypeError, match="env must be a TabularMDP.*from_gymnasium"):
        MaxEntIRL().fit(_demos(), env)
    # MaxMarginIRL samples gymnasium envs with PPO, which it needs to be given.
    with pytest.raises(TypeError, match=re.escape("needs solver=sklirl.solvers.PPO(...)")):
        MaxMarginIRL().fit(_demos(), env)


# -- bad hyperparameters (InvalidParameterError is a ValueError) and sample weights ----------
BAD_PARAMS = [
    ("MaxEntIRL l2 negative", MaxEntIRL(l2=-1), ValueError,
     "'l2' parameter of MaxEntIRL must be a float in the range [0.0, inf)"),
    ("MaxEntIRL l2 NaN", MaxEntIRL(l2=np.nan), ValueError, "'l2' parameter"),
    ("MaxEntIRL max_iter 0", MaxEntIRL(max_iter=0), ValueError,
     "'max_iter' parameter of MaxEntIRL must be an int in the range [1, inf)"),
    ("MaxEntIRL optimizer", MaxEntIRL(optimizer="adam"), ValueError,
     "'optimizer' parameter of MaxEntIRL must be a str among"),
    ("MaxEntIRL tol a string", MaxEntIRL(tol="small"), ValueError, "'tol' parameter"),
    ("MaxEntIRL features not a transformer", MaxEntIRL(features=5), ValueError,
     "'features' parameter of MaxEntIRL must be an object implementing 'fit' and 'transform'"),
    ("MaxEntIRL learning_rate inf", MaxEntIRL(optimizer="gradient", learning_rate=np.inf),
     ValueError, "'learning_rate' parameter of MaxEntIRL must be a float in the range (0.0, inf)"),
    ("MaxEntIRL random_state", MaxEntIRL(random_state="seed"), ValueError,
     "'random_state' parameter"),
    ("MaxMarginIRL method", MaxMarginIRL(method="svm"), ValueError,
     "'method' parameter of MaxMarginIRL must be a str among"),
    ("MaxMarginIRL epsilon negative", MaxMarginIRL(epsilon=-1.0), ValueError,
     "'epsilon' parameter of MaxMarginIRL must be a float in the range [0.0, inf)"),
    ("MaxMarginIRL solver", MaxMarginIRL(solver="vi"), ValueError,
     "'solver' parameter of MaxMarginIRL must be None or an object implementing 'solve'"),
    ("MaxMarginIRL initial_policy shape", MaxMarginIRL(initial_policy=np.full((2, 2), 0.5)),
     ValueError, "initial_policy has shape (2, 2); expected (S, A) = (9, 4)"),
    ("MaxMarginIRL initial_policy negative", MaxMarginIRL(initial_policy=-np.ones((S, A))),
     ValueError, "initial_policy is not a valid policy"),
    ("MaxMarginIRL mmp loss shape", MaxMarginIRL(method="mmp", loss=np.ones(3)), ValueError,
     "loss must be 'unvisited', a float, or a finite array of shape (9,) or (9, 4)"),
    ("BayesianIRL n_samples 0", BayesianIRL(n_samples=0), ValueError,
     "'n_samples' parameter of BayesianIRL must be an int in the range [1, inf)"),
    ("BayesianIRL burn_in beyond the budget", BayesianIRL(burn_in=50, max_iter=50), ValueError,
     "burn_in=50 leaves no samples within the iteration budget max_iter=50"),
    ("BayesianIRL prior_scale inf", BayesianIRL(prior_scale=np.inf), ValueError,
     "'prior_scale' parameter of BayesianIRL must be a float in the range (0.0, inf)"),
    ("BayesianIRL prior_scale NaN", BayesianIRL(prior_scale=np.nan), ValueError,
     "'prior_scale' parameter of BayesianIRL"),
    ("BayesianIRL alpha 0", BayesianIRL(alpha=0.0), ValueError,
     "'alpha' parameter of BayesianIRL must be a float in the range (0.0, inf)"),
    ("BayesianIRL thin 0", BayesianIRL(thin=0), ValueError,
     "'thin' parameter of BayesianIRL must be an int in the range [1, inf)"),
    ("BayesianIRL prior", BayesianIRL(prior="cauchy"), ValueError,
     "'prior' parameter of BayesianIRL must be a str among"),
    ("GAIL max_iter 0", GAIL(max_iter=0), ValueError,
     "'max_iter' parameter of GAIL must be an int in the range [1, inf)"),
    ("GAIL reward_form", GAIL(reward_form="log D"), ValueError, "'reward_form' parameter of GAIL"),
    ("GAIL disc_learning_rate NaN", GAIL(disc_learning_rate=np.nan), ValueError,
     "'disc_learning_rate' parameter of GAIL"),
    ("GAIL entropy_coef 0 on a tabular env", GAIL(entropy_coef=0.0, max_iter=1), ValueError,
     "entropy_coef must be positive on tabular envs"),
    ("GAIL device", GAIL(device="tpu", max_iter=1), ValueError, "device must be 'cpu', 'cuda'"),
    ("GAIL hidden_layer_sizes", GAIL(hidden_layer_sizes=(-1,), max_iter=1), ValueError,
     "hidden_layer_sizes must be a sequence of positive integers"),
    ("AIRL entropy_coef negative", AIRL(entropy_coef=-1.0), ValueError,
     "'entropy_coef' parameter of AIRL must be a float in the range [0.0, inf)"),
    ("AIRL reward_model", AIRL(reward_model="tree"), ValueError,
     "'reward_model' parameter of AIRL must be a str among"),
    ("AIRL potential_hidden_layer_sizes", AIRL(potential_hidden_layer_sizes=(0,), max_iter=1),
     ValueError, "hidden_layer_sizes must be a sequence of positive integers"),
]


@pytest.mark.parametrize("case, est, exc, fragment", BAD_PARAMS, ids=[c[0] for c in BAD_PARAMS])
def test_bad_hyperparameters(case, est, exc, fragment):
    with pytest.raises(exc, match=re.escape(fragment)):
        est.fit(_demos(), ENV)


BAD_WEIGHTS = [
    ("wrong length", [1.0, 2.0], ValueError, "sample_weight has shape (2,); expected (6,)"),
    ("negative", -np.ones(6), ValueError, "sample_weight must be finite and non-negative"),
    ("NaN", np.full(6, np.nan), ValueError, "sample_weight must be finite and non-negative"),
    ("all zero", np.zeros(6), ValueError, "sample_weight must not be all zero"),
    ("strings", ["a"] * 6, TypeError, "sample_weight must be an array of numbers"),
]


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("case, weights, exc, fragment", BAD_WEIGHTS,
                         ids=[c[0] for c in BAD_WEIGHTS])
def test_bad_sample_weight(case, weights, exc, fragment, name):
    with pytest.raises(exc, match=re.escape(fragment)):
        _estimators()[name].fit(_demos(), ENV, sample_weight=weights)


# -- calls before fit ------------------------------------------------------------------------
NOT_FITTED_CALLS = [
    ("predict", lambda est: est.predict([0])),
    ("predict_proba", lambda est: est.predict_proba([0])),
    ("predict_reward", lambda est: est.predict_reward([0])),
    ("score", lambda est: est.score(_demos())),
]


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("method, call", NOT_FITTED_CALLS, ids=[c[0] for c in NOT_FITTED_CALLS])
def test_not_fitted(method, call, name):
    with pytest.raises(NotFittedError, match=f"This {name} instance is not fitted yet"):
        call(_estimators()[name])


def test_transfer_reward_before_fit():
    with pytest.raises(NotFittedError):
        MaxEntIRL().transfer_reward(ENV)


# -- bad inputs to predict*, score -------------------------------------------------------------
BAD_PREDICT = [
    ("state out of range", lambda e: e.predict([0, 9]), ValueError,
     "states[1] = 9 is outside [0, 9)"),
    ("negative state", lambda e: e.predict_proba([-1]), ValueError,
     "states[0] = -1 is outside [0, 9)"),
    ("fractional state", lambda e: e.predict([0.5]), ValueError,
     "states must be integer state indices"),
    ("NaN state", lambda e: e.predict_proba([np.nan]), ValueError,
     "states must be integer state indices"),
    ("string states", lambda e: e.predict(["a"]), TypeError,
     "states must be integer state indices, got dtype <U1"),
    ("2-D states", lambda e: e.predict(np.zeros((2, 2), dtype=int)), ValueError,
     "states must be a 1-D array of state indices, got shape (2, 2)"),
    ("scalar state out of range", lambda e: e.predict_proba(9), ValueError,
     "states[0] = 9 is outside [0, 9)"),
    ("scalar string state", lambda e: e.predict("a"), TypeError,
     "states must be integer state indices, got dtype <U1"),
    ("reward action out of range", lambda e: e.predict_reward([0, 1], [0, 4]), ValueError,
     "actions[1] = 4 is outside [0, 4)"),
    ("reward string actions", lambda e: e.predict_reward([0], ["up"]), TypeError,
     "actions must be integer indices in [0, 4), got dtype <U2"),
    ("reward fractional action", lambda e: e.predict_reward([0], [0.5]), ValueError,
     "actions must be integer indices in [0, 4)"),
    ("reward actions length", lambda e: e.predict_reward([0, 1], [0]), ValueError,
     "actions has shape (1,); expected (2,) like states"),
    ("score state out of range", lambda e: e.score([([0, 99], [0])]), ValueError,
     "trajectory 0, step 1: state 99 is outside [0, 9)"),
    ("score action out of range", lambda e: e.score([([0, 1], [7])]), ValueError,
     "trajectory 0, step 0: action 7 is outside [0, 4)"),
    ("score empty demos", lambda e: e.score([]), ValueError, "demos is empty"),
    ("score env a string", lambda e: e.score(_demos(), "env"), TypeError,
     "score got str as its second argument"),
    ("score weights length", lambda e: e.score(_demos(), sample_weight=[1.0]), ValueError,
     "sample_weight has shape (1,); expected (6,)"),
    ("ragged states", lambda e: e.predict([[0], [1, 2]]), ValueError,
     "states is ragged: give a 1-D array of state indices"),
    ("score on an env the one-hot reward cannot describe",
     lambda e: e.score([([0, 12], [0])], GridWorld(4, gamma=0.9)), ValueError,
     "the feature map fitted on the training env (9 states) cannot describe the states of "
     "this env (16 states)"),
]


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("case, call, exc, fragment", BAD_PREDICT,
                         ids=[c[0] for c in BAD_PREDICT])
def test_bad_prediction_inputs(case, call, exc, fragment, name):
    with pytest.raises(exc, match=re.escape(fragment)):
        call(_fitted(name))


# -- the library's public functions -------------------------------------------------------------
UNIFORM = np.full((S, A), 1.0 / A)
BAD_FUNCTION_CALLS = [
    ("ValueIteration env", lambda: ValueIteration().solve("env", np.zeros(S)), TypeError,
     "env must be a TabularMDP, got str"),
    ("ValueIteration reward shape", lambda: ValueIteration().solve(ENV, np.zeros(3)),
     ValueError, "reward must have shape (9,) or (9, 4), got (3,)"),
    ("SoftValueIteration reward NaN",
     lambda: SoftValueIteration().solve(ENV, np.full(S, np.nan)), ValueError,
     "reward contains NaN or infinity"),
    ("SoftValueIteration temperature 0",
     lambda: SoftValueIteration(temperature=0).solve(ENV, np.zeros(S)), ValueError,
     "'temperature' parameter of SoftValueIteration must be a float in the range (0.0, inf)"),
    ("TabularPolicy negative", lambda: TabularPolicy(-np.ones((2, 2))), ValueError,
     "policy probabilities must be finite and non-negative"),
    ("TabularPolicy rows do not sum to 1", lambda: TabularPolicy(np.ones((2, 2))), ValueError,
     "policy probabilities at s=0 sum to 2, not 1"),
    ("occupancy_measure policy shape", lambda: occupancy_measure(ENV, np.full((2, 2), 0.5)),
     ValueError, "policy has shape (2, 2); expected (S, A) = (9, 4)"),
    ("empirical_occupancy gamma", lambda: empirical_occupancy(_demos(), S, A, -1.0),
     ValueError, "gamma must be a float in [0, 1], got -1"),
    ("feature_expectations gamma", lambda: feature_expectations(_demos(), np.ones((S, 2)), 1.5),
     ValueError, "gamma must be a float in [0, 1], got 1.5"),
    ("sample_trajectories n 0", lambda: sample_trajectories(ENV, UNIFORM, 0), ValueError,
     "n_trajectories must be a positive int, got 0"),
    ("sample_trajectories horizon", lambda: sample_trajectories(ENV, UNIFORM, 2, horizon=-1),
     ValueError, "horizon must be a positive int, got -1"),
    ("make_expert_demos n", lambda: make_expert_demos(ENV, -1), ValueError,
     "n_trajectories must be a positive int, got -1"),
    ("log_likelihood demos", lambda: log_likelihood(UNIFORM, [([0, 99], [0])]), ValueError,
     "trajectory 0, step 1: state 99 is outside [0, 9)"),
    ("epic_distance shapes", lambda: epic_distance(np.ones(3), np.ones(4), gamma=0.9),
     ValueError, "reward_b must have shape (3,)"),
    ("feature_expectation_gap NaN", lambda: feature_expectation_gap([1.0, np.nan], [1.0, 2.0]),
     ValueError, "feature expectations contain NaN or infinity"),
    # array policies go through TabularPolicy's checks wherever they are accepted
    ("occupancy_measure rows do not sum to 1", lambda: occupancy_measure(ENV, np.full((S, A), .5)),
     ValueError, "policy probabilities at s=0 sum to 2, not 1"),
    ("occupancy_measure NaN policy", lambda: occupancy_measure(ENV, np.full((S, A), np.nan)),
     ValueError, "policy probabilities must be finite and non-negative"),
    ("occupancy_measure string policy", lambda: occupancy_measure(ENV, "uniform"), TypeError,
     "policy probabilities must be numeric"),
    ("TabularPolicy ragged", lambda: TabularPolicy([[1.0, 0.0], [1.0]]), ValueError,
     "policy probabilities are ragged"),
    ("TabularPolicy negative t",
     lambda: TabularPolicy(np.full((2, S, A), 1 / A)).predict([0], t=-1), ValueError,
     "t must hold non-negative integer time steps"),
    ("TabularPolicy t length", lambda: TabularPolicy(np.full((2, S, A), 1 / A)).predict(
        [0, 1], t=[0, 1, 1]), ValueError, "t must be one time step or one per state (2)"),
    ("expected_value_difference policy",
     lambda: expected_value_difference(ENV, policy=np.full((S, A), 0.125)), ValueError,
     "policy probabilities at s=0 sum to 0.5, not 1"),
    # feature matrices
    ("occupancy_feature_expectations list", lambda: occupancy_feature_expectations(
        UNIFORM, [1, 2]), ValueError, "features must have shape (S, k), (S * A, k) or (S, A, k)"),
    ("occupancy_feature_expectations None", lambda: occupancy_feature_expectations(
        UNIFORM, None), TypeError, "features must be an (S, k), (S * A, k) or (S, A, k) array"),
    ("occupancy_feature_expectations NaN", lambda: occupancy_feature_expectations(
        UNIFORM, np.full((S, 2), np.nan)), ValueError, "features contains NaN or infinite"),
    ("occupancy_feature_expectations 3-D actions", lambda: occupancy_feature_expectations(
        UNIFORM, np.ones((S, 3, 2))), ValueError, "expected (S, A, k) = (9, 4, k)"),
    ("occupancy_feature_expectations rows", lambda: occupancy_feature_expectations(
        UNIFORM, np.ones((7, 2))), ValueError, "expected S = 9 or S * A = 36 rows"),
    ("occupancy_feature_expectations 1-D occupancy", lambda: occupancy_feature_expectations(
        UNIFORM.ravel(), np.ones((S, 2))), ValueError, "occupancy must be a numeric (S, A)"),
    ("feature_expectations strings",
     lambda: feature_expectations(_demos(), np.full((S, 2), "a"), 0.9), TypeError,
     "features must be numeric"),
    ("feature_expectations negative action",
     lambda: feature_expectations([([0, 1], [-1])], np.eye(S), 0.9), ValueError,
     "demos contain action -1; actions must be >= 0"),
    ("ExactExpectation features", lambda: ExactExpectation().feature_expectations(
        ENV, UNIFORM, np.ones((S + 1, 2))), ValueError, "expected S = 9 or S * A = 36 rows"),
    ("state_action_features n_actions", lambda: state_action_features(np.eye(2), 0),
     ValueError, "n_actions must be a positive int, got 0"),
    ("fit_feature_matrix env", lambda: fit_feature_matrix(OneHotStates(), None), TypeError,
     "env must be a TabularMDP, got NoneType"),
    # planning functions validate what the solver classes validate
    ("soft_value_iteration temperature 0",
     lambda: soft_value_iteration(ENV, np.zeros(S), temperature=0), ValueError,
     "temperature must be a positive finite float, got 0"),
    ("soft_value_iteration temperature negative",
     lambda: soft_value_iteration(ENV, np.zeros(S), temperature=-1.0), ValueError,
     "temperature must be a positive finite float, got -1.0"),
    ("value_iteration max_iter 0", lambda: value_iteration(ENV, np.zeros(S), max_iter=0),
     ValueError, "max_iter must be an int >= 1, got 0"),
    ("value_iteration tol negative", lambda: value_iteration(ENV, np.zeros(S), tol=-1.0),
     ValueError, "tol must be a positive finite float, got -1.0"),
    ("soft_value_iteration init_values", lambda: soft_value_iteration(
        ENV, np.zeros(S), init_values="zeros"), TypeError, "init_values must be a numeric array"),
    # stacks of K rewards
    ("soft_value_iteration reward stack shape", lambda: soft_value_iteration(
        ENV, np.zeros((2, S, A + 1))), ValueError,
     "a stack of rewards must have shape (K, 9) or (K, 9, 4) with K >= 1, got (2, 9, 5)"),
    ("value_iteration reward stack NaN", lambda: value_iteration(
        ENV, np.stack([np.zeros(S), np.full(S, np.nan)])), ValueError,
     "reward 1 of the stack contains NaN or infinity"),
    ("soft_value_iteration stack init_values", lambda: soft_value_iteration(
        ENV, np.zeros((2, S)), init_values=np.zeros(S)), ValueError,
     "init_values must be a finite array of shape (2, 9), got shape (9,)"),
    ("soft_bellman_backup stack values", lambda: soft_bellman_backup(
        ENV, np.zeros((3, S)), np.zeros((2, S))), ValueError,
     "values must be a finite array of shape (3, 9), got shape (2, 9)"),
    ("occupancy_measure stack init_visitation", lambda: occupancy_measure(
        ENV, [TabularPolicy(UNIFORM)] * 2, init_visitation=np.ones(S)), ValueError,
     "init_visitation for 2 policies must have shape (2, 9), got (9,)"),
    # horizons: rollouts never run past what the policy or the env defines
    ("sample_trajectories past a time-indexed policy", lambda: sample_trajectories(
        ENV, np.full((2, S, A), 1 / A), 1, horizon=4), ValueError,
        "the time-indexed policy covers 2 steps; cannot sample 4 steps"),
    ("sample_trajectories n True", lambda: sample_trajectories(ENV, UNIFORM, True, horizon=2),
     ValueError, "n_trajectories must be a positive int, got True"),
    ("MonteCarloExpectation past the env horizon", lambda: MonteCarloExpectation(
        10, horizon=10).feature_expectations(GridWorld(3, horizon=4), UNIFORM, np.eye(S)),
     ValueError, "is longer than the env's finite horizon 4"),
    ("ObjectWorld discrete", lambda: ObjectWorld(discrete="no"), TypeError,
     "discrete must be True or False, got 'no'"),
    ("epic_distance string reward",
     lambda: epic_distance(np.array(["a", "b"]), np.ones(2), gamma=0.9), TypeError,
     "reward_a must be numeric"),
]


@pytest.mark.parametrize("case, call, exc, fragment", BAD_FUNCTION_CALLS,
                         ids=[c[0] for c in BAD_FUNCTION_CALLS])
def test_bad_function_inputs(case, call, exc, fragment):
    with pytest.raises(exc, match=re.escape(fragment)):
        call()


def test_load_demos_refuses_pickled_objects(tmp_path):
    """A demos file holding an object array would need pickle: it is refused, not executed."""
    path = tmp_path / "evil.npz"
    obj = np.empty(1, dtype=object)
    obj[0] = {"payload": 1}
    np.savez(path, states=obj, actions=np.zeros(1), state_lengths=np.ones(1, dtype=np.int64),
             action_lengths=np.ones(1, dtype=np.int64))
    with pytest.raises(ValueError, match="allow_pickle=False"):
        load_demos(path)


def test_load_demos_names_missing_arrays(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, x=np.zeros(3))
    with pytest.raises(ValueError, match=r"is not a demos file: missing arrays \['action_lengths'"):
        load_demos(path)


def test_catalogue_size():
    """The issue asks for at least 40 distinct bad inputs; this catalogue has far more."""
    distinct = (len(BAD_DEMOS) + len(BAD_ENVS) + len(BAD_FIT_ENVS) + len(BAD_PARAMS)
                + len(BAD_WEIGHTS) + len(NOT_FITTED_CALLS) + len(BAD_PREDICT)
                + len(BAD_FUNCTION_CALLS))
    assert distinct >= 40


# -- inputs are never modified -------------------------------------------------------------------
def _snapshot_env(env):
    return (env.transition_matrix.toarray().copy(), env.initial_state_distribution.copy(),
            None if env.reward is None else env.reward.copy(), env.gamma, env.horizon,
            None if env.state_features is None else env.state_features.copy())


def _assert_env_unchanged(env, snap):
    now = _snapshot_env(env)
    for a, b in zip(now, snap):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b


@pytest.mark.parametrize("name", ESTIMATORS)
def test_fit_score_predict_never_modify_inputs(name):
    env = GridWorld(3, gamma=0.9)
    # Writable arrays in every accepted format: pairs, dicts, Trajectory, obs/acts objects.
    rng = np.random.default_rng(0)
    pairs = [(rng.integers(S, size=5), rng.integers(A, size=4)) for _ in range(3)]
    demos = [
        pairs[0],
        {"states": pairs[1][0], "actions": pairs[1][1]},
        _Obj(pairs[2][0], pairs[2][1]),
        Trajectory(pairs[0][0], pairs[0][1]),
    ]
    demos_copy = copy.deepcopy(pairs)
    weights = np.array([1.0, 2.0, 0.5, 1.0])
    weights_copy = weights.copy()
    env_snap = _snapshot_env(env)
    states = np.array([0, 3, 8])
    actions = np.array([1, 0, 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = _estimators()[name].fit(demos, env, sample_weight=weights)
    est.predict(states)
    est.predict_proba(states)
    est.predict_reward(states, actions)
    est.score(demos, sample_weight=weights)
    for (s, a), (s0, a0) in zip(pairs, demos_copy):
        np.testing.assert_array_equal(s, s0)
        np.testing.assert_array_equal(a, a0)
        assert s.flags.writeable and a.flags.writeable
    np.testing.assert_array_equal(weights, weights_copy)
    np.testing.assert_array_equal(states, [0, 3, 8])
    np.testing.assert_array_equal(actions, [1, 0, 3])
    _assert_env_unchanged(env, env_snap)


def test_check_demos_copies_and_freezes():
    states = np.array([0, 1, 2])
    actions = np.array([1, 1])
    (traj,) = check_demos([(states, actions)], n_states=3, n_actions=2)
    assert not np.shares_memory(traj.states, states)
    assert not traj.states.flags.writeable
    states[0] = 2
    assert traj.states[0] == 0


# -- BehavioralCloning: the prediction rows that apply (it learns no reward), and its own ----------
@pytest.mark.parametrize(
    "case, call, exc, fragment",
    [row for row in BAD_PREDICT if "reward" not in row[0]], ids=lambda row: None,
)
def test_behavioral_cloning_bad_prediction_inputs(case, call, exc, fragment):
    with pytest.raises(exc, match=re.escape(fragment)):
        call(BehavioralCloning().fit(_demos(), ENV))


def _gym_demos(env_id, action):
    gymnasium = pytest.importorskip("gymnasium")
    env = gymnasium.make(env_id)
    obs, _ = env.reset(seed=0)
    return env, [(np.stack([obs, obs]), np.array([action]))]


def _bc_fit(estimator, env_id, action, **kwargs):
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.svm import LinearSVC

    est = {"classifier": LogisticRegression(), "regressor": LinearRegression(),
           "svc": LinearSVC()}[estimator]
    env, demos = _gym_demos(env_id, action)
    return BehavioralCloning(est).fit(demos, env, **kwargs)


BAD_BC = [
    ("classifier on Box actions", lambda: _bc_fit("classifier", "Pendulum-v1", [0.5]),
     ValueError, "LogisticRegression is a classifier, but the actions are continuous"),
    ("regressor on Discrete actions", lambda: _bc_fit("regressor", "CartPole-v1", 1),
     ValueError, "LinearRegression is a regressor, but the actions are Discrete"),
    ("regressor on a tabular env",
     lambda: BehavioralCloning(_bc_regressor()).fit(_demos(), ENV), ValueError,
     "is a regressor, but the actions are Discrete (4 actions of a TabularMDP)"),
    ("classifier without predict_proba", lambda: _bc_fit("svc", "CartPole-v1", 1),
     ValueError, "LinearSVC has no predict_proba"),
    ("no env without an estimator", lambda: BehavioralCloning().fit(_demos()), TypeError,
     "requires an environment when estimator=None"),
    ("Discrete action out of range", lambda: BehavioralCloning().fit(
        *reversed(_gym_demos("CartPole-v1", 2))), ValueError,
     "trajectory 0: actions[0] = 2 is not an action in [0, 2)"),
    ("hidden_layer_sizes", lambda: BehavioralCloning(hidden_layer_sizes=(0,)).fit(
        *reversed(_gym_demos("CartPole-v1", 1))), ValueError,
     "hidden_layer_sizes must be a sequence of positive integers"),
    ("alpha negative", lambda: BehavioralCloning(alpha=-1.0).fit(_demos(), ENV), ValueError,
     "'alpha' parameter of BehavioralCloning must be a float in the range [0.0, inf)"),
]


def _bc_regressor():
    from sklearn.linear_model import LinearRegression

    return LinearRegression()


@pytest.mark.parametrize("case, call, exc, fragment", BAD_BC, ids=[c[0] for c in BAD_BC])
def test_behavioral_cloning_bad_inputs(case, call, exc, fragment):
    with pytest.raises(exc, match=re.escape(fragment)):
        call()
