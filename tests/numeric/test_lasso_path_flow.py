"""Unit tests of :mod:`dln_verify.numeric.lasso_path_flow` (docs/theory/regularisation.md §2).

Expected values: the raw ``(u, v)`` flow integrated independently, and closed forms on a
decoupled design (``XᵀX/n`` diagonal), where the Lasso is soft-thresholding.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dln_verify.numeric.lasso_path_flow import lasso_path_flow

X_ORTH = np.sqrt(2.0) * np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
Y_ORTH = np.array([1.2, -0.7])  # r = Xᵀy/n = (0.849, −0.495, 0), M = diag(1, 1, 0)
R = X_ORTH.T @ Y_ORTH / 2
B, C = np.array([1.0, 0.8, 1.1]), np.array([0.3, -0.2, 0.5])


def _soft(z, t):
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


def test_matches_the_raw_flow_with_its_time_average():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((3, 6)), rng.standard_normal(3)
    b, c = rng.uniform(0.5, 1.5, 6), rng.uniform(-0.4, 0.4, 6)
    eps, s = 1e-3, np.array([1.5, 4.0])
    L = -np.log(eps)
    n, d = X.shape

    def rhs(_t, w):
        u, v = w[:d], w[d:2 * d]
        g = X.T @ (X @ (u * v) - y) / n
        return np.concatenate([-v * g, -u * g, u * v])

    w0 = np.concatenate([np.sqrt(eps) * b, np.sqrt(eps) * c, np.zeros(d)])
    t = s * L / 2
    ref = solve_ivp(rhs, (0, t[-1]), w0, t_eval=t, method="DOP853", rtol=1e-11, atol=1e-14)
    res = lasso_path_flow(X, y, b, c, [eps], s, rtol=1e-9, atol=1e-12)
    for i in range(s.size):
        u, v, integral = ref.y[:d, i], ref.y[d:2 * d, i], ref.y[2 * d:, i]
        np.testing.assert_allclose(res.beta[0, i], u * v, rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(res.average[0, i], integral / t[i], rtol=1e-5, atol=1e-8)


def test_time_average_approaches_the_soft_threshold_as_eps_decreases():
    s = np.array([1.5, 3.0, 6.0])  # 1/s = 0.67, 0.33, 0.17: one, then both coordinates active
    res = lasso_path_flow(X_ORTH, Y_ORTH, B, C, [1e-5, 1e-40], s)
    lasso = np.array([_soft(R, 1 / v) for v in s])
    err_big = np.abs(res.average[0] - lasso).max()
    err_small = np.abs(res.average[1] - lasso).max()
    assert err_small < err_big / 3  # O(1/log(1/ε)): L grows 8x
    assert err_small < 0.03


def test_last_iterate_is_the_least_squares_plateau_not_the_lasso():
    # once a coordinate is active, x_j(s) = d/ds (s·x_lasso(s)) = r_j for M_jj = 1
    res = lasso_path_flow(X_ORTH, Y_ORTH, B, C, [1e-40], [8.0])
    np.testing.assert_allclose(res.beta[0, 0, :2], R[:2], atol=1e-3)
    assert abs(res.beta[0, 0, 2]) < 1e-30  # a null column never moves


def test_tiny_epsilon_does_not_underflow():
    res = lasso_path_flow(X_ORTH, Y_ORTH, B, C, [1e-200], [2.0])
    assert res.converged[0] and np.all(np.isfinite(res.average))


def test_budget_gives_not_converged():
    res = lasso_path_flow(X_ORTH, Y_ORTH, B, C, [1e-10], [5.0], max_evaluations=3)
    assert not res.converged[0] and "budget" in res.message[0]


@pytest.mark.parametrize("kwargs, match", [
    ({"b": np.array([1.0, 0.8, 0.5]), "c": np.array([0.3, -0.2, -0.5])}, "b_i"),
    ({"epsilons": [1.0]}, "epsilons"),
    ({"epsilons": [0.0]}, "epsilons"),
    ({"times": [0.0, 1.0]}, "times"),
    ({"times": [2.0, 1.0]}, "times"),
    ({"b": np.ones(2)}, "length"),
    ({"max_evaluations": 0}, "max_evaluations"),
])
def test_bad_input_names_the_parameter(kwargs, match):
    args = {"X": X_ORTH, "y": Y_ORTH, "b": B, "c": C, "epsilons": [1e-5], "times": [1.0],
            **kwargs}
    with pytest.raises(ValueError, match=match):
        lasso_path_flow(**args)
