"""Heavy-ball momentum (MGD) and the momentum gradient flow (MGF) on a diagonal linear network.

Convention (``docs/theory/conventions.md``, docs/theory/regression.md §0 and §5): ``β = u ⊙ v``,
``u₀ = √2 α``, ``v₀ = 0``, loss ``L(β) = ‖Xβ − y‖² / (2n)``, ``g = ∇L(β) = Xᵀ(Xβ − y)/n``,
``F(u, v) = L(u ⊙ v)``. The momentum parameter is called ``momentum`` (``β_m``) to keep ``β`` for
the regression vector.

- :func:`heavy_ball` — batched heavy-ball MGD
  ``w_{k+1} = w_k − γ∇F(w_k) + β_m (w_k − w_{k−1})``, ``w_{−1} = w_0``, over a grid of
  ``(γ, β_m)`` pairs on a leading batch axis, observed at common *physical* times
  ``t_k = k γ/(1−β_m)``.
- :func:`momentum_gradient_flow` — the MGF ``λ ẅ + ẇ + ∇F(w) = 0``, ``ẇ(0) = 0``, integrated
  in the coordinates ``s = u + v``, ``d = u − v``, with the path integrals ``∫(ṡ/s)²`` and
  ``∫(ḋ/d)²`` that give the implicit regularisation, and detection of ``u ± v`` crossing zero
  (where the formula no longer applies).

Reference: K. Papazov, S. Pesme, N. Flammarion, "Leveraging continuous time to understand
momentum when training diagonal linear networks", AISTATS 2024, arXiv:2403.05293. The exact
implicit-regularisation formula with ``α±`` and the reference point ``β̃₀`` is derived (and
checked numerically) in ``docs/theory/regression.md`` §5.3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dln_verify.numeric._lazy import compiled_module, lazy_module
from dln_verify.numeric.heavy_ball_kernel import (
    PER_RUN_MAX_SIZE,
    compiled_available,
    run_heavy_ball,
)
from dln_verify.numeric.progress import progress_scope, track_time
from dln_verify.numeric.validation import (
    as_finite_array,
    check_alpha,
    check_in_range,
    check_positive,
    check_regression_data,
)

_scipy_integrate = lazy_module("scipy.integrate")  # imported on first use

__all__ = [
    "invariant_lambda",
    "time_step",
    "stepsize_for",
    "HeavyBallResult",
    "heavy_ball",
    "MGFResult",
    "momentum_gradient_flow",
    "relative_path_error",
]

#: a run whose loss exceeds this multiple of its initial loss (or is non-finite) has diverged
DIVERGENCE_FACTOR = 1e8
#: most iterations :func:`heavy_ball` makes for one run (``⌈max(times)/h_b⌉``): about 20 s of
#: the Python loop for a small batch; the claims need at most 200_000 (momentum-sparsity,
#: thorough profile: λ = 0.02, β_m = 0.9, T = 400)
MAX_ITERATIONS = 2_000_000
#: largest ``t_max/λ`` for an explicit integrator in :func:`momentum_gradient_flow`: the fast
#: mode decays at rate 1/λ, so DOP853 needs ≳ t_max/(6λ) steps (measured at the ratio 1e5,
#: n = 20, d = 40: 2.9e5 evaluations, 6 s; the claims use at most 7.5e4)
MAX_T_OVER_LAM = 1e5
_EXPLICIT_METHODS = ("RK23", "RK45", "DOP853")
_METHODS = _EXPLICIT_METHODS + ("Radau", "BDF", "LSODA")


def _positive(value, name: str) -> np.ndarray:
    arr = as_finite_array(value, name)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 (entrywise), min is {arr.min():g}")
    return arr


def _momentum(value) -> np.ndarray:
    arr = as_finite_array(value, "momentum")
    if np.any((arr < 0) | (arr >= 1)):
        raise ValueError(f"momentum must lie in [0, 1) (entrywise), got range "
                         f"[{arr.min():g}, {arr.max():g}]")
    return arr


def invariant_lambda(stepsize, momentum):
    """The intrinsic constant ``λ = γ / (1 − β_m)²`` of Papazov et al. (2024), Sec. 3
    (docs/theory/regression.md §5.1).

    ``stepsize > 0`` and ``momentum ∈ [0, 1)`` (scalars or arrays; ValueError otherwise).
    """
    return _positive(stepsize, "stepsize") / (1.0 - _momentum(momentum)) ** 2


def time_step(stepsize, momentum):
    """Physical time per iteration ``h = γ / (1 − β_m)`` (so ``t_k = k h``).

    ``stepsize > 0`` and ``momentum ∈ [0, 1)`` (scalars or arrays; ValueError otherwise).
    """
    return _positive(stepsize, "stepsize") / (1.0 - _momentum(momentum))


def stepsize_for(lam, momentum):
    """The stepsize ``γ = λ (1 − β_m)²`` giving intrinsic constant ``λ`` at momentum ``β_m``.

    ``lam > 0`` and ``momentum ∈ [0, 1)`` (scalars or arrays; ValueError otherwise).
    """
    return _positive(lam, "lam") * (1.0 - _momentum(momentum)) ** 2


def _check_batch_params(stepsizes, momenta) -> tuple[np.ndarray, np.ndarray]:
    gam = as_finite_array(np.atleast_1d(stepsizes), "stepsizes", ndim=1)
    mom = as_finite_array(np.atleast_1d(momenta), "momenta", ndim=1)
    if gam.shape != mom.shape:
        raise ValueError(
            f"stepsizes and momenta must have the same length B, got {gam.shape} and {mom.shape}"
        )
    if np.any(gam <= 0):
        raise ValueError(f"stepsizes must be > 0 entrywise (min is {gam.min():g})")
    if np.any((mom < 0) | (mom >= 1)):
        raise ValueError(f"momenta must lie in [0, 1) entrywise, got range [{mom.min():g}, "
                         f"{mom.max():g}]")
    return gam, mom


@dataclass(frozen=True)
class HeavyBallResult:
    """Output of :func:`heavy_ball` (batch axis first).

    Field names are those shared by every simulator of :mod:`dln_verify.numeric` (``times``,
    ``time_unit``, ``beta``, ``final_beta``, ``diverged``, ``converged``, ``message``).

    Attributes
    ----------
    times : ndarray (T,)
        Physical observation times ``t`` (``time_unit = "t"``; iteration ``k`` of run ``b``
        sits at ``t = k h_b``).
    beta : ndarray (B, T, d)
        ``β = u ⊙ v`` at time ``t`` (linear interpolation between the two iterates whose times
        ``k h`` bracket ``t``; the interpolation error is ``O(h²)``, below the ``O(h)`` claim).
    final_beta : ndarray (B, d)
        ``u ⊙ v`` at the last iterate of each run (NaN for diverged runs).
    u, v : ndarray (B, d)
        Iterates at the last iteration ``K_b = ⌈t_max / h_b⌉`` of each run.
    stepsize, momentum, lam, time_step : ndarray (B,)
        ``γ``, ``β_m``, ``λ = γ/(1−β_m)²`` and ``h = γ/(1−β_m)`` of each run.
    iterations : ndarray (B,) of int
    diverged : ndarray (B,) of bool
        A blow-up: non-finite or exploding loss (``> 1e8 ×`` (initial loss + 1)) before
        ``K_b``.
    converged : ndarray (B,) of bool
        The run made its ``K_b`` iterations (its stopping criterion: reaching ``max(times)``)
        without diverging; equal to ``~diverged`` (the budget is fixed by ``times``).
    residual : ndarray (B,)
        ``‖Xβ − y‖ / ‖y‖`` (relative to ‖y‖) at the last iterate (``inf`` for diverged runs).
    message : tuple of str, length B
        One line per run.
    time_unit : str
        Unit of ``times``: ``"t"`` (physical time).
    """

    times: np.ndarray
    beta: np.ndarray
    u: np.ndarray
    v: np.ndarray
    stepsize: np.ndarray
    momentum: np.ndarray
    lam: np.ndarray
    time_step: np.ndarray
    iterations: np.ndarray
    diverged: np.ndarray
    residual: np.ndarray
    final_beta: np.ndarray
    converged: np.ndarray
    message: tuple[str, ...] = ()
    time_unit: str = "t"


def _grad(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Residual ``r = Xβ − y`` (B, n) and ``g = Xᵀ r / n`` (B, d) for shared or per-run X."""
    if X.ndim == 2:
        r = beta @ X.T - y
        g = r @ X / X.shape[0]
    else:
        r = np.einsum("bnd,bd->bn", X, beta) - y
        g = np.einsum("bnd,bn->bd", X, r) / X.shape[1]
    return r, g


