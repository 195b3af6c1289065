"""MaxEnt IRL with its penalty strength chosen by cross-validated held-out likelihood."""

from __future__ import annotations

import time
import warnings
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Interval

from ..demos import check_sample_weight
from ._max_ent import MaxEntIRL

__all__ = ["MaxEntIRLCV"]


def _fit_path(estimator, l2s, demos, env, train, test, sample_weight):
    """Fit one fold along the strength path (strongest first, warm started); score each.

    Returns the held-out mean per-step log-likelihoods and the fit times, one per strength.
    """
    train_demos = [demos[i] for i in train]
    test_demos = [demos[i] for i in test]
    sw_train = None if sample_weight is None else sample_weight[train]
    sw_test = None if sample_weight is None else sample_weight[test]
    scores, times = np.empty(len(l2s)), np.empty(len(l2s))
    for j, l2 in enumerate(l2s):
        start = time.perf_counter()
        # warm_start=True: each fit starts from the previous (stronger) strength's optimum,
        # which is close, so the path costs a few fits instead of len(l2s)
        with warnings.catch_warnings():
            # a weak strength that stops short of tol on a fold is scored as it is; the
            # refit at the chosen strength still warns
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.set_params(l2=float(l2)).fit(train_demos, env=env,
                                                   sample_weight=sw_train)
        times[j] = time.perf_counter() - start
        scores[j] = estimator.score(test_demos, env=env, sample_weight=sw_test)
    return scores, times


