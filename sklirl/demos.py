"""Demonstrations: the :class:`Trajectory` container, validation and persistence.

Every public entry point that accepts demonstrations calls :func:`check_demos`, the one
place where they are coerced and validated.
"""

from __future__ import annotations

import numbers
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .envs._tabular import absorbing_and_terminal
from .utils._numeric import as_float_array, check_size, refuse_grad
from .utils._resources import check_memory

__all__ = [
    "Trajectory", "check_demos", "check_demos_in_model", "check_sample_weight", "save_demos",
    "load_demos", "from_dataframe", "from_transitions",
]


def _frozen_array(values, name, dtype=None):
    refuse_grad(values, f"Trajectory {name}")
    arr = np.array(values, dtype=dtype, copy=True)
    if arr.dtype.kind not in "biuf":  # Trajectory([None], ...), strings, complex numbers
        raise TypeError(
            f"Trajectory {name} must be numbers (state indices or observation vectors, "
            f"action indices or vectors), got an array of dtype {arr.dtype}."
        )
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
    refuse_grad(values, f"trajectory {i}: {what}")
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
    w = as_float_array(sample_weight, "sample_weight")
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
    if _is_flat_transitions(demos):  # imitation's Transitions: split at the dones
        demos = from_transitions(demos)
    _reject_transition_batches(demos)
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
    n_states = None if n_states is None else check_size(n_states, "n_states")
    n_actions = None if n_actions is None else check_size(n_actions, "n_actions")
    out = []
    obs_shape = None
    for i, demo in enumerate(demos):
        _reject_transition_item(demo, i)
        states, actions, terminal = _extract(demo, i)
        states = _as_numeric(states, "states", i)
        if actions is None:
            if not allow_no_actions:
                raise _no_actions_error(None, i, "this estimator needs the demonstrator's actions")
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
    if not isinstance(demos[0], Trajectory):  # a raw pair from the user, not a validated demo
        _warn_if_concatenated(out)
    if env is not None:
        check_demos_in_model(out, env, strict=strict)
    return out


def _no_actions_error(who, index, why):
    where = "" if who is None else f"{who}: "
    return ValueError(
        f"{where}trajectory {index} has no actions (a state-only demonstration); {why}."
    )


def _require_actions(trajectories, who, why):
    """Raise a ``ValueError`` naming ``who``, the first state-only trajectory of validated
    ``trajectories`` and ``why`` the actions are needed (a phrase); nothing when all have
    actions."""
    for i, traj in enumerate(trajectories):
        if traj.actions is None:
            raise _no_actions_error(who, i, why)


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


def _demos_file(path, for_reading=False):
    """The file name both functions use: ``.npz`` appended when missing (as ``np.savez`` does),
    so that ``save_demos("x", ...)`` then ``load_demos("x")`` find the same ``x.npz``."""
    path = os.fspath(path)
    if path.endswith(".npz") or (for_reading and os.path.isfile(path)):
        return path
    return path + ".npz"


def _pack(arrays, name):
    """Arrays of the trajectories under ``name``, concatenated without changing any value.

    One array when they share a dtype (the usual case). Mixed dtypes (int64 state indices next
    to float observations) are never promoted to a common one, which would round integers
    above 2**53: each dtype gets its own concatenation ``name__<dtype>`` and ``name__dtypes``
    records which one each trajectory is in.
    """
    dtypes = [a.dtype.str for a in arrays]
    if len(set(dtypes)) <= 1:
        return {name: np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)}
    packed = {f"{name}__dtypes": np.array(dtypes)}
    for dtype in sorted(set(dtypes)):
        packed[f"{name}__{dtype}"] = np.concatenate(
            [a for a, d in zip(arrays, dtypes) if d == dtype])
    return packed


def _unpack(data, name, lengths):
    """The per-trajectory arrays stored by :func:`_pack` (``lengths`` already validated)."""
    if name in data:
        return np.split(data[name], np.cumsum(lengths)[:-1])
    dtypes = data[f"{name}__dtypes"]
    out, offsets = [], {}
    for dtype, n in zip(dtypes.tolist(), lengths.tolist()):
        group = data[f"{name}__{dtype}"]
        start = offsets.get(dtype, 0)
        out.append(group[start:start + n])
        offsets[dtype] = start + n
    return out


