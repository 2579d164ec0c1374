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

Solvers: by default the numpy-only solvers of :mod:`dln_verify.numeric.convex.max_margin_dual`
(dual Newton for ``1 < p ≤ 3``, a primal barrier first for ``p > 3``, an LP interior point for
``p ∈ {1, ∞}``,
``docs/theory/classification.md §1.9``) run first; their answer is returned only if the
certificate below accepts it. Otherwise (and with ``method="cvxpy"``) the separability LPs
(HiGHS) decide bad data and cvxpy (CLARABEL, then SCS) solves the split problem.

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
from dln_verify.numeric.convex.norms import power_of_two_scale, safe_norm
from dln_verify.numeric.validation import (
    as_finite_array,
    check_classification_data,
    check_in_range,
)

__all__ = ["MaxMarginSolution", "GaugeSpec", "as_gauge", "max_margin", "margin_ratio",
           "FaceDiameter", "optimal_face_diameter", "UNIQUENESS_EPS", "UNIQUENESS_MAX_SHRINK",
           "Separability", "separability", "SEPARABILITY_TOL", "RegimeGap", "regime_gap"]


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
        return safe_norm(parts, ord=self.p, axis=-1)

    def polar(self, g: np.ndarray) -> np.ndarray:
        """Polar gauge ``sup{⟨g, β⟩ : φ_∞(β) ≤ 1}`` along the last axis."""
        g = np.asarray(g, dtype=np.float64)
        a, b = self._scales()
        parts = np.concatenate([np.maximum(g, 0.0) / a, np.maximum(-g, 0.0) / b], axis=-1)
        q = 1.0 if np.isinf(self.p) else (np.inf if self.p == 1.0 else self.p / (self.p - 1.0))
        return safe_norm(parts, ord=q, axis=-1)


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
    """Normalised margin ``min_i y_i⟨x_i, β⟩ / φ_∞(β)`` for ``β`` of shape (d,) or (B, d).

    ``beta`` must be finite with last axis of length ``d`` (ValueError naming it otherwise).
    """
    X, y = check_classification_data(X, y)
    g = as_gauge(gauge)
    beta = as_finite_array(beta, "beta")
    if beta.ndim not in (1, 2) or beta.shape[-1] != X.shape[1]:
        raise ValueError(f"beta must have shape (d,) or (B, d) with d = {X.shape[1]}, got "
                         f"{beta.shape}")
    m = np.min((beta @ X.T) * y, axis=-1)
    return m / g(beta)


#: largest finite exponent p the conic solver is given (CLARABEL's power-cone form of ‖·‖_p
#: with a huge p fails inside cvxpy: p = 1000 raises ZeroDivisionError); larger p: use "linf"
MAX_FINITE_P = 100.0


def _signed_separability(Zs: np.ndarray, g: GaugeSpec) -> tuple[float, np.ndarray | None]:
    """``max t s.t. Zβ ≥ t, ‖β‖_∞ ≤ 1`` over the signs the gauge allows (LP, HiGHS).

    Returns ``(t, β)``; ``t > 0`` iff a separating direction with finite gauge exists.
    """
    from scipy.optimize import linprog

    a, b = g._scales()
    n, d = Zs.shape
    lo = 0.0 if not np.isfinite(b) else -1.0
    hi = 0.0 if not np.isfinite(a) else 1.0
    c = np.zeros(d + 1)
    c[-1] = -1.0
    A = np.hstack([-Zs, np.ones((n, 1))])
    res = linprog(c, A_ub=A, b_ub=np.zeros(n), bounds=[(lo, hi)] * d + [(None, 1)],
                  method="highs")
    if res.status != 0 or res.x is None:  # pragma: no cover - β = 0, t = 0 is feasible
        return 0.0, None
    return float(-res.fun), np.asarray(res.x[:d], dtype=np.float64)


