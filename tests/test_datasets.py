"""Vectorised trajectory sampling and expert demonstrations."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import mdps, policies

from sklirl.datasets import make_expert_demos, sample_trajectories
from sklirl.envs import GridWorld, TabularMDP
from sklirl.expectations import empirical_occupancy, occupancy_measure
from sklirl.solvers import TabularPolicy


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_sampled_steps_are_possible_under_the_model(data):
    env = data.draw(mdps(finite_horizon=True))
    policy = data.draw(policies(env))
    trajs = sample_trajectories(env, policy, 7, random_state=data.draw(st.integers(0, 100)))
    P = env.to_dense()
    mu0 = env.initial_state_distribution
    for traj in trajs:
        assert len(traj) == env.horizon and len(traj.states) == env.horizon + 1
        assert mu0[traj.states[0]] > 0
        for t, (s, a) in enumerate(zip(traj.states[:-1], traj.actions)):
            assert policy.at(t)[s, a] > 0
            assert P[s, a, traj.states[t + 1]] > 0


def test_state_action_frequencies_match_occupancy():
    """Finite horizon, gamma = 1: the expected count of (s, a) over n rollouts is n d(s, a);
    each per-trajectory count is in [0, H], so with n = 4000 and a union bound over S A = 36
    pairs, Hoeffding gives |mean - d| <= H sqrt(log(2 * 36 / 1e-6) / (2 n)) w.p. 1 - 1e-6."""
    env = GridWorld(3, slip=0.3, gamma=1.0, horizon=4)
    probs = np.random.default_rng(0).dirichlet(np.ones(4), size=(4, 9))
    n, H = 4000, 4
    trajs = sample_trajectories(env, TabularPolicy(probs), n, random_state=0)
    emp = empirical_occupancy(trajs, 9, 4, gamma=1.0)
    exact = occupancy_measure(env, probs)
    assert np.abs(emp - exact).max() <= H * np.sqrt(np.log(2 * 36 / 1e-6) / (2 * n))


def test_sampling_is_seeded_and_uses_initial_states():
    env = GridWorld(3, slip=0.5, gamma=0.9)
    probs = np.full((9, 4), 0.25)
    a = sample_trajectories(env, probs, 5, horizon=6, random_state=1)
    b = sample_trajectories(env, probs, 5, horizon=6, random_state=1)
    assert a == b
    starts = sample_trajectories(env, probs, 3, horizon=2, initial_states=[8, 0, 4])
    assert [t.states[0] for t in starts] == [8, 0, 4]


def test_deterministic_policy_in_deterministic_world():
    env = GridWorld(3, gamma=0.9)
    right = np.zeros((9, 4))
    right[:, 1] = 1.0
    (traj,) = sample_trajectories(env, right, 1, horizon=3, initial_states=[0])
    assert traj.states.tolist() == [0, 1, 2, 2] and traj.actions.tolist() == [1, 1, 1]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_trajectories": 0}, ValueError, "n_trajectories"),
        ({"horizon": None}, ValueError, "horizon is required"),
        ({"horizon": 0}, ValueError, "horizon must be a positive int"),
        ({"initial_states": [9, 0]}, ValueError, "initial_states"),
        ({"policy": np.full((4, 4), 0.25)}, ValueError,
         r"policy has shape \(4, 4\); expected \(S, A\) = \(9, 4\)"),
        ({"policy": np.full((9, 4), 0.3)}, ValueError, "policy must be.*sum to 1.2"),
        ({"policy": "uniform"}, TypeError, "policy must be"),
    ],
)
def test_sample_trajectories_validation(kwargs, error, match):
    env = GridWorld(3, gamma=0.9)
    args = {"policy": np.full((9, 4), 0.25), "n_trajectories": 2, "horizon": 3}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        sample_trajectories(env, **args)


def test_make_expert_demos():
    env = GridWorld(4, gamma=0.9)
    demos, expert = make_expert_demos(env, 20, horizon=10, temperature=0.01, random_state=0)
    assert len(demos) == 20 and all(len(t) == 10 for t in demos)
    # A near-deterministic expert reaches and stays near the goal cell 15.
    assert np.mean([t.states[-1] in (11, 14, 15) for t in demos]) > 0.9
    np.testing.assert_allclose(expert.probs.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="no ground-truth reward"):
        make_expert_demos(TabularMDP(np.ones((1, 1, 1)), gamma=0.5), 2, horizon=2)
