"""Tests of the scheduled (S)GD runner on β = u⊙v (numeric/schedules.py).

Checks against independent references: one constant phase equals
:func:`dln_verify.numeric.gd.gradient_descent` (GD, and the gain of Even et al.'s Thm. 1); a
two-phase schedule equals two hand-written loops; the recorded loss is the full-batch loss of
the iterate; SGD runs are reproducible per run (one Generator each); divergence is flagged.
"""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric.gd import gradient_descent, q_even
from dln_verify.numeric.parametrisations import uv_init
from dln_verify.numeric.schedules import grid_threshold, run_generators, run_schedule


def _data(n=6, d=14, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


def _loop(X, y, u, v, phases, batches=None):
    """A plain per-step reference: phases = [(γ, steps)], batches = row index per step."""
    n = X.shape[0]
    u, v = u.copy(), v.copy()
    gain = np.zeros_like(u)
    k = 0
    for gam, steps in phases:
        for _ in range(steps):
            if batches is None:
                g = X.T @ (X @ (u * v) - y) / n
            else:
                i = batches[k]
                g = X[i] * (X[i] @ (u * v) - y[i])
            x = gam * g
            gain += q_even(x)
            u, v = u - v * x, v - u * x
            k += 1
    return u * v, gain


def test_constant_phase_matches_gradient_descent():
    X, y = _data()
    u0, v0 = uv_init(0.2, X.shape[1])
    ref = gradient_descent(X, y, u0, v0, [0.05, 0.1], 3000, tol=1e-9)
    res = run_schedule(X, np.stack([y, y]), u0, v0, [[0.05], [0.1]], [3000], tol=1e-9,
                       record_every=100)
    assert np.allclose(res.final_beta, ref.final_beta, rtol=0, atol=1e-12)
    assert np.allclose(res.gain, ref.gain, rtol=1e-10, atol=1e-14)
    assert res.converged.all() and not res.diverged.any()
    assert np.array_equal(res.steps, ref.steps)


def test_two_phase_gd_matches_hand_loop_and_records_the_loss():
    X, y = _data(seed=1)
    u0, v0 = uv_init(0.3, X.shape[1])
    res = run_schedule(X, y, u0, v0, [[0.2, 0.03]], [[40, 60]], tol=1e-300, record_every=10)
    beta, gain = _loop(X, y, u0, v0, [(0.2, 40), (0.03, 60)])
    assert np.allclose(res.final_beta[0], beta, atol=1e-12)
    assert np.allclose(res.gain[0], gain, rtol=1e-9, atol=1e-15)
    assert res.phase_ends[0].tolist() == [40, 100]
    # the recorded loss at step 40 is the loss after the first phase
    beta40, _ = _loop(X, y, u0, v0, [(0.2, 40)])
    assert res.losses[0, 4] == pytest.approx(np.sum((X @ beta40 - y) ** 2) / (2 * X.shape[0]),
                                             rel=1e-10)


def test_sgd_uses_one_generator_per_run_and_is_reproducible():
    X, y = _data(seed=2)
    u0, v0 = uv_init(0.2, X.shape[1])
    Y = np.stack([y, y, 2 * y])
    a = run_schedule(X, Y, u0, v0, [[0.02]] * 3, [500], batch_size=1, rng=7, tol=1e-300)
    b = run_schedule(X, Y, u0, v0, [[0.02]] * 3, [500], batch_size=1, rng=run_generators(7, 3),
                     tol=1e-300)
    assert np.array_equal(a.final_beta, b.final_beta)
    # run 1 alone with its own Generator reproduces its trajectory in the batch
    alone = run_schedule(X, y, u0, v0, [[0.02]], [500], batch_size=1,
                         rng=[run_generators(7, 3)[1]], tol=1e-300)
    assert np.allclose(alone.final_beta[0], a.final_beta[1], atol=1e-13)
    # the same rows as a hand loop (first 500 draws of that Generator, drawn in one block)
    rows = run_generators(7, 3)[1].integers(0, X.shape[0], size=512)[:500]
    beta, _ = _loop(X, y, u0, v0, [(0.02, 500)], batches=rows)
    assert np.allclose(a.final_beta[1], beta, atol=1e-12)
    assert not np.allclose(a.final_beta[0], a.final_beta[1])  # different batch sequences


def test_divergence_is_flagged_and_bracketed():
    X, y = _data(seed=3)
    u0, v0 = uv_init(0.2, X.shape[1])
    res = run_schedule(X, np.stack([y, y]), u0, v0, [[0.01], [50.0]], [400], tol=1e-300)
    assert res.diverged.tolist() == [False, True]
    assert np.isinf(res.losses[1, -1]) and np.all(np.isfinite(res.final_beta))
    lo, hi = grid_threshold(X, y, u0, v0, np.geomspace(0.01, 50, 12), 400)
    assert lo[0] < hi[0] and 0.01 <= lo[0] and hi[0] <= 50.0
    inside = run_schedule(X, y, u0, v0, [[float(lo[0])]], [400], tol=1e-300)
    assert not inside.diverged[0]


@pytest.mark.parametrize("kwargs, word", [
    ({"stepsizes": [[-1.0]]}, "stepsizes"),
    ({"phase_steps": [[0]]}, "phase_steps"),
    ({"batch_size": 0}, "batch_size"),
    ({"record_every": 0}, "record_every"),
])
def test_bad_input_names_the_parameter(kwargs, word):
    X, y = _data()
    u0, v0 = uv_init(0.2, X.shape[1])
    args = {"stepsizes": [[0.1]], "phase_steps": [10]} | kwargs
    with pytest.raises(ValueError, match=word):
        run_schedule(X, y, u0, v0, args.pop("stepsizes"), args.pop("phase_steps"), **args)
