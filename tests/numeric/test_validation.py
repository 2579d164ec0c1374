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
