"""Property tests of the noise claims: SGF effective initialisation (Pesme, Pillaud-Vivien &
Flammarion 2021) and the label-noise Lasso (Pillaud-Vivien, Reygner & Flammarion 2022).

Each claim is checked on instances drawn inside its assumptions (``Claim.instances()``); a check
passes only if its comparison holds and every negative control is rejected.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from dln_verify.verify import registry

SGF = registry.get("sgf-effective-init")
LABEL = registry.get("label-noise-lasso")


def _assert_passes(evidence):
    assert evidence.status == "pass", evidence.message
    assert evidence.controls and all(c.rejected for c in evidence.controls), [
        (c.name, c.message) for c in evidence.controls]


@settings(max_examples=2)
@given(SGF.instances())
def test_sgf_effective_init_on_drawn_instances(instance):
    evidence = SGF.check_instance(instance)
    _assert_passes(evidence)
    assert abs(evidence.metrics["slope"] - 0.5) <= 0.25
    # the controls' invariant defect is far outside the scheme's martingale law
    assert min(c.metric for c in evidence.controls) > evidence.metrics["invariant_z"]


@settings(max_examples=2)
@given(LABEL.instances())
def test_label_noise_lasso_on_drawn_instances(instance):
    evidence = LABEL.check_instance(instance)
    _assert_passes(evidence)
    for par in ("uv", "uu"):
        m = evidence.metrics
        assert m[f"{par}.distance"] < min(m[f"{par}.distance_2lambda"],
                                          m[f"{par}.distance_half_lambda"])


def test_sgf_user_data_and_options_are_validated():
    with pytest.raises(ValueError, match="alpha"):
        SGF.check(seed=0, alpha=50.0)
    with pytest.raises(ValueError, match="stepsize"):
        SGF.check(seed=0, stepsize=10.0)


def test_label_noise_user_data_and_options_are_validated():
    with pytest.raises(ValueError, match="noise"):
        LABEL.check(seed=0, noise=-1.0)
    with pytest.raises(ValueError, match="batch_size"):
        LABEL.check(seed=0, batch_size=1000)
    with pytest.raises(ValueError, match="X|data"):
        LABEL.check(seed=0, data=(np.zeros((5, 3)), np.ones(5)))


def test_label_noise_default_data_are_redrawn_until_a_factor_two_error_is_detectable():
    from dln_verify.verify.claims.label_noise_lasso import planted_data

    # seed 0: the seed's own data (draw 0), exactly as before the draw rule
    inst = LABEL.default_instance(seed=0)
    X0, y0 = planted_data(0)
    assert inst.params["draw"] == 0
    assert np.array_equal(inst.X, X0) and np.array_equal(inst.y, y0)
    # seed 1000: every planted entry is negative, so the non-negative Lasso of u⊙u is 0 at λ,
    # 2λ and λ/2 (no factor-2 error detectable): redrawn, and the redrawn data qualify
    X0, y0 = planted_data(1000)
    own = LABEL.default_instance(seed=1000, data=(X0, y0))
    assert own.params["draw"] == 0
    assert not all(s > 0 for s in LABEL._separations(X0, y0, own.params).values())
    inst = LABEL.default_instance(seed=1000)
    assert inst.params["draw"] >= 1 and not np.array_equal(inst.X, X0)
    assert all(s > 0 for s in LABEL._separations(inst.X, inst.y, inst.params).values())
    # the rule is deterministic, and the user's data are never redrawn: outside-assumptions
    assert np.array_equal(LABEL.default_instance(seed=1000).X, inst.X)
    evidence = LABEL.check(seed=1000, data=(X0, y0))
    assert evidence.status == "outside-assumptions", evidence.message