def _solve_conic(Zs: np.ndarray, g: GaugeSpec, weights: np.ndarray):
    """``min φ(β) s.t. Zs β ≥ 1`` in the variables ``β = weights ⊙ b`` (column equilibration).

    Returns ``(β, λ, status, notes)``; ``β``/``λ`` are None when the solver gave no point.
    """
    import cvxpy as cp

    n, d = Zs.shape
    Zc = Zs * weights[None, :]
    bp = cp.Variable(d, nonneg=True)
    bn = cp.Variable(d, nonneg=True)
    a, b = g._scales()
    parts = []
    cons = []
    if np.isfinite(a):
        parts.append(cp.multiply(a * weights, bp))
    else:
        cons.append(bp == 0)
    if np.isfinite(b):
        parts.append(cp.multiply(b * weights, bn))
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
    margin_con = Zc @ (bp - bn) >= 1
    problem = cp.Problem(cp.Minimize(objective), [margin_con, *cons])
    notes: list[str] = []
    status = "solver_error"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for solver, kwargs in ((cp.CLARABEL, {}), (cp.SCS, {"eps": 1e-9, "max_iters": 200000})):
            try:
                problem.solve(solver=solver, **kwargs)
                status = str(problem.status)
                break
            except (cp.error.SolverError, ArithmeticError, ValueError) as exc:
                notes.append(f"{solver} failed ({type(exc).__name__}: {exc})")
    notes.extend(str(w.message).splitlines()[0] for w in caught)
    if bp.value is None or bn.value is None or margin_con.dual_value is None:
        return None, None, status, notes
    # a forbidden sign's part is 0 exactly (the solver returns it to within its accuracy,
    # ~1e-12, and a negative β_j of that size would make the gauge +inf)
    pos = np.asarray(bp.value, dtype=np.float64) if np.isfinite(a) else np.zeros(d)
    neg = np.asarray(bn.value, dtype=np.float64) if np.isfinite(b) else np.zeros(d)
    beta = weights * (pos - neg)
    lam = np.maximum(np.asarray(margin_con.dual_value, dtype=np.float64).ravel(), 0.0)
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(lam))):
        return None, None, status, [*notes, "solver returned non-finite values"]
    return beta, lam, status, notes


def _certify_scaled(Zs: np.ndarray, g: GaugeSpec, beta_s: np.ndarray, lam: np.ndarray):
    """Constraint violation and relative duality gap of ``min φ(β) s.t. Zs β ≥ 1``."""
    violation = float(max(0.0, np.max(1.0 - Zs @ beta_s)))
    value_s = float(g(beta_s))
    polar = float(g.polar(Zs.T @ lam))
    lam_feas = lam / polar if polar > 0 else lam
    gap = value_s - float(np.sum(lam_feas))
    rel_gap = abs(gap) / value_s if value_s > 0 and np.isfinite(value_s) else float("inf")
    return violation, rel_gap, value_s, lam_feas


#: the solver paths of :func:`max_margin`
METHODS = ("auto", "cvxpy")


def _solve_native(Zs: np.ndarray, g: GaugeSpec, tolerance: float):
    """The numpy-only solver (:mod:`~dln_verify.numeric.convex.max_margin_dual`), certified.

    Returns ``(β_s, λ, viol, gap, method, status)`` when its answer is accepted at
    ``tolerance`` by :func:`_certify_scaled`, else None.
    """
    from dln_verify.numeric.convex.max_margin_dual import solve_max_margin

    with np.errstate(all="ignore"):
        out = solve_max_margin(Zs, g)
    if out.beta is None or out.dual is None:
        return None
    viol, gap, _, _ = _certify_scaled(Zs, g, out.beta, out.dual)
    if not (viol <= tolerance and gap <= tolerance and float(np.min(Zs @ out.beta)) > 0.0
            and np.isfinite(float(g(out.beta)))):
        return None
    return out.beta, out.dual, viol, gap, out.method, f"{out.status} ({out.iterations} it)"


