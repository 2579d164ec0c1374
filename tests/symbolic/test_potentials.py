"""Numeric callables of :mod:`dln_verify.symbolic.potentials` against high-precision mpmath (issue
2).

References are computed in mpmath from the formulas (docs/theory/regression.md §0, §1.2) at
high precision, in forms free of cancellation, so that the float64 callables can be held to a
relative error of 1e-12 at α ∈ {1e-30, 1e-8, 1, 10}.  Values whose exact magnitude is below
1e-300 (they underflow in float64) are skipped.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from dln_verify.symbolic.potentials import (
    hyperbolic_entropy,
    hyperbolic_entropy_conjugate,
    potential_functions,
    woodworth_q,
)

ALPHAS = [1e-30, 1e-8, 1.0, 10.0]
RTOL = 1e-12
TINY = mp.mpf("1e-300")


def _rel(got, ref) -> float:
    ref = mp.mpf(ref)
    got = mp.mpf(float(got))
    if abs(ref) < TINY:
        return 0.0
    return float(abs(got - ref) / abs(ref))


def _betas(alpha: float) -> list[float]:
    a2 = alpha * alpha
    base = [1e-250, 1e-70, 1e-62, 1e-12, 1e-3, 0.7, 1.0, 3.0, 1e5, 1e200]
    base += [a2 * k for k in (1e-9, 1e-3, 0.5, 1.0, 2.0, 1e3, 1e9)]
    return base + [-b for b in base]


# --- depth 2 -----------------------------------------------------------------------------


def _psi_mp(b, a):
    # ½[β asinh(β/α²) − β²/(√(β²+α⁴) + α²)]  (= ψ of docs/theory/conventions.md §3.1, without
    # cancellation)
    return (b * mp.asinh(b / a**2) - b**2 / (mp.sqrt(b**2 + a**4) + a**2)) / 2


@pytest.mark.parametrize("alpha", ALPHAS)
def test_depth2_against_mpmath(alpha):
    f = potential_functions(2)
    mp.mp.dps = 40
    A = mp.mpf(alpha)
    betas = _betas(alpha)
    got = {k: getattr(f, k)(np.array(betas), alpha) for k in ("psi", "grad", "hess")}
    for i, b in enumerate(betas):
        B = mp.mpf(b)
        ref = {"psi": _psi_mp(B, A), "grad": mp.asinh(B / A**2) / 2,
               "hess": 1 / (2 * mp.sqrt(B**2 + A**4))}
        for k, v in ref.items():
            assert _rel(got[k][i], v) <= RTOL, (k, alpha, b)
    thetas = [1e-300, 1e-10, 1e-3, 0.1, 1.0, 5.0, 30.0, 60.0, 150.0, 300.0]
    thetas += [-t for t in thetas]
    cj = f.conjugate(np.array(thetas), alpha)
    cg = f.conjugate_grad(np.array(thetas), alpha)
    for i, t in enumerate(thetas):
        T = mp.mpf(t)
        assert _rel(cj[i], A**2 * mp.sinh(T) ** 2) <= RTOL, ("conjugate", alpha, t)
        assert _rel(cg[i], A**2 * mp.sinh(2 * T)) <= RTOL, ("conjugate_grad", alpha, t)
    assert f.psi(0.0, alpha) == 0.0 and f.grad(0.0, alpha) == 0.0
    assert f.conjugate(0.0, alpha) == 0.0


def test_depth2_matches_sympy_builders():
    """The numpy callables agree with the SymPy expression builders (evaluated by mpmath)."""
    f = potential_functions(2)
    b, a, t = sp.symbols("beta alpha theta")
    psi = sp.lambdify((b, a), hyperbolic_entropy(b, a), "mpmath")
    conj = sp.lambdify((t, a), hyperbolic_entropy_conjugate(t, a), "mpmath")
    mp.mp.dps = 50
    for bb, aa in [(0.3, 0.5), (-2.0, 1.0), (40.0, 3.0)]:
        assert _rel(f.psi(bb, aa), psi(mp.mpf(bb), mp.mpf(aa))) <= RTOL
        assert _rel(f.conjugate(bb / 7, aa), conj(mp.mpf(bb) / 7, mp.mpf(aa))) <= 1e-14 + RTOL


def test_depth2_duality_grid():
    """ψ*'(ψ'(β)) = β, ψ'(ψ*'(θ)) = θ and the Fenchel–Young equality, for α down to 1e-30."""
    f = potential_functions(2)
    for alpha in ALPHAS:
        beta = np.array([b for b in _betas(alpha) if 1e-290 < abs(b) < 1e290])
        th = f.grad(beta, alpha)
        np.testing.assert_allclose(f.conjugate_grad(th, alpha), beta, rtol=1e-12, atol=0)
        np.testing.assert_allclose(f.grad(f.conjugate_grad(th, alpha), alpha), th, rtol=1e-13)
        lhs = f.psi(beta, alpha) + f.conjugate(th, alpha)
        np.testing.assert_allclose(lhs, beta * th, rtol=1e-12)


@given(
    log_b=st.floats(-60.0, 60.0),
    sign=st.sampled_from([-1.0, 1.0]),
    log_a=st.floats(-30.0, 1.0),
)
def test_depth2_duality_property(log_b, sign, log_a):
    f = potential_functions(2)
    beta, alpha = sign * 10.0**log_b, 10.0**log_a
    th = f.grad(beta, alpha)
    assert abs(f.conjugate_grad(th, alpha) - beta) <= 1e-12 * abs(beta)
    assert f.hess(beta, alpha) > 0
    # ψ'' is the derivative of ψ' (central difference in log-β, relative)
    h = 1e-5 * abs(beta)
    fd = (f.grad(beta + h, alpha) - f.grad(beta - h, alpha)) / (2 * h)
    assert abs(fd - f.hess(beta, alpha)) <= 1e-6 * f.hess(beta, alpha)


def test_depth2_limit_family_is_woodworth():
    """h₂ = 2 sinh 2s, H₂ = cosh 2s − 1, q₂ = q/2 (Woodworth's q), consistent with ψ."""
    f = potential_functions(2)
    z = sp.Symbol("z")
    q = sp.lambdify(z, woodworth_q(z), "mpmath")
    mp.mp.dps = 40
    for zz in [1e-3, 0.5, 4.0, 1e6]:
        assert _rel(f.q(zz), q(mp.mpf(zz)) / 2) <= RTOL
        np.testing.assert_allclose(f.h(f.h_inverse(zz)), zz, rtol=1e-14)
    # α_W² q₂(β/α_W²) = ψ_{√2 α_W}(β)   (α² = 2α_W², docs/theory/regression.md §0.3)
    aw, b = 0.3, 1.7
    np.testing.assert_allclose(aw**2 * f.q(b / aw**2), f.psi(b, np.sqrt(2) * aw), rtol=1e-14)
    np.testing.assert_allclose(f.H(0.4), np.cosh(0.8) - 1, rtol=1e-14)


# --- depth D ≥ 3 ----------------------------------------------------------------------------


def _mp_h(S, D):
    c, p = D - 2, mp.mpf(D) / (D - 2)
    return (1 - c * S) ** (-p) - (1 + c * S) ** (-p)


def _mp_H(S, D):
    c = D - 2
    return ((1 - c * S) ** (-mp.mpf(2) / c) + (1 + c * S) ** (-mp.mpf(2) / c) - 2) / 2


def _bisect(f, a, b):
    """Root of f on [a, b] (sign change) by 240 bisections: 2^-240 of the bracket width."""
    fa = f(a)
    for _ in range(240):
        m = (a + b) / 2
        fm = f(m)
        if (fm < 0) == (fa < 0):
            a, fa = m, fm
        else:
            b = m
    return (a + b) / 2


def _mp_hinv_t(Z, D):
    """Root of h_D(s) = Z by mpmath; returns (s, t = 1 − c|s|).

    Small |Z|: solve log h = log Z in x = c s with the cancellation-free form
    h = 2(1 − x²)^{−p/2} sinh(p atanh x).  Large |Z|: solve in u = log t, with
    h = t^{−p} − (2 − t)^{−p}, so that t is resolved even when it is far below 1e-16.
    """
    c, p = D - 2, mp.mpf(D) / (D - 2)
    if Z == 0:
        return mp.mpf(0), mp.mpf(1)
    sg, Z = (1, Z) if Z > 0 else (-1, -Z)
    lz = mp.log(Z)
    if Z < 1:
        def f(x):
            return mp.log(2 * (1 - x**2) ** (-p / 2) * mp.sinh(p * mp.atanh(x))) - lz

        x0 = Z / (2 * p)  # h(x) ≥ 2p x ⇒ x ≤ x0; and h(x) ≤ 10·2p x on x < ½ ⇒ x ≥ x0/10
        x = _bisect(f, x0 / 10, x0)
        return sg * x / c, 1 - x

    def g(u):
        t = mp.exp(u)
        return -p * u + mp.log(1 - (t / (2 - t)) ** p) - lz

    # t^{−p} − 1 ≤ h ≤ t^{−p}  ⇒  u ∈ [−log(Z+1)/p, −log(Z)/p]
    t = mp.exp(_bisect(g, -lz / p, -mp.log(Z + 1) / p))
    return sg * (1 - t) / c, t


@pytest.mark.parametrize("D", [3, 4])
def test_depth_h_H_against_mpmath(D):
    f = potential_functions(D)
    c = D - 2
    mp.mp.dps = 320
    ss = [1e-200, 1e-12, 1e-4, 0.1 / c, 0.3 / c, 0.5 / c, 0.9 / c, 0.999999 / c]
    ss += [-x for x in ss]
    hv, Hv = f.h(np.array(ss)), f.H(np.array(ss))
    for i, x in enumerate(ss):
        S = mp.mpf(x)
        assert _rel(hv[i], _mp_h(S, D)) <= RTOL, ("h", x)
        assert _rel(Hv[i], _mp_H(S, D)) <= RTOL, ("H", x)
        # H_D' = h_D (exact relation of docs/theory/conventions.md §3.3, factor 1), checked by
        # # mpmath numerical differentiation at 30 digits (its own error ~1e-16 relative, from
        # cancellation in H)
        if abs(x) > 1e-10:
            mp.mp.dps = 30
            assert _rel(mp.diff(lambda y: _mp_H(y, D), mp.mpf(x)), _mp_h(mp.mpf(x), D)) < 1e-14
            mp.mp.dps = 320


@pytest.mark.parametrize("D", [3, 4])
def test_depth_h_odd_monotone(D):
    f = potential_functions(D)
    c = D - 2
    s = np.linspace(-1 / c, 1 / c, 2001)[1:-1]
    h = f.h(s)
    np.testing.assert_array_equal(f.h(-s), -h)
    assert np.all(np.diff(h) > 0)
    np.testing.assert_allclose(f.h_inverse(h), s, rtol=1e-13, atol=1e-16)
    assert np.all(f.H(s) >= 0) and f.H(0.0) == 0.0


@pytest.mark.parametrize("D", [3, 4, 5])
def test_depth_inverse_and_q_against_quadrature(D):
    f = potential_functions(D)
    mp.mp.dps = 40
    zs = [1e-200, 1e-10, 1e-3, 0.5, 3.0, 100.0, 1e8, 1e40, -7.0]
    hinv, qv = f.h_inverse(np.array(zs)), f.q(np.array(zs))
    for i, z in enumerate(zs):
        Z = mp.mpf(z)
        S, _ = _mp_hinv_t(Z, D)
        assert _rel(hinv[i], S) <= RTOL, ("h_inverse", z)
        # q_D(z) = ∫₀^z h_D⁻¹ = ∫₀^s t h_D'(t) dt (substitution y = h_D(t)), by quadrature
        if abs(Z) > mp.mpf("1e-150"):
            aS = abs(S)
            qref = mp.quad(lambda t: t * mp.diff(lambda y: _mp_h(y, D), t), [0, aS / 2, aS])
            assert _rel(qv[i], qref) <= 1e-11, ("q", z)


@pytest.mark.parametrize("D", [3, 4])
@pytest.mark.parametrize("alpha", ALPHAS)
def test_depth_potential_extreme_alpha(D, alpha):
    f = potential_functions(D)
    c, p = D - 2, mp.mpf(D) / (D - 2)
    mp.mp.dps = 60
    A = mp.mpf(alpha)
    betas = [1e-100, 1e-60, 1e-20, 1e-3, 1.0, 1e6, -0.5]
    got = {k: getattr(f, k)(np.array(betas), alpha) for k in ("psi", "grad", "hess")}
    for i, b in enumerate(betas):
        Z = mp.mpf(b) / A**D
        S, t = _mp_hinv_t(Z, D)
        if t < 0.5:
            H_ref = (t ** (-mp.mpf(2) / c) + (2 - t) ** (-mp.mpf(2) / c)) / 2 - 1
        else:  # e^m cosh k − 1 with m = −log(1−x²)/c, k = 2 atanh(x)/c: no cancellation
            x = c * abs(S)
            m, k = -mp.log1p(-x * x) / c, 2 * mp.atanh(x) / c
            H_ref = mp.expm1(m) * mp.cosh(k) + 2 * mp.sinh(k / 2) ** 2
        psi_ref = A**D * (abs(Z) * abs(S) - H_ref)
        hp = D * (t ** (-p - 1) + (2 - t) ** (-p - 1))
        assert _rel(got["psi"][i], psi_ref) <= RTOL, ("psi", alpha, b)
        assert _rel(got["grad"][i], S) <= RTOL, ("grad", alpha, b)
        assert _rel(got["hess"][i], 1 / (A**D * hp)) <= RTOL, ("hess", alpha, b)
    th = np.array([1e-5, 0.3 / c, -0.99 / c])
    cj, cg = f.conjugate(th, alpha), f.conjugate_grad(th, alpha)
    for i, t in enumerate(th):
        T = mp.mpf(t)
        assert _rel(cj[i], A**D * _mp_H(T, D)) <= RTOL
        assert _rel(cg[i], A**D * _mp_h(T, D)) <= RTOL


@pytest.mark.parametrize("D", [3, 5])
def test_depth_duality(D):
    f = potential_functions(D)
    for alpha in ALPHAS:
        beta = np.array([1e-40, 1e-9, 0.2, -3.0, 1e4])
        # the float64 round trip β → s → β has condition number ~ p·z^{1/p} (t = 1 − cs ≈
        # z^{−1/p} is carried only to 1e-16 absolute by s): keep z^{1/p} < 1e3
        beta = beta[(np.abs(beta) / alpha**D) ** ((D - 2) / D) < 1e3]
        th = f.grad(beta, alpha)
        np.testing.assert_allclose(f.conjugate_grad(th, alpha), beta, rtol=1e-11)
        lhs = f.psi(beta, alpha) + f.conjugate(th, alpha)
        np.testing.assert_allclose(lhs, beta * th, rtol=1e-12)
    assert f.conjugate(1.0 / (D - 2), 1.0) == np.inf


# --- input validation -------------------------------------------------------------------------


def test_bad_inputs():
    f2, f3 = potential_functions(2), potential_functions(3)
    with pytest.raises(ValueError, match="alpha"):
        f2.psi(1.0, 0.0)
    with pytest.raises(ValueError, match="alpha"):
        f3.grad(1.0, -1.0)
    with pytest.raises(ValueError, match="beta"):
        f2.grad(np.nan, 1.0)
    with pytest.raises(ValueError, match="theta"):
        f2.conjugate(np.inf, 1.0)
    with pytest.raises(ValueError, match=r"\|s\| < 1/\(D-2\)"):
        f3.h(1.0)
    with pytest.raises(ValueError, match="theta"):
        f3.conjugate_grad(-2.0, 1.0)
    with pytest.raises(ValueError, match="depth must be an integer >= 2"):
        potential_functions(1)
    with pytest.raises(ValueError, match="depth"):
        potential_functions(2.0)
    assert potential_functions(3) is f3  # cached
