"""The claim contract: records exchanged between the layers and the :class:`Claim` base class.

Data flow (``DESIGN.md``)::

    Instance --predict--> Prediction --+
        |                              +--compare--> Comparison --> Evidence --> report
        +----simulate---> Simulation --+

A claim passes only if its own comparison holds **and** every negative control (a deliberately
wrong prediction, fed through the *same* comparison) is rejected. Records hold plain arrays,
floats and strings so that they serialise to JSON without custom code.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from dln_verify.numeric.instances import Instance
from dln_verify.numeric.validation import check_seed

__all__ = [
    "Kind",
    "Status",
    "Reference",
    "Prediction",
    "Simulation",
    "Comparison",
    "NegativeControl",
    "ControlOutcome",
    "Series",
    "FigureSpec",
    "Evidence",
    "Claim",
    "PROFILES",
]

Kind = Literal["tight", "bound", "order", "statistical"]
Status = Literal["pass", "fail", "outside-assumptions", "diverged", "error"]
PROFILES = ("quick", "thorough")


def to_plain(value: Any) -> Any:
    """Convert numpy scalars/arrays (recursively) to JSON-ready Python objects."""
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist())
    if isinstance(value, np.generic):
        return to_plain(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Reference:
    """Bibliographic reference of the theorem a claim checks."""

    authors: str
    year: int
    title: str
    venue: str
    theorem: str
    arxiv: str = ""

    def cite(self) -> str:
        arxiv = f", arXiv:{self.arxiv}" if self.arxiv else ""
        return f"{self.authors} ({self.year}), {self.title}, {self.venue}, {self.theorem}{arxiv}"

    @property
    def short(self) -> str:
        first = self.authors.split(",")[0].split(" and ")[0].strip().split()[-1]
        etal = " et al." if ("," in self.authors or " and " in self.authors) else ""
        return f"{first}{etal} {self.year}"


@dataclass(frozen=True)
class Prediction:
    """What the theory predicts for an instance.

    ``values`` holds named arrays/floats (e.g. ``beta``, ``slope``); ``certificate`` holds solver
    status and residuals (e.g. ``status``, ``kkt_residual``, ``primal_residual``) and, where a
    solver was involved, ``accepted``: if it is False the check reports status ``error`` (the
    solve failed) instead of comparing — a failed solve never counts as a refuted theorem.
    """

    label: str
    values: Mapping[str, Any]
    certificate: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Simulation:
    """What the dynamics did: named outputs, a divergence flag and diagnostics."""

    values: Mapping[str, Any]
    diverged: bool = False
    outside_assumptions: bool = False
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison:
    """Outcome of comparing one prediction with one simulation.

    Attributes
    ----------
    passed : bool
        Whether the claim's criterion holds.
    metric : str
        Name of the deciding metric in ``metrics`` (reported for negative controls).
    metrics : dict
        Named numbers; all finite or the string forms ``"inf"``/``"nan"``.
    tolerance : dict
        The thresholds used, by name (numbers or short strings such as ``"[0.8, 1.2]"``).
    message : str
        One sentence explaining the verdict.
    """

    passed: bool
    metric: str
    metrics: Mapping[str, float]
    tolerance: Mapping[str, Any]
    message: str = ""


@dataclass(frozen=True)
class NegativeControl:
    """A deliberately wrong prediction that the claim's comparison must reject.

    If ``simulation`` is given it replaces the claim's simulation (for controls that change how
    runs are paired rather than what is predicted).
    """

    name: str
    description: str
    prediction: Prediction
    simulation: Simulation | None = None


@dataclass(frozen=True)
class ControlOutcome:
    name: str
    description: str
    rejected: bool
    metric: float
    metric_name: str
    message: str = ""


@dataclass(frozen=True)
class Series:
    """One curve/point set of a figure. ``style`` is ``line``, ``points`` or ``reference``."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    style: str = "line"


@dataclass(frozen=True)
class FigureSpec:
    """Renderer-independent figure description drawn by :mod:`dln_verify.verify.figures`."""

    name: str
    title: str
    xlabel: str
    ylabel: str
    series: tuple[Series, ...]
    xscale: str = "linear"
    yscale: str = "linear"
    caption: str = ""


