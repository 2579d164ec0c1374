r"""Implicit-bias potentials of gradient flow on diagonal linear networks, derived with SymPy.

Convention (docs/theory/conventions.md / docs/theory/regression.md §0): regression loss
``L(β) = ‖Xβ − y‖²/(2n)``, ``g = ∇L(β)``, network ``β = u ⊙ v`` with ``u₀ = √2 α``, ``v₀ = 0``; the
potential is the hyperbolic entropy (summed over coordinates; the expressions here are per
coordinate)

.. math::

    \psi_\alpha(\beta) = \tfrac12\left[\beta\,\operatorname{asinh}(\beta/\alpha^2)
        - \sqrt{\beta^2 + \alpha^4} + \alpha^2\right],

with ``ψ'(β) = ½ asinh(β/α²)``, ``ψ''(β) = 1/(2√(β²+α⁴))`` and convex conjugate
``ψ*(θ) = ½ α² (cosh 2θ − 1)``.  Gradient flow lands on ``argmin_{Xβ=y} ψ_α(β)``.

References
----------
* Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry, Srebro, "Kernel and rich regimes
  in overparametrized models", COLT 2020, arXiv:2002.09277 — Theorem 1 (depth 2, ``w₊² − w₋²``,
  potential ``Q_α``) and the depth-D theorem (``w₊^D − w₋^D``, potential ``α^D Σ q_D``).
* Azulay, Moroshko, Nacson, Woodworth, Srebro, Globerson, Soudry, "On the implicit bias of
  initialization shape", ICML 2021, arXiv:2102.09769 — unbalanced ``u₀ ≠ v₀`` (Bregman form).
* Even, Pesme, Gunasekar, Flammarion, NeurIPS 2023, arXiv:2302.08982 — the ``u ⊙ v`` convention.

:func:`derive_potential` re-derives every formula from the gradient-flow ODE and *checks* every
identity symbolically (an :class:`IdentityCheckError` is raised if one fails).
:func:`potential_functions` returns log-domain numpy callables that stay accurate for α down
to 1e-30 (and beyond) — they are plain numpy, tested against mpmath.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

import dln_verify.symbolic.derivation as _derivation_module
from dln_verify.symbolic import disk_cache as _disk_cache
from dln_verify.symbolic.derivation import Derivation

__all__ = [
    "IdentityCheckError",
    "PotentialFunctions",
    "derive_potential",
    "potential_functions",
    "hyperbolic_entropy",
    "hyperbolic_entropy_gradient",
    "hyperbolic_entropy_hessian",
    "hyperbolic_entropy_conjugate",
    "woodworth_q",
    "woodworth_potential",
    "bregman_divergence",
    "depth_h",
    "depth_H",
    "PARAMS",
]

PARAMS = ("uv", "w2", "unbalanced")


class IdentityCheckError(ArithmeticError):
    """A symbolic identity that the derivation relies on did not simplify to zero."""


# --------------------------------------------------------------------------------------------
# SymPy expression builders
# --------------------------------------------------------------------------------------------


def hyperbolic_entropy(beta, alpha) -> sp.Expr:
    """Per-coordinate hyperbolic entropy ``ψ_α(β) = ½[β asinh(β/α²) − √(β²+α⁴) + α²]``.

    Convention ``β = u⊙v``, ``u₀ = √2α``, ``v₀ = 0`` (Even et al., NeurIPS 2023,
    arXiv:2302.08982; docs/theory/regression.md §0).  ``ψ_α(0) = 0``.
    """
    beta, alpha = sp.sympify(beta), sp.sympify(alpha)
    return (beta * sp.asinh(beta / alpha**2) - sp.sqrt(beta**2 + alpha**4) + alpha**2) / 2


def hyperbolic_entropy_gradient(beta, alpha) -> sp.Expr:
    """``ψ_α'(β) = ½ asinh(β/α²)`` (docs/theory/regression.md §0)."""
    beta, alpha = sp.sympify(beta), sp.sympify(alpha)
    return sp.asinh(beta / alpha**2) / 2


def hyperbolic_entropy_hessian(beta, alpha) -> sp.Expr:
    """``ψ_α''(β) = 1/(2√(β²+α⁴))`` (docs/theory/regression.md §0)."""
    beta, alpha = sp.sympify(beta), sp.sympify(alpha)
    return 1 / (2 * sp.sqrt(beta**2 + alpha**4))


def hyperbolic_entropy_conjugate(theta, alpha) -> sp.Expr:
    """Convex conjugate ``ψ_α*(θ) = ½ α² (cosh 2θ − 1)`` (docs/theory/regression.md §0)."""
    theta, alpha = sp.sympify(theta), sp.sympify(alpha)
    return alpha**2 * (sp.cosh(2 * theta) - 1) / 2


def woodworth_q(z) -> sp.Expr:
    """``q(z) = 2 − √(4+z²) + z asinh(z/2)``.

    Woodworth et al., COLT 2020, arXiv:2002.09277, Theorem 1; ``q'(z) = asinh(z/2)``.
    """
    z = sp.sympify(z)
    return 2 - sp.sqrt(4 + z**2) + z * sp.asinh(z / 2)


def woodworth_potential(beta, alpha_w) -> sp.Expr:
    """``Q_{α_W}(β) = α_W² q(β/α_W²)`` for ``β = w₊² − w₋²``, ``w±(0) = α_W`` (per coordinate).

    With ``α² = 2 α_W²`` one has ``ψ_α = Q_{α_W} / 2`` (checked in :func:`derive_potential`).
    """
    beta, alpha_w = sp.sympify(beta), sp.sympify(alpha_w)
    return alpha_w**2 * woodworth_q(beta / alpha_w**2)


def bregman_divergence(beta, beta0, alpha) -> sp.Expr:
    """``D_{ψ_α}(β, β₀) = ψ_α(β) − ψ_α(β₀) − ψ_α'(β₀)(β − β₀)`` (docs/theory/regression.md §0)."""
    beta, beta0, alpha = sp.sympify(beta), sp.sympify(beta0), sp.sympify(alpha)
    return (
        hyperbolic_entropy(beta, alpha)
        - hyperbolic_entropy(beta0, alpha)
        - hyperbolic_entropy_gradient(beta0, alpha) * (beta - beta0)
    )


def _check_depth(depth) -> int:
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 2:
        raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
    return int(depth)


def depth_h(s, depth: int) -> sp.Expr:
    """``h_D(s) = (1 − (D−2)s)^{−D/(D−2)} − (1 + (D−2)s)^{−D/(D−2)}`` on ``|s| < 1/(D−2)``.

    Woodworth et al. (COLT 2020, arXiv:2002.09277), depth-D theorem; docs/theory/regression.md §1.2.
    For ``D = 2`` the limit ``c = D − 2 → 0`` is returned: ``h_2(s) = 2 sinh(2s)``.
    """
    depth = _check_depth(depth)
    s = sp.sympify(s)
    if depth == 2:
        return 2 * sp.sinh(2 * s)
    c = depth - 2
    p = sp.Rational(-depth, c)
    return (1 - c * s) ** p - (1 + c * s) ** p


def depth_H(s, depth: int) -> sp.Expr:
    """``H_D(s) = ½[(1 − cs)^{−2/c} + (1 + cs)^{−2/c} − 2]``, ``c = D − 2``; ``H_D' = h_D``.

    Dual function of the depth-D potential (docs/theory/regression.md §1.2): ``q_D* = H_D``.  For
    ``D = 2`` the limit ``H_2(s) = cosh(2s) − 1``.
    """
    depth = _check_depth(depth)
    s = sp.sympify(s)
    if depth == 2:
        return sp.cosh(2 * s) - 1
    c = depth - 2
    p = sp.Rational(-2, c)
    return ((1 - c * s) ** p + (1 + c * s) ** p - 2) / 2


