"""The adversarial imitation loop, once, over pluggable generators (GAIL, AIRL).

An adversarial estimator is its parameters plus two choices: the **discriminator** (GAIL's
``D_w(s, a)``; AIRL's ``f(s, a, s') - log pi(a|s)``) and the pseudo-reward it gives the policy.
:class:`BaseAdversarialIRL` runs the rest for every such estimator, in the order of Ho &
Ermon's (2016) Algorithm 1::

    expert = generator.setup(demos, sample_weight)     # expert Samples, discriminator input spec
    for each of max_iter rounds:
        samples = generator.sample()                   # 1. the current policy's state-actions
        losses = self._discriminator_steps(samples, expert)   # 2. k discriminator steps
        stats = generator.improve(self._generator_reward)     # 3. one policy step on the reward
        history, checkpoint (Ctrl-C recovery), progress, callback

Warm start, ``KeyboardInterrupt`` recovery, ``history_``, the progress output and the seeding live
here, once. A subclass implements ``_make_discriminator(generator, expert, seed)``,
``_generator_reward(samples) -> (n,) rewards`` and, if its discriminator trains differently,
``_discriminator_steps(samples, expert) -> [(loss, acc_expert, acc_policy), ...]``;
``_policy_entropy_coef(kind)`` (the policy step's entropy weight, read by the generators) and
``_set_reward_table(table)`` (what a tabular round exposes as ``reward_``) have defaults.

The generator interface
-----------------------
A generator owns the policy and how it is trained. ``Generator(estimator, env)`` reads the
estimator's parameters (``entropy_coef``, ``solver``, ``expectation``, ``n_average_rounds``,
``device_``); :data:`GENERATORS` lists the classes and the first whose ``accepts(env, solver)``
is true is used, so adding a generator is one class added there. Its members:

``setup(demos, sample_weight) -> Samples``
    Validate, build the discriminator's input encoding and return the expert's samples. Sets
    ``input_dim``, ``continuous_mask`` (input columns to standardise), ``dtype`` (torch dtype
    name of the discriminator), ``full_batch`` (True: samples are exact weighted tables, the
    discriminator trains on the full batch), ``signature`` (hashable: a warm start resumes
    only a fit with an equal one), ``solver`` and ``entropy_coef`` (shown as ``solver_`` and
    ``entropy_coef_``).
``seed(rng)``
    Draw the generator's seeds from the fit's ``RandomState`` (after the discriminator's).
``start(state, policy, reward, pretrain_epochs, rng)``
    A fresh policy (``state`` None; behaviour-cloned for ``pretrain_epochs > 0`` on the expert
    samples, minibatches drawn with the numpy Generator ``rng``) or the one of a
    :meth:`snapshot` ``state`` (``policy`` is the previous fit's ``policy_``). ``reward`` is the
    callable that :meth:`improve` will be given (a generator that collects and updates in one
    call, like stable-baselines3's ``learn``, rewards its rollouts with it).
``sample() -> Samples``
    State-actions of the current policy (tabular: its exact or Monte Carlo occupancy measure).
``improve(reward) -> dict``
    One policy step on ``reward(samples) -> (n,)`` pseudo-rewards; returns ``policy_entropy``,
    ``true_return`` (NaN when unknown) and ``env_steps`` (so far). Then ``policy`` is what
    ``policy_`` becomes, and ``reward_table`` the ``(S, A)`` reward on tabular envs (else None).
``snapshot() -> state`` / ``restore(state)``
    A picklable copy of the training state (policy weights, optimiser, statistics, counters),
    taken after each complete round, and its restoration (after a Ctrl-C, and on warm start).
``close()``
    Release environments.

:class:`Samples` carries what a discriminator may need. AIRL's, at the sampled ``(s, a)``:
``log_probs``, ``log pi(a|s)`` under the policy that sampled them (PPO and SB3 generators;
tabular ones give None: use ``samples.policy.log_probs``, the ``(S, A)`` table), the next
states ``next_observations`` (PPO generator; the expert's when every demo has its final
state; SB3's rollout buffer does not keep them), and on tabular envs the ``occupancy``
``(S, A)`` with the ``policy`` (and ``env.transitions`` for expectations over ``s'``).
"""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from ..base import BaseIRL, is_tabular_env
from ..utils._optional import import_torch
from ..utils._progress import Progress
from ..utils._validation import MAX_SEED
from ..utils._warnings import warn_user
from ._generators import GENERATORS, Samples, tabular_samples

__all__ = ["BaseAdversarialIRL", "Samples", "GENERATORS"]



