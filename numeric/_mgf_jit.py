"""numba-compiled elementwise parts of the momentum-gradient-flow right-hand side.

:func:`dln_verify.numeric.momentum.momentum_gradient_flow` integrates
``λ s̈ + ṡ + s g = 0``, ``λ d̈ + ḋ − d g = 0`` (``β = (s² − d²)/4``, ``g = Xᵀ(Xβ − y)/n``) with
scipy's explicit Runge–Kutta methods, ~10⁵ right-hand sides per check. On the claims' small
designs each right-hand side was ~15 numpy calls of a few microseconds; here the elementwise
work before and after the two products is one compiled call each, with the same operations in
the same order as the numpy expressions (no fastmath), so the floats are the same; the two
products stay numpy's (BLAS), as before. Module-level functions, so numba's on-disk cache is hit.
"""

from __future__ import annotations

import numba

_OPTS = {"cache": True, "nogil": True, "error_model": "numpy", "boundscheck": False}


@numba.njit(**_OPTS)
def beta_of_state(z, d, beta):  # pragma: no cover - compiled
    """``β = 0.25 (s s − d d)`` from the state ``z = (s, d, ṡ, ḋ, I_s, I_d)``."""
    for j in range(d):
        s = z[j]
        dd = z[d + j]
        beta[j] = 0.25 * (s * s - dd * dd)


@numba.njit(**_OPTS)
def derivative(z, g, d, inv_lam, path_only, out):  # pragma: no cover - compiled
    """``(ṡ, ḋ, (−ṡ − s g)/λ, (−ḋ + d g)/λ, (ṡ/s)², (ḋ/d)²)`` into ``out``."""
    for j in range(d):
        s = z[j]
        dd = z[d + j]
        sd = z[2 * d + j]
        ddd = z[3 * d + j]
        out[j] = sd
        out[d + j] = ddd
        out[2 * d + j] = (-sd - s * g[j]) * inv_lam
        out[3 * d + j] = (-ddd + dd * g[j]) * inv_lam
        if path_only:
            out[4 * d + j] = 0.0
            out[5 * d + j] = 0.0
        else:
            a = sd / s
            b = ddd / dd
            out[4 * d + j] = a * a
            out[5 * d + j] = b * b
