"""scikit-learn conformance of every public estimator.

- Feature maps (array-native transformers) pass scikit-learn's full ``check_estimator``
  suite, nothing excused.
- Solvers and expectation estimators have no ``fit``: they pass scikit-learn's checks that
  need no data, and ``solve``/``occupancy`` validate their parameters like ``fit`` does.
- IRL estimators (``fit(demos, env)``, ``two_d_array=False``) pass scikit-learn's no-data
  checks and ``sklirl.utils.estimator_checks``, which re-runs the data checks' assertions
  on ``(demos, env)``; the scikit-learn checks that cannot apply are listed, with reasons,
  in ``INAPPLICABLE_CHECKS`` (and nowhere else).

Every exception (a check left out, an estimator checked with other than its default
parameters, a check scikit-learn skips in an ordinary session) is taken from the tables of
``sklirl.utils.estimator_checks``, which give the reasons; none is written here.
"""

import importlib
import importlib.util
import inspect
import os
import pickle
import pkgutil
import re
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import PolynomialFeatures
from sklearn.utils import estimator_checks as sk_checks
from sklearn.utils.estimator_checks import (
    parametrize_with_checks as sk_parametrize_with_checks,
)

import sklirl
from sklirl import expectations as expectations_module
from sklirl import features as features_module
from sklirl import solvers as solvers_module
from sklirl.envs import GridWorld
from sklirl.expectations import MonteCarloExpectation
from sklirl.features import OneHotStates
from sklirl.solvers import SoftValueIteration
from sklirl.utils import estimator_checks as irl_checks
from sklirl.utils._testing_estimators import FeatureMatchingIRL, TabularBehaviorCloning

# Deliberately tiny fits (few iterations) do not converge; that is not what is checked here.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# ---------------------------------------------------------------------------------------
# Feature maps: the full scikit-learn suite
# ---------------------------------------------------------------------------------------
def _public_classes(module, method=None):
    """The BaseEstimator subclasses in ``module.__all__`` (with ``method``, if given)."""
    for name in getattr(module, "__all__", dir(module)):
        try:
            obj = getattr(module, name)
        except ImportError:  # an optional extra (torch) that is not installed
            continue
        if (inspect.isclass(obj) and issubclass(obj, BaseEstimator)
                and (method is None or hasattr(obj, method))):
            yield obj


def _with_check_params(cls, default=None):
    """Instances of ``cls`` with the parameter sets of irl_checks.CHECK_PARAMS (else one)."""
    param_sets, _ = irl_checks.CHECK_PARAMS.get(cls.__name__, ([default or {}], None))
    return [cls(**params) for params in param_sets]


FEATURE_MAPS = [f for cls in _public_classes(features_module, "transform")
                for f in _with_check_params(cls)]


def test_every_feature_map_is_checked():
    assert {type(f) for f in FEATURE_MAPS} >= {OneHotStates}


_ARRAY_API = "check_array_api_input"


@sk_parametrize_with_checks(FEATURE_MAPS)
def test_feature_maps_pass_sklearn_checks(estimator, check):
    if (irl_checks._check_name(check) == _ARRAY_API
            and os.environ.get("SCIPY_ARRAY_API") != "1"):
        pytest.skip(irl_checks.ENVIRONMENT_SKIPPED_CHECKS[_ARRAY_API])
    check(estimator)


def test_feature_maps_pass_array_api_input_check_with_scipy_array_api():
    # check_array_api_input (NumPy namespace, array-API dispatch on), in a subprocess that
    # sets SCIPY_ARRAY_API=1 before scipy is imported; see ENVIRONMENT_SKIPPED_CHECKS.
    checks = [c for f in FEATURE_MAPS for c in sk_checks._yield_all_checks(f, legacy=True)
              if irl_checks._check_name(c) == _ARRAY_API]
    assert len(checks) == len(FEATURE_MAPS)
    code = (
        "import pickle, sys\n"
        "for name, estimator, check in pickle.loads(sys.stdin.buffer.read()):\n"
        "    check(name, estimator)\n"
        "print('ran', flush=True)\n"
    )
    payload = pickle.dumps([(type(f).__name__, f, c) for f, c in zip(FEATURE_MAPS, checks)])
    result = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True,
                            env={**os.environ, "SCIPY_ARRAY_API": "1"}, timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == "ran"


# ---------------------------------------------------------------------------------------
# Solvers and expectation estimators: no fit, so the no-data checks plus validation
# ---------------------------------------------------------------------------------------
SUB_ESTIMATOR_CHECKS = [c for c in irl_checks.SKLEARN_CHECKS
                        if irl_checks._check_name(c) not in irl_checks.NO_FIT_INAPPLICABLE_CHECKS]

