"""Tabular planners: soft Bellman fixed point, optimality, shaping, closed forms, validation."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from strategies import mdps, random_policy_probs, random_transitions, rewards

from sklirl.envs import GridWorld, TabularMDP
from sklirl.expectations import occupancy_measure
from sklirl.metrics import policy_value
from sklirl.solvers import (
    SoftValueIteration,
    TabularPolicy,
    ValueIteration,
    soft_bellman_backup,
    soft_value_iteration,
    value_iteration,
)
from sklirl.solvers._tabular import _bellman_sweep, _reduce_actions

PROPS = settings(max_examples=40, deadline=None)


def _as_sa(reward, A):
    return reward if reward.ndim == 2 else np.repeat(reward[:, None], A, axis=1)


# --- identity 6: soft Bellman fixed point ---------------------------------------------------
@PROPS
@given(st.data())
def test_soft_bellman_fixed_point(data):
    env = data.draw(mdps(finite_horizon=False, max_gamma=0.9))
    reward = data.draw(rewards(env.n_states, env.n_actions))
    temperature = data.draw(st.sampled_from([0.1, 1.0, 3.0]))
    policy = SoftValueIteration(temperature=temperature, tol=1e-12).solve(env, reward)
    Q, V = policy.q_values, policy.values
    P = env.to_dense()
    np.testing.assert_allclose(Q, _as_sa(reward, env.n_actions) + env.gamma * P @ V, atol=1e-8)
    np.testing.assert_allclose(V, temperature * logsumexp(Q / temperature, axis=1), atol=1e-8)
    np.testing.assert_allclose(policy.probs.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(policy.probs, np.exp((Q - V[:, None]) / temperature), atol=1e-8)


@PROPS
@given(st.data())
def test_soft_bellman_finite_horizon_recursion(data):
    env = data.draw(mdps(finite_horizon=True))
    reward = data.draw(rewards(env.n_states, env.n_actions))
    policy = SoftValueIteration().solve(env, reward)
    Q, V = policy.q_values, policy.values
    H, P, r = env.horizon, env.to_dense(), _as_sa(reward, env.n_actions)
    assert Q.shape == (H, env.n_states, env.n_actions) and V.shape == (H + 1, env.n_states)
    np.testing.assert_array_equal(V[H], 0.0)
    for t in range(H):
        np.testing.assert_allclose(Q[t], r + env.gamma * P @ V[t + 1], atol=1e-10)
        np.testing.assert_allclose(V[t], logsumexp(Q[t], axis=1), atol=1e-10)
    np.testing.assert_allclose(policy.probs.sum(axis=-1), 1.0, atol=1e-12)
    assert policy.horizon == H and policy.n_iter == H


@PROPS
@given(st.data())
def test_soft_value_is_max_of_value_plus_entropy(data):
    """The soft-optimal value from mu0 equals E[sum gamma^t (r + T H(pi))] of its policy."""
    env = data.draw(mdps(finite_horizon=False, max_gamma=0.9))
    reward = data.draw(rewards(env.n_states, env.n_actions))
    policy = SoftValueIteration(temperature=0.5, tol=1e-12).solve(env, reward)
    entropy_bonus = -0.5 * np.where(policy.probs > 0, policy.log_probs, 0.0)
    value = policy_value(env, policy, _as_sa(reward, env.n_actions) + entropy_bonus)
    expected = env.initial_state_distribution @ policy.values
    assert abs(value - expected) <= 1e-8 * max(1.0, abs(expected))


# --- hard value iteration: optimality ---------------------------------------------------------
@PROPS
@given(st.data())
def test_value_iteration_is_optimal(data):
    env = data.draw(mdps(max_gamma=0.9))
    reward = data.draw(rewards(env.n_states, env.n_actions))
    policy = ValueIteration(tol=1e-12).solve(env, reward)
    Q = policy.q_values
    assert np.all((policy.probs == 0) | (policy.probs == 1))
    best = policy_value(env, policy, reward)
    rng = np.random.default_rng(0)
    shape = ((env.horizon,) if env.finite_horizon else ()) + (env.n_states, env.n_actions)
    for _ in range(5):
        assert policy_value(env, random_policy_probs(rng, shape), reward) <= best + 1e-8
    if not env.finite_horizon:
        np.testing.assert_allclose(policy.values, Q.max(axis=1), atol=1e-12)
        # Greedy actions attain the max of Q.
        chosen = np.take_along_axis(Q, policy.predict(np.arange(env.n_states))[:, None], 1)
        np.testing.assert_allclose(chosen[:, 0], Q.max(axis=1))


@PROPS
@given(st.data())
def test_low_temperature_soft_values_approach_hard_values(data):
    """max <= T logsumexp(q / T) <= max + T log A, and the bound carries through the fixed point."""
    env = data.draw(mdps(finite_horizon=False, max_gamma=0.9))
    reward = data.draw(rewards(env.n_states, env.n_actions))
    T = 0.01
    _, V_soft, _ = soft_value_iteration(env, reward, temperature=T, tol=1e-12)
    _, V_hard, _ = value_iteration(env, reward, tol=1e-12)
    slack = T * np.log(env.n_actions) / (1 - env.gamma)
    assert np.all(V_soft >= V_hard - 1e-8) and np.all(V_soft <= V_hard + slack + 1e-8)


# --- identity 9: potential shaping ------------------------------------------------------------
@PROPS
@given(st.data())
def test_potential_shaping_leaves_optimal_policies_unchanged(data):
    env = data.draw(mdps(finite_horizon=False, max_gamma=0.9))
    reward = _as_sa(data.draw(rewards(env.n_states, env.n_actions)), env.n_actions)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    phi = rng.normal(scale=3.0, size=env.n_states)
    shaped = reward + env.gamma * env.expected_next(phi) - phi[:, None]
    soft, soft_shaped = (SoftValueIteration(tol=1e-12).solve(env, r) for r in (reward, shaped))
    np.testing.assert_allclose(soft_shaped.probs, soft.probs, atol=1e-8)
    np.testing.assert_allclose(soft_shaped.values, soft.values - phi, atol=1e-8)
    hard, hard_shaped = (ValueIteration(tol=1e-12).solve(env, r) for r in (reward, shaped))
    np.testing.assert_allclose(hard_shaped.q_values, hard.q_values - phi[:, None], atol=1e-8)
    # Greedy choices agree wherever the optimal action is unique (ties may break differently).
    q = hard.q_values
    gap = np.sort(q, axis=1)[:, -1] - (np.sort(q, axis=1)[:, -2] if env.n_actions > 1 else -np.inf)
    unique = gap > 1e-6
    np.testing.assert_array_equal(hard_shaped.probs[unique], hard.probs[unique])


# --- dense and sparse paths agree ---------------------------------------------------------------
@PROPS
@given(st.data())
def test_dense_and_sparse_solvers_agree(data):
    S, A = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 3))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    P = random_transitions(rng, S, A)
    horizon = data.draw(st.sampled_from([None, 4]))
    dense = TabularMDP(P, gamma=0.9, horizon=horizon)
    sparse = TabularMDP(sp.csr_matrix(P.reshape(S * A, S)), gamma=0.9, horizon=horizon, n_actions=A)
    reward = rng.normal(size=(S, A))
    for solve in (soft_value_iteration, value_iteration):
        Qd, Vd, _ = solve(dense, reward, tol=1e-12)
        Qs, Vs, _ = solve(sparse, reward, tol=1e-12)
        np.testing.assert_allclose(Qd, Qs, atol=1e-10)
        np.testing.assert_allclose(Vd, Vs, atol=1e-10)


def test_blocked_reductions_match_numpy_across_block_boundaries(monkeypatch):
    import sklirl.solvers._tabular as tabular

    monkeypatch.setattr(tabular, "_BLOCK", 7)  # several blocks, a ragged last one
    rng = np.random.default_rng(0)
    ev, r = rng.normal(size=(2, 30, 4)) * 50
    q = r + 0.9 * ev
    np.testing.assert_allclose(_reduce_actions(ev, r, 0.9), q.max(axis=1), rtol=1e-14)
    for T in (1.0, 0.05, 7.0):
        np.testing.assert_allclose(
            _reduce_actions(ev, r, 0.9, T), T * logsumexp(q / T, axis=1), rtol=1e-12
        )
    env = GridWorld(5, slip=0.3, gamma=0.9)
    V = rng.normal(size=25)
    rs = _as_sa(env.reward, 4)
    q, v = soft_bellman_backup(env, env.reward, V)
    np.testing.assert_allclose(_bellman_sweep(env, rs, V, 1.0), v, rtol=1e-12)
    np.testing.assert_allclose(q, rs + 0.9 * env.expected_next(V), rtol=1e-12)


# --- hand-solvable MDPs ------------------------------------------------------------------------
def test_single_state_closed_forms():
    """One state, A actions with rewards r_a: V = logsumexp(r) / (1 - gamma) at temperature 1;
    hard V = max(r) / (1 - gamma)."""
    r = np.array([[1.0, 2.0, -1.0]])
    env = TabularMDP(np.ones((1, 3, 1)), gamma=0.8)
    soft = SoftValueIteration(tol=1e-13).solve(env, r)
    np.testing.assert_allclose(soft.values, [logsumexp(r) / 0.2], rtol=1e-12)
    np.testing.assert_allclose(soft.probs, np.exp(r - logsumexp(r)), rtol=1e-12)
    hard = ValueIteration(tol=1e-13).solve(env, r)
    np.testing.assert_allclose(hard.values, [2.0 / 0.2], rtol=1e-12)
    np.testing.assert_array_equal(hard.probs, [[0.0, 1.0, 0.0]])
    # Finite horizon H with gamma = 1: V_0 = H * logsumexp(r).
    env_h = TabularMDP(np.ones((1, 3, 1)), gamma=1.0, horizon=4)
    np.testing.assert_allclose(SoftValueIteration().solve(env_h, r).values[0], 4 * logsumexp(r))


def test_chain_to_goal_hard_values():
    """Deterministic chain 0 -> 1 -> 2 (absorbing, reward 1): V*(s) = gamma^(2-s) / (1-gamma)."""
    P = np.zeros((3, 2, 3))
    for s in range(3):
        P[s, 0, s] = 1.0  # stay
        P[s, 1, min(s + 1, 2)] = 1.0  # advance
    env = TabularMDP(P, gamma=0.9)
    policy = ValueIteration(tol=1e-13).solve(env, [0.0, 0.0, 1.0])
    np.testing.assert_allclose(policy.values, [0.81 / 0.1, 0.9 / 0.1, 1 / 0.1], rtol=1e-10)
    assert policy.predict([0, 1]).tolist() == [1, 1]


def test_gridworld_policy_heads_to_goal():
    env = GridWorld(4, gamma=0.9)
    policy = ValueIteration().solve(env, env.reward)
    # From the top-left corner either right (1) or down (2) is optimal; never up/left.
    assert policy.predict([0])[0] in (1, 2)
    assert policy.predict([14])[0] == 1 and policy.predict([11])[0] == 2


# --- convergence control ------------------------------------------------------------------------
def test_convergence_warning_and_iteration_cap():
    env = GridWorld(4, slip=0.1, gamma=0.99)
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        policy = SoftValueIteration(max_iter=3).solve(env, env.reward)
    assert policy.n_iter == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        policy = SoftValueIteration(tol=1e-6).solve(env, env.reward)
    assert policy.n_iter < 100_000


def test_tolerance_guarantee_and_warm_start():
    env = GridWorld(4, slip=0.2, gamma=0.95)
    _, V_exact, n_full = soft_value_iteration(env, env.reward, tol=1e-13)
    for tol in (1e-2, 1e-5):
        _, V, _ = soft_value_iteration(env, env.reward, tol=tol)
        assert np.abs(V - V_exact).max() <= tol
    init = V_exact + 1e-9
    _, V_warm, n_warm = soft_value_iteration(env, env.reward, tol=1e-8, init_values=init)
    assert n_warm < n_full / 5
    np.testing.assert_array_equal(init, V_exact + 1e-9)  # not modified


def test_solvers_are_sklearn_estimators():
    solver = SoftValueIteration(temperature=0.5)
    assert clone(solver).get_params() == solver.get_params()
    policy = pickle.loads(pickle.dumps(solver.solve(GridWorld(3), GridWorld(3).reward)))
    assert policy.probs.shape == (9, 4)


@pytest.mark.parametrize(
    "solver, match",
    [
        (SoftValueIteration(temperature=0.0), "temperature"),
        (SoftValueIteration(tol=-1.0), "tol"),
        (ValueIteration(max_iter=0), "max_iter"),
    ],
)
def test_solver_parameter_validation(solver, match):
    env = GridWorld(3)
    with pytest.raises(ValueError, match=match):
        solver.solve(env, env.reward)


def test_solver_input_validation():
    env = GridWorld(3)
    with pytest.raises(ValueError, match=r"reward must have shape \(9,\) or \(9, 4\)"):
        ValueIteration().solve(env, np.zeros(8))
    with pytest.raises(ValueError, match="NaN"):
        ValueIteration().solve(env, np.full(9, np.nan))
    with pytest.raises(TypeError, match="numeric"):
        ValueIteration().solve(env, np.array(["a"] * 9))
    with pytest.raises(ValueError, match="init_values"):
        SoftValueIteration().solve(env, env.reward, init_values=np.zeros(3))
    with pytest.raises(TypeError, match="TabularMDP"):
        SoftValueIteration().solve(object(), env.reward)
    with pytest.raises(ValueError, match=r"values must be a finite array of shape \(9,\)"):
        soft_bellman_backup(env, env.reward, np.zeros(4))
    with pytest.raises(ValueError, match="temperature"):
        soft_bellman_backup(env, env.reward, np.zeros(9), temperature=0.0)


# --- TabularPolicy -------------------------------------------------------------------------------
def test_tabular_policy_queries():
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    pi = TabularPolicy(probs)
    assert pi.predict([0, 1]).tolist() == [0, 1]
    np.testing.assert_allclose(pi.log_prob([0, 1], [1, 1]), np.log([0.1, 0.8]))
    np.testing.assert_allclose(pi.predict_proba(np.array([[1]])), [[0.2, 0.8]])
    samples = pi.sample(np.zeros(20000, dtype=int), random_state=0)
    assert abs(samples.mean() - 0.1) < 0.01  # 4.5 standard deviations
    timed = TabularPolicy(np.stack([probs, probs[:, ::-1]]))
    assert timed.horizon == 2
    assert timed.predict([0, 0], t=[0, 1]).tolist() == [0, 1]
    np.testing.assert_array_equal(timed.at(5), probs[:, ::-1])  # clipped to the last step
    from_logs = TabularPolicy(log_probs=np.log(probs))
    np.testing.assert_allclose(from_logs.probs, probs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "exactly one"),
        ({"probs": [[0.5, 0.6]]}, "sum to"),
        ({"probs": [[-0.5, 1.5]]}, "non-negative"),
        ({"probs": [0.5, 0.5]}, "shape"),
        ({"log_probs": [[0.5, -1.0]]}, "<= 0"),
    ],
)
def test_tabular_policy_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TabularPolicy(**kwargs)


def test_tabular_policy_query_validation():
    pi = TabularPolicy(np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match=r"states\[1\] = 3 is outside \[0, 3\)"):
        pi.predict([0, 3])
    with pytest.raises(ValueError, match="integer"):
        pi.predict([0.5])
    with pytest.raises(TypeError, match="integer"):
        pi.predict(["a"])
    with pytest.raises(ValueError, match="actions"):
        pi.log_prob([0, 1], [0, 2])


def test_soft_policy_occupancy_consistent_with_values():
    """V_soft(mu0) = sum d (r - T log pi): the soft value is the entropy-regularised return."""
    env = GridWorld(3, slip=0.2, gamma=0.9)
    policy = SoftValueIteration(temperature=2.0, tol=1e-13).solve(env, env.reward)
    d = occupancy_measure(env, policy)
    value = np.sum(d * (env.reward[:, None] - 2.0 * policy.log_probs))
    assert abs(value - env.initial_state_distribution @ policy.values) < 1e-9


# --- soft policy iteration (Newton steps) ---------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(st.data())
def test_soft_policy_iteration_matches_value_iteration(data):
    env = data.draw(mdps(finite_horizon=False, max_gamma=0.99))
    reward = data.draw(rewards(env.n_states, env.n_actions))
    temperature = data.draw(st.sampled_from([0.2, 1.0]))
    vi = SoftValueIteration(temperature=temperature, tol=1e-11).solve(env, reward)
    pi = SoftValueIteration(
        temperature=temperature, tol=1e-11, method="policy_iteration"
    ).solve(env, reward)
    np.testing.assert_allclose(pi.values, vi.values, atol=1e-9)
    np.testing.assert_allclose(pi.probs, vi.probs, atol=1e-8)


def test_soft_policy_iteration_needs_few_steps_for_gamma_near_one():
    env = GridWorld(8, slip=0.1, gamma=0.99)
    _, V_vi, n_vi = soft_value_iteration(env, env.reward, tol=1e-8)
    _, V_pi, n_pi = soft_value_iteration(env, env.reward, tol=1e-8, method="policy_iteration")
    assert n_pi <= 20 < n_vi
    assert np.abs(V_pi - V_vi).max() <= 2e-8  # both within tol of the fixed point
    # Finite horizon: the exact backward recursion whatever the method.
    env_h = GridWorld(3, gamma=1.0, horizon=5)
    a = soft_value_iteration(env_h, env_h.reward, method="policy_iteration")
    np.testing.assert_array_equal(a[1], soft_value_iteration(env_h, env_h.reward)[1])
    with pytest.raises(ValueError, match="method"):
        soft_value_iteration(env, env.reward, method="newton")
    with pytest.raises(ValueError, match="method"):
        SoftValueIteration(method="newton").solve(env, env.reward)


def test_soft_policy_iteration_converges_in_few_newton_steps_at_gamma_0_9999():
    """10^4 states at gamma = 0.9999 (sweeps would need ~250,000): Newton reaches the rounding
    floor in a few steps. Its linear solves are in correction form and pi is normalised by its
    own rows; before, pi's rows summed to 1 +- 1e-12 and Newton stalled (36,248 iterations)."""
    env = GridWorld(100, gamma=0.9999)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        q, v, n_iter = soft_value_iteration(env, env.reward, method="policy_iteration")
    assert n_iter <= 100
    backup = soft_bellman_backup(env, env.reward, v)[1]
    assert np.abs(backup - v).max() <= 1e-12 * np.abs(v).max()