def save_demos(path, demos):
    """Save demonstrations to a ``.npz`` file that loads without pickle.

    Parameters
    ----------
    path : str or path-like
        Destination file; ``.npz`` is appended when missing (:func:`load_demos` does the
        same, so both take the same name).
    demos : sequence
        Demonstrations in any format accepted by :func:`check_demos`. Values are stored
        exactly, in each trajectory's own dtype (integer states above 2**53 stay exact).

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
    # state-only trajectories store no actions: an empty run (of a dtype already present) keeps
    # the per-trajectory packing aligned with action_lengths
    fill = next((t.actions.dtype for t in trajs if t.actions is not None), np.dtype(np.int64))
    with_actions = [np.empty(0, fill) if t.actions is None else t.actions for t in trajs]
    np.savez(
        _demos_file(path),
        **_pack([t.states for t in trajs], "states"),
        **_pack(with_actions, "actions"),
        state_lengths=np.array([len(t.states) for t in trajs], dtype=np.int64),
        action_lengths=np.array([0 if t.actions is None else len(t.actions) for t in trajs],
                                dtype=np.int64),
        terminal=np.array([t.terminal for t in trajs], dtype=bool),
        has_actions=has_actions,
    )


# What each array of a demos file may hold: numbers (never objects, which need pickle).
_LENGTHS = ("state_lengths", "action_lengths")


def _check_demos_archive(path):
    """Validate a demos archive's structure and array headers before anything is allocated.

    Returns the uncompressed size of every member. Reads only the zip directory and each
    ``.npy`` header: a header declaring 10^14 elements, an object array (which would need
    pickle), a truncated or foreign file are all refused here.
    """
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic == b"\x93NUMPY":
        raise ValueError(
            f"{path} is a single .npy array, not a demos file (a .npz archive written by "
            "sklirl.demos.save_demos)."
        )
    if not magic.startswith(b"PK"):
        raise ValueError(
            f"{path} is not a demos file: not a .npz (zip) archive written by "
            "sklirl.demos.save_demos."
        )
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"{path} is a corrupt or truncated demos file ({exc}).") from None
    sizes = {}
    with archive:
        total = 0.0
        for info in archive.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            try:
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                                   (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                    if read_header is None:
                        raise ValueError(f"unsupported .npy format version {version}")
                    shape, _, dtype = read_header(member)
                    header = member.tell() if member.seekable() else None
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
                raise ValueError(
                    f"{path} is a corrupt demos file: array {name!r} has no valid header "
                    f"({exc})."
                ) from None
            if dtype.hasobject or (dtype.kind not in "biuf" and not name.endswith("__dtypes")):
                raise ValueError(
                    f"{path}: array {name!r} has dtype {dtype}; a demos file holds numbers only "
                    "(object arrays are refused: they would need pickle)."
                )
            n_elements = float(np.prod(shape, dtype=np.float64))
            declared = n_elements * dtype.itemsize
            if header is not None and declared != info.file_size - header:
                raise ValueError(
                    f"{path} is a corrupt demos file: array {name!r} declares shape {shape} "
                    f"({declared:.3g} bytes) but holds {info.file_size - header} bytes."
                )
            total += declared
            sizes[name] = (shape, dtype)
        check_memory(total, f"loading the demos file {path}")
        bad = archive.testzip()
        if bad is not None:
            raise ValueError(f"{path} is a corrupt demos file: member {bad!r} fails its CRC.")
    return sizes


def load_demos(path):
    """Load demonstrations written by :func:`save_demos` (never unpickles).

    Parameters
    ----------
    path : str or path-like
        A ``.npz`` file written by :func:`save_demos` (``.npz`` is appended to a name that
        is not a file, as :func:`save_demos` does).

    Returns
    -------
    trajectories : list of Trajectory
        With their ``terminal`` flags (state-only trajectories keep ``actions=None``);
        validated like any demos (:func:`check_demos`); a file that is not a demos file, or
        whose lengths do not match its arrays, raises ``ValueError``. The file is validated
        before anything is allocated: a file that is not a demos archive, a truncated one,
        arrays of objects, headers that do not match their data, and lengths that are
        negative, fractional or do not add up raise ``ValueError``.

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
    path = _demos_file(path, for_reading=True)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no demos file {path}.")
    sizes = _check_demos_archive(path)
    missing = [n for n in _LENGTHS if n not in sizes] + [
        n for n in ("states", "actions") if n not in sizes and f"{n}__dtypes" not in sizes
    ]
    if missing:
        raise ValueError(f"{path} is not a demos file: missing arrays {sorted(missing)}.")
    for name in _LENGTHS:
        shape, dtype = sizes[name]
        if len(shape) != 1 or dtype.kind not in "iu":
            raise ValueError(
                f"{path} is corrupt: {name} must be a 1-D integer array, got shape {shape} "
                f"and dtype {dtype}."
            )
    with np.load(path, allow_pickle=False) as data:
        s_len, a_len = data["state_lengths"], data["action_lengths"]
        if len(s_len) != len(a_len) or (s_len < 0).any() or (a_len < 0).any():
            raise ValueError(f"{path} is corrupt: trajectory lengths are negative or unpaired.")
        for name, lengths in (("states", s_len), ("actions", a_len)):
            names = [name] if name in sizes else [n for n in sizes if n.startswith(f"{name}__")
                                                  and n != f"{name}__dtypes"]
            stored = sum(int(np.prod(sizes[n][0][:1])) for n in names)
            if any(len(sizes[n][0]) == 0 for n in names) or lengths.sum() != stored:
                raise ValueError(
                    f"{path} is corrupt: trajectory lengths do not match the arrays."
                )
            if name not in sizes:
                dtypes = data[f"{name}__dtypes"]
                counts = {n[len(name) + 2:]: sizes[n][0][0] for n in names}
                if dtypes.shape != lengths.shape or any(
                        lengths[dtypes == d].sum() != c for d, c in counts.items()) or not set(
                        dtypes.tolist()) <= set(counts):
                    raise ValueError(
                        f"{path} is corrupt: trajectory lengths do not match the arrays."
                    )
        # files written before the terminal flag existed hold cut, action-labelled demos
        terminal = data["terminal"] if "terminal" in data.files else np.zeros(len(s_len), bool)
        has_actions = (data["has_actions"] if "has_actions" in data.files
                       else np.ones(len(s_len), bool))
        if (terminal.shape != s_len.shape or has_actions.shape != s_len.shape
                or terminal.dtype != bool or has_actions.dtype != bool):
            raise ValueError(f"{path} is corrupt: trajectory flags do not match the lengths.")
        s_split = _unpack(data, "states", s_len)
        a_split = _unpack(data, "actions", a_len)
    return check_demos(
        [Trajectory(st, act if has else None, terminal=bool(term))
         for st, act, has, term in zip(s_split, a_split, has_actions, terminal)],
        allow_no_actions=True,
    )



