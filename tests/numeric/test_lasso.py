"""Tests of the certified Lasso solver (numeric/convex/weighted_lasso.py).

Expected values come from closed forms (orthogonal designs), hand-written KKT conditions, an
independent FISTA implementation (numeric/convex/references.lasso) and scipy's NNLS.
"""

import numpy as np
import pytest
import scipy.optimize

from dln_verify.numeric.convex.references import lasso as fista_lasso
from dln_verify.numeric.convex.weighted_lasso import (
    lasso_kkt_residual,
    lasso_objective,
    solve_lasso,
)


def _orthogonal_design(rng, n, d):
    Q, _ = np.linalg.qr(rng.standard_normal((n, d)))
    return np.sqrt(n) * Q  # XᵀX/n = I


def _soft(z, t):
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


def _random_problem(seed, n, d):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    beta0 = rng.standard_normal(d) * (rng.random(d) < 0.3)
    y = X @ beta0 + 0.1 * rng.standard_normal(n)
    lam = float(np.max(np.abs(X.T @ y)) / n) * rng.uniform(0.05, 0.4) * rng.uniform(0.5, 1.5, d)
    return X, y, lam


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_orthogonal_design_is_soft_thresholding_with_vector_weights(seed):
    rng = np.random.default_rng(seed)
    X = _orthogonal_design(rng, 12, 6)
    y = rng.standard_normal(12) * 2
    z = X.T @ y / 12
    lam = np.abs(z) * np.array([0.2, 0.5, 1.5, 0.9, 2.0, 0.0])  # some below, some above |z|
    sol = solve_lasso(X, y, lam)
    assert sol.certificate.accepted
    np.testing.assert_allclose(sol.beta, _soft(z, lam), rtol=1e-10, atol=1e-12)
    # exact zeros where the threshold kills the coordinate
    assert np.all(sol.beta[lam >= np.abs(z)] == 0.0)
    assert sol.kkt_residual <= 1e-8


@pytest.mark.parametrize("seed", [0, 1])
def test_orthogonal_design_nonnegative_closed_form(seed):
    rng = np.random.default_rng(seed)
    X = _orthogonal_design(rng, 10, 5)
    y = rng.standard_normal(10)
    z = X.T @ y / 10
    lam = 0.3 * np.abs(z)
    sol = solve_lasso(X, y, lam, nonnegative=True)
    assert sol.certificate.accepted
    np.testing.assert_allclose(sol.beta, np.maximum(z - lam, 0.0), rtol=1e-10, atol=1e-12)
    assert np.all(sol.beta >= 0)


def _kkt_by_hand(X, y, beta, lam, nonnegative, atol):
    """Subgradient conditions written out coordinate by coordinate."""
    n = X.shape[0]
    g = X.T @ (X @ beta - y) / n
    for j in range(X.shape[1]):
        if beta[j] > 0:
            assert abs(g[j] + lam[j]) <= atol
        elif beta[j] < 0:
            assert not nonnegative
            assert abs(g[j] - lam[j]) <= atol
        elif nonnegative:
            assert g[j] >= -lam[j] - atol
        else:
            assert abs(g[j]) <= lam[j] + atol


@pytest.mark.parametrize("seed,n,d", [(0, 20, 40), (1, 50, 10), (2, 8, 60)])
@pytest.mark.parametrize("nonnegative", [False, True])
def test_kkt_conditions_and_agreement_of_methods(seed, n, d, nonnegative):
    X, y, lam = _random_problem(seed, n, d)
    sol = solve_lasso(X, y, lam, nonnegative=nonnegative)
    assert sol.certificate.accepted, sol.certificate.as_dict()
    assert sol.certificate.n_solves == 3
    scale = max(np.max(np.abs(X.T @ y)) / n, lam.max())
    _kkt_by_hand(X, y, sol.beta, lam, nonnegative, 1e-9 * scale)
    np.testing.assert_allclose(sol.beta_cvxpy, sol.beta, atol=1e-5 * max(1, np.abs(sol.beta).max()))
    assert sol.objective == pytest.approx(lasso_objective(X, y, sol.beta, lam), rel=1e-14)