@dataclass(frozen=True)
class Evidence:
    """Everything a report needs about one checked claim."""

    claim: str
    title: str
    kind: str
    status: str
    passed: bool
    metric: str
    metrics: Mapping[str, float]
    tolerance: Mapping[str, Any]
    seed: int | None
    profile: str
    parameters: Mapping[str, Any]
    controls: tuple[ControlOutcome, ...]
    message: str
    reference: str
    figures: tuple[FigureSpec, ...] = ()
    certificate: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    elapsed_s: float = 0.0

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON-Lines record of ``dln-verify check --json`` (fields of ``DESIGN.md``)."""
        return to_plain(
            {
                "claim": self.claim,
                "passed": self.passed,
                "status": self.status,
                "kind": self.kind,
                "metric": self.metric,
                "metrics": dict(self.metrics),
                "tolerance": dict(self.tolerance),
                "seed": self.seed,
                "profile": self.profile,
                "parameters": dict(self.parameters),
                "controls": [
                    {"name": c.name, "rejected": c.rejected, "metric": c.metric,
                     "metric_name": c.metric_name, "description": c.description}
                    for c in self.controls
                ],
                "certificate": dict(self.certificate),
                "message": self.message,
                "reference": self.reference,
                "notes": list(self.notes),
                "elapsed_s": round(self.elapsed_s, 3),
            }
        )


class Claim(ABC):
    """Base class of a verifiable claim (one class per claim, one module per paper).

    Subclasses set the class attributes and implement :meth:`default_instance`,
    :meth:`predict`, :meth:`simulate`, :meth:`compare` and :meth:`negative_controls`; they may
    override :meth:`instances` (a hypothesis strategy inside the theorem's assumptions),
    :meth:`figures` and :meth:`notes`. :meth:`check` orchestrates and is not overridden.

    Class attributes
    ----------------
    id : str
        Stable slug (``gf-hypentropy``).
    title : str
    reference : Reference
    statement : str
        Markdown (with LaTeX) statement of the theorem as checked.
    kind : {"tight", "bound", "order", "statistical"}
    tolerance_note : str
        Where the tolerance numbers come from.
    options : dict
        Extra keyword options :meth:`check` accepts (name -> help), e.g. ``potential``.
    """

    id: ClassVar[str]
    title: ClassVar[str]
    reference: ClassVar[Reference]
    statement: ClassVar[str]
    kind: ClassVar[str]
    tolerance_note: ClassVar[str] = ""
    options: ClassVar[dict[str, str]] = {}

    # -- to implement -------------------------------------------------------------------------
    @abstractmethod
    def default_instance(self, seed: int = 0, profile: str = "quick", **options: Any) -> Instance:
        """The instance checked by ``dln-verify check`` (deterministic given the seed)."""

    def instances(self):  # pragma: no cover - overridden where hypothesis tests are meaningful
        """A hypothesis strategy of instances inside the claim's assumptions."""
        from hypothesis import strategies as st

        return st.integers(0, 2**16).map(lambda s: self.default_instance(seed=s))

    @abstractmethod
    def predict(self, instance: Instance) -> Prediction: ...

    @abstractmethod
    def simulate(self, instance: Instance) -> Simulation: ...

    @abstractmethod
    def compare(
        self, instance: Instance, prediction: Prediction, simulation: Simulation
    ) -> Comparison: ...

    @abstractmethod
    def negative_controls(
        self, instance: Instance, prediction: Prediction, simulation: Simulation
    ) -> list[NegativeControl]: ...

    def figures(
        self,
        instance: Instance,
        prediction: Prediction,
        simulation: Simulation,
        comparison: Comparison,
    ) -> list[FigureSpec]:
        """Figures for the report (prediction vs simulation, theory reference drawn)."""
        return []

    def notes(
        self, instance: Instance, prediction: Prediction, simulation: Simulation
    ) -> list[str]:
        """Free-text remarks for the report (conventions used, caveats)."""
        return []

    # -- orchestration ------------------------------------------------------------------------
    def check(self, seed: int = 0, profile: str = "quick", **options: Any) -> Evidence:
        """Build the default instance for ``seed`` and check it (see :meth:`check_instance`)."""
        instance = self.build_instance(seed=seed, profile=profile, **options)
        return self.check_instance(instance, profile=profile)

    def build_instance(self, seed: int = 0, profile: str = "quick", **options: Any) -> Instance:
        """Validate ``profile`` and ``options`` (ValueError naming them) and build the instance."""
        check_seed(seed)
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            allowed = ", ".join(sorted(self.options)) or "none"
            raise ValueError(
                f"claim {self.id} does not accept option(s) {', '.join(unknown)} "
                f"(allowed: {allowed})"
            )
        return self.default_instance(seed=seed, profile=profile, **options)

    def check_instance(self, instance: Instance, profile: str = "quick") -> Evidence:
        """Predict, simulate, compare and run every negative control on ``instance``."""
        start = time.perf_counter()
        prediction = self.predict(instance)
        simulation = self.simulate(instance)
        notes = list(self.notes(instance, prediction, simulation))
        controls: list[ControlOutcome] = []
        figures: list[FigureSpec] = []
        if prediction.certificate.get("accepted") is False:
            # A failed solve says nothing about the theorem: report it, never compare it.
            status = "error"
            comparison = Comparison(
                False, "none", {}, {},
                "the prediction's solver certificate was not accepted (residuals above "
                f"tolerance): {dict(prediction.certificate)}",
            )
            passed = False
        elif simulation.diverged or simulation.outside_assumptions:
            status = "diverged" if simulation.diverged else "outside-assumptions"
            reason = simulation.info.get("reason", status)
            comparison = Comparison(False, "none", {}, {}, f"{status}: {reason}")
            passed = False
        else:
            comparison = self.compare(instance, prediction, simulation)
            for control in self.negative_controls(instance, prediction, simulation):
                sim = control.simulation if control.simulation is not None else simulation
                outcome = self.compare(instance, control.prediction, sim)
                controls.append(
                    ControlOutcome(
                        name=control.name,
                        description=control.description,
                        rejected=not outcome.passed,
                        metric=float(outcome.metrics.get(outcome.metric, float("nan"))),
                        metric_name=outcome.metric,
                        message=outcome.message,
                    )
                )
            all_rejected = all(c.rejected for c in controls)
            passed = bool(comparison.passed and all_rejected and controls)
            if not controls:
                notes.append("no negative control ran: a claim without one cannot pass")
            status = "pass" if passed else "fail"
            figures = self.figures(instance, prediction, simulation, comparison)
        return Evidence(
            claim=self.id,
            title=self.title,
            kind=self.kind,
            status=status,
            passed=passed,
            metric=comparison.metric,
            metrics=dict(comparison.metrics),
            tolerance=dict(comparison.tolerance),
            seed=instance.seed,
            profile=profile,
            parameters=instance.parameters(),
            controls=tuple(controls),
            message=comparison.message,
            reference=self.reference.cite(),
            figures=tuple(figures),
            certificate=dict(prediction.certificate),
            notes=tuple(notes),
            elapsed_s=time.perf_counter() - start,
        )