def max_margin(X, y, gauge: Any = "l2", *, tolerance: float = 1e-6,
               method: str = "auto") -> MaxMarginSolution:
    """φ∞-max-margin classifier ``argmin{φ_∞(β) : y_i⟨x_i, β⟩ ≥ 1}`` with a certificate.

    Pesme, Dragomir & Flammarion (NeurIPS 2024, arXiv:2406.12763), main theorem: the limit
    direction of mirror flow with a potential whose horizon function is ``φ_∞``.

    The problem is solved for ``Z = diag(y) X / 2^k`` with ``max|Z| ∈ [0.5, 1)`` (an exact
    rescaling; the gauge is 1-homogeneous, so ``β = β_s / 2^k``) and reported in the user's
    units; values are computed with scale-safe norms. If the first conic solve is not accepted
    it is retried with column equilibration (``β = w ⊙ b``, ``w_j = 2^{−k_j}`` with column ``j``
    of ``Z`` of size ``2^{k_j}``), and the better certified answer is returned.

    What is certified: ``primal_residual`` = largest violation of ``y_i⟨x_i, β̄⟩ ≥ 1``;
    ``optimality_residual`` = relative duality gap ``(φ_∞(β̄) − Σλ̃)/φ_∞(β̄)`` with multipliers
    rescaled to dual feasibility (weak duality makes it an optimality bound). ``accepted`` iff
    both are finite and ``≤ tolerance``. A solver failure (no point, a non-separating point,
    an infeasibility claim the sign-restricted LP contradicts) is returned as a solution with
    ``certificate.accepted = False`` and the solver's status — it is never reported as bad
    input.

    Parameters
    ----------
    X : array_like (n, d)
        Finite, not identically zero; the value ``φ_∞(β̄)`` and margin (which scale like
        ``1/max|X|`` and ``max|X|``) must be representable (ValueError naming ``X`` otherwise).
    y : array_like (n,), labels in {-1, +1}
    gauge : str, float, GaugeSpec or horizon record
        ``"l1"``, ``"l2"``, ``"linf"``, a number ``p`` in ``[1, 100]`` or ``inf``, or the result
        of :func:`dln_verify.symbolic.horizon.horizon_function` (asymmetric gauges included).
    tolerance : float
        In ``(0, 1)``. Both certificate residuals (constraint violation relative to 1 and the
        relative duality gap) must be at most this for ``certificate.accepted``.
    method : {"auto", "cvxpy"}
        ``"auto"`` (default): the numpy-only solver of
        :mod:`~dln_verify.numeric.convex.max_margin_dual` first (dual Newton for
        ``1 < p ≤ 3``, primal barrier for ``p > 3``, LP interior point for ``p ∈ {1, ∞}``);
        its answer is returned only if
        the certificate above accepts it (a certified β with ``Zβ ≥ 1`` and finite gauge
        proves separability with the allowed signs, so the LPs are not solved), otherwise the
        ``"cvxpy"`` path runs unchanged. ``"cvxpy"``: separability LPs (HiGHS), then the conic
        solve (CLARABEL, SCS). ``certificate.solver`` says which produced the answer
        (``"dual-newton"``, ``"primal-newton"``, ``"interior-point"`` or ``"cvxpy-clarabel"``).

    Returns
    -------
    MaxMarginSolution

    Raises
    ------
    ValueError
        Bad input (naming the parameter and its allowed range), data that are not linearly
        separable (the LP ``max t : Zβ ≥ t, ‖β‖_∞ ≤ 1`` has value ≤ 1e-9), or a gauge that
        forbids every separating direction (the same LP restricted to the allowed signs has
        value ≤ 1e-9) — decided by these LPs, never by the conic solver's status. The LPs run
        only when the numpy-only solver's answer is not accepted: an accepted β (``Zβ ≥ 1``
        to ``tolerance``, finite gauge) already proves both properties.
    """
    X, y = check_classification_data(X, y)
    tolerance = check_in_range(tolerance, "tolerance", 0.0, 1.0, low_inclusive=False,
                               high_inclusive=False)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    g = as_gauge(gauge)
    if np.isfinite(g.p) and g.p > MAX_FINITE_P:
        raise ValueError(f"gauge exponent p must lie in [1, {MAX_FINITE_P:g}] or be inf (use "
                         f"'linf' for larger p), got p = {g.p:g}")
    Z = y[:, None] * X
    n, d = Z.shape
    zmax = float(np.max(np.abs(Z)))
    if zmax == 0.0:
        raise ValueError("X is identically zero: the data are not linearly separable")
    k = power_of_two_scale(Z)
    Zs = np.ldexp(Z, -k)  # exact: entries of size < 1; β = β_s · 2^{-k}
    native = _solve_native(Zs, g, tolerance) if method == "auto" else None
    if native is not None:
        beta_s, lam, viol, gap, solver, status = native
        cert = Certificate(
            solver=solver,
            status=status,
            primal_residual=viol,
            optimality_residual=gap,
            residual_kind="relative duality gap with rescaled multipliers",
            tolerance=tolerance,
            accepted=True,
            notes=(),
        )
        return _solution(Zs, k, zmax, g, beta_s, lam, cert)
    return _max_margin_cvxpy(Zs, k, zmax, g, tolerance)


