"""Metrics for recovered rewards and imitation policies."""

from __future__ import annotations

import numbers

import numpy as np

from .demos import check_demos
from .envs._tabular import as_state_action_reward, check_tabular_env
from .expectations import occupancy_measure
from .policies import check_policy
from .solvers import ValueIteration
from .solvers._tabular import check_rewards
from .utils._numeric import as_float_array
from .utils._validation import check_gamma

__all__ = [
    "policy_value",
    "expected_value_difference",
    "feature_expectation_gap",
    "log_likelihood",
    "epic_distance",
    "transfer_value_difference",
    "transfer_return",
]


def policy_value(env, policy, reward):
    """Expected discounted return of ``policy`` under ``reward`` from the env's start states.

    Computed as ``sum_{s,a} d_pi(s, a) r(s, a)`` with the exact occupancy measure.

    Parameters
    ----------
    env : TabularMDP
    policy : TabularPolicy or array-like of shape (S, A) or (H, S, A)
    reward : array-like of shape (S,) or (S, A), or a stack (K, S) or (K, S, A)
        K rewards share one occupancy computation.

    Returns
    -------
    value : float, or ndarray of shape (K,) for a stack of rewards

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.metrics import policy_value
    >>> env = GridWorld(3, gamma=0.5)
    >>> round(policy_value(env, np.full((9, 4), 0.25), np.ones(9)), 6)  # 1 / (1 - 0.5)
    2.0
    """
    env = check_tabular_env(env)
    r, K = check_rewards(reward, env.n_states, env.n_actions)
    d = occupancy_measure(env, policy)
    if K is None:
        return float(np.sum(d * r))
    return r.reshape(K, -1) @ d.reshape(-1)  # one occupancy for all K rewards


def expected_value_difference(env, true_reward=None, learned_reward=None, policy=None):
    """Expected value difference (Levine et al. 2011).

    ``EVD = V*(true) - V^pi(true)``: the optimal value under the true reward minus the value,
    under the true reward, of ``pi``, which is either the given ``policy`` or the greedy
    optimal policy of ``learned_reward``. Values are from the env's initial distribution.

    Parameters
    ----------
    env : TabularMDP
    true_reward : array-like of shape (S,) or (S, A), default=None
        ``env.reward`` when None.
    learned_reward : array-like of shape (S,) or (S, A), default=None
    policy : TabularPolicy or array-like, default=None
        Give exactly one of ``learned_reward`` and ``policy``.

    Returns
    -------
    evd : float
        Non-negative up to solver tolerance; 0 when the learned reward induces an optimal policy.

    Examples
    --------
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.metrics import expected_value_difference
    >>> env = GridWorld(4, gamma=0.9)
    >>> expected_value_difference(env, learned_reward=env.reward)
    0.0
    """
    env = check_tabular_env(env)
    true_reward = env.reward if true_reward is None else true_reward
    if true_reward is None:
        raise ValueError("env has no ground-truth reward; pass true_reward=.")
    if (learned_reward is None) == (policy is None):
        raise ValueError("give exactly one of learned_reward and policy.")
    solver = ValueIteration()
    optimal = policy_value(env, solver.solve(env, true_reward), true_reward)
    if policy is None:
        policy = solver.solve(env, learned_reward)
    evd = optimal - policy_value(env, policy, true_reward)
    scale = max(1.0, abs(optimal))
    return 0.0 if abs(evd) < 1e-9 * scale else float(evd)


def feature_expectation_gap(expert_feature_expectations, feature_expectations, ord=2):
    """Norm of the difference between expert and policy feature expectations.

    Examples
    --------
    >>> from sklirl.metrics import feature_expectation_gap
    >>> feature_expectation_gap([1.0, 2.0], [1.0, 0.0])
    2.0
    """
    a = as_float_array(expert_feature_expectations, "expert_feature_expectations", copy=False)
    b = as_float_array(feature_expectations, "feature_expectations", copy=False)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"feature expectations must be 1-D of equal shape, got {a.shape}, {b.shape}."
        )
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("feature expectations contain NaN or infinity.")
    return float(np.linalg.norm(a - b, ord=ord))


