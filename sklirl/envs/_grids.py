"""Grid worlds: GridWorld (Abbeel & Ng style) and ObjectWorld (Levine, Popovic & Koltun 2011)."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree
from sklearn.utils import check_random_state

from ..utils._resources import check_memory
from ._tabular import TabularMDP

__all__ = ["GridWorld", "ObjectWorld"]

# (d_row, d_col) of the compass moves.
_UP, _RIGHT, _DOWN, _LEFT = (-1, 0), (0, 1), (1, 0), (0, -1)


def _grid_shape(size):
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        shape = (int(size), int(size))
    else:
        if isinstance(size, (str, bytes)) or not hasattr(size, "__iter__"):
            raise TypeError(f"size must be an int or a (rows, cols) pair, got {size!r}.")
        shape = tuple(size)
        if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in shape):
            raise TypeError(f"size must be an int or a (rows, cols) pair of ints, got {size!r}.")
        shape = tuple(int(v) for v in shape)
        if len(shape) != 2:
            raise ValueError(f"size must be an int or a (rows, cols) pair, got {size!r}.")
    if min(shape) < 1:
        raise ValueError(f"size must be positive, got {size!r}.")
    return shape


def _check_probability(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}.")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}.")
    return float(value)


def grid_transitions(shape, moves, intended_prob, other_prob):
    """Sparse ``(S * A, S)`` transitions of a grid where action ``a`` means ``moves[a]``.

    The intended move happens with ``intended_prob`` and each other move with ``other_prob``;
    a move off the grid leaves the agent in place. Built without Python loops over states,
    so a 1000 x 1000 grid takes well under a second.
    """
    n_rows, n_cols = shape
    S, A = n_rows * n_cols, len(moves)
    n_moves = A if other_prob > 0.0 else 1
    # the transitions (data and indices, and the copies sum_duplicates and the env's
    # validation make) and the per-state arrays: coordinates, features, reward, mu0
    check_memory(float(S) * A * (n_moves * 48 + 16) + 64.0 * S,
                 f"a {n_rows} x {n_cols} grid ({float(S):.3g} states, {A} actions)",
                 "Use a smaller grid.")
    index_dtype = np.int32 if S * A * A < np.iinfo(np.int32).max else np.int64
    rows, cols = np.divmod(np.arange(S, dtype=index_dtype), n_cols)
    # Moves with non-zero probability from each row: all of them, or only the intended one.
    targets = np.empty((S, A), dtype=index_dtype)
    for d, (dr, dc) in enumerate(moves):
        r2, c2 = rows + dr, cols + dc
        inside = (r2 >= 0) & (r2 < n_rows) & (c2 >= 0) & (c2 < n_cols)
        targets[:, d] = np.where(inside, r2 * n_cols + c2, rows * n_cols + cols)
    if n_moves == 1:
        indices = targets.ravel()
        data = np.full(S * A, intended_prob)
    else:
        # Row s * A + a lists the targets of all moves d, with intended_prob where d == a.
        # (fresh arrays: sum_duplicates below sorts them in place)
        indices = np.repeat(targets, A, axis=0).ravel()
        probs = np.where(np.eye(A, dtype=bool), intended_prob, other_prob)
        data = np.tile(probs.ravel(), S)
    indptr = np.arange(0, S * A * n_moves + 1, n_moves, dtype=index_dtype)
    P = sp.csr_matrix((data, indices, indptr), shape=(S * A, S), copy=False)
    P.sum_duplicates()  # merges the moves that hit a wall into one staying-put entry
    return P


class GridWorld(TabularMDP):
    """A rectangular grid with compass moves that slip with some probability.

    States are cells numbered row-major (``s = row * n_cols + col``); actions are
    0 = up, 1 = right, 2 = down, 3 = left. With probability ``1 - slip`` the intended
    move is made; with probability ``slip`` a uniformly random move (of the four) is made
    instead, as in Abbeel & Ng's gridworld. Moves off the grid leave the agent in place.
    Transitions are sparse, so a 1000 x 1000 grid fits in memory.

    Parameters
    ----------
    size : int or (int, int), default=5
        Number of rows and columns.
    slip : float, default=0.0
        Probability of a random move instead of the intended one.
    gamma : float, default=0.99
        Discount factor.
    horizon : int, default=None
        Finite horizon, or None for the discounted problem.
    reward : array-like of shape (S,) or (S, A), default=None
        Ground-truth reward; None gives +1 in the bottom-right cell and 0 elsewhere.
    initial_state_distribution : array-like of shape (S,), default=None
        Uniform over cells when None.

    Attributes
    ----------
    shape : (int, int)
        Rows and columns.
    state_features : ndarray of shape (S, 2)
        (row, col) coordinates of each cell.

    Examples
    --------
    >>> from sklirl.envs import GridWorld
    >>> env = GridWorld(size=4, slip=0.1, gamma=0.9)
    >>> env.n_states, env.n_actions, int(env.reward.argmax())
    (16, 4, 15)
    """

    _copy_transitions = False  # grid_transitions builds a fresh matrix for each instance

    def __init__(
        self, size=5, slip=0.0, gamma=0.99, horizon=None, reward=None,
        initial_state_distribution=None,
    ):
        shape = _grid_shape(size)
        slip = _check_probability(slip, "slip")
        S = shape[0] * shape[1]
        P = grid_transitions(shape, [_UP, _RIGHT, _DOWN, _LEFT], 1 - slip + slip / 4, slip / 4)
        if reward is None:
            reward = np.zeros(S)
            reward[-1] = 1.0
        coords = np.stack(np.divmod(np.arange(S), shape[1]), axis=1).astype(np.float64)
        self.shape = shape
        self.slip = slip
        super().__init__(
            P, initial_state_distribution=initial_state_distribution, gamma=gamma,
            horizon=horizon, state_features=coords, reward=reward, n_actions=4,
        )


class ObjectWorld(TabularMDP):
    """Levine, Popovic & Koltun's (2011) ObjectWorld benchmark.

    An ``size x size`` grid with 5 actions (0 = stay, 1 = up, 2 = right, 3 = down,
    4 = left). The intended move succeeds with probability ``determinism``; otherwise one
    of the other four actions is taken, each with probability ``(1 - determinism) / 4``.
    Each cell holds an object with probability ``object_density``; an object has a primary
    (inner) and a secondary (outer) colour, each uniform over ``n_colors``.

    State features are the Euclidean distances from a cell to the nearest object of each
    primary colour and of each secondary colour (``2 * n_colors`` continuous features;
    ``sqrt(2) * size`` when no object has that colour), or with ``discrete=True`` the
    indicators ``[distance < d]`` for ``d = 1, ..., size - 1`` of each of them
    (124 features at ``size=32, n_colors=2``).

    The true reward is +5 in cells within distance 3 (``distance < 3``) of primary colour 0
    and within distance 2 of primary colour 1, -10 in cells within distance 3 of primary
    colour 0 only, and 0 elsewhere. "Within distance d" means Euclidean distance strictly
    less than d, the same test as the discrete features, so that the true reward is exactly a
    function of two of them (``[distance to primary 0 < 3]`` and ``[distance to primary 1 < 2]``).
    Colours are numbered from 0 (the paper's colours 1 and 2 are 0 and 1 here).

    Parameters
    ----------
    size : int, default=32
    n_colors : int, default=2
        Number of colours (at least 2).
    determinism : float, default=0.7
    gamma : float, default=0.9
    horizon : int, default=None
    object_density : float, default=0.05
    discrete : bool, default=False
        Use the binary distance-threshold features instead of the continuous distances.
    random_state : int, RandomState instance or None, default=None
        Seeds the placement and colours of the objects.

    Attributes
    ----------
    objects : ndarray of shape (n_objects, 4)
        Rows of (row, col, primary colour, secondary colour).
    distances : ndarray of shape (S, 2 * n_colors)
        The continuous distance features.
    true_features : ndarray of shape (S, 3)
        Indicators of the three reward regions (+5, -10, 0): the true reward is a linear
        function of them.

    Examples
    --------
    >>> from sklirl.envs import ObjectWorld
    >>> env = ObjectWorld(size=8, random_state=0)
    >>> env.n_states, env.n_actions, env.state_features.shape
    (64, 5, (64, 4))
    >>> ObjectWorld(size=32, discrete=True, random_state=0).state_features.shape
    (1024, 124)
    """

    _copy_transitions = False

    def __init__(
        self, size=32, n_colors=2, determinism=0.7, gamma=0.9, horizon=None,
        object_density=0.05, discrete=False, random_state=None,
    ):
        shape = _grid_shape(size)
        if shape[0] != shape[1]:
            raise ValueError(f"ObjectWorld is square: size must be an int, got {size!r}.")
        n = shape[0]
        if not isinstance(n_colors, numbers.Integral) or n_colors < 2:
            raise ValueError(f"n_colors must be an int >= 2, got {n_colors!r}.")
        determinism = _check_probability(determinism, "determinism")
        object_density = _check_probability(object_density, "object_density")
        rng = check_random_state(random_state)
        S = n * n
        moves = [(0, 0), _UP, _RIGHT, _DOWN, _LEFT]
        P = grid_transitions(shape, moves, determinism, (1 - determinism) / 4)

        has_object = rng.random_sample(S) < object_density
        cells = np.flatnonzero(has_object)
        primary = rng.randint(n_colors, size=len(cells))
        secondary = rng.randint(n_colors, size=len(cells))
        obj_rc = np.stack(np.divmod(cells, n), axis=1)
        self.objects = np.column_stack([obj_rc, primary, secondary])

        coords = np.stack(np.divmod(np.arange(S), n), axis=1).astype(np.float64)
        far = np.sqrt(2.0) * n
        dists = np.full((S, 2 * n_colors), far)
        for k, colours in enumerate([primary, secondary]):
            for c in range(n_colors):
                pts = obj_rc[colours == c]
                if len(pts):
                    dists[:, k * n_colors + c] = cKDTree(pts).query(coords)[0]
        self.distances = dists
        near0 = dists[:, 0] < 3
        near1 = dists[:, 1] < 2
        self.true_features = np.column_stack(
            [near0 & near1, near0 & ~near1, ~near0]
        ).astype(np.float64)
        reward = self.true_features @ np.array([5.0, -10.0, 0.0])
        if not isinstance(discrete, (bool, np.bool_)):
            raise TypeError(f"discrete must be True or False, got {discrete!r}.")
        if discrete:
            thresholds = np.arange(1, n)
            feats = (dists[:, :, None] < thresholds[None, None, :]).reshape(S, -1)
            feats = feats.astype(np.float64)
        else:
            feats = dists
        self.size = n
        self.n_colors = int(n_colors)
        self.determinism = determinism
        self.discrete = bool(discrete)
        super().__init__(
            P, gamma=gamma, horizon=horizon, state_features=feats, reward=reward, n_actions=5,
        )
