"""Stepping gymnasium environments: the env factory and observation checks shared by the
policies and PPO's rollouts."""

from __future__ import annotations

import copy
import functools

import gymnasium
import numpy as np
from gymnasium import spaces

from .utils._gym_compat import is_vector_env

__all__ = ["check_observation", "env_factory", "env_name"]


def env_name(env):
    spec = getattr(env, "spec", None)
    if spec is not None and getattr(spec, "id", None):
        return repr(spec.id)
    return type(getattr(env, "unwrapped", env)).__name__


def check_observation(obs, space, env, where):
    """Raise a ValueError naming the env when ``obs`` does not fit the observation space."""
    obs = np.asarray(obs)
    if isinstance(space, spaces.Box):
        if obs.shape != space.shape:
            raise ValueError(
                f"environment {env_name(env)} returned an observation of shape {obs.shape} "
                f"from {where}() but its observation_space is {space} (shape {space.shape}); "
                "fix the env or its observation_space."
            )
        if not np.all(np.isfinite(obs)):
            raise ValueError(
                f"environment {env_name(env)} returned a non-finite observation from "
                f"{where}(): {obs}. PPO needs finite observations (check the env's dynamics, "
                "or wrap it to clip or replace NaN/inf)."
            )


def _make_checked_env(factory):
    env = factory()
    if not isinstance(env, gymnasium.Env):
        raise TypeError(
            f"the env factory {factory!r} returned {type(env).__name__}, not a gymnasium.Env; "
            "pass a zero-argument callable that returns a new environment."
        )
    return env


def env_factory(env):
    """A zero-argument callable that returns fresh copies of ``env``."""
    if isinstance(env, str):
        return functools.partial(gymnasium.make, env)
    # Before the Env test: gymnasium 0.29's VectorEnv is an Env.
    if is_vector_env(env):
        raise TypeError(
            "pass a single environment (instance, id or factory); PPO builds the vector env."
        )
    if isinstance(env, gymnasium.Env):
        spec = env.spec
        # A wrapper without recorded constructor arguments cannot be re-made from the spec.
        if spec is not None and all(w.kwargs is not None for w in spec.additional_wrappers):
            return functools.partial(gymnasium.make, spec)
        return functools.partial(copy.deepcopy, env)
    if callable(env):
        return functools.partial(_make_checked_env, env)
    raise TypeError(
        "env must be a gymnasium.Env, a registered environment id or a zero-argument callable "
        f"returning one, got {type(env).__name__}."
    )
