"""φ∞-max-margin solutions checked against independent scipy solvers (SLSQP / HiGHS LP)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog, minimize

from dln_verify.numeric.convex.max_margin import as_gauge, margin_ratio, max_margin
from dln_verify.numeric.instances import separable_classification


@pytest.fixture(scope="module")
def data():
    return separable_classification(8, 16, 0)


def _split_slsqp(Z, w_pos, w_neg):
    """min Σ w₊ b₊² + w₋ b₋² s.t. Z(b₊ − b₋) ≥ 1, b ≥ 0 (squared gauge, same minimiser)."""
    d = Z.shape[1]

    def f(v):
        return w_pos * v[:d] @ v[:d] + w_neg * v[d:] @ v[d:]

    cons = [{"type": "ineq", "fun": lambda v: Z @ (v[:d] - v[d:]) - 1.0,
             "jac": lambda v: np.hstack([Z, -Z])}]
    res = minimize(f, np.ones(2 * d), jac=lambda v: 2 * np.r_[w_pos * v[:d], w_neg * v[d:]],
                   constraints=cons, bounds=[(0, None)] * (2 * d), method="SLSQP",
                   options={"ftol": 1e-14, "maxiter": 2000})
    return res.x[:d] - res.x[d:]


def test_l2_matches_slsqp_svm(data):
    X, y = data
    sol = max_margin(X, y, "l2")
    ref = _split_slsqp(y[:, None] * X, 1.0, 1.0)
    assert sol.certificate.accepted
    np.testing.assert_allclose(sol.beta, ref, atol=1e-5)


def test_asymmetric_gauge_matches_slsqp(data):
    X, y = data
    from dln_verify.symbolic.horizon import horizon_function, parse_potential

    hf = horizon_function(*parse_potential("asymmetric"))
    sol = max_margin(X, y, hf)
    ref = _split_slsqp(y[:, None] * X, 1.0, 4.0)
    assert sol.certificate.accepted
    np.testing.assert_allclose(sol.beta, ref, atol=1e-5)
    pos, neg = np.maximum(sol.beta, 0), np.maximum(-sol.beta, 0)
    assert sol.value == pytest.approx(np.sqrt(pos @ pos + 4 * neg @ neg), rel=1e-9)


def _lp_l1(Z):
    n, d = Z.shape
    res = linprog(np.ones(2 * d), A_ub=-np.hstack([Z, -Z]), b_ub=-np.ones(n),
                  bounds=[(0, None)] * (2 * d), method="highs")
    return res.fun


def _lp_linf(Z):
    n, d = Z.shape
    c = np.r_[np.zeros(d), 1.0]
    A = np.vstack([np.hstack([-Z, np.zeros((n, 1))]),
                   np.hstack([np.eye(d), -np.ones((d, 1))]),
                   np.hstack([-np.eye(d), -np.ones((d, 1))])])
    b = np.r_[-np.ones(n), np.zeros(2 * d)]
    res = linprog(c, A_ub=A, b_ub=b, bounds=[(None, None)] * (d + 1), method="highs")
    return res.fun


def test_l1_and_linf_values_match_lp(data):
    X, y = data
    Z = y[:, None] * X
    assert max_margin(X, y, "l1").value == pytest.approx(_lp_l1(Z), rel=1e-7)
    assert max_margin(X, y, "linf").value == pytest.approx(_lp_linf(Z), rel=1e-7)


def test_lp_norms_order_and_margin(data):
    X, y = data
    sols = {p: max_margin(X, y, p) for p in (1, 2, 3, np.inf)}
    for sol in sols.values():
        assert sol.certificate.accepted
        assert sol.certificate.optimality_residual >= -1e-12
        assert sol.margin == pytest.approx(1.0 / sol.value, rel=1e-6)
        assert margin_ratio(X, y, sol.beta, sol.gauge) == pytest.approx(sol.margin, rel=1e-9)
    # d > n: the directions differ (docs/theory/classification.md §5 pitfall)
    assert np.linalg.norm(sols[2].direction - sols[np.inf].direction) > 1e-2


def test_not_separable_is_a_clear_error():
    X = np.array([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    y = np.array([1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="not linearly separable"):
        max_margin(X, y, "l2")


@pytest.mark.parametrize("bad", ["l7x", 0.5, "spam", object()])
def test_bad_gauge(bad, data):
    X, y = data
    with pytest.raises(ValueError, match="gauge"):
        max_margin(X, y, bad)


def test_bad_labels(data):
    X, _ = data
    with pytest.raises(ValueError, match="labels"):
        max_margin(X, np.arange(8.0), "l2")


def test_gauge_polar_duality():
    rng = np.random.default_rng(1)
    g = as_gauge(2.0)
    spec = type(g)(3.0, 1.0, 8.0)
    for _ in range(20):
        b, v = rng.standard_normal(5), rng.standard_normal(5)
        assert b @ v <= spec(b) * spec.polar(v) + 1e-12


def test_face_of_isolated_lp_minimiser_shrinks_like_eps(data):
    """Gaussian data: the ℓ1 and ℓ∞ minimisers are isolated, so the ε-face scales like ε."""
    from dln_verify.numeric.convex.max_margin import optimal_face_diameter

    X, y = data
    for g in ("l1", "linf"):
        f = optimal_face_diameter(X, y, g)
        assert f.unique and abs(f.shrink - 0.1) < 1e-3 and f.relative_diameter < 1e-3


def test_face_of_non_unique_minimiser_does_not_shrink(data):
    """A feature split in two equal copies leaves the ℓ1 split of a support coordinate free
    (any convex combination has the same ℓ1 norm); a null feature frees an ℓ∞ coordinate."""
    from dln_verify.numeric.convex.max_margin import optimal_face_diameter

    X, y = data
    j = int(np.argmax(np.abs(max_margin(X, y, "l1").beta)))
    Xd = np.hstack([X, X[:, j:j + 1]])
    f = optimal_face_diameter(Xd, y, "l1")
    assert not f.unique and f.shrink > 0.9 and f.relative_diameter > 0.1
    Xz = np.hstack([X, np.zeros((X.shape[0], 1))])
    assert not optimal_face_diameter(Xz, y, "linf").unique
    # strictly convex gauges need no LP
    assert optimal_face_diameter(Xd, y, "l2").method == "strictly convex"


def test_face_diameter_rejects_bad_eps(data):
    from dln_verify.numeric.convex.max_margin import optimal_face_diameter

    with pytest.raises(ValueError, match="eps"):
        optimal_face_diameter(*data, "l1", eps=0.0)


def test_separability_certificates_both_ways():
    """Separable data: a β in the unit ℓ∞ box with positive margins, recomputed here; XOR: a
    Gordan certificate λ ≥ 0, Σλ = 1 with Zᵀλ = 0 (checked here), so no β separates."""
    from dln_verify.numeric.convex.max_margin import separability

    X, y = separable_classification(8, 16, 0)
    cert = separability(X, y)
    Z = y[:, None] * X
    assert cert.separable and np.abs(cert.beta).max() <= 1.0
    assert np.min(Z @ cert.beta) == pytest.approx(cert.t_lower, rel=1e-12)
    assert 0 < cert.t_lower <= cert.t_upper * (1 + 1e-9)
    Xo = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    yo = np.array([1.0, 1.0, -1.0, -1.0])
    bad = separability(Xo, yo)
    assert not bad.separable and "Gordan" in bad.message
    assert np.all(bad.dual >= 0) and bad.dual.sum() == pytest.approx(1.0)
    assert np.abs((yo[:, None] * Xo).T @ bad.dual).sum() < 1e-12


def test_regime_gap_predicts_the_cosh_flows_asymptotic_constant():
    """The O(1) offsets ρ of β_t = β̄u + ρ (docs/theory/classification.md §1.8), computed from
    the multipliers alone, predict angle·log t of an independent simulation at log t = 2000
    (the next-order terms are O(log u/u) relative, u ≈ 1600: a few per cent)."""
    from dln_verify.numeric.convex.max_margin import regime_gap
    from dln_verify.numeric.mirror import angle, builtin_potential, mirror_flow

    X, y = separable_classification(8, 16, 0)
    sol = max_margin(X, y, "linf")
    r = regime_gap(sol, X, y, np.log(100.0))
    res = mirror_flow(X, y, builtin_potential("cosh"), [1000.0, 2000.0], rtol=1e-10,
                      atol=1e-10, method="LSODA")
    a = angle(res.beta[0], sol.beta[None, :])
    assert res.converged[0]
    assert a[-1] * 2000.0 == pytest.approx(r.asymptotic_constant, rel=0.03)
    assert 0 < r.horizon < 1000.0 and np.isfinite(r.margin_gap)
    with pytest.raises(ValueError, match="linf"):
        regime_gap(max_margin(X, y, "l2"), X, y, 1.0)
    with pytest.raises(ValueError, match="k"):
        regime_gap(sol, X, y, 0.0)


def test_regime_horizon_grows_as_a_gap_closes():
    """Moving a non-support sample towards the margin (gap → 0) pushes the horizon out like
    1/gap: the rule separates near-degenerate data from the rest by the data alone."""
    from dln_verify.numeric.convex.max_margin import regime_gap

    X, y = separable_classification(8, 16, 0)
    sol = max_margin(X, y, "linf")
    m = (y[:, None] * X) @ sol.beta
    k = int(np.argmax(m))  # the farthest non-support sample
    out = []
    for target in (1.5, 1.05, 1.01):
        Xs = X.copy()
        Xs[k] = X[k] * target / m[k]  # its margin under β̄ becomes `target`
        sol_s = max_margin(Xs, y, "linf")
        out.append(regime_gap(sol_s, Xs, y, np.log(100.0)).horizon)
    assert out[0] < out[1] < out[2]