# --------------------------------------------------------------------------------------------
# Symbolic checking helpers
# --------------------------------------------------------------------------------------------

_W = sp.Wild("w")


def _sqrt_factor(expr: sp.Expr) -> sp.Expr:
    """Factor radicands so that ``√(P²) → P`` fires for positive ``P``."""
    return expr.replace(
        lambda e: e.is_Pow and e.exp == sp.S.Half,
        lambda e: sp.sqrt(sp.factor(e.base)),
    )


def _sqrt_trig(expr: sp.Expr) -> sp.Expr:
    """``√(k sinh²w + k) → √k cosh w`` (real w): factor and trigsimp every radicand."""
    return expr.replace(
        lambda e: e.is_Pow and e.exp == sp.S.Half,
        lambda e: sp.sqrt(sp.trigsimp(sp.factor(e.base))),
    )


def _is_zero(expr: sp.Expr) -> bool:
    """True only if SymPy proves ``expr == 0`` (several simplification strategies)."""
    expr = sp.sympify(expr)
    if expr == 0:
        return True
    first = sp.simplify(expr)
    if first == 0:
        return True
    for attempt in (
        lambda e: sp.simplify(_sqrt_trig(e)),
        lambda e: sp.simplify(_sqrt_factor(sp.expand(e.rewrite(sp.exp)))),
        lambda e: sp.simplify(sp.powsimp(sp.expand_power_base(e, force=False))),
        lambda e: sp.simplify(e.rewrite(sp.log)),
    ):
        try:
            if attempt(first) == 0:
                return True
        except (TypeError, ValueError, NotImplementedError):  # pragma: no cover - defensive
            continue
    return False


def _verify(name: str, lhs, rhs, verified: list[str], show=None) -> sp.Eq:
    """Check ``lhs == rhs`` symbolically; append ``name`` to ``verified`` or raise.

    Returns ``Eq(show, rhs)`` for display (``show`` defaults to ``lhs``).
    """
    lhs, rhs = sp.sympify(lhs), sp.sympify(rhs)
    if not _is_zero(lhs - rhs):
        raise IdentityCheckError(f"identity {name!r} failed: {lhs} != {rhs}")
    verified.append(name)
    return sp.Eq(lhs if show is None else show, rhs, evaluate=False)


def _real_branch_asinh(expr: sp.Expr) -> sp.Expr:
    """``asinh(sinh(w)) → w``: valid for real ``w`` (sinh is a bijection of ℝ)."""
    return expr.replace(sp.asinh(sp.sinh(_W)), _W)


# --------------------------------------------------------------------------------------------
# Shared symbols
# --------------------------------------------------------------------------------------------

_t = sp.Symbol("t", real=True)
_beta = sp.Symbol("beta", real=True)
_theta = sp.Symbol("theta", real=True)
_zeta = sp.Symbol("zeta", real=True)
_z = sp.Symbol("z", real=True)
_s = sp.Symbol("s", real=True)
_alpha = sp.Symbol("alpha", positive=True)
_alpha_w = sp.Symbol("alpha_W", positive=True)
_alpha_t = sp.Symbol("alpha_tilde", positive=True)
_a_u = sp.Symbol("a_u", positive=True)
_a_v = sp.Symbol("a_v", real=True)
_beta0 = sp.Symbol("beta_0", real=True)
_G = sp.Symbol("G", real=True)
_g = sp.Function("g")(_t)
_PSI = sp.Symbol("psi")
_PSI_STAR = sp.Symbol("psi^*")


def _legendre_block(grad: sp.Expr, a_sym: sp.Expr, closed_psi: sp.Expr, closed_conj: sp.Expr,
                    closed_hess: sp.Expr, steps: list, verified: list[str]) -> dict:
    """From the mirror map ``grad = ψ'(β)`` derive ψ, ψ'', ψ* and check them.

    ``ψ`` is obtained by ``∫_0^β ψ'`` (so ``ψ(0) = 0``), the conjugate by the sup formula
    ``ψ*(θ) = θ b(θ) − ψ(b(θ))`` where ``b`` solves ``ψ'(b) = θ``.
    """
    x = sp.Dummy("x", real=True)
    psi = sp.integrate(grad.subs(_beta, x), (x, 0, _beta))
    steps.append(("ψ(β) = ∫_0^β ψ'(x) dx", sp.Eq(sp.Symbol("psi"), psi)))
    steps.append(("closed form", _verify("psi_closed_form", psi, closed_psi, verified,
                                         show=_PSI)))
    steps.append(("ψ(0) = 0", _verify("psi_zero_at_zero", closed_psi.subs(_beta, 0), 0, verified,
                                      show=sp.Symbol("psi(0)"))))
    steps.append(("ψ' = d/dβ ψ", _verify("gradient", sp.diff(closed_psi, _beta), grad, verified,
                                         show=sp.Symbol("psi'"))))
    hess = sp.diff(closed_psi, _beta, 2)
    steps.append(("ψ''", _verify("hessian", hess, closed_hess, verified,
                                 show=sp.Symbol("psi''"))))
    _verify("psi_even", closed_psi.subs(_beta, -_beta), closed_psi, verified)
    # conjugate via sup: solve ψ'(b) = θ (ψ'' > 0, so the stationary point is the maximiser)
    sols = [sp.simplify(s) for s in sp.solve(sp.Eq(grad, _theta), _beta, check=False)]
    sols = [s for s in sols if s.is_real is not False]
    if len(sols) != 1:
        raise IdentityCheckError(f"ψ'(β) = θ should have one real solution, got {sols}")
    b_theta = sols[0]
    _verify("stationarity_solution", _real_branch_asinh(grad.subs(_beta, b_theta)), _theta,
            verified)
    steps.append(("solve ψ'(β) = θ (sup attained: ψ'' > 0)", sp.Eq(_beta, b_theta)))
    conj = _real_branch_asinh(_theta * b_theta - closed_psi.subs(_beta, b_theta))
    steps.append(("ψ*(θ) = sup_β θβ − ψ(β) = θ b(θ) − ψ(b(θ))", sp.Eq(_PSI_STAR, conj)))
    steps.append(("closed-form conjugate", _verify("conjugate_closed_form", conj, closed_conj,
                                                 verified, show=_PSI_STAR)))
    conj_grad = sp.diff(closed_conj, _theta)
    steps.append(("(ψ*)' = (ψ')⁻¹: ψ*'(ψ'(β)) = β",
                  _verify("conjugate_grad_inverts_grad", conj_grad.subs(_theta, grad), _beta,
                          verified)))
    steps.append(("ψ'(ψ*'(θ)) = θ",
                  _verify("grad_inverts_conjugate_grad",
                          _real_branch_asinh(sp.simplify(grad.subs(_beta, conj_grad))), _theta,
                          verified)))
    fy = closed_psi + closed_conj.subs(_theta, grad)
    steps.append(("Fenchel–Young equality ψ(β) + ψ*(ψ'(β)) = β ψ'(β)",
                  _verify("fenchel_young_equality", fy, _beta * grad, verified,
                          show=sp.Symbol("psi(beta) + psi^*(psi'(beta))"))))
    return {"potential": closed_psi, "gradient": grad, "hessian": closed_hess,
            "conjugate": closed_conj, "conjugate_gradient": conj_grad}


# --------------------------------------------------------------------------------------------
# Derivations
# --------------------------------------------------------------------------------------------


