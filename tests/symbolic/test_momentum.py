"""Tests of :mod:`dln_verify.symbolic.momentum`: λ = γ/(1−β_m)² and the MGF from the heavy-ball
recursion.

Expected forms come from ``docs/theory/regression.md`` §5.1 (λ, h, the ODE) and from an independent
expansion of the recursion on an exponential ``w(t) = e^{μt}`` (the next-order terms).
"""

from __future__ import annotations

import json

import numpy as np
import sympy as sp

from dln_verify.symbolic.momentum import derive_momentum, mgf_log_coordinates, momentum_invariant


def _syms():
    inv = momentum_invariant()
    s = inv.symbols
    return inv, s["gamma"], s["beta_m"], s["lambda"], s["t"], s["w"]


def test_lambda_time_step_and_ode_match_theory_sheet():
    inv, gamma, beta_m, lam, t, w = _syms()
    assert sp.simplify(inv.lam - gamma / (1 - beta_m) ** 2) == 0
    assert sp.simplify(inv.time_step - gamma / (1 - beta_m)) == 0
    # λ = h²/γ and h = λ(1−β_m): the two relations of docs/theory/regression.md §5.1
    assert sp.simplify(inv.time_step**2 / gamma - inv.lam) == 0
    assert sp.simplify(inv.lam * (1 - beta_m) - inv.time_step) == 0
    grad = sp.Function("nabla_F")(w(t))
    expected = lam * sp.diff(w(t), t, 2) + sp.diff(w(t), t) + grad
    assert isinstance(inv.ode, sp.Equality)
    assert sp.simplify(inv.ode.lhs - expected) == 0 and inv.ode.rhs == 0


def test_correction_terms_against_independent_exponential_expansion():
    """For w(t) = e^{μt}, the rescaled heavy-ball residual is explicit; compare numerically."""
    inv, gamma, beta_m, lam, t, w = _syms()
    mu, lam_v = -0.7, 0.8
    rem1, rem2 = [], []
    for eps in (2e-2, 1e-2, 5e-3):
        h = lam_v * eps
        # (w(t+h) − w(t) − (1−ε)(w(t) − w(t−h)))/γ at t = 0, γ = λε² (the G term cancels)
        exact = (np.exp(mu * h) - 1 - (1 - eps) * (1 - np.exp(-mu * h))) / (lam_v * eps**2)
        subs = {lam: lam_v, beta_m: 1 - eps}
        derivs = {sp.diff(w(t), t, j): mu**j for j in (4, 3, 2, 1)}
        lead = lam_v * mu**2 + mu
        first = float(inv.correction.subs(derivs).subs(subs))
        second = float(inv.second_order.subs(derivs).subs(subs))
        assert abs(first - (-eps * lam_v * mu**2 / 2)) < 1e-15
        rem1.append(abs(exact - (lead + first)))
        rem2.append(abs(exact - (lead + first + second)))
    # what is left after the ε term is O(ε²), after the ε² term O(ε³): fitted orders
    order1 = np.polyfit(np.log([2e-2, 1e-2, 5e-3]), np.log(rem1), 1)[0]
    order2 = np.polyfit(np.log([2e-2, 1e-2, 5e-3]), np.log(rem2), 1)[0]
    assert 1.9 < order1 < 2.1
    assert 2.9 < order2 < 3.1


def test_modified_lambda_and_initial_velocity():
    inv, gamma, beta_m, lam, t, w = _syms()
    assert sp.simplify(inv.modified_lambda - inv.lam * (1 + beta_m) / 2) == 0
    # β_m = 0 (plain GD): λ_eff = γ/2, the GD gain factor of docs/theory/regression.md §3 (twice
    # smaller than λ = γ)
    assert sp.simplify(inv.modified_lambda.subs(beta_m, 0) - gamma / 2) == 0
    g0 = sp.Function("nabla_F")(sp.Symbol("w_0"))
    assert sp.simplify(inv.initial_velocity + (1 - beta_m) * g0 / 2) == 0
    assert sp.simplify(inv.path_error_order - (1 - beta_m)) == 0


def test_derive_momentum_results_and_renderings():
    d = derive_momentum()
    assert list(d.results)[:3] == ["lambda", "time_step", "ode"]
    payload = json.loads(d.to_json())
    gamma, beta_m = sp.symbols("gamma beta_m")
    names = {"gamma": gamma, "beta_m": beta_m}  # "gamma" would otherwise parse as Γ
    lam = sp.sympify(payload["lambda"], locals=names)
    assert sp.simplify(lam - gamma / (1 - beta_m) ** 2) == 0
    step = sp.sympify(payload["time_step"], locals=names)
    assert sp.simplify(step - gamma / (1 - beta_m)) == 0
    assert "Derivative" in payload["ode"] and "lambda" in payload["ode"]
    text = d.to_text()
    assert "time step" in text and "momentum gradient flow" in text
    assert "\\frac" in d.to_latex()
    assert len(d.steps) >= 8


def test_mgf_log_coordinates_identities():
    d = mgf_log_coordinates()
    t = sp.Symbol("t", real=True)
    lam = sp.Symbol("lambda", positive=True)
    rho, g = sp.Function("rho")(t), sp.Function("g")(t)
    expected = lam * (sp.diff(rho, t, 2) + sp.diff(rho, t) ** 2) + sp.diff(rho, t) + g
    assert sp.simplify(d.results["log_form"] - expected) == 0
    # the last step states reference − (α₊² − α₋²)/2 = 0
    assert d.steps[-1][1] == 0
    a, i_s, i_d = sp.symbols("alpha I_s I_d", positive=True)
    assert sp.simplify(d.results["alpha_inf_sq"] - a**2 * sp.exp(-lam * (i_s + i_d))) == 0
