"""Mirror descent and mirror flow on separable classification data, batched over runs.

Mirror flow with a separable potential ``φ(β) = Σ_i ϕ(β_i)`` (Pesme, Dragomir & Flammarion,
NeurIPS 2024, arXiv:2406.12763; Soudry et al. JMLR 2018 for ``ϕ = x²/2``)::

    d/dt ∇φ(β_t) = −∇L(β_t),   L(β) = Σ_i ℓ(y_i⟨x_i, β⟩),   ℓ(u) = e^{−u} or log(1 + e^{−u}),

with dual variable ``θ = ∇φ(β)`` (``β = (ϕ')^{-1}(θ)`` coordinatewise). Mirror descent is its
Euler discretisation ``θ_{k+1} = θ_k − η ∇L(β_k)``. Convention of the theory sheet
(``classification-and-dynamics.md`` §1): loss summed (not averaged) over samples; ``Z = diag(y)X``,
margins ``m = Zβ``; the flow starts at ``θ_0 = 0`` (``β_0 = argmin ϕ``) unless told otherwise.

**Time change** (sheet §1.6). Reaching ``log t`` in the hundreds or thousands is hopeless in flow
time. Any positive scalar ``c`` gives the same curve for ``dθ/dσ = −c ∇L(β)``; we take
``c = t``, i.e. integrate in ``σ = log t`` itself::

    dθ/dσ = −e^{σ} ∇L(β(θ)) = Zᵀ exp(σ − m)               (exponential loss)
                            = Zᵀ exp(σ − softplus(m))     (logistic loss)

so the independent variable *is* ``log t`` (no extra state), the exponent ``σ − m`` stays O(1)
along the flow, and the Jacobian ``−Zᵀ diag(w) Z diag(dβ/dθ)`` is O(1) for every potential
(because ``t L(β_t) ~ ϕ''(β_t)``). The sheet's choices ``c = max(1, ‖θ‖_∞)`` etc. are other
members of the same family. Integrated with Radau (implicit, analytic Jacobian).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dln_verify.numeric.hyperbolic import scaled_cosh, scaled_sinh
from dln_verify.numeric.validation import (
    as_finite_array,
    check_classification_data,
    check_in_range,
    check_positive,
)

__all__ = [
    "NumericPotential",
    "potential_from_sympy",
    "builtin_potential",
    "MirrorFlowResult",
    "MirrorDescentResult",
    "mirror_flow",
    "mirror_descent",
    "angle",
    "LOSSES",
]

LOSSES = ("exp", "logistic")


class _TooSlow(RuntimeError):
    """Internal: a run exceeded its wall-clock budget."""


@dataclass(frozen=True)
class NumericPotential:
    """Numeric callables of a separable potential (all elementwise on arrays).

    Attributes
    ----------
    name : str
    grad : callable
        Mirror map ``θ = ϕ'(β)``.
    grad_inv : callable
        Inverse mirror map ``β = (ϕ')^{-1}(θ)``.
    inv_hess : callable
        ``dβ/dθ = 1/ϕ''(β(θ))`` as a function of ``θ``.
    expression : str
        The SymPy expression (``str``) it came from.
    hess, hess_deriv : callable or None
        Second and third derivatives of ϕ as functions of β (needed only for
        ``coordinates="primal"``).
    coordinates : {"dual", "primal"}
        State in which :func:`mirror_flow` integrates: ``θ`` (default) or ``β``. Use
        ``"primal"`` for potentials growing faster than any power (``cosh``): there ``θ`` grows
        like a power of ``t`` while ``β`` grows like ``log t``, and Radau takes far fewer steps.
    """

    name: str
    grad: Callable[[np.ndarray], np.ndarray]
    grad_inv: Callable[[np.ndarray], np.ndarray]
    inv_hess: Callable[[np.ndarray], np.ndarray]
    expression: str = ""
    hess: Callable[[np.ndarray], np.ndarray] | None = None
    hess_deriv: Callable[[np.ndarray], np.ndarray] | None = None
    coordinates: str = "dual"


def _newton_inverse(grad: Callable, hess: Callable, theta: np.ndarray) -> np.ndarray:
    """Solve ``ϕ'(β) = θ`` elementwise by bracketing + safeguarded Newton (ϕ' increasing)."""
    theta = np.asarray(theta, dtype=np.float64)
    shape = theta.shape
    t = theta.ravel()
    lo = -np.ones_like(t)
    hi = np.ones_like(t)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(1100):
            bad = grad(lo) > t
            if not bad.any():
                break
            lo[bad] *= 2.0
        for _ in range(1100):
            bad = grad(hi) < t
            if not bad.any():
                break
            hi[bad] *= 2.0
        beta = 0.5 * (lo + hi)
        for _ in range(200):
            f = grad(beta) - t
            lo = np.where(f < 0, beta, lo)
            hi = np.where(f > 0, beta, hi)
            step = f / hess(beta)
            new = beta - step
            outside = ~np.isfinite(new) | (new <= lo) | (new >= hi)
            new = np.where(outside, 0.5 * (lo + hi), new)
            done = (np.abs(new - beta) <= 1e-14 * np.abs(beta)) | (f == 0) | (
                hi - lo <= 4e-16 * np.maximum(np.abs(lo), np.abs(hi))
            )
            beta = new
            if done.all():
                break
    return beta.reshape(shape)


def potential_from_sympy(
    phi: Any, x: Any, name: str = "", coordinates: str = "auto"
) -> NumericPotential:
    """Lambdify ``ϕ'`` and ``ϕ''`` of a SymPy potential; invert ``ϕ'`` by safeguarded Newton.

    Parameters
    ----------
    phi : sympy.Expr
        Per-coordinate potential in ``x`` (convex, ``ϕ'`` onto R: check with
        :func:`dln_verify.symbolic.horizon.horizon_function` first).
    x : sympy.Symbol
    name : str
    coordinates : {"auto", "dual", "primal"}
        See :class:`NumericPotential`. ``auto``: primal when ϕ'' > 0 on a grid of [-50, 50]
        including 0 (no inversion of ϕ' is then needed inside the integrator), else dual.
    """
    import sympy as sp

    if coordinates not in ("auto", "dual", "primal"):
        raise ValueError(f"coordinates must be 'auto', 'dual' or 'primal', got {coordinates!r}")
    d1 = sp.diff(phi, x)
    d2 = sp.diff(d1, x).replace(sp.DiracDelta, lambda *args: sp.Integer(0))
    d3 = sp.diff(d2, x).replace(sp.DiracDelta, lambda *args: sp.Integer(0))
    f1 = sp.lambdify(x, d1, modules="numpy")
    f2 = sp.lambdify(x, d2, modules="numpy")
    f3 = sp.lambdify(x, d3, modules="numpy")

    def hess3(b):
        b = np.asarray(b, dtype=np.float64)
        return np.broadcast_to(np.asarray(f3(b), dtype=np.float64), b.shape).copy()

    def grad(b):
        b = np.asarray(b, dtype=np.float64)
        return np.broadcast_to(np.asarray(f1(b), dtype=np.float64), b.shape).copy()

    def hess(b):
        b = np.asarray(b, dtype=np.float64)
        h = np.broadcast_to(np.asarray(f2(b), dtype=np.float64), b.shape).copy()
        return np.maximum(h, 1e-300)

    def grad_inv(theta):
        return _newton_inverse(grad, hess, theta)

    def inv_hess(theta):
        return 1.0 / hess(grad_inv(theta))

    if coordinates == "auto":
        with np.errstate(all="ignore"):
            probe = np.asarray(f2(np.linspace(-50.0, 50.0, 201)), dtype=np.float64)
        positive = np.all(np.isfinite(probe)) and np.all(probe > 1e-8)
        coordinates = "primal" if positive else "dual"
    return NumericPotential(name or str(phi), grad, grad_inv, inv_hess, str(phi), hess, hess3,
                            coordinates)


def builtin_potential(name: str, alpha: float = 0.1) -> NumericPotential:
    """Closed-form mirror maps of the sheet's potentials (``quadratic``, ``cubic``, ``cosh``,
    ``hypentropy``); other names go through :func:`potential_from_sympy`.

    ``hypentropy`` is ``x asinh(x/α²) − √(x²+α⁴) + α²``: ``θ = asinh(β/α²)``, ``β = α² sinh θ``
    (overflow-safe through :mod:`dln_verify.numeric.hyperbolic`).
    """
    if name == "quadratic":
        return NumericPotential(name, lambda b: np.asarray(b, float) * 1.0,
                                lambda t: np.asarray(t, float) * 1.0,
                                lambda t: np.ones_like(np.asarray(t, float)), "x**2/2")
    if name == "cubic":
        return NumericPotential(
            name,
            lambda b: np.sign(b) * np.asarray(b, float) ** 2,
            lambda t: np.sign(t) * np.sqrt(np.abs(t)),
            lambda t: 0.5 / np.sqrt(np.maximum(np.abs(t), 1e-300)),
            "Abs(x)**3/3",
        )
    if name == "cosh":
        return NumericPotential(name, np.sinh, np.arcsinh,
                                lambda t: 1.0 / np.sqrt(1.0 + np.asarray(t, float) ** 2),
                                "cosh(x) - 1", np.cosh, np.sinh, "primal")
    if name == "hypentropy":
        alpha = check_positive(alpha, "alpha")
        log_a2 = 2.0 * np.log(alpha)
        a2 = alpha**2
        return NumericPotential(
            name,
            lambda b: np.arcsinh(np.asarray(b, float) / a2),
            lambda t: scaled_sinh(log_a2, t),
            lambda t: scaled_cosh(log_a2, t),
            f"x*asinh(x/{a2:g}) - sqrt(x**2 + {a2 * a2:g}) + {a2:g}",
        )
    from dln_verify.symbolic.horizon import parse_potential

    phi, x = parse_potential(name)
    return potential_from_sympy(phi, x, name=name)


def angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle (radians) between ``u`` and ``v`` along the last axis, accurate for small angles
    (``2 atan2(‖û − v̂‖, ‖û + v̂‖)``)."""
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    uh = u / np.linalg.norm(u, axis=-1, keepdims=True)
    vh = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return 2.0 * np.arctan2(np.linalg.norm(uh - vh, axis=-1), np.linalg.norm(uh + vh, axis=-1))


