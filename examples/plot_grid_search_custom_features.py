"""
Grid search over a custom feature map
=====================================

A tabular reward (one weight per state) needs many demonstrations. When the reward is
smooth in the state, a small feature map generalises from fewer. Any scikit-learn
transformer of the env's ``state_features`` (here the (row, col) of each cell) is a feature
map, and its parameters are tuned through the estimator with ``GridSearchCV``, scored by the
held-out log-likelihood of expert actions. ``SKLIRL_EXAMPLE_FAST=1`` searches a smaller grid
with 2 folds, for the test suite.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, SplineTransformer

from sklirl import MaxEntIRL
from sklirl.datasets import make_expert_demos
from sklirl.envs import GridWorld
from sklirl.metrics import expected_value_difference
from sklirl.plotting import plot_reward_comparison

# %%
# A smooth true reward: a hill centred at (2, 6) on a 10 x 10 grid.
size = 10
rows, cols = np.divmod(np.arange(size * size), size)
true_reward = 3.0 * np.exp(-((rows - 2.0) ** 2 + (cols - 6.0) ** 2) / 8.0)
env = GridWorld(size=size, slip=0.1, gamma=0.9, reward=true_reward)
demos, _ = make_expert_demos(env, n_trajectories=30, horizon=20, random_state=0)

# %%
# A custom feature map: B-splines of the row and the column, plus their products
# (a tensor-product spline), written as a Pipeline of standard transformers.


def pairwise_products(X):
    """Products of every pair of columns (the tensor-product basis)."""
    i, j = np.triu_indices(X.shape[1], k=1)
    return np.hstack([X, X[:, i] * X[:, j]])


features = make_pipeline(SplineTransformer(degree=2), FunctionTransformer(pairwise_products))

# %%
# Tune the number of knots of the spline and the L2 penalty of MaxEntIRL by 3-fold
# cross-validation over the trajectories: ``demos`` is a list, so the CV splitters index it,
# and the environment is passed as ``env=``.
FAST = os.environ.get("SKLIRL_EXAMPLE_FAST", "0") == "1"
search = GridSearchCV(
    MaxEntIRL(features=features),
    {"features__splinetransformer__n_knots": [3, 5], "l2": [1.0] if FAST else [1.0, 100.0]},
    cv=2 if FAST else 3,
)
search.fit(demos, env=env)
print("best parameters:", search.best_params_)
print(f"best held-out log-likelihood: {search.best_score_:.3f}")
for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
    print(f"  {params}: {score:.3f}")

# %%
# Compare with the tabular reward fitted on the same demos.
tabular = MaxEntIRL().fit(demos, env)
best = search.best_estimator_
for name, est in (("tabular", tabular), ("spline", best)):
    evd = expected_value_difference(env, learned_reward=est.reward_)
    print(f"{name:>8}: EVD {evd:.3f}")

fig = plot_reward_comparison(
    env, {"true reward": true_reward, "tabular MaxEnt": tabular.reward_,
          "spline MaxEnt": best.reward_}
)
plt.show()
