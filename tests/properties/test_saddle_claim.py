"""Property and contract tests of the saddle-to-saddle claim (Pesme & Flammarion 2023)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings

from dln_verify.verify import registry
from dln_verify.verify.claim import Prediction
from dln_verify.verify.claims.saddle_to_saddle import saddle_instance

CLAIM = registry.get("saddle-to-saddle")


@pytest.fixture(scope="module")
def parts():
    """Prediction and simulation of the default instance, without the full check (the check
    itself, with every control, is run once by tests/verify/test_conformance.py)."""
    inst = CLAIM.build_instance(seed=0)
    start = time.perf_counter()
    pred = CLAIM.predict(inst)
    sim = CLAIM.simulate(inst)
    return inst, pred, sim, time.perf_counter() - start


def test_declared_kind_controls_and_figure(parts):
    """What conformance does not assert: the kind, the named controls, the figure's size."""
    inst, pred, sim, elapsed = parts
    assert CLAIM.kind == "order"
    names = {c.name for c in CLAIM.negative_controls(inst, pred, sim)}
    assert {"wrong-time-scale", "lasso-path", "relaxed-lasso"} <= names
    comp = CLAIM.compare(inst, pred, sim)
    assert comp.passed and comp.metric == "order_slope", comp.message
    assert -1.3 <= comp.metrics["order_slope"] <= -0.7
    assert comp.metrics["last_saddle_vs_min_l1"] <= 1e-6
    fig = CLAIM.figures(inst, pred, sim, comp)[0]
    assert all(len(s.x) <= 400 for s in fig.series)
    assert elapsed < 40


def test_deciding_metric_is_the_first_failed_check(parts):
    """A comparison failing only the end-point check must report that metric, not the slope."""
    inst, pred, sim, _ = parts
    wrong_l1 = np.asarray(pred.values["beta_l1"]) + 1.0
    bad = Prediction("wrong min-ℓ1 point", {**pred.values, "beta_l1": wrong_l1})
    comp = CLAIM.compare(inst, bad, sim)
    assert not comp.passed
    assert comp.metric == "last_saddle_vs_min_l1", (comp.metric, comp.message)
    # a control failing several checks reports the first one in the documented order
    halved = Prediction("times / 2", {**pred.values,
                                      "times": np.asarray(pred.values["times"]) / 2.0})
    comp = CLAIM.compare(inst, halved, sim)
    assert not comp.passed and comp.metric == "order_slope"  # order is the first check
    assert not -1.3 <= comp.metrics["order_slope"] <= -0.7, comp.message


def test_default_instance_has_a_deletion_in_the_lasso_sense():
    from dln_verify.numeric.saddles import lasso_homotopy, saddle_to_saddle

    inst = saddle_instance(0)
    path = saddle_to_saddle(inst.X, inst.y)
    lasso = lasso_homotopy(inst.X, inst.y)
    assert path.has_deactivation
    knots = lasso.lambdas[lasso.lambdas > 0]
    # the two sequences differ once a deletion happened
    assert not (knots.size == path.n_jumps and np.allclose(1 / path.times, knots, rtol=1e-6))


@pytest.mark.slow
@settings(max_examples=2)
@given(CLAIM.instances())
def test_controls_and_end_point_on_random_instances(instance):
    """On every instance of the strategy the controls are rejected and the end point is min-ℓ1.

    The order slope itself is not asserted here: on some instances α = 1e-10 is still
    pre-asymptotic (measured: instance seed 332 gives slope −0.59, outside [−1.3, −0.7]).
    """
    ev = CLAIM.check_instance(instance)
    assert ev.metrics["last_saddle_vs_min_l1"] <= 1e-6
    assert all(c.rejected for c in ev.controls)
    assert ev.metrics["order_slope"] < -0.3  # errors do shrink with log(1/α)
