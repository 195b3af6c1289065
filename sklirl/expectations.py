"""Occupancy measures and feature expectations: the one home of this math.

Convention used everywhere (so that ``V_pi = w . rho_pi`` holds exactly): the occupancy
measure is the *unnormalised* discounted visitation

    d(s, a) = sum_t gamma^t P(s_t = s, a_t = a),

summed over t >= 0 for discounted MDPs (total mass ``1 / (1 - gamma)``) and over t < H for
finite-horizon MDPs (mass ``sum_{t<H} gamma^t``, i.e. H when gamma = 1). Feature expectations
are ``rho = sum_{s,a} d(s, a) phi(s, a)``; the empirical ones from demonstrations are the mean
over trajectories of ``sum_t gamma^t phi(s_t, a_t)``.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.parallel import Parallel, delayed

from .demos import _require_actions, check_demos, check_sample_weight, terminal_end
from .envs._policy_flow import state_visitation
from .envs._tabular import absorbing_and_terminal, check_tabular_env
from .features import check_feature_matrix
from .solvers._tabular import TabularPolicy, check_policy
from .utils._doc_link import DocLinkMixin
from .utils._features import observation_features, occupancy_features
from .utils._numeric import as_float_array, check_size
from .utils._resources import check_memory, check_work
from .utils._validation import MAX_SEED, check_gamma

__all__ = [
    "occupancy_measure",
    "occupancy_mass",
    "empirical_occupancy",
    "expert_occupancy",
    "feature_expectations",
    "occupancy_feature_expectations",
    "policy_from_occupancy",
    "ExactExpectation",
    "MonteCarloExpectation",
]

def _policy_probs(policy, env):
    probs = check_policy(policy, env).probs
    if probs.ndim == 3 and not env.finite_horizon:
        raise ValueError("a time-indexed policy (H, S, A) needs a finite-horizon env.")
    if probs.ndim == 3 and probs.shape[0] < env.horizon:
        raise ValueError(f"policy covers {probs.shape[0]} steps; the env horizon is {env.horizon}.")
    return probs


def _check_initial(env, initial_distribution):
    if initial_distribution is None:
        return env.initial_state_distribution
    mu = as_float_array(initial_distribution, "initial_distribution", copy=False)
    if mu.shape != (env.n_states,) or not np.all(np.isfinite(mu)):
        raise ValueError(
            f"initial_distribution must be a finite array of shape ({env.n_states},), got "
            f"{mu.shape}."
        )
    return mu


def occupancy_measure(env, policy, *, initial_distribution=None, per_step=False,
                      init_visitation=None):
    """Exact discounted state-action occupancy measure of a policy.

    Parameters
    ----------
    env : TabularMDP
    policy : TabularPolicy or array-like of shape (S, A) or (H, S, A), or list of TabularPolicy
        A list of K policies gives K occupancy measures stacked on a leading axis; over a
        finite horizon they are computed together, one pass over the transitions per step.
    initial_distribution : array-like of shape (S,), default=None
        Start-state weights; the env's initial distribution when None. The occupancy is
        linear in it, so any (even signed) weights are allowed.
    per_step : bool, default=False
        Finite-horizon MDPs only: return the terms ``gamma^t P(s_t = s, a_t = a)`` of each
        step separately, shape ``(H, S, A)`` (their sum over t is the occupancy).
    init_visitation : array-like of shape (S,), or (K, S) for K policies, default=None
        Discounted MDPs only (ignored for finite horizons): an initial guess of the state
        visitation ``d_S``, e.g. that of a nearby policy. The flow equations are then solved by
        BiCGSTAB started from it (a few dozen sparse products when the guess is close), with
        the direct solve as the fallback; the answer is the same to ~1e-12 relative.

    Returns
    -------
    occupancy : ndarray of shape (S, A), or (H, S, A) with ``per_step=True``
        ``d(s, a) = sum_t gamma^t P(s_t = s, a_t = a)``, unnormalised (see the module notes);
        with a leading axis of K for a list of K policies.

    Notes
    -----
    Discounted MDPs solve the Bellman flow equations
    ``(I - gamma P_pi^T) d_S = mu_0`` with a sparse LU factorisation (an iterative Krylov
    solver above 200,000 states), then ``d(s, a) = d_S(s) pi(a | s)``. Finite-horizon MDPs run
    the forward recursion ``d_{t+1} = P^T (d_t * pi_t)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.expectations import occupancy_measure
    >>> env = GridWorld(3, gamma=0.9)
    >>> d = occupancy_measure(env, np.full((9, 4), 0.25))
    >>> round(float(d.sum()), 8)  # 1 / (1 - gamma)
    10.0
    """
    env = check_tabular_env(env)
    if _is_policy_stack(policy):
        return _occupancy_stack(env, policy, initial_distribution, per_step, init_visitation)
    probs = _policy_probs(policy, env)
    mu0 = _check_initial(env, initial_distribution)
    S, A = env.n_states, env.n_actions
    gamma = env.gamma
    if per_step and not env.finite_horizon:
        raise ValueError("per_step=True needs a finite-horizon env.")
    if env.finite_horizon:
        H = float(env.horizon)
        what = f"occupancy_measure over horizon {env.horizon} (S={S}, A={A})"
        check_work(H * (1e4 + env.transition_matrix.nnz + 4.0 * S * A), what,
                   "Use a shorter horizon, or a discounted env (horizon=None).")
        if per_step:
            check_memory(8.0 * H * S * A, what + " with per_step=True")
        PT = env.transition_matrix.T
        d_s = mu0.copy()
        total = np.zeros((S, A))
        steps = np.empty((env.horizon, S, A)) if per_step else None
        discount = 1.0
        for t in range(env.horizon):
            pi_t = probs if probs.ndim == 2 else probs[t]
            d_sa = d_s[:, None] * pi_t
            total += discount * d_sa
            if per_step:
                steps[t] = discount * d_sa
            if t + 1 < env.horizon:
                d_s = PT @ d_sa.ravel()
            discount *= gamma
        return steps if per_step else total
    if probs.ndim != 2:
        raise ValueError("discounted MDPs need a stationary (S, A) policy.")
    x0 = None
    if init_visitation is not None:
        x0 = np.asarray(init_visitation, dtype=np.float64)
        if x0.shape != (S,) or not np.all(np.isfinite(x0)):
            raise ValueError(
                f"init_visitation must be a finite array of shape ({S},), got {x0.shape}."
            )
    d_s = state_visitation(env, probs, mu0, x0)
    return d_s[:, None] * probs


def _is_policy_stack(policy):
    """Whether ``policy`` is a list or tuple of :class:`TabularPolicy` objects (K policies)."""
    return (isinstance(policy, (list, tuple)) and len(policy) > 0
            and all(isinstance(p, TabularPolicy) for p in policy))


def _occupancy_stack(env, policies, initial_distribution, per_step, init_visitation):
    """Occupancy measures ``(K, S, A)`` (``(K, H, S, A)`` per step) of K policies.

    Finite horizons run the forward recursion for all K at once, one pass over the
    transitions per step; discounted MDPs solve each policy's own flow equations in turn
    (the systems differ per policy).
    """
    K = len(policies)
    if env.finite_horizon:
        mu0 = _check_initial(env, initial_distribution)
        probs = [_policy_probs(p, env) for p in policies]
        S, A, H = env.n_states, env.n_actions, env.horizon
        PT = env.transition_matrix.T
        d_s = np.repeat(mu0[:, None], K, axis=1)
        total = np.zeros((S, A, K))
        steps = np.empty((H, S, A, K)) if per_step else None
        discount = 1.0
        for t in range(H):
            pi_t = np.stack([p if p.ndim == 2 else p[t] for p in probs], axis=-1)
            d_sa = d_s[:, None, :] * pi_t
            total += discount * d_sa
            if per_step:
                steps[t] = discount * d_sa
            if t + 1 < H:
                d_s = PT @ d_sa.reshape(S * A, K)
            discount *= env.gamma
        return np.ascontiguousarray(np.moveaxis(steps if per_step else total, -1, 0))
    if init_visitation is not None:
        x0 = np.asarray(init_visitation, dtype=np.float64)
        if x0.shape != (K, env.n_states):
            raise ValueError(
                f"init_visitation for {K} policies must have shape ({K}, {env.n_states}), got "
                f"{x0.shape}."
            )
    return np.stack([
        occupancy_measure(env, p, initial_distribution=initial_distribution, per_step=per_step,
                          init_visitation=None if init_visitation is None else x0[k])
        for k, p in enumerate(policies)
    ])


def occupancy_mass(env):
    """Total mass of every occupancy measure of ``env``, whatever the policy.

    ``1 / (1 - gamma)`` for discounted MDPs, ``sum_{t<H} gamma^t`` (``H`` when gamma = 1) for
    finite-horizon ones: the normaliser that turns an occupancy into a distribution.

    Parameters
    ----------
    env : TabularMDP

    Returns
    -------
    mass : float

    Examples
    --------
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.expectations import occupancy_mass
    >>> round(occupancy_mass(GridWorld(3, gamma=0.9)), 8)
    10.0
    >>> occupancy_mass(GridWorld(3, gamma=1.0, horizon=4))
    4.0
    """
    env = check_tabular_env(env)
    if env.finite_horizon:
        return float(np.sum(_discounts(env.gamma, env.horizon)))
    return 1.0 / (1.0 - env.gamma)


def policy_from_occupancy(occupancy, fallback=None):
    """The policy ``pi(a|s) = d(s, a) / sum_a d(s, a)`` whose occupancy is ``d``.

    Parameters
    ----------
    occupancy : array-like of shape (S, A), or (H, S, A) per time step
        Non-negative (discounted) state-action visitation.
    fallback : TabularPolicy or array-like of shape (S, A) or (H, S, A), default=None
        The action probabilities in states with zero occupancy; uniform when None.

    Returns
    -------
    policy : TabularPolicy
        Stationary for an ``(S, A)`` occupancy, time-indexed for ``(H, S, A)``.

    Examples
    --------
    >>> from sklirl.expectations import policy_from_occupancy
    >>> policy_from_occupancy([[1.0, 3.0], [0.0, 0.0]]).probs.tolist()
    [[0.25, 0.75], [0.5, 0.5]]
    """
    d = as_float_array(occupancy, "occupancy", copy=False)
    if d.ndim not in (2, 3) or 0 in d.shape or (d < -1e-12).any() or not np.all(np.isfinite(d)):
        raise ValueError("occupancy must be a finite, non-negative (S, A) or (H, S, A) array.")
    d = np.maximum(d, 0.0)
    if fallback is None:
        fallback = np.full_like(d, 1.0 / d.shape[-1])
    else:
        fallback = fallback.probs if isinstance(fallback, TabularPolicy) else np.asarray(fallback)
        fallback = np.broadcast_to(fallback, d.shape)
    mass = d.sum(axis=-1, keepdims=True)
    probs = np.where(mass > 0, d / np.where(mass > 0, mass, 1.0), fallback)
    return TabularPolicy(probs / probs.sum(axis=-1, keepdims=True))


def _discounts(gamma, length):
    return gamma ** np.arange(length, dtype=np.float64)


def empirical_occupancy(demos, n_states, n_actions, gamma, sample_weight=None):
    """Mean discounted state-action visitation counts of demonstrations.

    Parameters
    ----------
    demos : list of trajectories
    n_states, n_actions : int
    gamma : float
    sample_weight : array-like of shape (n_trajectories,), default=None
        Weights of the trajectories in the mean.

    Returns
    -------
    occupancy : ndarray of shape (S, A)
        ``mean_i sum_t gamma^t 1[s_t = s, a_t = a]`` over the T actions of each trajectory.

    Examples
    --------
    >>> from sklirl.expectations import empirical_occupancy
    >>> empirical_occupancy([([0, 1, 1], [1, 0])], 2, 2, gamma=0.5).tolist()
    [[0.0, 1.0], [0.5, 0.0]]
    """
    n_states, n_actions = check_size(n_states, "n_states"), check_size(n_actions, "n_actions")
    trajs = check_demos(demos, n_states=n_states, n_actions=n_actions)
    gamma = check_gamma(gamma)
    weights = check_sample_weight(sample_weight, len(trajs))
    s = np.concatenate([t.states[: len(t)] for t in trajs])
    a = np.concatenate([t.actions for t in trajs])
    w = np.concatenate([wi * _discounts(gamma, len(t)) for wi, t in zip(weights, trajs)])
    counts = np.bincount(s * n_actions + a, weights=w, minlength=n_states * n_actions)
    return counts.reshape(n_states, n_actions)


def expert_occupancy(demos, env, *, sample_weight=None, strict=False,
                     visitation="state_action", check_input=True):
    """The expert's discounted state-action (or state) visitation from demonstrations.

    The one rule every estimator uses for ``rho_E``. Each demonstration becomes a visitation
    of the env's total mass ``M`` (:func:`occupancy_mass`), comparable with the exact
    occupancy of any policy:

    - ``terminal=True`` (the episode ended): its steps ``t < T`` count ``gamma^t``, then the
      episode goes on as the model says after the end: the terminal cell it stopped in
      (actions uniform) for one step and the absorbing state for the rest of the horizon
      (discounted: the remaining mass ``gamma^(T+1) / (1 - gamma)``; finite horizon: up to
      ``H``). Its visitation then has mass ``M`` exactly.
    - ``terminal=False`` (cut: a time limit or the end of logging): its steps count
      ``gamma^t`` and the total is rescaled to ``M``, treating it as a sample of the
      normalised discounted visitation of an episode that went on unseen.

    Steps past a finite horizon are not used. The demonstrations are checked against the
    model (:func:`sklirl.demos.check_demos` with ``env``): impossible transitions, demos
    longer than the horizon and terminal demos that do not end in a terminal state warn.

    With ``visitation="state"`` the same rule gives the state visitation (the sum over
    actions), which needs the states alone: state-only demonstrations
    (``Trajectory(states)``, ``T = len(states) - 1`` steps in ``states[:T]``) are then
    accepted, and a demonstration gives the same state visitation with or without its actions.

    Parameters
    ----------
    demos : list of trajectories
        Tabular demonstrations; with actions unless ``visitation="state"``.
    env : TabularMDP
        Its ``gamma``, ``horizon`` and ``absorbing_state`` (see :ref:`terminal_states`).
    sample_weight : array-like of shape (n_trajectories,), default=None
        Weights of the trajectories in the mean.
    strict : bool, default=False
        Raise ``ValueError`` instead of warning when the demos disagree with the model.
    visitation : {"state_action", "state"}, default="state_action"
        The state-action occupancy ``(S, A)``, or the state visitation ``(S,)``.
    check_input : bool, default=True
        Validate the demos and check them against the model. False is for
        :class:`~sklirl.Trajectory` lists that ``check_demos(demos, env=env)`` already
        checked (an estimator's demos, whose checks ran once in ``fit``).

    Returns
    -------
    occupancy : ndarray of shape (S, A), or (S,) with ``visitation="state"``
        Of total mass ``occupancy_mass(env)``.

    Examples
    --------
    A two-step episode that ends in the terminal cell 1 of a chain ``0 -> 1 -> 2`` (2 is
    absorbing): one step in 0, one in 1, the rest in 2; a cut one is rescaled instead.

    >>> import numpy as np
    >>> from sklirl import Trajectory
    >>> from sklirl.envs import TabularMDP
    >>> from sklirl.expectations import expert_occupancy
    >>> P = np.zeros((3, 1, 3)); P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 2] = 1
    >>> env = TabularMDP(P, gamma=0.5, absorbing_state=2)
    >>> expert_occupancy([Trajectory([0, 1], [0], terminal=True)], env).ravel().tolist()
    [1.0, 0.5, 0.5]
    >>> expert_occupancy([Trajectory([0, 1], [0])], env).ravel().tolist()
    [2.0, 0.0, 0.0]

    The state visitation needs no actions: a state-only demonstration of the same episode.

    >>> expert_occupancy([Trajectory([0, 1, 2], terminal=True)], env,
    ...                  visitation="state").tolist()
    [1.0, 0.5, 0.5]
    """
    if visitation not in ("state_action", "state"):
        raise ValueError(
            f"visitation must be 'state_action' or 'state', got {visitation!r}.")
    states_only = visitation == "state"
    if check_input:
        env = check_tabular_env(env)
        demos = check_demos(demos, env=env, strict=strict, allow_no_actions=True)
        if not states_only:
            _require_actions(demos, "expert_occupancy",
                             "the state-action visitation needs them (visitation='state' gives "
                             "the state visitation from states alone)")
    weights = check_sample_weight(sample_weight, len(demos))
    return _expert_occupancy(demos, env, weights, states_only)


def _expert_occupancy(trajs, env, weights, states_only=False):
    """:func:`expert_occupancy` of validated, model-checked trajectories and weights
    (``states_only``: the state visitation ``(S,)``, actions unused)."""
    S, A, gamma = env.n_states, (1 if states_only else env.n_actions), env.gamma
    mass = occupancy_mass(env)
    H = env.horizon

    def discounted(t0, t1):  # sum_{t0 <= t < t1} gamma^t (t1 = None: to infinity)
        if t1 is None:
            return gamma ** t0 / (1.0 - gamma)
        return float(np.sum(_discounts(gamma, t1)[t0:])) if t1 > t0 else 0.0

    absorbing, terminal, self_absorbing = absorbing_and_terminal(env)
    rows, values = [], []
    for w, t in zip(weights, trajs):
        T = len(t) if H is None else min(len(t), H)
        steps = t.states[:T] if states_only else t.states[:T] * A + t.actions[:T]
        counts = _discounts(gamma, T)
        end = terminal_end(t, absorbing, terminal, self_absorbing) if t.terminal else None
        if end is not None and (H is None or T < H):
            cell, sink = end
            rest = []
            if cell is not None:
                rest.append((cell, discounted(T, T + 1 if H is None else min(T + 1, H))))
                T += 1
            rest.append((sink, discounted(T, H)))
            for state, m in rest:
                steps = np.r_[steps, state * A + np.arange(A)]
                counts = np.r_[counts, np.full(A, m / A)]
            scale = 1.0
        else:
            total = counts.sum()
            scale = mass / total if total > 0 else 0.0
        rows.append(steps)
        values.append(counts * (w * scale))
    occ = np.bincount(np.concatenate(rows), weights=np.concatenate(values), minlength=S * A)
    return occ if states_only else occ.reshape(S, A)


def occupancy_feature_expectations(occupancy, phi):
    """Feature expectations ``rho = sum_{s,a} d(s, a) phi(s, a)`` of an occupancy measure.

    Parameters
    ----------
    occupancy : ndarray of shape (S, A)
    phi : ndarray or sparse matrix of shape (S, k), (S * A, k), or ndarray (S, A, k)
        State features (the reward depends on the state only), or state-action features.

    Returns
    -------
    rho : ndarray of shape (k,)

    Examples
    --------
    With ``V_pi = w . rho_pi``: the value of a policy under a linear reward ``w . phi`` is
    the dot product of ``w`` with its feature expectations.

    >>> import numpy as np
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.expectations import occupancy_feature_expectations, occupancy_measure
    >>> env = GridWorld(3, gamma=0.9)
    >>> d = occupancy_measure(env, np.full((9, 4), 0.25))
    >>> occupancy_feature_expectations(d, env.state_features)  # (row, col) features
    array([10., 10.])
    >>> rho = occupancy_feature_expectations(d, np.eye(9))  # one-hot: the state visitation
    >>> np.allclose(rho, d.sum(axis=1)), round(float(rho.sum()), 6)  # mass 1 / (1 - gamma)
    (True, 10.0)
    """
    d = np.asarray(occupancy)
    if d.dtype.kind not in "biuf" or d.ndim != 2 or 0 in d.shape:
        raise ValueError(
            f"occupancy must be a numeric (S, A) array, got shape {d.shape} and dtype {d.dtype}."
        )
    d = d.astype(np.float64, copy=False)
    if not np.all(np.isfinite(d)):
        raise ValueError("occupancy contains NaN or infinite values.")
    phi = check_feature_matrix(phi, *d.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        rho = occupancy_features(d, phi)
    if not np.all(np.isfinite(rho)):
        raise ValueError(
            f"the feature expectations overflow float64 (occupancy up to {np.abs(d).max():.3g}, "
            "features up to "
            f"{abs(phi).max():.3g}); rescale the features or the occupancy."
        )
    return rho


def feature_expectations(demos, features, gamma=None, *, env=None, n_actions=None,
                         sample_weight=None):
    """Empirical discounted feature expectations of demonstrations.

    With ``env`` (a :class:`~sklirl.envs.TabularMDP`) they are the features of the
    estimators' expert visitation, :func:`expert_occupancy`: terminated demonstrations go on
    in the absorbing state, cut ones are rescaled to the env's mass (see
    :ref:`terminal_states`). Without it, each demonstration's own steps are summed.

    Parameters
    ----------
    demos : list of trajectories
        Tabular (integer state and action) demonstrations, or, with an observation feature
        map, demonstrations whose states are observations ``(T + 1, *obs_shape)``.
    features : ndarray or sparse matrix of shape (S, k) or (S * A, k), ndarray (S, A, k), \
