"""MaxMarginIRL on gymnasium environments: PPO plans, Monte Carlo rollouts expect."""

import warnings

import numpy as np
import pytest

pytest.importorskip("torch", reason="the gymnasium path of MaxMarginIRL needs torch (PPO)")
gymnasium = pytest.importorskip("gymnasium", reason="needs gymnasium")

from gymnasium import spaces  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from sklirl import MaxMarginIRL  # noqa: E402
from sklirl._rollouts import gym_rollout_blocks  # noqa: E402
from sklirl.demos import Trajectory  # noqa: E402
from sklirl.expectations import MonteCarloExpectation, feature_expectations  # noqa: E402
from sklirl.policies import EpisodeMixturePolicy, UniformPolicy  # noqa: E402
from sklirl.solvers import PPO  # noqa: E402


class _LeanExpert:
    """Push the cart toward the pole's lean (angle plus half its angular velocity)."""

    def predict(self, observations, deterministic=False):
        obs = np.atleast_2d(observations)
        return (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(np.int64)


class _CounterEnv(gymnasium.Env):
    """Deterministic toy env: observation [t, 1], terminated after 3 steps."""

    observation_space = spaces.Box(-10.0, 10.0, (2,), np.float64)
    action_space = spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0, 1.0]), {}

    def step(self, action):
        self.t += 1
        return np.array([float(self.t), 1.0]), float(action), self.t >= 3, False, {}


def _cartpole_demos(n=8, seed=0):
    env = gymnasium.make("CartPole-v1")
    episodes = gym_rollout_blocks(env, _LeanExpert(), [(n, seed)], 500)
    return [Trajectory(obs, _LeanExpert().predict(obs)) for obs, _ in episodes]


def test_monte_carlo_gym_feature_expectations_match_hand_computation():
    gamma = 0.5
    mc = MonteCarloExpectation(n_episodes=4, random_state=0)
    rho = mc.feature_expectations(_CounterEnv(), _ConstantPolicy(0), lambda o: o, gamma=gamma)
    # Observations [0, 1], [1, 1], [2, 1] at t = 0, 1, 2, then terminated.
    np.testing.assert_allclose(rho, [0 + gamma * 1 + gamma**2 * 2, 1 + gamma + gamma**2])
    # A rollout horizon of 2 truncates the sum after t = 1.
    rho2 = MonteCarloExpectation(n_episodes=3, horizon=2, random_state=0).feature_expectations(
        _CounterEnv(), _ConstantPolicy(0), lambda o: o, gamma=gamma
    )
    np.testing.assert_allclose(rho2, [gamma, 1 + gamma])
    # n_jobs does not change the estimate (blocks of 1000 episodes seeded up front).
    env = gymnasium.make("CartPole-v1")
    uniform = UniformPolicy(env.observation_space, env.action_space)
    one = MonteCarloExpectation(n_episodes=1100, random_state=3).feature_expectations(
        env, uniform, lambda o: o, gamma=0.9)
    two = MonteCarloExpectation(n_episodes=1100, random_state=3, n_jobs=2).feature_expectations(
        env, uniform, lambda o: o, gamma=0.9)
    np.testing.assert_array_equal(one, two)


def test_monte_carlo_gym_errors():
    mc = MonteCarloExpectation(n_episodes=2, random_state=0)
    with pytest.raises(ValueError, match="gamma="):
        mc.feature_expectations(_CounterEnv(), _ConstantPolicy(0), lambda o: o)
    with pytest.raises(TypeError, match="features"):
        mc.feature_expectations(_CounterEnv(), _ConstantPolicy(0), np.eye(2), gamma=0.9)
    with pytest.raises(ValueError, match=r"\(n, k\)"):
        mc.feature_expectations(_CounterEnv(), _ConstantPolicy(0), lambda o: o[:, 0], gamma=0.9)


def test_observation_demo_feature_expectations():
    demos = [Trajectory(np.array([[1.0], [3.0], [5.0]]), [0, 1]),
             Trajectory(np.array([[2.0], [4.0]]), [1])]
    rho = feature_expectations(demos, lambda o: o, 0.5)
    np.testing.assert_allclose(rho, [((1 + 0.5 * 3) + 2) / 2])
    rho_w = feature_expectations(demos, lambda o: o, 0.5, sample_weight=[3, 1])
    np.testing.assert_allclose(rho_w, [(3 * 2.5 + 2) / 4])


