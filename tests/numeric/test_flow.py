"""Tests of the gradient-flow integrators (numeric/flow.py)."""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric.convex import implicit_bias_solution
from dln_verify.numeric.flow import (
    FlowResult,
    _run,
    gradient_flow_depth,
    gradient_flow_dual,
    gradient_flow_uv,
)
from dln_verify.numeric.instances import gaussian_regression as _data  # same draws: X, then y
from dln_verify.numeric.parametrisations import uv_init


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_dual_flow_equals_raw_uv_flow_along_the_path():
    """The n-dim dual ODE is exactly GF on the network (docs/theory/regression.md §0.1): same
    β(t)."""
    X, y = _data(15, 40, 0)
    alpha = 0.3
    u0, v0 = uv_init(alpha, 40)
    raw = gradient_flow_uv(X, y, u0, v0, t_max=50.0, tol=1e-300, n_samples=50)
    dual = gradient_flow_dual(X, y, alpha, t_max=50.0, tol=1e-300, n_samples=50)
    assert not raw.converged and not dual.converged  # tol unreachable: stopped by t_max
    assert "t_max" in raw.message and "t_max" in dual.message
    assert _rel(raw.final_beta, dual.final_beta) <= 1e-8


def test_result_shapes_and_sampling():
    X, y = _data(10, 25, 1)
    res = gradient_flow_dual(X, y, 1.0, t_max=1e4, n_samples=30)
    assert isinstance(res, FlowResult)
    assert res.converged and not res.diverged
    assert res.times.ndim == 1 and res.times.shape[0] <= 30
    assert res.beta.shape == (res.times.shape[0], 25)
    assert res.times[0] == 0.0 and np.all(np.diff(res.times) > 0)
    np.testing.assert_array_equal(res.beta[0], np.zeros(25))
    np.testing.assert_allclose(res.beta[-1], res.final_beta)
    assert res.residual <= 1e-10 and res.nfev > 0


def test_dual_flow_tiny_alpha():
    """α = 1e-30 (saddle-to-saddle regime) is integrated in the log domain without overflow."""
    X, y = _data(10, 30, 2)
    res = gradient_flow_dual(X, y, 1e-30, t_max=1e9)
    assert res.converged, res.message
    sol = implicit_bias_solution(X, y, 1e-30)
    assert _rel(res.final_beta, sol.beta) <= 1e-8


def test_dual_flow_with_reference():
    X, y = _data(12, 30, 3)
    ref = 0.2 * np.random.default_rng(0).standard_normal(30)
    res = gradient_flow_dual(X, y, 0.4, reference=ref, t_max=1e7)
    sol = implicit_bias_solution(X, y, 0.4, reference=ref)
    assert res.converged
    assert _rel(res.final_beta, sol.beta) <= 1e-8
    np.testing.assert_allclose(res.beta[0], ref, rtol=1e-14, atol=1e-16)


def test_non_convergence_is_reported():
    X, y = _data(10, 25, 4)
    u0, v0 = uv_init(0.01, 25)
    res = gradient_flow_uv(X, y, u0, v0, t_max=1.0)
    assert not res.converged and not res.diverged
    assert "not converged" in res.message
    assert np.isfinite(res.residual) and res.residual > 1e-3


def test_divergence_is_reported_not_nan():
    """ẋ = x² from x₀ = 1 blows up at t = 1: flagged as diverged with finite outputs."""
    X = np.eye(1, 2)
    y = np.array([-1.0])  # residual x + 1 never reaches the tolerance

    def rhs(t, s):
        return s**2

    res = _run(rhs, np.array([1.0, 0.0]), lambda s: s, X, y, t_max=5.0, rtol=1e-10,
               atol=1e-12, n_samples=20, tol=1e-12, method="DOP853")
    assert res.diverged and not res.converged
    assert "diverged" in res.message
    assert np.all(np.isfinite(res.beta)) and np.all(np.isfinite(res.final_beta))
    assert res.times[-1] <= 1.0 + 1e-8  # blow-up time of ẋ = x², x₀ = 1


def test_depth_flow_matches_depth_prediction():
    X, y = _data(12, 30, 5)
    res = gradient_flow_depth(X, y, 0.7, 4, t_max=1e5)
    sol = implicit_bias_solution(X, y, 0.7, depth=4)
    assert res.converged and sol.certificate.accepted
    assert _rel(res.final_beta, sol.beta) <= 1e-8