def _derive_uv() -> Derivation:
    verified: list[str] = []
    steps: list = []
    u, v = sp.Function("u")(_t), sp.Function("v")(_t)
    ode = {u.diff(_t): -v * _g, v.diff(_t): -u * _g}
    init = sp.Tuple(sp.Eq(_beta, u * v), sp.Eq(sp.Function("u")(0), sp.sqrt(2) * _alpha),
                    sp.Eq(sp.Function("v")(0), 0))
    steps.append(("parametrisation and init", init))
    steps.append(("gradient flow (∂L/∂u = v g, ∂L/∂v = u g)",
                  sp.Tuple(*[sp.Eq(k, val) for k, val in ode.items()])))
    cons = sp.diff(u**2 - v**2, _t).subs(ode)
    steps.append(("conserved quantity d/dt(u² − v²) = 0",
                  _verify("conserved_u2_minus_v2", cons, 0, verified,
                          show=sp.Derivative(u**2 - v**2, _t))))
    steps.append(("value at t = 0", sp.Eq(u**2 - v**2, 2 * _alpha**2)))
    zeta = sp.log((u + v) / (u - v))
    dzeta = sp.diff(zeta, _t).subs(ode)
    steps.append(("mirror coordinate ζ = ln((u+v)/(u−v)), dζ/dt = −2g",
                  _verify("zeta_dot", dzeta, -2 * _g, verified, show=sp.Derivative(zeta, _t))))
    # β in terms of ζ: (u+v)(u−v) = 2α², (u+v)/(u−v) = e^ζ
    sp_, dm = sp.sqrt(2) * _alpha * sp.exp(_zeta / 2), sp.sqrt(2) * _alpha * sp.exp(-_zeta / 2)
    beta_z = (sp_**2 - dm**2) / 4
    steps.append(("β = ((u+v)² − (u−v)²)/4 = α² sinh ζ",
                  _verify("beta_of_zeta", beta_z, _alpha**2 * sp.sinh(_zeta), verified)))
    inv = [s for s in sp.solve(sp.Eq(_beta, _alpha**2 * sp.sinh(_zeta)), _zeta)]
    real_inv = [s for s in inv if _is_zero(s - sp.asinh(_beta / _alpha**2).rewrite(sp.log))]
    if len(real_inv) != 1:
        raise IdentityCheckError(f"could not identify the real inverse of sinh among {inv}")
    steps.append(("invert (real branch, = asinh(β/α²) checked)", sp.Eq(_zeta, real_inv[0])))
    grad = sp.asinh(_beta / _alpha**2) / 2
    steps.append(("mirror identity d/dt ψ'(β) = −g  ⇒  ψ'(β) = ζ/2 (ψ'(0) = 0)",
                  sp.Eq(sp.Symbol("psi'"), grad)))
    steps.append(("KKT", "ψ'(β_t) = −∫₀ᵗ g ∈ range(Xᵀ), so β_∞ = argmin_{Xβ=y} ψ_α(β)"))
    res = _legendre_block(grad, _alpha, hyperbolic_entropy(_beta, _alpha),
                          hyperbolic_entropy_conjugate(_theta, _alpha),
                          hyperbolic_entropy_hessian(_beta, _alpha), steps, verified)
    # Woodworth's q: Taylor and growth
    q = woodworth_q(_z)
    ser = sp.series(q, _z, 0, 6).removeO()
    steps.append(("q(z) = z²/4 − z⁴/192 + O(z⁶)",
                  _verify("q_taylor", ser, _z**2 / 4 - _z**4 / 192, verified)))
    lim = sp.limit(q / (_z * sp.log(_z)), _z, sp.oo)
    steps.append(("q(z) ~ |z| ln|z| as |z| → ∞ (q even)", _verify("q_growth", lim, 1, verified)))
    _verify("q_even", q.subs(_z, -_z), q, verified)
    q_w = woodworth_potential(_beta, _alpha_w)
    steps.append(("ψ_α = Q_{α_W}/2 when α² = 2α_W²",
                  _verify("woodworth_map", hyperbolic_entropy(_beta, sp.sqrt(2) * _alpha_w),
                          q_w / 2, verified, show=sp.Symbol("psi_sqrt(2)*alpha_W"))))
    res.update({"alpha_map": "alpha**2 = 2*alpha_W**2  (psi_alpha = Q_alpha_W/2)",
                "convention": "beta = u*v, u0 = sqrt(2)*alpha, v0 = 0, L = |X beta - y|^2/(2n)",
                "identities_verified": list(verified)})
    return Derivation("Potential of gradient flow on β = u⊙v (u₀ = √2α, v₀ = 0)", tuple(steps), res)


def _derive_w2() -> Derivation:
    verified: list[str] = []
    steps: list = []
    wp, wm = sp.Function("w_+")(_t), sp.Function("w_-")(_t)
    beta_w = wp**2 - wm**2
    # ∂L/∂w± = ±2 w± g from the chain rule
    ode = {wp.diff(_t): -sp.diff(beta_w, wp) * _g, wm.diff(_t): -sp.diff(beta_w, wm) * _g}
    steps.append(("parametrisation and init (Woodworth et al. 2020)",
                  sp.Tuple(sp.Eq(_beta, beta_w), sp.Eq(sp.Function("w_+")(0), _alpha_w),
                           sp.Eq(sp.Function("w_-")(0), _alpha_w))))
    steps.append(("gradient flow", sp.Tuple(*[sp.Eq(k, val) for k, val in ode.items()])))
    cons = sp.diff(wp * wm, _t).subs(ode)
    steps.append(("conserved quantity d/dt(w₊w₋) = 0",
                  _verify("conserved_w_plus_w_minus", cons, 0, verified,
                          show=sp.Derivative(wp * wm, _t))))
    steps.append(("value at t = 0", sp.Eq(wp * wm, _alpha_w**2)))
    zeta = sp.log(wp / wm)
    steps.append(("mirror coordinate ζ = ln(w₊/w₋), dζ/dt = −4g",
                  _verify("zeta_dot", sp.diff(zeta, _t).subs(ode), -4 * _g, verified,
                          show=sp.Derivative(zeta, _t))))
    bz = beta_w.subs({wp: _alpha_w * sp.exp(_zeta / 2), wm: _alpha_w * sp.exp(-_zeta / 2)})
    steps.append(("β = 2α_W² sinh ζ",
                  _verify("beta_of_zeta", bz, 2 * _alpha_w**2 * sp.sinh(_zeta), verified)))
    grad = sp.asinh(_beta / (2 * _alpha_w**2))
    steps.append(("mirror identity: Q'(β) := ζ = asinh(β/(2α_W²)), d/dt Q'(β) = −4g",
                  sp.Eq(sp.Symbol("Q'"), grad)))
    closed = woodworth_potential(_beta, _alpha_w)
    res = _legendre_block(grad, _alpha_w, closed, 2 * _alpha_w**2 * (sp.cosh(_theta) - 1),
                          1 / sp.sqrt(_beta**2 + 4 * _alpha_w**4), steps, verified)
    psi_map = hyperbolic_entropy(_beta, sp.sqrt(2) * _alpha_w)
    steps.append(("map to docs/theory/conventions.md §4: ψ_α with α² = 2α_W² equals Q_{α_W}/2",
                  _verify("alpha_map_factor_one_half", psi_map, closed / 2, verified,
                          show=sp.Symbol("psi_sqrt(2)*alpha_W"))))
    steps.append(("gradient ratio ψ'/Q' = 1/2",
                  _verify("gradient_ratio", sp.diff(psi_map, _beta), grad / 2, verified,
                          show=sp.Symbol("psi'_sqrt(2)*alpha_W"))))
    ser = sp.series(woodworth_q(_z), _z, 0, 6).removeO()
    steps.append(("q(z) = z²/4 − z⁴/192 + O(z⁶)",
                  _verify("q_taylor", ser, _z**2 / 4 - _z**4 / 192, verified)))
    lim = sp.limit(woodworth_q(_z) / (_z * sp.log(_z)), _z, sp.oo)
    steps.append(("q(z) ~ |z| ln|z|", _verify("q_growth", lim, 1, verified)))
    res.update({"alpha_map": "alpha**2 = 2*alpha_W**2",
                "potential_factor": "psi_alpha = Q_alpha_W/2 (same argmin)",
                "convention": "beta = w_+**2 - w_-**2, w_+(0) = w_-(0) = alpha_W",
                "identities_verified": list(verified)})
    return Derivation("Potential of gradient flow on β = w₊² − w₋² (Woodworth et al. 2020)",
                      tuple(steps), res)


