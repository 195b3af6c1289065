"""Tabular policies: an (S, A) or time-indexed (H, S, A) table of action probabilities."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ..envs._tabular import check_indices
from ..utils._numeric import refuse_grad

__all__ = ["TabularPolicy", "check_policy", "sample_categorical"]


class TabularPolicy:
    """A stochastic policy over a finite MDP, stationary or time-indexed.

    Parameters
    ----------
    probs : array-like of shape (S, A) or (H, S, A), default=None
        Action probabilities; rows must sum to 1. Time-indexed for finite horizons.
    log_probs : array-like of the same shape, default=None
        Log-probabilities (more accurate for near-deterministic soft policies). Give
        exactly one of ``probs`` and ``log_probs``.

    Attributes
    ----------
    probs : ndarray of shape (S, A) or (H, S, A)
    log_probs : ndarray of the same shape
    n_states, n_actions : int
    horizon : int or None
        H for time-indexed policies.
    q_values, values : ndarray or None
        The Q and V of the planner that produced the policy, when it came from one.
    n_iter : int or None
        Planner sweeps used.

    Examples
    --------
    >>> from sklirl.solvers import TabularPolicy
    >>> pi = TabularPolicy([[0.9, 0.1], [0.2, 0.8]])
    >>> pi.predict([0, 1]).tolist()
    [0, 1]
    """

    def __init__(self, probs=None, log_probs=None):
        if (probs is None) == (log_probs is None):
            raise ValueError("give exactly one of probs and log_probs.")
        refuse_grad(probs if log_probs is None else log_probs, "policy probabilities")
        try:
            given = np.asarray(probs if log_probs is None else log_probs)
        except ValueError:
            raise ValueError(
                "policy probabilities are ragged: every state needs a row of A numbers."
            ) from None
        if given.dtype == object or given.dtype.kind not in "biuf":
            raise TypeError(f"policy probabilities must be numeric, got dtype {given.dtype}.")
        if log_probs is not None:
            lp = np.array(log_probs, dtype=np.float64)
            if np.isnan(lp).any() or (lp > 1e-9).any():
                raise ValueError("log_probs must be <= 0 and not NaN.")
            p = np.exp(lp)
        else:
            p = np.array(probs, dtype=np.float64)
            if not np.all(np.isfinite(p)) or (p < 0).any():
                raise ValueError("policy probabilities must be finite and non-negative.")
            with np.errstate(divide="ignore"):
                lp = np.log(p)
        if p.ndim not in (2, 3) or 0 in p.shape:
            raise ValueError(
                f"policy probabilities must have shape (S, A) or (H, S, A), got {p.shape}."
            )
        sums = p.sum(axis=-1)
        if np.abs(sums - 1).max() > 1e-6:
            idx = np.unravel_index(np.abs(sums - 1).argmax(), sums.shape)
            where = ", ".join(f"{k}={int(i)}" for k, i in zip(("t", "s")[-len(idx):], idx))
            raise ValueError(
                f"policy probabilities at {where} sum to {sums[idx]:.6g}, not 1."
            )
        p.setflags(write=False)
        lp.setflags(write=False)
        self.probs = p
        self.log_probs = lp
        self.q_values = None
        self.values = None
        self.n_iter = None

    @property
    def n_states(self):
        """Number of states ``S``."""
        return self.probs.shape[-2]

    @property
    def n_actions(self):
        """Number of actions ``A``."""
        return self.probs.shape[-1]

    @property
    def horizon(self):
        """``H`` for a finite-horizon ``(H, S, A)`` policy; None for a stationary one."""
        return self.probs.shape[0] if self.probs.ndim == 3 else None

    def _check_states(self, states):
        return check_indices(states, self.n_states, "states")

    def _table(self, table, states, t):
        s = self._check_states(states)
        if table.ndim == 2:
            return table[s]
        if t is None:
            t = np.zeros(len(s), dtype=np.intp)
        else:
            t = np.asarray(t)
            if t.dtype.kind not in "iu" or (t < 0).any():
                raise ValueError("t must hold non-negative integer time steps.")
            if t.ndim > 1 or t.size not in (1, len(s)):
                raise ValueError(
                    f"t must be one time step or one per state ({len(s)}), got shape {t.shape}."
                )
            # steps past the horizon reuse the last step's policy (its final decision rule)
            t = np.minimum(np.broadcast_to(t.astype(np.intp), s.shape), table.shape[0] - 1)
        return table[t, s]

    def predict_proba(self, states, t=None):
        """Action probabilities ``(n, A)`` in ``states`` (at time step ``t``, default 0).

        Parameters
        ----------
        states : array-like of int of shape (n,)
            State indices in ``[0, n_states)``.
        t : int or array-like of int of shape (n,), default=None
            Time steps, for a finite-horizon (``(H, S, A)``) policy: one for all states or
            one per state; None means 0, and steps past the horizon use the last step's
            rule. Ignored by stationary policies.

        Returns
        -------
        probs : ndarray of shape (n, A)
        """
        return self._table(self.probs, states, t)

    def predict_log_proba(self, states, t=None):
        """Log action probabilities ``(n, A)``.

        Parameters
        ----------
        states : array-like of int of shape (n,)
        t : int or array-like of int of shape (n,), default=None
            As in :meth:`predict_proba`.

        Returns
        -------
        log_probs : ndarray of shape (n, A)
            ``-inf`` for actions of probability 0.
        """
        return self._table(self.log_probs, states, t)

    def predict(self, states, t=None):
        """Most probable action in each state.

        Parameters
        ----------
        states : array-like of int of shape (n,)
        t : int or array-like of int of shape (n,), default=None
            As in :meth:`predict_proba`.

        Returns
        -------
        actions : ndarray of int of shape (n,)
            Ties go to the lowest action index.
        """
        return self.predict_proba(states, t).argmax(axis=1)

    def log_prob(self, states, actions, t=None):
        """Log-probability ``(n,)`` of taking ``actions`` in ``states``.

        Parameters
        ----------
        states : array-like of int of shape (n,)
        actions : array-like of int of shape (n,)
            One action index per state, in ``[0, n_actions)``.
        t : int or array-like of int of shape (n,), default=None
            As in :meth:`predict_proba`.

        Returns
        -------
        log_prob : ndarray of shape (n,)
        """
        lp = self.predict_log_proba(states, t)
        a = check_indices(actions, self.n_actions, "actions")
        if a.shape != (lp.shape[0],):
            raise ValueError(f"actions has shape {a.shape}; expected ({lp.shape[0]},) like states.")
        return lp[np.arange(len(a)), a]

    def sample(self, states, t=None, random_state=None):
        """Sample one action per state (vectorised inverse-CDF sampling).

        Parameters
        ----------
        states : array-like of int of shape (n,)
        t : int or array-like of int of shape (n,), default=None
            As in :meth:`predict_proba`.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        actions : ndarray of int of shape (n,)
        """
        rng = check_random_state(random_state)
        return sample_categorical(self.predict_proba(states, t), rng)

    def at(self, t):
        """The ``(S, A)`` action probabilities at time step ``t`` (stationary: always the same).

        Parameters
        ----------
        t : int
            Time step; steps past a finite horizon give the last step's table.

        Returns
        -------
        probs : ndarray of shape (S, A)
            Read-only.
        """
        if isinstance(t, np.integer):
            t = int(t)
        if not isinstance(t, int) or isinstance(t, bool) or t < 0:
            raise ValueError(f"t must be a non-negative int time step, got {t!r}.")
        return self.probs if self.probs.ndim == 2 else self.probs[min(t, self.probs.shape[0] - 1)]

    def __repr__(self):
        h = "" if self.horizon is None else f", horizon={self.horizon}"
        return f"TabularPolicy(n_states={self.n_states}, n_actions={self.n_actions}{h})"


def check_policy(policy, env=None, name="policy"):
    """``policy`` as a :class:`TabularPolicy` (arrays are validated by its constructor), for
    ``env``'s states and actions when an env is given. The one coercion every function that
    accepts a tabular policy uses.

    Examples
    --------
    >>> from sklirl.policies import check_policy
    >>> check_policy([[0.5, 0.5], [1.0, 0.0]])
    TabularPolicy(n_states=2, n_actions=2)
    """
    if not isinstance(policy, TabularPolicy):
        try:
            policy = TabularPolicy(policy)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"{name} must be a TabularPolicy or an (S, A) / (H, S, A) array: {exc}"
            ) from None
    if env is not None and (policy.n_states, policy.n_actions) != (env.n_states, env.n_actions):
        raise ValueError(
            f"{name} has shape {policy.probs.shape}; expected (S, A) = ({env.n_states}, "
            f"{env.n_actions}) or (H, S, A)."
        )
    return policy


def sample_categorical(probs, rng):
    """One sample per row of ``probs`` (n, k) by inverse CDF, without Python loops.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.policies import sample_categorical
    >>> sample_categorical(np.array([[0.0, 1.0], [1.0, 0.0]]), np.random.RandomState(0))
    array([1, 0])
    """
    cdf = np.cumsum(probs, axis=1)
    u = rng.random_sample(len(probs)) * cdf[:, -1]
    return np.minimum((cdf <= u[:, None]).sum(axis=1), probs.shape[1] - 1)


