"""Tests of sklirl.MaxEntIRLCV: the cross-validated strength path."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GroupKFold, KFold, cross_val_score

from sklirl import MaxEntIRL, MaxEntIRLCV
from sklirl.datasets import make_expert_demos
from sklirl.envs import GridWorld, ObjectWorld


@pytest.fixture(scope="module")
def grid_demos():
    env = GridWorld(3, gamma=0.9)
    demos, _ = make_expert_demos(env, 12, horizon=10, random_state=0)
    return env, demos


@pytest.mark.parametrize("n_demos", [16, 128])
def test_objectworld_cv_strength_beats_the_default_on_held_out_demos(n_demos):
    env = ObjectWorld(8, random_state=0)
    demos, _ = make_expert_demos(env, n_demos + 200, horizon=16, random_state=n_demos)
    train, test = demos[:n_demos], demos[n_demos:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        default = MaxEntIRL().fit(train, env)
    cv = MaxEntIRLCV(l2s=6, cv=3).fit(train, env)
    assert cv.score(test) >= default.score(test)
    # and in cross-validation the chosen strength is at least as good as any other tried
    assert cv.best_score_ == pytest.approx(cv.scores_.mean(axis=0).max())


def test_scores_are_cross_val_scores_of_each_strength(grid_demos):
    env, demos = grid_demos
    cv = KFold(3, shuffle=True, random_state=0)
    est = MaxEntIRLCV(l2s=[10.0, 0.1], cv=cv, tol=1e-7).fit(demos, env)
    np.testing.assert_array_equal(est.l2s_, [10.0, 0.1])
    for j, l2 in enumerate(est.l2s_):
        cold = cross_val_score(MaxEntIRL(l2=l2, tol=1e-7), demos, cv=cv, params={"env": env})
        np.testing.assert_allclose(est.scores_[:, j], cold, atol=1e-5)  # warm == cold fits
    best = int(np.argmax(est.scores_.mean(axis=0)))
    assert est.l2_ == est.l2s_[best] and est.best_index_ == best
    refit = MaxEntIRL(l2=est.l2_, tol=1e-7).fit(demos, env)
    np.testing.assert_allclose(est.coef_, refit.coef_, atol=1e-5)
    assert est.n_steps_ == refit.n_steps_
    results = est.cv_results_
    assert set(results) >= {"param_l2", "params", "split0_test_score", "split2_test_score",
                            "mean_test_score", "std_test_score", "rank_test_score",
                            "mean_fit_time"}
    assert results["rank_test_score"][best] == 1
    np.testing.assert_allclose(results["mean_test_score"], est.scores_.mean(axis=0))
    # a fitted MaxEntIRL in every other respect
    assert est.predict_reward([0], return_std=True)[1].shape == (1, 4)
    pickle.loads(pickle.dumps(est))


def test_groups_keep_related_demos_together_and_n_jobs_agrees(grid_demos):
    env, demos = grid_demos
    groups = np.repeat([0, 1, 2, 3], 3)
    a = MaxEntIRLCV(l2s=[1.0, 0.1], cv=GroupKFold(4)).fit(demos, env, groups=groups)
    assert a.scores_.shape == (4, 2)
    b = MaxEntIRLCV(l2s=[1.0, 0.1], cv=GroupKFold(4), n_jobs=2).fit(demos, env, groups=groups)
    np.testing.assert_allclose(a.scores_, b.scores_)
    # GroupKFold without groups is the splitter's own error, with the context
    with pytest.raises(ValueError, match="cannot split 12 demonstrations"):
        MaxEntIRLCV(l2s=[1.0], cv=GroupKFold(4)).fit(demos, env)


def test_sample_weight_reaches_folds_and_refit(grid_demos):
    env, demos = grid_demos
    w = np.arange(1.0, 13.0)
    est = MaxEntIRLCV(l2s=[1.0], cv=3, tol=1e-7).fit(demos, env, sample_weight=w)
    ref = MaxEntIRL(l2=1.0, tol=1e-7).fit(demos, env, sample_weight=w)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-5)


@pytest.mark.parametrize("l2s, fragment", [
    ([], "l2s must be a positive int or a non-empty 1-D array"),
    ([[1.0, 2.0]], "non-empty 1-D array"),
    ([1.0, -1.0], "l2s must be finite and non-negative"),
    ([np.nan], "l2s must be finite and non-negative"),
])
def test_bad_strength_grids(grid_demos, l2s, fragment):
    env, demos = grid_demos
    with pytest.raises(ValueError, match=fragment):
        MaxEntIRLCV(l2s=l2s).fit(demos, env)


def test_too_few_demos_for_the_folds(grid_demos):
    env, demos = grid_demos
    with pytest.raises(ValueError, match="at least 2 demonstrations to cross-validate, got 1"):
        MaxEntIRLCV(l2s=[1.0]).fit(demos[:1], env)
    with pytest.raises(ValueError, match="cannot split 3 demonstrations into folds"):
        MaxEntIRLCV(l2s=[1.0], cv=5).fit(demos[:3], env)
    with pytest.raises(ValueError, match="fold 0 has 0 training"):
        MaxEntIRLCV(l2s=[1.0], cv=[(np.array([], dtype=int), np.arange(3))]).fit(demos[:3], env)
