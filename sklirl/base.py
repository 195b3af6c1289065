"""Base class of the IRL estimators: the ``fit(demos, env)`` signature and prediction plumbing.

Subclasses implement ``_fit(demos, env, sample_weight)`` (demos already validated) and set
``policy_`` (and, for tabular envs, ``reward_``). Everything users call on a fitted estimator
(``predict_reward``, ``predict``, ``predict_proba``, ``score``) lives here once.

What a subclass declares, so that it is a scikit-learn citizen (``tests/test_common.py``
runs ``sklirl.utils.estimator_checks`` on every estimator):

- ``__init__`` only stores its parameters; defaults are immutable (``None`` for a
  sub-estimator, resolved in ``fit``: ``_fit_feature_map`` for ``features``,
  ``_clone_sub_estimator("solver", SoftValueIteration())`` for the others).
- ``_parameter_constraints`` with one entry per parameter (``fit`` validates them).
- ``_transfer_policy(env)`` to score on another env, ``_accepts_gymnasium = True`` for
  gymnasium envs, ``_demo_order_invariant = False`` if demo order changes the fit.
"""

from __future__ import annotations

import contextlib

import numpy as np
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.utils import metadata_routing
from sklearn.utils.validation import check_is_fitted

from .demos import _require_actions, check_demos, check_sample_weight
from .envs._gym import is_gymnasium_env
from .envs._tabular import TabularMDP, check_indices
from .features import OneHotStates, fit_feature_matrix, transform_feature_matrix
from .metrics import log_likelihood
from .policies import TabularPolicy
from .utils._doc_link import DocLinkMixin
from .utils._warnings import warn_user

__all__ = ["BaseIRL", "is_tabular_env"]


def is_tabular_env(env):
    """Whether ``env`` is a :class:`~sklirl.envs.TabularMDP`.

    Estimators take the tabular path (exact planning and occupancy measures) for such envs
    and, where they accept them, the sampling path for gymnasium envs.

    Parameters
    ----------
    env : object

    Returns
    -------
    is_tabular : bool

    Examples
    --------
    >>> from sklirl.base import is_tabular_env
    >>> from sklirl.envs import GridWorld
    >>> is_tabular_env(GridWorld(3)), is_tabular_env("CartPole-v1")
    (True, False)
    """
    return isinstance(env, TabularMDP)


def _is_env(obj):
    return is_tabular_env(obj) or is_gymnasium_env(obj)


def _same_tabular_env(a, b):
    """Whether ``a`` is the MDP ``b`` (the same object, or an equal copy: GridSearchCV with
    n_jobs or a Dask cluster pickles the env given to fit and to score separately)."""
    if a is b:
        return True
    if not (is_tabular_env(a) and is_tabular_env(b)):
        return False
    if (a.n_states, a.n_actions, a.gamma, a.horizon) != (b.n_states, b.n_actions, b.gamma,
                                                          b.horizon):
        return False
    for fa, fb in ((a.state_features, b.state_features),
                   (a.state_action_features, b.state_action_features)):
        if (fa is None) != (fb is None) or (fa is not None and not np.array_equal(fa, fb)):
            return False
    return bool(
        np.array_equal(a.initial_state_distribution, b.initial_state_distribution)
        and (a.transition_matrix != b.transition_matrix).nnz == 0
    )


def linear_reward(phi, w, env=None):
    """The linear reward ``phi @ w`` as a flat float array (``(S,)``, or ``(S * A,)`` for
    state-action features); with ``env``, the ``(S, A)`` table estimators expose: state
    rewards repeated over the actions, state-action rewards (row ``s * A + a``) reshaped."""
    r = np.asarray(phi @ w, dtype=np.float64).ravel()
    if env is None:
        return r
    if r.size == env.n_states:
        return np.repeat(r[:, None], env.n_actions, axis=1)
    return r.reshape(env.n_states, env.n_actions)


def _fitted_attributes(estimator):
    """The fitted attributes (public names ending in ``_``) and their current values."""
    return {
        k: v for k, v in vars(estimator).items()
        if k.endswith("_") and not k.startswith("_")
    }


