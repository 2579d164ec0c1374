"""Tests of the implicit-bias prediction (issue 2).

Independent cross-checks: dual Newton vs cvxpy/Clarabel; the prediction vs long gradient-flow
simulations (the n-dimensional dual flow and the raw (u, v) / (w₊, w₋) flows, which do not use the
mirror identity); the certificate against perturbed answers; limits vs the ℓ2 reference.
Convention: β = u⊙v, u₀ = √2α, v₀ = 0, L = ‖Xβ−y‖²/(2n) (docs/theory/regression.md §0).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dln_verify.numeric.convex.implicit_bias as ib
from dln_verify.numeric.convex import (
    implicit_bias_solution,
    min_l1_interpolator,
    min_l2_interpolator,
)
from dln_verify.numeric.convex.implicit_bias import (
    certify_implicit_bias,
    h_depth,
    h_depth_inverse,
    hyperbolic_entropy,
)
from dln_verify.numeric.flow import gradient_flow_depth, gradient_flow_dual, gradient_flow_uv
from dln_verify.numeric.instances import gaussian_regression as _data  # same draws: X, then y
from dln_verify.numeric.parametrisations import unbalanced_prediction_params, uv_init


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("alpha", [1e-3, 0.1, 1.0])
def test_newton_agrees_with_cvxpy(alpha):
    X, y = _data(20, 50, 0)
    newton = implicit_bias_solution(X, y, alpha, method="newton")
    cvx = implicit_bias_solution(X, y, alpha, method="cvxpy", tol=1e-6)
    assert newton.certificate.accepted and newton.method == "newton"
    assert cvx.method == "cvxpy"
    assert _rel(cvx.beta, newton.beta) <= 1e-6


def test_newton_agrees_with_cvxpy_with_reference():
    X, y = _data(20, 50, 1)
    ref = 0.1 * np.random.default_rng(5).standard_normal(50)
    a = implicit_bias_solution(X, y, 0.3, reference=ref, method="newton")
    b = implicit_bias_solution(X, y, 0.3, reference=ref, method="cvxpy", tol=1e-6)
    assert _rel(b.beta, a.beta) <= 1e-6


@given(
    n=st.integers(20, 100),
    extra=st.integers(30, 200),
    log_alpha=st.floats(np.log(1e-3), np.log(10.0)),
    seed=st.integers(0, 2**31 - 1),
)
def test_prediction_matches_dual_gradient_flow(n, extra, log_alpha, seed):
    """argmin ψ_α vs a long gradient flow (n-dim dual ODE), ≤ 1e-8 relative
    (docs/theory/regression.md §1.3)."""
    d = n + extra
    X, y = _data(n, d, seed)
    X /= np.sqrt(n)  # keeps the horizon moderate
    alpha = float(np.exp(log_alpha))
    sol = implicit_bias_solution(X, y, alpha)
    assert sol.certificate.accepted, sol.certificate
    flow = gradient_flow_dual(X, y, alpha, t_max=1e9)
    assert flow.converged, flow.message
    assert _rel(flow.final_beta, sol.beta) <= 1e-8


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [1e-3, 0.1, 10.0])
def test_prediction_matches_dual_flow_large(alpha):
    X, y = _data(100, 1000, 7)
    sol = implicit_bias_solution(X, y, alpha)
    flow = gradient_flow_dual(X, y, alpha, t_max=1e9)
    assert flow.converged, flow.message
    assert _rel(flow.final_beta, sol.beta) <= 1e-8


@pytest.mark.parametrize("alpha", [0.1, 1.0, 10.0])
def test_prediction_matches_raw_uv_flow(alpha):
    """The raw (u, v) flow (no mirror identity used) lands on argmin ψ_α (Woodworth et al. 2020)."""
    X, y = _data(20, 50, 2)
    u0, v0 = uv_init(alpha, 50)
    flow = gradient_flow_uv(X, y, u0, v0, t_max=1e5)
    assert flow.converged, flow.message
    sol = implicit_bias_solution(X, y, alpha)
    assert _rel(flow.final_beta, sol.beta) <= 1e-8


def test_unbalanced_init_needs_the_reference_point():
    """u₀ = a_u, v₀ = a_v → argmin D_{ψ_α̃}(·, β₀), α̃² = (a_u²−a_v²)/2, β₀ = a_u a_v
    (docs/theory/regression.md §1.1)."""
    X, y = _data(20, 50, 3)
    rng = np.random.default_rng(11)
    a_u = rng.uniform(0.5, 1.0, 50)
    a_v = rng.uniform(-0.4, 0.4, 50)
    alpha_t, beta0 = unbalanced_prediction_params(a_u, a_v)
    flow = gradient_flow_uv(X, y, a_u, a_v, t_max=1e5)
    assert flow.converged, flow.message
    with_ref = implicit_bias_solution(X, y, alpha_t, reference=beta0)
    without = implicit_bias_solution(X, y, alpha_t)
    assert _rel(flow.final_beta, with_ref.beta) <= 1e-8
    assert _rel(flow.final_beta, without.beta) >= 1e-2


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_depth3_matches_raw_flow(alpha):
    """Depth 3: argmin α³Σq₃(β/α³) vs the raw w± flow (Woodworth et al. 2020;
    docs/theory/regression.md §1.2)."""
    X, y = _data(20, 50, 4)
    sol = implicit_bias_solution(X, y, alpha, depth=3)
    assert sol.certificate.accepted, sol.certificate
    flow = gradient_flow_depth(X, y, alpha, 3, t_max=1e5)
    assert flow.converged, flow.message
    assert _rel(flow.final_beta, sol.beta) <= 1e-8
    # the depth-2 potential at the same scale is a different prediction
    wrong = implicit_bias_solution(X, y, np.sqrt(2.0) * alpha)
    assert _rel(flow.final_beta, wrong.beta) >= 1e-4


@pytest.mark.slow
def test_depth3_small_alpha_matches_raw_flow():
    X, y = _data(20, 50, 4)
    sol = implicit_bias_solution(X, y, 0.05, depth=3)
    flow = gradient_flow_depth(X, y, 0.05, 3, t_max=1e5)
    assert flow.converged
    assert _rel(flow.final_beta, sol.beta) <= 1e-8


def test_depth2_flow_of_depth_module_is_woodworth_q():
    """β = w₊² − w₋², w±(0) = α_W is argmin ψ_α with α = √2 α_W (docs/theory/regression.md §0.3)."""
    X, y = _data(20, 50, 5)
    flow = gradient_flow_depth(X, y, 0.3, 2, t_max=1e5)
    sol = implicit_bias_solution(X, y, np.sqrt(2.0) * 0.3)
    assert flow.converged
    assert _rel(flow.final_beta, sol.beta) <= 1e-8
    assert _rel(flow.final_beta, implicit_bias_solution(X, y, 0.3).beta) >= 1e-3


@pytest.mark.parametrize("alpha", [1e-30, 1e-3, 0.1, 1.0, 10.0, 1e3])
def test_certificate_flags_perturbed_answer(alpha):
    X, y = _data(20, 50, 6)
    sol = implicit_bias_solution(X, y, alpha)
    assert sol.certificate.accepted
    again = certify_implicit_bias(X, y, sol.beta, alpha)
    assert again.accepted
    P = np.eye(50) - np.linalg.pinv(X) @ X
    noise = 1e-6 * np.random.default_rng(0).standard_normal(50)
    bad = sol.beta + P @ noise
    cert = certify_implicit_bias(X, y, bad, alpha)
    assert cert.primal_residual <= 1e-12  # still feasible...
    assert not cert.accepted  # ...but not optimal


def test_certificate_flags_perturbed_depth3_and_reference():
    X, y = _data(20, 50, 6)
    P = np.eye(50) - np.linalg.pinv(X) @ X
    noise = 1e-6 * np.random.default_rng(1).standard_normal(50)
    sol = implicit_bias_solution(X, y, 0.5, depth=3)
    assert not certify_implicit_bias(X, y, sol.beta + P @ noise, 0.5, depth=3).accepted
    ref = 0.05 * np.random.default_rng(2).standard_normal(50)
    sol = implicit_bias_solution(X, y, 0.2, reference=ref)
    assert sol.certificate.accepted
    assert not certify_implicit_bias(X, y, sol.beta + P @ noise, 0.2, reference=ref).accepted


@pytest.mark.parametrize("alpha", [1e-30, 1e-12, 1e3])
def test_extreme_alpha(alpha):
    X, y = _data(30, 80, 8)
    sol = implicit_bias_solution(X, y, alpha)
    assert sol.certificate.accepted, sol.certificate
    assert np.all(np.isfinite(sol.beta))


def test_tiny_alpha_close_to_l1_and_huge_alpha_close_to_l2():
    """α → 0: ℓ1 norm excess small; α → ∞: distance to min-ℓ2 = O(α⁻⁴)
    (docs/theory/regression.md §1.1)."""
    X, y = _data(30, 80, 9)
    l1 = min_l1_interpolator(X, y)
    l2 = min_l2_interpolator(X, y)
    excess = [np.abs(implicit_bias_solution(X, y, a).beta).sum() / l1.objective - 1
              for a in (1e-2, 1e-8, 1e-30)]
    assert excess[0] > excess[1] > excess[2] >= -1e-12
    assert excess[2] < 1e-3
    dist = [_rel(implicit_bias_solution(X, y, a).beta, l2.beta) for a in (3.0, 6.0, 12.0)]
    slope = np.polyfit(np.log([3.0, 6.0, 12.0]), np.log(dist), 1)[0]
    assert -4.3 <= slope <= -3.7


def test_vector_alpha_matches_dual_flow():
    X, y = _data(20, 60, 10)
    alpha = np.random.default_rng(3).uniform(0.05, 2.0, 60)
    sol = implicit_bias_solution(X, y, alpha)
    flow = gradient_flow_dual(X, y, alpha, t_max=1e7)
    assert sol.certificate.accepted and flow.converged
    assert _rel(flow.final_beta, sol.beta) <= 1e-8


def test_auto_falls_back_to_cvxpy_and_says_so(monkeypatch):
    X, y = _data(20, 50, 12)

    def broken(X, y, log_alpha, reference, tol, **kwargs):
        return np.zeros(X.shape[1]), np.zeros(X.shape[0]), 0, []

    monkeypatch.setattr(ib, "_newton_solve_depth2", broken)
    sol = implicit_bias_solution(X, y, 0.5, tol=1e-6)
    assert sol.method == "cvxpy"
    assert any("fallback" in note for note in sol.certificate.notes)
    # and if the tolerance cannot be met by either method, the answer says so
    sol = implicit_bias_solution(X, y, 0.5, tol=1e-300)
    assert not sol.certificate.accepted
    assert any("neither" in note for note in sol.certificate.notes)


def test_solution_is_frozen():
    X, y = _data(10, 20, 13)
    sol = implicit_bias_solution(X, y, 1.0)
    with pytest.raises(AttributeError):
        sol.beta = None
    assert replace(sol, method="x").method == "x"


def test_hyperbolic_entropy_matches_direct_formula():
    rng = np.random.default_rng(14)
    beta = rng.standard_normal(30)
    alpha = rng.uniform(0.2, 2.0, 30)
    a = alpha**2
    direct = 0.5 * np.sum(beta * np.arcsinh(beta / a) - np.sqrt(beta**2 + a**2) + a)
    assert abs(hyperbolic_entropy(beta, alpha) - direct) <= 1e-12 * abs(direct)


def test_h_depth_inverse_roundtrip():
    s = np.array([-0.999, -0.5, -1e-9, 0.0, 1e-6, 0.3, 0.9999])
    for depth in (3, 4, 5):
        c = depth - 2.0
        ss = s / c
        back = h_depth_inverse(h_depth(ss, depth), depth)
        np.testing.assert_allclose(back, ss, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("alpha", [1e-30, 1e-12])
def test_continuation_in_log_alpha_fallback(monkeypatch, alpha):
    """Without the step cap, direct Newton fails at tiny α; continuation in log α rescues it."""
    X, y = _data(20, 50, 15)
    reference = implicit_bias_solution(X, y, alpha)
    monkeypatch.setattr(ib, "_MAX_DZ", 1e300)
    sol = implicit_bias_solution(X, y, alpha, method="newton")
    assert sol.certificate.accepted
    assert any("continuation" in note for note in sol.certificate.notes)
    assert _rel(sol.beta, reference.beta) <= 1e-10


def test_vector_alpha_spanning_thirty_decades():
    X, y = _data(20, 50, 16)
    alpha = np.exp(np.random.default_rng(4).uniform(np.log(1e-30), 0.0, 50))
    sol = implicit_bias_solution(X, y, alpha)
    assert sol.certificate.accepted, sol.certificate
    flow = gradient_flow_dual(X, y, alpha, t_max=1e12)
    assert flow.converged, flow.message
    assert _rel(flow.final_beta, sol.beta) <= 1e-8


@given(
    n=st.integers(5, 15),
    extra=st.integers(5, 30),
    log_alpha=st.floats(np.log(0.05), np.log(10.0)),
    seed=st.integers(0, 2**31 - 1),
)
def test_prediction_matches_raw_uv_flow_property(n, extra, log_alpha, seed):
    """Small random instances: raw (u, v) DOP853 flow vs argmin ψ_α, ≤ 1e-8 relative."""
    X, y = _data(n, n + extra, seed)
    alpha = float(np.exp(log_alpha))
    u0, v0 = uv_init(alpha, n + extra)
    flow = gradient_flow_uv(X, y, u0, v0, t_max=1e6)
    assert flow.converged, flow.message
    sol = implicit_bias_solution(X, y, alpha)
    assert _rel(flow.final_beta, sol.beta) <= 1e-8


@pytest.mark.parametrize(("depth", "alpha"), [(4, 0.2), (5, 0.3)])
def test_deeper_networks_match_raw_flow(depth, alpha):
    X, y = _data(20, 50, 5)
    sol = implicit_bias_solution(X, y, alpha, depth=depth)
    assert sol.certificate.accepted
    flow = gradient_flow_depth(X, y, alpha, depth, t_max=1e6)
    assert flow.converged, flow.message
    assert _rel(flow.final_beta, sol.beta) <= 1e-8


@pytest.mark.parametrize("depth", [3, 4, 5])
def test_small_alpha_deep_certified(depth):
    """Tiny α^D: the primal correction keeps the certificate accepted (α = 1e-4)."""
    X, y = _data(20, 50, 1)
    sol = implicit_bias_solution(X, y, 1e-4, depth=depth)
    assert sol.certificate.accepted, sol.certificate


@pytest.mark.slow
@given(
    n=st.integers(20, 100),
    d=st.integers(300, 1000),
    log_alpha=st.floats(np.log(1e-3), np.log(10.0)),
    seed=st.integers(0, 2**31 - 1),
)
def test_prediction_matches_dual_gradient_flow_large(n, d, log_alpha, seed):
    """Same as the CI property, with d up to 1000 (slow)."""
    X, y = _data(n, d, seed)
    X /= np.sqrt(n)
    alpha = float(np.exp(log_alpha))
    sol = implicit_bias_solution(X, y, alpha)
    assert sol.certificate.accepted, sol.certificate
    flow = gradient_flow_dual(X, y, alpha, t_max=1e9)
    assert flow.converged, flow.message
    assert _rel(flow.final_beta, sol.beta) <= 1e-8


# --- review fixes: residuals relative to ‖y‖ ---------------------------------------------------


@pytest.mark.parametrize("scale", [1e-9, 1e-3])
def test_certificate_is_relative_to_y(scale):
    """β = 0 must not be certified for a small y ≠ 0 (residuals relative to ‖y‖)."""
    X, y = _data(5, 12, 0)
    cert = ib.certify_implicit_bias(X, scale * y, np.zeros(12), 1.0)
    assert not cert.accepted
    assert cert.primal_residual == pytest.approx(1.0)
    # the KKT residual of θ = 0 is 0 (0 ∈ range Xᵀ): the primal residual decides
    assert cert.optimality_residual == 0.0


def test_solution_scales_with_y():
    """``argmin_{Xβ=sy} ψ_{α}`` with ``α² → s α²`` is ``s β*`` (ψ is homogeneous in (β, α²))."""
    X, y = _data(5, 12, 3)
    s = 1e-8
    sol = implicit_bias_solution(X, y, 0.1)
    small = implicit_bias_solution(X, s * y, 0.1 * np.sqrt(s))
    assert small.certificate.accepted
    assert _rel(small.beta / s, sol.beta) < 1e-8


@pytest.mark.parametrize(
    ("alpha", "depth"),
    [(1e300, 2), (1e4, 2), (1e-31, 2), (1e-30, 3), (1e7, 3), (1e-6, 4)],
)
def test_alpha_outside_supported_range_raises(alpha, depth):
    X, y = _data(5, 12, 0)
    with pytest.raises(ValueError, match="alpha"):
        implicit_bias_solution(X, y, alpha, depth=depth)
    vec = np.full(12, 0.5)
    vec[3] = alpha  # vector α: every entry is checked
    with pytest.raises(ValueError, match="alpha"):
        implicit_bias_solution(X, y, vec, depth=depth)


@pytest.mark.parametrize(("alpha", "depth"), [(1e-30, 2), (0.999e3, 2), (1.001e-20 ** (1 / 3), 3),
                                              (0.999e16 ** (1 / 3), 3), (1e-5, 4),
                                              (1.001e-20 ** 0.2, 5), (0.999e16 ** 0.25, 4)])
def test_alpha_at_edges_of_supported_range_certified(alpha, depth):
    for seed in range(3):
        X, y = _data(5, 12, seed)
        sol = implicit_bias_solution(X, y, alpha, depth=depth)
        assert sol.certificate.accepted, (seed, sol.certificate)


@pytest.mark.parametrize("depth", [2, 1, 2.5, True])
def test_depth_functions_need_depth_at_least_3(depth):
    with pytest.raises(ValueError, match="depth"):
        ib.h_depth(0.1, depth)
    with pytest.raises(ValueError, match="depth"):
        ib.h_depth_inverse(0.1, depth)


@pytest.mark.parametrize("alpha", [-1.0, 0.0, np.nan, [0.5, -0.5, 0.5]])
def test_hyperbolic_entropy_rejects_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        ib.hyperbolic_entropy(np.array([0.1, -0.2, 0.3]), alpha)


def test_hyperbolic_entropy_value():
    """ψ_α at one point against the formula of docs/theory/regression.md §0 (direct evaluation)."""
    b, a = np.array([0.3, -1.2]), 0.7
    direct = 0.5 * np.sum(b * np.arcsinh(b / a**2) - np.sqrt(b**2 + a**4) + a**2)
    assert ib.hyperbolic_entropy(b, a) == pytest.approx(direct, rel=1e-13)
    with pytest.raises(ValueError, match="beta"):
        ib.hyperbolic_entropy([np.inf], a)


@pytest.mark.parametrize("depth", [3, 4, 5])
def test_depth_numerics_agree_with_the_symbolic_layer(depth):
    """numeric's solver-side h_D and h_D⁻¹ (log-scaled, for the Newton dual) and symbolic's
    lambdified ones are two implementations of the same functions: they must agree."""
    from dln_verify.symbolic.potentials import potential_functions

    f = potential_functions(depth)
    s = np.linspace(-0.999, 0.999, 41) / (depth - 2)
    np.testing.assert_allclose(h_depth(s, depth), f.h(s), rtol=1e-12, atol=1e-15)
    z = np.array([-1e6, -30.0, -0.5, 1e-3, 2.0, 1e4])
    np.testing.assert_allclose(h_depth_inverse(z, depth), f.h_inverse(z), rtol=1e-12)


# --- per-dataset factorisation, rank-k Hessian, warm starts -----------------------------------


def _qr_range_distance(X, theta):
    """Independent reference: relative distance from range(Xᵀ) through a QR of Xᵀ."""
    Q, _ = np.linalg.qr(X.T)
    r = theta / np.linalg.norm(theta)
    r = r - Q @ (Q.T @ r)
    r = r - Q @ (Q.T @ r)
    return float(np.linalg.norm(r))


@pytest.mark.parametrize("cond", [1.0, 1e2, 1e6, 1e12])
def test_range_distance_matches_qr_at_any_conditioning(cond):
    rng = np.random.default_rng(40)
    n, d = 15, 60
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((d, n)))
    X = (U * np.logspace(0, -np.log10(cond), n)) @ V.T
    inside = X.T @ rng.standard_normal(n)
    off = rng.standard_normal(d)
    off -= V @ (V.T @ off)  # exactly orthogonal to range(Xᵀ) = span(V)
    for eps in (0.0, 1e-13, 1e-6, 1.0):
        theta = inside / np.linalg.norm(inside) + eps * off / np.linalg.norm(off)
        got = ib._range_distance(X, theta)
        want = _qr_range_distance(X, theta)
        expected = eps / np.hypot(1.0, eps)
        assert abs(got - expected) <= 1e-14 + 1e-9 * expected
        assert abs(got - want) <= 1e-14 + 1e-9 * expected


def test_gram_path_used_when_well_conditioned_and_qr_otherwise():
    rng = np.random.default_rng(41)
    X = rng.standard_normal((10, 40))
    assert ib._compute_factor(X).Q is None  # Gaussian: Cholesky of the Gram matrix
    bad = X.copy()
    bad[-1] = bad[0] + 1e-9 * rng.standard_normal(40)  # cond ≈ 1e9
    assert ib._compute_factor(bad).Q is not None
    deficient = X.copy()
    deficient[-1] = deficient[0]
    with pytest.raises(ValueError, match="full row rank"):
        implicit_bias_solution(deficient, rng.standard_normal(10), 1.0)


def test_factor_reused_for_the_same_array_and_refreshed_when_it_changes():
    X, y = _data(12, 40, 42)
    before = dict(ib._factor_stats)
    a = implicit_bias_solution(X, y, 0.5)
    implicit_bias_solution(X, y, 2.0)
    assert ib._factor_stats["reused"] >= before["reused"] + 1
    X[0, 0] += 1.0  # in place: the fingerprint changes, so the factor is recomputed
    computed = ib._factor_stats["computed"]
    b = implicit_bias_solution(X, y, 0.5)
    assert ib._factor_stats["computed"] == computed + 1
    assert b.certificate.accepted and _rel(a.beta, b.beta) > 1e-6
    assert np.linalg.norm(X @ b.beta - y) <= 1e-9 * np.linalg.norm(y)


def test_rank_k_hessian_equals_weighted_product():
    rng = np.random.default_rng(43)
    X = rng.standard_normal((7, 30))
    w = rng.uniform(0.1, 3.0, 30)
    H = ib._Hessian(X)(w)
    np.testing.assert_allclose(H, (X * w) @ X.T, rtol=1e-13, atol=1e-13)
    const = ib._Hessian(X, X @ X.T)
    np.testing.assert_allclose(const(np.full(30, 2.5)), 2.5 * (X @ X.T), rtol=1e-15)
    assert const.products == 0


@pytest.mark.parametrize("depth", [2, 3])
def test_warm_start_gives_the_same_answer_in_fewer_iterations(depth):
    X, y = _data(20, 80, 44)
    alphas = (1e-3, 1.1e-3) if depth == 2 else (0.7, 0.71)  # a neighbouring α in a sweep
    prev = implicit_bias_solution(X, y, alphas[0], depth=depth)
    cold = implicit_bias_solution(X, y, alphas[1], depth=depth)
    warm = implicit_bias_solution(X, y, alphas[1], depth=depth, warm_start=prev.nu)
    assert warm.certificate.accepted
    assert _rel(warm.beta, cold.beta) <= 1e-12
    assert warm.iterations < cold.iterations
    # started at its own answer, Newton has nothing to do
    again = implicit_bias_solution(X, y, alphas[1], depth=depth, warm_start=cold.nu)
    assert again.iterations == 0 and _rel(again.beta, cold.beta) <= 1e-14
    # a useless warm start (far away) still gives the certified answer
    far = implicit_bias_solution(X, y, alphas[1], depth=depth, warm_start=1e3 * prev.nu)
    assert far.certificate.accepted and _rel(far.beta, cold.beta) <= 1e-12


def test_warm_start_is_validated():
    X, y = _data(5, 12, 45)
    with pytest.raises(ValueError, match="warm_start"):
        implicit_bias_solution(X, y, 1.0, warm_start=np.zeros(4))
    with pytest.raises(ValueError, match="warm_start"):
        implicit_bias_solution(X, y, 1.0, warm_start=np.full(5, np.nan))


def test_extreme_scale_data_certified_without_gram_overflow():
    X, y = _data(10, 30, 46)
    big = implicit_bias_solution(X * 2.0**600, y, 1.0 * 2.0**-300)
    ref = implicit_bias_solution(X, y, 1.0)
    assert big.certificate.accepted
    assert _rel(big.beta * 2.0**600, ref.beta) <= 1e-10
