"""Gradient-flow integrators for diagonal linear networks (regression).

Convention (``docs/theory/conventions.md``, ``docs/theory/regression.md`` §0):
``L(β) = ‖Xβ − y‖²/(2n)``, ``g(β) = ∇L(β) = Xᵀ(Xβ − y)/n``.

- :func:`gradient_flow_uv` integrates the raw flow ``u̇ = −v ⊙ g``, ``v̇ = −u ⊙ g`` of
  ``β = u ⊙ v`` (DOP853). It does not use the mirror identity: it is the independent simulation
  compared with the prediction of :func:`dln_verify.numeric.convex.implicit_bias_solution`.
- :func:`gradient_flow_depth` integrates ``β = w₊^D − w₋^D`` with ``w±(0) = α`` (Woodworth et al.,
  COLT 2020, arXiv:2002.09277).
- :func:`gradient_flow_dual` integrates the equivalent n-dimensional flow
  ``Ġ = (Xβ − y)/n``, ``β = a ⊙ sinh(c − 2XᵀG)`` (``a = α²``, ``c = asinh(β̃₀/α²)``), which is
  exactly gradient flow on the network from ``u₀ = √2α``, ``v₀ = 0``
  (``docs/theory/regression.md`` §0.1, docs/theory/regression.md §1.1) — stiff, so LSODA/Radau with
  the analytic Jacobian, all exponentials from ``log a``.

Each returns a :class:`FlowResult`; divergence (non-finite state) and non-convergence by
``t_max`` are reported in ``diverged`` / ``converged`` / ``message``, never as NaN results.
The record uses the field names shared by every simulator of :mod:`dln_verify.numeric`:
``times`` (with ``time_unit``), ``beta``, ``final_beta``, ``diverged``, ``converged``,
``message``.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import numbers
import os
from dataclasses import dataclass

import numpy as np

from dln_verify.numeric.hyperbolic import asinh_ratio, scaled_cosh, scaled_sinh
from dln_verify.numeric.progress import progress_scope
from dln_verify.numeric.validation import (
    as_finite_array,
    check_alpha,
    check_positive,
    check_regression_data,
)

__all__ = [
    "FlowResult",
    "gradient_flow_uv",
    "gradient_flow_uv_batch",
    "gradient_flow_depth",
    "gradient_flow_dual",
]

_BLOWUP = 1e150
_GROWTH = 1e6  # growth of max|state| that, with a failed integrator, counts as a blow-up
#: default cap on accepted integrator steps per run: far above what a converging run needs
#: (the claims' flows take at most a few thousand), so a run stuck at a residual floor above
#: ``tol`` (e.g. depth 3, α = 5: DOP853 ~1e5 steps per unit time) stops instead of hanging
MAX_STEPS = 200_000


@dataclass(frozen=True)
class FlowResult:
    """Result of one gradient-flow integration (single run).

    Attributes
    ----------
    times : ndarray, shape (T,)
        Sample times in flow time ``t`` (see ``time_unit``): T ≤ n_samples accepted integrator
        steps, evenly spaced in step index (dense where the dynamics are fast), from 0 to the
        final time.
    beta : ndarray, shape (T, d)
        ``β(t)`` at the sample times (the stored trajectory).
    final_beta : ndarray, shape (d,)
        ``β`` at the final time (the event time when the residual tolerance was reached).
    residual : float
        Final ``‖Xβ − y‖ / ‖y‖`` (relative to ‖y‖).
    converged : bool
        ``residual ≤ tol`` was reached before ``t_max`` and within ``max_steps`` steps.
    diverged : bool
        A blow-up: the state became non-finite or exceeded 1e150 in magnitude, or the
        integrator failed (step size collapse) after the state grew by more than
        1e6 × (1 + max|state₀|). An integrator failure without such growth is *not* a blow-up:
        it gives ``converged = False``, ``diverged = False`` and the integrator's message.
    nfev : int
        Right-hand-side evaluations.
    message : str
        What stopped the run.
    time_unit : str
        Unit of ``times``: ``"t"`` (flow time).
    """

    times: np.ndarray
    beta: np.ndarray
    final_beta: np.ndarray
    residual: float
    converged: bool
    diverged: bool
    nfev: int
    message: str
    time_unit: str = "t"




def _check_max_steps(max_steps) -> int:
    if (
        isinstance(max_steps, bool)
        or not isinstance(max_steps, numbers.Integral)
        or max_steps < 1
    ):
        raise ValueError(f"max_steps must be an integer >= 1, got {max_steps!r}")
    return int(max_steps)


def _check_common(X, y, t_max, rtol, atol, n_samples, tol):
    X, y = check_regression_data(X, y, require_underdetermined=False)
    t_max = check_positive(t_max, "t_max")
    rtol = check_positive(rtol, "rtol")
    atol = check_positive(atol, "atol")
    tol = check_positive(tol, "tol")
    if (
        isinstance(n_samples, bool)
        or not isinstance(n_samples, numbers.Integral)
        or n_samples < 2
    ):
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    return X, y, t_max, rtol, atol, int(n_samples), tol


def _thin(ts: list, states: list, keep: int) -> tuple[list, list]:
    """Drop every other stored sample (keeping the first and the last) once there are too many."""
    if len(ts) <= keep:
        return ts, states
    idx = list(range(0, len(ts) - 1, 2)) + [len(ts) - 1]
    return [ts[i] for i in idx], [states[i] for i in idx]


def _run(rhs, state0, beta_of, X, y, *, t_max, rtol, atol, n_samples, tol, method, jac=None,
         max_steps=MAX_STEPS, label="gradient flow"):
    """Integrate step by step with a scipy ``OdeSolver``; stop at residual ≤ tol or blow-up.

    The residual is checked at every accepted step (no root finding on the interpolant, which is
    fragile at the 1e-10 level), so the final state is an actual step of the integrator.
    """
    from scipy.integrate import BDF, DOP853, LSODA, Radau

    solvers = {"DOP853": DOP853, "LSODA": LSODA, "Radau": Radau, "BDF": BDF}
    ynorm = float(np.linalg.norm(y))  # relative to ‖y‖ (y ≢ 0 is validated)

    def residual_of(state):
        with np.errstate(all="ignore"):
            return float(np.linalg.norm(X @ beta_of(state) - y)) / ynorm

    r0 = residual_of(state0)
    b0 = beta_of(state0)
    if r0 <= tol:
        return FlowResult(np.zeros(1), b0[None, :], b0, r0, True, False, 0, "already converged")
    kwargs = {"jac": jac} if jac is not None else {}
    solver = solvers[method](rhs, 0.0, state0, t_max, rtol=rtol, atol=atol, **kwargs)
    keep = 4 * n_samples
    ts, states = [0.0], [state0.copy()]
    residual = r0
    converged = diverged = False
    message = ""
    steps = 0
    last_good = (0.0, state0.copy())
    scale0 = float(np.max(np.abs(state0)))
    # progress in decades of the residual, from r0 down to tol (monotone: the flow decreases
    # the loss; advance_to ignores any float64 wobble); computed only when someone listens
    decades = math.log10(r0 / tol) if math.isfinite(r0) else None
    with progress_scope(decades, "decades", label) as bar, \
            np.errstate(over="ignore", invalid="ignore"):
        while True:
            if solver.status != "running":
                break
            msg = solver.step()
            steps += 1
            state = solver.y
            m = float(np.max(np.abs(state)))
            if not np.isfinite(m) or m > _BLOWUP or msg is not None and solver.status == "failed":
                if not np.isfinite(m) or m > _BLOWUP:
                    diverged = True
                    message = f"diverged at t = {solver.t:.6g} (state non-finite or > {_BLOWUP:g})"
                elif m > _GROWTH * (1.0 + scale0):
                    # step size collapsed while the state exploded: a finite-time blow-up
                    diverged = True
                    message = (
                        f"diverged at t = {solver.t:.6g}: integrator failed ({msg}) with the state "
                        f"grown to {m:.3g}"
                    )
                else:
                    message = f"integrator failed at t = {solver.t:.6g}: {msg}"
                break
            last_good = (float(solver.t), state.copy())
            ts.append(float(solver.t))
            states.append(state.copy())
            ts, states = _thin(ts, states, keep)
            residual = residual_of(state)
            if bar.active and 0.0 < residual < math.inf:
                bar.advance_to(math.log10(r0 / residual))
            if residual <= tol:
                converged = True
                message = f"residual {residual:.3e} <= tol {tol:.1e} at t = {solver.t:.6g}"
                break
            if steps >= max_steps:
                message = (
                    f"not converged: stopped after max_steps = {max_steps} accepted steps at "
                    f"t = {solver.t:.6g} with residual {residual:.3e} > tol {tol:.1e} (a residual "
                    f"floor of the integrator, or t_max too long for this cap)"
                )
                break
    if not message:
        message = f"not converged by t_max = {t_max:g}: residual {residual:.3e} > tol {tol:.1e}"
    t_end, state_end = last_good
    if ts[-1] != t_end:
        ts.append(t_end)
        states.append(state_end)
    idx = np.unique(np.linspace(0, len(ts) - 1, min(n_samples, len(ts))).round().astype(int))
    t_arr = np.asarray(ts)[idx]
    with np.errstate(all="ignore"):
        betas = np.array([beta_of(states[i]) for i in idx])
        beta_final = beta_of(state_end)
    if diverged:
        residual = float("inf")
    else:
        residual = residual_of(state_end)
    return FlowResult(
        t_arr, betas, beta_final, float(residual), converged, diverged, int(solver.nfev), message
    )


def gradient_flow_uv(
    X,
    y,
    u0,
    v0,
    *,
    t_max: float,
    rtol: float = 1e-12,
    atol: float = 1e-20,
    n_samples: int = 200,
    tol: float = 1e-10,
    max_steps: int = MAX_STEPS,
) -> FlowResult:
    """Raw gradient flow of ``F(u, v) = L(u ⊙ v)``: ``u̇ = −v ⊙ g``, ``v̇ = −u ⊙ g``.

    Convention: ``β = u ⊙ v``, ``L = ‖Xβ − y‖²/(2n)``, ``g = Xᵀ(Xβ − y)/n``; from
    ``u₀ = √2α``, ``v₀ = 0`` the limit is ``argmin_{Xβ=y} ψ_α`` (Woodworth et al., COLT 2020,
    Thm. 1, arXiv:2002.09277; ``docs/theory/regression.md`` §1.1), and from ``u₀ = a_u``,
    ``v₀ = a_v`` it is the Bregman projection of
    :func:`dln_verify.numeric.parametrisations.unbalanced_prediction_params`.
    Integrated with DOP853; the integration stops when ``‖Xβ−y‖/‖y‖ ≤ tol`` (relative to ‖y‖).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    u0, v0 : array_like, shape (d,)
    t_max : float
        Horizon; if the residual tolerance is not reached, ``converged`` is False.
    rtol, atol : float
        DOP853 tolerances; ``atol`` must be ≥ 1e-20 (smaller values break the initial-step
        heuristic when ``v₀ = 0``; ``docs/theory/regression.md`` §10.1).
    n_samples : int
        Maximum number of stored samples of the path.
    tol : float
        Relative residual at which the flow is stopped and declared converged.
    max_steps : int
        Cap on accepted integrator steps (default ``MAX_STEPS = 200_000``); reaching it stops
        the run with ``converged = False`` and a message saying so (a run stuck at a residual
        floor above ``tol`` would otherwise take ~forever).

    Returns
    -------
    FlowResult
    """
    X, y, t_max, rtol, atol, n_samples, tol = _check_common(X, y, t_max, rtol, atol, n_samples, tol)
    max_steps = _check_max_steps(max_steps)
    if atol < 1e-20:
        raise ValueError(f"atol must be >= 1e-20 (docs/theory/regression.md §10.1), got {atol!r}")
    n, d = X.shape
    u0 = as_finite_array(u0, "u0", ndim=1)
    v0 = as_finite_array(v0, "v0", ndim=1)
    if u0.shape[0] != d:
        raise ValueError(f"u0 must have length d = {d}, got {u0.shape[0]}")
    if v0.shape[0] != d:
        raise ValueError(f"v0 must have length d = {d}, got {v0.shape[0]}")

    def beta_of(state):
        return state[:d] * state[d:]

    def rhs(t, state):
        u, v = state[:d], state[d:]
        g = X.T @ (X @ (u * v) - y) / n
        return np.concatenate([-v * g, -u * g])

    return _run(
        rhs,
        np.concatenate([u0, v0]),
        beta_of,
        X,
        y,
        t_max=t_max,
        rtol=rtol,
        atol=atol,
        n_samples=n_samples,
        tol=tol,
        method="DOP853",
        max_steps=max_steps,
        label="gradient flow on u⊙v",
    )


#: bytes of X per column block of :func:`gradient_flow_uv_batch`: a block is read from memory
#: once per stage and re-read from cache (4 MiB: inside the L3 cache of the machines this runs
#: on, few enough blocks that the per-block Python work stays small next to the BLAS work)
BLOCK_BYTES = 4 * 2**20
#: bytes of X per column block of the compiled backend: a block is read from memory once per
#: stage pass and a second time from the core's L2 cache (512 KiB: half of a 1 MiB L2, the rest
#: for the stage vectors that stream past it), but at least ``JIT_MIN_COLUMNS`` columns (rows of
#: 2 KiB stream from memory well; for n > 256 such a block is re-read from L3 instead: at
#: (1000, 1e5) 64-column blocks were 40 % slower); the width is rounded down to a multiple of 8
JIT_BLOCK_BYTES = 2**19
JIT_MIN_COLUMNS = 256
#: backends of :func:`gradient_flow_uv_batch`
FLOW_BACKENDS = ("numba", "numpy")
#: designs with fewer entries than this run the compiled passes on one thread
_PARALLEL_MIN_ENTRIES = 2**18
_FLOW_JIT = "dln_verify.numeric._flow_jit"


def _probe_flow_jit(module) -> None:
    """Compile (or load from numba's cache) the serial kernels on a tiny problem."""
    X = np.ones((2, 3))
    Y = np.ones((1, 6))
    K = np.zeros((1, 13, 6))
    part = np.empty((1, 1, 2))
    R = np.ones((1, 2))
    module._state_ser(X, R[:0], 0.5, Y, np.empty((0, 1, 0)), 8, part)
    module._state_ser(X, R, 0.5, Y, K[:, :1].copy(), 8, np.empty((1, 0, 0)))
    module._stage_ser(X, R, 0.5, Y, K, Y.copy(), np.ones(1), np.ones(12), 2,
                      np.zeros(1, dtype=np.bool_), np.ones(13), np.ones(13), 1e-12, 1e-20, 8,
                      part, np.empty((1, 1, 2)))
    module._sum_parts(part, np.empty((1, 2)))


def _flow_jit():
    """``(module, reason)``: :mod:`dln_verify.numeric._flow_jit`, or None and why not."""
    from dln_verify.numeric._lazy import compiled_module

    return compiled_module(_FLOW_JIT, _probe_flow_jit)


def _flow_backend(backend) -> str:
    """The backend name: ``backend``, or ``DLN_VERIFY_KERNEL_BACKEND``, or numba if it compiles."""
    if backend is None:
        env = os.environ.get("DLN_VERIFY_KERNEL_BACKEND", "").strip().lower()
        if env and env not in FLOW_BACKENDS:
            raise ValueError(f"DLN_VERIFY_KERNEL_BACKEND must be one of {FLOW_BACKENDS}, got "
                             f"{env!r}")
        backend = env or ("numba" if _flow_jit()[0] is not None else "numpy")
    if backend not in FLOW_BACKENDS:
        raise ValueError(f"backend must be one of {FLOW_BACKENDS} or None, got {backend!r}")
    if backend == "numba" and _flow_jit()[0] is None:
        raise ValueError(f"backend 'numba' is not available here ({_flow_jit()[1]})")
    return backend


def _flow_threads() -> int:
    """Threads of the compiled passes.

    numba's count (``numba.get_num_threads()``: ``numba.set_num_threads``, else
    ``NUMBA_NUM_THREADS``, else the number of CPUs), capped by ``OMP_NUM_THREADS`` when that is
    set and ``NUMBA_NUM_THREADS`` is not (dask's nanny sets ``OMP_NUM_THREADS=1`` in sweep
    workers, one process per core, and the benchmarks set it for BLAS: an explicit
    ``NUMBA_NUM_THREADS`` asks for numba's threads anyway); 1 outside the main thread (numba's
    workqueue threading layer, its fallback without TBB or OpenMP, is not thread-safe).
    """
    import threading

    import numba

    if threading.current_thread() is not threading.main_thread():
        return 1
    threads = numba.get_num_threads()
    omp = os.environ.get("OMP_NUM_THREADS", "").strip()
    if not os.environ.get("NUMBA_NUM_THREADS", "").strip() and omp.isdigit() and int(omp) >= 1:
        threads = min(threads, int(omp))
    return max(1, threads)


def _rms(a: np.ndarray) -> float:
    """RMS of the entries (scipy's ``norm`` of its initial-step heuristic), one run at a time."""
    return float(np.linalg.norm(a.ravel()) / math.sqrt(a.size))


@functools.lru_cache(maxsize=1)
def _dop853_coefficients():
    """scipy's module of DOP853 coefficients, loaded from its file alone: importing it through
    ``scipy.integrate`` would first import that whole package (~0.9 s, nothing else of which the
    batched integrator uses). The module needs only numpy; if scipy's layout ever differs, the
    ordinary import is used."""
    spec = importlib.util.find_spec("scipy")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for root in locations:
        path = os.path.join(root, "integrate", "_ivp", "dop853_coefficients.py")
        if os.path.isfile(path):
            loader = importlib.util.spec_from_file_location("_dln_verify_dop853", path)
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
            return module
    from scipy.integrate._ivp import dop853_coefficients  # pragma: no cover - other layouts

    return dop853_coefficients  # pragma: no cover


def _dop853_tableau():
    """DOP853's coefficients (Hairer, Nørsett & Wanner, *Solving ODEs I*, Sec. II.10), as scipy
    ships them: ``A`` (12×12), ``B`` (12), ``C`` (12), ``E3``, ``E5`` (13)."""
    dc = _dop853_coefficients()
    s = dc.N_STAGES
    return dc.A[:s, :s], dc.B, dc.C[:s], dc.E3, dc.E5


def gradient_flow_uv_batch(
    X,
    y,
    u0,
    v0,
    *,
    t_max,
    rtol: float = 1e-12,
    atol: float = 1e-20,
    n_samples: int = 200,
    tol: float = 1e-10,
    max_steps: int = MAX_STEPS,
    block_bytes: int | None = None,
    backend: str | None = None,
) -> list[FlowResult]:
    """Several runs of the raw flow ``u̇ = −v ⊙ g``, ``v̇ = −u ⊙ g`` on one design, by DOP853.

    The same ODE, method and error control as :func:`gradient_flow_uv` (scipy's DOP853: its
    tableau, its error estimate with the 3rd- and 5th-order embedded terms, its step-size
    controller with safety 0.9 and factors in [0.2, 10], its initial-step heuristic), written
    out so that the cost per stage is one pass over ``X`` for all runs together instead of two
    passes per run: every run keeps its own step size, accepts and rejects its own steps and
    stops on its own (residual ``≤ tol``, ``t_max``, ``max_steps``, blow-up), but the stages of
    all running runs are evaluated together, and within a stage ``X`` is traversed in column
    blocks: for a block ``J`` the previous stage's ``g_J = X_Jᵀ r / n`` (so that stage's
    derivative on ``J``), this stage's state on ``J`` and its contribution ``X_J β_J`` to the
    next residual are formed while the block is in cache (every quantity but ``r`` is
    coordinatewise; see ``backend``). Nothing of the mirror identity is used. The results agree
    with :func:`gradient_flow_uv` to rounding (the sums over ``X`` are ordered by blocks), not
    bit for bit.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    u0, v0 : array_like, shape (m, d) or (d,)
        Initial states of the ``m`` runs (a 1-d array is one run).
    t_max : float or array_like, shape (m,)
        Horizon of each run.
    rtol, atol, n_samples, tol, max_steps
        As in :func:`gradient_flow_uv` (per run). Stored samples: at most ``2 n_samples``
        ``β``'s per run are kept while integrating (every other one dropped when full).
    block_bytes : int, optional
        Bytes of ``X`` per column block (at least one column per block). None: ``JIT_BLOCK_BYTES``
        (512 KiB, a block stays in the L2 cache between its two reads; at least
        ``JIT_MIN_COLUMNS = 256`` columns) for the numba backend, ``BLOCK_BYTES`` (4 MiB) for
        numpy. The numba backend rounds the width down to a multiple of 8 columns.
    backend : {"numba", "numpy"}, optional
        ``"numba"``: the passes compiled (:mod:`dln_verify.numeric._flow_jit`), each stage one
        pass over ``X`` for all runs, every sum in a fixed order (rows of ``X`` in order for
        ``Xᵀr``; eight accumulators, ``j mod 8``, combined pairwise, for ``X β``), in parallel
        over blocks for designs of ``n d ≥ 2¹⁸`` entries when more than one thread is allowed
        (numba's thread count, capped by ``OMP_NUM_THREADS`` when that is set and
        ``NUMBA_NUM_THREADS`` is not; one thread outside the main thread), each block's partial
        sums added in block order: the floats depend on the block width but not on the number
        of threads. The error sums are formed in the last stage pass and the FSAL derivative
        ``f(y_new)`` of an accepted step in the next step's first pass (12 passes over ``X``
        per step instead of 13; the same floats; a non-finite ``f(y_new)`` then fails the
        next step instead of the one that reached ``y_new``). ``"numpy"``: the reference
        (BLAS per block and run). The two agree to rounding, not bit for bit. None: the
        ``DLN_VERIFY_KERNEL_BACKEND`` environment variable if set, else numba when it imports.

    Returns
    -------
    list of FlowResult
        One per run, in order; ``nfev`` counts the right-hand-side evaluations of that run as
        scipy counts them (1 at the start, 1 in the initial-step heuristic, 12 per attempted
        step).

    Examples
    --------
    >>> import numpy as np
    >>> from dln_verify.numeric.instances import gaussian_regression
    >>> X, y = gaussian_regression(6, 20, 0)
    >>> runs = gradient_flow_uv_batch(X, y, np.full((2, 20), [[0.5], [1.0]]), np.zeros((2, 20)),
    ...                               t_max=1e3)
    >>> [r.converged for r in runs]
    [True, True]
    >>> one = gradient_flow_uv(X, y, np.full(20, 0.5), np.zeros(20), t_max=1e3)
    >>> bool(np.allclose(runs[0].final_beta, one.final_beta, rtol=0, atol=1e-10))
    True
    """
    X, y = check_regression_data(X, y, require_underdetermined=False)
    n, d = X.shape
    rtol = check_positive(rtol, "rtol")
    atol = check_positive(atol, "atol")
    tol = check_positive(tol, "tol")
    if atol < 1e-20:
        raise ValueError(f"atol must be >= 1e-20 (docs/theory/regression.md §10.1), got {atol!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) \
            or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    n_samples = int(n_samples)
    max_steps = _check_max_steps(max_steps)
    if block_bytes is not None and (isinstance(block_bytes, bool)
                                    or not isinstance(block_bytes, numbers.Integral)
                                    or block_bytes < 1):
        raise ValueError(f"block_bytes must be None or an integer >= 1, got {block_bytes!r}")
    backend = _flow_backend(backend)
    u0 = as_finite_array(u0, "u0")
    v0 = as_finite_array(v0, "v0")
    if u0.ndim == 1:
        u0 = u0[None, :]
    if v0.ndim == 1:
        v0 = v0[None, :]
    if u0.ndim != 2 or u0.shape[1] != d:
        raise ValueError(f"u0 must have shape (m, d) with d = {d}, got {u0.shape}")
    if v0.shape != u0.shape:
        raise ValueError(f"v0 must have the shape of u0, {u0.shape}, got {v0.shape}")
    m = u0.shape[0]
    t_bounds = np.broadcast_to(np.asarray(t_max, dtype=np.float64), (m,)) \
        if np.ndim(t_max) == 0 else as_finite_array(t_max, "t_max", ndim=1)
    if t_bounds.shape != (m,):
        raise ValueError(f"t_max must be a float or have length m = {m}, got {t_bounds.shape}")
    for tb in t_bounds:
        check_positive(float(tb), "t_max")

    A, Bw, C, E3, E5 = _dop853_tableau()
    n_stages = A.shape[0]
    err_exp = -1.0 / 8.0  # DOP853: error estimator of order 7
    default_blocks = block_bytes is None
    if default_blocks:
        block_bytes = JIT_BLOCK_BYTES if backend == "numba" else BLOCK_BYTES
    bcols = max(1, int(block_bytes) // (8 * n))
    if backend == "numba" and default_blocks:
        bcols = max(bcols, JIT_MIN_COLUMNS)
    if backend == "numba" and bcols >= 8:
        bcols -= bcols % 8  # the compiled dot products take 8 columns at a time
    blocks = [slice(j, min(j + bcols, d)) for j in range(0, d, bcols)]
    ynorm = float(np.linalg.norm(y))
    inv_n = 1.0 / n
    Ew3, Ew5 = np.ascontiguousarray(E3), np.ascontiguousarray(E5)
    coefs = [np.ascontiguousarray(A[p, :p] if p < n_stages else Bw)
             for p in range(n_stages + 1)]

    class _Run:
        pass

    runs = []
    for i in range(m):
        rr = _Run()
        rr.index = i
        rr.t = 0.0
        rr.t_bound = float(t_bounds[i])
        rr.nfev = 0
        rr.steps = 0
        rr.done = False
        rr.converged = rr.diverged = False
        rr.message = ""
        rr.scale0 = float(max(np.max(np.abs(u0[i])), np.max(np.abs(v0[i]))))
        runs.append(rr)

    # states are stored interleaved, (k, d, 2) with [..., 0] = u and [..., 1] = v, so that a
    # column block J of every stage is one contiguous (|J|, 2) slab (BLAS combinations); the
    # four operations below are the backend's: the residuals and the derivative of given
    # states, a stage pass and the error pass of a step
    if backend == "numba":
        jit = _flow_jit()[0]
        nb = len(blocks)
        par = nb > 1 and n * d >= _PARALLEL_MIN_ENTRIES and _flow_threads() > 1
        k_stage, k_state = ((jit._stage_par, jit._state_par) if par
                            else (jit._stage_ser, jit._state_ser))
        errors = {}  # the error sums of the last pass of the step
        no_rows = np.empty((0, n))
        no_parts = np.empty((nb, 0, 0))

        def flat(a, *shape):
            """A C-contiguous view of ``a`` as ``shape`` (the interleaved states as (k, 2d))."""
            assert a.flags.c_contiguous
            return a.reshape(shape)

        def summed(part, minus=None):
            out = np.empty(part.shape[1:])
            jit._sum_parts(part, out)
            return out if minus is None else out - minus[None, :]

        def residuals(S):
            k = S.shape[0]
            part = np.empty((nb, k, n))
            k_state(X, no_rows, inv_n, flat(S, k, 2 * d), np.empty((0, 1, 0)), bcols, part)
            return summed(part, y)

        def derivative(S, R, out):
            k = S.shape[0]
            k_state(X, np.ascontiguousarray(R), inv_n, flat(S, k, 2 * d),
                    flat(out, k, 1, 2 * d), bcols, no_parts)
            return out

        def stage_pass(p, R, Ya, K, Z, h, fresh):
            """As the numpy pass; besides, pass 1 first forms the FSAL derivative ``K[q, 0]`` of
            the runs ``fresh[q]`` (from ``R``, the residuals of their accepted ``y_new``, at
            ``Ya``), and pass 12 the error sums (kept for ``error_pass``)."""
            k = Ya.shape[0]
            part = np.empty((nb, k, n))
            epart = np.empty((nb, k, 2))
            if R is None:
                R = no_rows
            k_stage(X, R, inv_n, flat(Ya, k, 2 * d), flat(K, k, n_stages + 1, 2 * d),
                    flat(Z, k, 2 * d), h, coefs[p], p, fresh, Ew3, Ew5, rtol, atol, bcols,
                    part, epart)
            if p == n_stages:
                tot = summed(epart)
                errors["e5"], errors["e3"] = tot[:, 0].copy(), tot[:, 1].copy()
            return summed(part, y)

        def error_pass(R, Ya, K, Z):
            """The error sums of pass 12 (``K[:, 12]`` is left to the next step's pass 1)."""
            return errors.pop("e5"), errors.pop("e3")
    else:
        def residuals(S):
            """``X β − y`` for the states ``S`` (k, d, 2), rows of a (k, n) array (run by run, so
            that a run's floats do not depend on the other runs of the batch)."""
            return np.array([X @ (s[:, 0] * s[:, 1]) - y for s in S])

        def derivative(S, R, out):
            """``f(S) = (−v ⊙ g, −u ⊙ g)`` from the residuals ``R`` (k, n) of ``S``, into
            ``out``."""
            for q in range(S.shape[0]):
                g = (R[q] @ X) * inv_n
                np.multiply(S[q, :, ::-1], g[:, None], out=out[q])
                np.negative(out[q], out=out[q])
            return out

        def stage_pass(p, R, Ya, K, Z, h, fresh):
            """Pass ``p`` (1…12): the derivative of stage ``p − 1`` (from its residuals ``R``), the
            stage state ``Z`` (pass 12: ``y_new``), and its residuals, returned."""
            k = Ya.shape[0]
            coef = A[p, :p] if p < n_stages else Bw
            Rn = np.zeros((k, n))
            for J in blocks:
                XJ = X[:, J]
                w = 2 * (J.stop - J.start)
                for q in range(k):
                    if p >= 2:
                        g = (R[q] @ XJ) * inv_n  # g of stage p-1 on J
                        Kp = K[q, p - 1, J]
                        np.multiply(Z[q, J, ::-1], g[:, None], out=Kp)
                        np.negative(Kp, out=Kp)
                    dz = coef @ K[q, :p, J].reshape(p, w)
                    dz *= h[q]
                    zj = Z[q, J]
                    np.add(Ya[q, J].reshape(w), dz, out=zj.reshape(w))
                    Rn[q] += XJ @ (zj[:, 0] * zj[:, 1])
            return Rn - y[None, :]

        def error_pass(R, Ya, K, Z):
            """The derivative at ``y_new`` (FSAL stage ``K[:, 12]``) and the squared error sums."""
            k = Ya.shape[0]
            e5 = np.zeros(k)
            e3 = np.zeros(k)
            for J in blocks:
                XJ = X[:, J]
                w = 2 * (J.stop - J.start)
                for q in range(k):
                    g = (R[q] @ XJ) * inv_n
                    Kp = K[q, n_stages, J]
                    np.multiply(Z[q, J, ::-1], g[:, None], out=Kp)
                    np.negative(Kp, out=Kp)
                    scale = np.maximum(np.abs(Ya[q, J]), np.abs(Z[q, J])).reshape(w)
                    scale *= rtol
                    scale += atol
                    kq = K[q, :, J].reshape(n_stages + 1, w)
                    err = E5 @ kq
                    err /= scale
                    e5[q] += err @ err
                    err = E3 @ kq
                    err /= scale
                    e3[q] += err @ err
            return e5, e3

    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        Y = np.stack([u0, v0], axis=-1)  # (m, d, 2)
        R0 = residuals(Y)
        F = derivative(Y, R0, np.empty_like(Y))
        res0 = np.array([np.linalg.norm(r) for r in R0]) / ynorm
    samples_t = [[0.0] for _ in range(m)]
    samples_b = [[Y[i, :, 0] * Y[i, :, 1]] for i in range(m)]
    keep = 2 * n_samples
    for i, rr in enumerate(runs):
        rr.nfev = 1
        rr.residual = float(res0[i])
        rr.last = Y[i].copy()
        if rr.residual <= tol:
            rr.done = rr.converged = True
            rr.nfev = 0
            rr.message = "already converged"
    # initial step (scipy's select_initial_step, order 7), for the runs not yet converged
    live = [rr.index for rr in runs if not rr.done]
    h_abs = {}
    if live:
        Yl, Fl = Y[live], F[live]
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            scale = atol + np.abs(Yl) * rtol
            d0 = np.array([_rms(a) for a in Yl / scale])
            d1 = np.array([_rms(a) for a in Fl / scale])
            h0 = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / np.where(d1 > 0, d1, 1))
            tb = t_bounds[live]
            h0 = np.minimum(h0, tb)
            Y1 = Yl + h0[:, None, None] * Fl
            F1 = derivative(Y1, residuals(Y1), np.empty_like(Y1))
            d2 = np.array([_rms(a) for a in (F1 - Fl) / scale]) / h0
            small = (d1 <= 1e-15) & (d2 <= 1e-15)
            h1 = np.where(small, np.maximum(1e-6, h0 * 1e-3),
                          (0.01 / np.maximum(np.maximum(d1, d2), 1e-300)) ** (1.0 / 8.0))
            hs = np.minimum(np.minimum(100 * h0, h1), tb)
        for k, i in enumerate(live):
            runs[i].nfev += 1
            h_abs[i] = float(hs[k])
            runs[i].rejected = False

    # batch arrays for the running runs: state, derivative, stages (k, 13, 2, d)
    act = live
    Ya = Y[act].copy() if act else None
    K_buf = np.empty((len(act), n_stages + 1, d, 2))
    Z_buf = np.empty((len(act), d, 2))
    Fa = F[act].copy() if act else None
    # numba: the FSAL derivative f(y_new) of an accepted step is formed in the next step's first
    # pass (one pass over X per step fewer), from the residuals R_last of y_new: fresh[q]
    lazy_fsal = backend == "numba"
    fresh = np.zeros(len(act), dtype=np.bool_)
    R_last = None
    del Y, F, R0
    label = "gradient flow on u⊙v" + (f" ({m} runs)" if m > 1 else "")
    r0_worst = max((runs[i].residual for i in act), default=tol)
    decades = math.log10(r0_worst / tol) if act and math.isfinite(r0_worst) else None
    with progress_scope(decades, "decades", label) as bar, \
            np.errstate(over="ignore", invalid="ignore", under="ignore"):
        while act:
            k = len(act)
            # the first k rows of buffers allocated once (a fresh 80 MB K per step cost its
            # page faults, ~10 ms, at every step)
            K = K_buf[:k]
            Z = Z_buf[:k]  # the latest stage state
            h = np.empty(k)
            t_new = np.empty(k)
            for q, i in enumerate(act):
                rr = runs[i]
                min_step = 10 * abs(np.nextafter(rr.t, np.inf) - rr.t)
                ha = h_abs[i]
                if ha < min_step:
                    ha = min_step if not rr.rejected else ha
                tn = rr.t + ha
                if tn - rr.t_bound > 0:
                    tn = rr.t_bound
                h[q] = tn - rr.t
                t_new[q] = tn
                rr.min_step = min_step
            K[:, 0] = Fa
            R = None
            if fresh.any():
                R = np.where(fresh[:, None], R_last, 0.0)
            # passes 1..12: stage states Z_1..Z_11 and y_new (Z_12); in pass p the derivative of
            # stage p-1 is finished block by block first (it needs the full residual R of Z_{p-1})
            for p in range(1, n_stages + 1):
                R = stage_pass(p, R, Ya, K, Z, h, fresh)
            if fresh.any():
                Fa[fresh] = K[fresh, 0]
            # the derivative at y_new (FSAL stage) and the error norms, block by block (numba:
            # the error norms come from pass 12, the FSAL stage from the next step's pass 1)
            e5, e3 = error_pass(R, Ya, K, Z)
            R_last = R
            res_new = np.array([np.linalg.norm(r) for r in R]) / ynorm
            keep_rows = []
            for q, i in enumerate(act):
                rr = runs[i]
                rr.nfev += n_stages
                if e5[q] == 0 and e3[q] == 0:
                    err = 0.0
                else:
                    err = abs(h[q]) * e5[q] / math.sqrt((e5[q] + 0.01 * e3[q]) * 2 * d)
                if err < 1:
                    factor = 10.0 if err == 0 else min(10.0, 0.9 * err ** err_exp)
                    if rr.rejected:
                        factor = min(1.0, factor)
                    h_abs[i] = abs(h[q]) * factor
                    rr.rejected = False
                    # accepted: the new state
                    state = Z[q]
                    mx = float(np.max(np.abs(state)))
                    if not math.isfinite(mx) or mx > _BLOWUP:
                        rr.diverged = rr.done = True
                        rr.t_fail = float(t_new[q])
                        rr.message = (f"diverged at t = {t_new[q]:.6g} (state non-finite or > "
                                      f"{_BLOWUP:g})")
                        continue
                    rr.t = float(t_new[q])
                    rr.steps += 1
                    rr.last = state.copy()
                    Ya[q] = state
                    if lazy_fsal:
                        fresh[q] = True
                    else:
                        Fa[q] = K[q, n_stages]
                    rr.residual = float(res_new[q])
                    samples_t[i].append(rr.t)
                    samples_b[i].append(state[:, 0] * state[:, 1])
                    samples_t[i], samples_b[i] = _thin(samples_t[i], samples_b[i], keep)
                    if rr.residual <= tol:
                        rr.converged = rr.done = True
                        rr.message = (f"residual {rr.residual:.3e} <= tol {tol:.1e} at "
                                      f"t = {rr.t:.6g}")
                    elif rr.t == rr.t_bound:
                        rr.done = True
                        rr.message = (f"not converged by t_max = {rr.t_bound:g}: residual "
                                      f"{rr.residual:.3e} > tol {tol:.1e}")
                    elif rr.steps >= max_steps:
                        rr.done = True
                        rr.message = (
                            f"not converged: stopped after max_steps = {max_steps} accepted "
                            f"steps at t = {rr.t:.6g} with residual {rr.residual:.3e} > tol "
                            f"{tol:.1e} (a residual floor of the integrator, or t_max too long "
                            f"for this cap)")
                else:
                    fac = 0.9 * err ** err_exp if math.isfinite(err) else math.nan
                    h_abs[i] = abs(h[q]) * (fac if fac > 0.2 else 0.2)
                    rr.rejected = True
                    fresh[q] = False
                    if h_abs[i] < rr.min_step:
                        # scipy: "Required step size is less than spacing between numbers."
                        rr.done = True
                        msg = "Required step size is less than spacing between numbers."
                        mx = float(np.max(np.abs(Ya[q])))
                        if mx > _GROWTH * (1.0 + rr.scale0):
                            rr.diverged = True
                            rr.message = (f"diverged at t = {rr.t:.6g}: integrator failed "
                                          f"({msg}) with the state grown to {mx:.3g}")
                        else:
                            rr.message = f"integrator failed at t = {rr.t:.6g}: {msg}"
                if not rr.done:
                    keep_rows.append(q)
            if bar.active:
                worst = max(runs[i].residual for i in act)
                if 0.0 < worst < math.inf:
                    bar.advance_to(math.log10(r0_worst / worst))
            if len(keep_rows) != k:
                act = [act[q] for q in keep_rows]
                Ya = Ya[keep_rows].copy()
                Fa = Fa[keep_rows].copy()
                fresh = fresh[keep_rows]
                R_last = R_last[keep_rows]
            del K, Z
    K_buf = Z_buf = None

    results = []
    for i, rr in enumerate(runs):
        ts, bs = samples_t[i], samples_b[i]
        idx = np.unique(np.linspace(0, len(ts) - 1, min(n_samples, len(ts))).round().astype(int))
        with np.errstate(all="ignore"):
            final = rr.last[:, 0] * rr.last[:, 1]
            if rr.diverged:
                residual = float("inf")
            else:
                residual = float(np.linalg.norm(X @ final - y)) / ynorm
        results.append(FlowResult(np.asarray(ts)[idx], np.array([bs[j] for j in idx]), final,
                                  residual, rr.converged, rr.diverged, int(rr.nfev), rr.message))
    return results


def gradient_flow_depth(
    X,
    y,
    alpha,
    depth: int,
    *,
    t_max: float,
    rtol: float = 1e-12,
    atol: float = 1e-20,
    n_samples: int = 200,
    tol: float = 1e-10,
    max_steps: int = MAX_STEPS,
) -> FlowResult:
    """Raw gradient flow of ``β = w₊^D − w₋^D`` from ``w₊(0) = w₋(0) = α``.

    ``ẇ₊ = −D w₊^{D−1} ⊙ g``, ``ẇ₋ = +D w₋^{D−1} ⊙ g`` with ``g = Xᵀ(Xβ − y)/n``. The limit is
    ``argmin_{Xβ=y} α^D Σ q_D(β_i/α^D)`` (Woodworth et al., COLT 2020, Thm. 3,
    arXiv:2002.09277; ``docs/theory/regression.md`` §1.2); at ``D = 2`` this is Woodworth's ``Q_α``,
    i.e. ``ψ_{√2 α}`` of the ``u ⊙ v`` convention. DOP853, stopped at residual ≤ ``tol``.

    Parameters
    ----------
    X, y : array_like
    alpha : float or array_like, shape (d,)
        Initial weights, > 0.
    depth : int
        ``D ≥ 2``.
    t_max, rtol, atol, n_samples, tol, max_steps
        As in :func:`gradient_flow_uv`.
    """
    X, y, t_max, rtol, atol, n_samples, tol = _check_common(X, y, t_max, rtol, atol, n_samples, tol)
    max_steps = _check_max_steps(max_steps)
    if atol < 1e-20:
        raise ValueError(f"atol must be >= 1e-20 (docs/theory/regression.md §10.1), got {atol!r}")
    n, d = X.shape
    alpha = check_alpha(alpha, d)
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 2:
        raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
    D = int(depth)
    w0 = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (d,)).copy()

    def beta_of(state):
        return state[:d] ** D - state[d:] ** D

    def rhs(t, state):
        wp, wm = state[:d], state[d:]
        g = X.T @ (X @ (wp**D - wm**D) - y) / n
        return np.concatenate([-D * wp ** (D - 1) * g, D * wm ** (D - 1) * g])

    return _run(
        rhs,
        np.concatenate([w0, w0]),
        beta_of,
        X,
        y,
        t_max=t_max,
        rtol=rtol,
        atol=atol,
        n_samples=n_samples,
        tol=tol,
        method="DOP853",
        max_steps=max_steps,
        label=f"depth-{D} gradient flow" + (f", α = {float(alpha):g}" if np.ndim(alpha) == 0
                                             else ""),
    )


def gradient_flow_dual(
    X,
    y,
    alpha,
    reference=None,
    *,
    t_max: float,
    rtol: float = 1e-12,
    atol: float = 1e-14,
    n_samples: int = 200,
    tol: float = 1e-10,
    method: str = "auto",
    max_steps: int = MAX_STEPS,
) -> FlowResult:
    """Gradient flow on the network, integrated in the n-dimensional dual coordinates.

    For ``β = u ⊙ v`` from ``u₀ = √2α``, ``v₀ = 0`` (or any init with ``α_eff = α`` and
    ``β̃₀ = reference``, see
    :func:`dln_verify.numeric.parametrisations.effective_scale_and_reference`),
    gradient flow satisfies exactly ``β(t) = a ⊙ sinh(c − 2XᵀG(t))`` with ``a = α²``,
    ``c = asinh(β̃₀/α²)`` and ``Ġ = (Xβ − y)/n``, ``G(0) = 0`` (``docs/theory/regression.md`` §0.1;
    Woodworth et al., COLT 2020, arXiv:2002.09277). The Jacobian
    ``∂Ġ/∂G = −(2/n) X diag(a cosh(c − 2XᵀG)) Xᵀ`` is supplied; all exponentials use ``log a``
    (:mod:`dln_verify.numeric.hyperbolic`), so α down to 1e-30 is fine.

    Parameters
    ----------
    X, y : array_like
    alpha : float or array_like, shape (d,)
        Scale, > 0.
    reference : array_like, shape (d,), optional
        ``β̃₀`` (None means 0).
    t_max, rtol, atol, n_samples, tol, max_steps
        As in :func:`gradient_flow_uv` (``atol`` applies to ``G``; ``max_steps`` per attempt).
    method : {"auto", "LSODA", "Radau", "BDF"}
        Stiff-capable scipy integrator. ``"auto"``: LSODA (fastest), and if LSODA's state becomes
        non-finite (its first huge step on the plateau at tiny α can overflow ``a sinh``), the
        integration is redone with BDF, which rejects such steps; the message says so. The dual
        flow is a gradient flow of a convex function and cannot truly diverge.
    """
    X, y, t_max, rtol, atol, n_samples, tol = _check_common(X, y, t_max, rtol, atol, n_samples, tol)
    max_steps = _check_max_steps(max_steps)
    if method not in ("auto", "LSODA", "Radau", "BDF"):
        raise ValueError(f"method must be 'auto', 'LSODA', 'Radau' or 'BDF', got {method!r}")
    n, d = X.shape
    alpha = check_alpha(alpha, d)
    log_a = 2.0 * np.broadcast_to(np.log(np.asarray(alpha, dtype=np.float64)), (d,)).copy()
    if reference is None:
        c = np.zeros(d)
    else:
        reference = as_finite_array(reference, "reference", ndim=1)
        if reference.shape[0] != d:
            raise ValueError(f"reference must have length d = {d}, got {reference.shape[0]}")
        c = asinh_ratio(reference, log_a)
    Xt = X.T

    def beta_of(G):
        return scaled_sinh(log_a, c - 2.0 * (Xt @ G))

    def rhs(t, G):
        return (X @ beta_of(G) - y) / n

    def jac(t, G):
        w = scaled_cosh(log_a, c - 2.0 * (Xt @ G))
        return -(2.0 / n) * ((X * w) @ Xt)

    def run(m):
        return _run(
            rhs,
            np.zeros(n),
            beta_of,
            X,
            y,
            t_max=t_max,
            rtol=rtol,
            atol=atol,
            n_samples=n_samples,
            tol=tol,
            method=m,
            jac=jac,
            max_steps=max_steps,
            label=f"dual gradient flow ({m})",
        )

    if method != "auto":
        return run(method)
    res = run("LSODA")
    if res.diverged or (not res.converged and "integrator failed" in res.message):
        retry = run("BDF")
        note = f"LSODA failed ({res.message}); redone with BDF: "
        res = FlowResult(
            retry.times,
            retry.beta,
            retry.final_beta,
            retry.residual,
            retry.converged,
            retry.diverged,
            res.nfev + retry.nfev,
            note + retry.message,
        )
    return res
