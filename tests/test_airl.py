"""AIRL: reward recovery up to a constant, invariance to shaping, the optimal discriminator,
terminations, and the gymnasium (PPO) path."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from sklearn.preprocessing import PolynomialFeatures
from strategies import mdps, random_policy_probs, seeds

from sklirl import AIRL, Trajectory
from sklirl.envs import GridWorld, TabularMDP
from sklirl.expectations import expert_occupancy, occupancy_measure
from sklirl.solvers import SoftValueIteration

torch = pytest.importorskip("torch")

from sklirl.irl._airl import (  # noqa: E402
    ShapedRewardNetwork,
    _input_statistics,
    _tabular_expert_transitions,
)


def _coordinate_reward(env):
    x, y = env.state_features.T
    return 0.5 * x + 0.3 * y - 0.1 * x * y  # state-only, quadratic in the coordinates


def _exact_transition_demos(env, policy):
    """One-step demos ``(s, a, s')`` weighted by ``rho_E(s, a) P(s'|s, a)``: the expert's exact
    transition distribution through the public ``fit(demos, env, sample_weight)``."""
    rho = occupancy_measure(env, policy)
    P = env.transition_matrix.tocoo()
    demos, weights = [], []
    for row, s2, p in zip(P.row, P.col, P.data):
        s, a = divmod(int(row), env.n_actions)
        if rho[s, a] * p > 0:
            demos.append(Trajectory([s, int(s2)], [a]))
            weights.append(rho[s, a] * p)
    return demos, np.asarray(weights), rho


def _fit_exact(env, reward, **params):
    expert = SoftValueIteration(temperature=1.0).solve(env, reward)
    demos, weights, rho = _exact_transition_demos(env, expert)
    params = {"max_iter": 80, "random_state": 0, **params}
    airl = AIRL(PolynomialFeatures(2), **params).fit(demos, env, sample_weight=weights)
    return airl, expert, rho


def test_recovers_a_state_only_reward_up_to_a_constant():
    """Deterministic moves, an expert soft-optimal for a state-only reward that the features
    (quadratic in the coordinates) can represent: g correlates with it at >= 0.95 on the states
    the expert reaches, and h with the expert's soft value (Fu et al., Theorem 5.1)."""
    env = GridWorld(4, gamma=0.9)
    r = _coordinate_reward(env)
    env = GridWorld(4, gamma=0.9, reward=r)
    airl, expert, rho = _fit_exact(env, r)
    reached = rho.sum(axis=1) > 1e-8
    g = airl.reward_[:, 0]
    assert np.corrcoef(g[reached], r[reached])[0, 1] >= 0.95
    assert np.corrcoef(airl.potential_[reached], expert.values[reached])[0, 1] >= 0.95
    # the equilibrium: the discriminator cannot tell them apart, loss 2 log 2
    assert airl.history_["disc_loss"][-1] == pytest.approx(2 * np.log(2), abs=0.01)
    # the linear g's weights reproduce it on the unstandardised features
    phi = airl.features_.transform(env.state_features)
    np.testing.assert_allclose(phi @ airl.coef_ + airl.intercept_, g, atol=1e-8)
    # reward_ is g, shaped_reward_ is f = g + gamma P h - h: never the same table
    h = airl.potential_
    Ph = (env.transition_matrix @ h).reshape(env.n_states, env.n_actions)
    np.testing.assert_allclose(airl.shaped_reward_, airl.reward_ + 0.9 * Ph - h[:, None],
                               atol=1e-8)