def _max_margin_cvxpy(Zs: np.ndarray, k: int, zmax: float, g: GaugeSpec,
                      tolerance: float) -> MaxMarginSolution:
    """The separability LPs, then the conic solve (the ``method="cvxpy"`` path)."""
    n, d = Zs.shape
    if _separability(Zs) <= 1e-9:
        raise ValueError(
            "the data are not linearly separable (no β with y_i⟨x_i, β⟩ > 0 for all i): the "
            "max-margin problem is infeasible"
        )
    t_signed, beta_lp = _signed_separability(Zs, g)
    if t_signed <= 1e-9:
        raise ValueError(
            f"no separating direction with finite gauge {g.label or g}: the gauge forbids "
            "the signs every separating β needs (sign-restricted separability LP)"
        )

    attempts = []
    col_exp = np.array([power_of_two_scale(Zs[:, j]) for j in range(d)])
    for label, weights in (("plain", np.ones(d)), ("column-equilibrated", np.ldexp(1.0, -col_exp))):
        beta_s, lam, status, notes = _solve_conic(Zs, g, weights)
        if beta_s is None or float(np.min(Zs @ beta_s)) <= 0.0:
            why = "no solution" if beta_s is None else "a non-separating β"
            notes = [*notes, f"solver failure ({label}): {why} (status {status})"]
            attempts.append((float("inf"), None, None, status, notes, label))
        else:
            viol, gap, _, _ = _certify_scaled(Zs, g, beta_s, lam)
            score = max(viol, gap) if np.isfinite(max(viol, gap)) else float("inf")
            attempts.append((score, beta_s, lam, status, notes, label))
        if attempts[-1][0] <= tolerance or not np.any(col_exp):
            break
    best = min(attempts, key=lambda a: a[0])
    _, beta_s, lam, status, notes, label = best
    notes = [n for a in attempts for n in a[4]]
    if len(attempts) > 1:
        notes.append(f"first solve not accepted; returned the {label} solve")
    solver_failed = beta_s is None
    if solver_failed:
        # the LP found a separating direction with allowed signs: a feasible (not optimal)
        # point, returned so that the answer is usable but flagged as not certified
        beta_s = beta_lp / t_signed
        lam = np.zeros(n)
        notes.append("no certified conic solution: beta is the sign-restricted LP's separating "
                     "point (feasible, not optimal)")
    viol, gap, value_s, lam_feas = _certify_scaled(Zs, g, beta_s, lam)
    if solver_failed:
        gap = float("inf")
    cert = Certificate(
        solver="cvxpy-clarabel",
        status=status,
        primal_residual=viol,
        optimality_residual=gap,
        residual_kind="relative duality gap with rescaled multipliers",
        tolerance=tolerance,
        accepted=bool(viol <= tolerance and gap <= tolerance),
        notes=tuple(notes),
    )
    return _solution(Zs, k, zmax, g, beta_s, lam, cert)


def _solution(Zs: np.ndarray, k: int, zmax: float, g: GaugeSpec, beta_s: np.ndarray,
              lam: np.ndarray, cert: Certificate) -> MaxMarginSolution:
    """Back to the user's units, with the scale checks of :func:`max_margin`."""
    _, _, value_s, lam_feas = _certify_scaled(Zs, g, beta_s, lam)
    # back to the user's units: β = β_s 2^{-k}, φ(β) = φ(β_s) 2^{-k}, margin = γ_s 2^{k}
    with np.errstate(over="ignore", under="ignore"):
        beta = np.ldexp(beta_s, -k)
        value = float(np.ldexp(value_s, -k))
        margin = float(np.ldexp(float(np.min(Zs @ beta_s)) / value_s, k))
        dual = np.ldexp(lam_feas, -k)
    if not (np.isfinite(value) and value > 0 and np.isfinite(margin) and margin > 0):
        raise ValueError(
            f"X is too extreme in scale (max|X| = {zmax:g}): the max-margin value "
            f"phi(beta) = {value:g} or the margin {margin:g} is not a positive float64; "
            "rescale X")
    return MaxMarginSolution(
        beta=beta,
        direction=beta_s / safe_norm(beta_s),
        value=value,
        margin=margin,
        gauge=g,
        certificate=cert,
        dual=dual,
    )


#: relative optimality slack of the uniqueness test (:func:`optimal_face_diameter`): 100× the
#: relative accuracy of the HiGHS LP that gives the optimal value (primal/dual feasibility 1e-9)
#: and 10× below the conic certificate's tolerance 1e-6; the face is measured at ε and ε/10
UNIQUENESS_EPS = 1e-7
#: largest ratio ``D(ε/10)/D(ε)`` of the ε-face diameters for "unique": an isolated LP minimiser
#: is sharp (``φ_∞(β) − v* ≥ c·dist(β, β̄)``), so for small ε its face is ``≈ ε·K`` and the
#: ratio is 1/10; a non-unique minimiser keeps a face of size ``D₀ > 0`` and the ratio is ≈ 1.
#: The midpoint on a log scale between 1/10 and 1 is 1/√10 ≈ 0.32
UNIQUENESS_MAX_SHRINK = 10.0 ** -0.5
#: a face below this relative diameter at ε is a point to float64 LP accuracy (no ratio needed)
POINT_DIAMETER = 1e-6