# -- logs in other shapes: tables of steps, flattened transitions ---------------------------------
def _make_trajectory(states, actions, terminal=False):
    if terminal and "terminal" in getattr(Trajectory, "__dataclass_fields__", {}):
        return Trajectory(states, actions, terminal=True)
    return Trajectory(states, actions)


# -- tables -----------------------------------------------------------------------------------
def _column(df, name, n=None):
    """One column of a DataFrame-like object (pandas, polars, a dict of arrays) as ndarray."""
    try:
        col = df[name]
    except (KeyError, IndexError, TypeError, ValueError):
        columns = getattr(df, "columns", None)
        if columns is None and hasattr(df, "keys"):
            columns = list(df.keys())
        known = "" if columns is None else f" (columns: {list(columns)})"
        raise ValueError(f"the table has no column {name!r}{known}.") from None
    values = col.to_numpy() if hasattr(col, "to_numpy") else col
    try:
        arr = np.asarray(values)
    except ValueError:
        raise ValueError(f"column {name!r} is ragged: give one value per row.") from None
    if arr.ndim != 1:
        raise ValueError(f"column {name!r} must be one value per row, got shape {arr.shape}.")
    if n is not None and len(arr) != n:
        raise ValueError(f"column {name!r} has {len(arr)} rows; other columns have {n}.")
    return arr


