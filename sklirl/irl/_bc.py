"""Behavioural cloning: the expert's policy as a supervised model from states to actions.

The baseline of every imitation paper (Pomerleau, 1991; Ho & Ermon, 2016, section 6): no
environment interaction, no reward, only maximum likelihood of the demonstrated actions.
The module imports without torch; the default policy on gymnasium envs imports it in ``fit``.
"""

from __future__ import annotations

import sys
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.utils import check_random_state
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from ..base import BaseIRL, is_tabular_env
from ..demos import check_demos
from ..envs._spaces import SpaceEncoder
from ..expectations import empirical_occupancy
from ..policies import TabularPolicy
from ..policies._sb3 import SB3PredictMixin
from ..utils._docstring import fill_doc
from ..utils._optional import import_torch
from ..utils._validation import MAX_SEED, check_hidden_layer_sizes

__all__ = ["BehavioralCloning", "SupervisedPolicy"]

_LOG_2PI = np.log(2.0 * np.pi)
#: Floor of a regressor's residual standard deviation, relative to the actions' spread, so
#: that a regressor that interpolates its training actions still has a finite density.
_MIN_RELATIVE_STD = 1e-6


@fill_doc
class BehavioralCloning(BaseIRL):
    """Behavioural cloning: the policy as a supervised model from states to actions.

    The policy maximises the likelihood of the demonstrated actions given the states,
    ``max_pi sum_i w_i sum_t log pi(a_t | s_t)``, with no environment interaction and no
    reward. Three policy models, by env and ``estimator``:

    - **tabular envs** (:class:`~sklirl.envs.TabularMDP`), ``estimator=None``: the smoothed
      empirical action frequencies of each state, ``pi(a | s) = (N(s, a) + alpha) /
      (N(s) + A alpha)``, the posterior mean under a symmetric Dirichlet(alpha) prior;
    - **gymnasium envs**, ``estimator=None``: a torch MLP policy
      (:class:`~sklirl.policies.TorchPolicy`, the policy PPO and GAIL train: a categorical
      for Discrete actions, a diagonal Gaussian with a learned state-independent standard
      deviation for Box actions), trained by minibatch Adam on the negative log-likelihood;
    - **any env, or none**: a scikit-learn ``estimator``, a classifier for Discrete actions
      (its ``predict_proba`` is the policy) or a regressor for Box actions (its prediction is
      the mean of a Gaussian whose per-dimension standard deviation is the residual standard
      deviation on the demos). Its input is the flattened observation (one-hot for Discrete
      observations); on tabular envs, the env's ``state_features`` (one-hot states without
      them), so that the policy generalises across states and transfers to other envs.

    Read more in :ref:`which_estimator`.

    Parameters
    ----------
    estimator : classifier, regressor or None, default=None
        The supervised model from observations to actions (see above); cloned into
        ``estimator_``, its parameters tunable as ``estimator__<name>``. With an estimator
        the env is optional: ``fit(demos)`` learns from the demos' states as features.
    alpha : float, default=1.0
        Tabular envs without ``estimator``: additive (Laplace) smoothing of the action counts.
        0 gives the raw frequencies (uniform in states the demos never visit).
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Gymnasium envs without ``estimator``: hidden layers of the MLP policy (tanh).
    max_iter : int, default=1000
        Gymnasium envs without ``estimator``: the most epochs over the demos' steps. The other
        models are fitted in closed form or by the estimator's own solver (``n_iter_`` = 1).
    tol : float, default=1e-4
        The MLP policy stops when its training loss has not decreased by at least ``tol``
        for ``n_iter_no_change`` consecutive epochs (as scikit-learn's ``MLPClassifier``).
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    batch_size : int, default=64
        Steps per Adam minibatch of the MLP policy (all steps when there are fewer).
    learning_rate : float, default=1e-3
        Adam step size of the MLP policy.
    l2 : float, default=0.0
        Adam weight decay of the MLP policy's weights.
    {random_state}
    {verbose}

    Attributes
    ----------
    policy_ : TabularPolicy, TorchPolicy or SupervisedPolicy
        The learned policy (``predict``, ``predict_proba`` for Discrete actions, ``log_prob``,
        ``sample``; ``evaluate(env)`` runs episodes on gymnasium envs).
    estimator_ : estimator
        The fitted clone of ``estimator`` (absent without one).
    env_ : TabularMDP, gymnasium.Env or None
        The environment seen in ``fit``.
    n_iter_ : int
        Epochs run (MLP policy), else 1.
    history_ : dict of ndarray
        ``"loss"``: the weighted mean negative log-likelihood per step of the training
        demos after each epoch (one entry for the closed-form models).
    n_features_in_ : int
        Length of a flat observation (gymnasium envs with Box observations, or ``fit``
        without an env).

    See Also
    --------
    sklirl.GAIL : Imitation that also matches the states the learner visits.
    sklirl.MaxEntIRL : A reward, not only a policy, on tabular envs.

    Notes
    -----
    Cloning is consistent and cheap but sees only the expert's states: its errors compound
    over the horizon once the learner drifts off them (Ross & Bagnell, 2010), which GAIL
    corrects by training in the environment.

    References
    ----------
    .. [1] D. Pomerleau, "Efficient Training of Artificial Neural Networks for Autonomous
       Navigation", Neural Computation, 1991.
    .. [2] S. Ross and D. Bagnell, "Efficient Reductions for Imitation Learning", AISTATS 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl import BehavioralCloning
    >>> from sklirl.datasets import make_expert_demos
    >>> from sklirl.envs import GridWorld
    >>> env = GridWorld(3, gamma=0.9)  # the goal is the bottom-right cell, 8
    >>> demos, _ = make_expert_demos(env, 20, horizon=8, random_state=0)
    >>> bc = BehavioralCloning().fit(demos, env)
    >>> bc.predict([0, 1, 5]).tolist()  # 2 = down: toward the goal
    [2, 2, 2]
    >>> bool(bc.score(demos) > np.log(0.25))  # mean log-likelihood: above the uniform policy's
    True

    Any scikit-learn classifier or regressor is a policy model:

    >>> from sklearn.linear_model import LogisticRegression
    >>> bc = BehavioralCloning(LogisticRegression()).fit(demos, env)
    >>> bc.predict_proba([0, 8]).shape
    (2, 4)
    """

    _accepts_gymnasium = True

    _actions_reason = "behavioural cloning fits a classifier to the demonstrated actions"

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        alpha=1.0,
        hidden_layer_sizes=(64, 64),
        max_iter=1000,
        tol=1e-4,
        n_iter_no_change=10,
        batch_size=64,
        learning_rate=1e-3,
        l2=0.0,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.alpha = alpha
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.l2 = l2
        self.random_state = random_state
        self.verbose = verbose

    @property
    def _requires_env(self):
        """Whether ``fit`` needs an env: only without an estimator (the spaces make the model)."""
        return self.estimator is None

    # -- fitting ---------------------------------------------------------------------------
    def _check_env(self, env, method="fit"):
        if env is None and method == "fit" and not self._requires_env:
            return None
        if env is None and method == "fit":
            raise TypeError(
                "BehavioralCloning.fit requires an environment when estimator=None (its "
                "spaces define the policy model): fit(demos, env) or fit(demos, env=env); "
                "or give a scikit-learn estimator to learn from the demos alone."
            )
        return super()._check_env(env, method)

    def _fit(self, demos, env, sample_weight):
        # Mean-one trajectory weights: unit weights are no weights, and the smoothing keeps
        # its strength relative to the data.
        weights = None if sample_weight is None else sample_weight * len(demos)
        self.__dict__.pop("estimator_", None)
        if env is None:
            self._fit_supervised(demos, None, weights)
        elif is_tabular_env(env):
            if self.estimator is None:
                self._fit_counts(demos, env, sample_weight)
            else:
                self._fit_tabular_estimator(demos, env, weights)
        elif self.estimator is None:
            self._fit_torch(demos, env, sample_weight)
        else:
            self._fit_supervised(demos, env, weights)
        return self

    def _fit_counts(self, demos, env, sample_weight):
        S, A = env.n_states, env.n_actions
        counts = len(demos) * empirical_occupancy(demos, S, A, gamma=1.0,
                                                  sample_weight=sample_weight)
        self.policy_ = _smoothed_frequencies(counts, self.alpha)
        self._record([_mean_nll(self.policy_.log_probs, counts)], 1)

    def _check_estimator_kind(self, discrete, action_space):
        estimator = self.estimator
        name = type(estimator).__name__
        if discrete and is_regressor(estimator):
            raise ValueError(
                f"estimator {name} is a regressor, but the actions are Discrete "
                f"({action_space}): give a classifier (with predict_proba)."
            )
        if not discrete and is_classifier(estimator):
            raise ValueError(
                f"estimator {name} is a classifier, but the actions are continuous "
                f"({action_space}): give a regressor."
            )

    def _fit_estimator(self, X, y, weights, discrete):
        estimator = clone(self.estimator)
        if discrete:  # checked before fitting (available_if answers on unfitted estimators)
            _require_proba(estimator)
        fit_params = {}
        if weights is not None:
            if not has_fit_parameter(estimator, "sample_weight"):
                raise ValueError(
                    f"sample_weight was given but estimator {type(estimator).__name__}.fit "
                    "takes no sample_weight."
                )
            fit_params["sample_weight"] = weights
        estimator.fit(X, y, **fit_params)
        self.estimator_ = estimator
        return estimator

    def _fit_tabular_estimator(self, demos, env, weights):
        self._check_estimator_kind(True, f"{env.n_actions} actions of a TabularMDP")
        X_all = _state_inputs(env)
        s = np.concatenate([t.states[: len(t)] for t in demos])
        a = np.concatenate([t.actions for t in demos])
        w = None if weights is None else np.repeat(weights, [len(t) for t in demos])
        self._fit_estimator(X_all[s], a, w, discrete=True)
        self.policy_ = self._tabular_policy_of_estimator(env)
        log_p = self.policy_.log_prob(s, a)
        self._record([_weighted_mean(-log_p, w)], 1)

    def _tabular_policy_of_estimator(self, env):
        proba = _proba_columns(self.estimator_, _state_inputs(env),
                               np.arange(env.n_actions))
        return TabularPolicy(proba / proba.sum(axis=1, keepdims=True))

    def _fit_supervised(self, demos, env, weights):
        if env is None:
            discrete = not is_regressor(self.estimator)
            obs_space = action_space = None
            states = [t.states[: len(t)] for t in demos]
            shapes = {s.shape[1:] for s in states}
            obs, acts = np.concatenate(states), np.concatenate([t.actions for t in demos])
            (obs_shape,) = shapes
            self.n_features_in_ = int(np.prod(obs_shape, dtype=np.int64))
        else:
            obs_space, action_space = env.observation_space, env.action_space
            discrete = SpaceEncoder(obs_space, action_space).action_n is not None
            self._check_estimator_kind(discrete, action_space)
            encoder = SpaceEncoder(obs_space, action_space)
            obs, acts, _ = encoder.demo_arrays(demos, None)
            obs_shape = encoder.obs_shape
        w = None if weights is None else np.repeat(weights, [len(t) for t in demos])
        policy = SupervisedPolicy(None, obs_space, action_space, obs_shape=obs_shape)
        X = policy._inputs(obs)
        y = acts if discrete else acts.reshape(len(acts), -1)
        if not discrete and y.shape[1] == 1:
            y = y[:, 0]
        estimator = self._fit_estimator(X, y, w, discrete)
        if not discrete:
            residuals = np.asarray(acts, dtype=np.float64).reshape(len(acts), -1) - np.asarray(
                estimator.predict(X), dtype=np.float64).reshape(len(acts), -1)
            spread = np.sqrt(_weighted_mean(
                (acts.reshape(len(acts), -1) - acts.reshape(len(acts), -1).mean(0)) ** 2, w))
            std = np.sqrt(_weighted_mean(residuals**2, w))
            policy.action_std = np.maximum(std, _MIN_RELATIVE_STD * np.maximum(spread, 1.0))
        policy.estimator = estimator
        self.policy_ = policy
        self._record([_weighted_mean(-policy.log_prob(obs, acts), w)], 1)

    def _fit_torch(self, demos, env, sample_weight):
        torch = import_torch("BehavioralCloning on gymnasium environments")
        from ..policies import TorchPolicy
        from ..utils._torch import torch_threads

        hidden = check_hidden_layer_sizes(self.hidden_layer_sizes)
        encoder = SpaceEncoder(env.observation_space, env.action_space)
        obs, acts, weights = encoder.demo_arrays(demos, sample_weight)
        rng = check_random_state(self.random_state)
        generator = torch.Generator().manual_seed(int(rng.randint(MAX_SEED)))
        batch_rng = np.random.default_rng(rng.randint(MAX_SEED))
        policy = TorchPolicy(env.observation_space, env.action_space,
                             hidden_layer_sizes=hidden, random_state=generator)
        # Small networks train fastest on one thread (see GAIL); torch's setting is restored.
        with torch_threads(1):
            losses = _maximum_likelihood(
                policy, obs, acts, weights, self.max_iter, self.batch_size,
                self.learning_rate, self.l2, batch_rng, torch, self.tol,
                self.n_iter_no_change, self.verbose,
            )
        self.policy_ = policy
        self._record(losses, len(losses))

    def _record(self, losses, n_iter):
        self.history_ = {"loss": np.asarray(losses, dtype=np.float64)}
        self.n_iter_ = int(n_iter)

    # -- prediction ------------------------------------------------------------------------
    def _is_tabular_fit(self):
        return isinstance(self.policy_, TabularPolicy)

    def predict_proba(self, states):
        """Action probabilities of the cloned policy (Discrete actions).

        Parameters
        ----------
        states : array-like
            State indices of shape ``(n,)`` (tabular envs) or observations of shape
            ``(n, *obs_shape)`` (a single observation gives shape ``(A,)``).

        Returns
        -------
        proba : ndarray of shape (n, A)
            Rows sum to 1. A ``TypeError`` for Box actions, whose policy is a density (use
            ``policy_.log_prob``).
        """
        check_is_fitted(self)
        if self._is_tabular_fit():
            return super().predict_proba(states)
        return self.policy_.predict_proba(states)

    def predict(self, states):
        """The cloned policy's action: the most probable one, or the Gaussian mean (Box).

        Parameters
        ----------
        states : array-like
            State indices of shape ``(n,)`` (tabular envs) or observations of shape
            ``(n, *obs_shape)``; a single gymnasium observation gives a single action, so
            that ``env.step(bc.predict(obs))`` works.

        Returns
        -------
        actions : ndarray of shape (n,) or (n, *action_shape)
        """
        check_is_fitted(self)
        if self._is_tabular_fit():
            return super().predict(states)
        return self.policy_.act(states)

    # A cloned policy has no reward: hide the base class's predict_reward.
    @available_if(lambda self: False)
    def predict_reward(self, states, actions=None):  # pragma: no cover - never available
        """Not available: behavioural cloning learns no reward."""
        raise AttributeError("BehavioralCloning learns no reward.")

    def _score_samples_mean(self, policy, demos):
        trajs = check_demos(demos)
        if self.env_ is None:
            obs = np.concatenate([t.states[: len(t)] for t in trajs])
            acts = np.concatenate([t.actions for t in trajs])
        else:
            encoder = SpaceEncoder(self.env_.observation_space, self.env_.action_space)
            obs, acts, _ = encoder.demo_arrays(trajs, None)
        return float(np.mean(policy.log_prob(obs, acts)))

    def _transfer_policy(self, env):
        if self._is_tabular_fit():
            if not is_tabular_env(env) or env.n_actions != self.env_.n_actions:
                raise ValueError(
                    "BehavioralCloning fitted on a TabularMDP scores only on a TabularMDP with "
                    f"{self.env_.n_actions} actions."
                )
            if hasattr(self, "estimator_"):  # a model of the state features: re-predict
                return self._tabular_policy_of_estimator(env)
            if env.n_states != self.env_.n_states:
                raise ValueError(
                    f"the cloned action frequencies cover {self.env_.n_states} states; this env "
                    f"has {env.n_states}. Use an estimator on state features to transfer."
                )
            return self.policy_
        spaces = (getattr(env, "observation_space", None), getattr(env, "action_space", None))
        fitted = (getattr(self.policy_, "observation_space", None),
                  getattr(self.policy_, "action_space", None))
        if self.env_ is None or spaces == fitted:
            return self.policy_
        raise ValueError("env has other spaces than the environment BehavioralCloning was "
                         "fitted on.")


