"""Tabular planners: (hard) value iteration and soft (maximum-entropy) value iteration.

This module is the one home of the Bellman backups. Rewards are per state ``(S,)`` or per
state-action ``(S, A)``; transitions are the env's sparse ``(S * A, S)`` matrix, so a sweep is
one sparse matrix-vector product plus a row-wise (log-sum-)max over actions.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from ..envs._tabular import as_state_action_reward, check_tabular_env

__all__ = [
    "TabularPolicy",
    "ValueIteration",
    "SoftValueIteration",
    "soft_bellman_backup",
    "soft_value_iteration",
    "value_iteration",
]


# ---------------------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------------------
class TabularPolicy:
    """A stochastic policy over a finite MDP, stationary or time-indexed.

    Parameters
    ----------
    probs : array-like of shape (S, A) or (H, S, A), default=None
        Action probabilities; rows must sum to 1. Time-indexed for finite horizons.
    log_probs : array-like of the same shape, default=None
        Log-probabilities (more accurate for near-deterministic soft policies). Give
        exactly one of ``probs`` and ``log_probs``.

    Attributes
    ----------
    probs : ndarray of shape (S, A) or (H, S, A)
    log_probs : ndarray of the same shape
    n_states, n_actions : int
    horizon : int or None
        H for time-indexed policies.
    q_values, values : ndarray or None
        The Q and V of the planner that produced the policy, when it came from one.
    n_iter : int or None
        Planner sweeps used.

    Examples
    --------
    >>> from sklirl.solvers import TabularPolicy
    >>> pi = TabularPolicy([[0.9, 0.1], [0.2, 0.8]])
    >>> pi.predict([0, 1]).tolist()
    [0, 1]
    """

    def __init__(self, probs=None, log_probs=None):
        if (probs is None) == (log_probs is None):
            raise ValueError("give exactly one of probs and log_probs.")
        if log_probs is not None:
            lp = np.array(log_probs, dtype=np.float64)
            if np.isnan(lp).any() or (lp > 1e-9).any():
                raise ValueError("log_probs must be <= 0 and not NaN.")
            p = np.exp(lp)
        else:
            p = np.array(probs, dtype=np.float64)
            if not np.all(np.isfinite(p)) or (p < 0).any():
                raise ValueError("policy probabilities must be finite and non-negative.")
            with np.errstate(divide="ignore"):
                lp = np.log(p)
        if p.ndim not in (2, 3) or 0 in p.shape:
            raise ValueError(f"policy probabilities must have shape (S, A) or (H, S, A), got {p.shape}.")
        sums = p.sum(axis=-1)
        if np.abs(sums - 1).max() > 1e-6:
            idx = np.unravel_index(np.abs(sums - 1).argmax(), sums.shape)
            raise ValueError(f"policy probabilities at {idx} sum to {sums[idx]:.6g}, not 1.")
        p.setflags(write=False)
        lp.setflags(write=False)
        self.probs = p
        self.log_probs = lp
        self.q_values = None
        self.values = None
        self.n_iter = None

    @property
    def n_states(self):
        return self.probs.shape[-2]

    @property
    def n_actions(self):
        return self.probs.shape[-1]

    @property
    def horizon(self):
        return self.probs.shape[0] if self.probs.ndim == 3 else None

    def _check_states(self, states):
        s = np.asarray(states)
        if s.dtype.kind == "f":
            if not np.all(np.isfinite(s)) or np.any(s != np.round(s)):
                raise ValueError("states must be integer state indices.")
            s = s.astype(np.intp)
        elif s.dtype.kind not in "iu":
            raise TypeError(f"states must be integer state indices, got dtype {s.dtype}.")
        if s.ndim == 2 and s.shape[1] == 1:
            s = s[:, 0]
        if s.ndim != 1:
            raise ValueError(f"states must be a 1-D array of state indices, got shape {s.shape}.")
        bad = (s < 0) | (s >= self.n_states)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"states[{i}] = {s[i]} is outside [0, {self.n_states})."
            )
        return s

    def _table(self, table, states, t):
        s = self._check_states(states)
        if table.ndim == 2:
            return table[s]
        t = np.zeros(len(s), dtype=np.intp) if t is None else np.broadcast_to(t, s.shape)
        t = np.minimum(np.asarray(t, dtype=np.intp), table.shape[0] - 1)
        return table[t, s]

    def predict_proba(self, states, t=None):
        """Action probabilities ``(n, A)`` in ``states`` (at time step ``t``, default 0)."""
        return self._table(self.probs, states, t)

    def predict_log_proba(self, states, t=None):
        """Log action probabilities ``(n, A)``."""
        return self._table(self.log_probs, states, t)

    def predict(self, states, t=None):
        """Most probable action in each state."""
        return self.predict_proba(states, t).argmax(axis=1)

    def log_prob(self, states, actions, t=None):
        """Log-probability ``(n,)`` of taking ``actions`` in ``states``."""
        lp = self.predict_log_proba(states, t)
        a = np.asarray(actions)
        if a.shape != (lp.shape[0],) or a.dtype.kind not in "iu":
            raise ValueError(f"actions must be {lp.shape[0]} integer indices, got {a.shape}.")
        if ((a < 0) | (a >= self.n_actions)).any():
            raise ValueError(f"actions must be in [0, {self.n_actions}).")
        return lp[np.arange(len(a)), a]

    def sample(self, states, t=None, random_state=None):
        """Sample one action per state (vectorised inverse-CDF sampling)."""
        rng = check_random_state(random_state)
        return sample_categorical(self.predict_proba(states, t), rng)

    def at(self, t):
        """The ``(S, A)`` action probabilities at time step ``t`` (stationary: always the same)."""
        return self.probs if self.probs.ndim == 2 else self.probs[min(t, self.probs.shape[0] - 1)]

    def __repr__(self):
        h = "" if self.horizon is None else f", horizon={self.horizon}"
        return f"TabularPolicy(n_states={self.n_states}, n_actions={self.n_actions}{h})"


def sample_categorical(probs, rng):
    """One sample per row of ``probs`` (n, k) by inverse CDF, without Python loops."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random_sample(len(probs)) * cdf[:, -1]
    return np.minimum((cdf <= u[:, None]).sum(axis=1), probs.shape[1] - 1)


