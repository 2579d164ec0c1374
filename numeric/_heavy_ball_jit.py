"""numba-compiled loops of :mod:`dln_verify.numeric.heavy_ball_kernel` (imported on first use).

Module-level functions so that numba's on-disk cache (``cache=True``) is hit in every process
after the first (functions defined in a closure miss it).
"""

from __future__ import annotations

import numba
import numpy as np

_OPTS = {"cache": True, "nogil": True, "error_model": "numpy", "boundscheck": False}
#: the products may reassociate their sums (SIMD); the update itself keeps numpy's order
_PRODUCT_OPTS = {**_OPTS, "fastmath": {"reassoc", "contract"}}


@numba.njit(**_PRODUCT_OPTS)
def residual_gradient(X, y, u, v, beta, r, g):  # pragma: no cover - compiled
    """``r = X(u ⊙ v) − y`` and ``g = Xᵀ r / n`` (row-major loops over X; ``beta`` is work
    space)."""
    n, d = X.shape
    for j in range(d):
        beta[j] = u[j] * v[j]
    for i in range(n):
        acc = 0.0
        for j in range(d):
            acc += X[i, j] * beta[j]
        r[i] = acc - y[i]
    for j in range(d):
        g[j] = 0.0
    for i in range(n):
        ri = r[i]
        for j in range(d):
            g[j] += X[i, j] * ri
    for j in range(d):
        g[j] = g[j] / n


@numba.njit(**_PRODUCT_OPTS)
def half_mean_square(r):  # pragma: no cover - compiled
    acc = 0.0
    for i in range(r.shape[0]):
        acc += r[i] * r[i]
    return 0.5 * (acc / r.shape[0])


@numba.njit(**_OPTS)
def one_run(X, y, u0, gam, mom, k_end, k_obs, w_obs, limit_factor, path,
            u_out, v_out):  # pragma: no cover - compiled
    """One run: returns ``(diverged, ‖r‖)``; fills ``path`` rows at ``k_obs`` and the last
    iterate into ``u_out``, ``v_out``."""
    n, d = X.shape
    u = u0.copy()
    v = np.zeros(d)
    up = u0.copy()
    vp = np.zeros(d)
    r = np.empty(n)
    g = np.empty(d)
    beta = np.empty(d)
    residual_gradient(X, y, u, v, beta, r, g)
    limit = limit_factor * (half_mean_square(r) + 1.0)
    n_obs = k_obs.shape[0]
    jp = 0
    for k in range(k_end + 1):
        while jp < n_obs and k_obs[jp] == k:
            if k == 0:
                for j in range(d):
                    path[jp, j] = u[j] * v[j]
            else:
                w = w_obs[jp]
                for j in range(d):
                    bp = up[j] * vp[j]
                    bc = u[j] * v[j]
                    path[jp, j] = bp + w * (bc - bp)
            jp += 1
        if k % 16 == 0 or k == k_end:
            loss = half_mean_square(r)
            if not (np.isfinite(loss) and loss <= limit):
                return True, np.inf
        if k == k_end:
            break
        for j in range(d):
            uj, vj = u[j], v[j]
            un = uj - gam * vj * g[j] + mom * (uj - up[j])
            vn = vj - gam * uj * g[j] + mom * (vj - vp[j])
            up[j], vp[j], u[j], v[j] = uj, vj, un, vn
        residual_gradient(X, y, u, v, beta, r, g)
    for j in range(d):
        u_out[j] = u[j]
        v_out[j] = v[j]
    acc = 0.0
    for i in range(n):
        acc += r[i] * r[i]
    return False, np.sqrt(acc)
