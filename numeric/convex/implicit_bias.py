"""The implicit-bias prediction: Bregman projection with the hyperbolic entropy (and depth D).

Convention (``docs/theory/conventions.md`` / ``docs/theory/regression.md`` §0): ``β = u ⊙ v``,
``u₀ = √2 α``, ``v₀ = 0``, ``L(β) = ‖Xβ − y‖² / (2n)`` and the hyperbolic entropy

.. math::

    ψ_α(β) = ½ Σ_i [β_i \\operatorname{asinh}(β_i/α_i²) − \\sqrt{β_i² + α_i⁴} + α_i²],
    \\qquad ∇ψ_α(β) = ½ \\operatorname{asinh}(β/α²).

Gradient flow from this initialisation converges to
``argmin_{Xβ = y} D_{ψ_α}(β, β̃₀)`` (``β̃₀ = 0``: ``argmin ψ_α``) — Woodworth, Gunasekar, Lee,
Moroshko, Savarese, Golan, Soudry & Srebro, "Kernel and rich regimes in overparametrized
models", COLT 2020, Theorem 1 (arXiv:2002.09277), in the ``u ⊙ v`` convention of Even, Pesme,
Gunasekar & Flammarion (NeurIPS 2023, arXiv:2302.08982). For depth ``D ≥ 3`` the Woodworth
parametrisation ``β = w₊^D − w₋^D`` with ``w±(0) = α`` is used and the limit is
``argmin_{Xβ=y} α^D Σ q_D(β_i/α^D)`` with ``q_D' = h_D^{-1}`` and
``h_D(s) = (1 − (D−2)s)^{−D/(D−2)} − (1 + (D−2)s)^{−D/(D−2)}`` (ibid., Theorem 3).

Solvers (``docs/theory/regression.md`` §0.2):

- ``"newton"``: damped Newton on the smooth n-dimensional dual
  ``Φ(ν) = Σ a cosh(c + Xᵀν) − ⟨ν, y⟩`` with ``a = α²``, ``c = asinh(β̃₀/α²)``, recovering
  ``β = a ⊙ sinh(c + Xᵀν)``; Cholesky on ``X diag(a cosh) Xᵀ``, Armijo backtracking, a cap on
  the change of ``Xᵀν`` per step, and continuation in ``log α`` below ``α = 1e-8``; every
  exponential is evaluated from ``log a`` (:mod:`dln_verify.numeric.hyperbolic`).
- ``"cvxpy"``: the same dual in cvxpy with the scale shift ``log a`` inside the exponent,
  solved by CLARABEL with explicit tolerances.
- ``"auto"``: Newton, falling back to cvxpy if Newton's certificate is not accepted.

Scale covariance (used to solve extreme data in exactly rescaled units): for ``λ > 0``,
``ψ_α(λβ) = λ ψ_{α'}(β)`` with ``α'² = α²/λ`` (depth 2) and ``α^D q_D(λβ/α^D) = λ α'^D
q_D(β/α'^D)`` with ``α'^D = α^D/λ`` (depth D). Hence, with ``X' = X/t`` and ``y' = y/s``,

.. math:: β^\\star(X, y, α, β̃_0) = \tfrac{s}{t}\\, β^\\star(X', y', α', \tfrac{t}{s} β̃_0),
          \\qquad α'^D = \tfrac{t}{s} α^D \\ (D = 2: α'^2 = \tfrac{t}{s} α^2),

and the dual variable maps as ``ν = ν'/t``. :func:`implicit_bias_solution` uses powers of two
``t = 2^{kt}``, ``s = 2^{ks}`` (``max|X'|, max|y'| ∈ [0.5, 1)``), so the rescaling is exact,
when ``max|X|`` or ``max|y|`` lies beyond ``2^{±64}``; ordinary data are solved as given. The
supported range is a range of the dimensionless scale ``α'`` (ValueError outside it); the
answer and its certificate are always reported in the user's units.

Every answer carries a :class:`~dln_verify.numeric.convex.certificate.Certificate` recomputed from
``β``
alone by :func:`certify_implicit_bias` (primal residual and KKT residual), and is accepted by
residuals, never by solver status.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, replace

import numpy as np

from dln_verify.numeric._lazy import lazy_module
from dln_verify.numeric.array_cache import ArrayCache
from dln_verify.numeric.convex.certificate import Certificate
from dln_verify.numeric.convex.norms import power_of_two_scale, safe_norm
from dln_verify.numeric.hyperbolic import asinh_ratio, scaled_cosh, scaled_sinh
from dln_verify.numeric.validation import (
    as_finite_array,
    check_alpha,
    check_positive,
    check_regression_data,
)

# SciPy's linear algebra is imported on first use, not with the module
_linalg = lazy_module("scipy.linalg")
_lapack = lazy_module("scipy.linalg.lapack")

__all__ = [
    "ImplicitBiasSolution",
    "implicit_bias_solution",
    "certify_implicit_bias",
    "hyperbolic_entropy",
    "bregman_gradient_difference",
    "h_depth",
    "h_depth_inverse",
]

# α below which Newton uses continuation in log α (docs/theory/regression.md §0.2)
_CONTINUATION_BELOW = 1e-8
_MAX_DZ = 15.0  # largest change of Xᵀν (the exponent) allowed in one Newton step
#: supported α at depth 2 (every entry): the log-domain Newton is certified over this range
ALPHA_RANGE_DEPTH2 = (1e-30, 1e3)
#: supported scale α^D at depth D ≥ 3 (every entry). Below, β/α^D ≫ 1 puts the dual variable at
#: ``1 − (D−2)|s| ≈ (α^D/|β|)^{(D−2)/D}``, which float64 cannot resolve once this is ≲ 1e-16:
#: measured (n = 5, d = 12, |y| from 1e-3 to 1e3, D = 3…8) certificates fail from α^D ≈ 1e-28
#: (D ≥ 5) and from α^D ≈ 1e20 upwards; 1e-20 ≤ α^D ≤ 1e16 was accepted in every case.
ALPHA_POWER_RANGE_DEEP = (1e-20, 1e16)
#: supported dimensionless scale ``α · √(max|X| / max|y|)`` at depth 2 (every entry; the maxima
#: rounded to powers of two). Measured (n = 10, d = 30, 5 seeds): certificates accepted from
#: 1e-100 to 1e100, failing from ~1e-200 (dual exponents beyond the cap) and ~1e150 (α² overflows).
EFFECTIVE_ALPHA_RANGE_DEPTH2 = (1e-90, 1e90)
#: supported dimensionless scale ``α^D · max|X| / max|y|`` at depth D ≥ 3: the measurements
#: behind :data:`ALPHA_POWER_RANGE_DEEP` (|y| from 1e-3 to 1e3, standard normal X) in these units.
EFFECTIVE_ALPHA_POWER_RANGE_DEEP = (1e-22, 1e19)
#: data whose max|y| or max|X| lies beyond 2^±64 are solved in exactly rescaled units
_RESCALE_BEYOND = 64
#: the interpolator's scale 2^{ks−kt} must stay well inside the float64 range
_MAX_ANSWER_EXPONENT = 1000


@dataclass(frozen=True)
class ImplicitBiasSolution:
    """The predicted limit of gradient flow and how it was obtained.

    Attributes
    ----------
    beta : ndarray, shape (d,)
        ``argmin_{Xβ=y} D_{ψ_α}(β, β̃₀)`` (depth 2) or ``argmin α^D Σ q_D(β/α^D)`` (depth D).
    nu : ndarray, shape (n,)
        Dual variable: ``β = α² sinh(c + Xᵀν)`` (depth 2), ``β = α^D h_D(Xᵀν)`` (depth D).
    certificate : Certificate
        Residuals recomputed from ``beta`` alone (:func:`certify_implicit_bias`).
    method : str
        ``"newton"`` or ``"cvxpy"`` (the method whose answer is returned).
    iterations : int
        Newton iterations (all continuation stages) or interior-point iterations.
    """

    beta: np.ndarray
    nu: np.ndarray
    certificate: Certificate
    method: str
    iterations: int


# ---------------------------------------------------------------------------------------------
# Potentials and their gradients
# ---------------------------------------------------------------------------------------------


def hyperbolic_entropy(beta, alpha) -> float:
    """``ψ_α(β) = ½ Σ [β asinh(β/α²) − √(β² + α⁴) + α²]`` (convention of
    ``docs/theory/regression.md`` §0).

    Evaluated as ``½ Σ [β asinh(β/α²) − (√(β²+α⁴) − α²)]`` with the second bracket written as
    ``β² / (√(β²+α⁴) + α²)`` to avoid cancellation. ``beta`` must be finite and ``alpha > 0``
    (scalar or one entry per coordinate of ``beta``); ValueError otherwise.
    """
    beta = as_finite_array(beta, "beta")
    alpha = check_alpha(alpha, beta.shape[0] if beta.ndim == 1 else None)
    if np.ndim(alpha) and beta.ndim != 1:
        raise ValueError(f"a vector alpha needs a 1-axis beta, got beta shape {beta.shape}")
    log_a = 2.0 * np.log(np.asarray(alpha, dtype=np.float64))
    a = np.exp(log_a)
    with np.errstate(over="ignore"):
        root = np.hypot(beta, a)
    second = np.where(root > 0, beta**2 / (root + a), 0.0)
    return float(0.5 * np.sum(beta * asinh_ratio(beta, log_a) - second))


def bregman_gradient_difference(beta, reference, log_a) -> np.ndarray:
    """``asinh(β/a) − asinh(β̃₀/a)`` computed without cancellation (``a = exp(log_a)``).

    This is ``2 (∇ψ_α(β) − ∇ψ_α(β̃₀))``. When both ratios have the same sign and are
    representable, uses ``asinh x − asinh y = asinh((x−y)(x+y)/(x√(1+y²) + y√(1+x²)))``;
    otherwise the difference of the two log-domain values
    :func:`dln_verify.numeric.hyperbolic.asinh_ratio`.
    """
    beta = as_finite_array(beta, "beta")
    log_a = as_finite_array(log_a, "log_a")
    try:
        log_a = np.broadcast_to(log_a, beta.shape)
        ref = None if reference is None else np.broadcast_to(
            as_finite_array(reference, "reference"), beta.shape)
    except ValueError as exc:
        if "must" in str(exc):
            raise
        raise ValueError(f"log_a and reference must broadcast to the shape of beta "
                         f"{beta.shape}") from None
    if ref is None:
        return asinh_ratio(beta, log_a)
    out = asinh_ratio(beta, log_a) - asinh_ratio(ref, log_a)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        a = np.exp(log_a)
        x = beta / a
        yy = ref / a
        ok = (a > 0) & np.isfinite(x) & np.isfinite(yy) & (np.abs(x) < 1e150) & (np.abs(yy) < 1e150)
        ok &= (x * yy) > 0
        den = x * np.sqrt(1.0 + yy**2) + yy * np.sqrt(1.0 + x**2)
        arg = ((beta - ref) / a) * (x + yy) / den
        alt = np.arcsinh(arg)
    ok &= np.isfinite(alt)
    out = np.where(ok, alt, out)
    return out


def _check_deep(depth) -> int:
    """``depth`` for the depth-D functions: an integer ≥ 3 (at D = 2, c = D − 2 = 0)."""
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 3:
        raise ValueError(f"depth must be an integer >= 3 here (h_D divides by D - 2), got "
                         f"{depth!r}")
    return int(depth)


def _log1p_checked(v):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log1p(v)


def h_depth(s, depth: int, log_scale=0.0) -> np.ndarray:
    """``exp(log_scale) · h_D(s)``, ``h_D(s) = (1−cs)^{−D/c} − (1+cs)^{−D/c}``, ``c = D − 2``.

    Defined on ``|s| < 1/c``; evaluated in the log domain (Woodworth et al. 2020;
    docs/theory/regression.md §1.2). ``depth`` must be an integer ≥ 3 (``h_D`` has ``D − 2`` in a
    denominator), ``s`` finite with ``|s| < 1/(D − 2)`` and ``log_scale`` finite; ValueError naming
    the argument otherwise.
    """
    depth = _check_deep(depth)
    s = np.asarray(as_finite_array(s, "s"), dtype=np.float64)
    if np.any(np.abs(s) * (depth - 2.0) >= 1.0):
        raise ValueError(f"s must satisfy |s| < 1/(depth - 2) = 1/{depth - 2} (got max |s| = "
                         f"{float(np.max(np.abs(s))):g})")
    log_scale = as_finite_array(log_scale, "log_scale")
    return _h_depth_raw(s, depth, log_scale)


def _h_depth_raw(s, depth: int, log_scale=0.0) -> np.ndarray:
    """:func:`h_depth` without validation (the solvers call it on feasible points)."""
    s = np.asarray(s, dtype=np.float64)
    c = depth - 2.0
    p = depth / c
    with np.errstate(over="ignore"):
        lm = _log1p_checked(-c * np.abs(s))
        lp = _log1p_checked(c * np.abs(s))
        mag = np.exp(log_scale - p * lm) * (-np.expm1(p * (lm - lp)))
    return np.sign(s) * mag


def _h_depth_prime(s, depth: int, log_scale=0.0) -> np.ndarray:
    """``exp(log_scale) · h_D'(s) = e^{ls} · D[(1−cs)^{−(D+c)/c} + (1+cs)^{−(D+c)/c}]``."""
    c = depth - 2.0
    q = (depth + c) / c
    with np.errstate(over="ignore"):
        lm = _log1p_checked(-c * s)
        lp = _log1p_checked(c * s)
        return depth * (np.exp(log_scale - q * lm) + np.exp(log_scale - q * lp))