class MaxEntIRLCV(MaxEntIRL):
    """Maximum-entropy IRL with the L2 strength chosen by cross-validation.

    The ``LogisticRegressionCV`` of IRL: for each cross-validation fold of the
    demonstrations it fits :class:`MaxEntIRL` along a path of strengths ``l2s`` (strongest
    first, each fit warm started from the previous optimum), scores the held-out demos by
    their mean per-step log-likelihood (:meth:`MaxEntIRL.score`), picks the strength with the
    best mean score over the folds (ties go to the stronger penalty), and refits on all the
    demonstrations at that strength. Everything a fitted :class:`MaxEntIRL` offers
    (``reward_``, ``policy_``, ``coef_cov_``, ``predict_reward(..., return_std=True)``, ...)
    is then available. Read more in :ref:`maxent_cv`.

    Parameters
    ----------
    features : transformer, default=None
        As in :class:`MaxEntIRL`.
    reward_input : {"state", "state_action"}, default="state"
        As in :class:`MaxEntIRL`: a reward of states, or ``r(s, a) = w . phi(s, a)``.
    l2s : int or array-like of float, default=10
        The strengths to try: an int ``m`` gives ``m`` values log-spaced in ``[1e-2, 1e4]``;
        an array gives them explicitly (non-negative; tried from the largest down).
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn (``None``: 5-fold); the folds split the list of demonstrations,
        so ``GroupKFold`` with ``groups`` keeps related demos (one demonstrator, one day)
        together.
    n_jobs : int, default=None
        Folds fitted in parallel (joblib; ``None`` means 1 unless in a
        ``joblib.parallel_config`` context).
    reward_model, hidden_layer_sizes, weight_decay, optimizer, learning_rate, max_iter, \
tol, initial_distribution, random_state, solver, verbose
        As in :class:`MaxEntIRL`.

    Attributes
    ----------
    l2_ : float
        The strength chosen.
    l2s_ : ndarray of shape (n_l2s,)
        The strengths tried, in decreasing order.
    scores_ : ndarray of shape (n_folds, n_l2s)
        Held-out mean per-step log-likelihood of each fold at each strength.
    cv_results_ : dict of ndarray
        ``GridSearchCV``-style: ``"param_l2"``, ``"params"``, ``"split{k}_test_score"``,
        ``"mean_test_score"``, ``"std_test_score"``, ``"rank_test_score"``,
        ``"mean_fit_time"`` (seconds per fit at that strength, over the folds).
    best_index_ : int
        Index of ``l2_`` in ``l2s_``.
    best_score_ : float
        Its mean held-out score.
    coef_, reward_, policy_, coef_cov_, n_steps_, n_iter_, history_, features_, env_
        Of the refit on all demonstrations at ``l2_``, as in :class:`MaxEntIRL`.

    See Also
    --------
    MaxEntIRL : the estimator fitted along the path.
    sklearn.linear_model.LogisticRegressionCV : the same idea for classification.

    Notes
    -----
    The penalty acts on the summed negative log-likelihood (see :class:`MaxEntIRL`), so a
    strength chosen on training folds of ``(K - 1) / K`` of the demos means slightly less
    regularisation per step on the full set, as it should for consistent regularisation.

    Examples
    --------
    >>> from sklirl import MaxEntIRLCV
    >>> from sklirl.datasets import make_expert_demos
    >>> from sklirl.envs import GridWorld
    >>> env = GridWorld(3, gamma=0.9)
    >>> demos, _ = make_expert_demos(env, 12, horizon=10, random_state=0)
    >>> est = MaxEntIRLCV(l2s=[10.0, 1.0, 0.1], cv=3).fit(demos, env)
    >>> est.scores_.shape
    (3, 3)
    >>> bool(est.l2_ in est.l2s_), bool(est.best_score_ > -1.386)
    (True, True)
    """

    # MaxEntIRL's constraints for the parameters shared with it (set below the class)
    _parameter_constraints: dict = {
        "l2s": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "cv": ["cv_object"],
        "n_jobs": [Integral, None],
    }

    # The refit on all demos starts cold; warm starts happen along each fold's path.
    warm_start = False

    def __init__(
        self,
        features=None,
        *,
        reward_input="state",
        l2s=10,
        cv=None,
        n_jobs=None,
        reward_model="linear",
        hidden_layer_sizes=(32, 32),
        weight_decay=0.0,
        optimizer="lbfgs",
        learning_rate=None,
        max_iter=200,
        tol=1e-5,
        initial_distribution="env",
        random_state=None,
        solver=None,
        verbose=0,
    ):
        self.features = features
        self.reward_input = reward_input
        self.l2s = l2s
        self.cv = cv
        self.n_jobs = n_jobs
        self.reward_model = reward_model
        self.hidden_layer_sizes = hidden_layer_sizes
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.initial_distribution = initial_distribution
        self.random_state = random_state
        self.solver = solver
        self.verbose = verbose

    def _l2_strength(self):
        return self.l2_

    def _needs_actions(self):
        return ("MaxEntIRLCV chooses l2 by the held-out log-likelihood of the demonstrated "
                "actions; fit MaxEntIRL(reward_input='state') at a chosen l2 to learn from "
                "state-only demonstrations")

    def _l2_grid(self):
        if isinstance(self.l2s, Integral):
            return np.logspace(4, -1, int(self.l2s))
        grid = np.asarray(self.l2s, dtype=np.float64) if not isinstance(self.l2s, str) else None
        if grid is None or grid.ndim != 1 or grid.size == 0:
            raise ValueError(
                "l2s must be a positive int or a non-empty 1-D array of strengths, got "
                f"{self.l2s!r}.")
        if not np.all(np.isfinite(grid)) or (grid < 0).any():
            raise ValueError(f"l2s must be finite and non-negative, got {self.l2s!r}.")
        return np.unique(grid)[::-1]

    def _path_estimator(self):
        params = self.get_params(deep=False)
        shared = {k: v for k, v in params.items() if k in MaxEntIRL().get_params(deep=False)}
        return MaxEntIRL(**shared, warm_start=True)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, demos, y=None, *, env=None, sample_weight=None, groups=None):
        """Cross-validate the strength path, then refit on all demos at the best strength.

        Parameters
        ----------
        demos : list of trajectories
        y : TabularMDP or None
            The environment, when given positionally.
        env : TabularMDP, default=None
            The environment, as a keyword.
        sample_weight : array-like of shape (n_trajectories,), default=None
            Weights of the trajectories, in the fold fits, their scores and the refit.
        groups : array-like of shape (n_trajectories,), default=None
            Group labels for group-aware splitters (``GroupKFold``).

        Returns
        -------
        self : object
        """
        env = self._check_env(self._resolve_env(y, env))
        trajs = self._check_demos(demos, env)
        grid = self._l2_grid()
        if len(trajs) < 2:
            raise ValueError(
                f"MaxEntIRLCV needs at least 2 demonstrations to cross-validate, got "
                f"{len(trajs)}.")
        weights = None
        if sample_weight is not None:
            check_sample_weight(sample_weight, len(trajs))  # validates; the raw weights are kept
            weights = np.asarray(sample_weight, dtype=np.float64)
        splitter = check_cv(self.cv)
        try:
            splits = list(splitter.split(np.zeros((len(trajs), 1)), None, groups))
        except ValueError as exc:
            raise ValueError(
                f"MaxEntIRLCV cannot split {len(trajs)} demonstrations into folds: {exc}"
            ) from None
        for k, (train, test) in enumerate(splits):
            if len(train) == 0 or len(test) == 0:
                raise ValueError(
                    f"fold {k} has {len(train)} training and {len(test)} held-out "
                    "demonstrations; every fold needs at least one of each (fewer folds or "
                    "more demonstrations).")
            if weights is not None and (weights[train].sum() <= 0 or weights[test].sum() <= 0):
                raise ValueError(f"fold {k}: sample_weight gives zero weight to a whole side.")
        with self._fit_transaction(env):  # the CV results and the refit, or nothing
            return self._cross_validate_and_refit(grid, splits, trajs, env, weights,
                                                  sample_weight)

    def _cross_validate_and_refit(self, grid, splits, trajs, env, weights, sample_weight):
        base = self._path_estimator()
        out = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_path)(clone(base), grid, trajs, env, train, test, weights)
            for train, test in splits)
        scores = np.array([o[0] for o in out])
        times = np.array([o[1] for o in out])
        mean = scores.mean(axis=0)
        best = int(np.argmax(mean))  # the first maximum: the strongest of tied strengths
        self.l2s_ = grid
        self.scores_ = scores
        self.l2_ = float(grid[best])
        self.best_index_ = best
        self.best_score_ = float(mean[best])
        ranks = np.empty(len(grid), dtype=np.int32)
        ranks[np.argsort(-mean, kind="stable")] = np.arange(1, len(grid) + 1)
        self.cv_results_ = {
            "param_l2": grid.copy(),
            "params": [{"l2": float(v)} for v in grid],
            **{f"split{k}_test_score": scores[k] for k in range(len(splits))},
            "mean_test_score": mean,
            "std_test_score": scores.std(axis=0),
            "rank_test_score": ranks,
            "mean_fit_time": times.mean(axis=0),
        }
        # Refit on all demonstrations at the chosen strength.
        return MaxEntIRL.fit(self, trajs, env=env, sample_weight=sample_weight)


MaxEntIRLCV._parameter_constraints = {
    **{k: v for k, v in MaxEntIRL._parameter_constraints.items()
       if k in MaxEntIRLCV._get_param_names()},
    **MaxEntIRLCV._parameter_constraints,
}
