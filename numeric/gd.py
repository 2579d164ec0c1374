"""Batched (stochastic) gradient descent on ``β = u ⊙ v`` with Even et al.'s accumulators.

Convention (``docs/theory/conventions.md``, ``docs/theory/regression.md`` §3.1):
``L(β) = ‖Xβ − y‖²/(2n)``, ``u_{k+1} = u_k − γ v_k ⊙ g_k``, ``v_{k+1} = v_k − γ u_k ⊙ g_k`` with
``g_k = ∇L(β_k)`` (GD) or ``g_k = X_Bᵀ(X_B β_k − y_B)/b`` (SGD, batch ``B_k`` of size ``b`` drawn
without replacement).

Even, Pesme, Gunasekar & Flammarion, "(S)GD over diagonal linear networks: implicit
regularisation, large stepsizes and edge of stability", NeurIPS 2023 (arXiv:2302.08982),
Theorem 1 (``docs/theory/regression.md`` §3.2): with ``q(x) = −½ ln((1 − x²)²)`` and
``q±(x) = ∓2x − ln((1 ∓ x)²)``,

- ``u_k² − v_k² = (u₀² − v₀²) Π_j (1 − γ² g_j²)`` (exact);
- ``α_∞ = α ⊙ exp(−½ Σ_k q(γ g_k))``, ``β̃₀ = α_∞² sinh(ζ₀ + δ)`` with
  ``δ = Σ_k [2γ g_k + ln|(1 − γ g_k)/(1 + γ g_k)|] = −½ Σ_k (q₊ − q₋)(γ g_k)``;
- ``β_∞ = argmin_{Xβ=y} D_{ψ_{α_∞}}(β, β̃₀)``.

The batch axis B (one run per stepsize) comes first; one forward and one backward matmul per
step serve the whole batch when the runs share ``X``, and each run's own ``X_b`` is read once per
step when they do not (``X`` of shape (B, n, d)). The step itself is a kernel of
:mod:`dln_verify.numeric.kernels` (numba-fused elementwise work, numpy reference), so that a
compiled or accelerator backend can be swapped in behind one interface.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from dln_verify.numeric.instances import as_generator
from dln_verify.numeric.kernels import get_kernel
from dln_verify.numeric.validation import as_finite_array, check_positive, check_regression_data

__all__ = ["GDResult", "gradient_descent", "q_even", "q_plus", "q_minus", "delta_even"]

_DIVERGENCE_FACTOR = 1e10


def _log_abs_one_minus(x):
    """``ln|1 − x|`` accurately (``log1p(−x)`` where ``x < 1``)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log1p(-x)
        big = x >= 1.0
        if np.any(big):
            out = np.where(big, np.log(np.abs(1.0 - x)), out)
    return out


def q_even(x):
    """``q(x) = −½ ln((1 − x²)²) = −ln|1 − x²|`` (Even et al. 2023, Thm. 1)."""
    x = np.asarray(x, dtype=np.float64)
    x2 = x * x
    if x2.ndim == 0:  # a scalar: x * x is a numpy scalar, which cannot be an ``out`` buffer
        return -_log_abs_one_minus(x2)
    if x2.size and float(np.max(x2)) < 1.0:
        out = np.log1p(-x2, out=x2)
        return np.negative(out, out=out)
    return -_log_abs_one_minus(x2)


def q_plus(x):
    """``q₊(x) = −2x − ln((1 − x)²)`` (Even et al. 2023)."""
    x = np.asarray(x, dtype=np.float64)
    return -2.0 * x - 2.0 * _log_abs_one_minus(x)


def q_minus(x):
    """``q₋(x) = 2x − ln((1 + x)²)`` (Even et al. 2023)."""
    x = np.asarray(x, dtype=np.float64)
    return 2.0 * x - 2.0 * _log_abs_one_minus(-x)


def delta_even(x):
    """``2x + ln|(1 − x)/(1 + x)|`` without cancellation (``= −2x³/3 − 2x⁵/5 − …`` for small x).

    Equals ``−½ (q₊(x) − q₋(x))``; summed over steps it gives the direction offset δ of the
    Bregman reference point ``β̃₀ = α_∞² sinh(ζ₀ + δ)``.
    """
    x = np.asarray(x, dtype=np.float64)
    x2 = x * x
    # 2x − 2 atanh x = −2 x³ Σ_{k=1}^{8} x^{2(k−1)}/(2k+1) (Horner, in place); for |x| < 0.05
    # the truncation error is < 0.05^16 relative
    poly = x2 * (1.0 / 17.0)
    poly += 1.0 / 15.0
    for k in range(6, 0, -1):
        poly *= x2
        poly += 1.0 / (2 * k + 1)
    poly *= x2
    poly *= x
    poly *= -2.0
    if x2.size == 0 or float(np.max(x2)) < 0.0025:
        return poly
    small = x2 < 0.0025
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = 2.0 * x + _log_abs_one_minus(x) - _log_abs_one_minus(-x)
    return np.where(small, poly, direct)


