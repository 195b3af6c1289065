"""Apprenticeship learning by inverse RL: max-margin and projection (Abbeel & Ng 2004), and
maximum margin planning (Ratliff, Bagnell & Zinkevich 2006).

``MaxMarginIRL._fit`` follows Abbeel & Ng's algorithm box line by line:

1. ``rho_E`` from the demonstrations;
2. an initial policy ``pi_0`` and its feature expectations ``rho_0``;
3. loop: ``w_i, t_i`` from the max-margin QP (or the projection step); stop when
   ``t_i <= epsilon``; ``pi_i`` = the solver's policy for the reward ``w_i . phi``;
   ``rho_i`` = the expectation estimator's feature expectations of ``pi_i``;
4. the output: the mixture of ``pi_0, ..., pi_n`` whose feature expectations are closest to
   ``rho_E``.

The max-margin QP ``max_{t, ||w||_2 <= 1} t  s.t.  w . rho_E >= w . rho_j + t`` is the
minimum-norm point of the convex hull of ``{rho_E - rho_j}`` (its norm is ``t``, its direction
``w``), and the final mixture is the same problem again, so one exact simplex-constrained
least-squares helper (:func:`min_norm_convex_combination`) serves both.
"""

from __future__ import annotations

import time
from numbers import Integral, Real

import numpy as np
from scipy.optimize import nnls
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..base import BaseIRL, is_tabular_env, linear_reward
from ..envs._spaces import SpaceEncoder
from ..expectations import (
    ExactExpectation,
    MonteCarloExpectation,
    expert_occupancy,
    feature_expectations,
    occupancy_feature_expectations,
    occupancy_mass,
    occupancy_measure,
    policy_from_occupancy,
)
from ..policies import EpisodeMixturePolicy, TabularPolicy, UniformPolicy
from ..solvers import ValueIteration
from ..utils._features import observation_features, occupancy_features
from ..utils._optional import import_torch
from ..utils._progress import Progress
from ..utils._validation import GAMMA_INTERVAL, MAX_SEED
from ..utils._warnings import warn_user

__all__ = ["MaxMarginIRL", "min_norm_convex_combination"]