def _observation_dim(env):
    """Length of a gymnasium env's flat Box observations: the ``n_features_in_`` of
    ``predict``. None for tabular envs, whose inputs are state indices, not features."""
    space = getattr(env, "observation_space", None) if is_gymnasium_env(env) else None
    shape = getattr(space, "shape", None)
    if shape is not None and len(shape) == 1 and np.dtype(space.dtype).kind == "f":
        return int(shape[0])
    return None


class BaseIRL(DocLinkMixin, BaseEstimator):
    """Base class for inverse RL and imitation estimators fitted with ``fit(demos, env)``.

    ``demos`` plays the role of ``X`` (a list of trajectories, indexable by scikit-learn's
    cross-validation splitters); the environment is given positionally in the ``y`` slot
    or as the keyword ``env=`` (the form metadata routing and ``GridSearchCV(...).fit(demos,
    env=env)`` use).

    Notes
    -----
    **Validation.** ``fit`` validates the hyperparameters (``InvalidParameterError``, a
    ``ValueError``), the environment (``TypeError``), the demonstrations
    (:func:`sklirl.demos.check_demos`: ``ValueError``/``TypeError`` naming the trajectory,
    the step and the allowed range) and ``sample_weight`` before any computation; prediction
    methods raise ``NotFittedError`` before ``fit`` and validate their states and actions.
    Inputs (demos, env, weights) are never modified.

    **Interrupting a fit.** A ``KeyboardInterrupt`` (Ctrl-C) during ``fit`` is re-raised
    after the estimator is put in a consistent state, with a ``UserWarning`` saying which:

    - estimators whose loop records checkpoints (``MaxEntIRL``, ``GAIL``) keep the last
      *complete* iteration: ``n_iter_``, ``history_``, ``policy_``, ``reward_`` (and
      ``coef_``) all describe it, so the estimator predicts and scores; with
      ``warm_start=True`` (where the estimator has it) a new ``fit`` resumes from there;
    - otherwise, or if no iteration completed, the estimator is left as it was before
      the call: unfitted, or its previous fit.

    Subclasses opt in by calling ``self._checkpoint(n_iter, finalize)`` at the end of each
    iteration, ``finalize`` being a callable that sets the fitted attributes of that
    iteration; it runs only if the fit is interrupted, so checkpoints cost nothing.

    **A failing fit.** Any other exception raised during ``fit`` (a feature map returning
    NaN, a callback raising, a solver failing) is re-raised after the estimator is rolled
    back to its state before the call: its previous fit, or unfitted. A fit is never left
    half done (a new ``env_`` next to an old ``reward_``).

    **Persistence.** Fitted estimators pickle (``pickle``, ``joblib``). Their torch networks
    (GAIL's discriminator and PPO policy, MaxEntIRL's MLP reward) store their weights as
    ``torch.save`` bytes of CPU tensors, restored with ``torch.load(..., weights_only=True)``
    (:mod:`sklirl.utils._persistence`), but unpickling the estimator itself can execute code:
    load pickles only from sources you trust. Demonstrations have a pickle-free format
    (:func:`sklirl.demos.save_demos`, loaded with ``allow_pickle=False``).

    Examples
    --------
    A subclass implements ``_fit(demos, env, sample_weight)``, which receives validated
    trajectories and sets ``policy_`` (and ``reward_`` for tabular envs); ``fit``,
    ``predict``, ``predict_proba``, ``predict_reward`` and ``score`` come from the base
    class. Here, behaviour cloning by smoothed action counts:

    >>> import numpy as np
    >>> from sklirl.base import BaseIRL
    >>> from sklirl.datasets import make_expert_demos
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.expectations import empirical_occupancy, policy_from_occupancy
    >>> class CountingImitator(BaseIRL):
    ...     def _fit(self, demos, env, sample_weight):
    ...         counts = empirical_occupancy(demos, env.n_states, env.n_actions, gamma=1.0,
    ...                                      sample_weight=sample_weight)
    ...         self.policy_ = policy_from_occupancy(counts + 1.0)
    ...         self.reward_ = np.array(self.policy_.log_probs)
    ...         self.n_iter_ = 1
    >>> env = GridWorld(3, gamma=0.9)  # the goal is the bottom-right cell, 8
    >>> demos, _ = make_expert_demos(env, 20, horizon=8, random_state=0)
    >>> est = CountingImitator().fit(demos, env)
    >>> est.predict([0, 1, 5]).tolist()  # 2 = down: toward the goal
    [2, 2, 2]
    >>> est.predict_proba([0]).shape, bool(est.score(demos) > np.log(0.25))
    ((1, 4), True)
    """

    # demos is data, not metadata: keep it out of metadata routing. The env is requested by
    # default (with routing enabled, fit(demos, env=env) reaches the estimator and its scorer
    # without set_fit_request/set_score_request calls); sample_weight follows scikit-learn's
    # convention and must be requested explicitly.
    __metadata_request__fit = {"demos": metadata_routing.UNUSED, "env": True}
    __metadata_request__score = {"demos": metadata_routing.UNUSED, "env": True}

    #: Whether the estimator accepts gymnasium environments (not only TabularMDP).
    _accepts_gymnasium = False

    #: Whether fitting on a permutation of the demos gives the same estimator (up to
    #: floating-point summation order). Set it to False in estimators that visit demo steps
    #: in a random order (minibatches), so that ``sklirl.utils.estimator_checks`` skips the
    #: fit-order check for them with that reason.
    _demo_order_invariant = True

    # Subclasses list a constraint for every parameter (checked by ``fit``).
    _parameter_constraints: dict = {}

    # -- fitting -------------------------------------------------------------------------
    def _resolve_env(self, y, env, method="fit"):
        if y is not None:
            if not _is_env(y):
                raise TypeError(
                    f"{type(self).__name__}.{method} got {type(y).__name__} as its second "
                    "argument, which is not an environment. Call "
                    f"{method}(demos, env) or {method}(demos, env=env)."
                )
            if env is not None and env is not y:
                raise TypeError(f"{method} got an environment both positionally and as env=.")
            env = y
        return env

    def _check_env(self, env, method="fit"):
        if env is None:
            raise TypeError(
                f"{type(self).__name__}.{method} requires an environment: "
                f"{method}(demos, env) or {method}(demos, env=env)."
            )
        if is_tabular_env(env):
            return env
        if self._accepts_gymnasium and is_gymnasium_env(env):
            if hasattr(env, "num_envs") and hasattr(env, "single_observation_space"):
                raise TypeError(
                    f"{type(self).__name__} needs a single gymnasium environment, got the "
                    f"vector env {env!r}; pass gymnasium.make(...) (PPO vectorises it itself: "
                    "set solver=PPO(n_envs=...))."
                )
            return env
        kinds = "a TabularMDP or a gymnasium.Env" if self._accepts_gymnasium else "a TabularMDP"
        hint = ""
        if is_gymnasium_env(env):
            hint = " Convert discrete toy-text envs with sklirl.envs.from_gymnasium(env)."
        raise TypeError(f"env must be {kinds}, got {type(env).__name__}.{hint}")

    # Why the estimator needs the demonstrator's actions (a phrase for the error on
    # state-only demonstrations), or None when it learns from states alone: see _needs_actions.
    _actions_reason = "it learns from the demonstrated actions"

    def _needs_actions(self):
        """Why state-only demonstrations (``Trajectory(states)``) cannot be fitted, or None
        when they can (the estimator then uses the states only)."""
        return self._actions_reason

    def _check_demos(self, demos, env):
        size = {"n_states": env.n_states, "n_actions": env.n_actions} if is_tabular_env(env) else {}
        trajs = check_demos(demos, allow_no_actions=True, **size)
        why = self._needs_actions()
        if why is not None:
            _require_actions(trajs, type(self).__name__, why)
        return trajs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, demos, y=None, *, env=None, sample_weight=None):
        """Fit the estimator to expert demonstrations in an environment.

        Parameters
        ----------
        demos : list of trajectories
            :class:`~sklirl.Trajectory` objects, ``(states, actions)`` pairs, or objects with
            ``obs``/``acts`` or ``observations``/``actions`` attributes.
        y : TabularMDP, gymnasium.Env or None
            The environment, when given positionally (``fit(demos, env)``).
        env : TabularMDP or gymnasium.Env, default=None
            The environment, as a keyword (for ``GridSearchCV(...).fit(demos, env=env)``).
        sample_weight : array-like of shape (n_trajectories,), default=None
            Weights of the trajectories.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        env = self._check_env(self._resolve_env(y, env))
        trajs = self._check_demos(demos, env)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, len(trajs))
        return self._fit_in_env(env, lambda: self._fit(trajs, env, sample_weight))

    def _fit_in_env(self, env, fit_body):
        """Run ``fit_body()`` as every public fitting method does, on an env checked by
        ``_check_env``: in a :meth:`_fit_transaction`, with ``env_`` and ``n_features_in_``
        set first."""
        with self._fit_transaction(env):
            self.env_ = env
            n_features = _observation_dim(env)
            if n_features is not None:
                self.n_features_in_ = n_features
            elif hasattr(self, "n_features_in_"):  # refit on a tabular env after a gym one
                del self.n_features_in_
            fit_body()
        return self

    def _fit(self, demos, env, sample_weight):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- interruption (KeyboardInterrupt) ---------------------------------------------------
    def _checkpoint(self, n_iter, finalize=None):
        """Record that iteration ``n_iter`` is complete.

        ``finalize()`` must set every fitted attribute as if the fit had stopped after this
        iteration; it runs only if the fit is then interrupted (see the class Notes), so
        it may close over the loop's current values (copies of arrays updated in place).
        ``n_iter_`` is set to ``n_iter`` afterwards.
        """
        self._interrupt_checkpoint = (int(n_iter), finalize)

    @contextlib.contextmanager
    def _fit_transaction(self, env):
        """Run a fit so that it either completes or leaves the estimator as it was.

        Every public fitting method (``fit``, and ``fit_occupancy`` where it exists) runs its
        body in this context. On a ``KeyboardInterrupt`` the estimator keeps its last complete
        iteration (see :meth:`_checkpoint`) or is rolled back; on any other exception (a
        feature map returning NaN, a callback raising, a solver failing) it is rolled back to
        its state before the call: its previous fit, or unfitted. The rollback restores the
        instance's whole ``__dict__`` (fitted and private attributes), so a fit must not
        modify the previous fit's objects in place (warm starts work on copies).
        """
        if self.__dict__.get("_in_fit_transaction"):  # nested (a CV estimator's refit):
            yield                                        # the outermost call handles it
            return
        snapshot = dict(self.__dict__)
        self._interrupt_checkpoint = None
        self._in_fit_transaction = True
        try:
            yield
        except KeyboardInterrupt:
            self._recover_from_interrupt(snapshot, env)
            raise
        except BaseException as exc:
            self._roll_back(snapshot)
            if hasattr(exc, "add_note"):  # Python >= 3.11
                state = "keeps its previous fit" if _fitted_attributes(self) else "is unfitted"
                exc.add_note(f"{type(self).__name__}.fit failed; the estimator {state}.")
                diverged = self._divergence_hint(exc)
                if diverged:
                    exc.add_note(diverged)
            raise
        finally:
            self.__dict__.pop("_interrupt_checkpoint", None)
            self.__dict__.pop("_in_fit_transaction", None)

    def _divergence_hint(self, exc):
        """What to change when the fit's own reward overflowed (inputs were validated before
        the fit started, so a non-finite reward inside it means the optimisation diverged)."""
        message = str(exc)
        if not (isinstance(exc, (ValueError, FloatingPointError))
                and "reward" in message
                and any(w in message for w in ("NaN", "infinity", "float64", "non-finite"))):
            return None
        params = sorted(self.get_params(deep=False))
        steps = [name for name in params
                 if "learning_rate" in name and getattr(self, name) is not None]
        change = f"lower {' or '.join(steps)}" if steps else "lower the step sizes"
        penalties = [name for name in params if name in ("l2", "grad_penalty", "weight_decay")]
        if penalties:
            change += f", or raise {' or '.join(penalties)}"
        return f"The learned reward diverged during the fit: {change}."

    def _roll_back(self, snapshot):
        """Put back the instance's attributes as they were in ``snapshot``."""
        self.__dict__.clear()
        self.__dict__.update(snapshot)

    def _recover_from_interrupt(self, snapshot, env):
        name = type(self).__name__
        checkpoint = self.__dict__.pop("_interrupt_checkpoint", None)
        if checkpoint is not None:
            n_iter, finalize = checkpoint
            try:
                if finalize is not None:
                    finalize()
                self.n_iter_ = n_iter
                self.env_ = env
            except Exception:  # a second interrupt or an error: fall through to a rollback
                checkpoint = None
        if checkpoint is not None:
            resume = (
                " Call fit again with warm_start=True to resume from it."
                if "warm_start" in self.get_params(deep=False) else ""
            )
            message = (
                f"{name}.fit was interrupted; the estimator holds the last complete iteration "
                f"(n_iter_={n_iter}).{resume}"
            )
        else:
            self._roll_back(snapshot)
            state = "keeps its previous fit" if _fitted_attributes(self) else "is left unfitted"
            message = (
                f"{name}.fit was interrupted with no complete iteration recorded; the "
                f"estimator {state}."
            )
        warn_user(message, UserWarning)

    # -- tabular helpers shared by the estimators ------------------------------------------
    def _reward_input(self):
        """What the feature map sees: ``"state"``, or ``"state_action"`` (the ``S * A``
        descriptor rows, for estimators with a ``reward_input`` parameter)."""
        return getattr(self, "reward_input", "state")

    def _fit_feature_map(self, env):
        """Clone and fit ``self.features`` on ``env``; set ``features_`` and return phi.

        phi is ``(S, k)``, or ``(S * A, k)`` (row ``s * A + a``) with
        ``reward_input="state_action"``, so that ``linear_reward(phi, w, env)`` is the
        ``(S,)`` or ``(S, A)`` reward. ``features=None`` means
        :class:`~sklirl.features.OneHotStates` (the tabular reward, of states or of pairs).
        """
        features = OneHotStates() if self.features is None else self.features
        self.features_, phi = fit_feature_matrix(features, env, self._reward_input())
        return phi

    def _clone_sub_estimator(self, name, default):
        """Clone parameter ``name`` (or ``default`` when it is None) into attribute ``name_``.

        Sub-estimators (solvers, expectation estimators) are parameters, so that
        ``get_params(deep=True)`` exposes theirs (``solver__temperature``) and ``clone``
        copies them; ``fit`` works on a clone and never changes the parameter itself.
        """
        value = getattr(self, name)
        fitted = clone(default if value is None else value)
        setattr(self, name + "_", fitted)
        return fitted

    def _feature_matrix(self, env):
        """The fitted feature map's ``(S, k)`` matrix on a (possibly new) env."""
        try:
            return transform_feature_matrix(self.features_, env, self._reward_input())
        except ValueError as exc:
            fitted = getattr(self, "env_", None)
            if fitted is None or env is fitted:
                raise
            raise ValueError(
                f"the feature map fitted on the training env ({fitted.n_states} states) cannot "
                f"describe the states of this env ({env.n_states} states), so "
                f"{type(self).__name__} cannot transfer its reward to it; use features that "
                f"generalise across envs (e.g. a transformer of env.state_features). {exc}"
            ) from None

    # -- prediction ----------------------------------------------------------------------
    def _policy_for(self, env):
        """The learned policy for ``env``: ``policy_`` for the fit env (subclasses re-plan)."""
        if env is None or _same_tabular_env(env, getattr(self, "env_", None)):
            return self.policy_
        return self._transfer_policy(env)

    def _transfer_policy(self, env):
        raise ValueError(
            f"{type(self).__name__} cannot score on an environment other than the one it was "
            "fitted on."
        )

    def _check_tabular_states(self, states):
        return check_indices(states, self.env_.n_states, "states")

    def predict_reward(self, states, actions=None):
        """The learned reward of states (``(n, A)``) or of state-action pairs (``(n,)``).

        Parameters
        ----------
        states : array-like of shape (n,)
            State indices (tabular envs) or observations.
        actions : array-like of shape (n,), default=None

        Returns
        -------
        rewards : ndarray of shape (n, A) without actions, (n,) with them
        """
        check_is_fitted(self)
        s = self._check_tabular_states(states)
        table = self.reward_ if self.reward_.ndim == 2 else self.reward_[:, None]
        table = np.broadcast_to(table, (self.env_.n_states, self.env_.n_actions))
        if actions is None:
            return table[s].copy()
        a = np.asarray(actions)
        if a.shape != s.shape:
            raise ValueError(f"actions has shape {a.shape}; expected {s.shape} like states.")
        a = check_indices(a, self.env_.n_actions, "actions")
        return table[s, a]

    def predict_proba(self, states):
        """Action probabilities ``(n, A)`` of the learned policy (at t = 0 for finite horizons).

        Parameters
        ----------
        states : array-like of int of shape (n,), or int
            State indices of the env seen in ``fit``, in ``[0, env.n_states)``; one index
            (a gymnasium observation) gives one row.

        Returns
        -------
        probs : ndarray of shape (n, A), or (A,) for one state
            Rows sum to 1.
        """
        check_is_fitted(self)
        if np.isscalar(states) or (isinstance(states, np.ndarray) and states.ndim == 0):
            return self.policy_.predict_proba(self._check_tabular_states([states]))[0]
        return self.policy_.predict_proba(self._check_tabular_states(states))

    def predict(self, states):
        """Most probable action of the learned policy in each state.

        Parameters
        ----------
        states : array-like of int of shape (n,), or int
            State indices of the env seen in ``fit``, in ``[0, env.n_states)``. One index
            (a gymnasium observation) gives one action, so ``env.step(est.predict(obs))``
            acts in a gymnasium env.

        Returns
        -------
        actions : ndarray of int of shape (n,), or int for one state
            ``predict_proba(states).argmax(axis=1)`` (ties go to the lowest action).
        """
        probs = self.predict_proba(states)
        if probs.ndim == 1:
            return int(probs.argmax())
        return probs.argmax(axis=1)

    def score(self, demos, y=None, *, env=None, sample_weight=None):
        """Mean per-step log-likelihood of the demonstrations' actions under the learned policy.

        Higher is better, so ``GridSearchCV`` and ``cross_val_score`` select hyperparameters by
        held-out likelihood. The demonstrations need actions (state-only ones are refused).

        Parameters
        ----------
        demos : list of trajectories
        y : environment or None
            Positional environment; the one seen in ``fit`` when None.
        env : environment, default=None
            Keyword form of ``y``.
        sample_weight : array-like of shape (n_trajectories,), default=None
            Weights of the trajectories: each step of trajectory i counts ``sample_weight[i]``
            times in the mean.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        env = self._resolve_env(y, env, method="score")
        if env is not None:
            self._check_env(env, method="score")
        policy = self._policy_for(env)
        trajs = check_demos(demos, allow_no_actions=True)
        _require_actions(trajs, f"{type(self).__name__}.score",
                         "score is the mean log-likelihood of the demonstrated actions, and a "
                         "state-only demonstration has none to score")
        if sample_weight is None:
            return self._mean_log_likelihood(policy, trajs)
        weights = check_sample_weight(sample_weight, len(trajs))
        steps = np.array([len(t) for t in trajs], dtype=np.float64)
        # Per-trajectory means, recombined with weight w_i * T_i per trajectory.
        means = np.array([self._mean_log_likelihood(policy, [t]) if len(t) else 0.0
                          for t in trajs])
        mass = weights * steps
        if mass.sum() <= 0:
            raise ValueError("sample_weight gives zero weight to every step of the demos.")
        with np.errstate(invalid="ignore"):  # -inf times a zero weight counts as nothing
            total = np.where(mass > 0, mass * means, 0.0).sum()
        return float(total / mass.sum())

    def _mean_log_likelihood(self, policy, demos):
        if isinstance(policy, TabularPolicy):
            return log_likelihood(policy, demos)
        return self._score_samples_mean(policy, demos)

    def _score_samples_mean(self, policy, demos):  # pragma: no cover - overridden by GAIL
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.target_tags.required = False
        tags.requires_fit = True
        return tags
