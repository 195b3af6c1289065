"""Sampling demonstrations from tabular MDPs and expert policies."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state

from .demos import Trajectory
from .envs._tabular import check_tabular_env
from .policies import check_policy, sample_categorical
from .solvers import SoftValueIteration
from .utils._resources import check_memory, check_work

__all__ = ["sample_trajectories", "make_expert_demos"]


def sample_trajectories(
    env, policy, n_trajectories, horizon=None, random_state=None, initial_states=None
):
    """Roll out a tabular policy, vectorised over trajectories.

    Parameters
    ----------
    env : TabularMDP
    policy : TabularPolicy or array-like of shape (S, A) or (H, S, A)
    n_trajectories : int
    horizon : int, default=None
        Steps per trajectory; the env's horizon when None (required for discounted envs).
    random_state : int, RandomState instance or None, default=None
    initial_states : array-like of shape (n_trajectories,), default=None
        Start states; drawn from the env's initial distribution when None.

    Returns
    -------
    trajectories : list of Trajectory
        Each with ``horizon + 1`` states (final state included) and ``horizon`` actions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.datasets import sample_trajectories
    >>> env = GridWorld(3, gamma=0.9)
    >>> trajs = sample_trajectories(env, np.full((9, 4), 0.25), 5, horizon=4, random_state=0)
    >>> len(trajs), len(trajs[0]), len(trajs[0].states)
    (5, 4, 5)
    """
    env = check_tabular_env(env)
    policy = check_policy(policy, env)
    if (not isinstance(n_trajectories, numbers.Integral) or isinstance(n_trajectories, bool)
            or n_trajectories < 1):
        raise ValueError(f"n_trajectories must be a positive int, got {n_trajectories!r}.")
    H = env.horizon if horizon is None else horizon
    if H is None:
        raise ValueError("horizon is required to sample from a discounted (infinite-horizon) env.")
    if not isinstance(H, numbers.Integral) or isinstance(H, bool) or H < 1:
        raise ValueError(f"horizon must be a positive int, got {H!r}.")
    if policy.horizon is not None and H > policy.horizon:
        raise ValueError(
            f"the time-indexed policy covers {policy.horizon} steps; cannot sample {H} steps."
        )
    rng = check_random_state(random_state)
    S, A, N = env.n_states, env.n_actions, int(n_trajectories)
    what = f"sample_trajectories of {N} trajectories x {H} steps"
    check_memory(8.0 * N * (2.0 * H + 1) * 2, what, "Sample fewer or shorter trajectories.")
    check_work(float(H) * (1e4 + 10.0 * N), what)
    states = np.empty((N, H + 1), dtype=np.intp)
    actions = np.empty((N, H), dtype=np.intp)
    if initial_states is None:
        states[:, 0] = sample_categorical(
            np.broadcast_to(env.initial_state_distribution, (N, S)), rng
        )
    else:
        s0 = np.asarray(initial_states)
        if s0.shape != (N,) or s0.dtype.kind not in "iu" or (s0 < 0).any() or (s0 >= S).any():
            raise ValueError(f"initial_states must be {N} state indices in [0, {S}).")
        states[:, 0] = s0
    P = env.transition_matrix
    cum = np.concatenate([[0.0], np.cumsum(P.data)])
    for t in range(H):
        a = sample_categorical(policy.at(t)[states[:, t]], rng)
        rows = states[:, t] * A + a
        lo, hi = P.indptr[rows], P.indptr[rows + 1]
        target = cum[lo] + rng.random_sample(N) * (cum[hi] - cum[lo])
        idx = np.clip(np.searchsorted(cum, target, side="right") - 1, lo, hi - 1)
        actions[:, t] = a
        states[:, t + 1] = P.indices[idx]
    return [Trajectory(states[i], actions[i]) for i in range(N)]


def make_expert_demos(
    env, n_trajectories, horizon=None, reward=None, temperature=1.0, random_state=None
):
    """Demonstrations of the soft-optimal (maximum-entropy) expert for the env's true reward.

    Parameters
    ----------
    env : TabularMDP
        With ``env.reward`` set, unless ``reward`` is given.
    n_trajectories : int
    horizon : int, default=None
        The env's horizon when None (required for discounted envs).
    reward : array-like of shape (S,) or (S, A), default=None
        Reward the expert optimises; ``env.reward`` when None.
    temperature : float, default=1.0
        Entropy weight of the soft-optimal expert (lower: more deterministic).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    demos : list of Trajectory
    policy : TabularPolicy
        The expert policy.

    Examples
    --------
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.datasets import make_expert_demos
    >>> demos, expert = make_expert_demos(GridWorld(4, gamma=0.9), 10, horizon=8, random_state=0)
    >>> len(demos), expert.probs.shape
    (10, (16, 4))
    """
    env = check_tabular_env(env)
    reward = env.reward if reward is None else reward
    if reward is None:
        raise ValueError("env has no ground-truth reward; pass reward=.")
    policy = SoftValueIteration(temperature=temperature).solve(env, reward)
    demos = sample_trajectories(env, policy, n_trajectories, horizon, random_state)
    return demos, policy
