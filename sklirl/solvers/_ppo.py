"""Proximal policy optimisation (PPO) in torch for gymnasium environments.

PPO (Schulman et al., 2017) is the policy-optimisation step of GAIL (Ho & Ermon, 2016) and of
apprenticeship learning with Monte Carlo feature expectations: given an environment and a reward
(the environment's own, or a callable such as GAIL's ``-log D(s, a)``), it returns a
:class:`TorchPolicy`.

Two levels of API:

- ``PPO(...).solve(env, reward) -> TorchPolicy``, the solver interface of the library;
- ``trainer = PPO(...).make_trainer(env)``, then ``batch = trainer.collect_rollouts()`` and
  ``trainer.update(batch, rewards)``, for estimators that interleave their own updates (GAIL's
  discriminator) with the policy's.
"""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from .._rollouts import check_observation, env_factory
from ..policies._torch import ACTIVATIONS, TorchPolicy
from ..utils._doc_link import DocLinkMixin
from ..utils._gym_compat import same_step_sync_vector_env
from ..utils._persistence import copy_training_state, restore_training_state
from ..utils._resources import check_memory
from ..utils._torch import resolve_device, torch_threads
from ..utils._validation import GAMMA_INTERVAL, MAX_SEED, check_hidden_layer_sizes
from ._rollout_buffer import RolloutBatch, generalized_advantage_estimate

__all__ = ["PPO", "PPOTrainer", "RolloutBatch", "TorchPolicy", "generalized_advantage_estimate"]


def _check_ppo_resources(params):
    """Refuse unknown devices and absurd sizes before any env or tensor is built."""
    resolve_device(params["device"])  # ValueError naming the device ('tpu', 'cuda' without one)
    # Each env copy (its state, wrappers, autoreset bookkeeping) takes a few KiB to a few
    # MiB; each step of a rollout stores observations, actions, values and log-probabilities.
    n_envs, n_steps = float(params["n_envs"]), float(params["n_steps"])
    check_memory(n_envs * 64 * 1024 + n_envs * n_steps * 256,
                 f"PPO(n_envs={params['n_envs']}, n_steps={params['n_steps']})",
                 "Use fewer environments (n_envs) or shorter rollouts (n_steps).")


def check_reward_scale(rewards, gamma):
    """Refuse rewards whose returns would overflow: the advantages' normalisation squares
    returns of order ``max |r| / (1 - gamma)``, so beyond ~1e150 the policy gets NaN."""
    top = float(np.abs(rewards).max(initial=0.0))
    if top / max(1.0 - gamma, 1e-12) > 1e150:
        raise ValueError(
            f"rewards up to {top:.3g} at gamma={gamma} give returns whose squares overflow "
            "float64 (the advantage normalisation would turn the policy into NaN); rescale the "
            "reward."
        )


# --------------------------------------------------------------------------------------------
# Rollouts and updates
# --------------------------------------------------------------------------------------------


