"""Reward transfer metrics: transfer_value_difference (tabular) and transfer_return (gymnasium)."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import PolynomialFeatures

from sklirl import MaxEntIRL, MaxMarginIRL
from sklirl.datasets import make_expert_demos
from sklirl.envs import GridWorld
from sklirl.metrics import expected_value_difference, transfer_return, transfer_value_difference
from sklirl.solvers import SoftValueIteration


class _KnownReward:
    """A fitted 'estimator' whose transferred reward is a given function of the env."""

    def __init__(self, make):
        self.make, self.fitted_ = make, True

    def transfer_reward(self, env):
        return self.make(env)


TRAIN, TEST = GridWorld(4, gamma=0.9), GridWorld(4, gamma=0.9, slip=0.3)


def test_known_answers():
    assert transfer_value_difference(_KnownReward(lambda e: e.reward), TEST) == 0.0
    flipped = _KnownReward(lambda e: -e.reward)
    evd = transfer_value_difference(flipped, TEST)
    assert evd > 0
    assert evd == expected_value_difference(TEST, learned_reward=-TEST.reward)
    soft = transfer_value_difference(flipped, TEST, planner="soft")
    policy = SoftValueIteration(temperature=1.0).solve(TEST, -TEST.reward)
    assert soft == pytest.approx(expected_value_difference(TEST, policy=policy))
    # an explicit true reward replaces env.reward
    assert transfer_value_difference(_KnownReward(lambda e: -e.reward), TEST,
                                     true_reward=-TEST.reward) == 0.0


@pytest.fixture(scope="module")
def demos():
    return make_expert_demos(TRAIN, 20, horizon=8, random_state=0)[0]


def _estimators():
    pytest.importorskip("torch")
    from sklirl import AIRL, GAIL

    feats = PolynomialFeatures(1)
    return [MaxEntIRL(feats), MaxMarginIRL(features=feats, max_iter=10),
            GAIL(feats, max_iter=5, hidden_layer_sizes=(8,), random_state=0),
            AIRL(feats, max_iter=5, random_state=0)]


@pytest.mark.parametrize("est", _estimators(), ids=lambda e: type(e).__name__)
def test_every_reward_learner_transfers(est, demos):
    est.fit(demos, TRAIN)
    evd = transfer_value_difference(est, TEST)
    reward = est.transfer_reward(TEST)
    assert evd == expected_value_difference(TEST, learned_reward=reward)
    assert 0.0 <= evd < np.inf
    bigger = GridWorld(5, gamma=0.9)
    assert np.isfinite(transfer_value_difference(est, bigger))


def test_bad_inputs(demos):
    with pytest.raises(TypeError, match="has no transfer_reward"):
        transfer_value_difference(object(), TEST)
    with pytest.raises(NotFittedError):
        transfer_value_difference(MaxEntIRL(), TEST)
    est = MaxEntIRL(PolynomialFeatures(1)).fit(demos, TRAIN)
    with pytest.raises(ValueError, match="planner must be 'greedy' or 'soft'"):
        transfer_value_difference(est, TEST, planner="max")
    with pytest.raises(TypeError, match="TabularMDP"):
        transfer_value_difference(est, "CartPole-v1")


def test_transfer_return_trains_a_fresh_policy_on_the_learned_reward():
    gymnasium = pytest.importorskip("gymnasium")
    pytest.importorskip("torch")
    from test_airl import _cartpole_demos

    from sklirl import AIRL
    from sklirl.solvers import PPO

    ppo = PPO(n_envs=2, n_steps=32, n_epochs=1, batch_size=64)
    airl = AIRL(max_iter=1, disc_batch_size=16, solver=ppo, random_state=0)
    airl.fit(_cartpole_demos(2), gymnasium.make("CartPole-v1"))
    returns = transfer_return(airl, gymnasium.make("CartPole-v1", max_episode_steps=50),
                              solver=ppo.set_params(total_timesteps=64), n_episodes=3,
                              random_state=0)
    assert returns.shape == (3,) and np.all((returns >= 1) & (returns <= 50))
    with pytest.raises(ValueError, match="n_episodes must be a positive int"):
        transfer_return(airl, "CartPole-v1", n_episodes=0)