@dataclass(frozen=True)
class FaceDiameter:
    """Size of the ε-optimal face ``F_ε = {β : Zβ ≥ 1, φ_∞(β) ≤ v*(1 + ε)}``.

    Attributes
    ----------
    relative_diameter : float
        ``‖w‖₂ / ‖β̄‖₂`` at ε, with ``w_i = max_{F_ε} β_i − min_{F_ε} β_i`` (the diagonal of the
        bounding box of ``F_ε``: an upper bound on its ℓ2 diameter); 0 for strictly convex
        gauges.
    eps : float
    shrink : float
        ``D(ε/10)/D(ε)``: 1/10 for an isolated (sharp) minimiser, ≈ 1 for a non-unique one
        (0 when the face is a point or the gauge is strictly convex).
    conditioning : float
        ``relative_diameter / eps`` (the sharpness constant ``K``: the angle of a direction
        whose gauge is ``1 + δ`` times optimal is at most ``≈ K δ``).
    unique : bool
        ``relative_diameter ≤ POINT_DIAMETER`` or ``shrink ≤ max_shrink``.
    method : str
    """

    relative_diameter: float
    eps: float
    shrink: float
    conditioning: float
    unique: bool
    method: str


def optimal_face_diameter(X, y, gauge: Any, *, eps: float = UNIQUENESS_EPS,
                          max_shrink: float = UNIQUENESS_MAX_SHRINK) -> FaceDiameter:
    """Uniqueness test of ``argmin{φ_∞(β) : Zβ ≥ 1}``: how its ε-optimal face shrinks with ε.

    Pesme, Dragomir & Flammarion (NeurIPS 2024, arXiv:2406.12763) identify the limit direction
    of mirror flow with this minimiser when it is unique (otherwise only the limit points lie in
    the arg-min, ``docs/theory/classification.md §1.3``). For ``1 < p < ∞`` (asymmetric weights
    included) ``φ_∞^p = Σ h(β_i)`` is strictly convex, so the minimiser is unique: no LP is
    solved. For the polyhedral gauges (``p = 1``, ``p = ∞``, weighted) the optimal value ``v*``
    is computed by a HiGHS LP, then ``2d`` LPs give ``min/max β_i`` over
    ``F_ε = {Zβ ≥ 1, φ_∞(β) ≤ v*(1 + ε)}``, at ε and at ε/10. An isolated LP minimiser is
    sharp, so its face shrinks like ε (ratio 1/10); a non-unique one keeps a face of size
    O(1) (ratio ≈ 1). ``unique`` iff the face is a point to LP accuracy
    (:data:`POINT_DIAMETER`) or the ratio is ``≤ max_shrink``
    (default :data:`UNIQUENESS_MAX_SHRINK` = 1/√10, the log-midpoint).

    Examples
    --------
    >>> import numpy as np
    >>> from dln_verify.numeric.instances import separable_classification
    >>> X, y = separable_classification(8, 16, 0)
    >>> f = optimal_face_diameter(X, y, "linf")
    >>> f.unique, round(f.shrink, 2), optimal_face_diameter(X, y, "l2").method
    (True, 0.1, 'strictly convex')
    >>> Xz = np.hstack([X, np.zeros((8, 1))])  # a null feature: its ℓ∞ coordinate is free
    >>> optimal_face_diameter(Xz, y, "linf").unique
    False
    """
    from scipy.optimize import linprog

    X, y = check_classification_data(X, y)
    eps = check_in_range(eps, "eps", 0.0, 1.0, low_inclusive=False)
    max_shrink = check_in_range(max_shrink, "max_shrink", 0.0, 1.0, low_inclusive=False,
                                high_inclusive=False)
    g = as_gauge(gauge)
    if 1.0 < g.p < np.inf:
        return FaceDiameter(0.0, eps, 0.0, 0.0, True, "strictly convex")
    Z = y[:, None] * X
    Zs = np.ldexp(Z, -power_of_two_scale(Z))
    n, d = Zs.shape
    a, b = g._scales()
    if np.isinf(g.p):
        # variables (β, v): min v s.t. Zβ ≥ 1, a β_i ≤ v, −b β_i ≤ v (a forbidden sign: bound 0)
        lo = [None if np.isfinite(b) else 0.0] * d
        hi = [None if np.isfinite(a) else 0.0] * d
        rows = [np.hstack([-Zs, np.zeros((n, 1))])]
        if np.isfinite(a):
            rows.append(np.hstack([a * np.eye(d), -np.ones((d, 1))]))
        if np.isfinite(b):
            rows.append(np.hstack([-b * np.eye(d), -np.ones((d, 1))]))
        A = np.vstack(rows)
        rhs = np.r_[-np.ones(n), np.zeros(A.shape[0] - n)]
        bounds = [*zip(lo, hi, strict=True), (0.0, None)]
        nv, sel = d + 1, np.eye(d + 1)[:d]
    else:
        # split β = b₊ − b₋, variables (b₊, b₋, v): a Σb₊ + b Σb₋ ≤ v
        wa = a if np.isfinite(a) else 0.0
        wb = b if np.isfinite(b) else 0.0
        A = np.vstack([np.hstack([-Zs, Zs, np.zeros((n, 1))]),
                       np.r_[np.full(d, wa), np.full(d, wb), -1.0][None, :]])
        rhs = np.r_[-np.ones(n), 0.0]
        bounds = ([(0.0, None if np.isfinite(a) else 0.0)] * d
                  + [(0.0, None if np.isfinite(b) else 0.0)] * d + [(0.0, None)])
        nv = 2 * d + 1
        sel = np.hstack([np.eye(d), -np.eye(d), np.zeros((d, 1))])
    cost = np.zeros(nv)
    cost[-1] = 1.0
    res = linprog(cost, A_ub=A, b_ub=rhs, bounds=bounds, method="highs")
    if res.status != 0:
        raise ValueError(f"the max-margin LP for gauge {g.label or g} failed ({res.message}): "
                         "are X, y separable with the signs the gauge allows?")
    v_star = float(res.fun)
    scale = float(np.linalg.norm(sel @ res.x))

    def diameter(e: float) -> float:
        bounds_e = [*bounds[:-1], (0.0, v_star * (1.0 + e))]
        widths = np.empty(d)
        for i in range(d):
            ext = []
            for sign in (1.0, -1.0):
                r = linprog(sign * sel[i], A_ub=A, b_ub=rhs, bounds=bounds_e, method="highs")
                if r.status != 0:  # pragma: no cover - the optimal point is feasible
                    raise ValueError(f"uniqueness LP for coordinate {i} failed ({r.message})")
                ext.append(float(sel[i] @ r.x))
            widths[i] = abs(ext[1] - ext[0])
        return float(np.linalg.norm(widths) / scale)

    rel = diameter(eps)
    if rel <= POINT_DIAMETER:
        return FaceDiameter(rel, eps, 0.0, rel / eps, True, "LP face widths")
    shrink = diameter(eps / 10.0) / rel
    return FaceDiameter(rel, eps, shrink, rel / eps, bool(shrink <= max_shrink),
                        "LP face widths at ε and ε/10")