def min_norm_convex_combination(points):
    """Simplex weights whose combination of ``points`` has the smallest Euclidean norm.

    Solves ``min ||sum_j lambda_j x_j||_2`` over ``lambda_j >= 0, sum_j lambda_j = 1``
    exactly, with the Lawson-Hanson active-set NNLS (a finite algorithm).

    Parameters
    ----------
    points : array-like of shape (n_points, n_features)

    Returns
    -------
    weights : ndarray of shape (n_points,)
        On the probability simplex.
    point : ndarray of shape (n_features,)
        The minimum-norm point ``weights @ points`` of the convex hull.

    Notes
    -----
    For ``u = s * lambda`` with ``s >= 0`` and ``lambda`` on the simplex, the NNLS objective
    ``||X^T u||^2 + c^2 (1^T u - 1)^2`` equals ``s^2 q + c^2 (s - 1)^2`` with
    ``q = ||X^T lambda||^2``; minimising over ``s`` leaves ``c^2 q / (q + c^2)``, which is
    increasing in ``q``. So ``lambda = u / sum(u)`` minimises ``q`` over the simplex. ``c``
    is set to the largest coordinate of the points, which keeps the system well scaled.

    Examples
    --------
    >>> from sklirl.irl._max_margin import min_norm_convex_combination
    >>> weights, point = min_norm_convex_combination([[1.0, 1.0], [1.0, -1.0]])
    >>> weights.round(6).tolist(), point.round(6).tolist()
    ([0.5, 0.5], [1.0, 0.0])
    """
    X = np.asarray(points, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0 or not np.all(np.isfinite(X)):
        raise ValueError(
            f"points must be a finite, non-empty (n_points, n_features) array, got shape "
            f"{X.shape}."
        )
    # Repeated points (the same policy found twice) make the weights non-unique; solve on the
    # distinct points and give each one's weight to its first occurrence, so the answer is
    # deterministic.
    _, first = np.unique(X, axis=0, return_index=True)
    first = np.sort(first)
    U = X[first]
    weights = np.zeros(X.shape[0])
    scale = np.abs(U).max()
    if len(U) == 1 or scale == 0:
        weights[first[0]] = 1.0
        return weights, X[first[0]].copy()
    E = np.vstack([U.T / scale, np.ones((1, len(U)))])
    f = np.zeros(E.shape[0])
    f[-1] = 1.0
    u, _ = nnls(E, f, maxiter=50 * E.shape[1] + 100)
    weights[first] = u / u.sum()  # u != 0: a small multiple of any e_j beats u = 0
    return weights, weights @ X


def _canonical_order(demos, sample_weight):
    """Sort the demos (and their weights) by content.

    ``rho_E`` is then bitwise independent of the demo order: otherwise rounding-level
    differences in it can flip exact ties between actions in a hard-max planner, and another
    (equally optimal) policy would enter the mixture.
    """
    keys = [(len(t), t.states.tobytes(), t.actions.tobytes(), t.terminal) for t in demos]
    order = sorted(range(len(demos)), key=keys.__getitem__)
    weights = None if sample_weight is None else np.asarray(sample_weight)[order]
    return [demos[i] for i in order], weights


def _ml_smoothing(policy, demos, sample_weight=None):
    """Maximum-likelihood weight ``alpha`` of the uniform policy in ``(1 - alpha) pi + alpha U``.

    ``f(alpha) = sum_t w_t log((1 - alpha) p_t + alpha / A)`` over the demos' steps (``p_t``
    the probability ``pi`` gives the demonstrated action) is concave in ``alpha``; its
    maximiser is found by bisection on ``f'``, and floored at ``1 / (n + 2)`` (Laplace's rule
    of succession, ``n`` the number of steps) so that a policy that explains every training
    step still gives held-out actions it never takes a finite log-likelihood.
    """
    s = np.concatenate([t.states[: len(t)] for t in demos])
    a = np.concatenate([t.actions for t in demos])
    steps = np.concatenate([np.arange(len(t)) for t in demos])
    p = np.exp(policy.log_prob(s, a, t=steps))
    weights = (np.ones(len(demos)) if sample_weight is None
               else np.asarray(sample_weight, dtype=np.float64))
    w = np.repeat(weights, [len(t) for t in demos])
    u = 1.0 / policy.n_actions
    floor = 1.0 / (len(p) + 2.0)

    def slope(alpha):
        return float(np.sum(w * (u - p) / ((1.0 - alpha) * p + alpha * u)))

    if slope(floor) <= 0:
        return floor
    if slope(1.0) >= 0:
        return 1.0
    lo, hi = floor, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if slope(mid) > 0 else (lo, mid)
    return 0.5 * (lo + hi)


def _smoothed(policy, alpha):
    """``(1 - alpha) pi + alpha U`` as a :class:`TabularPolicy`."""
    return TabularPolicy((1.0 - alpha) * policy.probs + alpha / policy.n_actions)


def _max_margin_step(rho_E, rhos):
    """Abbeel & Ng's QP: ``max t s.t. w . (rho_E - rho_j) >= t, ||w||_2 <= 1``.

    Returns ``(w, t)``; ``w`` is the unit direction of the min-norm point of the hull of
    ``{rho_E - rho_j}`` (zero when ``rho_E`` lies in the hull of the ``rho_j``).
    """
    points = rho_E[None, :] - np.asarray(rhos)
    _, z = min_norm_convex_combination(points)
    margin = float(np.linalg.norm(z))
    if margin <= 1e-12 * max(1.0, np.abs(points).max()):
        # rho_E is in the hull up to rounding; z's direction would be noise.
        return np.zeros_like(z), 0.0
    return z / margin, margin


def _projection_step(rho_bar, rho_new, rho_E):
    """Abbeel & Ng's projection: the point of the segment [rho_bar, rho_new] nearest rho_E.

    The paper projects onto the line; clipping the step to [0, 1] keeps ``rho_bar`` in the
    convex hull of the found policies (so it is a mixture's feature expectations) and keeps
    ``||rho_E - rho_bar||`` non-increasing. The two agree when the step is in [0, 1].
    """
    direction = rho_new - rho_bar
    denom = float(direction @ direction)
    if denom == 0.0:
        return rho_bar
    step = float(np.clip(direction @ (rho_E - rho_bar) / denom, 0.0, 1.0))
    return rho_bar + step * direction


class MaxMarginIRL(BaseIRL):
    """Apprenticeship learning via inverse RL (Abbeel & Ng 2004) and maximum margin planning.

    Finds a mixture of policies whose discounted feature expectations match the expert's
    ``rho_E = E[sum_t gamma^t phi(s_t)]``: each iteration picks the reward ``w . phi`` that
    separates ``rho_E`` from the feature expectations of all policies found so far by the
    largest margin, and adds the optimal policy for that reward.

    Parameters
    ----------
    method : {"max_margin", "projection", "mmp"}, default="max_margin"
        ``"max_margin"``: Abbeel & Ng's Algorithm 1, ``w`` from the max-margin QP over all
        policies so far. ``"projection"``: Abbeel & Ng's projection variant (no QP).
        ``"mmp"``: maximum margin planning (Ratliff et al. 2006), subgradient descent on the
        loss-augmented structured hinge loss; its output is one policy, not a mixture.
    features : transformer, default=None
        Reward feature map (a scikit-learn transformer on the env's state descriptors, see
        :mod:`sklirl.features`); ``OneHotStates()`` (one weight per state) when None.
        Gymnasium envs: a transformer fitted on the demos' observations ``(n, obs_dim)``;
        when None, ``[1, tanh(z)]`` with ``z`` the observations standardised on the demos
        (``obs_dim + 1`` features: the constant one rewards staying alive, the bounded
        others where the agent is).
    reward_input : {"state", "state_action"}, default="state"
        Tabular envs: what the feature map sees. ``"state"``: state descriptors, ``r(s)``.
        ``"state_action"``: the ``S * A`` rows of ``env.state_action_features`` (pair
        indices for :class:`~sklirl.features.OneHotStates`), ``r(s, a) = w . phi(s, a)``,
        and ``rho`` are state-action feature expectations.
    solver : object with ``solve(env, reward)``, default=None
        The planner for ``r = w . phi``; ``ValueIteration()`` when None. Gymnasium envs
        need a :class:`~sklirl.solvers.PPO` (its clone gets ``gamma``, and a seed from
        ``random_state`` when it has none), trained from scratch for each ``w``.
    expectation : object with ``occupancy(env, policy)``, default=None
        Estimator of the feature expectations of the found policies: ``ExactExpectation()``
        when None; ``MonteCarloExpectation`` generates data with the simulator instead
        (the only choice, and the default, for gymnasium envs).
    epsilon : float or None, default=None
        Stop when the margin ``t_i`` (max-margin), ``||rho_E - rho_bar||`` (projection) or the
        loss-augmented margin violation (mmp with ``l2=0``) is at most ``epsilon``; in the
        units of the feature expectations. None: ``1e-3 * M`` with ``M`` the visitation mass
        (``1 / (1 - gamma)``, or the horizon), a value accuracy of 0.1% of the largest
        value of a unit-norm reward. With the default exact planner max-margin and projection
        also stop when ``t_i`` is within ``epsilon`` of a certified lower bound on the
        distance from ``rho_E`` to every policy's feature expectations (see
        ``expert_distance_bound_``). mmp with ``l2 > 0`` has no such certificate and
        runs ``max_iter`` steps, keeping the iterate of smallest objective. With the default
        exact planner (``ValueIteration`` and ``ExactExpectation``) max-margin also stops,
        converged, when the new policy does not beat the current hull: ``t_i`` is then the
        best margin attainable (demos whose feature expectations no policy reaches exactly),
        even if it is above ``epsilon``.
    max_iter : int, default=100
        Maximum number of iterations (policies added, or subgradient steps for mmp).
    initial_policy : {"uniform", "random"}, array-like of shape (S, A) or TabularPolicy, \
default="uniform"
        ``pi_0``: the uniform random policy, a random deterministic policy (drawn with
        ``random_state``; for gymnasium envs an untrained, stochastic network), or a given
        policy (for gymnasium envs one with ``sample`` or ``predict``).
    loss : "unvisited", float or array-like of shape (S,) or (S, A), default="unvisited"
        mmp only: the per state-action loss ``l(s, a)`` added to the reward in
        loss-augmented planning. ``"unvisited"`` is 1 on the state-action pairs the demos
        never took (and 0 on the others); a float ``c`` is ``c`` times that; an array is
        used as is.
    learning_rate : float, default=1.0
        mmp only: step size ``learning_rate / sqrt(t)`` of iteration ``t``, applied to the
        subgradient divided by the occupancy mass (``1 / (1 - gamma)``, or the horizon), so
        that one value suits every discount.
    l2 : float, default=0.0
        mmp only: weight of the regulariser ``l2 / 2 * ||w||^2``.
    gamma : float, default=0.99
        Gymnasium envs only (tabular envs use ``env.gamma``): the discount of the feature
        expectations and of the PPO solver.
    random_state : int, RandomState instance or None, default=None
        Seeds ``initial_policy="random"``, and for gymnasium envs the solver and the Monte
        Carlo rollouts when those have no ``random_state`` of their own.
    verbose : int, default=0
        Print one line per iteration when positive.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        The reward weights. Max-margin and projection: of the unit-norm ``w_i`` tried, the
        one whose optimal policy ``pi_i`` has feature expectations closest to ``rho_E`` (the
        last ``w_i`` separates ``rho_E`` from the hull by a vanishing margin, so its
        direction carries little information); mmp: the iterate with the smallest objective.
    reward_ : ndarray of shape (S, A)
        The learned reward ``phi @ coef_``: the same for every action with
        ``reward_input="state"``, ``w . phi(s, a)`` with ``"state_action"`` (tabular envs;
        gymnasium envs: use :meth:`predict_reward` on observations).
    policy_ : TabularPolicy or EpisodeMixturePolicy
        Max-margin and projection: the mixture of ``policies_`` with weights
        ``mixture_weights_``, as the (stationary, or time-indexed for finite horizons)
        policy whose occupancy measure is the mixture's. mmp: the solver's policy for
        ``reward_``. Gymnasium envs: an :class:`EpisodeMixturePolicy`, which draws one
        component per episode (``predict`` uses the highest-weight component,
        ``predict_proba``, ``log_prob`` and ``score`` the per-state mixture).
    policies_ : list of policies
        ``pi_0, pi_1, ...`` (for mmp: the loss-augmented policies of each step).
    feature_expectations_ : ndarray of shape (n_policies, n_features)
        Their feature expectations ``rho_j`` as estimated by ``expectation``.
    expert_feature_expectations_ : ndarray of shape (n_features,)
        ``rho_E``, the demos' empirical discounted feature expectations.
    mixture_weights_ : ndarray of shape (n_policies,) or None
        ``lambda`` on the simplex minimising ``||rho_E - sum_j lambda_j rho_j||``; None for
        mmp.
    epsilon_ : float
        The stopping threshold used (``epsilon``, or ``1e-3 * M`` when None).
    expert_distance_bound_ : float
        Max-margin and projection with the exact planner: a certified lower bound on the
        distance from ``rho_E`` to the feature expectations of every policy,
        ``max_i w_i . (rho_E - rho_i)`` (0 when none is positive). Positive means no policy
        attains the demonstrations' ``rho_E`` (sampled demos): the fit then stops, without a
        warning, once the mixture is within ``epsilon_`` of this bound, i.e. at the best
        mixture up to ``epsilon_``. NaN with an approximate planner or Monte Carlo
        expectations, and for mmp.
    smoothing_ : float
        Tabular envs: the weight ``alpha`` of the uniform policy in the smoothed policy
        ``(1 - alpha) policy_ + alpha U`` that :meth:`score` uses, fitted by maximum
        likelihood on the training demos and at least ``1 / (n + 2)`` for ``n`` steps (see
        Notes).
    margins_ : ndarray of shape (n_iter_,)
        ``t_i`` per iteration: the QP's margin (max-margin), ``||rho_E - rho_bar_{i-1}||``
        (projection), or the loss-augmented margin violation (mmp).
    n_iter_ : int
        Iterations run.
    history_ : dict of ndarray
        Per iteration: ``"margin"`` (as ``margins_``), ``"gap"`` (distance from ``rho_E``
        to the convex hull of the policies found so far), ``"time"`` (seconds since the
        start of fit); for mmp ``"objective"`` and ``"step_size"`` too.
    features_, solver_, expectation_ : estimators
        The fitted clones of ``features``, ``solver`` and ``expectation``.
    env_ : TabularMDP
        The environment seen in fit.

    See Also
    --------
    MaxEntIRL : maximum-entropy IRL, a single stochastic policy instead of a mixture.

    Notes
    -----
    Max-margin step ``i`` solves ``max_{t, ||w||_2 <= 1} t`` subject to
    ``w . rho_E >= w . rho_j + t`` for ``j < i``. Its optimum is the minimum-norm point ``z``
    of the convex hull of ``{rho_E - rho_j}``: ``t = ||z||``, ``w = z / ||z||``. So ``t_i``
    is the distance from ``rho_E`` to the hull of the found policies' feature expectations,
    and the sequence of margins never increases. When the solver's new policy does not
    beat the current hull in the direction ``w`` (``w . rho_i <= w . rho_E - t_i``), no
    policy can, the margin cannot decrease any more, and the fit stops there.

    The projection variant sets ``w_i = rho_E - rho_bar_{i-1}`` and moves ``rho_bar`` to
    the point of the segment ``[rho_bar_{i-1}, rho_i]`` closest to ``rho_E``.

    On gymnasium envs ``rho`` is ``E[sum_t gamma^t phi(o_t)]`` over episodes (every
    feature 0 after the episode ends), ``rho_E`` the demos' mean and ``rho_i`` a Monte
    Carlo estimate; PPO maximises the reward ``w . phi(o_t)`` of the observation each
    action is taken in. The planner is approximate, so the fit runs until the margin is at
    most ``epsilon`` or ``max_iter`` policies, without the exact-planner early stop; the
    margins still never increase.

    Scoring: the mixture's components are deterministic, so ``policy_`` gives some
    demonstrated actions probability 0 and a log-likelihood of ``-inf``. :meth:`score`
    (tabular envs) therefore uses ``(1 - alpha) policy_ + alpha / A`` with ``alpha =
    smoothing_`` the maximiser of the training demos' likelihood (a concave problem in
    ``alpha``), floored at ``1 / (n + 2)`` like Laplace's rule of succession, so held-out
    scores are finite and ``GridSearchCV`` can compare parameters. ``predict_proba`` stays the
    unsmoothed mixture.

    Demos are finite: each trajectory's discounted counts are normalised to unit mass and
    rescaled to the model's visitation mass ``M`` before ``rho_E`` is formed (as in
    :class:`MaxEntIRL`), since cut demos have mass ``sum_{t<T} gamma^t < M``, which no
    policy attains.

    Maximum margin planning minimises
    ``max_pi (w . rho_pi + l . d_pi) - w . rho_E + l2 / 2 ||w||^2`` by subgradient descent:
    the subgradient ``rho_pi* - rho_E + l2 w`` needs the loss-augmented optimal policy
    ``pi*``, which the solver plans for the reward ``w . phi + l``.

    References
    ----------
    P. Abbeel and A. Y. Ng. Apprenticeship learning via inverse reinforcement learning.
    ICML 2004.

    N. D. Ratliff, J. A. Bagnell and M. A. Zinkevich. Maximum margin planning. ICML 2006.

    Examples
    --------
    >>> from sklirl import MaxMarginIRL
    >>> from sklirl.datasets import make_expert_demos
    >>> from sklirl.envs import GridWorld
    >>> env = GridWorld(4, gamma=0.9)
    >>> demos, expert = make_expert_demos(env, 20, horizon=60, temperature=0.01,
    ...                                   random_state=0)
    >>> irl = MaxMarginIRL(epsilon=0.1).fit(demos, env)
    >>> bool(irl.margins_[-1] <= irl.margins_[0])
    True
    >>> irl.predict([0]).item() in (1, 2)  # right or down, toward the rewarding corner
    True
    """

    _accepts_gymnasium = True

    _actions_reason = (
        "it fits its policy's smoothing to the demonstrated actions; "
        "MaxEntIRL(reward_input='state') learns a state reward from state-only "
        "demonstrations")

    _parameter_constraints: dict = {
        "method": [StrOptions({"max_margin", "projection", "mmp"})],
        "features": [None, HasMethods(["fit", "transform"])],
        "reward_input": [StrOptions({"state", "state_action"})],
        "solver": [None, HasMethods(["solve"])],
        "expectation": [None, HasMethods(["occupancy"])],
        "epsilon": [Interval(Real, 0, None, closed="left"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "initial_policy": [
            StrOptions({"uniform", "random"}), "array-like", HasMethods(["predict_proba"]),
        ],
        "loss": [StrOptions({"unvisited"}), Interval(Real, 0, None, closed="left"), "array-like"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "gamma": [GAMMA_INTERVAL],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        method="max_margin",
        *,
        features=None,
        reward_input="state",
        solver=None,
        expectation=None,
        epsilon=None,
        max_iter=100,
        initial_policy="uniform",
        loss="unvisited",
        learning_rate=1.0,
        l2=0.0,
        gamma=0.99,
        random_state=None,
        verbose=0,
    ):
        self.method = method
        self.features = features
        self.reward_input = reward_input
        self.solver = solver
        self.expectation = expectation
        self.epsilon = epsilon
        self.max_iter = max_iter
        self.initial_policy = initial_policy
        self.loss = loss
        self.learning_rate = learning_rate
        self.l2 = l2
        self.gamma = gamma
        self.random_state = random_state
        self.verbose = verbose

    # -- the algorithm ---------------------------------------------------------------------
    def _fit(self, demos, env, sample_weight):
        start = time.perf_counter()
        if not is_tabular_env(env):
            return self._fit_gymnasium(demos, env, sample_weight, start)
        phi = self._setup(env)

        # Expert feature expectations rho_E = 1/m sum_i sum_t gamma^t phi(s_t^(i)), each demo
        # normalised to the model's visitation mass: cut demos (sum_{t<T} gamma^t < M) would
        # otherwise put rho_E out of every policy's reach.
        demos, sample_weight = _canonical_order(demos, sample_weight)
        d_E = expert_occupancy(demos, env, sample_weight=sample_weight)
        rho_E = occupancy_feature_expectations(d_E, phi)
        self.expert_feature_expectations_ = rho_E
        self.epsilon_ = self._resolve_epsilon(occupancy_mass(env))
        if self.method == "mmp":
            self._fit_mmp(env, phi, rho_E, d_E, start)
            self.smoothing_ = _ml_smoothing(self.policy_, demos, sample_weight)
            return self

        # Pick pi_0 and compute rho_0.
        pi_0 = self._initial_tabular_policy(env)
        policies, rhos = self._apprenticeship_loop(
            rho_E,
            pi_0,
            self._policy_feature_expectations(env, pi_0, phi),
            plan=lambda w: self.solver_.solve(env, linear_reward(phi, w, env)),
            expect=lambda policy: self._policy_feature_expectations(env, policy, phi),
            start=start,
            # the "no policy beats the hull" stop is a proof only with an exact optimal planner
            # and exact feature expectations
            exact=(isinstance(self.solver_, ValueIteration)
                   and isinstance(self.expectation_, ExactExpectation)),
        )
        self.policy_ = self._mixture_policy(env, policies, self.mixture_weights_)
        self.reward_ = linear_reward(phi, self.coef_, env)
        self.smoothing_ = _ml_smoothing(self.policy_, demos, sample_weight)

    def _resolve_epsilon(self, mass):
        return 1e-3 * mass if self.epsilon is None else float(self.epsilon)

    def _apprenticeship_loop(self, rho_E, pi_0, rho_0, plan, expect, start, exact=True):
        """Steps 3 and 4 of the algorithm box, for any planner and expectation estimator.

        ``plan(w)`` returns the solver's policy for the reward ``w . phi``, ``expect(policy)``
        its feature expectations. ``exact=False`` (approximate planner and Monte Carlo
        expectations) runs to ``epsilon`` or ``max_iter`` without the early stop when the new
        policy does not beat the hull, which only an exact planner proves. Sets ``coef_``,
        ``policies_``, ``feature_expectations_``, ``mixture_weights_``, ``margins_``,
        ``n_iter_`` and ``history_``; returns the policies and their feature expectations.
        """
        policies, rhos = [pi_0], [rho_0]
        rho_bar = rho_0
        margins, gaps, times, directions = [], [], [], []
        # With an exact planner, w . (rho_E - rho_i) for the optimal pi_i of a unit w is a
        # lower bound on the distance from rho_E to every policy's feature expectations.
        bound = -np.inf
        converged = False
        progress = Progress(f"MaxMarginIRL:{self.method}", self.max_iter, self.verbose)
        for i in range(1, self.max_iter + 1):
            # w_i and t_i: the max-margin QP over rho_0..rho_{i-1}, or the projection step.
            if self.method == "max_margin":
                w_i, t_i = _max_margin_step(rho_E, rhos)
            else:
                if i > 1:
                    rho_bar = _projection_step(rho_bar, rhos[-1], rho_E)
                w_i = rho_E - rho_bar
                t_i = float(np.linalg.norm(w_i))
                w_i = w_i / t_i if t_i > 0 else w_i
            margins.append(t_i)
            gaps.append(t_i if self.method == "max_margin" else _max_margin_step(rho_E, rhos)[1])
            times.append(time.perf_counter() - start)
            progress.update(f"margin {t_i:.6g}")
            # Terminate if t_i <= epsilon.
            if t_i <= self.epsilon_:
                converged = True
                break
            # pi_i: the optimal policy for the reward r = w_i . phi.
            policy = plan(w_i)
            # rho_i: its feature expectations.
            rho_i = expect(policy)
            policies.append(policy)
            rhos.append(rho_i)
            directions.append(w_i)
            if exact:
                bound = max(bound, float(w_i @ (rho_E - rho_i)))
                # No policy beats the hull in direction w_i (bound = t_i: t_i is the best
                # margin reachable), or the hull is within epsilon of the best reachable.
                if bound >= t_i - max(self.epsilon_, 1e-12 * max(1.0, np.abs(rho_E).max())):
                    converged = True
                    break
        progress.close()
        if not converged:
            warn_user(
                f"MaxMarginIRL did not reach epsilon={self.epsilon_:.4g} in max_iter="
                f"{self.max_iter} iterations (last margin {margins[-1]:.4g}); increase "
                "max_iter or epsilon.",
                ConvergenceWarning,
            )

        # Output the mixture: lambda minimising ||rho_E - sum_j lambda_j rho_j||.
        rhos = np.asarray(rhos)
        weights, _ = min_norm_convex_combination(rho_E[None, :] - rhos)
        self.policies_ = policies
        self.feature_expectations_ = rhos
        self.mixture_weights_ = weights
        # The reported reward: of the rewards w_i tried, the one whose own optimal policy
        # pi_i comes closest to the expert's feature expectations (the last w_i only
        # separates rho_E from the hull by a vanishing margin: its direction is noise).
        if directions:
            closest = np.argmin(np.linalg.norm(rho_E[None, :] - rhos[1:], axis=1))
            self.coef_ = directions[closest]
        else:
            self.coef_ = np.zeros(len(rho_E))
        self.expert_distance_bound_ = max(bound, 0.0) if exact else np.nan
        self.margins_ = np.asarray(margins)
        self.n_iter_ = len(margins)
        self.history_ = {
            "margin": self.margins_, "gap": np.asarray(gaps), "time": np.asarray(times),
        }
        return policies, rhos

    def _fit_mmp(self, env, phi, rho_E, d_E, start):
        """Maximum margin planning: subgradient descent with loss-augmented planning."""
        loss = self._loss_table(env, d_E)
        mass = occupancy_mass(env)
        w = np.zeros(phi.shape[1])
        best = (np.inf, w)
        policies, rhos, margins, objectives, steps, gaps, times = [], [], [], [], [], [], []
        progress = Progress("MaxMarginIRL:mmp", self.max_iter, self.verbose)
        for t in range(1, self.max_iter + 1):
            # Loss-augmented planning: pi* = argmax_pi w . rho_pi + l . d_pi.
            reward = linear_reward(phi, w, env)
            reward = (reward if reward.ndim == 2 else reward[:, None]) + loss
            policy = self.solver_.solve(env, reward)
            d_pi = self.expectation_.occupancy(env, policy)
            rho_pi = occupancy_features(d_pi, phi)
            violation = float(w @ (rho_pi - rho_E) + np.sum(loss * d_pi))
            objective = violation + 0.5 * self.l2 * float(w @ w)
            policies.append(policy)
            rhos.append(rho_pi)
            margins.append(violation)
            objectives.append(objective)
            gaps.append(float(np.linalg.norm(rho_E - rho_pi)))
            times.append(time.perf_counter() - start)
            if objective < best[0]:
                best = (objective, w.copy())
            progress.update(f"violation {violation:.6g}, objective {objective:.6g}")
            # With l2 = 0 the objective is the violation, whose minimum is 0 when the expert is
            # attainable, so violation <= epsilon certifies an epsilon-optimal w. With l2 > 0
            # there is no such certificate: run max_iter steps and keep the best iterate.
            if self.l2 == 0 and violation <= self.epsilon_:
                steps.append(0.0)
                break
            # Subgradient step with diminishing step size.
            step = self.learning_rate / (mass * np.sqrt(t))
            steps.append(step)
            w = w - step * (rho_pi - rho_E + self.l2 * w)
        else:
            if self.l2 == 0:
                warn_user(
                    f"MaxMarginIRL (mmp) did not reach a margin violation <= epsilon="
                    f"{self.epsilon_:.4g} in max_iter={self.max_iter} subgradient steps (smallest "
                    f"{min(margins):.4g}); increase max_iter or learning_rate, or epsilon.",
                    ConvergenceWarning,
                )
        progress.close()
        self.coef_ = best[1]
        self.reward_ = linear_reward(phi, self.coef_, env)
        self.policy_ = self.solver_.solve(env, self.reward_)
        self.policies_ = policies
        self.feature_expectations_ = np.asarray(rhos)
        self.mixture_weights_ = None
        self.margins_ = np.asarray(margins)
        self.n_iter_ = len(margins)
        self.history_ = {
            "margin": self.margins_, "objective": np.asarray(objectives),
            "step_size": np.asarray(steps), "gap": np.asarray(gaps), "time": np.asarray(times),
        }

    def _fit_gymnasium(self, demos, env, sample_weight, start):
        """Apprenticeship learning in a gymnasium env: PPO plans, Monte Carlo rollouts expect."""

        import_torch("MaxMarginIRL on gymnasium environments")
        if self.method == "mmp":
            raise ValueError(
                "method='mmp' needs a TabularMDP; use 'max_margin' or 'projection' with "
                "gymnasium environments."
            )
        if self.reward_input != "state":
            raise ValueError(
                "reward_input='state_action' needs a TabularMDP (its state_action_features); "
                "on gymnasium envs MaxMarginIRL's reward is a function of the observation."
            )
        from ..policies import TorchPolicy
        from ..solvers import PPO
        from ..utils._torch import torch_threads

        if not isinstance(self.solver, PPO):
            raise TypeError(
                "MaxMarginIRL on a gymnasium env needs solver=sklirl.solvers.PPO(...), got "
                f"{type(self.solver).__name__ if self.solver is not None else None}."
            )
        if self.expectation is not None and not isinstance(
            self.expectation, MonteCarloExpectation
        ):
            raise TypeError(
                "MaxMarginIRL on a gymnasium env estimates feature expectations by simulation: "
                "expectation must be None or a MonteCarloExpectation, got "
                f"{type(self.expectation).__name__}."
            )
        rng = check_random_state(self.random_state)
        encoder = SpaceEncoder(env.observation_space, env.action_space)
        self._encoder = encoder
        obs_E, _, _ = encoder.demo_arrays(demos, None)  # validates the demos' observations
        gamma = float(self.gamma)

        # The reward features, fitted on the demos' observations.
        features = _defaultobservation_features() if self.features is None else self.features
        self.features_ = clone(features).fit(obs_E.reshape(len(obs_E), -1))
        self.solver_ = clone(self.solver).set_params(gamma=gamma)
        if self.solver_.random_state is None:
            self.solver_.set_params(random_state=int(rng.randint(MAX_SEED)))
        self.expectation_ = (
            MonteCarloExpectation() if self.expectation is None else clone(self.expectation)
        )
        if self.expectation_.random_state is None:
            self.expectation_.set_params(random_state=int(rng.randint(MAX_SEED)))

        # Expert feature expectations rho_E = 1/m sum_i sum_t gamma^t phi(o_t^(i)).
        rho_E = feature_expectations(demos, self.features_, gamma, sample_weight=sample_weight)
        self.expert_feature_expectations_ = rho_E
        self.epsilon_ = self._resolve_epsilon(
            1.0 / (1.0 - gamma) if gamma < 1 else max(1.0, float(np.abs(rho_E).sum())))

        def expect(policy):
            return self.expectation_.feature_expectations(env, policy, self.features_,
                                                          gamma=gamma)

        def plan(w):
            def reward(observations, actions, next_observations):
                return observation_features(self.features_, observations) @ w

            return self.solver_.solve(env, reward)

        # Pick pi_0 and compute rho_0.
        init = self.initial_policy
        if isinstance(init, str) and init == "uniform":
            pi_0 = UniformPolicy(env.observation_space, env.action_space)
        elif isinstance(init, str):  # "random": an untrained network
            pi_0 = TorchPolicy(env.observation_space, env.action_space,
                               random_state=int(rng.randint(MAX_SEED)))
        elif hasattr(init, "sample") or hasattr(init, "predict"):
            pi_0 = init
        else:
            raise ValueError(
                "initial_policy for a gymnasium env must be 'uniform', 'random' or a policy "
                f"with sample(observations, random_state), got {type(init).__name__}."
            )
        with torch_threads(1):  # small networks: intra-op threads only add overhead
            policies, _ = self._apprenticeship_loop(
                rho_E, pi_0, expect(pi_0), plan=plan, expect=expect, start=start, exact=False
            )
        self.policy_ = EpisodeMixturePolicy(policies, self.mixture_weights_)
        return self

    # -- gymnasium prediction ---------------------------------------------------------------
    def _is_tabular_fit(self):
        return is_tabular_env(self.env_)

    def predict_reward(self, states, actions=None):
        """The learned reward: per state (tabular envs), or ``coef_ . phi(o)`` (gymnasium).

        Parameters
        ----------
        states : array-like
            State indices (tabular envs) or observations ``(n, *obs_shape)``.
        actions : array-like of shape (n,), default=None
            Tabular envs only; the gymnasium reward depends on the observation only.

        Returns
        -------
        rewards : ndarray of shape (n, A) (tabular, without actions) or (n,)
        """
        check_is_fitted(self)
        if self._is_tabular_fit():
            return super().predict_reward(states, actions)
        obs = self._encoder.check_observations(states)
        return observation_features(self.features_, obs) @ self.coef_

    def predict_proba(self, states):
        """Action probabilities ``(n, A)``; gymnasium envs: the mixture's per-state mean.

        Parameters
        ----------
        states : array-like
            State indices of the tabular env seen in ``fit``, shape ``(n,)``, or
            observations ``(n, *obs_shape)`` of the gymnasium env (Discrete action spaces);
            one state or observation gives one row.

        Returns
        -------
        probs : ndarray of shape (n, A), or (A,) for one state
            The mixture's probabilities: ``sum_j lambda_j pi_j(a | s)``. Its components are
            deterministic, so actions none of them takes have probability 0 (``score``
            smooths them, see Notes).
        """
        check_is_fitted(self)
        if self._is_tabular_fit():
            return super().predict_proba(states)
        obs, single = self._encoder.check_one_or_batch(states)
        proba = self.policy_.predict_proba(obs)
        return proba[0] if single else proba

    def predict(self, states):
        """The learned policy's action; gymnasium envs: see :class:`EpisodeMixturePolicy`.

        Parameters
        ----------
        states : array-like
            State indices of the tabular env seen in ``fit``, shape ``(n,)``, or
            observations ``(n, *obs_shape)`` of the gymnasium env; one state or observation
            gives one action (``env.step(irl.predict(obs))``).

        Returns
        -------
        actions : ndarray of shape (n,) or (n, *action_shape), or one action
            Tabular envs: the most probable action of the mixture in each state. Gymnasium
            envs: the action of the highest-weight component.
        """
        check_is_fitted(self)
        if self._is_tabular_fit():
            return super().predict(states)
        obs, single = self._encoder.check_one_or_batch(states)
        actions = self.policy_.act(obs, deterministic=True)
        return actions[0] if single else actions

    def _mean_log_likelihood(self, policy, demos):
        # Tabular fits score under the smoothed policy (1 - smoothing_) pi + smoothing_ U:
        # the mixture's deterministic components give some expert actions probability 0.
        if isinstance(policy, TabularPolicy):
            policy = _smoothed(policy, self.smoothing_)
        return super()._mean_log_likelihood(policy, demos)

    def _score_samples_mean(self, policy, demos):
        obs, acts, _ = self._encoder.demo_arrays(demos, None)
        return float(np.mean(policy.log_prob(obs, acts)))

    # -- pieces ------------------------------------------------------------------------------
    def _setup(self, env):
        """Clone the sub-estimators and return the feature matrix phi (S, k)."""
        phi = self._fit_feature_map(env)
        self.solver_ = ValueIteration() if self.solver is None else clone(self.solver)
        self.expectation_ = (
            ExactExpectation() if self.expectation is None else clone(self.expectation)
        )
        return phi

    def _policy_feature_expectations(self, env, policy, phi):
        return occupancy_features(self.expectation_.occupancy(env, policy), phi)

    def _initial_tabular_policy(self, env):
        S, A = env.n_states, env.n_actions
        init = self.initial_policy
        if isinstance(init, str) and init == "uniform":
            return TabularPolicy(np.full((S, A), 1.0 / A))
        if isinstance(init, str) and init == "random":
            rng = check_random_state(self.random_state)
            return TabularPolicy(np.eye(A)[rng.randint(A, size=S)])
        policy = init if isinstance(init, TabularPolicy) else None
        if policy is None:
            try:
                policy = TabularPolicy(init)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"initial_policy is not a valid policy: {exc}") from None
        if policy.probs.shape[-2:] != (S, A):
            raise ValueError(
                f"initial_policy has shape {policy.probs.shape}; expected (S, A) = ({S}, {A})."
            )
        return policy

    def _mixture_policy(self, env, policies, weights):
        """The policy whose occupancy measure is ``sum_j weights_j d_{pi_j}``.

        Uses the exact occupancies of the components (the model is known), per time step for
        finite horizons, so the identity holds whatever estimator produced the weights.
        """
        keep = np.flatnonzero(weights > 0)
        if len(keep) == 1:
            return policies[keep[0]]
        per_step = env.finite_horizon
        mixed = sum(
            weights[j] * occupancy_measure(env, policies[j], per_step=per_step) for j in keep
        )
        if not per_step:
            return policy_from_occupancy(mixed)
        return TabularPolicy(np.stack([policy_from_occupancy(d_t).probs for d_t in mixed]))

    def _loss_table(self, env, d_E):
        S, A = env.n_states, env.n_actions
        loss = self.loss
        if isinstance(loss, str) or np.ndim(loss) == 0:
            scale = 1.0 if isinstance(loss, str) else float(loss)
            return scale * (d_E <= 0).astype(np.float64)
        table = np.asarray(loss, dtype=np.float64)
        if table.shape == (S,):
            table = np.repeat(table[:, None], A, axis=1)
        if table.shape != (S, A) or not np.all(np.isfinite(table)):
            raise ValueError(
                f"loss must be 'unvisited', a float, or a finite array of shape ({S},) or "
                f"({S}, {A}); got shape {table.shape}."
            )
        return table

    def _transfer_policy(self, env):
        """Re-plan the learned reward ``coef_ . phi`` in another tabular env."""
        if not self._is_tabular_fit():
            if not is_tabular_env(env) and (env.observation_space, env.action_space) == (
                self.env_.observation_space, self.env_.action_space
            ):
                return self.policy_  # another instance of the fit env's gymnasium task
            raise ValueError(
                "MaxMarginIRL fitted on a gymnasium env scores only on envs with its "
                "observation and action spaces."
            )
        if not is_tabular_env(env):
            raise ValueError(
                "MaxMarginIRL fitted on a TabularMDP scores only on TabularMDPs; re-planning "
                "in a gymnasium env is not supported."
            )
        return self.solver_.solve(env, self.transfer_reward(env))

    def transfer_reward(self, env):
        """The learned reward ``coef_ . phi(s)`` on the states of another tabular env.

        Parameters
        ----------
        env : TabularMDP
            An env whose state descriptors the fitted feature map can transform.

        Returns
        -------
        reward : ndarray of shape (env.n_states, env.n_actions)
        """
        check_is_fitted(self)
        if not self._is_tabular_fit() or not is_tabular_env(env):
            raise ValueError("transfer_reward needs a MaxMarginIRL fitted on a TabularMDP and "
                             "a TabularMDP.")
        return linear_reward(self._feature_matrix(env), self.coef_, env)


def _defaultobservation_features():
    """``[1, tanh(z)]``, ``z`` the observation standardised on the demos: the default
    reward features for gymnasium envs (``obs_dim + 1`` of them).

    The constant feature lets the reward value being alive (after ``terminated`` every
    feature is 0), which is what separates a balancing expert from an early-failing policy
    in episodic tasks such as CartPole. The ``tanh`` bounds the others: standardised on an
    expert that stays near its set point, raw coordinates reach tens of standard deviations
    in the states other policies visit, and a linear reward in them would pay for leaving
    the expert's region instead of for staying alive.
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, PolynomialFeatures, StandardScaler

    return make_pipeline(
        StandardScaler(), FunctionTransformer(np.tanh), PolynomialFeatures(1, include_bias=True)
    )
