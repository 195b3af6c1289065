"""
ObjectWorld: expected value difference against the number of demonstrations
===========================================================================

The benchmark of Levine, Popovic & Koltun (2011), as used by Wulfmeier et al. (2015) for
Maximum Entropy Deep IRL: a 32 x 32 ObjectWorld, demonstrations of length 8 from uniform start
states by the soft-optimal (maximum-entropy) expert, and the *expected value difference* (EVD):
how much true reward the optimal policy of the learned reward loses against the true optimum.

We compare the estimators, each with the reward models it supports:

* :class:`sklirl.MaxEntIRL` with one weight per state (``OneHotStates``, the default), linear
  in the (standardised) distances to the nearest object of each colour, an MLP on the same
  distances (``reward_model="mlp"``, needs torch), and linear in the 3 true reward features
  (the indicators of the reward regions): the reward is then exactly representable and EVD
  should be ~0;
* :class:`sklirl.MaxMarginIRL` (Abbeel & Ng's projection method), linear in the distances;
* :class:`sklirl.GAIL` on the tabular env (soft value iteration as the generator, a small
  discriminator on one-hot states; needs torch).

We report EVD on the training world and on new, randomly generated worlds (transfer), where
the learned reward is evaluated through the fitted feature map and re-planned.
This takes about 40 seconds on 2 cores by default (one training world; half of it is the
MLP); set the environment variable ``SKLIRL_EXAMPLE_SEEDS`` (e.g. to 5) to average
over more worlds for smoother curves. ``SKLIRL_EXAMPLE_FAST=1`` runs a reduced version in
seconds (a 16 x 16 world, fewer demo counts, one transfer world): the test suite and the
documentation build use it, so the figure below comes from that reduced run.
"""

# %%
import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_hex
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from sklirl import GAIL, MaxEntIRL, MaxMarginIRL
from sklirl.datasets import make_expert_demos
from sklirl.envs import ObjectWorld
from sklirl.features import transform_feature_matrix
from sklirl.metrics import expected_value_difference
from sklirl.plotting import plot_evd_curve

FAST = os.environ.get("SKLIRL_EXAMPLE_FAST", "0") == "1"
SIZE = 16 if FAST else 32
N_DEMOS = [8, 64] if FAST else [4, 8, 16, 32, 64, 128]
N_SEEDS = int(os.environ.get("SKLIRL_EXAMPLE_SEEDS", 1))  # training worlds (and demo sets)
N_TRANSFER = 1 if FAST else 2  # new worlds per training world for the transfer EVD
warnings.filterwarnings("ignore", category=ConvergenceWarning)


def true_features(distances):
    """Indicators of the +5, -10 and 0 regions, computed from the distance features."""
    near0, near1 = distances[:, 0] < 3, distances[:, 1] < 2
    return np.column_stack([near0 & near1, near0 & ~near1, ~near0]).astype(float)


try:
    import torch  # noqa: F401

    HAS_TORCH = True
except ImportError:
    HAS_TORCH = False


def make_models():
    models = {
        "MaxEnt, one-hot (tabular)": MaxEntIRL(),
        "MaxEnt, linear in distances": MaxEntIRL(StandardScaler()),
        "MaxEnt, 3 true features": MaxEntIRL(FunctionTransformer(true_features), l2=1e-3),
    }
    if HAS_TORCH:
        # Weight decay smooths the reward as a function of the distances: without it the MLP
        # fits the demos' visitation noise and transfers worse than the linear model.
        models["MaxEnt, MLP on distances"] = MaxEntIRL(
            StandardScaler(), reward_model="mlp", hidden_layer_sizes=(32, 32), l2=0.1,
            weight_decay=1.0, max_iter=30 if FAST else 300, random_state=0,
        )
    models["MaxMargin (projection), distances"] = MaxMarginIRL(
        "projection", features=StandardScaler(), epsilon=0.1, max_iter=20 if FAST else 50,
    )
    if HAS_TORCH:
        models["GAIL (tabular, one-hot)"] = GAIL(
            max_iter=8 if FAST else 40, hidden_layer_sizes=(32,), disc_learning_rate=1e-2,
            random_state=0,
        )
    return models


def transfer_reward(est, world):
    """The learned reward on another world, through the fitted feature map (None: tabular)."""
    if isinstance(est, MaxEntIRL):
        return None if est.features is None else est.transfer_reward(world)
    if isinstance(est, MaxMarginIRL):
        phi = transform_feature_matrix(est.features_, world)
        return np.asarray(phi @ est.coef_, dtype=float).ravel()
    return None  # GAIL's discriminator here is on one-hot states


