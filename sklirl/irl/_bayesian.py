"""Bayesian inverse reinforcement learning (Ramachandran & Amir 2007).

The posterior over the weights ``w`` of a linear reward ``r_w = phi @ w``,

    p(w | D) = p(w) prod_{(s, a) in D} pi_w(a | s) / Z,   pi_w(. | s) = softmax(alpha Q_w(s, .)),

is sampled by a random-walk Metropolis chain (PolicyWalk's move, on continuous weights): each
step proposes ``w' = w + step``, plans for ``r_w'`` by soft value iteration warm-started from
the current state's values (the proposal is close, so a few sweeps suffice), and accepts
with probability ``min(1, p(w' | D) / p(w | D))``.
"""

from __future__ import annotations

import time
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..base import BaseIRL, linear_reward
from ..envs._tabular import check_indices, check_tabular_env
from ..solvers._tabular import (
    SoftValueIteration,
    soft_policy,
    soft_value_iteration,
)
from ..utils._docstring import fill_doc
from ..utils._progress import Progress
from ..utils._warnings import warn_user

__all__ = ["BayesianIRL"]

# The planner stops within tol of the soft values, so each demonstrated step's log-probability
# is within 2 tol of exact: tol = _LOG_LIKELIHOOD_TOL / (demonstrated steps) bounds the error of
# the log-likelihood (and of every Metropolis log-ratio) by 2 * _LOG_LIKELIHOOD_TOL.
_LOG_LIKELIHOOD_TOL = 1e-4
# Which warm-started planner is cheaper per proposal: sweeps contract by gamma, so reaching tol
# takes about log(1 / tol) / log(1 / gamma) of them (~75 us each at small S); soft policy
# iteration takes ~4 Newton steps whatever gamma, each worth about 15 + S / 30 sweeps (a sparse
# LU). Measured per proposal (tol 1e-7, load 14 on 2 cores): S = 100, gamma = 0.9: sweeps
# 7.7 ms, Newton 3.1 ms; S = 900: 13 ms against 17 ms; gamma = 0.5: 1.1 ms against 2.9 ms.
def _planner_method(env, tol):
    sweeps = np.log(1.0 / tol) / -np.log(min(max(env.gamma, 1e-12), 1 - 1e-12))
    return "policy_iteration" if sweeps > 4 * (15 + env.n_states / 30) else "value_iteration"

# Robbins-Monro gains of the burn-in adaptation: (t + _GAIN_OFFSET) ** -_GAIN_DECAY.
_GAIN_OFFSET = 10.0
_GAIN_DECAY = 0.6


def _target_acceptance(k):
    """Optimal acceptance rate of random-walk Metropolis in ``k`` dimensions (Gaussian
    targets; Roberts, Gelman & Gilks 1997; Gelman, Roberts & Gilks 1996 for small k)."""
    return {1: 0.44, 2: 0.35, 3: 0.31, 4: 0.28}.get(k, 0.234)


class _BoltzmannLikelihood:
    """``log p(D | r) = sum_{s,a} N(s, a) log pi_r(a | s)`` with ``pi_r`` Boltzmann in the soft
    Q-values of ``alpha * r`` (time-indexed counts ``N(t, s, a)`` for finite horizons)."""

    def __init__(self, env, counts, alpha):
        self.env = env
        self.alpha = float(alpha)
        self.index = np.nonzero(counts)
        self.weights = counts[self.index]
        self.tol = float(np.clip(_LOG_LIKELIHOOD_TOL / max(counts.sum(), 1.0), 1e-12, 1e-6))
        self.method = _planner_method(env, self.tol)

    def __call__(self, reward, init_values=None):
        """``(log-likelihood, values for the next warm start, sweeps)`` at ``reward`` (S,)."""
        env = self.env
        warm = None if env.finite_horizon else init_values
        try:
            Q, V, n_sweeps = soft_value_iteration(env, self.alpha * reward, tol=self.tol,
                                                  init_values=warm, method=self.method)
        except FloatingPointError:  # a proposal so extreme that the values overflow
            return -np.inf, init_values, 0
        log_probs = soft_policy(Q, 1.0).log_probs
        return float(self.weights @ log_probs[self.index]), V, n_sweeps

    def policy(self, reward):
        """The Boltzmann policy of ``reward``: soft-optimal at temperature ``1 / alpha``."""
        return SoftValueIteration(temperature=1.0 / self.alpha, tol=self.tol,
                                  method=self.method).solve(self.env, reward)


