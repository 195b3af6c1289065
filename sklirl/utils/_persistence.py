"""Safe persistence of torch tensors: serialised with ``torch.save``, restored with
``torch.load(..., weights_only=True)``, which rebuilds tensors and plain containers only and
never runs code from the file.

The torch-backed parts (the GAIL discriminator, the PPO policy) store their ``state_dict`` as
these bytes when pickled. Unpickling the estimator around them still uses :mod:`pickle`, which
can execute code: load pickled estimators only from trusted sources.
"""

from __future__ import annotations

import copy
import io

from ._optional import import_torch

__all__ = ["state_dict_to_bytes", "state_dict_from_bytes", "copy_training_state",
           "restore_training_state", "TorchStatePickleMixin"]


def _to_cpu(obj, torch):
    if torch.is_tensor(obj):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _to_cpu(v, torch) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v, torch) for v in obj)
    return obj


def state_dict_to_bytes(state_dict):
    """Serialise a (possibly nested) dict of tensors and plain values as CPU tensors.

    Examples
    --------
    >>> import torch
    >>> from sklirl.utils._persistence import state_dict_from_bytes, state_dict_to_bytes
    >>> data = state_dict_to_bytes({"w": torch.ones(2), "lr": 0.1})
    >>> state_dict_from_bytes(data)
    {'w': tensor([1., 1.]), 'lr': 0.1}
    """
    torch = import_torch("saving torch weights")
    buffer = io.BytesIO()
    torch.save(_to_cpu(state_dict, torch), buffer)
    return buffer.getvalue()


def state_dict_from_bytes(data):
    """Load what :func:`state_dict_to_bytes` wrote, on the CPU, with ``weights_only=True``."""
    torch = import_torch("loading torch weights")
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}.")
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def copy_training_state(module, optimizer):
    """In-memory copies of a module's weights and its optimizer's state (the moments too).

    The torch-backed learners keep one per complete round or iteration, to return to it when
    a fit is interrupted (:func:`restore_training_state`).

    Examples
    --------
    >>> import torch
    >>> from sklirl.utils._persistence import copy_training_state, restore_training_state
    >>> net = torch.nn.Linear(2, 1)
    >>> opt = torch.optim.Adam(net.parameters())
    >>> saved = copy_training_state(net, opt)
    >>> with torch.no_grad():
    ...     _ = net.weight.add_(1.0)
    >>> restore_training_state(net, opt, saved)
    >>> bool(torch.equal(net.weight, saved[0]["weight"]))
    True
    """
    weights = {k: v.detach().clone() for k, v in module.state_dict().items()}
    return weights, copy.deepcopy(optimizer.state_dict())


def restore_training_state(module, optimizer, state):
    """Load a :func:`copy_training_state` copy back (the copy stays reusable)."""
    weights, optimizer_state = state
    module.load_state_dict(weights)
    optimizer.load_state_dict(copy.deepcopy(optimizer_state))


class TorchStatePickleMixin:
    """Pickles the torch modules and optimizers named in ``_torch_state`` as
    :func:`state_dict_to_bytes` bytes, on the CPU.

    On unpickling the other attributes come back first, the named ones as None; then
    ``_build_torch_state()`` remakes the modules and optimizers from them, and their saved
    states are loaded (:func:`state_dict_from_bytes`: ``weights_only=True``). A ``device``
    attribute comes back as the CPU (a string or a ``torch.device``, as it was).
    """

    _torch_state = ("net",)

    def __getstate__(self):
        state = self.__dict__.copy()
        for name in self._torch_state:
            if state[name] is not None:
                state[name] = state_dict_to_bytes(state[name].state_dict())
        if "device" in state:  # the same type as before: a string or a torch.device
            cpu = import_torch("saving torch weights").device("cpu")
            state["device"] = "cpu" if isinstance(state["device"], str) else cpu
        return state

    def __setstate__(self, state):
        saved = {name: state.pop(name) for name in self._torch_state}
        self.__dict__.update(state, **dict.fromkeys(saved))
        self._build_torch_state()
        for name, data in saved.items():
            if data is not None:
                getattr(self, name).load_state_dict(state_dict_from_bytes(data))
