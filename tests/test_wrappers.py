"""FixedHorizon: episodes of a fixed length, termination held as an absorbing state."""

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

from sklirl.envs import FixedHorizon  # noqa: E402


def run(env, policy, seed):
    obs, _ = env.reset(seed=seed)
    observations, rewards, flags = [obs], [], []
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        observations.append(obs)
        rewards.append(reward)
        flags.append((terminated, truncated, info.get("absorbed")))
        if terminated or truncated:
            return np.array(observations), np.array(rewards), flags


def test_cartpole_failure_is_held_until_the_horizon():
    raw = gymnasium.make("CartPole-v1")
    _, raw_rewards, _ = run(raw, lambda obs: 1, seed=3)  # always right: falls
    n = len(raw_rewards)
    assert n < 30
    obs, rewards, flags = run(FixedHorizon(gymnasium.make("CartPole-v1")), lambda o: 1, seed=3)
    assert len(rewards) == 500
    assert not any(terminated for terminated, _, _ in flags)
    assert [truncated for _, truncated, _ in flags] == [False] * 499 + [True]
    # the raw episode, then the terminal observation held, reward 0
    np.testing.assert_array_equal(rewards[:n], raw_rewards)
    assert np.all(rewards[n:] == 0.0) and rewards.sum() == n
    np.testing.assert_array_equal(obs[n:], np.broadcast_to(obs[n], obs[n:].shape))
    assert [absorbed for _, _, absorbed in flags] == [False] * (n - 1) + [True] * (500 - n + 1)


def test_mountain_car_success_costs_nothing_after_the_goal():
    def pump(obs):  # push along the velocity: reaches the flag in about 100 steps
        return 2 if obs[1] >= 0 else 0

    _, raw_rewards, _ = run(gymnasium.make("MountainCar-v0"), pump, seed=0)
    assert len(raw_rewards) < 200
    env = FixedHorizon(gymnasium.make("MountainCar-v0"), absorb_reward=0.0)
    _, rewards, _ = run(env, pump, seed=0)
    assert len(rewards) == 200 and rewards.sum() == raw_rewards.sum() == -len(raw_rewards)
    # absorb_reward is paid on each absorbed step
    env = FixedHorizon(gymnasium.make("MountainCar-v0"), absorb_reward=-0.5)
    _, rewards, _ = run(env, pump, seed=0)
    assert rewards.sum() == -len(raw_rewards) - 0.5 * (200 - len(raw_rewards))


def test_envs_without_termination_are_unchanged_and_horizon_overrides():
    rng = np.random.default_rng(0)
    actions = rng.uniform(-2, 2, size=(200, 1)).astype(np.float32)
    steps = iter(range(200))
    raw_obs, raw_rewards, _ = run(gymnasium.make("Pendulum-v1"), lambda o: actions[next(steps)],
                                  seed=1)
    steps = iter(range(200))
    obs, rewards, _ = run(FixedHorizon(gymnasium.make("Pendulum-v1")),
                          lambda o: actions[next(steps)], seed=1)
    np.testing.assert_array_equal(obs, raw_obs)
    np.testing.assert_array_equal(rewards, raw_rewards)
    _, short, _ = run(FixedHorizon(gymnasium.make("Pendulum-v1"), horizon=17),
                      lambda o: np.zeros(1, np.float32), seed=1)
    assert len(short) == 17
    # reset starts a new episode of full length
    env = FixedHorizon(gymnasium.make("CartPole-v1"), horizon=50)
    for seed in (0, 1):
        assert len(run(env, lambda o: 0, seed=seed)[1]) == 50


def test_policies_evaluate_on_the_wrapped_env():
    from sklirl.policies import TorchPolicy

    env = FixedHorizon(gymnasium.make("CartPole-v1"), horizon=100)
    policy = TorchPolicy(env.observation_space, env.action_space, random_state=0)
    returns = policy.evaluate(env, n_episodes=4, random_state=0)
    assert returns.shape == (4,) and np.all(returns <= 100)


def test_fixed_horizon_validation():
    class NoLimit(gymnasium.Env):
        observation_space = gymnasium.spaces.Discrete(2)
        action_space = gymnasium.spaces.Discrete(2)

    with pytest.raises(ValueError, match="pass horizon=<steps per episode>"):
        FixedHorizon(NoLimit())
    with pytest.raises(ValueError, match="horizon must be a positive integer, got 0"):
        FixedHorizon(gymnasium.make("CartPole-v1"), horizon=0)
    with pytest.raises(ValueError, match="absorb_reward must be a finite number"):
        FixedHorizon(gymnasium.make("CartPole-v1"), absorb_reward=np.nan)
    with pytest.raises(RuntimeError, match="before reset"):
        FixedHorizon(gymnasium.make("CartPole-v1")).step(0)


def test_the_spec_rebuilds_the_wrapped_env():
    env = FixedHorizon(gymnasium.make("MountainCar-v0"), horizon=150, absorb_reward=-0.5)
    remade = gymnasium.make(env.spec)
    assert isinstance(remade, FixedHorizon)
    assert (remade.horizon, remade.absorb_reward) == (150, -0.5)