def _H_depth(s, depth: int, log_scale=0.0) -> np.ndarray:
    """``exp(log_scale) · H_D(s)``, ``H_D(s) = ½[(1−cs)^{−2/c} + (1+cs)^{−2/c} − 2]``.

    ``H_D' = h_D`` (Woodworth et al. 2020; ``docs/theory/regression.md`` §1.2).
    """
    c = depth - 2.0
    r = 2.0 / c
    with np.errstate(over="ignore"):
        lm = _log1p_checked(-c * s)
        lp = _log1p_checked(c * s)
        # (1-cs)^{-r} - 1 + (1+cs)^{-r} - 1, each via expm1 to keep small-s accuracy
        return 0.5 * np.exp(log_scale) * (np.expm1(-r * lm) + np.expm1(-r * lp))


def h_depth_inverse(z, depth: int, log_z=None) -> np.ndarray:
    """Solve ``h_D(s) = z`` for ``s ∈ (−1/c, 1/c)`` (``c = D − 2``), vectorised.

    ``log_z`` (optional) gives ``log|z|`` when ``z`` itself under/overflows. Bisection on
    ``log h_D(s) = log|z|`` followed by safeguarded Newton steps on the same equation, which is
    well conditioned for small ``s`` (``log h_D(s) ≈ log(2Ds)``). Close to the boundary
    ``1 − c|s| ≲ 1e-16`` the answer is limited by float64 resolution of ``s``. ``depth`` must
    be an integer ≥ 3 (ValueError).
    """
    depth = _check_deep(depth)
    z = as_finite_array(z, "z") if np.size(z) else np.asarray(z, dtype=np.float64)
    c = depth - 2.0
    p = depth / c
    if log_z is None:
        with np.errstate(divide="ignore"):
            log_z = np.log(np.abs(z))
    else:
        log_z = np.asarray(log_z, dtype=np.float64)
        if np.any(np.isnan(log_z)) or np.any(np.isposinf(log_z)):
            raise ValueError("log_z must be finite or -inf (log|z| of z = 0), got NaN or +inf")
        try:
            log_z = np.broadcast_to(log_z, z.shape)
        except ValueError:
            raise ValueError(f"log_z must broadcast to the shape of z {z.shape}, got "
                             f"{log_z.shape}") from None
    log_z = np.broadcast_to(np.asarray(log_z, dtype=np.float64), z.shape)
    sign = np.sign(z)
    zero = sign == 0

    def log_h(s):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lm = np.log1p(-c * s)
            lp = np.log1p(c * s)
            return -p * lm + np.log(-np.expm1(p * (lm - lp)))

    lo = np.zeros_like(log_z)
    hi = np.full_like(log_z, 1.0 / c)
    # initial upper bracket from (1-cs)^{-p} >= |z| + (1+cs)^{-p}: take 1 - cs = (|z|+1)^{-1/p}
    r_up = np.exp(-np.logaddexp(log_z, 0.0) / p)
    hi = np.minimum(hi, (1.0 - 0.5 * r_up) / c)
    hi_val = log_h(hi)
    hi = np.where(hi_val >= log_z, hi, np.nextafter(1.0 / c, 0.0))
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        val = log_h(mid)
        up = val >= log_z
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
    s = 0.5 * (lo + hi)
    for _ in range(4):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            f = log_h(s) - log_z
            dlog = _h_depth_prime(s, depth) / _h_depth_raw(s, depth)
            step = f / dlog
        new = s - step
        ok = np.isfinite(new) & (new > 0) & (new < 1.0 / c)
        s = np.where(ok, new, s)
    return np.where(zero, 0.0, sign * s)


