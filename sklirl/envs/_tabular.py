"""The tabular Markov decision process every planner and occupancy computation works on."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from ..utils._numeric import as_float_array, float_to_index
from ..utils._validation import check_gamma

__all__ = ["TabularMDP"]

_ATOL = 1e-8


def as_state_action_reward(reward, n_states, n_actions, name="reward"):
    """Return a reward given per state ``(S,)`` or per state-action ``(S, A)`` as ``(S, A)``."""
    r = as_float_array(reward, name, copy=False)
    if r.shape == (n_states,):
        # A contiguous copy: adding a stride-0 broadcast view costs more in every sweep.
        r = np.repeat(r[:, None], n_actions, axis=1)
    elif r.shape != (n_states, n_actions):
        raise ValueError(
            f"{name} must have shape ({n_states},) or ({n_states}, {n_actions}), got {r.shape}."
        )
    if not np.all(np.isfinite(r)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return r


def _float_array(values, name):
    """A float64 copy of ``values``, or a TypeError naming the argument (strings, complex
    numbers and objects are refused, not parsed: :func:`sklirl.utils._numeric.as_float_array`)."""
    return as_float_array(values, name)


def check_indices(values, n, name="states"):
    """Validate 1-D integer indices in ``[0, n)`` (states or actions) and return them as intp.

    Whole-number floats are accepted; an ``(n, 1)`` column is flattened. Errors name the
    argument, the first offending position and the allowed range.
    """
    kind = "state indices" if name == "states" else f"indices in [0, {n})"
    try:
        idx = np.asarray(values)
    except ValueError:
        raise ValueError(f"{name} is ragged: give a 1-D array of {kind}.") from None
    if idx.ndim == 2 and idx.shape[1] == 1:
        idx = idx[:, 0]
    if idx.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of {kind}, got shape {idx.shape}.")
    if idx.dtype.kind == "f":
        idx = float_to_index(idx, name, kind, n)
    elif idx.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer {kind}, got dtype {idx.dtype}.")
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}] = {int(idx[i])} is outside [0, {n}).")
    return idx.astype(np.intp, copy=False)


class TabularMDP:
    """A finite Markov decision process with a known transition model.

    Parameters
    ----------
    transitions : array-like of shape (S, A, S) or sparse matrix of shape (S * A, S)
        ``transitions[s, a, s']`` is P(s' | s, a). The sparse form stores row ``s * A + a``.
        Entries must be finite and non-negative and every row must sum to 1.
    initial_state_distribution : array-like of shape (S,), default=None
        Distribution of the initial state; uniform when None.
    gamma : float, default=0.99
        Discount factor in [0, 1]; at most ``1 - 1e-10`` when ``horizon`` is None (beyond,
        float64 cannot resolve the values: use a finite horizon).
    horizon : int, default=None
        None for the discounted infinite-horizon problem, or the number of steps of the
        finite-horizon problem (policies are then time-indexed).
    state_features : array-like of shape (S, d), default=None
        State descriptors that feature maps transform into reward features.
    reward : array-like of shape (S,) or (S, A), default=None
        Ground-truth reward, when known (used by benchmarks and metrics).
    n_actions : int, default=None
        Number of actions; required only with sparse ``transitions``.
    state_action_features : array-like of shape (S, A, d), default=None
        State-action descriptors (the price or promotion of the chosen option, ...) that
        feature maps transform when an estimator has ``reward_input="state_action"``;
        an ``(S, A)`` array is one descriptor per pair.
    absorbing_state : int, default=None
        The state that episodes which end move to and never leave (every action keeps it
        there with probability 1). Demonstrations flagged ``terminal=True`` spend the rest of
        the horizon there; the states from which every action leads to it are the
        :attr:`terminal_states`. None: the model has no episode end. See
        :ref:`terminal_states`.

    Attributes
    ----------
    n_states : int
    n_actions : int
    transition_matrix : scipy.sparse.csr_matrix of shape (S * A, S)
        Validated copy of the transitions; row ``s * A + a`` is P(. | s, a).
    state_action_counts : ndarray of shape (S, A) or None
        Models estimated by :meth:`from_trajectories`: the number of observed transitions
        from each pair (0 marks the unseen pairs, which follow the prior's rule); None
        otherwise.
    absorbing_state : int or None
    terminal_states : ndarray of int
        The states other than ``absorbing_state`` from which every action moves to it with
        probability 1 (empty without an absorbing state).

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.envs import TabularMDP
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
    >>> env = TabularMDP(P, gamma=0.9, reward=[0.0, 1.0])
    >>> env.n_states, env.n_actions
    (2, 2)

    An episode that ends: state 1 is terminal, state 2 absorbing.

    >>> P = np.zeros((3, 1, 3)); P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 2] = 1
    >>> env = TabularMDP(P, gamma=0.9, absorbing_state=2)
    >>> env.terminal_states.tolist()
    [1]
    """

    def __init__(
        self,
        transitions,
        initial_state_distribution=None,
        gamma=0.99,
        horizon=None,
        state_features=None,
        reward=None,
        n_actions=None,
        state_action_features=None,
        absorbing_state=None,
    ):
        P, n_states, n_act = self._validate_transitions(transitions, n_actions)
        for array in (P.data, P.indices, P.indptr):
            array.setflags(write=False)
        self.transition_matrix = P
        self._n_states = n_states
        self._n_actions = n_act
        self.gamma = self._validate_gamma(gamma, horizon)
        self.horizon = horizon if horizon is None else int(horizon)
        self.initial_state_distribution = self._validate_mu0(initial_state_distribution)
        if state_features is None:
            self.state_features = None
        else:
            feats = _float_array(state_features, "state_features")
            if feats.ndim == 1:
                feats = feats[:, None]
            if feats.ndim != 2 or feats.shape[0] != n_states:
                raise ValueError(
                    f"state_features must have shape ({n_states}, d), got {feats.shape}."
                )
            if not np.all(np.isfinite(feats)):
                raise ValueError("state_features contains NaN or infinity.")
            feats.setflags(write=False)
            self.state_features = feats
        if state_action_features is None:
            self.state_action_features = None
        else:
            feats = _float_array(state_action_features, "state_action_features")
            if feats.ndim == 2:
                feats = feats[:, :, None]
            if feats.ndim != 3 or feats.shape[:2] != (n_states, n_act):
                raise ValueError(
                    f"state_action_features must have shape ({n_states}, {n_act}, d), got "
                    f"{feats.shape}."
                )
            if not np.all(np.isfinite(feats)):
                raise ValueError("state_action_features contains NaN or infinity.")
            feats.setflags(write=False)
            self.state_action_features = feats
        self.state_action_counts = None
        if reward is None:
            self.reward = None
        else:
            r = np.array(as_state_action_reward(reward, n_states, n_act))
            if np.ndim(reward) == 1:
                r = r[:, 0].copy()
            r.setflags(write=False)
            self.reward = r
        self.absorbing_state = self._validate_absorbing(absorbing_state)

    # The validated model: set once in __init__, then read-only (solvers and estimators rely
    # on it staying valid; build a new env, or use with_initial_distribution, to change it).
    _MODEL_ATTRIBUTES = frozenset({
        "transition_matrix", "gamma", "horizon", "initial_state_distribution",
        "state_features", "reward", "state_action_features", "absorbing_state",
    })
    # Subclasses that do not pass it have no episode end.
    absorbing_state = None

    def __setattr__(self, name, value):
        if name in self._MODEL_ATTRIBUTES and name in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}.{name} is read-only after construction (it was "
                "validated then); build a new environment instead."
            )
        super().__setattr__(name, value)

    # -- validation --------------------------------------------------------------------
    # Subclasses that build a fresh sparse matrix themselves (the grid worlds) hand it over
    # without the defensive copy, which costs seconds on million-state grids.
    _copy_transitions = True

    def _validate_transitions(self, transitions, n_actions):
        if n_actions is not None and (
            not isinstance(n_actions, numbers.Integral) or isinstance(n_actions, bool)
        ):
            raise TypeError(f"n_actions must be an int, got {type(n_actions).__name__}.")
        if sp.issparse(transitions):
            if n_actions is None:
                raise ValueError(
                    "n_actions is required with sparse transitions of shape (S * A, S)."
                )
            n_actions = int(n_actions)
            if transitions.dtype.kind not in "biuf":
                raise TypeError(f"transitions must be numeric, got dtype {transitions.dtype}.")
            rows, n_states = transitions.shape
            if n_actions < 1 or n_states < 1 or rows != n_states * n_actions:
                raise ValueError(
                    f"sparse transitions must have shape (S * A, S) = ({n_states} * {n_actions}, "
                    f"{n_states}) with S, A >= 1, got {transitions.shape}."
                )
            owned = (
                not self._copy_transitions
                and transitions.format == "csr"
                and transitions.dtype == np.float64
            )
            P = transitions if owned else sp.csr_matrix(transitions, dtype=np.float64, copy=True)
            P.sum_duplicates()  # a no-op check when already canonical
            data = P.data
        else:
            try:
                arr = np.asarray(transitions)
            except ValueError:  # ragged nesting
                raise ValueError(
                    "transitions are ragged: expected a dense (S, A, S) array or a sparse "
                    "(S * A, S) matrix."
                ) from None
            if arr.dtype == object or arr.dtype.kind not in "biuf":
                raise TypeError(f"transitions must be numeric, got dtype {arr.dtype}.")
            if arr.ndim != 3 or arr.shape[0] != arr.shape[2] or 0 in arr.shape:
                raise ValueError(
                    f"dense transitions must have shape (S, A, S), got {arr.shape}."
                )
            n_states, n_act = arr.shape[0], arr.shape[1]
            if n_actions is not None and int(n_actions) != n_act:
                raise ValueError(f"n_actions={n_actions} but transitions have {n_act} actions.")
            n_actions = n_act
            data = arr.astype(np.float64, copy=False)
            P = None
        if data.size:
            # min/max propagate NaN, so two reductions check finiteness without a temporary.
            lo, hi = data.min(), data.max()
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise ValueError("transitions contain NaN or infinity.")
            if lo < 0:
                raise ValueError(f"transitions contain negative probabilities (min {lo}).")
        if P is None:
            sums = data.sum(axis=2)
            P = sp.csr_matrix(data.reshape(n_states * n_actions, n_states))
        else:
            sums = (P @ np.ones(n_states)).reshape(n_states, n_actions)
        bad = np.abs(sums - 1.0) > 1e-6
        if bad.any():
            s, a = np.argwhere(bad)[0]
            raise ValueError(
                f"transition probabilities from state {s}, action {a} sum to {sums[s, a]:.6g}, "
                "not 1."
            )
        if np.count_nonzero(P.data) != P.nnz:
            P.eliminate_zeros()
        P.sort_indices()
        # Renormalise away rounding so that occupancy mass identities hold to machine precision;
        # in chunks of rows, so the temporaries stay small.
        sums = sums.ravel()
        if np.any(sums != 1.0):
            indptr, chunk = P.indptr, 1 << 16
            for r0 in range(0, len(sums), chunk):
                r1 = min(r0 + chunk, len(sums))
                counts = np.diff(indptr[r0 : r1 + 1])
                P.data[indptr[r0] : indptr[r1]] /= np.repeat(sums[r0:r1], counts)
        return P, n_states, n_actions

    @staticmethod
    def _validate_gamma(gamma, horizon):
        if horizon is not None:
            if not isinstance(horizon, numbers.Integral) or isinstance(horizon, bool):
                raise TypeError(f"horizon must be None or an int, got {type(horizon).__name__}.")
            if horizon < 1:
                raise ValueError(f"horizon must be >= 1, got {horizon}.")
        return check_gamma(gamma, discounted=horizon is None)

    def _validate_mu0(self, mu0):
        S = self._n_states
        if mu0 is None:
            mu = np.full(S, 1.0 / S)
        else:
            mu = _float_array(mu0, "initial_state_distribution")
            if mu.shape != (S,):
                raise ValueError(
                    f"initial_state_distribution must have shape ({S},), got {mu.shape}."
                )
            if not np.all(np.isfinite(mu)) or mu.min() < 0:
                raise ValueError("initial_state_distribution must be finite and non-negative.")
            if abs(mu.sum() - 1.0) > 1e-6:
                raise ValueError(
                    f"initial_state_distribution sums to {mu.sum():.6g}, not 1."
                )
            mu /= mu.sum()
        mu.setflags(write=False)
        return mu

    # -- estimation from logs -----------------------------------------------------------
    @classmethod
    def from_trajectories(
        cls,
        demos,
        n_states,
        n_actions,
        *,
        prior=0.0,
        prior_mean="self_loop",
        gamma=0.99,
        horizon=None,
        initial_state_distribution="demos",
        state_features=None,
        state_action_features=None,
        reward=None,
        sample_weight=None,
        exogenous=None,
    ):
        """Estimate the model from logged trajectories (counts with a Dirichlet prior).

        Each ``P(. | s, a)`` is the posterior mean under a Dirichlet prior of concentration
        ``prior`` centred on ``prior_mean``::

            P(s' | s, a) = (N(s, a, s') + prior * P0(s' | s, a)) / (N(s, a) + prior)

        where ``N`` counts the observed transitions (only trajectories that include their
        final state contribute their last step). ``prior=0`` is the maximum-likelihood (count)
        estimate. **Unseen pairs** (``N(s, a) = 0``) get ``P0(. | s, a)`` exactly, whatever
        ``prior`` is; ``state_action_counts == 0`` marks them. Read more in the
        :ref:`User Guide <own_logs>`.

        Parameters
        ----------
        demos : list of trajectories
            Integer states in ``[0, n_states)`` and actions in ``[0, n_actions)``; any format
            :func:`~sklirl.demos.check_demos` accepts.
        n_states, n_actions : int
            Sizes of the model (states or actions never logged are allowed).
        prior : float, default=0.0
            Dirichlet concentration (pseudo-transitions per pair) on ``prior_mean``; 0 is
            the count estimate on the logged pairs.
        prior_mean : {"self_loop", "pooled", "uniform"}, default="self_loop"
            ``P0``, and so the rule for unseen pairs. ``"self_loop"``: stay in ``s`` (an
            unseen action does nothing). ``"pooled"``: the successors of ``s`` pooled over
            its logged actions (an unseen action does what the logged ones did on average; a
            state never left by a logged step stays put); it lends the logged behaviour to
            the actions not taken, which can explain that behaviour away for IRL.
            ``"uniform"``: any state (dense: small models only). The first two keep the
            model sparse, so models of 10^5 states and more are fine.
        gamma : float, default=0.99
        horizon : int, default=None
            As in the constructor.
        initial_state_distribution : "demos", "uniform" or array-like of shape (S,), \
default="demos"
            ``"demos"``: the (weighted) empirical distribution of the demos' first states.
        state_features, state_action_features, reward : array-like, default=None
            As in the constructor.
        sample_weight : array-like of shape (n_trajectories,), default=None
            Weights of the trajectories in the counts and the start distribution.
        exogenous : int, default=None
            The number ``E`` of values of a part of the state that the actions do not affect
            (prices, weather), with states numbered ``s = c * E + e``. Then
            ``P(c * E + e' | s, a) = Pc(c | s, a) Pe(e' | e)``: the controlled part from the
            ``(s, a)`` counts (``prior`` and the unseen-pair rule apply to it), the
            exogenous part from every logged step of ``e`` alone (its count estimate; values
            never left stay), which needs far fewer logs than the joint counts.

        Returns
        -------
        mdp : TabularMDP
            With ``state_action_counts`` (the ``N(s, a)``) set.

        Examples
        --------
        >>> from sklirl.envs import TabularMDP
        >>> demos = [([0, 1, 1], [1, 0]), ([0, 0], [0])]
        >>> env = TabularMDP.from_trajectories(demos, 2, 2, gamma=0.9)
        >>> env.to_dense()[0].tolist()  # from state 0: action 0 stayed, action 1 moved
        [[1.0, 0.0], [0.0, 1.0]]
        >>> env.state_action_counts.tolist()  # (1, 1) never logged: it stays in 1
        [[1, 1], [1, 0]]
        >>> env.to_dense()[1, 1].tolist()
        [0.0, 1.0]
        """
        from ..demos import check_demos, check_sample_weight

        S = _check_size(n_states, "n_states")
        A = _check_size(n_actions, "n_actions")
        if exogenous is not None:
            exogenous = _check_size(exogenous, "exogenous")
            if S % exogenous:
                raise ValueError(
                    f"exogenous={exogenous} must divide n_states={S} (states are numbered "
                    "s = c * exogenous + e)."
                )
        if (not isinstance(prior, numbers.Real) or isinstance(prior, bool)
                or not np.isfinite(prior) or prior < 0):
            raise ValueError(f"prior must be a finite float >= 0, got {prior!r}.")
        if prior_mean not in ("pooled", "self_loop", "uniform"):
            raise ValueError(
                f"prior_mean must be 'pooled', 'self_loop' or 'uniform', got {prior_mean!r}."
            )
        if prior_mean == "uniform" and S * S * A // (exogenous or 1) > 50_000_000:
            raise ValueError(
                f"prior_mean='uniform' makes a dense model of {S * A} x {S} entries; use "
                "'pooled' or 'self_loop' (sparse) for this many states."
            )
        trajs = check_demos(demos, n_states=S, n_actions=A)
        weights = (np.ones(len(trajs)) if sample_weight is None
                   else check_sample_weight(sample_weight, len(trajs)) * len(trajs))
        # Transition counts N(s, a, s') as a sparse (S * A, S) matrix.
        rows, cols, vals = [], [], []
        for w, t in zip(weights, trajs):
            n = len(t.states) - 1  # steps whose next state is logged
            rows.append(t.states[:n] * A + t.actions[:n])
            cols.append(t.states[1 : n + 1])
            vals.append(np.full(n, w))
        rows, cols, vals = (np.concatenate(x) for x in (rows, cols, vals))
        if exogenous is None:
            P = _dirichlet_rows(rows, cols, vals, S, A, np.arange(S), S, prior, prior_mean)
        else:
            # s = c * E + e: the controlled part c' from the (s, a) counts, the exogenous part
            # e' from every logged step of e alone; P(c', e' | s, a) = Pc(c' | s, a) Pe(e' | e).
            E = exogenous
            Pc = _dirichlet_rows(rows, cols // E, vals, S, A, np.arange(S) // E, S // E, prior,
                                 prior_mean)
            Pe = _dirichlet_rows(rows // A % E, cols % E, vals, E, 1, np.arange(E), E, 0.0,
                                 "self_loop")
            P = _rowwise_kron(Pc, Pe[np.arange(S * A) // A % E])
        n_sa = np.bincount(rows, weights=vals, minlength=S * A)
        if isinstance(initial_state_distribution, str):
            if initial_state_distribution == "demos":
                starts = np.array([t.states[0] for t in trajs], dtype=np.intp)
                mu0 = np.bincount(starts, weights=weights, minlength=S)
                mu0 = mu0 / mu0.sum()
            elif initial_state_distribution == "uniform":
                mu0 = None
            else:
                raise ValueError(
                    "initial_state_distribution must be 'demos', 'uniform' or an array, got "
                    f"{initial_state_distribution!r}."
                )
        else:
            mu0 = initial_state_distribution
        # A TabularMDP whatever cls is: subclasses (the grid worlds) build their own model.
        mdp = TabularMDP(
            P, mu0, gamma=gamma, horizon=horizon, state_features=state_features,
            reward=reward, n_actions=A, state_action_features=state_action_features,
        )
        mdp.state_action_counts = (n_sa.reshape(S, A) if sample_weight is not None
                                   else np.rint(n_sa).astype(np.int64).reshape(S, A))
        return mdp
    def _validate_absorbing(self, state):
        if state is None:
            return None
        if not isinstance(state, numbers.Integral) or isinstance(state, bool):
            raise TypeError(f"absorbing_state must be None or an int, got {type(state).__name__}.")
        S, A = self._n_states, self._n_actions
        if not 0 <= state < S:
            raise ValueError(f"absorbing_state={state} is outside [0, {S}).")
        state = int(state)
        rows = self.transition_matrix[state * A:(state + 1) * A, state]
        stay = np.asarray(rows.todense()).ravel()
        if np.any(np.abs(stay - 1.0) > 1e-6):
            a = int(np.flatnonzero(np.abs(stay - 1.0) > 1e-6)[0])
            raise ValueError(
                f"absorbing_state={state} is not absorbing: action {a} leaves it with "
                f"probability {1 - stay[a]:.6g} (every action must keep it there)."
            )
        return state

    # -- properties --------------------------------------------------------------------
    @property
    def terminal_states(self):
        """States (other than the absorbing one) from which every action reaches it surely."""
        if self.absorbing_state is None:
            return np.zeros(0, dtype=np.intp)
        into = (self.transition_matrix[:, self.absorbing_state].toarray().ravel()
                .reshape(self.n_states, self.n_actions))
        terminal = np.all(np.abs(into - 1.0) <= 1e-6, axis=1)
        terminal[self.absorbing_state] = False
        return np.flatnonzero(terminal)

    @property
    def n_states(self):
        """Number of states S."""
        return self._n_states

    @property
    def n_actions(self):
        """Number of actions A."""
        return self._n_actions

    @property
    def finite_horizon(self):
        """Whether the MDP has a finite horizon."""
        return self.horizon is not None

    def to_dense(self):
        """The transitions as a dense array (a new one; mind the memory for large MDPs).

        Returns
        -------
        P : ndarray of shape (S, A, S)
            ``P[s, a, s']``, the probability of moving to ``s'`` after action ``a`` in ``s``.

        Examples
        --------
        >>> from sklirl.envs import GridWorld
        >>> GridWorld(2).to_dense()[0, 1]  # "right" from the top-left cell
        array([0., 1., 0., 0.])
        """
        return self.transition_matrix.toarray().reshape(self.n_states, self.n_actions, -1)

    def expected_next(self, values):
        """The expected next-state values ``E[values(s') | s, a]`` (one sparse product).

        Parameters
        ----------
        values : ndarray of shape (S,)
            A value per state.

        Returns
        -------
        expected : ndarray of shape (S, A)

        Examples
        --------
        >>> import numpy as np
        >>> from sklirl.envs import GridWorld
        >>> GridWorld(2).expected_next(np.array([0.0, 1.0, 2.0, 3.0]))[0]  # up, right, down, left
        array([0., 1., 2., 0.])
        """
        if np.shape(values) != (self.n_states,):  # the solvers' hot path: shape check only
            raise ValueError(
                f"values must have shape ({self.n_states},), got {np.shape(values)}."
            )
        return (self.transition_matrix @ values).reshape(self.n_states, self.n_actions)

    def with_initial_distribution(self, mu0):
        """A copy of this MDP with another initial state distribution (the model is shared).

        Parameters
        ----------
        mu0 : array-like of shape (S,)
            Non-negative start-state probabilities summing to 1.

        Returns
        -------
        mdp : TabularMDP
            Of the same type; this one is left unchanged.

        Examples
        --------
        >>> from sklirl.envs import GridWorld
        >>> env = GridWorld(2).with_initial_distribution([1.0, 0.0, 0.0, 0.0])
        >>> env.initial_state_distribution.tolist()
        [1.0, 0.0, 0.0, 0.0]
        """
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__["initial_state_distribution"] = new._validate_mu0(mu0)
        return new

    def __repr__(self):
        kind = f"horizon={self.horizon}" if self.finite_horizon else "discounted"
        return (
            f"{type(self).__name__}(n_states={self.n_states}, n_actions={self.n_actions}, "
            f"gamma={self.gamma}, {kind})"
        )


def _dirichlet_rows(rows, cols, vals, S, A, stay, n_next, prior, prior_mean):
    """Rows ``s * A + a`` of ``(N + prior * P0) / (N(s, a) + prior)`` over ``n_next`` values,
    with ``P0`` exactly for unseen pairs; ``stay[s]`` is the value that means "no change"."""
    counts = sp.csr_matrix((vals, (rows, cols)), shape=(S * A, n_next))
    counts.sum_duplicates()
    n_sa = np.asarray(counts.sum(axis=1)).ravel()
    state_of_row = np.repeat(np.arange(S), A)
    if prior_mean == "uniform":
        P0 = sp.csr_matrix(np.full((S * A, n_next), 1.0 / n_next))
    else:
        loops = sp.csr_matrix((np.ones(S), (np.arange(S), stay)), shape=(S, n_next))
        if prior_mean == "self_loop":
            pooled = loops
        else:
            by_state = sp.csr_matrix(
                (np.ones(S * A), (state_of_row, np.arange(S * A))), shape=(S, S * A)
            ) @ counts
            out = np.asarray(by_state.sum(axis=1)).ravel()
            pooled = sp.diags(np.divide(1.0, out, out=np.zeros(S), where=out > 0)) @ by_state
            pooled = pooled + sp.diags((out == 0).astype(np.float64)) @ loops  # never left
        P0 = sp.csr_matrix(pooled)[state_of_row]
    # Unseen pairs take P0 whatever the prior (also for the count estimate, prior = 0).
    alpha = np.where(n_sa > 0, float(prior), 1.0)
    return sp.csr_matrix(sp.diags(1.0 / (n_sa + alpha)) @ (counts + sp.diags(alpha) @ P0))


def _rowwise_kron(X, Y):
    """The row-wise Kronecker product of two CSR matrices with as many rows:
    ``out[r, i * Y.shape[1] + j] = X[r, i] * Y[r, j]``."""
    X, Y = sp.csr_matrix(X), sp.csr_matrix(Y)
    nx, ny = np.diff(X.indptr), np.diff(Y.indptr)
    x_row = np.repeat(np.arange(X.shape[0]), nx)
    reps = ny[x_row]                                   # each X entry meets its row's Y entries
    k = np.repeat(np.arange(X.nnz), reps)
    first = np.repeat(np.cumsum(reps) - reps, reps)
    y = Y.indptr[x_row[k]] + np.arange(len(k)) - first
    return sp.csr_matrix(
        (X.data[k] * Y.data[y], (x_row[k], X.indices[k] * Y.shape[1] + Y.indices[y])),
        shape=(X.shape[0], X.shape[1] * Y.shape[1]),
    )


def _check_size(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return int(value)


def check_tabular_env(env, name="env"):
    """Raise a clear TypeError unless ``env`` is a :class:`TabularMDP`."""
    if not isinstance(env, TabularMDP):
        hint = ""
        if hasattr(env, "observation_space"):
            hint = " Convert a discrete gymnasium env with sklirl.envs.from_gymnasium(env)."
        raise TypeError(f"{name} must be a TabularMDP, got {type(env).__name__}.{hint}")
    return env


def absorbing_and_terminal(env):
    """The model's absorbing state (None if it has none), a mask of its terminal states, and
    a test of whether a state keeps itself under every action (for models without one)."""
    S, A = env.n_states, env.n_actions
    P = env.transition_matrix
    absorbing = getattr(env, "absorbing_state", None)
    terminal = np.zeros(S, dtype=bool)
    if absorbing is not None:
        terminal[env.terminal_states] = True

    def self_absorbing(state):
        stay = np.asarray(P[state * A:(state + 1) * A, state].todense()).ravel()
        return bool(np.all(np.abs(stay - 1.0) <= 1e-6))

    return absorbing, terminal, self_absorbing
