"""Heavy-ball momentum → momentum gradient flow: the intrinsic constant ``λ = γ/(1−β_m)²``.

Papazov, Pesme & Flammarion, "Leveraging continuous time to understand momentum when training
diagonal linear networks", AISTATS 2024, arXiv:2403.05293: heavy ball with stepsize ``γ`` and
momentum ``β_m`` (the paper's ``β``; here ``beta_m`` so that ``β`` stays the regression vector)

    w_{k+1} = w_k − γ ∇F(w_k) + β_m (w_k − w_{k−1}),    w_{−1} = w_0,

follows, as ``β_m → 1``, the *momentum gradient flow* (MGF) ``λ ẅ + ẇ + ∇F(w) = 0``,
``ẇ(0) = 0``, whose path depends on ``λ = γ/(1−β_m)²`` alone, with iteration ``k`` at time
``t_k = k h``, ``h = γ/(1−β_m)``.

:func:`momentum_invariant` derives this with SymPy from the recursion (Taylor expansion of
``w_{k±1} = w(t ± h)``), together with the next order: with ``ε = 1 − β_m`` at fixed ``λ``
(``γ = λε²``, ``h = λε``) the recursion divided by ``γ`` reads

    λ ẅ + ẇ + ∇F(w) − ε (λ/2) ẅ + ε² (λ²/6 w⁽³⁾ + λ³/12 w⁽⁴⁾) + O(ε³) = 0,

and ``w_{−1} = w_0`` gives ``ẇ(0) = −(ε/2) ∇F(w_0) + O(ε²)``. Hence MGD is ``O(1 − β_m)`` away
from the MGF path, and ``O((1 − β_m)²)`` away from the *modified* flow with
``λ_eff = λ(1 + β_m)/2`` and that initial velocity. :func:`mgf_log_coordinates` derives the
identity behind the implicit regularisation of MGF on a DLN (``docs/theory/regression.md`` §5.3).

The whole argument is componentwise, so ``w`` is a scalar function of ``t`` and ``∇F(w(t))`` an
undefined function ``G(t)``; SymPy only, no arrays (``docs/design.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from dln_verify.symbolic.derivation import Derivation

__all__ = ["MomentumInvariant", "momentum_invariant", "derive_momentum", "mgf_log_coordinates"]

#: Taylor order used for ``w(t ± h)`` (enough for the ε² term of the residual)
TAYLOR_ORDER = 5


@dataclass(frozen=True)
class MomentumInvariant:
    """Result of :func:`momentum_invariant` (all fields SymPy objects, plus the steps).

    Attributes
    ----------
    lam : sympy.Expr
        ``λ = γ/(1 − β_m)²``.
    time_step : sympy.Expr
        ``h = γ/(1 − β_m)``.
    ode : sympy.Eq
        ``λ ẅ + ẇ + ∇F(w) = 0`` with ``λ`` as the symbol ``lambda``.
    correction : sympy.Expr
        The ``O(1−β_m)`` term of the rescaled residual: ``−(1−β_m) λ ẅ / 2``.
    second_order : sympy.Expr
        The ``O((1−β_m)²)`` term: ``(1−β_m)² (λ² w⁽³⁾/6 + λ³ w⁽⁴⁾/12)``.
    modified_lambda : sympy.Expr
        ``λ_eff = γ(1 + β_m)/(2(1 − β_m)²)``, the exact ``ẅ`` coefficient at ``h = γ/(1−β_m)``.
    initial_velocity : sympy.Expr
        ``ẇ(0) = −(1 − β_m) ∇F(w_0)/2`` (leading order), from ``w_{−1} = w_0``.
    path_error_order : sympy.Expr
        ``1 − β_m`` (``= √(γ/λ)``): the order of ``max_t |w_k − w(t_k)|``.
    steps : tuple of (str, object)
        The derivation, in order, for :class:`~dln_verify.symbolic.derivation.Derivation`.
    symbols : dict
        ``gamma``, ``beta_m``, ``lambda``, ``h``, ``t``, ``epsilon`` and the functions ``w``,
        ``G`` (``G = ∇F∘w``).
    """

    lam: sp.Expr
    time_step: sp.Expr
    ode: sp.Eq
    correction: sp.Expr
    second_order: sp.Expr
    modified_lambda: sp.Expr
    initial_velocity: sp.Expr
    path_error_order: sp.Expr
    steps: tuple
    symbols: dict


def _taylor(w, t, h, order: int):
    """``w(t + h)`` as its Taylor polynomial in ``h`` (derivatives of the undefined ``w``)."""
    return sum(h**j / sp.factorial(j) * sp.diff(w(t), t, j) for j in range(order + 1))


@lru_cache(maxsize=1)
def momentum_invariant() -> MomentumInvariant:
    """Derive the MGF and ``λ = γ/(1−β_m)²`` from the heavy-ball recursion (SymPy).

    Steps: (1) write heavy ball as a residual; (2) substitute ``w_{k±1} = w(t ± h)`` and
    Taylor-expand; (3) choose ``h`` so that the ``ẇ`` coefficient of the residual divided by
    ``γ`` is 1, which gives ``h = γ/(1−β_m)``; (4) the ``ẅ`` coefficient is then
    ``γ(1+β_m)/(2(1−β_m)²) → λ = γ/(1−β_m)²`` as ``β_m → 1``; (5) at fixed ``λ`` expand in
    ``ε = 1 − β_m`` to read off the ODE and the ``O(ε)``, ``O(ε²)`` corrections; (6) the
    initial condition ``w_{−1} = w_0`` gives the initial velocity.

    Reference: Papazov, Pesme & Flammarion, AISTATS 2024, arXiv:2403.05293 (the MGF and the
    "acceleration rule" ``λ = γ/(1−β)²``); the next-order terms are derived here.

    Returns
    -------
    MomentumInvariant
        Frozen record with the expressions and the derivation steps.

    Examples
    --------
    >>> from dln_verify.symbolic.momentum import momentum_invariant
    >>> str(momentum_invariant().lam)
    'gamma/(1 - beta_m)**2'
    """
    gamma = sp.Symbol("gamma", positive=True)
    beta_m = sp.Symbol("beta_m", positive=True)
    lam_s = sp.Symbol("lambda", positive=True)
    eps = sp.Symbol("epsilon", positive=True)
    h = sp.Symbol("h", positive=True)
    t = sp.Symbol("t", real=True)
    w = sp.Function("w")
    G = sp.Function("G")  # G(t) = ∇F(w(t))
    wd = [sp.diff(w(t), t, j) for j in range(TAYLOR_ORDER)]
    steps: list[tuple[str, object]] = []

    # (1) recursion as a residual
    wk, wkp, wkm = sp.symbols("w_k w_{k+1} w_{k-1}")
    gk = sp.Function("nabla_F")(wk)
    recursion = sp.Eq(wkp - wk - beta_m * (wk - wkm) + gamma * gk, 0)
    steps.append(("heavy ball (MGD), w_{-1} = w_0", recursion))

    # (2) Taylor expansion of w(t ± h)
    w_plus = _taylor(w, t, h, TAYLOR_ORDER - 1)
    w_minus = _taylor(w, t, -h, TAYLOR_ORDER - 1)
    steps.append(("w_{k+1} = w(t + h), Taylor", sp.Eq(sp.Symbol("w(t+h)"), w_plus)))
    residual = sp.expand((w_plus - w(t) - beta_m * (w(t) - w_minus) + gamma * G(t)) / gamma)
    collected = sp.collect(residual, wd[1:], evaluate=False)
    coeff_wd = sp.simplify(collected[wd[1]])
    coeff_wdd = sp.simplify(collected[wd[2]])
    steps.append(("residual / gamma: coefficient of w'", coeff_wd))
    steps.append(("residual / gamma: coefficient of w''", coeff_wdd))

    # (3) time step: the ẇ coefficient must be 1 (time measured so that ẇ = −∇F + ...)
    h_sol = sp.solve(sp.Eq(coeff_wd, 1), h)
    if len(h_sol) != 1:  # pragma: no cover - a SymPy regression would land here
        raise RuntimeError(f"expected one time step, SymPy found {h_sol}")
    time_step = gamma / (1 - beta_m)  # canonical form of the unique solution
    if sp.simplify(h_sol[0] - time_step) != 0:  # pragma: no cover
        raise RuntimeError(f"unexpected time step {h_sol[0]}")
    steps.append(("time step from coefficient(w') = 1", sp.Eq(h, time_step)))

    # (4) the ẅ coefficient at that h, and its limit β_m → 1 at fixed λ
    modified_lambda = gamma * (1 + beta_m) / (2 * (1 - beta_m) ** 2)
    if sp.simplify(coeff_wdd.subs(h, time_step) - modified_lambda) != 0:  # pragma: no cover
        raise RuntimeError("unexpected coefficient of w''")
    steps.append(("coefficient of w'' at that h (exact)", modified_lambda))
    # λ := leading term of that coefficient as β_m → 1 (ε = 1 − β_m → 0 at fixed γ)
    leading = sp.expand(modified_lambda.subs(beta_m, 1 - eps)).as_leading_term(eps)
    lam = gamma / (1 - beta_m) ** 2  # canonical form of the leading term
    if sp.simplify(leading.subs(eps, 1 - beta_m) - lam) != 0:  # pragma: no cover
        raise RuntimeError(f"unexpected leading term {leading}")
    steps.append(("lambda := leading term of that coefficient as beta_m -> 1",
                  sp.Eq(sp.Symbol("lambda"), lam)))
    if sp.limit(modified_lambda / lam, beta_m, 1) != 1:  # pragma: no cover
        raise RuntimeError("coefficient of w'' is not asymptotic to lambda")

    # (5) fixed λ, ε = 1 − β_m: γ = λ ε², h = λ ε; series in ε
    at_fixed_lambda = {gamma: lam_s * eps**2, beta_m: 1 - eps}
    res_eps = sp.expand(residual.subs(h, time_step).subs(at_fixed_lambda))
    series = sp.expand(sp.series(res_eps, eps, 0, 3).removeO())
    order0 = series.coeff(eps, 0)
    order1 = sp.factor(series.coeff(eps, 1))
    order2 = sp.factor(series.coeff(eps, 2))
    steps.append(("fixed lambda: gamma = lambda eps^2, beta_m = 1 - eps, h = lambda eps",
                  sp.Eq(sp.Symbol("residual/gamma"), series)))
    ode = sp.Eq(order0.subs(G(t), sp.Function("nabla_F")(w(t))), 0)
    steps.append(("order eps^0: momentum gradient flow (MGF)", ode))
    steps.append(("order eps^1: first correction", order1))
    steps.append(("order eps^2", order2))
    correction = sp.expand(eps * order1).subs(eps, 1 - beta_m)
    second_order = sp.expand(eps**2 * order2).subs(eps, 1 - beta_m)

    # (6) initial condition: w(−h) = w(0) and λ_eff ẅ(0) + ẇ(0) + G(0) = 0
    v0, a0 = sp.symbols("wdot_0 wddot_0")
    g0 = sp.Function("nabla_F")(sp.Symbol("w_0"))
    lam_eff = lam_s * (1 + beta_m) / 2
    ic = sp.solve(
        [sp.Eq(-time_step * v0 + time_step**2 / 2 * a0, 0), sp.Eq(lam_eff * a0 + v0 + g0, 0)],
        [v0, a0], dict=True,
    )[0]
    v0_exact = sp.simplify(ic[v0].subs(gamma, lam_s * (1 - beta_m) ** 2))
    v0_lead = sp.series(v0_exact.subs(beta_m, 1 - eps), eps, 0, 2).removeO()
    initial_velocity = -(1 - beta_m) * g0 / 2
    if sp.simplify(v0_lead.subs(eps, 1 - beta_m) - initial_velocity) != 0:  # pragma: no cover
        raise RuntimeError(f"unexpected initial velocity {v0_lead}")
    steps.append(("w_{-1} = w_0: w(0) - w(-h) = 0 gives w'(0) (to O(h^2)), leading order",
                  sp.Eq(v0, initial_velocity)))
    path_error_order = 1 - beta_m
    if sp.simplify(sp.sqrt(gamma / lam_s).subs(lam_s, lam) ** 2 - path_error_order**2) != 0:
        raise RuntimeError("sqrt(gamma/lambda) != 1 - beta_m")  # pragma: no cover
    steps.append((
        "conclusion: |w_k - w_MGF(k h)| = O(1 - beta_m) = O(sqrt(gamma/lambda)); the flow with "
        "lambda_eff = lambda (1+beta_m)/2 and that w'(0) is O((1 - beta_m)^2) away",
        path_error_order,
    ))
    return MomentumInvariant(
        lam=lam,
        time_step=time_step,
        ode=ode,
        correction=correction,
        second_order=second_order,
        modified_lambda=modified_lambda,
        initial_velocity=initial_velocity,
        path_error_order=path_error_order,
        steps=tuple(steps),
        symbols={"gamma": gamma, "beta_m": beta_m, "lambda": lam_s, "h": h, "t": t,
                 "epsilon": eps, "w": w, "G": G},
    )


@lru_cache(maxsize=1)
def mgf_log_coordinates() -> Derivation:
    """Derive the log-coordinate MGF identities behind the DLN implicit regularisation.

    With ``s = u + v = e^ρ`` the MGF ``λ s̈ + ṡ + s g = 0`` becomes
    ``λ(ρ̈ + ρ̇²) + ρ̇ + g = 0``; integrated from rest (``ρ̇(0) = ρ̇(∞) = 0``) it gives
    ``ρ_∞ − ρ_0 = −∫g − λ∫ρ̇²`` (and ``η = ln d`` the same with ``+∫g``), hence
    ``α₊² = α² e^{−2λ∫(ṡ/s)²}``, ``α₋² = α² e^{−2λ∫(ḋ/d)²}``, ``α_∞² = α₊α₋`` and the
    reference point ``β̃₀ = (α₊² − α₋²)/2`` (``docs/theory/regression.md`` §5.3; Papazov, Pesme &
    Flammarion, AISTATS 2024, arXiv:2403.05293).
    """
    t = sp.Symbol("t", real=True)
    lam = sp.Symbol("lambda", positive=True)
    g = sp.Function("g")(t)
    rho = sp.Function("rho")(t)
    s = sp.exp(rho)
    mgf_s = lam * sp.diff(s, t, 2) + sp.diff(s, t) + s * g
    log_form = sp.expand(sp.simplify(mgf_s / s))
    a, Is, Id, Ig = sp.symbols("alpha I_s I_d I_g", positive=True)
    rho_inf = sp.log(sp.sqrt(2) * a) - Ig - lam * Is
    eta_inf = sp.log(sp.sqrt(2) * a) + Ig - lam * Id
    alpha_inf_sq = sp.simplify(sp.exp(rho_inf) * sp.exp(eta_inf) / 2)
    zeta = sp.simplify(rho_inf - eta_inf)
    alpha_p2 = a**2 * sp.exp(-2 * lam * Is)
    alpha_m2 = a**2 * sp.exp(-2 * lam * Id)
    ref = sp.simplify(alpha_inf_sq * sp.sinh(zeta.subs(Ig, 0)))
    return Derivation(
        title="MGF on a DLN in log coordinates: scale and reference point",
        steps=(
            ("MGF on s = u + v = exp(rho)", sp.Eq(mgf_s, 0)),
            ("divided by s", sp.Eq(log_form, 0)),
            ("integrated from rest: rho_inf (I_g = int g, I_s = int rho'^2)", rho_inf),
            ("alpha_inf^2 = s_inf d_inf / 2", alpha_inf_sq),
            ("zeta_inf = ln(s/d) = -2 I_g + reference offset", zeta),
            ("reference point alpha_inf^2 sinh(offset)", ref),
            ("equals (alpha_+^2 - alpha_-^2)/2", sp.simplify(
                (ref - (alpha_p2 - alpha_m2) / 2).rewrite(sp.exp))),
        ),
        results={"log_form": log_form, "alpha_inf_sq": alpha_inf_sq,
                 "reference": sp.simplify((alpha_p2 - alpha_m2) / 2)},
    )


def derive_momentum() -> Derivation:
    """The derivation printed by ``dln-verify derive momentum``.

    ``results`` are ``lambda`` (``γ/(1−β_m)²``), ``time_step`` (``γ/(1−β_m)``) and ``ode``
    (``λẅ + ẇ + ∇F(w) = 0``), followed by the extras ``correction``, ``modified_lambda``,
    ``initial_velocity`` and ``path_error_order`` (see :func:`momentum_invariant`).
    Reference: Papazov, Pesme & Flammarion, AISTATS 2024, arXiv:2403.05293.
    """
    inv = momentum_invariant()
    return Derivation(
        title="Heavy-ball momentum -> momentum gradient flow (Papazov, Pesme & Flammarion 2024)",
        steps=inv.steps,
        results={
            "lambda": inv.lam,
            "time_step": inv.time_step,
            "ode": inv.ode,
            "correction": inv.correction,
            "modified_lambda": inv.modified_lambda,
            "initial_velocity": inv.initial_velocity,
            "path_error_order": inv.path_error_order,
        },
    )
