"""Feature maps: OneHotStates, fitting any transformer on an env, state-action features."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from sklirl.envs import GridWorld, TabularMDP
from sklirl.features import (
    OneHotStates,
    feature_inputs,
    fit_feature_matrix,
    state_action_features,
    transform_feature_matrix,
)


def test_one_hot_states_by_hand():
    enc = OneHotStates().fit([[2.0, 1.0], [0.0, 0.0], [2.0, 1.0], [-0.0, 0.0]])
    np.testing.assert_array_equal(enc.categories_, [[0.0, 0.0], [2.0, 1.0]])
    np.testing.assert_array_equal(enc.transform([[2.0, 1.0], [0.0, 0.0]]), [[0, 1], [1, 0]])
    assert enc.get_feature_names_out().tolist() == ["state=0_0", "state=2_1"]
    with pytest.raises(ValueError, match=r"X row 0 \(\[5.0, 5.0\]\) was not seen in fit"):
        enc.transform([[5.0, 5.0]])
    ignore = OneHotStates(handle_unknown="ignore").fit([[0.0], [1.0]])
    np.testing.assert_array_equal(ignore.transform([[1.0], [7.0]]), [[0, 1], [0, 0]])


def test_one_hot_states_sparse_output():
    X = np.arange(1500.0)[:, None]
    assert sp.issparse(OneHotStates().fit_transform(X))  # auto: > 1000 categories
    assert not sp.issparse(OneHotStates().fit_transform(X[:10]))
    out = OneHotStates(sparse_output=True).fit_transform(X[:10])
    assert sp.issparse(out)
    np.testing.assert_array_equal(out.toarray(), np.eye(10))
    with pytest.raises(ValueError, match="sparse_output"):
        OneHotStates(sparse_output="yes").fit(X)


def test_fit_feature_matrix_uses_state_indices_for_one_hot():
    env = GridWorld(3)
    fitted, phi = fit_feature_matrix(OneHotStates(), env)
    np.testing.assert_array_equal(phi, np.eye(9))
    assert fitted is not None and not hasattr(OneHotStates(), "categories_")
    np.testing.assert_array_equal(transform_feature_matrix(fitted, env), np.eye(9))
    # Inside a Pipeline the first step decides the input.
    assert feature_inputs(make_pipeline(OneHotStates()), env).ravel().tolist() == list(range(9))


def test_fit_feature_matrix_any_transformer_on_state_features():
    env = GridWorld((2, 3))
    features = make_pipeline(StandardScaler(), PolynomialFeatures(2))
    fitted, phi = fit_feature_matrix(features, env)
    assert phi.shape == (6, 6)
    expected = features.fit_transform(env.state_features)
    np.testing.assert_allclose(phi, expected)
    assert not hasattr(features.steps[0][1], "mean_") or features is not fitted


def test_fit_feature_matrix_falls_back_to_indices_without_state_features():
    P = np.zeros((3, 1, 3))
    P[:, 0, 0] = 1.0
    env = TabularMDP(P, gamma=0.5)
    _, phi = fit_feature_matrix(PolynomialFeatures(1, include_bias=False), env)
    np.testing.assert_array_equal(phi, [[0.0], [1.0], [2.0]])


class _BadMap:
    def __init__(self, out):
        self.out = out

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return self.out

    def fit_transform(self, X, y=None):
        return self.out

    def get_params(self, deep=True):
        return {"out": self.out}

    def set_params(self, **params):
        return self


def test_fit_feature_matrix_validation():
    env = GridWorld(2)
    with pytest.raises(TypeError, match="transformer with fit and transform"):
        fit_feature_matrix(np.eye(4), env)
    with pytest.raises(ValueError, match=r"returned shape \(3, 2\); expected \(4, k\)"):
        fit_feature_matrix(_BadMap(np.ones((3, 2))), env)
    with pytest.raises(ValueError, match="NaN or infinite"):
        fit_feature_matrix(_BadMap(np.full((4, 2), np.nan)), env)


def test_state_action_features_layout():
    phi = np.array([[1.0, 2.0], [3.0, 4.0]])
    sa = state_action_features(phi, 3)
    assert sa.shape == (6, 6) and sp.isspmatrix_csr(sa)
    dense = sa.toarray()
    for s in range(2):
        for a in range(3):
            for j in range(2):
                row = dense[s * 3 + a]
                assert row[j * 3 + a] == phi[s, j]
                assert np.count_nonzero(row) == 2
    np.testing.assert_array_equal(state_action_features(np.eye(2), 2).toarray(), np.eye(4))
