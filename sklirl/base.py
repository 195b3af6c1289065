"""Base class of the IRL estimators: the ``fit(demos, env)`` signature and prediction plumbing.

Subclasses implement ``_fit(demos, env, sample_weight)`` (demos already validated) and set
``policy_`` (and, for tabular envs, ``reward_``). Everything users call on a fitted estimator
(``predict_reward``, ``predict``, ``predict_proba``, ``score``) lives here once.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import metadata_routing
from sklearn.utils.validation import check_is_fitted

from .demos import check_demos
from .envs._gym import is_gymnasium_env
from .envs._tabular import TabularMDP
from .features import fit_feature_matrix, transform_feature_matrix
from .metrics import log_likelihood
from .solvers._tabular import TabularPolicy

__all__ = ["BaseIRL", "is_tabular_env"]


def is_tabular_env(env):
    """Whether ``env`` is a :class:`~sklirl.envs.TabularMDP`."""
    return isinstance(env, TabularMDP)


def _is_env(obj):
    return is_tabular_env(obj) or is_gymnasium_env(obj)


class BaseIRL(BaseEstimator):
    """Base class for inverse RL and imitation estimators fitted with ``fit(demos, env)``.

    ``demos`` plays the role of ``X`` (a list of trajectories, indexable by scikit-learn's
    cross-validation splitters); the environment is given positionally in the ``y`` slot
    or as the keyword ``env=`` (the form metadata routing and ``GridSearchCV(...).fit(demos,
    env=env)`` use).
    """

    # demos is data, not metadata: keep it out of metadata routing.
    __metadata_request__fit = {"demos": metadata_routing.UNUSED}
    __metadata_request__score = {"demos": metadata_routing.UNUSED}

    #: Whether the estimator accepts gymnasium environments (not only TabularMDP).
    _accepts_gymnasium = False

    # -- fitting -------------------------------------------------------------------------
    def _resolve_env(self, y, env, method="fit"):
        if y is not None:
            if not _is_env(y):
                raise TypeError(
                    f"{type(self).__name__}.{method} got {type(y).__name__} as its second "
                    "argument, which is not an environment. Call "
                    f"{method}(demos, env) or {method}(demos, env=env)."
                )
            if env is not None and env is not y:
                raise TypeError(f"{method} got an environment both positionally and as env=.")
            env = y
        return env

    def _check_env(self, env, method="fit"):
        if env is None:
            raise TypeError(
                f"{type(self).__name__}.{method} requires an environment: "
                f"{method}(demos, env) or {method}(demos, env=env)."
            )
        if is_tabular_env(env):
            return env
        if self._accepts_gymnasium and is_gymnasium_env(env):
            return env
        kinds = "a TabularMDP or a gymnasium.Env" if self._accepts_gymnasium else "a TabularMDP"
        hint = ""
        if is_gymnasium_env(env):
            hint = " Convert discrete toy-text envs with sklirl.envs.from_gymnasium(env)."
        raise TypeError(f"env must be {kinds}, got {type(env).__name__}.{hint}")

    def _check_demos(self, demos, env):
        if is_tabular_env(env):
            return check_demos(demos, n_states=env.n_states, n_actions=env.n_actions)
        return check_demos(demos)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, demos, y=None, *, env=None, sample_weight=None):
        """Fit the estimator to expert demonstrations in an environment.

        Parameters
        ----------
        demos : list of trajectories
            :class:`~sklirl.Trajectory` objects, ``(states, actions)`` pairs, or objects with
            ``obs``/``acts`` or ``observations``/``actions`` attributes.
        y : TabularMDP, gymnasium.Env or None
            The environment, when given positionally (``fit(demos, env)``).
        env : TabularMDP or gymnasium.Env, default=None
            The environment, as a keyword (for ``GridSearchCV(...).fit(demos, env=env)``).
        sample_weight : array-like of shape (n_trajectories,), default=None
            Weights of the trajectories.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        env = self._check_env(self._resolve_env(y, env))
        trajs = self._check_demos(demos, env)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != (len(trajs),):
                raise ValueError(
                    f"sample_weight has shape {sample_weight.shape}; expected ({len(trajs)},), "
                    "one weight per trajectory."
                )
            if not np.all(np.isfinite(sample_weight)) or (sample_weight < 0).any():
                raise ValueError("sample_weight must be finite and non-negative.")
            if sample_weight.sum() <= 0:
                raise ValueError("sample_weight must not be all zero.")
        self.env_ = env
        self._fit(trajs, env, sample_weight)
        return self

    def _fit(self, demos, env, sample_weight):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- tabular helpers shared by the estimators ------------------------------------------
    def _fit_feature_map(self, env):
        """Clone and fit ``self.features`` on ``env``; set ``features_`` and return phi (S, k)."""
        self.features_, phi = fit_feature_matrix(self.features, env)
        return phi

    def _feature_matrix(self, env):
        """The fitted feature map's ``(S, k)`` matrix on a (possibly new) env."""
        return transform_feature_matrix(self.features_, env)

    # -- prediction ----------------------------------------------------------------------
    def _policy_for(self, env):
        """The learned policy for ``env``: ``policy_`` for the fit env (subclasses re-plan)."""
        if env is None or env is getattr(self, "env_", None):
            return self.policy_
        return self._transfer_policy(env)

    def _transfer_policy(self, env):
        raise ValueError(
            f"{type(self).__name__} cannot score on an environment other than the one it was "
            "fitted on."
        )

    def _check_tabular_states(self, states):
        env = self.env_
        s = np.asarray(states)
        if s.ndim == 2 and s.shape[1] == 1:
            s = s[:, 0]
        if s.ndim != 1:
            raise ValueError(f"states must be a 1-D array of state indices, got shape {s.shape}.")
        if s.dtype.kind == "f":
            if not np.all(np.isfinite(s)) or np.any(s != np.round(s)):
                raise ValueError("states must be integer state indices (got NaN or fractions).")
            s = s.astype(np.intp)
        elif s.dtype.kind not in "iu":
            raise TypeError(f"states must be integer state indices, got dtype {s.dtype}.")
        bad = (s < 0) | (s >= env.n_states)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"states[{i}] = {s[i]} is outside [0, {env.n_states}).")
        return s

    def predict_reward(self, states, actions=None):
        """The learned reward of states (``(n, A)``) or of state-action pairs (``(n,)``).

        Parameters
        ----------
        states : array-like of shape (n,)
            State indices (tabular envs) or observations.
        actions : array-like of shape (n,), default=None

        Returns
        -------
        rewards : ndarray of shape (n, A) without actions, (n,) with them
        """
        check_is_fitted(self)
        s = self._check_tabular_states(states)
        table = self.reward_ if self.reward_.ndim == 2 else self.reward_[:, None]
        table = np.broadcast_to(table, (self.env_.n_states, self.env_.n_actions))
        if actions is None:
            return table[s].copy()
        a = np.asarray(actions)
        if a.shape != s.shape:
            raise ValueError(f"actions has shape {a.shape}; expected {s.shape} like states.")
        if a.dtype.kind not in "iu" or ((a < 0) | (a >= self.env_.n_actions)).any():
            raise ValueError(f"actions must be integer indices in [0, {self.env_.n_actions}).")
        return table[s, a]

    def predict_proba(self, states):
        """Action probabilities ``(n, A)`` of the learned policy (at t = 0 for finite horizons)."""
        check_is_fitted(self)
        return self.policy_.predict_proba(self._check_tabular_states(states))

    def predict(self, states):
        """Most probable action of the learned policy in each state."""
        return self.predict_proba(states).argmax(axis=1)

    def score(self, demos, y=None, *, env=None):
        """Mean per-step log-likelihood of the demonstrations' actions under the learned policy.

        Higher is better, so ``GridSearchCV`` and ``cross_val_score`` select hyperparameters by
        held-out likelihood.

        Parameters
        ----------
        demos : list of trajectories
        y : environment or None
            Positional environment; the one seen in ``fit`` when None.
        env : environment, default=None
            Keyword form of ``y``.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        env = self._resolve_env(y, env, method="score")
        if env is not None:
            self._check_env(env, method="score")
        policy = self._policy_for(env)
        if isinstance(policy, TabularPolicy):
            return log_likelihood(policy, demos)
        return self._score_samples_mean(policy, demos)

    def _score_samples_mean(self, policy, demos):  # pragma: no cover - overridden by GAIL
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.target_tags.required = False
        tags.requires_fit = True
        return tags