@dataclass(frozen=True)
class GDResult:
    """Result of a batch of (S)GD runs on ``β = u ⊙ v`` (batch axis first).

    Field names are those shared by every simulator of :mod:`dln_verify.numeric` (``times``,
    ``time_unit``, ``beta``, ``final_beta``, ``diverged``, ``converged``, ``message``).

    Attributes
    ----------
    times : ndarray of int, shape (K,)
        Recorded iteration counts (``time_unit = "iteration"``): ``0, r, 2r, …`` with
        ``r = record_every``.
    beta : ndarray, shape (B, K, d)
        ``β_k = u_k ⊙ v_k`` at the recorded iterations (the stored trajectory); after a run
        stops its last iterate is repeated.
    final_beta, u, v : ndarray, shape (B, d)
        Final iterates (frozen at the step of convergence or divergence).
    losses : ndarray, shape (B, K)
        ``L(β_k) = ‖Xβ_k − y‖²/(2n)`` at ``times``; after a run stops its last value is
        repeated (``inf`` after divergence).
    diverged : ndarray of bool, shape (B,)
        A blow-up: non-finite iterate or loss > 1e10 × initial loss; the run is frozen at its
        last finite iterate.
    converged : ndarray of bool, shape (B,)
        ``‖Xβ − y‖ / ‖y‖ ≤ tol`` reached (relative to ‖y‖) within ``n_steps`` steps.
    steps : ndarray of int, shape (B,)
        Steps taken by each run.
    gain : ndarray, shape (B, d)
        ``Σ_k q(γ g_k)`` (Even et al. 2023; ``ln(α/α_∞) = gain/2``).
    q_plus_sum, q_minus_sum : ndarray, shape (B, d)
        ``Σ_k q±(γ g_k) = gain ∓ delta`` (since ``q± = q ∓ (2x + ln|(1−x)/(1+x)|)``), so
        ``α±² = α² exp(−Σ q±)``.
    delta : ndarray, shape (B, d)
        ``Σ_k [2γ g_k + ln|(1−γg_k)/(1+γg_k)|]`` accumulated without cancellation.
    invariant_sign : ndarray, shape (B, d)
        ``Π_k sign(1 − γ² g_k²)``.
    alpha0, zeta0 : ndarray, shape (B, d)
        ``√(|u₀² − v₀²|/2)`` and ``ln|(u₀+v₀)/(u₀−v₀)|`` of the initialisation.
    stepsizes : ndarray, shape (B,)
    message : tuple of str, length B
        One line per run: converged, diverged, or step budget ``n_steps`` spent.
    time_unit : str
        Unit of ``times``: ``"iteration"``.
    """

    times: np.ndarray
    beta: np.ndarray
    final_beta: np.ndarray
    u: np.ndarray
    v: np.ndarray
    losses: np.ndarray
    diverged: np.ndarray
    converged: np.ndarray
    steps: np.ndarray
    gain: np.ndarray
    q_plus_sum: np.ndarray
    q_minus_sum: np.ndarray
    delta: np.ndarray
    invariant_sign: np.ndarray
    alpha0: np.ndarray
    zeta0: np.ndarray
    stepsizes: np.ndarray
    message: tuple[str, ...] = ()
    time_unit: str = "iteration"

    @property
    def alpha_inf(self) -> np.ndarray:
        """``α_∞ = α₀ ⊙ exp(−gain/2)`` (Even et al. 2023, Thm. 1)."""
        return self.alpha0 * np.exp(-0.5 * self.gain)

    @property
    def reference(self) -> np.ndarray:
        """``β̃₀ = α_∞² sinh(ζ₀ + δ)``, the Bregman reference point of the limit."""
        return self.alpha_inf**2 * np.sinh(self.zeta0 + self.delta)

    @property
    def alpha_pm(self) -> tuple[np.ndarray, np.ndarray]:
        """``(α₊, α₋)`` with ``α±² = α₀² exp(−Σ q±)`` (valid for the ``v₀ = 0`` init)."""
        return (
            self.alpha0 * np.exp(-0.5 * self.q_plus_sum),
            self.alpha0 * np.exp(-0.5 * self.q_minus_sum),
        )


