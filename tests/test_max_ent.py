"""Tests of sklirl.MaxEntIRL: moment matching, the exact gradient, optimisers, options."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import FunctionTransformer

from sklirl import MaxEntIRL
from sklirl.datasets import make_expert_demos, sample_trajectories
from sklirl.envs import GridWorld, TabularMDP
from sklirl.expectations import empirical_occupancy, occupancy_measure
from sklirl.features import OneHotStates
from sklirl.irl import _max_ent as max_ent_module
from sklirl.irl._max_ent import _MaxEntDual
from sklirl.solvers import SoftValueIteration


def reasonable_mdp(gamma=1.0, horizon=20):
    """The 5-state, 3-action MDP of imitation's MCE IRL tests (numbers re-entered from them)."""
    P = np.zeros((5, 3, 5))
    P[0, 0, [1, 2]] = [0.9, 0.1]
    P[0, 1, 3] = 1.0
    P[0, 2, [1, 2]] = [0.1, 0.9]
    for s in (1, 2):
        P[s, 0, [3, 4]] = [0.05, 0.95]
        P[s, 1, 3] = 1.0
        P[s, 2, 4] = 1.0
    P[3, :, 4] = 1.0
    P[4, :, 0] = 1.0
    obs = np.array([
        [3, -5, -1, -1, -4, 5, 3, 0],
        [4, -4, 2, 2, -4, -1, -2, -2],
        [3, -1, 5, -1, 0, 2, -5, 2],
        [-5, -1, 4, 1, 4, 1, 5, 3],
        [2, -5, 1, -5, 1, 4, 4, -3],
    ], dtype=float)
    return TabularMDP(
        P, initial_state_distribution=[0.5, 0, 0, 0, 0.5], gamma=gamma, horizon=horizon,
        state_features=obs, reward=[1.0, 2.0, 2.0, -20.0, 3.0],
    )


def random_deterministic_mdp(seed, S=12, A=3, horizon=6):
    rng = np.random.RandomState(seed)
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None], rng.randint(S, size=(S, A))] = 1.0
    return TabularMDP(P, gamma=1.0, horizon=horizon, reward=rng.randn(S))


def random_stochastic_mdp(seed, S=8, A=3, gamma=0.9, horizon=None):
    rng = np.random.RandomState(seed)
    P = rng.dirichlet(np.full(S, 0.3), size=(S, A))
    return TabularMDP(P, gamma=gamma, horizon=horizon, reward=rng.randn(S))


def state_visitation(env, policy, mu0=None):
    return occupancy_measure(env, policy, initial_distribution=mu0).sum(axis=1)


