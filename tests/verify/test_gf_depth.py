"""The provable horizon of ``gf-depth`` (``verify/claims/gf_depth.py:flow_horizon``).

The bound ``‖r(t)‖/‖y‖ ≤ exp(−2D²α^{2(D−1)} λ_min(XXᵀ) t/n)`` is tested on actual flows of
``gradient_flow_depth`` (the residual at every sampled time must stay below it), its constant is
shown to be sharp at ``t = 0`` (so the test would catch a constant that is too large), and the
two facts of its derivation (the conserved ``w₊^{2−D} + w₋^{2−D}`` and
``w₊^{2(D−1)} + w₋^{2(D−1)} ≥ 2α^{2(D−1)}``) are checked on an integration written here,
independently of the package's integrator.
"""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric.flow import gradient_flow_depth
from dln_verify.numeric.instances import gaussian_regression
from dln_verify.verify import registry
from dln_verify.verify.claims.gf_depth import FLOW_HORIZON, FLOW_TOL, flow_horizon

DEPTH = registry.get("gf-depth")


def guaranteed_rate(X, alpha, depth):
    """``c = 2D² α^{2(D−1)} λ_min(XXᵀ)/n``, written out here (not taken from the claim)."""
    n = X.shape[0]
    return 2.0 * depth**2 * alpha ** (2 * (depth - 1)) * np.linalg.eigvalsh(X @ X.T)[0] / n


def relative_residuals(run, X, y):
    return np.linalg.norm(run.beta @ X.T - y, axis=1) / np.linalg.norm(y)


def test_flow_horizon_by_hand():
    # X = diag(2, 1) padded with a zero column: XXᵀ = diag(4, 1), λ_min = 1, n = 2
    X = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    # D = 3, α = 0.1: 2 ln(1e10) / (2 · 9 · 1e-4 · 1) = 25584.3
    assert flow_horizon(X, 0.1, 3) == pytest.approx(2 * np.log(1e10) / 18e-4, rel=1e-12)
    # D = 4, α = 0.2: α^{2(D−1)} = 0.2⁶ = 6.4e-5 → 2 ln(1e10) / (2 · 16 · 6.4e-5)
    assert flow_horizon(X, 0.2, 4) == pytest.approx(2 * np.log(1e10) / (32 * 6.4e-5), rel=1e-12)
    # vector α: the smallest entry decides; λ_min passed in is used as given
    assert flow_horizon(X, [0.1, 0.5, 0.3], 3) == flow_horizon(X, 0.1, 3)
    assert flow_horizon(X, 0.1, 3, lam_min=4.0) == pytest.approx(flow_horizon(X, 0.1, 3) / 4)
    # fast runs keep the floor; a rank-deficient design has no guaranteed rate
    assert flow_horizon(X, 0.5, 3) == FLOW_HORIZON
    assert flow_horizon(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]]), 0.1, 3) == FLOW_HORIZON


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("depth", "alpha"), [(3, 0.3), (4, 0.6), (5, 0.6)])
def test_residual_stays_below_the_guaranteed_rate(seed, depth, alpha):
    X, y = gaussian_regression(8, 20, seed)
    c = guaranteed_rate(X, alpha, depth)
    horizon = flow_horizon(X, alpha, depth)
    assert horizon == max(FLOW_HORIZON, np.log(1 / FLOW_TOL) / c)
    run = gradient_flow_depth(X, y, alpha, depth, t_max=horizon, n_samples=400, tol=FLOW_TOL)
    assert run.converged and run.times[-1] <= np.log(1 / FLOW_TOL) / c
    res = relative_residuals(run, X, y)
    assert len(res) >= 40 and res[0] == pytest.approx(1.0)
    assert np.all(res <= np.exp(-c * run.times) * (1 + 1e-9)), np.max(res / np.exp(-c * run.times))


@pytest.mark.parametrize(("depth", "alpha"), [(3, 0.3), (5, 0.6)])
def test_the_rate_constant_is_sharp_at_the_start(depth, alpha):
    """y along the bottom eigenvector of XXᵀ and small (the flow stays near its linearisation):
    the residual follows exp(−ct) to 1e-6 up to ct = 1, so a 5 % larger c would be refuted."""
    X, _ = gaussian_regression(8, 20, 0)
    y = np.linalg.eigh(X @ X.T)[1][:, 0] * 1e-2 * alpha**depth
    c = guaranteed_rate(X, alpha, depth)
    run = gradient_flow_depth(X, y, alpha, depth, t_max=1.0 / c, n_samples=50)
    res = relative_residuals(run, X, y)
    assert run.times[-1] == pytest.approx(1.0 / c)
    bound = np.exp(-c * run.times)
    assert np.all(res <= bound * (1 + 1e-9)) and np.all(res >= bound * (1 - 1e-6))
    assert res[-1] > np.exp(-1.05 * c * run.times[-1])


@pytest.mark.parametrize("depth", [3, 4, 6])
def test_conserved_quantity_and_weight_floor(depth):
    """Integrated here with scipy's RK45 (not the package's driver) on ẇ± = ∓D w±^{D−1} g."""
    from scipy.integrate import solve_ivp

    X, y = gaussian_regression(6, 15, 1)
    n, d = X.shape
    alpha = 0.5

    def rhs(t, w):
        wp, wm = w[:d], w[d:]
        g = X.T @ (X @ (wp**depth - wm**depth) - y) / n
        return np.concatenate([-depth * wp ** (depth - 1) * g, depth * wm ** (depth - 1) * g])

    sol = solve_ivp(rhs, (0.0, 50.0), np.full(2 * d, alpha), rtol=1e-10, atol=1e-14,
                    t_eval=np.linspace(0.0, 50.0, 60))
    wp, wm = sol.y[:d], sol.y[d:]
    assert np.all(wp > 0) and np.all(wm > 0)
    # the weights moved (so the checks below are not trivially true at the start)
    assert np.max(np.abs(wp - alpha)) > 0.1
    conserved = wp ** (2 - depth) + wm ** (2 - depth)
    np.testing.assert_allclose(conserved, 2 * alpha ** (2 - depth), rtol=1e-7)
    m = wp ** (2 * (depth - 1)) + wm ** (2 * (depth - 1))
    assert np.all(m >= 2 * alpha ** (2 * (depth - 1)) * (1 - 1e-9))
    assert np.max(m) > 4 * alpha ** (2 * (depth - 1))  # and grows well above its floor


def test_thorough_seed0_smallest_alpha_converges_past_the_old_fixed_horizon():
    """Seed 0, α = 0.05 (the thorough profile's smallest) converges at t ≈ 4.5e3 > 4000: with
    the fixed horizon it was inconclusive; the derived horizon (5.7e5) lets it finish."""
    inst = DEPTH.default_instance(seed=0, profile="thorough", alpha=0.05)
    X = inst.X
    assert flow_horizon(X, 0.05, 3) == pytest.approx(
        20 * np.log(1e10) / (18 * 0.05**4 * np.linalg.eigvalsh(X @ X.T)[0]))
    assert flow_horizon(X, 0.05, 3) > 100 * FLOW_HORIZON
    ev = DEPTH.check_instance(inst, profile="thorough")
    assert ev.status == "pass", ev.message
    assert all(c.rejected for c in ev.controls)