# Small settings, so that using each takes well under a second.
_SUB_ESTIMATOR_PARAMS = {
    "SoftValueIteration": {"temperature": 0.5},
    "MonteCarloExpectation": {"n_episodes": 5, "random_state": 0},
    "PPO": {"total_timesteps": 64, "n_envs": 1, "n_steps": 32, "batch_size": 32,
            "n_epochs": 1, "hidden_layer_sizes": (4,), "random_state": 0},
}

# Every public BaseEstimator of sklirl.solvers and sklirl.expectations without fit; those of
# sklirl.features (which have fit) are the feature maps above.
SUB_ESTIMATORS = [
    est
    for module in (solvers_module, expectations_module, features_module)
    for cls in _public_classes(module)
    if not hasattr(cls, "fit")
    for est in _with_check_params(cls, _SUB_ESTIMATOR_PARAMS.get(cls.__name__))
]


def _tiny_env():
    return GridWorld(2, gamma=0.5)


def _use(estimator, env=None):
    """Call the estimator's main method on a tiny env: solve() or occupancy()."""
    if type(estimator).__name__ == "PPO":  # solves gymnasium envs
        policy = estimator.solve("CartPole-v1" if env is None else env)
        return policy.predict_proba(np.linspace(-0.1, 0.1, 12).reshape(3, 4))
    env = _tiny_env() if env is None else env
    if hasattr(estimator, "solve"):
        return estimator.solve(env, env.reward).probs
    return estimator.occupancy(env, np.full((env.n_states, env.n_actions), 0.25))


def test_sub_estimators_are_collected():
    names = {type(e).__name__ for e in SUB_ESTIMATORS}
    assert names >= {"ValueIteration", "SoftValueIteration", "ExactExpectation",
                     "MonteCarloExpectation"}
    if importlib.util.find_spec("torch") is not None:
        assert "PPO" in names


@pytest.mark.parametrize("estimator", SUB_ESTIMATORS, ids=repr)
@pytest.mark.parametrize("check", SUB_ESTIMATOR_CHECKS, ids=irl_checks._check_name)
def test_sub_estimators_pass_sklearn_no_data_checks(estimator, check):
    check(type(estimator).__name__, estimator)


@pytest.mark.parametrize("estimator", SUB_ESTIMATORS, ids=repr)
def test_sub_estimators_validate_parameters(estimator):
    irl_checks._assert_param_validation(type(estimator).__name__, estimator, _use)


@pytest.mark.parametrize("estimator", SUB_ESTIMATORS, ids=repr)
def test_sub_estimators_are_pure(estimator):
    # Using a sub-estimator changes none of its parameters and gives the same answer twice;
    # it pickles and clones to an equivalent object.
    params = joblib.hash(estimator.get_params(deep=True))
    first = _use(estimator)
    assert joblib.hash(estimator.get_params(deep=True)) == params
    np.testing.assert_array_equal(_use(estimator), first)
    np.testing.assert_array_equal(_use(pickle.loads(pickle.dumps(estimator))), first)
    np.testing.assert_array_equal(_use(clone(estimator)), first)


# ---------------------------------------------------------------------------------------
# IRL estimators: scikit-learn's no-data checks and the (demos, env) harness
# ---------------------------------------------------------------------------------------
# Small settings so that the whole suite runs in seconds; the real estimators are added
# when their modules exist.
_REAL_ESTIMATORS = {
    "MaxEntIRL": ("sklirl.irl._max_ent", [
        {"max_iter": 5},
        {"max_iter": 5, "features": PolynomialFeatures(2)},
    ]),
    "MaxEntIRLCV": ("sklirl.irl._max_ent_cv", [
        {"max_iter": 5, "l2s": [1.0, 0.1], "cv": 2},
    ]),
    "MaxMarginIRL": ("sklirl.irl._max_margin", [
        {"max_iter": 5},
        {"max_iter": 3, "solver": SoftValueIteration(temperature=0.5),
         "expectation": MonteCarloExpectation(n_episodes=10)},
    ]),
    "BayesianIRL": ("sklirl.irl._bayesian", [
        {"n_samples": 15, "burn_in": 15},
        {"n_samples": 10, "burn_in": 10, "thin": 2, "prior": "laplace",
         "features": PolynomialFeatures(2)},
    ]),
    "BehavioralCloning": ("sklirl.irl._bc", [
        {},
        {"estimator": LogisticRegression()},
    ]),
    "GAIL": ("sklirl.irl._gail", [
        {"max_iter": 3, "hidden_layer_sizes": (8,), "disc_batch_size": 32},
        {"max_iter": 2, "hidden_layer_sizes": (4,), "disc_batch_size": 32,
         "features": PolynomialFeatures(2), "expectation": MonteCarloExpectation(10)},
    ]),
    "AIRL": ("sklirl.irl._airl", [
        {"max_iter": 3, "potential_hidden_layer_sizes": (8,)},
        {"max_iter": 2, "state_only": False, "reward_model": "mlp", "hidden_layer_sizes": (4,),
         "features": PolynomialFeatures(2), "expectation": MonteCarloExpectation(10)},
    ]),
}


