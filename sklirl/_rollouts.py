"""Stepping gymnasium environments: the env factory, observation checks and the batched
episode rollouts shared by the policies, PPO, the Monte Carlo expectations and the datasets."""

from __future__ import annotations

import copy
import functools

import gymnasium
import numpy as np
from gymnasium import spaces
from sklearn.utils import check_random_state

from .utils._gym_compat import is_vector_env
from .utils._validation import MAX_SEED

__all__ = ["AbsorbingEncoder", "absorbing_continuation", "absorbing_weight", "add_absorbing_value",
           "check_observation", "env_factory", "env_name", "gym_rollout_blocks", "sample_actions",
           "terminal_absorbing_weights"]


def env_name(env):
    spec = getattr(env, "spec", None)
    if spec is not None and getattr(spec, "id", None):
        return repr(spec.id)
    return type(getattr(env, "unwrapped", env)).__name__


def check_observation(obs, space, env, where):
    """Raise a ValueError naming the env when ``obs`` does not fit the observation space."""
    obs = np.asarray(obs)
    if isinstance(space, spaces.Box):
        if obs.shape != space.shape:
            raise ValueError(
                f"environment {env_name(env)} returned an observation of shape {obs.shape} "
                f"from {where}() but its observation_space is {space} (shape {space.shape}); "
                "fix the env or its observation_space."
            )
        if not np.all(np.isfinite(obs)):
            raise ValueError(
                f"environment {env_name(env)} returned a non-finite observation from "
                f"{where}(): {obs}. PPO needs finite observations (check the env's dynamics, "
                "or wrap it to clip or replace NaN/inf)."
            )


def _make_checked_env(factory):
    env = factory()
    if not isinstance(env, gymnasium.Env):
        raise TypeError(
            f"the env factory {factory!r} returned {type(env).__name__}, not a gymnasium.Env; "
            "pass a zero-argument callable that returns a new environment."
        )
    return env


def env_factory(env):
    """A zero-argument callable that returns fresh copies of ``env``."""
    if isinstance(env, str):
        return functools.partial(gymnasium.make, env)
    # Before the Env test: gymnasium 0.29's VectorEnv is an Env.
    if is_vector_env(env):
        raise TypeError(
            "pass a single environment (instance, id or factory); PPO builds the vector env."
        )
    if isinstance(env, gymnasium.Env):
        spec = env.spec
        # A wrapper without recorded constructor arguments cannot be re-made from the spec.
        if spec is not None and all(w.kwargs is not None for w in spec.additional_wrappers):
            return functools.partial(gymnasium.make, spec)
        return functools.partial(copy.deepcopy, env)
    if callable(env):
        return functools.partial(_make_checked_env, env)
    raise TypeError(
        "env must be a gymnasium.Env, a registered environment id or a zero-argument callable "
        f"returning one, got {type(env).__name__}."
    )


# ------------------------------------------------------------------------------------------------
# Episodes that terminate: the absorbing state (Kostrikov et al., 2019)
# ------------------------------------------------------------------------------------------------
#
# An episode that *terminates* (gymnasium's ``terminated``, or a demo with ``terminal=True``) goes
# on, for the rest of the discounted horizon, in one absorbing state whose reward is learned like
# any other; an episode that is *truncated* (time limit, end of logging) goes on unseen and is
# bootstrapped from the value of its last observation. The adversarial generators and the Monte
# Carlo expectation use the helpers below, so that the reward of ending an episode is the one the
# demos show rather than zero (which makes any positive reward a survival bonus and any negative
# one a reason to end early).


def absorbing_continuation(gamma):
    """``sum_{k >= 1} gamma^k = gamma / (1 - gamma)``: the discounted weight, relative to the
    terminating step, of the absorbing steps that follow it (for ``gamma < 1``)."""
    gamma = float(gamma)
    if not 0.0 <= gamma < 1.0:
        raise ValueError(
            f"the absorbing state's value needs a discount gamma < 1, got {gamma}: with "
            "gamma = 1 an episode that terminates goes on for ever in the absorbing state."
        )
    return gamma / (1.0 - gamma)


def absorbing_weight(gamma):
    """``sum_{k >= 0} gamma^k = 1 / (1 - gamma)``: how many (discounted) steps an episode that
    terminates spends in the absorbing state, counted from the termination. The
    discriminator's absorbing row of each terminated episode (expert or policy) has this
    weight, relative to a weight of 1 for each real step, so that ending early shows as
    absorbing mass in proportion to the horizon it leaves (Kostrikov et al.'s one absorbing
    transition per episode would weigh 1: a signal the discriminator takes many rounds to
    pick up, during which the policy sees no reason to avoid ending or to reach the end)."""
    return 1.0 + absorbing_continuation(gamma)


def add_absorbing_value(rewards, terminated, absorbing_reward, gamma):
    """Rewards of a rollout with the absorbing state's discounted value added at terminations.

    Adding ``gamma / (1 - gamma) * r_abs`` to the reward of each step that terminates is the
    same, for the returns and advantages computed with a zero value after a termination, as
    rolling the episode on for ever in the absorbing state with reward ``r_abs`` (truncated
    steps are untouched: they bootstrap from the value of their final observation).

    Parameters
    ----------
    rewards : ndarray of shape (N,)
    terminated : ndarray of bool, shape (N,)
    absorbing_reward : float
        ``r_abs``, the (learned) reward of the absorbing state.
    gamma : float
        The discount of the returns, below 1.

    Returns
    -------
    rewards : ndarray of shape (N,), float64 (a new array)
    """
    rewards = np.array(rewards, dtype=np.float64)
    terminated = np.asarray(terminated, dtype=bool)
    if terminated.any():
        rewards[terminated] += absorbing_continuation(gamma) * float(absorbing_reward)
    return rewards


