"""Unit tests of the streaming SGD simulator and of its limit ODE (numeric/streaming_sgd.py).

Expected values are computed by hand from the update rule, never by the code under test:
from ``u₀ = √2α𝟙``, ``v₀ = 0`` one step gives ``u₁ = u₀`` and ``β₁ = 2α²η·y·x``, so
``E β₁ = 2α²η β*`` (``E[yx] = β*``) and, with ``E[y²‖x‖²] = (d + 2)‖β*‖² + dσ²``,
``E R(β₁) = ½[(2α²η)²((d + 2)‖β*‖² + dσ²) − 4α²η‖β*‖² + ‖β*‖²] + σ²/2``.
"""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric.streaming_sgd import highdim_risk_ode, streaming_sgd


def _target(d: int, k: int = 2) -> np.ndarray:
    b = np.zeros(d)
    b[:k] = 1.0 / np.sqrt(k)
    return b


def test_same_seed_same_runs_and_a_run_does_not_depend_on_its_batch():
    b = _target(40)
    first = streaming_sgd(b, 0.5, 1 / 40, [10, 40, 80], n_runs=3, seed=4, noise=0.1)
    again = streaming_sgd(b, 0.5, 1 / 40, [10, 40, 80], n_runs=3, seed=4, noise=0.1)
    np.testing.assert_array_equal(first.risk, again.risk)
    np.testing.assert_array_equal(first.u, again.u)
    # run 2 alone, with other record steps (so other chunks): the same path
    alone = streaming_sgd(b, 0.5, 1 / 40, [80], n_runs=1, seed=4, noise=0.1, first_run=2)
    np.testing.assert_array_equal(alone.u[0], first.u[2])
    assert alone.risk[0, -1] == first.risk[2, -1]
    other = streaming_sgd(b, 0.5, 1 / 40, [10, 40, 80], n_runs=3, seed=5, noise=0.1)
    assert not np.array_equal(other.risk, first.risk)
    # another stream (another d-tag in the claim) is another path
    tagged = streaming_sgd(b, 0.5, 1 / 40, [10, 40, 80], n_runs=3, seed=4, noise=0.1, stream=7)
    assert not np.array_equal(tagged.risk, first.risk)


def test_numpy_reference_loop_gives_the_same_iterates():
    b = _target(30, 3)
    fast = streaming_sgd(b, 0.7, 0.5 / 30, [5, 60], n_runs=2, seed=1, noise=0.3)
    ref = streaming_sgd(b, 0.7, 0.5 / 30, [5, 60], n_runs=2, seed=1, noise=0.3,
                        backend="numpy")
    np.testing.assert_allclose(fast.u, ref.u, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fast.risk, ref.risk, rtol=1e-12)


def test_mean_first_step_is_the_population_gradient_step():
    """E β₁ = 2α²η β* and E R(β₁) as in the module docstring, within 5 standard errors."""
    d, alpha, eta, sigma, B = 20, 0.6, 0.3 / 20, 0.5, 4000
    b = _target(d, 3)
    res = streaming_sgd(b, alpha, eta, [1], n_runs=B, seed=9, noise=sigma)
    np.testing.assert_array_equal(res.u, np.sqrt(2) * alpha)  # u₁ = u₀ since v₀ = 0
    beta1 = res.final_beta
    se = beta1.std(axis=0, ddof=1) / np.sqrt(B)
    # Bonferroni over d coordinates: P(|Z| > 5) ≈ 6e-7 each
    assert np.all(np.abs(beta1.mean(axis=0) - 2 * alpha**2 * eta * b) <= 5 * se)
    # the per-coordinate variance (2α²η)²(‖β*‖² + σ² + β*_j²) (Isserlis); off the support the
    # step is a product of two independent Gaussians (kurtosis 9), whose sample variance has
    # relative SE √(8/B), so the bound 10/√B is ≈ 3.5 SE there (Bonferroni over d: ~5e-4 each)
    var = (2 * alpha**2 * eta) ** 2 * (1.0 + sigma**2 + b**2)
    assert np.all(np.abs(beta1.var(axis=0, ddof=1) / var - 1) <= 5 * 2 / np.sqrt(B))
    c = 2 * alpha**2 * eta
    expected = 0.5 * (c**2 * ((d + 2) * 1.0 + d * sigma**2) - 2 * c * 1.0 + 1.0) + sigma**2 / 2
    r1 = res.risk[:, 0]
    assert abs(r1.mean() - expected) <= 5 * r1.std(ddof=1) / np.sqrt(B)


