"""Certified (weighted, optionally non-negative) Lasso by two independent methods.

Problem (the ``1/(2n)`` scaling of ``docs/theory/regression.md`` §0 and of sklearn):

.. math:: \\min_β\\ \\tfrac{1}{2n}\\|Xβ − y\\|² + \\sum_j λ_j |β_j|
          \\qquad (\\text{and } β ≥ 0 \\text{ when ``nonnegative=True``}),

with ``λ`` a scalar or one weight per coordinate, ``λ_j ≥ 0``. It is the limit of the time
average of label-noise (S)GD on diagonal linear networks (Pillaud-Vivien, Reygner & Flammarion,
COLT 2022, arXiv:2206.09841; ``docs/theory/noise.md`` §3) and the long-run limit of
weight-decayed gradient flow.

Methods, which check each other:

- **coordinate descent** on the Gram matrix ``G = XᵀX/n`` (cyclic, exact coordinate
  minimisation by soft-thresholding), followed by an exact *active-set polish*: on the support
  ``S`` and signs ``s`` found, ``G_SS β_S = (Xᵀy/n)_S − λ_S s`` is solved and kept only if it
  keeps the signs and lowers the KKT residual. This answer (exact zeros off the support) is the
  one returned.
- **cvxpy** (Clarabel with tight tolerances; Clarabel's defaults, then OSQP, if it fails) on the
  problem rescaled to unit ``max|X|``, ``max|y|``.

KKT residual (scale-safe, in gradient units): with ``g = Xᵀ(Xβ − y)/n`` and ``t = 1/‖G‖₂``, the
gradient mapping ``(β − prox_{tλ}(β − t g))/t`` (``prox`` = soft-thresholding, followed by
``max(·, 0)`` in the non-negative case) vanishes exactly at a minimiser; its sup-norm divided
by ``max(‖Xᵀy‖_∞/n, max_j λ_j)`` is the relative KKT residual. Unlike the subgradient distance it
is not fooled by interior-point entries of size 1e-12 that should be zero.

The certificate combines three records (:meth:`Certificate.combine`): the coordinate-descent
solve, the cvxpy solve (each accepted iff its relative KKT residual is ``≤ tol``) and their
agreement (relative distance of the two β and relative objective difference ``≤ agree_tol``).
A failed or inaccurate solve, or two methods that disagree (e.g. a non-unique Lasso solution),
gives a certificate that is not accepted — never silently a wrong answer.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np

from dln_verify.numeric.convex.certificate import Certificate
from dln_verify.numeric.validation import as_finite_array, check_positive

__all__ = ["LassoSolution", "solve_lasso", "lasso_objective", "lasso_kkt_residual"]


@dataclass(frozen=True)
class LassoSolution:
    """A certified Lasso solution.

    Attributes
    ----------
    beta : ndarray, shape (d,)
        The coordinate-descent answer (polished on its support; exact zeros elsewhere).
    objective : float
        ``‖Xβ − y‖²/(2n) + Σ λ_j|β_j|`` at ``beta``.
    kkt_residual : float
        Relative KKT residual of ``beta`` (:func:`lasso_kkt_residual`).
    certificate : Certificate
        Combined certificate of the two solves and their agreement; ``accepted`` only if all
        three are.
    beta_cvxpy : ndarray, shape (d,)
        The cvxpy answer (NaN if that solve failed), kept for inspection.
    sweeps : int
        Coordinate-descent sweeps used.
    """

    beta: np.ndarray
    objective: float
    kkt_residual: float
    certificate: Certificate
    beta_cvxpy: np.ndarray
    sweeps: int


def _check_problem(X, y, lam, nonnegative):
    X = as_finite_array(X, "X", ndim=2)
    y = as_finite_array(y, "y", ndim=1)
    n, d = X.shape
    if y.shape[0] != n:
        raise ValueError(f"y must have length n = X.shape[0] = {n}, got {y.shape[0]}")
    if isinstance(lam, bool | str | bytes):
        raise ValueError(f"lam must be a number >= 0 or a vector of d = {d} of them, got {lam!r}")
    lam_arr = as_finite_array(lam, "lam")
    if lam_arr.ndim == 0:
        lam_vec = np.full(d, float(lam_arr))
    elif lam_arr.shape == (d,):
        lam_vec = lam_arr.astype(np.float64).copy()
    else:
        raise ValueError(f"lam must be a scalar or a vector of length d = {d}, got shape "
                         f"{lam_arr.shape}")
    if np.any(lam_vec < 0):
        raise ValueError(f"lam must be >= 0 entrywise, got min {lam_vec.min():g}")
    if not isinstance(nonnegative, bool | np.bool_):
        raise ValueError(f"nonnegative must be True or False, got {nonnegative!r}")
    return X, y, lam_vec, bool(nonnegative)


def lasso_objective(X, y, beta, lam) -> float:
    """``‖Xβ − y‖²/(2n) + Σ_j λ_j |β_j|``.

    Examples
    --------
    >>> import numpy as np
    >>> lasso_objective(np.eye(2), np.array([1.0, 0.0]), np.zeros(2), 0.5)
    0.25
    """
    X, y, lam_vec, _ = _check_problem(X, y, lam, False)
    beta = as_finite_array(beta, "beta", ndim=1)
    if beta.shape[0] != X.shape[1]:
        raise ValueError(f"beta must have length d = {X.shape[1]}, got {beta.shape[0]}")
    r = X @ beta - y
    return float(r @ r / (2 * X.shape[0]) + np.sum(lam_vec * np.abs(beta)))


def _prox(b, thr, nonnegative):
    out = np.sign(b) * np.maximum(np.abs(b) - thr, 0.0)
    return np.maximum(out, 0.0) if nonnegative else out


def _kkt(G, c, beta, lam_vec, nonnegative, L, scale) -> float:
    g = G @ beta - c
    t = 1.0 / L
    mapping = (beta - _prox(beta - t * g, t * lam_vec, nonnegative)) / t
    res = float(np.max(np.abs(mapping))) / scale
    if nonnegative and np.any(beta < 0):
        res = max(res, float(np.max(-beta)) * L / scale)
    return res


def _scales(X, y, lam_vec):
    n = X.shape[0]
    G = X.T @ X / n
    c = X.T @ y / n
    L = float(np.linalg.eigvalsh(G)[-1]) if G.size else 0.0
    scale = max(float(np.max(np.abs(c))), float(np.max(lam_vec)))
    return G, c, L, scale


def lasso_kkt_residual(X, y, beta, lam, *, nonnegative: bool = False) -> float:
    """Relative KKT residual of ``beta`` for the (non-negative) weighted Lasso.

    ``‖(β − prox_{tλ}(β − t g))/t‖_∞ / max(‖Xᵀy‖_∞/n, max λ)`` with ``g = Xᵀ(Xβ − y)/n`` and
    ``t = 1/‖XᵀX/n‖₂``; zero exactly at the minimisers. Returns 0 for the trivial problem
    ``Xᵀy = 0, λ = 0`` at ``β = 0`` and ``inf`` when the scale vanishes otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.eye(2), np.array([2.0, 0.1])
    >>> # orthogonal design (G = I/2): β = 2·soft(Xᵀy/n, λ) = 2·soft([1, .05], .5) = [1, 0]
    >>> lasso_kkt_residual(X, y, np.array([1.0, 0.0]), 0.5)
    0.0
    """
    X, y, lam_vec, nonnegative = _check_problem(X, y, lam, nonnegative)
    beta = as_finite_array(beta, "beta", ndim=1)
    if beta.shape[0] != X.shape[1]:
        raise ValueError(f"beta must have length d = {X.shape[1]}, got {beta.shape[0]}")
    G, c, L, scale = _scales(X, y, lam_vec)
    if L == 0.0 or scale == 0.0:
        # degenerate: X = 0 or (Xᵀy = 0 and λ = 0); β is optimal iff it does not raise the
        # objective above its value at 0
        bad = bool(np.any(G @ beta != 0.0) or np.any(lam_vec * np.abs(beta) > 0.0)
                   or (nonnegative and np.any(beta < 0)))
        return float("inf") if bad else 0.0
    return _kkt(G, c, beta, lam_vec, nonnegative, L, scale)


def _coordinate_descent(G, c, lam_vec, nonnegative, L, scale, tol, max_sweeps):
    d = G.shape[0]
    beta = np.zeros(d)
    g = -c.copy()
    diag = np.diag(G).copy()
    live = diag > 0
    sweeps = 0
    best = _kkt(G, c, beta, lam_vec, nonnegative, L, scale)
    check_every = 10
    while sweeps < max_sweeps and best > tol:
        for j in range(d):
            if not live[j]:
                continue
            bj = beta[j]
            z = bj - g[j] / diag[j]
            thr = lam_vec[j] / diag[j]
            new = np.sign(z) * max(abs(z) - thr, 0.0)
            if nonnegative and new < 0.0:
                new = 0.0
            delta = new - bj
            if delta != 0.0:
                beta[j] = new
                g += G[:, j] * delta
        sweeps += 1
        if sweeps % check_every == 0 or sweeps == max_sweeps:
            res = _kkt(G, c, beta, lam_vec, nonnegative, L, scale)
            cand = _polish(G, c, beta, lam_vec)
            if cand is not None:
                rc = _kkt(G, c, cand, lam_vec, nonnegative, L, scale)
                if rc < res:
                    beta, res = cand, rc
                    g = G @ beta - c
            best = res
    return beta, sweeps, best


def _polish(G, c, beta, lam_vec):
    S = np.flatnonzero(beta)
    if S.size == 0:
        return None
    s = np.sign(beta[S])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bS = np.linalg.solve(G[np.ix_(S, S)], c[S] - lam_vec[S] * s)
    except np.linalg.LinAlgError:
        return None
    if not (np.all(np.isfinite(bS)) and np.all(np.sign(bS) == s)):
        return None
    out = np.zeros_like(beta)
    out[S] = bS
    return out


def _cvxpy_solve(X, y, lam_vec, nonnegative, accept=None):
    """cvxpy/Clarabel on the problem rescaled to ``max|X| = max|y| = 1``; β in user units."""
    import cvxpy as cp

    n, d = X.shape
    tx = float(np.max(np.abs(X))) or 1.0
    ty = float(np.max(np.abs(y))) or 1.0
    Xs, ys = X / tx, y / ty
    # β = (ty/tx) b ⇒ ‖Xβ − y‖² = ty² ‖Xs b − ys‖², λ|β| = (λ ty/tx)|b|; divide by ty².
    lam_s = lam_vec / (tx * ty)
    b = cp.Variable(d, nonneg=nonnegative)
    pen = lam_s @ b if nonnegative else lam_s @ cp.abs(b)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(Xs @ b - ys) / (2 * n) + pen))
    notes: list[str] = []
    status = "solver_error"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        attempts = (
            ("clarabel", cp.CLARABEL, {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12,
                                       "tol_feas": 1e-12, "max_iter": 500}),
            ("clarabel-default", cp.CLARABEL, {}),
            ("osqp", cp.OSQP, {"eps_abs": 1e-12, "eps_rel": 1e-12, "max_iter": 200000,
                               "polish": True}),
        )
        best = None
        for label, solver, kwargs in attempts:
            try:
                prob.solve(solver=solver, **kwargs)
            except (cp.error.SolverError, ArithmeticError, ValueError) as exc:
                notes.append(f"{label} failed ({type(exc).__name__}: {str(exc)[:80]})")
                continue
            if b.value is None:
                notes.append(f"{label}: {prob.status} without a solution")
                continue
            beta = np.asarray(b.value, dtype=np.float64).ravel() * (ty / tx)
            if nonnegative:
                beta = np.maximum(beta, 0.0)
            score = accept(beta) if accept is not None else 0.0
            if best is None or score < best[0]:
                best = (score, beta, f"{label}: {prob.status}")
            if accept is None or score <= 1.0:
                break
            notes.append(f"{label}: {prob.status}, KKT above tolerance; trying the next solver")
    notes.extend(str(w.message).splitlines()[0] for w in caught)
    if best is None:
        return np.full(d, np.nan), status, notes
    return best[1], best[2], notes


def solve_lasso(X, y, lam, *, nonnegative: bool = False, tol: float = 1e-8,
                cvxpy_tol: float = 1e-6, agree_tol: float = 1e-5,
                max_sweeps: int = 20000, methods: str = "both") -> LassoSolution:
    """Solve ``min ‖Xβ − y‖²/(2n) + Σ λ_j|β_j|`` (optionally ``β ≥ 0``), certified twice.

    Label-noise gradient descent on ``β = u ⊙ v`` (resp. ``u ⊙ u``) has a time average that
    converges to this Lasso (resp. non-negative Lasso) with ``λ_j ∝ γδ²H_jj`` (Pillaud-Vivien,
    Reygner & Flammarion, COLT 2022; ``docs/theory/noise.md`` §3).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    lam : float or array_like, shape (d,)
        Weights ``λ_j ≥ 0`` (a scalar is used for every coordinate).
    nonnegative : bool
        Add the constraint ``β ≥ 0``.
    tol : float
        Relative KKT residual that the coordinate-descent answer must reach (> 0).
    cvxpy_tol : float
        Relative KKT residual that the cvxpy answer must reach (> 0; interior point is less
        accurate).
    agree_tol : float
        Largest relative distance ``‖β_cd − β_cvx‖₂ / max(‖β_cd‖₂, ‖β_cvx‖₂, max(‖Xᵀy‖_∞/n,
        max λ)/‖G‖₂)`` and relative objective difference accepted (> 0).
    max_sweeps : int
        Coordinate-descent budget in sweeps (integer ≥ 1).
    methods : {"both", "cd"}
        ``"both"`` (default): coordinate descent checked by cvxpy. ``"cd"``: coordinate descent
        alone, certified by its KKT residual only (for cheap exploratory solves; a prediction
        should use ``"both"``).

    Returns
    -------
    LassoSolution
        ``certificate.accepted`` is False if either solve misses its tolerance or the two
        disagree (for instance when the minimiser is not unique).

    Raises
    ------
    ValueError
        Naming the parameter for malformed input (shapes, non-finite entries, ``lam < 0``,
        non-positive tolerances).

    Examples
    --------
    Orthogonal design ``XᵀX/n = I``: the Lasso is soft-thresholding of ``Xᵀy/n``.

    >>> import numpy as np
    >>> X = np.sqrt(2.0) * np.eye(2)
    >>> sol = solve_lasso(X, X @ np.array([1.0, -0.2]), 0.5)
    >>> np.round(sol.beta, 10).tolist(), sol.certificate.accepted
    ([0.5, 0.0], True)
    >>> solve_lasso(X, X @ np.array([1.0, -0.2]), 0.1, nonnegative=True).beta.round(10).tolist()
    [0.9, 0.0]
    """
    X, y, lam_vec, nonnegative = _check_problem(X, y, lam, nonnegative)
    tol = check_positive(tol, "tol")
    cvxpy_tol = check_positive(cvxpy_tol, "cvxpy_tol")
    agree_tol = check_positive(agree_tol, "agree_tol")
    if (isinstance(max_sweeps, bool) or not isinstance(max_sweeps, numbers.Integral)
            or max_sweeps < 1):
        raise ValueError(f"max_sweeps must be an integer >= 1, got {max_sweeps!r}")
    if methods not in ("both", "cd"):
        raise ValueError(f"methods must be 'both' or 'cd', got {methods!r}")
    n, d = X.shape
    G, c, L, scale = _scales(X, y, lam_vec)
    if L == 0.0 or scale == 0.0:
        # X = 0 or (Xᵀy = 0 and λ = 0): β = 0 is a minimiser (the minimum-norm one)
        beta = np.zeros(d)
        obj = lasso_objective(X, y, beta, lam_vec)
        cert = Certificate("trivial", "X = 0 or (X^T y = 0 and lam = 0)", 0.0, 0.0,
                           "relative_gradient_mapping", tol, True,
                           ("beta = 0 is a minimiser; not checked by a second method",))
        return LassoSolution(beta, obj, 0.0, cert, beta.copy(), 0)
    beta, sweeps, res = _coordinate_descent(G, c, lam_vec, nonnegative, L, scale, tol,
                                            int(max_sweeps))
    neg = float(np.max(-beta)) if nonnegative else 0.0
    cd_cert = Certificate("coordinate-descent", "converged" if res <= tol else "max_sweeps",
                          max(neg, 0.0), res, "relative_gradient_mapping", tol, res <= tol,
                          (f"{sweeps} sweeps",))
    if methods == "cd":
        obj = lasso_objective(X, y, beta, lam_vec)
        return LassoSolution(beta, obj, res, cd_cert, np.full(d, np.nan), sweeps)
    beta_cv, status, notes = _cvxpy_solve(
        X, y, lam_vec, nonnegative,
        accept=lambda b: _kkt(G, c, b, lam_vec, nonnegative, L, scale) / cvxpy_tol)
    if np.all(np.isfinite(beta_cv)):
        res_cv = _kkt(G, c, beta_cv, lam_vec, nonnegative, L, scale)
    else:
        res_cv = float("inf")
    cv_cert = Certificate("cvxpy-clarabel", status, 0.0, res_cv, "relative_gradient_mapping",
                          cvxpy_tol, res_cv <= cvxpy_tol, tuple(notes))
    obj = lasso_objective(X, y, beta, lam_vec)
    if np.all(np.isfinite(beta_cv)):
        obj_cv = lasso_objective(X, y, beta_cv, lam_vec)
        bscale = max(float(np.linalg.norm(beta)), float(np.linalg.norm(beta_cv)), scale / L)
        dist = float(np.linalg.norm(beta - beta_cv)) / bscale
        odiff = abs(obj - obj_cv) / max(abs(obj), abs(obj_cv), 1e-300)
    else:
        dist = odiff = float("inf")
    agree_notes = ("relative beta distance and objective difference of the two methods",)
    if dist > agree_tol and odiff <= agree_tol:
        agree_notes += ("objectives agree but beta differ: the minimiser may not be unique",)
    agree = Certificate("agreement", "compared", odiff, dist, "relative_beta_distance",
                        agree_tol, dist <= agree_tol and odiff <= agree_tol, agree_notes)
    cert = Certificate.combine([cd_cert, cv_cert, agree])
    return LassoSolution(beta, obj, res, cert, beta_cv, sweeps)