fitted transformer or callable
        The feature matrix, one row per state (or state-action, row ``s * A + a``); or a
        fitted transformer (``transform``) or callable mapping observations ``(n, obs_dim)``
        to features ``(n, k)`` (gymnasium demonstrations).
    gamma : float, default=None
        Discount factor; required without ``env`` (with it, ``env.gamma``).
    env : TabularMDP, default=None
        Use :func:`expert_occupancy` in this env (feature matrices only). State features
        ``(S, k)`` then need only the state visitation, so state-only demonstrations are
        accepted.
    n_actions : int, default=None
        Give it for state-action features of shape ``(S * A, k)``; leave it None for state
        features of shape ``(S, k)``.
    sample_weight : array-like of shape (n_trajectories,), default=None

    Returns
    -------
    rho : ndarray of shape (k,)
        ``mean_i sum_t gamma^t phi(s_t, a_t)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.expectations import feature_expectations
    >>> phi = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> feature_expectations([([0, 1, 1], [0, 0])], phi, gamma=0.5)
    array([1. , 0.5])
    """
    if env is not None:
        env = check_tabular_env(env)
        if gamma is not None and check_gamma(gamma) != env.gamma:
            raise ValueError(f"gamma={gamma} differs from env.gamma={env.gamma}; leave it None.")
        if _is_observation_map(features):
            raise TypeError("with env=, features must be a feature matrix of the env's states.")
        features = check_feature_matrix(features, env.n_states, env.n_actions)
        if features.ndim == 2 and features.shape[0] == env.n_states:  # the states suffice
            visits = expert_occupancy(demos, env, sample_weight=sample_weight,
                                      visitation="state")
            return occupancy_features(visits[:, None], features)
        occ = expert_occupancy(demos, env, sample_weight=sample_weight)
        return occupancy_features(occ, features)
    if gamma is None:
        raise TypeError("feature_expectations needs gamma (or env=).")
    if _is_observation_map(features):
        trajs = check_demos(demos)
        weights = check_sample_weight(sample_weight, len(trajs))
        gamma = check_gamma(gamma)
        rhos = [
            _discounted_feature_sum(features, t.states[: len(t)], gamma, f"trajectory {i}")
            for i, t in enumerate(trajs)
        ]
        return weights @ np.asarray(rhos)
    features = check_feature_matrix(features)
    if features.ndim == 3:
        S, A = features.shape[:2]
    elif n_actions is None:  # state features: the actions only need to be valid indices
        S = features.shape[0]
        trajs = check_demos(demos, n_states=S)
        lowest = min(int(np.min(t.actions)) for t in trajs)
        if lowest < 0:
            raise ValueError(f"demos contain action {lowest}; actions must be >= 0.")
        A = int(max(np.max(t.actions) for t in trajs)) + 1
    else:
        if not isinstance(n_actions, Integral) or isinstance(n_actions, bool):
            raise TypeError(f"n_actions must be an int, got {n_actions!r}.")
        A = int(n_actions)
        if A < 1 or features.shape[0] % A:
            raise ValueError(
                f"state-action features need S * A rows; {features.shape[0]} rows is not a "
                f"multiple of n_actions={A}."
            )
        S = features.shape[0] // A
    occ = empirical_occupancy(demos, S, A, gamma, sample_weight)
    return occupancy_features(occ, features)


def _is_observation_map(features):
    """Whether ``features`` maps observations (a transformer or callable), not a matrix."""
    return hasattr(features, "transform") or (
        callable(features) and not sp.issparse(features) and not hasattr(features, "shape")
    )


def _discounted_feature_sum(features, observations, gamma, where="observations"):
    """``sum_t gamma^t phi(o_t)`` over the observations of one episode."""
    phi = observation_features(features, observations, where)
    return _discounts(gamma, len(phi)) @ phi


class _Expectation(DocLinkMixin, BaseEstimator):
    """Base of the expectation estimators: occupancy, then features dotted with it."""

    def feature_expectations(self, env, policy, features):
        """Feature expectations ``rho_pi`` of ``policy`` in ``env`` for a feature matrix."""
        return occupancy_feature_expectations(self.occupancy(env, policy), features)


class ExactExpectation(_Expectation):
    """Exact occupancy measures and feature expectations of tabular policies.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.expectations import ExactExpectation
    >>> env = GridWorld(3, gamma=0.9)
    >>> ExactExpectation().occupancy(env, np.full((9, 4), 0.25)).shape
    (9, 4)
    """

    def occupancy(self, env, policy):
        """The exact occupancy measure ``(S, A)`` (see :func:`occupancy_measure`).

        Parameters
        ----------
        env : TabularMDP
        policy : TabularPolicy or array-like of shape (S, A) or (H, S, A)

        Returns
        -------
        occupancy : ndarray of shape (S, A)
            Discounted state-action visitation from t = 0, of total mass ``1 / (1 - gamma)``
            (discounted) or ``H`` (finite horizon).
        """
        return occupancy_measure(env, policy)


# Tabular rollouts: episodes per independently seeded block (bounds the memory of one block).
_MC_BLOCK = 1000
# Gymnasium rollouts: the episodes are split into independently seeded blocks of at least
# _MC_GYM_MIN_BLOCK episodes, at most _MC_GYM_MAX_BLOCKS of them, shared out among the n_jobs
# workers. Each block costs one policy call per step (about 0.1 ms for a small torch MLP,
# against about 0.01 ms per episode for a CartPole step), hence the minimum size.
_MC_GYM_MIN_BLOCK = 50
_MC_GYM_MAX_BLOCKS = 16


def _mc_block_feature_sums(env, policy, features, blocks, horizon, gamma):
    """``sum_t gamma^t phi(o_t)`` of every episode of ``blocks``, shape (n_episodes, k)."""
    from ._rollouts import gym_rollout_blocks  # gymnasium is an optional extra

    episodes = gym_rollout_blocks(env, policy, blocks, horizon)
    return np.array(
        [_discounted_feature_sum(features, obs, gamma, "rollout observations")
         for obs, _ in episodes]
    )


def _mc_block_occupancy(env, policy, n_episodes, horizon, seed):
    from .datasets import sample_trajectories

    trajs = sample_trajectories(env, policy, n_episodes, horizon=horizon, random_state=seed)
    return empirical_occupancy(trajs, env.n_states, env.n_actions, env.gamma)


class MonteCarloExpectation(_Expectation):
    """Monte Carlo occupancy and feature expectations from simulated rollouts.

    Works on tabular MDPs (occupancy measures) and on gymnasium environments (feature
    expectations of observation features, see :meth:`feature_expectations`).

    Parameters
    ----------
    n_episodes : int, default=100
        Number of rollouts.
    horizon : int, default=None
        Rollout length. None uses the env's horizon, or for discounted MDPs (and gymnasium
        envs) the smallest H with ``gamma^H < 1e-3`` (the truncation bias is then below 0.1%
        of the mass). Gymnasium episodes also end when terminated or truncated.
    random_state : int, RandomState instance or None, default=None
    n_jobs : int, default=None
        Number of joblib workers for the rollouts in gymnasium environments (``-1``: all
        cores; None: 1 unless in a ``joblib.parallel_config`` context). The episodes are
        split into ``min(16, max(1, n_episodes // 50))`` blocks, each seeded from
        ``random_state`` and batched on its own (one policy call per block and step), and
        the workers share the blocks out: the estimate is the same, bit for bit, for every
        ``n_jobs`` and backend, and at most that many workers are used (2 for the default
        100 episodes). Gymnasium stepping is Python code that holds the GIL, so the blocks
        run in processes (joblib's default ``loky`` backend, or the backend of an enclosing
        ``joblib.parallel_config``: Dask, Ray, ...); threads do not speed it up. 2000
        CartPole episodes took 6.7 s of CPU serially and 3.7 s and 3.8 s in each of two
        worker processes. A process pool costs about a second to start and the env and
        policy are pickled to it, so ``n_jobs > 1`` pays for rollouts that take seconds.
        Tabular rollouts ignore ``n_jobs`` and run in the calling process: they are
        vectorised numpy over all episodes at once, and workers made them slower (8000
        episodes on ``GridWorld(32)``, 2 workers: serial 2.4 s, threads 2.6 s, processes
        2.6 s).

    Notes
    -----
    Each coordinate of the estimate is a mean of ``n_episodes`` i.i.d. discounted returns
    bounded by ``max|phi| * sum_t gamma^t``, so by Hoeffding's inequality it is within
    ``max|phi| * sum_t gamma^t * sqrt(log(2 / delta) / (2 n))`` of the truncated exact value
    with probability 1 - delta.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.expectations import MonteCarloExpectation
    >>> env = GridWorld(3, gamma=0.9)
    >>> mc = MonteCarloExpectation(n_episodes=50, random_state=0)
    >>> d = mc.occupancy(env, np.full((9, 4), 0.25))
    >>> d.shape
    (9, 4)
    """

    _parameter_constraints: dict = {
        "n_episodes": [Interval(Integral, 1, None, closed="left")],
        "horizon": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(self, n_episodes=100, horizon=None, random_state=None, n_jobs=None):
        self.n_episodes = n_episodes
        self.horizon = horizon
        self.random_state = random_state
        self.n_jobs = n_jobs

    def rollout_horizon(self, env, gamma=None):
        """The rollout length used for ``env`` (discount ``gamma``, default ``env.gamma``).

        Parameters
        ----------
        env : TabularMDP or gymnasium.Env
        gamma : float, default=None
            Discount; ``env.gamma`` when None.

        Returns
        -------
        horizon : int
            ``self.horizon`` if set, else the env's finite horizon, else the first ``T`` with
            ``gamma ** T <= 1e-3``.
        """
        env_horizon = getattr(env, "horizon", None)
        if self.horizon is not None:
            if env_horizon is not None and self.horizon > env_horizon:
                raise ValueError(
                    f"MonteCarloExpectation(horizon={self.horizon}) is longer than the env's "
                    f"finite horizon {env_horizon}: rollouts past it are not part of the problem "
                    "(leave horizon=None to use the env's)."
                )
            return int(self.horizon)
        if env_horizon is not None:
            return int(env_horizon)
        gamma = env.gamma if gamma is None else gamma
        horizon = 1 if gamma == 0 else float(np.ceil(np.log(1e-3) / np.log(gamma)))
        # Each rollout step costs a Python-level step (~1e4 operations) and 16 bytes a state-
        # action per episode: at gamma = 1 - 1e-15 this is 6.9e15 steps, 49 PiB.
        what = (f"MonteCarloExpectation(n_episodes={self.n_episodes}) rollouts of "
                f"{horizon:.3g} steps (the first T with gamma^T <= 1e-3 at gamma={gamma!r})")
        hint = "Set horizon= to truncate the rollouts, or use ExactExpectation."
        check_work(horizon * (1e4 + self.n_episodes), what, hint)
        check_memory(16.0 * horizon * self.n_episodes, what, hint)
        return int(horizon)

    def feature_expectations(self, env, policy, features, *, gamma=None):
        """Feature expectations ``rho_pi`` of ``policy`` in ``env``.

        Parameters
        ----------
        env : TabularMDP or gymnasium.Env
            A gymnasium env is deep-copied for the rollouts, never stepped itself.
        policy : policy
            Tabular envs: a :class:`~sklirl.policies.TabularPolicy` or an ``(S, A)`` array.
            Gymnasium envs: an object with ``sample(observations, random_state)`` (such as
            :class:`~sklirl.solvers.TorchPolicy`) or ``predict(observations,
            deterministic=False)``; one with ``sample_component(random_state)`` (the
            per-episode mixture ``MaxMarginIRL.policy_``) draws a component per episode.
        features : feature matrix, fitted transformer or callable
            Tabular envs: the ``(S, k)`` or ``(S * A, k)`` matrix. Gymnasium envs: a fitted
            transformer or callable mapping observations ``(n, obs_dim)`` to ``(n, k)``.
        gamma : float, default=None
            Discount of the gymnasium rollouts; ``env.gamma`` when None (required if the env
            has no ``gamma`` attribute, as gymnasium envs do not). Tabular envs use
            ``env.gamma``.

        Returns
        -------
        rho : ndarray of shape (k,)
            Tabular envs: from the Monte Carlo occupancy. Gymnasium envs: the mean over
            ``n_episodes`` episodes of ``sum_t gamma^t phi(o_t)``, ``t`` up to the end of the
            episode (terminated or truncated) or ``rollout_horizon`` steps.
        """
        from .base import is_tabular_env

        if is_tabular_env(env):
            return super().feature_expectations(env, policy, features)
        self._validate_params()
        if gamma is None:
            gamma = getattr(env, "gamma", None)
            if gamma is None:
                raise ValueError(
                    "gymnasium envs have no discount: pass gamma= to feature_expectations."
                )
        gamma = check_gamma(gamma)
        if not _is_observation_map(features):
            raise TypeError(
                "features must be a fitted transformer or a callable on observations for "
                f"gymnasium envs, got {type(features).__name__}."
            )
        if not (hasattr(policy, "sample") or hasattr(policy, "predict")):
            raise TypeError(
                "policy must have sample(observations, random_state) or predict(observations,"
                f" deterministic=False), got {type(policy).__name__}."
            )
        rng = check_random_state(self.random_state)
        horizon = self.rollout_horizon(env, gamma)
        # Blocks of episodes with seeds fixed up front, independent of n_jobs: each worker
        # runs a contiguous share of them and returns every episode's discounted feature sum,
        # so the mean below sees the same numbers in the same order for any n_jobs.
        n_blocks = int(np.clip(self.n_episodes // _MC_GYM_MIN_BLOCK, 1, _MC_GYM_MAX_BLOCKS))
        base, extra = divmod(self.n_episodes, n_blocks)
        seeds = rng.randint(MAX_SEED, size=n_blocks)
        blocks = [(base + (b < extra), int(seed)) for b, seed in enumerate(seeds)]
        n_workers = min(effective_n_jobs(self.n_jobs), n_blocks)
        if n_workers == 1:
            sums = _mc_block_feature_sums(env, policy, features, blocks, horizon, gamma)
        else:
            shares = np.array_split(np.arange(n_blocks), n_workers)
            sums = np.concatenate(Parallel(n_jobs=n_workers, prefer="processes")(
                delayed(_mc_block_feature_sums)(
                    env, policy, features, [blocks[b] for b in share], horizon, gamma
                )
                for share in shares
            ))
        return sums.mean(axis=0)

    def occupancy(self, env, policy):
        """Empirical discounted occupancy ``(S, A)`` from ``n_episodes`` rollouts.

        Parameters
        ----------
        env : TabularMDP
        policy : TabularPolicy or array-like of shape (S, A) or (H, S, A)

        Returns
        -------
        occupancy : ndarray of shape (S, A)
            Mean over the episodes of ``sum_t gamma^t 1[s_t = s, a_t = a]``, truncated at
            :meth:`rollout_horizon` steps.
        """
        from .datasets import sample_trajectories

        self._validate_params()
        env = check_tabular_env(env)
        rng = check_random_state(self.random_state)
        horizon = self.rollout_horizon(env)
        n = self.n_episodes
        if n <= _MC_BLOCK:
            trajs = sample_trajectories(env, policy, n, horizon=horizon, random_state=rng)
            return empirical_occupancy(trajs, env.n_states, env.n_actions, env.gamma)
        # Serial blocks of episodes with seeds fixed up front (n_jobs is not used: the
        # sampling is vectorised numpy that workers do not speed up, see n_jobs above).
        sizes = np.full(n // _MC_BLOCK, _MC_BLOCK)
        if n % _MC_BLOCK:
            sizes = np.r_[sizes, n % _MC_BLOCK]
        seeds = rng.randint(MAX_SEED, size=len(sizes))
        blocks = [_mc_block_occupancy(env, policy, int(size), horizon, seed)
                  for size, seed in zip(sizes, seeds)]
        return sum(size * occ for size, occ in zip(sizes, blocks)) / n
