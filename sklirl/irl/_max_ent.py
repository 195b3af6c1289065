"""Maximum (causal) entropy inverse reinforcement learning (Ziebart et al. 2008, 2010)."""

from __future__ import annotations

import copy
import time
from numbers import Integral, Real

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..base import BaseIRL, linear_reward
from ..envs._tabular import check_indices, check_tabular_env
from ..expectations import (
    expert_occupancy,
    occupancy_mass,
    occupancy_measure,
)
from ..solvers._tabular import (
    SoftValueIteration,
    auto_method,
    soft_policy,
    soft_value_iteration,
)
from ..utils._features import occupancy_features
from ..utils._numeric import as_float_array
from ..utils._progress import Progress
from ..utils._warnings import warn_user

__all__ = ["MaxEntIRL"]


class _InfeasibleMoments(Exception):
    """The unregularised dual went below zero: no policy attains the expert's moments."""

    def __init__(self, w):
        self.w = w


# L-BFGS restarts with a fresh diagonal preconditioner after this many iterations.
_RESCALE_EVERY = 50


class _MaxEntDual:
    """The MCE IRL dual of one fit as a function of the state reward table.

    ``g(r) = (E_{s0 ~ mu0}[V_soft_r(s0)] - sum_s d_E(s) r(s)) / M``, with ``M`` the visitation
    mass; its gradient in ``r`` is ``(d_pi(s) - d_E(s)) / M``, the normalised difference between
    the soft-optimal policy's state visitation and the expert's. Discounted envs: the inner
    problem is warm started from the previous evaluation's values (soft policy iteration from
    20,000 states on: a few Newton steps with warm-started Krylov solves, exact to the same
    tolerance as value iteration), and the flow equations are solved by BiCGSTAB from the
    previous evaluation's visitation.
    """

    def __init__(self, env, expert_visitation, initial_distribution, solver):
        self.env = env
        # An (S, A) expert visitation: the reward is per state-action pair (flat, s * A + a).
        self.state_action = expert_visitation.ndim == 2
        self.mass = occupancy_mass(env)
        self.expert_visitation = expert_visitation
        self.initial_distribution = initial_distribution
        self.solver = solver
        self._values = None
        self._visitation = None
        self.last_visitation = None
        # The planner's own "auto" rule (policy iteration near gamma = 1 and on large envs),
        # fixed for the whole fit so that warm starts carry over between evaluations.
        self.method = auto_method(env) if solver.method == "auto" else solver.method

    def _table(self, reward):
        return reward.reshape(self.env.n_states, -1) if self.state_action else reward

    def __call__(self, reward):
        env = self.env
        reward = self._table(reward)
        # Inner problem: maximum-entropy RL for the current reward; the soft-optimal policy
        # is pi = exp(Q - V) (time-indexed for finite horizons).
        warm = None if env.finite_horizon else self._values
        solver = self.solver
        Q, V, _ = soft_value_iteration(env, reward, solver.temperature, solver.tol,
                                       solver.max_iter, warm, self.method, solver.transition_dtype)
        self._values = V
        policy = soft_policy(Q, solver.temperature)
        # Exact state-action occupancy of that policy from the same start distribution.
        occupancy = occupancy_measure(env, policy, initial_distribution=self.initial_distribution,
                                      init_visitation=self._visitation)
        visitation = occupancy.sum(axis=1)
        self._visitation = None if env.finite_horizon else visitation
        if self.state_action:
            visitation = occupancy
        self.last_visitation = visitation
        v0 = V[0] if env.finite_horizon else V
        expected = np.vdot(self.expert_visitation, reward)
        loss = (self.initial_distribution @ v0 - expected) / self.mass
        return loss, ((visitation - self.expert_visitation) / self.mass).ravel()

    def policy(self, reward):
        """The soft-optimal :class:`TabularPolicy` of ``reward`` (warm started)."""
        warm = None if self.env.finite_horizon else self._values
        return clone(self.solver).set_params(method=self.method).solve(
            self.env, self._table(reward), init_values=warm)


