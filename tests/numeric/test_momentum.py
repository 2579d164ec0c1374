"""Tests of :mod:`dln_verify.numeric.momentum` against independent implementations.

- batched heavy ball vs a plain per-run loop written here (and vs GD at β_m = 0);
- the MGF integrator vs a fixed-step RK4 in (u, v) coordinates written here;
- orders of MGD → MGF (1) and MGD → modified flow (2), as ratios when 1 − β_m halves;
- the implicit-regularisation scale identity, the zero-crossing report, divergence, bad input.
Convention: β = u ⊙ v, u₀ = √2α, v₀ = 0, L = ‖Xβ − y‖²/(2n) (``docs/theory/regression.md`` §0, §5).
"""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric.instances import gaussian_regression
from dln_verify.numeric.momentum import (
    heavy_ball,
    invariant_lambda,
    momentum_gradient_flow,
    relative_path_error,
    stepsize_for,
    time_step,
)


@pytest.fixture(scope="module")
def data():
    return gaussian_regression(8, 16, seed=3)


def _loop_heavy_ball(X, y, alpha, gamma, beta_m, n_iter):
    """Reference heavy ball, one run, written from the recursion of
    docs/theory/regression.md §5.1."""
    n, d = X.shape
    u = np.full(d, np.sqrt(2) * alpha)
    v = np.zeros(d)
    up, vp = u.copy(), v.copy()
    out = [u * v]
    for _ in range(n_iter):
        g = X.T @ (X @ (u * v) - y) / n
        un = u - gamma * v * g + beta_m * (u - up)
        vn = v - gamma * u * g + beta_m * (v - vp)
        up, vp, u, v = u, v, un, vn
        out.append(u * v)
    return np.array(out)


def test_parameter_maps_roundtrip():
    lam, m = 0.7, np.array([0.0, 0.5, 0.9, 0.99])
    g = stepsize_for(lam, m)
    np.testing.assert_allclose(invariant_lambda(g, m), lam, rtol=1e-14)
    np.testing.assert_allclose(time_step(g, m), lam * (1 - m), rtol=1e-14)


