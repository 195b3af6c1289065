"""BehavioralCloning: closed-form tabular cloning, estimator policies, gymnasium control."""

import pickle
import re
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neighbors import KNeighborsRegressor
from sklearn.svm import LinearSVC

from sklirl import BehavioralCloning, Trajectory
from sklirl.datasets import make_expert_demos, sample_trajectories
from sklirl.envs import GridWorld, TabularMDP
from sklirl.solvers import TabularPolicy

gymnasium = pytest.importorskip("gymnasium")
pytest.importorskip("torch")


# ---------------------------------------------------------------------------------------------
# experts
# ---------------------------------------------------------------------------------------------
def cartpole_expert(obs):
    """Balances CartPole-v1 for all 500 steps from every start."""
    return int(obs[2] + 0.5 * obs[3] > 0)


def pendulum_expert(obs):
    """Energy-shaping swing-up, then PD balance (Pendulum-v1 return about -140; random -1250)."""
    c, s, w = obs
    if c > 0.8:
        u = -(12.0 * np.arctan2(s, c) + 2.5 * w)
    else:
        # d/dt (w^2 / 2 + 15 cos th) = 3 u w: pump energy towards that of the upright rest
        u = (15.0 - (0.5 * w**2 + 15.0 * c)) * (1.0 if w >= 0 else -1.0)
    return np.clip([u], -2.0, 2.0).astype(np.float32)


def record(env_id, policy, n, seed):
    env = gymnasium.make(env_id)
    demos, returns = [], []
    for i in range(n):
        obs, _ = env.reset(seed=seed + i)
        states, actions, total = [obs], [], 0.0
        while True:
            action = policy(obs)
            obs, reward, terminated, truncated, _ = env.step(action)
            states.append(obs)
            actions.append(action)
            total += reward
            if terminated or truncated:
                break
        demos.append(Trajectory(np.array(states), np.array(actions)))
        returns.append(total)
    return demos, np.array(returns)


# ---------------------------------------------------------------------------------------------
# tabular: smoothed empirical frequencies
# ---------------------------------------------------------------------------------------------
def _counts(demos, S, A, weights=None):
    counts = np.zeros((S, A))
    for i, traj in enumerate(demos):
        w = 1.0 if weights is None else weights[i]
        np.add.at(counts, (traj.states[: len(traj)], traj.actions), w)
    return counts


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 3.0])
def test_tabular_policy_is_the_smoothed_frequency_formula(alpha):
    env = GridWorld(4, gamma=0.9)
    demos, _ = make_expert_demos(env, 4, horizon=5, random_state=1)
    bc = BehavioralCloning(alpha=alpha).fit(demos, env)
    N = _counts(demos, env.n_states, env.n_actions)
    visited = N.sum(1) > 0
    assert not visited.all()  # some states unseen: the prior decides there
    expected = np.full_like(N, 1.0 / env.n_actions)
    denom = N.sum(1, keepdims=True) + env.n_actions * alpha
    expected[denom[:, 0] > 0] = ((N + alpha) / np.where(denom > 0, denom, 1))[denom[:, 0] > 0]
    np.testing.assert_allclose(bc.policy_.probs, expected, rtol=1e-12, atol=1e-15)
    # history_: the mean negative log-likelihood of the training steps
    log_p = np.log(expected, where=N > 0, out=np.zeros_like(expected))
    assert bc.history_["loss"][0] == pytest.approx(-(N * log_p).sum() / N.sum(), rel=1e-12)
    assert bc.score(demos) == pytest.approx(-bc.history_["loss"][0], rel=1e-12)
    assert bc.n_iter_ == 1 and not hasattr(bc, "reward_")
    assert not hasattr(bc, "predict_reward")  # cloning learns no reward


def test_tabular_sample_weight_is_a_relative_count():
    env = GridWorld(3, gamma=0.9)
    demos, _ = make_expert_demos(env, 4, horizon=6, random_state=2)
    weights = np.array([3.0, 1.0, 0.0, 2.0])
    bc = BehavioralCloning(alpha=0.5).fit(demos, env, sample_weight=weights)
    # weights are rescaled to mean 1 (unit weights are no weights)
    N = _counts(demos, env.n_states, env.n_actions, weights * len(weights) / weights.sum())
    denom = N.sum(1, keepdims=True) + 0.5 * env.n_actions
    np.testing.assert_allclose(bc.policy_.probs, (N + 0.5) / denom, rtol=1e-12)
    # without smoothing, weight 2 is the demo twice
    twice = BehavioralCloning(alpha=0.0).fit([demos[0], *demos], env)
    weighted = BehavioralCloning(alpha=0.0).fit(demos, env, sample_weight=[2, 1, 1, 1])
    np.testing.assert_allclose(weighted.policy_.probs, twice.policy_.probs, rtol=1e-12)