def log_likelihood(policy, demos):
    """Mean per-step log-likelihood of the demonstrations' actions under a tabular policy.

    Time-indexed (finite-horizon) policies use the step index within each trajectory.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.metrics import log_likelihood
    >>> round(log_likelihood(np.full((2, 2), 0.5), [([0, 1], [1])]), 6)
    -0.693147
    """
    policy = check_policy(policy)
    trajs = check_demos(demos, n_states=policy.n_states, n_actions=policy.n_actions)
    s = np.concatenate([t.states[: len(t)] for t in trajs])
    a = np.concatenate([t.actions for t in trajs])
    steps = np.concatenate([np.arange(len(t)) for t in trajs])
    return float(np.mean(policy.log_prob(s, a, t=steps)))


def _epic_moments(reward_a, reward_b, S, A, gamma):
    """Covariance and variances of the two canonicalised rewards under uniform ``(s, a, s')``.

    Each reward is first divided by its largest magnitude (EPIC is scale-invariant), so the
    variances are on a unit scale. For ``(S,)`` and ``(S, A)`` rewards the canonical reward
    splits as ``C(s, a, s') = X(s, a) + gamma * Y(s')`` with ``X = r - mean_a r`` and
    ``Y = mean_a r - mean``: the two parts depend on independent coordinates, so the moments
    are sums of ``(S, A)`` and ``(S,)`` moments and nothing of size ``S^2 A`` is formed.
    ``(S, A, S)`` rewards use the full tensor.
    """
    rewards = []
    for name, reward in (("reward_a", reward_a), ("reward_b", reward_b)):
        r = as_float_array(reward, name)
        if r.shape != (S, A, S):
            r = as_state_action_reward(r, S, A, name)
        elif not np.all(np.isfinite(r)):
            raise ValueError(f"{name} contains NaN or infinity.")
        top = np.abs(r).max()
        rewards.append(r / top if top > 0 else r)
    if all(r.ndim == 2 for r in rewards):
        parts = []
        for r in rewards:
            m = r.mean(axis=1)
            x, y = r - m[:, None], m - m.mean()
            parts.append((x - x.mean(), y))
        (xa, ya), (xb, yb) = parts
        g2 = gamma * gamma
        return (np.mean(xa * xb) + g2 * np.mean(ya * yb),
                np.mean(xa * xa) + g2 * np.mean(ya * ya),
                np.mean(xb * xb) + g2 * np.mean(yb * yb))
    canon = []
    for r in rewards:
        R = r if r.ndim == 3 else np.broadcast_to(r[:, :, None], (S, A, S))
        m = R.mean(axis=(1, 2))  # E_{A, S'} R(s, A, S') for each s
        C = R + gamma * m[None, None, :] - m[:, None, None]
        canon.append((C - C.mean()).ravel())
    a, b = canon
    return np.mean(a * b), np.mean(a * a), np.mean(b * b)


