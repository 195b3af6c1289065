"""The scikit-learn idioms of DESIGN.md section 6, each as a test, and scale-out with joblib.

Model selection scores by held-out log-likelihood (``est.score``); the env travels as a fit
parameter (``fit(demos, env=env)``), the way cross-validation and grid search pass metadata.
"""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    PolynomialFeatures,
    SplineTransformer,
    StandardScaler,
)

from sklirl.datasets import make_expert_demos
from sklirl.envs import GridWorld
from sklirl.expectations import MonteCarloExpectation
from sklirl.solvers import SoftValueIteration

MaxEntIRL = pytest.importorskip("sklirl.irl._max_ent", reason="MaxEntIRL not written yet").MaxEntIRL
MaxMarginIRL = pytest.importorskip(
    "sklirl.irl._max_margin", reason="MaxMarginIRL not written yet"
).MaxMarginIRL

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def problem():
    env = GridWorld(3, gamma=0.9)
    demos, _ = make_expert_demos(env, 30, horizon=8, random_state=0)
    return demos, env


def _fast_maxent(**params):
    return MaxEntIRL(max_iter=6, **params)


# ---------------------------------------------------------------------------------------
# Fitting and cloning
# ---------------------------------------------------------------------------------------
def test_positional_env_equals_keyword_env(problem):
    demos, env = problem
    a = _fast_maxent().fit(demos, env)
    b = _fast_maxent().fit(demos, env=env)
    np.testing.assert_array_equal(a.reward_, b.reward_)
    assert a.env_ is env


def test_clone_and_pickle_fitted(problem):
    demos, env = problem
    est = _fast_maxent(l2=0.1).fit(demos, env)
    copy = clone(est)
    assert copy.get_params() == est.get_params() and not hasattr(copy, "reward_")
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict_proba(np.arange(9)),
                                  est.predict_proba(np.arange(9)))
    assert restored.score(demos) == est.score(demos)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: MaxEntIRL(reward_model="mlp", hidden_layer_sizes=(4,), max_iter=5,
                                       random_state=0), id="MaxEntIRL-mlp"),
        pytest.param(lambda: pytest.importorskip("sklirl.irl._gail").GAIL(
            max_iter=2, hidden_layer_sizes=(8,), disc_batch_size=32, random_state=0),
            id="GAIL"),
    ],
)
def test_pickle_torch_backed_estimators(problem, make):
    pytest.importorskip("torch")
    demos, env = problem
    est = make().fit(demos, env)
    restored = pickle.loads(pickle.dumps(est))
    states = np.arange(env.n_states)
    np.testing.assert_allclose(restored.predict_proba(states), est.predict_proba(states))
    np.testing.assert_allclose(restored.predict_reward(states), est.predict_reward(states))
    assert restored.score(demos) == pytest.approx(est.score(demos))


# ---------------------------------------------------------------------------------------
# Cross-validation and grid search with env as a fit parameter
# ---------------------------------------------------------------------------------------
def test_grid_search_with_env_fit_param(problem):
    demos, env = problem
    search = GridSearchCV(_fast_maxent(), {"l2": [0.0, 0.1]}, cv=3).fit(demos, env=env)
    assert search.best_params_["l2"] in (0.0, 0.1)
    assert search.cv_results_["split2_test_score"].shape == (2,)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.env_ is env
    # The refitted best estimator is the one fitted on all demos with the best parameters.
    direct = _fast_maxent(**search.best_params_).fit(demos, env)
    np.testing.assert_allclose(search.best_estimator_.reward_, direct.reward_)
    assert search.score(demos) == pytest.approx(direct.score(demos))


def test_cross_val_score_and_cross_validate(problem):
    demos, env = problem
    scores = cross_val_score(_fast_maxent(), demos, params={"env": env}, cv=3)
    assert scores.shape == (3,) and np.all(scores < 0) and np.all(np.isfinite(scores))
    # The fold scores are the held-out log-likelihoods of estimators fitted on the rest.
    for (train, test), score in zip(KFold(3).split(demos), scores):
        est = _fast_maxent().fit([demos[i] for i in train], env)
        assert est.score([demos[i] for i in test]) == pytest.approx(score)
    res = cross_validate(_fast_maxent(), demos, params={"env": env}, cv=3,
                         return_estimator=True, return_train_score=True)
    np.testing.assert_allclose(res["test_score"], scores)
    assert all(e.env_ is not None for e in res["estimator"])


