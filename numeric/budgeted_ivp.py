"""``scipy.integrate.solve_ivp`` bounded by a budget of right-hand-side evaluations.

An ODE solver on a stiff or nearly singular instance can shrink its step without end; a
verifier must stop such a run in the solver's own units (evaluations), never on wall-clock, and
report it as *not converged* (an ``inconclusive`` check), not hang. Every flow simulator of
:mod:`dln_verify.numeric` that calls ``solve_ivp`` goes through :func:`solve_ivp_within`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dln_verify.numeric._lazy import lazy_module

_scipy_integrate = lazy_module("scipy.integrate")  # imported on first use

__all__ = ["BudgetedSolution", "solve_ivp_within"]


class _BudgetSpent(Exception):
    """Raised inside the right-hand side once the budget is spent (never escapes)."""


@dataclass(frozen=True)
class BudgetedSolution:
    """What :func:`solve_ivp_within` returns.

    Attributes
    ----------
    sol : OdeResult or None
        ``solve_ivp``'s result; ``None`` when the budget was spent, or an exception named in
        ``catch`` was raised, before it returned.
    budget_spent : bool
        True when the run was stopped by the budget.
    nfev : int
        Right-hand-side evaluations made (at most ``max_evaluations``).
    message : str
        The solver's message, ``"spent the budget of N evaluations"``, or the caught
        exception's message.
    """

    sol: Any
    budget_spent: bool
    nfev: int
    message: str

    @property
    def success(self) -> bool:
        """True when the solver reported success within the budget."""
        return self.sol is not None and bool(self.sol.success)


def solve_ivp_within(fun, t_span, y0, *, max_evaluations: int,
                     catch: tuple[type[BaseException], ...] = (), **kwargs) -> BudgetedSolution:
    """``solve_ivp(fun, t_span, y0, **kwargs)`` with at most ``max_evaluations`` calls of ``fun``.

    Parameters
    ----------
    fun : callable
        Right-hand side ``fun(t, y)``.
    t_span, y0
        As for ``scipy.integrate.solve_ivp``.
    max_evaluations : int
        Budget of ``fun`` calls (≥ 1; includes those of finite-difference Jacobians).
    catch : tuple of exception types
        Exceptions of the solver to report as a failed run (``sol = None``) instead of raising,
        e.g. ``(ValueError,)`` for LSODA's own check of a non-finite state.
    **kwargs
        Passed to ``solve_ivp`` (``method``, ``jac``, ``rtol``, ``atol``, ``t_eval``, ...).

    Returns
    -------
    BudgetedSolution

    Examples
    --------
    >>> import numpy as np
    >>> res = solve_ivp_within(lambda t, y: -y, (0.0, 1.0), np.ones(1), max_evaluations=10_000,
    ...                        rtol=1e-10, atol=1e-12)
    >>> res.success, round(float(res.sol.y[0, -1]), 8) == round(float(np.exp(-1.0)), 8)
    (True, True)
    >>> solve_ivp_within(lambda t, y: -y, (0.0, 1.0), np.ones(1), max_evaluations=3).message
    'spent the budget of 3 evaluations'
    """
    if isinstance(max_evaluations, bool) or not isinstance(max_evaluations, int | np.integer) \
            or max_evaluations < 1:
        raise ValueError(f"max_evaluations must be an integer >= 1, got {max_evaluations!r}")
    budget = int(max_evaluations)
    count = 0

    def counted(t, y):
        nonlocal count
        count += 1
        if count > budget:
            raise _BudgetSpent
        return fun(t, y)

    try:
        sol = _scipy_integrate.solve_ivp(counted, t_span, y0, **kwargs)
    except _BudgetSpent:
        return BudgetedSolution(None, True, budget, f"spent the budget of {budget} evaluations")
    except catch as exc:
        return BudgetedSolution(None, False, count, str(exc))
    return BudgetedSolution(sol, False, count, str(sol.message))