def _missing(arr):
    """Boolean mask of missing entries (NaN, None, pandas' NA) of a 1-D column."""
    if arr.dtype.kind == "f":
        return np.isnan(arr)
    if arr.dtype.kind == "M" or arr.dtype.kind == "m":
        return np.isnat(arr)
    if arr.dtype == object:
        return np.array([v is None or (isinstance(v, float) and v != v)
                         or type(v).__name__ in ("NAType", "NaTType") for v in arr], dtype=bool)
    return np.zeros(len(arr), dtype=bool)


def _row_labels(df, n):
    index = getattr(df, "index", None)
    try:
        labels = np.asarray(index) if index is not None else None
    except (TypeError, ValueError):
        labels = None
    if labels is None or labels.ndim != 1 or len(labels) != n:
        return None
    return labels.tolist()


def _as_float_values(arr, name):
    if arr.dtype == object:
        arr = np.where(_missing(arr), np.nan, arr)
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"column {name!r} must be numeric, got values such as {arr[:1].tolist()}; encode "
                "categories as integers first (e.g. pandas.factorize)."
            ) from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"column {name!r} must be numeric, got dtype {arr.dtype} (e.g. {arr[:1].tolist()}); "
            "encode categories as integers first (e.g. pandas.factorize)."
        )
    return arr


