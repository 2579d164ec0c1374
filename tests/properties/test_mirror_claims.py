"""Claims mirror-horizon and gd-max-margin: pass with every control rejected; property tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dln_verify.verify import registry

_EVIDENCE: dict = {}


def _evidence(claim_id):
    """Seed-0 evidence, computed once for this module (conformance checks the verdict too)."""
    if claim_id not in _EVIDENCE:
        _EVIDENCE[claim_id] = registry.get(claim_id).check(seed=0)
    return _EVIDENCE[claim_id]


@pytest.mark.parametrize("claim_id", ["mirror-horizon", "gd-max-margin"])
def test_default_check_is_certified_with_log_log_figure(claim_id):
    ev = _evidence(claim_id)
    assert ev.kind == "order" and ev.passed, ev.message
    assert ev.certificate["accepted"]
    fig = ev.figures[0]
    assert fig.xscale == "log" and fig.yscale == "log"
    assert any(s.style == "reference" for s in fig.series)


def test_non_quadratic_control_has_positive_limit():
    """The ℓ2 direction for non-quadratic potentials: the extrapolated angle limit is most of
    the final angle (limit fraction near 1), above the triangle-inequality floor."""
    ev = _evidence("mirror-horizon")
    assert ev.metrics["cosh.limit_fraction"] <= 0.5
    ctl = next(c for c in ev.controls if c.name == "l2-instead-of-horizon[cosh]")
    assert ctl.metric_name == "cosh.limit_fraction"
    assert ctl.rejected and ctl.metric_name.endswith(".limit_fraction") and ctl.metric > 0.5
    floors = [float(x.split()[-1]) for x in ctl.description.split("floor of its limit "
                                                                  "fraction: ")[1].split(", ")]
    assert min(floors) > 0.5 and ctl.metric >= min(floors)


@pytest.mark.parametrize("claim_id", ["gd-max-margin"])
def test_gd_controls_rejected_on_limit(claim_id):
    ev = _evidence(claim_id)
    for ctl in ev.controls:
        assert ctl.rejected and ctl.metric_name.endswith(".limit_fraction") and ctl.metric > 0.5


def test_limit_fraction_separates_zero_and_positive_limits():
    import numpy as np

    from dln_verify.verify.checks import direction_order_metrics

    lt = np.geomspace(10, 1000, 21)
    for shape, r in (("1/log t", 1 / lt), ("loglog/log t", np.log(lt) / lt)):
        to_zero = direction_order_metrics(lt, 3 * r, r, shape)
        stuck = direction_order_metrics(lt, 0.05 + 3 * r, r, shape)
        assert abs(to_zero["limit_fraction"]) < 1e-9
        assert stuck["limit_fraction"] > 0.5
    # the slower law fitted with the faster one: still recognised as tending to 0
    slow = direction_order_metrics(lt, np.log(lt) / lt, 1 / lt, "1/log t")
    assert slow["limit_fraction"] < 0.5
    # a late increase is reported by the angle ratio
    bump = 3 / lt
    bump[-3] *= 1.5
    assert direction_order_metrics(lt, bump, 1 / lt)["late_angle_ratio"] > 1


def test_deciding_metric_is_the_failed_criterion():
    from dln_verify.verify.checks import verdict

    ok, metric, failed = verdict({"cubic: limit": (True, "cubic.limit_fraction"),
                                  "cubic: angle decreasing": (False, "cubic.late_angle_ratio")},
                                 "cubic.limit_fraction")
    assert not ok and metric == "cubic.late_angle_ratio" and failed == ["cubic: angle decreasing"]


def test_every_potential_has_its_own_rejected_control():
    """One control per potential, each rejected by that potential's own criterion, not by
    another run's failure."""
    ev = _evidence("mirror-horizon")
    names = ["quadratic", "cubic", "cosh", "asymmetric"]
    assert sorted(c.name.split("[")[1].rstrip("]") for c in ev.controls) == sorted(names)
    for ctl in ev.controls:
        own = ctl.name.split("[")[1].rstrip("]")
        assert ctl.rejected and ctl.metric_name.startswith(own + "."), ctl