def _derive_unbalanced() -> Derivation:
    verified: list[str] = []
    steps: list = []
    u, v = sp.Function("u")(_t), sp.Function("v")(_t)
    ode = {u.diff(_t): -v * _g, v.diff(_t): -u * _g}
    steps.append(("parametrisation and init, |a_v| < a_u",
                  sp.Tuple(sp.Eq(_beta, u * v), sp.Eq(sp.Function("u")(0), _a_u),
                           sp.Eq(sp.Function("v")(0), _a_v))))
    steps.append(("gradient flow", sp.Tuple(*[sp.Eq(k, val) for k, val in ode.items()])))
    steps.append(("conserved quantity", _verify("conserved_u2_minus_v2",
                                                sp.diff(u**2 - v**2, _t).subs(ode), 0, verified,
                                                show=sp.Derivative(u**2 - v**2, _t))))
    at2 = (_a_u**2 - _a_v**2) / 2
    steps.append(("effective scale", sp.Eq(_alpha_t**2, at2)))
    zeta = sp.log((u + v) / (u - v))
    steps.append(("ζ = ln((u+v)/(u−v)), dζ/dt = −2g",
                  _verify("zeta_dot", sp.diff(zeta, _t).subs(ode), -2 * _g, verified,
                          show=sp.Derivative(zeta, _t))))
    zeta0 = sp.log((_a_u + _a_v) / (_a_u - _a_v))
    b0 = (at2 * sp.sinh(zeta0))
    steps.append(("β₀ = α̃² sinh ζ₀ = a_u a_v", _verify("beta0", b0, _a_u * _a_v, verified)))
    grad0 = hyperbolic_entropy_gradient(_beta, _alpha_t)
    steps.append(("mirror identity: ψ'_α̃(β_t) − ψ'_α̃(β₀) = (ζ_t − ζ₀)/2 = −∫g ∈ range(Xᵀ)",
                  sp.Eq(sp.Symbol("psi'"), grad0)))
    steps.append(("KKT", "β_∞ = argmin_{Xβ=y} D_{ψ_α̃}(β, β₀)"))
    # per-coordinate objective f(β) = D_ψ(β, β0); derive its conjugate by the sup formula
    psi_b = bregman_divergence(_beta, _beta0, _alpha_t)
    grad = sp.diff(psi_b, _beta)
    grad_ref = grad0 - hyperbolic_entropy_gradient(_beta0, _alpha_t)
    steps.append(("∇_β D", _verify("bregman_gradient", grad, grad_ref, verified,
                                   show=sp.Symbol("dD/dbeta"))))
    hess = sp.diff(psi_b, _beta, 2)
    steps.append(("∇²_β D", _verify("bregman_hessian", hess,
                                    hyperbolic_entropy_hessian(_beta, _alpha_t), verified,
                                    show=sp.Symbol("d2D/dbeta2"))))
    steps.append(("D(β₀, β₀) = 0", _verify("bregman_zero_at_reference", psi_b.subs(_beta, _beta0),
                                            0, verified, show=sp.Symbol("D(beta_0, beta_0)"))))
    steps.append(("∇D(β₀) = 0", _verify("bregman_stationary_at_reference",
                                        grad.subs(_beta, _beta0), 0, verified,
                                        show=sp.Symbol("dD/dbeta(beta_0)"))))
    theta0 = hyperbolic_entropy_gradient(_beta0, _alpha_t)
    sols = [s for s in sp.solve(sp.Eq(grad, _theta), _beta, check=False) if s.is_real is not False]
    if len(sols) != 1:
        raise IdentityCheckError(f"∇D(β) = θ should have one solution, got {sols}")
    b_theta = sols[0]
    steps.append(("solve ∇D(β) = θ", _verify(
        "bregman_stationarity_solution",
        sp.expand(_real_branch_asinh(sp.expand(grad.subs(_beta, b_theta)))), _theta, verified,
        show=sp.Function("dD/dbeta")(b_theta))))
    conj = _theta * b_theta - psi_b.subs(_beta, b_theta)
    conj = _real_branch_asinh(conj)
    psi_star = hyperbolic_entropy_conjugate
    conj_closed = psi_star(_theta + theta0, _alpha_t) - psi_star(theta0, _alpha_t)
    # check by differentiating in θ (both vanish at θ = 0) — avoids nested asinh(sinh) forms
    # substitute 2θ + 2θ₀ = φ (a real symbol) so that √(α̃⁴ sinh²φ + α̃⁴) = α̃² cosh φ fires
    phi = sp.Symbol("phi", real=True)
    to_phi = {_theta: (phi - 2 * theta0) / 2}
    steps.append(("D*(θ) = ψ*(θ + θ₀) − ψ*(θ₀), θ₀ = ψ'(β₀)",
                  _verify("bregman_conjugate_derivative",
                          sp.expand(sp.diff(conj, _theta).subs(to_phi)),
                          sp.expand(sp.diff(conj_closed, _theta).subs(to_phi)), verified,
                          show=sp.Symbol("dD^*/dtheta"))))
    _verify("bregman_conjugate_at_zero", conj.subs(_theta, 0), 0, verified)
    _verify("bregman_conjugate_closed_at_zero", conj_closed.subs(_theta, 0), 0, verified)
    sub = {_alpha_t: sp.sqrt(at2), _beta0: _a_u * _a_v}
    conj_ab = (sp.sqrt(_alpha_t**4 + _beta0**2) * (sp.cosh(2 * _theta) - 1)
               + _beta0 * sp.sinh(2 * _theta)) / 2
    steps.append(("D*(θ) = ½[√(α̃⁴+β₀²)(cosh 2θ − 1) + β₀ sinh 2θ]",
                  _verify("bregman_conjugate_expanded",
                          sp.expand(sp.expand_trig(conj_closed)), conj_ab, verified,
                          show=sp.Symbol("D^*"))))
    # in (a_u, a_v): α̃⁴ + β₀² = ((a_u² + a_v²)/2)², both sides positive
    _verify("alpha4_plus_beta0sq", (_alpha_t**4 + _beta0**2).subs(sub),
            ((_a_u**2 + _a_v**2) / 2) ** 2, verified)
    conj_uv = ((_a_u**2 + _a_v**2) / 4 * (sp.cosh(2 * _theta) - 1)
               + _a_u * _a_v / 2 * sp.sinh(2 * _theta))
    steps.append(("D* in (a_u, a_v)", sp.Eq(sp.Symbol("D^*"), conj_uv)))
    # compact form of D, then in (a_u, a_v) with √(α̃⁴+β₀²) = (a_u²+a_v²)/2 (checked above)
    d_compact = (_beta * (sp.asinh(_beta / _alpha_t**2) - sp.asinh(_beta0 / _alpha_t**2))
                 - sp.sqrt(_beta**2 + _alpha_t**4) + sp.sqrt(_alpha_t**4 + _beta0**2)) / 2
    steps.append(("D_{ψ_α̃}(β, β₀), compact", _verify("bregman_compact", psi_b, d_compact, verified,
                                                       show=sp.Symbol("D"))))
    at2_e = (_a_u**2 - _a_v**2) / 2
    d_uv = (_beta * (sp.asinh(_beta / at2_e) - sp.asinh(_a_u * _a_v / at2_e))
            - sp.sqrt(_beta**2 + at2_e**2) + (_a_u**2 + _a_v**2) / 2) / 2
    steps.append(("D in (a_u, a_v)", sp.Eq(sp.Symbol("D"), d_uv)))
    res = {
        "potential": d_uv,
        "gradient": (sp.asinh(_beta / at2_e) - sp.asinh(_a_u * _a_v / at2_e)) / 2,
        "hessian": 1 / (2 * sp.sqrt(_beta**2 + at2_e**2)),
        "conjugate": conj_uv,
        "alpha_map": "alpha_tilde**2 = (a_u**2 - a_v**2)/2, beta_0 = a_u*a_v",
        "potential_generic": d_compact,
        "convention": "beta = u*v, u0 = a_u, v0 = a_v, |a_v| < a_u (Azulay et al. 2021)",
        "identities_verified": list(verified),
    }
    return Derivation("Potential of gradient flow on β = u⊙v with u₀ = a_u, v₀ = a_v "
                      "(Bregman divergence)", tuple(steps), res)


