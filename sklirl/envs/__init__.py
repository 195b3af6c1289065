"""Environments: tabular MDPs, grid worlds and gymnasium adapters."""

from ._grids import GridWorld, ObjectWorld
from ._gym import from_gymnasium
from ._tabular import TabularMDP

__all__ = ["TabularMDP", "GridWorld", "ObjectWorld", "from_gymnasium", "FixedHorizon"]


def __getattr__(name):
    if name == "FixedHorizon":  # a gymnasium.Wrapper: imported on first use (gym extra)
        from ..utils._optional import import_gymnasium

        import_gymnasium("sklirl.envs.FixedHorizon")
        from ._wrappers import FixedHorizon

        return FixedHorizon
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