# ---------------------------------------------------------------------------------------------
# Certificate
# ---------------------------------------------------------------------------------------------


def _range_distance(X: np.ndarray, theta: np.ndarray, factor=None) -> float:
    """Relative distance ``‖θ − P θ‖ / ‖θ‖`` of ``θ`` from ``range(Xᵀ)`` (``P`` orthogonal).

    ``factor`` is the :class:`_DataFactor` of ``X`` (computed when None): the projection is
    ``P = Xᵀ G⁻¹ X`` through the Cholesky factor of the row-equilibrated Gram matrix
    ``G = D⁻¹XXᵀD⁻¹`` when ``X`` is well conditioned (``cond ≲ 10³``), and ``P = QQᵀ`` through a
    reduced QR factorisation ``Xᵀ = QR`` otherwise. Either way the projection is applied twice
    (re-orthogonalisation), so the result is accurate to ~1e-16 even for ``‖θ − Pθ‖ ≪ ‖θ‖``.
    """
    if not np.all(np.isfinite(theta)):
        return float("inf")
    norm = float(safe_norm(theta))
    if norm == 0.0:
        return 0.0
    if factor is None:
        factor = _data_factor(X)
    r = theta / norm
    r = r - factor.project(X, r)
    r = r - factor.project(X, r)
    return float(np.linalg.norm(r))


# ---------------------------------------------------------------------------------------------
# Per-dataset factorisation (computed once per X, reused across α, controls and claims)
# ---------------------------------------------------------------------------------------------

#: the Gram path is used when the reciprocal condition number of the equilibrated Cholesky factor
#: (≈ 1/cond(X)) is at least this: one projection through G⁻¹ is then accurate to ~eps·cond² ≤
#: 1e-10 and the second pass brings it to rounding level; otherwise the QR path (as before)
_GRAM_RCOND_MIN = 1e-3
#: |log2 max|X|| beyond which products with X are formed on exactly rescaled row blocks
_DIRECT_SCALE_LIMIT = 64
_CACHE_SIZE = 4


