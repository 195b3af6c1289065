"""Policies of gymnasium environments that need no network: uniform, and mixtures of policies."""

from __future__ import annotations

import numpy as np

from ..utils._validation import check_generator

__all__ = ["EpisodeMixturePolicy", "UniformPolicy"]



class UniformPolicy:
    """The uniformly random policy of a gymnasium action space (Discrete or Box).

    Parameters
    ----------
    observation_space, action_space : gymnasium.spaces.Space
        The env's spaces; actions are drawn uniformly from ``action_space`` (Discrete or
        bounded Box).

    Examples
    --------
    >>> import numpy as np
    >>> from gymnasium import spaces
    >>> from sklirl.policies import UniformPolicy
    >>> policy = UniformPolicy(spaces.Box(-1, 1, (2,)), spaces.Discrete(4))
    >>> policy.predict_proba(np.zeros((1, 2))).tolist(), policy.sample(np.zeros((3, 2)), 0).shape
    ([[0.25, 0.25, 0.25, 0.25]], (3,))
    """

    def __init__(self, observation_space, action_space):
        self.observation_space, self.action_space = observation_space, action_space
        self._n = getattr(action_space, "n", None)

    def sample(self, observations, random_state=None):
        """Uniformly random actions, one per observation.

        Parameters
        ----------
        observations : array-like of shape (n, *obs_shape)
            Observations (rows).
        random_state : int, numpy Generator, RandomState or None, default=None
            Seeds the draws.

        Returns
        -------
        actions : ndarray of shape (n,) or (n, *action_shape)
        """
        rng = np.random.default_rng(random_state) if not isinstance(
            random_state, np.random.Generator) else random_state
        n = len(observations)
        space = self.action_space
        if self._n is not None:
            return rng.integers(int(self._n), size=n) + int(getattr(space, "start", 0))
        low, high = space.low.reshape(-1), space.high.reshape(-1)
        actions = rng.uniform(low, high, size=(n, len(low)))
        return actions.reshape((n, *space.shape)).astype(space.dtype)

    def predict(self, observations, deterministic=True):
        """The first action (Discrete; all are equally likely) or the box centre.

        Parameters
        ----------
        observations : array-like of shape (n, *obs_shape)
            Observations (rows).
        deterministic : bool, default=True
            False samples instead (:meth:`sample`).

        Returns
        -------
        actions : ndarray of shape (n,) or (n, *action_shape)
        """
        if not deterministic:
            return self.sample(observations)
        n, space = len(observations), self.action_space
        if self._n is not None:
            return np.full(n, int(getattr(space, "start", 0)))
        centre = (space.low + space.high) / 2
        return np.broadcast_to(centre, (n, *space.shape)).astype(space.dtype)

    def predict_proba(self, observations):
        """``1 / n_actions`` for every action (Discrete action spaces).

        Parameters
        ----------
        observations : array-like of shape (n, *obs_shape)
            Observations (rows).

        Returns
        -------
        proba : ndarray of shape (n, n_actions)
        """
        if self._n is None:
            raise TypeError("predict_proba needs a Discrete action space.")
        return np.full((len(observations), int(self._n)), 1.0 / int(self._n))

    def log_prob(self, observations, actions):
        """Log-probability (Discrete) or log-density (Box) of the actions: a constant.

        Parameters
        ----------
        observations : array-like of shape (n, *obs_shape)
            Observations (rows).
        actions : array-like of shape (n,) or (n, *action_shape)

        Returns
        -------
        log_prob : ndarray of shape (n,)
        """
        if self._n is not None:
            return np.full(len(observations), -np.log(int(self._n)))
        volume = np.sum(np.log(self.action_space.high - self.action_space.low))
        return np.full(len(observations), -float(volume))