def test_soft_policy_iteration_iterative_solver_path(monkeypatch):
    import sklirl.envs._policy_flow as policy_flow

    env = GridWorld(6, slip=0.2, gamma=0.95)
    direct = soft_value_iteration(env, env.reward, tol=1e-10, method="policy_iteration")
    monkeypatch.setattr(policy_flow, "DIRECT_SOLVE_MAX_STATES", 0)
    krylov = soft_value_iteration(env, env.reward, tol=1e-10, method="policy_iteration")
    np.testing.assert_allclose(krylov[1], direct[1], atol=2e-10)
    assert krylov[2] <= 30


# --- Howard's policy iteration for the hard max, and the rounding floor ----------------------
@PROPS
@given(st.data())
def test_greedy_policy_iteration_matches_value_iteration(data):
    env = data.draw(mdps(finite_horizon=False, max_gamma=0.95))
    reward = data.draw(rewards(env.n_states, env.n_actions))
    _, V_vi, _ = value_iteration(env, reward, tol=1e-11, method="value_iteration")
    _, V_pi, _ = value_iteration(env, reward, tol=1e-11, method="policy_iteration")
    np.testing.assert_allclose(V_pi, V_vi, atol=1e-8)


def test_greedy_policy_iteration_is_fast_and_optimal_for_gamma_near_one():
    env = GridWorld(12, slip=0.3, gamma=0.999)
    vi = ValueIteration(method="value_iteration").solve(env, env.reward)
    pi = ValueIteration().solve(env, env.reward)  # "auto": policy iteration at gamma 0.999
    assert pi.n_iter < 100 < vi.n_iter
    # Same (optimal) value; the greedy policies may differ only between tied actions.
    np.testing.assert_allclose(pi.values, vi.values, rtol=1e-9)
    assert policy_value(env, pi, env.reward) == pytest.approx(
        policy_value(env, vi, env.reward), rel=1e-9
    )
    with pytest.raises(ValueError, match="method"):
        ValueIteration(method="howard").solve(env, env.reward)


