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
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError

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
from sklirl.demos import check_demos, from_dataframe, load_demos, save_demos
from sklirl.envs import GridWorld, ObjectWorld, TabularMDP
from sklirl.expectations import (
    ExactExpectation,
    MonteCarloExpectation,
    empirical_occupancy,
    feature_expectations,
    occupancy_feature_expectations,
    occupancy_measure,
)
from sklirl.features import MacroCells, OneHotStates, fit_feature_matrix, state_action_features
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
    ("a DataLoader's transition batches", [{"obs": [0, 1], "acts": [1, 1], "next_obs": [1, 2],
                                           "dones": [False, False]}], TypeError,
     "demos[0] is a batch of flattened transitions"),
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
     "trajectory 0 has no actions (a state-only demonstration); "),
]
# (case, target) pairs where the input is valid: MaxEntIRL with state rewards learns from
# state-only demonstrations (the state visitation is all it needs).
ACCEPTED_DEMOS = {("state-only demo", "MaxEntIRL")}


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
    if (case, target_name) in ACCEPTED_DEMOS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            assert target(demos).reward_.shape == (S, A)
        return
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
     "initial_state_distribution must be numeric"),
    ("state_features wrong rows", lambda: TabularMDP(P_OK, state_features=np.ones((3, 2))),
     ValueError, "state_features must have shape (2, d), got (3, 2)"),
    ("state_features NaN", lambda: TabularMDP(P_OK, state_features=[[np.nan], [1.0]]),
     ValueError, "state_features contains NaN or infinity"),
    ("state_features strings", lambda: TabularMDP(P_OK, state_features=[["a"], ["b"]]),
     TypeError, "state_features must be numeric"),
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
    ("MaxEntIRL reward_input", MaxEntIRL(reward_input="action"), ValueError,
     "'reward_input' parameter of MaxEntIRL must be a str among"),
    ("MaxMarginIRL reward_input", MaxMarginIRL(reward_input="pairs"), ValueError,
     "'reward_input' parameter of MaxMarginIRL must be a str among"),
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
    ("strings", ["a"] * 6, TypeError, "sample_weight must be numeric"),
    ("numeric strings", ["0.5"] * 6, TypeError, "sample_weight must be numeric"),
    ("complex", [1 + 1j] * 6, TypeError, "(complex numbers)"),
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
     ValueError, "gamma must be in [0, 1], got -1"),
    ("feature_expectations gamma", lambda: feature_expectations(_demos(), np.ones((S, 2)), 1.5),
     ValueError, "gamma must be in [0, 1], got 1.5"),
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
        ENV, np.zeros(S), init_values="zeros"), TypeError, "init_values must be numeric"),
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
    ("from_dataframe duplicated time step", lambda: from_dataframe(
        {"e": [0, 0, 0], "t": [0, 1, 1], "s": [0, 1, 2], "a": [0, 0, 1]}, episode="e",
        time="t", state="s", action="a"), ValueError, "episode 0: time step 1 appears twice"),
    ("from_dataframe NaN state", lambda: from_dataframe(
        {"e": [0, 0], "s": [0, np.nan], "a": [0, 0]}, episode="e", state="s", action="a"),
     ValueError, "episode 0, row 1: state column 's' is missing or not finite"),
    ("from_dataframe fractional state for a tabular env", lambda: from_dataframe(
        {"e": [0, 0], "s": [0, 0.5], "a": [0, 0]}, episode="e", state="s", action="a",
        n_states=3), ValueError, "episode 0, row 1: state 0.5 is not an integer index"),
    ("from_dataframe one-row episode", lambda: from_dataframe(
        {"e": [0, 0, 1], "s": [0, 1, 2], "a": [0, 0, 1]}, episode="e", state="s", action="a"),
     ValueError, "episode 1, row 2: the episode has a single row"),
    ("from_trajectories prior", lambda: TabularMDP.from_trajectories(
        [([0, 1], [0])], 2, 2, prior=np.nan), ValueError, "prior must be a finite float >= 0"),
    ("state_action_features shape", lambda: TabularMDP(P_OK, state_action_features=np.ones(
        (2, 3, 1))), ValueError, "state_action_features must have shape (2, 2, d)"),
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
    with pytest.raises(ValueError, match="refused: they would need pickle"):
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


