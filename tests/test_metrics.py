"""Metrics: policy value, EVD (Levine et al. 2011), feature gap, log-likelihood, EPIC."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import mdps, random_policy_probs, rewards

from sklirl.envs import GridWorld, TabularMDP
from sklirl.metrics import (
    epic_distance,
    expected_value_difference,
    feature_expectation_gap,
    log_likelihood,
    policy_value,
)
from sklirl.solvers import TabularPolicy, ValueIteration

PROPS = settings(max_examples=40, deadline=None)


def _epic_reference(ra, rb, gamma):
    """EPIC by its definition: canonicalise with explicit uniform expectations over
    (A, S, S'), then the Pearson distance under uniform (s, a, s')."""

    def canon(R):
        S = R.shape[0]
        C = np.empty_like(R)
        for s in range(S):
            for a in range(R.shape[1]):
                for s2 in range(S):
                    C[s, a, s2] = (
                        R[s, a, s2]
                        + gamma * R[s2].mean()
                        - R[s].mean()
                        - gamma * R.mean()
                    )
        return C.ravel()

    x, y = canon(ra), canon(rb)
    rho = np.corrcoef(x, y)[0, 1]
    return np.sqrt((1 - rho) / 2)


@st.composite
def transition_rewards(draw, max_states=5, max_actions=3):
    S = draw(st.integers(2, max_states))
    A = draw(st.integers(1, max_actions))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    gamma = draw(st.floats(0.0, 1.0))
    return rng.normal(size=(S, A, S)), rng, gamma


# --- EPIC ---------------------------------------------------------------------------------
@PROPS
@given(transition_rewards())
def test_epic_invariances(args):
    R, rng, gamma = args
    S = R.shape[0]
    phi = rng.normal(scale=5.0, size=S)
    shaped = R + gamma * phi[None, None, :] - phi[:, None, None]
    scale = rng.uniform(0.01, 100.0)
    assert epic_distance(R, shaped, gamma=gamma) < 1e-6
    assert epic_distance(R, scale * shaped + 3.0, gamma=gamma) < 1e-6
    assert epic_distance(R, -R, gamma=gamma) == 1.0  # exactly: C(-R) = -C(R) bit for bit
    assert epic_distance(R, -scale * shaped, gamma=gamma) == pytest.approx(1.0, abs=1e-6)


@PROPS
@given(transition_rewards())
def test_epic_matches_definition_and_is_a_pseudometric(args):
    Ra, rng, gamma = args
    Rb, Rc = rng.normal(size=(2,) + Ra.shape)
    d_ab = epic_distance(Ra, Rb, gamma=gamma)
    assert d_ab == pytest.approx(_epic_reference(Ra, Rb, gamma), abs=1e-10)
    assert d_ab == pytest.approx(epic_distance(Rb, Ra, gamma=gamma), abs=1e-12)
    assert 0.0 <= d_ab <= 1.0
    d_ac, d_bc = epic_distance(Ra, Rc, gamma=gamma), epic_distance(Rb, Rc, gamma=gamma)
    assert d_ac <= d_ab + d_bc + 1e-12


def test_epic_state_and_state_action_rewards_and_env():
    env = GridWorld(3, gamma=0.9)
    r = np.random.default_rng(0).normal(size=9)
    phi = np.random.default_rng(1).normal(size=9)
    # A state-action reward shaped in expectation is not exactly shaped per (s, a, s'), so
    # shape per transition with the (S, A, S) form instead.
    R = np.broadcast_to(r[:, None, None], (9, 4, 9))
    shaped = R + 0.9 * phi[None, None, :] - phi[:, None, None]
    assert epic_distance(r, shaped, env=env) < 1e-10
    assert epic_distance(r, np.repeat(r[:, None], 4, 1), env=env) < 1e-12
    assert epic_distance(r, -r, env=env) == pytest.approx(1.0)
    assert epic_distance(np.ones(9), 2 * np.ones(9), gamma=0.9) == 0.0


@PROPS
@given(transition_rewards())
def test_epic_closed_form_for_state_action_rewards(args):
    """(S, A) rewards take the closed form (no S^2 A tensor); it equals the definition, is
    symmetric in the argument order and mixed forms, and is exactly 1 for the negation.
    (Tolerances are sqrt(eps): near distance 0, sqrt((1 - corr) / 2) amplifies rounding.)"""
    R, rng, gamma = args
    S, A = R.shape[:2]
    assume(gamma > 1e-3 or A > 1)  # else every such reward is (nearly) a potential shaping
    ra, rb = R[:, :, 0], rng.normal(size=(S, A))
    full_b = np.broadcast_to(rb[:, :, None], (S, A, S))
    expected = _epic_reference(np.broadcast_to(ra[:, :, None], (S, A, S)), full_b, gamma)
    assert epic_distance(ra, rb, gamma=gamma) == pytest.approx(expected, abs=1e-7)
    assert epic_distance(ra, full_b, gamma=gamma) == pytest.approx(expected, abs=1e-7)
    assert epic_distance(rb, ra, gamma=gamma) == pytest.approx(expected, abs=1e-7)
    assert epic_distance(ra[:, 0], rb, gamma=gamma) == pytest.approx(
        epic_distance(rb, ra[:, 0], gamma=gamma), abs=1e-7)
    assert epic_distance(ra, -ra, gamma=gamma) == 1.0


def test_epic_shaping_with_a_large_potential_is_zero():
    """The 'constant canonical reward' test is relative to the rewards' own scale: a state
    reward at gamma = 0 is pure shaping, whatever the size of the potential."""
    rng = np.random.default_rng(3)
    r = rng.normal(size=5)
    phi = rng.normal(size=5) * 257.0
    shaped = np.broadcast_to((r - phi)[:, None, None], (5, 3, 5)) * 71.0
    assert epic_distance(r, shaped, gamma=0.0) == 0.0


def test_epic_validation():
    with pytest.raises(ValueError, match="give gamma or env"):
        epic_distance(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="gamma"):
        epic_distance(np.ones(3), np.ones(3), gamma=2.0)
    with pytest.raises(ValueError, match="reward_b must have shape"):
        epic_distance(np.ones((3, 2)), np.ones(4), gamma=0.5)
    with pytest.raises(ValueError, match="reward_a contains NaN"):
        epic_distance(np.full((2, 1, 2), np.nan), np.ones((2, 1, 2)), gamma=0.5)


# --- policy value and EVD --------------------------------------------------------------------
def test_policy_value_closed_form():
    P = np.ones((1, 2, 1))
    env = TabularMDP(P, gamma=0.5)
    assert policy_value(env, [[0.25, 0.75]], [[4.0, 0.0]]) == pytest.approx(2.0)


@PROPS
@given(st.data())
def test_evd_is_non_negative_and_zero_for_the_true_reward(data):
    env = data.draw(mdps(finite_horizon=False, max_gamma=0.9))
    true = data.draw(rewards(env.n_states, env.n_actions))
    learned = data.draw(rewards(env.n_states, env.n_actions))
    assert expected_value_difference(env, true, learned_reward=true) == 0.0
    assert expected_value_difference(env, true, learned_reward=learned) >= -1e-9
    probs = random_policy_probs(np.random.default_rng(0), (env.n_states, env.n_actions))
    optimal = ValueIteration(tol=1e-12).solve(env, true)
    evd = expected_value_difference(env, true, policy=probs)
    expected = policy_value(env, optimal, true) - policy_value(env, probs, true)
    assert evd == pytest.approx(expected, abs=1e-9) and evd >= -1e-9


def test_evd_by_hand_and_validation():
    # One state, two actions with rewards 1 and 0: V* = 1 / (1 - gamma); uniform gets half.
    env = TabularMDP(np.ones((1, 2, 1)), gamma=0.5, reward=[[1.0, 0.0]])
    assert expected_value_difference(env, policy=[[0.5, 0.5]]) == pytest.approx(1.0)
    assert expected_value_difference(env, learned_reward=[[0.0, 1.0]]) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="exactly one"):
        expected_value_difference(env)
    with pytest.raises(ValueError, match="no ground-truth reward"):
        expected_value_difference(TabularMDP(np.ones((1, 2, 1)), gamma=0.5), policy=[[1, 0]])


# --- feature gap and log-likelihood ----------------------------------------------------------
def test_feature_expectation_gap():
    assert feature_expectation_gap([3.0, 4.0], [0.0, 0.0]) == 5.0
    assert feature_expectation_gap([3.0, 4.0], [0.0, 0.0], ord=1) == 7.0
    assert feature_expectation_gap([3.0, -4.0], [0.0, 0.0], ord=np.inf) == 4.0
    with pytest.raises(ValueError, match="equal shape"):
        feature_expectation_gap([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        feature_expectation_gap([np.nan], [1.0])


def test_log_likelihood_stationary_and_time_indexed():
    probs = np.array([[0.5, 0.5], [0.1, 0.9]])
    demos = [([0, 1, 1], [0, 1])]
    assert log_likelihood(probs, demos) == pytest.approx((np.log(0.5) + np.log(0.9)) / 2)
    timed = TabularPolicy(np.stack([probs, probs[:, ::-1]]))
    # step 0 uses pi_0 (state 0, action 0: 0.5); step 1 uses pi_1 (state 1, action 1: 0.1)
    assert log_likelihood(timed, demos) == pytest.approx((np.log(0.5) + np.log(0.1)) / 2)
    with pytest.raises(ValueError, match="trajectory 0, step 1: action 2"):
        log_likelihood(probs, [([0, 1, 1], [0, 2])])
