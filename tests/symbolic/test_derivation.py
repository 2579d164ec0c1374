"""Tests of :func:`dln_verify.symbolic.potentials.derive_potential` (issue 2).

The expected closed forms are typed here from the theory pages
(docs/theory/regression.md §0, §0.3, §1.1, and docs/theory/regression.md §1.2), independently of the
code under test, and compared with SymPy or mpmath.
"""

from __future__ import annotations

import json
import time

import mpmath as mp
import pytest
import sympy as sp

from dln_verify.symbolic import potentials as P
from dln_verify.symbolic.derivation import Derivation
from dln_verify.symbolic.potentials import IdentityCheckError, derive_potential

beta = sp.Symbol("beta", real=True)
theta = sp.Symbol("theta", real=True)
s = sp.Symbol("s", real=True)
alpha = sp.Symbol("alpha", positive=True)
alpha_W = sp.Symbol("alpha_W", positive=True)


def _zero(expr) -> bool:
    return sp.simplify(expr) == 0


# --- closed forms from the docs (typed independently) --------------------------------------

SHEET_PSI = (beta * sp.asinh(beta / alpha**2) - sp.sqrt(beta**2 + alpha**4) + alpha**2) / 2
SHEET_GRAD = sp.asinh(beta / alpha**2) / 2
SHEET_HESS = 1 / (2 * sp.sqrt(beta**2 + alpha**4))
SHEET_CONJ = alpha**2 * (sp.cosh(2 * theta) - 1) / 2


def _sheet_q(z):
    return 2 - sp.sqrt(4 + z**2) + z * sp.asinh(z / 2)


def test_uv_closed_forms_match_sheet():
    r = derive_potential("uv").results
    assert _zero(r["potential"] - SHEET_PSI)
    assert _zero(r["gradient"] - SHEET_GRAD)
    assert _zero(r["hessian"] - SHEET_HESS)
    assert _zero(r["conjugate"] - SHEET_CONJ)
    for name in ("conserved_u2_minus_v2", "zeta_dot", "beta_of_zeta", "psi_closed_form",
                 "hessian", "conjugate_closed_form", "conjugate_grad_inverts_grad",
                 "grad_inverts_conjugate_grad", "fenchel_young_equality", "q_taylor",
                 "q_growth", "woodworth_map"):
        assert name in r["identities_verified"], name


def test_uv_identities_independently():
    """ψ'' = 1/(2√(β²+α⁴)); Fenchel–Young equality; q Taylor series; q ~ |z| ln |z|."""
    assert _zero(sp.diff(SHEET_PSI, beta, 2) - SHEET_HESS)
    fy = SHEET_PSI + SHEET_CONJ.subs(theta, SHEET_GRAD) - beta * SHEET_GRAD
    assert _zero(fy)
    z = sp.Symbol("z", real=True)
    assert sp.series(_sheet_q(z), z, 0, 6).removeO() - (z**2 / 4 - z**4 / 192) == 0
    assert sp.limit(_sheet_q(z) / (z * sp.log(z)), z, sp.oo) == 1


def test_w2_alpha_map_and_factor():
    r = derive_potential("w2").results
    Q = alpha_W**2 * _sheet_q(beta / alpha_W**2)
    assert _zero(r["potential"] - Q)
    assert r["alpha_map"] == "alpha**2 = 2*alpha_W**2"
    # ψ_α with α² = 2α_W² is Q/2 (factor one half, argmin unchanged)
    assert _zero(SHEET_PSI.subs(alpha, sp.sqrt(2) * alpha_W) - Q / 2)
    # the wrong map α² = α_W² is NOT proportional to Q: the test can fail
    ratio = (SHEET_PSI.subs(alpha, alpha_W) / Q).subs({alpha_W: 1, beta: 3})
    ratio2 = (SHEET_PSI.subs(alpha, alpha_W) / Q).subs({alpha_W: 1, beta: sp.Rational(1, 3)})
    assert abs(float(ratio) - float(ratio2)) > 1e-3
    assert "alpha_map_factor_one_half" in r["identities_verified"]


def _bregman_mp(b, au, av):
    at2 = (mp.mpf(au) ** 2 - mp.mpf(av) ** 2) / 2
    b0 = mp.mpf(au) * mp.mpf(av)

    def psi(x):
        return (x * mp.asinh(x / at2) - mp.sqrt(x**2 + at2**2) + at2) / 2

    return psi(mp.mpf(b)) - psi(b0) - mp.asinh(b0 / at2) / 2 * (mp.mpf(b) - b0)


def test_unbalanced_is_bregman_divergence():
    r = derive_potential("unbalanced").results
    a_u, a_v = sp.Symbol("a_u", positive=True), sp.Symbol("a_v", real=True)
    pot = sp.lambdify((beta, a_u, a_v), r["potential"], "mpmath")
    grad = sp.lambdify((beta, a_u, a_v), r["gradient"], "mpmath")
    conj = sp.lambdify((theta, a_u, a_v), r["conjugate"], "mpmath")
    mp.mp.dps = 40
    for au, av, b in [(1.3, 0.4, 0.7), (2.0, -1.5, -3.0), (0.5, 0.1, 10.0)]:
        au, av, b = mp.mpf(au), mp.mpf(av), mp.mpf(b)
        ref = _bregman_mp(b, au, av)
        assert abs(pot(b, au, av) - ref) <= 1e-30 * max(1, abs(ref))
        # minimiser of the unconstrained divergence is β₀ = a_u a_v
        assert abs(grad(au * av, au, av)) < 1e-30
        assert abs(pot(au * av, au, av)) < 1e-30
        # conjugate: D*(θ) = sup_β θβ − D(β); check Fenchel–Young at β = b
        th = grad(b, au, av)
        assert abs(pot(b, au, av) + conj(th, au, av) - th * b) < 1e-28
    assert r["alpha_map"].startswith("alpha_tilde**2 = (a_u**2 - a_v**2)/2")


