"""The SymPy-derived optimality certificate (numeric.convex.symbolic_certificate).

Tolerance: ``SymbolicOptimality.optimality_tolerance`` is derived per call from float64 accuracy
of the lambdified gradient (module docstring of symbolic_certificate: per-coordinate error bounds
times SAFETY_FACTOR = 10); these tests check that solver answers meet it, that it stays
informative (≤ 1e-8) at the α used, and that a wrong SymPy derivation misses it by orders of
magnitude.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import sympy as sp

import dln_verify.symbolic.potentials as potentials
from dln_verify.numeric.convex import implicit_bias_solution, symbolic_certificate
from dln_verify.numeric.convex.certificate import Certificate
from dln_verify.numeric.convex.symbolic_certificate import (
    symbolic_gradient,
    symbolic_optimality_residual,
)
from dln_verify.numeric.instances import gaussian_regression as _data
from dln_verify.symbolic.derivation import Derivation

CASES = [(2, 1e-3), (2, 0.1), (2, 1.0), (2, 10.0), (3, 1e-3), (3, 0.1), (3, 0.5), (3, 1.0),
         (3, 10.0)]


@pytest.mark.parametrize(("depth", "alpha"), CASES)
def test_solver_answers_meet_the_derived_tolerance(depth, alpha):
    X, y = _data(20, 50, 0)
    sol = implicit_bias_solution(X, y, alpha, depth=depth)
    assert sol.certificate.accepted
    rec = symbolic_optimality_residual(X, y, sol.beta, alpha, depth=depth)
    assert rec.accepted, rec
    assert rec.optimality_residual <= rec.optimality_tolerance
    assert rec.optimality_tolerance <= 1e-8  # informative at these α
    assert rec.certificate().accepted


def test_vector_alpha_and_reference():
    X, y = _data(20, 50, 1)
    rng = np.random.default_rng(7)
    alpha = rng.uniform(1e-3, 10.0, 50)
    ref = 0.1 * rng.standard_normal(50)
    sol = implicit_bias_solution(X, y, alpha, reference=ref)
    rec = symbolic_optimality_residual(X, y, sol.beta, alpha, reference=ref)
    assert rec.accepted, rec
    # the same β without its reference is not the Bregman projection from 0
    wrong = symbolic_optimality_residual(X, y, sol.beta, alpha)
    assert wrong.optimality_residual > 1e3 * wrong.optimality_tolerance


def test_depth3_vector_alpha():
    X, y = _data(20, 50, 2)
    alpha = np.random.default_rng(8).uniform(0.05, 1.0, 50)
    sol = implicit_bias_solution(X, y, alpha, depth=3)
    assert symbolic_optimality_residual(X, y, sol.beta, alpha, depth=3).accepted


@pytest.mark.parametrize("depth", [2, 3])
def test_perturbation_in_null_space_is_rejected(depth):
    X, y = _data(20, 50, 3)
    sol = implicit_bias_solution(X, y, 0.5, depth=depth)
    P = np.eye(50) - np.linalg.pinv(X) @ X
    bad = sol.beta + P @ (1e-6 * np.random.default_rng(0).standard_normal(50))
    rec = symbolic_optimality_residual(X, y, bad, 0.5, depth=depth)
    assert rec.primal_residual <= 1e-12
    assert not rec.accepted
    assert rec.optimality_residual > 1e3 * rec.optimality_tolerance


def _swap_result(monkeypatch, depth, key, expr):
    """Replace one result of the SymPy derivation (what a wrong derivation would produce)."""
    real = potentials.derive_potential

    def wrong(param="uv", depth_=2):
        d = real(param, depth_)
        if depth_ != depth:
            return d
        return Derivation(d.title, d.steps, {**d.results, key: expr})

    monkeypatch.setattr(potentials, "derive_potential", wrong)


@pytest.mark.parametrize("alpha", [1e-3, 0.1, 3.0])  # not α = 1, where α = α²
def test_wrong_depth2_gradient_is_caught(monkeypatch, alpha):
    """asinh(β/α) instead of asinh(β/α²): the residual jumps far above tolerance."""
    X, y = _data(20, 50, 4)
    sol = implicit_bias_solution(X, y, alpha)
    good = symbolic_optimality_residual(X, y, sol.beta, alpha)
    assert good.accepted
    b, a = sp.Symbol("beta", real=True), sp.Symbol("alpha", positive=True)
    _swap_result(monkeypatch, 2, "gradient", sp.asinh(b / a) / 2)
    assert str(symbolic_gradient(2)[0]) == "asinh(beta/alpha)/2"
    bad = symbolic_optimality_residual(X, y, sol.beta, alpha)
    assert not bad.accepted
    assert bad.optimality_residual > 1e4 * bad.optimality_tolerance
    assert not bad.certificate().accepted


@pytest.mark.parametrize("alpha", [0.1, 0.5])
def test_wrong_depth3_exponent_is_caught(monkeypatch, alpha):
    """h_3 with exponent −2 instead of −D/(D−2) = −3."""
    X, y = _data(20, 50, 5)
    sol = implicit_bias_solution(X, y, alpha, depth=3)
    assert symbolic_optimality_residual(X, y, sol.beta, alpha, depth=3).accepted
    s = sp.Symbol("s", real=True)
    _swap_result(monkeypatch, 3, "h_D", (1 - s) ** -2 - (1 + s) ** -2)
    bad = symbolic_optimality_residual(X, y, sol.beta, alpha, depth=3)
    assert not bad.accepted
    assert bad.optimality_residual > 1e4 * bad.optimality_tolerance


def test_failed_identity_check_is_not_accepted(monkeypatch):
    X, y = _data(10, 30, 6)
    sol = implicit_bias_solution(X, y, 0.3)

    def broken(param="uv", depth=2):
        raise potentials.IdentityCheckError("identity 'gradient' failed")

    monkeypatch.setattr(potentials, "derive_potential", broken)
    rec = symbolic_optimality_residual(X, y, sol.beta, 0.3)
    assert not rec.accepted and rec.optimality_residual == np.inf


def test_scale_safe_primal_residual():
    """y·1e-160: the residual is computed in rescaled units, not underflowed to 0."""
    X, y = _data(10, 30, 1)
    sol = implicit_bias_solution(X, y, 0.5)
    rec = symbolic_optimality_residual(X, y * 1e-160, sol.beta * 1e-160, 0.5 * 1e-80)
    assert rec.accepted, rec
    off = symbolic_optimality_residual(X, y * 1e-160, sol.beta * 1e-160 * (1 + 1e-6),
                                       0.5 * 1e-80)
    assert off.primal_residual == pytest.approx(1e-6, rel=1e-3)


def test_combines_with_the_solver_certificate():
    X, y = _data(10, 30, 2)
    sol = implicit_bias_solution(X, y, 0.3)
    rec = symbolic_optimality_residual(X, y, sol.beta, 0.3)
    both = Certificate.combine([sol.certificate, rec.certificate()])
    assert both.accepted and both.n_solves == 2


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"alpha": -1.0}, "alpha"), ({"alpha": 1e-200}, "alpha"), ({"depth": 1}, "depth"),
     ({"depth": 2.5}, "depth"), ({"beta": np.zeros(5)}, "beta"),
     ({"reference": np.zeros(3)}, "reference"), ({"primal_tolerance": 0.0}, "primal_tolerance"),
     ({"beta": np.full(30, np.nan)}, "beta")],
)
def test_bad_input_names_the_parameter(kwargs, name):
    X, y = _data(10, 30, 0)
    args = {"beta": np.zeros(30), "alpha": 0.5, **kwargs}
    beta, alpha = args.pop("beta"), args.pop("alpha")
    with pytest.raises(ValueError, match=name):
        symbolic_optimality_residual(X, y, beta, alpha, **args)


# --- the basis of range(Xᵀ) on large designs (CholeskyQR2, guarded) --------------------------

def _projector_error(Q, X):
    """max |Q Qᵀ − P| against the projector of a fresh Householder QR of Xᵀ (numpy's)."""
    Q0 = np.linalg.qr(X.T)[0]
    return float(np.max(np.abs(Q @ Q.T - Q0 @ Q0.T)))


def test_cholesky_qr2_basis_is_orthonormal_and_spans_the_row_space(monkeypatch):
    monkeypatch.setattr(symbolic_certificate, "CHOLESKY_QR_MIN_ENTRIES", 1)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((7, 60)) * 2.0**-40
    Q = symbolic_certificate._range_basis(X)
    assert Q.shape == (60, 7)
    assert np.max(np.abs(Q.T @ Q - np.eye(7))) <= 60 * 2.0**-53
    assert _projector_error(Q, X) <= 1e-14
    # not the Householder factor itself: the large path was taken (Q differs by column signs
    # and rounding, the projector does not)
    assert not np.array_equal(Q, np.linalg.qr(np.ldexp(X, 40).T)[0])


def test_cholesky_qr2_falls_back_to_householder_on_an_ill_conditioned_design(monkeypatch):
    monkeypatch.setattr(symbolic_certificate, "CHOLESKY_QR_MIN_ENTRIES", 1)
    rng = np.random.default_rng(4)
    U, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    V, _ = np.linalg.qr(rng.standard_normal((40, 5)))
    X = U @ np.diag([1.0, 1e-2, 1e-4, 1e-6, 1e-8]) @ V.T  # κ = 1e8 > the guard's 1e6
    A = np.ldexp(X, -symbolic_certificate.power_of_two_scale(X))
    assert symbolic_certificate._cholesky_qr2(A.copy()) is None
    Q = symbolic_certificate._range_basis(X)
    expected = scipy.linalg.qr(A.T, mode="economic")[0]
    assert np.array_equal(Q, expected)


def test_large_design_certificate_accepts_the_solution_and_rejects_a_null_space_step():
    X, y = _data(4, 2**18, 5)  # 2^20 entries: the CholeskyQR2 path
    assert X.size >= symbolic_certificate.CHOLESKY_QR_MIN_ENTRIES
    sol = implicit_bias_solution(X, y, 0.1)
    rec = symbolic_optimality_residual(X, y, sol.beta, 0.1)
    assert rec.accepted, rec
    Q = symbolic_certificate._range_basis(X)
    z = np.random.default_rng(6).standard_normal(X.shape[1])
    null_step = z - Q @ (Q.T @ z)
    moved = sol.beta + 1e-4 * np.abs(sol.beta).max() * null_step / np.abs(null_step).max()
    wrong = symbolic_optimality_residual(X, y, moved, 0.1)
    assert not wrong.accepted
    assert wrong.optimality_residual > 1e3 * wrong.optimality_tolerance


def test_rescaled_product_of_a_large_design_matches_the_rescaled_copy():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((300, 2**14)) * 2.0**600  # ~5e6 entries: the blocked path
    w = rng.standard_normal(2**14)
    k = symbolic_certificate.power_of_two_scale(X)
    blocked = symbolic_certificate._rescaled_product(X, k, w)
    assert X.size >= symbolic_certificate.CHOLESKY_QR_MIN_ENTRIES
    assert blocked.shape == (300,)
    whole = np.ldexp(X, -k) @ w
    # the rescaling of w is exact here: the same products, the same floats
    assert np.array_equal(blocked, whole)
    # w whose rescaling by 2^-k would underflow: the row blocks, same numbers
    w_tiny = w.copy()
    w_tiny[0] = 2.0**-1070
    assert not np.array_equal(np.ldexp(np.ldexp(w_tiny, -k), k), w_tiny)
    tiny = symbolic_certificate._rescaled_product(X, k, w_tiny)
    assert np.allclose(tiny, np.ldexp(X, -k) @ w_tiny, rtol=1e-13,
                       atol=1e-13 * np.abs(whole).max())
