"""Input validation at the library boundary.

Every public entry point of :mod:`dln_verify.numeric` validates its arguments here and raises a
:class:`ValueError` whose message names the parameter and the allowed range, so that bad
input never turns into a NaN, a silent wrong answer or a traceback deep inside a solver.
The CLI turns these errors into a one-line message and exit code 2.
"""

from __future__ import annotations

import numbers

import numpy as np

from dln_verify.numeric.array_cache import ArrayCache

__all__ = [
    "DataError",
    "DATA_MAX_ABS_RANGE",
    "as_finite_array",
    "check_data_scale",
    "looks_like_labels",
    "check_regression_data",
    "check_classification_data",
    "check_positive",
    "check_in_range",
    "check_alpha",
    "check_seed",
]


#: Allowed range of ``max |X_ij|`` and of ``max |y_i|`` for user data (see
#: :func:`check_data_scale`). The theorems are scale-covariant, but the simulators and
#: certificates square and exponentiate these numbers, which overflows float64 near 1e±154.
DATA_MAX_ABS_RANGE: tuple[float, float] = (1e-100, 1e100)


class DataError(ValueError):
    """Bad user data. The message is one line, ``"<param>: <what is wrong>"``.

    Parameters
    ----------
    param : str
        Name of the offending parameter as the caller knows it: ``"data"`` in the Python API,
        ``"--data"`` on the command line.
    problem : str
        What is wrong and what is allowed.

    Attributes
    ----------
    param, problem : str
        As given.
    """

    def __init__(self, param: str, problem: str) -> None:
        self.param = str(param)
        self.problem = " ".join(str(problem).split())  # one line
        super().__init__(f"{self.param}: {self.problem}")


def _check_name(name) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str (a parameter name), got {name!r}")
    return name