def test_sweeps_stop_at_the_rounding_floor_instead_of_max_iter():
    # |V| ~ 1e4 at gamma 0.999: tol=1e-12 asks for changes below 1e-15, under one ulp of V.
    env = GridWorld(4, slip=0.1, gamma=0.999, reward=np.full(16, 10.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        _, V, n_iter = value_iteration(env, env.reward, tol=1e-12, method="value_iteration")
    assert n_iter < 100_000
    np.testing.assert_allclose(V, 10.0 / (1 - 0.999), rtol=1e-9)


# --- stacks of K rewards: one pass over the transitions per sweep for all K -----------------
def _stack_envs():
    rng = np.random.default_rng(7)
    P = random_transitions(rng, 12, 3)
    return [
        TabularMDP(P, gamma=0.9),  # dense (S, A, S) input
        TabularMDP(P, gamma=0.8, horizon=6),
        GridWorld(4, slip=0.2, gamma=0.9),  # sparse
        GridWorld(4, slip=0.2, gamma=0.95, horizon=5),
    ]


@pytest.mark.parametrize("env", _stack_envs())
@pytest.mark.parametrize("solve", [soft_value_iteration, value_iteration])
@pytest.mark.parametrize("method", ["value_iteration", "policy_iteration"])
@pytest.mark.parametrize("state_rewards", [False, True])
def test_reward_stack_equals_separate_solves(env, solve, method, state_rewards):
    rng = np.random.default_rng(1)
    S, A, K = env.n_states, env.n_actions, 5
    R = rng.normal(scale=2.0, size=(K, S) if state_rewards else (K, S, A))
    Q, V, n_iter = solve(env, R, tol=1e-12, method=method)
    H = env.horizon
    assert Q.shape == ((K, S, A) if H is None else (K, H, S, A))
    assert V.shape == ((K, S) if H is None else (K, H + 1, S))
    for k in range(K):
        q, v, n = solve(env, R[k], tol=1e-12, method=method)
        np.testing.assert_allclose(Q[k], q, rtol=0, atol=1e-10)
        np.testing.assert_allclose(V[k], v, rtol=0, atol=1e-10)
        assert n <= n_iter  # the stack runs until its slowest reward has converged


def test_reward_stack_warm_start_and_solver_classes():
    env = GridWorld(4, slip=0.1, gamma=0.9)
    R = np.random.default_rng(2).normal(size=(3, env.n_states))
    _, V, _ = soft_value_iteration(env, R, tol=1e-12)
    _, V_warm, n_warm = soft_value_iteration(env, R, tol=1e-12, init_values=V)
    np.testing.assert_allclose(V_warm, V, atol=1e-10)
    assert n_warm <= 2  # started at the fixed point
    policies = SoftValueIteration(temperature=0.5, tol=1e-12).solve(env, R)
    assert isinstance(policies, list) and len(policies) == 3
    for k, policy in enumerate(policies):
        alone = SoftValueIteration(temperature=0.5, tol=1e-12).solve(env, R[k])
        np.testing.assert_allclose(policy.probs, alone.probs, atol=1e-10)
    greedy = ValueIteration(tol=1e-12).solve(env, R)
    assert [p.predict(np.arange(16)).tolist() for p in greedy] == [
        ValueIteration(tol=1e-12).solve(env, r).predict(np.arange(16)).tolist() for r in R]


def test_soft_bellman_backup_stack():
    env = TabularMDP(random_transitions(np.random.default_rng(3), 7, 3), gamma=0.9)
    rng = np.random.default_rng(4)
    R, V = rng.normal(size=(4, 7, 3)), rng.normal(size=(4, 7))
    Q, V_new = soft_bellman_backup(env, R, V, temperature=0.7)
    for k in range(4):
        q, v = soft_bellman_backup(env, R[k], V[k], temperature=0.7)
        np.testing.assert_allclose(Q[k], q, rtol=0, atol=1e-12)
        np.testing.assert_allclose(V_new[k], v, rtol=0, atol=1e-12)


def test_reward_stack_one_reward_and_square_ambiguity():
    # K = 1 stack equals the single solve; an (S, A) array with S == A stays one reward
    env = TabularMDP(random_transitions(np.random.default_rng(5), 3, 3), gamma=0.9)
    r = np.random.default_rng(6).normal(size=(3, 3))
    q1, v1, _ = soft_value_iteration(env, r, tol=1e-12)
    assert q1.shape == (3, 3) and v1.shape == (3,)
    qk, vk, _ = soft_value_iteration(env, r[None], tol=1e-12)
    np.testing.assert_allclose(qk[0], q1, atol=1e-12)
    np.testing.assert_allclose(vk[0], v1, atol=1e-12)


def test_policy_value_reward_stack():
    env = GridWorld(4, slip=0.1, gamma=0.9)
    R = np.random.default_rng(8).normal(size=(3, env.n_states))
    pi = np.full((16, 4), 0.25)
    np.testing.assert_allclose(
        policy_value(env, pi, R), [policy_value(env, pi, r) for r in R], rtol=1e-12)


@pytest.mark.parametrize("horizon", [None, 6])
@pytest.mark.parametrize("solver", [SoftValueIteration, ValueIteration])
def test_float32_transitions_within_stated_tolerance(horizon, solver):
    # float32 transitions: values within 1e-6 * max|V| / (1 - gamma) of float64's (docstring)
    env = GridWorld(6, slip=0.2, gamma=0.9, horizon=horizon)
    reward = np.random.default_rng(0).normal(scale=3.0, size=(env.n_states, env.n_actions))
    p64 = solver(tol=1e-10).solve(env, reward)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # stops at the float32 floor
        p32 = solver(tol=1e-10, transition_dtype="float32").solve(env, reward)
    bound = 1e-6 * np.abs(p64.values).max() / (1 - env.gamma)
    assert 0 < np.abs(p32.values - p64.values).max() <= bound
    assert p32.values.dtype == np.float64 and env.transition_matrix.dtype == np.float64
    assert p32.n_iter < 400
    np.testing.assert_allclose(p32.probs, p64.probs, atol=1e-4)


def test_float32_transitions_leave_the_env_unchanged():
    import pickle

    env = GridWorld(4, slip=0.2, gamma=0.9)
    before = pickle.dumps(env)
    reward = np.random.default_rng(0).normal(size=env.n_states)
    ValueIteration(transition_dtype="float32").solve(env, reward)
    SoftValueIteration(transition_dtype="float32").solve(env, reward)
    assert pickle.dumps(env) == before
    assert env.transition_matrix.dtype == np.float64


def test_float32_transitions_reward_stack_and_validation():
    env = GridWorld(5, slip=0.1, gamma=0.9)
    R = np.random.default_rng(1).normal(size=(3, env.n_states))
    _, V32, _ = soft_value_iteration(env, R, transition_dtype="float32")
    _, V64, _ = soft_value_iteration(env, R)
    assert np.abs(V32 - V64).max() <= 1e-6 * np.abs(V64).max() / (1 - env.gamma)
    with pytest.raises(ValueError, match="transition_dtype must be 'float64' or 'float32'"):
        value_iteration(env, R[0], transition_dtype="float16")
