"""Parameter checks shared by the estimators, the discriminator, the MLP reward and PPO, and
the seeding helpers (one home for drawing seeds)."""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

#: Seeds are drawn in ``[0, MAX_SEED)``, valid for numpy, torch and gymnasium alike.
MAX_SEED = np.iinfo(np.int32).max


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


def check_generator(random_state):
    """``random_state`` as a numpy ``Generator``: itself if it is one, else one seeded from
    ``check_random_state(random_state)``."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(check_random_state(random_state).randint(MAX_SEED))