def _action_counts(demos, env, weights):
    """Weighted counts ``N(s, a)`` of the demonstrated actions, or ``N(t, s, a)`` for a
    finite horizon (steps from ``H`` on count at ``H - 1``, whose decision rule the
    time-indexed policy reuses there)."""
    S, A = env.n_states, env.n_actions
    s = np.concatenate([t.states[: len(t)] for t in demos])
    a = np.concatenate([t.actions for t in demos])
    w = np.concatenate([np.full(len(t), wi) for wi, t in zip(weights, demos)])
    if not env.finite_horizon:
        return np.bincount(s * A + a, weights=w, minlength=S * A).reshape(S, A)
    H = env.horizon
    steps = np.minimum(np.concatenate([np.arange(len(t)) for t in demos]), H - 1)
    counts = np.bincount((steps * S + s) * A + a, weights=w, minlength=H * S * A)
    return counts.reshape(H, S, A)


class _AdaptiveRandomWalk:
    """Gaussian random-walk proposals ``sqrt(lam) L z`` with ``L L^T = Sigma``.

    During burn-in, Andrieu & Thoms' (2008, Algorithm 4) stochastic approximation adapts the
    global scale ``lam`` toward the optimal acceptance rate and ``Sigma`` toward the chain's
    covariance; afterwards both are frozen, so the kept samples come from a time-homogeneous
    Metropolis chain whose stationary law is the posterior.
    """

    def __init__(self, w0, scale):
        k = len(w0)
        self.k = k
        self.target = _target_acceptance(k)
        self.log_lam = np.log(2.38**2 / k)
        self.mean = np.array(w0, dtype=np.float64)
        self.cov = np.eye(k) * scale**2
        self.chol = np.eye(k) * scale
        # Refactorising Sigma is O(k^3): amortise it over k / 20 steps for large k.
        self.refresh_every = max(1, k // 20)

    @property
    def step_size(self):
        """Root-mean-square proposal standard deviation per weight."""
        return float(np.sqrt(np.exp(self.log_lam) * np.trace(self.cov) / self.k))

    def propose(self, w, rng):
        return w + np.exp(0.5 * self.log_lam) * (self.chol @ rng.standard_normal(self.k))

    def adapt(self, t, accept_prob, w):
        gain = (t + _GAIN_OFFSET) ** -_GAIN_DECAY
        self.log_lam += gain * (accept_prob - self.target)
        diff = w - self.mean
        self.mean += gain * diff
        self.cov += gain * (np.outer(diff, diff) - self.cov)
        if t % self.refresh_every == 0:
            jitter = 1e-10 * max(np.trace(self.cov) / self.k, 1e-300)
            try:
                self.chol = np.linalg.cholesky(self.cov + jitter * np.eye(self.k))
            except np.linalg.LinAlgError:  # keep the previous factor
                pass


def effective_sample_size(samples):
    """Effective sample size of each column of a chain, ``(n, k) -> (k,)``.

    Geyer's (1992) initial monotone sequence estimator: the autocorrelations (by FFT) are
    summed in consecutive pairs up to the first non-positive pair, the pair sums made
    non-increasing, and ``ESS = n / tau`` with ``tau = -1 + 2 sum_m (rho_2m + rho_2m+1)``.
    A column that never moves has ESS 1.
    """
    x = np.asarray(samples, dtype=np.float64)
    n, k = x.shape
    if n < 4:
        return np.full(k, float(n))
    centred = x - x.mean(axis=0)
    size = 1 << int(2 * n - 1).bit_length()
    spectrum = np.fft.rfft(centred, n=size, axis=0)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=0)[:n] / n
    variance = acov[0]
    moving = variance > 1e-300 * max(1.0, float(np.abs(x).max()))
    rho = acov / np.where(moving, variance, 1.0)
    pairs = rho[: 2 * (n // 2)].reshape(-1, 2, k).sum(axis=1)
    positive = np.cumprod(pairs > 0, axis=0).astype(bool)
    pairs = np.minimum.accumulate(np.where(positive, pairs, 0.0), axis=0)
    tau = np.maximum(-1.0 + 2.0 * pairs.sum(axis=0), 1.0 / np.log10(n))
    return np.where(moving, n / tau, 1.0)


@fill_doc
class BayesianIRL(BaseIRL):
    """Bayesian inverse reinforcement learning: posterior samples of a linear reward.

    Ramachandran & Amir's (2007) Bayesian IRL with a PolicyWalk-style Markov chain: a
    linear reward ``r_w(s) = w . phi(s)`` (or ``w . phi(s, a)``), a Gaussian or Laplace
    prior on ``w``, and the Boltzmann likelihood ``pi_w(. | s) = softmax(alpha Q_w(s, .))``
    of every demonstrated action, with ``Q_w`` the soft (maximum-entropy) Q-values. A
    random-walk Metropolis chain over ``w`` (proposal adapted during burn-in) plans for each
    proposal by soft value iteration warm-started from the current state's values. The
    posterior mean is the reward estimate; the samples give its uncertainty
    (``predict_reward(..., return_std=True)``, :meth:`sample_rewards`). Tabular
    environments, up to about 10^3 states.

    Read more in the :ref:`User Guide <reward_uncertainty>`.

    Parameters
    ----------
    {features}
    reward_input : {"state", "state_action"}, default="state"
        What the feature map sees. ``"state"``: the env's state descriptors, ``r(s)``.
        ``"state_action"``: the ``S * A`` rows of ``env.state_action_features`` (or the pair
        indices for :class:`~sklirl.features.OneHotStates`, the tabular ``r(s, a)``), as in
        :class:`~sklirl.MaxEntIRL`.
    prior : {"gaussian", "laplace"}, default="gaussian"
        Prior on each weight, independent: ``N(0, prior_scale^2)``, or the Laplace density
        ``exp(-|w_j| / prior_scale) / (2 prior_scale)`` (sparser rewards).
    prior_scale : float, default=1.0
        Scale of the prior (the standard deviation of the Gaussian prior). With one-hot
        features it is the a-priori spread of each state's reward.
    alpha : float, default=1.0
        Confidence (inverse temperature) of the Boltzmann expert: ``alpha = 1`` is the
        soft-optimal expert that :class:`~sklirl.MaxEntIRL` models; larger values model a
        more deterministic expert.
    n_samples : int, default=1000
        Posterior samples to keep (after burn-in and thinning).
    burn_in : int or None, default=None
        Initial iterations discarded; the proposal is adapted during them (and frozen after).
        None: as many as are kept (``n_samples * thin``), or half of ``max_iter`` if that is
        fewer.
    thin : int, default=1
        Keep every ``thin``-th iteration after burn-in.
    max_iter : int, default=100_000
        Iteration budget of the chain (burn-in included). The chain runs
        ``burn_in + n_samples * thin`` iterations; a smaller budget stops it early with
        fewer samples and a ``ConvergenceWarning``. It must be at least ``burn_in + thin``.
    {random_state}
    {verbose}

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Posterior mean of the weights.
    coef_samples_ : ndarray of shape (n_samples, n_features)
        The kept posterior samples of the weights, in chain order.
    reward_ : ndarray of shape (n_states, n_actions)
        Posterior mean reward ``phi @ coef_`` (the same for every action with
        ``reward_input="state"``).
    reward_samples_ : ndarray of shape (n_samples, n_states, n_actions)
        The reward of every kept sample (a read-only view, computed on access).
    reward_std_ : ndarray of shape (n_states, n_actions)
        Posterior standard deviation of each state's (or pair's) reward.
    policy_ : TabularPolicy
        The Boltzmann (soft-optimal at temperature ``1 / alpha``) policy of ``reward_``.
    acceptance_rate_ : float
        Fraction of proposals accepted after burn-in.
    effective_sample_size_ : ndarray of shape (n_features,)
        Effective sample size of each weight's kept samples (Geyer's initial monotone
        sequence estimator).
    burn_in_ : int
        Burn-in iterations run (``burn_in``, or its default).
    step_size_ : float
        Root-mean-square proposal standard deviation per weight, as adapted in burn-in.
    features_ : transformer
        The fitted feature map.
    n_iter_ : int
        Iterations of the chain run, burn-in included.
    history_ : dict of ndarray
        Per iteration: ``"log_posterior"`` and ``"log_likelihood"`` of the chain's state
        (up to the prior's constant), ``"accepted"`` (whether the proposal was accepted),
        ``"acceptance_rate"`` (running, within burn-in and within sampling),
        ``"step_size"`` (the proposal scale), ``"n_sweeps"`` (soft value iteration sweeps
        for the proposal) and ``"time"`` (seconds since the start of the fit).
    env_ : TabularMDP
        The env seen in ``fit``.

    See Also
    --------
    sklirl.MaxEntIRL : the maximum-likelihood (MAP with ``l2``) reward of the same model.

    Notes
    -----
    The posterior of the weights given demonstrated state-action pairs ``D`` is

    .. math:: p(w \\mid D) \\propto p(w) \\prod_{(s,a) \\in D}
              \\frac{\\exp(\\alpha Q_w(s, a))}{\\sum_b \\exp(\\alpha Q_w(s, b))},

    with ``Q_w`` the soft Q-values of the reward ``alpha r_w`` at temperature 1 divided by
    ``alpha`` (the policy is the soft-optimal policy at temperature ``1 / alpha``). The paper
    uses the optimal (hard) Q-values; the soft ones make the likelihood a smooth function
    of ``w`` and exactly the model of maximum causal entropy IRL, so that with ``alpha = 1``
    the posterior mode is :class:`~sklirl.MaxEntIRL`'s estimate with an L2 penalty, the
    model is well specified for soft-optimal experts, and ``policy_`` is the same kind of
    policy ``MaxEntIRL`` returns. Finite horizons use the time-indexed Q-values at each
    demonstrated step.

    ``sample_weight`` weights each trajectory's log-likelihood; the weights are rescaled to
    sum to the number of trajectories, so that they reweight the evidence without changing
    its amount.

    References
    ----------
    Ramachandran, Amir (2007). Bayesian inverse reinforcement learning. IJCAI.
    Andrieu, Thoms (2008). A tutorial on adaptive MCMC. Statistics and Computing 18.
    Geyer (1992). Practical Markov chain Monte Carlo. Statistical Science 7.

    Examples
    --------
    >>> from sklirl import BayesianIRL
    >>> from sklirl.datasets import make_expert_demos
    >>> from sklirl.envs import GridWorld
    >>> env = GridWorld(3, gamma=0.9)
    >>> demos, _ = make_expert_demos(env, 20, horizon=10, random_state=0)
    >>> est = BayesianIRL(n_samples=500, burn_in=500, random_state=0).fit(demos, env)
    >>> est.coef_samples_.shape
    (500, 9)
    >>> int(est.reward_[:, 0].argmax())  # the goal cell has the highest posterior mean
    8
    >>> mean, std = est.predict_reward([0, 8], actions=[0, 0], return_std=True)
    >>> bool((std > 0).all()), est.sample_rewards(3, random_state=0).shape
    (True, (3, 9, 4))
    """

    _actions_reason = ("its likelihood is that of the demonstrated actions under the "
                       "Boltzmann policy of each reward")

    _parameter_constraints: dict = {
        "features": [HasMethods(["fit", "transform"]), None],
        "reward_input": [StrOptions({"state", "state_action"})],
        "prior": [StrOptions({"gaussian", "laplace"})],
        "prior_scale": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "burn_in": [Interval(Integral, 0, None, closed="left"), None],
        "thin": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        features=None,
        *,
        reward_input="state",
        prior="gaussian",
        prior_scale=1.0,
        alpha=1.0,
        n_samples=1000,
        burn_in=None,
        thin=1,
        max_iter=100_000,
        random_state=None,
        verbose=0,
    ):
        self.features = features
        self.reward_input = reward_input
        self.prior = prior
        self.prior_scale = prior_scale
        self.alpha = alpha
        self.n_samples = n_samples
        self.burn_in = burn_in
        self.thin = thin
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose

    # -- the algorithm ---------------------------------------------------------------------
    def _fit(self, demos, env, sample_weight):
        kept = self.n_samples * self.thin
        burn_in = min(kept, self.max_iter // 2) if self.burn_in is None else self.burn_in
        requested = burn_in + kept
        if self.max_iter < burn_in + self.thin:
            raise ValueError(
                f"burn_in={burn_in} leaves no samples within the iteration budget "
                f"max_iter={self.max_iter}: max_iter must be at least burn_in + thin (the "
                f"chain needs burn_in + n_samples * thin = {requested} iterations)."
            )
        n_iter = min(requested, self.max_iter)
        weights = (np.ones(len(demos)) if sample_weight is None
                   else sample_weight * (len(demos) / sample_weight.sum()))
        # features phi (S, k) or (S * A, k); the likelihood of the demonstrated actions
        phi = self._fit_feature_map(env)
        likelihood = _BoltzmannLikelihood(env, _action_counts(demos, env, weights), self.alpha)
        rng = check_random_state(self.random_state)
        prior_std = self.prior_scale * (np.sqrt(2.0) if self.prior == "laplace" else 1.0)

        # Start at the prior mean; the proposal starts at a tenth of the prior's spread.
        w = np.zeros(phi.shape[1])
        walk = _AdaptiveRandomWalk(w, 0.1 * prior_std)
        log_lik, values, _ = likelihood(self._reward(phi, w, env))
        log_post = log_lik + self._log_prior(w)
        history = {key: np.empty(n_iter) for key in (
            "log_posterior", "log_likelihood", "accepted", "acceptance_rate", "step_size",
            "n_sweeps", "time")}
        samples = []
        # verbose=1 reports every tenth of the chain, verbose > 1 every iteration
        report_every = 1 if self.verbose > 1 else max(1, n_iter // 10)
        progress = Progress(type(self).__name__, -(-n_iter // report_every), self.verbose)
        start, accepted_in_phase = time.perf_counter(), 0
        for it in range(n_iter):
            # PolicyWalk step: propose, plan for the proposal (warm-started), accept or not.
            proposal = walk.propose(w, rng)
            new_lik, new_values, sweeps = likelihood(self._reward(phi, proposal, env), values)
            new_post = new_lik + self._log_prior(proposal)
            log_ratio = new_post - log_post
            accepted = bool(np.log(rng.random_sample()) < log_ratio)
            if accepted:
                w, log_lik, log_post, values = proposal, new_lik, new_post, new_values
            if it < burn_in:
                walk.adapt(it, float(np.exp(min(log_ratio, 0.0))), w)
            if it == burn_in:
                accepted_in_phase = 0
            accepted_in_phase += accepted
            phase_length = it + 1 if it < burn_in else it + 1 - burn_in
            history["log_posterior"][it] = log_post
            history["log_likelihood"][it] = log_lik
            history["accepted"][it] = accepted
            history["acceptance_rate"][it] = accepted_in_phase / phase_length
            history["step_size"][it] = walk.step_size
            history["n_sweeps"][it] = sweeps
            history["time"][it] = time.perf_counter() - start
            if it >= burn_in and (it + 1 - burn_in) % self.thin == 0:
                samples.append(w)
                self._checkpoint(it + 1, self._finalizer(likelihood, phi, samples, history,
                                                         walk, it + 1, burn_in))
            if (it + 1) % report_every == 0 or it + 1 == n_iter:
                progress.update(
                    f"iteration {it + 1} ({'burn-in' if it < burn_in else 'sampling'}): log "
                    f"posterior {log_post:.6g}, acceptance {history['acceptance_rate'][it]:.3f}, "
                    f"step {walk.step_size:.3g}")
        progress.close()
        if n_iter < requested:
            warn_user(
                f"BayesianIRL stopped at max_iter={self.max_iter} iterations with "
                f"{len(samples)} of the n_samples={self.n_samples} posterior samples "
                f"(burn_in + n_samples * thin = {requested}); increase max_iter.",
                ConvergenceWarning,
            )
        self.burn_in_ = burn_in
        self._set_posterior(likelihood, phi, samples, history, walk, n_iter)

    def _reward(self, phi, w, env):
        """The linear reward of weights ``w``: ``(S,)`` of states, or the ``(S, A)`` table of
        state-action features."""
        r = linear_reward(phi, w)
        return r if r.size == env.n_states else r.reshape(env.n_states, env.n_actions)

    def _reward_tables(self, rewards, env):
        """``(n, S, A)`` tables of flat rewards ``(n, S)`` (repeated over the actions: a view)
        or ``(n, S * A)``."""
        n = len(rewards)
        if rewards.shape[1] == env.n_states:
            return np.broadcast_to(rewards[:, :, None], (n, env.n_states, env.n_actions))
        return rewards.reshape(n, env.n_states, env.n_actions)

    def _log_prior(self, w):
        if self.prior == "gaussian":
            return -0.5 * float(w @ w) / self.prior_scale**2
        return -float(np.abs(w).sum()) / self.prior_scale

    def _finalizer(self, likelihood, phi, samples, history, walk, n_iter, burn_in):
        """The fitted state after ``n_iter`` iterations (a KeyboardInterrupt checkpoint)."""
        n_kept = len(samples)

        def finalize():
            self.burn_in_ = burn_in
            self._set_posterior(likelihood, phi, samples[:n_kept],
                                {k: v[:n_iter] for k, v in history.items()}, walk, n_iter)

        return finalize

    def _set_posterior(self, likelihood, phi, samples, history, walk, n_iter):
        """Posterior summaries, the policy of the posterior mean and the diagnostics."""
        env = likelihood.env
        self.coef_samples_ = np.array(samples)
        self.coef_ = self.coef_samples_.mean(axis=0)
        mean = self._reward(phi, self.coef_, env)
        std = self._state_reward_samples(phi).std(axis=0)
        self.reward_ = linear_reward(phi, self.coef_, env)
        self.reward_std_ = self._reward_tables(std[None], env)[0].copy()
        self.policy_ = likelihood.policy(mean)
        accepted = history["accepted"][self.burn_in_:n_iter]
        self.acceptance_rate_ = float(accepted.mean()) if len(accepted) else 0.0
        self.effective_sample_size_ = effective_sample_size(self.coef_samples_)
        self.step_size_ = walk.step_size
        self.history_ = {k: (v.astype(bool) if k == "accepted" else v)
                         for k, v in history.items()}
        self.n_iter_ = int(n_iter)

    def _state_reward_samples(self, phi):
        """``(n_samples, S)`` state rewards (``(n_samples, S * A)`` pair rewards) of the kept
        weight samples."""
        W = self.coef_samples_
        out = phi @ W.T
        return np.asarray(out.toarray() if sp.issparse(out) else out, dtype=np.float64).T

    # -- posterior access --------------------------------------------------------------------
    @property
    def reward_samples_(self):
        """The reward table of every kept sample, ``(n_samples, n_states, n_actions)``.

        Computed from ``coef_samples_`` on access; with ``reward_input="state"`` a read-only
        view (the reward is the same for every action).
        """
        check_is_fitted(self)
        rewards = self._state_reward_samples(self._feature_matrix(self.env_))
        return self._reward_tables(rewards, self.env_)

    def predict_reward(self, states, actions=None, return_std=False):
        """The posterior mean reward, and optionally its posterior standard deviation.

        Parameters
        ----------
        states : array-like of int of shape (n,)
            State indices of the env seen in ``fit``.
        actions : array-like of int of shape (n,), default=None
        return_std : bool, default=False
            Also return the standard deviation of the reward over the posterior samples,
            like :meth:`sklearn.gaussian_process.GaussianProcessRegressor.predict`.

        Returns
        -------
        rewards : ndarray of shape (n, A) without actions, (n,) with them
        std : ndarray of the same shape
            Only with ``return_std=True``.
        """
        mean = super().predict_reward(states, actions)
        if not return_std:
            return mean
        s = self._check_tabular_states(states)
        if actions is None:
            return mean, self.reward_std_[s].copy()
        return mean, self.reward_std_[s, check_indices(actions, self.env_.n_actions, "actions")]

    def sample_rewards(self, n_samples=1, random_state=None):
        """Reward tables drawn from the stored posterior samples (with replacement).

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        rewards : ndarray of shape (n_samples, n_states, n_actions)
            Like ``reward_``, one table per draw.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        rng = check_random_state(random_state)
        picks = rng.randint(len(self.coef_samples_), size=int(n_samples))
        phi = self._feature_matrix(self.env_)
        tables = np.stack([linear_reward(phi, self.coef_samples_[i]) for i in picks])
        return np.array(self._reward_tables(tables, self.env_))

    # -- prediction on other envs ------------------------------------------------------------
    def _transfer_policy(self, env):
        """Re-plan the posterior mean reward on another env with the fitted feature map."""
        env = check_tabular_env(env)
        reward = self._reward(self._feature_matrix(env), self.coef_, env)
        return SoftValueIteration(temperature=1.0 / self.alpha).solve(env, reward)
