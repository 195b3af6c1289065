"""Trajectory, check_demos coercion/validation and .npz persistence."""

import re
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import demos as demo_lists

from sklirl import Trajectory
from sklirl.demos import check_demos, load_demos, save_demos


def test_trajectory_is_frozen_copy():
    states = np.array([0, 1, 2])
    traj = Trajectory(states, [1, 1])
    states[0] = 9
    assert traj.states.tolist() == [0, 1, 2]
    with pytest.raises(ValueError):
        traj.states[0] = 5
    with pytest.raises(AttributeError):
        traj.states = np.zeros(3)
    assert len(traj) == 2
    assert traj == Trajectory([0, 1, 2], [1, 1]) and traj != Trajectory([0, 1, 2], [1, 0])
    with pytest.raises(TypeError):
        hash(traj)
    assert len(Trajectory([0, 1], [1, 1])) == 2  # T states for T actions is accepted


@pytest.mark.parametrize(
    "states, actions, match",
    [
        ([0, 1, 2, 3], [1], "4 states and 1 actions"),
        (3, [1], "must be sequences"),
    ],
)
def test_trajectory_validation(states, actions, match):
    with pytest.raises(ValueError, match=match):
        Trajectory(states, actions)


def test_check_demos_accepts_every_format():
    expected = Trajectory([0, 1, 2], [1, 0])
    formats = [
        expected,
        ([0, 1, 2], [1, 0]),
        [np.array([0, 1, 2]), np.array([1, 0])],
        {"states": [0, 1, 2], "actions": [1, 0]},
        {"obs": [0, 1, 2], "acts": [1, 0]},
        SimpleNamespace(obs=np.array([0, 1, 2]), acts=np.array([1, 0])),  # imitation
        SimpleNamespace(observations=[0, 1, 2], actions=[1, 0]),  # Minari
    ]
    out = check_demos(formats, n_states=3, n_actions=2)
    assert all(t == expected for t in out)
    assert check_demos(iter([expected]))[0] == expected  # any iterable
    out = check_demos([([[0.5, 1.0], [1.0, 2.0]], [0])])  # continuous observations
    assert out[0].states.shape == (2, 2)


@settings(max_examples=30, deadline=None)
@given(demo_lists(5, 3))
def test_check_demos_round_trips_random_demos(demos):
    out = check_demos(demos, n_states=5, n_actions=3)
    assert len(out) == len(demos)
    for t, (s, a) in zip(out, demos):
        assert t.states.tolist() == s and t.actions.tolist() == a
        assert t.states.dtype == np.intp


def test_check_demos_does_not_modify_inputs():
    states = np.array([0.0, 1.0, 2.0])
    check_demos([(states, [1, 0])], n_states=3, n_actions=2)
    assert states.dtype == np.float64 and states.tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize(
    "demos, kwargs, error, match",
    [
        ([], {}, ValueError, "empty"),
        ("abc", {}, TypeError, "list of trajectories"),
        (Trajectory([0], [0]), {}, TypeError, "list of trajectories"),
        (np.zeros((2, 3)), {}, TypeError, "list of trajectories"),
        (5, {}, TypeError, "list of trajectories"),
        ([5], {}, TypeError, r"demos\[0\] has type int"),
        ([{"s": [0], "a": [0]}], {}, TypeError, r"demos\[0\] is a dict without"),
        ([([0, 1], [0]), ([0, 1, 2, 3], [0])], {}, ValueError, "trajectory 1: 4 states for 1"),
        ([([0], [])], {}, ValueError, "trajectory 0 has 0 actions"),
        ([([0, 5], [1])], {"n_states": 3}, ValueError, r"trajectory 0, step 1: state 5 is outside"),
        ([([0, 1], [2])], {"n_actions": 2}, ValueError, r"step 0: action 2 is outside \[0, 2\)"),
        ([([0, -1], [0])], {"n_states": 3}, ValueError, "step 1: state -1"),
        ([([0, 1.5], [0])], {"n_states": 3}, ValueError, "step 1: state 1.5 is not an integer"),
        ([([0, np.nan], [0])], {}, ValueError, "trajectory 0, step 1: states contain NaN"),
        ([(["a", "b"], [0])], {}, TypeError, "trajectory 0: states must be numeric"),
        ([([[0, 1], [0]], [0])], {}, ValueError, "ragged"),
        ([([True, False], [0])], {"n_states": 2}, TypeError, "booleans"),
        ([([[0, 1], [1, 0]], [0])], {"n_states": 2}, ValueError, "1-D integer indices"),
        (
            [([[0.0, 1.0], [1.0, 0.0]], [0]), ([[0.0], [1.0]], [0])],
            {},
            ValueError,
            "trajectory 1: states have shape",
        ),
    ],
)
def test_check_demos_errors_name_trajectory_and_step(demos, kwargs, error, match):
    with pytest.raises(error, match=match):
        check_demos(demos, **kwargs)


def test_save_load_round_trip(tmp_path):
    demos = [([0, 1, 2], [1, 0]), Trajectory([2, 2], [0]), ([1, 0], [1, 1])]
    path = tmp_path / "demos.npz"
    save_demos(path, demos)
    loaded = load_demos(path)
    assert loaded == check_demos(demos)
    with np.load(path, allow_pickle=False) as data:  # nothing pickled inside
        assert all(data[k].dtype != object for k in data.files)
    obs = [(np.arange(6.0).reshape(3, 2), [0, 1])]
    save_demos(tmp_path / "obs.npz", obs)
    np.testing.assert_array_equal(load_demos(tmp_path / "obs.npz")[0].states, obs[0][0])