def _derive_depth(depth: int) -> Derivation:
    verified: list[str] = []
    steps: list = []
    D, c = depth, depth - 2
    wp, wm = sp.Function("w_+")(_t), sp.Function("w_-")(_t)
    beta_w = wp**D - wm**D
    ode = {wp.diff(_t): -sp.diff(beta_w, wp) * _g, wm.diff(_t): -sp.diff(beta_w, wm) * _g}
    steps.append(("parametrisation and init (Woodworth et al. 2020, depth D)",
                  sp.Tuple(sp.Eq(_beta, beta_w), sp.Eq(sp.Function("w_+")(0), _alpha),
                           sp.Eq(sp.Function("w_-")(0), _alpha))))
    steps.append(("gradient flow", sp.Tuple(*[sp.Eq(k, val) for k, val in ode.items()])))
    steps.append(("d/dt w₊^(2−D) = D(D−2) g",
                  _verify("w_plus_power_dot", sp.diff(wp ** (2 - D), _t).subs(ode), D * c * _g,
                          verified, show=sp.Derivative(wp ** (2 - D), _t))))
    steps.append(("d/dt w₋^(2−D) = −D(D−2) g",
                  _verify("w_minus_power_dot", sp.diff(wm ** (2 - D), _t).subs(ode), -D * c * _g,
                          verified, show=sp.Derivative(wm ** (2 - D), _t))))
    wp_G = (_alpha ** (2 - D) + D * c * _G) ** sp.Rational(1, 2 - D)
    wm_G = (_alpha ** (2 - D) - D * c * _G) ** sp.Rational(1, 2 - D)
    steps.append(("integrate (G = ∫₀ᵗ g)", sp.Tuple(sp.Eq(sp.Symbol("w_+"), wp_G),
                                                   sp.Eq(sp.Symbol("w_-"), wm_G))))
    steps.append(("initial values w±(G = 0) = α", sp.Tuple(
        _verify("w_plus_initial", wp_G.subs(_G, 0), _alpha, verified, show=sp.Symbol("w_+(0)")),
        _verify("w_minus_initial", wm_G.subs(_G, 0), _alpha, verified,
                show=sp.Symbol("w_-(0)")))))
    h = depth_h(_s, D)
    H = depth_H(_s, D)
    # β/α^D = h_D(s) with s = −D α^{D−2} G; checked term by term with positive bases
    # P = 1 − cs > 0 and M = 1 + cs > 0 (the domain |s| < 1/c).
    P = sp.Symbol("P", positive=True)
    G_of_s = -_s / (D * _alpha ** (D - 2))
    p_term = (wp_G**D).subs(_G, G_of_s).subs(_s, (1 - P) / c) / _alpha**D
    m_term = (wm_G**D).subs(_G, G_of_s).subs(_s, (P - 1) / c) / _alpha**D
    _verify("w_plus_term", p_term, P ** sp.Rational(-D, c), verified)
    _verify("w_minus_term", m_term, P ** sp.Rational(-D, c), verified)
    steps.append(("β/α^D = h_D(s), s = −D α^(D−2) G ∈ range(Xᵀ)", sp.Eq(sp.Symbol("h_D"), h)))
    steps.append(("mirror identity", "∇Φ(β) = h_D⁻¹(β/α^D) = s ∈ range(Xᵀ) with "
                  "Φ(β) = α^D Σ q_D(β/α^D), q_D = ∫₀^z h_D⁻¹  ⇒  β_∞ = argmin_{Xβ=y} Φ"))
    steps.append(("H_D(s)", sp.Eq(sp.Symbol("H_D"), H)))
    steps.append(("H_D' = h_D (exactly, factor 1)",
                  _verify("H_prime_equals_h", sp.diff(H, _s), h, verified,
                          show=sp.Symbol("H_D'"))))
    steps.append(("H_D(0) = 0", _verify("H_zero", H.subs(_s, 0), 0, verified,
                                        show=sp.Symbol("H_D(0)"))))
    steps.append(("h_D odd", _verify("h_odd", h.subs(_s, -_s), -h, verified,
                                     show=sp.Symbol("h_D(-s)"))))
    hp = sp.diff(h, _s)
    pos = D * ((1 - c * _s) ** sp.Rational(-D - c, c) + (1 + c * _s) ** sp.Rational(-D - c, c))
    steps.append(("h_D' = D[(1−cs)^(−(D+c)/c) + (1+cs)^(−(D+c)/c)] > 0 (monotone)",
                  _verify("h_monotone", hp, pos, verified, show=sp.Symbol("h_D'"))))
    steps.append(("h_D'(0) = 2D, so q_D(z) = z²/(4D) + O(z⁴)",
                  _verify("h_slope_at_zero", hp.subs(_s, 0), 2 * D, verified,
                          show=sp.Symbol("h_D'(0)"))))
    steps.append(("q_D* = H_D (conjugate: (q_D)' = h_D⁻¹, H_D' = h_D, both vanish at 0); "
                  "q_D(z) = z s − H_D(s) with s = h_D⁻¹(z)", sp.Eq(sp.Symbol("q_D^*"), H,
                                                                  evaluate=False)))
    cs_ = sp.Symbol("c", positive=True)
    Hc = ((1 - cs_ * _s) ** (-2 / cs_) + (1 + cs_ * _s) ** (-2 / cs_) - 2) / 2
    hc = (1 - cs_ * _s) ** (-(cs_ + 2) / cs_) - (1 + cs_ * _s) ** (-(cs_ + 2) / cs_)
    steps.append(("H_D' = h_D for symbolic c = D − 2",
                  _verify("H_prime_equals_h_symbolic_c", sp.diff(Hc, _s), hc, verified,
                          show=sp.Derivative(Hc, _s))))
    steps.append(("limit D → 2: H → cosh 2s − 1 (depth-2 dual)",
                  _verify("depth2_limit", sp.limit(Hc, cs_, 0), sp.cosh(2 * _s) - 1, verified,
                          show=sp.Limit(Hc, cs_, 0))))
    res = {
        "h_D": h,
        "H_D": H,
        "potential": "alpha**D * Sum q_D(beta/alpha**D), q_D = Integral(h_D^-1)",
        "conjugate": _alpha**D * H.subs(_s, _theta),
        "domain": f"|s| < {sp.Rational(1, c)}",
        "H_D_prime_relation": "diff(H_D, s) = h_D (factor 1)",
        "convention": f"beta = w_+**{D} - w_-**{D}, w_+(0) = w_-(0) = alpha",
        "identities_verified": list(verified),
    }
    return Derivation(f"Potential of gradient flow on β = w₊^{D} − w₋^{D} (depth D = {D})",
                      tuple(steps), res)