def _real_estimators():
    for name, (module, param_sets) in _REAL_ESTIMATORS.items():
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            yield pytest.param(None, marks=pytest.mark.skip(reason=f"{name}: {exc}"), id=name)
            continue
        for i, params in enumerate(param_sets):
            yield pytest.param(cls(**params), id=name if i == 0 else f"{name}-{i}")


def _irl_estimators():
    yield pytest.param(TabularBehaviorCloning(), id="TabularBehaviorCloning")
    yield pytest.param(FeatureMatchingIRL(max_iter=3), id="FeatureMatchingIRL")
    yield pytest.param(
        FeatureMatchingIRL(
            features=PolynomialFeatures(2), solver=SoftValueIteration(temperature=0.5),
            expectation=MonteCarloExpectation(n_episodes=10), max_iter=3,
        ),
        id="FeatureMatchingIRL-sub-estimators",
    )
    yield from _real_estimators()


IRL_ESTIMATORS = list(_irl_estimators())
_CHECKS = [*irl_checks.SKLEARN_CHECKS, *irl_checks.DATA_CHECKS]

# Checks known to fail, keyed by (estimator, check), with the reason. Keep it empty: an entry
# here is a bug to fix, never a way to excuse an inapplicable check (see INAPPLICABLE_CHECKS).
KNOWN_FAILURES: dict = {}


@pytest.fixture(scope="module")
def check_data():
    return irl_checks.make_check_data()


@pytest.mark.parametrize("estimator", IRL_ESTIMATORS)
@pytest.mark.parametrize("check", _CHECKS, ids=irl_checks._check_name)
def test_irl_estimators(estimator, check, check_data, request):
    name = type(estimator).__name__
    reason = KNOWN_FAILURES.get((name, irl_checks._check_name(check)))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sk_checks.SkipTestWarning)
        if check in irl_checks.DATA_CHECKS:
            try:
                check(name, estimator, data=check_data)
            except sk_checks.SkipTest as exc:
                pytest.skip(str(exc))
        else:
            check(name, estimator)


def _checks_sklearn_would_run(estimator):
    """Names of the checks scikit-learn yields for the estimator were its input 2-D."""
    cls = type(estimator)

    class As2D(cls):
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.input_tags.two_d_array = True
            return tags

    As2D.__name__ = cls.__name__
    twin = As2D(**estimator.get_params(deep=False))
    return {sk_checks._check_name(c) for c in sk_checks._yield_all_checks(twin, legacy=True)}


@pytest.mark.parametrize("estimator", IRL_ESTIMATORS)
def test_every_sklearn_check_is_run_or_listed_inapplicable(estimator):
    # scikit-learn yields nothing beyond the clone check for non-2-D estimators ...
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sk_checks.SkipTestWarning)
        assert list(sk_checks._yield_all_checks(estimator, legacy=True)) == []
    # ... so every check it would run on 2-D data is either run here unchanged or listed
    # in INAPPLICABLE_CHECKS with its reason (and the list holds nothing else).
    run = {irl_checks._check_name(c) for c in irl_checks.SKLEARN_CHECKS}
    listed = set(irl_checks.INAPPLICABLE_CHECKS)
    would_run = _checks_sklearn_would_run(estimator) | {"check_estimator_cloneable"}
    assert not run & listed
    assert would_run - run - listed == set(), "new scikit-learn checks to run or list"


def test_inapplicable_checks_are_checks_sklearn_would_run():
    would_run = set()
    for param in IRL_ESTIMATORS:
        if param.values[0] is not None:
            would_run |= _checks_sklearn_would_run(param.values[0])
    assert set(irl_checks.INAPPLICABLE_CHECKS) - would_run == set()


