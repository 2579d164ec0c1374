"""Input validation at the library boundary.

Every public entry point of :mod:`dln_verify.numeric` validates its arguments here and raises a
:class:`ValueError` whose message names the parameter and the allowed range, so that bad
input never turns into a NaN, a silent wrong answer or a traceback deep inside a solver.
The CLI turns these errors into a one-line message and exit code 2.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_finite_array",
    "check_regression_data",
    "check_classification_data",
    "check_positive",
    "check_in_range",
    "check_alpha",
    "check_seed",
]


def as_finite_array(value, name: str, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a float64 array, rejecting NaN/inf and a wrong number of axes."""
    if np.iscomplexobj(value):
        raise ValueError(f"{name} must be real-valued, got a complex array")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} axes, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty (got shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} must be finite: it contains {bad} NaN/inf entries")
    return arr


def check_regression_data(
    X, y, *, require_underdetermined: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a regression design ``X`` (n, d) and target ``y`` (n,).

    Parameters
    ----------
    X, y : array_like
        Design matrix and targets; must be finite with matching first dimensions.
    require_underdetermined : bool
        If True (interpolation required), ``n < d`` is enforced and ``X`` must have full row
        rank so that the constraint ``Xβ = y`` is feasible.
    """
    X = as_finite_array(X, "X", ndim=2)
    y = as_finite_array(y, "y", ndim=1)
    n, d = X.shape
    if y.shape[0] != n:
        raise ValueError(f"y must have length n = X.shape[0] = {n}, got {y.shape[0]}")
    if not np.any(y):
        raise ValueError("y must not be identically zero (every prediction would be β = 0)")
    if require_underdetermined:
        if n >= d:
            raise ValueError(
                f"X must have fewer rows than columns (n < d) so that interpolators exist; "
                f"got n = {n}, d = {d}"
            )
        if np.linalg.matrix_rank(X) < n:
            raise ValueError("X must have full row rank (rank n) so that Xβ = y is feasible")
    return X, y


def check_classification_data(X, y) -> tuple[np.ndarray, np.ndarray]:
    """Validate a classification design ``X`` (n, d) and labels ``y`` in {-1, +1}."""
    X = as_finite_array(X, "X", ndim=2)
    y = as_finite_array(y, "y", ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have length n = X.shape[0] = {X.shape[0]}, got {y.shape[0]}")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("y must contain labels in {-1, +1} only")
    return X, y


def check_positive(value, name: str, *, allow_array: bool = False) -> float | np.ndarray:
    """Require ``value > 0`` and finite (scalar, or array if ``allow_array``)."""
    if allow_array and np.ndim(value) > 0:
        arr = as_finite_array(value, name)
        if np.any(arr <= 0):
            raise ValueError(f"{name} must be > 0 entrywise (min is {arr.min():g})")
        return arr
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number > 0, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def check_in_range(
    value,
    name: str,
    low: float,
    high: float,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Require ``low <= value <= high`` (inclusivity configurable), naming the range on error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    lo_ok = value >= low if low_inclusive else value > low
    hi_ok = value <= high if high_inclusive else value < high
    if not (np.isfinite(value) and lo_ok and hi_ok):
        lb = "[" if low_inclusive else "("
        rb = "]" if high_inclusive else ")"
        raise ValueError(f"{name} must lie in {lb}{low:g}, {high:g}{rb}, got {value!r}")
    return value


def check_alpha(alpha, d: int | None = None) -> np.ndarray | float:
    """Validate an initialisation scale α (scalar or length-d vector), requiring α > 0."""
    if np.ndim(alpha) == 0:
        return check_positive(alpha, "alpha")
    arr = check_positive(alpha, "alpha", allow_array=True)
    if arr.ndim != 1 or (d is not None and arr.shape[0] != d):
        raise ValueError(f"alpha must be a scalar or a vector of length d = {d}, got {arr.shape}")
    return arr


def check_seed(seed) -> int:
    """Validate a seed: a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)