#: derivations computed (not read from the cross-process cache) by this process; tests count them
_derivations = 0
_DERIVATION_CACHE_FORMAT = 1


def _derivation_key(param: str, depth: int) -> dict:
    return {"format": _DERIVATION_CACHE_FORMAT, "sympy": sp.__version__,
            "code": [_disk_cache.source_fingerprint(__file__),
                     _disk_cache.source_fingerprint(_derivation_module.__file__)],
            "param": param, "depth": depth}


def _load_derivation(key: dict) -> Derivation | None:
    """The cached derivation of ``key``, rebuilt through the safe srepr reader, or None."""
    data = _disk_cache.read_entry("potential", key)
    if data is None:
        return None
    try:
        value = _disk_cache.decode_value(data)
        title, steps, results = value["title"], value["steps"], value["results"]
    except (ValueError, KeyError, TypeError):
        return None
    if not (isinstance(title, str) and isinstance(steps, tuple) and isinstance(results, dict)
            and all(isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], str)
                    for s in steps)):
        return None
    return Derivation(title, steps, results)


@functools.lru_cache(maxsize=32)
def _derive_cached(param: str, depth: int) -> Derivation:
    """The derivation, once per process; across processes from the derivation cache
    (:mod:`dln_verify.symbolic.disk_cache`: keyed by this module's code and the SymPy version,
    every identity having been proved by SymPy when the entry was written)."""
    global _derivations
    key = _derivation_key(param, depth)
    cached = _load_derivation(key)
    if cached is not None:
        return cached
    if depth >= 3:
        d = _derive_depth(depth)
    else:
        d = {"uv": _derive_uv, "w2": _derive_w2, "unbalanced": _derive_unbalanced}[param]()
    _derivations += 1
    record = {"title": d.title, "steps": tuple(d.steps), "results": d.results}
    try:
        payload = _disk_cache.encode_value(record)
        back = _disk_cache.decode_value(payload)
    except (TypeError, ValueError):
        return d  # not representable in the safe format: not cached
    if back == record and list(back["results"]) == list(record["results"]):
        # cached only if it reads back as an equal derivation, results in the same order
        _disk_cache.write_entry("potential", key, payload)
    return d


def derive_potential(param: str = "uv", depth: int = 2) -> Derivation:
    """Derive the implicit-bias potential of gradient flow on a diagonal linear network.

    Parameters
    ----------
    param : {"uv", "w2", "unbalanced"}
        ``"uv"``: ``β = u⊙v``, ``u₀ = √2α``, ``v₀ = 0`` → hyperbolic entropy ``ψ_α``
        (Even et al. 2023, arXiv:2302.08982).  ``"w2"``: ``β = w₊² − w₋²``, ``w± = α_W`` →
        ``Q_{α_W}`` (Woodworth et al., COLT 2020, arXiv:2002.09277, Thm 1); ``ψ_α = Q_{α_W}/2``
        with ``α² = 2α_W²``.  ``"unbalanced"``: ``u₀ = a_u``, ``v₀ = a_v``, ``|a_v| < a_u`` →
        ``D_{ψ_α̃}(β, β₀)``, ``α̃² = (a_u² − a_v²)/2``, ``β₀ = a_u a_v`` (Azulay et al., ICML
        2021, arXiv:2102.09769).  For ``depth ≥ 3`` only ``"w2"`` is accepted: the depth-D
        result for ``β = w₊^D − w₋^D`` (Woodworth et al. 2020).
    depth : int
        Network depth ``D ≥ 2``.

    Returns
    -------
    Derivation
        Labelled steps (ODE, conserved quantity, mirror identity, ψ, ψ', ψ'', ψ*, checks) and a
        ``results`` dict.  Every identity listed in ``results["identities_verified"]`` was
        proved by SymPy; a failure raises :class:`IdentityCheckError`.

    Raises
    ------
    ValueError
        If ``param`` is not one of ``uv, w2, unbalanced`` or ``depth`` is not an integer ≥ 2, or
        ``param`` other than ``"w2"`` with ``depth ≥ 3``.
    """
    if not isinstance(param, str) or param not in PARAMS:
        raise ValueError(f"param must be one of {', '.join(PARAMS)}; got {param!r}")
    depth = _check_depth(depth)
    if param == "unbalanced" and depth != 2:
        raise ValueError(f"param='unbalanced' is only available for depth = 2 (got depth = "
                         f"{depth}); for depth >= 3 use param='w2'")
    if param == "uv" and depth != 2:
        raise ValueError(f"param='uv' (β = u⊙v) is depth 2 only; depth = {depth} is "
                         f"β = w₊^D − w₋^D: use param='w2'")
    d = _derive_cached(param, depth)
    # hand out a copy so that callers cannot mutate the cached results
    results = {k: (list(v) if isinstance(v, list) else v) for k, v in d.results.items()}
    return Derivation(d.title, d.steps, results)


# --------------------------------------------------------------------------------------------
# Numeric callables (plain numpy, log domain)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PotentialFunctions:
    """Numpy callables for the potential of depth ``depth`` (all vectorised, float64).

    Depth 2 (``β = u⊙v``, ``u₀ = √2α``, ``v₀ = 0``): ``psi`` = ψ_α, ``grad`` = ½asinh(β/α²),
    ``hess`` = 1/(2√(β²+α⁴)), ``conjugate`` = ½α²(cosh 2θ − 1), ``conjugate_grad`` = α² sinh 2θ.
    ``h``, ``H``, ``h_inverse``, ``q`` are the ``D → 2`` limits of the depth-D family
    (``h₂(s) = 2 sinh 2s``, ``H₂ = cosh 2s − 1``, ``q₂ = q/2`` with Woodworth's ``q``).

    Depth ``D ≥ 3`` (``β = w₊^D − w₋^D``, ``w±(0) = α``): ``psi(β, α) = α^D q_D(β/α^D)``,
    ``grad = h_D⁻¹(β/α^D)``, ``hess = 1/(α^D h_D'(s))``, ``conjugate(θ, α) = α^D H_D(θ)``
    (``+inf`` for ``|θ| ≥ 1/(D−2)``), ``conjugate_grad = α^D h_D(θ)``.
    """

    depth: int
    psi: Callable
    grad: Callable
    hess: Callable
    conjugate: Callable
    conjugate_grad: Callable
    h: Callable
    H: Callable
    h_inverse: Callable
    q: Callable
    convention: str


def _arr(x, name: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real numeric array ({exc})") from None
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN/inf)")
    return a


def _log_alpha(alpha) -> np.ndarray:
    a = _arr(alpha, "alpha")
    if np.any(a <= 0):
        raise ValueError("alpha must be positive and finite (alpha > 0)")
    return np.log(a)


def _psi2(beta, alpha):
    b = _arr(beta, "beta")
    la = _log_alpha(alpha)
    b, la = np.broadcast_arrays(b, la)
    ab = np.abs(b)
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        logr = np.log(ab) - 2.0 * la  # log(|β|/α²)
        big = logr >= 0.0
        rho = np.exp(-np.where(big, logr, 0.0))
        sq = np.sqrt(1.0 + rho * rho)
        out_big = 0.5 * ab * (logr + np.log1p(sq) - sq + rho)
        r = np.exp(np.where(big, 0.0, logr))
        ratio = np.where(r > 0, np.arcsinh(r) / np.where(r > 0, r, 1.0), 1.0)
        out_small = 0.5 * ab * r * (ratio - 1.0 / (1.0 + np.sqrt(1.0 + r * r)))
        out = np.where(big, out_big, out_small)
    return np.where(ab == 0, 0.0, out)


