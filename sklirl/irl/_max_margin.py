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
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import nnls
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..base import BaseIRL
from ..expectations import (
    ExactExpectation,
    empirical_occupancy,
    occupancy_feature_expectations,
    occupancy_measure,
    policy_from_occupancy,
)
from ..features import OneHotStates, fit_feature_matrix
from ..solvers._tabular import TabularPolicy, ValueIteration

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
    keys = [(len(t), t.states.tobytes(), t.actions.tobytes()) for t in demos]
    order = sorted(range(len(demos)), key=keys.__getitem__)
    weights = None if sample_weight is None else np.asarray(sample_weight)[order]
    return [demos[i] for i in order], weights


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
    solver : object with ``solve(env, reward)``, default=None
        The planner for ``r = w . phi``; ``ValueIteration()`` when None.
    expectation : object with ``occupancy(env, policy)``, default=None
        Estimator of the feature expectations of the found policies: ``ExactExpectation()``
        when None; ``MonteCarloExpectation`` generates data with the simulator instead.
    epsilon : float, default=1e-3
        Stop when the margin ``t_i`` (max-margin), ``||rho_E - rho_bar||`` (projection) or the
        loss-augmented margin violation (mmp) is at most ``epsilon``; in the units of the
        feature expectations.
    max_iter : int, default=50
        Maximum number of iterations (policies added, or subgradient steps for mmp).
    initial_policy : {"uniform", "random"}, array-like of shape (S, A) or TabularPolicy, \
