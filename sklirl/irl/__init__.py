"""The IRL estimators, one module each; import them from :mod:`sklirl`."""
