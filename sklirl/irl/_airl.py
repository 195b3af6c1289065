"""Adversarial inverse reinforcement learning (Fu, Luo & Levine, 2018).

AIRL is the adversarial loop of :mod:`sklirl.irl._adversarial` with a structured
discriminator: its logit is ``f(s, a, s') - log pi(a|s)`` with the shaped reward
``f = g(s[, a]) + gamma h(s') - h(s)``. The disentangled reward ``g`` is what transfers to new
dynamics. The module imports without torch; ``fit`` imports it on first use.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..base import is_tabular_env
from ..envs._tabular import check_indices
from ..expectations import policy_from_occupancy
from ..solvers import SoftValueIteration
from ..utils._optional import import_torch
from ..utils._persistence import (
    TorchStatePickleMixin,
    copy_training_state,
    restore_training_state,
)
from ..utils._validation import check_hidden_layer_sizes
from ._adversarial import BaseAdversarialIRL
from ._generators import SB3Generator

__all__ = ["AIRL"]

# log pi is clipped here: a soft-optimal policy's probabilities can underflow to 0.
_MIN_LOG_PROB = -50.0


class AIRL(BaseAdversarialIRL):
    """Adversarial inverse reinforcement learning (AIRL): a reward that transfers.

    The discriminator tells the expert's transitions ``(s, a, s')`` (``D -> 1``) from the
    current policy's (``D -> 0``), with the form

    .. math:: D(s, a, s') = \\frac{\\exp f(s, a, s')}{\\exp f(s, a, s') + \\pi(a|s)},
              \\qquad f(s, a, s') = g(s[, a]) + \\gamma h(s') - h(s),

    i.e. its logit is ``f - log pi``. The policy takes one step of reinforcement learning on
    ``log D - log(1 - D) = f - log pi`` per round. ``g`` is the learned reward (with
    ``state_only=True``, a function of the state only: the setting that recovers the reward up
    to a constant and transfers to new dynamics), ``h`` a shaping potential that absorbs the
    training dynamics. Each round, like :class:`~sklirl.GAIL`:

    1. sample the current policy's transitions (tabular envs: its exact occupancy measure
       times the transition model);
    2. take ``n_disc_updates`` steps on the discriminator's logistic loss, expert transitions
       against the policy's;
    3. take one policy step on ``f - log pi``: exact soft value iteration (temperature 1) on
       ``f`` on a :class:`~sklirl.envs.TabularMDP`, one PPO update on a gymnasium env.

    Read more in :ref:`reward_transfer`.

    Parameters
    ----------
    features : transformer or None, default=None
        Tabular envs: the feature map of the states that ``g`` and ``h`` see (any scikit-learn
        transformer of ``env.state_features``, e.g. the coordinates); None means
        :class:`~sklirl.features.OneHotStates`. With features that describe states of other
        envs, :meth:`transfer_reward` evaluates ``g`` there. Gymnasium envs feed the
        observation (one-hot when Discrete).
    state_only : bool, default=True
        ``g(s)`` (True) or ``g(s, a)`` (False; ``g`` then has one output per action, the
        observation and action concatenated on gymnasium envs).
    reward_model : {"linear", "mlp"}, default="linear"
        ``g`` linear in the (standardised) features, or a multilayer perceptron on them.
    hidden_layer_sizes : tuple of int, default=(32, 32)
        Hidden layers of ``g`` when ``reward_model="mlp"`` (ReLU).
    potential_hidden_layer_sizes : tuple of int, default=(32, 32)
        Hidden layers of the potential ``h`` (ReLU); ``()`` makes it linear in the features.
    entropy_coef : float, default=0.0
        Extra entropy weight of the policy step on top of the entropy that AIRL's reward already
        holds (the ``-log pi`` term, weight 1): soft value iteration plans on ``f`` with
        temperature ``1 + entropy_coef`` on tabular envs, PPO's entropy bonus is
        ``entropy_coef`` on gymnasium envs.
    max_iter : int, default=200
        Number of AIRL rounds.
    n_disc_updates : int, default=4
        Discriminator gradient steps per round.
    disc_learning_rate : float, default=1e-2
        Adam step size of ``g`` and ``h``.
    disc_batch_size : int, default=512
        Gymnasium envs: transitions of the policy and of the expert per discriminator step
        (each). Tabular envs train on the full, exactly weighted batch.
    l2 : float, default=0.0
        Penalty ``l2 / 2 * (mean g^2 + mean h^2)`` on the values of ``g`` and ``h`` over the
        discriminator's batch: it pins the constants that ``f`` leaves free.
    normalize_inputs : bool, default=True
        Standardise the continuous (non one-hot) input columns with the statistics of the
        fit env's feature matrix (tabular) or of the expert's observations (gymnasium), fixed
        at the start of the fit so that ``g`` means the same on a new env.
    solver : PPO or None, default=None
        Gymnasium envs: the policy optimiser (see :class:`~sklirl.GAIL`); its ``entropy_coef`` is
        set to ``entropy_coef``. stable-baselines3 algorithms do not keep the next states
        AIRL's discriminator needs: a ``ValueError``.
    expectation : ExactExpectation, MonteCarloExpectation or None, default=None
        Tabular envs: how the policy's state-action distribution is obtained each round
        (None: the exact occupancy measure).
    bc_pretrain_epochs : int, default=0
        Behaviour-cloning warm start of the policy (see :class:`~sklirl.GAIL`).
    n_average_rounds : int, default=20
        Tabular envs: ``policy_`` is the policy of the exponential moving average of the
        rounds' occupancy measures (see :class:`~sklirl.GAIL`).
    warm_start : bool, default=False
        Continue from the previous fit (discriminator and policy) instead of starting afresh.
    callback : callable or None, default=None
        Called as ``callback(airl, row)`` after each round; returning True stops the fit.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where the networks train.
    random_state : int, RandomState instance or None, default=None
        Seeds the networks, the sampling and the environments.
    verbose : int, default=0
        Report each round's discriminator loss and accuracies, policy entropy and return.

    Attributes
    ----------
    reward_ : ndarray of shape (S, A)
        Tabular envs: the learned, disentangled reward ``g`` (the same for every action when
        ``state_only``). This is the reward to reuse and transfer.
    coef_ : ndarray of shape (n_features,) or (n_features, A)
        ``reward_model="linear"``: the weights of ``g`` on the features (the observation
        encoding on gymnasium envs), with ``intercept_`` its constant.
    shaped_reward_ : ndarray of shape (S, A)
        Tabular envs: ``E_{s'}[f(s, a, s')] = g(s[, a]) + gamma E[h(s')] - h(s)``, the shaped
        reward the last policy step planned on. It holds the training dynamics: do not
        transfer it.
    potential_ : ndarray of shape (S,)
        Tabular envs: the shaping potential ``h`` (0 at an absorbing state).
    policy_ : TabularPolicy or TorchPolicy
        The learned policy.
    discriminator_ : object
        The ``g`` and ``h`` networks and their optimiser.
    features_ : transformer
        Tabular envs: the fitted feature map.
    solver_ : SoftValueIteration or PPO
        The policy optimiser used.
    entropy_coef_ : float
        The entropy weight of the policy step (tabular: ``1 + entropy_coef``, the temperature).
    device_ : str
        The resolved device.
    env_ : TabularMDP or gymnasium.Env
        The environment seen in ``fit``.
    n_iter_ : int
        Rounds run.
    history_ : dict of ndarray
        One entry per round: ``disc_loss``, ``disc_accuracy_expert``, ``disc_accuracy_policy``,
        ``policy_entropy``, ``true_return`` and ``env_steps`` (as for :class:`~sklirl.GAIL`).

    See Also
    --------
    sklirl.GAIL : The same loop with an unstructured discriminator (a policy, not a reward).
    sklirl.metrics.transfer_value_difference : How well a learned reward transfers.

    Notes
    -----
    For a fixed policy the discriminator's logistic loss over transitions is minimised at
    ``D* = rho_E(s, a, s') / (rho_E(s, a, s') + rho_pi(s, a, s'))``; with the AIRL form this
    is ``exp f* / (exp f* + pi)``. At the equilibrium ``pi = pi_E`` and, for a
    deterministic MDP and a state-only ``g``, ``g* = r + const`` and ``h* = V* + const``, the
    reward and the soft value of an expert that is soft-optimal at temperature 1 (Fu et al.,
    Theorem 5.1): ``g`` is recovered without the shaping that ``f`` contains.

    **The entropy is counted once.** The policy maximises
    ``E[sum_t gamma^t (log D - log(1 - D))] = E[sum_t gamma^t f(s_t, a_t, s_{t+1})]
    + E[sum_t gamma^t (-log pi(a_t|s_t))]``: reinforcement learning on ``f`` with the causal
    entropy at weight 1. Soft value iteration at temperature ``tau`` maximises
    ``E[sum_t gamma^t (r + tau H(pi(.|s_t)))]``, so on tabular envs the policy step is soft
    value iteration on ``r(s, a) = E_{s' ~ P}[f(s, a, s')]`` (exact, since ``f`` is linear in
    ``h(s')``) with ``tau = 1`` (plus ``entropy_coef``), and *not* on ``f - log pi``, which
    would add the entropy a second time. On gymnasium envs the PPO reward is ``f - log pi``
    of the sampled actions and PPO's own entropy bonus is ``entropy_coef`` (default 0).

    **Terminations.** The episode's end must not pay the shaping term: ``h`` is 0 at an
    absorbing state, and ``gamma h(s')`` is dropped at transitions that end the episode
    (``terminated``; truncation keeps it).

    **Transitions.** On tabular envs the policy's transitions are its exact occupancy times
    the model ``P(s'|s, a)``; the expert's have the state-action marginal of
    :func:`~sklirl.expectations.expert_occupancy` (terminal demos continued into the
    absorbing state) and are the demonstrations' observed ``(s, a, s')`` where recorded, the
    model's ``P`` for the rest. On gymnasium envs the expert's
    next states come from demos that include the final state.

    References
    ----------
    .. [1] J. Fu, K. Luo and S. Levine, "Learning Robust Rewards with Adversarial Inverse
       Reinforcement Learning", ICLR 2018.
    .. [2] A. Y. Ng, D. Harada and S. Russell, "Policy invariance under reward
       transformations: theory and application to reward shaping", ICML 1999.

    Examples
    --------
    >>> from sklirl import AIRL
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.datasets import make_expert_demos
    >>> env = GridWorld(3, gamma=0.9)
    >>> demos, _ = make_expert_demos(env, 20, horizon=10, random_state=0)
    >>> airl = AIRL(max_iter=30, random_state=0).fit(demos, env)
    >>> airl.reward_.shape, airl.shaped_reward_.shape, airl.potential_.shape
    ((9, 4), (9, 4), (9,))
    >>> int(airl.reward_[:, 0].argmax())  # the goal, bottom right
    8
    """

    _parameter_constraints: dict = {
        **BaseAdversarialIRL._parameter_constraints,
        "state_only": ["boolean"],
        "reward_model": [StrOptions({"linear", "mlp"})],
        "hidden_layer_sizes": ["array-like"],
        "potential_hidden_layer_sizes": ["array-like"],
        "entropy_coef": [Interval(Real, 0, None, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        features=None,
        *,
        state_only=True,
        reward_model="linear",
        hidden_layer_sizes=(32, 32),
        potential_hidden_layer_sizes=(32, 32),
        entropy_coef=0.0,
        max_iter=200,
        n_disc_updates=4,
        disc_learning_rate=1e-2,
        disc_batch_size=512,
        l2=0.0,
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
        self.state_only = state_only
        self.reward_model = reward_model
        self.hidden_layer_sizes = hidden_layer_sizes
        self.potential_hidden_layer_sizes = potential_hidden_layer_sizes
        self.entropy_coef = entropy_coef
        self.max_iter = max_iter
        self.n_disc_updates = n_disc_updates
        self.disc_learning_rate = disc_learning_rate
        self.disc_batch_size = disc_batch_size
        self.l2 = l2
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

    # -- the loop's hooks -----------------------------------------------------------------------
    def _policy_entropy_coef(self, kind):
        # the -log pi of the reward is the entropy at weight 1 (see Notes)
        return 1.0 + self.entropy_coef if kind == "tabular" else float(self.entropy_coef)

    def _fit(self, demos, env, sample_weight):
        if not is_tabular_env(env):
            if SB3Generator.accepts(env, self.solver):
                raise ValueError(
                    "AIRL needs the next state s' of every policy transition, which "
                    "stable-baselines3's rollout buffer does not keep; use solver=None or a "
                    "sklirl.solvers.PPO."
                )
            for i, traj in enumerate(demos):
                if len(traj.states) != len(traj) + 1:
                    raise ValueError(
                        f"trajectory {i} has {len(traj.states)} states for {len(traj)} actions: "
                        "AIRL needs the next state of every expert step (h(s')), so each "
                        "trajectory must include its final state (len(states) == "
                        "len(actions) + 1)."
                    )
        if is_tabular_env(env):
            self._expert_transitions = _tabular_expert_transitions(demos, sample_weight, env)
        else:
            self._expert_terminated = _expert_terminated(demos)
        try:
            return super()._fit(demos, env, sample_weight)
        finally:
            for name in ("_expert_transitions", "_expert_terminated", "_inputs_cache"):
                self.__dict__.pop(name, None)

    def _make_discriminator(self, generator, expert, seed):
        g_hidden = (check_hidden_layer_sizes(self.hidden_layer_sizes)
                    if self.reward_model == "mlp" else ())
        h_hidden = check_hidden_layer_sizes(self.potential_hidden_layer_sizes)
        if is_tabular_env(self.env_):
            x_h = x_g = self._tabular_inputs(self.env_)
            g_out = 1 if self.state_only else self.env_.n_actions
        else:
            enc = self._encoder
            x_h = _observation_inputs(enc, expert.observations)
            x_g = x_h if self.state_only else enc.inputs(expert.observations, expert.actions)
            g_out = 1
        stats = {"g": _input_statistics(x_g, self.normalize_inputs),
                 "h": _input_statistics(x_h, self.normalize_inputs)}
        return ShapedRewardNetwork(
            x_g.shape[1], g_out, g_hidden, x_h.shape[1], h_hidden, stats,
            learning_rate=self.disc_learning_rate, l2=self.l2, seed=seed,
            device=self.device_, dtype=generator.dtype,
        )

    def _discriminator_steps(self, samples, expert):
        if is_tabular_env(self.env_):
            return self._tabular_steps(samples)
        return self._sampled_steps(samples, expert)

    def _tabular_steps(self, samples):
        env, disc = self.env_, self.discriminator_
        A = env.n_actions
        log_pi = _tabular_log_pi(samples)
        P = env.transition_matrix.tocoo()
        rho = samples.occupancy.ravel()
        w_pi = rho[P.row] * P.data
        keep = w_pi > 0
        s_pi, a_pi = P.row[keep] // A, P.row[keep] % A
        pi_rows = (s_pi, a_pi, P.col[keep], w_pi[keep] / w_pi.sum(),
                   np.zeros(keep.sum(), dtype=bool))
        X = self._tabular_inputs(env)
        absorbing = _absorbing_state(env)
        return [disc.tabular_step(X, self._expert_transitions, pi_rows, log_pi, env.gamma,
                                  absorbing) for _ in range(self.n_disc_updates)]

    def _sampled_steps(self, samples, expert):
        disc, rng = self.discriminator_, self._batch_rng
        policy, n = samples.policy, self.disc_batch_size
        terminated_pi = (np.zeros(len(samples.observations), dtype=bool)
                         if samples.terminated is None else np.asarray(samples.terminated))
        losses = []
        for _ in range(self.n_disc_updates):
            i_pi = rng.integers(len(samples.observations), size=n)
            i_E = rng.choice(len(expert.observations), size=n, p=expert.weights)
            obs_E, acts_E = expert.observations[i_E], expert.actions[i_E]
            log_pi_E = np.asarray(policy.log_prob(obs_E, acts_E), dtype=np.float64)
            batch_E = self._gym_batch(obs_E, acts_E, expert.next_observations[i_E],
                                      self._expert_terminated[i_E], log_pi_E)
            batch_pi = self._gym_batch(
                samples.observations[i_pi], samples.actions[i_pi],
                samples.next_observations[i_pi], terminated_pi[i_pi],
                np.asarray(samples.log_probs, dtype=np.float64)[i_pi])
            losses.append(disc.sampled_step(batch_E, batch_pi, _shaping_gamma(self)))
        return losses

    def _gym_batch(self, obs, acts, next_obs, terminated, log_pi):
        enc = self._encoder
        x_g = (_observation_inputs(enc, obs) if self.state_only else enc.inputs(obs, acts))
        return (x_g, _observation_inputs(enc, obs), _observation_inputs(enc, next_obs),
                np.asarray(terminated, dtype=bool), np.maximum(log_pi, _MIN_LOG_PROB))

    def _generator_reward(self, samples):
        """The policy step's reward: tabular ``E_{s'}[f]`` (the entropy is the solver's, see
        Notes); gymnasium ``f(s, a, s') - log pi(a|s)`` of the sampled transitions."""
        if is_tabular_env(self.env_):
            table = self._shaped_table(self.env_)
            return table[samples.observations, samples.actions]
        if samples.next_observations is None or samples.log_probs is None:
            raise ValueError("AIRL's policy reward needs next states and log-probabilities.")
        batch = self._gym_batch(samples.observations, samples.actions,
                                samples.next_observations,
                                np.zeros(len(samples.observations), dtype=bool)
                                if samples.terminated is None else samples.terminated,
                                np.asarray(samples.log_probs, dtype=np.float64))
        return self.discriminator_.shaped(batch, _shaping_gamma(self)) - batch[4]

    def _set_reward_table(self, table):
        self.shaped_reward_ = table
        self.reward_ = self._reward_table(self.env_)
        self.potential_ = self._potential(self.env_)

    # -- g, h and f on tabular envs -------------------------------------------------------
    def _tabular_inputs(self, env):
        cache = self.__dict__.get("_inputs_cache")  # the fit env's, during fit
        if cache is not None and cache[0] is env:
            return cache[1]
        X = _dense(self._feature_matrix(env))
        if env is self.env_ and "_expert_transitions" in self.__dict__:
            self._inputs_cache = (env, X)
        return X

    def _reward_table(self, env):
        g = self.discriminator_.g(self._tabular_inputs(env))
        return np.repeat(g, env.n_actions, axis=1) if g.shape[1] == 1 else g

    def _potential(self, env):
        h = self.discriminator_.h(self._tabular_inputs(env))
        absorbing = _absorbing_state(env)
        if absorbing is not None:
            h[absorbing] = 0.0
        return h

    def _shaped_table(self, env):
        h = self._potential(env)
        Ph = (env.transition_matrix @ h).reshape(env.n_states, env.n_actions)
        return self._reward_table(env) + env.gamma * Ph - h[:, None]

    # -- the linear reward's weights --------------------------------------------------------
    @property
    def coef_(self):
        """``reward_model="linear"``: the weights ``w`` of ``g = features @ w + intercept_``
        on the (unstandardised) features, shape ``(k,)`` (state-only) or ``(k, A)``."""
        return self._linear_g()[0]

    @property
    def intercept_(self):
        """``reward_model="linear"``: the constant of ``g``, a float or ``(A,)``."""
        return self._linear_g()[1]

    def _linear_g(self):
        if self.reward_model != "linear" or "discriminator_" not in self.__dict__:
            raise AttributeError("coef_ exists for a fitted AIRL with reward_model='linear'.")
        layer = self.discriminator_.net["g"][0]
        w = layer.weight.detach().double().cpu().numpy()  # (g_out, k)
        b = layer.bias.detach().double().cpu().numpy()
        mean, scale = self.discriminator_.stats["g"]
        coef = w / scale
        intercept = b - coef @ mean
        if w.shape[0] == 1:
            return coef[0], float(intercept[0])
        return coef.T, intercept

    # -- prediction and transfer ----------------------------------------------------------------
    def predict_reward(self, states, actions=None):
        """The learned, disentangled reward ``g(s)`` (or ``g(s, a)``): the one to transfer.

        Parameters
        ----------
        states : array-like
            State indices (tabular envs) or observations, shape ``(n,)`` or ``(n, *obs_shape)``.
        actions : array-like of shape (n,) or (n, *action_shape), default=None
            Without actions the reward of every action is returned (Discrete actions).

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
                if self.state_only:
                    raise ValueError("actions are required for Box action spaces; g(s) of a "
                                     "state-only AIRL is predict_reward(states, actions) for "
                                     "any actions.")
                raise ValueError("actions are required for Box action spaces.")
            A = enc.action_n
            acts = np.tile(np.arange(A) + enc.action_start, len(obs))
            return self._gym_reward(np.repeat(obs, A, axis=0), acts).reshape(len(obs), A)
        acts = enc.check_actions(actions, len(obs))
        return self._gym_reward(obs, acts)

    def _gym_reward(self, obs, acts):
        enc = self._encoder
        x = _observation_inputs(enc, obs) if self.state_only else enc.inputs(obs, acts)
        return self.discriminator_.g(x)[:, 0]

    def predict_shaped_reward(self, states, actions, next_states=None, terminated=None):
        """The shaped reward ``f(s, a, s') = g(s[, a]) + gamma h(s') - h(s)`` of training.

        ``f`` holds the shaping potential ``h`` fitted to the training dynamics: it is what
        the discriminator uses, not a reward to transfer (use :meth:`predict_reward`).

        Parameters
        ----------
        states : array-like of shape (n,) or (n, *obs_shape)
        actions : array-like of shape (n,) or (n, *action_shape)
        next_states : array-like like ``states``, default=None
            Tabular envs: None gives the expectation over ``s' ~ P(.|s, a)``. Required on
            gymnasium envs.
        terminated : array-like of bool of shape (n,), default=None
            Transitions that end the episode (``gamma h(s')`` is dropped); None: none do.

        Returns
        -------
        shaped : ndarray of shape (n,)
        """
        check_is_fitted(self)
        gamma = _shaping_gamma(self)
        if self._is_tabular_fit():
            env = self.env_
            s = self._check_tabular_states(states)
            a = check_indices(np.asarray(actions), env.n_actions, "actions")
            if a.shape != s.shape:
                raise ValueError(f"actions has shape {a.shape}; expected {s.shape} like states.")
            if next_states is None:
                return self.shaped_reward_[s, a].copy()
            s2 = check_indices(np.asarray(next_states), env.n_states, "next_states")
            if s2.shape != s.shape:
                raise ValueError(f"next_states has shape {s2.shape}; expected {s.shape}.")
            h = self.potential_
            keep = 1.0 - _check_terminated(terminated, len(s))
            return self.reward_[s, a] + gamma * keep * h[s2] - h[s]
        if next_states is None:
            raise ValueError("next_states are required on gymnasium envs.")
        enc = self._encoder
        obs = enc.check_observations(states)
        acts = enc.check_actions(actions, len(obs))
        nxt = enc.check_observations(next_states, "next_states")
        if len(nxt) != len(obs):
            raise ValueError(f"next_states has {len(nxt)} rows; expected {len(obs)}.")
        batch = self._gym_batch(obs, acts, nxt, _check_terminated(terminated, len(obs)) > 0,
                                np.zeros(len(obs)))
        return self.discriminator_.shaped(batch, gamma)

    def transfer_reward(self, env):
        """The learned reward ``g`` evaluated on the states of another tabular env.

        Parameters
        ----------
        env : TabularMDP
            An env whose state descriptors the fitted feature map can transform. With
            ``state_only=False`` it must have the fit env's number of actions.

        Returns
        -------
        reward : ndarray of shape (env.n_states, env.n_actions)
        """
        check_is_fitted(self)
        if not self._is_tabular_fit() or not is_tabular_env(env):
            raise ValueError("transfer_reward needs a fit on a TabularMDP and a TabularMDP; "
                             "on gymnasium envs use predict_reward on the new env's states.")
        self._check_action_set(env.n_actions)
        return self._reward_table(env)

    def _check_action_set(self, n_actions):
        fitted = self.env_.n_actions
        if not self.state_only and n_actions != fitted:
            raise ValueError(
                f"AIRL(state_only=False) learned g(s, a) for the {fitted} actions of the fit "
                f"env; this env has {n_actions}. A state-action reward does not transfer to "
                "another action set: fit with state_only=True."
            )

    def _transfer_policy(self, env):
        if not self._is_tabular_fit():
            return super()._transfer_policy(env)
        if not is_tabular_env(env):
            raise ValueError("AIRL fitted on a TabularMDP re-plans only on TabularMDPs.")
        return SoftValueIteration(temperature=self.entropy_coef_).solve(
            env, self.transfer_reward(env))


def _shaping_gamma(est):
    """The discount of ``f``'s shaping term: the env's (tabular) or the PPO solver's."""
    if is_tabular_env(est.env_):
        return float(est.env_.gamma)
    return float(est.solver_.gamma)


def _dense(phi):
    return np.asarray(phi.toarray() if sp.issparse(phi) else phi, dtype=np.float64)


def _input_statistics(x, normalize):
    """Mean and scale of the continuous (non 0/1) columns; identity for the others."""
    x = np.asarray(x, dtype=np.float64)
    mean, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
    if normalize and len(x):
        continuous = ~np.all((x == 0) | (x == 1), axis=0)
        std = x.std(axis=0)
        use = continuous & (std > 0)
        mean[use], scale[use] = x.mean(axis=0)[use], std[use]
    return mean, scale


def _observation_inputs(enc, obs):
    obs = np.asarray(obs)
    n = len(obs)
    if enc.obs_n:
        x = np.zeros((n, enc.obs_n))
        x[np.arange(n), obs.astype(np.int64) - enc.obs_start] = 1.0
        return x
    return obs.reshape(n, -1).astype(np.float64)


def _absorbing_state(env):
    s = getattr(env, "absorbing_state", None)
    return None if s is None else int(s)


def _check_terminated(terminated, n):
    if terminated is None:
        return np.zeros(n)
    t = np.asarray(terminated)
    if t.shape != (n,) or t.dtype.kind not in "biu":
        raise ValueError(f"terminated must be a boolean array of shape ({n},), got "
                         f"{t.dtype} {t.shape}.")
    return t.astype(np.float64)


def _tabular_log_pi(samples):
    """``log pi(a|s)`` of the sampling policy, (S, A): the stationary policy itself, or for a
    time-indexed one the policy of its (time-summed) occupancy measure."""
    policy = samples.policy
    if np.ndim(policy.probs) == 2:
        probs = policy.probs
    else:
        probs = policy_from_occupancy(samples.occupancy).probs
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(probs), _MIN_LOG_PROB)


def _tabular_expert_transitions(demos, sample_weight, env):
    """The expert's ``(s, a, s')`` distribution on a tabular env, normalised.

    Its ``(s, a)`` marginal is :func:`~sklirl.expectations.expert_occupancy`, the one rule for
    ``rho_E`` (cut demos rescaled to the model's mass, terminal ones continued into the
    absorbing state). The demos' observed transitions carry their own mass
    (``w_i scale_i gamma^t``); the rest of each ``(s, a)``'s mass (the continuation after a
    terminal step, a last step recorded without its next state) is spread over ``P(.|s, a)``.
    """
    from ..demos import check_sample_weight, terminal_end
    from ..envs._tabular import absorbing_and_terminal
    from ..expectations import expert_occupancy, occupancy_mass

    S, A, gamma, H = env.n_states, env.n_actions, env.gamma, env.horizon
    weights = check_sample_weight(sample_weight, len(demos))  # summing to 1, as there
    rho = expert_occupancy(demos, env, sample_weight=weights, check_input=False).ravel()
    mass = occupancy_mass(env)
    absorbing, terminal, self_absorbing = absorbing_and_terminal(env)
    keys, observed = [], []
    for w, traj in zip(weights, demos):
        T = len(traj) if H is None else min(len(traj), H)
        if T == 0 or w == 0:
            continue
        discounts = gamma ** np.arange(T)
        end = terminal_end(traj, absorbing, terminal, self_absorbing) if traj.terminal else None
        scale = 1.0 if end is not None and (H is None or T < H) else mass / discounts.sum()
        n_obs = min(T, len(traj.states) - 1)  # steps whose next state was recorded
        states = np.asarray(traj.states, dtype=np.intp)
        sa = states[:n_obs] * A + np.asarray(traj.actions[:n_obs], dtype=np.intp)
        keys.append(sa * S + states[1:n_obs + 1])
        observed.append(w * scale * discounts[:n_obs])
    keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.intp)
    observed = np.concatenate(observed) if observed else np.zeros(0)
    # the unobserved rest of each (s, a)'s mass follows the model
    rest = rho - np.bincount(keys // S, weights=observed, minlength=S * A)
    rest[rest < 1e-12 * max(rho.max(), 1e-300)] = 0.0
    P = env.transition_matrix.tocoo()
    keys = np.concatenate([keys, P.row.astype(np.intp) * S + P.col])
    values = np.concatenate([observed, rest[P.row] * P.data])
    unique, inverse = np.unique(keys, return_inverse=True)
    w = np.bincount(inverse, weights=values)
    keep = w > 0
    unique, w = unique[keep], w[keep]
    sa, s2 = np.divmod(unique, S)
    return (sa // A, sa % A, s2, w / w.sum(), np.zeros(len(w), dtype=bool))


def _expert_terminated(demos):
    """Per expert step (in demo_arrays' order): whether it ended the episode (terminal demos)."""
    out = []
    for traj in demos:
        term = np.zeros(len(traj), dtype=bool)
        if len(traj) and getattr(traj, "terminal", False):
            term[-1] = True
        out.append(term)
    return np.concatenate(out) if out else np.zeros(0, dtype=bool)


class ShapedRewardNetwork(TorchStatePickleMixin):
    """AIRL's discriminator: networks ``g`` (reward) and ``h`` (potential) and their Adam.

    The logit of a transition is ``f(s, a, s') - log pi(a|s)`` with
    ``f = g + gamma (1 - terminated) h(s') - h(s)``; the loss is the binary cross-entropy
    with label 1 on the expert's transitions. Inputs are standardised with fixed statistics.
    Pickles with CPU copies of the weights (``torch.save`` bytes).
    """

    def __init__(self, g_in, g_out, g_hidden, h_in, h_hidden, stats, *, learning_rate, l2,
                 seed, device="cpu", dtype="float64"):
        self.g_in, self.g_out, self.g_hidden = int(g_in), int(g_out), tuple(g_hidden)
        self.h_in, self.h_hidden = int(h_in), tuple(h_hidden)
        self.stats = {k: (np.asarray(m, float), np.asarray(s, float)) for k, (m, s) in
                      stats.items()}
        self.learning_rate, self.l2 = float(learning_rate), float(l2)
        self.device, self.dtype = str(device), str(dtype)
        self._build(seed)

    def _build(self, seed=None):
        from ..utils._torch import mlp

        torch = import_torch("AIRL")
        gen = None if seed is None else torch.Generator().manual_seed(int(seed))

        def init(layer, is_output):  # zero output layers: f = 0 and D = pi-blind at the start
            with torch.no_grad():
                if is_output:
                    layer.weight.zero_()
                    layer.bias.zero_()
                elif gen is not None:
                    bound = 1.0 / np.sqrt(layer.in_features)
                    layer.weight.uniform_(-bound, bound, generator=gen)
                    layer.bias.uniform_(-bound, bound, generator=gen)

        self.net = torch.nn.ModuleDict({
            "g": mlp(self.g_in, self.g_hidden, self.g_out, init=init),
            "h": mlp(self.h_in, self.h_hidden, 1, init=init),
        }).to(device=self.device, dtype=getattr(torch, self.dtype))
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.learning_rate)

    _torch_state = ("net", "optimizer")

    def _build_torch_state(self):  # unpickling: the saved states are loaded into them
        self._build()

    def get_state(self):
        """A copy of the weights and Adam's state (the loop's checkpoints)."""
        return copy_training_state(self.net, self.optimizer)

    def set_state(self, state):
        restore_training_state(self.net, self.optimizer, state)
        return self

    def _tensor(self, x, which):
        torch = import_torch("AIRL")
        mean, scale = self.stats[which]
        x = (np.asarray(x, dtype=np.float64) - mean) / scale
        return torch.as_tensor(x, dtype=getattr(torch, self.dtype), device=self.device)

    def _numpy(self, tensor):
        return tensor.detach().double().cpu().numpy()

    def g(self, x):
        """``g`` of input rows: ``(n, g_out)``."""
        torch = import_torch("AIRL")
        with torch.inference_mode():
            return self._numpy(self.net["g"](self._tensor(x, "g")))

    def h(self, x):
        """``h`` of input rows: ``(n,)``."""
        torch = import_torch("AIRL")
        with torch.inference_mode():
            return self._numpy(self.net["h"](self._tensor(x, "h"))[:, 0])

    def _shaped_tensor(self, batch, gamma):
        torch = import_torch("AIRL")
        x_g, x_s, x_next, terminated, _ = batch
        g = self.net["g"](self._tensor(x_g, "g"))[:, 0]
        h = self.net["h"](self._tensor(np.concatenate([x_s, x_next]), "h"))[:, 0]
        n = len(x_s)
        keep = torch.as_tensor(~np.asarray(terminated, bool), dtype=h.dtype, device=h.device)
        return g + gamma * keep * h[n:] - h[:n], g, h

    def shaped(self, batch, gamma):
        """``f(s, a, s')`` of a sampled batch ``(x_g, x_s, x_next, terminated, log_pi)``."""
        torch = import_torch("AIRL")
        with torch.inference_mode():
            return self._numpy(self._shaped_tensor(batch, gamma)[0])

    def _step(self, logit_E, logit_pi, w_E, w_pi, penalty):
        from torch.nn import functional as F

        loss = (w_E * F.softplus(-logit_E)).sum() + (w_pi * F.softplus(logit_pi)).sum()
        if self.l2:
            loss = loss + 0.5 * self.l2 * penalty
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        acc_E = float((w_E * (logit_E > 0)).sum() / w_E.sum())
        acc_pi = float((w_pi * (logit_pi < 0)).sum() / w_pi.sum())
        return float(loss.detach()), acc_E, acc_pi

    def tabular_loss_terms(self, X, expert, policy, log_pi, gamma, absorbing):
        """Logits and weights of the expert's and the policy's transitions on a tabular env."""
        torch = import_torch("AIRL")
        G = self.net["g"](self._tensor(X, "g"))
        H = self.net["h"](self._tensor(X, "h"))[:, 0]
        if absorbing is not None:
            mask = torch.ones_like(H)
            mask[absorbing] = 0.0
            H = H * mask
        lp = torch.as_tensor(log_pi, dtype=H.dtype, device=H.device)
        out = []
        for s, a, s2, w, term in (expert, policy):
            col = 0 if G.shape[1] == 1 else torch.as_tensor(a)
            keep = torch.as_tensor(~term, dtype=H.dtype, device=H.device)
            s_t, s2_t = torch.as_tensor(s), torch.as_tensor(s2)
            f = G[s_t, col] + gamma * keep * H[s2_t] - H[s_t]
            out.append((f - lp[s_t, torch.as_tensor(a)],
                        torch.as_tensor(w, dtype=H.dtype, device=H.device)))
        penalty = (G ** 2).mean() + (H ** 2).mean()
        return out, penalty

    def tabular_step(self, X, expert, policy, log_pi, gamma, absorbing):
        """One Adam step on the exact (weighted, full-batch) loss of a tabular env."""
        ((l_E, w_E), (l_pi, w_pi)), penalty = self.tabular_loss_terms(
            X, expert, policy, log_pi, gamma, absorbing)
        return self._step(l_E, l_pi, w_E, w_pi, penalty)

    def fit_tabular(self, X, expert, policy, log_pi, gamma, absorbing=None, max_iter=500):
        """Minimise the tabular loss to convergence (L-BFGS), for a fixed policy."""
        from torch.nn import functional as F

        torch = import_torch("AIRL")
        optimizer = torch.optim.LBFGS(self.net.parameters(), lr=1.0, max_iter=max_iter,
                                      tolerance_grad=1e-12, tolerance_change=1e-14,
                                      history_size=50, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad(set_to_none=True)
            ((l_E, w_E), (l_pi, w_pi)), penalty = self.tabular_loss_terms(
                X, expert, policy, log_pi, gamma, absorbing)
            loss = (w_E * F.softplus(-l_E)).sum() + (w_pi * F.softplus(l_pi)).sum()
            if self.l2:
                loss = loss + 0.5 * self.l2 * penalty
            loss.backward()
            return loss

        optimizer.step(closure)
        return self

    def sampled_step(self, expert, policy, gamma):
        """One Adam step on minibatches ``(x_g, x_s, x_next, terminated, log_pi)``."""
        torch = import_torch("AIRL")
        f_E, g_E, h_E = self._shaped_tensor(expert, gamma)
        f_pi, g_pi, h_pi = self._shaped_tensor(policy, gamma)
        as_t = lambda v: torch.as_tensor(v, dtype=f_E.dtype, device=f_E.device)  # noqa: E731
        n_E, n_pi = len(f_E), len(f_pi)
        penalty = (torch.cat([g_E, g_pi]) ** 2).mean() + (torch.cat([h_E, h_pi]) ** 2).mean()
        return self._step(f_E - as_t(expert[4]), f_pi - as_t(policy[4]),
                          as_t(np.full(n_E, 1.0 / n_E)), as_t(np.full(n_pi, 1.0 / n_pi)),
                          penalty)
