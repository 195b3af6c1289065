"""Policies with torch networks: the actor-critic MLPs and :class:`TorchPolicy` (PPO's policy)."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
from gymnasium import spaces
from sklearn.utils import check_random_state
from torch import nn

from .._rollouts import env_factory
from ..utils._persistence import TorchStatePickleMixin
from ..utils._running_stats import standardize, update_running_moments
from ..utils._torch import mlp, torch_threads
from ..utils._validation import MAX_SEED, check_generator
from ._sb3 import SB3PredictMixin

__all__ = ["TorchPolicy"]

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU}
_LOG_2PI = math.log(2.0 * math.pi)


def _mlp(in_dim, hidden_layer_sizes, out_dim, activation, out_gain, generator):
    """An MLP with orthogonal initialisation (gain sqrt(2) inside, ``out_gain`` at the head)."""

    def init(layer, is_output):
        gain = out_gain if is_output else math.sqrt(2.0)
        nn.init.orthogonal_(layer.weight, gain=gain, generator=generator)
        nn.init.zeros_(layer.bias)

    return mlp(in_dim, hidden_layer_sizes, out_dim, ACTIVATIONS[activation], init)


class _ActorCritic(nn.Module):
    """Separate actor and critic MLPs; a state-independent log-std for Gaussian actions."""

    def __init__(self, in_dim, out_dim, hidden_layer_sizes, activation, continuous, generator):
        super().__init__()
        self.actor = _mlp(in_dim, hidden_layer_sizes, out_dim, activation, 0.01, generator)
        self.critic = _mlp(in_dim, hidden_layer_sizes, 1, activation, 1.0, generator)
        if continuous:
            self.log_std = nn.Parameter(torch.zeros(out_dim))
        else:
            self.register_parameter("log_std", None)

    def log_prob_entropy(self, x, actions):
        """Log-probabilities of ``actions`` and entropies of the action distributions at ``x``."""
        out = self.actor(x)
        if self.log_std is None:
            log_p = torch.log_softmax(out, dim=-1)
            entropy = -(log_p.exp() * log_p).sum(-1)
            return log_p.gather(1, actions.long().unsqueeze(1)).squeeze(1), entropy
        z = (actions - out) * torch.exp(-self.log_std)
        log_prob = (-0.5 * z.pow(2) - self.log_std - 0.5 * _LOG_2PI).sum(-1)
        entropy = (0.5 + 0.5 * _LOG_2PI + self.log_std).sum().expand(len(out))
        return log_prob, entropy


class TorchPolicy(TorchStatePickleMixin, SB3PredictMixin):
    """A stochastic policy: torch actor and critic networks plus an observation normaliser.

    Returned by :meth:`PPO.solve`. Discrete actions follow a categorical distribution, Box actions
    a diagonal Gaussian with a state-independent standard deviation (clipped to the action bounds
    when acted out). :meth:`act` returns actions; :meth:`predict` has stable-baselines3's
    signature ``predict(observation, state=None, episode_start=None, deterministic=False) ->
    (action, state)``, so that SB3's ``evaluate_policy`` runs on the policy. Observations are
    flattened (Box) or one-hot encoded (Discrete), then standardised with running statistics
    that only training updates.

    Parameters
    ----------
    observation_space : gymnasium.spaces.Box or gymnasium.spaces.Discrete
        The environment's (single) observation space.
    action_space : gymnasium.spaces.Discrete or gymnasium.spaces.Box
        The environment's (single) action space.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Hidden layers of the actor and of the critic (two separate networks).
    activation : {"tanh", "relu", "elu", "gelu"}, default="tanh"
        Activation of the hidden layers.
    normalize_observations : bool, default=True
        Standardise Box observations with running mean and variance.
    device : str or torch.device, default="cpu"
        Where the networks live.
    n_threads : int or None, default=1
        Torch intra-op threads for forward passes, set around each call and restored after it;
        ``None`` leaves torch's setting alone. See :class:`PPO`.
    random_state : int, torch.Generator or None, default=None
        Seeds the weight initialisation (which never touches torch's global generator).

    Attributes
    ----------
    net : torch.nn.Module
        ``net.actor`` (logits or Gaussian means), ``net.critic`` (state value) and ``net.log_std``
        (``None`` for discrete actions).
    obs_mean, obs_var : ndarray of shape (obs_dim,)
        Running observation statistics; ``obs_count`` is their (pseudo-)count.

    Notes
    -----
    Pickling stores CPU copies of the weights plus the architecture, so a policy trained on a GPU
    unpickles on a CPU-only machine (on the CPU; call :meth:`to` to move it back).

    Examples
    --------
    >>> import gymnasium
    >>> from sklirl.policies import TorchPolicy
    >>> env = gymnasium.make("CartPole-v1")
    >>> policy = TorchPolicy(env.observation_space, env.action_space, random_state=0)
    >>> policy.predict_proba([0.0, 0.0, 0.0, 0.0]).round(2)
    array([0.5, 0.5], dtype=float32)
    >>> action, _ = policy.predict(env.reset(seed=0)[0], deterministic=True)
    >>> _ = env.step(action)
    """

    def __init__(
        self,
        observation_space,
        action_space,
        hidden_layer_sizes=(64, 64),
        activation="tanh",
        normalize_observations=True,
        device="cpu",
        n_threads=1,
        random_state=None,
    ):
        _check_spaces(observation_space, action_space)
        self.observation_space = observation_space
        self.action_space = action_space
        self.hidden_layer_sizes = tuple(int(h) for h in hidden_layer_sizes)
        self.activation = activation
        self.device = torch.device(device)
        self.n_threads = n_threads
        self._discrete_obs = isinstance(observation_space, spaces.Discrete)
        self._discrete_actions = isinstance(action_space, spaces.Discrete)
        self.normalize_observations = bool(normalize_observations) and not self._discrete_obs
        if self._discrete_obs:
            self._obs_dim = int(observation_space.n)
        else:
            self._obs_dim = int(np.prod(observation_space.shape))
        self.obs_mean = np.zeros(self._obs_dim)
        self.obs_var = np.ones(self._obs_dim)
        self.obs_count = 1e-4
        if isinstance(random_state, torch.Generator):
            generator = random_state
        else:
            seed = check_random_state(random_state).randint(MAX_SEED)
            generator = torch.Generator().manual_seed(int(seed))
        self.net = self._build_net(generator).to(self.device)

    # ---- construction, pickling, device ------------------------------------------------------

    def _build_net(self, generator=None):
        if self._discrete_actions:
            out_dim = int(self.action_space.n)
        else:
            out_dim = int(np.prod(self.action_space.shape))
        return _ActorCritic(
            self._obs_dim, out_dim, self.hidden_layer_sizes, self.activation,
            continuous=not self._discrete_actions, generator=generator,
        )

    def _build_torch_state(self):  # unpickling: the weights are loaded into it
        self.net = self._build_net()

    def to(self, device):
        """Move the networks to ``device``.

        Parameters
        ----------
        device : str or torch.device

        Returns
        -------
        self : TorchPolicy
        """
        self.device = torch.device(device)
        self.net.to(self.device)
        return self

    def __repr__(self):
        return (
            f"TorchPolicy(observation_space={self.observation_space}, "
            f"action_space={self.action_space}, hidden_layer_sizes={self.hidden_layer_sizes}, "
            f"device='{self.device}')"
        )

    # ---- observations --------------------------------------------------------------------------

    def _check_observations(self, observations):
        """Validate a single observation or a batch; return (batch, was_single)."""
        obs = np.asarray(observations)
        if not (np.issubdtype(obs.dtype, np.number) or obs.dtype == bool):
            raise ValueError(f"observations must be numeric, got dtype {obs.dtype}.")
        if self._discrete_obs:
            if obs.ndim > 1:
                raise ValueError(
                    "expected Discrete observations as integers of shape (n,) or a single "
                    f"integer, got shape {obs.shape}."
                )
            single = obs.ndim == 0
            obs = np.atleast_1d(obs)
            if np.isnan(obs.astype(np.float64)).any():
                raise ValueError("observations contain NaN.")
            if np.any(obs != np.round(obs)):
                raise ValueError("Discrete observations must be integers.")
            space = self.observation_space
            index = obs.astype(np.int64) - int(space.start)
            if index.size and (index.min() < 0 or index.max() >= space.n):
                raise ValueError(
                    f"Discrete observations must lie in [{space.start}, {space.start + space.n}),"
                    f" got values in [{obs.min()}, {obs.max()}]."
                )
            return obs.astype(np.int64), single
        shape, dim = tuple(self.observation_space.shape), self._obs_dim
        if obs.shape == shape or (obs.ndim == 1 and obs.shape[0] == dim):
            obs, single = obs.reshape(1, dim), True
        elif obs.ndim >= 1 and (obs.shape[1:] == shape or (obs.ndim == 2 and obs.shape[1] == dim)):
            obs, single = obs.reshape(len(obs), dim), False
        else:
            raise ValueError(
                f"expected observations of shape {shape} or a batch of shape (n, {dim}), got "
                f"shape {obs.shape}."
            )
        if not np.all(np.isfinite(obs)):
            raise ValueError("observations contain NaN or infinite values.")
        return obs, single

    def _features(self, obs):
        """Network inputs (float32) for a checked batch of raw observations."""
        if self._discrete_obs:
            x = np.zeros((len(obs), self._obs_dim), dtype=np.float32)
            x[np.arange(len(obs)), obs - int(self.observation_space.start)] = 1.0
            return x
        x = obs.reshape(len(obs), self._obs_dim)
        if self.normalize_observations:
            x = standardize(x, self.obs_mean, self.obs_var)
        return x.astype(np.float32, copy=False)

    def _update_obs_stats(self, obs):
        """Fold a batch of raw observations into the running mean and variance (Chan et al.)."""
        if not self.normalize_observations:
            return
        self.obs_mean, self.obs_var, self.obs_count = update_running_moments(
            self.obs_mean, self.obs_var, self.obs_count, obs.reshape(len(obs), self._obs_dim)
        )

    def _tensor(self, x):
        return torch.from_numpy(x).to(self.device)

    # ---- actions -------------------------------------------------------------------------------

    def _inference(self):
        """Context for forward passes: no autograd, ``n_threads`` torch threads."""
        stack = contextlib.ExitStack()
        stack.enter_context(torch_threads(self.n_threads))
        stack.enter_context(torch.inference_mode())
        return stack

    def _actor_output(self, x):
        with self._inference():
            return self.net.actor(self._tensor(x)).cpu().numpy()

    def _sample(self, out, rng):
        """Sample policy actions from actor outputs; return (actions, log-probabilities).

        Policy actions are indices ``0..n-1`` (Discrete) or unclipped Gaussian draws (Box).
        """
        if self._discrete_actions:
            log_p = out - out.max(1, keepdims=True)
            log_p = log_p - np.log(np.exp(log_p).sum(1, keepdims=True))
            cdf = np.cumsum(np.exp(log_p.astype(np.float64)), axis=1)
            u = rng.uniform(size=(len(out), 1)) * cdf[:, -1:]
            actions = np.minimum((u >= cdf).sum(1), out.shape[1] - 1)
            return actions, log_p[np.arange(len(out)), actions]
        log_std = self.net.log_std.detach().cpu().numpy()
        eps = rng.standard_normal(out.shape).astype(np.float32)
        actions = out + np.exp(log_std) * eps
        log_prob = (-0.5 * eps**2 - log_std - 0.5 * _LOG_2PI).sum(1)
        return actions.astype(np.float32), log_prob.astype(np.float32)

    def _to_env_actions(self, actions):
        """Policy actions → actions as the environment takes them (offset, clipped, reshaped)."""
        if self._discrete_actions:
            return actions.astype(np.int64) + int(self.action_space.start)
        space = self.action_space
        actions = np.clip(actions, space.low.reshape(-1), space.high.reshape(-1))
        return actions.reshape((len(actions), *space.shape)).astype(space.dtype, copy=False)

    def _unbatch(self, result, single):
        return result[0] if single else result

    def act(self, observations, deterministic=True, random_state=None):
        """Return the policy's actions (:meth:`predict` is stable-baselines3's form).

        Parameters
        ----------
        observations : array-like
            One observation or a batch of them.
        deterministic : bool, default=True
            Take the most likely action (Discrete) or the mean (Box, clipped to the bounds);
            otherwise sample, see :meth:`sample`.
        random_state : int, numpy Generator, RandomState or None, default=None
            Used when ``deterministic=False``.

        Returns
        -------
        actions : ndarray of shape (n,) or (n, *action_shape), or one action
        """
        if not deterministic:
            return self.sample(observations, random_state)
        obs, single = self._check_observations(observations)
        out = self._actor_output(self._features(obs))
        actions = out.argmax(1) if self._discrete_actions else out
        return self._unbatch(self._to_env_actions(actions), single)

    def sample(self, observations, random_state=None):
        """Sample actions from the policy (Box actions clipped to the bounds).

        Parameters
        ----------
        observations : array-like
            One observation or a batch of them.
        random_state : int, numpy Generator, RandomState or None, default=None
            Source of the randomness.

        Returns
        -------
        actions : ndarray of shape (n,) or (n, *action_shape), or one action
        """
        obs, single = self._check_observations(observations)
        out = self._actor_output(self._features(obs))
        actions, _ = self._sample(out, check_generator(random_state))
        return self._unbatch(self._to_env_actions(actions), single)

    def predict_proba(self, observations):
        """Return the action probabilities (Discrete actions only).

        Parameters
        ----------
        observations : array-like
            One observation or a batch of them.

        Returns
        -------
        proba : ndarray of shape (n, n_actions), or (n_actions,) for a single observation
        """
        if not self._discrete_actions:
            raise TypeError(
                "predict_proba is only defined for Discrete action spaces; this policy has "
                f"{self.action_space}. Use log_prob(observations, actions) instead."
            )
        obs, single = self._check_observations(observations)
        out = self._actor_output(self._features(obs))
        proba = np.exp(out - out.max(1, keepdims=True))
        return self._unbatch(proba / proba.sum(1, keepdims=True), single)

    def log_prob(self, observations, actions):
        """Return the log-probability (density, for Box) of ``actions`` at ``observations``.

        Parameters
        ----------
        observations : array-like
            One observation or a batch of ``n``.
        actions : array-like of shape (n,) or (n, *action_shape)
            Actions as the environment takes them. Box actions are scored under the unclipped
            Gaussian.

        Returns
        -------
        log_prob : ndarray of shape (n,), or a float for a single observation
        """
        obs, single = self._check_observations(observations)
        n = len(obs)
        actions = np.asarray(actions)
        if self._discrete_actions:
            space = self.action_space
            if actions.size != n:
                raise ValueError(f"expected {n} actions, got an array of shape {actions.shape}.")
            actions = actions.reshape(n)
            index = actions.astype(np.int64) - int(space.start)
            if np.any(actions != np.round(actions)) or index.min() < 0 or index.max() >= space.n:
                raise ValueError(f"actions must be integers in [{space.start}, "
                                 f"{space.start + space.n}).")
            actions = index
        else:
            dim = int(np.prod(self.action_space.shape))
            if actions.size != n * dim:
                raise ValueError(
                    f"expected {n} actions of shape {self.action_space.shape}, got an array of "
                    f"shape {actions.shape}."
                )
            actions = actions.reshape(n, dim).astype(np.float32)
            if not np.all(np.isfinite(actions)):
                raise ValueError("actions contain NaN or infinite values.")
        with self._inference():
            x = self._tensor(self._features(obs))
            log_prob, _ = self.net.log_prob_entropy(x, self._tensor(actions))
            log_prob = log_prob.cpu().numpy()
        return float(log_prob[0]) if single else log_prob

    def predict_value(self, observations):
        """Return the critic's state values.

        Parameters
        ----------
        observations : array-like
            One observation or a batch of them.

        Returns
        -------
        values : ndarray of shape (n,), or a float for a single observation
        """
        obs, single = self._check_observations(observations)
        with self._inference():
            values = self.net.critic(self._tensor(self._features(obs)))[:, 0].cpu().numpy()
        return float(values[0]) if single else values

    def evaluate(self, env, n_episodes=20, deterministic=True, random_state=None):
        """Run full episodes and return their returns.

        Episodes run in parallel copies of ``env`` (their forward passes batched); each episode
        has its own reset seed drawn from ``random_state``, and every episode runs to its end, so
        the estimate is not biased toward short episodes.

        Parameters
        ----------
        env : gymnasium.Env, str or callable
            An environment instance (copied, never stepped), a registered id, or a zero-argument
            callable returning an environment.
        n_episodes : int, default=20
            Number of episodes.
        deterministic : bool, default=True
            Act greedily (argmax / mean) or sample.
        random_state : int, RandomState or None, default=None
            Seeds the episodes' resets and, when sampling, the actions.

        Returns
        -------
        returns : ndarray of shape (n_episodes,)
            Undiscounted sum of rewards of each episode.
        """
        make_env = env_factory(env)
        rs = check_random_state(random_state)
        seeds = rs.randint(MAX_SEED, size=n_episodes)
        rng = np.random.default_rng(rs.randint(MAX_SEED))
        n_parallel = min(n_episodes, 16)
        envs = [make_env() for _ in range(n_parallel)]
        returns = np.zeros(n_episodes)
        episode = list(range(n_parallel))  # the episode each copy is running
        obs = [envs[i].reset(seed=int(seeds[i]))[0] for i in range(n_parallel)]
        active = list(range(n_parallel))
        try:
            while active:
                batch, _ = self._check_observations(np.stack([obs[i] for i in active]))
                out = self._actor_output(self._features(batch))
                if deterministic:
                    actions = out.argmax(1) if self._discrete_actions else out
                else:
                    actions, _ = self._sample(out, rng)
                actions = self._to_env_actions(actions)
                still_active = []
                for i, action in zip(active, actions):
                    obs[i], reward, terminated, truncated, _ = envs[i].step(action)
                    returns[episode[i]] += reward
                    if terminated or truncated:
                        episode[i] += n_parallel
                        if episode[i] >= n_episodes:
                            continue
                        obs[i] = envs[i].reset(seed=int(seeds[episode[i]]))[0]
                    still_active.append(i)
                active = still_active
        finally:
            for e in envs:
                e.close()
        return returns


def _check_spaces(observation_space, action_space):
    if not isinstance(observation_space, (spaces.Box, spaces.Discrete)):
        raise TypeError(
            f"PPO supports Box and Discrete observation spaces, got {observation_space}."
        )
    if not isinstance(action_space, (spaces.Box, spaces.Discrete)):
        raise TypeError(f"PPO supports Discrete and Box action spaces, got {action_space}.")