def test_heavy_ball_matches_reference_loop_at_iterate_times(data):
    X, y = data
    gam = np.array([0.02, 0.05, 0.1])
    mom = np.array([0.0, 0.5, 0.8])
    h = gam / (1 - mom)
    times = np.arange(0, 11) * 0.1  # multiples of every h: 0.02, 0.1, 0.5
    times = times[np.all(np.isclose((times[:, None] / h) % 1, 0) | np.isclose(
        (times[:, None] / h) % 1, 1), axis=1)]
    res = heavy_ball(X, y, 0.3, gam, mom, times)
    for b in range(3):
        k = np.rint(times / h[b]).astype(int)
        ref = _loop_heavy_ball(X, y, 0.3, gam[b], mom[b], int(k.max()))
        np.testing.assert_allclose(res.beta[b], ref[k], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(res.final_beta[b], ref[-1], rtol=1e-12, atol=1e-14)
    assert not res.diverged.any()
    np.testing.assert_allclose(res.lam, gam / (1 - mom) ** 2)


def test_per_run_design_equals_shared_design(data):
    X, y = data
    gam, mom = np.array([0.01, 0.04]), np.array([0.9, 0.6])
    times = np.linspace(0, 3, 7)
    shared = heavy_ball(X, y, 0.2, gam, mom, times)
    per_run = heavy_ball(np.stack([X, X]), np.stack([y, y]), 0.2, gam, mom, times)
    np.testing.assert_allclose(per_run.beta, shared.beta, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(per_run.residual, shared.residual, rtol=1e-10)


def test_divergence_is_flagged_per_run(data):
    X, y = data
    res = heavy_ball(X, y, 1.0, [0.01, 50.0], [0.5, 0.5], [0.0, 200.0])
    assert res.diverged.tolist() == [False, True]
    assert np.isinf(res.residual[1]) and np.isfinite(res.residual[0])
    assert np.all(np.isnan(res.beta[1])) and np.all(np.isfinite(res.beta[0]))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_both_backends_match_the_reference_loop(data, backend):
    """The compiled per-run driver and the batched numpy loop, each against the plain loop."""
    X, y = data
    gam, mom = np.array([0.02, 0.05]), np.array([0.5, 0.8])
    h = gam / (1 - mom)
    times = np.array([0.0, 0.2, 0.6, 1.0])  # multiples of both time steps (0.04, 0.25 · ...)
    times = times[np.all(np.isclose(np.round(times[:, None] / h), times[:, None] / h), axis=1)]
    res = heavy_ball(X, y, 0.3, gam, mom, times, backend=backend)
    for b in range(2):
        k = np.rint(times / h[b]).astype(int)
        ref = _loop_heavy_ball(X, y, 0.3, gam[b], mom[b], int(k.max()))
        np.testing.assert_allclose(res.beta[b], ref[k], rtol=1e-12, atol=1e-14)


def test_backends_agree_including_divergence_and_interpolation(data):
    X, y = data
    gam, mom = [0.013, 0.05, 2.0, 0.031], [0.3, 0.9, 0.1, 0.7]
    times = np.linspace(0.0, 37.3, 9)  # not multiples of the time steps: interpolated
    a = heavy_ball(X, y, 1.0, gam, mom, times, backend="numpy")
    b = heavy_ball(X, y, 1.0, gam, mom, times, backend="numba")
    assert a.diverged.tolist() == b.diverged.tolist() == [False, False, True, False]
    assert a.message == b.message
    ok = ~a.diverged
    np.testing.assert_allclose(b.beta[ok], a.beta[ok], rtol=1e-11, atol=1e-14)
    # relative residuals down to the float64 floor of ‖Xβ − y‖/‖y‖ (~1e-15 here): atol
    np.testing.assert_allclose(b.residual[ok], a.residual[ok], rtol=1e-9, atol=1e-13)
    assert np.all(np.isnan(b.beta[~ok])) and np.all(np.isinf(b.residual[~ok]))


def test_divergence_verdict_does_not_depend_on_the_batch(data):
    """A run diverges or not by itself: alone, or next to runs of other lengths."""
    X, y = data
    gam, mom = [0.9, 0.01, 0.03], [0.5, 0.5, 0.2]
    together = heavy_ball(X, y, 1.0, gam, mom, [0.0, 30.0], backend="numpy")
    for b in range(3):
        alone = heavy_ball(X, y, 1.0, [gam[b]], [mom[b]], [0.0, 30.0], backend="numpy")
        assert alone.diverged[0] == together.diverged[b]
    assert together.diverged.tolist() == [True, False, False]


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_design_index_equals_copied_designs(data, backend):
    X, y = data
    Xs, ys = np.stack([X, 0.5 * X, X[::-1]]), np.stack([y, y, y[::-1]])
    design = np.array([2, 0, 2, 1])
    gam, mom = [0.02, 0.03, 0.05, 0.04], [0.5, 0.6, 0.7, 0.5]
    times = np.linspace(0, 4, 5)
    grouped = heavy_ball(Xs, ys, 0.2, gam, mom, times, design=design, backend=backend)
    copied = heavy_ball(Xs[design], ys[design], 0.2, gam, mom, times, backend=backend)
    np.testing.assert_array_equal(grouped.beta, copied.beta)
    np.testing.assert_array_equal(grouped.residual, copied.residual)


@pytest.mark.parametrize(
    ("design", "match"),
    [([0, 1], "design must be B = 3"), ([0, 1, 2], r"\[0, 1\]"), ([0.0, 1.0, 1.0], "integers"),
     ([-1, 0, 0], "design entries")],
)
def test_bad_design(data, design, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        heavy_ball(np.stack([X, X]), np.stack([y, y]), 0.2, [0.01] * 3, [0.5] * 3, [1.0],
                   design=design)
    with pytest.raises(ValueError, match="design needs X"):
        heavy_ball(X, y, 0.2, [0.01] * 3, [0.5] * 3, [1.0], design=[0, 0, 0])


def test_bad_backend(data):
    X, y = data
    with pytest.raises(ValueError, match="backend"):
        heavy_ball(X, y, 0.2, [0.01], [0.5], [1.0], backend="cuda")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"momenta": [1.0]}, "momenta"),
        ({"momenta": [-0.1]}, "momenta"),
        ({"stepsizes": [0.0]}, "stepsizes"),
        ({"stepsizes": [0.1, 0.1]}, "stepsizes and momenta"),
        ({"alpha": -1.0}, "alpha"),
        ({"times": [1.0, 0.5]}, "times"),
    ],
)
def test_heavy_ball_bad_input(data, kwargs, name):
    X, y = data
    args = {"stepsizes": [0.1], "momenta": [0.5], "alpha": 0.1, "times": [0.0, 1.0], **kwargs}
    with pytest.raises(ValueError, match=name):
        heavy_ball(X, y, args["alpha"], args["stepsizes"], args["momenta"], args["times"])


