"""Tabular planners: (hard) value iteration and soft (maximum-entropy) value iteration.

This module is the one home of the Bellman backups. Rewards are per state ``(S,)`` or per
state-action ``(S, A)``; transitions are the env's sparse ``(S * A, S)`` matrix, so a sweep is
one sparse matrix-vector product plus a row-wise (log-sum-)max over actions.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions

from ..envs._tabular import as_state_action_reward, check_tabular_env
from ..policies._tabular import TabularPolicy, check_policy, sample_categorical  # noqa: F401
from ..utils._doc_link import DocLinkMixin
from ..utils._warnings import warn_user

__all__ = [
    "TabularPolicy",
    "ValueIteration",
    "SoftValueIteration",
    "soft_bellman_backup",
    "soft_value_iteration",
    "value_iteration",
]


# ---------------------------------------------------------------------------------------
# Bellman backups
# ---------------------------------------------------------------------------------------
# States per block of the row-wise reductions: (A, block) float64 buffers stay in the L2 cache.
_BLOCK = 8192


def _reduce_actions(ev, reward, discount, temperature=None, out=None):
    """Row-wise ``max_a`` (``temperature=None``) or ``temperature * logsumexp_a(. / temperature)``
    of ``q = reward + discount * ev``, for ``(S, A)`` arrays.

    Works through blocks of states transposed into a small ``(A, block)`` buffer: numpy's
    ``axis=1`` reductions over a short last axis, and column-by-column passes over the
    strided ``(S, A)`` array, are several times slower at large S; here the full-size arrays
    are read once and the arithmetic stays in cache. ``reward`` may be None (zero).
    """
    S, A = ev.shape
    out = np.empty(S) if out is None else out
    block = min(_BLOCK, S)
    buf = np.empty((A, block))
    m = np.empty(block)
    total = np.empty(block)
    scale = None if temperature is None else 1.0 / temperature
    for lo in range(0, S, block):
        hi = min(lo + block, S)
        b = hi - lo
        qb, mb = buf[:, :b], m[:b]
        np.copyto(qb, ev[lo:hi].T)
        if discount != 1.0:
            qb *= discount
        if reward is not None:
            qb += reward[lo:hi].T
        np.max(qb, axis=0, out=mb)
        if scale is None:
            out[lo:hi] = mb
            continue
        qb -= mb
        if scale != 1.0:
            qb *= scale
        np.exp(qb, out=qb)
        tb = total[:b]
        np.sum(qb, axis=0, out=tb)
        ob = out[lo:hi]
        np.log(tb, out=ob)
        if temperature != 1.0:
            ob *= temperature
        ob += mb
    return out


def _softmax_values(q, temperature):
    """Row-wise ``temperature * logsumexp(q / temperature)``, computed stably."""
    return _reduce_actions(q, None, 1.0, temperature)


def _q_values(env, reward_sa, next_values, discount):
    next_values = next_values * discount if discount != 1.0 else next_values
    q = env.expected_next(next_values)
    q += reward_sa
    return q


_METHODS = ("auto", "value_iteration", "policy_iteration")


def _check_positive(value, name):
    if not (isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value)
            and value > 0):
        raise ValueError(f"{name} must be a positive finite float, got {value!r}.")


def _check_planner_args(tol, max_iter, method, temperature=1.0):
    """Validate the arguments shared by the planning functions (the solver classes check the
    same through ``_parameter_constraints``)."""
    _check_positive(temperature, "temperature")
    _check_positive(tol, "tol")
    if not isinstance(max_iter, Integral) or isinstance(max_iter, bool) or max_iter < 1:
        raise ValueError(f"max_iter must be an int >= 1, got {max_iter!r}.")
    if method not in _METHODS:
        raise ValueError(
            f"method must be 'auto', 'value_iteration' or 'policy_iteration', got {method!r}."
        )


def _check_values(values, n_states, name="values"):
    """A value vector as a finite float array of shape (S,) (a new copy)."""
    try:
        v = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a numeric array of shape ({n_states},).") from None
    if v.shape != (n_states,) or not np.all(np.isfinite(v)):
        raise ValueError(
            f"{name} must be a finite array of shape ({n_states},), got shape {v.shape}."
        )
    return v


def soft_bellman_backup(env, reward, values, temperature=1.0):
    """One soft Bellman sweep: ``Q = r + gamma P V``, ``V' = T logsumexp(Q / T)`` (T: temperature).

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
    env = check_tabular_env(env)
    r = as_state_action_reward(reward, env.n_states, env.n_actions)
    v = _check_values(values, env.n_states)
    _check_positive(temperature, "temperature")
    q = _q_values(env, r, v, env.gamma)
    return q, _softmax_values(q, temperature)