def gradient_descent(
    X,
    y,
    u0,
    v0,
    stepsizes,
    n_steps: int,
    *,
    batch_size: int | None = None,
    rng=None,
    tol: float = 1e-12,
    record_every: int | None = None,
    backend: str | None = None,
    continued: bool = False,
) -> GDResult:
    """Run B (S)GD trajectories on ``β = u ⊙ v`` at once, one per stepsize.

    Convention: ``L = ‖Xβ − y‖²/(2n)``, ``u ← u − γ v ⊙ g``, ``v ← v − γ u ⊙ g`` (simultaneous);
    the accumulators give the exact implicit-regularisation identity of Even, Pesme, Gunasekar &
    Flammarion, NeurIPS 2023, Theorem 1 (arXiv:2302.08982; ``docs/theory/regression.md`` §3.2).

    Parameters
    ----------
    X : array_like, shape (n, d) or (B, n, d)
        Shared design, or one design per run (then ``y`` has shape (B, n)).
    y : array_like, shape (n,) or (B, n)
    u0, v0 : array_like, shape (d,) or (B, d)
        Initialisation, broadcast to (B, d); e.g.
        :func:`dln_verify.numeric.parametrisations.uv_init`.
    stepsizes : float or array_like, shape (B,)
        Stepsizes γ > 0.
    n_steps : int
        Step budget (maximum number of steps, ≥ 1); a run that spends it without reaching
        ``tol`` has ``converged = False`` (and ``diverged = False``) and says so in ``message``.
    batch_size : int, optional
        SGD batch size ``b`` (1 ≤ b ≤ n); None means full-batch GD.
    rng : int, numpy.random.Generator or sequence of B Generators, optional
        Source of the SGD batches (None means seed 0, so runs are reproducible). An int or a
        single Generator draws the batches of all B runs from one stream (a run's batches then
        depend on the batch it is in). A sequence of B Generators gives run ``b`` its own stream
        ``rng[b]``: its batches are ``rng[b]``'s draws whatever else is in the batch, so run ``b``
        of a batch equals the same run alone with the same generator (up to rounding).
    tol : float
        A run stops (converged) when ``‖Xβ − y‖ / ‖y‖ ≤ tol`` (relative to ‖y‖).
    record_every : int, optional
        Record the loss and ``β`` every this many steps (default ``max(1, n_steps // 1000)``);
        the stored trajectory ``beta`` takes ``B × (n_steps // record_every + 1) × d`` floats.
    backend : {"numba", "numpy"}, optional
        Step kernel (:func:`dln_verify.numeric.kernels.get_kernel`; None: the default, numba
        when available). Both give the same iterates up to rounding.
    continued : bool
        The runs continue from an earlier run's end point (a chunk of a longer run), where some
        ``u_i ± v_i`` may have become exactly 0 in float64 (below the spacing of ``u_i``: the
        iterate then stays on that line exactly). Such entries are accepted, with
        ``alpha0 = 0`` and a non-finite ``zeta0`` (the caller composes the accumulators with
        its own first chunk's); without ``continued`` they are a ValueError.

    Returns
    -------
    GDResult
        Divergent runs (non-finite, or loss > 1e10 × initial loss) are flagged in ``diverged``
        and frozen at their last finite iterate — never returned as NaN.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((3, 8)), rng.standard_normal(3)
    >>> res = gradient_descent(X, y, np.full(8, 0.1), np.zeros(8), [0.05, 0.1], 20000, tol=1e-8)
    >>> res.final_beta.shape, bool(res.converged.all())
    ((2, 8), True)
    >>> per_run = gradient_descent(np.stack([X, 2 * X]), np.stack([y, y]), np.full(8, 0.1),
    ...                            np.zeros(8), 0.05, 20000, tol=1e-8)
    >>> bool(np.allclose(per_run.final_beta[0], res.final_beta[0]))
    True
    """
    X, y, per_run = _check_designs(X, y)
    n, d = X.shape[-2:]
    gam = np.atleast_1d(as_finite_array(stepsizes, "stepsizes"))
    if gam.ndim != 1:
        raise ValueError(f"stepsizes must be a scalar or a 1-D array, got shape {gam.shape}")
    if np.any(gam <= 0):
        raise ValueError(f"stepsizes must be > 0 (min is {gam.min():g})")
    if per_run and gam.shape[0] == 1 and X.shape[0] > 1:
        gam = np.full(X.shape[0], gam[0])
    B = gam.shape[0]
    if per_run and X.shape[0] != B:
        raise ValueError(f"X has {X.shape[0]} designs (shape (B, n, d)) but stepsizes has "
                         f"{B} entries: they must match (or pass one stepsize)")
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    n_steps = int(n_steps)
    tol = check_positive(tol, "tol")
    if record_every is None:
        record_every = max(1, n_steps // 1000)
    if isinstance(record_every, bool) or not isinstance(record_every, numbers.Integral) or (
        record_every < 1
    ):
        raise ValueError(f"record_every must be a positive integer, got {record_every!r}")
    if batch_size is not None:
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, numbers.Integral)
            or not 1 <= batch_size <= n
        ):
            raise ValueError(f"batch_size must be an integer in [1, n = {n}], got {batch_size!r}")
        batch_size = int(batch_size)
        if batch_size == n:
            batch_size = None
    gen, gens = _batch_generators(rng, B)
    U = _broadcast_init(u0, "u0", B, d)
    V = _broadcast_init(v0, "v0", B, d)
    s0 = np.abs(U + V)
    d0 = np.abs(U - V)
    if not isinstance(continued, bool | np.bool_):
        raise ValueError(f"continued must be True or False, got {continued!r}")
    if not continued and (np.any(s0 == 0) or np.any(d0 == 0)):
        raise ValueError("u0 and v0 must satisfy u0 + v0 != 0 and u0 - v0 != 0 entrywise")
    alpha0 = np.sqrt(s0 * d0 / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        zeta0 = np.log(s0) - np.log(d0)

    kernel = get_kernel(backend)
    # relative to ‖y‖ (y ≢ 0 is validated; one norm per run for per-run data)
    ynorm = np.linalg.norm(y, axis=-1) if per_run else float(np.linalg.norm(y))
    # the (B, d) state the kernel streams through at every step, in one allocation: numpy
    # backs allocations of 4 MiB and more with huge pages, which spares the kernel most of its
    # TLB misses (about a tenth of a step at B = 256, d = 1000); the result gets copies
    work = np.empty((7, B, d))
    gain, delta, sign, Uw, Vw, P, G = work
    gain.fill(0.0)
    delta.fill(0.0)
    sign.fill(1.0)
    Uw[...] = U
    Vw[...] = V
    U, V = Uw, Vw
    active = np.ones(B, dtype=bool)
    diverged = np.zeros(B, dtype=bool)
    converged = np.zeros(B, dtype=bool)
    steps = np.zeros(B, dtype=np.int64)
    record_steps = np.arange(0, n_steps + 1, record_every)
    losses = np.empty((B, record_steps.shape[0]))
    path = np.empty((B, record_steps.shape[0], d))
    last_loss = np.full(B, np.nan)
    thr = None  # _DIVERGENCE_FACTOR × the initial loss (floored at the tiniest float)
    rec = 0
    n_rec = record_steps.shape[0]
    np.multiply(U, V, out=P)  # β of every run; the kernel keeps it up to date
    R = np.empty((B, n))
    R2 = np.empty((B, n))
    rnorm = np.empty(B)
    loss = np.empty(B)
    two_n = 2 * n
    scale_gd = gam / n
    scale_sgd = None if batch_size is None else gam / batch_size
    mask = None if batch_size is None else np.zeros((B, n))
    keys = None if batch_size is None else np.empty((B, n))
    all_active = True  # no run has stopped yet
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n_steps + 1):
            last = k == n_steps
            if batch_size is not None:  # the batches of step k (drawn even on the last step)
                if gens is None:
                    gen.random(out=keys)
                else:  # one stream per run: run b's keys come from its own generator only
                    for b, g in enumerate(gens):
                        g.random(out=keys[b])
                kernel.batch_mask(keys, batch_size, out=mask)
            if per_run:  # residual and gradient of each run back to back (X_b in cache)
                kernel.products(X, y, P, R, None if last else G, mask,
                                None if all_active else np.flatnonzero(active))
            else:
                kernel.residual(X, y, P, out=R)
            # ‖R_b‖ exactly as np.linalg.norm(R, axis=1) computes it
            np.sqrt(np.add.reduce(np.multiply(R, R, out=R2), axis=1, out=rnorm), out=rnorm)
            np.divide(np.square(rnorm, out=loss), two_n, out=loss)
            if thr is None:
                thr = _DIVERGENCE_FACTOR * np.maximum(loss, np.finfo(float).tiny)
            # status of the current iterate (before stepping)
            finite = np.isfinite(loss)
            bad = active & (~finite | (loss > thr))
            if bad.any():
                diverged |= bad
                active &= ~bad
            done = active & (rnorm / ynorm <= tol)
            if done.any():
                converged |= done
                active &= ~done
            np.copyto(last_loss, loss, where=finite)
            last_loss[diverged] = np.inf
            if rec < n_rec and k == record_steps[rec]:
                losses[:, rec] = last_loss
                path[:, rec] = P
                rec += 1
            all_active = bool(active.all())
            if last or not (all_active or active.any()):
                break
            if not per_run:
                kernel.gradient(X, R, mask, out=G)
            # inactive runs take no step; a run whose step is not finite is frozen before it
            ok = kernel.update(U, V, G, scale_gd if mask is None else scale_sgd, active, gain,
                               delta, sign, P)
            if not ok.all():
                newly_bad = active & ~ok
                diverged |= newly_bad
                active &= ~newly_bad
                all_active = bool(active.all())
            steps += active
    if rec < record_steps.shape[0]:
        losses[:, rec:] = last_loss[:, None]
        path[:, rec:] = P[:, None, :]
    message = tuple(
        f"run {b}: diverged after {steps[b]} steps (non-finite iterate or loss > "
        f"{_DIVERGENCE_FACTOR:g} x initial loss)" if diverged[b]
        else f"run {b}: converged after {steps[b]} steps (relative residual <= tol = {tol:g})"
        if converged[b]
        else f"run {b}: not converged: step budget n_steps = {n_steps} spent with relative "
        f"residual > tol = {tol:g}"
        for b in range(B)
    )
    return GDResult(
        times=record_steps,
        beta=path,
        final_beta=P.copy(),
        u=U.copy(),
        v=V.copy(),
        losses=losses,
        diverged=diverged,
        converged=converged,
        steps=steps,
        gain=gain.copy(),
        q_plus_sum=gain - delta,
        q_minus_sum=gain + delta,
        delta=delta.copy(),
        invariant_sign=sign.copy(),
        alpha0=alpha0,
        zeta0=zeta0,
        stepsizes=gam,
        message=message,
    )


