"""Claims mirror-horizon and gd-max-margin: pass with every control rejected; property tests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

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


def test_non_quadratic_control_has_flat_slope():
    """The ℓ2 direction for non-quadratic potentials: the angle stops decreasing."""
    ev = _evidence("mirror-horizon")
    assert ev.metrics["cosh.slope"] < -0.7
    ctl = ev.controls[0]
    assert ctl.rejected and ctl.metric > 0.5


def test_user_potential_refusal_is_a_value_error():
    claim = registry.get("mirror-horizon")
    with pytest.raises(ValueError, match="non-coercive"):
        claim.check(seed=0, potential="exp(x) - x")
    with pytest.raises(ValueError, match="not defined"):
        claim.check(seed=0, potential="sqrt(x)")


def test_user_potential_runs_pipeline():
    ev = registry.get("mirror-horizon").check(seed=1, potential="x**2 + x**4")
    assert ev.passed, ev.message
    assert "x**2 + x**4.slope" in ev.metrics


_MH = registry.get("mirror-horizon")
_GD = registry.get("gd-max-margin")


@settings(max_examples=3)
@given(_MH.instances())
def test_mirror_horizon_property(instance):
    claim = _MH
    ev = claim.check_instance(instance)
    assert ev.passed, ev.message


@settings(max_examples=3)
@given(_GD.instances())
def test_gd_max_margin_property(instance):
    ev = _GD.check_instance(instance)
    assert ev.passed, ev.message
