"""Generative adversarial imitation learning (Ho & Ermon, 2016).

The module imports without torch; :meth:`GAIL.fit` imports it (and the discriminator and PPO
modules) on first use.
"""

from __future__ import annotations

import copy
import sys
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..base import BaseIRL, is_tabular_env
from ..envs._spaces import SpaceEncoder
from ..expectations import (
    ExactExpectation,
    empirical_occupancy,
    occupancy_measure,
    policy_from_occupancy,
)
from ..features import state_action_features
from ..metrics import policy_value
from ..solvers._tabular import SoftValueIteration, TabularPolicy
from ..utils._optional import import_torch
from ..utils._persistence import copy_training_state, restore_training_state

__all__ = ["GAIL"]

_MAX_SEED = np.iinfo(np.int32).max
_REWARD_FORMS = ("-log D", "log(1-D)", "logit")


class GAIL(BaseIRL):
    """Generative adversarial imitation learning (GAIL).

    A discriminator ``D_w(s, a) = sigmoid(f_w(s, a))`` learns to tell the current policy's
    state-actions (``D -> 1``) from the expert's (``D -> 0``); the policy then takes one step of
    maximum-entropy reinforcement learning on the pseudo-reward ``R(s, a) = -log D_w(s, a)``.
    Each round, in the order of Ho & Ermon's (2016) Algorithm 1:

    1. sample state-actions from the current policy (tabular envs: its exact occupancy measure);
    2. take ``n_disc_updates`` gradient steps on the discriminator's logistic loss, policy
       samples against expert samples;
    3. take one policy step of maximum-entropy RL on ``R = -log D`` with entropy weight
       ``entropy_coef``: soft value iteration (exact) on a :class:`~sklirl.envs.TabularMDP`,
       one PPO update on a gymnasium environment.

    Parameters
    ----------
    features : transformer or None, default=None
        Tabular envs only: the feature map whose state features (copied per action, see
        :func:`~sklirl.features.state_action_features`) the discriminator sees. None means
        :class:`~sklirl.features.OneHotStates`, i.e. one-hot state-action inputs. Gymnasium envs
        feed the observation (one-hot when Discrete) concatenated with the action (one-hot when
        Discrete).
    reward_form : {"-log D", "log(1-D)", "logit"}, default="-log D"
        The pseudo-reward the policy maximises. ``"-log D"`` (GAIL's) is positive, a survival
        bonus: use it on tasks that terminate on failure (CartPole, locomotion that falls).
        ``"log(1-D)"`` is negative, a living cost: use it on tasks that terminate on success
        (MountainCar, reaching a goal), where a positive reward would teach the agent to avoid
        the end. ``"logit"`` ``= log(1 - D) - log D`` (AIRL's) has no sign bias and, at the
        optimal discriminator, equals ``log rho_E / rho_pi``: use it when episodes may end either
        way or have a fixed length.
    entropy_coef : float or None, default=None
        Entropy weight ``lambda`` of the policy step: the temperature of soft value iteration
        (tabular, must be positive) or PPO's entropy bonus (gymnasium). None uses 0.1 on tabular
        envs (the -log D reward is in nats; much lower temperatures make the exact best
        response nearly deterministic and the alternation slow to settle) and 0.01 for PPO,
        whose bonus is weighed against standardised advantages.
    n_rounds : int, default=200
        Number of GAIL rounds. On gymnasium envs a round collects ``solver.n_envs *
        solver.n_steps`` environment steps.
    n_disc_updates : int, default=4
        Discriminator gradient steps per round (``k`` of Goodfellow et al.'s (2014) GAN algorithm).
    disc_learning_rate : float, default=1e-3
        Adam step size of the discriminator.
    disc_batch_size : int, default=512
        Gymnasium envs: policy samples and expert samples per discriminator step (each). Tabular
        envs train on the full (occupancy-weighted) batch.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Hidden layers of the discriminator's MLP (ReLU); ``()`` is a linear logit.
    grad_penalty : float, default=0.0
        Weight of the gradient penalty ``E[(||grad f(x_hat)|| - 1)^2]`` on interpolations of
        policy and expert inputs; 0 disables it.
    normalize_inputs : bool, default=True
        Standardise the discriminator's continuous (non one-hot) input columns with running
        statistics of the expert and policy samples (gymnasium) or of the feature matrix (tabular).
    solver : PPO, stable-baselines3 on-policy algorithm or None, default=None
        Gymnasium envs: the policy optimiser. None uses :class:`~sklirl.solvers.PPO` with
        ``n_envs=8, n_steps=256, n_epochs=10, batch_size=256, learning_rate=3e-4, gamma=0.99``;
        a given :class:`~sklirl.solvers.PPO` is cloned, with its ``ent_coef`` set to
        ``entropy_coef`` and its ``device`` to ``device_``. A stable-baselines3 ``PPO`` or ``A2C``
        built on the env (with its own settings) is trained in place, a rollout per round, on
        the discriminator's reward (optional extra ``sb3``); its env must have the spaces of the
        env given to ``fit`` (a ``ValueError`` otherwise). ``clone`` (and so ``GridSearchCV`` and
        ``cross_val_score``) deep-copies the parameters, which torch refuses for an algorithm
        that has already been trained (a ``RuntimeError``): give each GAIL a fresh, untrained
        algorithm. Ignored on tabular envs, whose policy step is
        ``SoftValueIteration(temperature=entropy_coef)``.
    expectation : ExactExpectation, MonteCarloExpectation or None, default=None
        Tabular envs: how the policy's state-action distribution is obtained each round. None is
        the exact occupancy measure (no sampling noise); a
        :class:`~sklirl.expectations.MonteCarloExpectation` samples rollouts instead (seeded
        from ``random_state`` unless it has a ``random_state`` of its own).
    bc_pretrain_epochs : int, default=0
        Warm start the policy with behavioural cloning: epochs of maximum-likelihood training on
        the demos' state-actions (gymnasium envs, with the library's PPO; a ``ValueError`` with a
        stable-baselines3 solver, whose policy you pre-train yourself). On tabular envs any
        positive value starts from the count-based behavioural cloning policy (smoothed towards
        uniform); since each soft value iteration step solves from scratch, this changes only
        the policy the first round samples from (and so the first discriminator steps), not the
        later policies directly. Ignored when ``warm_start`` resumes a previous fit.
    n_average_rounds : int, default=20
        Tabular envs: iterate averaging. The policy and the discriminator play a saddle-point
        game whose iterates cycle around the equilibrium rather than settle on it (the best
        response to each discriminator overshoots), so the last round's policy is a noisy
        estimate of the solution. ``policy_`` is instead the policy whose occupancy measure is
        the exponential moving average, with time constant ``n_average_rounds`` rounds, of the
        rounds' exact occupancy measures: the mixture of the recent policies, the standard
        remedy for GAN-like games (its true value is the same average of theirs). ``1``
        returns the last round's policy, the soft best response to ``reward_``. The iterates
        themselves are unchanged (``history_`` does not depend on it). Ignored on gymnasium
        envs, where ``policy_`` is the last PPO policy.
    warm_start : bool, default=False
        Continue from the previous fit (the same kind of env, with the same spaces) instead of
        starting afresh: the discriminator (weights, Adam state, input statistics) and the
        policy (tabular: the last round's policy and the averaged occupancy; PPO: the policy's
        weights, observation statistics and Adam state) are taken over, ``n_rounds`` more rounds
        run, and ``history_`` and ``n_iter_`` count on. After a ``KeyboardInterrupt`` the
        estimator holds the last complete round, so fitting again with ``warm_start=True``
        resumes from it (on tabular envs with exact occupancies, interrupting after round ``k``
        and resuming for ``n - k`` rounds gives the same fit as ``n`` uninterrupted rounds). A
        stable-baselines3 solver is trained in place, so its policy always continues.
    callback : callable or None, default=None
        Called as ``callback(gail, row)`` after each round, with ``policy_`` (and on tabular
        envs ``reward_``) set to what the fit would return if it stopped there; ``row`` is the
        round's ``history_`` entry. Training stops early when it returns True (learning curves,
        evaluation, early stopping).
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where the discriminator and the PPO networks train; "auto" picks CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds the networks, the sampling and the environments. With a fixed seed, fits on the
        CPU are bit-identical.
    verbose : int, default=0
        Show a progress bar over rounds with the discriminator's loss and accuracies, the policy
        entropy and the true return; ``verbose > 1`` prints one line per round.

    Attributes
    ----------
    policy_ : TabularPolicy or TorchPolicy
        The learned policy: on tabular envs the policy of the averaged occupancy of the last
        rounds (see ``n_average_rounds``), on gymnasium envs the last PPO policy.
    discriminator_ : Discriminator
        The trained discriminator.
    reward_ : ndarray of shape (S, A)
        Tabular envs: the learned reward ``R(s, a)`` of the last discriminator.
    features_ : transformer
        Tabular envs: the fitted feature map.
    solver_ : SoftValueIteration, PPO or stable-baselines3 algorithm
        The policy optimiser used.
    device_ : str
        The resolved device.
    entropy_coef_ : float
        The entropy weight used (``entropy_coef`` or its default for the env's kind).
    env_ : TabularMDP or gymnasium.Env
        The environment seen in ``fit``.
    n_iter_ : int
        Rounds run (with ``warm_start``, since the last cold start).
    history_ : list of dict
        Per round: ``disc_loss``, ``disc_accuracy_expert``, ``disc_accuracy_policy``,
        ``policy_entropy``, ``true_return`` (mean return of the episodes that ended in the
        round's rollout, or on tabular envs the exact value under ``env.reward`` of the round's
        policy, before averaging; NaN when unknown) and ``env_steps`` (so far; 0 for exact
        tabular rounds). Entries are only appended for complete rounds.

    See Also
    --------
    sklirl.solvers.PPO : The policy step on gymnasium environments.
    sklirl.solvers.SoftValueIteration : The policy step on tabular environments.

    Notes
    -----
    GAIL solves the saddle-point problem

    .. math:: \\min_\\pi \\max_w \\; E_\\pi[\\log D_w(s, a)] + E_{\\pi_E}[\\log(1 - D_w(s, a))]
              - \\lambda H(\\pi),

    whose inner maximum over unrestricted discriminators is attained at
    :math:`D^*(s, a) = \\rho_\\pi(s, a) / (\\rho_\\pi(s, a) + \\rho_E(s, a))`, turning the outer
    problem into minimising the Jensen-Shannon divergence between the occupancy measures minus
    the causal entropy.

    References
    ----------
    .. [1] J. Ho and S. Ermon, "Generative Adversarial Imitation Learning", NeurIPS 2016.
    .. [2] J. Fu, K. Luo and S. Levine, "Learning Robust Rewards with Adversarial Inverse
       Reinforcement Learning", ICLR 2018 (the ``"logit"`` reward).
    .. [3] I. Kostrikov et al., "Discriminator-Actor-Critic: Addressing Sample Inefficiency and
       Reward Bias in Adversarial Imitation Learning", ICLR 2019 (the reward forms' biases).

    Examples
    --------
    >>> from sklirl import GAIL
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.datasets import make_expert_demos
    >>> env = GridWorld(3, gamma=0.9)
    >>> demos, expert = make_expert_demos(env, 20, horizon=10, temperature=0.1, random_state=0)
    >>> gail = GAIL(n_rounds=20, random_state=0).fit(demos, env)
    >>> gail.reward_.shape, gail.predict([0, 4]).shape
    ((9, 4), (2,))
    """

    _accepts_gymnasium = True

    _parameter_constraints: dict = {
        "features": [HasMethods(["fit", "transform"]), None],
        "reward_form": [StrOptions(set(_REWARD_FORMS))],
        "entropy_coef": [Interval(Real, 0, None, closed="left"), None],
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "n_disc_updates": [Interval(Integral, 1, None, closed="left")],
        "disc_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "disc_batch_size": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "grad_penalty": [Interval(Real, 0, None, closed="left")],
        "normalize_inputs": ["boolean"],
        "solver": [HasMethods(["make_trainer"]), HasMethods(["learn", "collect_rollouts"]), None],
        "expectation": [HasMethods(["occupancy"]), None],
        "bc_pretrain_epochs": [Interval(Integral, 0, None, closed="left")],
        "n_average_rounds": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "callback": [callable, None],
        "device": "no_validation",
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        features=None,
        reward_form="-log D",
        entropy_coef=None,
        n_rounds=200,
        n_disc_updates=4,
        disc_learning_rate=1e-3,
        disc_batch_size=512,
        hidden_layer_sizes=(64, 64),
        grad_penalty=0.0,
        normalize_inputs=True,
        solver=None,
        expectation=None,
        bc_pretrain_epochs=0,
        n_average_rounds=20,
        warm_start=False,
        callback=None,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.features = features
        self.reward_form = reward_form
        self.entropy_coef = entropy_coef
        self.n_rounds = n_rounds
        self.n_disc_updates = n_disc_updates
        self.disc_learning_rate = disc_learning_rate
        self.disc_batch_size = disc_batch_size
        self.hidden_layer_sizes = hidden_layer_sizes
        self.grad_penalty = grad_penalty
        self.normalize_inputs = normalize_inputs
        self.solver = solver
        self.expectation = expectation
        self.bc_pretrain_epochs = bc_pretrain_epochs
        self.n_average_rounds = n_average_rounds
        self.warm_start = warm_start
        self.callback = callback
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- shared set-up ---------------------------------------------------------------------------
    def _check_hidden_layer_sizes(self):
        sizes = list(self.hidden_layer_sizes)
        if not all(isinstance(h, Integral) and not isinstance(h, bool) and h > 0 for h in sizes):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of positive integers, got "
                f"{self.hidden_layer_sizes!r}."
            )
        return tuple(int(h) for h in sizes)

    def _resolve_device(self, torch):
        device = self.device
        if isinstance(device, str) and device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        try:
            resolved = torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(
                f"device must be 'cpu', 'cuda', 'auto' or a torch device string, got {device!r}."
            ) from None
        if resolved.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was requested but CUDA is not available.")
        return str(resolved)

    def _make_discriminator(self, input_dim, normalize_mask, seed, hidden, dtype=None):
        from ._discriminator import Discriminator

        torch = import_torch("GAIL")
        return Discriminator(
            input_dim, hidden, normalize_mask=normalize_mask if self.normalize_inputs else None,
            learning_rate=self.disc_learning_rate, grad_penalty=self.grad_penalty,
            device=self.device_, dtype=torch.float32 if dtype is None else dtype,
            generator=torch.Generator().manual_seed(int(seed)),
        )

    def _fit(self, demos, env, sample_weight):
        torch = import_torch("GAIL")
        hidden = self._check_hidden_layer_sizes()
        self.device_ = self._resolve_device(torch)
        rng = check_random_state(self.random_state)
        progress = _Progress(self.n_rounds, self.verbose)
        # The networks are small: intra-op threads only add synchronisation (50x slower steps
        # on a loaded 2-core machine), so CPU fits run single-threaded and restore the setting.
        n_threads = torch.get_num_threads()
        if self.device_ == "cpu":
            torch.set_num_threads(1)
        try:
            if is_tabular_env(env):
                self._fit_tabular(demos, env, sample_weight, rng, hidden, progress)
            else:
                self._fit_gymnasium(demos, env, sample_weight, rng, hidden, progress, torch)
        finally:
            torch.set_num_threads(n_threads)
            progress.close()
        self.n_iter_ = len(self.history_)
        return self

    # -- tabular environments --------------------------------------------------------------------
    def _fit_tabular(self, demos, env, sample_weight, rng, hidden, progress):
        self.entropy_coef_ = 0.1 if self.entropy_coef is None else float(self.entropy_coef)
        if self.entropy_coef_ <= 0:
            raise ValueError(
                "entropy_coef must be positive on tabular envs (it is the temperature of soft "
                f"value iteration), got {self.entropy_coef}."
            )
        S, A = env.n_states, env.n_actions
        phi = self._fit_feature_map(env)
        X = _state_action_inputs(phi, A)
        mask = ~_binary_columns_np(X)
        torch = import_torch("GAIL")
        disc_seed = rng.randint(_MAX_SEED)
        warm = self._warm_state("tabular", X.shape[1], env)

        def fresh_discriminator():
            # Full-batch steps on exact occupancies: float64 keeps them exact, at no real cost.
            disc = self._make_discriminator(X.shape[1], mask, disc_seed, hidden,
                                            dtype=torch.float64)
            if mask.any() and self.normalize_inputs:
                disc.update_input_stats(X)
            return disc

        self._resume_or_start(warm, fresh_discriminator)
        disc = self.discriminator_
        x = disc.as_tensor(X)

        # The expert's state-action distribution (normalised discounted visitation).
        rho_E = empirical_occupancy(demos, S, A, env.gamma, sample_weight).ravel()
        w_E = torch.as_tensor(rho_E / rho_E.sum(), dtype=torch.float64, device=self.device_)

        self.solver_ = SoftValueIteration(temperature=self.entropy_coef_)
        expectation = ExactExpectation() if self.expectation is None else clone(self.expectation)
        if "random_state" in expectation.get_params():
            seed = rng.randint(_MAX_SEED)  # drawn either way, so the fit's other seeds stay put
            if expectation.get_params()["random_state"] is None:  # a user's seed is kept
                expectation.set_params(random_state=seed)
        exact = type(expectation) is ExactExpectation
        mc_steps = _monte_carlo_steps(expectation, env)
        average = _OccupancyAverage(env, self.n_average_rounds)

        if warm is not None:
            policy, init_values, env_steps = warm["policy"], warm["values"], warm["env_steps"]
            rho_next = warm["rho"]
            average.set_state(warm["average"])
        else:
            if self.bc_pretrain_epochs > 0:
                bc = policy_from_occupancy(rho_E.reshape(S, A)).probs
                policy = TabularPolicy(0.9 * bc + 0.1 / A)
            else:
                policy = TabularPolicy(np.full((S, A), 1.0 / A))
            init_values, env_steps, rho_next = None, 0, None
        for _ in range(self.n_rounds):
            # 1. the current policy's state-action distribution
            if exact and rho_next is not None:
                rho_pi = rho_next  # computed exactly at the end of the previous round
            else:
                rho_pi = expectation.occupancy(env, policy)
            env_steps += mc_steps
            w_pi = torch.as_tensor(
                (rho_pi / rho_pi.sum()).ravel(), dtype=torch.float64, device=self.device_
            )
            # 2. k discriminator steps on the occupancy-weighted logistic loss
            losses = [disc.step(x, x, w_pi, w_E) for _ in range(self.n_disc_updates)]
            entropy = _occupancy_entropy(rho_pi)
            # 3. one maximum-entropy RL step on R = -log D (exact: soft value iteration)
            reward = disc.reward(X, self.reward_form).reshape(S, A)
            policy = self.solver_.solve(env, reward, init_values=init_values)
            if not env.finite_horizon:
                init_values = policy.values
            true_return = np.nan if env.reward is None else policy_value(env, policy, env.reward)
            # the returned policy: that of the rounds' averaged occupancy (iterate averaging)
            rho_next = average.add(policy) if exact or average.active else None
            self.reward_, self.policy_ = reward, average.policy(policy)
            warm_state = {
                "kind": "tabular", "input_dim": X.shape[1], "policy": policy,
                "values": init_values, "env_steps": env_steps, "rho": rho_next,
                "average": average.get_state(),
            }
            finalize = self._tabular_finalize(warm_state, disc.get_state())
            if self._record(losses, entropy, true_return, env_steps, progress, finalize):
                break
        self._gail_warm = warm_state

    def _tabular_finalize(self, warm_state, disc_state):
        reward, policy = self.reward_, self.policy_

        def finalize():
            # The interrupted round may have stepped the discriminator: put this round's back.
            self.discriminator_.set_state(disc_state)
            self.reward_, self.policy_ = reward, policy
            self._gail_warm = warm_state

        return finalize

    def _resume_or_start(self, warm, make_discriminator):
        """Continue the previous fit's rounds (``warm``) or start afresh.

        A warm fit works on copies: if it is interrupted before a round completes, the previous
        fit is restored untouched.
        """
        if warm is not None:
            self.discriminator_ = copy.deepcopy(self.discriminator_)
            self.history_ = list(self.history_)  # the rounds continue
        else:
            self.history_ = []
            self.discriminator_ = make_discriminator()

    def _warm_state(self, kind, input_dim, env):
        """The loop state to resume from with ``warm_start=True``; None for a cold start."""
        state = getattr(self, "_gail_warm", None) if self.warm_start else None
        if state is None or state["kind"] != kind or state["input_dim"] != input_dim:
            return None
        if not (hasattr(self, "discriminator_") and hasattr(self, "history_")):
            return None
        if kind == "tabular":
            policy = state["policy"]
            if (policy.n_states, policy.n_actions, policy.horizon) != (
                env.n_states, env.n_actions, env.horizon
            ):
                return None
        elif (getattr(self.policy_, "observation_space", None),
              getattr(self.policy_, "action_space", None)) != (
                  env.observation_space, env.action_space):
            return None
        return state

    # -- gymnasium environments ------------------------------------------------------------------
    def _fit_gymnasium(self, demos, env, sample_weight, rng, hidden, progress, torch):
        encoder = SpaceEncoder(env.observation_space, env.action_space)
        obs_E, act_E, w_E = encoder.demo_arrays(demos, sample_weight)
        x_E = encoder.inputs(obs_E, act_E)
        disc_seed = rng.randint(_MAX_SEED)
        self._encoder = encoder
        batch_rng = np.random.default_rng(rng.randint(_MAX_SEED))
        gp_generator = torch.Generator().manual_seed(int(rng.randint(_MAX_SEED)))
        solver_seed = int(rng.randint(_MAX_SEED))

        if _is_sb3_algorithm(self.solver):
            disc_args = (encoder.input_dim, encoder.continuous_mask, disc_seed, hidden)
            return self._fit_sb3(
                env, encoder, x_E, w_E, batch_rng, gp_generator, progress, disc_args
            )

        warm = self._warm_state("gymnasium", encoder.input_dim, env)
        self._resume_or_start(warm, lambda: self._make_discriminator(
            encoder.input_dim, encoder.continuous_mask, disc_seed, hidden))
        self.solver_ = self._make_ppo(solver_seed)
        trainer = self.solver_.make_trainer(env, policy=None if warm is None else self.policy_)
        try:
            if warm is not None:
                trainer.restore(_trainer_state_from_bytes(warm["trainer"]))
            elif self.bc_pretrain_epochs > 0:
                _behaviour_cloning(
                    trainer.policy, obs_E, act_E, w_E, self.bc_pretrain_epochs, batch_rng, torch
                )
            disc = self.discriminator_
            for _ in range(self.n_rounds):
                # 1. sample state-actions from the current policy
                batch = trainer.collect_rollouts()
                x_pi = encoder.inputs(batch.observations, batch.actions)
                # 2. k discriminator steps, policy minibatch against expert minibatch
                losses = self._discriminator_steps(x_pi, x_E, w_E, batch_rng, gp_generator)
                # 3. one PPO step on R = -log D (or the chosen form)
                rewards = disc.reward(x_pi, self.reward_form)
                stats = trainer.update(batch, rewards)
                returns = batch.episode_returns
                true_return = float(np.mean(returns)) if returns else np.nan
                self.policy_ = trainer.policy
                finalize = self._gymnasium_finalize(
                    trainer, trainer.snapshot(), disc.get_state(), encoder.input_dim
                )
                if self._record(losses, stats["entropy"], true_return, trainer.total_steps,
                                progress, finalize):
                    break
        finally:
            trainer.close()
        self.policy_ = trainer.policy
        self._gail_warm = _gymnasium_warm_state(trainer.snapshot(), encoder.input_dim)
        return self

    def _gymnasium_finalize(self, trainer, trainer_state, disc_state, input_dim):
        def finalize():
            # The interrupted round may have changed the policy (its observation statistics
            # while collecting, its weights while updating) and the discriminator.
            trainer.restore(trainer_state)
            self.discriminator_.set_state(disc_state)
            self.policy_ = trainer.policy
            self._gail_warm = _gymnasium_warm_state(trainer_state, input_dim)

        return finalize

    def _discriminator_steps(self, x_pi, x_E, w_E, rng, generator):
        """``n_disc_updates`` steps, each on a policy minibatch against an expert minibatch."""
        disc, losses = self.discriminator_, []
        for _ in range(self.n_disc_updates):
            i_pi = rng.integers(len(x_pi), size=self.disc_batch_size)
            i_E = rng.choice(len(x_E), size=self.disc_batch_size, p=w_E)
            disc.update_input_stats(np.concatenate([x_pi[i_pi], x_E[i_E]]))
            losses.append(
                disc.step(disc.as_tensor(x_pi[i_pi]), disc.as_tensor(x_E[i_E]),
                          generator=generator)
            )
        return losses

    def _fit_sb3(self, env, encoder, x_E, w_E, rng, generator, progress, disc_args):
        """GAIL with a stable-baselines3 on-policy algorithm as the generator (trained in place).

        SB3's ``learn`` collects a rollout and updates the policy in one call, so each round is
        a policy step on the current discriminator's reward followed by the discriminator steps
        on that rollout's state-actions (Ho & Ermon's (2016) loop, shifted by half a round).
        """
        algo = self.solver
        venv = algo.get_env()
        if venv is None:
            raise ValueError("the stable-baselines3 solver has no env; build it with env=.")
        if self.bc_pretrain_epochs > 0:
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
        warm = self._warm_state("sb3", encoder.input_dim, env)
        self._resume_or_start(warm, lambda: self._make_discriminator(*disc_args))
        disc, reward_form = self.discriminator_, self.reward_form

        def reward_fn(obs, actions):
            obs = np.asarray(obs).reshape(len(obs), -1)
            if encoder.obs_n:
                obs = obs[:, 0]
            return disc.reward(encoder.inputs(obs, actions), reward_form).astype(np.float32)

        wrapper = _sb3_reward_wrapper(venv, reward_fn)
        algo.set_env(wrapper, force_reset=True)
        self.solver_ = algo
        self.entropy_coef_ = float(getattr(algo, "ent_coef", np.nan))
        steps_per_round = int(algo.n_steps) * venv.num_envs
        try:
            for r in range(self.n_rounds):
                algo.learn(steps_per_round, reset_num_timesteps=r == 0 and warm is None)
                buffer = algo.rollout_buffer
                obs = buffer.observations.reshape(steps_per_round, -1)
                if encoder.obs_n:
                    obs = obs[:, 0]
                acts = buffer.actions.reshape(steps_per_round, -1)
                acts = acts[:, 0] if encoder.action_n else acts
                x_pi = encoder.inputs(obs, acts)
                losses = self._discriminator_steps(x_pi, x_E, w_E, rng, generator)
                returns = wrapper.finished_returns()
                true_return = float(np.mean(returns)) if returns else np.nan
                entropy = -algo.logger.name_to_value.get("train/entropy_loss", np.nan)
                self.policy_ = _SB3Policy(algo, encoder)
                finalize = self._sb3_finalize(algo, encoder, disc.get_state())
                if self._record(losses, entropy, true_return, algo.num_timesteps, progress,
                                finalize):
                    break
        finally:
            algo.set_env(venv, force_reset=True)
        self._gail_warm = {"kind": "sb3", "input_dim": encoder.input_dim}
        return self

    def _sb3_finalize(self, algo, encoder, disc_state):
        policy = algo.policy
        training = copy_training_state(policy, policy.optimizer)
        num_timesteps = algo.num_timesteps

        def finalize():
            restore_training_state(policy, policy.optimizer, training)
            algo.num_timesteps = num_timesteps
            self.discriminator_.set_state(disc_state)
            self.policy_ = _SB3Policy(algo, encoder)
            self._gail_warm = {"kind": "sb3", "input_dim": encoder.input_dim}

        return finalize

    def _make_ppo(self, seed):
        from ..solvers._ppo import PPO

        if self.solver is None:
            solver = PPO(n_envs=8, n_steps=256, n_epochs=10, batch_size=256, learning_rate=3e-4)
        elif isinstance(self.solver, PPO):
            solver = clone(self.solver)
        else:
            raise TypeError(
                "solver must be None, a sklirl.solvers.PPO or a stable-baselines3 on-policy "
                f"algorithm, got {type(self.solver).__name__}."
            )
        self.entropy_coef_ = 0.01 if self.entropy_coef is None else float(self.entropy_coef)
        solver.set_params(ent_coef=self.entropy_coef_, device=self.device_)
        if solver.random_state is None:
            solver.set_params(random_state=seed)
        return solver

    def _record(self, losses, entropy, true_return, env_steps, progress, finalize):
        losses = np.asarray(losses, dtype=np.float64)
        row = {
            "disc_loss": float(losses[-1, 0]),
            "disc_accuracy_expert": float(losses[:, 1].mean()),
            "disc_accuracy_policy": float(losses[:, 2].mean()),
            "policy_entropy": float(entropy),
            "true_return": float(true_return),
            "env_steps": int(env_steps),
        }
        self.history_.append(row)
        # A complete round: on a KeyboardInterrupt, finalize() returns the estimator to it.
        self._checkpoint(len(self.history_), finalize)
        progress.update(row)
        return self.callback is not None and self.callback(self, row) is True

    # -- prediction ------------------------------------------------------------------------------
    def _is_tabular_fit(self):
        return isinstance(self.policy_, TabularPolicy)

    def predict_reward(self, states, actions=None):
        """The learned reward ``R(s, a)`` (``-log D`` or the chosen ``reward_form``).

        Parameters
        ----------
        states : array-like
            State indices (tabular envs) or observations, shape ``(n,)`` or ``(n, *obs_shape)``.
        actions : array-like of shape (n,) or (n, *action_shape), default=None
            Without actions the reward of every action is returned (Discrete actions only).

        Returns
        -------
        rewards : ndarray of shape (n,) with actions, (n, A) without
        """
        check_is_fitted(self)
        if self._is_tabular_fit():
            return super().predict_reward(states, actions)
        enc = self._encoder
        obs = enc.check_observations(states)
        if actions is None:
            if enc.action_n is None:
                raise ValueError("actions are required for Box action spaces.")
            n, A = len(obs), enc.action_n
            acts = np.tile(np.arange(A) + enc.action_start, n)
            x = enc.inputs(np.repeat(obs, A, axis=0), acts)
            return self.discriminator_.reward(x, self.reward_form).reshape(n, A)
        acts = enc.check_actions(actions, len(obs))
        return self.discriminator_.reward(enc.inputs(obs, acts), self.reward_form)

    def predict_proba(self, states):
        """Action probabilities of the learned policy (Discrete actions).

        Parameters
        ----------
        states : array-like
            State indices of shape ``(n,)`` (tabular envs; the probabilities at t = 0 for
            finite horizons) or observations of shape ``(n, *obs_shape)`` (gymnasium envs).

        Returns
        -------
        proba : ndarray of shape (n, A)
            Rows sum to 1. A ``TypeError`` for Box action spaces, whose policy is a density
            (use ``policy_.log_prob``).

        Examples
        --------
        >>> from sklirl import GAIL
        >>> from sklirl.envs import GridWorld
        >>> from sklirl.datasets import make_expert_demos
        >>> env = GridWorld(3, gamma=0.9)
        >>> demos, _ = make_expert_demos(env, 10, horizon=10, random_state=0)
        >>> gail = GAIL(n_rounds=5, hidden_layer_sizes=(8,), random_state=0).fit(demos, env)
        >>> proba = gail.predict_proba([0, 4, 8])
        >>> proba.shape, bool((proba.sum(axis=1).round(12) == 1).all())
        ((3, 4), True)
        """
        check_is_fitted(self)
        if self._is_tabular_fit():
            return super().predict_proba(states)
        obs = self._encoder.check_observations(states)
        return self.policy_.predict_proba(obs)

    def predict(self, states):
        """The learned policy's deterministic action (most probable, or the Gaussian mean).

        Parameters
        ----------
        states : array-like
            State indices of shape ``(n,)`` (tabular envs) or observations of shape
            ``(n, *obs_shape)`` (gymnasium envs).

        Returns
        -------
        actions : ndarray of shape (n,) or (n, *action_shape)
            Discrete actions are the most probable ones (``predict_proba(states).argmax(1)``);
            Box actions are the Gaussian policy's mean, clipped to the action bounds.

        Examples
        --------
        >>> from sklirl import GAIL
        >>> from sklirl.envs import GridWorld
        >>> from sklirl.datasets import make_expert_demos
        >>> env = GridWorld(3, gamma=0.9)
        >>> demos, _ = make_expert_demos(env, 10, horizon=10, random_state=0)
        >>> gail = GAIL(n_rounds=5, hidden_layer_sizes=(8,), random_state=0).fit(demos, env)
        >>> actions = gail.predict([0, 4, 8])
        >>> actions.shape, bool((actions == gail.predict_proba([0, 4, 8]).argmax(1)).all())
        ((3,), True)
        """
        check_is_fitted(self)
        if self._is_tabular_fit():
            return super().predict(states)
        obs = self._encoder.check_observations(states)
        return self.policy_.predict(obs, deterministic=True)

    def sample_action(self, states, random_state=None):
        """Sample actions from the learned (stochastic) policy.

        Parameters
        ----------
        states : array-like
            State indices (tabular envs) or observations.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        actions : ndarray of shape (n,) or (n, *action_shape)
        """
        check_is_fitted(self)
        if self._is_tabular_fit():
            s = self._check_tabular_states(states)
            return self.policy_.sample(s, t=0, random_state=random_state)
        obs = self._encoder.check_observations(states)
        return self.policy_.sample(obs, random_state=random_state)

    def _score_samples_mean(self, policy, demos):
        obs, acts, _ = self._encoder.demo_arrays(demos, None)
        return float(np.mean(policy.log_prob(obs, acts)))

    def _transfer_policy(self, env):
        if not self._is_tabular_fit():
            if not is_tabular_env(env):
                if (env.observation_space, env.action_space) == (
                    self.policy_.observation_space, self.policy_.action_space
                ):
                    return self.policy_
            raise ValueError("env has other spaces than the environment GAIL was fitted on.")
        if not is_tabular_env(env) or env.n_actions != self.env_.n_actions:
            raise ValueError(
                "GAIL can re-plan only on a TabularMDP with the fit env's number of actions."
            )
        phi = self._feature_matrix(env)
        reward = self.discriminator_.reward(_state_action_inputs(phi, env.n_actions),
                                            self.reward_form)
        return self.solver_.solve(env, reward.reshape(env.n_states, env.n_actions))


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def _state_action_inputs(phi, n_actions):
    """Per-action copies of the state features; dense unless large and sparse."""
    X = state_action_features(phi, n_actions)
    if X.shape[0] * X.shape[1] <= 4_000_000:
        return X.toarray()
    return X


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


