"""Conformance suite: every registered claim honours the contract (cf. sklearn check_estimator).

Each claim is checked once at seed 0 (quick profile) and the evidence is shared by the tests.
"""

from __future__ import annotations

import json

import pytest

from dln_verify.verify import registry
from dln_verify.verify.claim import Claim, FigureSpec

CLAIM_IDS = registry.ids()
_CACHE: dict[str, object] = {}


def evidence(claim_id: str):
    if claim_id not in _CACHE:
        _CACHE[claim_id] = registry.get(claim_id).check(seed=0)
    return _CACHE[claim_id]


def test_catalogue_is_not_empty_and_ids_are_slugs():
    assert CLAIM_IDS
    for claim_id in CLAIM_IDS:
        assert claim_id == claim_id.lower() and " " not in claim_id


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_declarations(claim_id):
    claim = registry.get(claim_id)
    assert isinstance(claim, Claim)
    assert claim.kind in {"tight", "bound", "order", "statistical"}
    assert claim.title and claim.statement.strip()
    assert claim.reference.year > 1990 and claim.reference.theorem
    assert claim.tolerance_note.strip(), "tolerances must be explained"
    assert (type(claim).__doc__ or "").strip(), "the claim class needs a docstring"
    from hypothesis.strategies import SearchStrategy

    assert isinstance(claim.instances(), SearchStrategy)


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_default_check_passes_with_every_control_rejected(claim_id):
    ev = evidence(claim_id)
    assert ev.controls, "every claim ships at least one negative control"
    assert all(c.rejected for c in ev.controls), [c.name for c in ev.controls if not c.rejected]
    assert ev.passed, ev.message
    assert ev.metric in ev.metrics


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_evidence_serialises_and_has_figures(claim_id):
    ev = evidence(claim_id)
    record = json.loads(json.dumps(ev.to_json_dict(), allow_nan=False))
    assert record["claim"] == claim_id and record["seed"] == 0
    assert record["parameters"]
    assert ev.figures and all(isinstance(f, FigureSpec) for f in ev.figures)
    for fig in ev.figures:
        assert fig.series and any(s.style == "reference" for s in fig.series), (
            f"figure {fig.name} must draw the theory reference"
        )


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_instances_are_reproducible(claim_id):
    """Same seed, same instance; another seed, other data."""
    claim = registry.get(claim_id)
    first = claim.build_instance(seed=5)
    second = claim.build_instance(seed=5)
    other = claim.build_instance(seed=6)
    assert (first.X == second.X).all() and (first.y == second.y).all()
    assert first.parameters() == second.parameters()
    assert first.X.shape != other.X.shape or not (first.X == other.X).all()


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_check_is_reproducible(claim_id):
    """Checking the same seed twice gives the same verdict and the same metrics: every random
    run is seeded (the first check is the cached seed-0 evidence)."""
    again = registry.get(claim_id).check(seed=0)
    first = evidence(claim_id)
    assert again.status == first.status
    assert again.metrics == first.metrics
