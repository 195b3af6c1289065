"""The generators of the adversarial loop: the policy and how one step of it is trained.

The interface is documented in :mod:`sklirl.irl._adversarial`. :data:`GENERATORS` lists the
classes in the order they are tried: the first whose ``accepts(env, solver)`` holds is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone

from .._rollouts import (
    AbsorbingEncoder,
    absorbing_continuation,
    absorbing_weight,
    add_absorbing_value,
    terminal_absorbing_weights,
)
from ..base import is_tabular_env
from ..demos import check_demos
from ..envs._spaces import SpaceEncoder
from ..expectations import (
    ExactExpectation,
    expert_occupancy,
    occupancy_measure,
    policy_from_occupancy,
)
from ..features import state_action_features
from ..metrics import policy_value
from ..solvers import SoftValueIteration, TabularPolicy
from ..utils._optional import import_torch
from ..utils._persistence import (
    copy_training_state,
    restore_training_state,
    state_dict_from_bytes,
    state_dict_to_bytes,
)
from ..utils._validation import MAX_SEED

__all__ = ["GENERATORS", "PPOGenerator", "SB3Generator", "Samples", "TabularGenerator"]

@dataclass
class Samples:
    """State-actions of a policy or of the expert, as the discriminator and the generator see them.

    Attributes
    ----------
    inputs : ndarray or scipy sparse matrix of shape (n, input_dim)
        The discriminator's inputs (encoded state-actions).
    weights : ndarray of shape (n,) or None
        Probability of each row (tabular occupancies, the expert's demo weights), or None for
        i.i.d. samples.
    observations, actions : ndarray
        States (indices on tabular envs) and actions of the rows.
    next_observations : ndarray or None
        ``s'`` of each row, where the generator has it.
    log_probs : ndarray of shape (n,) or None
        ``log pi(a|s)`` under the policy that sampled the rows (generator samples only).
    terminated : ndarray of bool of shape (n,) or None
        Whether ``s'`` ended the episode in a terminal state (PPO generator; None: unknown).
    occupancy : ndarray of shape (S, A) or None
        Tabular generators: the occupancy measure the weights are normalised from.
    policy : object or None
        The policy that sampled the rows.
    absorbing_inputs : ndarray of shape (m, input_dim) or None
        Gymnasium envs, estimators with absorbing states (GAIL): one row of the absorbing state
        per episode that terminated (see :class:`sklirl._rollouts.AbsorbingEncoder`); the
        discriminator trains on them with the other rows.
    absorbing_weights : ndarray of shape (m,) or None
        Their weights: relative to ``weights`` (the expert's), or to a weight of 1 per row
        (i.i.d. policy samples); see :func:`sklirl._rollouts.absorbing_weight`.
    """

    inputs: Any
    weights: Any = None
    observations: Any = None
    actions: Any = None
    next_observations: Any = None
    log_probs: Any = None
    terminated: Any = None
    occupancy: Any = None
    policy: Any = None
    absorbing_inputs: Any = None
    absorbing_weights: Any = None


def tabular_samples(phi, n_actions, **fields):
    """Every state-action of a tabular env: the discriminator's inputs are the state features
    copied per action (dense unless large and sparse), rows ``s * A + a``."""
    X = state_action_features(phi, n_actions)
    if X.shape[0] * X.shape[1] <= 4_000_000:
        X = X.toarray()
    S = X.shape[0] // n_actions
    return Samples(X, observations=np.repeat(np.arange(S), n_actions),
                   actions=np.tile(np.arange(n_actions), S), **fields)


# ------------------------------------------------------------------------------------------------
# tabular envs: exact soft value iteration
# ------------------------------------------------------------------------------------------------


class TabularGenerator:
    """Tabular envs: the policy step is exact soft value iteration (temperature
    ``entropy_coef``), the samples the exact (or Monte Carlo) occupancy measure; the returned
    policy is that of the rounds' averaged occupancy (``n_average_rounds``)."""

    full_batch, dtype = True, "float64"  # full-batch steps on exact occupancies: keep them exact

    @staticmethod
    def accepts(env, solver):
        return is_tabular_env(env)

    def __init__(self, estimator, env):
        self.estimator, self.env = estimator, env
        self.reward_table = None

    def setup(self, demos, sample_weight):
        est, env = self.estimator, self.env
        self.entropy_coef = est._policy_entropy_coef("tabular")
        if self.entropy_coef <= 0:
            raise ValueError(
                "entropy_coef must be positive on tabular envs (it is the temperature of soft "
                f"value iteration), got {est.entropy_coef}."
            )
        S, A = env.n_states, env.n_actions
        self._pairs = tabular_samples(est._fit_feature_map(env), A)
        X = self._pairs.inputs
        self.input_dim = X.shape[1]
        self.continuous_mask = (np.zeros(X.shape[1], dtype=bool) if sp.issparse(X)
                                else ~np.all((X == 0) | (X == 1), axis=0))
        self.signature = ("tabular", self.input_dim, S, A, env.horizon)
        self.solver = SoftValueIteration(temperature=self.entropy_coef)
        # The expert's state-action distribution (normalised discounted visitation).
        self._rho_E = expert_occupancy(demos, env, sample_weight=sample_weight)
        rho = self._rho_E.ravel()
        return Samples(X, rho / rho.sum(), self._pairs.observations, self._pairs.actions,
                       occupancy=self._rho_E)

    def seed(self, rng):
        est, env = self.estimator, self.env
        expectation = ExactExpectation() if est.expectation is None else clone(est.expectation)
        if "random_state" in expectation.get_params():
            seed = rng.randint(MAX_SEED)  # drawn either way, so the fit's other seeds stay put
            if expectation.get_params()["random_state"] is None:  # a user's seed is kept
                expectation.set_params(random_state=seed)
        self._expectation = expectation
        self._exact = type(expectation) is ExactExpectation
        self._mc_steps = 0
        if hasattr(expectation, "n_episodes") and hasattr(expectation, "rollout_horizon"):
            self._mc_steps = int(expectation.n_episodes) * int(expectation.rollout_horizon(env))
        self._average = _OccupancyAverage(env, est.n_average_rounds)

    def start(self, state, policy, reward, pretrain_epochs, rng):
        if state is not None:
            return self.restore(state)
        S, A = self.env.n_states, self.env.n_actions
        if pretrain_epochs > 0:  # count-based behaviour cloning, smoothed towards uniform
            policy = TabularPolicy(0.9 * policy_from_occupancy(self._rho_E).probs + 0.1 / A)
        else:
            policy = TabularPolicy(np.full((S, A), 1.0 / A))
        self._last, self._values, self.env_steps, self._rho_next = policy, None, 0, None
        self.policy = policy

    def sample(self):
        if self._exact and self._rho_next is not None:
            rho_pi = self._rho_next  # computed exactly at the end of the previous round
        else:
            rho_pi = self._expectation.occupancy(self.env, self._last)
        self.env_steps += self._mc_steps
        self._entropy = _occupancy_entropy(rho_pi)
        pairs = self._pairs
        return Samples(pairs.inputs, (rho_pi / rho_pi.sum()).ravel(), pairs.observations,
                       pairs.actions, occupancy=rho_pi, policy=self._last)

    def improve(self, reward):
        env = self.env
        table = reward(self._pairs).reshape(env.n_states, env.n_actions)
        policy = self.solver.solve(env, table, init_values=self._values)
        if not env.finite_horizon:
            self._values = policy.values
        true_return = np.nan if env.reward is None else policy_value(env, policy, env.reward)
        # the returned policy: that of the rounds' averaged occupancy (iterate averaging)
        average = self._average
        self._rho_next = average.add(policy) if self._exact or average.active else None
        self._last, self.reward_table, self.policy = policy, table, average.policy(policy)
        return {"policy_entropy": self._entropy, "true_return": true_return,
                "env_steps": self.env_steps}

    def snapshot(self):
        return {"policy": self._last, "values": self._values, "env_steps": self.env_steps,
                "rho": self._rho_next, "average": self._average.get_state(),
                "output": self.policy}

    def restore(self, state):
        self._last, self._values = state["policy"], state["values"]
        self.env_steps, self._rho_next = state["env_steps"], state["rho"]
        self._average.set_state(state["average"])
        self.policy = state["output"]

    def close(self):
        pass


class _OccupancyAverage:
    """Iterate averaging of the tabular rounds' policies, in occupancy space.

    Keeps the exponential moving average, with time constant ``n_rounds`` rounds, of the
    exact occupancy measures of the rounds' policies (per step on finite horizons; bias-corrected
    like Adam's moments, so it is a convex combination of the rounds' occupancies), and returns
    the stationary (or time-indexed) policy whose occupancy it is. Linear identities carry over:
    its value is the same weighted mean of the rounds' values.
    """

    def __init__(self, env, n_rounds):
        self.env = env
        self.active = n_rounds > 1
        self.decay = 1.0 - 1.0 / n_rounds
        self.total, self.weight = None, 0.0

    def add(self, policy):
        """Fold in a round's policy; return its exact (S, A) occupancy."""
        env = self.env
        if env.finite_horizon:
            d = occupancy_measure(env, policy, per_step=True)
            rho = d.sum(axis=0)
        else:
            d = rho = occupancy_measure(env, policy)
        if self.active:
            self.total = d if self.total is None else self.decay * self.total + d
            self.weight = self.decay * self.weight + 1.0
        return rho

    def policy(self, last):
        """The policy of the averaged occupancy; ``last``'s actions where it has no mass."""
        if not self.active or self.total is None:
            return last
        return policy_from_occupancy(self.total / self.weight, fallback=last)

    def get_state(self):
        return None if self.total is None else (self.total.copy(), self.weight)

    def set_state(self, state):
        if state is not None and self.active:
            self.total, self.weight = state[0].copy(), state[1]
        elif state is None:
            self.total, self.weight = None, 0.0


def _occupancy_entropy(rho):
    """Mean per-step entropy of the policy, weighted by its state-action occupancy."""
    pi = policy_from_occupancy(rho).probs
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pi = np.where(pi > 0, np.log(np.where(pi > 0, pi, 1.0)), 0.0)
    return float(-(rho * log_pi).sum() / rho.sum())


# ------------------------------------------------------------------------------------------------
# gymnasium envs: the library's PPO, or a stable-baselines3 on-policy algorithm
# ------------------------------------------------------------------------------------------------


class _GymnasiumGenerator:
    """What the gymnasium generators share: the discriminator's inputs (observation, one-hot
    when Discrete, then action, one-hot when Discrete) and the expert's samples."""

    full_batch, dtype, reward_table = False, "float32", None

    def __init__(self, estimator, env):
        self.estimator, self.env = estimator, env

    def setup(self, demos, sample_weight):
        env = self.env
        encoder = SpaceEncoder(env.observation_space, env.action_space)
        # Terminations go on in an absorbing state the discriminator sees (its last column).
        self.absorbing = bool(getattr(self.estimator, "_absorbing", False))
        if self.absorbing:
            encoder = AbsorbingEncoder(encoder)
        self.encoder = encoder
        self.estimator._encoder = encoder
        obs, acts, weights = encoder.demo_arrays(demos, sample_weight)
        self.input_dim, self.continuous_mask = encoder.input_dim, encoder.continuous_mask
        self.signature = (self.kind, self.input_dim, env.observation_space, env.action_space)
        next_obs = None
        if all(len(t.states) == len(t) + 1 for t in demos):  # s' of every expert step
            try:
                next_obs = encoder.check_observations(
                    np.concatenate([np.asarray(t.states[1:]) for t in demos]), "next states")
            except ValueError:
                next_obs = None
        self.expert = Samples(encoder.inputs(obs, acts), weights, obs, acts, next_obs)
        self._demos = (check_demos(demos), sample_weight)
        return self.expert

    def _set_gamma(self, gamma):
        """The discount is known: the expert's absorbing rows (one per terminated demo)."""
        self.gamma = gamma
        if not self.absorbing:
            return
        w_abs = terminal_absorbing_weights(*self._demos, gamma)
        if len(w_abs):
            self.expert.absorbing_inputs = self.encoder.absorbing_inputs(len(w_abs))
            self.expert.absorbing_weights = w_abs

    def _absorbing_fields(self, n_terminated):
        """Samples fields of a rollout's absorbing rows: one per terminated episode."""
        n = int(n_terminated)
        if not (self.absorbing and n):
            return {}
        return {"absorbing_inputs": self.encoder.absorbing_inputs(n),
                "absorbing_weights": np.full(n, absorbing_weight(self.gamma))}

    def _absorbing_reward(self, reward):
        """``r_abs``: the reward of the absorbing state under the current discriminator."""
        return float(reward(Samples(self.encoder.absorbing_inputs(1)))[0])

    def seed(self, rng):
        pass

    def _batch_samples(self, obs, acts, **fields):
        return Samples(self.encoder.inputs(obs, acts), None, obs, acts, **fields)


def default_ppo_params(box_actions):
    """The settings of the PPO that GAIL's generator uses when it is given no ``solver``.

    Discrete actions: Adam at 3e-4, ``gamma=0.99``. Box actions (a Gaussian policy whose
    log-standard deviation is a free parameter, moved by Adam about ``learning_rate`` per
    minibatch step): Adam at 1e-3 and ``gamma=0.95``, decayed linearly to 0 over the fit's
    rounds by :class:`PPOGenerator`; the measurements behind them are in the user guide
    (``gail_continuous`` in docs/user_guide/estimators.rst).
    """
    params = dict(n_envs=8, n_steps=256, n_epochs=10, batch_size=256, learning_rate=3e-4,
                  gamma=0.99)
    if box_actions:
        params.update(learning_rate=1e-3, gamma=0.95)
    return params


class PPOGenerator(_GymnasiumGenerator):
    """Gymnasium envs: one update of the library's :class:`~sklirl.solvers.PPO` per round, on
    a rollout of ``n_envs * n_steps`` steps."""

    kind = "ppo"

    @staticmethod
    def accepts(env, solver):
        return not _is_sb3_algorithm(solver)

    def setup(self, demos, sample_weight):
        from ..solvers import PPO

        solver = self.estimator.solver
        if solver is not None and not isinstance(solver, PPO):
            raise TypeError(
                "solver must be None, a sklirl.solvers.PPO or a stable-baselines3 on-policy "
                f"algorithm, got {type(solver).__name__}."
            )
        return super().setup(demos, sample_weight)

    def seed(self, rng):
        from ..solvers import PPO

        est = self.estimator
        # Box actions, for an estimator that opts in to their defaults (GAIL; AIRL's reward
        # depends on gamma, so it keeps the Discrete settings)
        box = self.encoder.action_n is None and getattr(est, "_box_ppo_defaults", False)
        solver = PPO(**default_ppo_params(box)) if est.solver is None else clone(est.solver)
        # The default Box-action generator anneals its step size to 0 over the fit's rounds,
        # so that the adversarial game settles instead of cycling (see default_ppo_params).
        self._decay_rounds = int(est.max_iter) if est.solver is None and box else None
        seed = int(rng.randint(MAX_SEED))
        if box and est.entropy_coef is None:
            self.entropy_coef = 0.0  # a learned Gaussian std needs no push (gail_continuous)
        else:
            self.entropy_coef = est._policy_entropy_coef("ppo")
        solver.set_params(entropy_coef=self.entropy_coef, device=est.device_)
        if solver.random_state is None:
            solver.set_params(random_state=seed)
        if getattr(est, "_absorbing", False):
            absorbing_continuation(solver.gamma)  # gamma < 1, or a ValueError now
        self.solver = solver
        self._set_gamma(solver.gamma)

    def start(self, state, policy, reward, pretrain_epochs, rng):
        self._trainer = self.solver.make_trainer(self.env, policy=policy)
        self._rounds = 0
        if state is not None:
            self.restore(state)
        elif pretrain_epochs > 0:
            _behaviour_cloning(self.policy, self.expert, pretrain_epochs, rng)

    @property
    def policy(self):
        return self._trainer.policy

    def sample(self):
        self._batch = batch = self._trainer.collect_rollouts()
        self._samples = self._batch_samples(
            batch.observations, batch.actions, next_observations=batch.next_observations,
            log_probs=batch.log_probs, terminated=batch.terminated, policy=self.policy,
            **self._absorbing_fields(batch.terminated.sum()))
        return self._samples

    def improve(self, reward):
        batch = self._batch
        if self._decay_rounds:  # linear decay over this fit's rounds (the trainer's is constant)
            self._trainer.params["learning_rate"] = self.solver.learning_rate * (
                1.0 - self._rounds / self._decay_rounds)
        self._rounds += 1
        rewards = reward(self._samples)
        if self.absorbing:  # terminations roll on in the absorbing state: add its value
            rewards = add_absorbing_value(rewards, batch.terminated,
                                          self._absorbing_reward(reward), self.solver.gamma)
        stats = self._trainer.update(batch, rewards)
        returns = batch.episode_returns
        return {"policy_entropy": stats["entropy"],
                "true_return": float(np.mean(returns)) if returns else np.nan,
                "env_steps": self._trainer.total_steps}

    def snapshot(self):
        # CPU tensor bytes: a fitted estimator pickles on a GPU machine, unpickles on a CPU one
        state = dict(self._trainer.snapshot())
        state["net"] = state_dict_to_bytes(state["net"])
        state["optimizer"] = state_dict_to_bytes(state["optimizer"])
        return state

    def restore(self, state):
        state = dict(state)
        state["net"] = state_dict_from_bytes(state["net"])
        state["optimizer"] = state_dict_from_bytes(state["optimizer"])
        self._trainer.restore(state)

    def close(self):
        self._trainer.close()


class SB3Generator(_GymnasiumGenerator):
    """Gymnasium envs: a stable-baselines3 on-policy algorithm (``PPO``, ``A2C``), trained in
    place. Its ``learn`` collects a rollout and updates the policy in one call, so :meth:`sample`
    takes the policy step on the current discriminator's reward and returns that rollout, and
    :meth:`improve` only reports (Ho & Ermon's (2016) loop, shifted by half a round)."""

    kind = "sb3"

    @staticmethod
    def accepts(env, solver):
        return _is_sb3_algorithm(solver)

    def setup(self, demos, sample_weight):
        algo, env = self.estimator.solver, self.env
        venv = algo.get_env()
        if venv is None:
            raise ValueError("the stable-baselines3 solver has no env; build it with env=.")
        if self.estimator.bc_pretrain_epochs > 0:
            raise ValueError(
                "bc_pretrain_epochs is not supported with a stable-baselines3 solver (GAIL "
                "pre-trains only its own PPO policy); pre-train the SB3 policy yourself and "
                "pass bc_pretrain_epochs=0."
            )
        if (venv.observation_space, venv.action_space) != (
            env.observation_space, env.action_space
        ):
            raise ValueError(
                "the stable-baselines3 solver's env has other spaces than the env given to "
                f"fit: observation space {venv.observation_space} vs {env.observation_space}, "
                f"action space {venv.action_space} vs {env.action_space}. Build the algorithm "
                "on the same environment."
            )
        self.solver, self._venv = algo, venv
        self.entropy_coef = float(getattr(algo, "ent_coef", np.nan))
        expert = super().setup(demos, sample_weight)
        gamma = float(getattr(algo, "gamma", 0.99))
        if self.absorbing:
            absorbing_continuation(gamma)  # gamma < 1, or a ValueError now
        self._set_gamma(gamma)
        return expert

    def start(self, state, policy, reward, pretrain_epochs, rng):
        encoder = self.encoder

        def env_reward(obs, actions):
            obs = np.asarray(obs).reshape(len(obs), -1)
            if encoder.obs_n:
                obs = obs[:, 0]
            return reward(self._batch_samples(obs, actions)).astype(np.float32)

        terminal_value = None
        if self.absorbing:
            factor = absorbing_continuation(self.solver.gamma)

            def terminal_value():
                return factor * self._absorbing_reward(reward)

        self._wrapper = _sb3_reward_wrapper(self._venv, env_reward, terminal_value)
        self.solver.set_env(self._wrapper, force_reset=True)
        self._reset_timesteps = state is None  # a warm start continues the algorithm's count
        from ..policies import SB3Policy

        self.policy = SB3Policy(self.solver, encoder.observation_space, encoder.action_space)

    def sample(self):
        algo, encoder = self.solver, self.encoder
        steps = int(algo.n_steps) * self._venv.num_envs
        algo.learn(steps, reset_num_timesteps=self._reset_timesteps)
        self._reset_timesteps = False
        buffer = algo.rollout_buffer
        obs = buffer.observations.reshape(steps, -1)
        if encoder.obs_n:
            obs = obs[:, 0]
        acts = buffer.actions.reshape(steps, -1)
        acts = acts[:, 0] if encoder.action_n else acts
        return self._batch_samples(
            obs, acts, log_probs=buffer.log_probs.reshape(steps), policy=self.policy,
            **self._absorbing_fields(self._wrapper.pop_terminated()))

    def improve(self, reward):
        returns = self._wrapper.finished_returns()
        return {"policy_entropy": -self.solver.logger.name_to_value.get("train/entropy_loss",
                                                                          np.nan),
                "true_return": float(np.mean(returns)) if returns else np.nan,
                "env_steps": self.solver.num_timesteps}

    def snapshot(self):
        policy = self.solver.policy
        return {"training": copy_training_state(policy, policy.optimizer),
                "num_timesteps": self.solver.num_timesteps}

    def restore(self, state):
        policy = self.solver.policy
        restore_training_state(policy, policy.optimizer, state["training"])
        self.solver.num_timesteps = state["num_timesteps"]

    def close(self):
        self.solver.set_env(self._venv, force_reset=True)


GENERATORS = (TabularGenerator, SB3Generator, PPOGenerator)


def _is_sb3_algorithm(solver):
    return solver is not None and hasattr(solver, "learn") and hasattr(solver, "collect_rollouts")


def _sb3_reward_wrapper(venv, reward_fn, terminal_value=None):
    """A VecEnv whose rewards are ``reward_fn(obs, actions)``; it keeps the true returns.

    With ``terminal_value`` (a callable), a step that terminates (not a time-limit truncation)
    gets ``terminal_value()`` added: the discounted value of the absorbing state after it
    (stable-baselines3 bootstraps truncations itself and gives terminations a zero value).
    """
    from stable_baselines3.common.vec_env import VecEnvWrapper

    class RewardWrapper(VecEnvWrapper):
        def __init__(self, venv):
            super().__init__(venv)
            self._obs = self._actions = None
            self._returns = np.zeros(venv.num_envs)
            self._finished = []
            self._terminated = 0

        def reset(self):
            self._obs = self.venv.reset()
            return self._obs

        def step_async(self, actions):
            self._actions = actions
            self.venv.step_async(actions)

        def step_wait(self):
            obs, env_rewards, dones, infos = self.venv.step_wait()
            rewards = reward_fn(self._obs, self._actions)
            self._returns += env_rewards
            for i in np.flatnonzero(dones):
                self._finished.append(float(self._returns[i]))
                self._returns[i] = 0.0
                if terminal_value is not None and not infos[i].get("TimeLimit.truncated", False):
                    rewards[i] += terminal_value()
                    self._terminated += 1
            self._obs = obs
            return obs, rewards, dones, infos

        def finished_returns(self):
            out, self._finished = self._finished, []
            return out

        def pop_terminated(self):
            out, self._terminated = self._terminated, 0
            return out

    return RewardWrapper(venv)


def _behaviour_cloning(policy, expert, epochs, rng, batch_size=64, lr=1e-3):
    """Warm start: :class:`~sklirl.irl.BehavioralCloning`'s maximum-likelihood fit of the
    policy's actor on the expert's (weighted) state-actions, for ``epochs`` epochs."""
    from ._bc import _maximum_likelihood

    torch = import_torch("GAIL")
    _maximum_likelihood(policy, expert.observations, expert.actions, expert.weights, epochs,
                        batch_size, lr, 0.0, rng, torch)
