"""Property tests of the Papazov, Pesme & Flammarion (AISTATS 2024) momentum claims.

Each claim is checked on instances drawn inside its assumptions (``Claim.instances()``); a
check passes only if its comparison holds and every negative control is rejected. The range of
the implicit-regularisation formula is probed at its boundary: where ``u ± v`` crosses (or
grazes) zero along the MGF, the check must answer "outside-assumptions", never "fail".
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dln_verify.numeric.instances import Instance, gaussian_regression
from dln_verify.numeric.momentum import momentum_gradient_flow
from dln_verify.verify import registry
from dln_verify.verify.claim import Prediction, Simulation

INVARIANT = registry.get("momentum-invariant")
IMPLICIT = registry.get("momentum-implicit-bias")
SPARSITY = registry.get("momentum-sparsity")


def _assert_passes(evidence):
    assert evidence.status == "pass", evidence.message
    assert evidence.controls and all(c.rejected for c in evidence.controls), [
        (c.name, c.message) for c in evidence.controls]


@given(INVARIANT.instances())
def test_momentum_invariant_on_drawn_instances(instance):
    evidence = INVARIANT.check_instance(instance)
    _assert_passes(evidence)
    assert 0.8 <= evidence.metrics["slope"] <= 1.2
    assert 1.7 <= evidence.metrics["modified_slope"] <= 2.3


@given(IMPLICIT.instances())
def test_momentum_implicit_bias_on_drawn_instances(instance):
    evidence = IMPLICIT.check_instance(instance)
    _assert_passes(evidence)
    assert evidence.metrics["max_relative_error"] <= 1e-8
    no_ref = next(c for c in evidence.controls if c.name == "no-reference-point")
    assert no_ref.metric > 1e3 * max(evidence.metrics["max_relative_error"], 1e-15)


@st.composite
def _boundary_instances(draw):
    """Large λ and small α, where momentum overshoot may make u ± v cross zero."""
    seed = draw(st.integers(0, 2**16))
    n = draw(st.integers(5, 12))
    alpha = draw(st.floats(0.05, 0.3))
    lam = draw(st.floats(0.5, 4.0))
    X, y = gaussian_regression(n, 2 * n, seed)
    return Instance(X=X, y=y, seed=seed, name="boundary",
                    params={"alpha": alpha, "lams": [lam], "horizon": 1500.0})


@given(_boundary_instances())
def test_momentum_implicit_bias_range_is_reported_at_the_boundary(instance):
    evidence = IMPLICIT.check_instance(instance)
    assert evidence.status in ("pass", "outside-assumptions"), evidence.message
    run = momentum_gradient_flow(instance.X, instance.y, instance.params["alpha"],
                                 instance.params["lams"][0], 1500.0)
    assert (evidence.status == "outside-assumptions") == (not run.in_range)
    if evidence.status == "outside-assumptions":
        assert "u ± v" in evidence.message and not evidence.passed


def test_known_crossing_is_outside_not_failure():
    """docs/theory/regression.md §5.3: at α = 0.1, λ = 1 (n = 20, d = 40) the formula breaks
    down."""
    X, y = gaussian_regression(20, 40, seed=0)
    inst = Instance(X=X, y=y, seed=0, params={"alpha": 0.1, "lams": [1.0], "horizon": 1500.0})
    evidence = IMPLICIT.check_instance(inst)
    assert evidence.status == "outside-assumptions"


@given(SPARSITY.instances())
def test_momentum_sparsity_on_drawn_seed_blocks(instance):
    evidence = SPARSITY.check_instance(instance)
    _assert_passes(evidence)
    assert evidence.metrics["anchor_error"] <= 1e-7
    assert evidence.metrics["monotone_p_value"] >= 5e-4
    assert evidence.metrics["gap_p_value"] >= 5e-4
    anchor = next(c for c in evidence.controls if c.name == "wrong-gf-anchor")
    assert anchor.metric_name == "anchor_error" and anchor.metric > 1e-2


def test_sparsity_seed_blocks_are_independent():
    """Seed blocks are SeedSequence children: seeds 0 and 1 share no data set."""
    a = SPARSITY.build_instance(seed=0).extra["X_all"]
    b = SPARSITY.build_instance(seed=1).extra["X_all"]
    assert a.shape == b.shape
    assert not any(np.array_equal(x, z) for x in a for z in b)
    again = SPARSITY.build_instance(seed=0).extra["X_all"]
    assert np.array_equal(a, again)


def _sparsity_parts(max_residual=6.4e-6, n_non_monotone=0, n_wide_gaps=0, anchor_offset=0.0):
    """Synthetic prediction/simulation on 6 data sets: monotone errors from a GF anchor of 0.09,
    a gap of 0.005, except ``n_non_monotone`` data sets whose errors fall by 0.01 between the
    first two λ and ``n_wide_gaps`` data sets whose β_m = 0.5 errors sit 0.05 higher."""
    S, lams = 6, np.array([0.1, 0.3, 1.0])
    err = np.broadcast_to(0.1 + 0.05 * lams, (S, 2, 3)).copy()
    err[:, 1] -= 0.005
    err[:n_non_monotone, :, 1] = err[:n_non_monotone, :, 0] - 0.01
    err[S - n_wide_gaps:, 1] += 0.05
    gf = np.full(S, 0.09)
    pred = Prediction("synthetic", {"direction": 1, "gf_error": gf})
    sim = Simulation(values={"lams": lams, "control_lams": lams / 5, "errors": err,
                             "control_errors": err[:, 0] + 0.1, "momenta": [0.9, 0.5],
                             "gf_errors": gf + anchor_offset,
                             "max_residual": max_residual, "iterations": 1})
    return pred, sim


def test_sparsity_residual_bound():
    """The residual bound is 1e-4 (tolerance_note: ≈ 15× the worst measured 6.4e-6)."""
    inst = SPARSITY.build_instance(seed=0)
    ok = SPARSITY.compare(inst, *_sparsity_parts(6.4e-6))
    assert ok.passed and SPARSITY.tol("max_residual").value == 1e-4
    bad = SPARSITY.compare(inst, *_sparsity_parts(5e-4))
    assert not bad.passed and bad.metric == "max_residual"


def test_sparsity_binomial_tests_have_the_stated_critical_counts():
    """6 data sets, H0 rates 0.9 / 0.1, level 1e-3/2 each: P(K ≤ 1 | 6, 0.9) = 1e-6 + 5.4e-5
    rejects, P(K ≤ 2) = 1.27e-3 does not (hand-computed); the gap test mirrors it."""
    inst = SPARSITY.build_instance(seed=0)
    for k, passed in [(0, True), (4, True), (5, False), (6, False)]:
        out = SPARSITY.compare(inst, *_sparsity_parts(n_non_monotone=k))
        assert out.passed is passed, (k, out.message)
        assert out.metrics["monotone_count"] == 6 - k
        if not passed:
            assert out.metric == "monotone_p_value"
    assert abs(SPARSITY.compare(inst, *_sparsity_parts(n_non_monotone=5)).metrics[
        "monotone_p_value"] - 5.5e-5) < 1e-12
    for k, passed in [(0, True), (4, True), (5, False), (6, False)]:
        out = SPARSITY.compare(inst, *_sparsity_parts(n_wide_gaps=k))
        assert out.passed is passed, (k, out.message)
        assert out.metrics["gap_exceed_count"] == k
        if not passed:
            assert out.metric == "gap_p_value"


def test_sparsity_rejects_a_wrong_anchor():
    """An anchor 1e-3 below the simulated gradient flow (every sequence still increases from
    it) is rejected by the anchor check, not accepted by the monotonicity test."""
    inst = SPARSITY.build_instance(seed=0)
    out = SPARSITY.compare(inst, *_sparsity_parts(anchor_offset=1e-3))
    assert not out.passed and out.metric == "anchor_error"
    assert out.metrics["monotone_count"] == 6


def test_invariant_figure_shows_collapse_and_control():
    evidence = INVARIANT.check(seed=0)
    collapse = next(f for f in evidence.figures if f.name == "momentum-invariant-collapse")
    ref = next(s for s in collapse.series if s.style == "reference")
    runs = [s for s in collapse.series if s.style == "line"]
    ctrl = [s for s in collapse.series if s.style == "points"]
    scale = np.max(np.abs(ref.y))
    spread_runs = max(np.max(np.abs(np.subtract(s.y, ref.y))) for s in runs[-3:]) / scale
    spread_ctrl = max(np.max(np.abs(np.subtract(s.y, ref.y[::8]))) for s in ctrl) / scale
    assert spread_runs < 0.05 < spread_ctrl
