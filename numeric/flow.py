"""Gradient-flow integrators for diagonal linear networks (regression).

Convention (``docs/theory/conventions.md``, ``docs/theory/regression.md`` §0):
``L(β) = ‖Xβ − y‖²/(2n)``, ``g(β) = ∇L(β) = Xᵀ(Xβ − y)/n``.

- :func:`gradient_flow_uv` integrates the raw flow ``u̇ = −v ⊙ g``, ``v̇ = −u ⊙ g`` of
  ``β = u ⊙ v`` (DOP853). It does not use the mirror identity: it is the independent simulation
  compared with the prediction of :func:`dln_verify.numeric.convex.implicit_bias_solution`.
- :func:`gradient_flow_depth` integrates ``β = w₊^D − w₋^D`` with ``w±(0) = α`` (Woodworth et al.,
  COLT 2020, arXiv:2002.09277).
- :func:`gradient_flow_dual` integrates the equivalent n-dimensional flow
  ``Ġ = (Xβ − y)/n``, ``β = a ⊙ sinh(c − 2XᵀG)`` (``a = α²``, ``c = asinh(β̃₀/α²)``), which is
  exactly gradient flow on the network from ``u₀ = √2α``, ``v₀ = 0``
  (``docs/theory/regression.md`` §0.1, docs/theory/regression.md §1.1) — stiff, so LSODA/Radau with
  the analytic Jacobian, all exponentials from ``log a``.

Each returns a :class:`FlowResult`; divergence (non-finite state) and non-convergence by
``t_max`` are reported in ``diverged`` / ``converged`` / ``message``, never as NaN results.
The record uses the field names shared by every simulator of :mod:`dln_verify.numeric`:
``times`` (with ``time_unit``), ``beta``, ``final_beta``, ``diverged``, ``converged``,
``message``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from dln_verify.numeric.hyperbolic import asinh_ratio, scaled_cosh, scaled_sinh
from dln_verify.numeric.progress import progress_scope
from dln_verify.numeric.validation import (
    as_finite_array,
    check_alpha,
    check_positive,
    check_regression_data,
)

__all__ = ["FlowResult", "gradient_flow_uv", "gradient_flow_depth", "gradient_flow_dual"]

_BLOWUP = 1e150
_GROWTH = 1e6  # growth of max|state| that, with a failed integrator, counts as a blow-up
#: default cap on accepted integrator steps per run: far above what a converging run needs
#: (the claims' flows take at most a few thousand), so a run stuck at a residual floor above
#: ``tol`` (e.g. depth 3, α = 5: DOP853 ~1e5 steps per unit time) stops instead of hanging
MAX_STEPS = 200_000


@dataclass(frozen=True)
class FlowResult:
    """Result of one gradient-flow integration (single run).

    Attributes
    ----------
    times : ndarray, shape (T,)
        Sample times in flow time ``t`` (see ``time_unit``): T ≤ n_samples accepted integrator
        steps, evenly spaced in step index (dense where the dynamics are fast), from 0 to the
        final time.
    beta : ndarray, shape (T, d)
        ``β(t)`` at the sample times (the stored trajectory).
    final_beta : ndarray, shape (d,)
        ``β`` at the final time (the event time when the residual tolerance was reached).
    residual : float
        Final ``‖Xβ − y‖ / ‖y‖`` (relative to ‖y‖).
    converged : bool
        ``residual ≤ tol`` was reached before ``t_max`` and within ``max_steps`` steps.
    diverged : bool
        A blow-up: the state became non-finite or exceeded 1e150 in magnitude, or the
        integrator failed (step size collapse) after the state grew by more than
        1e6 × (1 + max|state₀|). An integrator failure without such growth is *not* a blow-up:
        it gives ``converged = False``, ``diverged = False`` and the integrator's message.
    nfev : int
        Right-hand-side evaluations.
    message : str
        What stopped the run.
    time_unit : str
        Unit of ``times``: ``"t"`` (flow time).
    """

    times: np.ndarray
    beta: np.ndarray
    final_beta: np.ndarray
    residual: float
    converged: bool
    diverged: bool
    nfev: int
    message: str
    time_unit: str = "t"




def _check_max_steps(max_steps) -> int:
    if (
        isinstance(max_steps, bool)
        or not isinstance(max_steps, numbers.Integral)
        or max_steps < 1
    ):
        raise ValueError(f"max_steps must be an integer >= 1, got {max_steps!r}")
    return int(max_steps)


def _check_common(X, y, t_max, rtol, atol, n_samples, tol):
    X, y = check_regression_data(X, y, require_underdetermined=False)
    t_max = check_positive(t_max, "t_max")
    rtol = check_positive(rtol, "rtol")
    atol = check_positive(atol, "atol")
    tol = check_positive(tol, "tol")
    if (
        isinstance(n_samples, bool)
        or not isinstance(n_samples, numbers.Integral)
        or n_samples < 2
    ):
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    return X, y, t_max, rtol, atol, int(n_samples), tol


def _thin(ts: list, states: list, keep: int) -> tuple[list, list]:
    """Drop every other stored sample (keeping the first and the last) once there are too many."""
    if len(ts) <= keep:
        return ts, states
    idx = list(range(0, len(ts) - 1, 2)) + [len(ts) - 1]
    return [ts[i] for i in idx], [states[i] for i in idx]


def _run(rhs, state0, beta_of, X, y, *, t_max, rtol, atol, n_samples, tol, method, jac=None,
         max_steps=MAX_STEPS, label="gradient flow"):
    """Integrate step by step with a scipy ``OdeSolver``; stop at residual ≤ tol or blow-up.

    The residual is checked at every accepted step (no root finding on the interpolant, which is
    fragile at the 1e-10 level), so the final state is an actual step of the integrator.
    """
    from scipy.integrate import BDF, DOP853, LSODA, Radau

    solvers = {"DOP853": DOP853, "LSODA": LSODA, "Radau": Radau, "BDF": BDF}
    ynorm = float(np.linalg.norm(y))  # relative to ‖y‖ (y ≢ 0 is validated)

    def residual_of(state):
        with np.errstate(all="ignore"):
            return float(np.linalg.norm(X @ beta_of(state) - y)) / ynorm

    r0 = residual_of(state0)
    b0 = beta_of(state0)
    if r0 <= tol:
        return FlowResult(np.zeros(1), b0[None, :], b0, r0, True, False, 0, "already converged")
    kwargs = {"jac": jac} if jac is not None else {}
    solver = solvers[method](rhs, 0.0, state0, t_max, rtol=rtol, atol=atol, **kwargs)
    keep = 4 * n_samples
    ts, states = [0.0], [state0.copy()]
    residual = r0
    converged = diverged = False
    message = ""
    steps = 0
    last_good = (0.0, state0.copy())
    scale0 = float(np.max(np.abs(state0)))
    # progress in decades of the residual, from r0 down to tol (monotone: the flow decreases
    # the loss; advance_to ignores any float64 wobble); computed only when someone listens
    decades = math.log10(r0 / tol) if math.isfinite(r0) else None
    with progress_scope(decades, "decades", label) as bar, \
            np.errstate(over="ignore", invalid="ignore"):
        while True:
            if solver.status != "running":
                break
            msg = solver.step()
            steps += 1
            state = solver.y
            m = float(np.max(np.abs(state)))
            if not np.isfinite(m) or m > _BLOWUP or msg is not None and solver.status == "failed":
                if not np.isfinite(m) or m > _BLOWUP:
                    diverged = True
                    message = f"diverged at t = {solver.t:.6g} (state non-finite or > {_BLOWUP:g})"
                elif m > _GROWTH * (1.0 + scale0):
                    # step size collapsed while the state exploded: a finite-time blow-up
                    diverged = True
                    message = (
                        f"diverged at t = {solver.t:.6g}: integrator failed ({msg}) with the state "
                        f"grown to {m:.3g}"
                    )
                else:
                    message = f"integrator failed at t = {solver.t:.6g}: {msg}"
                break
            last_good = (float(solver.t), state.copy())
            ts.append(float(solver.t))
            states.append(state.copy())
            ts, states = _thin(ts, states, keep)
            residual = residual_of(state)
            if bar.active and 0.0 < residual < math.inf:
                bar.advance_to(math.log10(r0 / residual))
            if residual <= tol:
                converged = True
                message = f"residual {residual:.3e} <= tol {tol:.1e} at t = {solver.t:.6g}"
                break
            if steps >= max_steps:
                message = (
                    f"not converged: stopped after max_steps = {max_steps} accepted steps at "
                    f"t = {solver.t:.6g} with residual {residual:.3e} > tol {tol:.1e} (a residual "
                    f"floor of the integrator, or t_max too long for this cap)"
                )
                break
    if not message:
        message = f"not converged by t_max = {t_max:g}: residual {residual:.3e} > tol {tol:.1e}"
    t_end, state_end = last_good
    if ts[-1] != t_end:
        ts.append(t_end)
        states.append(state_end)
    idx = np.unique(np.linspace(0, len(ts) - 1, min(n_samples, len(ts))).round().astype(int))
    t_arr = np.asarray(ts)[idx]
    with np.errstate(all="ignore"):
        betas = np.array([beta_of(states[i]) for i in idx])
        beta_final = beta_of(state_end)
    if diverged:
        residual = float("inf")
    else:
        residual = residual_of(state_end)
    return FlowResult(
        t_arr, betas, beta_final, float(residual), converged, diverged, int(solver.nfev), message
    )


def gradient_flow_uv(
    X,
    y,
    u0,
    v0,
    *,
    t_max: float,
    rtol: float = 1e-12,
    atol: float = 1e-20,
    n_samples: int = 200,
    tol: float = 1e-10,
    max_steps: int = MAX_STEPS,
) -> FlowResult:
    """Raw gradient flow of ``F(u, v) = L(u ⊙ v)``: ``u̇ = −v ⊙ g``, ``v̇ = −u ⊙ g``.

    Convention: ``β = u ⊙ v``, ``L = ‖Xβ − y‖²/(2n)``, ``g = Xᵀ(Xβ − y)/n``; from
    ``u₀ = √2α``, ``v₀ = 0`` the limit is ``argmin_{Xβ=y} ψ_α`` (Woodworth et al., COLT 2020,
    Thm. 1, arXiv:2002.09277; ``docs/theory/regression.md`` §1.1), and from ``u₀ = a_u``,
    ``v₀ = a_v`` it is the Bregman projection of
    :func:`dln_verify.numeric.parametrisations.unbalanced_prediction_params`.
    Integrated with DOP853; the integration stops when ``‖Xβ−y‖/‖y‖ ≤ tol`` (relative to ‖y‖).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    u0, v0 : array_like, shape (d,)
    t_max : float
        Horizon; if the residual tolerance is not reached, ``converged`` is False.
    rtol, atol : float
        DOP853 tolerances; ``atol`` must be ≥ 1e-20 (smaller values break the initial-step
        heuristic when ``v₀ = 0``; ``docs/theory/regression.md`` §10.1).
    n_samples : int
        Maximum number of stored samples of the path.
    tol : float
        Relative residual at which the flow is stopped and declared converged.
    max_steps : int
        Cap on accepted integrator steps (default ``MAX_STEPS = 200_000``); reaching it stops
        the run with ``converged = False`` and a message saying so (a run stuck at a residual
        floor above ``tol`` would otherwise take ~forever).

    Returns
    -------
    FlowResult
    """
    X, y, t_max, rtol, atol, n_samples, tol = _check_common(X, y, t_max, rtol, atol, n_samples, tol)
    max_steps = _check_max_steps(max_steps)
    if atol < 1e-20:
        raise ValueError(f"atol must be >= 1e-20 (docs/theory/regression.md §10.1), got {atol!r}")
    n, d = X.shape
    u0 = as_finite_array(u0, "u0", ndim=1)
    v0 = as_finite_array(v0, "v0", ndim=1)
    if u0.shape[0] != d:
        raise ValueError(f"u0 must have length d = {d}, got {u0.shape[0]}")
    if v0.shape[0] != d:
        raise ValueError(f"v0 must have length d = {d}, got {v0.shape[0]}")

    def beta_of(state):
        return state[:d] * state[d:]

    def rhs(t, state):
        u, v = state[:d], state[d:]
        g = X.T @ (X @ (u * v) - y) / n
        return np.concatenate([-v * g, -u * g])

    return _run(
        rhs,
        np.concatenate([u0, v0]),
        beta_of,
        X,
        y,
        t_max=t_max,
        rtol=rtol,
        atol=atol,
        n_samples=n_samples,
        tol=tol,
        method="DOP853",
        max_steps=max_steps,
        label="gradient flow on u⊙v",
    )


def gradient_flow_depth(
    X,
    y,
    alpha,
    depth: int,
    *,
    t_max: float,
    rtol: float = 1e-12,
    atol: float = 1e-20,
    n_samples: int = 200,
    tol: float = 1e-10,
    max_steps: int = MAX_STEPS,
) -> FlowResult:
    """Raw gradient flow of ``β = w₊^D − w₋^D`` from ``w₊(0) = w₋(0) = α``.

    ``ẇ₊ = −D w₊^{D−1} ⊙ g``, ``ẇ₋ = +D w₋^{D−1} ⊙ g`` with ``g = Xᵀ(Xβ − y)/n``. The limit is
    ``argmin_{Xβ=y} α^D Σ q_D(β_i/α^D)`` (Woodworth et al., COLT 2020, Thm. 3,
    arXiv:2002.09277; ``docs/theory/regression.md`` §1.2); at ``D = 2`` this is Woodworth's ``Q_α``,
    i.e. ``ψ_{√2 α}`` of the ``u ⊙ v`` convention. DOP853, stopped at residual ≤ ``tol``.

    Parameters
    ----------
    X, y : array_like
    alpha : float or array_like, shape (d,)
        Initial weights, > 0.
    depth : int
        ``D ≥ 2``.
    t_max, rtol, atol, n_samples, tol, max_steps
        As in :func:`gradient_flow_uv`.
    """
    X, y, t_max, rtol, atol, n_samples, tol = _check_common(X, y, t_max, rtol, atol, n_samples, tol)
    max_steps = _check_max_steps(max_steps)
    if atol < 1e-20:
        raise ValueError(f"atol must be >= 1e-20 (docs/theory/regression.md §10.1), got {atol!r}")
    n, d = X.shape
    alpha = check_alpha(alpha, d)
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 2:
        raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
    D = int(depth)
    w0 = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (d,)).copy()

    def beta_of(state):
        return state[:d] ** D - state[d:] ** D

    def rhs(t, state):
        wp, wm = state[:d], state[d:]
        g = X.T @ (X @ (wp**D - wm**D) - y) / n
        return np.concatenate([-D * wp ** (D - 1) * g, D * wm ** (D - 1) * g])

    return _run(
        rhs,
        np.concatenate([w0, w0]),
        beta_of,
        X,
        y,
        t_max=t_max,
        rtol=rtol,
        atol=atol,
        n_samples=n_samples,
        tol=tol,
        method="DOP853",
        max_steps=max_steps,
        label=f"depth-{D} gradient flow" + (f", α = {float(alpha):g}" if np.ndim(alpha) == 0
                                             else ""),
    )


def gradient_flow_dual(
    X,
    y,
    alpha,
    reference=None,
    *,
    t_max: float,
    rtol: float = 1e-12,
    atol: float = 1e-14,
    n_samples: int = 200,
    tol: float = 1e-10,
    method: str = "auto",
    max_steps: int = MAX_STEPS,
) -> FlowResult:
    """Gradient flow on the network, integrated in the n-dimensional dual coordinates.

    For ``β = u ⊙ v`` from ``u₀ = √2α``, ``v₀ = 0`` (or any init with ``α_eff = α`` and
    ``β̃₀ = reference``, see
    :func:`dln_verify.numeric.parametrisations.effective_scale_and_reference`),
    gradient flow satisfies exactly ``β(t) = a ⊙ sinh(c − 2XᵀG(t))`` with ``a = α²``,
    ``c = asinh(β̃₀/α²)`` and ``Ġ = (Xβ − y)/n``, ``G(0) = 0`` (``docs/theory/regression.md`` §0.1;
    Woodworth et al., COLT 2020, arXiv:2002.09277). The Jacobian
    ``∂Ġ/∂G = −(2/n) X diag(a cosh(c − 2XᵀG)) Xᵀ`` is supplied; all exponentials use ``log a``
    (:mod:`dln_verify.numeric.hyperbolic`), so α down to 1e-30 is fine.

    Parameters
    ----------
    X, y : array_like
    alpha : float or array_like, shape (d,)
        Scale, > 0.
    reference : array_like, shape (d,), optional
        ``β̃₀`` (None means 0).
    t_max, rtol, atol, n_samples, tol, max_steps
        As in :func:`gradient_flow_uv` (``atol`` applies to ``G``; ``max_steps`` per attempt).
    method : {"auto", "LSODA", "Radau", "BDF"}
        Stiff-capable scipy integrator. ``"auto"``: LSODA (fastest), and if LSODA's state becomes
        non-finite (its first huge step on the plateau at tiny α can overflow ``a sinh``), the
        integration is redone with BDF, which rejects such steps; the message says so. The dual
        flow is a gradient flow of a convex function and cannot truly diverge.
    """
    X, y, t_max, rtol, atol, n_samples, tol = _check_common(X, y, t_max, rtol, atol, n_samples, tol)
    max_steps = _check_max_steps(max_steps)
    if method not in ("auto", "LSODA", "Radau", "BDF"):
        raise ValueError(f"method must be 'auto', 'LSODA', 'Radau' or 'BDF', got {method!r}")
    n, d = X.shape
    alpha = check_alpha(alpha, d)
    log_a = 2.0 * np.broadcast_to(np.log(np.asarray(alpha, dtype=np.float64)), (d,)).copy()
    if reference is None:
        c = np.zeros(d)
    else:
        reference = as_finite_array(reference, "reference", ndim=1)
        if reference.shape[0] != d:
            raise ValueError(f"reference must have length d = {d}, got {reference.shape[0]}")
        c = asinh_ratio(reference, log_a)
    Xt = X.T

    def beta_of(G):
        return scaled_sinh(log_a, c - 2.0 * (Xt @ G))

    def rhs(t, G):
        return (X @ beta_of(G) - y) / n

    def jac(t, G):
        w = scaled_cosh(log_a, c - 2.0 * (Xt @ G))
        return -(2.0 / n) * ((X * w) @ Xt)

    def run(m):
        return _run(
            rhs,
            np.zeros(n),
            beta_of,
            X,
            y,
            t_max=t_max,
            rtol=rtol,
            atol=atol,
            n_samples=n_samples,
            tol=tol,
            method=m,
            jac=jac,
            max_steps=max_steps,
            label=f"dual gradient flow ({m})",
        )

    if method != "auto":
        return run(method)
    res = run("LSODA")
    if res.diverged or (not res.converged and "integrator failed" in res.message):
        retry = run("BDF")
        note = f"LSODA failed ({res.message}); redone with BDF: "
        res = FlowResult(
            retry.times,
            retry.beta,
            retry.final_beta,
            retry.residual,
            retry.converged,
            retry.diverged,
            res.nfev + retry.nfev,
            note + retry.message,
        )
    return res
