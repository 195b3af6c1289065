"""
GAIL on CartPole: learning curve against the expert
===================================================

Generative adversarial imitation learning (Ho & Ermon, 2016) on gymnasium's ``CartPole-v1``.

1. An expert is trained with the library's own PPO (:class:`sklirl.solvers.PPO`) on the true
   reward, and 20 of its episodes become the demonstrations.
2. :class:`sklirl.GAIL` never sees the true reward: each round it collects a rollout of its
   policy, trains the discriminator ``D(s, a)`` to tell the policy's state-actions (``D -> 1``)
   from the expert's, and takes one PPO step on the pseudo-reward ``-log D(s, a)``.
3. A ``callback`` evaluates the deterministic policy after every round; we plot its true return
   against environment steps, with the expert's return and the discriminator's accuracies, which
   move toward 1/2 as the policy becomes indistinguishable from the expert.

It takes about 20 seconds on 2 cores (the expert half of it). ``SKLIRL_EXAMPLE_FAST=1`` runs
a reduced version in seconds (a briefly trained expert, 5 demonstrations and a few small GAIL
rounds) that shows the mechanics, not the final performance: the test suite and the
documentation build use it, so the figure below comes from that reduced run.
"""

# %%
import os
import time

import gymnasium
import matplotlib.pyplot as plt
import numpy as np

from sklirl import GAIL, Trajectory
from sklirl.solvers import PPO

ENV_ID = "CartPole-v1"
FAST = os.environ.get("SKLIRL_EXAMPLE_FAST", "0") == "1"
EXPERT_STEPS = 8_192 if FAST else 100_000
N_DEMOS = 5 if FAST else 20
N_ROUNDS = 4 if FAST else 40
N_EVAL = 3 if FAST else 10

# %%
# The expert and its demonstrations
# ---------------------------------
expert = PPO(total_timesteps=EXPERT_STEPS, random_state=0).solve(ENV_ID)
expert_return = expert.evaluate(ENV_ID, n_episodes=2 * N_EVAL, random_state=0).mean()


def record_episodes(policy, n_episodes, seed):
    env = gymnasium.make(ENV_ID)
    demos = []
    for i in range(n_episodes):
        obs, _ = env.reset(seed=seed + i)
        states, actions = [obs], []
        while True:
            action = int(policy.act(obs))
            obs, _, terminated, truncated, _ = env.step(action)
            states.append(obs)
            actions.append(action)
            if terminated or truncated:
                break
        demos.append(Trajectory(np.array(states), np.array(actions)))
    return demos


demos = record_episodes(expert, N_DEMOS, seed=1000)
print(f"expert return {expert_return:.1f}; {len(demos)} demos, {sum(map(len, demos))} steps")

# %%
# GAIL, evaluated after every round
# ---------------------------------
# In fast mode the generator is a smaller PPO (4 envs x 128 steps, 4 epochs per round).
curve = []
solver = (PPO(n_envs=4, n_steps=128, n_epochs=4, batch_size=256, learning_rate=3e-4)
          if FAST else None)


def evaluate_round(gail, row):
    returns = gail.policy_.evaluate(ENV_ID, n_episodes=N_EVAL, random_state=0)
    curve.append((row["env_steps"], returns.mean()))


start = time.perf_counter()
gail = GAIL(max_iter=N_ROUNDS, solver=solver, random_state=0, callback=evaluate_round).fit(
    demos, gymnasium.make(ENV_ID)
)
print(f"GAIL: {gail.history_['env_steps'][-1]} env steps in {time.perf_counter() - start:.0f} s"
      f" (evaluation included); final return {curve[-1][1]:.1f}")

# %%
# Learning curve
# --------------
steps, returns = np.array(curve).T
acc_E = gail.history_["disc_accuracy_expert"]
acc_pi = gail.history_["disc_accuracy_policy"]

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
ax1.plot(steps, returns, marker=".", label="GAIL (deterministic policy)")
ax1.axhline(expert_return, color="k", linestyle="--", label="expert")
ax1.axhline(0.95 * expert_return, color="gray", linestyle=":", label="95% of expert")
ax1.set_xlabel("environment steps")
ax1.set_ylabel(f"true return (mean of {N_EVAL} episodes)")
ax1.legend(loc="best")
ax2.plot(steps, acc_E, label="on expert samples")
ax2.plot(steps, acc_pi, label="on policy samples")
ax2.axhline(0.5, color="gray", linestyle=":")
ax2.set_xlabel("environment steps")
ax2.set_ylabel("discriminator accuracy")
ax2.set_ylim(0, 1.05)
ax2.legend()
fig.tight_layout()
plt.show()
