"""The φ∞-max-margin classifier: ``argmin φ_∞(β) s.t. y_i⟨x_i, β⟩ ≥ 1``, with a certificate.

Pesme, Dragomir & Flammarion (NeurIPS 2024, arXiv:2406.12763): mirror flow with potential φ on
separable data converges in direction to this classifier, ``φ_∞`` being the horizon function of φ
(:func:`dln_verify.symbolic.horizon.horizon_function`). Soudry et al. (JMLR 2018) is ``φ_∞ = ‖·‖₂``
(hard-margin SVM); Sun et al. (NeurIPS 2022) is ``‖·‖_p``.

Gauges handled (all DCP): ``‖·‖_p`` for ``p ∈ [1, ∞]`` and the asymmetric weighted gauge

.. math:: φ_∞(β) = \\big(\\textstyle\\sum_i w_+ (β_i^+)^p + w_- (β_i^-)^p\\big)^{1/p}
          = \\|(w_+^{1/p} β^+, w_-^{1/p} β^-)\\|_p ,

the gauge ``inf{r > 0 : Σ h(β_i/r) ≤ 1}`` of a power-type profile ``h = w_±|x|^p``; a weight
``w = ∞`` forbids that sign (``φ_∞ = +∞`` there). It is solved with the split ``β = b₊ − b₋``,
``b_± ≥ 0``, minimising ``‖(w_+^{1/p} b₊, w_-^{1/p} b₋)‖_p``.

Certificate (independent of the solver's status): the largest constraint violation, and the
relative duality gap ``(φ_∞(β) − Σλ̃)/φ_∞(β)`` with the constraint multipliers ``λ`` rescaled to be
dual feasible, ``λ̃ = λ / φ_∞°(Zᵀλ)``; the polar gauge is
``φ_∞°(g) = ‖(w_+^{-1/p} g^+, w_-^{-1/p} g^-)‖_q``, ``1/p + 1/q = 1``. Weak duality makes the gap
non-negative, so a small gap proves near-optimality.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dln_verify.numeric.convex.certificate import Certificate
from dln_verify.numeric.validation import check_classification_data, check_positive

__all__ = ["MaxMarginSolution", "GaugeSpec", "as_gauge", "max_margin", "margin_ratio"]


@dataclass(frozen=True)
class GaugeSpec:
    """Numeric description of a gauge ``(Σ w_± |β_i^±|^p)^{1/p}`` (``p = inf``: weighted max).

    Attributes
    ----------
    p : float
        Exponent in ``[1, inf]``.
    w_pos, w_neg : float
        Positive weights of the two signs (``inf`` forbids that sign).
    label : str
    """

    p: float
    w_pos: float = 1.0
    w_neg: float = 1.0
    label: str = ""

    @property
    def is_norm(self) -> bool:
        return self.w_pos == self.w_neg and np.isfinite(self.w_pos)

    def _scales(self) -> tuple[float, float]:
        if np.isinf(self.p):
            return self.w_pos, self.w_neg
        return self.w_pos ** (1.0 / self.p), self.w_neg ** (1.0 / self.p)

    def __call__(self, beta: np.ndarray) -> np.ndarray:
        """``φ_∞(β)`` along the last axis (``inf`` where a forbidden sign occurs)."""
        beta = np.asarray(beta, dtype=np.float64)
        a, b = self._scales()
        pos, neg = np.maximum(beta, 0.0), np.maximum(-beta, 0.0)
        with np.errstate(invalid="ignore"):
            parts = np.concatenate(
                [a * pos if np.isfinite(a) else np.where(pos > 0, np.inf, 0.0),
                 b * neg if np.isfinite(b) else np.where(neg > 0, np.inf, 0.0)], axis=-1
            )
        if np.isinf(self.p):
            return np.max(parts, axis=-1)
        return np.linalg.norm(parts, ord=self.p, axis=-1)

    def polar(self, g: np.ndarray) -> np.ndarray:
        """Polar gauge ``sup{⟨g, β⟩ : φ_∞(β) ≤ 1}`` along the last axis."""
        g = np.asarray(g, dtype=np.float64)
        a, b = self._scales()
        parts = np.concatenate([np.maximum(g, 0.0) / a, np.maximum(-g, 0.0) / b], axis=-1)
        q = 1.0 if np.isinf(self.p) else (np.inf if self.p == 1.0 else self.p / (self.p - 1.0))
        return np.linalg.norm(parts, ord=q, axis=-1)


def as_gauge(gauge: Any) -> GaugeSpec:
    """Convert ``gauge`` to a :class:`GaugeSpec`.

    Accepted: ``"l1"``, ``"l2"``, ``"linf"``, a number ``p ≥ 1`` (``ℓ_p``), a
    :class:`GaugeSpec`, or a record with ``kind``, ``p``, ``w_pos``, ``w_neg`` as returned by
    :func:`dln_verify.symbolic.horizon.horizon_function`.
    """
    if isinstance(gauge, GaugeSpec):
        return gauge
    if isinstance(gauge, str):
        key = gauge.strip().lower().replace("ℓ", "l")
        table = {"l1": 1.0, "l2": 2.0, "linf": np.inf, "l_inf": np.inf, "max": np.inf}
        if key in table:
            return GaugeSpec(table[key], label=key)
        if key.startswith("l"):
            try:
                return as_gauge(float(key[1:]))
            except ValueError:
                pass
        raise ValueError(f"gauge must be 'l1', 'l2', 'linf', a number p >= 1 or a horizon "
                         f"function record, got {gauge!r}")
    if isinstance(gauge, numbers.Real) and not isinstance(gauge, bool):
        p = float(gauge)
        if not (p >= 1.0):
            raise ValueError(f"gauge exponent p must lie in [1, inf], got {gauge!r}")
        return GaugeSpec(p, label="linf" if np.isinf(p) else f"l{p:g}")
    if all(hasattr(gauge, a) for a in ("kind", "p", "w_pos", "w_neg")):
        p = np.inf if gauge.p is None else float(gauge.p)
        w_pos, w_neg = float(gauge.w_pos), float(gauge.w_neg)
        if gauge.kind == "linf":
            w_pos = w_neg = 1.0
        if not (p >= 1.0) or not (w_pos > 0 and w_neg > 0):
            raise ValueError(f"horizon record has p = {gauge.p}, weights {w_pos}, {w_neg}: "
                             "need p in [1, inf] and positive weights")
        if np.isinf(w_pos) and np.isinf(w_neg):
            raise ValueError("horizon gauge is infinite on both signs: no feasible direction")
        if np.isinf(p) and gauge.kind == "gauge":
            # exponential-type side next to a forbidden side: ℓ∞ on the allowed sign
            w_pos, w_neg = (1.0 if np.isfinite(w_pos) else np.inf,
                            1.0 if np.isfinite(w_neg) else np.inf)
        label = {"lp": f"l{p:g}", "linf": "linf"}.get(gauge.kind, "gauge")
        return GaugeSpec(p, w_pos, w_neg, label=label)
    raise ValueError(f"gauge must be 'l1', 'l2', 'linf', a number p >= 1 or a horizon function "
                     f"record, got {type(gauge).__name__}")


@dataclass(frozen=True)
class MaxMarginSolution:
    """Solution of ``min φ_∞(β) s.t. Zβ ≥ 1`` (``Z = diag(y) X``).

    Attributes
    ----------
    beta : ndarray (d,)
        The minimiser ``β̄`` (margin normalised to 1).
    direction : ndarray (d,)
        ``β̄ / ‖β̄‖₂``.
    value : float
        ``φ_∞(β̄)``; the optimal normalised margin is ``γ* = 1/value``.
    margin : float
        ``γ* = min_i y_i⟨x_i, β̄⟩ / φ_∞(β̄)``.
    gauge : GaugeSpec
    certificate : Certificate
    dual : ndarray (n,)
        Rescaled dual-feasible multipliers ``λ̃``.
    """

    beta: np.ndarray
    direction: np.ndarray
    value: float
    margin: float
    gauge: GaugeSpec
    certificate: Certificate
    dual: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))


def _separability(Z: np.ndarray) -> float:
    """``max t s.t. Zβ ≥ t, ‖β‖_∞ ≤ 1`` (LP, HiGHS). Positive iff the data are separable."""
    from scipy.optimize import linprog

    n, d = Z.shape
    c = np.zeros(d + 1)
    c[-1] = -1.0
    A = np.hstack([-Z, np.ones((n, 1))])
    res = linprog(c, A_ub=A, b_ub=np.zeros(n), bounds=[(-1, 1)] * d + [(None, 1)],
                  method="highs")
    if res.status != 0:  # pragma: no cover - LP always feasible (β = 0, t = min 0)
        raise ValueError(f"separability LP failed: {res.message}")
    return float(-res.fun)


def margin_ratio(X, y, beta, gauge: Any) -> np.ndarray:
    """Normalised margin ``min_i y_i⟨x_i, β⟩ / φ_∞(β)`` for ``β`` of shape (d,) or (B, d)."""
    X, y = check_classification_data(X, y)
    g = as_gauge(gauge)
    beta = np.asarray(beta, dtype=np.float64)
    m = np.min((beta @ X.T) * y, axis=-1)
    return m / g(beta)


def max_margin(X, y, gauge: Any = "l2", *, tolerance: float = 1e-6) -> MaxMarginSolution:
    """φ∞-max-margin classifier ``argmin{φ_∞(β) : y_i⟨x_i, β⟩ ≥ 1}`` with a certificate.

    Pesme, Dragomir & Flammarion (NeurIPS 2024, arXiv:2406.12763), main theorem: the limit
    direction of mirror flow with a potential whose horizon function is ``φ_∞``.

    Parameters
    ----------
    X : array_like (n, d)
    y : array_like (n,), labels in {-1, +1}
    gauge : str, float, GaugeSpec or horizon record
        ``"l1"``, ``"l2"``, ``"linf"``, a number ``p ≥ 1``, or the result of
        :func:`dln_verify.symbolic.horizon.horizon_function` (asymmetric gauges included).
    tolerance : float
        Both certificate residuals (constraint violation relative to 1 and the relative duality
        gap) must be at most this for ``certificate.accepted``.

    Returns
    -------
    MaxMarginSolution

    Raises
    ------
    ValueError
        Bad input, or data that are not linearly separable (the LP ``max t : Zβ ≥ t,
        ‖β‖_∞ ≤ 1`` has value ≤ 1e-9), or a gauge that forbids every separating direction.
    """
    import cvxpy as cp

    X, y = check_classification_data(X, y)
    tolerance = check_positive(tolerance, "tolerance")
    g = as_gauge(gauge)
    Z = y[:, None] * X
    n, d = Z.shape
    scale = float(np.max(np.abs(Z)))
    if scale == 0.0:
        raise ValueError("X is identically zero: the data are not linearly separable")
    Zs = Z / scale  # solver sees entries of size ≤ 1; β = β_s / scale
    if _separability(Zs) <= 1e-9:
        raise ValueError(
            "the data are not linearly separable (no β with y_i⟨x_i, β⟩ > 0 for all i): the "
            "max-margin problem is infeasible"
        )
    bp = cp.Variable(d, nonneg=True)
    bn = cp.Variable(d, nonneg=True)
    a, b = g._scales()
    parts = []
    cons = []
    if np.isfinite(a):
        parts.append(a * bp)
    else:
        cons.append(bp == 0)
    if np.isfinite(b):
        parts.append(b * bn)
    else:
        cons.append(bn == 0)
    stacked = cp.hstack(parts)
    if np.isinf(g.p):
        objective = cp.max(stacked)
    elif g.p == 1.0:
        objective = cp.sum(stacked)
    elif g.p == 2.0:
        objective = cp.norm(stacked, 2)
    else:
        objective = cp.pnorm(stacked, g.p)
    margin_con = Zs @ (bp - bn) >= 1
    problem = cp.Problem(cp.Minimize(objective), [margin_con, *cons])
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            problem.solve(solver=cp.CLARABEL)
        except cp.error.SolverError as exc:
            notes.append(f"CLARABEL failed ({exc}); retried with SCS")
            problem.solve(solver=cp.SCS, eps=1e-9, max_iters=200000)
    notes.extend(str(w.message).splitlines()[0] for w in caught)
    status = str(problem.status)
    if bp.value is None or bn.value is None:
        if status in ("infeasible", "infeasible_inaccurate"):
            raise ValueError(
                f"no separating direction with finite gauge {g.label or g}: the gauge forbids "
                "the signs every separating β needs"
            )
        raise ValueError(f"max-margin solver returned no solution (status {status})")
    beta_s = np.asarray(bp.value - bn.value, dtype=np.float64)
    lam = np.maximum(np.asarray(margin_con.dual_value, dtype=np.float64).ravel(), 0.0)
    # certificate in the scaled problem, then map back (gauge is 1-homogeneous)
    violation = float(max(0.0, np.max(1.0 - Zs @ beta_s)))
    value_s = float(g(beta_s))
    polar = float(g.polar(Zs.T @ lam))
    lam_feas = lam / polar if polar > 0 else lam
    gap = value_s - float(np.sum(lam_feas))
    rel_gap = abs(gap) / max(value_s, 1e-300)
    # project into the feasible set by rescaling (keeps the direction)
    min_margin = float(np.min(Zs @ beta_s))
    if min_margin <= 0:
        raise ValueError(f"max-margin solver returned a non-separating β (status {status})")
    accepted = violation <= tolerance and rel_gap <= tolerance
    cert = Certificate(
        solver="cvxpy-clarabel",
        status=status,
        primal_residual=violation,
        optimality_residual=rel_gap,
        residual_kind="relative duality gap with rescaled multipliers",
        tolerance=tolerance,
        accepted=bool(accepted),
        notes=tuple(notes),
    )
    beta = beta_s / scale
    value = float(g(beta))
    margin = float(np.min(Z @ beta)) / value
    return MaxMarginSolution(
        beta=beta,
        direction=beta / np.linalg.norm(beta),
        value=value,
        margin=margin,
        gauge=g,
        certificate=cert,
        dual=lam_feas / scale,
    )
