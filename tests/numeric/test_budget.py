"""Budgets are counted in solver units (right-hand-side evaluations, steps), never in seconds."""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric.flow import gradient_flow_uv
from dln_verify.numeric.instances import gaussian_regression, separable_classification
from dln_verify.numeric.mirror import MAX_NFEV, builtin_potential, mirror_flow


@pytest.fixture(scope="module")
def data():
    return separable_classification(6, 10, 3)


def test_mirror_flow_budget_spent_is_not_converged_not_diverged(data):
    X, y = data
    pot = builtin_potential("cubic")
    res = mirror_flow(X, y, pot, [5.0, 100.0], max_nfev=50)
    assert not res.converged[0] and not res.diverged[0]
    assert "budget max_nfev = 50" in res.message[0] and "spent" in res.message[0]
    assert res.nfev[0] == 50
    assert np.all(np.isnan(res.beta[0]))


def test_mirror_flow_budget_is_deterministic(data):
    """The stopping point depends on the evaluation count only: two runs agree exactly."""
    X, y = data
    pot = builtin_potential("cosh")
    full = mirror_flow(X, y, pot, [5.0, 100.0])
    assert full.converged[0] and full.nfev[0] < MAX_NFEV
    need = int(full.nfev[0])
    exact = mirror_flow(X, y, pot, [5.0, 100.0], max_nfev=need)
    assert exact.converged[0]
    np.testing.assert_array_equal(exact.beta, full.beta)
    short = mirror_flow(X, y, pot, [5.0, 100.0], max_nfev=need - 1)
    assert not short.converged[0] and not short.diverged[0]


def test_max_seconds_is_deprecated_and_ignored(data):
    X, y = data
    pot = builtin_potential("quadratic")
    ref = mirror_flow(X, y, pot, [1.0, 10.0])
    with pytest.warns(DeprecationWarning, match="max_nfev"):
        res = mirror_flow(X, y, pot, [1.0, 10.0], max_seconds=1e-9)
    assert res.converged[0]
    np.testing.assert_array_equal(res.beta, ref.beta)


@pytest.mark.parametrize("bad", ["abc", True, [1.0]])
def test_max_seconds_of_wrong_type(data, bad):
    X, y = data
    with pytest.raises(TypeError, match="max_seconds.*max_nfev"):
        mirror_flow(X, y, builtin_potential("quadratic"), [1.0], max_seconds=bad)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_max_nfev_must_be_a_positive_integer(data, bad):
    X, y = data
    with pytest.raises(ValueError, match="max_nfev must be an integer >= 1"):
        mirror_flow(X, y, builtin_potential("quadratic"), [1.0], max_nfev=bad)


def test_flow_step_budget_spent_is_not_converged_not_diverged():
    X, y = gaussian_regression(5, 10, 0)
    res = gradient_flow_uv(X, y, np.full(10, 0.2), np.zeros(10), t_max=1e6, max_steps=3)
    assert not res.converged and not res.diverged
    assert "max_steps = 3" in res.message


def test_solve_ivp_within_stops_at_the_budget_and_counts_evaluations():
    from dln_verify.numeric.budgeted_ivp import solve_ivp_within

    calls = []

    def rhs(t, y):
        calls.append(t)
        return -y

    res = solve_ivp_within(rhs, (0.0, 10.0), np.ones(2), max_evaluations=7, rtol=1e-12,
                           atol=1e-14)
    assert res.budget_spent and res.sol is None and not res.success
    assert res.nfev == 7 and len(calls) == 7
    assert res.message == "spent the budget of 7 evaluations"
    ok = solve_ivp_within(rhs, (0.0, 1.0), np.ones(2), max_evaluations=100_000)
    assert ok.success and not ok.budget_spent and 0 < ok.nfev == ok.sol.nfev
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(ValueError, match="max_evaluations"):
            solve_ivp_within(rhs, (0.0, 1.0), np.ones(2), max_evaluations=bad)


def test_dual_flow_budget_spent_is_not_converged_not_diverged():
    from dln_verify.numeric.saddle_flow import integrate_dual_flow

    X, y = gaussian_regression(4, 8, seed=3)
    flow = integrate_dual_flow(X, y, 1e-10, 20.0, max_evaluations=40)
    assert not flow.converged and not flow.diverged
    assert flow.message == "not converged: spent the budget of 40 evaluations"
    assert flow.nfev == 40 and flow.times.shape == (1,) and flow.beta.shape == (1, 8)
    assert np.all(flow.beta == 0.0)
    with pytest.raises(ValueError, match="max_evaluations"):
        integrate_dual_flow(X, y, 1e-10, 20.0, max_evaluations=0)