def test_episode_mixture_policy():
    env = _CounterEnv()
    uniform = UniformPolicy(env.observation_space, env.action_space)
    mix = EpisodeMixturePolicy([uniform, _LeanExpert(), uniform], [0.5, 0.0, 0.5])
    assert len(mix.policies) == 2  # zero-weight components dropped
    obs = np.zeros((3, 2))
    np.testing.assert_allclose(mix.predict_proba(obs), 0.5)
    np.testing.assert_allclose(mix.log_prob(obs, [0, 1, 1]), np.log(0.5))
    # One component per episode: every step of an episode is that component's.
    always = [_ConstantPolicy(0), _ConstantPolicy(1)]
    returns = EpisodeMixturePolicy(always, [0.5, 0.5]).evaluate(env, 40, random_state=0)
    assert set(returns) == {0.0, 3.0}
    # stable-baselines3's predict keeps each env's component for its episode (the state)
    evaluation = pytest.importorskip("stable_baselines3.common.evaluation")
    from stable_baselines3.common.vec_env import DummyVecEnv

    rewards, _ = evaluation.evaluate_policy(
        EpisodeMixturePolicy(always, [0.5, 0.5]), DummyVecEnv([_CounterEnv] * 2),
        n_eval_episodes=20, return_episode_rewards=True, warn=False)
    assert set(rewards) == {0.0, 3.0}
    with pytest.raises(ValueError, match="weights"):
        EpisodeMixturePolicy(always, [0.5])


class _ConstantPolicy:
    def __init__(self, action):
        self.action = action

    def predict(self, observations, deterministic=False):
        return np.full(len(observations), self.action)


def test_gymnasium_env_requires_ppo_solver():
    demos = _cartpole_demos(n=2)
    env = gymnasium.make("CartPole-v1")
    with pytest.raises(TypeError, match="solver=sklirl.solvers.PPO"):
        MaxMarginIRL().fit(demos, env)
    with pytest.raises(ValueError, match="mmp"):
        MaxMarginIRL("mmp", solver=PPO()).fit(demos, env)
    from sklirl.expectations import ExactExpectation

    with pytest.raises(TypeError, match="MonteCarloExpectation"):
        MaxMarginIRL(solver=PPO(), expectation=ExactExpectation()).fit(demos, env)


@pytest.mark.parametrize("method", ["max_margin", "projection"])
def test_cartpole_apprenticeship_beats_random_policy(method):
    env = gymnasium.make("CartPole-v1")
    demos = _cartpole_demos()
    irl = MaxMarginIRL(
        method,
        solver=PPO(total_timesteps=8192, n_envs=4, n_steps=256, batch_size=256, n_epochs=5,
                   learning_rate=1e-3, lr_schedule="linear"),
        expectation=MonteCarloExpectation(n_episodes=8),
        max_iter=3,
        epsilon=1.0,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        irl.fit(demos, env)
    margins = irl.margins_
    assert np.all(np.diff(margins) <= 1e-9)  # distances to a growing hull
    assert margins[-1] < 0.8 * margins[0]
    assert isinstance(irl.policy_, EpisodeMixturePolicy)
    np.testing.assert_allclose(irl.mixture_weights_.sum(), 1.0)
    assert irl.coef_.shape == (5,) and irl.coef_[0] > 0  # staying alive is rewarded
    learned = irl.policy_.evaluate(env, 20, random_state=1).mean()
    uniform = UniformPolicy(env.observation_space, env.action_space)
    random_return = EpisodeMixturePolicy([uniform], [1.0]).evaluate(env, 20, random_state=1)
    assert learned > 3 * random_return.mean()
    # Prediction on observations.
    obs = demos[0].states[:5]
    assert irl.predict(obs).shape == (5,)
    np.testing.assert_allclose(irl.predict_proba(obs).sum(axis=1), 1.0, rtol=1e-5)
    assert irl.predict_reward(obs).shape == (5,)
    assert irl.score(demos) > np.log(0.5)  # better than the uniform policy's likelihood
    # Another instance of the same task scores with the same policy.
    assert irl.score(demos, env=gymnasium.make("CartPole-v1")) == irl.score(demos)


def test_gymnasium_demo_observations_are_validated():
    env = gymnasium.make("CartPole-v1")
    bad = [Trajectory(np.zeros((4, 3)), [0, 1, 0])]  # CartPole observations have 4 entries
    with pytest.raises(ValueError, match="trajectory 0"):
        MaxMarginIRL(solver=PPO()).fit(bad, env)
    demos = _cartpole_demos(n=1)
    irl = MaxMarginIRL(solver=PPO(total_timesteps=256, n_envs=1, n_steps=128, batch_size=64),
                       expectation=MonteCarloExpectation(n_episodes=2), max_iter=1,
                       random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        irl.fit(demos, env)
    with pytest.raises(ValueError, match="states"):
        irl.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="spaces"):
        irl.score(demos, env=gymnasium.make("MountainCar-v0"))
