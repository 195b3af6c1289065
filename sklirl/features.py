"""Feature maps: scikit-learn transformers from state descriptors to reward features.

A feature map is any scikit-learn transformer. The estimators fit it on the env's state
descriptors (``env.state_features``, an ``(S, d)`` array) and use the transformed ``(S, k)``
matrix as the reward features, so that the reward is ``r(s) = w . phi(s)``. A transformer
whose class sets ``sklirl_input = "state_index"`` (as :class:`OneHotStates` does) receives
the state indices ``[[0], [1], ..., [S - 1]]`` instead, which is how the tabular reward
(one weight per state) is expressed.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import KBinsDiscretizer
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .envs._tabular import TabularMDP, check_tabular_env
from .utils._doc_link import DocLinkMixin

__all__ = [
    "OneHotStates",
    "MacroCells",
    "StateDiscretizer",
    "feature_inputs",
    "fit_feature_matrix",
    "transform_feature_matrix",
    "state_action_features",
    "check_feature_matrix",
]


def _row_keys(X):
    """View each row of a 2-D array as one sortable value, ordered lexicographically by the
    numeric values (so that one-hot columns follow the state order ``0, 1, ..., S - 1``)."""
    X = np.ascontiguousarray(X, dtype=np.float64) + 0.0  # -0.0 and 0.0 become equal
    if X.shape[1] == 1:
        return X[:, 0]
    fields = np.dtype([(f"f{j}", np.float64) for j in range(X.shape[1])])
    return X.view(fields).ravel()


class OneHotStates(DocLinkMixin, TransformerMixin, BaseEstimator):
    """One-hot encode whole rows: the tabular feature map (one reward weight per state).

    Each distinct row seen in ``fit`` is a category. Fitted by an IRL estimator on a
    tabular env, the rows are the state indices, so the features are the indicator of each
    state and a linear reward on them is an arbitrary reward table.

    Parameters
    ----------
    sparse_output : bool or "auto", default="auto"
        Return a ``scipy.sparse`` CSR matrix; "auto" does so when there are more than
        1000 categories (large MDPs), a dense array otherwise.
    handle_unknown : {"error", "ignore"}, default="error"
        What to do with rows not seen in ``fit``: raise, or encode them as all zeros.

    Attributes
    ----------
    categories_ : ndarray of shape (n_categories, n_features_in_)
        The distinct rows, sorted.
    n_features_in_ : int
    sklirl_input : str
        ``"state_index"``: IRL estimators feed this map the state indices.

    Examples
    --------
    >>> from sklirl.features import OneHotStates
    >>> OneHotStates().fit_transform([[0], [2], [1], [2]])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """

    sklirl_input = "state_index"

    _parameter_constraints: dict = {
        "sparse_output": ["boolean", StrOptions({"auto"})],
        "handle_unknown": [StrOptions({"error", "ignore"})],
    }

    def __init__(self, sparse_output="auto", handle_unknown="error"):
        self.sparse_output = sparse_output
        self.handle_unknown = handle_unknown

    def fit(self, X, y=None):
        """Learn the distinct rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            State descriptors (or state indices as one column); each distinct row is a
            category.
        y : None
            Ignored.

        Returns
        -------
        self : OneHotStates
        """
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64)
        keys = _row_keys(X)
        _, first = np.unique(keys, return_index=True)
        self.categories_ = X[first]
        self._keys = keys[first]
        return self

    def transform(self, X):
        """Encode each row of ``X`` as the indicator of its category.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to encode, with as many columns as in ``fit``.

        Returns
        -------
        X_out : ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_categories)
            One 1 per row, in the column of its category (sparse when ``sparse_output``
            says so); rows not seen in ``fit`` raise or, with ``handle_unknown="ignore"``,
            are all zeros.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        keys = _row_keys(X)
        k = len(self._keys)
        idx = np.minimum(np.searchsorted(self._keys, keys), k - 1)
        known = self._keys[idx] == keys
        if not known.all() and self.handle_unknown == "error":
            i = int(np.flatnonzero(~known)[0])
            raise ValueError(
                f"X row {i} ({X[i].tolist()}) was not seen in fit; use "
                "handle_unknown='ignore' to encode unknown rows as zeros."
            )
        rows = np.flatnonzero(known)
        out = sp.csr_matrix(
            (np.ones(len(rows)), (rows, idx[known])), shape=(X.shape[0], k)
        )
        sparse = self.sparse_output
        if sparse == "auto":
            sparse = k > 1000
        return out if sparse else out.toarray()

    def get_feature_names_out(self, input_features=None):
        """Names ``state=<row>`` of the output features.

        Parameters
        ----------
        input_features : None
            Ignored (the names come from the categories' values).

        Returns
        -------
        feature_names_out : ndarray of str objects of shape (n_categories,)
        """
        check_is_fitted(self)
        return np.asarray(
            [f"state={'_'.join(f'{v:g}' for v in row)}" for row in self.categories_], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class MacroCells(DocLinkMixin, TransformerMixin, BaseEstimator):
    """Indicators of macro cells: a coarse grid of hyper-cubes over coordinate features.

    Each input column (e.g. a GridWorld's row and column) is cut into bins of width
    ``cell_size`` starting at its minimum seen in ``fit``; a row is encoded as the indicator
    of the macro cell (the tuple of its bins) it falls in. On a 32 x 32 GridWorld,
    ``MacroCells(4)`` gives Abbeel & Ng's 64 macro-cell features.

    Parameters
    ----------
    cell_size : float, default=1.0
        Width of a macro cell along every input column.

    Attributes
    ----------
    offset_ : ndarray of shape (n_features_in_,)
        Per-column minimum seen in fit (the corner of the first cell).
    n_cells_ : ndarray of shape (n_features_in_,)
        Number of bins along each column; the output has ``prod(n_cells_)`` columns.
    n_features_in_ : int

    Notes
    -----
    Values outside the range seen in fit are put in the nearest edge cell.

    Examples
    --------
    >>> from sklirl.features import MacroCells
    >>> MacroCells(cell_size=2).fit_transform([[0, 0], [0, 3], [2, 1], [3, 3]])
    array([[1., 0., 0., 0.],
           [0., 1., 0., 0.],
           [0., 0., 1., 0.],
           [0., 0., 0., 1.]])
    """

    _parameter_constraints: dict = {
        "cell_size": [Interval(Real, 0, None, closed="neither")],
    }

    #: Refuse to allocate more macro cells than this (a likely mistake in cell_size).
    _max_cells = 10_000_000

    def __init__(self, cell_size=1.0):
        self.cell_size = cell_size

    def fit(self, X, y=None):
        """Learn the bins of each column.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            State descriptors, such as a grid's ``(row, col)`` coordinates.
        y : None
            Ignored.

        Returns
        -------
        self : MacroCells
        """
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64)
        self.offset_ = X.min(axis=0)
        with np.errstate(over="ignore"):  # a span beyond float64 counts as infinitely many
            n_cells = np.floor((X.max(axis=0) - self.offset_) / self.cell_size) + 1
            total = float(np.prod(n_cells))
        # Checked in float before the int cast (1e300 cells would wrap around in int64).
        if not total <= self._max_cells:
            raise ValueError(
                f"MacroCells(cell_size={self.cell_size}) would make {total:.3g} macro cells "
                f"(bins per column: {[float(f'{n:.3g}') for n in n_cells]}); increase "
                "cell_size."
            )
        self.n_cells_ = n_cells.astype(np.int64)
        return self

    def transform(self, X):
        """Encode each row as the indicator of its macro cell.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to encode, with as many columns as in ``fit``.

        Returns
        -------
        X_out : ndarray of shape (n_samples, prod(n_cells_))
            One 1 per row, in the column of its macro cell.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        # Clipped in float before the int cast: rows beyond the fitted range (1e19, 1e300,
        # or an overflow to inf) go to the edge cell, not to a wrapped-around int64.
        with np.errstate(over="ignore"):
            bins = np.floor((X - self.offset_) / self.cell_size)
        bins = np.clip(bins, 0, self.n_cells_ - 1).astype(np.int64)
        index = np.ravel_multi_index(tuple(bins.T), tuple(self.n_cells_))
        out = np.zeros((X.shape[0], int(np.prod(self.n_cells_))))
        out[np.arange(X.shape[0]), index] = 1.0
        return out

    def get_feature_names_out(self, input_features=None):
        """Names ``cell=<bin>_<bin>...`` of the output features.

        Parameters
        ----------
        input_features : None
            Ignored (the names come from the bins).

        Returns
        -------
        feature_names_out : ndarray of str objects of shape (prod(n_cells_),)
        """
        check_is_fitted(self)
        grid = np.indices(tuple(self.n_cells_)).reshape(len(self.n_cells_), -1).T
        return np.asarray([f"cell={'_'.join(map(str, b))}" for b in grid], dtype=object)


class StateDiscretizer(DocLinkMixin, TransformerMixin, BaseEstimator):
    """Discretise observation vectors into state indices: a tabular model of continuous logs.

    Bins each observation column (equal-width bins, the default) or clusters the observations
    with any scikit-learn clusterer, and numbers the cells ``0 .. n_states_ - 1``. With
    :meth:`to_tabular` it turns logged trajectories of a continuous system into integer
    demos and the :class:`~sklirl.envs.TabularMDP` estimated from them
    (:meth:`TabularMDP.from_trajectories <sklirl.envs.TabularMDP.from_trajectories>`), on
    which :class:`~sklirl.MaxEntIRL` and :class:`~sklirl.MaxMarginIRL` run. Read more in
    the :ref:`User Guide <own_logs>`.

    Parameters
    ----------
    discretizer : estimator, default=None
        A clusterer with ``fit`` and ``predict`` (``KMeans``, ``MiniBatchKMeans``,
        ``GaussianMixture``, ...): the state is its label; or a transformer whose output is
        one integer bin per column (``KBinsDiscretizer(encode="ordinal")``): the state is
        the cell of the bins. None: ``n_bins`` equal-width bins per column (over the range
        seen in ``fit``; values outside go to the edge bins).
    n_bins : int, default=5
        Bins per column when ``discretizer`` is None.

    Attributes
    ----------
    discretizer_ : estimator
        The fitted clone of ``discretizer``.
    n_states_ : int
        Number of discrete states.
    state_centers_ : ndarray of shape (n_states_, n_features_in_)
        A representative observation per state (cluster centres, bin centres, or the mean of
        the training observations of the state): the ``state_features`` of the model.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.features import StateDiscretizer
    >>> X = np.array([[0.1, 5.0], [0.9, 5.0], [0.2, 9.0], [0.8, 9.0]])
    >>> StateDiscretizer(n_bins=2).fit_transform(X).ravel()  # 2 x 2 cells
    array([0, 2, 1, 3])
    >>> from sklearn.cluster import KMeans
    >>> StateDiscretizer(KMeans(2, n_init=1, random_state=0)).fit(X).n_states_
    2
    """

    _parameter_constraints: dict = {
        "discretizer": [None, HasMethods(["fit"])],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
    }

    #: Refuse to make more cells than this (a likely mistake in n_bins).
    _max_states = 10_000_000

    def __init__(self, discretizer=None, *, n_bins=5):
        self.discretizer = discretizer
        self.n_bins = n_bins

    def fit(self, X, y=None):
        """Learn the bins or clusters of the observations.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observation vectors.
        y : None
            Ignored.

        Returns
        -------
        self : StateDiscretizer
        """
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64)
        if self.discretizer is None:
            # Equal-width bins: quantile bins of the logs would make every state equally
            # visited, erasing the contrast in visitation that the reward is learned from.
            disc = KBinsDiscretizer(n_bins=self.n_bins, encode="ordinal", strategy="uniform")
        else:
            disc = clone(self.discretizer)
        self._clusters = hasattr(disc, "predict")
        if not self._clusters and not hasattr(disc, "transform"):
            raise TypeError(
                f"discretizer must be a clusterer with predict or a binning transformer, got "
                f"{type(disc).__name__}."
            )
        self.discretizer_ = disc.fit(X)
        if self._clusters:
            labels = np.asarray(disc.predict(X))
            n = getattr(disc, "n_clusters", None) or getattr(disc, "n_components", None)
            self.n_states_ = int(n) if n else int(labels.max()) + 1
        else:
            bins = self._bins(X, fitting=True)
            total = float(np.prod(self._n_bins.astype(np.float64)))
            if total > self._max_states:
                raise ValueError(
                    f"StateDiscretizer would make {total:.3g} states (bins per column: "
                    f"{self._n_bins.tolist()}); use fewer bins or a clusterer."
                )
            self.n_states_ = int(total)
            labels = np.ravel_multi_index(tuple(bins.T), tuple(self._n_bins))
        self.state_centers_ = self._centers(X, labels)
        return self

    def _bins(self, X, fitting=False):
        out = self.discretizer_.transform(X)
        out = out.toarray() if sp.issparse(out) else np.asarray(out, dtype=np.float64)
        if out.ndim != 2 or out.shape[1] != X.shape[1] or np.any(out != np.round(out)):
            raise ValueError(
                f"{type(self.discretizer_).__name__} must output one integer bin per column "
                "(e.g. KBinsDiscretizer(encode='ordinal')), got "
                f"{'shape ' + str(out.shape) if out.ndim != 2 else 'non-integer values'}."
            )
        bins = out.astype(np.int64)
        if fitting:
            n_bins = getattr(self.discretizer_, "n_bins_", None)
            self._n_bins = np.asarray(bins.max(axis=0) + 1 if n_bins is None else n_bins,
                                      dtype=np.int64)
        return np.clip(bins, 0, self._n_bins - 1)

    def _centers(self, X, labels):
        disc = self.discretizer_
        for name in ("cluster_centers_", "means_"):
            centers = getattr(disc, name, None)
            if centers is not None and np.shape(centers) == (self.n_states_, X.shape[1]):
                return np.asarray(centers, dtype=np.float64)
        edges = getattr(disc, "bin_edges_", None)
        if not self._clusters and edges is not None:
            mids = [(e[:-1] + e[1:]) / 2 for e in edges]
            grid = np.indices(tuple(self._n_bins)).reshape(len(mids), -1)
            return np.column_stack([m[np.minimum(g, len(m) - 1)] for m, g in zip(mids, grid)])
        sums = np.zeros((self.n_states_, X.shape[1]))
        np.add.at(sums, labels, X)
        counts = np.bincount(labels, minlength=self.n_states_)[:, None]
        return np.where(counts > 0, sums / np.maximum(counts, 1), X.mean(axis=0))

    def transform(self, X):
        """The state index of each observation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observation vectors.

        Returns
        -------
        states : ndarray of int of shape (n_samples, 1)
            In ``[0, n_states_)``; ``.ravel()`` gives the states of a trajectory.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        if self._clusters:
            states = np.asarray(self.discretizer_.predict(X), dtype=np.int64)
        else:
            states = np.ravel_multi_index(tuple(self._bins(X).T), tuple(self._n_bins))
        return states.reshape(-1, 1)

    def transform_demos(self, demos):
        """Demos with observation vectors -> demos with integer states.

        Parameters
        ----------
        demos : list of trajectories
            Observations ``(T + 1, n_features)`` or ``(T, n_features)`` per trajectory.

        Returns
        -------
        demos : list of Trajectory
            The same actions, with the state index of each observation.
        """
        from .demos import Trajectory, check_demos

        check_is_fitted(self)
        trajs = check_demos(demos)
        if trajs[0].states.ndim != 2:
            raise ValueError(
                "demos must hold observation vectors (one row per step), got states of shape "
                f"{trajs[0].states.shape}."
            )
        return [Trajectory(self.transform(t.states).ravel(), t.actions) for t in trajs]

    def to_tabular(self, demos, n_actions=None, **kwargs):
        """Fit on the demos' observations; return integer demos and the estimated model.

        Parameters
        ----------
        demos : list of trajectories
            Observation vectors as states, integer actions.
        n_actions : int, default=None
            Number of actions; one more than the largest logged action when None.
        **kwargs
            Passed to :meth:`TabularMDP.from_trajectories
            <sklirl.envs.TabularMDP.from_trajectories>` (``prior``, ``gamma``,
            ``horizon``, ...); ``state_features`` defaults to ``state_centers_``.

        Returns
        -------
        demos : list of Trajectory
            Integer states in ``[0, n_states_)``.
        env : TabularMDP
            Estimated from those demos.

        Examples
        --------
        >>> import numpy as np
        >>> from sklirl.features import StateDiscretizer
        >>> rng = np.random.RandomState(0)
        >>> logs = [(rng.rand(11, 2), rng.randint(3, size=10)) for _ in range(20)]
        >>> demos, env = StateDiscretizer(n_bins=3).to_tabular(logs, gamma=0.9)
        >>> env.n_states, env.n_actions, env.state_features.shape
        (9, 3, (9, 2))
        """
        from .demos import check_demos

        trajs = check_demos(demos)
        self.fit(np.concatenate([t.states for t in trajs]))
        discrete = self.transform_demos(trajs)
        if n_actions is None:
            n_actions = int(max(t.actions.max() for t in discrete)) + 1
        kwargs.setdefault("state_features", self.state_centers_)
        env = TabularMDP.from_trajectories(discrete, self.n_states_, n_actions, **kwargs)
        return discrete, env

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # outputs integer state indices
        return tags


