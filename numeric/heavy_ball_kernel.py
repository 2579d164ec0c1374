"""Compiled per-run driver of heavy-ball MGD on ``β = u ⊙ v`` (numba), for small designs.

One run of heavy ball (Papazov, Pesme & Flammarion, AISTATS 2024, arXiv:2403.05293;
``docs/theory/regression.md`` §5.1),

.. math:: w_{k+1} = w_k − γ ∇F(w_k) + β_m (w_k − w_{k−1}),\\quad w_{−1} = w_0,

with ``F(u, v) = ‖X(u ⊙ v) − y‖²/(2n)``, is a loop of ``K = ⌈t_max/h⌉`` iterations whose work
per iteration is two products with a small ``X`` (``4nd`` flops). For the designs of the
momentum claims (``n·d ≤ 3·10³``) that work is a few microseconds, while a numpy iteration costs
~25 calls of a few microseconds each: the interpreter, not the arithmetic, set the pace of
:func:`dln_verify.numeric.momentum.heavy_ball` (momentum-sparsity's thorough profile: 2·10⁵
iterations, 48 s, over half of it in ``einsum`` on per-run copies of ``X``). Here the whole
loop of one run is compiled; runs are independent (each reads its own design), so a batch is a
loop over runs and runs sharing a design read the same array, never a copy.

The arithmetic is that of the numpy loop in :func:`~dln_verify.numeric.momentum.heavy_ball`
entry by entry (same expression order in the update and the interpolation of observations);
only the order of summation inside the two products differs (a loop here, BLAS or ``einsum``
there), so iterates agree to rounding, not bit for bit.
"""

from __future__ import annotations

import numpy as np

from dln_verify.numeric._lazy import compiled_module

__all__ = ["run_heavy_ball", "compiled_available", "PER_RUN_MAX_SIZE"]

#: the compiled per-run driver is used when ``n·d`` is at most this (X fits in the L2 cache:
#: 64 Ki doubles = 512 KiB); larger designs are faster in the batched BLAS loop, which reads X
#: once per iteration for the whole batch
PER_RUN_MAX_SIZE = 1 << 16

_JIT = "dln_verify.numeric._heavy_ball_jit"


def _get_kernel():
    module, _ = compiled_module(_JIT)
    return None if module is None else module.one_run


def compiled_available() -> bool:
    """Whether the compiled driver can be used in this process (numba imports and compiles)."""
    return _get_kernel() is not None


def run_heavy_ball(X, y, design, u0, gam, mom, k_end, k_obs, w_obs, limit_factor,
                   report=None):
    """Run every heavy-ball run with the compiled driver, one after the other.

    Parameters
    ----------
    X, y : ndarray, shapes (S, n, d) and (S, n)
        The designs (C-contiguous float64); run ``b`` uses ``X[design[b]]``.
    design : ndarray of int, shape (B,)
    u0 : ndarray, shape (d,)
        ``u₀ = √2 α`` (``v₀ = 0``).
    gam, mom : ndarray, shape (B,)
        Stepsizes and momenta.
    k_end : ndarray of int, shape (B,)
        Last iteration of each run.
    k_obs, w_obs : ndarray, shape (B, T)
        Iteration at which observation ``j`` of run ``b`` is taken (non-decreasing in ``j``)
        and its interpolation weight between iterates ``k − 1`` and ``k``.
    limit_factor : float
        Divergence: loss above ``limit_factor × (initial loss + 1)`` or non-finite, checked
        every 16 iterations and at ``k_end``.
    report : callable, optional
        Called with the number of iterations done so far (all runs together) after each run.

    Returns
    -------
    path : ndarray (B, T, d)
        NaN for diverged runs.
    u, v : ndarray (B, d)
        Last iterates (NaN for diverged runs).
    diverged : ndarray of bool (B,)
    rnorm : ndarray (B,)
        ``‖Xβ − y‖`` at the last iterate (inf for diverged runs).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[[1.0, 2.0, 0.5]]]); y = np.array([[1.0]])
    >>> k_obs = np.array([[0, 400]]); w_obs = np.ones((1, 2))
    >>> path, u, v, div, rn = run_heavy_ball(X, y, np.array([0]), np.full(3, 0.5),
    ...                                      np.array([0.05]), np.array([0.5]),
    ...                                      np.array([400]), k_obs, w_obs, 1e8)
    >>> bool(div[0]), bool(rn[0] < 1e-8)
    (False, True)
    """
    kernel = _get_kernel()
    if kernel is None:
        raise RuntimeError("the compiled heavy-ball driver is not available "
                           f"({compiled_module(_JIT)[1]})")
    B = design.shape[0]
    T = k_obs.shape[1]
    d = X.shape[2]
    path = np.full((B, T, d), np.nan)
    u = np.full((B, d), np.nan)
    v = np.full((B, d), np.nan)
    diverged = np.zeros(B, dtype=bool)
    rnorm = np.full(B, np.inf)
    done = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for b in range(B):
            s = int(design[b])
            div, rn = kernel(X[s], y[s], u0, float(gam[b]), float(mom[b]), int(k_end[b]),
                             k_obs[b], w_obs[b], float(limit_factor), path[b], u[b], v[b])
            diverged[b] = bool(div)
            if div:
                path[b] = np.nan
                u[b] = np.nan
                v[b] = np.nan
            else:
                rnorm[b] = rn
            done += int(k_end[b]) + 1
            if report is not None:
                report(done)
    return path, u, v, diverged, rnorm
