"""Property tests of the large-stepsize sparsity claims (Even, Pesme, Gunasekar & Flammarion,
NeurIPS 2023; docs/theory/large-steps.md §1).

The statistical decision is tested on hand-made simulation records (counts chosen on both sides
of the exact binomial rejection region, so the expected verdicts are computed from the binomial
law, not by the claim), and the whole check on instances drawn inside the claim's assumptions.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from dln_verify.verify import registry
from dln_verify.verify.claim import Simulation

SPARSITY = registry.get("sgd-vs-gd-sparsity")


def _record(R, gd_up, sgd_down, gd_conc, sgd_even):
    """A simulation record in which exactly the given numbers of targets show each effect."""
    def errors(k_effect, effect_up):
        err = np.ones((R, 2))
        hit = np.arange(R) < k_effect
        err[:, 1] = np.where(hit == effect_up, 2.0, 0.5)
        return err

    def kappas(k_effect, concentrated):
        kap = np.ones((R, 2))
        hit = np.arange(R) < k_effect
        kap[:, 1] = np.where(hit == concentrated, 6.0, 1.2)
        return kap

    z = np.zeros((R, 2), dtype=bool)
    return Simulation({"gd_error": errors(gd_up, True), "sgd_error": errors(sgd_down, False),
                       "gd_kappa": kappas(gd_conc, True), "sgd_kappa": kappas(sgd_even, False),
                       "gd_diverged": z, "sgd_diverged": z, "max_residual": 1e-3})


@pytest.fixture(scope="module")
def instance():
    return SPARSITY.default_instance(0)


def test_binomial_decision_at_the_critical_count(instance):
    """R = 12, H0: p ≥ 0.8 at level 2.5e-4: P(K ≤ 3) = 6.2e-5 rejects, P(K ≤ 4) = 5.8e-4 does
    not (binomial tails computed by hand below)."""
    from math import comb

    tail = [sum(comb(12, i) * 0.8**i * 0.2 ** (12 - i) for i in range(k + 1)) for k in (3, 4)]
    assert tail[0] <= 2.5e-4 < tail[1]
    pred = SPARSITY.predict(instance)
    assert SPARSITY.compare(instance, pred, _record(12, 4, 4, 4, 4)).passed
    for which in range(4):
        counts = [12, 12, 12, 12]
        counts[which] = 3
        out = SPARSITY.compare(instance, pred, _record(12, *counts))
        assert not out.passed, which
    # a record with every effect at every target: passes; each control is rejected on it
    sim = _record(12, 12, 12, 12, 12)
    assert SPARSITY.compare(instance, pred, sim).passed
    for control in SPARSITY.negative_controls(instance, pred, sim):
        assert not SPARSITY.compare(instance, control.prediction, sim).passed, control.name


def test_diverged_runs_count_as_targets_without_the_effect(instance):
    pred = SPARSITY.predict(instance)
    sim = _record(12, 12, 12, 12, 12)
    err = np.array(sim.values["sgd_error"])
    err[:9, 1] = np.nan  # nine SGD runs at 0.8·γ_max diverged
    out = SPARSITY.compare(instance, pred, Simulation({**sim.values, "sgd_error": err}))
    assert not out.passed and out.metrics["sgd_error.count"] == 3


def test_large_batch_is_outside_the_assumptions():
    inst = SPARSITY.default_instance(0, batch_size=20)
    assert inst.params["rho_b"] > 0.15
    ev = SPARSITY.check_instance(inst)
    assert ev.status == "outside-assumptions"


@pytest.mark.parametrize("opts, word", [({"alpha": 2.0}, "alpha"),
                                        ({"stepsize_fraction": 1.2}, "stepsize_fraction"),
                                        ({"replicates": 3}, "replicates"),
                                        ({"batch_size": 0}, "batch_size")])
def test_bad_options_name_the_parameter(opts, word):
    with pytest.raises(ValueError, match=word):
        SPARSITY.default_instance(0, **opts)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SPARSITY.instances())
def test_sgd_vs_gd_sparsity_on_drawn_instances(instance):
    ev = SPARSITY.check_instance(instance)
    assert ev.status == "pass", ev.message
    assert all(c.rejected for c in ev.controls)
    assert ev.metrics["gd_median_kappa"] > 2 > ev.metrics["sgd_median_kappa"]
    assert ev.metrics["sgd_median_error_ratio"] < 1 < ev.metrics["gd_median_error_ratio"]