def _wants_state_index(feature_map):
    first = feature_map.steps[0][1] if isinstance(feature_map, Pipeline) else feature_map
    return getattr(first, "sklirl_input", None) == "state_index"


def feature_inputs(feature_map, env, reward_input="state"):
    """The ``X`` a feature map is fitted on for ``env``: descriptors or indices.

    Parameters
    ----------
    feature_map : transformer
    env : TabularMDP
    reward_input : {"state", "state_action"}, default="state"
        What the reward depends on. ``"state"``: one row per state. ``"state_action"``: one
        row per pair, row ``s * A + a`` (the reward is then ``r(s, a) = w . phi(s, a)``).

    Returns
    -------
    X : ndarray of shape (S, d) or (S * A, d)
        ``"state"``: ``env.state_features``, or the column of state indices when the map
        asks for it (``sklirl_input = "state_index"``) or the env has no state features.
        ``"state_action"``: ``env.state_action_features`` reshaped to ``(S * A, d)``, or the
        column of pair indices ``s * A + a`` for an index map (so that
        :class:`OneHotStates` gives the tabular ``r(s, a)``).

    Examples
    --------
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.features import MacroCells, OneHotStates, feature_inputs
    >>> env = GridWorld(size=2)
    >>> feature_inputs(MacroCells(1), env)  # the (row, col) of each cell
    array([[0., 0.],
           [0., 1.],
           [1., 0.],
           [1., 1.]])
    >>> feature_inputs(OneHotStates(), env).ravel()  # OneHotStates asks for state indices
    array([0., 1., 2., 3.])
    >>> feature_inputs(OneHotStates(), env, "state_action").shape  # one row per (s, a)
    (16, 1)
    """
    env = check_tabular_env(env)
    if reward_input == "state_action":
        S, A = env.n_states, env.n_actions
        if _wants_state_index(feature_map):
            return np.arange(S * A, dtype=np.float64)[:, None]
        if env.state_action_features is None:
            raise ValueError(
                f"reward_input='state_action' with {type(feature_map).__name__} needs "
                "state-action descriptors: build the env with state_action_features of "
                "shape (S, A, d), or use OneHotStates() for the tabular reward r(s, a)."
            )
        return env.state_action_features.reshape(S * A, -1)
    if reward_input != "state":
        raise ValueError(
            f"reward_input must be 'state' or 'state_action', got {reward_input!r}."
        )
    if _wants_state_index(feature_map) or env.state_features is None:
        return np.arange(env.n_states, dtype=np.float64)[:, None]
    return env.state_features


