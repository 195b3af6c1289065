"""
Loading demonstrations recorded elsewhere
=========================================

Demonstrations rarely start life as :class:`~sklirl.Trajectory` objects. sklirl accepts,
wherever it takes demos, a list of

* :class:`~sklirl.Trajectory` objects or ``(states, actions)`` pairs,
* dicts with ``obs``/``acts`` (the ``imitation`` library's field names),
  ``observations``/``actions`` (Minari's) or ``states``/``actions`` keys,
* any object with ``obs``/``acts`` or ``observations``/``actions`` attributes (imitation's
  ``Trajectory`` dataclass, Minari's ``EpisodeData``),

and :func:`sklirl.demos.check_demos` converts them all, with an error that names the
trajectory and the step when something is wrong. This example builds each format by hand,
as a stand-in for data recorded by another library, and fits on it.
"""

# %%
from dataclasses import dataclass

import numpy as np

from sklirl import MaxEntIRL
from sklirl.datasets import make_expert_demos
from sklirl.demos import check_demos, load_demos, save_demos
from sklirl.envs import GridWorld

env = GridWorld(size=5, slip=0.1, gamma=0.9)
demos, _ = make_expert_demos(env, n_trajectories=20, horizon=12, random_state=0)

# %%
# imitation-style records: ``obs`` has one more entry than ``acts`` (the final observation).
imitation_style = [{"obs": t.states, "acts": t.actions, "infos": None} for t in demos]


# %%
# Minari-style episodes: objects with ``observations`` and ``actions`` attributes.
@dataclass
class Episode:
    id: int
    observations: np.ndarray
    actions: np.ndarray


minari_style = [Episode(i, t.states, t.actions) for i, t in enumerate(demos)]

# %%
# Plain ``(states, actions)`` lists, e.g. read from a CSV file.
pairs = [(t.states.tolist(), t.actions.tolist()) for t in demos]

# %%
# All three give the same trajectories, hence the same fitted reward.
for name, data in (("imitation", imitation_style), ("minari", minari_style), ("pairs", pairs)):
    trajs = check_demos(data, n_states=env.n_states, n_actions=env.n_actions)
    irl = MaxEntIRL().fit(data, env)
    print(f"{name:>9}: {len(trajs)} trajectories, score {irl.score(demos):.4f}")

# %%
# The reward recovered from the imitation-style records next to the true one (standardised:
# IRL recovers a reward only up to scale and shift), with the learned policy's moves.
import matplotlib.pyplot as plt

from sklirl.plotting import plot_policy, plot_reward_comparison

irl = MaxEntIRL().fit(imitation_style, env)
fig = plot_reward_comparison(env, {"true reward": env.reward,
                                   "from imitation records": irl.reward_})
plot_policy(env, irl.policy_, ax=[ax for ax in fig.axes if ax.images][1], color="white")
plt.show()

# %%
# Save and load without pickle: ``save_demos`` writes a ``.npz`` file that ``load_demos``
# reads back with ``allow_pickle=False``.
import tempfile
from pathlib import Path

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "demos.npz"
    save_demos(path, imitation_style)
    loaded = load_demos(path)
print(len(loaded), "trajectories loaded;",
      "identical:", all(np.array_equal(a.states, b.states) for a, b in zip(loaded, demos)))

# %%
# Malformed data fails early, naming the trajectory and the step.
bad = [dict(d) for d in imitation_style]
bad[3] = {"obs": demos[3].states, "acts": np.r_[demos[3].actions[:-1], 7]}
try:
    MaxEntIRL().fit(bad, env)
except ValueError as exc:
    print("ValueError:", exc)
