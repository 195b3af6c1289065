"""Tests of GAIL (sklirl/irl/_gail.py) and its discriminator (sklirl/irl/_discriminator.py)."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import mdps, random_policy_probs, seeds

from sklirl import GAIL, Trajectory
from sklirl.datasets import make_expert_demos
from sklirl.envs import GridWorld
from sklirl.expectations import MonteCarloExpectation, empirical_occupancy, occupancy_measure
from sklirl.features import state_action_features
from sklirl.metrics import policy_value

torch = pytest.importorskip("torch")
gymnasium = pytest.importorskip("gymnasium")

from sklirl.irl._discriminator import Discriminator, reward_from_logits  # noqa: E402
from sklirl.solvers import PPO  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    # tiny networks: intra-op threads only add contention on the 2-core CI machines
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _same_history(h1, h2):
    """Bit-identical histories (dicts of equal-length arrays)."""
    return h1.keys() == h2.keys() and all(
        np.array_equal(h1[k], h2[k], equal_nan=True) for k in h1)


def _total_variation(d1, d2):
    return 0.5 * np.abs(d1 / d1.sum() - d2 / d2.sum()).sum()


# ---------------------------------------------------------------------------------------------
# import hygiene
# ---------------------------------------------------------------------------------------------
def test_import_does_not_import_torch():
    code = "import sys, sklirl, sklirl.irl._gail; sklirl.GAIL; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_fit_without_torch_names_the_extra():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ImportError('No module named torch')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from sklirl import GAIL\nfrom sklirl.envs import GridWorld\n"
        "try:\n    GAIL().fit([([0, 1], [1])], GridWorld(2))\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "GAIL requires torch" in out.stdout and "sklirl[torch]" in out.stdout


# ---------------------------------------------------------------------------------------------
# discriminator
# ---------------------------------------------------------------------------------------------
def test_reward_forms_are_the_published_functions_of_d():
    f = np.linspace(-8, 8, 33)
    D = 1.0 / (1.0 + np.exp(-f))
    np.testing.assert_allclose(reward_from_logits(f, "-log D"), -np.log(D), rtol=1e-10)
    np.testing.assert_allclose(reward_from_logits(f, "log(1-D)"), np.log1p(-D), rtol=1e-8)
    np.testing.assert_allclose(
        reward_from_logits(f, "logit"), np.log1p(-D) - np.log(D), rtol=1e-8, atol=1e-12
    )
    t = reward_from_logits(torch.tensor(f), "-log D").numpy()
    np.testing.assert_allclose(t, -np.log(D), rtol=1e-10)
    with pytest.raises(ValueError, match="reward_form"):
        reward_from_logits(f, "log D")


@settings(max_examples=15, deadline=None)
@given(env=mdps(min_states=2, max_states=6, min_actions=2, max_actions=3, finite_horizon=False,
                max_gamma=0.9),
       seed=seeds)
def test_optimal_discriminator_identity(env, seed):
    """With the policy fixed and a tabular discriminator trained to convergence,
    D(s, a) = rho_pi(s, a) / (rho_pi(s, a) + rho_E(s, a)) wherever either one has mass."""
    rng = np.random.default_rng(seed)
    S, A = env.n_states, env.n_actions
    rho_pi = occupancy_measure(env, random_policy_probs(rng, (S, A))).ravel()
    rho_E = occupancy_measure(env, random_policy_probs(rng, (S, A))).ravel()
    X = state_action_features(np.eye(S), A).toarray()  # one-hot state-actions
    disc = Discriminator(S * A, hidden_layer_sizes=(), dtype=torch.float64,
                         generator=torch.Generator().manual_seed(0))
    disc.fit_full_batch(X, X, rho_pi / rho_pi.sum(), rho_E / rho_E.sum(), max_iter=2000)
    D = 1.0 / (1.0 + np.exp(-disc.logits(X)))
    p, q = rho_pi / rho_pi.sum(), rho_E / rho_E.sum()
    visited = (p + q) > 1e-12
    np.testing.assert_allclose(D[visited], p[visited] / (p + q)[visited], atol=1e-3)


def test_discriminator_pickles_and_keeps_training_state():
    disc = Discriminator(3, (4,), normalize_mask=np.array([True, True, False]),
                         generator=torch.Generator().manual_seed(0))
    x = np.random.default_rng(0).normal(size=(16, 3))
    disc.update_input_stats(x)
    disc.step(disc.as_tensor(x), disc.as_tensor(x + 1))
    copy = pickle.loads(pickle.dumps(disc))
    np.testing.assert_array_equal(copy.logits(x), disc.logits(x))
    disc.step(disc.as_tensor(x), disc.as_tensor(x + 1))
    copy.step(copy.as_tensor(x), copy.as_tensor(x + 1))
    np.testing.assert_array_equal(copy.logits(x), disc.logits(x))


def test_gradient_penalty_is_added_to_the_loss():
    x_pi = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
    kw = dict(hidden_layer_sizes=(4,))
    plain = Discriminator(2, **kw, generator=torch.Generator().manual_seed(1))
    penalised = Discriminator(2, **kw, grad_penalty=10.0,
                              generator=torch.Generator().manual_seed(1))
    loss, _, _ = plain.loss(x_pi, x_pi + 1)
    loss_gp, _, _ = penalised.loss(x_pi, x_pi + 1, generator=torch.Generator().manual_seed(2))
    assert loss_gp.item() > loss.item()


# ---------------------------------------------------------------------------------------------
# tabular GAIL
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def grid_problem():
    env = GridWorld(5, slip=0.1, gamma=0.9)
    demos, expert = make_expert_demos(env, 40, horizon=30, temperature=0.1, random_state=0)
    return env, demos, expert


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tabular_gail_matches_the_expert_occupancy_and_value(grid_problem, seed):
    env, demos, expert = grid_problem
    # 150 rounds with Adam at 1e-2. The last round's policy oscillates around the saddle point
    # (TV 0.047, 0.052, 0.047 for seeds 0-2); the averaged one is steady at 0.0465-0.047. The
    # 40 demos' own empirical occupancy is at TV 0.073 from the expert's.
    gail = GAIL(disc_learning_rate=1e-2, max_iter=150, random_state=seed).fit(demos, env)
    d_E = occupancy_measure(env, expert)
    d = occupancy_measure(env, gail.policy_)
    assert _total_variation(d, d_E) <= 0.05
    v_E = policy_value(env, expert, env.reward)
    value = policy_value(env, gail.policy_, env.reward)
    assert abs(value - v_E) <= 0.02 * abs(v_E)
    # closer to the expert than the demonstrations it learned from
    d_demos = empirical_occupancy(demos, 25, 4, env.gamma)
    assert _total_variation(d, d_E) < _total_variation(d_demos, d_E)
    # iterate averaging: the policy's occupancy is the moving average of the rounds', so its
    # value is the same weighted mean of the rounds' values
    decay = 1.0 - 1.0 / gail.n_average_rounds
    weights = decay ** np.arange(gail.n_iter_)[::-1]
    returns = gail.history_["true_return"]
    assert value == pytest.approx(weights @ returns / weights.sum(), rel=1e-9)
    if seed:
        return
    assert gail.entropy_coef_ == 0.1 == gail.solver_.temperature  # the tabular default
    # the uniform policy it starts from is far from the expert
    assert _total_variation(occupancy_measure(env, np.full((25, 4), 0.25)), d_E) > 0.3
    # attributes and diagnostics
    assert gail.reward_.shape == (25, 4) and gail.n_iter_ == 150 == len(gail.history_["disc_loss"])
    assert set(gail.history_) == {"disc_loss", "disc_accuracy_expert",
                                     "disc_accuracy_policy", "policy_entropy", "true_return",
                                     "env_steps"}
    assert gail.device_ == "cpu"
    # the learned reward is the final discriminator's (default "logit": no fixed sign)
    np.testing.assert_allclose(gail.predict_reward(np.arange(25)), gail.reward_)
    assert (gail.reward_ > 0).any() and (gail.reward_ < 0).any()
    assert gail.score(demos) > GAIL(max_iter=1, random_state=0).fit(
        demos, env).score(demos)


def test_tabular_without_averaging_returns_the_soft_best_response(grid_problem):
    env, demos, _ = grid_problem
    gail = GAIL(max_iter=5, n_average_rounds=1, random_state=0).fit(demos, env)
    best_response = gail.solver_.solve(env, gail.reward_)
    np.testing.assert_allclose(gail.policy_.probs, best_response.probs, atol=1e-10)
    assert gail.history_["true_return"][-1] == pytest.approx(
        policy_value(env, gail.policy_, env.reward))
    # the iterates do not depend on the averaging
    averaged = GAIL(max_iter=5, random_state=0).fit(demos, env)
    assert _same_history(averaged.history_, gail.history_)
    np.testing.assert_array_equal(averaged.reward_, gail.reward_)


def test_tabular_fit_is_deterministic(grid_problem):
    env, demos, _ = grid_problem
    a = GAIL(max_iter=10, random_state=3).fit(demos, env)
    b = GAIL(max_iter=10, random_state=3).fit(demos, env)
    np.testing.assert_array_equal(a.reward_, b.reward_)
    assert _same_history(a.history_, b.history_)


@pytest.mark.parametrize("reward_form, sign", [("-log D", 1), ("log(1-D)", -1), ("logit", 0)])
def test_tabular_reward_forms(grid_problem, reward_form, sign):
    env, demos, _ = grid_problem
    gail = GAIL(reward_form=reward_form, max_iter=5, random_state=0).fit(demos, env)
    logits = gail.discriminator_.logits(
        state_action_features(np.eye(25), 4).toarray()).reshape(25, 4)
    np.testing.assert_allclose(gail.reward_, reward_from_logits(logits, reward_form))
    if sign:
        assert (np.sign(gail.reward_) == sign).all()


def test_tabular_monte_carlo_expectation_counts_steps(grid_problem):
    env, demos, _ = grid_problem
    gail = GAIL(max_iter=3, expectation=MonteCarloExpectation(n_episodes=5, horizon=10),
                random_state=0).fit(demos, env)
    assert gail.history_["env_steps"].tolist() == [50, 100, 150]


def test_tabular_bc_warm_start_and_sample_action(grid_problem, monkeypatch):
    env, demos, expert = grid_problem
    import sklirl.irl._generators as gail_module

    first = []
    original = gail_module.ExactExpectation.occupancy

    def recording(self, env, policy):
        first.append(np.array(policy.probs))
        return original(self, env, policy)

    monkeypatch.setattr(gail_module.ExactExpectation, "occupancy", recording)
    d_E = occupancy_measure(env, expert)
    kwargs = dict(max_iter=1, n_disc_updates=50, disc_learning_rate=1e-2, random_state=0)
    cold = GAIL(**kwargs).fit(demos, env)
    warm = GAIL(bc_pretrain_epochs=1, **kwargs).fit(demos, env)
    # the first policy sampled: uniform (TV 0.73 to the expert) vs cloned (TV 0.12)
    assert len(first) == 2
    assert _total_variation(occupancy_measure(env, first[0]), d_E) > 0.7
    assert _total_variation(occupancy_measure(env, first[1]), d_E) < 0.2
    # so the first discriminator has much less to tell apart (loss 1.32 vs 0.52)
    assert warm.history_["disc_loss"][0] > cold.history_["disc_loss"][0] + 0.5
    a = warm.sample_action(np.zeros(200, dtype=int), random_state=0)
    assert a.shape == (200,) and set(np.unique(a)) <= {0, 1, 2, 3}
    freq = np.bincount(a, minlength=4) / 200
    np.testing.assert_allclose(freq, warm.predict_proba([0])[0], atol=0.1)


def test_tabular_parameter_errors(grid_problem):
    env, demos, _ = grid_problem
    with pytest.raises(ValueError, match="entropy_coef must be positive"):
        GAIL(entropy_coef=0.0, max_iter=1).fit(demos, env)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        GAIL(hidden_layer_sizes=(0,), max_iter=1).fit(demos, env)
    with pytest.raises(ValueError, match="device"):
        GAIL(device="tpu", max_iter=1).fit(demos, env)
    with pytest.raises(ValueError, match="reward_form"):
        GAIL(reward_form="D").fit(demos, env)


def test_tabular_score_on_another_env_replans(grid_problem):
    env, demos, _ = grid_problem
    gail = GAIL(max_iter=5, random_state=0).fit(demos, env)
    same = GridWorld(5, slip=0.1, gamma=0.9)
    assert gail.score(demos, same) == pytest.approx(gail.score(demos))


# ---------------------------------------------------------------------------------------------
# gymnasium GAIL (CartPole)
# ---------------------------------------------------------------------------------------------
def _cartpole_expert_demos(n, seed):
    """A hand-written controller that balances the pole for the whole episode (return 500)."""
    env = gymnasium.make("CartPole-v1")
    demos = []
    for i in range(n):
        obs, _ = env.reset(seed=seed + i)
        states, actions = [obs], []
        while True:
            action = int(obs[2] + 0.5 * obs[3] > 0)
            obs, _, terminated, truncated, _ = env.step(action)
            states.append(obs)
            actions.append(action)
            if terminated or truncated:
                break
        demos.append(Trajectory(np.array(states), np.array(actions)))
    return demos


def _fast_cartpole_gail(**kwargs):
    params = dict(
        max_iter=12, random_state=0,
        solver=PPO(n_envs=8, n_steps=128, n_epochs=10, batch_size=128, learning_rate=1e-3),
    )
    params.update(kwargs)
    return GAIL(**params)


@pytest.fixture(scope="module")
def cartpole_fit():
    demos = _cartpole_expert_demos(10, 0)
    gail = _fast_cartpole_gail().fit(demos, gymnasium.make("CartPole-v1"))
    return demos, gail


def test_cartpole_gail_beats_random_and_fools_the_discriminator(cartpole_fit):
    _, gail = cartpole_fit
    returns = gail.policy_.evaluate("CartPole-v1", n_episodes=10, random_state=0)
    assert returns.mean() > 200  # a random policy averages about 22
    # Balanced accuracy (the mean of the accuracies on expert and policy samples): the
    # discriminator first learns to tell them apart, then the policy catches up and it moves
    # back toward chance (seed 0: 0.60 -> peak 0.78 -> 0.58 over the last 3 rounds). The
    # policy-side accuracy alone starts near 1 from the initial bias, so it proves nothing.
    history = gail.history_
    balanced = (history["disc_accuracy_expert"] + history["disc_accuracy_policy"]) / 2
    peak, last = balanced[:-3].max(), balanced[-3:].mean()
    assert peak - last >= 0.1
    assert abs(last - 0.5) < abs(peak - 0.5) - 0.1
    assert gail.history_["env_steps"].tolist() == [1024 * (i + 1) for i in range(12)]


def test_cartpole_prediction_api(cartpole_fit):
    demos, gail = cartpole_fit
    obs = demos[0].states[:50]
    acts = demos[0].actions[:50]
    proba = gail.predict_proba(obs)
    assert proba.shape == (50, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(gail.predict(obs), proba.argmax(1))
    sampled = gail.sample_action(obs, random_state=0)
    assert sampled.shape == (50,) and set(np.unique(sampled)) <= {0, 1}
    r_all = gail.predict_reward(obs)
    assert r_all.shape == (50, 2)
    np.testing.assert_allclose(gail.predict_reward(obs, acts), r_all[np.arange(50), acts],
                               rtol=1e-6)
    # the expert's demos are more likely under the imitator than random actions
    rng = np.random.default_rng(0)
    random_demos = [Trajectory(d.states, rng.integers(2, size=len(d))) for d in demos]
    assert gail.score(demos) > gail.score(random_demos)
    assert gail.score(demos) == pytest.approx(
        np.mean(np.concatenate([gail.policy_.log_prob(d.states[:-1], d.actions)
                                for d in demos])))
    with pytest.raises(ValueError, match="trajectory 0: states"):
        gail.score([([[0.0, 1.0], [0.0, 1.0]], [0])])
    with pytest.raises(ValueError, match="actions"):
        gail.predict_reward(obs[:2], [0, 2])
    # one observation gives one action that env.step takes; a batch gives a batch
    env = gymnasium.make("CartPole-v1")
    o, _ = env.reset(seed=0)
    action = gail.predict(o)
    assert np.ndim(action) == 0 and action == gail.predict(o[None])[0]
    env.step(action)
    np.testing.assert_allclose(gail.predict_proba(o), gail.predict_proba(o[None])[0])
    assert np.ndim(gail.sample_action(o, random_state=0)) == 0
    # the policy speaks stable-baselines3's predict: evaluate_policy runs on it
    a, state = gail.policy_.predict(o, deterministic=True)
    assert a == action and state is None
    _check_evaluate_policy(gail.policy_, "CartPole-v1")


def _check_evaluate_policy(policy, env_id):
    """SB3's evaluate_policy runs the policy (vectorised env, SB3's predict)."""
    evaluation = pytest.importorskip("stable_baselines3.common.evaluation")
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(env_id, n_envs=2, seed=3)
    rewards, _ = evaluation.evaluate_policy(policy, venv, n_eval_episodes=4, deterministic=True,
                                            return_episode_rewards=True, warn=False)
    assert len(rewards) == 4 and np.all(np.isfinite(rewards))


# ---------------------------------------------------------------------------------------------
# Terminations: the absorbing state (Kostrikov et al., 2019)
# ---------------------------------------------------------------------------------------------
def test_absorbing_value_is_the_return_of_rolling_in_the_absorbing_state():
    from sklirl._rollouts import add_absorbing_value
    from sklirl.solvers._rollout_buffer import generalized_advantage_estimate

    # two steps of reward 1 then termination; r_abs = 0.5, gamma = 0.9:
    # G_0 = 1 + 0.9 + 0.9^2 * 0.5 / (1 - 0.9) = 5.95, and the same with 400 absorbing steps
    terminated = np.array([False, True])
    rewards = add_absorbing_value([1.0, 1.0], terminated, 0.5, 0.9)
    _, returns = generalized_advantage_estimate(
        rewards, np.zeros(2), np.zeros(2), terminated, np.zeros(2, bool), 0.9, 1.0)
    assert returns[0] == pytest.approx(5.95, rel=1e-6)
    rolled = np.r_[1.0, 1.0, np.full(400, 0.5)]
    assert returns[0] == pytest.approx((0.9 ** np.arange(402)) @ rolled, rel=1e-6)
    # truncations are untouched (they bootstrap from the final observation's value)
    np.testing.assert_array_equal(add_absorbing_value([1.0, 1.0], [False, False], 0.5, 0.9),
                                  [1.0, 1.0])
    with pytest.raises(ValueError, match="gamma < 1"):
        add_absorbing_value([1.0], [True], 0.5, 1.0)


def _random_cartpole_demos(n, seed):
    from sklirl.datasets import record_episodes

    rng = np.random.default_rng(seed)
    return record_episodes(gymnasium.make("CartPole-v1"), lambda o: int(rng.integers(2)), n,
                           random_state=seed)


def test_discriminator_sees_the_absorbing_state_of_terminated_episodes(monkeypatch):
    from sklirl.irl._adversarial import BaseAdversarialIRL

    demos = _random_cartpole_demos(4, 0)
    cut = Trajectory(demos[0].states, demos[0].actions, terminal=False)
    seen = []
    original = BaseAdversarialIRL._discriminator_steps

    def spy(self, samples, expert):
        seen.append((samples, expert))
        return original(self, samples, expert)

    monkeypatch.setattr(BaseAdversarialIRL, "_discriminator_steps", spy)
    gail = _fast_cartpole_gail(max_iter=1).fit(demos + [cut], gymnasium.make("CartPole-v1"))
    samples, expert = seen[0]
    width = gail._encoder.input_dim
    assert width == 4 + 2 + 1 and gail.discriminator_.input_dim == width
    # one absorbing row per terminated demo (not the cut one), weighted like one of its steps
    assert expert.absorbing_inputs.shape == (4, width)
    np.testing.assert_array_equal(expert.absorbing_inputs[:, -1], 1.0)
    np.testing.assert_array_equal(expert.absorbing_inputs[:, :-1], 0.0)
    # ... times 1 / (1 - gamma) = 100 steps: the discounted time spent in the absorbing state
    np.testing.assert_allclose(expert.absorbing_weights, 100 * expert.weights[0])
    assert (expert.inputs[:, -1] == 0).all()
    # and one per episode the random initial policy ended (CartPole episodes of ~22 steps)
    n_terminated = samples.absorbing_inputs.shape[0]
    assert 1024 / 60 < n_terminated < 1024 / 8
    np.testing.assert_allclose(samples.absorbing_weights, 100.0)
    # the absorbing state has a learned reward (no sign fixed by the reward form)
    assert np.isfinite(gail._generator_reward(type(samples)(gail._encoder.absorbing_inputs(1))))


@pytest.mark.slow
def test_cartpole_random_demos_do_not_balance_after_100k_steps():
    # Measured (see the GAIL user guide): default GAIL, 49 rounds = 100,352 env steps, seed 0:
    # mean return 14.1 over 20 episodes; with "-log D" and no absorbing state: 500.
    gail = GAIL(max_iter=49, random_state=0).fit(_random_cartpole_demos(20, 0),
                                                 gymnasium.make("CartPole-v1"))
    assert gail.history_["env_steps"][-1] >= 100_000
    assert gail.policy_.evaluate("CartPole-v1", n_episodes=20, random_state=1).mean() <= 100


@pytest.mark.slow
def test_cartpole_expert_demos_reach_475_with_the_absorbing_state():
    # Measured: default GAIL, 20 expert episodes (truncated at 500), seed 0: 500 on 10
    # evaluation episodes from round 10 (20,480 steps) on, 499.8 over 20 after 100,352 steps.
    gail = GAIL(max_iter=49, random_state=0).fit(_cartpole_expert_demos(20, 0),
                                                 gymnasium.make("CartPole-v1"))
    assert gail.policy_.evaluate("CartPole-v1", n_episodes=20, random_state=1).mean() >= 475


def test_cartpole_fit_is_bit_identical_and_pickles(cartpole_fit):
    demos, gail = cartpole_fit
    again = _fast_cartpole_gail(max_iter=3).fit(demos, gymnasium.make("CartPole-v1"))
    twice = _fast_cartpole_gail(max_iter=3).fit(demos, gymnasium.make("CartPole-v1"))
    assert _same_history(again.history_, twice.history_)
    obs = demos[1].states
    np.testing.assert_array_equal(again.predict_proba(obs), twice.predict_proba(obs))
    np.testing.assert_array_equal(again.predict_reward(obs), twice.predict_reward(obs))
    restored = pickle.loads(pickle.dumps(gail))
    np.testing.assert_array_equal(restored.predict_proba(obs), gail.predict_proba(obs))
    np.testing.assert_array_equal(restored.predict_reward(obs), gail.predict_reward(obs))


def test_cartpole_bc_pretraining_imitates_before_any_round():
    demos = _cartpole_expert_demos(5, 100)
    gail = _fast_cartpole_gail(max_iter=1, bc_pretrain_epochs=20).fit(
        demos, gymnasium.make("CartPole-v1"))
    obs = np.concatenate([d.states[:-1] for d in demos])
    acts = np.concatenate([d.actions for d in demos])
    assert (gail.predict(obs) == acts).mean() > 0.9


def test_box_actions_pendulum_runs():
    env = gymnasium.make("Pendulum-v1")
    rng = np.random.default_rng(0)
    demos = [Trajectory(rng.uniform(-1, 1, size=(21, 3)), rng.uniform(-2, 2, size=(20, 1)))
             for _ in range(3)]
    gail = GAIL(max_iter=2, random_state=0, reward_form="logit", grad_penalty=1.0,
                solver=PPO(n_envs=2, n_steps=32, n_epochs=1, batch_size=32)).fit(demos, env)
    obs = demos[0].states[:5]
    assert gail.predict(obs).shape == (5, 1)
    o, _ = env.reset(seed=0)
    assert gail.predict(o).shape == (1,)  # one action, of the action space's shape
    env.step(gail.predict(o))
    _check_evaluate_policy(gail.policy_, "Pendulum-v1")
    assert gail.predict_reward(obs, demos[0].actions[:5]).shape == (5,)
    assert np.isfinite(gail.score(demos))
    with pytest.raises(TypeError, match="Discrete"):
        gail.predict_proba(obs)
    with pytest.raises(ValueError, match="actions are required"):
        gail.predict_reward(obs)


def test_default_generator_settings_depend_on_the_action_space(monkeypatch):
    # Box actions: Adam at 1e-3 decayed linearly over the max_iter rounds, gamma 0.95, no
    # entropy bonus (docs: gail_continuous); Discrete actions keep a constant 3e-4, 0.99, 0.01
    from sklirl.solvers._ppo import PPOTrainer

    step_sizes, update = [], PPOTrainer.update

    def recording_update(trainer, batch, rewards=None):
        step_sizes.append(trainer._learning_rate(trainer.total_steps - batch.n_steps))
        return update(trainer, batch, rewards)

    monkeypatch.setattr(PPOTrainer, "update", recording_update)
    rng = np.random.default_rng(0)
    box = [Trajectory(rng.uniform(-1, 1, size=(11, 3)), rng.uniform(-2, 2, size=(10, 1)))]
    discrete = [Trajectory(rng.uniform(-0.05, 0.05, size=(11, 4)), rng.integers(2, size=10))]
    for demos, env_id, expected, lrs in [
        (box, "Pendulum-v1", (1e-3, 0.95, 0.0), [1e-3, 2e-3 / 3, 1e-3 / 3]),
        (discrete, "CartPole-v1", (3e-4, 0.99, 0.01), [3e-4] * 3),
    ]:
        step_sizes.clear()
        gail = GAIL(max_iter=3, random_state=0).fit(demos, gymnasium.make(env_id))
        solver = gail.solver_
        assert (solver.learning_rate, solver.gamma, gail.entropy_coef_) == expected
        assert solver.entropy_coef == expected[2]
        assert (solver.n_envs, solver.n_steps, solver.n_epochs) == (8, 256, 10)
        np.testing.assert_allclose(step_sizes, lrs, rtol=1e-12)


def test_pendulum_gail_at_its_defaults_improves_over_its_first_round():
    # 20 episodes of the scripted swing-up expert (return about -140; uniform random -1270).
    # The first round's deterministic policy (torque near 0) scores about -1100; at GAIL's
    # defaults the policy swings up within 60 rounds (123k steps; seeds 0 and 1: -204 and
    # -430 after -1162 and -1062; see the user guide's gail_continuous), past this margin.
    # About 12 s on an idle core.
    from test_bc import pendulum_expert, record

    demos, _ = record("Pendulum-v1", pendulum_expert, 20, 0)
    evaluations = []

    def evaluate(gail, row):
        if len(gail.history_["env_steps"]) in (1, 60):
            evaluations.append(
                gail.policy_.evaluate("Pendulum-v1", n_episodes=10, random_state=0).mean())
        return len(evaluations) == 2  # stop after round 60 of a 150-round (307k-step) fit

    GAIL(max_iter=150, random_state=0, callback=evaluate).fit(
        demos, gymnasium.make("Pendulum-v1"))
    first, last = evaluations
    assert last > first + 400, evaluations


def test_gymnasium_demo_validation():
    env = gymnasium.make("CartPole-v1")
    bad = [Trajectory(np.zeros((3, 2)), [0, 1])]
    with pytest.raises(ValueError, match="trajectory 0: states"):
        GAIL(max_iter=1).fit(bad, env)
    bad_action = [Trajectory(np.zeros((3, 4)), [0, 5])]
    with pytest.raises(ValueError, match=r"trajectory 0: actions\[1\] = 5"):
        GAIL(max_iter=1).fit(bad_action, env)


def test_callback_sees_each_round_and_can_stop(grid_problem):
    env, demos, _ = grid_problem
    seen = []

    def callback(gail, row):
        seen.append((row["env_steps"], gail.policy_.probs.copy()))
        return len(seen) == 3

    gail = GAIL(max_iter=10, callback=callback, random_state=0).fit(demos, env)
    assert len(seen) == 3 == gail.n_iter_ == len(gail.history_["disc_loss"])
    np.testing.assert_array_equal(seen[-1][1], gail.policy_.probs)


def test_stable_baselines3_generator():
    sb3 = pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env("CartPole-v1", n_envs=4, seed=0)
    algo = sb3.PPO("MlpPolicy", venv, n_steps=256, batch_size=64, n_epochs=5, seed=0,
                   device="cpu")
    demos = _cartpole_expert_demos(5, 0)
    gail = GAIL(max_iter=12, solver=algo, random_state=0).fit(
        demos, gymnasium.make("CartPole-v1"))
    assert gail.solver_ is algo and gail.n_iter_ == 12
    assert gail.history_["env_steps"][:2].tolist() == [1024, 2048]
    obs = demos[0].states[:20]
    assert gail.predict_proba(obs).shape == (20, 2)
    assert np.isfinite(gail.score(demos))
    from sklirl.policies import SB3Policy

    assert isinstance(gail.policy_, SB3Policy) and np.ndim(gail.predict(obs[0])) == 0
    _check_evaluate_policy(gail.policy_, "CartPole-v1")
    returns = gail.history_["true_return"]
    # seed 0: 19.7 -> 31.7 (the "logit" reward learns from the absorbing state that ending the
    # episode is bad; "-log D" started with that as a built-in survival bonus)
    assert np.nanmean(returns[-3:]) > np.nanmean(returns[:2]) + 10


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_unpickles_on_cpu(tmp_path):
    demos = _cartpole_expert_demos(3, 0)
    gail = _fast_cartpole_gail(max_iter=2, device="cuda").fit(demos, gymnasium.make("CartPole-v1"))
    assert gail.device_.startswith("cuda")
    path = tmp_path / "gail.pkl"
    path.write_bytes(pickle.dumps(gail))
    code = (
        "import pickle, sys, numpy as np\n"
        f"g = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "print(g.predict_proba(np.zeros((2, 4))).shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, check=True)
    assert out.stdout.strip() == "(2, 2)"



# ---------------------------------------------------------------------------------------------
# KeyboardInterrupt inside a round, and warm_start
# ---------------------------------------------------------------------------------------------
def _interrupt_on_call(monkeypatch, owner, name, n):
    """Make ``owner.name`` raise KeyboardInterrupt on its n-th call (1-based)."""
    original = getattr(owner, name)
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, interrupted)
    return calls


def test_tabular_interrupt_inside_a_round_keeps_the_last_complete_round(
        grid_problem, monkeypatch):
    env, demos, _ = grid_problem
    kwargs = dict(n_disc_updates=4, disc_learning_rate=1e-2, random_state=0)
    gail = GAIL(max_iter=10, warm_start=True, **kwargs)
    with monkeypatch.context() as m:
        # the 3rd discriminator step of round 4
        _interrupt_on_call(m, Discriminator, "step", 3 * 4 + 3)
        with pytest.warns(UserWarning, match=r"n_iter_=3.*warm_start=True"):
            with pytest.raises(KeyboardInterrupt):
                gail.fit(demos, env)
    clean = GAIL(max_iter=3, **kwargs).fit(demos, env)
    states = np.arange(env.n_states)
    assert gail.n_iter_ == 3 and _same_history(gail.history_, clean.history_)
    np.testing.assert_array_equal(gail.predict_proba(states), clean.predict_proba(states))
    np.testing.assert_array_equal(gail.predict_reward(states), clean.predict_reward(states))
    X = state_action_features(np.eye(25), 4).toarray()
    np.testing.assert_array_equal(
        gail.discriminator_.reward(X, gail.reward_form).reshape(25, 4), gail.reward_)
    # warm_start resumes: 3 interrupted + 3 resumed rounds are 6 uninterrupted ones
    gail.set_params(max_iter=3).fit(demos, env)
    six = GAIL(max_iter=6, **kwargs).fit(demos, env)
    assert gail.n_iter_ == 6 and _same_history(gail.history_, six.history_)
    np.testing.assert_array_equal(gail.predict_proba(states), six.predict_proba(states))
    np.testing.assert_array_equal(gail.reward_, six.reward_)


def test_tabular_warm_start_interrupted_in_its_first_round_keeps_the_previous_fit(
        grid_problem, monkeypatch):
    env, demos, _ = grid_problem
    gail = GAIL(max_iter=2, warm_start=True, random_state=0).fit(demos, env)
    reward, history = gail.reward_.copy(), dict(gail.history_)
    logits = gail.discriminator_.logits(state_action_features(np.eye(25), 4).toarray())
    with monkeypatch.context() as m:
        _interrupt_on_call(m, Discriminator, "step", 2)
        with pytest.warns(UserWarning, match="previous fit"):
            with pytest.raises(KeyboardInterrupt):
                gail.fit(demos, env)
    assert _same_history(gail.history_, history) and gail.n_iter_ == 2
    np.testing.assert_array_equal(gail.reward_, reward)
    np.testing.assert_array_equal(
        gail.discriminator_.logits(state_action_features(np.eye(25), 4).toarray()), logits)


def test_warm_start_false_starts_afresh(grid_problem):
    env, demos, _ = grid_problem
    gail = GAIL(max_iter=3, random_state=0).fit(demos, env)
    gail.fit(demos, env)
    again = GAIL(max_iter=3, random_state=0).fit(demos, env)
    assert gail.n_iter_ == 3 and _same_history(gail.history_, again.history_)


@pytest.mark.parametrize("where", ["ppo_update", "disc_step"])
def test_cartpole_interrupt_inside_a_round_keeps_the_last_complete_round(monkeypatch, where):
    import sklirl.solvers._ppo as ppo_module

    demos = _cartpole_expert_demos(3, 0)
    env = gymnasium.make("CartPole-v1")
    gail = _fast_cartpole_gail(max_iter=5, warm_start=True)
    with monkeypatch.context() as m:
        if where == "ppo_update":
            # 80 minibatch steps per update: the 37th of round 3's, after its rollout has
            # moved the observation statistics and 36 steps the weights
            _interrupt_on_call(m, ppo_module.nn.utils, "clip_grad_norm_", 2 * 80 + 37)
        else:  # the 3rd discriminator step of round 3 (4 per round)
            _interrupt_on_call(m, Discriminator, "step", 2 * 4 + 3)
        with pytest.warns(UserWarning, match=r"n_iter_=2"):
            with pytest.raises(KeyboardInterrupt):
                gail.fit(demos, env)
    clean = _fast_cartpole_gail(max_iter=2).fit(demos, env)
    obs = demos[0].states
    assert gail.n_iter_ == 2 and _same_history(gail.history_, clean.history_)
    np.testing.assert_array_equal(gail.predict_proba(obs), clean.predict_proba(obs))
    np.testing.assert_array_equal(gail.predict_reward(obs), clean.predict_reward(obs))
    np.testing.assert_array_equal(gail.policy_.obs_mean, clean.policy_.obs_mean)
    if where == "disc_step":
        return
    # warm_start resumes from the restored round: the rounds and env steps count on
    before = gail.predict_proba(obs)
    gail.set_params(max_iter=1).fit(demos, env)
    first_two = {k: v[:2] for k, v in gail.history_.items()}
    assert gail.n_iter_ == 3 and _same_history(first_two, clean.history_)
    assert gail.history_["env_steps"].tolist() == [1024, 2048, 3072]
    assert not np.array_equal(gail.predict_proba(obs), before)
    restored = pickle.loads(pickle.dumps(gail))  # the warm state pickles too
    restored.fit(demos, env)
    assert restored.n_iter_ == 4


def _sb3_algo(n_envs=2, env_id="CartPole-v1"):
    sb3 = pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(env_id, n_envs=n_envs, seed=0)
    return sb3.PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=2, seed=0,
                   device="cpu")


def test_stable_baselines3_clear_errors():
    demos = _cartpole_expert_demos(2, 0)
    env = gymnasium.make("CartPole-v1")
    with pytest.raises(ValueError, match="bc_pretrain_epochs is not supported"):
        GAIL(max_iter=1, solver=_sb3_algo(), bc_pretrain_epochs=5).fit(demos, env)
    with pytest.raises(ValueError, match="other spaces than the env given to fit"):
        GAIL(max_iter=1, solver=_sb3_algo(env_id="Acrobot-v1")).fit(demos, env)


def test_stable_baselines3_interrupt_inside_a_round(monkeypatch):
    demos = _cartpole_expert_demos(2, 0)
    env = gymnasium.make("CartPole-v1")
    gail = GAIL(max_iter=4, solver=_sb3_algo(), random_state=0)
    with monkeypatch.context() as m:
        # round 3: its SB3 update has run, its 2nd discriminator step is interrupted
        _interrupt_on_call(m, Discriminator, "step", 2 * 4 + 2)
        with pytest.warns(UserWarning, match=r"n_iter_=2"):
            with pytest.raises(KeyboardInterrupt):
                gail.fit(demos, env)
    clean = GAIL(max_iter=2, solver=_sb3_algo(), random_state=0).fit(demos, env)
    obs = demos[0].states
    assert _same_history(gail.history_, clean.history_) and gail.solver_.num_timesteps == 256
    np.testing.assert_array_equal(gail.predict_proba(obs), clean.predict_proba(obs))
    np.testing.assert_array_equal(gail.predict_reward(obs), clean.predict_reward(obs))


def test_vector_env_is_rejected_with_a_clear_error():
    venv = gymnasium.make_vec("CartPole-v1", num_envs=2)
    demos = _cartpole_expert_demos(1, 0)
    with pytest.raises(TypeError, match=r"single gymnasium environment.*vectorises"):
        GAIL(max_iter=1).fit(demos, venv)
    from sklirl import MaxMarginIRL  # the same check serves every estimator that samples

    with pytest.raises(TypeError, match=r"MaxMarginIRL needs a single gymnasium environment"):
        MaxMarginIRL(max_iter=1).fit(demos, venv)
    venv.close()


def test_monte_carlo_expectation_keeps_its_own_seed(grid_problem):
    """Like MaxMarginIRL: a MonteCarloExpectation with a random_state keeps it; one without is
    seeded from GAIL's random_state (so the fit is reproducible either way)."""
    from sklirl.expectations import MonteCarloExpectation

    env, demos, _ = grid_problem

    def fit(mc_seed, gail_seed):
        return GAIL(max_iter=2, hidden_layer_sizes=(8,), random_state=gail_seed,
                    expectation=MonteCarloExpectation(20, random_state=mc_seed)).fit(demos, env)

    # the rollouts depend on the expectation's own seed...
    assert not _same_history(fit(1, 0).history_, fit(2, 0).history_)
    # ... and a seeded run is reproducible
    assert _same_history(fit(1, 0).history_, fit(1, 0).history_)
    unseeded = [fit(None, 0).history_, fit(None, 0).history_]
    assert _same_history(*unseeded)


