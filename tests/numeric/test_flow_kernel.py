"""The compiled passes of gradient_flow_uv_batch (numeric/_flow_jit.py) against plain numpy.

The kernels fix their order of summation (rows in order for ``Xᵀr``; eight accumulators,
``j mod 8``, combined pairwise, then the remaining columns in order for ``X β``), so they are
checked bit for bit against the same order written in numpy/Python; the whole integrator is
checked against the numpy backend (a different order of summation: agreement to rounding), and
for independence of the number of threads.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dln_verify.numeric import flow
from dln_verify.numeric.flow import gradient_flow_uv, gradient_flow_uv_batch
from dln_verify.numeric.instances import gaussian_regression as _data

jit = flow._flow_jit()[0]
pytestmark = pytest.mark.skipif(jit is None, reason="numba kernels unavailable")


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _inits(d, seed, m=4):
    """Balanced runs at three scales and one unbalanced init (as gf-hypentropy's batch)."""
    rng = np.random.default_rng(seed)
    a_u = rng.uniform(0.3, 1.0, d)
    U = np.stack([np.full(d, 0.02), np.full(d, 0.3), np.full(d, 1.2), a_u])[:m]
    V = np.stack([np.zeros(d), np.zeros(d), np.zeros(d), a_u * rng.uniform(-0.9, 0.9, d)])[:m]
    return U, V


@pytest.mark.parametrize("w", [0, 5, 16, 29, 64, 83])
def test_residual_block_is_the_stated_order_bit_for_bit(w):
    rng = np.random.default_rng(w)
    n, d, j0 = 7, 100, 3
    X = rng.standard_normal((n, d))
    b = rng.standard_normal((3, w))
    out = np.empty((3, n))
    jit._resid_block(X, b, j0, j0 + w, out)
    w8 = w - w % 8
    for q in range(3):
        for i in range(n):
            x = X[i, j0:j0 + w]
            t = 0.0
            for j in range(w8, w):
                t += x[j] * b[q, j]
            assert out[q, i] == jit._dot8_ref(x, b[q], w8) + t
    # and it is the dot product, to rounding
    np.testing.assert_allclose(out, b @ X[:, j0:j0 + w].T, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("n", [1, 4, 7, 13])
def test_gradient_block_sums_the_rows_in_order_bit_for_bit(n):
    rng = np.random.default_rng(n)
    d, j0, j1 = 40, 6, 33
    X = rng.standard_normal((n, d))
    R = rng.standard_normal((2, n))
    g = np.empty((2, j1 - j0))
    jit._grad_block(X, R, 1.0 / n, j0, j1, g)
    ref = np.zeros((2, j1 - j0))
    for i in range(n):  # g + r_i x_i, one row after the other (numpy: no fused multiply-add)
        ref = ref + R[:, i:i + 1] * X[i, j0:j1]
    np.testing.assert_array_equal(g, ref * (1.0 / n))


@pytest.mark.parametrize("seed, n, d, bb", [(0, 10, 30, None), (1, 15, 64, 8 * 8 * 15),
                                            (2, 8, 50, 3 * 8 * 8), (3, 20, 200, 24 * 8 * 20)])
def test_numba_backend_agrees_with_numpy_reference(seed, n, d, bb):
    """Same ODE, tableau and controller; only the order of the sums over X differs. At fixed
    horizons (residual test off) the final states agree to ~1e-13, far below what separates
    different flows (scipy's DOP853 at rtol 1e-4 is 1e-8 away, test_flow.py)."""
    X, y = _data(n, d, seed)
    U, V = _inits(d, seed)
    horizons = [20.0, 3.0, 0.5, 5.0]
    a = gradient_flow_uv_batch(X, y, U, V, t_max=horizons, tol=1e-300, block_bytes=bb,
                               backend="numba")
    b = gradient_flow_uv_batch(X, y, U, V, t_max=horizons, tol=1e-300, block_bytes=bb,
                               backend="numpy")
    for ra, rb, T in zip(a, b, horizons, strict=True):
        assert ra.times[-1] == rb.times[-1] == T
        assert _rel(ra.final_beta, rb.final_beta) <= 1e-12
        assert abs(ra.nfev - rb.nfev) <= 0.05 * rb.nfev + 24


def test_numba_and_numpy_backends_converge_to_the_same_limit():
    """Run to convergence: both stop at a residual <= tol, near the same point."""
    X, y = _data(10, 30, 0)
    U, V = _inits(30, 0)
    a = gradient_flow_uv_batch(X, y, U, V, t_max=1e5, backend="numba")
    b = gradient_flow_uv_batch(X, y, U, V, t_max=1e5, backend="numpy")
    for ra, rb in zip(a, b, strict=True):
        assert ra.converged and rb.converged and ra.residual <= 1e-10
        assert _rel(ra.final_beta, rb.final_beta) <= 1e-9


def test_numba_backend_follows_scipy_on_a_longer_run():
    X, y = _data(12, 40, 5)
    U, V = _inits(40, 5)
    runs = gradient_flow_uv_batch(X, y, U, V, t_max=20.0, tol=1e-300, block_bytes=16 * 8 * 12,
                                  backend="numba")
    for run, u0, v0 in zip(runs, U, V, strict=True):
        ref = gradient_flow_uv(X, y, u0, v0, t_max=20.0, tol=1e-300)
        assert _rel(run.final_beta, ref.final_beta) <= 1e-9


def test_float_results_do_not_depend_on_the_number_of_threads(monkeypatch):
    """The parallel passes (prange over blocks, parts added in block order) give the floats of
    the serial ones: 1 and 2 threads, several blocks."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has a single thread here")
    monkeypatch.setattr(flow, "_PARALLEL_MIN_ENTRIES", 0)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    X, y = _data(9, 70, 7)
    U, V = _inits(70, 7)
    U, V = U[[1, 3]], V[[1, 3]]  # a balanced and the unbalanced run; few steps (each parallel
    # pass is a thread launch, slow on a loaded machine)
    before = numba.get_num_threads()
    out = {}
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            assert flow._flow_threads() == threads
            out[threads] = gradient_flow_uv_batch(X, y, U, V, t_max=[2.0, 0.5],
                                                  tol=1e-300, block_bytes=16 * 8 * 9,
                                                  backend="numba")
    finally:
        numba.set_num_threads(before)
    for r1, r2 in zip(out[1], out[2], strict=True):
        assert "t_max" in r1.message and r1.nfev > 20
        assert np.array_equal(r1.final_beta, r2.final_beta) and np.array_equal(r1.beta, r2.beta)
        assert r1.nfev == r2.nfev and r1.message == r2.message


def test_thread_rule(monkeypatch):
    """OMP_NUM_THREADS caps numba's threads (sweep workers, benchmarks) unless NUMBA_NUM_THREADS
    is set; other threads than the main one use one thread."""
    import numba

    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert flow._flow_threads() == 1
    monkeypatch.setenv("NUMBA_NUM_THREADS", str(numba.config.NUMBA_NUM_THREADS))
    assert flow._flow_threads() == numba.get_num_threads()  # asked for explicitly
    monkeypatch.delenv("NUMBA_NUM_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert flow._flow_threads() == numba.get_num_threads()
    seen = []
    t = threading.Thread(target=lambda: seen.append(flow._flow_threads()))
    t.start()
    t.join()
    assert seen == [1]


def test_backend_selection(monkeypatch):
    monkeypatch.setenv("DLN_VERIFY_KERNEL_BACKEND", "numpy")
    assert flow._flow_backend(None) == "numpy"
    monkeypatch.setenv("DLN_VERIFY_KERNEL_BACKEND", "fortran")
    with pytest.raises(ValueError, match="DLN_VERIFY_KERNEL_BACKEND"):
        flow._flow_backend(None)
    monkeypatch.delenv("DLN_VERIFY_KERNEL_BACKEND")
    assert flow._flow_backend(None) == "numba"
    with pytest.raises(ValueError, match="backend must be one of"):
        flow._flow_backend("gpu")