class MaxEntIRL(BaseIRL):
    """Maximum (causal) entropy inverse reinforcement learning.

    Learns a reward ``r_w(s) = w . phi(s)`` (or ``r_w(s, a) = w . phi(s, a)``) whose
    maximum-entropy (soft-optimal) policy reproduces the feature expectations of the
    demonstrations; equivalently, maximises the likelihood of the demonstrated actions under
    that policy. The inner problem is soft value iteration on the known model; the feature
    expectations of the policy are exact (occupancy measure). Discounted envs give the
    stationary maximum causal entropy policy (Ziebart 2010),
    finite-horizon envs the time-indexed one (Ziebart et al. 2008).

    Parameters
    ----------
    features : transformer, default=None
        Feature map from state descriptors to reward features (any scikit-learn transformer or
        Pipeline); :class:`~sklirl.features.OneHotStates` (one reward per state) when None.
    reward_input : {"state", "state_action"}, default="state"
        What the feature map sees. ``"state"``: the env's state descriptors, ``r(s)``.
        ``"state_action"``: the ``S * A`` rows of ``env.state_action_features`` (or the pair
        indices for :class:`~sklirl.features.OneHotStates`, the tabular ``r(s, a)``), and the
        policy matches the expert's state-action feature expectations.
    reward_model : {"linear", "mlp"}, default="linear"
        ``"linear"``: ``r = phi @ coef_``. ``"mlp"``: a torch multilayer perceptron on the
        features trained by back-propagating the visitation gap (Maximum Entropy Deep IRL,
        Wulfmeier et al. 2015); needs the ``torch`` extra.
    hidden_layer_sizes : tuple of int, default=(32, 32)
        Hidden layers of the MLP reward (``reward_model="mlp"`` only).
    weight_decay : float, default=0.0
        ``reward_model="mlp"`` only: decoupled weight decay of the network's weights (AdamW;
        each step shrinks them by ``learning_rate * weight_decay``). It smooths the learned
        reward as a function of the features, which is what lets it transfer to new
        environments (on ObjectWorld ``weight_decay=1`` roughly halves the transfer EVD at
        64-128 demos). With ``weight_decay > 0`` the network never reaches a stationary point
        of the loss, so ``tol`` does not apply: the fit runs ``max_iter`` steps (together with
        the decay, the training budget regularises) and does not warn.
    l2 : float, default=0.1
        Strength of the L2 penalty added to the **summed** negative log-likelihood of the
        demonstration steps (like scikit-learn's ``alpha``, so its pull fades as demos
        accumulate): ``l2 / 2 * ||w||^2`` on the linear weights, a Gaussian prior
        ``w ~ N(0, I / l2)``; for the MLP ``l2 / 2 * sum_s r(s)^2`` on its rewards (a
        penalty on a deep ReLU network's weights does not bound its output scale). See Notes
        and :ref:`maxent_regularisation`. With ``l2=0`` the weights diverge whenever no
        policy attains the demonstrations' feature expectations exactly (typical for one-hot
        features and sampled demos in stochastic MDPs); the fit then stops with a warning.
    optimizer : {"lbfgs", "gradient"}, default="lbfgs"
        Linear model: L-BFGS on the convex dual with its exact gradient, or Ziebart et al.'s
        (2008) gradient ascent
        ``w <- w + learning_rate * ((rho_E - rho_pi) / M - l2 w / n)``.
        The MLP always uses Adam.
    learning_rate : float, default=None
        ``optimizer="gradient"``: a fixed step size (Ziebart et al. 2008); None adapts it,
        starting at 1.0, by backtracking (halved until the dual decreases by the Armijo
        condition, doubled after each accepted step), since the right scale depends on the
        features and the visitation mass. Adam's step for the MLP (default 0.01). Ignored by
        L-BFGS.
    max_iter : int, default=200
        Maximum number of outer iterations (reward updates).
    tol : float, default=1e-5
        Stop when the max-norm of the (mass-normalised) gradient, which is the
        feature-expectation gap ``||rho_pi - rho_E||_inf / M`` when ``l2=0``, falls below
        ``tol`` (for the MLP: the max-norm of the penalised loss's gradient in the state
        rewards, ``(d_pi - d_E) / M + l2 r / n``).
    initial_distribution : {"env", "demos"}, default="env"
        Start-state distribution of the policy's occupancy measure: the env's, or the empirical
        distribution of the demonstrations' first states (as in Levine's toolkit).
    warm_start : bool, default=False
        Start from the previous fit's weights (and MLP) instead of zero / a fresh network.
    random_state : int, RandomState instance or None, default=None
        Seeds the MLP's initialisation.
    solver : SoftValueIteration, default=None
        The policy optimiser of the inner problem (maximum-entropy RL for the current reward),
        cloned into ``solver_``; None means ``SoftValueIteration()``. Its ``tol`` and
        ``max_iter`` bound each inner solve, its ``method`` (``"auto"``: the planners' rule)
        is fixed for the fit so that the values warm start the next solve, and its
        ``temperature`` scales the entropy bonus.
    verbose : int, default=0
        Print the loss and gap every iteration when > 0.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Reward weights ``w`` (linear model only).
    reward_ : ndarray of shape (n_states, n_actions)
        The learned reward table (the same for every action with ``reward_input="state"``).
    policy_ : TabularPolicy
        The soft-optimal policy of ``reward_`` (time-indexed ``(H, S, A)`` for finite horizons).
    features_ : transformer
        The fitted feature map.
    solver_ : SoftValueIteration
        The fitted clone of ``solver``.
    reward_net_ : torch.nn.Module
        The MLP reward (``reward_model="mlp"`` only).
    n_steps_ : float
        ``n``, the sample-weighted number of demonstration steps (``inf`` after
        :meth:`fit_occupancy` without ``n_steps``): the penalty per step is ``l2 / n``.
    coef_cov_ : ndarray of shape (n_features, n_features)
        Linear model only: the Laplace approximation of the posterior covariance of
        ``coef_`` (computed on first access, see Notes); it gives
        ``predict_reward(..., return_std=True)`` and :meth:`sample_rewards`.
    n_iter_ : int
        Outer iterations run.
    history_ : dict of ndarray
        ``"loss"`` (the normalised dual / negative log-likelihood), ``"gap"`` (the
        normalised feature-expectation gap, max-norm) and ``"time"`` (seconds since the
        start of the fit) after each iteration.
    expert_feature_expectations_ : ndarray of shape (n_features,)
        ``rho_E`` as matched (see Notes).
    env_ : TabularMDP
        The env seen in ``fit``.

    See Also
    --------
    sklirl.MaxMarginIRL : apprenticeship learning by feature matching with hard value iteration.
    sklirl.solvers.SoftValueIteration : the inner maximum-entropy planner.

    Notes
    -----
    With mass ``M = sum_s d(s)`` of an occupancy measure (``1 / (1 - gamma)`` discounted,
    ``sum_{t<H} gamma^t`` finite horizon) and ``n = sum_i sample_weight_i T_i`` demonstration
    steps, the linear model minimises the convex objective

    .. math:: J(w) = n\\,\\ell(w) + \\frac{l_2}{2}\\lVert w\\rVert^2, \\qquad
              \\ell(w) = \\frac{1}{M}\\left(E_{s_0\\sim\\mu_0} V^{soft}_w(s_0)
              - w\\cdot\\rho_E\\right),

    where ``V_soft`` is the soft value of ``r_w`` and ``rho_pi`` the exact discounted feature
    expectations of its soft-optimal policy ``pi_w = exp(Q - V)``. In deterministic MDPs
    ``ell`` is the mean per-step negative log-likelihood of the demonstrations (up to a
    constant), so ``J`` is the summed negative log-likelihood plus the penalty: the penalty's
    weight relative to the data falls as ``1 / n`` and the estimator is consistent. The fit
    minimises ``g = J / n`` (same minimiser; ``history_["loss"]`` and ``tol`` are on this
    per-step scale), with ``grad g(w) = (rho_pi - rho_E) / M + (l2 / n) w``; at the optimum
    with ``l2 = 0``, ``rho_pi = rho_E`` (moment matching).

    Uncertainty (linear model): with ``B = n H + l2 I`` the Hessian of ``J`` at the optimum
    (``H``, the Hessian of ``ell``, by central differences of its exact gradient) and ``V`` the
    spread of the demos' own gradient contributions ``T_i (d_i - d_bar) / M``,
    ``coef_cov_ = B^-1 (V + l2 I) B^-1``. In a deterministic MDP with a well-specified reward
    ``V`` is about ``n H`` and this is the Laplace posterior ``B^-1`` under the prior
    ``N(0, I / l2)``; transition noise makes the demos' feature counts vary more than the
    soft-optimal model says, and the sandwich widens the intervals accordingly. See
    :ref:`maxent_uncertainty` for the calibration measured.

    Horizons: the expert's visitation is :func:`~sklirl.expectations.expert_occupancy`, of
    the model's mass ``M``. A demonstration that ended (``terminal=True``) continues in the
    env's absorbing state for the rest of the horizon; one that was cut is normalised to
    unit mass and rescaled to ``M`` (a sample of the normalised discounted visitation,
    unbiased when ``T >> 1 / (1 - gamma)``). Demos longer than a finite horizon ``H`` use
    their first ``H`` steps, with a warning. See :ref:`terminal_states`.

    Demonstrations without actions (``Trajectory(states)``: motion capture, tracks from
    video): with ``reward_input="state"`` the fit needs only the expert's state visitation,
    so state-only demonstrations are accepted and give the same reward as the same
    demonstrations with their actions. :meth:`score` needs actions. See
    :ref:`own_logs_state_only`.

    References
    ----------
    Ziebart, Maas, Bagnell, Dey (2008). Maximum entropy inverse reinforcement learning. AAAI.
    Ziebart (2010). Modeling purposeful adaptive behavior with the principle of maximum causal
    entropy. PhD thesis, CMU.
    Wulfmeier, Ondruska, Posner (2015). Maximum entropy deep inverse reinforcement learning.
    arXiv:1507.04888.

    Examples
    --------
    >>> from sklirl import MaxEntIRL
    >>> from sklirl.datasets import make_expert_demos
    >>> from sklirl.envs import GridWorld
    >>> env = GridWorld(4, gamma=0.9, horizon=8)
    >>> demos, _ = make_expert_demos(env, 50, random_state=0)
    >>> est = MaxEntIRL(initial_distribution="demos").fit(demos, env)
    >>> int(est.reward_[:, 0].argmax())  # the goal cell has the highest learned reward
    15
    >>> bool(est.score(demos) > -1.386)  # more likely than the uniform policy, log(1/4)
    True
    """

    _parameter_constraints: dict = {
        "features": [HasMethods(["fit", "transform"]), None],
        "reward_input": [StrOptions({"state", "state_action"})],
        "reward_model": [StrOptions({"linear", "mlp"})],
        "hidden_layer_sizes": ["array-like"],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions({"lbfgs", "gradient"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "initial_distribution": [StrOptions({"env", "demos"})],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "solver": [SoftValueIteration, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        features=None,
        *,
        reward_input="state",
        reward_model="linear",
        hidden_layer_sizes=(32, 32),
        weight_decay=0.0,
        l2=0.1,
        optimizer="lbfgs",
        learning_rate=None,
        max_iter=200,
        tol=1e-5,
        initial_distribution="env",
        warm_start=False,
        random_state=None,
        solver=None,
        verbose=0,
    ):
        self.features = features
        self.reward_input = reward_input
        self.reward_model = reward_model
        self.hidden_layer_sizes = hidden_layer_sizes
        self.weight_decay = weight_decay
        self.l2 = l2
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.initial_distribution = initial_distribution
        self.warm_start = warm_start
        self.random_state = random_state
        self.solver = solver
        self.verbose = verbose

    # -- the algorithm ---------------------------------------------------------------------
    def fit(self, demos, y=None, *, env=None, sample_weight=None):
        # The penalty is divided by the sample-weighted number of demonstration steps, an
        # absolute count (a weight of 2 is a repetition), which the base's normalised weights
        # no longer carry: keep the raw weights for _fit.
        self._raw_sample_weight = sample_weight
        try:
            return super().fit(demos, y, env=env, sample_weight=sample_weight)
        finally:
            self.__dict__.pop("_raw_sample_weight", None)

    fit.__doc__ = BaseIRL.fit.__doc__

    def _fit(self, demos, env, sample_weight):
        if self.initial_distribution == "demos":
            mu0 = self._start_distribution(demos, env, sample_weight)
        else:
            mu0 = env.initial_state_distribution
        self._fit_visitation(self._expert_visitation(demos, env, sample_weight), mu0, env,
                             self._n_demo_steps(demos, sample_weight))
        self._laplace_data["demo_spread"] = self._demo_spread(demos, env)

    @property
    def _state_action(self):
        return self._reward_input() == "state_action"

    def _demo_spread(self, demos, env):
        """Per-demo visitation deviations ``(N, S)`` and their weights, for the meat matrix.

        Demo ``i`` contributes ``T_i (d_i - d_bar) / M`` to the gradient of the summed
        objective (``d_i`` its visitation normalised to mass ``M``); a raw sample weight
        ``f_i`` counts it ``f_i`` times.
        """
        raw = getattr(self, "_raw_sample_weight", None)
        f = np.ones(len(demos)) if raw is None else np.asarray(raw, dtype=np.float64)
        visits = np.stack([self._expert_visitation([t], env, None).ravel() for t in demos])
        deviations = visits - (f @ visits) / f.sum()
        lengths = np.array([len(t) for t in demos], dtype=np.float64)
        scale = lengths / occupancy_mass(env)
        return sp.csr_matrix(deviations * scale[:, None]), f

    def _l2_strength(self):
        """The penalty strength of this fit (MaxEntIRLCV: the one cross-validation chose)."""
        return self.l2

    def _n_demo_steps(self, demos, sample_weight):
        """``n = sum_i sample_weight_i T_i``, the data size the penalty is divided by."""
        lengths = np.array([len(t) for t in demos], dtype=np.float64)
        raw = getattr(self, "_raw_sample_weight", None)
        if sample_weight is None or raw is None:
            return float(lengths.sum())
        # the base validated the raw weights (and normalised its copy to sum to 1)
        return float(np.asarray(raw, dtype=np.float64) @ lengths)


    @_fit_context(prefer_skip_nested_validation=True)
    def fit_occupancy(self, occupancy, env, *, n_steps=None):
        """Fit to a known expert occupancy measure instead of sampled demonstrations.

        Parameters
        ----------
        occupancy : array-like of shape (n_states,) or (n_states, n_actions)
            Expert state (or state-action) visitation, e.g. the exact occupancy measure of a
            known expert policy (state-action with ``reward_input="state_action"``). It is
            rescaled to the env's visitation mass; the env's initial distribution is used
            whatever ``initial_distribution`` says.
        env : TabularMDP
        n_steps : float, default=None
            The number of demonstration steps the occupancy summarises: the penalty is
            ``l2 / (2 n_steps) ||w||^2`` per step (see Notes). None: an exact occupancy is the
            infinite-data limit, where the penalty vanishes (``l2`` is ignored).

        Returns
        -------
        self : object
        """
        env = self._check_env(env, "fit_occupancy")
        d = as_float_array(occupancy, "occupancy")
        if d.shape not in ((env.n_states,), (env.n_states, env.n_actions)):
            raise ValueError(
                f"occupancy must have shape ({env.n_states},) or ({env.n_states}, "
                f"{env.n_actions}), got {d.shape}."
            )
        if not np.all(np.isfinite(d)) or (d < 0).any() or not d.max() > 0:
            raise ValueError("occupancy must be finite, non-negative and not all zero.")
        if n_steps is not None and not (isinstance(n_steps, Real) and np.isfinite(n_steps)
                                        and n_steps > 0):
            raise ValueError(f"n_steps must be a positive finite number or None, got {n_steps!r}.")
        if self._state_action and d.ndim == 1:
            raise ValueError(
                "reward_input='state_action' needs the state-action occupancy, shape "
                f"({env.n_states}, {env.n_actions}), got a state visitation {d.shape}."
            )
        d /= d.max()  # only its proportions matter: entries near 1e308 would overflow the sums
        d = d.sum(axis=1) if d.ndim == 2 and not self._state_action else d
        return self._fit_in_env(env, lambda: self._fit_visitation(
            d * (occupancy_mass(env) / d.sum()), env.initial_state_distribution, env,
            np.inf if n_steps is None else float(n_steps)))

    def _fit_visitation(self, expert_visitation, mu0, env, n_steps):
        # The penalty per demonstration step: the summed objective's l2 / 2 ||w||^2 over n.
        self.n_steps_ = n_steps
        l2 = self._l2_strength()
        self._penalty = l2 / n_steps if l2 else 0.0
        # features phi (S, k) -> rho_E (features of the expert's visitation)
        phi = self._fit_feature_map(env)
        self.expert_feature_expectations_ = _feature_expectations(expert_visitation, phi)
        self.solver_ = SoftValueIteration() if self.solver is None else clone(self.solver)
        dual = _MaxEntDual(env, expert_visitation, mu0, self.solver_)
        warm_values = getattr(self, "_warm_values", None) if self.warm_start else None
        if (warm_values is not None and not env.finite_horizon
                and warm_values.shape == (env.n_states,)):
            dual._values = warm_values  # the inner problem starts from the last fit's values
        # what the Laplace approximation (coef_cov_, computed on first use) re-evaluates
        self._laplace_data = {"expert_visitation": expert_visitation, "mu0": mu0}
        self.__dict__.pop("_coef_cov", None)
        self._history = {"loss": [], "gap": [], "time": []}
        self._start_time = time.perf_counter()
        self._progress = Progress("MaxEntIRL", self.max_iter, self.verbose)
        if self.reward_model == "linear":
            w = self._initial_coef(phi.shape[1])
            run = self._minimize_lbfgs if self.optimizer == "lbfgs" else self._gradient_steps
            try:
                self.coef_, self.n_iter_ = run(dual, phi, w)
            except _InfeasibleMoments as stop:
                # g(w) >= H(pi)/M >= 0 whenever some policy attains rho_E, so g(w) < 0 proves
                # that none does: the unregularised dual is unbounded below.
                warn_user(
                    "MaxEntIRL: no policy in env attains the demonstrations' feature "
                    "expectations (the unregularised objective is unbounded below), so the "
                    "weights would diverge; stopping early. Set l2 > 0, use coarser features, "
                    "or initial_distribution='demos'.",
                    ConvergenceWarning,
                )
                self.coef_, self.n_iter_ = stop.w, len(self._history["loss"])
            reward = linear_reward(phi, self.coef_)
        else:
            reward, self.n_iter_ = self._train_mlp(dual, phi)
        # the learned policy: soft value iteration on the final reward
        self._set_learned_reward(dual, reward)

    def _set_learned_reward(self, dual, reward):
        """Set ``policy_``, ``reward_`` and ``history_`` for the reward reached."""
        self.policy_ = dual.policy(reward)
        if self.warm_start and dual._values is not None:
            self._warm_values = dual._values
        else:
            self.__dict__.pop("_warm_values", None)
        env = dual.env
        self.reward_ = (reward.reshape(env.n_states, env.n_actions) if dual.state_action
                        else np.repeat(reward[:, None], env.n_actions, axis=1))
        self.history_ = {k: np.asarray(v) for k, v in self._history.items()}
        del self._history
        self.__dict__.pop("_penalty", None)
        self.__dict__.pop("_start_time", None)
        self.__dict__.pop("_progress", Progress("", 0, 0)).close()

    def _finalizer(self, dual, phi, w):
        """The fitted state at the linear weights ``w`` (a KeyboardInterrupt checkpoint)."""
        n = len(self._history["loss"])

        def finalize():
            self.coef_ = w
            self._history = {k: v[:n] for k, v in self._history.items()}
            self._set_learned_reward(dual, linear_reward(phi, w))

        return finalize

    def _linear_dual(self, dual, phi):
        """``w -> (g(w), grad g(w), gap)``: one pass of the algorithm box's loop body."""
        def evaluate(w):
            reward = linear_reward(phi, w)                             # r_w = w . phi
            loss, visitation_diff = dual(reward)                        # soft VI -> occupancy
            if self._penalty == 0 and loss < -1e-9 * max(1.0, np.abs(reward).max(initial=0.0)):
                raise _InfeasibleMoments(w)
            feature_gap = _feature_expectations(visitation_diff, phi)   # (rho_pi - rho_E) / M
            loss += 0.5 * self._penalty * (w @ w)
            grad = feature_gap + self._penalty * w
            return loss, grad, float(np.abs(feature_gap).max()) if len(w) else 0.0

        return evaluate

    def _record(self, it, loss, gap):
        self._history["loss"].append(float(loss))
        self._history["gap"].append(float(gap))
        self._history["time"].append(time.perf_counter() - self._start_time)
        self._progress.update(f"loss {loss:.8g}  gap {gap:.3e}")

    def _minimize_lbfgs(self, dual, phi, w0):
        evaluate = self._linear_dual(dual, phi)
        last = {}

        def fun(w):
            # L-BFGS re-evaluates its starting point, and every pass after a rescale starts at
            # the last point: reuse the evaluation (a soft value iteration and a flow solve)
            if "w" in last and np.array_equal(w, last["w"]):
                return last["loss"], last["grad"].copy()
            loss, grad, gap = evaluate(w)
            last.update(w=w.copy(), loss=loss, gap=gap, grad=grad.copy(),
                        grad_max=np.abs(grad).max(initial=0.0))
            return loss, grad

        fun(w0)
        if last["grad_max"] <= self.tol:
            self._record(0, last["loss"], last["gap"])
            return w0, 0
        # L-BFGS runs on u = w / scale (Jacobi preconditioning): the curvature of g along w_j
        # is about the visitation-weighted mean of phi_j^2, which spans orders of magnitude with
        # one-hot features (rarely visited states); unscaled, those coordinates crawl. The
        # curvature moves with w, so the scale is refreshed every _RESCALE_EVERY iterations.
        w, n_iter = w0, 0
        while True:
            scale = _preconditioner(phi, dual, self.expert_feature_expectations_, self._penalty)

            def fun_scaled(u, scale=scale):
                loss, grad = fun(u * scale)
                return loss, grad * scale

            def callback(intermediate_result):
                w = intermediate_result.x * scale  # noqa: B023 (used within this pass only)
                if not np.array_equal(w, last["w"]):
                    fun(w)
                self._record(len(self._history["loss"]) + 1, last["loss"], last["gap"])
                self._checkpoint(len(self._history["loss"]), self._finalizer(dual, phi, w.copy()))
                if last["grad_max"] <= self.tol:  # the stopping rule, on the unscaled gradient
                    raise StopIteration

            chunk = min(_RESCALE_EVERY, self.max_iter - n_iter)
            res = scipy.optimize.minimize(
                fun_scaled, w / scale, jac=True, method="L-BFGS-B", callback=callback,
                options={"maxiter": chunk, "gtol": 0.0, "ftol": 0.0, "maxfun": 10 * chunk + 20,
                         "maxls": 40},
            )
            n_iter += int(res.nit)
            w = res.x * scale
            if not np.array_equal(w, last["w"]):
                fun(w)
            if last["grad_max"] <= self.tol or res.nit < chunk or n_iter >= self.max_iter:
                break
        # Stopping short of tol at the precision floor (f cannot decrease further) is fine.
        if last["grad_max"] > self.tol and (n_iter >= self.max_iter
                                            or last["grad_max"] > 100 * self.tol):
            warn_user(
                f"MaxEntIRL (L-BFGS) stopped after {n_iter} iterations with gradient max-norm "
                f"{last['grad_max']:.3g} > tol={self.tol} ({res.message}). Increase max_iter, "
                "add l2 regularisation, raise tol, or standardise the reward features "
                "(features=make_pipeline(<your map>, StandardScaler())) if their scales differ.",
                ConvergenceWarning,
            )
        return w, n_iter

    def _gradient_steps(self, dual, phi, w):
        evaluate = self._linear_dual(dual, phi)
        adaptive = self.learning_rate is None
        lr = 1.0 if adaptive else float(self.learning_rate)
        loss, grad, gap = evaluate(w)
        for it in range(1, self.max_iter + 1):
            if np.abs(grad).max(initial=0.0) <= self.tol:
                self._record(it - 1, loss, gap)
                return w, it - 1
            w_new = w - lr * grad              # w <- w + lr (rho_E - rho_pi) / M - lr l2 w
            new = evaluate(w_new)
            if adaptive:
                # Backtracking: halve the step until the (convex) dual decreases by the Armijo
                # condition; the next iteration tries twice the accepted step.
                while new[0] > loss - 0.5 * lr * float(grad @ grad) and lr > 1e-12:
                    lr *= 0.5
                    w_new = w - lr * grad
                    new = evaluate(w_new)
                lr *= 2.0
            self._record(it, loss, gap)
            w, (loss, grad, gap) = w_new, new
            self._checkpoint(it, self._finalizer(dual, phi, w))
        warn_user(
            f"MaxEntIRL (gradient) did not reach tol={self.tol} in max_iter={self.max_iter} "
            f"iterations (last gap {gap:.3g}); increase max_iter or learning_rate.",
            ConvergenceWarning,
        )
        return w, self.max_iter

    def _train_mlp(self, dual, phi):
        from ._neural_reward import MLPReward

        X = phi.toarray() if sp.issparse(phi) else np.asarray(phi, dtype=np.float64)
        lr = 0.01 if self.learning_rate is None else float(self.learning_rate)
        net = getattr(self, "reward_net_", None) if self.warm_start else None
        if net is not None and net.n_features != X.shape[1]:
            _warn_cold_start(f"the features changed ({net.n_features} -> {X.shape[1]})")
        if net is None or net.n_features != X.shape[1]:
            net = MLPReward(X.shape[1], self.hidden_layer_sizes, random_state=self.random_state)
        else:  # train a copy: a failed fit must leave the previous fit's network untouched
            net = copy.deepcopy(net)
        # the network penalises the mean squared reward: l2 / (2 n) sum_s r(s)^2 per step
        n_states = X.shape[0]
        net.set_optimizer(lr, self._penalty * n_states, self.weight_decay)
        it = 0
        for it in range(1, self.max_iter + 1):
            reward = net.predict(X)                           # r_theta(phi(s))
            loss, visitation_diff = dual(reward)              # soft VI -> occupancy
            gap = float(np.abs(visitation_diff).max())
            self._record(it, loss + net.penalty(X), gap)
            # the gradient of the penalised loss in the rewards: the visitation gap plus the
            # penalty's l2 r / S (with l2 > 0 the gap alone never reaches 0)
            reward_grad = visitation_diff + self._penalty * reward
            if not self.weight_decay and np.abs(reward_grad).max() <= self.tol:
                break
            net.backward_step(X, visitation_diff)             # back-propagate d_pi - d_E
        else:
            if not self.weight_decay:  # with weight decay max_iter is the budget by design
                warn_user(
                    f"MaxEntIRL (mlp) did not reach tol={self.tol} in max_iter={self.max_iter} "
                    f"iterations (last gradient max-norm {np.abs(reward_grad).max():.3g}, "
                    f"visitation gap {gap:.3g}); increase max_iter or learning_rate.",
                    ConvergenceWarning,
                )
        self.reward_net_ = net
        return net.predict(X), it

    # -- pieces of the algorithm box ---------------------------------------------------------
    def _initial_coef(self, n_features):
        coef = getattr(self, "coef_", None)
        if self.warm_start and coef is not None and coef.shape == (n_features,):
            return np.array(coef, dtype=np.float64)
        if self.warm_start and coef is not None:
            _warn_cold_start(f"the features changed ({coef.shape[0]} -> {n_features})")
        return np.zeros(n_features)

    def _expert_visitation(self, demos, env, sample_weight):
        """Expert state (or state-action) visitation of mass M: the one rule,
        :func:`expert_occupancy` (state rewards need the states only)."""
        return expert_occupancy(demos, env, sample_weight=sample_weight,
                                visitation="state_action" if self._state_action else "state")

    def _needs_actions(self):
        if not self._state_action:
            return None  # a state reward is fitted to the state visitation alone
        return ("reward_input='state_action' matches the expert's state-action visitation, "
                "which needs the actions; reward_input='state' learns a reward of states from "
                "state-only demonstrations")

    @staticmethod
    def _start_distribution(demos, env, sample_weight):
        starts = np.array([t.states[0] for t in demos], dtype=np.intp)
        weights = np.ones(len(demos)) if sample_weight is None else sample_weight
        mu0 = np.bincount(starts, weights=weights, minlength=env.n_states)
        return mu0 / mu0.sum()

    # -- uncertainty: the Laplace approximation at the optimum -------------------------------
    @property
    def coef_cov_(self):
        """Laplace approximation of the posterior covariance of ``coef_``, ``(k, k)``.

        The inverse Hessian of the summed objective ``J(w) = n ell(w) + l2 / 2 ||w||^2`` at
        ``coef_`` (see Notes): ``(n H + l2 I)^{-1}`` with ``H`` the Hessian of the per-step
        dual, obtained by central differences of its exact gradient (``2 k`` soft value
        iterations and occupancy solves, run on first access and cached). Linear reward
        model only. Zero after :meth:`fit_occupancy` without ``n_steps`` (infinite data).
        """
        check_is_fitted(self)
        if self.reward_model != "linear":
            raise AttributeError(
                "coef_cov_ is only available for reward_model='linear' (the Laplace "
                "approximation of the weights' posterior); the MLP reward has no weights "
                "posterior.")
        if "_coef_cov" not in self.__dict__:
            self._coef_cov = self._laplace_covariance()
        return self._coef_cov

    def _laplace_covariance(self):
        env, w = self.env_, np.asarray(self.coef_, dtype=np.float64)
        k = len(w)
        if not np.isfinite(self.n_steps_):
            return np.zeros((k, k))
        phi = self._feature_matrix(env)
        data = self._laplace_data
        solver = clone(self.solver_).set_params(tol=min(self.solver_.tol, 1e-12))
        dual = _MaxEntDual(env, data["expert_visitation"], data["mu0"], solver)

        def gradient(v):  # the exact gradient of the per-step dual ell, (rho_pi - rho_E) / M
            return _feature_expectations(dual(linear_reward(phi, v))[1], phi)

        step = 1e-4 * max(1.0, float(np.abs(w).max(initial=0.0)))
        hessian = np.empty((k, k))
        for j in range(k):
            e = np.zeros(k)
            e[j] = step
            hessian[:, j] = (gradient(w + e) - gradient(w - e)) / (2 * step)
        # J = n ell + l2 / 2 ||w||^2: precision B = n H + l2 I (H is PSD: ell is convex)
        l2 = self._l2_strength()
        bread = self.n_steps_ * 0.5 * (hessian + hessian.T) + l2 * np.eye(k)
        values, vectors = np.linalg.eigh(bread)
        # directions the data cannot identify without a prior (l2 = 0) get a huge variance
        values = np.maximum(values, 1e-12 * max(float(values.max(initial=0.0)), 1e-300))
        inverse = (vectors / values) @ vectors.T
        if "demo_spread" not in data:  # fit_occupancy: the model's own curvature only
            return inverse
        # Sandwich B^-1 (V + l2 I) B^-1, V the spread of the demos' gradient contributions:
        # B^-1 when V = n H (deterministic MDPs, a well-specified model), wider when
        # transition noise makes the demos' feature counts vary more than the model says.
        deviations, counts = data["demo_spread"]
        psi = np.asarray(deviations @ phi.toarray() if sp.issparse(phi) else deviations @ phi)
        meat = (psi.T * counts) @ psi + l2 * np.eye(k)
        cov = inverse @ meat @ inverse
        return 0.5 * (cov + cov.T)

    def _state_reward_std(self):
        """``sqrt(phi coef_cov_ phi^T)`` for every state ``(S,)``, or every pair ``(S, A)``
        with ``reward_input="state_action"``."""
        phi = self._feature_matrix(self.env_)
        phi = phi.toarray() if sp.issparse(phi) else np.asarray(phi, dtype=np.float64)
        variance = np.einsum("sk,kl,sl->s", phi, self.coef_cov_, phi)
        std = np.sqrt(np.maximum(variance, 0.0))
        return std.reshape(self.env_.n_states, -1) if self._state_action else std

    def predict_reward(self, states, actions=None, return_std=False):
        """The learned reward, and optionally its posterior standard deviation.

        Parameters
        ----------
        states : array-like of int of shape (n,)
            State indices of the env seen in ``fit``.
        actions : array-like of int of shape (n,), default=None
        return_std : bool, default=False
            Also return the standard deviation of the reward under the Laplace
            approximation of the weights' posterior, ``N(coef_, coef_cov_)`` (linear reward
            model only), like :meth:`sklearn.gaussian_process.GaussianProcessRegressor.predict`.

        Returns
        -------
        rewards : ndarray of shape (n, A) without actions, (n,) with them
        std : ndarray of the same shape
            Only with ``return_std=True``.
        """
        mean = super().predict_reward(states, actions)
        if not return_std:
            return mean
        if self.reward_model != "linear":
            raise ValueError(
                "return_std=True needs reward_model='linear': its uncertainty is the Laplace "
                "approximation of the posterior of the linear weights (coef_cov_); the MLP "
                "reward has none. Use MaxEntIRL(reward_model='linear') with a richer feature "
                "map, or BayesianIRL, for reward uncertainty.")
        s = self._check_tabular_states(states)
        table = self._state_reward_std()
        if table.ndim == 1:
            table = np.repeat(table[:, None], self.env_.n_actions, axis=1)
        if actions is None:
            return mean, table[s]
        return mean, table[s, check_indices(actions, self.env_.n_actions, "actions")]

    def sample_rewards(self, n_samples=1, random_state=None):
        """Reward tables drawn from the Laplace approximation of the posterior.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        rewards : ndarray of shape (n_samples, n_states, n_actions)
            ``phi @ w`` for ``w ~ N(coef_, coef_cov_)``, like ``reward_`` (linear reward
            model only).
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        cov = self.coef_cov_  # raises for the MLP reward
        rng = check_random_state(random_state)
        values, vectors = np.linalg.eigh(cov)
        root = vectors * np.sqrt(np.maximum(values, 0.0))
        weights = self.coef_ + rng.standard_normal((n_samples, len(self.coef_))) @ root.T
        phi = self._feature_matrix(self.env_)
        return np.stack([linear_reward(phi, w, self.env_) for w in weights])

    # -- prediction on other envs ---------------------------------------------------------
    def _reward_on(self, env):
        phi = self._feature_matrix(env)
        if self.reward_model == "linear":
            reward = linear_reward(phi, self.coef_)
        else:
            X = phi.toarray() if sp.issparse(phi) else np.asarray(phi, dtype=np.float64)
            reward = self.reward_net_.predict(X)
        return reward.reshape(env.n_states, -1) if self._state_action else reward

    def _transfer_policy(self, env):
        """Re-plan the learned reward on another env with the fitted feature map."""
        env = check_tabular_env(env)
        return SoftValueIteration().solve(env, self._reward_on(env))

    def transfer_reward(self, env):
        """The learned reward ``(S,)`` (``(S, A)`` for state-action rewards) on another env.

        Parameters
        ----------
        env : TabularMDP
            An env whose state descriptors the fitted feature map can transform.

        Returns
        -------
        reward : ndarray of shape (env.n_states,) or (env.n_states, env.n_actions)
        """
        check_is_fitted(self)
        return self._reward_on(check_tabular_env(env))


def _warn_cold_start(reason):
    warn_user(
        f"MaxEntIRL: warm_start=True is ignored because {reason}; the fit starts from "
        "scratch. Set warm_start=False to silence this.",
        UserWarning,
    )


def _preconditioner(phi, dual, expert_features, l2):
    """Per-feature scale ``1 / sqrt(curvature)`` (max 1) for L-BFGS on the linear dual.

    The curvature proxy of feature j is ``sum_s phi_j(s)^2 (d_E(s) + d_pi(s)) / (2 M)`` with
    ``d_pi`` the visitation of the latest evaluation, floored at 1e-6 of its maximum, plus ``l2``.
    """
    visitation = dual.expert_visitation
    if dual.last_visitation is not None:
        visitation = 0.5 * (visitation + dual.last_visitation)
    squared = phi.multiply(phi) if sp.issparse(phi) else np.square(phi)
    curvature = _feature_expectations(visitation, squared) / dual.mass
    curvature = np.maximum(curvature, 1e-6 * curvature.max(initial=0.0)) + l2
    if not np.all(np.isfinite(curvature)) or curvature.max(initial=0.0) <= 0:
        return np.ones(len(expert_features))
    scale = 1.0 / np.sqrt(np.maximum(curvature, 1e-300))
    return scale / scale.max()


def _feature_expectations(visitation, phi):
    """``rho = sum d phi`` of a state ``(S,)`` or state-action visitation (``(S, A)`` or flat
    ``(S * A,)`` against ``(S * A, k)`` features), sparse-friendly."""
    if visitation.ndim == 1 and visitation.shape[0] != phi.shape[0]:
        raise ValueError(f"visitation {visitation.shape} does not match features {phi.shape}.")
    d = visitation[:, None] if visitation.ndim == 1 else visitation
    return occupancy_features(d, phi)