@pytest.mark.parametrize("method", ["LSODA", "BDF", "Radau"])
def test_dual_methods_agree(method):
    X, y = _data(8, 20, 6)
    res = gradient_flow_dual(X, y, 0.2, t_max=1e7, method=method)
    sol = implicit_bias_solution(X, y, 0.2)
    assert res.converged
    assert _rel(res.final_beta, sol.beta) <= 1e-8


def test_atol_below_pitfall_threshold_rejected():
    X, y = _data(5, 10, 7)
    u0, v0 = uv_init(0.1, 10)
    with pytest.raises(ValueError, match="atol"):
        gradient_flow_uv(X, y, u0, v0, t_max=1.0, atol=1e-300)


def test_flow_residual_relative_to_tiny_y():
    """A tiny y must not count as 'already converged' at β = 0 (residual relative to ‖y‖)."""
    X, y = _data(5, 12, 0)
    u0, v0 = uv_init(1.0, 12)
    # uv flow: s = 1e-6 (atol = 1e-20 limits relative accuracy once |v| ~ 1e-12)
    res = gradient_flow_uv(X, 1e-6 * y, u0, v0, t_max=1e4)
    assert res.converged, res.message
    assert np.linalg.norm(X @ res.final_beta - 1e-6 * y) <= 1e-9 * np.linalg.norm(1e-6 * y)
    dual = gradient_flow_dual(X, 1e-12 * y, 1.0, t_max=1e4)
    assert dual.converged and dual.beta.shape[0] > 1, dual.message
    assert np.linalg.norm(X @ dual.final_beta - 1e-12 * y) <= 1e-9 * np.linalg.norm(1e-12 * y)


def test_flow_stuck_at_residual_floor_stops_at_max_steps():
    """Depth 3, α = 5: DOP853 stalls at a residual ~1e-9 > tol; the step cap ends the run."""
    X, y = _data(5, 12, 0)
    res = gradient_flow_depth(X, y, 5.0, 3, t_max=1e6, max_steps=2000)
    assert not res.converged and not res.diverged
    assert "max_steps = 2000" in res.message
    assert res.nfev <= 13 * 2000  # DOP853: 12 evaluations per step (+ rejected steps)
    assert np.isfinite(res.residual) and res.residual > 1e-10


@pytest.mark.parametrize("bad", [0, -5, 2.5, True])
def test_max_steps_validated(bad):
    X, y = _data(5, 12, 0)
    u0, v0 = uv_init(0.5, 12)
    with pytest.raises(ValueError, match="max_steps"):
        gradient_flow_uv(X, y, u0, v0, t_max=1.0, max_steps=bad)
    with pytest.raises(ValueError, match="max_steps"):
        gradient_flow_depth(X, y, 0.5, 3, t_max=1.0, max_steps=bad)
    with pytest.raises(ValueError, match="max_steps"):
        gradient_flow_dual(X, y, 0.5, t_max=1.0, max_steps=bad)


def test_flows_report_residual_decades_without_changing_the_run():
    """Progress hooks (dln_verify.numeric.progress) observe only: same floats with a listener,
    and the reported decades of the residual are monotone and reach log10(r0/tol)."""
    from dln_verify.numeric.progress import reporting

    X, y = _data(4, 9, 2)
    runs = {
        "uv": lambda: gradient_flow_uv(X, y, np.full(9, 0.7), np.zeros(9), t_max=1e3),
        "depth": lambda: gradient_flow_depth(X, y, 0.7, 3, t_max=1e3),
        "dual": lambda: gradient_flow_dual(X, y, 0.5, t_max=1e3),
    }
    for name, run in runs.items():
        plain = run()
        events = []
        with reporting(events.append):
            heard = run()
        np.testing.assert_array_equal(heard.beta, plain.beta, err_msg=name)
        assert heard.residual == plain.residual and heard.nfev == plain.nfev
        done = [e.done for e in events]
        assert events[0].kind == "start" and events[0].unit == "decades", name
        assert all(b >= a for a, b in zip(done, done[1:], strict=False)), name
        # β(0) = 0: relative residual 1, so 10 decades down to tol = 1e-10
        assert events[0].total == pytest.approx(10.0)
        assert plain.converged and done[-1] == pytest.approx(events[0].total, abs=0.2), name
