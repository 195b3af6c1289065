"""BayesianIRL: the sampled posterior against exact integration, concentration, calibration."""

import pickle
import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import FunctionTransformer

from sklirl import BayesianIRL
from sklirl.datasets import make_expert_demos
from sklirl.demos import check_demos
from sklirl.envs import GridWorld, TabularMDP
from sklirl.irl._bayesian import _action_counts, _BoltzmannLikelihood, effective_sample_size
from sklirl.metrics import log_likelihood
from sklirl.solvers import SoftValueIteration, soft_value_iteration


def _identity_features():
    """The env's state descriptors are the reward features."""
    return FunctionTransformer()


def _two_state_env(gamma=0.5):
    # action 0 stays, action 1 switches; r_w = (w, -w)
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[1, 0, 1] = P[0, 1, 1] = P[1, 1, 0] = 1.0
    return TabularMDP(P, gamma=gamma, state_features=np.array([[1.0], [-1.0]]))


def _random_problem(seed, n_states=6, n_actions=3, n_features=2, n_demos=10, gamma=0.5):
    """A random MDP with a linear reward w ~ N(0, I) and a soft-optimal (temperature 1) expert."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(n_states, 0.3), size=(n_states, n_actions))
    phi = rng.normal(size=(n_states, n_features))
    w = rng.normal(size=n_features)
    env = TabularMDP(P, gamma=gamma, state_features=phi, reward=phi @ w)
    demos, _ = make_expert_demos(env, n_demos, horizon=10, random_state=seed)
    return env, demos, w


# -- the likelihood ----------------------------------------------------------------------------
@pytest.mark.parametrize("horizon", [None, 4])
@pytest.mark.parametrize("alpha", [1.0, 2.5])
def test_likelihood_is_the_log_likelihood_of_the_boltzmann_policy(horizon, alpha):
    # sum_t log pi(a_t | s_t) of the soft-optimal policy at temperature 1 / alpha, computed
    # independently by the package's metric (time-indexed steps for finite horizons)
    env = GridWorld(3, gamma=0.8, horizon=horizon)
    demos = check_demos(make_expert_demos(env, 5, horizon=4, random_state=0)[0])
    reward = np.random.default_rng(0).normal(size=env.n_states)
    likelihood = _BoltzmannLikelihood(env, _action_counts(demos, env, np.ones(5)), alpha)
    value, _, _ = likelihood(reward)
    policy = SoftValueIteration(temperature=1.0 / alpha).solve(env, reward)
    n_steps = sum(len(t) for t in demos)
    np.testing.assert_allclose(value, n_steps * log_likelihood(policy, demos), rtol=1e-7)


# -- the posterior -----------------------------------------------------------------------------
@pytest.mark.parametrize("prior", ["gaussian", "laplace"])
def test_posterior_matches_exact_integration_on_two_states(prior):
    # One weight: the posterior density is computed on a grid by exact soft value iteration
    # and integrated numerically; the chain's mean, spread and quantiles agree within MCMC
    # error.
    env = _two_state_env()
    demos = [([0, 0, 0, 1, 0], [0, 0, 1, 1]), ([1, 0, 1], [1, 1])]
    counts = np.array([[2.0, 2.0], [0.0, 2.0]])  # N(s, a): stay/switch in states 0 and 1
    grid = np.linspace(-6, 6, 801)
    log_post = []
    for w in grid:
        Q, _, _ = soft_value_iteration(env, np.array([w, -w]), tol=1e-12)
        log_pi = Q - np.logaddexp(Q[:, :1], Q[:, 1:])
        log_prior = -0.5 * w * w if prior == "gaussian" else -abs(w)
        log_post.append(np.sum(counts * log_pi) + log_prior)
    density = np.exp(np.array(log_post) - max(log_post))
    density /= np.trapezoid(density, grid)
    mean = np.trapezoid(grid * density, grid)
    sd = np.sqrt(np.trapezoid((grid - mean) ** 2 * density, grid))
    cdf = np.cumsum(density) * (grid[1] - grid[0])

    est = BayesianIRL(_identity_features(), prior=prior, n_samples=2000, burn_in=300,
                      random_state=0).fit(demos, env)
    x = est.coef_samples_[:, 0]
    ess = est.effective_sample_size_[0]
    assert ess > 200
    assert abs(x.mean() - mean) < 4 * sd / np.sqrt(ess)
    assert abs(x.std() - sd) < 0.1 * sd
    for q in (0.1, 0.5, 0.9):
        assert abs(np.mean(x <= grid[np.searchsorted(cdf, q)]) - q) < 0.05
    # the summaries are the samples'
    np.testing.assert_allclose(est.coef_, x.mean())
    np.testing.assert_allclose(est.reward_[:, 0], [x.mean(), -x.mean()])
    np.testing.assert_allclose(est.reward_std_[:, 1], [x.std(), x.std()])


def test_posterior_concentrates_on_the_true_reward_as_demos_grow():
    env, _, w_true = _random_problem(3, n_features=2)
    errors, spreads = [], []
    for n_demos in (2, 20, 200):
        demos, _ = make_expert_demos(env, n_demos, horizon=10, random_state=1)
        est = BayesianIRL(_identity_features(), n_samples=800, burn_in=400,
                          random_state=0).fit(demos, env)
        errors.append(np.linalg.norm(est.coef_ - w_true))
        spreads.append(np.linalg.norm(est.coef_samples_.std(axis=0)))
        # the truth is inside the posterior's bulk at every size
        z = np.abs(est.coef_ - w_true) / est.coef_samples_.std(axis=0)
        assert np.all(z < 3.5), (n_demos, z)
    assert spreads[0] > 2 * spreads[1] > 4 * spreads[2], spreads
    assert errors[2] < errors[0] and errors[2] < 0.15, errors
    cosine = est.coef_ @ w_true / np.linalg.norm(est.coef_) / np.linalg.norm(w_true)
    assert cosine > 0.99


def test_credible_intervals_are_calibrated():
    # True weights drawn from the prior and a temperature-1 soft-optimal expert (the model is
    # well specified): 90% credible intervals of the state rewards cover the truth about 90%
    # of the time. benchmarks/bench_bayesian.py runs the same over 40 MDPs.
    covered = []
    for seed in range(8):
        env, demos, w = _random_problem(seed)
        est = BayesianIRL(_identity_features(), n_samples=600, burn_in=300,
                          random_state=seed).fit(demos, env)
        lo, hi = np.quantile(est.reward_samples_[:, :, 0], [0.05, 0.95], axis=0)
        truth = env.state_features @ w
        covered.extend((lo <= truth) & (truth <= hi))
    assert 0.8 <= np.mean(covered) <= 0.98, np.mean(covered)


# -- diagnostics ---------------------------------------------------------------------------------
def test_effective_sample_size_of_known_chains():
    rng = np.random.default_rng(0)
    n = 20_000
    iid = rng.normal(size=(n, 1))
    rho = 0.9  # AR(1): ESS = n (1 - rho) / (1 + rho)
    ar = np.empty((n, 1))
    ar[0] = rng.normal()
    for t in range(1, n):
        ar[t] = rho * ar[t - 1] + np.sqrt(1 - rho**2) * rng.normal()
    ess = effective_sample_size(np.hstack([iid, ar, np.ones((n, 1))]))
    assert 0.9 * n < ess[0] < 1.1 * n
    assert abs(ess[1] / (n * (1 - rho) / (1 + rho)) - 1) < 0.2
    assert ess[2] == 1.0  # a weight that never moves


def test_history_and_diagnostics():
    env, demos, _ = _random_problem(0)
    est = BayesianIRL(_identity_features(), n_samples=100, burn_in=150, thin=2,
                      random_state=0).fit(demos, env)
    assert est.n_iter_ == 150 + 100 * 2
    assert est.coef_samples_.shape == (100, 2)
    assert {len(v) for v in est.history_.values()} == {est.n_iter_}
    assert est.history_["accepted"].dtype == bool
    np.testing.assert_allclose(est.acceptance_rate_, est.history_["accepted"][150:].mean())
    assert 0.1 < est.acceptance_rate_ < 0.7  # the burn-in adapted the step toward 0.35
    assert np.all(np.diff(est.history_["time"]) >= 0)
    assert est.effective_sample_size_.shape == (2,)
    assert np.all(est.effective_sample_size_ >= 1)
    # the kept samples are every second state of the chain after burn-in
    kept = est.history_["log_posterior"][150 + 1::2]
    assert kept.shape == (100,)


def test_max_iter_stops_the_chain_early_with_a_warning():
    env, demos, _ = _random_problem(0)
    with pytest.warns(ConvergenceWarning, match="with 30 of the n_samples=100 posterior samples"):
        est = BayesianIRL(_identity_features(), n_samples=100, burn_in=20, max_iter=50,
                          random_state=0).fit(demos, env)
    assert est.n_iter_ == 50 and est.coef_samples_.shape == (30, 2)


def test_same_seed_same_chain_and_pickle_round_trip():
    env, demos, _ = _random_problem(1)
    est = BayesianIRL(_identity_features(), n_samples=50, burn_in=50, random_state=3)
    a = est.fit(demos, env).coef_samples_.copy()
    np.testing.assert_array_equal(clone(est).fit(demos, env).coef_samples_, a)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.reward_samples_, est.reward_samples_)
    assert restored.predict_reward([0, 1], return_std=True)[1].shape == (2, env.n_actions)


# -- uncertainty API (as MaxEntIRL's Laplace approximation) ------------------------------------
def test_return_std_and_sample_rewards_come_from_the_samples():
    env, demos, _ = _random_problem(2)
    est = BayesianIRL(_identity_features(), n_samples=200, burn_in=100,
                      random_state=0).fit(demos, env)
    samples = est.reward_samples_
    assert samples.shape == (200, env.n_states, env.n_actions)
    states, actions = np.array([0, 3, 5]), np.array([2, 0, 1])
    mean, std = est.predict_reward(states, return_std=True)
    np.testing.assert_allclose(mean, samples.mean(axis=0)[states])
    np.testing.assert_allclose(std, samples.std(axis=0)[states])
    mean_sa, std_sa = est.predict_reward(states, actions, return_std=True)
    np.testing.assert_allclose(mean_sa, mean[np.arange(3), actions])
    np.testing.assert_allclose(std_sa, std[np.arange(3), actions])
    np.testing.assert_array_equal(est.predict_reward(states), mean)  # no std by default
    draws = est.sample_rewards(5, random_state=0)
    assert draws.shape == (5, env.n_states, env.n_actions)
    np.testing.assert_array_equal(draws, est.sample_rewards(5, random_state=0))
    for table in draws:  # each draw is one of the stored posterior samples
        assert np.any(np.all(np.isclose(samples, table), axis=(1, 2)))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_sample_rewards_rejects_bad_counts(bad):
    env, demos, _ = _random_problem(2)
    est = BayesianIRL(_identity_features(), n_samples=5, burn_in=5).fit(demos, env)
    with pytest.raises(ValueError, match=re.escape(f"n_samples must be a positive integer, got "
                                                   f"{bad!r}")):
        est.sample_rewards(bad)


def test_return_std_validates_actions():
    env, demos, _ = _random_problem(2)
    est = BayesianIRL(_identity_features(), n_samples=5, burn_in=5).fit(demos, env)
    with pytest.raises(ValueError, match="outside"):
        est.predict_reward([0], actions=[7], return_std=True)


def test_sample_weight_scale_does_not_matter():
    # weights reweight the evidence, their sum is rescaled to the number of trajectories
    env, demos, _ = _random_problem(4)
    weights = np.linspace(0.5, 2.0, len(demos))
    est = BayesianIRL(_identity_features(), n_samples=50, burn_in=50, random_state=0)
    a = clone(est).fit(demos, env, sample_weight=weights).coef_samples_
    b = clone(est).fit(demos, env, sample_weight=4.0 * weights).coef_samples_
    np.testing.assert_allclose(a, b, rtol=1e-10)


def test_grid_search_selects_prior_scale_by_held_out_likelihood():
    env = GridWorld(3, gamma=0.9)
    demos, _ = make_expert_demos(env, 12, horizon=8, random_state=0)
    search = GridSearchCV(BayesianIRL(n_samples=40, burn_in=40, random_state=0),
                          {"prior_scale": [0.1, 1.0]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search.fit(demos, env=env)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_params_["prior_scale"] == 1.0  # a 0.1 prior cannot express the goal


def test_finite_horizon_fit_with_progress_lines(capsys):
    env = GridWorld(3, gamma=1.0, horizon=6)
    demos, _ = make_expert_demos(env, 10, random_state=0)
    est = BayesianIRL(n_samples=100, burn_in=100, random_state=0, verbose=1).fit(demos, env)
    lines = capsys.readouterr().err.splitlines()  # a log (not a terminal): a line per tenth
    assert len(lines) == 10
    assert lines[-1].startswith("[BayesianIRL] iter 10/10 iteration 200 (sampling): log posterior")
    assert est.policy_.horizon == 6
    assert est.score(demos) > np.log(1 / 4)  # better than the uniform policy


def test_scores_on_another_env_by_replanning_the_posterior_mean():
    env, demos, w = _random_problem(5)
    est = BayesianIRL(_identity_features(), n_samples=200, burn_in=200,
                      random_state=0).fit(demos, env)
    other, other_demos, _ = _random_problem(6)
    other = TabularMDP(other.to_dense(), gamma=other.gamma, state_features=other.state_features,
                       reward=other.state_features @ w)  # the same reward weights
    other_demos, _ = make_expert_demos(other, 10, horizon=10, random_state=0)
    expected = SoftValueIteration().solve(other, other.state_features @ est.coef_)
    np.testing.assert_allclose(est.score(other_demos, other),
                               log_likelihood(expected, other_demos))


@pytest.mark.parametrize("burn_in, thin, max_iter", [(50, 1, 50), (10, 5, 14), (0, 3, 2)])
def test_a_budget_without_samples_is_an_error(burn_in, thin, max_iter):
    env, demos, _ = _random_problem(0)
    est = BayesianIRL(burn_in=burn_in, thin=thin, max_iter=max_iter)
    with pytest.raises(ValueError, match=re.escape(
            f"burn_in={burn_in} leaves no samples within the iteration budget "
            f"max_iter={max_iter}: max_iter must be at least burn_in + thin")):
        est.fit(demos, env)
    assert not hasattr(est, "coef_")


def test_interrupt_keeps_the_samples_drawn(monkeypatch):
    import sklirl.irl._bayesian as bayesian_module

    env, demos, _ = _random_problem(0)
    original = bayesian_module.soft_value_iteration
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1 + 30 + 12:  # the start, 30 burn-in iterations, 12 sampling ones
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(bayesian_module, "soft_value_iteration", interrupted)
    est = BayesianIRL(_identity_features(), n_samples=100, burn_in=30, thin=4, random_state=0)
    with pytest.warns(UserWarning, match=r"interrupted; .*last complete iteration \(n_iter_=42\)"):
        with pytest.raises(KeyboardInterrupt):
            est.fit(demos, env)
    # the 3 samples kept (iterations 34, 38, 42), a consistent posterior summary of them
    assert est.n_iter_ == 42 and est.coef_samples_.shape == (3, 2)
    assert {len(v) for v in est.history_.values()} == {42}
    np.testing.assert_allclose(est.coef_, est.coef_samples_.mean(axis=0))
    assert np.isfinite(est.score(demos))