@pytest.mark.parametrize("seed", [3, 4])
def test_agrees_with_independent_fista(seed):
    X, y, lam = _random_problem(seed, 15, 30)
    ref = fista_lasso(X, y, lam)
    sol = solve_lasso(X, y, lam)
    np.testing.assert_allclose(sol.beta, ref.beta, atol=1e-7)


def test_nonnegative_agrees_with_nnls_after_completing_the_square():
    # n > d, full column rank: ‖Xβ − y‖²/(2n) + λᵀβ = ‖Xβ − (y − n X (XᵀX)⁻¹ λ)‖²/(2n) + const
    X, y, lam = _random_problem(5, 40, 8)
    n = X.shape[0]
    y_shift = y - n * X @ np.linalg.solve(X.T @ X, lam)
    ref, _ = scipy.optimize.nnls(X, y_shift)
    sol = solve_lasso(X, y, lam, nonnegative=True)
    assert sol.certificate.accepted
    np.testing.assert_allclose(sol.beta, ref, atol=1e-8)


def test_scale_covariance():
    X, y, lam = _random_problem(6, 12, 25)
    a, b = 1e6, 1e-5
    base = solve_lasso(X, y, lam)
    scaled = solve_lasso(a * X, b * y, a * b * lam)
    assert scaled.certificate.accepted
    np.testing.assert_allclose(scaled.beta, (b / a) * base.beta, rtol=1e-7,
                               atol=1e-9 * (b / a) * np.abs(base.beta).max())


def test_large_lambda_gives_zero():
    X, y, _ = _random_problem(7, 10, 20)
    lam = 1.01 * np.max(np.abs(X.T @ y)) / 10
    sol = solve_lasso(X, y, lam)
    assert sol.certificate.accepted
    assert np.all(sol.beta == 0.0)


def test_budget_exhausted_is_not_accepted():
    X, y, lam = _random_problem(8, 30, 60)
    sol = solve_lasso(X, y, lam * 0.05, max_sweeps=1, tol=1e-14)
    assert not sol.certificate.accepted
    assert sol.certificate.leaves[0].status == "max_sweeps"


def test_non_unique_minimiser_is_not_accepted():
    # a duplicated column: the weight can be split arbitrarily between the two copies
    rng = np.random.default_rng(9)
    X = rng.standard_normal((10, 4))
    X = np.hstack([X, X[:, :1]])
    y = X[:, 0] * 3 + 0.01 * rng.standard_normal(10)
    sol = solve_lasso(X, y, 0.1)
    assert not sol.certificate.accepted
    assert any("not be unique" in note for note in sol.certificate.notes)


def test_kkt_residual_detects_a_wrong_answer():
    X, y, lam = _random_problem(10, 20, 30)
    sol = solve_lasso(X, y, lam)
    assert lasso_kkt_residual(X, y, sol.beta, lam) <= 1e-8
    assert lasso_kkt_residual(X, y, sol.beta, 2 * lam) > 1e-3
    assert lasso_kkt_residual(X, y, sol.beta * 1.01, lam) > 1e-4


@pytest.mark.parametrize("kwargs,name", [
    ({"lam": -0.1}, "lam"),
    ({"lam": np.ones(3)}, "lam"),
    ({"lam": np.nan}, "lam"),
    ({"lam": "big"}, "lam"),
    ({"y": np.ones(4)}, "y"),
    ({"X": np.ones(5)}, "X"),
    ({"nonnegative": 1}, "nonnegative"),
    ({"tol": 0.0}, "tol"),
    ({"agree_tol": -1.0}, "agree_tol"),
    ({"max_sweeps": 0}, "max_sweeps"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    rng = np.random.default_rng(0)
    args = {"X": rng.standard_normal((5, 6)), "y": rng.standard_normal(5), "lam": 0.1}
    args.update(kwargs)
    X, y, lam = args.pop("X"), args.pop("y"), args.pop("lam")
    with pytest.raises(ValueError, match=name):
        solve_lasso(X, y, lam, **args)
