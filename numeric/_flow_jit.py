"""numba kernels of :func:`dln_verify.numeric.flow.gradient_flow_uv_batch` (imported on first use).

One call is one pass over the design ``X`` (n, d) for all runs of the batch: ``X`` is cut into
column blocks of ``bs`` columns (small enough that a block stays in the core's L2 cache between
its two reads) and, for a block ``J``, every run's

1. ``g_J = X_Jᵀ r / n`` of the previous stage (rows of ``X_J`` in order: an axpy over the
   columns, vectorised without reordering any sum), hence that stage's derivative
   ``K_J = (−v ⊙ g, −u ⊙ g)``;
2. this stage's state ``z_J = y_J + h Σ_s a_s K_{s,J}`` (stages in order);
3. the block's part ``X_J (z_u ⊙ z_v)`` of the next residual (dot products with eight
   independent accumulators written out, combined in a fixed order)

are formed while the block is in cache. Each block writes its part of the residual (and of the
error norms) to its own row of ``part``; the rows are added in block order afterwards, so the
floats depend on ``bs`` but not on the number of threads or on their scheduling: the ``_par``
drivers (``prange`` over blocks) and the ``_ser`` drivers give identical results. Nothing here
uses ``fastmath``: no sum is reassociated and no multiply-add contracted, so the floats are the
same on every x86-64 CPU whatever its vector width. Each run's floats involve only its own
rows (a run alone and the same run in a batch agree bit for bit).

States are stored interleaved, ``S[q, 2j] = u_j``, ``S[q, 2j + 1] = v_j`` (the layout of the
numpy reference in :mod:`dln_verify.numeric.flow`): arrays ``Y``, ``Z``, ``F`` are (k, 2d),
``K`` is (k, 13, 2d). Module-level functions so that numba's on-disk cache is hit in every
process after the first (see :mod:`dln_verify.numeric._lazy`).
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_OPTS = {"cache": True, "nogil": True, "error_model": "numpy", "boundscheck": False}


@intrinsic
def _vdot8(typingctx, x, b, w):
    """``Σ_{j<w} x[j] b[j]`` for contiguous float64 ``x``, ``b`` and ``w`` a multiple of 8: eight
    accumulators (``j mod 8``, in two ``<4 x double>`` registers: LLVM does not vectorise a
    floating-point reduction without reassociation), combined as
    ``((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))`` — the same floats as
    :func:`_dot8_ref`, the plain-Python statement of the order."""
    ok = (isinstance(x, types.Array) and isinstance(b, types.Array) and x.ndim == b.ndim == 1
          and x.dtype == b.dtype == types.float64 and x.layout == b.layout == "C"
          and isinstance(w, types.Integer))
    if not ok:
        return None
    sig = types.float64(x, b, types.intp)

    def codegen(context, builder, signature, args):
        xa = context.make_array(signature.args[0])(context, builder, args[0])
        ba = context.make_array(signature.args[1])(context, builder, args[1])
        w = args[2]
        dbl = ir.DoubleType()
        v4 = ir.VectorType(dbl, 4)
        v4p = v4.as_pointer()
        zero = ir.Constant(v4, [ir.Constant(dbl, 0.0)] * 4)
        acc0 = cgutils.alloca_once_value(builder, zero)
        acc1 = cgutils.alloca_once_value(builder, zero)
        four = ir.Constant(w.type, 4)
        with cgutils.for_range(builder, builder.udiv(w, ir.Constant(w.type, 8))) as loop:
            off = builder.mul(loop.index, ir.Constant(w.type, 8))
            px = builder.gep(xa.data, [off])
            pb = builder.gep(ba.data, [off])
            x0 = builder.load(builder.bitcast(px, v4p), align=8)
            b0 = builder.load(builder.bitcast(pb, v4p), align=8)
            x1 = builder.load(builder.bitcast(builder.gep(px, [four]), v4p), align=8)
            b1 = builder.load(builder.bitcast(builder.gep(pb, [four]), v4p), align=8)
            builder.store(builder.fadd(builder.load(acc0), builder.fmul(x0, b0)), acc0)
            builder.store(builder.fadd(builder.load(acc1), builder.fmul(x1, b1)), acc1)
        a0 = builder.load(acc0)
        a1 = builder.load(acc1)
        e = [builder.extract_element(a, ir.Constant(ir.IntType(32), lane))
             for a in (a0, a1) for lane in range(4)]
        s01 = builder.fadd(e[0], e[1])
        s23 = builder.fadd(e[2], e[3])
        s45 = builder.fadd(e[4], e[5])
        s67 = builder.fadd(e[6], e[7])
        return builder.fadd(builder.fadd(s01, s23), builder.fadd(s45, s67))

    return sig, codegen


def _dot8_ref(x, b, w):
    """The order of :func:`_vdot8` in plain Python (the reference of the tests)."""
    a = [0.0] * 8
    for j in range(0, w, 8):
        for lane in range(8):
            a[lane] += x[j + lane] * b[j + lane]
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))


@numba.njit(**_OPTS)
def _grad_block(X, R, inv_n, j0, j1, g):  # pragma: no cover - compiled
    """``g[q, j − j0] = (Σ_i R[q, i] X[i, j]) · inv_n`` for ``j0 ≤ j < j1``, the sum in the
    order ``i = 0, 1, …`` (four rows per sweep of the block, added one after the other)."""
    n = X.shape[0]
    k = R.shape[0]
    w = j1 - j0
    for q in range(k):
        gq = g[q]
        for j in range(w):
            gq[j] = 0.0
    i = 0
    while i + 4 <= n:
        x0 = X[i, j0:j1]
        x1 = X[i + 1, j0:j1]
        x2 = X[i + 2, j0:j1]
        x3 = X[i + 3, j0:j1]
        for q in range(k):
            r0 = R[q, i]
            r1 = R[q, i + 1]
            r2 = R[q, i + 2]
            r3 = R[q, i + 3]
            gq = g[q]
            for j in range(w):
                gq[j] = (((gq[j] + r0 * x0[j]) + r1 * x1[j]) + r2 * x2[j]) + r3 * x3[j]
        i += 4
    while i < n:
        x0 = X[i, j0:j1]
        for q in range(k):
            r0 = R[q, i]
            gq = g[q]
            for j in range(w):
                gq[j] = gq[j] + r0 * x0[j]
        i += 1
    for q in range(k):
        gq = g[q]
        for j in range(w):
            gq[j] = gq[j] * inv_n


@numba.njit(**_OPTS)
def _resid_block(X, b, j0, j1, out):  # pragma: no cover - compiled
    """``out[q, i] = Σ_{j0 ≤ j < j1} X[i, j] b[q, j − j0]``: for each row of ``X_J`` (in the L1
    cache for all runs) :func:`_vdot8` over the first ``8⌊w/8⌋`` columns, plus the rest in
    order."""
    n = X.shape[0]
    k = b.shape[0]
    w = j1 - j0
    w8 = w - w % 8
    for i in range(n):
        x = X[i, j0:j1]
        for q in range(k):
            bq = b[q]
            t = 0.0
            for j in range(w8, w):
                t += x[j] * bq[j]
            out[q, i] = _vdot8(x, bq, w8) + t


@numba.njit(**_OPTS)
def _deriv_block(g, Z, j0, j1, K, s):  # pragma: no cover - compiled
    """``K[q, s] = (−v ⊙ g, −u ⊙ g)`` on the block from the states ``Z`` (interleaved)."""
    w = j1 - j0
    for q in range(Z.shape[0]):
        gq = g[q]
        zq = Z[q, 2 * j0:2 * j1]
        kq = K[q, s, 2 * j0:2 * j1]
        for j in range(w):
            gj = gq[j]
            kq[2 * j] = -(zq[2 * j + 1] * gj)
            kq[2 * j + 1] = -(zq[2 * j] * gj)


@numba.njit(**_OPTS)
def _stage_block(X, R, inv_n, Y, K, Z, h, coef, p, fresh, E3, E5, rtol, atol, j0, j1, part,
                 epart):  # pragma: no cover - compiled
    """Pass ``p`` on the block ``[j0, j1)`` into ``part`` (k, n), the block's part of the
    residual ``X (Z_u Z_v)`` of this stage's state ``Z = Y + h Σ_{s<p} coef_s K_s``, after

    - ``p ≥ 2``: the derivative ``K[:, p − 1]`` of stage ``p − 1`` at ``Z`` from its residuals
      ``R``;
    - ``p = 1``: for the runs with ``fresh[q]`` (their last step was accepted, ``Y`` is its end
      point and ``R`` its residuals) the FSAL derivative ``K[q, 0] = f(Y)``;

    and, in the last pass (``p = 12``: ``Z`` is ``y_new``), the block's parts of the squared
    scaled error sums into ``epart`` (k, 2): ``Σ ((E5·K)/sc)²`` and ``Σ ((E3·K)/sc)²`` over
    the stages ``s < 12`` (DOP853's ``E3``, ``E5`` vanish on the FSAL stage), with
    ``sc = max(|Y|, |Z|) rtol + atol``."""
    k = Y.shape[0]
    w = j1 - j0
    ns = K.shape[1]
    g = np.empty((k, w))
    if p >= 2:
        _grad_block(X, R, inv_n, j0, j1, g)
        _deriv_block(g, Z, j0, j1, K, p - 1)
    else:
        nf = 0
        for q in range(k):
            nf += 1 if fresh[q] else 0
        if nf > 0:
            _grad_block(X, R, inv_n, j0, j1, g)
            for q in range(k):
                if fresh[q]:
                    gq = g[q]
                    yq = Y[q, 2 * j0:2 * j1]
                    kq = K[q, 0, 2 * j0:2 * j1]
                    for j in range(w):
                        gj = gq[j]
                        kq[2 * j] = -(yq[2 * j + 1] * gj)
                        kq[2 * j + 1] = -(yq[2 * j] * gj)
    b = g  # g is no longer needed: it takes the products z_u z_v
    dz = np.empty(2 * w)
    a0, a1 = 2 * j0, 2 * j1
    for q in range(k):
        c = coef[0]
        ks = K[q, 0, a0:a1]
        for jj in range(2 * w):
            dz[jj] = c * ks[jj]
        for s in range(1, p):
            c = coef[s]
            ks = K[q, s, a0:a1]
            for jj in range(2 * w):
                dz[jj] = dz[jj] + c * ks[jj]
        hq = h[q]
        yq = Y[q, a0:a1]
        zq = Z[q, a0:a1]
        for jj in range(2 * w):
            zq[jj] = yq[jj] + dz[jj] * hq
        bq = b[q]
        for j in range(w):
            bq[j] = zq[2 * j] * zq[2 * j + 1]
    _resid_block(X, b, j0, j1, part)
    if p == ns - 1:
        e5 = dz  # dz is no longer needed
        e3 = np.empty(2 * w)
        for q in range(k):
            c5 = E5[0]
            c3 = E3[0]
            ks = K[q, 0, a0:a1]
            for jj in range(2 * w):
                e5[jj] = c5 * ks[jj]
                e3[jj] = c3 * ks[jj]
            for s in range(1, ns - 1):
                c5 = E5[s]
                c3 = E3[s]
                ks = K[q, s, a0:a1]
                for jj in range(2 * w):
                    e5[jj] = e5[jj] + c5 * ks[jj]
                    e3[jj] = e3[jj] + c3 * ks[jj]
            yq = Y[q, a0:a1]
            zq = Z[q, a0:a1]
            for jj in range(2 * w):
                sc = max(abs(yq[jj]), abs(zq[jj])) * rtol + atol
                e5[jj] = e5[jj] / sc
                e3[jj] = e3[jj] / sc
            epart[q, 0] = _sumsq4(e5, 2 * w)
            epart[q, 1] = _sumsq4(e3, 2 * w)


@numba.njit(**_OPTS)
def _sumsq4(a, w):  # pragma: no cover - compiled
    """``Σ_{j<w} a[j]²`` with four accumulators (``j mod 4``), combined pairwise."""
    s0 = s1 = s2 = s3 = 0.0
    w4 = w - w % 4
    for j in range(0, w4, 4):
        s0 += a[j] * a[j]
        s1 += a[j + 1] * a[j + 1]
        s2 += a[j + 2] * a[j + 2]
        s3 += a[j + 3] * a[j + 3]
    t = 0.0
    for j in range(w4, w):
        t += a[j] * a[j]
    return ((s0 + s1) + (s2 + s3)) + t


@numba.njit(**_OPTS)
def _state_block(X, R, inv_n, S, F, j0, j1, part):  # pragma: no cover - compiled
    """With residuals ``R`` of ``S`` (k rows): ``F = f(S)`` on the block (``F`` as (k, 1, 2d));
    with ``R`` of no rows: the block's part of ``X (S_u S_v)`` into ``part`` (k, n)."""
    k = S.shape[0]
    w = j1 - j0
    g = np.empty((k, w))
    if R.shape[0] > 0:
        _grad_block(X, R, inv_n, j0, j1, g)
        _deriv_block(g, S, j0, j1, F, 0)
        return
    for q in range(k):
        sq = S[q, 2 * j0:2 * j1]
        gq = g[q]
        for j in range(w):
            gq[j] = sq[2 * j] * sq[2 * j + 1]
    _resid_block(X, g, j0, j1, part)


# drivers: the same block functions over all blocks, serially or in parallel (prange); the
# blocks write disjoint columns of K, Z, F and their own rows of part


@numba.njit(**_OPTS)
def _stage_ser(X, R, inv_n, Y, K, Z, h, coef, p, fresh, E3, E5, rtol, atol, bs, part,
               epart):  # pragma: no cover - compiled
    d = X.shape[1]
    for ib in range(part.shape[0]):
        _stage_block(X, R, inv_n, Y, K, Z, h, coef, p, fresh, E3, E5, rtol, atol, ib * bs,
                     min(ib * bs + bs, d), part[ib], epart[ib])


@numba.njit(parallel=True, **_OPTS)
def _stage_par(X, R, inv_n, Y, K, Z, h, coef, p, fresh, E3, E5, rtol, atol, bs, part,
               epart):  # pragma: no cover - compiled
    d = X.shape[1]
    for ib in numba.prange(part.shape[0]):
        _stage_block(X, R, inv_n, Y, K, Z, h, coef, p, fresh, E3, E5, rtol, atol, ib * bs,
                     min(ib * bs + bs, d), part[ib], epart[ib])


@numba.njit(**_OPTS)
def _state_ser(X, R, inv_n, S, F, bs, part):  # pragma: no cover - compiled
    d = X.shape[1]
    for ib in range(part.shape[0]):
        _state_block(X, R, inv_n, S, F, ib * bs, min(ib * bs + bs, d), part[ib])


@numba.njit(parallel=True, **_OPTS)
def _state_par(X, R, inv_n, S, F, bs, part):  # pragma: no cover - compiled
    d = X.shape[1]
    for ib in numba.prange(part.shape[0]):
        _state_block(X, R, inv_n, S, F, ib * bs, min(ib * bs + bs, d), part[ib])


@numba.njit(**_OPTS)
def _sum_parts(part, out):  # pragma: no cover - compiled
    """``out[q, i] = part[0, q, i] + part[1, q, i] + …`` (in block order)."""
    nb, k, m = part.shape
    for q in range(k):
        for i in range(m):
            out[q, i] = part[0, q, i]
    for ib in range(1, nb):
        for q in range(k):
            for i in range(m):
                out[q, i] = out[q, i] + part[ib, q, i]
