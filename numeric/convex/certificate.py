"""Solver certificates: status plus residuals, judged by residuals rather than by status."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Certificate"]


@dataclass(frozen=True)
class Certificate:
    """Evidence that a convex solution is what it claims to be.

    Attributes
    ----------
    solver : str
        Which solver produced the answer (``"newton"``, ``"cvxpy-clarabel"``, ...).
    status : str
        The solver's own status string (informative only).
    primal_residual : float
        ``‖Xβ − y‖ / max(1, ‖y‖)`` for equality-constrained problems, or the largest constraint
        violation for inequality-constrained ones.
    optimality_residual : float
        KKT residual (stationarity, relative) or duality gap, as named in ``residual_kind``.
    residual_kind : str
    tolerance : float
        Threshold that both residuals must satisfy for ``accepted`` to be True.
    accepted : bool
        True iff both residuals are at most ``tolerance`` (never by status alone).
    notes : tuple of str
        Fallbacks taken, warnings raised by the solver, etc.
    """

    solver: str
    status: str
    primal_residual: float
    optimality_residual: float
    residual_kind: str
    tolerance: float
    accepted: bool
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["notes"] = list(self.notes)
        return out