class EpisodeMixturePolicy:
    """A mixture of policies that draws one component per episode.

    The output policy of :class:`~sklirl.MaxMarginIRL` on gymnasium environments: Abbeel & Ng's
    mixture ``sum_j lambda_j pi_j`` acts by picking ``pi_j`` with probability ``lambda_j``
    at the start of each episode and following it to the end, so its feature expectations
    are ``sum_j lambda_j rho_j``.

    Parameters
    ----------
    policies : list of policies
        Components with ``sample(observations, random_state)`` (or ``predict``) and, for
        :meth:`predict_proba` and :meth:`log_prob`, those methods.
    weights : array-like of shape (n_policies,)
        Mixture weights on the simplex; components with zero weight are dropped.

    Attributes
    ----------
    policies, weights : list, ndarray
        The components with positive weight, and their weights.

    Examples
    --------
    >>> import numpy as np
    >>> from gymnasium import spaces
    >>> from sklirl.policies import EpisodeMixturePolicy, UniformPolicy
    >>> uniform = UniformPolicy(spaces.Box(-1, 1, (2,)), spaces.Discrete(2))
    >>> mix = EpisodeMixturePolicy([uniform, uniform], [0.25, 0.75])
    >>> mix.predict_proba(np.zeros((1, 2))).tolist()
    [[0.5, 0.5]]
    """

    def __init__(self, policies, weights):
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(policies),) or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("weights must be non-negative, one per policy, and not all 0.")
        keep = np.flatnonzero(weights > 0)
        self.policies = [policies[j] for j in keep]
        self.weights = weights[keep] / weights[keep].sum()
        self.observation_space = getattr(self.policies[0], "observation_space", None)
        self.action_space = getattr(self.policies[0], "action_space", None)

    def sample_component(self, random_state=None):
        """Draw the component that acts for a whole episode.

        Parameters
        ----------
        random_state : int, numpy Generator, RandomState or None, default=None
            Seeds the draws.

        Returns
        -------
        policy : object
            A component, drawn with probability its weight.
        """
        rng = check_generator(random_state)
        return self.policies[int(rng.choice(len(self.policies), p=self.weights))]

    def predict(self, observations, deterministic=True):
        """Actions of the highest-weight component (its most probable action or mean).

        Parameters
        ----------
        observations : array-like of shape (n, *obs_shape)
            Observations (rows).
        deterministic : bool, default=True
            False samples from the per-state mixture instead, as :meth:`sample`.

        Returns
        -------
        actions : ndarray of shape (n,) or (n, *action_shape)
        """
        if not deterministic:
            return self.sample(observations)
        best = self.policies[int(np.argmax(self.weights))]
        return best.predict(observations, deterministic=True)

    def sample(self, observations, random_state=None):
        """Actions from the per-state mixture: a component drawn for each row.

        Use :meth:`sample_component` to act out whole episodes (the mixture's semantics).

        Parameters
        ----------
        observations : array-like of shape (n, *obs_shape)
            Observations (rows).
        random_state : int, numpy Generator, RandomState or None, default=None
            Seeds the draws.

        Returns
        -------
        actions : ndarray of shape (n,) or (n, *action_shape)
        """
        from ..expectations import _act

        rng = check_generator(random_state)
        obs = np.asarray(observations)
        rows = rng.choice(len(self.policies), size=len(obs), p=self.weights)
        actions = None
        for j in np.unique(rows):
            idx = np.flatnonzero(rows == j)
            a = _act(self.policies[j], obs[idx], rng)
            if actions is None:
                actions = np.empty((len(obs), *a.shape[1:]), dtype=a.dtype)
            actions[idx] = a
        return actions

    def predict_proba(self, observations):
        """``sum_j lambda_j pi_j(a | o)``.

        Parameters
        ----------
        observations : array-like of shape (n, *obs_shape)
            Observations (rows).

        Returns
        -------
        proba : ndarray of shape (n, n_actions)
        """
        return sum(w * np.asarray(p.predict_proba(observations), dtype=np.float64)
                   for w, p in zip(self.weights, self.policies))

    def log_prob(self, observations, actions):
        """``log sum_j lambda_j pi_j(a | o)`` of each observation-action pair.

        Parameters
        ----------
        observations : array-like of shape (n, *obs_shape)
            Observations (rows).
        actions : array-like of shape (n,) or (n, *action_shape)

        Returns
        -------
        log_prob : ndarray of shape (n,)
        """
        from scipy.special import logsumexp

        logs = np.stack([
            np.log(w) + np.asarray(p.log_prob(observations, actions), dtype=np.float64)
            for w, p in zip(self.weights, self.policies)
        ])
        return logsumexp(logs, axis=0)

    def evaluate(self, env, n_episodes=20, random_state=None, max_steps=100_000):
        """Undiscounted returns of ``n_episodes`` episodes, a component drawn per episode.

        Parameters
        ----------
        env : gymnasium.Env
        n_episodes : int, default=20
        random_state : int, numpy Generator, RandomState or None, default=None
            Seeds the draws.
        max_steps : int, default=100_000
            Steps after which an episode is cut.

        Returns
        -------
        returns : ndarray of shape (n_episodes,)
        """
        from ..expectations import _gym_rollouts

        episodes = _gym_rollouts(env, self, n_episodes, max_steps, random_state)
        return np.array([rewards.sum() for _, rewards in episodes])
