"""Compiled step kernels for the (S)GD simulators, behind one interface.

One step of (S)GD on ``β = u ⊙ v`` (``docs/theory/regression.md`` §3.1; Even, Pesme, Gunasekar &
Flammarion, NeurIPS 2023, arXiv:2302.08982, Theorem 1) for a batch of B runs splits into

1. the products with the data — :meth:`UVKernel.residual` ``R = P Xᵀ − y`` with ``P = U ⊙ V``
   and :meth:`UVKernel.gradient` ``G = (R ⊙ M) X`` (``M`` the 0/1 mask of the SGD rows, or none,
   from :meth:`UVKernel.batch_mask`): one matrix product over the whole batch for a shared ``X``
   of shape (n, d); for a different ``X`` per run, shape (B, n, d), :meth:`UVKernel.products`
   does run ``b``'s two matrix-vector products back to back, so that ``X_b`` is read once from
   memory and the second time from cache;
2. the elementwise work — :meth:`UVKernel.update`: with ``x = s_b G`` (``s_b = γ_b / n`` or
   ``γ_b / b``) the simultaneous step ``u ← u − v x``, ``v ← v − u x``, its finiteness test, the
   accumulators ``Σ q(x)``, ``Σ [2x + ln|(1−x)/(1+x)|]``, ``Π sign(1 − x²)`` of Even et al.'s
   identity and the next ``P = U ⊙ V`` — fused by numba into a read-only check pass and one
   commit pass over each run's row (the row is in cache for the second), where numpy needs
   about twenty passes.

The numba passes evaluate the same expressions in the same order with the same contractions
into fused multiply-adds as the earlier trial-copy-and-commit kernel, so they give its numbers
bit for bit (and the finiteness verdict of its trial row sum; see ``_update``); numba and numpy
agree to rounding (numpy does not fuse multiply-adds).

Backends: ``"numba"`` (default when numba imports) and ``"numpy"`` (the reference, always
available); :func:`get_kernel` picks one, ``DLN_VERIFY_KERNEL_BACKEND`` overrides the default.
A further backend (e.g. an accelerator) only has to provide the methods of
:class:`UVKernel`. Everything is
float64.
"""

from __future__ import annotations

import os
from typing import Protocol

import numpy as np

from dln_verify.numeric._lazy import compiled_module

__all__ = ["UVKernel", "get_kernel", "available_backends", "default_backend", "BACKENDS"]

#: known backend names (``available_backends()`` says which import here)
BACKENDS = ("numba", "numpy")
#: below this ``x²`` the accumulators use their series (truncation < 0.0025⁸ relative)
_SERIES_BELOW = 0.0025


class UVKernel(Protocol):
    """The interface every backend provides (all arrays float64, C-contiguous, batch first)."""

    name: str

    def residual(self, X: np.ndarray, y: np.ndarray, P: np.ndarray,
                 out: np.ndarray | None = None) -> np.ndarray:
        """``R = P Xᵀ − y`` per run: X (n, d) or (B, n, d), y (n,) or (B, n), P (B, d)."""

    def gradient(self, X: np.ndarray, R: np.ndarray, mask: np.ndarray | None = None,
                 out: np.ndarray | None = None) -> np.ndarray:
        """``G = (R ⊙ mask) X`` per run (no division: the scale goes to :meth:`update`)."""

    def products(self, X: np.ndarray, y: np.ndarray, P: np.ndarray, R: np.ndarray,
                 G: np.ndarray | None, mask: np.ndarray | None = None,
                 runs: np.ndarray | None = None) -> None:
        """``R = P Xᵀ − y`` and (unless ``G`` is None) ``G = (R ⊙ mask) X`` into ``R``, ``G``.

        For a different ``X`` per run, run ``b``'s residual and gradient are computed back to
        back (``X_b`` is read from memory once, the second time from cache), for the runs
        ``runs`` only (None: all; the rows of the others are left as they are). Each entry is
        the same as :meth:`residual` then :meth:`gradient` give.
        """

    def batch_mask(self, keys: np.ndarray, batch_size: int, out: np.ndarray) -> np.ndarray:
        """The SGD rows: ``out[b, i] = 1`` for the ``batch_size`` smallest ``keys[b]`` (the
        indices ``np.argpartition(keys, batch_size − 1, axis=1)[:, :batch_size]``), else 0."""

    def update(self, U: np.ndarray, V: np.ndarray, G: np.ndarray, scale: np.ndarray,
               active: np.ndarray, gain: np.ndarray, delta: np.ndarray, sign: np.ndarray,
               P: np.ndarray) -> np.ndarray:
        """One step in place for the active runs; returns ``ok`` (B,) bool.

        With ``x = scale[b] · G[b]``: a run whose step ``u − v x``, ``v − u x`` is finite
        (row sums) is updated with its accumulators (``gain += q(x)``, ``delta += 2x +
        ln|(1−x)/(1+x)|``, ``sign *= sign(1 − x²)``) and ``P = U ⊙ V``; a run whose step is not
        finite is left unchanged with ``ok = False``; inactive runs are left unchanged
        (``ok = True``).
        """