default="uniform"
        ``pi_0``: the uniform random policy, a random deterministic policy (drawn with
        ``random_state``), or a given policy.
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
    random_state : int, RandomState instance or None, default=None
        Seeds ``initial_policy="random"``.
    verbose : int, default=0
        Print one line per iteration when positive.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        ``w`` of the last iteration (unit norm for max-margin and projection), the reward
        weights; for mmp the iterate with the smallest objective.
    reward_ : ndarray of shape (S,)
        The learned reward ``phi @ coef_``.
    policy_ : TabularPolicy
        Max-margin and projection: the mixture of ``policies_`` with weights
        ``mixture_weights_``, as the (stationary, or time-indexed for finite horizons)
        policy whose occupancy measure is the mixture's. mmp: the solver's policy for
        ``reward_``.
    policies_ : list of policies
        ``pi_0, pi_1, ...`` (for mmp: the loss-augmented policies of each step).
    feature_expectations_ : ndarray of shape (n_policies, n_features)
        Their feature expectations ``rho_j`` as estimated by ``expectation``.
    expert_feature_expectations_ : ndarray of shape (n_features,)
        ``rho_E``, the demos' empirical discounted feature expectations.
    mixture_weights_ : ndarray of shape (n_policies,) or None
        ``lambda`` on the simplex minimising ``||rho_E - sum_j lambda_j rho_j||``; None for
        mmp.
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

    _parameter_constraints: dict = {
        "method": [StrOptions({"max_margin", "projection", "mmp"})],
        "features": [None, HasMethods(["fit", "transform"])],
        "solver": [None, HasMethods(["solve"])],
        "expectation": [None, HasMethods(["occupancy"])],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "initial_policy": [
            StrOptions({"uniform", "random"}), "array-like", HasMethods(["predict_proba"]),
        ],
        "loss": [StrOptions({"unvisited"}), Interval(Real, 0, None, closed="left"), "array-like"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        method="max_margin",
        *,
        features=None,
        solver=None,
        expectation=None,
        epsilon=1e-3,
        max_iter=50,
        initial_policy="uniform",
        loss="unvisited",
        learning_rate=1.0,
        l2=0.0,
        random_state=None,
        verbose=0,
    ):
        self.method = method
        self.features = features
        self.solver = solver
        self.expectation = expectation
        self.epsilon = epsilon
        self.max_iter = max_iter
        self.initial_policy = initial_policy
        self.loss = loss
        self.learning_rate = learning_rate
        self.l2 = l2
        self.random_state = random_state
        self.verbose = verbose

    # -- the algorithm ---------------------------------------------------------------------
    def _fit(self, demos, env, sample_weight):
        start = time.perf_counter()
        phi = self._setup(env)

        # Expert feature expectations rho_E = 1/m sum_i sum_t gamma^t phi(s_t^(i)).
        demos, sample_weight = _canonical_order(demos, sample_weight)
        d_E = empirical_occupancy(demos, env.n_states, env.n_actions, env.gamma, sample_weight)
        rho_E = occupancy_feature_expectations(d_E, phi)
        self.expert_feature_expectations_ = rho_E
        if self.method == "mmp":
            return self._fit_mmp(env, phi, rho_E, d_E, start)

        # Pick pi_0 and compute rho_0.
        policies = [self._initial_tabular_policy(env)]
        rhos = [self._policy_feature_expectations(env, policies[0], phi)]
        rho_bar = rhos[0]
        margins, gaps, times = [], [], []
        w, converged = None, False
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
            if t_i > 0:
                w = w_i
            margins.append(t_i)
            gaps.append(t_i if self.method == "max_margin" else _max_margin_step(rho_E, rhos)[1])
            times.append(time.perf_counter() - start)
            self._log(f"iteration {i}: margin {t_i:.6g}")
            # Terminate if t_i <= epsilon.
            if t_i <= self.epsilon:
                converged = True
                break
            # pi_i: the optimal policy for the reward r = w_i . phi.
            policy = self.solver_.solve(env, self._reward(phi, w_i))
            # rho_i: its feature expectations.
            rho_i = self._policy_feature_expectations(env, policy, phi)
            policies.append(policy)
            rhos.append(rho_i)
            if w_i @ (rho_E - rho_i) >= t_i - 1e-12 * max(1.0, np.abs(rho_E).max()):
                # No policy beats the hull in direction w_i: t_i is the best margin reachable.
                converged = True
                break
        if not converged:
            warnings.warn(
                f"MaxMarginIRL did not reach epsilon={self.epsilon} in max_iter="
                f"{self.max_iter} iterations (last margin {margins[-1]:.4g}); increase "
                "max_iter or epsilon.",
                ConvergenceWarning,
                stacklevel=3,
            )

        # Output the mixture: lambda minimising ||rho_E - sum_j lambda_j rho_j||.
        rhos = np.asarray(rhos)
        weights, _ = min_norm_convex_combination(rho_E[None, :] - rhos)
        self.policies_ = policies
        self.feature_expectations_ = rhos
        self.mixture_weights_ = weights
        self.policy_ = self._mixture_policy(env, policies, weights)
        self.coef_ = w if w is not None else np.zeros(phi.shape[1])
        self.reward_ = self._reward(phi, self.coef_)
        self.margins_ = np.asarray(margins)
        self.n_iter_ = len(margins)
        self.history_ = {
            "margin": self.margins_, "gap": np.asarray(gaps), "time": np.asarray(times),
        }

    def _fit_mmp(self, env, phi, rho_E, d_E, start):
        """Maximum margin planning: subgradient descent with loss-augmented planning."""
        loss = self._loss_table(env, d_E)
        mass = self._occupancy_mass(env)
        w = np.zeros(phi.shape[1])
        best = (np.inf, w)
        policies, rhos, margins, objectives, steps, gaps, times = [], [], [], [], [], [], []
        for t in range(1, self.max_iter + 1):
            # Loss-augmented planning: pi* = argmax_pi w . rho_pi + l . d_pi.
            reward = self._reward(phi, w)[:, None] + loss
            policy = self.solver_.solve(env, reward)
            d_pi = self.expectation_.occupancy(env, policy)
            rho_pi = occupancy_feature_expectations(d_pi, phi)
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
            self._log(f"iteration {t}: violation {violation:.6g}, objective {objective:.6g}")
            if violation <= self.epsilon:
                steps.append(0.0)
                break
            # Subgradient step with diminishing step size.
            step = self.learning_rate / (mass * np.sqrt(t))
            steps.append(step)
            w = w - step * (rho_pi - rho_E + self.l2 * w)
        self.coef_ = best[1]
        self.reward_ = self._reward(phi, self.coef_)
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

    # -- pieces ------------------------------------------------------------------------------
    def _setup(self, env):
        """Clone the sub-estimators and return the feature matrix phi (S, k)."""
        features = OneHotStates() if self.features is None else self.features
        self.features_, phi = fit_feature_matrix(features, env)
        self.solver_ = ValueIteration() if self.solver is None else clone(self.solver)
        self.expectation_ = (
            ExactExpectation() if self.expectation is None else clone(self.expectation)
        )
        return phi

    @staticmethod
    def _reward(phi, w):
        return np.asarray(phi @ w).ravel()

    def _policy_feature_expectations(self, env, policy, phi):
        return occupancy_feature_expectations(self.expectation_.occupancy(env, policy), phi)

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

    @staticmethod
    def _occupancy_mass(env):
        if env.finite_horizon:
            return float(np.sum(env.gamma ** np.arange(env.horizon)))
        return 1.0 / (1.0 - env.gamma)

    def _log(self, message):
        if self.verbose:
            print(f"[MaxMarginIRL:{self.method}] {message}")

    def _transfer_policy(self, env):
        """Re-plan the learned reward ``coef_ . phi`` in another tabular env."""
        phi = self._feature_matrix(env)
        return self.solver_.solve(env, self._reward(phi, self.coef_))
