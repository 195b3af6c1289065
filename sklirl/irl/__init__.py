"""The IRL estimators, one module each: ``from sklirl.irl import MaxEntIRL, MaxEntIRLCV,
MaxMarginIRL, GAIL, BehavioralCloning, BayesianIRL, AIRL`` (also importable from
:mod:`sklirl`; imported on first access, so torch loads only with GAIL and AIRL)."""

import importlib

_ESTIMATORS = {
    "MaxMarginIRL": "sklirl.irl._max_margin",
    "MaxEntIRL": "sklirl.irl._max_ent",
    "MaxEntIRLCV": "sklirl.irl._max_ent_cv",
    "GAIL": "sklirl.irl._gail",
    "BehavioralCloning": "sklirl.irl._bc",
    "BayesianIRL": "sklirl.irl._bayesian",
    "AIRL": "sklirl.irl._airl",
}

__all__ = list(_ESTIMATORS)


def __getattr__(name):
    if name in _ESTIMATORS:
        return getattr(importlib.import_module(_ESTIMATORS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_ESTIMATORS))
