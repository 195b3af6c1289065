"""stable-baselines3's face of the gymnasium policies, and :class:`SB3Policy` (a trained SB3
algorithm's policy, as GAIL returns it with a stable-baselines3 solver).

Every policy of a gymnasium env (:class:`~sklirl.policies.TorchPolicy`,
:class:`~sklirl.policies.SB3Policy`, :class:`~sklirl.policies.EpisodeMixturePolicy`,
:class:`~sklirl.policies.UniformPolicy`, ``SupervisedPolicy``) has two ways to act:

- ``act(observations, deterministic=True, random_state=None) -> actions``: one action for one
  observation, a batch for a batch (what the library calls);
- ``predict(observation, state=None, episode_start=None, deterministic=False) -> (action,
  state)``: stable-baselines3's signature, so that
  ``stable_baselines3.common.evaluation.evaluate_policy(policy, env)`` and other SB3 tooling run
  on it. Like SB3's, it samples unless ``deterministic=True``.

The estimators' own ``predict(states)`` stays scikit-learn's: the deterministic actions.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SB3Policy", "SB3PredictMixin", "act_with", "evaluate_returns",
           "is_single_observation"]


def is_single_observation(observations, observation_space):
    """Whether ``observations`` is one observation of the space (a scalar for Discrete
    spaces, an array of the Box's shape) rather than a batch."""
    shape = np.shape(observations)
    if observation_space is None or not hasattr(observation_space, "shape"):
        return False
    if getattr(observation_space, "n", None) is not None and not hasattr(observation_space,
                                                                          "low"):
        return shape == ()
    return shape == tuple(observation_space.shape)


class SB3PredictMixin:
    """``predict`` with stable-baselines3's signature, from the policy's ``act``."""

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        """Actions in stable-baselines3's form (``evaluate_policy`` and SB3 tooling call it).

        Parameters
        ----------
        observation : array-like
            One observation (a scalar for Discrete spaces) or a batch of them.
        state : object, default=None
            Recurrent state; returned unchanged (the policy has none).
        episode_start : array-like of bool, default=None
            Ignored (no recurrent state).
        deterministic : bool, default=False
            The most probable action (Discrete) or the mean (Box); else a sample.

        Returns
        -------
        action : ndarray
            One action ``env.step`` accepts, or a batch.
        state : object
            ``state``.
        """
        return self.act(observation, deterministic=deterministic), state


class SB3Policy(SB3PredictMixin):
    """The policy of a stable-baselines3 algorithm, with the interface of the library's
    gymnasium policies (``act``, ``sample``, ``predict_proba``, ``log_prob``, ``evaluate``).

    ``GAIL(solver=<SB3 PPO or A2C>).policy_`` is one; it reads the algorithm's current policy
    (the algorithm is trained in place).

    Parameters
    ----------
    algorithm : stable-baselines3 algorithm
        ``PPO``, ``A2C``, ... (anything with ``predict`` and ``policy``).
    observation_space, action_space : gymnasium.spaces.Space or None, default=None
        The env's spaces; the algorithm's when None.

    Examples
    --------
    >>> from stable_baselines3 import PPO
    >>> from sklirl.policies import SB3Policy
    >>> policy = SB3Policy(PPO("MlpPolicy", "CartPole-v1", n_steps=64, seed=0))
    >>> policy.act([0.0, 0.0, 0.0, 0.0]) in (0, 1)
    True
    >>> policy.predict_proba([[0.0, 0.0, 0.0, 0.0]]).shape
    (1, 2)
    """

    def __init__(self, algorithm, observation_space=None, action_space=None):
        self.algorithm = algorithm
        self.observation_space = (algorithm.observation_space if observation_space is None
                                  else observation_space)
        self.action_space = algorithm.action_space if action_space is None else action_space

    def __repr__(self):
        return f"SB3Policy(algorithm={type(self.algorithm).__name__})"

    def _check(self, observations):
        """A batch of observations in the space's shape, and whether one was given."""
        from ..envs._spaces import SpaceEncoder

        enc = SpaceEncoder(self.observation_space, self.action_space)
        obs = np.asarray(observations)
        single = obs.shape == (() if enc.obs_n else enc.obs_shape)
        batch = enc.check_observations(obs.reshape(1, *obs.shape) if single else obs,
                                       "observations")
        if not enc.obs_n:
            batch = batch.reshape(len(batch), *enc.obs_shape)
        return batch, single, enc

    def _distribution(self, batch):
        import torch

        policy = self.algorithm.policy
        with torch.no_grad():
            tensor, _ = policy.obs_to_tensor(batch)
            return policy.get_distribution(tensor)

    def act(self, observations, deterministic=True, random_state=None):
        """The policy's actions (``random_state`` is unused: SB3 samples with torch's RNG).

        Parameters
        ----------
        observations : array-like
            One observation or a batch.
        deterministic : bool, default=True
        random_state : ignored

        Returns
        -------
        actions : ndarray
            One action, or a batch.
        """
        batch, single, _ = self._check(observations)
        actions = self.algorithm.predict(batch, deterministic=deterministic)[0]
        return actions[0] if single else actions

    def sample(self, observations, random_state=None):
        """Sampled actions (see :meth:`act`).

        Parameters
        ----------
        observations : array-like
            One observation or a batch.
        random_state : ignored
            stable-baselines3 samples with torch's global generator.

        Returns
        -------
        actions : ndarray
        """
        return self.act(observations, deterministic=False)

    def predict_proba(self, observations):
        """Action probabilities (Discrete action spaces).

        Parameters
        ----------
        observations : array-like
            One observation or a batch.

        Returns
        -------
        proba : ndarray of shape (n, A), or (A,) for one observation
        """
        batch, single, enc = self._check(observations)
        if not enc.action_n:
            raise TypeError("predict_proba is only defined for Discrete action spaces.")
        proba = self._distribution(batch).distribution.probs.cpu().numpy()
        return proba[0] if single else proba

    def log_prob(self, observations, actions):
        """Log-probability (Box: log-density) of ``actions``.

        Parameters
        ----------
        observations : array-like
            One observation or a batch of ``n``.
        actions : array-like of shape (n,) or (n, *action_shape)

        Returns
        -------
        log_prob : ndarray of shape (n,), or a float for one observation
        """
        import torch

        batch, single, enc = self._check(observations)
        acts = enc.check_actions(actions, len(batch))
        dist = self._distribution(batch)
        with torch.no_grad():
            out = dist.log_prob(torch.as_tensor(acts, device=self.algorithm.device))
        out = out.cpu().numpy().astype(np.float64)
        return float(out[0]) if single else out

    def evaluate(self, env, n_episodes=20, deterministic=True, random_state=None):
        """Undiscounted returns of ``n_episodes`` full episodes in copies of ``env``.

        Parameters
        ----------
        env : gymnasium.Env, str or callable
            An environment (copied, never stepped), a registered id, or a factory.
        n_episodes : int, default=20
        deterministic : bool, default=True
        random_state : int, RandomState instance or None, default=None
            Seeds the episodes' resets.

        Returns
        -------
        returns : ndarray of shape (n_episodes,)
        """
        return evaluate_returns(self, env, n_episodes, deterministic, random_state)


def act_with(policy, observations, deterministic, rng=None):
    """Actions of any policy for a batch: its ``act``, else ``sample`` / ``predict`` (SB3's
    tuple form or plain actions)."""
    from .._rollouts import sample_actions

    if not deterministic:
        return sample_actions(policy, observations, rng)
    if hasattr(policy, "act"):
        return np.asarray(policy.act(observations, deterministic=True))
    out = policy.predict(observations, deterministic=True)
    return np.asarray(out[0] if isinstance(out, tuple) else out)


def evaluate_returns(policy, env, n_episodes, deterministic, random_state,
                     max_steps=1_000_000):
    """Returns of full episodes of ``policy`` in copies of ``env`` (episodes end when
    terminated or truncated; a mixture draws one component per episode)."""
    from .._rollouts import env_factory, gym_rollout_blocks

    def act(pol, observations, rng):
        return act_with(pol, observations, deterministic, rng)

    episodes = gym_rollout_blocks(env_factory(env)(), policy, [(n_episodes, random_state)],
                                  max_steps, act=act)
    return np.array([rewards.sum() for _, rewards in episodes])