def _scaled_matvec(X: np.ndarray, v: np.ndarray, k: int) -> np.ndarray:
    """``(2^{-k} X) @ v`` without forming ``2^{-k} X`` when that is exact to rounding.

    For ``|k| ≤ 64`` the power-of-two scale is applied to the result (bitwise the same unless a
    product is subnormal or the result overflows, which is then redone); beyond, the scaled
    matrix is formed in row blocks of at most ~4 MB (no full n×d copy).
    """
    if abs(k) <= _DIRECT_SCALE_LIMIT:
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            out = np.ldexp(X @ v, -k)
        if np.all(np.isfinite(out)) and float(np.max(np.abs(out), initial=0.0)) < 2.0**900:
            return out
    n, d = X.shape
    rows = max(1, min(n, (1 << 19) // max(d, 1)))
    out = np.empty(n, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for i in range(0, n, rows):
            out[i:i + rows] = np.ldexp(X[i:i + rows], -k) @ v
    return out


def _gram_upper(X: np.ndarray) -> np.ndarray:
    """``X Xᵀ`` as a symmetric rank-k update (numpy dispatches ``A @ A.T`` to BLAS syrk)."""
    return X @ X.T


@dataclass(frozen=True)
class _DataFactor:
    """Factorisation of a design ``X`` (n, d), full row rank, for projections onto range(Xᵀ).

    ``gram`` is the Gram matrix of ``2^{-gram_k} X`` (``gram_k = 0`` unless ``max|X|`` lies
    beyond ``2^{±64}``, then ``gram_k = kt``, ``max|X| ∈ 2^{kt}[0.5, 1)``); ``chol`` the upper
    Cholesky factor of the equilibrated Gram matrix ``D⁻¹GD⁻¹`` (``D = √diag G``) or None;
    ``Q`` the reduced QR factor of ``Xᵀ`` (only when the Gram path is not accurate enough).
    """

    shape: tuple[int, int]
    kt: int
    gram: np.ndarray
    gram_k: int
    scale: np.ndarray | None
    chol: np.ndarray | None
    Q: np.ndarray | None

    def gram_of(self, k: int) -> np.ndarray:
        """The Gram matrix of ``2^{-k} X`` (exact power-of-two rescaling of :attr:`gram`)."""
        if k == self.gram_k:
            return self.gram
        with np.errstate(over="ignore", under="ignore"):
            return np.ldexp(self.gram, -2 * (k - self.gram_k))

    def project(self, X: np.ndarray, r: np.ndarray) -> np.ndarray:
        """``P r`` with ``P`` the orthogonal projector onto ``range(Xᵀ)``."""
        if self.Q is not None:
            return self.Q @ (self.Q.T @ r)
        k = self.kt if abs(self.kt) > _DIRECT_SCALE_LIMIT else 0
        xr = _scaled_matvec(X, r, k) / self.scale
        c = _linalg.cho_solve((self.chol, False), xr, check_finite=False) / self.scale
        if k == 0:
            return X.T @ c
        n, d = X.shape
        rows = max(1, min(n, (1 << 19) // max(d, 1)))
        out = np.zeros(d)
        for i in range(0, n, rows):
            out += np.ldexp(X[i:i + rows], -k).T @ c[i:i + rows]
        return out


def _compute_factor(X: np.ndarray) -> _DataFactor:
    n, d = X.shape
    kt = power_of_two_scale(X)
    chol = scale = None
    # extreme scales: the Gram matrix of the exactly rescaled 2^{-kt} X (one copy of X)
    Xg = np.ldexp(X, -kt) if abs(kt) > _DIRECT_SCALE_LIMIT else None
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        G = _gram_upper(X if Xg is None else Xg)
    dg = np.diag(G).copy()
    if np.all(np.isfinite(G)) and np.all(dg > 0) and np.all(np.isfinite(dg)):
        scale = np.sqrt(dg)
        Gs = G / scale[:, None] / scale[None, :]
        try:
            U, info = _lapack.dpotrf(Gs, lower=0, clean=1, overwrite_a=0)
        except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - defensive
            info = 1
        if info == 0:
            rcond, info_c = _lapack.dtrcon(U, norm="1", uplo="U", diag="N")
            if info_c == 0 and np.isfinite(rcond) and rcond >= _GRAM_RCOND_MIN:
                chol = U
    gram_k = 0 if Xg is None else kt
    if chol is not None:
        return _DataFactor((n, d), kt, G, gram_k, scale, chol, None)
    # ill-conditioned or rank deficient: one reduced QR of Xᵀ decides the rank (as before)
    Xq = X if Xg is None else Xg
    Q, R = np.linalg.qr(Xq.T)
    diag = np.abs(np.diag(R))
    if diag.min() <= max(n, d) * np.finfo(float).eps * diag.max():
        raise ValueError("X must have full row rank (rank n) so that Xβ = y is feasible")
    return _DataFactor((n, d), kt, G, gram_k, None, None, Q)


_factor_cache: ArrayCache[_DataFactor] = ArrayCache(_compute_factor, size=_CACHE_SIZE)
_factor_stats = _factor_cache.stats


def _data_factor(X: np.ndarray) -> _DataFactor:
    """The :class:`_DataFactor` of ``X``, reused while the same unchanged array is passed again
    (:class:`~dln_verify.numeric.array_cache.ArrayCache`: identity, weak reference, shape,
    strides and a content fingerprint). ValueError if ``X`` does not have full row rank.
    """
    return _factor_cache.get(X)


def _log_alpha(alpha, d: int) -> np.ndarray:
    return np.broadcast_to(np.log(np.asarray(alpha, dtype=np.float64)), (d,)).copy()


def certify_implicit_bias(
    X, y, beta, alpha, reference=None, depth: int = 2, tol: float = 1e-8
) -> Certificate:
    """Certify a candidate ``β`` for the implicit-bias problem, from ``β`` alone.

    Depth 2 (convention ``β = u⊙v``, ``u₀ = √2α``, ``v₀ = 0``; Woodworth et al., COLT 2020,
    Thm. 1, arXiv:2002.09277): the KKT conditions of ``argmin_{Xβ=y} D_{ψ_α}(β, β̃₀)`` are
    ``Xβ = y`` and ``∇ψ_α(β) − ∇ψ_α(β̃₀) = ½[asinh(β/α²) − asinh(β̃₀/α²)] ∈ range(Xᵀ)``.
    Depth ``D ≥ 3`` (``β = w₊^D − w₋^D``, ``w±(0) = α``; ibid. Thm. 3): ``Xβ = y`` and
    ``h_D^{-1}(β/α^D) ∈ range(Xᵀ)``.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
    beta : ndarray, shape (d,)
        The candidate answer.
    alpha : float or ndarray, shape (d,)
        Initialisation scale, > 0.
    reference : ndarray, shape (d,), optional
        Bregman reference point ``β̃₀`` (depth 2 only; None means 0).
    depth : int
        2 or an integer ≥ 3.
    tol : float
        Both residuals must be ≤ ``tol`` for ``accepted``.

    Returns
    -------
    Certificate
        ``primal_residual = ‖Xβ − y‖ / ‖y‖`` (relative to ‖y‖; ``y ≢ 0`` is required);
        ``optimality_residual`` = relative distance ``‖θ − P_{range Xᵀ} θ‖ / ‖θ‖`` of the
        mirror point ``θ`` (above) from ``range(Xᵀ)``, ``residual_kind = "kkt-relative"``.
        ``θ = 0`` (e.g. ``β = β̃₀``) lies in ``range(Xᵀ)``, so its KKT residual is exactly 0;
        such a ``β`` is judged by the primal residual, which is 1 for ``β = 0`` and ``y ≠ 0``.
    """
    X, y, factor = _check_data(X, y)
    n, d = X.shape
    beta = as_finite_array(beta, "beta", ndim=1)
    if beta.shape[0] != d:
        raise ValueError(f"beta must have length d = {d}, got {beta.shape[0]}")
    alpha = check_alpha(alpha, d)
    depth = _check_depth(depth, reference)
    tol = check_positive(tol, "tol")
    reference = _check_reference(reference, d)
    return _certify(X, y, factor, beta, _log_alpha(alpha, d), reference, depth, tol)


def _certify(X, y, factor, beta, log_alpha, reference, depth, tol) -> Certificate:
    # relative to ‖y‖ (y ≢ 0 is enforced by check_regression_data), so the certificate is
    # invariant under y → s·y and a tiny y does not make every small β "accepted". Computed in
    # units where max|X| and max|y| lie in [0.5, 1) (exact power-of-two rescaling) and with
    # scale-safe norms, so that neither Xβ nor the squares in ‖·‖ under- or overflow.
    ks, kt = power_of_two_scale(y), factor.kt  # the factor's kt is power_of_two_scale(X)
    ys = np.ldexp(y, -ks)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        bs = np.ldexp(beta, kt - ks)
        rs = _scaled_matvec(X, bs, kt) - ys
    primal = float(safe_norm(rs) / safe_norm(ys))
    if not np.isfinite(primal):
        primal = float("inf")
    if depth == 2:
        theta = 0.5 * bregman_gradient_difference(beta, reference, 2.0 * log_alpha)
    else:
        with np.errstate(divide="ignore"):
            log_z = np.log(np.abs(beta)) - depth * log_alpha
        theta = h_depth_inverse(np.sign(beta), depth, log_z=log_z)
    kkt = _range_distance(X, theta, factor)
    if not np.isfinite(kkt):
        kkt = float("inf")
    accepted = bool(primal <= tol and kkt <= tol)
    return Certificate(
        solver="certify_implicit_bias",
        status="accepted" if accepted else "rejected",
        primal_residual=primal,
        optimality_residual=kkt,
        residual_kind="kkt-relative",
        tolerance=float(tol),
        accepted=accepted,
    )


def _check_data(X, y):
    """Validate (X, y) with :mod:`dln_verify.numeric.validation`; rank from one factorisation.

    Returns ``(X, y, factor)`` with the :class:`_DataFactor` of ``X`` (cached per array, reused
    by the certificate and, for the first Newton Hessian, by the solver); ValueError if
    ``n ≥ d`` or ``X`` does not have full row rank.
    """
    X, y = check_regression_data(X, y, require_underdetermined=False)
    n, d = X.shape
    if n >= d:
        raise ValueError(
            f"X must have fewer rows than columns (n < d) so that interpolators exist; "
            f"got n = {n}, d = {d}"
        )
    return X, y, _data_factor(X)


def _check_alpha_range(alpha, depth: int) -> None:
    """Enforce the supported α range of :func:`implicit_bias_solution` (every entry)."""
    arr = np.atleast_1d(np.asarray(alpha, dtype=np.float64))
    if depth == 2:
        lo, hi = ALPHA_RANGE_DEPTH2
        if np.any(arr < lo) or np.any(arr > hi):
            raise ValueError(
                f"alpha must lie in [{lo:g}, {hi:g}] (every entry) at depth 2, got range "
                f"[{arr.min():g}, {arr.max():g}]"
            )
        return
    lo, hi = ALPHA_POWER_RANGE_DEEP
    log_pow = depth * np.log10(arr)
    if np.any(log_pow < np.log10(lo)) or np.any(log_pow > np.log10(hi)):
        raise ValueError(
            f"alpha must satisfy {lo:g} <= alpha**depth <= {hi:g} (every entry) at depth "
            f"{depth}, i.e. alpha in [{lo ** (1 / depth):.3g}, {hi ** (1 / depth):.3g}], got "
            f"range [{arr.min():g}, {arr.max():g}]"
        )


def _check_effective_scale(X, y, log_alpha, depth: int,
                           kt: int | None = None) -> tuple[int, int] | None:
    """Check the dimensionless scale of the problem; say whether to solve it rescaled.

    With ``max|y| = f_y 2^{ks}`` and ``max|X| = f_X 2^{kt}`` (``f ∈ [0.5, 1)``), the problem is
    equivalent to one with ``X' = 2^{−kt} X``, ``y' = 2^{−ks} y`` and effective scale
    ``α'^D = 2^{kt−ks} α^D`` (module docstring, "Scale covariance"). ``α'`` must lie in
    :data:`EFFECTIVE_ALPHA_RANGE_DEPTH2` (depth 2) or ``α'^D`` in
    :data:`EFFECTIVE_ALPHA_POWER_RANGE_DEEP` (depth D), and the answer's scale ``2^{ks−kt}``
    must be representable; ValueError naming ``y``, ``X`` and ``alpha`` otherwise.

    Returns ``(ks, kt)`` when ``|ks|`` or ``|kt|`` exceeds :data:`_RESCALE_BEYOND` (the solve is
    then done in the rescaled units), None otherwise (ordinary data are solved as given).
    """
    ks = power_of_two_scale(y)
    kt = power_of_two_scale(X) if kt is None else kt  # callers with a factor pass factor.kt
    if abs(ks - kt) > _MAX_ANSWER_EXPONENT:
        raise ValueError(
            f"the scale of y relative to X is outside the supported range: max|y| / max|X| "
            f"≈ 2^{ks - kt} but |log2(max|y| / max|X|)| must be <= {_MAX_ANSWER_EXPONENT} (the "
            "interpolator β would not be representable in float64); rescale y or X")
    log10_eff = (depth * np.asarray(log_alpha) + (kt - ks) * np.log(2.0)) / np.log(10.0)
    if depth == 2:
        lo, hi = (np.log10(v) for v in EFFECTIVE_ALPHA_RANGE_DEPTH2)
        eff = log10_eff / 2.0
        what = "alpha * sqrt(max|X| / max|y|)"
    else:
        lo, hi = (np.log10(v) for v in EFFECTIVE_ALPHA_POWER_RANGE_DEEP)
        eff = log10_eff
        what = f"alpha**{depth} * max|X| / max|y|"
    if np.any(eff < lo) or np.any(eff > hi):
        raise ValueError(
            f"the dimensionless scale {what} (max|·| rounded to powers of two) must lie in "
            f"[1e{lo:g}, 1e{hi:g}] (every entry of alpha), got 10^[{np.min(eff):.3g}, "
            f"{np.max(eff):.3g}]: alpha is too small or too large for the scale of y and X")
    if abs(ks) > _RESCALE_BEYOND or abs(kt) > _RESCALE_BEYOND:
        return ks, kt
    return None


def _check_reference(reference, d):
    if reference is None:
        return None
    reference = as_finite_array(reference, "reference", ndim=1)
    if reference.shape[0] != d:
        raise ValueError(f"reference must have length d = {d}, got {reference.shape[0]}")
    return reference


def _check_depth(depth, reference) -> int:
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 2:
        raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
    depth = int(depth)
    if depth >= 3 and reference is not None:
        raise ValueError("reference must be None for depth >= 3 (only depth 2 has a reference)")
    return depth


# ---------------------------------------------------------------------------------------------
# Newton on the dual (depth 2)
# ---------------------------------------------------------------------------------------------


def _solve_spd(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Solve ``H x = g`` for symmetric positive (semi)definite ``H`` with Jacobi scaling.

    Only the upper triangle of ``H`` is read.
    """
    dg = np.sqrt(np.maximum(np.diag(H), np.finfo(float).tiny))
    Hs = H / dg[:, None] / dg[None, :]
    gs = g / dg
    try:
        cf = _linalg.cho_factor(Hs, lower=False, check_finite=False)
        x = _linalg.cho_solve(cf, gs, check_finite=False)
        if not np.all(np.isfinite(x)):
            raise np.linalg.LinAlgError("non-finite Cholesky solve")
    except (np.linalg.LinAlgError, _linalg.LinAlgError, ValueError):
        w, V = np.linalg.eigh(Hs, UPLO="U")
        w = np.maximum(w, 1e-14 * max(float(w.max()), 1e-300))
        x = V @ ((V.T @ gs) / w)
    return x / dg


class _Hessian:
    """``X diag(w) Xᵀ`` as a symmetric rank-k update of ``X ⊙ √w`` in a reused n×d buffer.

    ``gram`` (optional) is ``X Xᵀ``: a constant weight vector (the first step from ``ν = 0``
    with a scalar α) then costs no product with ``X`` at all.
    """

    def __init__(self, X: np.ndarray, gram: np.ndarray | None = None) -> None:
        self.X = X
        self.gram = gram if gram is not None and np.all(np.isfinite(gram)) else None
        self.buf: np.ndarray | None = None
        self.products = 0

    def __call__(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=np.float64)
        if self.gram is not None and w.size and w[0] == w[-1] and np.ptp(w) == 0.0:
            with np.errstate(over="ignore", invalid="ignore"):
                return float(w[0]) * self.gram
        if self.buf is None:
            self.buf = np.empty_like(self.X)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            np.multiply(self.X, np.sqrt(w), out=self.buf)
            self.products += 1
            return self.buf @ self.buf.T


def _damped_dual_newton(
    X, y, shift, nu0, tol, max_iter, *, value, primal, weight, first_step, feasible,
    stagnation_window, stagnation_floor, max_backtracks, hessian=None,
):
    """Damped Newton on the smooth dual ``Φ(ν) = Σ value(shift + Xᵀν) − ⟨ν, y⟩``.

    ``primal(z)`` is ``∇value`` (so ``∇Φ = X primal(z) − y``) and ``weight(z)`` is ``∇²value``
    (Hessian ``X diag(weight) Xᵀ``, Cholesky). Each step starts at ``first_step(z, Δz)`` and
    halves (Armijo, at most ``max_backtracks`` times) until the trial point is ``feasible`` and
    decreases Φ. Stops when ``‖∇Φ‖ ≤ tol·‖y‖``, or at a rounding floor: no halving of the
    gradient over ``stagnation_window`` iterations once below ``stagnation_floor·‖y‖``.
    Returns ``(ν, z, iterations, ok)``.
    """
    ynorm = float(np.linalg.norm(y))  # > 0: y ≢ 0 is validated
    if hessian is None:
        hessian = _Hessian(X)
    nu = nu0.copy()
    z = shift + X.T @ nu

    def phi_of(zz, nn):
        return float(np.sum(value(zz)) - nn @ y)

    phi = phi_of(z, nu)
    it = 0
    ok = False
    history: list[float] = []
    for it in range(1, max_iter + 1):  # noqa: B007
        grad = X @ primal(z) - y
        gnorm = float(np.linalg.norm(grad))
        if gnorm <= tol * ynorm:
            ok = True
            it -= 1
            break
        history.append(gnorm)
        if (len(history) > stagnation_window and gnorm <= stagnation_floor * ynorm
                and gnorm > 0.5 * min(history[:-stagnation_window])):
            break  # rounding floor reached (the certificate judges the answer)
        H = hessian(weight(z))
        try:
            step = -_solve_spd(H, grad)
        except (np.linalg.LinAlgError, _linalg.LinAlgError, ValueError):
            break  # non-finite Hessian (e.g. a far warm start): not converged, the caller decides
        dz = X.T @ step
        slope = float(grad @ step)
        if not np.isfinite(slope) or slope >= 0:
            step = -grad
            dz = X.T @ step
            slope = float(grad @ step)
        t = first_step(z, dz)
        accepted = False
        for _ in range(max_backtracks):
            znew = z + t * dz
            if feasible(znew):
                phinew = phi_of(znew, nu + t * step)
                if np.isfinite(phinew) and phinew <= phi + 1e-4 * t * slope + 1e-15 * abs(phi):
                    accepted = True
                    break
            t *= 0.5
        if not accepted:
            break
        nu = nu + t * step
        z = shift + X.T @ nu
        phi = phi_of(z, nu)
    else:
        ok = float(np.linalg.norm(X @ primal(z) - y)) <= tol * ynorm
    return nu, z, it, ok


def _always_feasible(z) -> bool:
    return True


def _newton_depth2(X, y, log_a, c, nu0, tol, max_iter=200, hessian=None):
    """Damped Newton on ``Φ(ν) = Σ a cosh(c + Xᵀν) − ⟨ν, y⟩``; returns (ν, iterations, ok).

    Each step is capped so that ``max|XᵀΔν| ≤ _MAX_DZ`` before the line search.
    """

    def capped(z, dz):
        dzmax = float(np.max(np.abs(dz)))
        return 1.0 if dzmax <= _MAX_DZ else _MAX_DZ / dzmax

    nu, _, it, ok = _damped_dual_newton(
        X, y, c, nu0, tol, max_iter,
        value=lambda z: scaled_cosh(log_a, z), primal=lambda z: scaled_sinh(log_a, z),
        weight=lambda z: scaled_cosh(log_a, z), first_step=capped, feasible=_always_feasible,
        stagnation_window=10, stagnation_floor=1e-8, max_backtracks=60, hessian=hessian,
    )
    return nu, it, ok


def _newton_solve_depth2(X, y, log_alpha, reference, tol, *, gram=None, warm_start=None):
    """Newton with a step cap, and continuation in log α as a fallback for tiny α.

    The cap on ``max|XᵀΔν|`` per step (``_MAX_DZ``) keeps the first step at tiny α (of size
    ~1/α²) from breaking the line search (``docs/theory/regression.md`` §0.2, pitfall §10.5); it
    needs no continuation in practice (measured: 55 iterations at α = 1e-30, 28 for α spread over
    [1e-30, 1]). If it still fails for min α < 1e-8, Newton is rerun with continuation in
    log α: α scaled up so that min α = 1e-4, then down by 1e-3 per stage, warm-starting ν
    (scaled by the ratio of the mean ``−log a``).

    ``gram`` (``X Xᵀ``, optional) makes the first Hessian from ``ν = 0`` free for a scalar α;
    ``warm_start`` (a dual ν, optional) starts Newton there; if that run does not converge,
    Newton restarts from ``ν = 0`` (so a poor warm start costs time, never the answer).
    """
    n, d = X.shape
    log_a = 2.0 * log_alpha
    inner_tol = min(tol * 1e-3, 1e-12)
    c = np.zeros(d) if reference is None else asinh_ratio(reference, log_a)
    notes: list[str] = []
    hessian = _Hessian(X, gram)
    ok = False
    total = 0
    if warm_start is not None:
        nu, total, ok = _newton_depth2(X, y, log_a, c, warm_start, inner_tol, hessian=hessian)
        if ok:
            notes.append(f"warm start: converged in {total} iterations")
        else:
            notes.append(f"warm start: not converged after {total} iterations; restarted at 0")
    if not ok:
        nu, it0, ok = _newton_depth2(X, y, log_a, c, np.zeros(n), inner_tol, hessian=hessian)
        total += it0
    min_log_alpha = float(np.min(log_alpha))
    if not ok and min_log_alpha < np.log(_CONTINUATION_BELOW):
        first_total = total
        shift0 = np.log(1e-4) - min_log_alpha
        shifts = [float(sh) for sh in np.arange(shift0, 0.0, -np.log(1e3)) if sh > 0.0] + [0.0]
        nu_c = np.zeros(n)
        prev_scale = None
        for sh in shifts:
            la = log_a + 2.0 * sh
            cc = np.zeros(d) if reference is None else asinh_ratio(reference, la)
            scale = float(np.mean(-la)) + 1.0
            if prev_scale is not None and prev_scale > 0 and scale > 0:
                nu_c = nu_c * (scale / prev_scale)
            stage_tol = inner_tol if sh == 0.0 else 1e-6
            nu_c, it, ok_c = _newton_depth2(X, y, la, cc, nu_c, stage_tol, hessian=hessian)
            total += it
            prev_scale = scale
        notes.append(
            f"direct Newton not converged after {first_total} iterations; "
            f"continuation in log alpha over {len(shifts)} stages"
        )
        nu = nu_c
    beta = scaled_sinh(log_a, c + X.T @ nu)
    return beta, nu, total, notes


# ---------------------------------------------------------------------------------------------
# Newton on the dual (depth D >= 3)
# ---------------------------------------------------------------------------------------------


def _newton_depth(X, y, log_alpha, depth, tol, max_iter=300, nu0=None, gram=None):
    n, d = X.shape
    hessian = _Hessian(X, gram)
    c = depth - 2.0
    bound = 1.0 / c
    log_scale = depth * log_alpha
    ynorm = float(np.linalg.norm(y))  # > 0: y ≢ 0 is validated

    def to_boundary(s, ds):
        """Fraction to the boundary |s| < 1/c."""
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(ds > 0, (bound - s) / ds, np.where(ds < 0, (-bound - s) / ds, np.inf))
        return min(1.0, 0.995 * float(np.min(room)))

    # Stagnation floor 1e-6: float64 resolution of s near |s| = 1/c limits the dual (tiny α^D).
    nu, s, it, ok = _damped_dual_newton(
        X, y, 0.0, np.zeros(n) if nu0 is None else nu0, tol, max_iter,
        value=lambda ss: _H_depth(ss, depth, log_scale),
        primal=lambda ss: _h_depth_raw(ss, depth, log_scale),
        weight=lambda ss: _h_depth_prime(ss, depth, log_scale),
        first_step=to_boundary, feasible=lambda ss: bool(np.all(np.abs(ss) < bound)),
        stagnation_window=15, stagnation_floor=1e-6, max_backtracks=80, hessian=hessian,
    )
    beta = _h_depth_raw(s, depth, log_scale)
    if not ok:
        # Primal correction: near |s| = 1/c the dual variable cannot resolve β; take Newton
        # steps β ← β + W Xᵀ Δν, W = diag(α^D h_D'(s)), Δν = (X W Xᵀ)^{-1}(y − Xβ), directly in
        # β-space (second-order accurate for the KKT condition, exact for Xβ = y).
        w = _h_depth_prime(s, depth, log_scale)
        for _ in range(2):
            r = y - X @ beta
            dnu = _solve_spd(hessian(w), r)
            beta = beta + w * (X.T @ dnu)
            nu = nu + dnu
        ok = float(np.linalg.norm(X @ beta - y)) <= tol * ynorm
    return beta, nu, it, ok


# ---------------------------------------------------------------------------------------------
# cvxpy (depth 2)
# ---------------------------------------------------------------------------------------------


def _cvxpy_solve_depth2(X, y, log_alpha, reference):
    import cvxpy as cp

    n, d = X.shape
    log_a = 2.0 * log_alpha
    c = np.zeros(d) if reference is None else asinh_ratio(reference, log_a)
    nu = cp.Variable(n)
    z = X.T @ nu
    shift = log_a - np.log(2.0)
    objective = cp.sum(cp.exp(shift + c + z) + cp.exp(shift - c - z)) - y @ nu
    problem = cp.Problem(cp.Minimize(objective))
    notes: list[str] = []
    status = "error"
    iters = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            problem.solve(
                solver=cp.CLARABEL,
                tol_gap_abs=1e-12,
                tol_gap_rel=1e-12,
                tol_feas=1e-12,
                max_iter=500,
            )
            status = str(problem.status)
            iters = int(getattr(problem.solver_stats, "num_iters", 0) or 0)
        except (cp.error.SolverError, ArithmeticError, ValueError) as exc:
            # a solver failure, not bad input: the certificate (not accepted) reports it
            status = "solver_error"
            notes.append(f"cvxpy {type(exc).__name__}: {exc}")
    notes.extend(f"cvxpy warning: {w.message}" for w in caught)
    if nu.value is None or not np.all(np.isfinite(nu.value)):
        nu_val = np.zeros(n)
        notes.append("cvxpy returned no finite dual variable")
    else:
        nu_val = np.asarray(nu.value, dtype=np.float64)
    beta = scaled_sinh(log_a, c + X.T @ nu_val)
    return beta, nu_val, iters, status, notes


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------


def _score(cert: Certificate) -> float:
    v = max(cert.primal_residual, cert.optimality_residual)
    return v if np.isfinite(v) else np.inf


def implicit_bias_solution(
    X,
    y,
    alpha,
    reference=None,
    depth: int = 2,
    *,
    method: str = "auto",
    tol: float = 1e-10,
    warm_start=None,
) -> ImplicitBiasSolution:
    """Predicted limit of gradient flow on a diagonal linear network (Bregman projection).

    Depth 2 (convention ``β = u ⊙ v``, ``u₀ = √2 α``, ``v₀ = 0``, ``L = ‖Xβ−y‖²/(2n)``):

    .. math:: β^\\star = \\arg\\min_{Xβ = y} D_{ψ_α}(β, β̃_0),

    with ``ψ_α`` the hyperbolic entropy (module docstring); ``reference = β̃₀ = None`` gives
    ``argmin ψ_α`` — Woodworth et al., "Kernel and rich regimes in overparametrized models",
    COLT 2020, Thm. 1 (arXiv:2002.09277), in the convention of Even et al., NeurIPS 2023
    (arXiv:2302.08982). Depth ``D ≥ 3`` (``β = w₊^D − w₋^D``, ``w±(0) = α``):
    ``argmin_{Xβ=y} α^D Σ q_D(β_i/α^D)``, solved through the dual
    ``min_ν α^D Σ H_D(Xᵀν) − ⟨ν, y⟩`` keeping ``|Xᵀν|_∞ < 1/(D−2)`` (ibid. Thm. 3).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Design, ``n < d``, full row rank.
    y : array_like, shape (n,)
    alpha : float or array_like, shape (d,)
        Initialisation scale(s), > 0. Supported (enforced entrywise, ValueError otherwise):
        ``1e-30 ≤ α ≤ 1e3`` at depth 2 (log domain), ``1e-20 ≤ α^D ≤ 1e16`` at depth
        ``D ≥ 3`` (outside it float64 cannot resolve the dual variable near ``|s| = 1/(D−2)``
        and the answer could not be certified). In addition the dimensionless scale
        ``α·√(max|X|/max|y|)`` must lie in :data:`EFFECTIVE_ALPHA_RANGE_DEPTH2` (depth 2) and
        ``α^D·max|X|/max|y|`` in :data:`EFFECTIVE_ALPHA_POWER_RANGE_DEEP` (depth D). Data with
        ``max|X|`` or ``max|y|`` beyond ``2^{±64}`` are solved in exactly rescaled units
        (module docstring, "Scale covariance") and only the dimensionless range applies.
    reference : array_like, shape (d,), optional
        Bregman reference ``β̃₀`` (depth 2 only).
    depth : int
        2 (default) or an integer ≥ 3.
    method : {"auto", "newton", "cvxpy"}
        ``"cvxpy"`` is depth 2 only. ``"auto"`` runs Newton and falls back to cvxpy if Newton's
        certificate is not accepted; the fallback is recorded in ``certificate.notes``.
    tol : float
        Acceptance threshold of the certificate (relative primal and KKT residuals).
    warm_start : array_like, shape (n,), optional
        A dual variable ν to start Newton from (e.g. ``sol.nu`` of a neighbouring α in a
        sweep). Only the starting point changes: if Newton does not converge from it, it
        restarts from ``ν = 0``, and the answer is certified the same way.

    Returns
    -------
    ImplicitBiasSolution
        If no method produces an accepted certificate, the better answer is returned with
        ``certificate.accepted = False`` (never silently).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((5, 12)), rng.standard_normal(5)
    >>> sol = implicit_bias_solution(X, y, alpha=0.1)
    >>> sol.certificate.accepted
    True
    """
    X, y, factor = _check_data(X, y)
    n, d = X.shape
    alpha = check_alpha(alpha, d)
    depth = _check_depth(depth, reference)
    tol = check_positive(tol, "tol")
    if method not in ("auto", "newton", "cvxpy"):
        raise ValueError(f"method must be one of 'auto', 'newton', 'cvxpy', got {method!r}")
    if method == "cvxpy" and depth != 2:
        raise ValueError("method='cvxpy' supports depth = 2 only")
    reference = _check_reference(reference, d)
    if warm_start is not None:
        warm_start = as_finite_array(warm_start, "warm_start", ndim=1)
        if warm_start.shape[0] != n:
            raise ValueError(f"warm_start must have length n = {n}, got {warm_start.shape[0]}")
    log_alpha = _log_alpha(alpha, d)
    X_user, y_user, log_alpha_user, reference_user = X, y, log_alpha, reference
    k = _check_effective_scale(X, y, log_alpha, depth, factor.kt)
    if k is None:  # ordinary data: the measured range of α itself (unchanged)
        _check_alpha_range(alpha, depth)
    rescale_notes: list[str] = []
    if k is not None:
        # exact power-of-two rescaling (module docstring, "Scale covariance"): solve for
        # b = 2^{kt−ks} β with X' = 2^{−kt} X, y' = 2^{−ks} y, α'^D = 2^{kt−ks} α^D
        ks, kt = k
        X = np.ldexp(X, -kt)
        y = np.ldexp(y, -ks)
        log_alpha = log_alpha + (kt - ks) * np.log(2.0) / depth
        if reference is not None:
            reference = np.ldexp(reference, kt - ks)
        if warm_start is not None:
            with np.errstate(over="ignore", under="ignore"):
                warm_start = np.ldexp(warm_start, kt)
            if not np.all(np.isfinite(warm_start)):
                warm_start = None
        rescale_notes.append(f"solved in rescaled units: X * 2^{-kt}, y * 2^{-ks}, "
                             f"alpha**{depth} * 2^{kt - ks}")

    def to_user(beta, nu):
        if k is None:
            return beta, nu
        with np.errstate(over="ignore", under="ignore"):
            return np.ldexp(beta, k[0] - k[1]), np.ldexp(nu, -k[1])

    def certify(beta, solver, status, notes):
        # judged in the user's units, from β alone (the certificate is scale-safe itself)
        cert = _certify(X_user, y_user, factor, beta, log_alpha_user, reference_user, depth, tol)
        notes = [*rescale_notes, *notes]
        return Certificate(
            solver=solver,
            status=status,
            primal_residual=cert.primal_residual,
            optimality_residual=cert.optimality_residual,
            residual_kind=cert.residual_kind,
            tolerance=cert.tolerance,
            accepted=cert.accepted,
            notes=tuple(notes),
        )

    candidates: list[ImplicitBiasSolution] = []
    if method in ("auto", "newton"):
        gram = factor.gram_of(0 if k is None else k[1])
        if depth == 2:
            beta, nu, iters, notes = _newton_solve_depth2(
                X, y, log_alpha, reference, tol, gram=gram, warm_start=warm_start)
            status = "finished"
        else:
            inner = min(tol * 1e-3, 1e-12)
            notes = []
            ok = False
            iters = 0
            if warm_start is not None and float(np.max(np.abs(X.T @ warm_start))) < 1.0 / (
                    depth - 2.0):
                beta, nu, iters, ok = _newton_depth(X, y, log_alpha, depth, inner,
                                                    nu0=warm_start, gram=gram)
                notes.append(f"warm start: {'converged' if ok else 'not converged'} in "
                             f"{iters} iterations" + ("" if ok else "; restarted at 0"))
            if not ok:
                beta, nu, it0, ok = _newton_depth(X, y, log_alpha, depth, inner, gram=gram)
                iters += it0
            status = "converged" if ok else "stopped"
        # solver units, not wall-clock time: certificates end up in results that must be
        # byte-identical between two runs
        notes.append(f"newton: {int(iters)} iterations")
        if not np.all(np.isfinite(beta)):
            notes.append("newton produced non-finite beta")
            beta = np.where(np.isfinite(beta), beta, 0.0)
        beta, nu = to_user(beta, nu)
        cert = certify(beta, "newton", status, notes)
        if not cert.accepted and method == "auto" and depth != 2:
            cert = replace(
                cert, notes=(*cert.notes, "not accepted; no cvxpy fallback for depth >= 3")
            )
        candidates.append(ImplicitBiasSolution(beta, nu, cert, "newton", int(iters)))
        if cert.accepted or method == "newton" or depth != 2:
            return candidates[0]
    beta, nu, iters, status, notes = _cvxpy_solve_depth2(X, y, log_alpha, reference)
    beta, nu = to_user(beta, nu)
    notes.append(f"cvxpy: {iters} iterations")
    if candidates:
        first = candidates[0].certificate
        notes.insert(
            0,
            "fallback: newton certificate not accepted "
            f"(primal {first.primal_residual:.2e}, kkt {first.optimality_residual:.2e})",
        )
    cert = certify(beta, "cvxpy-clarabel", status, notes)
    candidates.append(ImplicitBiasSolution(beta, nu, cert, "cvxpy", int(iters)))
    best = min(candidates, key=lambda s: _score(s.certificate))
    if not best.certificate.accepted and len(candidates) > 1:
        extra = (*best.certificate.notes, "neither newton nor cvxpy accepted; returning the better")
        best = replace(best, certificate=replace(best.certificate, notes=extra))
    return best
