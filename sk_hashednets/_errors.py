"""The package's exceptions and its one warning helper, for every module that
raises or warns (the training loop, L-BFGS, persistence, the exports)."""

import os
import sys
import warnings

import sklearn.base

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# scikit-learn's _fit_context wraps fit and partial_fit between the user and us
_WRAPPERS = {os.path.abspath(sklearn.base.__file__)}


class DivergenceError(ValueError):
    """Training produced a non-finite loss or non-finite parameters."""


class StateError(ValueError):
    """A saved estimator's state is inconsistent or unreadable."""


def warn(message, category=UserWarning):
    """``warnings.warn`` pointing at the first caller outside this package.

    The frames of the package, and scikit-learn's ``_fit_context`` wrappers
    around ``fit`` and ``partial_fit``, are skipped, however many lie between
    the user's call and the warning.
    """
    frame, level = sys._getframe(0), 1
    while frame is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE_DIR)
        or os.path.abspath(frame.f_code.co_filename) in _WRAPPERS
    ):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
