"""torch helpers shared by the estimators, the discriminator and PPO (imported only with torch).

The one home of: the torch thread setting for small networks (:func:`torch_threads`) and the
``device`` parameter's resolution (:func:`resolve_device`).
"""

import contextlib

from ._optional import import_torch


@contextlib.contextmanager
def torch_threads(n_threads=1):
    """Run with ``n_threads`` torch intra-op threads, restoring torch's setting afterwards.

    The library's networks are small: intra-op threads only add synchronisation (steps 10x to
    50x slower measured on a loaded 2-core machine), so fits run single-threaded on the CPU.
    ``None`` leaves the setting alone.
    """
    torch = import_torch("sklirl")
    previous = torch.get_num_threads()
    if n_threads is None or n_threads == previous:
        yield
        return
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def resolve_device(device):
    """``"auto"``: CUDA when available; else the torch device string (``ValueError`` if
    unusable)."""
    torch = import_torch("sklirl")
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be 'cpu', 'cuda', 'auto' or a torch device string, got {device!r}."
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available.")
    return str(resolved)
