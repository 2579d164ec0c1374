"""Untrusted input through the Python API: certificates that cannot lie, exceptions that name
the parameter.

- a solution whose certificate is *accepted* must be right: its residual is recomputed here,
  from the returned β and the data, with a scale-free formula (nothing taken from the solver);
- bad arguments raise ValueError/TypeError whose message names the parameter — never an
  AttributeError, a numpy broadcast message or a scipy table dump.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from dln_verify.numeric.convex import implicit_bias_solution
from dln_verify.numeric.convex.max_margin import max_margin
from dln_verify.numeric.flow import gradient_flow_dual
from dln_verify.numeric.instances import separable_classification
from dln_verify.numeric.mirror import builtin_potential, mirror_flow
from dln_verify.numeric.momentum import momentum_gradient_flow
from dln_verify.symbolic.horizon import horizon_function

X_SYM = sp.Symbol("x", real=True)
LOG_T = np.array([1.0, 2.0, 3.0])


def _regression(seed: int = 1, n: int = 10, d: int = 30):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


def _scale_free_residual(X, beta, y) -> float:
    """‖Xβ − y‖/‖y‖ computed on data rescaled to O(1) (no under/overflow at 1e±300)."""
    sx = np.max(np.abs(X))
    sy = np.max(np.abs(y))
    with np.errstate(all="ignore"):
        fit = (X / sx) @ (np.asarray(beta, float) * (sx / sy))
        return float(np.linalg.norm(fit - y / sy) / np.linalg.norm(y / sy))


def _power_of_ten(exponent: int) -> float:
    """10**exponent as a float: inf or 0 (not OverflowError) outside the float range."""
    with np.errstate(over="ignore", under="ignore"):
        return float(np.power(10.0, exponent))


def _accepted_or_refused(call, check_solution):
    """Either a ValueError/TypeError naming a parameter, or a result; if the result's
    certificate is accepted, ``check_solution(result)`` must hold."""
    try:
        result = call()
    except (ValueError, TypeError) as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip()[:200], str(exc)
        return None
    if result.certificate.accepted:
        check_solution(result)
    return result


# ---------------------------------------------------------------------------------------------
# implicit_bias_solution: the accepted certificate's residual is the true one.

@pytest.mark.parametrize("scale", [1e-160, 1e-300, 1e300, 1e-200, 1e200, 1e-100, 1e100])
def test_scaled_target_never_accepted_with_a_wrong_residual(scale):
    X, y = _regression()

    def ok(sol):
        true = _scale_free_residual(X, sol.beta, y * scale)
        reported = sol.certificate.primal_residual
        assert np.all(np.isfinite(sol.beta)), sol.beta
        assert math.isfinite(reported), f"accepted a {reported} residual"
        assert true <= 1e-6, f"accepted, but the true relative residual is {true:.3g}"
        assert abs(true - reported) <= 1e-6 + 1e-3 * true, (true, reported)

    _accepted_or_refused(lambda: implicit_bias_solution(X, y * scale, 1e3), ok)


def test_issue_reproduction_1e_minus_160():
    X, y = _regression()
    try:
        sol = implicit_bias_solution(X, y * 1e-160, 1e3)
    except ValueError as exc:
        assert "alpha" in str(exc) or "y" in str(exc)
        return
    if sol.certificate.accepted:
        assert _scale_free_residual(X, sol.beta, y * 1e-160) <= 1e-6


@given(exponent=st.integers(-320, 320), alpha_exp=st.integers(-8, 8),
       seed=st.integers(0, 50), depth=st.sampled_from([2, 3]))
def test_random_scales_never_accept_nan_or_wrong_residuals(exponent, alpha_exp, seed, depth):
    X, y = _regression(seed, 6, 14)
    scale = _power_of_ten(exponent)
    if scale == 0.0 or not math.isfinite(scale):
        return

    def ok(sol):
        assert math.isfinite(sol.certificate.primal_residual)
        assert _scale_free_residual(X, sol.beta, y * scale) <= 1e-6

    _accepted_or_refused(
        lambda: implicit_bias_solution(X, y * scale, 10.0 ** alpha_exp, depth=depth), ok)


# ---------------------------------------------------------------------------------------------
# max_margin: no inf accepted, no ZeroDivisionError.

def _margin_ok(X, y):
    def ok(sol):
        beta = np.asarray(sol.beta, float)
        assert np.all(np.isfinite(beta)) and np.any(beta != 0)
        assert math.isfinite(sol.margin) and sol.margin > 0, sol.margin
        # the returned β separates the data (checked on rescaled data)
        with np.errstate(all="ignore"):
            m = y * ((X / np.max(np.abs(X))) @ (beta / np.max(np.abs(beta))))
        assert np.all(m > 0), m
    return ok


@pytest.mark.parametrize("scale", [1e-300, 1e300, 1e-200, 1e200])
def test_max_margin_scaled_data(scale):
    X, y = separable_classification(8, 16, 0)
    _accepted_or_refused(lambda: max_margin(X * scale, y), _margin_ok(X * scale, y))


@pytest.mark.parametrize("gauge", [1e6, 1e300, 100.5, 0.5, 0.0, -1.0, float("nan"),
                                   float("inf"), "foo", None, [1, 2], True])
def test_max_margin_bad_gauge_is_named(gauge):
    X, y = separable_classification(8, 16, 0)
    try:
        sol = max_margin(X, y, gauge)
    except (ValueError, TypeError) as exc:
        assert "gauge" in str(exc) or " p " in str(exc) or "p =" in str(exc), str(exc)
        return
    _margin_ok(X, y)(sol)


@given(exponent=st.integers(-310, 310), gauge=st.sampled_from(["l1", "l2", "linf", 1.5, 3.0]),
       seed=st.integers(0, 50))
def test_max_margin_random_scales(exponent, gauge, seed):
    X, y = separable_classification(6, 10, seed)
    with np.errstate(over="ignore", under="ignore"):
        Xs = X * _power_of_ten(exponent)
    if not np.all(np.isfinite(Xs)) or not np.any(Xs):
        return
    _accepted_or_refused(lambda: max_margin(Xs, y, gauge), _margin_ok(Xs, y))


def test_max_margin_non_separable_is_named():
    X = np.array([[1.0, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"separab|X, y"):
        max_margin(X, np.array([1.0, -1.0]))


# ---------------------------------------------------------------------------------------------
# Exceptions that name the parameter.

def _raises_naming(call, *names: str):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    msg = str(info.value)
    assert any(name in msg for name in names), f"{type(info.value).__name__}: {msg}"
    assert "broadcast" not in msg and "operands could not" not in msg, msg
    assert len(msg) < 600 and msg.count("\n") <= 2, msg  # no solver table dump
    return info.value


@pytest.fixture(scope="module")
def separable():
    return separable_classification(8, 16, 0)


def test_horizon_function_with_a_list_names_phi():
    _raises_naming(lambda: horizon_function([X_SYM**2], X_SYM), "phi")


@pytest.mark.parametrize("phi, x", [("x**2", X_SYM), (X_SYM**2, "x"), (1, X_SYM),
                                    (X_SYM**2, sp.Symbol("y") + 1)])
def test_horizon_function_bad_types_name_the_parameter(phi, x):
    _raises_naming(lambda: horizon_function(phi, x), "phi", " x ", "symbol")


@pytest.mark.parametrize("kwargs, names", [
    ({"theta0": np.zeros(3)}, ("theta0",)),
    ({"theta0": np.zeros((2, 2, 16))}, ("theta0",)),
    ({"theta0": "abc"}, ("theta0",)),
    ({"max_seconds": "abc"}, ("max_seconds",)),
    ({"atol": -1}, ("atol",)),
    ({"atol": float("nan")}, ("atol",)),
    ({"atol": "1e-3"}, ("atol",)),
    ({"rtol": 0.0}, ("rtol",)),
    ({"rtol": float("inf")}, ("rtol",)),
    ({"t0": 0.0}, ("t0",)),
    ({"t0": 2.0}, ("t0",)),
    ({"loss": "foo"}, ("loss",)),
    ({"loss": ["exp", "exp", "exp"]}, ("loss", "potentials")),
    ({"max_nfev": 0}, ("max_nfev",)),
    ({"max_nfev": 1.5}, ("max_nfev",)),
    ({"max_nfev": "many"}, ("max_nfev",)),
])
def test_mirror_flow_bad_keyword_names_it(separable, kwargs, names):
    X, y = separable
    pot = builtin_potential("quadratic")
    kwargs = dict(kwargs)
    if "loss" in kwargs and isinstance(kwargs["loss"], list):
        pot = [pot, pot]
    _raises_naming(lambda: mirror_flow(X, y, pot, LOG_T, **kwargs), *names)


@pytest.mark.parametrize("potential", ["quadratic", "x**2", 3.0, None, [None]])
def test_mirror_flow_bad_potential_names_it(separable, potential):
    X, y = separable
    _raises_naming(lambda: mirror_flow(X, y, potential, LOG_T), "potential")


@pytest.mark.parametrize("log_t", [[3.0, 2.0], [], [np.nan], "abc", [[1.0]], [-100.0]])
def test_mirror_flow_bad_grid_names_log_t(separable, log_t):
    X, y = separable
    _raises_naming(lambda: mirror_flow(X, y, builtin_potential("quadratic"), log_t), "log_t")


@pytest.mark.parametrize("X, y", [
    (np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, -1.0])),  # not separable
    (np.ones((3, 2)), np.array([1.0, 2.0, 3.0])),                   # not labels
    (np.ones((3, 2)), np.ones(4)),                                  # shapes
    (np.full((2, 2), np.nan), np.array([1.0, -1.0])),               # not finite
])
def test_mirror_flow_bad_data_names_it(X, y):
    _raises_naming(lambda: mirror_flow(X, y, builtin_potential("quadratic"), LOG_T),
                   "X", "y")


@pytest.mark.parametrize("kwargs, names", [
    ({"method": "foo"}, ("method",)),
    ({"depth": 1}, ("depth",)),
    ({"depth": 2.5}, ("depth",)),
    ({"depth": "3"}, ("depth",)),
])
def test_implicit_bias_bad_keyword_names_it(kwargs, names):
    X, y = _regression()
    _raises_naming(lambda: implicit_bias_solution(X, y, 0.1, **kwargs), *names)


@pytest.mark.parametrize("alpha", [0.0, -1.0, float("nan"), float("inf"), "abc", None,
                                   np.ones(3)])
def test_implicit_bias_bad_alpha_names_it(alpha):
    X, y = _regression()
    _raises_naming(lambda: implicit_bias_solution(X, y, alpha), "alpha")


@pytest.mark.parametrize("X, y", [
    (np.ones((3, 5)), np.ones(3)),           # rank deficient
    (np.eye(5, 3), np.ones(5)),              # overdetermined
    (np.eye(3, 5), np.ones(4)),              # shapes
    (np.eye(3, 5), np.full(3, np.nan)),      # not finite
    ("abc", np.ones(3)),
])
def test_implicit_bias_bad_data_names_it(X, y):
    _raises_naming(lambda: implicit_bias_solution(X, y, 0.1), "X", "y")


@pytest.mark.parametrize("name, call", [
    ("gradient_flow_dual",
     lambda X, y, kw: gradient_flow_dual(X, y, 0.1, t_max=1.0, **kw)),
    ("momentum_gradient_flow",
     lambda X, y, kw: momentum_gradient_flow(X, y, 0.1, 0.1, 1.0, **kw)),
])
@pytest.mark.parametrize("kwargs, names", [
    ({"method": "foo"}, ("method",)),
    ({"method": 3}, ("method",)),
    ({"atol": -1.0}, ("atol",)),
    ({"atol": float("nan")}, ("atol",)),
    ({"rtol": "abc"}, ("rtol",)),
])
def test_flows_bad_keyword_names_it(name, call, kwargs, names):
    X, y = _regression(2, 5, 12)
    _raises_naming(lambda: call(X, y, kwargs), *names)
