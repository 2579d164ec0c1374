"""Gradient flow of a DLN at tiny initialisation, integrated in rescaled dual coordinates.

Pesme, S. and Flammarion, N. (2023), "Saddle-to-Saddle Dynamics in Diagonal Linear Networks",
NeurIPS 2023, arXiv:2304.00488 (Theorem 2 compares this flow with
:mod:`dln_verify.numeric.saddles`).

Convention (``docs/theory/conventions.md``; ``docs/theory/classification.md`` §2.1):
``L(β) = ‖Xβ − y‖²/(2n)``, ``β = u ⊙ v``, ``u₀ = √2 α``, ``v₀ = 0``. Gradient flow is exactly the
mirror flow ``β_t = α² sinh(−2∫₀ᵗ ∇L(β_r) dr)``. With ``λ = log(1/α)``, accelerated time ``τ = t/λ``
and the rescaled dual ``s(τ) = −∫₀^τ ∇L(β̃(r)) dr`` one has exactly

    ds/dτ = −∇L(β(s)),    β(s) = α² sinh(2λ s).

Because ``s(τ) = Xᵀν(τ)`` with ``ν(τ) = −∫₀^τ (Xβ̃ − y)/n dr``, the flow is integrated as the
n-dimensional ODE ``dν/dτ = (y − Xβ(Xᵀν))/n``, ``ν(0) = 0``, with an implicit Radau solver and the
analytic Jacobian ``−X diag(2λ α² cosh(2λ s)) Xᵀ / n``. ``β(s)`` and its derivative are evaluated
from ``log α`` (:func:`dln_verify.numeric.hyperbolic.scaled_sinh`), so α = 1e-120 costs the same as
1e-5.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from dln_verify.numeric.budgeted_ivp import solve_ivp_within
from dln_verify.numeric.hyperbolic import scaled_cosh, scaled_sinh
from dln_verify.numeric.progress import progress_scope, track_time
from dln_verify.numeric.validation import as_finite_array, check_in_range, check_positive

#: default budget of right-hand-side evaluations per flow (solver units): the claim's default
#: instances take 5–9·10³ (Radau, rtol 1e-10); a run that needs more than ~10× that is stopped
#: and reported not converged instead of running on (seed 150 of the default generator did)
MAX_EVALUATIONS = 100_000

__all__ = [
    "DualFlow",
    "integrate_dual_flow",
    "beta_from_dual",
    "measure_jump_times",
    "plateau_errors",
    "MAX_EVALUATIONS",
]


def _check_flow(flow) -> None:
    if not isinstance(flow, DualFlow):
        raise TypeError(f"flow must be a DualFlow (from integrate_dual_flow), got "
                        f"{type(flow).__name__}")


def beta_from_dual(s, log_inv_alpha: float) -> np.ndarray:
    """``β = α² sinh(2λ s)`` with ``λ = log(1/α)``, overflow-safe (``u ⊙ v`` convention).

    Parameters
    ----------
    s : array_like
        Rescaled dual variable.
    log_inv_alpha : float
        ``λ = log(1/α) > 0``.

    Returns
    -------
    ndarray
        ``β`` with the shape of ``s``.
    """
    lam = check_positive(log_inv_alpha, "log_inv_alpha")
    return scaled_sinh(-2.0 * lam, 2.0 * lam * np.asarray(s, dtype=np.float64))


@dataclass(frozen=True)
class DualFlow:
    """Solution of the rescaled dual flow (single run).

    Field names are those shared by every simulator of :mod:`dln_verify.numeric` (``times``,
    ``time_unit``, ``beta``, ``final_beta``, ``diverged``, ``converged``, ``message``).

    Attributes
    ----------
    alpha : float
        Initialisation scale (``u₀ = √2α``); ``log_inv_alpha = log(1/α)``.
    log_inv_alpha : float
    times : ndarray, shape (T,)
        Output grid in accelerated time ``τ = t / log(1/α)`` (see ``time_unit``).
    beta : ndarray, shape (T, d)
        ``β̃(τ)`` on the grid (the stored trajectory).
    dual : ndarray, shape (T, d)
        ``s(τ)`` on the grid.
    loss : ndarray, shape (T,)
    converged : bool
        The solver reached ``tau_max`` and every output is finite.
    diverged : bool
        A blow-up: the state or ``β`` became non-finite. A solver failure on finite values
        (e.g. step-size collapse) is not one: ``converged = False``, ``diverged = False`` and
        ``message`` carries the solver's message.
    message : str
    nfev, njev : int
    elapsed_s : float
        Wall-clock seconds (informative only: nothing depends on it).
    time_unit : str
        Unit of ``times``: ``"tau = t/log(1/alpha)"``.
    """

    alpha: float
    log_inv_alpha: float
    times: np.ndarray
    beta: np.ndarray
    dual: np.ndarray
    loss: np.ndarray
    converged: bool
    diverged: bool
    message: str
    nfev: int
    njev: int
    elapsed_s: float
    _X: np.ndarray = field(repr=False)
    _sol: object = field(repr=False)
    time_unit: str = "tau = t/log(1/alpha)"

    @property
    def final_beta(self) -> np.ndarray:
        """``β̃`` at the last stored time, shape (d,)."""
        return self.beta[-1]

    @property
    def tau(self) -> np.ndarray:
        """Legacy alias of `times` (to be removed)."""
        return self.times

    @property
    def success(self) -> bool:
        """Legacy alias of `converged` (to be removed)."""
        return self.converged

    def dual_at(self, tau) -> np.ndarray:
        """``s(τ)`` from the solver's dense output, shape ``(len(tau), d)``."""
        tau = np.atleast_1d(np.asarray(tau, dtype=np.float64))
        nu = np.asarray(self._sol(tau))  # (n, T)
        return (self._X.T @ nu).T

    def beta_at(self, tau) -> np.ndarray:
        """``β̃(τ)`` from the dense output, shape ``(len(tau), d)``."""
        return beta_from_dual(self.dual_at(tau), self.log_inv_alpha)


