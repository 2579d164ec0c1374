"""Piecewise-constant stepsize schedules for batched (S)GD on ``β = u ⊙ v``.

Convention (``docs/theory/conventions.md``, ``docs/theory/regression.md`` §3.1):
``L(β) = ‖Xβ − y‖²/(2n)``, ``u_{k+1} = u_k − γ_k v_k ⊙ g_k``, ``v_{k+1} = v_k − γ_k u_k ⊙ g_k``
with ``g_k`` the full-batch gradient (GD) or the gradient on a batch of ``b`` rows drawn without
replacement (SGD). The stepsize ``γ_k`` of run ``b`` is ``stepsizes[b, p]`` during its phase
``p`` (``phase_steps[b, p]`` steps; the last phase is the step budget of the run's final phase).

This is the runner of the large-step-then-small-step schedules of Andriushchenko, Varre,
Pillaud-Vivien & Flammarion, "SGD with large step sizes learns sparse features", ICML 2023
(``docs/theory/large-steps.md`` §2), and of the constant-stepsize (S)GD comparisons of Even,
Pesme, Gunasekar & Flammarion, NeurIPS 2023 (``docs/theory/large-steps.md`` §1). Unlike
:func:`dln_verify.numeric.gd.gradient_descent` it accepts one target per run with a *shared*
design (``X`` of shape (n, d), ``y`` of shape (B, n)), so a batch of replicates costs one
matrix product per step, takes one :class:`numpy.random.Generator` per run for the
mini-batches, and records only what the claims read: the full-batch training loss at a stride,
the final iterates and Even et al.'s accumulated gain ``Σ_k q(γ_k g_k)`` — never the
trajectory. The step and its accumulators are those of :mod:`dln_verify.numeric.kernels`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from dln_verify.numeric.kernels import get_kernel
from dln_verify.numeric.validation import as_finite_array, check_positive, check_seed

__all__ = ["ScheduleResult", "run_schedule", "run_generators", "grid_threshold"]

#: the divergence rule of :func:`dln_verify.numeric.gd.gradient_descent`: non-finite iterate
#: or loss above this multiple of the initial loss
DIVERGENCE_FACTOR = 1e10
#: mini-batch indices are drawn this many steps at a time from each run's Generator
_CHUNK = 512


@dataclass(frozen=True)
class ScheduleResult:
    """Result of a batch of scheduled (S)GD runs (batch axis first).

    Attributes
    ----------
    times : ndarray of int, shape (K,)
        Recorded iterations ``0, r, 2r, …`` (``time_unit = "iteration"``).
    losses : ndarray, shape (B, K)
        Full-batch training loss ``‖Xβ_k − y‖²/(2n)`` at ``times``; after a run stops its last
        value is repeated (``inf`` after divergence).
    final_beta, u, v : ndarray, shape (B, d)
        Final iterates (frozen at convergence or divergence).
    gain : ndarray, shape (B, d)
        ``Σ_k q(γ_k g_k)``, ``q(x) = −ln|1 − x²|`` (Even et al. 2023, Thm. 1).
    diverged, converged : ndarray of bool, shape (B,)
        Blow-up (non-finite, or loss > 1e10 × initial loss); relative residual
        ``‖Xβ − y‖/‖y‖ ≤ tol`` reached in the final phase.
    steps : ndarray of int, shape (B,)
        Steps taken.
    phase_ends : ndarray of int, shape (B, P)
        Iteration at which each phase of each run ends (cumulative ``phase_steps``).
    stepsizes : ndarray, shape (B, P)
    message : tuple of str
        One line per run.
    """

    times: np.ndarray
    losses: np.ndarray
    final_beta: np.ndarray
    u: np.ndarray
    v: np.ndarray
    gain: np.ndarray
    diverged: np.ndarray
    converged: np.ndarray
    steps: np.ndarray
    phase_ends: np.ndarray
    stepsizes: np.ndarray
    message: tuple[str, ...] = ()
    time_unit: str = "iteration"


def run_generators(seed: int, count: int) -> list[np.random.Generator]:
    """``count`` independent Generators, children of ``SeedSequence(seed)`` (one per run).

    Examples
    --------
    >>> a, b = run_generators(0, 2)
    >>> bool(a.random() != b.random())
    True
    """
    check_seed(seed)
    if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    return [np.random.default_rng(c) for c in np.random.SeedSequence(seed).spawn(int(count))]


def _as_steps(phase_steps, B: int) -> np.ndarray:
    arr = np.asarray(phase_steps)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0)):
            raise ValueError("phase_steps must be integers (steps per phase)")
    arr = arr.astype(np.int64)
    if arr.ndim == 1:
        arr = np.broadcast_to(arr, (B, arr.shape[0])).copy()
    if arr.ndim != 2 or arr.shape[0] != B or arr.shape[1] < 1:
        raise ValueError(f"phase_steps must have shape (P,) or (B, P) = ({B}, P), got "
                         f"{np.shape(phase_steps)}")
    if np.any(arr < 0) or np.any(arr[:, -1] < 1):
        raise ValueError("phase_steps must be >= 0, and the last phase >= 1 step")
    return arr


def run_schedule(
    X,
    y,
    u0,
    v0,
    stepsizes,
    phase_steps,
    *,
    batch_size: int | None = None,
    rng=None,
    tol: float = 1e-12,
    record_every: int = 1,
    backend: str | None = None,
) -> ScheduleResult:
    """Run B (S)GD trajectories on ``β = u ⊙ v`` with piecewise-constant stepsizes.

    Run ``b`` takes ``phase_steps[b, p]`` steps of size ``stepsizes[b, p]`` in phase ``p``; it
    stops when its relative residual ``‖Xβ − y‖/‖y‖ ≤ tol`` in the final phase (converged),
    when it blows up (diverged) or when the final phase's budget is spent. The update is
    Even, Pesme, Gunasekar & Flammarion's (NeurIPS 2023, arXiv:2302.08982, Sec. 2) with the
    accumulated gain ``Σ_k q(γ_k g_k)`` of their Theorem 1; schedules are those of
    Andriushchenko et al. (ICML 2023, arXiv:2210.05337, Sec. 3).

    Parameters
    ----------
    X : array_like, shape (n, d) or (B, n, d)
        Shared design (one matrix product per step for the batch) or one per run.
    y : array_like, shape (n,) or (B, n)
        Shared target, or one target per run.
    u0, v0 : array_like, shape (d,) or (B, d)
        Initialisation (``u0 ± v0 ≠ 0``).
    stepsizes : array_like, shape (P,) or (B, P)
        Stepsize of each phase (> 0); with ``y`` of shape (n,) and ``X`` shared, ``B`` is the
        leading dimension of a 2-D ``stepsizes``.
    phase_steps : array_like of int, shape (P,) or (B, P)
        Steps per phase (≥ 0; the last ≥ 1 is the budget of the final phase).
    batch_size : int, optional
        SGD batch size in ``[1, n]``; None is full-batch GD.
    rng : int, Generator or sequence of B Generators, optional
        Mini-batch randomness: one Generator per run (each run reproducible on its own); an int
        or None (seed 0) gives :func:`run_generators` children.
    tol : float
        Relative-residual stopping tolerance of the final phase.
    record_every : int
        Stride of the recorded full-batch loss.
    backend : {"numba", "numpy"}, optional
        Step kernel (:func:`dln_verify.numeric.kernels.get_kernel`).

    Returns
    -------
    ScheduleResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((4, 10)), rng.standard_normal((2, 4))
    >>> res = run_schedule(X, y, np.full(10, 0.3), np.zeros(10), [[0.2, 0.05], [0.1, 0.05]],
    ...                    [200, 20000], batch_size=1, rng=1, tol=1e-6, record_every=100)
    >>> bool(res.converged.all()), res.losses.shape[0], res.phase_ends[0].tolist()
    (True, 2, [200, 20200])
    """
    X = as_finite_array(X, "X")
    y = as_finite_array(y, "y")
    if X.ndim not in (2, 3):
        raise ValueError(f"X must have shape (n, d) or (B, n, d), got {X.shape}")
    n, d = X.shape[-2:]
    gam = as_finite_array(stepsizes, "stepsizes")
    if gam.ndim not in (1, 2) or gam.size == 0:
        raise ValueError(f"stepsizes must have shape (P,) or (B, P), got {gam.shape}")
    if np.any(gam <= 0):
        raise ValueError(f"stepsizes must be > 0 (min is {gam.min():g})")
    candidates = [gam.shape[0]] if gam.ndim == 2 else []
    if y.ndim == 2:
        candidates.append(y.shape[0])
    if X.ndim == 3:
        candidates.append(X.shape[0])
    if np.ndim(phase_steps) == 2:
        candidates.append(np.shape(phase_steps)[0])
    if np.ndim(u0) == 2:
        candidates.append(np.shape(u0)[0])
    B = max(candidates) if candidates else 1
    if any(c != B for c in candidates):
        raise ValueError(f"batch sizes disagree across stepsizes, y, X, phase_steps, u0: "
                         f"{candidates}")
    if y.shape[-1] != n or y.ndim not in (1, 2):
        raise ValueError(f"y must have shape (n,) or (B, n) with n = {n}, got {y.shape}")
    Y = np.array(np.broadcast_to(y, (B, n)), dtype=float)
    ynorm = np.linalg.norm(Y, axis=1)
    if np.any(ynorm == 0):
        raise ValueError("y must not be identically zero in any run")
    gam = np.broadcast_to(gam, (B, gam.shape[-1])).astype(np.float64)
    steps_pp = _as_steps(phase_steps, B)
    if steps_pp.shape[1] != gam.shape[1]:
        raise ValueError(f"stepsizes has {gam.shape[1]} phases but phase_steps has "
                         f"{steps_pp.shape[1]}")
    ends = np.cumsum(steps_pp, axis=1)
    total = int(ends[:, -1].max())
    tol = check_positive(tol, "tol")
    if isinstance(record_every, bool) or not isinstance(record_every, numbers.Integral) or (
            record_every < 1):
        raise ValueError(f"record_every must be a positive integer, got {record_every!r}")
    if batch_size is not None:
        if (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                or not 1 <= batch_size <= n):
            raise ValueError(f"batch_size must be an integer in [1, n = {n}], got {batch_size!r}")
        batch_size = None if batch_size == n else int(batch_size)
    if rng is None or isinstance(rng, numbers.Integral):
        gens = run_generators(0 if rng is None else int(rng), B)
    elif isinstance(rng, np.random.Generator):
        gens = [rng] * B if B == 1 else run_generators(int(rng.integers(2**63)), B)
    elif isinstance(rng, Sequence) and all(isinstance(g, np.random.Generator) for g in rng):
        if len(rng) != B:
            raise ValueError(f"rng must hold one Generator per run (B = {B}), got {len(rng)}")
        gens = list(rng)
    else:
        raise TypeError("rng must be None, an int, a Generator or a sequence of Generators")

    U = np.array(np.broadcast_to(as_finite_array(u0, "u0"), (B, d)), dtype=float)
    V = np.array(np.broadcast_to(as_finite_array(v0, "v0"), (B, d)), dtype=float)
    if np.any(U + V == 0) or np.any(U - V == 0):
        raise ValueError("u0 and v0 must satisfy u0 + v0 != 0 and u0 - v0 != 0 entrywise")
    X = np.ascontiguousarray(X, dtype=float)
    kernel = get_kernel(backend)
    P = U * V
    R = np.empty((B, n))
    G = np.empty((B, d))
    gain = np.zeros((B, d))
    delta = np.zeros((B, d))
    sign = np.ones((B, d))
    active = np.ones(B, dtype=bool)
    diverged = np.zeros(B, dtype=bool)
    converged = np.zeros(B, dtype=bool)
    steps = np.zeros(B, dtype=np.int64)
    times = np.arange(0, total + 1, record_every)
    losses = np.empty((B, times.shape[0]))
    rows = np.arange(B)
    mask = None if batch_size is None else np.zeros((B, n))
    idx_block = None
    loss0 = None
    rec = 0
    # the products are small (B × d × n): one BLAS thread is ~20× faster than a contended pool
    # the per-run stepsize, final-phase flag and budget change only at phase boundaries
    boundaries = set(np.unique(ends).tolist()) | {0}
    last_start = ends[:, -2] if ends.shape[1] > 1 else np.zeros(B, dtype=np.int64)
    scale = final_phase = None
    shared = X.ndim == 2
    with np.errstate(over="ignore", invalid="ignore"), threadpool_limits(1):
        for k in range(total + 1):
            kernel.residual(X, Y, P, out=R)
            rnorm = np.linalg.norm(R, axis=1)
            loss = rnorm**2 / (2 * n)
            if loss0 is None:
                loss0 = np.maximum(loss, np.finfo(float).tiny)
            bad = active & (~np.isfinite(loss) | (loss > DIVERGENCE_FACTOR * loss0))
            if bad.any():
                diverged |= bad
                active &= ~bad
            if k in boundaries:
                active &= k < ends[:, -1]
                final_phase = k >= last_start
                phase = np.minimum((k >= ends).sum(axis=1), gam.shape[1] - 1)
                scale = gam[rows, phase] / (n if batch_size is None else batch_size)
            done = active & final_phase & (rnorm <= tol * ynorm)
            if done.any():
                converged |= done
                active &= ~done
            if rec < times.shape[0] and k == times[rec]:
                losses[:, rec] = np.where(diverged, np.inf, loss)
                rec += 1
            if not active.any():
                break
            if batch_size is None:
                kernel.gradient(X, R, out=G)
            else:
                j = k % _CHUNK
                if j == 0:
                    if batch_size == 1:
                        idx_block = np.stack([g.integers(0, n, size=_CHUNK) for g in gens])
                    else:
                        idx_block = np.stack([
                            np.argpartition(g.random((_CHUNK, n)), batch_size - 1,
                                            axis=1)[:, :batch_size] for g in gens])
                if batch_size == 1:  # one row per run: G = r_i x_i (a gather, no product)
                    i = idx_block[:, j]
                    np.multiply(R[rows, i][:, None], X[i] if shared else X[rows, i], out=G)
                else:
                    mask[...] = 0.0
                    mask[rows[:, None], idx_block[:, j]] = 1.0
                    kernel.gradient(X, R, mask, out=G)
            ok = kernel.update(U, V, G, scale, active, gain, delta, sign, P)
            if not ok.all():
                newly = active & ~ok
                diverged |= newly
                active &= ~newly
            steps += active
    last = np.where(diverged, np.inf, loss)
    if rec < times.shape[0]:
        losses[:, rec:] = last[:, None]
    message = tuple(
        f"run {b}: diverged after {steps[b]} steps" if diverged[b]
        else f"run {b}: converged after {steps[b]} steps (relative residual <= {tol:g})"
        if converged[b]
        else f"run {b}: not converged: budget of {int(ends[b, -1])} steps spent"
        for b in range(B))
    return ScheduleResult(times=times, losses=losses, final_beta=P.copy(), u=U, v=V, gain=gain,
                          diverged=diverged, converged=converged, steps=steps, phase_ends=ends,
                          stepsizes=gam.copy(), message=message)


def grid_threshold(X, y, u0, v0, grid, n_steps: int, *, batch_size: int | None = None,
                   rng=None, backend: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bracket each target's divergence threshold on an increasing stepsize grid.

    Every target ``y[r]`` is run at every grid stepsize for ``n_steps`` steps (one batch of
    ``R × G`` runs, shared ``X``); ``γ_max[r]`` is the largest grid stepsize below which no run
    of target ``r`` diverged, ``γ_next[r]`` the next grid point (``inf`` when none diverged).

    Returns
    -------
    gamma_max, gamma_next : ndarray, shape (R,)

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((5, 12)), rng.standard_normal((1, 5))
    >>> lo, hi = grid_threshold(X, y, np.full(12, 0.14), np.zeros(12),
    ...                         np.geomspace(0.1, 10, 9), 2000)
    >>> bool(0.1 <= lo[0] < hi[0] <= 10)
    True
    """
    g = np.asarray(as_finite_array(grid, "grid"), dtype=float)
    if g.ndim != 1 or g.size < 2 or np.any(np.diff(g) <= 0) or g[0] <= 0:
        raise ValueError("grid must be an increasing 1-D array of > 0 stepsizes (>= 2 points)")
    Y = np.atleast_2d(as_finite_array(y, "y"))
    R, G = Y.shape[0], g.shape[0]
    u = np.asarray(u0, dtype=float)
    v = np.asarray(v0, dtype=float)
    res = run_schedule(X, np.repeat(Y, G, axis=0), u if u.ndim == 1 else np.repeat(u, G, 0),
                       v if v.ndim == 1 else np.repeat(v, G, 0), np.tile(g, R)[:, None],
                       [n_steps], batch_size=batch_size, rng=rng, tol=1e-10,
                       record_every=n_steps, backend=backend)
    div = res.diverged.reshape(R, G)
    first = np.where(div.any(axis=1), np.argmax(div, axis=1), G)
    lo = np.where(first > 0, g[np.maximum(first - 1, 0)], np.nan)
    hi = np.where(first < G, g[np.minimum(first, G - 1)], np.inf)
    return lo, hi
