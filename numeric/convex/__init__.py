"""Convex predictions with certificates.

- :func:`implicit_bias_solution` — Bregman projection with the hyperbolic entropy (and the
  depth-D potential) onto ``{Xβ = y}``; damped Newton on the smooth dual, cross-checked by cvxpy.
- :func:`min_l1_interpolator`, :func:`min_l2_interpolator`, :func:`lasso` — reference solutions.
- :func:`max_margin` — the φ∞-max-margin classifier for a norm or a horizon gauge.
- :func:`solve_lasso` (:mod:`dln_verify.numeric.convex.weighted_lasso`) — the certified weighted
  (non-negative) Lasso: coordinate descent checked against cvxpy by a KKT residual.
- :class:`Certificate` — one certificate type; :meth:`Certificate.combine` glues several solves
  and :meth:`Certificate.as_dict` is the one layout claims use.
- :mod:`dln_verify.numeric.convex.symbolic_certificate` — certifies a prediction with the SymPy
  derivation only (not imported here, so that importing this package does not load SymPy).
"""

from dln_verify.numeric.convex.certificate import Certificate
from dln_verify.numeric.convex.implicit_bias import ImplicitBiasSolution, implicit_bias_solution
from dln_verify.numeric.convex.max_margin import MaxMarginSolution, max_margin
from dln_verify.numeric.convex.references import lasso, min_l1_interpolator, min_l2_interpolator
from dln_verify.numeric.convex.weighted_lasso import LassoSolution, solve_lasso

__all__ = [
    "Certificate",
    "ImplicitBiasSolution",
    "implicit_bias_solution",
    "MaxMarginSolution",
    "max_margin",
    "lasso",
    "min_l1_interpolator",
    "min_l2_interpolator",
    "LassoSolution",
    "solve_lasso",
]
