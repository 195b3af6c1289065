"""Warnings that point at the user's line, however deep inside sklirl they are raised."""

import os
import sys
import warnings

import sklearn

# Frames in these directories are library internals: the warning's location is the first
# frame outside them (fit, planner and optimizer calls nest to different depths, and
# scikit-learn's _fit_context wrapper adds one more).
_INTERNAL = tuple(
    os.path.dirname(os.path.abspath(module.__file__)) + os.sep
    for module in (sys.modules[__name__.rsplit(".", 2)[0]], sklearn)
)


def warn_user(message, category=UserWarning):
    """``warnings.warn`` with the stack level of the first caller outside sklirl/sklearn."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level + 1)
