"""Checking logic shared by several claims (no claim module imports another).

- :func:`verdict` — named checks → verdict, the deciding metric being the first that fails;
- :func:`slope_in_band` — an empirical order (fitted log-log slope) within a declared band of a
  target, the diffrax way;
- :func:`direction_order_metrics`, :func:`compare_directions`, :func:`angle_figure` — angle and
  margin comparisons of a classifier's direction with a predicted max-margin direction;
- :func:`gather_certificates`, :func:`flow_failure` — records of several solves or runs;
- :func:`symbolic_optimality` — a predicted minimiser certified with the SymPy-derived gradient
  of the potential (the SymPy derivation is part of the evidence, not decoration).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from dln_verify.numeric.convex.max_margin import GaugeSpec, margin_ratio
from dln_verify.numeric.instances import Instance
from dln_verify.numeric.mirror import angle
from dln_verify.verify.claim import (
    Comparison,
    FigureSpec,
    Prediction,
    Series,
    Simulation,
    Tolerance,
)
from dln_verify.verify.compare import loglog_slope

__all__ = [
    "verdict",
    "slope_in_band",
    "direction_order_metrics",
    "compare_directions",
    "angle_figure",
    "gather_certificates",
    "flow_failure",
    "symbolic_optimality",
    "SYMBOLIC_OPTIMALITY",
]

#: the tolerance on :func:`symbolic_optimality`'s ratio, shared by the claims that use it
SYMBOLIC_OPTIMALITY = Tolerance(
    "symbolic_optimality_ratio", "<=", 1.0,
    "the null-space part of ∇ψ(β) − ∇ψ(β̃₀), with ∇ψ lambdified from the SymPy derivation, "
    "over 10× its float64 error bound computed for each solve "
    "(numeric.convex.symbolic_certificate)")


def verdict(checks: Mapping[str, tuple[bool, str]], default_metric: str) -> tuple[bool, str, list]:
    """Combine named checks ``{name: (passed, metric)}`` into ``(passed, metric, failed)``.

    The deciding metric is the metric of the first failed check (so a rejected negative
    control shows why it was rejected), or ``default_metric`` when every check passes.

    Examples
    --------
    >>> verdict({"order": (True, "slope"), "plateau": (False, "plateau_error")}, "slope")
    (False, 'plateau_error', ['plateau'])
    >>> verdict({"order": (True, "slope")}, "slope")
    (True, 'slope', [])
    """
    failed = [name for name, (ok, _) in checks.items() if not ok]
    metric = checks[failed[0]][1] if failed else default_metric
    return not failed, metric, failed


def slope_in_band(x: Sequence[float], y: Sequence[float], target: float,
                  band: Tolerance) -> tuple[bool, float, float]:
    """Fit the log-log slope of ``y`` against ``x``; test ``|slope − target|`` against ``band``.

    ``band`` is a ``<=`` tolerance on the slope error. Returns ``(holds, slope, error)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 4.0, 8.0])
    >>> band = Tolerance("slope_error", "<=", 0.5, "order 4 +- 0.5")
    >>> holds, slope, err = slope_in_band(x, 3 * x**-4.0, -4.0, band)
    >>> holds, round(slope, 6)
    (True, -4.0)
    """
    slope = loglog_slope(np.asarray(x, float), np.maximum(np.asarray(y, float), 1e-300))
    error = abs(slope - target)
    return band.holds(error), slope, error


def direction_order_metrics(log_t, angles, gaps) -> dict[str, float]:
    """Slope of log(angle) vs log(log t), spread of angle·log t, monotonicity of angle and gap."""
    log_t = np.asarray(log_t, float)
    angles = np.asarray(angles, float)
    gaps = np.asarray(gaps, float)
    slope = loglog_slope(log_t, np.maximum(angles, 1e-300))
    prod = angles * log_t
    return {
        "slope": slope,
        "angle_logt_ratio": float(np.max(prod) / np.min(prod)),
        "angle_final": float(angles[-1]),
        "angle_logt_final": float(prod[-1]),
        "gap_final": float(gaps[-1]),
        "angle_monotone": float(np.all(np.diff(angles) < 0)),
        "gap_monotone": float(np.all(np.diff(gaps) < 0)),
    }


def compare_directions(
    inst: Instance,
    prediction: Prediction,
    simulation: Simulation,
    margin_only: set[str],
    *,
    slope: Tolerance,
    ratio: Tolerance,
    deviation: Tolerance,
    margin_gap: Tolerance | None = None,
) -> Comparison:
    """Compare each run's direction with its predicted max-margin direction.

    ``simulation.values["runs"]`` maps a run name to ``{"beta": (T, d), "log_t": (T,)}`` and
    ``prediction.values[name]`` holds the predicted ``beta``, ``gauge`` and ``margin``. Runs in
    ``margin_only`` are judged on their relative margin gap (``margin_gap``, which must also
    decrease); the others on the order of the angle: fitted slope of log(angle) vs log(log t)
    in ``slope`` (a band), spread of angle·log t within ``ratio``, angle and gap decreasing.
    The deciding metric ``worst_deviation`` is the largest fraction of a band used, judged by
    ``deviation``.
    """
    lo, hi = slope.value  # type: ignore[misc]
    target, half_width = (lo + hi) / 2, (hi - lo) / 2
    metrics: dict[str, float] = {}
    ok_all = True
    worst = 0.0
    failing = []
    for name, run in simulation.values["runs"].items():
        pred = prediction.values[name]
        g = GaugeSpec(*pred["gauge"])
        beta = np.asarray(run["beta"])
        log_t = np.asarray(run["log_t"])
        gamma = margin_ratio(inst.X, inst.y, beta, g)
        rel_gap = (pred["margin"] - gamma) / pred["margin"]
        angles = angle(beta, np.asarray(pred["beta"])[None, :])
        if name in margin_only:
            if margin_gap is None:
                raise ValueError(f"run {name} is judged on its margin but no margin_gap is given")
            ok = bool(margin_gap.holds(rel_gap[-1]) and np.all(np.diff(rel_gap) < 0))
            metrics[f"{name}.rel_margin_gap_final"] = float(rel_gap[-1])
            metrics[f"{name}.angle_final"] = float(angles[-1])
            dev = float(rel_gap[-1] / margin_gap.value)
        else:
            m = direction_order_metrics(log_t, angles, rel_gap)
            for k, v in m.items():
                metrics[f"{name}.{k}"] = v
            ok = bool(slope.holds(m["slope"]) and ratio.holds(m["angle_logt_ratio"])
                      and m["angle_monotone"] == 1.0 and m["gap_monotone"] == 1.0)
            dev = abs(m["slope"] - target) / half_width  # fraction of the slope band used
        worst = max(worst, dev)
        if not ok:
            failing.append(name)
        ok_all &= ok
    metrics["worst_deviation"] = worst
    msg = ("angle ~ C/log t towards the predicted direction for every potential" if ok_all
           else f"order criteria fail for: {', '.join(failing)}")
    return Comparison(bool(ok_all), "worst_deviation", metrics, message=msg)


def angle_figure(inst: Instance, prediction: Prediction, simulation: Simulation, title: str,
                 margin_only: frozenset[str] = frozenset(), caption: str = "") -> FigureSpec:
    """Angle vs log t per run; a C/log t reference for the runs checked on their angle (the
    margin-only runs get none: their angle is not claimed to follow 1/log t yet)."""
    series = []
    for name, run in simulation.values["runs"].items():
        beta = np.asarray(run["beta"])
        log_t = np.asarray(run["log_t"], float)
        a = angle(beta, np.asarray(prediction.values[name]["beta"])[None, :])
        series.append(Series(f"{name}: angle(β_t, β̄)", log_t.tolist(), a.tolist(), "line"))
        if name in margin_only:
            continue
        c = float(a[-1] * log_t[-1])
        series.append(Series(f"{name}: {c:.2f}/log t", log_t.tolist(), (c / log_t).tolist(),
                             "reference"))
    return FigureSpec("angle_vs_logt", title, "log t", "angle (rad)", tuple(series),
                      xscale="log", yscale="log",
                      caption=caption or "Angle between the iterate and the predicted "
                      "max-margin direction; dashed: C/log t reference (none for potentials "
                      "checked on their margin only).")


def gather_certificates(solutions: Iterable[Any]) -> dict[str, Any]:
    """One certificate record for several solves (accepted iff every one is)."""
    solutions = list(solutions)
    return {
        "solver": ",".join(sorted({s.certificate.solver for s in solutions})),
        "accepted": all(s.certificate.accepted for s in solutions),
        "max_primal_residual": max(s.certificate.primal_residual for s in solutions),
        "max_optimality_residual": max(s.certificate.optimality_residual for s in solutions),
    }


def flow_failure(results: Iterable[Any]) -> Simulation | None:
    """The status of a group of simulator runs, decided from their own diagnostics.

    A ``diverged`` :class:`Simulation` for the first run that blew up; else an
    ``inconclusive`` one for the first run that did not reach its stopping criterion within
    its budget (solver units); else ``None``. Accepts single-run records (``diverged`` and
    ``converged`` bools, ``message`` a str) and batched ones (arrays, one message per run).
    """
    results = list(results)
    for flag, status in (("diverged", "diverged"), ("converged", "inconclusive")):
        for res in results:
            values = np.atleast_1d(getattr(res, flag))
            bad = values if flag == "diverged" else ~values.astype(bool)
            if bad.any():
                messages = np.atleast_1d(np.asarray(res.message, dtype=object))
                reason = "; ".join(str(m) for m, b in zip(np.resize(messages, bad.shape), bad,
                                                          strict=True) if b)
                return Simulation({}, diverged=status == "diverged",
                                  inconclusive=status == "inconclusive",
                                  info={"reason": reason or f"a run is {status}"})
    return None


def symbolic_optimality(X, y, betas: Sequence[Any], alphas: Sequence[Any], *, depth: int = 2,
                        references: Sequence[Any] | None = None) -> dict[str, float]:
    """Certify predicted minimisers with the SymPy-derived gradient of the potential.

    For each ``β`` (with its scale ``α`` and reference ``β̃₀``), the optimality condition of
    ``argmin_{Xβ=y} D_ψ(β, β̃₀)`` is ``∇ψ(β) − ∇ψ(β̃₀) ∈ range(Xᵀ)``, checked with the gradient
    that :mod:`dln_verify.symbolic.potentials` derives (never with the fast solver's own
    formulas). Returns the worst ``residual / tolerance`` ratio and the worst residual; a
    non-finite ``β`` (a prediction that does not apply) is skipped.
    """
    from dln_verify.numeric.convex.symbolic_certificate import symbolic_optimality_residual

    refs = [None] * len(betas) if references is None else list(references)
    ratio = residual = 0.0
    for beta, alpha, ref in zip(betas, alphas, refs, strict=True):
        beta = np.asarray(beta, dtype=float)
        if not np.all(np.isfinite(beta)):
            continue
        rec = symbolic_optimality_residual(X, y, beta, alpha, depth=depth, reference=ref)
        r = float(rec.optimality_residual)
        ratio = max(ratio, r / rec.optimality_tolerance if np.isfinite(r) else float("inf"))
        residual = max(residual, r if np.isfinite(r) else float("inf"))
    return {"symbolic_optimality_ratio": ratio, "symbolic_optimality_residual": residual}
