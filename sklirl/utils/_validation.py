"""Parameter checks shared by the estimators, the discriminator, the MLP reward and PPO, and
the seeding helpers (one home for drawing seeds)."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

#: Seeds are drawn in ``[0, MAX_SEED)``, valid for numpy, torch and gymnasium alike.
MAX_SEED = np.iinfo(np.int32).max

#: The discount of every estimator, solver and function: ``[0, 1]``. ``gamma = 1`` needs a
#: finite horizon (or episodes that end); a discounted infinite-horizon MDP needs
#: ``gamma <= MAX_DISCOUNT`` (:func:`check_gamma` with ``discounted=True``).
GAMMA_INTERVAL = Interval(Real, 0, 1, closed="both")
#: The largest discount of an infinite-horizon MDP. Its values are of order |r| / (1 - gamma)
#: and float64 resolves them to a relative eps / (1 - gamma) (2e-6 here); closer to 1 the
#: planners' answers lose their digits (a soft value below the hard one at 1 - 1e-15).
MAX_DISCOUNT = 1 - 1e-10


def check_gamma(gamma, *, discounted=False):
    """``gamma`` as a float in :data:`GAMMA_INTERVAL`; with ``discounted=True`` (an
    infinite-horizon MDP) also below 1 and at most :data:`MAX_DISCOUNT`."""
    if not isinstance(gamma, Real) or isinstance(gamma, bool):
        raise TypeError(f"gamma must be a float, got {type(gamma).__name__}.")
    gamma = float(gamma)
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}.")
    if discounted and gamma >= 1.0:
        raise ValueError(
            "gamma must be < 1 for a discounted infinite-horizon MDP (horizon=None); "
            "set a finite horizon to use gamma=1."
        )
    if discounted and gamma > MAX_DISCOUNT:
        raise ValueError(
            f"gamma={gamma!r} is too close to 1 for a discounted infinite-horizon MDP: "
            "the values, of order 1 / (1 - gamma), would keep fewer than 6 significant "
            "digits in float64. Use gamma <= 1 - 1e-10, or a finite horizon (any gamma "
            "in [0, 1])."
        )
    return gamma


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
