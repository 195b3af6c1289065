"""Occupancy measures and feature expectations: DESIGN.md section 3 identities 1-5."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import demos as demo_lists
from strategies import mdp_policy_reward, mdps, policies, random_policy_probs, rewards

import sklirl.envs._policy_flow as policy_flow
from sklirl.envs import GridWorld, TabularMDP
from sklirl.expectations import (
    ExactExpectation,
    MonteCarloExpectation,
    empirical_occupancy,
    feature_expectations,
    occupancy_feature_expectations,
    occupancy_measure,
    policy_from_occupancy,
)
from sklirl.solvers import TabularPolicy, ValueIteration

PROPS = settings(max_examples=40, deadline=None)
ATOL = 1e-8


def _dense_policy_values(env, probs, reward):
    """V_pi(mu0) by a dense linear solve (discounted) or backward recursion (finite horizon)."""
    P = env.to_dense()
    r = reward if reward.ndim == 2 else np.repeat(reward[:, None], env.n_actions, axis=1)
    if not env.finite_horizon:
        P_pi = np.einsum("sa,sat->st", probs, P)
        r_pi = (probs * r).sum(axis=1)
        V = np.linalg.solve(np.eye(env.n_states) - env.gamma * P_pi, r_pi)
        return env.initial_state_distribution @ V
    V = np.zeros(env.n_states)
    for t in range(env.horizon - 1, -1, -1):
        pi_t = probs if probs.ndim == 2 else probs[t]
        V = (pi_t * (r + env.gamma * P @ V)).sum(axis=1)
    return env.initial_state_distribution @ V


def _dense_copy(env, sparse):
    P = env.to_dense()
    S, A = env.n_states, env.n_actions
    transitions = sp.csr_matrix(P.reshape(S * A, S)) if sparse else P
    return TabularMDP(
        transitions, env.initial_state_distribution, env.gamma, env.horizon,
        n_actions=A if sparse else None,
    )


# --- identity 1: Bellman flow ------------------------------------------------------------
@PROPS
@given(st.data())
def test_bellman_flow_discounted(data):
    env = data.draw(mdps(finite_horizon=False, max_gamma=0.99))
    policy = data.draw(policies(env))
    d = occupancy_measure(env, policy)
    inflow = env.transition_matrix.T @ d.ravel()
    np.testing.assert_allclose(
        d.sum(axis=1), env.initial_state_distribution + env.gamma * inflow, atol=ATOL
    )
    assert (d >= -1e-12).all()


@PROPS
@given(st.data())
def test_bellman_flow_finite_horizon(data):
    """sum_a d = mu0 + gamma P^T d - gamma^H d_H, with d_H the state law at step H."""
    env = data.draw(mdps(finite_horizon=True))
    probs = data.draw(policies(env, as_array=True))
    P = env.to_dense()
    d_t = env.initial_state_distribution
    for t in range(env.horizon):
        pi_t = probs if probs.ndim == 2 else probs[t]
        d_t = np.einsum("s,sa,sat->t", d_t, pi_t, P)
    d = occupancy_measure(env, probs)
    flow = env.initial_state_distribution + env.gamma * (env.transition_matrix.T @ d.ravel())
    np.testing.assert_allclose(d.sum(axis=1), flow - env.gamma**env.horizon * d_t, atol=ATOL)


# --- identity 2: mass --------------------------------------------------------------------
@PROPS
@given(st.data())
def test_occupancy_mass(data):
    env = data.draw(mdps(max_gamma=0.99))
    d = occupancy_measure(env, data.draw(policies(env)))
    if env.finite_horizon:
        expected = sum(env.gamma**t for t in range(env.horizon))
    else:
        expected = 1.0 / (1.0 - env.gamma)
    assert abs(d.sum() - expected) <= ATOL * expected


# --- identity 3: value = sum d r = w . rho ---------------------------------------------------
@PROPS
@given(mdp_policy_reward())
def test_value_equals_occupancy_dot_reward(args):
    env, policy, reward = args
    d = occupancy_measure(env, policy)
    r = reward if reward.ndim == 2 else reward[:, None]
    expected = _dense_policy_values(env, policy.probs, reward)
    assert abs((d * r).sum() - expected) <= ATOL * max(1.0, abs(expected))


@PROPS
@given(st.data())
def test_value_equals_w_dot_rho(data):
    env = data.draw(mdps())
    policy = data.draw(policies(env))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    k = data.draw(st.integers(1, 4))
    phi_kind = data.draw(st.sampled_from(["state", "state_action", "cube", "sparse"]))
    S, A = env.n_states, env.n_actions
    if phi_kind == "state":
        phi = rng.normal(size=(S, k))
    elif phi_kind == "state_action":
        phi = rng.normal(size=(S * A, k))
    elif phi_kind == "cube":
        phi = rng.normal(size=(S, A, k))
    else:
        phi = sp.random(S, k, density=0.5, format="csr", random_state=rng)
    w = rng.normal(size=k)
    dense_phi = phi.toarray() if sp.issparse(phi) else phi
    r = (dense_phi @ w).reshape(S, -1)
    r = r[:, 0] if r.shape[1] == 1 else r
    rho = ExactExpectation().feature_expectations(env, policy, phi)
    value = _dense_policy_values(env, policy.probs, r)
    assert rho.shape == (k,)
    assert abs(w @ rho - value) <= ATOL * max(1.0, abs(value))


# --- identity 4: linearity; exact vs sparse; Monte Carlo ----------------------------------
@PROPS
@given(st.data())
def test_feature_expectations_linear_in_features(data):
    env = data.draw(mdps())
    policy = data.draw(policies(env))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    phi1, phi2 = rng.normal(size=(2, env.n_states, 3))
    a, b = rng.normal(size=2)
    exact = ExactExpectation()
    lhs = exact.feature_expectations(env, policy, a * phi1 + b * phi2)
    rhs = a * exact.feature_expectations(env, policy, phi1) + b * exact.feature_expectations(
        env, policy, phi2
    )
    np.testing.assert_allclose(lhs, rhs, atol=ATOL)


@PROPS
@given(st.data())
def test_occupancy_linear_in_signed_initial_weights(data):
    env = data.draw(mdps())
    policy = data.draw(policies(env))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    m1, m2 = rng.normal(size=(2, env.n_states))
    d1 = occupancy_measure(env, policy, initial_distribution=m1)
    d2 = occupancy_measure(env, policy, initial_distribution=m2)
    d12 = occupancy_measure(env, policy, initial_distribution=2.0 * m1 - m2)
    np.testing.assert_allclose(d12, 2.0 * d1 - d2, atol=ATOL)


@PROPS
@given(st.data())
def test_dense_and_sparse_occupancy_agree(data):
    env = data.draw(mdps(max_gamma=0.99))
    probs = data.draw(policies(env, as_array=True))
    d_dense = occupancy_measure(_dense_copy(env, sparse=False), probs)
    d_sparse = occupancy_measure(_dense_copy(env, sparse=True), probs)
    np.testing.assert_allclose(d_dense, d_sparse, atol=ATOL)


def test_iterative_flow_solver_matches_direct(monkeypatch):
    env = GridWorld(6, slip=0.2, gamma=0.95)
    probs = random_policy_probs(np.random.default_rng(0), (36, 4))
    direct = occupancy_measure(env, probs)
    monkeypatch.setattr(policy_flow, "DIRECT_SOLVE_MAX_STATES", 0)
    np.testing.assert_allclose(occupancy_measure(env, probs), direct, atol=1e-9)


def test_monte_carlo_within_hoeffding_bound():
    """Each coordinate of the MC occupancy averages n i.i.d. returns in [0, M] with
    M = sum_{t<H} gamma^t, so |MC - exact_H| <= M sqrt(log(2 S A / delta) / (2 n)) for all
    S A coordinates at once with probability >= 1 - delta (Hoeffding + union bound). The exact
    reference is the occupancy truncated at the rollout horizon H; its distance to the
    untruncated one is at most gamma^H / (1 - gamma) in total mass."""
    env = GridWorld(4, slip=0.3, gamma=0.8)
    probs = random_policy_probs(np.random.default_rng(1), (16, 4))
    n, delta = 2000, 1e-6
    mc = MonteCarloExpectation(n_episodes=n, random_state=0)
    H = mc.rollout_horizon(env)
    truncated = TabularMDP(
        env.transition_matrix, env.initial_state_distribution, env.gamma, horizon=H, n_actions=4
    )
    exact_H = occupancy_measure(truncated, probs)
    M = sum(env.gamma**t for t in range(H))
    bound = M * np.sqrt(np.log(2 * 16 * 4 / delta) / (2 * n))
    d_mc = mc.occupancy(env, probs)
    assert np.abs(d_mc - exact_H).max() <= bound
    assert abs(d_mc.sum() - M) < 1e-9  # every rollout contributes exactly M
    exact = occupancy_measure(env, probs)
    assert np.abs(exact - exact_H).sum() <= env.gamma**H / (1 - env.gamma) + 1e-9
    # The same bound for the feature expectations of bounded features (|phi| <= 1).
    phi = np.random.default_rng(2).uniform(-1, 1, size=(16, 3))
    rho_mc = mc.feature_expectations(env, probs, phi)
    rho_H = occupancy_feature_expectations(exact_H, phi)
    assert np.abs(rho_mc - rho_H).max() <= M * np.sqrt(np.log(2 * 3 / delta) / (2 * n))


def test_monte_carlo_is_seeded():
    env = GridWorld(3, slip=0.2, gamma=0.7)
    probs = np.full((9, 4), 0.25)
    a = MonteCarloExpectation(n_episodes=20, random_state=3).occupancy(env, probs)
    b = MonteCarloExpectation(n_episodes=20, random_state=3).occupancy(env, probs)
    np.testing.assert_array_equal(a, b)


# --- identity 5: optimality ----------------------------------------------------------------
@PROPS
@given(st.data())
def test_optimal_policy_maximises_w_dot_rho(data):
    env = data.draw(mdps(max_gamma=0.95))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    phi = rng.normal(size=(env.n_states, 3))
    w = rng.normal(size=3)
    optimal = ValueIteration(tol=1e-12).solve(env, phi @ w)
    rho_star = ExactExpectation().feature_expectations(env, optimal, phi)
    for _ in range(3):
        policy = data.draw(policies(env))
        rho = ExactExpectation().feature_expectations(env, policy, phi)
        assert w @ rho_star >= w @ rho - 1e-8


# --- hand-solvable cases ---------------------------------------------------------------------
def test_two_state_chain_closed_form():
    """State 0 -> 1 -> 1 (absorbing); from mu0 = delta_0: d_S = (1, gamma / (1 - gamma))."""
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = P[1, 0, 1] = 1.0
    env = TabularMDP(P, initial_state_distribution=[1.0, 0.0], gamma=0.75)
    d = occupancy_measure(env, np.ones((2, 1)))
    np.testing.assert_allclose(d[:, 0], [1.0, 0.75 / 0.25])
    env_h = TabularMDP(P, initial_state_distribution=[1.0, 0.0], gamma=0.5, horizon=3)
    np.testing.assert_allclose(occupancy_measure(env_h, np.ones((2, 1)))[:, 0], [1.0, 0.75])


def test_time_indexed_policy_occupancy():
    """Two self-loop states reached by action 0 (stay) / 1 (switch); pi_0 switches, pi_1 stays."""
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[1, 0, 1] = 1.0
    P[0, 1, 1] = P[1, 1, 0] = 1.0
    env = TabularMDP(P, initial_state_distribution=[1.0, 0.0], gamma=1.0, horizon=3)
    probs = np.array([[[0, 1], [0, 1]], [[1, 0], [1, 0]], [[1, 0], [1, 0]]], dtype=float)
    d = occupancy_measure(env, TabularPolicy(probs))
    np.testing.assert_allclose(d, [[0.0, 1.0], [2.0, 0.0]])


# --- empirical expectations --------------------------------------------------------------------
def test_empirical_occupancy_by_hand():
    demos = [([0, 1, 1], [1, 0]), ([1, 0], [1, 1])]
    d = empirical_occupancy(demos, 2, 2, gamma=0.5)
    # mean of {(0,1):1, (1,0):0.5} and {(1,1):1, (0,1):0.5}
    np.testing.assert_allclose(d, [[0.0, 0.75], [0.25, 0.5]])
    w = empirical_occupancy(demos, 2, 2, gamma=0.5, sample_weight=[3.0, 1.0])
    np.testing.assert_allclose(w, [[0.0, 0.875], [0.375, 0.25]])


def test_feature_expectations_state_and_state_action_forms():
    demos = [([0, 1, 2], [1, 0])]
    phi_s = np.arange(6.0).reshape(3, 2)
    gamma = 0.9
    expected = phi_s[0] + gamma * phi_s[1]
    np.testing.assert_allclose(feature_expectations(demos, phi_s, gamma), expected)
    np.testing.assert_allclose(feature_expectations(demos, sp.csr_matrix(phi_s), gamma), expected)
    phi_sa = np.arange(12.0).reshape(6, 2)  # rows s * 2 + a
    np.testing.assert_allclose(
        feature_expectations(demos, phi_sa, gamma, n_actions=2), phi_sa[1] + gamma * phi_sa[2]
    )
    cube = phi_sa.reshape(3, 2, 2)
    expected_sa = phi_sa[1] + gamma * phi_sa[2]
    np.testing.assert_allclose(feature_expectations(demos, cube, gamma), expected_sa)


@PROPS
@given(st.data())
def test_empirical_occupancy_of_policy_rollouts_is_unbiased_by_construction(data):
    """empirical_occupancy of demos equals the sum of per-trajectory discounted indicators."""
    env = data.draw(mdps(finite_horizon=False))
    demos = data.draw(demo_lists(env.n_states, env.n_actions, final_state=True))
    d = empirical_occupancy(demos, env.n_states, env.n_actions, env.gamma)
    manual = np.zeros((env.n_states, env.n_actions))
    for states, actions in demos:
        for t, (s, a) in enumerate(zip(states, actions)):
            manual[s, a] += env.gamma**t / len(demos)
    np.testing.assert_allclose(d, manual, atol=1e-12)


def test_policy_from_occupancy_round_trip():
    env = GridWorld(3, slip=0.1, gamma=0.9)
    probs = random_policy_probs(np.random.default_rng(0), (9, 4), deterministic_fraction=0.0)
    d = occupancy_measure(env, probs)
    np.testing.assert_allclose(policy_from_occupancy(d).probs, probs, atol=1e-10)
    np.testing.assert_allclose(occupancy_measure(env, policy_from_occupancy(d)), d, atol=1e-10)


# --- validation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "policy, match",
    [
        (np.full((3, 4), 0.25), "expected \\(S, A\\)"),
        (np.full((2, 9, 4), 0.25), "finite-horizon"),
    ],
)
def test_occupancy_rejects_bad_policies(policy, match):
    with pytest.raises(ValueError, match=match):
        occupancy_measure(GridWorld(3, gamma=0.9), policy)


def test_occupancy_rejects_short_time_indexed_policy_and_bad_env():
    env = GridWorld(2, gamma=0.9, horizon=5)
    with pytest.raises(ValueError, match="covers 2 steps"):
        occupancy_measure(env, np.full((2, 4, 4), 0.25))
    with pytest.raises(ValueError, match="initial_distribution"):
        occupancy_measure(env, np.full((4, 4), 0.25), initial_distribution=[1.0, np.nan, 0, 0])
    with pytest.raises(TypeError, match="TabularMDP"):
        occupancy_measure("FrozenLake-v1", np.full((4, 4), 0.25))


def test_empirical_occupancy_validation():
    with pytest.raises(ValueError, match="trajectory 0, step 1: state 7"):
        empirical_occupancy([([0, 7], [0])], 3, 2, gamma=0.9)
    with pytest.raises(ValueError, match="gamma"):
        empirical_occupancy([([0, 1], [0])], 3, 2, gamma=1.5)
    with pytest.raises(ValueError, match="sample_weight"):
        empirical_occupancy([([0, 1], [0])], 3, 2, gamma=0.9, sample_weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="sample_weight"):
        empirical_occupancy([([0, 1], [0])], 3, 2, gamma=0.9, sample_weight=[-1.0])
    with pytest.raises(ValueError, match="rows"):
        occupancy_feature_expectations(np.ones((3, 2)), np.ones((5, 2)))
    with pytest.raises(ValueError, match="multiple of n_actions"):
        feature_expectations([([0, 1], [0])], np.ones((5, 2)), 0.9, n_actions=2)


@settings(max_examples=20, deadline=None)
@given(st.data())
def test_rewards_strategy_shapes(data):
    """The shared reward strategy yields both reward layouts (used by other test modules)."""
    r = data.draw(rewards(4, 3))
    assert r.shape in ((4,), (4, 3)) and np.all(np.isfinite(r))


# --- Monte Carlo n_jobs: parallel where it pays, the same estimate for every n_jobs ---------
def test_monte_carlo_gymnasium_estimate_does_not_depend_on_n_jobs():
    # The episodes are split into seeded blocks independent of n_jobs, so processes (loky),
    # threads and the serial path give the same feature expectations, bit for bit.
    gymnasium = pytest.importorskip("gymnasium")
    pytest.importorskip("torch")
    import joblib
    from sklearn.preprocessing import PolynomialFeatures

    from sklirl.solvers import TorchPolicy

    env = gymnasium.make("CartPole-v1")
    policy = TorchPolicy(env.observation_space, env.action_space, random_state=0)
    features = PolynomialFeatures(2).fit(np.zeros((1, 4)))

    def rho(n_jobs, backend="loky"):
        mc = MonteCarloExpectation(n_episodes=150, horizon=30, random_state=0, n_jobs=n_jobs)
        with joblib.parallel_config(backend=backend):
            return mc.feature_expectations(env, policy, features, gamma=0.9)

    serial = rho(1)
    np.testing.assert_array_equal(rho(2), serial)
    np.testing.assert_array_equal(rho(2, "threading"), serial)
    np.testing.assert_array_equal(rho(None), serial)
    # Another seed gives another estimate (the blocks are seeded from random_state).
    other = MonteCarloExpectation(n_episodes=150, horizon=30, random_state=1)
    assert not np.array_equal(other.feature_expectations(env, policy, features, gamma=0.9),
                              serial)


def test_monte_carlo_gym_blocks_are_independent_of_their_neighbours():
    # An episode's result depends only on its own block: running blocks together (as one
    # worker does) gives each block's episodes exactly as running it alone.
    gymnasium = pytest.importorskip("gymnasium")
    pytest.importorskip("torch")
    from sklirl._rollouts import gym_rollout_blocks
    from sklirl.solvers import TorchPolicy

    env = gymnasium.make("CartPole-v1")
    policy = TorchPolicy(env.observation_space, env.action_space, random_state=0)
    blocks = [(3, 11), (4, 12), (2, 13)]
    together = gym_rollout_blocks(env, policy, blocks, 40)
    alone = [ep for block in blocks
             for ep in gym_rollout_blocks(env, policy, [block], 40)]
    assert len(together) == len(alone) == 9
    for (o1, r1), (o2, r2) in zip(together, alone):
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(r1, r2)


def test_monte_carlo_tabular_ignores_n_jobs():
    # Tabular rollouts are vectorised numpy and run serially whatever n_jobs says (workers
    # made them slower, see the n_jobs docstring): the same estimate for any n_jobs.
    env = GridWorld(3, slip=0.2, gamma=0.7)
    probs = np.full((9, 4), 0.25)
    a = MonteCarloExpectation(n_episodes=2500, random_state=3, n_jobs=1).occupancy(env, probs)
    b = MonteCarloExpectation(n_episodes=2500, random_state=3, n_jobs=2).occupancy(env, probs)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("horizon", [None, 5])
@pytest.mark.parametrize("per_step", [False, True])
def test_occupancy_of_a_policy_stack_equals_separate_calls(horizon, per_step):
    if per_step and horizon is None:
        pytest.skip("per_step needs a finite horizon")
    from sklirl.solvers import TabularPolicy

    env = GridWorld(4, slip=0.2, gamma=0.9, horizon=horizon)
    rng = np.random.default_rng(0)
    shapes = [(16, 4), (16, 4)] if horizon is None else [(16, 4), (5, 16, 4)]
    stack = [TabularPolicy(rng.dirichlet(np.ones(4), size=s[:-1])) for s in shapes]
    D = occupancy_measure(env, stack, per_step=per_step)
    for k, policy in enumerate(stack):
        np.testing.assert_allclose(
            D[k], occupancy_measure(env, policy, per_step=per_step), rtol=0, atol=1e-10)
