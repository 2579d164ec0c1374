"""Tests of numeric.saddles: Algorithm 1 of Pesme & Flammarion (NeurIPS 2023, arXiv:2304.00488).

Independent references: sklearn's ``lars_path(method="lasso")`` (jump times = 1/λ_k up to the first
deletion, sheet §2.3), cvxpy's minimum-ℓ1 interpolator, and KKT conditions checked directly.
"""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric.saddles import (
    GeneralPositionError,
    lasso_homotopy,
    min_l1_interpolator_cvxpy,
    saddle_to_saddle,
)


def _data(seed, n=8, d=15, k=3, noise=0.3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    b = np.zeros(d)
    b[rng.choice(d, k, replace=False)] = rng.choice([-1.0, 1.0], k)
    return X, X @ b + noise * rng.standard_normal(n)


def _first_deletion(events):
    for i, e in enumerate(events):
        if e.startswith("drop"):
            return i
    return len(events)


@pytest.mark.parametrize("seed", range(8))
def test_lars_cross_check_up_to_first_deletion(seed):
    from sklearn.linear_model import lars_path

    X, y = _data(seed)
    path = saddle_to_saddle(X, y)
    alphas, _, coefs = lars_path(X, y, method="lasso")
    # knots before the first deletion (sklearn's alphas[i] is the knot where event i happens)
    ours = lasso_homotopy(X, y)
    m = _first_deletion(ours.events)  # events[0..m-1] are additions
    np.testing.assert_allclose(ours.lambdas, alphas, rtol=1e-9, atol=1e-12)
    # §2.3: equal until the first Lasso deletion or the first active sign constraint
    # (deactivation) of the saddle path; the jump carrying that deactivation is still a knot.
    first_drop = next((i for i, dr in enumerate(path.dropped) if dr), path.n_jumps)
    k = min(m, first_drop + 1, path.n_jumps)
    assert k >= 1
    np.testing.assert_allclose(1.0 / path.times[:k], alphas[:k], rtol=1e-10)
    # identical faces (active sets) up to there
    for j in range(k):
        assert set(np.flatnonzero(path.active[j])) == set(np.flatnonzero(ours.active[j]))
    # both paths end at the same minimum-l1 interpolator
    np.testing.assert_allclose(path.saddles[-1], coefs[:, -1], atol=1e-9)


def test_lasso_and_saddles_differ_after_a_deletion():
    # seed 16 of the sheet's generator: Lasso drops a variable, the saddles do not follow it
    for seed in range(40):
        X, y = _data(seed)
        ours = lasso_homotopy(X, y)
        if ours.has_deletion:
            break
    path = saddle_to_saddle(X, y)
    m = _first_deletion(ours.events)
    n_knots = np.sum(ours.lambdas > 0)
    lam = ours.lambdas[:n_knots]
    assert not (path.n_jumps == lam.size and np.allclose(1 / path.times, lam, rtol=1e-6))
    np.testing.assert_allclose(1.0 / path.times[:m], lam[:m], rtol=1e-10)


@pytest.mark.parametrize("seed", [0, 3, 16])
def test_structure_kkt_and_min_l1(seed):
    X, y = _data(seed)
    n = X.shape[0]
    path = saddle_to_saddle(X, y)
    K, d = path.saddles.shape
    assert path.times.shape == (K,) and path.duals.shape == (K, d)
    assert np.all(np.diff(path.times) > 0)
    np.testing.assert_allclose(path.times[0], n / np.max(np.abs(X.T @ y)), rtol=1e-13)
    for k in range(K):
        b, s = path.saddles[k], path.duals[k]
        assert np.all(np.abs(s) <= 1.0)
        supp = b != 0
        assert np.all(np.abs(s[supp]) == 1.0) and np.all(np.sign(b[supp]) == s[supp])
        g = X.T @ (X @ b - y) / n
        assert np.max(np.abs(g[supp]), initial=0) < 1e-10  # stationary on the support
        face = path.active[k]
        # sign-constrained optimality on the face: s_j g_j >= 0 where β_j = 0
        assert np.all(s[face & ~supp] * g[face & ~supp] >= -1e-10)
    # end point: interpolates, dual certificate s = Xᵀν with ‖s‖∞ <= 1 and s ∈ ∂‖β‖₁
    np.testing.assert_allclose(X @ path.saddles[-1], y, atol=1e-10)
    np.testing.assert_allclose(X.T @ path.nu, path.duals[-1], atol=1e-9)
    beta_l1, cert = min_l1_interpolator_cvxpy(X, y)
    assert cert.accepted
    assert np.max(np.abs(beta_l1 - path.saddles[-1])) < 1e-6


def test_deactivation_and_crossing_are_reported():
    found_drop = found_cross = False
    for seed in range(60):
        path = saddle_to_saddle(*_data(seed))
        found_drop |= path.has_deactivation
        found_cross |= path.has_crossing
        if path.has_crossing:
            k = next(i for i, c in enumerate(path.crossings) if c)
            j = path.crossings[k][0]
            # the crossing coordinate had the opposite sign in an earlier saddle
            assert np.any(np.sign(path.saddles[:k, j]) == -path.signs[k, j])
        if found_drop and found_cross:
            break
    assert found_drop and found_cross


def test_limit_dual_path_is_consistent():
    X, y = _data(3)
    path = saddle_to_saddle(X, y)
    # the dual reaches ±1 on the entering coordinate exactly at the jump
    s = path.dual_at(path.times - 1e-12)
    for k, j in enumerate(path.entering):
        assert abs(abs(s[k, j]) - 1.0) < 1e-9
    np.testing.assert_array_equal(path.beta_at([0.0])[0], 0.0)
    np.testing.assert_array_equal(path.beta_at([path.times[-1] + 1])[0], path.saddles[-1])


@pytest.mark.parametrize("seed", [0, 1])
def test_overdetermined_ends_at_least_squares(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((20, 6))
    y = rng.standard_normal(20)
    path = saddle_to_saddle(X, y)
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(path.saddles[-1], ols, atol=1e-10)


def test_ties_raise_general_position_error():
    X, y = _data(0)
    Xdup = np.column_stack([X, X[:, [int(np.argmax(np.abs(X.T @ y)))]]])
    with pytest.raises(GeneralPositionError, match="general position"):
        saddle_to_saddle(Xdup, y)
    Xflip = np.column_stack([X, -X[:, [int(np.argmax(np.abs(X.T @ y)))]]])
    with pytest.raises(GeneralPositionError):
        saddle_to_saddle(Xflip, y)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.ones((3, 4)), np.ones(2), "y must have length"),
        (np.full((3, 4), np.nan), np.ones(3), "X must be finite"),
        (np.ones(3), np.ones(3), "X must have 2 axes"),
        (np.eye(3, 4), np.zeros(3), "non-zero"),
    ],
)
def test_bad_input(X, y, match):
    with pytest.raises(ValueError, match=match):
        saddle_to_saddle(X, y)