def test_load_rejects_foreign_or_corrupt_files(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a demos file"):
        load_demos(tmp_path / "other.npz")
    np.savez(
        tmp_path / "bad.npz", states=np.zeros(3), actions=np.zeros(2),
        state_lengths=np.array([5]), action_lengths=np.array([2]),
    )
    with pytest.raises(ValueError, match="corrupt"):
        load_demos(tmp_path / "bad.npz")


def test_check_sample_weight_normalises_without_overflow():
    from sklirl.demos import check_sample_weight

    np.testing.assert_allclose(check_sample_weight([1e308, 1e308, 2e307], 3),
                               [5 / 11, 5 / 11, 1 / 11])
    np.testing.assert_allclose(check_sample_weight(None, 4), np.full(4, 0.25))
    given = np.array([2.0, 6.0])
    check_sample_weight(given, 2)
    np.testing.assert_array_equal(given, [2.0, 6.0])  # not normalised in place
    for bad, exc, match in [([1.0], ValueError, "shape"), ([1.0, np.nan], ValueError, "finite"),
                            ([0.0, 0.0], ValueError, "all zero"), ("ab", TypeError, "numbers"),
                            ([-1.0, 2.0], ValueError, "non-negative")]:
        with pytest.raises(exc, match=match):
            check_sample_weight(bad, 2)


# --- episodes that end (issue 13) -----------------------------------------------------------
def test_terminal_flag_is_read_from_every_format():
    imitation_like = SimpleNamespace(obs=[0, 1, 2], acts=[1, 1], terminal=True)
    minari_ended = SimpleNamespace(observations=[0, 1, 2], actions=[1, 1],
                                   terminations=np.array([False, True]),
                                   truncations=np.array([False, False]))
    minari_cut = SimpleNamespace(observations=[0, 1, 2], actions=[1, 1],
                                 terminations=np.array([False, False]),
                                 truncations=np.array([False, True]))
    trajs = check_demos([Trajectory([0, 1], [0], terminal=True), ([0, 1], [0]), imitation_like,
                         minari_ended, minari_cut, {"states": [0, 1], "actions": [0],
                                                    "terminal": np.bool_(True)}])
    assert [t.terminal for t in trajs] == [True, False, True, True, False, True]
    assert all(type(t.terminal) is bool for t in trajs)


def test_terminal_flag_must_be_a_bool():
    with pytest.raises(TypeError, match="terminal must be a bool"):
        Trajectory([0, 1], [0], terminal=1)
    assert Trajectory([0, 1], [0], terminal=True) != Trajectory([0, 1], [0])
    assert "terminal=True" in repr(Trajectory([0, 1], [0], terminal=True))


def test_state_only_trajectories():
    traj = Trajectory([0, 1, 2])
    assert traj.actions is None and len(traj) == 2 and traj.has_final_state
    with pytest.raises(ValueError, match="no actions"):
        check_demos([traj])
    (out,) = check_demos([traj], allow_no_actions=True, n_states=3)
    assert out == traj
    (pair,) = check_demos([([0, 1], None)], allow_no_actions=True)
    assert pair.actions is None


def test_save_load_keeps_terminal_flags_and_state_only_demos(tmp_path):
    demos = [Trajectory([0, 1, 2], [1, 0], terminal=True), Trajectory([2, 2], [0]),
             Trajectory([1, 2, 0], terminal=True)]
    path = tmp_path / "demos.npz"
    save_demos(path, demos)
    assert load_demos(path) == demos


def test_save_load_mixed_dtypes_next_to_state_only_demos(tmp_path):
    # per-trajectory dtypes (int64 above 2**53 next to floats) and a state-only demo in one file
    demos = [Trajectory([0, 1, 2], [1, 0]), Trajectory([1, 2]),
             Trajectory(np.array([0.5, 1.5]), np.array([0.25])), Trajectory([2**53 + 1, 3], [1])]
    save_demos(tmp_path / "d.npz", demos)
    loaded = load_demos(tmp_path / "d.npz")
    for saved, back in zip(demos, loaded):
        assert back.states.dtype == saved.states.dtype
        np.testing.assert_array_equal(back.states, saved.states)
        assert (back.actions is None) == (saved.actions is None)
        if saved.actions is not None:
            assert back.actions.dtype == saved.actions.dtype
            np.testing.assert_array_equal(back.actions, saved.actions)


def test_check_demos_against_the_model_warns_or_raises():
    from sklirl.envs import TabularMDP

    # 0 -> 1 -> 2 (terminal) -> 3 (absorbing)
    P = np.zeros((4, 1, 4))
    P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 3] = P[3, 0, 3] = 1
    env = TabularMDP(P, gamma=0.9, absorbing_state=3)
    ok = [Trajectory([0, 1, 2], [0, 0], terminal=True), Trajectory([0, 1, 2, 3], [0, 0, 0],
                                                                   terminal=True)]
    check_demos(ok, env=env, strict=True)
    cases = [
        ([Trajectory([0, 1], [0]), Trajectory([0, 2], [0])],
         "trajectory 1, step 0: the transition 0 -(action 0)-> 2 has probability 0"),
        ([Trajectory([0, 1], [0], terminal=True)],
         "trajectory 0, step 1: the demonstration is terminal=True but its last state 1 is "
         "not terminal"),
    ]
    for demos, message in cases:
        with pytest.warns(UserWarning, match=re.escape(message)):
            check_demos(demos, env=env)
        with pytest.raises(ValueError, match=re.escape(message)):
            check_demos(demos, env=env, strict=True)
    finite = TabularMDP(P, gamma=0.9, horizon=2, absorbing_state=3)
    with pytest.warns(UserWarning, match="trajectory 0 has 3 steps, more than the env's "
                                         "horizon 2"):
        check_demos([ok[1]], env=finite)