def _gymnasium_warm_state(trainer_state, input_dim):
    """What a warm start needs besides policy_ and discriminator_, with CPU tensor bytes (so
    that a fitted GAIL pickles on a GPU machine and unpickles on a CPU-only one)."""
    from ..utils._persistence import state_dict_to_bytes

    state = dict(trainer_state)
    state["net"] = state_dict_to_bytes(state["net"])
    state["optimizer"] = state_dict_to_bytes(state["optimizer"])
    return {"kind": "gymnasium", "input_dim": input_dim, "trainer": state}


def _trainer_state_from_bytes(state):
    from ..utils._persistence import state_dict_from_bytes

    state = dict(state)
    state["net"] = state_dict_from_bytes(state["net"])
    state["optimizer"] = state_dict_from_bytes(state["optimizer"])
    return state


def _binary_columns_np(X):
    import scipy.sparse as sp

    if sp.issparse(X):
        return np.ones(X.shape[1], dtype=bool)
    return np.all((X == 0) | (X == 1), axis=0)


def _monte_carlo_steps(expectation, env):
    if hasattr(expectation, "n_episodes") and hasattr(expectation, "rollout_horizon"):
        return int(expectation.n_episodes) * int(expectation.rollout_horizon(env))
    return 0


def _occupancy_entropy(rho):
    """Mean per-step entropy of the policy, weighted by its state-action occupancy."""
    pi = policy_from_occupancy(rho).probs
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pi = np.where(pi > 0, np.log(np.where(pi > 0, pi, 1.0)), 0.0)
    return float(-(rho * log_pi).sum() / rho.sum())


