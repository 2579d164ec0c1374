"""Tests of the stochastic-gradient-flow simulator (numeric/sde.py).

Expected values come from the Itô invariant (docs/theory/noise.md §1.2), the scheme's defect law
(docs/theory/noise.md §2.1) and the gradient-flow limit (implicit_bias_solution), not from the
simulator itself.
"""

import numpy as np
import pytest

from dln_verify.numeric.convex import implicit_bias_solution
from dln_verify.numeric.instances import gaussian_regression
from dln_verify.numeric.sde import sgf_alpha_inf, sgf_euler_maruyama


@pytest.fixture(scope="module")
def data():
    return gaussian_regression(4, 8, 3)


def test_backends_agree_and_runs_are_seeded(data):
    X, y = data
    a = sgf_euler_maruyama(X, y, 0.4, 0.05, 5e-3, 1.0, 5, seed=2, refine=2, backend="numba")
    b = sgf_euler_maruyama(X, y, 0.4, 0.05, 5e-3, 1.0, 5, seed=2, refine=2, backend="numpy")
    np.testing.assert_allclose(a.final_beta, b.final_beta, atol=1e-12)
    np.testing.assert_allclose(a.int_loss, b.int_loss, atol=1e-12)
    again = sgf_euler_maruyama(X, y, 0.4, 0.05, 5e-3, 1.0, 5, seed=2, refine=2)
    np.testing.assert_array_equal(a.final_beta, again.final_beta)
    other = sgf_euler_maruyama(X, y, 0.4, 0.05, 5e-3, 1.0, 5, seed=3, refine=2)
    assert not np.allclose(other.final_beta, a.final_beta)


def test_defect_is_within_its_martingale_law_and_shrinks_like_sqrt_h(data):
    X, y = data
    n = X.shape[0]
    gamma = 0.1
    diag = np.sum(X**2, axis=0) / n
    rms = []
    for f in (4, 1):
        r = sgf_euler_maruyama(X, y, 0.5, gamma, f * 1e-3, 2.0, 200, seed=7, refine=f,
                               n_record=1)
        D = r.log_invariant_defect[:, -1, :]
        sigma = 2 * np.sqrt(2) * gamma * diag[None, :] * np.sqrt(r.h * r.int_loss_sq)[:, None]
        z = D / sigma
        # standardised defect ~ N(0, 1) to leading order
        assert 0.7 < np.sqrt(np.mean(z**2)) < 1.4
        rms.append(np.sqrt(np.mean(D**2)))
    # h divided by 4 -> defect divided by about 2 (strong order 1/2)
    assert 1.5 < rms[0] / rms[1] < 2.7


def test_small_noise_limit_is_the_gradient_flow_limit(data):
    X, y = data
    r = sgf_euler_maruyama(X, y, 1.0, 1e-6, 4e-3, 40.0, 2, seed=0, tol=1e-4)
    assert r.converged.all()
    gf = implicit_bias_solution(X, y, 1.0).beta
    np.testing.assert_allclose(r.final_beta, np.broadcast_to(gf, r.final_beta.shape),
                               atol=5e-3 * np.abs(gf).max())


def test_limit_is_argmin_psi_at_the_effective_scale(data):
    X, y = data
    gamma = 0.2
    r = sgf_euler_maruyama(X, y, 1.0, gamma, 4e-3, 60.0, 3, seed=1, tol=2e-2)
    assert r.converged.all()
    a_inf = sgf_alpha_inf(X, 1.0, gamma, r.int_loss)
    for m in range(3):
        pred = implicit_bias_solution(X, y, a_inf[m]).beta
        gf = implicit_bias_solution(X, y, 1.0).beta
        err = np.linalg.norm(r.final_beta[m] - pred)
        # closer to the SGF prediction than the gradient-flow one is to it
        assert err < 0.5 * np.linalg.norm(pred - gf)


def test_sgf_alpha_inf_closed_form():
    X = np.array([[1.0, 0.0], [0.0, 2.0]])  # diag(H) = [0.5, 2]
    out = sgf_alpha_inf(X, 0.3, 0.1, [1.0])
    np.testing.assert_allclose(out, [[0.3 * np.exp(-0.05), 0.3 * np.exp(-0.2)]])


def test_divergence_is_flagged_and_paths_stay_finite(data):
    X, y = data
    r = sgf_euler_maruyama(X, 50 * y, 1.0, 5.0, 0.5, 20.0, 4, seed=0)
    assert r.diverged.any()
    assert np.all(np.isfinite(r.final_beta))
    assert all("diverged" in m for m, dv in zip(r.message, r.diverged, strict=True) if dv)


def test_strided_record_only(data):
    X, y = data
    r = sgf_euler_maruyama(X, y, 0.5, 0.05, 1e-2, 1.0, 3, n_record=4)
    assert r.beta.shape == (3, 5, X.shape[1]) and r.times[0] == 0.0
    assert r.times[-1] == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs,name", [
    ({"h": 0.0}, "h"), ({"t_max": -1.0}, "t_max"), ({"n_paths": 0}, "n_paths"),
    ({"seed": -1}, "seed"), ({"refine": 0}, "refine"), ({"stepsize": 0.0}, "stepsize"),
    ({"alpha": -0.1}, "alpha"), ({"backend": "gpu"}, "backend"), ({"n_record": 0}, "n_record"),
])
def test_bad_input_names_the_parameter(data, kwargs, name):
    X, y = data
    args = {"alpha": 0.5, "stepsize": 0.05, "h": 1e-2, "t_max": 1.0, "n_paths": 2}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        sgf_euler_maruyama(X, y, **args)
