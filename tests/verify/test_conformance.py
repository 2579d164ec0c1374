"""Conformance suite: every registered claim honours the contract (cf. sklearn check_estimator).

Each claim is checked once at seed 0 (quick profile) and the evidence is shared by the tests.
The template claim (not registered) runs through the same suite, so the file users copy is
known to conform.
"""

from __future__ import annotations

import ast
import fnmatch
import json
from pathlib import Path

import pytest

from dln_verify.verify import registry
from dln_verify.verify.claim import Claim, FigureSpec, Option, Tolerance
from dln_verify.verify.claims.template_claim import MinNormLeastSquares

CLAIM_IDS = [*registry.ids(), MinNormLeastSquares.id]
_CACHE: dict[str, object] = {}


def claim_of(claim_id: str) -> Claim:
    return MinNormLeastSquares() if claim_id == MinNormLeastSquares.id else registry.get(claim_id)


def evidence(claim_id: str):
    if claim_id not in _CACHE:
        _CACHE[claim_id] = claim_of(claim_id).check(seed=0)
    return _CACHE[claim_id]


def test_catalogue_is_not_empty_and_ids_are_slugs():
    assert CLAIM_IDS
    for claim_id in CLAIM_IDS:
        assert claim_id == claim_id.lower() and " " not in claim_id


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_declarations(claim_id):
    claim = claim_of(claim_id)
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


#: How the other α convention (Woodworth's α_W = α/√2) would show in output; every α a claim
#: reports is the one --alpha takes (docs/theory/conventions.md §2.5).
OTHER_ALPHA_MARKERS = ("alpha_w", "alpha_W", "α_W", "α_w", "\\alpha_W")


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_one_alpha_convention_in_the_output(claim_id):
    """No parameter, metric, tolerance, note, message or figure label names α_W."""
    text = json.dumps(evidence(claim_id).to_json_dict(), ensure_ascii=False)
    found = [m for m in OTHER_ALPHA_MARKERS if m in text]
    assert not found, found


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_instances_are_reproducible(claim_id):
    """Same seed, same instance; another seed, other data."""
    claim = claim_of(claim_id)
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
    again = claim_of(claim_id).check(seed=0)
    first = evidence(claim_id)
    assert again.status == first.status
    assert again.metrics == first.metrics


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_tolerances_are_declared_once_and_name_reported_metrics(claim_id):
    """Every criterion is a declared Tolerance with a source, and names a metric the claim
    reports (``*`` patterns name families such as ``quadratic.slope``)."""
    claim = claim_of(claim_id)
    assert claim.tolerances, "a claim declares the tolerances it decides with"
    ev = evidence(claim_id)
    for tol in claim.tolerances:
        assert isinstance(tol, Tolerance) and tol.source.strip()
        assert fnmatch.filter(ev.metrics, tol.metric) or tol.applies, (
            f"tolerance on {tol.metric!r} names no reported metric of {claim_id}")
        assert ev.tolerance[tol.metric] == tol.display
    assert [t["metric"] for t in ev.tolerances] == [t.metric for t in claim.tolerances]


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_options_are_declared_records(claim_id):
    for name, option in claim_of(claim_id).options.items():
        assert isinstance(option, Option) and option.name == name and option.help


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_evidence_rebuilds_from_its_json_record(claim_id):
    """A report can be rebuilt from the results file alone: the record round-trips."""
    from dln_verify.verify.claim import Evidence

    record = json.loads(json.dumps(evidence(claim_id).to_json_dict()))
    again = Evidence.from_json_dict(record).to_json_dict()
    assert json.dumps(again, sort_keys=True) == json.dumps(record, sort_keys=True)
    assert record["statement"] and record["reference"] and record["tolerances"]


def test_no_claim_module_imports_another():
    claims_dir = Path(registry.__file__).parent / "claims"
    for path in claims_dir.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("dln_verify.verify.claims"), (
                    f"{path.name} imports {node.module}: shared code belongs in verify/checks")
