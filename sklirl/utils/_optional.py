"""Imports of optional dependencies with errors that say which extra to install."""

import contextlib
import importlib
import signal
import sys
import threading


def import_optional(module, feature, extra):
    """Import ``module`` or raise an ImportError naming the ``sklirl[extra]`` to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{feature} requires {module}, which is not installed. Install it with "
            f"pip install 'sklirl[{extra}]'."
        ) from exc


@contextlib.contextmanager
def _sigint_deferred():
    """Hold back Ctrl-C (SIGINT) until the block completes, then raise KeyboardInterrupt.

    A KeyboardInterrupt that lands inside ``import torch`` (or the sympy that torch imports
    lazily) leaves half-initialised extension modules behind: the next fit crashes with a
    SIGSEGV or ``module 'sympy' has no attribute 'core'``. Only the main thread receives
    signals; elsewhere, or with a handler that is not Python's default, nothing changes.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    received = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if received:
        raise KeyboardInterrupt


_TORCH_READY = False


def import_torch(feature):
    """Import torch for ``feature`` or explain how to install the ``torch`` extra.

    The first call imports torch *completely*, its lazily imported parts included (torch's
    optimizers import torch._dynamo and sympy on first use), with Ctrl-C deferred until the
    imports are done (:func:`_sigint_deferred`), so that an interrupted fit never leaves a
    half-imported module behind.
    """
    global _TORCH_READY
    if _TORCH_READY:
        return sys.modules["torch"]
    with _sigint_deferred():
        torch = import_optional("torch", feature, "torch")
        # What the first optimizer imports lazily (torch._dynamo, sympy, ...), done here.
        param = torch.zeros(1, requires_grad=True)
        torch.optim.Adam([param]).zero_grad()
        _TORCH_READY = True
    return torch


def import_gymnasium(feature):
    """Import gymnasium for ``feature`` or explain how to install the ``gym`` extra."""
    return import_optional("gymnasium", feature, "gym")