#: relative size (to ``max|Z|``) below which an ℓ∞-ball margin counts as zero: HiGHS's primal
#: and dual feasibility tolerance is 1e-7, so a smaller certified margin cannot be told from 0
SEPARABILITY_TOL = 1e-7


@dataclass(frozen=True)
class Separability:
    """Certified answer to "are ``(X, y)`` linearly separable?" (:func:`separability`).

    Attributes
    ----------
    separable : bool
        True iff the primal certificate ``β`` separates: ``t_lower > SEPARABILITY_TOL·max|Z|``.
    t_lower, t_upper : float
        ``t_lower = min_i y_i⟨x_i, β⟩`` for the returned ``β`` with ``‖β‖_∞ ≤ 1`` (computed from
        ``β``, not read from the solver) and ``t_upper = ‖Zᵀλ‖₁`` for the returned ``λ ≥ 0``,
        ``Σλ = 1``; weak duality gives ``t_lower ≤ t* ≤ t_upper`` for the ℓ∞-ball margin t*.
    beta : ndarray (d,)
        Primal certificate (a separating direction when ``separable``).
    dual : ndarray (n,)
        Gordan certificate: ``λ ≥ 0``, ``Σλ = 1``; ``Zᵀλ ≈ 0`` proves that no β separates.
    message : str
        One line: what was certified.
    """

    separable: bool
    t_lower: float
    t_upper: float
    beta: np.ndarray = field(repr=False)
    dual: np.ndarray = field(repr=False)
    message: str = ""


