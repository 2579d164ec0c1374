"""Tests of batched (S)GD on β = u⊙v (numeric/gd.py).

Checks: first-order distance of the GD limit to the GF prediction (slope ≈ 1 in γ); the exact
identity of Even, Pesme, Gunasekar & Flammarion (NeurIPS 2023, Thm. 1) for GD and SGD to 1e-9;
the invariant u²−v² = 2α²Π(1−γ²g²); batched = one-at-a-time; divergence flagged per run.
"""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric.convex import implicit_bias_solution
from dln_verify.numeric.gd import delta_even, gradient_descent, q_even, q_minus, q_plus
from dln_verify.numeric.parametrisations import uv_init


def _data(n, d, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def gd_runs():
    X, y = _data(20, 40, 3)
    alpha = 0.1
    u0, v0 = uv_init(alpha, 40)
    gams = np.array([0.3, 0.15, 0.075])
    res = gradient_descent(X, y, u0, v0, gams, 40000, tol=1e-13)
    return X, y, alpha, u0, v0, gams, res


def test_gd_limit_first_order_in_stepsize(gd_runs):
    """‖β_GD(γ) − argmin ψ_α‖ ∝ γ: fitted log-log slope in [0.9, 1.1]
    (docs/theory/regression.md §1.3)."""
    X, y, alpha, _, _, gams, res = gd_runs
    assert np.all(res.converged) and not np.any(res.diverged)
    pred = implicit_bias_solution(X, y, alpha).beta
    errs = np.array([_rel(b, pred) for b in res.final_beta])
    slope = np.polyfit(np.log(gams), np.log(errs), 1)[0]
    assert 0.9 <= slope <= 1.1, (errs, slope)


def test_even_identity_gd(gd_runs):
    """β_∞ = argmin D_{ψ_{α_∞}}(·, β̃₀) with α_∞, β̃₀ from the accumulators, to 1e-9."""
    X, y, alpha, _, _, gams, res = gd_runs
    for b in range(len(gams)):
        exact = implicit_bias_solution(X, y, res.alpha_inf[b], reference=res.reference[b])
        assert _rel(res.final_beta[b], exact.beta) <= 1e-9
        # the reference point matters (it is the difference between 1e-13 and ≥ 1e-6)
        no_ref = implicit_bias_solution(X, y, res.alpha_inf[b])
        assert _rel(res.final_beta[b], no_ref.beta) >= 1e-6


def test_even_invariant(gd_runs):
    """u² − v² = 2α² Π(1 − γ²g²) = 2α² sign · exp(−gain) (Even et al. 2023)."""
    _, _, alpha, _, _, gams, res = gd_runs
    lhs = res.u**2 - res.v**2
    rhs = 2 * alpha**2 * res.invariant_sign * np.exp(-res.gain)
    assert np.max(np.abs(lhs / rhs - 1)) <= 1e-9
    # and α₊α₋ = α_∞² (docs/theory/regression.md §3.2)
    ap, am = res.alpha_pm
    np.testing.assert_allclose(ap * am, res.alpha_inf**2, rtol=1e-12)


def test_even_identity_sgd():
    X, y = _data(20, 40, 4)
    alpha = 0.1
    u0, v0 = uv_init(alpha, 40)
    res = gradient_descent(X, y, u0, v0, [0.1, 0.05], 100000, batch_size=5, rng=7, tol=1e-13)
    assert np.all(res.converged)
    for b in range(2):
        exact = implicit_bias_solution(X, y, res.alpha_inf[b], reference=res.reference[b])
        assert _rel(res.final_beta[b], exact.beta) <= 1e-9
    again = gradient_descent(X, y, u0, v0, [0.1, 0.05], 100000, batch_size=5, rng=7, tol=1e-13)
    np.testing.assert_array_equal(again.final_beta, res.final_beta)  # seeded: reproducible


def test_batched_equals_one_at_a_time():
    X, y = _data(10, 25, 5)
    u0, v0 = uv_init(0.2, 25)
    gams = np.array([0.2, 0.1, 0.05])
    batch = gradient_descent(X, y, u0, v0, gams, 500, record_every=10)
    for b, g in enumerate(gams):
        one = gradient_descent(X, y, u0, v0, [g], 500, record_every=10)
        np.testing.assert_allclose(batch.final_beta[b], one.final_beta[0], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(batch.beta[b], one.beta[0], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(batch.gain[b], one.gain[0], rtol=1e-12, atol=1e-18)
        # losses are ‖Xβ−y‖² after cancellation: batched vs single BLAS rounding differs
        np.testing.assert_allclose(batch.losses[b], one.losses[0], rtol=1e-9)
        assert batch.steps[b] == one.steps[0]


def test_divergence_flagged_per_run():
    X, y = _data(20, 40, 6)
    u0, v0 = uv_init(0.1, 40)
    res = gradient_descent(X, y, u0, v0, [0.1, 50.0], 3000, tol=1e-10)
    assert not res.diverged[0] and res.diverged[1]
    assert not res.converged[1]
    assert np.all(np.isfinite(res.final_beta)) and np.all(np.isfinite(res.u))
    assert np.all(np.isfinite(res.beta))
    assert np.all(np.isfinite(res.gain))
    assert np.isinf(res.losses[1, -1]) and np.isfinite(res.losses[0, -1])
    assert res.steps[1] < 3000


def test_loss_recording_and_shapes():
    X, y = _data(10, 25, 8)
    u0, v0 = uv_init(0.5, 25)
    res = gradient_descent(X, y, u0, v0, 0.1, 200, record_every=50, tol=1e-300)
    assert res.final_beta.shape == (1, 25) and res.losses.shape == (1, 5)
    assert res.beta.shape == (1, 5, 25) and res.time_unit == "iteration"
    np.testing.assert_array_equal(res.times, [0, 50, 100, 150, 200])
    np.testing.assert_allclose(res.beta[0, -1], res.final_beta[0])
    np.testing.assert_allclose(res.beta[0, 0], u0 * v0)
    np.testing.assert_allclose(res.losses[0, 0], np.sum(y**2) / (2 * 10))
    assert np.all(np.diff(res.losses[0]) < 0)
    assert res.steps[0] == 200


def test_q_functions_match_their_definitions():
    import mpmath

    mpmath.mp.dps = 50
    x = np.array([-1.3, -0.7, -0.2, -1e-3, 0.0, 1e-4, 0.03, 0.4, 0.9, 1.7])

    def ref(f):
        return np.array([float(f(mpmath.mpf(float(v)))) for v in x])

    q_ref = ref(lambda t: -mpmath.log((1 - t**2) ** 2) / 2)
    qp_ref = ref(lambda t: -2 * t - mpmath.log((1 - t) ** 2))
    qm_ref = ref(lambda t: 2 * t - mpmath.log((1 + t) ** 2))
    np.testing.assert_allclose(q_even(x), q_ref, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(q_plus(x), qp_ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(q_minus(x), qm_ref, rtol=1e-12, atol=1e-15)
    # δ(x) = 2x + ln|(1−x)/(1+x)| = −(q₊ − q₋)/2; series branch vs high-precision reference
    from fractions import Fraction

    for xv in (1e-4, 0.03, -0.049):
        ref = -2 * sum(Fraction(xv) ** (2 * k + 1) / (2 * k + 1) for k in range(1, 30))
        assert abs(delta_even(xv) - float(ref)) <= 1e-15 * abs(float(ref))
    big = np.array([-1.3, 0.4, 1.7])
    np.testing.assert_allclose(delta_even(big), -(q_plus(big) - q_minus(big)) / 2, rtol=1e-12)


def test_gd_residual_relative_to_tiny_y():
    """GD on a tiny y runs until ‖Xβ − y‖/‖y‖ ≤ tol (not until an absolute 1e-12)."""
    X, y = _data(5, 12, 0)
    s = 1e-12
    u0, v0 = uv_init(1.0, 12)
    res = gradient_descent(X, s * y, u0, v0, [0.05], 200_000, tol=1e-10)
    assert res.converged[0] and res.steps[0] > 0
    assert np.linalg.norm(X @ res.final_beta[0] - s * y) <= 1e-9 * np.linalg.norm(s * y)


def test_q_even_accepts_scalars():
    """q(x) = −ln|1 − x²| on a Python float (was a TypeError from the in-place log1p)."""
    assert q_even(0.1) == pytest.approx(-np.log(1 - 0.01), rel=1e-15)
    assert q_even(2.0) == pytest.approx(-np.log(3.0), rel=1e-15)
    np.testing.assert_allclose(q_even(np.array([0.1, 0.2])), -np.log(1 - np.array([0.01, 0.04])))


# --- kernels and per-run designs ---------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 3])
def test_backends_agree(batch_size):
    from dln_verify.numeric.kernels import available_backends

    X, y = _data(6, 20, 70)
    gams = np.array([0.02, 0.2, 5.0])  # the last run diverges
    runs = [gradient_descent(X, y, np.full(20, 0.3), np.zeros(20), gams, 3000, tol=1e-10,
                             batch_size=batch_size, rng=4, backend=b)
            for b in available_backends()]
    for other in runs[1:]:
        np.testing.assert_allclose(other.final_beta, runs[0].final_beta, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(other.gain, runs[0].gain, rtol=1e-12, atol=1e-300)
        np.testing.assert_array_equal(other.diverged, runs[0].diverged)
        np.testing.assert_array_equal(other.steps, runs[0].steps)
        assert other.message == runs[0].message
    assert runs[0].diverged[2] and not runs[0].diverged[0]


@pytest.mark.parametrize("batch_size", [None, 4])
def test_per_run_designs_equal_separate_runs(batch_size):
    rng = np.random.default_rng(71)
    B, n, d = 3, 5, 16
    Xs = rng.standard_normal((B, n, d))
    ys = rng.standard_normal((B, n))
    gams = np.array([0.05, 0.1, 0.08])
    u0 = np.full(d, 0.2)
    res = gradient_descent(Xs, ys, u0, np.zeros(d), gams, 4000, tol=1e-9, record_every=100,
                           batch_size=batch_size, rng=5)
    assert res.final_beta.shape == (B, d) and res.beta.shape[0] == B
    for b in range(B):
        one = gradient_descent(Xs[b], ys[b], u0, np.zeros(d), gams[b], 4000, tol=1e-9,
                               record_every=100)
        if batch_size is None:  # deterministic: the same run alone
            np.testing.assert_allclose(res.final_beta[b], one.final_beta[0], rtol=1e-12,
                                       atol=1e-14)
            assert res.steps[b] == one.steps[0] and res.converged[b] == one.converged[0]
        else:  # SGD interpolates its own data
            assert res.converged[b]
            assert np.linalg.norm(Xs[b] @ res.final_beta[b] - ys[b]) <= 1e-8 * np.linalg.norm(
                ys[b])


def test_per_run_designs_validated():
    rng = np.random.default_rng(72)
    Xs = rng.standard_normal((2, 3, 5))
    with pytest.raises(ValueError, match="y must have shape"):
        gradient_descent(Xs, rng.standard_normal(3), np.ones(5), np.zeros(5), 0.1, 10)
    ys = rng.standard_normal((2, 3))
    ys[1] = 0.0
    with pytest.raises(ValueError, match="identically zero"):
        gradient_descent(Xs, ys, np.ones(5), np.zeros(5), 0.1, 10)
    with pytest.raises(ValueError, match="stepsizes"):
        gradient_descent(Xs, rng.standard_normal((2, 3)), np.ones(5), np.zeros(5),
                         [0.1, 0.2, 0.3], 10)


# --- per-run generators ------------------------------------------------------------------------


@pytest.mark.parametrize("per_run_design", [False, True])
def test_per_run_generators_make_each_run_reproducible_alone(per_run_design):
    """Run b of a batch with rng = [G_0, …, G_{B−1}] equals the same run alone with G_b."""
    rng = np.random.default_rng(80)
    B, n, d = 3, 8, 15
    X = rng.standard_normal((B, n, d)) if per_run_design else rng.standard_normal((n, d))
    y = rng.standard_normal((B, n)) if per_run_design else rng.standard_normal(n)
    gams = np.array([0.05, 0.12, 0.08])
    u0 = np.full(d, 0.3)

    def gens():
        return [np.random.default_rng(s) for s in (11, 12, 13)]

    batch = gradient_descent(X, y, u0, np.zeros(d), gams, 1500, batch_size=2, rng=gens(),
                             tol=1e-10, record_every=50)
    for b in range(B):
        Xb, yb = (X[b], y[b]) if per_run_design else (X, y)
        one = gradient_descent(Xb, yb, u0, np.zeros(d), gams[b], 1500, batch_size=2,
                               rng=[gens()[b]], tol=1e-10, record_every=50)
        np.testing.assert_allclose(batch.final_beta[b], one.final_beta[0], rtol=1e-12,
                                   atol=1e-14)
        np.testing.assert_allclose(batch.gain[b], one.gain[0], rtol=1e-11, atol=1e-300)
        assert batch.steps[b] == one.steps[0]
    # the shared-stream behaviour of an int seed is different from per-run streams
    shared = gradient_descent(X, y, u0, np.zeros(d), gams, 1500, batch_size=2, rng=11,
                              tol=1e-10, record_every=50)
    assert not np.allclose(shared.final_beta[1], batch.final_beta[1], rtol=1e-6)


def test_per_run_generators_validated():
    X, y = _data(4, 6, 81)
    with pytest.raises(ValueError, match="rng"):
        gradient_descent(X, y, np.ones(6), np.zeros(6), [0.1, 0.2], 10, batch_size=2,
                         rng=[np.random.default_rng(0)])
    with pytest.raises(ValueError, match="rng"):
        gradient_descent(X, y, np.ones(6), np.zeros(6), [0.1, 0.2], 10, batch_size=2,
                         rng=[np.random.default_rng(0), 3])
    with pytest.raises(TypeError, match="rng"):
        gradient_descent(X, y, np.ones(6), np.zeros(6), 0.1, 10, batch_size=2, rng="seed")


def test_a_continued_run_accepts_a_collapsed_u_plus_v_and_keeps_it_exact():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((3, 6)), rng.standard_normal(3)
    u0 = np.full(6, 0.2)
    v0 = np.zeros(6)
    u0[2], v0[2] = 0.3, -0.3  # u + v = 0 exactly on coordinate 2
    with pytest.raises(ValueError, match="u0 \\+ v0"):
        gradient_descent(X, y, u0, v0, 0.05, 10)
    res = gradient_descent(X, y, u0, v0, 0.05, 10, continued=True)
    assert res.u[0, 2] == -res.v[0, 2] and res.u[0, 2] != 0.3
    assert np.all(np.isfinite(res.final_beta))
    with pytest.raises(ValueError, match="continued"):
        gradient_descent(X, y, u0, v0, 0.05, 10, continued="yes")


@pytest.mark.parametrize("batch_size", [None, 3])
def test_a_per_run_batch_is_its_runs_alone_bit_for_bit(batch_size):
    """Run b of a batch of per-run designs is run b alone (shape (1, n, d)) exactly, while the
    other runs converge, diverge or run on (stopped runs are skipped in the products)."""
    from dln_verify.numeric.kernels import available_backends

    rng = np.random.default_rng(90)
    B, n, d = 4, 6, 14
    Xs, ys = rng.standard_normal((B, n, d)), rng.standard_normal((B, n))
    gams = np.array([0.4, 0.2, 40.0, 0.01])  # converges early, later, diverges, runs on
    u0 = np.full(d, 0.3)

    def gens():
        return [np.random.default_rng(s) for s in (21, 22, 23, 24)]

    for backend in available_backends():
        batch = gradient_descent(Xs, ys, u0, np.zeros(d), gams, 600, tol=1e-6, record_every=7,
                                 batch_size=batch_size, rng=gens(), backend=backend)
        assert batch.converged[:2].all() and batch.diverged[2] and not batch.converged[3]
        assert batch.steps[0] < batch.steps[1]
        for b in range(B):
            one = gradient_descent(Xs[b:b + 1], ys[b:b + 1], u0, np.zeros(d), gams[b], 600,
                                   tol=1e-6, record_every=7, batch_size=batch_size,
                                   rng=[gens()[b]], backend=backend)
            for field in ("beta", "u", "v", "losses", "gain", "delta", "invariant_sign",
                          "steps", "converged", "diverged"):
                np.testing.assert_array_equal(getattr(batch, field)[b], getattr(one, field)[0],
                                              err_msg=f"{backend} run {b}: {field}")
            assert batch.message[b].split(":", 1)[1] == one.message[0].split(":", 1)[1]
