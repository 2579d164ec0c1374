"""Unit tests of :mod:`dln_verify.numeric.weight_decay` (docs/theory/regularisation.md §1).

Expected values come from closed forms on a decoupled design (``XᵀX/n`` diagonal), from the
raw flow integrated independently, and from an independent Lasso solver — never from the
function under test.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dln_verify.numeric.convex.references import lasso
from dln_verify.numeric.weight_decay import weight_decay_flow, weight_decay_flow_uv

# n = 2, d = 3: H = XᵀX/n = diag(1, 1, 0), Xᵀy/n = y/√2 on the first two coordinates
X_ORTH = np.sqrt(2.0) * np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
Y_ORTH = np.array([1.2, -0.7])


def _soft(z, t):
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


def test_long_run_is_the_lasso_with_weight_lambda_closed_form():
    lam = 0.05
    res = weight_decay_flow(X_ORTH, Y_ORTH, 1.0, [lam], [1.0, 60.0])
    expected = np.append(_soft(Y_ORTH / np.sqrt(2.0), lam), 0.0)  # soft-thresholding at λ
    assert res.converged[0] and not res.diverged[0]
    np.testing.assert_allclose(res.final_beta[0], expected, atol=1e-6)
    # and not the Lasso of weight 2λ
    assert np.abs(res.final_beta[0] - np.append(_soft(Y_ORTH / np.sqrt(2.0), 2 * lam), 0)).max() \
        > 1e-2


def test_raw_flow_keeps_the_invariant_and_a_null_coordinate_at_zero():
    lams = [1e-2, 0.1]
    times = np.linspace(0.0, 30.0, 7)
    res = weight_decay_flow_uv(X_ORTH, Y_ORTH, 0.7, lams, times)
    assert res.converged.all()
    assert res.invariant_error.max() < 1e-9
    np.testing.assert_allclose(res.beta[:, :, 2], 0.0, atol=1e-14)


def test_raw_flow_matches_an_independent_uv_integration():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((4, 9)), rng.standard_normal(4)
    lam, alpha, T = 0.02, 0.8, 15.0
    n = X.shape[0]

    def rhs(_t, w):
        u, v = w[:9], w[9:]
        g = X.T @ (X @ (u * v) - y) / n
        return np.concatenate([-v * g - lam * u, -u * g - lam * v])

    ref = solve_ivp(rhs, (0, T), np.concatenate([np.full(9, np.sqrt(2) * alpha), np.zeros(9)]),
                    method="DOP853", rtol=1e-12, atol=1e-14)
    u, v = ref.y[:9, -1], ref.y[9:, -1]
    res = weight_decay_flow_uv(X, y, alpha, [lam], [T])
    np.testing.assert_allclose(res.final_beta[0], u * v, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(u**2 - v**2, 2 * alpha**2 * np.exp(-2 * lam * T), rtol=1e-8)


def test_dual_reduction_equals_raw_flow():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((5, 12)), rng.standard_normal(5)
    lams = np.array([1e-2, 3e-3])
    t = np.array([5.0, 20.0, 40.0])
    raw = weight_decay_flow_uv(X, y, 1.0, lams, t)
    for k, lam in enumerate(lams):
        dual = weight_decay_flow(X, y, 1.0, [lam], lam * t)
        err = np.linalg.norm(dual.beta[0] - raw.beta[k]) / np.linalg.norm(raw.beta[k])
        assert err < 1e-6


def test_long_run_matches_an_independent_lasso_solver():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((6, 15)), rng.standard_normal(6)
    lam = 0.05
    res = weight_decay_flow(X, y, 1.0, [lam], [1.0, 400.0])
    ref = lasso(X, y, lam, tol=1e-12).beta
    assert np.linalg.norm(res.final_beta[0] - ref) / np.linalg.norm(ref) < 1e-4


def test_budget_gives_not_converged_with_a_message():
    res = weight_decay_flow(X_ORTH, Y_ORTH, 1.0, [1e-3], [1.0, 5.0], max_evaluations=5)
    assert not res.converged[0] and not res.diverged[0]
    assert "budget" in res.message[0]


@pytest.mark.parametrize("kwargs, match", [
    ({"weight_decays": [0.0]}, "weight_decays"),
    ({"weight_decays": []}, "weight_decays"),
    ({"taus": [2.0, 1.0]}, "taus"),
    ({"taus": [-1.0, 1.0]}, "taus"),
    ({"max_evaluations": 0}, "max_evaluations"),
    ({"rtol": -1.0}, "rtol"),
    ({"alpha": -1.0}, "alpha"),
])
def test_bad_input_names_the_parameter(kwargs, match):
    args = {"X": X_ORTH, "y": Y_ORTH, "alpha": 1.0, "weight_decays": [1e-2],
            "taus": [1.0], **kwargs}
    with pytest.raises(ValueError, match=match):
        weight_decay_flow(**args)
