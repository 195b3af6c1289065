"""Feature sums shared by the expectations and the estimators' inner loops (no validation:
their feature matrices were checked once, when the feature map was fitted)."""

import numpy as np


def occupancy_features(d, phi):
    """``sum_{s,a} d(s, a) phi(s, a)`` for state ``(S, k)``, ``(S * A, k)`` or ``(S, A, k)``
    features."""
    if phi.ndim == 3:
        return np.einsum("sa,sak->k", d, phi)
    vec = d.sum(axis=1) if phi.shape[0] == d.shape[0] else d.ravel()
    return np.asarray(phi.T @ vec).ravel()


def observation_features(features, observations, where="observations"):
    """``features`` applied to observations ``(n, *obs_shape)``, as a finite ``(n, k)`` array."""
    obs = np.asarray(observations)
    if obs.dtype.kind not in "biuf":
        raise ValueError(f"{where} must be numeric, got dtype {obs.dtype}.")
    obs = obs.reshape(len(obs), -1)
    transform = features.transform if hasattr(features, "transform") else features
    phi = np.asarray(transform(obs), dtype=np.float64)
    if phi.ndim != 2 or phi.shape[0] != len(obs):
        raise ValueError(
            f"the feature map must return an (n, k) array for {len(obs)} {where}, got shape "
            f"{phi.shape}."
        )
    if not np.all(np.isfinite(phi)):
        raise ValueError(f"the feature map returned NaN or infinite values on {where}.")
    return phi