def test_fitted_reward_is_invariant_to_potential_shaping_of_the_expert_reward():
    """Shaping the expert's reward by a potential (Ng et al. 1999) leaves its soft-optimal
    policy unchanged, so the fitted g is unchanged, and it still recovers the unshaped r."""
    env = GridWorld(4, gamma=0.9)
    r = _coordinate_reward(env)
    phi = np.random.default_rng(0).normal(scale=3.0, size=env.n_states)
    shaped = r[:, None] + 0.9 * (env.transition_matrix @ phi).reshape(
        env.n_states, env.n_actions) - phi[:, None]
    plain_fit, plain_expert, rho = _fit_exact(env, r)
    shaped_fit, shaped_expert, _ = _fit_exact(env, shaped)
    np.testing.assert_allclose(shaped_expert.probs, plain_expert.probs, atol=1e-8)
    np.testing.assert_allclose(shaped_fit.reward_, plain_fit.reward_, atol=1e-5)
    reached = rho.sum(axis=1) > 1e-8
    g = shaped_fit.reward_[reached, 0]
    assert np.corrcoef(g, r[reached])[0, 1] >= 0.95
    assert np.corrcoef(g, shaped[reached].mean(axis=1))[0, 1] < 0.9  # not the shaped reward


@settings(max_examples=12, deadline=None)
@given(env=mdps(min_states=2, max_states=5, min_actions=2, max_actions=3, finite_horizon=False,
                max_gamma=0.9),
       seed=seeds)
def test_optimal_discriminator_identity(env, seed):
    """For a fixed policy pi, the discriminator trained to convergence with free g(s, a) and h
    satisfies D* = exp f* / (exp f* + pi) = rho_E / (rho_E + rho_pi) on every transition
    either side visits (the GAN proposition in AIRL's form)."""
    rng = np.random.default_rng(seed)
    S, A = env.n_states, env.n_actions
    pi = random_policy_probs(rng, (S, A), deterministic_fraction=0.0)
    pi_E = random_policy_probs(rng, (S, A), deterministic_fraction=0.0)
    rho_pi, rho_E = occupancy_measure(env, pi), occupancy_measure(env, pi_E)
    P = env.transition_matrix.tocoo()

    def transitions(rho):
        w = rho.ravel()[P.row] * P.data
        keep = w > 0
        return (P.row[keep] // A, P.row[keep] % A, P.col[keep], w[keep] / w.sum(),
                np.zeros(keep.sum(), dtype=bool))

    X = np.eye(S)
    stats = {k: _input_statistics(X, True) for k in ("g", "h")}
    disc = ShapedRewardNetwork(S, A, (), S, (), stats, learning_rate=0.1, l2=0.0, seed=0)
    log_pi = np.log(pi)
    expert, policy = transitions(rho_E), transitions(rho_pi)
    disc.fit_tabular(X, expert, policy, log_pi, env.gamma, max_iter=1000)
    G, h = disc.g(X), disc.h(X)
    s, a, s2 = policy[:3]
    f = G[s, a] + env.gamma * h[s2] - h[s]
    D = np.exp(f) / (np.exp(f) + pi[s, a])
    p_E, p_pi = rho_E / rho_E.sum(), rho_pi / rho_pi.sum()
    # L-BFGS stops once the loss stops changing: transitions of mass below ~1e-6 (a state
    # reached only through gamma = 1e-7) barely move it and are left unfitted
    visited = (p_E + p_pi)[s, a] > 1e-4
    target = p_E[s, a][visited] / (p_E + p_pi)[s, a][visited]
    np.testing.assert_allclose(D[visited], target, atol=2e-3)


def test_expert_transitions_of_demos():
    """The (s, a) marginal is expert_occupancy's rho_E (cut demos rescaled to the model's mass
    1 / (1 - gamma)); observed (s, a, s') keep their own mass, the rest follows P(.|s, a)."""
    env = GridWorld(2, gamma=0.5, slip=0.4)
    demos = [Trajectory([0, 1, 3], [1, 2]), Trajectory([0], [2])]
    s, a, s2, w, term = _tabular_expert_transitions(demos, None, env)
    table = {(int(i), int(j), int(k)): float(x) for i, j, k, x in zip(s, a, s2, w)}
    # demo 0: steps of mass 1, 0.5 rescaled by 2 / 1.5; demo 1: one step rescaled by 2;
    # each demo weighs 1/2, total mass 2
    assert table[(0, 1, 1)] == pytest.approx(0.5 * (4 / 3) / 2)
    assert table[(1, 2, 3)] == pytest.approx(0.5 * (2 / 3) / 2)
    P = env.to_dense()
    for k in range(4):
        assert table.get((0, 2, k), 0.0) == pytest.approx(0.5 * 2 * P[0, 2, k] / 2)
    assert sum(table.values()) == pytest.approx(1.0) and not term.any()
    marginal = np.zeros((4, 4))
    np.add.at(marginal, (s, a), w)
    np.testing.assert_allclose(marginal, expert_occupancy(demos, env) / 2, atol=1e-12)


