"""Bad input to the issue-2 numerics raises ValueError naming the parameter (numeric.validation)."""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric.convex import (
    implicit_bias_solution,
    lasso,
    min_l1_interpolator,
    min_l2_interpolator,
)
from dln_verify.numeric.convex.implicit_bias import certify_implicit_bias
from dln_verify.numeric.flow import gradient_flow_depth, gradient_flow_dual, gradient_flow_uv
from dln_verify.numeric.gd import gradient_descent
from dln_verify.numeric.parametrisations import (
    effective_scale_and_reference,
    unbalanced_prediction_params,
    uv_init,
)

rng = np.random.default_rng(0)
X = rng.standard_normal((5, 12))
y = rng.standard_normal(5)
X_nan = X.copy()
X_nan[1, 2] = np.nan
y_inf = y.copy()
y_inf[0] = np.inf
u0, v0 = uv_init(0.1, 12)

SOLVERS = {
    "implicit_bias_solution": lambda X, y, a: implicit_bias_solution(X, y, a),
    "certify": lambda X, y, a: certify_implicit_bias(X, y, np.zeros(X.shape[1]), a),
    "flow_dual": lambda X, y, a: gradient_flow_dual(X, y, a, t_max=1.0),
    "flow_depth": lambda X, y, a: gradient_flow_depth(X, y, a, 3, t_max=1.0),
}


@pytest.mark.parametrize("name", sorted(SOLVERS))
@pytest.mark.parametrize(
    ("args", "param"),
    [
        ((X_nan, y, 0.1), "X"),
        ((X, y_inf, 0.1), "y"),
        ((X, y, 0.0), "alpha"),
        ((X, y, -1.0), "alpha"),
        ((X, y, float("nan")), "alpha"),
        ((X, y[:4], 0.1), "y"),
        ((X, y, np.ones(11)), "alpha"),
    ],
)
def test_bad_input_names_the_parameter(name, args, param):
    with pytest.raises(ValueError, match=param):
        SOLVERS[name](*args)


def test_underdetermined_required():
    Xt = rng.standard_normal((12, 5))
    for fn in (implicit_bias_solution, certify_implicit_bias):
        with pytest.raises(ValueError, match="X"):
            if fn is certify_implicit_bias:
                fn(Xt, rng.standard_normal(12), np.zeros(5), 1.0)
            else:
                fn(Xt, rng.standard_normal(12), 1.0)
    with pytest.raises(ValueError, match="X"):
        min_l1_interpolator(Xt, rng.standard_normal(12))
    with pytest.raises(ValueError, match="rank"):
        implicit_bias_solution(np.vstack([X[:4], X[:1]]), y, 1.0)