# ---------------------------------------------------------------------------------------------
# Products with the data (BLAS; shared by both backends)
# ---------------------------------------------------------------------------------------------


def _residual(X, y, P, out=None):
    if X.ndim == 2:
        R = np.matmul(P, X.T, out=out)
        R -= y
        return R
    B, n, _ = X.shape
    R = np.empty((B, n)) if out is None else out
    for b in range(B):  # each X_b once: (n, d) @ (d,)
        np.dot(X[b], P[b], out=R[b])
    R -= y
    return R


def _gradient(X, R, mask=None, out=None):
    Rm = R if mask is None else R * mask
    if X.ndim == 2:
        return np.matmul(Rm, X, out=out)
    B, _, d = X.shape
    G = np.empty((B, d)) if out is None else out
    for b in range(B):
        np.dot(Rm[b], X[b], out=G[b])
    return G


def _products(X, y, P, R, G, mask=None, runs=None):
    if X.ndim == 2:  # one product each over the whole batch (the same calls as above)
        _residual(X, y, P, out=R)
        if G is not None:
            _gradient(X, R, mask, out=G)
        return
    # one run at a time: X_b @ P_b, then R_b @ X_b while X_b is still in cache; the same BLAS
    # calls on the same rows as _residual and _gradient (so the same numbers)
    dot, sub, mul = np.dot, np.subtract, np.multiply
    rm = None if mask is None or G is None else np.empty(R.shape[1])
    for b in range(X.shape[0]) if runs is None else runs:
        Xb, Rb = X[b], R[b]
        dot(Xb, P[b], out=Rb)
        sub(Rb, y[b], out=Rb)
        if G is not None:
            dot(Rb if rm is None else mul(Rb, mask[b], out=rm), Xb, out=G[b])


def _batch_mask(keys, batch_size, out, rows=None):
    idx = np.argpartition(keys if rows is None else keys[rows], batch_size - 1,
                          axis=1)[:, :batch_size]
    if rows is None:
        out[...] = 0.0
        out[np.arange(keys.shape[0])[:, None], idx] = 1.0
    else:
        out[rows] = 0.0
        out[rows[:, None], idx] = 1.0
    return out


# ---------------------------------------------------------------------------------------------
# numpy reference backend
# ---------------------------------------------------------------------------------------------


class _NumpyKernel:
    """The reference: the elementwise step in numpy (many passes over the (B, d) arrays)."""

    name = "numpy"

    def residual(self, X, y, P, out=None):
        return _residual(X, y, P, out)

    def gradient(self, X, R, mask=None, out=None):
        return _gradient(X, R, mask, out)

    def products(self, X, y, P, R, G, mask=None, runs=None):
        _products(X, y, P, R, G, mask, runs)

    def batch_mask(self, keys, batch_size, out):
        return _batch_mask(keys, batch_size, out)

    def update(self, U, V, G, scale, active, gain, delta, sign, P):
        from dln_verify.numeric.gd import delta_even, q_even

        with np.errstate(over="ignore", invalid="ignore"):
            gG = np.where(active[:, None], scale[:, None] * G, 0.0)
            Un = U - V * gG
            Vn = V - U * gG
            ok = np.isfinite(np.sum(Un, axis=1) + np.sum(Vn, axis=1)) | ~active
            if not np.all(ok):
                gG = np.where((active & ok)[:, None], gG, 0.0)
                Un = U - V * gG
                Vn = V - U * gG
            gain += q_even(gG)
            delta += delta_even(gG)
            if float(np.max(np.abs(gG))) >= 1.0:
                sign *= np.sign(1.0 - gG * gG)
            U[...] = Un
            V[...] = Vn
            np.multiply(U, V, out=P)
        return ok