class PPOTrainer:
    """Collects rollouts and runs PPO updates; made by :meth:`PPO.make_trainer`.

    Attributes
    ----------
    policy : TorchPolicy
        The policy being trained (its weights and observation statistics change in place).
    total_steps : int
        Environment steps collected so far.
    lr_schedule : {"linear", "constant"}
        The step-size schedule in force (``"auto"`` resolved). A linear schedule decays with
        the steps collected before each update's rollout, relative to ``total_timesteps``.
    optimizer : torch.optim.Adam
        Fresh for each trainer (a warm start copies the weights, not the Adam moments).
    history : list of dict
        One entry per :meth:`update`: steps, mean episode return and the update's statistics.
    """

    def __init__(self, params, env, policy, seeds, lr_schedule):
        self.params = params
        self.lr_schedule = lr_schedule
        if policy is not None and not isinstance(policy, TorchPolicy):
            raise TypeError(f"policy must be a TorchPolicy, got {type(policy).__name__}.")
        make_env = env_factory(env)
        self.env = same_step_sync_vector_env([make_env] * params["n_envs"])
        torch_seed, numpy_seed, env_seed = (int(s) for s in seeds)
        single_obs, single_act = self.env.single_observation_space, self.env.single_action_space
        if policy is None:
            policy = TorchPolicy(
                single_obs, single_act,
                hidden_layer_sizes=params["hidden_layer_sizes"],
                activation=params["activation"],
                normalize_observations=params["normalize_observations"],
                device=params["device"],
                n_threads=params["n_threads"],
                random_state=torch.Generator().manual_seed(torch_seed),
            )
        else:
            if policy.observation_space != single_obs or policy.action_space != single_act:
                self.env.close()
                raise ValueError(
                    "the warm-start policy was trained on different spaces: "
                    f"{policy.observation_space}, {policy.action_space} vs the environment's "
                    f"{single_obs}, {single_act}."
                )
            policy = copy.deepcopy(policy).to(params["device"])
            policy.n_threads = params["n_threads"]
        self.policy = policy
        self.total_steps = 0
        # The fused kernel is ~15% faster per update on the CPU for these small networks.
        fused = policy.device.type in ("cpu", "cuda")
        self.optimizer = torch.optim.Adam(
            policy.net.parameters(), lr=self._learning_rate(0), eps=1e-5, fused=fused
        )
        self.rng = np.random.default_rng(numpy_seed)
        self.history = []
        try:
            obs, _ = self.env.reset(seed=[env_seed + i for i in range(params["n_envs"])])
        except ValueError:
            # e.g. "Output array is the wrong shape": the vector env could not batch the
            # observations; say which env returned what
            try:
                check_observation(self.env.envs[0].reset(seed=env_seed)[0], single_obs,
                                   self.env.envs[0], "reset")
            finally:
                self.env.close()
            raise
        for e in range(params["n_envs"]):
            check_observation(obs[e], single_obs, self.env.envs[e], "reset")
        self._obs = obs
        self._episode_returns = np.zeros(params["n_envs"])

    def _learning_rate(self, steps_before_rollout):
        """The step size for an update: constant, or decayed linearly to 0."""
        learning_rate = self.params["learning_rate"]
        if self.lr_schedule == "linear":
            progress = steps_before_rollout / self.params["total_timesteps"]
            learning_rate *= max(1.0 - progress, 0.0)
        return learning_rate

    def snapshot(self):
        """A copy of the training state, for :meth:`restore`.

        Returns
        -------
        state : dict
            The policy's weights and observation statistics, the Adam state and
            ``total_steps``. The vector environment's state is not included: it keeps running.
        """
        policy = self.policy
        weights, optimizer = copy_training_state(policy.net, self.optimizer)
        return {
            "net": weights,
            "obs_stats": (policy.obs_mean.copy(), policy.obs_var.copy(), policy.obs_count),
            "optimizer": optimizer,
            "total_steps": self.total_steps,
        }

    def restore(self, state):
        """Put the policy and the optimiser back to a :meth:`snapshot` (copied in).

        Parameters
        ----------
        state : dict
            From :meth:`snapshot` of this trainer, or of one with the same networks.

        Returns
        -------
        self : PPOTrainer
        """
        policy = self.policy
        restore_training_state(policy.net, self.optimizer, (state["net"], state["optimizer"]))
        mean, var, count = state["obs_stats"]
        policy.obs_mean, policy.obs_var, policy.obs_count = mean.copy(), var.copy(), count
        self.total_steps = int(state["total_steps"])
        return self

    def close(self):
        """Close the vector environment."""
        self.env.close()

    def collect_rollouts(self):
        """Run the current policy for ``n_steps`` steps in each environment.

        Returns
        -------
        batch : RolloutBatch
        """
        with torch_threads(self.params["n_threads"]):
            return self._collect_rollouts()

    def _collect_rollouts(self):
        policy, net = self.policy, self.policy.net
        T, E = self.params["n_steps"], self.params["n_envs"]
        single_obs = self.env.single_observation_space
        obs_shape = (policy._obs_dim,) if not policy._discrete_obs else ()
        obs_dtype = np.int64 if policy._discrete_obs else np.float32
        act_shape = () if policy._discrete_actions else (net.actor[-1].out_features,)
        observations = np.empty((T, E, *obs_shape), dtype=obs_dtype)
        next_observations = np.empty_like(observations)
        inputs = np.empty((T, E, policy._obs_dim), dtype=np.float32)
        act_dtype = np.float32 if act_shape else np.int64
        policy_actions = np.empty((T, E, *act_shape), dtype=act_dtype)
        env_actions = np.empty_like(policy_actions)
        log_probs = np.empty((T, E), dtype=np.float32)
        values = np.empty((T, E), dtype=np.float32)
        rewards = np.empty((T, E), dtype=np.float32)
        terminated = np.empty((T, E), dtype=bool)
        truncated = np.empty((T, E), dtype=bool)
        finished = []

        obs = self._obs.reshape(E, *obs_shape)
        with torch.inference_mode():
            for t in range(T):
                policy._update_obs_stats(obs)
                x = policy._features(obs)
                xt = policy._tensor(x)
                out = net.actor(xt).cpu().numpy()
                values[t] = net.critic(xt)[:, 0].cpu().numpy()
                actions, log_probs[t] = policy._sample(out, self.rng)
                to_env = policy._to_env_actions(actions)
                next_obs, reward, term, trunc, info = self.env.step(to_env)
                if not policy._discrete_obs and not np.all(np.isfinite(next_obs)):
                    bad = int(np.flatnonzero(~np.isfinite(next_obs).reshape(E, -1).all(1))[0])
                    check_observation(next_obs[bad], single_obs, self.env.envs[bad], "step")
                observations[t], inputs[t], policy_actions[t] = obs, x, actions
                env_actions[t] = to_env.reshape(E, *act_shape)
                rewards[t], terminated[t], truncated[t] = reward, term, trunc
                next_obs = next_obs.reshape(E, *obs_shape)
                next_observations[t] = next_obs
                self._episode_returns += reward
                for e in np.flatnonzero(term | trunc):
                    next_observations[t, e] = np.reshape(info["final_obs"][e], obs_shape)
                    finished.append(float(self._episode_returns[e]))
                    self._episode_returns[e] = 0.0
                obs = next_obs
            self._obs = obs

            # V(s_{t+1}): the next step's value inside an episode, one batched forward pass for
            # the final observations of episodes and the observations after the last step.
            done = terminated | truncated
            next_values = np.empty_like(values)
            next_values[:-1] = values[1:]
            needs_value = done.copy()
            needs_value[-1] = True
            x = policy._features(next_observations[needs_value])
            next_values[needs_value] = net.critic(policy._tensor(x))[:, 0].cpu().numpy()

        self.total_steps += T * E
        n = T * E
        return RolloutBatch(
            observations=observations.reshape(n, *obs_shape),
            actions=env_actions.reshape(n, *act_shape),
            next_observations=next_observations.reshape(n, *obs_shape),
            terminated=terminated.reshape(n),
            truncated=truncated.reshape(n),
            env_rewards=rewards.reshape(n),
            episode_returns=finished,
            n_steps=n,
            n_envs=E,
            policy_inputs=inputs.reshape(n, -1),
            policy_actions=policy_actions.reshape(n, *act_shape),
            log_probs=log_probs.reshape(n),
            values=values.reshape(n),
            next_values=next_values.reshape(n),
        )

    def update(self, batch, rewards=None):
        """Run the PPO epochs on ``batch``.

        Parameters
        ----------
        batch : RolloutBatch
            From :meth:`collect_rollouts` of this trainer.
        rewards : array-like of shape (N,), default=None
            Rewards to optimise instead of ``batch.env_rewards`` (for GAIL, ``-log D(s, a)``).

        Returns
        -------
        stats : dict
            Means over minibatches of ``policy_loss``, ``value_loss``, ``entropy``, ``approx_kl``
            and ``clip_fraction``, plus the critic's ``explained_variance`` before the update.
        """
        with torch_threads(self.params["n_threads"]):
            return self._update(batch, rewards)

    def _update(self, batch, rewards):
        p = self.params
        N, E = batch.n_steps, batch.n_envs
        if rewards is None:
            rewards = batch.env_rewards
        rewards = np.asarray(rewards, dtype=np.float64)
        if rewards.shape != (N,):
            raise ValueError(f"rewards must have shape ({N},), got {rewards.shape}.")
        if not np.all(np.isfinite(rewards)):
            raise ValueError("rewards contain NaN or infinite values.")
        check_reward_scale(rewards, p["gamma"])
        T = N // E
        advantages, returns = generalized_advantage_estimate(
            rewards.reshape(T, E), batch.values.reshape(T, E), batch.next_values.reshape(T, E),
            batch.terminated.reshape(T, E), batch.truncated.reshape(T, E),
            p["gamma"], p["gae_lambda"],
        )
        advantages, returns = advantages.reshape(N), returns.reshape(N)
        var_returns = returns.var()
        explained_variance = (
            float(1.0 - (returns - batch.values).var() / var_returns) if var_returns > 0 else 0.0
        )

        net, device = self.policy.net, self.policy.device
        x_all = torch.from_numpy(batch.policy_inputs).to(device)
        a_all = torch.from_numpy(batch.policy_actions).to(device)
        old_logp_all = torch.from_numpy(batch.log_probs).to(device)
        adv_all = torch.from_numpy(advantages).to(device)
        ret_all = torch.from_numpy(returns).to(device)
        for group in self.optimizer.param_groups:
            group["lr"] = self._learning_rate(max(self.total_steps - N, 0))

        batch_size, clip = min(p["batch_size"], N), p["clip_range"]
        sums = dict.fromkeys(
            ["policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction"], 0.0
        )
        n_minibatches, stop = 0, False
        for _ in range(p["n_epochs"]):
            permutation = torch.from_numpy(self.rng.permutation(N)).to(device)
            for start in range(0, N, batch_size):
                idx = permutation[start:start + batch_size]
                x = x_all[idx]
                log_prob, entropy = net.log_prob_entropy(x, a_all[idx])
                adv = adv_all[idx]
                if p["normalize_advantages"] and len(idx) > 1:
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                log_ratio = log_prob - old_logp_all[idx]
                ratio = log_ratio.exp()
                policy_loss = -torch.min(
                    ratio * adv, ratio.clamp(1.0 - clip, 1.0 + clip) * adv
                ).mean()
                value_loss = (net.critic(x)[:, 0] - ret_all[idx]).pow(2).mean()
                entropy = entropy.mean()
                with torch.no_grad():
                    approx_kl = ((ratio - 1.0) - log_ratio).mean().item()
                    clip_fraction = ((ratio - 1.0).abs() > clip).float().mean().item()
                if p["target_kl"] is not None and approx_kl > 1.5 * p["target_kl"]:
                    stop = True
                    break
                loss = policy_loss - p["entropy_coef"] * entropy + p["vf_coef"] * value_loss
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if p["max_grad_norm"] is not None:
                    nn.utils.clip_grad_norm_(net.parameters(), p["max_grad_norm"])
                self.optimizer.step()
                n_minibatches += 1
                for key, value in zip(
                    sums, [policy_loss.item(), value_loss.item(), entropy.item(), approx_kl,
                           clip_fraction],
                ):
                    sums[key] += value
            if stop:
                break
        stats = {k: v / max(n_minibatches, 1) for k, v in sums.items()}
        stats["explained_variance"] = explained_variance
        stats["n_minibatches"] = n_minibatches
        mean_return = np.mean(batch.episode_returns) if batch.episode_returns else float("nan")
        self.history.append(
            {"total_steps": self.total_steps, "mean_episode_return": mean_return, **stats}
        )
        if p["verbose"]:
            print(
                f"[PPO] steps={self.total_steps} episodes={len(batch.episode_returns)} "
                f"mean_return={mean_return:.1f} policy_loss={stats['policy_loss']:.4f} "
                f"value_loss={stats['value_loss']:.4f} entropy={stats['entropy']:.3f} "
                f"approx_kl={stats['approx_kl']:.4f} clip_fraction={stats['clip_fraction']:.3f}"
            )
        return stats