class SupervisedPolicy(SB3PredictMixin):
    """A policy made of a fitted scikit-learn classifier or regressor.

    Returned as ``BehavioralCloning(estimator=...).policy_``. A classifier's
    ``predict_proba`` gives the action distribution (Discrete actions); a regressor's
    prediction is the mean of a diagonal Gaussian with standard deviation ``action_std``
    (Box actions, acted out clipped to the bounds).

    Parameters
    ----------
    estimator : fitted classifier or regressor
    observation_space, action_space : gymnasium spaces or None
        The env's spaces; None when fitted without an env (observations are then the demos'
        states, flattened, and actions the classifier's ``classes_`` or real vectors).
    action_std : ndarray of shape (action_dim,) or None, default=None
        Standard deviation of the Gaussian (regressors).
    obs_shape : tuple of int or None, default=None
        Shape of one observation.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklirl.irl._bc import SupervisedPolicy
    >>> clf = LogisticRegression().fit([[-1.0], [1.0]], [0, 1])
    >>> policy = SupervisedPolicy(clf, obs_shape=(1,))
    >>> policy.act([[-2.0], [2.0]]).tolist()
    [0, 1]
    >>> policy.predict([2.0], deterministic=True)  # stable-baselines3's form
    (np.int64(1), None)
    """

    def __init__(self, estimator, observation_space=None, action_space=None, action_std=None,
                 obs_shape=None):
        self.estimator = estimator
        self.observation_space = observation_space
        self.action_space = action_space
        self.action_std = None if action_std is None else np.asarray(action_std, dtype=float)
        self.observation_shape = None if obs_shape is None else tuple(obs_shape)
        self._encoder = (None if observation_space is None
                         else SpaceEncoder(observation_space, action_space))

    def __repr__(self):
        return f"SupervisedPolicy(estimator={self.estimator!r})"

    @property
    def _discrete(self):
        if self._encoder is not None:
            return self._encoder.action_n is not None
        return self.action_std is None

    def _classes(self):
        """The env actions that ``predict_proba``'s columns stand for."""
        enc = self._encoder
        if enc is None:
            return np.asarray(self.estimator.classes_)
        return np.arange(enc.action_n) + enc.action_start

    def _check_observations(self, observations):
        """Observations as a checked batch, and whether a single one was given."""
        single = np.shape(observations) == (
            () if self._encoder is not None and self._encoder.obs_n else self.observation_shape
        )
        if self._encoder is not None:
            return self._encoder.check_observations(observations, "observations"), single
        obs = np.asarray(observations)
        if obs.dtype.kind not in "biuf":
            raise ValueError(f"observations must be numeric, got dtype {obs.dtype}.")
        obs = obs.reshape(1 if single else len(obs), -1).astype(np.float64)
        if not np.all(np.isfinite(obs)):
            raise ValueError("observations contain NaN or infinite values.")
        return obs, single

    def _inputs(self, obs):
        """The estimator's input rows for checked observations (one-hot Discrete ones)."""
        enc = self._encoder
        if enc is not None and enc.obs_n:
            X = np.zeros((len(obs), enc.obs_n))
            X[np.arange(len(obs)), np.asarray(obs, dtype=np.int64) - enc.obs_start] = 1.0
            return X
        return np.asarray(obs, dtype=np.float64).reshape(len(obs), -1)

    def _mean(self, X):
        return np.asarray(self.estimator.predict(X), dtype=np.float64).reshape(len(X), -1)

    def _to_env(self, actions):
        space = self.action_space
        if space is None:
            return actions
        actions = np.clip(actions, space.low.reshape(-1), space.high.reshape(-1))
        return actions.reshape((len(actions), *space.shape)).astype(space.dtype, copy=False)

    def _proba(self, X):
        proba = _proba_columns(self.estimator, X, self._classes())
        return proba / proba.sum(axis=1, keepdims=True)

    def predict_proba(self, observations):
        """Action probabilities ``(n, A)``, or ``(A,)`` for one observation (Discrete only)."""
        if not self._discrete:
            raise TypeError("predict_proba is only defined for Discrete actions; this policy "
                            "is a Gaussian density: use log_prob(observations, actions).")
        obs, single = self._check_observations(observations)
        proba = self._proba(self._inputs(obs))
        return proba[0] if single else proba

    def _act(self, observations, rng=None):
        """Greedy (``rng`` None) or sampled actions, unbatched for a single observation."""
        obs, single = self._check_observations(observations)
        X = self._inputs(obs)
        if self._discrete:
            proba = self._proba(X)
            if rng is None:
                index = proba.argmax(axis=1)
            else:
                cdf = np.cumsum(proba, axis=1)
                u = rng.uniform(size=(len(cdf), 1)) * cdf[:, -1:]
                index = np.minimum((u >= cdf).sum(axis=1), cdf.shape[1] - 1)
            actions = self._classes()[index]
        else:
            mean = self._mean(X)
            if rng is not None:
                mean = mean + self.action_std * rng.standard_normal(mean.shape)
            actions = self._to_env(mean)
        return actions[0] if single else actions

    def act(self, observations, deterministic=True, random_state=None):
        """The most probable action (Discrete) or the mean, clipped to the bounds (Box);
        sampled when ``deterministic=False`` (:meth:`predict` is stable-baselines3's form)."""
        if not deterministic:
            return self.sample(observations, random_state)
        return self._act(observations)

    def sample(self, observations, random_state=None):
        """Sample actions from the policy (Box actions clipped to the bounds)."""
        return self._act(observations, check_random_state(random_state))

    def log_prob(self, observations, actions):
        """Log-probability (Box: Gaussian log-density, unclipped) of ``actions``, shape (n,)."""
        obs, single = self._check_observations(observations)
        X = self._inputs(obs)
        n = len(X)
        if self._discrete:
            classes = self._classes()
            acts = np.asarray(actions).reshape(-1)
            if acts.shape != (n,):
                raise ValueError(f"expected {n} actions, got shape {np.shape(actions)}.")
            column = np.minimum(np.searchsorted(classes, acts), len(classes) - 1)
            known = classes[column] == acts
            with np.errstate(divide="ignore"):
                log_p = np.where(known, np.log(self._proba(X)[np.arange(n), column]), -np.inf)
        else:
            acts = np.asarray(actions, dtype=np.float64).reshape(n, -1)
            z = (acts - self._mean(X)) / self.action_std
            log_p = (-0.5 * z**2 - np.log(self.action_std) - 0.5 * _LOG_2PI).sum(axis=1)
        return float(log_p[0]) if single else log_p

    def evaluate(self, env, n_episodes=20, deterministic=True, random_state=None):
        """Run ``n_episodes`` full episodes in copies of ``env``; return their returns.

        Parameters
        ----------
        env : gymnasium.Env, str or callable
            An environment (copied, never stepped), a registered id, or a factory.
        n_episodes : int, default=20
        deterministic : bool, default=True
            Act with :meth:`predict` (else :meth:`sample`).
        random_state : int, RandomState instance or None, default=None
            Seeds the episodes' resets and the sampled actions.

        Returns
        -------
        returns : ndarray of shape (n_episodes,)
        """
        from .._rollouts import env_factory

        rng = check_random_state(random_state)
        seeds = rng.randint(MAX_SEED, size=n_episodes)
        make_env = env_factory(env)
        # The episodes run side by side, so that the estimator predicts one batch per step.
        envs = [make_env() for _ in range(n_episodes)]
        returns = np.zeros(n_episodes)
        try:
            obs = [e.reset(seed=int(seed))[0] for e, seed in zip(envs, seeds)]
            active = list(range(n_episodes))
            while active:
                batch = np.stack([np.asarray(obs[i]) for i in active])
                actions = self.act(batch) if deterministic else self.sample(batch, rng)
                still_active = []
                for i, action in zip(active, actions):
                    obs[i], reward, terminated, truncated, _ = envs[i].step(action)
                    returns[i] += float(reward)
                    if not (terminated or truncated):
                        still_active.append(i)
                active = still_active
        finally:
            for e in envs:
                e.close()
        return returns


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def _smoothed_frequencies(counts, alpha):
    """``(N(s, a) + alpha) / (N(s) + A alpha)`` as a TabularPolicy; uniform where that is 0/0."""
    S, A = counts.shape
    numerator = counts + alpha
    total = numerator.sum(axis=1, keepdims=True)
    empty = total[:, 0] <= 0
    with np.errstate(divide="ignore"):
        log_probs = np.log(numerator) - np.log(np.where(total > 0, total, 1.0))
    log_probs[empty] = -np.log(A)
    return TabularPolicy(log_probs=np.minimum(log_probs, 0.0))