def test_grid_search_tunes_solver_and_expectation(problem):
    demos, env = problem
    est = MaxMarginIRL(solver=SoftValueIteration(), expectation=MonteCarloExpectation(
        n_episodes=5, random_state=0), max_iter=3)
    grid = {"solver__temperature": [0.2, 1.0], "expectation__n_episodes": [5, 10]}
    search = GridSearchCV(est, grid, cv=3).fit(demos, env=env)
    best = search.best_estimator_
    assert best.solver.temperature == search.best_params_["solver__temperature"]
    assert best.expectation.n_episodes == search.best_params_["expectation__n_episodes"]
    assert best.solver_.temperature == best.solver.temperature  # the fitted clone
    # The estimator given to the search is untouched.
    assert est.solver.temperature == 1.0 and est.expectation.n_episodes == 5


# ---------------------------------------------------------------------------------------
# Custom feature maps
# ---------------------------------------------------------------------------------------
class RadialFeatures(TransformerMixin, BaseEstimator):
    """A user's feature map: Gaussian bumps around fixed centres of the state descriptors."""

    def __init__(self, width=1.0):
        self.width = width

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        self.centers_ = X[:: max(1, len(X) // 4)]
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        d2 = ((np.asarray(X, dtype=float)[:, None, :] - self.centers_[None]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * self.width**2))


@pytest.mark.parametrize(
    "features, n_features",
    [
        (make_pipeline(StandardScaler(), PolynomialFeatures(2)), 6),
        (SplineTransformer(n_knots=3, degree=2), 8),
        (FunctionTransformer(lambda X: np.c_[X, X[:, :1] * X[:, 1:]]), 3),
        (RadialFeatures(width=1.0), 5),
    ],
    ids=["pipeline", "spline", "function", "user-class"],
)
def test_custom_feature_maps(problem, features, n_features):
    demos, env = problem
    est = _fast_maxent(features=features).fit(demos, env)
    assert est.coef_.shape == (n_features,)
    assert est.features_ is not features  # fitted clone; the parameter is left unfitted
    expected = est.features_.transform(env.state_features) @ est.coef_
    np.testing.assert_allclose(est.predict_reward(np.arange(env.n_states)),
                               np.repeat(expected[:, None], env.n_actions, axis=1), atol=1e-10)


def test_grid_search_over_feature_map_parameters(problem):
    demos, env = problem
    search = GridSearchCV(_fast_maxent(features=SplineTransformer()),
                          {"features__n_knots": [3, 5]}, cv=3).fit(demos, env=env)
    n_knots = search.best_params_["features__n_knots"]
    assert search.best_estimator_.coef_.shape == (2 * (n_knots + 2),)  # 2 state features
    degree = GridSearchCV(_fast_maxent(features=PolynomialFeatures()),
                          {"features__degree": [1, 2]}, cv=3).fit(demos, env=env)
    assert degree.best_params_["features__degree"] in (1, 2)


# ---------------------------------------------------------------------------------------
# Pipelines, with and without metadata routing
# ---------------------------------------------------------------------------------------
def _drop_short_demos(demos):
    return [d for d in demos if len(d) >= 2]


def test_pipeline_with_demos_transformer(problem):
    demos, env = problem
    pipe = make_pipeline(FunctionTransformer(_drop_short_demos), _fast_maxent())
    pipe.fit(demos, maxentirl__env=env)
    direct = _fast_maxent().fit(_drop_short_demos(demos), env)
    np.testing.assert_allclose(pipe[-1].reward_, direct.reward_)
    # pipe.predict would send states through the demos transformer: predict with the step.
    np.testing.assert_allclose(pipe[-1].predict_proba(np.arange(9)),
                               direct.predict_proba(np.arange(9)))
    assert pipe.score(demos) == pytest.approx(direct.score(demos))


def test_pipeline_and_search_with_metadata_routing(problem):
    demos, env = problem
    with sklearn.config_context(enable_metadata_routing=True):
        est = _fast_maxent()  # env is requested by default: no set_fit_request needed
        pipe = make_pipeline(FunctionTransformer(_drop_short_demos), est).fit(demos, env=env)
        assert pipe[-1].env_ is env
        search = GridSearchCV(pipe, {"maxentirl__l2": [0.0, 0.1]}, cv=3).fit(demos, env=env)
        assert search.best_estimator_[-1].env_ is env
        scores = cross_val_score(est, demos, params={"env": env}, cv=3)
    np.testing.assert_allclose(scores, cross_val_score(_fast_maxent(), demos,
                                                       params={"env": env}, cv=3))


# ---------------------------------------------------------------------------------------
# Parallel and distributed grid search: the same answer on every backend
# ---------------------------------------------------------------------------------------
# 3 x 2 hyperparameters of a stochastic estimator: MaxMarginIRL with Monte Carlo feature
# expectations, whose scores depend on the expectation's random_state. Equal results on
# every backend therefore check that the seeds travel with the estimator to the workers.
_GRID = {"expectation__n_episodes": [3, 10, 30], "solver__temperature": [0.3, 1.0]}


def _search(n_jobs, random_state=0):
    est = MaxMarginIRL(max_iter=5, solver=SoftValueIteration(),
                       expectation=MonteCarloExpectation(random_state=random_state))
    return GridSearchCV(est, _GRID, cv=3, n_jobs=n_jobs)


@pytest.fixture(scope="module")
def serial_search(problem):
    demos, env = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _search(1).fit(demos, env=env)


def test_grid_search_scores_depend_on_the_seed(problem, serial_search):
    # Otherwise the backend comparisons below would not test seeding at all.
    demos, env = problem
    other = _search(1, random_state=1).fit(demos, env=env)
    assert not np.allclose(other.cv_results_["mean_test_score"],
                           serial_search.cv_results_["mean_test_score"])


def test_grid_search_loky_n_jobs_matches_serial(problem, serial_search):
    demos, env = problem
    with joblib.parallel_config(backend="loky"):
        search = _search(2).fit(demos, env=env)
    assert search.best_params_ == serial_search.best_params_
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               serial_search.cv_results_["mean_test_score"])


def test_grid_search_on_dask_cluster_matches_serial(problem, serial_search):
    pytest.importorskip("dask", reason="dask is not installed (pip install 'dask[distributed]')")
    distributed = pytest.importorskip(
        "dask.distributed", reason="dask.distributed is not installed (pip install "
        "'dask[distributed]')",
    )
    demos, env = problem
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=40,
    ) as cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as tasks, joblib.parallel_config(
            backend="dask"
        ):
            search = _search(2).fit(demos, env=env)
        # The cross-validation fits ran as tasks on the cluster's two worker processes.
        assert len(client.scheduler_info()["workers"]) == 2
        assert len(tasks.data) >= 1
        assert {t["worker"] for t in tasks.data} <= set(client.scheduler_info()["workers"])
    assert search.best_params_ == serial_search.best_params_
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               serial_search.cv_results_["mean_test_score"])


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_monte_carlo_rollouts_honour_n_jobs(backend):
    # Tabular rollouts run serially in seeded blocks (workers do not speed up vectorised
    # numpy sampling): any n_jobs and any joblib backend give exactly the serial estimate.
    # The gymnasium rollouts that do run in workers: tests/test_expectations.py.
    env = GridWorld(3, gamma=0.9)
    policy = np.full((env.n_states, env.n_actions), 0.25)
    serial = MonteCarloExpectation(n_episodes=2500, random_state=0).occupancy(env, policy)
    with joblib.parallel_config(backend=backend):
        parallel = MonteCarloExpectation(n_episodes=2500, random_state=0, n_jobs=2).occupancy(
            env, policy)
    np.testing.assert_array_equal(parallel, serial)
    horizon = MonteCarloExpectation().rollout_horizon(env)
    assert serial.sum() == pytest.approx((1 - 0.9**horizon) / (1 - 0.9))
