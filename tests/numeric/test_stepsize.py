"""Tests of the divergence-threshold search (numeric/stepsize.py).

Expected values do not come from the search itself: a 1-D problem whose GD threshold is known in
closed form, direct (S)GD runs on either side of the bracket, and input validation.
"""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric.gd import gradient_descent
from dln_verify.numeric.parametrisations import uv_init
from dln_verify.numeric.stepsize import StepsizeThreshold, divergence_threshold


def _data(n, d, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


def test_bracket_is_consistent_with_direct_runs():
    X, y = _data(4, 8, 0)
    u0, v0 = uv_init(0.1, 8)
    th = divergence_threshold(X, y, u0, v0, n_steps=3000, rtol=1e-2)
    assert isinstance(th, StepsizeThreshold)
    assert 0 < th.gamma_max < th.gamma_diverge <= th.gamma_max * (1 + 1e-2)
    assert th.relative_width <= 1e-2 and "rtol" in th.message
    res = gradient_descent(X, y, u0, v0, [th.gamma_max, th.gamma_diverge], 3000, tol=1e-8)
    assert res.converged[0] and not res.converged[1]


def test_known_threshold_in_one_dimension():
    """n = d = 1, X = [1], y = 1, u0 = v0 = 1 (already at the minimum β = 1): the (u, v) Hessian
    there is [[1, 1], [1, 1]], S = 2, GD is stable iff γ < 2/S = 1. Starting from u0 = 1 + ε,
    v0 = 1 the run converges below γ* ≈ 1 (up to O(ε) change of the limit) and not above."""
    eps = 1e-3
    th = divergence_threshold([[1.0]], [1.0], [1.0 + eps], [1.0], n_steps=3000, rtol=2e-3,
                              tol=1e-6, max_bisections=10)
    # within the budget a run converges iff |1 − γS|^3000 ε ≲ 1e-6, i.e. γS ≤ 2 − O(ln(1e3)/3000)
    assert th.gamma_max == pytest.approx(1.0, rel=5 * eps)


def test_blowup_criterion_is_at_least_the_convergence_threshold():
    X, y = _data(4, 8, 1)
    u0, v0 = uv_init(0.1, 8)
    conv = divergence_threshold(X, y, u0, v0, n_steps=2000, rtol=1e-2)
    blow = divergence_threshold(X, y, u0, v0, n_steps=2000, rtol=1e-2, criterion="blowup")
    res = gradient_descent(X, y, u0, v0, blow.gamma_diverge, 2000)
    assert res.diverged[0]
    assert blow.gamma_diverge >= conv.gamma_max * 0.5


def test_sgd_threshold_reproducible_and_bounded_rounds():
    X, y = _data(6, 10, 2)
    u0, v0 = uv_init(0.1, 10)
    a = divergence_threshold(X, y, u0, v0, batch_size=2, rng=3, n_steps=2000, max_bisections=2)
    b = divergence_threshold(X, y, u0, v0, batch_size=2, rng=3, n_steps=2000, max_bisections=2)
    assert a == b
    assert a.bisections <= 2
    assert a.gamma_max < a.gamma_diverge


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"rtol": 0.0}, "rtol"), ({"max_bisections": -1}, "max_bisections"),
     ({"n_steps": 0}, "n_steps"), ({"probes": 0}, "probes"), ({"criterion": "x"}, "criterion"),
     ({"batch_size": 0}, "batch_size"), ({"rng": -2}, "rng"), ({"tol": -1.0}, "tol"),
     ({"max_budget_factor": 0.5}, "max_budget_factor")],
)
def test_validation(kwargs, name):
    X, y = _data(3, 5, 3)
    with pytest.raises(ValueError, match=name):
        divergence_threshold(X, y, *uv_init(0.1, 5), **kwargs)