# ---------------------------------------------------------------------------------------------
# the generator interface (sklirl/irl/_adversarial.py): adding a generator is one class
# ---------------------------------------------------------------------------------------------
class _UniformGenerator:
    """A generator whose policy stays uniform: improve() only reads the reward."""

    full_batch, dtype, solver, entropy_coef = True, "float64", None, 0.0

    @staticmethod
    def accepts(env, solver):
        return True

    def __init__(self, estimator, env):
        self.env, self.reward_table = env, None

    def setup(self, demos, sample_weight):
        from sklirl.irl._generators import Samples, tabular_samples
        from sklirl.policies import TabularPolicy

        S, A = self.env.n_states, self.env.n_actions
        self.pairs = tabular_samples(np.eye(S), A)
        self.input_dim = self.pairs.inputs.shape[1]
        self.continuous_mask = np.zeros(self.input_dim, dtype=bool)
        self.signature = ("uniform", S, A)
        self.policy = TabularPolicy(np.full((S, A), 1.0 / A))
        rho_E = empirical_occupancy(demos, S, A, self.env.gamma).ravel()
        return Samples(self.pairs.inputs, rho_E / rho_E.sum())

    def seed(self, rng):
        pass

    def start(self, state, policy, reward, pretrain_epochs, rng):
        self.steps = 0 if state is None else state

    def sample(self):
        from sklirl.irl._generators import Samples

        n = len(self.pairs.inputs)
        return Samples(self.pairs.inputs, np.full(n, 1.0 / n), policy=self.policy)

    def improve(self, reward):
        self.steps += 1
        self.reward_table = reward(self.pairs).reshape(self.env.n_states, self.env.n_actions)
        return {"policy_entropy": np.log(self.env.n_actions), "true_return": np.nan,
                "env_steps": self.steps}

    def snapshot(self):
        return self.steps

    def restore(self, state):
        self.steps = state

    def close(self):
        pass


def test_a_generator_is_one_class(grid_problem, monkeypatch):
    import sklirl.irl._adversarial as adversarial

    env, demos, _ = grid_problem
    monkeypatch.setattr(adversarial, "GENERATORS", (_UniformGenerator,))
    gail = GAIL(max_iter=30, n_disc_updates=10, disc_learning_rate=1e-2, random_state=0,
                hidden_layer_sizes=()).fit(demos, env)
    assert gail.n_iter_ == 30 and gail.history_["env_steps"].tolist() == list(range(1, 31))
    assert gail.reward_.shape == (25, 4)
    # -log D is larger where the expert goes more than the uniform policy does
    rho_E = empirical_occupancy(demos, 25, 4, env.gamma)
    expert_more = rho_E / rho_E.sum() > 1.0 / 100
    assert gail.reward_[expert_more].mean() > gail.reward_[~expert_more].mean() + 0.5
    # warm start resumes the generator's own state through snapshot/restore
    gail.set_params(warm_start=True, max_iter=2).fit(demos, env)
    assert gail.history_["env_steps"].tolist()[-3:] == [30, 31, 32]
