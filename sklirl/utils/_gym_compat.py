"""What differs between the gymnasium versions the package supports (0.29.1 and 1.x).

- Vector envs: gymnasium 1.0 made the autoreset mode a choice (``autoreset_mode``, 1.1) and
  renamed the final observation of a finished episode from ``info["final_observation"]`` to
  ``info["final_obs"]``. 0.29 always resets in the same step, as sklirl's PPO wants.
- ``gymnasium.make_vec`` returns a ``gymnasium.experimental.vector.VectorEnv`` in 0.29, a
  class apart from ``gymnasium.vector.VectorEnv`` (which is an ``Env`` there).
- Toy-text ids: 1.x has ``CliffWalking-v1`` and ``Taxi-v4``; 0.29 has ``-v0`` and ``-v3``.
"""

import gymnasium

__all__ = ["is_vector_env", "same_step_sync_vector_env", "toy_text_id"]


class _FinalObsSyncVectorEnv(gymnasium.vector.SyncVectorEnv):
    """gymnasium 0.29's ``SyncVectorEnv``, with the final observations under 1.x's key."""

    def step(self, actions):
        obs, reward, terminated, truncated, info = super().step(actions)
        if "final_observation" in info:
            info["final_obs"] = info["final_observation"]
        return obs, reward, terminated, truncated, info


def same_step_sync_vector_env(env_fns):
    """A ``SyncVectorEnv`` that resets finished episodes in the step that ends them.

    The observation returned for a finished copy is the next episode's first one; the
    finished episode's last observation is ``info["final_obs"][e]`` on every version.

    Parameters
    ----------
    env_fns : list of callables
        Zero-argument functions that each make one copy of the env.

    Returns
    -------
    env : gymnasium.vector.SyncVectorEnv
    """
    mode = getattr(gymnasium.vector, "AutoresetMode", None)
    if mode is not None:
        return gymnasium.vector.SyncVectorEnv(env_fns, autoreset_mode=mode.SAME_STEP)
    return _FinalObsSyncVectorEnv(env_fns)


def toy_text_id(name):
    """The registered id of a toy-text env in this gymnasium: ``"CliffWalking"``, ``"Taxi"``
    or ``"FrozenLake"`` (the newest version registered)."""
    versions = sorted(
        (int(env_id.rsplit("-v", 1)[1]), env_id) for env_id in gymnasium.registry
        if env_id.rsplit("-v", 1)[0] == name and env_id.rsplit("-v", 1)[1].isdigit()
    )
    if not versions:
        raise ValueError(f"no {name} environment is registered in gymnasium "
                         f"{gymnasium.__version__}.")
    return versions[-1][1]


def is_vector_env(env):
    """Whether ``env`` is a vector env of any of the supported gymnasium versions."""
    classes = [gymnasium.vector.VectorEnv]
    experimental = getattr(getattr(gymnasium, "experimental", None), "vector", None)
    if experimental is not None and hasattr(experimental, "VectorEnv"):
        classes.append(experimental.VectorEnv)
    return isinstance(env, tuple(classes))
