"""Gymnasium wrappers for imitation benchmarks (needs the ``gym`` extra)."""

from __future__ import annotations

import copy
from numbers import Integral, Real

import gymnasium
import numpy as np

__all__ = ["FixedHorizon"]


class FixedHorizon(gymnasium.Wrapper, gymnasium.utils.RecordConstructorArgs):
    """Episodes of exactly ``horizon`` steps: termination becomes an absorbing state.

    When the wrapped env terminates (CartPole's pole falls, MountainCar's car reaches the
    flag), the episode does not end: the wrapper holds the terminal observation and pays
    ``absorb_reward`` on every remaining step, until ``horizon`` steps have passed and the
    episode is truncated. ``terminated`` is therefore always False, and every episode has the
    same length, so an imitation learner cannot score by learning "end the episode early" or
    "late" (a positive or negative per-step pseudo-reward alone does that on the raw envs).

    This is the absorbing-state convention of seals' ``AbsorbAfterDoneWrapper`` (used for its
    ``MountainCar-v0``) and of Kostrikov et al. (2019). seals' ``CartPole-v0`` instead keeps
    simulating after the pole falls, with reward 0 outside the upright region; both pay 0
    after failure, so returns agree unless the pole recovers.

    Parameters
    ----------
    env : gymnasium.Env
        The environment; a ``TimeLimit`` inside it is harmless (its truncation also ends the
        episode, at ``horizon`` when the limits agree).
    horizon : int or None, default=None
        Steps per episode; None uses ``env.spec.max_episode_steps``.
    absorb_reward : float, default=0.0
        Reward of each step spent in the absorbing state.

    Attributes
    ----------
    horizon : int
    absorbed : bool
        Whether the current episode has reached its absorbing state.

    Examples
    --------
    >>> import gymnasium
    >>> from sklirl.envs import FixedHorizon
    >>> env = FixedHorizon(gymnasium.make("CartPole-v1"))
    >>> obs, _ = env.reset(seed=0)
    >>> steps, total = 0, 0.0
    >>> while True:  # always push right: the pole falls after a few steps
    ...     obs, reward, terminated, truncated, info = env.step(1)
    ...     steps, total = steps + 1, total + reward
    ...     if terminated or truncated:
    ...         break
    >>> steps, total < 20, info["absorbed"]
    (500, True, True)
    """

    def __init__(self, env, horizon=None, absorb_reward=0.0):
        # recorded, so that gymnasium.make(env.spec) rebuilds the wrapped env (vector envs)
        gymnasium.utils.RecordConstructorArgs.__init__(
            self, horizon=horizon, absorb_reward=absorb_reward)
        gymnasium.Wrapper.__init__(self, env)
        if horizon is None:
            spec = getattr(env, "spec", None)
            horizon = getattr(spec, "max_episode_steps", None)
            if horizon is None:
                raise ValueError(
                    "FixedHorizon needs a horizon: the env has no spec.max_episode_steps, so "
                    "pass horizon=<steps per episode>."
                )
        if not isinstance(horizon, Integral) or isinstance(horizon, bool) or horizon < 1:
            raise ValueError(f"horizon must be a positive integer, got {horizon!r}.")
        if not isinstance(absorb_reward, Real) or not np.isfinite(absorb_reward):
            raise ValueError(f"absorb_reward must be a finite number, got {absorb_reward!r}.")
        self.horizon = int(horizon)
        self.absorb_reward = float(absorb_reward)
        self.absorbed = False
        self._t = 0
        self._last_obs = None

    def reset(self, **kwargs):
        """Reset the wrapped env and start an episode of ``horizon`` steps.

        Parameters
        ----------
        **kwargs
            Passed to the wrapped env's ``reset`` (``seed``, ``options``).

        Returns
        -------
        observation, info
            The wrapped env's, ``info["absorbed"]`` False.
        """
        obs, info = self.env.reset(**kwargs)
        self._t, self.absorbed, self._last_obs = 0, False, obs
        return obs, {**info, "absorbed": False}

    def step(self, action):
        """Step the wrapped env, or stay in the absorbing state once it has terminated.

        Parameters
        ----------
        action : object
            An action of the wrapped env (ignored in the absorbing state).

        Returns
        -------
        observation, reward, terminated, truncated, info
            ``terminated`` is always False; ``truncated`` is True at step ``horizon`` (or when
            a time limit inside the wrapped env truncates first); ``info["absorbed"]`` says
            whether the episode is in its absorbing state.
        """
        if self._last_obs is None:
            raise RuntimeError("FixedHorizon.step called before reset.")
        self._t += 1
        if self.absorbed:
            obs, reward, info = copy.copy(self._last_obs), self.absorb_reward, {"absorbed": True}
            inner_truncated = False
        else:
            obs, reward, terminated, inner_truncated, info = self.env.step(action)
            self._last_obs = obs
            self.absorbed = bool(terminated)
            info = {**info, "absorbed": self.absorbed}
        truncated = self._t >= self.horizon or (bool(inner_truncated) and not self.absorbed)
        return obs, reward, False, truncated, info