# -- moment matching ---------------------------------------------------------------------
@pytest.mark.parametrize("gamma", [1.0, 0.9])
@pytest.mark.parametrize("features", ["onehot", "observations"])
def test_moment_matching_reasonable_mdp_exact_occupancy(gamma, features):
    env = reasonable_mdp(gamma=gamma)
    expert = SoftValueIteration().solve(env, env.reward)
    d_E = state_visitation(env, expert)
    feats = OneHotStates() if features == "onehot" else None
    from sklearn.preprocessing import FunctionTransformer

    feats = feats or FunctionTransformer()
    est = MaxEntIRL(feats, l2=0.0, tol=1e-8, max_iter=500).fit_occupancy(d_E, env)
    d_pi = state_visitation(env, est.policy_)
    mass = d_E.sum()
    if features == "onehot":
        np.testing.assert_allclose(d_pi, d_E, atol=1e-6 * mass)
    else:  # 8 features: the feature expectations match (and the policy is the expert's)
        obs = env.state_features
        np.testing.assert_allclose(obs.T @ d_pi, obs.T @ d_E, atol=1e-6 * mass)
        np.testing.assert_allclose(est.policy_.probs, expert.probs, atol=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_moment_matching_sampled_demos_random_deterministic_mdps(seed):
    env = random_deterministic_mdp(seed)
    demos, _ = make_expert_demos(env, 40, random_state=seed)
    est = MaxEntIRL(l2=0.0, initial_distribution="demos", tol=1e-7, max_iter=2000)
    est.fit(demos, env)
    mu0 = np.bincount([d.states[0] for d in demos], minlength=env.n_states) / len(demos)
    d_E = empirical_occupancy(demos, env.n_states, env.n_actions, 1.0).sum(axis=1)
    d_pi = state_visitation(env, est.policy_, mu0)
    assert est.history_["gap"][-1] <= 1e-7
    np.testing.assert_allclose(d_pi, d_E, atol=1e-7 * env.horizon * 1.01)


def test_regularised_optimum_satisfies_stationarity_discounted():
    # l2 > 0: the strongly convex optimum has (rho_pi - rho_E) / M = -(l2 / n) * w exactly,
    # with n the number of demonstration steps (the penalty acts on the summed loss).
    env = random_stochastic_mdp(3)
    demos, _ = make_expert_demos(env, 30, horizon=15, random_state=0)
    est = MaxEntIRL(l2=0.05 * 450, tol=1e-8, max_iter=500).fit(demos, env)
    assert est.n_steps_ == 450
    d_pi = state_visitation(env, est.policy_)
    mass = 1.0 / (1.0 - env.gamma)
    gap = (d_pi - d_pi.sum() * _normalised_demo_visitation(demos, env)) / mass
    phi = est.features_.transform(np.arange(env.n_states)[:, None])
    np.testing.assert_allclose(phi.T @ gap, -0.05 * est.coef_, atol=1e-7)
    assert d_pi.sum() == pytest.approx(mass)


# -- consistent regularisation: the penalty acts on the summed loss ------------------------
def _demo_fit_gap(n_demos, l2, seed=0, **kwargs):
    """Max visitation gap (visits per episode) and true return of a fit on the reasonable MDP."""
    env = reasonable_mdp(gamma=1.0)
    demos, _ = make_expert_demos(env, n_demos, random_state=seed)
    est = MaxEntIRL(l2=l2, initial_distribution="demos", **kwargs).fit(demos, env)
    mu0 = np.bincount([d.states[0] for d in demos], minlength=env.n_states) / n_demos
    d_E = empirical_occupancy(demos, env.n_states, env.n_actions, 1.0).sum(axis=1)
    d_pi = state_visitation(env, est.policy_, mu0)
    true_return = state_visitation(env, est.policy_) @ env.reward
    return np.abs(d_pi - d_E).max(), true_return, est


@pytest.mark.parametrize("seed", [0, 1])
def test_default_strength_matches_moments_with_500_demos(seed):
    """imitation's reasonable-MDP check at the default l2: visitation within 1e-2 of the
    demos' and true return >= 30.4 (the old per-step penalty gave 0.46 and 27.7)."""
    gap, true_return, est = _demo_fit_gap(500, MaxEntIRL().l2, seed=seed)
    assert est.n_steps_ == 500 * 20
    assert gap <= 1e-2
    assert true_return >= 30.4
    # exactly at l2 = 0
    gap0, _, _ = _demo_fit_gap(500, 0.0, seed=seed, tol=1e-9, max_iter=1000)
    assert gap0 <= 1e-7 * 20


def test_default_strength_gap_shrinks_with_more_demos():
    gaps = [np.mean([_demo_fit_gap(n, MaxEntIRL().l2, seed=seed)[0] for seed in range(3)])
            for n in (16, 64, 500)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 0.2 * gaps[0]


def test_penalty_is_divided_by_the_number_of_demo_steps():
    # l2 on N demos is the same per-step objective as l2 * 2 on twice as many copies.
    env = GridWorld(3, gamma=0.9)
    demos, _ = make_expert_demos(env, 6, horizon=8, random_state=0)
    a = MaxEntIRL(l2=1.0, tol=1e-9).fit(demos, env)
    b = MaxEntIRL(l2=2.0, tol=1e-9).fit(demos + demos, env)
    c = MaxEntIRL(l2=2.0, tol=1e-9).fit(demos, env, sample_weight=np.full(6, 2.0))
    assert a.n_steps_ == 48 and b.n_steps_ == c.n_steps_ == 96
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)
    np.testing.assert_allclose(c.coef_, b.coef_, atol=1e-6)


@pytest.mark.parametrize("make_env", [lambda: GridWorld(8, gamma=0.9),
                                      lambda: reasonable_mdp(gamma=1.0)])
def test_few_demos_at_the_default_stay_finite_without_warnings(make_env):
    env = make_env()
    for seed in range(3):
        demos, _ = make_expert_demos(env, 4, horizon=None if env.finite_horizon else 20,
                                     random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            est = MaxEntIRL(OneHotStates()).fit(demos, env)
        assert np.all(np.isfinite(est.coef_)) and np.abs(est.coef_).max() < 50
        assert est.history_["gap"][-1] > 0  # the prior keeps it off the sampled moments


def test_fit_occupancy_n_steps_sets_the_penalty():
    env = reasonable_mdp(gamma=1.0)
    d_E = state_visitation(env, SoftValueIteration().solve(env, env.reward))
    exact = MaxEntIRL(l2=5.0, tol=1e-8, max_iter=500).fit_occupancy(d_E, env)
    assert exact.n_steps_ == np.inf  # an exact occupancy: no penalty
    np.testing.assert_allclose(state_visitation(env, exact.policy_), d_E, atol=1e-5)
    small = MaxEntIRL(l2=5.0).fit_occupancy(d_E, env, n_steps=20)
    assert small.n_steps_ == 20
    assert np.linalg.norm(small.coef_) < np.linalg.norm(exact.coef_)
    with pytest.raises(ValueError, match="n_steps"):
        MaxEntIRL().fit_occupancy(d_E, env, n_steps=0)


def _normalised_demo_visitation(demos, env):
    masses = np.array([np.sum(env.gamma ** np.arange(len(t))) for t in demos])
    occ = empirical_occupancy(demos, env.n_states, env.n_actions, env.gamma,
                              sample_weight=1.0 / masses).sum(axis=1)
    return occ / occ.sum()


# -- the objective and its gradient --------------------------------------------------------
@pytest.mark.parametrize("horizon", [None, 5])
def test_gradient_matches_finite_differences(horizon):
    env = random_stochastic_mdp(1, horizon=horizon)
    rng = np.random.RandomState(0)
    phi = rng.randn(env.n_states, 3)
    d_E = rng.dirichlet(np.ones(env.n_states)) * 7.0
    dual = _MaxEntDual(env, d_E, env.initial_state_distribution, SoftValueIteration(tol=1e-13))
    est = MaxEntIRL(l2=0.3)
    est._history = {"loss": [], "gap": []}
    est._penalty = 0.3
    evaluate = est._linear_dual(dual, phi)
    w = rng.randn(3)
    _, grad, _ = evaluate(w)
    eps = 1e-6
    numeric = np.array([
        (evaluate(w + eps * e)[0] - evaluate(w - eps * e)[0]) / (2 * eps) for e in np.eye(3)
    ])
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_loss_is_per_step_negative_log_likelihood_in_deterministic_mdp():
    # Finite horizon, gamma = 1, deterministic: g(w) = mean per-step NLL of the demos.
    env = random_deterministic_mdp(4)
    demos, _ = make_expert_demos(env, 20, random_state=1)
    est = MaxEntIRL(OneHotStates(), l2=0.0, initial_distribution="demos", max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(demos, env)
    assert est.history_["loss"][-1] == pytest.approx(-est.score(demos), rel=1e-8)


# -- optimisers and options ------------------------------------------------------------
def test_lbfgs_and_gradient_optimizers_agree():
    env = GridWorld(3, gamma=0.8)
    demos, _ = make_expert_demos(env, 30, horizon=10, random_state=0)
    a = MaxEntIRL(l2=0.5, tol=1e-9).fit(demos, env)
    b = MaxEntIRL(l2=0.5, tol=1e-9, optimizer="gradient", learning_rate=1.0, max_iter=3000)
    b.fit(demos, env)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)
    assert b.n_iter_ > a.n_iter_


def test_l2_shrinks_coef():
    env = GridWorld(4, gamma=0.9)
    demos, _ = make_expert_demos(env, 30, horizon=10, random_state=0)
    norms = [np.linalg.norm(MaxEntIRL(l2=l2).fit(demos, env).coef_) for l2 in (1e-3, 1e-2, 1e-1)]
    assert norms[0] > norms[1] > norms[2] > 0


def test_warm_start_resumes():
    env = GridWorld(4, gamma=0.9)
    demos, _ = make_expert_demos(env, 30, horizon=10, random_state=0)
    full = MaxEntIRL(l2=3.0, tol=1e-8).fit(demos, env)
    est = MaxEntIRL(l2=3.0, tol=1e-8, max_iter=10, warm_start=True)
    with pytest.warns(ConvergenceWarning):
        est.fit(demos, env)
    first = est.coef_.copy()
    est.set_params(max_iter=200).fit(demos, env)
    np.testing.assert_allclose(est.coef_, full.coef_, atol=1e-5)
    assert est.n_iter_ < full.n_iter_
    assert not np.allclose(first, full.coef_, atol=1e-5)
    # a cold start ignores the previous fit
    cold = clone(est).set_params(warm_start=False).fit(demos, env)
    assert cold.n_iter_ == full.n_iter_


def test_infeasible_moments_without_l2_warns_and_stops():
    env = GridWorld(4, gamma=0.9)  # uniform start distribution, demos start in one corner
    demos = sample_trajectories(env, np.full((16, 4), 0.25), 5, horizon=3, random_state=0,
                                initial_states=np.zeros(5, dtype=int))
    with pytest.warns(ConvergenceWarning, match="attains"):
        est = MaxEntIRL(l2=0.0).fit(demos, env)
    assert np.all(np.isfinite(est.reward_))


def test_fitted_attributes_and_finite_horizon_policy():
    env = GridWorld(4, gamma=1.0, horizon=6)
    demos, _ = make_expert_demos(env, 20, random_state=0)
    est = MaxEntIRL().fit(demos, env)
    assert est.reward_.shape == (16, 4) and est.coef_.shape == (16,)
    assert est.policy_.probs.shape == (6, 16, 4)
    assert len(est.history_["loss"]) == len(est.history_["gap"]) >= est.n_iter_ > 0
    np.testing.assert_allclose(est.reward_[:, 0], est.predict_reward(np.arange(16))[:, 1])
    pickle.loads(pickle.dumps(est))


def test_score_prefers_expert_demos_and_transfers():
    env = GridWorld(5, gamma=0.9, slip=0.1)
    demos, _ = make_expert_demos(env, 60, horizon=12, random_state=0)
    rand = sample_trajectories(env, np.full((25, 4), 0.25), 60, horizon=12, random_state=1)
    est = MaxEntIRL().fit(demos[:40], env)
    assert est.score(demos[40:]) > est.score(rand) + 0.1
    assert est.score(demos[40:]) > np.log(0.25)
    other = GridWorld(5, gamma=0.9, slip=0.3)
    assert est.score(demos[40:], env=other) == pytest.approx(
        np.mean(est._transfer_policy(other).log_prob(
            np.concatenate([d.states[:-1] for d in demos[40:]]),
            np.concatenate([d.actions for d in demos[40:]]))))


def test_sparse_one_hot_features_large_grid():
    env = GridWorld(35, gamma=0.9)  # 1225 states: OneHotStates returns scipy.sparse
    demos, _ = make_expert_demos(env, 20, horizon=30, random_state=0)
    # demos start in 20 of the 1225 cells: match the visitation from their starts
    est = MaxEntIRL(max_iter=60, initial_distribution="demos").fit(demos, env)
    assert est.coef_.shape == (1225,)
    assert est.score(demos) > np.log(0.25)


def test_sample_weight_equals_repetition():
    env = GridWorld(3, gamma=0.9)
    demos, _ = make_expert_demos(env, 4, horizon=6, random_state=0)
    a = MaxEntIRL(tol=1e-8).fit(demos, env, sample_weight=[2, 1, 1, 1])
    b = MaxEntIRL(tol=1e-8).fit([demos[0]] + demos, env)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)


# -- neural reward -------------------------------------------------------------------------
def test_mlp_reward_learns():
    pytest.importorskip("torch")
    env = GridWorld(4, gamma=0.9)
    demos, _ = make_expert_demos(env, 40, horizon=10, random_state=0)
    from sklearn.preprocessing import StandardScaler

    est = MaxEntIRL(StandardScaler(), reward_model="mlp", hidden_layer_sizes=(16,), l2=0.0,
                    learning_rate=0.05, max_iter=80, random_state=0)
    strong = clone(est).set_params(l2=10.0 * 400)  # 10 per step over the 400 demo steps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(demos, env)
        again = clone(est).fit(demos, env)  # same seed, same network
        strong.fit(demos, env)
    gaps = est.history_["gap"]
    assert gaps[-1] < 0.3 * gaps[0]
    assert est.score(demos) > np.log(0.25) + 0.1
    assert not hasattr(est, "coef_")
    np.testing.assert_allclose(again.reward_, est.reward_)
    # l2 penalises the reward values: a strong penalty keeps them small
    assert np.ptp(strong.reward_) < 0.5 * np.ptp(est.reward_)
    pickle.loads(pickle.dumps(est))


# -- validation --------------------------------------------------------------------------
@pytest.mark.parametrize("params", [
    {"l2": -1.0}, {"optimizer": "adam"}, {"reward_model": "tree"}, {"max_iter": 0},
    {"tol": -1.0}, {"initial_distribution": "uniform"}, {"learning_rate": 0.0},
])
def test_bad_params_raise(params):
    env = GridWorld(3)
    demos, _ = make_expert_demos(env, 2, horizon=3, random_state=0)
    with pytest.raises(ValueError):
        MaxEntIRL(**params).fit(demos, env)


def test_bad_inputs_raise():
    env = GridWorld(3)
    with pytest.raises(ValueError, match="occupancy must have shape"):
        MaxEntIRL().fit_occupancy(np.ones(4), env)
    with pytest.raises(ValueError, match="non-negative"):
        MaxEntIRL().fit_occupancy(-np.ones(9), env)
    with pytest.raises(ValueError, match="outside"):
        MaxEntIRL().fit([([0, 9], [1])], env)
    pytest.importorskip("torch")
    demos, _ = make_expert_demos(env, 2, horizon=3, random_state=0)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        MaxEntIRL(reward_model="mlp", hidden_layer_sizes=(0,)).fit(demos, env)


# -- large-env machinery: warm-started Krylov solves, policy iteration, preconditioning --------
def test_occupancy_warm_start_matches_direct_solve():
    env = random_stochastic_mdp(2)
    rng = np.random.RandomState(0)
    probs = rng.dirichlet(np.ones(env.n_actions), size=env.n_states)
    direct = occupancy_measure(env, probs)
    guess = direct.sum(axis=1) * (1 + 0.1 * rng.rand(env.n_states))
    warm = occupancy_measure(env, probs, init_visitation=guess)
    np.testing.assert_allclose(warm, direct, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="init_visitation"):
        occupancy_measure(env, probs, init_visitation=np.ones(env.n_states + 1))


def test_policy_iteration_inner_solver_gives_the_same_fit():
    env = GridWorld(6, slip=0.1, gamma=0.95)
    demos, _ = make_expert_demos(env, 40, horizon=60, random_state=0)
    features = FunctionTransformer(lambda X: np.column_stack([X, X ** 2]) / 10.0)
    by_sweeps = MaxEntIRL(features, tol=1e-6).fit(demos, env)
    newton = SoftValueIteration(method="policy_iteration")
    by_newton = MaxEntIRL(features, tol=1e-6, solver=newton).fit(demos, env)
    assert by_newton.n_iter_ > 0
    np.testing.assert_allclose(by_newton.coef_, by_sweeps.coef_, atol=1e-5)


def test_preconditioner_scales_by_inverse_root_visitation():
    env = GridWorld(3, gamma=0.9)
    visitation = np.arange(1.0, 10.0)
    dual = max_ent_module._MaxEntDual(env, visitation * 10.0 / visitation.sum(),
                                      env.initial_state_distribution, SoftValueIteration())
    scale = max_ent_module._preconditioner(np.eye(9), dual, np.zeros(9), 0.0)
    np.testing.assert_allclose(scale, np.sqrt(1.0 / visitation))


def test_preconditioner_refresh_keeps_the_optimum(monkeypatch):
    env = GridWorld(4, gamma=0.9)
    demos, _ = make_expert_demos(env, 30, horizon=10, random_state=0)
    default = MaxEntIRL(l2=30.0, tol=1e-7).fit(demos, env)  # 0.1 per step over 300 steps
    monkeypatch.setattr(max_ent_module, "_RESCALE_EVERY", 3)
    refreshed = MaxEntIRL(l2=30.0, tol=1e-7).fit(demos, env)
    assert refreshed.n_iter_ > 3  # several preconditioned L-BFGS passes ran
    assert len(refreshed.history_["gap"]) == refreshed.n_iter_
    # strong convexity (l2): each is within ||grad||_2 / l2 <= 4e-6 of the optimum
    np.testing.assert_allclose(refreshed.coef_, default.coef_, atol=1e-5)


# -- moment matching in the discounted (maximum causal entropy) form, both optimizers --------
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("gamma", [0.9, 0.99])
def test_moment_matching_discounted_random_mdps(seed, gamma):
    """Infinite horizon, stochastic transitions, l2 = 0: the learned soft policy's discounted
    state visitation equals the (soft-optimal) expert's to optimiser tolerance."""
    env = random_stochastic_mdp(seed, gamma=gamma)
    d_E = state_visitation(env, SoftValueIteration().solve(env, env.reward))
    est = MaxEntIRL(l2=0.0, tol=1e-7, max_iter=500).fit_occupancy(d_E, env)
    assert est.history_["gap"][-1] <= 1e-7
    np.testing.assert_allclose(state_visitation(env, est.policy_), d_E, atol=1e-7 / (1 - gamma))


def test_gradient_optimizer_moment_matching_reasonable_mdp():
    """The lecture's fixed-step update w <- w + lr (rho_E - rho_pi) / M also matches moments
    (one-hot features on imitation's 5-state MDP; the gradient is the visitation gap over the
    mass H = 20, hence the large step)."""
    env = reasonable_mdp(gamma=1.0)
    d_E = state_visitation(env, SoftValueIteration().solve(env, env.reward))
    est = MaxEntIRL(l2=0.0, optimizer="gradient", learning_rate=1000.0, tol=1e-6,
                    max_iter=5000).fit_occupancy(d_E, env)
    assert est.n_iter_ < 5000 and est.history_["gap"][-1] <= 1e-6
    np.testing.assert_allclose(state_visitation(env, est.policy_), d_E, atol=1e-6 * env.horizon)


def test_gamma_close_to_one_solves_the_inner_problem_by_newton_steps():
    """At gamma >= 0.995 the soft Bellman sweeps would need ~1 / (1 - gamma) iterations per
    decade of tolerance; the dual switches to soft policy iteration at any size."""
    env = GridWorld(4, slip=0.1, gamma=0.999)
    assert _MaxEntDual(env, np.ones(16), env.initial_state_distribution,
                       SoftValueIteration()).method == (
        "policy_iteration")
    assert _MaxEntDual(GridWorld(4, gamma=0.9), np.ones(16), np.full(16, 1 / 16),
                       SoftValueIteration()).method == "value_iteration"
    demos, _ = make_expert_demos(env, 10, horizon=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the inner solves converge
        warnings.filterwarnings("ignore", message="MaxEntIRL: no policy")
        est = MaxEntIRL(l2=3.0, max_iter=30).fit(demos, env)
    assert np.all(np.isfinite(est.reward_))


def test_huge_feature_scales_stay_finite():
    """Features of scale 1e8 drive rewards to ~1e17: the soft policy is normalised by each
    row's own log-sum-exp, so the fit stays finite (with a warning to standardise)."""
    env = GridWorld(3, gamma=0.9)
    demos, _ = make_expert_demos(env, 6, horizon=6, random_state=0)
    feats = FunctionTransformer(lambda X: 1e8 * OneHotStates().fit_transform(X))
    with pytest.warns(ConvergenceWarning, match="standardise the reward features"):
        est = MaxEntIRL(feats, max_iter=100).fit(demos, env)
    assert np.all(np.isfinite(est.policy_.probs))
    np.testing.assert_allclose(est.policy_.probs.sum(axis=1), 1.0)
    assert np.isfinite(est.score(demos))


def test_mlp_stops_on_the_penalised_gradient():
    """With l2 > 0 the visitation gap never reaches 0; the MLP stops when the gradient of the
    penalised loss in the rewards does, well before max_iter."""
    pytest.importorskip("torch")
    env = GridWorld(3, gamma=0.9)
    demos, _ = make_expert_demos(env, 20, horizon=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = MaxEntIRL(reward_model="mlp", l2=1.0, hidden_layer_sizes=(16,), max_iter=1500,
                        random_state=0).fit(demos, env)
    assert est.n_iter_ < 1500
    assert est.history_["gap"][-1] > 1e-3  # the regularised optimum does not match moments


def test_mlp_weight_decay_runs_its_budget_and_pickles():
    """weight_decay > 0 trains with AdamW for exactly max_iter steps (no stationary point to
    stop at, so no warning); the decay survives pickling; it shrinks the network's weights."""
    torch = pytest.importorskip("torch")
    env = GridWorld(3, gamma=0.9)
    demos, _ = make_expert_demos(env, 20, horizon=20, random_state=0)
    kwargs = dict(reward_model="mlp", hidden_layer_sizes=(16,), max_iter=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        decayed = MaxEntIRL(weight_decay=1.0, **kwargs).fit(demos, env)
    with pytest.warns(ConvergenceWarning):  # without decay the tol criterion applies
        plain = MaxEntIRL(**kwargs).fit(demos, env)
    assert decayed.n_iter_ == 40 and len(decayed.history_["loss"]) == 40
    net = decayed.reward_net_
    assert isinstance(net.optimizer, torch.optim.AdamW)
    assert net.optimizer.param_groups[0]["weight_decay"] == 1.0

    def weight_norm(est):
        return sum(float((p.detach() ** 2).sum()) for p in est.reward_net_.module.parameters())

    assert weight_norm(decayed) < weight_norm(plain)
    again = pickle.loads(pickle.dumps(decayed))
    assert isinstance(again.reward_net_.optimizer, torch.optim.AdamW)
    assert again.reward_net_.optimizer.param_groups[0]["weight_decay"] == 1.0
    np.testing.assert_array_equal(again.reward_, decayed.reward_)
    np.testing.assert_array_equal(again.transfer_reward(env), decayed.transfer_reward(env))


@pytest.mark.parametrize("make_env", [lambda: reasonable_mdp(gamma=1.0),
                                      lambda: random_stochastic_mdp(0, gamma=0.9)])
def test_gradient_optimizer_default_step_adapts(make_env):
    """learning_rate=None backtracks on the convex dual: moment matching in ~100 iterations
    where the fixed step 1.0 needs thousands (5-state MDP: not within 5000)."""
    env = make_env()
    d_E = state_visitation(env, SoftValueIteration().solve(env, env.reward))
    est = MaxEntIRL(l2=0.0, optimizer="gradient", tol=1e-6, max_iter=500).fit_occupancy(d_E, env)
    assert est.n_iter_ < 500 and est.history_["gap"][-1] <= 1e-6
    assert np.all(np.diff(est.history_["loss"]) <= 1e-12)  # every accepted step descends
    mass = d_E.sum()
    np.testing.assert_allclose(state_visitation(env, est.policy_), d_E, atol=1e-6 * mass)


# -- reward uncertainty: the Laplace approximation at the optimum ---------------------------
def _random_linear_mdp(seed, S=10, A=3, k=3, horizon=10, l2=1.0, stochastic=True):
    rng = np.random.RandomState(seed)
    if stochastic:
        P = rng.dirichlet(np.full(S, 0.5), size=(S, A))
    else:
        P = np.zeros((S, A, S))
        P[np.arange(S)[:, None], np.arange(A)[None], rng.randint(S, size=(S, A))] = 1.0
    phi = rng.randn(S, k)
    w = rng.randn(k) / np.sqrt(l2)  # the true weights are a draw from the prior
    return TabularMDP(P, gamma=1.0, horizon=horizon, state_features=phi, reward=phi @ w)


@pytest.mark.parametrize("stochastic", [True, False])
def test_laplace_90_percent_intervals_are_calibrated(stochastic):
    """30 random linear-reward MDPs, a temperature-1 soft-optimal expert, 20 demos: the 90%
    intervals from return_std cover the true state rewards 80-98% of the time (measured:
    0.94 stochastic, 0.94 deterministic)."""
    hits = []
    for seed in range(30):
        env = _random_linear_mdp(seed, stochastic=stochastic)
        demos, _ = make_expert_demos(env, 20, random_state=seed)
        est = MaxEntIRL(FunctionTransformer(), l2=1.0, tol=1e-8).fit(demos, env)
        states = np.arange(env.n_states)
        mean, std = est.predict_reward(states, np.zeros_like(states), return_std=True)
        hits.append(np.abs(mean - env.reward) <= 1.6449 * std)
    assert 0.80 <= np.mean(hits) <= 0.98


def test_return_std_shapes_and_sample_rewards_match_the_covariance():
    env = _random_linear_mdp(0)
    demos, _ = make_expert_demos(env, 20, random_state=0)
    est = MaxEntIRL(FunctionTransformer(), l2=1.0, tol=1e-8).fit(demos, env)
    cov = est.coef_cov_
    assert cov.shape == (3, 3)
    np.testing.assert_allclose(cov, cov.T)
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    phi = env.state_features
    mean, std = est.predict_reward(np.arange(10), return_std=True)
    assert mean.shape == std.shape == (10, 3)
    np.testing.assert_allclose(std[:, 0], np.sqrt(np.einsum("sk,kl,sl->s", phi, cov, phi)))
    np.testing.assert_allclose(mean, est.predict_reward(np.arange(10)))
    _, std_a = est.predict_reward([1, 2], [0, 2], return_std=True)
    np.testing.assert_allclose(std_a, std[[1, 2], 0])
    samples = est.sample_rewards(4000, random_state=0)
    assert samples.shape == (4000, 10, 3)
    np.testing.assert_array_equal(samples, est.sample_rewards(4000, random_state=0))
    np.testing.assert_allclose(samples[:, :, 0].mean(axis=0), est.reward_[:, 0],
                               atol=4 * std[:, 0].max() / np.sqrt(4000))
    np.testing.assert_allclose(samples[:, :, 0].std(axis=0), std[:, 0], rtol=0.06)


def test_laplace_covariance_shrinks_like_one_over_n():
    # repeating every demo 4 times (sample_weight=4) divides the covariance by about 4
    env = _random_linear_mdp(1, stochastic=False)
    demos, _ = make_expert_demos(env, 20, random_state=1)
    one = MaxEntIRL(FunctionTransformer(), l2=1e-6, tol=1e-9).fit(demos, env)
    four = MaxEntIRL(FunctionTransformer(), l2=4e-6, tol=1e-9).fit(
        demos, env, sample_weight=np.full(20, 4.0))
    np.testing.assert_allclose(four.coef_, one.coef_, atol=1e-5)
    np.testing.assert_allclose(four.coef_cov_, one.coef_cov_ / 4, rtol=1e-3, atol=1e-9)


def test_fit_occupancy_covariance_is_the_inverse_precision():
    env = _random_linear_mdp(2, stochastic=False)
    d_E = state_visitation(env, SoftValueIteration().solve(env, env.reward))
    exact = MaxEntIRL(FunctionTransformer(), l2=1.0, tol=1e-9).fit_occupancy(d_E, env)
    np.testing.assert_array_equal(exact.coef_cov_, np.zeros((3, 3)))  # infinite data
    est = MaxEntIRL(FunctionTransformer(), l2=1.0, tol=1e-9).fit_occupancy(d_E, env,
                                                                           n_steps=200)
    # the precision n H + l2 I with H the Hessian of the per-step dual (finite differences
    # of the loss itself, independent of the gradient-based Hessian)
    dual = _MaxEntDual(env, d_E * 10 / d_E.sum(), env.initial_state_distribution,
                       SoftValueIteration(tol=1e-13))
    phi = env.state_features

    def loss(w):
        return dual(phi @ w)[0]

    h, w0, k = 1e-3, est.coef_, 3
    H = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = h * np.eye(k)[i], h * np.eye(k)[j]
            H[i, j] = (loss(w0 + ei + ej) - loss(w0 + ei - ej) - loss(w0 - ei + ej)
                       + loss(w0 - ei - ej)) / (4 * h * h)
    np.testing.assert_allclose(np.linalg.inv(est.coef_cov_), 200 * H + np.eye(3), rtol=1e-4)


def test_return_std_on_the_mlp_reward_says_it_is_not_available():
    pytest.importorskip("torch")
    env = GridWorld(3, gamma=0.9)
    demos, _ = make_expert_demos(env, 5, horizon=6, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MaxEntIRL(reward_model="mlp", max_iter=3, random_state=0).fit(demos, env)
    with pytest.raises(ValueError, match="return_std=True needs reward_model='linear'"):
        est.predict_reward([0], return_std=True)
    assert not hasattr(est, "coef_cov_")
    with pytest.raises(AttributeError, match="reward_model='linear'"):
        est.sample_rewards(2)
