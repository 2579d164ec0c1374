"""Certificate.combine / as_dict, and the audit's reproductions of dishonest certificates.

Each audit finding is a regression test: residuals computed scale-safely (no 0.0 from an
underflowed norm, no NaN), extreme scales either solved in exactly rescaled units or refused
with a ValueError naming the parameter, solver failures reported as solver failures.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dln_verify.numeric.convex import (
    implicit_bias_solution,
    lasso,
    max_margin,
    min_l1_interpolator,
    min_l2_interpolator,
)
from dln_verify.numeric.convex.certificate import AS_DICT_KEYS, Certificate
from dln_verify.numeric.convex.implicit_bias import (
    bregman_gradient_difference,
    certify_implicit_bias,
    h_depth,
    h_depth_inverse,
)
from dln_verify.numeric.convex.max_margin import margin_ratio
from dln_verify.numeric.convex.norms import power_of_two_scale, safe_norm
from dln_verify.numeric.instances import gaussian_regression as _data
from dln_verify.numeric.instances import separable_classification


def _cert(solver="a", p=1e-12, o=1e-12, tol=1e-10, acc=True, notes=()):
    return Certificate(solver, "ok", p, o, "kkt-relative", tol, acc, notes)


# --- Certificate -----------------------------------------------------------------------------


def test_combine_worst_residuals_and_all_accepted():
    c = Certificate.combine([_cert("newton", 1e-13, 2e-12), _cert("cvxpy", 3e-11, 1e-14),
                             _cert("newton", 1e-15, 1e-15)])
    assert c.accepted and c.n_solves == 3
    assert c.primal_residual == 3e-11 and c.optimality_residual == 2e-12
    assert c.solver == "cvxpy,newton"
    bad = Certificate.combine([c, _cert(acc=False, p=1.0)], solver="claim")
    assert not bad.accepted and bad.n_solves == 4 and bad.solver == "claim"
    d = bad.as_dict()
    assert tuple(d) == AS_DICT_KEYS
    assert d["n_accepted"] == 3 and len(d["solves"]) == 4
    assert all(tuple(s) == AS_DICT_KEYS and s["solves"] == [] for s in d["solves"])


def test_single_certificate_layout_and_combine_of_one():
    c = _cert(notes=("x",))
    d = c.as_dict()
    assert tuple(d) == AS_DICT_KEYS and d["n_solves"] == 1 and d["solves"] == []
    assert Certificate.combine([c]).as_dict() == d


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nan_or_inf_residual_is_never_accepted(bad):
    c = Certificate("s", "ok", bad, 0.0, "k", 1e-8, True)
    assert not c.accepted and any("not accepted" in n for n in c.notes)
    assert Certificate.combine([_cert(), _cert(o=bad)]).accepted is False
    assert math.isnan(Certificate.combine([_cert(), _cert(p=math.nan)]).primal_residual)


def test_combine_rejects_bad_input():
    with pytest.raises(ValueError, match="certificates"):
        Certificate.combine([])
    with pytest.raises(TypeError, match="certificates"):
        Certificate.combine([_cert(), {"accepted": True}])


def test_safe_norm():
    v = np.array([3.0, 4.0])
    for s in (1e-300, 1e-160, 1.0, 1e160, 1e300):
        assert safe_norm(v * s) == pytest.approx(5.0 * s, rel=1e-15)
        assert safe_norm(v * s, ord=3) == pytest.approx(91.0 ** (1 / 3) * s, rel=1e-14)
    assert safe_norm(np.zeros(3)) == 0.0 and math.isnan(safe_norm([1.0, math.nan]))
    assert power_of_two_scale([0.75, -3.0]) == 2
    with pytest.raises(ValueError, match="ord"):
        safe_norm(v, ord=0.5)


# --- implicit_bias_solution at extreme scales -------------------------------------------------


def test_tiny_y_is_not_certified_by_an_underflowed_norm():
    """Audit: y·1e-160, α = 1e3 was accepted with primal_residual = 0.0 (norm underflow)."""
    X, y = _data(10, 30, 1)
    sol = implicit_bias_solution(X, y * 1e-160, 1e3)
    # the true residual, computed in units where it cannot underflow
    true = np.linalg.norm(X @ (sol.beta * 1e160) - y) / np.linalg.norm(y)
    assert sol.certificate.primal_residual == pytest.approx(true, rel=1e-3, abs=1e-15)
    assert sol.certificate.accepted and true <= 1e-10
    # scale covariance: effective α ≈ 1e83 (kernel regime), so β·1e160 is the min-ℓ2
    # interpolator up to O(α_eff^-4)
    ref = min_l2_interpolator(X, y)
    np.testing.assert_allclose(sol.beta * 1e160, ref.beta, rtol=1e-9)


@pytest.mark.parametrize("scale", [1e-300, 1e-160, 1e160, 1e300])
@pytest.mark.parametrize(("depth", "alpha"), [(2, 1e-3), (2, 1.0), (2, 1e3), (3, 1.0)])
def test_extreme_y_gives_no_nan_certificate(scale, depth, alpha):
    """Audit: y·1e±300 gave certificates with NaN residuals. Now: solved or refused."""
    X, y = _data(10, 30, 1)
    try:
        sol = implicit_bias_solution(X, y * scale, alpha, depth=depth)
    except ValueError as exc:
        assert "alpha" in str(exc) or "y" in str(exc)
        return
    c = sol.certificate
    assert math.isfinite(c.primal_residual) and math.isfinite(c.optimality_residual)
    assert c.accepted, c
    again = certify_implicit_bias(X, y * scale, sol.beta, alpha, depth=depth)
    assert again.accepted and math.isfinite(again.primal_residual)


def test_rescaled_solution_matches_covariance_depth3():
    """α^D → α^D/s with y → y/s: β → β/s (depth-D scale covariance)."""
    X, y = _data(10, 30, 2)
    s = 2.0**-600
    ref = implicit_bias_solution(X, y, 0.7, depth=3)
    small = implicit_bias_solution(X, y * s, 0.7 * 2.0**-200, depth=3)
    assert small.certificate.accepted
    np.testing.assert_allclose(small.beta / s, ref.beta, rtol=1e-9)


def test_out_of_range_effective_scale_is_refused():
    X, y = _data(10, 30, 1)
    with pytest.raises(ValueError, match="alpha"):
        implicit_bias_solution(X, y * 1e160, 1e-30)  # α·√(|X|/|y|) ≈ 1e-110


def test_certify_rejects_wrong_answer_at_tiny_scale():
    X, y = _data(10, 30, 1)
    sol = implicit_bias_solution(X, y * 1e-160, 1.0)
    cert = certify_implicit_bias(X, y * 1e-160, sol.beta * (1 + 1e-6), 1.0)
    assert not cert.accepted and cert.primal_residual == pytest.approx(1e-6, rel=1e-2)


# --- max_margin ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sep():
    return separable_classification(8, 16, 0)


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_max_margin_normalises_its_input(sep, scale):
    """Audit: X·1e-300 accepted with value inf; X·1e300 raised ZeroDivisionError."""
    X, y = sep
    ref = max_margin(X, y)
    sol = max_margin(X * scale, y)
    assert sol.certificate.accepted
    assert math.isfinite(sol.value) and sol.value == pytest.approx(ref.value / scale, rel=1e-6)
    assert sol.margin == pytest.approx(ref.margin * scale, rel=1e-6)
    np.testing.assert_allclose(sol.direction, ref.direction, atol=1e-6)


def test_max_margin_huge_p_is_a_named_value_error(sep):
    """Audit: max_margin(X, y, 1e6) raised ZeroDivisionError."""
    X, y = sep
    for p in (1e6, 1000.0):
        with pytest.raises(ValueError, match="gauge exponent p"):
            max_margin(X, y, p)


@pytest.mark.parametrize("gauge", ["l1", "l2", "linf", 3])
def test_column_scaling_is_not_blamed_on_the_gauge(sep, gauge):
    """Audit: one column ×1e8 made ℓ1/ℓ∞/ℓ3 raise 'the gauge forbids the signs'."""
    X, y = sep
    X2 = X.copy()
    X2[:, 0] *= 1e8
    sol = max_margin(X2, y, gauge)  # no ValueError: the norm forbids no sign
    c = sol.certificate
    assert c.status and np.all(np.isfinite(sol.beta))
    if c.accepted:
        assert c.primal_residual <= c.tolerance and c.optimality_residual <= c.tolerance
    assert float(np.min((X2 @ sol.beta) * y)) > 0  # a separating direction either way


def test_solver_failure_is_reported_not_raised(sep, monkeypatch):
    import importlib

    mm = importlib.import_module("dln_verify.numeric.convex.max_margin")

    X, y = sep
    monkeypatch.setattr(mm, "_solve_conic",
                        lambda Zs, g, w: (None, None, "infeasible", ["simulated failure"]))
    sol = mm.max_margin(X, y, "l1", method="cvxpy")  # the conic path (the default tries its
    # own numpy solver first and would not reach the simulated failure)
    assert not sol.certificate.accepted
    assert sol.certificate.status == "infeasible"
    assert any("solver failure" in n for n in sol.certificate.notes)


def test_forbidden_signs_still_blame_the_gauge(sep):
    """A true input problem: every separating β is negative, the gauge forbids β < 0."""
    from dln_verify.numeric.convex.max_margin import GaugeSpec

    X, _ = sep
    with pytest.raises(ValueError, match="gauge forbids"):
        max_margin(-np.abs(X), np.ones(8), GaugeSpec(2.0, 1.0, np.inf))


@pytest.mark.parametrize(("kwargs", "name"), [({"tolerance": 0.0}, "tolerance"),
                                               ({"tolerance": 2.0}, "tolerance"),
                                               ({"gauge": 0.5}, "gauge")])
def test_max_margin_bad_arguments(sep, kwargs, name):
    X, y = sep
    with pytest.raises(ValueError, match=name):
        max_margin(X, y, **kwargs)
    with pytest.raises(ValueError, match="labels"):
        margin_ratio(X, np.zeros(8), np.ones(16), "l2")


# --- validation of the other public functions ---------------------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [(lambda: h_depth(0.6, 4), "s"), (lambda: h_depth(np.nan, 3), "s"),
     (lambda: h_depth_inverse(np.inf, 3), "z"),
     (lambda: bregman_gradient_difference([np.nan], None, 0.0), "beta"),
     (lambda: bregman_gradient_difference([1.0, 2.0], [1.0, 2.0, 3.0], 0.0), "reference"),
     (lambda: implicit_bias_solution(*_data(5, 12, 0), 0.5, method="bogus"), "method"),
     (lambda: implicit_bias_solution(*_data(5, 12, 0), 0.5, tol=-1.0), "tol"),
     (lambda: min_l1_interpolator(*_data(5, 12, 0), tol=0.0), "tol"),
     (lambda: min_l2_interpolator(*_data(5, 12, 0), tol=np.nan), "tol"),
     (lambda: lasso(*_data(5, 12, 0), -1.0), "lam"),
     (lambda: lasso(*_data(5, 12, 0), 0.1, max_iter=0), "max_iter")],
)
def test_public_functions_name_the_bad_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