def integrate_dual_flow(
    X,
    y,
    alpha: float | None,
    tau_max: float,
    *,
    n_eval: int = 2001,
    rtol: float = 1e-10,
    atol: float | None = None,
    log_inv_alpha: float | None = None,
    max_evaluations: int = MAX_EVALUATIONS,
) -> DualFlow:
    """Integrate DLN gradient flow for ``τ ∈ [0, tau_max]`` in rescaled dual coordinates.

    Pesme & Flammarion (NeurIPS 2023, arXiv:2304.00488), rescaled flow of their Theorem 2:
    ``ds/dτ = −∇L(α² sinh(2 log(1/α) s))``, ``s(0) = 0``, which is exactly gradient flow on
    ``β = u ⊙ v`` from ``u₀ = √2α``, ``v₀ = 0`` observed at ``t = τ log(1/α)``.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    alpha : float or None
        Initialisation scale, ``1e-300 ≤ α < 1`` (typically 1e-5 … 1e-120). ``None`` when
        ``log_inv_alpha`` is given instead.
    tau_max : float
        Horizon in accelerated time (> 0).
    n_eval : int
        Number of uniform grid points for the stored trajectory (≥ 2); the solver's own steps
        (four points each) are added, and the dense output is kept too.
    rtol, atol : float
        Radau tolerances (``atol`` defaults to ``1e-13 · max(1, ‖ν‖ scale)``).
    log_inv_alpha : float, optional
        ``λ = log(1/α)`` given directly, ``0 < λ ≤ 1e4`` (exclusive with ``alpha``): the flow
        only ever uses ``log α``, so α far below the smallest double (λ > 745) is fine; the
        record's ``alpha`` is then ``exp(−λ)``, which may underflow to 0.
    max_evaluations : int
        Budget of right-hand-side evaluations (solver units). A run that spends it stops with
        ``converged = False``, ``diverged = False`` and a trajectory holding only ``τ = 0``.

    Returns
    -------
    DualFlow
        Trajectory on the grid plus dense output. ``diverged`` is True when the state becomes
        non-finite (never returned as NaN silently); a solver failure on finite values gives
        ``converged = False``, ``diverged = False`` and the solver's message, with the
        trajectory at the solver's own steps.
    """
    X = as_finite_array(X, "X", ndim=2)
    y = as_finite_array(y, "y", ndim=1)
    n, d = X.shape
    if y.shape[0] != n:
        raise ValueError(f"y must have length n = X.shape[0] = {n}, got {y.shape[0]}")
    if log_inv_alpha is None:
        if alpha is None:
            raise ValueError("give alpha (1e-300 <= alpha < 1) or log_inv_alpha (0 < λ <= 1e4)")
        alpha = check_in_range(alpha, "alpha", 1e-300, 1.0, high_inclusive=False)
        lam = float(-np.log(alpha))
    else:
        if alpha is not None:
            raise ValueError("give either alpha or log_inv_alpha, not both")
        lam = check_in_range(log_inv_alpha, "log_inv_alpha", 0.0, 1e4, low_inclusive=False)
        alpha = float(np.exp(-lam))
    tau_max = check_positive(tau_max, "tau_max")
    rtol = check_in_range(rtol, "rtol", 1e-14, 1e-2)
    if isinstance(n_eval, bool) or not isinstance(n_eval, int | np.integer) or n_eval < 2:
        raise ValueError(f"n_eval must be an integer >= 2, got {n_eval!r}")
    log_a = -2.0 * lam
    log_da = np.log(2.0 * lam) - 2.0 * lam
    Xt = X.T.copy()
    if atol is None:
        # ν has the scale of 1/‖X‖ (since ‖Xᵀν‖_∞ ≲ 1): keep ~1e-13 relative accuracy on s.
        atol = 1e-13 / max(1.0, float(np.max(np.linalg.norm(X, axis=0))))
    else:
        atol = check_positive(atol, "atol")

    def rhs(_tau, nu):
        s = Xt @ nu
        beta = scaled_sinh(log_a, 2.0 * lam * s)
        return (y - X @ beta) / n

    def jac(_tau, nu):
        s = Xt @ nu
        w = scaled_cosh(log_da, 2.0 * lam * s)
        return -(X * w) @ Xt / n

    start = time.perf_counter()
    with progress_scope(tau_max, "τ", f"dual flow at log(1/α) = {lam:.4g}") as bar, \
            np.errstate(over="ignore", invalid="ignore"):
        # track_time reports the solver's τ without touching what rhs returns (rhs itself
        # when nobody listens)
        run = solve_ivp_within(track_time(rhs, bar), (0.0, tau_max), np.zeros(n),
                               max_evaluations=max_evaluations, method="Radau", jac=jac,
                               rtol=rtol, atol=atol, dense_output=True)
    elapsed = time.perf_counter() - start
    if run.budget_spent:
        return DualFlow(
            alpha=alpha, log_inv_alpha=lam, times=np.zeros(1), beta=np.zeros((1, d)),
            dual=np.zeros((1, d)), loss=np.array([float(y @ y) / (2 * n)]), converged=False,
            diverged=False, message=f"not converged: {run.message}", nfev=run.nfev, njev=0,
            elapsed_s=elapsed, _X=X, _sol=None)
    sol = run.sol
    ok = bool(sol.success) and np.all(np.isfinite(sol.y)) and sol.t[-1] >= tau_max * (1 - 1e-12)
    if ok:
        # Grid: a uniform grid plus the solver's own steps (which concentrate at the jumps),
        # each step split in `sub` pieces, so that short plateaus are resolved.
        sub = 4
        steps = sol.t
        fine = (steps[:-1, None] + np.diff(steps)[:, None] * np.arange(sub)[None, :] / sub)
        tau = np.union1d(np.linspace(0.0, tau_max, int(n_eval)), fine.ravel())
        tau = np.union1d(tau, [tau_max])
        nu = sol.sol(tau)
        ok = bool(np.all(np.isfinite(nu)))
    if ok:
        dual = (Xt @ nu).T
        with np.errstate(over="ignore", invalid="ignore"):
            beta = beta_from_dual(dual, lam)
            loss = np.sum((beta @ X.T - y) ** 2, axis=1) / (2 * n)
        ok = bool(np.all(np.isfinite(beta)) and np.all(np.isfinite(loss)))
    diverged = False
    message = str(sol.message)
    if not ok:
        # the solver's own steps; a blow-up only if something became non-finite there
        tau = sol.t
        m = tau.size
        with np.errstate(over="ignore", invalid="ignore"):
            dual = (Xt @ sol.y).T if m else np.zeros((0, d))
            beta = beta_from_dual(dual, lam)
            loss = np.sum((beta @ X.T - y) ** 2, axis=1) / (2 * n)
        diverged = not bool(np.all(np.isfinite(beta)) and np.all(np.isfinite(loss)))
        if diverged:
            beta = np.zeros((m, d))
            loss = np.full(m, np.inf)
            message = f"diverged: non-finite state or beta ({sol.message})"
        elif sol.success:
            message = f"not converged: stopped at tau = {float(tau[-1]):g} < tau_max ({message})"
        else:
            message = f"not converged: integrator failed at tau = {float(tau[-1]):g} ({message})"
    return DualFlow(
        alpha=alpha,
        log_inv_alpha=lam,
        times=tau,
        beta=beta,
        dual=dual,
        loss=loss,
        converged=ok,
        diverged=diverged,
        message=message,
        nfev=int(sol.nfev),
        njev=int(sol.njev),
        elapsed_s=elapsed,
        _X=X,
        _sol=sol.sol,
    )


