"""Option declarations and instance inputs shared by several claims (user data, α overrides).

A claim that takes the user's data declares :data:`DATA_OPTIONS` and builds its data with
:func:`regression_data`; the CLI turns the declarations into ``--data`` and ``--alpha``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np

from dln_verify.numeric.instances import Instance, gaussian_regression, load_data
from dln_verify.numeric.validation import check_alpha, check_in_range, looks_like_labels
from dln_verify.verify.claim import Option

__all__ = ["DATA_OPTIONS", "DATA_OPTION", "ALPHA_OPTION", "regression_data", "alphas_option",
           "gaussian_instance"]

DATA_OPTION = Option("data", "your own .npz with arrays X (n×d, n < d, full row rank) and y (n,)",
                     "path", "FILE.npz")
ALPHA_OPTION = Option("alpha", "initialisation scale α > 0 to check instead of the claim's "
                      "default sweep (supported range per claim)", "float", "A")
DATA_OPTIONS = {"data": DATA_OPTION, "alpha": ALPHA_OPTION}


def regression_data(seed: int, n: int, d: int, data=None) -> tuple[np.ndarray, np.ndarray, str]:
    """User data from ``data`` (validated: finite, matching shapes, n < d) or a Gaussian draw.

    ``data`` is a path to an ``.npz`` with arrays ``X`` and ``y``, a pair ``(X, y)`` of arrays
    or a mapping with keys ``X`` and ``y``. A target taking only the values ±1 is checked as
    given, with a warning (it looks like classification labels). Returns
    ``(X, y, description)``.

    Examples
    --------
    >>> X, y, name = regression_data(0, 5, 12)
    >>> X.shape, y.shape, name
    ((5, 12), (5,), 'gaussian X, generic y ~ N(0, I)')
    """
    if data is None:
        return (*gaussian_regression(n, d, seed), "gaussian X, generic y ~ N(0, I)")
    X, y = load_data(data, kind="regression", name="--data")
    if looks_like_labels(y):
        warnings.warn(f"--data: y only takes the values ±1 (labels?); it is checked as a "
                      f"regression target ({len(y)} samples)", UserWarning, stacklevel=2)
    where = data if isinstance(data, str | os.PathLike) else "arrays"
    return X, y, f"user data {where}"


def alphas_option(alpha: float | None, default: Sequence[float], low: float, high: float,
                  convention: str) -> list[float]:
    """``default``, or ``[alpha]`` validated against the claim's supported range.

    Examples
    --------
    >>> alphas_option(None, [0.1, 1.0], 1e-3, 3.0, "u0 = sqrt(2)*alpha")
    [0.1, 1.0]
    >>> alphas_option(0.5, [0.1], 1e-3, 3.0, "u0 = sqrt(2)*alpha")
    [0.5]
    """
    if alpha is None:
        return list(default)
    check_alpha(alpha)
    return [check_in_range(alpha, f"alpha ({convention})", low, high)]


def gaussian_instance(seed: int, n: int, d: int, name: str, data=None, **params) -> Instance:
    """An :class:`Instance` on :func:`~dln_verify.numeric.instances.gaussian_regression` data,
    or on the user's ``data`` (see :func:`regression_data`) when given.

    Examples
    --------
    >>> gaussian_instance(0, 4, 8, "toy", alpha=0.1).params["alpha"]
    0.1
    >>> import numpy as np
    >>> gaussian_instance(0, 4, 8, "toy", data=(np.eye(2, 3), [1.0, 2.0])).name
    'user data arrays'
    """
    if data is not None:
        X, y, name = regression_data(seed, n, d, data)
    else:
        X, y = gaussian_regression(n, d, seed)
    return Instance(X=X, y=y, seed=seed, params=params, name=name)