def check_feature_matrix(phi, n_states=None, n_actions=None, name="features"):
    """Validate a reward feature matrix; return it as finite float64 (dense or CSR).

    Parameters
    ----------
    phi : array-like or sparse matrix
        ``(S, k)`` state features, ``(S * A, k)`` state-action features (row ``s * A + a``),
        dense or sparse, or a dense ``(S, A, k)`` array.
    n_states, n_actions : int, default=None
        When given, the rows (or the leading axes) must match them.
    name : str, default="features"
        How error messages call the argument.

    Returns
    -------
    phi : ndarray or scipy.sparse.csr_matrix

    Raises
    ------
    TypeError
        If ``phi`` is not numeric or not an array.
    ValueError
        If its shape is wrong or it holds NaN or infinite values.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.features import check_feature_matrix
    >>> check_feature_matrix([[0, 1], [1, 0]], n_states=2).dtype
    dtype('float64')
    >>> check_feature_matrix(np.ones((3, 2)), n_states=2)
    Traceback (most recent call last):
    ...
    ValueError: features has shape (3, 2); expected S = 2 rows.
    """
    if sp.issparse(phi):
        phi = sp.csr_matrix(phi)
        values = phi.data
    else:
        if phi is None or isinstance(phi, (str, bytes)) or np.ndim(phi) == 0:
            raise TypeError(
                f"{name} must be an (S, k), (S * A, k) or (S, A, k) array or sparse matrix, "
                f"got {type(phi).__name__}."
            )
        try:
            phi = np.asarray(phi)
        except ValueError:
            raise ValueError(f"{name} is ragged: rows of different lengths.") from None
        values = phi
    if values.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {values.dtype}.")
    if phi.ndim not in (2, 3) or 0 in phi.shape:
        raise ValueError(
            f"{name} must have shape (S, k), (S * A, k) or (S, A, k), got {phi.shape}."
        )
    phi = phi.astype(np.float64, copy=False)
    if sp.issparse(phi) and not phi.has_canonical_format:
        # Duplicate entries are summed by every product: check the sums (two 1e308 make inf).
        phi = phi.copy()
        with np.errstate(over="ignore"):
            phi.sum_duplicates()
    if not np.all(np.isfinite(phi.data if sp.issparse(phi) else phi)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    if n_states is not None:
        if phi.ndim == 3:
            ok = n_actions is None or phi.shape[:2] == (n_states, n_actions)
            expected = f"(S, A, k) = ({n_states}, {n_actions}, k)"
        else:
            ok = phi.shape[0] == n_states or (
                n_actions is not None and phi.shape[0] == n_states * n_actions
            )
            expected = f"S = {n_states}" + (
                "" if n_actions is None else f" or S * A = {n_states * n_actions}"
            ) + " rows"
        if not ok:
            raise ValueError(f"{name} has shape {phi.shape}; expected {expected}.")
    return phi


def _check_feature_matrix(Phi, n_rows, name, unit="state"):
    """The output of a fitted feature map: one finite row per state (or pair), as (n, k)."""
    if not sp.issparse(Phi) and np.ndim(Phi) == 1:
        Phi = np.asarray(Phi)[:, None]
    Phi = check_feature_matrix(Phi, name=f"feature map {name} output")
    if Phi.ndim != 2 or Phi.shape[0] != n_rows:
        raise ValueError(
            f"feature map {name} returned shape {Phi.shape}; expected ({n_rows}, k), one row "
            f"per {unit}."
        )
    return Phi


def _n_rows(env, reward_input):
    if reward_input == "state_action":
        return env.n_states * env.n_actions, "state-action pair"
    return env.n_states, "state"


def fit_feature_matrix(features, env, reward_input="state"):
    """Clone and fit a feature map on ``env`` and return it with the ``(S, k)`` feature matrix.

    Parameters
    ----------
    features : transformer
        Any scikit-learn transformer (or Pipeline of transformers).
    env : TabularMDP
    reward_input : {"state", "state_action"}, default="state"
        Fit on the state rows or on the ``S * A`` state-action rows (see
        :func:`feature_inputs`).

    Returns
    -------
    fitted : transformer
        A fitted clone; ``features`` itself is left untouched.
    phi : ndarray or scipy.sparse.csr_matrix of shape (S, k) or (S * A, k)
        Row ``s * A + a`` is ``phi(s, a)`` for ``"state_action"``.

    Examples
    --------
    >>> from sklearn.preprocessing import PolynomialFeatures
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.features import fit_feature_matrix
    >>> fitted, phi = fit_feature_matrix(PolynomialFeatures(2), GridWorld(3))
    >>> phi.shape
    (9, 6)
    """
    if not (hasattr(features, "fit") and hasattr(features, "transform")):
        raise TypeError(
            f"features must be a scikit-learn transformer with fit and transform, got "
            f"{type(features).__name__}."
        )
    fitted = clone(features)
    X = feature_inputs(fitted, env, reward_input)
    Phi = fitted.fit_transform(X)
    n_rows, unit = _n_rows(env, reward_input)
    return fitted, _check_feature_matrix(Phi, n_rows, type(features).__name__, unit)


def transform_feature_matrix(fitted, env, reward_input="state"):
    """The ``(S, k)`` feature matrix of an already fitted feature map on ``env``.

    What an estimator uses to evaluate its learned reward on another env (transfer): the
    map fitted on the training env by :func:`fit_feature_matrix` transforms the new env's
    state descriptors, without refitting.

    Parameters
    ----------
    fitted : transformer
        A fitted feature map, such as the first output of :func:`fit_feature_matrix` or an
        estimator's ``features_``.
    env : TabularMDP
        An env whose state descriptors ``fitted`` can transform.
    reward_input : {"state", "state_action"}, default="state"
        As in :func:`fit_feature_matrix`.

    Returns
    -------
    phi : ndarray or scipy.sparse.csr_matrix of shape (env.n_states, k) or (S * A, k)

    Examples
    --------
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.features import MacroCells, fit_feature_matrix, transform_feature_matrix
    >>> fitted, phi = fit_feature_matrix(MacroCells(1), GridWorld(size=2))
    >>> phi.shape
    (4, 4)
    >>> transform_feature_matrix(fitted, GridWorld(size=3)).sum(axis=0)  # cells clipped
    array([1., 2., 2., 4.])
    """
    Phi = fitted.transform(feature_inputs(fitted, env, reward_input))
    n_rows, unit = _n_rows(env, reward_input)
    return _check_feature_matrix(Phi, n_rows, type(fitted).__name__, unit)


def state_action_features(phi, n_actions):
    """Per-action copies of state features: ``(S, k)`` -> ``(S * A, k * A)``.

    Row ``s * A + a`` holds ``phi[s, j]`` in column ``j * A + a`` and zeros elsewhere, so a
    linear function of it is an arbitrary linear function of the state features for each
    action. With one-hot state features this is the one-hot encoding of state-action pairs.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.features import state_action_features
    >>> state_action_features(np.array([[1.0, 2.0]]), 2).toarray()
    array([[1., 0., 2., 0.],
           [0., 1., 0., 2.]])
    """
    if not isinstance(n_actions, Integral) or isinstance(n_actions, bool) or n_actions < 1:
        raise ValueError(f"n_actions must be a positive int, got {n_actions!r}.")
    phi = check_feature_matrix(phi, name="phi")
    if phi.ndim != 2:
        raise ValueError(f"phi must be an (S, k) state feature matrix, got shape {phi.shape}.")
    return sp.kron(sp.csr_matrix(phi), sp.eye(n_actions), format="csr")

