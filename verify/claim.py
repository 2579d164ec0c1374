"""The claim contract: records exchanged between the layers and the :class:`Claim` base class.

Data flow::

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
from dln_verify.numeric.progress import progress_scope
from dln_verify.numeric.validation import check_seed
from dln_verify.symbolic.errors import OutsideAssumptions

__all__ = [
    "Kind",
    "Tolerance",
    "Option",
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
Status = Literal["pass", "fail", "inconclusive", "outside-assumptions", "diverged", "error"]
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
class Tolerance:
    """A criterion on one reported metric, declared once per claim together with its source.

    ``compare`` decides with :meth:`holds`; the JSON record, the report and the conformance
    suite read the same declaration, so a number is never written twice.

    Parameters
    ----------
    metric : str
        Name of the metric (a key of :attr:`Comparison.metrics`) the criterion applies to.
    relation : {"<=", ">=", "in", "=="}
        ``metric <= value``, ``metric >= value``, ``value[0] <= metric <= value[1]`` or
        ``metric == value``.
    value : float or (float, float)
        The threshold, or the closed band for ``"in"``.
    source : str
        Where the number comes from (discretisation order, α, horizon, solver accuracy, a
        derivation in ``docs/theory``).
    applies : str
        Empty for a criterion of every check; otherwise when it applies (e.g. only for an
        option value), so a default check need not report its metric.

    Examples
    --------
    >>> tol = Tolerance("max_relative_error", "<=", 1e-7, "ODE tolerance 1e-12, KKT 1e-15")
    >>> tol.holds(3e-10), tol.holds(float("nan")), tol.display
    (True, False, '<= 1e-07')
    >>> Tolerance("slope", "in", (-1.3, -0.7), "order -1 +- 0.3").display
    '[-1.3, -0.7]'
    """

    metric: str
    relation: Literal["<=", ">=", "in", "=="]
    value: float | tuple[float, float]
    source: str
    applies: str = ""

    def __post_init__(self) -> None:
        if self.relation not in ("<=", ">=", "in", "=="):
            raise ValueError(f"relation must be one of <=, >=, in, ==; got {self.relation!r}")
        if self.relation == "in":
            lo, hi = self.value  # type: ignore[misc]
            if not lo <= hi:
                raise ValueError(f"band of {self.metric} must satisfy lo <= hi, got {self.value}")
        if not self.source.strip():
            raise ValueError(f"tolerance on {self.metric} must say where it comes from")

    def holds(self, metric_value: float) -> bool:
        """Whether ``metric_value`` satisfies the criterion (never for NaN or a non-number)."""
        try:
            x = float(metric_value)
        except (TypeError, ValueError):
            return False
        if math.isnan(x):
            return False
        if self.relation == "<=":
            return x <= self.value
        if self.relation == ">=":
            return x >= self.value
        if self.relation == "==":
            return x == self.value
        lo, hi = self.value  # type: ignore[misc]
        return lo <= x <= hi

    @property
    def display(self) -> str:
        """Short human-readable form: ``<= 1e-07``, ``>= 0.25``, ``[0.8, 1.2]``."""
        if self.relation == "in":
            lo, hi = self.value  # type: ignore[misc]
            return f"[{lo:g}, {hi:g}]"
        return f"{self.relation} {self.value:g}"

    def as_dict(self) -> dict[str, Any]:
        value = list(self.value) if self.relation == "in" else self.value  # type: ignore[arg-type]
        record = {"metric": self.metric, "relation": self.relation, "value": value,
                  "display": self.display, "source": self.source}
        if self.applies:
            record["applies"] = self.applies
        return record


@dataclass(frozen=True)
class Option:
    """A per-claim option, declared by the claim; the CLI builds ``--NAME`` from it.

    Parameters
    ----------
    name : str
        Python keyword of :meth:`Claim.check` (``data``); the flag is ``--data``
        (underscores become dashes).
    help : str
        One line for ``--help``.
    type : {"str", "float", "int", "path"}
        How the command line converts the value (``path``: an existing file).
    metavar : str
        Placeholder shown in ``--help`` (default: the upper-cased name).

    Examples
    --------
    >>> Option("alpha", "initialisation scale", "float").flag
    '--alpha'
    """

    name: str
    help: str
    type: Literal["str", "float", "int", "path"] = "str"
    metavar: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"option name must be a Python identifier, got {self.name!r}")
        if self.type not in ("str", "float", "int", "path"):
            raise ValueError(f"option {self.name}: type must be str, float, int or path")

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


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
    """What the dynamics did: named outputs, status flags and diagnostics.

    The flags are decided from the simulation's own diagnostics, before any comparison with
    the prediction: ``diverged`` (a run blew up), ``outside_assumptions`` (the instance
    violates the theorem's hypotheses) and ``inconclusive`` (the runs spent their budget, in
    solver units, without reaching the regime the theorem speaks of). ``info["reason"]`` says
    why.
    """

    values: Mapping[str, Any]
    diverged: bool = False
    outside_assumptions: bool = False
    info: Mapping[str, Any] = field(default_factory=dict)
    inconclusive: bool = False


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
        Extra thresholds by name, for claims that do not declare :attr:`Claim.tolerances`
        (declared tolerances are filled in by :meth:`Claim.check_instance`; leave this empty).
    message : str
        One sentence explaining the verdict.
    """

    passed: bool
    metric: str
    metrics: Mapping[str, float]
    tolerance: Mapping[str, Any] = field(default_factory=dict)
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