def test_bad_options():
    X, y = _data(0)
    with pytest.raises(ValueError, match="tol"):
        saddle_to_saddle(X, y, tol=-1.0)
    with pytest.raises(ValueError, match="max_jumps"):
        saddle_to_saddle(X, y, max_jumps=0)


def test_min_l1_cvxpy_certificate_relative_to_y():
    """The cvxpy min-ℓ1 answer scales with y, and its certificate is relative to ‖y‖."""
    X, y = _data(0)
    beta, cert = min_l1_interpolator_cvxpy(X, y)
    small, cert_s = min_l1_interpolator_cvxpy(X, 1e-9 * y)
    assert cert.accepted and cert_s.accepted
    np.testing.assert_allclose(small / 1e-9, beta, rtol=1e-5, atol=1e-6)
    # the same scaled problem is solved, so relative residuals agree (absolute ones would not)
    assert cert_s.primal_residual == pytest.approx(cert.primal_residual, rel=0.2)
    assert cert_s.optimality_residual == pytest.approx(cert.optimality_residual, rel=0.2)


@pytest.mark.parametrize("bad", [0, 1, 2.5, -3, True])
def test_lasso_homotopy_max_knots_validated(bad):
    X, y = _data(0)
    with pytest.raises(ValueError, match="max_knots"):
        lasso_homotopy(X, y, max_knots=bad)
