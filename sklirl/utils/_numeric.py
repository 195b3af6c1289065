"""Coercion of user-given numbers: the one place that says which inputs count as numbers.

Every public function that takes real-valued arrays (probabilities, weights, rewards,
occupancies, feature expectations) goes through :func:`as_float_array`, so that strings
(``"0.5"``, which ``np.asarray(..., dtype=float)`` would silently parse), complex numbers
(whose imaginary part would be dropped), ``None`` and other objects, and torch tensors that
require grad are refused with a ``TypeError`` naming the argument, instead of being
converted, or failing deep inside numpy. Sizes go through :func:`check_size`.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_float_array", "check_size", "float_to_index", "refuse_grad"]


def as_float_array(values, name, *, copy=True, finite=False):
    """``values`` as a float64 array, refusing anything that is not a real number.

    Parameters
    ----------
    values : array-like
        Nested sequences or arrays of bool, int or float (numpy or torch without grad).
    name : str
        The argument's name, for the messages.
    copy : bool, default=True
        Always return a new array (callers may then modify it).
    finite : bool, default=False
        Also refuse NaN and infinite entries (``ValueError``).

    Returns
    -------
    array : ndarray of float64

    Examples
    --------
    >>> from sklirl.utils._numeric import as_float_array
    >>> as_float_array([1, 2.5], "weights")
    array([1. , 2.5])
    >>> as_float_array(["0.5", "0.5"], "weights")
    Traceback (most recent call last):
    ...
    TypeError: weights must be numeric (real numbers), got an array of dtype <U3 (strings).
    """
    refuse_grad(values, name)
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"{name} must be an array of real numbers, got {type(values).__name__} that does "
            "not convert to one (ragged nesting or objects)."
        ) from None
    kind = arr.dtype.kind
    if kind not in "biuf":
        what = {"U": "strings", "S": "bytes", "O": "Python objects (None, ragged lists, ...)",
                "c": "complex numbers", "M": "datetimes", "m": "timedeltas"}.get(kind, "")
        raise TypeError(
            f"{name} must be numeric (real numbers), got an array of dtype {arr.dtype}"
            + (f" ({what})." if what else ".")
        )
    out = np.array(arr, dtype=np.float64, copy=True) if copy else arr.astype(np.float64,
                                                                               copy=False)
    if finite and not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite (it contains NaN or infinite entries).")
    return out


def refuse_grad(values, name):
    """A TypeError for a torch tensor that requires grad (numpy cannot read it)."""
    if getattr(values, "requires_grad", False) and hasattr(values, "detach"):
        raise TypeError(
            f"{name} is a torch tensor that requires grad; pass {name}.detach() (sklirl does "
            "not differentiate through its inputs)."
        )


def check_size(value, name, *, minimum=1):
    """An integer size (``n_states``, ``n_envs``, a horizon): ints only, not floats like 9.5.

    Whole-number floats (``9.0``) are refused too: a size is a count, and the float usually
    comes from a computation that should be rounded on purpose.

    Examples
    --------
    >>> from sklirl.utils._numeric import check_size
    >>> check_size(9, "n_states")
    9
    >>> check_size(9.5, "n_states")
    Traceback (most recent call last):
    ...
    TypeError: n_states must be an int, got float 9.5.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def float_to_index(values, name, kind, n):
    """Whole-number floats as integer indices in ``[0, n)``, range-checked *before* the cast.

    Casting 1e20 to int64 gives -9223372036854775808 (and a message about a negative index):
    a float index must be finite, whole and in range first.
    """
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
        raise ValueError(f"{name} must be integer {kind} (got NaN, infinities or fractions).")
    bad = (values < 0) | (values >= n)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}] = {values[i]:g} is outside [0, {n}).")
    return values.astype(np.intp)