def epic_distance(reward_a, reward_b, *, gamma=None, env=None):
    """EPIC pseudometric between two tabular rewards (Gleave et al. 2021).

    Each reward ``R(s, a, s')`` is canonicalised with uniform coverage distributions over
    states and actions,
    ``C(R)(s, a, s') = R(s, a, s') + E[gamma R(s', A, S') - R(s, A, S') - gamma R(S, A, S')]``,
    which removes potential shaping; the distance is the Pearson distance
    ``sqrt((1 - corr) / 2)`` of the canonical rewards under uniform ``(s, a, s')``.
    It is 0 for potential-shaped and positively rescaled rewards and 1 for a negated reward.

    Parameters
    ----------
    reward_a, reward_b : array-like of shape (S,), (S, A) or (S, A, S)
    gamma : float, default=None
        Discount of the shaping; ``env.gamma`` when None.
    env : TabularMDP, default=None
        Supplies ``gamma`` and the numbers of states and actions.

    Returns
    -------
    distance : float in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.metrics import epic_distance
    >>> r = np.arange(6.0).reshape(3, 2)
    >>> round(epic_distance(r, 2 * r + 1, gamma=0.9), 8), round(epic_distance(r, -r, gamma=0.9), 8)
    (0.0, 1.0)
    """
    if gamma is None:
        if env is None:
            raise ValueError("give gamma or env.")
        gamma = check_tabular_env(env).gamma
    if isinstance(gamma, np.ndarray) and gamma.ndim == 0 and gamma.dtype.kind in "iuf":
        gamma = gamma.item()  # a 0-d array, e.g. np.float64 arithmetic kept as an array
    gamma = check_gamma(gamma)
    if env is not None:
        S, A = check_tabular_env(env).n_states, env.n_actions
    else:
        shapes = [np.shape(reward_a), np.shape(reward_b)]
        for name, shape in zip(("reward_a", "reward_b"), shapes):
            if not 1 <= len(shape) <= 3:
                raise ValueError(
                    f"{name} must be an array of shape (S,), (S, A) or (S, A, S), got {shape}."
                )
        S = shapes[0][0]
        A = next((shape[1] for shape in shapes if len(shape) > 1), 1)
        if S == 0 or A == 0:
            raise ValueError(
                f"epic_distance needs rewards of at least one state and action, got shapes "
                f"{shapes[0]} and {shapes[1]}."
            )
    cov, var_a, var_b = _epic_moments(reward_a, reward_b, S, A, float(gamma))
    # Rewards are on a unit scale here: below this variance a canonical reward is constant
    # (up to rounding), and its correlation with anything is undefined.
    flat_a, flat_b = var_a <= _EPIC_CONSTANT_VAR, var_b <= _EPIC_CONSTANT_VAR
    if flat_a or flat_b:
        # distance 0 between two constants, 1/sqrt(2) (zero correlation) otherwise
        return 0.0 if flat_a and flat_b else float(np.sqrt(0.5))
    # sqrt(v * v) == v exactly in binary floating point, so C(-R) = -C(R) gives corr = -1
    corr = float(np.clip(cov / np.sqrt(var_a * var_b), -1.0, 1.0))
    return float(np.sqrt((1.0 - corr) / 2.0))


_EPIC_CONSTANT_VAR = 1e-24


def _transferred_reward(estimator, env):
    """A fitted estimator's learned reward evaluated on the states of ``env`` (its
    ``transfer_reward`` checks that it is fitted)."""
    transfer = getattr(estimator, "transfer_reward", None)
    if transfer is None:
        raise TypeError(
            f"{type(estimator).__name__} has no transfer_reward(env): transfer metrics need an "
            "estimator that learns a reward (MaxEntIRL, MaxMarginIRL, GAIL, AIRL)."
        )
    return transfer(env)


def transfer_value_difference(estimator, env, *, true_reward=None, planner="greedy"):
    """How well a learned reward transfers: the EVD of planning on it in a new tabular env.

    The fitted estimator's reward is evaluated on the states of ``env`` (its
    ``transfer_reward``, through the fitted feature map: AIRL's disentangled ``g``, GAIL's
    discriminator reward, MaxEntIRL's and MaxMarginIRL's ``w . phi``), a policy is planned on
    it in ``env``, and its value under the true reward is compared with the optimal value
    there (:func:`expected_value_difference`). Read more in :ref:`reward_transfer`.

    Parameters
    ----------
    estimator : fitted estimator with ``transfer_reward(env)``
        Fitted on another env whose states the same feature map describes.
    env : TabularMDP
        The new env (other dynamics: walls, slip, size, objects).
    true_reward : array-like of shape (S,) or (S, A), default=None
        ``env.reward`` when None.
    planner : {"greedy", "soft"}, default="greedy"
        Plan the optimal (value iteration) or the maximum-entropy (soft value iteration,
        temperature 1) policy of the learned reward.

    Returns
    -------
    evd : float
        ``V*(true) - V^pi(true)`` in ``env``: 0 for a reward whose plan is optimal there.

    See Also
    --------
    transfer_return : The same question on gymnasium envs.

    Examples
    --------
    >>> from sklearn.preprocessing import PolynomialFeatures
    >>> from sklirl import MaxEntIRL
    >>> from sklirl.datasets import make_expert_demos
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.metrics import transfer_value_difference
    >>> train, test = GridWorld(4, gamma=0.9), GridWorld(4, gamma=0.9, slip=0.3)
    >>> demos, _ = make_expert_demos(train, 20, horizon=8, random_state=0)
    >>> est = MaxEntIRL(PolynomialFeatures(1)).fit(demos, train)
    >>> round(transfer_value_difference(est, test), 3)
    0.0
    """
    env = check_tabular_env(env)
    if planner not in ("greedy", "soft"):
        raise ValueError(f"planner must be 'greedy' or 'soft', got {planner!r}.")
    reward = _transferred_reward(estimator, env)
    if planner == "greedy":
        return expected_value_difference(env, true_reward, learned_reward=reward)
    from .solvers import SoftValueIteration

    policy = SoftValueIteration(temperature=1.0).solve(env, reward)
    return expected_value_difference(env, true_reward, policy=policy)