# -- a failed fit is rolled back -----------------------------------------------------------------
class _NaNFeatures(TransformerMixin, BaseEstimator):
    """A feature map whose features are NaN: fit must fail after it started changing things."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.full((len(X), 2), np.nan)


def _stop_after_first_round(est, row):
    raise RuntimeError("callback failed")  # after the first round has been recorded


def _maxent_cv():
    from sklirl.irl import MaxEntIRLCV

    return MaxEntIRLCV(l2s=[0.1, 10.0], cv=2, max_iter=5)


# (id, estimator of the first fit, parameters of the failing refit, expected exception)
FAILING_REFITS = [
    ("MaxEntIRL-nan-features", MaxEntIRL(max_iter=5), {"features": _NaNFeatures()}, ValueError),
    ("MaxEntIRL-mlp-warm-nan", MaxEntIRL(reward_model="mlp", max_iter=3, warm_start=True),
     {"features": _NaNFeatures()}, ValueError),
    ("MaxMarginIRL-nan-features", MaxMarginIRL(max_iter=5), {"features": _NaNFeatures()},
     ValueError),
    ("GAIL-nan-features", GAIL(max_iter=2, hidden_layer_sizes=(8,), random_state=0),
     {"features": _NaNFeatures()}, ValueError),
    ("MaxEntIRLCV-nan-features", _maxent_cv(), {"features": _NaNFeatures()}, ValueError),
    ("GAIL-callback", GAIL(max_iter=2, hidden_layer_sizes=(8,), random_state=0),
     {"callback": _stop_after_first_round, "max_iter": 3}, RuntimeError),
    ("GAIL-warm-callback", GAIL(max_iter=2, hidden_layer_sizes=(8,), random_state=0,
                                warm_start=True),
     {"callback": _stop_after_first_round, "max_iter": 3}, RuntimeError),
]


def _fitted_state(est):
    """The instance's attributes with array and network contents, for an exact comparison."""
    import pickle

    return {k: pickle.dumps(v) for k, v in vars(est).items()
            if k.endswith("_") and not k.startswith("_")}


@pytest.mark.parametrize("case, est, refit_params, exc", FAILING_REFITS,
                         ids=[c[0] for c in FAILING_REFITS])
def test_failed_refit_keeps_the_previous_fit(case, est, refit_params, exc):
    """Any exception in fit (not only Ctrl-C) leaves the previous fit intact, every attribute
    and network included, so the estimator predicts exactly as before the failed call."""
    est = clone(est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(_demos(), ENV)
    before = _fitted_state(est)
    reward = est.predict_reward([0, 4, 8])
    est.set_params(**refit_params)
    ids = {k: id(v) for k, v in vars(est).items()}
    other_env = GridWorld(4, gamma=0.9)
    demos, _ = make_expert_demos(other_env, 4, horizon=6, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc) as info:
            est.fit(demos, other_env)
    assert any("keeps its previous fit" in n for n in getattr(info.value, "__notes__", []))
    assert {k: id(v) for k, v in vars(est).items()} == ids
    assert _fitted_state(est) == before
    assert est.env_ is ENV
    history = getattr(est, "history_", None)
    if isinstance(history, dict) and "disc_loss" in history:  # GAIL: one entry per round
        assert all(len(v) == est.n_iter_ for v in history.values())
    np.testing.assert_array_equal(est.predict_reward([0, 4, 8]), reward)


@pytest.mark.parametrize("case, est, refit_params, exc", FAILING_REFITS,
                         ids=[c[0] for c in FAILING_REFITS])
def test_failed_first_fit_leaves_the_estimator_unfitted(case, est, refit_params, exc):
    est = clone(est).set_params(**refit_params)
    params = dict(vars(est))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match="") as info:
            est.fit(_demos(), ENV)
    assert any("is unfitted" in n for n in getattr(info.value, "__notes__", []))
    assert vars(est) == params
    with pytest.raises(NotFittedError):
        est.predict([0])