def separability(X, y) -> Separability:
    """Certify linear separability of ``(X, y)`` with an LP and both of its certificates.

    The ℓ∞-ball margin ``t* = max{t : Zβ ≥ t·1, ‖β‖_∞ ≤ 1}`` (``Z = diag(y)X``) has the LP dual
    ``min{‖Zᵀλ‖₁ : λ ≥ 0, Σλ = 1}``; by Gordan's theorem exactly one of "some β has Zβ > 0"
    (``t* > 0``) and "some λ ≥ 0, λ ≠ 0, has Zᵀλ = 0" holds. HiGHS returns a primal β and
    the row duals λ; both bounds are recomputed from them: ``t_lower = min Zβ`` (β clipped
    to the box) and ``t_upper = ‖Zᵀλ‖₁``. The data are separable iff
    ``t_lower > SEPARABILITY_TOL·max|Z|`` — a direct check of a separating β, whatever the
    solver's status.

    Parameters
    ----------
    X : array_like (n, d)
    y : array_like (n,), labels in {-1, +1}

    Returns
    -------
    Separability

    Examples
    --------
    >>> import numpy as np
    >>> separability(np.array([[1.0, 0.0], [-1.0, 0.5]]), np.array([1.0, -1.0])).separable
    True
    >>> xor = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    >>> cert = separability(xor, np.array([1.0, 1.0, -1.0, -1.0]))
    >>> cert.separable, cert.t_upper < 1e-12
    (False, True)
    """
    from scipy.optimize import linprog

    X, y = check_classification_data(X, y)
    Z = y[:, None] * X
    n, d = Z.shape
    zmax = float(np.max(np.abs(Z)))
    scale = zmax if zmax > 0 else 1.0
    Zs = Z / scale
    c = np.zeros(d + 1)
    c[-1] = -1.0
    A = np.hstack([-Zs, np.ones((n, 1))])
    res = linprog(c, A_ub=A, b_ub=np.zeros(n), bounds=[(-1, 1)] * d + [(None, 1)],
                  method="highs")
    beta = np.zeros(d) if res.x is None else np.clip(np.asarray(res.x[:d], float), -1.0, 1.0)
    t_lower = float(np.min(Zs @ beta))
    marg = getattr(getattr(res, "ineqlin", None), "marginals", None)
    lam = np.zeros(n) if marg is None else np.maximum(-np.asarray(marg, float), 0.0)
    if lam.sum() > 0:
        lam = lam / lam.sum()
        t_upper = float(np.abs(Zs.T @ lam).sum())
    else:
        lam, t_upper = np.full(n, 1.0 / n), float(np.abs(Zs.T @ np.full(n, 1.0 / n)).sum())
    separable = t_lower > SEPARABILITY_TOL
    if separable:
        msg = (f"separable: a direction β with |β|_inf <= 1 has min_i y_i<x_i, β> = "
               f"{t_lower * scale:.3g} (LP upper bound {t_upper * scale:.3g})")
    elif t_upper <= SEPARABILITY_TOL:
        msg = (f"not linearly separable: multipliers λ >= 0, sum λ = 1 give "
               f"|sum_i λ_i y_i x_i|_1 = {t_upper * scale:.2g} (Gordan certificate: a convex "
               f"combination of the signed samples is 0)")
    else:
        msg = (f"not certified separable: the best separating direction found has margin "
               f"{t_lower * scale:.2g} <= {SEPARABILITY_TOL:g}·max|y x| and the LP bound is "
               f"{t_upper * scale:.2g}")
    return Separability(bool(separable), t_lower * scale, t_upper * scale, beta, lam, msg)


@dataclass(frozen=True)
class RegimeGap:
    """Data-derived asymptotic regime of mirror flow with an ℓ∞ horizon (:func:`regime_gap`).

    Attributes
    ----------
    horizon : float
        The log t from which every item the limit treats as inactive (a sample off the
        support, a free coordinate) is separated from the active ones by at least ``k`` in the
        exponent, the O(1) offsets included (``docs/theory/classification.md §1.8``).
    margin_gap : float
        ``min_{k ∉ S}(m̄_k − 1)`` over the samples off the support (``m̄ = Zβ̄``, min margin 1);
        ``inf`` when every sample is a support vector.
    coordinate_gap : float
        ``‖β̄‖_∞ − max_{i free}|β̄_i|``; ``inf`` when every coordinate is saturated.
    offsets : ndarray (d,)
        The O(1) term ρ of ``β_t = β̄ u + ρ + o(1)`` (``u`` the margin scale).
    asymptotic_constant : float
        ``(1 + ‖β̄‖_∞)‖ρ_⊥‖/‖β̄‖``, ρ_⊥ the part of ρ orthogonal to β̄: the predicted limit of
        ``angle · log t``.
    k : float
        The separation asked for (``e^{−k}`` relative weight).
    """

    horizon: float
    margin_gap: float
    coordinate_gap: float
    offsets: np.ndarray = field(repr=False)
    asymptotic_constant: float
    k: float