def _with_absorbing(samples):
    """The discriminator's rows of ``samples`` with its absorbing-state rows, and their
    sampling probabilities (None: uniform)."""
    if samples.absorbing_inputs is None or not len(samples.absorbing_inputs):
        return samples.inputs, samples.weights
    x = np.vstack([samples.inputs, samples.absorbing_inputs])
    weights = np.ones(len(samples.inputs)) if samples.weights is None else samples.weights
    absorbing = (np.ones(len(samples.absorbing_inputs)) if samples.absorbing_weights is None
                 else samples.absorbing_weights)
    p = np.concatenate([weights, absorbing])
    return x, p / p.sum()


class BaseAdversarialIRL(BaseIRL):
    """Base class of the adversarial estimators: one training loop over a generator.

    See the module docstring for the generator interface and what a subclass implements.
    Subclasses have the parameters ``max_iter``, ``n_disc_updates``, ``disc_batch_size``,
    ``bc_pretrain_epochs``, ``warm_start``, ``callback``, ``device``, ``random_state`` and
    ``verbose``, and those their generators read.
    """

    _accepts_gymnasium = True
    # The loop's and the generators' parameters; subclasses add their discriminator's.
    _parameter_constraints: dict = {
        "features": [HasMethods(["fit", "transform"]), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_disc_updates": [Interval(Integral, 1, None, closed="left")],
        "disc_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "disc_batch_size": [Interval(Integral, 1, None, closed="left")],
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
    # Gymnasium envs: episodes that terminate go on in an absorbing state that the
    # discriminator sees (see sklirl/_rollouts.py); an estimator whose reward needs more than
    # the discriminator's inputs (AIRL's log-probabilities) leaves it off.
    _absorbing = False

    # -- hooks --------------------------------------------------------------------------------
    def _make_discriminator(self, generator, expert, seed):  # pragma: no cover - abstract
        raise NotImplementedError

    def _generator_reward(self, samples):  # pragma: no cover - abstract
        raise NotImplementedError

    def _policy_entropy_coef(self, kind):
        """The entropy weight of the policy step, read by the generators: the temperature of
        soft value iteration (``kind="tabular"``) or PPO's entropy bonus (``"ppo"``)."""
        if self.entropy_coef is not None:
            return float(self.entropy_coef)
        return 0.1 if kind == "tabular" else 0.01

    def _set_reward_table(self, table):
        """Tabular fits: expose the ``(S, A)`` reward the policy step planned on."""
        self.reward_ = table

    def _discriminator_steps(self, samples, expert):
        """``n_disc_updates`` steps of the discriminator on ``samples`` against ``expert``.

        Weighted tables (tabular generators) train on the full batch; sampled state-actions on
        minibatches of ``disc_batch_size`` each side (expert rows drawn by their weights).
        """
        disc = self.discriminator_
        if samples.weights is not None:
            torch = import_torch(type(self).__name__)
            if not hasattr(self, "_expert_tensors"):  # the fixed expert table, once per fit
                self._expert_tensors = (disc.as_tensor(expert.inputs), torch.as_tensor(
                    expert.weights, dtype=torch.float64, device=self.device_))
            x_E, w_E = self._expert_tensors
            x_pi = x_E if samples.inputs is expert.inputs else disc.as_tensor(samples.inputs)
            w_pi = torch.as_tensor(samples.weights, dtype=torch.float64, device=self.device_)
            return [disc.step(x_pi, x_E, w_pi, w_E) for _ in range(self.n_disc_updates)]
        (x_pi, p_pi), (x_E, p_E) = _with_absorbing(samples), _with_absorbing(expert)
        rng, losses = self._batch_rng, []
        for _ in range(self.n_disc_updates):
            i_pi = rng.choice(len(x_pi), size=self.disc_batch_size, p=p_pi)
            i_E = rng.choice(len(x_E), size=self.disc_batch_size, p=p_E)
            disc.update_input_stats(np.concatenate([x_pi[i_pi], x_E[i_E]]))
            losses.append(disc.step(disc.as_tensor(x_pi[i_pi]), disc.as_tensor(x_E[i_E]),
                                    generator=self._gp_generator))
        return losses

    # -- the loop -------------------------------------------------------------------------------
    def _fit(self, demos, env, sample_weight):
        from ..utils._torch import resolve_device, torch_threads

        torch = import_torch(type(self).__name__)
        self.device_ = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        generator = next(g for g in GENERATORS if g.accepts(env, self.solver))(self, env)
        expert = generator.setup(demos, sample_weight)
        disc_seed = rng.randint(MAX_SEED)
        if not generator.full_batch:
            self._batch_rng = np.random.default_rng(rng.randint(MAX_SEED))
            self._gp_generator = torch.Generator().manual_seed(int(rng.randint(MAX_SEED)))
        generator.seed(rng)
        warm = self._warm_state(generator.signature)
        if warm is not None:  # a warm fit works on copies: an early Ctrl-C leaves the old fit
            self.discriminator_ = copy.deepcopy(self.discriminator_)
            rows = {k: list(v) for k, v in self.history_.items()}
        else:
            self.discriminator_ = self._make_discriminator(generator, expert, disc_seed)
            rows = {}
        self.solver_, self.entropy_coef_ = generator.solver, generator.entropy_coef
        progress = Progress(type(self).__name__, self.max_iter, self.verbose)
        n_threads = 1 if self.device_ == "cpu" else None
        try:
            with torch_threads(n_threads):
                generator.start(
                    None if warm is None else warm["generator"],
                    None if warm is None else self.policy_,
                    self._generator_reward, self.bc_pretrain_epochs,
                    getattr(self, "_batch_rng", None),
                )
                for _ in range(self.max_iter):
                    samples = generator.sample()
                    losses = np.asarray(self._discriminator_steps(samples, expert), dtype=float)
                    stats = generator.improve(self._generator_reward)
                    row = {
                        "disc_loss": float(losses[-1, 0]),
                        "disc_accuracy_expert": float(losses[:, 1].mean()),
                        "disc_accuracy_policy": float(losses[:, 2].mean()),
                        "policy_entropy": float(stats["policy_entropy"]),
                        "true_return": float(stats["true_return"]),
                        "env_steps": int(stats["env_steps"]),
                    }
                    for key, value in row.items():
                        rows.setdefault(key, []).append(value)
                    self._set_round(generator, rows)
                    # A complete round: on a KeyboardInterrupt, finalize() returns to it.
                    self._checkpoint(len(rows["disc_loss"]), self._finalizer(generator, rows))
                    progress.update(
                        f"disc_loss={row['disc_loss']:.3f} "
                        f"acc_E={row['disc_accuracy_expert']:.2f} "
                        f"acc_pi={row['disc_accuracy_policy']:.2f} "
                        f"entropy={row['policy_entropy']:.3f} "
                        f"return={row['true_return']:.2f} steps={row['env_steps']}"
                    )
                    if self.callback is not None and self.callback(self, row) is True:
                        break
        finally:
            generator.close()
            progress.close()
            for name in ("_batch_rng", "_gp_generator", "_expert_tensors"):
                self.__dict__.pop(name, None)
        self._set_round(generator, rows)
        self._adversarial_warm = {"signature": generator.signature,
                                  "generator": generator.snapshot()}
        self.n_iter_ = len(rows.get("disc_loss", []))
        return self

    def _set_round(self, generator, rows):
        self.policy_ = generator.policy
        if generator.reward_table is not None:
            self._set_reward_table(generator.reward_table)
        self.history_ = {k: np.asarray(v) for k, v in rows.items()}

    def _finalizer(self, generator, rows):
        state, disc_state = generator.snapshot(), self.discriminator_.get_state()
        n = len(rows["disc_loss"])
        signature, reward = generator.signature, generator.reward_table

        def finalize():
            # The interrupted round may have stepped the discriminator and the policy.
            generator.restore(state)
            self.discriminator_.set_state(disc_state)
            self.policy_ = generator.policy
            if reward is not None:
                self._set_reward_table(reward)
            self.history_ = {k: np.asarray(v[:n]) for k, v in rows.items()}
            self._adversarial_warm = {"signature": signature, "generator": state}

        return finalize

    def _warm_state(self, signature):
        """The previous fit's loop state to resume with ``warm_start=True``; None otherwise."""
        state = getattr(self, "_adversarial_warm", None) if self.warm_start else None
        if state is None or not (hasattr(self, "discriminator_") and hasattr(self, "history_")):
            return None
        if state["signature"] != signature:
            # (kind, discriminator input size, env sizes or spaces): never ignored silently
            warn_user(
                f"{type(self).__name__}: warm_start=True is ignored because the problem "
                f"changed since the previous fit ({state['signature']!r} -> {signature!r}: "
                "generator kind, discriminator inputs, env states/actions/horizon or spaces); "
                "the fit starts from scratch. Set warm_start=False to silence this.",
                UserWarning,
            )
            return None
        return state

    # -- prediction ------------------------------------------------------------------------------
    def _is_tabular_fit(self):
        return is_tabular_env(self.env_)

    def _reward_inputs(self, states, actions):
        """Discriminator inputs of gymnasium states and actions (all actions when None)."""
        enc = self._encoder
        obs = enc.check_observations(states)
        if actions is None:
            if enc.action_n is None:
                raise ValueError("actions are required for Box action spaces.")
            n, A = len(obs), enc.action_n
            acts = np.tile(np.arange(A) + enc.action_start, n)
            return Samples(enc.inputs(np.repeat(obs, A, axis=0), acts)), (n, A)
        acts = enc.check_actions(actions, len(obs))
        return Samples(enc.inputs(obs, acts), observations=obs, actions=acts), (len(obs),)

    def predict_reward(self, states, actions=None):
        """The learned reward ``R(s, a)`` (the pseudo-reward the policy was trained on).

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
        samples, shape = self._reward_inputs(states, actions)
        return self._generator_reward(samples).reshape(shape)

    def predict_proba(self, states):
        """Action probabilities of the learned policy (Discrete actions).

        Parameters
        ----------
        states : array-like
            State indices of shape ``(n,)`` (tabular envs; the probabilities at t = 0 for
            finite horizons) or observations of shape ``(n, *obs_shape)`` (gymnasium envs);
            one state index or observation gives one row.

        Returns
        -------
        proba : ndarray of shape (n, A), or (A,) for one state
            Rows sum to 1. A ``TypeError`` for Box action spaces, whose policy is a density
            (use ``policy_.log_prob``).
        """
        check_is_fitted(self)
        if self._is_tabular_fit():
            return super().predict_proba(states)
        obs, single = self._encoder.check_one_or_batch(states)
        proba = self.policy_.predict_proba(obs)
        return proba[0] if single else proba

    def predict(self, states):
        """The learned policy's deterministic action (most probable, or the Gaussian mean).

        Parameters
        ----------
        states : array-like
            State indices of shape ``(n,)`` (tabular envs) or observations of shape
            ``(n, *obs_shape)`` (gymnasium envs). One observation (a scalar for Discrete
            spaces, one array for Box) gives one action, so ``env.step(est.predict(obs))``
            works.

        Returns
        -------
        actions : ndarray of shape (n,) or (n, *action_shape), or one action
            Discrete actions are the most probable ones (``predict_proba(states).argmax(1)``);
            Box actions are the Gaussian policy's mean, clipped to the action bounds.
        """
        check_is_fitted(self)
        if self._is_tabular_fit():
            return super().predict(states)
        obs, single = self._encoder.check_one_or_batch(states)
        actions = self.policy_.act(obs, deterministic=True)
        return actions[0] if single else actions

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
        obs, single = self._encoder.check_one_or_batch(states)
        actions = self.policy_.sample(obs, random_state=random_state)
        return actions[0] if single else actions

    def _score_samples_mean(self, policy, demos):
        obs, acts, _ = self._encoder.demo_arrays(demos, None)
        return float(np.mean(policy.log_prob(obs, acts)))

    def transfer_reward(self, env):
        """The learned reward ``R(s, a)`` (the policy's pseudo-reward) on another tabular env.

        Parameters
        ----------
        env : TabularMDP
            An env with the fit env's number of actions whose state descriptors the fitted
            feature map can transform.

        Returns
        -------
        reward : ndarray of shape (env.n_states, env.n_actions)
        """
        check_is_fitted(self)
        name = type(self).__name__
        if not self._is_tabular_fit() or not is_tabular_env(env):
            raise ValueError(f"transfer_reward needs a {name} fitted on a TabularMDP and a "
                             "TabularMDP.")
        if env.n_actions != self.env_.n_actions:
            raise ValueError(f"{name}'s reward is defined for the {self.env_.n_actions} actions "
                             f"of the fit env; this env has {env.n_actions}.")
        reward = self._generator_reward(tabular_samples(self._feature_matrix(env), env.n_actions))
        return reward.reshape(env.n_states, env.n_actions)

    def _transfer_policy(self, env):
        name = type(self).__name__
        if not self._is_tabular_fit():
            if not is_tabular_env(env) and (env.observation_space, env.action_space) == (
                self.policy_.observation_space, self.policy_.action_space
            ):
                return self.policy_
            raise ValueError(f"env has other spaces than the environment {name} was fitted on.")
        if not is_tabular_env(env) or env.n_actions != self.env_.n_actions:
            raise ValueError(
                f"{name} can re-plan only on a TabularMDP with the fit env's number of actions."
            )
        return self.solver_.solve(env, self.transfer_reward(env))