def heavy_ball(
    X,
    y,
    alpha,
    stepsizes,
    momenta,
    times,
    *,
    design=None,
    backend: str | None = None,
) -> HeavyBallResult:
    """Batched heavy-ball MGD on a DLN, observed at common physical times.

    Runs ``u_{k+1} = u_k − γ_b v_k ⊙ g_k + β_b (u_k − u_{k−1})`` and
    ``v_{k+1} = v_k − γ_b u_k ⊙ g_k + β_b (v_k − v_{k−1})`` with ``u_{−1} = u_0 = √2 α``,
    ``v_{−1} = v_0 = 0`` and ``g_k = Xᵀ(X(u_k ⊙ v_k) − y)/n`` for every pair ``(γ_b, β_b)`` at
    once (batch axis first). Iteration ``k`` of run ``b`` sits at physical time
    ``t = k h_b``, ``h_b = γ_b/(1 − β_b)`` (Papazov, Pesme & Flammarion, AISTATS 2024,
    arXiv:2403.05293): with this clock runs with equal ``λ = γ/(1−β_m)²`` follow the same MGF
    path as ``β_m → 1``.

    Parameters
    ----------
    X : array_like, shape (n, d) or (B, n, d)
        Shared design, or one design per run (e.g. one per seed).
    y : array_like, shape (n,) or (B, n)
    alpha : float or array_like (d,)
        Initialisation scale (``u₀ = √2 α``), > 0.
    stepsizes, momenta : array_like, shape (B,)
        ``γ_b > 0`` and ``β_b ∈ [0, 1)``.
    times : array_like, shape (T,)
        Non-negative, non-decreasing observation times; run ``b`` makes ``⌈max(times)/h_b⌉``
        iterations, which must be ≤ ``MAX_ITERATIONS = 2_000_000`` (ValueError naming
        ``stepsizes``/``times`` otherwise).
    design : array_like of int, shape (B,), optional
        With ``X`` of shape (S, n, d) and ``y`` (S, n): run ``b`` uses design
        ``design[b] ∈ {0, …, S−1}``, so that runs sharing a design read one array (no copies).
        None: ``X`` is shared (n, d) or has one design per run (B, n, d).
    backend : {None, "numba", "numpy"}
        ``"numba"``: every run's whole loop compiled
        (:mod:`dln_verify.numeric.heavy_ball_kernel`); ``"numpy"``: the batched numpy loop
        (one product over the batch per iteration). None: numba when it is available and
        ``n·d ≤ PER_RUN_MAX_SIZE`` (small designs, where the interpreter sets the pace), numpy
        otherwise. Both give the same iterates up to rounding (the order of summation in the
        products differs).

    Returns
    -------
    HeavyBallResult
        Paths, final iterates, per-run divergence flags and residuals. Divergence (non-finite
        loss, or loss above ``1e8 ×`` the initial one) is checked every 16 iterations and at
        the end; a diverged run is dropped from the batch, flagged, and its path and final
        iterate are set to NaN (read them only through ``diverged``). Whether a run
        diverged depends on that run alone (not on the other runs of the batch).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((2, 4, 8)), rng.standard_normal((2, 4))
    >>> res = heavy_ball(X, y, 0.3, [0.02, 0.02, 0.05], [0.5, 0.5, 0.8], [0.0, 50.0],
    ...                  design=[0, 1, 1])
    >>> res.beta.shape, bool(res.diverged.any()), bool(res.residual.max() < 1e-3)
    ((3, 2, 8), False, True)
    """
    gam, mom = _check_batch_params(stepsizes, momenta)
    B = gam.shape[0]
    X = as_finite_array(X, "X")
    y = as_finite_array(y, "y")
    if backend not in (None, "numba", "numpy"):
        raise ValueError(f"backend must be None, 'numba' or 'numpy', got {backend!r}")
    if design is not None:
        design = _check_design(design, X, y, B)
    if X.ndim == 2:
        check_regression_data(X, y, require_underdetermined=False)
        d = X.shape[1]
    elif X.ndim == 3:
        S = X.shape[0] if design is not None else B
        if X.shape[0] != S or y.shape != (S, X.shape[1]):
            raise ValueError(
                f"per-run X must have shape (B, n, d) and y shape (B, n) with B = {B}, got "
                f"{X.shape} and {y.shape}"
            )
        for b in range(S):  # each design, as for a shared one (y_b ≢ 0 included)
            check_regression_data(X[b], y[b], require_underdetermined=False)
        d = X.shape[2]
    else:
        raise ValueError(f"X must have 2 or 3 axes, got shape {X.shape}")
    alpha = check_alpha(alpha, d)
    times = as_finite_array(np.atleast_1d(times), "times", ndim=1)
    if np.any(times < 0) or np.any(np.diff(times) < 0):
        raise ValueError("times must be non-negative and non-decreasing")

    h = gam / (1.0 - mom)
    lam = gam / (1.0 - mom) ** 2
    n_iter = float(np.max(times)) / h
    if np.any(n_iter > MAX_ITERATIONS):
        b = int(np.argmax(n_iter))
        raise ValueError(
            f"stepsizes/times imply {n_iter[b]:.3g} iterations for run {b} (max(times) = "
            f"{float(np.max(times)):g}, h = stepsize/(1 - momentum) = {h[b]:.3g}); at most "
            f"MAX_ITERATIONS = {MAX_ITERATIONS} are allowed: raise the stepsizes or shorten times"
        )
    pos = times[None, :] / h[:, None]  # fractional iteration index of each observation, (B, T)
    k_hi = np.ceil(pos - 1e-12).astype(np.int64)
    k_hi = np.maximum(k_hi, 0)
    k_end = k_hi.max(axis=1)  # K_b
    n = X.shape[-2]
    use_compiled = backend == "numba" or (
        backend is None and n * d <= PER_RUN_MAX_SIZE and compiled_available())
    if use_compiled:
        if not compiled_available():
            raise ValueError("backend 'numba' is not available here (numba does not import or "
                             "compile); use backend='numpy'")
        return _heavy_ball_compiled(X, y, design, alpha, gam, mom, lam, h, times, pos, k_hi,
                                    k_end)
    if design is not None:  # the batched loop takes one design per run
        X, y = X[design], y[design]
    schedule: dict[int, list[tuple[int, int]]] = {}
    for b in range(B):
        for j in range(times.shape[0]):
            schedule.setdefault(int(k_hi[b, j]), []).append((b, j))

    u = np.broadcast_to(np.sqrt(2.0) * np.asarray(alpha, dtype=float), (B, d)).copy()
    v = np.zeros((B, d))
    u_prev, v_prev = u.copy(), v.copy()
    u_out, v_out = np.full((B, d), np.nan), np.full((B, d), np.nan)
    residual = np.full(B, np.inf)
    diverged = np.zeros(B, dtype=bool)
    path = np.full((B, times.shape[0], d), np.nan)
    ynorm = np.linalg.norm(y, axis=-1) * np.ones(B)  # relative to ‖y‖ (y ≢ 0 is validated)
    # working set: the active runs (compacted when runs finish or diverge, so no masking)
    act = np.arange(B)
    slot = np.arange(B)  # position of a global run in the working arrays, -1 once retired
    Xa, ya = X, y
    ga, ma, ke = gam[:, None], mom[:, None], k_end
    r, g = _grad(Xa, ya, u * v)
    limit = DIVERGENCE_FACTOR * (0.5 * np.mean(r**2, axis=1) + 1.0)
    K = int(k_end.max())
    with progress_scope(K, "it", f"heavy ball, {B} run(s)") as bar, \
            np.errstate(over="ignore", invalid="ignore"):
        report = bar.advance_to if bar.active else None  # None: no cost inside the loop
        for k in range(K + 1):
            if report is not None and not k & 255:
                report(k)
            if k in schedule:
                for b, j in schedule[k]:
                    i = slot[b]
                    if i < 0:
                        continue
                    if k == 0:
                        path[b, j] = u[i] * v[i]
                    else:
                        bp, bc = u_prev[i] * v_prev[i], u[i] * v[i]
                        path[b, j] = bp + (pos[b, j] - (k - 1)) * (bc - bp)
            done = ke <= k
            bad = np.zeros_like(done)
            if k % 16 == 0 or done.any():
                # every 16 iterations, and for a run at its last iteration (each run's verdict
                # depends on that run only)
                loss = 0.5 * np.mean(r**2, axis=1)
                bad = ~(np.isfinite(loss) & (loss <= limit))
                if k % 16:
                    bad &= done
            retire = done | bad
            if retire.any():
                gid = act[retire]
                diverged[act[bad]] = True
                u_out[gid], v_out[gid] = u[retire], v[retire]
                residual[gid] = np.linalg.norm(r[retire], axis=1) / ynorm[gid]
                slot[gid] = -1
                keep = ~retire
                act = act[keep]
                slot[act] = np.arange(act.shape[0])
                u, v, u_prev, v_prev, r, g = u[keep], v[keep], u_prev[keep], v_prev[keep], \
                    r[keep], g[keep]
                ga, ma, ke, limit = ga[keep], ma[keep], ke[keep], limit[keep]
                if X.ndim == 3:
                    Xa, ya = X[act], y[act]
                if act.shape[0] == 0:
                    break
            u_new = u - ga * v * g + ma * (u - u_prev)
            v_new = v - ga * u * g + ma * (v - v_prev)
            u_prev, v_prev, u, v = u, v, u_new, v_new
            r, g = _grad(Xa, ya, u * v)
        if report is not None:
            report(K)
    path[diverged] = np.nan
    u_out[diverged], v_out[diverged], residual[diverged] = np.nan, np.nan, np.inf
    return _heavy_ball_result(times, path, u_out, v_out, gam, mom, lam, h, k_end, diverged,
                              residual)


