"""Comparison primitives shared by the claims: relative errors and fitted log-log slopes."""

from __future__ import annotations

import numpy as np

__all__ = ["relative_error", "loglog_slope", "identity_scatter"]


def relative_error(estimate, reference, *, floor: float = 1e-300) -> float:
    """``‖estimate − reference‖₂ / max(‖reference‖₂, floor)``."""
    estimate = np.asarray(estimate, dtype=float)
    reference = np.asarray(reference, dtype=float)
    return float(np.linalg.norm(estimate - reference) / max(np.linalg.norm(reference), floor))


def loglog_slope(x, y) -> float:
    """Least-squares slope of ``log y`` against ``log x`` (the empirical order, as in diffrax).

    Raises ``ValueError`` if fewer than two points or any non-positive value would be logged.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size < 2 or x.shape != y.shape:
        raise ValueError("loglog_slope needs at least two (x, y) pairs of equal length")
    if np.any(x <= 0) or np.any(y <= 0) or not np.all(np.isfinite(y)):
        raise ValueError("loglog_slope needs positive finite x and y")
    slope, _ = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope)


def identity_scatter(predicted, simulated, label: str):
    """Series for a predicted-vs-simulated scatter with the identity line as reference."""
    from dln_verify.verify.claim import Series

    predicted = np.asarray(predicted, dtype=float).ravel()
    simulated = np.asarray(simulated, dtype=float).ravel()
    lo = float(min(predicted.min(), simulated.min()))
    hi = float(max(predicted.max(), simulated.max()))
    return (
        Series(label, predicted.tolist(), simulated.tolist(), "points"),
        Series("theory: simulated = predicted", [lo, hi], [lo, hi], "reference"),
    )