# %%
# Fit every model for every number of demonstrations
# ---------------------------------------------------
# The world's state features are the continuous distances to the nearest object of each
# primary and secondary colour. The one-hot models (tabular MaxEnt, GAIL on state indices)
# cannot transfer to a new world: their features are state identities, not properties of the
# state, so they have no transfer curve.
names = list(make_models())
evd_train = {name: np.zeros((N_SEEDS, len(N_DEMOS))) for name in names}
evd_transfer = {name: np.zeros((N_SEEDS, len(N_DEMOS))) for name in names}
evd_uniform = np.zeros(N_SEEDS)
fit_seconds = dict.fromkeys(names, 0.0)
start = time.perf_counter()
for seed in range(N_SEEDS):
    world = ObjectWorld(SIZE, random_state=seed)
    new_worlds = [ObjectWorld(SIZE, random_state=1000 + N_TRANSFER * seed + k)
                  for k in range(N_TRANSFER)]
    uniform = np.full((world.n_states, world.n_actions), 1.0 / world.n_actions)
    evd_uniform[seed] = expected_value_difference(world, policy=uniform)
    for j, n in enumerate(N_DEMOS):
        demos, _ = make_expert_demos(world, n, horizon=8, random_state=100 * seed + n)
        for name, est in make_models().items():
            tic = time.perf_counter()
            est.fit(demos, world)
            fit_seconds[name] += time.perf_counter() - tic
            evd_train[name][seed, j] = expected_value_difference(
                world, learned_reward=est.reward_)
            rewards = [transfer_reward(est, w) for w in new_worlds]
            evd_transfer[name][seed, j] = np.nan if rewards[0] is None else np.mean([
                expected_value_difference(w, learned_reward=r)
                for w, r in zip(new_worlds, rewards)
            ])
        print(f"seed {seed}, {n:3d} demos: " + "; ".join(
            f"{name} {evd_train[name][seed, j]:.1f} / {evd_transfer[name][seed, j]:.1f}"
            for name in names))
print(f"uniform policy: EVD {evd_uniform.mean():.1f}")
print(f"done in {time.perf_counter() - start:.0f} s; fit seconds: " + ", ".join(
    f"{name} {seconds:.1f}" for name, seconds in fit_seconds.items()))

# %%
# Expected value difference
# -------------------------
# Lower is better; the dashed line is a uniformly random policy. With the true features the
# reward is linear in the features, so MaxEnt IRL recovers it from very few demonstrations.
# The distance-based models must learn thresholds of the distances, which a linear reward
# cannot express exactly; the MLP can (with weight decay, so that it learns a smooth function
# of the distances rather than the demos' visitation noise), and from about 32 demos on it
# beats the linear reward on the training world and on new ones. The tabular models
# (one-hot MaxEnt, GAIL) improve steadily with more demonstrations and cannot transfer.
# MaxMarginIRL returns a *mixture* of policies that matches the expert's feature
# expectations; the EVD plotted here is that of the greedy policy of its last reward ``w``,
# which the projection method does not optimise for, so it is the noisiest curve. With one
# training world (and one demo set per point) every curve is noisy: raise
# ``SKLIRL_EXAMPLE_SEEDS`` for means and error bands.
colors = {name: to_hex(f"C{k}") for k, name in enumerate(names)}
fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True, layout="constrained")
panels = [
    (axes[0], evd_train, f"training world ({SIZE}x{SIZE})"),
    (axes[1], evd_transfer,
     f"transfer to {N_TRANSFER} new world{'s' if N_TRANSFER > 1 else ''}"
     "\n(one-hot rewards cannot transfer)"),
]
for ax, table, title in panels:
    curves = {name: table[name] for name in names if not np.all(np.isnan(table[name]))}
    ax.set_prop_cycle(color=[colors[name] for name in curves])
    plot_evd_curve(N_DEMOS, curves, ax=ax, logx=False, title=title)
    ax.axhline(evd_uniform.mean(), color="gray", linestyle="--", label="uniform policy")
    ax.set_xscale("log", base=2)
    ax.set_xticks(N_DEMOS, [str(n) for n in N_DEMOS])
    ax.minorticks_off()
    ax.set_xlabel("number of demonstrations (length 8)")
    ax.grid(alpha=0.3)
    ax.get_legend().remove()
axes[1].set_ylabel("")
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=4,
           fontsize=9)
plt.show()