def test_margin_limit_separates_slow_decay_from_positive_limit():
    import numpy as np

    from dln_verify.verify.checks import MARGIN_KAPPA, late_window, limit_coefficients

    lt = np.geomspace(10.0, 1e6, 16)
    c = limit_coefficients(lt[late_window(lt)], "margin")
    slow = 0.03 * lt ** -MARGIN_KAPPA  # the slowest law granted: limit 0
    stuck = 0.3 + 0.003 * lt ** -0.2  # a gap tending to 0.3
    assert abs(c @ slow[late_window(lt)]) < 1e-12
    assert (c @ stuck[late_window(lt)]) / stuck[-1] > 0.5


def test_user_potential_refusal_is_outside_assumptions():
    """A potential whose hypotheses SymPy refutes gives status outside-assumptions with the
    reason (the CLI's --potential still refuses it before any run)."""
    claim = registry.get("mirror-horizon")
    ev = claim.check(seed=0, potential="exp(x) - x")
    assert ev.status == "outside-assumptions" and "non-coercive" in ev.message
    ev = claim.check(seed=0, potential="sqrt(x)")
    assert ev.status == "outside-assumptions" and "not defined" in ev.message


def test_non_unique_max_margin_is_outside_assumptions():
    """A null feature leaves a free ℓ∞ coordinate: the cosh prediction is a face, not a point."""
    import numpy as np

    from dln_verify.numeric.instances import Instance

    claim = registry.get("mirror-horizon")
    inst = claim.default_instance(seed=0)
    X = np.hstack([inst.X, np.zeros((inst.X.shape[0], 1))])
    bad = Instance(X, inst.y, 0, {**inst.params, "potentials": ["quadratic", "cosh"]})
    ev = claim.check_instance(bad)
    assert ev.status == "outside-assumptions" and "not unique" in ev.message
    assert "cosh" in ev.message and "quadratic:" not in ev.message


def test_user_potential_runs_pipeline():
    ev = registry.get("mirror-horizon").check(seed=1, potential="x**2 + x**4")
    assert ev.passed, ev.message
    claim = registry.get("mirror-horizon")
    assert claim.tol("*.limit_fraction").holds(ev.metrics["x**2 + x**4.limit_fraction"])


_MH = registry.get("mirror-horizon")
_GD = registry.get("gd-max-margin")


@given(_MH.instances())
def test_mirror_horizon_property(instance):
    claim = _MH
    ev = claim.check_instance(instance)
    assert ev.passed, ev.message


@given(_GD.instances())
def test_gd_max_margin_property(instance):
    ev = _GD.check_instance(instance)
    assert ev.passed, ev.message


@given(st.integers(0, 2**20))
def test_default_draw_obeys_the_regime_rule(seed):
    """The default instance's data satisfy the data-derived regime rule of
    docs/theory/classification.md §1.8 for cosh (unless every redraw failed, then simulate says
    inconclusive), and the rule's inputs are the certified ℓ∞ solution's."""
    from dln_verify.verify.claims.mirror_horizon import MAX_REDRAWS, REGIME_K, regime_failures

    inst = _MH.default_instance(seed=seed)
    if inst.params["draw"] < MAX_REDRAWS:
        assert regime_failures(inst.X, inst.y, ["cosh"]) == {}
    from dln_verify.numeric.convex.max_margin import max_margin, regime_gap

    sol = max_margin(inst.X, inst.y, "linf")
    assert sol.certificate.accepted
    gap = regime_gap(sol, inst.X, inst.y, REGIME_K)
    assert gap.horizon >= 0 and gap.asymptotic_constant > 0


def test_regime_rule_redraws_seed_9_and_reports_user_data():
    """Seed 9's own data (a sample at margin 1.008) fail the rule: redrawn by default."""
    from dln_verify.numeric.instances import separable_classification
    from dln_verify.verify.claims.mirror_horizon import regime_failures

    X, y = separable_classification(8, 16, 9)
    bad = regime_failures(X, y, ["quadratic", "cosh"])
    assert list(bad) == ["cosh"] and bad["cosh"].horizon > 400
    assert _MH.default_instance(seed=9).params["draw"] >= 1
