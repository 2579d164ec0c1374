"""numba-compiled (S)GD step kernels of :mod:`dln_verify.numeric.kernels` (imported on first use).

Module-level functions so that numba's on-disk cache (``cache=True``) is hit in every process
after the first: defined in a closure and calling one another, they missed it and ``_update``
was recompiled (~2 s) by every process that ran gradient descent.
"""

from __future__ import annotations

import numba
import numpy as np

_OPTS = {"cache": True, "nogil": True, "error_model": "numpy", "boundscheck": False}


@numba.njit(fastmath={"reassoc", "contract"}, **_OPTS)
def _trial(U, V, G, s, tu, tv):  # pragma: no cover - compiled
    """Pass 1 over a run's row: the trial step into tu, tv, and its sum (finiteness)."""
    tot = 0.0
    for j in range(U.shape[0]):
        x = s * G[j]
        un = U[j] - V[j] * x
        vn = V[j] - U[j] * x
        tu[j] = un
        tv[j] = vn
        tot += un + vn
    return tot


@numba.njit(fastmath={"reassoc", "contract"}, **_OPTS)
def _bound(U, V, G, s):  # pragma: no cover - compiled
    """``Σ_j |u_j − v_j x_j| + |v_j − u_j x_j|`` of the step (any order: a bound only)."""
    tot = 0.0
    for j in range(U.shape[0]):
        x = s * G[j]
        tot += abs(U[j] - V[j] * x) + abs(V[j] - U[j] * x)
    return tot


@numba.njit(fastmath={"contract"}, **_OPTS)
def _commit(G, s, U, V, P, gain, delta):  # pragma: no cover - compiled
    """Pass 2: the step ``u − v x``, ``v − u x`` (the same expressions as in ``_trial``),
    P = U V, and the series of the accumulators (x² < 0.0025); returns how many entries
    need the exact formulas."""
    nbig = 0
    for j in range(G.shape[0]):
        x = s * G[j]
        un = U[j] - V[j] * x
        vn = V[j] - U[j] * x
        x2 = x * x
        # −ln(1 − x²) = Σ_{k≤8} x^{2k}/k and 2x − 2 atanh x as in gd.delta_even
        q = x2 * (1.0 / 8.0) + (1.0 / 7.0)
        q = q * x2 + (1.0 / 6.0)
        q = q * x2 + (1.0 / 5.0)
        q = q * x2 + (1.0 / 4.0)
        q = q * x2 + (1.0 / 3.0)
        q = q * x2 + (1.0 / 2.0)
        q = q * x2 + 1.0
        q = q * x2
        p = x2 * (1.0 / 17.0) + (1.0 / 15.0)
        p = p * x2 + (1.0 / 13.0)
        p = p * x2 + (1.0 / 11.0)
        p = p * x2 + (1.0 / 9.0)
        p = p * x2 + (1.0 / 7.0)
        p = p * x2 + (1.0 / 5.0)
        p = p * x2 + (1.0 / 3.0)
        p = p * x2 * x * -2.0
        small = x2 < 0.0025
        gain[j] += q if small else 0.0
        delta[j] += p if small else 0.0
        nbig += 0 if small else 1
        U[j] = un
        V[j] = vn
        P[j] = un * vn
    return nbig


@numba.njit(**_OPTS)
def _exact(G, s, gain, delta, sign):  # pragma: no cover - compiled
    """The entries with x² ≥ 0.0025: q, δ from logarithms, and the sign product."""
    for j in range(G.shape[0]):
        x = s * G[j]
        x2 = x * x
        if x2 < 0.0025:
            continue
        # ln|1 − t| as log1p(−t) for t < 1 and ln|1 − t| beyond (gd._log_abs_one_minus)
        if x2 < 1.0:
            q = -np.log1p(-x2)
        elif x2 == 1.0:
            q = np.inf
        else:
            q = -np.log(x2 - 1.0)
        if x < 1.0:
            lm = np.log1p(-x)
        elif x == 1.0:
            lm = -np.inf
        else:
            lm = np.log(x - 1.0)
        if x > -1.0:
            lp = np.log1p(x)
        elif x == -1.0:
            lp = -np.inf
        else:
            lp = np.log(-x - 1.0)
        gain[j] += q
        delta[j] += 2.0 * x + lm - lp
        if x2 >= 1.0:
            sign[j] *= np.sign(1.0 - x2)


@numba.njit(**_OPTS)
def _update(U, V, G, scale, active, gain, delta, sign, P, ok):  # pragma: no cover
    B, d = U.shape
    tu = np.empty(d)
    tv = np.empty(d)
    for b in range(B):
        ok[b] = True
        if not active[b]:
            continue
        s = scale[b]
        # the verdict is that of the row sum of the trial step (_trial): when the sum of
        # the absolute values is finite and far below overflow, every entry and every
        # partial sum of that row sum is finite whatever the order; otherwise _trial
        # itself decides
        if not _bound(U[b], V[b], G[b], s) <= 1e300:
            if not np.isfinite(_trial(U[b], V[b], G[b], s, tu, tv)):
                ok[b] = False
                continue
        if _commit(G[b], s, U[b], V[b], P[b], gain[b], delta[b]) > 0:
            _exact(G[b], s, gain[b], delta[b], sign[b])


@numba.njit(**_OPTS)
def _mask(keys, batch_size, out, tied):  # pragma: no cover - compiled
    """out[b] = 1 on the batch_size smallest keys[b], when they are a unique set (the
    batch_size-th smallest key is below the next one); tied[b] = True otherwise."""
    B, n = keys.shape
    ntied = 0
    low = np.empty(batch_size)  # the batch_size smallest so far, sorted
    for b in range(B):
        row = keys[b]
        if batch_size <= 32:  # insertion into a short sorted list
            m = 0
            for i in range(n):
                v = row[i]
                if m < batch_size:
                    j = m
                    m += 1
                elif v < low[batch_size - 1]:
                    j = batch_size - 1
                else:
                    continue
                while j > 0 and low[j - 1] > v:
                    low[j] = low[j - 1]
                    j -= 1
                low[j] = v
            t = low[batch_size - 1]
        else:
            t = np.partition(row, batch_size - 1)[batch_size - 1]
        cnt = 0
        for i in range(n):
            inside = row[i] <= t
            out[b, i] = 1.0 if inside else 0.0
            cnt += 1 if inside else 0
        tied[b] = cnt != batch_size
        ntied += 1 if cnt != batch_size else 0
    return ntied