def as_finite_array(value, name: str, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a float64 array, rejecting NaN/inf and a wrong number of axes.

    Parameters
    ----------
    value : array_like
        Real numbers (int, float or bool entries); strings, complex and object entries that
        are not numbers are refused.
    name : str
        Parameter name used in error messages.
    ndim : int, optional
        Required number of axes (a non-negative integer).

    Returns
    -------
    ndarray of float64
        A non-empty finite array.

    Raises
    ------
    ValueError
        Naming ``name``: non-numeric, complex, empty, NaN/inf or wrong number of axes.
    TypeError
        If ``name`` is not a string or ``ndim`` is not a non-negative integer.
    """
    name = _check_name(name)
    if ndim is not None and (isinstance(ndim, bool) or not isinstance(ndim, numbers.Integral)
                             or ndim < 0):
        raise TypeError(f"ndim must be a non-negative integer or None, got {ndim!r}")
    if isinstance(value, str | bytes):
        raise ValueError(f"{name} must be a numeric array, got a string {value[:40]!r}")
    try:
        is_complex = np.iscomplexobj(value)
    except (TypeError, ValueError) as exc:  # ragged nested sequences
        raise ValueError(f"{name} must be a numeric array ({exc})") from None
    if is_complex:
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
        Design matrix and targets; must be finite with matching first dimensions, and ``y``
        must not be identically zero.
    require_underdetermined : bool
        If True (interpolation required), ``n < d`` is enforced and ``X`` must have full row
        rank so that the constraint ``Xβ = y`` is feasible.

    Returns
    -------
    X, y : ndarray of float64

    Raises
    ------
    ValueError
        Naming ``X``, ``y`` or ``require_underdetermined`` and what is allowed.
    """
    if not isinstance(require_underdetermined, bool | np.bool_):
        raise ValueError(
            f"require_underdetermined must be True or False, got {require_underdetermined!r}"
        )
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
        if not _FULL_ROW_RANK.get(X):
            raise ValueError("X must have full row rank (rank n) so that Xβ = y is feasible")
    return X, y


#: the equilibrated Gram matrix proves full row rank when its eigenvalue ratio is at least this
#: (σ_min/σ_max ≥ 1e-3 for the row-equilibrated X, far above matrix_rank's max(n, d)·eps)
_GRAM_EIG_RATIO_MIN = 1e-6


def _has_full_row_rank(X: np.ndarray) -> bool:
    """Full row rank of ``X`` (n ≤ d): from the row-equilibrated Gram matrix when it is well
    conditioned (``n²d`` flops), else :func:`numpy.linalg.matrix_rank` (an SVD)."""
    n = X.shape[0]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        G = X @ X.T
        s = np.sqrt(np.diag(G))
        if np.all(np.isfinite(G)) and np.all(s > 0) and np.all(np.isfinite(s)):
            ev = np.linalg.eigvalsh(G / s[:, None] / s[None, :])
            if np.all(np.isfinite(ev)) and ev[0] >= _GRAM_EIG_RATIO_MIN * ev[-1]:
                return True
    return bool(np.linalg.matrix_rank(X) == n)


#: the rank of each design, computed once per unchanged array (a check validates the same X
#: in every prediction, simulation and certificate)
_FULL_ROW_RANK: ArrayCache[bool] = ArrayCache(_has_full_row_rank, size=4)


def check_classification_data(X, y) -> tuple[np.ndarray, np.ndarray]:
    """Validate a classification design ``X`` (n, d) and labels ``y`` in {-1, +1}.

    Returns
    -------
    X, y : ndarray of float64

    Raises
    ------
    ValueError
        Naming ``X`` or ``y`` and what is allowed.
    """
    X = as_finite_array(X, "X", ndim=2)
    y = as_finite_array(y, "y", ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have length n = X.shape[0] = {X.shape[0]}, got {y.shape[0]}")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        bad = np.unique(y[~np.isin(y, (-1.0, 1.0))])[:3]
        raise ValueError(
            "y must contain labels in {-1, +1} only, got e.g. "
            + ", ".join(f"{v:g}" for v in bad)
        )
    return X, y


def looks_like_labels(y) -> bool:
    """True when every entry of ``y`` is −1 or +1 (a ±1 target handed in as regression data).

    Parameters
    ----------
    y : array_like, shape (n,)
        Targets (finite, non-empty, one axis).

    Returns
    -------
    bool
        Whether ``y ⊂ {−1, +1}``; the caller may then warn that classification was perhaps
        meant.

    Raises
    ------
    ValueError
        If ``y`` is not a finite non-empty 1-D numeric array.
    """
    y = as_finite_array(y, "y", ndim=1)
    return bool(np.all(np.isin(y, (-1.0, 1.0))))


def check_data_scale(X, y, name: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """Refuse data whose magnitudes the float64 simulators and certificates cannot handle.

    Requires ``max |X_ij|`` and ``max |y_i|`` to lie in :data:`DATA_MAX_ABS_RANGE`
    (``[1e-100, 1e100]``; so neither is identically zero). Then the entries of ``XᵀX``, ``Xᵀy``
    and ``‖y‖²`` are at most ``n · 1e200``, finite for any ``n`` that fits in memory, and
    their squares do not underflow to zero. The theorems are scale-covariant, so rescaling
    ``X`` and ``y`` brings any such data into range.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
        Finite arrays with matching first dimensions.
    name : str
        Parameter name for the messages (e.g. ``"data"`` or ``"--data"``).

    Returns
    -------
    X, y : ndarray of float64

    Raises
    ------
    DataError
        ``"<name>: ..."`` naming the array, its max-abs entry and the allowed range.
    """
    name = _check_name(name)
    try:
        X = as_finite_array(X, "X", ndim=2)
        y = as_finite_array(y, "y", ndim=1)
    except ValueError as exc:
        raise DataError(name, str(exc)) from None
    if y.shape[0] != X.shape[0]:
        raise DataError(name, f"y must have length n = X.shape[0] = {X.shape[0]}, "
                              f"got {y.shape[0]}")
    lo, hi = DATA_MAX_ABS_RANGE
    for label, arr in (("X", X), ("y", y)):
        m = float(np.max(np.abs(arr)))
        if m == 0.0:
            raise DataError(name, f"{label} is identically zero; max |{label}| must lie in "
                                  f"[{lo:g}, {hi:g}]")
        if not lo <= m <= hi:
            raise DataError(name, f"max |{label}| = {m:.3g} is outside the supported range "
                                  f"[{lo:g}, {hi:g}] (rescale the data: the theorems are "
                                  "scale-covariant)")
    return X, y


def check_positive(value, name: str, *, allow_array: bool = False) -> float | np.ndarray:
    """Require ``value > 0`` and finite (scalar, or array if ``allow_array``).

    Raises
    ------
    ValueError
        Naming ``name`` and the range ``(0, inf)``.
    """
    name = _check_name(name)
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
    """Require ``low <= value <= high`` (inclusivity configurable), naming the range on error.

    Raises
    ------
    ValueError
        Naming ``name`` and the interval.
    TypeError
        If ``name`` is not a string or the bounds are not real numbers with ``low <= high``.
    """
    name = _check_name(name)
    for bound, label in ((low, "low"), (high, "high")):
        if isinstance(bound, bool) or not isinstance(bound, numbers.Real) or np.isnan(bound):
            raise TypeError(f"{label} must be a real number, got {bound!r}")
    if low > high:
        raise TypeError(f"low must be <= high, got low = {low!r}, high = {high!r}")
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
    """Validate an initialisation scale α (scalar or length-d vector), requiring α > 0.

    Raises
    ------
    ValueError
        Naming ``alpha`` (or ``d``) and what is allowed.
    """
    if d is not None and (isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1):
        raise ValueError(f"d must be a positive integer or None, got {d!r}")
    if isinstance(alpha, str | bytes):
        raise ValueError(f"alpha must be a real number > 0 or a vector of them, got {alpha!r}")
    if np.ndim(alpha) == 0:
        return check_positive(alpha, "alpha")
    arr = check_positive(alpha, "alpha", allow_array=True)
    if arr.ndim != 1 or (d is not None and arr.shape[0] != d):
        raise ValueError(f"alpha must be a scalar or a vector of length d = {d}, got {arr.shape}")
    return arr


def check_seed(seed) -> int:
    """Validate a seed: a non-negative integer.

    Raises
    ------
    ValueError
        Naming ``seed`` and the range (integers >= 0).
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer (>= 0), got {seed!r}")
    return int(seed)