def test_tabular_bc_recovers_the_true_policy_with_many_demos():
    # A random stochastic policy on a random MDP: the cloned frequencies converge to it at
    # the binomial rate, the smoothing bias alpha (1 - A p) / (N + A alpha) vanishing with N.
    rng = np.random.RandomState(0)
    S, A = 6, 3
    P = rng.dirichlet(np.ones(S), size=(S, A))
    env = TabularMDP(P, gamma=0.9)
    true = rng.dirichlet(np.ones(A), size=S)
    errors = []
    for n in (20, 2000):
        demos = sample_trajectories(env, true, n, horizon=20, random_state=1)
        bc = BehavioralCloning(alpha=1.0).fit(demos, env)
        N = _counts(demos, S, A).sum(1, keepdims=True)
        sd = np.sqrt(true * (1 - true) / N) + (1 + A) / (N + A)
        assert np.all(np.abs(bc.policy_.probs - true) <= 5 * sd)
        errors.append(np.abs(bc.policy_.probs - true).max())
    assert errors[1] < 0.02 < errors[0]


def test_classifier_on_state_features_transfers_to_a_new_grid():
    env = GridWorld(4, gamma=0.9)
    demos, _ = make_expert_demos(env, 30, horizon=8, temperature=0.05, random_state=0)
    bc = BehavioralCloning(LogisticRegression(C=10.0)).fit(demos, env)
    assert isinstance(bc.policy_, TabularPolicy)
    np.testing.assert_allclose(bc.predict_proba(np.arange(16)).sum(1), 1.0)
    # the (row, col) features generalise: a larger grid gets a policy of its own
    bigger = GridWorld(6, gamma=0.9)
    big_demos, _ = make_expert_demos(bigger, 5, horizon=10, temperature=0.05, random_state=1)
    assert bc.score(big_demos, bigger) > np.log(0.25)
    counts = BehavioralCloning().fit(demos, env)
    with pytest.raises(ValueError, match="cover 16 states; this env has 36"):
        counts.score(big_demos, bigger)


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
def test_estimator_kind_must_match_the_action_space():
    cart, pend = gymnasium.make("CartPole-v1"), gymnasium.make("Pendulum-v1")
    cart_demos, _ = record("CartPole-v1", cartpole_expert, 1, 0)
    pend_demos, _ = record("Pendulum-v1", pendulum_expert, 1, 0)
    with pytest.raises(ValueError, match=r"LogisticRegression is a classifier, but the actions "
                                         r"are continuous \(Box"):
        BehavioralCloning(LogisticRegression()).fit(pend_demos, pend)
    with pytest.raises(ValueError, match=r"LinearRegression is a regressor, but the actions are "
                                         r"Discrete \(Discrete\(2\)\)"):
        BehavioralCloning(LinearRegression()).fit(cart_demos, cart)
    env = GridWorld(2)
    with pytest.raises(ValueError, match="is a regressor, but the actions are Discrete"):
        BehavioralCloning(LinearRegression()).fit([([0, 1], [1])], env)
    with pytest.raises(ValueError, match="LinearSVC has no predict_proba"):
        BehavioralCloning(LinearSVC()).fit(cart_demos, cart)
    with pytest.raises(TypeError, match="requires an environment when estimator=None"):
        BehavioralCloning().fit(cart_demos)
    with pytest.raises(ValueError, match="takes no sample_weight"):
        from sklearn.neighbors import KNeighborsClassifier
        BehavioralCloning(KNeighborsClassifier()).fit(cart_demos, cart, sample_weight=[1.0])


def test_box_actions_outside_the_bounds_warn_with_trajectory_and_step():
    env = gymnasium.make("Pendulum-v1")
    demos, _ = record("Pendulum-v1", pendulum_expert, 2, 0)
    actions = np.array(demos[1].actions)
    actions[3] = 2.5
    bad = [demos[0], Trajectory(demos[1].states, actions)]
    with pytest.warns(UserWarning, match=re.escape("trajectory 1, step 3: action [2.5] lies "
                                                   "outside the action space's bounds")):
        BehavioralCloning(LinearRegression()).fit(bad, env)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BehavioralCloning(LinearRegression()).fit(demos, env)


# ---------------------------------------------------------------------------------------------
# gymnasium
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cartpole_demos():
    demos, returns = record("CartPole-v1", cartpole_expert, 20, 0)
    assert np.all(returns == 500)
    return demos


