"""torch helpers shared by the estimators, the discriminator and PPO (imported only with torch).

The one home of: the torch thread setting for small networks (:func:`torch_threads`), the
``device`` parameter's resolution (:func:`resolve_device`) and the MLP builder (:func:`mlp`).
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


def mlp(in_dim, hidden_layer_sizes, out_dim, activation=None, init=None):
    """``Linear`` layers through ``hidden_layer_sizes`` to ``out_dim`` outputs, ``activation``
    (a module class, ReLU by default) between them; ``init(layer, is_output)`` re-initialises
    each layer as it is made (torch's default initialisation otherwise)."""
    nn = import_torch("sklirl").nn
    activation = nn.ReLU if activation is None else activation
    layers, sizes = [], [in_dim, *hidden_layer_sizes, out_dim]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer, is_output = nn.Linear(a, b), i == len(sizes) - 2
        if init is not None:
            init(layer, is_output)
        layers += [layer] if is_output else [layer, activation()]
    return nn.Sequential(*layers)