def _check_design(design, X, y, B: int) -> np.ndarray:
    """``design`` as int64 (B,) indexing the first axis of ``X`` (S, n, d) and ``y`` (S, n)."""
    if X.ndim != 3 or y.ndim != 2:
        raise ValueError(f"design needs X of shape (S, n, d) and y of shape (S, n), got "
                         f"{X.shape} and {y.shape}")
    arr = np.asarray(design)
    if arr.shape != (B,) or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"design must be B = {B} integers (one design index per run), got "
                         f"shape {arr.shape} and dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= X.shape[0]:
        raise ValueError(f"design entries must lie in [0, S - 1] = [0, {X.shape[0] - 1}], got "
                         f"range [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64)


def _heavy_ball_compiled(X, y, design, alpha, gam, mom, lam, h, times, pos, k_hi, k_end):
    """:func:`heavy_ball` with each run's loop compiled (the designs are never copied)."""
    B, d = gam.shape[0], X.shape[-1]
    if X.ndim == 2:
        Xs, ys, design = X[None], y[None], np.zeros(B, dtype=np.int64)
    elif design is None:
        Xs, ys, design = X, y, np.arange(B, dtype=np.int64)
    else:
        Xs, ys = X, y
    Xs, ys = np.ascontiguousarray(Xs), np.ascontiguousarray(ys)
    u0 = np.broadcast_to(np.sqrt(2.0) * np.asarray(alpha, dtype=float), (d,)).copy()
    # interpolation weights exactly as the batched loop forms them: pos − (k − 1)
    w_obs = pos - (k_hi - 1)
    total = int(np.sum(k_end + 1))
    with progress_scope(total, "it", f"heavy ball, {B} run(s), compiled") as bar:
        report = bar.advance_to if bar.active else None
        path, u, v, diverged, rnorm = run_heavy_ball(
            Xs, ys, design, u0, gam, mom, k_end.astype(np.int64),
            np.ascontiguousarray(k_hi, dtype=np.int64), np.ascontiguousarray(w_obs),
            DIVERGENCE_FACTOR, report)
    ynorm = np.linalg.norm(ys, axis=-1)[design]
    residual = np.where(diverged, np.inf, rnorm / ynorm)
    return _heavy_ball_result(times, path, u, v, gam, mom, lam, h, k_end, diverged, residual)


def _heavy_ball_result(times, path, u_out, v_out, gam, mom, lam, h, k_end, diverged, residual):
    B = gam.shape[0]
    message = tuple(
        f"run {b}: diverged (non-finite loss or loss > {DIVERGENCE_FACTOR:g} x (initial loss "
        f"+ 1)) before iteration {k_end[b]}" if diverged[b]
        else f"run {b}: reached t = {float(np.max(times)):g} after {k_end[b]} iterations"
        for b in range(B)
    )
    return HeavyBallResult(
        times=times, beta=path, u=u_out, v=v_out, stepsize=gam, momentum=mom, lam=lam, time_step=h,
        iterations=k_end, diverged=diverged, residual=residual, final_beta=u_out * v_out,
        converged=~diverged, message=message,
    )


@dataclass(frozen=True)
class MGFResult:
    """Output of :func:`momentum_gradient_flow`.

    Attributes
    ----------
    lam : float
    times : ndarray (T,)
        Observation times actually reached (truncated at a zero crossing);
        ``time_unit = "t"``.
    beta : ndarray (T, d)
        ``β(t)`` at ``times`` (the stored trajectory).
    final_beta : ndarray (d,)
        ``u ⊙ v`` at ``t_final``.
    t_final : float
        Time where integration stopped (``t_max``, or the zero-crossing time).
    u, v : ndarray (d,)
        State at ``t_final``.
    integral_s, integral_d : ndarray (d,)
        ``∫₀^{t_final} (ṡ/s)² dt`` and ``∫₀^{t_final} (ḋ/d)² dt`` per coordinate.
    alpha_plus_sq, alpha_minus_sq : ndarray (d,)
        ``α₊² = α² e^{−2λ∫(ṡ/s)²}``, ``α₋² = α² e^{−2λ∫(ḋ/d)²}``.
    alpha_inf_sq : ndarray (d,)
        ``α_∞² = α₊ α₋`` (predicted ``(u² − v²)/2`` in the limit).
    reference : ndarray (d,)
        Bregman reference point ``β̃₀ = (α₊² − α₋²)/2``.
    crossed : bool
        True if some ``u_i ± v_i`` reached zero: outside the formula's range.
    crossing_time : float or None
    min_ratio : float
        ``min_{t, i} min(s_i, d_i) / s_i(0)`` over the integrator's accepted steps and the
        observation times (``≤ 0`` if crossed).
    residual : float
        ``‖Xβ − y‖ / ‖y‖`` (relative to ‖y‖) at ``t_final``.
    speed : float
        ``max |ẇ|`` at ``t_final`` (``u̇, v̇``), to judge that the flow has come to rest.
    message : str
        The integrator's message.
    nfev : int
    converged : bool
        The integration reached its stopping criterion: ``t_max``, or (unless ``path_only``)
        the terminal zero-crossing event. False if the integrator stopped early (step size
        collapse, typically when some ``u_i ± v_i`` grazes zero and ``(ṡ/s)²`` explodes);
        ``u, v`` are then the last state.
    diverged : bool
        A blow-up: the final state is non-finite (an integrator failure alone is not one).
    time_unit : str
        Unit of ``times``: ``"t"``.
    """

    lam: float
    times: np.ndarray
    beta: np.ndarray
    t_final: float
    u: np.ndarray
    v: np.ndarray
    integral_s: np.ndarray
    integral_d: np.ndarray
    alpha_plus_sq: np.ndarray
    alpha_minus_sq: np.ndarray
    alpha_inf_sq: np.ndarray
    reference: np.ndarray
    crossed: bool
    crossing_time: float | None
    min_ratio: float
    residual: float
    speed: float
    message: str
    nfev: int
    final_beta: np.ndarray
    converged: bool
    diverged: bool
    time_unit: str = "t"

    #: ``min(s, d)/s(0)`` below this counts as grazing zero (the formula's premise fails)
    GRAZING = 1e-3

    @property
    def in_range(self) -> bool:
        """True if ``u ± v`` stayed away from zero (``min_ratio > GRAZING``) and the
        integration reached ``t_max``: the implicit-regularisation formula applies."""
        return self.converged and not self.crossed and self.min_ratio > self.GRAZING


def momentum_gradient_flow(
    X,
    y,
    alpha,
    lam: float,
    t_max: float,
    times=None,
    *,
    rtol: float = 1e-11,
    atol: float = 1e-14,
    method: str = "DOP853",
    initial_velocity_factor: float = 0.0,
    path_only: bool = False,
) -> MGFResult:
    """Integrate the momentum gradient flow ``λ ẅ + ẇ + ∇F(w) = 0`` on the DLN.

    Convention: ``β = u ⊙ v``, ``u₀ = √2α``, ``v₀ = 0``, ``ẇ(0) = 0``,
    ``L = ‖Xβ − y‖²/(2n)``. The flow is integrated in ``s = u + v``, ``d = u − v``::

        λ s̈ + ṡ + s g = 0,   λ d̈ + ḋ − d g = 0,   β = (s² − d²)/4,

    together with ``I_s = ∫(ṡ/s)²`` and ``I_d = ∫(ḋ/d)²``. Writing ``ρ = ln s`` gives
    ``λ(ρ̈ + ρ̇²) + ρ̇ + g = 0``; integrating from rest to rest yields the exact implicit
    regularisation (``docs/theory/regression.md`` §5.3, Papazov, Pesme & Flammarion, AISTATS 2024,
    arXiv:2403.05293)::

        α₊² = α² e^{−2λ I_s},  α₋² = α² e^{−2λ I_d},  α_∞² = α₊α₋,  β̃₀ = (α₊² − α₋²)/2,
        β_∞ = argmin_{Xβ=y} D_{ψ_{α_∞}}(β, β̃₀).

    The formula needs ``s, d > 0`` along the path; momentum overshoot (large λ) can make
    ``u ± v`` cross zero. A terminal event stops the integration there and ``crossed`` is set.

    Parameters
    ----------
    X : array_like (n, d)
    y : array_like (n,)
    alpha : float or array_like (d,)
        Initialisation scale, > 0.
    lam : float
        ``λ > 0``; with an explicit ``method`` (RK23, RK45, DOP853) also
        ``λ ≥ t_max / MAX_T_OVER_LAM`` (``MAX_T_OVER_LAM = 1e5``): the flow is stiff as
        ``λ → 0`` and an explicit integrator needs ≳ ``t_max/(6λ)`` steps (``λ = 1e-9``,
        ``t_max = 100`` would take ~forever). Use ``method="Radau"`` for smaller ``λ``.
    t_max : float
        Horizon, > 0.
    times : array_like (T,), optional
        Observation times in ``[0, t_max]`` (default: only ``t_max``).
    rtol, atol : float
        Integrator tolerances (``atol ≥ 1e-20``: ``solve_ivp`` misbehaves below,
        docs/theory/regression.md §10.1).
    method : {"DOP853", "RK45", "RK23", "Radau", "BDF", "LSODA"}
        A :func:`scipy.integrate.solve_ivp` method (ValueError naming ``method`` otherwise).
    initial_velocity_factor : float
        ``c ≥ 0`` in ``ẇ(0) = −c ∇F(w₀)`` (default 0: start from rest, as in the theorem).
        ``c = (1 − β_m)/2`` together with ``λ_eff = λ(1 + β_m)/2`` is the first-order *modified
        equation* of heavy ball (see :func:`dln_verify.symbolic.momentum.momentum_invariant`),
        which MGD
        follows to ``O((1 − β_m)²)``. The implicit-bias integrals assume ``c = 0``.
    path_only : bool
        If True, only the path is wanted: the integrals are not accumulated (returned as NaN)
        and a zero crossing of ``u ± v`` is recorded but does not stop the integration (the
        MGF itself is well defined there; only the implicit-regularisation formula is not).

    Returns
    -------
    MGFResult
    """
    X, y = check_regression_data(X, y, require_underdetermined=False)
    n, d = X.shape
    alpha = check_alpha(alpha, d)
    lam = check_positive(lam, "lam")
    t_max = check_positive(t_max, "t_max")
    rtol = check_in_range(rtol, "rtol", 1e-14, 1e-2)
    atol = check_in_range(atol, "atol", 1e-20, 1e-2)
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    if not isinstance(path_only, bool | np.bool_):
        raise TypeError(f"path_only must be a bool, got {type(path_only).__name__}")
    if method in _EXPLICIT_METHODS and t_max / lam > MAX_T_OVER_LAM:
        raise ValueError(
            f"lam must be >= t_max / {MAX_T_OVER_LAM:g} = {t_max / MAX_T_OVER_LAM:g} with the "
            f"explicit method {method!r} (got lam = {lam:g}, t_max = {t_max:g}: the flow is "
            f"stiff and would need ~{t_max / (6 * lam):.2g} steps); use method='Radau' or a "
            f"shorter t_max"
        )
    if times is None:
        times = np.array([t_max])
    times = as_finite_array(np.atleast_1d(times), "times", ndim=1)
    if np.any(times < 0) or np.any(times > t_max) or np.any(np.diff(times) < 0):
        raise ValueError(f"times must be non-decreasing and lie in [0, t_max = {t_max:g}]")

    s0 = np.broadcast_to(np.sqrt(2.0) * np.asarray(alpha, dtype=float), (d,)).copy()
    alpha_sq = s0**2 / 2.0
    kick = check_in_range(initial_velocity_factor, "initial_velocity_factor", 0.0, 1.0)
    # ẇ(0) = −c∇F(w₀): ∇_u F = v₀ g₀ = 0 and ∇_v F = u₀ g₀, so u̇₀ = 0, v̇₀ = −c u₀ g₀
    g0 = X.T @ (X @ np.zeros(d) - y) / n
    v_dot0 = -kick * s0 * g0
    state0 = np.concatenate([s0, s0, v_dot0, -v_dot0, np.zeros(2 * d)])
    inv_lam = 1.0 / lam
    XT_n = X.T / n

    jit = _mgf_kernels()
    beta_buf = np.empty(d)

    def rhs_compiled(_t, z):
        # the elementwise work compiled, the products numpy's: the same floats as rhs below
        jit.beta_of_state(z, d, beta_buf)
        g = XT_n @ (X @ beta_buf - y)
        out = np.empty_like(z)
        jit.derivative(z, g, d, inv_lam, bool(path_only), out)
        return out

    def rhs(_t, z):
        s, dd, sd, ddd = z[:d], z[d:2 * d], z[2 * d:3 * d], z[3 * d:4 * d]
        beta = 0.25 * (s * s - dd * dd)
        g = XT_n @ (X @ beta - y)
        out = np.empty_like(z)
        out[:d] = sd
        out[d:2 * d] = ddd
        out[2 * d:3 * d] = (-sd - s * g) * inv_lam
        out[3 * d:4 * d] = (-ddd + dd * g) * inv_lam
        if path_only:
            out[4 * d:] = 0.0
        else:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                out[4 * d:5 * d] = (sd / s) ** 2
                out[5 * d:] = (ddd / dd) ** 2
        return out

    running_min = [1.0]
    last = [0.0, state0]

    def crossing(t, z):  # evaluated at every accepted step: tracks min_t min(s, d)/s0 and the
        value = min(np.min(z[:d] / s0), np.min(z[d:2 * d] / s0))  # last state (for failures)
        running_min[0] = min(running_min[0], value)
        last[0], last[1] = t, z
        return value

    crossing.terminal = not path_only
    crossing.direction = -1

    t_eval = times if times[-1] == t_max else np.append(times, t_max)
    with progress_scope(t_max, "t", f"momentum gradient flow, λ = {lam:.3g}") as bar:
        # track_time reports the solver's t without touching what rhs returns
        fun = rhs if jit is None else rhs_compiled
        sol = _scipy_integrate.solve_ivp(track_time(fun, bar), (0.0, t_max), state0, method=method,
                                   t_eval=t_eval, events=crossing, rtol=rtol, atol=atol)
    crossed = bool(sol.t_events[0].size > 0)
    crossing_time = float(sol.t_events[0][0]) if crossed else None
    success = bool(sol.status >= 0)
    sol_t = np.asarray(sol.t, dtype=float)
    sol_y = np.asarray(sol.y, dtype=float).reshape(6 * d, -1)
    if crossed and not path_only:
        zf, t_final = sol.y_events[0][0], crossing_time
    elif success:
        zf, t_final = sol_y[:, -1], float(t_max)
    else:  # the step size collapsed (typically u ± v grazing zero): keep the last good state
        zf, t_final = np.asarray(last[1], dtype=float), float(last[0])
    keep = sol_t <= times[-1]
    sol_t, sol_y = sol_t[keep], sol_y[:, keep]
    s, dd = zf[:d], zf[d:2 * d]
    u, v = (s + dd) / 2.0, (s - dd) / 2.0
    i_s, i_d = zf[4 * d:5 * d], zf[5 * d:]
    if path_only:
        i_s, i_d = np.full(d, np.nan), np.full(d, np.nan)
    path_s, path_d = sol_y[:d], sol_y[d:2 * d]
    beta_path = (0.25 * (path_s**2 - path_d**2)).T
    min_ratio = float(min(running_min[0], np.min(s / s0), np.min(dd / s0)))
    if path_s.size:
        min_ratio = min(min_ratio, float(np.min(path_s / s0[:, None])),
                        float(np.min(path_d / s0[:, None])))
    if crossed:
        min_ratio = min(min_ratio, 0.0)
    a_plus = alpha_sq * np.exp(-2.0 * lam * i_s)
    a_minus = alpha_sq * np.exp(-2.0 * lam * i_d)
    a_inf = alpha_sq * np.exp(-lam * (i_s + i_d))
    r = X @ (u * v) - y
    speed = float(np.max(np.abs(zf[2 * d:4 * d])))
    return MGFResult(
        lam=lam, times=sol_t, beta=beta_path, t_final=t_final, u=u, v=v,
        integral_s=i_s, integral_d=i_d, alpha_plus_sq=a_plus, alpha_minus_sq=a_minus,
        alpha_inf_sq=a_inf, reference=0.5 * (a_plus - a_minus), crossed=crossed,
        crossing_time=crossing_time, min_ratio=min_ratio,
        residual=float(np.linalg.norm(r) / np.linalg.norm(y)), speed=speed,
        message=str(sol.message), nfev=int(sol.nfev), converged=success, final_beta=u * v,
        diverged=not bool(np.all(np.isfinite(zf[:4 * d]))),
    )


def _probe_mgf(module) -> None:
    z = np.ones(6)
    module.beta_of_state(z, 1, np.empty(1))
    module.derivative(z, np.ones(1), 1, 1.0, False, np.empty(6))


def _mgf_kernels():
    """:mod:`dln_verify.numeric._mgf_jit` (None when numba does not import or compile: the
    numpy right-hand side is used)."""
    return compiled_module("dln_verify.numeric._mgf_jit", _probe_mgf)[0]


def relative_path_error(paths: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``max_t ‖β_b(t) − β_ref(t)‖ / max_t ‖β_ref(t)‖`` for paths (B, T, d) vs (T, d).

    The errors are normalised by the largest reference norm.

    Parameters
    ----------
    paths : array_like, shape (B, T, d)
        Paths to compare (NaN entries, e.g. of diverged runs, give NaN errors).
    reference : array_like, shape (T, d)

    Returns
    -------
    ndarray, shape (B,)
    """
    try:
        paths = np.asarray(paths, dtype=float)
        reference = np.asarray(reference, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"paths and reference must be numeric arrays ({exc})") from None
    if paths.ndim != 3 or reference.ndim != 2:
        raise ValueError(f"paths must have shape (B, T, d) and reference (T, d), got "
                         f"{paths.shape} and {reference.shape}")
    if paths.shape[1:] != reference.shape:
        raise ValueError(f"paths (B, T, d) must match reference (T, d): {paths.shape} vs "
                         f"{reference.shape}")
    scale = np.max(np.linalg.norm(reference, axis=-1))
    return np.max(np.linalg.norm(paths - reference[None], axis=-1), axis=1) / max(scale, 1e-300)