def test_other_arguments():
    with pytest.raises(ValueError, match="depth"):
        implicit_bias_solution(X, y, 0.1, depth=1)
    with pytest.raises(ValueError, match="reference"):
        implicit_bias_solution(X, y, 0.1, reference=np.zeros(12), depth=3)
    with pytest.raises(ValueError, match="reference"):
        implicit_bias_solution(X, y, 0.1, reference=np.zeros(11))
    with pytest.raises(ValueError, match="method"):
        implicit_bias_solution(X, y, 0.1, method="magic")
    with pytest.raises(ValueError, match="tol"):
        implicit_bias_solution(X, y, 0.1, tol=0.0)
    with pytest.raises(ValueError, match="u0"):
        gradient_flow_uv(X, y, u0[:5], v0, t_max=1.0)
    with pytest.raises(ValueError, match="t_max"):
        gradient_flow_uv(X, y, u0, v0, t_max=-1.0)
    with pytest.raises(ValueError, match="X"):
        gradient_flow_uv(X_nan, y, u0, v0, t_max=1.0)
    with pytest.raises(ValueError, match="stepsizes"):
        gradient_descent(X, y, u0, v0, [0.1, -0.1], 10)
    with pytest.raises(ValueError, match="n_steps"):
        gradient_descent(X, y, u0, v0, 0.1, 0)
    with pytest.raises(ValueError, match="batch_size"):
        gradient_descent(X, y, u0, v0, 0.1, 10, batch_size=6)
    with pytest.raises(ValueError, match="u0"):
        gradient_descent(X, y, np.ones(3), v0, 0.1, 10)
    with pytest.raises(ValueError, match="y"):
        gradient_descent(X, y_inf, u0, v0, 0.1, 10)
    with pytest.raises(ValueError, match="lam"):
        lasso(X, y, -0.1)
    with pytest.raises(ValueError, match="X"):
        min_l2_interpolator(X_nan, y)
    with pytest.raises(ValueError, match="a_v"):
        unbalanced_prediction_params(1.0, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        uv_init(0.0, 3)
    with pytest.raises(ValueError, match="u"):
        effective_scale_and_reference([1.0], [1.0])


def test_parametrisation_helpers():
    a_eff, zeta, ref = effective_scale_and_reference(*uv_init(0.3, 4))
    np.testing.assert_allclose(a_eff, 0.3, rtol=1e-15)
    np.testing.assert_array_equal(zeta, 0.0)
    u = np.array([1.0, 0.5, 2.0])
    v = np.array([0.2, -0.3, 1.5])
    a_eff, zeta, ref = effective_scale_and_reference(u, v)
    np.testing.assert_allclose(ref, u * v, rtol=1e-14)
    np.testing.assert_allclose(2 * a_eff**2, np.abs(u**2 - v**2), rtol=1e-14)
    at, b0 = unbalanced_prediction_params(1.0, 0.5)
    assert at == pytest.approx(np.sqrt(0.375)) and b0 == 0.5


# ------------------------------------------------------------------------------------------
# numeric.validation's own functions: bad input -> ValueError/TypeError naming the parameter
# ------------------------------------------------------------------------------------------

from dln_verify.numeric import validation as V  # noqa: E402


@pytest.mark.parametrize(
    ("call", "exc", "needle"),
    [
        (lambda: V.as_finite_array("1.5", "X"), ValueError, "X must be a numeric array"),
        (lambda: V.as_finite_array([1 + 2j], "X"), ValueError, "X must be real-valued"),
        (lambda: V.as_finite_array([[1.0], [2.0, 3.0]], "X"), ValueError, "X must be a numeric"),
        (lambda: V.as_finite_array([], "X"), ValueError, "X must not be empty"),
        (lambda: V.as_finite_array([1.0], "X", ndim=2), ValueError, "X must have 2 axes"),
        (lambda: V.as_finite_array([1.0], 3), TypeError, "name"),
        (lambda: V.as_finite_array([1.0], "X", ndim=-1), TypeError, "ndim"),
        (lambda: V.check_regression_data(X, y, require_underdetermined=1), ValueError,
         "require_underdetermined"),
        (lambda: V.check_regression_data(X, 0 * y), ValueError, "y must not be identically zero"),
        (lambda: V.check_classification_data(X, y), ValueError, "labels in {-1, +1}"),
        (lambda: V.check_classification_data(X, np.ones(4)), ValueError, "length n"),
        (lambda: V.check_positive("1", "tol"), ValueError, "tol must be a real number > 0"),
        (lambda: V.check_positive(np.inf, "tol"), ValueError, "tol must be a finite number > 0"),
        (lambda: V.check_positive([1.0, -1.0], "w", allow_array=True), ValueError, "w must be"),
        (lambda: V.check_in_range(2.0, "p", 0.0, 1.0), ValueError, r"p must lie in [0, 1]"),
        (lambda: V.check_in_range(1.0, "p", 0.0, 1.0, high_inclusive=False), ValueError,
         r"p must lie in [0, 1)"),
        (lambda: V.check_in_range("a", "p", 0.0, 1.0), ValueError, "p must be a real number"),
        (lambda: V.check_in_range(0.5, "p", 1.0, 0.0), TypeError, "low must be <= high"),
        (lambda: V.check_in_range(0.5, "p", float("nan"), 1.0), TypeError, "low"),
        (lambda: V.check_alpha("0.1"), ValueError, "alpha"),
        (lambda: V.check_alpha([0.1, 0.2], d=3), ValueError, "length d = 3"),
        (lambda: V.check_alpha(0.1, d=0), ValueError, "d must be a positive integer"),
        (lambda: V.check_seed(-1), ValueError, "seed must be a non-negative integer (>= 0)"),
        (lambda: V.check_seed(1.5), ValueError, "seed"),
        (lambda: V.looks_like_labels([[1.0]]), ValueError, "y must have 1 ax"),
        (lambda: V.looks_like_labels([np.nan]), ValueError, "y must be finite"),
        (lambda: V.check_data_scale(X, y, name=None), TypeError, "name"),
    ],
)
def test_validation_functions_name_the_parameter(call, exc, needle):
    with pytest.raises(exc) as info:
        call()
    assert needle in str(info.value)


def test_looks_like_labels():
    assert V.looks_like_labels([1.0, -1.0, 1.0])
    assert V.looks_like_labels(np.ones(3, dtype=int))
    assert not V.looks_like_labels([1.0, 0.0])
    assert not V.looks_like_labels(y)


def test_check_data_scale_range():
    lo, hi = V.DATA_MAX_ABS_RANGE
    assert (lo, hi) == (1e-100, 1e100)
    Xs, ys = V.check_data_scale(X * 1e90, y * 1e-90, name="--data")
    assert Xs.dtype == np.float64 and ys.shape == y.shape
    for Xb, yb, needle in [
        (X * 1e101, y, "max |X|"),
        (X * 1e-101, y, "max |X|"),
        (X, y * 1e120, "max |y|"),
        (0 * X, y, "X is identically zero"),
        (X, y[:3], "length n"),
        (X_nan, y, "X must be finite"),
    ]:
        with pytest.raises(V.DataError) as info:
            V.check_data_scale(Xb, yb, name="--data")
        msg = str(info.value)
        assert msg.startswith("--data: ") and needle in msg and "\n" not in msg
        assert info.value.param == "--data" and isinstance(info.value, ValueError)
    # the limits: every arithmetic the simulators do on in-range data stays finite
    Xe = np.full((3, 5), 1e100)
    Xe[:, 0] = 1e-100
    Xc, yc = V.check_data_scale(Xe, np.full(3, 1e100))
    assert np.all(np.isfinite(Xc.T @ Xc)) and np.all(np.isfinite(Xc.T @ yc))


def test_data_error_is_one_line():
    err = V.DataError("data", "two\nlines   here")
    assert str(err) == "data: two lines here" and err.problem == "two lines here"