def _loss_weights(m: np.ndarray, shift: float, loss: str) -> tuple[np.ndarray, np.ndarray]:
    """``w = −ℓ'(m)·e^{shift}`` and ``dw/dm·(−1)`` (both ≥ 0), computed in logs."""
    if loss == "exp":
        w = np.exp(np.minimum(shift - m, 700.0))
        return w, w
    log_w = shift - np.logaddexp(0.0, m)  # −ℓ'(m) = 1/(1 + e^m)
    w = np.exp(np.minimum(log_w, 700.0))
    sig = 0.5 * (1.0 + np.tanh(0.5 * m))  # sigmoid(m)
    return w, w * sig


def log_loss(m: np.ndarray, loss: str) -> np.ndarray:
    """``log L = log Σ_i ℓ(m_i)`` along the last axis, without overflow/underflow."""
    from scipy.special import logsumexp

    m = np.asarray(m, dtype=np.float64)
    if loss == "exp":
        return logsumexp(-m, axis=-1)
    sp_ = np.logaddexp(0.0, -m)  # ℓ(m) = softplus(−m)
    with np.errstate(divide="ignore"):
        log_l = np.where(m > 30.0, -m + np.log1p(-0.5 * np.exp(-np.maximum(m, 30.0))),
                         np.log(np.maximum(sp_, 1e-320)))
    return logsumexp(log_l, axis=-1)