def _bellman_sweep(env, reward_sa, values, temperature=None, out=None):
    """One discounted sweep ``V' = max_a`` (or soft max) ``of r + gamma P V``, without forming Q.

    The sparse product streams the ``(S * A, S)`` transitions once; the reward, discount and
    reduction over actions are fused blockwise in cache (see :func:`_reduce_actions`).
    """
    return _reduce_actions(env.expected_next(values), reward_sa, env.gamma, temperature, out)


def _rounding_floor(values):
    """The smallest sweep-to-sweep change floating point can resolve at these values.

    A sweep sums a row of transitions and takes a log-sum-exp, so successive iterates can keep
    differing by a few ulps of ``max |V|`` forever. The loops stop once the change is below
    this floor and no longer shrinking: the iterate is then the floating-point fixed point,
    and a smaller ``tol`` cannot be met (with large ``|V|`` and gamma near 1 the loop would
    otherwise run to ``max_iter``).
    """
    return 128 * np.finfo(np.float64).eps * max(1.0, float(np.max(np.abs(values))))


def _iterate(env, reward, temperature, tol, max_iter, init_values, name):
    """Iterate the (soft, unless ``temperature`` is None) Bellman backup to its fixed point
    (discounted) or backwards over the horizon (finite)."""
    S = env.n_states
    gamma = env.gamma
    if env.finite_horizon:
        H = env.horizon
        Q = np.empty((H, S, env.n_actions))
        V = np.zeros((H + 1, S))
        for t in range(H - 1, -1, -1):
            Q[t] = _q_values(env, reward, V[t + 1], gamma)
            _reduce_actions(Q[t], None, 1.0, temperature, out=V[t])
        return Q, V, H
    V = np.zeros(S) if init_values is None else _check_values(init_values, S, "init_values")
    # Stop when the sup-norm change guarantees |V - V*| <= tol.
    threshold = tol * (1 - gamma) / max(gamma, 1e-12)
    V_new = np.empty(S)
    diff = np.empty(S)
    n_iter, previous = 0, np.inf
    for _ in range(max_iter):
        n_iter += 1
        _bellman_sweep(env, reward, V, temperature, out=V_new)
        np.subtract(V_new, V, out=diff)
        np.abs(diff, out=diff)
        delta = diff.max()
        V, V_new = V_new, V
        if not np.isfinite(delta):
            raise FloatingPointError(
                f"{name} diverged (non-finite values); check the reward scale."
            )
        if delta <= threshold or (delta >= previous and delta <= _rounding_floor(V)):
            break
        previous = delta
    else:
        warn_user(
            f"{name} did not converge in max_iter={max_iter} sweeps (last change {delta:.3g} > "
            f"{threshold:.3g}); increase max_iter or tol, or lower gamma.",
            ConvergenceWarning,
        )
    Q = _q_values(env, reward, V, gamma)
    return Q, V, n_iter


