"""
FrozenLake from gymnasium
=========================

:func:`~sklirl.envs.from_gymnasium` turns a gymnasium toy-text environment that exposes its
model (``P[s][a]``) into a :class:`~sklirl.envs.TabularMDP`. Here the 4 x 4 FrozenLake
without slipping (``is_slippery=True``, the default, makes the agent slide sideways two
times out of three and works the same way): holes end the episode, and the only reward is 1
for reaching the goal. We recover that reward from demonstrations.
"""

# %%
import gymnasium
import matplotlib.pyplot as plt
import numpy as np

from sklirl import MaxEntIRL
from sklirl.datasets import make_expert_demos
from sklirl.envs import from_gymnasium
from sklirl.expectations import occupancy_measure
from sklirl.metrics import expected_value_difference
from sklirl.plotting import plot_occupancy, plot_policy, plot_reward

# With absorbing_terminal=False the model keeps the toy-text convention: holes and the goal
# loop on themselves, so "the episode ended in the goal" and "... in a hole" stay different
# states, which a state reward can tell apart.
lake = gymnasium.make("FrozenLake-v1", is_slippery=False)
mdp = from_gymnasium(lake, gamma=0.95, absorbing_terminal=False)
print(mdp.n_states, "states,", mdp.n_actions, "actions")

# %%
# The true reward is per state-action (the expected reward of the move). A low temperature
# makes the soft-optimal expert decisive: with a reward of 1 it would otherwise wander.
reward = mdp.reward
demos, expert = make_expert_demos(mdp, n_trajectories=200, horizon=30, reward=reward,
                                  temperature=0.02, random_state=0)
reached = np.mean([traj.states[-1] == 15 for traj in demos])
print(f"{reached:.0%} of the demonstrations reach the goal within 30 steps")

# %%
# Fit MaxEntIRL with its default tabular (one-hot state) reward.
irl = MaxEntIRL().fit(demos, mdp)
print(f"EVD of the recovered reward: "
      f"{expected_value_difference(mdp, true_reward=reward, learned_reward=irl.reward_):.3f}")
print(f"EVD of a uniform policy: "
      f"{expected_value_difference(mdp, true_reward=reward, policy=np.full((16, 4), 0.25)):.3f}")

# %%
# The EVD of the recovered reward is close to 0: planning on it gives an optimal policy.
# The map is not the true reward, which pays only for the move into the goal: rewards are
# identified only up to scale and shaping. It is highest on the goal and high along the
# expert's path, which is what the demonstrations show. The true reward's map shows the
# cell left of the goal, from which the rewarded move starts.
#
# FrozenLake's actions are 0 = left, 1 = down, 2 = right, 3 = up, so ``plot_policy`` needs
# their moves. The holes are at (1, 1), (1, 3), (2, 3), (3, 0) and the goal at (3, 3).
moves = [(0, -1), (1, 0), (0, 1), (-1, 0)]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), layout="constrained")
plot_reward(mdp, reward, shape=(4, 4), ax=axes[0], title="true reward (max over actions)")
plot_reward(mdp, irl.reward_, shape=(4, 4), ax=axes[1], title="recovered reward")
plot_policy(mdp, irl.policy_, shape=(4, 4), moves=moves, ax=axes[1], color="white")
plot_occupancy(mdp, occupancy_measure(mdp, expert), shape=(4, 4), ax=axes[2], log=True,
               title="expert state visitation (log scale)")
plt.show()
