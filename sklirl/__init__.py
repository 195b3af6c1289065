"""sklirl: inverse reinforcement learning and adversarial imitation for scikit-learn.

The estimators are imported on first access, so ``import sklirl`` stays light and never
imports torch.
"""

import importlib

from .demos import Trajectory

__version__ = "0.1.0.dev0"

_ESTIMATORS = ("MaxMarginIRL", "MaxEntIRL", "MaxEntIRLCV", "GAIL", "BehavioralCloning",
               "BayesianIRL", "AIRL")

__all__ = ["MaxMarginIRL", "MaxEntIRL", "MaxEntIRLCV", "GAIL", "BehavioralCloning", "BayesianIRL",
           "AIRL", "Trajectory", "__version__"]


def __getattr__(name):
    if name in _ESTIMATORS:
        return getattr(importlib.import_module("sklirl.irl"), name)
    raise AttributeError(f"module 'sklirl' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_ESTIMATORS))
