"""Mirror descent and mirror flow on separable classification data, batched over runs.

Mirror flow with a separable potential ``φ(β) = Σ_i ϕ(β_i)`` (Pesme, Dragomir & Flammarion,
NeurIPS 2024, arXiv:2406.12763; Soudry et al. JMLR 2018 for ``ϕ = x²/2``)::

    d/dt ∇φ(β_t) = −∇L(β_t),   L(β) = Σ_i ℓ(y_i⟨x_i, β⟩),   ℓ(u) = e^{−u} or log(1 + e^{−u}),

with dual variable ``θ = ∇φ(β)`` (``β = (ϕ')^{-1}(θ)`` coordinatewise). Mirror descent is its
Euler discretisation ``θ_{k+1} = θ_k − η ∇L(β_k)``. Convention of the theory pages
(``docs/theory/classification.md`` §1): loss summed (not averaged) over samples; ``Z = diag(y)X``,
margins ``m = Zβ``; the flow starts at ``θ_0 = 0`` (``β_0 = argmin ϕ``) unless told otherwise.

**Time change** (docs/theory/classification.md §1.6). Reaching ``log t`` in the hundreds or
thousands is hopeless in flow time. Any positive scalar ``c`` gives the same curve for
``dθ/dσ = −c ∇L(β)``; we take ``c = t``, i.e. integrate in ``σ = log t`` itself::

    dθ/dσ = −e^{σ} ∇L(β(θ)) = Zᵀ exp(σ − m)               (exponential loss)
                            = Zᵀ exp(σ − softplus(m))     (logistic loss)

so the independent variable *is* ``log t`` (no extra state), the exponent ``σ − m`` stays O(1)
along the flow, and the Jacobian ``−Zᵀ diag(w) Z diag(dβ/dθ)`` is O(1) for every potential
(because ``t L(β_t) ~ ϕ''(β_t)``). The choices of docs/theory/classification.md §1.6
``c = max(1, ‖θ‖_∞)`` etc. are other members of the same family. Integrated with Radau (implicit,
analytic Jacobian).
"""

from __future__ import annotations

import numbers
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dln_verify.numeric.hyperbolic import log_scaled_cosh, scaled_cosh, scaled_sinh
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
    "log_loss",
    "MAX_NFEV",
    "LOSSES",
    "METHODS",
]