#: Version of the JSON record of :meth:`Evidence.to_json_dict` (``docs/results-schema.md``).
RESULTS_SCHEMA = 2


@dataclass(frozen=True)
class Evidence:
    """Everything a report needs about one checked claim.

    The record is self-contained: with the statement, the reference, the declared tolerances
    and their sources, and the figure records, a report can be rebuilt from the results file
    alone (:meth:`from_json_dict`).
    """

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
    statement: str = ""
    tolerance_note: str = ""
    tolerances: tuple[Mapping[str, Any], ...] = ()
    reference_short: str = ""

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON-Lines record of ``dln-verify check --json``.

        Wall-clock time is not part of the record (it would make two identical runs differ);
        it is in :attr:`elapsed_s` and in the report's separate timings file.
        """
        return to_plain(
            {
                "schema": RESULTS_SCHEMA,
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
                     "metric_name": c.metric_name, "description": c.description,
                     "message": c.message}
                    for c in self.controls
                ],
                "certificate": dict(self.certificate),
                "message": self.message,
                "title": self.title,
                "reference": self.reference,
                "reference_short": self.reference_short,
                "statement": self.statement,
                "tolerance_note": self.tolerance_note,
                "tolerances": [dict(t) for t in self.tolerances],
                "notes": list(self.notes),
                "figures": [
                    {"name": f.name, "title": f.title, "xlabel": f.xlabel, "ylabel": f.ylabel,
                     "xscale": f.xscale, "yscale": f.yscale, "caption": f.caption,
                     "series": [{"label": s.label, "x": list(s.x), "y": list(s.y),
                                 "style": s.style} for s in f.series]}
                    for f in self.figures
                ],
            }
        )

    @classmethod
    def from_json_dict(cls, record: Mapping[str, Any]) -> Evidence:
        """Rebuild an :class:`Evidence` from :meth:`to_json_dict` output (no computation)."""

        def num(v: Any) -> Any:
            return float(v) if isinstance(v, str) and v in ("inf", "-inf", "nan") else v

        figures = tuple(
            FigureSpec(f["name"], f["title"], f["xlabel"], f["ylabel"],
                       tuple(Series(s["label"], [num(v) for v in s["x"]],
                                    [num(v) for v in s["y"]], s["style"])
                             for s in f["series"]),
                       f.get("xscale", "linear"), f.get("yscale", "linear"),
                       f.get("caption", ""))
            for f in record.get("figures", [])
        )
        controls = tuple(
            ControlOutcome(c["name"], c.get("description", ""), bool(c["rejected"]),
                           num(c["metric"]), c.get("metric_name", ""), c.get("message", ""))
            for c in record.get("controls", [])
        )
        return cls(
            claim=record["claim"], title=record.get("title", record["claim"]),
            kind=record["kind"], status=record["status"], passed=bool(record["passed"]),
            metric=record["metric"],
            metrics={k: num(v) for k, v in record.get("metrics", {}).items()},
            tolerance=dict(record.get("tolerance", {})), seed=record.get("seed"),
            profile=record.get("profile", "quick"),
            parameters=dict(record.get("parameters", {})), controls=controls,
            message=record.get("message", ""), reference=record.get("reference", ""),
            figures=figures, certificate=dict(record.get("certificate", {})),
            notes=tuple(record.get("notes", [])), statement=record.get("statement", ""),
            tolerance_note=record.get("tolerance_note", ""),
            tolerances=tuple(record.get("tolerances", [])),
            reference_short=record.get("reference_short", ""),
        )

    def _repr_html_(self) -> str:
        """Jupyter view: verdict, statement (MathML), metrics vs tolerances, controls, figures
        (inline SVG); see :func:`dln_verify.verify.report.evidence_html`."""
        from dln_verify.verify.report import evidence_html

        return evidence_html(self)

    def _repr_markdown_(self) -> str:
        """Markdown view (figures as SVG data URIs); see
        :func:`dln_verify.verify.report.evidence_markdown`."""
        from dln_verify.verify.report import evidence_markdown

        return evidence_markdown(self)


class Claim(ABC):
    """Base class of a verifiable claim (one file per claim under ``verify/claims/``).

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
    tolerances : tuple of Tolerance
        Every criterion ``compare`` decides with, declared once with its source; read by
        ``compare`` (:meth:`tol`), the JSON record and the report.
    tolerance_note : str
        Prose on how the tolerances were derived (cites ``docs/theory``); numbers live in
        :attr:`tolerances`.
    options : dict of str to Option
        Extra keyword options :meth:`check` accepts; the CLI builds ``--NAME`` flags from them.
    """

    id: ClassVar[str]
    title: ClassVar[str]
    reference: ClassVar[Reference]
    statement: ClassVar[str]
    kind: ClassVar[str]
    tolerances: ClassVar[tuple[Tolerance, ...]] = ()
    tolerance_note: ClassVar[str] = ""
    options: ClassVar[Mapping[str, Option]] = {}

    # -- declarations -------------------------------------------------------------------------
    def tol(self, metric: str) -> Tolerance:
        """The declared tolerance on ``metric`` (KeyError naming the declared ones if absent)."""
        for tolerance in self.tolerances:
            if tolerance.metric == metric:
                return tolerance
        declared = ", ".join(t.metric for t in self.tolerances) or "none"
        raise KeyError(f"claim {self.id} declares no tolerance on {metric!r} (declared: "
                       f"{declared})")

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
        """Build the default instance for ``seed`` and check it (see :meth:`check_instance`).

        An input that the theorem does not cover (a potential whose hypotheses SymPy refutes or
        cannot decide: :class:`~dln_verify.symbolic.errors.OutsideAssumptions`) gives status
        ``outside-assumptions`` with the reason, never pass or fail.
        """
        try:
            instance = self.build_instance(seed=seed, profile=profile, **options)
        except OutsideAssumptions as exc:
            return self.undecided_evidence(seed, profile, options, str(exc))
        return self.check_instance(instance, profile=profile)

    def undecided_evidence(self, seed: int, profile: str, options: Mapping[str, Any],
                           reason: str) -> Evidence:
        """The record of a check that stopped because its input is outside the theorem."""
        return Evidence(
            claim=self.id, title=self.title, kind=self.kind, status="outside-assumptions",
            passed=False, metric="none", metrics={}, tolerance={},
            seed=seed, profile=profile,
            parameters={k: v for k, v in options.items() if isinstance(v, str | int | float)},
            controls=(), message=f"outside-assumptions: {reason}",
            reference=self.reference.cite(), statement=self.statement.strip(),
            tolerance_note=self.tolerance_note.strip(),
            tolerances=tuple(t.as_dict() for t in self.tolerances),
            reference_short=self.reference.short,
        )

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
        # progress phases (dln_verify.numeric.progress): no-ops unless a callback listens
        with progress_scope(label="predict"):
            prediction = self.predict(instance)
        controls: list[ControlOutcome] = []
        figures: list[FigureSpec] = []
        if prediction.certificate.get("accepted") is False:
            # A rejected certificate stops the check before any simulation is spent on it.
            simulation = Simulation({}, info={"reason": "not simulated: the prediction's "
                                              "certificate was rejected"})
            notes = ["not simulated: the prediction's solver certificate was rejected"]
        else:
            with progress_scope(label="simulate"):
                simulation = self.simulate(instance)
            notes = list(self.notes(instance, prediction, simulation))
        if prediction.certificate.get("accepted") is False:
            # A failed solve says nothing about the theorem: report it, never compare it.
            status = "error"
            comparison = Comparison(
                False, "none", {}, {},
                "the prediction's solver certificate was not accepted (residuals above "
                f"tolerance): {dict(prediction.certificate)}",
            )
            passed = False
        elif simulation.diverged or simulation.outside_assumptions or simulation.inconclusive:
            status = ("diverged" if simulation.diverged else "outside-assumptions"
                      if simulation.outside_assumptions else "inconclusive")
            reason = simulation.info.get("reason", status)
            comparison = Comparison(False, "none", {}, {}, f"{status}: {reason}")
            passed = False
        else:
            comparison = self.compare(instance, prediction, simulation)
            with progress_scope(unit="control", label="controls") as phase:
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
                    phase.advance(1)
            all_rejected = all(c.rejected for c in controls)
            passed = bool(comparison.passed and all_rejected and controls)
            if not controls:
                notes.append("no negative control ran: a claim without one cannot pass")
            status = "pass" if passed else "fail"
            figures = self.figures(instance, prediction, simulation, comparison)
        declared = {t.metric: t.display for t in self.tolerances}
        return Evidence(
            claim=self.id,
            title=self.title,
            kind=self.kind,
            status=status,
            passed=passed,
            metric=comparison.metric,
            metrics=dict(comparison.metrics),
            tolerance={**declared, **dict(comparison.tolerance)},
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
            statement=self.statement.strip(),
            tolerance_note=self.tolerance_note.strip(),
            tolerances=tuple(t.as_dict() for t in self.tolerances),
            reference_short=self.reference.short,
        )