def from_dataframe(df, *, episode, state, action, time=None, terminal=None, n_states=None,
                   n_actions=None):
    """Trajectories from a table of logged steps, one row per step.

    Parameters
    ----------
    df : DataFrame-like
        Any object whose ``df[column]`` gives a column (pandas or polars DataFrames, a dict of
        arrays); pandas is not required. Rows may come in any order.
    episode : str
        Column of episode identifiers (any hashable values).
    state : str or list of str
        The state column (integer state indices for a tabular env), or several columns that
        make one observation vector per row.
    action : str
        Column of actions (numbers). The last row of an episode may have a missing action:
        its state is then the final state (the trajectory has ``T + 1`` states).
    time : str, default=None
        Column of time steps; rows are sorted by it within each episode, and integer times
        must be consecutive (no gaps, no duplicates). None keeps the rows' order.
    terminal : str, default=None
        Column of booleans: true on the last row of an episode that ended in a terminal state
        rather than being cut. It may be true only on an episode's last row.
    n_states, n_actions : int, default=None
        When given, states (actions) must be integer indices in ``[0, n)`` (tabular envs).

    Returns
    -------
    demos : list of Trajectory
        One per episode, in the order of each episode's first row.

    Raises
    ------
    ValueError
        Missing values, duplicated or missing time steps, an episode with a single row,
        non-integer or out-of-range states for a tabular env; the message names the episode
        and the row (its index label when ``df`` has one).

    Examples
    --------
    >>> from sklirl.demos import from_dataframe
    >>> logs = {"user": [7, 7, 3, 7, 3], "t": [1, 0, 0, 2, 1],
    ...         "s": [1, 0, 2, 2, 0], "a": [1, 0, 1, 0, 0]}
    >>> demos = from_dataframe(logs, episode="user", state="s", action="a", time="t")
    >>> [(d.states.tolist(), d.actions.tolist()) for d in demos]
    [([0, 1, 2], [0, 1, 0]), ([2, 0], [1, 0])]
    """
    columns = [state] if isinstance(state, str) else list(state)
    if not columns or not all(isinstance(c, str) for c in columns):
        raise TypeError(f"state must be a column name or a list of them, got {state!r}.")
    episodes = _column(df, episode)
    n = len(episodes)
    if n == 0:
        raise ValueError("the table has no rows.")
    labels = _row_labels(df, n)

    def where(rows, ep=None):
        r = int(rows)
        label = "" if labels is None or labels[r] == r else f" (index {labels[r]!r})"
        who = "" if ep is None else f"episode {ep!r}, "
        return f"{who}row {r}{label}"

    bad = _missing(episodes)
    if bad.any():
        raise ValueError(f"{where(np.flatnonzero(bad)[0])}: the episode id is missing.")
    episodes = episodes.tolist()  # plain Python values, for the messages
    state_cols = [_as_float_values(_column(df, c, n), c) for c in columns]
    actions = _as_float_values(_column(df, action, n), action)
    times = None if time is None else _column(df, time, n)
    term = None if terminal is None else _column(df, terminal, n)
    if times is not None:
        if times.dtype.kind not in "biufMm":
            times = _as_float_values(times, time)
        if _missing(times).any():
            r = np.flatnonzero(_missing(times))[0]
            raise ValueError(f"{where(r, episodes[r])}: the time step is missing.")
    # Group rows by episode, in order of first appearance.
    groups = {}
    for r, ep in enumerate(episodes):
        groups.setdefault(ep, []).append(r)
    demos = []
    for ep, rows in groups.items():
        rows = np.asarray(rows)
        if times is not None:
            t = times[rows]
            order = np.argsort(t, kind="stable")
            rows, t = rows[order], t[order]
            same = np.flatnonzero(t[1:] == t[:-1])
            if len(same):
                j = same[0]
                raise ValueError(
                    f"episode {ep!r}: time step {t[j].item()!r} appears twice, in "
                    f"{where(rows[j])} and {where(rows[j + 1])}."
                )
            if t.dtype.kind in "iuf":
                whole = np.isfinite(t) & (t == np.round(t))
                if whole.all():
                    jump = np.flatnonzero(np.diff(t) != 1)
                    if len(jump):
                        j = jump[0]
                        raise ValueError(
                            f"episode {ep!r}: time steps jump from {t[j].item()!r} "
                            f"({where(rows[j])}) to {t[j + 1].item()!r} "
                            f"({where(rows[j + 1])}); a trajectory needs every step."
                        )
        if len(rows) < 2:
            raise ValueError(
                f"{where(rows[0], ep)}: the episode has a single row, one step without its "
                "next state. Drop it, or build one-step demos directly as "
                "[(states, actions), ...]."
            )
        s = np.stack([c[rows] for c in state_cols], axis=1)
        a = actions[rows]
        for k, c in enumerate(columns):
            bad = ~np.isfinite(s[:, k].astype(np.float64))
            if bad.any():
                raise ValueError(
                    f"{where(rows[np.flatnonzero(bad)[0]], ep)}: state column {c!r} is missing "
                    "or not finite."
                )
        missing_a = ~np.isfinite(a.astype(np.float64))
        if missing_a[:-1].any():
            j = np.flatnonzero(missing_a[:-1])[0]
            raise ValueError(
                f"{where(rows[j], ep)}: the action is missing (only an episode's last row may "
                "lack one: its state is then the final state)."
            )
        if missing_a[-1]:
            a = a[:-1]
        done = False
        if term is not None:
            flags = term[rows]
            if _missing(flags).any():
                j = np.flatnonzero(_missing(flags))[0]
                raise ValueError(f"{where(rows[j], ep)}: the terminal flag is missing.")
            flags = flags.astype(bool)
            if flags[:-1].any():
                j = np.flatnonzero(flags[:-1])[0]
                raise ValueError(
                    f"{where(rows[j], ep)}: terminal is true before the episode's last row."
                )
            done = bool(flags[-1])
        s = s[:, 0] if len(columns) == 1 else s
        if n_states is not None:
            s = _checked_indices(s, n_states, "state", ep, rows, where)
        if n_actions is not None:
            a = _checked_indices(a, n_actions, "action", ep, rows, where)
        elif a.dtype.kind == "f" and np.all(a == np.round(a)):
            a = a.astype(np.int64)
        if s.dtype.kind == "f" and n_states is None and np.all(s == np.round(s)) and s.ndim == 1:
            s = s.astype(np.int64)
        demos.append(_make_trajectory(s, a, terminal=done))
    return demos


