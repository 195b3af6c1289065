"""
Demonstrations recorded in gymnasium
====================================

The most common way to bring demonstrations: step the real gymnasium environment with an
expert, keep the episodes, and learn from them. Here 50 expert episodes are recorded with
:func:`~sklirl.datasets.record_episodes` in FrozenLake (slippery and not), CliffWalking and
Taxi, the model comes from :func:`~sklirl.envs.from_gymnasium` at its defaults, the
estimators run at theirs, and the learned policy acts in the same gymnasium env through
``predict(obs)``.

Most episodes *end*: the agent reaches the goal, falls into a hole, drops the passenger off.
:func:`~sklirl.datasets.record_episodes` marks those demonstrations ``terminal=True``, and
every estimator then lets them continue in the model's absorbing state for the rest of the
horizon (:ref:`terminal_states`). Dropping the flag (the "before" column) treats them as
recordings that were cut short: their visitation is renormalised over the states they saw,
the learned reward punishes ending the episode, and the learned policy never reaches the goal.
"""

# %%
import os

import gymnasium
import matplotlib.pyplot as plt
import numpy as np

from sklirl import GAIL, MaxEntIRL, MaxMarginIRL, Trajectory
from sklirl.datasets import record_episodes
from sklirl.envs import from_gymnasium
from sklirl.solvers import ValueIteration
from sklirl.utils._gym_compat import toy_text_id

# The fast mode (the test suite, the default docs build) runs two envs and fewer episodes.
FAST = os.environ.get("SKLIRL_EXAMPLE_FAST", "0") == "1"
N_DEMOS, N_EVAL, MAX_STEPS = 50, 100 if FAST else 500, 200

ENVS = {
    "FrozenLake": lambda: gymnasium.make("FrozenLake-v1", is_slippery=False),
    "FrozenLake (slippery)": lambda: gymnasium.make("FrozenLake-v1", is_slippery=True),
    "CliffWalking": lambda: gymnasium.make(toy_text_id("CliffWalking")),
    "Taxi": lambda: gymnasium.make(toy_text_id("Taxi")),
}
ESTIMATORS = {"MaxEntIRL": MaxEntIRL, "MaxMarginIRL": MaxMarginIRL,
              "GAIL": lambda: GAIL(random_state=0)}
if FAST:
    ENVS = {name: ENVS[name] for name in ("FrozenLake", "CliffWalking")}
    ESTIMATORS = {name: ESTIMATORS[name] for name in ("MaxEntIRL", "MaxMarginIRL")}


def mean_return(env, policy):
    """Mean undiscounted return of ``policy`` over N_EVAL episodes of the gymnasium env."""
    _, rewards = record_episodes(env, policy, N_EVAL, max_steps=MAX_STEPS, random_state=1,
                                 return_rewards=True)
    return float(np.mean([r.sum() for r in rewards]))


# %%
# The expert is optimal for the env's own reward (value iteration on the model). Its
# episodes are recorded by stepping gymnasium; for each estimator the learned policy is
# scored in gymnasium, once from the demos as recorded ("after") and once from the same
# demos with the ``terminal`` flag dropped ("before").
table = {}
for env_name, make in ENVS.items():
    env = make()
    mdp = from_gymnasium(env)
    expert_policy = ValueIteration().solve(mdp, mdp.reward)

    def expert(obs, probs=expert_policy.probs):
        return int(probs[obs].argmax())

    demos = record_episodes(env, expert, N_DEMOS, max_steps=MAX_STEPS, random_state=0)
    cut = [Trajectory(t.states, t.actions) for t in demos]
    table[env_name, "expert"] = (mean_return(env, expert),) * 2
    for est_name, make_est in ESTIMATORS.items():
        before = mean_return(env, make_est().fit(cut, mdp))
        after = mean_return(env, make_est().fit(demos, mdp))
        table[env_name, est_name] = (before, after)
    print(f"{env_name}: {sum(t.terminal for t in demos)} of {N_DEMOS} demos terminated")

# %%
# Mean return over the evaluation episodes (FrozenLake: the success rate; CliffWalking and
# Taxi: -200 is an episode that never reaches the goal in 200 steps).
print(f"{'env':<24}{'policy':<14}{'before':>10}{'after':>10}")
for (env_name, policy), (before, after) in table.items():
    print(f"{env_name:<24}{policy:<14}{before:>10.3f}{after:>10.3f}")

# %%
# The same table as a bar chart: the learned policy's return relative to the expert's.
names = list(ESTIMATORS)
fig, axes = plt.subplots(1, len(ENVS), figsize=(3.2 * len(ENVS), 3.2), layout="constrained")
for ax, env_name in zip(np.atleast_1d(axes), ENVS):
    expert_return = table[env_name, "expert"][1]
    x = np.arange(len(names))
    for offset, column, label in ((-0.2, 0, "terminal flag dropped"),
                                  (0.2, 1, "terminal=True")):
        ax.bar(x + offset, [table[env_name, n][column] for n in names], width=0.4, label=label)
    ax.axhline(expert_return, color="k", linestyle="--", linewidth=1, label="expert")
    ax.set_xticks(x, names, rotation=20)
    ax.set_title(env_name)
np.atleast_1d(axes)[0].set_ylabel("mean return in gymnasium")
np.atleast_1d(axes)[0].legend(fontsize=8)
plt.show()
