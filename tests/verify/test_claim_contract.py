"""The orchestration in Claim.check: controls must be rejected, divergence is reported."""

import json

import pytest

from tests.verify.dummy import DummyClaim


def test_passing_claim_records_everything():
    ev = DummyClaim().check(seed=3)
    assert ev.passed and ev.status == "pass"
    assert [c.rejected for c in ev.controls] == [True]
    record = json.loads(json.dumps(ev.to_json_dict()))
    for key in ("claim", "passed", "kind", "metrics", "tolerance", "seed", "parameters",
                "controls"):
        assert key in record
    assert record["controls"][0].keys() >= {"name", "rejected", "metric"}
    assert record["seed"] == 3


def test_control_not_rejected_fails_the_claim():
    claim = DummyClaim()
    claim.mode = "weak-control"  # the control predicts the right value: cannot be rejected
    ev = claim.check(seed=0)
    assert not ev.passed and ev.status == "fail"
    assert ev.controls[0].rejected is False


def test_claim_without_controls_cannot_pass():
    claim = DummyClaim()
    claim.mode = "no-controls"
    ev = claim.check(seed=0)
    assert not ev.passed
    assert any("negative control" in note for note in ev.notes)


def test_divergence_is_reported_not_compared():
    claim = DummyClaim()
    claim.mode = "diverge"
    ev = claim.check(seed=0)
    assert ev.status == "diverged" and not ev.passed
    assert "overflow" in ev.message


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"seed": -1}, "seed"), ({"profile": "fast"}, "profile"), ({"colour": "red"}, "colour")],
)
def test_bad_arguments_name_the_parameter(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        DummyClaim().check(**kwargs)


def test_uncertified_prediction_is_an_error_not_a_refutation():
    claim = DummyClaim()
    claim.mode = "uncertified"
    ev = claim.check(seed=0)
    assert ev.status == "error" and not ev.passed and not ev.controls
    assert "certificate" in ev.message
