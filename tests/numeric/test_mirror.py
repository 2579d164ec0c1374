"""Mirror flow / mirror descent: time change against plain-time integration, GD algebra, inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dln_verify.numeric.instances import separable_classification
from dln_verify.numeric.mirror import (
    angle,
    builtin_potential,
    mirror_descent,
    mirror_flow,
    potential_from_sympy,
)
from dln_verify.symbolic.horizon import parse_potential


@pytest.fixture(scope="module")
def data():
    return separable_classification(6, 10, 3)


def _plain_time_flow(X, y, pot, t_end, loss):
    """Independent reference: θ' = −∇L(β(θ)) in flow time t from θ = 0 (RK45, tight tol)."""
    Z = y[:, None] * X

    def rhs(t, th):
        m = Z @ pot.grad_inv(th)
        w = np.exp(-m) if loss == "exp" else 1.0 / (1.0 + np.exp(m))
        return Z.T @ w

    sol = solve_ivp(rhs, (0.0, t_end), np.zeros(X.shape[1]), method="DOP853", rtol=1e-11,
                    atol=1e-13)
    return pot.grad_inv(sol.y[:, -1])


@pytest.mark.parametrize("name", ["quadratic", "cubic", "cosh", "asymmetric"])
@pytest.mark.parametrize("loss", ["exp", "logistic"])
def test_log_time_flow_matches_plain_time_flow(data, name, loss):
    X, y = data
    pot = builtin_potential(name)
    t_end = 20.0
    ref = _plain_time_flow(X, y, pot, t_end, loss)
    res = mirror_flow(X, y, pot, [np.log(t_end)], loss=loss, t0=1e-5, rtol=1e-10)
    assert not res.diverged.any()
    np.testing.assert_allclose(res.beta[0, -1], ref, rtol=1e-5, atol=1e-6)


def test_sympy_and_closed_form_potentials_agree(data):
    X, y = data
    grid = [5.0, 50.0]
    for name in ("cosh", "hypentropy"):
        a = mirror_flow(X, y, builtin_potential(name, alpha=0.1), grid)  # closed form, dual
        b = mirror_flow(X, y, potential_from_sympy(*parse_potential(name)), grid)  # primal
        assert a.beta.shape == b.beta.shape
        np.testing.assert_allclose(a.beta, b.beta, rtol=1e-5, atol=1e-7)


def test_cosh_log_domain_flow_passes_the_float64_overflow(data):
    """β beyond 710 (cosh β and the loss weights overflow float64): the log-domain right-hand
    side keeps the flow finite, and the angle to the ℓ∞ max margin keeps falling."""
    from dln_verify.numeric.convex.max_margin import max_margin

    X, y = data
    X = X / 10.0  # max|β| ≈ log t · M/(1 + M), M = ‖β̄‖_∞ at unit margin (10x larger)
    grid = [100.0, 400.0, 1000.0]
    res = mirror_flow(X, y, builtin_potential("cosh"), grid, atol=1e-8)
    assert res.converged[0] and not res.diverged[0], res.message
    assert np.all(np.isfinite(res.beta)) and np.abs(res.beta[0, -1]).max() > 710
    a = angle(res.beta[0], max_margin(X, y, "linf").beta[None, :])
    assert a[2] < a[1] < a[0]


def test_newton_inverse_of_mirror_map():
    pot = potential_from_sympy(*parse_potential("asymmetric"))
    theta = np.linspace(-1e3, 1e3, 101)
    np.testing.assert_allclose(pot.grad(pot.grad_inv(theta)), theta, rtol=1e-12, atol=1e-12)


def test_mirror_descent_quadratic_is_gradient_descent(data):
    X, y = data
    Z = y[:, None] * X
    eta = 0.01
    w = np.zeros(X.shape[1])
    for _ in range(30):
        w = w + eta * Z.T @ np.exp(-Z @ w)
    res = mirror_descent(X, y, builtin_potential("quadratic"), [eta, 2 * eta], [0, 30])
    np.testing.assert_allclose(res.beta[0, -1], w, rtol=1e-12)
    assert res.beta.shape == (2, 2, X.shape[1])


def test_mirror_descent_tracks_flow_at_small_step(data):
    X, y = data
    pot = builtin_potential("cubic")
    eta = 1e-3
    md = mirror_descent(X, y, pot, eta, [20000], loss="logistic")
    fl = mirror_flow(X, y, pot, [np.log(eta * 20000)], loss="logistic")
    assert angle(md.beta[0, -1], fl.beta[0, -1]) < 1e-3


def test_angle_small_and_orthogonal():
    u = np.array([1.0, 0.0])
    assert angle(u, np.array([1.0, 1e-9])) == pytest.approx(1e-9, rel=1e-6)
    assert angle(u, np.array([0.0, 3.0])) == pytest.approx(np.pi / 2)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"loss": "hinge"}, "loss"), ({"log_t": [5.0, 1.0]}, "log_t"), ({"t0": 0.0}, "t0")],
)
def test_bad_inputs(data, kwargs, fragment):
    X, y = data
    args = {"log_t": [1.0, 5.0], **kwargs}
    log_t = args.pop("log_t")
    with pytest.raises(ValueError, match=fragment):
        mirror_flow(X, y, builtin_potential("quadratic"), log_t, **args)


def test_mirror_descent_bad_step(data):
    X, y = data
    with pytest.raises(ValueError, match="step_size"):
        mirror_descent(X, y, builtin_potential("quadratic"), -1.0, [1])


def test_string_potential_is_a_type_error(data):
    X, y = data
    with pytest.raises(TypeError, match=r"potentials must be a NumericPotential.*builtin_pot"):
        mirror_flow(X, y, "quadratic", [1.0])
    with pytest.raises(TypeError, match="potentials must contain NumericPotential"):
        mirror_flow(X, y, [builtin_potential("quadratic"), 3], [1.0])
    with pytest.raises(TypeError, match="potential must be a NumericPotential"):
        mirror_descent(X, y, "quadratic", 0.1, [1])


