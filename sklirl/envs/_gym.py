"""Adapters between gymnasium environments and :class:`TabularMDP`."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from ._tabular import TabularMDP

__all__ = ["from_gymnasium", "is_gymnasium_env"]


def is_gymnasium_env(env):
    """Whether ``env`` looks like a gymnasium environment (without importing gymnasium)."""
    return hasattr(env, "step") and hasattr(env, "reset") and hasattr(env, "action_space")


def from_gymnasium(env, gamma=0.99, horizon=None, absorbing_terminal=True):
    """Build a :class:`TabularMDP` from a discrete gymnasium env that exposes its model.

    Works for the toy-text environments (``FrozenLake``, ``CliffWalking``, ``Taxi``),
    whose unwrapped env has ``P[s][a] = [(prob, next_state, reward, terminated), ...]``.

    Parameters
    ----------
    env : gymnasium.Env or str
        The environment, or its registered id (e.g. ``"FrozenLake-v1"``).
    gamma : float, default=0.99
        Discount factor of the returned MDP.
    horizon : int, default=None
        Finite horizon of the returned MDP (None: discounted).
    absorbing_terminal : bool, default=True
        Whether the episode's end is part of the model. Every state that a ``terminated``
        transition leads to is a *terminal cell*; it keeps its own index (the gymnasium
        observation), so a reward can tell FrozenLake's goal from its holes, and from every
        terminal cell each action moves to one extra absorbing state (index ``S``, zero
        reward, ``mdp.absorbing_state``). Episodes recorded in the env are then possible
        under the model, and demonstrations flagged ``terminal=True`` continue in the
        absorbing state (see :ref:`terminal_states`). False: the model follows the listed
        next states, as the toy-text models do for their self-looping terminal cells.

    Returns
    -------
    mdp : TabularMDP
        With ``reward`` the expected immediate reward r(s, a) (zero in terminal cells and the
        absorbing state), ``initial_state_distribution`` the env's (``initial_state_distrib``
        when present, else uniform) and ``absorbing_state`` set when the env has terminal
        transitions.

    Examples
    --------
    >>> from sklirl.envs import from_gymnasium
    >>> mdp = from_gymnasium("FrozenLake-v1", gamma=0.95)  # doctest: +SKIP
    >>> mdp.n_states, mdp.n_actions, mdp.absorbing_state  # doctest: +SKIP
    (17, 4, 16)
    >>> mdp.terminal_states.tolist()  # the holes and the goal  # doctest: +SKIP
    [5, 7, 11, 12, 15]
    """
    if isinstance(env, str):
        try:
            import gymnasium
        except ImportError as exc:  # pragma: no cover - depends on extras
            raise ImportError(
                "from_gymnasium needs gymnasium: pip install 'sklirl[gym]'"
            ) from exc
        env_id = env
        try:
            env = gymnasium.make(env_id)
        except gymnasium.error.Error as exc:  # unknown, deprecated or misspelt ids
            raise ValueError(f"cannot make the gymnasium env {env_id!r}: {exc}") from None
    if not is_gymnasium_env(env):
        raise TypeError(f"env must be a gymnasium.Env or an env id, got {type(env).__name__}.")
    base = getattr(env, "unwrapped", env)
    model = getattr(base, "P", None)
    obs_space, act_space = env.observation_space, env.action_space
    if model is None or not hasattr(obs_space, "n") or not hasattr(act_space, "n"):
        raise ValueError(
            f"{type(base).__name__} does not expose a tabular model: from_gymnasium needs "
            "Discrete observation and action spaces and a P[s][a] transition table."
        )
    S, A = int(obs_space.n), int(act_space.n)
    model = _checked_model(model, S, A, type(base).__name__)
    terminal_cells = np.zeros(S, dtype=bool)
    for s in range(S):
        for a in range(A):
            for prob, ns, _, term in model[s][a]:
                if term and prob > 0:
                    terminal_cells[int(ns)] = True
    extra = 1 if (absorbing_terminal and terminal_cells.any()) else 0
    n = S + extra
    rows, cols, vals = [], [], []
    reward = np.zeros((n, A))
    for s in range(S):
        for a in range(A):
            if extra and terminal_cells[s]:
                # The episode is over once a terminal cell is reached: whatever the toy-text
                # table lists from it is never stepped, so it moves on to the absorbing state.
                rows.append(s * A + a)
                cols.append(S)
                vals.append(1.0)
                continue
            for prob, ns, r, _ in model[s][a]:
                rows.append(s * A + a)
                cols.append(int(ns))
                vals.append(float(prob))
                reward[s, a] += float(prob) * float(r)
    if extra:
        rows.extend(S * A + a for a in range(A))
        cols.extend([S] * A)
        vals.extend([1.0] * A)
    P = sp.csr_matrix((vals, (rows, cols)), shape=(n * A, n))
    mu0 = getattr(base, "initial_state_distrib", None)
    if mu0 is not None:
        mu0 = np.concatenate([np.asarray(mu0, dtype=np.float64), np.zeros(extra)])
    else:
        mu0 = np.concatenate([np.full(S, 1.0 / S), np.zeros(extra)])
    return TabularMDP(
        P, initial_state_distribution=mu0, gamma=gamma, horizon=horizon, reward=reward,
        n_actions=A, absorbing_state=S if extra else None,
    )


def _checked_model(model, S, A, owner):
    """``P[s][a]`` as lists of ``(prob, next_state, reward, terminated)`` tuples of checked
    types: a malformed table raises a ValueError naming the entry, not a KeyError or an
    unpacking error deep in the conversion."""
    checked = []
    for s in range(S):
        try:
            row = model[s]
        except (KeyError, IndexError, TypeError):
            raise ValueError(f"{owner}.P has no entry for state {s} (the observation space "
                             f"has {S} states).") from None
        actions = []
        for a in range(A):
            try:
                outcomes = list(row[a])
            except (KeyError, IndexError, TypeError):
                raise ValueError(f"{owner}.P[{s}] has no list of outcomes for action {a} (the "
                                 f"action space has {A} actions).") from None
            entries = []
            for k, outcome in enumerate(outcomes):
                where = f"{owner}.P[{s}][{a}][{k}]"
                if not isinstance(outcome, (tuple, list)) or len(outcome) != 4:
                    raise ValueError(f"{where} must be a (prob, next_state, reward, terminated) "
                                     f"tuple, got {outcome!r}.")
                prob, ns, r, term = outcome
                if not (isinstance(prob, numbers.Real) and np.isfinite(prob) and prob >= 0):
                    raise ValueError(f"{where}: probability {prob!r} is not a finite number "
                                     ">= 0.")
                if (not isinstance(ns, numbers.Integral) or isinstance(ns, bool)
                        or not 0 <= ns < S):
                    raise ValueError(f"{where}: next state {ns!r} is not a state index in "
                                     f"[0, {S}).")
                if not (isinstance(r, numbers.Real) and np.isfinite(r)):
                    raise ValueError(f"{where}: reward {r!r} is not a finite number.")
                entries.append((float(prob), int(ns), float(r), bool(term)))
            actions.append(entries)
        checked.append(actions)
    return checked
