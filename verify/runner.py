"""Run claims and collect :class:`~dln_verify.verify.claim.Evidence`, turning crashes into error
records.

Bad user input (a :class:`ValueError` raised while validating options or building the instance)
propagates so that the CLI can exit with code 2; any exception inside the check itself becomes an
``error`` record so that one broken claim does not hide the verdicts of the others.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from dln_verify.numeric.progress import ProgressEvent, reporting
from dln_verify.symbolic.errors import OutsideAssumptions
from dln_verify.verify import registry
from dln_verify.verify.claim import PROFILES, Evidence

__all__ = ["run_claims", "error_evidence"]


def error_evidence(claim_id: str, seed: int, profile: str, exc: BaseException) -> Evidence:
    """An Evidence record for a claim whose check raised an unexpected exception."""
    claim = registry.get(claim_id)
    last = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {last.filename.rsplit('/', 1)[-1]}:{last.lineno}" if last else ""
    return Evidence(
        claim=claim_id, title=claim.title, kind=claim.kind, status="error", passed=False,
        metric="none", metrics={}, tolerance={}, seed=seed, profile=profile, parameters={},
        controls=(), message=f"internal error: {type(exc).__name__}: {exc}{where}",
        reference=claim.reference.cite(),
    )


def run_claims(
    claim_ids: Iterable[str],
    *,
    seed: int = 0,
    profile: str = "quick",
    options: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    live: Callable[[str], Callable[[ProgressEvent], Any] | None] | None = None,
) -> list[Evidence]:
    """Check each claim in turn; report progress through ``progress`` (one line per claim).

    ``live``, if given, is called once per claim with a label (``"[1/3] gf-depth"``) and returns
    a callback (or None) that receives the :class:`~dln_verify.numeric.progress.ProgressEvent`
    of that claim's check: its phases (``predict``, ``simulate``, ``controls``) and, nested in
    them, the simulators' own reports (the command line draws them as bars). It observes only:
    the results are the same with and without it.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    ids = list(claim_ids)
    claims = [registry.get(i) for i in ids]  # unknown ids fail before any work starts
    options = {k: v for k, v in (options or {}).items() if v is not None}
    for key in options:
        takers = [c.id for c in claims if key in c.options]
        if not takers:
            raise ValueError(f"option --{key} is not accepted by any of: {', '.join(ids)}")
        if progress and len(takers) < len(claims):
            progress(f"note: option --{key} applies only to {', '.join(takers)}")
    # Build every instance first: bad input fails before any simulation starts.
    instances: list[Any] = []
    build_seconds: list[float] = []  # reported with each claim's time (set-up can dominate)
    for claim in claims:
        mine = {key: val for key, val in options.items() if key in claim.options}
        start = time.perf_counter()
        try:
            instances.append(claim.build_instance(seed=seed, profile=profile, **mine))
        except OutsideAssumptions as exc:  # not bad input: the theorem does not cover it
            instances.append(claim.undecided_evidence(seed, profile, mine, str(exc)))
        build_seconds.append(time.perf_counter() - start)
    results = []
    for k, (claim, instance) in enumerate(zip(claims, instances, strict=True), 1):
        if progress:
            progress(f"[{k}/{len(claims)}] {claim.id} ...")
        start = time.perf_counter()
        if isinstance(instance, Evidence):
            results.append(instance)
            if progress:
                progress(f"[{k}/{len(claims)}] {claim.id}: {instance.status}")
            continue
        callback = live(f"[{k}/{len(claims)}] {claim.id}") if live is not None else None
        try:
            with reporting(callback):
                evidence = claim.check_instance(instance, profile=profile)
        except Exception as exc:  # noqa: BLE001 - recorded as an error verdict, not hidden
            evidence = error_evidence(claim.id, seed, profile, exc)
        if progress:
            checked = time.perf_counter() - start
            progress(f"[{k}/{len(claims)}] {claim.id}: {evidence.status} "
                     f"({build_seconds[k - 1] + checked:.1f} s: instance "
                     f"{build_seconds[k - 1]:.1f} s, check {checked:.1f} s)")
        results.append(evidence)
    return results