def measure_jump_times(flow: DualFlow, saddles, *, refine: bool = True) -> np.ndarray:
    """Measured jump times by the half-distance criterion (docs/theory/classification.md §2.4).

    Jump ``k`` is the first ``τ`` after the previous measured jump, and after the flow has
    settled on ``β_{k−1}`` (come within ``¼‖β_k − β_{k−1}‖`` of it, when it does), with
    ``‖β̃(τ) − β_k‖ ≤ ½‖β_k − β_{k−1}‖`` (``β₀ = 0``); a nearest-saddle rule fails when
    consecutive saddles are close. Without the settling, a transition that passes near a later
    saddle on its way fires that saddle's jump early (measured on two instances: the last jump
    came out ~10–15 earlier in τ than predicted, at every α). The crossing is located on the
    stored grid and refined by bisection on the solver's dense output.

    Parameters
    ----------
    flow : DualFlow
    saddles : array_like, shape (K, d)
        Predicted saddles ``β₁ … β_K``.
    refine : bool
        Bisect on the dense output (to ~1e-10 in τ).

    Returns
    -------
    ndarray, shape (K,)
        Measured times; NaN where the criterion never fires within the horizon (the search
        for the next jump then starts after the last measured one).
    """
    _check_flow(flow)
    saddles = as_finite_array(saddles, "saddles", ndim=2)
    K, d = saddles.shape
    if d != flow.beta.shape[1]:
        raise ValueError(f"saddles must have d = {flow.beta.shape[1]} columns, got {d}")
    prev = np.vstack([np.zeros((1, d)), saddles[:-1]])
    radius = 0.5 * np.linalg.norm(saddles - prev, axis=1)
    out = np.full(K, np.nan)
    tau = flow.times
    i0 = 0
    for k in range(K):
        if k > 0 and np.isfinite(out[k - 1]):
            # settle on β_{k−1} first (within ¼‖β_k − β_{k−1}‖, so outside the ball of β_k): a
            # transition that passes near a later saddle must not fire that saddle's jump
            settle = np.linalg.norm(flow.beta[i0:] - saddles[k - 1], axis=1)
            near = np.flatnonzero(settle <= 0.5 * radius[k])
            if near.size:
                i0 = i0 + int(near[0])
        dist = np.linalg.norm(flow.beta[i0:] - saddles[k], axis=1)
        hit = np.flatnonzero(dist <= radius[k])
        if hit.size == 0:
            continue  # never reached: NaN, look for the next jump from the same place
        i = i0 + int(hit[0])
        if refine and i > 0 and i > i0:
            lo, hi = tau[i - 1], tau[i]
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                if np.linalg.norm(flow.beta_at(mid)[0] - saddles[k]) <= radius[k]:
                    hi = mid
                else:
                    lo = mid
                if hi - lo < 1e-11 * max(1.0, hi):
                    break
            out[k] = hi
        else:
            out[k] = tau[i]
        i0 = i
    return out


