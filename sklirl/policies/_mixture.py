"""Policies of gymnasium environments that need no network: uniform, and mixtures of policies."""

from __future__ import annotations

import numpy as np

from ..utils._validation import check_generator
from ._sb3 import SB3PredictMixin, act_with, evaluate_returns, is_single_observation

__all__ = ["EpisodeMixturePolicy", "UniformPolicy"]



class UniformPolicy(SB3PredictMixin):
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
        single = is_single_observation(observations, self.observation_space)
        n = 1 if single else len(observations)
        space = self.action_space
        if self._n is not None:
            actions = rng.integers(int(self._n), size=n) + int(getattr(space, "start", 0))
        else:
            low, high = space.low.reshape(-1), space.high.reshape(-1)
            actions = rng.uniform(low, high, size=(n, len(low)))
            actions = actions.reshape((n, *space.shape)).astype(space.dtype)
        return actions[0] if single else actions

    def act(self, observations, deterministic=True, random_state=None):
        """The first action (Discrete; all are equally likely) or the box centre.

        Parameters
        ----------
        observations : array-like of shape (n, *obs_shape)
            Observations (rows).
        deterministic : bool, default=True
            False samples instead (:meth:`sample`).
        random_state : int, numpy Generator, RandomState or None, default=None
            Seeds the draws when sampling.

        Returns
        -------
        actions : ndarray of shape (n,) or (n, *action_shape), or one action
        """
        if not deterministic:
            return self.sample(observations, random_state)
        single = is_single_observation(observations, self.observation_space)
        n, space = (1 if single else len(observations)), self.action_space
        if self._n is not None:
            actions = np.full(n, int(getattr(space, "start", 0)))
        else:
            centre = (space.low + space.high) / 2
            actions = np.broadcast_to(centre, (n, *space.shape)).astype(space.dtype)
        return actions[0] if single else actions

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


class EpisodeMixturePolicy(SB3PredictMixin):
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

    def act(self, observations, deterministic=True, random_state=None):
        """Actions of the highest-weight component (its most probable action or mean).

        Parameters
        ----------
        observations : array-like of shape (n, *obs_shape)
            Observations (rows), or one observation.
        deterministic : bool, default=True
            False samples from the per-state mixture instead, as :meth:`sample`.
        random_state : int, numpy Generator, RandomState or None, default=None
            Seeds the draws when sampling.

        Returns
        -------
        actions : ndarray of shape (n,) or (n, *action_shape), or one action
        """
        if not deterministic:
            return self.sample(observations, random_state)
        best = self.policies[int(np.argmax(self.weights))]
        return best.act(observations, deterministic=True)

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        """stable-baselines3's ``predict``, one component per episode.

        The recurrent ``state`` is the component acting in each env of the batch: drawn
        (with probability its weight) where ``state`` is None or ``episode_start`` is true,
        kept otherwise, so ``evaluate_policy(mixture, env)`` acts out the mixture's semantics.

        Parameters
        ----------
        observation : array-like
            One observation or a batch (one per env).
        state : ndarray of int or None, default=None
            The components from the previous call.
        episode_start : array-like of bool or None, default=None
            Which envs start a new episode.
        deterministic : bool, default=False
            Each component's most probable action (or mean); else a sample.

        Returns
        -------
        action : ndarray
        state : ndarray of int of shape (n,)
        """
        single = is_single_observation(observation, self.observation_space)
        obs = np.asarray(observation)
        batch = obs[None] if single else obs
        n = len(batch)
        if getattr(self, "_predict_rng", None) is None:
            self._predict_rng = np.random.default_rng()
        rng = self._predict_rng
        components = None if state is None else np.asarray(state, dtype=np.int64).reshape(-1)
        if components is None or len(components) != n:
            components = rng.choice(len(self.policies), size=n, p=self.weights)
        elif episode_start is not None:
            start = np.asarray(episode_start, dtype=bool).reshape(-1)
            components = np.where(start, rng.choice(len(self.policies), size=n, p=self.weights),
                                  components)
        actions = None
        for j in np.unique(components):
            idx = np.flatnonzero(components == j)
            a = act_with(self.policies[j], batch[idx], deterministic, rng)
            if actions is None:
                actions = np.empty((n, *a.shape[1:]), dtype=a.dtype)
            actions[idx] = a
        return (actions[0] if single else actions), components

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
        from .._rollouts import sample_actions

        rng = check_generator(random_state)
        single = is_single_observation(observations, self.observation_space)
        if single:
            return self.sample(np.asarray(observations)[None], rng)[0]
        obs = np.asarray(observations)
        rows = rng.choice(len(self.policies), size=len(obs), p=self.weights)
        actions = None
        for j in np.unique(rows):
            idx = np.flatnonzero(rows == j)
            a = sample_actions(self.policies[j], obs[idx], rng)
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

    def evaluate(self, env, n_episodes=20, deterministic=False, random_state=None,
                 max_steps=100_000):
        """Undiscounted returns of ``n_episodes`` episodes, a component drawn per episode.

        Parameters
        ----------
        env : gymnasium.Env, str or callable
            An environment (copied, never stepped), a registered id, or a factory.
        n_episodes : int, default=20
        deterministic : bool, default=False
            Each episode's component acts greedily (else it samples).
        random_state : int, numpy Generator, RandomState or None, default=None
            Seeds the draws.
        max_steps : int, default=100_000
            Steps after which an episode is cut.

        Returns
        -------
        returns : ndarray of shape (n_episodes,)
        """
        return evaluate_returns(self, env, n_episodes, deterministic, random_state, max_steps)