# ---------------------------------------------------------------------------------------
# Bellman backups
# ---------------------------------------------------------------------------------------
def _row_max(q):
    """Row-wise max of an (S, A) array, column by column (numpy's axis=1 reduction over a
    short last axis is several times slower at large S)."""
    m = q[:, 0].copy()
    for a in range(1, q.shape[1]):
        np.maximum(m, q[:, a], out=m)
    return m


def _softmax_values(q, temperature):
    """Row-wise ``temperature * logsumexp(q / temperature)``, computed stably."""
    m = _row_max(q)
    total = np.zeros_like(m)
    z = np.empty_like(m)
    scale = 1.0 / temperature
    for a in range(q.shape[1]):
        np.subtract(q[:, a], m, out=z)
        if scale != 1.0:
            z *= scale
        np.exp(z, out=z)
        total += z
    np.log(total, out=total)
    if temperature != 1.0:
        total *= temperature
    total += m
    return total


def _q_values(env, reward_sa, next_values, discount):
    next_values = next_values * discount if discount != 1.0 else next_values
    q = env.expected_next(next_values)
    q += reward_sa
    return q


def soft_bellman_backup(env, reward, values, temperature=1.0):
    """One soft Bellman sweep: ``Q = r + gamma P V`` and ``V' = temperature * logsumexp(Q / temperature)``.

    Parameters
    ----------
    env : TabularMDP
    reward : ndarray of shape (S,) or (S, A)
    values : ndarray of shape (S,)
    temperature : float, default=1.0

    Returns
    -------
    q : ndarray of shape (S, A)
    new_values : ndarray of shape (S,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.solvers import soft_bellman_backup
    >>> env = GridWorld(3, gamma=0.9)
    >>> q, v = soft_bellman_backup(env, env.reward, np.zeros(9))
    >>> np.allclose(v, env.reward + np.log(4))
    True
    """
    r = as_state_action_reward(reward, env.n_states, env.n_actions)
    q = _q_values(env, r, np.asarray(values, dtype=np.float64), env.gamma)
    return q, _softmax_values(q, temperature)


def _iterate(env, reward, backup, tol, max_iter, init_values, name):
    """Run ``backup`` to a fixed point (discounted) or backwards over the horizon (finite)."""
    S = env.n_states
    gamma = env.gamma
    if env.finite_horizon:
        H = env.horizon
        Q = np.empty((H, S, env.n_actions))
        V = np.zeros((H + 1, S))
        for t in range(H - 1, -1, -1):
            Q[t] = _q_values(env, reward, V[t + 1], gamma)
            V[t] = backup(Q[t])
        return Q, V, H
    V = np.zeros(S) if init_values is None else np.array(init_values, dtype=np.float64)
    if V.shape != (S,) or not np.all(np.isfinite(V)):
        raise ValueError(f"init_values must be a finite array of shape ({S},).")
    # Stop when the sup-norm change guarantees |V - V*| <= tol.
    threshold = tol * (1 - gamma) / max(gamma, 1e-12)
    for it in range(1, max_iter + 1):
        Q = _q_values(env, reward, V, gamma)
        V_new = backup(Q)
        delta = np.max(np.abs(V_new - V))
        V = V_new
        if not np.isfinite(delta):
            raise FloatingPointError(f"{name} diverged (non-finite values); check the reward scale.")
        if delta <= threshold:
            break
    else:
        warnings.warn(
            f"{name} did not converge in max_iter={max_iter} sweeps (last change {delta:.3g} > "
            f"{threshold:.3g}); increase max_iter or tol, or lower gamma.",
            ConvergenceWarning,
            stacklevel=3,
        )
    Q = _q_values(env, reward, V, gamma)
    return Q, V, it


