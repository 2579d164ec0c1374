"""The SymPy derivations are part of the evidence: a wrong derivation makes the claims fail.

Each test swaps one derived expression for a plausible mistake and runs the real claim check;
the fast solvers and simulators are untouched, so only the SymPy side can make it fail.
"""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from dln_verify.symbolic import momentum, potentials
from dln_verify.symbolic.derivation import Derivation
from dln_verify.verify import registry


def _swap_potential_result(monkeypatch, depth, key, expr):
    real = potentials.derive_potential

    def wrong(param="uv", depth_=2):
        derivation = real(param, depth_)
        if depth_ != depth:
            return derivation
        return Derivation(derivation.title, derivation.steps, {**derivation.results, key: expr})

    monkeypatch.setattr(potentials, "derive_potential", wrong)


def test_true_derivations_pass():
    for claim_id in ("gf-hypentropy", "gf-depth", "momentum-invariant"):
        assert registry.get(claim_id).check(seed=0).passed, claim_id


def test_wrong_hyperbolic_entropy_gradient_fails_gf_hypentropy(monkeypatch):
    """asinh(β/α) instead of asinh(β/α²) in the SymPy gradient of ψ_α."""
    b, a = sp.Symbol("beta", real=True), sp.Symbol("alpha", positive=True)
    _swap_potential_result(monkeypatch, 2, "gradient", sp.asinh(b / a) / 2)
    ev = registry.get("gf-hypentropy").check(seed=0)
    assert ev.status == "fail" and ev.metric == "symbolic_optimality_ratio"
    assert ev.metrics["symbolic_optimality_ratio"] > 1e3


def test_wrong_depth_exponent_fails_gf_depth(monkeypatch):
    """h_3 with exponent −2 instead of −D/(D−2) = −3."""
    s = sp.Symbol("s", real=True)
    _swap_potential_result(monkeypatch, 3, "h_D", (1 - s) ** -2 - (1 + s) ** -2)
    ev = registry.get("gf-depth").check(seed=0)
    assert ev.status == "fail" and ev.metric == "symbolic_optimality_ratio"


def test_wrong_momentum_invariant_fails_momentum_invariant(monkeypatch):
    """λ = γ/(1 − β_m) (the time step) in place of γ/(1 − β_m)²: the runs are paired wrongly."""
    real = momentum.momentum_invariant()
    gamma, beta_m = real.symbols["gamma"], real.symbols["beta_m"]
    wrong = dataclasses.replace(real, lam=gamma / (1 - beta_m))
    monkeypatch.setattr(momentum, "momentum_invariant", lambda: wrong)
    ev = registry.get("momentum-invariant").check(seed=0)
    assert not ev.passed and ev.status == "fail"


@pytest.mark.parametrize("claim_id", ["gf-hypentropy", "momentum-implicit-bias"])
def test_symbolic_ratio_is_reported(claim_id):
    ev = registry.get(claim_id).check(seed=0)
    assert 0 <= ev.metrics["symbolic_optimality_ratio"] <= 1