#: relative slack under which a margin (or an ℓ∞ coordinate) counts as active in
#: :func:`regime_gap`: 100× the max-margin certificate's tolerance 1e-6 (the solution's
#: margins and coordinates are accurate to that), so ties are not split by solver noise
ACTIVE_TOL = 1e-4


def regime_gap(solution: MaxMarginSolution, X, y, k: float) -> RegimeGap:
    """When mirror flow with the ``cosh`` potential reaches its asymptotic regime, from the data.

    For the exponential-type horizon (``φ_∞ = ‖·‖_∞``) the flow has, with ``u`` the margin
    scale (``u ≈ log t/(1 + b)``, ``b = ‖β̄‖_∞``; ``docs/theory/classification.md §1.8``),
    ``β_t = β̄ u + ρ + o(1)``: the dual ``ν ∝ λ`` (the certified multipliers), so a saturated
    coordinate has ``ρ_j = sign(β̄_j) log|(Zᵀλ)_j|``, the support margins have offsets
    ``−log λ_k + c``, and the free coordinates' ρ and ``c`` solve ``Z_S ρ = −log λ_S + c``
    (least squares). An inactive item is separated from the active ones by its gap times
    ``u`` plus an offset difference: a sample ``k ∉ S`` by
    ``(m̄_k − 1)u + (Zρ)_k − max_S(Zρ)``, a free coordinate ``i`` by
    ``(b − |β̄_i|)u + min_J sign ρ_J − sign(β̄_i)ρ_i``. ``horizon`` is the
    ``(1 + b)u`` at which every separation reaches ``k``.

    Parameters
    ----------
    solution : MaxMarginSolution
        The ℓ∞ max-margin solution of ``(X, y)`` (ValueError for another gauge).
    X, y : the data
    k : float
        Separation in the exponent, > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from dln_verify.numeric.instances import separable_classification
    >>> X, y = separable_classification(8, 16, 0)
    >>> r = regime_gap(max_margin(X, y, "linf"), X, y, np.log(100.0))
    >>> bool(0 < r.horizon < 400), round(r.asymptotic_constant, 1)
    (True, 2.7)
    """
    X, y = check_classification_data(X, y)
    if not np.isinf(solution.gauge.p):
        raise ValueError("solution must be an ℓ∞ max-margin solution (gauge linf), got p = "
                         f"{solution.gauge.p:g}")
    k = check_in_range(k, "k", 0.0, np.inf, low_inclusive=False)
    Z = y[:, None] * X
    beta = np.asarray(solution.beta, float)
    m0 = Z @ beta
    scale = float(np.min(m0))
    beta, m = beta / scale, m0 / scale
    lam = np.abs(np.asarray(solution.dual, float))
    sup = m <= 1.0 + ACTIVE_TOL
    b = float(np.max(np.abs(beta)))
    sat = np.abs(beta) >= b * (1.0 - ACTIVE_TOL)
    free = ~sat
    g = Z.T @ lam
    margin_gap = float(np.min(m[~sup]) - 1.0) if (~sup).any() else float("inf")
    coord_gap = float(b - np.max(np.abs(beta[free]))) if free.any() else float("inf")
    if not (np.all(lam[sup] > 0) and np.all(np.abs(g[sat]) > 0)):
        # an active item with a zero multiplier: no strict complementarity, no finite horizon
        return RegimeGap(float("inf"), margin_gap, coord_gap, np.full_like(beta, np.nan),
                         float("nan"), k)
    sign = np.sign(beta)
    rho = np.zeros_like(beta)
    rho[sat] = sign[sat] * np.log(np.abs(g[sat]))
    A = np.hstack([Z[np.ix_(sup, free)], -np.ones((int(sup.sum()), 1))])
    rhs = -np.log(lam[sup]) - Z[np.ix_(sup, sat)] @ rho[sat]
    x = np.linalg.lstsq(A, rhs, rcond=None)[0]
    rho[free] = x[:-1]
    mu = Z @ rho
    us = [0.0]
    if (~sup).any():
        us += list((k + np.max(mu[sup]) - mu[~sup]) / (m[~sup] - 1.0))
    if free.any():
        low = float(np.min(sign[sat] * rho[sat]))
        us += list((k + sign[free] * rho[free] - low) / (b - np.abs(beta[free])))
    perp = rho - (rho @ beta) / (beta @ beta) * beta
    const = (1.0 + b) * float(np.linalg.norm(perp) / np.linalg.norm(beta))
    return RegimeGap(float((1.0 + b) * max(us)), margin_gap, coord_gap, rho, const, k)