def soft_value_iteration(env, reward, temperature=1.0, tol=1e-10, max_iter=100_000, init_values=None):
    """Soft (maximum-entropy) value iteration.

    Solves ``V(s) = temperature * log sum_a exp(Q(s, a) / temperature)`` with
    ``Q(s, a) = r(s, a) + gamma * E[V(s') | s, a]``, backwards over the horizon for finite-horizon
    MDPs. The soft-optimal policy is ``pi(a | s) = exp((Q(s, a) - V(s)) / temperature)``.

    Parameters
    ----------
    env : TabularMDP
    reward : ndarray of shape (S,) or (S, A)
    temperature : float, default=1.0
    tol : float, default=1e-10
        Discounted case: stop when the values are within ``tol`` of the fixed point.
    max_iter : int, default=100_000
    init_values : ndarray of shape (S,), default=None
        Warm start for the discounted case.

    Returns
    -------
    q : ndarray of shape (S, A) or (H, S, A)
    values : ndarray of shape (S,) or (H + 1, S)
    n_iter : int
    """
    env = check_tabular_env(env)
    r = as_state_action_reward(reward, env.n_states, env.n_actions)
    return _iterate(
        env, r, lambda q: _softmax_values(q, temperature), tol, max_iter, init_values,
        "soft value iteration",
    )


def value_iteration(env, reward, tol=1e-10, max_iter=100_000, init_values=None):
    """Value iteration with the hard Bellman max; same conventions as :func:`soft_value_iteration`."""
    env = check_tabular_env(env)
    r = as_state_action_reward(reward, env.n_states, env.n_actions)
    return _iterate(env, r, _row_max, tol, max_iter, init_values, "value iteration")


def _soft_policy(Q, V, temperature):
    Vt = V[: Q.shape[0], :, None] if Q.ndim == 3 else V[:, None]
    log_probs = (Q - Vt) / temperature
    log_probs = np.minimum(log_probs, 0.0)
    # Renormalise in the log domain so rows sum to 1 to machine precision.
    log_probs -= np.log(np.exp(log_probs).sum(axis=-1, keepdims=True))
    return TabularPolicy(log_probs=log_probs)


def _greedy_policy(Q):
    best = Q.argmax(axis=-1)
    probs = np.zeros_like(Q)
    np.put_along_axis(probs, best[..., None], 1.0, axis=-1)
    return TabularPolicy(probs)


class _TabularSolver(BaseEstimator):
    _parameter_constraints: dict = {
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def solve(self, env, reward, *, init_values=None):
        """Plan in ``env`` for ``reward`` and return the resulting :class:`TabularPolicy`.

        Parameters
        ----------
        env : TabularMDP
        reward : ndarray of shape (S,) or (S, A)
        init_values : ndarray of shape (S,), default=None
            Warm start (discounted MDPs), e.g. the values of the previous IRL iteration.

        Returns
        -------
        policy : TabularPolicy
            With ``q_values``, ``values`` and ``n_iter`` set.
        """
        self._validate_params()
        Q, V, n_iter = self._plan(env, reward, init_values)
        policy = self._policy(Q, V)
        policy.q_values, policy.values, policy.n_iter = Q, V, n_iter
        return policy


class ValueIteration(_TabularSolver):
    """Value iteration: the greedy optimal policy for a reward.

    Parameters
    ----------
    tol : float, default=1e-10
        Stop when values are within ``tol`` of the optimum (discounted MDPs).
    max_iter : int, default=100_000
        Maximum sweeps; a ``ConvergenceWarning`` is raised when reached.

    Examples
    --------
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.solvers import ValueIteration
    >>> env = GridWorld(3, gamma=0.9)
    >>> policy = ValueIteration().solve(env, env.reward)
    >>> policy.predict([0, 8]).tolist()  # move right/down toward the goal in the corner
    [1, 1]
    """

    def __init__(self, tol=1e-10, max_iter=100_000):
        self.tol = tol
        self.max_iter = max_iter

    def _plan(self, env, reward, init_values):
        return value_iteration(env, reward, self.tol, self.max_iter, init_values)

    def _policy(self, Q, V):
        return _greedy_policy(Q)


class SoftValueIteration(_TabularSolver):
    """Soft value iteration: the maximum-entropy (soft-optimal) policy for a reward.

    Parameters
    ----------
    temperature : float, default=1.0
        Entropy weight; the policy is ``exp((Q - V) / temperature)``.
    tol : float, default=1e-10
    max_iter : int, default=100_000

    Notes
    -----
    Backups use log-sum-exp with the row maximum subtracted, so no ``exp`` of an unbounded
    value is ever taken.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.solvers import SoftValueIteration
    >>> env = GridWorld(3, gamma=0.9)
    >>> policy = SoftValueIteration(temperature=0.1).solve(env, env.reward)
    >>> np.allclose(policy.probs.sum(axis=1), 1)
    True
    """

    _parameter_constraints: dict = {
        **_TabularSolver._parameter_constraints,
        "temperature": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, temperature=1.0, tol=1e-10, max_iter=100_000):
        self.temperature = temperature
        self.tol = tol
        self.max_iter = max_iter

    def _plan(self, env, reward, init_values):
        return soft_value_iteration(
            env, reward, self.temperature, self.tol, self.max_iter, init_values
        )

    def _policy(self, Q, V):
        return _soft_policy(Q, V, self.temperature)