def test_inapplicable_checks_have_reasons_and_replacements():
    data_checks = {c.__name__ for c in irl_checks.DATA_CHECKS}
    for check, reason in irl_checks.INAPPLICABLE_CHECKS.items():
        assert hasattr(sk_checks, check), check
        assert len(reason) > 40, check
        # A reason that points to a replacement names a check that exists.
        for word in re.findall(r"check_\w+", reason):
            if word != check and word not in (
                "check_demos",  # sklirl.demos.check_demos, named as the validator
            ):
                assert word in data_checks, f"{check}: {word} is not a harness check"


def test_n_features_in_is_the_observation_size_of_gymnasium_envs():
    gymnasium = pytest.importorskip("gymnasium")

    class ObservationIRL(TabularBehaviorCloning):
        _accepts_gymnasium = True

        def _fit(self, demos, env, sample_weight):
            self.policy_ = None

    cartpole = gymnasium.make("CartPole-v1")
    est = ObservationIRL().fit([(np.zeros((3, 4)), np.array([0, 1]))], cartpole)
    assert est.n_features_in_ == 4
    # Tabular envs take state indices, not features: refitting on one removes it.
    est.fit([([0, 1, 2], [1, 1])], GridWorld(2))
    assert not hasattr(est, "n_features_in_")


# ---------------------------------------------------------------------------------------
# Coverage: every public BaseEstimator of the package is in one of the lists above
# ---------------------------------------------------------------------------------------
def _public_estimator_classes():
    """BaseEstimator subclasses defined in sklirl and exported by a public module."""
    found = {}
    for info in pkgutil.walk_packages(sklirl.__path__, prefix="sklirl."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed
            continue
        for cls in [*_public_classes(sklirl), *_public_classes(module)]:
            if cls.__module__.startswith("sklirl.") and not cls.__name__.startswith("_"):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


def test_every_public_estimator_is_checked():
    checked = {type(e) for e in [*FEATURE_MAPS, *SUB_ESTIMATORS]}
    checked |= {type(p.values[0]) for p in IRL_ESTIMATORS if p.values[0] is not None}
    skipped = {p.id for p in IRL_ESTIMATORS if p.values[0] is None}  # optional extra missing
    public = _public_estimator_classes()
    assert {"MaxEntIRL", "OneHotStates", "ValueIteration"} <= {c.__name__ for c in public.values()}
    # A base class (BaseIRL, named Base* as in scikit-learn) is checked through subclasses.
    missing = {name for name, cls in public.items()
               if cls not in checked and cls.__name__ not in skipped
               and not (cls.__name__.startswith("Base")
                        and any(issubclass(c, cls) for c in checked))}
    assert not missing, f"public estimators in no check list: {sorted(missing)}"


# ---------------------------------------------------------------------------------------
# One contract for every public estimator (docs/user_guide/architecture.rst)
# ---------------------------------------------------------------------------------------
def _public_estimators():
    import sklirl.irl

    for name in sklirl.irl.__all__:
        yield pytest.param(name, id=name)


@pytest.mark.parametrize("name", _public_estimators())
def test_public_estimator_contract(name):
    """``from sklirl.irl import X`` works; ``max_iter`` is the iteration budget; parameters
    after the first are keyword-only; after a fit on a tabular env ``reward_`` is ``(S, A)``
    (estimators that learn a reward)
    and ``history_`` a dict of equal-length arrays, one entry per iteration."""
    if name in ("GAIL", "AIRL"):
        pytest.importorskip("torch")
    module = importlib.import_module("sklirl.irl")
    cls = getattr(module, name)
    assert getattr(importlib.import_module("sklirl"), name) is cls
    params = list(inspect.signature(cls).parameters.values())
    assert "max_iter" in {p.name for p in params}
    assert all(p.kind is p.KEYWORD_ONLY for p in params[1:]), [
        p.name for p in params[1:] if p.kind is not p.KEYWORD_ONLY]
    from sklirl.datasets import make_expert_demos
    from sklirl.envs import GridWorld

    env = GridWorld(3, gamma=0.9)
    demos, _ = make_expert_demos(env, 5, horizon=6, random_state=0)
    small = {"hidden_layer_sizes": (4,)} if name in ("GAIL", "AIRL") else {}
    est = cls(max_iter=3, random_state=0, **small).fit(demos, env)
    if hasattr(est, "predict_reward"):  # not BehavioralCloning, which learns no reward
        assert est.reward_.shape == (env.n_states, env.n_actions)
    else:
        assert not hasattr(est, "reward_")
    history = est.history_
    assert isinstance(history, dict) and history
    lengths = {key: len(values) for key, values in history.items()}
    assert all(isinstance(v, np.ndarray) for v in history.values())
    assert len(set(lengths.values())) == 1, lengths
    assert 1 <= est.n_iter_ <= 3