def _batch_generators(rng, B: int):
    """``(gen, None)`` for an int/Generator/None ``rng``; ``(None, gens)`` for B Generators."""
    if rng is None or isinstance(rng, np.random.Generator | numbers.Integral):
        return as_generator(0 if rng is None else rng), None
    if isinstance(rng, str | bytes) or not hasattr(rng, "__len__"):
        raise TypeError("rng must be an int, a numpy.random.Generator or a sequence of B "
                        f"numpy.random.Generator (one per run), got {type(rng).__name__}")
    gens = tuple(rng)
    if len(gens) != B or not all(isinstance(g, np.random.Generator) for g in gens):
        raise ValueError(f"rng as a sequence must hold exactly B = {B} numpy.random.Generator "
                         f"(one per run), got {len(gens)} items of types "
                         f"{sorted({type(g).__name__ for g in gens})}")
    return None, gens


def _broadcast_init(w, name, B, d):
    w = as_finite_array(w, name)
    if w.ndim == 1 and w.shape[0] == d:
        return np.broadcast_to(w, (B, d)).copy()
    if w.ndim == 2 and w.shape == (B, d):
        return w.copy()
    if w.ndim == 0:
        return np.full((B, d), float(w))
    raise ValueError(f"{name} must have shape (d,) = ({d},) or (B, d) = ({B}, {d}), got {w.shape}")


def _check_designs(X, y) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(X, y, per_run)``: a shared design (n, d) with y (n,), or B designs (B, n, d), y (B, n).

    Each per-run pair is validated like a shared one (finite, matching lengths, ``y_b ≢ 0``);
    ValueError naming ``X`` or ``y`` otherwise.
    """
    if np.ndim(X) != 3:
        X, y = check_regression_data(X, y, require_underdetermined=False)
        return np.ascontiguousarray(X), np.ascontiguousarray(y), False
    X = np.ascontiguousarray(as_finite_array(X, "X", ndim=3))
    y = np.ascontiguousarray(as_finite_array(y, "y"))
    B, n, _ = X.shape
    if y.shape != (B, n):
        raise ValueError(f"y must have shape (B, n) = ({B}, {n}) for X of shape (B, n, d) = "
                         f"{X.shape}, got {y.shape}")
    zero = ~np.any(y != 0, axis=1)
    if np.any(zero):
        raise ValueError(f"y must not be identically zero in any run (run {int(np.argmax(zero))} "
                         "is: every prediction would be β = 0)")
    return X, y, True
