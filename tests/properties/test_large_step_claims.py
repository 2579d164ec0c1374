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


# ---------------------------------------------------------------------------------------------
# large-step-sparsity (Andriushchenko et al., ICML 2023; docs/theory/large-steps.md §2.3–§2.6)

SCHEDULE = registry.get("large-step-sparsity")


def _schedule_record(R, plateau, small_plateau, sparser, better):
    """A record in which exactly the given numbers of targets show each effect.

    Columns: (short large phase, long large phase, small steps throughout). A plateau is a slope
    of 0.1 with SE 0.1 (inside 4.22·SE), a decrease a slope of −2 with SE 0.1."""
    hit = np.arange(R)
    slope = np.full((R, 2), -2.0)
    slope[hit < plateau, 0] = 0.1
    slope[hit < small_plateau, 1] = 0.1
    l1 = np.ones((R, 3))
    l1[:, 1] = np.where(hit < sparser, 0.9, 1.1)
    err = np.ones((R, 3))
    err[:, 1] = np.where(hit < better, 0.5, 2.0)
    return Simulation({"slope": slope, "slope_se": np.full((R, 2), 0.1), "plateau_z": 4.22,
                       "l1": l1, "l1_ratio": l1, "error": err,
                       "bad": np.zeros((R, 3), dtype=bool), "max_residual": 1e-3})


@pytest.fixture(scope="module")
def schedule_instance():
    return SCHEDULE.default_instance(0)


def test_plateau_slope_of_power_laws_and_of_a_stationary_loss():
    from scipy.stats import t

    from dln_verify.verify.claims.large_step_sparsity import plateau_slope, plateau_z

    assert plateau_z() == pytest.approx(t.ppf(1 - 5e-4, 13))
    k = np.arange(1, 301)
    a, se = plateau_slope(k, 3.0 * k**-1.5, 150, 300)
    assert a == pytest.approx(-1.5, abs=1e-12) and se < 1e-10
    rng = np.random.default_rng(0)
    noisy_flat = 0.05 * np.exp(0.5 * rng.standard_normal(k.size))
    a, se = plateau_slope(k, noisy_flat, 150, 300)
    assert abs(a) <= plateau_z() * se
    noisy_decay = 100.0 * k**-2.0 * np.exp(0.5 * rng.standard_normal(k.size))
    a, se = plateau_slope(k, noisy_decay, 150, 300)
    assert abs(a) > plateau_z() * se and a < -1
    diverged = np.where(k > 200, np.inf, 1.0)
    assert np.isnan(plateau_slope(k, diverged, 150, 300)[0])


def test_schedule_binomial_decision_at_the_critical_count(schedule_instance):
    """R = 12, H0: p ≥ 0.8 at level 1e-3/3: P(K ≤ 3) = 6.2e-5 rejects, P(K ≤ 4) = 5.8e-4 does
    not (binomial tails computed by hand)."""
    from math import comb

    tail = [sum(comb(12, i) * 0.8**i * 0.2 ** (12 - i) for i in range(k + 1)) for k in (3, 4)]
    assert tail[0] <= 1e-3 / 3 < tail[1]
    pred = SCHEDULE.predict(schedule_instance)
    assert SCHEDULE.compare(schedule_instance, pred, _schedule_record(12, 4, 0, 4, 4)).passed
    for which in (0, 2, 3):
        counts = [12, 0, 12, 12]
        counts[which] = 3
        out = SCHEDULE.compare(schedule_instance, pred, _schedule_record(12, *counts))
        assert not out.passed, which
    sim = _schedule_record(12, 12, 0, 12, 12)
    assert SCHEDULE.compare(schedule_instance, pred, sim).passed
    for control in SCHEDULE.negative_controls(schedule_instance, pred, sim):
        assert not SCHEDULE.compare(schedule_instance, control.prediction, sim).passed, \
            control.name
    # the small-step control is decided by the control run's own plateau count
    ctrl = {c.name: c for c in SCHEDULE.negative_controls(schedule_instance, pred, sim)}
    both = _schedule_record(12, 12, 12, 12, 12)
    assert SCHEDULE.compare(schedule_instance, ctrl["small-step-stabilises"].prediction,
                            both).passed


def test_schedule_bad_runs_count_as_targets_without_the_effect(schedule_instance):
    pred = SCHEDULE.predict(schedule_instance)
    sim = _schedule_record(12, 12, 0, 12, 12)
    l1 = np.array(sim.values["l1"])
    l1[:9, 1] = np.nan  # nine long-phase runs blew up
    slope = np.array(sim.values["slope"])
    slope[:9, 0] = np.nan
    out = SCHEDULE.compare(schedule_instance, pred,
                           Simulation({**sim.values, "l1": l1, "slope": slope}))
    assert not out.passed
    assert out.metrics["l1.count"] == 3 and out.metrics["large_plateau.count"] == 3


def test_schedule_stepsizes_are_multiples_of_the_stability_scale(schedule_instance):
    """γ* = 1/(c²‖β_ℓ1‖₁) with ‖β_ℓ1‖₁ ≤ ‖β*‖₁ = √10 (β* is an interpolator)."""
    e = schedule_instance.extra
    assert schedule_instance.params["entry_size"] == 1.0
    assert np.all(e["l1_min"] <= np.abs(e["beta_star"]).sum(axis=1) + 1e-9)
    assert np.allclose(e["gamma_star"], 1.0 / e["l1_min"])
    assert e["certificate"]["accepted"]


def test_schedule_large_initial_curvature_is_outside_the_assumptions(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "wide.npz"
    np.savez(path, X=rng.choice([-1.0, 1.0], size=(8, 400)), y=np.ones(8))
    inst = SCHEDULE.default_instance(0, data=str(path), alpha=0.1, replicates=8)
    assert inst.params["init_curvature"] * 1.05 * np.max(inst.extra["gamma_star"]) >= 2
    assert SCHEDULE.check_instance(inst).status == "outside-assumptions"


@pytest.mark.parametrize("opts, word", [({"alpha": 0.3}, "alpha"),
                                        ({"replicates": 3}, "replicates"),
                                        ({"replicates": 12.5}, "replicates")])
def test_schedule_bad_options_name_the_parameter(opts, word):
    with pytest.raises(ValueError, match=word):
        SCHEDULE.default_instance(0, **opts)


def test_schedule_gaussian_data_is_refused(tmp_path):
    path = tmp_path / "gauss.npz"
    np.savez(path, X=np.random.default_rng(0).standard_normal((10, 30)), y=np.ones(10))
    with pytest.raises(ValueError, match="--data"):
        SCHEDULE.default_instance(0, data=str(path))


@settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SCHEDULE.instances())
def test_large_step_sparsity_on_drawn_instances(instance):
    ev = SCHEDULE.check_instance(instance)
    assert ev.status == "pass", ev.message
    assert all(c.rejected for c in ev.controls)
    m = ev.metrics
    assert m["long_median_l1_excess"] < m["short_median_l1_excess"] < \
        m["small_only_median_l1_excess"]
