"""Gymnasium observation and action spaces: validation of demos and input encoding.

The one place where demonstrations for gymnasium envs are checked against the env's spaces
(tabular demos are checked by :func:`sklirl.demos.check_demos` alone).
"""

import numpy as np

from ..demos import check_demos
from ..utils._warnings import warn_user

__all__ = ["SpaceEncoder"]


class SpaceEncoder:
    """Validation and encoding of gymnasium observations and actions.

    Checks demos and inputs against an env's observation and action spaces (errors name the
    trajectory and step) and stacks ``[obs, action]`` rows, one-hot where Discrete, as the
    inputs of discriminators and reward features on gymnasium envs.
    """

    def __init__(self, observation_space, action_space):
        self.observation_space, self.action_space = observation_space, action_space
        self.obs_n = _discrete_n(observation_space)
        self.action_n = _discrete_n(action_space)
        if self.obs_n is None and not hasattr(observation_space, "low"):
            raise TypeError(
                f"Box and Discrete observation spaces are supported, got {observation_space}."
            )
        if self.action_n is None and not hasattr(action_space, "low"):
            raise TypeError(
                f"Discrete and Box action spaces are supported, got {action_space}."
            )
        self.obs_start = int(getattr(observation_space, "start", 0))
        self.action_start = int(getattr(action_space, "start", 0))
        self.obs_shape = () if self.obs_n else tuple(observation_space.shape)
        self.act_shape = () if self.action_n else tuple(action_space.shape)
        self.obs_dim = self.obs_n or int(np.prod(self.obs_shape))
        self.act_dim = self.action_n or int(np.prod(self.act_shape))
        self.input_dim = self.obs_dim + self.act_dim
        self.continuous_mask = np.concatenate([
            np.full(self.obs_dim, self.obs_n is None), np.full(self.act_dim, self.action_n is None)
        ])

    def check_observations(self, observations, where="states"):
        obs = np.asarray(observations)
        if obs.dtype.kind not in "biuf":
            raise ValueError(f"{where} must be numeric, got dtype {obs.dtype}.")
        if self.obs_n:
            if obs.ndim == 2 and obs.shape[1] == 1:
                obs = obs[:, 0]
            obs = np.atleast_1d(obs)
            if obs.ndim != 1:
                raise ValueError(f"{where} must be Discrete observations of shape (n,), got "
                                 f"shape {obs.shape}.")
            if np.any(obs != np.round(obs)):
                raise ValueError(f"{where} must be integer Discrete observations.")
            bad = (obs < self.obs_start) | (obs >= self.obs_start + self.obs_n)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"{where}[{i}] = {obs[i]} is outside [{self.obs_start}, "
                                 f"{self.obs_start + self.obs_n}).")
            return obs.astype(np.int64)
        if obs.shape == self.obs_shape:
            obs = obs[None]
        if obs.ndim < 1 or obs.shape[1:] != self.obs_shape:
            if not (obs.ndim == 2 and obs.shape[1] == self.obs_dim):
                raise ValueError(
                    f"{where} must have shape (n, *{self.obs_shape}), got shape {obs.shape}."
                )
        obs = obs.reshape(len(obs), self.obs_dim).astype(np.float64)
        if not np.all(np.isfinite(obs)):
            raise ValueError(f"{where} contain NaN or infinite values.")
        return obs

    def check_actions(self, actions, n, where="actions"):
        acts = np.asarray(actions)
        if acts.dtype.kind not in "biuf":
            raise ValueError(f"{where} must be numeric, got dtype {acts.dtype}.")
        if self.action_n:
            acts = acts.reshape(-1) if acts.size == n else acts
            if acts.shape != (n,):
                raise ValueError(f"{where} must have shape ({n},), got {np.shape(actions)}.")
            bad = (acts != np.round(acts)) | (acts < self.action_start) | (
                acts >= self.action_start + self.action_n
            )
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"{where}[{i}] = {acts[i]} is not an action in "
                                 f"[{self.action_start}, {self.action_start + self.action_n}).")
            return acts.astype(np.int64)
        if acts.size != n * self.act_dim:
            raise ValueError(f"{where} must have shape ({n}, *{self.act_shape}), got "
                             f"{np.shape(actions)}.")
        acts = acts.reshape(n, self.act_dim).astype(np.float64)
        if not np.all(np.isfinite(acts)):
            raise ValueError(f"{where} contain NaN or infinite values.")
        return acts

    def check_one_or_batch(self, observations, where="states"):
        """A checked batch of observations, and whether ``observations`` was one observation
        (a scalar for Discrete spaces, one array of the Box's shape) rather than a batch."""
        obs = np.asarray(observations)
        single = obs.shape == (() if self.obs_n else self.obs_shape)
        return self.check_observations(obs[None] if single else obs, where), single

    def inputs(self, observations, actions):
        """Stack ``[obs, action]`` rows, one-hot encoding the Discrete parts."""
        n = len(observations)
        x = np.zeros((n, self.input_dim), dtype=np.float64)
        if self.obs_n:
            x[np.arange(n), np.asarray(observations, dtype=np.int64) - self.obs_start] = 1.0
        else:
            x[:, : self.obs_dim] = np.asarray(observations, dtype=np.float64).reshape(n, -1)
        if self.action_n:
            idx = np.asarray(actions, dtype=np.int64).reshape(n) - self.action_start
            x[np.arange(n), self.obs_dim + idx] = 1.0
        else:
            x[:, self.obs_dim:] = np.asarray(actions, dtype=np.float64).reshape(n, -1)
        return x

    def demo_arrays(self, demos, sample_weight):
        """Observations, actions and per-step sampling weights (summing to 1) of the demos."""
        trajs = check_demos(demos)
        if sample_weight is None:
            sample_weight = np.ones(len(trajs))
        obs, acts, weights = [], [], []
        for i, (traj, w) in enumerate(zip(trajs, sample_weight)):
            T = len(traj)
            obs.append(self.check_observations(traj.states[:T], f"trajectory {i}: states"))
            acts.append(self.check_actions(traj.actions, T, f"trajectory {i}: actions"))
            if self.action_n is None:
                self._warn_out_of_bounds(acts[-1], i)
            weights.append(np.full(T, float(w)))
        weights = np.concatenate(weights)
        if weights.sum() <= 0:
            raise ValueError("the demos have no steps with positive weight.")
        return np.concatenate(obs), np.concatenate(acts), weights / weights.sum()

    def _warn_out_of_bounds(self, acts, i):
        """Warn (naming trajectory and step) about Box actions outside the space's bounds: the
        env clips them, so a policy fitted to them imitates actions it can never take."""
        low = np.asarray(self.action_space.low, dtype=np.float64).reshape(-1)
        high = np.asarray(self.action_space.high, dtype=np.float64).reshape(-1)
        bad = (acts < low) | (acts > high)
        if bad.any():
            step, dim = (int(k) for k in np.argwhere(bad)[0])
            warn_user(
                f"trajectory {i}, step {step}: action {acts[step].tolist()} lies outside the "
                f"action space's bounds [{low.tolist()}, {high.tolist()}] (dimension {dim}; "
                f"{int(bad.any(axis=1).sum())} step(s) of this trajectory); the environment "
                "clips such actions.",
                UserWarning,
            )


def _discrete_n(space):
    n = getattr(space, "n", None)
    return int(n) if n is not None and not hasattr(space, "nvec") else None