def plateau_errors(
    flow: DualFlow, times, saddles, *, fraction: float = 0.6, n_points: int = 61
) -> np.ndarray:
    """Relative plateau errors ``sup ‖β̃(τ) − β_k‖ / ‖β_k‖`` on the middle of each plateau.

    Plateau ``k`` is ``(t_k, t_{k+1})`` (the last one ends at the horizon of ``flow``); the
    supremum runs over the middle ``fraction`` of it (docs/theory/classification.md §2.4 uses 60 %),
    sampled at ``n_points`` points of the dense output.

    Returns
    -------
    ndarray, shape (K,)
        NaN for a plateau that lies (partly) beyond the horizon.
    """
    _check_flow(flow)
    times = as_finite_array(times, "times", ndim=1)
    saddles = as_finite_array(saddles, "saddles", ndim=2)
    if saddles.shape[0] != times.shape[0]:
        raise ValueError(f"saddles must have one row per jump time ({times.shape[0]}), got "
                         f"{saddles.shape[0]}")
    fraction = check_in_range(fraction, "fraction", 0.0, 1.0, low_inclusive=False)
    if isinstance(n_points, bool) or not isinstance(n_points, int | np.integer) or n_points < 2:
        raise ValueError(f"n_points must be an integer >= 2, got {n_points!r}")
    horizon = float(flow.times[-1])
    ends = np.concatenate([times[1:], [horizon]])
    out = np.full(times.shape[0], np.nan)
    for k, (a, b) in enumerate(zip(times, ends, strict=True)):
        if not (b > a) or b > horizon + 1e-12:
            continue
        mid, half = 0.5 * (a + b), 0.5 * fraction * (b - a)
        grid = np.linspace(mid - half, mid + half, n_points)
        beta = flow.beta_at(grid)
        ref = max(float(np.linalg.norm(saddles[k])), 1e-300)
        out[k] = float(np.max(np.linalg.norm(beta - saddles[k], axis=1))) / ref
    return out
