"""Running mean and variance, and standardising with them: the one home of the observation
and input normalisers of the policies and the discriminator."""

import numpy as np


def update_running_moments(mean, var, count, x):
    """Fold a batch ``x`` (n, d) into running ``mean``/``var`` over ``count`` samples.

    Chan et al.'s parallel update; returns the new ``(mean, var, count)``.

    Examples
    --------
    >>> import numpy as np
    >>> m, v, n = update_running_moments(np.zeros(1), np.ones(1), 0, np.array([[1.0], [3.0]]))
    >>> m.tolist(), v.tolist(), n
    ([2.0], [1.0], 2)
    """
    x = np.asarray(x, dtype=np.float64)
    batch_mean, batch_var, n = x.mean(0), x.var(0), len(x)
    delta, total = batch_mean - mean, count + n
    m2 = var * count + batch_var * n + delta**2 * count * n / total
    return mean + delta * n / total, m2 / total, total


def standardize(x, mean, var, eps=1e-8, clip=10.0):
    """``(x - mean) / sqrt(var + eps)``, clipped to ``[-clip, clip]`` (as SB3's VecNormalize).

    Examples
    --------
    >>> import numpy as np
    >>> standardize(np.array([[1.0], [100.0]]), np.zeros(1), np.ones(1)).ravel().tolist()
    [0.999999995, 10.0]
    """
    return np.clip((x - mean) / np.sqrt(var + eps), -clip, clip)
