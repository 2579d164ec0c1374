"""Property tests of the regularisation claims: ``weight-decay-path`` (Boursier, Pesme &
Dragomir, NeurIPS 2025) and ``lasso-path`` (Berthier, arXiv:2509.18766, Thm. 2.1).

Drawn instances inside the assumptions must pass with every control rejected; data outside the
Lasso-path monotonicity assumption must be reported as such (decided from the data, checked
here against an independent Lasso solver on a grid of μ); the gap-rate criterion is probed with
hand-made trajectories whose gap decays at a known rate.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from dln_verify.numeric.convex.weighted_lasso import solve_lasso
from dln_verify.numeric.instances import Instance
from dln_verify.verify import registry
from dln_verify.verify.claim import Prediction, Simulation
from dln_verify.verify.claims.lasso_path import EPSILONS, monotone_lasso_path
from dln_verify.verify.claims.weight_decay_path import parse_weight_decays

WEIGHT_DECAY = registry.get("weight-decay-path")
LASSO_PATH = registry.get("lasso-path")


def _assert_passes(evidence):
    assert evidence.status == "pass", evidence.message
    assert evidence.controls and all(c.rejected for c in evidence.controls), [
        (c.name, c.message) for c in evidence.controls]


@settings(max_examples=2)
@given(WEIGHT_DECAY.instances())
def test_weight_decay_on_drawn_instances(instance):
    evidence = WEIGHT_DECAY.check_instance(instance)
    _assert_passes(evidence)
    assert abs(evidence.metrics["tracking_slope"] - 1.0) <= 0.2
    assert evidence.metrics["invariant_error"] <= 1e-8


@settings(max_examples=2)
@given(LASSO_PATH.instances())
def test_lasso_path_on_drawn_instances(instance):
    evidence = LASSO_PATH.check_instance(instance)
    _assert_passes(evidence)
    assert evidence.metrics["gap_smallest_epsilon_max"] < evidence.metrics[
        "gap_largest_epsilon_max"]


def _mu_x_monotone_by_grid(X, y, mus) -> bool:
    """μ ↦ μx(μ) monotone on a μ grid, x(μ) from the certified coordinate-descent Lasso."""
    vals = np.array([mu * solve_lasso(X, y, 1.0 / mu).beta for mu in mus])
    diff = np.diff(vals, axis=0)
    scale = np.abs(vals).max()
    return bool(np.all((diff >= -1e-6 * scale).all(axis=0) | (diff <= 1e-6 * scale).all(axis=0)))


def _non_monotone_data():
    for seed in range(50):
        rng = np.random.default_rng(seed)
        X, y = rng.standard_normal((4, 8)), rng.standard_normal(4)
        if not monotone_lasso_path(X, y)[0]:
            return X, y
    raise AssertionError("no non-monotone draw in 50")


def test_non_monotone_data_is_outside_the_assumptions():
    X, y = _non_monotone_data()
    lam0 = np.max(np.abs(X.T @ y)) / X.shape[0]
    mus = np.geomspace(1.0 / lam0, 200.0 / lam0, 40)
    assert not _mu_x_monotone_by_grid(X, y, mus)  # independent of the homotopy
    evidence = LASSO_PATH.check(data=(X, y))
    assert evidence.status == "outside-assumptions", evidence.message


def test_default_instance_is_monotone_by_an_independent_solver():
    inst = LASSO_PATH.build_instance(seed=3)
    lam0 = np.max(np.abs(inst.X.T @ inst.y)) / inst.n
    mus = np.geomspace(1.0 / lam0, 50.0 / lam0, 30)
    assert _mu_x_monotone_by_grid(inst.X, inst.y, mus)


def test_orthogonal_user_data_passes():
    X = np.sqrt(2.0) * np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    evidence = LASSO_PATH.check(data=(X, np.array([1.2, -0.7])))
    _assert_passes(evidence)


def _handmade(rate_power: float | None):
    """Trajectories x̄ = x*(s) + perturbation whose gap decays like (1/L)^p (None: constant)."""
    inst = LASSO_PATH.build_instance(seed=0)
    pred = LASSO_PATH.predict(inst)
    s = np.asarray(inst.params["s"])
    star = np.asarray(pred.values["lasso_beta"])
    L = -np.log(np.asarray(EPSILONS))
    off = np.flatnonzero(np.all(np.abs(star) < 1e-12, axis=0))[0]  # inactive at every s
    traj = np.repeat(star[None], L.size, axis=0)
    size = 0.05 * (np.ones_like(L) if rate_power is None else (L[0] / L) ** rate_power)
    traj[:, :, off] += size[:, None]  # an off-support perturbation enters the gap linearly
    values = {"s": s, "q": np.asarray(inst.params["q"]), "epsilons": np.asarray(EPSILONS),
              "average": traj, "last": traj, "average_2s": traj}
    return inst, pred, Simulation(values)


@pytest.mark.parametrize("power, passes", [(1.0, True), (2.0, True), (0.3, False),
                                           (None, False)])
def test_gap_rate_criterion(power, passes):
    inst, pred, sim = _handmade(power)
    cmp = LASSO_PATH.compare(inst, pred, sim)
    assert cmp.passed is passes, cmp.message
    if power is not None:
        # gap = a·size + b·size² (the quadratic part of ℓ): the fitted slope is p or a bit more
        assert power - 0.05 <= cmp.metrics["gap_rate_min"] <= power + 0.25


def test_weight_decay_controls_fail_the_slope_for_a_constant_error():
    inst = WEIGHT_DECAY.build_instance(seed=0)
    pred = WEIGHT_DECAY.predict(inst)
    path = np.asarray(pred.values["path"])
    lams = np.asarray(inst.params["weight_decays"])
    # errors exactly c·λ pass; a λ-independent error fails
    for shift, ok in ((lambda lam: lam, True), (lambda lam: 0.05, False)):
        tb = np.array([path * (1 + shift(lam)) for lam in lams])
        values = {"weight_decays": lams, "track_beta": tb, "final_beta": pred.values["lasso"],
                  "invariant_error": 0.0, "reduction_error": 0.0, "curve_taus": [1.0],
                  "curve_beta": [path[0]], "curve_loss": [0.0]}
        cmp = WEIGHT_DECAY.compare(inst, pred, Simulation(values))
        assert cmp.passed is ok, cmp.message


@pytest.mark.parametrize("text", ["1e-2,1e-3", "0.1,1e-2,1e-3", "a,b,c", "0,1e-2,1e-3"])
def test_weight_decay_option_is_validated(text):
    with pytest.raises(ValueError, match="weight_decay"):
        parse_weight_decays(text)


def test_weight_decay_prediction_is_certified():
    pred = WEIGHT_DECAY.predict(WEIGHT_DECAY.build_instance(seed=1))
    assert pred.certificate["accepted"] is True
    assert isinstance(pred, Prediction)


def test_instance_type():
    assert isinstance(LASSO_PATH.build_instance(seed=0), Instance)
