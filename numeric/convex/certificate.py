"""Solver certificates: status plus residuals, judged by residuals rather than by status.

One type, :class:`Certificate`, describes a single solve or several solves glued together with
:meth:`Certificate.combine`; :meth:`Certificate.as_dict` is the one layout that claims put in
their predictions (documented there).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Certificate", "AS_DICT_KEYS"]

#: the keys of :meth:`Certificate.as_dict`, in order (the layout is stable)
AS_DICT_KEYS = (
    "solver", "status", "accepted", "primal_residual", "optimality_residual", "residual_kind",
    "tolerance", "n_solves", "n_accepted", "notes", "solves",
)


def _finite_at_most(value: float, tol: float) -> bool:
    return bool(math.isfinite(value) and math.isfinite(tol) and value <= tol)


@dataclass(frozen=True)
class Certificate:
    """Evidence that a convex solution is what it claims to be.

    Attributes
    ----------
    solver : str
        Which solver produced the answer (``"newton"``, ``"cvxpy-clarabel"``, ...); for a
        combined certificate the sorted distinct solver names joined by ``","``.
    status : str
        The solver's own status string (informative only).
    primal_residual : float
        ``‖Xβ − y‖ / ‖y‖`` for equality-constrained problems, or the largest constraint
        violation for inequality-constrained ones (combined: the largest over the solves).
    optimality_residual : float
        KKT residual (stationarity, relative) or duality gap, as named in ``residual_kind``
        (combined: the largest over the solves).
    residual_kind : str
    tolerance : float
        Threshold that both residuals must satisfy for ``accepted`` to be True (combined: the
        loosest tolerance of the solves, so that ``accepted`` implies both residuals
        ``≤ tolerance``).
    accepted : bool
        True iff both residuals are finite and at most ``tolerance`` (never by status alone);
        combined: iff every solve is accepted. A NaN or infinite residual is never accepted:
        ``accepted=True`` with such a residual (or one above ``tolerance``) is turned into
        False when the certificate is built, with a note saying why.
    notes : tuple of str
        Fallbacks taken, warnings raised by the solver, etc.
    n_solves : int
        Number of solves this certificate stands for (1 for a single solve).
    solves : tuple of Certificate
        The single-solve certificates a combined one was built from (empty for a single solve).
    """

    solver: str
    status: str
    primal_residual: float
    optimality_residual: float
    residual_kind: str
    tolerance: float
    accepted: bool
    notes: tuple[str, ...] = field(default_factory=tuple)
    n_solves: int = 1
    solves: tuple[Certificate, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "primal_residual", float(self.primal_residual))
        object.__setattr__(self, "optimality_residual", float(self.optimality_residual))
        object.__setattr__(self, "tolerance", float(self.tolerance))
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))
        object.__setattr__(self, "solves", tuple(self.solves))
        object.__setattr__(self, "n_solves", max(1, len(self.solves)))
        accepted = bool(self.accepted)
        if accepted and not self.solves:
            bad = [name for name, v in (("primal_residual", self.primal_residual),
                                        ("optimality_residual", self.optimality_residual))
                   if not _finite_at_most(v, self.tolerance)]
            if bad:
                accepted = False
                object.__setattr__(self, "notes", (
                    *self.notes,
                    f"not accepted: {', '.join(bad)} is not a finite number <= tolerance "
                    f"{self.tolerance:g}"))
        if self.solves:
            accepted = accepted and all(c.accepted for c in self.solves)
        object.__setattr__(self, "accepted", accepted)

    @property
    def leaves(self) -> tuple[Certificate, ...]:
        """The single-solve certificates (``(self,)`` for a single solve)."""
        return self.solves if self.solves else (self,)

    @classmethod
    def combine(cls, certificates: Iterable[Certificate], solver: str | None = None
                ) -> Certificate:
        """One certificate for several solves: accepted iff every one of them is.

        Parameters
        ----------
        certificates : iterable of Certificate
            At least one. Combined certificates are flattened (their single solves are used).
        solver : str, optional
            Name to report; default: the sorted distinct solver names joined by ``","``.

        Returns
        -------
        Certificate
            ``accepted = all(accepted)``; ``primal_residual`` and ``optimality_residual`` are
            the worst (largest; NaN counts as worst) over the solves; ``tolerance`` the loosest;
            ``n_solves`` the number of single solves, ``solves`` them in order; ``status`` and
            ``residual_kind`` the distinct values joined by ``"; "``; ``notes`` every note,
            prefixed by the index of its solve when there are several.

        Raises
        ------
        TypeError
            If an element is not a :class:`Certificate`.
        ValueError
            If ``certificates`` is empty.
        """
        items = list(certificates) if not isinstance(certificates, Certificate) else [
            certificates]
        for i, c in enumerate(items):
            if not isinstance(c, Certificate):
                raise TypeError(f"certificates[{i}] must be a Certificate, got "
                                f"{type(c).__name__}")
        if not items:
            raise ValueError("certificates must contain at least one Certificate")
        if solver is not None and not isinstance(solver, str):
            raise TypeError(f"solver must be a str or None, got {type(solver).__name__}")
        leaves = tuple(leaf for c in items for leaf in c.leaves)

        def worst(values: list[float]) -> float:
            if any(math.isnan(v) for v in values):
                return math.nan
            return max(values)

        def distinct(values: Iterable[str]) -> str:
            seen: list[str] = []
            for v in values:
                if v not in seen:
                    seen.append(v)
            return "; ".join(seen)

        many = len(leaves) > 1
        notes = tuple((f"[{i}] {n}" if many else n) for i, c in enumerate(leaves)
                      for n in c.notes)
        name = solver if solver is not None else ",".join(sorted({c.solver for c in leaves}))
        if not many:
            leaf = leaves[0]
            return cls(name, leaf.status, leaf.primal_residual, leaf.optimality_residual,
                       leaf.residual_kind, leaf.tolerance, leaf.accepted, leaf.notes)
        return cls(
            solver=name,
            status=distinct(c.status for c in leaves),
            primal_residual=worst([c.primal_residual for c in leaves]),
            optimality_residual=worst([c.optimality_residual for c in leaves]),
            residual_kind=distinct(c.residual_kind for c in leaves),
            tolerance=max(c.tolerance for c in leaves),
            accepted=all(c.accepted for c in leaves),
            notes=notes,
            n_solves=len(leaves),
            solves=leaves,
        )

    def as_dict(self) -> dict[str, Any]:
        """The stable, JSON-friendly layout that claims use (keys :data:`AS_DICT_KEYS`).

        Keys
        ----
        ``solver`` (str), ``status`` (str), ``accepted`` (bool), ``primal_residual`` (float,
        worst over the solves), ``optimality_residual`` (float, worst), ``residual_kind``
        (str), ``tolerance`` (float, loosest), ``n_solves`` (int), ``n_accepted`` (int),
        ``notes`` (list of str), ``solves`` (list of the per-solve dicts in this same layout,
        each with ``n_solves = 1`` and ``solves = []``; ``[]`` for a single solve).
        """
        return {
            "solver": self.solver,
            "status": self.status,
            "accepted": bool(self.accepted),
            "primal_residual": float(self.primal_residual),
            "optimality_residual": float(self.optimality_residual),
            "residual_kind": self.residual_kind,
            "tolerance": float(self.tolerance),
            "n_solves": int(len(self.leaves)),
            "n_accepted": int(sum(c.accepted for c in self.leaves)),
            "notes": list(self.notes),
            "solves": [c.as_dict() for c in self.solves],
        }
