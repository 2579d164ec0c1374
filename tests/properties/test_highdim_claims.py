"""Property tests of the high-dimensional SGD claim (Malaxechebarría, Paquette, Fazel &
Drusvyatskiy, arXiv:2605.17177): the risk curves of streaming SGD at equal t = k/d concentrate
(spread ∝ d^{-1/2}) around the limit ODE of ``docs/theory/highdim.md`` §2.

Each check runs on instances drawn inside the claim's assumptions (``Claim.instances()``, a
cheaper d grid); it passes only if its comparison holds and every negative control is rejected.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from dln_verify.verify import registry

HIGHDIM = registry.get("highdim-sgd")


@settings(max_examples=3)
@given(HIGHDIM.instances())
def test_highdim_sgd_on_drawn_instances(instance):
    evidence = HIGHDIM.check_instance(instance)
    assert evidence.status == "pass", evidence.message
    assert evidence.controls and all(c.rejected for c in evidence.controls), [
        (c.name, c.message) for c in evidence.controls]
    slopes = [v for k, v in evidence.metrics.items() if k.endswith(".slope")]
    assert len(slopes) == 6 and evidence.metrics["spread_slope_z"] <= 4.5


def test_every_control_is_rejected_by_the_limit_or_the_spread_test():
    evidence = HIGHDIM.check(seed=3)
    assert evidence.status == "pass", evidence.message
    by_name = {c.name: c for c in evidence.controls}
    assert set(by_name) == {"step-gamma-over-sqrt-d", "noise-constant-times-2",
                            "population-gradient-flow"}
    tol = {t.metric: t for t in HIGHDIM.tolerances}
    for control in evidence.controls:
        assert control.rejected, control.message
        assert not tol[control.metric_name].holds(control.metric)
    # the wrong constants are far from the extrapolated mean (not a borderline rejection)
    assert by_name["noise-constant-times-2"].metric > 2 * tol["limit_z"].value
    assert by_name["population-gradient-flow"].metric > 2 * tol["limit_z"].value


def test_options_are_validated_and_data_is_refused():
    with pytest.raises(ValueError, match="alpha"):
        HIGHDIM.check(seed=0, alpha=5.0)
    with pytest.raises(ValueError, match="stepsize"):
        HIGHDIM.check(seed=0, alpha=0.5, stepsize=3.0)  # α²γ above 0.5
    with pytest.raises(ValueError, match="stepsize"):
        HIGHDIM.check(seed=0, alpha=0.5, stepsize=0.4)  # α²γ below 0.2
    with pytest.raises(ValueError, match="noise"):
        HIGHDIM.check(seed=0, noise=-0.5)
    with pytest.raises(ValueError, match="data"):
        HIGHDIM.check(seed=0, data=(np.zeros((2, 3)), np.ones(2)))


def test_instance_is_seeded_and_sparse_with_unit_norm():
    first, again, other = (HIGHDIM.build_instance(seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(first.X, again.X)
    assert not np.array_equal(first.X, other.X)
    assert first.X.shape == (1, 3) and np.linalg.norm(first.X) == pytest.approx(1.0)
    assert first.params["d"] == [125, 250, 500, 1000, 2000]
