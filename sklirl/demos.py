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

from .utils._numeric import as_float_array, check_size, refuse_grad
from .utils._resources import check_memory

__all__ = ["Trajectory", "check_demos", "check_sample_weight", "save_demos", "load_demos"]


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
    actions : array-like of shape (T, ...)
        Actions taken in ``states[:T]``.

    Attributes
    ----------
    states : ndarray
        Read-only copy of the states.
    actions : ndarray
        Read-only copy of the actions.

    Examples
    --------
    >>> from sklirl import Trajectory
    >>> traj = Trajectory(states=[0, 1, 2], actions=[1, 1])
    >>> len(traj), traj.states.tolist(), traj.actions.tolist()
    (2, [0, 1, 2], [1, 1])
    """

    states: np.ndarray
    actions: np.ndarray

    def __post_init__(self):
        states = _frozen_array(self.states, "states")
        actions = _frozen_array(self.actions, "actions")
        if states.ndim == 0 or actions.ndim == 0:
            raise ValueError(
                "Trajectory states and actions must be sequences, got "
                f"states.ndim={states.ndim}, actions.ndim={actions.ndim}."
            )
        n_s, n_a = len(states), len(actions)
        if n_s not in (n_a, n_a + 1):
            raise ValueError(
                f"Trajectory has {n_s} states and {n_a} actions; states must have length "
                f"T + 1 (final state included) or T for T actions."
            )
        object.__setattr__(self, "states", states)
        object.__setattr__(self, "actions", actions)

    def __len__(self):
        """Number of actions (steps) in the trajectory."""
        return len(self.actions)

    def __eq__(self, other):
        if not isinstance(other, Trajectory):
            return NotImplemented
        return np.array_equal(self.states, other.states) and np.array_equal(
            self.actions, other.actions
        )

    __hash__ = None

    def __repr__(self):
        return f"Trajectory(n_steps={len(self)}, states={self.states!r}, actions={self.actions!r})"


def _extract_pair(demo, i):
    """Return (states, actions) from any of the accepted demonstration formats."""
    if isinstance(demo, Trajectory):
        return demo.states, demo.actions
    for s_name, a_name in (("obs", "acts"), ("observations", "actions")):
        if hasattr(demo, s_name) and hasattr(demo, a_name):
            return getattr(demo, s_name), getattr(demo, a_name)
    if isinstance(demo, dict):
        for s_name, a_name in (("obs", "acts"), ("observations", "actions"), ("states", "actions")):
            if s_name in demo and a_name in demo:
                return demo[s_name], demo[a_name]
        raise TypeError(
            f"demos[{i}] is a dict without 'states'/'actions', 'obs'/'acts' or "
            f"'observations'/'actions' keys (got keys {sorted(map(str, demo))})."
        )
    if isinstance(demo, (tuple, list)) and len(demo) == 2:
        return demo[0], demo[1]
    raise TypeError(
        f"demos[{i}] has type {type(demo).__name__}; expected a Trajectory, a (states, actions) "
        "pair, or an object with obs/acts or observations/actions attributes."
    )


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


def check_demos(demos, *, n_states=None, n_actions=None, min_length=1):
    """Coerce and validate demonstrations into a list of :class:`Trajectory`.

    This is the single validation function used by every estimator, expectation and
    metric that accepts demonstrations.

    Parameters
    ----------
    demos : sequence
        A list (or other sequence) whose items are :class:`Trajectory` objects,
        ``(states, actions)`` pairs, dicts with ``states``/``actions`` (or ``obs``/``acts``)
        keys, or objects with ``obs``/``acts`` (imitation) or ``observations``/``actions``
        (Minari) attributes.
    n_states : int, default=None
        If given, states must be integer indices in ``[0, n_states)`` (tabular environments).
    n_actions : int, default=None
        If given, actions must be integer indices in ``[0, n_actions)``.
    min_length : int, default=1
        Minimum number of actions in each trajectory.

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
        states, actions = _extract_pair(demo, i)
        states = _as_numeric(states, "states", i)
        actions = _as_numeric(actions, "actions", i)
        n_a = len(actions)
        if n_a < min_length:
            raise ValueError(
                f"trajectory {i} has {n_a} actions; at least {min_length} required."
            )
        if len(states) not in (n_a, n_a + 1):
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
        if n_actions is not None:
            actions = _as_indices(actions, "actions", i, n_actions)
        out.append(Trajectory(states, actions))
    return out


def _check_int(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}.")
    return int(value)


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
    trajs = check_demos(demos)
    np.savez(
        _demos_file(path),
        **_pack([t.states for t in trajs], "states"),
        **_pack([t.actions for t in trajs], "actions"),
        state_lengths=np.array([len(t.states) for t in trajs], dtype=np.int64),
        action_lengths=np.array([len(t.actions) for t in trajs], dtype=np.int64),
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
        Validated like any demos (:func:`check_demos`). The file is validated before
        anything is allocated: a file that is not a demos archive, a truncated one, arrays
        of objects, headers that do not match their data, and lengths that are negative,
        fractional or do not add up raise ``ValueError``.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklirl.demos import Trajectory, load_demos, save_demos
    >>> path = os.path.join(tempfile.mkdtemp(), "demos.npz")
    >>> save_demos(path, [Trajectory([0, 1, 2], [1, 0])])
    >>> (traj,) = load_demos(path)
    >>> traj.states.tolist(), traj.actions.tolist()
    ([0, 1, 2], [1, 0])
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
        s_split = _unpack(data, "states", s_len)
        a_split = _unpack(data, "actions", a_len)
    return check_demos(list(zip(s_split, a_split)))
