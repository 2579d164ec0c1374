"""Heavy-ball runs paired by the intrinsic constant λ that SymPy derives.

The momentum claims must not hard-code ``γ = λ(1 − β_m)²``: the pairing of runs is part of the
evidence, so it is taken from :func:`dln_verify.symbolic.momentum.momentum_invariant` (the
Taylor expansion of the heavy-ball recursion) and lambdified here. A wrong derivation there
(say ``λ = γ/(1 − β_m)``) pairs the runs wrongly, and the momentum claims see it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dln_verify.numeric._lazy import lazy_module
from dln_verify.numeric.validation import as_finite_array, check_positive

# SymPy and the derivation are imported when a schedule is first solved, not with the module
sp = lazy_module("sympy")
_momentum = lazy_module("dln_verify.symbolic.momentum")

__all__ = ["MomentumSchedule", "schedule_at_equal_lambda"]


@dataclass(frozen=True)
class MomentumSchedule:
    """Heavy-ball parameters at one intrinsic constant ``λ`` for several momenta ``β_m``.

    Attributes
    ----------
    lam : float
    momenta : ndarray (B,)
    stepsizes : ndarray (B,)
        ``γ`` solving ``λ(γ, β_m) = lam`` for the derived ``λ(γ, β_m)``.
    time_steps : ndarray (B,)
        ``h(γ, β_m)``: iteration ``k`` sits at time ``k h``.
    modified_lambdas : ndarray (B,)
        The next-order ``ẅ`` coefficient ``λ_eff(γ, β_m)`` of the modified flow.
    initial_velocity_factors : ndarray (B,)
        ``c`` in the modified flow's ``ẇ(0) = −c ∇F(w₀)``.
    lam_expression : str
        The derived ``λ(γ, β_m)``, as SymPy prints it.
    """

    lam: float
    momenta: np.ndarray
    stepsizes: np.ndarray
    time_steps: np.ndarray
    modified_lambdas: np.ndarray
    initial_velocity_factors: np.ndarray
    lam_expression: str


def schedule_at_equal_lambda(lam: float, momenta) -> MomentumSchedule:
    """Solve the SymPy-derived ``λ(γ, β_m) = lam`` for ``γ`` at each momentum.

    Parameters
    ----------
    lam : float
        The intrinsic constant ``λ > 0``.
    momenta : array_like (B,)
        Momenta ``β_m ∈ [0, 1)``.

    Examples
    --------
    >>> s = schedule_at_equal_lambda(0.5, [0.5, 0.9])
    >>> [round(float(g), 12) for g in s.stepsizes], s.lam_expression
    ([0.125, 0.005], 'gamma/(1 - beta_m)**2')
    """
    lam = float(check_positive(lam, "lam"))
    mom = as_finite_array(np.atleast_1d(momenta), "momenta", ndim=1)
    if np.any((mom < 0) | (mom >= 1)):
        raise ValueError(f"momenta must lie in [0, 1), got {mom.tolist()}")
    gamma_of, time_step_of, modified_lambda_of, velocity_factor_of, expression = (
        _schedule_functions(_momentum.momentum_invariant()))
    stepsizes = np.asarray(gamma_of(lam, mom), dtype=float) * np.ones_like(mom)

    def at(f) -> np.ndarray:
        return np.asarray(f(stepsizes, mom), dtype=float) * np.ones_like(mom)

    return MomentumSchedule(
        lam=lam, momenta=mom, stepsizes=stepsizes, time_steps=at(time_step_of),
        modified_lambdas=at(modified_lambda_of), initial_velocity_factors=at(velocity_factor_of),
        lam_expression=expression,
    )


_built: list = []  # [(derivation, functions)]: the last derivation's functions


def _schedule_functions(inv):
    """The derived ``γ(λ, β_m)``, ``h``, ``λ_eff`` and ``c`` of the derivation ``inv`` as numpy
    functions, built once per derivation object (solving and lambdifying them took ~0.2 s of
    SymPy per schedule, and the momentum claims ask for a dozen schedules of one derivation;
    ``momentum_invariant`` returns the same object every call)."""
    if _built and _built[0][0] is inv:
        return _built[0][1]
    functions = _build_schedule_functions(inv)
    _built[:] = [(inv, functions)]
    return functions


def _build_schedule_functions(inv):
    gamma, beta_m = inv.symbols["gamma"], inv.symbols["beta_m"]
    target = sp.Symbol("lambda_target", positive=True)
    roots = [r for r in sp.solve(sp.Eq(inv.lam, target), gamma) if r.has(target)]
    if len(roots) != 1:
        raise ValueError(f"the derived λ(γ, β_m) = {inv.lam} has no unique stepsize solution")
    gamma_of = sp.lambdify((target, beta_m), roots[0], "numpy")

    def of(expr):
        return sp.lambdify((gamma, beta_m), expr, "numpy")

    # the initial velocity is −c ∇F(w₀): c is minus the coefficient of the ∇F(w₀) factor
    grads = list(inv.initial_velocity.atoms(sp.core.function.AppliedUndef))
    if len(grads) != 1:
        raise ValueError(f"the derived initial velocity {inv.initial_velocity} is not c·∇F(w₀)")
    c = -sp.expand(inv.initial_velocity).coeff(grads[0])
    return gamma_of, of(inv.time_step), of(inv.modified_lambda), of(c), str(inv.lam)