# ---------------------------------------------------------------------------------------------
# numba backend (compiled lazily, cached on disk by numba)
# ---------------------------------------------------------------------------------------------

_UV_JIT = "dln_verify.numeric._uv_jit"


def _get_numba_update():
    """``(update, mask)`` of :mod:`dln_verify.numeric._uv_jit`, or None without numba."""
    module, _ = compiled_module(_UV_JIT)
    return None if module is None else (module._update, module._mask)


class _NumbaKernel:
    """The elementwise step fused into a check and a commit pass per run row (numba)."""

    name = "numba"

    def __init__(self, compiled) -> None:
        self._update, self._mask = compiled

    def residual(self, X, y, P, out=None):
        return _residual(X, y, P, out)

    def gradient(self, X, R, mask=None, out=None):
        return _gradient(X, R, mask, out)

    def products(self, X, y, P, R, G, mask=None, runs=None):
        _products(X, y, P, R, G, mask, runs)

    def batch_mask(self, keys, batch_size, out):
        tied = np.empty(keys.shape[0], dtype=np.bool_)
        if self._mask(keys, int(batch_size), out, tied):  # equal keys: numpy's choice
            _batch_mask(keys, batch_size, out, np.flatnonzero(tied))
        return out

    def update(self, U, V, G, scale, active, gain, delta, sign, P):
        ok = np.empty(U.shape[0], dtype=np.bool_)
        self._update(U, V, G, np.ascontiguousarray(scale, dtype=np.float64),
                     np.ascontiguousarray(active, dtype=np.bool_), gain, delta, sign, P, ok)
        return ok


def available_backends() -> tuple[str, ...]:
    """Backends usable in this process (``"numpy"`` always; ``"numba"`` if it compiles)."""
    return ("numba", "numpy") if _get_numba_update() is not None else ("numpy",)


def default_backend() -> str:
    """``DLN_VERIFY_KERNEL_BACKEND`` if set, else ``"numba"`` when available, else ``"numpy"``."""
    env = os.environ.get("DLN_VERIFY_KERNEL_BACKEND", "").strip().lower()
    if env:
        if env not in BACKENDS:
            raise ValueError(f"DLN_VERIFY_KERNEL_BACKEND must be one of {BACKENDS}, got {env!r}")
        return env
    return "numba" if _get_numba_update() is not None else "numpy"


def get_kernel(backend: str | None = None) -> UVKernel:
    """The (S)GD step kernel of ``backend`` (None: :func:`default_backend`).

    Examples
    --------
    >>> import numpy as np
    >>> k = get_kernel("numpy")
    >>> U, V = np.full((1, 2), 1.0), np.zeros((1, 2))
    >>> gain, delta, sign, P = np.zeros((1, 2)), np.zeros((1, 2)), np.ones((1, 2)), U * V
    >>> bool(k.update(U, V, np.ones((1, 2)), np.array([0.1]), np.array([True]),
    ...               gain, delta, sign, P)[0])
    True
    >>> V.tolist()
    [[-0.1, -0.1]]
    """
    name = default_backend() if backend is None else backend
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS} or None, got {name!r}")
    if name == "numpy":
        return _NumpyKernel()
    update = _get_numba_update()
    if update is None:
        raise ValueError(f"backend 'numba' is not available here ({compiled_module(_UV_JIT)[1]})")
    return _NumbaKernel(update)
