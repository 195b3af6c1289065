"""Fuzzing the validation layer: malformed demonstrations and environments, generated
structurally, give only the documented exceptions (ValueError, TypeError), never a crash deep
in numpy, a hang or a silent NaN; whatever is accepted satisfies the documented invariants.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from strategies import demos as valid_demos
from strategies import mdps

from sklirl import GAIL, MaxEntIRL, MaxMarginIRL, Trajectory
from sklirl.demos import check_demos
from sklirl.envs import TabularMDP

pytest.importorskip("torch")

DOCUMENTED = (ValueError, TypeError)
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- malformed demonstrations ----------------------------------------------------------------
scalars = st.one_of(
    st.integers(-3, 5),
    st.integers(2**62, 2**70),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.booleans(),
    st.none(),
    st.text(max_size=2),
    st.binary(max_size=2),
    st.complex_numbers(max_magnitude=3, allow_nan=False),
)
# Sequences of scalars, ragged nestings, and numpy arrays of assorted dtypes and ranks.
arrays = st.builds(
    lambda shape, dtype, seed: np.random.default_rng(seed).integers(-2, 6, size=shape)
    .astype(dtype),
    st.lists(st.integers(0, 3), min_size=0, max_size=3).map(tuple),
    st.sampled_from([np.int64, np.uint8, np.float64, np.float32, bool, object, "U1"]),
    st.integers(0, 2**16),
)
sequences = st.one_of(
    st.lists(scalars, max_size=5),
    st.lists(st.integers(-1, 4), max_size=6),
    st.lists(st.lists(st.integers(0, 3), max_size=3), max_size=4),
    arrays,
    scalars,
)


class _Obs:
    def __init__(self, obs, acts):
        self.obs, self.acts = obs, acts


def _item(kind, states, actions):
    if kind == "pair":
        return (states, actions)
    if kind == "list":
        return [states, actions]
    if kind == "dict":
        return {"states": states, "actions": actions}
    if kind == "object":
        return _Obs(states, actions)
    if kind == "triple":
        return (states, actions, states)
    return states  # a bare item


items = st.builds(
    _item,
    st.sampled_from(["pair", "pair", "list", "dict", "object", "triple", "bare"]),
    sequences,
    sequences,
)
malformed_demos = st.one_of(
    st.lists(items, max_size=4),
    scalars,
    arrays,
    st.dictionaries(st.text(max_size=2), sequences, max_size=2),
    st.builds(lambda x: iter([x]), items),  # a one-shot iterator, not a sequence
)

S, A = 3, 2
_P = np.zeros((S, A, S))
_P[:, 0, 0] = 1.0
_P[:, 1, :] = 1.0 / S
ENV = TabularMDP(_P, gamma=0.8, reward=[0.0, 0.0, 1.0])


def _assert_valid(trajs, n_states=None, n_actions=None):
    assert isinstance(trajs, list) and len(trajs) >= 1
    for t in trajs:
        assert isinstance(t, Trajectory) and len(t) >= 1
        assert len(t.states) in (len(t), len(t) + 1)
        if n_states is not None:
            assert t.states.dtype.kind in "iu" and t.states.ndim == 1
            assert t.states.min() >= 0 and t.states.max() < n_states
        else:
            assert t.states.dtype.kind in "biuf"
            if t.states.dtype.kind == "f":
                assert np.all(np.isfinite(t.states))
        if n_actions is not None:
            assert t.actions.min() >= 0 and t.actions.max() < n_actions


@FUZZ
@given(demos=malformed_demos, tabular=st.booleans())
def test_check_demos_raises_only_documented_errors(demos, tabular):
    kwargs = dict(n_states=S, n_actions=A) if tabular else {}
    try:
        trajs = check_demos(demos, **kwargs)
    except DOCUMENTED:
        return
    _assert_valid(trajs, **kwargs)


def _estimators():
    return [
        MaxEntIRL(max_iter=2),
        MaxMarginIRL(max_iter=2),
        GAIL(max_iter=1, n_disc_updates=1, hidden_layer_sizes=(4,), random_state=0),
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(demos=malformed_demos, which=st.integers(0, 2))
def test_fit_on_malformed_demos_raises_only_documented_errors(demos, which):
    est = _estimators()[which]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            est.fit(demos, ENV)
        except DOCUMENTED:
            return
    # Accepted demos were valid ones: the fit is finite.
    assert np.all(np.isfinite(est.reward_))
    assert np.all(np.isfinite(est.predict_proba(np.arange(S))))


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), which=st.integers(0, 2))
def test_fit_on_random_valid_mdps_and_demos_is_finite(data, which):
    """Degenerate but valid inputs (1 state, 1 action, gamma = 0, horizon 1, unreachable
    states) fit to finite results or raise a documented error."""
    env = data.draw(mdps(max_states=4, max_actions=3, max_horizon=4))
    demos = data.draw(valid_demos(env.n_states, env.n_actions, max_trajectories=3,
                                  max_length=5))
    est = _estimators()[which]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            est.fit(demos, env)
        except DOCUMENTED:
            return
    assert np.all(np.isfinite(est.reward_))
    proba = est.predict_proba(np.arange(env.n_states))
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert not np.isnan(est.score(demos))


# -- malformed environments --------------------------------------------------------------------
def _transitions(kind, shape, fill, seed):
    rng = np.random.default_rng(seed)
    if kind == "ragged":
        return [[[1.0, 0.0]], [[1.0]]]
    if kind == "list":
        return rng.random(shape).tolist()
    P = rng.random(shape)
    if fill == "normalised" and len(shape) == 3 and shape[-1] > 0:
        P /= P.sum(axis=-1, keepdims=True)
    elif fill == "negative":
        P -= 0.5
    elif fill == "nan" and P.size:
        P.flat[0] = np.nan
    elif fill == "strings":
        P = P.astype(str)
    if kind == "sparse" and P.ndim == 3 and P.size and P.dtype.kind == "f":
        return sp.csr_matrix(P.reshape(-1, P.shape[-1]))
    return P


transitions = st.builds(
    _transitions,
    st.sampled_from(["dense", "dense", "sparse", "list", "ragged"]),
    st.lists(st.integers(0, 3), min_size=1, max_size=4).map(tuple),
    st.sampled_from(["normalised", "normalised", "raw", "negative", "nan", "strings"]),
    st.integers(0, 2**16),
)
odd_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-2, 3), st.none(),
    st.text(max_size=2), st.booleans(),
)


@FUZZ
@given(
    P=transitions,
    gamma=odd_numbers,
    horizon=st.one_of(st.none(), odd_numbers),
    mu0=st.one_of(st.none(), sequences),
    features=st.one_of(st.none(), sequences),
    reward=st.one_of(st.none(), sequences),
    n_actions=st.one_of(st.none(), st.integers(-1, 3), st.floats(0, 3)),
)
def test_tabular_mdp_raises_only_documented_errors(P, gamma, horizon, mu0, features, reward,
                                                   n_actions):
    try:
        env = TabularMDP(P, initial_state_distribution=mu0, gamma=gamma, horizon=horizon,
                         state_features=features, reward=reward, n_actions=n_actions)
    except DOCUMENTED:
        return
    # Whatever is accepted is a valid MDP.
    sums = env.transition_matrix.sum(axis=1)
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    assert env.transition_matrix.data.min(initial=0.0) >= 0
    assert 0.0 <= env.gamma <= 1.0 and (env.finite_horizon or env.gamma < 1.0)
    np.testing.assert_allclose(env.initial_state_distribution.sum(), 1.0)
    assert np.all(env.initial_state_distribution >= 0)


# -- gamma -> 1: the planners' answers keep their meaning up to the documented limit --------------
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), gap_exponent=st.floats(1.0, 10.0), temperature=st.sampled_from([0.01, 1.0]))
def test_soft_value_is_at_least_the_hard_value_up_to_the_discount_limit(data, gap_exponent,
                                                                       temperature):
    """V_soft >= V_hard (log-sum-exp >= max) for every gamma up to MAX_DISCOUNT = 1 - 1e-10,
    within float64's resolution of values of order 1 / (1 - gamma), without a warning; a
    larger gamma is rejected by the env instead of answered wrongly."""
    from sklirl.solvers import soft_value_iteration, value_iteration
    from sklirl.utils._validation import MAX_DISCOUNT

    gamma = max(1 - 10.0 ** -gap_exponent, 0.0)
    gamma = min(gamma, MAX_DISCOUNT)
    env = data.draw(mdps(finite_horizon=False, min_gamma=0.0, max_gamma=0.5))
    env = TabularMDP(env.transition_matrix, gamma=gamma, n_actions=env.n_actions,
                     initial_state_distribution=env.initial_state_distribution)
    scale = 10.0 ** data.draw(st.floats(-3, 3))
    reward = scale * np.random.default_rng(data.draw(st.integers(0, 2**16))).normal(
        size=(env.n_states, env.n_actions))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, v_soft, _ = soft_value_iteration(env, reward, temperature=temperature)
        _, v_hard, _ = value_iteration(env, reward)
    resolution = 64 * np.finfo(float).eps * np.abs(v_hard).max() / (1 - gamma)
    assert np.all(v_soft >= v_hard - resolution)
    assert np.all(v_soft <= v_hard + temperature * np.log(env.n_actions) / (1 - gamma)
                  + resolution)


@pytest.mark.parametrize("gamma", [1 - 1e-12, 1 - 1e-15, np.nextafter(1.0, 0.0)])
def test_discounts_beyond_the_limit_are_rejected(gamma):
    P = np.ones((2, 1, 2)) / 2
    with pytest.raises(ValueError, match="too close to 1.*finite horizon"):
        TabularMDP(P, gamma=gamma)
    assert TabularMDP(P, gamma=gamma, horizon=3).gamma == gamma  # finite horizon: any gamma
