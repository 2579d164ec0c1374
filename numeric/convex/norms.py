"""Scale-safe norms and exact power-of-two rescaling for the convex solvers and certificates.

``numpy.linalg.norm`` squares its entries, so a vector of size ``1e-160`` has norm 0 (the
squares underflow) and one of size ``1e160`` has norm ``inf``. A certificate built on such
norms reports a residual of exactly 0, or NaN, for an answer that was never checked.
:func:`safe_norm` divides by the largest magnitude first, so it is accurate (to a few ulps) for
every finite vector whose norm is representable. :func:`power_of_two_scale` returns the
exponent ``k`` with ``max|v| · 2^{-k} ∈ [0.5, 1)``; multiplying by ``2^{±k}``
(:func:`numpy.ldexp`) is exact unless the result leaves the normal float64 range, so a problem
rescaled by it has *exactly* the same residuals in its own units.
"""

from __future__ import annotations

import numpy as np

__all__ = ["safe_norm", "power_of_two_scale"]


def safe_norm(x, ord: float = 2.0, axis: int | None = None) -> float | np.ndarray:  # noqa: A002
    """``‖x‖_ord`` computed as ``m · ‖x/m‖_ord`` with ``m = max|x|`` (no under/overflow).

    Parameters
    ----------
    x : array_like
        Real values. NaN propagates (the result is NaN); an infinite entry gives ``inf``.
    ord : float
        ``p ≥ 1`` or ``inf``.
    axis : int, optional
        Axis along which to take the norm; None flattens ``x``.

    Returns
    -------
    float or ndarray
        The norm; it is ``inf`` only if the true norm exceeds the float64 range (or ``x`` holds
        an infinite entry), and ``0`` only if ``x`` is exactly zero.

    Raises
    ------
    ValueError
        If ``ord`` is not a number ``≥ 1`` (``inf`` allowed).
    """
    try:
        p = float(ord)
    except (TypeError, ValueError):
        raise ValueError(f"ord must be a number >= 1 or inf, got {ord!r}") from None
    if not p >= 1.0:
        raise ValueError(f"ord must be a number >= 1 or inf, got {ord!r}")
    a = np.abs(np.asarray(x, dtype=np.float64))
    if axis is None:
        a = a.ravel()
        axis_ = 0
    else:
        axis_ = axis
    with np.errstate(invalid="ignore"):
        m = np.max(a, axis=axis_, keepdims=True) if a.size else np.zeros((1,) * a.ndim)
    if np.isinf(p):
        out = np.squeeze(m, axis=axis_)
        return float(out) if np.ndim(out) == 0 else out
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        safe_m = np.where((m > 0) & np.isfinite(m), m, 1.0)
        r = a / safe_m
        if p == 2.0:
            inner = np.sqrt(np.sum(r * r, axis=axis_))
        elif p == 1.0:
            inner = np.sum(r, axis=axis_)
        else:
            inner = np.sum(r**p, axis=axis_) ** (1.0 / p)
        mm = np.squeeze(m, axis=axis_)
        out = np.where(np.isfinite(mm) & (mm > 0), np.squeeze(safe_m, axis=axis_) * inner,
                       np.where(np.isnan(mm), np.nan, mm))
    return float(out) if np.ndim(out) == 0 else out


def power_of_two_scale(x) -> int:
    """Exponent ``k`` with ``max|x| = f · 2^k``, ``0.5 ≤ f < 1`` (``0`` for an all-zero ``x``).

    ``np.ldexp(x, -k)`` then has largest magnitude in ``[0.5, 1)`` and is exact (no rounding)
    unless entries fall below the normal range. ``x`` must be finite.
    """
    x = np.asarray(x, dtype=np.float64)
    # max|x| as max(max x, −min x): two read passes, no |x| temporary (X can be ~1 GB); equal
    # to np.max(np.abs(x)) for finite x, and NaN/inf propagate to the check below
    m = max(float(np.max(x)), -float(np.min(x)))
    if not np.isfinite(m):
        raise ValueError("x must be finite to be rescaled")
    if m == 0.0:
        return 0
    return int(np.frexp(m)[1])
