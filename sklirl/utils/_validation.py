"""Parameter checks shared by the estimators, the discriminator, the MLP reward and PPO."""

from numbers import Integral

import numpy as np


def check_hidden_layer_sizes(hidden_layer_sizes):
    """``hidden_layer_sizes`` as a tuple of positive ints (``()`` allowed: a linear model);
    a ``ValueError`` naming the value otherwise."""
    sizes = list(np.atleast_1d(hidden_layer_sizes)) if np.size(hidden_layer_sizes) else []
    if not all(isinstance(h, Integral) and not isinstance(h, bool) and h > 0 for h in sizes):
        raise ValueError(
            "hidden_layer_sizes must be a sequence of positive integers, got "
            f"{hidden_layer_sizes!r}."
        )
    return tuple(int(h) for h in sizes)
