"""PPO's rollout batch and generalized advantage estimation (GAE)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["RolloutBatch", "generalized_advantage_estimate"]


# --------------------------------------------------------------------------------------------
# Advantage estimation
# --------------------------------------------------------------------------------------------


def generalized_advantage_estimate(
    rewards, values, next_values, terminated, truncated, gamma, gae_lambda
):
    """Return GAE(lambda) advantages and value targets of a rollout.

    Parameters
    ----------
    rewards, values, next_values : ndarray of shape (T,) or (T, n_envs)
        Reward of each step, value ``V(s_t)`` of its observation and value ``V(s_{t+1})`` of the
        observation it led to. At the end of an episode, ``s_{t+1}`` is the episode's final
        observation, not the first observation of the next episode.
    terminated, truncated : ndarray of bool, same shape
        Whether the episode ended at this step in a terminal state (no bootstrap: the value after
        it is 0) or was cut off (time limit: bootstrap from ``V(s_{t+1})``).
    gamma, gae_lambda : float
        Discount and GAE trace parameter.

    Returns
    -------
    advantages, returns : ndarray, same shape, float32
        ``A_t = sum_k (gamma lambda)^k delta_{t+k}`` within the episode, with
        ``delta_t = r_t + gamma (1 - terminated_t) V(s_{t+1}) - V(s_t)``, and the value targets
        ``returns = advantages + values``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.solvers._rollout_buffer import generalized_advantage_estimate
    >>> adv, ret = generalized_advantage_estimate(
    ...     rewards=np.array([1.0, 1.0]), values=np.zeros(2), next_values=np.array([0.0, 10.0]),
    ...     terminated=np.array([False, False]), truncated=np.array([False, True]),
    ...     gamma=0.5, gae_lambda=1.0)
    >>> adv
    array([4., 6.], dtype=float32)
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    next_values = np.asarray(next_values, dtype=np.float64)
    terminated = np.asarray(terminated, dtype=bool)
    episode_goes_on = ~(terminated | np.asarray(truncated, dtype=bool))
    deltas = rewards + gamma * np.where(terminated, 0.0, next_values) - values
    advantages = np.empty_like(deltas)
    running = np.zeros_like(deltas[0])
    for t in range(len(deltas) - 1, -1, -1):
        running = deltas[t] + gamma * gae_lambda * episode_goes_on[t] * running
        advantages[t] = running
    return advantages.astype(np.float32), (advantages + values).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Rollout batches
# --------------------------------------------------------------------------------------------


@dataclass
class RolloutBatch:
    """Transitions of one rollout, flattened time-major: row ``t * n_envs + e``.

    Attributes
    ----------
    observations : ndarray of shape (N, obs_dim) float32, or (N,) int64 for Discrete spaces
        Raw (unnormalised) observations ``s_t``.
    actions : ndarray of shape (N,) or (N, act_dim)
        Actions as executed in the environment (Box actions clipped to the bounds).
    next_observations : ndarray, like ``observations``
        ``s_{t+1}``; at the end of an episode its final observation (not the next reset).
    terminated, truncated : ndarray of shape (N,) bool
        How the episode ended at this step, if it did.
    env_rewards : ndarray of shape (N,) float32
        The environment's rewards.
    episode_returns : list of float
        True (environment) returns of the episodes that finished during this rollout.
    n_steps : int
        ``N``, the number of transitions.
    n_envs : int
        Number of parallel environments.
    policy_inputs, policy_actions, log_probs, values, next_values : ndarray
        Used by :meth:`PPOTrainer.update`: normalised network inputs, unclipped policy actions,
        their log-probabilities, and the critic's values of ``s_t`` and ``s_{t+1}`` at collection.
    """

    observations: np.ndarray
    actions: np.ndarray
    next_observations: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    env_rewards: np.ndarray
    episode_returns: list
    n_steps: int
    n_envs: int
    policy_inputs: np.ndarray = field(repr=False)
    policy_actions: np.ndarray = field(repr=False)
    log_probs: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    next_values: np.ndarray = field(repr=False)
