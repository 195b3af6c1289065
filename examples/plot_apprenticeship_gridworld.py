"""
Apprenticeship learning on Abbeel & Ng's gridworld
==================================================

Abbeel & Ng (2004) test apprenticeship learning on a gridworld whose reward is a sparse,
positive, linear function of *macro-cell* indicators: the grid is cut into square blocks and
each block has its own (mostly zero) reward. Moves fail 30% of the time (a random move is
made instead). The expert plans with the true reward; the learner only sees its
trajectories and the macro-cell features, and returns a mixture of policies whose feature
expectations match the expert's.

This example runs both of the paper's methods, ``method="max_margin"`` (a small QP per
iteration) and ``method="projection"``, on a 32 x 32 grid with 4 x 4 macro cells (64
features), and plots the distance ``||rho_E - rho||`` between the expert's feature
expectations and the closest mixture found so far, per iteration. ``SKLIRL_EXAMPLE_FAST=1``
runs a reduced version (a 16 x 16 grid, shorter demonstrations, fewer iterations) for the
test suite.
"""

# %%
# The world and the expert
# ------------------------
# The true reward weights are sparse and positive: each macro cell gets a uniform [0, 1)
# weight with probability 0.1. The expert is the optimal policy for that reward, and
# starts every trajectory in the top-left cell.
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np

from sklirl import MaxMarginIRL
from sklirl.datasets import sample_trajectories
from sklirl.envs import GridWorld
from sklirl.features import MacroCells, fit_feature_matrix
from sklirl.metrics import policy_value
from sklirl.solvers import ValueIteration

rng = np.random.RandomState(0)
FAST = os.environ.get("SKLIRL_EXAMPLE_FAST", "0") == "1"
size, cell, slip, gamma = (16, 4, 0.3, 0.95) if FAST else (32, 4, 0.3, 0.99)
horizon = 150 if FAST else 700  # gamma ** horizon < 0.001
max_iter = 15 if FAST else 40
start = np.zeros(size * size)
start[0] = 1.0
grid = GridWorld(size, slip=slip, gamma=gamma, initial_state_distribution=start)
_, phi = fit_feature_matrix(MacroCells(cell), grid)
true_w = rng.rand(phi.shape[1]) * (rng.rand(phi.shape[1]) < 0.1)
env = GridWorld(
    size, slip=slip, gamma=gamma, reward=phi @ true_w, initial_state_distribution=start
)
expert = ValueIteration().solve(env, env.reward)
expert_value = policy_value(env, expert, env.reward)
print(f"{(true_w > 0).sum()} rewarding macro cells; expert value {expert_value:.3f}")

# %%
# Demonstrations
# --------------
# 20 trajectories of 700 steps (``0.99 ** 700 < 0.001``, so truncating the discounted sum
# there changes the feature expectations by less than 0.1%; fast mode: ``0.95 ** 150``).
demos = sample_trajectories(env, expert, 20, horizon=horizon, random_state=1)

# %%
# Both methods
# ------------
# Each iteration solves the MDP for the current reward guess ``w . phi`` with value
# iteration and adds the resulting policy. The learned mixture is evaluated under the
# true reward.
fits = {}
for method in ("max_margin", "projection"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the noisy rho_E is never matched to epsilon
        irl = MaxMarginIRL(method, features=MacroCells(cell), max_iter=max_iter).fit(demos, env)
    value = policy_value(env, irl.policy_, env.reward)
    fits[method] = irl
    print(
        f"{method:>10}: {irl.n_iter_} iterations, {len(irl.policies_)} policies, "
        f"final distance {irl.margins_[-1]:.3f}, mixture value {value:.3f} "
        f"({100 * value / expert_value:.2f}% of the expert's)"
    )

# %%
# Distance to the expert's feature expectations per iteration
# ------------------------------------------------------------
# For ``max_margin`` the margin ``t_i`` is exactly the distance from ``rho_E`` to the
# convex hull of the policies found so far; for ``projection`` it is
# ``||rho_E - rho_bar_i||``. Both decrease monotonically; the max-margin QP uses all
# policies at once and gets closer in fewer iterations. The distance levels off above
# zero because ``rho_E`` is estimated from 20 noisy trajectories and is not exactly
# achievable.
fig, ax = plt.subplots(figsize=(6, 4))
for method, irl in fits.items():
    ax.plot(np.arange(1, irl.n_iter_ + 1), irl.margins_, marker="o", ms=3, label=method)
ax.set_yscale("log")
ax.set_xlabel("iteration")
ax.set_ylabel(r"$\|\rho_E - \rho\|_2$")
ax.set_title(f"Apprenticeship learning, {size} x {size} gridworld, {cell} x {cell} macro cells")
ax.legend()
fig.tight_layout()
plt.show()
