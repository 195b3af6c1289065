"""Solvers: planning and reinforcement learning for a given reward.

Every solver has ``solve(env, reward) -> policy``. The tabular planners need only numpy
and scipy; :class:`PPO` needs the ``torch`` and ``gym`` extras and is imported on first use.
"""

from ._tabular import (
    SoftValueIteration,
    TabularPolicy,  # noqa: F401  (still importable from here; its home is sklirl.policies)
    ValueIteration,
    soft_bellman_backup,
    soft_value_iteration,
    value_iteration,
)

__all__ = [
    "ValueIteration",
    "SoftValueIteration",
    "PPO",
    "soft_bellman_backup",
    "soft_value_iteration",
    "value_iteration",
]


def __getattr__(name):
    if name in ("PPO", "TorchPolicy"):
        from ..utils._optional import import_gymnasium, import_torch

        import_torch("sklirl.solvers.PPO")
        import_gymnasium("sklirl.solvers.PPO")
        from . import _ppo

        return getattr(_ppo, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