def _is_sb3_algorithm(solver):
    return solver is not None and hasattr(solver, "learn") and hasattr(solver, "collect_rollouts")


def _sb3_reward_wrapper(venv, reward_fn):
    """A VecEnv whose rewards are ``reward_fn(obs, actions)``; it keeps the true returns."""
    from stable_baselines3.common.vec_env import VecEnvWrapper

    class RewardWrapper(VecEnvWrapper):
        def __init__(self, venv):
            super().__init__(venv)
            self._obs = self._actions = None
            self._returns = np.zeros(venv.num_envs)
            self._finished = []

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
            self._obs = obs
            return obs, rewards, dones, infos

        def finished_returns(self):
            out, self._finished = self._finished, []
            return out

    return RewardWrapper(venv)


class _SB3Policy:
    """The TorchPolicy-like face of a stable-baselines3 policy (predict, proba, log_prob)."""

    def __init__(self, algo, encoder):
        self.algo, self.encoder = algo, encoder
        self.observation_space = encoder.observation_space
        self.action_space = encoder.action_space

    def _obs(self, obs):
        return obs if self.encoder.obs_n else obs.reshape(len(obs), *self.encoder.obs_shape)

    def _distribution(self, obs):
        torch = import_torch("GAIL")
        policy = self.algo.policy
        with torch.no_grad():
            tensor, _ = policy.obs_to_tensor(self._obs(obs))
            return policy.get_distribution(tensor)

    def predict(self, obs, deterministic=True):
        return self.algo.predict(self._obs(obs), deterministic=deterministic)[0]

    def sample(self, obs, random_state=None):
        return self.predict(obs, deterministic=False)

    def predict_proba(self, obs):
        if not self.encoder.action_n:
            raise TypeError("predict_proba is only defined for Discrete action spaces.")
        return self._distribution(obs).distribution.probs.cpu().numpy()

    def log_prob(self, obs, actions):
        torch = import_torch("GAIL")
        dist = self._distribution(obs)
        acts = torch.as_tensor(np.asarray(actions), device=self.algo.device)
        with torch.no_grad():
            return dist.log_prob(acts).cpu().numpy()