def test_cartpole_bc_from_20_expert_episodes_reaches_475(cartpole_demos):
    env = gymnasium.make("CartPole-v1")
    bc = BehavioralCloning(max_iter=30, random_state=0).fit(cartpole_demos, env)
    returns = bc.policy_.evaluate(env, n_episodes=20, random_state=1)
    assert returns.mean() >= 475
    loss = bc.history_["loss"]
    assert 1 <= bc.n_iter_ <= 30 and loss.shape == (bc.n_iter_,) and loss[-1] < 0.5 * loss[0]
    # tol stops training once the loss stops improving by tol for n_iter_no_change epochs
    early = BehavioralCloning(tol=10.0, n_iter_no_change=3, random_state=0).fit(
        cartpole_demos[:2], env)
    assert early.n_iter_ == 4
    # predict follows the policy; a single observation is a batch of one
    obs = np.stack([t.states[5] for t in cartpole_demos])
    np.testing.assert_array_equal(bc.predict(obs), bc.predict_proba(obs).argmax(1))
    assert bc.predict(obs[0]).shape == ()  # env.step(bc.predict(obs)) works
    _check_evaluate_policy(bc.policy_, env)
    assert bc.n_features_in_ == 4
    restored = pickle.loads(pickle.dumps(bc))
    np.testing.assert_array_equal(restored.predict_proba(obs), bc.predict_proba(obs))
    assert restored.score(cartpole_demos[:3]) == bc.score(cartpole_demos[:3])


def test_classifier_policy_without_env_and_in_grid_search(cartpole_demos):
    env = gymnasium.make("CartPole-v1")
    search = GridSearchCV(BehavioralCloning(LogisticRegression()),
                          {"estimator__C": [1e-4, 1e2]}, cv=3)
    search.fit(cartpole_demos[:9], env=env)
    # held-out likelihood prefers the model that can represent the expert's boundary
    assert search.best_params_ == {"estimator__C": 1e2}
    scores = cross_val_score(BehavioralCloning(LogisticRegression(C=1e2)), cartpole_demos[:9],
                             params={"env": env}, cv=3)
    assert np.all(scores > np.log(0.5))
    # no env: the demos' states are the features and the classes the actions
    plain = BehavioralCloning(LogisticRegression(C=1e2)).fit(cartpole_demos[:9])
    with_env = search.best_estimator_
    obs = np.stack([t.states[7] for t in cartpole_demos[9:]])
    np.testing.assert_allclose(plain.predict_proba(obs), with_env.predict_proba(obs))
    assert plain.score(cartpole_demos[9:]) == pytest.approx(with_env.score(cartpole_demos[9:]))
    assert plain.policy_.evaluate(env, n_episodes=3, random_state=0).mean() > 100
    _check_evaluate_policy(with_env.policy_, env)
    action, state = with_env.policy_.predict(obs[0], deterministic=True)
    assert np.ndim(action) == 0 and state is None and action == with_env.predict(obs[:1])[0]


def _check_evaluate_policy(policy, env):
    """SB3's evaluate_policy runs on the policy (its predict has SB3's signature)."""
    evaluation = pytest.importorskip("stable_baselines3.common.evaluation")
    mean, _ = evaluation.evaluate_policy(policy, env, n_eval_episodes=2, warn=False)
    assert mean > 100


def test_pendulum_bc_with_a_regressor_beats_random():
    env = gymnasium.make("Pendulum-v1")
    demos, expert_returns = record("Pendulum-v1", pendulum_expert, 10, 0)
    bc = BehavioralCloning(KNeighborsRegressor(n_neighbors=3)).fit(demos, env)
    # the Gaussian's std is the residual std of the regressor on the demos
    obs = np.concatenate([t.states[:-1] for t in demos])
    acts = np.concatenate([t.actions for t in demos])
    residual = acts - bc.policy_.estimator.predict(obs).reshape(-1, 1)
    np.testing.assert_allclose(bc.policy_.action_std, np.sqrt((residual**2).mean(0)))
    assert np.isfinite(bc.score(demos))
    with pytest.raises(TypeError, match="only defined for Discrete actions"):
        bc.predict_proba(obs[:2])
    actions = bc.predict(obs[:5])
    assert actions.shape == (5, 1) and np.all(np.abs(actions) <= 2.0)
    returns = bc.policy_.evaluate(env, n_episodes=5, random_state=0)
    random_returns = []
    for i in range(5):
        env.reset(seed=100 + i)
        env.action_space.seed(i)
        random_returns.append(sum(env.step(env.action_space.sample())[1] for _ in range(200)))
    # random about -1250, the expert about -140
    assert returns.mean() > np.mean(random_returns) + 250
    assert expert_returns.mean() > -250


def test_pendulum_gaussian_mlp_learns_its_std():
    env = gymnasium.make("Pendulum-v1")
    demos, _ = record("Pendulum-v1", pendulum_expert, 5, 0)
    bc = BehavioralCloning(max_iter=40, learning_rate=1e-2, random_state=0).fit(demos, env)
    std = float(np.exp(bc.policy_.net.log_std.detach().numpy())[0])
    assert std < 0.5  # from 1 at initialisation, towards the residual spread
    assert bc.score(demos) > -np.log(std) - 0.5 * np.log(2 * np.pi) - 2.0
