"""
GridWorld quickstart: three estimators, one reward
==================================================

This is what ``python -m sklirl.quickstart`` does, step by step. A GridWorld has a known
reward: a big goal in the bottom-right corner, a small one in the top-right corner and a wall
of negative reward down the middle. We sample demonstrations from its soft-optimal expert,
hide the reward, and ask :class:`~sklirl.MaxMarginIRL`, :class:`~sklirl.MaxEntIRL` and
:class:`~sklirl.GAIL` to recover it. ``SKLIRL_EXAMPLE_FAST=1`` gives GAIL fewer rounds, for
the test suite.
"""

# %%
# The environment and the expert's demonstrations
# -----------------------------------------------
import os
import time

import matplotlib.pyplot as plt
import numpy as np

from sklirl import GAIL, MaxEntIRL, MaxMarginIRL
from sklirl.datasets import make_expert_demos
from sklirl.envs import GridWorld
from sklirl.metrics import expected_value_difference
from sklirl.plotting import plot_learning_curve, plot_policy, plot_reward_comparison
from sklirl.quickstart import quickstart_reward

env = GridWorld(size=8, slip=0.1, gamma=0.9, reward=quickstart_reward(8))
demos, expert = make_expert_demos(env, n_trajectories=96, horizon=25, random_state=0)
train, test = demos[:64], demos[64:]
print(f"{len(train)} training and {len(test)} held-out demos of {len(train[0])} steps")

# %%
# Fit the three estimators
# ------------------------
# Each estimator is fitted the same way, ``fit(demos, env)``; the environment gives the
# transition model, never the reward. GAIL gets a small discriminator and 40 rounds so
# that this example runs in seconds.
n_rounds = 15 if os.environ.get("SKLIRL_EXAMPLE_FAST", "0") == "1" else 40
estimators = {
    "MaxMarginIRL": MaxMarginIRL(epsilon=0.1),
    "MaxEntIRL": MaxEntIRL(),
    "GAIL": GAIL(max_iter=n_rounds, hidden_layer_sizes=(32,), disc_learning_rate=1e-2,
                 random_state=0),
}
evd = {"uniform": expected_value_difference(env, policy=np.full((env.n_states, 4), 0.25))}
print(f"{'estimator':<13} {'fit s':>6} {'EVD':>7} {'held-out LL':>12}")
for name, est in estimators.items():
    start = time.perf_counter()
    est.fit(train, env)
    seconds = time.perf_counter() - start
    evd[name] = expected_value_difference(env, learned_reward=est.reward_)
    print(f"{name:<13} {seconds:6.1f} {evd[name]:7.3f} {est.score(test):12.3f}")
print(f"{'uniform':<13} {'-':>6} {evd['uniform']:7.3f} {-np.log(4):12.3f}")

# %%
# The expected value difference (EVD) is how much true reward the optimal policy of the
# recovered reward loses: 0 means the recovered reward leads to an optimal policy (the
# ``uniform`` row is a uniformly random policy, for scale). The held-out log-likelihood is
# ``score``: how well the learned policy predicts the expert's actions on demonstrations it
# has not seen (a uniform policy scores log(1/4) = -1.386).
# MaxMarginIRL's policy is a mixture of deterministic policies, which can give an expert
# action probability 0 and so a log-likelihood of minus infinity.

# %%
# True and recovered rewards
# --------------------------
# Rewards are recovered only up to scale and shift, so each map is standardised. The
# arrows are the expert's policy on the true reward and each estimator's learned policy on
# its recovered reward.
rewards = {"true reward": env.reward}
rewards.update({name: est.reward_ for name, est in estimators.items()})
fig = plot_reward_comparison(env, rewards)
policies = [expert] + [est.policy_ for est in estimators.values()]
for ax, policy in zip([ax for ax in fig.axes if ax.images], policies):
    plot_policy(env, policy, ax=ax, color="white")
plt.show()

# %%
# Learning curves
# ---------------
# ``history_`` records the diagnostics of each iteration: MaxEntIRL's negative
# log-likelihood and the gap between the expert's and the learner's feature expectations.
# The gap falls fast and levels off above 0: the L2 penalty (``l2=0.1``, whose weight
# falls as 1 / n with the number n of demo steps) keeps the reward from matching the demos'
# sampling noise exactly.
ax = plot_learning_curve(estimators["MaxEntIRL"], keys=["gap"], logy=True,
                         title="MaxEntIRL: feature-expectation gap")
plt.show()