def test_failed_cv_refit_keeps_the_previous_fit(monkeypatch):
    """MaxEntIRLCV sets its CV results and refits in one transaction: a failing refit leaves
    neither the new CV results nor half a refit."""
    import sklirl.irl._max_ent as max_ent_module

    est = _maxent_cv()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(_demos(), ENV)
    before = _fitted_state(est)

    def failing_refit(self, *args, **kwargs):
        raise RuntimeError("refit failed")

    monkeypatch.setattr(max_ent_module.MaxEntIRL, "fit", failing_refit)
    est.set_params(l2s=[1.0, 100.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="refit failed"):
            est.fit(_demos(), ENV)
    assert _fitted_state(est) == before


def test_failed_fit_occupancy_keeps_the_previous_fit():
    est = MaxEntIRL(max_iter=50).fit(_demos(), ENV)
    before = _fitted_state(est)
    est.set_params(features=_NaNFeatures())
    other_env = GridWorld(4, gamma=0.9)
    with pytest.raises(ValueError):
        est.fit_occupancy(np.ones(other_env.n_states), other_env)
    assert _fitted_state(est) == before and est.env_ is ENV


# -- classes of numeric input, each through every coercion point -----------------------------------
def _not_numbers(shape):
    """Arrays of ``shape`` that are not real numbers: each must be refused with a TypeError."""
    import torch

    return {
        "numeric strings": np.full(shape, "0.5"),
        "complex": np.full(shape, 0.5 + 0j),
        "None": np.full(shape, None, dtype=object),
        "tensor requiring grad": torch.full(shape, 0.5, dtype=torch.float64,
                                            requires_grad=True),
    }


# (id, call with the bad value, shape of the value): every place that coerces user numbers
NUMBER_SINKS = [
    ("TabularMDP initial_state_distribution",
     lambda v: TabularMDP(P_OK, initial_state_distribution=v), (2,)),
    ("TabularMDP reward", lambda v: TabularMDP(P_OK, reward=v), (2,)),
    ("TabularMDP state_features", lambda v: TabularMDP(P_OK, state_features=v), (2, 1)),
    ("fit sample_weight", lambda v: _fitted("MaxEntIRL").score(_demos(), sample_weight=v),
     (6,)),
    ("solver reward", lambda v: SoftValueIteration().solve(ENV, v), (S,)),
    ("solver init_values", lambda v: soft_value_iteration(ENV, np.zeros(S), init_values=v),
     (S,)),
    ("occupancy initial_distribution",
     lambda v: occupancy_measure(ENV, np.full((S, A), 1 / A), initial_distribution=v), (S,)),
    ("policy probabilities", lambda v: TabularPolicy(v), (S, A)),
    ("fit_occupancy", lambda v: MaxEntIRL(max_iter=1).fit_occupancy(v, ENV), (S,)),
    ("epic_distance", lambda v: epic_distance(v, np.arange(S * A).reshape(S, A), gamma=0.9),
     (S, A)),
    ("feature_expectation_gap", lambda v: feature_expectation_gap(v, np.zeros(2)), (2,)),
    ("Trajectory states", lambda v: Trajectory(v, [0]), (2,)),
]


@pytest.mark.parametrize("kind", ["numeric strings", "complex", "None", "tensor requiring grad"])
@pytest.mark.parametrize("case, call, shape", NUMBER_SINKS, ids=[c[0] for c in NUMBER_SINKS])
def test_non_numbers_are_refused_everywhere_numbers_are_needed(case, call, shape, kind):
    """Strings are not parsed ("0.5"), complex numbers not truncated, objects not coerced,
    tensors requiring grad not converted: a TypeError naming the argument."""
    pytest.importorskip("torch")
    with pytest.raises(TypeError, match="numeric|numbers|detach|dtype"):
        call(_not_numbers(shape)[kind])


# (id, call): float indices are range-checked before any cast to int (1e20 would wrap around)
HUGE_FLOAT_INDICES = [
    ("predict", lambda x: _fitted("MaxMarginIRL").predict([x])),
    ("predict_reward", lambda x: _fitted("MaxEntIRL").predict_reward([x])),
    ("policy.predict", lambda x: TabularPolicy(np.full((S, A), 1 / A)).predict([x])),
    ("check_demos", lambda x: check_demos([([0.0, x], [0.0])], n_states=S, n_actions=A)),
    ("check_demos actions", lambda x: check_demos([([0, 1], [x])], n_states=S, n_actions=A)),
]


@pytest.mark.parametrize("x", [1e20, -1e20, 2.0**63, 1e300])
@pytest.mark.parametrize("case, call", HUGE_FLOAT_INDICES, ids=[c[0] for c in HUGE_FLOAT_INDICES])
def test_huge_float_indices_are_reported_as_given(case, call, x):
    with pytest.raises(ValueError, match=re.escape(f"{x:g}") + r"|" + re.escape(repr(x))):
        call(x)


def test_policy_at_rejects_invalid_time_steps():
    policy = TabularPolicy(np.full((3, S, A), 1 / A))
    assert policy.at(10**30).shape == (S, A)  # past the horizon: the last step's rule
    for t in (-1, 1.5, "0", None):
        with pytest.raises(ValueError, match="non-negative int time step"):
            policy.at(t)


# (id, call): results that would overflow float64 are refused, never returned as inf/NaN/zeros
OVERFLOWS = [
    ("finite-horizon value iteration", lambda: value_iteration(
        GridWorld(3, gamma=0.9, horizon=5), np.full(S, 1e308)), "beyond float64's range"),
    ("discounted soft value iteration", lambda: soft_value_iteration(
        ENV, np.full(S, 1e306)), "beyond float64's range"),
    ("occupancy_feature_expectations", lambda: occupancy_feature_expectations(
        np.full((S, A), 1e308), np.full((S, 2), 10.0)), "overflow float64"),
    ("CSR features with duplicates summing to inf", lambda: fit_feature_matrix(
        _DuplicateCSR(), ENV), "NaN or infinite"),
]


class _DuplicateCSR(TransformerMixin, BaseEstimator):
    """Features with duplicate CSR entries 1e308 + 1e308 = inf in the first cell."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        n = len(X)
        indptr = np.r_[0, np.full(n, 2)]
        return sp.csr_matrix((np.full(2, 1e308), np.zeros(2, dtype=int), indptr),
                             shape=(n, 1))


@pytest.mark.parametrize("case, call, fragment", OVERFLOWS, ids=[c[0] for c in OVERFLOWS])
def test_overflowing_results_are_refused(case, call, fragment):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow warning on the way
        with pytest.raises(ValueError, match=fragment):
            call()


@pytest.mark.parametrize("scale", [1.0, 1e300, 1e308])
def test_results_near_the_float64_edge_are_right(scale):
    """Inputs near the largest float that have a finite answer get the right one."""
    from sklirl.features import MacroCells

    # fit_occupancy depends on the occupancy's proportions only
    occupancy = np.zeros(S)
    occupancy[[2, 5, 8]] = scale
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # l2=0: an unattainable target
        a = MaxEntIRL(max_iter=20).fit_occupancy(occupancy, ENV)
        b = MaxEntIRL(max_iter=20).fit_occupancy(occupancy / scale, ENV)
    np.testing.assert_allclose(a.reward_, b.reward_)
    # MacroCells: rows beyond the fitted range go to the edge cell, on the correct side
    cells = MacroCells(1).fit([[0.0], [3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out = cells.transform([[scale * 1e19 if scale < 1e300 else scale], [-scale]])
    np.testing.assert_array_equal(out.argmax(axis=1), [3, 0])


# -- absurd sizes are refused up front, with the size and the estimate ----------------------------
def _long_env(horizon):
    return TabularMDP(P_OK, gamma=1.0, horizon=horizon)


def _ppo(**params):
    from sklirl.solvers import PPO

    return PPO(n_steps=8, batch_size=8, **params).make_trainer("CartPole-v1")


# (id, call, the size the message must name)
ABSURD_SIZES = [
    ("occupancy horizon 2**40", lambda: occupancy_measure(_long_env(2**40), np.full((2, 2), .5)),
     "1099511627776"),
    ("occupancy per_step", lambda: occupancy_measure(_long_env(2**33), np.full((2, 2), .5),
                                                     per_step=True), "8589934592"),
    ("finite-horizon planning", lambda: value_iteration(_long_env(2**40), np.zeros(2)),
     "1099511627776"),
    ("soft planning", lambda: SoftValueIteration().solve(_long_env(2**40), np.zeros(2)),
     "1099511627776"),
    ("sample_trajectories horizon 2**40", lambda: sample_trajectories(
        ENV, np.full((S, A), 1 / A), 1, horizon=2**40), "1099511627776"),
    ("sample_trajectories 10**12 trajectories", lambda: sample_trajectories(
        ENV, np.full((S, A), 1 / A), 10**12, horizon=10), "1000000000000"),
    ("GridWorld(10**9)", lambda: GridWorld(10**9), "1000000000 x 1000000000"),
    ("ObjectWorld(10**6)", lambda: ObjectWorld(10**6), "1000000 x 1000000"),
    ("Monte Carlo rollouts at gamma 1 - 1e-10", lambda: MonteCarloExpectation(
        n_episodes=10).occupancy(TabularMDP(P_OK, gamma=1 - 1e-10), np.full((2, 2), .5)),
     "6.91e+10 steps"),
    ("PPO(n_envs=10**9)", lambda: _ppo(n_envs=10**9), "n_envs=1000000000"),
]


@pytest.mark.parametrize("device", ["tpu", "gpu", 3])
def test_ppo_refuses_devices_it_cannot_use(device):
    with pytest.raises(ValueError, match="device"):
        _ppo(n_envs=1, device=device)


def test_ppo_factory_must_return_an_env():
    from sklirl.solvers import PPO

    with pytest.raises(TypeError, match="returned int, not a gymnasium.Env"):
        PPO(n_envs=1, n_steps=8, batch_size=8).make_trainer(lambda: 3)


def test_ppo_rewards_whose_returns_overflow_are_refused():
    trainer = _ppo(n_envs=1)
    batch = trainer.collect_rollouts()
    with pytest.raises(ValueError, match="overflow float64"):
        trainer.update(batch, np.full(8, 1e308))
    trainer.close()


@pytest.mark.parametrize("case, call, size", ABSURD_SIZES, ids=[c[0] for c in ABSURD_SIZES])
def test_absurd_sizes_are_refused_with_an_estimate(case, call, size):
    with pytest.raises(ValueError, match=r"needs about [\d.]+ [KMGTPE]i?B of memory|would take "
                                         r"about [\d.e+]+ operations") as info:
        call()
    assert size in str(info.value)


def test_resource_checks_leave_reasonable_sizes_alone():
    """The limits are the machine's memory and ~a day of work: ordinary sizes pass."""
    from sklirl.utils._resources import check_memory, check_work, physical_memory

    check_memory(physical_memory() / 2, "half the memory")
    check_work(1e12, "a few minutes")
    assert occupancy_measure(_long_env(10_000), np.full((2, 2), .5)).sum() == pytest.approx(1e4)
    assert len(sample_trajectories(ENV, np.full((S, A), 1 / A), 2, horizon=10_000)[0]) == 10_000


# -- persistence: exact round trips, tampered files refused before any allocation -----------------
def test_save_load_round_trip_is_exact_across_dtypes(tmp_path):
    """int64 states above 2**53 next to float trajectories are not promoted to float."""
    big = 2**53 + 1
    demos = [Trajectory(np.array([big, 1]), [0]), Trajectory(np.array([0.5, 1.5]), [1]),
             Trajectory(np.array([2**62, 3], dtype=np.int64), np.array([1], dtype=np.uint8))]
    save_demos(tmp_path / "mixed", demos)  # same name, without .npz, on both sides
    loaded = load_demos(tmp_path / "mixed")
    assert (tmp_path / "mixed.npz").exists()
    for a, b in zip(demos, loaded):
        assert a.states.dtype == b.states.dtype and a.actions.dtype == b.actions.dtype
        assert a.states.tolist() == b.states.tolist() and a.actions.tolist() == b.actions.tolist()
    assert loaded[0].states[0] == big


def _npz_with_header(path, shape, descr="<i8", data=b"\0" * 16):
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": descr, "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("states.npy", header.getvalue() + data)
        for name in ("actions", "state_lengths", "action_lengths"):
            member = io.BytesIO()
            np.save(member, np.ones(1, dtype=np.int64))
            archive.writestr(name + ".npy", member.getvalue())
    return path


def _tampered(kind, tmp_path):
    path = tmp_path / f"{kind}.npz"
    ok = dict(states=np.zeros(3, int), actions=np.zeros(2, int),
              state_lengths=np.array([2, 1]), action_lengths=np.array([1, 1]))
    if kind == "negative lengths":
        np.savez(path, **{**ok, "state_lengths": np.array([5, -2])})
    elif kind == "float lengths":
        np.savez(path, **{**ok, "state_lengths": np.array([1.5, 1.5])})
    elif kind == "lengths not adding up":
        np.savez(path, **{**ok, "action_lengths": np.array([1, 7])})
    elif kind == "header declaring 1e14 elements":
        _npz_with_header(path, (10**14,))
    elif kind == "header declaring a 0-d array":
        _npz_with_header(path, (), data=b"\0" * 8)
    elif kind == "garbage bytes":
        path.write_bytes(np.random.default_rng(0).bytes(200))
    elif kind == ".npy file":
        np.save(tmp_path / "single.npy", np.zeros(3))
        path = tmp_path / "single.npy"
    elif kind == "truncated zip":
        np.savez(path, **ok)
        path.write_bytes(path.read_bytes()[:150])
    elif kind == "corrupted member":
        np.savez(path, **ok)
        data = bytearray(path.read_bytes())
        data[100] ^= 0xFF  # inside the first member's data (np.savez does not compress)
        path.write_bytes(bytes(data))
    return path


TAMPERED = ["negative lengths", "float lengths", "lengths not adding up",
            "header declaring 1e14 elements", "header declaring a 0-d array", "garbage bytes",
            ".npy file", "truncated zip", "corrupted member"]


@pytest.mark.parametrize("kind", TAMPERED)
def test_tampered_demos_files_are_refused_clearly(kind, tmp_path):
    path = _tampered(kind, tmp_path)
    with pytest.raises(ValueError, match="demos file|is corrupt") as info:
        load_demos(path)
    assert "pickle" not in str(info.value).replace("would need pickle", "")


# -- sizes, temperatures, tables, plots: the remaining classes of the red-team run --------------
FLOAT_SIZES = [
    ("check_demos n_states", lambda n: check_demos(_demos(), n_states=n, n_actions=A)),
    ("check_demos n_actions", lambda n: check_demos(_demos(), n_states=S, n_actions=n)),
    ("empirical_occupancy n_states", lambda n: empirical_occupancy(_demos(), n, A, 0.9)),
    ("TabularMDP n_actions", lambda n: TabularMDP(np.full((4, 2), 0.5), n_actions=n)),
]


@pytest.mark.parametrize("n", [9.5, 9.0, "9"])
@pytest.mark.parametrize("case, call", FLOAT_SIZES, ids=[c[0] for c in FLOAT_SIZES])
def test_sizes_must_be_ints(case, call, n):
    with pytest.raises(TypeError, match="must be an int"):
        call(n)


@pytest.mark.parametrize("value", [1e-310, 5e-324])
@pytest.mark.parametrize("make", [
    lambda T: SoftValueIteration(temperature=T).solve(ENV, ENV.reward),
    lambda T: soft_value_iteration(ENV, ENV.reward, temperature=T),
    lambda T: GAIL(max_iter=1, entropy_coef=T, hidden_layer_sizes=(4,)).fit(_demos(), ENV),
], ids=["SoftValueIteration", "soft_value_iteration", "GAIL entropy_coef"])
def test_temperatures_whose_reciprocal_overflows_are_named(make, value):
    with pytest.raises(ValueError, match="reciprocal overflows"):
        make(value)


def test_reward_over_temperature_beyond_float64_is_refused():
    with pytest.raises(ValueError, match="raise the temperature"):
        soft_value_iteration(ENV, ENV.reward * 1e10, temperature=1e-295)


@pytest.mark.parametrize("est, refit", [
    (MaxEntIRL(max_iter=3, warm_start=True), {"features": MacroCells(2)}),
    (MaxEntIRL(reward_model="mlp", max_iter=2, warm_start=True), {"features": MacroCells(2)}),
    (GAIL(max_iter=1, hidden_layer_sizes=(4,), warm_start=True, random_state=0),
     {"features": MacroCells(2)}),
], ids=["MaxEntIRL", "MaxEntIRL-mlp", "GAIL"])
def test_warm_start_that_cannot_apply_warns(est, refit):
    """warm_start=True is never ignored silently: new features start from scratch, saying so."""
    est = clone(est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(_demos(), ENV)
    est.set_params(**refit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(UserWarning, match="warm_start=True is ignored because"):
            est.fit(_demos(), ENV)


def _fake_gym(P):
    gymnasium = pytest.importorskip("gymnasium")

    class Toy(gymnasium.Env):
        def __init__(self):
            self.P = P
            self.observation_space = gymnasium.spaces.Discrete(2)
            self.action_space = gymnasium.spaces.Discrete(1)

    return Toy()


_OK = (1.0, 1, 0.0, False)
MALFORMED_P = [
    ("missing state", {0: {0: [_OK]}}, "no entry for state 1"),
    ("missing action", {0: {}, 1: {0: [_OK]}}, "no list of outcomes for action 0"),
    ("short tuple", {0: {0: [(1.0, 1)]}, 1: {0: [_OK]}}, "must be a (prob, next_state"),
    ("string probability", {0: {0: [("x", 1, 0.0, False)]}, 1: {0: [_OK]}}, "probability 'x'"),
    ("next state out of range", {0: {0: [(1.0, 5, 0.0, False)]}, 1: {0: [_OK]}},
     "next state 5 is not a state index in [0, 2)"),
    ("NaN reward", {0: {0: [(1.0, 1, np.nan, False)]}, 1: {0: [_OK]}}, "reward nan"),
]


@pytest.mark.parametrize("case, P, fragment", MALFORMED_P, ids=[c[0] for c in MALFORMED_P])
def test_from_gymnasium_names_the_malformed_entry(case, P, fragment):
    from sklirl.envs import from_gymnasium

    with pytest.raises(ValueError, match=re.escape(fragment)):
        from_gymnasium(_fake_gym(P))


PLOT_CALLS = [
    ("plot_reward unfitted estimator", lambda p: p.plot_reward(ENV, MaxEntIRL()), TypeError,
     "pass its fitted reward_"),
    ("plot_policy unfitted estimator", lambda p: p.plot_policy(ENV, MaxEntIRL()),
     NotFittedError, "not fitted"),
    ("plot_learning_curve unfitted estimator", lambda p: p.plot_learning_curve(GAIL()),
     NotFittedError, "not fitted"),
    ("titles that stringify alike", lambda p: p.plot_reward_comparison(
        ENV, {1: np.zeros(S), "1": np.ones(S)}), ValueError, "two rewards have the title '1'"),
    ("sum over actions overflowing", lambda p: p.plot_occupancy(ENV, np.full((S, A), 1e308)),
     ValueError, "overflows float64"),
    ("string reward", lambda p: p.plot_reward(ENV, ["1"] * S), TypeError, "numeric"),
]


@pytest.mark.parametrize("case, call, exc, fragment", PLOT_CALLS, ids=[c[0] for c in PLOT_CALLS])
def test_bad_plot_inputs(case, call, exc, fragment):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import sklirl.plotting as plotting

    with pytest.raises(exc, match=re.escape(fragment)):
        call(plotting)


def test_plots_of_huge_values_draw_their_proportions():
    """Rewards and occupancies near 1e308 draw the same picture as their rescaled versions
    (not NaN, not a blank panel)."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import sklirl.plotting as plotting

    values = np.arange(S, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        big = plotting.plot_reward_comparison(ENV, {"a": values * 1e307})
        small = plotting.plot_reward_comparison(ENV, {"a": values})
        occ_big = plotting.plot_occupancy(ENV, values * 1e307)
        occ_small = plotting.plot_occupancy(ENV, values)
    np.testing.assert_allclose(big.axes[0].images[0].get_array(),
                               small.axes[0].images[0].get_array())
    np.testing.assert_allclose(occ_big.images[0].get_array(), occ_small.images[0].get_array())
    matplotlib.pyplot.close("all")


@pytest.mark.parametrize("est, parameter", [
    (MaxEntIRL(optimizer="gradient", learning_rate=1e308, max_iter=3), "learning_rate"),
    (MaxEntIRL(reward_model="mlp", learning_rate=1e308, max_iter=3), "learning_rate"),
    (GAIL(max_iter=3, disc_learning_rate=1e308, hidden_layer_sizes=(4,), random_state=0),
     "disc_learning_rate"),
], ids=["MaxEntIRL gradient", "MaxEntIRL mlp", "GAIL"])
def test_diverging_step_sizes_are_named(est, parameter):
    """A learning rate that makes the learned reward overflow is named, not reported as a bad
    reward input."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError) as info:
            clone(est).fit(_demos(), ENV)
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert f"diverged during the fit: lower {parameter}" in notes


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


def _gail_gym_fit(**kwargs):
    from sklirl.solvers import PPO

    env, demos = _gym_demos("CartPole-v1", 1)
    solver = PPO(n_envs=1, n_steps=8, batch_size=8, **kwargs)
    return GAIL(max_iter=1, solver=solver, random_state=0).fit(demos, env)


def _gail_gym_predict(states):
    env, demos = _gym_demos("CartPole-v1", 1)
    from sklirl.solvers import PPO

    gail = GAIL(max_iter=1, solver=PPO(n_envs=1, n_steps=8, batch_size=8), random_state=0)
    return gail.fit(demos, env).predict(states)


BAD_GAIL_GYM = [
    ("gamma 1 with the absorbing state", lambda: _gail_gym_fit(gamma=1.0), ValueError,
     "the absorbing state's value needs a discount gamma < 1, got 1.0"),
    ("one observation of the wrong shape", lambda: _gail_gym_predict(np.zeros(3)), ValueError,
     "states"),
]


@pytest.mark.parametrize("case, call, exc, fragment", BAD_GAIL_GYM,
                         ids=[c[0] for c in BAD_GAIL_GYM])
def test_gail_gymnasium_bad_inputs(case, call, exc, fragment):
    with pytest.raises(exc, match=re.escape(fragment)):
        call()
