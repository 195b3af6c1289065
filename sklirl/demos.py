"""Demonstrations: the :class:`Trajectory` container, validation and persistence.

Every public entry point that accepts demonstrations calls :func:`check_demos`, the one
place where they are coerced and validated.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .envs._tabular import absorbing_and_terminal

__all__ = [
    "Trajectory", "check_demos", "check_demos_in_model", "check_sample_weight", "save_demos",
    "load_demos",
]


def _frozen_array(values, name, dtype=None):
    arr = np.array(values, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One demonstration: a sequence of states and the actions taken in them.

    Parameters
    ----------
    states : array-like of shape (T + 1, ...) or (T, ...)
        Visited states. Either T + 1 entries (the final state included, as in
        ``imitation``) or T entries (one per action). Integer state indices for tabular
        environments, observation vectors otherwise.
    actions : array-like of shape (T, ...) or None, default=None
        Actions taken in ``states[:T]``. None for a state-only demonstration (the ``T + 1``
        states are then all there is, ``T = len(states) - 1``); only estimators that learn
        from states alone accept those.
    terminal : bool, default=False
        Whether the episode ended in a terminal state (gymnasium's ``terminated``): nothing
        follows, and the rest of the horizon is spent in the environment's absorbing state.
        False means the demonstration was cut (time limit, end of logging) and the episode
        went on unseen. See :ref:`terminal_states`.

    Attributes
    ----------
    states : ndarray
        Read-only copy of the states.
    actions : ndarray or None
        Read-only copy of the actions.
    terminal : bool

    Examples
    --------
    >>> from sklirl import Trajectory
    >>> traj = Trajectory(states=[0, 1, 2], actions=[1, 1], terminal=True)
    >>> len(traj), traj.states.tolist(), traj.actions.tolist(), traj.terminal
    (2, [0, 1, 2], [1, 1], True)
    >>> len(Trajectory([0, 1, 2]))  # state-only: two transitions
    2
    """

    states: np.ndarray
    actions: np.ndarray | None = None
    terminal: bool = False

    def __post_init__(self):
        states = _frozen_array(self.states, "states")
        actions = None if self.actions is None else _frozen_array(self.actions, "actions")
        terminal = _check_terminal(self.terminal, "Trajectory")
        if states.ndim == 0 or (actions is not None and actions.ndim == 0):
            raise ValueError(
                "Trajectory states and actions must be sequences, got "
                f"states.ndim={states.ndim}, actions.ndim="
                f"{None if actions is None else actions.ndim}."
            )
        if actions is None:
            if len(states) < 1:
                raise ValueError("a state-only Trajectory needs at least one state.")
        else:
            n_s, n_a = len(states), len(actions)
            if n_s not in (n_a, n_a + 1):
                raise ValueError(
                    f"Trajectory has {n_s} states and {n_a} actions; states must have length "
                    f"T + 1 (final state included) or T for T actions."
                )
        object.__setattr__(self, "states", states)
        object.__setattr__(self, "actions", actions)
        object.__setattr__(self, "terminal", terminal)

    def __len__(self):
        """Number of steps (actions; transitions for a state-only trajectory)."""
        if self.actions is None:
            return len(self.states) - 1
        return len(self.actions)

    @property
    def has_final_state(self):
        """Whether ``states`` includes the state reached after the last action."""
        return len(self.states) == len(self) + 1

    def __eq__(self, other):
        if not isinstance(other, Trajectory):
            return NotImplemented
        if (self.actions is None) != (other.actions is None) or self.terminal != other.terminal:
            return False
        return np.array_equal(self.states, other.states) and (
            self.actions is None or np.array_equal(self.actions, other.actions)
        )

    __hash__ = None

    def __repr__(self):
        end = ", terminal=True" if self.terminal else ""
        return (f"Trajectory(n_steps={len(self)}, states={self.states!r}, "
                f"actions={self.actions!r}{end})")