# --------------------------------------------------------------------------------------------
# The solver
# --------------------------------------------------------------------------------------------


class PPO(DocLinkMixin, BaseEstimator):
    """Proximal policy optimisation with a clipped surrogate objective and GAE(lambda).

    Solves a gymnasium environment for its own reward or for a reward callable, e.g. a learned
    reward inside inverse reinforcement learning. Rollouts run the policy on batched observations
    of a :class:`gymnasium.vector.SyncVectorEnv`; each rollout is followed by ``n_epochs`` passes
    of minibatch Adam steps on the clipped surrogate, value and entropy losses.

    Parameters
    ----------
    total_timesteps : int, default=100_000
        Environment steps to train for in :meth:`solve` (rounded up to whole rollouts).
    n_envs : int, default=8
        Parallel environment copies.
    n_steps : int, default=256
        Steps per environment per rollout; a rollout has ``n_envs * n_steps`` transitions.
    learning_rate : float, default=1e-3
        Adam step size (the initial one, with a decaying schedule).
    lr_schedule : {"auto", "linear", "constant"}, default="auto"
        ``"linear"`` decays the step size to 0 at ``total_timesteps`` (and keeps it at 0 after).
        ``"auto"`` is linear in :meth:`solve`, whose horizon is ``total_timesteps``, and constant
        in :meth:`make_trainer`, whose caller decides how long to train. On CartPole-v1 a
        constant step size reaches a return of 500 as fast but may not stay there.
    n_epochs : int, default=10
        Passes over each rollout.
    batch_size : int, default=256
        Minibatch size.
    gamma : float, default=0.99
        Discount factor.
    gae_lambda : float, default=0.95
        GAE trace parameter (1 gives Monte Carlo advantages, 0 one-step TD).
    clip_range : float, default=0.2
        Clipping of the probability ratio, ``epsilon`` in the paper.
    entropy_coef : float, default=0.0
        Weight of the entropy bonus.
    vf_coef : float, default=0.5
        Weight of the value loss.
    max_grad_norm : float or None, default=0.5
        Gradient norm clipping; ``None`` disables it.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Hidden layers of the actor and of the critic.
    activation : {"tanh", "relu", "elu", "gelu"}, default="tanh"
        Hidden activation.
    normalize_observations : bool, default=True
        Standardise Box observations with running statistics (updated while collecting
        rollouts, frozen in the returned policy).
    normalize_advantages : bool, default=True
        Standardise advantages per minibatch.
    target_kl : float or None, default=None
        Stop a rollout's epochs early when the approximate KL exceeds ``1.5 * target_kl``.
    device : str or torch.device, default="cpu"
        Where the networks train.
    n_threads : int or None, default=1
        Torch intra-op threads while collecting and updating, set around each call and restored
        after it (torch's setting is process-global). The default networks are so small that
        more threads only add synchronisation: on a busy 2-core machine an update ran 5-20x
        slower with 2 threads than with 1. ``None`` leaves torch's setting alone.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the action sampling, the minibatch shuffles and the environments'
        resets. With a fixed seed, results on the CPU are bit-identical across runs.
    verbose : int, default=0
        Print a line per rollout when positive.

    Attributes
    ----------
    history_ : list of dict
        Set by :meth:`solve`: per rollout, the step count, mean episode return and losses.

    See Also
    --------
    TorchPolicy : The returned policy.

    Notes
    -----
    With probability ratio :math:`\\rho_t(\\theta) = \\pi_\\theta(a_t|s_t) / \\pi_{old}(a_t|s_t)`,
    PPO maximises :math:`E_t[\\min(\\rho_t A_t, \\mathrm{clip}(\\rho_t, 1-\\epsilon, 1+\\epsilon)
    A_t)]` with GAE advantages :math:`A_t = \\sum_k (\\gamma\\lambda)^k \\delta_{t+k}`,
    :math:`\\delta_t = r_t + \\gamma V(s_{t+1}) - V(s_t)`. At a time-limit truncation the value of
    the final observation is bootstrapped; at termination it is zero.

    References
    ----------
    .. [1] J. Schulman, F. Wolski, P. Dhariwal, A. Radford and O. Klimov, "Proximal Policy
       Optimization Algorithms", arXiv:1707.06347, 2017.
    .. [2] J. Schulman, P. Moritz, S. Levine, M. Jordan and P. Abbeel, "High-Dimensional
       Continuous Control Using Generalized Advantage Estimation", ICLR 2016.
    .. [3] J. Ho and S. Ermon, "Generative Adversarial Imitation Learning", NeurIPS 2016.

    Examples
    --------
    >>> from sklirl.solvers._ppo import PPO
    >>> policy = PPO(total_timesteps=2048, n_envs=2, n_steps=64, random_state=0).solve(
    ...     "CartPole-v1")
    >>> returns = policy.evaluate("CartPole-v1", n_episodes=5, random_state=0)
    >>> returns.shape
    (5,)
    >>> policy.act([0.0, 0.0, 0.0, 0.0]) in (0, 1)
    True
    """

    _parameter_constraints: dict = {
        "total_timesteps": [Interval(Integral, 1, None, closed="left")],
        "n_envs": [Interval(Integral, 1, None, closed="left")],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions({"auto", "linear", "constant"})],
        "n_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "gamma": [GAMMA_INTERVAL],
        "gae_lambda": [Interval(Real, 0, 1, closed="both")],
        "clip_range": [Interval(Real, 0, None, closed="neither")],
        "entropy_coef": [Interval(Real, 0, None, closed="left")],
        "vf_coef": [Interval(Real, 0, None, closed="left")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "normalize_observations": ["boolean"],
        "normalize_advantages": ["boolean"],
        "target_kl": [Interval(Real, 0, None, closed="neither"), None],
        "device": [str, torch.device],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        total_timesteps=100_000,
        n_envs=8,
        n_steps=256,
        learning_rate=1e-3,
        lr_schedule="auto",
        n_epochs=10,
        batch_size=256,
        gamma=0.99,
        gae_lambda=0.95,
        clip_range=0.2,
        entropy_coef=0.0,
        vf_coef=0.5,
        max_grad_norm=0.5,
        hidden_layer_sizes=(64, 64),
        activation="tanh",
        normalize_observations=True,
        normalize_advantages=True,
        target_kl=None,
        device="cpu",
        n_threads=1,
        random_state=None,
        verbose=0,
    ):
        self.total_timesteps = total_timesteps
        self.n_envs = n_envs
        self.n_steps = n_steps
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.gamma = gamma
        self.gae_lambda = gae_lambda
        self.clip_range = clip_range
        self.entropy_coef = entropy_coef
        self.vf_coef = vf_coef
        self.max_grad_norm = max_grad_norm
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.normalize_observations = normalize_observations
        self.normalize_advantages = normalize_advantages
        self.target_kl = target_kl
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        self._validate_params()
        params = self.get_params()
        params["hidden_layer_sizes"] = check_hidden_layer_sizes(self.hidden_layer_sizes)
        _check_ppo_resources(params)
        return params

    def make_trainer(self, env, policy=None):
        """Build a :class:`PPOTrainer` for step-by-step training.

        Parameters
        ----------
        env : gymnasium.Env, str or callable
            An environment instance (copied ``n_envs`` times with ``gymnasium.make(env.spec)``,
            or ``copy.deepcopy`` when it has no spec; never stepped itself), a registered id, or
            a zero-argument callable returning an environment.
        policy : TorchPolicy, default=None
            Warm start: train a copy of this policy (weights and observation statistics).

        Returns
        -------
        trainer : PPOTrainer
            With ``lr_schedule="auto"`` its step size is constant: the caller decides how long
            to train.

        Examples
        --------
        >>> import numpy as np
        >>> from sklirl.solvers._ppo import PPO
        >>> trainer = PPO(n_envs=2, n_steps=32, batch_size=32, random_state=0).make_trainer(
        ...     "CartPole-v1")
        >>> batch = trainer.collect_rollouts()
        >>> batch.observations.shape, trainer.total_steps
        ((64, 4), 64)
        >>> stats = trainer.update(batch, rewards=np.ones(64))  # a reward of your own
        >>> sorted(stats)[:3]
        ['approx_kl', 'clip_fraction', 'entropy']
        >>> trainer.close()
        """
        return self._make_trainer(env, policy, auto_schedule="constant")

    def _make_trainer(self, env, policy, auto_schedule):
        params = self._check_params()
        seeds = check_random_state(self.random_state).randint(MAX_SEED, size=3)
        lr_schedule = auto_schedule if self.lr_schedule == "auto" else self.lr_schedule
        return PPOTrainer(params, env, policy, seeds, lr_schedule)

    def solve(self, env, reward=None, policy=None):
        """Train a policy for ``total_timesteps`` steps and return it.

        Parameters
        ----------
        env : gymnasium.Env, str or callable
            See :meth:`make_trainer`.
        reward : callable or None, default=None
            ``None`` trains on the environment's reward; otherwise
            ``reward(observations, actions, next_observations) -> (N,)`` array, called on each
            rollout's raw arrays (see :class:`RolloutBatch`).
        policy : TorchPolicy, default=None
            Warm start from a copy of this policy.

        Returns
        -------
        policy : TorchPolicy

        Examples
        --------
        >>> from sklirl.solvers._ppo import PPO
        >>> def upright(observations, actions, next_observations):
        ...     return 1.0 - abs(next_observations[:, 2])  # reward keeping the pole upright
        >>> ppo = PPO(total_timesteps=256, n_envs=2, n_steps=64, random_state=0)
        >>> policy = ppo.solve("CartPole-v1", reward=upright)
        >>> len(ppo.history_), policy.predict_proba([0.0, 0.0, 0.0, 0.0]).shape
        (2, (2,))
        """
        if reward is not None and not callable(reward):
            raise TypeError(
                "reward must be None or a callable reward(observations, actions, "
                f"next_observations), got {type(reward).__name__}."
            )
        trainer = self._make_trainer(env, policy, auto_schedule="linear")
        try:
            while trainer.total_steps < self.total_timesteps:
                batch = trainer.collect_rollouts()
                rewards = None
                if reward is not None:
                    rewards = reward(batch.observations, batch.actions, batch.next_observations)
                trainer.update(batch, rewards)
        finally:
            trainer.close()
        self.history_ = trainer.history
        return trainer.policy

