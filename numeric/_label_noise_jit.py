"""numba-compiled loops of :mod:`dln_verify.numeric.label_noise` (imported on first use).

Module-level functions so that numba's on-disk cache (``cache=True``) is hit in every process
after the first (jitted functions defined in a closure that call one another miss it).
"""

from __future__ import annotations

import numba
import numpy as np

_OPTS = {"cache": True, "nogil": True, "error_model": "numpy", "boundscheck": False}


@numba.njit(**_OPTS)
def step(u, v, m, g, gamma, squared, un, vn, blowup, alive, diverged, acc, accumulate):
    """Run m takes the step with gradient g, or is frozen as diverged; then averaged."""
    d = u.shape[1]
    ok = True
    for j in range(d):
        if squared:
            un[j] = u[m, j] - 2.0 * gamma * u[m, j] * g[j]
            bj = un[j] * un[j]
        else:
            un[j] = u[m, j] - gamma * v[m, j] * g[j]
            vn[j] = v[m, j] - gamma * u[m, j] * g[j]
            bj = un[j] * vn[j]
        if not (np.isfinite(bj) and abs(bj) <= blowup):
            ok = False
    if not ok:
        alive[m] = False
        diverged[m] = True
        return
    for j in range(d):
        u[m, j] = un[j]
        if not squared:
            v[m, j] = vn[j]
    if accumulate:
        for j in range(d):
            acc[m, j] += u[m, j] * u[m, j] if squared else u[m, j] * v[m, j]


@numba.njit(**_OPTS)
def run(u, v, X, y, eps, rows, gamma, delta, squared, alive, diverged, acc, k0, burn,
        blowup):
    S, B, b = rows.shape
    d = X.shape[1]
    r = np.empty(b)
    g = np.empty(d)
    un = np.empty(d)
    vn = np.empty(d)
    for k in range(S):
        step_index = k0 + k + 1
        for m in range(B):
            if not alive[m]:
                continue
            for q in range(b):
                i = rows[k, m, q]
                a = -y[i] - delta * eps[k, m, i]
                if squared:
                    for j in range(d):
                        a += X[i, j] * u[m, j] * u[m, j]
                else:
                    for j in range(d):
                        a += X[i, j] * u[m, j] * v[m, j]
                r[q] = a
            for j in range(d):
                s = 0.0
                for q in range(b):
                    s += r[q] * X[rows[k, m, q], j]
                g[j] = s / b
            step(u, v, m, g, gamma, squared, un, vn, blowup, alive, diverged, acc,
                 step_index > burn)


@numba.njit(**_OPTS)
def run_full(u, v, G, c, xi, gamma, squared, alive, diverged, acc, k0, burn, blowup):
    S, B, d = xi.shape
    g = np.empty(d)
    un = np.empty(d)
    vn = np.empty(d)
    beta = np.empty(d)
    for k in range(S):
        step_index = k0 + k + 1
        for m in range(B):
            if not alive[m]:
                continue
            for j in range(d):
                beta[j] = u[m, j] * u[m, j] if squared else u[m, j] * v[m, j]
            for j in range(d):
                s = -c[j] - xi[k, m, j]
                for q in range(d):
                    s += G[j, q] * beta[q]
                g[j] = s
            step(u, v, m, g, gamma, squared, un, vn, blowup, alive, diverged, acc,
                 step_index > burn)