def _mean_nll(log_probs, counts):
    """Mean negative log-likelihood per step of the counted state-actions."""
    n = counts.sum()
    if n <= 0:
        return np.nan
    mask = counts > 0
    return float(-(counts[mask] * log_probs[mask]).sum() / n)


def _weighted_mean(values, weights):
    values = np.asarray(values, dtype=np.float64)
    if weights is None:
        return values.mean(axis=0)
    return np.average(values, axis=0, weights=weights)


def _state_inputs(env):
    """The estimator's inputs for every state of a tabular env: its state features, else
    one-hot state indicators."""
    if env.state_features is not None:
        return np.asarray(env.state_features, dtype=np.float64).reshape(env.n_states, -1)
    return np.eye(env.n_states)


def _require_proba(estimator):
    if not hasattr(estimator, "predict_proba"):
        raise ValueError(
            f"estimator {type(estimator).__name__} has no predict_proba, which the policy's "
            "action probabilities (and score's likelihood) need; use a probabilistic "
            "classifier (e.g. LogisticRegression, or SVC(probability=True))."
        )


def _proba_columns(estimator, X, actions):
    """``predict_proba(X)`` with one column per action of ``actions`` (0 for actions the
    classifier never saw)."""
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    classes = np.asarray(estimator.classes_)
    out = np.zeros((len(X), len(actions)))
    column = np.searchsorted(actions, classes)
    out[:, column] = proba
    return out