class AbsorbingEncoder:
    """A :class:`~sklirl.envs._spaces.SpaceEncoder` whose inputs end with an absorbing-state
    indicator column.

    Real state-actions are ``[obs, action, 0]``; the absorbing state is ``[0, ..., 0, 1]`` (its
    action is immaterial: DAC's zero action). Every other attribute and method is the wrapped
    encoder's; ``input_dim`` and ``continuous_mask`` count the indicator (never standardised).
    """

    def __init__(self, encoder):
        self.encoder = encoder
        self.input_dim = encoder.input_dim + 1
        self.continuous_mask = np.append(encoder.continuous_mask, False)

    def __getattr__(self, name):
        if name == "encoder":  # unpickling: not yet set
            raise AttributeError(name)
        return getattr(self.encoder, name)

    def inputs(self, observations, actions):
        x = self.encoder.inputs(observations, actions)
        return np.hstack([x, np.zeros((len(x), 1))])

    def absorbing_inputs(self, n=1):
        """``n`` rows of the absorbing state's input."""
        x = np.zeros((int(n), self.input_dim))
        x[:, -1] = 1.0
        return x


def terminal_absorbing_weights(demos, sample_weight, gamma):
    """Weights of the expert's absorbing rows, on the scale of its per-step weights.

    Each demo with ``terminal=True`` contributes one absorbing row (the transition into the
    absorbing state that follows its last step, as in Kostrikov et al.'s wrapper) with the
    weight of one of its steps times :func:`absorbing_weight` (the per-step weights of
    :meth:`~sklirl.envs._spaces.SpaceEncoder.demo_arrays` sum to 1 over the demos' steps).
    ``demos`` are checked trajectories.

    Returns
    -------
    weights : ndarray of shape (n_terminal_demos,)
    """
    w = np.ones(len(demos)) if sample_weight is None else np.asarray(sample_weight, float)
    steps = np.array([len(t) for t in demos], dtype=np.float64)
    total = float((w * steps).sum())
    terminal = np.array([bool(getattr(t, "terminal", False)) for t in demos], dtype=bool)
    return w[terminal] / total * absorbing_weight(gamma)


def sample_actions(policy, observations, rng):
    """Stochastic actions of ``policy`` for a batch of observations."""
    if hasattr(policy, "sample"):
        return np.asarray(policy.sample(observations, random_state=rng))
    actions = policy.predict(observations, deterministic=False)
    if isinstance(actions, tuple):  # stable-baselines3's predict returns (actions, state)
        actions = actions[0]
    return np.asarray(actions)


def gym_rollout_blocks(env, policy, blocks, horizon, record=False, act=None):
    """Episodes of independently seeded blocks ``[(n_episodes, random_state), ...]``.

    All the blocks' episodes run side by side, but each block draws its reset seeds, mixture
    components and actions from its own ``random_state`` and its episodes are batched only
    with each other (one policy call per block and component per step), so an episode's
    result depends on its block alone, not on which other blocks run with it.

    ``record=True`` returns ``(observations (T + 1, ...), actions (T, ...), rewards (T,),
    terminated)`` per episode instead: the observations in their own shape, the final one
    included, and whether the episode ended by ``terminated`` (not cut by ``truncated`` or
    ``horizon``). ``act(policy, observations, rng)`` replaces :func:`sample_actions`.
    """
    act = sample_actions if act is None else act
    block_of, seeds, actors, rngs = [], [], [], []
    for b, (n_episodes, random_state) in enumerate(blocks):
        rng = check_random_state(random_state)
        seeds.extend(rng.randint(MAX_SEED, size=n_episodes))
        action_rng = np.random.default_rng(rng.randint(MAX_SEED))
        rngs.append(action_rng)
        if hasattr(policy, "sample_component"):
            actors.extend(policy.sample_component(action_rng) for _ in range(n_episodes))
        else:
            actors.extend([policy] * n_episodes)
        block_of.extend([b] * n_episodes)
    n_total = len(seeds)
    envs = [copy.deepcopy(env) for _ in range(n_total)]
    obs = [np.asarray(e.reset(seed=int(seed))[0]) for e, seed in zip(envs, seeds)]
    observations = [[] for _ in range(n_total)]
    rewards = [[] for _ in range(n_total)]
    taken = [[] for _ in range(n_total)]
    ended = [False] * n_total
    active = list(range(n_total))
    try:
        for _ in range(horizon):
            if not active:
                break
            actions = {}
            groups = {}
            for i in active:
                groups.setdefault((block_of[i], id(actors[i])), []).append(i)
            for (b, _), rows in groups.items():
                batch = np.stack([obs[i] for i in rows])
                for i, a in zip(rows, act(actors[rows[0]], batch, rngs[b])):
                    actions[i] = a
            still_active = []
            for i in active:
                observations[i].append(obs[i])
                next_obs, reward, terminated, truncated, _ = envs[i].step(actions[i])
                rewards[i].append(float(reward))
                if record:
                    taken[i].append(actions[i])
                    ended[i] = bool(terminated)
                obs[i] = np.asarray(next_obs)
                if not (terminated or truncated):
                    still_active.append(i)
            active = still_active
    finally:
        for e in envs:
            e.close()
    if record:
        return [
            (np.stack(o + [last]), np.asarray(a), np.asarray(r, dtype=np.float64), end)
            for o, last, a, r, end in zip(observations, obs, taken, rewards, ended)
        ]
    return [
        (np.asarray(o).reshape(len(o), -1), np.asarray(r, dtype=np.float64))
        for o, r in zip(observations, rewards)
    ]