@pytest.mark.parametrize("depth", [3, 4])
def test_depth_h_and_H_match_sheet(depth):
    r = derive_potential("w2", depth).results
    c = depth - 2
    h_sheet = (1 - c * s) ** sp.Rational(-depth, c) - (1 + c * s) ** sp.Rational(-depth, c)
    H_sheet = ((1 - c * s) ** sp.Rational(-2, c) + (1 + c * s) ** sp.Rational(-2, c) - 2) / 2
    assert _zero(r["h_D"] - h_sheet)
    assert _zero(r["H_D"] - H_sheet)
    # H_D' = h_D exactly (factor 1), h_D odd, h_D' > 0
    assert _zero(sp.diff(H_sheet, s) - h_sheet)
    assert _zero(h_sheet.subs(s, -s) + h_sheet)
    assert r["H_D_prime_relation"] == "diff(H_D, s) = h_D (factor 1)"
    assert r["potential"] == "alpha**D * Sum q_D(beta/alpha**D), q_D = Integral(h_D^-1)"
    for name in ("H_prime_equals_h", "h_odd", "h_monotone", "w_plus_term", "w_minus_term",
                 "depth2_limit"):
        assert name in r["identities_verified"]


def test_depth_derivation_w_plus_closed_form():
    """w₊^{2−D} = α^{2−D} + D(D−2)G solves ẇ₊ = −D w₊^{D−1} g (checked here for D = 3)."""
    D, t = 3, sp.Symbol("t", real=True)
    G = sp.Function("G")(t)
    wp = (alpha ** (2 - D) + D * (D - 2) * G) ** sp.Rational(1, 2 - D)
    lhs = sp.diff(wp, t)
    rhs = -D * wp ** (D - 1) * sp.diff(G, t)
    assert _zero(lhs - rhs)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("param", ["xy", "", "UV", None, 3])
def test_bad_param(param):
    with pytest.raises(ValueError, match=r"param must be one of uv, w2, unbalanced"):
        derive_potential(param)


@pytest.mark.parametrize("depth", [1, 0, -3, 2.5, "3", True, None])
def test_bad_depth(depth):
    with pytest.raises(ValueError, match=r"depth must be an integer >= 2"):
        derive_potential("uv", depth)


@pytest.mark.parametrize("depth", [3, 4])
def test_uv_is_depth_two_only(depth):
    """β = u⊙v has no depth-D form: asking for it at depth D is refused, not answered with the
    w₊^D − w₋^D derivation."""
    with pytest.raises(ValueError, match=r"param='uv'.*depth 2 only.*param='w2'"):
        derive_potential("uv", depth)


def test_unbalanced_only_depth_two():
    with pytest.raises(ValueError, match=r"unbalanced.*depth = 2"):
        derive_potential("unbalanced", 3)


def test_failed_identity_raises():
    with pytest.raises(IdentityCheckError, match="bogus"):
        P._verify("bogus", beta, beta + 1, [])


def test_wrong_conjugate_constant_is_caught(monkeypatch):
    """A conjugate with the wrong factor (no ½) must make the derivation raise."""
    monkeypatch.setattr(P, "hyperbolic_entropy_conjugate",
                        lambda th, a: a**2 * (sp.cosh(2 * th) - 1))
    with pytest.raises(IdentityCheckError):
        P._derive_uv()


# --- rendering and caching --------------------------------------------------------------------


@pytest.mark.parametrize("param,depth", [("uv", 2), ("w2", 2), ("unbalanced", 2), ("w2", 3)])
def test_text_latex_json(param, depth):
    d = derive_potential(param, depth)
    assert isinstance(d, Derivation)
    text = d.to_text()
    assert text.startswith(d.title) and "Results:" in text
    latex = d.to_latex()
    assert latex.count("\\[") >= len(d.steps)
    data = json.loads(d.to_json())
    assert set(data) == set(d.results)
    expr_keys = ["potential", "gradient", "hessian", "conjugate"] if depth == 2 else \
        ["h_D", "H_D", "conjugate"]
    locs = {n: sp.Symbol(n, real=True) for n in ("beta", "theta", "s", "a_v")}
    locs.update({n: sp.Symbol(n, positive=True) for n in ("alpha", "alpha_W", "a_u")})
    for key in expr_keys:
        back = sp.sympify(data[key], locals=locs)
        assert _zero(back - d.results[key]), key
    assert isinstance(data["identities_verified"], list) and data["identities_verified"]


def test_cached_and_copy():
    derive_potential("w2")
    t0 = time.perf_counter()
    d1 = derive_potential("w2")
    assert time.perf_counter() - t0 < 0.05
    d1.results["identities_verified"].append("tampered")
    d1.results["potential"] = 0
    d2 = derive_potential("w2")
    assert "tampered" not in d2.results["identities_verified"]
    assert d2.results["potential"] != 0