def _maximum_likelihood(policy, obs, acts, weights, epochs, batch_size, learning_rate, l2,
                        rng, torch, tol=0.0, n_iter_no_change=None, verbose=0):
    """Minibatch Adam on the weighted negative log-likelihood of a TorchPolicy's actor (and
    its log-std for Box actions); return the epochs' mean training losses.

    The observation normaliser is set from the demos' states first. Training stops after
    ``epochs`` epochs, or once the loss has not improved on its best by ``tol`` for
    ``n_iter_no_change`` epochs.
    """
    policy._update_obs_stats(obs)
    x = torch.from_numpy(policy._features(obs)).to(policy.device)
    if policy._discrete_actions:
        a = torch.from_numpy(acts - int(policy.action_space.start)).to(policy.device)
    else:
        a = torch.from_numpy(acts.astype(np.float32)).to(policy.device)
    w = torch.from_numpy(np.asarray(weights, dtype=np.float32) * len(obs)).to(policy.device)
    params = list(policy.net.actor.parameters())
    if policy.net.log_std is not None:
        params.append(policy.net.log_std)
    optimizer = torch.optim.Adam(params, lr=learning_rate, weight_decay=l2)
    n, losses = len(obs), []
    best, stale = np.inf, 0
    for epoch in range(epochs):
        total = 0.0
        for batch in np.array_split(rng.permutation(n), max(1, -(-n // batch_size))):
            idx = torch.from_numpy(batch).to(policy.device)
            log_prob, _ = policy.net.log_prob_entropy(x[idx], a[idx])
            loss = -(w[idx] * log_prob).sum() / w[idx].sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * float(w[idx].sum())
        losses.append(total / float(w.sum()))
        if verbose:
            print(f"BehavioralCloning epoch {epoch + 1}/{epochs} loss={losses[-1]:.4f}",
                  file=sys.stderr)
        if n_iter_no_change is not None:
            stale = 0 if losses[-1] < best - tol else stale + 1
            best = min(best, losses[-1])
            if stale >= n_iter_no_change:
                break
    return losses