@pytest.mark.parametrize("theta0", [np.zeros(3), np.zeros((2, 10)), np.zeros((1, 1, 10))])
def test_theta0_of_wrong_shape(data, theta0):
    X, y = data
    with pytest.raises(ValueError, match=r"theta0 must have shape \(d,\) = \(10,\)"):
        mirror_flow(X, y, builtin_potential("quadratic"), [1.0], theta0=theta0)
    with pytest.raises(ValueError, match="theta0 must have shape"):
        mirror_descent(X, y, builtin_potential("quadratic"), 0.1, [1], theta0=theta0)


@pytest.mark.parametrize("atol", [-1.0, 0.0, float("nan"), float("inf"), "abc"])
def test_atol_out_of_range(data, atol):
    X, y = data
    with pytest.raises(ValueError, match=r"atol must lie in \(0, 1\]|atol must be a real"):
        mirror_flow(X, y, builtin_potential("quadratic"), [1.0], atol=atol)


@pytest.mark.parametrize("rtol", [0.0, float("nan"), 1.0])
def test_rtol_out_of_range(data, rtol):
    X, y = data
    with pytest.raises(ValueError, match="rtol must lie in"):
        mirror_flow(X, y, builtin_potential("quadratic"), [1.0], rtol=rtol)


def test_non_separable_data_are_refused(data):
    X, y = data
    Xn = np.vstack([X, X[:1]])
    yn = np.concatenate([y, -y[:1]])  # the same point with both labels: not separable
    with pytest.raises(ValueError, match="X, y must be linearly separable"):
        mirror_flow(Xn, yn, builtin_potential("quadratic"), [1.0])
    # the separable original passes the same check
    assert mirror_flow(X, y, builtin_potential("quadratic"), [1.0]).converged[0]


@pytest.mark.parametrize("loss", [3, None, ["exp", "hinge"], []])
def test_bad_loss_argument(data, loss):
    X, y = data
    with pytest.raises((ValueError, TypeError), match="loss must be one of"):
        mirror_flow(X, y, builtin_potential("quadratic"), [1.0], loss=loss)


def test_other_public_functions_name_their_parameter():
    from dln_verify.numeric.mirror import log_loss

    with pytest.raises(ValueError, match="loss must be one of"):
        log_loss(np.zeros(3), "hinge")
    with pytest.raises(ValueError, match="u and v must have the same last-axis length"):
        angle(np.ones(3), np.ones(2))
    with pytest.raises(TypeError, match="name must be a str"):
        builtin_potential(2.0)


def test_mirror_descent_bad_record(data):
    X, y = data
    for rec in ([], [3, 1], [1.5], [-1]):
        with pytest.raises(ValueError, match="record"):
            mirror_descent(X, y, builtin_potential("quadratic"), 0.1, rec)


@pytest.mark.parametrize("name", ["quadratic", "cubic", "asymmetric", "cosh"])
def test_lsoda_and_radau_trace_the_same_flow(data, name):
    X, y = data
    pot = builtin_potential(name)
    grid = [5.0, 50.0, 200.0]
    a = mirror_flow(X, y, pot, grid, rtol=1e-10, atol=1e-10, method="LSODA")
    b = mirror_flow(X, y, pot, grid, rtol=1e-10, atol=1e-12, method="Radau")
    assert a.converged.all() and b.converged.all()
    assert np.max(angle(a.beta[0], b.beta[0])) < 1e-7


def test_cubic_crossing_zero_within_budget():
    """Seed 5: a coordinate of θ crosses 0 at log t ≈ 560 (β = sign θ √|θ| is not Lipschitz
    there). Radau at atol 1e-8 spent 2e5 evaluations stuck at that point; LSODA gets through
    well inside a 2e4 budget."""
    X, y = separable_classification(8, 16, 5)
    grid = np.geomspace(10.0, 1000.0, 21)
    res = mirror_flow(X, y, builtin_potential("cubic"), grid, rtol=1e-10, atol=1e-10,
                      method="LSODA", max_nfev=20_000)
    assert res.converged[0], res.message
    assert np.sign(res.theta[0, 10, 1]) != np.sign(res.theta[0, -1, 1])  # the crossing


def test_method_is_validated(data):
    X, y = data
    with pytest.raises(ValueError, match="method"):
        mirror_flow(X, y, builtin_potential("quadratic"), [1.0], method="RK45")


def test_asymmetric_closed_forms_are_the_sympy_derivatives_bit_for_bit():
    """builtin_potential('asymmetric') uses ϕ', ϕ'', ϕ''' as lambdify prints them: the same
    floats as potential_from_sympy, so the built-in path changes no number."""
    from dln_verify.numeric.mirror import builtin_potential, potential_from_sympy

    phi, x = parse_potential("asymmetric")
    ref = potential_from_sympy(phi, x, name="asymmetric")
    mine = builtin_potential("asymmetric")
    b = np.concatenate([np.linspace(-60.0, 60.0, 2001), [0.0, 1e-300, -3e-9, 1e150, -1e200]])
    with np.errstate(all="ignore"):
        for f in ("grad", "hess", "hess_deriv"):
            np.testing.assert_array_equal(getattr(mine, f)(b), getattr(ref, f)(b))
        theta = np.linspace(-40.0, 40.0, 801)
        np.testing.assert_array_equal(mine.grad_inv(theta), ref.grad_inv(theta))
    assert (mine.coordinates, mine.expression) == (ref.coordinates, ref.expression)
    assert str(phi) == mine.expression
