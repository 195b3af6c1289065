"""The linear systems ``(I - gamma P_pi)`` of a stationary policy in a discounted TabularMDP.

Two solves share them: policy evaluation ``(I - gamma P_pi) V = r_pi`` (the planners' policy
iteration) and the Bellman flow ``(I - gamma P_pi)^T d = mu_0`` (the exact occupancy
measure). Both use a sparse LU up to :data:`DIRECT_SOLVE_MAX_STATES` states and BiCGSTAB
above it (or first, from a warm start).
"""

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

# Above this many states the solves use BiCGSTAB instead of a sparse LU.
DIRECT_SOLVE_MAX_STATES = 200_000
# Above this many states policy evaluation tries BiCGSTAB (warm started) first, the LU being
# the fallback.
KRYLOV_MIN_STATES = 2_000


def policy_state_matrix(env, probs):
    """Sparse ``(S, S)`` state-to-state transitions under a stationary policy ``(S, A)``."""
    S, A = env.n_states, env.n_actions
    pi = sp.csr_matrix(
        (probs.ravel(), np.arange(S * A), np.arange(0, S * A + 1, A)), shape=(S, S * A)
    )
    return (pi @ env.transition_matrix).tocsr()


def evaluate_policy(env, probs, reward_pi, x0, eye=None):
    """Solve ``(I - gamma P_pi) V = reward_pi`` for a stationary policy; None if it fails.

    BiCGSTAB started from ``x0`` above a few thousand states (a few dozen sparse products,
    several times cheaper than a sparse LU), the sparse LU otherwise or as the fallback.
    """
    S = env.n_states
    eye = sp.identity(S, format="csr") if eye is None else eye
    M = eye - env.gamma * policy_state_matrix(env, probs)
    # Solve for the correction to x0 (one step of iterative refinement): the solvers' relative
    # tolerance then applies to the current residual, not to |reward_pi|, so successive
    # policy-iteration steps keep gaining digits down to rounding level instead of stalling
    # at rtol * |reward_pi| / (1 - gamma) (36,000 sweeps at gamma = 0.9999 before).
    # The residual is scaled to unit max-norm: BiCGSTAB's breakdown test is absolute (eps^2).
    residual = reward_pi - M @ x0
    scale = np.max(np.abs(residual))
    if not scale > 0:
        return x0.copy() if scale == 0 else None
    residual /= scale
    d = None
    if S > KRYLOV_MIN_STATES or S > DIRECT_SOLVE_MAX_STATES:
        d, info = spla.bicgstab(M, residual, rtol=1e-12, maxiter=1000)
        d = d if info == 0 else None
    if d is None and S <= DIRECT_SOLVE_MAX_STATES:
        d = spla.spsolve(M.tocsc(), residual)
    V = None if d is None else x0 + scale * d
    return V if V is not None and np.all(np.isfinite(V)) else None


def state_visitation(env, probs, mu0, x0=None):
    """Solve the flow equations ``(I - gamma P_pi^T) d_S = mu0`` for the state visitation.

    BiCGSTAB from ``x0`` when given (a nearby policy's visitation), then the sparse LU, or
    above :data:`DIRECT_SOLVE_MAX_STATES` BiCGSTAB from ``mu0 / (1 - gamma)`` with the
    fixed-point iteration as the always-convergent fallback.
    """
    S, gamma = env.n_states, env.gamma
    P_pi = policy_state_matrix(env, probs)
    M = (sp.eye(S, format="csr") - gamma * P_pi).T.tocsc()
    if x0 is not None:
        d_s, info = spla.bicgstab(M, mu0, x0=x0, rtol=1e-12, maxiter=1000)
        if info == 0 and np.all(np.isfinite(d_s)):
            return d_s
    if S <= DIRECT_SOLVE_MAX_STATES:
        return spla.spsolve(M, mu0)
    d_s, info = spla.bicgstab(M, mu0, x0=mu0 / (1 - gamma), rtol=1e-12, maxiter=10_000)
    if info != 0:  # fall back to the (slower, always convergent) fixed-point iteration
        PT = P_pi.T.tocsr()
        d_s = mu0 / (1 - gamma)
        for _ in range(100_000):
            new = mu0 + gamma * (PT @ d_s)
            if np.max(np.abs(new - d_s)) < 1e-12 * max(1.0, np.max(np.abs(new))):
                return new
            d_s = new
    return d_s