def _check_terminal(value, where):
    """A terminal flag as a Python bool; numpy bools are fine, anything else is a TypeError."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype == bool:
        return bool(value)
    raise TypeError(
        f"{where}: terminal must be a bool (True: the episode ended in a terminal state, "
        f"False: it was cut), got {type(value).__name__} {value!r}."
    )


def _extract(demo, i):
    """Return (states, actions, terminal) from any of the accepted demonstration formats."""
    if isinstance(demo, Trajectory):
        return demo.states, demo.actions, demo.terminal
    for s_name, a_name in (("obs", "acts"), ("observations", "actions")):
        if hasattr(demo, s_name) and hasattr(demo, a_name):
            return getattr(demo, s_name), getattr(demo, a_name), _end_flag(demo, getattr, i)
    if isinstance(demo, dict):
        for s_name, a_name in (("obs", "acts"), ("observations", "actions"), ("states", "actions")):
            if s_name in demo and a_name in demo:
                return demo[s_name], demo[a_name], _end_flag(demo, dict.get, i)
        raise TypeError(
            f"demos[{i}] is a dict without 'states'/'actions', 'obs'/'acts' or "
            f"'observations'/'actions' keys (got keys {sorted(map(str, demo))})."
        )
    if isinstance(demo, (tuple, list)) and len(demo) == 2:
        return demo[0], demo[1], False
    raise TypeError(
        f"demos[{i}] has type {type(demo).__name__}; expected a Trajectory, a (states, actions) "
        "pair, or an object with obs/acts or observations/actions attributes."
    )


def _end_flag(demo, get, i):
    """Whether an imitation/Minari-style episode terminated (rather than being cut).

    imitation's ``Trajectory.terminal`` is one bool; Minari's ``EpisodeData`` has per-step
    ``terminations`` and ``truncations`` arrays, of which only the last step may be set.
    """
    def field(name):
        if isinstance(demo, dict):
            return demo.get(name)
        return getattr(demo, name, None)

    terminal = field("terminal")
    if terminal is not None:
        return _check_terminal(terminal, f"trajectory {i}")
    terminations, truncations = field("terminations"), field("truncations")
    if terminations is None:
        if truncations is not None:
            _step_flags(truncations, "truncations", i)
        return False
    term = _step_flags(terminations, "terminations", i)
    if truncations is not None:
        trunc = _step_flags(truncations, "truncations", i)
        if trunc.shape != term.shape:
            raise ValueError(
                f"trajectory {i}: terminations has {len(term)} steps but truncations has "
                f"{len(trunc)}."
            )
        both = term & trunc
        if both.any():
            step = int(np.flatnonzero(both)[0])
            raise ValueError(
                f"trajectory {i}, step {step}: both terminations and truncations are set; an "
                "episode either ends in a terminal state or is cut, not both."
            )
    return bool(term[-1]) if len(term) else False


def _step_flags(values, name, i):
    flags = np.asarray(values)
    if flags.ndim != 1 or flags.dtype != bool:
        raise TypeError(
            f"trajectory {i}: {name} must be a 1-D array of bools, one per step, got dtype "
            f"{flags.dtype} and shape {flags.shape}."
        )
    early = np.flatnonzero(flags[:-1])
    if early.size:
        raise ValueError(
            f"trajectory {i}, step {int(early[0])}: {name} is set before the last step; an "
            "episode ends at its first termination or truncation."
        )
    return flags


def _as_numeric(values, what, i):
    try:
        arr = np.asarray(values)
    except ValueError as exc:  # ragged nesting
        raise ValueError(f"trajectory {i}: {what} are ragged or malformed ({exc}).") from None
    if arr.dtype == object:
        raise ValueError(f"trajectory {i}: {what} are ragged or contain non-numeric values.")
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"trajectory {i}: {what} must be numeric, got dtype {arr.dtype} "
            f"(e.g. {arr.ravel()[:1].tolist()})."
        )
    if arr.ndim == 0:
        raise ValueError(f"trajectory {i}: {what} must be a sequence, got a scalar.")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            step = int(np.argwhere(bad)[0][0])
            raise ValueError(f"trajectory {i}, step {step}: {what} contain NaN or infinity.")
    return arr


def _as_indices(arr, what, i, n):
    """Check that a 1-D array holds integer indices in [0, n) and return it as intp."""
    if arr.ndim != 1:
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        else:
            raise ValueError(
                f"trajectory {i}: {what} must be 1-D integer indices for a tabular environment, "
                f"got shape {arr.shape}."
            )
    if arr.dtype.kind == "f":
        nonint = arr != np.round(arr)
        if nonint.any():
            step = int(np.flatnonzero(nonint)[0])
            raise ValueError(
                f"trajectory {i}, step {step}: {what[:-1]} {arr[step].item()!r} is not an integer."
            )
    if arr.dtype.kind == "b":
        raise TypeError(f"trajectory {i}: {what} must be integer indices, got booleans.")
    out_of_range = (arr < 0) | (arr >= n)
    if out_of_range.any():
        step = int(np.flatnonzero(out_of_range)[0])
        raise ValueError(
            f"trajectory {i}, step {step}: {what[:-1]} {arr[step].item()!r} is outside [0, {n})."
        )
    return arr.astype(np.intp)


def check_sample_weight(sample_weight, n_trajectories):
    """Validate per-trajectory weights and return them normalised to sum to 1.

    Parameters
    ----------
    sample_weight : array-like of shape (n_trajectories,) or None
        Non-negative finite weights, not all zero; None means equal weights.
    n_trajectories : int

    Returns
    -------
    weights : ndarray of shape (n_trajectories,)
        A new array summing to 1. The weights are divided by their maximum first, so weights
        near the largest float (whose sum would overflow) keep their proportions.

    Examples
    --------
    >>> from sklirl.demos import check_sample_weight
    >>> check_sample_weight([1, 3], 2).tolist()
    [0.25, 0.75]
    >>> check_sample_weight([1.0], 2)
    Traceback (most recent call last):
    ...
    ValueError: sample_weight has shape (1,); expected (2,), one weight per trajectory.
    """
    if sample_weight is None:
        return np.full(n_trajectories, 1.0 / n_trajectories)
    if isinstance(sample_weight, (str, bytes)):
        raise TypeError("sample_weight must be an array of numbers, one weight per trajectory.")
    try:
        w = np.array(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            "sample_weight must be an array of numbers, one weight per trajectory, got "
            f"{type(sample_weight).__name__}."
        ) from None
    if w.shape != (n_trajectories,):
        raise ValueError(
            f"sample_weight has shape {w.shape}; expected ({n_trajectories},), one weight per "
            "trajectory."
        )
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise ValueError("sample_weight must be finite and non-negative.")
    top = w.max()
    if top <= 0:
        raise ValueError("sample_weight must not be all zero.")
    w /= top
    return w / w.sum()


def check_demos(
    demos, *, n_states=None, n_actions=None, min_length=1, allow_no_actions=False, env=None,
    strict=False,
):
    """Coerce and validate demonstrations into a list of :class:`Trajectory`.

    This is the single validation function used by every estimator, expectation and
    metric that accepts demonstrations.

    Parameters
    ----------
    demos : sequence
        A list (or other sequence) whose items are :class:`Trajectory` objects,
        ``(states, actions)`` pairs, dicts with ``states``/``actions`` (or ``obs``/``acts``)
        keys, or objects with ``obs``/``acts`` (imitation) or ``observations``/``actions``
        (Minari) attributes. Whether an episode terminated is read from a ``Trajectory``'s
        or imitation's ``terminal``, or Minari's ``terminations``/``truncations``; a pair is
        a cut (non-terminal) demonstration.
    n_states : int, default=None
        If given, states must be integer indices in ``[0, n_states)`` (tabular environments).
    n_actions : int, default=None
        If given, actions must be integer indices in ``[0, n_actions)``.
    min_length : int, default=1
        Minimum number of actions (steps) in each trajectory.
    allow_no_actions : bool, default=False
        Whether state-only demonstrations (``actions=None``) are accepted. Estimators that
        learn from states alone pass True; the others get a ``ValueError`` that says the
        estimator needs actions.
    env : TabularMDP, default=None
        Check the demonstrations against this model too (``n_states`` and ``n_actions`` then
        default to the env's): a transition the model gives probability 0, a demonstration
        longer than a finite horizon (the estimators use its first ``horizon`` steps), and a
        ``terminal`` demonstration whose last state is neither terminal nor absorbing in the
        model (it is then used as a cut one) each give one warning naming the first
        trajectory and step concerned.
    strict : bool, default=False
        With ``env``: raise ``ValueError`` instead of warning.

    Returns
    -------
    trajectories : list of Trajectory
        New validated trajectories; the inputs are never modified.

    Raises
    ------
    TypeError
        If ``demos`` is not a sequence, or an item has an unsupported type or dtype.
    ValueError
        If ``demos`` is empty, or an item has NaN values, out-of-range or non-integer
        indices, mismatched lengths or the wrong dimensionality. The message names the
        trajectory and step.

    Examples
    --------
    >>> from sklirl.demos import check_demos
    >>> check_demos([([0, 1, 2], [1, 1])], n_states=3, n_actions=2)
    [Trajectory(n_steps=2, states=array([0, 1, 2]), actions=array([1, 1]))]
    >>> check_demos([([0, 5], [1])], n_states=3)
    Traceback (most recent call last):
    ...
    ValueError: trajectory 0, step 1: state 5 is outside [0, 3).
    """
    if env is not None:
        n_states = env.n_states if n_states is None else n_states
        n_actions = env.n_actions if n_actions is None else n_actions
    if isinstance(demos, (str, bytes, Trajectory, dict)) or isinstance(demos, np.ndarray):
        raise TypeError(
            "demos must be a list of trajectories (Trajectory objects or (states, actions) "
            f"pairs), got {type(demos).__name__}."
        )
    if not isinstance(demos, Sequence):
        try:
            demos = list(demos)
        except TypeError:
            raise TypeError(
                f"demos must be a list of trajectories, got {type(demos).__name__}."
            ) from None
    if len(demos) == 0:
        raise ValueError("demos is empty: at least one trajectory is required.")
    out = []
    obs_shape = None
    for i, demo in enumerate(demos):
        states, actions, terminal = _extract(demo, i)
        states = _as_numeric(states, "states", i)
        if actions is None:
            if not allow_no_actions:
                raise ValueError(
                    f"trajectory {i} has no actions (a state-only demonstration); this "
                    "estimator needs the demonstrator's actions."
                )
            n_a = len(states) - 1
        else:
            actions = _as_numeric(actions, "actions", i)
            n_a = len(actions)
        if n_a < min_length:
            raise ValueError(
                f"trajectory {i} has {n_a} actions; at least {min_length} required."
            )
        if actions is not None and len(states) not in (n_a, n_a + 1):
            raise ValueError(
                f"trajectory {i}: {len(states)} states for {n_a} actions; states must have "
                "length T + 1 (final state included) or T."
            )
        if n_states is not None:
            states = _as_indices(states, "states", i, n_states)
        elif obs_shape is None:
            obs_shape = states.shape[1:]
        elif states.shape[1:] != obs_shape:
            raise ValueError(
                f"trajectory {i}: states have shape {states.shape[1:]} per step, but earlier "
                f"trajectories have {obs_shape}."
            )
        if n_actions is not None and actions is not None:
            actions = _as_indices(actions, "actions", i, n_actions)
        out.append(Trajectory(states, actions, terminal=terminal))
    if env is not None:
        check_demos_in_model(out, env, strict=strict)
    return out


def terminal_end(traj, absorbing, terminal, self_absorbing):
    """How a ``terminal=True`` tabular trajectory continues after its last step.

    Returns ``None`` when it cannot (it is then used as a cut one), else ``(cell, sink)``: the
    terminal cell occupied one step before the absorbing state (None when the trajectory's
    last state is already absorbing) and the absorbing state.
    """
    if not traj.has_final_state:
        return None if absorbing is None else (None, absorbing)
    last = int(traj.states[-1])
    if last == absorbing or (absorbing is None and self_absorbing(last)):
        return (None, last)
    if absorbing is not None and terminal[last]:
        return (last, absorbing)
    return None


def check_demos_in_model(trajectories, env, *, strict=False):
    """Warn (or raise, ``strict=True``) where validated tabular demos disagree with a model.

    Parameters
    ----------
    trajectories : list of Trajectory
        Output of :func:`check_demos` for the env's state and action counts.
    env : TabularMDP
    strict : bool, default=False

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.demos import check_demos
    >>> from sklirl.envs import TabularMDP
    >>> P = np.zeros((2, 1, 2)); P[0, 0, 1] = P[1, 0, 1] = 1  # 0 -> 1 -> 1
    >>> check_demos([([1, 0], [0])], env=TabularMDP(P, gamma=0.9), strict=True)
    Traceback (most recent call last):
    ...
    ValueError: trajectory 0, step 0: the transition 1 -(action 0)-> 0 has probability 0 ...
    """
    problems = []
    P = env.transition_matrix
    A = env.n_actions
    absorbing, terminal, self_absorbing = absorbing_and_terminal(env)
    # every transition of every trajectory in one sparse lookup
    rows, cols, owner, step = [], [], [], []
    for i, t in enumerate(trajectories):
        if not (t.has_final_state and len(t)):
            continue
        s, ns = t.states[:-1], t.states[1:]
        if t.actions is None:  # state-only: possible if some action makes the move
            rows.append((s[:, None] * A + np.arange(A)).ravel())
            cols.append(np.repeat(ns, A))
            owner.append(np.full(len(s) * A, i))
            step.append(np.repeat(np.arange(len(s)), A))
        else:
            rows.append(s * A + t.actions)
            cols.append(ns)
            owner.append(np.full(len(s), i))
            step.append(np.arange(len(s)))
    impossible = []
    if rows:
        prob = np.asarray(P[np.concatenate(rows), np.concatenate(cols)]).ravel()
        owner, step = np.concatenate(owner), np.concatenate(step)
        # a (trajectory, step) is impossible when none of its entries has probability > 0
        key = owner.astype(np.int64) * (int(step.max()) + 1) + step
        uniq, inverse = np.unique(key, return_inverse=True)
        possible = np.zeros(len(uniq), dtype=bool)
        np.logical_or.at(possible, inverse, prob > 0)
        first = np.zeros(len(uniq), dtype=np.intp)
        first[inverse[::-1]] = np.arange(len(key))[::-1]
        bad_owner, bad_step = owner[first[~possible]], step[first[~possible]]
        for i in np.unique(bad_owner):
            steps = bad_step[bad_owner == i]
            impossible.append((int(i), int(steps.min()), len(steps)))
    if impossible:
        i, step, _ = impossible[0]
        t = trajectories[i]
        move = (f"{t.states[step]} -> {t.states[step + 1]}" if t.actions is None else
                f"{t.states[step]} -(action {t.actions[step]})-> {t.states[step + 1]}")
        total = sum(n for *_, n in impossible)
        more = (f" ({total} such transitions in {len(impossible)} trajectories)"
                if total > 1 else "")
        problems.append(
            f"trajectory {i}, step {step}: the transition {move} has probability 0 under the "
            f"env{more}. The demos were not recorded in this model (a gymnasium env's model "
            "comes from sklirl.envs.from_gymnasium(env))."
        )
    if env.finite_horizon:
        long = [i for i, t in enumerate(trajectories) if len(t) > env.horizon]
        if long:
            i = long[0]
            problems.append(
                f"trajectory {i} has {len(trajectories[i])} steps, more than the env's horizon "
                f"{env.horizon} ({len(long)} such trajectories); only their first "
                f"{env.horizon} steps are used."
            )
    cut = [i for i, t in enumerate(trajectories)
           if t.terminal and terminal_end(t, absorbing, terminal, self_absorbing) is None]
    if cut:
        i = cut[0]
        t = trajectories[i]
        where = (f"its last state {int(t.states[-1])} is not terminal in the env"
                 if t.has_final_state else "the env has no absorbing state")
        problems.append(
            f"trajectory {i}, step {len(t)}: the demonstration is terminal=True but {where} "
            f"({len(cut)} such trajectories); it is used as a cut one. Mark the model's "
            "terminal states with TabularMDP(..., absorbing_state=) (see the user guide's "
            "'Episodes that end')."
        )
    if problems:
        if strict:
            raise ValueError(" ".join(problems))
        from .utils._warnings import warn_user

        for message in problems:
            warn_user(message)


def save_demos(path, demos):
    """Save demonstrations to a ``.npz`` file that loads without pickle.

    Parameters
    ----------
    path : str or path-like
        Destination file.
    demos : sequence
        Demonstrations in any format accepted by :func:`check_demos`.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklirl.demos import save_demos, load_demos
    >>> path = os.path.join(tempfile.mkdtemp(), "demos.npz")
    >>> save_demos(path, [([0, 1, 2], [1, 0]), ([2, 2], [0])])
    >>> [len(t) for t in load_demos(path)]
    [2, 1]
    """
    trajs = check_demos(demos, allow_no_actions=True)
    has_actions = np.array([t.actions is not None for t in trajs])
    with_actions = [t.actions for t in trajs if t.actions is not None]
    np.savez(
        os.fspath(path),
        states=np.concatenate([t.states for t in trajs]),
        actions=np.concatenate(with_actions) if with_actions else np.zeros(0, dtype=np.int64),
        state_lengths=np.array([len(t.states) for t in trajs], dtype=np.int64),
        action_lengths=np.array([0 if t.actions is None else len(t.actions) for t in trajs],
                                dtype=np.int64),
        terminal=np.array([t.terminal for t in trajs], dtype=bool),
        has_actions=has_actions,
    )


def load_demos(path):
    """Load demonstrations written by :func:`save_demos` (never unpickles).

    Parameters
    ----------
    path : str or path-like
        A ``.npz`` file written by :func:`save_demos`.

    Returns
    -------
    trajectories : list of Trajectory
        With their ``terminal`` flags (state-only trajectories keep ``actions=None``);
        validated like any demos (:func:`check_demos`); a file that is not a demos file, or
        whose lengths do not match its arrays, raises ``ValueError``.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklirl.demos import Trajectory, load_demos, save_demos
    >>> path = os.path.join(tempfile.mkdtemp(), "demos.npz")
    >>> save_demos(path, [Trajectory([0, 1, 2], [1, 0], terminal=True)])
    >>> (traj,) = load_demos(path)
    >>> traj.states.tolist(), traj.actions.tolist(), traj.terminal
    ([0, 1, 2], [1, 0], True)
    """
    with np.load(os.fspath(path), allow_pickle=False) as data:
        missing = {"states", "actions", "state_lengths", "action_lengths"} - set(data.files)
        if missing:
            raise ValueError(f"{path} is not a demos file: missing arrays {sorted(missing)}.")
        states, actions = data["states"], data["actions"]
        s_len, a_len = data["state_lengths"], data["action_lengths"]
        # files written before the terminal flag existed hold cut, action-labelled demos
        terminal = data["terminal"] if "terminal" in data.files else np.zeros(len(s_len), bool)
        has_actions = (data["has_actions"] if "has_actions" in data.files
                       else np.ones(len(s_len), bool))
    if (len(s_len) != len(a_len) or s_len.sum() != len(states) or a_len.sum() != len(actions)
            or terminal.shape != s_len.shape or has_actions.shape != s_len.shape
            or terminal.dtype != bool or has_actions.dtype != bool):
        raise ValueError(f"{path} is corrupt: trajectory lengths do not match the arrays.")
    s_split = np.split(states, np.cumsum(s_len)[:-1])
    a_split = np.split(actions, np.cumsum(a_len)[:-1])
    return check_demos(
        [Trajectory(st, act if has else None, terminal=bool(term))
         for st, act, has, term in zip(s_split, a_split, has_actions, terminal)],
        allow_no_actions=True,
    )