def _checked_indices(values, n, what, ep, rows, where):
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n_{what}s must be a positive int, got {n!r}.")
    if values.ndim != 1:
        raise ValueError(
            f"episode {ep!r}: a tabular env needs one integer {what} column, got "
            f"{values.shape[1]} columns."
        )
    nonint = values != np.round(values)
    if nonint.any():
        j = np.flatnonzero(nonint)[0]
        raise ValueError(
            f"{where(rows[j], ep)}: {what} {values[j].item()!r} is not an integer index (a "
            "tabular env needs integer states; discretise observations with "
            "sklirl.features.StateDiscretizer)."
        )
    outside = (values < 0) | (values >= n)
    if outside.any():
        j = np.flatnonzero(outside)[0]
        raise ValueError(f"{where(rows[j], ep)}: {what} {values[j].item()!r} is outside [0, {n}).")
    return values.astype(np.intp)


# -- other libraries' flat formats ------------------------------------------------------------
def _is_flat_transitions(obj):
    """imitation's ``Transitions``: flattened steps with ``obs, acts, next_obs, dones``."""
    return all(hasattr(obj, k) for k in ("obs", "acts", "next_obs", "dones"))


def from_transitions(transitions):
    """Trajectories from flattened transitions (imitation's ``Transitions``), split at ``dones``.

    Parameters
    ----------
    transitions : object
        With equal-length ``obs``, ``acts``, ``next_obs`` and ``dones`` attributes, in episode
        order (as ``imitation.data.rollout.flatten_trajectories`` makes them), and optionally
        ``infos`` (one dict, or None, per step).

    Returns
    -------
    demos : list of Trajectory
        Each with its final state (``T + 1`` states), from ``next_obs`` of its last step.

    Notes
    -----
    Whether each episode ended (``terminal``, see :ref:`terminal_states`) follows the
    source's ``dones``. imitation sets ``done`` on the last step of a trajectory whose episode
    terminated; an episode cut by a time limit is marked in that step's info dict with
    stable-baselines3's ``"TimeLimit.truncated": True``. So an episode that ends at a
    ``done`` is ``terminal=True``, unless the info of that step says
    ``TimeLimit.truncated`` (then ``terminal=False``: cut); the steps after the last
    ``done`` form a final, cut episode. A cut trajectory that imitation flattened before
    another one has no ``done`` at its end, so the two cannot be told apart from shuffled
    transitions: that is refused (pass the trajectories instead).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from sklirl.demos import from_transitions
    >>> flat = SimpleNamespace(obs=[0, 1, 5, 6], acts=[1, 1, 0, 1], next_obs=[1, 2, 6, 7],
    ...                        dones=[False, True, False, True])
    >>> [d.states.tolist() for d in from_transitions(flat)]
    [[0, 1, 2], [5, 6, 7]]
    >>> flat.infos = [{}, {}, {}, {"TimeLimit.truncated": True}]  # the second was cut
    >>> [d.terminal for d in from_transitions(flat)]
    [True, False]
    """
    if not _is_flat_transitions(transitions):
        raise TypeError(
            f"transitions must have obs, acts, next_obs and dones attributes, got "
            f"{type(transitions).__name__}."
        )
    obs, acts = np.asarray(transitions.obs), np.asarray(transitions.acts)
    next_obs, dones = np.asarray(transitions.next_obs), np.asarray(transitions.dones)
    n = len(obs)
    if not (len(acts) == len(next_obs) == len(dones) == n) or n == 0:
        raise ValueError(
            f"transitions must hold as many obs ({len(obs)}), acts ({len(acts)}), next_obs "
            f"({len(next_obs)}) and dones ({len(dones)}), at least one."
        )
    dones = dones.astype(bool)
    # Within an episode each step starts where the last one ended; shuffled transitions
    # (a DataLoader's batches) do not, and cannot be put back into episodes.
    linked = np.all((next_obs[:-1] == obs[1:]).reshape(n - 1, -1), axis=1) if n > 1 else []
    broken = np.flatnonzero(~np.asarray(linked, dtype=bool) & ~dones[:-1])
    if len(broken):
        i = int(broken[0])
        raise ValueError(
            f"transitions are not in episode order: step {i} ends in next_obs that is not "
            f"obs of step {i + 1}, and dones[{i}] is False. Pass the flattened transitions "
            "unshuffled (imitation.data.rollout.flatten_trajectories), or the trajectories."
        )
    truncated = _truncated_steps(getattr(transitions, "infos", None), n)
    ends = list(np.flatnonzero(dones) + 1)
    if not ends or ends[-1] != n:
        ends.append(n)
    demos, start = [], 0
    for end in ends:
        states = np.concatenate([obs[start:end], next_obs[end - 1 : end]])
        terminal = bool(dones[end - 1]) and not truncated[end - 1]
        demos.append(_make_trajectory(states, acts[start:end], terminal=terminal))
        start = end
    return demos