@pytest.mark.parametrize(("kwargs", "name"), [({"lam": 0.0}, "lam"), ({"t_max": -1.0}, "t_max"),
                                              ({"alpha": np.ones(3)}, "alpha")])
def test_mgf_bad_input(data, kwargs, name):
    X, y = data
    args = {"alpha": 0.1, "lam": 0.5, "t_max": 1.0, **kwargs}
    with pytest.raises(ValueError, match=name):
        momentum_gradient_flow(X, y, args["alpha"], args["lam"], args["t_max"])


@pytest.mark.parametrize("method", ["foo", "rk45", 3])
def test_mgf_unknown_method_names_the_allowed_ones(data, method):
    X, y = data
    with pytest.raises(ValueError, match=r"method must be one of RK23, RK45, DOP853, Radau"):
        momentum_gradient_flow(X, y, 0.1, 0.5, 1.0, method=method)


def test_mgf_path_only_must_be_bool(data):
    X, y = data
    with pytest.raises(TypeError, match="path_only must be a bool"):
        momentum_gradient_flow(X, y, 0.1, 0.5, 1.0, path_only="yes")


def test_relative_path_error_checks_shapes():
    with pytest.raises(ValueError, match=r"paths must have shape \(B, T, d\)"):
        relative_path_error(np.zeros((4, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="must match reference"):
        relative_path_error(np.zeros((1, 4, 3)), np.zeros((5, 3)))
    err = relative_path_error(np.ones((2, 4, 3)), np.full((4, 3), 2.0))
    np.testing.assert_allclose(err, 0.5)


def _rk4_uv(X, y, alpha, lam, t_max, dt):
    """Independent MGF integrator: classical RK4 on (u, v, u̇, v̇)."""
    n, d = X.shape

    def f(z):
        u, v, p, q = z
        g = X.T @ (X @ (u * v) - y) / n
        return np.array([p, q, (-p - v * g) / lam, (-q - u * g) / lam])

    z = np.array([np.full(d, np.sqrt(2) * alpha), np.zeros(d), np.zeros(d), np.zeros(d)])
    for _ in range(int(round(t_max / dt))):
        k1 = f(z)
        k2 = f(z + dt / 2 * k1)
        k3 = f(z + dt / 2 * k2)
        k4 = f(z + dt * k3)
        z = z + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return z[0] * z[1]


def test_mgf_matches_independent_rk4(data):
    X, y = data
    res = momentum_gradient_flow(X, y, 0.3, 0.4, 5.0)
    ref = _rk4_uv(X, y, 0.3, 0.4, 5.0, 2e-3)
    np.testing.assert_allclose(res.final_beta, ref, rtol=1e-8, atol=1e-10)


def test_mgf_scale_identity_and_range(data):
    X, y = data
    res = momentum_gradient_flow(X, y, 0.3, 0.3, 800.0)
    assert res.in_range and res.residual < 1e-10
    # (u² − v²)/2 = α₊α₋ (docs/theory/regression.md §5.3, fact (a)); β̃₀ = (α₊² − α₋²)/2
    np.testing.assert_allclose((res.u**2 - res.v**2) / 2, res.alpha_inf_sq, rtol=1e-9)
    np.testing.assert_allclose(res.alpha_inf_sq**2, res.alpha_plus_sq * res.alpha_minus_sq,
                               rtol=1e-12)
    assert np.all(res.alpha_inf_sq < 0.09)  # λ > 0 shrinks the scale: the "gain" is positive


def test_mgf_reports_zero_crossing_outside_range():
    X, y = gaussian_regression(20, 40, seed=0)
    res = momentum_gradient_flow(X, y, 0.1, 2.0, 200.0)
    assert not res.in_range
    assert res.min_ratio <= res.GRAZING
    path = momentum_gradient_flow(X, y, 0.1, 2.0, 20.0, np.linspace(0, 20, 5), path_only=True)
    assert path.converged and path.times.shape == (5,) and np.all(np.isnan(path.integral_s))


def test_orders_mgd_to_mgf_and_to_modified_flow(data):
    """Halving 1 − β_m halves the error to the MGF and quarters it to the modified flow."""
    X, y = data
    lam, alpha = 0.5, 0.2
    mom = np.array([0.9, 0.95, 0.975])
    times = np.linspace(0, 8, 81)
    run = heavy_ball(X, y, alpha, stepsize_for(lam, mom), mom, times)
    mgf = momentum_gradient_flow(X, y, alpha, lam, 8.0, times, path_only=True)
    err = relative_path_error(run.beta, mgf.beta)
    mod = np.array([
        relative_path_error(run.beta[i:i + 1], momentum_gradient_flow(
            X, y, alpha, lam * (1 + m) / 2, 8.0, times, initial_velocity_factor=(1 - m) / 2,
            path_only=True).beta)[0]
        for i, m in enumerate(mom)])
    r1, r2 = err[:-1] / err[1:], mod[:-1] / mod[1:]
    assert np.all((r1 > 1.8) & (r1 < 2.2)), r1
    assert np.all((r2 > 3.4) & (r2 < 4.6)), r2


def test_residuals_relative_to_tiny_y(data):
    """At t = 0 (β = 0) the residual is ‖y‖/‖y‖ = 1 however small y is."""
    X, y = data[0], 1e-9 * data[1]
    hb = heavy_ball(X, y, 0.1, [0.01], [0.5], [0.0])
    assert hb.residual[0] == pytest.approx(1.0)
    mgf = momentum_gradient_flow(X, y, 0.1, 0.1, 1e-12)
    assert mgf.residual == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match="y"):
        heavy_ball(np.stack([X, X]), np.stack([y, 0 * y]), 0.1, [0.01, 0.01], [0.5, 0.5], [1.0])


def test_heavy_ball_iteration_cap(data):
    """γ = 1e-9, T = 100 would be 1e11 iterations: rejected up front, naming the parameters."""
    X, y = data
    with pytest.raises(ValueError, match="stepsizes/times"):
        heavy_ball(X, y, 0.1, [1e-9], [0.0], [100.0])
    # a batch is rejected if any run exceeds the cap
    with pytest.raises(ValueError, match="MAX_ITERATIONS"):
        heavy_ball(X, y, 0.1, [0.1, 1e-6], [0.0, 0.5], [10.0])


def test_mgf_rejects_stiff_lambda_for_explicit_method(data):
    X, y = data
    with pytest.raises(ValueError, match="lam"):
        momentum_gradient_flow(X, y, 0.1, 1e-9, 100.0)
    # an implicit method is allowed to try (short horizon here)
    res = momentum_gradient_flow(X, y, 0.1, 1e-4, 1.0, method="Radau", path_only=True)
    assert res.converged


@pytest.mark.parametrize(
    ("func", "args", "name"),
    [
        (stepsize_for, (-1.0, 0.5), "lam"),
        (stepsize_for, (0.5, 1.0), "momentum"),
        (invariant_lambda, (0.1, 1.0), "momentum"),
        (invariant_lambda, (0.1, -0.1), "momentum"),
        (invariant_lambda, (0.0, 0.5), "stepsize"),
        (time_step, (0.1, 1.5), "momentum"),
        (time_step, (np.nan, 0.5), "stepsize"),
    ],
)
def test_conversions_validate(func, args, name):
    with pytest.raises(ValueError, match=name):
        func(*args)


@pytest.mark.parametrize("path_only", [False, True])
def test_mgf_compiled_right_hand_side_gives_the_numpy_floats(data, monkeypatch, path_only):
    """The compiled elementwise part keeps numpy's operations and order: identical results."""
    import dln_verify.numeric.momentum as mm

    X, y = data
    times = np.linspace(0.0, 5.0, 6)
    compiled = momentum_gradient_flow(X, y, 0.3, 0.4, 5.0, times, path_only=path_only)
    monkeypatch.setattr(mm, "_mgf_kernels", lambda: None)
    plain = momentum_gradient_flow(X, y, 0.3, 0.4, 5.0, times, path_only=path_only)
    assert compiled.nfev == plain.nfev
    for field in ("beta", "u", "v", "integral_s", "integral_d", "alpha_inf_sq"):
        np.testing.assert_array_equal(getattr(compiled, field), getattr(plain, field))
