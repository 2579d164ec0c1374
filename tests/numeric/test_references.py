"""Tests of the reference solutions (min-ℓ2, min-ℓ1, Lasso), against independent solvers."""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric.convex import lasso, min_l1_interpolator, min_l2_interpolator


def _data(n, d, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


def test_min_l2_is_pinv():
    X, y = _data(15, 40, 0)
    sol = min_l2_interpolator(X, y)
    assert sol.certificate.accepted
    np.testing.assert_allclose(sol.beta, np.linalg.pinv(X) @ y, rtol=1e-10, atol=1e-12)
    assert sol.objective == pytest.approx(np.linalg.norm(sol.beta))


def test_min_l1_recovers_sparse_vector():
    """Exact-recovery design of docs/theory/regression.md §1.1: n = 40, d = 100, 4-sparse ±1 β*."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 100))
    beta_star = np.zeros(100)
    beta_star[[3, 17, 50, 88]] = [1.0, -1.0, 1.0, -1.0]
    sol = min_l1_interpolator(X, X @ beta_star)
    assert sol.certificate.accepted, sol.certificate
    np.testing.assert_allclose(sol.beta, beta_star, atol=1e-9)


def test_min_l1_matches_cvxpy():
    import cvxpy as cp

    X, y = _data(20, 50, 2)
    sol = min_l1_interpolator(X, y)
    assert sol.certificate.accepted
    b = cp.Variable(50)
    cp.Problem(cp.Minimize(cp.norm1(b)), [X @ b == y]).solve(solver=cp.CLARABEL)
    assert sol.objective == pytest.approx(float(np.abs(b.value).sum()), rel=1e-7)
    assert sol.objective <= float(np.abs(np.linalg.pinv(X) @ y).sum())


@pytest.mark.parametrize("vector", [False, True])
def test_lasso_matches_cvxpy(vector):
    import cvxpy as cp

    X, y = _data(30, 60, 3)
    lam = np.random.default_rng(4).uniform(0.01, 0.1, 60) if vector else 0.05
    sol = lasso(X, y, lam)
    assert sol.certificate.accepted, sol.certificate
    b = cp.Variable(60)
    lam_vec = np.broadcast_to(lam, (60,))
    cp.Problem(cp.Minimize(cp.sum_squares(X @ b - y) / 60 + lam_vec @ cp.abs(b))).solve(
        solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12
    )
    # interior-point accuracy (~1e-9 here) limits the agreement, not the FISTA+polish answer
    np.testing.assert_allclose(sol.beta, b.value, atol=1e-7)


def test_lasso_zero_above_lambda_max():
    X, y = _data(30, 60, 5)
    lam_max = np.max(np.abs(X.T @ y)) / 30
    sol = lasso(X, y, 1.01 * lam_max)
    assert sol.certificate.accepted
    np.testing.assert_array_equal(sol.beta, np.zeros(60))
    below = lasso(X, y, 0.9 * lam_max)
    assert np.count_nonzero(below.beta) >= 1


def test_reference_solutions_are_frozen():
    X, y = _data(5, 10, 6)
    sol = min_l2_interpolator(X, y)
    with pytest.raises(AttributeError):
        sol.beta = None


@pytest.mark.parametrize("scale", [1e-10, 1e-4])
def test_min_l1_and_l2_scale_with_tiny_y(scale):
    """Both interpolators are 1-homogeneous in y; certificates are relative to ‖y‖."""
    X, y = _data(5, 12, 0)
    for solve in (min_l1_interpolator, min_l2_interpolator):
        ref = solve(X, y)
        small = solve(X, scale * y)
        assert small.certificate.accepted, small.certificate
        np.testing.assert_allclose(small.beta / scale, ref.beta, rtol=1e-6, atol=1e-8)
        # a wrong answer (zero) is rejected however small y is
    assert min_l1_interpolator(X, scale * y).certificate.primal_residual < 1e-8
