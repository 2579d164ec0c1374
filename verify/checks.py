"""Checking logic shared by several claims (no claim module imports another).

- :func:`verdict` — named checks → verdict, the deciding metric being the first that fails;
- :func:`slope_in_band` — an empirical order (fitted log-log slope) within a declared band of a
  target, the diffrax way;
- :func:`direction_order_metrics`, :func:`compare_directions`, :func:`angle_figure` (with
  :func:`rate_shape`, :func:`limit_coefficients`, :func:`late_window`, :func:`control_floor`) —
  convergence in direction of a classifier to a predicted max-margin direction: the angle's
  limit extrapolated with the theory's rate law, and the decrease of angle and margin gap;
- :func:`combined_certificate`, :func:`flow_failure` — records of several solves or runs;
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
    "LATE_WINDOW",
    "rate_shape",
    "limit_coefficients",
    "late_window",
    "direction_increments",
    "direction_order_metrics",
    "compare_directions",
    "control_floor",
    "angle_figure",
    "combined_certificate",
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


#: the late part of a log t grid on which :func:`direction_order_metrics` fits the rate law:
#: the points with ``log t ≥ log t_final / LATE_WINDOW`` (the last factor 5 of log t)
LATE_WINDOW = 5.0


def rate_shape(p: float) -> str:
    """The theory's rate law of the angle for a horizon gauge of exponent ``p``
    (``docs/theory/classification.md §1.5``).

    ``"1/log t"`` for power-type horizons (``1 < p < ∞``: ``ϕ ~ |x|^p``, the asymmetric gauges
    included): ``β_t = β̄ s(t) + ρ_t`` with ``s ~ log t`` and ``ρ_t`` bounded. ``"loglog/log t"``
    for the exponential-type horizon ``p = ∞`` (``cosh``): ``β_i = log 2|θ_i|`` turns polynomial
    factors of the dual into ``log log t`` terms of ``β``, Soudry et al.'s degenerate rate.
    ``"margin"`` for ``p = 1`` (hyperbolic entropy): no rate law of the angle is used.

    Examples
    --------
    >>> rate_shape(2.0), rate_shape(float("inf")), rate_shape(1.0)
    ('1/log t', 'loglog/log t', 'margin')
    """
    p = float(p)
    if not p >= 1.0:
        raise ValueError(f"p must be a gauge exponent in [1, inf], got {p!r}")
    if p == 1.0:
        return "margin"
    return "loglog/log t" if np.isinf(p) else "1/log t"


#: exponent of the slowest power law ``(log t)^{−κ}`` granted to the hyperbolic entropy's margin
#: gap (``docs/theory/classification.md §1.7``): the theory gives an instance-dependent κ (the
#: ℓ1 dual slack, "possibly very small"); the fit with the slowest law is the most lenient for
#: the true direction, and on a late window of ratio 5 it still asks the gap to fall by
#: ``½(5^κ − 1) ≈ 4 %`` of its final value, which a gap tending to a positive limit does not
MARGIN_KAPPA = 0.05


def _rate(shape: str, log_t: np.ndarray) -> np.ndarray:
    if shape == "1/log t":
        return 1.0 / log_t
    if shape == "loglog/log t":
        return np.log(log_t) / log_t
    if shape == "margin":
        return log_t ** -MARGIN_KAPPA
    raise ValueError(f"shape must be '1/log t', 'loglog/log t' or 'margin', got {shape!r}")


def limit_coefficients(log_t, shape: str) -> np.ndarray:
    """Weights ``c`` of the least-squares estimate ``B = Σ c_k a_k`` of the limit ``B`` in
    ``a(log t) = B + A r(log t)`` (``r`` the rate law ``shape``) from samples ``a_k``.

    ``Σ c_k = 1`` (a constant is its own limit) and ``Σ c_k r_k = 0`` (a pure rate law has
    limit 0). Hence for any ``a'`` with ``|a'_k − δ| ≤ e_k``: ``B' ≥ δ − Σ|c_k| e_k``, the
    bound that makes the negative controls' rejection margins principled.

    Examples
    --------
    >>> import numpy as np
    >>> c = limit_coefficients([200.0, 500.0, 1000.0], "1/log t")
    >>> round(float(c.sum()), 12), round(float(c @ (1 / np.array([200.0, 500.0, 1000.0]))), 12)
    (1.0, 0.0)
    """
    log_t = np.asarray(log_t, float)
    if log_t.ndim != 1 or log_t.size < 2 or np.any(log_t <= 1.0):
        raise ValueError("log_t must hold at least two values > 1")
    A = np.column_stack([np.ones_like(log_t), _rate(shape, log_t)])
    return np.linalg.pinv(A)[0]


def late_window(log_t) -> np.ndarray:
    """Boolean mask of the late part of a log t grid: ``log t ≥ log t[-1] / LATE_WINDOW``."""
    log_t = np.asarray(log_t, float)
    return log_t >= log_t[-1] / LATE_WINDOW


def direction_increments(beta, log_t) -> np.ndarray:
    """Angles between consecutive directions of a trajectory on the late window of its grid.

    A diagnostic of the simulation alone (no prediction): in the rate regime
    ``a = B + A r(log t) + o(r)`` the increments are ``≈ |A|(r_k − r_{k+1})``, decreasing along a
    geometric grid; increments that still grow mean the flow has not reached that regime.

    Examples
    --------
    >>> import numpy as np
    >>> lt = np.geomspace(10, 1000, 21)
    >>> beta = np.stack([np.ones_like(lt), 1.0 / lt], axis=1)  # angle ≈ 1/log t to (1, 0)
    >>> d = direction_increments(beta, lt)
    >>> bool(np.all(d[1:] < d[:-1]))
    True
    """
    beta = np.asarray(beta, float)
    late = late_window(log_t)
    b = beta[late]
    return angle(b[1:], b[:-1])


def direction_order_metrics(log_t, angles, gaps, shape: str = "1/log t") -> dict[str, float]:
    """Directional-convergence metrics of one run (``docs/theory/classification.md §1.5``).

    On the late window (:func:`late_window`) the angle is fitted as ``a = B + A r(log t)``,
    ``r`` the theory's rate law ``shape`` (:func:`rate_shape`); ``limit_fraction = B/a_final``
    is the share of the final angle that does not decay at that rate: ≈ 0 (or < 0, a faster
    transient) when the angle tends to 0, ≈ 1 when it tends to a positive limit.
    ``late_angle_ratio`` and ``late_gap_ratio`` are the largest ratios of consecutive values of
    the angle and of the relative margin gap on the late window (≤ 1: non-increasing).

    Examples
    --------
    >>> import numpy as np
    >>> lt = np.geomspace(10, 1000, 21)
    >>> m = direction_order_metrics(lt, 2.0 / lt, 1.0 / lt)
    >>> abs(m["limit_fraction"]) < 1e-9, m["late_angle_ratio"] < 1
    (True, True)
    >>> round(direction_order_metrics(lt, 0.3 + 2.0 / lt, 1.0 / lt)["limit_fraction"], 3)
    0.993
    """
    log_t = np.asarray(log_t, float)
    angles = np.asarray(angles, float)
    gaps = np.asarray(gaps, float)
    late = late_window(log_t)
    c = limit_coefficients(log_t[late], shape)
    limit = float(c @ angles[late])
    a_late, g_late = angles[late], gaps[late]
    return {
        "limit_fraction": limit / float(angles[-1]),
        "angle_limit": limit,
        "angle_final": float(angles[-1]),
        "angle_logt_final": float(angles[-1] * log_t[-1]),
        "gap_final": float(gaps[-1]),
        "late_angle_ratio": float(np.max(a_late[1:] / a_late[:-1])),
        "late_gap_ratio": float(np.max(g_late[1:] / g_late[:-1])),
        "limit_weight_l1": float(np.abs(c).sum()),
    }


def compare_directions(
    inst: Instance,
    prediction: Prediction,
    simulation: Simulation,
    margin_only: set[str],
    *,
    limit: Tolerance,
    angle_decrease: Tolerance,
    gap_decrease: Tolerance,
    margin_gap: Tolerance | None = None,
) -> Comparison:
    """Test that each run converges in direction to its predicted max-margin direction.

    ``simulation.values["runs"]`` maps a run name to ``{"beta": (T, d), "log_t": (T,)}`` and
    ``prediction.values[name]`` holds the predicted ``beta``, ``gauge`` and ``margin``, and
    ``p``, the exponent of the run's horizon function (``None`` or ``inf`` for ℓ∞), which sets
    the rate law and which a negative control keeps: it changes the predicted direction, not
    the flow (``docs/theory/classification.md §1.5``). For a run judged on its angle, on the late
    window of its grid (:func:`late_window`): the limit of the angle extrapolated with the
    theory's rate law for the gauge (:func:`rate_shape`, :func:`direction_order_metrics`) must
    be a small share of the final angle (``limit`` on ``<run>.limit_fraction``), and the angle
    and the relative margin gap must not increase (``angle_decrease`` on
    ``<run>.late_angle_ratio``, ``gap_decrease`` on ``<run>.late_gap_ratio``). Runs in
    ``margin_only`` (the hyperbolic entropy) are judged on their relative margin gap: its limit
    extrapolated with the slowest power law granted, ``(log t)^{−MARGIN_KAPPA}``, over its final
    value (``margin_gap``, or ``limit`` when None, on ``<run>.gap_limit_fraction``), and its
    decrease. A wrong direction at angle ``δ`` from the
    true limit has ``limit_fraction ≥ (δ − Σ|c_k| a_k)/(δ + a_final)`` by the triangle
    inequality for angles (``a`` the true run's angles, ``c`` of :func:`limit_coefficients`).

    The deciding metric is the first failed criterion (:func:`verdict`), or the largest
    ``limit_fraction`` when all hold.
    """
    metrics: dict[str, float] = {}
    checks: dict[str, tuple[bool, str]] = {}
    default_metric, worst = "", -np.inf
    for name, run in simulation.values["runs"].items():
        pred = prediction.values[name]
        g = GaugeSpec(*pred["gauge"])
        beta = np.asarray(run["beta"])
        log_t = np.asarray(run["log_t"], float)
        gamma = margin_ratio(inst.X, inst.y, beta, g)
        rel_gap = (pred["margin"] - gamma) / pred["margin"]
        angles = angle(beta, np.asarray(pred["beta"])[None, :])
        if name in margin_only:
            late = late_window(log_t)
            c = limit_coefficients(log_t[late], "margin")
            g_late = rel_gap[late]
            frac = float(c @ g_late) / float(rel_gap[-1])
            metrics[f"{name}.gap_limit_fraction"] = frac
            metrics[f"{name}.rel_margin_gap_final"] = float(rel_gap[-1])
            metrics[f"{name}.late_gap_ratio"] = float(np.max(g_late[1:] / g_late[:-1]))
            metrics[f"{name}.angle_final"] = float(angles[-1])
            tol = limit if margin_gap is None else margin_gap
            checks[f"{name}: margin gap limit"] = (tol.holds(frac), f"{name}.gap_limit_fraction")
            checks[f"{name}: gap decreasing"] = (
                gap_decrease.holds(metrics[f"{name}.late_gap_ratio"]), f"{name}.late_gap_ratio")
            if not default_metric:
                default_metric = f"{name}.gap_limit_fraction"
            continue
        shape = rate_shape(_horizon_p(pred))
        m = direction_order_metrics(log_t, angles, rel_gap, shape)
        for k, v in m.items():
            metrics[f"{name}.{k}"] = v
        checks[f"{name}: limit"] = (limit.holds(m["limit_fraction"]), f"{name}.limit_fraction")
        checks[f"{name}: angle decreasing"] = (angle_decrease.holds(m["late_angle_ratio"]),
                                               f"{name}.late_angle_ratio")
        checks[f"{name}: gap decreasing"] = (gap_decrease.holds(m["late_gap_ratio"]),
                                             f"{name}.late_gap_ratio")
        if m["limit_fraction"] > worst:
            worst, default_metric = m["limit_fraction"], f"{name}.limit_fraction"
    passed, metric, failed = verdict(checks, default_metric)
    msg = ("the angle to the predicted direction tends to 0 at the theory's rate for every run"
           if passed else "criteria fail: " + "; ".join(failed))
    return Comparison(bool(passed), metric, metrics, message=msg)


def _horizon_p(pred: Mapping[str, Any]) -> float:
    p = pred.get("p", pred["gauge"][0])
    return float("inf") if p is None else float(p)


def control_floor(true_angles, log_t, delta: float, shape: str) -> float:
    """Lower bound on a wrong direction's ``limit_fraction`` (triangle inequality for angles).

    A direction at angle ``delta`` from the predicted one has, at each time, an angle within
    ``a_k`` (the true run's angle) of ``delta``; with the limit weights ``c`` of
    :func:`limit_coefficients` on the late window its ``limit_fraction`` is at least
    ``(δ − Σ|c_k| a_k)/(δ + a_final)``.

    Examples
    --------
    >>> import numpy as np
    >>> lt = np.geomspace(10, 1000, 21)
    >>> floor = control_floor(2.0 / lt, lt, 0.5, "1/log t")  # true angle 2/log t, δ = 0.5
    >>> wrong = 0.5 - 2.0 / lt  # a wrong direction's angle, as close as the triangle allows
    >>> f = direction_order_metrics(lt, wrong, 1.0 / lt)["limit_fraction"]
    >>> 0.9 < floor <= f
    True
    """
    log_t = np.asarray(log_t, float)
    a = np.asarray(true_angles, float)
    late = late_window(log_t)
    c = limit_coefficients(log_t[late], shape)
    return float((delta - np.abs(c) @ a[late]) / (delta + a[-1]))


def angle_figure(inst: Instance, prediction: Prediction, simulation: Simulation, title: str,
                 margin_only: frozenset[str] = frozenset(), caption: str = "") -> FigureSpec:
    """Angle vs log t per run, with the theory's rate law (:func:`rate_shape`) through the
    final angle as a reference (none for the margin-only runs: no rate law is claimed)."""
    series = []
    for name, run in simulation.values["runs"].items():
        beta = np.asarray(run["beta"])
        log_t = np.asarray(run["log_t"], float)
        pred = prediction.values[name]
        a = angle(beta, np.asarray(pred["beta"])[None, :])
        # run and its rate law share one label: one colour and one legend entry per run, the
        # reference drawn dashed in the run's colour
        series.append(Series(name, log_t.tolist(), a.tolist(), "line"))
        if name in margin_only:
            continue
        shape = rate_shape(_horizon_p(pred))
        r = _rate(shape, log_t)
        series.append(Series(name, log_t.tolist(), (a[-1] * r / r[-1]).tolist(), "reference"))
    return FigureSpec("angle_vs_logt", title, "log t", "angle (rad)", tuple(series),
                      xscale="log", yscale="log",
                      caption=caption or "Angle between the iterate and the predicted "
                      "max-margin direction, one colour per potential; dashed: the theory's "
                      "rate law for that horizon shape through the final angle (none for "
                      "potentials checked on their margin only).")


def combined_certificate(certificates: Iterable[Any]) -> dict[str, Any]:
    """The one certificate layout of a prediction made of several solves.

    :meth:`Certificate.combine` of ``certificates`` as a dict (accepted iff every solve is,
    worst residuals, per-solve records); no solve at all (a prediction that does not apply,
    reported by the simulation's status) gives ``{"solver": "none", "accepted": True,
    "n_solves": 0}``.
    """
    from dln_verify.numeric.convex.certificate import Certificate

    certificates = list(certificates)
    if not certificates:
        return {"solver": "none", "accepted": True, "n_solves": 0}
    return Certificate.combine(certificates).as_dict()


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