def _truncated_steps(infos, n):
    """Which steps' info dicts say the episode was cut by a time limit
    (stable-baselines3's ``"TimeLimit.truncated"``); all False without infos."""
    out = np.zeros(n, dtype=bool)
    if infos is None:
        return out
    if len(infos) != n:
        raise ValueError(
            f"transitions have {n} steps but {len(infos)} infos; give one info dict (or None) "
            "per step."
        )
    for i, info in enumerate(infos):
        if info is not None and not hasattr(info, "get"):
            raise TypeError(
                f"transitions.infos[{i}] must be a dict or None, got {type(info).__name__}."
            )
        out[i] = bool(info is not None and info.get("TimeLimit.truncated", False))
    return out


# -- hooks of check_demos ---------------------------------------------------------------------
_TRANSITION_KEYS = ("next_obs", "dones")


def _reject_transition_batches(demos):
    """Refuse a DataLoader (or any iterable) of transition batches before reading it."""
    kind = type(demos).__name__
    if kind == "DataLoader" or (hasattr(demos, "dataset") and hasattr(demos, "batch_size")):
        raise TypeError(
            f"demos is a {kind} of transition batches: shuffled batches are not trajectories "
            "and are not read as such. Pass the Transitions object itself (its dataset; "
            "sklirl splits it at its dones), sklirl.demos.from_transitions(transitions), or "
            "the trajectories."
        )


def _reject_transition_item(demo, i):
    """Refuse one item of demos that is a batch of flattened transitions."""
    keys = demo.keys() if isinstance(demo, dict) else ()
    if any(k in keys for k in _TRANSITION_KEYS) or (
        not isinstance(demo, dict) and _is_flat_transitions(demo)
    ):
        raise TypeError(
            f"demos[{i}] is a batch of flattened transitions (obs/acts/next_obs/dones, as an "
            "imitation DataLoader yields): its steps are not one trajectory. Pass the "
            "Transitions object itself (sklirl splits it at its dones), "
            "sklirl.demos.from_transitions(transitions), or the trajectories."
        )


def _warn_if_concatenated(trajectories):
    """Warn when one long trajectory keeps returning to its first state (several episodes
    logged back to back and passed as one ``(states, actions)`` pair): observation vectors
    that repeat the first one exactly, or states that are back at the first one at every
    multiple of some episode length."""
    if len(trajectories) != 1:
        return
    states = trajectories[0].states
    T = len(states)
    if T < 20:
        return
    first = states[0]
    returns = np.flatnonzero(np.all((states[1:] == first).reshape(T - 1, -1), axis=1)) + 1
    if len(returns) < 2:
        return
    if states.dtype.kind == "f" and states.ndim > 1:
        suspicious = True  # continuous observations rarely repeat exactly
    else:
        # the most common gap between returns, as the episode length L: back at the first
        # state at (nearly) every multiple of L, for at least 5 episodes
        L = int(np.bincount(np.diff(np.concatenate([[0], returns]))).argmax())
        at_multiples = np.all((states[::L] == first).reshape(-1, states[0].size), axis=1)
        suspicious = L >= 2 and T // L >= 5 and at_multiples.mean() >= 0.9
    if suspicious:
        from .utils._warnings import warn_user

        warn_user(
            f"demos is one trajectory of {T} states that returns to its first state "
            f"{len(returns)} times: it may be several episodes logged back to back. Pass a "
            "list of trajectories (sklirl.demos.from_dataframe splits a table of logs by "
            "episode, from_transitions flattened transitions at their dones).",
            UserWarning,
        )
