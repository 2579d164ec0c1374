"""Tests of the closed-form (u, v) Hessian of L = ‖X(u⊙v) − y‖²/(2n) (numeric/sharpness.py).

The expected values are independent of the code under test: finite differences of the gradient
(written out here, not the module's helper), a hand-computed 1-D case, and λ_max(XᵀX/n).
"""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric.sharpness import (
    beta_sharpness,
    hessian_fd_discrepancy,
    loss_gradient_uv,
    loss_hessian_uv,
    sharpness_uv,
)


def _loss(X, y, w):
    d = X.shape[1]
    r = X @ (w[:d] * w[d:]) - y
    return r @ r / (2 * X.shape[0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hessian_matches_second_differences_of_the_loss(seed):
    """Second central differences of the loss itself (independent of the gradient code)."""
    rng = np.random.default_rng(seed)
    n, d = 4, 5
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    w = rng.standard_normal(2 * d)
    h = 1e-4
    E = np.eye(2 * d) * h
    fd = np.array([[(_loss(X, y, w + E[i] + E[j]) - _loss(X, y, w + E[i] - E[j])
                     - _loss(X, y, w - E[i] + E[j]) + _loss(X, y, w - E[i] - E[j])) / (4 * h * h)
                    for j in range(2 * d)] for i in range(2 * d)])
    Hs = loss_hessian_uv(X, y, w[:d], w[d:])
    np.testing.assert_allclose(Hs, fd, atol=1e-5 * np.max(np.abs(Hs)))
    np.testing.assert_allclose(Hs, Hs.T, rtol=0, atol=0)


def test_gradient_matches_differences_of_the_loss():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((3, 4)), rng.standard_normal(3)
    w = rng.standard_normal(8)
    h = 1e-6
    fd = np.array([(_loss(X, y, w + h * e) - _loss(X, y, w - h * e)) / (2 * h) for e in np.eye(8)])
    np.testing.assert_allclose(loss_gradient_uv(X, y, w[:4], w[4:]), fd, rtol=1e-7, atol=1e-9)


def test_one_dimensional_hand_computation():
    """d = n = 1, X = [x]: L = (x u v − y)²/2, ∂²L/∂u² = x²v², ∂²L/∂u∂v = x²uv + x(xuv − y)."""
    x, yv, u, v = 2.0, 1.0, 0.7, -0.4
    Hs = loss_hessian_uv([[x]], [yv], [u], [v])
    g = x * (x * u * v - yv)
    expected = np.array([[x * x * v * v, x * x * u * v + g], [x * x * u * v + g, x * x * u * u]])
    np.testing.assert_allclose(Hs, expected, rtol=1e-15)
    assert sharpness_uv([[x]], [yv], [u], [v]) == pytest.approx(np.linalg.eigvalsh(expected)[-1])


def test_fd_discrepancy_is_rounding_and_detects_a_wrong_hessian(monkeypatch):
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((5, 9)), rng.standard_normal(5)
    u, v = rng.standard_normal(9), rng.standard_normal(9)
    assert hessian_fd_discrepancy(X, y, u, v) < 1e-9
    import dln_verify.numeric.sharpness as sh

    true = sh.loss_hessian_uv

    def no_diag_g(X, y, u, v):  # the Hessian without the D_g term of the cross block
        out = true(X, y, u, v)
        d = len(u)
        g = np.asarray(X).T @ (np.asarray(X) @ (u * v) - y) / len(y)
        out[np.arange(d), d + np.arange(d)] -= g
        out[d + np.arange(d), np.arange(d)] -= g
        return out

    monkeypatch.setattr(sh, "loss_hessian_uv", no_diag_g)
    assert hessian_fd_discrepancy(X, y, u, v) > 1e-3


def test_beta_sharpness_and_interpolator_sharpness():
    X = np.diag([3.0, 1.0])
    assert beta_sharpness(X) == pytest.approx(4.5)
    # at an interpolator g = 0 and the Hessian is JᵀHJ, J = [D_v, D_u]; for X = I (n = d = 2):
    # per coordinate [[v², uv], [uv, u²]]/2 → eigenvalue (u² + v²)/2
    u, v = np.array([1.0, 3.0]), np.array([2.0, 1.0])
    assert sharpness_uv(np.eye(2), u * v, u, v) == pytest.approx(5.0)


def test_validation():
    X, y = np.eye(2), np.ones(2)
    with pytest.raises(ValueError, match="u"):
        loss_hessian_uv(X, y, np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="h"):
        hessian_fd_discrepancy(X, y, np.ones(2), np.ones(2), h=-1.0)
    with pytest.raises(ValueError, match="X"):
        sharpness_uv(np.ones(3), y, np.ones(2), np.ones(2))