def _asinh_ratio2(beta, la2):
    """asinh(β/a), a = exp(la2), from logs."""
    ab = np.abs(beta)
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        logr = np.log(ab) - la2
        big = logr >= 0.0
        rho = np.exp(-np.where(big, logr, 0.0))
        out_big = logr + np.log1p(np.sqrt(1.0 + rho * rho))
        out_small = np.arcsinh(np.exp(np.where(big, 0.0, logr)))
        out = np.where(big, out_big, out_small)
    return np.sign(beta) * np.where(ab == 0, 0.0, out)


def _grad2(beta, alpha):
    b = _arr(beta, "beta")
    la = _log_alpha(alpha)
    b, la = np.broadcast_arrays(b, la)
    return 0.5 * _asinh_ratio2(b, 2.0 * la)


def _hess2(beta, alpha):
    b = _arr(beta, "beta")
    la = _log_alpha(alpha)
    b, la = np.broadcast_arrays(b, la)
    ab = np.abs(b)
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        logr = np.log(ab) - 2.0 * la
        big = logr >= 0.0
        x = np.exp(-np.abs(logr))  # min/max ratio
        logm = np.where(big, np.log(ab), 2.0 * la)  # log max(|β|, α²)
        return np.exp(-logm - 0.5 * np.log1p(x * x)) / 2.0


def _log_abs_sinh(x):
    ax = np.abs(x)
    with np.errstate(divide="ignore"):
        small = ax < 1.0
        return np.where(small, np.log(np.sinh(np.where(small, ax, 1.0))),
                        ax - math.log(2.0) + np.log1p(-np.exp(-2.0 * ax)))


def _conj2(theta, alpha):
    th = _arr(theta, "theta")
    la = _log_alpha(alpha)
    th, la = np.broadcast_arrays(th, la)
    # ½α²(cosh 2θ − 1) = α² sinh²θ
    with np.errstate(over="ignore", under="ignore"):
        return np.where(th == 0, 0.0, np.exp(2.0 * la + 2.0 * _log_abs_sinh(th)))


def _conj_grad2(theta, alpha):
    th = _arr(theta, "theta")
    la = _log_alpha(alpha)
    th, la = np.broadcast_arrays(th, la)
    # α² sinh 2θ
    with np.errstate(over="ignore", under="ignore"):
        return np.sign(th) * np.where(th == 0, 0.0, np.exp(2.0 * la + _log_abs_sinh(2.0 * th)))


def _h2(s):
    return 2.0 * np.sinh(2.0 * _arr(s, "s"))


def _H2(s):
    return 2.0 * np.sinh(_arr(s, "s")) ** 2


def _h2_inv(z):
    return 0.5 * np.arcsinh(_arr(z, "z") / 2.0)


def _q2(z):
    # q₂ = q/2 with Woodworth's q = 2 − √(4+z²) + z asinh(z/2); ½ · [z asinh(z/2) − z²/(2+√(4+z²))]
    z = _arr(z, "z")
    return 0.5 * (z * np.arcsinh(z / 2.0) - z * z / (2.0 + np.sqrt(4.0 + z * z)))


# ---- depth D ≥ 3: work with x = c s ∈ (−1, 1) and t = 1 − |x| (exact for |x| ≥ ½) ----

_HALF_BRANCH = 0.5  # |x| above this: use t = 1 − |x| as the variable


def _log_h_x(ax, D):
    """log h_D for 0 < ax ≤ ½ (x-variable): log[2(1−x²)^{−p/2} sinh(p atanh x)]."""
    p = D / (D - 2)
    k = p * np.arctanh(ax)
    return -0.5 * p * np.log1p(-ax * ax) + k + np.log(-np.expm1(-2.0 * k))


def _dlog_h_x(ax, D):
    """d/dx log h_D(x)."""
    p = D / (D - 2)
    r = np.exp(p * (np.log1p(-ax) - np.log1p(ax)))  # ((1−x)/(1+x))^p
    return p / (1.0 - ax) * (1.0 + r * (1.0 - ax) / (1.0 + ax)) / (-np.expm1(
        p * (np.log1p(-ax) - np.log1p(ax))))


def _log_h_t(t, D):
    """log h_D with t = 1 − x ∈ (0, ½]: −p log t + log1p(−(t/(2−t))^p)."""
    p = D / (D - 2)
    return -p * np.log(t) + np.log1p(-np.exp(p * (np.log(t) - np.log(2.0 - t))))


def _h_x_t(ax, t, D, big):
    """h_D(|s|) from ax = |x| (small branch) or t = 1 − |x| (big branch)."""
    p = D / (D - 2)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        small = 2.0 * np.exp(-0.5 * p * np.log1p(-ax * ax)) * np.sinh(p * np.arctanh(ax))
        large = t ** (-p) - (2.0 - t) ** (-p)
    return np.where(big, large, small)


def _H_x_t(ax, t, D, big):
    """H_D(|s|) = ½[(1−x)^{−2/c} + (1+x)^{−2/c}] − 1 without cancellation."""
    c = D - 2
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        m = -np.log1p(-ax * ax) / c
        k = 2.0 * np.arctanh(ax) / c
        small = np.expm1(m) * np.cosh(k) + 2.0 * np.sinh(0.5 * k) ** 2
        large = 0.5 * (t ** (-2.0 / c) + (2.0 - t) ** (-2.0 / c)) - 1.0
    return np.where(big, large, small)


