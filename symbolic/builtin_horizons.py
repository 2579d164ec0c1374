"""Horizon functions of the built-in potentials, as derived by SymPy, without importing SymPy.

:func:`dln_verify.symbolic.horizon.horizon_function` derives the horizon function ``φ_∞`` of a
separable potential with SymPy limits (Pesme, Dragomir & Flammarion, NeurIPS 2024,
arXiv:2406.12763: mirror flow on separable data converges in direction to the
``φ_∞``-max-margin classifier; ``docs/theory/classification.md`` §1). For the seven potentials
of :data:`dln_verify.symbolic.horizon.BUILTIN_POTENTIALS` the answer does not change between
runs, so it is recorded here as plain data: a check of a built-in potential then reads its
horizon function without importing SymPy (about a second of start-up) or re-deriving it.

The table is the derivation's output, not a second source of truth:
``tests/symbolic/test_builtin_horizons.py`` derives every entry again with SymPy and requires
each field to be equal (the exponent's type included), so a change of the derivation that
moves any entry fails the tests until the table is regenerated from it. Potentials given as
expressions are always derived.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HorizonRecord", "BUILTIN_HORIZONS", "builtin_horizon"]


@dataclass(frozen=True)
class HorizonRecord:
    """The fields of a :class:`~dln_verify.symbolic.horizon.HorizonFunction` that the numeric
    layers read, with the expressions as SymPy prints them.

    Attributes
    ----------
    kind : {"lp", "linf", "gauge"}
    p : int, float or None
        The exponent (None: growth faster than any power, the ℓ∞ horizon).
    w_pos, w_neg : float
        Weights of ``h = w|x|^p`` on each side.
    h_pos, h_neg : str
        The limit profiles for ``x ≥ 0`` and ``x ≤ 0``.
    potential : str
        The potential ``ϕ(x)``.
    """

    kind: str
    p: int | float | None
    w_pos: float
    w_neg: float
    h_pos: str
    h_neg: str
    potential: str


_CUBE_BOX = "Piecewise((0, Abs(x) < 1), (1, Eq(Abs(x), 1)), (oo, True))"

#: ``horizon_function(*parse_potential(name))`` of each built-in name (the test prints the
#: derived records, in this format, when they differ)
BUILTIN_HORIZONS: dict[str, HorizonRecord] = {
    "quadratic": HorizonRecord("lp", 2, 1.0, 1.0, "x**2", "x**2", "x**2/2"),
    "cubic": HorizonRecord("lp", 3, 1.0, 1.0, "x**2*Abs(x)", "x**2*Abs(x)", "x**2*Abs(x)/3"),
    "quartic": HorizonRecord("lp", 4, 1.0, 1.0, "x**4", "x**4", "x**4 + x**2"),
    "xlog": HorizonRecord("lp", 2, 1.0, 1.0, "x**2", "x**2", "x**2*log(x**2 + 1)"),
    "hypentropy": HorizonRecord("lp", 1, 1.0, 1.0, "Abs(x)", "Abs(x)",
                                "x*asinh(100*x) - sqrt(x**2 + 1/10000) + 1/100"),
    "cosh": HorizonRecord("linf", None, 1.0, 1.0, _CUBE_BOX, _CUBE_BOX, "cosh(x) - 1"),
    "asymmetric": HorizonRecord("gauge", 2, 1.0, 4.0, "x**2", "4*x**2",
                                "5*x**2/2 - 3*x*sqrt(x**2 + 1)/2"),
}


def builtin_horizon(name: str) -> HorizonRecord | None:
    """The recorded horizon function of the built-in potential ``name`` (None otherwise).

    Examples
    --------
    >>> builtin_horizon("asymmetric").w_neg
    4.0
    >>> builtin_horizon("x**2/2") is None
    True
    """
    return BUILTIN_HORIZONS.get(name.strip()) if isinstance(name, str) else None
