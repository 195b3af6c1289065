"""Up-front resource checks: refuse sizes whose memory or running time is absurd.

A horizon of ``2**40``, a ``GridWorld(10**9)`` or a million-year Monte Carlo rollout should
fail at once with a message that gives the size and the estimate, not after a MemoryError
deep in numpy, a killed process or a computation that would run for months. Every entry
point that allocates or loops in proportion to a user-given size calls :func:`check_memory`
or :func:`check_work` with its own estimate, before allocating.

The limits are generous: memory beyond the machine's physical RAM (``os.sysconf``), and work
beyond ``MAX_OPERATIONS`` elementary operations (about a day at 1e9 per second); anything
below them is left to run.
"""

from __future__ import annotations

import os

__all__ = ["MAX_OPERATIONS", "check_memory", "check_work", "format_bytes", "physical_memory"]

#: Elementary operations (array element updates, or ~1e4 per Python-level loop step) beyond
#: which a computation is refused: about a day at 1e9 per second.
MAX_OPERATIONS = 1e14

# Used when the platform does not report its memory (the check then only catches the absurd).
_FALLBACK_MEMORY = 2.0**40


def physical_memory():
    """The machine's physical memory in bytes (``os.sysconf``), or 1 TiB when unknown."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE")) * float(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX platforms
        return _FALLBACK_MEMORY


def format_bytes(n_bytes):
    """``n_bytes`` in binary units: ``format_bytes(3 * 2**40)`` is ``'3 TiB'``.

    Examples
    --------
    >>> from sklirl.utils._resources import format_bytes
    >>> format_bytes(1536), format_bytes(49 * 2.0**50)
    ('1.5 KiB', '49 PiB')
    """
    n = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"  # pragma: no cover


def check_memory(n_bytes, what, hint=""):
    """Raise ``ValueError`` if ``what`` needs more than the machine's physical memory.

    Parameters
    ----------
    n_bytes : float
        The estimate (compute it in float: sizes like ``2**40 * S * A * 8`` overflow int64).
    what : str
        What would be allocated, with its size: ``"occupancy_measure(per_step=True) over
        horizon 1099511627776 (S=9, A=4)"``.
    hint : str, default=""
        What to do instead.

    Examples
    --------
    >>> from sklirl.utils._resources import check_memory
    >>> check_memory(8e6, "a small array")
    >>> check_memory(8.0 * 2**60, "an array of 2**60 floats")
    Traceback (most recent call last):
    ...
    ValueError: an array of 2**60 floats needs about 8 EiB of memory, ...
    """
    available = physical_memory()
    if not float(n_bytes) <= available:
        raise ValueError(
            f"{what} needs about {format_bytes(n_bytes)} of memory, more than this machine's "
            f"{format_bytes(available)}." + (f" {hint}" if hint else "")
        )


def check_work(n_operations, what, hint=""):
    """Raise ``ValueError`` if ``what`` would take more than ``MAX_OPERATIONS`` operations.

    Examples
    --------
    >>> from sklirl.utils._resources import check_work
    >>> check_work(1e9, "a second of work")
    >>> check_work(2.0**40 * 1e4, "2**40 Python-level steps")
    Traceback (most recent call last):
    ...
    ValueError: 2**40 Python-level steps would take about 1.1e+16 operations ...
    """
    n = float(n_operations)
    if not n <= MAX_OPERATIONS:
        days = n / 1e9 / 86400
        raise ValueError(
            f"{what} would take about {n:.2g} operations (~{days:.3g} days at 1e9 per "
            f"second), beyond the {MAX_OPERATIONS:.0e} this library runs without asking."
            + (f" {hint}" if hint else "")
        )
