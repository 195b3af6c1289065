"""Policies: the objects estimators return as ``policy_`` and solvers return from ``solve``.

:class:`TabularPolicy` (tables over a :class:`~sklirl.envs.TabularMDP`), :class:`TorchPolicy`
(actor-critic networks for gymnasium envs, trained by :class:`~sklirl.solvers.PPO`; needs
torch, imported on first use), :class:`UniformPolicy` and :class:`EpisodeMixturePolicy` (the
mixtures :class:`~sklirl.MaxMarginIRL` returns on gymnasium envs) and :class:`SB3Policy` (a
stable-baselines3 algorithm's policy). The gymnasium policies act with ``act(observations)``
and offer stable-baselines3's ``predict(observation, state=None, episode_start=None,
deterministic=False) -> (action, state)``.
"""

from ._mixture import EpisodeMixturePolicy, UniformPolicy
from ._sb3 import SB3Policy
from ._tabular import TabularPolicy, check_policy, sample_categorical

__all__ = [
    "TabularPolicy",
    "TorchPolicy",
    "UniformPolicy",
    "EpisodeMixturePolicy",
    "SB3Policy",
    "check_policy",
    "sample_categorical",
]


def __getattr__(name):
    if name == "TorchPolicy":
        from ..utils._optional import import_torch

        import_torch("sklirl.policies.TorchPolicy")
        from ._torch import TorchPolicy

        return TorchPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
