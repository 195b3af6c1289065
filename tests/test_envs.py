"""TabularMDP validation, GridWorld, ObjectWorld (Levine et al. 2011) and gymnasium adapters."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from strategies import mdps

from sklirl.envs import GridWorld, ObjectWorld, TabularMDP, from_gymnasium
from sklirl.envs._tabular import as_state_action_reward, check_tabular_env

gymnasium = pytest.importorskip("gymnasium")

PROPS = settings(max_examples=30, deadline=None)


def _two_state():
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = 1.0
    P[:, 1, 1] = 1.0
    return P


# --- TabularMDP -----------------------------------------------------------------------------
@PROPS
@given(mdps())
def test_random_mdps_are_valid_and_canonical(env):
    P = env.transition_matrix
    S, A = env.n_states, env.n_actions
    assert sp.isspmatrix_csr(P) and P.shape == (S * A, S)
    assert P.has_canonical_format and (P.data > 0).all()
    np.testing.assert_allclose(P @ np.ones(S), 1.0, atol=1e-14)
    assert env.to_dense().shape == (S, A, S)
    np.testing.assert_allclose(env.initial_state_distribution.sum(), 1.0)
    V = np.arange(S, dtype=float)
    np.testing.assert_allclose(env.expected_next(V), env.to_dense() @ V)
    assert pickle.loads(pickle.dumps(env)).transition_matrix.nnz == P.nnz


def test_dense_and_sparse_construction_agree_and_do_not_alias_inputs():
    P = _two_state()
    dense = TabularMDP(P, gamma=0.9)
    csr = sp.csr_matrix(P.reshape(4, 2))
    sparse = TabularMDP(csr, gamma=0.9, n_actions=2)
    np.testing.assert_array_equal(dense.to_dense(), sparse.to_dense())
    assert not np.shares_memory(sparse.transition_matrix.data, csr.data)  # input not aliased
    csr.data[:] = 0.5  # so changing the input later leaves the validated env intact
    np.testing.assert_array_equal(sparse.to_dense(), P)
    coo = sp.coo_matrix(P.reshape(4, 2))
    np.testing.assert_array_equal(TabularMDP(coo, n_actions=2).to_dense(), P)


def test_rounding_is_renormalised_and_duplicates_summed():
    P = np.full((3, 1, 3), 1 / 3 + 1e-9)
    env = TabularMDP(P, gamma=0.5)
    np.testing.assert_allclose(env.transition_matrix.sum(axis=1), 1.0, atol=1e-15)
    dup = sp.csr_matrix(([0.25, 0.25, 0.5], ([0, 0, 0], [0, 0, 1])), shape=(1, 2))
    dup = sp.vstack([dup, sp.csr_matrix([[0.0, 1.0]])])
    env = TabularMDP(dup, n_actions=1, gamma=0.5)
    np.testing.assert_allclose(env.to_dense()[:, 0], [[0.5, 0.5], [0.0, 1.0]])


def test_reward_state_features_and_mu0_are_read_only_copies():
    reward = np.array([0.0, 1.0])
    mu0 = np.array([0.25, 0.75])
    env = TabularMDP(_two_state(), mu0, gamma=0.9, state_features=[1.0, 2.0], reward=reward)
    reward[0] = 5.0
    mu0[0] = 1.0
    assert env.reward.tolist() == [0.0, 1.0] and env.initial_state_distribution[0] == 0.25
    assert env.state_features.shape == (2, 1)
    for arr in (env.reward, env.initial_state_distribution, env.state_features):
        with pytest.raises(ValueError):
            arr[0] = 1.0
    env_sa = TabularMDP(_two_state(), reward=np.ones((2, 2)))
    assert env_sa.reward.shape == (2, 2)


def test_with_initial_distribution():
    env = TabularMDP(_two_state(), gamma=0.9)
    other = env.with_initial_distribution([1.0, 0.0])
    assert other.initial_state_distribution.tolist() == [1.0, 0.0]
    assert env.initial_state_distribution.tolist() == [0.5, 0.5]
    assert other.transition_matrix is env.transition_matrix
    with pytest.raises(ValueError, match="sums to"):
        env.with_initial_distribution([0.5, 0.6])


def test_env_is_not_array_like():
    env = GridWorld(3)
    for attr in ("__len__", "shape", "__array__"):
        if attr == "shape":
            assert isinstance(env.shape, tuple)  # the grid's (rows, cols), not an array shape
            assert not hasattr(TabularMDP(_two_state()), "shape")
        else:
            assert not hasattr(env, attr)
    assert "n_states=9" in repr(env)


_BAD_DENSE = [
    (np.ones((2, 2)), ValueError, r"shape \(S, A, S\)"),
    (np.ones((2, 2, 3)) / 3, ValueError, r"shape \(S, A, S\)"),
    (np.zeros((0, 1, 0)), ValueError, r"shape \(S, A, S\)"),
    (np.array([[["a", "b"]]] * 2), TypeError, "numeric"),
    (np.full((1, 1, 1), np.nan), ValueError, "NaN or infinity"),
    (np.full((1, 1, 1), np.inf), ValueError, "NaN or infinity"),
    (np.array([[[1.5, -0.5]], [[0.0, 1.0]]]), ValueError, "negative"),
    (np.array([[[0.5, 0.4]], [[0.0, 1.0]]]), ValueError, "state 0, action 0 sum to 0.9"),
]


@pytest.mark.parametrize("transitions, error, match", _BAD_DENSE)
def test_bad_dense_transitions(transitions, error, match):
    with pytest.raises(error, match=match):
        TabularMDP(transitions)


def test_bad_sparse_transitions():
    good = sp.csr_matrix(_two_state().reshape(4, 2))
    with pytest.raises(ValueError, match="n_actions is required"):
        TabularMDP(good)
    with pytest.raises(ValueError, match=r"\(S \* A, S\)"):
        TabularMDP(good, n_actions=3)
    with pytest.raises(TypeError, match="n_actions must be an int"):
        TabularMDP(good, n_actions=2.0)
    with pytest.raises(ValueError, match="n_actions=3 but"):
        TabularMDP(_two_state(), n_actions=3)
    bad = good.copy()
    bad.data[-1] = 0.5
    with pytest.raises(ValueError, match="state 1, action 1 sum to 0.5"):
        TabularMDP(bad, n_actions=2)
    bad.data[-1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TabularMDP(bad, n_actions=2)
    with pytest.raises(TypeError, match="numeric"):
        TabularMDP(sp.csr_matrix(np.eye(2, dtype=complex)), n_actions=1)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"gamma": 1.0}, ValueError, "gamma must be < 1"),
        ({"gamma": 1.5, "horizon": 3}, ValueError, r"gamma must be in \[0, 1\]"),
        ({"gamma": -0.1}, ValueError, r"gamma must be in \[0, 1\]"),
        ({"gamma": "0.9"}, TypeError, "gamma must be a float"),
        ({"horizon": 0}, ValueError, "horizon must be >= 1"),
        ({"horizon": 2.5}, TypeError, "horizon must be None or an int"),
        ({"initial_state_distribution": [1.0]}, ValueError, r"shape \(2,\)"),
        ({"initial_state_distribution": [1.5, -0.5]}, ValueError, "non-negative"),
        ({"initial_state_distribution": [0.5, 0.6]}, ValueError, "sums to 1.1"),
        ({"state_features": np.ones((3, 2))}, ValueError, r"state_features must have shape"),
        ({"state_features": [[np.nan], [1.0]]}, ValueError, "state_features contains NaN"),
        ({"reward": np.ones(3)}, ValueError, r"reward must have shape \(2,\) or \(2, 2\)"),
        ({"reward": [np.inf, 0.0]}, ValueError, "reward contains NaN"),
    ],
)
def test_bad_mdp_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        TabularMDP(_two_state(), **kwargs)


def test_gamma_one_allowed_with_finite_horizon():
    env = TabularMDP(_two_state(), gamma=1.0, horizon=3)
    assert env.finite_horizon and env.gamma == 1.0 and env.horizon == 3


def test_helpers():
    np.testing.assert_array_equal(as_state_action_reward([1, 2], 2, 3), [[1, 1, 1], [2, 2, 2]])
    with pytest.raises(TypeError, match="must be a TabularMDP.*from_gymnasium"):
        check_tabular_env(gymnasium.make("FrozenLake-v1"))


# --- GridWorld -------------------------------------------------------------------------------
def test_gridworld_transitions_by_hand():
    env = GridWorld((2, 3), slip=0.4, gamma=0.9)
    P = env.to_dense()
    # From the top-left cell (0), "right" (1) reaches cell 1 w.p. 0.6 + 0.1; up/left hit the
    # wall (stay, 0.1 each); down reaches cell 3 w.p. 0.1.
    np.testing.assert_allclose(P[0, 1], [0.2, 0.7, 0, 0.1, 0, 0])
    # From cell 4 = (1, 1), "up" reaches 1 w.p. 0.7; right -> 5, down -> wall (stay), left -> 3.
    np.testing.assert_allclose(P[4, 0], [0, 0.7, 0, 0.1, 0.1, 0.1])
    assert env.shape == (2, 3) and env.state_features.tolist()[4] == [1.0, 1.0]
    assert env.reward.argmax() == 5 and env.reward.sum() == 1.0


def test_gridworld_deterministic_moves():
    env = GridWorld(3)
    P = env.to_dense()
    center = 4
    assert [int(P[center, a].argmax()) for a in range(4)] == [1, 5, 7, 3]
    assert env.transition_matrix.nnz == 9 * 4
    assert [int(P[0, a].argmax()) for a in range(4)] == [0, 1, 3, 0]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"size": 0}, ValueError, "positive"),
        ({"size": (2, 3, 4)}, ValueError, "pair"),
        ({"size": "big"}, TypeError, "int or a"),
        ({"size": (2.5, 3)}, TypeError, "pair of ints"),
        ({"slip": 1.5}, ValueError, r"slip must be in \[0, 1\]"),
        ({"slip": None}, TypeError, "slip must be a float"),
    ],
)
def test_gridworld_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        GridWorld(**kwargs)


# --- ObjectWorld (Levine, Popovic & Koltun 2011) ----------------------------------------------
def test_objectworld_paper_defaults():
    env = ObjectWorld(random_state=0)
    assert (env.n_states, env.n_actions, env.gamma) == (1024, 5, 0.9)
    assert env.state_features.shape == (1024, 4)
    assert ObjectWorld(discrete=True, random_state=0).state_features.shape == (1024, 124)
    # Objects: about 5% of cells, colours in {0, 1}.
    n_obj = len(env.objects)
    assert abs(n_obj - 0.05 * 1024) < 4 * np.sqrt(1024 * 0.05 * 0.95)
    assert set(np.unique(env.objects[:, 2:])) <= {0, 1}


def test_objectworld_action_noise():
    """Intended move w.p. 0.7, each of the other four w.p. 0.075 (interior cell)."""
    env = ObjectWorld(size=5, random_state=0)
    P = env.to_dense()
    s = 12  # (2, 2)
    neighbours = {0: 12, 1: 7, 2: 13, 3: 17, 4: 11}  # stay, up, right, down, left
    for a in range(5):
        expected = np.zeros(25)
        for b, target in neighbours.items():
            expected[target] += 0.7 if a == b else 0.075
        np.testing.assert_allclose(P[s, a], expected, atol=1e-15)


def test_objectworld_distances_and_reward():
    env = ObjectWorld(size=16, random_state=3)
    n = 16
    coords = np.stack(np.divmod(np.arange(n * n), n), axis=1)
    for k, col in enumerate([2, 2, 3, 3]):
        colour = k % 2
        pts = env.objects[env.objects[:, col] == colour, :2]
        brute = (
            np.sqrt(((coords[:, None, :] - pts[None]) ** 2).sum(-1)).min(1)
            if len(pts) else np.full(n * n, np.sqrt(2) * n)
        )
        np.testing.assert_allclose(env.distances[:, k], brute)
    near1 = env.distances[:, 0] < 3
    near2 = env.distances[:, 1] < 2
    expected = np.where(near1 & near2, 5.0, np.where(near1, -10.0, 0.0))
    np.testing.assert_array_equal(env.reward, expected)
    np.testing.assert_array_equal(env.true_features @ [5.0, -10.0, 0.0], env.reward)
    np.testing.assert_array_equal(env.true_features.sum(1), 1.0)
    assert {5.0, -10.0, 0.0} >= set(np.unique(env.reward))


def test_objectworld_discrete_features_are_thresholds_and_express_the_reward():
    env = ObjectWorld(size=12, discrete=True, random_state=1)
    feats = env.state_features.reshape(144, 4, 11)  # (state, distance column, d = 1..11)
    for d in range(1, 12):
        np.testing.assert_array_equal(feats[:, :, d - 1], env.distances < d)
    # "Within distance d" is distance < d, so the true reward is a function of two indicators.
    near1, near2 = feats[:, 0, 2].astype(bool), feats[:, 1, 1].astype(bool)
    np.testing.assert_array_equal(env.reward, np.where(near1, np.where(near2, 5.0, -10.0), 0.0))


def test_objectworld_seeded_and_absent_colour():
    a, b = ObjectWorld(size=10, random_state=7), ObjectWorld(size=10, random_state=7)
    np.testing.assert_array_equal(a.objects, b.objects)
    empty = ObjectWorld(size=6, object_density=0.0, random_state=0)
    np.testing.assert_allclose(empty.distances, np.sqrt(2) * 6)
    np.testing.assert_array_equal(empty.reward, 0.0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"size": (4, 5)}, ValueError, "square"),
        ({"n_colors": 1}, ValueError, "n_colors"),
        ({"determinism": 2.0}, ValueError, "determinism"),
        ({"object_density": -0.1}, ValueError, "object_density"),
    ],
)
def test_objectworld_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        ObjectWorld(**kwargs)


# --- gymnasium adapters ------------------------------------------------------------------------
def _taxi_id():
    return "Taxi-v4" if "Taxi-v4" in gymnasium.registry else "Taxi-v3"


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "CliffWalking-v1", "taxi"])
def test_from_gymnasium_matches_model(env_id):
    env_id = _taxi_id() if env_id == "taxi" else env_id
    if env_id not in gymnasium.registry:
        pytest.skip(f"{env_id} not registered in this gymnasium")
    genv = gymnasium.make(env_id)
    base = genv.unwrapped
    mdp = from_gymnasium(genv, gamma=0.95)
    S, A = genv.observation_space.n, genv.action_space.n
    assert mdp.n_actions == A and mdp.n_states in (S, S + 1)
    P = mdp.to_dense()
    # the terminal cells: every state a terminated transition reaches keeps its own index
    terminal = sorted({ns for s in range(S) for a in range(A)
                       for p, ns, _, term in base.P[s][a] if term and p > 0})
    assert mdp.absorbing_state == S and mdp.n_states == S + 1
    np.testing.assert_array_equal(mdp.terminal_states, terminal)
    for s in range(0, S, max(1, S // 23)):
        for a in range(A):
            if s in terminal:  # the episode is over: on to the absorbing state, no reward
                assert P[s, a, S] == 1.0 and mdp.reward[s, a] == 0.0
                continue
            expected_r = sum(p * r for p, _, r, _ in base.P[s][a])
            assert mdp.reward[s, a] == pytest.approx(expected_r)
            for p, ns, _, _ in base.P[s][a]:
                assert P[s, a, ns] >= p - 1e-12
    np.testing.assert_array_equal(P[S, :, S], 1.0)
    np.testing.assert_array_equal(mdp.reward[S], 0.0)
    assert mdp.initial_state_distribution[S] == 0.0
    np.testing.assert_allclose(mdp.initial_state_distribution[:S].sum(), 1.0)


def test_from_gymnasium_frozenlake_goal_and_holes_stay_distinct():
    mdp = from_gymnasium(gymnasium.make("FrozenLake-v1", is_slippery=False), gamma=0.9)
    assert mdp.n_states == 17 and mdp.absorbing_state == 16
    np.testing.assert_array_equal(mdp.terminal_states, [5, 7, 11, 12, 15])
    P = mdp.to_dense()
    assert P[14, 2, 15] == 1.0 and mdp.reward[14, 2] == 1.0  # stepping onto the goal
    assert P[4, 2, 5] == 1.0 and mdp.reward[4, 2] == 0.0      # into a hole
    np.testing.assert_array_equal(P[[5, 15], :, 16], 1.0)


def test_from_gymnasium_frozenlake_by_id_and_options():
    mdp = from_gymnasium("FrozenLake-v1", gamma=0.9, horizon=10)
    assert mdp.finite_horizon and mdp.initial_state_distribution[0] == 1.0
    plain = from_gymnasium("FrozenLake-v1", absorbing_terminal=False)
    assert plain.n_states == 16


def test_from_gymnasium_rejects_non_tabular():
    with pytest.raises(ValueError, match="tabular model"):
        from_gymnasium(gymnasium.make("CartPole-v1"))
    with pytest.raises(TypeError, match="gymnasium.Env"):
        from_gymnasium(42)


def test_validated_model_is_read_only():
    env = GridWorld(3, slip=0.1, gamma=0.9)
    for name, value in [("gamma", 5.0), ("horizon", 3), ("reward", None),
                        ("transition_matrix", None), ("initial_state_distribution", None),
                        ("state_features", None)]:
        with pytest.raises(AttributeError, match=f"{name} is read-only"):
            setattr(env, name, value)
    assert env.gamma == 0.9
    P = env.transition_matrix
    for array in (P.data, P.indices, P.indptr, env.initial_state_distribution, env.reward,
                  env.state_features):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0
    # the sanctioned way to change the start distribution returns a new env
    mu0 = np.zeros(9)
    mu0[4] = 1.0
    other = env.with_initial_distribution(mu0)
    assert other.initial_state_distribution[4] == 1.0
    assert env.initial_state_distribution[4] == pytest.approx(1 / 9)


def test_one_cell_grids_build():
    """S = 1: every move stays put (the sparse construction must not hand scipy read-only
    views to sort in place)."""
    env = GridWorld(1, slip=0.1, gamma=0.9)
    np.testing.assert_array_equal(env.to_dense(), np.ones((1, 4, 1)))
    world = ObjectWorld(1, random_state=0)
    np.testing.assert_allclose(world.to_dense(), np.ones((1, 5, 1)))
