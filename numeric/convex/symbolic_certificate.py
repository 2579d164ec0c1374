r"""Certify an implicit-bias prediction with the SymPy-derived potential only.

The solver (:mod:`dln_verify.numeric.convex.implicit_bias`) carries its own hand-written
log-domain formulas for ``∇ψ`` and ``h_D``; its certificate therefore cannot notice a wrong
formula in the symbolic layer. :func:`symbolic_optimality_residual` closes that gap: it takes the
expressions that :func:`dln_verify.symbolic.potentials.derive_potential` derives from the
gradient-flow ODE, lambdifies them with SymPy, and checks the first-order optimality condition of

.. math:: β^\star = \arg\min_{Xβ = y} D_ψ(β, β̃_0)
   \iff Xβ^\star = y \ \text{and}\ v := ∇ψ(β^\star) − ∇ψ(β̃_0) ∈ \operatorname{range}(X^⊤)

(ψ strictly convex, so the condition is also sufficient). Depth 2 (``β = u⊙v``, ``u₀ = √2α``,
``v₀ = 0``): ``∇ψ = results["gradient"]`` of ``derive_potential("uv", 2)``
(``½ asinh(β/α²)``). Depth ``D ≥ 3`` (``β = w₊^D − w₋^D``, ``w±(0) = α``):
``∇ψ(β) = h_D^{-1}(β/α^D)`` with ``h_D = results["h_D"]`` of ``derive_potential("w2", D)``,
inverted numerically (bisection, then Newton with the SymPy derivative ``dh_D/ds``). Nothing from
the solver module is used.

The derivation is looked up as ``dln_verify.symbolic.potentials.derive_potential`` *at call
time*, so a test can monkeypatch that attribute with a wrong derivation and see the residual
jump (a derivation that raises :class:`~dln_verify.symbolic.potentials.IdentityCheckError`
gives a not-accepted record, not an exception).

Tolerance (``SymbolicOptimality.optimality_tolerance``), from float64 accuracy, with unit
roundoff ``u = 2^{-53}``: per coordinate, the lambdified gradient at a float ``β_i`` has
absolute error at most

* depth 2: ``e_i = 4u(1 + |g_i|) + ½ρ_i`` — two roundings in ``β/α²`` and one ulp of
  ``arcsinh`` (error ``≤ 2u|z|/√(1+z²) + 2u|asinh z|``, halved), plus the effect of an error
  ``ρ_i`` relative in ``β_i`` itself (``|β|ψ''(β) ≤ ½``);
* depth D (``c = D − 2``): ``e_i = 8u(1 + 1/c + |s_i|) + ρ_i|s_i|`` — rounding of the two
  powers in ``h_D`` divided by ``h_D'`` (``≤ u(1/c + 2/D)`` each), the end of the inversion at
  machine resolution, and ``ρ_i h_D/h_D' ≤ ρ_i|s_i|`` (``h_D`` is convex on ``s > 0`` with
  ``h_D(0) = 0``);

where ``ρ_i = u(2 + |ln|β_i||)`` is the relative accuracy of a ``β_i`` produced, as every solver
here produces it, by an exponential of its own logarithm (the rounding of the argument
``ln|β_i|`` is amplified by ``exp``), and ``ρ_i = u`` for the reference ``β̃₀`` (user data).
Projecting onto ``null(X)`` with an orthonormal basis of ``range(Xᵀ)`` (twice) adds at most
``4du`` relative: the basis is a reduced Householder QR, or, for designs of at least
``CHOLESKY_QR_MIN_ENTRIES`` entries, CholeskyQR2 accepted only with a condition estimate below
``1e6`` and a measured orthogonality defect ``max|QᵀQ − I| ≤ du`` (else Householder). With
``‖·‖`` the 2-norm, the float64 floor is ``(‖e(β)‖ + ‖e(β̃₀)‖)/‖v‖ + 4du`` and the tolerance is
``SAFETY_FACTOR = 10`` times that floor. It is typically ``1e-14 … 1e-12``; if it exceeds
:data:`MAX_INFORMATIVE_TOLERANCE` (``‖v‖`` comparable to its own rounding) the check cannot
discriminate and the record is not accepted.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

import dln_verify.symbolic.potentials as _potentials
from dln_verify.numeric._lazy import lazy_module
from dln_verify.numeric.array_cache import ArrayCache
from dln_verify.numeric.convex.certificate import Certificate
from dln_verify.numeric.convex.norms import power_of_two_scale, safe_norm
from dln_verify.numeric.validation import (
    as_finite_array,
    check_alpha,
    check_in_range,
    check_regression_data,
)

__all__ = [
    "SymbolicOptimality",
    "symbolic_optimality_residual",
    "symbolic_gradient",
    "SAFETY_FACTOR",
    "MAX_INFORMATIVE_TOLERANCE",
]

_U = 2.0**-53
_linalg = lazy_module("scipy.linalg")
#: factor between the float64 error floor and the tolerance (module docstring)
SAFETY_FACTOR = 10.0
#: a tolerance above this means the gradient difference is at its own rounding level: the check
#: is not informative and the record is not accepted
MAX_INFORMATIVE_TOLERANCE = 1e-6
#: α^D must be a normal float64 well inside the range for the lambdified formulas (β/α^D)
_ALPHA_POWER_RANGE = (1e-290, 1e290)


@dataclass(frozen=True)
class SymbolicOptimality:
    """Result of :func:`symbolic_optimality_residual`.

    Attributes
    ----------
    optimality_residual : float
        ``‖P_{null X} v‖ / ‖v‖`` with ``v = ∇ψ(β) − ∇ψ(β̃₀)`` from the lambdified SymPy gradient
        (``0`` if ``v = 0``; ``inf`` if ``v`` is not finite).
    primal_residual : float
        ``‖Xβ − y‖ / ‖y‖`` (scale-safe).
    optimality_tolerance : float
        ``SAFETY_FACTOR ×`` the float64 error floor of this evaluation (module docstring).
    primal_tolerance : float
    accepted : bool
        Both residuals finite and within their tolerances, and the optimality tolerance at most
        :data:`MAX_INFORMATIVE_TOLERANCE`.
    depth : int
    expression : str
        The SymPy expression that was lambdified (``∇ψ`` at depth 2, ``h_D`` at depth D).
    notes : tuple of str
    """

    optimality_residual: float
    primal_residual: float
    optimality_tolerance: float
    primal_tolerance: float
    accepted: bool
    depth: int
    expression: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    def certificate(self) -> Certificate:
        """This record as a :class:`Certificate` (``tolerance`` = the larger of the two).

        ``accepted`` is this record's (each residual against its own tolerance), so it can be
        combined with solver certificates by :meth:`Certificate.combine`.
        """
        return Certificate(
            solver=f"sympy-lambdified-depth{self.depth}",
            status="accepted" if self.accepted else "rejected",
            primal_residual=self.primal_residual,
            optimality_residual=self.optimality_residual,
            residual_kind="null(X) projection of grad psi(beta) - grad psi(reference), relative",
            tolerance=max(self.primal_tolerance, self.optimality_tolerance),
            accepted=self.accepted,
            notes=(f"optimality tolerance {self.optimality_tolerance:.3g} (float64 floor x "
                   f"{SAFETY_FACTOR:g}), primal tolerance {self.primal_tolerance:.3g}",
                   f"expression: {self.expression}", *self.notes),
        )


def _symbol(expr: sp.Expr, name: str) -> sp.Symbol:
    for s in expr.free_symbols:
        if s.name == name:
            return s
    return sp.Symbol(name)


@functools.lru_cache(maxsize=64)
def _lambdified(expr: sp.Expr, names: tuple[str, ...], with_derivative: bool):
    args = tuple(_symbol(expr, n) for n in names)
    f = sp.lambdify(args, expr, modules="numpy")
    if not with_derivative:
        return f, None
    return f, sp.lambdify(args, sp.diff(expr, args[0]), modules="numpy")


def symbolic_gradient(depth: int) -> tuple[sp.Expr, str]:
    """The SymPy expression used by :func:`symbolic_optimality_residual` and its variable.

    ``derive_potential("uv", 2)`` (``"w2"`` at depth ``D ≥ 3``) is called through the module
    attribute ``dln_verify.symbolic.potentials.derive_potential`` (monkeypatchable). Returns
    ``(results["gradient"], "beta")`` at depth 2 (variables ``beta``, ``alpha``) and
    ``(results["h_D"], "s")`` at depth ``D ≥ 3``.
    """
    depth = _check_depth(depth)
    results = _potentials.derive_potential("uv" if depth == 2 else "w2", depth).results
    key, var = ("gradient", "beta") if depth == 2 else ("h_D", "s")
    expr = sp.sympify(results[key])
    return expr, var


def _invert_h(h, dh, z: np.ndarray, depth: int) -> np.ndarray:
    """Solve ``h(s) = z`` on ``(−1/c, 1/c)`` for increasing ``h`` (vectorised)."""
    b = 1.0 / (depth - 2)
    lo = np.full(z.shape, -b)
    hi = np.full(z.shape, b)

    def H(s):
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(h(s), dtype=np.float64), s.shape)

    for _ in range(80):
        mid = 0.5 * (lo + hi)
        up = H(mid) >= z
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
    s = 0.5 * (lo + hi)
    for _ in range(6):
        with np.errstate(all="ignore"):
            step = (H(s) - z) / np.broadcast_to(np.asarray(dh(s), dtype=np.float64), s.shape)
            new = s - step
        ok = np.isfinite(new) & (new >= lo) & (new <= hi)
        s = np.where(ok, new, s)
    return s


def _check_depth(depth) -> int:
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 2:
        raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
    return int(depth)


#: designs with at least this many entries get their basis from CholeskyQR2 (BLAS-3 only)
#: instead of Householder QR, whose level-2 panels run at ~2 GFLOP/s on a tall (d, n) matrix:
#: 2.7 s against 0.45 s at (n, d) = (100, 10⁵), minutes against seconds at (1000, 10⁵). Every
#: built-in instance is far below it, so their certificates are computed as before, bit for bit
CHOLESKY_QR_MIN_ENTRIES = 2**20
#: CholeskyQR2 is used only if the Gram factor's condition estimate is below this (κ(X)²·u ≪ 1,
#: where the method is accurate: Yamamoto et al., ETNA 44, 2015)
_CHOLESKY_QR_MAX_COND = 1e6


def _householder_basis(A: np.ndarray) -> np.ndarray:
    """Reduced Householder QR of ``Aᵀ`` for a C-ordered ``A`` (n, d) that may be overwritten."""
    if A.size < CHOLESKY_QR_MIN_ENTRIES:
        return np.linalg.qr(A.T)[0]
    # Aᵀ is Fortran-ordered: LAPACK works in place, no copy of the size of X beyond Q
    return _linalg.qr(A.T, mode="economic", overwrite_a=True, check_finite=False)[0]


def _cholesky_qr2(A: np.ndarray) -> np.ndarray | None:
    """CholeskyQR2 of ``Aᵀ`` in the memory of ``A`` (C-ordered (n, d), overwritten), or None.

    Twice: ``G = A Aᵀ`` (a symmetric rank-k update), ``G = RᵀR`` (Cholesky), ``Aᵀ ← Aᵀ R⁻¹``
    (a triangular solve). None (the caller falls back to Householder) if a Cholesky fails, if
    the first factor's condition estimate exceeds ``_CHOLESKY_QR_MAX_COND``, or if the result's
    measured orthogonality ``max|QᵀQ − I|`` exceeds ``d·u`` (so that the projection keeps the
    ``4du`` accuracy of the module docstring).
    """
    blas, lapack = _linalg.blas, _linalg.lapack
    n, d = A.shape
    B = A.T  # (d, n), Fortran-ordered: BLAS works on it without a copy
    for first in (True, False):
        G = blas.dsyrk(1.0, B, trans=1, lower=0)
        R, info = lapack.dpotrf(G, lower=0, clean=1, overwrite_a=1)
        if info != 0:
            return None
        if first:
            rcond, info = lapack.dtrcon(R, norm="1", uplo="U")
            if info != 0 or not rcond * _CHOLESKY_QR_MAX_COND >= 1.0:
                return None
        B = blas.dtrsm(1.0, R, B, side=1, lower=0, trans_a=0, overwrite_b=1)
    E = blas.dsyrk(1.0, B, trans=1, lower=0)
    defect = float(np.max(np.abs(np.triu(E) - np.eye(n))))
    return B if defect <= d * _U else None


def _range_basis(X: np.ndarray) -> np.ndarray:
    """An orthonormal basis ``Q`` (d, n) of ``range(Xᵀ)``, computed from ``2^{-k} X`` with
    ``max|X|`` in ``2^k [0.5, 1)`` (an exact rescaling, so no square under- or overflows).

    Householder QR below ``CHOLESKY_QR_MIN_ENTRIES`` entries; above, CholeskyQR2 when its
    guards accept (:func:`_cholesky_qr2`), else Householder. One array the size of ``X`` is
    allocated (the rescaled copy, overwritten by the basis) on the large path.
    """
    k = power_of_two_scale(X)
    A = np.ldexp(X, -k)
    if A.size >= CHOLESKY_QR_MIN_ENTRIES:
        Q = _cholesky_qr2(A)
        if Q is not None:
            return Q
        np.ldexp(X, -k, out=A)  # overwritten by the attempt: rescaled again, same buffer
    return _householder_basis(A)


#: the QR of each design, once per unchanged array (one certificate per α and control)
_RANGE_BASIS: ArrayCache[np.ndarray] = ArrayCache(_range_basis, size=4)


def _rescaled_product(X: np.ndarray, k: int, w: np.ndarray) -> np.ndarray:
    """``(2^{-k} X) w``, rescaling ``X`` exactly; on designs of at least
    ``CHOLESKY_QR_MIN_ENTRIES`` entries without a copy of the size of ``X``: as ``X (2^{-k} w)``
    when that rescaling of ``w`` is exact (every product ``x_ij w_j 2^{-k}`` is then the same
    real number, hence the same float, as in ``(2^{-k} X) w``), else by blocks of rows (~32 MB
    each)."""
    if X.size < CHOLESKY_QR_MIN_ENTRIES:
        return np.ldexp(X, -k) @ w
    ws = np.ldexp(w, -k)
    if np.array_equal(np.ldexp(ws, k), w):
        return X @ ws
    rows = max(1, 2**22 // max(X.shape[1], 1))
    return np.concatenate([np.ldexp(X[i:i + rows], -k) @ w
                           for i in range(0, X.shape[0], rows)])


def _project_out_range(X: np.ndarray, v: np.ndarray) -> float:
    """``‖v − P_{range Xᵀ} v‖ / ‖v‖`` (orthonormal basis of :func:`_range_basis`, projected
    twice)."""
    norm = float(safe_norm(v))
    if norm == 0.0:
        return 0.0
    Q = _RANGE_BASIS.get(X)
    r = v / norm
    r = r - Q @ (Q.T @ r)
    r = r - Q @ (Q.T @ r)
    return float(safe_norm(r))


def symbolic_optimality_residual(
    X,
    y,
    beta,
    alpha,
    *,
    depth: int = 2,
    reference=None,
    primal_tolerance: float = 1e-10,
) -> SymbolicOptimality:
    """Certify ``β = argmin_{Xβ=y} D_ψ(β, β̃₀)`` with the SymPy-derived gradient of ψ only.

    What is certified: ``Xβ = y`` (``primal_residual = ‖Xβ − y‖/‖y‖``) and the optimality
    condition ``v = ∇ψ(β) − ∇ψ(β̃₀) ∈ range(Xᵀ)`` (``optimality_residual`` = relative norm of
    the projection of ``v`` onto ``null(X)``), where ``∇ψ`` is lambdified from
    ``dln_verify.symbolic.potentials.derive_potential`` (module docstring) and
    nothing of the numeric solver is used. The tolerance is derived per call from float64
    accuracy (module docstring).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Finite, ``n < d``, full row rank.
    y : array_like, shape (n,)
        Finite, not identically zero.
    beta : array_like, shape (d,)
        The candidate (e.g. ``implicit_bias_solution(X, y, alpha).beta``).
    alpha : float or array_like, shape (d,)
        Initialisation scale(s) ``> 0`` with ``1e-290 ≤ α^depth ≤ 1e290`` entrywise.
    depth : int
        ``2`` (``β = u⊙v``) or ``D ≥ 3`` (``β = w₊^D − w₋^D``).
    reference : array_like, shape (d,), optional
        Bregman reference ``β̃₀`` (None: ``0``, the balanced initialisation).
    primal_tolerance : float
        In ``(0, 1)``; threshold of ``primal_residual`` (default: the solver's default tol).

    Returns
    -------
    SymbolicOptimality
        ``.certificate()`` gives a :class:`Certificate` for :meth:`Certificate.combine`.

    Raises
    ------
    ValueError
        Bad input, naming the parameter and the allowed range.
    """
    X, y = check_regression_data(X, y)
    n, d = X.shape
    depth = _check_depth(depth)
    beta = as_finite_array(beta, "beta", ndim=1)
    if beta.shape[0] != d:
        raise ValueError(f"beta must have length d = {d}, got {beta.shape[0]}")
    alpha = np.broadcast_to(np.asarray(check_alpha(alpha, d), dtype=np.float64), (d,))
    log10_pow = depth * np.log10(alpha)
    lo, hi = _ALPHA_POWER_RANGE
    if np.any(log10_pow < math.log10(lo)) or np.any(log10_pow > math.log10(hi)):
        raise ValueError(f"alpha**depth must lie in [{lo:g}, {hi:g}] (every entry) for the "
                         f"lambdified formulas, got alpha in [{alpha.min():g}, {alpha.max():g}] "
                         f"at depth {depth}")
    if reference is None:
        ref = np.zeros(d)
    else:
        ref = as_finite_array(reference, "reference", ndim=1)
        if ref.shape[0] != d:
            raise ValueError(f"reference must have length d = {d}, got {ref.shape[0]}")
    primal_tolerance = check_in_range(primal_tolerance, "primal_tolerance", 0.0, 1.0,
                                      low_inclusive=False, high_inclusive=False)
    notes: list[str] = []

    # primal residual in exactly rescaled units (powers of two), scale-safe norms
    ks, kt = power_of_two_scale(y), power_of_two_scale(X)
    ys = np.ldexp(y, -ks)
    with np.errstate(all="ignore"):
        rs = _rescaled_product(X, kt, np.ldexp(beta, kt - ks)) - ys
    primal = float(safe_norm(rs) / safe_norm(ys))
    if not math.isfinite(primal):
        primal = math.inf

    try:
        expr, _ = symbolic_gradient(depth)
    except _potentials.IdentityCheckError as exc:
        return SymbolicOptimality(math.inf, primal, math.inf, primal_tolerance, False, depth,
                                  "", (f"the SymPy derivation failed its identity check: {exc}",))
    rho_beta = _U * (2.0 + np.abs(np.log(np.where(beta != 0, np.abs(beta), 1.0))))
    rho_ref = np.full(d, _U)
    with np.errstate(all="ignore"):
        if depth == 2:
            g, _ = _lambdified(expr, ("beta", "alpha"), False)
            gb = np.broadcast_to(np.asarray(g(beta, alpha), dtype=np.float64), (d,))
            g0 = np.broadcast_to(np.asarray(g(ref, alpha), dtype=np.float64), (d,))
            err_b = 4.0 * _U * (1.0 + np.abs(gb)) + 0.5 * rho_beta
            err_0 = 4.0 * _U * (1.0 + np.abs(g0)) + 0.5 * rho_ref
        else:
            h, dh = _lambdified(expr, ("s",), True)
            scale = alpha**depth
            gb = _invert_h(h, dh, beta / scale, depth)
            g0 = _invert_h(h, dh, ref / scale, depth)
            c = depth - 2.0
            err_b = 8.0 * _U * (1.0 + 1.0 / c + np.abs(gb)) + rho_beta * np.abs(gb)
            err_0 = 8.0 * _U * (1.0 + 1.0 / c + np.abs(g0)) + rho_ref * np.abs(g0)
        v = gb - g0
    if not np.all(np.isfinite(v)):
        notes.append("the lambdified gradient is not finite at beta or the reference")
        return SymbolicOptimality(math.inf, primal, math.inf, primal_tolerance, False, depth,
                                  str(expr), tuple(notes))
    vnorm = float(safe_norm(v))
    proj_floor = 4.0 * d * _U
    if vnorm == 0.0:
        residual, floor = 0.0, proj_floor
        notes.append("grad psi(beta) = grad psi(reference) exactly (beta = reference): the "
                     "primal residual decides")
    else:
        residual = _project_out_range(X, v)
        floor = (float(safe_norm(err_b)) + float(safe_norm(err_0))) / vnorm + proj_floor
    tol = SAFETY_FACTOR * floor
    informative = tol <= MAX_INFORMATIVE_TOLERANCE
    if not informative:
        notes.append(f"optimality tolerance {tol:.2e} > {MAX_INFORMATIVE_TOLERANCE:g}: the "
                     "gradient difference is at its own rounding level; not informative")
    accepted = bool(informative and math.isfinite(residual) and residual <= tol
                    and primal <= primal_tolerance)
    return SymbolicOptimality(float(residual), primal, float(tol), primal_tolerance, accepted,
                              depth, str(expr), tuple(notes))