def _log_hprime_x_t(ax, t, D, big):
    """log h_D'(s) = log D + log[(1−x)^{−p−1} + (1+x)^{−p−1}]."""
    p = D / (D - 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        tt = np.where(big, t, 1.0 - ax)
        return (math.log(D) - (p + 1.0) * np.log(tt)
                + np.log1p(np.exp((p + 1.0) * (np.log(tt) - np.log(2.0 - tt)))))


def _xt_from_log_z(logy, D):
    """Solve h_D(x/c) = y for y > 0 given log y; returns (|x|, t = 1 − |x|, big-branch mask)."""
    p = D / (D - 2)
    logy = np.asarray(logy, dtype=np.float64)
    log_split = float(_log_h_x(np.float64(_HALF_BRANCH), D))
    big = logy > log_split
    eps = np.finfo(np.float64).eps
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        # big branch: Newton in L = log t on G(L) = log h(t) − log y (nearly linear, G' ≈ −p)
        L = np.minimum(np.where(big, -logy / p, math.log(_HALF_BRANCH)), math.log(_HALF_BRANCH))
        for _ in range(100):
            t = np.exp(L)
            G = _log_h_t(t, D) - logy
            dG = -t * _dlog_h_x(1.0 - t, D)
            Ln = np.minimum(L - G / dG, math.log(_HALF_BRANCH))
            step = np.abs(Ln - L)
            L = np.where(big, Ln, L)
            if not np.any(big & (step > 4.0 * eps * np.maximum(1.0, np.abs(L)))):
                break
        t_big = np.exp(L)
        # small branch: safeguarded Newton in x on F(x) = log h(x) − log y, bracket [lo, hi]
        y = np.exp(np.minimum(logy, log_split))
        lo = np.zeros_like(logy)
        hi = np.minimum(_HALF_BRANCH, y / (2.0 * p))  # h ≥ 2 p x (convex) ⇒ x ≤ y/(2p)
        x = hi.copy()
        for _ in range(200):
            F = _log_h_x(x, D) - logy
            lo = np.where(F < 0, x, lo)
            hi = np.where(F > 0, x, hi)
            xn = np.where(F == 0, x, x - F / _dlog_h_x(x, D))
            bad = ~np.isfinite(xn) | (xn < lo) | (xn > hi)
            xn = np.where(bad, 0.5 * (lo + hi), xn)
            done = np.abs(xn - x) <= 2.0 * eps * np.abs(x)
            x = np.where(big, x, xn)
            if np.all(done | big):
                break
    ax = np.where(big, 1.0 - t_big, x)
    t = np.where(big, t_big, 1.0 - x)
    zero = np.isneginf(logy)
    return np.where(zero, 0.0, ax), np.where(zero, 1.0, t), big & ~zero


def _make_depth(D: int) -> PotentialFunctions:
    c = D - 2
    p = D / c

    def _split_s(s, name):
        s = _arr(s, name)
        x = c * s
        if np.any(np.abs(x) >= 1.0):
            raise ValueError(f"{name} must satisfy |{name}| < 1/(D-2) = 1/{c} for depth D = {D}")
        ax = np.abs(x)
        big = ax > _HALF_BRANCH
        return np.sign(x), ax, 1.0 - ax, big

    def h(s):
        """h_D(s) (docs/theory/regression.md §1.2); raises ValueError outside |s| < 1/(D−2)."""
        sg, ax, t, big = _split_s(s, "s")
        return sg * _h_x_t(ax, t, D, big)

    def H(s):
        """H_D(s) = ½[(1−cs)^{−2/c} + (1+cs)^{−2/c} − 2]; H_D' = h_D exactly."""
        _, ax, t, big = _split_s(s, "s")
        return _H_x_t(ax, t, D, big)

    def _solve_z(z):
        z = _arr(z, "z")
        with np.errstate(divide="ignore"):
            return (np.sign(z), np.abs(z)) + _xt_from_log_z(np.log(np.abs(z)), D)

    def h_inverse(z):
        """h_D⁻¹(z) ∈ [−1/c, 1/c] for any real z (Newton in log h; ±1/c only by rounding)."""
        sg, _, ax, _, _ = _solve_z(z)
        return sg * ax / c

    def q(z):
        """q_D(z) = ∫₀^z h_D⁻¹ = |z| s − H_D(s), s = h_D⁻¹(|z|) (Fenchel–Young, q_D* = H_D)."""
        _, az, ax, t, big = _solve_z(z)
        return az * ax / c - _H_x_t(ax, t, D, big)

    def _from_beta(beta, alpha):
        b = _arr(beta, "beta")
        la = _log_alpha(alpha)
        b, la = np.broadcast_arrays(b, la)
        with np.errstate(divide="ignore"):
            logz = np.log(np.abs(b)) - D * la
        ax, t, big = _xt_from_log_z(logz, D)
        return b, la, ax, t, big

    def psi(beta, alpha):
        """α^D q_D(β/α^D) (Woodworth et al. 2020, depth-D theorem), from log|β| − D log α."""
        b, la, ax, t, big = _from_beta(beta, alpha)
        Hv = _H_x_t(ax, t, D, big)
        with np.errstate(divide="ignore", under="ignore", over="ignore"):
            scaled_H = np.where(Hv > 0, np.exp(D * la + np.log(np.where(Hv > 0, Hv, 1.0))), 0.0)
        return np.where(b == 0, 0.0, np.abs(b) * ax / c - scaled_H)

    def grad(beta, alpha):
        """h_D⁻¹(β/α^D)."""
        b, _, ax, _, _ = _from_beta(beta, alpha)
        return np.sign(b) * ax / c

    def hess(beta, alpha):
        """1/(α^D h_D'(s)), s = h_D⁻¹(β/α^D), h_D'(s) = D[(1−cs)^{−p−1} + (1+cs)^{−p−1}]."""
        _, la, ax, t, big = _from_beta(beta, alpha)
        with np.errstate(over="ignore", under="ignore"):
            return np.exp(-D * la - _log_hprime_x_t(ax, t, D, big))

    def conjugate(theta, alpha):
        """α^D H_D(θ) for |θ| < 1/c, +inf otherwise (q_D* = H_D)."""
        th = _arr(theta, "theta")
        la = _log_alpha(alpha)
        th, la = np.broadcast_arrays(th, la)
        x = c * th
        inside = np.abs(x) < 1.0
        ax = np.where(inside, np.abs(x), 0.0)
        big = ax > _HALF_BRANCH
        Hv = _H_x_t(ax, 1.0 - ax, D, big)
        with np.errstate(divide="ignore", under="ignore", over="ignore"):
            val = np.where(Hv > 0, np.exp(D * la + np.log(np.where(Hv > 0, Hv, 1.0))), 0.0)
        return np.where(inside, val, np.inf)

    def conjugate_grad(theta, alpha):
        """α^D h_D(θ); raises ValueError outside |θ| < 1/c."""
        sg, ax, t, big = _split_s(theta, "theta")
        la = _log_alpha(alpha)
        sg, ax, t, big, la = np.broadcast_arrays(sg, ax, t, big, la)
        hv = _h_x_t(ax, t, D, big)
        with np.errstate(divide="ignore", under="ignore", over="ignore"):
            return sg * np.where(hv > 0, np.exp(D * la + np.log(np.where(hv > 0, hv, 1.0))), 0.0)

    del p
    return PotentialFunctions(
        depth=D, psi=psi, grad=grad, hess=hess, conjugate=conjugate,
        conjugate_grad=conjugate_grad, h=h, H=H, h_inverse=h_inverse, q=q,
        convention=f"beta = w_+**{D} - w_-**{D}, w_+(0) = w_-(0) = alpha",
    )


@functools.lru_cache(maxsize=32)
def potential_functions(depth: int = 2) -> PotentialFunctions:
    """Numerically stable numpy callables for the depth-``depth`` potential.

    Depth 2 follows the ``β = u⊙v``, ``u₀ = √2α``, ``v₀ = 0`` convention (ψ_α,
    docs/theory/regression.md §0); depth ``D ≥ 3`` follows Woodworth et al. (COLT 2020,
    arXiv:2002.09277), ``β = w₊^D − w₋^D``, ``w±(0) = α``.  Everything is evaluated from ``log α``
    and ``log|β|``, so α down to 1e-30 (tested against mpmath to relative error ≤ 1e-12) does not
    under/overflow. Bad input (non-finite, α ≤ 0, ``|s| ≥ 1/(D−2)``) raises ValueError naming the
    argument.

    Accuracy: relative error ≤ 1e-12 (measured ≤ 2e-13) wherever the exact value is a normal
    float64; values below ~1e-300 underflow to 0.  Depth ``D ≥ 3``: for ``z = |β|/α^D`` large,
    ``s = h_D⁻¹(z)`` lies within ``z^{−(D−2)/D}`` of ``1/(D−2)``; ``psi`` and ``hess`` are
    computed internally from ``t = 1 − (D−2)|s|`` and stay accurate, but the float ``s``
    returned by ``grad`` carries ``t`` only to 1e-16 absolute, so the round trip
    ``conjugate_grad(grad(β))`` has relative error ≈ (D/(D−2))·1e-16·z^{(D−2)/D}.

    Parameters
    ----------
    depth : int
        ``D ≥ 2``.

    Returns
    -------
    PotentialFunctions
    """
    depth = _check_depth(depth)
    if depth >= 3:
        return _make_depth(depth)
    return PotentialFunctions(
        depth=2, psi=_psi2, grad=_grad2, hess=_hess2, conjugate=_conj2,
        conjugate_grad=_conj_grad2, h=_h2, H=_H2, h_inverse=_h2_inv, q=_q2,
        convention="beta = u*v, u0 = sqrt(2)*alpha, v0 = 0 (h, H, h_inverse, q: D->2 limit, "
                   "w_+ = w_- = alpha_W)",
    )
