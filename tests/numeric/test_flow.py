"""Tests of the gradient-flow integrators (numeric/flow.py)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dln_verify.numeric.convex import implicit_bias_solution
from dln_verify.numeric.flow import (
    FlowResult,
    _run,
    gradient_flow_depth,
    gradient_flow_dual,
    gradient_flow_uv,
    gradient_flow_uv_batch,
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


def _batch_inits(d, seed):
    rng = np.random.default_rng(seed)
    a_u = rng.uniform(0.3, 1.0, d)
    U = np.stack([np.full(d, 0.05), np.full(d, 0.8), a_u])
    V = np.stack([np.zeros(d), np.zeros(d), a_u * rng.uniform(-0.9, 0.9, d)])
    return U, V


BACKENDS = ["numba", "numpy"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_flow_follows_scipy_dop853_at_fixed_horizons(backend):
    """The batched DOP853 (column blocks of 7 of 40 columns, three runs with their own
    horizons) integrates the same ODE as scipy's DOP853 in gradient_flow_uv: with the residual
    test off (tol = 1e-300) both stop at t_max exactly, and the states agree to the integrators'
    accuracy (rtol = 1e-12: ~1e-11 relative), far below the gap between different flows."""
    X, y = _data(15, 40, 0)
    U, V = _batch_inits(40, 1)
    horizons = [30.0, 2.0, 7.5]
    runs = gradient_flow_uv_batch(X, y, U, V, t_max=horizons, tol=1e-300, block_bytes=7 * 8 * 15,
                                  backend=backend)
    for run, u0, v0, T in zip(runs, U, V, horizons, strict=True):
        ref = gradient_flow_uv(X, y, u0, v0, t_max=T, tol=1e-300)
        assert not run.converged and "t_max" in run.message
        assert run.times[-1] == T == ref.times[-1]
        assert _rel(run.final_beta, ref.final_beta) <= 1e-9
        # a coarser run is far off: the agreement is not trivial
        coarse = gradient_flow_uv(X, y, u0, v0, t_max=T, tol=1e-300, rtol=1e-4, atol=1e-6)
        assert _rel(coarse.final_beta, ref.final_beta) > 1e-8
        # same number of right-hand sides up to the step controller's rounding-level choices
        assert abs(run.nfev - ref.nfev) <= 0.2 * ref.nfev


@pytest.mark.parametrize("backend, bb", [("numba", 5 * 8 * 12), ("numba", 16 * 8 * 12),
                                         ("numpy", 5 * 8 * 12)])
def test_batch_runs_do_not_depend_on_each_other_or_on_blocks_of_one(backend, bb):
    """Every run of a batch is computed with its own operations: alone or with others, the
    floats are identical."""
    X, y = _data(12, 30, 2)
    U, V = _batch_inits(30, 3)
    together = gradient_flow_uv_batch(X, y, U, V, t_max=1e4, block_bytes=bb, backend=backend)
    for i, run in enumerate(together):
        alone = gradient_flow_uv_batch(X, y, U[i], V[i], t_max=1e4, block_bytes=bb,
                                       backend=backend)[0]
        assert np.array_equal(alone.final_beta, run.final_beta)
        assert np.array_equal(alone.times, run.times) and alone.nfev == run.nfev


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_flow_limits_are_the_implicit_bias_predictions(backend):
    """Balanced runs converge to argmin ψ_α (α² = u₀²/2), the unbalanced one to the Bregman
    projection (Woodworth et al. 2020, Thm 1; Azulay et al. 2021), the convex solver being the
    independent oracle."""
    X, y = _data(10, 30, 4)
    U, V = _batch_inits(30, 5)
    runs = gradient_flow_uv_batch(X, y, U, V, t_max=1e5, block_bytes=8 * 8 * 10, backend=backend)
    for run, u0, v0 in zip(runs, U, V, strict=True):
        assert run.converged and not run.diverged, run.message
        assert run.residual <= 1e-10
        scale = np.sqrt((u0**2 - v0**2) / 2.0)
        ref = None if not np.any(v0) else u0 * v0
        sol = implicit_bias_solution(X, y, scale, reference=ref)
        assert _rel(run.final_beta, sol.beta) <= 1e-8
    assert runs[0].times[0] == 0.0 and np.all(np.diff(runs[0].times) > 0)
    np.testing.assert_array_equal(runs[0].beta[0], U[0] * V[0])
    np.testing.assert_array_equal(runs[0].beta[-1], runs[0].final_beta)
    assert runs[0].beta.shape == (runs[0].times.shape[0], 30) and runs[0].times.shape[0] <= 200


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_flow_reports_non_convergence_and_max_steps(backend):
    X, y = _data(10, 25, 4)
    U = np.stack([np.full(25, np.sqrt(2) * 0.01), np.full(25, 1.0)])
    V = np.zeros_like(U)
    short, fine = gradient_flow_uv_batch(X, y, U, V, t_max=[1.0, 1e4], backend=backend)
    assert not short.converged and not short.diverged and "not converged" in short.message
    assert np.isfinite(short.residual) and short.residual > 1e-3
    assert fine.converged, fine.message
    capped = gradient_flow_uv_batch(X, y, U[0], V[0], t_max=1e4, max_steps=5, backend=backend)[0]
    assert not capped.converged and "max_steps = 5" in capped.message
    assert capped.nfev <= 2 + 12 * 5 * 3  # 12 per attempt, few rejections


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_flow_already_converged_and_validation(backend):
    X, y = _data(5, 12, 0)
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    done = gradient_flow_uv_batch(X, y, beta, np.ones(12), t_max=1.0, backend=backend)[0]
    assert done.converged and done.nfev == 0 and done.message == "already converged"
    u0 = np.full((2, 12), 0.5)
    v0 = np.zeros((2, 12))
    for kwargs, match in [({"u0": u0[:, :5]}, "u0"), ({"v0": v0[:1]}, "v0"),
                          ({"t_max": [1.0, 2.0, 3.0]}, "t_max"), ({"t_max": -1.0}, "t_max"),
                          ({"atol": 1e-30}, "atol"), ({"block_bytes": 0}, "block_bytes"),
                          ({"max_steps": 0}, "max_steps"), ({"n_samples": 1}, "n_samples"),
                          ({"block_bytes": 2.5}, "block_bytes"), ({"backend": "cuda"}, "backend")]:
        args = {"u0": u0, "v0": v0, "t_max": 1.0, "backend": backend, **kwargs}
        with pytest.raises(ValueError, match=match):
            gradient_flow_uv_batch(X, y, args.pop("u0"), args.pop("v0"), **args)


def test_dop853_tableau_is_scipys_and_loads_without_scipy_integrate():
    script = (
        "import sys; from dln_verify.numeric import flow; t = flow._dop853_tableau(); "
        "print('scipy.integrate' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=300).stdout.split()
    assert out == ["False"]
    from scipy.integrate._ivp import dop853_coefficients as dc

    from dln_verify.numeric import flow

    s = dc.N_STAGES
    for ours, theirs in zip(flow._dop853_tableau(), (dc.A[:s, :s], dc.B, dc.C[:s], dc.E3, dc.E5),
                            strict=True):
        assert np.array_equal(ours, theirs)