def soft_value_iteration(
    env, reward, temperature=1.0, tol=1e-10, max_iter=100_000, init_values=None,
    method="auto",
):
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
    method : {"auto", "value_iteration", "policy_iteration"}, default="auto"
        Discounted case: plain sweeps (a contraction by gamma per sweep, so about
        ``log(tol) / log(gamma)`` sweeps), or soft policy iteration, Newton's method on the
        soft Bellman equation: each iteration evaluates the current soft-greedy policy with a
        sparse linear solve and converges in a few tens of iterations whatever gamma is.
        Prefer it for gamma close to 1 on MDPs up to ~10^5 states. ``"auto"`` uses policy
        iteration when ``gamma >= 0.995`` (where sweeps would need thousands of iterations:
        23,000 for ``gamma = 0.999``) and value iteration otherwise.

    Returns
    -------
    q : ndarray of shape (S, A) or (H, S, A)
    values : ndarray of shape (S,) or (H + 1, S)
    n_iter : int
        Sweeps, or policy-iteration steps.

    See Also
    --------
    SoftValueIteration : the solver class, which returns the soft-optimal policy.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import logsumexp
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.solvers import soft_value_iteration
    >>> env = GridWorld(3, gamma=0.9)
    >>> q, v, n_iter = soft_value_iteration(env, env.reward)
    >>> q.shape, v.shape
    ((9, 4), (9,))
    >>> np.allclose(v, logsumexp(q, axis=1))  # the soft Bellman fixed point
    True

    With a finite horizon the tables are per time step. Under a zero reward the soft value is
    the discounted entropy of the uniform policy:

    >>> q, v, _ = soft_value_iteration(GridWorld(3, gamma=0.9, horizon=5), np.zeros(9))
    >>> q.shape, v.shape
    ((5, 9, 4), (6, 9))
    >>> np.allclose(v[0], np.log(4) * sum(0.9 ** t for t in range(5)))
    True
    """
    env = check_tabular_env(env)
    r = as_state_action_reward(reward, env.n_states, env.n_actions)
    _check_planner_args(tol, max_iter, method, temperature)
    if method == "auto":
        auto_pi = env.gamma >= _AUTO_POLICY_ITERATION_GAMMA
        method = "policy_iteration" if auto_pi else "value_iteration"
    if method == "policy_iteration" and not env.finite_horizon:
        return _soft_policy_iteration(env, r, temperature, tol, max_iter, init_values)
    return _iterate(env, r, temperature, tol, max_iter, init_values, "soft value iteration")


# method="auto" switches to soft policy iteration from this discount on.
_AUTO_POLICY_ITERATION_GAMMA = 0.995

# Above this many states the policy evaluation uses BiCGSTAB instead of a sparse LU.
_DIRECT_SOLVE_MAX_STATES = 200_000
# Above this many states it tries BiCGSTAB (warm started) first, the LU being the fallback.
_KRYLOV_MIN_STATES = 2_000


def _policy_state_matrix(env, probs):
    """Sparse ``(S, S)`` state-to-state transitions under a stationary policy ``(S, A)``."""
    S, A = env.n_states, env.n_actions
    pi = sp.csr_matrix(
        (probs.ravel(), np.arange(S * A), np.arange(0, S * A + 1, A)), shape=(S, S * A)
    )
    return (pi @ env.transition_matrix).tocsr()


def _evaluate_policy(env, probs, reward_pi, x0, eye=None):
    """Solve ``(I - gamma P_pi) V = reward_pi`` for a stationary policy; None if it fails.

    BiCGSTAB started from ``x0`` above a few thousand states (a few dozen sparse products,
    several times cheaper than a sparse LU), the sparse LU otherwise or as the fallback.
    """
    S = env.n_states
    eye = sp.identity(S, format="csr") if eye is None else eye
    M = eye - env.gamma * _policy_state_matrix(env, probs)
    V = None
    if S > _KRYLOV_MIN_STATES or S > _DIRECT_SOLVE_MAX_STATES:
        V, info = spla.bicgstab(M, reward_pi, x0=x0, rtol=1e-12, maxiter=1000)
        V = V if info == 0 else None
    if V is None and S <= _DIRECT_SOLVE_MAX_STATES:
        V = spla.spsolve(M.tocsc(), reward_pi)
    return V if V is not None and np.all(np.isfinite(V)) else None


def _greedy_policy_iteration(env, reward, tol, max_iter, init_values):
    """Howard's policy iteration: greedy policy, exact evaluation, until the policy is stable.

    It ends with value-iteration sweeps from the evaluated values, which take the values to
    the floating-point fixed point and so keep the ``tol`` guarantee of value iteration.
    """
    S, A = env.n_states, env.n_actions
    V = np.zeros(S) if init_values is None else _check_values(init_values, S, "init_values")
    eye = sp.identity(S, format="csr")
    greedy, steps = None, 0
    for _ in range(min(max_iter, 10 * S + 10)):
        steps += 1
        Q = _q_values(env, reward, V, env.gamma)
        new = Q.argmax(axis=1)
        if greedy is not None:
            # Keep the current action where it is optimal up to rounding: ties flipping on
            # the last bit would otherwise keep the policy "changing" forever.
            best = Q[np.arange(S), new]
            keep = Q[np.arange(S), greedy] >= best - 1e-12 * np.maximum(1.0, np.abs(best))
            new = np.where(keep, greedy, new)
            if np.array_equal(new, greedy):
                break
        greedy = new
        probs = np.zeros((S, A))
        probs[np.arange(S), greedy] = 1.0
        V_pi = _evaluate_policy(env, probs, reward[np.arange(S), greedy], V, eye)
        if V_pi is None:
            break
        V = V_pi
    Q, V, sweeps = _iterate(env, reward, None, tol, max_iter, V, "value iteration")
    return Q, V, steps + sweeps


def _soft_policy_iteration(env, reward, temperature, tol, max_iter, init_values):
    """Soft policy iteration (Newton's method on ``V = T logsumexp((r + gamma P V) / T)``).

    Each step backs up the current values once (the Bellman residual gives the same stopping
    guarantee as value iteration), then replaces them by the exact entropy-regularised value
    ``(I - gamma P_pi)^-1 sum_a pi (r - T log pi)`` of the soft-greedy policy ``pi``. Once
    the Newton steps stop halving a residual at rounding level (the linear solves' error,
    about ``eps |V| / (1 - gamma)``) it finishes with plain sweeps, which reach the
    floating-point fixed point and so keep the ``tol`` guarantee.
    """
    S, gamma = env.n_states, env.gamma
    V = np.zeros(S) if init_values is None else _check_values(init_values, S, "init_values")
    threshold = tol * (1 - gamma) / max(gamma, 1e-12)
    eye = sp.identity(S, format="csr")
    n_iter, delta, newton = 0, np.inf, True
    for _ in range(max_iter):
        previous = delta
        n_iter += 1
        Q = _q_values(env, reward, V, gamma)
        V_backup = _reduce_actions(Q, None, 1.0, temperature)
        delta = np.max(np.abs(V_backup - V))
        V = V_backup
        if not np.isfinite(delta):
            raise FloatingPointError(
                "soft policy iteration diverged (non-finite values); check the reward scale."
            )
        if delta <= threshold or (delta >= previous and delta <= _rounding_floor(V)):
            break
        # Newton converges quadratically: a step that does not halve a residual already at
        # rounding level means the solves' precision is reached.
        stalled = delta > 0.5 * previous and delta <= 1e-8 * max(1.0, np.max(np.abs(V)))
        newton = newton and not (n_iter > 2 and stalled)
        if not newton:
            continue
        log_pi = (Q - V[:, None]) / temperature
        pi = np.exp(log_pi)
        b = np.einsum("sa,sa->s", pi, reward - temperature * log_pi)
        V_pi = _evaluate_policy(env, pi, b, V, eye)
        if V_pi is not None:
            V = V_pi  # else keep the backed-up values: a plain value-iteration step
    else:
        warn_user(
            f"soft policy iteration did not converge in max_iter={max_iter} steps (last change "
            f"{delta:.3g} > {threshold:.3g}); increase max_iter or tol.",
            ConvergenceWarning,
        )
    return _q_values(env, reward, V, gamma), V, n_iter


def value_iteration(env, reward, tol=1e-10, max_iter=100_000, init_values=None, method="auto"):
    """Value iteration with the hard Bellman max (conventions of :func:`soft_value_iteration`).

    ``method="policy_iteration"`` runs Howard's policy iteration (greedy policy, exact sparse
    evaluation) and then polishing sweeps; ``"auto"`` picks it when ``gamma >= 0.995``.

    Parameters
    ----------
    env : TabularMDP
    reward : ndarray of shape (S,) or (S, A)
    tol : float, default=1e-10
        Discounted case: stop when the values are within ``tol`` of the fixed point.
    max_iter : int, default=100_000
    init_values : ndarray of shape (S,), default=None
        Warm start for the discounted case.
    method : {"auto", "value_iteration", "policy_iteration"}, default="auto"

    Returns
    -------
    q : ndarray of shape (S, A) or (H, S, A)
    values : ndarray of shape (S,) or (H + 1, S)
        ``values = q.max(axis=-1)`` (and 0 after the last step of a finite horizon).
    n_iter : int
        Sweeps, or policy-iteration steps.

    See Also
    --------
    ValueIteration : the solver class, which returns the greedy policy.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.solvers import value_iteration
    >>> env = GridWorld(3, gamma=0.9)  # +1 per step in the bottom-right cell
    >>> q, v, n_iter = value_iteration(env, env.reward)
    >>> np.allclose(v, q.max(axis=1))
    True
    >>> round(float(v[8]), 6)  # stay in the goal forever: 1 / (1 - gamma)
    10.0
    >>> q.argmax(axis=1).reshape(3, 3)  # 1 = right, 2 = down
    array([[1, 1, 2],
           [1, 1, 2],
           [1, 1, 1]])
    """
    env = check_tabular_env(env)
    r = as_state_action_reward(reward, env.n_states, env.n_actions)
    _check_planner_args(tol, max_iter, method)
    if method == "auto":
        auto_pi = env.gamma >= _AUTO_POLICY_ITERATION_GAMMA
        method = "policy_iteration" if auto_pi else "value_iteration"
    if method == "policy_iteration" and not env.finite_horizon:
        return _greedy_policy_iteration(env, r, tol, max_iter, init_values)
    return _iterate(env, r, None, tol, max_iter, init_values, "value iteration")


def _soft_policy(Q, temperature):
    """The soft-optimal policy ``softmax(Q / temperature)`` over the last axis.

    Normalised by each row's own log-sum-exp of the max-shifted values, not by the planner's
    ``V`` (nor by the sweeps' ``max + log-sum``, which adds the max back): at rewards of ~1e17
    the log-sum term is below one ulp of ``V``, so ``exp(Q - V)`` can underflow to a row of
    zeros, while the shifted form keeps it exactly.
    """
    z = Q / temperature if temperature != 1.0 else Q.copy()
    z -= z.max(axis=-1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return TabularPolicy(log_probs=np.minimum(z, 0.0))


def _greedy_policy(Q):
    best = Q.argmax(axis=-1)
    probs = np.zeros_like(Q)
    np.put_along_axis(probs, best[..., None], 1.0, axis=-1)
    return TabularPolicy(probs)


class _TabularSolver(DocLinkMixin, BaseEstimator):
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
    method : {"auto", "value_iteration", "policy_iteration"}, default="auto"
        How discounted MDPs are solved: Bellman sweeps, or Howard's policy iteration (greedy
        policy, exact sparse evaluation; a handful of steps even when gamma is close to 1)
        followed by polishing sweeps; ``"auto"`` picks policy iteration when
        ``gamma >= 0.995``. Finite-horizon MDPs always use the backward recursion.

    Examples
    --------
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.solvers import ValueIteration
    >>> env = GridWorld(3, gamma=0.9)
    >>> policy = ValueIteration().solve(env, env.reward)
    >>> policy.predict([0, 8]).tolist()  # move right/down toward the goal in the corner
    [1, 1]
    """

    _parameter_constraints: dict = {
        **_TabularSolver._parameter_constraints,
        "method": [StrOptions({"auto", "value_iteration", "policy_iteration"})],
    }

    def __init__(self, tol=1e-10, max_iter=100_000, method="auto"):
        self.tol = tol
        self.max_iter = max_iter
        self.method = method

    def _plan(self, env, reward, init_values):
        return value_iteration(env, reward, self.tol, self.max_iter, init_values, self.method)

    def _policy(self, Q, V):
        return _greedy_policy(Q)


class SoftValueIteration(_TabularSolver):
    """Soft value iteration: the maximum-entropy (soft-optimal) policy for a reward.

    Parameters
    ----------
    temperature : float, default=1.0
        Entropy weight; the policy is ``exp((Q - V) / temperature)``.
    tol : float, default=1e-10
        Discounted MDPs: stop when the values are within ``tol`` of the fixed point.
    max_iter : int, default=100_000
        Maximum sweeps (or policy-iteration steps); a ``ConvergenceWarning`` when reached.
    method : {"auto", "value_iteration", "policy_iteration"}, default="auto"
        How discounted MDPs are solved: Bellman sweeps, or soft policy iteration (Newton
        steps, each one sparse linear solve), which needs far fewer iterations when gamma is
        close to 1; ``"auto"`` picks policy iteration when ``gamma >= 0.995``.
        Finite-horizon MDPs always use the exact backward recursion.

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
        "method": [StrOptions({"auto", "value_iteration", "policy_iteration"})],
    }

    def __init__(
        self, temperature=1.0, tol=1e-10, max_iter=100_000, method="auto"
    ):
        self.temperature = temperature
        self.tol = tol
        self.max_iter = max_iter
        self.method = method

    def _plan(self, env, reward, init_values):
        return soft_value_iteration(
            env, reward, self.temperature, self.tol, self.max_iter, init_values, self.method
        )

    def _policy(self, Q, V):
        return _soft_policy(Q, self.temperature)