LOSSES = ("exp", "logistic")
#: integrators :func:`mirror_flow` accepts (implicit or stiffness-switching, analytic Jacobian)
METHODS = ("Radau", "LSODA", "BDF")


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
    log_hess, log_hess_deriv : callable or None
        Optional log-domain forms, as functions of β, of ``log ϕ''(β)`` and its derivative
        ``ϕ'''/ϕ''``. With them ``coordinates="primal"`` evaluates the right-hand side
        ``Σ_k z_ki exp(σ − m_k − log ϕ''(β_i))`` with the exponents combined before
        exponentiating: for ``cosh`` both the loss weights ``e^{σ−m}`` and ``cosh β`` grow like
        ``e^{c log t}``, and overflow past ``|β| ≈ 710`` (log t in the thousands) otherwise.
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
    log_hess: Callable[[np.ndarray], np.ndarray] | None = None
    log_hess_deriv: Callable[[np.ndarray], np.ndarray] | None = None


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
    return _potential_from_derivatives(name or str(phi), str(phi), f1, f2, f3, coordinates)


def _potential_from_derivatives(name: str, expression: str, f1, f2, f3,
                                coordinates: str) -> NumericPotential:
    """A :class:`NumericPotential` from the first three derivatives of ϕ (numpy functions)."""

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
    return NumericPotential(name, grad, grad_inv, inv_hess, expression, hess, hess3, coordinates)


# ``asymmetric`` (docs/theory/classification.md §1.2), ϕ = 5x²/2 − 3x√(1+x²)/2: its derivatives
# as SymPy's ``lambdify`` prints them (same operations in the same order, so the same floats;
# tests/numeric/test_mirror.py compares them bit for bit with a fresh lambdify)
def _asymmetric_d1(x):
    return -3/2*x**2/np.sqrt(x**2 + 1) + 5*x - 3/2*np.sqrt(x**2 + 1)


def _asymmetric_d2(x):
    return (3/2)*x**3/(x**2 + 1)**(3/2) - 9/2*x/np.sqrt(x**2 + 1) + 5


def _asymmetric_d3(x):
    return -9/2*x**4/(x**2 + 1)**(5/2) + 9*x**2/(x**2 + 1)**(3/2) - (9/2)/np.sqrt(x**2 + 1)


_ASYMMETRIC_EXPRESSION = "5*x**2/2 - 3*x*sqrt(x**2 + 1)/2"


def builtin_potential(name: str, alpha: float = 0.1) -> NumericPotential:
    """Closed-form mirror maps of the potentials of docs/theory/classification.md §1.2
    (``quadratic``, ``cubic``, ``cosh``, ``hypentropy``, and ``asymmetric`` through its
    SymPy-printed derivatives, without importing SymPy); other names go through
    :func:`potential_from_sympy`.

    ``hypentropy`` is ``x asinh(x/α²) − √(x²+α⁴) + α²``: ``θ = asinh(β/α²)``, ``β = α² sinh θ``
    (overflow-safe through :mod:`dln_verify.numeric.hyperbolic`).

    Parameters
    ----------
    name : str
        A built-in name, or any potential that
        :func:`dln_verify.symbolic.horizon.parse_potential` understands.
    alpha : float
        Scale of ``hypentropy`` (> 0); ignored by the other potentials.

    Returns
    -------
    NumericPotential
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str (a potential's name), got {type(name).__name__}")
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
                                "cosh(x) - 1", np.cosh, np.sinh, "primal",
                                lambda b: log_scaled_cosh(0.0, b), np.tanh)
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
    if name == "asymmetric":
        return _potential_from_derivatives(name, _ASYMMETRIC_EXPRESSION, _asymmetric_d1,
                                           _asymmetric_d2, _asymmetric_d3, "auto")
    from dln_verify.symbolic.horizon import parse_potential

    phi, x = parse_potential(name)
    return potential_from_sympy(phi, x, name=name)


def angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle (radians) between ``u`` and ``v`` along the last axis, accurate for small angles
    (``2 atan2(‖û − v̂‖, ‖û + v̂‖)``).

    Parameters
    ----------
    u, v : array_like, shape (..., d)
        Broadcast against each other; the last axes must have the same length.

    Returns
    -------
    ndarray, shape (...)
    """
    try:
        u = np.asarray(u, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"u and v must be numeric arrays ({exc})") from None
    if u.ndim == 0 or v.ndim == 0 or u.shape[-1] != v.shape[-1]:
        raise ValueError(f"u and v must have the same last-axis length d, got shapes {u.shape} "
                         f"and {v.shape}")
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


def _log_loss_weights(m: np.ndarray, shift: float, loss: str) -> tuple[np.ndarray, np.ndarray]:
    """``log w = log(−ℓ'(m)) + shift`` and ``(dw/dm·(−1))/w`` (1 for exp, sigmoid(m))."""
    if loss == "exp":
        return shift - m, np.ones_like(m)
    return shift - np.logaddexp(0.0, m), 0.5 * (1.0 + np.tanh(0.5 * m))


def log_loss(m: np.ndarray, loss: str) -> np.ndarray:
    """``log L = log Σ_i ℓ(m_i)`` along the last axis, without overflow/underflow.

    Parameters
    ----------
    m : array_like, shape (..., n)
        Margins ``y_i⟨x_i, β⟩``.
    loss : {"exp", "logistic"}

    Returns
    -------
    ndarray, shape (...)
    """
    from scipy.special import logsumexp

    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
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

    Field names are those shared by every simulator of :mod:`dln_verify.numeric` (``times``,
    ``time_unit``, ``beta``, ``final_beta``, ``diverged``, ``converged``, ``message``).

    Attributes
    ----------
    times : ndarray (T,)
        The requested grid of ``log t`` (``time_unit = "log t"``).
    beta : ndarray (B, T, d)
        ``β`` at ``times`` (the stored trajectory); NaN at times a run did not reach.
    theta : ndarray (B, T, d)
        The dual ``θ = ∇φ(β)`` at ``times`` (±inf where it exceeds float64, e.g. ``sinh β``
        for ``cosh`` past |β| ≈ 710; ``β`` stays finite and is what the claims read).
    log_loss : ndarray (B, T)
    diverged : ndarray (B,) of bool
        A blow-up: the state, ``β`` or the loss became non-finite (the solver stopped on
        non-finite values, or ``β`` overflowed).
    converged : ndarray (B,) of bool
        The run reached the last ``log t`` of the grid within its budget ``max_nfev``, with a
        finite, non-increasing loss. A run that spends its budget, whose integrator fails on
        finite values (e.g. "Required step size is less than spacing between numbers"), or
        whose loss increases along the flow (an inaccurate integration) has
        ``converged = False`` and ``diverged = False``; ``message`` says which.
    message : tuple of str, length B
        One line per run.
    nfev : ndarray (B,) of int
        Right-hand-side evaluations of each run.
    elapsed_s : float
        Wall-clock seconds of the whole batch (informative only: nothing depends on it).
    time_unit : str
        Unit of ``times``: ``"log t"``.
    """

    times: np.ndarray
    beta: np.ndarray
    theta: np.ndarray
    log_loss: np.ndarray
    diverged: np.ndarray
    converged: np.ndarray
    message: tuple[str, ...]
    nfev: np.ndarray
    elapsed_s: float = 0.0
    time_unit: str = "log t"

    @property
    def final_beta(self) -> np.ndarray:
        """``β`` at the last grid time, shape (B, d) (NaN for runs that did not reach it)."""
        return self.beta[:, -1]

    @property
    def log_t(self) -> np.ndarray:
        """Legacy alias of `times` (to be removed)."""
        return self.times

    @property
    def messages(self) -> tuple[str, ...]:
        """Legacy alias of `message` (to be removed)."""
        return self.message


#: default budget of :func:`mirror_flow`: right-hand-side evaluations per run. The built-in
#: potentials need at most ~2e4 on the claims' grids (log t up to 1e3, 1e6 for ``hypentropy``)
MAX_NFEV = 200_000


class _BudgetSpent(RuntimeError):
    """Internal: a run spent its budget of right-hand-side evaluations."""


def _check_separable(Z: np.ndarray) -> None:
    """Refuse data that are not linearly separable (``max t s.t. Zβ ≥ t, ‖β‖_∞ ≤ 1`` ≤ 0).

    The LP value is the ℓ∞-ball margin; it is positive iff some β classifies every sample
    correctly with a positive margin. Values below ``1e-7 · max|Z|`` (HiGHS's feasibility
    tolerance) count as not separable.
    """
    from scipy.optimize import linprog

    n, d = Z.shape
    c = np.zeros(d + 1)
    c[-1] = -1.0
    A = np.hstack([-Z, np.ones((n, 1))])
    res = linprog(c, A_ub=A, b_ub=np.zeros(n), bounds=[(-1, 1)] * d + [(None, 1)],
                  method="highs")
    margin = -float(res.fun) if res.status == 0 else 0.0
    if not margin > 1e-7 * max(1.0, float(np.max(np.abs(Z)))):
        raise ValueError(
            "X, y must be linearly separable (some β with y_i <x_i, β> > 0 for every i): the "
            f"separability LP max t s.t. y_i <x_i, β> >= t, |β|_inf <= 1 gives t = {margin:.3g}; "
            "mirror flow on such data does not converge in direction"
        )


def _check_potentials(potentials) -> list[NumericPotential]:
    if isinstance(potentials, NumericPotential):
        return [potentials]
    if isinstance(potentials, str):
        raise TypeError(
            f"potentials must be a NumericPotential or a sequence of them, got the string "
            f"{potentials!r}: use builtin_potential({potentials!r})"
        )
    try:
        pots = list(potentials)
    except TypeError:
        raise TypeError(f"potentials must be a NumericPotential or a sequence of them, got "
                        f"{type(potentials).__name__}") from None
    if not pots:
        raise ValueError("potentials must contain at least one potential")
    for p in pots:
        if not isinstance(p, NumericPotential):
            raise TypeError(f"potentials must contain NumericPotential objects only (see "
                            f"builtin_potential), got {type(p).__name__}")
        if p.coordinates not in ("dual", "primal"):
            raise ValueError(f"potential {p.name}: coordinates must be 'dual' or 'primal', got "
                             f"{p.coordinates!r}")
        if p.coordinates == "primal" and (p.hess is None or p.hess_deriv is None):
            raise ValueError(f"potential {p.name} asks for primal coordinates but has no hess")
    return pots


def _check_losses(loss) -> list[str]:
    if isinstance(loss, str):
        losses = [loss]
    else:
        try:
            losses = list(loss)
        except TypeError:
            raise TypeError(f"loss must be one of {LOSSES} or a sequence of them, got "
                            f"{type(loss).__name__}") from None
    if not losses:
        raise ValueError(f"loss must be one of {LOSSES} or a non-empty sequence of them")
    for lo in losses:
        if not isinstance(lo, str) or lo not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {lo!r}")
    return losses


def _check_theta0(theta0, B: int, d: int) -> np.ndarray:
    if theta0 is None:
        return np.zeros((B, d))
    th = as_finite_array(theta0, "theta0")
    if th.shape not in ((d,), (B, d)):
        raise ValueError(f"theta0 must have shape (d,) = ({d},) or (B, d) = ({B}, {d}), got "
                         f"{th.shape}")
    return np.broadcast_to(th, (B, d)).astype(float)


def _check_count(value, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


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
    max_nfev: int = MAX_NFEV,
    max_seconds: float | None = None,
    method: str = "Radau",
) -> MirrorFlowResult:
    """Integrate mirror flow in logarithmic time ``σ = log t`` (Radau or LSODA), batched.

    Pesme, Dragomir & Flammarion (NeurIPS 2024, arXiv:2406.12763): the direction of ``β_t``
    tends to the φ∞-max-margin classifier; this integrator reaches ``log t`` of 1e3 (and far
    beyond for slowly varying potentials) in a few hundred implicit steps.

    Parameters
    ----------
    X : array_like (n, d)
    y : array_like (n,)
        Labels ±1. ``X, y`` must be linearly separable: this is checked with a linear program
        (``max t s.t. y_i⟨x_i, β⟩ ≥ t, ‖β‖_∞ ≤ 1`` must be positive) and non-separable data
        are refused with a ValueError naming ``X, y`` (the flow has no limit direction there).
    potentials : NumericPotential or sequence of them
        One per run (B runs); a single one is broadcast over the losses. A name is refused
        with a TypeError: build the potential with :func:`builtin_potential`.
    log_t : sequence of float, increasing
        Natural logs of the flow times at which to record ``β`` (each > log t0).
    loss : "exp" or "logistic", or one per run
    theta0 : array_like (d,) or (B, d), optional
        Dual initialisation (default 0, i.e. ``β_0 = argmin ϕ``).
    t0 : float
        In ``(0, 1]``. The flow is started by one explicit Euler step of length ``t0`` from
        ``θ0`` (error ``O(t0²)``), then integrated in ``σ = log t`` from ``log t0``.
    rtol : float
        Radau relative tolerance on the state, in ``[1e-14, 1e-2]``.
    atol : float
        Radau absolute tolerance on the state, in ``(0, 1]``.
    max_nfev : int
        Budget per run in right-hand-side evaluations (≥ 1; default ``MAX_NFEV = 200_000``,
        about ten times what the built-in potentials need). A run that spends it stops with
        ``converged = False``, ``diverged = False`` and a message saying the budget was spent
        (guards user potentials whose mirror map is hard to invert). The stopping point does
        not depend on the machine's speed or load.
    max_seconds : float, optional
        Deprecated and ignored (a wall-clock budget made the result depend on machine load):
        passing it emits a DeprecationWarning; use ``max_nfev``.
    method : {"Radau", "LSODA", "BDF"}
        Implicit (or stiffness-switching) integrator of :func:`scipy.integrate.solve_ivp`, all
        given the analytic Jacobian. ``"LSODA"`` (variable order, BDF when stiff) steps through
        points where the right-hand side is not smooth (a coordinate of θ crossing 0 for
        ``|x|³/3``, whose ``β = sign θ √|θ|`` has an infinite derivative there) that make the
        order-5 Radau stall, and needs 2–20× fewer evaluations on the claims' grids
        (docs/theory/classification.md §1.6).

    Returns
    -------
    MirrorFlowResult
    """
    from scipy.integrate import solve_ivp

    X, y = check_classification_data(X, y)
    Z = y[:, None] * X
    n, d = Z.shape
    pots = _check_potentials(potentials)
    losses = _check_losses(loss)
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
    check_in_range(atol, "atol", 0.0, 1.0, low_inclusive=False)
    max_nfev = _check_count(max_nfev, "max_nfev")
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if max_seconds is not None:
        if isinstance(max_seconds, bool) or not isinstance(max_seconds, numbers.Real):
            raise TypeError(f"max_seconds is deprecated (use max_nfev) and must be a number or "
                            f"None, got {max_seconds!r}")
        warnings.warn("mirror_flow: max_seconds is deprecated and ignored (a wall-clock budget "
                      "depends on machine load); use max_nfev, a budget of right-hand-side "
                      "evaluations", DeprecationWarning, stacklevel=2)
    grid = as_finite_array(log_t, "log_t", ndim=1)
    if np.any(np.diff(grid) <= 0) or grid[0] <= np.log(t0):
        raise ValueError(f"log_t must be increasing and > log(t0) = {np.log(t0):g}")
    th0 = _check_theta0(theta0, B, d)
    _check_separable(Z)

    betas = np.full((B, grid.size, d), np.nan)
    thetas = np.full((B, grid.size, d), np.nan)
    log_losses = np.full((B, grid.size), np.nan)
    diverged = np.zeros(B, dtype=bool)
    converged = np.zeros(B, dtype=bool)
    nfev = np.zeros(B, dtype=int)
    messages = []
    start = time.perf_counter()
    s0 = float(np.log(t0))
    for b in range(B):
        pot, lo = pots[b], losses[b]
        primal = pot.coordinates == "primal"
        tag = f"run {b} ({pot.name}, {lo})"
        count = [0, s0]  # right-hand-side evaluations, last σ evaluated

        def rhs(s, z, pot=pot, lo=lo, primal=primal, count=count):
            count[0] += 1
            count[1] = s
            if count[0] > max_nfev:
                raise _BudgetSpent
            be = z if primal else pot.grad_inv(z)
            if primal and pot.log_hess is not None:
                log_w, _ = _log_loss_weights(Z @ be, s, lo)
                # exponents capped at 700 (e^700 ≈ 1e304): only a trial state far off the
                # trajectory reaches the cap (the rate is O(1) along the flow), and a finite
                # right-hand side lets the step control reject it instead of returning NaN
                return np.sum(Z * np.exp(np.minimum(log_w[:, None] - pot.log_hess(be)[None, :],
                                                    700.0)), axis=0)
            w, _ = _loss_weights(Z @ be, s, lo)
            g = Z.T @ w
            return g / pot.hess(be) if primal else g

        def jac(s, z, pot=pot, lo=lo, primal=primal):
            be = z if primal else pot.grad_inv(z)
            w, dw = _loss_weights(Z @ be, s, lo)
            core = (Z.T * dw) @ Z
            if not primal:
                return -core * pot.inv_hess(z)[None, :]
            if pot.log_hess is not None and pot.log_hess_deriv is not None:
                log_w, sig = _log_loss_weights(Z @ be, s, lo)
                e = np.exp(np.minimum(log_w[:, None] - pot.log_hess(be)[None, :], 700.0))
                g = np.sum(Z * e, axis=0)
                return -(Z * e).T @ (Z * sig[:, None]) - np.diag(g * pot.log_hess_deriv(be))
            h = pot.hess(be)
            return -core / h[:, None] - np.diag((Z.T @ w) * pot.hess_deriv(be) / h**2)

        beta_init = pot.grad_inv(th0[b])
        w_init, _ = _loss_weights(Z @ beta_init, 0.0, lo)
        th_start = th0[b] + t0 * (Z.T @ w_init)
        z_start = pot.grad_inv(th_start) if primal else th_start
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                sol = solve_ivp(rhs, (s0, float(grid[-1])), z_start, method=method, jac=jac,
                                t_eval=grid, rtol=rtol, atol=atol)
        except _BudgetSpent:
            nfev[b] = max_nfev
            messages.append(f"{tag}: not converged: budget max_nfev = {max_nfev} right-hand-side "
                            f"evaluations spent at log t = {count[1]:.6g} < "
                            f"{float(grid[-1]):g}")
            continue
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            diverged[b] = True
            nfev[b] = count[0]
            messages.append(f"{tag}: diverged: solver stopped on non-finite values ({exc})")
            continue
        nfev[b] = sol.nfev
        if not np.all(np.isfinite(sol.y)):
            diverged[b] = True
            messages.append(f"{tag}: diverged: non-finite state ({sol.message})")
            continue
        reached = sol.y.shape[1]
        if reached:
            if primal:
                be = sol.y.T
                with np.errstate(over="ignore"):
                    th = pot.grad(be)
            else:
                th = sol.y.T
                be = pot.grad_inv(th)
            if not np.all(np.isfinite(be)):
                diverged[b] = True
                messages.append(f"{tag}: diverged: β overflowed")
                continue
            ll = log_loss(be @ Z.T, lo)
        if sol.status != 0 or reached != grid.size:
            messages.append(f"{tag}: not converged: integrator stopped at log t = "
                            f"{float(sol.t[-1]) if reached else s0:.6g}: {sol.message}")
            if reached:
                thetas[b, :reached], betas[b, :reached], log_losses[b, :reached] = th, be, ll
            continue
        if np.any(np.diff(ll) > 1e-9 * np.maximum(1.0, np.abs(ll[:-1]))):
            messages.append(f"{tag}: not converged: loss increased along the flow (inaccurate "
                            f"integration; tighten rtol/atol)")
        else:
            converged[b] = True
            messages.append(f"{tag}: reached log t = {float(grid[-1]):g} after {sol.nfev} "
                            f"right-hand-side evaluations")
        thetas[b], betas[b], log_losses[b] = th, be, ll
    return MirrorFlowResult(grid, betas, thetas, log_losses, diverged, converged,
                            tuple(messages), nfev, time.perf_counter() - start)


@dataclass(frozen=True)
class MirrorDescentResult:
    """Mirror-descent iterates recorded at given iteration counts (batch axis first).

    Field names are those shared by every simulator of :mod:`dln_verify.numeric` (``times``,
    ``time_unit``, ``beta``, ``final_beta``, ``diverged``, ``converged``, ``message``).

    Attributes
    ----------
    times : ndarray (T,) of int
        Recorded iteration counts (``time_unit = "iteration"``).
    beta : ndarray (B, T, d)
        Iterates at ``times`` (the stored trajectory; NaN from the record where a run
        diverged on).
    log_loss : ndarray (B, T)
    diverged : ndarray (B,) of bool
        A blow-up: non-finite loss or iterate, or loss above 1e6 × its initial value.
    converged : ndarray (B,) of bool
        The run made its ``max(record)`` iterations (its stopping criterion) without
        diverging; equal to ``~diverged``.
    message : tuple of str, length B
        One line per run.
    time_unit : str
        Unit of ``times``: ``"iteration"``.
    """

    times: np.ndarray
    beta: np.ndarray
    log_loss: np.ndarray
    diverged: np.ndarray
    converged: np.ndarray
    message: tuple[str, ...] = ()
    time_unit: str = "iteration"

    @property
    def final_beta(self) -> np.ndarray:
        """``β`` at the last recorded iteration, shape (B, d) (NaN for diverged runs)."""
        return self.beta[:, -1]

    @property
    def steps(self) -> np.ndarray:
        """Legacy alias of `times` (to be removed)."""
        return self.times


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

    The number of iterations, ``max(record)``, is the budget (and the stopping criterion).

    Returns
    -------
    MirrorDescentResult
        A run is flagged ``diverged`` (and its later records left NaN) when its loss becomes
        non-finite or exceeds 1e6 times its initial value.
    """
    X, y = check_classification_data(X, y)
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if not isinstance(potential, NumericPotential):
        raise TypeError(f"potential must be a NumericPotential (see builtin_potential), got "
                        f"{type(potential).__name__}")
    Z = y[:, None] * X
    d = Z.shape[1]
    eta = np.atleast_1d(check_positive(step_size, "step_size", allow_array=True)).astype(float)
    if eta.ndim != 1:
        raise ValueError(f"step_size must be a scalar or a 1-D array, got shape {eta.shape}")
    B = eta.size
    rec_f = as_finite_array(record, "record", ndim=1)
    if np.any(rec_f != np.round(rec_f)) or np.any(rec_f < 0) or np.any(np.diff(rec_f) <= 0):
        raise ValueError("record must be a non-empty increasing sequence of iteration counts >= 0")
    rec = rec_f.astype(np.int64)
    th = _check_theta0(theta0, B, d).copy()
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
    message = tuple(
        f"run {b} (step size {eta[b]:g}): diverged (non-finite, or loss > 1e6 x initial)"
        if diverged[b] else f"run {b} (step size {eta[b]:g}): made {int(rec[-1])} iterations"
        for b in range(B)
    )
    return MirrorDescentResult(rec, betas, lls, diverged, ~diverged, message)
