"""Small estimators built on :class:`~sklirl.base.BaseIRL` for testing the shared machinery.

They live in the package (not in a test file) so that worker processes of joblib's loky
backend and of a Dask cluster can unpickle them by reference. They orchestrate the library's
own math (feature maps, solvers, expectations) and are not meant for users.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval

from ..base import BaseIRL
from ..expectations import (
    ExactExpectation,
    empirical_occupancy,
    feature_expectations,
    policy_from_occupancy,
)
from ..solvers import SoftValueIteration
from ._docstring import fill_doc

__all__ = ["TabularBehaviorCloning", "FeatureMatchingIRL"]


class TabularBehaviorCloning(BaseIRL):
    """Policy from the demos' smoothed empirical action frequencies in each state.

    Parameters
    ----------
    alpha : float, default=1.0
        Additive (Laplace) smoothing of the action counts; 0 gives the raw frequencies
        (uniform in unvisited states).

    Attributes
    ----------
    policy_ : TabularPolicy
    reward_ : ndarray of shape (S, A)
        The log-probabilities of the policy (the reward for which it is soft-optimal when
        gamma = 0).
    n_iter_ : int
        Always 1.
    env_ : TabularMDP
    """

    _parameter_constraints: dict = {"alpha": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def _fit(self, demos, env, sample_weight):
        counts = empirical_occupancy(
            demos, env.n_states, env.n_actions, gamma=1.0, sample_weight=sample_weight
        )
        self.policy_ = policy_from_occupancy(counts + self.alpha)
        self.reward_ = np.array(self.policy_.log_probs)
        self.n_iter_ = 1
        return self


@fill_doc
class FeatureMatchingIRL(BaseIRL):
    """Gradient ascent on the maximum-entropy likelihood with a linear reward ``w . phi(s)``.

    ``w <- w + learning_rate * (rho_E - rho_pi - l2 * w)`` for ``max_iter`` steps, where
    ``pi`` is the solver's policy for the current reward and ``rho`` are discounted feature
    expectations. A compact stand-in for :class:`~sklirl.MaxEntIRL` that exercises every kind
    of sub-estimator (feature map, solver, expectation estimator).

    Parameters
    ----------
    {features}
    {solver}
        None means :class:`~sklirl.solvers.SoftValueIteration`.
    {expectation}
        None means :class:`~sklirl.expectations.ExactExpectation`.
    learning_rate : float, default=0.1
    max_iter : int, default=10
    l2 : float, default=0.0
        L2 penalty on ``w``.

    Attributes
    ----------
    features_, solver_, expectation_ : fitted clones of the sub-estimators
    coef_ : ndarray of shape (k,)
    reward_ : ndarray of shape (S,)
    policy_ : TabularPolicy
    n_iter_ : int
    history_ : dict of lists
        ``"gap"``: the feature-expectation gap ``||rho_E - rho_pi||`` at each iteration.
    env_ : TabularMDP
    """

    _parameter_constraints: dict = {
        "features": [HasMethods(["fit", "transform"]), None],
        "solver": [HasMethods(["solve"]), None],
        "expectation": [HasMethods(["feature_expectations"]), None],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self, features=None, solver=None, expectation=None, learning_rate=0.1, max_iter=10,
        l2=0.0,
    ):
        self.features = features
        self.solver = solver
        self.expectation = expectation
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.l2 = l2

    def _fit(self, demos, env, sample_weight):
        phi = self._fit_feature_map(env)
        solver = self._clone_sub_estimator("solver", SoftValueIteration())
        expectation = self._clone_sub_estimator("expectation", ExactExpectation())
        rho_expert = feature_expectations(demos, phi, env=env, sample_weight=sample_weight)
        w = np.zeros(phi.shape[1])
        self.history_ = {"gap": []}
        for _ in range(self.max_iter):
            policy = solver.solve(env, np.asarray(phi @ w).ravel())
            rho = expectation.feature_expectations(env, policy, phi)
            self.history_["gap"].append(float(np.linalg.norm(rho_expert - rho)))
            w = w + self.learning_rate * (rho_expert - rho - self.l2 * w)
        self.coef_ = w
        self.reward_ = np.asarray(phi @ w).ravel()
        self.policy_ = solver.solve(env, self.reward_)
        self.n_iter_ = self.max_iter
        return self

    def _transfer_policy(self, env):
        return self.solver_.solve(env, np.asarray(self._feature_matrix(env) @ self.coef_).ravel())