def test_independent_runs_are_uncorrelated():
    d, B = 10, 2000
    res = streaming_sgd(_target(d, 1), 0.5, 0.5 / d, [1], n_runs=B, seed=3)
    x = res.final_beta[:, 0]
    rho = np.corrcoef(x[0::2], x[1::2])[0, 1]
    assert abs(rho) <= 5 / np.sqrt(B / 2)  # Fisher: SE(ρ) ≈ 1/√(B/2) for independent pairs


def test_divergence_is_flagged_and_the_run_stopped():
    res = streaming_sgd(_target(20), 1.0, 5.0, [1, 2, 50, 100], n_runs=2, seed=0)
    assert res.diverged.all() and not res.converged.any()
    assert np.isnan(res.risk[:, -1]).all()
    assert all(m.startswith("diverged") for m in res.message)
    fine = streaming_sgd(_target(20), 0.5, 0.5 / 20, [100], n_runs=2, seed=0)
    assert not fine.diverged.any() and fine.converged.all()
    assert fine.steps_taken.tolist() == [100, 100]


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"alpha": 0.0}, "alpha"), ({"stepsize": -1.0}, "stepsize"),
    ({"record_steps": [5, 5]}, "record_steps"), ({"record_steps": [0, 3]}, "record_steps"),
    ({"record_steps": [1.5]}, "record_steps"), ({"noise": -0.1}, "noise"),
    ({"n_runs": 0}, "n_runs"), ({"seed": -1}, "seed"), ({"beta_star": [np.nan, 1.0]},
                                                         "beta_star"),
    ({"backend": "cuda"}, "backend"), ({"blowup": 0.0}, "blowup"),
])
def test_bad_input_is_refused_with_the_parameter_named(kwargs, name):
    args = {"beta_star": _target(5), "alpha": 0.5, "stepsize": 0.1, "record_steps": [3]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        streaming_sgd(**args)


def test_limit_ode_closed_forms():
    """E ≡ 0 without the noise term; with σ > 0 the bulk settles at α²γσ²/(1 − α²γ)."""
    alpha, gamma, sigma = 0.5, 1.2, 0.4
    t = np.linspace(0, 60, 7)
    quiet = highdim_risk_ode([0.6, -0.8], alpha, gamma, np.linspace(0, 3, 7),
                             noise_constant=0.0)
    assert np.all(quiet["bulk"] == 0) and np.all(np.diff(quiet["risk"]) < 0)
    assert quiet["risk"][0] == pytest.approx(0.5)
    noisy = highdim_risk_ode([0.6, -0.8], alpha, gamma, t, noise=sigma)
    # stationary: 0 = −4α²γE + 8α⁴γ²(E/2 + σ²/2)  ⇒  E = α²γσ²/(1 − α²γ)
    a2g = alpha**2 * gamma
    assert noisy["bulk"][-1] == pytest.approx(a2g * sigma**2 / (1 - a2g), rel=1e-8)
    assert noisy["risk"][-1] == pytest.approx(0.5 * noisy["bulk"][-1] + sigma**2 / 2, rel=1e-8)
    # the support follows β' = −2γ√(α⁴ + β²)(β − β*); its first-order Taylor term at t = 0
    small = highdim_risk_ode([1.0], alpha, gamma, [0.0, 1e-6], noise_constant=0.0)
    beta = 1.0 - np.sqrt(2 * small["support_risk"][1])
    assert beta == pytest.approx(2 * gamma * alpha**2 * 1e-6, rel=1e-5)
    with pytest.raises(ValueError, match="times"):
        highdim_risk_ode([1.0], alpha, gamma, [1.0, 0.5])
    with pytest.raises(ValueError, match="noise_constant"):
        highdim_risk_ode([1.0], alpha, gamma, [1.0], noise_constant=-1.0)


@pytest.mark.slow
def test_mean_risk_curve_follows_the_limit_ode_at_large_d():
    """At d = 3000 the mean of 16 runs lies within 5 standard errors + 2/d of the ODE."""
    d, k = 3000, 3
    b = np.zeros(d)
    b[:k] = np.array([0.8, -0.5, 0.33]) / np.linalg.norm([0.8, -0.5, 0.33])
    ts = np.array([0.5, 1.0, 2.0])
    res = streaming_sgd(b, 0.5, 1.0 / d, np.round(ts * d).astype(int), n_runs=16, seed=2)
    ode = highdim_risk_ode(b[:k], 0.5, 1.0, ts)["risk"]
    se = res.risk.std(axis=0, ddof=1) / 4
    assert np.all(np.abs(res.risk.mean(axis=0) - ode) <= 5 * se + 2.0 / d)
