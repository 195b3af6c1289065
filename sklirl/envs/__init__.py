"""Environments: tabular MDPs, grid worlds and gymnasium adapters."""

from ._grids import GridWorld, ObjectWorld
from ._gym import from_gymnasium
from ._tabular import TabularMDP

__all__ = ["TabularMDP", "GridWorld", "ObjectWorld", "from_gymnasium"]