def test_terminal_demos_continue_into_the_absorbing_state():
    """A terminal demo ending in the terminal cell 1 of 0 -> 1 -> 2 (absorbing): the expert's
    transitions include the step out of the cell and the absorbing self-loop (uniform
    actions), as expert_occupancy says; h is 0 at the absorbing state."""
    env = _absorbing_chain()
    demos = [Trajectory([0, 1], [0], terminal=True)]
    s, a, s2, w, _ = _tabular_expert_transitions(demos, None, env)
    table = {(int(i), int(j), int(k)): float(x) for i, j, k, x in zip(s, a, s2, w)}
    M = 1 / (1 - 0.9)
    assert table[(0, 0, 1)] == pytest.approx(1 / M)
    assert table[(1, 0, 2)] == pytest.approx(0.9 / 2 / M)  # the terminal cell, uniform actions
    assert table[(1, 1, 2)] == pytest.approx(0.9 / 2 / M)
    assert table[(2, 0, 2)] + table[(2, 1, 2)] == pytest.approx(0.81 / (1 - 0.9) / M)
    airl = AIRL(max_iter=3, random_state=0).fit(demos, env)
    assert airl.potential_[2] == 0.0


def _absorbing_chain():
    """0 -> 1 (terminal) -> 2 (absorbing), with a "stay" action in 0; reward 1 in state 1."""
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = P[1, :, 2] = P[2, :, 2] = 1.0
    P[0, 1, 0] = 1.0
    env = TabularMDP(P, initial_state_distribution=[1.0, 0, 0], gamma=0.9,
                     state_features=np.eye(3), reward=np.array([0.0, 1.0, 0.0]),
                     absorbing_state=2)
    return env


def test_shaping_does_not_leak_into_absorbing_transitions():
    """predict_shaped_reward drops gamma h(s') at terminated transitions; h of an absorbing
    state is 0 when the env declares one."""
    env = _absorbing_chain()
    demos = [Trajectory([0, 1, 2], [0, 0])] * 4
    airl = AIRL(max_iter=5, random_state=0, potential_hidden_layer_sizes=()).fit(demos, env)
    h, g = airl.potential_, airl.reward_
    f = airl.predict_shaped_reward([0, 1], [0, 0], [1, 2], terminated=[False, True])
    np.testing.assert_allclose(f, [g[0, 0] + 0.9 * h[1] - h[0], g[1, 0] - h[1]])
    assert h[env.absorbing_state] == 0.0


def test_transfer_reward_and_state_action_transfer_error():
    env = GridWorld(3, gamma=0.9)
    demos, _, _ = _exact_transition_demos(env, SoftValueIteration().solve(env, env.reward))
    demos = demos[:20]
    bigger = GridWorld(4, gamma=0.9)
    airl = AIRL(PolynomialFeatures(1), max_iter=3, random_state=0).fit(demos, env)
    g = airl.transfer_reward(bigger)
    assert g.shape == (16, 4)
    np.testing.assert_allclose(g[:, 0], g[:, 3])
    np.testing.assert_allclose(airl.transfer_reward(env), airl.reward_)
    assert airl.score(demos, env=bigger) < 0  # re-plans g there
    five = TabularMDP(np.full((9, 5, 9), 1 / 9), gamma=0.9,
                      state_features=env.state_features)
    sa = AIRL(PolynomialFeatures(1), state_only=False, max_iter=3, random_state=0)
    sa.fit(demos, env)
    assert sa.reward_.shape == (9, 4)
    with pytest.raises(ValueError, match="state_only=False.*4 actions.*has 5"):
        sa.transfer_reward(five)
    assert airl.transfer_reward(five).shape == (9, 5)  # state-only g transfers


