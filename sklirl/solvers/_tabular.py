"""Tabular planners: (hard) value iteration and soft (maximum-entropy) value iteration.

This module is the one home of the Bellman backups. Rewards are per state ``(S,)`` or per
state-action ``(S, A)``; transitions are the env's sparse ``(S * A, S)`` matrix, so a sweep is
one sparse matrix-vector product plus a row-wise (log-sum-)max over actions.
"""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions

from ..envs._policy_flow import evaluate_policy
from ..envs._tabular import as_state_action_reward, check_tabular_env
from ..policies._tabular import TabularPolicy, check_policy, sample_categorical  # noqa: F401
from ..utils._doc_link import DocLinkMixin
from ..utils._numeric import as_float_array, refuse_grad
from ..utils._resources import check_memory, check_work
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

try:  # scipy's CSR kernels, called on row ranges of P without slicing (copying) the matrix
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - private scipy API; fall back to row slices
    _csr_matvec = _csr_matvecs = None


def _reduce_block(qb, temperature, mb, ob):
    """``ob = max_a qb`` or ``temperature * logsumexp_a(qb / temperature)`` over axis 0 of the
    in-cache ``(A, b)`` block ``qb``, which it overwrites; ``mb`` is scratch shaped like ``ob``."""
    np.max(qb, axis=0, out=mb)
    if temperature is None:
        ob[...] = mb
        return
    qb -= mb
    if temperature != 1.0:
        qb *= 1.0 / temperature
    np.exp(qb, out=qb)
    np.sum(qb, axis=0, out=ob)
    np.log(ob, out=ob)
    if temperature != 1.0:
        ob *= temperature
    ob += mb


def _reduce_actions(ev, reward, discount, temperature=None, out=None):
    """Row-wise ``max_a`` (``temperature=None``) or ``temperature * logsumexp_a(. / temperature)``
    of ``q = reward + discount * ev``, for ``(S, A)`` arrays, or ``(K, S, A)`` stacks of K
    problems (``out`` then ``(K, S)``).

    Works through blocks of states transposed into a small ``(A, block)`` buffer: numpy's
    ``axis=1`` reductions over a short last axis, and column-by-column passes over the
    strided ``(S, A)`` array, are several times slower at large S; here the full-size arrays
    are read once and the arithmetic stays in cache. ``reward`` may be None (zero).
    """
    if ev.ndim == 3:
        out = np.empty(ev.shape[:2]) if out is None else out
        for k in range(ev.shape[0]):
            rk = None if reward is None else reward[k]
            _reduce_actions(ev[k], rk, discount, temperature, out[k])
        return out
    S, A = ev.shape
    out = np.empty(S) if out is None else out
    block = min(_BLOCK, S)
    buf = np.empty((A, block))
    m = np.empty(block)
    for lo in range(0, S, block):
        hi = min(lo + block, S)
        qb = buf[:, : hi - lo]
        np.copyto(qb, ev[lo:hi].T)
        if discount != 1.0:
            qb *= discount
        if reward is not None:
            qb += reward[lo:hi].T
        _reduce_block(qb, temperature, m[: hi - lo], out[lo:hi])
    return out


def _add_block_product(P, n_actions, lo, hi, x, y):
    """``y += (P x)[rows of states lo..hi]``, ``y`` flat of length ``(hi - lo) * A``, reading
    that block of the CSR arrays in place (no row slice, which would copy it)."""
    A = n_actions
    if _csr_matvec is None:  # pragma: no cover
        y += P[lo * A : hi * A] @ x
        return
    indptr = P.indptr[lo * A : hi * A + 1]
    _csr_matvec((hi - lo) * A, P.shape[1], indptr, P.indices, P.data, x, y)