@dataclass(frozen=True)
class MirrorFlowResult:
    """Mirror-flow trajectories sampled at given ``log t`` (batch axis first).

    Attributes
    ----------
    log_t : ndarray (T,)
    beta : ndarray (B, T, d)
    theta : ndarray (B, T, d)
    log_loss : ndarray (B, T)
    diverged : ndarray (B,) of bool
        Non-finite state, solver failure, or loss increasing.
    messages : tuple of str
    nfev : ndarray (B,)
    elapsed_s : float
    """

    log_t: np.ndarray
    beta: np.ndarray
    theta: np.ndarray
    log_loss: np.ndarray
    diverged: np.ndarray
    messages: tuple[str, ...] = ()
    nfev: np.ndarray = field(default_factory=lambda: np.zeros(0))
    elapsed_s: float = 0.0


def mirror_flow(
    X,
    y,
    potentials: NumericPotential | Sequence[NumericPotential],
    log_t: Sequence[float],
    *,
    loss: str | Sequence[str] = "exp",
    theta0=None,
    t0: float = 1e-3,
    rtol: float = 1e-8,
    atol: float = 1e-12,
    max_seconds: float | None = None,
) -> MirrorFlowResult:
    """Integrate mirror flow in logarithmic time ``σ = log t`` (Radau), batched over runs.

    Pesme, Dragomir & Flammarion (NeurIPS 2024, arXiv:2406.12763): the direction of ``β_t``
    tends to the φ∞-max-margin classifier; this integrator reaches ``log t`` of 1e3 (and far
    beyond for slowly varying potentials) in a few hundred implicit steps.

    Parameters
    ----------
    X : array_like (n, d)
    y : array_like (n,), labels ±1 (separable data)
    potentials : NumericPotential or sequence of them
        One per run (B runs); a single one is broadcast over the losses.
    log_t : sequence of float, increasing
        Natural logs of the flow times at which to record ``β`` (each > log t0).
    loss : "exp" or "logistic", or one per run
    theta0 : array_like (d,) or (B, d), optional
        Dual initialisation (default 0, i.e. ``β_0 = argmin ϕ``).
    t0 : float
        The flow is started by one explicit Euler step of length ``t0`` from ``θ0`` (error
        ``O(t0²)``), then integrated in ``σ = log t`` from ``log t0``.
    rtol, atol : float
        Radau tolerances on ``θ``.
    max_seconds : float, optional
        Wall-clock budget per run; a run that exceeds it is stopped and flagged ``diverged``
        with a message (guards user potentials whose mirror map is hard to invert).

    Returns
    -------
    MirrorFlowResult
    """
    from scipy.integrate import solve_ivp

    X, y = check_classification_data(X, y)
    Z = y[:, None] * X
    n, d = Z.shape
    pots = [potentials] if isinstance(potentials, NumericPotential) else list(potentials)
    losses = [loss] if isinstance(loss, str) else list(loss)
    if not pots:
        raise ValueError("potentials must contain at least one potential")
    for lo in losses:
        if lo not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {lo!r}")
    B = max(len(pots), len(losses))
    if len(pots) == 1:
        pots = pots * B
    if len(losses) == 1:
        losses = losses * B
    if len(pots) != B or len(losses) != B:
        raise ValueError(f"potentials ({len(pots)}) and loss ({len(losses)}) must have equal "
                         "lengths or length 1")
    t0 = check_in_range(t0, "t0", 0.0, 1.0, low_inclusive=False)
    check_in_range(rtol, "rtol", 1e-14, 1e-2)
    grid = as_finite_array(log_t, "log_t", ndim=1)
    if np.any(np.diff(grid) <= 0) or grid[0] <= np.log(t0):
        raise ValueError(f"log_t must be increasing and > log(t0) = {np.log(t0):g}")
    if theta0 is None:
        th0 = np.zeros((B, d))
    else:
        th0 = np.broadcast_to(as_finite_array(theta0, "theta0"), (B, d)).astype(float)

    betas = np.full((B, grid.size, d), np.nan)
    thetas = np.full((B, grid.size, d), np.nan)
    log_losses = np.full((B, grid.size), np.nan)
    diverged = np.zeros(B, dtype=bool)
    nfev = np.zeros(B, dtype=int)
    messages = []
    start = time.perf_counter()
    s0 = float(np.log(t0))
    for b in range(B):
        pot, lo = pots[b], losses[b]

        primal = pot.coordinates == "primal"
        if primal and (pot.hess is None or pot.hess_deriv is None):
            raise ValueError(f"potential {pot.name} asks for primal coordinates but has no hess")

        deadline = None if max_seconds is None else time.perf_counter() + float(max_seconds)

        def rhs(s, z, pot=pot, lo=lo, primal=primal, deadline=deadline):
            if deadline is not None and time.perf_counter() > deadline:
                raise _TooSlow(f"stopped after {max_seconds} s at log t = {s:.3g}")
            be = z if primal else pot.grad_inv(z)
            w, _ = _loss_weights(Z @ be, s, lo)
            g = Z.T @ w
            return g / pot.hess(be) if primal else g

        def jac(s, z, pot=pot, lo=lo, primal=primal):
            be = z if primal else pot.grad_inv(z)
            w, dw = _loss_weights(Z @ be, s, lo)
            core = (Z.T * dw) @ Z
            if not primal:
                return -core * pot.inv_hess(z)[None, :]
            h = pot.hess(be)
            return -core / h[:, None] - np.diag((Z.T @ w) * pot.hess_deriv(be) / h**2)

        beta_init = pot.grad_inv(th0[b])
        w_init, _ = _loss_weights(Z @ beta_init, 0.0, lo)
        th_start = th0[b] + t0 * (Z.T @ w_init)
        z_start = pot.grad_inv(th_start) if primal else th_start
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                sol = solve_ivp(rhs, (s0, float(grid[-1])), z_start, method="Radau", jac=jac,
                                t_eval=grid, rtol=rtol, atol=atol)
        except _TooSlow as exc:
            diverged[b] = True
            messages.append(f"run {b} ({pot.name}, {lo}): integration too slow ({exc})")
            continue
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            diverged[b] = True
            messages.append(f"run {b} ({pot.name}, {lo}): solver stopped on non-finite values "
                            f"({exc})")
            continue
        nfev[b] = sol.nfev
        ok = sol.status == 0 and sol.y.shape[1] == grid.size and np.all(np.isfinite(sol.y))
        if not ok:
            diverged[b] = True
            messages.append(f"run {b} ({pot.name}, {lo}): {sol.message}")
            continue
        if primal:
            be = sol.y.T
            with np.errstate(over="ignore"):
                th = pot.grad(be)
        else:
            th = sol.y.T
            be = pot.grad_inv(th)
        if not np.all(np.isfinite(be)):
            diverged[b] = True
            messages.append(f"run {b} ({pot.name}, {lo}): β overflowed")
            continue
        ll = log_loss(be @ Z.T, lo)
        if np.any(np.diff(ll) > 1e-9 * np.maximum(1.0, np.abs(ll[:-1]))):
            diverged[b] = True
            messages.append(f"run {b} ({pot.name}, {lo}): loss increased along the flow")
        thetas[b], betas[b], log_losses[b] = th, be, ll
    return MirrorFlowResult(grid, betas, thetas, log_losses, diverged, tuple(messages), nfev,
                            time.perf_counter() - start)


