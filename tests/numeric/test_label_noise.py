"""Tests of the label-noise (S)GD simulator (numeric/label_noise.py).

Expected values come from an independent GD implementation (numeric.gd), hand-written steps
and the noise law δ²XᵀX/n² of the full-batch noise term (docs/theory/noise.md §3.1).
"""

import numpy as np
import pytest

from dln_verify.numeric.gd import gradient_descent
from dln_verify.numeric.label_noise import label_noise_gd


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(4)
    return rng.standard_normal((6, 4)), rng.standard_normal(6)


@pytest.mark.parametrize("par", ["uv", "uu"])
@pytest.mark.parametrize("batch", [None, 3])
def test_backends_agree_and_are_seeded(data, par, batch):
    X, y = data
    kw = {"parametrisation": par, "batch_size": batch, "n_runs": 3, "seed": 5}
    a = label_noise_gd(X, y, 0.2, 0.02, 1.0, 200, 50, backend="numba", **kw)
    b = label_noise_gd(X, y, 0.2, 0.02, 1.0, 200, 50, backend="numpy", **kw)
    np.testing.assert_allclose(a.average, b.average, atol=1e-12)
    np.testing.assert_allclose(a.final_beta, b.final_beta, atol=1e-12)
    c = label_noise_gd(X, y, 0.2, 0.02, 1.0, 200, 50, **{**kw, "seed": 6})
    assert not np.allclose(c.final_beta, a.final_beta)


def test_no_noise_is_plain_gradient_descent(data):
    X, y = data
    d = X.shape[1]
    res = label_noise_gd(X, y, 0.3, 0.05, 0.0, 300, 299, n_runs=1)
    ref = gradient_descent(X, y, np.full(d, np.sqrt(2) * 0.3), np.zeros(d), 0.05, 300,
                           tol=1e-300)
    np.testing.assert_allclose(res.final_beta[0], ref.final_beta[0], atol=1e-12)
    # a one-iterate average is the last iterate
    np.testing.assert_allclose(res.average[0], res.final_beta[0], atol=1e-15)


def test_uu_steps_by_hand(data):
    X, y = data
    n = X.shape[0]
    gamma = 0.03
    u = np.full(X.shape[1], 0.4)
    for _ in range(5):
        g = X.T @ (X @ (u * u) - y) / n
        u = u - 2 * gamma * u * g
    res = label_noise_gd(X, y, 0.4, gamma, 0.0, 5, 0, parametrisation="uu")
    np.testing.assert_allclose(res.final_beta[0], u * u, atol=1e-14)
    assert np.all(res.final_beta >= 0)


@pytest.mark.parametrize("shape", [(12, 4), (4, 9)])
def test_full_batch_noise_has_the_label_noise_law(shape):
    # one step from u = √2α, v = 0: v₁ = −γ u₀ g̃, so ξ = g(β₀) − g̃ = g(0) + v₁/(γu₀)
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal(shape), rng.standard_normal(shape[0])
    n, d = X.shape
    alpha, gamma, delta, B = 0.5, 1e-3, 2.0, 20000
    res = label_noise_gd(X, y, alpha, gamma, delta, 1, 0, n_runs=B, seed=3)
    u0 = np.sqrt(2) * alpha
    v1 = res.final_beta / (u0 - 0.0)  # β₁ = u₁v₁ with u₁ = u₀ (v₀ = 0)
    g0 = -X.T @ y / n
    xi = g0[None, :] + v1 / (gamma * u0)
    cov = xi.T @ xi / B
    expected = delta**2 * X.T @ X / n**2
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    assert np.max(np.abs(cov - expected) / scale) < 6 * np.sqrt(2.0 / B) * 2
    assert np.max(np.abs(xi.mean(axis=0)) / np.sqrt(np.diag(expected))) < 6 / np.sqrt(B)


def test_divergence_is_flagged_and_frozen(data):
    X, y = data
    res = label_noise_gd(X, 100 * y, 1.0, 2.0, 10.0, 200, 10, n_runs=3, blowup=1e6)
    assert res.diverged.all()
    assert np.all(np.isfinite(res.final_beta))
    assert all(m.startswith("diverged") for m in res.message)


@pytest.mark.parametrize("kwargs,name", [
    ({"stepsize": 0.0}, "stepsize"), ({"noise": -1.0}, "noise"), ({"n_steps": 0}, "n_steps"),
    ({"burn_in": 100}, "burn_in"), ({"parametrisation": "vv"}, "parametrisation"),
    ({"batch_size": 7}, "batch_size"), ({"n_runs": 0}, "n_runs"), ({"seed": -2}, "seed"),
    ({"alpha": 0.0}, "alpha"), ({"backend": "cuda"}, "backend"),
])
def test_bad_input_names_the_parameter(data, kwargs, name):
    X, y = data
    args = {"alpha": 0.2, "stepsize": 0.02, "noise": 1.0, "n_steps": 100, "burn_in": 10}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        label_noise_gd(X, y, **args)