def _behaviour_cloning(policy, obs, acts, weights, epochs, rng, torch, batch_size=64, lr=1e-3):
    """Maximum-likelihood training of the policy's actor on the demos' state-actions."""
    policy._update_obs_stats(obs)
    x = torch.from_numpy(policy._features(obs)).to(policy.device)
    if policy._discrete_actions:
        a = torch.from_numpy(acts - int(policy.action_space.start)).to(policy.device)
    else:
        a = torch.from_numpy(acts.astype(np.float32)).to(policy.device)
    params = list(policy.net.actor.parameters())
    if policy.net.log_std is not None:
        params.append(policy.net.log_std)
    optimizer = torch.optim.Adam(params, lr=lr)
    n = len(obs)
    for _ in range(epochs):
        order = rng.choice(n, size=n, p=weights)
        for start in range(0, n, batch_size):
            idx = torch.from_numpy(order[start:start + batch_size]).to(policy.device)
            log_prob, _ = policy.net.log_prob_entropy(x[idx], a[idx])
            loss = -log_prob.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


class _Progress:
    """A minimal progress bar over rounds (stderr), with the round's diagnostics."""

    def __init__(self, total, verbose, width=24):
        self.total, self.verbose, self.width, self.count = total, verbose, width, 0

    def update(self, row):
        self.count += 1
        if not self.verbose:
            return
        done = int(self.width * self.count / self.total)
        bar = "#" * done + "." * (self.width - done)
        line = (
            f"GAIL [{bar}] {self.count}/{self.total} disc_loss={row['disc_loss']:.3f} "
            f"acc_E={row['disc_accuracy_expert']:.2f} acc_pi={row['disc_accuracy_policy']:.2f} "
            f"entropy={row['policy_entropy']:.3f} return={row['true_return']:.2f} "
            f"steps={row['env_steps']}"
        )
        if self.verbose > 1:
            print(line, file=sys.stderr)
        else:
            print("\r" + line, end="", file=sys.stderr, flush=True)

    def close(self):
        if self.verbose == 1 and self.count:
            print(file=sys.stderr)
