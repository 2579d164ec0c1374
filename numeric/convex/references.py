"""Reference solutions: minimum-ℓ2 and minimum-ℓ1 interpolators and the Lasso, with certificates.

These are the limits of the implicit-bias prediction: ``argmin_{Xβ=y} ψ_α`` tends to the
minimum-ℓ2 interpolator as α → ∞ and to the minimum-ℓ1 interpolator as α → 0 (Woodworth et al.,
"Kernel and rich regimes in overparametrized models", COLT 2020, arXiv:2002.09277;
``docs/theory/regression.md`` §1.1); the Lasso is the label-noise limit (Pillaud-Vivien, Reygner &
Flammarion, COLT 2022, arXiv:2206.09841; ``docs/theory/regression.md`` §6). Convention: rows of
``X`` are samples, ``L(β) = ‖Xβ − y‖²/(2n)``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from dln_verify.numeric.convex.certificate import Certificate
from dln_verify.numeric.validation import as_finite_array, check_positive, check_regression_data

__all__ = ["ReferenceSolution", "min_l2_interpolator", "min_l1_interpolator", "lasso"]


@dataclass(frozen=True)
class ReferenceSolution:
    """A reference solution and its certificate.

    Attributes
    ----------
    beta : ndarray, shape (d,)
    certificate : Certificate
    objective : float
        ``‖β‖₂``, ``‖β‖₁`` or the Lasso objective.
    """

    beta: np.ndarray
    certificate: Certificate
    objective: float


def _range_distance(X, v) -> float:
    """Relative distance of ``v`` from ``range(Xᵀ)`` (reduced QR, projected twice)."""
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        return 0.0
    Q, _ = np.linalg.qr(X.T)
    r = v / norm
    r = r - Q @ (Q.T @ r)
    r = r - Q @ (Q.T @ r)
    return float(np.linalg.norm(r))


def min_l2_interpolator(X, y, *, tol: float = 1e-10) -> ReferenceSolution:
    """Minimum-ℓ2-norm interpolator ``argmin_{Xβ=y} ‖β‖₂ = Xᵀ(XXᵀ)^{-1} y``.

    The α → ∞ (kernel) limit of gradient flow on a diagonal linear network from ``β₀ = 0``
    (Woodworth et al., COLT 2020, arXiv:2002.09277). Computed by least squares; the certificate
    checks ``Xβ = y`` relative to ``‖y‖`` and ``β ∈ range(Xᵀ)`` (KKT, relative to ``‖β‖``).
    """
    X, y = check_regression_data(X, y)
    tol = check_positive(tol, "tol")
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    # one step of iterative refinement inside range(Xᵀ)
    lam, *_ = np.linalg.lstsq(X @ X.T, y - X @ beta, rcond=None)
    beta = beta + X.T @ lam
    primal = float(np.linalg.norm(X @ beta - y) / float(np.linalg.norm(y)))  # relative to ‖y‖
    kkt = _range_distance(X, beta)
    accepted = bool(primal <= tol and kkt <= tol)
    cert = Certificate(
        "numpy-lstsq", "solved", primal, kkt, "kkt-relative (distance from range X^T)", tol,
        accepted,
    )
    return ReferenceSolution(beta, cert, float(np.linalg.norm(beta)))


def min_l1_interpolator(X, y, *, tol: float = 1e-8) -> ReferenceSolution:
    """Minimum-ℓ1-norm interpolator ``argmin_{Xβ=y} ‖β‖₁`` (basis pursuit).

    The α → 0 (rich) limit of gradient flow on a diagonal linear network (Woodworth et al.,
    COLT 2020, arXiv:2002.09277). Solved as the LP ``min 𝟙ᵀ(p + m)`` s.t. ``X(p − m) = y``,
    ``p, m ≥ 0`` with scipy's HiGHS. Certificate: primal residual and the relative duality gap
    with the dual ``max yᵀλ`` s.t. ``‖Xᵀλ‖_∞ ≤ 1`` (dual infeasibility added to the gap), using
    HiGHS's equality multipliers λ.
    """
    from scipy.optimize import linprog

    X, y = check_regression_data(X, y)
    tol = check_positive(tol, "tol")
    n, d = X.shape
    # the LP is solved for y/‖y‖_∞ (y ≢ 0 is validated): HiGHS's tolerances are absolute, so an
    # unscaled tiny y would be "solved" by a wrong β
    scale = float(np.max(np.abs(y)))
    res = linprog(
        np.ones(2 * d),
        A_eq=np.hstack([X, -X]),
        b_eq=y / scale,
        bounds=(0, None),
        method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    notes: list[str] = []
    if res.x is None:
        beta = np.zeros(d)
        lam = np.zeros(n)
        notes.append(f"linprog returned no solution: {res.message}")
    else:
        beta = (res.x[:d] - res.x[d:]) * scale
        lam = np.asarray(res.eqlin.marginals, dtype=np.float64)
    primal = float(np.linalg.norm(X @ beta - y) / float(np.linalg.norm(y)))  # relative to ‖y‖
    l1 = float(np.sum(np.abs(beta)))
    # the sign convention of the multipliers: choose the one that makes yᵀλ a lower bound
    if float(y @ lam) < 0:
        lam = -lam
    dual_infeas = max(0.0, float(np.max(np.abs(X.T @ lam))) - 1.0)
    dual_value = float(y @ lam)
    # relative to ‖β‖₁ (> 0 for an interpolator of y ≢ 0; β = 0 gives an infinite gap)
    gap = (abs(l1 - dual_value) / l1 if l1 > 0 else float("inf")) + dual_infeas
    accepted = bool(primal <= tol and gap <= tol)
    cert = Certificate(
        "scipy-highs", str(res.message), primal, gap, "duality-gap-relative", tol, accepted,
        tuple(notes),
    )
    return ReferenceSolution(beta, cert, l1)


def _lasso_kkt(X, y, beta, lam_vec, n) -> float:
    """Relative KKT residual of ``‖Xβ−y‖²/(2n) + Σ λ_j|β_j|``."""
    r = X.T @ (y - X @ beta) / n
    nz = beta != 0
    viol = np.where(nz, np.abs(r - lam_vec * np.sign(beta)), np.maximum(0.0, np.abs(r) - lam_vec))
    scale = max(float(np.max(np.abs(X.T @ y))) / n, float(np.max(lam_vec)), 1e-300)
    return float(np.max(viol) / scale)


def lasso(X, y, lam, *, tol: float = 1e-9, max_iter: int = 20000) -> ReferenceSolution:
    """Lasso ``argmin_β ‖Xβ − y‖²/(2n) + Σ_j λ_j |β_j|`` (``lam`` scalar or (d,), ≥ 0).

    Label-noise SGD on ``β = u ⊙ v`` converges to this solution (Pillaud-Vivien, Reygner &
    Flammarion, COLT 2022, arXiv:2206.09841; ``docs/theory/regression.md`` §6). Solved by FISTA with
    restarts, then polished on the detected support by solving the KKT system
    ``X_Sᵀ(X_S β_S − y)/n + λ_S sign(β_S) = 0`` exactly (kept only if it keeps the signs and
    lowers the KKT residual). Certificate: ``optimality_residual`` is the relative KKT residual
    ``max_j dist(Xᵀ(y − Xβ)/n, λ_j ∂|β_j|) / max(‖Xᵀy‖_∞/n, max λ)``; ``primal_residual`` is 0
    (the problem is unconstrained).
    """
    X, y = check_regression_data(X, y, require_underdetermined=False)
    tol = check_positive(tol, "tol")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    n, d = X.shape
    lam_arr = as_finite_array(lam, "lam")
    if lam_arr.ndim == 0:
        lam_vec = np.full(d, float(lam_arr))
    elif lam_arr.shape == (d,):
        lam_vec = lam_arr.copy()
    else:
        raise ValueError(f"lam must be a scalar or a vector of length d = {d}, got {lam_arr.shape}")
    if np.any(lam_vec < 0):
        raise ValueError(f"lam must be >= 0 entrywise (min is {lam_vec.min():g})")
    L = float(np.linalg.norm(X, 2) ** 2 / n)
    step = 1.0 / L
    Xty = X.T @ y / n
    H = X.T @ X / n if d <= 2000 else None

    def grad(b):
        return (H @ b - Xty) if H is not None else X.T @ (X @ b - y) / n

    def prox(b):
        return np.sign(b) * np.maximum(np.abs(b) - step * lam_vec, 0.0)

    def objective(b):
        return float(np.sum((X @ b - y) ** 2) / (2 * n) + np.sum(lam_vec * np.abs(b)))

    def polish(b):
        """Solve the KKT system on the support of ``b`` with its signs; None if not valid."""
        S = np.flatnonzero(b)
        if not 0 < S.size <= n:
            return None
        sg = np.sign(b[S])
        XS = X[:, S]
        try:
            bS = np.linalg.solve(XS.T @ XS / n, XS.T @ y / n - lam_vec[S] * sg)
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.sign(bS) == sg):
            return None
        cand = np.zeros(d)
        cand[S] = bS
        return cand

    beta = np.zeros(d)
    z = beta.copy()
    t = 1.0
    obj = objective(beta)
    it = 0
    notes: list[str] = []
    best, best_kkt = beta, _lasso_kkt(X, y, beta, lam_vec, n)
    for it in range(1, max_iter + 1):  # noqa: B007
        new = prox(z - step * grad(z))
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        new_obj = objective(new)
        if new_obj > obj:  # adaptive restart
            z = beta.copy()
            t = 1.0
            continue
        z = new + ((t - 1.0) / t_new) * (new - beta)
        beta, t, obj = new, t_new, new_obj
        if it % 25 == 0:
            k_plain = _lasso_kkt(X, y, beta, lam_vec, n)
            if k_plain < best_kkt:
                best, best_kkt = beta, k_plain
            cand = polish(beta)
            if cand is not None:
                k_pol = _lasso_kkt(X, y, cand, lam_vec, n)
                if k_pol < best_kkt:
                    best, best_kkt = cand, k_pol
            if best_kkt <= 1e-3 * tol:
                break
    beta, kkt = best, best_kkt
    notes.append(f"fista iterations {it}")
    accepted = bool(kkt <= tol)
    cert = Certificate(
        "fista+polish", "solved" if accepted else "max_iter", 0.0, kkt, "kkt-relative", tol,
        accepted, tuple(notes),
    )
    return ReferenceSolution(beta, cert, objective(beta))