def test_pickle_and_warm_start_resume_exactly():
    env = GridWorld(3, gamma=0.9)
    demos, w, _ = _exact_transition_demos(env, SoftValueIteration().solve(env, env.reward))
    full = AIRL(max_iter=6, random_state=0).fit(demos, env, sample_weight=w)
    half = AIRL(max_iter=3, random_state=0, warm_start=True).fit(demos, env, sample_weight=w)
    half.fit(demos, env, sample_weight=w)
    np.testing.assert_allclose(half.reward_, full.reward_, atol=1e-12)
    assert half.n_iter_ == 6 and len(half.history_["disc_loss"]) == 6
    again = pickle.loads(pickle.dumps(full))
    np.testing.assert_array_equal(again.reward_, full.reward_)
    np.testing.assert_array_equal(again.predict_reward([0, 8]), full.predict_reward([0, 8]))


# ---------------------------------------------------------------------------------------------
# gymnasium envs (the library's PPO)
# ---------------------------------------------------------------------------------------------
gymnasium = pytest.importorskip("gymnasium")


def _cartpole_demos(n, with_final_state=True):
    env = gymnasium.make("CartPole-v1")
    demos = []
    for i in range(n):
        obs, _ = env.reset(seed=i)
        states, actions = [obs], []
        for _ in range(30):
            action = int(obs[2] + 0.5 * obs[3] > 0)
            obs, _, terminated, truncated, _ = env.step(action)
            states.append(obs)
            actions.append(action)
        states = states if with_final_state else states[:-1]
        demos.append(Trajectory(np.array(states), np.array(actions)))
    return demos


def _small_ppo():
    from sklirl.solvers import PPO

    return PPO(n_envs=2, n_steps=32, n_epochs=1, batch_size=64)


def test_ppo_path_shapes_and_shaped_reward():
    demos = _cartpole_demos(3)
    env = gymnasium.make("CartPole-v1")
    airl = AIRL(reward_model="mlp", hidden_layer_sizes=(8,), potential_hidden_layer_sizes=(8,),
                max_iter=2, disc_batch_size=16, solver=_small_ppo(), random_state=0)
    airl.fit(demos, env)
    obs, acts = demos[0].states[:4], demos[0].actions[:4]
    g = airl.predict_reward(obs, acts)
    np.testing.assert_allclose(airl.predict_reward(obs)[np.arange(4), acts], g, rtol=1e-6)
    f = airl.predict_shaped_reward(obs, acts, demos[0].states[1:5])
    f_end = airl.predict_shaped_reward(obs, acts, demos[0].states[1:5],
                                       terminated=np.ones(4, dtype=bool))
    disc = airl.discriminator_
    h_next = disc.h(np.asarray(demos[0].states[1:5], dtype=np.float64))
    np.testing.assert_allclose(f - f_end, 0.99 * h_next, rtol=1e-4, atol=1e-6)
    assert len(airl.history_["disc_loss"]) == 2


def test_ppo_path_errors():
    env = gymnasium.make("CartPole-v1")
    demos = _cartpole_demos(2) + _cartpole_demos(1, with_final_state=False)
    with pytest.raises(ValueError, match="trajectory 2 has 30 states for 30 actions"):
        AIRL(max_iter=1, solver=_small_ppo()).fit(demos, env)
    stable_baselines3 = pytest.importorskip("stable_baselines3")
    algo = stable_baselines3.PPO("MlpPolicy", env, n_steps=32, batch_size=32)
    with pytest.raises(ValueError, match="stable-baselines3's rollout buffer"):
        AIRL(max_iter=1, solver=algo).fit(_cartpole_demos(2), env)