def transfer_return(estimator, env, *, solver=None, n_episodes=20, random_state=None):
    """How well a learned reward transfers to a gymnasium env: the true return of a policy
    trained from scratch on it there.

    A fresh :class:`~sklirl.solvers.PPO` is trained in ``env`` on
    ``estimator.predict_reward(observations, actions)`` (AIRL's ``g``; GAIL's discriminator
    reward), then its greedy policy is run for ``n_episodes`` episodes on ``env``'s own
    reward. Read more in :ref:`reward_transfer`.

    Parameters
    ----------
    estimator : fitted estimator
        Fitted on a gymnasium env with the observation and action spaces of ``env``.
    env : gymnasium.Env, str or callable
        The new env: an instance (re-made from its spec when it has one, so attributes set
        on it after ``gymnasium.make`` are lost), a registered id, or a zero-argument callable
        that builds it (e.g. with other physics).
    solver : PPO or None, default=None
        The trainer (cloned); None uses ``PPO(total_timesteps=100_000)``.
    n_episodes : int, default=20
        Evaluation episodes.
    random_state : int, RandomState instance or None, default=None
        Seeds the trainer (unless it has a seed) and the evaluation.

    Returns
    -------
    returns : ndarray of shape (n_episodes,)
        Undiscounted true returns of the retrained policy's episodes.

    See Also
    --------
    transfer_value_difference : The same question on tabular envs, exactly.

    Examples
    --------
    >>> import gymnasium
    >>> import numpy as np
    >>> from sklirl import AIRL, Trajectory
    >>> from sklirl.metrics import transfer_return
    >>> from sklirl.solvers import PPO
    >>> env = gymnasium.make("CartPole-v1")
    >>> demos = []
    >>> for seed in range(2):  # a hand-written balancing controller, 20 steps
    ...     obs, _ = env.reset(seed=seed)
    ...     states, actions = [obs], []
    ...     for _ in range(20):
    ...         actions.append(int(obs[2] + 0.5 * obs[3] > 0))
    ...         obs = env.step(actions[-1])[0]
    ...         states.append(obs)
    ...     demos.append(Trajectory(np.array(states), np.array(actions)))
    >>> ppo = PPO(n_envs=2, n_steps=32, n_epochs=1, batch_size=64, random_state=0)
    >>> airl = AIRL(max_iter=1, disc_batch_size=16, solver=ppo, random_state=0).fit(demos, env)
    >>> def heavier():  # other physics: a callable that builds the new env
    ...     new = gymnasium.make("CartPole-v1")
    ...     new.unwrapped.masspole = 0.5
    ...     return new
    >>> returns = transfer_return(airl, heavier, solver=ppo.set_params(total_timesteps=64),
    ...                           n_episodes=3, random_state=0)
    >>> returns.shape
    (3,)
    """
    from sklearn.base import clone
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import check_is_fitted

    from .solvers import PPO

    check_is_fitted(estimator)
    if not hasattr(estimator, "predict_reward"):
        raise TypeError(f"{type(estimator).__name__} has no predict_reward.")
    if not isinstance(n_episodes, numbers.Integral) or n_episodes < 1:
        raise ValueError(f"n_episodes must be a positive int, got {n_episodes!r}.")
    rng = check_random_state(random_state)
    solver = PPO(total_timesteps=100_000) if solver is None else clone(solver)
    if solver.random_state is None:
        solver.set_params(random_state=int(rng.randint(2**31 - 1)))

    def reward(observations, actions, next_observations):
        return estimator.predict_reward(observations, actions)

    policy = solver.solve(env, reward=reward)
    return policy.evaluate(env, n_episodes=n_episodes, random_state=int(rng.randint(2**31 - 1)))
