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