@dataclass(frozen=True)
class MirrorDescentResult:
    """Mirror-descent iterates recorded at given iteration counts (batch axis first).

    Attributes
    ----------
    steps : ndarray (T,) iteration counts
    beta : ndarray (B, T, d)
    log_loss : ndarray (B, T)
    diverged : ndarray (B,) of bool
    """

    steps: np.ndarray
    beta: np.ndarray
    log_loss: np.ndarray
    diverged: np.ndarray


def mirror_descent(
    X,
    y,
    potential: NumericPotential,
    step_size,
    record: Sequence[int],
    *,
    loss: str = "exp",
    theta0=None,
) -> MirrorDescentResult:
    """Mirror descent ``θ_{k+1} = θ_k − η ∇L(β_k)``, ``β_k = (ϕ')^{-1}(θ_k)``, batched.

    Gunasekar et al. (ICML 2018) / Pesme, Dragomir & Flammarion (NeurIPS 2024): the Euler
    discretisation of mirror flow; with ``ϕ = x²/2`` it is gradient descent (Soudry et al.,
    JMLR 2018, Theorem 3: direction → ℓ2 max margin for ``η < 2/β_smooth``).

    Parameters
    ----------
    X, y : separable data (labels ±1)
    potential : NumericPotential (shared by the batch)
    step_size : float or array (B,)
        One run per step size; all runs share ``X`` so each step is one matmul over the batch.
    record : sequence of int, increasing
        Iteration counts at which to store ``β``.
    loss : "exp" or "logistic"
    theta0 : array (d,) or (B, d), optional

    Returns
    -------
    MirrorDescentResult
        A run is flagged ``diverged`` (and its later records left NaN) when its loss becomes
        non-finite or exceeds 1e6 times its initial value.
    """
    X, y = check_classification_data(X, y)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    Z = y[:, None] * X
    d = Z.shape[1]
    eta = np.atleast_1d(check_positive(step_size, "step_size", allow_array=True)).astype(float)
    B = eta.size
    rec = np.asarray(record, dtype=np.int64)
    if rec.ndim != 1 or rec.size == 0 or np.any(rec < 0) or np.any(np.diff(rec) <= 0):
        raise ValueError("record must be a non-empty increasing sequence of iteration counts >= 0")
    th = np.zeros((B, d)) if theta0 is None else np.broadcast_to(
        as_finite_array(theta0, "theta0"), (B, d)).astype(float).copy()
    betas = np.full((B, rec.size, d), np.nan)
    lls = np.full((B, rec.size), np.nan)
    diverged = np.zeros(B, dtype=bool)
    beta = potential.grad_inv(th)
    ll0 = log_loss(beta @ Z.T, loss)
    j = 0
    for k in range(int(rec[-1]) + 1):
        m = beta @ Z.T  # (B, n)
        if k == rec[j]:
            ll = log_loss(m, loss)
            bad = ~np.isfinite(ll) | (ll > ll0 + np.log(1e6)) | ~np.all(np.isfinite(beta), axis=1)
            diverged |= bad
            betas[:, j] = np.where(diverged[:, None], np.nan, beta)
            lls[:, j] = np.where(diverged, np.nan, ll)
            j += 1
            if j == rec.size:
                break
        with np.errstate(over="ignore", invalid="ignore"):
            w, _ = _loss_weights(m, 0.0, loss)
            th = th + eta[:, None] * (w @ Z)
            beta = potential.grad_inv(th)
    return MirrorDescentResult(rec, betas, lls, diverged)
