"""Tests of sklirl.plotting: what is drawn, where, and the input validation."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sklirl.envs import GridWorld, ObjectWorld, TabularMDP  # noqa: E402
from sklirl.expectations import occupancy_measure  # noqa: E402
from sklirl.plotting import (  # noqa: E402
    plot_evd_curve,
    plot_learning_curve,
    plot_occupancy,
    plot_policy,
    plot_reward,
    plot_reward_comparison,
)
from sklirl.solvers import TabularPolicy, ValueIteration  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_reward_places_states_row_major():
    env = GridWorld(size=(2, 3))
    reward = np.arange(6.0)
    ax = plot_reward(env, reward, title="r")
    grid = ax.images[0].get_array()
    np.testing.assert_array_equal(grid, [[0, 1, 2], [3, 4, 5]])
    assert ax.get_title() == "r"
    assert len(ax.figure.axes) == 2  # the map and its colour bar


def test_plot_reward_reduces_state_action_rewards():
    env = GridWorld(size=2)
    reward = np.zeros((4, 4))
    reward[3, 2] = 7.0
    reward[0, :] = -1.0
    _, ax = plt.subplots()
    out = plot_reward(env, reward, ax=ax, colorbar=False)
    assert out is ax
    np.testing.assert_array_equal(ax.images[0].get_array(), [[-1, 0], [0, 7]])
    mean = plot_reward(env, reward, reduce="mean", colorbar=False).images[0].get_array()
    np.testing.assert_allclose(mean, [[-1, 0], [0, 1.75]])


def test_plot_reward_shape_for_generic_env_drops_extra_states():
    P = np.zeros((5, 1, 5))
    P[:, 0, 0] = 1.0
    env = TabularMDP(P, gamma=0.9)  # e.g. 2x2 grid + an absorbing state
    with pytest.raises(ValueError, match="shape=\\(rows, cols\\)"):
        plot_reward(env, np.arange(5.0))
    ax = plot_reward(env, np.arange(5.0), shape=(2, 2))
    np.testing.assert_array_equal(ax.images[0].get_array(), [[0, 1], [2, 3]])
    with pytest.raises(ValueError, match="only 5 states"):
        plot_reward(env, np.arange(5.0), shape=(2, 3))


def test_plot_reward_objectworld_layout():
    env = ObjectWorld(size=5, random_state=0)
    ax = plot_reward(env, env.reward)
    np.testing.assert_array_equal(ax.images[0].get_array(), env.reward.reshape(5, 5))


@pytest.mark.parametrize(
    "reward, error, match",
    [
        (np.zeros(5), ValueError, "shape \\(4,\\) or \\(4, 4\\)"),
        (np.array([0.0, np.nan, 0.0, 0.0]), ValueError, "NaN"),
        (np.array(["a", "b", "c", "d"]), TypeError, "numeric"),
    ],
)
def test_plot_reward_rejects_bad_rewards(reward, error, match):
    with pytest.raises(error, match=match):
        plot_reward(GridWorld(size=2), reward)


def test_plot_reward_rejects_bad_env_ax_and_reduce():
    with pytest.raises(TypeError, match="TabularMDP"):
        plot_reward(object(), np.zeros(4))
    with pytest.raises(TypeError, match="Axes"):
        plot_reward(GridWorld(size=2), np.zeros(4), ax="left")
    with pytest.raises(ValueError, match="reduce"):
        plot_reward(GridWorld(size=2), np.zeros((4, 4)), reduce="median")


def test_plot_reward_comparison_standardises_and_shares_scale():
    env = GridWorld(size=3)
    true = np.arange(9.0)
    fig = plot_reward_comparison(env, {"true": true, "scaled": 10 * true + 3})
    maps = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in maps] == ["true", "scaled"]
    a, b = (ax.images[0].get_array() for ax in maps)
    # an affine rescaling of the reward draws the same standardised map
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a.mean(), 0.0, atol=1e-12)
    assert maps[0].images[0].get_clim() == maps[1].images[0].get_clim()
    with pytest.raises(TypeError, match="non-empty dict"):
        plot_reward_comparison(env, [true])


def test_plot_reward_comparison_constant_reward_does_not_divide_by_zero():
    env = GridWorld(size=2)
    fig = plot_reward_comparison(env, {"flat": np.ones(4)})
    assert np.all(np.isfinite(fig.axes[0].images[0].get_array()))


def test_plot_policy_arrows_follow_gridworld_actions():
    env = GridWorld(size=2)
    probs = np.zeros((4, 4))
    probs[0, 0] = 1.0  # up: d_row = -1
    probs[1, 1] = 1.0  # right
    probs[2, 2] = 1.0  # down
    probs[3, [1, 3]] = 0.5  # right and left cancel
    ax = plot_policy(env, TabularPolicy(probs))
    quiver = ax.collections[0]
    np.testing.assert_allclose(quiver.U, [0, 1, 0, 0])  # d_col
    np.testing.assert_allclose(quiver.V, [-1, 0, 1, 0])  # d_row (rows grow downwards)
    np.testing.assert_allclose(quiver.X, [0, 1, 0, 1])
    np.testing.assert_allclose(quiver.Y, [0, 0, 1, 1])
    assert ax.yaxis_inverted()


def test_plot_policy_optimal_gridworld_policy_points_at_goal():
    env = GridWorld(size=4, gamma=0.9)  # goal in the bottom-right cell
    policy = ValueIteration().solve(env, env.reward)
    ax = plot_policy(env, policy, background=env.reward)
    quiver = ax.collections[0]
    # no optimal arrow points away from the goal (up or left)
    assert np.all(np.asarray(quiver.U) >= -1e-12)
    assert np.all(np.asarray(quiver.V) >= -1e-12)
    assert ax.images  # the background heat map


def test_plot_policy_accepts_fitted_estimator_and_time_indexed_policy():
    env = GridWorld(size=2, horizon=3)
    probs = np.zeros((3, 4, 4))
    probs[0, :, 1] = 1.0  # right at t = 0
    probs[1:, :, 3] = 1.0

    class Fitted:
        policy_ = TabularPolicy(probs)

    quiver = plot_policy(env, Fitted()).collections[0]
    np.testing.assert_allclose(quiver.U, 1.0)


def test_plot_policy_needs_moves_for_unknown_envs():
    P = np.zeros((4, 2, 4))
    P[:, :, 0] = 1.0
    env = TabularMDP(P, gamma=0.9)
    probs = np.tile([1.0, 0.0], (4, 1))
    with pytest.raises(ValueError, match="pass moves"):
        plot_policy(env, probs, shape=(2, 2))
    quiver = plot_policy(env, probs, shape=(2, 2), moves=[(0, -1), (0, 1)]).collections[0]
    np.testing.assert_allclose(quiver.U, -1.0)
    with pytest.raises(ValueError, match="moves must be 2"):
        plot_policy(env, probs, shape=(2, 2), moves=[(0, 1)])
    with pytest.raises(ValueError, match=r"shape \(4, 3\); expected \(S, A\) = \(4, 2\)"):
        plot_policy(env, np.ones((4, 3)) / 3, shape=(2, 2), moves=[(0, -1), (0, 1)])


def test_plot_occupancy_is_a_state_distribution():
    env = GridWorld(size=3, gamma=0.9)
    probs = np.full((9, 4), 0.25)
    d = occupancy_measure(env, probs)
    ax = plot_occupancy(env, d)
    grid = ax.images[0].get_array()
    np.testing.assert_allclose(grid.sum(), 1.0)
    np.testing.assert_allclose(grid.ravel(), d.sum(axis=1) / d.sum())
    raw = plot_occupancy(env, d, normalize=False).images[0].get_array()
    np.testing.assert_allclose(raw.sum(), 10.0)  # 1 / (1 - gamma)
    with pytest.raises(ValueError, match="non-negative"):
        plot_occupancy(env, -d)
    with pytest.raises(ValueError, match="zero total mass"):
        plot_occupancy(env, np.zeros(9))


def test_plot_learning_curve_from_dict_list_and_estimator():
    history = {"margin": [4.0, 2.0, 1.0], "policies": ["a", "b", "c"], "gap": [3.0, 1.0]}
    ax = plot_learning_curve(history)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"margin", "gap"}  # the non-numeric entry is skipped
    np.testing.assert_array_equal(lines["margin"].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines["margin"].get_ydata(), [4, 2, 1])

    records = [{"loss": 1.0, "return": 0.0}, {"loss": 0.5, "return": 2.0}]
    ax = plot_learning_curve(records, keys="return", reference={"expert": 3.0})
    assert [line.get_label() for line in ax.get_lines()] == ["return", "expert"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [3.0, 3.0])

    class Fitted:
        history_ = {"loss": [1.0, 0.1]}

    ax = plot_learning_curve(Fitted(), logy=True)
    assert ax.get_yscale() == "log"


def test_plot_learning_curve_validation():
    with pytest.raises(ValueError, match="no numeric entries \\['loss'\\]"):
        plot_learning_curve({"margin": [1.0]}, keys=["loss"])
    with pytest.raises(ValueError, match="no numeric per-iteration"):
        plot_learning_curve({"policies": ["a"]})
    with pytest.raises(TypeError, match="history must be"):
        plot_learning_curve(3.0)
    with pytest.raises(ValueError, match="positive values"):
        plot_learning_curve({"loss": [1.0, 0.0]}, logy=True)


def test_plot_evd_curve_mean_and_band():
    ax = plot_evd_curve(
        [1, 10, 100], {"A": [[2.0, 1.0, 0.0], [4.0, 1.0, 0.0]], "B": [1.0, 1.0, 1.0]}
    )
    a, b = ax.get_lines()
    np.testing.assert_allclose(a.get_ydata(), [3.0, 1.0, 0.0])
    np.testing.assert_allclose(b.get_ydata(), [1.0, 1.0, 1.0])
    assert len(ax.collections) == 1  # only A has several seeds, so only A has a band
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["A", "B"]


@pytest.mark.parametrize(
    "n_demos, evds, error, match",
    [
        ([1, 2], {"A": [1.0, 2.0, 3.0]}, ValueError, "shape \\(2,\\)"),
        ([0, 2], {"A": [1.0, 2.0]}, ValueError, "positive"),
        ([1, 2], {"A": [1.0, np.inf]}, ValueError, "NaN or infinity"),
        ([1, 2], [1.0, 2.0], TypeError, "dict"),
    ],
)
def test_plot_evd_curve_validation(n_demos, evds, error, match):
    with pytest.raises(error, match=match):
        plot_evd_curve(n_demos, evds)


def test_plotting_does_not_import_matplotlib_on_import_sklirl():
    import subprocess
    import sys

    code = "import sys, sklirl, sklirl.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
