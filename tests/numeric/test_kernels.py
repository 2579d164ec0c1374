"""The (S)GD step kernels: every backend gives the numpy reference step, edge cases included."""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric.gd import delta_even, q_even
from dln_verify.numeric.kernels import BACKENDS, available_backends, default_backend, get_kernel

BACKENDS_HERE = available_backends()


def _state(B, d, seed, gscale):
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((B, d))
    V = rng.standard_normal((B, d))
    G = rng.standard_normal((B, d)) * gscale
    return U, V, G


def _direct_step(U, V, G, scale, active):
    """Independent reference written from the formulas of Even et al. (2023), Thm. 1."""
    x = np.where(active[:, None], scale[:, None] * G, 0.0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        Un, Vn = U - V * x, V - U * x
        ok = np.isfinite(Un.sum(1) + Vn.sum(1)) | ~active
        x = np.where(ok[:, None], x, 0.0)
        Un, Vn = U - V * x, V - U * x
        x2 = x * x
        x2in = np.where(x2 < 1.0, x2, 0.0)
        gain = np.where(x2 < 1.0, -np.log1p(-x2in), -np.log(np.abs(1.0 - x2)))
        inside = np.abs(x) < 1.0
        xi = np.where(inside, x, 0.0)
        delta = np.where(inside, 2.0 * x + np.log1p(-xi) - np.log1p(xi),
                         2.0 * x + np.log(np.abs(1.0 - x)) - np.log(np.abs(1.0 + x)))
    gain = np.where(x == 0, 0.0, gain)
    delta = np.where(x == 0, 0.0, delta)
    return Un, Vn, gain, delta, np.where(x * x >= 1.0, np.sign(1.0 - x * x), 1.0), ok


@pytest.mark.parametrize("backend", BACKENDS_HERE)
@pytest.mark.parametrize("gscale", [1e-4, 0.03, 0.7, 3.0])
def test_update_matches_the_formulas(backend, gscale):
    B, d = 6, 37
    U, V, G = _state(B, d, 1, gscale)
    scale = np.linspace(0.2, 1.0, B)
    active = np.array([True, True, False, True, True, True])
    G[4, 3] = np.inf  # a run whose step is not finite must be left unchanged
    gain, delta, sign, P = np.zeros((B, d)), np.zeros((B, d)), np.ones((B, d)), U * V
    Un, Vn, g_ref, d_ref, s_ref, ok_ref = _direct_step(U, V, G, scale, active)
    U0 = U.copy()
    ok = get_kernel(backend).update(U, V, G, scale, active, gain, delta, sign, P)
    np.testing.assert_array_equal(ok, ok_ref)
    assert not ok[4]
    keep = ~active | ~ok
    np.testing.assert_array_equal(U[keep], U0[keep])
    np.testing.assert_array_equal(gain[keep], 0.0)
    np.testing.assert_allclose(U, Un, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(V, Vn, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(P, U * V, rtol=0, atol=0)
    np.testing.assert_allclose(gain, g_ref, rtol=1e-13)
    # 2x + ln|(1−x)/(1+x)| computed directly cancels: its error is ~eps·|x| absolute
    x = np.where((active & ok)[:, None], scale[:, None] * G, 0.0)
    assert np.all(np.abs(delta - d_ref) <= 1e-12 * np.abs(d_ref) + 4e-16 * np.abs(x))
    np.testing.assert_array_equal(sign, s_ref)


@pytest.mark.parametrize("backend", BACKENDS_HERE)
def test_series_agree_with_the_numpy_accumulators(backend):
    B, d = 4, 500
    U, V, G = _state(B, d, 2, 1.0)
    x_true = np.geomspace(1e-9, 0.2, B * d).reshape(B, d) * np.sign(G)
    scale = np.ones(B)
    gain, delta, sign, P = np.zeros((B, d)), np.zeros((B, d)), np.ones((B, d)), U * V
    get_kernel(backend).update(U, V, x_true, scale, np.ones(B, bool), gain, delta, sign, P)
    np.testing.assert_allclose(gain, q_even(x_true), rtol=2e-16 * 8)
    np.testing.assert_allclose(delta, delta_even(x_true), rtol=2e-16 * 8)


@pytest.mark.parametrize("backend", BACKENDS_HERE)
def test_products_shared_and_per_run(backend):
    rng = np.random.default_rng(3)
    B, n, d = 5, 4, 9
    X = rng.standard_normal((n, d))
    Xs = rng.standard_normal((B, n, d))
    y, ys = rng.standard_normal(n), rng.standard_normal((B, n))
    P = rng.standard_normal((B, d))
    mask = (rng.random((B, n)) < 0.5).astype(float)
    k = get_kernel(backend)
    np.testing.assert_allclose(k.residual(X, y, P), P @ X.T - y, rtol=1e-14)
    R = k.residual(Xs, ys, P)
    np.testing.assert_allclose(R, np.einsum("bnd,bd->bn", Xs, P) - ys, rtol=1e-13)
    np.testing.assert_allclose(k.gradient(Xs, R, mask), np.einsum("bn,bnd->bd", R * mask, Xs),
                               rtol=1e-13)
    np.testing.assert_allclose(k.gradient(X, R), R @ X, rtol=1e-14)


def test_backend_selection(monkeypatch):
    assert "numpy" in BACKENDS_HERE and set(BACKENDS_HERE) <= set(BACKENDS)
    with pytest.raises(ValueError, match="backend"):
        get_kernel("cuda-someday")
    monkeypatch.setenv("DLN_VERIFY_KERNEL_BACKEND", "numpy")
    assert default_backend() == "numpy" and get_kernel().name == "numpy"
    monkeypatch.setenv("DLN_VERIFY_KERNEL_BACKEND", "fortran")
    with pytest.raises(ValueError, match="DLN_VERIFY_KERNEL_BACKEND"):
        default_backend()


def _argpartition_mask(keys, b):
    mask = np.zeros_like(keys)
    idx = np.argpartition(keys, b - 1, axis=1)[:, :b]
    mask[np.arange(keys.shape[0])[:, None], idx] = 1.0
    return mask


@pytest.mark.parametrize("backend", BACKENDS_HERE)
@pytest.mark.parametrize("batch_size", [1, 3, 32, 33, 99, 100])
def test_batch_mask_is_the_argpartition_choice(backend, batch_size):
    rng = np.random.default_rng(batch_size)
    keys = rng.random((7, 100))
    keys[3] = np.round(keys[3] * 4) / 4  # many equal keys: numpy's choice decides
    keys[5, :40] = keys[5, 0]
    out = np.full_like(keys, 7.0)
    get_kernel(backend).batch_mask(keys, batch_size, out)
    np.testing.assert_array_equal(out, _argpartition_mask(keys, batch_size))
    assert np.all(out.sum(axis=1) == batch_size)


@pytest.mark.parametrize("backend", BACKENDS_HERE)
@pytest.mark.parametrize("masked", [False, True])
def test_products_equal_residual_then_gradient_exactly(backend, masked):
    rng = np.random.default_rng(4)
    B, n, d = 5, 6, 11
    Xs, ys = rng.standard_normal((B, n, d)), rng.standard_normal((B, n))
    X, y = Xs[0], ys[0]
    P = rng.standard_normal((B, d))
    mask = (rng.random((B, n)) < 0.5).astype(float) if masked else None
    k = get_kernel(backend)
    for Xa, ya in ((X, y), (Xs, ys)):
        R_ref = k.residual(Xa, ya, P)
        G_ref = k.gradient(Xa, R_ref, mask)
        R, G = np.empty((B, n)), np.empty((B, d))
        k.products(Xa, ya, P, R, G, mask)
        np.testing.assert_array_equal(R, R_ref)
        np.testing.assert_array_equal(G, G_ref)
        k.products(Xa, ya, P, R, None, mask)  # residual only
        np.testing.assert_array_equal(R, R_ref)
    # only some runs: the other rows are left as they are
    R, G = np.full((B, n), 5.0), np.full((B, d), 5.0)
    runs = np.array([1, 3])
    k.products(Xs, ys, P, R, G, mask, runs)
    np.testing.assert_array_equal(R[runs], R_ref[runs])
    np.testing.assert_array_equal(G[runs], G_ref[runs])
    assert np.all(np.delete(R, runs, axis=0) == 5.0) and np.all(np.delete(G, runs, axis=0) == 5.0)


@pytest.mark.parametrize("backend", BACKENDS_HERE)
def test_update_verdict_near_overflow(backend):
    """Rows whose entries are finite but huge: the verdict is the row sum's, not a bound's."""
    d = 50
    U = np.full((3, d), 1e306)
    V = np.full((3, d), -1e306)
    G = np.full((3, d), 1e-3)
    U[1] = V[1] = 1e307  # u − v x, v − u x ≈ 1e307, all of one sign: the row sum overflows
    U[2] = 0.5  # an ordinary row
    V[2] = 0.25
    scale = np.ones(3)
    with np.errstate(over="ignore"):
        gain, delta, sign, P = np.zeros((3, d)), np.zeros((3, d)), np.ones((3, d)), U * V
        Un, _, _, _, _, ok_ref = _direct_step(U, V, G, scale, np.ones(3, bool))
    U0 = U.copy()
    ok = get_kernel(backend).update(U, V, G, scale, np.ones(3, bool), gain, delta, sign, P)
    np.testing.assert_array_equal(ok, [True, False, True])
    np.testing.assert_array_equal(ok, ok_ref)
    np.testing.assert_array_equal(U[1], U0[1])  # frozen
    np.testing.assert_allclose(U[[0, 2]], Un[[0, 2]], rtol=1e-15)
