"""Tests of numeric.saddle_flow (rescaled dual gradient flow of a DLN, Pesme & Flammarion 2023)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dln_verify.numeric.saddle_flow import (
    DualFlow,
    beta_from_dual,
    integrate_dual_flow,
    measure_jump_times,
    plateau_errors,
)
from dln_verify.numeric.saddles import saddle_to_saddle


def _data(seed=3, n=4, d=8):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X[:, 0] - X[:, 1] + 0.3 * rng.standard_normal(n)


def test_matches_primal_gradient_flow_at_moderate_alpha():
    """Independent check: integrate u, v directly (u0 = √2α, v0 = 0) at α = 0.1."""
    X, y = _data()
    n, d = X.shape
    alpha, lam = 0.1, np.log(10.0)

    def rhs(t, z):
        u, v = z[:d], z[d:]
        g = X.T @ (X @ (u * v) - y) / n
        return np.concatenate([-g * v, -g * u])

    t_end = 2.0 * lam  # τ = 2
    sol = solve_ivp(rhs, (0, t_end), np.r_[np.full(d, np.sqrt(2) * alpha), np.zeros(d)],
                    method="LSODA", rtol=1e-11, atol=1e-13)
    u, v = sol.y[:d, -1], sol.y[d:, -1]
    flow = integrate_dual_flow(X, y, alpha, 2.0)
    np.testing.assert_allclose(flow.beta[-1], u * v, atol=1e-7)
    np.testing.assert_allclose(u**2 - v**2, 2 * alpha**2, rtol=1e-8)  # conserved


def test_log_domain_beta():
    s = np.array([-1.2, -0.3, 0.0, 0.5, 1.01])
    lam = np.log(1e120)
    b = beta_from_dual(s, lam)
    assert np.all(np.isfinite(b))
    np.testing.assert_allclose(b[-1], 0.5 * np.exp(2 * lam * 0.01), rtol=1e-12)
    np.testing.assert_allclose(beta_from_dual(s, np.log(10.0)),
                               1e-2 * np.sinh(2 * np.log(10.0) * s), rtol=1e-13)


@pytest.mark.parametrize("alpha", [1e-5, 1e-120])
def test_fast_and_convergent_at_tiny_alpha(alpha):
    X, y = _data()
    path = saddle_to_saddle(X, y)
    horizon = path.times[-1] + 1.0
    start = time.perf_counter()
    flow = integrate_dual_flow(X, y, alpha, horizon)
    assert time.perf_counter() - start < 10.0
    assert flow.converged and not flow.diverged
    assert np.all(np.diff(flow.loss) <= 1e-12 * max(1.0, flow.loss[0]))  # loss non-increasing
    if alpha < 1e-100:
        m = measure_jump_times(flow, path.saddles)
        assert np.all(np.abs(m - path.times) < 0.1)
        pe = plateau_errors(flow, path.times, path.saddles)
        assert pe[-1] < 1e-2  # docs/theory/classification.md §2.4 bound is 0.05 on long plateaus


def test_jump_error_scales_like_inverse_log_alpha():
    """The first jump: t̂₁ − t₁ ≈ log(2|β_{1,i*}|)/(2 log(1/α)‖∇L(0)‖_∞)
    (docs/theory/classification.md §2.4, logistic)."""
    X, y = _data()
    n = X.shape[0]
    path = saddle_to_saddle(X, y)
    g0 = np.max(np.abs(X.T @ y)) / n
    b1 = np.max(np.abs(path.saddles[0]))
    predicted = np.log(2 * b1) / (2 * g0)
    for alpha in (1e-20, 1e-80):
        flow = integrate_dual_flow(X, y, alpha, path.times[1])
        err = measure_jump_times(flow, path.saddles[:1])[0] - path.times[0]
        assert abs(err * flow.log_inv_alpha - predicted) < 0.05 * abs(predicted) + 0.02


def test_bad_input():
    X, y = _data()
    with pytest.raises(ValueError, match="alpha"):
        integrate_dual_flow(X, y, 2.0, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        integrate_dual_flow(X, y, 0.0, 1.0)
    with pytest.raises(ValueError, match="tau_max"):
        integrate_dual_flow(X, y, 1e-10, -1.0)
    with pytest.raises(ValueError, match="y must have length"):
        integrate_dual_flow(X, y[:-1], 1e-10, 1.0)
    with pytest.raises(ValueError, match="atol"):
        integrate_dual_flow(X, y, 1e-10, 1.0, atol=-1.0)
    with pytest.raises(ValueError, match="n_eval"):
        integrate_dual_flow(X, y, 1e-10, 1.0, n_eval=1)


def test_bad_input_of_the_measurements():
    X, y = _data()
    flow = integrate_dual_flow(X, y, 1e-10, 1.0, n_eval=11)
    d = X.shape[1]
    with pytest.raises(TypeError, match="flow must be a DualFlow"):
        measure_jump_times("flow", np.ones((1, d)))
    with pytest.raises(TypeError, match="flow must be a DualFlow"):
        plateau_errors(None, [0.1], np.ones((1, d)))
    with pytest.raises(ValueError, match="saddles must have one row per jump time"):
        plateau_errors(flow, [0.1, 0.2], np.ones((1, d)))
    with pytest.raises(ValueError, match="n_points"):
        plateau_errors(flow, [0.1], np.ones((1, d)), n_points=1)
    with pytest.raises(ValueError, match="log_inv_alpha"):
        beta_from_dual(np.zeros(3), -1.0)


def test_overdetermined_flow_follows_saddles_to_least_squares():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((12, 4))
    y = X @ np.array([1.0, -0.5, 0.0, 0.2]) + 0.3 * rng.standard_normal(12)
    path = saddle_to_saddle(X, y)
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(path.saddles[-1], ols, atol=1e-10)
    flow = integrate_dual_flow(X, y, 1e-60, path.times[-1] + 2.0)
    np.testing.assert_allclose(flow.beta[-1], ols, atol=1e-8)
    m = measure_jump_times(flow, path.saddles)
    assert np.all(np.isfinite(m)) and np.all(np.abs(m - path.times) < 0.2)


def _synthetic_flow(beta_of_tau, tau_max: float, lam: float = 30.0) -> DualFlow:
    """A one-coordinate DualFlow (X = [[1]], so s = ν) that follows a prescribed β̃(τ) exactly."""

    def nu(tau):
        tau = np.atleast_1d(np.asarray(tau, dtype=float))
        # s = asinh(β/α²)/(2λ) with α = e^{−λ}, written in logs
        b = beta_of_tau(tau)
        return (np.sign(b) * (np.log(2.0 * np.abs(b)) + 2.0 * lam) / (2.0 * lam))[None, :]

    grid = np.linspace(0.0, tau_max, 4001)[1:]
    dual = nu(grid).T
    return DualFlow(alpha=float(np.exp(-lam)), log_inv_alpha=lam, times=grid,
                    beta=beta_from_dual(dual, lam), dual=dual, loss=np.zeros(grid.size),
                    converged=True, diverged=False, message="synthetic", nfev=0, njev=0,
                    elapsed_s=0.0, _X=np.ones((1, 1)), _sol=nu)


def test_jump_times_wait_for_the_previous_saddle():
    """A transition 0 → β₁ = 1 that passes through the next saddle β₂ = 0.9 on its way up must
    not fire jump 2 there: jump 2 is the later descent from 1 to 0.9 (half-distance 0.95, at
    τ = 3 + 0.5 = 3.5 by construction). The old criterion fired it at β = 0.95 on the rise."""

    def beta(tau):
        up = 1.0 / (1.0 + np.exp(-20.0 * (tau - 1.0)))  # 0 → 1, half-way at τ = 1
        down = 0.1 * np.clip(tau - 3.0, 0.0, 1.0)  # 1 → 0.9 linearly on [3, 4]
        return np.maximum(up - down, 1e-200)

    flow = _synthetic_flow(beta, 6.0)
    saddles = np.array([[1.0], [0.9]])
    t = measure_jump_times(flow, saddles)
    np.testing.assert_allclose(t[0], 1.0, atol=1e-6)
    np.testing.assert_allclose(t[1], 3.5, atol=1e-6)
    coarse = measure_jump_times(flow, saddles, refine=False)
    np.testing.assert_allclose(coarse, [1.0, 3.5], atol=2 * 6.0 / 4000)


def test_log_inv_alpha_parameter_matches_alpha_and_reaches_beyond_double_range():
    X, y = _data(seed=5)  # off-support dual margin δ = 0.049
    path = saddle_to_saddle(X, y)
    horizon = float(path.times[-1] + 1.0)
    by_alpha = integrate_dual_flow(X, y, 1e-40, horizon)
    by_log = integrate_dual_flow(X, y, None, horizon, log_inv_alpha=float(np.log(1e40)))
    np.testing.assert_allclose(by_log.beta_at([0.5 * horizon, horizon]),
                               by_alpha.beta_at([0.5 * horizon, horizon]), rtol=1e-9, atol=1e-12)
    # λ = 1500: α = e^{-1500} underflows to 0, the flow (in log α) does not care
    deep = integrate_dual_flow(X, y, None, horizon, log_inv_alpha=1500.0)
    assert deep.converged and deep.alpha == 0.0 and deep.log_inv_alpha == 1500.0
    errors = (measure_jump_times(deep, path.saddles) - path.times) * 1500.0
    # the same constants C_k as at the smallest α the α-parameter allows (1e-300, λ = 690.8;
    # asymptotic for these data: e^{−2δλ} ≈ 1e-29 with δ = min(dual_margins) ≈ 0.049)
    assert np.exp(-2.0 * np.min(path.dual_margins()) * np.log(1e300)) < 1e-12
    shallow = integrate_dual_flow(X, y, 1e-300, horizon)
    errors_300 = (measure_jump_times(shallow, path.saddles) - path.times) * np.log(1e300)
    np.testing.assert_allclose(errors, errors_300, rtol=1e-5, atol=1e-5)  # C_k/λ: same C_k


@pytest.mark.parametrize(("alpha", "lam", "match"), [
    (None, None, "give alpha"), (1e-10, 23.0, "not both"), (None, 0.0, "log_inv_alpha"),
    (None, 2e4, "log_inv_alpha"),
])
def test_log_inv_alpha_bad_input(alpha, lam, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        integrate_dual_flow(X, y, alpha, 1.0, log_inv_alpha=lam)
