"""Imports of optional dependencies with errors that say which extra to install."""

import importlib


def import_optional(module, feature, extra):
    """Import ``module`` or raise an ImportError naming the ``sklirl[extra]`` to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{feature} requires {module}, which is not installed. Install it with "
            f"pip install 'sklirl[{extra}]'."
        ) from exc


def import_torch(feature):
    """Import torch for ``feature`` or explain how to install the ``torch`` extra."""
    return import_optional("torch", feature, "torch")


def import_gymnasium(feature):
    """Import gymnasium for ``feature`` or explain how to install the ``gym`` extra."""
    return import_optional("gymnasium", feature, "gym")
