"""The numpy-only max-margin solver against the cvxpy path (the independent check).

Both answers are judged by the solver-independent certificate; they are compared by what the
certificates imply, by weak duality: each value brackets the optimum, ``v(1 − gap) ≤ v*`` and
``v* ≤ v/(1 − viol)``, and for the uniformly convex gauges (2 ≤ p < ∞) Clarkson's inequality
bounds the distance of a δ-optimal feasible point to the minimiser (``_radius``).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dln_verify.numeric.convex.max_margin import GaugeSpec, as_gauge, max_margin
from dln_verify.numeric.convex.max_margin_dual import lp_interior_point, solve_max_margin
from dln_verify.numeric.instances import separable_classification

GAUGES = {
    "l1": GaugeSpec(1.0, label="l1"),
    "l2": GaugeSpec(2.0, label="l2"),
    "l3": GaugeSpec(3.0, label="l3"),
    "l5": GaugeSpec(5.0, label="l5"),
    "linf": GaugeSpec(np.inf, label="linf"),
    "asymmetric": GaugeSpec(2.0, 1.0, 4.0, label="gauge"),
    "asymmetric-quartic": GaugeSpec(4.0, 2.0, 1.0, label="gauge"),
    "forbidden-negative": GaugeSpec(2.0, 1.0, np.inf, label="gauge"),
    "forbidden-positive-linf": GaugeSpec(np.inf, np.inf, 1.0, label="gauge"),
}


def _bracket(sol, Z):
    """(lower, upper) bounds on v* implied by one certified solution (weak duality)."""
    viol = max(0.0, float(np.max(1.0 - Z @ sol.beta)))
    gap = sol.certificate.optimality_residual
    return sol.value * (1.0 - gap), sol.value / (1.0 - viol)


def _radius(sol, Z, g, v_star_upper, lower):
    """ℓp distance bound of ``sol.beta`` to the minimiser for 2 ≤ p < ∞ (Clarkson's inequality;
    an asymmetric ``h = w₊(t⁺)^p + w₋(t⁻)^p`` is ``w_min|t|^p`` plus a convex term).

    For a feasible β with ``φ(β) ≤ (1 + δ)v*``: the midpoint with β* is feasible, so
    ``w_min‖(β − β*)/2‖_p^p ≤ (φ(β)^p + v*^p)/2 − v*^p ≤ v*^p((1 + δ)^p − 1)/2``.
    """
    p = g.p
    viol = max(0.0, float(np.max(1.0 - Z @ sol.beta)))
    feasible = sol.beta / (1.0 - viol)
    delta = float(g(feasible)) / lower - 1.0
    w_min = min(w for w in (g.w_pos, g.w_neg) if np.isfinite(w))
    r = 2.0 * v_star_upper * (((1.0 + delta) ** p - 1.0) / (2.0 * w_min)) ** (1.0 / p)
    return r + np.linalg.norm(sol.beta - feasible, ord=p)


@st.composite
def separable_draws(draw, gauge: GaugeSpec):
    n = draw(st.integers(2, 12))
    d = draw(st.integers(1, 20))
    seed = draw(st.integers(0, 2**31 - 1))
    X, y = separable_classification(n, d, seed)
    X = X * draw(st.sampled_from([1e-3, 1.0, 37.0]))
    a, b = gauge._scales()
    if not (np.isfinite(a) and np.isfinite(b)):
        # make the allowed sign separate: labels of a direction with that sign
        w = np.abs(np.random.default_rng(seed).standard_normal(d)) * (1.0 if np.isfinite(a)
                                                                      else -1.0)
        y = np.sign(X @ w)
        y[y == 0] = 1.0
    return X, y


@pytest.mark.parametrize("name", list(GAUGES))
def test_own_solver_agrees_with_cvxpy(name):
    g = GAUGES[name]

    @settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(separable_draws(g))
    def check(data):
        X, y = data
        own = max_margin(X, y, g)
        ref = max_margin(X, y, g, method="cvxpy")
        assert own.certificate.solver in ("dual-newton", "primal-newton", "interior-point")
        assert ref.certificate.solver == "cvxpy-clarabel"
        assert own.certificate.accepted and ref.certificate.accepted
        # the own answer is well below the default tolerance 1e-6
        assert own.certificate.primal_residual <= 1e-10
        assert own.certificate.optimality_residual <= 1e-9
        Z = y[:, None] * X
        # recomputed here from the user's data, not read from the certificate
        assert float(np.min(Z @ own.beta)) >= 1.0 - 1e-10
        lo1, hi1 = _bracket(own, Z)
        lo2, hi2 = _bracket(ref, Z)
        assert max(lo1, lo2) <= min(hi1, hi2) * (1.0 + 1e-12)
        if 2.0 <= g.p < np.inf:
            v_hi = min(hi1, hi2)
            v_lo = max(lo1, lo2)
            bound = _radius(own, Z, g, v_hi, v_lo) + _radius(ref, Z, g, v_hi, v_lo)
            assert np.linalg.norm(own.beta - ref.beta, ord=g.p) <= bound * (1.0 + 1e-9)

    check()


def test_default_instance_solves_are_certified_to_1e_10():
    X, y = separable_classification(8, 16, 0)
    for g in GAUGES.values():
        if not (np.isfinite(g.w_pos) and np.isfinite(g.w_neg)):
            continue
        sol = max_margin(X, y, g)
        assert sol.certificate.solver in ("dual-newton", "primal-newton", "interior-point"), g
        assert sol.certificate.primal_residual <= 1e-10
        assert sol.certificate.optimality_residual <= 1e-10


def test_not_separable_data_raise_the_same_errors():
    xor = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    yx = np.array([1.0, 1.0, -1.0, -1.0])
    for g in GAUGES.values():
        with pytest.raises(ValueError, match="not linearly separable"):
            max_margin(xor, yx, g)
    # separable, but only by a negative β: the gauge forbids it
    X = np.array([[1.0], [2.0]])
    y = np.array([-1.0, -1.0])
    for g in (GAUGES["forbidden-negative"], GaugeSpec(1.0, 1.0, np.inf)):
        with pytest.raises(ValueError, match="no separating direction with finite gauge"):
            max_margin(X, y, g)


def test_uncertified_own_answer_falls_back_to_cvxpy(monkeypatch):
    from dln_verify.numeric.convex import max_margin_dual

    X, y = separable_classification(8, 16, 3)
    ref = max_margin(X, y, "l2", method="cvxpy")

    def bad(Z, gauge, **_):  # a point that violates the margins: the certificate rejects it
        return max_margin_dual.DualSolve(np.zeros(Z.shape[1]) + 1e-3, np.ones(Z.shape[0]),
                                         "dual-newton", 1, "converged")

    monkeypatch.setattr(max_margin_dual, "solve_max_margin", bad)
    sol = max_margin(X, y, "l2")
    assert sol.certificate.solver == "cvxpy-clarabel"
    assert np.array_equal(sol.beta, ref.beta)
    assert sol.certificate.optimality_residual == ref.certificate.optimality_residual


def test_bad_method_and_max_iter():
    X, y = separable_classification(8, 16, 0)
    with pytest.raises(ValueError, match="method"):
        max_margin(X, y, "l2", method="highs")
    with pytest.raises(ValueError, match="max_iter"):
        solve_max_margin(y[:, None] * X, as_gauge("l2"), max_iter=0)


def test_iteration_cap_is_respected():
    X, y = separable_classification(8, 16, 0)
    out = solve_max_margin((y[:, None] * X) / 4.0, as_gauge("l2"), max_iter=3)
    assert out.iterations <= 3 and out.status != "converged"
    _, _, it, status = lp_interior_point(np.ones(2), -np.eye(2), -np.ones(2), max_iter=2)
    assert it <= 2


def test_lp_interior_point_small_lp():
    # min x1 + 2 x2 s.t. x1 + x2 >= 1, x >= 0: optimum (1, 0), value 1, dual 1 on the sum row
    G = np.array([[-1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]])
    h = np.array([-1.0, 0.0, 0.0])
    x, z, _, _ = lp_interior_point(np.array([1.0, 2.0]), G, h)
    np.testing.assert_allclose(x, [1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(z, [1.0, 0.0, 1.0], atol=1e-9)


_CHILD = """
import json, sys
import numpy as np
from dln_verify.numeric.convex.max_margin import GaugeSpec, max_margin
spec = json.loads(sys.argv[1])
X, y = np.array(spec["X"]), np.array(spec["y"])
solvers = [max_margin(X, y, GaugeSpec(*g)).certificate.solver for g in spec["gauges"]]
heavy = [m for m in ("cvxpy", "scipy.optimize") if m in sys.modules]
print(json.dumps({"solvers": solvers, "heavy": heavy}))
"""


def test_default_path_imports_neither_cvxpy_nor_scipy_optimize():
    from dln_verify.symbolic.horizon import horizon_function, parse_potential
    from dln_verify.verify import registry

    claim = registry.get("mirror-horizon")
    inst = claim.default_instance(seed=0)
    gauges = []
    for name in ("quadratic", "cubic", "cosh", "asymmetric", "hypentropy"):  # ℓ2 ℓ3 ℓ∞ w ℓ1
        g = as_gauge(horizon_function(*parse_potential(name)))
        gauges.append([g.p, g.w_pos, g.w_neg])
    spec = json.dumps({"X": np.asarray(inst.X).tolist(), "y": np.asarray(inst.y).tolist(),
                       "gauges": gauges})
    out = subprocess.run([sys.executable, "-c", _CHILD, spec], capture_output=True, text=True,
                         timeout=300, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert all(s in ("dual-newton", "interior-point") for s in result["solvers"])
    assert len(result["solvers"]) == 5


def test_cvxpy_method_is_the_previous_code_path():
    X, y = separable_classification(8, 16, 0)
    sol = max_margin(X, y, "linf", method="cvxpy")
    assert sol.certificate.solver == "cvxpy-clarabel" and sol.certificate.accepted