def _fused_sweep(P, n_actions, reward, values, discount, temperature=None, out=None):
    """``out = (soft)max_a (reward + discount * P values)`` without materialising ``P values``.

    ``P`` is the ``(S * A, S)`` CSR transition matrix, ``reward`` ``(S, A)`` with ``values``
    ``(S,)``, or a stack of K: ``(K, S, A)`` with ``(K, S)``; a reward of the values' shape is
    a state reward (a quarter of the memory traffic of its ``(S, A)`` copy at A = 4, which
    for stacks is most of what a sweep streams). Per block of states the sparse
    product is accumulated straight onto a copy of the block's rewards, in a buffer that
    stays in cache, and reduced there: the full ``(S, A)`` product is never written to memory
    and read back. A stack runs its K problems block by block (each block of the transitions
    is read from memory once, from cache for the other K - 1) and reduces the K problems of a
    block together, in one ``(A, K * block)`` buffer.
    """
    A = n_actions
    stacked = values.ndim == 2
    V = values if stacked else values[None]
    K, S = V.shape
    out = np.empty((K, S)) if out is None else out.reshape(K, S)
    x = V * discount if discount != 1.0 else V
    x = np.ascontiguousarray(x, dtype=P.dtype)
    state_reward = reward.shape == values.shape
    R = np.ascontiguousarray(reward).reshape(K, -1)
    block = min(S, max(_BLOCK // K, 1024))
    dtype = P.dtype  # float32 transitions (transition_dtype="float32"): float32 arithmetic too
    yb_buf = np.empty(K * block * A, dtype=dtype)
    buf = np.empty(A * K * block, dtype=dtype)
    m = np.empty(K * block, dtype=dtype)
    total = np.empty(K * block)
    for lo in range(0, S, block):
        hi = min(lo + block, S)
        b = hi - lo
        yb = yb_buf[: K * b * A].reshape(K, b * A)
        if dtype == np.float64 and not state_reward:
            yb[...] = R[:, lo * A : hi * A]  # the product accumulates onto the reward
        else:
            yb[...] = 0
        for k in range(K):
            _add_block_product(P, A, lo, hi, x[k], yb[k])
        qb = buf[: A * K * b].reshape(A, K, b)
        if state_reward:
            np.copyto(qb, yb.reshape(K, b, A).transpose(2, 0, 1))
            qb += R[:, lo:hi]  # broadcast over the actions
        elif dtype == np.float64:
            np.copyto(qb, yb.reshape(K, b, A).transpose(2, 0, 1))
        else:  # the float64 reward is added (and rounded to float32) in the transpose
            np.add(yb.reshape(K, b, A).transpose(2, 0, 1),
                   R[:, lo * A : hi * A].reshape(K, b, A).transpose(2, 0, 1), out=qb)
        ob = total[: K * b]
        _reduce_block(qb.reshape(A, K * b), temperature, m[: K * b], ob)
        out[:, lo:hi] = ob.reshape(K, b)
    return out if stacked else out[0]


def _softmax_values(q, temperature):
    """Row-wise ``temperature * logsumexp(q / temperature)``, computed stably."""
    return _reduce_actions(q, None, 1.0, temperature)


def _q_values(env, reward_sa, next_values, discount):
    """``Q = reward + discount * P next_values``: ``(S, A)``, or ``(K, S, A)`` for a stack of
    values ``(K, S)`` (block by block, each block of the transitions read once for all K)."""
    next_values = next_values * discount if discount != 1.0 else next_values
    P, A = env.transition_matrix, env.n_actions
    if next_values.ndim == 1:
        if P.dtype != np.float64:  # blockwise, without upcasting P to float64 in one piece
            return _q_values(env, reward_sa[None], next_values[None], 1.0)[0]
        q = env.expected_next(next_values)
        q += reward_sa
        return q
    K, S = next_values.shape
    x = np.ascontiguousarray(next_values, dtype=P.dtype)
    q = np.array(reward_sa, dtype=np.float64).reshape(K, S * A)
    block = min(S, _BLOCK // 4)
    y = np.empty(block * A, dtype=P.dtype)
    for lo in range(0, S, block):
        hi = min(lo + block, S)
        for k in range(K):
            if P.dtype == np.float64:
                _add_block_product(P, A, lo, hi, x[k], q[k, lo * A : hi * A])
            else:
                yk = y[: (hi - lo) * A]
                yk[...] = 0
                _add_block_product(P, A, lo, hi, x[k], yk)
                q[k, lo * A : hi * A] += yk
    return q.reshape(K, S, A)


_METHODS = ("auto", "value_iteration", "policy_iteration")
_TRANSITION_DTYPES = ("float64", "float32")


def _with_transition_dtype(env, transition_dtype):
    """``env`` itself for ``"float64"``; for ``"float32"`` a shallow copy of it whose
    transitions are a float32 copy of the CSR data (sharing the index arrays), made per call
    (``env`` itself is never changed): a third less memory traffic per sweep, values rounded
    to float32."""
    if transition_dtype not in _TRANSITION_DTYPES:
        raise ValueError(
            f"transition_dtype must be 'float64' or 'float32', got {transition_dtype!r}."
        )
    if transition_dtype == "float64":
        return env
    # Built per solve, never stored on ``env`` (the user's model is not changed): one O(nnz)
    # conversion against the many sweeps of the solve.
    P = env.transition_matrix
    P32 = sp.csr_matrix((P.data.astype(np.float32), P.indices, P.indptr), shape=P.shape)
    P32.indices, P32.indptr = P.indices, P.indptr  # shared (the constructor copies them)
    P32.data.setflags(write=False)
    view = copy.copy(env)
    view.__dict__["transition_matrix"] = P32
    return view


def _check_positive(value, name):
    if not (isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value)
            and value > 0):
        raise ValueError(f"{name} must be a positive finite float, got {value!r}.")
    with np.errstate(over="ignore", divide="ignore"):
        if not np.isfinite(1.0 / value):  # a subnormal: the sweeps divide by it
            raise ValueError(
                f"{name}={value!r} is too small: its reciprocal overflows float64 (use a value "
                "of at least 1e-300)."
            )


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


def _check_values(values, n_states, name="values", n_problems=None):
    """A value vector as a finite float array of shape (S,) (a new copy), or ``(K, S)`` for a
    stack of ``n_problems`` K."""
    shape = (n_states,) if n_problems is None else (n_problems, n_states)
    expected = ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "")
    v = as_float_array(values, name)
    if v.shape != shape or not np.all(np.isfinite(v)):
        raise ValueError(
            f"{name} must be a finite array of shape ({expected}), got shape {v.shape}."
        )
    return v


# Values are sums of up to ``occupancy_mass`` rewards: above this bound a Q-value's sums and
# log-sum-exp shifts could overflow float64 (max 1.8e308) with a margin for the entropy term.
_MAX_VALUE_SCALE = 1e300


def _check_value_scale(env, reward_sa, temperature=0.0):
    """Refuse, up front, rewards whose values would overflow float64.

    The values are bounded by ``(max |r| + temperature log A) * M`` with ``M`` the discounted
    horizon (``1 / (1 - gamma)``, or ``sum_{t<H} gamma^t``). Beyond ~1e300 the sweeps would
    return ``inf`` (finite horizons, with only a RuntimeWarning) or fail mid-iteration.
    """
    if env.finite_horizon:
        mass = float(env.horizon) if env.gamma == 1.0 else (
            (1.0 - env.gamma ** env.horizon) / (1.0 - env.gamma))
    else:
        mass = 1.0 / (1.0 - env.gamma)
    top = float(np.abs(reward_sa).max(initial=0.0))
    with np.errstate(over="ignore"):
        bound = (top + temperature * np.log(max(env.n_actions, 1))) * max(mass, 1.0)
        scaled = bound / temperature if temperature > 0 else 0.0
    if not bound <= _MAX_VALUE_SCALE:
        entropy = temperature * np.log(max(env.n_actions, 1))
        with np.errstate(over="ignore", divide="ignore"):
            order = f"{bound:.3g}" if np.isfinite(bound) else (
                f"1e{np.log10(max(top, entropy)) + np.log10(max(mass, 1.0)):.0f}")
        cause = (f"temperature={temperature!r} (entropy bonus up to {entropy:.3g} per step)"
                 if entropy > top else f"reward of magnitude up to {top:.3g}")
        raise ValueError(
            f"{cause} over a discounted horizon of {mass:.3g} steps gives values up to "
            f"{order}, beyond float64's range (values must stay below "
            f"{_MAX_VALUE_SCALE:.0e}); rescale the "
            + ("temperature." if entropy > top else "reward.")
        )
    if not scaled <= _MAX_VALUE_SCALE:  # the log-sum-exp works on Q / temperature
        raise ValueError(
            f"reward of magnitude up to {top:.3g} at temperature={temperature!r} gives soft "
            f"values / temperature beyond float64's range; raise the temperature or rescale "
            "the reward."
        )


def check_rewards(reward, n_states, n_actions):
    """``(r, K)``: one reward as a contiguous ``(S, A)`` array and ``K = None``, or a stack of
    K rewards, ``(K, S)`` or ``(K, S, A)``, as a contiguous ``(K, S, A)`` array. A 2-D reward
    of shape ``(S, A)`` is always one reward (give a stack of K = S state rewards as
    ``(K, S, A)``)."""
    refuse_grad(reward, "reward")
    r = np.asarray(reward)
    stacked = r.ndim == 3 or (
        r.ndim == 2 and r.shape != (n_states, n_actions) and r.shape[1] == n_states
    )
    if not stacked:
        return np.ascontiguousarray(as_state_action_reward(r, n_states, n_actions)), None
    if r.dtype == object or r.dtype.kind not in "biuf":
        raise TypeError(f"reward must be a numeric array, got dtype {r.dtype}.")
    K = r.shape[0]
    if K < 1 or r.shape[1:] not in ((n_states,), (n_states, n_actions)):
        raise ValueError(
            f"a stack of rewards must have shape (K, {n_states}) or (K, {n_states}, "
            f"{n_actions}) with K >= 1, got {r.shape}."
        )
    if not np.all(np.isfinite(r)):
        k = int(np.argmin(np.isfinite(r).reshape(K, -1).all(axis=1)))
        raise ValueError(f"reward {k} of the stack contains NaN or infinity.")
    r = r.astype(np.float64, copy=False)
    if r.ndim == 2:
        return np.repeat(r[:, :, None], n_actions, axis=2), K
    return np.ascontiguousarray(r), K


def _solve_stack(env, r, K, temperature, tol, max_iter, init_values, method):
    """Plan for a stack of K rewards ``(K, S, A)``; Q ``(K, ...)``, V ``(K, ...)``, n_iter.

    Sweeps (value iteration and the finite-horizon recursion) run all K at once: each reads
    the transitions once for all of them, and the stack stops when every reward has
    converged. Policy iteration's linear solves differ per policy, so it solves the rewards in
    turn.
    """
    name = "value iteration" if temperature is None else "soft value iteration"
    if method == "policy_iteration" and not env.finite_horizon:
        init = None if init_values is None else _check_values(
            init_values, env.n_states, "init_values", K)
        Qs, Vs, n_iter = [], [], 0
        for k in range(K):
            rk = r[k]
            v0 = None if init is None else init[k]
            if temperature is None:
                Q, V, n = _greedy_policy_iteration(env, rk, tol, max_iter, v0)
            else:
                Q, V, n = _soft_policy_iteration(env, rk, temperature, tol, max_iter, v0)
            Qs.append(Q)
            Vs.append(V)
            n_iter = max(n_iter, n)
        return np.stack(Qs), np.stack(Vs), n_iter
    Q, V, n_iter = _iterate(env, r, temperature, tol, max_iter, init_values, name)
    if env.finite_horizon:  # (H, K, ...) -> (K, H, ...)
        Q, V = np.ascontiguousarray(Q.swapaxes(0, 1)), np.ascontiguousarray(V.swapaxes(0, 1))
    return Q, V, n_iter


def soft_bellman_backup(env, reward, values, temperature=1.0):
    """One soft Bellman sweep: ``Q = r + gamma P V``, ``V' = T logsumexp(Q / T)`` (T: temperature).

    Parameters
    ----------
    env : TabularMDP
    reward : ndarray of shape (S,) or (S, A), or a stack of K rewards (K, S) or (K, S, A)
    values : ndarray of shape (S,), or (K, S) for a stack
    temperature : float, default=1.0

    Returns
    -------
    q : ndarray of shape (S, A), or (K, S, A)
    new_values : ndarray of shape (S,), or (K, S)

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
    r, K = check_rewards(reward, env.n_states, env.n_actions)
    v = _check_values(values, env.n_states, n_problems=K)
    _check_positive(temperature, "temperature")
    q = _q_values(env, r, v, env.gamma)
    new_values = _softmax_values(q, temperature)
    return q, new_values


def _bellman_sweep(env, reward_sa, values, temperature=None, out=None):
    """One discounted sweep ``V' = max_a`` (or soft max) ``of r + gamma P V``, without forming Q.

    The sparse product streams the ``(S * A, S)`` transitions once (for all K problems when
    ``reward_sa`` is an ``(S, A, K)`` stack and ``values`` ``(S, K)``); the reward, discount
    and reduction over actions are fused blockwise in cache (see :func:`_fused_sweep`).
    """
    return _fused_sweep(
        env.transition_matrix, env.n_actions, reward_sa, values, env.gamma, temperature, out
    )


def _state_reward_or(reward):
    """``reward[..., 0]`` (contiguous) when the ``(..., S, A)`` reward does not depend on the
    action, else ``reward``: the sweeps then stream S numbers per problem instead of S * A."""
    first = reward[..., :1]
    return np.ascontiguousarray(first[..., 0]) if np.array_equal(reward, np.broadcast_to(
        first, reward.shape)) else reward


def _rounding_floor(values, env=None):
    """The smallest sweep-to-sweep change floating point can resolve at these values.

    A sweep sums a row of transitions and takes a log-sum-exp, so successive iterates can keep
    differing by a few ulps of ``max |V|`` forever. Below this floor the loops stop once the
    change no longer shrinks, or shrinks by so little per sweep (gamma near 1) that ``tol``
    is out of reach (:func:`_converged`); the values are then as accurate as float64
    resolves them (relative ``eps / (1 - gamma)``; TabularMDP caps gamma so that this stays
    below 1e-5). With float32 transitions (``transition_dtype``) the floor is float32's.
    """
    dtype = np.float64 if env is None else env.transition_matrix.dtype
    return 128 * np.finfo(dtype).eps * max(1.0, float(np.max(np.abs(values))))


def _converged(delta, previous, threshold, values, env=None):
    """Whether a loop whose last changes were ``previous`` then ``delta`` should stop: at
    ``tol`` (``threshold``), or at the rounding floor once the change no longer shrinks, or
    shrinks so slowly (gamma near 1) that reaching ``tol`` would take over 1000 more sweeps."""
    if delta <= threshold:
        return True
    if delta > _rounding_floor(values, env):
        return False
    if delta >= previous:
        return True
    ratio = delta / previous
    return ratio > 0 and np.log(threshold / delta) / np.log(ratio) > 1000


def _iterate(env, reward, temperature, tol, max_iter, init_values, name):
    """Iterate the (soft, unless ``temperature`` is None) Bellman backup to its fixed point
    (discounted) or backwards over the horizon (finite)."""
    S = env.n_states
    gamma = env.gamma
    lead = reward.shape[:-2]  # (K,) for a stack of K rewards (K, S, A)
    if env.finite_horizon:
        H = env.horizon
        K = float(np.prod(lead)) if lead else 1.0
        what = f"{name} over horizon {H} (S={S}, A={env.n_actions})"
        check_memory(8.0 * K * (H * S * env.n_actions + (H + 1.0) * S), what + ": its (H, S, A) "
                     "Q table", "Use a shorter horizon, or a discounted env (horizon=None).")
        check_work(float(H) * (1e4 + K * env.transition_matrix.nnz), what)
        Q = np.empty((H, *reward.shape))
        V = np.zeros((H + 1, *lead, S))
        for t in range(H - 1, -1, -1):
            Q[t] = _q_values(env, reward, V[t + 1], gamma)
            _reduce_actions(Q[t], None, 1.0, temperature, out=V[t])
        return Q, V, H
    K = lead[0] if lead else None
    V = (np.zeros((*lead, S)) if init_values is None
         else _check_values(init_values, S, "init_values", K))
    # Stop when the sup-norm change guarantees |V - V*| <= tol.
    threshold = tol * (1 - gamma) / max(gamma, 1e-12)
    V_new = np.empty_like(V)
    diff = np.empty_like(V)
    sweep_reward = _state_reward_or(reward)
    n_iter, previous, delta = 0, np.inf, np.inf
    for _ in range(max_iter):
        n_iter += 1
        previous = delta
        _bellman_sweep(env, sweep_reward, V, temperature, out=V_new)
        np.subtract(V_new, V, out=diff)
        np.abs(diff, out=diff)
        delta = diff.max()
        V, V_new = V_new, V
        if not np.isfinite(delta):
            raise FloatingPointError(
                f"{name} diverged (non-finite values); check the reward scale."
            )
        if _converged(delta, previous, threshold, V, env):
            break
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
    method="auto", transition_dtype="float64",
):
    """Soft (maximum-entropy) value iteration.

    Solves ``V(s) = temperature * log sum_a exp(Q(s, a) / temperature)`` with
    ``Q(s, a) = r(s, a) + gamma * E[V(s') | s, a]``, backwards over the horizon for finite-horizon
    MDPs. The soft-optimal policy is ``pi(a | s) = exp((Q(s, a) - V(s)) / temperature)``.

    Parameters
    ----------
    env : TabularMDP
    reward : ndarray of shape (S,) or (S, A), or a stack of K rewards (K, S) or (K, S, A)
        A stack is solved together: each sweep reads the transitions once for all K (policy
        iteration solves them in turn), and the results gain a leading axis of K.
    temperature : float, default=1.0
    tol : float, default=1e-10
        Discounted case: stop when the values are within ``tol`` of the fixed point.
    max_iter : int, default=100_000
    init_values : ndarray of shape (S,), or (K, S) for a stack, default=None
        Warm start for the discounted case.
    method : {"auto", "value_iteration", "policy_iteration"}, default="auto"
        Discounted case: plain sweeps (a contraction by gamma per sweep, so about
        ``log(tol) / log(gamma)`` sweeps), or soft policy iteration, Newton's method on the
        soft Bellman equation: each iteration evaluates the current soft-greedy policy with a
        sparse linear solve and converges in a few tens of iterations whatever gamma is.
        Prefer it for gamma close to 1 on MDPs up to ~10^5 states. ``"auto"`` uses policy
        iteration when ``gamma >= 0.995`` (where sweeps would need thousands of iterations:
        23,000 for ``gamma = 0.999``) or from 20,000 states, and value iteration otherwise.
    transition_dtype : {"float64", "float32"}, default="float64"
        ``"float32"`` runs the sweeps on a float32 copy of the transitions (kept on the env,
        4 bytes per non-zero) with float32 block arithmetic: less memory
        traffic and a faster ``exp``, values within about ``1e-6 * max|V| / (1 - gamma)``
        of float64's (see :ref:`bench-speed`).

    Returns
    -------
    q : ndarray of shape (S, A) or (H, S, A); (K, ...) for a stack of rewards
    values : ndarray of shape (S,) or (H + 1, S); (K, ...) for a stack of rewards
    n_iter : int
        Sweeps, or policy-iteration steps (the most any reward of a stack needed).

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
    env = _with_transition_dtype(check_tabular_env(env), transition_dtype)
    r, K = check_rewards(reward, env.n_states, env.n_actions)
    _check_planner_args(tol, max_iter, method, temperature)
    _check_value_scale(env, r, temperature)
    if method == "auto":
        method = auto_method(env)
    if K is not None:
        return _solve_stack(env, r, K, temperature, tol, max_iter, init_values, method)
    if method == "policy_iteration" and not env.finite_horizon:
        return _soft_policy_iteration(env, r, temperature, tol, max_iter, init_values)
    return _iterate(env, r, temperature, tol, max_iter, init_values, "soft value iteration")


# method="auto" switches to (soft) policy iteration from this discount on, or on discounted
# MDPs from this many states: near gamma = 1 sweeps need thousands of iterations
# (1 / (1 - gamma) per decade of tol), and on large MDPs a few Newton steps with warm-started
# Krylov solves beat the sweeps' gamma-contraction; on small ones sweeps are cheap.
AUTO_POLICY_ITERATION_GAMMA = 0.995
AUTO_POLICY_ITERATION_STATES = 20_000


def auto_method(env):
    """The planners' ``method="auto"``: ``"policy_iteration"`` on discounted MDPs with
    ``gamma >= 0.995`` or at least 20,000 states, ``"value_iteration"`` otherwise."""
    newton = (env.gamma >= AUTO_POLICY_ITERATION_GAMMA
              or env.n_states >= AUTO_POLICY_ITERATION_STATES)
    return "policy_iteration" if newton and not env.finite_horizon else "value_iteration"

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
        V_pi = evaluate_policy(env, probs, reward[np.arange(S), greedy], V, eye)
        if V_pi is None:
            break
        V = V_pi
    Q, V, sweeps = _iterate(env, reward, None, tol, max_iter, V, "value iteration")
    return Q, V, steps + sweeps


def _soft_policy_iteration(env, reward, temperature, tol, max_iter, init_values):
    """Soft policy iteration (Newton's method on ``V = T logsumexp((r + gamma P V) / T)``).

    Each step backs up the current values once (the Bellman residual gives the same stopping
    guarantee as value iteration), then replaces them by the exact entropy-regularised value
    ``(I - gamma P_pi)^-1 sum_a pi (r - T log pi)`` of the soft-greedy policy ``pi``; it
    stops at ``tol`` or at the rounding floor (:func:`_rounding_floor`). If three Newton
    steps in a row fail to halve the residual (the linear solves' precision reached) it
    finishes with plain sweeps.
    """
    S, gamma = env.n_states, env.gamma
    V = np.zeros(S) if init_values is None else _check_values(init_values, S, "init_values")
    threshold = tol * (1 - gamma) / max(gamma, 1e-12)
    eye = sp.identity(S, format="csr")
    n_iter, delta, newton, stalls = 0, np.inf, True, 0
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
        if _converged(delta, previous, threshold, V, env):
            break
        # Newton converges quadratically: three steps in a row that do not halve the residual
        # mean the solves' precision is reached (a single one happens in the global phase,
        # at any gamma, and a test on |V| alone misfires when |V| ~ 1 / (1 - gamma) is huge).
        stalls = stalls + 1 if delta > 0.5 * previous else 0
        newton = newton and stalls < 3
        if not newton:
            continue
        # pi normalised by its own rows, not by exp(-V / T): V carries a rounding error of
        # eps |V|, so rows of exp((Q - V) / T) sum to 1 +- 1e-12 at |V| ~ 1e4, and
        # (I - gamma P_pi) then solves a slightly undiscounted system whose Bellman
        # residual, gamma |V| 1e-12, stalls Newton far above the rounding floor.
        z = Q / temperature
        z -= z.max(axis=1, keepdims=True)
        pi = np.exp(z)
        total = pi.sum(axis=1, keepdims=True)
        pi /= total
        log_pi = z - np.log(total)
        b = np.einsum("sa,sa->s", pi, reward - temperature * log_pi)
        V_pi = evaluate_policy(env, pi, b, V, eye)
        if V_pi is not None:
            V = V_pi  # else keep the backed-up values: a plain value-iteration step
    else:
        warn_user(
            f"soft policy iteration did not converge in max_iter={max_iter} steps (last change "
            f"{delta:.3g} > {threshold:.3g}); increase max_iter or tol.",
            ConvergenceWarning,
        )
    return _q_values(env, reward, V, gamma), V, n_iter


def value_iteration(
    env, reward, tol=1e-10, max_iter=100_000, init_values=None, method="auto",
    transition_dtype="float64",
):
    """Value iteration with the hard Bellman max (conventions of :func:`soft_value_iteration`).

    ``method="policy_iteration"`` runs Howard's policy iteration (greedy policy, exact sparse
    evaluation) and then polishing sweeps; ``"auto"`` picks it when ``gamma >= 0.995`` or from
    20,000 states.

    Parameters
    ----------
    env : TabularMDP
    reward : ndarray of shape (S,) or (S, A), or a stack of K rewards (K, S) or (K, S, A)
        As in :func:`soft_value_iteration`.
    tol : float, default=1e-10
        Discounted case: stop when the values are within ``tol`` of the fixed point.
    max_iter : int, default=100_000
    init_values : ndarray of shape (S,), or (K, S) for a stack, default=None
        Warm start for the discounted case.
    method : {"auto", "value_iteration", "policy_iteration"}, default="auto"
    transition_dtype : {"float64", "float32"}, default="float64"
        As in :func:`soft_value_iteration`.

    Returns
    -------
    q : ndarray of shape (S, A) or (H, S, A); (K, ...) for a stack of rewards
    values : ndarray of shape (S,) or (H + 1, S); (K, ...) for a stack of rewards
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
    env = _with_transition_dtype(check_tabular_env(env), transition_dtype)
    r, K = check_rewards(reward, env.n_states, env.n_actions)
    _check_planner_args(tol, max_iter, method)
    _check_value_scale(env, r)
    if method == "auto":
        method = auto_method(env)
    if K is not None:
        return _solve_stack(env, r, K, None, tol, max_iter, init_values, method)
    if method == "policy_iteration" and not env.finite_horizon:
        return _greedy_policy_iteration(env, r, tol, max_iter, init_values)
    return _iterate(env, r, None, tol, max_iter, init_values, "value iteration")


def soft_policy(Q, temperature):
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
        reward : ndarray of shape (S,) or (S, A), or a stack (K, S) or (K, S, A)
            A stack of K rewards is solved in one pass over the transitions per sweep.
        init_values : ndarray of shape (S,), or (K, S) for a stack, default=None
            Warm start (discounted MDPs), e.g. the values of the previous IRL iteration.

        Returns
        -------
        policy : TabularPolicy, or list of K TabularPolicy for a stack of rewards
            With ``q_values``, ``values`` and ``n_iter`` set.
        """
        self._validate_params()
        Q, V, n_iter = self._plan(env, reward, init_values)
        if V.ndim == (3 if env.finite_horizon else 2):  # a stack of K rewards
            return [self._finish(Qk, Vk, n_iter) for Qk, Vk in zip(Q, V)]
        return self._finish(Q, V, n_iter)

    def _finish(self, Q, V, n_iter):
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
        ``gamma >= 0.995`` or from 20,000 states. Finite-horizon MDPs always use the backward
        recursion.
    transition_dtype : {"float64", "float32"}, default="float64"
        ``"float32"``: sweeps on a float32 copy of the transitions, values within about
        ``1e-6 * max|V| / (1 - gamma)`` of float64's (see :func:`soft_value_iteration`).

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
        "transition_dtype": [StrOptions({"float64", "float32"})],
    }

    def __init__(self, tol=1e-10, max_iter=100_000, method="auto", transition_dtype="float64"):
        self.tol = tol
        self.max_iter = max_iter
        self.method = method
        self.transition_dtype = transition_dtype

    def _plan(self, env, reward, init_values):
        return value_iteration(
            env, reward, self.tol, self.max_iter, init_values, self.method,
            self.transition_dtype,
        )

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
        close to 1; ``"auto"`` picks policy iteration when ``gamma >= 0.995`` or from 20,000
        states.
        Finite-horizon MDPs always use the exact backward recursion.
    transition_dtype : {"float64", "float32"}, default="float64"
        ``"float32"``: sweeps on a float32 copy of the transitions, values within about
        ``1e-6 * max|V| / (1 - gamma)`` of float64's (see :func:`soft_value_iteration`).

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
        "transition_dtype": [StrOptions({"float64", "float32"})],
    }

    def __init__(
        self, temperature=1.0, tol=1e-10, max_iter=100_000, method="auto",
        transition_dtype="float64",
    ):
        self.temperature = temperature
        self.tol = tol
        self.max_iter = max_iter
        self.method = method
        self.transition_dtype = transition_dtype

    def _plan(self, env, reward, init_values):
        return soft_value_iteration(
            env, reward, self.temperature, self.tol, self.max_iter, init_values, self.method,
            self.transition_dtype,
        )

    def _policy(self, Q, V):
        return soft_policy(Q, self.temperature)
