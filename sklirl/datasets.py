"""Sampling demonstrations from tabular MDPs and expert policies."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state

from .demos import Trajectory
from .envs._tabular import check_tabular_env
from .policies import check_policy, sample_categorical
from .solvers import SoftValueIteration
from .utils._validation import MAX_SEED

__all__ = ["sample_trajectories", "make_expert_demos", "record_episodes"]


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


def _episode_actor(policy, deterministic):
    """``act(policy, observations, rng) -> actions`` for any kind of policy (see
    :func:`record_episodes`)."""
    from .base import BaseIRL

    def legacy(rng):  # the rollouts draw from a Generator; tabular sampling takes a RandomState
        return np.random.RandomState(rng.integers(MAX_SEED))

    if isinstance(policy, BaseIRL) or (hasattr(policy, "predict_proba")
                                       and not hasattr(policy, "sample")):
        def act(pol, observations, rng):
            if deterministic:
                return np.asarray(pol.predict(observations))
            return sample_categorical(np.asarray(pol.predict_proba(observations)), legacy(rng))
        return act
    if hasattr(policy, "sample") and not deterministic:
        def act(pol, observations, rng):
            from .solvers import TabularPolicy

            seed = legacy(rng) if isinstance(pol, TabularPolicy) else rng
            return np.asarray(pol.sample(observations, random_state=seed))
        return act
    if hasattr(policy, "predict"):  # stable-baselines3 models and policies, TorchPolicy
        def act(pol, observations, rng):
            out = pol.predict(observations, deterministic=deterministic)
            return np.asarray(out[0] if isinstance(out, tuple) else out)
        return act
    if callable(policy):
        return lambda pol, observations, rng: [pol(o) for o in observations]
    raise TypeError(
        "policy must be a callable observation -> action, a stable-baselines3 model, a fitted "
        f"sklirl estimator or a policy with sample/predict, got {type(policy).__name__}."
    )


def record_episodes(env, policy, n_episodes, *, max_steps=None, deterministic=True,
                    random_state=None, return_rewards=False):
    """Record episodes of a policy acting in a gymnasium environment.

    Each episode starts from ``env.reset(seed=...)`` with a seed drawn from
    ``random_state`` and runs until the env says ``terminated`` or ``truncated`` (or
    ``max_steps`` steps). The episodes run in copies of ``env``; ``env`` itself is never
    stepped.

    Parameters
    ----------
    env : gymnasium.Env
    policy : callable, stable-baselines3 model, fitted sklirl estimator or policy
        A callable maps one observation to one action. A stable-baselines3 model (or
        anything with ``predict(observations, deterministic=...)``) and a fitted sklirl
        estimator (``predict``/``predict_proba``) act on a batch of observations; a policy
        with ``sample(observations, random_state)`` samples with ``deterministic=False``.
    n_episodes : int
    max_steps : int, default=None
        Cut episodes after this many steps (they are then ``terminal=False``). None: the
        env's ``spec.max_episode_steps`` (its ``TimeLimit``); required when it has none.
    deterministic : bool, default=True
        Models and estimators act greedily (``predict``); False samples their actions.
        A plain callable decides for itself.
    random_state : int, RandomState instance or None, default=None
        Seeds the resets (and sampled actions).
    return_rewards : bool, default=False
        Also return each episode's rewards.

    Returns
    -------
    trajectories : list of Trajectory
        ``T + 1`` observations (the final one included) and ``T`` actions each, with
        ``terminal=True`` for the episodes that ended by ``terminated``: these are the
        demonstrations every estimator accepts (see :ref:`terminal_states`).
    rewards : list of ndarray of shape (T,)
        Only with ``return_rewards=True``.

    Examples
    --------
    >>> import gymnasium as gym
    >>> from sklirl.datasets import record_episodes
    >>> env = gym.make("FrozenLake-v1", is_slippery=False)
    >>> demos = record_episodes(env, lambda obs: 2 if obs in (0, 1, 14) else 1,
    ...                         n_episodes=3, random_state=0)
    >>> demos[0].states.tolist(), demos[0].actions.tolist(), demos[0].terminal
    ([0, 1, 2, 6, 10, 14, 15], [2, 2, 1, 1, 1, 2], True)
    """
    from .envs._gym import is_gymnasium_env
    from .expectations import _gym_rollout_blocks

    if not is_gymnasium_env(env):
        raise TypeError(f"env must be a gymnasium.Env, got {type(env).__name__}.")
    if (not isinstance(n_episodes, numbers.Integral) or isinstance(n_episodes, bool)
            or n_episodes < 1):
        raise ValueError(f"n_episodes must be a positive int, got {n_episodes!r}.")
    if max_steps is None:
        spec = getattr(env, "spec", None)
        max_steps = getattr(spec, "max_episode_steps", None)
        if max_steps is None:
            raise ValueError(
                "env has no time limit (spec.max_episode_steps): pass max_steps= to bound the "
                "episodes."
            )
    if not isinstance(max_steps, numbers.Integral) or isinstance(max_steps, bool) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive int, got {max_steps!r}.")
    act = _episode_actor(policy, deterministic)
    episodes = _gym_rollout_blocks(env, policy, [(int(n_episodes), random_state)],
                                   int(max_steps), record=True, act=act)
    trajs = [Trajectory(obs, actions, terminal=end) for obs, actions, _, end in episodes]
    if return_rewards:
        return trajs, [rewards for _, _, rewards, _ in episodes]
    return trajs
